/* Tests of every CPU backend op against float64 references written here from the formulas of
 * shared/spec/vitmatte.md and the contracts of engine/src/backend.h (naive loops, none of the kernels' code).
 * Each case runs with 1, 2 and 3 threads on random inputs with odd sizes and prints its max abs error and its
 * max rel error (max |got - ref| / max |ref|), failing above 1e-5. The activations are also swept value by value
 * (the kernels use their own vectorisable exp and erf), and shape mismatches must be refused. All of it runs once
 * per instruction set the CPU backend can use here (its AVX-512 and AVX2 micro-kernels, and BLAS), and once with
 * every convolution direct (no Winograd). */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "config.h"
#include "cpu_gemm.h"

#define TOLERANCE 1e-5 /* max |got - ref| / max |ref| */

/* The bound check() applies: TOLERANCE, tightened for cases that test accuracy itself. */
static double tolerance = TOLERANCE;

enum { NUM_BACKENDS = 3 };
static const int thread_counts[NUM_BACKENDS] = {1, 2, 3};

typedef struct suite {
  vm_backend *be[NUM_BACKENDS];
  int cases, failures;
} suite;

/* ---- random numbers (splitmix64), so every run sees the same inputs ---- */

typedef struct rng {
  uint64_t s;
} rng;

static double rng_uniform(rng *r) { /* in [-1, 1) */
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double)(z >> 11) * (2.0 / 9007199254740992.0) - 1.0;
}

static float *random_floats(rng *r, int64_t n, double scale, double offset) {
  float *p = malloc((size_t)n * sizeof *p);
  if (!p) abort();
  for (int64_t i = 0; i < n; i++) p[i] = (float)(offset + scale * rng_uniform(r));
  return p;
}

static double *zeros_d(int64_t n) {
  double *p = calloc((size_t)n, sizeof *p);
  if (!p) abort();
  return p;
}

/* ---- backend helpers ---- */

static void must(vm_status st, const vm_error *err, const char *what) {
  if (st != VM_OK) {
    fprintf(stderr, "FATAL: %s failed: %s\n", what, err->message);
    exit(1);
  }
}

static vm_tensor dev_tensor(vm_backend *be, int64_t n, int64_t h, int64_t w, int64_t c, const float *host) {
  vm_error err = {0};
  vm_tensor t = {NULL, n, h, w, c, VM_ELEM_ACT};
  must(be->ops->alloc(be, (size_t)(n * h * w * c) * sizeof(float), &t.data, &err), &err, "alloc");
  if (host) must(be->ops->upload(be, &t, host, &err), &err, "upload");
  return t;
}

static void dev_tensor_free(vm_backend *be, vm_tensor *t) {
  be->ops->free(be, t->data);
  t->data = NULL;
}

static vm_param dev_param(vm_backend *be, vm_param_kind kind, const float *host, int64_t numel) {
  vm_error err = {0};
  vm_param p = {NULL, numel, kind};
  if (host) must(be->ops->param_upload(be, kind, host, numel, &p.data, &err), &err, "param_upload");
  return p;
}

static void dev_param_free(vm_backend *be, vm_param *p) {
  if (p->data) be->ops->param_free(be, p->data);
  p->data = NULL;
}

static float *download(vm_backend *be, const vm_tensor *t) {
  vm_error err = {0};
  float *host = malloc((size_t)vm_tensor_numel(t) * sizeof *host);
  if (!host) abort();
  must(be->ops->download(be, t, host, &err), &err, "download");
  return host;
}

/* Prints one line for the case and counts a failure when the error is above TOLERANCE (or not finite). */
static void check(suite *s, const char *what, int threads, const float *got, const double *ref, int64_t n) {
  double max_abs = 0.0, max_ref = 0.0;
  bool finite = true;
  for (int64_t i = 0; i < n; i++) {
    if (!isfinite(got[i])) finite = false;
    double d = fabs((double)got[i] - ref[i]);
    if (d > max_abs || isnan(d)) max_abs = d;
    if (fabs(ref[i]) > max_ref) max_ref = fabs(ref[i]);
  }
  double rel = max_ref > 0.0 ? max_abs / max_ref : max_abs;
  bool ok = finite && rel <= tolerance;
  s->cases++;
  if (!ok) s->failures++;
  printf("%s %-78s threads=%d: max abs %.3g, max rel %.3g (%lld values)\n", ok ? "PASS" : "FAIL", what, threads,
         max_abs, rel, (long long)n);
}

static void check_status(suite *s, const char *what, vm_status got, vm_status want, const vm_error *err) {
  bool ok = got == want;
  s->cases++;
  if (!ok) s->failures++;
  printf("%s %-78s: status %d (want %d) \"%s\"\n", ok ? "PASS" : "FAIL", what, (int)got, (int)want, err->message);
}

static const char *act_name(vm_act a) {
  switch (a) {
  case VM_ACT_NONE: return "none";
  case VM_ACT_RELU: return "relu";
  case VM_ACT_GELU: return "gelu";
  case VM_ACT_SIGMOID: return "sigmoid";
  }
  return "?";
}

/* ---- float64 references ---- */

static double ref_act(vm_act a, double v) {
  switch (a) {
  case VM_ACT_RELU: return v > 0 ? v : 0;
  case VM_ACT_GELU: return 0.5 * v * erfc(-v / sqrt(2.0)); /* = (1 + erf(v/sqrt 2)) without cancellation */
  case VM_ACT_SIGMOID: return 1.0 / (1.0 + exp(-v));
  case VM_ACT_NONE: break;
  }
  return v;
}

/* ======================================================================================================== */
/* layer_norm: out = residual + act((x - mean) / sqrt(mean((x - mean)^2) + eps) * gamma + beta)                */

typedef enum alias_mode { ALIAS_NONE, ALIAS_OUT_IS_X, ALIAS_OUT_IS_RESIDUAL } alias_mode;

