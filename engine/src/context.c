/* context.c - inference contexts: a backend, the weights uploaded to it, and the memory plan of one resolution. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "backend.h"
#include "context_internal.h"
#include "cuda_loader.h"
#include "error.h"
#include "foreground.h"
#include "model.h"
#include "modules.h"
#include "preprocess.h"

/* Host memory the engine stages a prediction in: page-locked from the backend's host_alloc where it offers it (the
 * 12 MP f32 input is 192 MB), malloc otherwise. */
typedef struct host_buffer {
  void *p;
  size_t bytes;
  bool pinned;
} host_buffer;

struct vm_context {
  const vm_model *model;
  vm_backend *be;
  void *cuda_module;
  vm_params P;               /* the parameters in backend memory */
  size_t params_bytes;
  char notice[sizeof(((vm_error *)0)->message) + 64];
  vm_progress_fn progress;
  void *progress_user;
  /* the plan of the current resolution */
  int H, W;                  /* padded input size; 0 = nothing planned */
  uint64_t generation;       /* changes whenever the arena changes: the key of recorded passes */
  vm_grid grid;
  void *arena;
  size_t arena_bytes;
  host_buffer host_in;       /* the pre-processed f32 input, or the packed 8-bit pixels (upload_rgbt8) */
  host_buffer host_out;      /* the padded alpha; unused where the backend has download_alpha */
  bool params_shared;        /* P points into the model's host f32 parameters (CPU): nothing to free */
  int host_threads;          /* host-side work (pre-processing, copies): the options' cpu_threads, 0 = all cores */
  size_t params_held;        /* device memory the backend held right after the weights were uploaded */
  bool auto_device;          /* created with VM_DEVICE_AUTO: an image the GPU cannot hold runs on the CPU */
  vm_context *cpu_fallback;  /* made on the first image that did not fit on the GPU */
};

/* Memory the CUDA libraries take outside our accounting (cuDNN/cuBLASLt handles' lazy allocations, graph nodes):
 * an image must leave this much of the device free. */
#define VM_FIT_MARGIN ((size_t)128 << 20)

void vm_context_options_default(vm_context_options *o) {
  *o = (vm_context_options){.device = VM_DEVICE_AUTO, .precision = VM_PRECISION_AUTO, .cpu_threads = 0,
                            .cuda_device = 0, .progress = NULL, .progress_user_data = NULL};
}

/* ---- parameters on the backend ---- */

typedef struct { vm_param **slots; int n, cap; } slot_list;

static vm_status collect(vm_param *p, void *user) {
  slot_list *l = user;
  if (l->n == l->cap) return VM_ERR_INTERNAL;
  l->slots[l->n++] = p;
  return VM_OK;
}

static int count_slots(const vm_params *ps) {
  return VM_STEM_COUNT + ps->num_layers * VM_L_COUNT + (ps->num_convstream + ps->num_fusion) * VM_CONV_COUNT +
         VM_HEAD_COUNT;
}

static vm_status free_param(vm_param *p, void *user) {
  vm_backend *be = user;
  if (p->data) be->ops->param_free(be, p->data);
  p->data = NULL;
  return VM_OK;
}

