/* test_cuda_ops.c - every op of the CUDA backend module against a float64 reference written here from the spec's
 * formulas, in fp32, fp16 and bf16, plus memory, banding and forward-pass recording checks.
 *
 * Usage: test_cuda_ops MODULE.so [fp32] [fp16] [bf16]   (default: all three)
 * Exits 77 (skip) when the module reports no usable GPU, 1 when any check fails. Inputs are random (fixed seeds),
 * sizes odd where the contract allows it; in fp16/bf16 the inputs and weights are rounded to the type on the host
 * first, so the reference sees exactly what the GPU sees. Outputs are poisoned with NaN before each op, so an
 * element the op never writes fails the check. */
#include <dlfcn.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "preprocess.h"

typedef struct suite {
  vm_backend *be;
  vm_precision prec;
  const char *pname;
  int passed, failed;
  uint64_t rng;
  const char *(*last_attention)(vm_backend *); /* the module's vm_cuda_debug_last_attention, when it has one */
} suite;

/* ---- numbers ---- */

static double urand(suite *s) { /* uniform in [-1, 1) */
  s->rng ^= s->rng << 13;
  s->rng ^= s->rng >> 7;
  s->rng ^= s->rng << 17;
  return (double)(s->rng >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static float bits_to_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, 4);
  return f;
}
static uint32_t f32_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* Round to the nearest bf16 (ties to even), back as float. */
static float round_bf16(float f) {
  uint32_t u = f32_to_bits(f);
  if ((u & 0x7f800000u) == 0x7f800000u) return f;
  u += 0x7fffu + ((u >> 16) & 1u);
  return bits_to_f32(u & 0xffff0000u);
}

/* Round to the nearest fp16 (ties to even, subnormals, overflow to inf), back as float. */
static float round_f16(float f) {
  double a = fabs((double)f);
  if (a == 0.0 || isnan(f)) return f;
  if (a >= 65520.0) return f > 0 ? INFINITY : -INFINITY;
  int e;
  frexp(a, &e); /* a = m 2^e, m in [0.5, 1) */
  int exp2 = e - 1; /* a in [2^exp2, 2^(exp2+1)) */
  if (exp2 < -14) exp2 = -14; /* subnormal spacing */
  double ulp = ldexp(1.0, exp2 - 10);
  double q = a / ulp;
  double r = nearbyint(q); /* default rounding mode: ties to even */
  double v = r * ulp;
  return (float)(f < 0 ? -v : v);
}

static float round_to(vm_precision p, float f) {
  return p == VM_PRECISION_FP16 ? round_f16(f) : p == VM_PRECISION_BF16 ? round_bf16(f) : f;
}

static float *rand_array(suite *s, int64_t n, double scale) {
  float *a = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) a[i] = round_to(s->prec, (float)(scale * urand(s)));
  return a;
}

static double gelu(double x) { return 0.5 * x * (1.0 + erf(x / sqrt(2.0))); }
static double act_ref(double x, vm_act a) {
  switch (a) {
  case VM_ACT_RELU: return x > 0 ? x : 0;
  case VM_ACT_GELU: return gelu(x);
  case VM_ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
  default: return x;
  }
}

/* ---- checks ---- */

static double tolerance(const suite *s) {
  return s->prec == VM_PRECISION_FP32 ? 1e-5 : s->prec == VM_PRECISION_FP16 ? 5e-3 : 2e-2;
}

/* Error relative to max(1, max|ref|); NaN fails. */
static void check(suite *s, const char *what, const float *got, const double *ref, int64_t n, double tol) {
  double m = 0.0, rm = 0.0;
  int64_t worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)got[i] - ref[i]);
    if (isnan(d)) { /* a NaN anywhere fails: the comparison below would let the next finite value replace it */
      m = d;
      worst = i;
      break;
    }
    if (d > m) {
      m = d;
      worst = i;
    }
    if (fabs(ref[i]) > rm) rm = fabs(ref[i]);
  }
  double rel = m / (rm > 1.0 ? rm : 1.0);
  bool ok = rel <= tol;
  printf("%s %-4s %-58s max err %.3e (rel %.3e, max|ref| %.3g, tol %.1e)", ok ? "ok  " : "FAIL", s->pname, what, m,
         rel, rm, tol);
  if (!ok && n > 0) printf("  [at %lld: got %.6g want %.6g]", (long long)worst, (double)got[worst], ref[worst]);
  printf("\n");
  if (ok)
    s->passed++;
  else
    s->failed++;
}

static void expect(suite *s, bool ok, const char *what) {
  printf("%s %-4s %s\n", ok ? "ok  " : "FAIL", s->pname, what);
  if (ok)
    s->passed++;
  else
    s->failed++;
}

/* ---- device helpers (a failing call aborts the run: the checks after it would mean nothing) ---- */

static void die(const char *what, const vm_error *e) {
  fprintf(stderr, "FAIL %s: %s (%s)\n", what, e->message, vm_status_string(e->status));
  exit(1);
}

static vm_tensor dev_typed(suite *s, vm_elem elem, int64_t n, int64_t h, int64_t w, int64_t c) {
  vm_tensor t = {NULL, n, h, w, c, elem};
  vm_error e = {0};
  size_t bytes = (size_t)(n * h * w * c) * vm_tensor_elem_size(s->be, &t);
  if (s->be->ops->alloc(s->be, bytes ? bytes : 16, &t.data, &e) != VM_OK) die("alloc", &e);
  return t;
}
static vm_tensor dev(suite *s, int64_t n, int64_t h, int64_t w, int64_t c) {
  return dev_typed(s, VM_ELEM_ACT, n, h, w, c);
}
static void put(suite *s, const vm_tensor *t, const float *host) {
  vm_error e = {0};
  if (s->be->ops->upload(s->be, t, host, &e) != VM_OK) die("upload", &e);
}
static void poison(suite *s, const vm_tensor *t) {
  int64_t n = vm_tensor_numel(t);
  float *p = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  for (int64_t i = 0; i < n; i++) p[i] = NAN;
  put(s, t, p);
  free(p);
}
static float *get(suite *s, const vm_tensor *t) {
  int64_t n = vm_tensor_numel(t);
  float *h = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1));
  vm_error e = {0};
  if (s->be->ops->download(s->be, t, h, &e) != VM_OK) die("download", &e);
  return h;
}
static void drop(suite *s, vm_tensor *t) {
  s->be->ops->free(s->be, t->data);
  t->data = NULL;
}
static vm_param param(suite *s, vm_param_kind kind, const float *host, int64_t numel) {
  vm_param p = {NULL, numel, kind};
  vm_error e = {0};
  if (s->be->ops->param_upload(s->be, kind, host, numel, &p.data, &e) != VM_OK) die("param_upload", &e);
  return p;
}
static void drop_param(suite *s, vm_param *p) {
  s->be->ops->param_free(s->be, p->data);
  p->data = NULL;
}
static void op_ok(vm_status st, const vm_error *e, const char *what) {
  if (st != VM_OK) die(what, e);
}

/* ---- references ---- */

static void ref_layer_norm(const float *x, const float *g, const float *b, double eps, vm_act act, const float *res,
                           int64_t rows, int64_t C, double *out) {
  for (int64_t r = 0; r < rows; r++) {
    const float *xr = x + r * C;
    double mean = 0, var = 0;
    for (int64_t c = 0; c < C; c++) mean += xr[c];
    mean /= (double)C;
    for (int64_t c = 0; c < C; c++) var += (xr[c] - mean) * (xr[c] - mean);
    var /= (double)C;
    double rstd = 1.0 / sqrt(var + eps);
    for (int64_t c = 0; c < C; c++) {
      double y = act_ref((xr[c] - mean) * rstd * g[c] + b[c], act);
      out[r * C + c] = y + (res ? res[r * C + c] : 0.0);
    }
  }
}

