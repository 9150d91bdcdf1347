/* Timings that guide the CPU backend's choices (not a test): how BLAS and OpenMP should share the cores, and how
 * fast the attention and a decoder convolution run. Usage: bench_cpu_ops [threads] (default: all cores).
 * Also: `bench_cpu_ops T blas` or `bench_cpu_ops T ops` for one half only, `bench_cpu_ops T attention` for the
 * global attention case alone.
 * The BLAS policy numbers it gave on the 2-core development VM are quoted in kernels/cpu/cpu_blas.h. That VM is
 * shared with other builds: compare the "CPU time" column (process CPU seconds, not counting time slices lost to
 * other processes) rather than wall time when the machine is busy. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "bench_util.h"
#include "cpu_blas.h"

enum { REPEATS = 7 };

static float *filled(int64_t n, unsigned seed) {
  float *p = malloc((size_t)n * sizeof *p);
  if (!p) abort();
  for (int64_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    p[i] = (float)((seed >> 8) * (1.0 / 16777216.0) - 0.5);
  }
  return p;
}

/* ---- BLAS threading policies on one GEMM C[m, n] = A[m, k] B[n, k]^T (+ GELU epilogue) ---- */

typedef struct gemm_case {
  int m, n, k;
  const float *a, *b;
  float *c;
  int threads;
  int tile_rows; /* for the split policy: rows per sgemm call (0 = one call per thread) */
  int gelu;
} gemm_case;

static void gelu_rows(float *c, int64_t rows, int64_t n) {
  for (int64_t i = 0; i < rows * n; i++) c[i] = 0.5f * c[i] * (1.0f + erff(c[i] * (float)M_SQRT1_2));
}

/* one sgemm, OpenBLAS using `threads` threads of its own; the epilogue then runs on the OpenMP team */
static void policy_blas_threads(const gemm_case *g) {
#if VM_HAVE_OPENBLAS_THREADS
  openblas_set_num_threads(g->threads);
#endif
  cpu_gemm_nt(g->m, g->n, g->k, 1.0f, g->a, g->k, g->b, g->k, 0.0f, g->c, g->n);
  if (g->gelu) {
    int64_t per = (g->m + g->threads - 1) / g->threads;
#pragma omp parallel for num_threads(g->threads) schedule(static)
    for (int t = 0; t < g->threads; t++) {
      int64_t r0 = t * per, rows = g->m - r0 < per ? g->m - r0 : per;
      if (rows > 0) gelu_rows(g->c + r0 * g->n, rows, g->n);
    }
  }
}

/* OpenMP threads each run single-threaded sgemms on their rows (in tiles), epilogue right after each tile */
static void policy_split(const gemm_case *g) {
#if VM_HAVE_OPENBLAS_THREADS
  openblas_set_num_threads(1);
#endif
  int64_t tile = g->tile_rows ? g->tile_rows : (g->m + g->threads - 1) / g->threads;
  int64_t ntiles = (g->m + tile - 1) / tile;
#pragma omp parallel for num_threads(g->threads) schedule(static)
  for (int64_t t = 0; t < ntiles; t++) {
    int64_t r0 = t * tile, rows = g->m - r0 < tile ? g->m - r0 : tile;
    cpu_gemm_nt((int)rows, g->n, g->k, 1.0f, g->a + r0 * g->k, g->k, g->b, g->k, 0.0f, g->c + r0 * g->n, g->n);
    if (g->gelu) gelu_rows(g->c + r0 * g->n, rows, g->n);
  }
}

/* OpenBLAS's pthread workers spin (sched_yield) for ~0.1 s after they were last used, and at start-up: on 2 cores
 * they then steal time from whatever runs next. Each measurement waits them out first, so that one policy's
 * leftovers do not bill the next. */
static void let_blas_workers_sleep(void) {
  struct timespec pause = {0, 300 * 1000 * 1000};
  nanosleep(&pause, NULL);
}

static double time_policy(void (*fn)(const gemm_case *), const gemm_case *g) {
  double t[REPEATS];
  let_blas_workers_sleep();
  /* warm-up: the first calls of each thread allocate OpenBLAS's packing buffers */
  for (int i = 0; i < 3; i++) fn(g);
  for (int i = 0; i < REPEATS; i++) {
    double t0 = bench_now_s();
    fn(g);
    t[i] = bench_now_s() - t0;
  }
  qsort(t, REPEATS, sizeof t[0], bench_cmp_double);
  return t[REPEATS / 2];
}

