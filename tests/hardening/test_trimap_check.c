/* test_trimap_check.c - vm_trimap_check for every trimap type: only 0 and the maximum are known, anything else (NaN
 * included) is unknown; row padding is not looked at; the message gives the counts in the words both front ends
 * show. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "vitmatte.h"

enum { W = 5, H = 3 };

int main(void) {
  checker c = {0, 0};
  vm_error err;
  uint8_t u8[H][8]; /* rows of 8 bytes: 5 pixels and 3 padding bytes */
  memset(u8, 128, sizeof u8);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) u8[y][x] = x < 2 ? 0 : 255;
  vm_image view = {u8, W, H, 1, 8, VM_PIXEL_U8};
  vm_status st = vm_trimap_check(&view, &err);
  check_true(&c,
             st == VM_ERR_INVALID_ARGUMENT && strcmp(err.message, "the trimap has no unknown pixels (6 background, 9 "
                                                                  "foreground), so there is nothing to matte") == 0,
             "u8 of only 0 and 255 (padding of 128 not counted): %s", err.message);
  u8[2][4] = 254;
  check_status(&c, "u8 with one 254", vm_trimap_check(&view, &err), &err, VM_OK, NULL, NULL);
  u8[2][4] = 1;
  check_status(&c, "u8 with one 1", vm_trimap_check(&view, &err), &err, VM_OK, NULL, NULL);

  uint16_t u16[W * H];
  for (int i = 0; i < W * H; i++) u16[i] = i % 2 ? 65535 : 0;
  view = (vm_image){u16, W, H, 1, 0, VM_PIXEL_U16};
  check_status(&c, "u16 of only 0 and 65535", vm_trimap_check(&view, &err), &err, VM_ERR_INVALID_ARGUMENT,
               "(8 background, 7 foreground)", NULL);
  u16[7] = 32768;
  check_status(&c, "u16 with one 32768", vm_trimap_check(&view, &err), &err, VM_OK, NULL, NULL);
  u16[7] = 65534;
  check_status(&c, "u16 with one 65534", vm_trimap_check(&view, &err), &err, VM_OK, NULL, NULL);
  u16[7] = 1;
  check_status(&c, "u16 with one 1", vm_trimap_check(&view, &err), &err, VM_OK, NULL, NULL);

  float f32[W * H];
  for (int i = 0; i < W * H; i++) f32[i] = i < 3 ? 0.0f : 1.0f;
  view = (vm_image){f32, W, H, 1, 0, VM_PIXEL_F32};
  check_status(&c, "f32 of only 0 and 1", vm_trimap_check(&view, &err), &err, VM_ERR_INVALID_ARGUMENT,
               "(3 background, 12 foreground)", NULL);
  f32[14] = NAN;
  check_status(&c, "f32 with a NaN (unknown, as the plug-in counts it)", vm_trimap_check(&view, &err), &err, VM_OK,
               NULL, NULL);
  f32[14] = 0.5f;
  check_status(&c, "f32 with one 0.5", vm_trimap_check(&view, &err), &err, VM_OK, NULL, NULL);

  view.channels = 3;
  check_status(&c, "a three-channel view is refused as a trimap", vm_trimap_check(&view, &err), &err,
               VM_ERR_INVALID_ARGUMENT, "channels", NULL);
  return check_finish(&c, "trimap check");
}
