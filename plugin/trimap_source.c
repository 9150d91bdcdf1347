/* trimap_source.c - reading a trimap for a layer out of GIMP: from a channel, the selection, the layer's mask or its
 * alpha. Owns: why a source cannot serve, the GEGL reads at the layer's rectangle, and turning the values read (at
 * the layer's size, or the preview's thumbnails) into the trimap with the "has unknown pixels" check. */
#include "trimap_source.h"

#include "layer.h"
#include "trimap.h"
#include "vitmatte.h"

/* The engine's words (vm_trimap_check), as the CLI prints them, with a hint for where this trimap came from. */
static gboolean check_unknown(const guint8 *trimap, gint width, gint height, const char *hint, GError **error) {
  const vm_image view = {trimap, width, height, 1, 0, VM_PIXEL_U8};
  vm_error err = {VM_OK, ""};
  if (vm_trimap_check(&view, &err) == VM_OK)
    return TRUE;
  g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%c%s. %s", g_ascii_toupper(err.message[0]), err.message + 1, hint);
  return FALSE;
}

/* What to do when the trimap of `source` has no unknown pixels. */
static const char *no_unknown_hint(vmp_trimap_source source) {
  switch (source) {
  case VMP_SOURCE_SELECTION: return "The selection's edge does not cross the layer: select part of the layer's content.";
  case VMP_SOURCE_LAYER_MASK:
    return "The mask has no edge inside the layer: it must be white on the subject and black around it.";
  case VMP_SOURCE_LAYER_ALPHA:
    return "The alpha has no edge inside the layer: the subject must be opaque and what surrounds it transparent.";
  default: return "Paint the uncertain edge in grey (between 10% and 90%) in the trimap channel.";
  }
}

/* The channel a caller meant: `chosen` when given, else the image's channel called `name` (any case). NULL with
 * `error` set when neither exists. The result is borrowed. */
static GimpChannel *find_trimap_channel(GimpImage *image, GimpChannel *chosen, const gchar *name, GError **error) {
  if (chosen)
    return chosen;
  GimpChannel *found = NULL;
  if (name && *name) {
    GimpChannel **channels = gimp_image_get_channels(image);
    for (gint i = 0; channels && channels[i] && !found; i++) {
      gchar *n = gimp_item_get_name(GIMP_ITEM(channels[i]));
      if (g_ascii_strcasecmp(n, name) == 0)
        found = channels[i];
      g_free(n);
    }
    g_free(channels);
  }
  if (!found)
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                "No trimap channel: choose one, or add a channel named \"%s\" (white = foreground, black = "
                "background, grey = unknown), or take the trimap from the selection",
                name && *name ? name : "trimap");
  return found;
}

gboolean vmp_trimap_source_check(const vmp_run_args *a, GimpImage *image, GimpLayer *layer,
                                 GimpChannel *selected_channel, GimpChannel **channel, GError **error) {
  *channel = NULL;
  if (!vmp_layer_canvas_part(layer, NULL, NULL)) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0,
                        "The layer lies wholly outside the canvas, where the trimap is background only");
    return FALSE;
  }
  switch (a->source) {
  case VMP_SOURCE_SELECTION:
    if (gimp_selection_is_empty(image)) {
      g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0,
                          "The selection is empty: select the object roughly, or use a trimap channel");
      return FALSE;
    }
    return TRUE;
  case VMP_SOURCE_LAYER_MASK:
    if (!gimp_layer_get_mask(layer)) {
      g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0,
                          "The layer has no mask to start from: add one (Layer > Mask > Add Layer Mask, e.g. from the "
                          "selection) and paint it roughly, or choose another trimap source");
      return FALSE;
    }
    return TRUE;
  case VMP_SOURCE_LAYER_ALPHA:
    if (!gimp_drawable_has_alpha(GIMP_DRAWABLE(layer))) {
      g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0,
                          "The layer has no alpha channel, so it is opaque everywhere: erase its background roughly "
                          "first (Layer > Transparency > Add Alpha Channel), or choose another trimap source");
      return FALSE;
    }
    return TRUE;
  default: break;
  }
  GimpChannel *found = find_trimap_channel(image, a->channel ? a->channel : selected_channel, a->channel_name, error);
  if (!found)
    return FALSE;
  if (gimp_item_get_image(GIMP_ITEM(found)) != image) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0, "The trimap channel belongs to another image");
    return FALSE;
  }
  if (GIMP_IS_LAYER_MASK(found)) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0,
                        "The trimap must be a channel (Channels dialog) or the selection, not a layer mask");
    return FALSE;
  }
  *channel = found;
  return TRUE;
}

