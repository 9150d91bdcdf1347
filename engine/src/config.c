#include "config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "error.h"

/* Caps on sizes. Anything above them is not a ViTMatte anyone trained; refusing early keeps a corrupt or hostile
 * config.json from making the loader or the planner size absurd allocations. */
enum {
  MAX_HIDDEN = 8192,
  MAX_MLP_HIDDEN = 8 * 8192,
  MAX_IMAGE = 65536,
  MAX_POS_GRID = 1024,   /* pretrain_image_size / patch_size: the absolute position table has grid^2 rows */
  MAX_WINDOW = 1024,
  MAX_DECODER_CHANNELS = 8192,
  MAX_CONFIG_BYTES = 16 * 1024 * 1024,
};

/* Where a key lives, for messages: "" (top level) or "backbone_config.". */
typedef struct scope {
  json_object *obj; /* NULL: the section is absent, every key takes its default */
  const char *prefix;
} scope;

static const char *json_kind(json_object *v) {
  switch (json_object_get_type(v)) {
  case json_type_null: return "null";
  case json_type_boolean: return "a boolean";
  case json_type_double: return "a non-integer number";
  case json_type_int: return "an integer";
  case json_type_string: return "a string";
  case json_type_array: return "a list";
  case json_type_object: return "an object";
  }
  return "an unknown JSON value";
}

/* Returns the value of `key`, or NULL when the key is absent. A JSON null is returned as the json-c NULL too, so
 * `*present` tells the two apart. */
static json_object *lookup(const scope *s, const char *key, bool *present) {
  json_object *v = NULL;
  *present = s->obj && json_object_object_get_ex(s->obj, key, &v);
  return v;
}

static vm_status wrong_type(const scope *s, const char *key, const char *want, json_object *v, vm_error *err) {
  return vm_fail(err, VM_ERR_FORMAT, "config key %s%s must be %s, but it is %s", s->prefix, key, want,
                 json_kind(v));
}

/* An integer JSON value as int64 (json-c saturates values beyond int64; the range checks below refuse those). */
static vm_status read_int64(const scope *s, const char *key, int64_t dflt, int64_t *out, vm_error *err) {
  bool present;
  json_object *v = lookup(s, key, &present);
  if (!present) {
    *out = dflt;
    return VM_OK;
  }
  if (json_object_get_type(v) != json_type_int) return wrong_type(s, key, "an integer", v, err);
  *out = json_object_get_int64(v);
  return VM_OK;
}

/* Values below `lo` are impossible (a format error); values above `hi` are beyond what this engine supports. */
static vm_status check_range(const scope *s, const char *key, int64_t v, int64_t lo, int64_t hi, vm_error *err) {
  if (v < lo)
    return vm_fail(err, VM_ERR_FORMAT, "config key %s%s is %lld; it must be at least %lld", s->prefix, key,
                   (long long)v, (long long)lo);
  if (v > hi)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "config key %s%s is %lld; this engine supports at most %lld",
                   s->prefix, key, (long long)v, (long long)hi);
  return VM_OK;
}

static vm_status read_int(const scope *s, const char *key, int dflt, int lo, int hi, int *out, vm_error *err) {
  int64_t v = dflt;
  vm_status st = read_int64(s, key, dflt, &v, err);
  if (st == VM_OK) st = check_range(s, key, v, lo, hi, err);
  if (st == VM_OK) *out = (int)v;
  return st;
}

/* image_size, patch_size and pretrain_image_size: an integer, or a [height, width] list with equal values (this
 * engine handles square sizes only). */
