// Flash attention on the tensor cores (mma.sync m16n8k16, fp16/bf16 in, fp32 accumulation) with the decomposed
// relative-position bias added to each score tile from shared memory. Nothing N x N is ever stored.
//
// Block: 4 warps, 64 queries of one head of one image at a time (a persistent grid walks over them); each warp owns
// 16 query rows. Keys come in tiles of up to 64 (see vm_attn_tile), double-buffered through cp.async. Scores live
// in the log2 domain (scale and bias carry log2 e) so the softmax uses ex2. Q, K and V tiles are [64][D] in shared
// memory with 16-byte chunks XOR-swizzled so ldmatrix reads are free of bank conflicts. Occupancy decides this
// kernel's speed (latency-bound at two blocks per SM, measured with ncu on the H100): the bias tables are f16 and the
// global layers' bias_h lives in global memory so that three blocks share an SM.
#include "attention_common.cuh"
#include "cuda_backend.h"
#include "mma_sync.cuh"

#include <type_traits>

namespace {

template <int D> __device__ __forceinline__ int swz(int r, int ch) {
  return D >= 64 ? (ch ^ (r & 7)) : (ch ^ ((r >> 1) & 3));
}

__device__ __forceinline__ float2 load_pair(const __half *p) {
  return __half22float2(*reinterpret_cast<const __half2 *>(p));
}

__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

/* Copy rows [tok0, tok0 + cnt) of one head's D columns (starting at column col0 of each 3C row) into a swizzled
 * [64][D] tile; rows >= cnt are zero-filled so masked keys contribute exact zeros. */
template <typename T, int D>
__device__ __forceinline__ void load_tile(T *tile, const T *base, int64_t stride, int tok0, int cnt, int col0) {
  constexpr int CPR = D / 8;
  for (int i = threadIdx.x; i < 64 * CPR; i += 128) {
    int r = i / CPR, ch = i % CPR;
    bool valid = r < cnt;
    const T *src = valid ? base + (int64_t)(tok0 + r) * stride + col0 + ch * 8 : base;
    cp_async16(smem_addr(tile + r * D + swz<D>(r, ch) * 8), src, valid);
  }
}

} // namespace

/* ROW: rel-pos bias with key tiles inside one key row (ww >= 64), the layout of every global layer. Its bias_h table
 * (one value per query row and key row, read once per tile) lives in global memory, in a slot of `bias_h_global`
 * per resident block, so that shared memory holds only bias_w and three blocks share an SM; without per-column
 * offsets it also stays under the 168 registers that three blocks allow.
 * The grid is persistent: block b handles work items b, b + gridDim.x, ... (query block, head, image). */
