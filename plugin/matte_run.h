/* matte_run.h - what happens when the procedure runs: validate, read, predict, and only then write.
 * Owns: the order of work that keeps a cancelled or failed run from touching the image, and how the arguments are
 * read (shared with the preview). */
#ifndef VMP_MATTE_RUN_H
#define VMP_MATTE_RUN_H

#include <libgimp/gimp.h>

#include "vitmatte_args.h"

/* The arguments as a run reads them from the procedure's config (the preview reads them the same way). */
typedef struct vmp_run_args {
  vmp_trimap_source source;
  GimpChannel *channel; /* owned reference or NULL */
  gchar *channel_name;
  gint band_width;
  gchar *model; /* "" = the default location */
  vmp_device_choice device;
  vmp_precision_choice precision;
  vmp_output_kind output;
  gboolean replace_mask;
  gboolean decontaminate;
  gdouble amount; /* percent */
  gint cpu_threads;
} vmp_run_args;

void vmp_run_args_read(GimpProcedureConfig *config, vmp_run_args *a);
void vmp_run_args_clear(vmp_run_args *a);

/* The GimpRunImageFunc of plug-in-vitmatte. */
GimpValueArray *vmp_matte_run(GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                              GimpDrawable **drawables, GimpProcedureConfig *config, gpointer run_data);

#endif
