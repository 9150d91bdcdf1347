/* test_image_io.c - tools/image_io against pictures written and alpha files read by the codec libraries directly.
 * Checks every supported layout sample by sample, every refusal by its message, silence on stderr, and that the
 * alpha writer leaves either the complete file or nothing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <tiffio.h>
#include <unistd.h>

#include "image_io.h"
#include "test_image_files.h"

enum { W = 37, H = 23 }; /* odd, and not a multiple of the 16x16 test tiles or the 3-row strips */

typedef struct test_run {
  int failures;
  char dir[64];
} test_run;

static void report(test_run *run, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(test_run *run, int ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s ", ok ? "PASS" : "FAIL");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  if (!ok) run->failures++;
}

static void path_in(const test_run *run, const char *name, char *path, size_t size) {
  snprintf(path, size, "%s/%s", run->dir, name);
}

/* Everything image_io writes to stderr while `stderr_begin` is active lands in a file, so the test can insist
 * that the library stays silent (libpng, libjpeg and libtiff all print by default). */
typedef struct stderr_capture {
  int saved;
  char path[96];
} stderr_capture;

static void stderr_begin(const test_run *run, stderr_capture *capture) {
  fflush(stderr);
  path_in(run, "stderr.txt", capture->path, sizeof capture->path);
  const int fd = open(capture->path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  capture->saved = dup(STDERR_FILENO);
  dup2(fd, STDERR_FILENO);
  close(fd);
}

static long stderr_end(stderr_capture *capture) {
  fflush(stderr);
  dup2(capture->saved, STDERR_FILENO);
  close(capture->saved);
  struct stat st;
  const long size = stat(capture->path, &st) == 0 ? (long)st.st_size : -1;
  unlink(capture->path);
  return size;
}

static int silent_read(const test_run *run, const char *path, image_buffer *image, char *msg, size_t msg_size,
                       long *printed) {
  stderr_capture capture;
  stderr_begin(run, &capture);
  const int status = image_read(path, IMAGE_NO_BUDGET, image, msg, msg_size);
  *printed = stderr_end(&capture);
  return status;
}

static double sample_at(const image_buffer *image, size_t index) {
  if (image->type == IMAGE_U8) return ((const uint8_t *)image->data)[index];
  if (image->type == IMAGE_U16) return ((const uint16_t *)image->data)[index];
  return ((const float *)image->data)[index];
}

static const char *type_name(image_sample_type type) {
  return type == IMAGE_U8 ? "u8" : type == IMAGE_U16 ? "u16" : "f32";
}

/* The header of `path` promises what `image` (read from it) is, and reading within the promised budget works while
 * one byte less is refused before decoding. */
static void check_header(test_run *run, const char *what, const char *path, const image_buffer *image) {
  image_header header;
  char msg[512] = "";
  if (image_read_header(path, &header, msg, sizeof msg) != 0) {
    report(run, 0, "%s: header read failed: %s", what, msg);
    return;
  }
  const size_t pixels = (size_t)image->width * (size_t)image->height * (size_t)image->channels *
                        image_sample_size(image->type);
  image_buffer again, refused;
  const int within = image_read(path, header.decode_bytes, &again, msg, sizeof msg);
  if (within == 0) image_free(&again);
  const int below = image_read(path, header.decode_bytes - 1, &refused, msg, sizeof msg);
  if (below == 0) image_free(&refused);
  report(run,
         header.width == image->width && header.height == image->height && header.channels == image->channels &&
             header.type == image->type && header.decode_bytes >= pixels && within == 0 && below != 0 &&
             strstr(msg, "reading it needs") != NULL,
         "%s: the header says %dx%d, %d channels, %s, %zu bytes to read (pixels %zu); read within them: %s, "
         "with one byte less: %s",
         what, header.width, header.height, header.channels, type_name(header.type), header.decode_bytes, pixels,
         within == 0 ? "ok" : "refused", below == 0 ? "read" : msg);
}

/* Reads `path` and compares with expected[] (width x height x channels, in the reader's sample units); `tolerance`
 * 0 means exact. */
static void check_read(test_run *run, const char *what, const char *path, int channels, image_sample_type type,
                       const double *expected, double tolerance) {
  image_buffer image;
  char msg[512] = "";
  long printed = 0;
  if (silent_read(run, path, &image, msg, sizeof msg, &printed) != 0) {
    report(run, 0, "%s: read failed: %s", what, msg);
    return;
  }
  if (image.width != W || image.height != H || image.channels != channels || image.type != type) {
    report(run, 0, "%s: got %dx%d, %d channels, %s; expected %dx%d, %d channels, %s", what, image.width,
           image.height, image.channels, type_name(image.type), W, H, channels, type_name(type));
    image_free(&image);
    return;
  }
  double max_diff = 0.0;
  const size_t count = (size_t)W * H * (size_t)channels;
  for (size_t i = 0; i < count; i++) {
    const double d = fabs(sample_at(&image, i) - expected[i]);
    if (d > max_diff || isnan(d)) max_diff = isnan(d) ? INFINITY : d;
  }
  report(run, max_diff <= tolerance && printed == 0, "%s: %dx%d, %d channels, %s, max diff %g (allowed %g)%s", what,
         W, H, channels, type_name(type), max_diff, tolerance, printed ? ", but printed to stderr" : "");
  check_header(run, what, path, &image);
  image_free(&image);
}

static void check_refused(test_run *run, const char *what, const char *path, const char *expected_text) {
  image_buffer image;
  char msg[512] = "";
  long printed = 0;
  const int status = silent_read(run, path, &image, msg, sizeof msg, &printed);
  if (status == 0) image_free(&image);
  const int ok = status != 0 && strstr(msg, expected_text) != NULL && printed == 0 && strchr(msg, '\n') == NULL;
  report(run, ok, "%s is refused with \"%s\" (message: \"%s\"%s)", what, expected_text, msg,
         printed ? ", and something was printed to stderr" : "");
}

static void write_bytes(const char *path, const void *bytes, size_t size) {
  FILE *file = fopen(path, "wb");
  if (!file || fwrite(bytes, 1, size, file) != size || fclose(file) != 0) {
    fprintf(stderr, "FAIL fixture: cannot write %s\n", path);
    exit(1);
  }
}

static void truncate_copy(const char *from, const char *to, double keep) {
  FILE *file = fopen(from, "rb");
  if (!file) exit(1);
  fseek(file, 0, SEEK_END);
  const long size = ftell(file);
  fseek(file, 0, SEEK_SET);
  unsigned char *bytes = malloc((size_t)size);
  if (fread(bytes, 1, (size_t)size, file) != (size_t)size) exit(1);
  fclose(file);
  write_bytes(to, bytes, (size_t)((double)size * keep));
  free(bytes);
}

/* ---- readers ---- */

static void test_png(test_run *run) {
  const size_t n = (size_t)W * H;
  uint16_t *samples = malloc(n * 4 * sizeof *samples);
  double *expected = malloc(n * 4 * sizeof *expected);
  char path[128];
  static const struct {
    int color_type, channels, kept;
    const char *name;
  } kinds[] = {{PNG_COLOR_TYPE_GRAY, 1, 1, "gray"},
               {PNG_COLOR_TYPE_GRAY_ALPHA, 2, 1, "gray+alpha"},
               {PNG_COLOR_TYPE_RGB, 3, 3, "RGB"},
               {PNG_COLOR_TYPE_RGB_ALPHA, 4, 3, "RGBA"}};
  for (int bits = 8; bits <= 16; bits += 8)
    for (int k = 0; k < 4; k++) {
      const int ch = kinds[k].channels, kept = kinds[k].kept;
      for (size_t i = 0; i < n; i++)
        for (int c = 0; c < ch; c++) {
          const uint16_t v = test_pattern((int)(i % W), (int)(i / W), c);
          samples[i * (size_t)ch + (size_t)c] = bits == 16 ? v : (uint16_t)(v >> 8);
          if (c < kept) expected[i * (size_t)kept + (size_t)c] = bits == 16 ? v : v >> 8;
        }
      path_in(run, "in.png", path, sizeof path);
      test_write_png(path, W, H, kinds[k].color_type, bits, 0, samples);
      char what[64];
      snprintf(what, sizeof what, "PNG %d-bit %s", bits, kinds[k].name);
      check_read(run, what, path, kept, bits == 16 ? IMAGE_U16 : IMAGE_U8, expected, 0.0);
    }

  /* Low gray depths are scaled to 8 bits the way libpng's expansion is defined: v * 255 / (2^bits - 1). */
  for (int bits = 1; bits <= 4; bits *= 2) {
    const unsigned top = (1u << bits) - 1;
    for (size_t i = 0; i < n; i++) {
      samples[i] = (uint16_t)(test_pattern((int)(i % W), (int)(i / W), 0) >> (16 - bits));
      expected[i] = samples[i] * (255.0 / top);
    }
    path_in(run, "in.png", path, sizeof path);
    test_write_png(path, W, H, PNG_COLOR_TYPE_GRAY, bits, 0, samples);
    char what[64];
    snprintf(what, sizeof what, "PNG %d-bit gray", bits);
    check_read(run, what, path, 1, IMAGE_U8, expected, 0.0);
  }

  for (size_t i = 0; i < n * 3; i++) {
    samples[i] = (uint16_t)(test_pattern((int)(i / 3 % W), (int)(i / 3 / W), (int)(i % 3)) >> 8);
    expected[i] = samples[i];
  }
  test_write_png(path, W, H, PNG_COLOR_TYPE_RGB, 8, 1, samples);
  check_read(run, "PNG 8-bit RGB interlaced", path, 3, IMAGE_U8, expected, 0.0);

  uint8_t palette[3 * 16], *indices = malloc(n);
  for (int i = 0; i < 16; i++) {
    palette[3 * i] = (uint8_t)(i * 16);
    palette[3 * i + 1] = (uint8_t)(255 - i * 13);
    palette[3 * i + 2] = (uint8_t)(i * i);
  }
  for (size_t i = 0; i < n; i++) {
    indices[i] = (uint8_t)(test_pattern((int)(i % W), (int)(i / W), 2) >> 12);
    for (int c = 0; c < 3; c++) expected[i * 3 + (size_t)c] = palette[3 * indices[i] + c];
  }
  test_write_png_palette(path, W, H, indices, palette, 16, 5);
  check_read(run, "PNG palette with transparency", path, 3, IMAGE_U8, expected, 0.0);
  free(indices);
  free(samples);
  free(expected);
}

static void test_jpeg(test_run *run) {
  const size_t n = (size_t)W * H;
  uint8_t *samples = malloc(n * 3);
  double *expected = malloc(n * 3 * sizeof *expected);
  char path[128];
  path_in(run, "in.jpg", path, sizeof path);
  for (int channels = 1; channels <= 3; channels += 2) {
    /* A flat-ish picture so that quality 100 reproduces it closely; JPEG is lossy, so "close" is the claim. */
    for (size_t i = 0; i < n * (size_t)channels; i++) {
      const size_t p = i / (size_t)channels;
      samples[i] = (uint8_t)(60 + (p % W) * 3 + (p / W) * 2 + (i % (size_t)channels) * 20);
      expected[i] = samples[i];
    }
    test_write_jpeg(path, W, H, channels, 100, samples);
    check_read(run, channels == 1 ? "JPEG gray (quality 100, lossy)" : "JPEG RGB (quality 100, lossy)", path,
               channels, IMAGE_U8, expected, 8.0);
  }

  /* A progressive JPEG is decoded through a whole-image coefficient buffer (2 bytes a pixel and component): its
   * header's reading cost must include it. */
  test_write_jpeg_progressive(path, W, H, 3, 100, samples);
  check_read(run, "JPEG RGB progressive (quality 100, lossy)", path, 3, IMAGE_U8, expected, 8.0);
  image_header header;
  char msg[256] = "";
  const int status = image_read_header(path, &header, msg, sizeof msg);
  report(run, status == 0 && header.decode_bytes >= n * 3 + n * 3 * 2,
         "JPEG progressive: the reading cost %zu counts the coefficients (at least %zu)", header.decode_bytes,
         n * 3 + n * 3 * 2);
  free(samples);
  free(expected);
}

static void test_tiff(test_run *run) {
  const size_t n = (size_t)W * H;
  uint8_t *u8 = malloc(n * 4);
  uint16_t *u16 = malloc(n * 4 * sizeof *u16);
  float *f32 = malloc(n * 4 * sizeof *f32);
  double *expected = malloc(n * 4 * sizeof *expected);
  char path[128];
  path_in(run, "in.tif", path, sizeof path);
  static const struct {
    int spp, photometric, bits, separate, tiled, compression;
    const char *name;
  } kinds[] = {
      {3, PHOTOMETRIC_RGB, 8, 0, 0, COMPRESSION_NONE, "TIFF 8-bit RGB, strips"},
      {2, PHOTOMETRIC_MINISBLACK, 8, 0, 0, COMPRESSION_LZW, "TIFF 8-bit gray+alpha, LZW"},
      {4, PHOTOMETRIC_RGB, 16, 1, 0, COMPRESSION_ADOBE_DEFLATE, "TIFF 16-bit RGBA, separate planes, deflate"},
      {1, PHOTOMETRIC_MINISBLACK, 16, 0, 1, COMPRESSION_LZW, "TIFF 16-bit gray, tiles, LZW"},
      {3, PHOTOMETRIC_RGB, 32, 0, 1, COMPRESSION_NONE, "TIFF float RGB, tiles"},
      {3, PHOTOMETRIC_RGB, 32, 1, 1, COMPRESSION_ADOBE_DEFLATE, "TIFF float RGB, separate planes, tiles"},
      {1, PHOTOMETRIC_MINISBLACK, 32, 0, 0, COMPRESSION_ADOBE_DEFLATE, "TIFF float gray, strips, deflate"},
  };
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    const int spp = kinds[k].spp, kept = kinds[k].photometric == PHOTOMETRIC_RGB ? 3 : 1;
    for (size_t i = 0; i < n; i++)
      for (int c = 0; c < spp; c++) {
        const uint16_t v = test_pattern((int)(i % W), (int)(i / W), c);
        const size_t at = i * (size_t)spp + (size_t)c;
        u8[at] = (uint8_t)(v >> 8);
        u16[at] = v;
        f32[at] = (float)v / 65535.0f;
        if (c < kept)
          expected[i * (size_t)kept + (size_t)c] =
              kinds[k].bits == 8 ? (double)(v >> 8) : kinds[k].bits == 16 ? (double)v : (double)((float)v / 65535.0f);
      }
    const void *samples = kinds[k].bits == 8 ? (const void *)u8 : kinds[k].bits == 16 ? (const void *)u16 : f32;
    test_write_tiff(path, W, H, spp, kinds[k].bits, kinds[k].photometric, kinds[k].separate, kinds[k].tiled,
                    kinds[k].compression, samples);
    check_read(run, kinds[k].name, path, kept,
               kinds[k].bits == 8 ? IMAGE_U8 : kinds[k].bits == 16 ? IMAGE_U16 : IMAGE_F32, expected, 0.0);
  }

  /* Kinds that go through libtiff's RGBA conversion: a palette and an inverted bilevel picture. */
  uint16_t colormap[3 * 256];
  for (int i = 0; i < 256; i++) {
    colormap[i] = (uint16_t)(((i * 7) & 255) * 257);
    colormap[256 + i] = (uint16_t)((255 - i) * 257);
    colormap[512 + i] = (uint16_t)(((i * i) & 255) * 257);
  }
  for (size_t i = 0; i < n; i++) {
    u8[i] = (uint8_t)(test_pattern((int)(i % W), (int)(i / W), 1) >> 8);
    for (int c = 0; c < 3; c++) expected[i * 3 + (size_t)c] = colormap[256 * c + u8[i]] / 257;
  }
  test_write_tiff_palette(path, W, H, u8, colormap);
  check_read(run, "TIFF 8-bit palette (libtiff RGBA path)", path, 3, IMAGE_U8, expected, 0.0);

  for (size_t i = 0; i < n; i++) {
    u8[i] = (uint8_t)((i % W + i / W) % 3 == 0);
    for (int c = 0; c < 3; c++) expected[i * 3 + (size_t)c] = u8[i] ? 0.0 : 255.0; /* min-is-white: 1 = black */
  }
  test_write_tiff(path, W, H, 1, 1, PHOTOMETRIC_MINISWHITE, 0, 0, COMPRESSION_CCITTFAX4, u8);
  check_read(run, "TIFF 1-bit min-is-white, CCITT G4 (libtiff RGBA path)", path, 3, IMAGE_U8, expected, 0.0);

  free(u8);
  free(u16);
  free(f32);
  free(expected);
}

static void test_refusals(test_run *run) {
  char path[128], other[128];
  path_in(run, "missing.png", path, sizeof path);
  check_refused(run, "a missing file", path, "No such file or directory");
  check_refused(run, "a folder", run->dir, "Is a directory");
  path_in(run, "empty.png", path, sizeof path);
  write_bytes(path, "", 0);
  check_refused(run, "an empty file", path, "the file is empty");
  path_in(run, "text.png", path, sizeof path);
  write_bytes(path, "hello, world\n", 13);
  check_refused(run, "a text file named .png", path, "not a PNG, JPEG or TIFF file");

  const size_t n = (size_t)W * H;
  uint16_t *samples = calloc(n * 3, sizeof *samples);
  uint8_t *bytes = calloc(n * 3, 1);
  for (size_t i = 0; i < n * 3; i++) bytes[i] = (uint8_t)(test_pattern((int)(i / 3 % W), (int)(i / 3 / W), 0) >> 8);
  for (size_t i = 0; i < n * 3; i++) samples[i] = bytes[i];
  path_in(run, "whole.png", other, sizeof other);
  test_write_png(other, W, H, PNG_COLOR_TYPE_RGB, 8, 0, samples);
  path_in(run, "cut.png", path, sizeof path);
  truncate_copy(other, path, 0.5);
  check_refused(run, "a PNG cut in half", path, "truncated PNG: the file ends in the middle of the image data");
  FILE *whole = fopen(other, "rb");
  fseek(whole, 0, SEEK_END);
  const long whole_size = ftell(whole);
  fclose(whole);
  truncate_copy(other, path, 20.0 / (double)whole_size); /* inside IHDR */
  check_refused(run, "a PNG cut inside its header", path, "truncated PNG: the file ends before its header is complete");
  truncate_copy(other, path, (double)(whole_size - 12) / (double)whole_size); /* IEND is the last 12 bytes */
  check_refused(run, "a PNG without its end chunk", path, "truncated PNG: the file ends after the image data");

  path_in(run, "whole.jpg", other, sizeof other);
  test_write_jpeg(other, W, H, 3, 90, bytes);
  path_in(run, "cut.jpg", path, sizeof path);
  truncate_copy(other, path, 0.6);
  check_refused(run, "a JPEG cut short", path, "truncated JPEG: the file ends in the middle of the image data");
  truncate_copy(other, path, 0.05);
  check_refused(run, "a JPEG cut inside its header", path, "truncated JPEG: the file ends before its header");

  path_in(run, "whole.tif", other, sizeof other);
  test_write_tiff(other, W, H, 3, 8, PHOTOMETRIC_RGB, 0, 0, COMPRESSION_NONE, bytes);
  path_in(run, "cut.tif", path, sizeof path);
  truncate_copy(other, path, 0.5);
  check_refused(run, "a TIFF cut in half (its directory comes last)", path, "truncated TIFF: its first directory starts at");
  path_in(run, "header.tif", path, sizeof path);
  write_bytes(path, "II*\0\xff\xff\xff\x7f garbage", 16);
  check_refused(run, "a TIFF header pointing nowhere", path,
                "truncated TIFF: its first directory starts at byte 2147483647, past the end of the file (16 bytes)");
  /* Directory first, its one strip (bytes 200 to 300) cut at 250. */
  static const uint16_t entries[][2] = {{256, 10}, {257, 10}, {258, 8}, {259, 1}, {262, 1}, {273, 200},
                                        {278, 10}, {279, 100}};
  unsigned char tiff[250] = {'I', 'I', 42, 0, 8, 0, 0, 0, 8, 0};
  for (int e = 0; e < 8; e++) {
    unsigned char *entry = tiff + 10 + 12 * e;
    const int is_long = entries[e][0] == 273 || entries[e][0] == 279;
    entry[0] = (unsigned char)entries[e][0], entry[1] = (unsigned char)(entries[e][0] >> 8);
    entry[2] = is_long ? 4 : 3; /* LONG or SHORT */
    entry[4] = 1;               /* one value */
    entry[8] = (unsigned char)entries[e][1], entry[9] = (unsigned char)(entries[e][1] >> 8);
  }
  path_in(run, "cut-strip.tif", path, sizeof path);
  write_bytes(path, tiff, sizeof tiff);
  check_refused(run, "a TIFF whose strip is cut short", path,
                "truncated TIFF: strip 1 of 1 ends at byte 300, but the file has 250 bytes");

  /* Signed 16-bit samples have no meaning as a picture here. */
  path_in(run, "signed.tif", path, sizeof path);
  TIFF *tif = TIFFOpen(path, "w");
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)W);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)H);
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)1);
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)16);
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, (uint16_t)SAMPLEFORMAT_INT);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, (uint16_t)PHOTOMETRIC_MINISBLACK);
  for (int y = 0; y < H; y++) TIFFWriteScanline(tif, samples, (uint32_t)y, 0);
  TIFFClose(tif);
  check_refused(run, "a signed 16-bit TIFF", path, "unsupported TIFF");
  free(samples);
  free(bytes);
}

