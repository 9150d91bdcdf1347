/* layer_geometry.c - where a layer lies relative to the canvas (layers may be offset, smaller, larger or outside).
 * Owns: rectangle intersection and the layer/canvas overlap. */
#include "layer_geometry.h"

#include <stdint.h>

/* 64-bit ends, because x + width can overflow an int for far-off layers. */
vmp_rect vmp_rect_intersect(vmp_rect a, vmp_rect b) {
  int64_t x0 = a.x > b.x ? a.x : b.x;
  int64_t y0 = a.y > b.y ? a.y : b.y;
  int64_t ax1 = (int64_t)a.x + (a.width > 0 ? a.width : 0), bx1 = (int64_t)b.x + (b.width > 0 ? b.width : 0);
  int64_t ay1 = (int64_t)a.y + (a.height > 0 ? a.height : 0), by1 = (int64_t)b.y + (b.height > 0 ? b.height : 0);
  int64_t x1 = ax1 < bx1 ? ax1 : bx1;
  int64_t y1 = ay1 < by1 ? ay1 : by1;
  vmp_rect r = {(int)x0, (int)y0, 0, 0};
  if (x1 > x0 && y1 > y0) {
    r.width = (int)(x1 - x0);
    r.height = (int)(y1 - y0);
  }
  return r;
}

int vmp_rect_is_empty(vmp_rect r) { return r.width <= 0 || r.height <= 0; }

int vmp_layer_on_canvas(int ox, int oy, int layer_w, int layer_h, int canvas_w, int canvas_h, vmp_rect *in_image,
                        vmp_rect *in_layer) {
  vmp_rect layer = {ox, oy, layer_w, layer_h};
  vmp_rect canvas = {0, 0, canvas_w, canvas_h};
  vmp_rect common = vmp_rect_intersect(layer, canvas);
  vmp_rect local = {0, 0, 0, 0};
  if (!vmp_rect_is_empty(common)) {
    local.x = (int)((int64_t)common.x - ox);
    local.y = (int)((int64_t)common.y - oy);
    local.width = common.width;
    local.height = common.height;
  } else {
    common.width = common.height = 0;
  }
  if (in_image)
    *in_image = common;
  if (in_layer)
    *in_layer = local;
  return !vmp_rect_is_empty(common);
}
