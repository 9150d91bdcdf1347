/* cmd_models.c - the CLI's model commands: `vitmatte models` lists the official and installed models,
 * `vitmatte download NAME` fetches one with a progress bar, and --model NAME finds a downloaded one.
 * Owns: the commands' options, their text and exit statuses; the model manager (vitmatte_models.h) does the work. */
#include "cmd_models.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_common.h"
#include "progress_bar.h"
#include "vitmatte_models.h"

/* the CLI's exit statuses (cli_common.h): a model not downloaded is a model error, a failed download a runtime one */
enum { EXIT_OK = 0, EXIT_MISSING = EXIT_MODEL, EXIT_FAILED = EXIT_RUNTIME };

int cmd_models_is_command(int argc, char **argv) {
  return argc > 1 && (strcmp(argv[1], "models") == 0 || strcmp(argv[1], "download") == 0);
}

static int exit_status(vmm_status status) {
  switch (status) {
  case VMM_OK: return EXIT_OK;
  case VMM_ERR_INVALID_ARGUMENT: return EXIT_USAGE;
  case VMM_ERR_NOT_FOUND:
  case VMM_ERR_NOT_INSTALLED: return EXIT_MISSING;
  case VMM_ERR_CANCELLED: return EXIT_CANCELLED;
  default: return EXIT_FAILED;
  }
}

int cmd_models_resolve(const char *given, char **path, char *msg, size_t msg_size) {
  vmm_error err;
  char *dir = vmm_models_dir(&err);
  *path = vmm_resolve(dir, given, &err);
  free(dir);
  if (*path) return 0;
  if (err.status != VMM_ERR_NOT_INSTALLED) {
    *path = strdup(given); /* not a model name: the engine will say what is wrong with the path */
    if (*path) return 0;
    snprintf(msg, msg_size, "out of memory");
    return -1;
  }
  snprintf(msg, msg_size, "%s", err.message);
  return -1;
}

/* ---- vitmatte models ---------------------------------------------------------------------------------------- */

static void size_text(char *out, size_t cap, int64_t bytes, int approx_mb) {
  if (bytes >= 0) snprintf(out, cap, "%.1f MB", (double)bytes / 1e6);
  else if (approx_mb > 0) snprintf(out, cap, "~%d MB", approx_mb);
  else snprintf(out, cap, "-");
}

static const char *state_of(const vmm_installed *m) {
  if (m->complete) return "installed";
  if (m->downloading) return "unfinished download";
  return "incomplete";
}

static int print_path(const char *name) {
  vmm_error err;
  char *dir = vmm_models_dir(&err);
  char *path = dir ? vmm_resolve(dir, name, &err) : NULL;
  free(dir);
  if (!path) {
    cli_say("%s", err.message);
    return exit_status(err.status);
  }
  printf("%s\n", path);
  free(path);
  return EXIT_OK;
}

static int list_models(void) {
  vmm_error err;
  char *dir = vmm_models_dir(&err);
  if (!dir) {
    cli_say("%s", err.message);
    return EXIT_USAGE;
  }
  vmm_installed_list list;
  if (vmm_list_installed(dir, &list, &err) != VMM_OK) {
    cli_say("%s", err.message);
    free(dir);
    return EXIT_FAILED;
  }
  printf("Models folder: %s%s\n\n", dir, getenv(VMM_MODELS_ENV) && *getenv(VMM_MODELS_ENV) ? " ($" VMM_MODELS_ENV ")" : "");
  printf("%-10s %-20s %-9s %s\n", "NAME", "STATE", "SIZE", "REPOSITORY");
  for (int k = 0; k < vmm_known_count(); k++) {
    const vmm_known_model *known = vmm_known_at(k);
    const vmm_installed *m = NULL;
    for (int i = 0; i < list.count; i++)
      if (list.items[i].known == known) m = &list.items[i];
    char size[32], commit[32] = "";
    size_text(size, sizeof size, m && m->weights_size >= 0 ? m->weights_size : -1, known->approx_mb);
    if (m && m->commit) snprintf(commit, sizeof commit, "  (commit %.7s)", m->commit);
    printf("%-10s %-20s %-9s %s%s\n", known->name, m ? state_of(m) : "not downloaded", size, known->repo, commit);
  }
  int others = 0;
  for (int i = 0; i < list.count; i++) {
    if (list.items[i].known) continue; /* listed above */
    const vmm_installed *m = &list.items[i];
    if (!others++) printf("\nOther models in the folder (use them with --model FOLDER):\n");
    char size[32];
    size_text(size, sizeof size, m->weights_size, 0);
    printf("%-30s %-20s %-9s %s\n", m->folder, state_of(m), size, m->repo ? m->repo : "");
  }
  printf("\nDownload one with: vitmatte download small (or base, small-646, base-646, or a hub repository "
         "OWNER/NAME);\nuse it with: vitmatte --model small IMAGE TRIMAP -o ALPHA.png\n");
  vmm_installed_list_free(&list);
  free(dir);
  return EXIT_OK;
}

