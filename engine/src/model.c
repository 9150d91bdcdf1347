#include "model.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "error.h"

static char *join_path(const char *dir, size_t dir_len, const char *name) {
  size_t n = strlen(name);
  char *p = malloc(dir_len + 1 + n + 1);
  if (!p) return NULL;
  memcpy(p, dir, dir_len);
  size_t at = dir_len;
  if (at > 0 && p[at - 1] != '/') p[at++] = '/';
  memcpy(p + at, name, n + 1);
  return p;
}

static bool exists(const char *path) {
  struct stat s;
  return stat(path, &s) == 0;
}

vm_status vm_model_load_files(const char *config_json_path, const char *safetensors_path, vm_model **out,
                              vm_error *err) {
  if (out) *out = NULL;
  if (!config_json_path || !safetensors_path || !out)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_model_load_files: NULL argument");
  vm_error_clear(err);

  /* The weights first: a pickle file is the commonest mistake and its message says what to do. */
  vm_safetensors st;
  vm_status s = vm_safetensors_open(safetensors_path, &st, err);
  if (s != VM_OK) return s;
  vm_config cfg;
  s = vm_config_load(config_json_path, &cfg, err);
  vm_model *model = NULL;
  if (s == VM_OK) {
    model = calloc(1, sizeof *model);
    if (!model) s = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory loading the model");
  }
  if (s == VM_OK) {
    vm_error inner;
    s = vm_model_build(&cfg, &st, model, &inner);
    if (s != VM_OK) vm_fail(err, s, "%s: %s", safetensors_path, inner.message);
  }
  vm_safetensors_close(&st);
  if (s != VM_OK) {
    free(model);
    return s;
  }
  *out = model;
  return VM_OK;
}

/* A folder that has pytorch_model.bin but no model.safetensors: judge the .bin by its first bytes only (it may be
 * hundreds of MB) and pass on what the safetensors reader says about them (the pickle message for a real one). */
static vm_status refuse_bin_only_folder(const char *bin_path, vm_error *err) {
  FILE *f = fopen(bin_path, "rb");
  if (!f) return vm_fail(err, VM_ERR_IO, "cannot open %s: %s", bin_path, strerror(errno));
  uint8_t *head = malloc(8);
  size_t n = head ? fread(head, 1, 8, f) : 0;
  fclose(f);
  if (!head) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory");
  vm_safetensors st;
  vm_error inner;
  if (vm_safetensors_parse(head, n, &st, &inner) == VM_OK) { /* takes `head` */
    vm_safetensors_close(&st);
    snprintf(inner.message, sizeof inner.message, "the folder has no model.safetensors");
  }
  return vm_fail(err, VM_ERR_FORMAT, "%s: %s", bin_path, inner.message);
}

vm_status vm_model_load(const char *path, vm_model **out, vm_error *err) {
  if (out) *out = NULL;
  if (!path || !out) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_model_load: NULL argument");
  struct stat info;
  if (stat(path, &info) != 0) return vm_fail(err, VM_ERR_IO, "cannot open the model %s: %s", path, strerror(errno));

  char *config_path = NULL, *weights_path = NULL, *other = NULL;
  vm_status s = VM_OK;
  if (S_ISDIR(info.st_mode)) {
    size_t n = strlen(path);
    config_path = join_path(path, n, "config.json");
    weights_path = join_path(path, n, "model.safetensors");
    if (!config_path || !weights_path) {
      s = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory");
    } else if (!exists(weights_path)) {
      if ((other = join_path(path, n, "model.safetensors.index.json")) && exists(other)) {
        s = vm_fail(err, VM_ERR_UNSUPPORTED,
                    "%s holds a sharded checkpoint (model.safetensors.index.json); save it as one model.safetensors "
                    "(save_pretrained with a large max_shard_size)", path);
      } else {
        free(other);
        if ((other = join_path(path, n, "pytorch_model.bin")) && exists(other))
          s = refuse_bin_only_folder(other, err);
        else
          s = vm_fail(err, VM_ERR_IO, "%s has no model.safetensors (a ViTMatte folder holds config.json and "
                      "model.safetensors)", path);
      }
    }
  } else {
    /* A weights file: its config.json sits in the same folder. */
    const char *slash = strrchr(path, '/');
    config_path = slash ? join_path(path, (size_t)(slash - path + 1), "config.json") : join_path("", 0, "config.json");
    weights_path = strdup(path);
    if (!config_path || !weights_path) s = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory");
  }
  if (s == VM_OK) s = vm_model_load_files(config_path, weights_path, out, err);
  free(config_path);
  free(weights_path);
  free(other);
  return s;
}

void vm_model_free(vm_model *model) {
  if (!model) return;
  vm_model_destroy(model);
  free(model);
}

void vm_model_get_info(const vm_model *model, vm_model_info *info) {
  if (!info) return;
  memset(info, 0, sizeof *info);
  if (!model) return;
  info->hidden_size = model->cfg.hidden_size;
  info->num_attention_heads = model->cfg.num_attention_heads;
  info->num_hidden_layers = model->cfg.num_hidden_layers;
  info->patch_size = model->cfg.patch_size;
  info->window_size = model->cfg.window_size;
  info->num_parameters = model->num_parameters;
  info->stored_dtype = model->stored_dtype;
}
