// What the card and the code the driver loaded for it allow: the architecture of that code (which decides between
// the wgmma, mma.sync and CUDA-core kernels), shared memory per block and per SM, and blocks per SM of a kernel.
#include <stdlib.h>
#include <string.h>

#include "cuda_backend.h"

/* Writes the architecture the running code was compiled for: compute_75 PTX JIT-compiled on an H100 reports 750,
 * the sm_90a machine code 900. This, not the card's compute capability, says which instructions exist. */
__global__ void vm_cuda_arch_probe(int *out) {
#ifdef __CUDA_ARCH__
  *out = __CUDA_ARCH__;
#endif
}

/* Size in bytes from VITMATTE_CUDA_SMEM_LIMIT ("101376", "99K", "64k"); 0 when unset or unreadable. */
static size_t env_bytes(const char *name) {
  const char *s = getenv(name);
  if (!s || !*s) return 0;
  char *end = NULL;
  unsigned long long v = strtoull(s, &end, 10);
  if (end && (*end == 'k' || *end == 'K')) v *= 1024;
  return (size_t)v;
}

vm_status vm_cuda_limits_init(vm_cuda *cu, const cudaDeviceProp *prop, vm_error *err) {
  cu->cc = prop->major * 10 + prop->minor;
  cu->sm_count = prop->multiProcessorCount;
  cu->smem_optin = prop->sharedMemPerBlockOptin;
  cu->smem_per_sm = prop->sharedMemPerMultiprocessor;
  cu->smem_reserved = prop->reservedSharedMemPerBlock;
  /* Test switch: believe in a consumer card's limits (RTX 30/40: 99 KB per block, 100 KB per SM; RTX 20: 64 KB) so
   * that an H100 runs the kernel variants those cards get. */
  size_t cap = env_bytes("VITMATTE_CUDA_SMEM_LIMIT");
  if (cap > 0 && cap < cu->smem_optin) {
    cu->smem_optin = cap;
    cu->smem_per_sm = cap + cu->smem_reserved < cu->smem_per_sm ? cap + cu->smem_reserved : cu->smem_per_sm;
  }

  int *d = NULL, arch = 0;
  cudaError_t e = cudaMalloc((void **)&d, sizeof(int));
  if (e != cudaSuccess) return vm_cuda_rt_fail(err, e, "probing the GPU code (cudaMalloc)");
  vm_cuda_arch_probe<<<1, 1>>>(d);
  e = cudaGetLastError();
  if (e == cudaSuccess) e = cudaMemcpy(&arch, d, sizeof(int), cudaMemcpyDeviceToHost);
  (void)cudaFree(d);
  if (e != cudaSuccess) {
    (void)cudaGetLastError();
    return vm_fail(err, VM_ERR_DEVICE,
                   "%s (compute capability %d.%d) cannot run this build of the CUDA backend (%s); this build carries "
                   "code for %s: rebuild with -Dgpu_targets= naming sm_%d%d (README: GPU requirements)",
                   prop->name, prop->major, prop->minor, cudaGetErrorString(e), VM_GPU_TARGETS, prop->major,
                   prop->minor);
  }
  cu->code_arch = arch / 10;
  const char *at = getenv("VITMATTE_CUDA_ATTENTION");
  cu->attention_generic_only = at && strcmp(at, "generic") == 0;
  cu->attention_no_wgmma = at && strcmp(at, "mma") == 0;
  cu->attention_turing_mma = at && strcmp(at, "turing-mma") == 0;
  const char *sm = getenv("VITMATTE_CUDA_ATTN_SMEM");
  cu->attention_compact_smem = sm && strcmp(sm, "compact") == 0;
  const char *rows = getenv("VITMATTE_CUDA_ATTN_ROWS");
  /* the register-tiled fp32 kernel is the default where it applies (rows chosen by waves); 0 or "off" keeps the
   * generic kernel, 4 or 8 force a row count (measurements) */
  cu->attention_rows = !rows || strcmp(rows, "auto") == 0 ? -1 : strcmp(rows, "off") == 0 ? 0 : atoi(rows);
  const char *f32 = getenv("VITMATTE_CUDA_ATTN_F32");
  /* fp32 global layers on the TF32 tensor cores in three products (attention_f32tc.cu) where the card's TF32 rate
   * is several times its fp32 rate; "ffma" keeps the CUDA-core kernels, "tc" forces it on any sm_80+ card */
  cu->attention_f32_tc = !f32 || strcmp(f32, "auto") == 0 ? -1 : strcmp(f32, "tc") == 0 ? 1 : 0;
  const char *gf = getenv("VITMATTE_CUDA_GEMM_F32");
  /* fp32 products of many rows on the TF32 tensor cores in three products (gemm_f32tc.cu) on the same cards;
   * "cublas" keeps cuBLAS for all, "tc" takes every product on any sm_80+ card, anything else is "auto" */
  cu->gemm_f32_tc = gf && strcmp(gf, "tc") == 0 ? 1 : gf && strcmp(gf, "cublas") == 0 ? 0 : -1;
  const char *blk = getenv("VITMATTE_CUDA_ATTN_F32_BLOCKS");
  cu->attention_f32_tc_no_blocks = blk && strcmp(blk, "0") == 0;
  cu->mma = cu->code_arch >= 80;
#ifdef VM_HAVE_SM90A
  cu->sm90 = cu->cc == 90 && cu->code_arch == 90;
#endif
  return VM_OK;
}

