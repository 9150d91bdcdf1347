#include "modules.h"

#include <stdlib.h>

#include "error.h"
#include "resample.h"

/* LayerNorm2d of the residual blocks: eps is fixed at 1e-6 in transformers, not taken from the config. */
#define VM_LN2D_EPS 1e-6

static const vm_param *present(const vm_param *p) { return p && p->data ? p : NULL; }

void vm_mod_embeddings(vm_run *r, const vm_config *cfg, const vm_params *P, const vm_param *pos,
                       const vm_tensor *px, const vm_tensor *out) {
  op_patch_embed(r, px, &P->stem[VM_STEM_PATCH_W], &P->stem[VM_STEM_PATCH_B], cfg->patch_size, present(pos), out);
}

void vm_mod_attention(vm_run *r, const vm_config *cfg, const vm_param *L, const vm_param *rel_h,
                      const vm_param *rel_w, const vm_tensor *in, const vm_tensor *residual, const vm_tensor *out) {
  const int64_t C = cfg->hidden_size;
  vm_tensor qkv = vm_run_tensor(r, in->n, in->h, in->w, 3 * C);
  op_linear(r, in, &L[VM_L_QKV_W], present(&L[VM_L_QKV_B]), VM_ACT_NONE, NULL, &qkv);
  vm_tensor att = vm_run_tensor(r, in->n, in->h, in->w, C);
  op_attention(r, &qkv, cfg->num_attention_heads, present(rel_h), present(rel_w), &att);
  vm_run_free(r, &qkv);
  op_linear(r, &att, &L[VM_L_PROJ_W], &L[VM_L_PROJ_B], VM_ACT_NONE, residual, out);
  vm_run_free(r, &att);
}

void vm_mod_mlp(vm_run *r, const vm_config *cfg, const vm_param *L, const vm_tensor *in, const vm_tensor *residual,
                const vm_tensor *out) {
  vm_tensor hidden = vm_run_tensor(r, in->n, in->h, in->w, cfg->mlp_hidden);
  op_linear(r, in, &L[VM_L_FC1_W], &L[VM_L_FC1_B], VM_ACT_GELU, NULL, &hidden);
  op_linear(r, &hidden, &L[VM_L_FC2_W], &L[VM_L_FC2_B], VM_ACT_NONE, residual, out);
  vm_run_free(r, &hidden);
}

void vm_mod_res_block(vm_run *r, const vm_config *cfg, const vm_param *L, const vm_tensor *x) {
  const int64_t mid = cfg->hidden_size / 2;
  vm_tensor a = vm_run_tensor(r, x->n, x->h, x->w, mid);
  op_linear(r, x, &L[VM_L_RES_CONV1], NULL, VM_ACT_NONE, NULL, &a);
  op_layer_norm(r, &a, &L[VM_L_RES_NORM1_W], &L[VM_L_RES_NORM1_B], VM_LN2D_EPS, VM_ACT_GELU, NULL, &a);
  vm_tensor b = vm_run_tensor(r, x->n, x->h, x->w, mid);
  op_conv2d(r, &a, NULL, &L[VM_L_RES_CONV2], NULL, 3, 1, VM_ACT_NONE, &b);
  vm_run_free(r, &a);
  op_layer_norm(r, &b, &L[VM_L_RES_NORM2_W], &L[VM_L_RES_NORM2_B], VM_LN2D_EPS, VM_ACT_GELU, NULL, &b);
  vm_tensor c = vm_run_tensor(r, x->n, x->h, x->w, cfg->hidden_size);
  op_linear(r, &b, &L[VM_L_RES_CONV3], NULL, VM_ACT_NONE, NULL, &c);
  vm_run_free(r, &b);
  op_layer_norm(r, &c, &L[VM_L_RES_NORM3_W], &L[VM_L_RES_NORM3_B], VM_LN2D_EPS, VM_ACT_NONE, x, x);
  vm_run_free(r, &c);
}