template <typename T, int D, bool ROW>
__global__ void __launch_bounds__(128, D <= 64 ? 3 : 1)
    attention_tc_kernel(vm_attn_args a, int heads, int total, float *bias_h_global) {
  /* Turing code (VITMATTE_CUDA_ATTENTION=turing-mma) runs the fp16 kernel (mma_sync.cuh); bf16 has no mma there */
#ifdef VM_NO_SM80_MMA
  if constexpr (!std::is_same<T, __half>::value) {
    __trap();
  } else
#endif
  {
  extern __shared__ __align__(16) unsigned char smem[];
  /* [Q][K: two stages][V: two stages][tables], or with q_in_k [K][V][tables] and Q passing through K's second stage:
   * it is read into registers before the first prefetch needs that stage, and the 8-16 KB saved let two blocks share
   * a consumer card's 100 KB SM at 2048^2 and (with compact bias strides) for the windows */
  T *Ks = (T *)smem + (a.q_in_k ? 0 : 64 * D);
  T *Vs = Ks + 2 * 64 * D;
  T *Qs = a.q_in_k ? Ks + 64 * D : (T *)smem;
  __half *bias_w = (__half *)(Vs + 2 * 64 * D);
  typedef typename std::conditional<ROW, float, __half>::type BiasHT;
  BiasHT *bias_h;
  if constexpr (ROW)
    bias_h = bias_h_global + (int64_t)blockIdx.x * VM_ATTN_BQ * a.bias_h_stride;
  else
    bias_h = (BiasHT *)(bias_w + 64 * a.bias_w_stride);
  const bool has_bias = a.rel_h != NULL;
  constexpr bool row_tiles = ROW;

  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int nqb = (a.N + VM_ATTN_BQ - 1) / VM_ATTN_BQ;
  const int64_t stride = 3 * (int64_t)a.C;
  const int ntiles = vm_attn_num_tiles(a.hh, a.ww);
  const float LOG2E = 1.4426950408889634f;
  const float scale_log2 = a.scale * LOG2E;
  const int row0 = warp * 16 + (lane >> 2), row1 = row0 + 8;

  /* the (dy, dx) of this thread's 16 score columns; the same in every tile */
  int coff[8][2];
  if (!ROW) {
#pragma unroll
    for (int nb = 0; nb < 8; nb++)
#pragma unroll
      for (int e = 0; e < 2; e++) coff[nb][e] = vm_attn_col_offset(nb * 8 + 2 * (lane & 3) + e, a.ww);
  }

  for (int work = blockIdx.x; work < total; work += gridDim.x) {
    const int q0 = (work % nqb) * VM_ATTN_BQ;
    const int head = (work / nqb) % heads;
    const int64_t img = work / (nqb * heads);
    const T *base = (const T *)a.qkv + img * a.N * stride;

    /* Q block and the first key tile */
    load_tile<T, D>(Qs, base, stride, q0, min(VM_ATTN_BQ, a.N - q0), head * D);
    cp_async_commit();
    vm_attn_tile tile = vm_attn_tile_at(0, a.hh, a.ww);
    load_tile<T, D>(Ks, base, stride, tile.tok0, tile.cnt, a.C + head * D);
    load_tile<T, D>(Vs, base, stride, tile.tok0, tile.cnt, 2 * a.C + head * D);
    cp_async_commit();
    cp_async_wait<1>();
    __syncthreads();

    if (has_bias) {
      vm_attn_bias_prologue<D, BiasHT, __half>(a, q0, bias_h, bias_w, LOG2E, [&](int r, int c) {
        return vm_to_f32<T>(Qs[r * D + swz<D>(r, c >> 3) * 8 + (c & 7)]);
      });
    }
    __syncthreads();

    /* this warp's Q fragments */
    uint32_t qf[D / 16][4];
#pragma unroll
    for (int kk = 0; kk < D / 16; kk++) {
      int r = warp * 16 + (lane & 15), ch = kk * 2 + (lane >> 4);
      ldsm_x4(qf[kk], smem_addr(Qs + r * D + swz<D>(r, ch) * 8));
    }
    if (a.q_in_k) __syncthreads(); /* every warp holds its Q fragments before the first prefetch overwrites Q */

    float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
    float o[D / 8][4];
#pragma unroll
    for (int nd = 0; nd < D / 8; nd++) o[nd][0] = o[nd][1] = o[nd][2] = o[nd][3] = 0.f;

    /* bias_h of a tile's key row for the thread's two query rows, loaded (from global memory) one tile ahead */
    float hnext[2] = {0.f, 0.f};
    if (row_tiles) {
      hnext[0] = bias_h[row0 * a.bias_h_stride + tile.y0];
      hnext[1] = bias_h[row1 * a.bias_h_stride + tile.y0];
    }
    for (int t = 0; t < ntiles; t++) {
      const int stage = t & 1;
      const float hrow[2] = {hnext[0], hnext[1]};
      if (t + 1 < ntiles) {
        vm_attn_tile nx = vm_attn_tile_at(t + 1, a.hh, a.ww);
        if (row_tiles) {
          hnext[0] = bias_h[row0 * a.bias_h_stride + nx.y0];
          hnext[1] = bias_h[row1 * a.bias_h_stride + nx.y0];
        }
        load_tile<T, D>(Ks + (stage ^ 1) * 64 * D, base, stride, nx.tok0, nx.cnt, a.C + head * D);
        load_tile<T, D>(Vs + (stage ^ 1) * 64 * D, base, stride, nx.tok0, nx.cnt, 2 * a.C + head * D);
        cp_async_commit();
        cp_async_wait<1>();
      } else {
        cp_async_wait<0>();
      }
      __syncthreads();
      const T *K = Ks + stage * 64 * D;
      const T *V = Vs + stage * 64 * D;

      /* S = Q K^T for this warp's 16 rows x 64 keys */
      float s[8][4];
#pragma unroll
      for (int nb = 0; nb < 8; nb++) {
        s[nb][0] = s[nb][1] = s[nb][2] = s[nb][3] = 0.f;
#pragma unroll
        for (int k2 = 0; k2 < D / 32; k2++) {
          uint32_t b[4];
          int r = nb * 8 + (lane & 7), ch = k2 * 4 + (lane >> 3);
          ldsm_x4(b, smem_addr(K + r * D + swz<D>(r, ch) * 8));
          mma_op<T>::run(s[nb], qf[2 * k2], b[0], b[1]);
          mma_op<T>::run(s[nb], qf[2 * k2 + 1], b[2], b[3]);
        }
      }

      /* scale, bias, mask; running max. In row tiles bias_h is one value per query row: it is added to the row's
       * tile maximum and to the exponent's offset rather than to each score. */
      float mx[2] = {-INFINITY, -INFINITY};
      if (row_tiles) {
        const __half *w0 = bias_w + row0 * a.bias_w_stride + tile.x0 + 2 * (lane & 3);
        const __half *w1 = bias_w + row1 * a.bias_w_stride + tile.x0 + 2 * (lane & 3);
#pragma unroll
        for (int nb = 0; nb < 8; nb++) {
          float2 p0 = load_pair(w0 + nb * 8), p1 = load_pair(w1 + nb * 8);
          s[nb][0] = fmaf(s[nb][0], scale_log2, p0.x);
          s[nb][1] = fmaf(s[nb][1], scale_log2, p0.y);
          s[nb][2] = fmaf(s[nb][2], scale_log2, p1.x);
          s[nb][3] = fmaf(s[nb][3], scale_log2, p1.y);
        }
        if (tile.cnt < VM_ATTN_BK) vm_attn_mask_columns(reinterpret_cast<float(&)[32]>(s), tile.cnt, lane);
#pragma unroll
        for (int nb = 0; nb < 8; nb++) {
          mx[0] = fmaxf(mx[0], fmaxf(s[nb][0], s[nb][1]));
          mx[1] = fmaxf(mx[1], fmaxf(s[nb][2], s[nb][3]));
        }
      } else {
#pragma unroll
        for (int nb = 0; nb < 8; nb++) {
#pragma unroll
          for (int e = 0; e < 2; e++) {
            int c = nb * 8 + 2 * (lane & 3) + e;
            bool valid = c < tile.cnt;
            float b0 = 0.f, b1 = 0.f;
            if (has_bias && valid) {
              int y2 = tile.y0 + (coff[nb][e] >> 16), x2 = tile.x0 + (coff[nb][e] & 0xffff);
              b0 = (float)bias_h[row0 * a.bias_h_stride + y2] + (float)bias_w[row0 * a.bias_w_stride + x2];
              b1 = (float)bias_h[row1 * a.bias_h_stride + y2] + (float)bias_w[row1 * a.bias_w_stride + x2];
            }
            s[nb][e] = valid ? fmaf(s[nb][e], scale_log2, b0) : -INFINITY;
            s[nb][2 + e] = valid ? fmaf(s[nb][2 + e], scale_log2, b1) : -INFINITY;
            mx[0] = fmaxf(mx[0], s[nb][e]);
            mx[1] = fmaxf(mx[1], s[nb][2 + e]);
          }
        }
      }
#pragma unroll
      for (int i = 0; i < 2; i++) {
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
        mx[i] += hrow[i]; /* -inf stays -inf */
      }
      float corr[2], mnew[2], off[2];
#pragma unroll
      for (int i = 0; i < 2; i++) {
        mnew[i] = fmaxf(m_run[i], mx[i]);
        if (mnew[i] == -INFINITY) mnew[i] = 0.f; /* only for rows without a token */
        corr[i] = ex2(m_run[i] - mnew[i]);
        m_run[i] = mnew[i];
        off[i] = hrow[i] - mnew[i];
      }
      float lsum[2] = {0.f, 0.f};
#pragma unroll
      for (int nb = 0; nb < 8; nb++) {
        s[nb][0] = ex2(s[nb][0] + off[0]);
        s[nb][1] = ex2(s[nb][1] + off[0]);
        s[nb][2] = ex2(s[nb][2] + off[1]);
        s[nb][3] = ex2(s[nb][3] + off[1]);
        lsum[0] += s[nb][0] + s[nb][1];
        lsum[1] += s[nb][2] + s[nb][3];
      }
      l_run[0] = l_run[0] * corr[0] + lsum[0];
      l_run[1] = l_run[1] * corr[1] + lsum[1];
#pragma unroll
      for (int nd = 0; nd < D / 8; nd++) {
        o[nd][0] *= corr[0];
        o[nd][1] *= corr[0];
        o[nd][2] *= corr[1];
        o[nd][3] *= corr[1];
      }

      /* O += P V: the score accumulators are already laid out as the A fragments of P */
#pragma unroll
      for (int kk = 0; kk < 4; kk++) {
        uint32_t pa[4];
        pa[0] = mma_op<T>::pack(s[2 * kk][0], s[2 * kk][1]);
        pa[1] = mma_op<T>::pack(s[2 * kk][2], s[2 * kk][3]);
        pa[2] = mma_op<T>::pack(s[2 * kk + 1][0], s[2 * kk + 1][1]);
        pa[3] = mma_op<T>::pack(s[2 * kk + 1][2], s[2 * kk + 1][3]);
#pragma unroll
        for (int n2 = 0; n2 < D / 16; n2++) {
          uint32_t b[4];
          int r = kk * 16 + (lane & 15), ch = n2 * 2 + (lane >> 4);
          ldsm_x4_t(b, smem_addr(V + r * D + swz<D>(r, ch) * 8));
          mma_op<T>::run(o[2 * n2], pa, b[0], b[1]);
          mma_op<T>::run(o[2 * n2 + 1], pa, b[2], b[3]);
        }
      }
      __syncthreads();
      if (t + 1 < ntiles) tile = vm_attn_tile_at(t + 1, a.hh, a.ww);
    }

    vm_attn_store_rows<T, D>(reinterpret_cast<const float(&)[D / 2]>(o), l_run, (T *)a.out + img * a.N * (int64_t)a.C,
                             a.C, a.N, q0 + row0, q0 + row1, head, lane, mma_op<T>::pack);
    /* the last tile's trailing __syncthreads already keeps the next item's loads behind every read of smem */
  }
  }
}