static void test_conversions(test_run *run) {
  image_buffer image;
  const size_t n = (size_t)W * H;
  int ok;
  /* RGB with equal channels -> gray; one differing pixel -> refused with its position */
  for (int colour = 0; colour <= 1; colour++) {
    image.width = W;
    image.height = H;
    image.channels = 3;
    image.type = IMAGE_U8;
    image.data = malloc(n * 3);
    for (size_t i = 0; i < n; i++)
      for (int c = 0; c < 3; c++) ((uint8_t *)image.data)[3 * i + (size_t)c] = test_trimap((int)(i % W), (int)(i / W), W, H);
    if (colour) ((uint8_t *)image.data)[3 * ((size_t)7 * W + 5) + 1] ^= 1;
    int x = -1, y = -1;
    const int status = image_rgb_to_gray(&image, &x, &y);
    if (colour) {
      report(run, status != 0 && x == 5 && y == 7, "an RGB trimap with G != R at 5,7 is refused (found %d,%d)", x, y);
    } else {
      ok = status == 0 && image.channels == 1;
      for (size_t i = 0; ok && i < n; i++)
        ok = ((uint8_t *)image.data)[i] == test_trimap((int)(i % W), (int)(i / W), W, H);
      report(run, ok, "an RGB trimap with R = G = B becomes one channel with the same values");
    }
    image_free(&image);
  }
}

