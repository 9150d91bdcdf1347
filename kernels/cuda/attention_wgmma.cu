// Flash attention for the global layers on Hopper's asynchronous warpgroup products (wgmma, sm_90a), head dim 64.
//
// Why a second kernel: the mma.sync kernel (attention_tc.cu) is latency-bound on the H100 (ncu: issue slots 45%
// busy, warps waiting on their own dependency chains), because each warp multiplies, then does the softmax, then
// multiplies again. Here one warpgroup (the block) issues the next key tile's Q K^T as an asynchronous wgmma and does
// the softmax of the current tile while the tensor cores work on it, then issues P V the same way (the FA3 scheme,
// without a producer warp: cp.async loads, two stages each for K and V).
//
// Layout is that of the mma.sync row-tile kernel: 64 queries of one head per work item, keys in tiles of 64 inside
// one key row (ww >= 64), bias_w in shared memory as f16, bias_h in a global-memory slot per resident block, added
// to the row maximum. K and V tiles are 128-byte rows with 16-byte chunks XOR-swizzled by (row & 7), which is the
// hardware's 128-byte swizzle when a tile starts on a 1024-byte boundary; K is read K-major, V MN-major.
#include "attention_common.cuh"
#include "cuda_backend.h"
#include "mma_sync.cuh"
#include "wgmma.cuh"

namespace {

constexpr int WG_D = 64;
constexpr int WG_TILE_BYTES = 64 * WG_D * 2;

#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
__device__ __forceinline__ int wg_swz(int r, int ch) { return ch ^ (r & 7); }

__device__ __forceinline__ float wg_ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

/* This thread's four 16-byte chunks of a [64][64] tile: rows r0 + 16 j, chunk ch; the swizzled destination offset
 * is the same for every j apart from the row step, because 16 j leaves (row & 7) alone. */
struct wg_loader {
  int64_t stride;
  int r0, dst; /* dst: element offset of row r0's chunk in a tile */
  __device__ __forceinline__ wg_loader(int64_t stride_) : stride(stride_) {
    r0 = threadIdx.x >> 3;
    int ch = threadIdx.x & 7;
    dst = r0 * WG_D + (ch ^ (r0 & 7)) * 8;
    col_off = ch * 8;
  }
  int col_off;
  /* rows [tok0, tok0 + cnt) of the columns starting at `col` of each token's row of `base` */
  template <typename T>
  __device__ __forceinline__ void load(T *tile, const T *base, int tok0, int cnt, int col) const {
    const T *src = base + (int64_t)(tok0 + r0) * stride + col + col_off;
    uint32_t d = smem_addr(tile + dst);
#pragma unroll
    for (int j = 0; j < 4; j++) {
      bool valid = r0 + 16 * j < cnt;
      cp_async16(d + j * 16 * WG_D * 2, valid ? src + 16 * j * stride : base, valid);
    }
  }
};
#endif

} // namespace

