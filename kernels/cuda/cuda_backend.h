/* cuda_backend.h - the CUDA backend's private state, shared by the source files of libvitmatte-cuda.so.
 * Owns: struct vm_cuda (stream, library handles, memory accounting, scratch buffers, plan caches, graph cache). */
#ifndef VM_CUDA_BACKEND_H
#define VM_CUDA_BACKEND_H

#include <cublasLt.h>
#include <cuda_runtime.h>
#include <cudnn.h>

extern "C" {
#include "backend.h"
#include "error.h"
}

/* One cudaMalloc the backend made, so free() knows how much it gives back. */
struct vm_cuda_block {
  void *ptr;
  size_t size;
};

/* A device buffer that only grows (cuBLASLt / cuDNN workspaces, staging, band buffers). */
struct vm_cuda_scratch {
  void *ptr;
  size_t size;
};

/* A cuBLASLt matmul set up once per shape: descriptors + the algorithm the heuristic chose. */
struct vm_cuda_lt_plan {
  bool used;
  uint64_t stamp;
  int64_t rows, n, k;
  int epilogue;     /* cublasLtEpilogue_t */
  int with_c;       /* 1: D = A B + C */
  int cd_f32;       /* 1: C and D are f32 (A and B in the activation type) */
  int align_key;    /* the pointer alignments the algorithm was chosen for */
  cublasLtMatmulDesc_t op;
  cublasLtMatrixLayout_t a, b, c;
  cublasLtMatmulAlgo_t algo;
};

/* A cuDNN convolution set up once per shape. */
struct vm_cuda_conv_plan {
  bool used;
  uint64_t stamp;
  int h, w, cin, cout, k, stride, pad_h, pad_w;
  bool nchw; /* the cuDNN call's layout (fp32 bands with VITMATTE_CUDA_CONV_LAYOUT=nchw) */
  cudnnConvolutionFwdAlgo_t algo;
  int math; /* cudnnMathType_t */
  size_t workspace;
  int fused; /* bias + ReLU inside cuDNN's call: 0 not tried yet, 1 taken, -1 refused (a separate epilogue) */
};

/* A weight re-laid out for a convolution (channels padded 68 -> 72 for cuDNN, or the tensor-core kernel's layout),
 * made once per weight on first use (derived_weight.cuh); cin and cin_padded are the two layout keys. */
struct vm_cuda_padded_weight {
  const void *src;
  int cin, cin_padded;
  void *data;
  size_t size;
};

/* One recorded forward pass (a CUDA graph) per resolution key. */
struct vm_cuda_graph_entry {
  bool used;
  uint64_t key;
  uint64_t stamp;
  long ops_expected;        /* op count of the last uncaptured pass at this key */
  cudaGraphExec_t exec;     /* NULL until captured */
};

enum vm_cuda_pass_state {
  VM_PASS_NONE,      /* no forward_begin in effect: ops run as issued */
  VM_PASS_EAGER,     /* ops run as issued; their count is remembered for the key */
  VM_PASS_CAPTURING, /* ops are being recorded into a graph */
  VM_PASS_REPLAY,    /* a recorded graph stands in for the ops; it is launched at the next sync point */
  VM_PASS_LAUNCHED   /* the pass's work is on the stream */
};

#define VM_CUDA_LT_PLANS 96
#define VM_CUDA_CONV_PLANS 48
#define VM_CUDA_PADDED 32
#define VM_CUDA_GRAPHS 6

struct vm_cuda {
  vm_backend base; /* first, so a vm_backend * is a vm_cuda * */
  int device;
  /* what the card and the loaded code allow (device_limits.cu) */
  int cc;              /* compute capability x 10 (86 for an RTX 3060) */
  int code_arch;       /* architecture of the code the driver loaded x 10 (75 for compute_75 PTX on any card) */
  int sm_count;
  size_t smem_optin;   /* largest dynamic shared memory one block may ask for */
  size_t smem_per_sm;  /* shared memory of one SM */
  size_t smem_reserved; /* shared memory the driver reserves per block on top of what it asks for (1 KB on sm_80+) */
  bool mma;            /* code_arch >= 80: the mma.sync m16n8k16 kernels (attention_tc, conv_tc) exist */
  cudaStream_t stream; /* every op runs here, in order */
  cudaStream_t side;   /* uploads made while the main stream is being captured */
  cublasLtHandle_t lt;
  cudnnHandle_t dnn;
  cudnnTensorDescriptor_t dnn_x, dnn_y, dnn_b; /* dnn_b: a convolution's bias, 1 x C x 1 x 1 */
  cudnnFilterDescriptor_t dnn_w;
  cudnnConvolutionDescriptor_t dnn_conv;
  cudnnActivationDescriptor_t dnn_relu;