static vm_status upload_params(vm_context *ctx, vm_error *err) {
  vm_params *host = (vm_params *)&ctx->model->params;
  /* The CPU backend computes on host f32 in the engine layouts, which is what the model holds: a copy per context
   * would only double the weights in memory (390 MB for ViTMatte-B). */
  ctx->params_shared = ctx->be->device == VM_DEVICE_CPU;
  vm_status st = vm_params_init(&ctx->P, &ctx->model->cfg, err);
  if (st != VM_OK) return st;
  const int n = count_slots(host);
  slot_list hs = {calloc((size_t)n, sizeof(vm_param *)), 0, n}, ds = {calloc((size_t)n, sizeof(vm_param *)), 0, n};
  if (!hs.slots || !ds.slots) {
    st = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory");
    goto done;
  }
  if (vm_params_each(host, collect, &hs) != VM_OK || vm_params_each(&ctx->P, collect, &ds) != VM_OK || hs.n != n ||
      ds.n != n) {
    st = vm_fail(err, VM_ERR_INTERNAL, "parameter tables of different shapes");
    goto done;
  }
  for (int i = 0; i < n; i++) {
    const vm_param *h = hs.slots[i];
    vm_param *d = ds.slots[i];
    d->numel = h->numel;
    d->kind = h->kind;
    if (!h->data) continue;
    ctx->params_bytes += (size_t)h->numel * sizeof(float);
    if (ctx->params_shared) {
      d->data = h->data; /* read only; the model outlives the context (vitmatte.h) */
      continue;
    }
    st = ctx->be->ops->param_upload(ctx->be, h->kind, h->data, h->numel, &d->data, err);
    if (st != VM_OK) goto done;
  }
done:
  free(hs.slots);
  free(ds.slots);
  return st;
}

/* ---- the plan of one resolution ---- */

static void host_buffer_free(vm_context *ctx, host_buffer *b) {
  if (b->pinned)
    ctx->be->ops->host_free(ctx->be, b->p);
  else
    free(b->p);
  *b = (host_buffer){0};
}

/* Makes b hold at least `bytes` (its contents are not kept). */
static bool host_buffer_reserve(vm_context *ctx, host_buffer *b, size_t bytes) {
  if (b->p && b->bytes >= bytes) return true;
  host_buffer_free(ctx, b);
  vm_backend *be = ctx->be;
  vm_error ignored;
  if (be->ops->host_alloc && be->ops->host_free && be->ops->host_alloc(be, bytes, &b->p, &ignored) == VM_OK) {
    b->pinned = true;
  } else {
    b->p = malloc(bytes);
    b->pinned = false;
  }
  b->bytes = b->p ? bytes : 0;
  return b->p != NULL;
}

/* A backend that pre-processes 8-bit pictures and writes the alpha into the caller's rows itself needs 4 bytes a
 * pixel on the host (the f32 input, 16, only for 16-bit and float pictures, made when one comes) and no alpha. */
static size_t host_in_bytes(int H, int W, bool packed) {
  return (size_t)H * W * (packed ? 4 : 4 * sizeof(float));
}

static bool host_buffers_alloc(vm_context *ctx, int H, int W) {
  const vm_backend_ops *o = ctx->be->ops;
  if (!host_buffer_reserve(ctx, &ctx->host_in, host_in_bytes(H, W, o->upload_rgbt8 != NULL))) return false;
  return o->download_alpha || host_buffer_reserve(ctx, &ctx->host_out, sizeof(float) * (size_t)H * W);
}

static void drop_plan(vm_context *ctx) {
  vm_backend *be = ctx->be;
  if (ctx->arena) be->ops->free(be, ctx->arena);
  ctx->arena = NULL;
  ctx->arena_bytes = 0;
  free_param(&ctx->grid.pos, be);
  if (ctx->grid.rel)
    for (int l = 0; l < ctx->model->cfg.num_hidden_layers; l++) {
      free_param(&ctx->grid.rel[l][0], be);
      free_param(&ctx->grid.rel[l][1], be);
    }
  free(ctx->grid.rel);
  ctx->grid = (vm_grid){0};
  host_buffer_free(ctx, &ctx->host_in);
  host_buffer_free(ctx, &ctx->host_out);
  ctx->H = ctx->W = 0;
}

/* How one prediction's input reaches the backend and its alpha leaves it (NULL: the f32 input from host_in, the
 * alpha into host_out). */
typedef struct call_io {
  bool packed;         /* host_in holds the image's h x w RGBT bytes for upload_rgbt8, not the f32 input */
  int h, w;            /* the image, unpadded */
  float *alpha;        /* non-NULL: the alpha goes through download_alpha straight into these caller rows */
  size_t alpha_stride;
  bool finite;         /* what download_alpha found */
} call_io;

