/* Checks vm_config_parse against the released hub configs (spec section 5) and transformers' defaults, and that
 * every bad config is refused with the right status and a message naming the key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "check.h"
#include "config.h"

/* hustvl/vitmatte-small-composition-1k config.json, verbatim. */
static const char HUB_SMALL[] =
    "{\n"
    "  \"_commit_hash\": null,\n"
    "  \"architectures\": [\"VitMatteForImageMatting\"],\n"
    "  \"backbone_config\": {\n"
    "    \"hidden_size\": 384, \"image_size\": 512, \"model_type\": \"vitdet\", \"num_attention_heads\": 6,\n"
    "    \"num_channels\": 4, \"out_features\": [\"stage12\"], \"out_indices\": [12],\n"
    "    \"residual_block_indices\": [2, 5, 8, 11], \"use_relative_position_embeddings\": true,\n"
    "    \"window_block_indices\": [0, 1, 3, 4, 6, 7, 9, 10], \"window_size\": 14\n"
    "  },\n"
    "  \"convstream_hidden_sizes\": [48, 96, 192],\n"
    "  \"fusion_hidden_sizes\": [256, 128, 64, 32],\n"
    "  \"hidden_size\": 384, \"initializer_range\": 0.02, \"model_type\": \"vitmatte\", \"torch_dtype\": \"float32\",\n"
    "  \"transformers_version\": null\n"
    "}\n";

/* hustvl/vitmatte-base-distinctions-646: no hidden_size / num_attention_heads in the backbone block. */
static const char HUB_BASE[] =
    "{\n"
    "  \"_commit_hash\": null,\n"
    "  \"architectures\": [\"VitMatteForImageMatting\"],\n"
    "  \"backbone_config\": {\n"
    "    \"image_size\": 512, \"model_type\": \"vitdet\",\n"
    "    \"num_channels\": 4, \"out_features\": [\"stage12\"], \"out_indices\": [12],\n"
    "    \"residual_block_indices\": [2, 5, 8, 11], \"use_relative_position_embeddings\": true,\n"
    "    \"window_block_indices\": [0, 1, 3, 4, 6, 7, 9, 10], \"window_size\": 14\n"
    "  },\n"
    "  \"convstream_hidden_sizes\": [48, 96, 192],\n"
    "  \"fusion_hidden_sizes\": [256, 128, 64, 32],\n"
    "  \"hidden_size\": 768, \"initializer_range\": 0.02, \"model_type\": \"vitmatte\", \"torch_dtype\": \"float32\",\n"
    "  \"transformers_version\": null\n"
    "}\n";

/* HUB_SMALL with one key set to `value` (JSON text) or removed (value NULL). `path` is "key" or
 * "backbone_config.key". Returns malloc'ed text. */
static char *variant(const char *base, const char *path, const char *value) {
  json_object *root = json_tokener_parse(base);
  json_object *obj = root;
  char key[128];
  snprintf(key, sizeof key, "%s", path);
  char *dot = strchr(key, '.');
  const char *leaf = key;
  if (dot) {
    *dot = '\0';
    json_object_object_get_ex(root, key, &obj);
    leaf = dot + 1;
  }
  if (value) json_object_object_add(obj, leaf, json_tokener_parse(value));
  else json_object_object_del(obj, leaf);
  char *text = strdup(json_object_to_json_string(root));
  json_object_put(root);
  return text;
}

static vm_status parse_text(const char *text, vm_config *cfg, vm_error *err) {
  return vm_config_parse(text, strlen(text), cfg, err);
}

static void expect_bad(checker *c, const char *what, const char *path, const char *value, vm_status want,
                       const char *needle) {
  char *text = variant(HUB_SMALL, path, value);
  vm_config cfg;
  vm_error err = {0};
  vm_status s = parse_text(text, &cfg, &err);
  check_status(c, what, s, &err, want, needle, NULL);
  free(text);
}

static void expect_good(checker *c, const char *what, const char *path, const char *value, vm_config *cfg) {
  char *text = variant(HUB_SMALL, path, value);
  vm_error err = {0};
  vm_status s = parse_text(text, cfg, &err);
  check_status(c, what, s, &err, VM_OK, NULL, NULL);
  free(text);
}

