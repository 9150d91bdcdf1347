/* The patch embedding on the CPU: one product per row of patches (or part of one) against w [C, p*p*in_ch], the
 * patches read in place (a segment of A per pixel row of the patch: the weight's [ky][kx][ci] order), then
 * + bias + position embedding in the product's epilogue (cpu_gemm.h). */
#include <omp.h>
#include <string.h>

#include "cpu_check.h"
#include "cpu_gemm.h"
#include "cpu_ops.h"
#include "error.h"

/* Patches per task when a row of patches is split (few rows, many threads), and the patch rows of A gathered into
 * plain rows when a patch is taller than CPU_GEMM_MAX_SEG. */
static int64_t chunk_for(int64_t rows, int64_t gw, int threads) {
  int64_t chunks = (4 * (int64_t)threads + rows - 1) / rows;
  const int64_t most = (gw + 13) / 14;
  if (chunks > most) chunks = most;
  if (chunks < 1) chunks = 1;
  return (gw + chunks - 1) / chunks;
}

cpu_need cpu_patch_embed_need(const cpu_runtime *rt, int64_t grid_w, int64_t c, int64_t k_len, int patch) {
  const cpu_gemm_isa *isa = rt->gemm;
  const size_t gathered = patch > CPU_GEMM_MAX_SEG ? (size_t)(grid_w * k_len + 16) : 0;
  return (cpu_need){gathered + cpu_gemm_work_floats(isa, grid_w, c, k_len),
                    isa->kernel ? cpu_gemm_packed_b_floats(c, k_len) : 0};
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

  const cpu_gemm_isa *isa = rt->gemm;
  cpu_gemm_b bm;
  vm_status st = cpu_shared_pack_b(rt, w->data, c, k_len, &bm, err);
  if (st != VM_OK) return st;
  const int64_t chunk = chunk_for(px->n * gh, gw, rt->threads), chunks = (gw + chunk - 1) / chunk;
  const int64_t ntasks = px->n * gh * chunks;
  const int team = cpu_team(rt, ntasks);
  const int gather = patch > CPU_GEMM_MAX_SEG;
  const size_t gathered = gather ? (size_t)(chunk * k_len + 16) / 16 * 16 : 0;
  st = cpu_scratch_reserve(rt, team, gathered + cpu_gemm_work_floats(isa, chunk, c, k_len), err);
  if (st != VM_OK) return st;

  const float *src = px->data, *bs = cpu_param_data(b), *ps = cpu_param_data(pos);
  float *os = out->data;
  float *const *scratch = rt->scratch;
  const int64_t H = px->h, W = px->w, run = (int64_t)patch * cin;
#pragma omp parallel for num_threads(team) schedule(dynamic, 1)
  for (int64_t task = 0; task < ntasks; task++) {
    const int64_t img = task / (gh * chunks), py = task / chunks % gh, x0 = task % chunks * chunk;
    const int64_t m = gw - x0 < chunk ? gw - x0 : chunk;
    const float *origin = src + ((img * H + py * patch) * W + x0 * patch) * cin; /* the first patch's top left */
    float *ws = scratch[omp_get_thread_num()];
    cpu_gemm_a a = {.data = origin, .lda = run, .line = 0, .nseg = patch, .kseg = run};
    if (gather) { /* taller than the segments A can have: the patches copied into plain rows */
      for (int64_t q = 0; q < m; q++)
        for (int ky = 0; ky < patch; ky++)
          memcpy(ws + q * k_len + ky * run, origin + q * run + ky * W * cin, (size_t)run * sizeof(float));
      a = (cpu_gemm_a){.data = ws, .lda = k_len, .line = 0, .nseg = 1, .kseg = k_len};
      ws += gathered;
    } else {
      for (int ky = 0; ky < patch; ky++) a.off[ky] = ky * W * cin;
    }
    const int64_t first = py * gw + x0; /* the task's outputs (and position rows) are contiguous */
    const cpu_gemm_epilogue ep = {bs, VM_ACT_NONE, ps ? ps + first * c : NULL, c, 1.0f, NULL};
    cpu_gemm_block(isa, &a, 1, m, &bm, 0, c, os + (img * gh * gw + first) * c, c, 0, &ep, ws);
  }
  return VM_OK;
}
