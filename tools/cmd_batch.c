/* cmd_batch.c - folders: `vitmatte --model M --trimaps TRIMAP_DIR IMAGE_DIR|IMAGE... -o OUT_DIR [--cutout DIR]`.
 * Owns: collecting the pictures and their trimaps, one model and one context for all of them, the overall progress
 * bar, going on past a picture that fails, and the list of failures at the end. */
#include "cmd_batch.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_common.h"
#include "cli_engine.h"
#include "cli_inputs.h"
#include "cmd_foreground.h"
#include "image_io.h"
#include "output_file.h"
#include "progress_bar.h"
#include "vitmatte.h"

/* The pictures folder mode takes, and the order in which a trimap's extensions are tried. */
static const char *const picture_extensions[] = {"png", "tif", "tiff", "jpg", "jpeg"};
enum { N_EXTENSIONS = sizeof picture_extensions / sizeof picture_extensions[0], REASON_SIZE = 700 };

typedef struct picture {
  char *image_path;
  char *name;        /* the file name without its extension: what the trimap and the outputs are called */
  char *trimap_path; /* NULL when there is none */
  char *output_path;
  char *cutout_path; /* NULL without --cutout */
  char *failure;     /* NULL while it has not failed */
} picture;

typedef struct picture_list {
  picture *items;
  int count, capacity;
  int ignored; /* files in the folders that are not pictures */
} picture_list;

static char *join(const char *folder, const char *name, const char *extension) {
  const size_t n = strlen(folder) + strlen(name) + (extension ? strlen(extension) : 0) + 3;
  char *path = malloc(n);
  if (path) snprintf(path, n, "%s/%s%s%s", folder, name, extension ? "." : "", extension ? extension : "");
  return path;
}

/* The picture extension of `file` (case-insensitive), or NULL. */
static const char *picture_extension(const char *file) {
  const char *dot = strrchr(file, '.');
  if (!dot || dot == file) return NULL;
  for (int i = 0; i < N_EXTENSIONS; i++)
    if (strcasecmp(dot + 1, picture_extensions[i]) == 0) return dot + 1;
  return NULL;
}

