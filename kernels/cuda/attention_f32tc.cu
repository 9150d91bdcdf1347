// The fp32 global attention for head dimension 64 on the tensor cores of data-centre cards (A100, H100/H200, B200),
// with fp32 accuracy: every product runs as three TF32 products (3xTF32: x = big + small, both TF32; a b is
// a_big b_big + a_big b_small + a_small b_big; the small x small term left out is at most 2^-20 |a b|), accumulated in
// fp32. Measured errors against float64: 0.2-3.6e-6, the CUDA-core kernel's 0.7-5.8e-6.
//
// Why: their fp32 CUDA cores run the exact kernel (attention_f32.cu) at 18-26 TFLOP/s on an H100, its TF32 tensor
// cores at up to 495; three products each still leave several times the CUDA cores' rate. A GeForce card's TF32 rate
// equals its fp32 rate, so there the three products would be slower: those cards keep the CUDA-core kernel
// (vm_cuda_attention_f32tc_rows decides). Softmax, scale and rel-pos bias are the exact kernel's fp32 arithmetic
// (expf, the bias dots with fmaf), in the same order.
//
// Block: 4 warps over 64 queries of one head of one image (a persistent grid walks the items); warp w owns rows
// 16 w .. 16 w + 15 through mma.sync m16n8k8 fragments. Key tiles are 64 keys of one image row, walked column chunk
// by column chunk (the x bias of a chunk is a [64][64] table in shared memory, rebuilt once a chunk; the y bias
// [64][hh] sits in a global slot per resident block), K and V double-buffered through cp.async.
#include <string.h>

#include "attention_common.cuh"
#include "cuda_backend.h"
#include "mma_sync.cuh"
#include "tf32x3.cuh"

#define TC3_D 64
#define TC3_BQ 64
#define TC3_BK 64
#define TC3_LD 68   /* Q, K, V rows in floats: 68 = 4 mod 32, so the fragment reads (8 rows x 4 columns, or for V
                     * 2 x 4 rows x 8 columns) hit 32 different banks */
#define TC3_BWLD 72 /* x-bias rows: a half-warp's float2 reads (4 rows x 4 column pairs) in 32 different banks */
/* Q, two stages of K and V, the x-bias chunk (row tiles) or both bias tables (block tiles), then 64 column offsets */
#define TC3_FLOATS (TC3_BQ * TC3_LD + 4 * TC3_BK * TC3_LD + TC3_BQ * TC3_BWLD + TC3_BK)
/* block tiles: both bias tables ([BQ][hh] and [BQ][ww]) in the x-bias chunk's place */
#define TC3_BLOCK_BIAS_MAX TC3_BWLD


/* ROW: key tiles of up to 64 keys of one image row (ww >= 64, the global layers), the y bias in a global slot. Else
 * block tiles of whole rows (64 / ww of them: windows, small images), both bias tables in shared memory (hh + ww <=
 * 72), each key column's (dy, dx) in a table. (H100: block tiles make ViTMatte-S at 512^2 5.98 ms instead of 6.16;
 * the windowed layers' time is the same either way, their GEMMs dominate.) */