/* ---- writer ---- */

static int count_entries(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  int count = 0;
  for (struct dirent *e; d && (e = readdir(d)) != NULL;)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 && strncmp(e->d_name, prefix, strlen(prefix)) == 0)
      count++;
  if (d) closedir(d);
  return count;
}

static void test_alpha_formats(test_run *run) {
  static const struct {
    const char *path;
    alpha_format format;
  } cases[] = {{"a.png", ALPHA_FORMAT_PNG},        {"dir/A.PNG", ALPHA_FORMAT_PNG},
               {"x.tif", ALPHA_FORMAT_TIFF_FLOAT}, {"x.TIFF", ALPHA_FORMAT_TIFF_FLOAT},
               {"x.jpg", ALPHA_FORMAT_UNKNOWN},    {"dir.png/x", ALPHA_FORMAT_UNKNOWN},
               {"noext", ALPHA_FORMAT_UNKNOWN},    {"x.png.bmp", ALPHA_FORMAT_UNKNOWN}};
  int ok = 1;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (alpha_format_from_path(cases[i].path) != cases[i].format) {
      printf("     %s: wrong format\n", cases[i].path);
      ok = 0;
    }
  report(run, ok, "output formats from names: .png/.PNG -> PNG, .tif/.TIFF -> float TIFF, others refused");
}

