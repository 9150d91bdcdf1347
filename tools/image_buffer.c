/* image_buffer.c - owned pixel buffers: sizes checked against overflow and against the budget a header promised.
 * Both image_io and the per-format codecs use it; it uses neither. */
#include "image_buffer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t image_sample_size(image_sample_type type) {
  return type == IMAGE_U8 ? 1 : type == IMAGE_U16 ? 2 : 4;
}

size_t image_bytes(int width, int height, int channels, image_sample_type type, size_t extra) {
  if (width <= 0 || height <= 0 || channels <= 0) return 0;
  const size_t per_pixel = (size_t)channels * image_sample_size(type);
  /* Checked in steps, so that width * height * per_pixel + extra cannot wrap around. */
  if ((size_t)width > SIZE_MAX / (size_t)height) return 0;
  const size_t pixels = (size_t)width * (size_t)height;
  if (pixels > SIZE_MAX / per_pixel || pixels * per_pixel > SIZE_MAX - extra) return 0;
  return pixels * per_pixel + extra;
}

/* "850 bytes", "12 KiB", "3072 MiB": enough digits to compare two sizes of any magnitude. */
static void format_bytes(size_t bytes, char *text, size_t size) {
  if (bytes < 10240)
    snprintf(text, size, "%zu bytes", bytes);
  else if (bytes < (size_t)10 << 20)
    snprintf(text, size, "%zu KiB", bytes >> 10);
  else
    snprintf(text, size, "%zu MiB", bytes >> 20);
}

int image_check_budget(int width, int height, size_t decode_bytes, size_t budget, const char *format, char *msg,
                       size_t msg_size) {
  if (decode_bytes != 0 && decode_bytes <= budget) return 0;
  if (decode_bytes == 0)
    snprintf(msg, msg_size, "%s image too large (%dx%d)", format, width, height);
  else {
    char need[32], allowed[32];
    format_bytes(decode_bytes, need, sizeof need);
    format_bytes(budget, allowed, sizeof allowed);
    snprintf(msg, msg_size, "the %s image is %dx%d and reading it needs %s, more than the %s allowed (did the file "
             "change while it was read?)", format, width, height, need, allowed);
  }
  return -1;
}

int image_allocate(image_buffer *image, int width, int height, int channels, image_sample_type type, char *msg,
                   size_t msg_size) {
  memset(image, 0, sizeof *image);
  if (width <= 0 || height <= 0 || channels <= 0) {
    snprintf(msg, msg_size, "bad image size %dx%d", width, height);
    return -1;
  }
  /* 16 bytes a pixel leaves room for any later per-pixel buffer of the same count (RGBA floats). */
  const size_t bytes = image_bytes(width, height, channels, type, 0);
  if (bytes == 0 || image_bytes(width, height, 16, IMAGE_U8, 0) == 0) {
    snprintf(msg, msg_size, "image too large (%dx%d)", width, height);
    return -1;
  }
  image->data = malloc(bytes);
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