/* The op sequence of one prediction. Run once measuring (to size the arena) and then for real, identically. */
static void run_sequence(vm_context *ctx, vm_run *r, call_io *io) {
  const vm_config *cfg = &ctx->model->cfg;
  vm_tensor px = vm_run_tensor(r, 1, ctx->grid.H, ctx->grid.W, 4);
  /* f32 whatever the activation type: a bf16 alpha near 1 would be rounded by up to 2e-3. */
  vm_tensor alpha = vm_run_tensor_typed(r, VM_ELEM_F32, 1, ctx->grid.H, ctx->grid.W, 1);
  if (vm_run_active(r))
    r->status = io && io->packed
                    ? ctx->be->ops->upload_rgbt8(ctx->be, &px, (const uint8_t *)ctx->host_in.p, io->h, io->w, r->err)
                    : ctx->be->ops->upload(ctx->be, &px, (const float *)ctx->host_in.p, r->err);
  const bool hooks = vm_run_active(r) && ctx->be->ops->forward_begin && ctx->be->ops->forward_end;
  const int replayed = hooks ? ctx->be->ops->forward_begin(ctx->be, ctx->generation) : 0;
  if (!replayed) vm_mod_forward(r, cfg, &ctx->P, &ctx->grid, &px, &alpha);
  if (hooks) {
    vm_error end_err;
    vm_status st = ctx->be->ops->forward_end(ctx->be, &end_err);
    if (st != VM_OK && r->status == VM_OK) {
      r->status = st;
      if (r->err) *r->err = end_err;
    }
  }
  if (vm_run_active(r))
    r->status = io && io->alpha ? ctx->be->ops->download_alpha(ctx->be, &alpha, io->alpha, io->alpha_stride, io->w,
                                                               io->h, &io->finite, r->err)
                                : ctx->be->ops->download(ctx->be, &alpha, (float *)ctx->host_out.p, r->err);
  vm_run_free(r, &alpha);
  vm_run_free(r, &px);
}

/* Size of the arena for padded H x W: a measuring pass needs only the grid's sizes. */
static vm_status measure(vm_context *ctx, int H, int W, size_t *bytes, vm_error *err) {
  const vm_config *cfg = &ctx->model->cfg;
  vm_grid saved = ctx->grid;
  ctx->grid = (vm_grid){.H = H, .W = W, .h = H / cfg->patch_size, .w = W / cfg->patch_size};
  ctx->grid.rel = calloc((size_t)cfg->num_hidden_layers + 1, sizeof *ctx->grid.rel);
  vm_status st;
  if (!ctx->grid.rel) {
    st = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory");
  } else {
    vm_run r;
    vm_run_init(&r, ctx->be, true, NULL, 0, err);
    run_sequence(ctx, &r, NULL);
    st = r.status;
    *bytes = r.peak;
    vm_run_release(&r);
  }
  free(ctx->grid.rel);
  ctx->grid = saved;
  return st;
}

static vm_status upload_grid(vm_context *ctx, int H, int W, vm_error *err) {
  const vm_config *cfg = &ctx->model->cfg;
  vm_grid_host gh;
  vm_status st = vm_grid_host_make(cfg, &ctx->model->params, H, W, &gh, err);
  if (st != VM_OK) return st;
  vm_grid *g = &ctx->grid;
  *g = (vm_grid){.H = H, .W = W, .h = gh.h, .w = gh.w};
  g->rel = calloc((size_t)cfg->num_hidden_layers + 1, sizeof *g->rel);
  if (!g->rel) {
    st = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory");
    goto done;
  }
  if (gh.pos) {
    g->pos.numel = (int64_t)gh.h * gh.w * cfg->hidden_size;
    g->pos.kind = VM_PARAM_VECTOR;
    st = ctx->be->ops->param_upload(ctx->be, VM_PARAM_VECTOR, gh.pos, g->pos.numel, &g->pos.data, err);
    if (st != VM_OK) goto done;
  }
  for (int l = 0; l < cfg->num_hidden_layers && st == VM_OK; l++)
    for (int a = 0; a < 2 && st == VM_OK; a++) {
      if (!gh.rel[l][a]) continue;
      vm_param *p = &g->rel[l][a];
      p->numel = (int64_t)gh.rel_len[l][a] * cfg->head_dim;
      p->kind = VM_PARAM_VECTOR;
      st = ctx->be->ops->param_upload(ctx->be, VM_PARAM_VECTOR, gh.rel[l][a], p->numel, &p->data, err);
    }
done:
  vm_grid_host_free(&gh, cfg->num_hidden_layers);
  return st;
}

