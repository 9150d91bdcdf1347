/* Checks vm_model_build: every parameter lands in the documented layout (recomputed here from the raw values the
 * writer stored: transposes, the dropped cls row, BatchNorm folding in long double), F16/BF16 weights convert
 * exactly, and a checkpoint that disagrees with its config is refused naming the tensor. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint_writer.h"
#include "model.h"

/* Serialises `set`, parses it and `config_text` (or the writer's config for `c`), builds the model. */
static vm_status build(const ckw_config *c, const char *config_text, const ckw_set *set, struct vm_model *m,
                       vm_error *err) {
  char *own = config_text ? NULL : ckw_config_json(c);
  vm_config cfg;
  vm_status s = vm_config_parse(config_text ? config_text : own, strlen(config_text ? config_text : own), &cfg, err);
  free(own);
  if (s != VM_OK) return s;
  uint8_t *bytes;
  size_t size;
  if (!ckw_serialize(set, &bytes, &size)) return VM_ERR_OUT_OF_MEMORY;
  vm_safetensors st;
  s = vm_safetensors_parse(bytes, size, &st, err);
  if (s != VM_OK) return s;
  s = vm_model_build(&cfg, &st, m, err);
  vm_safetensors_close(&st);
  return s;
}

/* ---- expected layouts, from the raw values -------------------------------------------------------------- */

typedef struct expectation {
  double *v;
  int64_t n;
  bool exact;
} expectation;

static expectation same(const ckw_tensor *t) {
  expectation e = {malloc(sizeof(double) * (size_t)t->numel), t->numel, true};
  memcpy(e.v, t->values, sizeof(double) * (size_t)t->numel);
  return e;
}

/* OIHW -> [O, H, W, I] */
static expectation to_ohwi(const ckw_tensor *t) {
  const int64_t O = t->shape[0], I = t->shape[1], H = t->shape[2], W = t->shape[3];
  expectation e = {malloc(sizeof(double) * (size_t)t->numel), t->numel, true};
  for (int64_t o = 0; o < O; o++)
    for (int64_t i = 0; i < I; i++)
      for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++) e.v[((o * H + y) * W + x) * I + i] = t->values[((o * I + i) * H + y) * W + x];
  return e;
}

static expectation drop_cls_row(const ckw_tensor *t) {
  const int64_t C = t->shape[2], rows = t->shape[1] - 1;
  expectation e = {malloc(sizeof(double) * (size_t)(rows * C)), rows * C, true};
  for (int64_t r = 0; r < rows; r++)
    for (int64_t ch = 0; ch < C; ch++) e.v[r * C + ch] = t->values[(r + 1) * C + ch];
  return e;
}

/* BatchNorm folded into the preceding conv, evaluated in long double straight from the eval-mode formula
 * y = (conv(x) + b - mean) / sqrt(var + eps) * gamma + beta. */
static void folded(ckw_set *set, const char *conv, const char *bias, const char *bn, double eps, expectation *w,
                   expectation *b) {
  char name[256];
  snprintf(name, sizeof name, "%sweight", conv);
  const ckw_tensor *wt = ckw_find(set, name);
  const ckw_tensor *cb = NULL;
  if (bias) {
    snprintf(name, sizeof name, "%s%s", conv, bias);
    cb = ckw_find(set, name);
  }
  const char *parts[4] = {"weight", "bias", "running_mean", "running_var"};
  const ckw_tensor *p[4];
  for (int k = 0; k < 4; k++) {
    snprintf(name, sizeof name, "%s%s", bn, parts[k]);
    p[k] = ckw_find(set, name);
  }
  *w = to_ohwi(wt);
  w->exact = false;
  const int64_t O = wt->shape[0], per = wt->numel / O;
  b->v = malloc(sizeof(double) * (size_t)O);
  b->n = O;
  b->exact = false;
  for (int64_t o = 0; o < O; o++) {
    long double scale = (long double)p[0]->values[o] / sqrtl((long double)p[3]->values[o] + (long double)eps);
    for (int64_t k = 0; k < per; k++) w->v[o * per + k] = (double)((long double)w->v[o * per + k] * scale);
    long double conv_bias = cb ? (long double)cb->values[o] : 0.0L;
    b->v[o] = (double)((conv_bias - (long double)p[2]->values[o]) * scale + (long double)p[1]->values[o]);
  }
}

