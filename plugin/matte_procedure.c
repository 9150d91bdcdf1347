/* matte_procedure.c - the PDB face of the plug-in: every argument with its type, range, default and help.
 * Owns: the procedure's signature as GIMP, Script-Fu and the dialog see it. */
#include "matte_procedure.h"

void vmp_matte_procedure_add_arguments(GimpProcedure *procedure) {
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
   * Script-Fu passes "/path/to/model" and every problem gets a message that says what is wrong. The dialog adds
   * a folder chooser button that fills it in. */
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
