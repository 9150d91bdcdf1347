/* test_layer_geometry.c - checks layer/canvas clipping against pixel-set references.
 * Owns: random rectangles compared with brute-force membership, plus the offsets from the plug-in guide. */
#include "layer_geometry.h"
#include "unit_check.h"

#include <limits.h>

static int contains(vmp_rect r, int x, int y) {
  return x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
}

static void check_random_intersections(unit_tally *t) {
  unsigned long long rng = 777;
  int bad = 0;
  for (int i = 0; i < 500; i++) {
    vmp_rect a = {(int)(unit_rand(&rng) % 40) - 20, (int)(unit_rand(&rng) % 40) - 20, (int)(unit_rand(&rng) % 25),
                  (int)(unit_rand(&rng) % 25)};
    vmp_rect b = {(int)(unit_rand(&rng) % 40) - 20, (int)(unit_rand(&rng) % 40) - 20, (int)(unit_rand(&rng) % 25),
                  (int)(unit_rand(&rng) % 25)};
    vmp_rect c = vmp_rect_intersect(a, b);
    for (int y = -25; y < 30; y++)
      for (int x = -25; x < 30; x++) {
        int want = contains(a, x, y) && contains(b, x, y);
        int got = !vmp_rect_is_empty(c) && contains(c, x, y);
        bad += want != got;
      }
  }
  unit_check(t, bad == 0, "intersection of 500 random rectangle pairs equals pixel-wise AND (%d mismatches)", bad);
}

static void check_layer_cases(unit_tally *t) {
  vmp_rect img, lay;
  /* the guide's two cases: a 120x100 layer at (30,20) and a 260x200 layer at (-30,-25) on a 200x150 canvas */
  int on = vmp_layer_on_canvas(30, 20, 120, 100, 200, 150, &img, &lay);
  unit_check(t, on && img.x == 30 && img.y == 20 && img.width == 120 && img.height == 100 && lay.x == 0 && lay.y == 0,
             "120x100 layer at (30,20) lies wholly on a 200x150 canvas");
  on = vmp_layer_on_canvas(-30, -25, 260, 200, 200, 150, &img, &lay);
  unit_check(t, on && img.x == 0 && img.y == 0 && img.width == 200 && img.height == 150 && lay.x == 30 && lay.y == 25,
             "260x200 layer at (-30,-25): canvas part is image (0,0,200,150) = layer (30,25,200,150)");
  on = vmp_layer_on_canvas(150, 100, 100, 100, 200, 150, &img, &lay);
  unit_check(t, on && img.width == 50 && img.height == 50 && lay.x == 0 && lay.y == 0,
             "layer hanging over the bottom-right corner keeps a 50x50 part");
  on = vmp_layer_on_canvas(300, 0, 50, 50, 200, 150, &img, &lay);
  unit_check(t, !on && vmp_rect_is_empty(img) && vmp_rect_is_empty(lay), "layer right of the canvas: no overlap");
  on = vmp_layer_on_canvas(-50, 0, 50, 50, 200, 150, &img, &lay);
  unit_check(t, !on, "layer touching the canvas only at its left edge: no overlap");
  on = vmp_layer_on_canvas(INT_MAX - 10, 0, 100, 100, 200, 150, &img, &lay);
  unit_check(t, !on, "layer at x = INT_MAX-10: no overflow, no overlap");
}

int main(void) {
  unit_tally t = {0, 0};
  check_random_intersections(&t);
  check_layer_cases(&t);
  return unit_finish(&t, "layer_geometry");
}
