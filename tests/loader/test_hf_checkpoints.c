/* Checks the loader on checkpoints written by transformers 5.17 itself (data/tiny, data/fixtures/model-{bf16,f16}):
 * the test writer's tensor set equals the real file's (so the synthetic checkpoints of the other tests have the
 * real names and shapes), the three load, and the F16/BF16 copies hold the F32 weights rounded to nearest-even.
 * Usage: test_hf_checkpoints DATA_DIR (exits 77, "skipped", when the folder is missing). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "checkpoint_writer.h"
#include "model.h"

/* data/tiny/config.json, spelled as a ckw_config. */
static ckw_config hf_tiny(void) {
  ckw_config c = {
      .hidden = 64, .heads = 2, .layers = 4, .patch = 16, .image_size = 512, .pretrain_image_size = 224,
      .window_size = 14, .num_channels = 4, .mlp_ratio = 2.0,
      .n_window = 2, .window_blocks = {0, 2}, .n_residual = 2, .residual_blocks = {1, 3},
      .qkv_bias = true, .use_abs = true, .use_rel = true, .out_stage = 4,
      .n_conv = 3, .conv = {16, 24, 32}, .fusion = {48, 32, 24, 8}, .bn_eps = 1e-5,
  };
  return c;
}

/* Round-to-nearest-even of a float to a format with `bits` significand bits, smallest normal exponent `emin` and
 * largest finite value `max`, done arithmetically (scale to an integer quantum, nearbyint, scale back). */
static double round_to_format(float xf, int bits, int emin, double max) {
  double x = xf;
  if (x == 0 || !isfinite(x)) return x;
  int e;
  frexp(x, &e); /* x = m * 2^e, 0.5 <= |m| < 1 */
  if (e - 1 < emin) e = emin + 1;
  double q = ldexp(1.0, e - bits);
  double r = nearbyint(x / q) * q;
  if (fabs(r) > max) r = copysign(INFINITY, x);
  return r;
}

static double to_bf16(float x) { return round_to_format(x, 8, -126, 3.3895313892515355e38); }
static double to_f16(float x) { return round_to_format(x, 11, -14, 65504.0); }

static void check_tensor_set(checker *c, const char *data) {
  char path[4200];
  snprintf(path, sizeof path, "%s/tiny/model.safetensors", data);
  vm_safetensors st;
  vm_error err = {0};
  vm_status s = vm_safetensors_open(path, &st, &err);
  check_status(c, "read data/tiny/model.safetensors (saved by transformers)", s, &err, VM_OK, NULL, NULL);
  if (s != VM_OK) return;
  ckw_config cc = hf_tiny();
  ckw_set set;
  ckw_build(&cc, "F32", 1, &set);
  int missing = 0, wrong = 0, extra = 0;
  for (int i = 0; i < set.count; i++) {
    const ckw_tensor *w = &set.t[i];
    const vm_st_tensor *t = vm_safetensors_find(&st, w->name);
    if (!t) {
      if (missing++ == 0) printf("     the real file lacks %s\n", w->name);
      continue;
    }
    bool same = t->ndim == w->ndim && strcmp(t->dtype_name, w->dtype) == 0;
    for (int d = 0; same && d < w->ndim; d++) same = t->shape[d] == w->shape[d];
    if (!same && wrong++ == 0) printf("     %s differs in shape or dtype (%s)\n", w->name, t->dtype_name);
  }
  for (int i = 0; i < st.count; i++)
    if (!ckw_find(&set, st.tensors[i].name) && extra++ == 0)
      printf("     the real file has %s, the writer does not\n", st.tensors[i].name);
  check_true(c, missing == 0 && wrong == 0 && extra == 0 && st.count == set.count,
             "the test writer's %d tensors (names, shapes, F32/I64) are exactly transformers' %d", set.count,
             st.count);
  vm_safetensors_close(&st);

  vm_model *m = NULL;
  snprintf(path, sizeof path, "%s/tiny", data);
  s = vm_model_load(path, &m, &err);
  check_status(c, "load data/tiny", s, &err, VM_OK, NULL, NULL);
  if (s == VM_OK) {
    const vm_config *k = &m->cfg;
    check_true(c, k->hidden_size == 64 && k->num_attention_heads == 2 && k->num_hidden_layers == 4 &&
                      k->num_layers_run == 4 && k->mlp_hidden == 128 && k->window_block[0] && !k->window_block[1] &&
                      k->window_block[2] && k->residual_block[1] && k->residual_block[3] &&
                      vm_config_rel_pos_len(k, 1) == 63 && vm_config_rel_pos_len(k, 0) == 27,
               "data/tiny config: 64 wide, 2 heads, 4 layers run, mlp 128, windows 0/2, residual 1/3");
    check_true(c, m->num_parameters == ckw_num_parameters(&set), "data/tiny: %lld parameters (writer: %lld)",
               (long long)m->num_parameters, (long long)ckw_num_parameters(&set));
    vm_model_free(m);
  }
  ckw_free(&set);
}