static vm_status read_square_size(const scope *s, const char *key, int dflt, int lo, int hi, int *out,
                                  vm_error *err) {
  bool present;
  json_object *v = lookup(s, key, &present);
  if (!present || json_object_get_type(v) == json_type_int) return read_int(s, key, dflt, lo, hi, out, err);
  if (json_object_get_type(v) != json_type_array)
    return wrong_type(s, key, "an integer or a list of two integers", v, err);
  if (json_object_array_length(v) != 2)
    return vm_fail(err, VM_ERR_FORMAT, "config key %s%s is a list of %zu values; it must hold two (height, width)",
                   s->prefix, key, json_object_array_length(v));
  int64_t hw[2];
  for (size_t i = 0; i < 2; i++) {
    json_object *e = json_object_array_get_idx(v, i);
    if (json_object_get_type(e) != json_type_int)
      return vm_fail(err, VM_ERR_FORMAT, "config key %s%s[%zu] must be an integer, but it is %s", s->prefix, key,
                     i, json_kind(e));
    hw[i] = json_object_get_int64(e);
  }
  if (hw[0] != hw[1])
    return vm_fail(err, VM_ERR_UNSUPPORTED, "config key %s%s is [%lld, %lld]; only square sizes are supported",
                   s->prefix, key, (long long)hw[0], (long long)hw[1]);
  vm_status st = check_range(s, key, hw[0], lo, hi, err);
  if (st == VM_OK) *out = (int)hw[0];
  return st;
}

static vm_status read_bool(const scope *s, const char *key, bool dflt, bool *out, vm_error *err) {
  bool present;
  json_object *v = lookup(s, key, &present);
  if (!present) {
    *out = dflt;
    return VM_OK;
  }
  if (json_object_get_type(v) != json_type_boolean) return wrong_type(s, key, "true or false", v, err);
  *out = json_object_get_boolean(v) != 0;
  return VM_OK;
}

/* A finite number >= lo (an integer is fine where Python takes a float). */
static vm_status read_number(const scope *s, const char *key, double dflt, double lo, bool lo_inclusive,
                             double *out, vm_error *err) {
  bool present;
  json_object *v = lookup(s, key, &present);
  double d = dflt;
  if (present) {
    json_type t = json_object_get_type(v);
    if (t != json_type_int && t != json_type_double) return wrong_type(s, key, "a number", v, err);
    d = json_object_get_double(v);
  }
  if (!isfinite(d) || d < lo || (!lo_inclusive && d == lo))
    return vm_fail(err, VM_ERR_FORMAT, "config key %s%s is %g; it must be a finite number %s %g", s->prefix, key, d,
                   lo_inclusive ? ">=" : ">", lo);
  *out = d;
  return VM_OK;
}

/* The string value of `key` (NULL when absent). */
static vm_status read_string(const scope *s, const char *key, const char **out, vm_error *err) {
  bool present;
  json_object *v = lookup(s, key, &present);
  *out = NULL;
  if (!present) return VM_OK;
  if (json_object_get_type(v) != json_type_string) return wrong_type(s, key, "a string", v, err);
  *out = json_object_get_string(v);
  return VM_OK;
}

/* A list of integers (absent or null: *count = -1). Elements are returned as int64 for the caller to check. */
static vm_status read_int_list(const scope *s, const char *key, bool null_is_absent, int64_t *vals, int cap,
                               int *count, vm_error *err) {
  bool present;
  json_object *v = lookup(s, key, &present);
  *count = -1;
  if (!present || (null_is_absent && v == NULL)) return VM_OK;
  if (json_object_get_type(v) != json_type_array) return wrong_type(s, key, "a list of integers", v, err);
  size_t n = json_object_array_length(v);
  if (n > (size_t)cap)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "config key %s%s has %zu entries; this engine supports at most %d",
                   s->prefix, key, n, cap);
  for (size_t i = 0; i < n; i++) {
    json_object *e = json_object_array_get_idx(v, i);
    if (json_object_get_type(e) != json_type_int)
      return vm_fail(err, VM_ERR_FORMAT, "config key %s%s[%zu] must be an integer, but it is %s", s->prefix, key,
                     i, json_kind(e));
    vals[i] = json_object_get_int64(e);
  }
  *count = (int)n;
  return VM_OK;
}

