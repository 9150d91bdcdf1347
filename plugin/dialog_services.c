/* dialog_services.c - what the dialog (ui/) asks of the plug-in: the model a run would use, downloads, previews.
 * Owns: filling vmp_dialog_services (ui/matte_dialog.h) with the plug-in's own functions, so the dialog needs
 * nothing of the plug-in but that interface and the argument names. */
#include "dialog_services.h"

#include <string.h>

#include "engine_session.h"
#include "model_download.h"
#include "model_location.h"
#include "preview.h"
#include "vitmatte_models.h"

/* "ViTMatte-S (small)" when `path` is an official model's folder, else NULL. By the folder's name only: a folder
 * called "small" is not the official checkpoint. */
static const vmm_known_model *official_at(const gchar *path) {
  gchar *leaf = g_path_get_basename(path);
  const vmm_known_model *found = vmm_known_find(leaf);
  if (found && strcmp(found->name, leaf) == 0)
    found = NULL;
  g_free(leaf);
  return found;
}

static gchar *model_line(gpointer data, const gchar *model) {
  (void)data;
  GError *error = NULL;
  gchar *path = vmp_resolve_model_path(model, &error);
  gchar *line = NULL;
  if (!path && (!model || !*model)) {
    line = g_strdup("No model installed yet: choose ViTMatte-S (small) above and press Download (about 100 MB), "
                    "or run 'vitmatte download small', or choose A folder... with config.json and model.safetensors.");
  } else if (!path) {
    line = g_strdup(error->message);
  } else if (!vmp_model_path_is_usable(path)) {
    line = g_strdup_printf("No model at %s: a model is a folder with config.json and model.safetensors.", path);
  } else {
    const vmm_known_model *known = official_at(path);
    line = known ? g_strdup_printf("A run uses %s (%s): %s", known->title, known->name, path)
                 : g_strdup_printf("A run uses the model in %s", path);
  }
  g_clear_error(&error);
  g_free(path);
  return line;
}

static vmp_dialog_download *download_start(gpointer data, const gchar *name, vmp_dialog_download_show_fn show,
                                           gpointer show_data, vmp_dialog_download_done_fn done, gpointer done_data) {
  (void)data;
  return (vmp_dialog_download *)vmp_download_start(name, show, show_data, done, done_data);
}

static void download_cancel(vmp_dialog_download *download) { vmp_download_cancel((vmp_download *)download); }

static void download_abandon(vmp_dialog_download *download) { vmp_download_abandon((vmp_download *)download); }

static void preview_request(gpointer data, GimpProcedureConfig *config, vmp_preview_done_fn done, gpointer done_data) {
  vmp_preview_request(data, config, done, done_data);
}

static void preview_stop(gpointer data) { vmp_preview_stop(data); }

void vmp_dialog_services_init(vmp_dialog_services *services, vmp_preview *preview) {
  memset(services, 0, sizeof *services);
  services->data = preview;
  services->preview_request = preview_request;
  services->preview_stop = preview_stop;
  services->model_line = model_line;
  services->download_start = download_start;
  services->download_cancel = download_cancel;
  services->download_abandon = download_abandon;
}
