/* alpha_output.h - writing a computed alpha back into the image, as one undo step.
 * Owns: the outputs (layer mask, layer mask + decontaminated colours, new layer with mask, selection), prepared
 * outside the image and then added by as few PDB calls as possible inside one undo group. */
#ifndef VMP_ALPHA_OUTPUT_H
#define VMP_ALPHA_OUTPUT_H

#include <libgimp/gimp.h>

#include "decontaminate.h"
#include "vitmatte_args.h"

/* Refuses, before any work is done, what the write would refuse later (an existing mask without `replace_mask`). */
gboolean vmp_alpha_output_check(GimpLayer *layer, vmp_output_kind kind, gboolean replace_mask, GError **error);

/* An output made and filled but not yet part of the image: items that GIMP holds outside the image (a mask not
 * attached to any layer, a layer not inserted). Preparing changes nothing in the image and pushes no undo step. */
typedef struct vmp_alpha_output {
  GimpLayer *layer; /* the matted layer (borrowed) */
  vmp_output_kind kind;
  gboolean replace_mask;
  GimpLayerMask *mask;   /* layer mask: the filled mask, attached to nothing */
  GimpLayer *new_layer;  /* new layer: the copy, its mask filled; layer mask + decontaminated colours: the copy that
                            replaces the layer; selection: a canvas-sized carrier whose mask holds the alpha */
  gboolean hide_original; /* new layer with decontaminated colours: the original is hidden, as Photoshop does */
} vmp_alpha_output;

/* Makes the output for `alpha` (width x height, the layer's size, values 0..1). `colours` (the layer's
 * decontaminated pixels) is required for the layer-mask-decontaminated output and, for the new-layer output, gives
 * the copy those colours and hides the original; NULL otherwise. FALSE with `error` set when it cannot (the layer
 * changed size meanwhile, a PDB call failed); nothing is left behind then. */
gboolean vmp_alpha_output_prepare(GimpLayer *layer, vmp_output_kind kind, gboolean replace_mask, const gfloat *alpha,
                                  gint width, gint height, const vmp_decontaminated *colours, vmp_alpha_output *out,
                                  GError **error);

/* Adds a prepared output to the image inside one undo group, and returns the drawable that now holds the alpha
 * (borrowed): the mask, the new layer or the selection. The image changes through these PDB calls only:
 *   layer mask:  remove the old mask (replace-mask only), add the new one;
 *   layer mask + decontaminated colours: insert the copy (its mask and colours already on it) at the layer's
 *                place, remove the layer;
 *   new layer:   insert the copy (its mask already on it); with decontaminated colours, hide the original;
 *   selection:   insert the carrier, select its mask, remove the carrier.
 * On failure it removes what it added where it can, sets `error` and returns NULL. `out` is used up either way. */
GimpDrawable *vmp_alpha_output_commit(vmp_alpha_output *out, GError **error);

/* Deletes a prepared output that will not be committed. */
void vmp_alpha_output_discard(vmp_alpha_output *out);

#endif
