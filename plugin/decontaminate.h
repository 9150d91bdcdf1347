/* decontaminate.h - "Decontaminate colours": the layer's colours in the unknown band replaced by the estimated
 * foreground colours, so a cut-out shows no fringe of the old background.
 * Owns: reading the layer in its own encoding, the engine's foreground estimation, and the blend by the amount. */
#ifndef VMP_DECONTAMINATE_H
#define VMP_DECONTAMINATE_H

#include <libgimp/gimp.h>

#include "vitmatte_args.h"

/* The decontaminated pixels of a layer, ready to be written into a copy of it: width x height pixels of
 * `channels` floats in `format`, the layer's own colour model and space (so its TRC: perceptual values in
 * perceptual images, linear ones in linear images) with float samples; the alpha channel, when there is one, is
 * the layer's unchanged. */
typedef struct vmp_decontaminated {
  gfloat *pixels;
  const Babl *format;
  gint width, height, channels;
} vmp_decontaminated;

/* Reads `layer` in its own encoding, estimates the foreground colours F with `alpha` (the layer's size, 0..1) on
 * `device`, and makes colour = I + amount (F - I) in the unknown band (amount 0..1), I elsewhere. Progress goes
 * to GIMP's bar between the two fractions. FALSE with `error` set; nothing is left allocated then. */
gboolean vmp_decontaminate(GimpDrawable *layer, const gfloat *alpha, gdouble amount, vmp_device_choice device,
                           gdouble progress_from, gdouble progress_to, vmp_decontaminated *out, GError **error);

/* What vmp_decontaminate holds besides the alpha and the engine while it runs (the layer as read, the colours, the
 * output), for the memory check made before the model runs. */
gsize vmp_decontaminate_host_bytes(GimpDrawable *layer);

void vmp_decontaminated_clear(vmp_decontaminated *d);

#endif