  /* memory accounting: every device allocation the backend holds */
  vm_cuda_block *blocks;
  int nblocks, cap_blocks;
  size_t in_use, peak;

  vm_cuda_scratch ws_lt;    /* cuBLASLt workspace */
  vm_cuda_scratch ws_dnn;   /* cuDNN workspace */
  vm_cuda_scratch staging;  /* f32 staging for uploads/downloads in fp16/bf16 */
  vm_cuda_scratch band;     /* im2col bands (patch embedding) and concat bands (decoder convs) */
  vm_cuda_scratch tmp;      /* linear with both an activation and a residual */
  vm_cuda_scratch attn_bias;/* per resident attention block: the bias_h table of global layers */
  vm_cuda_scratch conv_t;   /* a band's output rows in NCHW (conv_nchw) */
  /* scratch replaced while a capture was running: freed once the capture has ended */
  void *deferred[8];
  size_t deferred_size[8];
  int ndeferred;

  uint64_t clock; /* use counter for the caches' least-recently-used eviction */
  vm_cuda_lt_plan lt_plans[VM_CUDA_LT_PLANS];
  vm_cuda_conv_plan conv_plans[VM_CUDA_CONV_PLANS];
  vm_cuda_padded_weight padded[VM_CUDA_PADDED];

  /* forward-pass recording */
  vm_cuda_graph_entry graphs[VM_CUDA_GRAPHS];
  int pass_state;
  int pass_entry;      /* index into graphs, -1 when none */
  long pass_ops;       /* ops issued since forward_begin */
  cudaEvent_t ev_begin, ev_end;
  bool timing_valid;
  int graphs_disabled;        /* VITMATTE_CUDA_GRAPHS=0 */
  int attention_generic_only; /* VITMATTE_CUDA_ATTENTION=generic: the fp32-arithmetic kernel in every precision */
  int attention_no_wgmma;     /* VITMATTE_CUDA_ATTENTION=mma: the mma.sync kernel for the global layers too */
  int attention_turing_mma;   /* VITMATTE_CUDA_ATTENTION=turing-mma: on Turing code the fp16 attention on the mma.sync
                               * kernel as m16n8k8 pairs (opt-in until a GPU run has checked and timed it) */
  int attention_compact_smem; /* VITMATTE_CUDA_ATTN_SMEM=compact: the mma.sync kernel with Q in K's second stage and
                               * block tiles' compact bias strides (two blocks an SM on consumer cards; opt-in until a
                               * GPU run has checked and timed it) */
  const char *last_attention; /* the kernel the last attention op ran (the op suite prints it) */
  int attention_f32_tc;       /* VITMATTE_CUDA_ATTN_F32=ffma (0)|tc (1)|auto (-1, the default: the 3xTF32 tensor-core
                               * kernel on data-centre cards, the CUDA-core kernels elsewhere) */
  int gemm_f32_tc;            /* VITMATTE_CUDA_GEMM_F32=cublas (0)|tc (1)|auto (-1, the default): fp32 products on the
                               * TF32 tensor cores in three products (gemm_f32tc.cu), by default those of at least
                               * VM_GEMM_F32TC_MIN_ROWS rows on data-centre cards */
  int attention_f32_tc_no_blocks; /* VITMATTE_CUDA_ATTN_F32_BLOCKS=0: the 3xTF32 kernel for the global layers of
                                   * images 64+ tokens wide only (windows and small images: the generic kernel) */
  int attention_rows;         /* VITMATTE_CUDA_ATTN_ROWS=off (0)|4|8|auto (-1, the default): the fp32 register-tiled
                               * kernel's rows a thread */
  int sm90;                   /* compute capability 9.0 and a build with sm_90a code: the wgmma kernels run */
  size_t band_limit;          /* bytes of a concat/im2col band; VITMATTE_CUDA_BAND_BYTES overrides (tests) */
  int conv_cudnn_only;        /* VITMATTE_CUDA_CONV=cudnn: every convolution through cuDNN */
  int conv_find;              /* VITMATTE_CUDA_CONV_ALGO=find: cuDNN algorithms timed, not picked by heuristic */
  int conv_any_algo;          /* VITMATTE_CUDA_CONV_ALGO=any: find, with Winograd and FFT allowed (measurements) */
  int conv_nchw;              /* fp32 3x3 convolutions through cuDNN in NCHW: VM_CONV_NCHW_* (VITMATTE_CUDA_CONV_LAYOUT) */
  size_t conv_ws_cap;         /* cuDNN workspace an algorithm may ask; VITMATTE_CUDA_CONV_WORKSPACE_MB overrides */
};

