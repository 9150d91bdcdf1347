/* Large host blocks in 2 MiB pages advised for transparent huge pages. Where the kernel leaves huge pages to the
 * program (THP "madvise": Ubuntu's kernels, the development VM) this is what decides them. A 1024^2 prediction on
 * the CPU touches ~400 MB of arena and ~100 MB of weights for the first time in each GIMP filter run (the plug-in is
 * a new process each time): a CLI run took ~99500 page faults in 4 KiB pages, ~12300 with these, and the products'
 * strided reads miss the TLB less often. Measured in bench/NOTES.md (CPU versions, row 18). (The CPU path's 16 + 4 MB
 * input and alpha buffers in huge pages too: 4600 faults fewer, no time gained, 12 pairs.) */
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
