/* test_load_failure.c - the reason given when the CUDA module is there but does not load
 * (vm_cuda_explain_load_failure): the missing NVIDIA library as dlerror names it, its version from that name,
 * NVIDIA's package for the CUDA version the module was built with (none when that is unknown), and any other
 * dlerror text passed on as it is. No GPU. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cuda_loader.h"

static checker checks;

/* why for dlerr and CUDA major.minor equals want (exact), or holds in/lacks out (either may be NULL) */
static void expect(const char *dlerr, int major, int minor, const char *want, const char *in, const char *out) {
  char why[400];
  vm_cuda_explain_load_failure(dlerr, major, minor, why, sizeof why);
  const bool ok = (!want || strcmp(why, want) == 0) && (!in || strstr(why, in)) && (!out || !strstr(why, out));
  check_true(&checks, ok, "'%s' (CUDA %d.%d) -> '%s'%s%s%s%s", dlerr, major, minor, why, want ? ", expected " : "",
             want ? want : "", in ? ", holding " : "", in ? in : "");
}

int main(void) {
  /* the messages the CUDA 13.0 build gave before, for the libraries it links */
  expect("libcudnn.so.9: cannot open shared object file: No such file or directory", 13, 0,
         "cuDNN 9 is not installed (libcudnn.so.9 not found): install libcudnn9-cuda-13 from NVIDIA's CUDA repository "
         "(developer.nvidia.com/cudnn-downloads) or add its lib folder to LD_LIBRARY_PATH", NULL, NULL);
  expect("libcublasLt.so.13: cannot open shared object file: No such file or directory", 13, 0,
         "cuBLAS 13 is not installed (libcublasLt.so.13 not found): install libcublas-13-0 from NVIDIA's CUDA "
         "repository (developer.nvidia.com/cuda-downloads) or add its lib folder to LD_LIBRARY_PATH", NULL, NULL);
  /* other versions: from the library's name and the build's CUDA version */
  expect("libcublas.so.12: cannot open shared object file: No such file or directory", 12, 6, NULL,
         "cuBLAS 12 is not installed (libcublas.so.12 not found): install libcublas-12-6 from", NULL);
  expect("libcudnn_graph.so.10: cannot open shared object file: No such file or directory", 12, 8, NULL,
         "cuDNN 10 is not installed (libcudnn_graph.so.10 not found): install libcudnn10-cuda-12 from", NULL);
  /* an engine built without CUDA: the library named, no version-specific package */
  expect("libcudnn.so.9: cannot open shared object file: No such file or directory", 0, 0,
         "cuDNN 9 is not installed (libcudnn.so.9 not found): install the package holding libcudnn.so.9 from NVIDIA's "
         "CUDA repository (developer.nvidia.com/cudnn-downloads) or add its lib folder to LD_LIBRARY_PATH", NULL, NULL);
  expect("libcublasLt.so.13: cannot open shared object file: No such file or directory", 0, 0, NULL,
         "install the package holding libcublasLt.so.13 from NVIDIA's CUDA repository", "libcublas-");
  /* anything else is dlerror's own text, even where a folder's name mentions a library */
  expect("/opt/libcublas/libvitmatte-cuda.so: undefined symbol: cudnnCreate", 13, 0,
         "/opt/libcublas/libvitmatte-cuda.so: undefined symbol: cudnnCreate", NULL, NULL);
  expect("dlopen failed", 13, 0, "dlopen failed", NULL, NULL);
  return check_finish(&checks, "CUDA load failure reasons");
}
