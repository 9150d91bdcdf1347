/* preview.c - the dialog's preview, computed: the layer and its trimap read for the current settings (the whole
 * layer, or on the CPU a copy downscaled by GIMP's own thumbnails), the model and (for the Cut-out view) the
 * foreground colours run in a worker thread on a model and context kept between runs.
 * Owns: choosing full size or a copy, reading at that size, one worker at a time, cancelling a stale run. */
#include "preview.h"

#include <math.h>
#include <string.h>

#include "engine_session.h"
#include "layer.h"
#include "matte_run.h"
#include "trimap_source.h"

/* GIMP's thumbnails are at most this wide and high. */
#define THUMBNAIL_MAX 1024

/* The model and context the worker keeps: while a task runs only it touches them; between tasks the main thread
 * reads which engine it is and its device (request_now). */
typedef struct engine {
  gchar *key; /* model path, device, precision and threads the session was opened for */
  vmp_engine_session session;
  GCancellable *cancel; /* the running task's: the engine's progress callback asks it */
} engine;

struct vmp_preview {
  GimpImage *image;
  GimpLayer *layer;
  GimpChannel *selected_channel;
  GimpProcedureConfig *config;
  vmp_preview_done_fn done;
  gpointer done_data;
  engine engine;
  GTask *task;          /* the running one, or NULL */
  GCancellable *cancel; /* its cancellable */
  gboolean pending;     /* a request came while it ran */
  gboolean stopping;
};

typedef struct job {
  vmp_preview *preview;
  gchar *key, *model_path;
  vmp_device_choice device;
  vmp_precision_choice precision;
  gint threads;
  gboolean probe;   /* only make the engine (its device decides the preview's size) */
  gboolean colours; /* estimate the foreground colours too (only the Cut-out view shows them) */
  vm_image image; /* the model's input; data owned */
  guint8 *rgb, *trimap;
  gint layer_width, layer_height;
  /* out */
  gfloat *alpha, *foreground;
  gchar *device_name;
  gdouble seconds;
  GError *error;
} job;

static void job_free(job *j) {
  g_free(j->key);
  g_free(j->model_path);
  g_free((gpointer)j->image.data);
  g_free(j->rgb);
  g_free(j->trimap);
  g_free(j->alpha);
  g_free(j->foreground);
  g_free(j->device_name);
  g_clear_error(&j->error);
  g_free(j);
}

/* ---- the worker ------------------------------------------------------------------------------------------ */

static int on_progress(void *user_data, const char *stage, double fraction) {
  (void)stage, (void)fraction;
  engine *e = user_data;
  return g_cancellable_is_cancelled(e->cancel);
}

static void engine_clear(engine *e) {
  vmp_engine_close(&e->session);
  g_clear_pointer(&e->key, g_free);
}

/* The session for the job's key, opened as a run opens it (and with its words for errors), reporting to
 * on_progress so that the task's cancellable can stop it. */
static gboolean engine_ready(engine *e, job *j) {
  if (e->session.ctx && g_strcmp0(e->key, j->key) == 0)
    return TRUE;
  engine_clear(e);
  if (!vmp_engine_open(&e->session, j->model_path, j->device, j->precision, j->threads, on_progress, e, &j->error)) {
    engine_clear(e);
    return FALSE;
  }
  e->key = g_strdup(j->key);
  return TRUE;
}

static void run_job(GTask *task, gpointer source, gpointer task_data, GCancellable *cancel) {
  (void)source;
  job *j = task_data;
  engine *e = &j->preview->engine;
  e->cancel = cancel;
  if (engine_ready(e, j)) {
    j->device_name = g_strdup(vm_context_device_name(e->session.ctx));
  }
  if (!j->error && !j->probe) {
    const gint w = j->image.width, h = j->image.height;
    j->alpha = g_try_malloc_n((gsize)w * (gsize)h, sizeof(gfloat));
    if (j->colours)
      j->foreground = g_try_malloc_n((gsize)w * (gsize)h, 3 * sizeof(gfloat));
    const vm_image trimap = {j->trimap, w, h, 1, 0, VM_PIXEL_U8};
    const vm_image alpha = {j->alpha, w, h, 1, 0, VM_PIXEL_F32};
    vm_error err = {VM_OK, ""};
    const gint64 start = g_get_monotonic_time();
    if (!j->alpha || (j->colours && !j->foreground))
      g_set_error(&j->error, GIMP_PLUG_IN_ERROR, 0, "Not enough memory for a %d x %d preview", w, h);
    else if (vm_predict(e->session.ctx, &j->image, &trimap, j->alpha, 0, &err) != VM_OK ||
             (j->colours &&
              vm_estimate_foreground(e->session.ctx, &j->image, &alpha, NULL, j->foreground, 0, NULL, 0, &err) != VM_OK))
      g_set_error(&j->error, err.status == VM_ERR_CANCELLED ? G_IO_ERROR : GIMP_PLUG_IN_ERROR,
                  err.status == VM_ERR_CANCELLED ? G_IO_ERROR_CANCELLED : 0, "%s", err.message);
    j->seconds = (gdouble)(g_get_monotonic_time() - start) / G_USEC_PER_SEC;
  }
  e->cancel = NULL;
  g_task_return_boolean(task, TRUE);
}

