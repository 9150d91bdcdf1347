/* test_parity.c - every ViTMatte module and the end-to-end alpha against tensors saved from transformers.
 * Prints the parity table (module, max abs error, tolerance, result) and exits non-zero on any failure. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "context_internal.h"
#include "error.h"
#include "preprocess.h"
#include "safetensors.h"
#include "vitmatte.h"

#ifndef VM_SOURCE_ROOT
#define VM_SOURCE_ROOT "."
#endif

typedef struct options {
  const char *model, *fixtures;
  vm_device device;
  vm_precision precision;
  int threads;
  const char *torch_bf16; /* --torch-bf16 FILE: PyTorch's own bf16 alphas and errors (torch_bf16_alpha.py) */
} options;

typedef struct table {
  int passed, failed;
  double tol_module, tol_alpha;
  const vm_safetensors *bar; /* the --torch-bf16 file when the context runs bf16, else NULL */
} table;

/* A row whose verdict was reached elsewhere (bf16's bar judges the mean error too). */
static void row_judged(table *t, const char *name, double err, double tol, bool ok, const char *note) {
  printf("| %-34s | %10.3e | %8.1e | %s |%s%s\n", name, err, tol, ok ? "pass" : "FAIL", note ? " " : "",
         note ? note : "");
  if (ok)
    t->passed++;
  else
    t->failed++;
}

static void row(table *t, const char *name, double err, double tol, const char *note) {
  row_judged(t, name, err, tol, err <= tol /* NaN fails */, note);
}

/* ---- fixtures ---- */

typedef struct tensor_f32 {
  float *data;
  int ndim;
  int64_t shape[8];
  int64_t numel;
} tensor_f32;

static bool fx_get(const vm_safetensors *st, const char *name, tensor_f32 *out) {
  const vm_st_tensor *t = vm_safetensors_find(st, name);
  if (!t) {
    fprintf(stderr, "fixture tensor %s is missing\n", name);
    return false;
  }
  out->ndim = t->ndim;
  out->numel = t->numel;
  memcpy(out->shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  out->data = malloc(sizeof(float) * (size_t)(t->numel ? t->numel : 1));
  if (!out->data) return false;
  vm_safetensors_to_f32(st, t, out->data);
  return true;
}

/* (N, C, H, W) -> (N, H, W, C), in place through a copy. */
static void nchw_to_nhwc(tensor_f32 *t) {
  if (t->ndim != 4) return;
  const int64_t N = t->shape[0], C = t->shape[1], H = t->shape[2], W = t->shape[3];
  float *o = malloc(sizeof(float) * (size_t)t->numel);
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) o[((n * H + y) * W + x) * C + c] = t->data[((n * C + c) * H + y) * W + x];
  free(t->data);
  t->data = o;
  t->shape[1] = H;
  t->shape[2] = W;
  t->shape[3] = C;
}

/* ---- running one module on the backend ---- */

typedef struct mod_io mod_io;
typedef vm_tensor (*mod_body)(vm_run *r, mod_io *io, vm_tensor *in);

struct mod_io {
  vm_context *ctx;
  const vm_config *cfg;
  const vm_params *P;
  const vm_grid *g;
  int index;              /* layer / stage number for the body */
  int nin;
  tensor_f32 in[3];       /* NHWC */
  float *out;             /* NHWC, filled by the run */
  int64_t out_numel;
};

static vm_tensor shape_of(const tensor_f32 *t) {
  vm_tensor v = {NULL, t->shape[0], t->shape[1], t->shape[2], t->shape[3], VM_ELEM_ACT};
  return v;
}

static void one_pass(vm_run *r, mod_io *io, mod_body body) {
  vm_backend *be = r->be;
  vm_tensor in[3];
  for (int i = 0; i < io->nin; i++) {
    vm_tensor s = shape_of(&io->in[i]);
    in[i] = vm_run_tensor(r, s.n, s.h, s.w, s.c);
    if (vm_run_active(r)) r->status = be->ops->upload(be, &in[i], io->in[i].data, r->err);
  }
  vm_tensor out = body(r, io, in);
  if (vm_run_active(r)) {
    io->out_numel = vm_tensor_numel(&out);
    io->out = malloc(sizeof(float) * (size_t)io->out_numel);
    r->status = be->ops->download(be, &out, io->out, r->err);
  }
  vm_run_free(r, &out);
  for (int i = io->nin - 1; i >= 0; i--) vm_run_free(r, &in[i]);
}

static vm_status run_module(mod_io *io, mod_body body, vm_error *err) {
  vm_backend *be = vm_context_backend(io->ctx);
  vm_run r;
  vm_run_init(&r, be, true, NULL, 0, err);
  one_pass(&r, io, body);
  size_t peak = r.peak;
  vm_status st = r.status;
  vm_run_release(&r);
  if (st != VM_OK) return st;
  void *arena = NULL;
  if ((st = be->ops->alloc(be, peak, &arena, err)) != VM_OK) return st;
  vm_run_init(&r, be, false, arena, peak, err);
  one_pass(&r, io, body);
  st = r.status;
  vm_run_release(&r);
  be->ops->free(be, arena);
  return st;
}

/* ---- module bodies ---- */

static vm_tensor new_like(vm_run *r, const vm_tensor *t, int64_t c) { return vm_run_tensor(r, t->n, t->h, t->w, c); }

