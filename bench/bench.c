/* bench.c - times the engine on the GPU: whole predictions per precision and size (the forward pass by CUDA events
 * recorded by the CUDA backend, and vm_predict's wall time), peak device memory, and per-module times at one size.
 *
 *   bench --model DIR [--label NAME] [--sizes HxW,...] [--precisions fp16,bf16,fp32] [--iters N] [--warmup N]
 *         [--modules-at HxW|none] [--json PATH]
 *
 * The CUDA module is the one the engine loads ($VITMATTE_CUDA_MODULE or the usual search); its forward timer is
 * looked up in it with dlsym. Each (precision, size) gets a fresh context, so its peak memory is that size's alone.
 * Times are medians after the warm-up passes (the first pass at a size plans and runs the ops, the second records
 * them as a CUDA graph, later ones replay it). Module labels match tests/reference/torch_bench.py's. */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "context_internal.h"
#include "error.h"
#include "modules.h"
#include "plan.h"
#include "vitmatte.h"

#define MAX_SIZES 16
#define MAX_ITERS 200

typedef float (*forward_ms_fn)(vm_backend *be);

typedef struct options {
  const char *model, *label, *json;
  int sizes[MAX_SIZES][2], nsizes; /* H, W */
  vm_precision precs[3];
  int nprecs;
  int iters, warmup;
  int mod_h, mod_w; /* 0: no module table */
} options;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}
static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const char *prec_name(vm_precision p) {
  return p == VM_PRECISION_FP16 ? "fp16" : p == VM_PRECISION_BF16 ? "bf16" : "fp32";
}

static forward_ms_fn find_timer(void) {
  const char *path = getenv("VITMATTE_CUDA_MODULE");
  void *h = dlopen(path && *path ? path : VM_CUDA_MODULE_NAME, RTLD_NOW | RTLD_LOCAL);
  return h ? (forward_ms_fn)dlsym(h, "vm_cuda_backend_last_forward_ms") : NULL;
}

static vm_context *make_ctx(const vm_model *m, vm_precision p, vm_error *e) {
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = VM_DEVICE_CUDA;
  o.precision = p;
  vm_context *ctx = NULL;
  return vm_context_create(m, &o, &ctx, e) == VM_OK ? ctx : NULL;
}

/* ---- whole predictions ---- */

/* Times whole predictions; returns the last alpha (caller frees) so precisions can be compared at every size. */
static float *bench_full(FILE *js, bool *first, const options *o, const vm_model *model, forward_ms_fn timer,
                         vm_precision p, int H, int W) {
  vm_error e = {0};
  size_t n = (size_t)H * W;
  unsigned char *rgb = malloc(3 * n), *tri = malloc(n);
  float *alpha = malloc(sizeof(float) * n);
  double fwd[MAX_ITERS], wall[MAX_ITERS];
  int done = 0;
  size_t estimate = 0, peak = 0;
  char status[600] = "ok";
  vm_context *ctx = NULL;
  if (!rgb || !tri || !alpha) {
    snprintf(status, sizeof status, "out of host memory");
    goto out;
  }
  bench_make_image(H, W, rgb, tri);
  ctx = make_ctx(model, p, &e);
  if (!ctx) {
    snprintf(status, sizeof status, "%s", e.message);
    goto out;
  }
  vm_context_estimate_memory(ctx, W, H, &estimate, &e);
  vm_image im = {rgb, W, H, 3, 0, VM_PIXEL_U8}, tm = {tri, W, H, 1, 0, VM_PIXEL_U8};
  vm_backend *be = vm_context_backend(ctx);
  for (int i = 0; i < o->warmup + o->iters; i++) {
    double t0 = now_ms();
    if (vm_predict(ctx, &im, &tm, alpha, 0, &e) != VM_OK) {
      snprintf(status, sizeof status, "%s: %s", vm_status_string(e.status), e.message);
      break;
    }
    double t1 = now_ms();
    if (i >= o->warmup) {
      wall[done] = t1 - t0;
      fwd[done] = timer ? timer(be) : -1.0;
      done++;
    }
  }
  peak = vm_context_peak_memory(ctx);
out:;
  double fm = done ? median(fwd, done) : -1, fmin = done ? fwd[0] : -1, wm = done ? median(wall, done) : -1;
  if (strcmp(status, "ok") == 0)
    printf("  %s %5dx%-5d forward %9.3f ms (min %9.3f)  vm_predict %9.3f ms  peak %6.3f GiB  estimate %6.3f GiB\n",
           prec_name(p), H, W, fm, fmin, wm, peak / 1073741824.0, estimate / 1073741824.0);
  else
    printf("  %s %5dx%-5d %s\n", prec_name(p), H, W, status);
  fflush(stdout);
  if (js) {
    fprintf(js, "%s\n  {\"precision\": \"%s\", \"size\": \"%dx%d\", \"status\": \"", *first ? "" : ",", prec_name(p), H,
            W);
    for (const char *c = status; *c; c++) fputc(*c == '"' || *c == '\\' ? '\'' : *c, js);
    fprintf(js, "\", \"forward_ms\": %.4f, \"forward_min_ms\": %.4f, \"predict_ms\": %.4f, \"peak_gib\": %.4f, "
                "\"estimate_gib\": %.4f, \"iters\": %d}",
            fm, fmin, wm, peak / 1073741824.0, estimate / 1073741824.0, done);
    *first = false;
  }
  vm_context_free(ctx);
  free(rgb);
  free(tri);
  if (done == 0) {
    free(alpha);
    alpha = NULL;
  }
  return alpha;
}

