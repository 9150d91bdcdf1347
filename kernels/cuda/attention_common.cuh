/* attention_common.cuh - what the attention kernels share: their arguments, the key-tile schedule, the prologue that
 * computes one query block's decomposed relative-position bias into shared memory, and the fp32 kernels' tile loads
 * and bias tables. */
#ifndef VM_ATTENTION_COMMON_CUH
#define VM_ATTENTION_COMMON_CUH

#include <stdint.h>

#include "act_types.cuh"
#include "cuda_backend.h"
#include "mma_sync.cuh"

/* Queries per block, keys per tile. */
#define VM_ATTN_BQ 64
#define VM_ATTN_BK 64

struct vm_attn_args {
  const void *qkv;   /* [n, hh, ww, 3C] */
  void *out;         /* [n, hh, ww, C] */
  const float *rel_h;/* [2hh-1, d] or NULL */
  const float *rel_w;/* [2ww-1, d] or NULL */
  int hh, ww, N, C, d;
  float scale;       /* d^-0.5 */
  int bias_h_stride, bias_w_stride; /* row strides of the bias tables in shared memory, in elements */
  int q_in_k;        /* mma.sync kernel: Q staged in K's second stage (VITMATTE_CUDA_ATTN_SMEM=compact) */
};

/* Bias slots per SM: a grid with bias slots has at most this many resident blocks an SM, and the scratch estimates
 * (vm_cuda_attention_scratch) reserve this many slots an SM. */
#define VM_ATTN_SLOTS_PER_SM 4

/* The persistent grid of an attention kernel: all (query block, head, image) items of n images, at most per_sm
 * resident blocks an SM; with slot_floats > 0 each resident block gets a slot of that many floats in cu->attn_bias
 * (the rel-pos bias tables that do not fit in shared memory) and per_sm is clamped to VM_ATTN_SLOTS_PER_SM. */
struct vm_attn_grid {
  int total;     /* work items */
  unsigned grid; /* blocks */
  float *slots;  /* NULL without slots */
};

static inline vm_status vm_attn_grid_make(vm_cuda *cu, const vm_attn_args &a, int n, int heads, int per_sm,
                                          size_t slot_floats, vm_attn_grid *g, vm_error *err) {
  const int64_t total = (int64_t)((a.N + VM_ATTN_BQ - 1) / VM_ATTN_BQ) * heads * n;
  if (total > 0x7fffffffLL) return vm_fail(err, VM_ERR_UNSUPPORTED, "attention: too many query blocks");
  if (slot_floats > 0 && per_sm > VM_ATTN_SLOTS_PER_SM) per_sm = VM_ATTN_SLOTS_PER_SM;
  int64_t grid = (int64_t)cu->sm_count * per_sm;
  if (grid > total) grid = total;
  g->total = (int)total;
  g->grid = (unsigned)grid;
  g->slots = NULL;
  if (slot_floats > 0) {
    VM_TRY(vm_cuda_scratch_reserve(cu, &cu->attn_bias, (size_t)grid * slot_floats * sizeof(float),
                                   "the attention bias scratch", err));
    g->slots = (float *)cu->attn_bias.ptr;
  }
  return VM_OK;
}

/* Key tiles follow the image rows, so a tile's keys share one y (ww >= 64: up to 64 keys of one row) or are whole
 * rows (ww < 64: as many rows as fit in 64 keys). Each tile is a contiguous run of tokens; inside it, column c is
 * key (y0 + dy(c), x0 + dx(c)) with dy, dx the same for every tile. */
struct vm_attn_tile {
  int tok0, cnt, y0, x0;
};

__device__ __forceinline__ int vm_attn_num_tiles(int hh, int ww) {
  if (ww >= VM_ATTN_BK) return hh * ((ww + VM_ATTN_BK - 1) / VM_ATTN_BK);
  int rows = VM_ATTN_BK / ww;
  return (hh + rows - 1) / rows;
}

__device__ __forceinline__ vm_attn_tile vm_attn_tile_at(int t, int hh, int ww) {
  vm_attn_tile k;
  if (ww >= VM_ATTN_BK) {
    int per_row = (ww + VM_ATTN_BK - 1) / VM_ATTN_BK;
    k.y0 = t / per_row;
    k.x0 = (t - k.y0 * per_row) * VM_ATTN_BK;
    k.cnt = min(VM_ATTN_BK, ww - k.x0);
  } else {
    int rows = VM_ATTN_BK / ww;
    k.y0 = t * rows;
    k.x0 = 0;
    k.cnt = min(rows, hh - k.y0) * ww;
  }
  k.tok0 = k.y0 * ww + k.x0;
  return k;
}

