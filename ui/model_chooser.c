/* model_chooser.c - the dialog's model widget: a choice among the installed and official models plus "A folder...",
 * and a Download button that fetches the chosen official model with a progress bar in the dialog (Stop cancels).
 * Owns: the entries of the choice, the Download / Stop buttons, the status line, and what the GUI tests' hook may
 * press. The download itself and the model line are the plug-in's (vmp_dialog_services): the
 * same download as plug-in-vitmatte-download's, the same model search as a run's. */
#include "model_chooser.h"

#include <stdlib.h>
#include <string.h>

#include "vitmatte_args.h"
#include "vitmatte_models.h"

/* The id of "A folder..." in the combo: no model argument starts with a control character. */
#define ID_FOLDER "\001folder"

typedef struct chooser {
  GtkDialog *dialog;
  GimpProcedureConfig *config;
  const vmp_dialog_services *services;
  GtkWidget *combo, *download, *stop, *progress_row, *status;
  GtkWidget *bar; /* the download's progress bar */
  vmp_dialog_download *running;
  gchar *previous;  /* the choice before "A folder...", restored when the folder chooser is cancelled */
  gboolean filling; /* the entries are being rebuilt: "changed" means nothing */
  char *models_dir;
  GHashTable *complete; /* the official models (vmm_known_model *) complete in the models folder, as fill() found */
} chooser;

static const vmm_installed *installed_of(const vmm_installed_list *list, const vmm_known_model *known) {
  for (int i = 0; i < list->count; i++)
    if (list->items[i].known == known)
      return &list->items[i];
  return NULL;
}

/* Rebuilds the entries and selects `select` (a model argument value). */
static void fill(chooser *c, const gchar *select) {
  c->filling = TRUE;
  GtkComboBoxText *combo = GTK_COMBO_BOX_TEXT(c->combo);
  gtk_combo_box_text_remove_all(combo);
  gtk_combo_box_text_append(combo, "", "Automatic: the first model found (see below)");
  vmm_installed_list list = {NULL, 0};
  if (c->models_dir)
    vmm_list_installed(c->models_dir, &list, NULL);
  g_hash_table_remove_all(c->complete);
  for (int k = 0; k < vmm_known_count(); k++) {
    const vmm_known_model *known = vmm_known_at(k);
    const vmm_installed *m = installed_of(&list, known);
    if (m && m->complete)
      g_hash_table_add(c->complete, (gpointer)known);
    gchar *label = m && m->complete      ? g_strdup_printf("%s (%s)", known->title, known->name)
                   : m && m->downloading ? g_strdup_printf("%s (%s) - download unfinished", known->title, known->name)
                                         : g_strdup_printf("%s (%s) - not downloaded, about %d MB", known->title,
                                                           known->name, known->approx_mb);
    gtk_combo_box_text_append(combo, known->name, label);
    g_free(label);
  }
  gboolean found = select == NULL || *select == '\0' || vmm_known_find(select) != NULL;
  for (int i = 0; i < list.count; i++) {
    const vmm_installed *m = &list.items[i];
    if (m->known || !m->complete)
      continue;
    gchar *label = g_strdup_printf("%s (models folder)", m->folder);
    gtk_combo_box_text_append(combo, m->path, label);
    g_free(label);
    found = found || g_strcmp0(select, m->path) == 0;
  }
  vmm_installed_list_free(&list);
  if (!found)
    gtk_combo_box_text_append(combo, select, select); /* a folder chosen before, or given by a script */
  gtk_combo_box_text_append(combo, ID_FOLDER, "A folder...");
  const vmm_known_model *known = vmm_known_find(select);
  gtk_combo_box_set_active_id(GTK_COMBO_BOX(c->combo), known ? known->name : select ? select : "");
  c->filling = FALSE;
}

/* Download is for an official model that is not complete; the status line says what the choice means. */
static void update_state(chooser *c) {
  const gchar *id = gtk_combo_box_get_active_id(GTK_COMBO_BOX(c->combo));
  const vmm_known_model *known = id && *id ? vmm_known_find(id) : NULL;
  const gboolean missing = known && !g_hash_table_contains(c->complete, known);
  gtk_widget_set_sensitive(c->download, missing && !c->running);
  if (c->running) {
    /* the status line keeps the download's */
  } else if (missing) {
    gchar *text = g_strdup_printf("Not downloaded yet: Download gets it from the Hugging Face hub (about %d MB, into "
                                  "%s).",
                                  known->approx_mb, c->models_dir ? c->models_dir : "the models folder");
    gtk_label_set_text(GTK_LABEL(c->status), text);
    g_free(text);
  } else {
    /* the model a run would use, as a run finds it: the folder, or that there is none and how to get one */
    gchar *line = c->services->model_line(c->services->data, id ? id : "");
    gtk_label_set_text(GTK_LABEL(c->status), line);
    g_free(line);
  }
}