/* ---- per-module times (the engine's module functions on an arena of their own) ---- */

typedef struct modctx {
  const vm_config *cfg;
  const vm_params *P;
  const vm_grid *g;
  int layer;  /* for the layer modules */
  int stage;  /* for the fusion modules */
} modctx;

typedef void (*mod_fn)(vm_run *r, const modctx *m, vm_tensor *in, int nin);

typedef struct mod_entry {
  char label[64];
  mod_fn fn;
  const char *inputs;
  int layer, stage;
} mod_entry;

static int fusion_down(const vm_config *cfg, int k) { return 1 << (cfg->num_fusion - 1 - k); }

/* Input shapes of each module at padded H x W (what transformers feeds them). */
static int mod_inputs(const modctx *m, const char *which, int H, int W, int64_t shapes[2][4]) {
  const vm_config *c = m->cfg;
  int h = H / c->patch_size, w = W / c->patch_size;
  if (!strcmp(which, "px")) {
    int64_t s[4] = {1, H, W, c->num_channels};
    memcpy(shapes[0], s, sizeof s);
    return 1;
  }
  if (!strcmp(which, "tokens")) {
    int64_t s[4] = {1, h, w, c->hidden_size};
    memcpy(shapes[0], s, sizeof s);
    return 1;
  }
  if (!strcmp(which, "fusion")) {
    int k = m->stage, down = fusion_down(c, k);
    int64_t f[4] = {1, H / (2 * down), W / (2 * down), k == 0 ? c->hidden_size : c->fusion_hidden_sizes[k - 1]};
    int64_t d[4] = {1, H / down, W / down, k + 1 < c->num_fusion ? c->convstream_hidden_sizes[c->num_fusion - 2 - k]
                                                                 : c->num_channels};
    memcpy(shapes[0], f, sizeof f);
    memcpy(shapes[1], d, sizeof d);
    return 2;
  }
  if (!strcmp(which, "head")) {
    int64_t s[4] = {1, H, W, c->fusion_hidden_sizes[c->num_fusion - 1]};
    memcpy(shapes[0], s, sizeof s);
    return 1;
  }
  if (!strcmp(which, "decoder")) {
    int64_t f[4] = {1, h, w, c->hidden_size}, px[4] = {1, H, W, c->num_channels};
    memcpy(shapes[0], f, sizeof f);
    memcpy(shapes[1], px, sizeof px);
    return 2;
  }
  return 0;
}

static void m_embeddings(vm_run *r, const modctx *m, vm_tensor *in, int nin) {
  (void)nin;
  vm_tensor out = vm_run_tensor(r, 1, m->g->h, m->g->w, m->cfg->hidden_size);
  vm_mod_embeddings(r, m->cfg, m->P, &m->g->pos, &in[0], &out);
  vm_run_free(r, &out);
}
static void m_layer(vm_run *r, const modctx *m, vm_tensor *in, int nin) {
  (void)nin;
  vm_mod_layer(r, m->cfg, m->P->layer[m->layer], m->layer, &m->g->rel[m->layer][0], &m->g->rel[m->layer][1], &in[0]);
}
static void m_encoder(vm_run *r, const modctx *m, vm_tensor *in, int nin) {
  (void)nin;
  vm_mod_encoder(r, m->cfg, m->P, m->g, &in[0]);
}
static void m_convstream(vm_run *r, const modctx *m, vm_tensor *in, int nin) {
  (void)nin;
  vm_tensor D[VM_MAX_DECODER_STAGES + 1];
  vm_mod_convstream(r, m->cfg, m->P, &in[0], D);
  for (int k = m->cfg->num_convstream; k >= 1; k--) vm_run_free(r, &D[k]);
}
static void m_fusion(vm_run *r, const modctx *m, vm_tensor *in, int nin) {
  (void)nin;
  vm_tensor out = vm_run_tensor(r, 1, in[1].h, in[1].w, m->cfg->fusion_hidden_sizes[m->stage]);
  vm_mod_fusion(r, m->P->fusion[m->stage], &in[0], &in[1], &out);
  vm_run_free(r, &out);
}
static void m_head(vm_run *r, const modctx *m, vm_tensor *in, int nin) {
  (void)nin;
  vm_tensor out = vm_run_tensor(r, 1, in[0].h, in[0].w, 1);
  vm_mod_head(r, m->P, VM_ACT_SIGMOID, &in[0], &out);
  vm_run_free(r, &out);
}
static void m_decoder(vm_run *r, const modctx *m, vm_tensor *in, int nin) {
  (void)nin;
  vm_tensor out = vm_run_tensor(r, 1, in[1].h, in[1].w, 1);
  vm_mod_decoder(r, m->cfg, m->P, &in[0], &in[1], &out); /* frees in[0] */
  vm_run_free(r, &out);
}

