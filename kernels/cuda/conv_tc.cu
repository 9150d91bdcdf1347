// 3x3 convolutions with few output channels (the decoder's full-resolution end: fusion 2/3, the matting head, the
// first ConvStream stage) on the tensor cores, reading the virtual input [detail, bilinear-upsample-x2(low)] directly.
//
// Block: 4 warps, a 4 x 32 tile of output pixels (one output row per warp) and every output channel (<= 64). The
// input patch the tile needs ((4-1)*s+3 rows x (32-1)*s+3 columns x Cp channels) is built once in shared memory:
// detail channels copied, low channels upsampled on the fly, so neither the concat nor the upsampled map ever
// exists in device memory. The nine taps are then nine shifted views of the patch: ldmatrix takes one row address
// per lane, so each lane points at its pixel's input position and the implicit GEMM needs no im2col. Channels in
// the patch (and in the re-laid-out weight) are [detail padded to 8 | low | zeros to a multiple of 16].
#include <string.h>

#include <type_traits>

#include "act_types.cuh"
#include "cuda_backend.h"
#include "derived_weight.cuh"
#include "mma_sync.cuh"

#define VM_CT_TH 4
#define VM_CT_TW 32

struct vm_conv_tc_args {
  const void *detail; /* [H][W][Cd] or NULL */
  const void *low;    /* [H/2][W/2][Cl] or NULL */
  const void *w;      /* [Cout][3][3][Cp], channels re-laid out as above */
  const float *bias;  /* [Cout] or NULL */
  void *out;          /* [Ho][Wo][Cout] */
  int H, W, Cd, Cl, Cd8, Cp, CpS, Cout, stride, Ho, Wo, act, PR, PC;
};

template <typename T> __device__ __forceinline__ void unpack8(const uint4 &u, float (&f)[8]) {
  const T *h = reinterpret_cast<const T *>(&u);
#pragma unroll
  for (int i = 0; i < 8; i++) f[i] = vm_to_f32<T>(h[i]);
}
template <typename T> __device__ __forceinline__ uint4 pack8(const float (&f)[8]) {
  uint4 u;
  T *h = reinterpret_cast<T *>(&u);
#pragma unroll
  for (int i = 0; i < 8; i++) h[i] = vm_from_f32<T>(f[i]);
  return u;
}

