/* matte_preview.c - the dialog's preview: a Preview toggle, what to show, and the result of the current settings.
 * Owns: the preview area and how each view mode is drawn, when to recompute (debounced) or only redraw, and the
 * status line. The computation is the plug-in's (vmp_dialog_services.preview_request). */
#include "matte_preview.h"

#include <math.h>
#include <string.h>

#include "vitmatte_args.h"

/* A pause this long after the last change before the model runs again, so a dragged slider costs one run. */
#define DEBOUNCE_MS 400
#define AREA_WIDTH 400
#define AREA_HEIGHT 320
/* GIMP's quick mask: red at half opacity over what is not selected. */
#define TINT_OPACITY 0.5
#define BACKGROUND 128 /* around the picture */

typedef enum { STATE_OFF, STATE_WAITING, STATE_COMPUTING, STATE_IDLE, STATE_FAILED } preview_state;

typedef struct preview {
  GimpProcedureConfig *config;
  const vmp_dialog_services *services;
  GtkWidget *box, *area, *status;
  vmp_preview_result *result;
  preview_state state;
  guint debounce;
  gint64 requested_at; /* when the setting changed that the coming result answers */
  gdouble latency;     /* seconds from that change to the result drawn */
  gint results;        /* results drawn so far */
  gchar *error;
  /* what was drawn last, for the tests' report */
  gint draw_x, draw_y, draw_w, draw_h;
  guint8 check[2][3];
  gint check_size;
} preview;

/* The settings that change the result; the others (view mode, amount, output) only change the drawing. */
static const gchar *const computed_from[] = {VMP_ARG_TRIMAP_SOURCE, VMP_ARG_TRIMAP_CHANNEL, VMP_ARG_TRIMAP_CHANNEL_NAME,
                                             VMP_ARG_BAND_WIDTH,    VMP_ARG_MODEL,          VMP_ARG_DEVICE,
                                             VMP_ARG_PRECISION,     VMP_ARG_CPU_THREADS};

static gboolean preview_on(preview *p) {
  gboolean on = FALSE;
  g_object_get(p->config, VMP_ARG_PREVIEW, &on, NULL);
  return on;
}

static void set_status(preview *p, const gchar *text) { gtk_label_set_text(GTK_LABEL(p->status), text); }

/* GIMP's checkerboard as the user set it (Preferences > Display): its two colours and its size in screen pixels. */
static void read_checks(preview *p) {
  /* set to the custom colours, which gimp_checks_get_colors keeps for the custom type and replaces otherwise */
  GeglColor *colours[2] = {gegl_color_duplicate((GeglColor *)gimp_check_custom_color1()),
                           gegl_color_duplicate((GeglColor *)gimp_check_custom_color2())};
  gimp_checks_get_colors(gimp_check_type(), &colours[0], &colours[1]);
  for (int i = 0; i < 2; i++) {
    gegl_color_get_pixel(colours[i], babl_format("R'G'B' u8"), p->check[i]);
    g_object_unref(colours[i]);
  }
  p->check_size = 4 << gimp_check_size(); /* small, medium, large: 4, 8, 16 */
}

static guint8 to_u8(gdouble v) { return (guint8)CLAMP(lround(v), 0, 255); }

/* The sample of `plane` (w x h, `channels` floats or bytes) that display pixel (x, y) of a dw x dh picture shows:
 * nearest neighbour when enlarged (a zoomed pixel stays one colour), the mean of the covered pixels when reduced. */
static void sample(const preview *p, gint x, gint y, gint dw, gint dh, gdouble *rgb, gdouble *alpha, gdouble *trimap,
                   gdouble *fg) {
  const vmp_preview_result *r = p->result;
  const gint x0 = (gint)((gint64)x * r->width / dw), y0 = (gint)((gint64)y * r->height / dh);
  const gint x1 = MAX(x0 + 1, (gint)((gint64)(x + 1) * r->width / dw));
  const gint y1 = MAX(y0 + 1, (gint)((gint64)(y + 1) * r->height / dh));
  memset(rgb, 0, 3 * sizeof *rgb), memset(fg, 0, 3 * sizeof *fg);
  *alpha = *trimap = 0.0;
  for (gint sy = y0; sy < y1; sy++)
    for (gint sx = x0; sx < x1; sx++) {
      const gsize i = (gsize)sy * r->width + sx;
      for (int c = 0; c < 3; c++) {
        rgb[c] += r->rgb[3 * i + c];
        fg[c] += r->foreground ? r->foreground[3 * i + c] * 255.0 : r->rgb[3 * i + c]; /* no colours: the picture's */
      }
      *alpha += r->alpha[i];
      *trimap += r->trimap[i];
    }
  const gdouble n = (gdouble)(x1 - x0) * (y1 - y0);
  for (int c = 0; c < 3; c++)
    rgb[c] /= n, fg[c] /= n;
  *alpha /= n, *trimap /= n;
}

