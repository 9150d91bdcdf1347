// foreground.cu - the multi-level foreground estimation (Germer et al. 2020) on the GPU, Jacobi iterations.
// Owns: the backend op foreground_jacobi: device buffers, the level loop (foreground_job.h), the resampling and
// iteration kernels, progress and cancel between levels.
#include "cuda_backend.h"

namespace {

// Products and sums rounded one by one (no fused multiply-add), so the kernel computes exactly what the CPU's
// Jacobi sweep (engine/src/foreground_cpu.c) and the NumPy reference compute.
__device__ __forceinline__ float mul(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ float add(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ float sub(float a, float b) { return __fsub_rn(a, b); }

// dst (wd x hd x D) = nearest-neighbour resampling of src (ws x hs x D), pymatting's index rule (vm_fg_nearest).
template <int D>
__global__ void resize_nearest(float *__restrict__ dst, int wd, int hd, const float *__restrict__ src, int ws,
                               int hs) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= wd || y >= hd) return;
  const float *s = src + ((size_t)vm_fg_nearest(y, hs, hd) * ws + vm_fg_nearest(x, ws, wd)) * D;
  float *d = dst + ((size_t)y * wd + x) * D;
#pragma unroll
  for (int c = 0; c < D; c++) d[c] = s[c];
}

// One Jacobi iteration: (F, B) from the previous iterate (Fp, Bp), in the order of pymatting's CuPy kernel:
// neighbours left, right, up, down (edges repeated), d = reg + gw |a - a_j|, the 2x2 solve, clamped to [0, 1].
template <int D>
__global__ void jacobi_iteration(float *__restrict__ F, float *__restrict__ B, const float *__restrict__ Fp,
                                 const float *__restrict__ Bp, const float *__restrict__ I,
                                 const float *__restrict__ A, int w, int h, float reg, float gw) {
  const int x = blockIdx.x * blockDim.x + threadIdx.x, y = blockIdx.y * blockDim.y + threadIdx.y;
  if (x >= w || y >= h) return;
  const size_t i = (size_t)y * w + x;
  const size_t j[4] = {x > 0 ? i - 1 : i, x < w - 1 ? i + 1 : i, y > 0 ? i - w : i, y < h - 1 ? i + w : i};
  const float a0 = A[i], a1 = sub(1.0f, a0);
  float b0[D], b1[D], a_sum = 0.0f;
#pragma unroll
  for (int c = 0; c < D; c++) {
    const float v = I[i * D + c];
    b0[c] = mul(a0, v);
    b1[c] = mul(a1, v);
  }
#pragma unroll
  for (int d = 0; d < 4; d++) {
    const float da = add(reg, mul(gw, fabsf(sub(a0, A[j[d]]))));
    a_sum = add(a_sum, da);
#pragma unroll
    for (int c = 0; c < D; c++) {
      b0[c] = add(b0[c], mul(da, Fp[j[d] * D + c]));
      b1[c] = add(b1[c], mul(da, Bp[j[d] * D + c]));
    }
  }
  const float a00 = add(mul(a0, a0), a_sum), a11 = add(mul(a1, a1), a_sum), a01 = mul(a0, a1);
  const float inv = __fdiv_rn(1.0f, sub(mul(a00, a11), mul(a01, a01)));
#pragma unroll
  for (int c = 0; c < D; c++) {
    F[i * D + c] = fmaxf(0.0f, fminf(1.0f, mul(inv, sub(mul(a11, b0[c]), mul(a01, b1[c])))));
    B[i * D + c] = fmaxf(0.0f, fminf(1.0f, mul(inv, sub(mul(a00, b1[c]), mul(a01, b0[c])))));
  }
}

struct fg_buffers {
  float *image, *alpha;       // the full-size input
  float *level_image, *level_alpha; // resampled to a level below the top
  float *F[2], *B[2];         // the previous/current iterate, alternating
};

const dim3 kBlock(32, 8);

dim3 grid_for(int w, int h) { return dim3((unsigned)((w + 31) / 32), (unsigned)((h + 7) / 8)); }

template <int D> void launch_resize(cudaStream_t s, float *dst, int wd, int hd, const float *src, int ws, int hs) {
  resize_nearest<D><<<grid_for(wd, hd), kBlock, 0, s>>>(dst, wd, hd, src, ws, hs);
}

void resize(cudaStream_t s, int D, float *dst, int wd, int hd, const float *src, int ws, int hs) {
  if (D == 3)
    launch_resize<3>(s, dst, wd, hd, src, ws, hs);
  else
    launch_resize<1>(s, dst, wd, hd, src, ws, hs);
}

void iterate(cudaStream_t s, int D, float *F, float *B, const float *Fp, const float *Bp, const float *I,
             const float *A, int w, int h, float reg, float gw) {
  if (D == 3)
    jacobi_iteration<3><<<grid_for(w, h), kBlock, 0, s>>>(F, B, Fp, Bp, I, A, w, h, reg, gw);
  else
    jacobi_iteration<1><<<grid_for(w, h), kBlock, 0, s>>>(F, B, Fp, Bp, I, A, w, h, reg, gw);
}

vm_status run_levels(vm_cuda *cu, vm_fg_job *job, fg_buffers *b, cudaEvent_t ev[2], vm_error *err) {
  const int W = job->width, H = job->height, D = job->depth, n = vm_fg_level_count(W, H);
  const size_t full = (size_t)W * H;
  cudaStream_t s = cu->stream;
  VM_CU(cudaMemcpyAsync(b->image, job->image, sizeof(float) * full * D, cudaMemcpyHostToDevice, s), "uploading the image");
  VM_CU(cudaMemcpyAsync(b->alpha, job->alpha, sizeof(float) * full, cudaMemcpyHostToDevice, s), "uploading the alpha");
  // the 1 x 1 start: the mean colours
  VM_CU(cudaMemcpyAsync(b->F[0], job->f_mean, sizeof(float) * D, cudaMemcpyHostToDevice, s), "uploading F");
  VM_CU(cudaMemcpyAsync(b->B[0], job->b_mean, sizeof(float) * D, cudaMemcpyHostToDevice, s), "uploading B");
  VM_CU(cudaEventRecord(ev[0], s), "cudaEventRecord");
  const double total = vm_fg_total_work(job);
  double done = 0;
  int cur = 0, pw = 1, ph = 1; // F[cur], B[cur] hold the previous level
  for (int i = 0; i <= n; i++) {
    const int w = vm_fg_level_side(W, i, n), h = vm_fg_level_side(H, i, n);
    const float *I = b->image, *A = b->alpha;
    if (i < n) {
      resize(s, D, b->level_image, w, h, b->image, W, H);
      resize(s, 1, b->level_alpha, w, h, b->alpha, W, H);
      I = b->level_image;
      A = b->level_alpha;
    }
    resize(s, D, b->F[1 - cur], w, h, b->F[cur], pw, ph);
    resize(s, D, b->B[1 - cur], w, h, b->B[cur], pw, ph);
    cur = 1 - cur;
    const int iters = vm_fg_iterations(job, w, h);
    for (int it = 0; it < iters; it++) {
      iterate(s, D, b->F[1 - cur], b->B[1 - cur], b->F[cur], b->B[cur], I, A, w, h, job->regularization,
              job->gradient_weight);
      cur = 1 - cur;
    }
    VM_TRY(vm_cuda_launch_check(err, "the foreground estimation kernels"));
    done += (double)w * h * (iters + 1);
    pw = w;
    ph = h;
    // small levels take microseconds: no waiting for them; the top level reports after its download
    if (job->progress && i < n && (size_t)w * h >= (1u << 18)) {
      VM_CU(cudaStreamSynchronize(s), "the foreground estimation");
      if (job->progress(job->progress_user, done / total)) return vm_fail(err, VM_ERR_CANCELLED, "cancelled");
    }
  }
  VM_CU(cudaEventRecord(ev[1], s), "cudaEventRecord");
  VM_CU(cudaStreamSynchronize(s), "the foreground estimation");
  // the last chance to cancel comes before the caller's buffers are written: a cancelled call leaves them untouched
  if (job->progress && job->progress(job->progress_user, 1.0)) return vm_fail(err, VM_ERR_CANCELLED, "cancelled");
  // straight into the caller's rows (pageable memory: a one-off copy costs less than page-locking a staging buffer)
  const size_t row = sizeof(float) * (size_t)W * D;
  VM_CU(cudaMemcpy2DAsync(job->foreground, sizeof(float) * job->foreground_stride, b->F[cur], row, row, (size_t)H,
                          cudaMemcpyDeviceToHost, s),
        "downloading F");
  if (job->background)
    VM_CU(cudaMemcpy2DAsync(job->background, sizeof(float) * job->background_stride, b->B[cur], row, row, (size_t)H,
                            cudaMemcpyDeviceToHost, s),
          "downloading B");
  VM_CU(cudaStreamSynchronize(s), "the foreground estimation");
  float ms = -1.f;
  if (cudaEventElapsedTime(&ms, ev[0], ev[1]) == cudaSuccess) job->device_ms = ms;
  return VM_OK;
}

} // namespace

