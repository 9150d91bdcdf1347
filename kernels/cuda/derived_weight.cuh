/* derived_weight.cuh - weights the convolutions re-lay out once per model (channel padding for cuDNN, the
 * tensor-core kernel's layout), cached on the backend under (source weight, two layout keys). */
#ifndef VM_DERIVED_WEIGHT_CUH
#define VM_DERIVED_WEIGHT_CUH

#include "cuda_backend.h"

/* The copy of `w` that key_a/key_b describe, `bytes` long: found in the cache or made by make(T *dst) (which
 * launches its kernel on cu->stream) the first time. Making one inside a recorded pass is an error: the pass would
 * replay the allocation. */
template <typename Make>
static vm_status vm_cuda_derived_weight(vm_cuda *cu, const vm_param *w, int key_a, int key_b, size_t bytes,
                                        const char *what, Make make, const void **out, vm_error *err) {
  int slot = -1;
  for (int i = 0; i < VM_CUDA_PADDED; i++) {
    const vm_cuda_padded_weight *p = &cu->padded[i];
    if (p->data && p->src == w->data && p->cin == key_a && p->cin_padded == key_b) {
      *out = p->data;
      return VM_OK;
    }
    if (!p->data && slot < 0) slot = i;
  }
  if (slot < 0) return vm_fail(err, VM_ERR_INTERNAL, "conv2d: more than %d derived weights", VM_CUDA_PADDED);
  if (vm_cuda_capturing(cu)) return vm_fail(err, VM_ERR_INTERNAL, "conv2d: %s made inside a recorded pass", what);
  void *p = NULL;
  VM_TRY(vm_cuda_malloc(cu, bytes, what, &p, err));
  vm_status st = vm_dispatch(cu->base.precision, [&](auto tag) -> vm_status {
    typedef typename decltype(tag)::type T;
    make((T *)p);
    return vm_cuda_launch_check(err, what);
  });
  if (st != VM_OK) {
    vm_cuda_release(cu, p);
    return st;
  }
  cu->padded[slot] = vm_cuda_padded_weight{w->data, key_a, key_b, p, bytes};
  *out = p;
  return VM_OK;
}

#endif
