/* test_trimap.c - checks the trimap builders (channel thresholds, selection and mask bands, counts) against references.
 * Owns: brute-force band trimaps, hand-derived edge positions and threshold boundaries. */
#include "trimap.h"
#include "unit_check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/* Reference band trimap: for each inner pixel, the squared distance to the nearest pixel of the other side in
 * the whole (margin-extended) region, by brute force, then the rule of the header. */
static void brute_band(const float *sel, int w, int h, int margin, int band, uint8_t *out) {
  int fw = w + 2 * margin, fh = h + 2 * margin;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int px = x + margin, py = y + margin;
      int inside = sel[py * fw + px] >= 0.5f;
      long long best = -1;
      for (int qy = 0; qy < fh; qy++)
        for (int qx = 0; qx < fw; qx++) {
          int q_inside = sel[qy * fw + qx] >= 0.5f;
          if (q_inside == inside)
            continue;
          long long d = (long long)(px - qx) * (px - qx) + (long long)(py - qy) * (py - qy);
          if (best < 0 || d < best)
            best = d;
        }
      int far = best < 0 || best > (long long)band * band;
      out[y * w + x] = far ? (inside ? 255 : 0) : 128;
    }
}

/* Reference for rough masks: each pixel's side by the black and white points, then, for the certain sides, the
 * squared distance to the nearest pixel of another side by brute force. */
static int mask_side(float v, float black, float white) { return v >= white ? 2 : v > black ? 1 : 0; }

static void brute_mask(const float *mask, int w, int h, int band, float black, float white, uint8_t *out) {
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int side = mask_side(mask[y * w + x], black, white);
      if (side == 1) {
        out[y * w + x] = 128;
        continue;
      }
      long long best = -1;
      for (int qy = 0; qy < h; qy++)
        for (int qx = 0; qx < w; qx++) {
          if (mask_side(mask[qy * w + qx], black, white) == side)
            continue;
          long long d = (long long)(x - qx) * (x - qx) + (long long)(y - qy) * (y - qy);
          if (best < 0 || d < best)
            best = d;
        }
      int far = best < 0 || best > (long long)band * band;
      out[y * w + x] = far ? (side == 2 ? 255 : 0) : 128;
    }
}

static void check_channel_thresholds(unit_tally *t) {
  const float values[] = {0.0f, 0.1f, nextafterf(0.1f, 1.0f), 0.5f, 0.216f, nextafterf(0.9f, 0.0f), 0.9f, 1.0f, -0.5f,
                          2.0f, NAN};
  const uint8_t want[] = {0, 0, 128, 128, 128, 128, 255, 255, 0, 255, 128};
  uint8_t got[sizeof want];
  vmp_trimap_from_channel(values, sizeof want, got);
  for (size_t i = 0; i < sizeof want; i++)
    unit_check(t, got[i] == want[i], "channel value %g -> trimap %d (got %d)", (double)values[i], want[i], got[i]);
}

/* Edge of a half-plane selection at x = 50 with band 8: the plug-in guide measured unknown for x = 42..57. */
static void check_half_plane(unit_tally *t) {
  enum { W = 100, H = 3, BAND = 8 };
  float sel[W * H];
  uint8_t tri[W * H];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      sel[y * W + x] = x >= 50 ? 1.0f : 0.0f;
  /* margin 0: the rows above and below are absent, which does not change a vertical edge */
  int rc = vmp_trimap_from_selection(sel, W, H, 0, BAND, tri);
  if (!unit_check(t, rc == 0, "half-plane selection: vmp_trimap_from_selection returns 0 (got %d)", rc))
    return;
  int ok = 1;
  for (int x = 0; x < W; x++) {
    uint8_t want = x <= 41 ? 0 : x <= 57 ? 128 : 255;
    ok &= tri[W + x] == want;
  }
  unit_check(t, ok, "half-plane selection from x=50, band 8: background x<=41, unknown 42..57, foreground x>=58");
}

