/* trimap.h - turning what GIMP holds (a trimap channel, a selection) into the 0 / 128 / 255 trimap ViTMatte reads.
 * Owns: the documented thresholds, the band around a selection, and counting the trimap's classes. No GIMP here. */
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

typedef struct vmp_trimap_counts {
  size_t background;
  size_t unknown;
  size_t foreground;
} vmp_trimap_counts;

/* Counts the three classes (any value other than 0 and 255 counts as unknown, as the model sees it). */
void vmp_trimap_count(const uint8_t *trimap, size_t count, vmp_trimap_counts *counts);

#endif