template <typename T, int NB>
__global__ void __launch_bounds__(128) conv3x3_tc(vm_conv_tc_args a) {
#ifdef VM_NO_SM80_MMA
  __trap();
#else
  extern __shared__ __align__(16) unsigned char smem[];
  T *patch = (T *)smem; /* [PR][PC][CpS] */
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  const int ox0 = blockIdx.x * VM_CT_TW, oy0 = blockIdx.y * VM_CT_TH;
  const int iy0 = oy0 * a.stride - 1, ix0 = ox0 * a.stride - 1;
  const int chunks = a.Cp / 8;
  const int lh = a.H / 2, lw = a.W / 2;

  for (int i = tid; i < a.PR * a.PC * chunks; i += 128) {
    int q = i % chunks, pix = i / chunks;
    int pc = pix % a.PC, pr = pix / a.PC;
    int iy = iy0 + pr, ix = ix0 + pc;
    uint4 packed = make_uint4(0u, 0u, 0u, 0u);
    int c0 = q * 8;
    if (iy >= 0 && iy < a.H && ix >= 0 && ix < a.W) {
      if (c0 < a.Cd8) {
        const T *src = (const T *)a.detail + ((int64_t)iy * a.W + ix) * a.Cd + c0;
        if ((a.Cd & 7) == 0) {
          packed = *reinterpret_cast<const uint4 *>(src);
        } else {
          float f[8];
#pragma unroll
          for (int j = 0; j < 8; j++) f[j] = c0 + j < a.Cd ? vm_to_f32<T>(src[j]) : 0.f;
          packed = pack8<T>(f);
        }
      } else if (c0 < a.Cd8 + a.Cl) {
        int j0 = c0 - a.Cd8;
        /* bilinear x2, align_corners=False: src = max(0, i/2 - 0.25) per axis */
        float sy = fmaxf(0.f, 0.5f * (float)iy - 0.25f), sx = fmaxf(0.f, 0.5f * (float)ix - 0.25f);
        int y0 = (int)sy, x0 = (int)sx;
        int y1 = min(y0 + 1, lh - 1), x1 = min(x0 + 1, lw - 1);
        float ly = sy - (float)y0, lx = sx - (float)x0;
        const T *L = (const T *)a.low;
        float f00[8], f01[8], f10[8], f11[8], f[8];
        unpack8<T>(*reinterpret_cast<const uint4 *>(L + ((int64_t)y0 * lw + x0) * a.Cl + j0), f00);
        unpack8<T>(*reinterpret_cast<const uint4 *>(L + ((int64_t)y0 * lw + x1) * a.Cl + j0), f01);
        unpack8<T>(*reinterpret_cast<const uint4 *>(L + ((int64_t)y1 * lw + x0) * a.Cl + j0), f10);
        unpack8<T>(*reinterpret_cast<const uint4 *>(L + ((int64_t)y1 * lw + x1) * a.Cl + j0), f11);
#pragma unroll
        for (int j = 0; j < 8; j++) {
          float top = (1.f - lx) * f00[j] + lx * f01[j];
          float bot = (1.f - lx) * f10[j] + lx * f11[j];
          f[j] = (1.f - ly) * top + ly * bot;
        }
        packed = pack8<T>(f);
      }
    }
    *reinterpret_cast<uint4 *>(patch + (pr * a.PC + pc) * a.CpS + c0) = packed;
  }
  __syncthreads();

  float acc[2][NB][4];
#pragma unroll
  for (int m = 0; m < 2; m++)
#pragma unroll
    for (int nb = 0; nb < NB; nb++) acc[m][nb][0] = acc[m][nb][1] = acc[m][nb][2] = acc[m][nb][3] = 0.f;
  const int g = lane >> 2, tq = lane & 3;
  const T *wt = (const T *)a.w;
  const int ksteps = a.Cp / 16;
  for (int tap = 0; tap < 9; tap++) {
    const int ky = tap / 3, kx = tap % 3;
    const int prow = warp * a.stride + ky;
    const T *arow0 = patch + (prow * a.PC + (lane & 15) * a.stride + kx) * a.CpS + (lane >> 4) * 8;
    const T *arow1 = patch + (prow * a.PC + (16 + (lane & 15)) * a.stride + kx) * a.CpS + (lane >> 4) * 8;
    const T *wtap = wt + (int64_t)tap * a.Cp + 2 * tq;
    for (int j = 0; j < ksteps; j++) {
      uint32_t af0[4], af1[4];
      ldsm_x4(af0, smem_addr(arow0 + j * 16));
      ldsm_x4(af1, smem_addr(arow1 + j * 16));
#pragma unroll
      for (int nb = 0; nb < NB; nb++) {
        const T *wp = wtap + (int64_t)(nb * 8 + g) * 9 * a.Cp + j * 16;
        uint32_t b0 = __ldg(reinterpret_cast<const unsigned int *>(wp));
        uint32_t b1 = __ldg(reinterpret_cast<const unsigned int *>(wp + 8));
        mma_op<T>::run(acc[0][nb], af0, b0, b1);
        mma_op<T>::run(acc[1][nb], af1, b0, b1);
      }
    }
  }

  const int oy = oy0 + warp;
  if (oy >= a.Ho) return;
  T *orow = (T *)a.out + (int64_t)oy * a.Wo * a.Cout;
#pragma unroll
  for (int m = 0; m < 2; m++)
#pragma unroll
    for (int h = 0; h < 2; h++) {
      int ox = ox0 + m * 16 + g + 8 * h;
      if (ox >= a.Wo) continue;
#pragma unroll
      for (int nb = 0; nb < NB; nb++) {
        int o = nb * 8 + 2 * tq;
        float v0 = acc[m][nb][2 * h], v1 = acc[m][nb][2 * h + 1];
        if (a.bias) {
          v0 += a.bias[o];
          v1 += a.bias[o + 1];
        }
        *reinterpret_cast<uint32_t *>(orow + (int64_t)ox * a.Cout + o) =
            mma_op<T>::pack(vm_apply_act(v0, a.act), vm_apply_act(v1, a.act));
      }
    }
#endif
}

/* w'[o][tap][c'] from w[o][tap][Cd + Cl]: c' < Cd -> detail channel c'; Cd8 <= c' < Cd8 + Cl -> low channel
 * c' - Cd8; else 0. */
template <typename T>
__global__ void relayout_weight(const T *__restrict__ w, T *__restrict__ dst, int64_t positions, int Cd, int Cl,
                                int Cd8, int Cp) {
  int64_t n = positions * Cp;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t pos = i / Cp;
    int c = (int)(i - pos * Cp);
    const T *src = w + pos * (Cd + Cl);
    T v = vm_from_f32<T>(0.f);
    if (c < Cd)
      v = src[c];
    else if (c >= Cd8 && c < Cd8 + Cl)
      v = src[Cd + c - Cd8];
    dst[i] = v;
  }
}

/* The weight re-laid out for this kernel, made once per weight (kept with the backend's padded weights; key_a
 * -(Cd8 + 1) cannot be a plain padded copy's channel count). */
static vm_status tc_weight(vm_cuda *cu, const vm_param *w, int Cout, int Cd, int Cl, int Cd8, int Cp,
                           const void **out, vm_error *err) {
  const int64_t positions = (int64_t)Cout * 9;
  size_t bytes = (size_t)(positions * Cp) * cu->base.act_size;
  return vm_cuda_derived_weight(cu, w, -(Cd8 + 1), Cp, bytes, "a re-laid-out convolution weight", [&](auto *dst) {
    typedef typename std::remove_pointer<decltype(dst)>::type T;
    relayout_weight<T><<<vm_grid_for(positions * Cp, 256), 256, 0, cu->stream>>>((const T *)w->data, dst, positions,
                                                                                  Cd, Cl, Cd8, Cp);
  }, out, err);
}

