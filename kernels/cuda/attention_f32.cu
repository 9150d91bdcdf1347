// The fp32 global attention for head dimension 64 on sm_80 code: exact fp32 arithmetic (FMA, expf) like the generic
// kernel, register-tiled for the large global layers, where the generic kernel's 4 x 4 tiles ran at 10-15 TFLOP/s.
//
// Block: 256 threads as 16 x 16 over 16 RM queries (RM = 8: 128, RM = 4: 64) of one head of one image; thread (ty, tx)
// owns query rows ty RM .. ty RM + RM - 1, scores of keys tx + 16 j (j < 4) and output columns 4 tx .. 4 tx + 3. Key
// tiles are 64 keys of one image row (image width >= 64 tokens), walked column chunk by column chunk (x0 = 0, 64, ...;
// every row y2 for each), so the x part of the rel-pos bias is a 64-column table in shared memory rebuilt once a
// chunk and the y part ([BQ][hh], the same for a whole tile) sits in a global slot per resident block. K and V tiles
// arrive row-major through cp.async, double-buffered; P goes through shared memory transposed.
#include "attention_common.cuh"
#include "cuda_backend.h"
#include "mma_sync.cuh"

#define F32_D 64
#define F32_BK 64
#define F32_LD 68 /* row stride of the Q, K, V tiles in floats: adjacent rows 4 banks apart, so the 8 threads of a
                   * float4 phase (keys tx .. tx + 7 of one j) cover all 32 banks */

template <int RM> struct f32_tiles {
  static constexpr int BQ = 16 * RM;
  static constexpr int PLD = BQ + 4;      /* P^T rows (one per key) */
  static constexpr int BWLD = 64 + 16 / RM; /* bias chunk rows: the two half-warps' rows (RM apart) in other banks */
  static constexpr size_t floats =
      (size_t)BQ * F32_LD + 4 + 4 * F32_BK * F32_LD + (size_t)F32_BK * PLD + (size_t)BQ * BWLD;
};

/* Query row r's place in the Q tile: the two half-warps read rows RM apart, which at RM = 8 (8 x 68 floats) would
 * share banks; every other group of RM rows is shifted by 4 floats. */
template <int RM> __device__ __forceinline__ int f32_qrow(int r) { return r * F32_LD + ((r / RM) & 1) * 4; }

/* Launch bounds of one block an SM (its shared memory allows no more): ptxas then keeps the 4-row variant's 146
 * registers without the spill it chose on its own (measured equal on the H100). */
