/* model_chooser.h - the dialog's model widget: a choice among the installed and official models plus "A folder...",
 * and a Download button that fetches the chosen official model with a progress bar in the dialog (Stop cancels).
 * Owns: the widget and the value it writes into the procedure's "model" argument. */
#ifndef VMP_MODEL_CHOOSER_H
#define VMP_MODEL_CHOOSER_H

#include <libgimp/gimpui.h>

#include "matte_dialog.h"

/* A box for the dialog; keeps `config`'s model argument in step with the choice, and shows under it the model a run
 * would use (services->model_line). While a download runs, the dialog's OK is insensitive; closing the dialog stops
 * the download (what arrived is kept). The "Model" label joins `labels` (may be NULL), to line up with the
 * dialog's other labels. */
GtkWidget *vmp_model_chooser_new(GtkDialog *dialog, GimpProcedureConfig *config, const vmp_dialog_services *services,
                                 GtkSizeGroup *labels);

/* For the GUI tests' hook: "download" NAME chooses that model and presses Download, "stop" presses Stop, "choose" ID
 * chooses an entry (a model argument value, "" for Automatic); the status line's text. */
void vmp_model_chooser_act(GtkWidget *chooser, const gchar *action, const gchar *argument);
const gchar *vmp_model_chooser_status(GtkWidget *chooser);

#endif
