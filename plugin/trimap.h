/* trimap.h - turning what GIMP holds (a trimap channel, a selection, a rough mask) into the 0 / 128 / 255 trimap
 * ViTMatte reads. Owns: the documented thresholds, the band around a selection or a mask's edge, and counting the
 * trimap's classes. No GIMP here. */
#ifndef VMP_TRIMAP_H
#define VMP_TRIMAP_H

#include <stddef.h>
#include <stdint.h>

/* The levels the model was trained on (VitMatteImageProcessor reads them as p / 255). */
enum { VMP_TRIMAP_BACKGROUND = 0, VMP_TRIMAP_UNKNOWN = 128, VMP_TRIMAP_FOREGROUND = 255 };

/* A trimap channel's values (0..1, perceptual Y' for every image precision: the grey level as painted and seen,
 * see trimap_source.c). White is foreground, black background, anything between unknown. The thresholds leave room
 * for antialiased or soft brush edges:
 *   value <= 0.1 -> background, value >= 0.9 -> foreground, else (NaN included) unknown. */
#define VMP_CHANNEL_BACKGROUND_MAX 0.1f
#define VMP_CHANNEL_FOREGROUND_MIN 0.9f

/* A selection pixel is inside when its value is >= 0.5 (so a feathered edge splits at its middle). */
#define VMP_SELECTION_INSIDE_MIN 0.5f

/* Classifies `count` channel values into `trimap` with the thresholds above. */
void vmp_trimap_from_channel(const float *values, size_t count, uint8_t *trimap);

/* The band trimap of a selection. `selection` is a region of (width + 2 * margin) x (height + 2 * margin)
 * values (0..1) whose inner width x height part is the layer; the margin lets selection edges just outside the
 * layer count, so pass margin >= band_width (values outside the canvas should be 0). Pixels inside the selection
 * farther than `band_width` pixels from every outside pixel become foreground, outside pixels farther than
 * `band_width` from every inside pixel become background, the rest (band_width pixels on each side of the edge)
 * unknown. Distances are exact Euclidean distances between pixel centres. Writes width x height bytes.
 * Returns 0, or -1 on bad arguments or when out of memory. */
int vmp_trimap_from_selection(const float *selection, int width, int height, int margin, int band_width,
                              uint8_t *trimap);

/* A rough mask (a layer mask, a layer's alpha: 0..1 opacity) is certain where it is (nearly) 0 or 1 and soft in
 * between: values <= the black point are background, >= the white point foreground, the rest unknown. The points
 * leave room for the few grey levels a quick selection or a blurred edge leaves around 0 and 1. */
#define VMP_MASK_BLACK_POINT 0.01f
#define VMP_MASK_WHITE_POINT 0.99f

/* The band trimap of a rough mask, laid out as for vmp_trimap_from_selection (margin 0: a layer mask or an alpha
 * channel, which have the layer's size). Foreground pixels (>= white_point) farther than `band_width` pixels from
 * every pixel that is not foreground stay foreground, background pixels (<= black_point, NaN too) farther than
 * `band_width` from every pixel that is not background stay background; the rest is unknown: the soft values and
 * the band grown `band_width` pixels inward and outward from them (for a hard mask, band_width pixels on each side
 * of its edge). Exact Euclidean distances between pixel centres. Needs black_point < white_point.
 * Returns 0, or -1 on bad arguments or when out of memory. */
int vmp_trimap_from_mask(const float *mask, int width, int height, int margin, int band_width, float black_point,
                         float white_point, uint8_t *trimap);

typedef struct vmp_trimap_counts {
  size_t background;
  size_t unknown;
  size_t foreground;
} vmp_trimap_counts;

/* Counts the three classes (any value other than 0 and 255 counts as unknown, as the model sees it). */
void vmp_trimap_count(const uint8_t *trimap, size_t count, vmp_trimap_counts *counts);

#endif
