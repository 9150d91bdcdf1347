#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "huge_pages.h"
#include "model.h"
#include "weight_values.h"

/* ---- The tensor set a config implies -------------------------------------------------------------------- */

typedef enum tensor_role {
  ROLE_PARAM,   /* a trainable parameter: float, counted in num_parameters */
  ROLE_BN_STAT, /* BatchNorm running_mean / running_var: float, folded, not counted */
  ROLE_COUNTER  /* BatchNorm num_batches_tracked: any dtype, may be absent, unused */
} tensor_role;

typedef struct expected_tensor {
  char name[160];
  int ndim;
  int64_t shape[4];
  tensor_role role;
} expected_tensor;

typedef struct expected_set {
  expected_tensor *items;
  int count, cap;
  bool out_of_memory;
} expected_set;

static void expect(expected_set *set, tensor_role role, const char *prefix, const char *suffix, int ndim, int64_t d0,
                   int64_t d1, int64_t d2, int64_t d3) {
  if (set->count == set->cap) {
    int cap = set->cap ? 2 * set->cap : 256;
    expected_tensor *grown = realloc(set->items, sizeof *grown * (size_t)cap);
    if (!grown) {
      set->out_of_memory = true;
      return;
    }
    set->items = grown;
    set->cap = cap;
  }
  expected_tensor *e = &set->items[set->count++];
  snprintf(e->name, sizeof e->name, "%s%s", prefix, suffix);
  e->ndim = ndim;
  e->shape[0] = d0, e->shape[1] = d1, e->shape[2] = d2, e->shape[3] = d3;
  e->role = role;
}

/* Conv (no bias) + BatchNorm2d as transformers names them under `conv_prefix` and `bn_prefix`. */
static void expect_conv_bn(expected_set *set, const char *conv_prefix, const char *bn_prefix, int64_t out,
                           int64_t in) {
  expect(set, ROLE_PARAM, conv_prefix, "weight", 4, out, in, 3, 3);
  expect(set, ROLE_PARAM, bn_prefix, "weight", 1, out, 0, 0, 0);
  expect(set, ROLE_PARAM, bn_prefix, "bias", 1, out, 0, 0, 0);
  expect(set, ROLE_BN_STAT, bn_prefix, "running_mean", 1, out, 0, 0, 0);
  expect(set, ROLE_BN_STAT, bn_prefix, "running_var", 1, out, 0, 0, 0);
  expect(set, ROLE_COUNTER, bn_prefix, "num_batches_tracked", 0, 0, 0, 0, 0);
}

/* Input channels of fusion block k: the previous block's output (the backbone's for k = 0) plus the ConvStream
 * map it is concatenated with (the raw input's channels for the last block). */
static int fusion_in_channels(const vm_config *cfg, int k) {
  int up = k == 0 ? cfg->hidden_size : cfg->fusion_hidden_sizes[k - 1];
  int j = cfg->num_convstream - k; /* index into [num_channels, convstream...] */
  int detail = j == 0 ? cfg->num_channels : cfg->convstream_hidden_sizes[j - 1];
  return up + detail;
}

