/* tiff_io.c - TIFF pictures in (8/16-bit and 32-bit float gray or RGB kept exact; other 8-bit kinds through
 * libtiff's RGBA converter) and 32-bit float alpha mattes out. Messages are captured per file, never printed. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tiffio.h>

#include "image_codecs.h"
#include "vitmatte.h"

/* libtiff's largest single allocation while only the header is read, and the least it is ever allowed. */
#define HEADER_ALLOCATION_LIMIT ((size_t)64 << 20)

typedef struct tiff_messages {
  char *msg;
  size_t msg_size;
  int writing; /* the caller's message already says "cannot write"; a reading error says "invalid TIFF" */
  int have_error;
} tiff_messages;

/* libtiff writes some messages over several indented lines ("Tag InkNames:\n    Value 1 of ..."): one line,
 * words apart by single spaces. */
static void collapse_whitespace(char *text) {
  char *out = text;
  for (const char *in = text; *in; in++) {
    const int space = *in == ' ' || *in == '\n' || *in == '\r' || *in == '\t';
    if (space && (out == text || out[-1] == ' ')) continue;
    *out++ = space ? ' ' : *in;
  }
  if (out > text && out[-1] == ' ') out--;
  *out = '\0';
}

/* The first error is kept: later ones are usually consequences ("cannot read strip" after "bad directory"). */
static int on_tiff_error(TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap) {
  (void)tif;
  (void)module;
  tiff_messages *messages = user_data;
  const int error_number = errno; /* libtiff's "Write error" alone does not say that the disk is full */
  if (!messages->have_error) {
    char text[400];
    vsnprintf(text, sizeof text, fmt, ap);
    collapse_whitespace(text);
    if (messages->writing && error_number != 0)
      snprintf(messages->msg, messages->msg_size, "%s (%s)", text, strerror(error_number));
    else if (messages->writing)
      snprintf(messages->msg, messages->msg_size, "%s", text);
    else
      snprintf(messages->msg, messages->msg_size, "invalid TIFF: %s", text);
    /* Some messages quote the file's own strings (ink names, tag values): valid UTF-8 whatever they hold. */
    vm_text_sanitize(messages->msg, messages->msg_size);
    messages->have_error = 1;
  }
  return 1; /* handled: libtiff's own handler, which prints to stderr, is not called */
}

static int on_tiff_warning(TIFF *tif, void *user_data, const char *module, const char *fmt, va_list ap) {
  (void)tif;
  (void)user_data;
  (void)module;
  (void)fmt;
  (void)ap;
  return 1;
}

/* `budget` (IMAGE_NO_BUDGET: none) also bounds each of libtiff's own allocations, so a directory that declares huge
 * strips or tables fails there instead of growing; never below HEADER_ALLOCATION_LIMIT, which covers the codecs'
 * fixed working memory (zlib's alone is 64 KiB) of the smallest pictures. */
static TIFF *open_tiff(const char *path, int fd, const char *mode, size_t budget, tiff_messages *messages) {
  TIFFOpenOptions *options = TIFFOpenOptionsAlloc();
  if (!options) {
    snprintf(messages->msg, messages->msg_size, "out of memory");
    messages->have_error = 1;
    if (fd >= 0) close(fd);
    return NULL;
  }
  TIFFOpenOptionsSetErrorHandlerExtR(options, on_tiff_error, messages);
  TIFFOpenOptionsSetWarningHandlerExtR(options, on_tiff_warning, messages);
  if (budget != IMAGE_NO_BUDGET) {
    const size_t limit = budget < HEADER_ALLOCATION_LIMIT ? HEADER_ALLOCATION_LIMIT : budget;
    TIFFOpenOptionsSetMaxSingleMemAlloc(options, limit > (size_t)INT64_MAX ? INT64_MAX : (tmsize_t)limit);
  }
  TIFF *tif = fd >= 0 ? TIFFFdOpenExt(fd, path, mode, options) : TIFFOpenExt(path, mode, options);
  TIFFOpenOptionsFree(options);
  if (!tif) {
    if (!messages->have_error)
      snprintf(messages->msg, messages->msg_size, "%s", messages->writing ? "cannot open" : "invalid TIFF");
    messages->have_error = 1;
    /* TIFFFdOpen leaves the descriptor open when it fails. */
    if (fd >= 0) close(fd);
  }
  return tif;
}

