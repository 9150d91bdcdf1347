// Decoder convolutions through cuDNN (NHWC, fp32 accumulation; FMA-only kernels in fp32 mode). The virtual input
// [detail, bilinear-upsample-x2(low)] is built band by band in a bounded buffer (a few output rows at a time, with
// their halo rows), so the full-resolution concat (68 channels x 12 M pixels at 12 MP) never exists.
#include <string.h>

#include <type_traits>

#include "act_types.cuh"
#include "cuda_backend.h"
#include "derived_weight.cuh"


/* One pixel of a concat band: its detail row and the four low-resolution taps of the bilinear x2 upsample
 * (align_corners=False, src = max(0, i/2 - 0.25)); inside = false for rows outside the image (zeros). */
template <typename T> struct band_pixel {
  bool inside;
  const T *d, *l00, *l01, *l10, *l11;
  float lx, ly;
};

template <typename T>
__device__ __forceinline__ band_pixel<T> band_pixel_at(const T *detail, const T *low, int iy, int x, int H, int W,
                                                       int Cd, int Cl) {
  band_pixel<T> px = {};
  px.inside = iy >= 0 && iy < H;
  if (!px.inside) return px;
  const int lh = H / 2, lw = W / 2;
  float sy = fmaxf(0.f, 0.5f * (float)iy - 0.25f), sx = fmaxf(0.f, 0.5f * (float)x - 0.25f);
  int y0 = (int)sy, x0 = (int)sx;
  int y1 = min(y0 + 1, lh - 1), x1 = min(x0 + 1, lw - 1);
  px.ly = sy - (float)y0;
  px.lx = sx - (float)x0;
  px.d = detail ? detail + ((int64_t)iy * W + x) * Cd : NULL;
  px.l00 = low ? low + ((int64_t)y0 * lw + x0) * Cl : NULL;
  px.l01 = low ? low + ((int64_t)y0 * lw + x1) * Cl : NULL;
  px.l10 = low ? low + ((int64_t)y1 * lw + x0) * Cl : NULL;
  px.l11 = low ? low + ((int64_t)y1 * lw + x1) * Cl : NULL;
  return px;
}

/* Channel c of a band pixel: c < Cd: detail; c < Cd + Cl: the upsampled low value; else zero (channel padding). */
template <typename T>
__device__ __forceinline__ float band_value(const band_pixel<T> &px, int c, int Cd, int Cl) {
  if (!px.inside) return 0.f;
  if (c < Cd) return vm_to_f32<T>(px.d[c]);
  if (c >= Cd + Cl) return 0.f;
  int j = c - Cd;
  /* PyTorch's order: rows weighted after columns */
  float top = (1.f - px.lx) * vm_to_f32<T>(px.l00[j]) + px.lx * vm_to_f32<T>(px.l01[j]);
  float bot = (1.f - px.lx) * vm_to_f32<T>(px.l10[j]) + px.lx * vm_to_f32<T>(px.l11[j]);
  return (1.f - px.ly) * top + px.ly * bot;
}

/* band[br][x][c] for band rows br (image row iy = row0 + br; outside the image: zeros), c < Cp (see band_value). */
template <typename T>
__global__ void __launch_bounds__(128) concat_band(const T *__restrict__ detail, const T *__restrict__ low,
                                                   T *__restrict__ band, int row0, int rows, int H, int W, int Cd,
                                                   int Cl, int Cp) {
  int64_t pixels = (int64_t)rows * W;
  for (int64_t p = blockIdx.x * (int64_t)blockDim.y + threadIdx.y; p < pixels; p += (int64_t)gridDim.x * blockDim.y) {
    int br = (int)(p / W), x = (int)(p - (int64_t)(p / W) * W);
    const band_pixel<T> px = band_pixel_at(detail, low, row0 + br, x, H, W, Cd, Cl);
    T *dst = band + p * Cp;
    for (int c = threadIdx.x; c < Cp; c += blockDim.x) dst[c] = vm_from_f32<T>(band_value(px, c, Cd, Cl));
  }
}

/* The same band in NCHW, band[c][br][x] (fp32): 32 pixels x 32 channels a block, gathered along the channels (the
 * NHWC sources' contiguous direction) and written along the pixels through a shared-memory tile. */