static void test_layer_norm(suite *s, rng *r, int64_t rows, int64_t c, vm_act act, bool residual, alias_mode alias) {
  const double eps = 1e-6;
  /* an offset far from 0 makes a one-pass variance (E[x^2] - E[x]^2) visibly wrong */
  float *x = random_floats(r, rows * c, 2.0, 7.5);
  float *g = random_floats(r, c, 1.0, 0.5), *b = random_floats(r, c, 0.5, 0.0);
  float *res = residual ? random_floats(r, rows * c, 1.0, 0.0) : NULL;
  double *ref = zeros_d(rows * c);
  for (int64_t i = 0; i < rows; i++) {
    double mean = 0, var = 0;
    for (int64_t j = 0; j < c; j++) mean += x[i * c + j];
    mean /= (double)c;
    for (int64_t j = 0; j < c; j++) var += (x[i * c + j] - mean) * (x[i * c + j] - mean);
    var /= (double)c;
    for (int64_t j = 0; j < c; j++) {
      double y = ref_act(act, (x[i * c + j] - mean) / sqrt(var + eps) * g[j] + b[j]);
      ref[i * c + j] = (res ? res[i * c + j] : 0.0) + y;
    }
  }
  char what[160];
  snprintf(what, sizeof what, "layer_norm rows=%lld C=%lld act=%s residual=%s%s", (long long)rows, (long long)c,
           act_name(act), residual ? "yes" : "no",
           alias == ALIAS_OUT_IS_X ? " out=x" : alias == ALIAS_OUT_IS_RESIDUAL ? " out=residual" : "");
  for (int bi = 0; bi < NUM_BACKENDS; bi++) {
    vm_backend *be = s->be[bi];
    vm_error err = {0};
    vm_tensor tx = dev_tensor(be, 1, rows, 1, c, x);
    vm_tensor tr = res ? dev_tensor(be, rows, 1, 1, c, res) : (vm_tensor){0};
    vm_tensor to = alias == ALIAS_OUT_IS_X          ? tx
                   : alias == ALIAS_OUT_IS_RESIDUAL ? tr
                                                    : dev_tensor(be, rows, 1, 1, c, NULL);
    vm_param pg = dev_param(be, VM_PARAM_VECTOR, g, c), pb = dev_param(be, VM_PARAM_VECTOR, b, c);
    must(be->ops->layer_norm(be, &tx, &pg, &pb, eps, act, res ? &tr : NULL, &to, &err), &err, what);
    float *got = download(be, &to);
    check(s, what, thread_counts[bi], got, ref, rows * c);
    free(got);
    if (alias == ALIAS_NONE) dev_tensor_free(be, &to);
    dev_tensor_free(be, &tx);
    if (res) dev_tensor_free(be, &tr);
    dev_param_free(be, &pg);
    dev_param_free(be, &pb);
  }
  free(x), free(g), free(b), free(res), free(ref);
}

/* ======================================================================================================== */
/* linear: out[rows, N] = residual + act(x[rows, K] w[N, K]^T + b)                                          */

static void test_linear(suite *s, rng *r, int64_t rows, int64_t k, int64_t n, bool bias, vm_act act, bool residual,
                        bool out_is_residual) {
  float *x = random_floats(r, rows * k, 1.0, 0.0), *w = random_floats(r, n * k, 1.0 / sqrt((double)k), 0.0);
  float *b = bias ? random_floats(r, n, 0.5, 0.0) : NULL;
  float *res = residual ? random_floats(r, rows * n, 1.0, 0.0) : NULL;
  double *ref = zeros_d(rows * n);
  for (int64_t i = 0; i < rows; i++)
    for (int64_t o = 0; o < n; o++) {
      double acc = b ? b[o] : 0.0;
      for (int64_t j = 0; j < k; j++) acc += (double)x[i * k + j] * w[o * k + j];
      ref[i * n + o] = (res ? res[i * n + o] : 0.0) + ref_act(act, acc);
    }
  char what[160];
  snprintf(what, sizeof what, "linear rows=%lld K=%lld N=%lld bias=%s act=%s residual=%s", (long long)rows,
           (long long)k, (long long)n, bias ? "yes" : "no", act_name(act),
           !residual ? "no" : out_is_residual ? "aliases out" : "yes");
  for (int bi = 0; bi < NUM_BACKENDS; bi++) {
    vm_backend *be = s->be[bi];
    vm_error err = {0};
    vm_tensor tx = dev_tensor(be, 1, 1, rows, k, x);
    vm_tensor tr = res ? dev_tensor(be, 1, rows, 1, n, res) : (vm_tensor){0};
    vm_tensor to = out_is_residual ? tr : dev_tensor(be, rows, 1, 1, n, NULL);
    vm_param pw = dev_param(be, VM_PARAM_MATRIX, w, n * k), pb = dev_param(be, VM_PARAM_VECTOR, b, n);
    must(be->ops->linear(be, &tx, &pw, b ? &pb : NULL, act, res ? &tr : NULL, &to, &err), &err, what);
    float *got = download(be, &to);
    check(s, what, thread_counts[bi], got, ref, rows * n);
    free(got);
    if (!out_is_residual) dev_tensor_free(be, &to);
    dev_tensor_free(be, &tx);
    if (res) dev_tensor_free(be, &tr);
    dev_param_free(be, &pw);
    dev_param_free(be, &pb);
  }
  free(x), free(w), free(b), free(res), free(ref);
}

/* act over a sweep of x, through a linear layer of `width` outputs whose weights are all 1 (products exact): width
 * 1 takes the narrow-output path, 32 the micro-kernels' tiles and their epilogue (where GELU has its own AVX-512
 * code). Every output is checked against the float64 activation: relative error where |ref| >= 1e-30, since the
 * float kernels use their own exp and erf. */