/* ---- reading on the main thread ------------------------------------------------------------------------- */

/* The thumbnail `bytes` (`format` pixels, w x h) converted to `to`; NULL with `error` when it is not w x h. */
static gpointer convert_thumbnail(GBytes *bytes, const Babl *format, gint w, gint h, const Babl *to, GError **error) {
  gsize size = 0;
  const guint8 *data = bytes ? g_bytes_get_data(bytes, &size) : NULL;
  const gsize n = (gsize)w * (gsize)h;
  if (!data || size != n * (gsize)babl_format_get_bytes_per_pixel(format)) {
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0, "GIMP gave no thumbnail of the expected size for the preview");
    return NULL;
  }
  gpointer out = g_malloc_n(n, (gsize)babl_format_get_bytes_per_pixel(to));
  babl_process(babl_fish(format, to), data, out, (long)n);
  return out;
}

/* An image-sized drawable (a channel, the selection) at the layer's place, w x h pixels for the layer's lw x lh,
 * as `to` floats: GIMP's sub-thumbnail of the part on the canvas, 0 elsewhere. */
static gfloat *image_drawable_scaled(GimpDrawable *drawable, GimpLayer *layer, gint w, gint h, const Babl *to,
                                     GError **error) {
  const gint lw = gimp_drawable_get_width(GIMP_DRAWABLE(layer)), lh = gimp_drawable_get_height(GIMP_DRAWABLE(layer));
  GeglRectangle on, in_layer;
  gfloat *values = g_new0(gfloat, (gsize)w * (gsize)h);
  if (!vmp_layer_canvas_part(layer, &on, &in_layer))
    return values;
  const gdouble sx = (gdouble)w / lw, sy = (gdouble)h / lh;
  const gint dx = (gint)lround(in_layer.x * sx), dy = (gint)lround(in_layer.y * sy);
  const gint dw = MAX(1, MIN(w - dx, (gint)lround(on.width * sx))),
             dh = MAX(1, MIN(h - dy, (gint)lround(on.height * sy)));
  gint aw = 0, ah = 0, bpp = 0;
  GBytes *bytes =
      gimp_drawable_get_sub_thumbnail_data(drawable, on.x, on.y, on.width, on.height, dw, dh, &aw, &ah, &bpp);
  gfloat *part = convert_thumbnail(bytes, gimp_drawable_get_thumbnail_format(drawable), aw, ah, to, error);
  if (bytes)
    g_bytes_unref(bytes);
  if (!part) {
    g_free(values);
    return NULL;
  }
  for (gint y = 0; y < ah && dy + y < h; y++)
    for (gint x = 0; x < aw && dx + x < w; x++)
      values[(gsize)(dy + y) * w + dx + x] = part[(gsize)y * aw + x];
  g_free(part);
  return values;
}

/* The mask of `layer` at w x h, from GIMP's thumbnail of it (a mask has its layer's size and place). */
static gfloat *layer_mask_scaled(GimpLayer *layer, gint w, gint h, GError **error) {
  GimpDrawable *mask = GIMP_DRAWABLE(gimp_layer_get_mask(layer));
  gint mw = 0, mh = 0, bpp = 0;
  GBytes *bytes = gimp_drawable_get_thumbnail_data(mask, w, h, &mw, &mh, &bpp);
  gfloat *values = mw == w && mh == h ? convert_thumbnail(bytes, gimp_drawable_get_thumbnail_format(mask), w, h,
                                                          babl_format("Y float"), error)
                                      : NULL;
  if (bytes)
    g_bytes_unref(bytes);
  if (!values && !*error)
    g_set_error_literal(error, GIMP_PLUG_IN_ERROR, 0, "The mask's thumbnail has another size than the layer's");
  return values;
}

