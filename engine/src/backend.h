/* backend.h - the interface through which the CPU and CUDA backends run the same operations.
 * Owns: vm_tensor (an NHWC view of backend memory), the op table every backend implements, and the rules below. */
#ifndef VM_BACKEND_H
#define VM_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "foreground_job.h"
#include "params.h"
#include "vitmatte.h"

/* Bumped whenever vm_backend_ops changes, so an old CUDA module is refused instead of crashing. */
#define VM_BACKEND_ABI_VERSION 6

/* Element type of a tensor. ACT is the backend's activation type (f32 on the CPU; f32, f16 or bf16 on CUDA,
 * act_size bytes each) and what every op takes. F32 exists so that what leaves the model (the alpha) is not rounded
 * to a half type (bf16 alone would round alphas near 1 by up to 2e-3): only upload, download and linear's
 * out/residual accept it; other ops refuse it unless the activation type is f32 anyway. */
typedef enum vm_elem { VM_ELEM_ACT = 0, VM_ELEM_F32 = 1 } vm_elem;

/* An NHWC tensor in backend memory: element (n, y, x, ch) is at ((n*h + y)*w + x)*c + ch.
 * A matrix of `rows` x `cols` is any shape with n*h*w == rows and c == cols. */
typedef struct vm_tensor {
  void *data;
  int64_t n, h, w, c;
  vm_elem elem; /* zero-initialised tensors are ACT */
} vm_tensor;

static inline int64_t vm_tensor_rows(const vm_tensor *t) { return t->n * t->h * t->w; }
static inline int64_t vm_tensor_numel(const vm_tensor *t) { return t->n * t->h * t->w * t->c; }

typedef enum vm_act {
  VM_ACT_NONE,
  VM_ACT_RELU,
  VM_ACT_GELU,    /* exact: 0.5 x (1 + erf(x / sqrt 2)) */
  VM_ACT_SIGMOID
} vm_act;

typedef struct vm_backend vm_backend;

/* Rules for every op:
 * - Inputs and outputs are distinct buffers unless an op says that aliasing is allowed.
 * - "residual" (may be NULL): out = residual + f(...), computed elementwise after f; residual may alias out.
 * - Ops may run asynchronously (CUDA stream order); download() and synchronize() wait.
 * - Ops check shapes they rely on and return VM_ERR_INTERNAL with a message on a mismatch.
 * - Parameters are the engine layouts of params.h, already uploaded with param_upload(). */
