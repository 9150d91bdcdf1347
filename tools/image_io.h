/* image_io.h - reading pictures and trimaps (PNG, JPEG, TIFF) and writing alpha mattes (PNG, float TIFF).
 * Owns: pixel buffers in the file's own precision, codec error capture as messages, atomic output files. */
#ifndef VITMATTE_IMAGE_IO_H
#define VITMATTE_IMAGE_IO_H

#include <stddef.h>

/* Samples keep the precision they have in the file, so a 16-bit or float picture reaches the engine unchanged. */
typedef enum image_sample_type {
  IMAGE_U8 = 0,  /* 0..255 */
  IMAGE_U16,     /* 0..65535, host byte order */
  IMAGE_F32      /* as stored (normally 0..1) */
} image_sample_type;

/* An owned, tightly packed picture: `channels` interleaved samples per pixel, rows width * channels samples long.
 * The reader drops alpha channels, so `channels` is 1 (gray) or 3 (RGB). */
typedef struct image_buffer {
  int width;
  int height;
  int channels;
  image_sample_type type;
  void *data;
} image_buffer;

/* Reads a PNG, JPEG or TIFF file (recognised by its first bytes, not its name). Palettes and gray levels below
 * 8 bits are expanded, alpha is dropped, 16-bit and float samples are kept. On failure returns -1 with a one-line
 * reason in msg (without the file name, so the caller can name the file as the user wrote it). */
int image_read(const char *path, image_buffer *out, char *msg, size_t msg_size);

void image_free(image_buffer *image);

/* Keeps one channel of an RGB picture whose three channels are equal everywhere (a gray trimap saved as RGB).
 * Returns -1 and the first pixel where they differ in *x, *y when the picture really has colour. */
int image_rgb_to_gray(image_buffer *image, int *x, int *y);

size_t image_sample_size(image_sample_type type);

/* How an alpha matte is stored, chosen from the output file name. */
typedef enum alpha_format {
  ALPHA_FORMAT_UNKNOWN = 0,
  ALPHA_FORMAT_PNG,        /* grayscale PNG, 8 or 16 bits, round(a * max) after clamping to 0..1 */
  ALPHA_FORMAT_TIFF_FLOAT  /* grayscale 32-bit IEEE float TIFF holding the floats exactly */
} alpha_format;

/* From the extension (case-insensitive): .png, .tif, .tiff; anything else is ALPHA_FORMAT_UNKNOWN. */
alpha_format alpha_format_from_path(const char *path);

/* Writes width x height floats to `path` in `format` (`png_bits` 8 or 16 for PNG, ignored for TIFF). The file is
 * written beside its final name under a temporary name and renamed at the end, so a failure never leaves a
 * partial file at `path`. On failure returns -1 with a one-line reason in msg. */
int image_write_alpha(const char *path, alpha_format format, int png_bits, const float *alpha, int width,
                      int height, char *msg, size_t msg_size);

/* The same for `channels` interleaved floats per pixel: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA (straight alpha);
 * PNG samples are round(clamp(v) * max), TIFF samples the floats as they are. */
int image_write_samples(const char *path, alpha_format format, int png_bits, const float *samples, int width,
                        int height, int channels, char *msg, size_t msg_size);

#endif
