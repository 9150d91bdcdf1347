/* cli_engine.c - the model, the context and one picture's way to its alpha file, shared by a single run
 * (vitmatte.c) and folders (cmd_batch.c), so the two say the same things in the same order. */
#include "cli_engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "cli_signals.h"

int cli_engine_load(cli_engine *e, const cli_options *o) {
  vm_error err;
  memset(&err, 0, sizeof err);
  if (vm_model_load(o->model_path, &e->model, &err) == VM_OK) return 0;
  /* The engine's model messages usually name the file; when one does not, the user still learns which path. */
  if (strstr(err.message, o->model_path))
    cli_say("%s", err.message);
  else
    cli_say("cannot load the model %s: %s", o->model_path, err.message);
  return err.status == VM_ERR_OUT_OF_MEMORY ? EXIT_RUNTIME : EXIT_MODEL;
}

int cli_engine_context(cli_engine *e, const cli_options *o, vm_progress_fn progress, void *progress_data,
                       progress_bar *bar) {
  vm_context_options options;
  vm_context_options_default(&options);
  options.device = o->device;
  options.precision = o->precision;
  options.cpu_threads = cli_cap_threads(o->threads, o->quiet);
  options.progress = progress;
  options.progress_user_data = progress_data;
  vm_error err;
  memset(&err, 0, sizeof err);
  const vm_status created = vm_context_create(e->model, &options, &e->context, &err);
  progress_bar_clear(bar); /* the engine may report progress while it uploads the weights */
  if (created != VM_OK) {
    if (created != VM_ERR_CANCELLED) cli_say("%s", err.message);
    return cli_exit_status_for_run(created);
  }
  const char *notice = vm_context_notice(e->context);
  e->creation_notice = notice != NULL;
  if (notice && !o->quiet) cli_say("%s", notice);
  return 0;
}

void cli_engine_free(cli_engine *e) {
  if (e->context) vm_context_free(e->context);
  if (e->model) vm_model_free(e->model);
  memset(e, 0, sizeof *e);
}

int cli_engine_matte(const cli_engine *e, const cli_options *o, cli_inputs *in, progress_bar *bar, cli_matte *m,
                     char *reason, size_t reason_size) {
  memset(m, 0, sizeof *m);
  vm_error err;
  memset(&err, 0, sizeof err);
  /* Before a pixel is decoded: the engine's limits and the memory the whole picture needs, from the headers. */
  const image_header *size = &in->image_header;
  if (vm_context_check_host_memory(e->context, size->width, size->height, cli_inputs_host_bytes(in), &err) != VM_OK) {
    snprintf(reason, reason_size, "cannot matte %s: %s", o->image_path, err.message);
    return cli_exit_status_for_run(err.status);
  }
  if (cli_inputs_read(o, in, reason, reason_size) != 0) return EXIT_USAGE;
  if (*cli_signals_flag()) return EXIT_CANCELLED;

  const image_buffer *image = &in->image;
  m->alpha = malloc((size_t)image->width * (size_t)image->height * sizeof *m->alpha);
  if (!m->alpha) {
    snprintf(reason, reason_size, "out of memory for a %dx%d alpha", image->width, image->height);
    return EXIT_RUNTIME;
  }
  const vm_image rgb = cli_engine_view(image), trimap = cli_engine_view(&in->trimap);
  const double start = cli_seconds_now();
  const vm_status predicted = vm_predict(e->context, &rgb, &trimap, m->alpha, 0, &err);
  m->predict_seconds = cli_seconds_now() - start;
  progress_bar_clear(bar);
  if (predicted != VM_OK) {
    if (predicted != VM_ERR_CANCELLED) snprintf(reason, reason_size, "%s", err.message);
    return cli_exit_status_for_run(predicted);
  }
  /* an image the GPU could not hold ran on the CPU (--device auto): say so, the time shows it */
  m->fell_back = e->creation_notice ? NULL : vm_context_notice(e->context);
  if (m->fell_back && !o->quiet) cli_say("%s", m->fell_back);
  return cli_write_samples(o->output_path, o->output_format, o->png_bits, m->alpha, image->width, image->height, 1,
                           reason, reason_size);
}
