/* matte_run.c - what happens when the procedure runs: validate, read, predict, and only then write.
 * Owns: argument checks, the progress stages and the PDB status of the run. */
#include "matte_run.h"

#include "alpha_output.h"
#include "decontaminate.h"
#include "dialog_services.h"
#include "engine_session.h"
#include "layer.h"
#include "matte_dialog.h"
#include "preview.h"
#include "trimap_source.h"
#include "vitmatte_args.h"

/* Progress stages, as fractions of the bar: loading and reading are quick, the model is nearly everything. */
#define STAGE_LOADED 0.04
#define STAGE_TRIMAP 0.07
#define STAGE_MODEL 0.10
#define STAGE_WRITE 0.97
#define STAGE_DECONTAMINATE 0.85 /* when the colours are decontaminated: the model ends here, the estimation after */

void vmp_run_args_read(GimpProcedureConfig *config, vmp_run_args *a) {
  memset(a, 0, sizeof *a);
  g_object_get(config, VMP_ARG_TRIMAP_CHANNEL, &a->channel, VMP_ARG_TRIMAP_CHANNEL_NAME, &a->channel_name,
               VMP_ARG_BAND_WIDTH, &a->band_width, VMP_ARG_MODEL, &a->model, VMP_ARG_REPLACE_MASK, &a->replace_mask,
               VMP_ARG_DECONTAMINATE, &a->decontaminate, VMP_ARG_DECONTAMINATE_AMOUNT, &a->amount, VMP_ARG_CPU_THREADS,
               &a->cpu_threads, NULL);
  a->source = gimp_procedure_config_get_choice_id(config, VMP_ARG_TRIMAP_SOURCE);
  a->device = gimp_procedure_config_get_choice_id(config, VMP_ARG_DEVICE);
  a->precision = gimp_procedure_config_get_choice_id(config, VMP_ARG_PRECISION);
  a->output = gimp_procedure_config_get_choice_id(config, VMP_ARG_OUTPUT);
}

void vmp_run_args_clear(vmp_run_args *a) {
  g_clear_object(&a->channel);
  g_clear_pointer(&a->model, g_free);
  g_clear_pointer(&a->channel_name, g_free);
}

/* The only layer of `layers` (a NULL-terminated array, freed here) that is not a group, or NULL. */
static GimpLayer *single_layer(GimpLayer **layers) {
  GimpLayer *found = NULL;
  gint n = 0;
  for (gint i = 0; layers && layers[i]; i++)
    n++, found = layers[i];
  g_free(layers);
  return n == 1 && !gimp_item_is_group(GIMP_ITEM(found)) ? found : NULL;
}

/* The one layer the procedure works on, or NULL with `error` set (a calling error: wrong kind of drawable).
 * Started with a channel selected (typically the trimap just painted), it works on the selected layer, or on the
 * image's only layer, and reports the channel in `selected_channel` so it can serve as the trimap. */
static GimpLayer *pick_layer(GimpImage *image, GimpDrawable **drawables, GimpChannel **selected_channel,
                             GError **error) {
  *selected_channel = NULL;
  if (gimp_core_object_array_get_length((GObject **)drawables) != 1) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0, "ViTMatte works on exactly one selected layer");
    return NULL;
  }
  GimpDrawable *d = drawables[0];
  if (GIMP_IS_LAYER_MASK(d)) {
    d = GIMP_DRAWABLE(gimp_layer_from_mask(GIMP_LAYER_MASK(d)));
  } else if (GIMP_IS_CHANNEL(d)) {
    GimpLayer *layer = single_layer(gimp_image_get_selected_layers(image));
    if (!layer)
      layer = single_layer(gimp_image_get_layers(image));
    if (!layer) {
      g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0,
                          "ViTMatte works on a layer: select the layer to matte (with a channel selected, it takes "
                          "the selected layer or the image's only layer)");
      return NULL;
    }
    *selected_channel = GIMP_CHANNEL(d);
    d = GIMP_DRAWABLE(layer);
  }
  if (!GIMP_IS_LAYER(d)) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0, "ViTMatte works on a layer; select a layer");
    return NULL;
  }
  if (gimp_item_is_group(GIMP_ITEM(d))) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0, "ViTMatte cannot work on a layer group; select a layer in it");
    return NULL;
  }
  if (gimp_image_get_base_type(image) == GIMP_INDEXED || gimp_drawable_is_indexed(d)) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0,
                        "Indexed images are not supported: convert the image with Image > Mode > RGB first");
    return NULL;
  }
  return GIMP_LAYER(d);
}

