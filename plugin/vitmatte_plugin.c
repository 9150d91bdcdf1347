/* vitmatte_plugin.c - the GIMP 3 plug-in object: registers plug-in-vitmatte under Filters > Matting.
 * Owns: the GimpPlugIn subclass, the procedure's menu entry, documentation and sensitivity. */
#include <libgimp/gimp.h>

#include "download_procedure.h"
#include "matte_procedure.h"
#include "matte_run.h"
#include "vitmatte.h" /* VM_VERSION_STRING, shown in the blurb */

#define VMP_TYPE_PLUGIN (vmp_plugin_get_type())
G_DECLARE_FINAL_TYPE(VmpPlugin, vmp_plugin, VMP, PLUGIN, GimpPlugIn)

struct _VmpPlugin {
  GimpPlugIn parent_instance;
};

G_DEFINE_TYPE(VmpPlugin, vmp_plugin, GIMP_TYPE_PLUG_IN)

static GList *vmp_plugin_query_procedures(GimpPlugIn *plug_in) {
  (void)plug_in;
  return g_list_append(g_list_append(NULL, g_strdup(VMP_PROC_NAME)), g_strdup(VMP_DOWNLOAD_PROC_NAME));
}

static GimpProcedure *vmp_plugin_create_procedure(GimpPlugIn *plug_in, const gchar *name) {
  if (g_strcmp0(name, VMP_DOWNLOAD_PROC_NAME) == 0)
    return vmp_download_procedure_new(plug_in);
  if (g_strcmp0(name, VMP_PROC_NAME) != 0)
    return NULL;
  GimpProcedure *p = gimp_image_procedure_new(plug_in, name, GIMP_PDB_PROC_TYPE_PLUGIN, vmp_matte_run, NULL, NULL);
  /* All image types, so indexed images get a clear message instead of a greyed-out menu entry. */
  gimp_procedure_set_image_types(p, "*");
  gimp_procedure_set_sensitivity_mask(p, GIMP_PROCEDURE_SENSITIVE_DRAWABLE);
  gimp_procedure_set_menu_label(p, VMP_MENU_LABEL);
  gimp_procedure_add_menu_path(p, VMP_MENU_PATH);
  gimp_procedure_set_documentation(
      p, "Alpha matting with ViTMatte: a layer mask from a rough trimap (vitmatte-gimp " VM_VERSION_STRING ")",
      "Predicts the alpha of the selected layer with the ViTMatte model, from a trimap channel (white = foreground, "
      "black = background, grey = unknown) or a band around the selection, and writes it as the layer's mask, as a "
      "new layer with that mask, or as the selection. The model (a Hugging Face ViTMatte checkpoint: config.json + "
      "model.safetensors) runs in the plug-in, on the CPU or an NVIDIA GPU.",
      name);
  gimp_procedure_set_attribution(p, "vitmatte-gimp authors", "vitmatte-gimp authors (MIT)", "2025");
  vmp_matte_procedure_add_arguments(p);
  return p;
}

static void vmp_plugin_class_init(VmpPluginClass *klass) {
  GimpPlugInClass *plug_in_class = GIMP_PLUG_IN_CLASS(klass);
  plug_in_class->query_procedures = vmp_plugin_query_procedures;
  plug_in_class->create_procedure = vmp_plugin_create_procedure;
  plug_in_class->set_i18n = NULL; /* no translations shipped */
}

static void vmp_plugin_init(VmpPlugin *self) { (void)self; }

GIMP_MAIN(VMP_TYPE_PLUGIN)
