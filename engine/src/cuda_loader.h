/* cuda_loader.h - finding and opening the CUDA backend module at run time.
 * Owns: the module search order and turning "no module / no driver / no GPU" into one clear reason. */
#ifndef VM_CUDA_LOADER_H
#define VM_CUDA_LOADER_H

#include "backend.h"

/* Opens libvitmatte-cuda.so, searching: $VITMATTE_CUDA_MODULE (a file path), the running executable's folder,
 * the folder of the library holding this code, the build tree's module folder, the install libdir, then the dynamic
 * loader's path. On success *handle must be passed to vm_cuda_unload after the backend is destroyed. Fails with
 * VM_ERR_DEVICE and a reason. */
vm_status vm_cuda_load(int device_ordinal, vm_precision precision, void **handle, vm_backend **be, vm_error *err);
void vm_cuda_unload(void *handle);

#endif
