// Flash attention on the CUDA cores in exact fp32 arithmetic: the fp32 path (the exactness reference), the path for
// head dimensions the tensor-core kernel does not take (any multiple of 8 up to 128), and every precision's path on
// cards without mma.sync m16n8k16 (Turing) or where that kernel's tiles do not fit the card's shared memory.
//
// Block: 256 threads as 16 x 16, 64 queries of one head of one image at a time (a persistent grid walks over them);
// each thread owns a 4 x 4 tile of the 64 x 64 score block and 4 rows x 4 (x DMAX/64) columns of the output. Q and K
// are stored transposed ([d][64]) so the score loop reads float4 of both; P is written transposed for the P V loop,
// over K's tile (K is no longer read by then). Softmax uses expf. The rel-pos bias tables (64 x (hh + ww) floats)
// sit in shared memory when they fit beside the tiles (GB false), else in a global slot per resident block (GB true:
// the global layers of large images on cards with 99 KB or 64 KB of shared memory per block). Head dimensions over
// 64 on those cards (ST true: 101 KB of tiles at d = 128) stream Q, K and V through two 64-column tiles instead:
// the scores add up over the column chunks, Q is re-read (from L2) for every key tile, and the bias prologue reads
// Q from global memory; 34 KB of tiles at any head dimension.
#include "attention_common.cuh"
#include "cuda_backend.h"

#define VM_GEN_LD (VM_ATTN_BQ + 4) /* row stride of the transposed tiles, in floats */

/* Q, K (later P) and V tiles (streamed: a Q chunk, later P, and a K chunk, later a V chunk), plus the bias tables
 * when they live in shared memory. */
template <int DMAX> static size_t generic_smem_floats(int hs, int wsd, bool global_bias, bool stream) {
  const size_t tiles = stream ? (size_t)2 * 64 * VM_GEN_LD : (size_t)2 * DMAX * VM_GEN_LD + (size_t)VM_ATTN_BK * (DMAX + 4);
  return tiles + (global_bias ? 0 : (size_t)VM_ATTN_BQ * (hs + wsd));
}

