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

/* The procedure's help: the Procedure Browser shows it, and the dialog's Help button (GIMP's manual has no page for
 * a plug-in of its own). What a trimap is, how to make one, what each option does. */
#define VMP_HELP_TEXT                                                                                                  \
  "ViTMatte computes the alpha (the transparency) of the selected layer's subject, hair, fur and soft edges "          \
  "included, from a trimap: a rough map of what is certain. It writes the alpha as the layer's mask, as a new layer " \
  "with that mask, or as the selection. The model (a Hugging Face ViTMatte checkpoint: config.json + "                 \
  "model.safetensors) runs inside the plug-in, on the CPU or an NVIDIA GPU.\n\n"                                       \
  "WHAT A TRIMAP IS\n"                                                                                                 \
  "Three kinds of pixels: white where the pixel certainly belongs to the subject (foreground), black where it "        \
  "certainly does not (background), and grey over the band where that is uncertain: the outline, hair, fur, motion "   \
  "blur, glass. The model decides the grey band, so make it cover every uncertain pixel, and keep it as narrow as "    \
  "that allows: the wider the band, the more the model has to guess.\n\n"                                             \
  "HOW TO MAKE ONE (Trimap from)\n"                                                                                    \
  "- Trimap channel: in the Channels dialog make a new channel filled with black and name it \"trimap\" (or keep it "  \
  "selected when you start ViTMatte). Paint the inside of the subject white, then paint over its outline with a "     \
  "grey brush, wide enough to cover the hair. Any grey between 10% and 90% counts as unknown, so soft brushes are "    \
  "fine.\n"                                                                                                            \
  "- Band around the selection: select the subject roughly (Free Select, Fuzzy Select, Foreground Select); the band "  \
  "width on each side of the selection's edge becomes unknown.\n"                                                      \
  "- Band around the layer mask, or around the layer's alpha: a rough mask you already have (a quick mask turned "     \
  "into a layer mask, a rough cut-out). Its soft parts and the band width on each side of its edge become unknown; "  \
  "the mask outputs replace the rough mask.\n\n"                                                                       \
  "OPTIONS\n"                                                                                                          \
  "- Trimap channel, Trimap channel name: which channel is the trimap (none chosen: the selected channel, else the "   \
  "one with that name).\n"                                                                                             \
  "- Band width: pixels on each side of the edge the model decides, for the band sources. 5 to 20 px for crisp "      \
  "outlines, 30 to 60 px for hair and fur.\n"                                                                          \
  "- Model: a downloaded official model (ViTMatte-S is small and fast, ViTMatte-B more accurate; Download gets one), " \
  "or a folder with config.json and model.safetensors. The line below it says which model a run uses.\n"              \
  "- Device: Automatic uses an NVIDIA GPU when the CUDA module and a usable GPU are there, else the CPU. Precision: "   \
  "Automatic is fp32 on the CPU and fp16 on the GPU. CPU threads: 0 uses one per core.\n"                              \
  "- Output: Layer mask; Layer mask + decontaminated colours (the layer's colours in the edge band replaced by the "   \
  "estimated foreground colours, so no fringe of the old background shows); New layer with the mask (with "           \
  "Decontaminate colours: the copy gets those colours and the original is hidden); Selection. Replace an existing "   \
  "mask: otherwise a layer that has a mask is refused. Amount: how much of the estimated colour replaces the "         \
  "original.\n"                                                                                                        \
  "- Preview: shows the result of the current settings, computed in the background (a downscaled copy on the CPU, "    \
  "the full layer on a GPU). Show: Overlay (what is not foreground tinted red, as GIMP's quick mask), On black, On "   \
  "white, On checkerboard, Alpha, Trimap (check the band), Cut-out (the decontaminated colours). OK always computes "  \
  "the full layer.\n\n"                                                                                                \
  "Everything is computed before the image changes, and the result is one undo step (Edit > Undo)."

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
      VMP_HELP_TEXT, name);
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