static inline vm_cuda *vm_cuda_of(vm_backend *be) { return (vm_cuda *)be; }

/* The slot a cache of n entries (with `used` and `stamp` members) gives a new key: the first unused one, else the
 * least recently used. */
template <typename E> static inline int vm_cuda_lru_slot(const E *entries, int n) {
  int slot = 0;
  for (int i = 0; i < n; i++) {
    if (!entries[i].used) return i;
    if (entries[i].stamp < entries[slot].stamp) slot = i;
  }
  return slot;
}

/* Ops other than linear, upload and download take activation-type tensors only (backend.h); NULL entries skipped.
 * In fp32 mode F32 is the activation type. */
static inline vm_status vm_cuda_require_act(const vm_cuda *cu, const char *op, const vm_tensor *a, const vm_tensor *b,
                                            const vm_tensor *c, vm_error *err) {
  const vm_tensor *t[3] = {a, b, c};
  for (int i = 0; i < 3; i++)
    if (t[i] && t[i]->elem != VM_ELEM_ACT && cu->base.act_size != 4)
      return vm_fail(err, VM_ERR_INTERNAL, "%s: takes activation-type tensors only, got an f32 one", op);
  return VM_OK;
}

/* ---- errors (cuda_status.cu) ---- */
vm_status vm_cuda_rt_fail(vm_error *err, cudaError_t e, const char *what);
vm_status vm_cuda_lt_fail(vm_error *err, cublasStatus_t s, const char *what);
vm_status vm_cuda_dnn_fail(vm_error *err, cudnnStatus_t s, const char *what);
/* After a kernel launch: the launch error, if any. */
vm_status vm_cuda_launch_check(vm_error *err, const char *kernel);

#define VM_CU(call, what)                                              \
  do {                                                                 \
    cudaError_t vm_e_ = (call);                                        \
    if (vm_e_ != cudaSuccess) return vm_cuda_rt_fail(err, vm_e_, what); \
  } while (0)
#define VM_LT(call, what)                                                          \
  do {                                                                             \
    cublasStatus_t vm_s_ = (call);                                                 \
    if (vm_s_ != CUBLAS_STATUS_SUCCESS) return vm_cuda_lt_fail(err, vm_s_, what); \
  } while (0)
#define VM_DNN(call, what)                                                          \
  do {                                                                              \
    cudnnStatus_t vm_s_ = (call);                                                   \
    if (vm_s_ != CUDNN_STATUS_SUCCESS) return vm_cuda_dnn_fail(err, vm_s_, what); \
  } while (0)
#define VM_TRY(expr)                      \
  do {                                    \
    vm_status vm_st_ = (expr);            \
    if (vm_st_ != VM_OK) return vm_st_;   \
  } while (0)

/* ---- the card's limits (device_limits.cu) ---- */
/* Fills cc, code_arch, sm_count, the shared-memory limits and the kernel switches; fails (VM_ERR_DEVICE) when the
 * module holds no code the card can run. */
vm_status vm_cuda_limits_init(vm_cuda *cu, const cudaDeviceProp *prop, vm_error *err);
/* Blocks of `kernel` (threads per block, dynamic shared memory smem) that fit on one SM, within the shared-memory
 * limits above; 0 when smem exceeds the per-block limit. Errors of the query are returned, never swallowed. */
vm_status vm_cuda_blocks_per_sm(const vm_cuda *cu, const void *kernel, int threads, size_t smem, int *blocks,
                                vm_error *err);
/* Whether fp32 global attention runs on the TF32 tensor cores (attention_f32tc.cu) on this context: sm_80+ code on a
 * data-centre card, or forced with VITMATTE_CUDA_ATTN_F32=tc; never with =ffma, ROWS=off or ATTENTION=generic. */
bool vm_cuda_f32_attention_tc(const vm_cuda *cu);
bool vm_cuda_tf32_fast(const vm_cuda *cu); /* a data-centre card: TF32 tensor cores several times the fp32 rate */
/* fp32 products may take the 3xTF32 kernel (gemm_f32tc.cu; by default those of VM_GEMM_F32TC_MIN_ROWS+ rows) */
bool vm_cuda_f32_gemm_tc(const vm_cuda *cu);
/* fp16 attention on Turing code through the mma.sync kernel as m16n8k8 pairs (VITMATTE_CUDA_ATTENTION=turing-mma) */
bool vm_cuda_attention_turing_mma(const vm_cuda *cu);

/* The kernels this backend runs, in words ("mma.sync attention and convolutions"). */
const char *vm_cuda_path_name(const vm_cuda *cu);

