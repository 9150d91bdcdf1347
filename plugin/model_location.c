/* model_location.c - where the plug-in looks for the ViTMatte checkpoint when the user names none.
 * Owns: building the candidate paths and checking them on disk. */
#include "model_location.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *join(const char *dir, const char *leaf) {
  size_t a = strlen(dir), b = strlen(leaf);
  char *s = malloc(a + b + 2);
  if (!s)
    return NULL;
  memcpy(s, dir, a);
  size_t n = a;
  if (n == 0 || s[n - 1] != '/')
    s[n++] = '/';
  memcpy(s + n, leaf, b + 1);
  return s;
}

static char *copy(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

int vmp_model_candidates_init(vmp_model_candidates *c, const char *env_value, const char *plugin_dir,
                              const char *models_dir) {
  memset(c, 0, sizeof *c);
  char *p;
  if (env_value && *env_value) {
    if (!(p = copy(env_value)))
      goto oom;
    c->paths[c->count++] = p;
  }
  if (plugin_dir && *plugin_dir) {
    if (!(p = join(plugin_dir, "model")))
      goto oom;
    c->paths[c->count++] = p;
  }
  if (models_dir && *models_dir) {
    if (!(p = join(models_dir, VMP_MODEL_DEFAULT_FOLDER)))
      goto oom;
    c->paths[c->count++] = p;
  }
  return 0;
oom:
  vmp_model_candidates_free(c);
  return -1;
}

void vmp_model_candidates_free(vmp_model_candidates *c) {
  for (int i = 0; i < c->count; i++)
    free(c->paths[i]);
  memset(c, 0, sizeof *c);
}

static int is_regular_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int vmp_model_path_is_usable(const char *path) {
  struct stat st;
  if (!path || !*path || stat(path, &st) != 0)
    return 0;
  if (S_ISREG(st.st_mode))
    return 1;
  if (!S_ISDIR(st.st_mode))
    return 0;
  char *cfg = join(path, "config.json"), *weights = join(path, "model.safetensors");
  int ok = cfg && weights && is_regular_file(cfg) && is_regular_file(weights);
  free(cfg), free(weights);
  return ok;
}

const char *vmp_model_candidates_first_usable(const vmp_model_candidates *c) {
  for (int i = 0; i < c->count; i++)
    if (vmp_model_path_is_usable(c->paths[i]))
      return c->paths[i];
  return NULL;
}