static void set_failure(picture *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_failure(picture *p, const char *fmt, ...) {
  char text[REASON_SIZE];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  free(p->failure);
  p->failure = strdup(text);
  if (!p->failure) p->failure = strdup("out of memory");
}

static picture *add_picture(picture_list *list, const char *path) {
  if (list->count == list->capacity) {
    const int capacity = list->capacity ? 2 * list->capacity : 64;
    picture *items = realloc(list->items, (size_t)capacity * sizeof *items);
    if (!items) return NULL;
    list->items = items, list->capacity = capacity;
  }
  picture *p = &list->items[list->count];
  memset(p, 0, sizeof *p);
  p->image_path = strdup(path);
  if (!p->image_path) return NULL;
  const char *slash = strrchr(path, '/');
  const char *file = slash ? slash + 1 : path;
  const char *extension = picture_extension(file);
  const size_t stem = extension ? (size_t)(extension - 1 - file) : strlen(file);
  p->name = strndup(file, stem);
  if (!p->name) {
    free(p->image_path);
    return NULL;
  }
  list->count++;
  return p;
}

static int by_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The folder's pictures in name order; hidden files are left out, other files counted as ignored. Returns 0, or -1
 * having said why (a folder that cannot be read fails the whole run: it was named on the command line). */
static int add_folder(picture_list *list, const char *folder) {
  DIR *dir = opendir(folder);
  if (!dir) {
    cli_say("cannot read the folder %s: %s", folder, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t count = 0, capacity = 0;
  int status = 0;
  struct dirent *entry;
  while (status == 0 && (entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    char *path = join(folder, entry->d_name, NULL);
    struct stat st;
    if (!path) {
      status = -1;
    } else if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && picture_extension(entry->d_name)) {
      if (count == capacity) {
        capacity = capacity ? 2 * capacity : 64;
        char **grown = realloc(names, capacity * sizeof *grown);
        if (!grown) status = -1;
        else names = grown;
      }
      if (status == 0) names[count++] = path, path = NULL;
    } else if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
      list->ignored++;
    }
    free(path);
  }
  closedir(dir);
  if (status == 0) {
    if (count > 1) qsort(names, count, sizeof *names, by_name); /* never with NULL: an empty folder has no array */
    for (size_t i = 0; i < count && status == 0; i++)
      if (!add_picture(list, names[i])) status = -1;
  }
  if (status != 0) cli_say("out of memory listing %s", folder);
  for (size_t i = 0; i < count; i++) free(names[i]);
  free(names);
  return status;
}

/* Makes `folder` when it does not exist yet (not its parents: a typo in them should not grow a tree). */
static int ensure_folder(const char *folder) {
  struct stat st;
  if (stat(folder, &st) == 0) {
    if (S_ISDIR(st.st_mode)) return 0;
    cli_say("cannot write into %s: it is a file, not a folder", folder);
    return -1;
  }
  if (mkdir(folder, 0777) != 0) {
    cli_say("cannot make the folder %s: %s", folder, strerror(errno));
    return -1;
  }
  return 0;
}

/* The trimap of `name`: TRIMAP_DIR/NAME with the first picture extension that exists, lower case first. */
static char *find_trimap(const char *trimap_dir, const char *name) {
  for (int upper = 0; upper < 2; upper++)
    for (int i = 0; i < N_EXTENSIONS; i++) {
      char extension[8];
      snprintf(extension, sizeof extension, "%s", picture_extensions[i]);
      for (char *c = extension; upper && *c; c++) *c = (char)(*c - 'a' + 'A');
      char *path = join(trimap_dir, name, extension);
      struct stat st;
      if (path && stat(path, &st) == 0 && S_ISREG(st.st_mode)) return path;
      free(path);
    }
  return NULL;
}

static const char *format_extension(alpha_format format) { return format == ALPHA_FORMAT_PNG ? "png" : "tif"; }

/* Where each picture's trimap is and where its files go; what cannot work is marked failed before any model runs:
 * no trimap, a name another picture already writes, an output that is one of the inputs. */
static int plan(const cli_options *o, picture_list *list) {
  for (int i = 0; i < list->count; i++) {
    picture *p = &list->items[i];
    p->trimap_path = find_trimap(o->trimap_dir, p->name);
    p->output_path = join(o->output_path, p->name, format_extension(o->output_format));
    p->cutout_path = o->cutout_path ? join(o->cutout_path, p->name, format_extension(o->cutout_format)) : NULL;
    if (!p->output_path || (o->cutout_path && !p->cutout_path)) {
      cli_say("out of memory");
      return -1;
    }
    if (!p->trimap_path) {
      set_failure(p, "no trimap called %s.png (or .tif, .tiff, .jpg, .jpeg) in %s", p->name, o->trimap_dir);
      continue;
    }
    for (int j = 0; j < i && !p->failure; j++)
      if (strcmp(list->items[j].name, p->name) == 0)
        set_failure(p, "%s comes first and is also called %s (both would write %s)", list->items[j].image_path,
                    p->name, p->output_path);
    const char *inputs[] = {p->image_path, p->trimap_path};
    for (int k = 0; k < 2 && !p->failure; k++)
      if (output_file_same(p->output_path, inputs[k]) || (p->cutout_path && output_file_same(p->cutout_path, inputs[k])))
        set_failure(p, "its output would overwrite the input %s: choose another output folder", inputs[k]);
  }
  return 0;
}

/* The engine's progress of one picture as the whole run's: "3/10 photo" and (index + fraction) / count. */
typedef struct overall_progress {
  progress_bar *bar;
  int index, count;
  const char *name;
} overall_progress;

static int report_overall(void *user_data, const char *stage, double fraction) {
  (void)stage;
  overall_progress *o = user_data;
  char text[PROGRESS_TEXT_SIZE];
  snprintf(text, sizeof text, "%d/%d %s", o->index + 1, o->count, o->name);
  if (!(fraction >= 0.0)) fraction = 0.0;
  return progress_bar_report_text(o->bar, text, (o->index + (fraction > 1.0 ? 1.0 : fraction)) / o->count);
}

typedef struct batch_engine {
  cli_engine engine;
  progress_bar bar;
  overall_progress progress;
} batch_engine;

/* One picture, as a single run does it (cli_engine_matte: the memory check, the pixels, the prediction, the alpha),
 * then its cut-out. 0, EXIT_CANCELLED, or 1 with the picture marked failed. */
static int matte_one(const cli_options *o, batch_engine *e, picture *p) {
  cli_options one = *o;
  one.image_path = p->image_path, one.trimap_path = p->trimap_path, one.output_path = p->output_path;
  one.cutout_path = p->cutout_path;
  cli_inputs in;
  memset(&in, 0, sizeof in);
  cli_matte m;
  memset(&m, 0, sizeof m);
  int status = 1;
  char msg[REASON_SIZE];
  const double start = cli_seconds_now();
  /* Before this picture costs anything: both of its files can be written (plan() already refused the inputs). */
  const char *inputs[] = {p->image_path, p->trimap_path};
  if (cli_check_output(p->output_path, inputs, 2, msg, sizeof msg) != 0 ||
      (p->cutout_path && cli_check_output(p->cutout_path, inputs, 2, msg, sizeof msg) != 0)) {
    set_failure(p, "%s", msg);
    goto done;
  }
  if (cli_inputs_read_headers(&one, &in, msg, sizeof msg) != 0) {
    set_failure(p, "%s", msg);
    goto done;
  }
  const int matted = cli_engine_matte(&e->engine, &one, &in, &e->bar, &m, msg, sizeof msg);
  if (matted == EXIT_CANCELLED) {
    status = EXIT_CANCELLED;
    goto done;
  }
  if (matted != 0) {
    set_failure(p, "%s", msg);
    goto done;
  }
  const image_buffer *image = &in.image;
  if (p->cutout_path) {
    const int cut = cutout_write(e->engine.context, &e->bar, image, m.alpha, VM_FOREGROUND_AUTO, p->cutout_path,
                                 o->cutout_format, o->png_bits, 1, msg, sizeof msg);
    if (cut == EXIT_CANCELLED) {
      status = EXIT_CANCELLED;
      goto done;
    }
    if (cut != 0) {
      set_failure(p, "%s (the alpha %s was written)", msg, p->output_path);
      goto done;
    }
  }
  status = 0;
  if (!o->quiet)
    cli_say("[%d/%d] wrote %s%s%s (%dx%d) in %.2f s", e->progress.index + 1, e->progress.count, p->output_path,
            p->cutout_path ? " and " : "", p->cutout_path ? p->cutout_path : "", image->width, image->height,
            cli_seconds_now() - start);
done:
  if (p->failure) cli_say("[%d/%d] %s failed: %s", e->progress.index + 1, e->progress.count, p->image_path, p->failure);
  free(m.alpha);
  cli_inputs_free(&in);
  return status;
}

/* The model and one context for every picture. 0, or the exit status having said why. */
static int open_engine(const cli_options *o, batch_engine *e) {
  const int status = cli_engine_load(&e->engine, o);
  return status != 0 ? status : cli_engine_context(&e->engine, o, report_overall, &e->progress, &e->bar);
}

static void free_list(picture_list *list) {
  for (int i = 0; i < list->count; i++) {
    picture *p = &list->items[i];
    free(p->image_path), free(p->name), free(p->trimap_path), free(p->output_path), free(p->cutout_path);
    free(p->failure);
  }
  free(list->items);
}

/* Says how the run went: the count, and each failure on its own line. `reached`: the pictures the run went through
 * (matted, failed or skipped) before a cancel. Returns the exit status. */
static int report(const cli_options *o, const picture_list *list, int matted, int reached, int cancelled,
                  double seconds, const batch_engine *e) {
  int failed = 0;
  for (int i = 0; i < list->count; i++) failed += list->items[i].failure != NULL;
  if (cancelled) cli_say("cancelled after %d of %d pictures", reached, list->count);
  if (!o->quiet || failed)
    cli_say("%d of %d pictures matted in %.1f s on %s (the model loaded once)%s", matted, list->count, seconds,
            vm_context_device_name(e->engine.context), failed ? "; these failed:" : "");
  for (int i = 0; i < list->count; i++)
    if (list->items[i].failure) cli_say("  %s: %s", list->items[i].image_path, list->items[i].failure);
  if (list->ignored && !o->quiet)
    cli_say("%d file%s in the folders %s not a picture (.png .jpg .jpeg .tif .tiff) and left alone", list->ignored,
            list->ignored == 1 ? "" : "s", list->ignored == 1 ? "is" : "are");
  return cancelled ? EXIT_CANCELLED : failed ? EXIT_USAGE : 0;
}

int batch_run(const cli_options *o, const volatile sig_atomic_t *interrupted) {
  picture_list list;
  memset(&list, 0, sizeof list);
  batch_engine e;
  memset(&e, 0, sizeof e);
  int status = 0;
  struct stat st;
  if (stat(o->trimap_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    cli_say("--trimaps %s: %s", o->trimap_dir, stat(o->trimap_dir, &st) != 0 ? strerror(errno) : "not a folder");
    return EXIT_USAGE;
  }
  for (int i = 0; i < o->input_count && status == 0; i++) {
    if (stat(o->inputs[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      if (add_folder(&list, o->inputs[i]) != 0) status = EXIT_USAGE;
    } else if (!add_picture(&list, o->inputs[i])) {
      cli_say("out of memory");
      status = EXIT_RUNTIME;
    }
  }
  if (status == 0 && list.count == 0) {
    cli_say("no pictures (.png .jpg .jpeg .tif .tiff) in %s", o->inputs[0]);
    status = EXIT_USAGE;
  }
  if (status == 0 && (ensure_folder(o->output_path) != 0 || (o->cutout_path && ensure_folder(o->cutout_path) != 0)))
    status = EXIT_USAGE;
  if (status == 0 && plan(o, &list) != 0) status = EXIT_RUNTIME;
  if (status != 0) {
    free_list(&list);
    return status;
  }

  const double start = cli_seconds_now();
  progress_bar_init(&e.bar, !o->quiet && isatty(STDERR_FILENO), interrupted);
  e.progress.bar = &e.bar;
  e.progress.count = list.count;
  status = open_engine(o, &e);
  int matted = 0, reached = 0, cancelled = status == 0 && *interrupted;
  for (int i = 0; status == 0 && !cancelled && i < list.count; i++) {
    picture *p = &list.items[i];
    e.progress.index = i;
    e.progress.name = p->name;
    if (p->failure) {
      cli_say("[%d/%d] %s skipped: %s", i + 1, list.count, p->image_path, p->failure);
      reached = i + 1;
      continue;
    }
    const int one = matte_one(o, &e, p);
    cancelled = one == EXIT_CANCELLED || *interrupted;
    matted += one == 0;
    reached = one == EXIT_CANCELLED ? i : i + 1; /* a picture the signal stopped midway was not gone through */
  }
  progress_bar_clear(&e.bar);
  if (status == 0) status = report(o, &list, matted, reached, cancelled, cli_seconds_now() - start, &e);
  cli_engine_free(&e.engine);
  free_list(&list);
  return status;
}