/* ---- memory (cuda_memory.cu) ---- */
/* cudaMalloc with accounting; VM_ERR_DEVICE_OUT_OF_MEMORY says how much was needed and how much is free. */
vm_status vm_cuda_malloc(vm_cuda *cu, size_t bytes, const char *what, void **out, vm_error *err);
void vm_cuda_release(vm_cuda *cu, void *ptr);
/* Make `s` at least `bytes` large (keeps its contents only when it does not grow). */
vm_status vm_cuda_scratch_reserve(vm_cuda *cu, vm_cuda_scratch *s, size_t bytes, const char *what, vm_error *err);
void vm_cuda_scratch_release(vm_cuda *cu, vm_cuda_scratch *s);
/* Where a VECTOR parameter's copy in the activation type lives (fp16/bf16 only): after the f32 values. */
static inline size_t vm_cuda_shadow_offset(int64_t numel) { return ((size_t)numel * 4 + 255) & ~(size_t)255; }
static inline const void *vm_cuda_vector_shadow(const vm_cuda *cu, const vm_param *p) {
  if (!p || !p->data || cu->base.act_size == 4) return p ? p->data : NULL;
  return (const char *)p->data + vm_cuda_shadow_offset(p->numel);
}

vm_status vm_cuda_alloc(vm_backend *be, size_t bytes, void **out, vm_error *err);
void vm_cuda_free(vm_backend *be, void *ptr);
vm_status vm_cuda_param_upload(vm_backend *be, vm_param_kind kind, const float *host, int64_t numel, void **out,
                               vm_error *err);
void vm_cuda_param_free(vm_backend *be, void *ptr);
vm_status vm_cuda_upload(vm_backend *be, const vm_tensor *dst, const float *src, vm_error *err);
vm_status vm_cuda_download(vm_backend *be, const vm_tensor *src, float *dst, vm_error *err);
vm_status vm_cuda_synchronize(vm_backend *be, vm_error *err);
size_t vm_cuda_peak_memory(vm_backend *be);
vm_status vm_cuda_memory_info(vm_backend *be, size_t *free_bytes, size_t *total_bytes, size_t *held_bytes,
                              vm_error *err);
vm_status vm_cuda_host_alloc(vm_backend *be, size_t bytes, void **out, vm_error *err);
void vm_cuda_host_free(vm_backend *be, void *ptr);
size_t vm_cuda_scratch_estimate(vm_backend *be, const vm_config *cfg, int H, int W);

/* ---- forward-pass recording (cuda_graph.cu) ---- */
int vm_cuda_forward_begin(vm_backend *be, uint64_t key);
vm_status vm_cuda_forward_end(vm_backend *be, vm_error *err);
/* Called by download/synchronize: puts a captured or replayed pass on the stream. */
vm_status vm_cuda_pass_flush(vm_cuda *cu, vm_error *err);
/* Every op calls this first: counts ops and refuses ops while a replay stands in for them. */
vm_status vm_cuda_op_enter(vm_cuda *cu, vm_error *err);
/* Drop every recorded graph (memory they point into is going away). */
void vm_cuda_graphs_invalidate(vm_cuda *cu);
bool vm_cuda_capturing(const vm_cuda *cu);

/* ---- caches (gemm.cu, conv2d.cu) ---- */
void vm_cuda_gemm_plans_release(vm_cuda *cu);
void vm_cuda_conv_plans_release(vm_cuda *cu);

/* Scratch limits (the estimate relies on them): host data moves through the device in 16 MiB chunks; the im2col
 * band of the patch embedding and the concat band of the decoder convolutions stay bounded, so a 12 MP image needs
 * no full-size gather or concat buffer; cuDNN algorithms that want more workspace than the cap are skipped. */
#define VM_CUDA_LT_WORKSPACE (32u << 20)
#define VM_CUDA_PATCH_BAND_BYTES (32u << 20)
#define VM_CUDA_CONV_BAND_BYTES (64u << 20)
#define VM_CUDA_CONV_WORKSPACE_CAP (64u << 20)
/* fp32: larger workspaces (H100, the convstream's NHWC convolutions at 1024^2: 0.86 ms within 64 MB, 0.58 within
 * 256; 2 GB gains 1.7% more at 2048^2 but the memory check would count 1.75 GB more) */
#define VM_CUDA_CONV_WORKSPACE_CAP_F32 (256u << 20)
#define VM_CUDA_STAGING_FLOATS (4 << 20)