static bool close_to(float got, double want, bool exact) {
  if (exact) return (double)got == want;
  return fabs((double)got - want) <= 1.2e-7 * fabs(want) + 1e-30;
}

/* Compares a slot with an expectation (and frees the expectation). Returns the number of mismatches. */
static int compare(const vm_param *slot, expectation e, vm_param_kind kind, const char *label, int *checked) {
  int bad = 0;
  if (!slot->data || slot->numel != e.n || slot->kind != kind) {
    bad = 1;
    printf("     %s: slot %s, numel %lld (expected %lld), kind %d (expected %d)\n", label,
           slot->data ? "present" : "absent", (long long)slot->numel, (long long)e.n, slot->kind, kind);
  } else {
    const float *d = slot->data;
    for (int64_t i = 0; i < e.n; i++)
      if (!close_to(d[i], e.v[i], e.exact)) {
        if (bad++ == 0)
          printf("     %s[%lld]: got %.9g, expected %.9g\n", label, (long long)i, (double)d[i], e.v[i]);
      }
  }
  free(e.v);
  (*checked)++;
  return bad;
}

static bool contains(const int *list, int n, int v) {
  for (int i = 0; i < n; i++)
    if (list[i] == v) return true;
  return false;
}

/* Every slot of the model against the writer's raw values. */
static void check_layouts(checker *c, const char *label, const ckw_config *cc, ckw_set *set,
                          const struct vm_model *m) {
  const vm_params *P = &m->params;
  const vm_param_kind MAT = VM_PARAM_MATRIX, VEC = VM_PARAM_VECTOR;
  int bad = 0, checked = 0, absent_ok = 0, absent_bad = 0;
  char name[256], pre[96];
#define T(n) ckw_find(set, n)
#define TP(suffix) (snprintf(name, sizeof name, "%s%s", pre, suffix), ckw_find(set, name))

  if (cc->use_abs)
    bad += compare(&P->stem[VM_STEM_POS], drop_cls_row(T("backbone.embeddings.position_embeddings")), VEC,
                   "position_embeddings (cls row dropped)", &checked);
  bad += compare(&P->stem[VM_STEM_PATCH_W], to_ohwi(T("backbone.embeddings.projection.weight")), MAT,
                 "patch weight [C,p,p,4]", &checked);
  bad += compare(&P->stem[VM_STEM_PATCH_B], same(T("backbone.embeddings.projection.bias")), VEC, "patch bias",
                 &checked);
  for (int i = 0; i < cc->layers; i++) {
    vm_param *L = P->layer[i];
    snprintf(pre, sizeof pre, "backbone.encoder.layer.%d.", i);
    static const struct { int slot; const char *suffix; bool matrix; } direct[] = {
        {VM_L_NORM1_W, "norm1.weight", false}, {VM_L_NORM1_B, "norm1.bias", false},
        {VM_L_QKV_W, "attention.qkv.weight", true}, {VM_L_QKV_B, "attention.qkv.bias", false},
        {VM_L_PROJ_W, "attention.proj.weight", true}, {VM_L_PROJ_B, "attention.proj.bias", false},
        {VM_L_REL_H, "attention.rel_pos_h", false}, {VM_L_REL_W, "attention.rel_pos_w", false},
        {VM_L_NORM2_W, "norm2.weight", false}, {VM_L_NORM2_B, "norm2.bias", false},
        {VM_L_FC1_W, "mlp.fc1.weight", true}, {VM_L_FC1_B, "mlp.fc1.bias", false},
        {VM_L_FC2_W, "mlp.fc2.weight", true}, {VM_L_FC2_B, "mlp.fc2.bias", false},
        {VM_L_RES_CONV1, "residual.conv1.weight", true}, {VM_L_RES_NORM1_W, "residual.norm1.weight", false},
        {VM_L_RES_NORM1_B, "residual.norm1.bias", false}, {VM_L_RES_NORM2_W, "residual.norm2.weight", false},
        {VM_L_RES_NORM2_B, "residual.norm2.bias", false}, {VM_L_RES_CONV3, "residual.conv3.weight", true},
        {VM_L_RES_NORM3_W, "residual.norm3.weight", false}, {VM_L_RES_NORM3_B, "residual.norm3.bias", false},
    };
    for (size_t k = 0; k < sizeof direct / sizeof direct[0]; k++) {
      const ckw_tensor *t = TP(direct[k].suffix);
      if (t) {
        bad += compare(&L[direct[k].slot], same(t), direct[k].matrix ? MAT : VEC, name, &checked);
      } else if (L[direct[k].slot].data == NULL) {
        absent_ok++;
      } else {
        absent_bad++;
        printf("     %s: the checkpoint has no such tensor but the slot is filled\n", name);
      }
    }
    const ckw_tensor *conv2 = TP("residual.conv2.weight");
    if (conv2) bad += compare(&L[VM_L_RES_CONV2], to_ohwi(conv2), MAT, name, &checked);
    else if (L[VM_L_RES_CONV2].data) absent_bad++;
    else absent_ok++;
    bool res = contains(cc->residual_blocks, cc->n_residual, i);
    if (res != (conv2 != NULL)) absent_bad++;
  }
  expectation w, b;
  for (int j = 0; j < cc->n_conv; j++) {
    char conv[96], bn[96];
    snprintf(conv, sizeof conv, "decoder.convstream.convs.%d.conv.", j);
    snprintf(bn, sizeof bn, "decoder.convstream.convs.%d.batch_norm.", j);
    folded(set, conv, NULL, bn, cc->bn_eps, &w, &b);
    bad += compare(&P->convstream[j][VM_CONV_W], w, MAT, "convstream weight (BN folded)", &checked);
    bad += compare(&P->convstream[j][VM_CONV_B], b, VEC, "convstream bias (BN folded)", &checked);
  }
  for (int k = 0; k <= cc->n_conv; k++) {
    char conv[96], bn[96];
    snprintf(conv, sizeof conv, "decoder.fusion_blocks.%d.conv.conv.", k);
    snprintf(bn, sizeof bn, "decoder.fusion_blocks.%d.conv.batch_norm.", k);
    folded(set, conv, NULL, bn, cc->bn_eps, &w, &b);
    bad += compare(&P->fusion[k][VM_CONV_W], w, MAT, "fusion weight (BN folded)", &checked);
    bad += compare(&P->fusion[k][VM_CONV_B], b, VEC, "fusion bias (BN folded)", &checked);
  }
  folded(set, "decoder.matting_head.matting_convs.0.", "bias", "decoder.matting_head.matting_convs.1.", 1e-5, &w,
         &b);
  bad += compare(&P->head[VM_HEAD_CONV_W], w, MAT, "head conv weight (BN folded, eps 1e-5)", &checked);
  bad += compare(&P->head[VM_HEAD_CONV_B], b, VEC, "head conv bias (conv bias + BN folded, eps 1e-5)", &checked);
  bad += compare(&P->head[VM_HEAD_OUT_W], same(T("decoder.matting_head.matting_convs.3.weight")), MAT,
                 "head 1x1 weight", &checked);
  bad += compare(&P->head[VM_HEAD_OUT_B], same(T("decoder.matting_head.matting_convs.3.bias")), VEC,
                 "head 1x1 bias", &checked);
  if (!cc->use_abs) {
    if (P->stem[VM_STEM_POS].data) absent_bad++;
    else absent_ok++;
  }
#undef T
#undef TP
  check_true(c, bad == 0 && absent_bad == 0,
             "%s: %d parameter slots match the raw values (transposes, cls row, BN folds), %d absent slots empty",
             label, checked, absent_ok);
  check_true(c, m->num_parameters == ckw_num_parameters(set),
             "%s: num_parameters %lld = the writer's count of trainable tensors %lld", label,
             (long long)m->num_parameters, (long long)ckw_num_parameters(set));
}

