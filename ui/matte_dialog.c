/* matte_dialog.c - the interactive dialog of Filters > Matting > ViTMatte...
 * Owns: the widgets for each argument and their layout (preview; trimap, model, output), the band width slider's range,
 * which widgets are active for the chosen trimap source and output, and the Help window (the procedure's own help
 * text: GIMP's manual has no page for a third-party plug-in). */
#include "matte_dialog.h"

#include "matte_preview.h"
#include "vitmatte_args.h"
#include "model_chooser.h"
#include "test_hook.h"

void vmp_preview_result_free(vmp_preview_result *result) {
  if (!result)
    return;
  g_free(result->rgb);
  g_free(result->trimap);
  g_free(result->alpha);
  g_free(result->foreground);
  g_free(result->device);
  g_free(result);
}

/* Makes `property` sensitive only while `choice_property` has one of the NULL-terminated values. */
static void sensitive_when(GimpProcedureDialog *dialog, GimpProcedureConfig *config, const gchar *property,
                           const gchar *choice_property, ...) {
  GimpValueArray *values = gimp_value_array_new(4);
  va_list ap;
  va_start(ap, choice_property);
  for (const gchar *nick = va_arg(ap, const gchar *); nick; nick = va_arg(ap, const gchar *)) {
    GValue value = G_VALUE_INIT;
    g_value_init(&value, G_TYPE_STRING);
    g_value_set_string(&value, nick);
    gimp_value_array_append(values, &value);
    g_value_unset(&value);
  }
  va_end(ap);
  gimp_procedure_dialog_set_sensitive_if_in(dialog, property, G_OBJECT(config), choice_property, values, TRUE);
}

/* Help: the procedure's own text in a window of its own (the dialog's Help button and F1 come here). */
static void show_help(const gchar *help_id, gpointer help_data) {
  (void)help_id;
  if (!GIMP_IS_PROCEDURE_DIALOG(help_data))
    return;
  GimpProcedure *procedure = NULL;
  g_object_get(help_data, "procedure", &procedure, NULL);
  GtkWidget *window = gtk_dialog_new_with_buttons("ViTMatte help", GTK_WINDOW(help_data),
                                                  GTK_DIALOG_DESTROY_WITH_PARENT, "_Close", GTK_RESPONSE_CLOSE, NULL);
  gtk_window_set_default_size(GTK_WINDOW(window), 620, 560);
  GtkWidget *scrolled = gtk_scrolled_window_new(NULL, NULL);
  gtk_scrolled_window_set_policy(GTK_SCROLLED_WINDOW(scrolled), GTK_POLICY_NEVER, GTK_POLICY_AUTOMATIC);
  gtk_widget_set_vexpand(scrolled, TRUE);
  GtkWidget *text = gtk_label_new(procedure ? gimp_procedure_get_help(procedure) : "");
  gtk_label_set_line_wrap(GTK_LABEL(text), TRUE);
  gtk_label_set_selectable(GTK_LABEL(text), TRUE);
  gtk_label_set_xalign(GTK_LABEL(text), 0.0);
  gtk_label_set_yalign(GTK_LABEL(text), 0.0);
  g_object_set(text, "margin", 12, NULL);
  gtk_container_add(GTK_CONTAINER(scrolled), text);
  gtk_box_pack_start(GTK_BOX(gtk_dialog_get_content_area(GTK_DIALOG(window))), scrolled, TRUE, TRUE, 0);
  g_signal_connect(window, "response", G_CALLBACK(gtk_widget_destroy), NULL);
  gtk_widget_show_all(window);
  g_clear_object(&procedure);
}

/* gimp_procedure_dialog_new with the procedure's own help instead of the GIMP manual's (which has no page for it,
 * so Help said "the GIMP user manual is not installed"). */
static GtkWidget *new_dialog(GimpProcedure *procedure, GimpProcedureConfig *config) {
  gboolean use_header_bar = FALSE;
  g_object_get(gtk_settings_get_default(), "gtk-dialogs-use-header", &use_header_bar, NULL);
  return g_object_new(GIMP_TYPE_PROCEDURE_DIALOG, "procedure", procedure, "config", config, "title", "ViTMatte",
                      "help-func", show_help, "help-id", VMP_PROC_NAME, "use-header-bar", use_header_bar, NULL);
}

/* The labels left of the fields share one width: the dialog's own labels (GimpLabeled widgets) and ours. A widget
 * in two horizontal size groups links them, so adding one of the dialog's labels ties the whole column. */
static void align_label(GtkSizeGroup *labels, GtkWidget *widget) {
  GtkWidget *label = GIMP_IS_LABELED(widget)            ? gimp_labeled_get_label(GIMP_LABELED(widget))
                     : GIMP_IS_DRAWABLE_CHOOSER(widget) ? gimp_drawable_chooser_get_label(GIMP_DRAWABLE_CHOOSER(widget))
                                                        : NULL;
  if (GTK_IS_LABEL(label)) {
    gtk_label_set_xalign(GTK_LABEL(label), 0.0);
    gtk_size_group_add_widget(labels, label);
  }
}

