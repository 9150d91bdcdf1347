// The fp32 linear layers' product out = x W^T (+ bias) (+ c) on the TF32 tensor cores in three products (3xTF32,
// tf32x3.cuh), for data-centre cards where TF32 runs several times the fp32 rate: cuBLAS's fp32 GEMMs are most of
// ViTMatte-B's fp32 time (issue 14), and cuBLAS has no 3xTF32 mode on Hopper. By default for products of at least
// 4096 rows (the 1024^2 layers on: 3-4% faster than cuBLAS on an H100); at 512^2 (1024-1225 rows) cuBLAS was faster.
//
// Block: 256 threads over a BM x 128 tile of out (BM = 128, or 64 where 128-row tiles would leave SMs idle: ViTMatte-S's
// 384-column products at 1024^2 make 96 of them), 8 warps as 2 x 4 of BM/2 x 32 (MI x 4 mma.sync m16n8k8 tiles a
// warp); K in steps of 32 through double-buffered cp.async tiles of x and W (both K-contiguous: W's rows are the B
// operand's columns as they are). Each step's products go to an accumulator of their own (12 tensor-core additions,
// which truncate) and then into the fp32 sum with a rounded add: the attention kernel measured a single long
// tensor-core accumulation drifting to 1e-5 (bench/NOTES.md).
#include "cuda_backend.h"
#include "mma_sync.cuh"
#include "tf32x3.cuh"

#define G3_BN 128
#define G3_BK 32
#define G3_LD 36 /* tile rows in floats: 36 = 4 mod 32, so a fragment's 8 rows x 4 columns hit 32 different banks */
/* shared memory of the MI variant: two stages of BM = 32 MI rows of x and 128 rows of W */
#define G3_FLOATS(MI) (2 * (32 * (MI) + G3_BN) * G3_LD)

template <int MI>
__global__ void __launch_bounds__(256, MI == 4 ? 1 : 2) gemm_f32tc_kernel(const float *__restrict__ x, const float *__restrict__ w,
                                                            const float *__restrict__ bias, const float *c, float *out,
                                                            int M, int N, int K) {
#ifdef VM_NO_SM80_MMA
  __trap(); /* cp.async, TF32 mma.sync: never launched from older code (vm_cuda_gemm_f32tc_takes) */
#else
  constexpr int BM = 32 * MI;
  extern __shared__ __align__(16) float gsm[];
  float *As = gsm;                     /* [2][BM][LD] */
  float *Bs = As + 2 * BM * G3_LD;     /* [2][BN][LD] */
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int g = lane >> 2, tq = lane & 3;
  const int wm = (warp >> 2) * 16 * MI, wn = (warp & 3) * 32;
  const int bm = blockIdx.y * BM, bn = blockIdx.x * G3_BN;
  const int nkb = (K + G3_BK - 1) / G3_BK;

  /* step kb's 32 columns of the block's x rows and W rows into buffer buf; rows past M or N and columns past K
   * (K % 4 == 0: whole 16-byte chunks) are zero-filled */
  auto load = [&](int kb, int buf) {
    float *ad = As + buf * BM * G3_LD, *bd = Bs + buf * G3_BN * G3_LD;
    for (int i = tid; i < G3_BN * (G3_BK / 4); i += 256) {
      const int r = i >> 3, c4 = i & 7, k = kb * G3_BK + 4 * c4;
      const bool vb = bn + r < N && k < K;
      cp_async16(smem_addr(bd + r * G3_LD + 4 * c4), vb ? w + (int64_t)(bn + r) * K + k : w, vb);
      if (r < BM) {
        const bool va = bm + r < M && k < K;
        cp_async16(smem_addr(ad + r * G3_LD + 4 * c4), va ? x + (int64_t)(bm + r) * K + k : x, va);
      }
    }
  };

  float acc[MI][4][4];
#pragma unroll
  for (int mi = 0; mi < MI; mi++)
#pragma unroll
    for (int ni = 0; ni < 4; ni++) acc[mi][ni][0] = acc[mi][ni][1] = acc[mi][ni][2] = acc[mi][ni][3] = 0.f;

  load(0, 0);
  cp_async_commit();
  for (int kb = 0; kb < nkb; kb++) {
    if (kb + 1 < nkb) load(kb + 1, (kb + 1) & 1);
    cp_async_commit(); /* possibly empty: the wait leaves exactly the next step in flight */
    cp_async_wait<1>();
    __syncthreads();
    const float *A = As + (kb & 1) * BM * G3_LD, *B = Bs + (kb & 1) * G3_BN * G3_LD;
    float part[MI][4][4];
#pragma unroll
    for (int mi = 0; mi < MI; mi++)
#pragma unroll
      for (int ni = 0; ni < 4; ni++) part[mi][ni][0] = part[mi][ni][1] = part[mi][ni][2] = part[mi][ni][3] = 0.f;
#pragma unroll
    for (int ks = 0; ks < G3_BK / 8; ks++) {
      /* A fragments: rows g, g + 8 of each 16, columns tq, tq + 4 of the 8 */
      uint32_t ab[MI][4], as[MI][4];
#pragma unroll
      for (int mi = 0; mi < MI; mi++) {
        const float *ar = A + (wm + 16 * mi + g) * G3_LD + 8 * ks + tq;
        tf32_split(ar[0], ab[mi][0], as[mi][0]);
        tf32_split(ar[8 * G3_LD], ab[mi][1], as[mi][1]);
        tf32_split(ar[4], ab[mi][2], as[mi][2]);
        tf32_split(ar[8 * G3_LD + 4], ab[mi][3], as[mi][3]);
      }
      /* B fragments: column (W row) g of each 8, k = tq and tq + 4 */
#pragma unroll
      for (int ni = 0; ni < 4; ni++) {
        const float *br = B + (wn + 8 * ni + g) * G3_LD + 8 * ks + tq;
        uint32_t bb0, bs0, bb1, bs1;
        tf32_split(br[0], bb0, bs0);
        tf32_split(br[4], bb1, bs1);
#pragma unroll
        for (int mi = 0; mi < MI; mi++) {
          mma_tf32(part[mi][ni], as[mi], bb0, bb1);
          mma_tf32(part[mi][ni], ab[mi], bs0, bs1);
          mma_tf32(part[mi][ni], ab[mi], bb0, bb1);
        }
      }
    }
#pragma unroll
    for (int mi = 0; mi < MI; mi++)
#pragma unroll
      for (int ni = 0; ni < 4; ni++)
#pragma unroll
        for (int e = 0; e < 4; e++) acc[mi][ni][e] += part[mi][ni][e];
    __syncthreads(); /* buffer kb & 1 is refilled for step kb + 2 */
  }

  /* out = acc + bias + c, each element read and written by the same thread (c may be out) */
#pragma unroll
  for (int mi = 0; mi < MI; mi++)
#pragma unroll
    for (int ni = 0; ni < 4; ni++)
#pragma unroll
      for (int e = 0; e < 4; e++) {
        const int row = bm + wm + 16 * mi + g + (e >= 2 ? 8 : 0), col = bn + wn + 8 * ni + 2 * tq + (e & 1);
        if (row >= M || col >= N) continue;
        float v = acc[mi][ni][e];
        if (bias) v += bias[col];
        if (c) v += c[(int64_t)row * N + col];
        out[(int64_t)row * N + col] = v;
      }
#endif
}