/* One pass: inputs allocated (and filled when active), the module, everything freed again. */
static void mod_pass(vm_run *r, const modctx *m, mod_fn fn, int64_t shapes[2][4], int nin, float *fill,
                     uint64_t key, bool timed) {
  vm_tensor in[2];
  for (int i = 0; i < nin; i++) {
    in[i] = vm_run_tensor(r, shapes[i][0], shapes[i][1], shapes[i][2], shapes[i][3]);
    if (vm_run_active(r)) r->status = r->be->ops->upload(r->be, &in[i], fill, r->err);
  }
  int replayed = 0;
  if (timed && vm_run_active(r)) replayed = r->be->ops->forward_begin(r->be, key);
  if (!replayed) fn(r, m, in, nin);
  if (timed && !r->measuring) {
    vm_error e;
    vm_status st = r->be->ops->forward_end(r->be, &e);
    if (st != VM_OK && r->status == VM_OK) {
      r->status = st;
      if (r->err) *r->err = e;
    }
  }
  for (int i = nin - 1; i >= 0; i--) vm_run_free(r, &in[i]);
}

static double time_module(vm_context *ctx, const modctx *m, mod_fn fn, const char *inputs, int H, int W,
                          uint64_t key, int warmup, int iters, forward_ms_fn timer, char *why, size_t why_len) {
  vm_backend *be = vm_context_backend(ctx);
  int64_t shapes[2][4];
  int nin = mod_inputs(m, inputs, H, W, shapes);
  int64_t most = 0;
  for (int i = 0; i < nin; i++) {
    int64_t n = shapes[i][0] * shapes[i][1] * shapes[i][2] * shapes[i][3];
    if (n > most) most = n;
  }
  float *fill = malloc(sizeof(float) * (size_t)most);
  uint32_t s = 777;
  for (int64_t i = 0; i < most; i++) {
    s = s * 1664525u + 1013904223u;
    fill[i] = (float)((int)(s >> 16) % 2001 - 1000) / 1000.0f;
  }
  vm_error e = {0};
  vm_run r;
  vm_run_init(&r, be, true, NULL, 0, &e);
  mod_pass(&r, m, fn, shapes, nin, fill, key, false);
  size_t bytes = r.peak;
  vm_status st = r.status;
  vm_run_release(&r);
  void *arena = NULL;
  double t[MAX_ITERS];
  int done = 0;
  if (st == VM_OK) st = be->ops->alloc(be, bytes ? bytes : 256, &arena, &e);
  for (int it = 0; st == VM_OK && it < warmup + iters; it++) {
    vm_run_init(&r, be, false, arena, bytes, &e);
    mod_pass(&r, m, fn, shapes, nin, fill, key, true);
    st = r.status;
    vm_run_release(&r);
    if (st == VM_OK && it >= warmup) t[done++] = timer ? timer(be) : -1.0;
  }
  if (arena) be->ops->free(be, arena);
  free(fill);
  if (st != VM_OK) {
    snprintf(why, why_len, "%s", e.message);
    return -1;
  }
  return done ? median(t, done) : -1;
}

