/* trimap_check.c - vm_trimap_check: a trimap must leave the model something to decide (unknown pixels), and every
 * caller (CLI, plug-in) refuses one that does not with the same words, which live here. */
#include <stddef.h>

#include "error.h"
#include "preprocess.h"

/* 0 background, 1 foreground, 2 unknown, on the value the model reads (p / max): only the two ends are known, so
 * 254 of 255 is unknown. NaN is unknown. */
static int classify(float v) { return v <= 0.0f ? 0 : v >= 1.0f ? 1 : 2; }

vm_status vm_trimap_check(const vm_image *trimap, vm_error *err) {
  vm_error_clear(err);
  vm_status st = vm_image_check(trimap, 1, "trimap", err);
  if (st != VM_OK) return st;
  size_t counts[3] = {0, 0, 0};
  for (int y = 0; y < trimap->height; y++) {
    const unsigned char *row = vm_image_row(trimap, y);
    for (int x = 0; x < trimap->width; x++) {
      const int kind = classify(vm_sample_unit(row, (size_t)x, trimap->type));
      if (kind == 2) return VM_OK; /* one is enough */
      counts[kind]++;
    }
  }
  return vm_fail(err, VM_ERR_INVALID_ARGUMENT,
                 "the trimap has no unknown pixels (%zu background, %zu foreground), so there is nothing to matte",
                 counts[0], counts[1]);
}
