/* layer.c - the layer the plug-in mattes: where it lies on the canvas, and its colour pixels for the engine.
 * Owns: the canvas part (GEGL's rectangle intersection), the babl format choice and the copy out of GEGL. */
#include "layer.h"

static void choose_format(GimpImage *image, const char **encoding, vm_pixel_type *type, gsize *sample_size) {
  switch (gimp_image_get_precision(image)) {
  case GIMP_PRECISION_U8_NON_LINEAR:
  case GIMP_PRECISION_U8_PERCEPTUAL: *encoding = "R'G'B' u8", *type = VM_PIXEL_U8, *sample_size = 1; return;
  case GIMP_PRECISION_U16_NON_LINEAR:
  case GIMP_PRECISION_U16_PERCEPTUAL: *encoding = "R'G'B' u16", *type = VM_PIXEL_U16, *sample_size = 2; return;
  default:
    /* Linear integer images would lose shadow detail if re-quantised to perceptual u8, so they go as float. */
    *encoding = "R'G'B' float", *type = VM_PIXEL_F32, *sample_size = 4;
    return;
  }
}

gboolean vmp_layer_pixels_read(GimpDrawable *layer, vmp_layer_pixels *out, GError **error) {
  memset(out, 0, sizeof *out);
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(layer));
  const gint w = gimp_drawable_get_width(layer), h = gimp_drawable_get_height(layer);
  const char *encoding;
  vm_pixel_type type;
  gsize sample_size;
  choose_format(image, &encoding, &type, &sample_size);

  gpointer data = g_try_malloc_n((gsize)w * (gsize)h, 3 * sample_size);
  if (!data) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Not enough memory to read the %d x %d layer", w, h);
    return FALSE;
  }
  /* The image's own space: no colour conversion, so the model sees the stored values (as from an exported file). */
  const Babl *format = babl_format_with_space(encoding, gimp_drawable_get_format(layer));
  GeglBuffer *buffer = gimp_drawable_get_buffer(layer);
  gegl_buffer_get(buffer, GEGL_RECTANGLE(0, 0, w, h), 1.0, format, data, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref(buffer);

  if (type == VM_PIXEL_F32) {
    gfloat *f = data;
    for (gsize i = 0, n = (gsize)w * (gsize)h * 3; i < n; i++)
      f[i] = f[i] > 1.0f ? 1.0f : f[i] >= 0.0f ? f[i] : 0.0f; /* NaN -> 0 too */
  }
  out->image.data = data;
  out->image.width = w;
  out->image.height = h;
  out->image.channels = 3;
  out->image.row_stride = 0;
  out->image.type = type;
  return TRUE;
}

gsize vmp_layer_pixels_bytes(GimpDrawable *layer) {
  const char *encoding;
  vm_pixel_type type;
  gsize sample_size;
  choose_format(gimp_item_get_image(GIMP_ITEM(layer)), &encoding, &type, &sample_size);
  const gsize pixels = (gsize)gimp_drawable_get_width(layer) * (gsize)gimp_drawable_get_height(layer);
  return pixels > G_MAXSIZE / (3 * sample_size) ? G_MAXSIZE : pixels * 3 * sample_size;
}

void vmp_layer_pixels_clear(vmp_layer_pixels *pixels) {
  /* vm_image.data is const because the engine only reads it; the copy itself is ours. */
  g_free((gpointer)pixels->image.data);
  memset(pixels, 0, sizeof *pixels);
}

gboolean vmp_layer_canvas_part(GimpLayer *layer, GeglRectangle *in_image, GeglRectangle *in_layer) {
  GimpDrawable *d = GIMP_DRAWABLE(layer);
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(layer));
  gint ox = 0, oy = 0;
  gimp_drawable_get_offsets(d, &ox, &oy);
  const GeglRectangle canvas = {0, 0, gimp_image_get_width(image), gimp_image_get_height(image)};
  const GeglRectangle whole = {ox, oy, gimp_drawable_get_width(d), gimp_drawable_get_height(d)};
  GeglRectangle part = {0, 0, 0, 0};
  const gboolean on = gegl_rectangle_intersect(&part, &canvas, &whole);
  if (in_image)
    *in_image = on ? part : (GeglRectangle){0, 0, 0, 0};
  if (in_layer)
    *in_layer = on ? (GeglRectangle){part.x - ox, part.y - oy, part.width, part.height} : (GeglRectangle){0, 0, 0, 0};
  return on;
}
