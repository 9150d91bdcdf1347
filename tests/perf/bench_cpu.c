/* bench_cpu.c - times the engine on the CPU: whole vm_predict calls and the forward pass alone, per thread count and
 * size, and (with --profile) where the forward's time goes, op by op. Not a test.
 *
 *   bench_cpu [--model DIR] [--sizes HxW,...] [--threads 1,2,...] [--iters N] [--warmup N] [--budget SECONDS]
 *             [--json PATH] [--profile] [--label NAME] [--dump DIR]
 *
 * Without --model it writes a ViTMatte-S-shaped checkpoint with random weights to a temporary folder (the timing
 * does not depend on the values). The forward alone is the time between the backend's forward_begin and forward_end
 * hooks (wrapped here: the CPU backend runs every op synchronously), i.e. vm_predict without pre-processing, the
 * host copies and the alpha check. Times are medians of --iters calls after --warmup calls (the first call at a
 * size also plans it); --budget stops the timed calls of one size and thread count once they have taken that long
 * (at least one is made). --profile sums the time of every op call of the timed forwards by kind and shape.
 * --dump writes each size's input (rgb-HxW.u8, tri-HxW.u8: raw bytes, rows top to bottom) and the alpha of the
 * first thread count that ran (alpha-HxW.f32, raw floats), for comparing other implementations on the same input.
 * `bench_cpu --write-model DIR` only writes that checkpoint into DIR (an existing folder), for timing the CLI and the
 * plug-in at the real model's size. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend.h"
#include "bench_util.h"
#include "checkpoint_writer.h"
#include "cpu_gemm.h"
#include "cpu_blas_config.h"
#include "context_internal.h"
#include "vitmatte.h"

#define MAX_LIST 16
#define MAX_ITERS 100

#if VM_HAVE_OPENBLAS_THREADS
char *openblas_get_config(void);
char *openblas_get_corename(void);
#endif

/* ---- the wrapped op table: forward timing and the per-op profile ---- */

typedef struct prof_row {
  char label[96];
  double seconds, cpu_seconds;
  long calls;
} prof_row;

static struct {
  const vm_backend_ops *inner;
  vm_backend_ops ops;
  double forward_start, forward_s, forward_cpu_start, forward_cpu_s;
  double op_cpu_start; /* CPU clock at the start of the op being timed */
  bool profiling;
  prof_row rows[64];
  int nrows;
} W;

static double op_start(void) {
  W.op_cpu_start = bench_cpu_s();
  return bench_now_s();
}

static void prof_add(const char *label, double s) {
  if (!W.profiling) return;
  const double c = bench_cpu_s() - W.op_cpu_start;
  for (int i = 0; i < W.nrows; i++)
    if (!strcmp(W.rows[i].label, label)) {
      W.rows[i].seconds += s;
      W.rows[i].cpu_seconds += c;
      W.rows[i].calls++;
      return;
    }
  if (W.nrows == (int)(sizeof W.rows / sizeof W.rows[0])) return;
  prof_row *r = &W.rows[W.nrows++];
  snprintf(r->label, sizeof r->label, "%s", label);
  r->seconds = s;
  r->cpu_seconds = c;
  r->calls = 1;
}

static int w_forward_begin(vm_backend *be, uint64_t key) {
  (void)be;
  (void)key;
  W.forward_start = bench_now_s();
  W.forward_cpu_start = bench_cpu_s();
  return 0; /* never replayed: the ops are issued */
}

static vm_status w_forward_end(vm_backend *be, vm_error *err) {
  (void)be;
  (void)err;
  W.forward_s = bench_now_s() - W.forward_start;
  W.forward_cpu_s = bench_cpu_s() - W.forward_cpu_start;
  return VM_OK;
}

static const char *act_name(vm_act a) {
  return a == VM_ACT_GELU ? " + GELU" : a == VM_ACT_RELU ? " + ReLU" : a == VM_ACT_SIGMOID ? " + sigmoid" : "";
}