/* ---- the checks ----------------------------------------------------------------------------------------- */

static void check_valid(checker *c, const char *label, ckw_config cc, const char *dtype, const char *want_dtype) {
  ckw_set set;
  ckw_build(&cc, dtype, 1234, &set);
  struct vm_model m;
  vm_error err = {0};
  vm_status s = build(&cc, NULL, &set, &m, &err);
  check_status(c, label, s, &err, VM_OK, NULL, NULL);
  if (s == VM_OK) {
    check_layouts(c, label, &cc, &set, &m);
    check_true(c, strcmp(m.stored_dtype, want_dtype) == 0, "%s: stored_dtype %s", label, m.stored_dtype);
    vm_model_destroy(&m);
  }
  ckw_free(&set);
}

typedef void (*set_edit)(ckw_set *set, const ckw_config *cc);

static void expect_model_error(checker *c, const char *what, set_edit edit, vm_status want, const char *needle1,
                               const char *needle2) {
  ckw_config cc = ckw_tiny();
  ckw_set set;
  ckw_build(&cc, "F32", 99, &set);
  edit(&set, &cc);
  struct vm_model m;
  vm_error err = {0};
  vm_status s = build(&cc, NULL, &set, &m, &err);
  check_status(c, what, s, &err, want, needle1, needle2);
  if (s == VM_OK) vm_model_destroy(&m);
  ckw_free(&set);
}

