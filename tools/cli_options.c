/* cli_options.c - turning argv into cli_options. Every value is checked here, before any file is touched, so a
 * typo costs nothing and is reported in one line. */
#include "cli_options.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

enum {
  OPTION_DEVICE = 256,
  OPTION_PRECISION,
  OPTION_THREADS,
  OPTION_BITS,
  OPTION_VERSION,
  OPTION_CUTOUT,
  OPTION_TRIMAPS,
  OPTION_FORMAT
};

static const struct option long_options[] = {
    {"model", required_argument, NULL, 'm'},
    {"output", required_argument, NULL, 'o'},
    {"device", required_argument, NULL, OPTION_DEVICE},
    {"precision", required_argument, NULL, OPTION_PRECISION},
    {"threads", required_argument, NULL, OPTION_THREADS},
    {"bits", required_argument, NULL, OPTION_BITS},
    {"cutout", required_argument, NULL, OPTION_CUTOUT},
    {"trimaps", required_argument, NULL, OPTION_TRIMAPS},
    {"format", required_argument, NULL, OPTION_FORMAT},
    {"quiet", no_argument, NULL, 'q'},
    {"version", no_argument, NULL, OPTION_VERSION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

void cli_print_help(FILE *to) {
  fprintf(to,
          "Usage: vitmatte --model DIR_OR_FILE IMAGE TRIMAP -o ALPHA [--cutout CUTOUT] [options]\n"
          "       vitmatte --model M --trimaps TRIMAP_DIR IMAGE_DIR|IMAGE... -o OUT_DIR [--cutout DIR] [options]\n"
          "       vitmatte foreground IMAGE ALPHA -o OUT [options]   (vitmatte foreground --help)\n"
          "       vitmatte download small|base|small-646|base-646|OWNER/NAME   (get official weights)\n"
          "       vitmatte models                                               (list them)\n"
          "\n"
          "Computes the alpha matte of IMAGE with ViTMatte, guided by TRIMAP (black = background,\n"
          "white = foreground, gray 128 = unknown).\n"
          "\n"
          "  -m, --model PATH     folder with config.json and model.safetensors, or a .safetensors file\n"
          "                       with config.json beside it, or a downloaded model: small, base, ...\n"
          "  IMAGE                PNG, JPEG or TIFF (8/16-bit, 32-bit float; gray or colour; alpha ignored)\n"
          "  TRIMAP               PNG, JPEG or TIFF of the same size, gray (or RGB with R = G = B), with\n"
          "                       unknown pixels (a trimap of only black and white is refused)\n"
          "  -o, --output ALPHA   .png: 8-bit gray PNG (16-bit with --bits 16)\n"
          "                       .tif/.tiff: 32-bit float gray TIFF (exact values)\n"
          "      --cutout CUTOUT  also write the cut-out: the foreground colours estimated from the alpha\n"
          "                       (no fringe of the old background) with the alpha; .png: RGBA PNG\n"
          "                       (8 or 16 bits as --bits), .tif/.tiff: 32-bit float RGBA TIFF\n"
          "      --bits 8|16      bits per sample of PNG outputs (default 8)\n"
          "\n"
          "Folders: with --trimaps, every picture (.png .jpg .jpeg .tif .tiff) of IMAGE_DIR, or each IMAGE\n"
          "named, is matted with the trimap of the same name in TRIMAP_DIR (photo.jpg: photo.png, or any\n"
          "of those extensions) into OUT_DIR/NAME.png (the cut-out into the --cutout folder). The model is\n"
          "loaded once; a picture that fails is reported and the others go on; the failures are listed\n"
          "at the end and make the exit status 1.\n"
          "      --trimaps DIR    the trimaps' folder (turns on folder mode)\n"
          "      --format F       png (default) or tif: the files written into OUT_DIR and --cutout DIR\n"
          "\n"
          "      --device D       auto (default: CUDA when usable, else CPU), cpu or cuda\n"
          "      --precision P    auto (default: fp32 on CPU, fp16 on CUDA), fp32, fp16 or bf16 (CUDA only)\n"
          "      --threads N      CPU threads (default 0 = all cores; at most 4 per core, more are capped)\n"
          "  -q, --quiet          print nothing but errors\n"
          "      --version        print the version and exit\n"
          "  -h, --help           print this help and exit\n"
          "\n"
          "ALPHA is written to a temporary file beside it and renamed over it when complete, so it is never\n"
          "half-written. An existing ALPHA is replaced and keeps its permissions; a symbolic link is followed (the\n"
          "file it points to is replaced; a link to nothing is refused); a read-only file, a folder or one of the\n"
          "input files is refused, before the model runs. Ctrl-C, SIGTERM and SIGHUP stop the run and leave no file.\n"
          "\n"
          "Exit status: 0 done, 1 bad arguments or input/output files, 2 the model cannot be loaded,\n"
          "3 device or runtime error (not enough memory included), 128 + the signal's number when a signal\n"
          "stopped it (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).\n");
}

int cli_parse_device(const char *text, vm_device *device) {
  if (strcmp(text, "auto") == 0) *device = VM_DEVICE_AUTO;
  else if (strcmp(text, "cpu") == 0) *device = VM_DEVICE_CPU;
  else if (strcmp(text, "cuda") == 0) *device = VM_DEVICE_CUDA;
  else return -1;
  return 0;
}

int cli_parse_count(const char *text, int *value) {
  char *end = NULL;
  errno = 0;
  const long parsed = strtol(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || parsed < 0 || parsed > INT_MAX) return -1;
  *value = (int)parsed;
  return 0;
}

static const char no_model[] = "no model: give --model small (after 'vitmatte download small') or --model DIR (a "
                                "folder with config.json and model.safetensors)";

cli_parse_result cli_parse(int argc, char **argv, cli_options *options, char *msg, size_t msg_size) {
  memset(options, 0, sizeof *options);
  options->device = VM_DEVICE_AUTO;
  options->precision = VM_PRECISION_AUTO;
  options->png_bits = 8;
  int bits_given = 0;
  const char *format_name = NULL;
  alpha_format batch_format = ALPHA_FORMAT_PNG;

  opterr = 0; /* getopt would print its own messages, prefixed with argv[0]; ours say the same in our format */
  optind = 0; /* restart the scan (glibc and musl), so parsing twice in one process works */
  int c;
  while ((c = getopt_long(argc, argv, ":m:o:qh", long_options, NULL)) != -1) {
    switch (c) {
      case 'm': options->model_path = optarg; break;
      case 'o': options->output_path = optarg; break;
      case 'q': options->quiet = 1; break;
      case 'h': return CLI_SHOW_HELP;
      case OPTION_VERSION: return CLI_SHOW_VERSION;
      case OPTION_DEVICE:
        if (cli_parse_device(optarg, &options->device) != 0) {
          snprintf(msg, msg_size, "--device must be auto, cpu or cuda, not '%s'", optarg);
          return CLI_USAGE_ERROR;
        }
        break;
      case OPTION_PRECISION:
        if (strcmp(optarg, "auto") == 0) options->precision = VM_PRECISION_AUTO;
        else if (strcmp(optarg, "fp32") == 0) options->precision = VM_PRECISION_FP32;
        else if (strcmp(optarg, "fp16") == 0) options->precision = VM_PRECISION_FP16;
        else if (strcmp(optarg, "bf16") == 0) options->precision = VM_PRECISION_BF16;
        else {
          snprintf(msg, msg_size, "--precision must be auto, fp32, fp16 or bf16, not '%s'", optarg);
          return CLI_USAGE_ERROR;
        }
        break;
      case OPTION_THREADS:
        if (cli_parse_count(optarg, &options->threads) != 0) {
          snprintf(msg, msg_size, "--threads must be a whole number >= 0 (0 = all cores), not '%s'", optarg);
          return CLI_USAGE_ERROR;
        }
        break;
      case OPTION_BITS:
        if (cli_parse_count(optarg, &options->png_bits) != 0 || (options->png_bits != 8 && options->png_bits != 16)) {
          snprintf(msg, msg_size, "--bits must be 8 or 16, not '%s'", optarg);
          return CLI_USAGE_ERROR;
        }
        bits_given = 1;
        break;
      case OPTION_CUTOUT: options->cutout_path = optarg; break;
      case OPTION_TRIMAPS: options->trimap_dir = optarg; break;
      case OPTION_FORMAT:
        format_name = optarg;
        if (strcmp(optarg, "png") == 0) batch_format = ALPHA_FORMAT_PNG;
        else if (strcmp(optarg, "tif") == 0 || strcmp(optarg, "tiff") == 0) batch_format = ALPHA_FORMAT_TIFF_FLOAT;
        else {
          snprintf(msg, msg_size, "--format must be png or tif, not '%s'", optarg);
          return CLI_USAGE_ERROR;
        }
        break;
      case ':':
        snprintf(msg, msg_size, "%s needs a value (try --help)", argv[optind - 1]);
        return CLI_USAGE_ERROR;
      default:
        if (optopt != 0)
          snprintf(msg, msg_size, "unknown option '-%c' (try --help)", optopt);
        else
          snprintf(msg, msg_size, "unknown option '%s' (try --help)", argv[optind - 1]);
        return CLI_USAGE_ERROR;
    }
  }

  const int files = argc - optind;
  if (options->trimap_dir) {
    options->inputs = argv + optind;
    options->input_count = files;
    options->output_format = options->cutout_format = batch_format;
    if (files < 1) {
      snprintf(msg, msg_size, "--trimaps: give the pictures' folder, or pictures (try --help)");
      return CLI_USAGE_ERROR;
    }
    if (!options->model_path) {
      snprintf(msg, msg_size, "%s", no_model);
      return CLI_USAGE_ERROR;
    }
    if (!options->output_path) {
      snprintf(msg, msg_size, "no output folder: give -o OUT_DIR");
      return CLI_USAGE_ERROR;
    }
    if (options->cutout_path && strcmp(options->cutout_path, options->output_path) == 0) {
      snprintf(msg, msg_size, "the alphas and the cut-outs would both go to %s; give --cutout another folder",
               options->cutout_path);
      return CLI_USAGE_ERROR;
    }
    if (bits_given && batch_format != ALPHA_FORMAT_PNG) {
      snprintf(msg, msg_size, "--bits is for PNG output; --format %s writes 32-bit float TIFF", format_name);
      return CLI_USAGE_ERROR;
    }
    return CLI_RUN;
  }
  if (format_name) {
    snprintf(msg, msg_size, "--format is for folders (--trimaps); a single output's format comes from its name");
    return CLI_USAGE_ERROR;
  }
  if (files != 2) {
    snprintf(msg, msg_size, "expected IMAGE and TRIMAP, got %d file name%s (try --help)", files,
             files == 1 ? "" : "s");
    return CLI_USAGE_ERROR;
  }
  options->image_path = argv[optind];
  options->trimap_path = argv[optind + 1];
  if (!options->model_path) {
    snprintf(msg, msg_size, "%s", no_model);
    return CLI_USAGE_ERROR;
  }
  if (!options->output_path) {
    snprintf(msg, msg_size, "no output file: give -o ALPHA.png or -o ALPHA.tif");
    return CLI_USAGE_ERROR;
  }
  options->output_format = alpha_format_from_path(options->output_path);
  if (options->output_format == ALPHA_FORMAT_UNKNOWN) {
    snprintf(msg, msg_size, "cannot write %s: the output name must end in .png, .tif or .tiff",
             options->output_path);
    return CLI_USAGE_ERROR;
  }
  if (options->cutout_path) {
    options->cutout_format = alpha_format_from_path(options->cutout_path);
    if (options->cutout_format == ALPHA_FORMAT_UNKNOWN) {
      snprintf(msg, msg_size, "cannot write %s: the cut-out's name must end in .png, .tif or .tiff",
               options->cutout_path);
      return CLI_USAGE_ERROR;
    }
    if (strcmp(options->cutout_path, options->output_path) == 0) {
      snprintf(msg, msg_size, "the alpha and the cut-out are both %s; give them different names",
               options->cutout_path);
      return CLI_USAGE_ERROR;
    }
  }
  if (bits_given && options->output_format != ALPHA_FORMAT_PNG &&
      !(options->cutout_path && options->cutout_format == ALPHA_FORMAT_PNG)) {
    snprintf(msg, msg_size, "--bits is for PNG output; %s is written as 32-bit float TIFF", options->output_path);
    return CLI_USAGE_ERROR;
  }
  return CLI_RUN;
}