__global__ void __launch_bounds__(256) concat_band_nchw(const float *__restrict__ detail, const float *__restrict__ low,
                                                        float *__restrict__ band, int row0, int rows, int H, int W,
                                                        int Cd, int Cl) {
  __shared__ float tile[32][33];
  const int64_t P = (int64_t)rows * W, p0 = (int64_t)blockIdx.x * 32;
  const int C = Cd + Cl, c0 = blockIdx.y * 32;
  for (int j = threadIdx.y; j < 32; j += 8) {
    const int64_t p = p0 + j;
    const int c = c0 + threadIdx.x;
    float v = 0.f;
    if (p < P && c < C) {
      int br = (int)(p / W), x = (int)(p - (int64_t)br * W);
      v = band_value(band_pixel_at(detail, low, row0 + br, x, H, W, Cd, Cl), c, Cd, Cl);
    }
    tile[threadIdx.x][j] = v;
  }
  __syncthreads();
  for (int j = threadIdx.y; j < 32; j += 8) {
    const int c = c0 + j;
    const int64_t p = p0 + threadIdx.x;
    if (c < C && p < P) band[(int64_t)c * P + p] = tile[j][threadIdx.x];
  }
}

/* dst[p][c] = act(src[c][p] + bias[c]) for P output pixels of C channels (fp32): a band's NCHW output rows back
 * into the NHWC activation, with the epilogue cuDNN did not fuse (bias NULL, act none when it did). */
__global__ void __launch_bounds__(256) nchw_rows_to_nhwc(const float *__restrict__ src, float *__restrict__ dst,
                                                         int64_t P, int C, const float *__restrict__ bias, int act) {
  __shared__ float tile[32][33];
  const int64_t p0 = (int64_t)blockIdx.x * 32;
  const int c0 = blockIdx.y * 32;
  for (int j = threadIdx.y; j < 32; j += 8) {
    const int c = c0 + j;
    const int64_t p = p0 + threadIdx.x;
    if (c < C && p < P) {
      float v = src[(int64_t)c * P + p];
      if (bias) v += bias[c];
      tile[j][threadIdx.x] = vm_apply_act(v, act);
    }
  }
  __syncthreads();
  for (int j = threadIdx.y; j < 32; j += 8) {
    const int64_t p = p0 + j;
    const int c = c0 + threadIdx.x;
    if (c < C && p < P) dst[p * C + c] = tile[threadIdx.x][j];
  }
}

/* dst[o][c] = c < cin ? src[o][c] : 0 for o over Cout*k*k filter positions. */
template <typename T>
__global__ void pad_channels(const T *__restrict__ src, T *__restrict__ dst, int64_t positions, int cin, int cp) {
  int64_t n = positions * cp;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t o = i / cp;
    int c = (int)(i - o * cp);
    dst[i] = c < cin ? src[o * cin + c] : vm_from_f32<T>(0.f);
  }
}

/* dst[o][c][ky][kx] = src[o][ky][kx][c]: an NHWC (KRSC) filter as cuDNN's NCHW (KCRS) one. */
template <typename T>
__global__ void to_kcrs(const T *__restrict__ src, T *__restrict__ dst, int64_t cout, int cin, int kk) {
  int64_t n = cout * cin * kk;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    int64_t o = i / ((int64_t)cin * kk);
    int rest = (int)(i - o * cin * kk), c = rest / kk, tap = rest - c * kk;
    dst[i] = src[(o * kk + tap) * cin + c];
  }
}

void vm_cuda_conv_plans_release(vm_cuda *cu) {
  for (int i = 0; i < VM_CUDA_PADDED; i++) {
    if (cu->padded[i].data) vm_cuda_release(cu, cu->padded[i].data);
    memset(&cu->padded[i], 0, sizeof cu->padded[i]);
  }
  memset(cu->conv_plans, 0, sizeof cu->conv_plans);
}

/* The weight with its input channels padded from cin to cp, made once. */
static vm_status padded_weight(vm_cuda *cu, const vm_param *w, int64_t positions, int cin, int cp, const void **out,
                               vm_error *err) {
  size_t bytes = (size_t)(positions * cp) * cu->base.act_size;
  return vm_cuda_derived_weight(cu, w, cin, cp, bytes, "a channel-padded convolution weight", [&](auto *dst) {
    typedef typename std::remove_pointer<decltype(dst)>::type T;
    pad_channels<T><<<vm_grid_for(positions * cp, 256), 256, 0, cu->stream>>>((const T *)w->data, dst, positions, cin,
                                                                               cp);
  }, out, err);
}

