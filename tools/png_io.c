/* png_io.c - PNG pictures in (any colour type and depth) and grayscale alpha mattes out, through libpng.
 * libpng reports errors by calling a handler that must not return; ours records the message and longjmps back. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image_codecs.h"

/* Where a reading is, for saying where a file ends too early. */
typedef enum read_stage { STAGE_HEADER = 0, STAGE_IMAGE, STAGE_END } read_stage;

typedef struct error_jump {
  jmp_buf jump;
  int writing; /* the caller's message already says "cannot write"; a reading error says "invalid PNG" */
  read_stage stage;
  int ended;   /* the file ended before libpng had what it asked for */
  int failed;  /* the file could not be read: errno says why */
  int error_number;
  char *msg;
  size_t msg_size;
} error_jump;

/* libpng's own reader says only "Read Error" for both an early end and an I/O error; this one tells them apart. */
static void read_bytes(png_structp png, png_bytep data, size_t length) {
  FILE *file = png_get_io_ptr(png);
  errno = 0;
  if (fread(data, 1, length, file) == length) return;
  error_jump *failure = png_get_error_ptr(png);
  if (ferror(file)) {
    failure->failed = 1;
    failure->error_number = errno;
  } else {
    failure->ended = 1;
  }
  png_error(png, "Read Error");
}

static void on_png_error(png_structp png, png_const_charp text) {
  const int error_number = errno; /* libpng's "Write Error" alone does not say that the disk is full */
  error_jump *failure = png_get_error_ptr(png);
  static const char *const where[] = {"before its header is complete", "in the middle of the image data",
                                      "after the image data, without the end chunk"};
  if (failure->writing && error_number != 0)
    snprintf(failure->msg, failure->msg_size, "%s (%s)", text, strerror(error_number));
  else if (failure->writing)
    snprintf(failure->msg, failure->msg_size, "%s", text);
  else if (failure->ended)
    snprintf(failure->msg, failure->msg_size, "truncated PNG: the file ends %s", where[failure->stage]);
  else if (failure->failed)
    snprintf(failure->msg, failure->msg_size, "cannot read the file: %s",
             failure->error_number ? strerror(failure->error_number) : "read error");
  else if (strcmp(text, "Not enough image data") == 0)
    snprintf(failure->msg, failure->msg_size, "truncated PNG: the compressed image data ends before the last row");
  else
    snprintf(failure->msg, failure->msg_size, "invalid PNG: %s", text);
  longjmp(failure->jump, 1);
}

/* Warnings (unknown chunks, bad gamma values...) do not stop decoding and must not reach the terminal. */
static void on_png_warning(png_structp png, png_const_charp text) {
  (void)png;
  (void)text;
}

static int host_is_little_endian(void) {
  const uint16_t one = 1;
  uint8_t first;
  memcpy(&first, &one, 1);
  return first == 1;
}

/* Everything a longjmp may have to clean up lives here, in the caller's frame, not in locals of the function
 * that calls setjmp (whose non-volatile locals are indeterminate after the jump). */
typedef struct read_state {
  png_structp png;
  png_infop info;
  png_bytep *rows;
  size_t budget;
  image_header *header; /* may be NULL */
  image_buffer *out;    /* NULL: the header only */
  error_jump failure;
} read_state;

static int decode_png(read_state *r, FILE *file) {
  if (setjmp(r->failure.jump)) return -1;
  png_set_read_fn(r->png, file, read_bytes);
  png_read_info(r->png, r->info);

  const int color_type = png_get_color_type(r->png, r->info);
  const int bit_depth = png_get_bit_depth(r->png, r->info);
  /* Palette entries become RGB and low gray depths become 8 bits; the transparency chunk may add an alpha
   * channel, which is dropped below together with real alpha channels. */
  if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(r->png);
  if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(r->png);
  if (bit_depth == 16 && host_is_little_endian()) png_set_swap(r->png);
  png_set_interlace_handling(r->png);
  png_read_update_info(r->png, r->info);

  const int width = (int)png_get_image_width(r->png, r->info);
  const int height = (int)png_get_image_height(r->png, r->info);
  const int channels = png_get_channels(r->png, r->info);
  const int depth = png_get_bit_depth(r->png, r->info);
  if ((depth != 8 && depth != 16) || channels < 1 || channels > 4) {
    snprintf(r->failure.msg, r->failure.msg_size, "unsupported PNG layout (%d channels of %d bits)", channels,
             depth);
    return -1;
  }
  const image_sample_type type = depth == 16 ? IMAGE_U16 : IMAGE_U8;
  /* Decoded with its alpha channel (dropped afterwards), plus libpng's table of row pointers. */
  const size_t decode_bytes = image_bytes(width, height, channels, type, (size_t)height * sizeof *r->rows);
  if (r->header)
    *r->header = (image_header){width, height, channels == 2 || channels == 4 ? channels - 1 : channels, type,
                                decode_bytes};
  if (!r->out) return 0;
  if (image_check_budget(width, height, decode_bytes, r->budget, "PNG", r->failure.msg, r->failure.msg_size) != 0)
    return -1;
  if (image_allocate(r->out, width, height, channels, type, r->failure.msg, r->failure.msg_size) != 0) return -1;
  const size_t row_bytes = png_get_rowbytes(r->png, r->info);
  if (row_bytes != (size_t)width * (size_t)channels * (size_t)(depth / 8)) {
    snprintf(r->failure.msg, r->failure.msg_size, "unexpected PNG row size %zu", row_bytes);
    return -1;
  }
  r->rows = malloc((size_t)height * sizeof *r->rows);
  if (!r->rows) {
    snprintf(r->failure.msg, r->failure.msg_size, "out of memory");
    return -1;
  }
  for (int y = 0; y < height; y++) r->rows[y] = (png_bytep)r->out->data + (size_t)y * row_bytes;
  r->failure.stage = STAGE_IMAGE;
  png_read_image(r->png, r->rows);
  r->failure.stage = STAGE_END;
  png_read_end(r->png, NULL);
  return 0;
}