/* What a plan for padded H x W holds besides its arena: the backend's scratch and the resized position tables. */
static size_t plan_extra_bytes(vm_context *ctx, int H, int W) {
  const vm_config *cfg = &ctx->model->cfg;
  const vm_backend_ops *o = ctx->be->ops;
  size_t bytes = o->scratch_estimate ? o->scratch_estimate(ctx->be, cfg, H, W) : 0;
  const size_t h = (size_t)(H / cfg->patch_size), w = (size_t)(W / cfg->patch_size);
  if (ctx->model->params.stem[VM_STEM_POS].data) bytes += sizeof(float) * h * w * (size_t)cfg->hidden_size;
  if (cfg->use_relative_position_embeddings)
    for (int l = 0; l < cfg->num_layers_run; l++) {
      const bool windowed = cfg->window_block[l];
      const size_t sh = windowed ? (size_t)cfg->window_size : h, sw = windowed ? (size_t)cfg->window_size : w;
      bytes += sizeof(float) * (2 * sh - 1 + 2 * sw - 1) * (size_t)cfg->head_dim;
    }
  return bytes;
}

/* Before anything is allocated for a plan: does the device have the memory the estimate says it needs? A consumer
 * card shares its memory with the desktop and GIMP's display, so this is asked at every new size. */
static vm_status check_fit(vm_context *ctx, int H, int W, size_t arena, vm_error *err) {
  vm_backend *be = ctx->be;
  size_t free_b = 0, total_b = 0, held = 0;
  vm_error ignored;
  if (!be->ops->memory_info || be->ops->memory_info(be, &free_b, &total_b, &held, &ignored) != VM_OK)
    return VM_OK; /* the allocations themselves will say */
  /* the backend's scratch from earlier sizes is reused: only the rest is new */
  const size_t scratch_held = held > ctx->params_held ? held - ctx->params_held : 0;
  const size_t plan_bytes = arena + plan_extra_bytes(ctx, H, W);
  const size_t more = plan_bytes > scratch_held ? plan_bytes - scratch_held : 0;
  if (more + VM_FIT_MARGIN <= free_b) return VM_OK;
  const double mib = 1024.0 * 1024.0;
  return vm_fail(err, VM_ERR_DEVICE_OUT_OF_MEMORY,
                 "a %d x %d image (padded) needs %.0f MiB more GPU memory than the %.0f MiB this context holds (%.0f "
                 "MiB with a margin for the CUDA libraries), but only %.0f MiB of the GPU's %.0f MiB are free",
                 W, H, (double)more / mib, (double)held / mib, (double)(more + VM_FIT_MARGIN) / mib,
                 (double)free_b / mib, (double)total_b / mib);
}

static vm_status plan(vm_context *ctx, int H, int W, vm_error *err) {
  if (ctx->H == H && ctx->W == W) return VM_OK;
  drop_plan(ctx);
  size_t bytes = 0;
  vm_status st = measure(ctx, H, W, &bytes, err);
  if (st != VM_OK) return st;
  if ((st = check_fit(ctx, H, W, bytes, err)) != VM_OK) return st;
  if ((st = upload_grid(ctx, H, W, err)) != VM_OK) goto fail;
  st = ctx->be->ops->alloc(ctx->be, bytes, &ctx->arena, err);
  if (st != VM_OK) {
    if (st == VM_ERR_DEVICE_OUT_OF_MEMORY) {
      double need = (double)(bytes + ctx->params_bytes + plan_extra_bytes(ctx, H, W)) / (1 << 20);
      char inner[sizeof err->message];
      snprintf(inner, sizeof inner, "%s", err ? err->message : "");
      vm_fail(err, st, "the image needs about %.0f MiB of GPU memory at %d x %d (padded), more than is free: %s",
              need, W, H, inner);
    }
    goto fail;
  }
  ctx->arena_bytes = bytes;
  if (!host_buffers_alloc(ctx, H, W)) {
    st = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of host memory for a %d x %d image", W, H);
    goto fail;
  }
  ctx->H = H;
  ctx->W = W;
  ctx->generation++;
  return VM_OK;
fail:
  drop_plan(ctx);
  return st;
}

