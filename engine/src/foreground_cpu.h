/* foreground_cpu.h - the multi-level foreground estimation on the CPU.
 * Owns: the level loop on the host and its two sweeps: the published in-place one and the Jacobi one. */
#ifndef VM_FOREGROUND_CPU_H
#define VM_FOREGROUND_CPU_H

#include "foreground_job.h"
#include "vitmatte.h"

/* The published method: every iteration updates the pixels in row-major order in place, with pymatting's
 * arithmetic (float32 right-hand sides, the 2x2 solve in double), so the result equals estimate_foreground_ml.
 * One thread. */
vm_status vm_fg_cpu_sequential(vm_fg_job *job, vm_error *err);

/* Jacobi iterations (each reads only the previous iterate; float32 in the order of pymatting's GPU kernel), rows
 * spread over `threads` OpenMP threads; the result does not depend on the count. */
vm_status vm_fg_cpu_jacobi(vm_fg_job *job, int threads, vm_error *err);

#endif
