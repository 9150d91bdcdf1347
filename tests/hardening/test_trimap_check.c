/* test_trimap_check.c - vm_trimap_check for every trimap type: only 0 and the maximum are known, anything else (NaN
 * included) is unknown; row padding is not looked at; the message gives the counts in the words both front ends
 * show. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vitmatte.h"

static int failures = 0;

static void check(int ok, const char *what, const vm_error *err) {
  printf("%s %s%s%s\n", ok ? "PASS" : "FAIL", what, err->message[0] ? ": " : "", err->message);
  if (!ok) failures++;
}

enum { W = 5, H = 3 };

int main(void) {
  vm_error err;
  uint8_t u8[H][8]; /* rows of 8 bytes: 5 pixels and 3 padding bytes */
  memset(u8, 128, sizeof u8);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) u8[y][x] = x < 2 ? 0 : 255;
  vm_image view = {u8, W, H, 1, 8, VM_PIXEL_U8};
  vm_status st = vm_trimap_check(&view, &err);
  check(st == VM_ERR_INVALID_ARGUMENT && strcmp(err.message, "the trimap has no unknown pixels (6 background, 9 "
                                                             "foreground), so there is nothing to matte") == 0,
        "u8 of only 0 and 255 (padding of 128 not counted)", &err);
  u8[2][4] = 254;
  check(vm_trimap_check(&view, &err) == VM_OK, "u8 with one 254", &err);
  u8[2][4] = 1;
  check(vm_trimap_check(&view, &err) == VM_OK, "u8 with one 1", &err);

  uint16_t u16[W * H];
  for (int i = 0; i < W * H; i++) u16[i] = i % 2 ? 65535 : 0;
  view = (vm_image){u16, W, H, 1, 0, VM_PIXEL_U16};
  check(vm_trimap_check(&view, &err) == VM_ERR_INVALID_ARGUMENT && strstr(err.message, "(8 background, 7 foreground)"),
        "u16 of only 0 and 65535", &err);
  u16[7] = 32768;
  check(vm_trimap_check(&view, &err) == VM_OK, "u16 with one 32768", &err);
  u16[7] = 65534;
  check(vm_trimap_check(&view, &err) == VM_OK, "u16 with one 65534", &err);
  u16[7] = 1;
  check(vm_trimap_check(&view, &err) == VM_OK, "u16 with one 1", &err);

  float f32[W * H];
  for (int i = 0; i < W * H; i++) f32[i] = i < 3 ? 0.0f : 1.0f;
  view = (vm_image){f32, W, H, 1, 0, VM_PIXEL_F32};
  check(vm_trimap_check(&view, &err) == VM_ERR_INVALID_ARGUMENT && strstr(err.message, "(3 background, 12 foreground)"),
        "f32 of only 0 and 1", &err);
  f32[14] = NAN;
  check(vm_trimap_check(&view, &err) == VM_OK, "f32 with a NaN (unknown, as the plug-in counts it)", &err);
  f32[14] = 0.5f;
  check(vm_trimap_check(&view, &err) == VM_OK, "f32 with one 0.5", &err);

  view.channels = 3;
  check(vm_trimap_check(&view, &err) == VM_ERR_INVALID_ARGUMENT && strstr(err.message, "channels"),
        "a three-channel view is refused as a trimap", &err);
  printf("trimap check: %d failure%s\n", failures, failures == 1 ? "" : "s");
  return failures ? 1 : 0;
}
