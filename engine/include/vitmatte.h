/* vitmatte.h - the public API of the ViTMatte engine.
 * Owns: loading a Hugging Face ViTMatte checkpoint, inference contexts on CPU or CUDA, alpha prediction. */
#ifndef VITMATTE_H
#define VITMATTE_H

#include <stddef.h>
#include <stdint.h>

#include "vitmatte_version.h" /* VM_VERSION_STRING: the project version of meson.build */

#ifdef __cplusplus
extern "C" {
#endif

/* Every call that can fail returns a status and, when `err` is not NULL, fills it with the same status and a
 * one-line human-readable message. The library never prints, never exits and keeps no global state of its own.
 * Threads: a model may be shared read-only by several contexts in several threads; one context must be used by one
 * thread at a time. (The CPU backend sets OpenBLAS to one thread during each operation and restores the previous
 * setting afterwards, as OpenBLAS's setting is process-wide.) */
typedef enum vm_status {
  VM_OK = 0,
  VM_ERR_INVALID_ARGUMENT,    /* NULL pointer, bad size, image and trimap of different sizes, bad option */
  VM_ERR_IO,                  /* a file could not be opened or read */
  VM_ERR_FORMAT,              /* a file is not what it should be: bad JSON, bad safetensors, a pickle file */
  VM_ERR_MODEL,               /* checkpoint and config disagree: missing/unexpected tensor, shape or dtype */
  VM_ERR_UNSUPPORTED,         /* valid but not supported here (a config option this engine lacks; an image whose
                               * activations overflow fp16, where the message says to use bf16 or fp32) */
  VM_ERR_OUT_OF_MEMORY,       /* host memory */
  VM_ERR_DEVICE_OUT_OF_MEMORY,/* the GPU has too little free memory for this image; the message says how much */
  VM_ERR_DEVICE,              /* no usable GPU, or a CUDA / cuBLAS / cuDNN failure */
  VM_ERR_CANCELLED,           /* the progress callback asked to stop */
  VM_ERR_INTERNAL
} vm_status;

typedef struct vm_error {
  vm_status status;
  char message[512];
} vm_error;

/* A static English name of a status ("invalid argument", ...). */
const char *vm_status_string(vm_status status);

/* Rewrites the NUL-terminated `text` (in a buffer of `size` bytes, up to 1023 bytes of it) as valid UTF-8 on one
 * line: each byte that is not part of a well-formed UTF-8 sequence, and each control character (tab and newline
 * included), becomes "\xNN"; the end is cut at a character boundary when the escapes do not fit. Every vm_error
 * message already is like this; callers use it for their own messages that quote bytes from files. */
void vm_text_sanitize(char *text, size_t size);

/* ---- Models ------------------------------------------------------------------------------------------ */

typedef struct vm_model vm_model;

/* `path` is a directory holding config.json and model.safetensors (what `save_pretrained` or the hub gives),
 * or the path of a .safetensors file with config.json beside it. A pickle checkpoint (pytorch_model.bin) is
 * refused with a message that says how to get model.safetensors. */
vm_status vm_model_load(const char *path, vm_model **out, vm_error *err);

/* The same with the two files named separately. */
vm_status vm_model_load_files(const char *config_json_path, const char *safetensors_path, vm_model **out,
                              vm_error *err);

void vm_model_free(vm_model *model);

typedef struct vm_model_info {
  int hidden_size;          /* 384 for ViTMatte-S, 768 for ViTMatte-B */
  int num_attention_heads;
  int num_hidden_layers;
  int patch_size;
  int window_size;
  int64_t num_parameters;   /* trainable parameters as stored (BatchNorm statistics not counted) */
  const char *stored_dtype; /* "F32", "F16", "BF16" or "mixed" */
} vm_model_info;

void vm_model_get_info(const vm_model *model, vm_model_info *info);

/* ---- Inference contexts ------------------------------------------------------------------------------- */

typedef enum vm_device {
  VM_DEVICE_AUTO = 0, /* CUDA when a usable GPU and the CUDA backend are present, else the CPU (with a notice) */
  VM_DEVICE_CPU,
  VM_DEVICE_CUDA      /* fail with VM_ERR_DEVICE when no usable GPU is present */
} vm_device;

typedef enum vm_precision {
  VM_PRECISION_AUTO = 0, /* fp32 on the CPU, fp16 on CUDA */
  VM_PRECISION_FP32,     /* exact reference (TF32 off on CUDA) */
  VM_PRECISION_FP16,     /* CUDA only: fp16 storage and tensor cores, fp32 accumulation */
  VM_PRECISION_BF16      /* CUDA only: bf16 storage and tensor cores, fp32 accumulation */
} vm_precision;

/* Progress: `stage` is a short static text ("encoder", "decoder", ...), `fraction` grows from 0 to 1.
 * Return non-zero to cancel: vm_predict then returns VM_ERR_CANCELLED and writes nothing to the alpha. */
typedef int (*vm_progress_fn)(void *user_data, const char *stage, double fraction);

typedef struct vm_context_options {
  vm_device device;
  vm_precision precision;
  int cpu_threads;          /* 0 = all cores; at most vm_cpu_thread_limit() */
  int cuda_device;          /* CUDA device ordinal */
  vm_progress_fn progress;  /* may be NULL */
  void *progress_user_data;
} vm_context_options;

void vm_context_options_default(vm_context_options *options);

/* The most CPU threads a context takes: 4 per core this process may use. More only add scheduling cost and a
 * scratch buffer each; vm_context_create refuses a larger (or negative) cpu_threads with VM_ERR_INVALID_ARGUMENT. */
int vm_cpu_thread_limit(void);

typedef struct vm_context vm_context;

/* The context uploads the weights to its device once. The model must outlive the context. `model` may be NULL:
 * such a context runs only vm_estimate_foreground (vm_predict and the memory estimate refuse it). */
vm_status vm_context_create(const vm_model *model, const vm_context_options *options, vm_context **out,
                            vm_error *err);
void vm_context_free(vm_context *ctx);

vm_device vm_context_device(const vm_context *ctx);       /* CPU or CUDA, never AUTO */
vm_precision vm_context_precision(const vm_context *ctx); /* never AUTO */
const char *vm_context_device_name(const vm_context *ctx);/* e.g. "CPU, 2 threads" or "NVIDIA H100 80GB HBM3" */
/* Why a VM_DEVICE_AUTO context does not use the GPU, in one line, or NULL when it does: either the context runs on
 * the CPU altogether ("GPU not used (no usable NVIDIA driver found); running on the CPU"), or the last vm_predict's
 * image did not fit in the GPU's free memory and that image ran on the CPU ("GPU not used for this 9000 x 7000
 * image (... needs 9120 MiB ..., only 5200 MiB ... are free); running on the CPU"). */
const char *vm_context_notice(const vm_context *ctx);

/* ---- Images and prediction ---------------------------------------------------------------------------- */

typedef enum vm_pixel_type {
  VM_PIXEL_U8 = 0, /* 0..255 */
  VM_PIXEL_U16,    /* 0..65535 */
  VM_PIXEL_F32     /* 0..1 (values outside are used as they are) */
} vm_pixel_type;

/* A borrowed view of pixels: `channels` interleaved samples per pixel, rows `row_stride` bytes apart
 * (0 = tightly packed). Colour images have 3 (RGB) or 4 (RGBA) channels in sRGB order R,G,B, or 1 (gray) or 2
 * (gray + alpha); gray is used as R = G = B and alpha channels are ignored.
 * Trimaps have 1 channel: 0 = background, 1/2 (128 in 8 bits) = unknown, 1 (255) = foreground; the engine uses
 * the value as it is (p/255 for 8 bits), exactly as VitMatteImageProcessor does. */
typedef struct vm_image {
  const void *data;
  int width;
  int height;
  int channels;
  size_t row_stride;
  vm_pixel_type type;
} vm_image;

/* Whether `trimap` leaves the model something to decide: it needs unknown pixels, values other than 0 and the
 * type's maximum (255, 65535, 1.0). Where every pixel is known the alpha means nothing (the model does not copy the
 * known values), so callers refuse such a trimap before they run: VM_ERR_INVALID_ARGUMENT with the message the CLI
 * and the GIMP plug-in both show ("the trimap has no unknown pixels (N background, M foreground), so there is
 * nothing to matte"). vm_predict itself does not check. */
vm_status vm_trimap_check(const vm_image *trimap, vm_error *err);

/* Predict the alpha of `rgb` given `trimap` (same width and height). `alpha` receives width x height floats in
 * 0..1, rows `alpha_row_stride` floats apart (0 = width). The result equals VitMatteImageProcessor +
 * VitMatteForImageMatting cropped to the image.
 * On a GPU, the image's memory estimate is compared with the device's free memory before anything is allocated for
 * it: when it does not fit, a VM_DEVICE_AUTO context computes this image on the CPU (see vm_context_notice), a
 * VM_DEVICE_CUDA one fails with VM_ERR_DEVICE_OUT_OF_MEMORY and a message giving the MiB needed and free. */
vm_status vm_predict(vm_context *ctx, const vm_image *rgb, const vm_image *trimap, float *alpha,
                     size_t alpha_row_stride, vm_error *err);

/* Memory the context would need for an image of this size (device memory on CUDA, host memory on the CPU),
 * weights included. Lets a caller refuse a too-large image before it reads any pixels. */
vm_status vm_context_estimate_memory(vm_context *ctx, int width, int height, size_t *bytes, vm_error *err);

/* Whether matting a width x height image fits in the host's memory now, asked before reading its pixels: the
 * engine's size limits, then what the context holds on the host for it (on the CPU vm_context_estimate_memory, on a
 * GPU the pre-processed input and the alpha; for a context made without a model, what vm_estimate_foreground takes)
 * plus `caller_bytes` the caller holds meanwhile (its decoded pictures, the alpha), against the memory available (MemAvailable of /proc/meminfo; where that cannot be read, only the
 * limits are checked). Fails with VM_ERR_INVALID_ARGUMENT beyond the limits and VM_ERR_OUT_OF_MEMORY otherwise,
 * with a message giving the size and the memory needed. */
vm_status vm_context_check_host_memory(vm_context *ctx, int width, int height, size_t caller_bytes, vm_error *err);

/* Peak memory the context's backend has held so far (weights, activations, scratch): device memory on CUDA, host
 * memory on the CPU. vm_context_estimate_memory for the same image is an upper bound of it. */
size_t vm_context_peak_memory(const vm_context *ctx);

/* ---- Foreground colours (cut-outs) -------------------------------------------------------------------- */

/* Which update each level's iterations use. */
typedef enum vm_foreground_method {
  VM_FOREGROUND_AUTO = 0,   /* SEQUENTIAL on a CPU context, JACOBI on a CUDA context */
  VM_FOREGROUND_SEQUENTIAL, /* the published in-place sweep, equal to pymatting's estimate_foreground_ml; one CPU
                             * core (on a CUDA context too) */
  VM_FOREGROUND_JACOBI      /* every pixel from the previous iteration (pymatting's GPU kernel): the GPU of a CUDA
                             * context, else the context's CPU threads. Differs from SEQUENTIAL (README, "Cut-outs") */
} vm_foreground_method;

/* The method's parameters; vm_foreground_options_default gives the published ones. */
typedef struct vm_foreground_options {
  vm_foreground_method method;
  float regularization;  /* 1e-5, at least 1e-7: pulls F and B towards their neighbours everywhere */
  float gradient_weight; /* 1: pulls them together more where the alpha changes (0 or more) */
  int small_iterations;  /* 10: iterations on levels whose width and height are both <= small_size */
  int big_iterations;    /* 2: iterations on the other levels */
  int small_size;        /* 32 */
} vm_foreground_options;

void vm_foreground_options_default(vm_foreground_options *options);

/* Whether vm_estimate_foreground on a width x height image fits in the host's memory now, without a context (the
 * host memory it takes does not depend on the device): what vm_context_check_host_memory answers on a context made
 * without a model, with `caller_bytes` the caller holds meanwhile. Lets a caller refuse a too-large cut-out before it
 * loads a model or starts a GPU. Fails with VM_ERR_INVALID_ARGUMENT beyond the engine's limits and VM_ERR_OUT_OF_MEMORY
 * otherwise, with a message giving the size and the memory needed. */
vm_status vm_check_foreground_host_memory(int width, int height, size_t caller_bytes, vm_error *err);

/* Estimate the foreground colours F of `image` given its `alpha` (Germer et al., "Fast Multi-Level Foreground
 * Estimation", 2020), so that alpha F + (1 - alpha) B = image with smooth F and B: F is what a cut-out shows where
 * the image mixes the subject with the old background (hair, soft edges).
 * `image` is any colour image vm_predict takes; its samples are used in their own encoding (p/255, p/65535, or
 * the float as it is), no gamma conversion. `alpha` has one channel of any pixel type and the image's size, e.g.
 * vm_predict's output as {alpha, width, height, 1, row_stride * sizeof(float), VM_PIXEL_F32}. Float samples
 * must be finite.
 * `foreground` receives width x height pixels of 3 floats (R, G, B) for colour images, 1 for gray ones, in 0..1,
 * rows `foreground_row_stride` floats apart (0 = packed); `background`, when not NULL, the estimated background
 * the same way. Progress goes to the context's callback as stage "foreground"; when it cancels, the call returns
 * VM_ERR_CANCELLED and writes nothing. A context made without a model (vm_context_create) is enough. */
vm_status vm_estimate_foreground(vm_context *ctx, const vm_image *image, const vm_image *alpha,
                                 const vm_foreground_options *options, float *foreground,
                                 size_t foreground_row_stride, float *background, size_t background_row_stride,
                                 vm_error *err);

#ifdef __cplusplus
}
#endif

#endif /* VITMATTE_H */
