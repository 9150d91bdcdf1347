// Turning CUDA runtime, cuBLASLt and cuDNN return codes into vm_error messages.
#include "cuda_backend.h"

vm_status vm_cuda_rt_fail(vm_error *err, cudaError_t e, const char *what) {
  vm_status st = e == cudaErrorMemoryAllocation ? VM_ERR_DEVICE_OUT_OF_MEMORY : VM_ERR_DEVICE;
  return vm_fail(err, st, "CUDA error in %s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
}

vm_status vm_cuda_lt_fail(vm_error *err, cublasStatus_t s, const char *what) {
  vm_status st = s == CUBLAS_STATUS_ALLOC_FAILED ? VM_ERR_DEVICE_OUT_OF_MEMORY : VM_ERR_DEVICE;
  return vm_fail(err, st, "cuBLASLt error in %s: %s (%d)", what, cublasLtGetStatusString(s), (int)s);
}

vm_status vm_cuda_dnn_fail(vm_error *err, cudnnStatus_t s, const char *what) {
  vm_status st = s == CUDNN_STATUS_ALLOC_FAILED ? VM_ERR_DEVICE_OUT_OF_MEMORY : VM_ERR_DEVICE;
  return vm_fail(err, st, "cuDNN error in %s: %s (%d)", what, cudnnGetErrorString(s), (int)s);
}

vm_status vm_cuda_launch_check(vm_error *err, const char *kernel) {
  cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) return vm_cuda_rt_fail(err, e, kernel);
  return VM_OK;
}
