/* test_weight_values.c - checkpoints that match their config but hold NaN, infinities or absurd magnitudes are
 * refused at load with a message naming the tensor; values at the bounds of weight_values.h still load. Every
 * stored dtype (F32, F16, BF16), through the public vm_model_load of files on disk. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint_writer.h"
#include "weight_values.h"

/* Stores `value` (rounded to the tensor's dtype; NaN and infinities kept) at `index` of tensor `name`. */
static void plant(ckw_set *set, const char *name, int64_t index, double value) {
  ckw_tensor *t = ckw_find(set, name);
  if (!t || index < 0 || index >= t->numel) {
    printf("FAIL fixture: no tensor %s or no index %lld in it\n", name, (long long)index);
    exit(1);
  }
  const float f = (float)value;
  uint32_t bits;
  memcpy(&bits, &f, 4);
  uint8_t *p;
  if (strcmp(t->dtype, "F32") == 0) {
    p = t->bytes + 4 * index;
    for (int k = 0; k < 4; k++) p[k] = (uint8_t)(bits >> (8 * k));
  } else if (strcmp(t->dtype, "BF16") == 0) {
    p = t->bytes + 2 * index;
    p[0] = (uint8_t)(bits >> 16), p[1] = (uint8_t)(bits >> 24); /* truncated: exact for the values used here */
  } else {
    /* f16 by hand for the values used here: NaN, +-inf, exact powers and 65504 */
    uint16_t h;
    if (isnan(value)) h = 0x7e00;
    else if (isinf(value)) h = value > 0 ? 0x7c00 : 0xfc00;
    else if (value == 65504.0) h = 0x7bff;
    else if (value == 1.0) h = 0x3c00;
    else {
      printf("FAIL fixture: no f16 for %g\n", value);
      exit(1);
    }
    p = t->bytes + 2 * index;
    p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8);
  }
}

typedef struct edit {
  const char *name;
  int64_t index;
  double value;
} edit;

/* Writes the tiny model in `dtype` with `e` planted, loads it, and expects `want` (and the needles). */
static void expect_load(checker *c, const char *what, const char *dtype, edit e, vm_status want, const char *needle1,
                        const char *needle2) {
  ckw_config cc = ckw_tiny();
  ckw_set set;
  char dir[4096];
  if (!ckw_build(&cc, dtype, 7, &set) || !ckw_make_dir(dir)) {
    check_true(c, false, "%s: fixture", what);
    return;
  }
  if (e.name) plant(&set, e.name, e.index, e.value);
  ckw_write_checkpoint(dir, &cc, NULL, &set);
  vm_model *model = NULL;
  vm_error err = {VM_OK, ""};
  char label[200];
  snprintf(label, sizeof label, "%s (%s)", what, dtype);
  check_status(c, label, vm_model_load(dir, &model, &err), &err, want, needle1, needle2);
  vm_model_free(model);
  ckw_free(&set);
  ckw_remove_dir(dir);
}

int main(void) {
  checker c = {0, 0};
  const char *fc1 = "backbone.encoder.layer.0.mlp.fc1.weight";
  const char *head_bias = "decoder.matting_head.matting_convs.3.bias";
  const char *patch_bias = "backbone.embeddings.projection.bias";
  const char *running_var = "decoder.fusion_blocks.1.conv.batch_norm.running_var";
  const char *running_mean = "decoder.convstream.convs.0.batch_norm.running_mean";
  static const char *const dtypes[] = {"F32", "F16", "BF16"};
  for (int d = 0; d < 3; d++) {
    const char *dt = dtypes[d];
    expect_load(&c, "the unedited model loads", dt, (edit){NULL, 0, 0}, VM_OK, NULL, NULL);
    expect_load(&c, "NaN in a weight", dt, (edit){fc1, 7, NAN}, VM_ERR_FORMAT, fc1, "index 7 (of 2048), not a number");
    expect_load(&c, "+inf in the last bias", dt, (edit){head_bias, 0, INFINITY}, VM_ERR_FORMAT, head_bias,
                "an infinity");
    expect_load(&c, "-inf in a BatchNorm mean", dt, (edit){running_mean, 2, -INFINITY}, VM_ERR_FORMAT, running_mean,
                "an infinity");
    expect_load(&c, "65504, the largest fp16 number, in a weight", dt,
                (edit){fc1, 0, strcmp(dt, "BF16") == 0 ? 65280.0 : 65504.0}, VM_OK, NULL, NULL);
  }
  /* Magnitudes only f32 and bf16 can hold. */
  for (int d = 0; d < 3; d += 2) {
    const char *dt = dtypes[d];
    expect_load(&c, "1e38 in a bias", dt, (edit){patch_bias, 3, 1e38}, VM_ERR_FORMAT, patch_bias,
                "more than any trained ViTMatte holds");
    expect_load(&c, "-70000 in a weight", dt, (edit){fc1, 2047, -70000.0}, VM_ERR_FORMAT, "index 2047", "more than any trained");
    expect_load(&c, "a running variance of 1e9 (a BatchNorm statistic, not a weight)", dt,
                (edit){running_var, 1, 1e9}, VM_OK, NULL, NULL);
    expect_load(&c, "a running variance of 1e12", dt, (edit){running_var, 1, 1e12}, VM_ERR_FORMAT, running_var,
                "the bound is 1e+10");
  }
  expect_load(&c, "the next f32 above 65504 in a weight", "F32", (edit){fc1, 1, nextafterf(65504.0f, INFINITY)},
              VM_ERR_FORMAT, fc1, "the bound is 65504");
  return check_finish(&c, "weight values");
}