/* One display pixel in `mode`. `check` is the checkerboard's colour under it. */
static void shade(vmp_view_mode mode, const gdouble *rgb, gdouble alpha, gdouble trimap, const gdouble *fg,
                  gdouble amount, const guint8 *check, guint8 *out) {
  for (int c = 0; c < 3; c++) {
    gdouble v;
    switch (mode) {
    case VMP_VIEW_ON_BLACK: v = rgb[c] * alpha; break;
    case VMP_VIEW_ON_WHITE: v = rgb[c] * alpha + 255.0 * (1.0 - alpha); break;
    case VMP_VIEW_ON_CHECKS: v = rgb[c] * alpha + check[c] * (1.0 - alpha); break;
    case VMP_VIEW_ALPHA: v = 255.0 * alpha; break;
    case VMP_VIEW_TRIMAP: v = trimap; break;
    case VMP_VIEW_CUTOUT: {
      /* as the decontaminated output: the estimated colour, by the amount, where the alpha is neither 0 nor 1 */
      const gboolean band = alpha > VMP_BAND_LOW && alpha < VMP_BAND_HIGH;
      const gdouble colour = band ? rgb[c] + amount * (fg[c] - rgb[c]) : rgb[c];
      v = colour * alpha + check[c] * (1.0 - alpha);
      break;
    }
    default: { /* overlay: red over what is not foreground, as strong as it is not */
      const gdouble tint = TINT_OPACITY * (1.0 - alpha);
      v = rgb[c] * (1.0 - tint) + (c == 0 ? 255.0 : 0.0) * tint;
    }
    }
    out[c] = to_u8(v);
  }
}

static void redraw(preview *p) {
  GtkAllocation size;
  gtk_widget_get_allocation(p->area, &size);
  const gint aw = MAX(size.width, 1), ah = MAX(size.height, 1);
  gimp_preview_area_fill(GIMP_PREVIEW_AREA(p->area), 0, 0, aw, ah, BACKGROUND, BACKGROUND, BACKGROUND);
  if (!p->result || !preview_on(p)) {
    p->draw_w = p->draw_h = 0;
    return;
  }
  const vmp_preview_result *r = p->result;
  /* whole zoom steps when enlarging (a small layer shows its pixels as blocks), any factor when reducing */
  gdouble zoom = MIN((gdouble)aw / r->width, (gdouble)ah / r->height);
  if (zoom >= 1.0)
    zoom = floor(zoom);
  const gint dw = MAX(1, (gint)floor(r->width * zoom)), dh = MAX(1, (gint)floor(r->height * zoom));
  const gint ox = (aw - dw) / 2, oy = (ah - dh) / 2;
  vmp_view_mode mode = gimp_procedure_config_get_choice_id(p->config, VMP_ARG_PREVIEW_MODE);
  gdouble amount = 100.0;
  g_object_get(p->config, VMP_ARG_DECONTAMINATE_AMOUNT, &amount, NULL);
  read_checks(p);
  guint8 *buf = g_malloc((gsize)dw * dh * 3);
  for (gint y = 0; y < dh; y++)
    for (gint x = 0; x < dw; x++) {
      gdouble rgb[3], fg[3], alpha, trimap;
      sample(p, x, y, dw, dh, rgb, &alpha, &trimap, fg);
      const int parity = (((x + ox) / p->check_size) + ((y + oy) / p->check_size)) & 1;
      shade(mode, rgb, alpha, trimap, fg, amount / 100.0, p->check[parity], buf + 3 * ((gsize)y * dw + x));
    }
  gimp_preview_area_draw(GIMP_PREVIEW_AREA(p->area), ox, oy, dw, dh, GIMP_RGB_IMAGE, buf, dw * 3);
  g_free(buf);
  p->draw_x = ox, p->draw_y = oy, p->draw_w = dw, p->draw_h = dh;
}

static void describe(preview *p) {
  const vmp_preview_result *r = p->result;
  gchar *text;
  if (r->width == r->layer_width && r->height == r->layer_height)
    text = g_strdup_printf("The whole %d x %d layer, on %s: %.2f s", r->width, r->height, r->device, r->seconds);
  else
    text = g_strdup_printf("A %d x %d copy of the %d x %d layer (on the CPU the preview is downscaled; OK computes "
                           "the whole layer), on %s: %.2f s",
                           r->width, r->height, r->layer_width, r->layer_height, r->device, r->seconds);
  set_status(p, text);
  g_free(text);
}