static vm_tensor body_embeddings(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_tensor out = vm_run_tensor(r, 1, io->g->h, io->g->w, io->cfg->hidden_size);
  vm_mod_embeddings(r, io->cfg, io->P, &io->g->pos, &in[0], &out);
  return out;
}
static vm_tensor body_norm1(vm_run *r, mod_io *io, vm_tensor *in) {
  const vm_param *L = io->P->layer[io->index];
  vm_tensor out = new_like(r, &in[0], in[0].c);
  op_layer_norm(r, &in[0], &L[VM_L_NORM1_W], &L[VM_L_NORM1_B], io->cfg->layer_norm_eps, VM_ACT_NONE, NULL, &out);
  return out;
}
static vm_tensor body_attention(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_tensor out = new_like(r, &in[0], in[0].c);
  vm_mod_attention(r, io->cfg, io->P->layer[io->index], &io->g->rel[io->index][0], &io->g->rel[io->index][1],
                   &in[0], NULL, &out);
  return out;
}
static vm_tensor body_mlp(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_tensor out = new_like(r, &in[0], in[0].c);
  vm_mod_mlp(r, io->cfg, io->P->layer[io->index], &in[0], NULL, &out);
  return out;
}
static vm_tensor body_res_norm1(vm_run *r, mod_io *io, vm_tensor *in) {
  const vm_param *L = io->P->layer[io->index];
  vm_tensor out = new_like(r, &in[0], in[0].c);
  op_layer_norm(r, &in[0], &L[VM_L_RES_NORM1_W], &L[VM_L_RES_NORM1_B], 1e-6, VM_ACT_NONE, NULL, &out);
  return out;
}
static vm_tensor take(vm_tensor *t) {
  vm_tensor o = *t;
  t->data = NULL;
  return o;
}
static vm_tensor body_residual(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_mod_res_block(r, io->cfg, io->P->layer[io->index], &in[0]);
  return take(&in[0]);
}
static vm_tensor body_layer(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_mod_layer(r, io->cfg, io->P->layer[io->index], io->index, &io->g->rel[io->index][0],
               &io->g->rel[io->index][1], &in[0]);
  return take(&in[0]);
}
static vm_tensor body_encoder(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_mod_encoder(r, io->cfg, io->P, io->g, &in[0]);
  return take(&in[0]);
}
static vm_tensor body_basic_conv(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_tensor out = vm_run_tensor(r, 1, (in[0].h + 1) / 2, (in[0].w + 1) / 2,
                                io->cfg->convstream_hidden_sizes[io->index]);
  vm_mod_basic_conv(r, io->P->convstream[io->index], 2, &in[0], NULL, &out);
  return out;
}
static vm_tensor body_convstream(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_tensor D[VM_MAX_DECODER_STAGES + 1];
  vm_mod_convstream(r, io->cfg, io->P, &in[0], D);
  vm_tensor out = io->index == 0 ? take(&in[0]) : take(&D[io->index]);
  for (int k = io->cfg->num_convstream; k >= 1; k--) vm_run_free(r, &D[k]);
  return out;
}
static vm_tensor body_fusion(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_tensor out = new_like(r, &in[1], io->cfg->fusion_hidden_sizes[io->index]);
  vm_mod_fusion(r, io->P->fusion[io->index], &in[0], &in[1], &out);
  return out;
}
static vm_tensor body_head(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_tensor out = new_like(r, &in[0], 1);
  vm_mod_head(r, io->P, VM_ACT_NONE, &in[0], &out);
  return out;
}
static vm_tensor body_decoder(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_tensor out = new_like(r, &in[1], 1);
  vm_mod_decoder(r, io->cfg, io->P, &in[0], &in[1], &out);
  return out;
}
static vm_tensor body_model(vm_run *r, mod_io *io, vm_tensor *in) {
  vm_tensor out = new_like(r, &in[0], 1);
  vm_mod_forward(r, io->cfg, io->P, io->g, &in[0], &out);
  return out;
}

static double max_abs_diff(const float *a, const float *b, int64_t n, double *ref_max) {
  double m = 0.0, rm = 0.0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (isnan(d)) { /* a NaN anywhere fails the row (a later finite value must not replace it) */
      m = d;
      break;
    }
    if (d > m) m = d;
    if (fabs(b[i]) > rm) rm = fabs(b[i]);
  }
  if (ref_max) *ref_max = rm;
  return m;
}

static double mean_abs_diff(const float *a, const float *b, int64_t n) {
  double s = 0.0;
  for (int64_t i = 0; i < n; i++) s += fabs((double)a[i] - (double)b[i]);
  return n ? s / (double)n : 0.0;
}

/* ---- bf16's bar: PyTorch's own bf16 error on the same input (--torch-bf16, issue 14) ----
 * bf16 keeps 8 significant bits, so any bf16 ViTMatte, PyTorch's included, lands a few 1e-3 from the fp32 alpha on
 * some inputs: a fixed 2e-3 fails such rows whether or not our kernels lose anything. With the file, a bf16 alpha
 * row is held to what PyTorch's bf16 model loses on that very input, measured on the same card. */

#define BAR_MAX_FACTOR 1.5
#define BAR_MEAN_FACTOR 1.1

/* Entry `name` of the --torch-bf16 file, for a reference of n values: `name.alpha` (PyTorch bf16's alpha, n values)
 * and `name.max_abs_err` / `name.mean_abs_err` (one value each, as torch_bf16_alpha.py measured them). Returns 0
 * when the file has no such entry, 1 with the stored errors, -1 with `why` when it is malformed or was made from
 * other fixtures: the stored max error must be the one its alpha has against this reference. */
