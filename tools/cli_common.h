/* cli_common.h - what the vitmatte commands share: the one-line message format, exit statuses, engine views.
 * Owns: cli_say ("vitmatte: ..." on stderr), the exit status of an engine failure, the output check every command makes
 * before it works, the signal-guarded output write, and image_buffer -> vm_image. */
#ifndef VITMATTE_CLI_COMMON_H
#define VITMATTE_CLI_COMMON_H

#include <stddef.h>

#include "image_io.h"
#include "vitmatte.h"

enum {
  EXIT_USAGE = 1,     /* bad arguments, unreadable or mismatched inputs, unwritable output */
  EXIT_MODEL = 2,     /* the checkpoint cannot be loaded */
  EXIT_RUNTIME = 3,   /* device or runtime failure */
  EXIT_CANCELLED = 130 /* the shell's code for death by SIGINT, which is what Ctrl-C means to the user */
};

/* One line on stderr: "vitmatte: " + the message, made valid UTF-8 without control characters. */
void cli_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit status for an engine call that failed with `status`. */
int cli_exit_status_for_run(vm_status status);

/* The CPU thread count to ask the engine for: `threads` capped at vm_cpu_thread_limit() (4 per core; more only add
 * scheduling cost), with a notice unless `quiet`. */
int cli_cap_threads(int threads, int quiet);

/* Before anything costly: `path` can be written (output_file.h's rules) and is none of the `count` `inputs` (a run
 * must never replace the picture it reads). 0, or -1 with the whole message ("cannot write PATH: ...") in msg. */
int cli_check_output(const char *path, const char *const *inputs, int count, char *msg, size_t msg_size);

/* Writes `channels` floats a pixel to `path` (image_write_samples) as a stretch no signal can cut short: a signal
 * that comes meanwhile lets the write finish, then the new file is discarded (output_file.h, cli_signals.h).
 * 0 written; EXIT_CANCELLED after a signal (nothing written); EXIT_USAGE with "cannot write PATH: ..." in msg. */
int cli_write_samples(const char *path, alpha_format format, int png_bits, const float *samples, int width,
                      int height, int channels, char *msg, size_t msg_size);

/* Seconds on the monotonic clock, for the durations the commands report. */
double cli_seconds_now(void);

/* A borrowed engine view of a picture read by image_io. */
vm_image cli_engine_view(const image_buffer *image);

#endif
