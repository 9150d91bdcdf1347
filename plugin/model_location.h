/* model_location.h - where the plug-in looks for the ViTMatte checkpoint when the user names none.
 * Owns: the ordered list of default locations and the test "is a usable model here". No GIMP here. */
#ifndef VMP_MODEL_LOCATION_H
#define VMP_MODEL_LOCATION_H

#define VMP_MODEL_ENV "VITMATTE_MODEL"
/* ViTMatte-S in the models folder (vitmatte_models.h: $VITMATTE_MODELS, else $XDG_CACHE_HOME/vitmatte, else
 * ~/.cache/vitmatte), where `vitmatte download small` and the dialog's Download button put it. */
#define VMP_MODEL_DEFAULT_FOLDER "vitmatte-small-composition-1k"
#define VMP_MODEL_MAX_CANDIDATES 3

/* The default locations, in order: $VITMATTE_MODEL (when set and not empty), then `model` in the plug-in's own
 * folder, then vitmatte-small-composition-1k in the models folder. NULL or empty inputs skip their entry. */
typedef struct vmp_model_candidates {
  char *paths[VMP_MODEL_MAX_CANDIDATES]; /* malloc'ed */
  int count;
} vmp_model_candidates;

/* Returns 0, or -1 when out of memory (then nothing needs freeing). */
int vmp_model_candidates_init(vmp_model_candidates *c, const char *env_value, const char *plugin_dir,
                              const char *models_dir);
void vmp_model_candidates_free(vmp_model_candidates *c);

/* 1 when `path` looks like a checkpoint the engine can load: a folder holding config.json and
 * model.safetensors, or a file (the engine then finds config.json beside it). */
int vmp_model_path_is_usable(const char *path);

/* The first usable candidate, or NULL. */
const char *vmp_model_candidates_first_usable(const vmp_model_candidates *c);

#endif