template <bool ROW>
__global__ void __launch_bounds__(128, 2) attention_f32tc_kernel(vm_attn_args a, int heads, int total,
                                                                 float *bias_h_slots) {
#ifdef VM_NO_SM80_MMA
  __trap(); /* cp.async, TF32 mma.sync: never launched from older code (vm_cuda_attention_f32tc_takes) */
#else
  extern __shared__ __align__(16) float tsm[];
  float *Qs = tsm;                         /* [BQ][LD] */
  float *Ks = Qs + TC3_BQ * TC3_LD;        /* [2][BK][LD] */
  float *Vs = Ks + 2 * TC3_BK * TC3_LD;    /* [2][BK][LD] */
  float *Bw = Vs + 2 * TC3_BK * TC3_LD;    /* ROW: [BQ][BWLD], the current column chunk's x bias; else [BQ][ww] */
  int *colmap = (int *)(Bw + TC3_BQ * TC3_BWLD); /* block tiles: column c's dy << 16 | dx */
  float *Bh = ROW ? bias_h_slots + (int64_t)blockIdx.x * TC3_BQ * a.hh /* [BQ][hh] */
                  : Bw + TC3_BQ * a.ww;
  const bool has_bias = a.rel_h != NULL;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, tq = lane & 3;       /* the fragment's row group and column in it */
  const int row0 = warp * 16 + g, row1 = row0 + 8; /* this thread's two query rows in the block */
  const int nqb = (a.N + TC3_BQ - 1) / TC3_BQ;
  const int64_t stride = 3 * (int64_t)a.C;
  const int nxc = (a.ww + TC3_BK - 1) / TC3_BK;
  const int brows = ROW ? 1 : TC3_BK / a.ww; /* block tiles: image rows a tile */
  const int T = ROW ? nxc * a.hh : (a.hh + brows - 1) / brows;
  if (!ROW) /* (read after the first tile's barrier) */
    for (int c = tid; c < TC3_BK; c += 128) colmap[c] = vm_attn_col_offset(c, a.ww);
  /* tile t: its first token, keys, first key row y0 and column x0 */
  auto tile_at = [&](int t, int &tok0, int &cnt, int &y0, int &x0) {
    if (ROW) {
      const int xc = t / a.hh;
      y0 = t - xc * a.hh;
      x0 = xc * TC3_BK;
      cnt = min(TC3_BK, a.ww - x0);
    } else {
      y0 = t * brows;
      x0 = 0;
      cnt = min(brows, a.hh - y0) * a.ww;
    }
    tok0 = y0 * a.ww + x0;
  };

  for (int work = blockIdx.x; work < total; work += gridDim.x) {
    const int q0 = (work % nqb) * TC3_BQ;
    const int head = (work / nqb) % heads;
    const int64_t img = work / (nqb * heads);
    const float *base = (const float *)a.qkv + img * a.N * stride + head * TC3_D;

    /* tile t's K and V rows into buffer buf; keys past the tile's end are zero-filled (P V adds exact zeros) */
    auto load_tile = [&](int t, int buf) {
      int tok0, cnt, y0, x0;
      tile_at(t, tok0, cnt, y0, x0);
      vm_attn_f32_load_kv<128>(Ks + buf * TC3_BK * TC3_LD, Vs + buf * TC3_BK * TC3_LD, TC3_LD, base, stride, a.C,
                               tok0, cnt);
    };
    const auto qrow = [](int r) { return r * TC3_LD; };
    /* the previous item's last reads of Q, the buffers and the bias tables ended at its last tile's barrier */
    load_tile(0, 0);
    cp_async_commit();
    vm_attn_f32_load_q<128>(Qs, qrow, base, stride, q0, TC3_BQ, a.N);
    __syncthreads();
    if (has_bias) vm_attn_f32_bias_h<128>(Bh, Qs, qrow, a, q0, TC3_BQ); /* Bh[r][y2] = q_r . Rh[y1 - y2 + hh - 1] */
    if (!ROW && has_bias) /* block tiles: the whole x bias, Bw[r][x2] = q_r . Rw[x1 - x2 + ww - 1] */
      for (int p = tid; p < TC3_BQ * a.ww; p += 128) {
        const int r = p / a.ww, x2 = p - r * a.ww;
        const int tok = min(q0 + r, a.N - 1);
        const int x1 = tok - (tok / a.ww) * a.ww;
        Bw[p] = vm_attn_dot64(Qs + r * TC3_LD, a.rel_w + (int64_t)(x1 - x2 + a.ww - 1) * TC3_D);
      }
    /* this warp's Q as A fragments (rows g and g + 8, columns tq and tq + 4 of each 8-column step), split once */
    uint32_t qb[8][4], qs[8][4];
#pragma unroll
    for (int ks = 0; ks < 8; ks++) {
      tf32_split(Qs[row0 * TC3_LD + 8 * ks + tq], qb[ks][0], qs[ks][0]);
      tf32_split(Qs[row1 * TC3_LD + 8 * ks + tq], qb[ks][1], qs[ks][1]);
      tf32_split(Qs[row0 * TC3_LD + 8 * ks + tq + 4], qb[ks][2], qs[ks][2]);
      tf32_split(Qs[row1 * TC3_LD + 8 * ks + tq + 4], qb[ks][3], qs[ks][3]);
    }

    float m_run[2] = {-INFINITY, -INFINITY}, l_run[2] = {0.f, 0.f};
    float o[8][4];
#pragma unroll
    for (int nd = 0; nd < 8; nd++) o[nd][0] = o[nd][1] = o[nd][2] = o[nd][3] = 0.f;

    for (int t = 0; t < T; t++) {
      int tok0, cnt, y2, x0;
      tile_at(t, tok0, cnt, y2, x0);
      if (ROW && has_bias && y2 == 0) /* a new column chunk */
        vm_attn_f32_bias_w_chunk<128>(Bw, TC3_BWLD, Qs, qrow, a, q0, TC3_BQ, x0, cnt);
      if (t + 1 < T) load_tile(t + 1, (t + 1) & 1);
      cp_async_commit(); /* possibly empty: the wait below always leaves exactly the next tile in flight */
      cp_async_wait<1>();
      __syncthreads();
      const float *K = Ks + (t & 1) * TC3_BK * TC3_LD, *V = Vs + (t & 1) * TC3_BK * TC3_LD;

      /* S = Q K^T: s[nb] holds rows g, g + 8 at keys 8 nb + 2 tq, + 1. The big products and the small cross terms
       * go to accumulators of their own, added at the end: the tensor cores truncate each accumulation to fp32
       * (measured: 2-4e-5 output errors with one accumulator, 6x the CUDA-core kernel's), so the large sum takes
       * 8 truncations instead of 24 and the small one's do not matter. */
      float s[8][4];
#pragma unroll
      for (int nb = 0; nb < 8; nb++) {
        float lo[4] = {0.f, 0.f, 0.f, 0.f};
        s[nb][0] = s[nb][1] = s[nb][2] = s[nb][3] = 0.f;
        const float *kr = K + (8 * nb + g) * TC3_LD + tq;
#pragma unroll
        for (int ks = 0; ks < 8; ks++) mma_3xtf32(s[nb], lo, qb[ks], qs[ks], kr[8 * ks], kr[8 * ks + 4]);
#pragma unroll
        for (int e = 0; e < 4; e++) s[nb][e] += lo[e];
      }

      /* scale, bias, mask (the exact kernel's s * scale + (bh + bw)); the online softmax of rows g and g + 8 */
      float mx[2] = {-INFINITY, -INFINITY};
      const float bh0 = ROW && has_bias ? Bh[row0 * a.hh + y2] : 0.f, bh1 = ROW && has_bias ? Bh[row1 * a.hh + y2] : 0.f;
#pragma unroll
      for (int nb = 0; nb < 8; nb++) {
        const int c = 8 * nb + 2 * tq;
        float2 b0 = make_float2(0.f, 0.f), b1 = b0; /* the bias of rows g, g + 8 at keys c, c + 1 */
        if (ROW && has_bias) {
          const float2 w0 = *(const float2 *)(Bw + row0 * TC3_BWLD + c), w1 = *(const float2 *)(Bw + row1 * TC3_BWLD + c);
          b0 = make_float2(bh0 + w0.x, bh0 + w0.y);
          b1 = make_float2(bh1 + w1.x, bh1 + w1.y);
        } else if (!ROW && has_bias) {
#pragma unroll
          for (int e = 0; e < 2; e++) {
            if (c + e >= cnt) continue;
            const int cm = colmap[c + e], yk = y2 + (cm >> 16), xk = cm & 0xffff;
            const float v0 = Bh[row0 * a.hh + yk] + Bw[row0 * a.ww + xk];
            const float v1 = Bh[row1 * a.hh + yk] + Bw[row1 * a.ww + xk];
            if (e) {
              b0.y = v0;
              b1.y = v1;
            } else {
              b0.x = v0;
              b1.x = v1;
            }
          }
        }
        s[nb][0] = c < cnt ? s[nb][0] * a.scale + b0.x : -INFINITY;
        s[nb][1] = c + 1 < cnt ? s[nb][1] * a.scale + b0.y : -INFINITY;
        s[nb][2] = c < cnt ? s[nb][2] * a.scale + b1.x : -INFINITY;
        s[nb][3] = c + 1 < cnt ? s[nb][3] * a.scale + b1.y : -INFINITY;
        mx[0] = fmaxf(mx[0], fmaxf(s[nb][0], s[nb][1]));
        mx[1] = fmaxf(mx[1], fmaxf(s[nb][2], s[nb][3]));
      }
      float corr[2], sum[2] = {0.f, 0.f};
#pragma unroll
      for (int i = 0; i < 2; i++) {
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 1));
        mx[i] = fmaxf(mx[i], __shfl_xor_sync(0xffffffffu, mx[i], 2));
        const float mnew = fmaxf(m_run[i], mx[i]); /* finite: every tile has a key (cnt >= 1) */
        corr[i] = expf(m_run[i] - mnew);
        m_run[i] = mnew;
      }
#pragma unroll
      for (int nb = 0; nb < 8; nb++) {
        s[nb][0] = expf(s[nb][0] - m_run[0]);
        s[nb][1] = expf(s[nb][1] - m_run[0]);
        s[nb][2] = expf(s[nb][2] - m_run[1]);
        s[nb][3] = expf(s[nb][3] - m_run[1]);
        sum[0] += s[nb][0] + s[nb][1];
        sum[1] += s[nb][2] + s[nb][3];
      }
#pragma unroll
      for (int i = 0; i < 2; i++) l_run[i] = l_run[i] * corr[i] + sum[i];
#pragma unroll
      for (int nd = 0; nd < 8; nd++) {
        o[nd][0] *= corr[0];
        o[nd][1] *= corr[0];
        o[nd][2] *= corr[1];
        o[nd][3] *= corr[1];
      }

      /* O += P V. The accumulators hold P at keys 2 tq, 2 tq + 1 of each 8; an A fragment takes columns tq, tq + 4.
       * The sum over keys does not care for their order, so A's column tq is key 2 tq and column tq + 4 key
       * 2 tq + 1, and B's rows follow the same order. The tile's product is summed apart and added to O in fp32
       * with rounding: accumulated into O on the tensor cores, O took every tile's truncations. Half the output
       * columns at a time (registers). Big and small terms in one accumulator here: apart (as for S) they measured
       * the same errors (about 2e-6) and 0.2 ms slower for ViTMatte-B at 1024^2 (H100), 255 registers against 239. */
#pragma unroll
      for (int half = 0; half < 2; half++) {
        float acc[4][4];
#pragma unroll
        for (int j = 0; j < 4; j++) acc[j][0] = acc[j][1] = acc[j][2] = acc[j][3] = 0.f;
#pragma unroll
        for (int kk = 0; kk < 8; kk++) {
          uint32_t pb[4], ps[4];
          tf32_split(s[kk][0], pb[0], ps[0]);
          tf32_split(s[kk][2], pb[1], ps[1]);
          tf32_split(s[kk][1], pb[2], ps[2]);
          tf32_split(s[kk][3], pb[3], ps[3]);
          const float *vr = V + (8 * kk + 2 * tq) * TC3_LD + g + 32 * half;
#pragma unroll
          for (int j = 0; j < 4; j++) mma_3xtf32(acc[j], pb, ps, vr[8 * j], vr[TC3_LD + 8 * j]);
        }
#pragma unroll
        for (int j = 0; j < 4; j++)
#pragma unroll
          for (int e = 0; e < 4; e++) o[4 * half + j][e] += acc[j][e];
      }
      __syncthreads(); /* the buffers of tile t are refilled for tile t + 2; (row tiles, next chunk) Bw is rewritten */
    }

    /* O / l: the quad's four lanes hold partial sums of each row */
    float *out = (float *)a.out + img * a.N * (int64_t)a.C + head * TC3_D + 2 * tq;
