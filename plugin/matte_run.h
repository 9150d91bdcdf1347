/* matte_run.h - what happens when the procedure runs: validate, read, predict, and only then write.
 * Owns: the order of work that keeps a cancelled or failed run from touching the image. */
#ifndef VMP_MATTE_RUN_H
#define VMP_MATTE_RUN_H

#include <libgimp/gimp.h>

/* The GimpRunImageFunc of plug-in-vitmatte. */
GimpValueArray *vmp_matte_run(GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                              GimpDrawable **drawables, GimpProcedureConfig *config, gpointer run_data);

#endif
