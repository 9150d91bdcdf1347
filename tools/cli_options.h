/* cli_options.h - the vitmatte command line: what it accepts and what it means.
 * Owns: parsing argv into options, validating every value up front, and the --help text. */
#ifndef VITMATTE_CLI_OPTIONS_H
#define VITMATTE_CLI_OPTIONS_H

#include <stdio.h>

#include "image_io.h"
#include "vitmatte.h"

typedef struct cli_options {
  const char *model_path;
  const char *image_path;
  const char *trimap_path;
  const char *output_path;
  alpha_format output_format;
  const char *cutout_path;     /* --cutout: NULL, or where the cut-out (foreground colours + alpha) goes */
  alpha_format cutout_format;
  int png_bits;        /* 8 or 16 */
  vm_device device;
  vm_precision precision;
  int threads;         /* 0 = all cores */
  int quiet;
  /* Folders (cmd_batch.h): --trimaps given. The positional arguments are pictures and folders of pictures,
   * output_path and cutout_path are folders, and --format says the files' format. */
  const char *trimap_dir;
  char **inputs;
  int input_count;
} cli_options;

typedef enum cli_parse_result {
  CLI_RUN,          /* options complete and valid */
  CLI_SHOW_HELP,
  CLI_SHOW_VERSION,
  CLI_USAGE_ERROR   /* msg says what is wrong */
} cli_parse_result;

cli_parse_result cli_parse(int argc, char **argv, cli_options *options, char *msg, size_t msg_size);

void cli_print_help(FILE *to);

/* Option values both commands take: "auto"/"cpu"/"cuda", and whole numbers >= 0. 0, or -1 when not valid. */
int cli_parse_device(const char *text, vm_device *device);
int cli_parse_count(const char *text, int *value);

#endif