#pragma unroll
    for (int i = 0; i < 2; i++) {
      float l = l_run[i];
      l += __shfl_xor_sync(0xffffffffu, l, 1);
      l += __shfl_xor_sync(0xffffffffu, l, 2);
      const int tok = q0 + (i ? row1 : row0);
      if (tok >= a.N) continue;
      const float inv = 1.f / l;
#pragma unroll
      for (int nd = 0; nd < 8; nd++)
        *(float2 *)(out + (int64_t)tok * a.C + 8 * nd) = make_float2(o[nd][2 * i] * inv, o[nd][2 * i + 1] * inv);
    }
  }
#endif
}

/* Whether the 3xTF32 kernel takes a layer of head dimension d and hh x ww tokens on this context: fp32, d = 64, sm_80
 * code, a card whose TF32 tensor cores outrun its fp32 cores several times (vm_cuda_f32_attention_tc); row tiles
 * for images at least 64 tokens wide, block tiles (windows, small images) where both bias tables fit (hh + ww <= 72)
 * unless VITMATTE_CUDA_ATTN_F32_BLOCKS=0. */
bool vm_cuda_attention_f32tc_takes(const vm_cuda *cu, const vm_attn_args &a) {
  if (cu->base.precision != VM_PRECISION_FP32 || !vm_cuda_f32_attention_tc(cu) || a.d != TC3_D || a.C % 4 != 0 ||
      ((uintptr_t)a.qkv | (uintptr_t)a.out) % 16 != 0 || TC3_FLOATS * sizeof(float) > cu->smem_optin)
    return false;
  if (a.ww >= TC3_BK) return true;
  return !cu->attention_f32_tc_no_blocks && (!a.rel_h || a.hh + a.ww <= TC3_BLOCK_BIAS_MAX);
}

