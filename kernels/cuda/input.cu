// The model's input and output at the device's edge: 8-bit pixels pre-processed on the GPU, the alpha checked and
// cropped on the GPU and copied straight into the caller's rows (what vm_predict spends beyond the forward pass).
#include "act_types.cuh"
#include "cuda_backend.h"

/* Rows [y0, y0 + rows) of px (width W) from `rows` packed rows of w RGBT pixels; columns from w on are the padding.
 * The arithmetic is vm_preprocess's, in the same f32 operations (IEEE division: the module is built without
 * fast-math), so fp32 inputs are bit-identical and half types get the one rounding that upload() applies. */
template <typename T>
__global__ void rgbt8_to_act(const uchar4 *__restrict__ src, T *__restrict__ px, int64_t y0, int rows, int w, int W) {
  const int64_t n = (int64_t)rows * W;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t r = i / W;
    const int x = (int)(i - r * W);
    float v[4] = {0.f, 0.f, 0.f, 0.f};
    if (x < w) {
      const uchar4 p = src[r * w + x];
      v[0] = ((float)p.x - 127.5f) / 127.5f;
      v[1] = ((float)p.y - 127.5f) / 127.5f;
      v[2] = ((float)p.z - 127.5f) / 127.5f;
      v[3] = (float)p.w / 255.0f;
    }
    T *d = px + ((y0 + r) * W + x) * 4;
    for (int c = 0; c < 4; c++) d[c] = vm_from_f32<T>(v[c]);
  }
}

/* *flag = 1 when any of the top-left width x height values of a row-major W-wide f32 image is not finite. */
__global__ void any_not_finite(const float *__restrict__ a, int W, int width, int64_t height, int *flag) {
  const int64_t n = height * width;
  int bad = 0;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
    const int64_t y = i / width;
    bad |= !isfinite(a[y * W + (i - y * width)]);
  }
  if (__syncthreads_or(bad) && threadIdx.x == 0) *flag = 1;
}

vm_status vm_cuda_upload_rgbt8(vm_backend *be, const vm_tensor *px, const uint8_t *src, int h, int w, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  (void)cudaSetDevice(cu->device);
  if (!px->data || !src) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "upload_rgbt8: NULL buffer");
  if (px->n != 1 || px->c != 4 || h < 1 || w < 1 || h > px->h || w > px->w || px->elem != VM_ELEM_ACT)
    return vm_fail(err, VM_ERR_INTERNAL, "upload_rgbt8: a %d x %d image does not fit the input [%lld, %lld, %lld, %lld]",
                   w, h, (long long)px->n, (long long)px->h, (long long)px->w, (long long)px->c);
  /* While the main stream records a pass, copy on the side stream now (as upload() does). */
  const bool side = vm_cuda_capturing(cu);
  cudaStream_t st = side ? cu->side : cu->stream;
  const int W = (int)px->w;
  const size_t row_bytes = (size_t)w * 4;
  /* the bottom padding rows: zero bits are +0 in f32, f16 and bf16 alike */
  if (px->h > h)
    VM_CU(cudaMemsetAsync((char *)px->data + (size_t)h * W * 4 * be->act_size, 0,
                          (size_t)(px->h - h) * W * 4 * be->act_size, st),
          "clearing the input's padding");
  /* Bands of rows through the existing staging buffer (16 MiB: 4 M pixels), so no new device memory is needed. */
  int band = (int)((size_t)VM_CUDA_STAGING_FLOATS * 4 / row_bytes);
  if (band < 1) band = 1;
  if (band > h) band = h;
  VM_TRY(vm_cuda_scratch_reserve(cu, &cu->staging, (size_t)band * row_bytes, "the upload staging buffer", err));
  for (int y0 = 0; y0 < h; y0 += band) {
    const int rows = h - y0 < band ? h - y0 : band;
    /* Stream order keeps this copy behind the kernel that still reads the staging buffer. */
    VM_CU(cudaMemcpyAsync(cu->staging.ptr, src + (size_t)y0 * row_bytes, (size_t)rows * row_bytes,
                          cudaMemcpyHostToDevice, st),
          "copy to the GPU");
    vm_status s = vm_dispatch(cu->base.precision, [&](auto tag) -> vm_status {
      typedef typename decltype(tag)::type T;
      rgbt8_to_act<T><<<vm_grid_for((int64_t)rows * W, 256), 256, 0, st>>>((const uchar4 *)cu->staging.ptr,
                                                                            (T *)px->data, y0, rows, w, W);
      return vm_cuda_launch_check(err, "input pre-processing");
    });
    VM_TRY(s);
  }
  if (side) VM_CU(cudaStreamSynchronize(cu->side), "upload");
  return VM_OK;
}

vm_status vm_cuda_download_alpha(vm_backend *be, const vm_tensor *alpha, float *dst, size_t dst_stride, int width,
                                 int height, bool *finite, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  (void)cudaSetDevice(cu->device);
  *finite = false;
  VM_TRY(vm_cuda_pass_flush(cu, err));
  if (!alpha->data || !dst) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "download_alpha: NULL buffer");
  if (alpha->elem != VM_ELEM_F32 && be->act_size != 4)
    return vm_fail(err, VM_ERR_INTERNAL, "download_alpha: the alpha must be f32");
  if (alpha->n != 1 || alpha->c != 1 || width < 1 || height < 1 || width > alpha->w || height > alpha->h ||
      dst_stride < (size_t)width)
    return vm_fail(err, VM_ERR_INTERNAL, "download_alpha: %d x %d (stride %zu) from an alpha of %lld x %lld", width,
                   height, dst_stride, (long long)alpha->w, (long long)alpha->h);
  VM_TRY(vm_cuda_scratch_reserve(cu, &cu->staging, sizeof(int), "the download staging buffer", err));
  int *flag = (int *)cu->staging.ptr;
  VM_CU(cudaMemsetAsync(flag, 0, sizeof(int), cu->stream), "clearing a flag");
  any_not_finite<<<vm_grid_for((int64_t)width * height, 256), 256, 0, cu->stream>>>(
      (const float *)alpha->data, (int)alpha->w, width, height, flag);
  VM_TRY(vm_cuda_launch_check(err, "the alpha's finiteness check"));
  int bad = 1;
  VM_CU(cudaMemcpyAsync(&bad, flag, sizeof(int), cudaMemcpyDeviceToHost, cu->stream), "copy from the GPU");
  VM_CU(cudaStreamSynchronize(cu->stream), "copy from the GPU");
  if (bad) return VM_OK;
  VM_CU(cudaMemcpy2DAsync(dst, dst_stride * sizeof(float), alpha->data, (size_t)alpha->w * sizeof(float),
                          (size_t)width * sizeof(float), (size_t)height, cudaMemcpyDeviceToHost, cu->stream),
        "copy from the GPU");
  VM_CU(cudaStreamSynchronize(cu->stream), "copy from the GPU");
  *finite = true;
  return VM_OK;
}
