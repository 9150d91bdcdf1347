/* test_image_files.c - reference encoders and decoders for the CLI tests, written against the codec libraries
 * directly (not through tools/image_io), so that a mistake there cannot hide itself in both places. */
#include "test_image_files.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <tiffio.h>

static void die(const char *what, const char *path) {
  fprintf(stderr, "FAIL fixture: %s (%s)\n", what, path);
  exit(1);
}

static uint32_t hash(uint32_t v) {
  v ^= v >> 16;
  v *= 0x7feb352dU;
  v ^= v >> 15;
  v *= 0x846ca68bU;
  v ^= v >> 16;
  return v;
}

uint16_t test_pattern(int x, int y, int channel) {
  const double fx = x * (0.031 + 0.01 * channel), fy = y * (0.047 - 0.01 * channel);
  const double smooth = 0.5 + 0.35 * sin(fx + 1.3 * channel) * cos(fy);
  const double noise = ((hash((uint32_t)x * 73856093u ^ (uint32_t)y * 19349663u ^ (uint32_t)channel) & 0xffff) /
                        65535.0 - 0.5) * 0.2;
  double v = smooth + noise;
  if (v < 0) v = 0;
  if (v > 1) v = 1;
  return (uint16_t)lround(v * 65535.0);
}

uint8_t test_trimap(int x, int y, int width, int height) {
  const double dx = x - 0.5 * width, dy = y - 0.45 * height;
  const double r = sqrt(dx * dx + dy * dy), radius = 0.3 * (width < height ? width : height);
  if (r < radius) return 255;
  if (r < radius * 1.4) return 128;
  return 0;
}

/* ---- PNG ---- */

void test_write_png(const char *path, int width, int height, int color_type, int bits, int interlaced,
                    const uint16_t *samples) {
  FILE *file = fopen(path, "wb");
  if (!file) die("cannot create", path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) die("libpng", path);
  if (setjmp(png_jmpbuf(png))) die("libpng write failed", path);
  png_init_io(png, file);
  png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, bits, color_type,
               interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  const int channels = color_type == PNG_COLOR_TYPE_GRAY ? 1 : color_type == PNG_COLOR_TYPE_GRAY_ALPHA ? 2
                       : color_type == PNG_COLOR_TYPE_RGB ? 3 : 4;
  const size_t row_bytes = ((size_t)width * (size_t)channels * (size_t)bits + 7) / 8;
  png_bytep image = calloc((size_t)height, row_bytes);
  png_bytep *rows = malloc((size_t)height * sizeof *rows);
  if (!image || !rows) die("out of memory", path);
  /* Pack by hand (big-endian 16-bit, MSB-first sub-byte samples), as the PNG specification lays rows out. */
  for (int y = 0; y < height; y++) {
    rows[y] = image + (size_t)y * row_bytes;
    for (size_t i = 0; i < (size_t)width * (size_t)channels; i++) {
      const unsigned v = samples[(size_t)y * (size_t)width * (size_t)channels + i];
      if (bits == 16) {
        rows[y][2 * i] = (png_byte)(v >> 8);
        rows[y][2 * i + 1] = (png_byte)(v & 0xff);
      } else if (bits == 8) {
        rows[y][i] = (png_byte)v;
      } else {
        const size_t bit = i * (size_t)bits;
        rows[y][bit / 8] |= (png_byte)(v << (8 - bits - (int)(bit % 8)));
      }
    }
  }
  png_set_rows(png, info, rows);
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
  png_destroy_write_struct(&png, &info);
  free(rows);
  free(image);
  if (fclose(file) != 0) die("cannot write", path);
}

