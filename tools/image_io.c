/* image_io.c - picking the codec for a file by its signature, header-first reading, and the atomic alpha writer.
 * Formats are told apart by their signatures so a misnamed file still loads (or fails with the right reason). */
#include "image_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "image_codecs.h"
#include "output_file.h"

typedef enum file_kind { FILE_KIND_UNKNOWN, FILE_KIND_PNG, FILE_KIND_JPEG, FILE_KIND_TIFF } file_kind;

static file_kind kind_from_signature(const unsigned char *head, size_t length) {
  static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (length >= 8 && memcmp(head, png, 8) == 0) return FILE_KIND_PNG;
  if (length >= 3 && head[0] == 0xff && head[1] == 0xd8 && head[2] == 0xff) return FILE_KIND_JPEG;
  /* Classic TIFF has version 42, BigTIFF 43, in either byte order. */
  if (length >= 4 && ((head[0] == 'I' && head[1] == 'I' && (head[2] == 42 || head[2] == 43) && head[3] == 0) ||
                      (head[0] == 'M' && head[1] == 'M' && head[2] == 0 && (head[3] == 42 || head[3] == 43))))
    return FILE_KIND_TIFF;
  return FILE_KIND_UNKNOWN;
}

/* Opens `path`, tells its format from its first bytes and hands it to that codec (see image_codecs.h). */
static int read_with_codec(const char *path, size_t budget, image_header *header, image_buffer *out, char *msg,
                           size_t msg_size) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    snprintf(msg, msg_size, "%s", strerror(errno));
    return -1;
  }
  unsigned char head[8];
  errno = 0;
  const size_t length = fread(head, 1, sizeof head, file);
  if (length == 0 && ferror(file)) {
    snprintf(msg, msg_size, "%s", errno ? strerror(errno) : "read error");
    fclose(file);
    return -1;
  }
  const file_kind kind = kind_from_signature(head, length);
  int status = -1;
  if (kind == FILE_KIND_UNKNOWN) {
    snprintf(msg, msg_size, length == 0 ? "the file is empty" : "not a PNG, JPEG or TIFF file");
  } else if (fseek(file, 0, SEEK_SET) != 0) {
    snprintf(msg, msg_size, "%s", strerror(errno));
  } else if (kind == FILE_KIND_PNG) {
    status = read_png_file(file, budget, header, out, msg, msg_size);
  } else if (kind == FILE_KIND_JPEG) {
    status = read_jpeg_file(file, budget, header, out, msg, msg_size);
  } else {
    status = read_tiff_file(file, path, budget, header, out, msg, msg_size);
  }
  fclose(file);
  return status;
}

int image_read_header(const char *path, image_header *header, char *msg, size_t msg_size) {
  memset(header, 0, sizeof *header);
  return read_with_codec(path, IMAGE_NO_BUDGET, header, NULL, msg, msg_size);
}

int image_read(const char *path, size_t budget, image_buffer *out, char *msg, size_t msg_size) {
  memset(out, 0, sizeof *out);
  return read_with_codec(path, budget, NULL, out, msg, msg_size);
}

alpha_format alpha_format_from_path(const char *path) {
  const char *dot = strrchr(path, '.');
  const char *slash = strrchr(path, '/');
  if (!dot || (slash && dot < slash)) return ALPHA_FORMAT_UNKNOWN;
  if (strcasecmp(dot, ".png") == 0) return ALPHA_FORMAT_PNG;
  if (strcasecmp(dot, ".tif") == 0 || strcasecmp(dot, ".tiff") == 0) return ALPHA_FORMAT_TIFF_FLOAT;
  return ALPHA_FORMAT_UNKNOWN;
}

int image_write_alpha(const char *path, alpha_format format, int png_bits, const float *alpha, int width,
                      int height, const volatile sig_atomic_t *cancel, char *msg, size_t msg_size) {
  return image_write_samples(path, format, png_bits, alpha, width, height, 1, cancel, msg, msg_size);
}

int image_write_samples(const char *path, alpha_format format, int png_bits, const float *samples, int width,
                        int height, int channels, const volatile sig_atomic_t *cancel, char *msg, size_t msg_size) {
  if (format == ALPHA_FORMAT_UNKNOWN || (format == ALPHA_FORMAT_PNG && png_bits != 8 && png_bits != 16) ||
      width <= 0 || height <= 0 || channels < 1 || channels > 4) {
    snprintf(msg, msg_size, "bad output format");
    return -1;
  }
  output_file file;
  if (output_file_begin(&file, path, cancel, msg, msg_size) != 0) return -1;
  int status;
  if (format == ALPHA_FORMAT_PNG)
    status = write_png_samples(file.fd, samples, width, height, channels, png_bits, msg, msg_size);
  else
    status = write_tiff_samples(file.fd, file.temp_path, samples, width, height, channels, msg, msg_size);
  file.fd = -1; /* the writer closed it */
  if (status == 0) status = output_file_commit(&file, msg, msg_size);
  output_file_end(&file);
  return status;
}