static vm_status w_patch_embed(vm_backend *be, const vm_tensor *px, const vm_param *w, const vm_param *b, int patch,
                               const vm_param *pos, const vm_tensor *out, vm_error *err) {
  double t0 = op_start();
  vm_status st = W.inner->patch_embed(be, px, w, b, patch, pos, out, err);
  prof_add("patch_embed", bench_now_s() - t0);
  return st;
}

static vm_status w_layer_norm(vm_backend *be, const vm_tensor *x, const vm_param *gamma, const vm_param *beta,
                              double eps, vm_act act, const vm_tensor *residual, const vm_tensor *out,
                              vm_error *err) {
  double t0 = op_start();
  vm_status st = W.inner->layer_norm(be, x, gamma, beta, eps, act, residual, out, err);
  char label[96];
  snprintf(label, sizeof label, "layer_norm C=%lld%s%s", (long long)x->c, act_name(act), residual ? " + residual" : "");
  prof_add(label, bench_now_s() - t0);
  return st;
}

static vm_status w_linear(vm_backend *be, const vm_tensor *x, const vm_param *w, const vm_param *b, vm_act act,
                          const vm_tensor *residual, const vm_tensor *out, vm_error *err) {
  double t0 = op_start();
  vm_status st = W.inner->linear(be, x, w, b, act, residual, out, err);
  char label[96];
  snprintf(label, sizeof label, "linear %lld -> %lld%s%s%s", (long long)x->c, (long long)out->c, act_name(act),
           residual ? " + residual" : "", x->h == 14 && x->n > 1 ? " (windows)" : "");
  prof_add(label, bench_now_s() - t0);
  return st;
}

static vm_status w_window_partition(vm_backend *be, const vm_tensor *x, int ws, const vm_tensor *out, vm_error *err) {
  double t0 = op_start();
  vm_status st = W.inner->window_partition(be, x, ws, out, err);
  prof_add("window_partition", bench_now_s() - t0);
  return st;
}

static vm_status w_window_unpartition(vm_backend *be, const vm_tensor *win, int ws, const vm_tensor *residual,
                                      const vm_tensor *out, vm_error *err) {
  double t0 = op_start();
  vm_status st = W.inner->window_unpartition(be, win, ws, residual, out, err);
  prof_add("window_unpartition", bench_now_s() - t0);
  return st;
}

static vm_status w_attention(vm_backend *be, const vm_tensor *qkv, int heads, const vm_param *rel_h,
                             const vm_param *rel_w, const vm_tensor *out, vm_error *err) {
  double t0 = op_start();
  vm_status st = W.inner->attention(be, qkv, heads, rel_h, rel_w, out, err);
  char label[96];
  snprintf(label, sizeof label, "attention %lld x %lldx%lld tokens", (long long)qkv->n, (long long)qkv->h,
           (long long)qkv->w);
  prof_add(label, bench_now_s() - t0);
  return st;
}

static vm_status w_conv2d(vm_backend *be, const vm_tensor *detail, const vm_tensor *low, const vm_param *w,
                          const vm_param *b, int k, int stride, vm_act act, const vm_tensor *out, vm_error *err) {
  double t0 = op_start();
  vm_status st = W.inner->conv2d(be, detail, low, w, b, k, stride, act, out, err);
  char label[96];
  snprintf(label, sizeof label, "conv%dx%d/%d [%lld%s%lld] -> %lld at %lldx%lld%s", k, k, stride,
           detail ? (long long)detail->c : 0LL, low ? " + up " : " + ", low ? (long long)low->c : 0LL,
           (long long)out->c, (long long)out->h, (long long)out->w, act_name(act));
  prof_add(label, bench_now_s() - t0);
  return st;
}

