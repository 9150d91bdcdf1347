/* cpu_simd.h - how the CPU backend's elementwise loops get the wide vector units without a -march flag.
 * Owns: CPU_VECTOR_CLONES, which builds a function once per x86 vector width and picks one when the library loads. */
#ifndef VM_CPU_SIMD_H
#define VM_CPU_SIMD_H

/* The engine is built for baseline x86-64 (SSE2) so that one binary runs everywhere; BLAS picks its own kernels
 * at run time, and the loops of softmax, GELU and LayerNorm do the same through GCC/clang function multiversioning
 * (an ifunc resolver chooses the AVX-512, AVX2 or SSE2 copy from the CPU's features). Elsewhere it is a no-op. */
#if defined(__x86_64__) && defined(__has_attribute) && !defined(__clang_analyzer__)
#if __has_attribute(target_clones)
#define CPU_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef CPU_VECTOR_CLONES
#define CPU_VECTOR_CLONES
#endif

#endif