void test_write_png_palette(const char *path, int width, int height, const uint8_t *indices,
                            const uint8_t *palette, int palette_size, int transparent) {
  FILE *file = fopen(path, "wb");
  if (!file) die("cannot create", path);
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) die("libpng", path);
  if (setjmp(png_jmpbuf(png))) die("libpng write failed", path);
  png_init_io(png, file);
  png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_color colors[256];
  for (int i = 0; i < palette_size; i++) {
    colors[i].red = palette[3 * i];
    colors[i].green = palette[3 * i + 1];
    colors[i].blue = palette[3 * i + 2];
  }
  png_set_PLTE(png, info, colors, palette_size);
  png_byte alphas[256];
  for (int i = 0; i < transparent; i++) alphas[i] = (png_byte)(i * 37);
  if (transparent > 0) png_set_tRNS(png, info, alphas, transparent, NULL);
  png_bytep *rows = malloc((size_t)height * sizeof *rows);
  if (!rows) die("out of memory", path);
  for (int y = 0; y < height; y++) rows[y] = (png_bytep)indices + (size_t)y * (size_t)width;
  png_set_rows(png, info, rows);
  png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
  png_destroy_write_struct(&png, &info);
  free(rows);
  if (fclose(file) != 0) die("cannot write", path);
}

/* ---- JPEG ---- */

static void write_jpeg(const char *path, int width, int height, int channels, int quality, int progressive,
                       const uint8_t *samples) {
  FILE *file = fopen(path, "wb");
  if (!file) die("cannot create", path);
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr); /* the default handler exits, which is what a fixture failure should do */
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, file);
  cinfo.image_width = (JDIMENSION)width;
  cinfo.image_height = (JDIMENSION)height;
  cinfo.input_components = channels;
  cinfo.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  if (progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = (JSAMPROW)(samples + (size_t)cinfo.next_scanline * (size_t)width * (size_t)channels);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  if (fclose(file) != 0) die("cannot write", path);
}

void test_write_jpeg(const char *path, int width, int height, int channels, int quality, const uint8_t *samples) {
  write_jpeg(path, width, height, channels, quality, 0, samples);
}

void test_write_jpeg_progressive(const char *path, int width, int height, int channels, int quality,
                                 const uint8_t *samples) {
  write_jpeg(path, width, height, channels, quality, 1, samples);
}

/* ---- TIFF ---- */

static TIFF *create_tiff(const char *path, int width, int height, int samples_per_pixel, int bits, int photometric,
                         int separate_planes, int tiled, int compression) {
  TIFF *tif = TIFFOpen(path, "w");
  if (!tif) die("cannot create", path);
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)width);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)height);
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)samples_per_pixel);
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)bits);
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, (uint16_t)(bits == 32 ? SAMPLEFORMAT_IEEEFP : SAMPLEFORMAT_UINT));
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, (uint16_t)photometric);
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, (uint16_t)(separate_planes ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG));
  TIFFSetField(tif, TIFFTAG_COMPRESSION, (uint16_t)compression);
  const int color = photometric == PHOTOMETRIC_RGB ? 3 : 1;
  if (samples_per_pixel > color) {
    uint16_t extra[4] = {EXTRASAMPLE_UNASSALPHA, EXTRASAMPLE_UNSPECIFIED, EXTRASAMPLE_UNSPECIFIED,
                         EXTRASAMPLE_UNSPECIFIED};
    TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, (uint16_t)(samples_per_pixel - color), extra);
  }
  if (tiled) {
    TIFFSetField(tif, TIFFTAG_TILEWIDTH, (uint32_t)16);
    TIFFSetField(tif, TIFFTAG_TILELENGTH, (uint32_t)16);
  } else {
    TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t)3); /* several strips, one of them short */
  }
  return tif;
}

/* One sample of `samples` (interleaved) as raw bytes of the TIFF sample width. */
static void put_sample(uint8_t *dst, const void *samples, size_t index, int bits) {
  if (bits == 8 || bits == 1)
    dst[0] = ((const uint8_t *)samples)[index];
  else if (bits == 16)
    memcpy(dst, (const uint16_t *)samples + index, 2);
  else
    memcpy(dst, (const float *)samples + index, 4);
}