template <typename T>
__global__ void __launch_bounds__(128, 3)
    attention_wgmma_kernel(vm_attn_args a, int heads, int total, float *bias_h_global) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  constexpr int D = WG_D;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  /* the swizzle needs 1024-byte aligned tiles; the launch asks for 1 KB of slack */
  unsigned char *smem = smem_raw + ((1024 - (smem_addr(smem_raw) & 1023)) & 1023);
  T *Ks = (T *)smem;          /* two stages */
  T *Vs = Ks + 2 * 64 * D;    /* two stages; the Q block is staged in V's second stage before the first V_1 */
  T *Qs = Vs + 64 * D;
  __half *bias_w = (__half *)(Vs + 2 * 64 * D);
  float *bias_h = bias_h_global + (int64_t)blockIdx.x * VM_ATTN_BQ * a.bias_h_stride;
  const uint32_t ks_addr = smem_addr(Ks), vs_addr = smem_addr(Vs);

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int nqb = (a.N + VM_ATTN_BQ - 1) / VM_ATTN_BQ;
  const wg_loader ld(3 * (int64_t)a.C);
  const int ntiles = vm_attn_num_tiles(a.hh, a.ww);
  const float LOG2E = 1.4426950408889634f;
  const float scale_log2 = a.scale * LOG2E;
  const int row0 = warp * 16 + (lane >> 2), row1 = row0 + 8;
  const bool has_bias = a.rel_h != NULL;
  /* this thread's 16 bias_w columns of a tile, contiguous in fragment order (vm_attn_frag_col) */
  const int bw_off = row0 * a.bias_w_stride + (lane & 3) * 16, bw_step = 8 * a.bias_w_stride;
  const float *bh0 = bias_h + row0 * a.bias_h_stride;
  const int bh_step = 8 * a.bias_h_stride;

  for (int work = blockIdx.x; work < total; work += gridDim.x) {
    const int q0 = (work % nqb) * VM_ATTN_BQ;
    const int head = (work / nqb) % heads;
    const int64_t img = work / (nqb * heads);
    const T *base = (const T *)a.qkv + img * a.N * 3 * (int64_t)a.C;
    const int kcol = a.C + head * D, vcol = 2 * a.C + head * D;

    /* the previous item's last products have finished reading K, V and Q */
    __syncthreads();
    /* commit groups in this order: {Q, K_0}, {K_1}, {V_0}; then per tile t: {K_t+2} at the top, {V_t+1} in the
     * middle, so the group a wait needs is always the second newest */
    /* tile t (the first: vm_attn_tile_at(0) without its division); t + 1 and t + 2 are derived when needed, to spare
     * registers */
    vm_attn_tile tile = {0, min(VM_ATTN_BK, a.ww), 0, 0};
    ld.load(Qs, base, q0, min(VM_ATTN_BQ, a.N - q0), head * D);
    ld.load(Ks, base, tile.tok0, tile.cnt, kcol);
    cp_async_commit();
    if (ntiles > 1) {
      const vm_attn_tile t1 = vm_attn_next_row_tile(tile, a.ww);
      ld.load(Ks + 64 * D, base, t1.tok0, t1.cnt, kcol);
    }
    cp_async_commit();
    ld.load(Vs, base, tile.tok0, tile.cnt, vcol);
    cp_async_commit();
    cp_async_wait<2>();
    __syncthreads();

    if (has_bias)
      vm_attn_bias_prologue<D, float, __half, true>(a, q0, bias_h, bias_w, LOG2E, [&](int r, int c) {
        return vm_to_f32<T>(Qs[r * D + wg_swz(r, c >> 3) * 8 + (c & 7)]);
      });

    uint32_t qf[D / 16][4];
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      int r = warp * 16 + (lane & 15), ch = kk * 2 + (lane >> 4);
      ldsm_x4(qf[kk], smem_addr(Qs + r * D + wg_swz(r, ch) * 8));
    }
    fence_proxy_async();
    __syncthreads(); /* bias tables written, K_0 visible to the tensor cores, Q read */

    float sa[32], sb[32], o[32];
    wgmma_fence();
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++)
      wgmma_rs<T, 0>::run(sa, qf[kk], wgmma_desc_sw128(ks_addr + kk * 32, 16, 1024), kk > 0);
    wgmma_commit();
    wgmma_wait<0>();
    wgmma_pin(sa);