static void ref_linear(const float *x, const float *w, const float *b, vm_act act, const float *res, int64_t rows,
                       int64_t K, int64_t N, double *out) {
  for (int64_t r = 0; r < rows; r++)
    for (int64_t n = 0; n < N; n++) {
      double acc = b ? b[n] : 0.0;
      for (int64_t k = 0; k < K; k++) acc += (double)x[r * K + k] * w[n * K + k];
      out[r * N + n] = act_ref(acc, act) + (res ? res[r * N + n] : 0.0);
    }
}

/* decomposed rel-pos attention, straight from the spec (section 2.4); the bias terms q.Rh and q.Rw of a query are
 * computed once per key row / column, which is the same sum */
static void ref_attention(const float *qkv, int64_t nimg, int64_t hh, int64_t ww, int64_t C, int heads,
                          const float *rh, const float *rw, double *out) {
  const int64_t N = hh * ww, d = C / heads, rows = nimg * heads * N;
  const double scale = 1.0 / sqrt((double)d);
  /* rows in parallel: the float64 references were most of the suite's time (about 10 s per precision section on
   * one core), so a run with several sections outlived its time limit */
#pragma omp parallel
  {
    double *sc = malloc(sizeof(double) * (size_t)N), *bh = malloc(sizeof(double) * (size_t)hh),
           *bw = malloc(sizeof(double) * (size_t)ww), *acc = malloc(sizeof(double) * (size_t)d);
    if (!sc || !bh || !bw || !acc) abort();
#pragma omp for schedule(dynamic, 16)
    for (int64_t row = 0; row < rows; row++) {
      const int64_t b = row / (heads * N), h = (row / N) % heads, i = row % N;
      const float *q = qkv + (b * N + i) * 3 * C + h * d;
      int64_t y1 = i / ww, x1 = i % ww;
      for (int64_t y2 = 0; y2 < hh; y2++) {
        bh[y2] = 0;
        if (rh)
          for (int64_t c = 0; c < d; c++) bh[y2] += (double)q[c] * rh[(y1 - y2 + hh - 1) * d + c];
      }
      for (int64_t x2 = 0; x2 < ww; x2++) {
        bw[x2] = 0;
        if (rw)
          for (int64_t c = 0; c < d; c++) bw[x2] += (double)q[c] * rw[(x1 - x2 + ww - 1) * d + c];
      }
      double mx = -INFINITY;
      for (int64_t m = 0; m < N; m++) {
        const float *k = qkv + (b * N + m) * 3 * C + C + h * d;
        double s = 0;
        for (int64_t c = 0; c < d; c++) s += (double)q[c] * scale * k[c];
        sc[m] = s + bh[m / ww] + bw[m % ww];
        if (sc[m] > mx) mx = sc[m];
      }
      double sum = 0;
      for (int64_t c = 0; c < d; c++) acc[c] = 0;
      for (int64_t m = 0; m < N; m++) {
        double p = exp(sc[m] - mx);
        sum += p;
        const float *v = qkv + (b * N + m) * 3 * C + 2 * C + h * d;
        for (int64_t c = 0; c < d; c++) acc[c] += p * v[c];
      }
      for (int64_t c = 0; c < d; c++) out[(b * N + i) * C + h * d + c] = acc[c] / sum;
    }
    free(sc);
    free(bh);
    free(bw);
    free(acc);
  }
}

/* bilinear x2 of low[h][w][c] at output (Y, X), align_corners=False */
static double upsample_at(const float *low, int64_t lh, int64_t lw, int64_t cl, int64_t Y, int64_t X, int64_t c) {
  double sy = 0.5 * Y - 0.25, sx = 0.5 * X - 0.25;
  if (sy < 0) sy = 0;
  if (sx < 0) sx = 0;
  int64_t y0 = (int64_t)sy, x0 = (int64_t)sx;
  int64_t y1 = y0 + 1 < lh ? y0 + 1 : lh - 1, x1 = x0 + 1 < lw ? x0 + 1 : lw - 1;
  double ly = sy - y0, lx = sx - x0;
  double a = low[(y0 * lw + x0) * cl + c], b = low[(y0 * lw + x1) * cl + c];
  double cc = low[(y1 * lw + x0) * cl + c], dd = low[(y1 * lw + x1) * cl + c];
  return (1 - ly) * ((1 - lx) * a + lx * b) + ly * ((1 - lx) * cc + lx * dd);
}

static void ref_conv(const float *detail, const float *low, int64_t H, int64_t W, int64_t Cd, int64_t Cl,
                     const float *w, const float *b, int k, int stride, vm_act act, int64_t Cout, double *out) {
  int pad = k / 2;
  int64_t Ho = (H + 2 * pad - k) / stride + 1, Wo = (W + 2 * pad - k) / stride + 1, Cin = Cd + Cl;
  double *col = malloc(sizeof(double) * (size_t)(k * k * Cin));
  for (int64_t oy = 0; oy < Ho; oy++)
    for (int64_t ox = 0; ox < Wo; ox++) {
      for (int ky = 0; ky < k; ky++)
        for (int kx = 0; kx < k; kx++) {
          int64_t iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;
          bool in = iy >= 0 && iy < H && ix >= 0 && ix < W;
          for (int64_t c = 0; c < Cin; c++) {
            double v = 0;
            if (in) v = c < Cd ? detail[(iy * W + ix) * Cd + c] : upsample_at(low, H / 2, W / 2, Cl, iy, ix, c - Cd);
            col[(ky * k + kx) * Cin + c] = v;
          }
        }
      for (int64_t o = 0; o < Cout; o++) {
        double acc = b ? b[o] : 0.0;
        for (int64_t j = 0; j < k * k * Cin; j++) acc += col[j] * w[o * k * k * Cin + j];
        out[(oy * Wo + ox) * Cout + o] = act_ref(acc, act);
      }
    }
  free(col);
}

/* ---- tests ---- */

static void test_copy(suite *s) {
  int64_t n = 5000001; /* more than one staging chunk */
  float *x = rand_array(s, n, 3.0);
  vm_tensor t = dev(s, 1, 1, n, 1);
  put(s, &t, x);
  float *y = get(s, &t);
  double *r = malloc(sizeof(double) * (size_t)n);
  for (int64_t i = 0; i < n; i++) r[i] = x[i];
  check(s, "upload/download round trip (5000001 values, exact)", y, r, n, 0.0);
  free(x);
  free(y);
  free(r);
  drop(s, &t);
}

/* The 8-bit input pre-processed on the device against vm_preprocess + upload (bit for bit), over more than one
 * staging band, and the alpha's checked, cropped download into strided rows. */
