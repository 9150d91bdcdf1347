/* make_test_images.c - writes the input files the CLI tests run on, through the codec libraries directly.
 * Owns: the test picture set: one picture in every input format, trimaps good and bad, and a large pair. */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "test_image_files.h"

enum { W = 67, H = 45 };

static void path_in(const char *dir, const char *name, char *path, size_t size) {
  snprintf(path, size, "%s/%s", dir, name);
}

/* The same 8-bit picture as 8-bit and 16-bit PNG (v * 257), JPEG, 8/16-bit TIFF and float TIFF (v / 255). */
static void write_pictures(const char *dir) {
  const size_t n = (size_t)W * H * 3;
  uint16_t *u16 = malloc(n * sizeof *u16), *u8_as_16 = malloc(n * sizeof *u8_as_16);
  uint8_t *u8 = malloc(n);
  float *f32 = malloc(n * sizeof *f32);
  for (size_t i = 0; i < n; i++) {
    u8[i] = (uint8_t)(test_pattern((int)(i / 3 % W), (int)(i / 3 / W), (int)(i % 3)) >> 8);
    u8_as_16[i] = u8[i];
    u16[i] = (uint16_t)(u8[i] * 257);
    f32[i] = (float)u8[i] / 255.0f;
  }
  char path[512];
  path_in(dir, "image8.png", path, sizeof path);
  test_write_png(path, W, H, PNG_COLOR_TYPE_RGB, 8, 0, u8_as_16);
  path_in(dir, "image16.png", path, sizeof path);
  test_write_png(path, W, H, PNG_COLOR_TYPE_RGB, 16, 0, u16);
  path_in(dir, "image.jpg", path, sizeof path);
  test_write_jpeg(path, W, H, 3, 95, u8);
  path_in(dir, "image8.tif", path, sizeof path);
  test_write_tiff(path, W, H, 3, 8, PHOTOMETRIC_RGB, 0, 0, COMPRESSION_LZW, u8);
  path_in(dir, "image16.tif", path, sizeof path);
  test_write_tiff(path, W, H, 3, 16, PHOTOMETRIC_RGB, 0, 0, COMPRESSION_ADOBE_DEFLATE, u16);
  path_in(dir, "imagef.tif", path, sizeof path);
  test_write_tiff(path, W, H, 3, 32, PHOTOMETRIC_RGB, 0, 0, COMPRESSION_NONE, f32);
  /* Gray pictures are replicated into R = G = B, so a gray file equals the RGB file with three equal channels. */
  for (size_t i = 0; i < n; i++) u8_as_16[i] = u8[i - i % 3];
  path_in(dir, "gray_as_rgb.png", path, sizeof path);
  test_write_png(path, W, H, PNG_COLOR_TYPE_RGB, 8, 0, u8_as_16);
  for (size_t i = 0; i < (size_t)W * H; i++) u8_as_16[i] = u8[3 * i];
  path_in(dir, "gray.png", path, sizeof path);
  test_write_png(path, W, H, PNG_COLOR_TYPE_GRAY, 8, 0, u8_as_16);
  free(u16);
  free(u8_as_16);
  free(u8);
  free(f32);
}

static void write_trimaps(const char *dir) {
  const size_t n = (size_t)W * H;
  uint16_t *gray = malloc(n * sizeof *gray), *gray16 = malloc(n * sizeof *gray16);
  uint16_t *rgb = malloc(3 * n * sizeof *rgb);
  for (size_t i = 0; i < n; i++) {
    gray[i] = test_trimap((int)(i % W), (int)(i / W), W, H);
    gray16[i] = (uint16_t)(gray[i] * 257);
    for (int c = 0; c < 3; c++) rgb[3 * i + (size_t)c] = gray[i];
  }
  char path[512];
  path_in(dir, "trimap.png", path, sizeof path);
  test_write_png(path, W, H, PNG_COLOR_TYPE_GRAY, 8, 0, gray);
  path_in(dir, "trimap16.png", path, sizeof path);
  test_write_png(path, W, H, PNG_COLOR_TYPE_GRAY, 16, 0, gray16);
  path_in(dir, "trimap_rgb.png", path, sizeof path);
  test_write_png(path, W, H, PNG_COLOR_TYPE_RGB, 8, 0, rgb);
  rgb[3 * ((size_t)10 * W + 20) + 2] = 77; /* one bluish pixel at 20,10 */
  path_in(dir, "trimap_colour.png", path, sizeof path);
  test_write_png(path, W, H, PNG_COLOR_TYPE_RGB, 8, 0, rgb);
  /* One column wider than the picture. */
  uint16_t *wide = calloc((size_t)(W + 1) * H, sizeof *wide);
  path_in(dir, "trimap_wide.png", path, sizeof path);
  test_write_png(path, W + 1, H, PNG_COLOR_TYPE_GRAY, 8, 0, wide);
  free(wide);
  free(gray);
  free(gray16);
  free(rgb);
}

/* A picture big enough that a run takes a noticeable time, for the Ctrl-C test. */
static void write_large(const char *dir, int width, int height) {
  const size_t n = (size_t)width * height;
  uint16_t *rgb = malloc(3 * n * sizeof *rgb), *trimap = malloc(n * sizeof *trimap);
  for (size_t i = 0; i < n; i++) {
    for (int c = 0; c < 3; c++) rgb[3 * i + (size_t)c] = test_pattern((int)(i % (size_t)width), (int)(i / (size_t)width), c) >> 8;
    trimap[i] = test_trimap((int)(i % (size_t)width), (int)(i / (size_t)width), width, height);
  }
  char path[512];
  path_in(dir, "large.png", path, sizeof path);
  test_write_png(path, width, height, PNG_COLOR_TYPE_RGB, 8, 0, rgb);
  path_in(dir, "large_trimap.png", path, sizeof path);
  test_write_png(path, width, height, PNG_COLOR_TYPE_GRAY, 8, 0, trimap);
  free(rgb);
  free(trimap);
}

int main(int argc, char **argv) {
  if (argc != 2 && argc != 4) {
    fprintf(stderr, "usage: make_test_images DIR [LARGE_WIDTH LARGE_HEIGHT]\n");
    return 2;
  }
  write_pictures(argv[1]);
  write_trimaps(argv[1]);
  if (argc == 4) write_large(argv[1], atoi(argv[2]), atoi(argv[3]));
  return 0;
}
