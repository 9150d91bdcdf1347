// The CUDA backend module's entry points: creating a backend for a device and precision (failing cleanly without a
// driver or GPU), its op table, destroying it, and the scratch estimate.
#include <stdlib.h>
#include <string.h>

#include "act_types.cuh"
#include "cuda_backend.h"

#define VM_EXPORT extern "C" __attribute__((visibility("default")))

static void destroy(vm_backend *be) {
  vm_cuda *cu = vm_cuda_of(be);
  if (!cu) return;
  (void)cudaSetDevice(cu->device);
  if (cu->stream) (void)cudaStreamSynchronize(cu->stream);
  if (cu->pass_state == VM_PASS_CAPTURING) {
    cudaGraph_t g = NULL;
    (void)cudaStreamEndCapture(cu->stream, &g);
    if (g) (void)cudaGraphDestroy(g);
  }
  vm_cuda_graphs_invalidate(cu);
  vm_cuda_gemm_plans_release(cu);
  vm_cuda_conv_plans_release(cu);
  for (int i = 0; i < cu->ndeferred; i++) vm_cuda_release(cu, cu->deferred[i]);
  cu->ndeferred = 0;
  vm_cuda_scratch_release(cu, &cu->ws_lt);
  vm_cuda_scratch_release(cu, &cu->ws_dnn);
  vm_cuda_scratch_release(cu, &cu->staging);
  vm_cuda_scratch_release(cu, &cu->band);
  vm_cuda_scratch_release(cu, &cu->tmp);
  vm_cuda_scratch_release(cu, &cu->attn_bias);
  vm_cuda_scratch_release(cu, &cu->conv_t);
  /* whatever the engine did not give back */
  while (cu->nblocks > 0) vm_cuda_release(cu, cu->blocks[cu->nblocks - 1].ptr);
  if (cu->dnn_x) (void)cudnnDestroyTensorDescriptor(cu->dnn_x);
  if (cu->dnn_y) (void)cudnnDestroyTensorDescriptor(cu->dnn_y);
  if (cu->dnn_b) (void)cudnnDestroyTensorDescriptor(cu->dnn_b);
  if (cu->dnn_relu) (void)cudnnDestroyActivationDescriptor(cu->dnn_relu);
  if (cu->dnn_w) (void)cudnnDestroyFilterDescriptor(cu->dnn_w);
  if (cu->dnn_conv) (void)cudnnDestroyConvolutionDescriptor(cu->dnn_conv);
  if (cu->dnn) (void)cudnnDestroy(cu->dnn);
  if (cu->lt) (void)cublasLtDestroy(cu->lt);
  if (cu->ev_begin) (void)cudaEventDestroy(cu->ev_begin);
  if (cu->ev_end) (void)cudaEventDestroy(cu->ev_end);
  if (cu->side) (void)cudaStreamDestroy(cu->side);
  if (cu->stream) (void)cudaStreamDestroy(cu->stream);
  free(cu->blocks);
  free(cu);
}