/* ---- public API ---- */

static vm_status make_backend(vm_context *ctx, const vm_context_options *o, vm_error *err) {
  vm_precision prec = o->precision;
  if (o->device == VM_DEVICE_CUDA || o->device == VM_DEVICE_AUTO) {
    vm_precision gpu_prec = prec == VM_PRECISION_AUTO ? VM_PRECISION_FP16 : prec;
    vm_error cuda_err = {0};
    vm_status st = vm_cuda_load(o->cuda_device, gpu_prec, &ctx->cuda_module, &ctx->be, &cuda_err);
    if (st == VM_OK) return VM_OK;
    if (o->device == VM_DEVICE_CUDA) {
      if (err) *err = cuda_err;
      return st;
    }
    const bool half = prec == VM_PRECISION_FP16 || prec == VM_PRECISION_BF16;
    snprintf(ctx->notice, sizeof ctx->notice, "GPU not used (%s); running on the CPU%s", cuda_err.message,
             half ? " in fp32" : "");
    if (half) prec = VM_PRECISION_FP32;
  }
  if (prec == VM_PRECISION_FP16 || prec == VM_PRECISION_BF16)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "fp16 and bf16 are GPU precisions; the CPU computes in fp32");
  return vm_cpu_backend_create(o->cpu_threads, &ctx->be, err);
}

int vm_cpu_thread_limit(void) {
  const int cores = omp_get_num_procs();
  return 4 * (cores > 0 ? cores : 1);
}

vm_status vm_context_create(const vm_model *model, const vm_context_options *options, vm_context **out,
                            vm_error *err) {
  vm_error_clear(err);
  if (!out) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_context_create: out is required");
  *out = NULL;
  vm_context_options def;
  if (!options) {
    vm_context_options_default(&def);
    options = &def;
  }
  if (options->device < VM_DEVICE_AUTO || options->device > VM_DEVICE_CUDA)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "unknown device %d", (int)options->device);
  if (options->precision < VM_PRECISION_AUTO || options->precision > VM_PRECISION_BF16)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "unknown precision %d", (int)options->precision);
  /* Also the host-side threads of a GPU context (pre-processing), so it is checked whatever the device. */
  if (options->cpu_threads < 0 || options->cpu_threads > vm_cpu_thread_limit())
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "%d CPU threads: the count must be 0 (all cores) to %d (4 per core)",
                   options->cpu_threads, vm_cpu_thread_limit());
  /* The config guarantees patch = 2^fusion stages; the processor's padding must also be a multiple of it. */
  if (model && VM_PAD_MULTIPLE % model->cfg.patch_size != 0)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "patch size %d does not divide the processor's padding to %d",
                   model->cfg.patch_size, VM_PAD_MULTIPLE);
  vm_context *ctx = calloc(1, sizeof *ctx);
  if (!ctx) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory");
  ctx->model = model;
  ctx->progress = options->progress;
  ctx->progress_user = options->progress_user_data;
  ctx->host_threads = options->cpu_threads;
  ctx->auto_device = options->device == VM_DEVICE_AUTO;
  vm_status st = make_backend(ctx, options, err);
  if (st == VM_OK && model) st = upload_params(ctx, err); /* no model: a context for vm_estimate_foreground */
  if (st != VM_OK) {
    vm_context_free(ctx);
    return st;
  }
  size_t free_b, total_b;
  vm_error ignored;
  if (ctx->be->ops->memory_info &&
      ctx->be->ops->memory_info(ctx->be, &free_b, &total_b, &ctx->params_held, &ignored) != VM_OK)
    ctx->params_held = 0;
  *out = ctx;
  return VM_OK;
}

