#include "checkpoint_writer.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

ckw_config ckw_small(void) {
  ckw_config c = {
      .hidden = 384, .heads = 6, .layers = 12, .patch = 16, .image_size = 512, .pretrain_image_size = 224,
      .window_size = 14, .num_channels = 4, .mlp_ratio = 4.0,
      .n_window = 8, .window_blocks = {0, 1, 3, 4, 6, 7, 9, 10},
      .n_residual = 4, .residual_blocks = {2, 5, 8, 11},
      .qkv_bias = true, .use_abs = true, .use_rel = true, .out_stage = 12,
      .n_conv = 3, .conv = {48, 96, 192}, .fusion = {256, 128, 64, 32}, .bn_eps = 1e-5,
  };
  return c;
}

ckw_config ckw_tiny(void) {
  /* patch 4 = 2^(1 convstream stage + 1), so the decoder's maps line up as in the real model. */
  ckw_config c = {
      .hidden = 32, .heads = 2, .layers = 3, .patch = 4, .image_size = 16, .pretrain_image_size = 12,
      .window_size = 2, .num_channels = 4, .mlp_ratio = 2.0,
      .n_window = 2, .window_blocks = {0, 2},
      .n_residual = 1, .residual_blocks = {1},
      .qkv_bias = true, .use_abs = true, .use_rel = true, .out_stage = 3,
      .n_conv = 1, .conv = {8}, .fusion = {16, 8}, .bn_eps = 1e-3,
  };
  return c;
}

/* ---- random values ---------------------------------------------------------------------------------------- */

static uint64_t next_random(uint64_t *state) { /* splitmix64 */
  uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double ckw_half_value(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 31, mant = h & 1023;
  double v;
  if (exp == 31) v = mant ? NAN : INFINITY;
  else if (exp == 0) v = ldexp(mant, -24);
  else v = ldexp(1024 + mant, exp - 25);
  return sign ? -v : v;
}

double ckw_bfloat_value(uint16_t b) {
  int sign = b >> 15, exp = (b >> 7) & 255, mant = b & 127;
  double v;
  if (exp == 255) v = mant ? NAN : INFINITY;
  else if (exp == 0) v = ldexp(mant, -133);
  else v = ldexp(128 + mant, exp - 134);
  return sign ? -v : v;
}

static int dtype_bytes(const char *dtype) {
  static const struct { const char *name; int size; } sizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
      {"U8", 1},  {"BOOL", 1}, {"U16", 2}, {"U32", 4}, {"U64", 8}};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
    if (strcmp(sizes[i].name, dtype) == 0) return sizes[i].size;
  return 4; /* unknown names (for bad-dtype tests): any size */
}

/* Fills t->bytes and t->values. Values are in about [-1, 1] (running variances in [0.25, 2)), drawn directly as
 * bit patterns of the stored type so the stored value is exactly known. */
static void randomize(ckw_tensor *t, uint64_t *rng) {
  const bool positive = t->role == CKW_BN_STAT && strstr(t->name, "running_var") != NULL;
  for (int64_t i = 0; i < t->numel; i++) {
    uint64_t r = next_random(rng);
    uint8_t *p = t->bytes + i * (int64_t)(t->nbytes / (size_t)(t->numel ? t->numel : 1));
    if (strcmp(t->dtype, "F32") == 0) {
      double u = (double)(r >> 40) / 16777216.0; /* 24 bits: exact in float */
      float v = positive ? (float)(0.25 + 1.75 * u) : (float)(2.0 * u - 1.0);
      uint32_t bits;
      memcpy(&bits, &v, 4);
      for (int k = 0; k < 4; k++) p[k] = (uint8_t)(bits >> (8 * k));
      t->values[i] = v;
    } else if (strcmp(t->dtype, "F16") == 0) {
      unsigned sign = positive ? 0 : (unsigned)(r & 1), exp = positive ? 13 + (unsigned)((r >> 1) % 3)
                                                                        : 10 + (unsigned)((r >> 1) % 6);
      uint16_t h = (uint16_t)(sign << 15 | exp << 10 | (unsigned)((r >> 8) & 1023));
      p[0] = (uint8_t)h, p[1] = (uint8_t)(h >> 8);
      t->values[i] = ckw_half_value(h);
    } else if (strcmp(t->dtype, "BF16") == 0) {
      unsigned sign = positive ? 0 : (unsigned)(r & 1), exp = positive ? 125 + (unsigned)((r >> 1) % 3)
                                                                        : 122 + (unsigned)((r >> 1) % 6);
      uint16_t b = (uint16_t)(sign << 15 | exp << 7 | (unsigned)((r >> 8) & 127));
      p[0] = (uint8_t)b, p[1] = (uint8_t)(b >> 8);
      t->values[i] = ckw_bfloat_value(b);
    } else {
      size_t size = t->nbytes / (size_t)(t->numel ? t->numel : 1);
      for (size_t k = 0; k < size; k++) p[k] = (uint8_t)(r >> (8 * (k % 8)));
    }
  }
}