/* Upper bound of the scratch one forward pass at H x W takes (im2col/concat bands, staging, workspaces). */
size_t vm_cuda_scratch_estimate(vm_backend *be, const vm_config *cfg, int H, int W) {
  size_t es = be->act_size;
  const vm_cuda *cu = vm_cuda_of(be);
  size_t total = VM_CUDA_LT_WORKSPACE + cu->conv_ws_cap;
  /* staging: the f32 input in half precisions, the 8-bit input (upload_rgbt8) in every precision */
  const size_t staging = es != 4 ? (size_t)H * W * 4 * sizeof(float) : (size_t)H * W * 4;
  total += staging < (size_t)VM_CUDA_STAGING_FLOATS * 4 ? staging : (size_t)VM_CUDA_STAGING_FLOATS * 4;
  size_t band = 0;
  int p = cfg->patch_size > 0 ? cfg->patch_size : 16;
  size_t patch = (size_t)(H / p) * (W / p) * p * p * cfg->num_channels * es;
  band = patch < VM_CUDA_PATCH_BAND_BYTES ? patch : VM_CUDA_PATCH_BAND_BYTES;
  /* the concat bands (and, for the convolutions cuDNN runs in NCHW, their output rows) of every 3x3 convolution that
   * takes one, at its exact size (an image h x w: the convstream rounds halves up), sized as the convolution sizes
   * them (vm_cuda_conv_band_rows; it then makes them equal, never larger) */
  size_t nchw_out = 0, kcrs = 0;
  auto conv_band = [&](int h, int w, int cin, int cout, int stride, bool concat) {
    const bool nchw = vm_cuda_conv_nchw(cu, 3, stride);
    if (nchw) kcrs += (size_t)cout * 9 * cin * es; /* its KCRS filter */
    if (!concat && !nchw && (es == 4 || cin % 8 == 0)) return; /* cuDNN straight on the activation */
    const size_t cp = es == 4 ? (size_t)cin : (size_t)(cin + 7) / 8 * 8;
    const int ho = (h + stride - 1) / stride, wo = (w + stride - 1) / stride;
    const size_t row_in = (size_t)w * cp * es, row_out = (size_t)wo * cout * es;
    const int64_t r = vm_cuda_conv_band_rows(cu, row_in, row_out, 3, stride, ho, nchw);
    const size_t in = (size_t)((r - 1) * stride + 3) * row_in;
    if (in > band) band = in;
    if (nchw && (size_t)r * row_out > nchw_out) nchw_out = (size_t)r * row_out;
  };
  auto up = [](int v, int down) { return (v + down - 1) / down; };
  for (int k = 0; k < cfg->num_fusion; k++) {
    int down = 1 << (cfg->num_fusion - 1 - k); /* fusion k works at H / 2^(num_fusion-1-k) */
    int detail = k + 1 < cfg->num_fusion ? cfg->convstream_hidden_sizes[cfg->num_fusion - 2 - k] : cfg->num_channels;
    int lowc = k == 0 ? cfg->hidden_size : cfg->fusion_hidden_sizes[k - 1];
    conv_band(up(H, down), up(W, down), detail + lowc, cfg->fusion_hidden_sizes[k], 1, true);
  }
  for (int i = 0, cin = cfg->num_channels; i < cfg->num_convstream; cin = cfg->convstream_hidden_sizes[i++])
    conv_band(up(H, 1 << i), up(W, 1 << i), cin, cfg->convstream_hidden_sizes[i], 2, false);
  if (cfg->num_fusion > 0) conv_band(H, W, cfg->fusion_hidden_sizes[cfg->num_fusion - 1], VM_BN_HEAD_MID, 1, false);
  /* the residual blocks' 3x3 convolution (hidden / 2 channels at the token grid), once a block for its filter */
  for (int l = 0; l < cfg->num_layers_run; l++)
    if (cfg->residual_block[l]) conv_band(H / p, W / p, cfg->hidden_size / 2, cfg->hidden_size / 2, 1, false);
  total += band + nchw_out;
  /* the global layers' rel-pos bias slots (VM_ATTN_SLOTS_PER_SM resident blocks per SM), on the path attention takes */
  if (cfg->use_relative_position_embeddings)
    total += vm_cuda_attention_scratch(vm_cuda_of(be), H / p, W / p, cfg->head_dim);
  /* channel-padded copies of the fusion weights */
  for (int k = 0; k < cfg->num_fusion; k++) total += (size_t)cfg->fusion_hidden_sizes[k] * 9 * 1024 * es / 64;
  /* the KCRS copies of the weights cuDNN takes in NCHW (counted above) */
  total += kcrs;
  return total;
}

static const vm_backend_ops cuda_ops = {
    destroy,
    vm_cuda_alloc,
    vm_cuda_free,
    vm_cuda_param_upload,
    vm_cuda_param_free,
    vm_cuda_upload,
    vm_cuda_download,
    vm_cuda_synchronize,
    vm_cuda_patch_embed,
    vm_cuda_layer_norm,
    vm_cuda_linear,
    vm_cuda_window_partition,
    vm_cuda_window_unpartition,
    vm_cuda_attention,
    vm_cuda_conv2d,
    vm_cuda_forward_begin,
    vm_cuda_forward_end,
    vm_cuda_scratch_estimate,
    vm_cuda_peak_memory,
    vm_cuda_host_alloc,
    vm_cuda_host_free,
    vm_cuda_memory_info,
    vm_cuda_foreground_jacobi,
    vm_cuda_upload_rgbt8,
    vm_cuda_download_alpha,
};

/* VITMATTE_CUDA_HOST_IO=1: the same table without the device-side input and alpha (the engine then pre-processes
 * and crops on the host, as before those ops existed), to time both in one run. */
static const vm_backend_ops cuda_ops_host_io = [] {
  vm_backend_ops o = cuda_ops;
  o.upload_rgbt8 = NULL;
  o.download_alpha = NULL;
  return o;
}();

/* The oldest Linux driver that runs this CUDA runtime (NVIDIA's CUDA Toolkit release notes, minor version
 * compatibility: one driver branch per major version). */
