/* compare_cutout.c - checks a cut-out or foreground file the CLI wrote against the engine's own result.
 * Owns: reading IMAGE, ALPHA and OUT through libpng/libtiff directly (test_image_files.c), running
 * vm_estimate_foreground on the CPU on the same samples, and "OUT holds exactly those colours (quantized for PNG),
 * plus the alpha when it has an alpha channel". Usage: compare_cutout IMAGE ALPHA OUT [sequential|jacobi] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_image_files.h"
#include "vitmatte.h"

/* The engine's sample type for a file's samples: 8/16-bit integers or floats. */
static vm_pixel_type engine_type(const test_alpha *a) {
  return a->bits == 8 ? VM_PIXEL_U8 : a->bits == 16 ? VM_PIXEL_U16 : VM_PIXEL_F32;
}

/* The samples as the CLI hands them to the engine, `keep` channels of each pixel. */
static void *engine_samples(const test_alpha *a, int keep, vm_pixel_type *type) {
  const size_t n = (size_t)a->width * a->height;
  *type = engine_type(a);
  const size_t size = a->bits == 8 ? 1 : a->bits == 16 ? 2 : 4;
  unsigned char *out = malloc(n * keep * size);
  for (size_t i = 0; i < n; i++)
    for (int c = 0; c < keep; c++) {
      const double v = a->values[i * a->channels + c];
      if (size == 1) out[i * keep + c] = (unsigned char)v;
      else if (size == 2) ((uint16_t *)out)[i * keep + c] = (uint16_t)v;
      else ((float *)out)[i * keep + c] = (float)v;
    }
  return out;
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: compare_cutout IMAGE ALPHA OUT [sequential|jacobi]\n");
    return 2;
  }
  vm_foreground_options fo;
  vm_foreground_options_default(&fo);
  fo.method = argc == 5 && strcmp(argv[4], "jacobi") == 0 ? VM_FOREGROUND_JACOBI : VM_FOREGROUND_SEQUENTIAL;
  test_alpha im, al, out;
  if (test_read_samples(argv[1], &im) != 0 || test_read_alpha(argv[2], &al) != 0 || test_read_samples(argv[3], &out) != 0)
    return 1;
  const int W = im.width, H = im.height, depth = im.channels >= 3 ? 3 : 1;
  if (al.width != W || al.height != H || out.width != W || out.height != H) {
    printf("sizes differ\n");
    return 1;
  }
  const int with_alpha = out.channels == depth + 1;
  if (!with_alpha && out.channels != depth) {
    printf("%s has %d channels; expected %d or %d\n", argv[3], out.channels, depth, depth + 1);
    return 1;
  }
  vm_pixel_type it;
  void *image = engine_samples(&im, im.channels, &it);
  const vm_pixel_type at = engine_type(&al);
  const size_t n = (size_t)W * H;
  float *alpha = malloc(n * sizeof *alpha), *F = malloc(n * depth * sizeof *F);
  for (size_t i = 0; i < n; i++) alpha[i] = at == VM_PIXEL_F32 ? (float)al.values[i] : at == VM_PIXEL_U8 ? (float)al.values[i] / 255.0f : (float)al.values[i] / 65535.0f;
  const vm_image iv = {image, W, H, im.channels, 0, it}, av = {alpha, W, H, 1, 0, VM_PIXEL_F32};
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = VM_DEVICE_CPU;
  vm_context *ctx = NULL;
  vm_error err;
  if (vm_context_create(NULL, &o, &ctx, &err) != VM_OK || vm_estimate_foreground(ctx, &iv, &av, &fo, F, 0, NULL, 0, &err) != VM_OK) {
    printf("engine: %s\n", err.message);
    return 1;
  }
  /* PNG: round(clamp(v) * max) exactly; TIFF: the floats exactly. */
  const double top = out.bits == 8 ? 255.0 : out.bits == 16 ? 65535.0 : 0.0;
  size_t colour_off = 0, alpha_off = 0;
  double worst = 0;
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < depth; c++) {
      const double want = top ? floor(F[i * depth + c] * top + 0.5) : F[i * depth + c];
      const double got = out.values[i * out.channels + c];
      if (got != want) colour_off++;
      worst = fmax(worst, fabs(got - want) / (top ? top : 1.0));
    }
    if (with_alpha) {
      const double a = alpha[i] < 0 ? 0 : alpha[i] > 1 ? 1 : alpha[i];
      const double want = top ? floor(a * top + 0.5) : alpha[i];
      if (out.values[i * out.channels + depth] != want) alpha_off++;
    }
  }
  printf("%d-channel %s: %zu of %zu colour samples differ from the engine's foreground%s (largest %.3g), %zu alpha "
         "samples differ\n",
         out.channels, top ? (out.bits == 8 ? "8-bit PNG" : "16-bit PNG") : "float TIFF", colour_off, n * depth,
         top ? " quantized" : "", worst, alpha_off);
  vm_context_free(ctx);
  free(image);
  free(alpha);
  free(F);
  test_alpha_free(&im);
  test_alpha_free(&al);
  test_alpha_free(&out);
  return colour_off || alpha_off;
}
