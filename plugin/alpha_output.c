/* alpha_output.c - writing a computed alpha back into the image, as one undo step.
 * Owns: making and filling the mask / the new layer / the carrier of a selection outside the image, and the few
 * PDB calls that then add it. */
#include "alpha_output.h"

#include "layer.h"

gboolean vmp_alpha_output_check(GimpLayer *layer, vmp_output_kind kind, gboolean replace_mask, GError **error) {
  const gboolean mask_output = kind == VMP_OUTPUT_LAYER_MASK || kind == VMP_OUTPUT_LAYER_MASK_DECONTAMINATED;
  if (mask_output && gimp_layer_get_mask(layer) && !replace_mask) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0,
                        "The layer already has a mask. Turn on \"Replace an existing mask\" (replace-mask TRUE), "
                        "or choose another output.");
    return FALSE;
  }
  return TRUE;
}

/* "WHAT failed: <GIMP's reason>". A failure during the clean-up after an earlier one is appended to that one, so
 * the first cause stays in front. */
static void add_pdb_error(GError **error, const char *what) {
  const gchar *why = gimp_pdb_get_last_error(gimp_get_pdb());
  if (error && *error) {
    gchar *first = (*error)->message;
    (*error)->message = g_strdup_printf("%s (then %s failed too: %s)", first, what, why);
    g_free(first);
    return;
  }
  g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "%s failed: %s", what, why);
}

/* Items made here and not (or no longer) wanted: they are outside the image, so deleting them touches nothing. */
static void delete_unused(GimpItem *item, GError **error) {
  if (!gimp_item_delete(item))
    add_pdb_error(error, "Deleting an unused temporary item");
}

/* Direct writes (no shadow buffer): a shadow merge is clipped by the selection and is an undo step of its own. The
 * masks written here are not in the image yet (GIMP 3.0.4 accepts tiles for such items), so adding them is the
 * undo step, and undo/redo keep the written pixels. The tiles go to GIMP when the buffer is released. Masks are
 * linear, hence "Y float". */
static gboolean fill_mask(GimpLayerMask *mask, const GeglRectangle *rect, const gfloat *alpha, gsize row_stride,
                          GError **error) {
  GimpDrawable *d = GIMP_DRAWABLE(mask);
  GeglBuffer *buffer = gimp_drawable_get_buffer(d);
  if (!buffer) {
    add_pdb_error(error, "Getting the mask's pixels");
    return FALSE;
  }
  gegl_buffer_set(buffer, rect, 0, babl_format("Y float"), alpha, row_stride);
  g_object_unref(buffer);
  if (!gimp_drawable_update(d, rect->x, rect->y, rect->width, rect->height)) {
    add_pdb_error(error, "Updating the mask");
    return FALSE;
  }
  return TRUE;
}

/* A new mask for `layer`, black, with `alpha` written at `rect` (mask coordinates; nothing when empty), attached to
 * nothing. */
static GimpLayerMask *filled_new_mask(GimpLayer *layer, const GeglRectangle *rect, const gfloat *alpha,
                                      gsize row_stride, GError **error) {
  GimpLayerMask *mask = gimp_layer_create_mask(layer, GIMP_ADD_MASK_BLACK);
  if (!mask) {
    add_pdb_error(error, "Creating a layer mask");
    return NULL;
  }
  if (rect->width > 0 && rect->height > 0 && !fill_mask(mask, rect, alpha, row_stride, error)) {
    delete_unused(GIMP_ITEM(mask), error);
    return NULL;
  }
  return mask;
}

/* Direct writes into a layer outside the image (the copy of the outputs with decontaminated colours): like the
 * masks above, its pixels come with it when it is added, in the same undo step. */
static gboolean fill_colours(GimpLayer *layer, const vmp_decontaminated *c, GError **error) {
  GimpDrawable *d = GIMP_DRAWABLE(layer);
  GeglBuffer *buffer = gimp_drawable_get_buffer(d);
  if (!buffer) {
    add_pdb_error(error, "Getting the new layer's pixels");
    return FALSE;
  }
  gegl_buffer_set(buffer, GEGL_RECTANGLE(0, 0, c->width, c->height), 0, c->format, c->pixels, GEGL_AUTO_ROWSTRIDE);
  g_object_unref(buffer);
  if (!gimp_drawable_update(d, 0, 0, c->width, c->height)) {
    add_pdb_error(error, "Updating the new layer");
    return FALSE;
  }
  return TRUE;
}

