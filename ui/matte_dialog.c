/* matte_dialog.c - the interactive dialog of Filters > Matting > ViTMatte...
 * Owns: the widgets for each argument, where the model chooser goes, and which widgets are active for the chosen
 * trimap source and output. */
#include "matte_dialog.h"

#include <libgimp/gimpui.h>

#include "matte_procedure.h"
#include "model_chooser.h"

/* Makes `property` sensitive only while `choice_property` has the value `nick` (or `other`, when not NULL). */
static void sensitive_when(GimpProcedureDialog *dialog, GimpProcedureConfig *config, const gchar *property,
                           const gchar *choice_property, const gchar *nick, const gchar *other) {
  GimpValueArray *values =
      other ? gimp_value_array_new_from_types(NULL, G_TYPE_STRING, nick, G_TYPE_STRING, other, G_TYPE_NONE)
            : gimp_value_array_new_from_types(NULL, G_TYPE_STRING, nick, G_TYPE_NONE);
  gimp_procedure_dialog_set_sensitive_if_in(dialog, property, G_OBJECT(config), choice_property, values, TRUE);
}

gboolean vmp_matte_dialog_run(GimpProcedure *procedure, GimpProcedureConfig *config) {
  gimp_ui_init(VMP_BINARY_NAME);
  GtkWidget *widget = gimp_procedure_dialog_new(procedure, config, "ViTMatte");
  GimpProcedureDialog *dialog = GIMP_PROCEDURE_DIALOG(widget);

  gimp_procedure_dialog_get_spin_scale(dialog, VMP_ARG_BAND_WIDTH, 1.0);

  /* The trimap source combo is the title of the frame that holds what depends on it. */
  gimp_procedure_dialog_fill_box(dialog, "trimap-box", VMP_ARG_TRIMAP_CHANNEL, VMP_ARG_TRIMAP_CHANNEL_NAME,
                                 VMP_ARG_BAND_WIDTH, NULL);
  gimp_procedure_dialog_fill_frame(dialog, "trimap-frame", VMP_ARG_TRIMAP_SOURCE, FALSE, "trimap-box");

  /* The model argument is a string (see matte_procedure.c); instead of a text entry the dialog offers the
   * installed and official models, a folder chooser and a Download button (model_chooser.h). */
  GtkWidget *model_box = gimp_procedure_dialog_fill_box(dialog, "model-box", VMP_ARG_DEVICE, VMP_ARG_PRECISION, NULL);
  GtkWidget *chooser = vmp_model_chooser_new(GTK_DIALOG(dialog), config);
  gtk_box_pack_start(GTK_BOX(model_box), chooser, FALSE, FALSE, 0);
  gtk_box_reorder_child(GTK_BOX(model_box), chooser, 0);

  gimp_procedure_dialog_get_spin_scale(dialog, VMP_ARG_DECONTAMINATE_AMOUNT, 1.0);
  gimp_procedure_dialog_fill_box(dialog, "output-box", VMP_ARG_OUTPUT, VMP_ARG_REPLACE_MASK, VMP_ARG_DECONTAMINATE,
                                 VMP_ARG_DECONTAMINATE_AMOUNT, NULL);

  sensitive_when(dialog, config, VMP_ARG_TRIMAP_CHANNEL, VMP_ARG_TRIMAP_SOURCE, "channel", NULL);
  sensitive_when(dialog, config, VMP_ARG_TRIMAP_CHANNEL_NAME, VMP_ARG_TRIMAP_SOURCE, "channel", NULL);
  sensitive_when(dialog, config, VMP_ARG_BAND_WIDTH, VMP_ARG_TRIMAP_SOURCE, "selection", NULL);
  sensitive_when(dialog, config, VMP_ARG_REPLACE_MASK, VMP_ARG_OUTPUT, "layer-mask", "layer-mask-decontaminated");
  /* the checkbox decides for a new layer; the decontaminated mask output always decontaminates */
  sensitive_when(dialog, config, VMP_ARG_DECONTAMINATE, VMP_ARG_OUTPUT, "new-layer", NULL);
  sensitive_when(dialog, config, VMP_ARG_DECONTAMINATE_AMOUNT, VMP_ARG_OUTPUT, "new-layer",
                 "layer-mask-decontaminated");

  gimp_procedure_dialog_fill(dialog, "trimap-frame", "model-box", "output-box", NULL);
  gboolean ok = gimp_procedure_dialog_run(dialog);
  gtk_widget_destroy(widget);
  return ok;
}
