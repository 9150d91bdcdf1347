/* cpu_check.h - the argument checks every CPU op starts with.
 * Owns: what counts as a usable tensor or parameter of a given size. */
#ifndef VM_CPU_CHECK_H
#define VM_CPU_CHECK_H

#include <stdbool.h>

#include "backend.h"

/* Present, with positive dimensions. */
static inline bool cpu_tensor_ok(const vm_tensor *t) {
  return t && t->data && t->n > 0 && t->h > 0 && t->w > 0 && t->c > 0;
}

static inline bool cpu_same_shape(const vm_tensor *a, const vm_tensor *b) {
  return a->n == b->n && a->h == b->h && a->w == b->w && a->c == b->c;
}

/* Present with exactly `numel` values. */
static inline bool cpu_param_ok(const vm_param *p, int64_t numel) { return p && p->data && p->numel == numel; }

/* Absent (NULL or no data) or present with exactly `numel` values. */
static inline bool cpu_optional_param_ok(const vm_param *p, int64_t numel) {
  return !p || !p->data || p->numel == numel;
}

static inline const float *cpu_param_data(const vm_param *p) { return p && p->data ? (const float *)p->data : NULL; }

#endif