/* The downscaled copy: the layer's thumbnail (about VMP_PREVIEW_CPU_PIXELS) and the trimap built at its scale from
 * the sources' thumbnails, the band width scaled too; the checks and the trimap are a run's (trimap_source.h). */
static gboolean read_scaled(vmp_preview *p, const vmp_run_args *a, job *j, GError **error) {
  GimpChannel *channel = NULL;
  if (!vmp_trimap_source_check(a, p->image, p->layer, p->selected_channel, &channel, error))
    return FALSE;
  GimpDrawable *d = GIMP_DRAWABLE(p->layer);
  const gint lw = gimp_drawable_get_width(d), lh = gimp_drawable_get_height(d);
  const gdouble scale = sqrt((gdouble)VMP_PREVIEW_CPU_PIXELS / ((gdouble)lw * lh));
  const gint want_w = CLAMP((gint)lround(lw * scale), 1, THUMBNAIL_MAX);
  const gint want_h = CLAMP((gint)lround(lh * scale), 1, THUMBNAIL_MAX);
  gint w = 0, h = 0, bpp = 0;
  GBytes *bytes = gimp_drawable_get_thumbnail_data(d, want_w, want_h, &w, &h, &bpp);
  guint8 *rgba =
      convert_thumbnail(bytes, gimp_drawable_get_thumbnail_format(d), w, h, babl_format("R'G'B'A u8"), error);
  if (bytes)
    g_bytes_unref(bytes);
  if (!rgba)
    return FALSE;
  const gsize n = (gsize)w * (gsize)h;
  gfloat *values = NULL;
  switch (a->source) {
  case VMP_SOURCE_SELECTION:
    values = image_drawable_scaled(GIMP_DRAWABLE(gimp_image_get_selection(p->image)), p->layer, w, h,
                                   babl_format("Y float"), error);
    break;
  case VMP_SOURCE_LAYER_MASK: values = layer_mask_scaled(p->layer, w, h, error); break;
  case VMP_SOURCE_LAYER_ALPHA:
    values = g_new(gfloat, n);
    for (gsize i = 0; i < n; i++)
      values[i] = rgba[4 * i + 3] / 255.0f;
    break;
  default: values = image_drawable_scaled(GIMP_DRAWABLE(channel), p->layer, w, h, babl_format("Y' float"), error);
  }
  if (values) {
    const gint band = MAX(1, (gint)lround(a->band_width * (gdouble)w / lw));
    j->trimap = vmp_trimap_from_values(a->source, values, w, h, 0, band, error);
    g_free(values);
  }
  if (j->trimap) {
    j->rgb = g_malloc(n * 3);
    for (gsize i = 0; i < n; i++)
      memcpy(j->rgb + 3 * i, rgba + 4 * i, 3);
    j->image = (vm_image){g_memdup2(j->rgb, n * 3), w, h, 3, 0, VM_PIXEL_U8};
  }
  g_free(rgba);
  return j->trimap != NULL;
}

/* The whole layer, read exactly as a run reads it (so the preview's alpha is the one OK writes). */
static gboolean read_full(vmp_preview *p, const vmp_run_args *a, job *j, GError **error) {
  vmp_layer_pixels pixels;
  if (!(j->trimap = vmp_run_trimap(a, p->image, p->layer, p->selected_channel, error)))
    return FALSE;
  if (!vmp_layer_pixels_read(GIMP_DRAWABLE(p->layer), &pixels, error))
    return FALSE;
  j->image = pixels.image;
  const gsize n = (gsize)j->image.width * (gsize)j->image.height * 3;
  j->rgb = g_malloc(n);
  for (gsize i = 0; i < n; i++) {
    const gdouble v = j->image.type == VM_PIXEL_U8    ? ((const guint8 *)j->image.data)[i]
                      : j->image.type == VM_PIXEL_U16 ? ((const guint16 *)j->image.data)[i] / 257.0
                                                      : ((const gfloat *)j->image.data)[i] * 255.0;
    j->rgb[i] = (guint8)CLAMP(lround(v), 0, 255);
  }
  return TRUE;
}

/* ---- requests -------------------------------------------------------------------------------------------- */

static void job_finished(GObject *source, GAsyncResult *result, gpointer data);

static void start(vmp_preview *p, job *j) {
  p->cancel = g_cancellable_new();
  p->task = g_task_new(NULL, p->cancel, job_finished, p);
  g_task_set_task_data(p->task, j, (GDestroyNotify)job_free);
  g_task_run_in_thread(p->task, run_job);
}

