/* cuda_loader.h - finding and opening the CUDA backend module at run time.
 * Owns: the module search order and turning "no module / no driver / no GPU" into one clear reason. */
#ifndef VM_CUDA_LOADER_H
#define VM_CUDA_LOADER_H

#include "backend.h"

/* Opens libvitmatte-cuda.so from $VITMATTE_CUDA_MODULE (a file path) when set, else only from the installation
 * that holds the running code: beside the file holding the engine (the executable, or a shared libvitmatte), in
 * vitmatte/ beside it (libdir), and in libdir/vitmatte as seen from bindir; uninstalled test programs linked with
 * cuda_build_tree.c also try the build tree. Never the current folder or the loader's search path. On success
 * *handle must be passed to vm_cuda_unload after the backend is destroyed. Fails with VM_ERR_DEVICE and a
 * reason. */
vm_status vm_cuda_load(int device_ordinal, vm_precision precision, void **handle, vm_backend **be, vm_error *err);
void vm_cuda_unload(void *handle);

/* The module is there but dlopen failed with dlerr: when dlerr names one of the NVIDIA libraries the module links
 * (cuDNN, cuBLAS; the driver's own library is looked for later, by the CUDA runtime), a reason naming that library
 * and where it comes from, with NVIDIA's package name for CUDA cuda_major.cuda_minor (0: unknown, no package
 * named); else dlerr itself. */
void vm_cuda_explain_load_failure(const char *dlerr, int cuda_major, int cuda_minor, char *why, size_t why_len);

#endif
