/* vitmatte_plugin.c - the GIMP 3 plug-in vitmatte-gimp, in the shape of GIMP's own (the files of plug-ins/common): the
 * GimpPlugIn subclass and its two procedures, plug-in-vitmatte under Filters > Matting and plug-in-vitmatte-download.
 * Owns: each procedure's menu entry, documentation, sensitivity and arguments (their names: vitmatte_args.h); what a
 * run does is matte_run.c's, the download model_download.c's. */
#include <libgimp/gimp.h>

#include "matte_run.h"
#include "model_download.h"
#include "vitmatte.h" /* VM_VERSION_STRING, shown in the blurb */
#include "vitmatte_args.h"

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
  "included, from a trimap: a rough map of what is certain. It writes the alpha as the layer's mask, as a new layer "  \
  "with that mask, or as the selection. The model (a Hugging Face ViTMatte checkpoint: config.json + "                 \
  "model.safetensors) runs inside the plug-in, on the CPU or an NVIDIA GPU.\n\n"                                       \
  "WHAT A TRIMAP IS\n"                                                                                                 \
  "Three kinds of pixels: white where the pixel certainly belongs to the subject (foreground), black where it "        \
  "certainly does not (background), and grey over the band where that is uncertain: the outline, hair, fur, motion "   \
  "blur, glass. The model decides the grey band, so make it cover every uncertain pixel, and keep it as narrow as "    \
  "that allows: the wider the band, the more the model has to guess.\n\n"                                              \
  "HOW TO MAKE ONE (Trimap from)\n"                                                                                    \
  "- Trimap channel: in the Channels dialog make a new channel filled with black and name it \"trimap\" (or keep it "  \
  "selected when you start ViTMatte). Paint the inside of the subject white, then paint over its outline with a "      \
  "grey brush, wide enough to cover the hair. Any grey between 10% and 90% counts as unknown, so soft brushes are "    \
  "fine.\n"                                                                                                            \
  "- Band around the selection: select the subject roughly (Free Select, Fuzzy Select, Foreground Select); the band "  \
  "width on each side of the selection's edge becomes unknown.\n"                                                      \
  "- Band around the layer mask, or around the layer's alpha: a rough mask you already have (a quick mask turned "     \
  "into a layer mask, a rough cut-out). Its soft parts and the band width on each side of its edge become unknown; "   \
  "the mask outputs replace the rough mask.\n\n"                                                                       \
  "OPTIONS\n"                                                                                                          \
  "- Trimap channel, Trimap channel name: which channel is the trimap (none chosen: the selected channel, else the "   \
  "one with that name).\n"                                                                                             \
  "- Band width: pixels on each side of the edge the model decides, for the band sources. 5 to 20 px for crisp "       \
  "outlines, 30 to 60 px for hair and fur.\n"                                                                          \
  "- Model: a downloaded official model (ViTMatte-S is small and fast, ViTMatte-B more accurate; Download gets one), " \
  "or a folder with config.json and model.safetensors. The line below it says which model a run uses.\n"               \
  "- Device: Automatic uses an NVIDIA GPU when the CUDA module and a usable GPU are there, else the CPU. Precision: "  \
  "Automatic is fp32 on the CPU and fp16 on the GPU. CPU threads: 0 uses one per core.\n"                              \
  "- Output: Layer mask; Layer mask + decontaminated colours (the layer's colours in the edge band replaced by the "   \
  "estimated foreground colours, so no fringe of the old background shows); New layer with the mask (with "            \
  "Decontaminate colours: the copy gets those colours and the original is hidden); Selection. Replace an existing "    \
  "mask: otherwise a layer that has a mask is refused. Amount: how much of the estimated colour replaces the "         \
  "original.\n"                                                                                                        \
  "- Preview: shows the result of the current settings, computed in the background (a downscaled copy on the CPU, "    \
  "the full layer on a GPU). Show: Overlay (what is not foreground tinted red, as GIMP's quick mask), On black, On "   \
  "white, On checkerboard, Alpha, Trimap (check the band), Cut-out (the decontaminated colours). OK always computes "  \
  "the full layer.\n\n"                                                                                                \
  "Everything is computed before the image changes, and the result is one undo step (Edit > Undo)."

/* ---- plug-in-vitmatte's arguments: the signature GIMP, Script-Fu and the dialog see ------------------------- */