static void bench_modules(FILE *js, const options *o, const vm_model *model, forward_ms_fn timer) {
  const vm_precision precs[2] = {VM_PRECISION_FP32, VM_PRECISION_FP16};
  int H = o->mod_h, W = o->mod_w;
  printf("\nper-module times at %dx%d (median ms, CUDA events around the module's ops)\n", H, W);
  if (js) fprintf(js, ",\n \"modules\": {\"size\": \"%dx%d\", \"rows\": [", H, W);
  bool first = true;
  for (int pi = 0; pi < 2; pi++) {
    vm_error e = {0};
    vm_context *ctx = make_ctx(model, precs[pi], &e);
    if (!ctx) {
      printf("  %s: %s\n", prec_name(precs[pi]), e.message);
      continue;
    }
    const vm_grid *g = NULL;
    if (vm_context_plan(ctx, H, W, &g, &e) != VM_OK) {
      printf("  %s: %s\n", prec_name(precs[pi]), e.message);
      vm_context_free(ctx);
      continue;
    }
    const vm_config *cfg = vm_context_config(ctx);
    modctx m = {cfg, vm_context_params(ctx), g, 0, 0};
    int win = -1, glob = -1;
    for (int i = 0; i < cfg->num_layers_run; i++) {
      bool windowed = cfg->window_block[i] && cfg->window_size > 0;
      if (windowed && win < 0) win = i;
      if (!windowed && cfg->residual_block[i] && glob < 0) glob = i;
    }
    mod_entry list[16];
    int n = 0;
    list[n++] = (mod_entry){"embeddings", m_embeddings, "px", 0, 0};
    if (win >= 0) {
      snprintf(list[n].label, sizeof list[n].label, "windowed layer %d", win);
      list[n].fn = m_layer, list[n].inputs = "tokens", list[n].layer = win, list[n].stage = 0, n++;
    }
    if (glob >= 0) {
      snprintf(list[n].label, sizeof list[n].label, "global layer %d (+residual)", glob);
      list[n].fn = m_layer, list[n].inputs = "tokens", list[n].layer = glob, list[n].stage = 0, n++;
    }
    list[n++] = (mod_entry){"encoder (all layers)", m_encoder, "tokens", 0, 0};
    list[n++] = (mod_entry){"convstream", m_convstream, "px", 0, 0};
    for (int k = 0; k < cfg->num_fusion && n < 14; k++) {
      snprintf(list[n].label, sizeof list[n].label, "fusion %d", k);
      list[n].fn = m_fusion, list[n].inputs = "fusion", list[n].layer = 0, list[n].stage = k, n++;
    }
    list[n++] = (mod_entry){"head", m_head, "head", 0, 0};
    list[n++] = (mod_entry){"decoder", m_decoder, "decoder", 0, 0};
    for (int i = 0; i < n; i++) {
      m.layer = list[i].layer;
      m.stage = list[i].stage;
      char why[600] = "";
      double ms = time_module(ctx, &m, list[i].fn, list[i].inputs, H, W, 0xB0000000ull + 16u * (unsigned)pi + i,
                              o->warmup, o->iters, timer, why, sizeof why);
      if (ms >= 0)
        printf("  %s %-28s %9.3f\n", prec_name(precs[pi]), list[i].label, ms);
      else
        printf("  %s %-28s failed: %s\n", prec_name(precs[pi]), list[i].label, why);
      if (js) {
        fprintf(js, "%s\n  {\"module\": \"%s\", \"precision\": \"%s\", \"median_ms\": %.4f}", first ? "" : ",",
                list[i].label, prec_name(precs[pi]), ms);
        first = false;
      }
    }
    vm_context_free(ctx);
  }
  if (js) fprintf(js, "\n ]}");
}

static int parse_sizes(const char *s, options *o) {
  o->nsizes = 0;
  while (*s && o->nsizes < MAX_SIZES) {
    int h, w, used;
    if (sscanf(s, "%dx%d%n", &h, &w, &used) != 2 || h <= 0 || w <= 0) return -1;
    o->sizes[o->nsizes][0] = h;
    o->sizes[o->nsizes][1] = w;
    o->nsizes++;
    s += used;
    if (*s == ',') s++;
  }
  return o->nsizes > 0 ? 0 : -1;
}

static int usage(void) {
  fprintf(stderr, "usage: bench --model DIR [--label NAME] [--sizes HxW,...] [--precisions fp16,bf16,fp32] "
                  "[--iters N] [--warmup N] [--modules-at HxW|none] [--json PATH]\n");
  return 2;
}