/* The new-layer output: a copy named "NAME (ViTMatte)" with `alpha` as its (switched on) mask, not in the image.
 * Setting a mask on a layer outside the image pushes no undo step (checked: the image stays clean). A copy of a
 * layer that has a mask comes with a copy of that mask, and GIMP refuses to remove a mask from a layer outside the
 * image, so that copied mask is overwritten instead. */
static GimpLayer *copy_with_mask(GimpLayer *layer, const GeglRectangle *whole, const gfloat *alpha,
                                 const vmp_decontaminated *colours, gboolean rename, GError **error) {
  GimpLayer *copy = gimp_layer_copy(layer);
  if (!copy) {
    add_pdb_error(error, "Copying the layer");
    return NULL;
  }
  gboolean ok = TRUE;
  if (rename) {
    gchar *name = gimp_item_get_name(GIMP_ITEM(layer));
    gchar *new_name = g_strdup_printf("%s (ViTMatte)", name);
    ok = gimp_item_set_name(GIMP_ITEM(copy), new_name);
    g_free(new_name), g_free(name);
    if (!ok)
      add_pdb_error(error, "Naming the new layer");
  }
  if (ok && colours)
    ok = fill_colours(copy, colours, error);

  GimpLayerMask *mask = ok ? gimp_layer_get_mask(copy) : NULL;
  if (ok && mask) {
    ok = fill_mask(mask, whole, alpha, GEGL_AUTO_ROWSTRIDE, error);
    if (ok && !gimp_layer_get_apply_mask(copy) && !(ok = gimp_layer_set_apply_mask(copy, TRUE)))
      add_pdb_error(error, "Switching the new layer's mask on");
  } else if (ok) {
    ok = (mask = filled_new_mask(copy, whole, alpha, GEGL_AUTO_ROWSTRIDE, error)) != NULL;
    if (ok && !(ok = gimp_layer_add_mask(copy, mask))) {
      add_pdb_error(error, "Adding the mask to the new layer");
      delete_unused(GIMP_ITEM(mask), error);
    }
  }
  if (!ok) {
    delete_unused(GIMP_ITEM(copy), error);
    return NULL;
  }
  return copy;
}

/* The selection output: GIMP selects only from items in the image, so the alpha goes into the mask of a
 * canvas-sized carrier layer that commit inserts for the moment of the selection. A mask, not a channel: masks are
 * linear like the selection, while the channels of 8-bit images store Y' and would round the alpha twice. (Writing
 * the selection's own shadow buffer is no way out: GIMP 3.0.4 merges it with the wrong transfer curve.) Canvas
 * pixels outside the layer end up unselected; layer pixels off the canvas are dropped. */
static GimpLayer *selection_carrier(GimpLayer *layer, const gfloat *alpha, GError **error) {
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(layer));
  GimpDrawable *d = GIMP_DRAWABLE(layer);
  const gint w = gimp_drawable_get_width(d);
  const gint iw = gimp_image_get_width(image), ih = gimp_image_get_height(image);
  GeglRectangle rect, in_layer;
  vmp_layer_canvas_part(layer, &rect, &in_layer);

  GimpImageType type = gimp_image_get_base_type(image) == GIMP_GRAY ? GIMP_GRAY_IMAGE : GIMP_RGB_IMAGE;
  GimpLayer *carrier = gimp_layer_new(image, "ViTMatte alpha", iw, ih, type, 100.0, GIMP_LAYER_MODE_NORMAL);
  if (!carrier) {
    add_pdb_error(error, "Creating a temporary layer");
    return NULL;
  }
  /* The carrier sits at (0, 0), so its mask coordinates are image coordinates. */
  const gfloat *first = alpha + (gsize)in_layer.y * (gsize)w + (gsize)in_layer.x;
  GimpLayerMask *mask = filled_new_mask(carrier, &rect, first, (gsize)w * sizeof(gfloat), error);
  gboolean ok = mask != NULL;
  if (ok && !(ok = gimp_layer_add_mask(carrier, mask))) {
    add_pdb_error(error, "Adding the mask to the temporary layer");
    delete_unused(GIMP_ITEM(mask), error);
  }
  if (!ok) {
    delete_unused(GIMP_ITEM(carrier), error);
    return NULL;
  }
  return carrier;
}