/* What the plug-in holds besides the engine while the model runs, for the memory check: its copy of the layer,
 * the trimap as read (channel values, or the selection with a margin and two distance-transform buffers) and as
 * bytes, the alpha, and the output buffer it fills (saturating). */
static gsize host_bytes(const vmp_run_args *a, GimpLayer *layer) {
  GimpDrawable *d = GIMP_DRAWABLE(layer);
  const gsize w = (gsize)gimp_drawable_get_width(d), h = (gsize)gimp_drawable_get_height(d);
  /* a band source (selection, layer mask, alpha) reads floats and needs two distance-transform buffers besides */
  const gboolean band = a->source != VMP_SOURCE_CHANNEL;
  const gsize m = a->source == VMP_SOURCE_SELECTION ? (gsize)MAX(a->band_width, 0) : 0;
  const gsize read_values = (w + 2 * m) * (h + 2 * m) * (band ? 9 : 4);
  const gsize per_pixel = 1 + sizeof(gfloat) + sizeof(gfloat); /* trimap, alpha, output */
  const gsize layer_bytes = vmp_layer_pixels_bytes(d);
  if (w * h > G_MAXSIZE / 16 || layer_bytes > G_MAXSIZE / 2)
    return G_MAXSIZE;
  return layer_bytes + read_values + w * h * per_pixel;
}

/* Test hook of tests/gimp/integration.sh (the cancel cases), never set in normal use: when $VITMATTE_GIMP_TEST_PAUSE
 * names a file that exists, the plug-in creates "<file>.paused" and waits there, once the output is ready and
 * before the image is touched: the last moment GIMP's Cancel can still end the plug-in, so the test kills it there. */
#define VMP_TEST_PAUSE_ENV "VITMATTE_GIMP_TEST_PAUSE"
#define VMP_TEST_PAUSE_SECONDS 30

static void pause_for_tests(void) {
  const gchar *armed = g_getenv(VMP_TEST_PAUSE_ENV);
  if (!armed || !g_file_test(armed, G_FILE_TEST_EXISTS))
    return;
  gchar *paused = g_strconcat(armed, ".paused", NULL);
  if (g_file_set_contents(paused, "paused\n", -1, NULL))
    g_usleep(VMP_TEST_PAUSE_SECONDS * G_USEC_PER_SEC);
  g_free(paused);
}

/* Everything that can fail or be cancelled happens before the image is touched (GIMP ends a cancelled plug-in
 * outright): the model, the size and memory check (before a pixel is read), the trimap, the prediction, and the
 * output itself, made and filled outside the image. Then the progress
 * ends, which takes GIMP's Cancel away (gimp_plug_in_progress_end disconnects the handler that kills the plug-in),
 * and at most three PDB calls in one undo group add the output (alpha_output.h). */