void test_write_tiff(const char *path, int width, int height, int samples_per_pixel, int bits, int photometric,
                     int separate_planes, int tiled, int compression, const void *samples) {
  TIFF *tif = create_tiff(path, width, height, samples_per_pixel, bits, photometric, separate_planes, tiled,
                          compression);
  const size_t sample_bytes = bits == 1 ? 1 : (size_t)bits / 8;
  const int planes = separate_planes ? samples_per_pixel : 1;
  const int per_plane = separate_planes ? 1 : samples_per_pixel;
  if (bits == 1) {
    /* Bilevel rows are bit-packed, MSB first. */
    const tmsize_t row_bytes = (width + 7) / 8;
    uint8_t *row = malloc((size_t)row_bytes);
    for (int y = 0; y < height; y++) {
      memset(row, 0, (size_t)row_bytes);
      for (int x = 0; x < width; x++)
        if (((const uint8_t *)samples)[(size_t)y * (size_t)width + (size_t)x]) row[x / 8] |= (uint8_t)(0x80 >> (x % 8));
      if (TIFFWriteScanline(tif, row, (uint32_t)y, 0) < 0) die("libtiff write failed", path);
    }
    free(row);
  } else if (!tiled) {
    uint8_t *row = malloc((size_t)width * (size_t)per_plane * sample_bytes);
    for (int plane = 0; plane < planes; plane++)
      for (int y = 0; y < height; y++) {
        for (int x = 0; x < width; x++)
          for (int s = 0; s < per_plane; s++)
            put_sample(row + ((size_t)x * (size_t)per_plane + (size_t)s) * sample_bytes, samples,
                       ((size_t)y * (size_t)width + (size_t)x) * (size_t)samples_per_pixel +
                           (size_t)(separate_planes ? plane : s),
                       bits);
        if (TIFFWriteScanline(tif, row, (uint32_t)y, (uint16_t)plane) < 0) die("libtiff write failed", path);
      }
    free(row);
  } else {
    const size_t tile_bytes = 16 * 16 * (size_t)per_plane * sample_bytes;
    uint8_t *tile = malloc(tile_bytes);
    for (int plane = 0; plane < planes; plane++)
      for (int ty = 0; ty < height; ty += 16)
        for (int tx = 0; tx < width; tx += 16) {
          memset(tile, 0, tile_bytes);
          for (int y = ty; y < ty + 16 && y < height; y++)
            for (int x = tx; x < tx + 16 && x < width; x++)
              for (int s = 0; s < per_plane; s++)
                put_sample(tile + (((size_t)(y - ty) * 16 + (size_t)(x - tx)) * (size_t)per_plane + (size_t)s) *
                                      sample_bytes,
                           samples,
                           ((size_t)y * (size_t)width + (size_t)x) * (size_t)samples_per_pixel +
                               (size_t)(separate_planes ? plane : s),
                           bits);
          if (TIFFWriteTile(tif, tile, (uint32_t)tx, (uint32_t)ty, 0, (uint16_t)plane) < 0)
            die("libtiff write failed", path);
        }
    free(tile);
  }
  TIFFClose(tif);
}

void test_write_tiff_palette(const char *path, int width, int height, const uint8_t *indices,
                             const uint16_t *colormap) {
  TIFF *tif = create_tiff(path, width, height, 1, 8, PHOTOMETRIC_PALETTE, 0, 0, COMPRESSION_NONE);
  TIFFSetField(tif, TIFFTAG_COLORMAP, colormap, colormap + 256, colormap + 512);
  for (int y = 0; y < height; y++)
    if (TIFFWriteScanline(tif, (void *)(indices + (size_t)y * (size_t)width), (uint32_t)y, 0) < 0)
      die("libtiff write failed", path);
  TIFFClose(tif);
}

/* ---- reading alpha files ---- */

