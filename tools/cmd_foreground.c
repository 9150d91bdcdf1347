/* cmd_foreground.c - cut-outs: `vitmatte foreground IMAGE ALPHA -o OUT`, and the --cutout file of a normal run.
 * The foreground colours come from vm_estimate_foreground (Germer et al. 2020) on the chosen device. */
#include "cmd_foreground.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_inputs.h"
#include "cli_options.h"

static void print_help(FILE *to) {
  fprintf(to,
          "Usage: vitmatte foreground IMAGE ALPHA -o OUT [options]\n"
          "\n"
          "Estimates the foreground colours of IMAGE given its ALPHA (multi-level foreground estimation,\n"
          "Germer et al. 2020): in soft edges and hair the picture mixes the subject with the old\n"
          "background; the estimated colours do not, so a cut-out shows no fringe on a new background.\n"
          "\n"
          "  IMAGE                PNG, JPEG or TIFF (8/16-bit, 32-bit float; gray or colour; alpha ignored)\n"
          "  ALPHA                PNG, JPEG or TIFF of the same size, gray (e.g. what vitmatte -o wrote)\n"
          "  -o, --output OUT     .png: the cut-out, RGBA PNG (estimated colours + ALPHA; gray + alpha for\n"
          "                       a gray IMAGE), 8 or 16 bits as --bits\n"
          "                       .tif/.tiff: the estimated colours alone, 32-bit float RGB TIFF (0..1)\n"
          "      --bits 8|16      bits per sample of a PNG output (default 8)\n"
          "      --method M       auto (default: sequential on the CPU, jacobi on CUDA), sequential (the\n"
          "                       published method, one core) or jacobi (its parallel variant, all cores)\n"
          "      --device D       auto (default: CUDA when usable, else CPU), cpu or cuda\n"
          "      --threads N      CPU threads (default 0 = all cores; at most 4 per core, more are capped)\n"
          "  -q, --quiet          print nothing but errors\n"
          "  -h, --help           print this help and exit\n"
          "\n"
          "On the CPU this is the published method (the same numbers as pymatting's estimate_foreground_ml);\n"
          "on CUDA its parallel (Jacobi) variant.\n"
          "Exit status: 0 done, 1 bad arguments or input/output files, 3 device or runtime error,\n"
          "130 cancelled (Ctrl-C).\n");
}

typedef struct fg_options {
  const char *image_path, *alpha_path, *output_path;
  alpha_format format;
  int png_bits, threads, quiet;
  vm_device device;
  vm_foreground_method method;
} fg_options;

enum { OPT_DEVICE = 256, OPT_THREADS, OPT_BITS, OPT_METHOD };

