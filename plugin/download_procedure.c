/* download_procedure.c - plug-in-vitmatte-download: the PDB procedure that downloads an official ViTMatte model.
 * Owns: its signature and its run: the dialog's download function (model_download.h), waited for. */
#include "download_procedure.h"

#include "model_download.h"

static GimpValueArray *run(GimpProcedure *procedure, GimpProcedureConfig *config, gpointer run_data) {
  (void)run_data;
  gchar *name = NULL;
  g_object_get(config, VMP_DOWNLOAD_ARG_MODEL, &name, NULL);
  GError *error = NULL;
  gchar *folder = vmp_download_wait(name && *name ? name : "small", &error);
  g_free(name);
  if (!folder) {
    const GimpPDBStatusType status =
        g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ? GIMP_PDB_CANCEL : GIMP_PDB_EXECUTION_ERROR;
    return gimp_procedure_new_return_values(procedure, status, error);
  }
  (void)gimp_progress_end();
  GimpValueArray *ret = gimp_procedure_new_return_values(procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_TAKE_STRING(ret, 1, folder);
  return ret;
}

GimpProcedure *vmp_download_procedure_new(GimpPlugIn *plug_in) {
  GimpProcedure *p = gimp_procedure_new(plug_in, VMP_DOWNLOAD_PROC_NAME, GIMP_PDB_PROC_TYPE_PLUGIN, run, NULL, NULL);
  gimp_procedure_set_documentation(
      p, "Download an official ViTMatte model for plug-in-vitmatte",
      "Downloads config.json and model.safetensors of a ViTMatte checkpoint from the Hugging Face hub ($HF_ENDPOINT "
      "for a mirror) into the models folder ($VITMATTE_MODELS, else ~/.cache/vitmatte), resuming an interrupted "
      "download and checking the SHA-256, and returns the model's folder. Afterwards plug-in-vitmatte takes the "
      "same name as its model argument. Does nothing when the model is already complete.",
      VMP_DOWNLOAD_PROC_NAME);
  gimp_procedure_set_attribution(p, "vitmatte-gimp authors", "vitmatte-gimp authors (MIT)", "2026");
  gimp_procedure_add_enum_argument(p, "run-mode", "Run mode", "The run mode", GIMP_TYPE_RUN_MODE,
                                   GIMP_RUN_NONINTERACTIVE, G_PARAM_READWRITE);
  gimp_procedure_add_string_argument(p, VMP_DOWNLOAD_ARG_MODEL, "_Model",
                                     "small, base, small-646, base-646 (ViTMatte-S/B trained on Composition-1k or "
                                     "Distinctions-646), or a hub repository OWNER/NAME",
                                     "small", G_PARAM_READWRITE);
  gimp_procedure_add_string_return_value(p, VMP_DOWNLOAD_RET_FOLDER, "Folder", "The model's folder", NULL,
                                         G_PARAM_READWRITE);
  return p;
}