static void test_activation_sweep(suite *s, vm_act act, double lo, double hi, double tolerance, int64_t width) {
  const int64_t n = 40001;
  float *x = malloc((size_t)n * sizeof *x), *ones = malloc((size_t)width * sizeof *ones);
  double *ref = zeros_d(n);
  if (!x || !ones) abort();
  for (int64_t j = 0; j < width; j++) ones[j] = 1.0f;
  for (int64_t i = 0; i < n; i++) {
    x[i] = (float)(lo + (hi - lo) * (double)i / (double)(n - 1));
    ref[i] = ref_act(act, x[i]);
  }
  vm_backend *be = s->be[1];
  vm_error err = {0};
  vm_tensor tx = dev_tensor(be, 1, 1, n, 1, x), to = dev_tensor(be, 1, 1, n, width, NULL);
  vm_param pw = dev_param(be, VM_PARAM_MATRIX, ones, width);
  must(be->ops->linear(be, &tx, &pw, NULL, act, NULL, &to, &err), &err, "activation sweep");
  float *got = download(be, &to);
  double worst = 0.0, worst_x = 0.0;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < width; j++) {
      const float g = got[i * width + j];
      double e = fabs(ref[i]) >= 1e-30 ? fabs(g - ref[i]) / fabs(ref[i]) : fabs(g - ref[i]);
      if (e > worst || isnan(e)) worst = e, worst_x = x[i];
    }
  bool ok = worst <= tolerance;
  s->cases++;
  if (!ok) s->failures++;
  char what[160];
  snprintf(what, sizeof what, "activation %s on [%g, %g], %lld values x %lld outputs, element by element",
           act_name(act), lo, hi, (long long)n, (long long)width);
  printf("%s %-78s          : max rel %.3g at x = %.6g (limit %.0e)\n", ok ? "PASS" : "FAIL", what, worst, worst_x,
         tolerance);
  free(got), free(x), free(ones), free(ref);
  dev_tensor_free(be, &tx), dev_tensor_free(be, &to);
  dev_param_free(be, &pw);
}

/* ======================================================================================================== */
/* patch_embed: out[y, x, o] = b[o] + pos[y*gw + x, o] + sum_{ky, kx, ci} w[o][ky][kx][ci] px[y*p + ky, x*p + kx, ci] */

static void test_patch_embed(suite *s, rng *r, int64_t n_img, int64_t H, int64_t W, int64_t cin, int p, int64_t c,
                             bool pos) {
  const int64_t gh = H / p, gw = W / p;
  float *px = random_floats(r, n_img * H * W * cin, 1.0, 0.0);
  float *w = random_floats(r, c * p * p * cin, 0.05, 0.0), *b = random_floats(r, c, 0.5, 0.0);
  float *ps = pos ? random_floats(r, gh * gw * c, 0.5, 0.0) : NULL;
  double *ref = zeros_d(n_img * gh * gw * c);
  for (int64_t im = 0; im < n_img; im++)
    for (int64_t y = 0; y < gh; y++)
      for (int64_t x = 0; x < gw; x++)
        for (int64_t o = 0; o < c; o++) {
          double acc = b[o];
          for (int ky = 0; ky < p; ky++)
            for (int kx = 0; kx < p; kx++)
              for (int64_t ci = 0; ci < cin; ci++)
                acc += (double)w[((o * p + ky) * p + kx) * cin + ci] *
                       px[((im * H + y * p + ky) * W + x * p + kx) * cin + ci];
          if (ps) acc += ps[(y * gw + x) * c + o];
          ref[((im * gh + y) * gw + x) * c + o] = acc;
        }
  char what[160];
  snprintf(what, sizeof what, "patch_embed n=%lld %lldx%lld in=%lld p=%d C=%lld pos=%s", (long long)n_img,
           (long long)H, (long long)W, (long long)cin, p, (long long)c, pos ? "yes" : "no");
  for (int bi = 0; bi < NUM_BACKENDS; bi++) {
    vm_backend *be = s->be[bi];
    vm_error err = {0};
    vm_tensor tp = dev_tensor(be, n_img, H, W, cin, px), to = dev_tensor(be, n_img, gh, gw, c, NULL);
    vm_param pw = dev_param(be, VM_PARAM_MATRIX, w, c * p * p * cin), pb = dev_param(be, VM_PARAM_VECTOR, b, c);
    vm_param pp = dev_param(be, VM_PARAM_VECTOR, ps, gh * gw * c);
    must(be->ops->patch_embed(be, &tp, &pw, &pb, p, ps ? &pp : NULL, &to, &err), &err, what);
    float *got = download(be, &to);
    check(s, what, thread_counts[bi], got, ref, n_img * gh * gw * c);
    free(got);
    dev_tensor_free(be, &tp), dev_tensor_free(be, &to);
    dev_param_free(be, &pw), dev_param_free(be, &pb), dev_param_free(be, &pp);
  }
  free(px), free(w), free(b), free(ps), free(ref);
}

/* ======================================================================================================== */
/* window_partition / window_unpartition                                                                     */

