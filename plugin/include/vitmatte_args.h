/* vitmatte_args.h - the names the plug-in's procedures, the dialog (ui/) and Script-Fu callers agree on: procedure
 * and argument names, choice values, ranges, and the alpha bounds of the band that decontamination changes. Owns
 * nothing else: it is the one plug-in header ui/ includes.
 * (Changing a name breaks saved scripts.) */
#ifndef VMP_VITMATTE_ARGS_H
#define VMP_VITMATTE_ARGS_H

#define VMP_PROC_NAME "plug-in-vitmatte"
#define VMP_BINARY_NAME "vitmatte-gimp"
#define VMP_MENU_LABEL "_ViTMatte..."
#define VMP_MENU_PATH "<Image>/Filters/Matting"

/* Argument names, as Script-Fu spells them (#:trimap-source "channel" ...). */
#define VMP_ARG_TRIMAP_SOURCE "trimap-source"
#define VMP_ARG_TRIMAP_CHANNEL "trimap-channel"
#define VMP_ARG_TRIMAP_CHANNEL_NAME "trimap-channel-name"
#define VMP_ARG_BAND_WIDTH "band-width"
#define VMP_ARG_MODEL "model"
#define VMP_ARG_DEVICE "device"
#define VMP_ARG_PRECISION "precision"
#define VMP_ARG_OUTPUT "output"
#define VMP_ARG_REPLACE_MASK "replace-mask"
#define VMP_ARG_DECONTAMINATE "decontaminate"
#define VMP_ARG_DECONTAMINATE_AMOUNT "decontaminate-amount"
#define VMP_ARG_CPU_THREADS "cpu-threads"
#define VMP_RET_RESULT "result"

/* plug-in-vitmatte-download */
#define VMP_DOWNLOAD_PROC_NAME "plug-in-vitmatte-download"
#define VMP_DOWNLOAD_ARG_MODEL "model"
#define VMP_DOWNLOAD_RET_FOLDER "folder"
/* Auxiliary arguments: remembered with the others, but not part of the PDB signature (the dialog's own state). */
#define VMP_ARG_PREVIEW "preview"
#define VMP_ARG_PREVIEW_MODE "preview-mode"

#define VMP_BAND_WIDTH_MAX 1000
#define VMP_BAND_WIDTH_SLIDER_MAX 80 /* the dialog's slider spans 1..80 (typed values go up to the maximum) */
#define VMP_CPU_THREADS_MAX 256

/* Decontaminated colours (and the preview's Cut-out view) change a pixel only in the unknown band: where its alpha
 * would be neither 0 nor 255 in 8 bits. */
#define VMP_BAND_LOW (0.5f / 255.0f)
#define VMP_BAND_HIGH (1.0f - 0.5f / 255.0f)

typedef enum {
  VMP_SOURCE_CHANNEL,
  VMP_SOURCE_SELECTION,
  VMP_SOURCE_LAYER_MASK, /* a rough mask: the layer's mask, widened into a band (trimap.h) */
  VMP_SOURCE_LAYER_ALPHA /* a rough mask: the layer's alpha channel */
} vmp_trimap_source;
typedef enum {
  VMP_OUTPUT_LAYER_MASK,
  VMP_OUTPUT_NEW_LAYER,
  VMP_OUTPUT_SELECTION,
  VMP_OUTPUT_LAYER_MASK_DECONTAMINATED /* the mask, and the layer's colours decontaminated (decontaminate.h) */
} vmp_output_kind;
typedef enum { VMP_DEV_AUTO, VMP_DEV_CPU, VMP_DEV_GPU } vmp_device_choice;
typedef enum { VMP_PREC_AUTO, VMP_PREC_FP32, VMP_PREC_FP16, VMP_PREC_BF16 } vmp_precision_choice;
/* What the dialog's preview shows (ui/matte_preview.c draws them). */
typedef enum {
  VMP_VIEW_OVERLAY, /* the picture, what is not foreground tinted red as GIMP's quick mask tints it */
  VMP_VIEW_ON_BLACK,
  VMP_VIEW_ON_WHITE,
  VMP_VIEW_ON_CHECKS, /* on GIMP's checkerboard */
  VMP_VIEW_ALPHA,
  VMP_VIEW_TRIMAP,
  VMP_VIEW_CUTOUT /* the decontaminated colours (by the amount) on the checkerboard */
} vmp_view_mode;

#endif