/* window_block_indices / residual_block_indices: any length, each index a layer that exists. */
static vm_status read_layer_set(const scope *s, const char *key, int num_layers, bool *flags, vm_error *err) {
  bool present;
  json_object *v = lookup(s, key, &present);
  memset(flags, 0, sizeof(bool) * VM_MAX_LAYERS);
  if (!present) return VM_OK;
  if (json_object_get_type(v) != json_type_array) return wrong_type(s, key, "a list of layer indices", v, err);
  for (size_t i = 0; i < json_object_array_length(v); i++) {
    json_object *e = json_object_array_get_idx(v, i);
    if (json_object_get_type(e) != json_type_int)
      return vm_fail(err, VM_ERR_FORMAT, "config key %s%s[%zu] must be an integer, but it is %s", s->prefix, key,
                     i, json_kind(e));
    int64_t idx = json_object_get_int64(e);
    if (idx < 0 || idx >= num_layers)
      return vm_fail(err, VM_ERR_FORMAT,
                     "config key %s%s contains %lld, but num_hidden_layers is %d (layer indices run 0..%d)",
                     s->prefix, key, (long long)idx, num_layers, num_layers - 1);
    flags[idx] = true;
  }
  return VM_OK;
}

/* "stem" is stage 0 (the patch embedding), "stageN" is the output of layer N-1. Returns -1 for other names. */
static int stage_index(const char *name, int num_layers) {
  if (strcmp(name, "stem") == 0) return 0;
  char canonical[32];
  for (int i = 1; i <= num_layers; i++) {
    snprintf(canonical, sizeof canonical, "stage%d", i);
    if (strcmp(name, canonical) == 0) return i;
  }
  return -1;
}

/* out_features / out_indices, checked as transformers' backbone utilities check them (known stages, in stage
 * order, no repeats, the two lists naming the same stages). The decoder takes the last feature map, so the backbone
 * output is the last stage listed. */
static vm_status read_output_stage(const scope *s, int num_layers, bool default_stage4, int *stage, vm_error *err) {
  const int num_stages = num_layers + 1;
  bool present;
  json_object *feats = lookup(s, "out_features", &present);
  if (present && feats && json_object_get_type(feats) != json_type_array)
    return wrong_type(s, "out_features", "a list of stage names", feats, err);
  int64_t idx[VM_MAX_LAYERS + 1];
  int nidx;
  vm_status st = read_int_list(s, "out_indices", true, idx, VM_MAX_LAYERS + 1, &nidx, err);
  if (st != VM_OK) return st;

  if (!feats && nidx < 0) {
    /* VitMatteConfig without backbone_config builds VitDetConfig(out_features=["stage4"]). */
    if (default_stage4) {
      if (num_layers < 4)
        return vm_fail(err, VM_ERR_FORMAT, "backbone_config is absent, so the backbone output is \"stage4\", but "
                                           "num_hidden_layers is %d", num_layers);
      *stage = 4;
    } else {
      *stage = num_layers;
    }
    return VM_OK;
  }

  int last = -1;
  size_t nfeat = feats ? json_object_array_length(feats) : 0;
  if (feats) {
    if (nfeat == 0)
      return vm_fail(err, VM_ERR_FORMAT, "config key %sout_features is empty: the backbone would output nothing",
                     s->prefix);
    for (size_t i = 0; i < nfeat; i++) {
      json_object *e = json_object_array_get_idx(feats, i);
      if (json_object_get_type(e) != json_type_string)
        return vm_fail(err, VM_ERR_FORMAT, "config key %sout_features[%zu] must be a string, but it is %s",
                       s->prefix, i, json_kind(e));
      int k = stage_index(json_object_get_string(e), num_layers);
      if (k < 0)
        return vm_fail(err, VM_ERR_FORMAT,
                       "config key %sout_features[%zu] is \"%.64s\"; stages are \"stem\" and \"stage1\"..\"stage%d\"",
                       s->prefix, i, json_object_get_string(e), num_layers);
      if (k <= last)
        return vm_fail(err, VM_ERR_FORMAT, "config key %sout_features must list stages in order without repeats",
                       s->prefix);
      last = k;
    }
  }
  if (nidx >= 0) {
    if (nidx == 0)
      return vm_fail(err, VM_ERR_FORMAT, "config key %sout_indices is empty: the backbone would output nothing",
                     s->prefix);
    if (feats && (size_t)nidx != nfeat)
      return vm_fail(err, VM_ERR_FORMAT, "config keys %sout_features and %sout_indices have different lengths (%zu and %d)",
                     s->prefix, s->prefix, nfeat, nidx);
    last = -1;
    for (int i = 0; i < nidx; i++) {
      /* Python indexing: negative indices count from the end. */
      if (idx[i] >= num_stages || idx[i] < -num_stages)
        return vm_fail(err, VM_ERR_FORMAT, "config key %sout_indices[%d] is %lld; there are %d stages (0..%d)",
                       s->prefix, i, (long long)idx[i], num_stages, num_stages - 1);
      int k = (int)(idx[i] < 0 ? idx[i] + num_stages : idx[i]);
      if (k <= last)
        return vm_fail(err, VM_ERR_FORMAT, "config key %sout_indices must list stages in order without repeats",
                       s->prefix);
      if (feats && stage_index(json_object_get_string(json_object_array_get_idx(feats, (size_t)i)), num_layers) != k)
        return vm_fail(err, VM_ERR_FORMAT, "config keys %sout_features[%d] and %sout_indices[%d] name different stages",
                       s->prefix, i, s->prefix, i);
      last = k;
    }
  }
  *stage = last;
  return VM_OK;
}

