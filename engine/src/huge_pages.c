/* Large host blocks in 2 MiB pages advised for transparent huge pages. Where the kernel leaves huge pages to the
 * program (THP "madvise": Ubuntu's kernels, the development VM) this is what decides them. A 1024^2 prediction on
 * the CPU touches ~400 MB of arena and ~100 MB of weights: in 4 KiB pages that is ~125000 page faults, paid again in
 * each GIMP filter run (the plug-in is a new process each time), and the products' strided reads miss the TLB more
 * often. Measured in bench/NOTES.md (CPU versions, row 18). */
#include "huge_pages.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

bool vm_huge_pages_wanted(void) {
  const char *v = getenv("VITMATTE_HUGE_PAGES");
  return !(v && !strcmp(v, "off"));
}

void *vm_huge_pages_alloc(size_t *bytes) {
  if (*bytes == 0 || *bytes > SIZE_MAX - VM_HUGE_PAGE) return NULL;
  const size_t total = (*bytes + VM_HUGE_PAGE - 1) / VM_HUGE_PAGE * VM_HUGE_PAGE;
  void *block = aligned_alloc(VM_HUGE_PAGE, total);
  if (!block) return NULL;
#ifdef MADV_HUGEPAGE
  (void)madvise(block, total, MADV_HUGEPAGE); /* refused (THP "never", none in the kernel): plain pages */
#endif
  *bytes = total;
  return block;
}