/* The filter in KCRS order, made once (derived-weight key: cin, -k). */
static vm_status kcrs_weight(vm_cuda *cu, const vm_param *w, int cout, int cin, int k, const void **out,
                             vm_error *err) {
  size_t bytes = (size_t)cout * cin * k * k * cu->base.act_size;
  return vm_cuda_derived_weight(cu, w, cin, -k, bytes, "a KCRS convolution weight", [&](auto *dst) {
    typedef typename std::remove_pointer<decltype(dst)>::type T;
    to_kcrs<T><<<vm_grid_for((int64_t)cout * cin * k * k, 256), 256, 0, cu->stream>>>((const T *)w->data, dst, cout,
                                                                                      cin, k * k);
  }, out, err);
}

static bool algo_is_exact(cudnnConvolutionFwdAlgo_t a) {
  /* Winograd and FFT trade accuracy for speed; the implicit-GEMM family and direct convolution do not. */
  return a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM ||
         a == CUDNN_CONVOLUTION_FWD_ALGO_GEMM || a == CUDNN_CONVOLUTION_FWD_ALGO_DIRECT;
}

/* y[1, ho, wo, cout] = conv(x[1, h, w, cin], wt[cout, k, k, cin]) with the given padding and stride, via cuDNN
 * (nchw: x, y as [1, c, h, w] and wt as [cout, cin, k, k]; fp32 only).
 * With relu_bias (the bias in the activation type, or NULL for none) cuDNN adds it and applies ReLU in the same call
 * where its algorithm allows (*fused set to true), saving a pass over y; otherwise the caller's epilogue does. */
