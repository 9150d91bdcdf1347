/* cmd_foreground.h - cut-outs: foreground colours estimated from an alpha, written with or without the alpha.
 * Owns: `vitmatte foreground IMAGE ALPHA -o OUT` and the cut-out file of `vitmatte ... --cutout CUTOUT`. */
#ifndef VITMATTE_CMD_FOREGROUND_H
#define VITMATTE_CMD_FOREGROUND_H

#include <signal.h>

#include "image_io.h"
#include "progress_bar.h"
#include "vitmatte.h"

/* The whole `foreground` command; argv[0] is "foreground". Returns the exit status, having said why. */
int foreground_command(int argc, char **argv, const volatile sig_atomic_t *interrupted);

/* Estimates the foreground colours of `image` from `alpha` (width x height floats) on `ctx` and writes them to
 * `path`: with the alpha as the last channel (a cut-out: RGBA, or gray + alpha) when `with_alpha`, else the colours
 * alone; PNG with `png_bits` per sample, or float TIFF. `bar` (the context's progress display) is cleared before
 * any message. Returns 0 or an exit status, having said why, or, when `failure` is not NULL, having put the reason
 * there (one line) instead. */
int cutout_write(vm_context *ctx, progress_bar *bar, const image_buffer *image, const float *alpha,
                 vm_foreground_method method, const char *path, alpha_format format, int png_bits, int with_alpha,
                 char *failure, size_t failure_size);

#endif
