/* Checks vm_model_load / vm_model_load_files on checkpoint folders written to a temporary directory: valid folders
 * and files load (a full-size ViTMatte-S with the hub config has the published parameter count), and every broken
 * folder or file is refused with the right status and a message naming the file, key or tensor. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint_writer.h"
#include "model.h"

/* hustvl/vitmatte-small-composition-1k config.json (spec section 5). */
static const char HUB_SMALL[] =
    "{\"_commit_hash\": null, \"architectures\": [\"VitMatteForImageMatting\"],\n"
    " \"backbone_config\": {\"hidden_size\": 384, \"image_size\": 512, \"model_type\": \"vitdet\",\n"
    "   \"num_attention_heads\": 6, \"num_channels\": 4, \"out_features\": [\"stage12\"], \"out_indices\": [12],\n"
    "   \"residual_block_indices\": [2, 5, 8, 11], \"use_relative_position_embeddings\": true,\n"
    "   \"window_block_indices\": [0, 1, 3, 4, 6, 7, 9, 10], \"window_size\": 14},\n"
    " \"convstream_hidden_sizes\": [48, 96, 192], \"fusion_hidden_sizes\": [256, 128, 64, 32],\n"
    " \"hidden_size\": 384, \"initializer_range\": 0.02, \"model_type\": \"vitmatte\", \"torch_dtype\": \"float32\",\n"
    " \"transformers_version\": null}\n";

/* A fresh folder holding a valid tiny checkpoint. */
static bool tiny_folder(char *dir, ckw_set *set) {
  ckw_config cc = ckw_tiny();
  return ckw_make_dir(dir) && ckw_build(&cc, "F32", 42, set) && ckw_write_checkpoint(dir, &cc, NULL, set);
}

static void expect_load(checker *c, const char *what, const char *path, vm_status want, const char *needle1,
                        const char *needle2) {
  vm_model *m = (vm_model *)&m; /* a non-NULL value: a failed load must set it to NULL */
  vm_error err = {0};
  vm_status s = vm_model_load(path, &m, &err);
  check_status(c, what, s, &err, want, needle1, needle2);
  if (s != VM_OK) check_true(c, m == NULL, "%s: *out is NULL after the failure", what);
  vm_model_free(s == VM_OK ? m : NULL);
}

static void check_valid_tiny(checker *c) {
  char dir[4096], path[4200];
  ckw_set set;
  if (!check_true(c, tiny_folder(dir, &set), "write a tiny checkpoint folder")) return;

  vm_model *m = NULL;
  vm_error err = {0};
  vm_status s = vm_model_load(dir, &m, &err);
  check_status(c, "load a folder", s, &err, VM_OK, NULL, NULL);
  if (s == VM_OK) {
    vm_model_info info;
    vm_model_get_info(m, &info);
    check_true(c, info.hidden_size == 32 && info.num_attention_heads == 2 && info.num_hidden_layers == 3 &&
                      info.patch_size == 4 && info.window_size == 2 && strcmp(info.stored_dtype, "F32") == 0,
               "info: hidden 32, 2 heads, 3 layers, patch 4, window 2, F32");
    check_true(c, info.num_parameters == ckw_num_parameters(&set), "info: %lld parameters (writer: %lld)",
               (long long)info.num_parameters, (long long)ckw_num_parameters(&set));
  }
  /* The model must not point into the file buffer (freed after loading): read every value after deleting the
   * folder; AddressSanitizer reports any stale pointer. */
  ckw_remove_dir(dir);
  if (s == VM_OK) {
    double sum = 0;
    int slots = 0;
    vm_params *P = &m->params;
    for (int l = 0; l < P->num_layers; l++)
      for (int i = 0; i < VM_L_COUNT; i++)
        if (P->layer[l][i].data) {
          slots++;
          for (int64_t k = 0; k < P->layer[l][i].numel; k++) sum += ((float *)P->layer[l][i].data)[k];
        }
    const ckw_tensor *first = ckw_find(&set, "backbone.encoder.layer.0.norm1.weight");
    check_true(c, slots > 0 && sum == sum && ((float *)P->layer[0][VM_L_NORM1_W].data)[0] == (float)first->values[0],
               "after the folder is deleted all %d layer slots still read back (no pointer into the file)", slots);
    vm_model_free(m);
  }
  ckw_free(&set);

  if (!tiny_folder(dir, &set)) return;
  snprintf(path, sizeof path, "%s/model.safetensors", dir);
  expect_load(c, "load a .safetensors path (config.json beside it)", path, VM_OK, NULL, NULL);
  char cfg_path[4200];
  snprintf(cfg_path, sizeof cfg_path, "%s/config.json", dir);
  m = NULL;
  s = vm_model_load_files(cfg_path, path, &m, &err);
  check_status(c, "vm_model_load_files", s, &err, VM_OK, NULL, NULL);
  vm_model_free(m);
  snprintf(path, sizeof path, "%s/", dir);
  expect_load(c, "load a folder path ending in /", path, VM_OK, NULL, NULL);
  ckw_remove_dir(dir);
  ckw_free(&set);
}