static vm_status dnn_conv(vm_cuda *cu, const void *x, int h, int w, int cin, const void *wt, int cout, int k,
                          int stride, int pad_h, int pad_w, void *y, int ho, int wo, const void *relu_bias, bool *fused,
                          bool nchw, vm_error *err) {
  *fused = false;
  cudnnDataType_t dt = cu->base.precision == VM_PRECISION_FP16   ? CUDNN_DATA_HALF
                       : cu->base.precision == VM_PRECISION_BF16 ? CUDNN_DATA_BFLOAT16
                                                                 : CUDNN_DATA_FLOAT;
  const cudnnTensorFormat_t fmt = nchw ? CUDNN_TENSOR_NCHW : CUDNN_TENSOR_NHWC;
  VM_DNN(cudnnSetTensor4dDescriptor(cu->dnn_x, fmt, dt, 1, cin, h, w), "conv input descriptor");
  VM_DNN(cudnnSetFilter4dDescriptor(cu->dnn_w, dt, fmt, cout, cin, k, k), "conv filter descriptor");
  VM_DNN(cudnnSetConvolution2dDescriptor(cu->dnn_conv, pad_h, pad_w, stride, stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                         CUDNN_DATA_FLOAT),
         "conv descriptor");
  int on, oc, oh, ow;
  VM_DNN(cudnnGetConvolution2dForwardOutputDim(cu->dnn_conv, cu->dnn_x, cu->dnn_w, &on, &oc, &oh, &ow),
         "conv output size");
  if (on != 1 || oc != cout || oh != ho || ow != wo)
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: cuDNN gives a %dx%dx%d output, expected %dx%dx%d", oh, ow, oc, ho, wo,
                   cout);
  VM_DNN(cudnnSetTensor4dDescriptor(cu->dnn_y, fmt, dt, 1, cout, ho, wo), "conv output descriptor");
  cudnnMathType_t want = dt == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;

  vm_cuda_conv_plan *plan = NULL;
  for (int i = 0; i < VM_CUDA_CONV_PLANS && !plan; i++) {
    vm_cuda_conv_plan *p = &cu->conv_plans[i];
    if (p->used && p->h == h && p->w == w && p->cin == cin && p->cout == cout && p->k == k && p->stride == stride &&
        p->pad_h == pad_h && p->pad_w == pad_w && p->nchw == nchw)
      plan = p;
  }
  if (!plan) {
    VM_DNN(cudnnSetConvolutionMathType(cu->dnn_conv, want), "conv math type");
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    if (cu->conv_find && !vm_cuda_capturing(cu)) {
      /* time every algorithm once (sorted fastest first) instead of trusting the heuristic */
      VM_DNN(cudnnFindConvolutionForwardAlgorithm(cu->dnn, cu->dnn_x, cu->dnn_w, cu->dnn_conv, cu->dnn_y,
                                                  CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf),
             "timing the convolution algorithms");
    } else {
      VM_DNN(cudnnGetConvolutionForwardAlgorithm_v7(cu->dnn, cu->dnn_x, cu->dnn_w, cu->dnn_conv, cu->dnn_y,
                                                    CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &found, perf),
             "choosing a convolution algorithm");
    }
    int pick = -1;
    for (int i = 0; i < found && pick < 0; i++) {
      /* VITMATTE_CUDA_CONV_ALGO=any lets Winograd and FFT compete too (issue 14: is PyTorch's fp32 decoder faster
       * because it allows them, and does fp32 parity hold with them?); a measurement switch, not a default */
      if (perf[i].status != CUDNN_STATUS_SUCCESS || (!cu->conv_any_algo && !algo_is_exact(perf[i].algo))) continue;
      if (perf[i].memory > cu->conv_ws_cap) continue;
      if (dt == CUDNN_DATA_FLOAT && perf[i].mathType != CUDNN_FMA_MATH && perf[i].mathType != CUDNN_DEFAULT_MATH)
        continue;
      pick = i;
    }
    if (pick < 0)
      return vm_fail(err, VM_ERR_DEVICE, "cuDNN offers no exact algorithm for a %dx%d x %d -> %d conv %dx%d", h, w,
                     cin, cout, k, k);
    int slot = vm_cuda_lru_slot(cu->conv_plans, VM_CUDA_CONV_PLANS);
    plan = &cu->conv_plans[slot];
    plan->used = true;
    plan->h = h;
    plan->w = w;
    plan->cin = cin;
    plan->cout = cout;
    plan->k = k;
    plan->stride = stride;
    plan->pad_h = pad_h;
    plan->pad_w = pad_w;
    plan->nchw = nchw;
    plan->algo = perf[pick].algo;
    plan->math = (int)(dt == CUDNN_DATA_FLOAT ? CUDNN_FMA_MATH : perf[pick].mathType);
    size_t ws = 0;
    VM_DNN(cudnnSetConvolutionMathType(cu->dnn_conv, (cudnnMathType_t)plan->math), "conv math type");
    VM_DNN(cudnnGetConvolutionForwardWorkspaceSize(cu->dnn, cu->dnn_x, cu->dnn_w, cu->dnn_conv, cu->dnn_y, plan->algo,
                                                   &ws),
           "convolution workspace size");
    plan->workspace = ws;
    plan->fused = 0;
  }
  plan->stamp = ++cu->clock;
  VM_DNN(cudnnSetConvolutionMathType(cu->dnn_conv, (cudnnMathType_t)plan->math), "conv math type");
  if (plan->workspace > cu->ws_dnn.size)
    VM_TRY(vm_cuda_scratch_reserve(cu, &cu->ws_dnn, plan->workspace, "the cuDNN workspace", err));
  float alpha = 1.f, beta = 0.f;
  if (relu_bias && plan->fused >= 0) {
    VM_DNN(cudnnSetTensor4dDescriptor(cu->dnn_b, fmt, dt, 1, cout, 1, 1), "conv bias descriptor");
    /* z (scaled by beta = 0) is y itself */
    cudnnStatus_t ds = cudnnConvolutionBiasActivationForward(cu->dnn, &alpha, cu->dnn_x, x, cu->dnn_w, wt, cu->dnn_conv,
                                                             plan->algo, cu->ws_dnn.ptr, plan->workspace, &beta,
                                                             cu->dnn_y, y, cu->dnn_b, relu_bias, cu->dnn_relu,
                                                             cu->dnn_y, y);
    if (ds == CUDNN_STATUS_SUCCESS) {
      plan->fused = 1;
      *fused = true;
      return VM_OK;
    }
    if (plan->fused == 1 || (ds != CUDNN_STATUS_NOT_SUPPORTED && ds != CUDNN_STATUS_BAD_PARAM))
      return vm_cuda_dnn_fail(err, ds, "cudnnConvolutionBiasActivationForward");
    plan->fused = -1; /* this algorithm does not take them: the separate epilogue from now on */
  }
  VM_DNN(cudnnConvolutionForward(cu->dnn, &alpha, cu->dnn_x, x, cu->dnn_w, wt, cu->dnn_conv, plan->algo,
                                 cu->ws_dnn.ptr, plan->workspace, &beta, cu->dnn_y, y),
         "cudnnConvolutionForward");
  return VM_OK;
}

/* The most output rows a band takes: as many as fit cu->band_limit bytes of input rows (row_in bytes each, with the
 * k - 1 halo rows) and, for an NCHW band, band_limit bytes of its staged output rows (row_out bytes each); at least
 * one, at most ho. The scratch estimate sizes the bands by it; the convolution then makes its bands equal. */
