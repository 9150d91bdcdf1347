/* The patch embedding on the CPU: non-overlapping p x p patches gathered into rows of K = p*p*in_ch (the weight's
 * [ky][kx][ci] order) tile by tile, one sgemm per tile, then + bias + position embedding. */
#include <omp.h>
#include <string.h>

#include "cpu_activation.h"
#include "cpu_ops.h"
#include "cpu_blas.h"
#include "cpu_check.h"
#include "error.h"

#ifndef CPU_PATCH_TILE_FLOATS
#define CPU_PATCH_TILE_FLOATS (1 << 20) /* gathered floats per tile we aim for: 4 MiB */
#endif

typedef struct patch_tiling {
  int64_t rows, cols; /* patch rows and patch columns per tile; cols < the grid width only when rows == 1 */
} patch_tiling;

static patch_tiling patch_tile_for(int64_t grid_h, int64_t grid_w, int64_t k_len, int threads) {
  patch_tiling t;
  int64_t budget = CPU_PATCH_TILE_FLOATS / k_len; /* patches per tile */
  if (budget < 1) budget = 1;
  if (budget >= grid_w) {
    t.cols = grid_w;
    t.rows = budget / grid_w;
    int64_t fair = (grid_h + threads - 1) / threads;
    if (t.rows > fair) t.rows = fair;
    if (t.rows < 1) t.rows = 1;
  } else {
    t.rows = 1;
    t.cols = budget;
  }
  return t;
}

size_t cpu_patch_embed_scratch(int64_t out_w, int64_t k_len) {
  patch_tiling t = patch_tile_for(1 << 30, out_w, k_len, 1);
  return (size_t)(t.rows * t.cols * k_len);
}

vm_status cpu_patch_embed(cpu_runtime *rt, const vm_tensor *px, const vm_param *w, const vm_param *b, int patch,
                          const vm_param *pos, const vm_tensor *out, vm_error *err) {
  if (!cpu_tensor_ok(px) || !cpu_tensor_ok(out))
    return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: missing or empty tensor");
  if (patch < 1) return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: patch size %d", patch);
  const int64_t gh = px->h / patch, gw = px->w / patch, c = out->c, cin = px->c;
  const int64_t k_len = (int64_t)patch * patch * cin;
  if (out->n != px->n || out->h != gh || out->w != gw)
    return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: out is [%lld, %lld, %lld], expected [%lld, %lld, %lld]",
                   (long long)out->n, (long long)out->h, (long long)out->w, (long long)px->n, (long long)gh,
                   (long long)gw);
  if (!cpu_param_ok(w, c * k_len))
    return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: weight has %lld values, expected %lld x %d x %d x %lld",
                   w ? (long long)w->numel : 0LL, (long long)c, patch, patch, (long long)cin);
  if (!cpu_optional_param_ok(b, c))
    return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: bias needs %lld values", (long long)c);
  if (!cpu_optional_param_ok(pos, gh * gw * c))
    return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: position table has %lld values, the %lld x %lld grid needs %lld",
                   (long long)pos->numel, (long long)gh, (long long)gw, (long long)(gh * gw * c));
  if (k_len > INT32_MAX / 4 || c > INT32_MAX) return vm_fail(err, VM_ERR_INTERNAL, "patch_embed: too large for BLAS");

  patch_tiling t = patch_tile_for(gh, gw, k_len, rt->threads);
  const int64_t tiles_y = (gh + t.rows - 1) / t.rows, tiles_x = (gw + t.cols - 1) / t.cols;
  const int64_t ntasks = px->n * tiles_y * tiles_x;
  const int team = cpu_team(rt, ntasks);
  vm_status st = cpu_scratch_reserve(rt, team, (size_t)(t.rows * t.cols * k_len), err);
  if (st != VM_OK) return st;

  const float *src = px->data, *ws = w->data, *bs = cpu_param_data(b), *ps = cpu_param_data(pos);
  float *os = out->data;
  float *const *scratch = rt->scratch;
  const int64_t H = px->h, W = px->w, run = (int64_t)patch * cin;
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
  for (int64_t task = 0; task < ntasks; task++) {
    int64_t img = task / (tiles_y * tiles_x), ty = task / tiles_x % tiles_y, tx = task % tiles_x;
    int64_t py0 = ty * t.rows, px0 = tx * t.cols;
    int64_t rows = gh - py0 < t.rows ? gh - py0 : t.rows;
    int64_t cols = gw - px0 < t.cols ? gw - px0 : t.cols;
    float *a = scratch[omp_get_thread_num()];
    for (int64_t r = 0; r < rows; r++)
      for (int64_t q = 0; q < cols; q++) {
        float *dst = a + (r * cols + q) * k_len;
        const float *patch_origin = src + ((img * H + (py0 + r) * patch) * W + (px0 + q) * patch) * cin;
        for (int ky = 0; ky < patch; ky++)
          memcpy(dst + ky * run, patch_origin + ky * W * cin, (size_t)run * sizeof(float));
      }
    /* whole patch rows, or part of one: the outputs (and position rows) of a tile are contiguous */
    int64_t m = rows * cols, first = py0 * gw + px0;
    float *o = os + (img * gh * gw + first) * c;
    cpu_gemm_nt((int)m, (int)c, (int)k_len, 1.0f, a, (int)k_len, ws, (int)k_len, 0.0f, o, (int)c);
    cpu_epilogue(o, c, o, c, m, c, bs, VM_ACT_NONE, ps ? ps + first * c : NULL, c);
  }
  return VM_OK;
}
