/* engine_session.h - the ViTMatte engine from inside the plug-in: a run (GIMP progress) or the preview's worker.
 * Owns: finding the model, loading it, making the context, the size check, predicting, and the wording of errors. */
#ifndef VMP_ENGINE_SESSION_H
#define VMP_ENGINE_SESSION_H

#include <libgimp/gimp.h>

#include "vitmatte_args.h"
#include "vitmatte.h"

/* The model path to use: the caller's choice when not empty (a path, a leading "~/" meaning the home folder, or a
 * downloaded model's name: small, base, ...), else the first usable default of model_location.h. g_free the result;
 * NULL with `error` set when nothing usable is found or a named model is not downloaded. */
gchar *vmp_resolve_model_path(const gchar *chosen, GError **error);

/* Progress of the engine mapped onto a slice of GIMP's progress bar. */
typedef struct vmp_progress_slice {
  gdouble from, to;
  gdouble last_fraction;
  const char *last_stage;
} vmp_progress_slice;

/* A loaded model and a context on the chosen device. */
typedef struct vmp_engine_session {
  gchar *model_path;
  vm_model *model;
  vm_context *ctx;
  vmp_progress_slice slice; /* the context reports here unless given its own callback; set by vmp_engine_predict */
  gboolean auto_device;     /* device Automatic: an image the GPU cannot hold runs on the CPU, with a message */
} vmp_engine_session;

/* Loads the model at `model_path` and makes a context on the chosen device and precision (`cpu_threads` on the CPU,
 * 0 = one per core). The context reports its progress to `progress` with `progress_data` (it may cancel there); NULL:
 * to GIMP's progress bar, in the slice vmp_engine_predict sets (then only from the plug-in's main thread). FALSE
 * with `error` set; vmp_engine_close it either way. */
gboolean vmp_engine_open(vmp_engine_session *s, const gchar *model_path, vmp_device_choice device,
                         vmp_precision_choice precision, gint cpu_threads, vm_progress_fn progress,
                         void *progress_data, GError **error);

/* Before any pixel is read: whether a width x height layer is within the engine's limits and fits in the memory
 * available, the plug-in's own `host_bytes` (its copies of the layer, the trimap, the alpha) included. FALSE with
 * `error` set (size and memory needed) when not. */
gboolean vmp_engine_check_size(vmp_engine_session *s, gint width, gint height, gsize host_bytes, GError **error);

/* The same for the foreground estimation of the decontamination (a later phase, the model's memory given back by
 * then): the engine's host memory for it, the same on every device, plus the plug-in's `host_bytes` (the layer as
 * read, the colours, the output, the alpha). Needs no engine context, so no GPU is set up for the question. */
gboolean vmp_engine_check_foreground_size(gint width, gint height, gsize host_bytes, GError **error);

/* Runs the model on `rgb` + `trimap` and returns width x height alpha values in 0..1 (g_free them), or NULL with
 * `error` set. Progress goes to the GIMP progress bar between `progress_from` and `progress_to`, from this (the
 * plug-in's main) thread. */
gfloat *vmp_engine_predict(vmp_engine_session *s, const vm_image *rgb, const vm_image *trimap, gdouble progress_from,
                           gdouble progress_to, GError **error);

void vmp_engine_close(vmp_engine_session *s);

/* The CPU threads to ask the engine for: the argument, at most vm_cpu_thread_limit(). */
gint vmp_engine_threads(gint cpu_threads);

/* The engine's device and precision for the dialog's choices. */
vm_device vmp_engine_device(vmp_device_choice device);
vm_precision vmp_engine_precision(vmp_precision_choice precision);

/* Estimates the foreground colours of `image` given `alpha` (width x height floats) on the chosen device (no model
 * needed): `foreground` receives width x height pixels of 3 floats (colour) or 1 (grey). FALSE with `error` set. */
gboolean vmp_engine_foreground(vmp_device_choice device, const vm_image *image, const gfloat *alpha, gfloat *foreground,
                               gdouble progress_from, gdouble progress_to, GError **error);

#endif