/* Every slot that is a plain copy or transpose of one stored tensor (the folded BatchNorm convs excepted). */
static int compare_slots(const vm_params *low, const vm_params *ref, double (*round_fn)(float), int *slots) {
  int bad = 0;
  const vm_param *pairs[512][2];
  int n = 0;
  for (int i = 0; i < VM_STEM_COUNT; i++) pairs[n][0] = &low->stem[i], pairs[n++][1] = &ref->stem[i];
  for (int l = 0; l < ref->num_layers; l++)
    for (int i = 0; i < VM_L_COUNT && n < 510; i++) pairs[n][0] = &low->layer[l][i], pairs[n++][1] = &ref->layer[l][i];
  pairs[n][0] = &low->head[VM_HEAD_OUT_W], pairs[n++][1] = &ref->head[VM_HEAD_OUT_W];
  pairs[n][0] = &low->head[VM_HEAD_OUT_B], pairs[n++][1] = &ref->head[VM_HEAD_OUT_B];
  *slots = 0;
  for (int k = 0; k < n; k++) {
    const vm_param *a = pairs[k][0], *b = pairs[k][1];
    if ((a->data == NULL) != (b->data == NULL) || a->numel != b->numel) {
      bad++;
      continue;
    }
    if (!a->data) continue;
    (*slots)++;
    const float *x = a->data, *y = b->data;
    for (int64_t i = 0; i < a->numel; i++)
      if ((double)x[i] != round_fn(y[i])) {
        if (bad++ == 0) printf("     slot %d [%lld]: %.9g, expected %.9g\n", k, (long long)i, (double)x[i], round_fn(y[i]));
        break;
      }
  }
  return bad;
}

static void check_dtype_variants(checker *c, const char *data) {
  char path[4200];
  vm_model *ref = NULL, *low = NULL;
  vm_error err = {0};
  snprintf(path, sizeof path, "%s/tiny", data);
  if (vm_model_load(path, &ref, &err) != VM_OK) return;
  static const struct { const char *dir, *dtype; double (*round_fn)(float); } variants[] = {
      {"fixtures/model-bf16", "BF16", to_bf16}, {"fixtures/model-f16", "F16", to_f16}};
  for (int v = 0; v < 2; v++) {
    snprintf(path, sizeof path, "%s/%s", data, variants[v].dir);
    char what[128];
    snprintf(what, sizeof what, "load data/%s", variants[v].dir);
    vm_status s = vm_model_load(path, &low, &err);
    check_status(c, what, s, &err, VM_OK, NULL, NULL);
    if (s != VM_OK) continue;
    int slots = 0;
    int bad = compare_slots(&low->params, &ref->params, variants[v].round_fn, &slots);
    check_true(c, bad == 0 && slots > 50 && strcmp(low->stored_dtype, variants[v].dtype) == 0,
               "%s: stored_dtype %s; %d copied slots equal the F32 weights rounded to nearest-even", variants[v].dir,
               low->stored_dtype, slots);
    check_true(c, low->num_parameters == ref->num_parameters, "%s: same parameter count as F32 (%lld)",
               variants[v].dir, (long long)low->num_parameters);
    vm_model_free(low);
  }
  vm_model_free(ref);
}

int main(int argc, char **argv) {
  struct stat info;
  if (argc < 2 || stat(argv[1], &info) != 0) {
    printf("skipped: no data folder given or found\n");
    return 77;
  }
  checker c = {0};
  check_true(&c, to_bf16(1.00390625f) == 1.0 && to_bf16(1.01171875f) == 1.015625 &&
                     to_f16(1.00048828125f) == 1.0 && to_f16(65520.0f) == INFINITY &&
                     to_f16((float)ldexp(1.5, -25)) == ldexp(1.0, -24),
             "the test's own rounding: ties to even, f16 overflow to inf, f16 subnormals");
  check_tensor_set(&c, argv[1]);
  check_dtype_variants(&c, argv[1]);
  return check_finish(&c, "test_hf_checkpoints");
}