/* A list of channel counts (convstream_hidden_sizes, fusion_hidden_sizes). */
static vm_status read_channels(const scope *s, const char *key, const int *dflt, int ndflt, int cap, int *out,
                               int *count, vm_error *err) {
  int64_t vals[VM_MAX_DECODER_STAGES];
  int n;
  vm_status st = read_int_list(s, key, false, vals, cap, &n, err);
  if (st != VM_OK) return st;
  if (n < 0) {
    memcpy(out, dflt, sizeof(int) * (size_t)ndflt);
    *count = ndflt;
    return VM_OK;
  }
  for (int i = 0; i < n; i++) {
    if (vals[i] < 1 || vals[i] > MAX_DECODER_CHANNELS)
      return vm_fail(err, vals[i] < 1 ? VM_ERR_FORMAT : VM_ERR_UNSUPPORTED,
                     "config key %s%s[%d] is %lld; channel counts must be 1..%d", s->prefix, key, i,
                     (long long)vals[i], MAX_DECODER_CHANNELS);
    out[i] = (int)vals[i];
  }
  *count = n;
  return VM_OK;
}

static vm_status check_model_type(const scope *s, const char *want, vm_error *err) {
  const char *mt;
  vm_status st = read_string(s, "model_type", &mt, err);
  if (st != VM_OK) return st;
  if (mt && strcmp(mt, want) != 0)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "config key %smodel_type is \"%.64s\"; this engine runs \"%s\"",
                   s->prefix, mt, want);
  return VM_OK;
}

#define TRY(expr)                        \
  do {                                   \
    vm_status try_status_ = (expr);      \
    if (try_status_ != VM_OK) return try_status_; \
  } while (0)

/* The VitDetConfig part. `b->obj` NULL means backbone_config is absent: every key takes VitDetConfig's default and
 * the output stage is "stage4", as VitMatteConfig does. */
