/* engine_session.c - the ViTMatte engine from inside the plug-in: a run (GIMP progress) or the preview's worker.
 * Owns: model lookup, engine calls and the user-facing wording of engine errors. */
#include "engine_session.h"

#include <stdlib.h>

#include "model_location.h"
#include "vitmatte_models.h"

/* A name (small, base, a folder of the models folder, a repository) or a path chosen by the user: the folder. A
 * known model that is not downloaded is an error that says how to get it; anything else that is no model name is
 * left to the engine, whose message names the path. */
static gchar *resolve_chosen(const gchar *chosen, GError **error) {
  vmm_error err;
  char *models_dir = vmm_models_dir(NULL);
  char *path = vmm_resolve(models_dir, chosen, &err);
  free(models_dir);
  gchar *result = NULL;
  if (path) {
    result = g_strdup(path);
    free(path);
  } else if (err.status == VMM_ERR_NOT_INSTALLED) {
    const vmm_known_model *known = vmm_known_find(chosen);
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                "The model \"%s\" is not downloaded: choose it in the ViTMatte dialog and press Download, call "
                "plug-in-vitmatte-download, or run: vitmatte download %s",
                chosen, known ? known->name : chosen);
  } else if (g_str_has_prefix(chosen, "~/")) {
    result = g_build_filename(g_get_home_dir(), chosen + 2, NULL);
  } else {
    result = g_strdup(chosen);
  }
  return result;
}

gchar *vmp_resolve_model_path(const gchar *chosen, GError **error) {
  gchar *path = NULL;
  if (chosen && *chosen)
    return resolve_chosen(chosen, error);

  gchar *plugin_dir = g_path_get_dirname(gimp_get_progname());
  char *models_dir = vmm_models_dir(NULL); /* NULL without $HOME: that candidate is skipped */
  vmp_model_candidates c;
  const int made = vmp_model_candidates_init(&c, g_getenv(VMP_MODEL_ENV), plugin_dir, models_dir);
  g_free(plugin_dir);
  free(models_dir);
  if (made != 0) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0, "Out of memory");
    return NULL;
  }
  const char *found = vmp_model_candidates_first_usable(&c);
  if (found) {
    path = g_strdup(found);
  } else {
    GString *tried = g_string_new(NULL);
    for (int i = 0; i < c.count; i++)
      g_string_append_printf(tried, "\n  %s", c.paths[i]);
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0,
                "No ViTMatte model found. Download one in the ViTMatte dialog (Download), or choose the model "
                "folder (config.json + model.safetensors), or set $" VMP_MODEL_ENV ". Looked in:%s",
                tried->str);
    g_string_free(tried, TRUE);
  }
  vmp_model_candidates_free(&c);
  return path;
}

/* GIMP calls are round trips to the core, so the bar moves only when the fraction grew by a percent or the stage
 * changed. */
static int on_engine_progress(void *user_data, const char *stage, double fraction) {
  vmp_progress_slice *p = user_data;
  if (stage && stage != p->last_stage) {
    gimp_progress_set_text_printf("ViTMatte: %s", stage);
    p->last_stage = stage;
  }
  if (fraction - p->last_fraction >= 0.01 || fraction >= 1.0) {
    gimp_progress_update(p->from + (p->to - p->from) * CLAMP(fraction, 0.0, 1.0));
    p->last_fraction = fraction;
  }
  return 0; /* GIMP cancels by ending the plug-in, never through here */
}

static void set_engine_error(GError **error, const vm_error *err, const gchar *model_path) {
  switch (err->status) {
  case VM_ERR_IO:
  case VM_ERR_FORMAT:
  case VM_ERR_MODEL:
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Could not load the ViTMatte model from \"%s\": %s", model_path,
                err->message);
    return;
  case VM_ERR_DEVICE_OUT_OF_MEMORY:
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Out of GPU memory: %s. Choose the CPU device, or matte a smaller layer.",
                err->message);
    return;
  case VM_ERR_DEVICE:
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "GPU error: %s. Choose the CPU device or Automatic.", err->message);
    return;
  case VM_ERR_OUT_OF_MEMORY: g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Out of memory: %s", err->message); return;
  default:
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "ViTMatte failed (%s): %s", vm_status_string(err->status), err->message);
    return;
  }
}

gint vmp_engine_threads(gint cpu_threads) {
  /* more than the engine takes would only be refused: as many as it takes (4 per core) */
  return MIN(cpu_threads, vm_cpu_thread_limit());
}

vm_device vmp_engine_device(vmp_device_choice d) {
  return d == VMP_DEV_CPU ? VM_DEVICE_CPU : d == VMP_DEV_GPU ? VM_DEVICE_CUDA : VM_DEVICE_AUTO;
}

vm_precision vmp_engine_precision(vmp_precision_choice p) {
  switch (p) {
  case VMP_PREC_FP32: return VM_PRECISION_FP32;
  case VMP_PREC_FP16: return VM_PRECISION_FP16;
  case VMP_PREC_BF16: return VM_PRECISION_BF16;
  default: return VM_PRECISION_AUTO;
  }
}