/* Shared memory the kernel needs: Q (unless it borrows K's second stage), two stages of K and V, bias_w, and bias_h
 * unless it is in global memory. */
template <int D, bool ROW> static size_t tc_smem(const vm_attn_args &a) {
  return (size_t)(a.q_in_k ? 4 : 5) * 64 * D * 2 +
         (size_t)64 * (a.bias_w_stride + (ROW ? 0 : a.bias_h_stride)) * sizeof(__half);
}

/* The smallest stride >= n that is 8 mod 16 elements (4 words mod 8): the 8 rows a warp reads at once start in 8
 * different banks. */
static int compact_stride(int n) { return n <= 8 ? 8 : (n - 8 + 15) / 16 * 16 + 8; }

/* Bias-table strides (elements, f16): rows of bias_w hold x0 + 63 for every tile start x0 of a row tile (reads past
 * ww are masked), a row stride of 4 words mod 32 keeping the 8 rows a warp reads at once in different banks; bias_h
 * of row tiles is f32 in global memory (same stride rule). Block tiles (whole key rows, ww < 64) read only
 * y < hh and x < ww: with q_in_k their tables take compact strides (14 x 14 windows: 24 instead of 72), which is
 * what lets two blocks share a consumer card's SM there. */
static void bias_strides(vm_attn_args &a) {
  if (a.q_in_k && a.ww < VM_ATTN_BK) {
    a.bias_h_stride = compact_stride(a.hh);
    a.bias_w_stride = compact_stride(a.ww);
  } else {
    a.bias_h_stride = (a.hh + 63) / 64 * 64 + 8;
    a.bias_w_stride = (a.ww + 63) / 64 * 64 + 8;
  }
}