static void test_windows(suite *s, rng *r, int64_t n_img, int64_t h, int64_t w, int64_t c, int ws) {
  const int64_t gh = (h + ws - 1) / ws, gw = (w + ws - 1) / ws, nwin = n_img * gh * gw;
  float *x = random_floats(r, n_img * h * w * c, 1.0, 0.0), *res = random_floats(r, n_img * h * w * c, 1.0, 0.0);
  /* windows straight from the definition: token (iy, ix) of window (img, wy, wx) is x[img, wy*ws+iy, wx*ws+ix]
   * or 0 past the edge */
  double *ref_win = zeros_d(nwin * ws * ws * c);
  for (int64_t im = 0; im < n_img; im++)
    for (int64_t wy = 0; wy < gh; wy++)
      for (int64_t wx = 0; wx < gw; wx++)
        for (int iy = 0; iy < ws; iy++)
          for (int ix = 0; ix < ws; ix++)
            for (int64_t ch = 0; ch < c; ch++) {
              int64_t y = wy * ws + iy, xx = wx * ws + ix;
              int64_t wi = (im * gh + wy) * gw + wx;
              double v = (y < h && xx < w) ? x[((im * h + y) * w + xx) * c + ch] : 0.0;
              ref_win[((wi * ws + iy) * ws + ix) * c + ch] = v;
            }
  double *ref_back = zeros_d(n_img * h * w * c), *ref_res = zeros_d(n_img * h * w * c);
  for (int64_t i = 0; i < n_img * h * w * c; i++) {
    ref_back[i] = x[i];
    ref_res[i] = (double)res[i] + x[i];
  }
  char what[160];
  for (int bi = 0; bi < NUM_BACKENDS; bi++) {
    vm_backend *be = s->be[bi];
    vm_error err = {0};
    vm_tensor tx = dev_tensor(be, n_img, h, w, c, x), tw = dev_tensor(be, nwin, ws, ws, c, NULL);
    vm_tensor tb = dev_tensor(be, n_img, h, w, c, NULL), tr = dev_tensor(be, n_img, h, w, c, res);
    vm_tensor trr = dev_tensor(be, n_img, h, w, c, res), to = dev_tensor(be, n_img, h, w, c, NULL);
    must(be->ops->window_partition(be, &tx, ws, &tw, &err), &err, "window_partition");
    float *got = download(be, &tw);
    snprintf(what, sizeof what, "window_partition n=%lld %lldx%lld C=%lld ws=%d -> %lld windows (zero padded)",
             (long long)n_img, (long long)h, (long long)w, (long long)c, ws, (long long)nwin);
    check(s, what, thread_counts[bi], got, ref_win, nwin * ws * ws * c);
    free(got);
    must(be->ops->window_unpartition(be, &tw, ws, NULL, &tb, &err), &err, "window_unpartition");
    got = download(be, &tb);
    snprintf(what, sizeof what, "window_unpartition(partition(x)) == x, n=%lld %lldx%lld ws=%d", (long long)n_img,
             (long long)h, (long long)w, ws);
    check(s, what, thread_counts[bi], got, ref_back, n_img * h * w * c);
    free(got);
    must(be->ops->window_unpartition(be, &tw, ws, &tr, &to, &err), &err, "window_unpartition residual");
    got = download(be, &to);
    snprintf(what, sizeof what, "window_unpartition + residual, n=%lld %lldx%lld ws=%d", (long long)n_img,
             (long long)h, (long long)w, ws);
    check(s, what, thread_counts[bi], got, ref_res, n_img * h * w * c);
    free(got);
    must(be->ops->window_unpartition(be, &tw, ws, &trr, &trr, &err), &err, "window_unpartition residual=out");
    got = download(be, &trr);
    snprintf(what, sizeof what, "window_unpartition + residual aliasing out, n=%lld %lldx%lld ws=%d",
             (long long)n_img, (long long)h, (long long)w, ws);
    check(s, what, thread_counts[bi], got, ref_res, n_img * h * w * c);
    free(got);
    dev_tensor_free(be, &tx), dev_tensor_free(be, &tw), dev_tensor_free(be, &tb);
    dev_tensor_free(be, &tr), dev_tensor_free(be, &trr), dev_tensor_free(be, &to);
  }
  free(x), free(res), free(ref_win), free(ref_back), free(ref_res);
}

/* ======================================================================================================== */
/* attention: per image and head, scores[n, m] = d^-0.5 q_n.k_m (+ q_n.Rh[y1-y2+hh-1] + q_n.Rw[x1-x2+ww-1]),
 * softmax over m, out_n = sum_m p[n, m] v_m                                                                  */

/* ramp: keys grow with their index (by up to `ramp` times), so that the largest score of a row tends to come late (a
 * kernel that walks the keys in blocks then has to rescale what it summed before); 0: none. A ramp over 10 is a step
 * instead: the first 512 keys (the CPU's first key block) small, the rest `ramp` times larger, so that the later
 * blocks rise far above the first block's maxima, past what the CPU's one-pass softmax exponentiates against them. */
