/* matte_dialog.c - the interactive dialog of Filters > Matting > ViTMatte...
 * Owns: the widgets for each argument, the model folder button, and which widgets are active for the chosen
 * trimap source and output. */
#include "matte_dialog.h"

#include <libgimp/gimpui.h>

#include "matte_procedure.h"

/* Makes `property` sensitive only while `choice_property` has the value `nick` (or `other`, when not NULL). */
static void sensitive_when(GimpProcedureDialog *dialog, GimpProcedureConfig *config, const gchar *property,
                           const gchar *choice_property, const gchar *nick, const gchar *other) {
  GimpValueArray *values =
      other ? gimp_value_array_new_from_types(NULL, G_TYPE_STRING, nick, G_TYPE_STRING, other, G_TYPE_NONE)
            : gimp_value_array_new_from_types(NULL, G_TYPE_STRING, nick, G_TYPE_NONE);
  gimp_procedure_dialog_set_sensitive_if_in(dialog, property, G_OBJECT(config), choice_property, values, TRUE);
}

/* The model argument is a string (see matte_procedure.c); this button picks a folder and writes its path there,
 * and the text entry above it stays editable for a .safetensors file or a path typed by hand. */
static void on_model_folder_set(GtkFileChooserButton *button, gpointer config) {
  gchar *path = gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(button));
  if (path)
    g_object_set(config, VMP_ARG_MODEL, path, NULL);
  g_free(path);
}

static GtkWidget *model_folder_button(GimpProcedureConfig *config) {
  GtkWidget *button =
      gtk_file_chooser_button_new("Choose the ViTMatte model folder", GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER);
  gchar *current = NULL;
  g_object_get(config, VMP_ARG_MODEL, &current, NULL);
  if (current && g_file_test(current, G_FILE_TEST_IS_DIR))
    gtk_file_chooser_set_filename(GTK_FILE_CHOOSER(button), current);
  g_free(current);
  gtk_widget_set_tooltip_text(button, "The folder that holds config.json and model.safetensors");
  g_signal_connect(button, "file-set", G_CALLBACK(on_model_folder_set), config);
  gtk_widget_show(button);
  return button;
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

  GtkWidget *model_box =
      gimp_procedure_dialog_fill_box(dialog, "model-box", VMP_ARG_MODEL, VMP_ARG_DEVICE, VMP_ARG_PRECISION, NULL);
  GtkWidget *button = model_folder_button(config);
  gtk_box_pack_start(GTK_BOX(model_box), button, FALSE, FALSE, 0);
  gtk_box_reorder_child(GTK_BOX(model_box), button, 1); /* right under the path entry */

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