void vm_context_free(vm_context *ctx) {
  if (!ctx) return;
  if (ctx->be) {
    drop_plan(ctx);
    if (ctx->P.layer && !ctx->params_shared) vm_params_each(&ctx->P, free_param, ctx->be);
    ctx->be->ops->destroy(ctx->be);
  }
  vm_params_release_slots(&ctx->P);
  vm_cuda_unload(ctx->cuda_module);
  vm_context_free(ctx->cpu_fallback);
  free(ctx);
}

vm_device vm_context_device(const vm_context *ctx) { return ctx->be->device; }
vm_precision vm_context_precision(const vm_context *ctx) { return ctx->be->precision; }
const char *vm_context_device_name(const vm_context *ctx) { return ctx->be->name; }
const char *vm_context_notice(const vm_context *ctx) { return ctx->notice[0] ? ctx->notice : NULL; }

static int padded(int n) { return (n + VM_PAD_MULTIPLE - 1) / VM_PAD_MULTIPLE * VM_PAD_MULTIPLE; }

/* Sizes beyond this would overflow 32-bit pixel indices somewhere in the pipeline; no real photo is near it. */
#define VM_MAX_SIDE 65536
#define VM_MAX_PIXELS ((int64_t)1 << 30)

vm_status vm_check_image_size(int width, int height, vm_error *err) {
  if (width <= 0 || height <= 0 || width > VM_MAX_SIDE || height > VM_MAX_SIDE ||
      (int64_t)width * height > VM_MAX_PIXELS)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT,
                   "image size %d x %d is outside what the engine supports (1 to %d pixels a side, at most %lld "
                   "pixels)", width, height, VM_MAX_SIDE, (long long)VM_MAX_PIXELS);
  return VM_OK;
}

/* The prediction on the context's own backend; arguments checked by vm_predict. */
static vm_status predict_here(vm_context *ctx, const vm_image *rgb, const vm_image *trimap, float *alpha,
                              size_t alpha_row_stride, vm_error *err) {
  const int H = padded(rgb->height), W = padded(rgb->width);
  vm_status st;
  if ((st = plan(ctx, H, W, err)) != VM_OK) return st;
  /* A backend that pre-processes on the device gets the 8-bit pixels (a quarter of the f32 input's bytes) and puts
   * the alpha straight into the caller's rows: at 12 MP the host work and the copies were a quarter of the call. */
  const vm_backend_ops *o = ctx->be->ops;
  call_io io = {.h = rgb->height, .w = rgb->width};
  io.packed = o->upload_rgbt8 && vm_pack_rgbt8(rgb, trimap, (uint8_t *)ctx->host_in.p, ctx->host_threads);
  if (!io.packed) {
    /* a 16-bit or float picture on such a backend: the f32 input needs the larger buffer */
    if (!host_buffer_reserve(ctx, &ctx->host_in, host_in_bytes(H, W, false)))
      return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of host memory for a %d x %d image", W, H);
    vm_preprocess(rgb, trimap, H, W, (float *)ctx->host_in.p, ctx->host_threads);
  }
  if (o->download_alpha) {
    io.alpha = alpha;
    io.alpha_stride = alpha_row_stride;
  }
  vm_run r;
  vm_run_init(&r, ctx->be, false, ctx->arena, ctx->arena_bytes, err);
  r.progress = ctx->progress;
  r.progress_user = ctx->progress_user;
  if (vm_run_progress(&r, "starting", 0.0)) run_sequence(ctx, &r, &io);
  st = r.status;
  vm_run_release(&r);
  if (st != VM_OK) {
    /* the device state is unknown now (or too little was left of it): start the next image afresh */
    if (st == VM_ERR_DEVICE || st == VM_ERR_INTERNAL || st == VM_ERR_DEVICE_OUT_OF_MEMORY) drop_plan(ctx);
    return st;
  }
  const bool finite =
      io.alpha ? io.finite
               : vm_alpha_finite((const float *)ctx->host_out.p, W, rgb->width, rgb->height, ctx->host_threads);
  if (!finite) {
    /* fp16 tops out at 65504: activations beyond it become inf, then NaN. Say so rather than return a broken mask. */
    if (ctx->be->precision == VM_PRECISION_FP16)
      return vm_fail(err, VM_ERR_UNSUPPORTED,
                     "the fp16 computation overflowed (the alpha has values that are not numbers): this model and "
                     "image need bf16 or fp32");
    return vm_fail(err, VM_ERR_INTERNAL, "the alpha has values that are not numbers (%s)", ctx->be->name);
  }
  if (io.alpha) return VM_OK; /* already in the caller's rows */
  const int threads = ctx->host_threads > 0 ? ctx->host_threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(threads) if ((int64_t)rgb->height * rgb->width >= (1 << 18))
  for (int y = 0; y < rgb->height; y++)
    memcpy(alpha + (size_t)y * alpha_row_stride, (const float *)ctx->host_out.p + (size_t)y * W,
           sizeof(float) * rgb->width);
  return VM_OK;
}

