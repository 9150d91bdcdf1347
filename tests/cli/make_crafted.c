/* make_crafted.c - test files made to be refused: headers that declare a huge picture over only its first rows, as
 * an attacker crafts them (a few hundred bytes that would cost gigabytes if a reader believed the header), and a
 * trimap of only black and white. Owns: writing them with the codec libraries (zlib's CRC for the patched PNG).
 * Usage: make_crafted png|jpeg|tiff|known-trimap WIDTH HEIGHT OUT */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>
#include <zlib.h>

#include <jpeglib.h>

enum { ROWS = 4 };

static int die(const char *what, const char *path) {
  fprintf(stderr, "make_crafted: %s %s\n", what, path);
  return 1;
}

/* A complete 8-bit gray PNG of `height` copies of `row` into the open file `f`. */
static int gray_png(FILE *f, const char *path, int width, int height, unsigned char *row) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!f || !info || setjmp(png_jmpbuf(png))) return die("cannot write", path);
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < height; y++) png_write_row(png, row);
  png_write_end(png, info);
  png_destroy_write_struct(&png, &info);
  return 0;
}

/* A complete small PNG whose IHDR is then rewritten (size and CRC) to declare width x height. */
static int write_png(const char *path, int width, int height, unsigned char *row) {
  FILE *f = fopen(path, "w+b");
  if (gray_png(f, path, 8, ROWS, row) != 0) return 1;
  /* IHDR: length at 8, type at 12, width and height (big-endian) at 16 and 20, CRC of type + data at 29. */
  unsigned char ihdr[17];
  if (fflush(f) != 0 || fseek(f, 12, SEEK_SET) != 0 || fread(ihdr, 1, sizeof ihdr, f) != sizeof ihdr)
    return die("cannot reread", path);
  for (int i = 0; i < 4; i++) {
    ihdr[4 + i] = (unsigned char)((unsigned)width >> (24 - 8 * i));
    ihdr[8 + i] = (unsigned char)((unsigned)height >> (24 - 8 * i));
  }
  const unsigned long crc = crc32(crc32(0L, Z_NULL, 0), ihdr, sizeof ihdr);
  unsigned char crc_bytes[4] = {(unsigned char)(crc >> 24), (unsigned char)(crc >> 16), (unsigned char)(crc >> 8),
                                (unsigned char)crc};
  if (fseek(f, 12, SEEK_SET) != 0 || fwrite(ihdr, 1, sizeof ihdr, f) != sizeof ihdr ||
      fwrite(crc_bytes, 1, 4, f) != 4)
    return die("cannot patch", path);
  return fclose(f) == 0 ? 0 : die("cannot close", path);
}

/* SOI, tables, SOF, SOS and the first rows' data, cut there (no EOI). */
static int write_jpeg(const char *path, int width, int height, unsigned char *row) {
  FILE *f = fopen(path, "wb");
  if (!f) return die("cannot write", path);
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, f);
  cinfo.image_width = (JDIMENSION)width;
  cinfo.image_height = (JDIMENSION)height;
  cinfo.input_components = 1;
  cinfo.in_color_space = JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  for (int y = 0; y < 16; y++) jpeg_write_scanlines(&cinfo, &row, 1);
  fflush(f);
  jpeg_abort_compress(&cinfo); /* leaves what was written, without the rest and without EOI */
  jpeg_destroy_compress(&cinfo);
  return fclose(f) == 0 ? 0 : die("cannot close", path);
}

/* A directory for a width x height gray picture in one deflated strip of which only the first rows exist. */
static int write_tiff(const char *path, int width, int height, unsigned char *row) {
  TIFF *tif = TIFFOpen(path, "w");
  if (!tif) return die("cannot write", path);
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)width);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)ROWS);
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)1);
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)8);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, (uint16_t)PHOTOMETRIC_MINISBLACK);
  TIFFSetField(tif, TIFFTAG_COMPRESSION, (uint16_t)COMPRESSION_ADOBE_DEFLATE);
  TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, (uint32_t)height);
  for (int y = 0; y < ROWS; y++) TIFFWriteScanline(tif, row, (uint32_t)y, 0);
  /* The directory is written last: only now does it get the declared height. */
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)height);
  TIFFClose(tif);
  return 0;
}

/* A gray trimap with no unknown pixel: background on the left half, foreground on the right. */
static int write_known_trimap(const char *path, int width, int height, unsigned char *row) {
  for (int x = 0; x < width; x++) row[x] = x < width / 2 ? 0 : 255;
  FILE *f = fopen(path, "wb");
  if (gray_png(f, path, width, height, row) != 0) return 1;
  return fclose(f) == 0 ? 0 : die("cannot close", path);
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: make_crafted png|jpeg|tiff|known-trimap WIDTH HEIGHT OUT\n");
    return 2;
  }
  const int width = atoi(argv[2]), height = atoi(argv[3]);
  unsigned char *row = calloc((size_t)width, 1);
  if (!row || width <= 0 || height <= 0) return die("bad size for", argv[4]);
  int status;
  if (strcmp(argv[1], "png") == 0) status = write_png(argv[4], width, height, row);
  else if (strcmp(argv[1], "jpeg") == 0) status = write_jpeg(argv[4], width, height, row);
  else if (strcmp(argv[1], "tiff") == 0) status = write_tiff(argv[4], width, height, row);
  else if (strcmp(argv[1], "known-trimap") == 0) status = write_known_trimap(argv[4], width, height, row);
  else status = die("unknown format for", argv[4]);
  free(row);
  return status;
}