/* ---- the tensor set ----------------------------------------------------------------------------------------- */

ckw_tensor *ckw_find(ckw_set *set, const char *name) {
  for (int i = 0; i < set->count; i++)
    if (strcmp(set->t[i].name, name) == 0) return &set->t[i];
  return NULL;
}

static void free_tensor(ckw_tensor *t) {
  free(t->values);
  free(t->bytes);
}

bool ckw_remove(ckw_set *set, const char *name) {
  ckw_tensor *t = ckw_find(set, name);
  if (!t) return false;
  free_tensor(t);
  int i = (int)(t - set->t);
  memmove(&set->t[i], &set->t[i + 1], sizeof *t * (size_t)(set->count - i - 1));
  set->count--;
  return true;
}

ckw_tensor *ckw_put(ckw_set *set, const char *name, const char *dtype, ckw_role role, int ndim,
                    const int64_t *shape) {
  ckw_tensor *t = ckw_find(set, name);
  if (t) {
    free_tensor(t);
  } else {
    if (set->count == set->cap) {
      int cap = set->cap ? set->cap * 2 : 64;
      ckw_tensor *grown = realloc(set->t, sizeof *grown * (size_t)cap);
      if (!grown) return NULL;
      set->t = grown;
      set->cap = cap;
    }
    t = &set->t[set->count++];
  }
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", name);
  snprintf(t->dtype, sizeof t->dtype, "%s", dtype);
  t->ndim = ndim;
  t->numel = 1;
  for (int i = 0; i < ndim; i++) t->shape[i] = shape[i], t->numel *= shape[i];
  t->role = role;
  t->nbytes = (size_t)t->numel * (size_t)dtype_bytes(dtype);
  t->bytes = malloc(t->nbytes + 1);
  t->values = malloc(sizeof(double) * (size_t)(t->numel + 1));
  if (!t->bytes || !t->values) return NULL;
  randomize(t, &set->rng);
  if (strcmp(dtype, "F32") && strcmp(dtype, "F16") && strcmp(dtype, "BF16")) {
    free(t->values);
    t->values = NULL;
  }
  return t;
}

static bool put(ckw_set *set, const char *dtype, ckw_role role, const char *prefix, const char *suffix, int ndim,
                int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  char name[160];
  snprintf(name, sizeof name, "%s%s", prefix, suffix);
  int64_t shape[4] = {d0, d1, d2, d3};
  return ckw_put(set, name, role == CKW_COUNTER ? "I64" : dtype, role, ndim, shape) != NULL;
}

static bool contains(const int *list, int n, int v) {
  for (int i = 0; i < n; i++)
    if (list[i] == v) return true;
  return false;
}

static bool put_batch_norm(ckw_set *set, const char *dtype, const char *prefix, int64_t n) {
  return put(set, dtype, CKW_PARAM, prefix, "weight", 1, n, 0, 0, 0) &&
         put(set, dtype, CKW_PARAM, prefix, "bias", 1, n, 0, 0, 0) &&
         put(set, dtype, CKW_BN_STAT, prefix, "running_mean", 1, n, 0, 0, 0) &&
         put(set, dtype, CKW_BN_STAT, prefix, "running_var", 1, n, 0, 0, 0) &&
         put(set, dtype, CKW_COUNTER, prefix, "num_batches_tracked", 0, 0, 0, 0, 0);
}

