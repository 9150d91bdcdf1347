/* model_download.c - downloading a ViTMatte model from inside the plug-in, with a progress bar.
 * Owns: the worker thread that runs vmm_download, the main-loop timer that shows its progress (libgimp and GTK may
 * only be called from the main thread), and cancel. */
#include "model_download.h"

#include <gio/gio.h>
#include <math.h>

#include "vitmatte_models.h"

#define TICK_MS 100

struct vmp_download {
  gchar *name;
  gchar *title;           /* for the progress text: "ViTMatte-S" or the repository */
  GThread *thread;
  guint timer;
  gint cancel;            /* atomic: read by the worker's progress callback */
  gint finished;          /* atomic: set by the worker as its last act */
  GMutex lock;            /* guards `seen` */
  vmm_progress seen;      /* the latest progress, copied by the worker */
  gboolean have_progress;
  vmm_status status;      /* written by the worker before `finished` */
  vmm_error error;
  vmm_download_result result;
  gchar *last_text;
  gdouble last_fraction;
  vmp_download_show_fn show; /* NULL: gimp_progress_* */
  gpointer show_data;
  vmp_download_done_fn done;
  gpointer user_data;
};

static int on_progress(void *user_data, const vmm_progress *p) {
  vmp_download *d = user_data;
  g_mutex_lock(&d->lock);
  d->seen = *p;
  d->seen.repo = d->seen.file = NULL; /* the strings belong to the worker; only numbers cross */
  d->have_progress = TRUE;
  g_mutex_unlock(&d->lock);
  return g_atomic_int_get(&d->cancel);
}

static gpointer worker(gpointer data) {
  vmp_download *d = data;
  vmm_download_options options;
  vmm_download_options_default(&options);
  options.progress = on_progress;
  options.progress_user_data = d;
  d->status = vmm_download(d->name, &options, &d->result, &d->error);
  g_atomic_int_set(&d->finished, 1);
  return NULL;
}

static gchar *progress_text(const vmp_download *d, const vmm_progress *p) {
  const gdouble done = (gdouble)p->bytes_done / 1e6, total = (gdouble)p->bytes_total / 1e6;
  switch (p->phase) {
  case VMM_PHASE_VERIFYING: return g_strdup_printf("Checking %s (SHA-256)", d->title);
  case VMM_PHASE_RETRYING: return g_strdup_printf("Downloading %s: the connection broke, resuming", d->title);
  case VMM_PHASE_DOWNLOADING:
    if (p->file_index == 1 && p->bytes_total > 0)
      return g_strdup_printf("Downloading %s: %.1f of %.1f MB, %.1f MB/s", d->title, done, total,
                             p->bytes_per_second / 1e6);
    if (p->file_index == 1)
      return g_strdup_printf("Downloading %s: %.1f MB, %.1f MB/s", d->title, done, p->bytes_per_second / 1e6);
    return g_strdup_printf("Downloading %s: config.json", d->title);
  case VMM_PHASE_CONNECTING:
  default: return g_strdup_printf("Downloading %s: connecting", d->title);
  }
}

static void show_progress(vmp_download *d) {
  vmm_progress p;
  g_mutex_lock(&d->lock);
  p = d->seen;
  const gboolean have = d->have_progress;
  g_mutex_unlock(&d->lock);
  if (!have) return;
  gchar *text = progress_text(d, &p);
  /* The weights are nearly all of it: config.json is shown as 0. */
  const gdouble fraction =
      CLAMP(p.file_index == 1 && p.bytes_total > 0 ? (gdouble)p.bytes_done / (gdouble)p.bytes_total : 0.0, 0.0, 1.0);
  const gboolean new_text = g_strcmp0(text, d->last_text) != 0, new_fraction = fabs(fraction - d->last_fraction) >= 0.002;
  if (d->show && (new_text || new_fraction)) {
    d->show(text, fraction, d->show_data);
  } else if (!d->show) {
    /* Each gimp_progress call is a round trip to GIMP: only what changed. */
    if (new_text) gimp_progress_set_text(text);
    if (new_fraction) gimp_progress_update(fraction);
  }
  if (new_fraction) d->last_fraction = fraction;
  if (new_text) {
    g_free(d->last_text);
    d->last_text = text;
  } else {
    g_free(text);
  }
}

static void download_free(vmp_download *d) {
  if (d->timer) g_source_remove(d->timer);
  if (d->thread) g_thread_join(d->thread);
  vmm_download_result_free(&d->result);
  g_mutex_clear(&d->lock);
  g_free(d->last_text);
  g_free(d->title);
  g_free(d->name);
  g_free(d);
}

static GError *download_error(const vmp_download *d) {
  if (d->status == VMM_ERR_CANCELLED)
    return g_error_new(G_IO_ERROR, G_IO_ERROR_CANCELLED,
                       "Download of %s stopped; what arrived is kept, and Download resumes it", d->title);
  return g_error_new(GIMP_PLUG_IN_ERROR, 0, "Could not download %s: %s", d->title, d->error.message);
}

static gboolean on_tick(gpointer data) {
  vmp_download *d = data;
  if (!g_atomic_int_get(&d->finished)) {
    show_progress(d);
    return G_SOURCE_CONTINUE;
  }
  d->timer = 0;
  g_thread_join(d->thread);
  d->thread = NULL;
  show_progress(d);
  GError *error = d->status == VMM_OK ? NULL : download_error(d);
  if (d->status == VMM_OK && !d->show) gimp_progress_update(1.0);
  if (d->done) d->done(d->name, d->status == VMM_OK ? d->result.path : NULL, error, d->user_data);
  g_clear_error(&error);
  download_free(d);
  return G_SOURCE_REMOVE;
}

vmp_download *vmp_download_start(const gchar *name, vmp_download_show_fn show, gpointer show_data,
                                 vmp_download_done_fn done, gpointer user_data) {
  vmp_download *d = g_new0(vmp_download, 1);
  const vmm_known_model *known = vmm_known_find(name);
  d->name = g_strdup(known ? known->name : name);
  d->title = known ? g_strdup_printf("%s (%s)", known->title, known->name) : g_strdup(name);
  d->show = show;
  d->show_data = show_data;
  d->done = done;
  d->user_data = user_data;
  d->last_fraction = -1.0;
  g_mutex_init(&d->lock);
  if (show) show(d->title, 0.0, show_data);
  else gimp_progress_init(d->title);
  d->thread = g_thread_new("vitmatte-download", worker, d);
  d->timer = g_timeout_add(TICK_MS, on_tick, d);
  return d;
}

void vmp_download_cancel(vmp_download *d) {
  if (d) g_atomic_int_set(&d->cancel, 1);
}

void vmp_download_abandon(vmp_download *d) {
  if (!d) return;
  g_atomic_int_set(&d->cancel, 1);
  download_free(d); /* joins the thread: the progress callback answers "stop" within a second */
}

typedef struct waiter {
  GMainLoop *loop;
  gchar *folder;
  GError *error;
} waiter;

static void on_waited(const gchar *name, const gchar *folder, const GError *error, gpointer user_data) {
  (void)name;
  waiter *w = user_data;
  w->folder = g_strdup(folder);
  if (error) w->error = g_error_copy(error);
  g_main_loop_quit(w->loop);
}

gchar *vmp_download_wait(const gchar *name, GError **error) {
  waiter w = {g_main_loop_new(NULL, FALSE), NULL, NULL};
  vmp_download_start(name, NULL, NULL, on_waited, &w);
  g_main_loop_run(w.loop);
  g_main_loop_unref(w.loop);
  if (w.error) g_propagate_error(error, w.error);
  return w.folder;
}