static void drop_fc2_bias(ckw_set *set, const ckw_config *cc) {
  (void)cc;
  ckw_remove(set, "backbone.encoder.layer.1.mlp.fc2.bias");
}
static void add_extra(ckw_set *set, const ckw_config *cc) {
  (void)cc;
  ckw_put(set, "decoder.extra_head.weight", "F32", CKW_EXTRA, 1, (const int64_t[]){3});
}
static void reshape_qkv(ckw_set *set, const ckw_config *cc) {
  ckw_put(set, "backbone.encoder.layer.0.attention.qkv.weight", "F32", CKW_PARAM, 2,
          (const int64_t[]){3 * cc->hidden, cc->hidden + 1});
}
static void int_norm(ckw_set *set, const ckw_config *cc) {
  ckw_put(set, "backbone.encoder.layer.2.norm1.weight", "I32", CKW_PARAM, 1, (const int64_t[]){cc->hidden});
}
static void f64_pos(ckw_set *set, const ckw_config *cc) {
  int64_t g = cc->pretrain_image_size / cc->patch;
  ckw_put(set, "backbone.embeddings.position_embeddings", "F64", CKW_PARAM, 3, (const int64_t[]){1, g * g + 1, cc->hidden});
}
static void several_problems(ckw_set *set, const ckw_config *cc) {
  drop_fc2_bias(set, cc);
  add_extra(set, cc);
  reshape_qkv(set, cc);
  ckw_remove(set, "backbone.encoder.layer.0.norm2.bias");
}
static void no_counters(ckw_set *set, const ckw_config *cc) {
  (void)cc;
  for (int i = set->count - 1; i >= 0; i--)
    if (strstr(set->t[i].name, "num_batches_tracked")) ckw_remove(set, set->t[i].name);
}
static void float_counter(ckw_set *set, const ckw_config *cc) {
  (void)cc;
  ckw_put(set, "decoder.convstream.convs.0.batch_norm.num_batches_tracked", "F32", CKW_COUNTER, 0, NULL);
}
static void vector_counter(ckw_set *set, const ckw_config *cc) {
  (void)cc;
  ckw_put(set, "decoder.convstream.convs.0.batch_norm.num_batches_tracked", "I64", CKW_COUNTER, 1,
          (const int64_t[]){2});
}
static void negative_variance(ckw_set *set, const ckw_config *cc) {
  (void)cc;
  ckw_tensor *t = ckw_find(set, "decoder.fusion_blocks.1.conv.batch_norm.running_var");
  float v = -0.5f;
  memcpy(t->bytes + 4 * 3, &v, 4);
}
static void missing_rel_pos(ckw_set *set, const ckw_config *cc) {
  (void)cc;
  ckw_remove(set, "backbone.encoder.layer.1.attention.rel_pos_w"); /* layer 1 is global: 2 * 16 / 4 - 1 rows */
}
static void missing_head(ckw_set *set, const ckw_config *cc) {
  (void)cc;
  ckw_remove(set, "decoder.matting_head.matting_convs.3.bias");
}