static int bar_entry(const vm_safetensors *st, const char *name, const float *ref, int64_t n, double *max_err,
                     double *mean_err, char *why, size_t cap) {
  char k_alpha[160], k_max[160], k_mean[160];
  snprintf(k_alpha, sizeof k_alpha, "%s.alpha", name);
  snprintf(k_max, sizeof k_max, "%s.max_abs_err", name);
  snprintf(k_mean, sizeof k_mean, "%s.mean_abs_err", name);
  const vm_st_tensor *ta = vm_safetensors_find(st, k_alpha), *tx = vm_safetensors_find(st, k_max),
                     *tm = vm_safetensors_find(st, k_mean);
  if (!ta && !tx && !tm) return 0;
  if (!ta || !tx || !tm) {
    snprintf(why, cap, "entry %s lacks %s", name, !ta ? k_alpha : !tx ? k_max : k_mean);
    return -1;
  }
  const vm_st_tensor *all[3] = {ta, tx, tm};
  for (int i = 0; i < 3; i++)
    if (all[i]->dtype != VM_DTYPE_F32 && all[i]->dtype != VM_DTYPE_F16 && all[i]->dtype != VM_DTYPE_BF16) {
      snprintf(why, cap, "%s is %s, not a float tensor", all[i]->name, all[i]->dtype_name);
      return -1;
    }
  if (ta->numel != n || tx->numel != 1 || tm->numel != 1) {
    snprintf(why, cap, "entry %s: %lld alpha values for a reference of %lld, %lld and %lld error values (want 1)",
             name, (long long)ta->numel, (long long)n, (long long)tx->numel, (long long)tm->numel);
    return -1;
  }
  float *alpha = malloc(sizeof(float) * (size_t)(n ? n : 1));
  float stored[2];
  if (!alpha) {
    snprintf(why, cap, "out of memory");
    return -1;
  }
  vm_safetensors_to_f32(st, ta, alpha);
  vm_safetensors_to_f32(st, tx, &stored[0]);
  vm_safetensors_to_f32(st, tm, &stored[1]);
  const double max_now = max_abs_diff(alpha, ref, n, NULL), mean_now = mean_abs_diff(alpha, ref, n);
  free(alpha);
  /* The file stores float32 copies of float64 sums over the same float32 values: equal to 1e-6 relative unless
   * the file belongs to other fixtures (or is damaged). */
  if (!isfinite(max_now) || !isfinite(mean_now) || !(fabs(stored[0] - max_now) <= 1e-6 * max_now + 1e-12) ||
      !(fabs(stored[1] - mean_now) <= 1e-6 * mean_now + 1e-12)) {
    snprintf(why, cap, "entry %s stores max/mean |err| %.3e/%.3e, but its alpha is %.3e/%.3e from this "
             "reference: made from other fixtures?", name, stored[0], stored[1], max_now, mean_now);
    return -1;
  }
  *max_err = stored[0];
  *mean_err = stored[1];
  return 1;
}

/* An alpha row: `ours` against the reference `ref` (n values), tolerance tol_alpha; in bf16 with --torch-bf16, the
 * bar of the file's entry `entry` (no entry: tol_alpha, said in the note). `note` is the row's note without the
 * file. */
static void alpha_row(table *t, const char *label, const char *entry, const float *ours, const float *ref, int64_t n,
                      const char *note) {
  const double e = max_abs_diff(ours, ref, n, NULL);
  if (!t->bar) {
    row(t, label, e, t->tol_alpha, note);
    return;
  }
  char why[400], bar_note[512];
  double torch_max = 0, torch_mean = 0;
  const int has = bar_entry(t->bar, entry, ref, n, &torch_max, &torch_mean, why, sizeof why);
  if (has < 0) {
    snprintf(bar_note, sizeof bar_note, "(--torch-bf16: %s)", why);
    row(t, label, INFINITY, 0, bar_note);
    return;
  }
  if (has == 0) {
    snprintf(bar_note, sizeof bar_note, "(no PyTorch bf16 entry %s: tolerance %.1e)", entry, t->tol_alpha);
    row(t, label, e, t->tol_alpha, bar_note);
    return;
  }
  /* "No farther from the fp32 alpha than PyTorch's bf16 model" is judged on the mean |error| over the alpha (the
   * distance; within 10%, as two implementations round differently) and, for the worst pixel, within 1.5x
   * PyTorch's max |error|: the max is one draw of rounding noise (PyTorch's own ranges 4.5e-3 to 1.0e-2 over the
   * tiny fixtures' inputs), so holding ours to PyTorch's draw exactly would fail rows for noise, not for a reason.
   * Floored at tol_alpha for the same reason where PyTorch's max lands below the half-precision tolerance. */
  const double max_bar = BAR_MAX_FACTOR * torch_max > t->tol_alpha ? BAR_MAX_FACTOR * torch_max : t->tol_alpha;
  const double mean = mean_abs_diff(ours, ref, n), mean_bar = BAR_MEAN_FACTOR * torch_mean;
  /* within the fixed alpha tolerance a row passes as it always did: the bar only relaxes it */
  const bool ok = e <= t->tol_alpha || (e <= max_bar && mean <= mean_bar);
  snprintf(bar_note, sizeof bar_note,
           "(bar: max <= %.1f x PyTorch bf16's %.2e, mean <= %.1f x PyTorch's %.3e: ours %.3e%s)", BAR_MAX_FACTOR,
           torch_max, BAR_MEAN_FACTOR, torch_mean, mean, mean <= mean_bar ? "" : ", over the mean bar");
  row_judged(t, label, e, max_bar, ok, bar_note);
}

