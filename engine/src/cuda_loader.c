#include "cuda_loader.h"

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

#ifndef VM_CUDA_MODULE_DIR
#define VM_CUDA_MODULE_DIR "/usr/local/lib/vitmatte"
#endif

/* The module is there but does not load: name what is missing and where it comes from, when dlerror says it is one
 * of the NVIDIA libraries the module links (the driver's own library is looked for later, by the CUDA runtime). */
static void explain_load_failure(const char *dlerr, char *why, size_t why_len) {
  if (strstr(dlerr, "libcudnn"))
    snprintf(why, why_len, "cuDNN 9 is not installed (libcudnn.so.9 not found): install libcudnn9-cuda-13 from "
             "NVIDIA's CUDA repository (developer.nvidia.com/cudnn-downloads) or add its lib folder to "
             "LD_LIBRARY_PATH");
  else if (strstr(dlerr, "libcublas"))
    snprintf(why, why_len, "cuBLAS 13 is not installed (libcublasLt.so.13 not found): install libcublas-13-0 from "
             "NVIDIA's CUDA repository (developer.nvidia.com/cuda-downloads) or add its lib folder to LD_LIBRARY_PATH");
  else
    snprintf(why, why_len, "%s", dlerr);
}

static void *try_open(const char *dir, char *why, size_t why_len) {
  char path[PATH_MAX];
  if (dir) {
    if (snprintf(path, sizeof path, "%s/%s", dir, VM_CUDA_MODULE_NAME) >= (int)sizeof path) return NULL;
  } else {
    snprintf(path, sizeof path, "%s", VM_CUDA_MODULE_NAME);
  }
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!h && dir && access(path, F_OK) == 0) {
    /* The module is there but cannot be loaded (e.g. libcudnn missing): that reason beats "not found". */
    const char *e = dlerror();
    explain_load_failure(e ? e : "dlopen failed", why, why_len);
  }
  return h;
}

static void *open_module(char *why, size_t why_len) {
  void *h = NULL;
  const char *env = getenv("VITMATTE_CUDA_MODULE");
  if (env && *env) {
    h = dlopen(env, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) {
      const char *e = dlerror();
      explain_load_failure(e ? e : "dlopen failed", why, why_len);
    }
    return h;
  }
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n > 0) {
    buf[n] = '\0';
    if ((h = try_open(dirname(buf), why, why_len))) return h;
  }
  Dl_info info;
  if (dladdr((void *)&vm_cuda_load, &info) && info.dli_fname) {
    snprintf(buf, sizeof buf, "%s", info.dli_fname);
    if ((h = try_open(dirname(buf), why, why_len))) return h;
  }
#ifdef VM_CUDA_MODULE_BUILD_DIR
  /* Programs run from the build tree (tests, quickstart) find the module where meson built it. */
  if ((h = try_open(VM_CUDA_MODULE_BUILD_DIR, why, why_len))) return h;
#endif
  if ((h = try_open(VM_CUDA_MODULE_DIR, why, why_len))) return h;
  return try_open(NULL, why, why_len);
}

vm_status vm_cuda_load(int device_ordinal, vm_precision precision, void **handle, vm_backend **be, vm_error *err) {
  char why[400] = "";
  *handle = NULL;
  *be = NULL;
  void *h = open_module(why, sizeof why);
  if (!h) {
    if (why[0]) return vm_fail(err, VM_ERR_DEVICE, "the CUDA backend could not be loaded: %s", why);
    return vm_fail(err, VM_ERR_DEVICE, "the CUDA backend (%s) is not installed: this build has no GPU support",
                   VM_CUDA_MODULE_NAME);
  }
  vm_cuda_backend_abi_fn abi = (vm_cuda_backend_abi_fn)dlsym(h, VM_CUDA_ABI_SYMBOL);
  vm_cuda_backend_create_fn create = (vm_cuda_backend_create_fn)dlsym(h, VM_CUDA_CREATE_SYMBOL);
  if (!abi || !create) {
    dlclose(h);
    return vm_fail(err, VM_ERR_DEVICE, "%s is not a vitmatte CUDA backend", VM_CUDA_MODULE_NAME);
  }
  if (abi() != VM_BACKEND_ABI_VERSION) {
    int got = abi();
    dlclose(h);
    return vm_fail(err, VM_ERR_DEVICE, "%s is built for backend interface %d, this engine needs %d",
                   VM_CUDA_MODULE_NAME, got, VM_BACKEND_ABI_VERSION);
  }
  vm_status st = create(device_ordinal, precision, be, err);
  if (st != VM_OK) {
    dlclose(h);
    return st;
  }
  *handle = h;
  return VM_OK;
}

void vm_cuda_unload(void *handle) {
  if (handle) dlclose(handle);
}
