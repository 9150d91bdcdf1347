/* installed.c - which models are in the models folder, complete or not, and which downloads are unfinished.
 * Owns: vmm_list_installed (a scan of one folder level; nothing is opened but download.json). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "download_info.h"
#include "models_internal.h"

#define STAGING_SUFFIX ".download"

static int by_folder(const void *a, const void *b) {
  return strcmp(((const vmm_installed *)a)->folder, ((const vmm_installed *)b)->folder);
}

static vmm_installed *find(vmm_installed_list *list, const char *folder) {
  for (int i = 0; i < list->count; i++)
    if (strcmp(list->items[i].folder, folder) == 0) return &list->items[i];
  return NULL;
}

/* The entry for `folder`, added when missing; NULL when out of memory. */
static vmm_installed *entry(vmm_installed_list *list, int *capacity, const char *models_dir, const char *folder) {
  vmm_installed *e = find(list, folder);
  if (e) return e;
  if (list->count == *capacity) {
    const int grown = *capacity ? 2 * *capacity : 8;
    vmm_installed *items = realloc(list->items, (size_t)grown * sizeof *items);
    if (!items) return NULL;
    list->items = items;
    *capacity = grown;
  }
  e = &list->items[list->count];
  memset(e, 0, sizeof *e);
  e->folder = vmm_strdup(folder);
  e->path = vmm_path_join(models_dir, folder);
  if (!e->folder || !e->path) {
    free(e->folder);
    free(e->path);
    return NULL;
  }
  e->weights_size = -1;
  list->count++;
  return e;
}

/* Fills what the folder itself says: files, record, completeness (each file looked at once). */
static int describe(vmm_installed *e) {
  char *config = vmm_path_join(e->path, VMM_CONFIG_FILE), *weights = vmm_path_join(e->path, VMM_WEIGHTS_FILE);
  char *info_path = vmm_path_join(e->path, VMM_INFO_FILE);
  if (!config || !weights || !info_path) {
    free(config), free(weights), free(info_path);
    return -1;
  }
  e->weights_size = vmm_file_size(weights);
  vmm_download_info info;
  const int have_info = vmm_info_read(info_path, &info) == 0;
  e->complete = vmm_complete_given(vmm_file_size(config), e->weights_size, have_info ? &info : NULL,
                                   !have_info && vmm_is_file(info_path));
  if (have_info) {
    e->repo = info.repo, info.repo = NULL;
    e->commit = info.commit, info.commit = NULL;
    vmm_info_clear(&info);
  }
  e->known = vmm_known_find(e->repo ? e->repo : e->folder);
  if (!e->repo && e->known) e->repo = vmm_strdup(e->known->repo);
  free(config), free(weights), free(info_path);
  return 0;
}

static int is_model_folder(const char *path) {
  char *config = vmm_path_join(path, VMM_CONFIG_FILE), *weights = vmm_path_join(path, VMM_WEIGHTS_FILE);
  const int yes = vmm_is_dir(path) && (vmm_is_file(config) || vmm_is_file(weights));
  free(config), free(weights);
  return yes;
}

vmm_status vmm_list_installed(const char *models_dir, vmm_installed_list *out, vmm_error *err) {
  memset(out, 0, sizeof *out);
  DIR *dir = opendir(models_dir);
  if (!dir) {
    if (errno == ENOENT) return VMM_OK; /* nothing downloaded yet */
    return vmm_fail(err, VMM_ERR_IO, "cannot read the models folder %s: %s", models_dir, strerror(errno));
  }
  int capacity = 0;
  vmm_status status = VMM_OK;
  struct dirent *d;
  while ((d = readdir(dir)) != NULL) {
    const char *name = d->d_name;
    const size_t n = strlen(name), s = strlen(STAGING_SUFFIX);
    if (name[0] == '.') {
      /* .FOLDER.download: the staging folder of an unfinished download of FOLDER */
      if (n > s + 1 && strcmp(name + n - s, STAGING_SUFFIX) == 0) {
        char *folder = vmm_strprintf("%.*s", (int)(n - s - 1), name + 1);
        vmm_installed *e = folder ? entry(out, &capacity, models_dir, folder) : NULL;
        free(folder);
        if (!e) {
          status = VMM_ERR_OUT_OF_MEMORY;
          break;
        }
        e->downloading = 1;
      }
      continue;
    }
    char *path = vmm_path_join(models_dir, name);
    const int model = path && is_model_folder(path);
    free(path);
    if (model && !entry(out, &capacity, models_dir, name)) {
      status = VMM_ERR_OUT_OF_MEMORY;
      break;
    }
  }
  closedir(dir);
  for (int i = 0; status == VMM_OK && i < out->count; i++)
    if (describe(&out->items[i]) != 0) status = VMM_ERR_OUT_OF_MEMORY;
  if (status != VMM_OK) {
    vmm_installed_list_free(out);
    return vmm_fail(err, status, "out of memory listing %s", models_dir);
  }
  if (out->count > 1) qsort(out->items, (size_t)out->count, sizeof *out->items, by_folder);
  return VMM_OK;
}

void vmm_installed_list_free(vmm_installed_list *list) {
  for (int i = 0; i < list->count; i++) {
    free(list->items[i].folder);
    free(list->items[i].path);
    free(list->items[i].repo);
    free(list->items[i].commit);
  }
  free(list->items);
  memset(list, 0, sizeof *list);
}
