/* paths.c - joining paths and asking the file system small questions, for the rest of the model manager.
 * Owns: vmm_path_join, vmm_strprintf and the is-file / is-folder / size / hex checks. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "models_internal.h"

char *vmm_strprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *s = malloc((size_t)n + 1);
  if (!s) return NULL;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

char *vmm_strdup(const char *s) {
  return s ? vmm_strprintf("%s", s) : NULL;
}

char *vmm_path_join(const char *dir, const char *leaf) {
  const size_t n = strlen(dir);
  const int slash = n > 0 && dir[n - 1] == '/';
  return vmm_strprintf("%s%s%s", dir, slash || n == 0 ? "" : "/", leaf);
}

int vmm_is_dir(const char *path) {
  struct stat st;
  return path && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int vmm_is_file(const char *path) {
  struct stat st;
  return path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int64_t vmm_file_size(const char *path) {
  struct stat st;
  if (!path || stat(path, &st) != 0 || !S_ISREG(st.st_mode)) return -1;
  return (int64_t)st.st_size;
}

int vmm_is_hex(const char *s, int digits) {
  if (!s) return 0;
  for (int i = 0; i < digits; i++)
    if (!isxdigit((unsigned char)s[i])) return 0;
  return s[digits] == '\0';
}