#pragma unroll
    for (int i = 0; i < 32; i++) o[i] = 0.f;

    float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
    float hnext[2] = {0.f, 0.f};
    if (has_bias) {
      hnext[0] = bh0[tile.y0];
      hnext[1] = bh0[bh_step + tile.y0];
    }

    /* Per key tile t: s holds S_t on entry, sn receives S_t+1 and is copied to s at the end. (Alternating the two
     * arrays instead made ptxas serialize the wgmmas; a lambda for the tile body spilled 104 bytes.) */
    for (int t = 0; t < ntiles; t++) {
      float (&s)[32] = sa;
      float (&sn)[32] = sb;
      const bool has_next = t + 1 < ntiles;
      const float hrow[2] = {hnext[0], hnext[1]};

      /* top: K_t+1 has landed (V_t may still be in flight); every warp is past S_t, so K_t's stage is free */
      cp_async_wait<1>();
      fence_proxy_async();
      __syncthreads();
      const vm_attn_tile nx1 = vm_attn_next_row_tile(tile, a.ww);
      if (t + 2 < ntiles) {
        const vm_attn_tile nx2 = vm_attn_next_row_tile(nx1, a.ww);
        ld.load(Ks + (t & 1) * 64 * D, base, nx2.tok0, nx2.cnt, kcol);
      }
      cp_async_commit();
      if (has_next) {
        if (has_bias) {
          hnext[0] = bh0[nx1.y0];
          hnext[1] = bh0[bh_step + nx1.y0];
        }
        const uint32_t kb = ks_addr + ((t + 1) & 1) * WG_TILE_BYTES;
        wgmma_fence();
#pragma unroll
        for (int kk = 0; kk < D / 16; kk++)
          wgmma_rs<T, 0>::run(sn, qf[kk], wgmma_desc_sw128(kb + kk * 32, 16, 1024), kk > 0);
        wgmma_commit();
      }

      /* softmax of tile t while the tensor cores compute S_t+1 */
      if (has_bias) {
#pragma unroll
        for (int half = 0; half < 2; half++) {
          const __half *w0 = bias_w + bw_off + half * bw_step + tile.x0;
          uint4 w[2];
          w[0] = *reinterpret_cast<const uint4 *>(w0);
          w[1] = *reinterpret_cast<const uint4 *>(w0 + 8);
          const __half2 *h = reinterpret_cast<const __half2 *>(w);
#pragma unroll
          for (int nb = 0; nb < 8; nb++) {
            float2 p = __half22float2(h[nb]);
            s[4 * nb + 2 * half] = fmaf(s[4 * nb + 2 * half], scale_log2, p.x);
            s[4 * nb + 2 * half + 1] = fmaf(s[4 * nb + 2 * half + 1], scale_log2, p.y);
          }
        }
      } else {
#pragma unroll
        for (int i = 0; i < 32; i++) s[i] *= scale_log2;
      }
      if (tile.cnt < VM_ATTN_BK) vm_attn_mask_columns(s, tile.cnt, lane);
      float mx[2] = {-INFINITY, -INFINITY};
#pragma unroll
      for (int nb = 0; nb < 8; nb++) {
        mx[0] = fmaxf(mx[0], fmaxf(s[4 * nb + 0], s[4 * nb + 1]));
        mx[1] = fmaxf(mx[1], fmaxf(s[4 * nb + 2], s[4 * nb + 3]));
      }
      float corr[2], off[2];
#pragma unroll
      for (int i = 0; i < 2; i++) {
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
        mx[i] += hrow[i];
        float mnew = fmaxf(m_run[i], mx[i]);
        if (mnew == -INFINITY) mnew = 0.f;
        corr[i] = wg_ex2(m_run[i] - mnew);
        m_run[i] = mnew;
        off[i] = hrow[i] - mnew;
      }
      float lsum[2] = {0.f, 0.f};
#pragma unroll
      for (int nb = 0; nb < 8; nb++) {
        s[4 * nb + 0] = wg_ex2(s[4 * nb + 0] + off[0]);
        s[4 * nb + 1] = wg_ex2(s[4 * nb + 1] + off[0]);
        s[4 * nb + 2] = wg_ex2(s[4 * nb + 2] + off[1]);
        s[4 * nb + 3] = wg_ex2(s[4 * nb + 3] + off[1]);
        lsum[0] += s[4 * nb + 0] + s[4 * nb + 1];
        lsum[1] += s[4 * nb + 2] + s[4 * nb + 3];
      }
      l_run[0] = l_run[0] * corr[0] + lsum[0];
      l_run[1] = l_run[1] * corr[1] + lsum[1];

      uint32_t pa[4][4];
#pragma unroll
      for (int kk = 0; kk < 4; kk++) {
        pa[kk][0] = mma_op<T>::pack(s[8 * kk + 0], s[8 * kk + 1]);
        pa[kk][1] = mma_op<T>::pack(s[8 * kk + 2], s[8 * kk + 3]);
        pa[kk][2] = mma_op<T>::pack(s[8 * kk + 4], s[8 * kk + 5]);
        pa[kk][3] = mma_op<T>::pack(s[8 * kk + 6], s[8 * kk + 7]);
      }
      /* middle: P V_t-1 and S_t+1 have finished (O may be rescaled; waiting for P V_t-1 alone made ptxas serialize
       * every wgmma) and V_t has landed; every warp is past P V_t-1, so V_t-1's stage is free for V_t+1 */
      wgmma_wait<0>();
      wgmma_pin(o);
      wgmma_pin(sn);
      /* once the running maxima settle most tiles leave them alone: skip the rescale when no row of the warp moved */
      if (__any_sync(0xffffffffu, corr[0] != 1.f || corr[1] != 1.f)) {
#pragma unroll
        for (int nd = 0; nd < 8; nd++) {
          o[4 * nd + 0] *= corr[0];
          o[4 * nd + 1] *= corr[0];
          o[4 * nd + 2] *= corr[1];
          o[4 * nd + 3] *= corr[1];
        }
      }
      cp_async_wait<1>();
      fence_proxy_async();
      __syncthreads();
      if (has_next) ld.load(Vs + ((t + 1) & 1) * 64 * D, base, nx1.tok0, nx1.cnt, vcol);
      cp_async_commit();
      const uint32_t vb = vs_addr + (t & 1) * WG_TILE_BYTES;
      wgmma_fence();
#pragma unroll
      for (int kk = 0; kk < 4; kk++) wgmma_rs<T, 1>::run(o, pa[kk], wgmma_desc_sw128(vb + kk * 2048, 1024, 1024), 1);
      wgmma_commit();
      /* P V_t runs on while the next tile's softmax starts */
      tile = nx1;
#pragma unroll
      for (int i = 0; i < 32; i++) sa[i] = sb[i];
    }
    wgmma_wait<0>();
    wgmma_pin(o);
    cp_async_wait<0>();

    vm_attn_store_rows<T, D>(o, l_run, (T *)a.out + img * a.N * (int64_t)a.C, a.C, a.N, q0 + row0, q0 + row1, head,
                             lane, mma_op<T>::pack);
  }