static void check_random_selections(unit_tally *t) {
  unsigned long long rng = 12345;
  static const int cases[][4] = {/* w, h, margin, band */
                                 {20, 15, 0, 1}, {20, 15, 3, 3}, {33, 21, 5, 5},
                                 {17, 40, 2, 7}, {9, 9, 4, 4},   {1, 30, 2, 2}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int w = cases[c][0], h = cases[c][1], m = cases[c][2], band = cases[c][3];
    int fw = w + 2 * m, fh = h + 2 * m;
    float *sel = malloc((size_t)fw * fh * sizeof *sel);
    uint8_t *got = malloc((size_t)w * h), *want = malloc((size_t)w * h);
    /* blobs: a few discs with soft values, so thresholding at 0.5 matters too */
    for (int i = 0; i < fw * fh; i++)
      sel[i] = 0.0f;
    for (int b = 0; b < 3; b++) {
      int cx = (int)(unit_rand(&rng) % (unsigned)fw), cy = (int)(unit_rand(&rng) % (unsigned)fh);
      int r = 2 + (int)(unit_rand(&rng) % 8u);
      for (int y = 0; y < fh; y++)
        for (int x = 0; x < fw; x++) {
          double d = sqrt((double)(x - cx) * (x - cx) + (double)(y - cy) * (y - cy));
          float v = (float)(1.0 - (d - r) / 2.0);
          v = v < 0 ? 0 : v > 1 ? 1 : v;
          if (v > sel[y * fw + x])
            sel[y * fw + x] = v;
        }
    }
    int rc = vmp_trimap_from_selection(sel, w, h, m, band, got);
    brute_band(sel, w, h, m, band, want);
    int bad = 0;
    for (int i = 0; i < w * h; i++)
      bad += got[i] != want[i];
    unit_check(t, rc == 0 && bad == 0,
               "selection band equals brute force: %dx%d layer, margin %d, band %d (%d mismatches)", w, h, m, band,
               bad);
    free(sel), free(got), free(want);
  }
}

/* A selected pixel just outside the layer (in the margin) must still make an unknown band inside it. */
static void check_margin_matters(unit_tally *t) {
  enum { W = 10, H = 10, M = 3 };
  float sel[(W + 2 * M) * (H + 2 * M)] = {0};
  uint8_t tri[W * H];
  sel[(M + 5) * (W + 2 * M) + (M - 1)] = 1.0f; /* x = -1 in layer coordinates, y = 5 */
  int rc = vmp_trimap_from_selection(sel, W, H, M, 2, tri);
  if (!unit_check(t, rc == 0, "selected pixel in the margin: vmp_trimap_from_selection returns 0 (got %d)", rc))
    return;
  vmp_trimap_counts c;
  vmp_trimap_count(tri, W * H, &c);
  unit_check(t, tri[5 * W + 0] == 128 && tri[5 * W + 1] == 128 && tri[5 * W + 2] == 0 && c.foreground == 0,
             "a selected pixel in the margin left of the layer makes x=0,1 unknown (band 2), x=2 background");
}

/* A soft ramp from x = 40 to x = 59 (values 0.05..0.95) between a black left and a white right, band 5: the ramp
 * is unknown, and the band grows 5 pixels outward on each side: background x <= 34, foreground x >= 65. */
static void check_soft_ramp(unit_tally *t) {
  enum { W = 100, H = 2, BAND = 5 };
  float mask[W * H];
  uint8_t tri[W * H];
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      mask[y * W + x] = x < 40 ? 0.0f : x >= 60 ? 1.0f : 0.05f + 0.9f * (float)(x - 40) / 19.0f;
  int rc = vmp_trimap_from_mask(mask, W, H, 0, BAND, VMP_MASK_BLACK_POINT, VMP_MASK_WHITE_POINT, tri);
  int ok = rc == 0;
  for (int x = 0; ok && x < W; x++)
    ok = tri[W + x] == (x <= 34 ? 0 : x <= 64 ? 128 : 255);
  unit_check(t, ok, "soft ramp x=40..59, band 5: background x<=34, unknown 35..64, foreground x>=65");

  /* the black and white points: 0.01 is still background, 0.99 already foreground */
  const float edge[] = {0.0f, 0.01f, nextafterf(0.01f, 1.0f), 0.5f, nextafterf(0.99f, 0.0f), 0.99f, 1.0f, NAN};
  const uint8_t want[] = {0, 0, 128, 128, 128, 255, 255, 0};
  uint8_t got[8];
  /* band 0: every certain pixel stays as it is, so each value shows its own class */
  rc = vmp_trimap_from_mask(edge, 8, 1, 0, 0, VMP_MASK_BLACK_POINT, VMP_MASK_WHITE_POINT, got);
  ok = rc == 0;
  for (int i = 0; ok && i < 8; i++)
    ok = got[i] == want[i];
  unit_check(t, ok, "mask points: <= 0.01 background (NaN too), >= 0.99 foreground, between unknown");
}

