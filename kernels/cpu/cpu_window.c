/* Splitting a token grid into zero-padded ws x ws windows and putting it back, on the CPU. */
#include <string.h>

#include "cpu_ops.h"
#include "cpu_check.h"
#include "error.h"

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Each image of x[n, h, w, C] gives ceil(h/ws) * ceil(w/ws) windows, in the order (image, window row, window col). */
vm_status cpu_window_partition(cpu_runtime *rt, const vm_tensor *x, int ws, const vm_tensor *out, vm_error *err) {
  if (!cpu_tensor_ok(x) || !cpu_tensor_ok(out))
    return vm_fail(err, VM_ERR_INTERNAL, "window_partition: missing or empty tensor");
  if (ws <= 0) return vm_fail(err, VM_ERR_INTERNAL, "window_partition: window size %d", ws);
  int64_t gh = ceil_div(x->h, ws), gw = ceil_div(x->w, ws), c = x->c;
  if (out->n != x->n * gh * gw || out->h != ws || out->w != ws || out->c != c)
    return vm_fail(err, VM_ERR_INTERNAL,
                   "window_partition: out is [%lld, %lld, %lld, %lld], expected [%lld, %d, %d, %lld]",
                   (long long)out->n, (long long)out->h, (long long)out->w, (long long)out->c,
                   (long long)(x->n * gh * gw), ws, ws, (long long)c);

  const float *xs = x->data;
  float *os = out->data;
  const int64_t h = x->h, w = x->w, nrows = out->n * ws;
  /* one task per window row: ws tokens of C channels, the part inside the grid copied, the rest zeroed */
#pragma omp parallel for num_threads(rt->threads) schedule(static)
  for (int64_t t = 0; t < nrows; t++) {
    int64_t win = t / ws, iy = t % ws;
    int64_t img = win / (gh * gw), wy = win / gw % gh, wx = win % gw;
    int64_t y = wy * ws + iy, x0 = wx * ws;
    float *dst = os + t * ws * c;
    int64_t inside = y < h ? (w - x0 < ws ? w - x0 : ws) : 0;
    if (inside > 0) memcpy(dst, xs + ((img * h + y) * w + x0) * c, (size_t)(inside * c) * sizeof(float));
    if (inside < ws) memset(dst + inside * c, 0, (size_t)((ws - inside) * c) * sizeof(float));
  }
  return VM_OK;
}

vm_status cpu_window_unpartition(cpu_runtime *rt, const vm_tensor *win, int ws, const vm_tensor *residual,
                                 const vm_tensor *out, vm_error *err) {
  if (!cpu_tensor_ok(win) || !cpu_tensor_ok(out))
    return vm_fail(err, VM_ERR_INTERNAL, "window_unpartition: missing or empty tensor");
  if (ws <= 0 || win->h != ws || win->w != ws)
    return vm_fail(err, VM_ERR_INTERNAL, "window_unpartition: windows are %lld x %lld, window size %d",
                   (long long)win->h, (long long)win->w, ws);
  int64_t gh = ceil_div(out->h, ws), gw = ceil_div(out->w, ws), c = out->c;
  if (win->n != out->n * gh * gw || win->c != c)
    return vm_fail(err, VM_ERR_INTERNAL,
                   "window_unpartition: %lld windows of %lld channels do not cover out [%lld, %lld, %lld, %lld]",
                   (long long)win->n, (long long)win->c, (long long)out->n, (long long)out->h, (long long)out->w,
                   (long long)c);
  if (residual && (!cpu_tensor_ok(residual) || !cpu_same_shape(residual, out)))
    return vm_fail(err, VM_ERR_INTERNAL, "window_unpartition: residual does not match out");

  const float *wsrc = win->data;
  const float *rs = residual ? residual->data : NULL;
  float *os = out->data;
  const int64_t h = out->h, w = out->w, nrows = out->n * h;
  /* one task per output row; residual may be out itself (read before written, element by element) */
#pragma omp parallel for num_threads(rt->threads) schedule(static)
  for (int64_t t = 0; t < nrows; t++) {
    int64_t img = t / h, y = t % h, wy = y / ws, iy = y % ws;
    float *dst = os + t * w * c;
    const float *res = rs ? rs + t * w * c : NULL;
    for (int64_t wx = 0; wx < gw; wx++) {
      int64_t x0 = wx * ws, len = (w - x0 < ws ? w - x0 : ws) * c;
      const float *src = wsrc + (((img * gh + wy) * gw + wx) * ws + iy) * ws * c;
      float *d = dst + x0 * c;
      if (res) {
        const float *r = res + x0 * c;
        for (int64_t i = 0; i < len; i++) d[i] = r[i] + src[i];
      } else {
        memcpy(d, src, (size_t)len * sizeof(float));
      }
    }
  }
  return VM_OK;
}
