/* planted_module.c - a stand-in for a library someone planted where a CUDA module might be looked for.
 * Owns: proving it was loaded: its constructor, which runs inside dlopen, appends its path to $VM_PLANTED_MARKER. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void planted_module_loaded(void) {
  const char *marker = getenv("VM_PLANTED_MARKER");
  if (!marker || !*marker) return;
  Dl_info info;
  const char *self = dladdr((void *)&planted_module_loaded, &info) && info.dli_fname ? info.dli_fname : "?";
  FILE *f = fopen(marker, "a");
  if (f) {
    fprintf(f, "%s\n", self);
    fclose(f);
  }
}