int64_t vm_cuda_conv_band_rows(const vm_cuda *cu, size_t row_in, size_t row_out, int k, int stride, int64_t ho,
                               bool nchw) {
  const int64_t in_rows = (int64_t)(cu->band_limit / row_in);
  int64_t r = in_rows >= k ? (in_rows - k) / stride + 1 : 1;
  if (nchw && (int64_t)(cu->band_limit / row_out) < r) r = (int64_t)(cu->band_limit / row_out);
  if (r < 1) r = 1;
  return r < ho ? r : ho;
}

vm_status vm_cuda_conv2d(vm_backend *be, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                         const vm_param *b, int k, int stride, vm_act act, const vm_tensor *out, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  VM_TRY(vm_cuda_op_enter(cu, err));
  VM_TRY(vm_cuda_require_act(cu, "conv2d", detail, low, out, err));
  if (!detail && !low) return vm_fail(err, VM_ERR_INTERNAL, "conv2d: neither detail nor low given");
  if ((k != 1 && k != 3) || stride < 1) return vm_fail(err, VM_ERR_INTERNAL, "conv2d: k=%d stride=%d", k, stride);
  if ((detail && detail->n != 1) || (low && low->n != 1) || out->n != 1)
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: batch size must be 1");
  int64_t H = detail ? detail->h : 2 * low->h, W = detail ? detail->w : 2 * low->w;
  if (low && (low->h * 2 != H || low->w * 2 != W))
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: low %lldx%lld is not half of %lldx%lld", (long long)low->h,
                   (long long)low->w, (long long)H, (long long)W);
  int Cd = detail ? (int)detail->c : 0, Cl = low ? (int)low->c : 0, Cin = Cd + Cl, Cout = (int)out->c;
  int pad = k / 2;
  int64_t Ho = (H + 2 * pad - k) / stride + 1, Wo = (W + 2 * pad - k) / stride + 1;
  if (out->h != Ho || out->w != Wo)
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: output must be %lldx%lld, is %lldx%lld", (long long)Ho,
                   (long long)Wo, (long long)out->h, (long long)out->w);
  if (!w || !w->data || w->numel != (int64_t)Cout * k * k * Cin)
    return vm_fail(err, VM_ERR_INTERNAL, "conv2d: weight has %lld values, expected %d x %d x %d x %d",
                   (long long)(w ? w->numel : 0), Cout, k, k, Cin);
  if (b && b->data && b->numel != Cout) return vm_fail(err, VM_ERR_INTERNAL, "conv2d: bias size");
  if (H > 0x7fffffffLL || W > 0x7fffffffLL) return vm_fail(err, VM_ERR_UNSUPPORTED, "conv2d: image too large");
  if (Ho == 0 || Wo == 0) return VM_OK;
  const float *bias = (b && b->data) ? (const float *)b->data : NULL;
  size_t es = be->act_size;

  if (vm_cuda_conv_tc_takes(cu, Cd, Cl, Cout, k, stride))
    return vm_cuda_conv_tc(cu, detail, low, w, b, stride, act, out, err);
  if (!low && k == 1 && stride == 1) {
    /* a 1x1 convolution is a matrix product */
    VM_TRY(vm_cuda_gemm(cu, detail->data, w->data, bias ? vm_cuda_vector_shadow(cu, b) : NULL, NULL, out->data, H * W,
                        Cout, Cd, err));
    return vm_cuda_epilogue(cu, out->data, NULL, act, NULL, out->data, H * W, Cout, err);
  }
  /* bias and ReLU go into cuDNN's call where it takes them */
  const void *relu_bias = act == VM_ACT_RELU && bias ? vm_cuda_vector_shadow(cu, b) : NULL;
  bool fused = false;
  /* fp32 3x3 convolutions cuDNN runs in NCHW (cu->conv_nchw): the stride-1 ones (fusion blocks, head, residual
   * blocks) by default, the strided ones too on request */
  const bool nchw = vm_cuda_conv_nchw(cu, k, stride);
  if (!low && (es == 4 || Cd % 8 == 0) && !nchw) {
    VM_TRY(dnn_conv(cu, detail->data, (int)H, (int)W, Cd, w->data, Cout, k, stride, pad, pad, out->data, (int)Ho,
                    (int)Wo, relu_bias, &fused, false, err));
    return fused ? VM_OK : vm_cuda_epilogue(cu, out->data, bias, act, NULL, out->data, Ho * Wo, Cout, err);
  }

  /* Concat bands (also for a detail-only input whose channel count the tensor cores do not take, e.g. the 4-channel
   * image, and for NCHW): the band's channels are padded to a multiple of 8 for the tensor cores. */
  int Cp = es == 4 ? Cin : (Cin + 7) / 8 * 8;
  const void *wt = w->data;
  if (Cp != Cin) VM_TRY(padded_weight(cu, w, (int64_t)Cout * k * k, Cin, Cp, &wt, err));
  const size_t row_bytes = (size_t)W * Cp * es, out_row_bytes = (size_t)Wo * Cout * es;
  /* bands of at most R rows, made as equal as rows allow (ceil and floor of Ho / bands): a short last band takes
   * other, slower algorithms (H100, fp32 fusion 1 at 1024^2 in bands of 182 + 74 rows 2.04 ms, 128 + 128 1.43) */
  const int64_t Rmax = vm_cuda_conv_band_rows(cu, row_bytes, out_row_bytes, k, stride, Ho, nchw);
  const int64_t nbands = (Ho + Rmax - 1) / Rmax, R = (Ho + nbands - 1) / nbands;
  const int64_t rin_max = (R - 1) * stride + k;
  VM_TRY(vm_cuda_scratch_reserve(cu, &cu->band, (size_t)rin_max * row_bytes, "the convolution band", err));
  if (nchw) {
    VM_TRY(kcrs_weight(cu, w, Cout, Cp, k, &wt, err));
    VM_TRY(vm_cuda_scratch_reserve(cu, &cu->conv_t, (size_t)R * out_row_bytes, "the NCHW convolution output", err));
  }
  for (int64_t band = 0; band < nbands; band++) {
    const int64_t o0 = Ho * band / nbands, r = Ho * (band + 1) / nbands - o0;
    int64_t rin = (r - 1) * stride + k;
    int64_t row0 = o0 * stride - pad;
    void *y = (char *)out->data + (size_t)(o0 * Wo * Cout) * es;
    if (nchw) {
      /* the band written in NCHW, cuDNN's NCHW output rows read back into y with the epilogue it did not fuse */
      const int64_t P = rin * W, Po = r * Wo;
      dim3 block(32, 8), grid((unsigned)((P + 31) / 32), (unsigned)((Cin + 31) / 32));
      concat_band_nchw<<<grid, block, 0, cu->stream>>>((const float *)(detail ? detail->data : NULL),
                                                       (const float *)(low ? low->data : NULL), (float *)cu->band.ptr,
                                                       (int)row0, (int)rin, (int)H, (int)W, Cd, Cl);
      VM_TRY(vm_cuda_launch_check(err, "NCHW concat band"));
      VM_TRY(dnn_conv(cu, cu->band.ptr, (int)rin, (int)W, Cp, wt, Cout, k, stride, 0, pad, cu->conv_t.ptr, (int)r,
                      (int)Wo, relu_bias, &fused, true, err));
      dim3 ogrid((unsigned)((Po + 31) / 32), (unsigned)((Cout + 31) / 32));
      nchw_rows_to_nhwc<<<ogrid, block, 0, cu->stream>>>((const float *)cu->conv_t.ptr, (float *)y, Po, Cout,
                                                         fused ? NULL : bias, fused ? (int)VM_ACT_NONE : (int)act);
      VM_TRY(vm_cuda_launch_check(err, "NCHW output rows"));
      continue;
    }
    vm_status st = vm_dispatch(be->precision, [&](auto tag) -> vm_status {
      typedef typename decltype(tag)::type T;
      dim3 block(32, 4);
      int64_t blocks = (rin * W + 3) / 4;
      concat_band<T><<<(unsigned)(blocks > 2147483647LL ? 2147483647LL : blocks), block, 0, cu->stream>>>(
          detail ? (const T *)detail->data : NULL, low ? (const T *)low->data : NULL, (T *)cu->band.ptr, (int)row0, (int)rin,
          (int)H, (int)W, Cd, Cl, Cp);
      return vm_cuda_launch_check(err, "concat band");
    });
    VM_TRY(st);
    VM_TRY(dnn_conv(cu, cu->band.ptr, (int)rin, (int)W, Cp, wt, Cout, k, stride, 0, pad, y, (int)r, (int)Wo,
                    relu_bias, &fused, false, err));
    if (!fused) VM_TRY(vm_cuda_epilogue(cu, y, bias, act, NULL, y, r * Wo, Cout, err));
  }
  return VM_OK;
}
