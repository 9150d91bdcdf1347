/* image_io.h - reading pictures and trimaps (PNG, JPEG, TIFF) and writing alpha mattes (PNG, float TIFF).
 * Owns: telling formats apart, header-first reading, and atomic output files (pixel buffers: image_buffer.h). */
#ifndef VITMATTE_IMAGE_IO_H
#define VITMATTE_IMAGE_IO_H

#include <signal.h>
#include <stddef.h>

#include "image_buffer.h"

/* Reads the header of a PNG, JPEG or TIFF file (recognised by its first bytes, not its name): the picture that
 * image_read would return and what reading it costs, without decoding a pixel. On failure returns -1 with a
 * one-line reason in msg (without the file name, so the caller can name the file as the user wrote it). */
int image_read_header(const char *path, image_header *header, char *msg, size_t msg_size);

/* Reads the picture. Palettes and gray levels below 8 bits are expanded, alpha is dropped, 16-bit and float samples
 * are kept. A picture whose reading would take more than `budget` bytes (its header's decode_bytes; pass the value
 * a header check accepted, or IMAGE_NO_BUDGET) is refused before anything that size is allocated. On failure
 * returns -1 with a one-line reason in msg. */
int image_read(const char *path, size_t budget, image_buffer *out, char *msg, size_t msg_size);

/* How an alpha matte is stored, chosen from the output file name. */
typedef enum alpha_format {
  ALPHA_FORMAT_UNKNOWN = 0,
  ALPHA_FORMAT_PNG,        /* grayscale PNG, 8 or 16 bits, round(a * max) after clamping to 0..1 */
  ALPHA_FORMAT_TIFF_FLOAT  /* grayscale 32-bit IEEE float TIFF holding the floats exactly */
} alpha_format;

/* From the extension (case-insensitive): .png, .tif, .tiff; anything else is ALPHA_FORMAT_UNKNOWN. */
alpha_format alpha_format_from_path(const char *path);

/* Writes width x height floats to `path` in `format` (`png_bits` 8 or 16 for PNG, ignored for TIFF), following the
 * rules of output_file.h (links followed, read-only files refused). The file is written beside its final name
 * under a temporary name and renamed at the end, so a failure never leaves a partial file at `path`; when
 * `cancel` (may be NULL) is non-zero by then, the new file is discarded instead ("interrupted"). On failure returns
 * -1 with a one-line reason in msg. */
int image_write_alpha(const char *path, alpha_format format, int png_bits, const float *alpha, int width,
                      int height, const volatile sig_atomic_t *cancel, char *msg, size_t msg_size);

/* The same for `channels` interleaved floats per pixel: 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA (straight alpha);
 * PNG samples are round(clamp(v) * max), TIFF samples the floats as they are. */
int image_write_samples(const char *path, alpha_format format, int png_bits, const float *samples, int width,
                        int height, int channels, const volatile sig_atomic_t *cancel, char *msg, size_t msg_size);

#endif