vm_status vm_cuda_foreground_jacobi(vm_backend *be, vm_fg_job *job, vm_error *err) {
  vm_cuda *cu = vm_cuda_of(be);
  (void)cudaSetDevice(cu->device);
  if (vm_cuda_capturing(cu))
    return vm_fail(err, VM_ERR_INTERNAL, "foreground estimation called while a forward pass is being recorded");
  job->device_ms = -1.f;
  const int W = job->width, H = job->height, D = job->depth, n = vm_fg_level_count(W, H);
  const size_t full = (size_t)W * H;
  size_t small = 1; // pixels of the largest level below the top
  for (int i = 0; i < n; i++) {
    const size_t px = (size_t)vm_fg_level_side(W, i, n) * (size_t)vm_fg_level_side(H, i, n);
    if (px > small) small = px;
  }
  fg_buffers b = {};
  struct {
    float **p;
    size_t floats;
    const char *what;
  } need[] = {
      {&b.image, full * D, "the foreground estimation's image"},
      {&b.alpha, full, "the foreground estimation's alpha"},
      {&b.level_image, small * D, "the foreground estimation's level image"},
      {&b.level_alpha, small, "the foreground estimation's level alpha"},
      {&b.F[0], full * D, "the foreground estimation's F"},
      {&b.F[1], full * D, "the foreground estimation's F"},
      {&b.B[0], full * D, "the foreground estimation's B"},
      {&b.B[1], full * D, "the foreground estimation's B"},
  };
  // its own events: the backend's pair times forward passes for the benchmark
  cudaEvent_t ev[2] = {NULL, NULL};
  cudaError_t e = cudaEventCreate(&ev[0]);
  if (e == cudaSuccess) e = cudaEventCreate(&ev[1]);
  vm_status st = e == cudaSuccess ? VM_OK : vm_cuda_rt_fail(err, e, "cudaEventCreate");
  for (auto &k : need) {
    if (st != VM_OK) break;
    void *p = NULL;
    st = vm_cuda_malloc(cu, sizeof(float) * k.floats, k.what, &p, err);
    if (st == VM_OK) *k.p = (float *)p;
  }
  if (st == VM_OK) st = run_levels(cu, job, &b, ev, err);
  if (st != VM_OK) (void)cudaStreamSynchronize(cu->stream); // nothing may still use the buffers freed below
  for (auto &k : need)
    if (*k.p) vm_cuda_release(cu, *k.p);
  for (cudaEvent_t x : ev)
    if (x) (void)cudaEventDestroy(x);
  return st;
}
