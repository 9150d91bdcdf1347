/* How much scratch the CPU backend will hold for a forward pass at a padded size: the largest per-thread buffer of any
 * op the forward issues, once per thread (each thread keeps its own), and the largest shared buffer (packed weights,
 * one head's packed keys and values). Each op's cpu_*_need gives what it reserves. */
#include "config.h"
#include "cpu_ops.h"

static void take(cpu_need *most, cpu_need n) {
  if (n.per_thread > most->per_thread) most->per_thread = n.per_thread;
  if (n.shared > most->shared) most->shared = n.shared;
}

size_t cpu_scratch_estimate(const cpu_runtime *rt, const vm_config *cfg, int H, int W) {
  if (!cfg || H <= 0 || W <= 0 || cfg->patch_size <= 0) return 0;
  const int64_t p = cfg->patch_size, h = H / p, w = W / p, c = cfg->hidden_size, d = cfg->head_dim;
  cpu_need most = {(size_t)c, 0}; /* layer_norm keeps one row */
  take(&most, cpu_patch_embed_need(rt, w, c, p * p * cfg->num_channels, (int)p));

  /* encoder: qkv, proj, the MLP, attention, the residual blocks' 1x1 and 3x3 convolutions */
  take(&most, cpu_linear_need(rt, c, 3 * c));
  take(&most, cpu_linear_need(rt, c, c));
  take(&most, cpu_linear_need(rt, c, cfg->mlp_hidden));
  take(&most, cpu_linear_need(rt, cfg->mlp_hidden, c));
  for (int i = 0; i < cfg->num_layers_run && i < VM_MAX_LAYERS; i++) {
    if (cfg->window_block[i] && cfg->window_size > 0) {
      const int64_t ws = cfg->window_size;
      take(&most, cpu_attention_need(rt, ws * ws, d, ws, ws));
    } else {
      take(&most, cpu_attention_need(rt, h * w, d, h, w));
    }
    if (cfg->residual_block[i]) {
      take(&most, cpu_linear_need(rt, c, c / 2));
      take(&most, cpu_linear_need(rt, c / 2, c));
      take(&most, cpu_conv2d_need(rt, h, w, c / 2, c / 2, 3, 1));
    }
  }

  /* decoder: ConvStream (3x3, stride 2) down to 1/2^s, then fusion blocks back up, then the head's 3x3 and 1x1 */
  int64_t detail_c[VM_MAX_DECODER_STAGES + 1];
  detail_c[0] = cfg->num_channels;
  for (int s = 0; s < cfg->num_convstream && s < VM_MAX_DECODER_STAGES; s++) {
    take(&most, cpu_conv2d_need(rt, H >> s, W >> s, detail_c[s], cfg->convstream_hidden_sizes[s], 3, 2));
    detail_c[s + 1] = cfg->convstream_hidden_sizes[s];
  }
  int64_t low_c = cfg->decoder_in_channels;
  for (int k = 0; k < cfg->num_fusion && k < VM_MAX_DECODER_STAGES; k++) {
    const int s = cfg->num_convstream - k;
    if (s < 0) break;
    take(&most, cpu_conv2d_need(rt, H >> s, W >> s, detail_c[s] + low_c, cfg->fusion_hidden_sizes[k], 3, 1));
    low_c = cfg->fusion_hidden_sizes[k];
  }
  take(&most, cpu_conv2d_need(rt, H, W, low_c, 16, 3, 1));
  take(&most, cpu_linear_need(rt, 16, 1));

  return (most.per_thread * (size_t)rt->threads + most.shared) * sizeof(float);
}
