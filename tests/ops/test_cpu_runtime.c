/* test_cpu_runtime.c - the CPU runtime's counted host memory: small blocks 64-byte aligned, large ones (the arena,
 * big scratch) whole 2 MiB pages advised for transparent huge pages unless VITMATTE_HUGE_PAGES=off, and held/peak
 * bytes that add up. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_runtime.h"

#define MIB ((size_t)1 << 20)

static int cases, failures;

static void check(bool ok, const char *what) {
  cases++;
  if (!ok) failures++;
  printf("%s %s\n", ok ? "PASS" : "FAIL", what);
}

/* The VmFlags line of the mapping of /proc/self/smaps that holds addr ("" when none was found). */
static void vm_flags_of(const void *addr, char *flags, size_t size) {
  flags[0] = '\0';
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f) return;
  char line[512];
  bool inside = false;
  const uintptr_t a = (uintptr_t)addr;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) { /* a mapping's first line: "start-end perms ..." */
      inside = a >= lo && a < hi;
      continue;
    }
    if (inside && !strncmp(line, "VmFlags:", 8)) {
      snprintf(flags, size, "%s", line + 8);
      break;
    }
  }
  fclose(f);
}

/* One runtime's blocks: huge says whether large blocks are expected in 2 MiB pages with the advice. */
static void blocks(bool huge) {
  cpu_runtime rt;
  vm_error err = {0};
  printf("-- VITMATTE_HUGE_PAGES=%s\n", huge ? "(default)" : "off");
  if (cpu_runtime_init(&rt, 1, &err) != VM_OK) {
    check(false, err.message);
    return;
  }
  check(rt.huge_pages == huge, huge ? "runtime: huge pages on" : "runtime: huge pages off");

  /* a small block: 64-byte aligned, its size counted rounded up to 64 bytes with the 64-byte header */
  unsigned char *small = cpu_tracked_alloc(&rt, 1000);
  check(small && (uintptr_t)small % 64 == 0, "1000 bytes: 64-byte aligned");
  check(rt.held_bytes == 1088, "1000 bytes: 1088 bytes held (header + rounding to 64)");

  /* a large block: with huge pages its header starts a 2 MiB page and the block is whole 2 MiB pages; either way it
   * is counted as asked for, like a small one (vm_context_estimate_memory bounds that figure) */
  const size_t big_bytes = 8 * MIB + 1, big_total = 8 * MIB + 128; /* the huge pages' rounding is not counted */
  unsigned char *big = cpu_tracked_alloc(&rt, big_bytes);
  check(big != NULL, "8 MiB + 1 byte: allocated");
  if (!big) {
    cpu_runtime_release(&rt);
    return;
  }
  check((uintptr_t)big % 64 == 0, "8 MiB + 1 byte: 64-byte aligned for the caller");
  if (huge) check(((uintptr_t)big - 64) % (2 * MIB) == 0, "8 MiB + 1 byte: its block starts a 2 MiB page");
  check(rt.held_bytes == 1088 + big_total, "8 MiB + 1 byte: 8 MiB + 128 bytes held (header + rounding to 64)");
  memset(big, 0x5A, big_bytes); /* every byte the caller asked for is writable (AddressSanitizer checks the bound) */

  /* the kernel records the advice on the mapping (VmFlags "hg") wherever it has transparent huge pages, whatever
   * its global setting; without them (no /sys/kernel/mm/transparent_hugepage) there is nothing to check */
  if (access("/sys/kernel/mm/transparent_hugepage/enabled", R_OK) == 0) {
    char flags[512];
    vm_flags_of(big, flags, sizeof flags);
    printf("  VmFlags of the large block's mapping:%s", flags[0] ? flags : " (not found)\n");
    const bool advised = strstr(flags, " hg") != NULL;
    check(advised == huge, huge ? "8 MiB + 1 byte: advised for transparent huge pages (VmFlags hg)"
                                : "8 MiB + 1 byte: not advised (no VmFlags hg)");
  } else {
    printf("SKIP the advice check: this kernel has no transparent huge pages\n");
  }

  cpu_tracked_free(&rt, big);
  cpu_tracked_free(&rt, small);
  check(rt.held_bytes == 0, "both freed: nothing held");
  check(rt.peak_bytes == 1088 + big_total, "peak: both blocks at once");
  cpu_tracked_free(&rt, NULL);
  check(rt.held_bytes == 0, "freeing NULL changes nothing");
  cpu_runtime_release(&rt);
}

int main(void) {
  unsetenv("VITMATTE_HUGE_PAGES");
  blocks(true);
  setenv("VITMATTE_HUGE_PAGES", "off", 1);
  blocks(false);
  unsetenv("VITMATTE_HUGE_PAGES");
  printf("%d of %d checks passed\n", cases - failures, cases);
  return failures ? 1 : 0;
}