/* Shared memory of one block for these channels and stride. */
static size_t tc_smem(int Cp, int stride, int *PR, int *PC, int *CpS) {
  *PR = (VM_CT_TH - 1) * stride + 3;
  *PC = (VM_CT_TW - 1) * stride + 3;
  *CpS = (Cp / 8) % 2 == 0 ? Cp + 8 : Cp; /* an odd number of 16-byte units per pixel: no ldmatrix conflicts */
  return (size_t)*PR * *PC * *CpS * 2;
}

bool vm_cuda_conv_tc_takes(const vm_cuda *cu, int Cd, int Cl, int Cout, int k, int stride) {
  if (cu->base.act_size != 2 || cu->conv_cudnn_only || !cu->mma || k != 3 || (stride != 1 && stride != 2))
    return false;
  if (Cout < 8 || Cout > 64 || Cout % 8 != 0 || Cl % 8 != 0 || Cd + Cl == 0) return false;
  int Cd8 = (Cd + 7) / 8 * 8, Cp = (Cd8 + Cl + 15) / 16 * 16, PR, PC, CpS;
  /* Measured on an H100 (bench/NOTES.md): ahead of cuDNN up to 80 input channels (fusion 3: 0.53 vs 1.62 ms at
   * 1024^2), behind it at 176 (fusion 2: 1.01 vs 0.48 ms), where the weight fragments read from L1 dominate. */
  if (Cp > 128) return false;
  /* at least two blocks per SM (each holds smem_reserved, 1 KB, more than it asks for): on Hopper up to 113 KB a
   * block, on RTX 30/40 cards (100 KB an SM) up to 49 KB; cuDNN takes the rest */
  size_t smem = tc_smem(Cp, stride, &PR, &PC, &CpS);
  return smem <= cu->smem_optin && 2 * (smem + cu->smem_reserved) <= cu->smem_per_sm;
}

vm_status vm_cuda_conv_tc(vm_cuda *cu, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                          const vm_param *b, int stride, vm_act act, const vm_tensor *out, vm_error *err) {
  vm_conv_tc_args a;
  memset(&a, 0, sizeof a);
  a.detail = detail ? detail->data : NULL;
  a.low = low ? low->data : NULL;
  a.H = (int)(detail ? detail->h : 2 * low->h);
  a.W = (int)(detail ? detail->w : 2 * low->w);
  a.Cd = detail ? (int)detail->c : 0;
  a.Cl = low ? (int)low->c : 0;
  a.Cd8 = (a.Cd + 7) / 8 * 8;
  a.Cp = (a.Cd8 + a.Cl + 15) / 16 * 16;
  a.Cout = (int)out->c;
  a.stride = stride;
  a.Ho = (int)out->h;
  a.Wo = (int)out->w;
  a.act = (int)act;
  a.bias = (b && b->data) ? (const float *)b->data : NULL;
  a.out = out->data;
  size_t smem = tc_smem(a.Cp, stride, &a.PR, &a.PC, &a.CpS);
  VM_TRY(tc_weight(cu, w, a.Cout, a.Cd, a.Cl, a.Cd8, a.Cp, &a.w, err));
  int64_t gy = ((int64_t)a.Ho + VM_CT_TH - 1) / VM_CT_TH;
  if (gy > 65535) return vm_fail(err, VM_ERR_UNSUPPORTED, "conv2d: %d output rows is too many", a.Ho);
  dim3 grid((unsigned)((a.Wo + VM_CT_TW - 1) / VM_CT_TW), (unsigned)gy);
  return vm_dispatch(cu->base.precision, [&](auto tag) -> vm_status {
    typedef typename decltype(tag)::type T;
    if constexpr (sizeof(T) == 2) {
      auto launch = [&](auto kernel) -> vm_status {
        VM_CU(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem),
              "conv shared memory");
        kernel<<<grid, 128, smem, cu->stream>>>(a);
        return vm_cuda_launch_check(err, "conv3x3 (tensor cores)");
      };
      switch (a.Cout / 8) {
      case 1: return launch(conv3x3_tc<T, 1>);
      case 2: return launch(conv3x3_tc<T, 2>);
      case 3: return launch(conv3x3_tc<T, 3>);
      case 4: return launch(conv3x3_tc<T, 4>);
      case 5: return launch(conv3x3_tc<T, 5>);
      case 6: return launch(conv3x3_tc<T, 6>);
      case 7: return launch(conv3x3_tc<T, 7>);
      default: return launch(conv3x3_tc<T, 8>);
      }
    } else {
      return vm_fail(err, VM_ERR_INTERNAL, "conv2d: the tensor-core path takes fp16/bf16 only");
    }
  });
}