size_t vm_cuda_attention_f32tc_scratch(const vm_cuda *cu, int hh, int ww, int d) {
  vm_attn_args a;
  memset(&a, 0, sizeof a);
  a.hh = hh;
  a.ww = ww;
  a.d = d;
  a.C = d;
  if (ww < TC3_BK || !vm_cuda_attention_f32tc_takes(cu, a)) return 0; /* block tiles: no slots */
  /* launch bounds: at most two blocks an SM */
  return (size_t)cu->sm_count * 2 * TC3_BQ * (size_t)hh * sizeof(float);
}

template <bool ROW> static vm_status launch_tc3(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err) {
  auto kernel = attention_f32tc_kernel<ROW>;
  const size_t smem = TC3_FLOATS * sizeof(float);
  VM_CU(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
        "attention (fp32, 3xTF32): cudaFuncSetAttribute");
  int per_sm = 0;
  VM_TRY(vm_cuda_blocks_per_sm(cu, (const void *)kernel, 128, smem, &per_sm, err));
  if (per_sm < 1)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "attention (fp32, 3xTF32): no block of %zu bytes fits on %s", smem,
                   cu->base.name);
  if (per_sm > 2) per_sm = 2; /* the scratch estimate's slots */
  const int64_t total = (int64_t)((a.N + TC3_BQ - 1) / TC3_BQ) * heads * n;
  if (total > 0x7fffffffLL) return vm_fail(err, VM_ERR_UNSUPPORTED, "attention: too many query blocks");
  int64_t grid = (int64_t)cu->sm_count * per_sm;
  if (grid > total) grid = total;
  float *slots = NULL;
  if (ROW && a.rel_h) {
    VM_TRY(vm_cuda_scratch_reserve(cu, &cu->attn_bias, (size_t)grid * TC3_BQ * a.hh * sizeof(float),
                                   "the attention bias scratch", err));
    slots = (float *)cu->attn_bias.ptr;
  }
  kernel<<<(unsigned)grid, 128, smem, cu->stream>>>(a, heads, (int)total, slots);
  return vm_cuda_launch_check(err, "attention (fp32, 3xTF32)");
}

vm_status vm_cuda_attention_f32tc(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err) {
  if (a.ww >= TC3_BK) return cu->last_attention = "3xTF32 tensor cores, row tiles", launch_tc3<true>(cu, a, n, heads, err);
  return cu->last_attention = "3xTF32 tensor cores, block tiles", launch_tc3<false>(cu, a, n, heads, err);
}