static void test_attention(suite *s, rng *r, int64_t n_img, int64_t hh, int64_t ww, int heads, int64_t d, bool rel,
                           double ramp) {
  const int64_t c = heads * d, N = hh * ww;
  /* q and k scaled up so the softmax is far from uniform */
  float *qkv = random_floats(r, n_img * N * 3 * c, 1.0, 0.0);
  for (int64_t t = 0; t < n_img * N; t++)
    for (int64_t j = 0; j < 2 * c; j++)
      qkv[t * 3 * c + j] *= j < c || ramp <= 0.0 ? 2.0f
                            : ramp > 10.0   ? (t % N < 512 ? 0.05f : (float)ramp)
                                            : (float)(0.5 + ramp * (double)(t % N) / (double)N);
  float *rh = rel ? random_floats(r, (2 * hh - 1) * d, 0.5, 0.0) : NULL;
  float *rw = rel ? random_floats(r, (2 * ww - 1) * d, 0.5, 0.0) : NULL;
  double *ref = zeros_d(n_img * N * c), *p = zeros_d(N);
  const double scale = 1.0 / sqrt((double)d);
  for (int64_t im = 0; im < n_img; im++)
    for (int hd = 0; hd < heads; hd++)
      for (int64_t qi = 0; qi < N; qi++) {
        const float *q = qkv + (im * N + qi) * 3 * c + hd * d;
        int64_t y1 = qi / ww, x1 = qi % ww;
        double mx = -INFINITY;
        for (int64_t ki = 0; ki < N; ki++) {
          const float *k = qkv + (im * N + ki) * 3 * c + c + hd * d;
          int64_t y2 = ki / ww, x2 = ki % ww;
          double sc = 0, bh = 0, bw = 0;
          for (int64_t j = 0; j < d; j++) sc += (double)q[j] * k[j];
          sc *= scale;
          if (rel)
            for (int64_t j = 0; j < d; j++) {
              bh += (double)q[j] * rh[(y1 - y2 + hh - 1) * d + j];
              bw += (double)q[j] * rw[(x1 - x2 + ww - 1) * d + j];
            }
          p[ki] = sc + bh + bw;
          if (p[ki] > mx) mx = p[ki];
        }
        double sum = 0;
        for (int64_t ki = 0; ki < N; ki++) sum += (p[ki] = exp(p[ki] - mx));
        double *o = ref + (im * N + qi) * c + hd * d;
        for (int64_t ki = 0; ki < N; ki++) {
          const float *v = qkv + (im * N + ki) * 3 * c + 2 * c + hd * d;
          for (int64_t j = 0; j < d; j++) o[j] += p[ki] / sum * v[j];
        }
      }
  char what[160];
  snprintf(what, sizeof what, "attention n=%lld grid %lldx%lld (N=%lld) heads=%d d=%lld rel_pos=%s%s", (long long)n_img,
           (long long)hh, (long long)ww, (long long)N, heads, (long long)d, rel ? "yes" : "no",
           ramp > 10.0 ? " keys step up past the first 512" : ramp > 0.0 ? " keys ramp up" : "");
  for (int bi = 0; bi < NUM_BACKENDS; bi++) {
    vm_backend *be = s->be[bi];
    vm_error err = {0};
    vm_tensor tq = dev_tensor(be, n_img, hh, ww, 3 * c, qkv), to = dev_tensor(be, n_img, hh, ww, c, NULL);
    vm_param ph = dev_param(be, VM_PARAM_VECTOR, rh, (2 * hh - 1) * d);
    vm_param pw = dev_param(be, VM_PARAM_VECTOR, rw, (2 * ww - 1) * d);
    must(be->ops->attention(be, &tq, heads, rel ? &ph : NULL, rel ? &pw : NULL, &to, &err), &err, what);
    float *got = download(be, &to);
    check(s, what, thread_counts[bi], got, ref, n_img * N * c);
    free(got);
    dev_tensor_free(be, &tq), dev_tensor_free(be, &to);
    dev_param_free(be, &ph), dev_param_free(be, &pw);
  }
  free(qkv), free(rh), free(rw), free(ref), free(p);
}

/* ======================================================================================================== */
/* conv2d over [detail, upsample_x2(low)]                                                                    */

/* Bilinear x2 (align_corners=False) along one axis as the spec tabulates it:
 * out[0] = in[0]; out[2k] = .25 in[k-1] + .75 in[k] (k >= 1); out[2k+1] = .75 in[k] + .25 in[k+1] (k <= n-2);
 * out[2n-1] = in[n-1]. Gives the two taps and their weights for output index o. */
static void ref_up_taps(int64_t o, int64_t n, int64_t *i0, int64_t *i1, double *w0, double *w1) {
  int64_t k = o / 2;
  if (o == 0 || o == 2 * n - 1) {
    *i0 = *i1 = o == 0 ? 0 : n - 1;
    *w0 = 1.0, *w1 = 0.0;
  } else if (o % 2 == 0) {
    *i0 = k - 1, *i1 = k, *w0 = 0.25, *w1 = 0.75;
  } else {
    *i0 = k, *i1 = k + 1, *w0 = 0.75, *w1 = 0.25;
  }
}