int read_png_file(FILE *file, size_t budget, image_header *header, image_buffer *out, char *msg, size_t msg_size) {
  if (out) memset(out, 0, sizeof *out);
  read_state r;
  memset(&r, 0, sizeof r);
  r.budget = budget;
  r.header = header;
  r.out = out;
  r.failure.msg = msg;
  r.failure.msg_size = msg_size;
  r.png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &r.failure, on_png_error, on_png_warning);
  if (r.png) r.info = png_create_info_struct(r.png);
  if (!r.png || !r.info) {
    png_destroy_read_struct(r.png ? &r.png : NULL, NULL, NULL);
    snprintf(msg, msg_size, "out of memory");
    return -1;
  }
  /* The ancillary chunks this reader never uses (text, colour profiles, Exif, suggested palettes) are skipped
   * unread: libpng allocates a chunk's declared length at once (fuzz_png found a 100-byte file whose iTXt chunk
   * declares 2 GiB) and inflates compressed text. Other chunks get at most 8 MiB, 1000 of them. */
  static const png_byte skipped[] = "iTXt\0zTXt\0tEXt\0iCCP\0sPLT\0eXIf\0";
  png_set_keep_unknown_chunks(r.png, PNG_HANDLE_CHUNK_NEVER, skipped, 6);
  png_set_chunk_malloc_max(r.png, (png_alloc_size_t)8 << 20);
  png_set_chunk_cache_max(r.png, 1000);
  const int status = decode_png(&r, file);
  png_destroy_read_struct(&r.png, &r.info, NULL);
  free(r.rows);
  if (status != 0) {
    if (out) image_free(out);
    return -1;
  }
  if (out && (out->channels == 2 || out->channels == 4)) image_keep_channels(out, out->channels - 1);
  return 0;
}

static unsigned quantize(float a, unsigned max_value) {
  /* NaN fails both comparisons and becomes 0, like a value below the range. */
  const double clamped = a > 0.0f ? (a < 1.0f ? (double)a : 1.0) : 0.0;
  return (unsigned)floor(clamped * max_value + 0.5);
}

typedef struct write_state {
  png_structp png;
  png_infop info;
  png_bytep row;
  error_jump failure;
} write_state;

static int encode_png(write_state *w, FILE *file, const float *samples, int width, int height, int channels,
                      int bits) {
  static const int color_types[4] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                     PNG_COLOR_TYPE_RGB_ALPHA};
  if (setjmp(w->failure.jump)) return -1;
  png_init_io(w->png, file);
  png_set_IHDR(w->png, w->info, (png_uint_32)width, (png_uint_32)height, bits, color_types[channels - 1],
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(w->png, w->info);
  const size_t row_samples = (size_t)width * (size_t)channels;
  for (int y = 0; y < height; y++) {
    const float *src = samples + (size_t)y * row_samples;
    for (size_t x = 0; x < row_samples; x++) {
      if (bits == 16) {
        /* PNG stores 16-bit samples big-endian; writing the bytes ourselves needs no swap transform. */
        const unsigned v = quantize(src[x], 65535u);
        w->row[2 * (size_t)x] = (png_byte)(v >> 8);
        w->row[2 * (size_t)x + 1] = (png_byte)(v & 0xffu);
      } else {
        w->row[x] = (png_byte)quantize(src[x], 255u);
      }
    }
    errno = 0;
    png_write_row(w->png, w->row);
  }
  errno = 0;
  png_write_end(w->png, NULL);
  return 0;
}

int write_png_samples(int fd, const float *samples, int width, int height, int channels, int bits, char *msg,
                      size_t msg_size) {
  FILE *file = fdopen(fd, "wb");
  if (!file) {
    snprintf(msg, msg_size, "%s", strerror(errno));
    close(fd);
    return -1;
  }
  write_state w;
  memset(&w, 0, sizeof w);
  w.failure.writing = 1;
  w.failure.msg = msg;
  w.failure.msg_size = msg_size;
  w.row = malloc((size_t)width * (size_t)channels * (size_t)(bits / 8));
  w.png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &w.failure, on_png_error, on_png_warning);
  if (w.png) w.info = png_create_info_struct(w.png);
  int status = -1;
  if (!w.row || !w.png || !w.info)
    snprintf(msg, msg_size, "out of memory");
  else
    status = encode_png(&w, file, samples, width, height, channels, bits);
  png_destroy_write_struct(w.png ? &w.png : NULL, w.info ? &w.info : NULL);
  free(w.row);
  /* A full disk often shows only when the buffered tail is flushed. */
  errno = 0;
  if ((fflush(file) != 0 || ferror(file)) && status == 0) {
    snprintf(msg, msg_size, "%s", errno ? strerror(errno) : "write error");
    status = -1;
  }
  if (fclose(file) != 0 && status == 0) {
    snprintf(msg, msg_size, "%s", strerror(errno));
    status = -1;
  }
  return status;
}
