/* huge_pages.h - large host blocks in 2 MiB pages advised for the kernel's transparent huge pages.
 * Owns: that allocation and its switch, VITMATTE_HUGE_PAGES=off. The model's weights (weights.c) and the CPU
 * backend's arena and scratch (cpu_runtime.c) take their large blocks here. */
#ifndef VM_HUGE_PAGES_H
#define VM_HUGE_PAGES_H

#include <stdbool.h>
#include <stddef.h>

/* Blocks of this many bytes or more are worth whole 2 MiB pages (smaller ones would waste too much of a page). */
#define VM_HUGE_PAGES_FROM ((size_t)4 << 20)
#define VM_HUGE_PAGE ((size_t)2 << 20)

/* Whether large blocks go into huge pages: not when $VITMATTE_HUGE_PAGES is "off". Read once per caller (a context,
 * a model load), not per block. */
bool vm_huge_pages_wanted(void);

/* *bytes rounded up to whole 2 MiB pages, 2 MiB aligned, the range advised for transparent huge pages (advice only:
 * where the kernel refuses it the block is plain memory); *bytes becomes the rounded size. Freed with free(). NULL
 * when out of memory, or when *bytes is 0 or cannot be rounded up. */
void *vm_huge_pages_alloc(size_t *bytes);

#endif
