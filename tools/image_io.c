/* image_io.c - picking the codec for a file, owning pixel buffers, and the atomic alpha writer.
 * Formats are told apart by their signatures so a misnamed file still loads (or fails with the right reason). */
#include "image_io.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "image_codecs.h"
#include "output_file.h"

size_t image_sample_size(image_sample_type type) {
  return type == IMAGE_U8 ? 1 : type == IMAGE_U16 ? 2 : 4;
}

int image_allocate(image_buffer *image, int width, int height, int channels, image_sample_type type, char *msg,
                   size_t msg_size) {
  memset(image, 0, sizeof *image);
  if (width <= 0 || height <= 0 || channels <= 0) {
    snprintf(msg, msg_size, "bad image size %dx%d", width, height);
    return -1;
  }
  const size_t sample = image_sample_size(type);
  /* Checked in steps, so that width * height * channels * sample cannot wrap around. */
  if ((size_t)width > SIZE_MAX / (size_t)height || (size_t)width * (size_t)height > SIZE_MAX / 16 / sample) {
    snprintf(msg, msg_size, "image too large (%dx%d)", width, height);
    return -1;
  }
  image->data = malloc((size_t)width * (size_t)height * (size_t)channels * sample);
  if (!image->data) {
    snprintf(msg, msg_size, "out of memory for a %dx%d image", width, height);
    return -1;
  }
  image->width = width;
  image->height = height;
  image->channels = channels;
  image->type = type;
  return 0;
}

void image_keep_channels(image_buffer *image, int channels) {
  const size_t sample = image_sample_size(image->type);
  const size_t count = (size_t)image->width * (size_t)image->height;
  uint8_t *bytes = image->data;
  /* Moving forward is safe: each pixel's new place never lies after its old one. */
  for (size_t i = 0; i < count; i++)
    memmove(bytes + i * (size_t)channels * sample, bytes + i * (size_t)image->channels * sample,
            (size_t)channels * sample);
  image->channels = channels;
}

int image_rgb_to_gray(image_buffer *image, int *x, int *y) {
  if (image->channels != 3) return 0;
  const size_t sample = image_sample_size(image->type);
  const size_t count = (size_t)image->width * (size_t)image->height;
  const uint8_t *bytes = image->data;
  for (size_t i = 0; i < count; i++) {
    const uint8_t *p = bytes + i * 3 * sample;
    if (memcmp(p, p + sample, sample) != 0 || memcmp(p, p + 2 * sample, sample) != 0) {
      *x = (int)(i % (size_t)image->width);
      *y = (int)(i / (size_t)image->width);
      return -1;
    }
  }
  image_keep_channels(image, 1);
  return 0;
}

void image_free(image_buffer *image) {
  free(image->data);
  memset(image, 0, sizeof *image);
}

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

int image_read(const char *path, image_buffer *out, char *msg, size_t msg_size) {
  memset(out, 0, sizeof *out);
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
    status = read_png_file(file, out, msg, msg_size);
  } else if (kind == FILE_KIND_JPEG) {
    status = read_jpeg_file(file, out, msg, msg_size);
  } else {
    status = read_tiff_file(path, out, msg, msg_size);
  }
  fclose(file);
  return status;
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
                      int height, char *msg, size_t msg_size) {
  return image_write_samples(path, format, png_bits, alpha, width, height, 1, msg, msg_size);
}

int image_write_samples(const char *path, alpha_format format, int png_bits, const float *samples, int width,
                        int height, int channels, char *msg, size_t msg_size) {
  if (format == ALPHA_FORMAT_UNKNOWN || (format == ALPHA_FORMAT_PNG && png_bits != 8 && png_bits != 16) ||
      width <= 0 || height <= 0 || channels < 1 || channels > 4) {
    snprintf(msg, msg_size, "bad output format");
    return -1;
  }
  output_file file;
  if (output_file_begin(&file, path, msg, msg_size) != 0) return -1;
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
