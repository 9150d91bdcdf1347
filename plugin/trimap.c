/* trimap.c - turning what GIMP holds (a trimap channel, a selection, a rough mask) into the 0 / 128 / 255 trimap
 * ViTMatte reads. Owns: channel thresholds, the band around a mask's edge (exact distance transform), class counts. */
#include "trimap.h"

#include "distance_transform.h"

#include <math.h>
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

/* Which side of a rough mask's edge a value lies on. NaN lands on the background side (as an unselected pixel). */
enum { SIDE_BACKGROUND, SIDE_SOFT, SIDE_FOREGROUND };

static int side_of(float v, float black_point, float white_point) {
  if (v >= white_point)
    return SIDE_FOREGROUND;
  return v > black_point ? SIDE_SOFT : SIDE_BACKGROUND;
}

/* Marks every pixel that is not on `side`: the distance transform of that mask gives each pixel of `side` its
 * distance to the nearest pixel off it. */
static void mark_off_side(const float *mask, size_t count, float black_point, float white_point, int side,
                          uint8_t *marked) {
  for (size_t i = 0; i < count; i++)
    marked[i] = (uint8_t)(side_of(mask[i], black_point, white_point) != side);
}

int vmp_trimap_from_mask(const float *mask, int width, int height, int margin, int band_width, float black_point,
                         float white_point, uint8_t *trimap) {
  if (!mask || !trimap || width <= 0 || height <= 0 || margin < 0 || band_width < 0 || !(black_point < white_point))
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
  /* Foreground pixels far from everything else stay foreground, background pixels far from everything else stay
   * background; the rest, soft values included, is unknown. */
  static const struct {
    int side;
    uint8_t far_value;
  } passes[2] = {{SIDE_FOREGROUND, VMP_TRIMAP_FOREGROUND}, {SIDE_BACKGROUND, VMP_TRIMAP_BACKGROUND}};
  for (int p = 0; p < 2; p++) {
    mark_off_side(mask, full, black_point, white_point, passes[p].side, marked);
    if (vmp_edt_squared(marked, full_w, full_h, sq) != 0) {
      free(marked), free(sq);
      return -1;
    }
    for (int y = 0; y < height; y++) {
      const size_t row = (size_t)(y + margin) * (size_t)full_w + (size_t)margin;
      uint8_t *out = trimap + (size_t)y * (size_t)width;
      for (int x = 0; x < width; x++) {
        const int side = side_of(mask[row + (size_t)x], black_point, white_point);
        if (side == SIDE_SOFT)
          out[x] = VMP_TRIMAP_UNKNOWN;
        else if (side == passes[p].side)
          out[x] = sq[row + (size_t)x] > band_sq ? passes[p].far_value : VMP_TRIMAP_UNKNOWN;
      }
    }
  }
  free(marked), free(sq);
  return 0;
}

int vmp_trimap_from_selection(const float *selection, int width, int height, int margin, int band_width,
                              uint8_t *trimap) {
  /* A selection has no soft zone: inside from VMP_SELECTION_INSIDE_MIN on, outside below it (the black point is
   * the float just below it). */
  return vmp_trimap_from_mask(selection, width, height, margin, band_width, nextafterf(VMP_SELECTION_INSIDE_MIN, 0.0f),
                              VMP_SELECTION_INSIDE_MIN, trimap);
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