/* Names and shapes as VitMatteForImageMatting.state_dict() has them (spec section 4 and Appendix A). */
bool ckw_build(const ckw_config *c, const char *dtype, uint64_t seed, ckw_set *set) {
  memset(set, 0, sizeof *set);
  set->rng = seed;
  const int64_t C = c->hidden, hd = c->hidden / c->heads, p = c->patch;
  const int64_t M = (int64_t)((double)c->hidden * c->mlp_ratio);
  bool ok = true;
  char pre[96];

  if (c->use_abs) {
    int64_t g = c->pretrain_image_size / c->patch;
    ok &= put(set, dtype, CKW_PARAM, "backbone.embeddings.position_embeddings", "", 3, 1, g * g + 1, C, 0);
  }
  ok &= put(set, dtype, CKW_PARAM, "backbone.embeddings.projection.weight", "", 4, C, c->num_channels, p, p);
  ok &= put(set, dtype, CKW_PARAM, "backbone.embeddings.projection.bias", "", 1, C, 0, 0, 0);
  for (int i = 0; i < c->layers && ok; i++) {
    snprintf(pre, sizeof pre, "backbone.encoder.layer.%d.", i);
    bool windowed = contains(c->window_blocks, c->n_window, i) && c->window_size > 0;
    int64_t rel = windowed ? 2 * c->window_size - 1 : 2 * (c->image_size / c->patch) - 1;
    ok &= put(set, dtype, CKW_PARAM, pre, "norm1.weight", 1, C, 0, 0, 0);
    ok &= put(set, dtype, CKW_PARAM, pre, "norm1.bias", 1, C, 0, 0, 0);
    if (c->use_rel) {
      ok &= put(set, dtype, CKW_PARAM, pre, "attention.rel_pos_h", 2, rel, hd, 0, 0);
      ok &= put(set, dtype, CKW_PARAM, pre, "attention.rel_pos_w", 2, rel, hd, 0, 0);
    }
    ok &= put(set, dtype, CKW_PARAM, pre, "attention.qkv.weight", 2, 3 * C, C, 0, 0);
    if (c->qkv_bias) ok &= put(set, dtype, CKW_PARAM, pre, "attention.qkv.bias", 1, 3 * C, 0, 0, 0);
    ok &= put(set, dtype, CKW_PARAM, pre, "attention.proj.weight", 2, C, C, 0, 0);
    ok &= put(set, dtype, CKW_PARAM, pre, "attention.proj.bias", 1, C, 0, 0, 0);
    ok &= put(set, dtype, CKW_PARAM, pre, "norm2.weight", 1, C, 0, 0, 0);
    ok &= put(set, dtype, CKW_PARAM, pre, "norm2.bias", 1, C, 0, 0, 0);
    ok &= put(set, dtype, CKW_PARAM, pre, "mlp.fc1.weight", 2, M, C, 0, 0);
    ok &= put(set, dtype, CKW_PARAM, pre, "mlp.fc1.bias", 1, M, 0, 0, 0);
    ok &= put(set, dtype, CKW_PARAM, pre, "mlp.fc2.weight", 2, C, M, 0, 0);
    ok &= put(set, dtype, CKW_PARAM, pre, "mlp.fc2.bias", 1, C, 0, 0, 0);
    if (contains(c->residual_blocks, c->n_residual, i)) {
      ok &= put(set, dtype, CKW_PARAM, pre, "residual.conv1.weight", 4, C / 2, C, 1, 1);
      ok &= put(set, dtype, CKW_PARAM, pre, "residual.norm1.weight", 1, C / 2, 0, 0, 0);
      ok &= put(set, dtype, CKW_PARAM, pre, "residual.norm1.bias", 1, C / 2, 0, 0, 0);
      ok &= put(set, dtype, CKW_PARAM, pre, "residual.conv2.weight", 4, C / 2, C / 2, 3, 3);
      ok &= put(set, dtype, CKW_PARAM, pre, "residual.norm2.weight", 1, C / 2, 0, 0, 0);
      ok &= put(set, dtype, CKW_PARAM, pre, "residual.norm2.bias", 1, C / 2, 0, 0, 0);
      ok &= put(set, dtype, CKW_PARAM, pre, "residual.conv3.weight", 4, C, C / 2, 1, 1);
      ok &= put(set, dtype, CKW_PARAM, pre, "residual.norm3.weight", 1, C, 0, 0, 0);
      ok &= put(set, dtype, CKW_PARAM, pre, "residual.norm3.bias", 1, C, 0, 0, 0);
    }
  }
  /* VitMatteConvStream: conv_chans = [num_channels] + convstream_hidden_sizes. */
  int conv_chans[CKW_MAX_STAGES + 1] = {c->num_channels};
  for (int j = 0; j < c->n_conv; j++) conv_chans[j + 1] = c->conv[j];
  for (int j = 0; j < c->n_conv && ok; j++) {
    snprintf(pre, sizeof pre, "decoder.convstream.convs.%d.conv.", j);
    ok &= put(set, dtype, CKW_PARAM, pre, "weight", 4, conv_chans[j + 1], conv_chans[j], 3, 3);
    snprintf(pre, sizeof pre, "decoder.convstream.convs.%d.batch_norm.", j);
    ok &= put_batch_norm(set, dtype, pre, conv_chans[j + 1]);
  }
  /* VitMatteDetailCaptureModule: fusion_channels = [hidden_size] + fusion_hidden_sizes, block i takes
   * fusion_channels[i] + conv_chans[-(i + 1)] channels. */
  int fusion_channels[CKW_MAX_STAGES + 1] = {c->hidden};
  for (int k = 0; k <= c->n_conv; k++) fusion_channels[k + 1] = c->fusion[k];
  for (int k = 0; k <= c->n_conv && ok; k++) {
    int in = fusion_channels[k] + conv_chans[c->n_conv - k];
    snprintf(pre, sizeof pre, "decoder.fusion_blocks.%d.conv.conv.", k);
    ok &= put(set, dtype, CKW_PARAM, pre, "weight", 4, fusion_channels[k + 1], in, 3, 3);
    snprintf(pre, sizeof pre, "decoder.fusion_blocks.%d.conv.batch_norm.", k);
    ok &= put_batch_norm(set, dtype, pre, fusion_channels[k + 1]);
  }
  const char *h = "decoder.matting_head.matting_convs.";
  ok &= put(set, dtype, CKW_PARAM, h, "0.weight", 4, 16, c->fusion[c->n_conv], 3, 3);
  ok &= put(set, dtype, CKW_PARAM, h, "0.bias", 1, 16, 0, 0, 0);
  ok &= put_batch_norm(set, dtype, "decoder.matting_head.matting_convs.1.", 16);
  ok &= put(set, dtype, CKW_PARAM, h, "3.weight", 4, 1, 16, 1, 1);
  ok &= put(set, dtype, CKW_PARAM, h, "3.bias", 1, 1, 0, 0, 0);
  return ok;
}