/* The CPU context an AUTO context runs the images its GPU cannot hold on: made on first need (a prediction or the
 * host-memory estimate of such an image), then kept in ctx->cpu_fallback. */
static vm_status ensure_cpu_fallback(vm_context *ctx, vm_error *err) {
  if (ctx->cpu_fallback) return VM_OK;
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = VM_DEVICE_CPU;
  o.precision = VM_PRECISION_FP32;
  o.cpu_threads = ctx->host_threads;
  o.progress = ctx->progress;
  o.progress_user_data = ctx->progress_user;
  return vm_context_create(ctx->model, &o, &ctx->cpu_fallback, err);
}

/* VM_DEVICE_AUTO and an image the GPU cannot hold: the same prediction on the CPU, with a notice saying why. */
static vm_status predict_on_cpu(vm_context *ctx, const vm_image *rgb, const vm_image *trimap, float *alpha,
                                size_t alpha_row_stride, const char *why, vm_error *err) {
  snprintf(ctx->notice, sizeof ctx->notice, "GPU not used for this %d x %d image (%s); running on the CPU",
           rgb->width, rgb->height, why);
  vm_status st = ensure_cpu_fallback(ctx, err);
  if (st != VM_OK) return st;
  return vm_predict(ctx->cpu_fallback, rgb, trimap, alpha, alpha_row_stride, err);
}

vm_status vm_predict(vm_context *ctx, const vm_image *rgb, const vm_image *trimap, float *alpha,
                     size_t alpha_row_stride, vm_error *err) {
  vm_error_clear(err);
  if (!ctx || !alpha) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_predict: context and alpha are required");
  if (!ctx->model) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_predict: this context was made without a model");
  vm_status st;
  if ((st = vm_image_check(rgb, 0, "image", err)) != VM_OK) return st;
  if ((st = vm_image_check(trimap, 1, "trimap", err)) != VM_OK) return st;
  if (rgb->width != trimap->width || rgb->height != trimap->height)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "the trimap is %d x %d but the image is %d x %d", trimap->width,
                   trimap->height, rgb->width, rgb->height);
  if ((st = vm_check_image_size(rgb->width, rgb->height, err)) != VM_OK) return st;
  if (alpha_row_stride == 0) alpha_row_stride = (size_t)rgb->width;
  if (alpha_row_stride < (size_t)rgb->width)
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "alpha row stride %zu is less than the width %d", alpha_row_stride,
                   rgb->width);
  vm_error here = {0};
  st = predict_here(ctx, rgb, trimap, alpha, alpha_row_stride, &here);
  const bool on_gpu = ctx->be->device == VM_DEVICE_CUDA;
  if (st == VM_ERR_DEVICE_OUT_OF_MEMORY && on_gpu && ctx->auto_device)
    return predict_on_cpu(ctx, rgb, trimap, alpha, alpha_row_stride, here.message, err);
  if (on_gpu) ctx->notice[0] = '\0'; /* this image did not need the CPU */
  if (err) *err = here;
  return st;
}

