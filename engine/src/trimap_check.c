/* trimap_check.c - vm_trimap_check: a trimap must leave the model something to decide (unknown pixels), and every
 * caller (CLI, plug-in) refuses one that does not with the same words, which live here. */
#include <stdint.h>
#include <string.h>

#include "error.h"
#include "preprocess.h"

/* 0 background, 1 foreground, 2 unknown: the model reads p / max, so only the two ends are known. NaN is unknown. */
static int classify(const unsigned char *row, int x, vm_pixel_type type) {
  if (type == VM_PIXEL_U8) return row[x] == 0 ? 0 : row[x] == 255 ? 1 : 2;
  if (type == VM_PIXEL_U16) {
    uint16_t v;
    memcpy(&v, row + 2 * (size_t)x, 2);
    return v == 0 ? 0 : v == 65535 ? 1 : 2;
  }
  float v;
  memcpy(&v, row + 4 * (size_t)x, 4);
  return v <= 0.0f ? 0 : v >= 1.0f ? 1 : 2;
}

vm_status vm_trimap_check(const vm_image *trimap, vm_error *err) {
  vm_error_clear(err);
  vm_status st = vm_image_check(trimap, 1, "trimap", err);
  if (st != VM_OK) return st;
  const size_t sample = trimap->type == VM_PIXEL_U8 ? 1 : trimap->type == VM_PIXEL_U16 ? 2 : 4;
  const size_t stride = trimap->row_stride ? trimap->row_stride : (size_t)trimap->width * sample;
  size_t counts[3] = {0, 0, 0};
  for (int y = 0; y < trimap->height; y++) {
    const unsigned char *row = (const unsigned char *)trimap->data + stride * (size_t)y;
    for (int x = 0; x < trimap->width; x++) {
      const int kind = classify(row, x, trimap->type);
      if (kind == 2) return VM_OK; /* one is enough */
      counts[kind]++;
    }
  }
  return vm_fail(err, VM_ERR_INVALID_ARGUMENT,
                 "the trimap has no unknown pixels (%zu background, %zu foreground), so there is nothing to matte",
                 counts[0], counts[1]);
}