static void test_conv2d(suite *s, rng *r, int64_t H, int64_t W, int64_t cd, int64_t cl, int64_t cout, int k,
                        int stride, bool bias, vm_act act) {
  /* H, W: the detail size (low is H/2 x W/2); cd = 0 or cl = 0 leaves that input out */
  const int64_t hl = H / 2, wl = W / 2, cin = cd + cl, pad = k / 2;
  const int64_t ho = (H + 2 * pad - k) / stride + 1, wo = (W + 2 * pad - k) / stride + 1;
  float *det = cd ? random_floats(r, H * W * cd, 1.0, 0.0) : NULL;
  float *low = cl ? random_floats(r, hl * wl * cl, 1.0, 0.0) : NULL;
  float *w = random_floats(r, cout * k * k * cin, 1.0 / sqrt((double)(k * k * cin)), 0.0);
  float *b = bias ? random_floats(r, cout, 0.5, 0.0) : NULL;
  /* the concatenated input, materialised in double */
  double *in = zeros_d(H * W * cin);
  for (int64_t y = 0; y < H; y++)
    for (int64_t x = 0; x < W; x++) {
      for (int64_t ch = 0; ch < cd; ch++) in[(y * W + x) * cin + ch] = det[(y * W + x) * cd + ch];
      if (!cl) continue;
      int64_t ya, yb, xa, xb;
      double wya, wyb, wxa, wxb;
      ref_up_taps(y, hl, &ya, &yb, &wya, &wyb);
      ref_up_taps(x, wl, &xa, &xb, &wxa, &wxb);
      for (int64_t ch = 0; ch < cl; ch++) {
        double top = wxa * low[(ya * wl + xa) * cl + ch] + wxb * low[(ya * wl + xb) * cl + ch];
        double bottom = wxa * low[(yb * wl + xa) * cl + ch] + wxb * low[(yb * wl + xb) * cl + ch];
        in[(y * W + x) * cin + cd + ch] = wya * top + wyb * bottom;
      }
    }
  double *ref = zeros_d(ho * wo * cout);
  for (int64_t oy = 0; oy < ho; oy++)
    for (int64_t ox = 0; ox < wo; ox++)
      for (int64_t o = 0; o < cout; o++) {
        double acc = b ? b[o] : 0.0;
        for (int ky = 0; ky < k; ky++)
          for (int kx = 0; kx < k; kx++) {
            int64_t y = oy * stride + ky - pad, x = ox * stride + kx - pad;
            if (y < 0 || y >= H || x < 0 || x >= W) continue;
            for (int64_t ci = 0; ci < cin; ci++)
              acc += w[((o * k + ky) * k + kx) * cin + ci] * in[(y * W + x) * cin + ci];
          }
        ref[(oy * wo + ox) * cout + o] = ref_act(act, acc);
      }
  char what[160];
  snprintf(what, sizeof what,
           "conv2d k=%d s=%d %lldx%lld detail=%lld low=%lld (%lldx%lld) -> %lldx%lldx%lld bias=%s act=%s",
           k, stride, (long long)H, (long long)W, (long long)cd, (long long)cl, (long long)hl, (long long)wl,
           (long long)ho, (long long)wo, (long long)cout, bias ? "yes" : "no", act_name(act));
  for (int bi = 0; bi < NUM_BACKENDS; bi++) {
    vm_backend *be = s->be[bi];
    vm_error err = {0};
    vm_tensor td = cd ? dev_tensor(be, 1, H, W, cd, det) : (vm_tensor){0};
    vm_tensor tl = cl ? dev_tensor(be, 1, hl, wl, cl, low) : (vm_tensor){0};
    vm_tensor to = dev_tensor(be, 1, ho, wo, cout, NULL);
    vm_param pw = dev_param(be, VM_PARAM_MATRIX, w, cout * k * k * cin), pb = dev_param(be, VM_PARAM_VECTOR, b, cout);
    must(be->ops->conv2d(be, cd ? &td : NULL, cl ? &tl : NULL, &pw, b ? &pb : NULL, k, stride, act, &to, &err), &err,
         what);
    float *got = download(be, &to);
    check(s, what, thread_counts[bi], got, ref, ho * wo * cout);
    free(got);
    if (cd) dev_tensor_free(be, &td);
    if (cl) dev_tensor_free(be, &tl);
    dev_tensor_free(be, &to);
    dev_param_free(be, &pw), dev_param_free(be, &pb);
  }
  free(det), free(low), free(w), free(b), free(in), free(ref);
}

/* ======================================================================================================== */
/* shape checks: a mismatch is VM_ERR_INTERNAL with a message, never a crash                                */

static void test_shape_errors(suite *s) {
  vm_backend *be = s->be[0];
  vm_error err = {0};
  float wv[6 * 4] = {0};
  vm_tensor x = dev_tensor(be, 1, 2, 3, 4, NULL), y = dev_tensor(be, 1, 2, 3, 5, NULL);
  vm_param w = dev_param(be, VM_PARAM_MATRIX, wv, 6 * 4);
  check_status(s, "linear with a weight of the wrong size is refused",
               be->ops->linear(be, &x, &w, NULL, VM_ACT_NONE, NULL, &y, &err), VM_ERR_INTERNAL, &err);
  check_status(s, "attention with channels not divisible into q, k, v is refused",
               be->ops->attention(be, &x, 1, NULL, NULL, &y, &err), VM_ERR_INTERNAL, &err);
  check_status(s, "window_partition into a tensor of the wrong shape is refused",
               be->ops->window_partition(be, &x, 2, &y, &err), VM_ERR_INTERNAL, &err);
  check_status(s, "conv2d with neither input is refused",
               be->ops->conv2d(be, NULL, NULL, &w, NULL, 3, 1, VM_ACT_NONE, &y, &err), VM_ERR_INTERNAL, &err);
  check_status(s, "layer_norm without gamma is refused",
               be->ops->layer_norm(be, &x, NULL, NULL, 1e-6, VM_ACT_NONE, NULL, &x, &err), VM_ERR_INTERNAL, &err);
  dev_tensor_free(be, &x), dev_tensor_free(be, &y);
  dev_param_free(be, &w);
}

/* The scratch of a 12 MP photo's forward pass (ViTMatte-S at 3008 x 4000, N = 47000 tokens in global attention)
 * must stay bounded: tens of MiB per thread, not the 53 GB of an N x N score tensor. */
static void test_scratch_bounded(suite *s) {
  vm_config cfg = {0};
  cfg.hidden_size = 384, cfg.num_attention_heads = 6, cfg.head_dim = 64, cfg.num_hidden_layers = 12;
  cfg.num_layers_run = 12, cfg.mlp_hidden = 1536, cfg.patch_size = 16, cfg.num_channels = 4, cfg.window_size = 14;
  for (int i = 0; i < 12; i++) {
    cfg.window_block[i] = i % 3 != 2;
    cfg.residual_block[i] = i % 3 == 2;
  }
  cfg.decoder_in_channels = 384, cfg.num_convstream = 3, cfg.num_fusion = 4;
  const int cs[3] = {48, 96, 192}, fs[4] = {256, 128, 64, 32};
  memcpy(cfg.convstream_hidden_sizes, cs, sizeof cs);
  memcpy(cfg.fusion_hidden_sizes, fs, sizeof fs);
  for (int bi = 0; bi < NUM_BACKENDS; bi++) {
    vm_backend *be = s->be[bi];
    size_t bytes = be->ops->scratch_estimate(be, &cfg, 3008, 4000);
    size_t per_thread = bytes / (size_t)thread_counts[bi];
    bool ok = bytes > 0 && per_thread <= (size_t)64 << 20;
    s->cases++;
    if (!ok) s->failures++;
    printf("%s %-78s threads=%d: %.1f MiB per thread, %.1f MiB in all (limit 64 MiB per thread)\n",
           ok ? "PASS" : "FAIL",
           "scratch_estimate ViTMatte-S 3008x4000 (N=47000)", thread_counts[bi], per_thread / 1048576.0,
           bytes / 1048576.0);
  }
}