guint8 *vmp_trimap_from_values(vmp_trimap_source source, const gfloat *values, gint width, gint height, gint margin,
                               gint band_width, GError **error) {
  guint8 *trimap = g_try_malloc_n((gsize)width, (gsize)height);
  int made = -1;
  if (trimap && source == VMP_SOURCE_CHANNEL) {
    vmp_trimap_from_channel(values, (gsize)width * (gsize)height, trimap);
    made = 0;
  } else if (trimap && source == VMP_SOURCE_SELECTION) {
    made = vmp_trimap_from_selection(values, width, height, margin, band_width, trimap);
  } else if (trimap) {
    made = vmp_trimap_from_mask(values, width, height, margin, band_width, VMP_MASK_BLACK_POINT, VMP_MASK_WHITE_POINT,
                                trimap);
  }
  if (made != 0) { /* -1 of the band functions: out of memory (the arguments they refuse never come here) */
    g_free(trimap);
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Not enough memory to build a %d x %d trimap", width, height);
    return NULL;
  }
  if (!check_unknown(trimap, width, height, no_unknown_hint(source), error)) {
    g_free(trimap);
    return NULL;
  }
  return trimap;
}

/* Channel values as the grey the user sees and paints, "Y' float" (perceptual), whatever the channel stores: GIMP
 * keeps the channels of 8-bit perceptual images as Y' but those of linear and high-bit-depth images as linear Y,
 * and the colour picked for painting (30% grey) lands in either as the same perceptual grey. Read linearly, a 30%
 * grey would be 0.07 ("background") and 50% grey 0.21, so the thresholds of trimap.h apply to Y'. The channel's own
 * space keeps babl from converting colour spaces on the way. */
static const Babl *perceptual_float_format(GimpDrawable *channel) {
  return babl_format_with_space("Y' float", gimp_drawable_get_format(channel));
}

/* Reads `rect` of an image-sized mask in `format`; pixels outside the canvas read as 0 (GEGL_ABYSS_NONE). */
static gfloat *read_mask(GimpDrawable *mask, const GeglRectangle *rect, const Babl *format, GError **error) {
  gfloat *values = g_try_malloc_n((gsize)rect->width * (gsize)rect->height, sizeof(gfloat));
  if (!values) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Not enough memory for a %d x %d trimap", rect->width, rect->height);
    return NULL;
  }
  GeglBuffer *buffer = gimp_drawable_get_buffer(mask);
  gegl_buffer_get(buffer, rect, 1.0, format, values, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
  g_object_unref(buffer);
  return values;
}

/* `channel` at the layer's rectangle in image coordinates. */
static gfloat *read_channel(GimpChannel *channel, GimpDrawable *layer, GError **error) {
  gint ox = 0, oy = 0;
  gimp_drawable_get_offsets(layer, &ox, &oy);
  const GeglRectangle rect = {ox, oy, gimp_drawable_get_width(layer), gimp_drawable_get_height(layer)};
  return read_mask(GIMP_DRAWABLE(channel), &rect, perceptual_float_format(GIMP_DRAWABLE(channel)), error);
}

