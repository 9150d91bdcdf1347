/* trimap.c - turning what GIMP holds (a trimap channel, a selection) into the 0 / 128 / 255 trimap ViTMatte reads.
 * Owns: channel thresholds, the selection band (via the exact distance transform) and class counts. */
#include "trimap.h"

#include "distance_transform.h"

#include <stdlib.h>

void vmp_trimap_from_channel(const float *values, size_t count, uint8_t *trimap) {
  for (size_t i = 0; i < count; i++) {
    float v = values[i];
    if (v <= VMP_CHANNEL_BACKGROUND_MAX)
      trimap[i] = VMP_TRIMAP_BACKGROUND;
    else if (v >= VMP_CHANNEL_FOREGROUND_MIN)
      trimap[i] = VMP_TRIMAP_FOREGROUND;
    else
      trimap[i] = VMP_TRIMAP_UNKNOWN;
  }
}

/* Marks the pixels whose inside-ness equals `want_inside`: the distance transform of that mask gives every
 * pixel its distance to the nearest pixel of the other side. */
static void mark_side(const float *selection, size_t count, int want_inside, uint8_t *marked) {
  for (size_t i = 0; i < count; i++)
    marked[i] = (uint8_t)((selection[i] >= VMP_SELECTION_INSIDE_MIN) == (want_inside != 0));
}

int vmp_trimap_from_selection(const float *selection, int width, int height, int margin, int band_width,
                              uint8_t *trimap) {
  if (!selection || !trimap || width <= 0 || height <= 0 || margin < 0 || band_width < 0)
    return -1;
  const int full_w = width + 2 * margin, full_h = height + 2 * margin;
  if (full_w <= 0 || full_h <= 0)
    return -1;
  const size_t full = (size_t)full_w * (size_t)full_h;
  uint8_t *marked = malloc(full);
  float *sq = malloc(full * sizeof *sq);
  if (!marked || !sq) {
    free(marked), free(sq);
    return -1;
  }
  /* Squared distances are compared with band^2, exact in a float for any band the plug-in allows. */
  const float band_sq = (float)band_width * (float)band_width;

  /* Inside pixels: distance to the nearest outside pixel decides foreground or unknown. */
  mark_side(selection, full, 0, marked);
  if (vmp_edt_squared(marked, full_w, full_h, sq) != 0)
    goto oom;
  for (int y = 0; y < height; y++) {
    const size_t row = (size_t)(y + margin) * (size_t)full_w + (size_t)margin;
    for (int x = 0; x < width; x++) {
      if (selection[row + (size_t)x] >= VMP_SELECTION_INSIDE_MIN)
        trimap[(size_t)y * (size_t)width + (size_t)x] =
            sq[row + (size_t)x] > band_sq ? VMP_TRIMAP_FOREGROUND : VMP_TRIMAP_UNKNOWN;
    }
  }

  /* Outside pixels: distance to the nearest inside pixel decides background or unknown. */
  mark_side(selection, full, 1, marked);
  if (vmp_edt_squared(marked, full_w, full_h, sq) != 0)
    goto oom;
  for (int y = 0; y < height; y++) {
    const size_t row = (size_t)(y + margin) * (size_t)full_w + (size_t)margin;
    for (int x = 0; x < width; x++) {
      if (!(selection[row + (size_t)x] >= VMP_SELECTION_INSIDE_MIN))
        trimap[(size_t)y * (size_t)width + (size_t)x] =
            sq[row + (size_t)x] > band_sq ? VMP_TRIMAP_BACKGROUND : VMP_TRIMAP_UNKNOWN;
    }
  }
  free(marked), free(sq);
  return 0;

oom:
  free(marked), free(sq);
  return -1;
}

void vmp_trimap_count(const uint8_t *trimap, size_t count, vmp_trimap_counts *counts) {
  vmp_trimap_counts c = {0, 0, 0};
  for (size_t i = 0; i < count; i++) {
    if (trimap[i] == VMP_TRIMAP_BACKGROUND)
      c.background++;
    else if (trimap[i] == VMP_TRIMAP_FOREGROUND)
      c.foreground++;
    else
      c.unknown++;
  }
  *counts = c;
}
