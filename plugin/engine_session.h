/* engine_session.h - one prediction with the ViTMatte engine from inside the plug-in, with GIMP progress.
 * Owns: finding the model, loading it, making the context, predicting, and turning engine errors into messages. */
#ifndef VMP_ENGINE_SESSION_H
#define VMP_ENGINE_SESSION_H

#include <libgimp/gimp.h>

#include "matte_procedure.h"
#include "vitmatte.h"

/* The model path to use: the caller's choice when not empty (a path, a leading "~/" meaning the home folder, or a
 * downloaded model's name: small, base, ...), else the first usable default of model_location.h. g_free the result;
 * NULL with `error` set when nothing usable is found or a named model is not downloaded. */
gchar *vmp_resolve_model_path(const gchar *chosen, GError **error);

/* Loads the model at `model_path`, runs it on `rgb` + `trimap` on the chosen device and precision, and returns
 * width x height alpha values in 0..1 (g_free them), or NULL with `error` set. Progress goes to the GIMP progress
 * bar between `progress_from` and `progress_to`, from this (the plug-in's main) thread. */
gfloat *vmp_engine_predict(const gchar *model_path, vmp_device_choice device, vmp_precision_choice precision,
                           const vm_image *rgb, const vm_image *trimap, gdouble progress_from, gdouble progress_to,
                           GError **error);

/* Estimates the foreground colours of `image` given `alpha` (width x height floats) on the chosen device (no model
 * needed): `foreground` receives width x height pixels of 3 floats (colour) or 1 (grey). FALSE with `error` set. */
gboolean vmp_engine_foreground(vmp_device_choice device, const vm_image *image, const gfloat *alpha,
                               gfloat *foreground, gdouble progress_from, gdouble progress_to, GError **error);

#endif