/* cu->conv_nchw: which fp32 3x3 convolutions cuDNN runs in NCHW (H100: its fp32 kernels for the fusion blocks and the
 * head are up to twice as fast as in NHWC; the strided convstream ones are faster in NHWC, issue 14); the band is
 * written in NCHW and the output rows read back into NHWC */
enum { VM_CONV_NCHW_NONE = 0, VM_CONV_NCHW_STRIDE1 = 1, VM_CONV_NCHW_ALL = 2 };

/* ---- ops ---- */
vm_status vm_cuda_patch_embed(vm_backend *be, const vm_tensor *px, const vm_param *w, const vm_param *b, int patch,
                              const vm_param *pos, const vm_tensor *out, vm_error *err);
vm_status vm_cuda_layer_norm(vm_backend *be, const vm_tensor *x, const vm_param *gamma, const vm_param *beta,
                             double eps, vm_act act, const vm_tensor *residual, const vm_tensor *out, vm_error *err);
vm_status vm_cuda_linear(vm_backend *be, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
                         const vm_tensor *residual, const vm_tensor *out, vm_error *err);
vm_status vm_cuda_window_partition(vm_backend *be, const vm_tensor *x, int ws, const vm_tensor *out, vm_error *err);
vm_status vm_cuda_window_unpartition(vm_backend *be, const vm_tensor *win, int ws, const vm_tensor *residual,
                                     const vm_tensor *out, vm_error *err);
vm_status vm_cuda_attention(vm_backend *be, const vm_tensor *qkv, int heads, const vm_param *rel_h,
                            const vm_param *rel_w, const vm_tensor *out, vm_error *err);
vm_status vm_cuda_conv2d(vm_backend *be, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                         const vm_param *b, int k, int stride, vm_act act, const vm_tensor *out, vm_error *err);

/* The attention bias scratch (cu->attn_bias) a global layer of hh x ww tokens and head dimension d needs on the path
 * the attention op would take (attention.cu). */
size_t vm_cuda_attention_scratch(const vm_cuda *cu, int hh, int ww, int d);

/* The model's input and alpha at the device's edge (input.cu). */
vm_status vm_cuda_upload_rgbt8(vm_backend *be, const vm_tensor *px, const uint8_t *src, int h, int w, vm_error *err);
vm_status vm_cuda_download_alpha(vm_backend *be, const vm_tensor *alpha, float *dst, size_t dst_stride, int width,
                                 int height, bool *finite, vm_error *err);

/* Foreground estimation, Jacobi iterations (foreground.cu). */
vm_status vm_cuda_foreground_jacobi(vm_backend *be, vm_fg_job *job, vm_error *err);

/* The most output rows a convolution band takes (conv2d.cu; the scratch estimate sizes bands by it too). */
int64_t vm_cuda_conv_band_rows(const vm_cuda *cu, size_t row_in, size_t row_out, int k, int stride, int64_t ho,
                               bool nchw);
/* Whether cuDNN runs this fp32 3x3 convolution in NCHW (through a band; cu->conv_nchw). */
static inline bool vm_cuda_conv_nchw(const vm_cuda *cu, int k, int stride) {
  return cu->base.act_size == 4 && k == 3 &&
         (cu->conv_nchw == VM_CONV_NCHW_ALL || (cu->conv_nchw == VM_CONV_NCHW_STRIDE1 && stride == 1));
}

/* The tensor-core 3x3 convolution for few output channels (conv_tc.cu). */
bool vm_cuda_conv_tc_takes(const vm_cuda *cu, int Cd, int Cl, int Cout, int k, int stride);
vm_status vm_cuda_conv_tc(vm_cuda *cu, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                          const vm_param *b, int stride, vm_act act, const vm_tensor *out, vm_error *err);

/* ---- shared pieces ---- */
/* out[rows, n] (activation type) = A[rows, k] * W[n, k]^T (+ bias[n] in the activation type) (+ C[rows, n]);
 * pointers in device memory; C may equal out. */
vm_status vm_cuda_gemm(vm_cuda *cu, const void *a, const void *w, const void *bias, const void *c, void *out,
                       int64_t rows, int64_t n, int64_t k, vm_error *err);
/* The same with C, D and the bias in f32 when cd_f32 is 1. */
vm_status vm_cuda_gemm_typed(vm_cuda *cu, const void *a, const void *w, const void *bias, const void *c, void *out,
                             int cd_f32, int64_t rows, int64_t n, int64_t k, vm_error *err);
/* out = [residual +] act(x [+ bias f32 per column]) over rows x n elements; out may alias x or residual. */
vm_status vm_cuda_epilogue(vm_cuda *cu, const void *x, const float *bias, vm_act act, const void *residual, void *out,
                           int64_t rows, int64_t n, vm_error *err);

#endif