static void check_small(checker *c) {
  /* Full-size ViTMatte-S, F16 to halve the file: the count must be the published 25,814,753. */
  char dir[4096];
  ckw_config cc = ckw_small();
  ckw_set set;
  bool ok = ckw_make_dir(dir) && ckw_build(&cc, "F16", 3, &set) && ckw_write_checkpoint(dir, &cc, HUB_SMALL, &set);
  if (!check_true(c, ok, "write a ViTMatte-S sized checkpoint with the hub config")) return;
  vm_model *m = NULL;
  vm_error err = {0};
  vm_status s = vm_model_load(dir, &m, &err);
  check_status(c, "load ViTMatte-S (hub config)", s, &err, VM_OK, NULL, NULL);
  if (s == VM_OK) {
    vm_model_info info;
    vm_model_get_info(m, &info);
    check_true(c, info.num_parameters == 25814753, "ViTMatte-S has 25,814,753 trainable parameters (got %lld)",
               (long long)info.num_parameters);
    check_true(c, info.hidden_size == 384 && info.num_attention_heads == 6 && info.num_hidden_layers == 12 &&
                      info.patch_size == 16 && info.window_size == 14 && strcmp(info.stored_dtype, "F16") == 0,
               "ViTMatte-S info: 384, 6 heads, 12 layers, patch 16, window 14, F16");
    check_true(c, m->params.layer[2][VM_L_REL_H].numel == 63 * 64 && m->params.layer[0][VM_L_REL_H].numel == 27 * 64 &&
                      m->params.stem[VM_STEM_POS].numel == 196 * 384 && m->params.fusion[0][VM_CONV_W].numel ==
                      256 * 9 * 576,
               "ViTMatte-S slots: rel-pos 63x64 (global) / 27x64 (window), 196x384 positions, fusion 0 256x3x3x576");
    /* its 103 MB of weights in one block of whole 2 MiB pages advised for huge pages (huge_pages.h; main() unsets
     * VITMATTE_HUGE_PAGES): malloc would start it 16 bytes into a page */
    check_true(c, (uintptr_t)m->storage % ((uintptr_t)2 << 20) == 0,
               "ViTMatte-S weights: one block starting a 2 MiB page");
    vm_model_free(m);
  }
  ckw_remove_dir(dir);
  ckw_free(&set);
}

/* A tiny folder with model.safetensors replaced by `bytes`. */
static void expect_weights_bytes(checker *c, const char *what, const uint8_t *bytes, size_t size, vm_status want,
                                 const char *needle1, const char *needle2) {
  char dir[4096];
  ckw_set set;
  if (!tiny_folder(dir, &set)) return;
  ckw_write_file(dir, "model.safetensors", bytes, size);
  expect_load(c, what, dir, want, needle1, needle2);
  ckw_remove_dir(dir);
  ckw_free(&set);
}

static void expect_config_text(checker *c, const char *what, const char *text, vm_status want, const char *needle1,
                               const char *needle2) {
  char dir[4096];
  ckw_set set;
  if (!tiny_folder(dir, &set)) return;
  ckw_write_file(dir, "config.json", text, strlen(text));
  expect_load(c, what, dir, want, needle1, needle2);
  ckw_remove_dir(dir);
  ckw_free(&set);
}