static void test_input(suite *s) {
  const int h = 1501, w = 3001, Hp = 1504, Wp = 3008; /* 2 bands of the 16 MiB staging buffer */
  uint8_t *rgbt = malloc((size_t)h * w * 4), *rgb = malloc((size_t)h * w * 3), *tri = malloc((size_t)h * w);
  for (size_t i = 0; i < (size_t)h * w; i++) {
    for (int c = 0; c < 4; c++) rgbt[4 * i + c] = (uint8_t)(s->rng = s->rng * 6364136223846793005ull + 1, s->rng >> 56);
    memcpy(rgb + 3 * i, rgbt + 4 * i, 3);
    tri[i] = rgbt[4 * i + 3];
  }
  vm_image im = {rgb, w, h, 3, 0, VM_PIXEL_U8}, tm = {tri, w, h, 1, 0, VM_PIXEL_U8};
  float *pre = malloc(sizeof(float) * 4 * (size_t)Hp * Wp);
  vm_preprocess(&im, &tm, Hp, Wp, pre, 0);
  double *ref = malloc(sizeof(double) * 4 * (size_t)Hp * Wp);
  for (size_t i = 0; i < 4 * (size_t)Hp * Wp; i++) ref[i] = round_to(s->prec, pre[i]);
  vm_tensor px = dev(s, 1, Hp, Wp, 4);
  poison(s, &px);
  vm_error e = {0};
  op_ok(s->be->ops->upload_rgbt8(s->be, &px, rgbt, h, w, &e), &e, "upload_rgbt8");
  float *got = get(s, &px);
  check(s, "upload_rgbt8 3001x1501 in 3008x1504 = preprocess+upload (exact)", got, ref, 4 * (int64_t)Hp * Wp, 0.0);
  free(got);
  drop(s, &px);

  /* alpha: f32 whatever the precision; the caller's rows are wider than the image and must keep their tail */
  const int aw = 333, ah = 250, AW = 352, AH = 256;
  const size_t stride = 400;
  vm_tensor alpha = dev_typed(s, VM_ELEM_F32, 1, AH, AW, 1);
  float *a = malloc(sizeof(float) * AH * AW), *dst = malloc(sizeof(float) * stride * ah);
  for (int i = 0; i < AH * AW; i++) a[i] = (float)(0.5 + 0.5 * urand(s));
  a[(AH - 1) * AW + AW - 1] = NAN; /* in the padding: not the caller's business */
  put(s, &alpha, a);
  for (size_t i = 0; i < stride * ah; i++) dst[i] = -7.0f;
  bool finite = false, ok = true;
  op_ok(s->be->ops->download_alpha(s->be, &alpha, dst, stride, aw, ah, &finite, &e), &e, "download_alpha");
  for (int y = 0; y < ah; y++)
    for (size_t x = 0; x < stride; x++) ok &= dst[y * stride + x] == (x < (size_t)aw ? a[y * AW + x] : -7.0f);
  expect(s, finite && ok, "download_alpha 333x250 of 352x256 into rows of 400: exact, the rows' tail untouched");
  a[(ah - 1) * AW + aw - 1] = INFINITY; /* the last pixel of the image */
  put(s, &alpha, a);
  for (size_t i = 0; i < stride * ah; i++) dst[i] = -7.0f;
  op_ok(s->be->ops->download_alpha(s->be, &alpha, dst, stride, aw, ah, &finite, &e), &e, "download_alpha");
  ok = true;
  for (size_t i = 0; i < stride * ah; i++) ok &= dst[i] == -7.0f;
  expect(s, !finite && ok, "download_alpha with an inf in the image: reported, the caller's rows untouched");
  drop(s, &alpha);
  free(a);
  free(dst);
  free(ref);
  free(pre);
  free(rgbt);
  free(rgb);
  free(tri);
}

static void test_layer_norm(suite *s) {
  const int64_t sizes[][2] = {{1000, 384}, {77, 192}, {33, 1100}, {5, 7}};
  const vm_act acts[] = {VM_ACT_NONE, VM_ACT_GELU, VM_ACT_NONE, VM_ACT_GELU};
  for (int t = 0; t < 4; t++) {
    int64_t rows = sizes[t][0], C = sizes[t][1];
    for (int mode = 0; mode < 3; mode++) { /* 0: out separate; 1: in place; 2: residual aliasing out */
      float *x = rand_array(s, rows * C, 2.0);
      for (int64_t i = 0; i < rows * C; i++) x[i] = round_to(s->prec, x[i] + 0.5f); /* a mean to remove */
      float *g = rand_array(s, C, 1.0), *bb = rand_array(s, C, 0.5), *res = rand_array(s, rows * C, 1.0);
      for (int64_t c = 0; c < C; c++) g[c] += 1.0f;
      vm_param G = param(s, VM_PARAM_VECTOR, g, C), B = param(s, VM_PARAM_VECTOR, bb, C);
      vm_tensor X = dev(s, 1, rows, 1, C), O = dev(s, 1, rows, 1, C);
      put(s, &X, x);
      double *ref = malloc(sizeof(double) * (size_t)(rows * C));
      vm_error e = {0};
      char what[128];
      if (mode == 0) {
        poison(s, &O);
        ref_layer_norm(x, g, bb, 1e-6, acts[t], NULL, rows, C, ref);
        op_ok(s->be->ops->layer_norm(s->be, &X, &G, &B, 1e-6, acts[t], NULL, &O, &e), &e, "layer_norm");
      } else if (mode == 1) {
        ref_layer_norm(x, g, bb, 1e-6, acts[t], NULL, rows, C, ref);
        op_ok(s->be->ops->layer_norm(s->be, &X, &G, &B, 1e-6, acts[t], NULL, &X, &e), &e, "layer_norm");
      } else {
        put(s, &O, res);
        ref_layer_norm(x, g, bb, 1e-6, acts[t], res, rows, C, ref);
        op_ok(s->be->ops->layer_norm(s->be, &X, &G, &B, 1e-6, acts[t], &O, &O, &e), &e, "layer_norm");
      }
      float *got = get(s, mode == 1 ? &X : &O);
      snprintf(what, sizeof what, "layer_norm %lldx%lld %s%s", (long long)rows, (long long)C,
               acts[t] == VM_ACT_GELU ? "+gelu" : "", mode == 0 ? "" : mode == 1 ? " in place" : " +residual=out");
      check(s, what, got, ref, rows * C, tolerance(s));
      free(got);
      free(ref);
      free(x);
      free(g);
      free(bb);
      free(res);
      drop(s, &X);
      drop(s, &O);
      drop_param(s, &G);
      drop_param(s, &B);
    }
  }
}

