/* params.h - the model's parameters in the engine's own layout, on the host or on a backend's device.
 * Owns: the index of every parameter, their shapes, and the layouts the kernels rely on (see below). */
#ifndef VM_PARAMS_H
#define VM_PARAMS_H

#include <stdint.h>

#include "config.h"

/* A parameter: `data` points to numel f32 values on the host (model) or to backend memory (context).
 * data == NULL means absent (e.g. qkv bias when qkv_bias is false, residual weights of a non-residual layer).
 *
 * Layouts (the loader converts the checkpoint to these; all f32 on the host):
 *   linear weights        [out, in]                as stored by PyTorch
 *   patch embedding       [C, ph, pw, in_ch]       (transposed from OIHW) so K = (ky*pw + kx)*in_ch + ci
 *                                                  matches an NHWC patch read row by row
 *   convolutions k x k    [out, k, k, in]          (transposed from OIHW), i.e. K = (ky*k + kx)*in + ci
 *   1x1 convolutions      [out, in]                used as linear layers
 *   BatchNorm             folded into the preceding conv's weight and bias (bias created if the conv had none)
 *   position embeddings   [grid*grid, C]           the cls row dropped; grid = pretrain_image_size / patch
 *   rel_pos_h / rel_pos_w [L, head_dim]            as stored (resized per resolution by the engine)
 */
typedef enum vm_param_kind {
  VM_PARAM_MATRIX, /* multiplied in a GEMM or convolution: a backend may convert it to fp16/bf16 */
  VM_PARAM_VECTOR  /* bias, norm scale/shift, tables: a backend keeps it in f32 */
} vm_param_kind;

typedef struct vm_param {
  void *data;
  int64_t numel;
  vm_param_kind kind;
} vm_param;

enum vm_stem_param { VM_STEM_PATCH_W, VM_STEM_PATCH_B, VM_STEM_POS, VM_STEM_COUNT };

enum vm_layer_param {
  VM_L_NORM1_W, VM_L_NORM1_B,
  VM_L_QKV_W, VM_L_QKV_B,          /* [3C, C], [3C]: q = rows 0..C-1, k = C..2C-1, v = 2C..3C-1 */
  VM_L_PROJ_W, VM_L_PROJ_B,
  VM_L_REL_H, VM_L_REL_W,
  VM_L_NORM2_W, VM_L_NORM2_B,
  VM_L_FC1_W, VM_L_FC1_B,
  VM_L_FC2_W, VM_L_FC2_B,
  VM_L_RES_CONV1,                  /* [C/2, C] */
  VM_L_RES_NORM1_W, VM_L_RES_NORM1_B,
  VM_L_RES_CONV2,                  /* [C/2, 3, 3, C/2] */
  VM_L_RES_NORM2_W, VM_L_RES_NORM2_B,
  VM_L_RES_CONV3,                  /* [C, C/2] */
  VM_L_RES_NORM3_W, VM_L_RES_NORM3_B,
  VM_L_COUNT
};

/* A conv + folded BatchNorm of the decoder: weight [out, 3, 3, in] and bias [out]. */
enum vm_conv_param { VM_CONV_W, VM_CONV_B, VM_CONV_COUNT };

/* The matting head: conv3x3 (32->16, bias) with its BatchNorm folded in, then conv1x1 (16->1, bias). */
enum vm_head_param { VM_HEAD_CONV_W, VM_HEAD_CONV_B, VM_HEAD_OUT_W, VM_HEAD_OUT_B, VM_HEAD_COUNT };

typedef struct vm_params {
  vm_param stem[VM_STEM_COUNT];
  int num_layers;
  vm_param (*layer)[VM_L_COUNT];          /* num_layers entries */
  int num_convstream;
  vm_param (*convstream)[VM_CONV_COUNT];
  int num_fusion;
  vm_param (*fusion)[VM_CONV_COUNT];
  vm_param head[VM_HEAD_COUNT];
} vm_params;

/* Calls fn for every parameter slot (present or absent), in a fixed order. Stops at the first non-OK status. */
typedef vm_status (*vm_param_fn)(vm_param *p, void *user);
vm_status vm_params_each(vm_params *ps, vm_param_fn fn, void *user);

/* Allocates the slot arrays of `ps` for cfg (all slots absent). */
vm_status vm_params_init(vm_params *ps, const vm_config *cfg, vm_error *err);
/* Frees the slot arrays only (not the data). */
void vm_params_release_slots(vm_params *ps);

#endif
