/* trimap_source.h - reading a trimap for a layer out of GIMP: from a channel, the selection, the layer's mask or its
 * alpha.
 * Owns: where in the image the trimap is read (the layer's rectangle, outside the canvas = background). */
#ifndef VMP_TRIMAP_SOURCE_H
#define VMP_TRIMAP_SOURCE_H

#include <libgimp/gimp.h>

/* Each returns layer-sized 0 / 128 / 255 bytes (g_free them) or NULL with `error` set. Both refuse a trimap
 * without unknown pixels inside the layer, since the model would have nothing to decide. */

/* `channel` must belong to the layer's image; it is read at the layer's rectangle in image coordinates and
 * classified with the thresholds of trimap.h. */
guint8 *vmp_trimap_from_gimp_channel(GimpChannel *channel, GimpDrawable *layer, GError **error);

/* The selection of the layer's image, widened into a band of `band_width` pixels on each side of its edge. */
guint8 *vmp_trimap_from_gimp_selection(GimpDrawable *layer, gint band_width, GError **error);

/* A rough mask of the layer, widened into a band by vmp_trimap_from_mask (trimap.h: black and white points 0.01 and
 * 0.99, `band_width` pixels grown inward and outward): the layer's mask (an error when it has none), or its alpha
 * channel (an error when it has none). */
guint8 *vmp_trimap_from_gimp_layer_mask(GimpLayer *layer, gint band_width, GError **error);
guint8 *vmp_trimap_from_gimp_layer_alpha(GimpLayer *layer, gint band_width, GError **error);

/* The channel a caller meant: `chosen` when given, else the image's channel called `name` (any case). NULL with
 * `error` set when neither exists. The result is borrowed. */
GimpChannel *vmp_find_trimap_channel(GimpImage *image, GimpChannel *chosen, const gchar *name, GError **error);

#endif