void vm_mod_layer(vm_run *r, const vm_config *cfg, const vm_param *L, int index, const vm_param *rel_h,
                  const vm_param *rel_w, const vm_tensor *x) {
  const int64_t C = cfg->hidden_size;
  const double eps = cfg->layer_norm_eps;
  vm_tensor y = vm_run_tensor(r, x->n, x->h, x->w, C);
  op_layer_norm(r, x, &L[VM_L_NORM1_W], &L[VM_L_NORM1_B], eps, VM_ACT_NONE, NULL, &y);
  if (cfg->window_block[index] && cfg->window_size > 0) {
    const int ws = cfg->window_size;
    const int64_t nwin = ((x->h + ws - 1) / ws) * ((x->w + ws - 1) / ws) * x->n;
    vm_tensor win = vm_run_tensor(r, nwin, ws, ws, C);
    op_window_partition(r, &y, ws, &win);
    vm_run_free(r, &y);
    vm_tensor att = vm_run_tensor(r, nwin, ws, ws, C);
    vm_mod_attention(r, cfg, L, rel_h, rel_w, &win, NULL, &att);
    vm_run_free(r, &win);
    op_window_unpartition(r, &att, ws, x, x);
    vm_run_free(r, &att);
  } else {
    vm_mod_attention(r, cfg, L, rel_h, rel_w, &y, x, x);
    vm_run_free(r, &y);
  }
  vm_tensor z = vm_run_tensor(r, x->n, x->h, x->w, C);
  op_layer_norm(r, x, &L[VM_L_NORM2_W], &L[VM_L_NORM2_B], eps, VM_ACT_NONE, NULL, &z);
  vm_mod_mlp(r, cfg, L, &z, x, x);
  vm_run_free(r, &z);
  if (cfg->residual_block[index]) vm_mod_res_block(r, cfg, L, x);
}

void vm_mod_encoder(vm_run *r, const vm_config *cfg, const vm_params *P, const vm_grid *g, const vm_tensor *x) {
  const int n = cfg->num_layers_run;
  for (int i = 0; i < n && vm_run_ok(r); i++) {
    vm_mod_layer(r, cfg, P->layer[i], i, &g->rel[i][0], &g->rel[i][1], x);
    vm_run_progress(r, "encoder", (double)(i + 1) / n);
  }
}

void vm_mod_basic_conv(vm_run *r, const vm_param *conv, int stride, const vm_tensor *detail, const vm_tensor *low,
                       const vm_tensor *out) {
  op_conv2d(r, detail, low, &conv[VM_CONV_W], &conv[VM_CONV_B], 3, stride, VM_ACT_RELU, out);
}

void vm_mod_convstream(vm_run *r, const vm_config *cfg, const vm_params *P, const vm_tensor *px, vm_tensor *D) {
  D[0] = *px;
  for (int i = 0; i < cfg->num_convstream; i++) {
    const vm_tensor *in = &D[i];
    D[i + 1] = vm_run_tensor(r, 1, (in->h + 1) / 2, (in->w + 1) / 2, cfg->convstream_hidden_sizes[i]);
    vm_mod_basic_conv(r, P->convstream[i], 2, in, NULL, &D[i + 1]);
  }
}

void vm_mod_fusion(vm_run *r, const vm_param *conv, const vm_tensor *features, const vm_tensor *detail,
                   const vm_tensor *out) {
  vm_mod_basic_conv(r, conv, 1, detail, features, out);
}

void vm_mod_head(vm_run *r, const vm_params *P, vm_act final_act, const vm_tensor *in, const vm_tensor *out) {
  vm_tensor mid = vm_run_tensor(r, 1, in->h, in->w, VM_BN_HEAD_MID);
  op_conv2d(r, in, NULL, &P->head[VM_HEAD_CONV_W], &P->head[VM_HEAD_CONV_B], 3, 1, VM_ACT_RELU, &mid);
  op_linear(r, &mid, &P->head[VM_HEAD_OUT_W], &P->head[VM_HEAD_OUT_B], final_act, NULL, out);
  vm_run_free(r, &mid);
}