static void fail(vmp_preview *p, GError *error) {
  if (p->done)
    p->done(NULL, error, p->done_data);
  g_error_free(error);
}

static void request_now(vmp_preview *p) {
  vmp_run_args a;
  vmp_run_args_read(p->config, &a);
  GError *error = NULL;
  gchar *model_path = vmp_resolve_model_path(a.model, &error);
  if (!model_path) {
    vmp_run_args_clear(&a);
    fail(p, error);
    return;
  }
  job *j = g_new0(job, 1);
  j->preview = p;
  j->model_path = model_path;
  j->device = a.device, j->precision = a.precision, j->threads = a.cpu_threads;
  j->colours = gimp_procedure_config_get_choice_id(p->config, VMP_ARG_PREVIEW_MODE) == VMP_VIEW_CUTOUT;
  j->key = g_strdup_printf("%s|%d|%d|%d", model_path, a.device, a.precision, a.cpu_threads);
  GimpDrawable *d = GIMP_DRAWABLE(p->layer);
  j->layer_width = gimp_drawable_get_width(d), j->layer_height = gimp_drawable_get_height(d);
  /* No task runs now (a finished one cleared p->task before calling here), so the worker leaves the engine alone. */
  const engine *e = &p->engine;
  if (!e->session.ctx || g_strcmp0(j->key, e->key) != 0) {
    /* a new engine: make it first, its device decides between the whole layer and a copy */
    j->probe = TRUE;
  } else {
    const gboolean full = vm_context_device(e->session.ctx) == VM_DEVICE_CUDA ||
                          (gint64)j->layer_width * j->layer_height <= VMP_PREVIEW_CPU_PIXELS;
    if (!(full ? read_full(p, &a, j, &error) : read_scaled(p, &a, j, &error))) {
      vmp_run_args_clear(&a);
      job_free(j);
      fail(p, error);
      return;
    }
  }
  vmp_run_args_clear(&a);
  start(p, j);
}

static vmp_preview_result *take_result(job *j) {
  vmp_preview_result *r = g_new0(vmp_preview_result, 1);
  r->width = j->image.width, r->height = j->image.height;
  r->layer_width = j->layer_width, r->layer_height = j->layer_height;
  r->rgb = g_steal_pointer(&j->rgb);
  r->trimap = g_steal_pointer(&j->trimap);
  r->alpha = g_steal_pointer(&j->alpha);
  r->foreground = g_steal_pointer(&j->foreground);
  r->device = g_steal_pointer(&j->device_name);
  r->seconds = j->seconds;
  return r;
}

static void job_finished(GObject *source, GAsyncResult *result, gpointer data) {
  (void)source;
  vmp_preview *p = data;
  job *j = g_task_get_task_data(G_TASK(result));
  const gboolean cancelled = g_cancellable_is_cancelled(p->cancel);
  if (p->stopping || cancelled) {
    /* superseded or stopped: nothing to show */
  } else if (j->error) {
    if (p->done)
      p->done(NULL, j->error, p->done_data);
  } else if (!j->probe && p->done) {
    p->done(take_result(j), NULL, p->done_data);
  }
  const gboolean again = !p->stopping && (p->pending || (j->probe && !j->error && !cancelled));
  g_clear_object(&p->task); /* frees the job */
  g_clear_object(&p->cancel);
  p->pending = FALSE;
  if (again)
    request_now(p);
}

vmp_preview *vmp_preview_new(GimpImage *image, GimpLayer *layer, GimpChannel *selected_channel) {
  vmp_preview *p = g_new0(vmp_preview, 1);
  p->image = image;
  p->layer = layer;
  p->selected_channel = selected_channel;
  return p;
}

void vmp_preview_request(vmp_preview *p, GimpProcedureConfig *config, vmp_preview_done_fn done, gpointer done_data) {
  p->config = config;
  p->done = done;
  p->done_data = done_data;
  p->stopping = FALSE;
  if (p->task) {
    p->pending = TRUE;
    g_cancellable_cancel(p->cancel);
    return;
  }
  request_now(p);
}

void vmp_preview_stop(vmp_preview *p) {
  if (!p->task)
    return;
  p->stopping = TRUE;
  g_cancellable_cancel(p->cancel);
  while (p->task) /* the task ends at the engine's next progress report; its callback clears p->task */
    g_main_context_iteration(NULL, TRUE);
  p->stopping = FALSE;
}

void vmp_preview_free(vmp_preview *p) {
  if (!p)
    return;
  vmp_preview_stop(p);
  engine_clear(&p->engine);
  g_free(p);
}
