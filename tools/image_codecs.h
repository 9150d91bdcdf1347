/* image_codecs.h - the per-format readers and writers behind image_io (libpng, libjpeg, libtiff).
 * Owns: the codec entry points; they share image_buffer with image_io, which alone picks among them. Nothing prints. */
#ifndef VITMATTE_IMAGE_CODECS_H
#define VITMATTE_IMAGE_CODECS_H

#include <stdio.h>

#include "image_buffer.h"

/* Each reader reads the file's header and fills *header (when not NULL); with `out` NULL it stops there. Otherwise
 * it refuses a picture whose header.decode_bytes exceed `budget` before it allocates anything that grows with the
 * picture, then decodes into `out` (1 or 3 channels). On failure it frees what it allocated and returns -1 with a
 * one-line reason in msg ("truncated PNG: ...", "invalid JPEG: ...", "unsupported TIFF: ..."). Each reads from an
 * open file positioned at its start, which the caller closes; the TIFF reader needs one with a descriptor
 * (fileno: not fmemopen), which it reads through a duplicate, and `name` for libtiff. */
int read_png_file(FILE *file, size_t budget, image_header *header, image_buffer *out, char *msg, size_t msg_size);
int read_jpeg_file(FILE *file, size_t budget, image_header *header, image_buffer *out, char *msg, size_t msg_size);
int read_tiff_file(FILE *file, const char *name, size_t budget, image_header *header, image_buffer *out, char *msg,
                   size_t msg_size);

/* Writers take ownership of `fd` (an open, empty, writable file) and close it, also on failure. `samples` holds
 * `channels` interleaved floats per pixel: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA (straight alpha). */
int write_png_samples(int fd, const float *samples, int width, int height, int channels, int bits, char *msg,
                      size_t msg_size);
int write_tiff_samples(int fd, const char *name, const float *samples, int width, int height, int channels,
                       char *msg, size_t msg_size);

#endif