static vm_status parse_backbone(const scope *b, vm_config *cfg, vm_error *err) {
  const bool absent = b->obj == NULL;
  TRY(check_model_type(b, "vitdet", err));

  TRY(read_int(b, "num_channels", 3, 1, 64, &cfg->num_channels, err));
  if (cfg->num_channels != 4)
    return vm_fail(err, VM_ERR_UNSUPPORTED,
                   "config key backbone_config.num_channels is %d%s; ViTMatte needs 4 input channels (RGB + trimap)",
                   cfg->num_channels,
                   absent ? " (backbone_config is absent, so transformers uses the VitDetConfig defaults)" : "");

  TRY(read_int(b, "hidden_size", 768, 1, MAX_HIDDEN, &cfg->hidden_size, err));
  TRY(read_int(b, "num_attention_heads", 12, 1, MAX_HIDDEN, &cfg->num_attention_heads, err));
  if (cfg->hidden_size % cfg->num_attention_heads != 0)
    return vm_fail(err, VM_ERR_FORMAT,
                   "config key backbone_config.hidden_size (%d) is not divisible by "
                   "backbone_config.num_attention_heads (%d)",
                   cfg->hidden_size, cfg->num_attention_heads);
  cfg->head_dim = cfg->hidden_size / cfg->num_attention_heads;
  TRY(read_int(b, "num_hidden_layers", 12, 1, VM_MAX_LAYERS, &cfg->num_hidden_layers, err));

  TRY(read_number(b, "mlp_ratio", 4.0, 0.0, false, &cfg->mlp_ratio, err));
  /* transformers: hidden_features = int(dim * mlp_ratio), a float product truncated toward zero. */
  double mlp = (double)cfg->hidden_size * cfg->mlp_ratio;
  if (mlp < 1.0 || mlp > (double)MAX_MLP_HIDDEN)
    return vm_fail(err, mlp < 1.0 ? VM_ERR_FORMAT : VM_ERR_UNSUPPORTED,
                   "config key backbone_config.mlp_ratio is %g: the MLP would have %.0f channels (must be 1..%d)",
                   cfg->mlp_ratio, floor(mlp), MAX_MLP_HIDDEN);
  cfg->mlp_hidden = (int)mlp;

  const char *act;
  TRY(read_string(b, "hidden_act", &act, err));
  if (act && strcmp(act, "gelu") != 0)
    return vm_fail(err, VM_ERR_UNSUPPORTED,
                   "config key backbone_config.hidden_act is \"%.64s\"; only \"gelu\" (the exact erf form) is supported",
                   act);
  TRY(read_number(b, "layer_norm_eps", 1e-6, 0.0, true, &cfg->layer_norm_eps, err));

  TRY(read_square_size(b, "patch_size", 16, 1, MAX_IMAGE, &cfg->patch_size, err));
  TRY(read_square_size(b, "image_size", 224, 1, MAX_IMAGE, &cfg->image_size, err));
  TRY(read_square_size(b, "pretrain_image_size", 224, 1, MAX_IMAGE, &cfg->pretrain_image_size, err));
  TRY(read_int(b, "window_size", 0, 0, MAX_WINDOW, &cfg->window_size, err));
  TRY(read_bool(b, "qkv_bias", true, &cfg->qkv_bias, err));
  TRY(read_bool(b, "use_absolute_position_embeddings", true, &cfg->use_absolute_position_embeddings, err));
  TRY(read_bool(b, "use_relative_position_embeddings", false, &cfg->use_relative_position_embeddings, err));

  TRY(read_layer_set(b, "window_block_indices", cfg->num_hidden_layers, cfg->window_block, err));
  /* A listed layer with window_size 0 runs global attention in transformers; keep the flag meaning "windowed". */
  if (cfg->window_size == 0) memset(cfg->window_block, 0, sizeof cfg->window_block);
  TRY(read_layer_set(b, "residual_block_indices", cfg->num_hidden_layers, cfg->residual_block, err));
  for (int i = 0; i < cfg->num_hidden_layers; i++)
    if (cfg->residual_block[i] && cfg->hidden_size < 2)
      return vm_fail(err, VM_ERR_FORMAT,
                     "config key backbone_config.residual_block_indices needs hidden_size >= 2 (the bottleneck has "
                     "hidden_size / 2 channels)");

  if (cfg->use_absolute_position_embeddings) {
    int grid = cfg->pretrain_image_size / cfg->patch_size;
    if (grid < 1)
      return vm_fail(err, VM_ERR_FORMAT,
                     "config key backbone_config.pretrain_image_size (%d) is smaller than patch_size (%d)",
                     cfg->pretrain_image_size, cfg->patch_size);
    if (grid > MAX_POS_GRID)
      return vm_fail(err, VM_ERR_UNSUPPORTED,
                     "config key backbone_config.pretrain_image_size (%d) / patch_size (%d) is %d; this engine "
                     "supports position tables up to %d x %d",
                     cfg->pretrain_image_size, cfg->patch_size, grid, MAX_POS_GRID, MAX_POS_GRID);
  }
  if (cfg->use_relative_position_embeddings) {
    bool any_global = false;
    for (int i = 0; i < cfg->num_hidden_layers; i++) any_global |= !cfg->window_block[i];
    if (any_global && cfg->image_size / cfg->patch_size < 1)
      return vm_fail(err, VM_ERR_FORMAT,
                     "config key backbone_config.image_size (%d) is smaller than patch_size (%d): global layers "
                     "would have an empty relative position table",
                     cfg->image_size, cfg->patch_size);
  }

  int stage;
  TRY(read_output_stage(b, cfg->num_hidden_layers, absent, &stage, err));
  cfg->num_layers_run = stage;
  return VM_OK;
}