static void bench_gemm_policies(const char *what, int m, int n, int k, int threads) {
  float *a = filled((int64_t)m * k, 1), *b = filled((int64_t)n * k, 2), *c = filled((int64_t)m * n, 3);
  double flop = 2.0 * m * n * k;
  printf("%s: C[%d, %d] = A[%d, %d] B^T, %d threads\n", what, m, n, m, k, threads);
  for (int gelu = 0; gelu <= 1; gelu++) {
    gemm_case g = {m, n, k, a, b, c, threads, 0, gelu};
    double tb = time_policy(policy_blas_threads, &g);
    printf("  %-52s %8.2f ms  %6.1f GFLOP/s\n",
           gelu ? "one sgemm, OpenBLAS threads, + GELU" : "one sgemm, OpenBLAS threads",
           tb * 1e3, flop / tb * 1e-9);
    const int tiles[] = {0, 512, 256, 128, 64};
    for (int i = 0; i < 5; i++) {
      g.tile_rows = tiles[i];
      double ts = time_policy(policy_split, &g);
      char label[96];
      if (tiles[i])
        snprintf(label, sizeof label, "OpenMP split, 1-thread sgemm per %d rows%s", tiles[i], gelu ? ", + GELU" : "");
      else
        snprintf(label, sizeof label, "OpenMP split, one 1-thread sgemm per thread%s", gelu ? ", + GELU" : "");
      printf("  %-52s %8.2f ms  %6.1f GFLOP/s\n", label, ts * 1e3, flop / ts * 1e-9);
    }
  }
  free(a), free(b), free(c);
#if VM_HAVE_OPENBLAS_THREADS
  openblas_set_num_threads(1);
#endif
}

/* ---- the backend's own ops ---- */

static void must(vm_status st, const vm_error *err) {
  if (st != VM_OK) {
    fprintf(stderr, "FATAL: %s\n", err->message);
    exit(1);
  }
}

static vm_tensor tensor(vm_backend *be, int64_t n, int64_t h, int64_t w, int64_t c, unsigned seed) {
  vm_error err = {0};
  vm_tensor t = {NULL, n, h, w, c, VM_ELEM_ACT};
  must(be->ops->alloc(be, (size_t)(n * h * w * c) * sizeof(float), &t.data, &err), &err);
  float *host = filled(n * h * w * c, seed);
  must(be->ops->upload(be, &t, host, &err), &err);
  free(host);
  return t;
}

static vm_param param(vm_backend *be, int64_t numel, float scale, unsigned seed) {
  vm_error err = {0};
  vm_param p = {NULL, numel, VM_PARAM_MATRIX};
  float *host = filled(numel, seed);
  for (int64_t i = 0; i < numel; i++) host[i] *= scale;
  must(be->ops->param_upload(be, VM_PARAM_MATRIX, host, numel, &p.data, &err), &err);
  free(host);
  return p;
}

static void report(const char *what, double *t, double *c, double gflop) {
  qsort(t, REPEATS, sizeof t[0], bench_cmp_double);
  qsort(c, REPEATS, sizeof c[0], bench_cmp_double);
  printf("  %-56s wall median %8.2f ms (min %8.2f) %6.1f GFLOP/s; CPU time median %8.2f ms\n", what,
         t[REPEATS / 2] * 1e3, t[0] * 1e3, gflop / t[REPEATS / 2], c[REPEATS / 2] * 1e3);
}

enum { OPS_ALL, OPS_GLOBAL_ATTENTION, OPS_WINDOW_ATTENTION }; /* which cases bench_ops runs */

