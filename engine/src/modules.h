/* modules.h - ViTMatte's modules (as transformers names them) composed from backend ops.
 * Owns: the forward pass structure; each function matches one transformers module, so each is parity-tested. */
#ifndef VM_MODULES_H
#define VM_MODULES_H

#include <stdbool.h>

#include "config.h"
#include "params.h"
#include "plan.h"

/* What depends on the padded input size: the resized position tables (backend memory). */
typedef struct vm_grid {
  int H, W;               /* padded input size (multiples of the patch size) */
  int h, w;               /* token grid */
  vm_param pos;           /* [h*w, C], absent when the model has no absolute position embeddings */
  vm_param (*rel)[2];     /* per layer: rel_h, rel_w for the grid the layer attends over (absent without rel-pos) */
} vm_grid;

/* VitDetEmbeddings: px[1, H, W, 4] -> out[1, h, w, C]. */
void vm_mod_embeddings(vm_run *r, const vm_config *cfg, const vm_params *P, const vm_param *pos,
                       const vm_tensor *px, const vm_tensor *out);

/* VitDetAttention on in[b, hh, ww, C] -> out (+ residual). rel_h/rel_w sized for hh/ww (or absent). */
void vm_mod_attention(vm_run *r, const vm_config *cfg, const vm_param *L, const vm_param *rel_h,
                      const vm_param *rel_w, const vm_tensor *in, const vm_tensor *residual, const vm_tensor *out);

/* VitDetMlp on in[rows, C] -> out (+ residual). */
void vm_mod_mlp(vm_run *r, const vm_config *cfg, const vm_param *L, const vm_tensor *in, const vm_tensor *residual,
                const vm_tensor *out);

/* VitDetResBottleneckBlock, in place on x[1, h, w, C]. */
void vm_mod_res_block(vm_run *r, const vm_config *cfg, const vm_param *L, const vm_tensor *x);

/* VitDetLayer `index`, in place on x[1, h, w, C]. */
void vm_mod_layer(vm_run *r, const vm_config *cfg, const vm_param *L, int index, const vm_param *rel_h,
                  const vm_param *rel_w, const vm_tensor *x);

/* VitDetEncoder (the layers the backbone output needs), in place on x. Reports progress over [0, 1]. */
void vm_mod_encoder(vm_run *r, const vm_config *cfg, const vm_params *P, const vm_grid *g, const vm_tensor *x);

/* VitMatteBasicConv3x3 (conv + folded BN + ReLU) of [detail, upsample_x2(low)] -> out. */
void vm_mod_basic_conv(vm_run *r, const vm_param *conv, int stride, const vm_tensor *detail, const vm_tensor *low,
                       const vm_tensor *out);

/* VitMatteConvStream: D[0] = *px (not copied), D[i+1] = basic_conv(stride 2)(D[i]); allocates D[1..n]. */
void vm_mod_convstream(vm_run *r, const vm_config *cfg, const vm_params *P, const vm_tensor *px, vm_tensor *D);

/* VitMatteFusionBlock: out = basic_conv(stride 1)([detail, upsample_x2(features)]). */
void vm_mod_fusion(vm_run *r, const vm_param *conv, const vm_tensor *features, const vm_tensor *detail,
                   const vm_tensor *out);

/* VitMatteHead: in[1, H, W, c] -> out[1, H, W, 1]; final_act NONE = logits (as the module), SIGMOID = alpha. */
void vm_mod_head(vm_run *r, const vm_params *P, vm_act final_act, const vm_tensor *in, const vm_tensor *out);

/* VitMatteDetailCaptureModule: features[1, h, w, C] (freed here) + px -> alpha[1, H, W, 1] (sigmoid applied). */
void vm_mod_decoder(vm_run *r, const vm_config *cfg, const vm_params *P, vm_tensor *features, const vm_tensor *px,
                    const vm_tensor *alpha);

/* The whole model: px -> alpha. */
void vm_mod_forward(vm_run *r, const vm_config *cfg, const vm_params *P, const vm_grid *g, const vm_tensor *px,
                    const vm_tensor *alpha);

/* Host side of a grid: resized pos [h*w*C] and per-layer rel tables for padded size H x W, from host params.
 * Allocates with malloc; vm_grid_host_free releases. rel_len[l][0/1] give the lengths. */
typedef struct vm_grid_host {
  int H, W, h, w;
  float *pos;              /* NULL without absolute position embeddings */
  float *(*rel)[2];        /* per layer, NULL entries without rel-pos */
  int (*rel_len)[2];
} vm_grid_host;
vm_status vm_grid_host_make(const vm_config *cfg, const vm_params *host, int H, int W, vm_grid_host *gh,
                            vm_error *err);
void vm_grid_host_free(vm_grid_host *gh, int num_layers);

#endif
