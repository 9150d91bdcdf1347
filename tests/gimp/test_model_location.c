/* test_model_location.c - checks the default model search order and the "usable model" test on real folders.
 * Owns: temporary folders with and without config.json / model.safetensors. */
#include "model_location.h"
#include "unit_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void touch(const char *dir, const char *leaf) {
  char p[4096];
  snprintf(p, sizeof p, "%s/%s", dir, leaf);
  FILE *f = fopen(p, "w");
  if (f)
    fclose(f);
}

int main(void) {
  unit_tally t = {0, 0};
  char base[] = "/tmp/vmp-model-location-XXXXXX";
  if (!mkdtemp(base)) {
    perror("mkdtemp");
    return 1;
  }
  char env_dir[4200], plugin_dir[4200], plugin_model[4300], home[4200], cache[4400];
  snprintf(env_dir, sizeof env_dir, "%s/env", base);
  snprintf(plugin_dir, sizeof plugin_dir, "%s/plugin", base);
  snprintf(plugin_model, sizeof plugin_model, "%s/model", plugin_dir);
  snprintf(home, sizeof home, "%s/models", base); /* the models folder */
  snprintf(cache, sizeof cache, "%s/%s", home, VMP_MODEL_DEFAULT_FOLDER);
  mkdir(env_dir, 0700);
  mkdir(plugin_dir, 0700);
  mkdir(plugin_model, 0700);

  vmp_model_candidates c;
  vmp_model_candidates_init(&c, env_dir, plugin_dir, home);
  unit_check(&t,
             c.count == 3 && strcmp(c.paths[0], env_dir) == 0 && strcmp(c.paths[1], plugin_model) == 0 &&
                 strcmp(c.paths[2], cache) == 0,
             "candidates in order: $VITMATTE_MODEL, <plug-in dir>/model, <models folder>/%s", VMP_MODEL_DEFAULT_FOLDER);
  unit_check(&t, vmp_model_candidates_first_usable(&c) == NULL, "empty folders are not usable models");

  touch(plugin_model, "config.json");
  unit_check(&t, !vmp_model_path_is_usable(plugin_model),
             "a folder with config.json but no model.safetensors is not usable");
  touch(plugin_model, "model.safetensors");
  const char *first = vmp_model_candidates_first_usable(&c);
  unit_check(&t, first && strcmp(first, plugin_model) == 0,
             "the plug-in folder's model is found when $VITMATTE_MODEL is empty");
  touch(env_dir, "config.json");
  touch(env_dir, "model.safetensors");
  first = vmp_model_candidates_first_usable(&c);
  unit_check(&t, first && strcmp(first, env_dir) == 0, "$VITMATTE_MODEL wins over the plug-in folder");
  vmp_model_candidates_free(&c);

  char file[4300];
  snprintf(file, sizeof file, "%s/model.safetensors", env_dir);
  unit_check(&t, vmp_model_path_is_usable(file), "a .safetensors file path is usable (config.json beside it)");
  unit_check(&t,
             !vmp_model_path_is_usable("") && !vmp_model_path_is_usable(NULL) &&
                 !vmp_model_path_is_usable("/nonexistent/vitmatte/model"),
             "empty, NULL and missing paths are not usable");

  vmp_model_candidates_init(&c, "", NULL, home);
  unit_check(&t, c.count == 1 && strcmp(c.paths[0], cache) == 0,
             "an empty $VITMATTE_MODEL and no plug-in dir are skipped");
  vmp_model_candidates_free(&c);

  /* clean up */
  char p[4400];
  const char *leaves[] = {"config.json", "model.safetensors"};
  for (int i = 0; i < 2; i++) {
    snprintf(p, sizeof p, "%s/%s", env_dir, leaves[i]);
    unlink(p);
    snprintf(p, sizeof p, "%s/%s", plugin_model, leaves[i]);
    unlink(p);
  }
  rmdir(plugin_model), rmdir(plugin_dir), rmdir(env_dir), rmdir(base);
  return unit_finish(&t, "model_location");
}