/* Every case on backends of one instruction set; returns the failures. */
static int run_all(int *cases) {
  suite s = {0};
  for (int i = 0; i < NUM_BACKENDS; i++) {
    vm_error err = {0};
    must(vm_cpu_backend_create(thread_counts[i], &s.be[i], &err), &err, "vm_cpu_backend_create");
    printf("backend %d: \"%s\", act_size %zu\n", i, s.be[i]->name, s.be[i]->act_size);
  }
  rng r = {12345};

  {
    /* Fresh backends first: ops with fewer tasks than threads must not hand a task to a thread that has no scratch
     * (scratch grows lazily, so later cases would hide that behind buffers left by earlier ones). */
    suite fresh = {0};
    for (int i = 0; i < NUM_BACKENDS; i++) {
      vm_error err = {0};
      must(vm_cpu_backend_create(thread_counts[i], &fresh.be[i], &err), &err, "vm_cpu_backend_create");
    }
    test_attention(&fresh, &r, 1, 3, 5, 1, 8, true, 0.0);                          /* one task */
    test_conv2d(&fresh, &r, 4, 6, 3, 2, 5, 3, 1, true, VM_ACT_RELU);        /* one tile */
    test_patch_embed(&fresh, &r, 1, 16, 16, 4, 16, 8, true);              /* one patch */
    test_linear(&fresh, &r, 2, 7, 5, true, VM_ACT_NONE, true, true);       /* aliased residual, 2 rows */
    for (int i = 0; i < NUM_BACKENDS; i++) fresh.be[i]->ops->destroy(fresh.be[i]);
    s.cases += fresh.cases, s.failures += fresh.failures;
  }

  test_layer_norm(&s, &r, 37, 383, VM_ACT_NONE, false, ALIAS_NONE);
  test_layer_norm(&s, &r, 41, 192, VM_ACT_GELU, true, ALIAS_NONE);
  test_layer_norm(&s, &r, 29, 97, VM_ACT_GELU, true, ALIAS_OUT_IS_RESIDUAL);
  test_layer_norm(&s, &r, 33, 385, VM_ACT_NONE, false, ALIAS_OUT_IS_X);
  test_layer_norm(&s, &r, 7, 64, VM_ACT_RELU, true, ALIAS_OUT_IS_X);
  test_layer_norm(&s, &r, 5, 31, VM_ACT_SIGMOID, false, ALIAS_NONE);

  const vm_act acts[] = {VM_ACT_NONE, VM_ACT_RELU, VM_ACT_GELU, VM_ACT_SIGMOID};
  for (int a = 0; a < 4; a++) test_linear(&s, &r, 301, 97, 131, true, acts[a], false, false);
  test_linear(&s, &r, 5, 33, 17, false, VM_ACT_NONE, false, false);
  test_linear(&s, &r, 1031, 16, 1, true, VM_ACT_SIGMOID, false, false); /* the matting head's last layer */
  test_linear(&s, &r, 97, 3072, 70, true, VM_ACT_NONE, true, true);     /* ViTMatte-B's fc2 depth: k in chunks */
  /* A 16384-deep product summed in one chain of float accumulators loses ~3e-6 (relative); in chunks of at most 512
   * (as BLAS blocks k) it stays near 4e-7: held to 1e-6 here. */
  tolerance = 1e-6;
  test_linear(&s, &r, 40, 16384, 36, false, VM_ACT_NONE, false, false);
  tolerance = TOLERANCE;
  test_linear(&s, &r, 300, 37, 3, true, VM_ACT_GELU, true, true);       /* narrow, residual in place */
  test_linear(&s, &r, 1031, 384, 77, true, VM_ACT_GELU, true, false);
  test_linear(&s, &r, 1031, 131, 383, true, VM_ACT_NONE, true, true);
  test_linear(&s, &r, 3, 129, 65, false, VM_ACT_RELU, true, true);

  for (int64_t width = 1; width <= 32; width += 31) {
    test_activation_sweep(&s, VM_ACT_GELU, -20.0, 20.0, 1e-6, width);
    test_activation_sweep(&s, VM_ACT_GELU, -3.0, 3.0, 1e-6, width);
    test_activation_sweep(&s, VM_ACT_GELU, -1e9, 1e9, 1e-6, width); /* where exp's argument leaves float's range */
    test_activation_sweep(&s, VM_ACT_SIGMOID, -100.0, 100.0, 1e-6, width);
    test_activation_sweep(&s, VM_ACT_RELU, -5.0, 5.0, 0.0, width);
  }

  test_patch_embed(&s, &r, 1, 28, 44, 4, 4, 24, true);
  test_patch_embed(&s, &r, 1, 48, 80, 4, 16, 40, true);
  test_patch_embed(&s, &r, 2, 50, 37, 3, 8, 19, false); /* sizes not multiples of p: the remainder is ignored */
  test_patch_embed(&s, &r, 1, 32, 1120, 64, 16, 9, true); /* K = 16384: tiles are parts of a patch row */

  test_windows(&s, &r, 1, 30, 17, 5, 7);
  test_windows(&s, &r, 2, 14, 9, 3, 14);
  test_windows(&s, &r, 1, 28, 42, 2, 14); /* no padding needed */

  test_attention(&s, &r, 4, 7, 7, 3, 8, true, 0.0);     /* several windows */
  test_attention(&s, &r, 1, 5, 9, 2, 16, true, 0.0);    /* hh != ww */
  test_attention(&s, &r, 1, 9, 5, 2, 16, false, 0.0);
  test_attention(&s, &r, 3, 14, 14, 6, 64, true, 0.0);  /* ViTMatte-S windows */
  test_attention(&s, &r, 1, 60, 9, 1, 16, true, 0.0);   /* narrow, N = 540: the first key block spans 57 key rows
                                                            (over the 32 that AVX-512 holds in registers: gathers) */
  test_attention(&s, &r, 1, 41, 73, 2, 16, true, 0.0);  /* global, N = 2993: several query blocks, the last partial */
  test_attention(&s, &r, 1, 23, 29, 1, 24, false, 0.0);
  test_attention(&s, &r, 1, 47, 53, 1, 16, true, 4.0);   /* N = 2491: later key blocks hold the row maxima */
  test_attention(&s, &r, 2, 37, 31, 2, 8, true, 4.0);    /* 2 images of N = 1147: a second, short key block */
  test_attention(&s, &r, 1, 33, 35, 1, 16, true, 14.0); /* N = 1155: later blocks > 30 above the first's maxima */
  test_attention(&s, &r, 1, 29, 37, 1, 16, false, 14.0);

  test_conv2d(&s, &r, 13, 11, 5, 0, 7, 3, 1, true, VM_ACT_RELU);     /* detail only */
  test_conv2d(&s, &r, 13, 11, 5, 0, 7, 3, 2, true, VM_ACT_NONE);     /* stride 2, odd input */
  test_conv2d(&s, &r, 12, 14, 0, 9, 6, 3, 1, true, VM_ACT_GELU);     /* low only */
  test_conv2d(&s, &r, 14, 10, 3, 6, 5, 3, 1, true, VM_ACT_SIGMOID);  /* both: low is 7x5 */
  test_conv2d(&s, &r, 18, 26, 4, 11, 9, 3, 2, false, VM_ACT_RELU);   /* both, stride 2, no bias */
  test_conv2d(&s, &r, 13, 11, 6, 0, 5, 1, 1, true, VM_ACT_NONE);     /* 1x1 detail only */
  test_conv2d(&s, &r, 10, 14, 0, 7, 4, 1, 1, true, VM_ACT_SIGMOID);  /* 1x1 low only */
  test_conv2d(&s, &r, 14, 6, 5, 3, 2, 1, 1, false, VM_ACT_GELU);     /* 1x1 both */
  test_conv2d(&s, &r, 13, 11, 6, 0, 5, 1, 2, true, VM_ACT_RELU);     /* 1x1 stride 2 */
  test_conv2d(&s, &r, 6, 230, 40, 560, 5, 3, 1, true, VM_ACT_RELU);  /* Cin 600: tiles are parts of a row */
  test_conv2d(&s, &r, 40, 36, 4, 64, 32, 3, 1, true, VM_ACT_RELU);   /* the last fusion block's shape */
  test_conv2d(&s, &r, 1, 33, 5, 0, 7, 3, 1, true, VM_ACT_NONE);      /* one output row: half a Winograd tile row */
  test_conv2d(&s, &r, 4, 200, 3, 600, 40, 3, 1, true, VM_ACT_GELU);  /* Winograd: several blocks per tile row */
  test_conv2d(&s, &r, 10, 12, 8, 192, 40, 3, 2, true, VM_ACT_RELU);  /* direct, Cin 200: k in 5 chunks of 2 taps */

  test_shape_errors(&s);
  test_scratch_bounded(&s);

  for (int i = 0; i < NUM_BACKENDS; i++) {
    printf("backend \"%s\": peak memory %.1f MiB\n", s.be[i]->name, s.be[i]->ops->peak_memory(s.be[i]) / 1048576.0);
    s.be[i]->ops->destroy(s.be[i]);
  }
  *cases += s.cases;
  return s.failures;
}