gboolean vmp_alpha_output_prepare(GimpLayer *layer, vmp_output_kind kind, gboolean replace_mask, const gfloat *alpha,
                                  gint width, gint height, const vmp_decontaminated *colours, vmp_alpha_output *out,
                                  GError **error) {
  memset(out, 0, sizeof *out);
  out->layer = layer;
  out->kind = kind;
  out->replace_mask = replace_mask;
  /* GIMP keeps the image editable while the model runs. */
  GimpDrawable *d = GIMP_DRAWABLE(layer);
  const gint now_w = gimp_drawable_get_width(d), now_h = gimp_drawable_get_height(d);
  if (now_w != width || now_h != height) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                "The layer changed size while ViTMatte ran (%d x %d, now %d x %d); nothing was written", width, height,
                now_w, now_h);
    return FALSE;
  }
  if (colours && (colours->width != width || colours->height != height)) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0, "The decontaminated colours do not have the layer's size");
    return FALSE;
  }
  const GeglRectangle whole = {0, 0, width, height};
  switch (kind) {
  case VMP_OUTPUT_LAYER_MASK:
    return (out->mask = filled_new_mask(layer, &whole, alpha, GEGL_AUTO_ROWSTRIDE, error)) != NULL;
  case VMP_OUTPUT_LAYER_MASK_DECONTAMINATED:
    if (!colours) {
      g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0, "No decontaminated colours for the layer");
      return FALSE;
    }
    return (out->new_layer = copy_with_mask(layer, &whole, alpha, colours, FALSE, error)) != NULL;
  case VMP_OUTPUT_NEW_LAYER:
    out->hide_original = colours != NULL;
    return (out->new_layer = copy_with_mask(layer, &whole, alpha, colours, TRUE, error)) != NULL;
  case VMP_OUTPUT_SELECTION: return (out->new_layer = selection_carrier(layer, alpha, error)) != NULL;
  }
  g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0, "Unknown output");
  return FALSE;
}

static GimpDrawable *commit_mask(vmp_alpha_output *out, GError **error) {
  GimpLayerMask *mask = out->mask;
  out->mask = NULL;
  gboolean removed = FALSE;
  if (out->replace_mask && gimp_layer_get_mask(out->layer)) {
    if (!gimp_layer_remove_mask(out->layer, GIMP_MASK_DISCARD)) {
      add_pdb_error(error, "Removing the old layer mask");
      delete_unused(GIMP_ITEM(mask), error);
      return NULL;
    }
    removed = TRUE;
  }
  /* Without replace-mask, a mask that appeared while the model ran makes GIMP refuse this; it is left alone. */
  if (!gimp_layer_add_mask(out->layer, mask)) {
    add_pdb_error(error, removed ? "Adding the new layer mask (the old one is removed; Edit > Undo brings it back)"
                                 : "Adding the layer mask");
    delete_unused(GIMP_ITEM(mask), error);
    return NULL;
  }
  return GIMP_DRAWABLE(mask);
}

static GimpDrawable *commit_new_layer(GimpImage *image, vmp_alpha_output *out, GError **error) {
  GimpLayer *copy = out->new_layer;
  out->new_layer = NULL;
  GimpItem *parent = gimp_item_get_parent(GIMP_ITEM(out->layer));
  /* At the original's position, so the copy sits just above it in the same group. */
  if (!gimp_image_insert_layer(image, copy, parent ? GIMP_LAYER(parent) : NULL,
                               gimp_image_get_item_position(image, GIMP_ITEM(out->layer)))) {
    add_pdb_error(error, "Inserting the new layer");
    delete_unused(GIMP_ITEM(copy), error);
    return NULL;
  }
  if (out->hide_original && !gimp_item_set_visible(GIMP_ITEM(out->layer), FALSE)) {
    add_pdb_error(error, "Hiding the original layer (the new layer was added; Edit > Undo removes it)");
    return NULL;
  }
  return GIMP_DRAWABLE(copy);
}

