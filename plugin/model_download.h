/* model_download.h - downloading a ViTMatte model from inside the plug-in, with a progress bar.
 * Owns: running vmm_download (vitmatte_models.h) in a worker thread while the main thread keeps the progress and
 * the dialog alive, cancelling, and the user's wording of download errors. The dialog's Download button and the
 * non-interactive procedure plug-in-vitmatte-download both come through here. */
#ifndef VMP_MODEL_DOWNLOAD_H
#define VMP_MODEL_DOWNLOAD_H

#include <libgimp/gimp.h>

typedef struct vmp_download vmp_download;

/* Called once, in the main thread, when the download ended: `folder` is the model's folder, or NULL with `error`
 * set (G_IO_ERROR_CANCELLED after vmp_download_cancel). The download frees itself afterwards. */
typedef void (*vmp_download_done_fn)(const gchar *name, const gchar *folder, const GError *error, gpointer user_data);

/* Where the progress goes, from the main thread, when its text or its fraction (0..1) changed. */
typedef void (*vmp_download_show_fn)(const gchar *text, gdouble fraction, gpointer user_data);

/* Starts downloading `name` (small, base, small-646, base-646 or OWNER/NAME) and returns at once. Progress is shown
 * from the main loop, ten times a second: through `show` (the dialog's own bar), or, when `show` is NULL, through
 * GIMP's progress (gimp_progress_*: the progress of the image or the caller, whose Cancel ends the plug-in; what
 * arrived stays for the next download). */
vmp_download *vmp_download_start(const gchar *name, vmp_download_show_fn show, gpointer show_data,
                                 vmp_download_done_fn done, gpointer user_data);

/* Asks the download to stop; what arrived is kept for the next one. `done` still comes, with a cancel error. */
void vmp_download_cancel(vmp_download *download);

/* For a dialog that goes away: stops the download, waits for its thread (a second at most) and frees it without
 * calling `done`. */
void vmp_download_abandon(vmp_download *download);

/* Starts a download and runs a main loop until it ends: the non-interactive procedure. Returns the model's folder
 * (g_free it) or NULL with `error` set. */
gchar *vmp_download_wait(const gchar *name, GError **error);

#endif