static void fail(tiff_messages *messages, const char *text) {
  if (!messages->have_error) snprintf(messages->msg, messages->msg_size, "%s", text);
  messages->have_error = 1;
}

/* The layout of a TIFF whose samples can be copied as they are. */
typedef struct tiff_layout {
  uint32_t width, height;
  uint16_t samples_per_pixel;
  uint16_t planar;
  int channels;            /* colour channels kept: 1 or 3; the rest (alpha, extra samples) are dropped */
  size_t sample_bytes;
} tiff_layout;

/* Copies `count` pixels of `src` (`stride` samples apart, starting at `first` sample) into channel `channel` of
 * `dst` (or into all kept channels when `channel` is negative, for interleaved data). */
static void copy_samples(const tiff_layout *layout, uint8_t *dst, const uint8_t *src, size_t count, int stride,
                         int channel) {
  const size_t s = layout->sample_bytes;
  const int n = channel < 0 ? layout->channels : 1;
  const int dst_offset = channel < 0 ? 0 : channel;
  for (size_t i = 0; i < count; i++)
    for (int c = 0; c < n; c++)
      memcpy(dst + (i * (size_t)layout->channels + (size_t)(dst_offset + c)) * s,
             src + (i * (size_t)stride + (size_t)c) * s, s);
}

static int read_strips(TIFF *tif, const tiff_layout *layout, image_buffer *out, tiff_messages *messages) {
  const int separate = layout->planar == PLANARCONFIG_SEPARATE;
  const int stride = separate ? 1 : layout->samples_per_pixel;
  const uint64_t expected = (uint64_t)layout->width * (uint64_t)stride * layout->sample_bytes;
  if ((uint64_t)TIFFScanlineSize64(tif) != expected) {
    fail(messages, "invalid TIFF: scanline size does not match the image width");
    return -1;
  }
  uint8_t *line = malloc((size_t)expected);
  if (!line) {
    fail(messages, "out of memory");
    return -1;
  }
  const size_t dst_row = (size_t)layout->width * (size_t)layout->channels * layout->sample_bytes;
  const int planes = separate ? layout->channels : 1;
  int status = 0;
  for (int plane = 0; plane < planes && status == 0; plane++) {
    for (uint32_t y = 0; y < layout->height; y++) {
      if (TIFFReadScanline(tif, line, y, (uint16_t)plane) < 0) {
        fail(messages, "invalid TIFF: cannot read a scanline");
        status = -1;
        break;
      }
      copy_samples(layout, (uint8_t *)out->data + (size_t)y * dst_row, line, layout->width, stride,
                   separate ? plane : -1);
    }
  }
  free(line);
  return status;
}

static int read_tiles(TIFF *tif, const tiff_layout *layout, image_buffer *out, tiff_messages *messages) {
  uint32_t tile_width = 0, tile_height = 0;
  TIFFGetField(tif, TIFFTAG_TILEWIDTH, &tile_width);
  TIFFGetField(tif, TIFFTAG_TILELENGTH, &tile_height);
  const int separate = layout->planar == PLANARCONFIG_SEPARATE;
  const int stride = separate ? 1 : layout->samples_per_pixel;
  const uint64_t expected = (uint64_t)tile_width * tile_height * (uint64_t)stride * layout->sample_bytes;
  if (tile_width == 0 || tile_height == 0 || (uint64_t)TIFFTileSize64(tif) != expected) {
    fail(messages, "invalid TIFF: tile size does not match the tile dimensions");
    return -1;
  }
  uint8_t *tile = malloc((size_t)expected);
  if (!tile) {
    fail(messages, "out of memory");
    return -1;
  }
  const size_t dst_row = (size_t)layout->width * (size_t)layout->channels * layout->sample_bytes;
  const size_t src_row = (size_t)tile_width * (size_t)stride * layout->sample_bytes;
  const int planes = separate ? layout->channels : 1;
  int status = 0;
  for (int plane = 0; plane < planes && status == 0; plane++)
    for (uint32_t ty = 0; ty < layout->height && status == 0; ty += tile_height)
      for (uint32_t tx = 0; tx < layout->width; tx += tile_width) {
        if (TIFFReadTile(tif, tile, tx, ty, 0, (uint16_t)plane) < 0) {
          fail(messages, "invalid TIFF: cannot read a tile");
          status = -1;
          break;
        }
        /* Edge tiles are stored full size; only the part inside the image is copied. */
        const uint32_t rows = layout->height - ty < tile_height ? layout->height - ty : tile_height;
        const uint32_t cols = layout->width - tx < tile_width ? layout->width - tx : tile_width;
        for (uint32_t r = 0; r < rows; r++) {
          uint8_t *dst = (uint8_t *)out->data + (size_t)(ty + r) * dst_row +
                         (size_t)tx * (size_t)layout->channels * layout->sample_bytes;
          copy_samples(layout, dst, tile + (size_t)r * src_row, cols, stride, separate ? plane : -1);
        }
      }
  free(tile);
  return status;
}