template <typename T, int DMAX, bool GB, bool ST>
__global__ void __launch_bounds__(256) attention_generic_kernel(vm_attn_args a, int heads, int total,
                                                                float *bias_global) {
  extern __shared__ __align__(16) float fsmem[];
  constexpr int CH = ST ? 64 : DMAX;       /* columns of Q, K, V held at once */
  float *Qt = fsmem;                       /* [CH][LD] */
  float *Kt = Qt + CH * VM_GEN_LD;         /* [CH][LD] */
  float *Vs = ST ? Kt : Kt + DMAX * VM_GEN_LD; /* [64][CH + 4]; streamed: over the K chunk */
  float *Pt = ST ? Qt : Kt;                /* [64 keys][LD]: over K once the scores are computed (streamed: Q) */
  const int bias_floats = VM_ATTN_BQ * (a.bias_h_stride + a.bias_w_stride);
  float *bias_h = GB ? bias_global + (int64_t)blockIdx.x * bias_floats
                     : (ST ? Kt + CH * VM_GEN_LD : Vs + VM_ATTN_BK * (DMAX + 4));
  float *bias_w = bias_h + VM_ATTN_BQ * a.bias_h_stride;
  const bool has_bias = a.rel_h != NULL;
  const int VLD = CH + 4;

  const int tid = threadIdx.x, ty = tid >> 4, tx = tid & 15;
  const int nqb = (a.N + VM_ATTN_BQ - 1) / VM_ATTN_BQ;
  const int64_t stride = 3 * (int64_t)a.C;
  const int d = a.d;

  for (int work = blockIdx.x; work < total; work += gridDim.x) {
    const int q0 = (work % nqb) * VM_ATTN_BQ;
    const int head = (work / nqb) % heads;
    const int64_t img = work / (nqb * heads);
    const T *base = (const T *)a.qkv + img * a.N * stride;

    if (!ST) {
      /* No barrier before writing Qt: the previous item last read Qt (and the bias tables) in its last tile's score
       * loop, which every thread finished before the barrier ahead of writing P. Its P V loop reads only P and V;
       * the bias prologue and the K, V loads, which write over those and the bias tables, come after the barrier
       * below. */
      for (int i = tid; i < VM_ATTN_BQ * DMAX; i += 256) {
        int r = i / DMAX, c = i % DMAX;
        float v = 0.f;
        if (c < d && q0 + r < a.N) v = vm_to_f32<T>(base[(int64_t)(q0 + r) * stride + head * d + c]);
        Qt[c * VM_GEN_LD + r] = v;
      }
    }
    /* streamed: the previous item's last V chunk and P are read until here; the bias tables were last read before
     * the barrier ahead of its P */
    __syncthreads();
    if (has_bias) {
      if (ST)
        vm_attn_bias_prologue<DMAX, float, float>(a, q0, bias_h, bias_w, 1.f, [&](int r, int c) {
          return vm_to_f32<T>(base[(int64_t)(q0 + r) * stride + head * d + c]); /* called for tokens and c < d */
        });
      else
        vm_attn_bias_prologue<DMAX, float, float>(a, q0, bias_h, bias_w, 1.f,
                                                  [&](int r, int c) { return Qt[c * VM_GEN_LD + r]; });
    }

    float m_run[4], l_run[4], o[4][DMAX / 16];
  #pragma unroll
    for (int i = 0; i < 4; i++) {
      m_run[i] = -INFINITY;
      l_run[i] = 0.f;
  #pragma unroll
      for (int j = 0; j < DMAX / 16; j++) o[i][j] = 0.f;
    }

    for (int k0 = 0; k0 < a.N; k0 += VM_ATTN_BK) {
      float s[4][4];
  #pragma unroll
      for (int i = 0; i < 4; i++)
  #pragma unroll
        for (int j = 0; j < 4; j++) s[i][j] = 0.f;
      /* the scores over column chunks of CH (one chunk unless streamed), in the same order of c as one pass */
  #pragma unroll 1
      for (int c0 = 0; c0 < d; c0 += CH) {
        __syncthreads(); /* the previous chunk's (or tile's) Q, K, V and P are no longer read */
        for (int i = tid; i < VM_ATTN_BK * CH; i += 256) {
          int r = i / CH, c = i % CH;
          float kv = 0.f, vv = 0.f, qv = 0.f;
          if (c0 + c < d && k0 + r < a.N) {
            const T *row = base + (int64_t)(k0 + r) * stride + head * d + c0 + c;
            kv = vm_to_f32<T>(row[a.C]);
            if (!ST) vv = vm_to_f32<T>(row[2 * a.C]);
          }
          if (ST && c0 + c < d && q0 + r < a.N) qv = vm_to_f32<T>(base[(int64_t)(q0 + r) * stride + head * d + c0 + c]);
          Kt[c * VM_GEN_LD + r] = kv;
          if (ST)
            Qt[c * VM_GEN_LD + r] = qv;
          else
            Vs[r * VLD + c] = vv;
        }
        __syncthreads();
        const int cend = d - c0 < CH ? d - c0 : CH;
        for (int c = 0; c < cend; c++) {
          float4 qa = *(const float4 *)&Qt[c * VM_GEN_LD + ty * 4];
          float4 kb = *(const float4 *)&Kt[c * VM_GEN_LD + tx * 4];
          float qv[4] = {qa.x, qa.y, qa.z, qa.w}, kv[4] = {kb.x, kb.y, kb.z, kb.w};
  #pragma unroll
          for (int i = 0; i < 4; i++)
  #pragma unroll
            for (int j = 0; j < 4; j++) s[i][j] = fmaf(qv[i], kv[j], s[i][j]);
        }
      }
  #pragma unroll
      for (int j = 0; j < 4; j++) {
        int m = k0 + tx * 4 + j;
        bool valid = m < a.N;
        int y2 = valid ? m / a.ww : 0, x2 = valid ? m - (m / a.ww) * a.ww : 0;
  #pragma unroll
        for (int i = 0; i < 4; i++) {
          int r = ty * 4 + i;
          float b = has_bias ? bias_h[r * a.bias_h_stride + y2] + bias_w[r * a.bias_w_stride + x2] : 0.f;
          s[i][j] = valid ? s[i][j] * a.scale + b : -INFINITY;
        }
      }
  #pragma unroll
      for (int i = 0; i < 4; i++) vm_attn_softmax_step16(s[i], m_run[i], l_run[i], o[i]);
      __syncthreads(); /* every thread's scores are computed: K's tile (streamed: Q's) may be overwritten by P */
  #pragma unroll
      for (int j = 0; j < 4; j++)
        *(float4 *)&Pt[(tx * 4 + j) * VM_GEN_LD + ty * 4] = make_float4(s[0][j], s[1][j], s[2][j], s[3][j]);

      int kend = a.N - k0 < VM_ATTN_BK ? a.N - k0 : VM_ATTN_BK;
  #pragma unroll
      for (int h = 0; h < DMAX / 64; h++) {
        if (ST) { /* V's chunk h over K's chunk: P V for output columns h * 64 .. h * 64 + 63 */
          if (h > 0) __syncthreads(); /* chunk h - 1 is no longer read */
          for (int i = tid; i < VM_ATTN_BK * 64; i += 256) {
            int r = i / 64, c = i % 64;
            float vv = 0.f;
            if (h * 64 + c < d && k0 + r < a.N)
              vv = vm_to_f32<T>(base[(int64_t)(k0 + r) * stride + 2 * a.C + head * d + h * 64 + c]);
            Vs[r * VLD + c] = vv;
          }
        }
        if (ST || h == 0) __syncthreads();
        const int vc = ST ? 0 : h * 64;
        for (int k = 0; k < kend; k++) {
          float4 p = *(const float4 *)&Pt[k * VM_GEN_LD + ty * 4];
          float pv[4] = {p.x, p.y, p.z, p.w};
          float4 v = *(const float4 *)&Vs[k * VLD + vc + tx * 4];
          float vv[4] = {v.x, v.y, v.z, v.w};
  #pragma unroll
          for (int i = 0; i < 4; i++)
  #pragma unroll
            for (int j = 0; j < 4; j++) o[i][h * 4 + j] = fmaf(pv[i], vv[j], o[i][h * 4 + j]);
        }
      }
    }

    T *out = (T *)a.out + img * a.N * (int64_t)a.C;
  #pragma unroll
    for (int i = 0; i < 4; i++) {
      float l = l_run[i];
  #pragma unroll
      for (int off = 1; off < 16; off <<= 1) l += __shfl_xor_sync(0xffffffffu, l, off);
      int tok = q0 + ty * 4 + i;
      if (tok >= a.N) continue;
      float inv = 1.f / l;
  #pragma unroll
      for (int h = 0; h < DMAX / 64; h++)
  #pragma unroll
        for (int j = 0; j < 4; j++) {
          int c = h * 64 + tx * 4 + j;
          if (c < d) out[(int64_t)tok * a.C + head * d + c] = vm_from_f32<T>(o[i][h * 4 + j] * inv);
        }
    }
  }
}