template <typename T, int D, bool ROW>
static vm_status launch(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err) {
  auto kernel = attention_tc_kernel<T, D, ROW>;
  const size_t smem = tc_smem<D, ROW>(a);
  VM_CU(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
        "attention (tensor cores): cudaFuncSetAttribute");
  int per_sm = 0;
  VM_TRY(vm_cuda_blocks_per_sm(cu, (const void *)kernel, 128, smem, &per_sm, err));
  if (per_sm < 1)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "attention: a %dx%d token grid needs %zu bytes of shared memory, %s "
                   "allows %zu", a.hh, a.ww, smem, cu->base.name, cu->smem_optin);
  vm_attn_grid g = {0, 0, NULL};
  VM_TRY(vm_attn_grid_make(cu, a, n, heads, per_sm, ROW ? (size_t)VM_ATTN_BQ * a.bias_h_stride : 0, &g, err));
  kernel<<<g.grid, 128, smem, cu->stream>>>(a, heads, g.total, g.slots);
  return vm_cuda_launch_check(err, "attention (tensor cores)");
}

bool vm_cuda_attention_wgmma_takes(const vm_cuda *cu, const vm_attn_args &a);
vm_status vm_cuda_attention_wgmma(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err);
vm_status vm_cuda_attention_generic(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err);

