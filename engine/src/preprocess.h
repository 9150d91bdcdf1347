/* preprocess.h - VitMatteImageProcessor's arithmetic: the image and trimap to the padded model input and back.
 * Owns: input validation of vm_image views, reading their rows and samples, normalisation, padding, and cropping
 * the alpha. */
#ifndef VM_PREPROCESS_H
#define VM_PREPROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "vitmatte.h"

/* The processor pads each side to a multiple of this. */
#define VM_PAD_MULTIPLE 32

/* Bytes of one sample of a pixel type. */
static inline size_t vm_sample_size(vm_pixel_type t) { return t == VM_PIXEL_U8 ? 1 : (t == VM_PIXEL_U16 ? 2 : 4); }

/* Row y of a view (checked by vm_image_check): row_stride apart, or packed rows when it is 0. */
static inline const unsigned char *vm_image_row(const vm_image *im, int y) {
  const size_t row = im->row_stride ? im->row_stride : (size_t)im->width * im->channels * vm_sample_size(im->type);
  return (const unsigned char *)im->data + row * (size_t)y;
}

/* Sample i of a row as float32 0..1, as the processor reads a trimap: p / 255 and p / 65535 computed in float32 (as
 * NumPy's p.astype(float32) / float32(255)), floats as they are. Inline: the per-sample loops of the
 * pre-processing and the foreground estimation call it for every sample. */
static inline float vm_sample_unit(const unsigned char *row, size_t i, vm_pixel_type t) {
  switch (t) {
  case VM_PIXEL_U8: return (float)row[i] / 255.0f;
  case VM_PIXEL_U16: {
    uint16_t v;
    memcpy(&v, row + 2 * i, 2);
    return (float)v / 65535.0f;
  }
  default: {
    float v;
    memcpy(&v, row + 4 * i, 4);
    return v;
  }
  }
}

/* Checks a view: non-NULL data, positive size, allowed channel count (`trimap`: 1; colour: 1 to 4), known type,
 * row stride at least one row. `what` names it in the message ("image", "trimap"). */
vm_status vm_image_check(const vm_image *im, int is_trimap, const char *what, vm_error *err);

/* px[Hp, Wp, 4] (NHWC): R,G,B as (p/255 - 0.5)/0.5 (computed as (p - 127.5)/127.5 in fp32 like the torchvision
 * backend), trimap as p/255 unchanged, zero at the bottom/right padding. Gray colour images are replicated.
 * Rows are spread over `threads` OpenMP threads (<= 0: all); the result does not depend on the count. */
void vm_preprocess(const vm_image *rgb, const vm_image *trimap, int Hp, int Wp, float *px, int threads);

/* For a backend that pre-processes on the device (backend.h, upload_rgbt8): when the image and the trimap are both
 * 8-bit, writes their h x w pixels to dst as 4 bytes each, R, G, B, trimap (gray replicated, alpha channels
 * dropped), rows packed, on `threads` OpenMP threads, and returns true; returns false (nothing written) otherwise. */
bool vm_pack_rgbt8(const vm_image *rgb, const vm_image *trimap, uint8_t *dst, int threads);

/* Whether the first `width` values of each of `height` rows (row_stride floats apart) are finite: a half-precision
 * overflow inside the model shows up as inf/NaN in the alpha. */
bool vm_alpha_finite(const float *alpha, int row_stride, int width, int height, int threads);

#endif