static void wrap_backend(vm_backend *be) {
  W.inner = be->ops;
  W.ops = *be->ops;
  W.ops.forward_begin = w_forward_begin;
  W.ops.forward_end = w_forward_end;
  W.ops.patch_embed = w_patch_embed;
  W.ops.layer_norm = w_layer_norm;
  W.ops.linear = w_linear;
  W.ops.window_partition = w_window_partition;
  W.ops.window_unpartition = w_window_unpartition;
  W.ops.attention = w_attention;
  W.ops.conv2d = w_conv2d;
  be->ops = &W.ops;
}

static void unwrap_backend(vm_backend *be) { be->ops = W.inner; }

static int cmp_rows(const void *a, const void *b) {
  double x = ((const prof_row *)a)->seconds, y = ((const prof_row *)b)->seconds;
  return (x < y) - (x > y);
}

static int parse_list(const char *s, int *out, int most) {
  int n = 0;
  while (*s && n < most) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v <= 0) return -1;
    out[n++] = (int)v;
    s = end;
    if (*s == ',') s++;
  }
  return n;
}

static int parse_sizes(const char *s, int sizes[][2], int most) {
  int n = 0;
  while (*s && n < most) {
    int h, w, used;
    if (sscanf(s, "%dx%d%n", &h, &w, &used) != 2 || h <= 0 || w <= 0) return -1;
    sizes[n][0] = h;
    sizes[n][1] = w;
    n++;
    s += used;
    if (*s == ',') s++;
  }
  return n;
}

static int usage(void) {
  fprintf(stderr, "usage: bench_cpu [--model DIR] [--sizes HxW,...] [--threads 1,2,...] [--iters N] [--warmup N] "
                  "[--budget SECONDS] [--json PATH] [--profile] [--label NAME] [--dump DIR]\n");
  return 2;
}

static bool dump(const char *dir, const char *what, int H, int Wd, const void *data, size_t bytes) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s-%dx%d.%s", dir, what, H, Wd, strcmp(what, "alpha") ? "u8" : "f32");
  FILE *f = fopen(path, "wb");
  bool ok = f && fwrite(data, 1, bytes, f) == bytes;
  if (f && fclose(f) != 0) ok = false;
  if (!ok) fprintf(stderr, "bench_cpu: cannot write %s\n", path);
  return ok;
}

int main(int argc, char **argv) {
  const char *model_dir = NULL, *json = NULL, *label = NULL, *dump_dir = NULL;
  double budget = 1e30;
  int sizes[MAX_LIST][2] = {{1024, 1024}}, nsizes = 1, threads[MAX_LIST] = {0}, nthreads = 1;
  int iters = 3, warmup = 1;
  bool profile = false;
  if (argc == 3 && !strcmp(argv[1], "--write-model")) {
    ckw_config c = ckw_small();
    ckw_set set;
    const bool ok = ckw_build(&c, "F32", 7, &set) && ckw_write_checkpoint(argv[2], &c, NULL, &set);
    if (ok) ckw_free(&set);
    if (!ok) fprintf(stderr, "bench_cpu: could not write a checkpoint into %s\n", argv[2]);
    return ok ? 0 : 1;
  }
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--profile")) {
      profile = true;
      continue;
    }
    const char *v = i + 1 < argc ? argv[++i] : NULL;
    if (!v) return usage();
    if (!strcmp(a, "--model")) model_dir = v;
    else if (!strcmp(a, "--json")) json = v;
    else if (!strcmp(a, "--label")) label = v;
    else if (!strcmp(a, "--dump")) dump_dir = v;
    else if (!strcmp(a, "--budget")) budget = atof(v);
    else if (!strcmp(a, "--iters")) iters = atoi(v);
    else if (!strcmp(a, "--warmup")) warmup = atoi(v);
    else if (!strcmp(a, "--threads")) {
      if ((nthreads = parse_list(v, threads, MAX_LIST)) <= 0) return usage();
    } else if (!strcmp(a, "--sizes")) {
      if ((nsizes = parse_sizes(v, sizes, MAX_LIST)) <= 0) return usage();
    } else return usage();
  }
  if (iters < 1 || iters > MAX_ITERS || warmup < 0) return usage();

  char tmp[4096] = "";
  if (!model_dir) {
    ckw_config c = ckw_small();
    ckw_set set;
    if (!ckw_make_dir(tmp) || !ckw_build(&c, "F32", 7, &set) || !ckw_write_checkpoint(tmp, &c, NULL, &set)) {
      fprintf(stderr, "bench_cpu: could not write a checkpoint\n");
      return 1;
    }
    ckw_free(&set);
    model_dir = tmp;
    if (!label) label = "ViTMatte-S (random weights)";
  }
  if (!label) label = model_dir;
  vm_error err = {0};
  vm_model *m = NULL;
  if (vm_model_load(model_dir, &m, &err) != VM_OK) {
    fprintf(stderr, "bench_cpu: %s\n", err.message);
    return 1;
  }
  FILE *js = json ? fopen(json, "w") : NULL;
  if (json && !js) {
    fprintf(stderr, "bench_cpu: cannot write %s\n", json);
    return 1;
  }
  if (js) fprintf(js, "{\"label\": \"%s\", \"iters\": %d, \"warmup\": %d, \"rows\": [", label, iters, warmup);
  printf("%s; median of %d after %d warm-up call(s); forward = between the backend's forward hooks\n", label, iters,
         warmup);
  const char *isa = cpu_gemm_isa_select()->name; /* what the CPU contexts below run ($VITMATTE_CPU_ISA applies) */
  printf("kernels: %s\n", isa);
