/* vitmatte.c - the command-line tool: image + trimap in, alpha matte out, through the public engine API only.
 * Every failure ends in one line "vitmatte: <reason>" and an exit status that says whose fault it was. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_inputs.h"
#include "cli_options.h"
#include "cli_signals.h"
#include "cmd_batch.h"
#include "cmd_foreground.h"
#include "cmd_models.h"
#include "image_io.h"
#include "output_file.h"
#include "progress_bar.h"
#include "vitmatte.h"

static const char *precision_name(vm_precision precision) {
  switch (precision) {
    case VM_PRECISION_FP32: return "fp32";
    case VM_PRECISION_FP16: return "fp16";
    case VM_PRECISION_BF16: return "bf16";
    default: return "auto";
  }
}

/* The engine's model messages usually name the file; when one does not, the user still learns which path. */
static void say_model_error(const char *path, const vm_error *err) {
  if (strstr(err->message, path))
    cli_say("%s", err->message);
  else
    cli_say("cannot load the model %s: %s", path, err->message);
}

static int exit_status_for_model(vm_status status) {
  return status == VM_ERR_OUT_OF_MEMORY ? EXIT_RUNTIME : EXIT_MODEL;
}

typedef struct run_state {
  cli_inputs inputs;
  vm_model *model;
  vm_context *context;
  float *alpha;
  progress_bar bar;
} run_state;

static int run(const cli_options *options, run_state *s) {
  char msg[700];
  /* Before anything costly: both outputs can be written and neither is an input. */
  const char *inputs[] = {options->image_path, options->trimap_path};
  if (cli_check_output(options->output_path, inputs, 2, msg, sizeof msg) != 0 ||
      (options->cutout_path && cli_check_output(options->cutout_path, inputs, 2, msg, sizeof msg) != 0)) {
    cli_say("%s", msg);
    return EXIT_USAGE;
  }
  if (cli_inputs_read_headers(options, &s->inputs, msg, sizeof msg) != 0) {
    cli_say("%s", msg);
    return EXIT_USAGE;
  }
  if (*cli_signals_flag()) return EXIT_CANCELLED;

  const double load_start = cli_seconds_now();
  vm_error err;
  memset(&err, 0, sizeof err);
  if (vm_model_load(options->model_path, &s->model, &err) != VM_OK) {
    say_model_error(options->model_path, &err);
    return exit_status_for_model(err.status);
  }
  if (*cli_signals_flag()) return EXIT_CANCELLED;

  vm_context_options context_options;
  vm_context_options_default(&context_options);
  context_options.device = options->device;
  context_options.precision = options->precision;
  context_options.cpu_threads = cli_cap_threads(options->threads, options->quiet);
  context_options.progress = progress_bar_report;
  context_options.progress_user_data = &s->bar;
  if (vm_context_create(s->model, &context_options, &s->context, &err) != VM_OK) {
    cli_say("%s", err.message);
    return cli_exit_status_for_run(err.status);
  }
  const double load_seconds = cli_seconds_now() - load_start;
  const char *notice = vm_context_notice(s->context);
  progress_bar_clear(&s->bar); /* the engine may report progress while it uploads the weights */
  if (notice && !options->quiet) cli_say("%s", notice);
  if (*cli_signals_flag()) return EXIT_CANCELLED;

  /* Before a pixel is decoded: the engine's limits and the memory the whole run needs, from the headers. */
  const image_header *size = &s->inputs.image_header;
  if (vm_context_check_host_memory(s->context, size->width, size->height, cli_inputs_host_bytes(&s->inputs),
                                   &err) != VM_OK) {
    cli_say("cannot matte %s: %s", options->image_path, err.message);
    return cli_exit_status_for_run(err.status);
  }
  if (cli_inputs_read(options, &s->inputs, msg, sizeof msg) != 0) {
    cli_say("%s", msg);
    return EXIT_USAGE;
  }
  if (*cli_signals_flag()) return EXIT_CANCELLED;

  const image_buffer *image = &s->inputs.image;
  const size_t pixels = (size_t)image->width * (size_t)image->height;
  s->alpha = malloc(pixels * sizeof *s->alpha);
  if (!s->alpha) {
    cli_say("out of memory for a %dx%d alpha", image->width, image->height);
    return EXIT_RUNTIME;
  }
  const vm_image rgb = cli_engine_view(image);
  const vm_image trimap = cli_engine_view(&s->inputs.trimap);
  const double predict_start = cli_seconds_now();
  const vm_status predicted = vm_predict(s->context, &rgb, &trimap, s->alpha, 0, &err);
  const double predict_seconds = cli_seconds_now() - predict_start;
  progress_bar_clear(&s->bar);
  if (predicted != VM_OK) {
    if (predicted != VM_ERR_CANCELLED) cli_say("%s", err.message);
    return cli_exit_status_for_run(predicted);
  }

  /* an image the GPU could not hold ran on the CPU (--device auto): say so, the time shows it */
  const char *fell_back = notice ? NULL : vm_context_notice(s->context);
  if (fell_back && !options->quiet) cli_say("%s", fell_back);

  const int written = cli_write_samples(options->output_path, options->output_format, options->png_bits, s->alpha,
                                        image->width, image->height, 1, msg, sizeof msg);
  if (written != 0) {
    if (written != EXIT_CANCELLED) cli_say("%s", msg);
    return written;
  }
  if (!options->quiet)
    cli_say("wrote %s (%dx%d) in %.2f s on %s, %s (model loaded in %.2f s)", options->output_path, image->width,
        image->height, predict_seconds, fell_back ? "the CPU" : vm_context_device_name(s->context),
        fell_back ? "fp32" : precision_name(vm_context_precision(s->context)), load_seconds);
  if (options->cutout_path) { /* the alpha file is complete either way; the cut-out is written whole or not at all */
    const double cutout_start = cli_seconds_now();
    const int cut = cutout_write(s->context, &s->bar, image, s->alpha, VM_FOREGROUND_AUTO, options->cutout_path,
                                 options->cutout_format, options->png_bits, 1, NULL, 0);
    if (cut != 0) return cut;
    if (!options->quiet)
      cli_say("wrote %s (foreground colours + alpha) in %.2f s", options->cutout_path, cli_seconds_now() - cutout_start);
  }
  return 0;
}