/* The backends take the widest kernels the CPU has, or the lesser one asked for. */
static int check_isa(const char *asked, int *cases) {
  const char *want = "BLAS";
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  const int fma = __builtin_cpu_supports("fma");
  if (fma && __builtin_cpu_supports("avx2")) want = "AVX2";
  if (fma && __builtin_cpu_supports("avx512f") && !asked) want = "AVX-512";
#endif
  if (asked && !strcmp(asked, "blas")) want = "BLAS";
  const char *got = cpu_gemm_isa_select()->name; /* what every CPU backend created now runs */
  const int ok = strcmp(got, want) == 0;
  printf("%s %-78s          : %s (expected %s)\n", ok ? "PASS" : "FAIL", "the kernels picked for this CPU", got, want);
  (*cases)++;
  return ok ? 0 : 1;
}

int main(void) {
  /* The CPU backend picks its micro-kernels at run time (AVX-512, AVX2, or BLAS products); VITMATTE_CPU_ISA makes it
   * take a lesser one, and VITMATTE_CPU_CONV=direct keeps 3x3 convolutions off the Winograd path, so every path this
   * CPU can run is checked. */
  static const struct { const char *isa, *conv; } configs[] = {{NULL, NULL}, {NULL, "direct"}, {"avx2", NULL},
                                                               {"blas", NULL}};
  int cases = 0, failures = 0;
  for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++) {
    if (configs[i].isa)
      setenv("VITMATTE_CPU_ISA", configs[i].isa, 1);
    else
      unsetenv("VITMATTE_CPU_ISA");
    if (configs[i].conv)
      setenv("VITMATTE_CPU_CONV", configs[i].conv, 1);
    else
      unsetenv("VITMATTE_CPU_CONV");
    printf("== VITMATTE_CPU_ISA=%s VITMATTE_CPU_CONV=%s\n", configs[i].isa ? configs[i].isa : "(best)",
           configs[i].conv ? configs[i].conv : "(default)");
    failures += check_isa(configs[i].isa, &cases);
    failures += run_all(&cases);
  }
  unsetenv("VITMATTE_CPU_ISA");
  unsetenv("VITMATTE_CPU_CONV");
  printf("%d of %d checks passed\n", cases - failures, cases);
  return failures ? 1 : 0;
}