/* Run `body` on the fixture inputs (names in `ins`, NCHW ones converted) and compare with `out_name`. */
static void check_module(table *t, mod_io base, const vm_safetensors *st, const char *label, mod_body body,
                         const char *const *ins, const bool *in_nchw, int nin, const char *out_name, bool out_nchw,
                         bool is_alpha) {
  mod_io io = base;
  io.nin = nin;
  tensor_f32 ref = {0};
  bool ok = fx_get(st, out_name, &ref);
  for (int i = 0; i < nin && ok; i++) {
    ok = fx_get(st, ins[i], &io.in[i]);
    if (ok && in_nchw[i]) nchw_to_nhwc(&io.in[i]);
    if (ok && io.in[i].ndim != 4) ok = false;
  }
  if (!ok) {
    row(t, label, INFINITY, 0, "(fixture missing or malformed)");
  } else {
    if (out_nchw) nchw_to_nhwc(&ref);
    vm_error err = {0};
    vm_status s = run_module(&io, body, &err);
    if (s != VM_OK) {
      char note[600];
      snprintf(note, sizeof note, "(%s)", err.message);
      row(t, label, INFINITY, 0, note);
    } else if (io.out_numel != ref.numel) {
      row(t, label, INFINITY, 0, "(output size differs from the reference)");
    } else {
      double rm;
      double e = max_abs_diff(io.out, ref.data, ref.numel, &rm);
      char note[64];
      snprintf(note, sizeof note, "(max |ref| %.3g)", rm);
      /* Intermediate activations reach |x| ~ 20 in ViTMatte-S/B, where one fp32 ulp is 2e-6: their tolerance scales
       * with the reference's magnitude (1e-5 absolute up to |x| = 1). The alpha is in (0, 1): absolute, or bf16's
       * bar (the file's entry modules.<reference key>). */
      if (is_alpha) {
        char entry[160];
        snprintf(entry, sizeof entry, "modules.%s", out_name);
        alpha_row(t, label, entry, io.out, ref.data, ref.numel, note);
      } else {
        row(t, label, e, t->tol_module * (rm > 1 ? rm : 1), note);
      }
    }
  }
  free(io.out);
  for (int i = 0; i < nin; i++) free(io.in[i].data);
  free(ref.data);
}

static void module_suite(table *t, vm_context *ctx, const char *fixtures) {
  char path[1024];
  snprintf(path, sizeof path, "%s/modules.safetensors", fixtures);
  vm_safetensors st;
  vm_error err = {0};
  if (vm_safetensors_open(path, &st, &err) != VM_OK) {
    row(t, "modules fixture", INFINITY, 0, err.message);
    return;
  }
  const vm_config *cfg = vm_context_config(ctx);
  const vm_st_tensor *pv = vm_safetensors_find(&st, "pixel_values");
  if (!pv || pv->ndim != 4) {
    row(t, "modules fixture", INFINITY, 0, "(no pixel_values)");
    vm_safetensors_close(&st);
    return;
  }
  const vm_grid *g = NULL;
  if (vm_context_plan(ctx, (int)pv->shape[2], (int)pv->shape[3], &g, &err) != VM_OK) {
    row(t, "plan", INFINITY, 0, err.message);
    vm_safetensors_close(&st);
    return;
  }
  mod_io base = {.ctx = ctx, .cfg = cfg, .P = vm_context_params(ctx), .g = g};
  char label[128], in_name[128], in2[128], out_name[128];
  const bool T = true, F = false;

  { const char *ins[] = {"pixel_values"}; const bool nc[] = {T};
    check_module(t, base, &st, "VitDetEmbeddings", body_embeddings, ins, nc, 1, "embeddings.out", T, F); }

  for (int i = 0; i < cfg->num_layers_run; i++) {
    mod_io b = base;
    b.index = i;
    const char *kind = cfg->window_block[i] && cfg->window_size > 0 ? "windowed" : "global";
    const char *ins[] = {in_name};
    snprintf(in_name, sizeof in_name, "layer.%d.norm1.in", i);
    snprintf(out_name, sizeof out_name, "layer.%d.norm1.out", i);
    snprintf(label, sizeof label, "LayerNorm (layer %d norm1)", i);
    check_module(t, b, &st, label, body_norm1, ins, &F, 1, out_name, F, F);
    snprintf(in_name, sizeof in_name, "layer.%d.attention.in", i);
    snprintf(out_name, sizeof out_name, "layer.%d.attention.out", i);
    snprintf(label, sizeof label, "VitDetAttention (%d, %s)", i, kind);
    check_module(t, b, &st, label, body_attention, ins, &F, 1, out_name, F, F);
    snprintf(in_name, sizeof in_name, "layer.%d.mlp.in", i);
    snprintf(out_name, sizeof out_name, "layer.%d.mlp.out", i);
    snprintf(label, sizeof label, "VitDetMlp (layer %d)", i);
    check_module(t, b, &st, label, body_mlp, ins, &F, 1, out_name, F, F);
    if (cfg->residual_block[i]) {
      snprintf(in_name, sizeof in_name, "layer.%d.residual.norm1.in", i);
      snprintf(out_name, sizeof out_name, "layer.%d.residual.norm1.out", i);
      snprintf(label, sizeof label, "VitDetLayerNorm (layer %d res)", i);
      check_module(t, b, &st, label, body_res_norm1, ins, &T, 1, out_name, T, F);
      snprintf(in_name, sizeof in_name, "layer.%d.residual.in", i);
      snprintf(out_name, sizeof out_name, "layer.%d.residual.out", i);
      snprintf(label, sizeof label, "VitDetResBottleneckBlock (%d)", i);
      check_module(t, b, &st, label, body_residual, ins, &T, 1, out_name, T, F);
    }
    snprintf(in_name, sizeof in_name, "layer.%d.in", i);
    snprintf(out_name, sizeof out_name, "layer.%d.out", i);
    snprintf(label, sizeof label, "VitDetLayer (%d, %s%s)", i, kind, cfg->residual_block[i] ? "+res" : "");
    check_module(t, b, &st, label, body_layer, ins, &T, 1, out_name, T, F);
  }
  { const char *ins[] = {"encoder.in"};
    check_module(t, base, &st, "VitDetEncoder", body_encoder, ins, &T, 1, "encoder.out", T, F); }

  for (int j = 0; j < cfg->num_convstream; j++) {
    mod_io b = base;
    b.index = j;
    const char *ins[] = {in_name};
    snprintf(in_name, sizeof in_name, "convstream.convs.%d.in", j);
    snprintf(out_name, sizeof out_name, "convstream.convs.%d.out", j);
    snprintf(label, sizeof label, "VitMatteBasicConv3x3 (%d)", j);
    check_module(t, b, &st, label, body_basic_conv, ins, &T, 1, out_name, T, F);
  }
  for (int k = 1; k <= cfg->num_convstream; k++) {
    mod_io b = base;
    b.index = k;
    const char *ins[] = {"pixel_values"};
    snprintf(out_name, sizeof out_name, "convstream.out.%d", k);
    snprintf(label, sizeof label, "VitMatteConvStream (map %d)", k);
    check_module(t, b, &st, label, body_convstream, ins, &T, 1, out_name, T, F);
  }
  for (int k = 0; k < cfg->num_fusion; k++) {
    mod_io b = base;
    b.index = k;
    const char *ins[] = {in_name, in2};
    const bool nc[] = {T, T};
    snprintf(in_name, sizeof in_name, "fusion.%d.features", k);
    snprintf(in2, sizeof in2, "fusion.%d.detail", k);
    snprintf(out_name, sizeof out_name, "fusion.%d.out", k);
    snprintf(label, sizeof label, "VitMatteFusionBlock (%d)", k);
    check_module(t, b, &st, label, body_fusion, ins, nc, 2, out_name, T, F);
  }
  { const char *ins[] = {"head.in"};
    check_module(t, base, &st, "VitMatteHead", body_head, ins, &T, 1, "head.out", T, F); }
  { const char *ins[] = {"decoder.features", "decoder.pixel_values"}; const bool nc[] = {T, T};
    check_module(t, base, &st, "VitMatteDetailCaptureModule", body_decoder, ins, nc, 2, "decoder.out", T, T); }
  { const char *ins[] = {"pixel_values"};
    check_module(t, base, &st, "VitMatteForImageMatting (alphas)", body_model, ins, &T, 1, "alphas", T, T); }
  vm_safetensors_close(&st);
}