static void test_linear(suite *s) {
  struct {
    int64_t rows, K, N;
    vm_act act;
    int bias, res; /* res: 0 none, 1 residual distinct, 2 residual aliasing out */
    int f32;       /* output (and residual) f32 whatever the activation type */
  } cases[] = {
      {777, 384, 1152, VM_ACT_NONE, 1, 0, 0}, {777, 384, 1536, VM_ACT_GELU, 1, 0, 0},
      {300, 1536, 384, VM_ACT_NONE, 1, 2, 0}, {301, 192, 384, VM_ACT_NONE, 0, 0, 0},
      {129, 64, 72, VM_ACT_GELU, 1, 1, 0},    {1001, 16, 1, VM_ACT_SIGMOID, 1, 0, 0},
      {513, 16, 1, VM_ACT_NONE, 1, 2, 0},     {17, 40, 24, VM_ACT_RELU, 0, 2, 0},
      /* the alpha: the head's 16 -> 1 product with the sigmoid, stored in f32 */
      {1001, 16, 1, VM_ACT_SIGMOID, 1, 0, 1}, {513, 16, 1, VM_ACT_NONE, 1, 1, 1},
      {300, 384, 96, VM_ACT_NONE, 1, 2, 1},   {129, 64, 72, VM_ACT_GELU, 1, 1, 1},
      {77, 192, 40, VM_ACT_SIGMOID, 0, 0, 1},
      /* enough 128 x 128 tiles for two waves on a 132-SM card: the fp32 3xTF32 product's 128-row variant */
      {4100, 384, 1160, VM_ACT_NONE, 1, 2, 0},
  };
  for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
    int64_t rows = cases[t].rows, K = cases[t].K, N = cases[t].N;
    vm_elem odt = cases[t].f32 ? VM_ELEM_F32 : VM_ELEM_ACT;
    float *x = rand_array(s, rows * K, 1.0), *w = rand_array(s, N * K, 1.0 / sqrt((double)K));
    float *b = rand_array(s, N, 0.5), *res = rand_array(s, rows * N, 1.0);
    if (cases[t].f32) /* values the activation type could not hold: an f32 residual must stay f32 */
      for (int64_t i = 0; i < rows * N; i++) res[i] += 1e-4f * (float)urand(s);
    vm_param Wp = param(s, VM_PARAM_MATRIX, w, N * K), Bp = param(s, VM_PARAM_VECTOR, b, N);
    vm_tensor X = dev(s, 1, 1, rows, K), O = dev_typed(s, odt, 1, 1, rows, N), R = dev_typed(s, odt, 1, 1, rows, N);
    put(s, &X, x);
    if (cases[t].res == 2)
      put(s, &O, res);
    else
      poison(s, &O);
    put(s, &R, res);
    double *ref = malloc(sizeof(double) * (size_t)(rows * N));
    ref_linear(x, w, cases[t].bias ? b : NULL, cases[t].act, cases[t].res ? res : NULL, rows, K, N, ref);
    vm_error e = {0};
    const vm_tensor *rp = cases[t].res == 1 ? &R : cases[t].res == 2 ? &O : NULL;
    op_ok(s->be->ops->linear(s->be, &X, &Wp, cases[t].bias ? &Bp : NULL, cases[t].act, rp, &O, &e), &e, "linear");
    float *got = get(s, &O);
    char what[128];
    snprintf(what, sizeof what, "linear %lldx%lld -> %lld%s%s%s%s", (long long)rows, (long long)K, (long long)N,
             cases[t].bias ? " +bias" : "", cases[t].act == VM_ACT_NONE ? "" : " +act",
             cases[t].res == 1 ? " +residual" : cases[t].res == 2 ? " +residual=out" : "",
             cases[t].f32 ? " (f32 out)" : "");
    /* With an f32 output the inputs are exact in the activation type and nothing is rounded to it afterwards. */
    check(s, what, got, ref, rows * N, cases[t].f32 ? 1e-5 : tolerance(s));
    free(got);
    free(ref);
    free(x);
    free(w);
    free(b);
    free(res);
    drop(s, &X);
    drop(s, &O);
    drop(s, &R);
    drop_param(s, &Wp);
    drop_param(s, &Bp);
  }
  if (s->prec != VM_PRECISION_FP32) { /* backend.h: other ops refuse f32 tensors in a half precision */
    float g[8] = {1, 1, 1, 1, 1, 1, 1, 1}, z[8] = {0};
    vm_param G = param(s, VM_PARAM_VECTOR, g, 8), B = param(s, VM_PARAM_VECTOR, z, 8);
    vm_tensor X = dev(s, 1, 1, 4, 8), O = dev_typed(s, VM_ELEM_F32, 1, 1, 4, 8);
    vm_error e = {0};
    vm_status st = s->be->ops->layer_norm(s->be, &X, &G, &B, 1e-6, VM_ACT_NONE, NULL, &O, &e);
    expect(s, st == VM_ERR_INTERNAL, "layer_norm refuses an f32 output in a half precision");
    drop(s, &X);
    drop(s, &O);
    drop_param(s, &G);
    drop_param(s, &B);
  }
}

static void test_patch_embed(suite *s) {
  const int p = 16;
  const int64_t H = 80, W = 112, in_ch = 4, C = 128, th = H / p, tw = W / p;
  for (int with_pos = 0; with_pos < 2; with_pos++) {
    float *px = rand_array(s, H * W * in_ch, 1.0), *w = rand_array(s, C * p * p * in_ch, 1.0 / 32.0);
    float *b = rand_array(s, C, 0.5), *pos = rand_array(s, th * tw * C, 0.5);
    vm_param Wp = param(s, VM_PARAM_MATRIX, w, C * p * p * in_ch), Bp = param(s, VM_PARAM_VECTOR, b, C);
    vm_param Pp = param(s, VM_PARAM_VECTOR, pos, th * tw * C);
    vm_tensor X = dev(s, 1, H, W, in_ch), O = dev(s, 1, th, tw, C);
    put(s, &X, px);
    poison(s, &O);
    double *ref = malloc(sizeof(double) * (size_t)(th * tw * C));
    for (int64_t ty = 0; ty < th; ty++)
      for (int64_t tx = 0; tx < tw; tx++)
        for (int64_t o = 0; o < C; o++) {
          double acc = b[o] + (with_pos ? pos[(ty * tw + tx) * C + o] : 0.0);
          for (int ky = 0; ky < p; ky++)
            for (int kx = 0; kx < p; kx++)
              for (int64_t ci = 0; ci < in_ch; ci++)
                acc += (double)px[((ty * p + ky) * W + tx * p + kx) * in_ch + ci] *
                       w[((o * p + ky) * p + kx) * in_ch + ci];
          ref[(ty * tw + tx) * C + o] = acc;
        }
    vm_error e = {0};
    op_ok(s->be->ops->patch_embed(s->be, &X, &Wp, &Bp, p, with_pos ? &Pp : NULL, &O, &e), &e, "patch_embed");
    float *got = get(s, &O);
    check(s, with_pos ? "patch_embed 80x112x4 -> 5x7x128 +pos" : "patch_embed 80x112x4 -> 5x7x128", got, ref,
          th * tw * C, tolerance(s));
    free(got);
    free(ref);
    free(px);
    free(w);
    free(b);
    free(pos);
    drop(s, &X);
    drop(s, &O);
    drop_param(s, &Wp);
    drop_param(s, &Bp);
    drop_param(s, &Pp);
  }
}