/* The tile after k when ww >= 64 (row tiles, walked in order: each starts where the previous one ended); the same as
 * vm_attn_tile_at(t + 1) without its divisions. */
__device__ __forceinline__ vm_attn_tile vm_attn_next_row_tile(vm_attn_tile k, int ww) {
  k.tok0 += k.cnt;
  k.x0 += VM_ATTN_BK;
  if (k.x0 >= ww) {
    k.x0 = 0;
    k.y0++;
  }
  k.cnt = min(VM_ATTN_BK, ww - k.x0);
  return k;
}

/* Scores of key columns at or past cnt (a tile shorter than 64) to -inf. s[4 nb + e] and s[4 nb + 2 + e] are the
 * lane's two rows at column nb * 8 + 2 * (lane & 3) + e: the mma accumulator fragments of a 64-key tile. */
__device__ __forceinline__ void vm_attn_mask_columns(float (&s)[32], int cnt, int lane) {
#pragma unroll
  for (int nb = 0; nb < 8; nb++)
#pragma unroll
    for (int e = 0; e < 2; e++) {
      bool valid = nb * 8 + 2 * (lane & 3) + e < cnt;
      s[4 * nb + e] = valid ? s[4 * nb + e] : -INFINITY;
      s[4 * nb + 2 + e] = valid ? s[4 * nb + 2 + e] : -INFINITY;
    }
}

/* Column c of every tile: packed dy << 16 | dx. */
__device__ __forceinline__ int vm_attn_col_offset(int c, int ww) {
  if (ww >= VM_ATTN_BK) return c;
  return ((c / ww) << 16) | (c % ww);
}

/* Key column c of a 64-key tile sits in the accumulator fragments at block nb = (c % 64) / 8, lane quad
 * q = (c % 8) / 2, element e = c % 2: stored at q * 16 + nb * 2 + e, a quad's 16 columns are contiguous. */
__device__ __forceinline__ int vm_attn_frag_col(int c) {
  return (c & ~63) | ((c >> 1) & 3) << 4 | ((c >> 3) & 7) << 1 | (c & 1);
}

/* bias_h[r][y2] = mult * q_r . Rh[y1 - y2 + hh - 1] and bias_w[r][x2] = mult * q_r . Rw[x1 - x2 + ww - 1] for the
 * block's query rows r (token q0 + r at (y1, x1)), with the unscaled q. FRAG_W stores each 64 columns of bias_w in
 * the order the mma accumulator fragments hold them (vm_attn_frag_col), so a thread reads its 16 with two loads.
 * Lanes take consecutive rows and walk the table rows k together, so each R row a warp reads is one broadcast load;
 * q_r stays in registers. qload(r, c) returns q_r[c] as float. Rows past the last token get zeros. */