static int read_alpha_png(const char *path, test_alpha *out, int any_channels) {
  FILE *file = fopen(path, "rb");
  if (!file) return -1;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) die("libpng", path);
  if (setjmp(png_jmpbuf(png))) die("libpng read failed", path);
  png_init_io(png, file);
  png_read_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
  const int bits = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
  const int channels = png_get_channels(png, info);
  if ((any_channels ? type == PNG_COLOR_TYPE_PALETTE : type != PNG_COLOR_TYPE_GRAY) || (bits != 8 && bits != 16) ||
      png_get_interlace_type(png, info) != PNG_INTERLACE_NONE) {
    fprintf(stderr, "%s: not an 8/16-bit %sPNG\n", path, any_channels ? "" : "gray ");
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    return -1;
  }
  out->width = (int)png_get_image_width(png, info);
  out->height = (int)png_get_image_height(png, info);
  out->bits = bits;
  out->channels = channels;
  const size_t row_samples = (size_t)out->width * (size_t)channels;
  out->values = malloc(row_samples * (size_t)out->height * sizeof *out->values);
  png_bytepp rows = png_get_rows(png, info);
  for (int y = 0; y < out->height; y++)
    for (size_t x = 0; x < row_samples; x++)
      out->values[(size_t)y * row_samples + x] =
          bits == 8 ? rows[y][x] : (double)((rows[y][2 * x] << 8) | rows[y][2 * x + 1]);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(file);
  return 0;
}

static int read_alpha_tiff(const char *path, test_alpha *out, int any_channels) {
  TIFF *tif = TIFFOpen(path, "r");
  if (!tif) return -1;
  uint32_t width = 0, height = 0;
  uint16_t spp = 0, bits = 0, format = 0, photometric = 0, planar = 0;
  TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &height);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric);
  const int photometric_ok = spp >= 3 ? photometric == PHOTOMETRIC_RGB : photometric == PHOTOMETRIC_MINISBLACK;
  if ((any_channels ? spp < 1 || spp > 4 : spp != 1) || bits != 32 || format != SAMPLEFORMAT_IEEEFP ||
      !photometric_ok || TIFFIsTiled(tif) || TIFFScanlineSize64(tif) != (uint64_t)width * 4 * spp) {
    fprintf(stderr, "%s: not a %s32-bit float TIFF (spp %u, bits %u, format %u, photometric %u)\n", path,
            any_channels ? "" : "one-channel ", spp, bits, format, photometric);
    TIFFClose(tif);
    return -1;
  }
  out->width = (int)width;
  out->height = (int)height;
  out->bits = 32;
  out->channels = spp;
  const size_t row_samples = (size_t)width * spp;
  out->values = malloc(row_samples * height * sizeof *out->values);
  float *row = malloc(row_samples * sizeof *row);
  for (uint32_t y = 0; y < height; y++) {
    if (TIFFReadScanline(tif, row, y, 0) < 0) die("libtiff read failed", path);
    for (size_t x = 0; x < row_samples; x++) out->values[(size_t)y * row_samples + x] = row[x];
  }
  free(row);
  TIFFClose(tif);
  return 0;
}

static int read_samples(const char *path, test_alpha *out, int any_channels) {
  memset(out, 0, sizeof *out);
  FILE *file = fopen(path, "rb");
  if (!file) {
    fprintf(stderr, "%s: cannot open\n", path);
    return -1;
  }
  unsigned char head[4] = {0};
  const size_t n = fread(head, 1, 4, file);
  fclose(file);
  if (n == 4 && head[0] == 0x89 && head[1] == 'P') return read_alpha_png(path, out, any_channels);
  if (n == 4 && (head[0] == 'I' || head[0] == 'M')) return read_alpha_tiff(path, out, any_channels);
  fprintf(stderr, "%s: neither PNG nor TIFF\n", path);
  return -1;
}

int test_read_alpha(const char *path, test_alpha *out) { return read_samples(path, out, 0); }
int test_read_samples(const char *path, test_alpha *out) { return read_samples(path, out, 1); }

void test_alpha_free(test_alpha *alpha) {
  free(alpha->values);
  memset(alpha, 0, sizeof *alpha);
}
