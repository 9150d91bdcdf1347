/* models_dir.c - where models live and what a model name means there.
 * Owns: the models folder ($VITMATTE_MODELS, XDG cache), "complete" for a model folder, and resolving a name that
 * the user typed (--model small, the plug-in's model argument) to a folder. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "download_info.h"
#include "models_internal.h"

char *vmm_models_dir(vmm_error *err) {
  const char *env = getenv(VMM_MODELS_ENV);
  char *dir = NULL;
  if (env && *env) {
    dir = vmm_strdup(env);
  } else {
    const char *cache = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    /* The XDG rule: a relative $XDG_CACHE_HOME is invalid and must be ignored. */
    if (cache && cache[0] == '/') dir = vmm_path_join(cache, "vitmatte");
    else if (home && *home) dir = vmm_strprintf("%s%s.cache/vitmatte", home, home[strlen(home) - 1] == '/' ? "" : "/");
    else {
      vmm_fail(err, VMM_ERR_INVALID_ARGUMENT,
               "no models folder: $HOME is not set (set " VMM_MODELS_ENV " to the folder for the models)");
      return NULL;
    }
  }
  if (!dir) vmm_fail(err, VMM_ERR_OUT_OF_MEMORY, "out of memory");
  return dir;
}

int vmm_complete_given(int64_t config_size, int64_t weights_size, const vmm_download_info *info, int record_exists) {
  if (config_size < 0 || weights_size < 0) return 0;
  /* A folder copied by hand has no record: the files being there is all one can check. One we downloaded must
   * still have the sizes it was verified with (a copy interrupted later, a truncated file). */
  if (!info) return !record_exists;
  return (info->config.size < 0 || info->config.size == config_size) &&
         (info->weights.size < 0 || info->weights.size == weights_size);
}

int vmm_folder_is_complete(const char *path) {
  char *config = vmm_path_join(path, VMM_CONFIG_FILE), *weights = vmm_path_join(path, VMM_WEIGHTS_FILE);
  char *info_path = vmm_path_join(path, VMM_INFO_FILE);
  int complete = 0;
  const int64_t config_size = vmm_file_size(config), weights_size = vmm_file_size(weights);
  if (config && weights && info_path && config_size >= 0 && weights_size >= 0) {
    vmm_download_info info;
    if (vmm_info_read(info_path, &info) != 0) {
      complete = vmm_complete_given(config_size, weights_size, NULL, vmm_is_file(info_path));
    } else {
      complete = vmm_complete_given(config_size, weights_size, &info, 1);
      vmm_info_clear(&info);
    }
  }
  free(config);
  free(weights);
  free(info_path);
  return complete;
}

static char *expand_home(const char *name) {
  const char *home = getenv("HOME");
  if (strncmp(name, "~/", 2) == 0 && home && *home) return vmm_path_join(home, name + 2);
  return vmm_strdup(name);
}

char *vmm_resolve(const char *models_dir, const char *name, vmm_error *err) {
  if (!name || !*name) {
    vmm_fail(err, VMM_ERR_INVALID_ARGUMENT, "no model given");
    return NULL;
  }
  char *path = expand_home(name);
  if (!path) {
    vmm_fail(err, VMM_ERR_OUT_OF_MEMORY, "out of memory");
    return NULL;
  }
  struct stat st;
  if (stat(path, &st) == 0) return path; /* an existing file or folder is what the user means, whatever its name */
  free(path);

  const vmm_known_model *known = vmm_known_find(name);
  char *folder = known ? vmm_repo_folder_name(known->repo) : strchr(name, '/') ? vmm_repo_folder_name(name) : NULL;
  const int looks_like_model = folder != NULL;
  if (!folder && strchr(name, '/') == NULL && name[0] != '.') folder = vmm_strdup(name); /* a folder name in there */
  char *candidate = folder && models_dir ? vmm_path_join(models_dir, folder) : NULL;
  if (candidate && vmm_folder_is_complete(candidate)) {
    free(folder);
    return candidate;
  }
  if (known) {
    vmm_fail(err, VMM_ERR_NOT_INSTALLED,
             "%s (%s) is not downloaded: run 'vitmatte download %s' (about %d MB, into %s)", known->title, known->name,
             known->name, known->approx_mb, candidate ? candidate : "the models folder");
  } else if (looks_like_model) {
    vmm_fail(err, VMM_ERR_NOT_INSTALLED,
             "%s is neither a file nor a folder, nor a downloaded model: to get the checkpoint %s from the Hugging "
             "Face hub, run 'vitmatte download %s'",
             name, name, name);
  } else {
    char names[100];
    vmm_fail(err, VMM_ERR_INVALID_ARGUMENT,
             "%s is neither a file nor a folder, nor a model name (%s, or a folder of %s)", name,
             vmm_known_names(names, sizeof names, " or "), models_dir ? models_dir : "the models folder");
  }
  free(folder);
  free(candidate);
  return NULL;
}