void ckw_free(ckw_set *set) {
  for (int i = 0; i < set->count; i++) free_tensor(&set->t[i]);
  free(set->t);
  memset(set, 0, sizeof *set);
}

int64_t ckw_num_parameters(const ckw_set *set) {
  int64_t n = 0;
  for (int i = 0; i < set->count; i++)
    if (set->t[i].role == CKW_PARAM) n += set->t[i].numel;
  return n;
}

/* ---- serialisation ------------------------------------------------------------------------------------------ */

static json_object *int_array(const int *v, int n) {
  json_object *a = json_object_new_array();
  for (int i = 0; i < n; i++) json_object_array_add(a, json_object_new_int(v[i]));
  return a;
}

char *ckw_config_json(const ckw_config *c) {
  json_object *root = json_object_new_object(), *bb = json_object_new_object();
  json_object_object_add(bb, "model_type", json_object_new_string("vitdet"));
  json_object_object_add(bb, "hidden_size", json_object_new_int(c->hidden));
  json_object_object_add(bb, "num_attention_heads", json_object_new_int(c->heads));
  json_object_object_add(bb, "num_hidden_layers", json_object_new_int(c->layers));
  json_object_object_add(bb, "mlp_ratio", json_object_new_double(c->mlp_ratio));
  json_object_object_add(bb, "hidden_act", json_object_new_string("gelu"));
  json_object_object_add(bb, "layer_norm_eps", json_object_new_double(1e-6));
  json_object_object_add(bb, "patch_size", json_object_new_int(c->patch));
  json_object_object_add(bb, "image_size", json_object_new_int(c->image_size));
  json_object_object_add(bb, "pretrain_image_size", json_object_new_int(c->pretrain_image_size));
  json_object_object_add(bb, "num_channels", json_object_new_int(c->num_channels));
  json_object_object_add(bb, "window_size", json_object_new_int(c->window_size));
  json_object_object_add(bb, "window_block_indices", int_array(c->window_blocks, c->n_window));
  json_object_object_add(bb, "residual_block_indices", int_array(c->residual_blocks, c->n_residual));
  json_object_object_add(bb, "qkv_bias", json_object_new_boolean(c->qkv_bias));
  json_object_object_add(bb, "use_absolute_position_embeddings", json_object_new_boolean(c->use_abs));
  json_object_object_add(bb, "use_relative_position_embeddings", json_object_new_boolean(c->use_rel));
  char stage[32];
  if (c->out_stage == 0) snprintf(stage, sizeof stage, "stem");
  else snprintf(stage, sizeof stage, "stage%d", c->out_stage);
  json_object *feats = json_object_new_array();
  json_object_array_add(feats, json_object_new_string(stage));
  json_object_object_add(bb, "out_features", feats);
  json_object_object_add(root, "architectures", json_object_new_array());
  json_object_object_add(root, "backbone_config", bb);
  json_object_object_add(root, "hidden_size", json_object_new_int(c->hidden));
  json_object_object_add(root, "batch_norm_eps", json_object_new_double(c->bn_eps));
  json_object_object_add(root, "convstream_hidden_sizes", int_array(c->conv, c->n_conv));
  json_object_object_add(root, "fusion_hidden_sizes", int_array(c->fusion, c->n_conv + 1));
  json_object_object_add(root, "model_type", json_object_new_string("vitmatte"));
  char *text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED));
  json_object_put(root);
  return text;
}