typedef struct vm_backend_ops {
  void (*destroy)(vm_backend *be);

  /* ---- memory ---- */
  /* Device/host memory for activations (the engine allocates one arena per resolution, then carves tensors). */
  vm_status (*alloc)(vm_backend *be, size_t bytes, void **out, vm_error *err);
  void (*free)(vm_backend *be, void *ptr);
  /* Copy a parameter (numel f32 on the host) to backend memory, converting it as the backend likes
   * (e.g. VM_PARAM_MATRIX to fp16). The returned pointer goes into vm_param.data of the context's params.
   * On the CPU the engine skips this for the model's own parameters and passes the model's host f32 arrays
   * (read only); the position tables made per resolution still come through here. */
  vm_status (*param_upload)(vm_backend *be, vm_param_kind kind, const float *host, int64_t numel, void **out,
                            vm_error *err);
  void (*param_free)(vm_backend *be, void *ptr);
  /* Host f32 <-> tensor (converting to/from the activation type). */
  vm_status (*upload)(vm_backend *be, const vm_tensor *dst, const float *src, vm_error *err);
  vm_status (*download)(vm_backend *be, const vm_tensor *src, float *dst, vm_error *err);
  vm_status (*synchronize)(vm_backend *be, vm_error *err);

  /* ---- ops ---- */

  /* out[1, H/p, W/p, C] = conv_pxp_stride_p(px[1, H, W, in_ch]) + b (+ pos[h*w, C] when pos is not NULL).
   * w is [C, p, p, in_ch]. */
  vm_status (*patch_embed)(vm_backend *be, const vm_tensor *px, const vm_param *w, const vm_param *b, int patch,
                           const vm_param *pos, const vm_tensor *out, vm_error *err);

  /* Per row of x [rows, C]: out = residual + act(LayerNorm(x) * gamma + beta), biased variance, given eps.
   * out may alias x. */
  vm_status (*layer_norm)(vm_backend *be, const vm_tensor *x, const vm_param *gamma, const vm_param *beta,
                          double eps, vm_act act, const vm_tensor *residual, const vm_tensor *out, vm_error *err);

  /* out[rows, N] = residual + act(x[rows, K] * w[N, K]^T + b). b may be NULL. out may be F32 (residual, when
   * given, has out's element type); the sum is rounded once, to out's type. */
  vm_status (*linear)(vm_backend *be, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
                      const vm_tensor *residual, const vm_tensor *out, vm_error *err);

  /* x[1, h, w, C] zero-padded at the bottom/right to multiples of ws, split into windows
   * out[nwin, ws, ws, C], windows in row-major order of the window grid. */
  vm_status (*window_partition)(vm_backend *be, const vm_tensor *x, int ws, const vm_tensor *out, vm_error *err);

  /* The inverse, cropped to out's h x w: out[1, h, w, C] = residual + unpartition(win)[:h, :w]. */
  vm_status (*window_unpartition)(vm_backend *be, const vm_tensor *win, int ws, const vm_tensor *residual,
                                  const vm_tensor *out, vm_error *err);

  /* Multi-head self-attention of each of the qkv.n images of qkv.h x qkv.w tokens.
   * qkv[n, hh, ww, 3C] holds q | k | v, head j owning channels [j*d, (j+1)*d) of each, d = C / heads.
   * scores = (q * d^-0.5) k^T + rel_h + rel_w (decomposed relative position bias, when rel_h is not NULL:
   *   for query (y1, x1) and key (y2, x2): q . Rh[y1 - y2 + hh - 1] + q . Rw[x1 - x2 + ww - 1], with the unscaled q;
   *   rel_h is [2hh-1, d] and rel_w [2ww-1, d], already resized to this grid), softmax over keys, times v.
   * out[n, hh, ww, C] with head j in channels [j*d, (j+1)*d). No masking. Must not materialise the n x heads x
   * N x N score tensor: memory O(N) per head at a time (N = hh*ww can be ~50000). */
  vm_status (*attention)(vm_backend *be, const vm_tensor *qkv, int heads, const vm_param *rel_h,
                         const vm_param *rel_w, const vm_tensor *out, vm_error *err);

  /* k x k convolution (k = 1 or 3, padding k/2, zero padding, given stride) of the channel concatenation
   * [detail, upsample_x2(low)]: detail[1, H, W, Cd] (may be NULL) first, then low[1, H/2, W/2, Cl] (may be NULL)
   * bilinearly upsampled x2 (align_corners=False, as PyTorch). At least one is given; H, W come from detail, or are
   * 2x low's. w is [Cout, k, k, Cd + Cl], b [Cout] or NULL. out[1, (H + 2*(k/2) - k)/stride + 1, ..., Cout] =
   * act(conv + b). */
  vm_status (*conv2d)(vm_backend *be, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                      const vm_param *b, int k, int stride, vm_act act, const vm_tensor *out, vm_error *err);

  /* ---- optional (NULL when not implemented) ---- */

  /* Called before and after one whole forward pass at a resolution identified by `key`. A backend that records
   * the op sequence (e.g. a CUDA graph) may return 1 from forward_begin when it has replayed a recorded pass:
   * the engine then issues no ops for that pass and calls forward_end. Return 0 to have the ops issued. */
  int (*forward_begin)(vm_backend *be, uint64_t key);
  vm_status (*forward_end)(vm_backend *be, vm_error *err);

  /* Scratch memory the backend will allocate itself for a forward pass at padded size H x W (for estimates). */
  size_t (*scratch_estimate)(vm_backend *be, const vm_config *cfg, int H, int W);

  /* Peak bytes of memory this backend has held at once (params + arena + scratch), since creation. */
  size_t (*peak_memory)(vm_backend *be);

  /* Host memory that upload/download move fastest (page-locked for CUDA: pageable memory is copied through a
   * driver buffer at a fraction of the bus speed). On failure the engine uses malloc instead. */
  vm_status (*host_alloc)(vm_backend *be, size_t bytes, void **out, vm_error *err);
  void (*host_free)(vm_backend *be, void *ptr);

  /* The device's free and total memory now, and what this backend holds of it, so that the engine can refuse an
   * image that will not fit before it allocates anything for it (a consumer card shares its memory with the
   * desktop). */
  vm_status (*memory_info)(vm_backend *be, size_t *free_bytes, size_t *total_bytes, size_t *held_bytes,
                           vm_error *err);

  /* Foreground estimation with Jacobi iterations (foreground_job.h) on the backend's device, from and to the job's
   * host buffers, calling job->progress between levels. NULL: the engine runs them on the CPU. */
  vm_status (*foreground_jacobi)(vm_backend *be, vm_fg_job *job, vm_error *err);

  /* The input of an 8-bit image, pre-processed on the device: src holds h x w pixels of 4 bytes (R, G, B, trimap;
   * rows packed; from host_alloc where possible), px[1, H, W, 4] (H >= h, W >= w) receives exactly what
   * vm_preprocess + upload give: (p - 127.5) / 127.5 for the colours and p / 255 for the trimap in f32, rounded once
   * to the activation type, zero beyond h x w. A quarter of the f32 input's bytes cross the bus. */
  vm_status (*upload_rgbt8)(vm_backend *be, const vm_tensor *px, const uint8_t *src, int h, int w, vm_error *err);

  /* The top-left width x height of alpha[1, H, W, 1] (F32) into dst, rows dst_stride floats apart, once the device
   * has checked that they are all finite: *finite = false leaves dst untouched. Saves the host a full-size copy.
   * A device fault during the copy itself (an error returned) can leave dst partly written. */
  vm_status (*download_alpha)(vm_backend *be, const vm_tensor *alpha, float *dst, size_t dst_stride, int width,
                              int height, bool *finite, vm_error *err);
} vm_backend_ops;

