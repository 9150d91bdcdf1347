/* test_image_files.h - test pictures written and alpha files read straight through libpng, libjpeg and libtiff.
 * Owns: the reference codec code the CLI tests compare tools/image_io against; it shares no code with it. */
#ifndef VITMATTE_TEST_IMAGE_FILES_H
#define VITMATTE_TEST_IMAGE_FILES_H

#include <stdint.h>

/* A deterministic test picture: smooth gradients plus a little hash noise, 16-bit values (the 8-bit version of
 * a sample is value >> 8, and 8-bit pictures promoted to 16 bits use v * 257). */
uint16_t test_pattern(int x, int y, int channel);

/* A trimap pattern with only 0, 128 and 255: a foreground disc, an unknown ring, background elsewhere. */
uint8_t test_trimap(int x, int y, int width, int height);

/* All writers exit the test with a message when the library fails: a broken fixture is not a finding. */

/* color_type is PNG_COLOR_TYPE_GRAY, _GRAY_ALPHA, _RGB or _RGB_ALPHA; `samples` interleaved, values < 2^bits;
 * bits 1, 2, 4 (gray only), 8 or 16. */
void test_write_png(const char *path, int width, int height, int color_type, int bits, int interlaced,
                    const uint16_t *samples);

/* A palette PNG: `indices` one byte per pixel into `palette` (RGB triplets), with `transparent` entries of tRNS. */
void test_write_png_palette(const char *path, int width, int height, const uint8_t *indices,
                            const uint8_t *palette, int palette_size, int transparent);

void test_write_jpeg(const char *path, int width, int height, int channels, int quality, const uint8_t *samples);
/* The same as a progressive JPEG (decoded through a whole-image coefficient buffer). */
void test_write_jpeg_progressive(const char *path, int width, int height, int channels, int quality,
                                 const uint8_t *samples);

/* `samples` interleaved, `samples_per_pixel` per pixel, each `bits` wide (8/16 unsigned, 32 float; 1 for bilevel
 * with one byte per pixel holding 0 or 1), stored as `photometric`, contiguous or separate planes, in strips or in
 * 16x16 tiles, with `compression`. */
void test_write_tiff(const char *path, int width, int height, int samples_per_pixel, int bits, int photometric,
                     int separate_planes, int tiled, int compression, const void *samples);

/* An 8-bit palette TIFF, `colormap` 16-bit R, G, B tables of 256 entries each. */
void test_write_tiff_palette(const char *path, int width, int height, const uint8_t *indices,
                             const uint16_t *colormap);

/* An alpha file as the CLI writes it: gray PNG (bits 8 or 16, raw integer samples) or float TIFF (bits 32). */
typedef struct test_alpha {
  int width, height, bits;
  int channels;   /* 1 for an alpha; test_read_samples: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA */
  double *values; /* the stored samples, interleaved: integers for PNG, the floats for TIFF */
} test_alpha;

/* Returns 0, or -1 with a reason printed, when the file is not a one-channel PNG or float TIFF. */
int test_read_alpha(const char *path, test_alpha *out);

/* The same for 1 to 4 channels (cut-outs, colour outputs). */
int test_read_samples(const char *path, test_alpha *out);
void test_alpha_free(test_alpha *alpha);

#endif