static GimpDrawable *matte(GimpImage *image, GimpLayer *layer, GimpChannel *selected_channel, const vmp_run_args *a,
                           GError **error) {
  GimpDrawable *result = NULL;
  vmp_layer_pixels pixels = {0};
  vmp_engine_session session = {0};
  guint8 *trimap = NULL;
  gchar *model_path = NULL;
  gfloat *alpha = NULL;
  vmp_decontaminated colours = {0};
  /* the outputs that carry colours: the decontaminated mask output always, a new layer when asked */
  const gboolean decontaminate =
      a->output == VMP_OUTPUT_LAYER_MASK_DECONTAMINATED || (a->output == VMP_OUTPUT_NEW_LAYER && a->decontaminate);
  const gdouble model_end = decontaminate ? STAGE_DECONTAMINATE : STAGE_WRITE;

  /* A rough layer mask refined into the matte replaces itself: it was the input, not something to protect. */
  const gboolean replace_mask = a->replace_mask || a->source == VMP_SOURCE_LAYER_MASK;

  if (!vmp_alpha_output_check(layer, a->output, replace_mask, error))
    goto done;
  if (!(model_path = vmp_resolve_model_path(a->model, error)))
    goto done;

  /* The decontamination's memory first (it comes after the model, whose memory is given back by then): a refusal
   * costs no model load. */
  const gint lw = gimp_drawable_get_width(GIMP_DRAWABLE(layer)), lh = gimp_drawable_get_height(GIMP_DRAWABLE(layer));
  if (decontaminate) {
    const gsize colours = vmp_decontaminate_host_bytes(GIMP_DRAWABLE(layer)), alpha_bytes = (gsize)lw * lh * 4;
    const gsize held = colours > G_MAXSIZE - alpha_bytes ? G_MAXSIZE : colours + alpha_bytes;
    if (!vmp_engine_check_foreground_size(lw, lh, held, error))
      goto done;
  }
  gimp_progress_init("ViTMatte: loading the model");
  if (!vmp_engine_open(&session, model_path, a->device, a->precision, a->cpu_threads, NULL, NULL, error))
    goto done;
  gimp_progress_update(STAGE_LOADED);
  /* Before a pixel is read: the engine's limits and the memory the whole run needs. */
  if (!vmp_engine_check_size(&session, lw, lh, host_bytes(a, layer), error))
    goto done;
  gimp_progress_set_text("ViTMatte: reading the trimap");
  if (!(trimap = vmp_run_trimap(a, image, layer, selected_channel, error)))
    goto done;
  gimp_progress_update(STAGE_TRIMAP);
  gimp_progress_set_text("ViTMatte: reading the layer");
  if (!vmp_layer_pixels_read(GIMP_DRAWABLE(layer), &pixels, error))
    goto done;
  gimp_progress_update(STAGE_MODEL);

  const gint width = pixels.image.width, height = pixels.image.height;
  const vm_image trimap_image = {trimap, width, height, 1, 0, VM_PIXEL_U8};
  alpha = vmp_engine_predict(&session, &pixels.image, &trimap_image, STAGE_MODEL, model_end, error);
  if (!alpha)
    goto done;
  /* The inputs and the engine are no longer needed; large images need the memory back before GIMP copies the
   * output. */
  vmp_layer_pixels_clear(&pixels);
  g_clear_pointer(&trimap, g_free);
  vmp_engine_close(&session);

  if (decontaminate) {
    gimp_progress_set_text("ViTMatte: decontaminating the colours");
    if (!vmp_decontaminate(GIMP_DRAWABLE(layer), alpha, a->amount / 100.0, a->device, model_end, STAGE_WRITE, &colours,
                           error))
      goto done;
  }

  gimp_progress_set_text("ViTMatte: writing the result");
  vmp_alpha_output output;
  if (!vmp_alpha_output_prepare(layer, a->output, replace_mask, alpha, width, height, decontaminate ? &colours : NULL,
                                &output, error))
    goto done;
  vmp_decontaminated_clear(&colours); /* in the new layer now; large images need the memory back */
  gimp_progress_update(1.0);
  pause_for_tests();
  /* No progress call may follow: one would start a new progress, and with it a new Cancel. Should ending it fail,
   * Cancel stays possible for the few calls of the commit, which is still better than not writing. */
  (void)gimp_progress_end();
  result = vmp_alpha_output_commit(&output, error);

done:
  vmp_layer_pixels_clear(&pixels);
  vmp_engine_close(&session);
  g_free(trimap);
  g_free(model_path);
  g_free(alpha);
  vmp_decontaminated_clear(&colours);
  return result;
}

/* The values chosen in the dialog, saved as soon as OK is pressed, so the next dialog shows them even when this run
 * fails (libgimp saves them only after a successful run: the user got the defaults back after an error). An image
 * that carries last values of its own (the parasite libgimp attaches after a run) has them read first by the next
 * dialog, so those are updated too; an image without them gets none. */