static bool flags_are(const bool *flags, int n, const int *want, int nwant) {
  for (int i = 0; i < n; i++) {
    bool listed = false;
    for (int k = 0; k < nwant; k++) listed |= want[k] == i;
    if (flags[i] != listed) return false;
  }
  return true;
}

static void check_hub_small(checker *c) {
  vm_config cfg;
  vm_error err = {0};
  vm_status s = parse_text(HUB_SMALL, &cfg, &err);
  check_status(c, "hub small config parses", s, &err, VM_OK, NULL, NULL);
  if (s != VM_OK) return;
  static const int windows[] = {0, 1, 3, 4, 6, 7, 9, 10}, residual[] = {2, 5, 8, 11};
  check_true(c, cfg.hidden_size == 384 && cfg.num_attention_heads == 6 && cfg.head_dim == 64,
             "small: hidden 384, 6 heads, head_dim 64 (got %d, %d, %d)", cfg.hidden_size, cfg.num_attention_heads,
             cfg.head_dim);
  check_true(c, cfg.num_hidden_layers == 12 && cfg.num_layers_run == 12,
             "small: 12 layers, all run for stage12 (got %d, %d)", cfg.num_hidden_layers, cfg.num_layers_run);
  check_true(c, cfg.mlp_ratio == 4.0 && cfg.mlp_hidden == 1536, "small: default mlp_ratio 4 -> 1536 (got %g, %d)",
             cfg.mlp_ratio, cfg.mlp_hidden);
  check_true(c, cfg.patch_size == 16 && cfg.num_channels == 4, "small: default patch 16, 4 channels (got %d, %d)",
             cfg.patch_size, cfg.num_channels);
  check_true(c, cfg.image_size == 512 && cfg.pretrain_image_size == 224,
             "small: image_size 512, default pretrain_image_size 224 (got %d, %d)", cfg.image_size,
             cfg.pretrain_image_size);
  check_true(c, cfg.window_size == 14 && flags_are(cfg.window_block, VM_MAX_LAYERS, windows, 8),
             "small: window 14 on layers 0,1,3,4,6,7,9,10 only");
  check_true(c, flags_are(cfg.residual_block, VM_MAX_LAYERS, residual, 4), "small: residual blocks on 2,5,8,11 only");
  check_true(c, cfg.qkv_bias && cfg.use_absolute_position_embeddings && cfg.use_relative_position_embeddings,
             "small: qkv_bias and absolute pos default true, relative pos true");
  check_true(c, cfg.layer_norm_eps == 1e-6 && cfg.batch_norm_eps == 1e-5,
             "small: default layer_norm_eps 1e-6, batch_norm_eps 1e-5 (got %g, %g)", cfg.layer_norm_eps,
             cfg.batch_norm_eps);
  check_true(c, cfg.decoder_in_channels == 384 && cfg.num_convstream == 3 && cfg.num_fusion == 4 &&
                    cfg.convstream_hidden_sizes[0] == 48 && cfg.convstream_hidden_sizes[2] == 192 &&
                    cfg.fusion_hidden_sizes[0] == 256 && cfg.fusion_hidden_sizes[3] == 32,
             "small: decoder 384 in, convstream [48,96,192], fusion [256,128,64,32]");
  check_true(c, vm_config_rel_pos_len(&cfg, 0) == 27 && vm_config_rel_pos_len(&cfg, 2) == 63 &&
                    vm_config_rel_pos_len(&cfg, 11) == 63 && vm_config_rel_pos_len(&cfg, 10) == 27,
             "small: rel-pos length 27 on windowed layers, 63 = 2*512/16-1 on global ones");
}

static void check_hub_base(checker *c) {
  vm_config cfg;
  vm_error err = {0};
  vm_status s = parse_text(HUB_BASE, &cfg, &err);
  check_status(c, "hub base config parses", s, &err, VM_OK, NULL, NULL);
  if (s != VM_OK) return;
  check_true(c, cfg.hidden_size == 768 && cfg.num_attention_heads == 12 && cfg.head_dim == 64,
             "base: absent backbone hidden_size/heads default to 768/12, head_dim 64 (got %d, %d, %d)",
             cfg.hidden_size, cfg.num_attention_heads, cfg.head_dim);
  check_true(c, cfg.mlp_hidden == 3072 && cfg.decoder_in_channels == 768, "base: mlp 3072, decoder input 768");
}