template <int DQ, typename BiasHT, typename BiasWT, bool FRAG_W = false, typename QLoad>
__device__ void vm_attn_bias_prologue(const vm_attn_args &a, int q0, BiasHT *bias_h, BiasWT *bias_w, float mult,
                                      QLoad qload) {
  const int nthreads = blockDim.x;
  const int tid = threadIdx.x;
  const int last = min(q0 + VM_ATTN_BQ, a.N) - 1;
  const int nvalid = last - q0 + 1;
  /* rows without a token */
  for (int i = tid; i < (VM_ATTN_BQ - nvalid) * (a.bias_h_stride + a.bias_w_stride); i += nthreads) {
    int r = nvalid + i / (a.bias_h_stride + a.bias_w_stride);
    int c = i % (a.bias_h_stride + a.bias_w_stride);
    if (c < a.bias_h_stride)
      bias_h[r * a.bias_h_stride + c] = BiasHT(0.f);
    else
      bias_w[r * a.bias_w_stride + c - a.bias_h_stride] = BiasWT(0.f);
  }
  const int y1min = q0 / a.ww, y1max = last / a.ww;
  int x1min = 0, x1max = a.ww - 1;
  if (y1min == y1max) {
    x1min = q0 - y1min * a.ww;
    x1max = last - y1max * a.ww;
  }
  const int kh0 = y1min, nh = y1max + a.hh - 1 - kh0 + 1;
  const int kw0 = x1min, nw = x1max + a.ww - 1 - kw0 + 1;
  const int parts = nthreads / VM_ATTN_BQ;
  const int r = tid % VM_ATTN_BQ, part = tid / VM_ATTN_BQ;
  const bool valid = r < nvalid;
  const int tok = q0 + r;
  const int y1 = tok / a.ww, x1 = tok - (tok / a.ww) * a.ww;
  float q[DQ];
#pragma unroll
  for (int c = 0; c < DQ; c++) q[c] = (valid && c < a.d) ? qload(r, c) : 0.f;
  for (int s = part; s < nh + nw; s += parts) {
    const float *row;
    int dst;
    const bool is_h = s < nh;
    if (is_h) {
      int k = kh0 + s;
      row = a.rel_h + (int64_t)k * a.d;
      dst = y1 + a.hh - 1 - k;
      if (dst >= a.hh) dst = -1;
    } else {
      int k = kw0 + (s - nh);
      row = a.rel_w + (int64_t)k * a.d;
      dst = x1 + a.ww - 1 - k;
      if (dst >= a.ww) dst = -1;
    }
    float acc = 0.f;
#pragma unroll
    for (int c4 = 0; c4 < DQ / 4; c4++) {
      if (c4 * 4 < a.d) {
        float4 v = __ldg((const float4 *)row + c4);
        acc = fmaf(q[4 * c4], v.x, acc);
        acc = fmaf(q[4 * c4 + 1], v.y, acc);
        acc = fmaf(q[4 * c4 + 2], v.z, acc);
        acc = fmaf(q[4 * c4 + 3], v.w, acc);
      }
    }
    if (valid && dst >= 0) {
      /* f16 tables: a bias beyond f16's range would become inf and then NaN in the softmax; clamped, it still
       * decides every score it is in (2^60000). */
      float v = acc * mult;
      if (sizeof(BiasWT) == 2) v = fminf(fmaxf(v, -60000.f), 60000.f);
      if (is_h)
        bias_h[r * a.bias_h_stride + dst] = BiasHT(v);
      else
        bias_w[r * a.bias_w_stride + (FRAG_W ? vm_attn_frag_col(dst) : dst)] = BiasWT(v);
    }
  }
}

/* q . R over 64 columns, q in shared memory, R a rel-pos table row (global memory): the fp32 kernels' exact bias dot
 * (fmaf in column order). */
__device__ __forceinline__ float vm_attn_dot64(const float *q, const float *R) {
  float acc = 0.f;
#pragma unroll
  for (int c4 = 0; c4 < 16; c4++) {
    float4 a = *(const float4 *)(q + 4 * c4), b = __ldg((const float4 *)R + c4);
    acc = fmaf(a.x, b.x, acc);
    acc = fmaf(a.y, b.y, acc);
    acc = fmaf(a.z, b.z, acc);
    acc = fmaf(a.w, b.w, acc);
  }
  return acc;
}

/* ---- The fp32 kernels' shared steps (attention_f32.cu, attention_f32tc.cu): head dimension 64, 64-key tiles, the
 * decomposed rel-pos bias with the unscaled q of rows clamped to the last token. NT: the block's threads; qrow(r):
 * query row r's offset in the kernel's Q tile. ---- */

/* K and V rows tok0 .. tok0 + 63 of one head (base: the image's qkv at the head's q columns, rows `stride` floats
 * apart) into kd and vd (rows ld floats apart) through cp.async; rows past cnt are zero-filled. */
template <int NT>
__device__ __forceinline__ void vm_attn_f32_load_kv(float *kd, float *vd, int ld, const float *base, int64_t stride,
                                                    int C, int64_t tok0, int cnt) {
  for (int i = threadIdx.x; i < 64 * 16; i += NT) {
    const int r = i >> 4, c4 = i & 15;
    const bool valid = r < cnt;
    const float *src = base + (valid ? (tok0 + r) * stride : 0) + 4 * c4;
    cp_async16(smem_addr(kd + r * ld + 4 * c4), src + C, valid);
    cp_async16(smem_addr(vd + r * ld + 4 * c4), src + 2 * C, valid);
  }
}

/* Query rows q0 .. q0 + nq - 1 into Qs at qrow(r); rows past the last token are zeros. */
template <int NT, typename QRow>
__device__ __forceinline__ void vm_attn_f32_load_q(float *Qs, QRow qrow, const float *base, int64_t stride, int q0,
                                                   int nq, int N) {
  for (int i = threadIdx.x; i < nq * 16; i += NT) {
    const int r = i >> 4, c4 = i & 15;
    float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
    if (q0 + r < N) v = *(const float4 *)(base + (int64_t)(q0 + r) * stride + 4 * c4);
    *(float4 *)(Qs + qrow(r) + 4 * c4) = v;
  }
}