static void test_windows(suite *s) {
  const int64_t shapes[][3] = {{10, 20, 128}, {29, 15, 36}, {14, 28, 8}};
  const int ws = 14;
  for (int t = 0; t < 3; t++) {
    int64_t h = shapes[t][0], w = shapes[t][1], C = shapes[t][2];
    int64_t nwy = (h + ws - 1) / ws, nwx = (w + ws - 1) / ws, nwin = nwy * nwx;
    float *x = rand_array(s, h * w * C, 1.0), *res = rand_array(s, h * w * C, 1.0);
    vm_tensor X = dev(s, 1, h, w, C), Wn = dev(s, nwin, ws, ws, C), O = dev(s, 1, h, w, C);
    put(s, &X, x);
    poison(s, &Wn);
    vm_error e = {0};
    op_ok(s->be->ops->window_partition(s->be, &X, ws, &Wn, &e), &e, "window_partition");
    float *win = get(s, &Wn);
    double *ref = malloc(sizeof(double) * (size_t)(nwin * ws * ws * C));
    for (int64_t wi = 0; wi < nwin; wi++)
      for (int64_t yy = 0; yy < ws; yy++)
        for (int64_t xx = 0; xx < ws; xx++)
          for (int64_t c = 0; c < C; c++) {
            int64_t y = (wi / nwx) * ws + yy, x0 = (wi % nwx) * ws + xx;
            ref[((wi * ws + yy) * ws + xx) * C + c] = (y < h && x0 < w) ? x[(y * w + x0) * C + c] : 0.0;
          }
    char what[128];
    snprintf(what, sizeof what, "window_partition %lldx%lldx%lld -> %lld windows (exact)", (long long)h, (long long)w,
             (long long)C, (long long)nwin);
    check(s, what, win, ref, nwin * ws * ws * C, 0.0);
    /* unpartition of the partitioned windows with a residual aliasing the output: res + x */
    put(s, &O, res);
    op_ok(s->be->ops->window_unpartition(s->be, &Wn, ws, &O, &O, &e), &e, "window_unpartition");
    float *got = get(s, &O);
    double *r2 = malloc(sizeof(double) * (size_t)(h * w * C));
    for (int64_t i = 0; i < h * w * C; i++) r2[i] = (double)x[i] + res[i];
    snprintf(what, sizeof what, "window_unpartition %lldx%lldx%lld +residual=out", (long long)h, (long long)w,
             (long long)C);
    check(s, what, got, r2, h * w * C, s->prec == VM_PRECISION_FP32 ? 1e-6 : tolerance(s));
    /* and without a residual: the round trip is exact */
    poison(s, &O);
    op_ok(s->be->ops->window_unpartition(s->be, &Wn, ws, NULL, &O, &e), &e, "window_unpartition");
    free(got);
    got = get(s, &O);
    for (int64_t i = 0; i < h * w * C; i++) r2[i] = x[i];
    snprintf(what, sizeof what, "window partition/unpartition round trip %lldx%lld (exact)", (long long)h,
             (long long)w);
    check(s, what, got, r2, h * w * C, 0.0);
    free(got);
    free(r2);
    free(win);
    free(ref);
    free(x);
    free(res);
    drop(s, &X);
    drop(s, &Wn);
    drop(s, &O);
  }
}

static void test_attention(suite *s) {
  struct {
    int64_t n, hh, ww, C;
    int heads, rel;
    const char *what;
  } cases[] = {
      {3, 14, 14, 384, 6, 1, "windowed 3 x 14x14, 6 heads"},
      {1, 10, 20, 128, 2, 1, "global 10x20 (2 heads)"},
      {1, 40, 70, 192, 3, 1, "global 40x70 (keys by row, partial tiles)"},
      {1, 30, 20, 128, 2, 1, "global 30x20 (3 rows per key tile)"},
      /* block tiles' compact bias strides (VITMATTE_CUDA_ATTN_SMEM=compact: the smallest 8 mod 16 at or above hh and
       * ww): 24 and 8, 8 and 56 */
      {2, 24, 8, 128, 2, 1, "2 images 24x8 (block tiles, compact strides 24 / 8)"},
      {1, 8, 56, 128, 2, 1, "global 8x56 (block tiles, compact strides 8 / 56)"},
      {2, 9, 11, 128, 2, 0, "2 images 9x11, no rel-pos"},
      {1, 12, 13, 128, 4, 1, "head dim 32"},
      {1, 9, 70, 256, 2, 1, "head dim 128"},
      {1, 11, 9, 120, 3, 1, "head dim 40 (generic path)"},
      {1, 8, 300, 64, 1, 1, "global 8x300 (wide: f16 bias tables)"},
      {1, 1, 1, 128, 2, 1, "one token"},
      /* more query blocks than the persistent grid has blocks: each block takes several */
      {200, 14, 14, 384, 6, 1, "200 windows 14x14, 6 heads (several items per block)"},
      {40, 3, 64, 384, 6, 1, "40 images 3x64 (row tiles, several items per block)"},
      /* the global layers' shape: many key tiles through the pipelined kernel, a partial tile in every row */
      {1, 24, 100, 384, 6, 1, "global 24x100, 6 heads (many key tiles)"},
      {2, 17, 64, 128, 2, 0, "2 images 17x64, no rel-pos (row tiles)"},
      /* the fp32 register-tiled kernel (head dim 64, 64+ tokens wide): 128-query blocks over several image rows, key
       * rows in three column chunks (the last partial), a partial last query block */
      {1, 32, 64, 384, 6, 1, "global 32x64, 6 heads (a 1024^2 image's rows)"},
      {1, 9, 130, 128, 2, 1, "global 9x130 (three key-column chunks)"},
      /* one key tile a query block (T = 1: every tile's P^T in buffer 0, then the next item's first load), and T = 2 */
      {300, 1, 64, 128, 2, 1, "300 images 1x64 (one key tile, several items per block)"},
      {3, 1, 100, 128, 2, 1, "3 images 1x100 (two key tiles: two column chunks)"},
      /* the fp32 3xTF32 kernel's block tiles keep both bias tables in shared memory up to hh + ww = 72 (then the
       * generic kernel takes the layer) */
      {1, 52, 20, 128, 2, 1, "global 52x20 (hh + ww = 72: block tiles' largest tables)"},
      {1, 53, 20, 128, 2, 1, "global 53x20 (hh + ww = 73)"},
      /* bias tables too large for a consumer card's shared memory (VITMATTE_CUDA_SMEM_LIMIT=99K / 64K): the
       * tensor-core kernel hands over to the generic one, which keeps its tables in global memory */
      {1, 3, 470, 64, 1, 1, "global 3x470 (wide: bias tables over 99 KB)"},
      {1, 400, 12, 32, 1, 1, "global 400x12 (tall: bias tables over 64 KB)"},
      /* head dimension 128 at 99K / 64K: the generic kernel's tiles alone need 101 KB, so it streams Q, K and V
       * through 64-column chunks (tables in shared memory, then wide ones in global memory) */
      {2, 9, 23, 256, 2, 1, "head dim 128, 2 images 9x23 (streamed at 99K/64K)"},
      {1, 3, 470, 256, 2, 1, "head dim 128, global 3x470 (streamed, global tables at 99K/64K)"},
  };
  for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
    int64_t n = cases[t].n, hh = cases[t].hh, ww = cases[t].ww, C = cases[t].C, d = C / cases[t].heads;
    int64_t N = hh * ww;
    float *qkv = rand_array(s, n * N * 3 * C, 1.0);
    for (int64_t i = 0; i < n * N * 3 * C; i++) qkv[i] = round_to(s->prec, qkv[i] * 2.0f); /* peaky softmax */
    float *rh = rand_array(s, (2 * hh - 1) * d, 0.3), *rw = rand_array(s, (2 * ww - 1) * d, 0.3);
    for (int64_t i = 0; i < (2 * hh - 1) * d; i++) rh[i] = (float)(0.3 * (2.0 * i / ((2 * hh - 1) * d) - 1.0)) + rh[i];
    vm_param Rh = param(s, VM_PARAM_VECTOR, rh, (2 * hh - 1) * d), Rw = param(s, VM_PARAM_VECTOR, rw, (2 * ww - 1) * d);
    vm_tensor Q = dev(s, n, hh, ww, 3 * C), O = dev(s, n, hh, ww, C);
    put(s, &Q, qkv);
    poison(s, &O);
    double *ref = malloc(sizeof(double) * (size_t)(n * N * C));
    ref_attention(qkv, n, hh, ww, C, cases[t].heads, cases[t].rel ? rh : NULL, cases[t].rel ? rw : NULL, ref);
    vm_error e = {0};
    op_ok(s->be->ops->attention(s->be, &Q, cases[t].heads, cases[t].rel ? &Rh : NULL, cases[t].rel ? &Rw : NULL, &O,
                                &e),
          &e, "attention");
    float *got = get(s, &O);
    /* which kernel ran, in the line: a pass named for a kernel may see another take a case (too little shared
     * memory, code for an older card) */
    const char *kernel = s->last_attention ? s->last_attention(s->be) : NULL;
    char what[192];
    snprintf(what, sizeof what, "attention %s [%s]", cases[t].what, kernel ? kernel : "kernel not reported");
    check(s, what, got, ref, n * N * C, tolerance(s));
    free(got);
    free(ref);
    free(qkv);
    free(rh);
    free(rw);
    drop(s, &Q);
    drop(s, &O);
    drop_param(s, &Rh);
    drop_param(s, &Rw);
  }
}

