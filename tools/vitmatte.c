/* vitmatte.c - the command-line tool: image + trimap in, alpha matte out, through the public engine API only.
 * Every failure ends in one line "vitmatte: <reason>" and an exit status that says whose fault it was. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_engine.h"
#include "cli_inputs.h"
#include "cli_options.h"
#include "cli_signals.h"
#include "cmd_batch.h"
#include "cmd_foreground.h"
#include "cmd_models.h"
#include "image_io.h"
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

typedef struct run_state {
  cli_inputs inputs;
  cli_engine engine;
  cli_matte matte;
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
  int status = cli_engine_load(&s->engine, options);
  if (status != 0) return status;
  if (*cli_signals_flag()) return EXIT_CANCELLED;
  status = cli_engine_context(&s->engine, options, progress_bar_report, &s->bar, &s->bar);
  if (status != 0) return status;
  const double load_seconds = cli_seconds_now() - load_start;
  if (*cli_signals_flag()) return EXIT_CANCELLED;

  status = cli_engine_matte(&s->engine, options, &s->inputs, &s->bar, &s->matte, msg, sizeof msg);
  if (status != 0) {
    if (status != EXIT_CANCELLED) cli_say("%s", msg);
    return status;
  }
  const image_buffer *image = &s->inputs.image;
  vm_context *context = s->engine.context;
  const char *fell_back = s->matte.fell_back;
  if (!options->quiet)
    cli_say("wrote %s (%dx%d) in %.2f s on %s, %s (model loaded in %.2f s)", options->output_path, image->width,
        image->height, s->matte.predict_seconds, fell_back ? "the CPU" : vm_context_device_name(context),
        fell_back ? "fp32" : precision_name(vm_context_precision(context)), load_seconds);
  if (options->cutout_path) { /* the alpha file is complete either way; the cut-out is written whole or not at all */
    const double cutout_start = cli_seconds_now();
    const int cut = cutout_write(context, &s->bar, image, s->matte.alpha, VM_FOREGROUND_AUTO, options->cutout_path,
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
  free(state.matte.alpha);
  cli_engine_free(&state.engine);
  cli_inputs_free(&state.inputs);
  free(model_path);
  return exit_status(status);
}