#if CUDART_VERSION >= 13000 && CUDART_VERSION < 14000
#define VM_MIN_DRIVER "580"
#elif CUDART_VERSION >= 12000 && CUDART_VERSION < 13000
#define VM_MIN_DRIVER "525"
#else
#define VM_MIN_DRIVER "that CUDA's release notes name"
#endif

static vm_status no_gpu(vm_error *err, cudaError_t e) {
  (void)cudaGetLastError();
  if (e == cudaErrorInsufficientDriver)
    return vm_fail(err, VM_ERR_DEVICE, "no usable NVIDIA driver found (none installed, or older than CUDA %d.%d "
                   "needs: install the NVIDIA driver %s or newer)", CUDART_VERSION / 1000, CUDART_VERSION % 1000 / 10,
                   VM_MIN_DRIVER);
  if (e == cudaErrorNoDevice) return vm_fail(err, VM_ERR_DEVICE, "no NVIDIA GPU found");
  return vm_fail(err, VM_ERR_DEVICE, "the CUDA runtime cannot start: %s (%s)", cudaGetErrorString(e),
                 cudaGetErrorName(e));
}

VM_EXPORT int vm_cuda_backend_abi(void) { return VM_BACKEND_ABI_VERSION; }

/* For the op suite (tests/gpu/test_cuda_ops.c): the kernel the context's last attention op ran, NULL before any. */
VM_EXPORT const char *vm_cuda_debug_last_attention(vm_backend *be) { return be ? vm_cuda_of(be)->last_attention : NULL; }