static void conv_case(suite *s, int64_t H, int64_t W, int64_t Cd, int64_t Cl, int64_t Cout, int k, int stride,
                      vm_act act, int bias, const char *what) {
  int pad = k / 2;
  int64_t Ho = (H + 2 * pad - k) / stride + 1, Wo = (W + 2 * pad - k) / stride + 1, Cin = Cd + Cl;
  float *det = Cd ? rand_array(s, H * W * Cd, 1.0) : NULL;
  float *low = Cl ? rand_array(s, (H / 2) * (W / 2) * Cl, 1.0) : NULL;
  float *w = rand_array(s, Cout * k * k * Cin, 1.0 / sqrt((double)(k * k * Cin)));
  float *b = rand_array(s, Cout, 0.3);
  vm_param Wp = param(s, VM_PARAM_MATRIX, w, Cout * k * k * Cin), Bp = param(s, VM_PARAM_VECTOR, b, Cout);
  vm_tensor D = {0}, L = {0};
  if (Cd) {
    D = dev(s, 1, H, W, Cd);
    put(s, &D, det);
  }
  if (Cl) {
    L = dev(s, 1, H / 2, W / 2, Cl);
    put(s, &L, low);
  }
  vm_tensor O = dev(s, 1, Ho, Wo, Cout);
  poison(s, &O);
  double *ref = malloc(sizeof(double) * (size_t)(Ho * Wo * Cout));
  ref_conv(det, low, H, W, Cd, Cl, w, bias ? b : NULL, k, stride, act, Cout, ref);
  vm_error e = {0};
  op_ok(s->be->ops->conv2d(s->be, Cd ? &D : NULL, Cl ? &L : NULL, &Wp, bias ? &Bp : NULL, k, stride, act, &O, &e),
        &e, "conv2d");
  float *got = get(s, &O);
  check(s, what, got, ref, Ho * Wo * Cout, tolerance(s));
  free(got);
  free(ref);
  free(det);
  free(low);
  free(w);
  free(b);
  if (Cd) drop(s, &D);
  if (Cl) drop(s, &L);
  drop(s, &O);
  drop_param(s, &Wp);
  drop_param(s, &Bp);
}

static void test_conv(suite *s, const char *tag) {
  char what[160];
#define CONV(H, W, Cd, Cl, Co, k, st, act, b, name)                          \
  do {                                                                       \
    snprintf(what, sizeof what, "conv2d %s%s", name, tag);                   \
    conv_case(s, H, W, Cd, Cl, Co, k, st, act, b, what);                     \
  } while (0)
  CONV(13, 17, 24, 0, 16, 3, 1, VM_ACT_RELU, 1, "3x3 detail 13x17x24 -> 16 +relu");
  /* an epilogue cuDNN cannot fuse (bias + GELU): ours, after the convolution or in the NCHW copy back */
  CONV(11, 19, 24, 0, 16, 3, 1, VM_ACT_GELU, 1, "3x3 detail 11x19x24 -> 16 +gelu");
  CONV(32, 48, 4, 0, 48, 3, 2, VM_ACT_RELU, 1, "3x3/2 image 32x48x4 -> 48");
  CONV(33, 47, 8, 0, 16, 3, 2, VM_ACT_NONE, 0, "3x3/2 odd 33x47x8 -> 16, no bias");
  CONV(12, 18, 0, 16, 8, 3, 1, VM_ACT_RELU, 1, "3x3 low only 6x9x16 -> 12x18x8");
  CONV(12, 18, 4, 64, 32, 3, 1, VM_ACT_RELU, 1, "3x3 concat [4 | up(64)] -> 32 (fusion 3)");
  CONV(20, 14, 48, 128, 64, 3, 1, VM_ACT_RELU, 1, "3x3 concat [48 | up(128)] -> 64 (fusion 2)");
  /* many tile rows, the last one partial; and the tensor-core kernel's largest channel counts (128 in, 64 out) */
  CONV(2102, 40, 4, 64, 32, 3, 1, VM_ACT_RELU, 1, "3x3 concat [4 | up(64)] -> 32, 2102 rows");
  CONV(14, 20, 64, 64, 64, 3, 1, VM_ACT_RELU, 1, "3x3 concat [64 | up(64)] -> 64");
  CONV(16, 22, 32, 0, 16, 3, 1, VM_ACT_RELU, 1, "3x3 head 32 -> 16");
  CONV(9, 7, 32, 0, 16, 1, 1, VM_ACT_GELU, 1, "1x1 detail 9x7x32 -> 16 +gelu");
  CONV(10, 10, 192, 0, 192, 3, 1, VM_ACT_NONE, 0, "3x3 residual block 192 -> 192");
#undef CONV
}