static void add_matte_arguments(GimpProcedure *procedure) {
  GimpProcedure *p = procedure;

  gimp_procedure_add_choice_argument(
      p, VMP_ARG_TRIMAP_SOURCE, "Trimap _from",
      "Where the trimap comes from: a channel, or a band around the edge of the selection, of the layer's mask or "
      "of the layer's alpha",
      gimp_choice_new_with_values(
          "channel", VMP_SOURCE_CHANNEL, "Trimap channel",
          "A channel: white = foreground, black = background, anything between = unknown", "selection",
          VMP_SOURCE_SELECTION, "Band around the selection",
          "The selection's edge, widened by the band width on each side, is unknown", "layer-mask",
          VMP_SOURCE_LAYER_MASK, "Band around the layer mask",
          "A rough layer mask: its soft parts (between 1% and 99%) and the band width on each side of its edge are "
          "unknown; the mask outputs replace it",
          "layer-alpha", VMP_SOURCE_LAYER_ALPHA, "Band around the layer's alpha",
          "A rough cut-out: the layer's alpha, its soft parts and the band width on each side of its edge unknown",
          NULL),
      "channel", G_PARAM_READWRITE);

  gimp_procedure_add_channel_argument(
      p, VMP_ARG_TRIMAP_CHANNEL, "Trimap c_hannel",
      "The trimap channel (values <= 10% are background, >= 90% foreground, the rest unknown). "
      "When none is given: the channel that is selected when ViTMatte starts, else the one named by "
      "trimap-channel-name.",
      TRUE, G_PARAM_READWRITE);

  gimp_procedure_add_string_argument(p, VMP_ARG_TRIMAP_CHANNEL_NAME, "Trimap channel _name",
                                     "Name of the trimap channel (case-insensitive) when trimap-channel is not given",
                                     "trimap", G_PARAM_READWRITE);

  gimp_procedure_add_int_argument(
      p, VMP_ARG_BAND_WIDTH, "_Band width",
      "Width in pixels of the unknown band on each side of the edge of the selection, layer mask or alpha", 1,
      VMP_BAND_WIDTH_MAX, 10, G_PARAM_READWRITE);

  /* A string, not a file argument: GIMP's own check of file arguments rejects a missing folder with a bare
   * "out of range" before the plug-in runs, and a folder action would refuse a .safetensors path. As a string,
   * Script-Fu passes "/path/to/model" and every problem gets a message that says what is wrong. The dialog shows
   * a choice of the installed and official models instead, whose "A folder..." entry opens a folder chooser. */
  gimp_procedure_add_string_argument(
      p, VMP_ARG_MODEL, "_Model",
      "A downloaded model's name (small, base, small-646, base-646: see plug-in-vitmatte-download), or a folder with "
      "config.json and model.safetensors (a Hugging Face ViTMatte checkpoint), or the .safetensors file; a leading ~/ "
      "means the home folder. Empty: $VITMATTE_MODEL, else the 'model' folder next to the plug-in, else "
      "vitmatte-small-composition-1k in the models folder ($VITMATTE_MODELS, else ~/.cache/vitmatte)",
      "", G_PARAM_READWRITE);

  gimp_procedure_add_choice_argument(
      p, VMP_ARG_DEVICE, "_Device", "Where the model runs",
      gimp_choice_new_with_values("auto", VMP_DEV_AUTO, "Automatic", "The GPU when one can be used, else the CPU",
                                  "cpu", VMP_DEV_CPU, "CPU", NULL, "gpu", VMP_DEV_GPU, "NVIDIA GPU (CUDA)", NULL, NULL),
      "auto", G_PARAM_READWRITE);

  gimp_procedure_add_choice_argument(
      p, VMP_ARG_PRECISION, "_Precision", "Arithmetic precision (half precision needs the GPU)",
      gimp_choice_new_with_values("auto", VMP_PREC_AUTO, "Automatic", "fp32 on the CPU, fp16 on the GPU", "fp32",
                                  VMP_PREC_FP32, "32-bit float", NULL, "fp16", VMP_PREC_FP16, "16-bit float (GPU)",
                                  NULL, "bf16", VMP_PREC_BF16, "bfloat16 (GPU)", NULL, NULL),
      "auto", G_PARAM_READWRITE);

  gimp_procedure_add_choice_argument(
      p, VMP_ARG_OUTPUT, "O_utput", "What receives the alpha",
      gimp_choice_new_with_values(
          "layer-mask", VMP_OUTPUT_LAYER_MASK, "Layer mask", "The layer's mask", "layer-mask-decontaminated",
          VMP_OUTPUT_LAYER_MASK_DECONTAMINATED, "Layer mask + decontaminated colours",
          "The layer's mask, and the layer's colours in the unknown band replaced by the estimated foreground "
          "colours (by the decontamination amount; the layer is replaced by a copy with the same name, position "
          "and properties)",
          "new-layer", VMP_OUTPUT_NEW_LAYER, "New layer with the mask",
          "A copy of the layer, above it, with the alpha as its mask; with Decontaminate colours its colours are "
          "decontaminated and the original layer is hidden",
          "selection", VMP_OUTPUT_SELECTION, "Selection", "Replaces the selection", NULL),
      "layer-mask", G_PARAM_READWRITE);

  gimp_procedure_add_boolean_argument(p, VMP_ARG_REPLACE_MASK, "Replace an e_xisting mask",
                                      "When the layer already has a mask: replace it (TRUE) or stop with an error",
                                      FALSE, G_PARAM_READWRITE);

  gimp_procedure_add_boolean_argument(
      p, VMP_ARG_DECONTAMINATE, "D_econtaminate colours",
      "For the new-layer output: give the copy the estimated foreground colours in the unknown band (no fringe of "
      "the old background; Germer et al. 2020) and hide the original layer. The output "
      "layer-mask-decontaminated always decontaminates. Colours are estimated in the layer's own encoding: "
      "perceptual (gamma-encoded) values in perceptual images, linear values in linear images",
      FALSE, G_PARAM_READWRITE);

  gimp_procedure_add_double_argument(
      p, VMP_ARG_DECONTAMINATE_AMOUNT, "_Amount",
      "How much of the estimated foreground colour replaces the original in the unknown band, in percent "
      "(100: all of it)",
      0.0, 100.0, 100.0, G_PARAM_READWRITE);

  /* Last, so callers that pass the arguments in order keep working. */
  gimp_procedure_add_int_argument(p, VMP_ARG_CPU_THREADS, "CPU _threads",
                                  "Threads the model uses on the CPU (0: one per core)", 0, VMP_CPU_THREADS_MAX, 0,
                                  G_PARAM_READWRITE);

  gimp_procedure_add_boolean_aux_argument(p, VMP_ARG_PREVIEW, "Pre_view",
                                          "Show the result of these settings in the dialog, computed in the background",
                                          TRUE, G_PARAM_READWRITE);
  gimp_procedure_add_choice_aux_argument(
      p, VMP_ARG_PREVIEW_MODE, "Sho_w", "What the preview shows",
      gimp_choice_new_with_values(
          "overlay", VMP_VIEW_OVERLAY, "Overlay", "The picture; what is not foreground tinted red (as a quick mask)",
          "on-black", VMP_VIEW_ON_BLACK, "On black", NULL, "on-white", VMP_VIEW_ON_WHITE, "On white", NULL,
          "on-checkerboard", VMP_VIEW_ON_CHECKS, "On checkerboard", NULL, "alpha", VMP_VIEW_ALPHA, "Alpha",
          "The alpha as grey: white opaque, black transparent", "trimap", VMP_VIEW_TRIMAP, "Trimap",
          "The trimap the settings give: white foreground, grey unknown, black background", "cutout", VMP_VIEW_CUTOUT,
          "Cut-out (decontaminated)",
          "The estimated foreground colours (blended by the amount) with the alpha, on the checkerboard", NULL),
      "overlay", G_PARAM_READWRITE);

  gimp_procedure_add_drawable_return_value(p, VMP_RET_RESULT, "Result",
                                           "The layer mask, the new layer or the selection that holds the alpha", TRUE,
                                           G_PARAM_READWRITE);
}

/* ---- plug-in-vitmatte-download: the dialog's Download for scripts ------------------------------------------- */

static GimpValueArray *download_run(GimpProcedure *procedure, GimpProcedureConfig *config, gpointer run_data) {
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

static GimpProcedure *download_procedure_new(GimpPlugIn *plug_in) {
  GimpProcedure *p =
      gimp_procedure_new(plug_in, VMP_DOWNLOAD_PROC_NAME, GIMP_PDB_PROC_TYPE_PLUGIN, download_run, NULL, NULL);
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

/* ---- the plug-in ---------------------------------------------------------------------------------------------- */

static GList *vmp_plugin_query_procedures(GimpPlugIn *plug_in) {
  (void)plug_in;
  return g_list_append(g_list_append(NULL, g_strdup(VMP_PROC_NAME)), g_strdup(VMP_DOWNLOAD_PROC_NAME));
}

static GimpProcedure *vmp_plugin_create_procedure(GimpPlugIn *plug_in, const gchar *name) {
  if (g_strcmp0(name, VMP_DOWNLOAD_PROC_NAME) == 0)
    return download_procedure_new(plug_in);
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
  add_matte_arguments(p);
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