/* ---- end to end through the public API ---- */

static unsigned char *to_u8(const tensor_f32 *t) {
  unsigned char *o = malloc((size_t)t->numel);
  for (int64_t i = 0; i < t->numel; i++) o[i] = (unsigned char)lrintf(t->data[i]);
  return o;
}

/* Predict case `c` of an e2e fixture file with `ctx` and compare with `alpha_key`; also checks preprocessing. */
static void e2e_case(table *t, vm_context *ctx, const vm_safetensors *st, int c, const char *alpha_key,
                     const char *label_prefix) {
  char k_img[64], k_tri[64], k_px[64], label[160];
  snprintf(k_img, sizeof k_img, "case%d.image", c);
  snprintf(k_tri, sizeof k_tri, "case%d.trimap", c);
  snprintf(k_px, sizeof k_px, "case%d.pixel_values", c);
  tensor_f32 img = {0}, tri = {0}, px = {0}, ref = {0};
  if (!fx_get(st, k_img, &img) || !fx_get(st, k_tri, &tri) || !fx_get(st, k_px, &px) ||
      !fx_get(st, alpha_key, &ref) || img.ndim != 3 || tri.ndim != 2 || px.ndim != 4 ||
      ref.numel != img.shape[0] * img.shape[1]) {
    snprintf(label, sizeof label, "%s case %d", label_prefix, c);
    row(t, label, INFINITY, 0, "(fixture missing or malformed)");
    goto out;
  }
  const int H = (int)img.shape[0], W = (int)img.shape[1];
  unsigned char *rgb8 = to_u8(&img), *tri8 = to_u8(&tri);
  vm_image im = {rgb8, W, H, 3, 0, VM_PIXEL_U8}, tm = {tri8, W, H, 1, 0, VM_PIXEL_U8};
  if (strcmp(label_prefix, "end-to-end") == 0) {
    /* Preprocessing against the processor's own pixel_values. */
    const int Hp = (int)px.shape[2], Wp = (int)px.shape[3];
    float *ours = malloc(sizeof(float) * 4 * (size_t)Hp * Wp);
    vm_preprocess(&im, &tm, Hp, Wp, ours, 0);
    nchw_to_nhwc(&px);
    double e = max_abs_diff(ours, px.data, px.numel, NULL);
    snprintf(label, sizeof label, "VitMatteImageProcessor %dx%d", W, H);
    row(t, label, e, 1e-6, NULL);
    free(ours);
  }
  float *alpha = malloc(sizeof(float) * (size_t)H * W);
  vm_error err = {0};
  snprintf(label, sizeof label, "%s %dx%d", label_prefix, W, H);
  if (vm_predict(ctx, &im, &tm, alpha, 0, &err) != VM_OK) {
    row(t, label, INFINITY, 0, err.message);
  } else {
    char entry[32];
    snprintf(entry, sizeof entry, "case%d", c);
    alpha_row(t, label, entry, alpha, ref.data, (int64_t)H * W, NULL);
  }
  free(alpha);
  free(rgb8);
  free(tri8);
out:
  free(img.data);
  free(tri.data);
  free(px.data);
  free(ref.data);
}

