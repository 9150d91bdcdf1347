/* alpha_output.c - writing a computed alpha back into the image, as one undo step.
 * Owns: creating the mask / the new layer / the temporary carrier of a selection, and filling it. */
#include "alpha_output.h"

#include "layer_geometry.h"

gboolean vmp_alpha_output_check(GimpLayer *layer, vmp_output_kind kind, gboolean replace_mask, GError **error) {
  if (kind == VMP_OUTPUT_LAYER_MASK && gimp_layer_get_mask(layer) && !replace_mask) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0,
                        "The layer already has a mask. Turn on \"Replace an existing mask\" (replace-mask TRUE), "
                        "or choose another output.");
    return FALSE;
  }
  return TRUE;
}

static void set_pdb_error(GError **error, const char *what) {
  g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s failed: %s", what, gimp_pdb_get_last_error(gimp_get_pdb()));
}

/* Direct writes (no shadow buffer): the shadow merge would be clipped by the selection, and the items written
 * here are new, so their creation is the undo step. Masks are linear, hence "Y float". */
static void fill_drawable(GimpDrawable *drawable, const GeglRectangle *rect, const gfloat *alpha, gsize row_stride) {
  GeglBuffer *buffer = gimp_drawable_get_buffer(drawable);
  gegl_buffer_set(buffer, rect, 0, babl_format("Y float"), alpha, row_stride);
  g_object_unref(buffer); /* sends the tiles before the update below */
  gimp_drawable_update(drawable, rect->x, rect->y, rect->width, rect->height);
}

/* A new mask on `layer` (replacing any old one) holding `alpha`, or black when `alpha` is NULL. */
static GimpDrawable *add_mask(GimpLayer *layer, const gfloat *alpha, GError **error) {
  if (gimp_layer_get_mask(layer) && !gimp_layer_remove_mask(layer, GIMP_MASK_DISCARD)) {
    set_pdb_error(error, "Removing the old layer mask");
    return NULL;
  }
  GimpLayerMask *mask = gimp_layer_create_mask(layer, GIMP_ADD_MASK_BLACK);
  if (!mask || !gimp_layer_add_mask(layer, mask)) {
    set_pdb_error(error, "Adding a layer mask");
    return NULL;
  }
  GimpDrawable *d = GIMP_DRAWABLE(mask);
  if (alpha) {
    const GeglRectangle rect = {0, 0, gimp_drawable_get_width(d), gimp_drawable_get_height(d)};
    fill_drawable(d, &rect, alpha, GEGL_AUTO_ROWSTRIDE);
  }
  return d;
}

static GimpDrawable *add_layer_with_mask(GimpLayer *layer, const gfloat *alpha, GError **error) {
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(layer));
  GimpLayer *copy = gimp_layer_copy(layer);
  if (!copy) {
    set_pdb_error(error, "Copying the layer");
    return NULL;
  }
  gchar *name = gimp_item_get_name(GIMP_ITEM(layer));
  gchar *new_name = g_strdup_printf("%s (ViTMatte)", name);
  gimp_item_set_name(GIMP_ITEM(copy), new_name);
  g_free(new_name), g_free(name);
  GimpItem *parent = gimp_item_get_parent(GIMP_ITEM(layer));
  /* At the original's position, so the copy sits just above it in the same group. */
  if (!gimp_image_insert_layer(image, copy, parent ? GIMP_LAYER(parent) : NULL,
                               gimp_image_get_item_position(image, GIMP_ITEM(layer)))) {
    set_pdb_error(error, "Inserting the new layer");
    return NULL;
  }
  if (!add_mask(copy, alpha, error))
    return NULL;
  return GIMP_DRAWABLE(copy);
}

static GimpDrawable *replace_selection(GimpLayer *layer, const gfloat *alpha, GError **error) {
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(layer));
  GimpDrawable *d = GIMP_DRAWABLE(layer);
  gint ox = 0, oy = 0;
  gimp_drawable_get_offsets(d, &ox, &oy);
  const gint w = gimp_drawable_get_width(d);
  const gint iw = gimp_image_get_width(image), ih = gimp_image_get_height(image);
  vmp_rect in_image, in_layer;
  vmp_layer_on_canvas(ox, oy, w, gimp_drawable_get_height(d), iw, ih, &in_image, &in_layer);

  /* The selection takes its values from an item: the mask of a temporary canvas-sized layer, removed again in the
   * same undo group. A mask, not a channel: masks are linear like the selection, while the channels of 8-bit
   * images store Y' and would round the alpha twice. (Writing the selection's own shadow buffer is no way out:
   * GIMP 3.0.4 merges it with the wrong transfer curve.) Canvas pixels outside the layer end up unselected;
   * layer pixels off the canvas are dropped. */
  GimpImageType type = gimp_image_get_base_type(image) == GIMP_GRAY ? GIMP_GRAY_IMAGE : GIMP_RGB_IMAGE;
  GimpLayer *carrier = gimp_layer_new(image, "ViTMatte alpha", iw, ih, type, 100.0, GIMP_LAYER_MODE_NORMAL);
  if (!carrier || !gimp_image_insert_layer(image, carrier, NULL, 0)) {
    set_pdb_error(error, "Creating a temporary layer");
    return NULL;
  }
  GimpDrawable *mask = add_mask(carrier, NULL, error);
  gboolean ok = mask != NULL;
  if (ok && !vmp_rect_is_empty(in_image)) {
    const GeglRectangle rect = {in_image.x, in_image.y, in_image.width, in_image.height};
    const gfloat *first = alpha + (gsize)in_layer.y * (gsize)w + (gsize)in_layer.x;
    fill_drawable(mask, &rect, first, (gsize)w * sizeof(gfloat));
  }
  if (ok && !(ok = gimp_image_select_item(image, GIMP_CHANNEL_OP_REPLACE, GIMP_ITEM(mask))))
    set_pdb_error(error, "Setting the selection");
  gimp_image_remove_layer(image, carrier);
  return ok ? GIMP_DRAWABLE(gimp_image_get_selection(image)) : NULL;
}

GimpDrawable *vmp_alpha_output_write(GimpLayer *layer, vmp_output_kind kind, gboolean replace_mask, const gfloat *alpha,
                                     GError **error) {
  if (!vmp_alpha_output_check(layer, kind, replace_mask, error))
    return NULL;
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(layer));
  GimpDrawable *result = NULL;
  gimp_image_undo_group_start(image);
  switch (kind) {
  case VMP_OUTPUT_LAYER_MASK: result = add_mask(layer, alpha, error); break;
  case VMP_OUTPUT_NEW_LAYER: result = add_layer_with_mask(layer, alpha, error); break;
  case VMP_OUTPUT_SELECTION: result = replace_selection(layer, alpha, error); break;
  }
  gimp_image_undo_group_end(image);
  return result;
}