template <typename T, int DMAX, bool GB, bool ST>
static vm_status launch_generic(vm_cuda *cu, const vm_attn_args &a, int n, int heads, size_t smem, vm_error *err) {
  auto kernel = attention_generic_kernel<T, DMAX, GB, ST>;
  VM_CU(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
        "attention (fp32 arithmetic): cudaFuncSetAttribute");
  int per_sm = 0;
  VM_TRY(vm_cuda_blocks_per_sm(cu, (const void *)kernel, 256, smem, &per_sm, err));
  if (per_sm < 1)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "attention (fp32 arithmetic): no block of %zu bytes of shared memory "
                   "fits on %s", smem, cu->base.name);
  vm_attn_grid g = {0, 0, NULL};
  VM_TRY(vm_attn_grid_make(cu, a, n, heads, per_sm,
                           GB ? (size_t)VM_ATTN_BQ * (a.bias_h_stride + a.bias_w_stride) : 0, &g, err));
  kernel<<<g.grid, 256, smem, cu->stream>>>(a, heads, g.total, g.slots);
  return vm_cuda_launch_check(err, "attention (fp32 arithmetic)");
}

/* The kernel variant for head dimension d and hs x wsd bias tables on this card, fastest first: tiles and tables in
 * shared memory; tables in global memory; streamed tiles (d over 64) with the tables in shared memory, then in
 * global memory. Not fits: none does, and smem is what the last one tried needs. */
typedef struct {
  bool gb, st, fits;
  size_t smem;
} generic_variant;

static generic_variant generic_choose(const vm_cuda *cu, int d, int hs, int wsd) {
  generic_variant v = {true, d > 64, false, 0};
  for (int i = 0; i < (d > 64 ? 4 : 2) && !v.fits; i++) {
    v.st = i >= 2;
    v.gb = i & 1;
    v.smem = sizeof(float) * (d <= 64 ? generic_smem_floats<64>(hs, wsd, v.gb, v.st)
                                      : generic_smem_floats<128>(hs, wsd, v.gb, v.st));
    v.fits = v.smem <= cu->smem_optin;
  }
  return v;
}

template <typename T, int DMAX>
static vm_status launch_generic_d(vm_cuda *cu, vm_attn_args a, int n, int heads, vm_error *err) {
  a.bias_h_stride = a.rel_h ? a.hh : 0;
  a.bias_w_stride = a.rel_h ? a.ww : 0;
  const generic_variant v = generic_choose(cu, a.d, a.bias_h_stride, a.bias_w_stride);
  if (!v.fits)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "attention: head dimension %d needs %zu bytes of shared memory, %s allows "
                   "%zu", a.d, v.smem, cu->base.name, cu->smem_optin);
  if constexpr (DMAX > 64) {
    if (v.st)
      return v.gb ? launch_generic<T, DMAX, true, true>(cu, a, n, heads, v.smem, err)
                  : launch_generic<T, DMAX, false, true>(cu, a, n, heads, v.smem, err);
  }
  return v.gb ? launch_generic<T, DMAX, true, false>(cu, a, n, heads, v.smem, err)
              : launch_generic<T, DMAX, false, false>(cu, a, n, heads, v.smem, err);
}

size_t vm_cuda_attention_generic_scratch(const vm_cuda *cu, int hh, int ww, int d) {
  const generic_variant v = generic_choose(cu, d, hh, ww);
  if (!v.gb) return 0;
  return (size_t)cu->sm_count * VM_ATTN_SLOTS_PER_SM * VM_ATTN_BQ * (hh + ww) * sizeof(float);
}

vm_status vm_cuda_attention_generic(vm_cuda *cu, const vm_attn_args &a, int n, int heads, vm_error *err) {
  if (a.d > 128 || a.d % 8 != 0)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "attention: head dimension %d (supported: multiples of 8 up to 128)", a.d);
  cu->last_attention = "generic";
  return vm_dispatch(cu->base.precision, [&](auto tag) -> vm_status {
    typedef typename decltype(tag)::type T;
    if (a.d <= 64) return launch_generic_d<T, 64>(cu, a, n, heads, err);
    return launch_generic_d<T, 128>(cu, a, n, heads, err);
  });
}
