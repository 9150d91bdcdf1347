/* plan.h - one forward pass's memory, planned once per resolution, and the op calls that use it.
 * Owns: vm_run (an arena of backend memory carved by a deterministic first-fit planner, a sticky status) and the
 * op wrappers that skip work while measuring or after an error. */
#ifndef VM_PLAN_H
#define VM_PLAN_H

#include <stdbool.h>

#include "backend.h"

/* A run executes a sequence of tensor allocations, frees and ops. The same sequence run twice gives the same
 * offsets, so a first pass with measuring = true (no memory, no ops) finds the peak, the arena is allocated once,
 * and every later pass at that resolution reuses it without allocating. */
typedef struct vm_run {
  vm_backend *be;
  bool measuring;
  char *base;                /* arena base (NULL while measuring) */
  size_t capacity;           /* arena bytes (when not measuring) */
  size_t peak;               /* highest end offset seen */
  /* live blocks, sorted by offset */
  int nlive, cap_live;
  struct vm_block { size_t off, size; } *live;
  vm_status status;          /* sticky: the first failure stops every later op */
  vm_error *err;
  /* progress */
  vm_progress_fn progress;
  void *progress_user;
  double progress_base, progress_span; /* the fraction range of the current stage */
} vm_run;

void vm_run_init(vm_run *r, vm_backend *be, bool measuring, void *base, size_t capacity, vm_error *err);
void vm_run_release(vm_run *r);

/* Allocate an NHWC tensor in the arena (256-byte aligned). On failure sets the sticky status and returns a tensor
 * with data NULL. */
vm_tensor vm_run_tensor(vm_run *r, int64_t n, int64_t h, int64_t w, int64_t c);
/* The same with an explicit element type (VM_ELEM_F32 for what must not be rounded to the activation type). */
vm_tensor vm_run_tensor_typed(vm_run *r, vm_elem elem, int64_t n, int64_t h, int64_t w, int64_t c);
void vm_run_free(vm_run *r, vm_tensor *t);

/* Report progress (stage text, fraction in [0,1]); returns false and sets VM_ERR_CANCELLED when the callback asks
 * to stop. Does nothing while measuring. */
bool vm_run_progress(vm_run *r, const char *stage, double fraction);

static inline bool vm_run_ok(const vm_run *r) { return r->status == VM_OK; }
static inline bool vm_run_active(const vm_run *r) { return r->status == VM_OK && !r->measuring; }

/* Op wrappers: no-ops while measuring or after a failure; otherwise call the backend and keep its status. */
void op_patch_embed(vm_run *r, const vm_tensor *px, const vm_param *w, const vm_param *b, int patch,
                    const vm_param *pos, const vm_tensor *out);
void op_layer_norm(vm_run *r, const vm_tensor *x, const vm_param *gamma, const vm_param *beta, double eps,
                   vm_act act, const vm_tensor *residual, const vm_tensor *out);
void op_linear(vm_run *r, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
               const vm_tensor *residual, const vm_tensor *out);
void op_window_partition(vm_run *r, const vm_tensor *x, int ws, const vm_tensor *out);
void op_window_unpartition(vm_run *r, const vm_tensor *win, int ws, const vm_tensor *residual,
                           const vm_tensor *out);
void op_attention(vm_run *r, const vm_tensor *qkv, int heads, const vm_param *rel_h, const vm_param *rel_w,
                  const vm_tensor *out);
void op_conv2d(vm_run *r, const vm_tensor *detail, const vm_tensor *low, const vm_param *w, const vm_param *b,
               int k, int stride, vm_act act, const vm_tensor *out);

#endif