VM_EXPORT vm_status vm_cuda_backend_create(int device_ordinal, vm_precision precision, vm_backend **out,
                                           vm_error *err) {
  if (!out) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_cuda_backend_create: out is NULL");
  *out = NULL;
  if (precision != VM_PRECISION_FP32 && precision != VM_PRECISION_FP16 && precision != VM_PRECISION_BF16)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "the CUDA backend takes fp32, fp16 or bf16");
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e != cudaSuccess) return no_gpu(err, e);
  if (count == 0) return no_gpu(err, cudaErrorNoDevice);
  if (device_ordinal < 0 || device_ordinal >= count)
    return vm_fail(err, VM_ERR_DEVICE, "CUDA device %d does not exist (%d found)", device_ordinal, count);
  cudaDeviceProp prop;
  e = cudaGetDeviceProperties(&prop, device_ordinal);
  if (e != cudaSuccess) return vm_cuda_rt_fail(err, e, "cudaGetDeviceProperties");
  e = cudaSetDevice(device_ordinal);
  if (e != cudaSuccess) return vm_cuda_rt_fail(err, e, "cudaSetDevice");
  vm_cuda *cu = (vm_cuda *)calloc(1, sizeof *cu);
  if (!cu) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of host memory for the CUDA backend");
  cu->base.ops = &cuda_ops;
  cu->base.act_size = precision == VM_PRECISION_FP32 ? 4 : 2;
  cu->base.precision = precision;
  cu->base.device = VM_DEVICE_CUDA;
  cu->device = device_ordinal;
  cu->pass_entry = -1;
  vm_status st = vm_cuda_limits_init(cu, &prop, err);
  if (st == VM_OK && precision == VM_PRECISION_BF16 && (cu->cc < 80 || !cu->mma))
    st = vm_fail(err, VM_ERR_UNSUPPORTED,
                 cu->cc < 80 ? "bf16 needs an Ampere (RTX 30) or newer GPU; %s (compute capability %d.%d) has no bf16 "
                               "tensor cores: use fp16 or fp32"
                             : "bf16 needs sm_80 code, and this build runs %s (compute capability %d.%d) from "
                               "older code: use fp16 or fp32, or rebuild with its sm_ target",
                 prop.name, prop.major, prop.minor);
  if (st != VM_OK) {
    free(cu);
    return st;
  }
  if (cu->code_arch == cu->cc)
    snprintf(cu->base.name, sizeof cu->base.name, "%.60s (sm_%d code: %s)", prop.name, cu->cc, vm_cuda_path_name(cu));
  else
    snprintf(cu->base.name, sizeof cu->base.name, "%.60s (compute %d.%d running compute_%d code: %s)", prop.name,
             prop.major, prop.minor, cu->code_arch, vm_cuda_path_name(cu));
  const char *hio = getenv("VITMATTE_CUDA_HOST_IO");
  if (hio && hio[0] == '1') cu->base.ops = &cuda_ops_host_io;
  const char *g = getenv("VITMATTE_CUDA_GRAPHS");
  cu->graphs_disabled = g && g[0] == '0';
  const char *cv = getenv("VITMATTE_CUDA_CONV");
  cu->conv_cudnn_only = cv && strcmp(cv, "cudnn") == 0;
  const char *ca = getenv("VITMATTE_CUDA_CONV_ALGO");
  cu->conv_any_algo = ca && strcmp(ca, "any") == 0;
  cu->conv_find = ca && (strcmp(ca, "find") == 0 || cu->conv_any_algo);
  const char *bl = getenv("VITMATTE_CUDA_BAND_BYTES");
  const bool f32 = precision == VM_PRECISION_FP32;
  cu->band_limit = bl && atol(bl) > 0 ? (size_t)atol(bl) : VM_CUDA_CONV_BAND_BYTES;
  /* fp32 convolutions: cuDNN in NCHW for the stride-1 ones by default (issue 14: on an H100 twice as fast as NHWC
   * for fusion 1 and 2, the head 1.9 -> 1.0 ms); VITMATTE_CUDA_CONV_LAYOUT=nhwc|nchw|nchw-all chooses (measurements) */
  const char *lay = getenv("VITMATTE_CUDA_CONV_LAYOUT");
  cu->conv_nchw = !f32 || (lay && strcmp(lay, "nhwc") == 0) ? VM_CONV_NCHW_NONE
                  : lay && strcmp(lay, "nchw-all") == 0     ? VM_CONV_NCHW_ALL
                                                            : VM_CONV_NCHW_STRIDE1;
  const char *wsmb = getenv("VITMATTE_CUDA_CONV_WORKSPACE_MB");
  cu->conv_ws_cap = wsmb && atol(wsmb) > 0 ? (size_t)atol(wsmb) << 20
                    : f32                  ? VM_CUDA_CONV_WORKSPACE_CAP_F32
                                           : VM_CUDA_CONV_WORKSPACE_CAP;

  cublasStatus_t ls;
  cudnnStatus_t ds;
  if ((e = cudaStreamCreateWithFlags(&cu->stream, cudaStreamNonBlocking)) != cudaSuccess ||
      (e = cudaStreamCreateWithFlags(&cu->side, cudaStreamNonBlocking)) != cudaSuccess ||
      (e = cudaEventCreate(&cu->ev_begin)) != cudaSuccess || (e = cudaEventCreate(&cu->ev_end)) != cudaSuccess) {
    st = vm_cuda_rt_fail(err, e, "creating CUDA streams");
  } else if ((ls = cublasLtCreate(&cu->lt)) != CUBLAS_STATUS_SUCCESS) {
    st = vm_cuda_lt_fail(err, ls, "cublasLtCreate");
  } else if ((ds = cudnnCreate(&cu->dnn)) != CUDNN_STATUS_SUCCESS) {
    st = vm_cuda_dnn_fail(err, ds, "cudnnCreate");
  } else if ((ds = cudnnSetStream(cu->dnn, cu->stream)) != CUDNN_STATUS_SUCCESS ||
             (ds = cudnnCreateTensorDescriptor(&cu->dnn_x)) != CUDNN_STATUS_SUCCESS ||
             (ds = cudnnCreateTensorDescriptor(&cu->dnn_y)) != CUDNN_STATUS_SUCCESS ||
             (ds = cudnnCreateFilterDescriptor(&cu->dnn_w)) != CUDNN_STATUS_SUCCESS ||
             (ds = cudnnCreateConvolutionDescriptor(&cu->dnn_conv)) != CUDNN_STATUS_SUCCESS ||
             (ds = cudnnCreateTensorDescriptor(&cu->dnn_b)) != CUDNN_STATUS_SUCCESS ||
             (ds = cudnnCreateActivationDescriptor(&cu->dnn_relu)) != CUDNN_STATUS_SUCCESS ||
             (ds = cudnnSetActivationDescriptor(cu->dnn_relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0)) !=
                 CUDNN_STATUS_SUCCESS) {
    st = vm_cuda_dnn_fail(err, ds, "setting up cuDNN");
  }
  if (st != VM_OK) {
    destroy(&cu->base);
    return st;
  }
  *out = &cu->base;
  return VM_OK;
}

/* Milliseconds between the last forward_begin and forward_end on the GPU (CUDA events); -1 when none. For the
 * benchmark, which looks this symbol up with dlsym. */
VM_EXPORT float vm_cuda_backend_last_forward_ms(vm_backend *be) {
  vm_cuda *cu = vm_cuda_of(be);
  if (!cu || !cu->timing_valid) return -1.f;
  if (cudaEventSynchronize(cu->ev_end) != cudaSuccess) return -1.f;
  float ms = -1.f;
  if (cudaEventElapsedTime(&ms, cu->ev_begin, cu->ev_end) != cudaSuccess) return -1.f;
  return ms;
}