static void on_done(vmp_preview_result *result, const GError *error, gpointer data) {
  preview *p = data;
  if (p->state == STATE_WAITING || p->state == STATE_OFF) {
    vmp_preview_result_free(result); /* a newer change waits for its pause to end: this result is stale */
    return;
  }
  g_clear_pointer(&p->error, g_free);
  if (!result) {
    p->state = STATE_FAILED;
    p->error = g_strdup(error ? error->message : "The preview failed");
    set_status(p, p->error);
    vmp_preview_result_free(g_steal_pointer(&p->result));
  } else {
    p->state = STATE_IDLE;
    vmp_preview_result_free(p->result);
    p->result = result;
    p->latency = (gdouble)(g_get_monotonic_time() - p->requested_at) / G_USEC_PER_SEC;
    p->results++;
    describe(p);
  }
  redraw(p);
}

static gboolean compute(gpointer data) {
  preview *p = data;
  p->debounce = 0;
  p->state = STATE_COMPUTING;
  set_status(p, "Computing the preview...");
  p->services->preview_request(p->services->data, p->config, on_done, p);
  return G_SOURCE_REMOVE;
}

/* The Cut-out view is shown but the result it would show has no colours (computed for another view), or the
 * computation in flight was asked for another view: the colours are computed only for this view. */
static gboolean needs_colours(preview *p) {
  if (gimp_procedure_config_get_choice_id(p->config, VMP_ARG_PREVIEW_MODE) != VMP_VIEW_CUTOUT)
    return FALSE;
  return p->state == STATE_COMPUTING || (p->state == STATE_IDLE && p->result && !p->result->foreground);
}

static void schedule(preview *p, guint delay_ms) {
  if (p->debounce)
    g_source_remove(p->debounce);
  if (p->state != STATE_WAITING && p->state != STATE_COMPUTING)
    p->requested_at = g_get_monotonic_time();
  p->state = STATE_WAITING;
  p->debounce = g_timeout_add(delay_ms, compute, p);
}

static void on_setting(GObject *config, GParamSpec *pspec, gpointer data) {
  (void)config;
  preview *p = data;
  const gchar *name = g_param_spec_get_name(pspec);
  if (strcmp(name, VMP_ARG_PREVIEW) == 0) {
    if (preview_on(p)) {
      schedule(p, 50);
    } else {
      if (p->debounce)
        g_source_remove(p->debounce);
      p->debounce = 0;
      p->services->preview_stop(p->services->data);
      p->state = STATE_OFF;
      set_status(p, "Preview off");
      redraw(p);
    }
    return;
  }
  for (gsize i = 0; i < G_N_ELEMENTS(computed_from); i++)
    if (strcmp(name, computed_from[i]) == 0) {
      if (preview_on(p))
        schedule(p, DEBOUNCE_MS);
      return;
    }
  if (strcmp(name, VMP_ARG_PREVIEW_MODE) == 0 && preview_on(p) && needs_colours(p)) {
    schedule(p, 50); /* the same result again, with the colours */
    return;
  }
  redraw(p); /* what is shown, or the amount */
}

static void on_size(GtkWidget *widget, GdkRectangle *allocation, gpointer data) {
  (void)widget, (void)allocation;
  redraw(data);
}

static void on_destroy(GtkWidget *widget, gpointer data) {
  (void)widget;
  preview *p = data;
  if (p->debounce)
    g_source_remove(p->debounce);
  p->services->preview_stop(p->services->data);
  g_signal_handlers_disconnect_by_data(p->config, p);
  vmp_preview_result_free(p->result);
  g_free(p->error);
  g_free(p);
}

