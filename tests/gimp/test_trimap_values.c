/* test_trimap_values.c - checks vmp_trimap_from_values (plugin/trimap_source.h), the trimap a run and the dialog's
 * preview both make of the values read from a source. Owns: its refusals (no unknown pixels: the engine's words and
 * the source's hint; the band functions' failure) and that what it builds is the trimap.h builders' result. Links
 * libgimp but needs no running GIMP. */
#include <string.h>

#include "trimap.h"
#include "trimap_source.h"
#include "unit_check.h"

enum { W = 12, H = 9 };

static const char *const source_names[] = {"channel", "selection", "layer-mask", "layer-alpha"};

/* A disc of opacity 1 in a 12 x 9 field of 0, with a soft ring: a rough mask with an edge inside. */
static void disc(float *values) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const int d2 = (x - 6) * (x - 6) + (y - 4) * (y - 4);
      values[y * W + x] = d2 <= 4 ? 1.0f : d2 <= 9 ? 0.5f : 0.0f;
    }
}

static void check_built(unit_tally *t) {
  float values[W * H];
  uint8_t want[W * H];
  disc(values);
  GError *error = NULL;
  guint8 *got = vmp_trimap_from_values(VMP_SOURCE_LAYER_MASK, values, W, H, 0, 2, &error);
  vmp_trimap_from_mask(values, W, H, 0, 2, VMP_MASK_BLACK_POINT, VMP_MASK_WHITE_POINT, want);
  unit_check(t, got && !error && memcmp(got, want, sizeof want) == 0,
             "layer-mask values with an edge: the band trimap of vmp_trimap_from_mask (band 2)");
  g_free(got);
  g_clear_error(&error);
  got = vmp_trimap_from_values(VMP_SOURCE_CHANNEL, values, W, H, 0, 2, &error);
  vmp_trimap_from_channel(values, W * H, want);
  unit_check(t, got && !error && memcmp(got, want, sizeof want) == 0,
             "channel values: classified by vmp_trimap_from_channel");
  g_free(got);
  g_clear_error(&error);
}

/* Every value `v`: no unknown pixels, so NULL with the engine's words and the hint for `source`. */
static void check_no_unknown(unit_tally *t, vmp_trimap_source source, float v, const char *hint) {
  float values[W * H];
  for (int i = 0; i < W * H; i++)
    values[i] = v;
  GError *error = NULL;
  guint8 *got = vmp_trimap_from_values(source, values, W, H, 0, 3, &error);
  const char *message = error ? error->message : "";
  unit_check(t, !got && g_str_has_prefix(message, "The trimap has no unknown pixels (") &&
                    g_str_has_suffix(message, hint),
             "%s, every value %g: refused with the engine's words and the source's hint (%s)", source_names[source],
             (double)v, message);
  g_free(got);
  g_clear_error(&error);
}

/* The band functions return -1 when out of memory; a band width they refuse makes them do so here. Then there is
 * no trimap (none that was never written) and an error says so. */
static void check_band_failure(unit_tally *t, vmp_trimap_source source) {
  float values[W * H];
  disc(values);
  GError *error = NULL;
  guint8 *got = vmp_trimap_from_values(source, values, W, H, 0, -1, &error);
  const char *message = error ? error->message : "";
  unit_check(t, !got && strcmp(message, "Not enough memory to build a 12 x 9 trimap") == 0,
             "%s, the band function fails: NULL and an error (%s)", source_names[source], message);
  g_free(got);
  g_clear_error(&error);
}

int main(void) {
  unit_tally t = {0, 0};
  check_built(&t);
  check_no_unknown(&t, VMP_SOURCE_CHANNEL, 1.0f,
                   "Paint the uncertain edge in grey (between 10% and 90%) in the trimap channel.");
  check_no_unknown(&t, VMP_SOURCE_SELECTION, 0.0f,
                   "The selection's edge does not cross the layer: select part of the layer's content.");
  check_no_unknown(&t, VMP_SOURCE_LAYER_MASK, 1.0f,
                   "The mask has no edge inside the layer: it must be white on the subject and black around it.");
  check_no_unknown(&t, VMP_SOURCE_LAYER_ALPHA, 0.0f,
                   "The alpha has no edge inside the layer: the subject must be opaque and what surrounds it "
                   "transparent.");
  check_band_failure(&t, VMP_SOURCE_SELECTION);
  check_band_failure(&t, VMP_SOURCE_LAYER_MASK);
  check_band_failure(&t, VMP_SOURCE_LAYER_ALPHA);
  return unit_finish(&t, "trimap from values");
}
