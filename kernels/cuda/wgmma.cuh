/* wgmma.cuh - the Hopper (sm_90a) warpgroup tensor-core pieces: shared-memory matrix descriptors, the async
 * wgmma m64n64k16 with A in registers, and its fences. Only compiled into sm_90a code (see attention_wgmma.cu). */
#ifndef VM_WGMMA_CUH
#define VM_WGMMA_CUH

#include <stdint.h>

#include "act_types.cuh"

namespace {

/* A descriptor for a 128-byte-swizzled operand tile: rows of 128 bytes whose 16-byte chunks are XOR-ed with
 * (row & 7), in 1024-byte groups of 8 rows; the tile must start on a 1024-byte boundary for the hardware's
 * address-based swizzle to match that row index. Addresses and offsets are in bytes; the low 4 bits drop. */
__device__ __forceinline__ uint64_t wgmma_desc_sw128(uint32_t smem_byte_addr, uint32_t lbo, uint32_t sbo) {
  uint64_t d = (uint64_t)((smem_byte_addr & 0x3ffff) >> 4);
  d |= (uint64_t)((lbo >> 4) & 0x3fff) << 16;
  d |= (uint64_t)((sbo >> 4) & 0x3fff) << 32;
  d |= (uint64_t)1 << 62; /* 128-byte swizzle */
  return d;
}

__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}
/* Shared memory written by ordinary stores or cp.async becomes visible to wgmma (the async proxy) only after this,
 * followed by a barrier. */
__device__ __forceinline__ void fence_proxy_async() { asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory"); }

/* Pins accumulator registers in place: the compiler must not move or copy them across an in-flight wgmma. */
template <int N> __device__ __forceinline__ void wgmma_pin(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; i++) asm volatile("" : "+f"(r[i])::"memory");
}

#define VM_WGMMA_D32                                                                                                   \
  "{%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29," \
  "%30,%31}"
#define VM_WGMMA_OUT32(d)                                                                                              \
  "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3]), "+f"(d[4]), "+f"(d[5]), "+f"(d[6]), "+f"(d[7]), "+f"(d[8]),        \
      "+f"(d[9]), "+f"(d[10]), "+f"(d[11]), "+f"(d[12]), "+f"(d[13]), "+f"(d[14]), "+f"(d[15]), "+f"(d[16]),          \
      "+f"(d[17]), "+f"(d[18]), "+f"(d[19]), "+f"(d[20]), "+f"(d[21]), "+f"(d[22]), "+f"(d[23]), "+f"(d[24]),         \
      "+f"(d[25]), "+f"(d[26]), "+f"(d[27]), "+f"(d[28]), "+f"(d[29]), "+f"(d[30]), "+f"(d[31])

/* D[64 x 64] (+)= A[64 x 16] B[16 x 64] over the warpgroup, fp32 accumulation. A is in registers in the layout of
 * mma.sync's m16n8k16 A fragment (warp w holds rows 16w..16w+15); D is per warp the m16n8 C fragment repeated over
 * the 8 column blocks (d[4j..4j+3] is block j). B is K-major (TRANS_B = 0: each of its 64 columns contiguous along
 * k) or MN-major (TRANS_B = 1: each of its 16 rows contiguous). accumulate = 0 overwrites D. */
template <typename T, int TRANS_B> struct wgmma_rs;
#define VM_WGMMA_RS(CT, PTXT)                                                                                          \
  template <int TRANS_B> struct wgmma_rs<CT, TRANS_B> {                                                                \
    static __device__ __forceinline__ void run(float (&d)[32], const uint32_t (&a)[4], uint64_t b, int accumulate) {   \
      asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n"                                                       \
                   "wgmma.mma_async.sync.aligned.m64n64k16.f32." PTXT "." PTXT " " VM_WGMMA_D32                        \
                   ", {%32,%33,%34,%35}, %36, p, 1, 1, %38;\n}\n"                                                      \
                   : VM_WGMMA_OUT32(d)                                                                                 \
                   : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(b), "r"(accumulate), "n"(TRANS_B));             \
    }                                                                                                                  \
  };
VM_WGMMA_RS(__half, "f16")
VM_WGMMA_RS(__nv_bfloat16, "bf16")
#undef VM_WGMMA_RS

} // namespace

#endif