/* Rough masks of random soft blobs, with hard and soft edges, against brute force. */
static void check_random_masks(unit_tally *t) {
  unsigned long long rng = 777;
  static const int cases[][3] = {/* w, h, band */ {24, 18, 1}, {31, 20, 3}, {16, 40, 6}, {40, 1, 4}, {12, 12, 0}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    int w = cases[c][0], h = cases[c][1], band = cases[c][2];
    float *mask = calloc((size_t)w * h, sizeof *mask);
    uint8_t *got = malloc((size_t)w * h), *want = malloc((size_t)w * h);
    for (int b = 0; b < 3; b++) {
      int cx = (int)(unit_rand(&rng) % (unsigned)w), cy = (int)(unit_rand(&rng) % (unsigned)h);
      int r = 2 + (int)(unit_rand(&rng) % 7u);
      double soft = (double)(unit_rand(&rng) % 4u); /* 0: a hard edge */
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
          double d = sqrt((double)(x - cx) * (x - cx) + (double)(y - cy) * (y - cy));
          float v = soft == 0 ? (d <= r ? 1.0f : 0.0f) : (float)(1.0 - (d - r) / soft);
          v = v < 0 ? 0 : v > 1 ? 1 : v;
          if (v > mask[y * w + x])
            mask[y * w + x] = v;
        }
    }
    int rc = vmp_trimap_from_mask(mask, w, h, 0, band, VMP_MASK_BLACK_POINT, VMP_MASK_WHITE_POINT, got);
    brute_mask(mask, w, h, band, VMP_MASK_BLACK_POINT, VMP_MASK_WHITE_POINT, want);
    int bad = 0;
    for (int i = 0; i < w * h; i++)
      bad += got[i] != want[i];
    unit_check(t, rc == 0 && bad == 0, "mask band equals brute force: %dx%d, band %d (%d mismatches)", w, h, band,
               bad);
    free(mask), free(got), free(want);
  }
}

static void check_counts(unit_tally *t) {
  const uint8_t tri[] = {0, 0, 128, 255, 7, 255, 255};
  vmp_trimap_counts c;
  vmp_trimap_count(tri, sizeof tri, &c);
  unit_check(t, c.background == 2 && c.unknown == 2 && c.foreground == 3,
             "counts: 2 background, 2 unknown (128 and a stray 7), 3 foreground");
  uint8_t none[4] = {0, 255, 0, 255};
  vmp_trimap_count(none, 4, &c);
  unit_check(t, c.unknown == 0, "a trimap of only 0 and 255 has no unknown pixels");
}

static void check_bad_arguments(unit_tally *t) {
  float sel[4] = {0};
  uint8_t tri[4];
  unit_check(t,
             vmp_trimap_from_selection(sel, 0, 2, 0, 1, tri) == -1 &&
                 vmp_trimap_from_selection(NULL, 2, 2, 0, 1, tri) == -1 &&
                 vmp_trimap_from_selection(sel, 2, 2, -1, 1, tri) == -1,
             "selection band refuses zero size, NULL input and a negative margin");
  unit_check(t, vmp_trimap_from_mask(sel, 2, 2, 0, 1, 0.5f, 0.5f, tri) == -1 &&
                    vmp_trimap_from_mask(sel, 2, 2, 0, 1, 0.9f, 0.1f, tri) == -1 &&
                    vmp_trimap_from_mask(sel, 2, 2, 0, -1, 0.01f, 0.99f, tri) == -1,
             "mask band refuses a black point not below the white point and a negative band");
}

int main(void) {
  unit_tally t = {0, 0};
  check_channel_thresholds(&t);
  check_half_plane(&t);
  check_random_selections(&t);
  check_margin_matters(&t);
  check_soft_ramp(&t);
  check_random_masks(&t);
  check_counts(&t);
  check_bad_arguments(&t);
  return unit_finish(&t, "trimap");
}
