/* preview.h - the dialog's preview, computed: what the current settings give, in the background.
 * Owns: the plug-in's side of the preview services of ui/matte_dialog.h. */
#ifndef VMP_PREVIEW_H
#define VMP_PREVIEW_H

#include <libgimp/gimp.h>

#include "matte_dialog.h"

/* On the CPU a layer of more pixels than this is previewed as a downscaled copy of about this many (a 640 x 480
 * ViTMatte-S run takes about a second on two cores); on a GPU the preview is the whole layer. */
#define VMP_PREVIEW_CPU_PIXELS (640 * 480)

typedef struct vmp_preview vmp_preview;

/* A preview of `layer` of `image`; `selected_channel` (may be NULL) is the channel selected when ViTMatte started. */
vmp_preview *vmp_preview_new(GimpImage *image, GimpLayer *layer, GimpChannel *selected_channel);

/* Computes the result of `config`'s settings: the layer and its trimap are read here (main thread) at full size, or
 * as GIMP's own downscaled thumbnails on the CPU; the model and, when the Cut-out view is shown (preview-mode), the
 * foreground colours run in a worker thread, on a model and context kept from the last request while the model,
 * device, precision and threads stay the same. A request while another runs cancels that one; `done` comes once,
 * for the last request. */
void vmp_preview_request(vmp_preview *preview, GimpProcedureConfig *config, vmp_preview_done_fn done,
                         gpointer done_data);

/* Cancels a computation in progress and waits for it to end; no `done` comes afterwards. */
void vmp_preview_stop(vmp_preview *preview);

/* Stops and frees the preview, the model and the context. */
void vmp_preview_free(vmp_preview *preview);

#endif