static void choose(chooser *c, const gchar *value) {
  g_object_set(c->config, VMP_ARG_MODEL, value, NULL);
  g_free(c->previous);
  c->previous = g_strdup(value);
}

static gchar *ask_folder(chooser *c) {
  GtkWidget *d = gtk_file_chooser_dialog_new("Choose the ViTMatte model folder", GTK_WINDOW(c->dialog),
                                             GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, "_Cancel", GTK_RESPONSE_CANCEL,
                                             "_Select", GTK_RESPONSE_ACCEPT, NULL);
  if (c->previous && g_file_test(c->previous, G_FILE_TEST_IS_DIR))
    gtk_file_chooser_set_filename(GTK_FILE_CHOOSER(d), c->previous);
  gchar *path =
      gtk_dialog_run(GTK_DIALOG(d)) == GTK_RESPONSE_ACCEPT ? gtk_file_chooser_get_filename(GTK_FILE_CHOOSER(d)) : NULL;
  gtk_widget_destroy(d);
  return path;
}

static void on_changed(GtkComboBox *combo, gpointer data) {
  chooser *c = data;
  if (c->filling)
    return;
  const gchar *id = gtk_combo_box_get_active_id(combo);
  if (g_strcmp0(id, ID_FOLDER) == 0) {
    gchar *path = ask_folder(c);
    gchar *value = path ? path : g_strdup(c->previous ? c->previous : "");
    fill(c, value);
    choose(c, value);
    g_free(value);
  } else if (id) {
    choose(c, id);
  }
  update_state(c);
}

static void set_busy(chooser *c, gboolean busy) {
  gtk_widget_set_sensitive(c->combo, !busy);
  gtk_widget_set_visible(c->progress_row, busy);
  gtk_dialog_set_response_sensitive(c->dialog, GTK_RESPONSE_OK, !busy);
}

/* The dialog draws the download's progress itself. (GIMP 3.0.4 refuses a plug-in's own progress vtable inside its
 * dialog, gimp_progress_install_vtable returning NULL, so a GimpProgressBar there stays empty; plain gimp_progress_*
 * would go to the image window behind the dialog, where GIMP's Cancel would kill the plug-in, dialog and all.) */
static void on_download_progress(const gchar *text, gdouble fraction, gpointer data) {
  chooser *c = data;
  gtk_progress_bar_set_text(GTK_PROGRESS_BAR(c->bar), text);
  gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(c->bar), fraction);
}

static void on_download_done(const gchar *name, const gchar *folder, const GError *error, gpointer data) {
  chooser *c = data;
  c->running = NULL;
  set_busy(c, FALSE);
  if (folder) {
    fill(c, name);
    choose(c, name);
    update_state(c);
    gchar *text = g_strdup_printf("Downloaded into %s", folder);
    gtk_label_set_text(GTK_LABEL(c->status), text);
    g_free(text);
  } else {
    fill(c, name); /* its entry now says "download unfinished" when something arrived */
    update_state(c);
    gtk_label_set_text(GTK_LABEL(c->status), error ? error->message : "Download failed");
  }
}

static void on_download(GtkButton *button, gpointer data) {
  (void)button;
  chooser *c = data;
  const gchar *id = gtk_combo_box_get_active_id(GTK_COMBO_BOX(c->combo));
  if (c->running || !id || !vmm_known_find(id))
    return;
  gtk_progress_bar_set_fraction(GTK_PROGRESS_BAR(c->bar), 0.0);
  set_busy(c, TRUE);
  gtk_label_set_text(GTK_LABEL(c->status), "");
  gchar *name = g_strdup(id);
  c->running = c->services->download_start(c->services->data, name, on_download_progress, c, on_download_done, c);
  g_free(name);
  update_state(c);
}

static void on_stop(GtkButton *button, gpointer data) {
  (void)button;
  chooser *c = data;
  if (c->running)
    c->services->download_cancel(c->running);
}

/* The GUI tests' hook (test_hook.h) plays the user here. */
void vmp_model_chooser_act(GtkWidget *widget, const gchar *action, const gchar *argument) {
  chooser *c = g_object_get_data(G_OBJECT(widget), "vmp-chooser");
  if (!c)
    return;
  if (strcmp(action, "download") == 0) {
    gtk_combo_box_set_active_id(GTK_COMBO_BOX(c->combo), argument);
    gtk_button_clicked(GTK_BUTTON(c->download));
  } else if (strcmp(action, "stop") == 0) {
    gtk_button_clicked(GTK_BUTTON(c->stop));
  } else if (strcmp(action, "choose") == 0) {
    gtk_combo_box_set_active_id(GTK_COMBO_BOX(c->combo), argument);
  }
}