/* The selection at the layer's rectangle widened by `margin` on each side. */
static gfloat *read_selection(GimpImage *image, GimpDrawable *layer, gint margin, GError **error) {
  gint ox = 0, oy = 0;
  gimp_drawable_get_offsets(layer, &ox, &oy);
  const gint w = gimp_drawable_get_width(layer), h = gimp_drawable_get_height(layer);
  const GeglRectangle rect = {ox - margin, oy - margin, w + 2 * margin, h + 2 * margin};
  /* The selection is always linear; its values are selection strengths. */
  return read_mask(GIMP_DRAWABLE(gimp_image_get_selection(image)), &rect, babl_format("Y float"), error);
}

/* A mask has its layer's size and place; its linear values are the opacities GIMP composites with. */
static gfloat *read_layer_mask(GimpLayer *layer, GError **error) {
  const GeglRectangle rect = {0, 0, gimp_drawable_get_width(GIMP_DRAWABLE(layer)),
                              gimp_drawable_get_height(GIMP_DRAWABLE(layer))};
  return read_mask(GIMP_DRAWABLE(gimp_layer_get_mask(layer)), &rect, babl_format("Y float"), error);
}

/* Rows read at a time from the layer, so the alpha costs a strip of two floats per pixel, not a layer's worth. */
#define ALPHA_STRIP_ROWS 64

static gfloat *read_layer_alpha(GimpLayer *layer, GError **error) {
  GimpDrawable *d = GIMP_DRAWABLE(layer);
  const gint w = gimp_drawable_get_width(d), h = gimp_drawable_get_height(d);
  gfloat *values = g_try_malloc_n((gsize)w * (gsize)h, sizeof(gfloat));
  gfloat *strip = g_try_malloc_n((gsize)w * ALPHA_STRIP_ROWS, 2 * sizeof(gfloat));
  if (!values || !strip) {
    g_free(values), g_free(strip);
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Not enough memory for a %d x %d trimap", w, h);
    return NULL;
  }
  /* Alpha is linear in every precision; the layer's own space spares babl a colour conversion of the grey. */
  const Babl *format = babl_format_with_space("YA float", gimp_drawable_get_format(d));
  GeglBuffer *buffer = gimp_drawable_get_buffer(d);
  for (gint y = 0; y < h; y += ALPHA_STRIP_ROWS) {
    const gint rows = MIN(ALPHA_STRIP_ROWS, h - y);
    gegl_buffer_get(buffer, GEGL_RECTANGLE(0, y, w, rows), 1.0, format, strip, GEGL_AUTO_ROWSTRIDE, GEGL_ABYSS_NONE);
    for (gsize i = 0, n = (gsize)w * (gsize)rows; i < n; i++)
      values[(gsize)y * (gsize)w + i] = strip[2 * i + 1];
  }
  g_object_unref(buffer);
  g_free(strip);
  return values;
}

guint8 *vmp_run_trimap(const vmp_run_args *a, GimpImage *image, GimpLayer *layer, GimpChannel *selected_channel,
                       GError **error) {
  GimpChannel *channel = NULL;
  if (!vmp_trimap_source_check(a, image, layer, selected_channel, &channel, error))
    return NULL;
  GimpDrawable *d = GIMP_DRAWABLE(layer);
  /* A margin of band_width lets selection edges just outside the layer still shape the band inside it. */
  const gint margin = a->source == VMP_SOURCE_SELECTION ? a->band_width : 0;
  gfloat *values;
  switch (a->source) {
  case VMP_SOURCE_SELECTION: values = read_selection(image, d, margin, error); break;
  case VMP_SOURCE_LAYER_MASK: values = read_layer_mask(layer, error); break;
  case VMP_SOURCE_LAYER_ALPHA: values = read_layer_alpha(layer, error); break;
  default: values = read_channel(channel, d, error); break;
  }
  if (!values)
    return NULL;
  guint8 *trimap = vmp_trimap_from_values(a->source, values, gimp_drawable_get_width(d), gimp_drawable_get_height(d),
                                          margin, a->band_width, error);
  g_free(values);
  return trimap;
}