static void check_mismatched_config(checker *c) {
  /* The right file with a config for another model. */
  ckw_config cc = ckw_tiny(), other = ckw_tiny();
  ckw_set set;
  ckw_build(&cc, "F32", 5, &set);
  struct vm_model m;
  vm_error err = {0};
  other.hidden = 64;
  char *text = ckw_config_json(&other);
  check_status(c, "config hidden_size 64 for a hidden 32 checkpoint", build(&other, text, &set, &m, &err), &err,
               VM_ERR_MODEL, "backbone.embeddings.position_embeddings has shape [1, 10, 32]", "[1, 10, 64]");
  free(text);
  other = ckw_tiny();
  other.qkv_bias = false;
  text = ckw_config_json(&other);
  check_status(c, "config qkv_bias false for a checkpoint with qkv biases", build(&other, text, &set, &m, &err), &err,
               VM_ERR_MODEL, "unexpected tensor backbone.encoder.layer.0.attention.qkv.bias", NULL);
  free(text);
  other = ckw_tiny();
  other.residual_blocks[0] = 2;
  text = ckw_config_json(&other);
  check_status(c, "config residual block on layer 2 instead of 1", build(&other, text, &set, &m, &err), &err,
               VM_ERR_MODEL, "missing tensor backbone.encoder.layer.2.residual", "unexpected tensor backbone.encoder.layer.1.residual");
  free(text);
  other = ckw_tiny();
  other.window_size = 3; /* windowed rel-pos tables of 5 rows instead of 3 */
  text = ckw_config_json(&other);
  check_status(c, "config window_size 3 for window 2 rel-pos tables", build(&other, text, &set, &m, &err), &err,
               VM_ERR_MODEL, "rel_pos", "[5, 16]");
  free(text);
  ckw_free(&set);
}

static void check_options(checker *c) {
  ckw_config cc = ckw_tiny();
  cc.qkv_bias = false;
  cc.use_abs = false;
  cc.use_rel = false;
  check_valid(c, "tiny F32 without qkv bias, abs-pos or rel-pos", cc, "F32", "F32");

  cc = ckw_tiny();
  cc.out_stage = 1;
  ckw_set set;
  ckw_build(&cc, "F32", 7, &set);
  struct vm_model m;
  vm_error err = {0};
  vm_status s = build(&cc, NULL, &set, &m, &err);
  check_status(c, "tiny with out_features [stage1]", s, &err, VM_OK, NULL, NULL);
  if (s == VM_OK) {
    check_true(c, m.cfg.num_layers_run == 1 && m.params.num_layers == 3 && m.params.layer[2][VM_L_FC2_W].data,
               "stage1 runs 1 layer; all 3 layers are still loaded");
    vm_model_destroy(&m);
  }
  /* One tensor in BF16 among F32 ones. */
  ckw_put(&set, "decoder.matting_head.matting_convs.3.bias", "BF16", CKW_PARAM, 1, (const int64_t[]){1});
  s = build(&cc, NULL, &set, &m, &err);
  check_status(c, "one BF16 tensor among F32", s, &err, VM_OK, NULL, NULL);
  if (s == VM_OK) {
    check_true(c, strcmp(m.stored_dtype, "mixed") == 0, "stored_dtype is \"mixed\" (got %s)", m.stored_dtype);
    check_true(c, (double)((float *)m.params.head[VM_HEAD_OUT_B].data)[0] ==
                      ckw_find(&set, "decoder.matting_head.matting_convs.3.bias")->values[0],
               "the BF16 tensor converts exactly");
    vm_model_destroy(&m);
  }
  ckw_free(&set);
}

