/* output_file.c - write beside the target under a hidden temporary name, then rename over the target.
 * rename() within one folder is atomic on POSIX file systems, which is what makes a failed run leave nothing. */
#include "output_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int output_file_begin(output_file *file, const char *path, char *msg, size_t msg_size) {
  memset(file, 0, sizeof *file);
  file->fd = -1;
  const char *slash = strrchr(path, '/');
  const size_t dir_length = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = path + dir_length;
  if (*base == '\0') {
    snprintf(msg, msg_size, "the output name is a folder");
    return -1;
  }
  static const char suffix[] = ".tmp-XXXXXX";
  const size_t size = dir_length + 1 + strlen(base) + sizeof suffix;
  file->final_path = strdup(path);
  file->temp_path = malloc(size);
  if (!file->final_path || !file->temp_path) {
    snprintf(msg, msg_size, "out of memory");
    output_file_end(file);
    return -1;
  }
  snprintf(file->temp_path, size, "%.*s.%s%s", (int)dir_length, path, base, suffix);
  file->fd = mkstemp(file->temp_path);
  if (file->fd < 0) {
    snprintf(msg, msg_size, "%s", strerror(errno));
    free(file->temp_path);
    file->temp_path = NULL;
    output_file_end(file);
    return -1;
  }
  /* mkstemp makes the file private (0600); the result should get the permissions any new file gets here. */
  const mode_t mask = umask(0);
  umask(mask);
  if (fchmod(file->fd, 0666 & ~mask) != 0) {
    snprintf(msg, msg_size, "%s", strerror(errno));
    close(file->fd);
    file->fd = -1;
    output_file_end(file);
    return -1;
  }
  return 0;
}

int output_file_commit(output_file *file, char *msg, size_t msg_size) {
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