/* Palette, bilevel, 4-bit, YCbCr, CMYK, inverted gray...: libtiff converts them to 8-bit RGBA for us. Only used for
 * kinds whose samples have at most 8 bits, so no precision is lost. */
static int read_through_rgba(TIFF *tif, uint32_t width, uint32_t height, image_buffer *out,
                             tiff_messages *messages) {
  if (image_allocate(out, (int)width, (int)height, 4, IMAGE_U8, messages->msg, messages->msg_size) != 0) {
    messages->have_error = 1;
    return -1;
  }
  uint32_t *raster = out->data;
  if (!TIFFReadRGBAImageOriented(tif, width, height, raster, ORIENTATION_TOPLEFT, 0)) {
    fail(messages, "invalid TIFF: cannot decode the image");
    return -1;
  }
  /* The raster holds one packed uint32 per pixel (R in the low byte); unpack in place into R,G,B bytes. */
  uint8_t *bytes = out->data;
  const size_t count = (size_t)width * height;
  for (size_t i = 0; i < count; i++) {
    const uint32_t p = raster[i];
    bytes[3 * i] = (uint8_t)TIFFGetR(p);
    bytes[3 * i + 1] = (uint8_t)TIFFGetG(p);
    bytes[3 * i + 2] = (uint8_t)TIFFGetB(p);
  }
  out->channels = 3;
  return 0;
}

/* Every strip or tile must lie inside the file: one that runs past its end means the file was cut short, which
 * libtiff would only report strip by strip while decoding ("Read error at scanline..."). */
static int check_extents(TIFF *tif, tiff_messages *messages) {
  struct stat st;
  if (fstat(TIFFFileno(tif), &st) != 0) return 0;
  const uint64_t size = (uint64_t)st.st_size;
  const uint32_t count = TIFFNumberOfStrips(tif); /* tiles too, for a tiled file */
  for (uint32_t i = 0; i < count; i++) {
    const uint64_t offset = TIFFGetStrileOffset(tif, i), bytes = TIFFGetStrileByteCount(tif, i);
    if (bytes != 0 && (offset > size || bytes > size - offset)) {
      char text[200];
      snprintf(text, sizeof text, "truncated TIFF: %s %u of %u ends at byte %llu, but the file has %llu bytes",
               TIFFIsTiled(tif) ? "tile" : "strip", (unsigned)i + 1, (unsigned)count,
               (unsigned long long)(offset + bytes), (unsigned long long)size);
      fail(messages, text);
      return -1;
    }
  }
  return 0;
}

/* Reads the first directory: the layout, whether its samples are copied exactly or go through libtiff's RGBA
 * converter, and what reading it costs. Refuses kinds neither path handles. */