#else
  (void)a;
  (void)heads;
  (void)total;
  (void)bias_h_global;
  __trap(); /* the host launches this only on sm_90 */
#endif
}

/* K and V stages, the bias_w table, and 1 KB to align the tiles (the Q block borrows V's second stage). */
static size_t wg_smem(const vm_attn_args &a) {
  return 1024 + (size_t)4 * WG_TILE_BYTES + (size_t)64 * a.bias_w_stride * sizeof(__half);
}

bool vm_cuda_attention_wgmma_takes(const vm_cuda *cu, const vm_attn_args &a) {
  return cu->sm90 && !cu->attention_no_wgmma && a.d == WG_D && a.ww >= VM_ATTN_BK &&
         (cu->base.precision == VM_PRECISION_FP16 || cu->base.precision == VM_PRECISION_BF16) &&
         wg_smem(a) <= cu->smem_optin;
}

template <typename T> static vm_status wg_launch(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err) {
  const size_t smem = wg_smem(a); /* fits: vm_cuda_attention_wgmma_takes checked it */
  cudaError_t e = cudaFuncSetAttribute(attention_wgmma_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       (int)smem);
  if (e != cudaSuccess) return vm_cuda_rt_fail(err, e, "attention (wgmma): cudaFuncSetAttribute");
  int per_sm = 0;
  VM_TRY(vm_cuda_blocks_per_sm(cu, (const void *)attention_wgmma_kernel<T>, 128, smem, &per_sm, err));
  if (per_sm < 1) per_sm = 1;
  vm_attn_grid g = {0, 0, NULL};
  VM_TRY(vm_attn_grid_make(cu, a, n, heads, per_sm, (size_t)VM_ATTN_BQ * a.bias_h_stride, &g, err));
  attention_wgmma_kernel<T><<<g.grid, 128, smem, cu->stream>>>(a, heads, g.total, g.slots);
  return vm_cuda_launch_check(err, "attention (wgmma)");
}

/* a: with bias strides set (attention_tc.cu) or no rel-pos tables at all */
vm_status vm_cuda_attention_wgmma(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err) {
  if (cu->base.precision == VM_PRECISION_FP16) return wg_launch<__half>(cu, a, n, heads, err);
  return wg_launch<__nv_bfloat16>(cu, a, n, heads, err);
}
