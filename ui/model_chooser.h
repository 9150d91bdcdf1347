/* model_chooser.h - the dialog's model widget: a choice among the installed and official models plus "A folder...",
 * and a Download button that fetches the chosen official model with a progress bar in the dialog (Stop cancels).
 * Owns: the widget and the value it writes into the procedure's "model" argument. */
#ifndef VMP_MODEL_CHOOSER_H
#define VMP_MODEL_CHOOSER_H

#include <libgimp/gimpui.h>

/* A box for the dialog; keeps `config`'s model argument in step with the choice. While a download runs, the
 * dialog's OK is insensitive; closing the dialog stops the download (what arrived is kept). */
GtkWidget *vmp_model_chooser_new(GtkDialog *dialog, GimpProcedureConfig *config);

#endif
