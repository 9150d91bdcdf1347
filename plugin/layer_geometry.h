/* layer_geometry.h - where a layer lies relative to the canvas (layers may be offset, smaller, larger or outside).
 * Owns: rectangle intersection and the layer/canvas overlap in both coordinate systems. No GIMP here. */
#ifndef VMP_LAYER_GEOMETRY_H
#define VMP_LAYER_GEOMETRY_H

typedef struct vmp_rect {
  int x, y;
  int width, height; /* 0 x 0 when empty */
} vmp_rect;

/* The common part of a and b; {x, y, 0, 0} when they do not overlap. Safe for any int inputs. */
vmp_rect vmp_rect_intersect(vmp_rect a, vmp_rect b);

int vmp_rect_is_empty(vmp_rect r);

/* The part of a layer (offset ox, oy; size layer_w x layer_h) that lies on a canvas_w x canvas_h canvas:
 * `in_image` in image coordinates, `in_layer` the same pixels in layer coordinates. Returns 0 when the layer
 * lies wholly outside the canvas (both rectangles are then empty), 1 otherwise. */
int vmp_layer_on_canvas(int ox, int oy, int layer_w, int layer_h, int canvas_w, int canvas_h, vmp_rect *in_image,
                        vmp_rect *in_layer);

#endif