/* Bh[r][y2] = q_r . Rh[y1 - y2 + hh - 1] for the nq rows and every key row y2. */
template <int NT, typename QRow>
__device__ __forceinline__ void vm_attn_f32_bias_h(float *Bh, const float *Qs, QRow qrow, const vm_attn_args &a, int q0,
                                                   int nq) {
  for (int p = threadIdx.x; p < nq * a.hh; p += NT) {
    const int r = p / a.hh, y2 = p - r * a.hh;
    const int y1 = min(q0 + r, a.N - 1) / a.ww;
    Bh[p] = vm_attn_dot64(Qs + qrow(r), a.rel_h + (int64_t)(y1 - y2 + a.hh - 1) * 64);
  }
}

/* One 64-column chunk of the x bias: Bw[r][c] (rows ldw floats apart) = q_r . Rw[x1 - (x0 + c) + ww - 1], c < cnt. */
template <int NT, typename QRow>
__device__ __forceinline__ void vm_attn_f32_bias_w_chunk(float *Bw, int ldw, const float *Qs, QRow qrow,
                                                         const vm_attn_args &a, int q0, int nq, int x0, int cnt) {
  for (int p = threadIdx.x; p < nq * 64; p += NT) {
    const int r = p >> 6, c = p & 63;
    if (c < cnt) {
      const int tok = min(q0 + r, a.N - 1);
      const int x1 = tok - (tok / a.ww) * a.ww;
      Bw[r * ldw + c] = vm_attn_dot64(Qs + qrow(r), a.rel_w + (int64_t)(x1 - x0 - c + a.ww - 1) * 64);
    }
  }
}

/* One query row's online-softmax step over a key tile whose scores 16 lanes hold 4 each (masked ones -inf, at least
 * one finite across the 16): the running max and sum updated, the row's output accumulators rescaled, s replaced by
 * exp(s - max). The fp32-arithmetic kernels' (attention_generic.cu, attention_f32.cu) exact step: expf. */
template <int NO>
__device__ __forceinline__ void vm_attn_softmax_step16(float (&s)[4], float &m_run, float &l_run, float (&o)[NO]) {
  float mx = fmaxf(fmaxf(s[0], s[1]), fmaxf(s[2], s[3]));
#pragma unroll
  for (int off = 1; off < 16; off <<= 1) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
  const float mnew = fmaxf(m_run, mx);
  const float corr = expf(m_run - mnew);
  m_run = mnew;
  float sum = 0.f;
#pragma unroll
  for (int j = 0; j < 4; j++) {
    s[j] = expf(s[j] - mnew);
    sum += s[j];
  }
  l_run = l_run * corr + sum;
#pragma unroll
  for (int j = 0; j < NO; j++) o[j] *= corr;
}

/* The end of a query block: each lane's two rows (row0, row1 = row0 + 8 of the block) of O divided by their softmax
 * sums (the four lanes of a quad hold partial sums) and stored as head `head`'s D columns of the output rows.
 * o[4 nb .. 4 nb + 3] is the accumulator fragment of column block nb. */
template <typename T, int D, typename Pack>
__device__ __forceinline__ void vm_attn_store_rows(const float (&o)[D / 2], float (&l_run)[2], T *out, int C, int N,
                                                   int tok0, int tok1, int head, int lane, Pack pack) {
#pragma unroll
  for (int i = 0; i < 2; i++) {
    l_run[i] += __shfl_xor_sync(0xffffffffu, l_run[i], 1);
    l_run[i] += __shfl_xor_sync(0xffffffffu, l_run[i], 2);
  }
  const float inv0 = l_run[0] > 0.f ? 1.f / l_run[0] : 0.f;
  const float inv1 = l_run[1] > 0.f ? 1.f / l_run[1] : 0.f;
#pragma unroll
  for (int nd = 0; nd < D / 8; nd++) {
    int col = head * D + nd * 8 + 2 * (lane & 3);
    if (tok0 < N)
      *reinterpret_cast<uint32_t *>(out + (int64_t)tok0 * C + col) = pack(o[4 * nd + 0] * inv0, o[4 * nd + 1] * inv0);
    if (tok1 < N)
      *reinterpret_cast<uint32_t *>(out + (int64_t)tok1 * C + col) = pack(o[4 * nd + 2] * inv1, o[4 * nd + 3] * inv1);
  }
}

#endif