/* measured on an H100 (2026-12-07, last_call.sh s17a): ViTMatte-B's windowed layer at 1024^2 (4900 rows) 1.768 ->
 * 1.695 ms and its global layer (4096) 3.537 -> 3.384; at 512^2 (1024 and 1225 rows) the whole of S 5.95 -> 6.59 ms */
#define VM_GEMM_F32TC_MIN_ROWS 4096

bool vm_cuda_gemm_f32tc_takes(const vm_cuda *cu, const void *x, const void *w, int64_t rows, int64_t n, int64_t k) {
  const bool wanted = vm_cuda_f32_gemm_tc(cu) && (cu->gemm_f32_tc > 0 || rows >= VM_GEMM_F32TC_MIN_ROWS);
  return wanted && cu->base.act_size == 4 && k % 4 == 0 && k > 0 && n > 0 &&
         ((uintptr_t)x | (uintptr_t)w) % 16 == 0 && rows <= 65535LL * 64 && n <= 0x7fffffffLL - G3_BN &&
         k <= 0x7fffffffLL - G3_BK && G3_FLOATS(4) * sizeof(float) <= cu->smem_optin;
}

template <int MI>
static vm_status launch_g3(vm_cuda *cu, const void *x, const void *w, const void *bias, const void *c, void *out,
                           int64_t rows, int64_t n, int64_t k, vm_error *err) {
  const size_t smem = G3_FLOATS(MI) * sizeof(float);
  VM_CU(cudaFuncSetAttribute(gemm_f32tc_kernel<MI>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
        "linear (fp32, 3xTF32): cudaFuncSetAttribute");
  const dim3 grid((unsigned)((n + G3_BN - 1) / G3_BN), (unsigned)((rows + 32 * MI - 1) / (32 * MI)));
  gemm_f32tc_kernel<MI><<<grid, 256, smem, cu->stream>>>((const float *)x, (const float *)w, (const float *)bias,
                                                          (const float *)c, (float *)out, (int)rows, (int)n, (int)k);
  return vm_cuda_launch_check(err, "linear (fp32, 3xTF32)");
}

vm_status vm_cuda_gemm_f32tc(vm_cuda *cu, const void *x, const void *w, const void *bias, const void *c, void *out,
                             int64_t rows, int64_t n, int64_t k, vm_error *err) {
  /* 128-row tiles where they make at least two waves (or where 64-row tiles would exceed the grid's 65535 rows),
   * else 64 */
  const int64_t tiles128 = (n + G3_BN - 1) / G3_BN * ((rows + 127) / 128);
  if (tiles128 >= 2LL * cu->sm_count || (rows + 63) / 64 > 65535)
    return launch_g3<4>(cu, x, w, bias, c, out, rows, n, k, err);
  return launch_g3<2>(cu, x, w, bias, c, out, rows, n, k, err);
}
