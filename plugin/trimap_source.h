/* trimap_source.h - reading a trimap for a layer out of GIMP: from a channel, the selection, the layer's mask or its
 * alpha.
 * Owns: which source a run's arguments name and why it cannot serve, where in the image the trimap is read (the
 * layer's rectangle, outside the canvas = background), and the trimap made of the values read. A run and the
 * dialog's preview (which reads GIMP's thumbnails instead) go through the same checks and words. */
#ifndef VMP_TRIMAP_SOURCE_H
#define VMP_TRIMAP_SOURCE_H

#include <libgimp/gimp.h>

#include "matte_run.h"

/* The layer-sized trimap of the source `a` names (0 / 128 / 255 bytes, g_free them), or NULL with `error` set:
 * vmp_trimap_source_check, the source read at the layer's rectangle (the selection with a margin of band-width
 * pixels, so that its edges just outside the layer still count), and vmp_trimap_from_values. */
guint8 *vmp_run_trimap(const vmp_run_args *a, GimpImage *image, GimpLayer *layer, GimpChannel *selected_channel,
                       GError **error);

/* Whether the source `a` names can give `layer` a trimap before anything is read: the layer not wholly outside the
 * canvas, and the selection not empty, the layer's mask or alpha there, or the trimap channel found (the argument,
 * else `selected_channel` (selected when ViTMatte started), else the one named by trimap-channel-name) in the
 * layer's image and not a layer mask: then `*channel` is that channel (borrowed), else NULL. FALSE with `error` set
 * (what is wrong and what to do). */
gboolean vmp_trimap_source_check(const vmp_run_args *a, GimpImage *image, GimpLayer *layer,
                                 GimpChannel *selected_channel, GimpChannel **channel, GError **error);

/* The width x height trimap (g_free it) of the values read from `source`, 0..1: a channel's perceptual grey (Y')
 * classified with the thresholds of trimap.h (width x height values, margin 0); the selection (inside from 0.5) or
 * a rough mask's opacities (the layer's mask, its alpha: black and white points 0.01 and 0.99) widened into a band
 * of `band_width` pixels on each side of the edge, from (width + 2 margin) x (height + 2 margin) values. NULL with
 * `error` set when out of memory, or when the trimap has no unknown pixels (the engine's words, as the CLI prints
 * them, and what to do for this source), since the model would have nothing to decide. */
guint8 *vmp_trimap_from_values(vmp_trimap_source source, const gfloat *values, gint width, gint height, gint margin,
                               gint band_width, GError **error);

#endif
