/* config.h - the model configuration read from a Hugging Face ViTMatte config.json.
 * Owns: vm_config (every key the forward pass depends on, with transformers' defaults) and its parser. */
#ifndef VM_CONFIG_H
#define VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "vitmatte.h"

#define VM_MAX_LAYERS 128
#define VM_MAX_DECODER_STAGES 8
/* the matting head's hidden channels (fixed at 16 in transformers, not in the config) */
#define VM_BN_HEAD_MID 16

typedef struct vm_config {
  /* backbone_config (VitDetConfig) */
  int hidden_size;                /* C */
  int num_attention_heads;
  int head_dim;                   /* derived: hidden_size / num_attention_heads */
  int num_hidden_layers;          /* layers that exist in the checkpoint */
  int num_layers_run;             /* derived from out_features: layers the backbone output needs (<= num_hidden_layers) */
  int mlp_hidden;                 /* derived: int(hidden_size * mlp_ratio), as transformers computes it */
  double mlp_ratio;
  int patch_size;
  int num_channels;               /* 4 for ViTMatte (RGB + trimap) */
  int image_size;                 /* sets the stored global rel-pos length: 2 * image_size / patch_size - 1 */
  int pretrain_image_size;        /* sets the absolute position table: (pretrain_image_size / patch_size)^2 + 1 */
  int window_size;
  bool window_block[VM_MAX_LAYERS];   /* layer i uses windowed attention (and window_size > 0) */
  bool residual_block[VM_MAX_LAYERS]; /* layer i is followed by a residual bottleneck block */
  bool qkv_bias;
  bool use_absolute_position_embeddings;
  bool use_relative_position_embeddings;
  double layer_norm_eps;
  /* top level (VitMatteConfig) */
  int decoder_in_channels;        /* top-level hidden_size: must equal the backbone's */
  int num_convstream;
  int convstream_hidden_sizes[VM_MAX_DECODER_STAGES];
  int num_fusion;                 /* = num_convstream + 1 */
  int fusion_hidden_sizes[VM_MAX_DECODER_STAGES];
  double batch_norm_eps;
} vm_config;

/* Parse config.json text (not NUL-terminated necessarily: `len` bytes). Missing keys get transformers' defaults;
 * wrong types, impossible values and unsupported options (e.g. hidden_act other than "gelu") fail with a message
 * naming the key. */
vm_status vm_config_parse(const char *json, size_t len, vm_config *cfg, vm_error *err);

/* Read and parse a config.json file. */
vm_status vm_config_load(const char *path, vm_config *cfg, vm_error *err);

/* The rel-pos table length of layer i as stored: 2*window_size-1 for windowed layers, else 2*(image_size/patch)-1 */
int vm_config_rel_pos_len(const vm_config *cfg, int layer);

#endif