/* Layer mask + decontaminated colours: a plug-in can rewrite a layer's pixels with an undo step only through a
 * shadow merge, which the selection clips; so the layer is replaced by its copy that carries the colours and the
 * mask (same name, position, offsets, mode, opacity). */
static GimpDrawable *commit_replacement(GimpImage *image, vmp_alpha_output *out, GError **error) {
  GimpDrawable *copy = commit_new_layer(image, out, error);
  if (!copy)
    return NULL;
  /* Names are unique in an image: the copy gets the original's name once the original is gone. */
  gchar *name = gimp_item_get_name(GIMP_ITEM(out->layer));
  gboolean ok = gimp_image_remove_layer(image, out->layer);
  if (!ok)
    add_pdb_error(error, "Removing the original layer (its decontaminated copy is above it; Edit > Undo removes it)");
  else if (!(ok = gimp_item_set_name(GIMP_ITEM(copy), name)))
    add_pdb_error(error, "Naming the decontaminated layer");
  g_free(name);
  return ok ? GIMP_DRAWABLE(gimp_layer_get_mask(GIMP_LAYER(copy))) : NULL;
}

static GimpDrawable *commit_selection(GimpImage *image, vmp_alpha_output *out, GError **error) {
  GimpLayer *carrier = out->new_layer;
  out->new_layer = NULL;
  GimpLayerMask *mask = gimp_layer_get_mask(carrier);
  if (!mask) {
    add_pdb_error(error, "Finding the temporary layer's mask");
    delete_unused(GIMP_ITEM(carrier), error);
    return NULL;
  }
  if (!gimp_image_insert_layer(image, carrier, NULL, 0)) {
    add_pdb_error(error, "Inserting a temporary layer");
    delete_unused(GIMP_ITEM(carrier), error);
    return NULL;
  }
  gboolean ok = gimp_image_select_item(image, GIMP_CHANNEL_OP_REPLACE, GIMP_ITEM(mask));
  if (!ok)
    add_pdb_error(error, "Setting the selection");
  if (!gimp_image_remove_layer(image, carrier)) {
    add_pdb_error(error, "Removing the temporary layer \"ViTMatte alpha\" (Edit > Undo removes it)");
    ok = FALSE;
  }
  return ok ? GIMP_DRAWABLE(gimp_image_get_selection(image)) : NULL;
}

GimpDrawable *vmp_alpha_output_commit(vmp_alpha_output *out, GError **error) {
  GimpImage *image = gimp_item_get_image(GIMP_ITEM(out->layer));
  if (!gimp_image_undo_group_start(image)) {
    add_pdb_error(error, "Starting an undo group");
    vmp_alpha_output_discard(out);
    return NULL;
  }
  GimpDrawable *result = NULL;
  switch (out->kind) {
  case VMP_OUTPUT_LAYER_MASK: result = commit_mask(out, error); break;
  case VMP_OUTPUT_NEW_LAYER: result = commit_new_layer(image, out, error); break;
  case VMP_OUTPUT_LAYER_MASK_DECONTAMINATED: result = commit_replacement(image, out, error); break;
  case VMP_OUTPUT_SELECTION: result = commit_selection(image, out, error); break;
  }
  vmp_alpha_output_discard(out); /* nothing left unless the kind was unknown */
  if (!gimp_image_undo_group_end(image)) {
    add_pdb_error(error, result ? "Closing the undo group (the result was written)" : "Closing the undo group");
    result = NULL;
  }
  return result;
}

void vmp_alpha_output_discard(vmp_alpha_output *out) {
  if (out->mask)
    delete_unused(GIMP_ITEM(out->mask), NULL);
  if (out->new_layer)
    delete_unused(GIMP_ITEM(out->new_layer), NULL);
  out->mask = NULL;
  out->new_layer = NULL;
}
