/* cmd_batch.h - folders: `vitmatte --model M --trimaps TRIMAP_DIR IMAGE_DIR|IMAGE... -o OUT_DIR [--cutout DIR]`.
 * Owns: matting many pictures with one model, going on past the ones that fail, and reporting those at the end. */
#ifndef VITMATTE_CMD_BATCH_H
#define VITMATTE_CMD_BATCH_H

#include <signal.h>

#include "cli_options.h"

/* Runs folder mode for parsed `options` (trimap_dir set; model_path already resolved to a path). Every picture of
 * the folders given (.png .jpg .jpeg .tif .tiff, any case) and every picture named is matted with the trimap of
 * the same name in trimap_dir into output_path/NAME.png (or .tif with --format tif), its cut-out into
 * cutout_path/NAME.* when asked. Returns 0 when every picture was matted, 1 when any failed (they are listed), 2
 * when the model cannot be loaded, 3 when no context can be made on the device, 130 when cancelled. */
int batch_run(const cli_options *options, const volatile sig_atomic_t *interrupted);

#endif