static int models_command(int argc, char **argv) {
  static const struct option long_options[] = {
      {"path", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  opterr = 0;
  optind = 0;
  int c;
  const char *path_of = NULL;
  while ((c = getopt_long(argc, argv, ":p:h", long_options, NULL)) != -1) {
    switch (c) {
    case 'p': path_of = optarg; break;
    case 'h':
      printf("Usage: vitmatte models [--path NAME]\n\n"
             "Lists the official ViTMatte checkpoints and the models in the models folder ($" VMM_MODELS_ENV ",\n"
             "else $XDG_CACHE_HOME/vitmatte, else ~/.cache/vitmatte). --path prints the folder of an installed model\n"
             "(exit status 2 when it is not downloaded).\n");
      return EXIT_OK;
    default: cli_say("models: unknown option or missing value '%s' (try vitmatte models --help)", argv[optind - 1]); return EXIT_USAGE;
    }
  }
  if (optind != argc) {
    cli_say("models: unexpected argument '%s' (try vitmatte models --help)", argv[optind]);
    return EXIT_USAGE;
  }
  return path_of ? print_path(path_of) : list_models();
}

/* ---- vitmatte download -------------------------------------------------------------------------------------- */

typedef struct download_view {
  progress_bar bar;
  double last_draw;
  vmm_phase last_phase;
  int last_file;
} download_view;

static int on_download_progress(void *user, const vmm_progress *p) {
  download_view *v = user;
  const double now = cli_seconds_now();
  /* libcurl calls often; the terminal needs ten pictures a second at most, and every phase change. */
  if (p->phase == v->last_phase && p->file_index == v->last_file && now - v->last_draw < 0.1)
    return v->bar.cancel_flag && *v->bar.cancel_flag;
  v->last_draw = now, v->last_phase = p->phase, v->last_file = p->file_index;
  char text[64];
  const double total = (double)p->bytes_total, done = (double)p->bytes_done;
  const double fraction = p->bytes_total > 0 ? done / total : 0.0;
  switch (p->phase) {
  case VMM_PHASE_CONNECTING: snprintf(text, sizeof text, "%s: connecting", p->file); break;
  case VMM_PHASE_VERIFYING: snprintf(text, sizeof text, "checking SHA-256"); break;
  case VMM_PHASE_RETRYING: snprintf(text, sizeof text, "connection broke; retry %d", p->attempt + 1); break;
  case VMM_PHASE_DOWNLOADING:
    if (p->file_index == 0) snprintf(text, sizeof text, "%s", p->file);
    else if (p->bytes_total > 0)
      snprintf(text, sizeof text, "%.1f/%.1f MB, %.1f MB/s", done / 1e6, total / 1e6, p->bytes_per_second / 1e6);
    else snprintf(text, sizeof text, "%.1f MB, %.1f MB/s", done / 1e6, p->bytes_per_second / 1e6);
    break;
  }
  return progress_bar_report_text(&v->bar, text, fraction);
}

static int download_command(int argc, char **argv, const volatile sig_atomic_t *interrupted) {
  static const struct option long_options[] = {{"revision", required_argument, NULL, 'r'},
                                               {"force", no_argument, NULL, 'f'},
                                               {"quiet", no_argument, NULL, 'q'},
                                               {"help", no_argument, NULL, 'h'},
                                               {NULL, 0, NULL, 0}};
  vmm_download_options options;
  vmm_download_options_default(&options);
  char names[100];
  vmm_known_names(names, sizeof names, ", ");
  int quiet = 0;
  opterr = 0;
  optind = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":r:fqh", long_options, NULL)) != -1) {
    switch (c) {
    case 'r': options.revision = optarg; break;
    case 'f': options.force = 1; break;
    case 'q': quiet = 1; break;
    case 'h':
      printf("Usage: vitmatte download [--revision REV] [--force] [--quiet] NAME\n\n"
             "Downloads config.json and model.safetensors of a ViTMatte checkpoint from the Hugging Face hub into\n"
             "the models folder (see vitmatte models). NAME: %s, or a repository\n"
             "OWNER/NAME. An interrupted download resumes where it stopped; model.safetensors is checked against\n"
             "its SHA-256. $HF_ENDPOINT selects a mirror of the hub, $HF_TOKEN is sent for private repositories,\n"
             "https_proxy / no_proxy work as in curl.\n"
             "  -r, --revision REV  a branch, tag or commit (default main)\n"
             "  -f, --force         download again even when the model is complete\n"
             "  -q, --quiet         no progress bar, only errors\n"
             "Exit status: 0 done, 1 bad arguments, 2 not on the hub, 3 network, disk or checksum error,\n"
             "130 cancelled (Ctrl-C; run the command again to resume).\n",
             names);
      return EXIT_OK;
    default: cli_say("download: unknown option or missing value '%s' (try vitmatte download --help)", argv[optind - 1]); return EXIT_USAGE;
    }
  }
  if (optind + 1 != argc) {
    cli_say("download: give one model: %s or a hub repository OWNER/NAME", names);
    return EXIT_USAGE;
  }
  const char *name = argv[optind];
  download_view view;
  memset(&view, 0, sizeof view);
  view.last_phase = (vmm_phase)-1;
  progress_bar_init(&view.bar, !quiet && isatty(STDERR_FILENO), interrupted);
  options.progress = on_download_progress;
  options.progress_user_data = &view;

  const vmm_known_model *known = vmm_known_find(name);
  char *folder = known ? NULL : vmm_repo_folder_name(name);
  const int is_repo = folder != NULL;
  free(folder);
  if (!known && !is_repo) {
    cli_say("download: '%s' is neither a model name (%s) nor a hub repository OWNER/NAME", name, names);
    return EXIT_USAGE;
  }
  if (!quiet) {
    const char *endpoint = getenv(VMM_ENDPOINT_ENV);
    if (known)
      cli_say("downloading %s (%s, about %d MB) from %s", known->repo, known->title, known->approx_mb,
          endpoint && *endpoint ? endpoint : VMM_DEFAULT_ENDPOINT);
    else
      cli_say("downloading %s from %s", name, endpoint && *endpoint ? endpoint : VMM_DEFAULT_ENDPOINT);
  }
  vmm_download_result result;
  vmm_error err;
  const vmm_status status = vmm_download(name, &options, &result, &err);
  progress_bar_clear(&view.bar);
  if (status == VMM_ERR_CANCELLED) {
    cli_say("cancelled; what arrived is kept: run the same command again to resume");
    return EXIT_CANCELLED;
  }
  if (status != VMM_OK) {
    cli_say("%s", err.message);
    return exit_status(status);
  }
  if (!quiet) {
    if (result.already_complete)
      cli_say("already downloaded: %s (--force downloads it again)", result.path);
    else
      cli_say("downloaded to %s (%s%s%s)", result.path,
          result.verified_sha256 ? "SHA-256 checked" : "size checked; the server gave no SHA-256",
          result.commit ? ", commit " : "", result.commit ? result.commit : "");
    cli_say("use it with: vitmatte --model %s IMAGE TRIMAP -o ALPHA.png", known ? known->name : result.path);
  }
  vmm_download_result_free(&result);
  return EXIT_OK;
}

int cmd_models_run(int argc, char **argv, const volatile sig_atomic_t *interrupted) {
  if (strcmp(argv[1], "models") == 0) return models_command(argc - 1, argv + 1);
  return download_command(argc - 1, argv + 1, interrupted);
}