/* forward_begin/forward_end: eager pass, captured pass, replays; each with fresh input uploaded before the pass. */
static void test_recording(suite *s) {
  if (!s->be->ops->forward_begin || !s->be->ops->forward_end) {
    expect(s, false, "forward_begin/forward_end are implemented");
    return;
  }
  const int64_t rows = 200, C = 128, N = 256;
  float *g = rand_array(s, C, 0.2), *bb = rand_array(s, C, 0.2), *w = rand_array(s, N * C, 0.1), *b = rand_array(s, N, 0.1);
  for (int64_t c = 0; c < C; c++) g[c] += 1.0f;
  vm_param G = param(s, VM_PARAM_VECTOR, g, C), B = param(s, VM_PARAM_VECTOR, bb, C);
  vm_param Wp = param(s, VM_PARAM_MATRIX, w, N * C), Bp = param(s, VM_PARAM_VECTOR, b, N);
  vm_tensor X = dev(s, 1, 1, rows, C), Y = dev(s, 1, 1, rows, C), Z = dev(s, 1, 1, rows, N);
  double *t = malloc(sizeof(double) * (size_t)(rows * C)), *ref = malloc(sizeof(double) * (size_t)(rows * N));
  float *tf = malloc(sizeof(float) * (size_t)(rows * C));
  const uint64_t key = 0x5eed;
  /* a pass with no ops (what a measuring pass looks like) must not be recorded */
  s->be->ops->forward_begin(s->be, key);
  vm_error e = {0};
  op_ok(s->be->ops->forward_end(s->be, &e), &e, "forward_end");
  const char *graphs = getenv("VITMATTE_CUDA_GRAPHS");
  bool graphs_on = !(graphs && graphs[0] == '0');
  for (int pass = 0; pass < 5; pass++) {
    float *x = rand_array(s, rows * C, 1.0);
    put(s, &X, x);
    poison(s, &Z);
    int replayed = s->be->ops->forward_begin(s->be, key);
    if (!replayed) {
      op_ok(s->be->ops->layer_norm(s->be, &X, &G, &B, 1e-6, VM_ACT_GELU, NULL, &Y, &e), &e, "layer_norm");
      op_ok(s->be->ops->linear(s->be, &Y, &Wp, &Bp, VM_ACT_NONE, NULL, &Z, &e), &e, "linear");
    }
    op_ok(s->be->ops->forward_end(s->be, &e), &e, "forward_end");
    float *got = get(s, &Z);
    ref_layer_norm(x, g, bb, 1e-6, VM_ACT_GELU, NULL, rows, C, t);
    for (int64_t i = 0; i < rows * C; i++) tf[i] = round_to(s->prec, (float)t[i]);
    ref_linear(tf, w, b, VM_ACT_NONE, NULL, rows, C, N, ref);
    char what[128];
    snprintf(what, sizeof what, "recorded pass %d (%s)", pass, replayed ? "replayed" : "ops issued");
    check(s, what, got, ref, rows * N, tolerance(s));
    bool want = graphs_on && pass >= 2;
    snprintf(what, sizeof what, "pass %d %s", pass, want ? "is replayed" : "issues its ops");
    expect(s, (replayed != 0) == want, what);
    free(x);
    free(got);
  }
  /* freeing memory drops the recordings: the next pass at the key issues its ops again */
  vm_tensor tmp = dev(s, 1, 1, 1, 8);
  drop(s, &tmp);
  int replayed = s->be->ops->forward_begin(s->be, key);
  if (!replayed) {
    op_ok(s->be->ops->layer_norm(s->be, &X, &G, &B, 1e-6, VM_ACT_GELU, NULL, &Y, &e), &e, "layer_norm");
    op_ok(s->be->ops->linear(s->be, &Y, &Wp, &Bp, VM_ACT_NONE, NULL, &Z, &e), &e, "linear");
  }
  op_ok(s->be->ops->forward_end(s->be, &e), &e, "forward_end");
  expect(s, replayed == 0, "a pass after free() issues its ops");
  free(t);
  free(ref);
  free(tf);
  free(g);
  free(bb);
  free(w);
  free(b);
  drop(s, &X);
  drop(s, &Y);
  drop(s, &Z);
  drop_param(s, &G);
  drop_param(s, &B);
  drop_param(s, &Wp);
  drop_param(s, &Bp);
}

static void test_memory(suite *s) {
  void *p = NULL;
  vm_error e = {0};
  vm_status st = s->be->ops->alloc(s->be, (size_t)1 << 50, &p, &e);
  printf("     %-4s 1 PiB allocation: %s: %s\n", s->pname, vm_status_string(st), e.message);
  expect(s, st == VM_ERR_DEVICE_OUT_OF_MEMORY && strstr(e.message, "MiB") != NULL && p == NULL,
         "a too-large allocation fails with VM_ERR_DEVICE_OUT_OF_MEMORY and says how much");
  size_t peak = s->be->ops->peak_memory(s->be);
  printf("     %-4s peak device memory so far: %.1f MiB\n", s->pname, (double)peak / (1 << 20));
  expect(s, peak > 0, "peak_memory reports the memory held");
}

/* s->be made anew in s's precision with the environment variables vars[0] = values[0], ... (n of them) set while it
 * is created (the backend reads its switches then). */
static void create_with_env(suite *s, vm_cuda_backend_create_fn create, int n, const char *const *vars,
                            const char *const *values) {
  vm_error e = {0};
  for (int i = 0; i < n; i++) setenv(vars[i], values[i], 1);
  vm_status st = create(0, s->prec, &s->be, &e);
  for (int i = 0; i < n; i++) unsetenv(vars[i]);
  if (st != VM_OK) die("vm_cuda_backend_create", &e);
}

/* The attention cases again on a context made with the environment variables vars[i] = values[i] set (which
 * kernel runs). */
static void attention_with_envs(suite *s, vm_cuda_backend_create_fn create, int n, const char *const *vars,
                                const char *const *values, const char *label) {
  create_with_env(s, create, n, vars, values);
  printf("== %s, %s\n", s->pname, label);
  test_attention(s);
  s->be->ops->destroy(s->be);
}

static void attention_with_env(suite *s, vm_cuda_backend_create_fn create, const char *var, const char *value,
                               const char *label) {
  attention_with_envs(s, create, 1, &var, &value, label);
}

/* The convolution cases again on a context made with the environment variables vars[i] = values[i] set (which
 * layout and band size cuDNN gets); tag goes into every line. */
static void conv_with_env(suite *s, vm_cuda_backend_create_fn create, int n, const char *const *vars,
                          const char *const *values, const char *tag) {
  create_with_env(s, create, n, vars, values);
  test_conv(s, tag);
  s->be->ops->destroy(s->be);
}

static int usage(void) {
  fprintf(stderr, "usage: test_cuda_ops libvitmatte-cuda.so [fp32] [fp16] [bf16] [attention] [input]\n"
                  "  attention: only the attention cases (every kernel), for quick checks of kernel edits\n"
                  "  input: only the 8-bit input upload and the alpha download\n");
  return 2;
}