static float *make_alpha(size_t n) {
  float *alpha = malloc(n * sizeof *alpha);
  for (size_t i = 0; i < n; i++) alpha[i] = (float)test_pattern((int)(i % W), (int)(i / W), 1) / 65535.0f * 1.2f - 0.1f;
  /* Values that a lossy or clamping writer would change. */
  static const float special[] = {0.0f, 1.0f, 0.5f, 1.0f / 3.0f, 1e-40f, -0.0f, -0.25f, 1.75f, 0.99999994f, 1e-7f};
  for (size_t i = 0; i < sizeof special / sizeof special[0]; i++) alpha[i * 3] = special[i];
  alpha[n - 1] = 0.5f / 255.0f;
  alpha[n - 2] = 254.5f / 255.0f;
  return alpha;
}

static void test_writer(test_run *run) {
  const size_t n = (size_t)W * H;
  float *alpha = make_alpha(n);
  char path[128], msg[512] = "";
  stderr_capture capture;

  path_in(run, "alpha.tif", path, sizeof path);
  stderr_begin(run, &capture);
  int status = image_write_alpha(path, ALPHA_FORMAT_TIFF_FLOAT, 8, alpha, W, H, NULL, msg, sizeof msg);
  long printed = stderr_end(&capture);
  test_alpha back;
  int ok = status == 0 && printed == 0 && test_read_alpha(path, &back) == 0;
  ok = ok && back.width == W && back.height == H;
  size_t differ = 0;
  for (size_t i = 0; ok && i < n; i++) {
    const float f = (float)back.values[i];
    if (memcmp(&f, &alpha[i], sizeof f) != 0) differ++;
  }
  report(run, ok && differ == 0, "float TIFF alpha reads back bit-exact through libtiff (%zu of %zu floats differ)%s",
         differ, n, status ? msg : "");
  test_alpha_free(&back);

  for (int bits = 8; bits <= 16; bits += 8) {
    path_in(run, "alpha.png", path, sizeof path);
    stderr_begin(run, &capture);
    status = image_write_alpha(path, ALPHA_FORMAT_PNG, bits, alpha, W, H, NULL, msg, sizeof msg);
    printed = stderr_end(&capture);
    ok = status == 0 && printed == 0 && test_read_alpha(path, &back) == 0;
    ok = ok && back.bits == bits && back.width == W && back.height == H;
    const double top = bits == 8 ? 255.0 : 65535.0;
    differ = 0;
    for (size_t i = 0; ok && i < n; i++) {
      const double a = alpha[i] < 0.0f ? 0.0 : alpha[i] > 1.0f ? 1.0 : alpha[i];
      if (back.values[i] != floor(a * top + 0.5)) differ++;
    }
    report(run, ok && differ == 0, "%d-bit PNG alpha holds round(clamp(a) * %g) (%zu of %zu samples differ)%s", bits,
           top, differ, n, status ? msg : "");
    test_alpha_free(&back);
  }

  struct stat st;
  memset(&st, 0, sizeof st);
  const mode_t mask = umask(0);
  umask(mask);
  const int stat_ok = stat(path, &st) == 0;
  report(run, stat_ok && (st.st_mode & 0777) == (0666 & ~mask),
         "the output file gets the usual permissions (%03o with umask %03o)", (unsigned)(st.st_mode & 0777),
         (unsigned)mask);
  report(run, count_entries(run->dir, ".") == 0, "no temporary files are left after successful writes");

  path_in(run, "no-such-folder/alpha.png", path, sizeof path);
  status = image_write_alpha(path, ALPHA_FORMAT_PNG, 8, alpha, W, H, NULL, msg, sizeof msg);
  report(run, status != 0 && strstr(msg, "No such file or directory") != NULL,
         "writing into a missing folder fails: \"%s\"", msg);

  /* A write that fails half-way (file size limit, as on a full disk): the old file must survive untouched and no
   * temporary file may remain. */
  enum { BIG = 300 };
  float *big = malloc((size_t)BIG * BIG * sizeof *big);
  /* Noise, so that no compression brings the file under the limit. */
  uint32_t state = 12345;
  for (size_t i = 0; i < (size_t)BIG * BIG; i++) {
    state = state * 1664525u + 1013904223u;
    big[i] = (float)(state >> 8) / 16777216.0f;
  }
  for (int format = 0; format < 2; format++) {
    path_in(run, format ? "kept.tif" : "kept.png", path, sizeof path);
    write_bytes(path, "old contents", 12);
    struct rlimit saved, small;
    getrlimit(RLIMIT_FSIZE, &saved);
    small = saved;
    small.rlim_cur = 4096;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    stderr_begin(run, &capture);
    status = image_write_alpha(path, format ? ALPHA_FORMAT_TIFF_FLOAT : ALPHA_FORMAT_PNG, 16, big, BIG, BIG, NULL,
                               msg, sizeof msg);
    printed = stderr_end(&capture);
    setrlimit(RLIMIT_FSIZE, &saved);
    char old[32] = "";
    FILE *file = fopen(path, "rb");
    const size_t got = file ? fread(old, 1, sizeof old - 1, file) : 0;
    if (file) fclose(file);
    old[got] = '\0';
    report(run, status != 0 && strcmp(old, "old contents") == 0 && count_entries(run->dir, ".") == 0 && printed == 0,
           "a %s write that fails half-way keeps the old file and leaves no temporary file: \"%s\"",
           format ? "TIFF" : "PNG", msg);
  }
  signal(SIGXFSZ, SIG_DFL);
  free(big);
  free(alpha);
}

static void remove_all(const char *dir) {
  DIR *d = opendir(dir);
  char path[512];
  for (struct dirent *e; d && (e = readdir(d)) != NULL;) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    unlink(path);
  }
  if (d) closedir(d);
  rmdir(dir);
}

int main(void) {
  test_run run;
  memset(&run, 0, sizeof run);
  snprintf(run.dir, sizeof run.dir, "/tmp/vitmatte-image-io-XXXXXX");
  if (!mkdtemp(run.dir)) {
    perror("mkdtemp");
    return 1;
  }
  printf("image_io checks (pictures written and alpha files read with libpng/libjpeg/libtiff directly)\n");
  test_png(&run);
  test_jpeg(&run);
  test_tiff(&run);
  test_refusals(&run);
  test_conversions(&run);
  test_alpha_formats(&run);
  test_writer(&run);
  remove_all(run.dir);
  printf("%s: %d failure%s\n", run.failures ? "FAILED" : "OK", run.failures, run.failures == 1 ? "" : "s");
  return run.failures ? 1 : 0;
}