/* The VitMatteConfig part (decoder). */
static vm_status parse_top(const scope *t, vm_config *cfg, vm_error *err) {
  static const int default_convstream[] = {48, 96, 192};
  static const int default_fusion[] = {256, 128, 64, 32};

  TRY(read_int(t, "hidden_size", 384, 1, MAX_HIDDEN, &cfg->decoder_in_channels, err));
  if (cfg->decoder_in_channels != cfg->hidden_size)
    return vm_fail(err, VM_ERR_FORMAT,
                   "config key hidden_size (%d, the decoder's input channels) differs from "
                   "backbone_config.hidden_size (%d)",
                   cfg->decoder_in_channels, cfg->hidden_size);
  TRY(read_number(t, "batch_norm_eps", 1e-5, 0.0, true, &cfg->batch_norm_eps, err));
  TRY(read_channels(t, "convstream_hidden_sizes", default_convstream, 3, VM_MAX_DECODER_STAGES - 1,
                    cfg->convstream_hidden_sizes, &cfg->num_convstream, err));
  TRY(read_channels(t, "fusion_hidden_sizes", default_fusion, 4, VM_MAX_DECODER_STAGES, cfg->fusion_hidden_sizes,
                    &cfg->num_fusion, err));
  if (cfg->num_fusion != cfg->num_convstream + 1)
    return vm_fail(err, VM_ERR_FORMAT,
                   "config key fusion_hidden_sizes has %d entries; it needs one more than convstream_hidden_sizes (%d)",
                   cfg->num_fusion, cfg->num_convstream);
  /* Each fusion block upsamples x2 and concatenates a ConvStream map; the first one meets the 1/2^n map, so the
   * backbone grid (1/patch) must be half of it. transformers fails in torch.cat otherwise. */
  if (cfg->patch_size != (1 << (cfg->num_convstream + 1)))
    return vm_fail(err, VM_ERR_FORMAT,
                   "config key backbone_config.patch_size is %d, but %d convstream_hidden_sizes entries need a patch "
                   "size of %d for the decoder's feature maps to line up",
                   cfg->patch_size, cfg->num_convstream, 1 << (cfg->num_convstream + 1));
  return VM_OK;
}