static int read_layout(TIFF *tif, tiff_layout *layout, int *exact, image_header *header, tiff_messages *messages) {
  memset(layout, 0, sizeof *layout);
  uint16_t bits = 1, format = SAMPLEFORMAT_UINT, photometric = 0;
  if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &layout->width) ||
      !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &layout->height)) {
    fail(messages, "invalid TIFF: no image size");
    return -1;
  }
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &layout->samples_per_pixel);
  TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &layout->planar);
  if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photometric)) photometric = PHOTOMETRIC_MINISBLACK;
  if (layout->width == 0 || layout->height == 0 || layout->width > INT32_MAX || layout->height > INT32_MAX) {
    fail(messages, "invalid TIFF: bad image size");
    return -1;
  }

  if (check_extents(tif, messages) != 0) return -1;

  const int plain_kind = (photometric == PHOTOMETRIC_MINISBLACK && layout->samples_per_pixel >= 1) ||
                         (photometric == PHOTOMETRIC_RGB && layout->samples_per_pixel >= 3);
  const int exact_samples = (format == SAMPLEFORMAT_UINT && (bits == 8 || bits == 16)) ||
                            (format == SAMPLEFORMAT_IEEEFP && bits == 32);
  const int width = (int)layout->width, height = (int)layout->height;
  /* Besides the picture, one strip or tile at a time: as stored, and decoded (a line or a tile for the exact
   * path, libtiff's strip for the RGBA one). */
  const uint64_t chunk = (uint64_t)(TIFFIsTiled(tif) ? TIFFTileSize64(tif) : TIFFStripSize64(tif));
  const size_t extra = chunk > SIZE_MAX / 2 ? SIZE_MAX : (size_t)(2 * chunk);
  if (plain_kind && exact_samples) {
    *exact = 1;
    layout->channels = photometric == PHOTOMETRIC_RGB ? 3 : 1;
    layout->sample_bytes = (size_t)bits / 8;
    const image_sample_type type = bits == 8 ? IMAGE_U8 : bits == 16 ? IMAGE_U16 : IMAGE_F32;
    *header = (image_header){width, height, layout->channels, type,
                             image_bytes(width, height, layout->channels, type, extra)};
    return 0;
  }
  if (bits <= 8 && format == SAMPLEFORMAT_UINT) {
    char why[1024] = "";
    if (!TIFFRGBAImageOK(tif, why)) {
      char text[1200];
      snprintf(text, sizeof text, "unsupported TIFF: %s", why);
      fail(messages, text);
      return -1;
    }
    *exact = 0;
    *header = (image_header){width, height, 3, IMAGE_U8, image_bytes(width, height, 4, IMAGE_U8, extra)};
    return 0;
  }
  char text[200];
  snprintf(text, sizeof text,
           "unsupported TIFF: %u-bit %s samples with photometric interpretation %u (use 8/16-bit or 32-bit float "
           "gray or RGB)",
           (unsigned)bits,
           format == SAMPLEFORMAT_IEEEFP ? "float" : format == SAMPLEFORMAT_INT ? "signed" : "unsigned",
           (unsigned)photometric);
  fail(messages, text);
  return -1;
}

static int decode(TIFF *tif, const tiff_layout *layout, int exact, image_buffer *out, tiff_messages *messages) {
  if (!exact) return read_through_rgba(tif, layout->width, layout->height, out, messages);
  const image_sample_type type = layout->sample_bytes == 1   ? IMAGE_U8
                                 : layout->sample_bytes == 2 ? IMAGE_U16
                                                             : IMAGE_F32;
  if (image_allocate(out, (int)layout->width, (int)layout->height, layout->channels, type, messages->msg,
                     messages->msg_size) != 0) {
    messages->have_error = 1;
    return -1;
  }
  return TIFFIsTiled(tif) ? read_tiles(tif, layout, out, messages) : read_strips(tif, layout, out, messages);
}

/* The first directory must start inside the file: TIFF writers put it last, so a file cut short loses it first,
 * which libtiff reports only as "Can not read TIFF directory count". 0 when it does (or cannot be told). */
static int check_first_directory(FILE *file, char *msg, size_t msg_size) {
  unsigned char head[16];
  struct stat st;
  const size_t got = fseek(file, 0, SEEK_SET) == 0 ? fread(head, 1, sizeof head, file) : 0;
  if (got < 8 || fstat(fileno(file), &st) != 0) return 0;
  const int big_endian = head[0] == 'M', big_tiff = head[big_endian ? 3 : 2] == 43;
  const size_t at = big_tiff ? 8 : 4, width = big_tiff ? 8 : 4;
  if (got < at + width) return 0;
  uint64_t offset = 0;
  for (size_t i = 0; i < width; i++)
    offset |= (uint64_t)head[at + (big_endian ? i : width - 1 - i)] << (8 * (width - 1 - i));
  if (offset < (uint64_t)st.st_size) return 0;
  snprintf(msg, msg_size, "truncated TIFF: its first directory starts at byte %llu, past the end of the file (%llu "
           "bytes)", (unsigned long long)offset, (unsigned long long)st.st_size);
  return -1;
}

