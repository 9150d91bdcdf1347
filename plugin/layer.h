/* layer.h - the layer the plug-in mattes: where it lies on the canvas, and its colour pixels for the engine.
 * Owns: the layer's canvas part (layers may be offset, smaller or larger than the canvas, or outside it), the babl
 * format per image precision and the layer-sized pixel copy. */
#ifndef VMP_LAYER_H
#define VMP_LAYER_H

#include <libgimp/gimp.h>

#include "vitmatte.h"

/* A layer's colour as R'G'B' in the image's own colour space: u8 for 8-bit perceptual images, u16 for 16-bit
 * perceptual ones (so the engine sees exactly the stored values, as the CLI does for the exported file), float
 * otherwise (linear and float images; clamped to 0..1, the range the model was trained on). Grey layers come
 * as R = G = B; the alpha channel is not read (the model ignores it). */
typedef struct vmp_layer_pixels {
  vm_image image; /* image.data is owned: vmp_layer_pixels_clear frees it */
} vmp_layer_pixels;

gboolean vmp_layer_pixels_read(GimpDrawable *layer, vmp_layer_pixels *out, GError **error);
/* The bytes vmp_layer_pixels_read will allocate for `layer` (saturating), known before it reads anything. */
gsize vmp_layer_pixels_bytes(GimpDrawable *layer);
void vmp_layer_pixels_clear(vmp_layer_pixels *pixels);

/* The part of `layer` that lies on its image's canvas: `in_image` in image coordinates, `in_layer` the same pixels
 * in layer coordinates (either may be NULL). FALSE, both empty, when the layer lies wholly outside the canvas. */
gboolean vmp_layer_canvas_part(GimpLayer *layer, GeglRectangle *in_image, GeglRectangle *in_layer);

#endif
