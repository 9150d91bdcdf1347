/* libFuzzer target for the plug-in's trimap construction (plugin/trimap.c, plugin/distance_transform.c): channel
 * thresholds on any float (NaN, infinities, denormals), and the band around a selection of any shape, size, margin
 * and band width. Small grids are checked exactly against brute force (every pixel against every pixel); large
 * ones for their invariants. Input: byte 0 picks the case, bytes 1-4 the sizes, the rest are the values. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "distance_transform.h"
#include "trimap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { ORACLE_SIDE = 16, LARGE_SIDE = 300 };

static uint8_t byte_at(const uint8_t *data, size_t size, size_t i) { return i < size ? data[i] : 0; }

/* Channel values: four input bytes each, taken as a float's bits. */
static void channel_case(const uint8_t *data, size_t size, int count) {
  float *values = malloc(sizeof *values * (size_t)count);
  uint8_t *trimap = malloc((size_t)count);
  if (!values || !trimap) abort();
  for (int i = 0; i < count; i++) {
    uint32_t bits = 0;
    for (int k = 0; k < 4; k++) bits |= (uint32_t)byte_at(data, size, 5 + 4 * (size_t)i + (size_t)k) << (8 * k);
    memcpy(&values[i], &bits, 4);
  }
  vmp_trimap_from_channel(values, (size_t)count, trimap);
  size_t tally[3] = {0, 0, 0};
  for (int i = 0; i < count; i++) {
    /* trimap.h: <= 0.1 background, >= 0.9 foreground, anything else (NaN included) unknown */
    const float v = values[i];
    const uint8_t want = v <= VMP_CHANNEL_BACKGROUND_MAX   ? VMP_TRIMAP_BACKGROUND
                         : v >= VMP_CHANNEL_FOREGROUND_MIN ? VMP_TRIMAP_FOREGROUND
                                                           : VMP_TRIMAP_UNKNOWN;
    if (trimap[i] != want) abort();
    tally[want == VMP_TRIMAP_BACKGROUND ? 0 : want == VMP_TRIMAP_FOREGROUND ? 2 : 1]++;
  }
  vmp_trimap_counts counts;
  vmp_trimap_count(trimap, (size_t)count, &counts);
  if (counts.background != tally[0] || counts.unknown != tally[1] || counts.foreground != tally[2]) abort();
  free(values);
  free(trimap);
}

/* The squared distance from every pixel to the nearest marked one, by trying them all. */
static void brute_distances(const uint8_t *marked, int w, int h, float *sq) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double best = VMP_EDT_FAR;
      for (int q = 0; q < w * h; q++)
        if (marked[q]) {
          const double dx = x - q % w, dy = y - q / w, d = dx * dx + dy * dy;
          if (d < best) best = d;
        }
      sq[y * w + x] = (float)best;
    }
}

/* A selection from one byte a pixel (255 is NaN, which selects nothing), widened into its band. */
static void selection_case(const uint8_t *data, size_t size, int w, int h, int margin, int band, int oracle) {
  const int fw = w + 2 * margin, fh = h + 2 * margin;
  const size_t full = (size_t)fw * (size_t)fh;
  float *selection = malloc(sizeof *selection * full);
  uint8_t *trimap = malloc((size_t)w * (size_t)h);
  if (!selection || !trimap) abort();
  for (size_t i = 0; i < full; i++) {
    const uint8_t b = byte_at(data, size, 5 + i);
    selection[i] = b == 255 ? NAN : (float)b / 254.0f;
  }
  if (vmp_trimap_from_selection(selection, w, h, margin, band, trimap) != 0) abort();
  for (int i = 0; i < w * h; i++)
    if (trimap[i] != VMP_TRIMAP_BACKGROUND && trimap[i] != VMP_TRIMAP_UNKNOWN && trimap[i] != VMP_TRIMAP_FOREGROUND)
      abort();
  if (oracle) {
    /* Each side's distance to the other, by brute force and by the transform: exactly equal (integers). Then the
     * rule of trimap.h for every inner pixel. */
    uint8_t *inside = malloc(full), *outside = malloc(full);
    float *to_outside = malloc(sizeof(float) * full), *to_inside = malloc(sizeof(float) * full);
    float *edt = malloc(sizeof(float) * full);
    if (!inside || !outside || !to_outside || !to_inside || !edt) abort();
    for (size_t i = 0; i < full; i++) {
      inside[i] = selection[i] >= VMP_SELECTION_INSIDE_MIN;
      outside[i] = !inside[i];
    }
    brute_distances(outside, fw, fh, to_outside);
    brute_distances(inside, fw, fh, to_inside);
    if (vmp_edt_squared(outside, fw, fh, edt) != 0 || memcmp(edt, to_outside, sizeof(float) * full) != 0) abort();
    if (vmp_edt_squared(inside, fw, fh, edt) != 0 || memcmp(edt, to_inside, sizeof(float) * full) != 0) abort();
    const float band_sq = (float)band * (float)band;
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        const size_t at = (size_t)(y + margin) * (size_t)fw + (size_t)(x + margin);
        const uint8_t want = inside[at] ? (to_outside[at] > band_sq ? VMP_TRIMAP_FOREGROUND : VMP_TRIMAP_UNKNOWN)
                                        : (to_inside[at] > band_sq ? VMP_TRIMAP_BACKGROUND : VMP_TRIMAP_UNKNOWN);
        if (trimap[y * w + x] != want) abort();
      }
    free(inside), free(outside), free(to_outside), free(to_inside), free(edt);
  }
  free(selection);
  free(trimap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t mode = byte_at(data, size, 0);
  const int large = (mode & 2) != 0, side = large ? LARGE_SIDE : ORACLE_SIDE;
  const int w = 1 + byte_at(data, size, 1) % side, h = 1 + byte_at(data, size, 2) % side;
  if ((mode & 1) == 0) {
    channel_case(data, size, w * h);
    return 0;
  }
  const int margin = byte_at(data, size, 3) % 6, band = byte_at(data, size, 4) % 8;
  selection_case(data, size, w, h, margin, band, !large);
  return 0;
}
