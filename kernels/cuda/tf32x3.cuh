/* tf32x3.cuh - fp32 products on the TF32 tensor cores in three products (3xTF32), for the fp32 kernels of
 * data-centre cards. Owns: the big + small split of an fp32 value, the TF32 mma.sync m16n8k8, and a b as three of them. */
#ifndef VM_TF32X3_CUH
#define VM_TF32X3_CUH

#include <stdint.h>

#include "mma_sync.cuh"

namespace {

#ifndef VM_NO_SM80_MMA
/* x as big + small for 3xTF32 in three full-rate instructions (cvt.rna.tf32.f32 runs on a slow pipe, and a tile
 * splits 320 values a thread): big is x truncated to TF32's 10 mantissa bits (mask), small = x - big exactly (less
 * than one TF32 ulp of x), handed over with half a TF32 ulp added: the tensor cores read an operand's top 19 bits
 * (the low 13 are ignored; CUTLASS's round_half_ulp_truncate relies on the same), so small enters rounded to
 * nearest. Error of big + small: at most 2^-21 |x|. With big truncated, small has x's sign, so the small x small
 * term left out makes products about 6e-8 too small on average (a reviewer's simulation of 64-term dots); rounding
 * big too ((bits + 0x1000) & mask, the split of s14b, as exact in the op suite) costs a fourth instruction. */
__device__ __forceinline__ void tf32_split(float x, uint32_t &big, uint32_t &small) {
  big = __float_as_uint(x) & 0xffffe000u;
  small = __float_as_uint(x - __uint_as_float(big)) + 0x1000u;
}

__device__ __forceinline__ void mma_tf32(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
               "{%0,%1,%2,%3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* a b in 3xTF32: the big product into hi, the two small cross terms into lo */
__device__ __forceinline__ void mma_3xtf32(float (&hi)[4], float (&lo)[4], const uint32_t (&ab)[4],
                                           const uint32_t (&as)[4], float b0, float b1) {
  uint32_t bb0, bs0, bb1, bs1;
  tf32_split(b0, bb0, bs0);
  tf32_split(b1, bb1, bs1);
  mma_tf32(lo, as, bb0, bb1);
  mma_tf32(lo, ab, bs0, bs1);
  mma_tf32(hi, ab, bb0, bb1);
}
__device__ __forceinline__ void mma_3xtf32(float (&d)[4], const uint32_t (&ab)[4], const uint32_t (&as)[4], float b0,
                                           float b1) {
  mma_3xtf32(d, d, ab, as, b0, b1);
}
#endif

} // namespace

#endif
