/* alpha_output.h - writing a computed alpha back into the image, as one undo step.
 * Owns: the three outputs (layer mask, new layer with mask, selection) and the undo group around them. */
#ifndef VMP_ALPHA_OUTPUT_H
#define VMP_ALPHA_OUTPUT_H

#include <libgimp/gimp.h>

#include "matte_procedure.h"

/* Refuses, before any work is done, what the write would refuse later (an existing mask without `replace_mask`). */
gboolean vmp_alpha_output_check(GimpLayer *layer, vmp_output_kind kind, gboolean replace_mask, GError **error);

/* Writes `alpha` (layer-sized, 0..1) inside one undo group and returns the drawable that now holds it (borrowed),
 * or NULL with `error` set. */
GimpDrawable *vmp_alpha_output_write(GimpLayer *layer, vmp_output_kind kind, gboolean replace_mask, const gfloat *alpha,
                                     GError **error);

#endif
