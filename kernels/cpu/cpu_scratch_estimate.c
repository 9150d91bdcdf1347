/* How much scratch the CPU backend will hold for a forward pass at a padded size: the largest tile of any op the
 * forward issues, once per thread (each thread keeps its own buffer). */
#include "config.h"
#include "cpu_ops.h"

static size_t max_size(size_t a, size_t b) { return a > b ? a : b; }

size_t cpu_scratch_estimate(const cpu_runtime *rt, const vm_config *cfg, int H, int W) {
  if (!cfg || H <= 0 || W <= 0 || cfg->patch_size <= 0) return 0;
  const int64_t p = cfg->patch_size, h = H / p, w = W / p, c = cfg->hidden_size, d = cfg->head_dim;
  size_t floats = cpu_patch_embed_scratch(rt->gemm, w, c, p * p * cfg->num_channels, (int)p);
  floats = max_size(floats, (size_t)c); /* layer_norm keeps one row */

  /* encoder: attention tiles, linears whose residual is their output, the residual blocks' 3x3 convolution */
  int64_t widest = c * 3 > cfg->mlp_hidden ? c * 3 : cfg->mlp_hidden;
  floats = max_size(floats, cpu_linear_scratch(widest));
  for (int i = 0; i < cfg->num_layers_run && i < VM_MAX_LAYERS; i++) {
    if (cfg->window_block[i] && cfg->window_size > 0) {
      int64_t ws = cfg->window_size;
      floats = max_size(floats, cpu_attention_scratch(rt->gemm, ws * ws, d, ws, ws));
    } else {
      floats = max_size(floats, cpu_attention_scratch(rt->gemm, h * w, d, h, w));
    }
    if (cfg->residual_block[i]) floats = max_size(floats, cpu_conv2d_scratch(rt->gemm, h, w, c / 2, w, c / 2, 3, 1));
  }

  /* decoder: ConvStream (3x3, stride 2) down to 1/2^s, then fusion blocks back up, then the head's 3x3 */
  int64_t detail_c[VM_MAX_DECODER_STAGES + 1];
  detail_c[0] = cfg->num_channels;
  for (int s = 0; s < cfg->num_convstream && s < VM_MAX_DECODER_STAGES; s++) {
    int64_t hs = H >> s, ws = W >> s;
    floats = max_size(floats, cpu_conv2d_scratch(rt->gemm, hs, ws, detail_c[s], (ws - 1) / 2 + 1, cfg->convstream_hidden_sizes[s], 3, 2));
    detail_c[s + 1] = cfg->convstream_hidden_sizes[s];
  }
  int64_t low_c = cfg->decoder_in_channels;
  for (int k = 0; k < cfg->num_fusion && k < VM_MAX_DECODER_STAGES; k++) {
    int s = cfg->num_convstream - k;
    if (s < 0) break;
    int64_t hs = H >> s, ws = W >> s;
    floats = max_size(floats, cpu_conv2d_scratch(rt->gemm, hs, ws, detail_c[s] + low_c, ws, cfg->fusion_hidden_sizes[k], 3, 1));
    low_c = cfg->fusion_hidden_sizes[k];
  }
  floats = max_size(floats, cpu_conv2d_scratch(rt->gemm, H, W, low_c, W, 16, 3, 1));

  return floats * sizeof(float) * (size_t)rt->threads;
}