void vm_mod_decoder(vm_run *r, const vm_config *cfg, const vm_params *P, vm_tensor *features, const vm_tensor *px,
                    const vm_tensor *alpha) {
  vm_tensor D[VM_MAX_DECODER_STAGES + 1];
  vm_mod_convstream(r, cfg, P, px, D);
  vm_run_progress(r, "decoder", 0.25);
  vm_tensor f = *features;
  for (int k = 0; k < cfg->num_fusion; k++) {
    vm_tensor *detail = &D[cfg->num_fusion - 1 - k];
    vm_tensor o = vm_run_tensor(r, 1, detail->h, detail->w, cfg->fusion_hidden_sizes[k]);
    vm_mod_fusion(r, P->fusion[k], &f, detail, &o);
    vm_run_free(r, &f);
    if (detail != &D[0]) vm_run_free(r, detail); /* D[0] is the caller's px */
    f = o;
    vm_run_progress(r, "decoder", 0.25 + 0.6 * (k + 1) / cfg->num_fusion);
  }
  features->data = NULL;
  vm_mod_head(r, P, VM_ACT_SIGMOID, &f, alpha);
  vm_run_free(r, &f);
  vm_run_progress(r, "decoder", 1.0);
}

void vm_mod_forward(vm_run *r, const vm_config *cfg, const vm_params *P, const vm_grid *g, const vm_tensor *px,
                    const vm_tensor *alpha) {
  const double enc_share = 0.6;
  vm_tensor x = vm_run_tensor(r, 1, g->h, g->w, cfg->hidden_size);
  vm_mod_embeddings(r, cfg, P, &g->pos, px, &x);
  r->progress_base = 0.0;
  r->progress_span = enc_share;
  vm_mod_encoder(r, cfg, P, g, &x);
  r->progress_base = enc_share;
  r->progress_span = 1.0 - enc_share;
  vm_mod_decoder(r, cfg, P, &x, px, alpha);
  r->progress_base = 0.0;
  r->progress_span = 1.0;
}

vm_status vm_grid_host_make(const vm_config *cfg, const vm_params *host, int H, int W, vm_grid_host *gh,
                            vm_error *err) {
  const int L = cfg->num_hidden_layers, C = cfg->hidden_size, d = cfg->head_dim;
  *gh = (vm_grid_host){.H = H, .W = W, .h = H / cfg->patch_size, .w = W / cfg->patch_size};
  gh->rel = calloc((size_t)L + 1, sizeof *gh->rel);
  gh->rel_len = calloc((size_t)L + 1, sizeof *gh->rel_len);
  if (!gh->rel || !gh->rel_len) goto oom;
  if (host->stem[VM_STEM_POS].data) {
    const int grid = cfg->pretrain_image_size / cfg->patch_size;
    gh->pos = malloc(sizeof(float) * (size_t)gh->h * gh->w * C);
    if (!gh->pos) goto oom;
    vm_resize_pos_bicubic(host->stem[VM_STEM_POS].data, grid, C, gh->h, gh->w, gh->pos);
  }
  for (int l = 0; l < cfg->num_layers_run; l++) {
    const vm_param *Lp = host->layer[l];
    if (!Lp[VM_L_REL_H].data) continue;
    const bool windowed = cfg->window_block[l] && cfg->window_size > 0;
    const int sh = windowed ? cfg->window_size : gh->h, sw = windowed ? cfg->window_size : gh->w;
    const int want[2] = {2 * sh - 1, 2 * sw - 1};
    const vm_param *src[2] = {&Lp[VM_L_REL_H], &Lp[VM_L_REL_W]};
    for (int a = 0; a < 2; a++) {
      const int have = (int)(src[a]->numel / d);
      gh->rel_len[l][a] = want[a];
      gh->rel[l][a] = malloc(sizeof(float) * (size_t)want[a] * d);
      if (!gh->rel[l][a]) goto oom;
      vm_resize_rel_pos_linear(src[a]->data, have, d, want[a], gh->rel[l][a]);
    }
  }
  return VM_OK;
oom:
  vm_grid_host_free(gh, L);
  return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory for the position tables");
}

void vm_grid_host_free(vm_grid_host *gh, int num_layers) {
  free(gh->pos);
  if (gh->rel)
    for (int l = 0; l < num_layers; l++) {
      free(gh->rel[l][0]);
      free(gh->rel[l][1]);
    }
  free(gh->rel);
  free(gh->rel_len);
  *gh = (vm_grid_host){0};
}
