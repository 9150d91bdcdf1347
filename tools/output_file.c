/* output_file.c - write beside the target under a hidden temporary name, then rename over the target.
 * rename() within one folder is atomic on POSIX file systems, which is what makes a failed run leave nothing. */
#include "output_file.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The file to replace: `path` itself, or the file a link at `path` leads to (malloc'ed), with its status in *st
 * (st_mode 0 when it does not exist yet). NULL with msg set when the rules refuse it. */
static char *resolve_target(const char *path, struct stat *st, char *msg, size_t msg_size) {
  const size_t length = strlen(path);
  if (length == 0 || path[length - 1] == '/') {
    snprintf(msg, msg_size, "the output name is a folder");
    return NULL;
  }
  struct stat link;
  memset(st, 0, sizeof *st);
  if (lstat(path, &link) != 0) {
    if (errno != ENOENT) {
      snprintf(msg, msg_size, "%s", strerror(errno));
      return NULL;
    }
    return strdup(path);
  }
  if (!S_ISLNK(link.st_mode)) {
    *st = link;
    return strdup(path);
  }
  char *real = realpath(path, NULL);
  if (!real || stat(real, st) != 0) {
    snprintf(msg, msg_size, "it is a symbolic link to a file that does not exist; not writing through it");
    free(real);
    return NULL;
  }
  return real;
}

/* The rules of output_file.h for an existing target. */
static int check_existing(const struct stat *st, const char *target, char *msg, size_t msg_size) {
  if (st->st_mode == 0) return 0;
  if (S_ISDIR(st->st_mode)) {
    snprintf(msg, msg_size, "it is a folder");
    return -1;
  }
  if (!S_ISREG(st->st_mode)) {
    snprintf(msg, msg_size, "it exists and is not a regular file");
    return -1;
  }
  /* Mode bits, not only access(): root may write anywhere, yet a file marked read-only is still not replaced. */
  if ((st->st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0 || access(target, W_OK) != 0) {
    snprintf(msg, msg_size, "the file is read-only; make it writable or remove it first");
    return -1;
  }
  return 0;
}

static int check_folder(const char *target, char *msg, size_t msg_size) {
  const char *slash = strrchr(target, '/');
  char folder[PATH_MAX];
  if (!slash)
    snprintf(folder, sizeof folder, ".");
  else if (slash == target)
    snprintf(folder, sizeof folder, "/");
  else
    snprintf(folder, sizeof folder, "%.*s", (int)(slash - target), target);
  struct stat st;
  if (stat(folder, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(msg, msg_size, "the folder %s does not exist", folder);
    return -1;
  }
  if (access(folder, W_OK | X_OK) != 0) {
    snprintf(msg, msg_size, "cannot create files in %s: %s", folder, strerror(errno));
    return -1;
  }
  return 0;
}

int output_file_check(const char *path, char *msg, size_t msg_size) {
  struct stat st;
  char *target = resolve_target(path, &st, msg, msg_size);
  if (!target) return -1;
  const int status =
      check_existing(&st, target, msg, msg_size) == 0 && check_folder(target, msg, msg_size) == 0 ? 0 : -1;
  free(target);
  return status;
}

int output_file_same(const char *path, const char *other) {
  struct stat a, b;
  return stat(path, &a) == 0 && stat(other, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int output_file_begin(output_file *file, const char *path, const volatile sig_atomic_t *cancel, char *msg,
                      size_t msg_size) {
  memset(file, 0, sizeof *file);
  file->fd = -1;
  file->cancel = cancel;
  struct stat st;
  file->final_path = resolve_target(path, &st, msg, msg_size);
  if (!file->final_path) return -1;
  if (check_existing(&st, file->final_path, msg, msg_size) != 0) {
    output_file_end(file);
    return -1;
  }
  const char *target = file->final_path;
  const char *slash = strrchr(target, '/');
  const size_t dir_length = slash ? (size_t)(slash - target) + 1 : 0;
  const char *base = target + dir_length;
  static const char suffix[] = ".tmp-XXXXXX";
  const size_t size = dir_length + 1 + strlen(base) + sizeof suffix;
  file->temp_path = malloc(size);
  if (!file->temp_path) {
    snprintf(msg, msg_size, "out of memory");
    output_file_end(file);
    return -1;
  }
  snprintf(file->temp_path, size, "%.*s.%s%s", (int)dir_length, target, base, suffix);
  file->fd = mkstemp(file->temp_path);
  if (file->fd < 0) {
    snprintf(msg, msg_size, "%s", strerror(errno));
    free(file->temp_path);
    file->temp_path = NULL;
    output_file_end(file);
    return -1;
  }
  /* mkstemp makes the file private (0600): a replaced file keeps its permission bits, a new one gets those any new
   * file gets here. */
  mode_t mode;
  if (st.st_mode != 0) {
    mode = st.st_mode & 0777;
  } else {
    const mode_t mask = umask(0);
    umask(mask);
    mode = 0666 & ~mask;
  }
  if (fchmod(file->fd, mode) != 0) {
    snprintf(msg, msg_size, "%s", strerror(errno));
    close(file->fd);
    file->fd = -1;
    output_file_end(file);
    return -1;
  }
  return 0;
}

int output_file_commit(output_file *file, char *msg, size_t msg_size) {
  if (file->cancel && *file->cancel) {
    snprintf(msg, msg_size, "interrupted");
    return -1;
  }
  if (rename(file->temp_path, file->final_path) != 0) {
    snprintf(msg, msg_size, "%s", strerror(errno));
    return -1;
  }
  free(file->temp_path);
  file->temp_path = NULL;
  return 0;
}

void output_file_end(output_file *file) {
  if (file->temp_path) unlink(file->temp_path);
  free(file->temp_path);
  free(file->final_path);
  file->temp_path = NULL;
  file->final_path = NULL;
}