static void check_broken_weights(checker *c) {
  ckw_config cc = ckw_tiny();
  ckw_set set;
  ckw_build(&cc, "F32", 42, &set);
  uint8_t *bytes;
  size_t size;
  ckw_serialize(&set, &bytes, &size);
  uint64_t hlen = 0;
  for (int k = 7; k >= 0; k--) hlen = hlen << 8 | bytes[k];

  expect_weights_bytes(c, "truncated inside the length", bytes, 3, VM_ERR_FORMAT, "model.safetensors", "too short");
  expect_weights_bytes(c, "truncated inside the header", bytes, 8 + (size_t)hlen / 3, VM_ERR_FORMAT,
                       "model.safetensors", "truncated");
  expect_weights_bytes(c, "truncated inside the data", bytes, size - 100, VM_ERR_FORMAT, "data_offsets",
                       "truncated");
  expect_weights_bytes(c, "truncated to the header only", bytes, 8 + (size_t)hlen, VM_ERR_FORMAT, "data_offsets",
                       NULL);
  uint8_t *bad = malloc(size);
  memcpy(bad, bytes, size);
  for (int k = 0; k < 8; k++) bad[k] = (uint8_t)((uint64_t)size >> (8 * k));
  expect_weights_bytes(c, "header length past the end", bad, size, VM_ERR_FORMAT, "header length", "past the end");
  memcpy(bad, bytes, size);
  bad[5] = 1; /* header length + 2^40 */
  expect_weights_bytes(c, "absurd header length", bad, size, VM_ERR_FORMAT, "header length", "not a safetensors");
  memcpy(bad, bytes, size);
  for (int k = 0; k < 8; k++) bad[k] = (uint8_t)((uint64_t)(size - 8) >> (8 * k));
  expect_weights_bytes(c, "header length covering the data", bad, size, VM_ERR_FORMAT, "JSON", NULL);
  free(bad);
  free(bytes);

  static const uint8_t zip[] = {'P', 'K', 3, 4, 20, 0, 8, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  expect_weights_bytes(c, "a zip (torch.save) file named model.safetensors", zip, sizeof zip, VM_ERR_FORMAT,
                       "PyTorch pickle", "model.safetensors");

  /* Header-level problems in a file that is otherwise valid. */
  ckw_put(&set, "backbone.encoder.layer.0.attention.qkv.weight", "F32", CKW_PARAM, 2, (const int64_t[]){96, 31});
  char dir[4096];
  ckw_make_dir(dir);
  ckw_write_checkpoint(dir, &cc, NULL, &set);
  expect_load(c, "a tensor with the wrong shape", dir, VM_ERR_MODEL, "backbone.encoder.layer.0.attention.qkv.weight",
              "[96, 31]");
  ckw_remove_dir(dir);
  ckw_free(&set);
}

static void check_pickles_and_folders(checker *c) {
  static const uint8_t pickle[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8,
                                   0x50, 0x19, 0x2e, 0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e};
  char dir[4096], path[4200];
  ckw_config cc = ckw_tiny();
  char *cfg = ckw_config_json(&cc);

  ckw_make_dir(dir);
  ckw_write_file(dir, "config.json", cfg, strlen(cfg));
  ckw_write_file(dir, "pytorch_model.bin", pickle, sizeof pickle);
  expect_load(c, "a folder with only pytorch_model.bin", dir, VM_ERR_FORMAT, "pytorch_model.bin",
              "download model.safetensors");
  snprintf(path, sizeof path, "%s/pytorch_model.bin", dir);
  expect_load(c, "the path of a pytorch_model.bin", path, VM_ERR_FORMAT, "PyTorch pickle", "save_pretrained");
  ckw_remove_dir(dir);

  ckw_make_dir(dir);
  ckw_write_file(dir, "config.json", cfg, strlen(cfg));
  expect_load(c, "a folder without model.safetensors", dir, VM_ERR_IO, "model.safetensors", dir);
  ckw_write_file(dir, "model.safetensors.index.json", "{}", 2);
  expect_load(c, "a sharded checkpoint folder", dir, VM_ERR_UNSUPPORTED, "sharded", NULL);
  ckw_remove_dir(dir);

  ckw_set set;
  tiny_folder(dir, &set);
  snprintf(path, sizeof path, "%s/config.json", dir);
  remove(path);
  expect_load(c, "a folder without config.json", dir, VM_ERR_IO, "config.json", NULL);
  ckw_remove_dir(dir);
  ckw_free(&set);

  expect_load(c, "a path that does not exist", "/nonexistent/vitmatte-model", VM_ERR_IO, "/nonexistent/vitmatte-model",
              NULL);
  vm_error err = {0};
  check_status(c, "NULL path", vm_model_load(NULL, NULL, &err), &err, VM_ERR_INVALID_ARGUMENT, NULL, NULL);
  free(cfg);
}

static void check_broken_configs(checker *c) {
  expect_config_text(c, "config.json with bad JSON", "{\"backbone_config\": {\"hidden_size\": 32,", VM_ERR_FORMAT,
                     "config.json", "JSON");
  expect_config_text(c, "config.json that is empty", "", VM_ERR_FORMAT, "config.json", "empty");
  ckw_config cc = ckw_tiny();
  char *text = ckw_config_json(&cc);
  char *p = strstr(text, "\"num_attention_heads\": 2");
  char *wrong = malloc(strlen(text) + 8);
  if (p) {
    snprintf(wrong, strlen(text) + 8, "%.*s\"num_attention_heads\": \"2\"%s", (int)(p - text), text,
             p + strlen("\"num_attention_heads\": 2"));
    expect_config_text(c, "config.json with a string for num_attention_heads", wrong, VM_ERR_FORMAT,
                       "backbone_config.num_attention_heads", "config.json");
  }
  p = strstr(text, "\"hidden_act\": \"gelu\"");
  if (p) {
    snprintf(wrong, strlen(text) + 8, "%.*s\"hidden_act\": \"silu\"%s", (int)(p - text), text,
             p + strlen("\"hidden_act\": \"gelu\""));
    expect_config_text(c, "config.json with hidden_act silu", wrong, VM_ERR_UNSUPPORTED, "hidden_act", "silu");
  }
  check_true(c, p != NULL, "the writer's config has the keys these checks edit");
  free(wrong);
  free(text);
}

int main(void) {
  checker c = {0};
  unsetenv("VITMATTE_HUGE_PAGES");
  check_valid_tiny(&c);
  check_broken_weights(&c);
  check_pickles_and_folders(&c);
  check_broken_configs(&c);
  check_small(&c);
  return check_finish(&c, "test_model_load");
}
