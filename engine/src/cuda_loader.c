#include "cuda_loader.h"

#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

/* Where the module is installed, relative to the file that holds this code (an installed executable in bindir, or a
 * shared libvitmatte in libdir); set by engine/meson.build from the install options. */
#ifndef VM_CUDA_MODULE_FROM_BINDIR
#define VM_CUDA_MODULE_FROM_BINDIR "../lib/vitmatte"
#endif

/* The CUDA version the module was built with: known when this engine was built in the same build (engine/meson.build
 * defines it there), else 0 and the reasons name no version-specific package. */
#ifndef VM_CUDA_BUILD_MAJOR
#define VM_CUDA_BUILD_MAJOR 0
#define VM_CUDA_BUILD_MINOR 0
#endif

void vm_cuda_explain_load_failure(const char *dlerr, int cuda_major, int cuda_minor, char *why, size_t why_len) {
  /* "libcudnn.so.9: cannot open shared object file: ...": the library is the text before the first ':' */
  const size_t name_len = strcspn(dlerr, ":");
  char name[PATH_MAX];
  snprintf(name, sizeof name, "%.*s", (int)name_len, dlerr);
  const char *slash = strrchr(name, '/'), *base = slash ? slash + 1 : name;
  const bool cudnn = strncmp(base, "libcudnn", 8) == 0, cublas = strncmp(base, "libcublas", 9) == 0;
  if (dlerr[name_len] != ':' || (!cudnn && !cublas)) {
    snprintf(why, why_len, "%s", dlerr);
    return;
  }
  const char *so = strstr(base, ".so.");
  const int so_major = so ? atoi(so + 4) : 0; /* libcudnn.so.9 -> 9 */
  char version[16] = "", package[sizeof name + 32] = "";
  if (so_major > 0) snprintf(version, sizeof version, " %d", so_major);
  /* NVIDIA's package names carry the CUDA version: libcudnn9-cuda-13, libcublas-13-0 */
  if (cuda_major > 0 && cudnn && so_major > 0)
    snprintf(package, sizeof package, "libcudnn%d-cuda-%d", so_major, cuda_major);
  else if (cuda_major > 0 && cublas)
    snprintf(package, sizeof package, "libcublas-%d-%d", cuda_major, cuda_minor);
  else
    snprintf(package, sizeof package, "the package holding %s", base);
  snprintf(why, why_len, "%s%s is not installed (%s not found): install %s from NVIDIA's CUDA repository "
           "(developer.nvidia.com/%s) or add its lib folder to LD_LIBRARY_PATH", cudnn ? "cuDNN" : "cuBLAS", version,
           base, package, cudnn ? "cudnn-downloads" : "cuda-downloads");
}

static void explain_load_failure(const char *dlerr, char *why, size_t why_len) {
  vm_cuda_explain_load_failure(dlerr, VM_CUDA_BUILD_MAJOR, VM_CUDA_BUILD_MINOR, why, why_len);
}

/* Defined only in uninstalled test programs (engine/src/cuda_build_tree.c, linked by vitmatte_internal_dep): the
 * build tree's module folder. An installed program has no such definition, so nothing it runs ever looks into the
 * build tree, where anyone who can write there could plant a library. */
const char *vm_cuda_module_build_dir(void) __attribute__((weak));

static void *try_open(const char *dir, char *why, size_t why_len) {
  char path[PATH_MAX];
  if (snprintf(path, sizeof path, "%s/%s", dir, VM_CUDA_MODULE_NAME) >= (int)sizeof path) return NULL;
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!h && access(path, F_OK) == 0) {
    /* The module is there but cannot be loaded (e.g. libcudnn missing): that reason beats "not found". */
    const char *e = dlerror();
    explain_load_failure(e ? e : "dlopen failed", why, why_len);
  }
  return h;
}

/* The folders the module may be in, relative to `base` (the folder of the file holding this code): beside it (the
 * plug-in's folder, where meson installs a link to the module), libdir/vitmatte for a shared engine in libdir, and
 * libdir/vitmatte seen from bindir for an installed executable. All lie inside the installation that holds the
 * running code, so they are as trustworthy as that code; the current folder and the loader's search path are
 * never tried. */
static void *open_beside(const char *base, char *why, size_t why_len) {
  static const char *const relative[] = {".", "vitmatte", VM_CUDA_MODULE_FROM_BINDIR};
  char dir[PATH_MAX];
  void *h = NULL;
  for (size_t i = 0; i < sizeof relative / sizeof *relative && !h; i++) {
    const char *r = relative[i];
    int n = r[0] == '/' ? snprintf(dir, sizeof dir, "%s", r) : snprintf(dir, sizeof dir, "%s/%s", base, r);
    if (n > 0 && n < (int)sizeof dir) h = try_open(dir, why, why_len);
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
  /* The file that holds this code: a shared libvitmatte, or the executable it is linked into (whose link-map name
   * is empty; /proc/self/exe names it), as its real path, so a link to it does not move the search. */
  Dl_info info;
  struct link_map *map = NULL;
  char real[PATH_MAX] = "";
  if (dladdr1((void *)&vm_cuda_load, &info, (void **)&map, RTLD_DL_LINKMAP) && map && map->l_name &&
      map->l_name[0]) {
    if (!realpath(map->l_name, real)) real[0] = '\0';
  } else {
    ssize_t n = readlink("/proc/self/exe", real, sizeof real - 1);
    real[n > 0 ? n : 0] = '\0';
  }
  if (real[0] == '/' && (h = open_beside(dirname(real), why, why_len))) return h;
  if (vm_cuda_module_build_dir) {
    /* Uninstalled test programs find the module where meson built it. */
    const char *dir = vm_cuda_module_build_dir();
    if (dir && (h = try_open(dir, why, why_len))) return h;
  }
  return NULL;
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
