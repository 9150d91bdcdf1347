/* matte_preview.h - the dialog's preview: a Preview toggle, what to show, and the result of the current settings.
 * Owns: the preview area, the view modes, when to recompute (debounced), and the line that says what is shown. */
#ifndef VMP_MATTE_PREVIEW_H
#define VMP_MATTE_PREVIEW_H

#include <libgimp/gimpui.h>

#include "matte_dialog.h"

/* The preview column for `dialog`: its Preview and Show widgets (the aux arguments preview, preview-mode), a
 * GimpPreviewArea and a status line. A change of a setting that changes the result recomputes it through
 * services->preview_request after a pause (so dragging a slider runs the model once), a change of what is shown
 * only redraws (except a switch to the Cut-out view when the result has no colours: it computes it again with
 * them); the dialog stays responsive meanwhile. Closing the dialog stops a computation in progress. */
GtkWidget *vmp_matte_preview_new(GimpProcedureDialog *dialog, GimpProcedureConfig *config,
                                 const vmp_dialog_services *services);

/* For the GUI tests' report (test_hook.h): the state, the geometry of the drawn picture on the screen, the
 * checkerboard, and the alpha and trimap computed last (written beside the report as REPORT.alpha.f32 and
 * REPORT.trimap.f32, "VMPF" floats). */
void vmp_matte_preview_report(GtkWidget *preview, GString *report, const gchar *file);

#endif