template <int RM>
__global__ void __launch_bounds__(256, 1) attention_f32_kernel(vm_attn_args a, int heads, int total,
                                                                      float *bias_h_slots) {
#ifdef VM_NO_SM80_MMA
  __trap(); /* cp.async: never launched from older code (f32_eligible) */
#else
  typedef f32_tiles<RM> cfg;
  constexpr int BQ = cfg::BQ, PLD = cfg::PLD, BWLD = cfg::BWLD;
  extern __shared__ __align__(16) float fsm[];
  float *Qs = fsm;                    /* [BQ][LD] + 4 (f32_qrow) */
  float *Ks = Qs + BQ * F32_LD + 4;   /* [2][BK][LD] */
  float *Vs = Ks + 2 * F32_BK * F32_LD; /* [2][BK][LD] */
  float *Pt = Vs + 2 * F32_BK * F32_LD;   /* [BK][PLD] */
  float *Bw = Pt + F32_BK * PLD;          /* [BQ][BWLD]: the current column chunk's x bias */
  float *Bh = bias_h_slots + (int64_t)blockIdx.x * BQ * a.hh; /* [BQ][hh] */
  const bool has_bias = a.rel_h != NULL;
  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
  const int nqb = (a.N + BQ - 1) / BQ;
  const int64_t stride = 3 * (int64_t)a.C;
  const int nxc = (a.ww + F32_BK - 1) / F32_BK;
  const int T = nxc * a.hh;

  for (int work = blockIdx.x; work < total; work += gridDim.x) {
    const int q0 = (work % nqb) * BQ;
    const int head = (work / nqb) % heads;
    const int64_t img = work / (nqb * heads);
    const float *base = (const float *)a.qkv + img * a.N * stride + head * F32_D;

    /* tile t's K and V rows into buffer buf; keys past the row's end are zero-filled */
    auto load_tile = [&](int t, int buf) {
      const int xc = t / a.hh, y2 = t - xc * a.hh;
      const int x0 = xc * F32_BK, cnt = min(F32_BK, a.ww - x0);
      vm_attn_f32_load_kv<256>(Ks + buf * F32_BK * F32_LD, Vs + buf * F32_BK * F32_LD, F32_LD, base, stride, a.C,
                               (int64_t)y2 * a.ww + x0, cnt);
    };
    const auto qrow = [](int r) { return f32_qrow<RM>(r); };
    /* the previous item's last reads of Q, the buffers, P, and both bias tables ended at its last tile's closing
     * barrier */
    load_tile(0, 0);
    cp_async_commit();
    vm_attn_f32_load_q<256>(Qs, qrow, base, stride, q0, BQ, a.N);
    __syncthreads();
    if (has_bias) vm_attn_f32_bias_h<256>(Bh, Qs, qrow, a, q0, BQ); /* Bh[r][y2] = q_r . Rh[y1 - y2 + hh - 1] */
    /* (visible to the block after the first tile's barrier) */

    float m_run[RM], l_run[RM], o[RM][4];
#pragma unroll
    for (int i = 0; i < RM; i++) {
      m_run[i] = -INFINITY;
      l_run[i] = 0.f;
#pragma unroll
      for (int j = 0; j < 4; j++) o[i][j] = 0.f;
    }

    for (int t = 0; t < T; t++) {
      const int xc = t / a.hh, y2 = t - xc * a.hh;
      const int x0 = xc * F32_BK, cnt = min(F32_BK, a.ww - x0);
      if (has_bias && y2 == 0) /* a new column chunk */
        vm_attn_f32_bias_w_chunk<256>(Bw, BWLD, Qs, qrow, a, q0, BQ, x0, cnt);
      if (t + 1 < T) load_tile(t + 1, (t + 1) & 1);
      cp_async_commit(); /* possibly empty: the wait below always leaves exactly the next tile in flight */
      cp_async_wait<1>();
      __syncthreads();
      const float *K = Ks + (t & 1) * F32_BK * F32_LD, *V = Vs + (t & 1) * F32_BK * F32_LD;

      float s[RM][4];
#pragma unroll
      for (int i = 0; i < RM; i++)
#pragma unroll
        for (int j = 0; j < 4; j++) s[i][j] = 0.f;
#pragma unroll 2
      for (int c4 = 0; c4 < 16; c4++) {
        float4 kv[4];
#pragma unroll
        for (int j = 0; j < 4; j++) kv[j] = *(const float4 *)(K + (tx + 16 * j) * F32_LD + 4 * c4);
#pragma unroll
        for (int i = 0; i < RM; i++) {
          const float4 qv = *(const float4 *)(Qs + f32_qrow<RM>(ty * RM + i) + 4 * c4);
#pragma unroll
          for (int j = 0; j < 4; j++) {
            s[i][j] = fmaf(qv.x, kv[j].x, s[i][j]);
            s[i][j] = fmaf(qv.y, kv[j].y, s[i][j]);
            s[i][j] = fmaf(qv.z, kv[j].z, s[i][j]);
            s[i][j] = fmaf(qv.w, kv[j].w, s[i][j]);
          }
        }
      }

#pragma unroll
      for (int i = 0; i < RM; i++) {
        const int r = ty * RM + i;
        const float bh = has_bias ? Bh[r * a.hh + y2] : 0.f;
#pragma unroll
        for (int j = 0; j < 4; j++) {
          const int c = tx + 16 * j;
          const float b = has_bias ? bh + Bw[r * BWLD + c] : 0.f;
          s[i][j] = c < cnt ? s[i][j] * a.scale + b : -INFINITY;
        }
        vm_attn_softmax_step16(s[i], m_run[i], l_run[i], o[i]);
      }
      /* P^T: the previous tile's P V reads ended at its closing barrier */
#pragma unroll
      for (int j = 0; j < 4; j++)
#pragma unroll
        for (int i4 = 0; i4 < RM / 4; i4++)
          *(float4 *)(Pt + (tx + 16 * j) * PLD + ty * RM + 4 * i4) =
              make_float4(s[4 * i4][j], s[4 * i4 + 1][j], s[4 * i4 + 2][j], s[4 * i4 + 3][j]);
      __syncthreads();
      /* O += P V over all 64 keys: keys past cnt have P = 0 and zero-filled V rows */
#pragma unroll 4
      for (int k = 0; k < F32_BK; k++) {
        const float4 v = *(const float4 *)(V + k * F32_LD + 4 * tx);
#pragma unroll
        for (int i4 = 0; i4 < RM / 4; i4++) {
          const float4 p = *(const float4 *)(Pt + k * PLD + ty * RM + 4 * i4);
          const float pv[4] = {p.x, p.y, p.z, p.w};
#pragma unroll
          for (int ii = 0; ii < 4; ii++) {
            o[4 * i4 + ii][0] = fmaf(pv[ii], v.x, o[4 * i4 + ii][0]);
            o[4 * i4 + ii][1] = fmaf(pv[ii], v.y, o[4 * i4 + ii][1]);
            o[4 * i4 + ii][2] = fmaf(pv[ii], v.z, o[4 * i4 + ii][2]);
            o[4 * i4 + ii][3] = fmaf(pv[ii], v.w, o[4 * i4 + ii][3]);
          }
        }
      }
      __syncthreads(); /* the buffers of tile t are refilled for tile t + 2; P and (next chunk) Bw are rewritten */
    }

    float *out = (float *)a.out + img * a.N * (int64_t)a.C + head * F32_D + 4 * tx;
#pragma unroll
    for (int i = 0; i < RM; i++) {
      float l = l_run[i];
#pragma unroll
      for (int off = 1; off < 16; off <<= 1) l += __shfl_xor_sync(0xffffffffu, l, off);
      const int tok = q0 + ty * RM + i;
      if (tok >= a.N) continue;
      const float inv = 1.f / l;
      *(float4 *)(out + (int64_t)tok * a.C) = make_float4(o[i][0] * inv, o[i][1] * inv, o[i][2] * inv, o[i][3] * inv);
    }
  }
#endif
}

