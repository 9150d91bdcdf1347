/* cli_common.c - the message format, exit statuses, output check and write, and engine views the vitmatte commands
 * share. */
#include "cli_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli_signals.h"
#include "output_file.h"

void cli_say(const char *fmt, ...) {
  /* Messages quote file names and bytes from files: printed as valid UTF-8 on one line (vm_text_sanitize). */
  char line[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  vm_text_sanitize(line, sizeof line);
  fprintf(stderr, "vitmatte: %s\n", line);
}

int cli_exit_status_for_run(vm_status status) {
  switch (status) {
    case VM_ERR_INVALID_ARGUMENT:
    case VM_ERR_UNSUPPORTED: return EXIT_USAGE;
    case VM_ERR_CANCELLED: return EXIT_CANCELLED;
    default: return EXIT_RUNTIME;
  }
}

int cli_cap_threads(int threads, int quiet) {
  const int most = vm_cpu_thread_limit();
  if (threads <= most) return threads;
  if (!quiet) cli_say("--threads %d is more than 4 per core: using %d", threads, most);
  return most;
}

int cli_check_output(const char *path, const char *const *inputs, int count, char *msg, size_t msg_size) {
  char why[600];
  if (output_file_check(path, why, sizeof why) != 0) {
    snprintf(msg, msg_size, "cannot write %s: %s", path, why);
    return -1;
  }
  for (int i = 0; i < count; i++)
    if (output_file_same(path, inputs[i])) {
      snprintf(msg, msg_size, "cannot write %s: it is the input %s", path, inputs[i]);
      return -1;
    }
  return 0;
}

int cli_write_samples(const char *path, alpha_format format, int png_bits, const float *samples, int width,
                      int height, int channels, char *msg, size_t msg_size) {
  char why[600];
  cli_signals_writing(1);
  const int written = image_write_samples(path, format, png_bits, samples, width, height, channels,
                                          cli_signals_flag(), why, sizeof why);
  cli_signals_writing(0);
  if (*cli_signals_flag()) return EXIT_CANCELLED;
  if (written != 0) {
    snprintf(msg, msg_size, "cannot write %s: %s", path, why);
    return EXIT_USAGE;
  }
  return 0;
}

double cli_seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

vm_image cli_engine_view(const image_buffer *image) {
  vm_image view;
  memset(&view, 0, sizeof view);
  view.data = image->data;
  view.width = image->width;
  view.height = image->height;
  view.channels = image->channels;
  view.row_stride = 0;
  view.type = image->type == IMAGE_U8 ? VM_PIXEL_U8 : image->type == IMAGE_U16 ? VM_PIXEL_U16 : VM_PIXEL_F32;
  return view;
}