static void e2e_suite(table *t, vm_context *ctx, const char *fixtures) {
  char path[1024];
  snprintf(path, sizeof path, "%s/e2e.safetensors", fixtures);
  vm_safetensors st;
  vm_error err = {0};
  if (vm_safetensors_open(path, &st, &err) != VM_OK) {
    row(t, "e2e fixture", INFINITY, 0, err.message);
    return;
  }
  int cases = 0;
  for (int c = 0; c < 64; c++) {
    char key[64];
    snprintf(key, sizeof key, "case%d.alpha", c);
    if (!vm_safetensors_find(&st, key)) break;
    e2e_case(t, ctx, &st, c, key, "end-to-end");
    cases++;
  }
  if (cases == 0) row(t, "e2e cases", INFINITY, 0, "(none in the fixture)");
  vm_safetensors_close(&st);
}

/* Checkpoints stored in bf16 / f16: the same processor case, reference computed from the rounded weights. */
static void dtype_suite(table *t, const options *o) {
  char path[1024], e2e[1024];
  snprintf(path, sizeof path, "%s/dtype.safetensors", o->fixtures);
  snprintf(e2e, sizeof e2e, "%s/e2e.safetensors", o->fixtures);
  vm_safetensors st, cases;
  vm_error err = {0};
  if (vm_safetensors_open(path, &st, &err) != VM_OK) {
    row(t, "dtype fixture", INFINITY, 0, err.message);
    return;
  }
  if (vm_safetensors_open(e2e, &cases, &err) != VM_OK) {
    row(t, "e2e fixture", INFINITY, 0, err.message);
    vm_safetensors_close(&st);
    return;
  }
  const char *variants[][2] = {{"bf16", "model-bf16"}, {"f16", "model-f16"}};
  for (int v = 0; v < 2; v++) {
    char dir[1024], key[64], label[64];
    snprintf(dir, sizeof dir, "%s/%s", o->fixtures, variants[v][1]);
    snprintf(key, sizeof key, "%s.alpha", variants[v][0]);
    snprintf(label, sizeof label, "checkpoint stored as %s:", variants[v][0]);
    vm_model *m = NULL;
    vm_context *ctx = NULL;
    vm_context_options co;
    vm_context_options_default(&co);
    co.device = o->device;
    co.precision = o->precision;
    co.cpu_threads = o->threads;
    if (vm_model_load(dir, &m, &err) != VM_OK || vm_context_create(m, &co, &ctx, &err) != VM_OK) {
      row(t, label, INFINITY, 0, err.message);
    } else {
      tensor_f32 ref = {0};
      if (!fx_get(&st, key, &ref)) {
        row(t, label, INFINITY, 0, "(reference missing)");
      } else {
        /* the inputs of case 0 come from e2e.safetensors, its reference alpha from dtype.safetensors */
        tensor_f32 img = {0}, tri = {0};
        if (!fx_get(&cases, "case0.image", &img) || !fx_get(&cases, "case0.trimap", &tri) || img.ndim != 3 ||
            ref.numel != img.shape[0] * img.shape[1]) {
          row(t, label, INFINITY, 0, "(case0 inputs missing or of another size than the reference)");
        } else {
          const int H = (int)img.shape[0], W = (int)img.shape[1];
          unsigned char *rgb8 = to_u8(&img), *tri8 = to_u8(&tri);
          vm_image im = {rgb8, W, H, 3, 0, VM_PIXEL_U8}, tm = {tri8, W, H, 1, 0, VM_PIXEL_U8};
          float *alpha = malloc(sizeof(float) * (size_t)H * W);
          char l2[128];
          snprintf(l2, sizeof l2, "%s %dx%d", label, W, H);
          char entry[32];
          snprintf(entry, sizeof entry, "dtype.%s", variants[v][0]);
          if (vm_predict(ctx, &im, &tm, alpha, 0, &err) != VM_OK)
            row(t, l2, INFINITY, 0, err.message);
          else
            alpha_row(t, l2, entry, alpha, ref.data, (int64_t)H * W, NULL);
          free(alpha);
          free(rgb8);
          free(tri8);
        }
        free(img.data);
        free(tri.data);
      }
      free(ref.data);
    }
    vm_context_free(ctx);
    vm_model_free(m);
  }
  vm_safetensors_close(&cases);
  vm_safetensors_close(&st);
}

static int usage(void) {
  fprintf(stderr, "usage: test_parity [--model DIR] [--fixtures DIR] [--device cpu|cuda|auto] "
                  "[--precision fp32|fp16|bf16] [--threads N] [--no-dtype] [--torch-bf16 FILE]\n");
  return 2;
}

/* vm_preprocess spreads rows over threads above 2^18 pixels: every thread count must give the same bytes, the
 * padding must be zero, and the values must be the processor's formula (checked here per input type against a
 * straight per-pixel computation; the u8 case is also checked against the processor's own output above). */