#if VM_HAVE_OPENBLAS_THREADS
  /* what the BLAS fallback (and the engine before its own kernels) would run on this CPU */
  printf("BLAS: %s, kernels for %s\n", openblas_get_config(), openblas_get_corename());
#endif
  bool first_row = true;
  int rc = 0;
  for (int si = 0; si < nsizes; si++) {
    const int H = sizes[si][0], Wd = sizes[si][1];
    size_t n = (size_t)H * Wd;
    unsigned char *rgb = malloc(3 * n), *tri = malloc(n);
    float *alpha = malloc(sizeof(float) * n);
    if (!rgb || !tri || !alpha) {
      fprintf(stderr, "bench_cpu: out of memory at %dx%d\n", H, Wd);
      return 1;
    }
    bench_make_image(H, Wd, rgb, tri);
    if (dump_dir && (!dump(dump_dir, "rgb", H, Wd, rgb, 3 * n) || !dump(dump_dir, "tri", H, Wd, tri, n))) return 1;
    vm_image im = {rgb, Wd, H, 3, 0, VM_PIXEL_U8}, tm = {tri, Wd, H, 1, 0, VM_PIXEL_U8};
    bool alpha_dumped = false; /* the alpha of the first thread count that ran */
    for (int ti = 0; ti < nthreads; ti++) {
      vm_context_options o;
      vm_context_options_default(&o);
      o.device = VM_DEVICE_CPU;
      o.cpu_threads = threads[ti];
      vm_context *ctx = NULL;
      if (threads[ti] > vm_cpu_thread_limit()) { /* the engine refuses it: say so in the table and go on */
        printf("  %5dx%-5d %d threads: more than this machine's limit of %d\n", H, Wd, threads[ti],
               vm_cpu_thread_limit());
        if (js)
          fprintf(js, "%s\n  {\"size\": \"%dx%d\", \"threads\": %d, \"status\": \"over the limit of %d threads\"}",
                  first_row ? "" : ",", H, Wd, threads[ti], vm_cpu_thread_limit());
        first_row = false;
        continue;
      }
      if (vm_context_create(m, &o, &ctx, &err) != VM_OK) {
        fprintf(stderr, "bench_cpu: %s\n", err.message);
        return 1;
      }
      vm_backend *be = vm_context_backend(ctx);
      wrap_backend(be);
      W.nrows = 0;
      double wall[MAX_ITERS], fwd[MAX_ITERS], fwd_cpu[MAX_ITERS], first_call = 0;
      int done = 0;
      double timed = 0;
      char status[sizeof err.message + 8] = "ok";
      for (int it = 0; it < warmup + iters && timed < budget; it++) {
        W.profiling = profile && it >= warmup;
        double t0 = bench_now_s();
        if (vm_predict(ctx, &im, &tm, alpha, 0, &err) != VM_OK) {
          snprintf(status, sizeof status, "%s", err.message);
          rc = 1;
          break;
        }
        double t = bench_now_s() - t0;
        if (it == 0) first_call = t;
        if (it >= warmup) {
          timed += t;
          wall[done] = t;
          fwd[done] = W.forward_s;
          fwd_cpu[done] = W.forward_cpu_s;
          done++;
        }
      }
      W.profiling = false;
      if (dump_dir && !alpha_dumped && done) {
        if (!dump(dump_dir, "alpha", H, Wd, alpha, sizeof(float) * n)) return 1;
        alpha_dumped = true;
      }
      struct rusage ru;
      getrusage(RUSAGE_SELF, &ru);
      double pm = done ? bench_median(wall, done) : -1, fm = done ? bench_median(fwd, done) : -1;
      double fc = done ? bench_median(fwd_cpu, done) : -1;
      size_t peak = vm_context_peak_memory(ctx);
      if (!strcmp(status, "ok"))
        printf("  %5dx%-5d %-16s forward %8.3f s (CPU %8.3f s)  vm_predict %8.3f s  (first call %.3f s)  "
               "planned peak %6.0f MiB  RSS %6.0f MiB\n",
               H, Wd, vm_context_device_name(ctx), fm, fc, pm, first_call, peak / 1048576.0, ru.ru_maxrss / 1024.0);
      else
        printf("  %5dx%-5d %-16s FAILED: %s\n", H, Wd, vm_context_device_name(ctx), status);
      if (profile && done) {
        qsort(W.rows, (size_t)W.nrows, sizeof W.rows[0], cmp_rows);
        double total = 0, total_cpu = 0;
        for (int i = 0; i < W.nrows; i++) total += W.rows[i].seconds, total_cpu += W.rows[i].cpu_seconds;
        printf("    per op, summed over %d forward(s), per forward: wall ms, share of wall, CPU ms of all threads\n",
               done);
        for (int i = 0; i < W.nrows; i++)
          printf("    %9.2f ms %5.1f%% %9.2f ms  %4ld x  %s\n", 1e3 * W.rows[i].seconds / done,
                 100 * W.rows[i].seconds / total, 1e3 * W.rows[i].cpu_seconds / done, W.rows[i].calls / done,
                 W.rows[i].label);
        printf("    %9.2f ms in ops (CPU %.2f ms), forward %.2f ms\n", 1e3 * total / done, 1e3 * total_cpu / done,
               1e3 * fm);
      }
      if (js) {
        fprintf(js, "%s\n  {\"size\": \"%dx%d\", \"threads\": %d, \"device\": \"%s\", \"isa\": \"%s\", \"status\": \"",
                first_row ? "" : ",", H, Wd, threads[ti], vm_context_device_name(ctx), isa);
        for (const char *c = status; *c; c++) fputc(*c == '"' || *c == '\\' ? '\'' : *c, js);
        fprintf(js, "\", \"forward_s\": %.5f, \"forward_cpu_s\": %.5f, \"predict_s\": %.5f, \"first_s\": %.5f, "
                    "\"peak_mib\": %.1f, \"iters\": %d}",
                fm, fc, pm, first_call, peak / 1048576.0, done);
        first_row = false;
      }
      fflush(stdout);
      unwrap_backend(be);
      vm_context_free(ctx);
    }
    free(rgb);
    free(tri);
    free(alpha);
  }
  if (js) {
    fprintf(js, "\n]}\n");
    fclose(js);
  }
  vm_model_free(m);
  if (tmp[0]) ckw_remove_dir(tmp);
  return rc;
}