int main(int argc, char **argv) {
  /* line by line: a run cut short (a time limit) shows the case it was on, not the last 4 KiB block written */
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) return usage();
  void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
  if (!h) {
    fprintf(stderr, "FAIL cannot open %s: %s\n", argv[1], dlerror());
    return 1;
  }
  vm_cuda_backend_abi_fn abi = (vm_cuda_backend_abi_fn)dlsym(h, VM_CUDA_ABI_SYMBOL);
  vm_cuda_backend_create_fn create = (vm_cuda_backend_create_fn)dlsym(h, VM_CUDA_CREATE_SYMBOL);
  if (!abi || !create || abi() != VM_BACKEND_ABI_VERSION) {
    fprintf(stderr, "FAIL %s does not export the backend interface %d\n", argv[1], VM_BACKEND_ABI_VERSION);
    return 1;
  }
  const char *names[3] = {"fp32", "fp16", "bf16"};
  const vm_precision precs[3] = {VM_PRECISION_FP32, VM_PRECISION_FP16, VM_PRECISION_BF16};
  bool want[3] = {false, false, false}, any = false, attention_only = false, input_only = false;
  for (int i = 2; i < argc; i++) {
    bool known = !strcmp(argv[i], "attention") || !strcmp(argv[i], "input");
    attention_only = attention_only || !strcmp(argv[i], "attention");
    input_only = input_only || !strcmp(argv[i], "input");
    for (int p = 0; p < 3; p++)
      if (!strcmp(argv[i], names[p])) want[p] = known = any = true;
    if (!known) return usage();
  }
  for (int p = 0; p < 3 && !any; p++) want[p] = true;
  int passed = 0, failed = 0;
  for (int p = 0; p < 3; p++) {
    if (!want[p]) continue;
    suite s = {0};
    s.last_attention = (const char *(*)(vm_backend *))dlsym(h, "vm_cuda_debug_last_attention");
    s.prec = precs[p];
    s.pname = names[p];
    s.rng = 0x9E3779B97F4A7C15ull + (uint64_t)p;
    vm_error e = {0};
    vm_status st = create(0, precs[p], &s.be, &e);
    if (st == VM_ERR_DEVICE) {
      printf("SKIP: no usable GPU: %s\n", e.message);
      return 77;
    }
    if (st == VM_ERR_UNSUPPORTED && precs[p] == VM_PRECISION_BF16) {
      /* Turing, or code for it (compute_75 PTX): bf16 is refused with a message that says so */
      bool said = strstr(e.message, "bf16") != NULL;
      printf("%s bf16 refused: %s\n", said ? "ok  " : "FAIL", e.message);
      passed += said;
      failed += !said;
      continue;
    }
    if (st != VM_OK) die("vm_cuda_backend_create", &e);
    printf("== %s on %s\n", names[p], s.be->name);
    if (attention_only || input_only) {
      if (input_only) test_input(&s);
      if (attention_only) test_attention(&s);
      s.be->ops->destroy(s.be);
    } else {
      test_copy(&s);
      test_input(&s);
      test_layer_norm(&s);
      test_linear(&s);
      test_patch_embed(&s);
      test_windows(&s);
      test_attention(&s);
      test_conv(&s, "");
      test_recording(&s);
      test_memory(&s);
      s.be->ops->destroy(s.be);
      /* the same convolutions through cuDNN (in fp16/bf16 the small ones above ran on our tensor-core kernel) and
       * the patch embedding, cut into many small bands */
      const char *vars[2] = {"VITMATTE_CUDA_CONV", "VITMATTE_CUDA_BAND_BYTES"};
      create_with_env(&s, create, 2, vars, (const char *const[]){"cudnn", "12000"});
      test_conv(&s, " [cuDNN, small bands]");
      test_patch_embed(&s);
      s.be->ops->destroy(s.be);
      if (precs[p] == VM_PRECISION_FP32) {
        /* the layouts beside fp32's default (stride-1 3x3 convolutions in NCHW through a band, the strided ones NHWC):
         * all NHWC, and every 3x3 convolution in NCHW (the strided ones through the band too), also in small bands */
        const char *lay[2] = {"VITMATTE_CUDA_CONV_LAYOUT", "VITMATTE_CUDA_BAND_BYTES"};
        conv_with_env(&s, create, 1, lay, (const char *const[]){"nhwc"}, " [cuDNN NHWC]");
        conv_with_env(&s, create, 2, lay, (const char *const[]){"nhwc", "12000"}, " [cuDNN NHWC, small bands]");
        conv_with_env(&s, create, 1, lay, (const char *const[]){"nchw-all"}, " [cuDNN NCHW, every 3x3]");
        /* the products on the TF32 tensor cores in three products, forced for every product (by default only those
         * of 4096+ rows on data-centre cards take them): every linear shape, the residual
         * aliasing the output, rows, columns and K not multiples of the tile; the 1x1 convolutions and the patch
         * embedding (its position table as the product's c), which take the same product */
        const char *gemm = "VITMATTE_CUDA_GEMM_F32";
        create_with_env(&s, create, 1, &gemm, (const char *const[]){"tc"});
        printf("== %s, products in 3xTF32 (VITMATTE_CUDA_GEMM_F32=tc)\n", s.pname);
        test_linear(&s);
        test_conv(&s, " [products in 3xTF32]");
        test_patch_embed(&s);
        s.be->ops->destroy(s.be);
        /* and every product on cuBLAS (the default's choice below 4096 rows, and everywhere off data-centre cards) */
        create_with_env(&s, create, 1, &gemm, (const char *const[]){"cublas"});
        printf("== %s, products on cuBLAS (VITMATTE_CUDA_GEMM_F32=cublas)\n", s.pname);
        test_linear(&s);
        s.be->ops->destroy(s.be);
        conv_with_env(&s, create, 2, lay, (const char *const[]){"nchw-all", "12000"},
                      " [cuDNN NCHW, every 3x3, small bands]");
      }
    }
    if (precs[p] != VM_PRECISION_FP32 && !(input_only && !attention_only)) {
      /* the fp32-arithmetic attention kernel on fp16/bf16 data */
      attention_with_env(&s, create, "VITMATTE_CUDA_ATTENTION", "generic", "generic attention kernel");
      /* the mma.sync kernel for the global layers as well (on Hopper they otherwise take the wgmma kernel) */
      attention_with_env(&s, create, "VITMATTE_CUDA_ATTENTION", "mma", "mma.sync attention kernel only");
      /* the same with Q in K's second stage and the block tiles' compact bias strides (the opt-in shared-memory
       * layout), for every layer */
      static const char *const compact[] = {"VITMATTE_CUDA_ATTENTION", "VITMATTE_CUDA_ATTN_SMEM"};
      attention_with_envs(&s, create, 2, compact, (const char *const[]){"mma", "compact"},
                          "mma.sync attention kernel, compact shared memory (VITMATTE_CUDA_ATTN_SMEM=compact)");
      /* Turing code: fp16 on the mma.sync kernel as m16n8k8 pairs (elsewhere the default's kernels again) */
      attention_with_env(&s, create, "VITMATTE_CUDA_ATTENTION", "turing-mma",
                         "VITMATTE_CUDA_ATTENTION=turing-mma (mma.sync m16n8k8 on Turing code)");
      attention_with_envs(&s, create, 2, compact, (const char *const[]){"turing-mma", "compact"},
                          "VITMATTE_CUDA_ATTENTION=turing-mma, compact shared memory");
    } else if (!(input_only && !attention_only)) {
      /* fp32: where a kernel of its own takes the layer (head dim 64, 64+ tokens wide) the default ran the 3xTF32
       * tensor-core kernel (data-centre cards) or the register-tiled CUDA-core one (the others); each of them here
       * on any sm_80+ card, the latter at each row count, and the generic kernel */
      attention_with_env(&s, create, "VITMATTE_CUDA_ATTN_ROWS", "off", "generic attention kernel (register-tiled off)");
      attention_with_env(&s, create, "VITMATTE_CUDA_ATTN_F32", "tc", "3xTF32 tensor-core fp32 kernel (forced)");
      const char *tc_rows[2] = {"VITMATTE_CUDA_ATTN_F32", "VITMATTE_CUDA_ATTN_F32_BLOCKS"};
      attention_with_envs(&s, create, 2, tc_rows, (const char *const[]){"tc", "0"},
                          "3xTF32 tensor-core fp32 kernel for row tiles only");
      /* one block an SM, as on an A100 (164 KB): the grid and the bias slots of a single resident block */
      const char *tc_one[2] = {"VITMATTE_CUDA_ATTN_F32", "VITMATTE_CUDA_SMEM_LIMIT"};
      attention_with_envs(&s, create, 2, tc_one, (const char *const[]){"tc", "150K"},
                          "3xTF32 tensor-core fp32 kernel, one block an SM (150 KB)");
      const char *ffma[2] = {"VITMATTE_CUDA_ATTN_F32", "VITMATTE_CUDA_ATTN_ROWS"};
      attention_with_envs(&s, create, 2, ffma, (const char *const[]){"ffma", "auto"},
                          "register-tiled CUDA-core fp32 kernel, rows by waves");
      attention_with_envs(&s, create, 2, ffma, (const char *const[]){"ffma", "4"},
                          "register-tiled CUDA-core fp32 kernel, 4 rows a thread");
      attention_with_envs(&s, create, 2, ffma, (const char *const[]){"ffma", "8"},
                          "register-tiled CUDA-core fp32 kernel, 8 rows a thread");
    }
    printf("== %s: %d passed, %d failed\n", names[p], s.passed, s.failed);
    passed += s.passed;
    failed += s.failed;
  }
  printf("cuda ops: %d passed, %d failed\n", passed, failed);
  dlclose(h);
  return failed ? 1 : 0;
}