/* Shared memory of the RM variant, and its resident blocks an SM on this card (0: does not fit). */
template <int RM> static size_t f32_smem() { return f32_tiles<RM>::floats * sizeof(float); }

static int f32_blocks_per_sm(const vm_cuda *cu, size_t smem) {
  if (smem > cu->smem_optin) return 0;
  return (int)(cu->smem_per_sm / (smem + cu->smem_reserved));
}

/* Whether a layer of head dimension d and ww tokens a row is this kernel's kind on this context: fp32, d = 64,
 * images at least 64 tokens wide, sm_80 code (cp.async), not switched off (VITMATTE_CUDA_ATTN_ROWS=off). */
static bool f32_eligible(const vm_cuda *cu, int d, int ww) {
  return cu->base.precision == VM_PRECISION_FP32 && !cu->attention_generic_only && cu->mma && d == F32_D &&
         ww >= F32_BK && cu->attention_rows != 0;
}

/* The query rows a thread takes (8 or 4) at this layer, 0 when the kernel does not take it (not f32_eligible, rows not
 * 16-byte aligned, no tile set that fits). RM = 8 halves the
 * shared-memory reads per product but makes half as many work items: RM = 4 when that fills the last wave better
 * (ViTMatte-S at 1024^2: 192 items of 128 queries on 132 SMs are two waves, 384 of 64 three). VITMATTE_CUDA_ATTN_ROWS
 * = 4 or 8 forces one (measurements), auto lets the waves decide. */
