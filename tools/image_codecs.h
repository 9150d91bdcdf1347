/* image_codecs.h - the per-format readers and writers behind image_io (libpng, libjpeg, libtiff).
 * Owns: the codec entry points and the one allocation helper they share; nothing here prints. */
#ifndef VITMATTE_IMAGE_CODECS_H
#define VITMATTE_IMAGE_CODECS_H

#include <stdio.h>

#include "image_io.h"

/* Sizes `image` and allocates its samples, refusing sizes whose byte count would overflow. */
int image_allocate(image_buffer *image, int width, int height, int channels, image_sample_type type, char *msg,
                   size_t msg_size);

/* Drops trailing channels in place (e.g. gray+alpha -> gray, RGBA -> RGB). */
void image_keep_channels(image_buffer *image, int channels);

/* Readers fill `out` with 1 or 3 channels; on failure they free what they allocated and return -1 with msg set.
 * The PNG and JPEG readers read from an open file positioned at its start; the caller closes it. */
int read_png_file(FILE *file, image_buffer *out, char *msg, size_t msg_size);
int read_jpeg_file(FILE *file, image_buffer *out, char *msg, size_t msg_size);
int read_tiff_file(const char *path, image_buffer *out, char *msg, size_t msg_size);

/* Writers take ownership of `fd` (an open, empty, writable file) and close it, also on failure. `samples` holds
 * `channels` interleaved floats per pixel: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA (straight alpha). */
int write_png_samples(int fd, const float *samples, int width, int height, int channels, int bits, char *msg,
                      size_t msg_size);
int write_tiff_samples(int fd, const char *name, const float *samples, int width, int height, int channels,
                       char *msg, size_t msg_size);

#endif