/* What a memory estimate for a width x height image needs: a model and a size the engine supports. */
static vm_status check_estimate(const vm_context *ctx, int width, int height, vm_error *err) {
  if (!ctx->model) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "this context was made without a model");
  return vm_check_image_size(width, height, err);
}

vm_status vm_context_estimate_memory(vm_context *ctx, int width, int height, size_t *bytes, vm_error *err) {
  vm_error_clear(err);
  if (!ctx || !bytes) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "context and bytes are required");
  vm_status st = check_estimate(ctx, width, height, err);
  if (st != VM_OK) return st;
  const int H = padded(height), W = padded(width);
  size_t arena = 0;
  if ((st = measure(ctx, H, W, &arena, err)) != VM_OK) return st;
  *bytes = ctx->params_bytes + arena + plan_extra_bytes(ctx, H, W);
  if (ctx->be->device == VM_DEVICE_CPU) *bytes += sizeof(float) * 5 * (size_t)H * W;
  return VM_OK;
}

vm_status vm_context_host_bytes(vm_context *ctx, int width, int height, size_t *bytes, vm_error *err) {
  vm_error_clear(err);
  if (!ctx || !bytes) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "context and bytes are required");
  *bytes = 0;
  if (!ctx->model) { /* a context for vm_estimate_foreground alone */
    vm_status st = vm_check_image_size(width, height, err);
    if (st == VM_OK) *bytes = vm_foreground_host_bytes(width, height);
    return st;
  }
  if (ctx->be->device == VM_DEVICE_CPU) return vm_context_estimate_memory(ctx, width, height, bytes, err);
  vm_status st = check_estimate(ctx, width, height, err);
  if (st != VM_OK) return st;
  const int H = padded(height), W = padded(width);
  size_t arena = 0;
  if ((st = measure(ctx, H, W, &arena, err)) != VM_OK) return st;
  *bytes = sizeof(float) * 5 * (size_t)H * W; /* the pre-processed input and the alpha, on the host */
  /* An AUTO context runs an image the GPU cannot hold on the CPU (predict_on_cpu): then the CPU's estimate counts. */
  vm_error ignored;
  if (!ctx->auto_device || check_fit(ctx, H, W, arena, &ignored) != VM_ERR_DEVICE_OUT_OF_MEMORY) return VM_OK;
  if ((st = ensure_cpu_fallback(ctx, err)) != VM_OK) return st;
  return vm_context_estimate_memory(ctx->cpu_fallback, width, height, bytes, err);
}

size_t vm_context_peak_memory(const vm_context *ctx) {
  size_t backend = ctx->be->ops->peak_memory ? ctx->be->ops->peak_memory(ctx->be) : ctx->arena_bytes;
  /* weights read in place from the model count as the context's (vitmatte.h: "weights, activations, scratch") */
  if (ctx->params_shared || !ctx->be->ops->peak_memory) backend += ctx->params_bytes;
  return backend;
}

/* ---- internal access (context_internal.h) ---- */

vm_backend *vm_context_backend(vm_context *ctx) { return ctx->be; }
const vm_params *vm_context_params(const vm_context *ctx) { return &ctx->P; }
const vm_config *vm_context_config(const vm_context *ctx) { return &ctx->model->cfg; }
bool vm_context_has_model(const vm_context *ctx) { return ctx->model != NULL; }
int vm_context_host_threads(const vm_context *ctx) {
  return ctx->host_threads > 0 ? ctx->host_threads : omp_get_max_threads();
}
void vm_context_progress(const vm_context *ctx, vm_progress_fn *fn, void **user) {
  *fn = ctx->progress;
  *user = ctx->progress_user;
}

vm_status vm_context_plan(vm_context *ctx, int H, int W, const vm_grid **grid, vm_error *err) {
  vm_status st = plan(ctx, H, W, err);
  if (st == VM_OK) *grid = &ctx->grid;
  return st;
}