vm_status vm_cuda_blocks_per_sm(const vm_cuda *cu, const void *kernel, int threads, size_t smem, int *blocks,
                                vm_error *err) {
  *blocks = 0;
  if (smem > cu->smem_optin) return VM_OK;
  int n = 0;
  cudaError_t e = cudaOccupancyMaxActiveBlocksPerMultiprocessor(&n, kernel, threads, smem);
  if (e != cudaSuccess) return vm_cuda_rt_fail(err, e, "cudaOccupancyMaxActiveBlocksPerMultiprocessor");
  /* the driver reserves smem_reserved bytes of shared memory per block */
  if (smem > 0) {
    size_t fit = cu->smem_per_sm / (smem + cu->smem_reserved);
    if ((size_t)n > fit) n = (int)fit;
  }
  *blocks = n;
  return VM_OK;
}

bool vm_cuda_tf32_fast(const vm_cuda *cu) {
  /* TF32 tensor cores several times the fp32 rate: A100/A30 (8.0), H100/H200 (9.0), B200/B300 (10.x); a GeForce
   * card's TF32 rate is its fp32 rate, where three products a product would be slower */
  return cu->cc == 80 || cu->cc == 90 || (cu->cc >= 100 && cu->cc < 110);
}

bool vm_cuda_f32_gemm_tc(const vm_cuda *cu) {
  return cu->mma && (cu->gemm_f32_tc > 0 || (cu->gemm_f32_tc < 0 && vm_cuda_tf32_fast(cu)));
}

bool vm_cuda_attention_turing_mma(const vm_cuda *cu) {
  return cu->attention_turing_mma && cu->code_arch >= 75 && cu->base.precision == VM_PRECISION_FP16;
}

bool vm_cuda_f32_attention_tc(const vm_cuda *cu) {
  if (cu->attention_generic_only || !cu->mma || cu->attention_rows == 0 || cu->attention_f32_tc == 0) return false;
  return cu->attention_f32_tc > 0 || vm_cuda_tf32_fast(cu);
}

const char *vm_cuda_path_name(const vm_cuda *cu) {
  if (cu->base.precision == VM_PRECISION_FP32)
    return vm_cuda_f32_attention_tc(cu)
               ? (vm_cuda_f32_gemm_tc(cu) ? "fp32: 3xTF32 tensor-core attention and products, cuDNN fp32"
                                          : "fp32: 3xTF32 tensor-core attention, cuDNN/cuBLASLt fp32")
               : (vm_cuda_f32_gemm_tc(cu) ? "fp32: CUDA-core attention, 3xTF32 tensor-core products, cuDNN fp32"
                                          : "fp32: CUDA-core attention, cuDNN/cuBLASLt fp32");
  if (!cu->mma && vm_cuda_attention_turing_mma(cu)) /* one VITMATTE_CUDA_ATTENTION value: never with generic */
    return "mma.sync m16n8k8 fp16 attention (VITMATTE_CUDA_ATTENTION=turing-mma), cuDNN convolutions";
  if (cu->attention_generic_only || !cu->mma) return "fp32-arithmetic attention, cuDNN convolutions (no mma.sync)";
  if (cu->sm90 && !cu->attention_no_wgmma) return "wgmma attention (Hopper), mma.sync convolutions";
  return "mma.sync attention and convolutions";
}