static void check_defaults_and_options(checker *c) {
  vm_config cfg;
  /* VitDetConfig's own defaults differ from the hub values: check a few by removing keys. */
  expect_good(c, "absent window_size defaults to 0 (no windowed layers)", "backbone_config.window_size", NULL, &cfg);
  bool any = false;
  for (int i = 0; i < VM_MAX_LAYERS; i++) any |= cfg.window_block[i];
  check_true(c, cfg.window_size == 0 && !any && vm_config_rel_pos_len(&cfg, 0) == 63,
             "window_size 0: no layer windowed, layer 0 uses the global rel-pos length 63");
  expect_good(c, "absent image_size defaults to 224", "backbone_config.image_size", NULL, &cfg);
  check_true(c, cfg.image_size == 224 && vm_config_rel_pos_len(&cfg, 2) == 27,
             "image_size 224 -> global rel-pos length 27 (got %d)", vm_config_rel_pos_len(&cfg, 2));
  expect_good(c, "absent use_relative_position_embeddings defaults to false",
              "backbone_config.use_relative_position_embeddings", NULL, &cfg);
  check_true(c, !cfg.use_relative_position_embeddings, "use_relative_position_embeddings is false");
  expect_good(c, "absent convstream/fusion keep defaults", "convstream_hidden_sizes", NULL, &cfg);
  check_true(c, cfg.num_convstream == 3 && cfg.convstream_hidden_sizes[1] == 96, "convstream default [48,96,192]");

  expect_good(c, "out_features absent, out_indices [12]", "backbone_config.out_features", NULL, &cfg);
  check_true(c, cfg.num_layers_run == 12, "out_indices [12] runs 12 layers (got %d)", cfg.num_layers_run);
  char *t = variant(HUB_SMALL, "backbone_config.out_features", NULL);
  char *t2 = variant(t, "backbone_config.out_indices", "[6]");
  vm_error err = {0};
  check_status(c, "out_features absent, out_indices [6]", parse_text(t2, &cfg, &err), &err, VM_OK, NULL, NULL);
  check_true(c, cfg.num_layers_run == 6 && cfg.num_hidden_layers == 12, "out_indices [6] runs 6 of 12 layers (got %d)",
             cfg.num_layers_run);
  free(t2);
  t2 = variant(t, "backbone_config.out_indices", "[-1]");
  check_status(c, "out_indices [-1] (Python indexing)", parse_text(t2, &cfg, &err), &err, VM_OK, NULL, NULL);
  check_true(c, cfg.num_layers_run == 12, "out_indices [-1] is stage12 (got %d)", cfg.num_layers_run);
  free(t2);
  free(t);
  t = variant(HUB_SMALL, "backbone_config.out_indices", NULL);
  t2 = variant(t, "backbone_config.out_features", "[\"stage3\", \"stage8\"]");
  check_status(c, "out_features [stage3, stage8]", parse_text(t2, &cfg, &err), &err, VM_OK, NULL, NULL);
  check_true(c, cfg.num_layers_run == 8, "the output is the last stage, stage8 (got %d)", cfg.num_layers_run);
  free(t2);
  t2 = variant(t, "backbone_config.out_features", "[\"stem\"]");
  check_status(c, "out_features [stem]", parse_text(t2, &cfg, &err), &err, VM_OK, NULL, NULL);
  check_true(c, cfg.num_layers_run == 0, "stem runs no layer (got %d)", cfg.num_layers_run);
  free(t2);
  t2 = variant(t, "backbone_config.out_features", NULL);
  check_status(c, "neither out_features nor out_indices", parse_text(t2, &cfg, &err), &err, VM_OK, NULL, NULL);
  check_true(c, cfg.num_layers_run == 12, "default output is the last stage (got %d)", cfg.num_layers_run);
  free(t2);
  free(t);

  expect_good(c, "image_size as [512, 512]", "backbone_config.image_size", "[512, 512]", &cfg);
  check_true(c, cfg.image_size == 512, "image_size [512, 512] -> 512");
  expect_good(c, "mlp_ratio 2.5", "backbone_config.mlp_ratio", "2.5", &cfg);
  check_true(c, cfg.mlp_hidden == 960, "int(384 * 2.5) = 960 (got %d)", cfg.mlp_hidden);
  expect_good(c, "qkv_bias false", "backbone_config.qkv_bias", "false", &cfg);
  check_true(c, !cfg.qkv_bias, "qkv_bias false is kept");
  expect_good(c, "unknown keys are ignored", "something_new", "{\"nested\": [1, {\"x\": null}]}", &cfg);
  expect_good(c, "layer_norm_eps as a JSON integer", "backbone_config.layer_norm_eps", "0", &cfg);
  expect_good(c, "batch_norm_eps 1e-3", "batch_norm_eps", "1e-3", &cfg);
  check_true(c, cfg.batch_norm_eps == 1e-3, "batch_norm_eps 1e-3 is kept");
  expect_good(c, "model_type absent", "model_type", NULL, &cfg);
}