static void build_expected_set(const vm_config *cfg, expected_set *set) {
  const int64_t C = cfg->hidden_size, M = cfg->mlp_hidden, p = cfg->patch_size, hd = cfg->head_dim;
  char pre[96], pre2[96];

  if (cfg->use_absolute_position_embeddings) {
    int64_t grid = cfg->pretrain_image_size / cfg->patch_size;
    expect(set, ROLE_PARAM, "backbone.embeddings.", "position_embeddings", 3, 1, grid * grid + 1, C, 0);
  }
  expect(set, ROLE_PARAM, "backbone.embeddings.projection.", "weight", 4, C, cfg->num_channels, p, p);
  expect(set, ROLE_PARAM, "backbone.embeddings.projection.", "bias", 1, C, 0, 0, 0);

  for (int i = 0; i < cfg->num_hidden_layers; i++) {
    snprintf(pre, sizeof pre, "backbone.encoder.layer.%d.", i);
    expect(set, ROLE_PARAM, pre, "norm1.weight", 1, C, 0, 0, 0);
    expect(set, ROLE_PARAM, pre, "norm1.bias", 1, C, 0, 0, 0);
    expect(set, ROLE_PARAM, pre, "attention.qkv.weight", 2, 3 * C, C, 0, 0);
    if (cfg->qkv_bias) expect(set, ROLE_PARAM, pre, "attention.qkv.bias", 1, 3 * C, 0, 0, 0);
    expect(set, ROLE_PARAM, pre, "attention.proj.weight", 2, C, C, 0, 0);
    expect(set, ROLE_PARAM, pre, "attention.proj.bias", 1, C, 0, 0, 0);
    if (cfg->use_relative_position_embeddings) {
      int64_t L = vm_config_rel_pos_len(cfg, i);
      expect(set, ROLE_PARAM, pre, "attention.rel_pos_h", 2, L, hd, 0, 0);
      expect(set, ROLE_PARAM, pre, "attention.rel_pos_w", 2, L, hd, 0, 0);
    }
    expect(set, ROLE_PARAM, pre, "norm2.weight", 1, C, 0, 0, 0);
    expect(set, ROLE_PARAM, pre, "norm2.bias", 1, C, 0, 0, 0);
    expect(set, ROLE_PARAM, pre, "mlp.fc1.weight", 2, M, C, 0, 0);
    expect(set, ROLE_PARAM, pre, "mlp.fc1.bias", 1, M, 0, 0, 0);
    expect(set, ROLE_PARAM, pre, "mlp.fc2.weight", 2, C, M, 0, 0);
    expect(set, ROLE_PARAM, pre, "mlp.fc2.bias", 1, C, 0, 0, 0);
    if (cfg->residual_block[i]) {
      const int64_t B = C / 2;
      expect(set, ROLE_PARAM, pre, "residual.conv1.weight", 4, B, C, 1, 1);
      expect(set, ROLE_PARAM, pre, "residual.norm1.weight", 1, B, 0, 0, 0);
      expect(set, ROLE_PARAM, pre, "residual.norm1.bias", 1, B, 0, 0, 0);
      expect(set, ROLE_PARAM, pre, "residual.conv2.weight", 4, B, B, 3, 3);
      expect(set, ROLE_PARAM, pre, "residual.norm2.weight", 1, B, 0, 0, 0);
      expect(set, ROLE_PARAM, pre, "residual.norm2.bias", 1, B, 0, 0, 0);
      expect(set, ROLE_PARAM, pre, "residual.conv3.weight", 4, C, B, 1, 1);
      expect(set, ROLE_PARAM, pre, "residual.norm3.weight", 1, C, 0, 0, 0);
      expect(set, ROLE_PARAM, pre, "residual.norm3.bias", 1, C, 0, 0, 0);
    }
  }

  for (int j = 0; j < cfg->num_convstream; j++) {
    snprintf(pre, sizeof pre, "decoder.convstream.convs.%d.conv.", j);
    snprintf(pre2, sizeof pre2, "decoder.convstream.convs.%d.batch_norm.", j);
    int in = j == 0 ? cfg->num_channels : cfg->convstream_hidden_sizes[j - 1];
    expect_conv_bn(set, pre, pre2, cfg->convstream_hidden_sizes[j], in);
  }
  for (int k = 0; k < cfg->num_fusion; k++) {
    snprintf(pre, sizeof pre, "decoder.fusion_blocks.%d.conv.conv.", k);
    snprintf(pre2, sizeof pre2, "decoder.fusion_blocks.%d.conv.batch_norm.", k);
    expect_conv_bn(set, pre, pre2, cfg->fusion_hidden_sizes[k], fusion_in_channels(cfg, k));
  }
  const char *head = "decoder.matting_head.matting_convs.";
  expect(set, ROLE_PARAM, head, "0.weight", 4, 16, cfg->fusion_hidden_sizes[cfg->num_fusion - 1], 3, 3);
  expect(set, ROLE_PARAM, head, "0.bias", 1, 16, 0, 0, 0);
  expect(set, ROLE_PARAM, head, "1.weight", 1, 16, 0, 0, 0);
  expect(set, ROLE_PARAM, head, "1.bias", 1, 16, 0, 0, 0);
  expect(set, ROLE_BN_STAT, head, "1.running_mean", 1, 16, 0, 0, 0);
  expect(set, ROLE_BN_STAT, head, "1.running_var", 1, 16, 0, 0, 0);
  expect(set, ROLE_COUNTER, head, "1.num_batches_tracked", 0, 0, 0, 0, 0);
  expect(set, ROLE_PARAM, head, "3.weight", 4, 1, 16, 1, 1);
  expect(set, ROLE_PARAM, head, "3.bias", 1, 1, 0, 0, 0);
}