static bool assemble(const char *header, size_t hlen, const uint8_t *const *parts, const size_t *sizes, int nparts,
                     uint8_t **bytes, size_t *size) {
  size_t padded = (hlen + 7) / 8 * 8, data = 0;
  for (int i = 0; i < nparts; i++) data += sizes[i];
  uint8_t *b = malloc(8 + padded + data + 1);
  if (!b) return false;
  for (int k = 0; k < 8; k++) b[k] = (uint8_t)((uint64_t)padded >> (8 * k));
  memcpy(b + 8, header, hlen);
  memset(b + 8 + hlen, ' ', padded - hlen);
  size_t at = 8 + padded;
  for (int i = 0; i < nparts; i++) {
    if (sizes[i]) memcpy(b + at, parts[i], sizes[i]);
    at += sizes[i];
  }
  *bytes = b;
  *size = at;
  return true;
}

bool ckw_serialize(const ckw_set *set, uint8_t **bytes, size_t *size) {
  json_object *root = json_object_new_object(), *meta = json_object_new_object();
  json_object_object_add(meta, "format", json_object_new_string("pt"));
  json_object_object_add(root, "__metadata__", meta);
  uint64_t offset = 0;
  for (int i = 0; i < set->count; i++) {
    const ckw_tensor *t = &set->t[i];
    json_object *e = json_object_new_object(), *shape = json_object_new_array(), *offs = json_object_new_array();
    for (int d = 0; d < t->ndim; d++) json_object_array_add(shape, json_object_new_int64(t->shape[d]));
    json_object_array_add(offs, json_object_new_int64((int64_t)offset));
    json_object_array_add(offs, json_object_new_int64((int64_t)(offset + t->nbytes)));
    offset += t->nbytes;
    json_object_object_add(e, "dtype", json_object_new_string(t->dtype));
    json_object_object_add(e, "shape", shape);
    json_object_object_add(e, "data_offsets", offs);
    json_object_object_add(root, t->name, e);
  }
  const char *header = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
  const uint8_t **parts = malloc(sizeof *parts * (size_t)(set->count + 1));
  size_t *sizes = malloc(sizeof *sizes * (size_t)(set->count + 1));
  bool ok = parts && sizes;
  if (ok) {
    for (int i = 0; i < set->count; i++) parts[i] = set->t[i].bytes, sizes[i] = set->t[i].nbytes;
    ok = assemble(header, strlen(header), parts, sizes, set->count, bytes, size);
  }
  free(parts);
  free(sizes);
  json_object_put(root);
  return ok;
}

bool ckw_raw_safetensors(const char *header, size_t data_size, uint8_t **bytes, size_t *size) {
  uint8_t *data = malloc(data_size + 1);
  if (!data) return false;
  for (size_t i = 0; i < data_size; i++) data[i] = (uint8_t)i;
  const uint8_t *parts[1] = {data};
  size_t sizes[1] = {data_size};
  bool ok = assemble(header, strlen(header), parts, sizes, 1, bytes, size);
  free(data);
  return ok;
}

/* ---- files -------------------------------------------------------------------------------------------------- */

bool ckw_make_dir(char *dir) {
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, 4096, "%s/vitmatte-loader-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  return mkdtemp(dir) != NULL;
}

void ckw_remove_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    struct dirent *e;
    char path[8192];
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
      snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
      unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
}

bool ckw_write_file(const char *dir, const char *name, const void *data, size_t size) {
  char path[8192];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return false;
  bool ok = fwrite(data, 1, size, f) == size;
  return fclose(f) == 0 && ok;
}

bool ckw_write_checkpoint(const char *dir, const ckw_config *c, const char *config_text, const ckw_set *set) {
  char *own = config_text ? NULL : ckw_config_json(c);
  const char *text = config_text ? config_text : own;
  bool ok = text && ckw_write_file(dir, "config.json", text, strlen(text));
  free(own);
  uint8_t *bytes = NULL;
  size_t size = 0;
  ok = ok && ckw_serialize(set, &bytes, &size) && ckw_write_file(dir, "model.safetensors", bytes, size);
  free(bytes);
  return ok;
}