static void bench_ops(int threads, int only) {
  let_blas_workers_sleep();
  vm_backend *be;
  vm_error err = {0};
  must(vm_cpu_backend_create(threads, &be, &err), &err);
  printf("backend \"%s\"\n", be->name);
  double t[REPEATS], cpu_t[REPEATS];

  if (only != OPS_WINDOW_ATTENTION) { /* global attention: 64 x 64 tokens (a 1024^2 input), C = 384, 6 heads, rel-pos */
    const int64_t hh = 64, ww = 64, c = 384, d = 64, n = hh * ww;
    vm_tensor qkv = tensor(be, 1, hh, ww, 3 * c, 11), out = tensor(be, 1, hh, ww, c, 12);
    vm_param rh = param(be, (2 * hh - 1) * d, 1.0f, 13), rw = param(be, (2 * ww - 1) * d, 1.0f, 14);
    double gflop = 6.0 * (2.0 * 2.0 * n * n * d + 2.0 * n * (2 * hh - 1 + 2 * ww - 1) * d) * 1e-9;
    must(be->ops->attention(be, &qkv, 6, &rh, &rw, &out, &err), &err);
    for (int i = 0; i < REPEATS; i++) {
      double t0 = bench_now_s(), c0 = bench_cpu_s();
      must(be->ops->attention(be, &qkv, 6, &rh, &rw, &out, &err), &err);
      t[i] = bench_now_s() - t0;
      cpu_t[i] = bench_cpu_s() - c0;
    }
    report("attention N=4096 (64x64), C=384, 6 heads, rel-pos", t, cpu_t, gflop);
    be->ops->free(be, qkv.data), be->ops->free(be, out.data);
    be->ops->param_free(be, rh.data), be->ops->param_free(be, rw.data);
  }
  if (only == OPS_GLOBAL_ATTENTION) {
    be->ops->destroy(be);
    return;
  }
  if (only == OPS_ALL) { /* one head of a global layer at 2048 x 2048: 128 x 128 = 16384 tokens, rel-pos */
    const int64_t hh = 128, ww = 128, d = 64, n = hh * ww;
    vm_tensor qkv = tensor(be, 1, hh, ww, 3 * d, 51), out = tensor(be, 1, hh, ww, d, 52);
    vm_param rh = param(be, (2 * hh - 1) * d, 1.0f, 53), rw = param(be, (2 * ww - 1) * d, 1.0f, 54);
    double gflop = (2.0 * 2.0 * n * n * d + 2.0 * n * (2 * hh - 1 + 2 * ww - 1) * d) * 1e-9;
    must(be->ops->attention(be, &qkv, 1, &rh, &rw, &out, &err), &err);
    for (int i = 0; i < REPEATS; i++) {
      double t0 = bench_now_s(), c0 = bench_cpu_s();
      must(be->ops->attention(be, &qkv, 1, &rh, &rw, &out, &err), &err);
      t[i] = bench_now_s() - t0;
      cpu_t[i] = bench_cpu_s() - c0;
    }
    report("attention N=16384 (128x128), 1 head of 64, rel-pos", t, cpu_t, gflop);
    be->ops->free(be, qkv.data), be->ops->free(be, out.data);
    be->ops->param_free(be, rh.data), be->ops->param_free(be, rw.data);
  }
  { /* windowed attention as one ViTMatte-S layer at 1024 x 1024: 25 windows of 14 x 14 */
    const int64_t nw = 25, ws = 14, c = 384, d = 64, n = ws * ws;
    vm_tensor qkv = tensor(be, nw, ws, ws, 3 * c, 21), out = tensor(be, nw, ws, ws, c, 22);
    vm_param rh = param(be, (2 * ws - 1) * d, 1.0f, 23), rw = param(be, (2 * ws - 1) * d, 1.0f, 24);
    double gflop = nw * 6.0 * (2.0 * 2.0 * n * n * d + 2.0 * n * (4 * ws - 2) * d) * 1e-9;
    must(be->ops->attention(be, &qkv, 6, &rh, &rw, &out, &err), &err);
    for (int i = 0; i < REPEATS; i++) {
      double t0 = bench_now_s(), c0 = bench_cpu_s();
      must(be->ops->attention(be, &qkv, 6, &rh, &rw, &out, &err), &err);
      t[i] = bench_now_s() - t0;
      cpu_t[i] = bench_cpu_s() - c0;
    }
    report("attention 25 windows of 14x14, C=384, 6 heads, rel-pos", t, cpu_t, gflop);
    be->ops->free(be, qkv.data), be->ops->free(be, out.data);
    be->ops->param_free(be, rh.data), be->ops->param_free(be, rw.data);
  }
  if (only == OPS_WINDOW_ATTENTION) {
    be->ops->destroy(be);
    return;
  }
  { /* the last fusion block: conv3x3 [detail 4, upsample(low 64)] -> 32 at 512 x 512, ReLU */
    const int64_t H = 512, W = 512;
    vm_tensor det = tensor(be, 1, H, W, 4, 31), low = tensor(be, 1, H / 2, W / 2, 64, 32);
    vm_tensor out = tensor(be, 1, H, W, 32, 33);
    vm_param w = param(be, 32 * 9 * 68, 0.1f, 34), b = param(be, 32, 1.0f, 35);
    double gflop = 2.0 * H * W * 32 * 9 * 68 * 1e-9;
    must(be->ops->conv2d(be, &det, &low, &w, &b, 3, 1, VM_ACT_RELU, &out, &err), &err);
    for (int i = 0; i < REPEATS; i++) {
      double t0 = bench_now_s(), c0 = bench_cpu_s();
      must(be->ops->conv2d(be, &det, &low, &w, &b, 3, 1, VM_ACT_RELU, &out, &err), &err);
      t[i] = bench_now_s() - t0;
      cpu_t[i] = bench_cpu_s() - c0;
    }
    report("conv3x3 [4 + up(64)] -> 32 at 512x512, ReLU", t, cpu_t, gflop);
    be->ops->free(be, det.data), be->ops->free(be, low.data), be->ops->free(be, out.data);
    be->ops->param_free(be, w.data), be->ops->param_free(be, b.data);
  }
  { /* the encoder's linears at 1024 x 1024 (4096 tokens): fc1 with and without its GELU, fc2 into the residual
     * stream, qkv */
    const struct { int64_t k, n; vm_act act; int residual; const char *what; } cases[] = {
      {384, 1536, VM_ACT_GELU, 0, "linear 4096 x 384 -> 1536 + GELU (fc1)"},
      {384, 1536, VM_ACT_NONE, 0, "linear 4096 x 384 -> 1536 (fc1 without GELU)"},
      {1536, 384, VM_ACT_NONE, 1, "linear 4096 x 1536 -> 384 + residual in place (fc2)"},
      {384, 1152, VM_ACT_NONE, 0, "linear 4096 x 384 -> 1152 (qkv)"},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++) {
      const int64_t k = cases[ci].k, n = cases[ci].n;
      vm_tensor x = tensor(be, 1, 64, 64, k, 41), y = tensor(be, 1, 64, 64, n, 42);
      vm_param w = param(be, n * k, 0.05f, 43), b = param(be, n, 1.0f, 44);
      const vm_tensor *res = cases[ci].residual ? &y : NULL;
      double gflop = 2.0 * 4096 * k * n * 1e-9;
      must(be->ops->linear(be, &x, &w, &b, cases[ci].act, res, &y, &err), &err);
      for (int i = 0; i < REPEATS; i++) {
        double t0 = bench_now_s(), c0 = bench_cpu_s();
        must(be->ops->linear(be, &x, &w, &b, cases[ci].act, res, &y, &err), &err);
        t[i] = bench_now_s() - t0;
        cpu_t[i] = bench_cpu_s() - c0;
      }
      report(cases[ci].what, t, cpu_t, gflop);
      be->ops->free(be, x.data), be->ops->free(be, y.data);
      be->ops->param_free(be, w.data), be->ops->param_free(be, b.data);
    }
  }
  printf("  peak memory of the backend: %.1f MiB\n", be->ops->peak_memory(be) / 1048576.0);
  be->ops->destroy(be);
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 0;
  if (threads <= 0) threads = omp_get_num_procs();
  const char *only = argc > 2 ? argv[2] : "all";
  if (!strcmp(only, "all") || !strcmp(only, "blas")) {
    bench_gemm_policies("linear (fc1 at 1024x1024)", 4096, 1536, 384, threads);
    bench_gemm_policies("conv band (im2col of [4 + 64] x 9 at 512 wide, 8 rows)", 4096, 32, 612, threads);
    bench_gemm_policies("conv band (im2col of [192 + 384] x 9 at 128 wide, 32 rows)", 4096, 256, 5184, threads);
  }
  if (!strcmp(only, "all") || !strcmp(only, "ops")) bench_ops(threads, OPS_ALL);
  /* one attention case alone, for a profiler */
  if (!strcmp(only, "attention")) bench_ops(threads, OPS_GLOBAL_ATTENTION);
  if (!strcmp(only, "windows")) bench_ops(threads, OPS_WINDOW_ATTENTION);
  return 0;
}