static void preprocess_threads(table *t) {
  enum { PW = 700, PH = 600, PWp = 704, PHp = 608 };
  const size_t n = (size_t)PW * PH, np = (size_t)PWp * PHp * 4;
  unsigned char *rgb8 = malloc(n * 3), *tri8 = malloc(n);
  uint16_t *grey16 = malloc(n * 2);
  float *rgba32 = malloc(n * 4 * sizeof(float));
  float *a = malloc(np * sizeof(float)), *b = malloc(np * sizeof(float)), *want = malloc(np * sizeof(float));
  for (size_t i = 0; i < n; i++) {
    tri8[i] = (unsigned char)(i * 37 % 256);
    grey16[i] = (uint16_t)(i * 2654435761u >> 16);
    for (int c = 0; c < 3; c++) rgb8[3 * i + c] = (unsigned char)((i * 7 + (size_t)c * 91) % 256);
    for (int c = 0; c < 4; c++) rgba32[4 * i + c] = (float)((i * 13 + (size_t)c * 5) % 1000) / 999.0f;
  }
  const vm_image inputs[3] = {{rgb8, PW, PH, 3, 0, VM_PIXEL_U8}, {grey16, PW, PH, 1, 0, VM_PIXEL_U16},
                              {rgba32, PW, PH, 4, 0, VM_PIXEL_F32}};
  const char *names[3] = {"u8 RGB", "u16 grey", "f32 RGBA"};
  vm_image tm = {tri8, PW, PH, 1, 0, VM_PIXEL_U8};
  for (int k = 0; k < 3; k++) {
    memset(want, 0, np * sizeof(float));
    for (size_t y = 0; y < PH; y++)
      for (size_t x = 0; x < PW; x++) {
        size_t i = y * PW + x;
        float *w = want + (y * PWp + x) * 4;
        for (int c = 0; c < 3; c++) {
          if (k == 0) w[c] = ((float)rgb8[3 * i + c] - 127.5f) / 127.5f;
          else if (k == 1) w[c] = ((float)grey16[i] - 32767.5f) / 32767.5f;
          else w[c] = (rgba32[4 * i + c] - 0.5f) / 0.5f;
        }
        w[3] = (float)tri8[i] / 255.0f;
      }
    vm_preprocess(&inputs[k], &tm, PHp, PWp, a, 1);
    double e = max_abs_diff(a, want, (int64_t)np, NULL);
    int same = 1;
    for (int threads = 2; threads <= 5; threads += 3) {
      memset(b, 0xff, np * sizeof(float)); /* NaN everywhere: a value the threads skipped would show */
      vm_preprocess(&inputs[k], &tm, PHp, PWp, b, threads);
      same = same && memcmp(a, b, np * sizeof(float)) == 0;
    }
    char label[96];
    snprintf(label, sizeof label, "pre-processing %s, threads 1/2/5", names[k]);
    row(t, label, same ? e : INFINITY, 0.0, same ? NULL : "(thread counts differ)");
  }
  free(rgb8);
  free(tri8);
  free(grey16);
  free(rgba32);
  free(a);
  free(b);
  free(want);
}

/* vm_pack_rgbt8, what a GPU context sends instead of the f32 input: for 8-bit gray, gray + alpha, RGB and RGBA
 * images with padded rows, the packed bytes put through the device kernel's formula (input.cu, the same f32
 * operations) equal vm_preprocess bit for bit, padding included; 16-bit and float images or trimaps are refused
 * (the engine then pre-processes on the host). */
static void preprocess_packed(table *t) {
  enum { PW = 301, PH = 203, PWp = 320, PHp = 224, STRIDE = PW * 4 + 13 };
  const size_t np = (size_t)PWp * PHp * 4;
  unsigned char *src = malloc((size_t)STRIDE * PH), *tri = malloc((size_t)(PW + 3) * PH), *packed = malloc(
      (size_t)PW * PH * 4);
  float *want = malloc(np * sizeof(float)), *got = malloc(np * sizeof(float));
  for (size_t i = 0; i < (size_t)STRIDE * PH; i++) src[i] = (unsigned char)(i * 2654435761u >> 24);
  for (size_t i = 0; i < (size_t)(PW + 3) * PH; i++) tri[i] = (unsigned char)(i * 40503u >> 7);
  const vm_image tm = {tri, PW, PH, 1, PW + 3, VM_PIXEL_U8};
  for (int ch = 1; ch <= 4; ch++) {
    const vm_image im = {src, PW, PH, ch, STRIDE, VM_PIXEL_U8};
    vm_preprocess(&im, &tm, PHp, PWp, want, 1);
    memset(packed, 0xa5, (size_t)PW * PH * 4);
    const bool taken = vm_pack_rgbt8(&im, &tm, packed, 2);
    for (size_t i = 0; i < np; i++) got[i] = 0.0f;
    for (size_t y = 0; y < PH; y++)
      for (size_t x = 0; x < PW; x++) {
        const unsigned char *p = packed + (y * PW + x) * 4;
        float *g = got + (y * PWp + x) * 4;
        for (int c = 0; c < 3; c++) g[c] = ((float)p[c] - 127.5f) / 127.5f;
        g[3] = (float)p[3] / 255.0f;
      }
    char label[96];
    snprintf(label, sizeof label, "8-bit input packed for the GPU, %d channel%s", ch, ch > 1 ? "s" : "");
    const bool same = taken && memcmp(got, want, np * sizeof(float)) == 0;
    row(t, label, same ? 0.0 : INFINITY, 0.0, taken ? (same ? NULL : "(differs from vm_preprocess)") : "(refused)");
  }
  /* not 8-bit: refused, nothing written */
  uint16_t w16[4] = {0};
  float f32[4] = {0};
  const vm_image im16 = {w16, 1, 1, 3, 0, VM_PIXEL_U16}, imf = {f32, 1, 1, 1, 0, VM_PIXEL_F32},
                 im8 = {src, 1, 1, 3, 0, VM_PIXEL_U8}, tm16 = {w16, 1, 1, 1, 0, VM_PIXEL_U16};
  memset(packed, 0xa5, 4);
  const bool refused = !vm_pack_rgbt8(&im16, &tm, packed, 1) && !vm_pack_rgbt8(&imf, &tm, packed, 1) &&
                       !vm_pack_rgbt8(&im8, &tm16, packed, 1);
  const bool untouched = packed[0] == 0xa5 && packed[1] == 0xa5 && packed[2] == 0xa5 && packed[3] == 0xa5;
  row(t, "packing refuses 16-bit / float images and trimaps", refused && untouched ? 0.0 : INFINITY, 0.0,
      refused ? (untouched ? NULL : "(wrote to the buffer)") : "(packed one)");
  free(src);
  free(tri);
  free(packed);
  free(want);
  free(got);
}