const gchar *vmp_model_chooser_status(GtkWidget *widget) {
  chooser *c = g_object_get_data(G_OBJECT(widget), "vmp-chooser");
  return c ? gtk_label_get_text(GTK_LABEL(c->status)) : "";
}

static void on_destroy(GtkWidget *widget, gpointer data) {
  (void)widget;
  chooser *c = data;
  if (c->running)
    c->services->download_abandon(c->running); /* the dialog went away: stop, keep what arrived */
  free(c->models_dir);
  g_hash_table_destroy(c->complete);
  g_free(c->previous);
  g_free(c);
}

GtkWidget *vmp_model_chooser_new(GtkDialog *dialog, GimpProcedureConfig *config, const vmp_dialog_services *services,
                                 GtkSizeGroup *labels) {
  chooser *c = g_new0(chooser, 1);
  c->dialog = dialog;
  c->config = config;
  c->services = services;
  c->models_dir = vmm_models_dir(NULL);
  c->complete = g_hash_table_new(NULL, NULL);
  gchar *current = NULL;
  g_object_get(config, VMP_ARG_MODEL, &current, NULL);
  c->previous = g_strdup(current ? current : "");

  GtkWidget *box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 4);
  GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new_with_mnemonic("_Model");
  gtk_label_set_xalign(GTK_LABEL(label), 0.0);
  if (labels)
    gtk_size_group_add_widget(labels, label);
  c->combo = gtk_combo_box_text_new();
  gtk_label_set_mnemonic_widget(GTK_LABEL(label), c->combo);
  /* long entries ("... - not downloaded, about 350 MB", folders) are shortened rather than widening the dialog */
  GList *cells = gtk_cell_layout_get_cells(GTK_CELL_LAYOUT(c->combo));
  for (GList *cell = cells; cell; cell = cell->next)
    g_object_set(cell->data, "ellipsize", PANGO_ELLIPSIZE_END, "width-chars", 30, NULL);
  g_list_free(cells);
  gtk_widget_set_tooltip_text(c->combo, "The official ViTMatte checkpoints (downloaded or not), other models in the "
                                        "models folder, or a folder with config.json and model.safetensors");
  c->download = gtk_button_new_with_mnemonic("_Download");
  gtk_widget_set_tooltip_text(c->download, "Download the chosen official model from the Hugging Face hub (an "
                                           "interrupted download resumes; the file's SHA-256 is checked)");
  gtk_box_pack_start(GTK_BOX(row), label, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(row), c->combo, TRUE, TRUE, 0);
  gtk_box_pack_start(GTK_BOX(row), c->download, FALSE, FALSE, 0);

  c->progress_row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
  c->bar = gtk_progress_bar_new();
  gtk_progress_bar_set_show_text(GTK_PROGRESS_BAR(c->bar), TRUE);
  gtk_progress_bar_set_ellipsize(GTK_PROGRESS_BAR(c->bar), PANGO_ELLIPSIZE_END);
  gtk_widget_set_valign(c->bar, GTK_ALIGN_CENTER);
  gtk_box_pack_start(GTK_BOX(c->progress_row), c->bar, TRUE, TRUE, 0);
  c->stop = gtk_button_new_with_mnemonic("_Stop");
  gtk_widget_set_tooltip_text(c->stop, "Stop the download; what arrived is kept and Download resumes it");
  gtk_box_pack_end(GTK_BOX(c->progress_row), c->stop, FALSE, FALSE, 0);

  c->status = gtk_label_new("");
  gtk_label_set_xalign(GTK_LABEL(c->status), 0.0);
  gtk_label_set_line_wrap(GTK_LABEL(c->status), TRUE);
  gtk_label_set_max_width_chars(GTK_LABEL(c->status), 60);
  gtk_label_set_selectable(GTK_LABEL(c->status), TRUE);

  gtk_box_pack_start(GTK_BOX(box), row, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(box), c->progress_row, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(box), c->status, FALSE, FALSE, 0);
  gtk_widget_show_all(box);
  gtk_widget_hide(c->progress_row);
  gtk_widget_set_no_show_all(c->progress_row, TRUE);

  fill(c, current);
  g_free(current);
  update_state(c);
  g_signal_connect(c->combo, "changed", G_CALLBACK(on_changed), c);
  g_signal_connect(c->download, "clicked", G_CALLBACK(on_download), c);
  g_signal_connect(c->stop, "clicked", G_CALLBACK(on_stop), c);
  g_signal_connect(box, "destroy", G_CALLBACK(on_destroy), c);
  g_object_set_data(G_OBJECT(box), "vmp-chooser", c);
  return box;
}