static vm_status parse_root(json_object *root, vm_config *cfg, vm_error *err) {
  if (json_object_get_type(root) != json_type_object)
    return vm_fail(err, VM_ERR_FORMAT, "config.json holds %s, not a JSON object", json_kind(root));
  scope top = {root, ""};
  TRY(check_model_type(&top, "vitmatte", err));

  bool present;
  json_object *bb = lookup(&top, "backbone_config", &present);
  if (present && bb && json_object_get_type(bb) != json_type_object)
    return wrong_type(&top, "backbone_config", "an object", bb, err);
  if (!bb) {
    const char *named;
    TRY(read_string(&top, "backbone", &named, err));
    if (named)
      return vm_fail(err, VM_ERR_UNSUPPORTED,
                     "config key backbone names \"%.64s\" without a backbone_config; this engine needs the VitDet "
                     "backbone_config written out",
                     named);
  }
  scope back = {bb, "backbone_config."};
  TRY(parse_backbone(&back, cfg, err));
  return parse_top(&top, cfg, err);
}

vm_status vm_config_parse(const char *json, size_t len, vm_config *cfg, vm_error *err) {
  if (!cfg || (!json && len)) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_config_parse: NULL argument");
  memset(cfg, 0, sizeof *cfg);
  if (len > MAX_CONFIG_BYTES)
    return vm_fail(err, VM_ERR_FORMAT, "config.json is %zu bytes; a ViTMatte config is a few hundred", len);
  if (len == 0) return vm_fail(err, VM_ERR_FORMAT, "config.json is empty");

  struct json_tokener *tok = json_tokener_new();
  if (!tok) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory parsing config.json");
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
  json_object *root = json_tokener_parse_ex(tok, json, (int)len);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);

  vm_status st = VM_OK;
  if (!root || jerr != json_tokener_success) {
    st = vm_fail(err, VM_ERR_FORMAT, "config.json is not valid JSON: %s at byte %zu",
                 jerr == json_tokener_continue ? "unexpected end of text" : json_tokener_error_desc(jerr), end);
  } else {
    for (size_t i = end; i < len; i++)
      if (json[i] != ' ' && json[i] != '\t' && json[i] != '\n' && json[i] != '\r') {
        st = vm_fail(err, VM_ERR_FORMAT, "config.json is not valid JSON: extra text at byte %zu", i);
        break;
      }
  }
  if (st == VM_OK) st = parse_root(root, cfg, err);
  json_object_put(root);
  if (st != VM_OK) memset(cfg, 0, sizeof *cfg);
  return st;
}

vm_status vm_config_load(const char *path, vm_config *cfg, vm_error *err) {
  if (!path || !cfg) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_config_load: NULL argument");
  FILE *f = fopen(path, "rb");
  if (!f) return vm_fail(err, VM_ERR_IO, "cannot open the model config %s: %s", path, strerror(errno));
  char *buf = malloc(MAX_CONFIG_BYTES + 1);
  if (!buf) {
    fclose(f);
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory reading %s", path);
  }
  size_t n = fread(buf, 1, MAX_CONFIG_BYTES + 1, f);
  int read_error = ferror(f);
  int saved_errno = errno;
  fclose(f);
  vm_status st;
  if (read_error) {
    st = vm_fail(err, VM_ERR_IO, "cannot read the model config %s: %s", path, strerror(saved_errno));
  } else {
    vm_error inner;
    st = vm_config_parse(buf, n, cfg, &inner);
    if (st != VM_OK) vm_fail(err, st, "%s: %s", path, inner.message);
  }
  free(buf);
  return st;
}

int vm_config_rel_pos_len(const vm_config *cfg, int layer) {
  if (layer >= 0 && layer < cfg->num_hidden_layers && cfg->window_block[layer] && cfg->window_size > 0)
    return 2 * cfg->window_size - 1;
  return 2 * (cfg->image_size / cfg->patch_size) - 1;
}