int read_tiff_file(FILE *file, const char *name, size_t budget, image_header *header, image_buffer *out, char *msg,
                   size_t msg_size) {
  if (out) memset(out, 0, sizeof *out);
  if (check_first_directory(file, msg, msg_size) != 0) return -1;
  /* libtiff reads through a descriptor of its own (TIFFClose closes it): a duplicate of the caller's, so the file
   * is opened once. It shares the file offset, which libtiff's header read starts from: back to the start. */
  const int fd = dup(fileno(file));
  if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0) {
    snprintf(msg, msg_size, "%s", strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  tiff_messages messages = {msg, msg_size, 0, 0};
  /* Reading a header allocates only directory tables, which no real file needs more than a few MiB for. */
  TIFF *tif = open_tiff(name, fd, "r", out ? budget : 0, &messages);
  if (!tif) return -1;
  tiff_layout layout;
  image_header found;
  int exact = 0;
  int status = read_layout(tif, &layout, &exact, &found, &messages);
  if (status == 0 && header) *header = found;
  if (status == 0 && out) {
    status = image_check_budget(found.width, found.height, found.decode_bytes, budget, "TIFF", msg, msg_size);
    if (status != 0) messages.have_error = 1;
    else status = decode(tif, &layout, exact, out, &messages);
  }
  TIFFClose(tif);
  if (status != 0 || messages.have_error) {
    if (out) image_free(out);
    return -1;
  }
  return 0;
}

int write_tiff_samples(int fd, const char *name, const float *samples, int width, int height, int channels,
                       char *msg, size_t msg_size) {
  tiff_messages messages = {msg, msg_size, 1, 0};
  TIFF *tif = open_tiff(name, fd, "w", IMAGE_NO_BUDGET, &messages);
  if (!tif) return -1;
  /* Deflate with the floating-point predictor is lossless and much smaller than raw floats; every TIFF reader
   * built on libtiff (GIMP's included) decodes it. */
  const int deflate = TIFFIsCODECConfigured(COMPRESSION_ADOBE_DEFLATE);
  TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, (uint32_t)width);
  TIFFSetField(tif, TIFFTAG_IMAGELENGTH, (uint32_t)height);
  TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, (uint16_t)channels);
  TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, (uint16_t)32);
  TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, (uint16_t)SAMPLEFORMAT_IEEEFP);
  TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, (uint16_t)(channels >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK));
  if (channels == 2 || channels == 4) { /* the last channel is a straight (unassociated) alpha */
    const uint16_t extra = EXTRASAMPLE_UNASSALPHA;
    TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, (uint16_t)1, &extra);
  }
  TIFFSetField(tif, TIFFTAG_PLANARCONFIG, (uint16_t)PLANARCONFIG_CONTIG);
  TIFFSetField(tif, TIFFTAG_COMPRESSION, (uint16_t)(deflate ? COMPRESSION_ADOBE_DEFLATE : COMPRESSION_NONE));
  if (deflate) TIFFSetField(tif, TIFFTAG_PREDICTOR, (uint16_t)PREDICTOR_FLOATINGPOINT);
  TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(tif, 0));

  /* libtiff may encode (predict, byte-swap) the row in place, so each row is copied first. */
  const size_t row_samples = (size_t)width * (size_t)channels;
  float *row = malloc(row_samples * sizeof *row);
  int status = row ? 0 : -1;
  if (!row) fail(&messages, "out of memory");
  for (int y = 0; y < height && status == 0; y++) {
    memcpy(row, samples + (size_t)y * row_samples, row_samples * sizeof *row);
    errno = 0;
    if (TIFFWriteScanline(tif, row, (uint32_t)y, 0) < 0) {
      fail(&messages, "write failed");
      status = -1;
    }
  }
  errno = 0;
  if (status == 0 && !TIFFFlush(tif)) {
    fail(&messages, "write failed");
    status = -1;
  }
  free(row);
  TIFFClose(tif);
  return status == 0 && !messages.have_error ? 0 : -1;
}