int main(int argc, char **argv) {
  options o = {.model = NULL, .label = "model", .json = NULL, .iters = 10, .warmup = 3, .mod_h = 1024,
               .mod_w = 1024};
  parse_sizes("512x512,1024x1024,2048x2048,3008x4000", &o);
  o.precs[0] = VM_PRECISION_FP16;
  o.precs[1] = VM_PRECISION_BF16;
  o.precs[2] = VM_PRECISION_FP32;
  o.nprecs = 3;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) return usage();
    i++;
    if (!strcmp(a, "--model")) o.model = v;
    else if (!strcmp(a, "--label")) o.label = v;
    else if (!strcmp(a, "--json")) o.json = v;
    else if (!strcmp(a, "--iters")) o.iters = atoi(v);
    else if (!strcmp(a, "--warmup")) o.warmup = atoi(v);
    else if (!strcmp(a, "--sizes")) {
      if (parse_sizes(v, &o)) return usage();
    } else if (!strcmp(a, "--modules-at")) {
      if (!strcmp(v, "none")) o.mod_h = o.mod_w = 0;
      else if (sscanf(v, "%dx%d", &o.mod_h, &o.mod_w) != 2) return usage();
    } else if (!strcmp(a, "--precisions")) {
      o.nprecs = 0;
      if (strstr(v, "fp16")) o.precs[o.nprecs++] = VM_PRECISION_FP16;
      if (strstr(v, "bf16")) o.precs[o.nprecs++] = VM_PRECISION_BF16;
      if (strstr(v, "fp32")) o.precs[o.nprecs++] = VM_PRECISION_FP32;
    } else return usage();
  }
  if (!o.model || o.iters < 1 || o.iters + o.warmup > MAX_ITERS || o.warmup < 0) return usage();
  vm_error e = {0};
  vm_model *model = NULL;
  if (vm_model_load(o.model, &model, &e) != VM_OK) {
    fprintf(stderr, "bench: %s\n", e.message);
    return 1;
  }
  vm_model_info info;
  vm_model_get_info(model, &info);
  forward_ms_fn timer = find_timer();
  /* the card's name with the kernels of the first precision timed (an fp32-only run names the fp32 path) */
  vm_context *probe = make_ctx(model, o.precs[0], &e);
  if (!probe) {
    fprintf(stderr, "bench: no GPU context: %s\n", e.message);
    vm_model_free(model);
    return 1;
  }
  char device[160];
  snprintf(device, sizeof device, "%s", vm_context_device_name(probe));
  vm_context_free(probe);
  printf("%s (%.1f M params) on %s; median of %d after %d warm-up passes; forward = CUDA events between "
         "forward_begin and forward_end%s\n",
         o.label, info.num_parameters / 1e6, device, o.iters, o.warmup, timer ? "" : " (TIMER NOT FOUND)");
  FILE *js = o.json ? fopen(o.json, "w") : NULL;
  if (js)
    fprintf(js, "{\"label\": \"%s\", \"device\": \"%s\", \"params\": %lld, \"iters\": %d, \"warmup\": %d,\n \"full\": [",
            o.label, device, (long long)info.num_parameters, o.iters, o.warmup);
  bool first = true;
  for (int s = 0; s < o.nsizes; s++) {
    float *alphas[3] = {0};
    for (int p = 0; p < o.nprecs; p++) {
      options oo = o;
      /* fp32 at 12 MP runs the exact CUDA-core attention: fewer repetitions keep the call short */
      if (o.precs[p] == VM_PRECISION_FP32 && (int64_t)o.sizes[s][0] * o.sizes[s][1] > 4200000) {
        oo.iters = o.iters < 3 ? o.iters : 3;
        oo.warmup = 2;
      }
      alphas[p] = bench_full(js, &first, &oo, model, timer, o.precs[p], o.sizes[s][0], o.sizes[s][1]);
    }
    /* The same image in every precision: the half-precision alphas against the fp32 one, at every size (the parity
     * tests stop at 517 x 389). */
    int ref = -1;
    for (int p = 0; p < o.nprecs; p++)
      if (o.precs[p] == VM_PRECISION_FP32 && alphas[p]) ref = p;
    for (int p = 0; p < o.nprecs && ref >= 0; p++) {
      if (p == ref || !alphas[p]) continue;
      double worst = 0;
      const size_t n = (size_t)o.sizes[s][0] * o.sizes[s][1];
      for (size_t i = 0; i < n; i++) {
        double d = fabs((double)alphas[p][i] - alphas[ref][i]);
        if (!(d <= worst)) worst = d;
      }
      printf("  check %s vs fp32 at %dx%d: max |alpha difference| %.3e\n", prec_name(o.precs[p]), o.sizes[s][0],
             o.sizes[s][1], worst);
    }
    for (int p = 0; p < o.nprecs; p++) free(alphas[p]);
  }
  if (js) fprintf(js, "\n ]");
  if (o.mod_h > 0) bench_modules(js, &o, model, timer);
  if (js) {
    fprintf(js, "\n}\n");
    fclose(js);
  }
  vm_model_free(model);
  return 0;
}