int main(void) {
  checker c = {0};
  check_valid(&c, "tiny F32", ckw_tiny(), "F32", "F32");
  check_valid(&c, "tiny F16", ckw_tiny(), "F16", "F16");
  check_valid(&c, "tiny BF16", ckw_tiny(), "BF16", "BF16");
  ckw_config wide = ckw_tiny();
  wide.hidden = 48, wide.heads = 3, wide.mlp_ratio = 2.5, wide.n_conv = 2, wide.patch = 8;
  wide.conv[0] = 6, wide.conv[1] = 10, wide.fusion[0] = 12, wide.fusion[1] = 9, wide.fusion[2] = 5;
  wide.image_size = 40, wide.pretrain_image_size = 24, wide.window_size = 3;
  check_valid(&c, "tiny F32 with odd sizes (2 convstream stages, mlp_ratio 2.5)", wide, "F32", "F32");
  check_options(&c);

  expect_model_error(&c, "missing tensor", drop_fc2_bias, VM_ERR_MODEL,
                     "missing tensor backbone.encoder.layer.1.mlp.fc2.bias [32]", NULL);
  expect_model_error(&c, "missing rel-pos table", missing_rel_pos, VM_ERR_MODEL,
                     "backbone.encoder.layer.1.attention.rel_pos_w [7, 16]", NULL);
  expect_model_error(&c, "missing head bias", missing_head, VM_ERR_MODEL, "decoder.matting_head.matting_convs.3.bias",
                     NULL);
  expect_model_error(&c, "unexpected tensor", add_extra, VM_ERR_MODEL, "unexpected tensor decoder.extra_head.weight [3]",
                     NULL);
  expect_model_error(&c, "shape mismatch", reshape_qkv, VM_ERR_MODEL,
                     "backbone.encoder.layer.0.attention.qkv.weight has shape [96, 33]", "expects [96, 32]");
  expect_model_error(&c, "integer dtype for a parameter", int_norm, VM_ERR_MODEL,
                     "backbone.encoder.layer.2.norm1.weight has dtype I32", NULL);
  expect_model_error(&c, "F64 position embeddings", f64_pos, VM_ERR_MODEL, "position_embeddings has dtype F64", NULL);
  expect_model_error(&c, "several problems at once", several_problems, VM_ERR_MODEL, "2 tensors missing",
                     "unexpected tensor decoder.extra_head.weight");
  expect_model_error(&c, "no num_batches_tracked at all", no_counters, VM_OK, NULL, NULL);
  expect_model_error(&c, "num_batches_tracked stored as F32", float_counter, VM_OK, NULL, NULL);
  expect_model_error(&c, "num_batches_tracked with 2 values", vector_counter, VM_ERR_MODEL,
                     "decoder.convstream.convs.0.batch_norm.num_batches_tracked", "scalar");
  expect_model_error(&c, "negative running_var", negative_variance, VM_ERR_MODEL,
                     "decoder.fusion_blocks.1.conv.batch_norm.running_var[3]", NULL);
  check_mismatched_config(&c);
  return check_finish(&c, "test_weights");
}