/* A run a signal stopped exits with the shell's status for that signal (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP). */
static int exit_status(int status) {
  return status == EXIT_CANCELLED && *cli_signals_flag() ? cli_signals_exit_status() : status;
}

int main(int argc, char **argv) {
  cli_signals_install();
  if (cmd_models_is_command(argc, argv)) /* models, download */
    return exit_status(cmd_models_run(argc, argv, cli_signals_flag()));
  if (argc > 1 && strcmp(argv[1], "foreground") == 0)
    return exit_status(foreground_command(argc - 1, argv + 1, cli_signals_flag()));
  cli_options options;
  char msg[600];
  switch (cli_parse(argc, argv, &options, msg, sizeof msg)) {
    case CLI_SHOW_HELP: cli_print_help(stdout); return 0;
    case CLI_SHOW_VERSION: printf("vitmatte %s\n", VM_VERSION_STRING); return 0;
    case CLI_USAGE_ERROR: cli_say("%s", msg); return EXIT_USAGE;
    case CLI_RUN: break;
  }
  char *model_path = NULL; /* --model small: the downloaded folder */
  if (cmd_models_resolve(options.model_path, &model_path, msg, sizeof msg) != 0) {
    cli_say("%s", msg);
    return EXIT_MODEL;
  }
  options.model_path = model_path;
  if (options.trimap_dir) { /* folders */
    const int batch_status = batch_run(&options, cli_signals_flag());
    free(model_path);
    return exit_status(batch_status);
  }

  run_state state;
  memset(&state, 0, sizeof state);
  progress_bar_init(&state.bar, !options.quiet && isatty(STDERR_FILENO), cli_signals_flag());
  int status = run(&options, &state);
  progress_bar_clear(&state.bar);
  if (status == EXIT_CANCELLED) {
    const int signal_number = *cli_signals_flag();
    cli_say("cancelled%s", signal_number == SIGTERM ? " (SIGTERM)" : signal_number == SIGHUP ? " (SIGHUP)" : "");
  }
  free(state.alpha);
  if (state.context) vm_context_free(state.context);
  if (state.model) vm_model_free(state.model);
  cli_inputs_free(&state.inputs);
  free(model_path);
  return exit_status(status);
}