struct vm_backend {
  const vm_backend_ops *ops;
  size_t act_size;          /* bytes per activation element */
  vm_precision precision;   /* never AUTO */
  vm_device device;         /* CPU or CUDA */
  char name[128];           /* "CPU, 2 threads", "NVIDIA H100 80GB HBM3" */
};

static inline size_t vm_tensor_elem_size(const vm_backend *be, const vm_tensor *t) {
  return t->elem == VM_ELEM_F32 ? sizeof(float) : be->act_size;
}

/* The CPU backend (kernels/cpu). threads <= 0: all cores. */
vm_status vm_cpu_backend_create(int threads, vm_backend **out, vm_error *err);

/* The CUDA backend lives in a module loaded at run time (libvitmatte-cuda.so) that exports these two symbols. */
#define VM_CUDA_MODULE_NAME "libvitmatte-cuda.so"
#define VM_CUDA_ABI_SYMBOL "vm_cuda_backend_abi"
#define VM_CUDA_CREATE_SYMBOL "vm_cuda_backend_create"
typedef int (*vm_cuda_backend_abi_fn)(void);
/* precision is FP32, FP16 or BF16. Fails with VM_ERR_DEVICE (no driver / no GPU, with the reason). */
typedef vm_status (*vm_cuda_backend_create_fn)(int device_ordinal, vm_precision precision, vm_backend **out,
                                               vm_error *err);

#endif
