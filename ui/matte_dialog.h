/* matte_dialog.h - the interactive dialog of Filters > Matting > ViTMatte..., and what it asks of the plug-in.
 * Owns: laying out the procedure's arguments, asking the user for them, and the services interface through which the
 * dialog reaches the plug-in's work (the model it would use, downloads, previews) without knowing its internals. */
#ifndef VMP_MATTE_DIALOG_H
#define VMP_MATTE_DIALOG_H

#include <libgimp/gimpui.h>

/* A download in progress (the plug-in's); see vmp_dialog_services. */
typedef struct vmp_dialog_download vmp_dialog_download;
/* Where a download's progress goes (main thread), and its end: `folder` NULL with `error` set on failure (a cancel
 * error after download_cancel). */
typedef void (*vmp_dialog_download_show_fn)(const gchar *text, gdouble fraction, gpointer user_data);
typedef void (*vmp_dialog_download_done_fn)(const gchar *name, const gchar *folder, const GError *error,
                                            gpointer user_data);

/* One preview: the layer (or a downscaled copy of it) as the model saw it and what came out, width x height. */
typedef struct vmp_preview_result {
  gint width, height;             /* what was computed */
  gint layer_width, layer_height; /* the layer's own size */
  guint8 *rgb;                    /* width x height x 3: the picture, R'G'B' 8-bit */
  guint8 *trimap;                 /* width x height: 0 / 128 / 255 */
  gfloat *alpha;                  /* width x height, 0..1 */
  gfloat *foreground;             /* width x height x 3: the estimated foreground colours, R'G'B' 0..1; NULL unless
                                   * the Cut-out view was shown when the result was asked for */
  gchar *device;                  /* where the model ran, e.g. "CPU, 2 threads" */
  gdouble seconds;                /* the model and the colours (if any), reading not included */
} vmp_preview_result;

void vmp_preview_result_free(vmp_preview_result *result);

/* The end of a preview request (main thread): `result` (the receiver's to free) or NULL with `error` set. Only the
 * last request's end is reported: a request made while another runs supersedes it. */
typedef void (*vmp_preview_done_fn)(vmp_preview_result *result, const GError *error, gpointer user_data);

typedef struct vmp_dialog_services {
  gpointer data; /* passed back to every call */
  /* One line for under the model choice: the model that `model` (the argument's value) stands for and where it
   * is, or that there is none and how to get one. g_free it. */
  gchar *(*model_line)(gpointer data, const gchar *model);
  /* Downloads an official model (small, base, ...) in the background; progress and the end come through the
   * callbacks. cancel stops it (done still comes), abandon stops it and drops the callbacks (the dialog is going). */
  vmp_dialog_download *(*download_start)(gpointer data, const gchar *name, vmp_dialog_download_show_fn show,
                                         gpointer show_data, vmp_dialog_download_done_fn done, gpointer done_data);
  void (*download_cancel)(vmp_dialog_download *download);
  void (*download_abandon)(vmp_dialog_download *download);
  /* Computes the result of `config`'s current settings in the background (the foreground colours only when
   * preview-mode is the Cut-out view). */
  void (*preview_request)(gpointer data, GimpProcedureConfig *config, vmp_preview_done_fn done, gpointer done_data);
  /* Stops a preview in progress and waits for it; no done comes afterwards. */
  void (*preview_stop)(gpointer data);
} vmp_dialog_services;

/* Shows the dialog with `config`'s values (the last used ones); TRUE when the user pressed OK, with `config`
 * updated. */
gboolean vmp_matte_dialog_run(GimpProcedure *procedure, GimpProcedureConfig *config,
                              const vmp_dialog_services *services);

#endif
