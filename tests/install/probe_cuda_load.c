/* probe_cuda_load.c - an uninstalled test program asking the engine for its CUDA module.
 * Owns: printing what vm_cuda_load says; it links cuda_build_tree.c, so it may look into the build tree. */
#include <stdio.h>

#include "cuda_loader.h"

int main(void) {
  void *handle = NULL;
  vm_backend *be = NULL;
  vm_error err = {VM_OK, ""};
  vm_status st = vm_cuda_load(0, VM_PRECISION_FP32, &handle, &be, &err);
  if (st == VM_OK) {
    printf("loaded\n");
    be->ops->destroy(be);
    vm_cuda_unload(handle);
    return 0;
  }
  printf("%s\n", err.message);
  return 1;
}
