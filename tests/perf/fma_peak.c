/* The CPU's AVX-512 multiply-add peak, one thread per listed CPU, all at once: tells the products' share of what a
 * core can do on a machine we only reach for minutes, and whether two of its CPUs share a core (each then halves).
 *   fma_peak CPU[,CPU...] [SECONDS]    e.g. fma_peak 0; fma_peak 0,1; fma_peak 0,8 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <immintrin.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct job {
  int cpu;
  double seconds, gflops;
  float sink;
} job;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* 12 independent accumulators: enough to cover two FMA ports' 4-cycle latency, as the products' 14 x 2 tile does */
__attribute__((target("avx512f"))) static void *run(void *arg) {
  job *j = arg;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(j->cpu, &set);
  if (sched_setaffinity(0, sizeof set, &set) != 0) {
    j->gflops = -1.0;
    return NULL;
  }
  __m512 acc[12];
  for (int i = 0; i < 12; i++) acc[i] = _mm512_set1_ps(1.0f + 0.001f * (float)i);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  long iters = 0;
  const double t0 = now();
  double t = t0;
  while (t - t0 < j->seconds) {
    for (int r = 0; r < 100000; r++)
      for (int i = 0; i < 12; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    iters += 100000;
    t = now();
  }
  float s = 0.0f;
  for (int i = 0; i < 12; i++) s += _mm512_reduce_add_ps(acc[i]);
  j->sink = s;
  j->gflops = (double)iters * 12.0 * 16.0 * 2.0 / (t - t0) / 1e9;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s CPU[,CPU...] [SECONDS]\n", argv[0]);
    return 2;
  }
  if (!__builtin_cpu_supports("avx512f")) {
    fprintf(stderr, "fma_peak: this CPU has no AVX-512\n");
    return 1;
  }
  const double seconds = argc > 2 ? atof(argv[2]) : 2.0;
  job jobs[256];
  int n = 0;
  char *list = strdup(argv[1]);
  for (char *tok = strtok(list, ","); tok && n < 256; tok = strtok(NULL, ",")) jobs[n++] = (job){atoi(tok), seconds, 0, 0};
  free(list);
  pthread_t th[256];
  for (int i = 0; i < n; i++)
    if (pthread_create(&th[i], NULL, run, &jobs[i]) != 0) {
      fprintf(stderr, "fma_peak: cannot start a thread\n");
      return 1;
    }
  double total = 0.0;
  for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < n; i++) {
    if (jobs[i].gflops < 0) {
      fprintf(stderr, "fma_peak: cannot pin to CPU %d\n", jobs[i].cpu);
      return 1;
    }
    printf("cpu %d: %.1f GFLOP/s\n", jobs[i].cpu, jobs[i].gflops);
    total += jobs[i].gflops;
  }
  printf("fma_peak %s: %.1f GFLOP/s in all (%d threads)\n", argv[1], total, n);
  return 0;
}