static void check_bad_configs(checker *c) {
  vm_config cfg;
  vm_error err = {0};
  static const char *invalid_json[][2] = {
      {"truncated JSON", "{\"backbone_config\": {\"hidden_size\": 384"},
      {"trailing text after the object", "{\"hidden_size\": 384} xyz"},
      {"not JSON at all", "hidden_size = 384"},
      {"a trailing comma", "{\"hidden_size\": 384,}"},
  };
  for (size_t i = 0; i < sizeof invalid_json / sizeof invalid_json[0]; i++)
    check_status(c, invalid_json[i][0], parse_text(invalid_json[i][1], &cfg, &err), &err, VM_ERR_FORMAT, "JSON",
                 NULL);
  check_status(c, "a JSON list at the top", parse_text("[1, 2]", &cfg, &err), &err, VM_ERR_FORMAT, "object", NULL);
  check_status(c, "empty text", vm_config_parse("", 0, &cfg, &err), &err, VM_ERR_FORMAT, "empty", NULL);

  /* Wrong JSON types. */
  expect_bad(c, "hidden_size as a string", "backbone_config.hidden_size", "\"384\"", VM_ERR_FORMAT,
             "backbone_config.hidden_size");
  expect_bad(c, "hidden_size as a float", "backbone_config.hidden_size", "384.0", VM_ERR_FORMAT,
             "backbone_config.hidden_size");
  expect_bad(c, "num_attention_heads null", "backbone_config.num_attention_heads", "null", VM_ERR_FORMAT,
             "num_attention_heads");
  expect_bad(c, "qkv_bias as 1", "backbone_config.qkv_bias", "1", VM_ERR_FORMAT, "qkv_bias");
  expect_bad(c, "window_block_indices as a string", "backbone_config.window_block_indices", "\"0,1\"",
             VM_ERR_FORMAT, "window_block_indices");
  expect_bad(c, "residual_block_indices with a string", "backbone_config.residual_block_indices", "[2, \"5\"]",
             VM_ERR_FORMAT, "residual_block_indices");
  expect_bad(c, "layer_norm_eps as a string", "backbone_config.layer_norm_eps", "\"1e-6\"", VM_ERR_FORMAT,
             "layer_norm_eps");
  expect_bad(c, "mlp_ratio as a string", "backbone_config.mlp_ratio", "\"4\"", VM_ERR_FORMAT, "mlp_ratio");
  expect_bad(c, "backbone_config as a list", "backbone_config", "[]", VM_ERR_FORMAT, "backbone_config");
  expect_bad(c, "convstream_hidden_sizes as an object", "convstream_hidden_sizes", "{}", VM_ERR_FORMAT,
             "convstream_hidden_sizes");
  expect_bad(c, "fusion_hidden_sizes with a float", "fusion_hidden_sizes", "[256, 128, 64.5, 32]", VM_ERR_FORMAT,
             "fusion_hidden_sizes");
  expect_bad(c, "out_features as a string", "backbone_config.out_features", "\"stage12\"", VM_ERR_FORMAT,
             "out_features");
  expect_bad(c, "image_size as a string", "backbone_config.image_size", "\"512\"", VM_ERR_FORMAT, "image_size");
  expect_bad(c, "use_relative_position_embeddings as a string", "backbone_config.use_relative_position_embeddings",
             "\"true\"", VM_ERR_FORMAT, "use_relative_position_embeddings");
  expect_bad(c, "hidden_act as a number", "backbone_config.hidden_act", "1", VM_ERR_FORMAT, "hidden_act");
  expect_bad(c, "model_type as a number", "model_type", "3", VM_ERR_FORMAT, "model_type");

  /* Unsupported or impossible values. */
  expect_bad(c, "hidden_act relu", "backbone_config.hidden_act", "\"relu\"", VM_ERR_UNSUPPORTED, "hidden_act");
  expect_bad(c, "hidden_act gelu_new", "backbone_config.hidden_act", "\"gelu_new\"", VM_ERR_UNSUPPORTED,
             "hidden_act");
  expect_bad(c, "hidden_size not divisible by heads", "backbone_config.num_attention_heads", "5", VM_ERR_FORMAT,
             "num_attention_heads");
  expect_bad(c, "window index past the last layer", "backbone_config.window_block_indices", "[0, 12]",
             VM_ERR_FORMAT, "window_block_indices");
  expect_bad(c, "negative residual index", "backbone_config.residual_block_indices", "[-1]", VM_ERR_FORMAT,
             "residual_block_indices");
  expect_bad(c, "num_channels 3", "backbone_config.num_channels", "3", VM_ERR_UNSUPPORTED, "num_channels");
  expect_bad(c, "top-level hidden_size differs from the backbone's", "hidden_size", "768", VM_ERR_FORMAT,
             "hidden_size");
  expect_bad(c, "fusion_hidden_sizes one too short", "fusion_hidden_sizes", "[256, 128, 64]", VM_ERR_FORMAT,
             "fusion_hidden_sizes");
  expect_bad(c, "hidden_size 0", "backbone_config.hidden_size", "0", VM_ERR_FORMAT, "hidden_size");
  expect_bad(c, "hidden_size negative", "backbone_config.hidden_size", "-384", VM_ERR_FORMAT, "hidden_size");
  expect_bad(c, "hidden_size absurd", "backbone_config.hidden_size", "1000000", VM_ERR_UNSUPPORTED, "hidden_size");
  expect_bad(c, "hidden_size beyond int64", "backbone_config.hidden_size", "99999999999999999999",
             VM_ERR_UNSUPPORTED, "hidden_size");
  expect_bad(c, "num_hidden_layers absurd", "backbone_config.num_hidden_layers", "100000", VM_ERR_UNSUPPORTED,
             "num_hidden_layers");
  expect_bad(c, "num_hidden_layers 0", "backbone_config.num_hidden_layers", "0", VM_ERR_FORMAT,
             "num_hidden_layers");
  expect_bad(c, "patch_size 0", "backbone_config.patch_size", "0", VM_ERR_FORMAT, "patch_size");
  expect_bad(c, "patch_size 8 with 3 convstream stages", "backbone_config.patch_size", "8", VM_ERR_FORMAT,
             "patch_size");
  expect_bad(c, "window_size negative", "backbone_config.window_size", "-14", VM_ERR_FORMAT, "window_size");
  expect_bad(c, "image_size [512, 640]", "backbone_config.image_size", "[512, 640]", VM_ERR_UNSUPPORTED,
             "image_size");
  expect_bad(c, "image_size [512]", "backbone_config.image_size", "[512]", VM_ERR_FORMAT, "image_size");
  expect_bad(c, "pretrain_image_size smaller than a patch", "backbone_config.pretrain_image_size", "8",
             VM_ERR_FORMAT, "pretrain_image_size");
  expect_bad(c, "mlp_ratio 0", "backbone_config.mlp_ratio", "0", VM_ERR_FORMAT, "mlp_ratio");
  expect_bad(c, "layer_norm_eps negative", "backbone_config.layer_norm_eps", "-1e-6", VM_ERR_FORMAT,
             "layer_norm_eps");
  expect_bad(c, "convstream channel 0", "convstream_hidden_sizes", "[48, 0, 192]", VM_ERR_FORMAT,
             "convstream_hidden_sizes");
  expect_bad(c, "too many decoder stages", "convstream_hidden_sizes", "[1,2,3,4,5,6,7,8,9]", VM_ERR_UNSUPPORTED,
             "convstream_hidden_sizes");
  expect_bad(c, "model_type vit", "model_type", "\"vit\"", VM_ERR_UNSUPPORTED, "model_type");
  expect_bad(c, "backbone model_type swin", "backbone_config.model_type", "\"swin\"", VM_ERR_UNSUPPORTED,
             "backbone_config.model_type");
  expect_bad(c, "out_features names a missing stage", "backbone_config.out_features", "[\"stage13\"]",
             VM_ERR_FORMAT, "out_features");
  expect_bad(c, "out_features disagrees with out_indices", "backbone_config.out_indices", "[11]", VM_ERR_FORMAT,
             "out_indices");
  expect_bad(c, "out_indices past the last stage", "backbone_config.out_indices", "[13]", VM_ERR_FORMAT,
             "out_indices");
  expect_bad(c, "empty out_features", "backbone_config.out_features", "[]", VM_ERR_FORMAT, "out_features");
  char *no_idx = variant(HUB_SMALL, "backbone_config.out_indices", NULL);
  char *t = variant(no_idx, "backbone_config.out_features", "[\"stage8\", \"stage3\"]");
  check_status(c, "out_features out of stage order", parse_text(t, &cfg, &err), &err, VM_ERR_FORMAT, "out_features",
               "order");
  free(t);
  t = variant(no_idx, "backbone_config.out_features", "[\"stage3\", \"stage3\"]");
  check_status(c, "out_features with a repeat", parse_text(t, &cfg, &err), &err, VM_ERR_FORMAT, "out_features",
               "repeats");
  free(t);
  free(no_idx);
  char *no_feat = variant(HUB_SMALL, "backbone_config.out_features", NULL);
  t = variant(no_feat, "backbone_config.out_indices", "[-1, 3]");
  check_status(c, "out_indices [-1, 3] (12 then 3: out of order)", parse_text(t, &cfg, &err), &err, VM_ERR_FORMAT,
               "out_indices", "order");
  free(t);
  t = variant(no_feat, "backbone_config.out_indices", "[3, -1]");
  check_status(c, "out_indices [3, -1]", parse_text(t, &cfg, &err), &err, VM_OK, NULL, NULL);
  check_true(c, cfg.num_layers_run == 12, "out_indices [3, -1] outputs stage12 (got %d)", cfg.num_layers_run);
  free(t);
  free(no_feat);

  /* VitMatteConfig() without backbone_config builds a 3-channel VitDet: not a ViTMatte this engine can run. */
  expect_bad(c, "backbone_config absent", "backbone_config", NULL, VM_ERR_UNSUPPORTED, "num_channels");
  expect_bad(c, "backbone_config null", "backbone_config", "null", VM_ERR_UNSUPPORTED, "num_channels");
}

static void check_files(checker *c) {
  vm_config cfg;
  vm_error err = {0};
  check_status(c, "vm_config_load of a missing file", vm_config_load("/nonexistent/config.json", &cfg, &err), &err,
               VM_ERR_IO, "/nonexistent/config.json", NULL);
  check_status(c, "vm_config_load of a folder", vm_config_load("/", &cfg, &err), &err, VM_ERR_IO, "/", NULL);
  check_status(c, "NULL text", vm_config_parse(NULL, 3, &cfg, &err), &err, VM_ERR_INVALID_ARGUMENT, NULL, NULL);
}

int main(void) {
  checker c = {0};
  check_hub_small(&c);
  check_hub_base(&c);
  check_defaults_and_options(&c);
  check_bad_configs(&c);
  check_files(&c);
  return check_finish(&c, "test_config");
}
