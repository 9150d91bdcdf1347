/* make_image_seeds.c - the seed corpora of the picture and trimap fuzz targets: small valid files of every layout
 * the readers handle (written by the test codec writers the CLI tests use), a progressive JPEG, and trimap inputs
 * of each case. Usage: make_image_seeds tests/fuzz (writes corpus_png/, corpus_jpeg/, corpus_tiff/, corpus_trimap/). */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <tiffio.h>

#include "test_image_files.h"

enum { W = 7, H = 5 };

static char *path_of(const char *dir, const char *kind, const char *name) {
  static char path[1024];
  snprintf(path, sizeof path, "%s/corpus_%s", dir, kind);
  mkdir(path, 0755);
  snprintf(path, sizeof path, "%s/corpus_%s/%s", dir, kind, name);
  return path;
}

static void write_bytes(const char *path, const void *bytes, size_t size) {
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(bytes, 1, size, f) != size || fclose(f) != 0) {
    fprintf(stderr, "make_image_seeds: cannot write %s\n", path);
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: make_image_seeds FUZZ_DIR\n");
    return 2;
  }
  const char *dir = argv[1];
  uint16_t s16[W * H * 4];
  uint8_t s8[W * H * 4], indices[W * H];
  float f32[W * H * 4];
  for (int i = 0; i < W * H * 4; i++) {
    s16[i] = test_pattern(i / 4 % W, i / 4 / W, i % 4);
    s8[i] = (uint8_t)(s16[i] >> 8);
    f32[i] = (float)s16[i] / 65535.0f;
  }
  for (int i = 0; i < W * H; i++) indices[i] = (uint8_t)(i % 4);

  /* PNG: every colour type and depth, interlaced, palette with transparency. */
  uint16_t low[W * H * 4];
  for (int bits = 1; bits <= 16; bits *= 2) {
    char name[32];
    for (int i = 0; i < W * H; i++) low[i] = (uint16_t)(s16[i] >> (16 - bits));
    snprintf(name, sizeof name, "gray%d", bits);
    test_write_png(path_of(dir, "png", name), W, H, PNG_COLOR_TYPE_GRAY, bits, 0, low);
  }
  for (int i = 0; i < W * H * 4; i++) low[i] = s8[i];
  test_write_png(path_of(dir, "png", "gray_alpha8"), W, H, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, low);
  test_write_png(path_of(dir, "png", "rgb8_interlaced"), W, H, PNG_COLOR_TYPE_RGB, 8, 1, low);
  test_write_png(path_of(dir, "png", "rgba8"), W, H, PNG_COLOR_TYPE_RGB_ALPHA, 8, 0, low);
  test_write_png(path_of(dir, "png", "rgb16"), W, H, PNG_COLOR_TYPE_RGB, 16, 0, s16);
  test_write_png(path_of(dir, "png", "rgba16"), W, H, PNG_COLOR_TYPE_RGB_ALPHA, 16, 0, s16);
  const uint8_t palette[12] = {0, 0, 0, 255, 0, 0, 0, 255, 0, 255, 255, 255};
  test_write_png_palette(path_of(dir, "png", "palette_trns"), W, H, indices, palette, 4, 2);

  /* JPEG: gray and colour baseline, progressive. */
  test_write_jpeg(path_of(dir, "jpeg", "gray"), W, H, 1, 90, s8);
  test_write_jpeg(path_of(dir, "jpeg", "rgb"), W, H, 3, 90, s8);
  test_write_jpeg_progressive(path_of(dir, "jpeg", "rgb_progressive"), W, H, 3, 75, s8);

  /* TIFF: both paths (exact samples and libtiff's RGBA), strips and tiles, planes, codecs. */
  test_write_tiff(path_of(dir, "tiff", "rgb8_strips"), W, H, 3, 8, PHOTOMETRIC_RGB, 0, 0, COMPRESSION_NONE, s8);
  test_write_tiff(path_of(dir, "tiff", "gray_alpha8_lzw"), W, H, 2, 8, PHOTOMETRIC_MINISBLACK, 0, 0, COMPRESSION_LZW,
                  s8);
  test_write_tiff(path_of(dir, "tiff", "rgba16_planes_deflate"), W, H, 4, 16, PHOTOMETRIC_RGB, 1, 0,
                  COMPRESSION_ADOBE_DEFLATE, s16);
  test_write_tiff(path_of(dir, "tiff", "gray16_tiles"), W, H, 1, 16, PHOTOMETRIC_MINISBLACK, 0, 1, COMPRESSION_LZW,
                  s16);
  test_write_tiff(path_of(dir, "tiff", "rgbf32_tiles_planes"), W, H, 3, 32, PHOTOMETRIC_RGB, 1, 1,
                  COMPRESSION_ADOBE_DEFLATE, f32);
  test_write_tiff(path_of(dir, "tiff", "grayf32_strips"), W, H, 1, 32, PHOTOMETRIC_MINISBLACK, 0, 0,
                  COMPRESSION_NONE, f32);
  uint16_t colormap[3 * 256];
  for (int i = 0; i < 3 * 256; i++) colormap[i] = (uint16_t)(i * 85);
  test_write_tiff_palette(path_of(dir, "tiff", "palette"), W, H, indices, colormap);
  uint8_t bilevel[W * H];
  for (int i = 0; i < W * H; i++) bilevel[i] = (uint8_t)(i % 3 == 0);
  test_write_tiff(path_of(dir, "tiff", "bilevel_g4"), W, H, 1, 1, PHOTOMETRIC_MINISWHITE, 0, 0,
                  COMPRESSION_CCITTFAX4, bilevel);

  /* Trimap inputs (fuzz_trimap.c): byte 0 the case, 1-2 the size - 1, 3 the margin, 4 the band, then values. */
  uint8_t trimap[5 + 4 * 6 * 5];
  memset(trimap, 0, sizeof trimap);
  trimap[1] = 5, trimap[2] = 4; /* 6 x 5 */
  const float levels[] = {0.0f, 0.05f, 0.1f, 0.5f, 0.9f, 1.0f};
  for (int i = 0; i < 30; i++) memcpy(trimap + 5 + 4 * i, &levels[i % 6], 4);
  write_bytes(path_of(dir, "trimap", "channel_levels"), trimap, sizeof trimap);
  uint8_t band[5 + 14 * 12];
  band[0] = 1, band[1] = 9, band[2] = 7, band[3] = 2, band[4] = 2; /* 10 x 8, margin 2, band 2: a 14 x 12 grid */
  for (int y = 0; y < 12; y++)
    for (int x = 0; x < 14; x++) band[5 + y * 14 + x] = (x - 7) * (x - 7) + (y - 6) * (y - 6) < 12 ? 254 : 0;
  write_bytes(path_of(dir, "trimap", "selection_disc"), band, sizeof band);
  band[0] = 3; /* the same as a large case (no brute force) */
  write_bytes(path_of(dir, "trimap", "selection_disc_large"), band, sizeof band);
  return 0;
}