gboolean vmp_engine_open(vmp_engine_session *s, const gchar *model_path, vmp_device_choice device,
                         vmp_precision_choice precision, gint cpu_threads, vm_progress_fn progress,
                         void *progress_data, GError **error) {
  memset(s, 0, sizeof *s);
  s->model_path = g_strdup(model_path);
  vm_error err = {VM_OK, ""};
  if (vm_model_load(model_path, &s->model, &err) != VM_OK) {
    set_engine_error(error, &err, model_path);
    return FALSE;
  }
  vm_context_options options;
  vm_context_options_default(&options);
  options.device = vmp_engine_device(device);
  options.precision = vmp_engine_precision(precision);
  options.cpu_threads = vmp_engine_threads(cpu_threads);
  options.progress = progress ? progress : on_engine_progress;
  options.progress_user_data = progress ? progress_data : &s->slice; /* the session does not move while it lives */
  s->auto_device = options.device == VM_DEVICE_AUTO;
  if (vm_context_create(s->model, &options, &s->ctx, &err) != VM_OK) {
    set_engine_error(error, &err, model_path);
    return FALSE;
  }
  return TRUE;
}

/* A host-memory refusal (err) as the plug-in's message. */
static void set_memory_error(GError **error, const vm_error *err) {
  if (err->status == VM_ERR_OUT_OF_MEMORY)
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Not enough memory: %s. Matte a smaller layer (Image > Scale Image), "
                "or close other programs.", err->message);
  else
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "The layer is too large for ViTMatte: %s", err->message);
}

gboolean vmp_engine_check_size(vmp_engine_session *s, gint width, gint height, gsize host_bytes, GError **error) {
  vm_error err = {VM_OK, ""};
  if (vm_context_check_host_memory(s->ctx, width, height, host_bytes, &err) == VM_OK)
    return TRUE;
  set_memory_error(error, &err);
  return FALSE;
}

gboolean vmp_engine_check_foreground_size(gint width, gint height, gsize host_bytes, GError **error) {
  vm_error err = {VM_OK, ""};
  if (vm_check_foreground_host_memory(width, height, host_bytes, &err) == VM_OK)
    return TRUE;
  set_memory_error(error, &err);
  return FALSE;
}

gfloat *vmp_engine_predict(vmp_engine_session *s, const vm_image *rgb, const vm_image *trimap, gdouble progress_from,
                           gdouble progress_to, GError **error) {
  s->slice = (vmp_progress_slice){progress_from, progress_to, 0.0, NULL};
  gfloat *alpha = g_try_malloc_n((gsize)rgb->width * (gsize)rgb->height, sizeof(gfloat));
  if (!alpha) {
    g_set_error(error, GIMP_PLUG_IN_ERROR, 0, "Not enough memory for a %d x %d alpha", rgb->width, rgb->height);
    return NULL;
  }
  gimp_progress_set_text_printf("ViTMatte: running on %s", vm_context_device_name(s->ctx));
  vm_error err = {VM_OK, ""};
  if (vm_predict(s->ctx, rgb, trimap, alpha, 0, &err) != VM_OK) {
    set_engine_error(error, &err, s->model_path);
    g_free(alpha);
    return NULL;
  }
  gimp_progress_update(progress_to);
  /* an image the GPU could not hold ran on the CPU (device auto): say why it took long */
  if (s->auto_device && vm_context_device(s->ctx) == VM_DEVICE_CUDA && vm_context_notice(s->ctx))
    gimp_message(vm_context_notice(s->ctx));
  return alpha;
}

gboolean vmp_engine_foreground(vmp_device_choice device, const vm_image *image, const gfloat *alpha, gfloat *foreground,
                               gdouble progress_from, gdouble progress_to, GError **error) {
  vm_error err = {VM_OK, ""};
  vm_context *ctx = NULL;
  vmp_progress_slice slice = {progress_from, progress_to, 0.0, NULL};
  vm_context_options options;
  vm_context_options_default(&options);
  options.device = vmp_engine_device(device);
  options.progress = on_engine_progress;
  options.progress_user_data = &slice;
  const vm_image alpha_view = {alpha, image->width, image->height, 1, 0, VM_PIXEL_F32};
  gboolean ok = vm_context_create(NULL, &options, &ctx, &err) == VM_OK &&
                vm_estimate_foreground(ctx, image, &alpha_view, NULL, foreground, 0, NULL, 0, &err) == VM_OK;
  if (!ok)
    set_engine_error(error, &err, "");
  if (ctx)
    vm_context_free(ctx);
  gimp_progress_update(progress_to);
  return ok;
}

void vmp_engine_close(vmp_engine_session *s) {
  if (s->ctx)
    vm_context_free(s->ctx);
  if (s->model)
    vm_model_free(s->model);
  g_free(s->model_path);
  memset(s, 0, sizeof *s);
}