/* vm_alpha_finite, which turns an fp16 overflow into an error: it looks at the image's part of each row only. */
static void alpha_finite(table *t) {
  enum { AW = 700, AH = 600, AS = 704 };
  float *a = malloc(sizeof(float) * AS * AH);
  for (int i = 0; i < AS * AH; i++) a[i] = 0.5f;
  int ok = 1;
  for (int threads = 1; threads <= 4; threads += 3) {
    ok = ok && vm_alpha_finite(a, AS, AW, AH, threads);
    a[(AH - 1) * AS + AW] = NAN; /* padding: not part of the image */
    ok = ok && vm_alpha_finite(a, AS, AW, AH, threads);
    a[(AH - 1) * AS + AW - 1] = NAN; /* the last pixel */
    ok = ok && !vm_alpha_finite(a, AS, AW, AH, threads);
    a[(AH - 1) * AS + AW - 1] = 0.5f;
    a[0] = INFINITY; /* the first */
    ok = ok && !vm_alpha_finite(a, AS, AW, AH, threads);
    a[0] = 0.5f;
  }
  row(t, "non-finite alpha found, padding ignored", ok ? 0.0 : INFINITY, 0.0, NULL);
  free(a);
}

int main(int argc, char **argv) {
  options o = {VM_SOURCE_ROOT "/data/tiny", VM_SOURCE_ROOT "/data/fixtures", VM_DEVICE_CPU, VM_PRECISION_FP32, 0,
               NULL};
  bool dtype = true;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--no-dtype")) { dtype = false; continue; }
    if (!v) return usage();
    i++;
    if (!strcmp(a, "--model")) o.model = v;
    else if (!strcmp(a, "--fixtures")) o.fixtures = v;
    else if (!strcmp(a, "--threads")) o.threads = atoi(v);
    else if (!strcmp(a, "--torch-bf16")) o.torch_bf16 = v;
    else if (!strcmp(a, "--device"))
      o.device = !strcmp(v, "cuda") ? VM_DEVICE_CUDA : !strcmp(v, "auto") ? VM_DEVICE_AUTO : VM_DEVICE_CPU;
    else if (!strcmp(a, "--precision"))
      o.precision = !strcmp(v, "fp16") ? VM_PRECISION_FP16 : !strcmp(v, "bf16") ? VM_PRECISION_BF16 : VM_PRECISION_FP32;
    else return usage();
  }
  vm_error err = {0};
  vm_model *model = NULL;
  vm_context *ctx = NULL;
  if (vm_model_load(o.model, &model, &err) != VM_OK) {
    fprintf(stderr, "test_parity: %s\n", err.message);
    return 1;
  }
  vm_context_options co;
  vm_context_options_default(&co);
  co.device = o.device;
  co.precision = o.precision;
  co.cpu_threads = o.threads;
  if (vm_context_create(model, &co, &ctx, &err) != VM_OK) {
    fprintf(stderr, "test_parity: %s\n", err.message);
    vm_model_free(model);
    return 1;
  }
  const bool half = vm_context_precision(ctx) != VM_PRECISION_FP32;
  table t = {0, 0, half ? 5e-2 : 1e-5, half ? 2e-3 : 1e-5, NULL};
  printf("Parity against transformers: model %s, fixtures %s\ndevice %s, precision %s\n", o.model, o.fixtures,
         vm_context_device_name(ctx), half ? (vm_context_precision(ctx) == VM_PRECISION_FP16 ? "fp16" : "bf16") : "fp32");
  const bool bf16 = vm_context_precision(ctx) == VM_PRECISION_BF16;
  if (o.torch_bf16 && bf16)
    printf("bf16 alpha rows: held to PyTorch bf16's own error, from %s\n", o.torch_bf16);
  else if (o.torch_bf16)
    printf("--torch-bf16 %s: not used (the bar is for bf16 only)\n", o.torch_bf16);
  printf("\n| %-34s | %10s | %8s | %s |\n", "module", "max abs err", "tol", "result");
  printf("|%s|%s|%s|%s|\n", "------------------------------------", "------------", "----------", "--------");
  vm_safetensors bar;
  if (o.torch_bf16 && bf16) {
    /* An unreadable file is a failed row, and the alpha rows keep the fixed tolerance */
    if (vm_safetensors_open(o.torch_bf16, &bar, &err) == VM_OK) {
      t.bar = &bar;
    } else {
      char note[600];
      snprintf(note, sizeof note, "(cannot read the --torch-bf16 file: %s)", err.message);
      row(&t, "PyTorch bf16 bar (--torch-bf16)", INFINITY, 0, note);
    }
  }
  module_suite(&t, ctx, o.fixtures);
  e2e_suite(&t, ctx, o.fixtures);
  preprocess_threads(&t);
  preprocess_packed(&t);
  alpha_finite(&t);
  if (dtype) dtype_suite(&t, &o);
  printf("\n(modules: tolerance %.0e x max(1, max|ref|); alpha: %.0e absolute", t.tol_module, t.tol_alpha);
  if (t.bar)
    printf("; bf16 rows with a PyTorch bf16 entry: max <= %.1f x and mean <= %.1f x PyTorch bf16's on the same input",
           BAR_MAX_FACTOR, BAR_MEAN_FACTOR);
  printf(")\n");
  if (t.bar) vm_safetensors_close(&bar);
  printf("\nparity: %d passed, %d failed\n", t.passed, t.failed);
  vm_context_free(ctx);
  vm_model_free(model);
  return t.failed ? 1 : 0;
}
