/* preprocess.h - VitMatteImageProcessor's arithmetic: the image and trimap to the padded model input and back.
 * Owns: input validation of vm_image views, normalisation, padding, and cropping the alpha. */
#ifndef VM_PREPROCESS_H
#define VM_PREPROCESS_H

#include <stdbool.h>

#include "vitmatte.h"

/* The processor pads each side to a multiple of this. */
#define VM_PAD_MULTIPLE 32

/* Checks a view: non-NULL data, positive size, allowed channel count (`trimap`: 1; colour: 1 to 4), known type,
 * row stride at least one row. `what` names it in the message ("image", "trimap"). */
vm_status vm_image_check(const vm_image *im, int is_trimap, const char *what, vm_error *err);

/* px[Hp, Wp, 4] (NHWC): R,G,B as (p/255 - 0.5)/0.5 (computed as (p - 127.5)/127.5 in fp32 like the torchvision
 * backend), trimap as p/255 unchanged, zero at the bottom/right padding. Gray colour images are replicated.
 * Rows are spread over `threads` OpenMP threads (<= 0: all); the result does not depend on the count. */
void vm_preprocess(const vm_image *rgb, const vm_image *trimap, int Hp, int Wp, float *px, int threads);

/* Whether the first `width` values of each of `height` rows (row_stride floats apart) are finite: a half-precision
 * overflow inside the model shows up as inf/NaN in the alpha. */
bool vm_alpha_finite(const float *alpha, int row_stride, int width, int height, int threads);

#endif
