#include "plan.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

#define VM_ALIGN 256

void vm_run_init(vm_run *r, vm_backend *be, bool measuring, void *base, size_t capacity, vm_error *err) {
  *r = (vm_run){0};
  r->be = be;
  r->measuring = measuring;
  r->base = measuring ? NULL : base;
  r->capacity = measuring ? SIZE_MAX : capacity;
  r->err = err;
  r->status = VM_OK;
  r->progress_span = 1.0;
}

void vm_run_release(vm_run *r) {
  free(r->live);
  r->live = NULL;
  r->nlive = r->cap_live = 0;
}

static bool fail(vm_run *r, vm_status st, const char *msg) {
  if (r->status == VM_OK) r->status = vm_fail(r->err, st, "%s", msg);
  return false;
}

/* First fit over the gaps between live blocks (kept sorted by offset): deterministic, so a measuring pass and a
 * real pass of the same sequence produce the same offsets. */
static bool place(vm_run *r, size_t size, size_t *off_out) {
  size_t off = 0;
  int at = 0;
  for (; at < r->nlive; at++) {
    if (r->live[at].off >= off + size) break;
    size_t end = r->live[at].off + r->live[at].size;
    if (end > off) off = end;
  }
  if (off + size > r->capacity) return fail(r, VM_ERR_INTERNAL, "memory plan exceeded its arena");
  if (r->nlive == r->cap_live) {
    int cap = r->cap_live ? 2 * r->cap_live : 64;
    struct vm_block *nl = realloc(r->live, (size_t)cap * sizeof *nl);
    if (!nl) return fail(r, VM_ERR_OUT_OF_MEMORY, "out of memory while planning");
    r->live = nl;
    r->cap_live = cap;
  }
  memmove(&r->live[at + 1], &r->live[at], (size_t)(r->nlive - at) * sizeof *r->live);
  r->live[at] = (struct vm_block){off, size};
  r->nlive++;
  if (off + size > r->peak) r->peak = off + size;
  *off_out = off;
  return true;
}

vm_tensor vm_run_tensor(vm_run *r, int64_t n, int64_t h, int64_t w, int64_t c) {
  return vm_run_tensor_typed(r, VM_ELEM_ACT, n, h, w, c);
}

vm_tensor vm_run_tensor_typed(vm_run *r, vm_elem elem, int64_t n, int64_t h, int64_t w, int64_t c) {
  vm_tensor t = {NULL, n, h, w, c, elem};
  if (r->status != VM_OK) return t;
  if (n <= 0 || h <= 0 || w <= 0 || c <= 0) {
    fail(r, VM_ERR_INTERNAL, "tensor with an empty dimension");
    return t;
  }
  size_t bytes = (size_t)(n * h * w * c) * vm_tensor_elem_size(r->be, &t);
  bytes = (bytes + VM_ALIGN - 1) / VM_ALIGN * VM_ALIGN;
  size_t off;
  if (!place(r, bytes, &off)) return t;
  /* While measuring there is no memory: a non-NULL token keeps "allocated" distinguishable from "failed". */
  t.data = r->measuring ? (void *)(uintptr_t)(VM_ALIGN + off) : (void *)(r->base + off);
  return t;
}

void vm_run_free(vm_run *r, vm_tensor *t) {
  if (!t->data) return;
  size_t off = r->measuring ? (size_t)((uintptr_t)t->data - VM_ALIGN) : (size_t)((char *)t->data - r->base);
  for (int i = 0; i < r->nlive; i++) {
    if (r->live[i].off == off) {
      memmove(&r->live[i], &r->live[i + 1], (size_t)(r->nlive - i - 1) * sizeof *r->live);
      r->nlive--;
      break;
    }
  }
  t->data = NULL;
}

bool vm_run_progress(vm_run *r, const char *stage, double fraction) {
  if (r->status != VM_OK) return false;
  if (r->measuring || !r->progress) return true;
  double f = r->progress_base + r->progress_span * fraction;
  if (r->progress(r->progress_user, stage, f) != 0) {
    r->status = vm_fail(r->err, VM_ERR_CANCELLED, "cancelled");
    return false;
  }
  return true;
}

#define OP_GUARD(r)                                                                                                \
  if (!vm_run_active(r)) return

void op_patch_embed(vm_run *r, const vm_tensor *px, const vm_param *w, const vm_param *b, int patch,
                    const vm_param *pos, const vm_tensor *out) {
  OP_GUARD(r);
  r->status = r->be->ops->patch_embed(r->be, px, w, b, patch, pos, out, r->err);
}

void op_layer_norm(vm_run *r, const vm_tensor *x, const vm_param *gamma, const vm_param *beta, double eps,
                   vm_act act, const vm_tensor *residual, const vm_tensor *out) {
  OP_GUARD(r);
  r->status = r->be->ops->layer_norm(r->be, x, gamma, beta, eps, act, residual, out, r->err);
}

void op_linear(vm_run *r, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
               const vm_tensor *residual, const vm_tensor *out) {
  OP_GUARD(r);
  r->status = r->be->ops->linear(r->be, x, w, b, act, residual, out, r->err);
}

void op_window_partition(vm_run *r, const vm_tensor *x, int ws, const vm_tensor *out) {
  OP_GUARD(r);
  r->status = r->be->ops->window_partition(r->be, x, ws, out, r->err);
}

void op_window_unpartition(vm_run *r, const vm_tensor *win, int ws, const vm_tensor *residual,
                           const vm_tensor *out) {
  OP_GUARD(r);
  r->status = r->be->ops->window_unpartition(r->be, win, ws, residual, out, r->err);
}

void op_attention(vm_run *r, const vm_tensor *qkv, int heads, const vm_param *rel_h, const vm_param *rel_w,
                  const vm_tensor *out) {
  OP_GUARD(r);
  r->status = r->be->ops->attention(r->be, qkv, heads, rel_h, rel_w, out, r->err);
}

void op_conv2d(vm_run *r, const vm_tensor *detail, const vm_tensor *low, const vm_param *w, const vm_param *b,
               int k, int stride, vm_act act, const vm_tensor *out) {
  OP_GUARD(r);
  r->status = r->be->ops->conv2d(r->be, detail, low, w, b, k, stride, act, out, r->err);
}
