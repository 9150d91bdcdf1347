/* image_buffer.h - an owned picture in the file's own precision, and what reading one will cost.
 * Owns: the pixel buffer type, its allocation under a byte budget, channel dropping; image_io and the codecs use
 * it. */
#ifndef VITMATTE_IMAGE_BUFFER_H
#define VITMATTE_IMAGE_BUFFER_H

#include <stddef.h>

/* Samples keep the precision they have in the file, so a 16-bit or float picture reaches the engine unchanged. */
typedef enum image_sample_type {
  IMAGE_U8 = 0,  /* 0..255 */
  IMAGE_U16,     /* 0..65535, host byte order */
  IMAGE_F32      /* as stored (normally 0..1) */
} image_sample_type;

/* An owned, tightly packed picture: `channels` interleaved samples per pixel, rows width * channels samples long.
 * The readers drop alpha channels, so `channels` is 1 (gray) or 3 (RGB). */
typedef struct image_buffer {
  int width;
  int height;
  int channels;
  image_sample_type type;
  void *data;
} image_buffer;

/* What a file's header says, read before any pixel is decoded: the picture the reader will return and the most
 * memory reading it takes at once (the pixel buffer as decoded, alpha and all, plus the codec's own buffers that
 * grow with the image: a libpng row table, libjpeg's coefficients of a progressive file, a libtiff strip). */
typedef struct image_header {
  int width;
  int height;
  int channels;             /* 1 or 3, as the reader returns them */
  image_sample_type type;
  size_t decode_bytes;
} image_header;

/* No budget: reading may take whatever the header asks for. */
#define IMAGE_NO_BUDGET ((size_t)-1)

size_t image_sample_size(image_sample_type type);

/* width * height * channels * sample bytes + extra, or 0 when that overflows a size_t or a size is not positive. */
size_t image_bytes(int width, int height, int channels, image_sample_type type, size_t extra);

/* Refuses (-1, with a one-line reason in msg) a picture whose reading would take more than `budget` bytes: the
 * budget a caller checked against the header, so a file that grew since cannot cost more than was agreed. */
int image_check_budget(int width, int height, size_t decode_bytes, size_t budget, const char *format, char *msg,
                       size_t msg_size);

/* Sizes `image` and allocates its samples, refusing sizes whose byte count would overflow. */
int image_allocate(image_buffer *image, int width, int height, int channels, image_sample_type type, char *msg,
                   size_t msg_size);

/* Drops trailing channels in place (e.g. gray+alpha -> gray, RGBA -> RGB). */
void image_keep_channels(image_buffer *image, int channels);

/* Keeps one channel of an RGB picture whose three channels are equal everywhere (a gray trimap saved as RGB).
 * Returns -1 and the first pixel where they differ in *x, *y when the picture really has colour. */
int image_rgb_to_gray(image_buffer *image, int *x, int *y);

void image_free(image_buffer *image);

#endif