/* Which kernel takes a (bias strides set by bias_strides, or none without rel-pos tables): the wgmma kernel, this
 * kernel with bias_h in global memory (row tiles) or with both tables in shared memory, or none of them. */
enum tc_variant { TC_WGMMA, TC_ROW, TC_BLOCK, TC_NONE };

static tc_variant tc_choose(const vm_cuda *cu, const vm_attn_args &a) {
  if (vm_cuda_attention_wgmma_takes(cu, a)) return TC_WGMMA;
  const bool row = a.rel_h && a.ww >= VM_ATTN_BK;
  const size_t smem = a.d <= 32 ? (row ? tc_smem<32, true>(a) : tc_smem<32, false>(a))
                      : a.d <= 64 ? (row ? tc_smem<64, true>(a) : tc_smem<64, false>(a))
                                  : (row ? tc_smem<128, true>(a) : tc_smem<128, false>(a));
  if (smem > cu->smem_optin) return TC_NONE;
  return row ? TC_ROW : TC_BLOCK;
}

/* The shared-memory bias tables are f16: f32 tables measured slower on the H100 at every size (at 12 MP they let
 * only two blocks share an SM instead of three: 135 vs 117 ms for ViTMatte-S), for the same fp16 alpha error. */
/* Tiles that do not fit the card's shared memory (consumer cards allow 99 KB a block, Hopper 227 KB; very wide
 * images need large bias tables) go to the fp32-arithmetic kernel, which keeps its bias tables in global memory
 * when they do not fit. */
template <typename T, int D>
static vm_status launch_d(vm_cuda *cu, const vm_attn_args &in, int n, int heads, vm_error *err) {
  vm_attn_args a = in;
  a.q_in_k = cu->attention_compact_smem;
  if (a.rel_h)
    bias_strides(a);
  else
    a.bias_h_stride = a.bias_w_stride = 0;
  switch (tc_choose(cu, a)) {
  case TC_WGMMA: return cu->last_attention = "wgmma", vm_cuda_attention_wgmma(cu, a, n, heads, err);
  case TC_ROW: return cu->last_attention = "mma.sync, row tiles", launch<T, D, true>(cu, a, n, heads, err);
  case TC_BLOCK: return cu->last_attention = "mma.sync, block tiles", launch<T, D, false>(cu, a, n, heads, err);
  case TC_NONE: break;
  }
  return vm_cuda_attention_generic(cu, in, n, heads, err);
}

size_t vm_cuda_attention_tc_scratch(const vm_cuda *cu, int hh, int ww, int d, bool *taken) {
  vm_attn_args a;
  memset(&a, 0, sizeof a);
  a.hh = hh;
  a.ww = ww;
  a.d = d;
  static const float any_table = 0.f;
  a.rel_h = &any_table; /* the global layers have rel-pos bias: only the tables' presence matters here */
  a.q_in_k = cu->attention_compact_smem;
  bias_strides(a);
  const size_t slots = (size_t)cu->sm_count * VM_ATTN_SLOTS_PER_SM * VM_ATTN_BQ * a.bias_h_stride * sizeof(float);
  *taken = true;
  switch (tc_choose(cu, a)) {
  case TC_WGMMA:
  case TC_ROW: return slots;
  case TC_BLOCK: return 0;
  case TC_NONE: break;
  }
  *taken = false;
  return 0;
}

bool vm_cuda_attention_tc_takes(const vm_cuda *cu, int d) {
  return (cu->base.precision == VM_PRECISION_FP16 || cu->base.precision == VM_PRECISION_BF16) &&
         (d == 32 || d == 64 || d == 128);
}

vm_status vm_cuda_attention_tc(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err) {
  if (cu->base.precision == VM_PRECISION_FP16) {
    switch (a.d) {
    case 32: return launch_d<__half, 32>(cu, a, n, heads, err);
    case 64: return launch_d<__half, 64>(cu, a, n, heads, err);
    case 128: return launch_d<__half, 128>(cu, a, n, heads, err);
    }
  } else if (cu->base.precision == VM_PRECISION_BF16) {
    switch (a.d) {
    case 32: return launch_d<__nv_bfloat16, 32>(cu, a, n, heads, err);
    case 64: return launch_d<__nv_bfloat16, 64>(cu, a, n, heads, err);
    case 128: return launch_d<__nv_bfloat16, 128>(cu, a, n, heads, err);
    }
  }
  return vm_fail(err, VM_ERR_INTERNAL, "attention: the tensor-core path does not take head dimension %d", a.d);
}