/* ---- Checking the checkpoint against the set ------------------------------------------------------------ */

static void format_shape(char *buf, size_t n, int ndim, const int64_t *shape) {
  size_t len = (size_t)snprintf(buf, n, "[");
  for (int i = 0; i < ndim && len < n; i++)
    len += (size_t)snprintf(buf + len, n - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
  if (len < n) snprintf(buf + len, n - len, "]");
}

static int compare_expected_ptr(const void *a, const void *b) {
  return strcmp((*(const expected_tensor *const *)a)->name, (*(const expected_tensor *const *)b)->name);
}

static bool is_float(vm_dtype d) { return d == VM_DTYPE_F32 || d == VM_DTYPE_F16 || d == VM_DTYPE_BF16; }

/* Static names: the model outlives the safetensors header strings. */
static const char *float_dtype_name(vm_dtype d) {
  return d == VM_DTYPE_F16 ? "F16" : d == VM_DTYPE_BF16 ? "BF16" : "F32";
}

static bool shape_matches(const expected_tensor *e, const vm_st_tensor *t) {
  if (e->role == ROLE_COUNTER) return t->numel == 1 && t->ndim <= 1; /* a 0-d scalar; [1] is harmless too */
  if (e->ndim != t->ndim) return false;
  for (int i = 0; i < e->ndim; i++)
    if (e->shape[i] != t->shape[i]) return false;
  return true;
}

/* A message that lists the first problem of each kind, so a wrong config or a wrong file shows at once. */
typedef struct report {
  char text[sizeof(((vm_error *)0)->message)];
  size_t len;
  int kinds;
} report;

static void report_add(report *r, const char *fmt, ...) VM_PRINTF(2, 3);
static void report_add(report *r, const char *fmt, ...) {
  if (r->len >= sizeof r->text - 1) return;
  if (r->kinds++ > 0) r->len += (size_t)snprintf(r->text + r->len, sizeof r->text - r->len, "; ");
  if (r->len >= sizeof r->text - 1) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(r->text + r->len, sizeof r->text - r->len, fmt, ap);
  va_end(ap);
  if (n > 0) r->len += (size_t)n;
  if (r->len > sizeof r->text - 1) r->len = sizeof r->text - 1;
}

typedef struct check_result {
  int64_t num_parameters;
  const char *stored_dtype;
  int64_t max_numel;
} check_result;

static vm_status check_tensors(const expected_set *set, const vm_safetensors *st, check_result *res, vm_error *err) {
  const expected_tensor **sorted = malloc(sizeof *sorted * ((size_t)set->count + 1));
  if (!sorted) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory checking the checkpoint");
  for (int i = 0; i < set->count; i++) sorted[i] = &set->items[i];
  qsort(sorted, (size_t)set->count, sizeof *sorted, compare_expected_ptr);

  report rep = {.len = 0};
  char a[96], b[96];
  int missing = 0, shape_bad = 0, dtype_bad = 0, unexpected = 0;
  const expected_tensor *first_missing = NULL, *first_shape = NULL, *first_dtype = NULL;
  const vm_st_tensor *shape_t = NULL, *dtype_t = NULL, *first_unexpected = NULL;
  res->num_parameters = 0;
  res->stored_dtype = NULL;
  res->max_numel = 0;
  bool mixed = false;

  for (int i = 0; i < set->count; i++) {
    const expected_tensor *e = &set->items[i];
    const vm_st_tensor *t = vm_safetensors_find(st, e->name);
    if (!t) {
      if (e->role != ROLE_COUNTER && missing++ == 0) first_missing = e;
      continue;
    }
    if (!shape_matches(e, t)) {
      if (shape_bad++ == 0) first_shape = e, shape_t = t;
      continue;
    }
    if (e->role == ROLE_COUNTER) continue;
    if (!is_float(t->dtype)) {
      if (dtype_bad++ == 0) first_dtype = e, dtype_t = t;
      continue;
    }
    if (e->role == ROLE_PARAM) res->num_parameters += t->numel;
    if (t->numel > res->max_numel) res->max_numel = t->numel;
    if (!res->stored_dtype) res->stored_dtype = float_dtype_name(t->dtype);
    else if (strcmp(res->stored_dtype, float_dtype_name(t->dtype)) != 0) mixed = true;
  }
  for (int i = 0; i < st->count; i++) {
    expected_tensor key;
    snprintf(key.name, sizeof key.name, "%s", st->tensors[i].name);
    const expected_tensor *kp = &key;
    bool known = strlen(st->tensors[i].name) < sizeof key.name &&
                 bsearch(&kp, sorted, (size_t)set->count, sizeof *sorted, compare_expected_ptr) != NULL;
    if (!known && unexpected++ == 0) first_unexpected = &st->tensors[i];
  }
  free(sorted);

  if (first_missing) {
    format_shape(a, sizeof a, first_missing->ndim, first_missing->shape);
    report_add(&rep, "missing tensor %s %s", first_missing->name, a);
    if (missing > 1) report_add(&rep, "%d tensors missing in all", missing);
  }
  if (first_unexpected) {
    format_shape(a, sizeof a, first_unexpected->ndim, first_unexpected->shape);
    report_add(&rep, "unexpected tensor %.120s %s", first_unexpected->name, a);
    if (unexpected > 1) report_add(&rep, "%d unexpected tensors in all", unexpected);
  }
  if (first_shape) {
    format_shape(a, sizeof a, shape_t->ndim, shape_t->shape);
    format_shape(b, sizeof b, first_shape->ndim, first_shape->shape);
    report_add(&rep, "tensor %s has shape %s, the config expects %s", first_shape->name, a,
               first_shape->role == ROLE_COUNTER ? "a scalar" : b);
    if (shape_bad > 1) report_add(&rep, "%d shape mismatches in all", shape_bad);
  }
  if (first_dtype) {
    report_add(&rep, "tensor %s has dtype %s, expected F32, F16 or BF16", first_dtype->name, dtype_t->dtype_name);
    if (dtype_bad > 1) report_add(&rep, "%d dtype mismatches in all", dtype_bad);
  }
  if (rep.kinds > 0)
    return vm_fail(err, VM_ERR_MODEL, "the checkpoint does not match its config: %s", rep.text);
  if (mixed) res->stored_dtype = "mixed";
  else if (!res->stored_dtype) res->stored_dtype = "F32";
  return VM_OK;
}

/* ---- Converting into the engine's layouts --------------------------------------------------------------- */

/* Parameters start on 64-byte boundaries so vector loads of any slot are aligned. */
#define SLOT_ALIGN_FLOATS 16

/* Runs twice: once with storage NULL to size the single allocation, once to fill it. Every step takes its slot
 * in the same order both times. */
typedef struct filler {
  const vm_safetensors *st;
  float *storage;
  size_t used; /* floats */
  float *scratch;
  vm_error *err;
} filler;

static float *take(filler *f, vm_param *slot, int64_t numel, vm_param_kind kind) {
  size_t off = f->used;
  f->used += ((size_t)numel + SLOT_ALIGN_FLOATS - 1) / SLOT_ALIGN_FLOATS * SLOT_ALIGN_FLOATS;
  slot->numel = numel;
  slot->kind = kind;
  slot->data = f->storage ? f->storage + off : NULL;
  return slot->data;
}

static const vm_st_tensor *tensor(const filler *f, const char *prefix, const char *suffix) {
  char name[160];
  snprintf(name, sizeof name, "%s%s", prefix, suffix);
  return vm_safetensors_find(f->st, name);
}

/* Stored layout kept as it is: linear weights, biases, norms, rel-pos tables, 1x1 convs ([O,I,1,1] = [O,I]). */
static void fill_plain(filler *f, vm_param *slot, const vm_st_tensor *t, vm_param_kind kind) {
  float *dst = take(f, slot, t->numel, kind);
  if (dst) vm_safetensors_to_f32(f->st, t, dst);
}

/* OIHW -> [O, kh, kw, I], so that the reduction index is (ky*kw + kx)*I + ci as the NHWC kernels read it. */
static void permute_oihw(const float *src, float *dst, int64_t O, int64_t I, int64_t kh, int64_t kw,
                         const double *scale) {
  for (int64_t o = 0; o < O; o++)
    for (int64_t y = 0; y < kh; y++)
      for (int64_t x = 0; x < kw; x++)
        for (int64_t i = 0; i < I; i++) {
          float v = src[((o * I + i) * kh + y) * kw + x];
          dst[((o * kh + y) * kw + x) * I + i] = scale ? (float)((double)v * scale[o]) : v;
        }
}

static void fill_oihw(filler *f, vm_param *slot, const vm_st_tensor *t) {
  float *dst = take(f, slot, t->numel, VM_PARAM_MATRIX);
  if (!dst) return;
  vm_safetensors_to_f32(f->st, t, f->scratch);
  permute_oihw(f->scratch, dst, t->shape[0], t->shape[1], t->shape[2], t->shape[3], NULL);
}

/* [1, 1 + grid*grid, C] -> [grid*grid, C]: the cls row is never used. */
static void fill_position(filler *f, vm_param *slot, const vm_st_tensor *t) {
  const int64_t C = t->shape[2], rows = t->shape[1] - 1;
  float *dst = take(f, slot, rows * C, VM_PARAM_VECTOR);
  if (!dst) return;
  vm_safetensors_to_f32(f->st, t, f->scratch);
  memcpy(dst, f->scratch + C, sizeof *dst * (size_t)(rows * C));
}

/* Conv 3x3 followed by BatchNorm in eval mode: y = (conv(x) + b - mean) / sqrt(var + eps) * gamma + beta, folded
 * into w' = w * s and b' = beta - mean * s + b * s with s = gamma / sqrt(var + eps), computed in double. */
static vm_status fill_conv_bn(filler *f, vm_param *w_slot, vm_param *b_slot, const char *conv_prefix,
                              const char *bias_name, const char *bn_prefix, double eps) {
  const vm_st_tensor *w = tensor(f, conv_prefix, "weight");
  const int64_t O = w->shape[0];
  float *wd = take(f, w_slot, w->numel, VM_PARAM_MATRIX);
  float *bd = take(f, b_slot, O, VM_PARAM_VECTOR);
  if (!wd) return VM_OK;

  const vm_st_tensor *parts[5] = {tensor(f, bn_prefix, "weight"), tensor(f, bn_prefix, "bias"),
                                  tensor(f, bn_prefix, "running_mean"), tensor(f, bn_prefix, "running_var"),
                                  bias_name ? tensor(f, conv_prefix, bias_name) : NULL};
  float *vals = malloc(sizeof *vals * (size_t)O * 5);
  double *scale = malloc(sizeof *scale * (size_t)O);
  if (!vals || !scale) {
    free(vals);
    free(scale);
    return vm_fail(f->err, VM_ERR_OUT_OF_MEMORY, "out of memory folding BatchNorm");
  }
  for (int k = 0; k < 5; k++) {
    if (parts[k]) vm_safetensors_to_f32(f->st, parts[k], vals + k * O);
    else memset(vals + k * O, 0, sizeof *vals * (size_t)O);
  }
  const float *gamma = vals, *beta = vals + O, *mean = vals + 2 * O, *var = vals + 3 * O, *cb = vals + 4 * O;
  vm_status s = VM_OK;
  for (int64_t o = 0; o < O; o++) {
    double denom = (double)var[o] + eps;
    if (!(denom > 0.0)) {
      s = vm_fail(f->err, VM_ERR_MODEL, "tensor %srunning_var[%lld] is %g: with eps %g the BatchNorm divides by "
                  "the square root of a value that is not positive", bn_prefix, (long long)o, (double)var[o], eps);
      break;
    }
    scale[o] = (double)gamma[o] / sqrt(denom);
    bd[o] = (float)((double)beta[o] - (double)mean[o] * scale[o] + (double)cb[o] * scale[o]);
  }
  if (s == VM_OK) {
    vm_safetensors_to_f32(f->st, w, f->scratch);
    permute_oihw(f->scratch, wd, O, w->shape[1], w->shape[2], w->shape[3], scale);
  }
  free(vals);
  free(scale);
  return s;
}

static vm_status fill_all(filler *f, const vm_config *cfg, vm_params *P) {
  char pre[96], pre2[96];
  const vm_param_kind MAT = VM_PARAM_MATRIX, VEC = VM_PARAM_VECTOR;

  if (cfg->use_absolute_position_embeddings)
    fill_position(f, &P->stem[VM_STEM_POS], tensor(f, "backbone.embeddings.", "position_embeddings"));
  fill_oihw(f, &P->stem[VM_STEM_PATCH_W], tensor(f, "backbone.embeddings.projection.", "weight"));
  fill_plain(f, &P->stem[VM_STEM_PATCH_B], tensor(f, "backbone.embeddings.projection.", "bias"), VEC);

  for (int i = 0; i < cfg->num_hidden_layers; i++) {
    vm_param *L = P->layer[i];
    snprintf(pre, sizeof pre, "backbone.encoder.layer.%d.", i);
    fill_plain(f, &L[VM_L_NORM1_W], tensor(f, pre, "norm1.weight"), VEC);
    fill_plain(f, &L[VM_L_NORM1_B], tensor(f, pre, "norm1.bias"), VEC);
    fill_plain(f, &L[VM_L_QKV_W], tensor(f, pre, "attention.qkv.weight"), MAT);
    if (cfg->qkv_bias) fill_plain(f, &L[VM_L_QKV_B], tensor(f, pre, "attention.qkv.bias"), VEC);
    fill_plain(f, &L[VM_L_PROJ_W], tensor(f, pre, "attention.proj.weight"), MAT);
    fill_plain(f, &L[VM_L_PROJ_B], tensor(f, pre, "attention.proj.bias"), VEC);
    if (cfg->use_relative_position_embeddings) {
      fill_plain(f, &L[VM_L_REL_H], tensor(f, pre, "attention.rel_pos_h"), VEC);
      fill_plain(f, &L[VM_L_REL_W], tensor(f, pre, "attention.rel_pos_w"), VEC);
    }
    fill_plain(f, &L[VM_L_NORM2_W], tensor(f, pre, "norm2.weight"), VEC);
    fill_plain(f, &L[VM_L_NORM2_B], tensor(f, pre, "norm2.bias"), VEC);
    fill_plain(f, &L[VM_L_FC1_W], tensor(f, pre, "mlp.fc1.weight"), MAT);
    fill_plain(f, &L[VM_L_FC1_B], tensor(f, pre, "mlp.fc1.bias"), VEC);
    fill_plain(f, &L[VM_L_FC2_W], tensor(f, pre, "mlp.fc2.weight"), MAT);
    fill_plain(f, &L[VM_L_FC2_B], tensor(f, pre, "mlp.fc2.bias"), VEC);
    if (cfg->residual_block[i]) {
      fill_plain(f, &L[VM_L_RES_CONV1], tensor(f, pre, "residual.conv1.weight"), MAT);
      fill_plain(f, &L[VM_L_RES_NORM1_W], tensor(f, pre, "residual.norm1.weight"), VEC);
      fill_plain(f, &L[VM_L_RES_NORM1_B], tensor(f, pre, "residual.norm1.bias"), VEC);
      fill_oihw(f, &L[VM_L_RES_CONV2], tensor(f, pre, "residual.conv2.weight"));
      fill_plain(f, &L[VM_L_RES_NORM2_W], tensor(f, pre, "residual.norm2.weight"), VEC);
      fill_plain(f, &L[VM_L_RES_NORM2_B], tensor(f, pre, "residual.norm2.bias"), VEC);
      fill_plain(f, &L[VM_L_RES_CONV3], tensor(f, pre, "residual.conv3.weight"), MAT);
      fill_plain(f, &L[VM_L_RES_NORM3_W], tensor(f, pre, "residual.norm3.weight"), VEC);
      fill_plain(f, &L[VM_L_RES_NORM3_B], tensor(f, pre, "residual.norm3.bias"), VEC);
    }
  }

  vm_status s = VM_OK;
  for (int j = 0; j < cfg->num_convstream && s == VM_OK; j++) {
    snprintf(pre, sizeof pre, "decoder.convstream.convs.%d.conv.", j);
    snprintf(pre2, sizeof pre2, "decoder.convstream.convs.%d.batch_norm.", j);
    s = fill_conv_bn(f, &P->convstream[j][VM_CONV_W], &P->convstream[j][VM_CONV_B], pre, NULL, pre2,
                     cfg->batch_norm_eps);
  }
  for (int k = 0; k < cfg->num_fusion && s == VM_OK; k++) {
    snprintf(pre, sizeof pre, "decoder.fusion_blocks.%d.conv.conv.", k);
    snprintf(pre2, sizeof pre2, "decoder.fusion_blocks.%d.conv.batch_norm.", k);
    s = fill_conv_bn(f, &P->fusion[k][VM_CONV_W], &P->fusion[k][VM_CONV_B], pre, NULL, pre2, cfg->batch_norm_eps);
  }
  if (s != VM_OK) return s;
  /* The head's BatchNorm2d(16) is built without an eps argument: PyTorch's 1e-5, whatever batch_norm_eps says. */
  s = fill_conv_bn(f, &P->head[VM_HEAD_CONV_W], &P->head[VM_HEAD_CONV_B], "decoder.matting_head.matting_convs.0.",
                   "bias", "decoder.matting_head.matting_convs.1.", 1e-5);
  if (s != VM_OK) return s;
  fill_plain(f, &P->head[VM_HEAD_OUT_W], tensor(f, "decoder.matting_head.matting_convs.3.", "weight"), MAT);
  fill_plain(f, &P->head[VM_HEAD_OUT_B], tensor(f, "decoder.matting_head.matting_convs.3.", "bias"), VEC);
  return VM_OK;
}

vm_status vm_model_build(const vm_config *cfg, const vm_safetensors *st, struct vm_model *model, vm_error *err) {
  if (!cfg || !st || !model) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_model_build: NULL argument");
  memset(model, 0, sizeof *model);

  expected_set set = {0};
  build_expected_set(cfg, &set);
  if (set.out_of_memory) {
    free(set.items);
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory checking the checkpoint");
  }
  check_result res = {0};
  vm_status s = check_tensors(&set, st, &res, err);
  /* Then the values: a file that matches its config can still hold NaN, infinities or absurd numbers, which would
   * give a constant or a plausible-looking but meaningless alpha. */
  for (int i = 0; i < set.count && s == VM_OK; i++) {
    const expected_tensor *e = &set.items[i];
    const vm_st_tensor *t = e->role == ROLE_COUNTER ? NULL : vm_safetensors_find(st, e->name);
    if (t)
      s = vm_tensor_check_values(
          st, t, e->role == ROLE_BN_STAT ? VM_BN_STATISTIC_MAGNITUDE_MAX : VM_WEIGHT_MAGNITUDE_MAX, err);
  }
  free(set.items);
  if (s != VM_OK) return s;

  model->cfg = *cfg;
  s = vm_params_init(&model->params, cfg, err);
  if (s != VM_OK) {
    memset(model, 0, sizeof *model);
    return s;
  }
  filler f = {.st = st, .err = err};
  s = fill_all(&f, cfg, &model->params); /* sizing pass: no data is touched */
  if (s == VM_OK) {
    size_t floats = f.used, bytes = sizeof(float) * (floats ? floats : 1);
    /* one block for every weight: in huge pages where it is large (huge_pages.c), freed with free() either way */
    model->storage = vm_huge_pages_wanted() && bytes >= VM_HUGE_PAGES_FROM ? vm_huge_pages_alloc(&bytes)
                                                                            : malloc(bytes);
    f.scratch = malloc(sizeof(float) * (size_t)(res.max_numel ? res.max_numel : 1));
    if (!model->storage || !f.scratch) {
      s = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory for the model weights (%zu MB)",
                  floats * sizeof(float) >> 20);
    } else {
      /* Alignment padding between slots is zeroed so the block has no uninitialised bytes. */
      memset(model->storage, 0, bytes);
      f.storage = model->storage;
      f.used = 0;
      s = fill_all(&f, cfg, &model->params);
    }
    free(f.scratch);
  }
  if (s != VM_OK) {
    vm_model_destroy(model);
    return s;
  }
  model->num_parameters = res.num_parameters;
  model->stored_dtype = res.stored_dtype;
  return VM_OK;
}

void vm_model_destroy(struct vm_model *model) {
  if (!model) return;
  free(model->storage);
  vm_params_release_slots(&model->params);
  memset(model, 0, sizeof *model);
}