/* Returns -1 to run, 0 after --help, or an exit status having said why. */
static int parse(int argc, char **argv, fg_options *o) {
  static const struct option longs[] = {
      {"output", required_argument, NULL, 'o'},   {"device", required_argument, NULL, OPT_DEVICE},
      {"threads", required_argument, NULL, OPT_THREADS}, {"bits", required_argument, NULL, OPT_BITS},
      {"method", required_argument, NULL, OPT_METHOD},
      {"quiet", no_argument, NULL, 'q'},          {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  memset(o, 0, sizeof *o);
  o->png_bits = 8;
  int bits_given = 0, c;
  opterr = 0;
  optind = 0;
  while ((c = getopt_long(argc, argv, ":o:qh", longs, NULL)) != -1) {
    switch (c) {
      case 'o': o->output_path = optarg; break;
      case 'q': o->quiet = 1; break;
      case 'h': print_help(stdout); return 0;
      case OPT_DEVICE:
        if (cli_parse_device(optarg, &o->device) != 0) {
          cli_say("--device must be auto, cpu or cuda, not '%s'", optarg);
          return EXIT_USAGE;
        }
        break;
      case OPT_METHOD:
        if (strcmp(optarg, "auto") == 0) o->method = VM_FOREGROUND_AUTO;
        else if (strcmp(optarg, "sequential") == 0) o->method = VM_FOREGROUND_SEQUENTIAL;
        else if (strcmp(optarg, "jacobi") == 0) o->method = VM_FOREGROUND_JACOBI;
        else {
          cli_say("--method must be auto, sequential or jacobi, not '%s'", optarg);
          return EXIT_USAGE;
        }
        break;
      case OPT_THREADS:
        if (cli_parse_count(optarg, &o->threads) != 0) {
          cli_say("--threads must be a whole number >= 0 (0 = all cores), not '%s'", optarg);
          return EXIT_USAGE;
        }
        break;
      case OPT_BITS:
        if (cli_parse_count(optarg, &o->png_bits) != 0 || (o->png_bits != 8 && o->png_bits != 16)) {
          cli_say("--bits must be 8 or 16, not '%s'", optarg);
          return EXIT_USAGE;
        }
        bits_given = 1;
        break;
      case ':': cli_say("%s needs a value (try vitmatte foreground --help)", argv[optind - 1]); return EXIT_USAGE;
      default:
        if (optopt != 0)
          cli_say("unknown option '-%c' (try vitmatte foreground --help)", optopt);
        else
          cli_say("unknown option '%s' (try vitmatte foreground --help)", argv[optind - 1]);
        return EXIT_USAGE;
    }
  }
  const int files = argc - optind;
  if (files != 2) {
    cli_say("foreground: expected IMAGE and ALPHA, got %d file name%s (try vitmatte foreground --help)", files,
            files == 1 ? "" : "s");
    return EXIT_USAGE;
  }
  o->image_path = argv[optind];
  o->alpha_path = argv[optind + 1];
  if (!o->output_path) {
    cli_say("no output file: give -o CUTOUT.png or -o FOREGROUND.tif");
    return EXIT_USAGE;
  }
  o->format = alpha_format_from_path(o->output_path);
  if (o->format == ALPHA_FORMAT_UNKNOWN) {
    cli_say("cannot write %s: the output name must end in .png, .tif or .tiff", o->output_path);
    return EXIT_USAGE;
  }
  if (bits_given && o->format != ALPHA_FORMAT_PNG) {
    cli_say("--bits is for PNG output; %s is written as 32-bit float TIFF", o->output_path);
    return EXIT_USAGE;
  }
  return -1;
}

/* The alpha file as floats 0..1 in the engine's own conversion (p/255, p/65535, floats as they are), or NULL
 * having said why; `budget`: what its header said reading it takes. */
static float *read_alpha(const fg_options *o, size_t budget, const image_buffer *image, image_buffer *file) {
  char msg[600];
  if (image_read(o->alpha_path, budget, file, msg, sizeof msg) != 0) {
    cli_say("cannot read %s: %s", o->alpha_path, msg);
    return NULL;
  }
  if (file->width != image->width || file->height != image->height) {
    cli_say("%s is %dx%d but %s is %dx%d", o->alpha_path, file->width, file->height, o->image_path, image->width,
            image->height);
    return NULL;
  }
  int x = 0, y = 0;
  if (image_rgb_to_gray(file, &x, &y) != 0) {
    cli_say("%s is a colour image (R, G and B differ at pixel %d,%d); the alpha must be gray", o->alpha_path, x, y);
    return NULL;
  }
  const size_t n = (size_t)file->width * (size_t)file->height;
  float *alpha = malloc(n * sizeof *alpha);
  if (!alpha) {
    cli_say("out of memory for a %dx%d alpha", file->width, file->height);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    if (file->type == IMAGE_U8) alpha[i] = (float)((const unsigned char *)file->data)[i] / 255.0f;
    else if (file->type == IMAGE_U16) alpha[i] = (float)((const unsigned short *)file->data)[i] / 65535.0f;
    else alpha[i] = ((const float *)file->data)[i];
  }
  return alpha;
}

/* The cut-out's failure: into `failure` when the caller collects messages (folders), else said at once. */
static void cutout_failed(char *failure, size_t failure_size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void cutout_failed(char *failure, size_t failure_size, const char *fmt, ...) {
  char text[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  if (failure) snprintf(failure, failure_size, "%s", text);
  else cli_say("%s", text);
}

int cutout_write(vm_context *ctx, progress_bar *bar, const image_buffer *image, const float *alpha,
                 vm_foreground_method method, const char *path, alpha_format format, int png_bits, int with_alpha,
                 char *failure, size_t failure_size) {
  const int W = image->width, H = image->height, depth = image->channels >= 3 ? 3 : 1;
  const int channels = depth + (with_alpha ? 1 : 0);
  const size_t n = (size_t)W * (size_t)H;
  float *pixels = malloc(n * (size_t)channels * sizeof *pixels);
  if (!pixels) {
    progress_bar_clear(bar);
    cutout_failed(failure, failure_size, "out of memory for a %dx%d cut-out", W, H);
    return EXIT_RUNTIME;
  }
  const vm_image view = cli_engine_view(image);
  const vm_image alpha_view = {alpha, W, H, 1, 0, VM_PIXEL_F32};
  vm_foreground_options fo;
  vm_foreground_options_default(&fo);
  fo.method = method;
  vm_error err;
  int status = 0;
  if (with_alpha) {
    float *colours = malloc(n * (size_t)depth * sizeof *colours);
    vm_status st = colours ? vm_estimate_foreground(ctx, &view, &alpha_view, &fo, colours, 0, NULL, 0, &err)
                           : VM_ERR_OUT_OF_MEMORY;
    if (st == VM_OK) {
      for (size_t i = 0; i < n; i++) {
        memcpy(pixels + i * channels, colours + i * depth, sizeof(float) * depth);
        pixels[i * channels + depth] = alpha[i];
      }
    } else {
      if (!colours) snprintf(err.message, sizeof err.message, "out of memory for a %dx%d cut-out", W, H);
      status = st;
    }
    free(colours);
  } else {
    status = vm_estimate_foreground(ctx, &view, &alpha_view, &fo, pixels, 0, NULL, 0, &err);
  }
  progress_bar_clear(bar);
  if (status != VM_OK) {
    if (status != VM_ERR_CANCELLED) cutout_failed(failure, failure_size, "%s", err.message);
    free(pixels);
    return cli_exit_status_for_run((vm_status)status);
  }
  char msg[700];
  const int written = cli_write_samples(path, format, png_bits, pixels, W, H, channels, msg, sizeof msg);
  free(pixels);
  if (written != 0 && written != EXIT_CANCELLED) cutout_failed(failure, failure_size, "%s", msg);
  return written;
}

int foreground_command(int argc, char **argv, const volatile sig_atomic_t *interrupted) {
  fg_options o;
  int status = parse(argc, argv, &o);
  if (status >= 0) return status;
  image_buffer image = {0}, alpha_file = {0};
  float *alpha = NULL;
  vm_context *ctx = NULL;
  progress_bar bar;
  progress_bar_init(&bar, !o.quiet && isatty(STDERR_FILENO), interrupted);
  char msg[700];
  status = EXIT_USAGE;
  /* Before anything is read: the output can be written and is neither input (the picture would be replaced). */
  const char *inputs[] = {o.image_path, o.alpha_path};
  if (cli_check_output(o.output_path, inputs, 2, msg, sizeof msg) != 0) {
    cli_say("%s", msg);
    goto done;
  }
  /* Headers first: a small file declaring a huge picture is refused before a pixel of it is decoded. */
  image_header ih, ah;
  if (cli_read_header_pair(o.image_path, o.alpha_path, &ih, &ah, msg, sizeof msg) != 0) {
    cli_say("%s", msg);
    goto done;
  }
  vm_context_options copts;
  vm_context_options_default(&copts);
  copts.device = o.device;
  copts.cpu_threads = cli_cap_threads(o.threads, o.quiet);
  copts.progress = progress_bar_report;
  copts.progress_user_data = &bar;
  vm_error err;
  if (vm_context_create(NULL, &copts, &ctx, &err) != VM_OK) { /* no model: the estimation needs none */
    cli_say("%s", err.message);
    status = cli_exit_status_for_run(err.status);
    goto done;
  }
  /* the engine's limits and memory, with what this command holds besides: both decoded files, the alpha as floats,
   * the cut-out (up to 4 floats a pixel) and the colours copied into it */
  const size_t n = (size_t)ih.width * (size_t)ih.height;
  const size_t held[5] = {ih.decode_bytes, ah.decode_bytes, n * sizeof(float), 4 * n * sizeof(float),
                          3 * n * sizeof(float)};
  if (vm_context_check_host_memory(ctx, ih.width, ih.height, cli_bytes_sum(held, 5), &err) != VM_OK) {
    cli_say("cannot cut out %s: %s", o.image_path, err.message);
    status = cli_exit_status_for_run(err.status);
    goto done;
  }
  if (image_read(o.image_path, ih.decode_bytes, &image, msg, sizeof msg) != 0) {
    cli_say("cannot read %s: %s", o.image_path, msg);
    goto done;
  }
  if (!(alpha = read_alpha(&o, ah.decode_bytes, &image, &alpha_file))) goto done;
  status = EXIT_CANCELLED;
  if (*interrupted) goto done;
  /* said once the inputs are known good, as their errors are the one line of a failed run */
  if (vm_context_notice(ctx) && !o.quiet) cli_say("%s", vm_context_notice(ctx));
  const double start = cli_seconds_now();
  status = cutout_write(ctx, &bar, &image, alpha, o.method, o.output_path, o.format, o.png_bits,
                        o.format == ALPHA_FORMAT_PNG, NULL, 0);
  if (status == 0 && !o.quiet)
    cli_say("wrote %s (%dx%d) in %.2f s on %s", o.output_path, image.width, image.height, cli_seconds_now() - start,
            vm_context_device_name(ctx));
done:
  progress_bar_clear(&bar);
  if (status == EXIT_CANCELLED) cli_say("cancelled");
  vm_context_free(ctx);
  free(alpha);
  image_free(&alpha_file);
  image_free(&image);
  return status;
}