GtkWidget *vmp_matte_preview_new(GimpProcedureDialog *dialog, GimpProcedureConfig *config,
                                 const vmp_dialog_services *services) {
  preview *p = g_new0(preview, 1);
  p->config = config;
  p->services = services;
  p->box = gtk_box_new(GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *row = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 12);
  gtk_box_pack_start(GTK_BOX(row), gimp_procedure_dialog_get_widget(dialog, VMP_ARG_PREVIEW, G_TYPE_NONE), FALSE, FALSE,
                     0);
  gtk_box_pack_start(GTK_BOX(row), gimp_procedure_dialog_get_widget(dialog, VMP_ARG_PREVIEW_MODE, G_TYPE_NONE), TRUE,
                     TRUE, 0);
  GtkWidget *frame = gtk_frame_new(NULL);
  gtk_frame_set_shadow_type(GTK_FRAME(frame), GTK_SHADOW_IN);
  p->area = gimp_preview_area_new();
  gtk_widget_set_size_request(p->area, AREA_WIDTH, AREA_HEIGHT);
  gtk_widget_set_vexpand(p->area, TRUE);
  gtk_container_add(GTK_CONTAINER(frame), p->area);
  p->status = gtk_label_new("");
  gtk_label_set_xalign(GTK_LABEL(p->status), 0.0);
  gtk_label_set_line_wrap(GTK_LABEL(p->status), TRUE);
  gtk_label_set_max_width_chars(GTK_LABEL(p->status), 50);
  gtk_box_pack_start(GTK_BOX(p->box), row, FALSE, FALSE, 0);
  gtk_box_pack_start(GTK_BOX(p->box), frame, TRUE, TRUE, 0);
  gtk_box_pack_start(GTK_BOX(p->box), p->status, FALSE, FALSE, 0);
  gtk_widget_show_all(p->box);
  g_object_set_data(G_OBJECT(p->box), "vmp-preview", p);
  g_signal_connect(config, "notify", G_CALLBACK(on_setting), p);
  g_signal_connect(p->area, "size-allocate", G_CALLBACK(on_size), p);
  g_signal_connect(p->box, "destroy", G_CALLBACK(on_destroy), p);
  if (preview_on(p))
    schedule(p, 50);
  else
    set_status(p, "Preview off");
  return p->box;
}

/* FILE + suffix: "VMPF\n<w> <h>\n" and the floats, as tests/gimp/compare_results.c reads them. */
static void dump_plane(const gchar *file, const gchar *suffix, const gfloat *values, gint w, gint h) {
  gchar *path = g_strconcat(file, suffix, NULL);
  GString *dump = g_string_new(NULL);
  g_string_append_printf(dump, "VMPF\n%d %d\n", w, h);
  g_string_append_len(dump, (const gchar *)values, (gssize)((gsize)w * h * sizeof(gfloat)));
  g_file_set_contents(path, dump->str, (gssize)dump->len, NULL);
  g_string_free(dump, TRUE);
  g_free(path);
}

void vmp_matte_preview_report(GtkWidget *widget, GString *report, const gchar *file) {
  preview *p = g_object_get_data(G_OBJECT(widget), "vmp-preview");
  if (!p)
    return;
  static const char *const states[] = {"off", "waiting", "computing", "idle", "failed"};
  gint root_x = 0, root_y = 0;
  GdkWindow *window = gtk_widget_get_window(p->area);
  if (window)
    gdk_window_get_origin(window, &root_x, &root_y);
  GtkAllocation a;
  gtk_widget_get_allocation(p->area, &a);
  if (!gtk_widget_get_has_window(p->area))
    root_x += a.x, root_y += a.y;
  g_string_append_printf(report, "preview-state: %s\npreview-results: %d\n", states[p->state], p->results);
  g_string_append_printf(report, "preview-picture: %d %d %d %d\npreview-offset: %d %d\n", root_x + p->draw_x,
                         root_y + p->draw_y, p->draw_w, p->draw_h, p->draw_x, p->draw_y);
  g_string_append_printf(report, "preview-checks: %d %d %d %d %d %d %d\n", p->check_size, p->check[0][0],
                         p->check[0][1], p->check[0][2], p->check[1][0], p->check[1][1], p->check[1][2]);
  g_string_append_printf(report, "preview-status: %s\n", gtk_label_get_text(GTK_LABEL(p->status)));
  if (p->result) {
    const vmp_preview_result *r = p->result;
    g_string_append_printf(report, "preview-size: %d %d %d %d\npreview-seconds: %.3f\npreview-latency: %.3f\n",
                           r->width, r->height, r->layer_width, r->layer_height, r->seconds, p->latency);
    g_string_append_printf(report, "preview-colours: %s\n", r->foreground ? "yes" : "no");
    const gsize n = (gsize)r->width * r->height;
    gfloat *trimap = g_new(gfloat, n);
    for (gsize i = 0; i < n; i++)
      trimap[i] = r->trimap[i] / 255.0f;
    dump_plane(file, ".alpha.f32", r->alpha, r->width, r->height);
    dump_plane(file, ".trimap.f32", trimap, r->width, r->height);
    g_free(trimap);
  }
}