gboolean vmp_matte_dialog_run(GimpProcedure *procedure, GimpProcedureConfig *config,
                              const vmp_dialog_services *services) {
  gimp_ui_init(VMP_BINARY_NAME);
  GtkWidget *widget = new_dialog(procedure, config);
  GimpProcedureDialog *dialog = GIMP_PROCEDURE_DIALOG(widget);
  GtkSizeGroup *labels = gtk_size_group_new(GTK_SIZE_GROUP_HORIZONTAL);

  /* Band width: the argument takes 1..1000 (typed), the slider spans 1..80 where the useful 5..60 px lie. */
  GtkWidget *band = gimp_procedure_dialog_get_spin_scale(dialog, VMP_ARG_BAND_WIDTH, 1.0);
  gimp_spin_scale_set_scale_limits(GIMP_SPIN_SCALE(band), 1.0, VMP_BAND_WIDTH_SLIDER_MAX);
  gimp_procedure_dialog_get_spin_scale(dialog, VMP_ARG_DECONTAMINATE_AMOUNT, 1.0);

  /* The trimap source combo is the title of the frame that holds what depends on it. */
  gimp_procedure_dialog_fill_box(dialog, "trimap-box", VMP_ARG_TRIMAP_CHANNEL, VMP_ARG_TRIMAP_CHANNEL_NAME,
                                 VMP_ARG_BAND_WIDTH, NULL);
  gimp_procedure_dialog_fill_frame(dialog, "trimap-frame", VMP_ARG_TRIMAP_SOURCE, FALSE, "trimap-box");

  /* The model argument is a string (see plugin/vitmatte_plugin.c); instead of a text entry the dialog offers the installed
   * and official models, a folder chooser and a Download button (model_chooser.h), and says which model a run
   * would use. */
  GtkWidget *model_box =
      gimp_procedure_dialog_fill_box(dialog, "model-box", VMP_ARG_DEVICE, VMP_ARG_PRECISION, VMP_ARG_CPU_THREADS, NULL);
  GtkWidget *chooser = vmp_model_chooser_new(GTK_DIALOG(dialog), config, services, labels);
  gtk_box_pack_start(GTK_BOX(model_box), chooser, FALSE, FALSE, 0);
  gtk_box_reorder_child(GTK_BOX(model_box), chooser, 0);
  gimp_procedure_dialog_get_label(dialog, "model-title", "Model and device", FALSE, FALSE);
  gimp_procedure_dialog_fill_frame(dialog, "model-frame", "model-title", FALSE, "model-box");

  gimp_procedure_dialog_fill_box(dialog, "output-box", VMP_ARG_OUTPUT, VMP_ARG_REPLACE_MASK, VMP_ARG_DECONTAMINATE,
                                 VMP_ARG_DECONTAMINATE_AMOUNT, NULL);
  gimp_procedure_dialog_get_label(dialog, "output-title", "Result", FALSE, FALSE);
  gimp_procedure_dialog_fill_frame(dialog, "output-frame", "output-title", FALSE, "output-box");

  const gchar *aligned[] = {VMP_ARG_TRIMAP_CHANNEL, VMP_ARG_TRIMAP_CHANNEL_NAME, VMP_ARG_DEVICE,
                            VMP_ARG_PRECISION,      VMP_ARG_CPU_THREADS,         VMP_ARG_OUTPUT};
  for (gsize i = 0; i < G_N_ELEMENTS(aligned); i++)
    align_label(labels, gimp_procedure_dialog_get_widget(dialog, aligned[i], G_TYPE_NONE));

  sensitive_when(dialog, config, VMP_ARG_TRIMAP_CHANNEL, VMP_ARG_TRIMAP_SOURCE, "channel", NULL);
  sensitive_when(dialog, config, VMP_ARG_TRIMAP_CHANNEL_NAME, VMP_ARG_TRIMAP_SOURCE, "channel", NULL);
  sensitive_when(dialog, config, VMP_ARG_BAND_WIDTH, VMP_ARG_TRIMAP_SOURCE, "selection", "layer-mask", "layer-alpha",
                 NULL);
  sensitive_when(dialog, config, VMP_ARG_REPLACE_MASK, VMP_ARG_OUTPUT, "layer-mask", "layer-mask-decontaminated", NULL);
  /* the checkbox decides for a new layer; the decontaminated mask output always decontaminates */
  sensitive_when(dialog, config, VMP_ARG_DECONTAMINATE, VMP_ARG_OUTPUT, "new-layer", NULL);
  sensitive_when(dialog, config, VMP_ARG_DECONTAMINATE_AMOUNT, VMP_ARG_OUTPUT, "new-layer", "layer-mask-decontaminated",
                 NULL);

  /* The options in a column, the preview column left of it. */
  GtkWidget *main_box =
      gimp_procedure_dialog_fill_box(dialog, "main-box", "trimap-frame", "model-frame", "output-frame", NULL);
  GtkWidget *options = gimp_procedure_dialog_fill_box(dialog, "options-box", "main-box", NULL);
  gtk_orientable_set_orientation(GTK_ORIENTABLE(options), GTK_ORIENTATION_HORIZONTAL);
  gtk_box_set_spacing(GTK_BOX(options), 12);
  GtkWidget *preview = vmp_matte_preview_new(dialog, config, services);
  gtk_box_pack_start(GTK_BOX(options), preview, TRUE, TRUE, 0);
  gtk_box_reorder_child(GTK_BOX(options), preview, 0);
  gtk_widget_set_valign(main_box, GTK_ALIGN_START);
  gimp_procedure_dialog_fill(dialog, "options-box", NULL);
  const vmp_test_hook_targets targets = {widget, config, chooser, preview};
  vmp_test_hook_install(&targets);
  gboolean ok = gimp_procedure_dialog_run(dialog);
  gtk_widget_destroy(widget);
  g_object_unref(labels);
  return ok;
}
