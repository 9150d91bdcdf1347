/* cli_engine.h - the engine as a single vitmatte run and folder mode both use it: one model, one context, and the
 * steps that turn one picture's read headers into its alpha file. Owns: the model's and the context's messages and
 * exit statuses, and the memory check, pixels, prediction, CPU fallback and alpha write of one picture. */
#ifndef VITMATTE_CLI_ENGINE_H
#define VITMATTE_CLI_ENGINE_H

#include <stddef.h>

#include "cli_inputs.h"
#include "cli_options.h"
#include "progress_bar.h"
#include "vitmatte.h"

typedef struct cli_engine {
  vm_model *model;
  vm_context *context;
  int creation_notice; /* the context said at creation why it runs on the CPU: no picture has a fallback of its own */
} cli_engine;

/* Loads o->model_path. 0, or the exit status (EXIT_MODEL, EXIT_RUNTIME when out of memory) having said why. */
int cli_engine_load(cli_engine *e, const cli_options *o);

/* Makes the context for o's device, precision and threads; the engine's progress goes to progress(progress_data).
 * `bar` is cleared (the engine may report while it uploads the weights) and the context's notice said unless
 * o->quiet. 0, or the exit status having said why (nothing said when it was cancelled). */
int cli_engine_context(cli_engine *e, const cli_options *o, vm_progress_fn progress, void *progress_data,
                       progress_bar *bar);

void cli_engine_free(cli_engine *e);

/* One picture matted, for the caller's summary and its cut-out. */
typedef struct cli_matte {
  float *alpha;           /* width x height of in->image; the caller frees it */
  double predict_seconds;
  const char *fell_back;  /* why this picture ran on the CPU after all (--device auto, the GPU could not hold it),
                             said unless quiet; NULL when it did not */
} cli_matte;

/* From `in` with its headers read (cli_inputs_read_headers): the engine's limits and the memory the picture needs,
 * checked before a pixel is decoded; the pixels; the prediction; the alpha written to o->output_path. `bar` is
 * cleared before anything is said. Returns 0; EXIT_CANCELLED (a signal, nothing said); or another exit status with
 * the one-line reason in `reason`. */
int cli_engine_matte(const cli_engine *e, const cli_options *o, cli_inputs *in, progress_bar *bar, cli_matte *m,
                     char *reason, size_t reason_size);

#endif