int vm_cuda_attention_f32_rows(const vm_cuda *cu, const vm_attn_args &a, int n, int heads) {
  if (!f32_eligible(cu, a.d, a.ww) || a.C % 4 != 0 || ((uintptr_t)a.qkv | (uintptr_t)a.out) % 16 != 0) return 0;
  const int per8 = f32_blocks_per_sm(cu, f32_smem<8>()), per4 = f32_blocks_per_sm(cu, f32_smem<4>());
  if (cu->attention_rows == 8 && per8 > 0) return 8;
  if (cu->attention_rows == 4 && per4 > 0) return 4;
  if (per8 == 0) return per4 > 0 ? 4 : 0;
  if (per4 == 0) return 8;
  /* waves of each, an RM = 8 item counting twice an RM = 4 one and RM = 4 taken as 15% slower a product */
  const int64_t items8 = (int64_t)((a.N + 127) / 128) * heads * n, items4 = (int64_t)((a.N + 63) / 64) * heads * n;
  const int64_t slots8 = (int64_t)cu->sm_count * per8, slots4 = (int64_t)cu->sm_count * per4;
  /* blocks sharing an SM share its time: a wave of per4 blocks an SM takes per4 times as long (no gain counted from
   * their overlap) */
  const double cost8 = 2.0 * per8 * (double)((items8 + slots8 - 1) / slots8);
  const double cost4 = 1.15 * per4 * (double)((items4 + slots4 - 1) / slots4);
  return cost4 < cost8 ? 4 : 8;
}

size_t vm_cuda_attention_f32_scratch(const vm_cuda *cu, int hh, int ww, int d) {
  if (!f32_eligible(cu, d, ww)) return 0;
  /* either variant's bias_h slots, whichever is larger */
  size_t s8 = (size_t)f32_blocks_per_sm(cu, f32_smem<8>()) * 128, s4 = (size_t)f32_blocks_per_sm(cu, f32_smem<4>()) * 64;
  return (size_t)cu->sm_count * (s8 > s4 ? s8 : s4) * (size_t)hh * sizeof(float);
}

template <int RM>
static vm_status launch_f32(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err) {
  auto kernel = attention_f32_kernel<RM>;
  const size_t smem = f32_smem<RM>();
  VM_CU(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
        "attention (fp32, register-tiled): cudaFuncSetAttribute");
  int per_sm = 0;
  VM_TRY(vm_cuda_blocks_per_sm(cu, (const void *)kernel, 256, smem, &per_sm, err));
  if (per_sm < 1)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "attention (fp32, register-tiled): no block of %zu bytes fits on %s", smem,
                   cu->base.name);
  const int64_t total = (int64_t)((a.N + 16 * RM - 1) / (16 * RM)) * heads * n;
  if (total > 0x7fffffffLL) return vm_fail(err, VM_ERR_UNSUPPORTED, "attention: too many query blocks");
  int64_t grid = (int64_t)cu->sm_count * per_sm;
  if (grid > total) grid = total;
  float *slots = NULL;
  if (a.rel_h) {
    VM_TRY(vm_cuda_scratch_reserve(cu, &cu->attn_bias, (size_t)grid * 16 * RM * a.hh * sizeof(float),
                                   "the attention bias scratch", err));
    slots = (float *)cu->attn_bias.ptr;
  }
  kernel<<<(unsigned)grid, 256, smem, cu->stream>>>(a, heads, (int)total, slots);
  return vm_cuda_launch_check(err, "attention (fp32, register-tiled)");
}

vm_status vm_cuda_attention_f32(vm_cuda *cu, const vm_attn_args &a, int n, int heads, int rm, vm_error *err) {
  if (rm == 8) return cu->last_attention = "register-tiled, 8 rows", launch_f32<8>(cu, a, n, heads, err);
  if (rm == 4) return cu->last_attention = "register-tiled, 4 rows", launch_f32<4>(cu, a, n, heads, err);
  return vm_fail(err, VM_ERR_INTERNAL, "attention: the register-tiled fp32 kernel has no %d-row variant", rm);
}
