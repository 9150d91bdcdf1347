/* decontaminate.c - "Decontaminate colours": the estimated foreground colours blended into the unknown band.
 * Owns: the layer read in its own encoding (no colour conversion: 8/16-bit samples go to the engine as they are
 * stored), the engine call and the blend, computed outside the image. */
#include "decontaminate.h"

#include <math.h>

#include "engine_session.h"

/* The layer's own model and space with samples of `type` ("u8", "u16", "float"), e.g. "R'G'B'A u8". */
static const Babl *own_format_as(GimpDrawable *layer, const char *type) {
  const Babl *own = gimp_drawable_get_format(layer);
  gchar *encoding = g_strdup_printf("%s %s", babl_get_name(babl_format_get_model(own)), type);
  const Babl *format = babl_format_with_space(encoding, own);
  g_free(encoding);
  return format;
}

static float sample(const void *data, gsize i, vm_pixel_type type) {
  switch (type) {
  case VM_PIXEL_U8: return (float)((const guint8 *)data)[i] / 255.0f;
  case VM_PIXEL_U16: return (float)((const guint16 *)data)[i] / 65535.0f;
  default: return ((const gfloat *)data)[i];
  }
}

/* How the layer's samples go to the engine: 8- and 16-bit ones as they are stored, every other precision as float. */
static vm_pixel_type read_encoding(GimpDrawable *layer, const char **read_type, gsize *sample_size) {
  const char *own_type = babl_get_name(babl_format_get_type(gimp_drawable_get_format(layer), 0));
  if (strcmp(own_type, "u8") == 0)
    return *read_type = "u8", *sample_size = 1, VM_PIXEL_U8;
  if (strcmp(own_type, "u16") == 0)
    return *read_type = "u16", *sample_size = 2, VM_PIXEL_U16;
  return *read_type = "float", *sample_size = 4, VM_PIXEL_F32;
}

gsize vmp_decontaminate_host_bytes(GimpDrawable *layer) {
  const char *read_type;
  gsize sample_size;
  (void)read_encoding(layer, &read_type, &sample_size);
  const gsize n = (gsize)gimp_drawable_get_width(layer) * (gsize)gimp_drawable_get_height(layer);
  const gsize channels = (gsize)babl_format_get_n_components(gimp_drawable_get_format(layer));
  const gsize colours = channels >= 3 ? 3 : 1;
  /* the samples as read, the foreground colours, the output pixels */
  const gsize per_pixel = channels * sample_size + colours * sizeof(gfloat) + channels * sizeof(gfloat);
  return n > G_MAXSIZE / per_pixel ? G_MAXSIZE : n * per_pixel;
}

gboolean vmp_decontaminate(GimpDrawable *layer, const gfloat *alpha, gdouble amount, vmp_device_choice device,
                           gdouble progress_from, gdouble progress_to, vmp_decontaminated *out, GError **error) {
  memset(out, 0, sizeof *out);
  const Babl *own = gimp_drawable_get_format(layer);
  const char *read_type;
  gsize sample_size;
  const vm_pixel_type type = read_encoding(layer, &read_type, &sample_size);
  const gint w = gimp_drawable_get_width(layer), h = gimp_drawable_get_height(layer);
  const gint channels = babl_format_get_n_components(own);
  const gint colours = channels >= 3 ? 3 : 1;
  const gsize n = (gsize)w * (gsize)h;

  gpointer samples = g_try_malloc_n(n, (gsize)channels * sample_size);
  gfloat *F = g_try_malloc_n(n, (gsize)colours * sizeof(gfloat));
  out->pixels = g_try_malloc_n(n, (gsize)channels * sizeof(gfloat));
  if (!samples || !F || !out->pixels) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Not enough memory to decontaminate the %d x %d layer", w, h);
    goto fail;
  }
  GeglBuffer *buffer = gimp_drawable_get_buffer(layer);
  gegl_buffer_get(buffer, GEGL_RECTANGLE(0, 0, w, h), 1.0, own_format_as(layer, read_type), samples,
                  GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref(buffer);
  if (type == VM_PIXEL_F32) { /* the engine refuses what is not a number; such a pixel has no colour to keep */
    gfloat *f = samples;
    for (gsize i = 0; i < n * (gsize)channels; i++)
      if (!isfinite(f[i]))
        f[i] = 0.0f;
  }
  const vm_image image = {samples, w, h, channels, 0, type};
  if (!vmp_engine_foreground(device, &image, alpha, F, progress_from, progress_to, error))
    goto fail;

  const gfloat a = (gfloat)CLAMP(amount, 0.0, 1.0);
  for (gsize i = 0; i < n; i++) {
    const gboolean band = alpha[i] > VMP_BAND_LOW && alpha[i] < VMP_BAND_HIGH; /* only those change */
    for (gint c = 0; c < channels; c++) {
      const gfloat v = sample(samples, i * (gsize)channels + (gsize)c, type);
      out->pixels[i * (gsize)channels + (gsize)c] = band && c < colours ? v + a * (F[i * colours + c] - v) : v;
    }
  }
  g_free(samples);
  g_free(F);
  out->format = own_format_as(layer, "float");
  out->width = w;
  out->height = h;
  out->channels = channels;
  return TRUE;

fail:
  g_free(samples);
  g_free(F);
  vmp_decontaminated_clear(out);
  return FALSE;
}

void vmp_decontaminated_clear(vmp_decontaminated *d) {
  g_free(d->pixels);
  memset(d, 0, sizeof *d);
}
