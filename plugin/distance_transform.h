/* distance_transform.h - exact Euclidean distance transform (Felzenszwalb & Huttenlocher, 2012).
 * Owns: squared distances from every pixel of a grid to the nearest marked pixel. No GIMP, no GLib. */
#ifndef VMP_DISTANCE_TRANSFORM_H
#define VMP_DISTANCE_TRANSFORM_H

#include <stddef.h>
#include <stdint.h>

/* The value written for pixels when no pixel is marked at all: larger than any real squared distance. */
#define VMP_EDT_FAR 1.0e20f

/* For a width x height grid, writes to `sq_dist[y * width + x]` the squared Euclidean distance (in pixel
 * centres) from (x, y) to the nearest pixel whose `marked` value is non-zero: 0 on marked pixels, VMP_EDT_FAR
 * everywhere when nothing is marked. The result is exact (two 1-D lower-envelope passes, O(width * height)).
 * Returns 0, or -1 when it cannot allocate its scratch memory (then `sq_dist` is undefined). */
int vmp_edt_squared(const uint8_t *marked, int width, int height, float *sq_dist);

#endif