static void remember_values(GimpProcedureConfig *config, GimpImage *image) {
  gchar *leaf = g_strconcat(G_OBJECT_TYPE_NAME(config), ".last", NULL);
  GFile *file = gimp_directory_file("plug-in-settings", leaf, NULL);
  GError *error = NULL;
  if (!gimp_config_serialize_to_file(GIMP_CONFIG(config), file, "settings", "end of settings", NULL, &error)) {
    g_printerr("ViTMatte: could not save the dialog's values: %s\n", error->message);
    g_clear_error(&error);
  }
  g_object_unref(file);
  g_free(leaf);

  gchar *name = g_strconcat(G_OBJECT_TYPE_NAME(config), "-last", NULL);
  GimpParasite *old = gimp_image_get_parasite(image, name);
  if (old) {
    GimpParasite *values = gimp_config_serialize_to_parasite(GIMP_CONFIG(config), name, GIMP_PARASITE_PERSISTENT, NULL);
    if (values)
      gimp_image_attach_parasite(image, values);
    gimp_parasite_free(values);
    gimp_parasite_free(old);
  }
  g_free(name);
}

static gboolean ask_user(GimpProcedure *procedure, GimpProcedureConfig *config, GimpImage *image, GimpLayer *layer,
                         GimpChannel *selected_channel) {
  vmp_preview *preview = vmp_preview_new(image, layer, selected_channel);
  vmp_dialog_services services;
  vmp_dialog_services_init(&services, preview);
  const gboolean ok = vmp_matte_dialog_run(procedure, config, &services);
  /* On OK the run computes the alpha from scratch, on purpose, even when the preview's last result was the whole
   * layer (on a GPU, or a layer of at most 640 x 480) and OK's mask equals it (the GUI test checks that). Reusing it
   * would need: that result to be for exactly the values OK returns (a change in the last 0.4 s is not computed
   * yet, and the preview keeps no record of which values it answered), the layer and the trimap source unchanged
   * since (a plug-in's dialog leaves GIMP's image windows editable, and the preview does not watch them), the alpha
   * handed from the preview to the run, and the run's memory check and progress arranged around a model that no
   * longer runs. It would save one model run; recomputing is simpler and always right. The preview goes first: the
   * run loads its own model, and a preview context on the GPU would hold its memory. */
  vmp_preview_free(preview);
  if (ok)
    remember_values(config, image);
  return ok;
}

GimpValueArray *vmp_matte_run(GimpProcedure *procedure, GimpRunMode run_mode, GimpImage *image,
                              GimpDrawable **drawables, GimpProcedureConfig *config, gpointer run_data) {
  (void)run_data;
  GError *error = NULL;
  gegl_init(NULL, NULL);

  GimpChannel *selected_channel = NULL;
  GimpLayer *layer = pick_layer(image, drawables, &selected_channel, &error);
  if (!layer)
    return gimp_procedure_new_return_values(procedure, GIMP_PDB_CALLING_ERROR, error);

  if (run_mode == GIMP_RUN_INTERACTIVE && !ask_user(procedure, config, image, layer, selected_channel))
    return gimp_procedure_new_return_values(procedure, GIMP_PDB_CANCEL, NULL);

  vmp_run_args args;
  vmp_run_args_read(config, &args);
  GimpDrawable *result = matte(image, layer, selected_channel, &args, &error);
  vmp_run_args_clear(&args);

  /* In interactive runs the core shows a returned error as a message ("Execution error for 'ViTMatte'");
   * Script-Fu and other PDB callers get the status and the same text. */
  if (!result)
    return gimp_procedure_new_return_values(procedure, GIMP_PDB_EXECUTION_ERROR, error);

  if (run_mode != GIMP_RUN_NONINTERACTIVE)
    gimp_displays_flush();
  GimpValueArray *ret = gimp_procedure_new_return_values(procedure, GIMP_PDB_SUCCESS, NULL);
  GIMP_VALUES_SET_DRAWABLE(ret, 1, result);
  return ret;
}
