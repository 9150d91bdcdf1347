/* download_info.c - download.json, the record a download leaves beside config.json and model.safetensors.
 * Owns: its JSON layout (json-c does the JSON). */
#include "download_info.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "models_internal.h"

/* json_object_object_add takes the value only when it succeeds. */
static int add_value(json_object *obj, const char *key, json_object *value) {
  if (!value) return -1;
  if (json_object_object_add(obj, key, value) == 0) return 0;
  json_object_put(value);
  return -1;
}

static int add_string(json_object *obj, const char *key, const char *value) {
  return value ? add_value(obj, key, json_object_new_string(value)) : 0;
}

static json_object *file_object(const vmm_file_record *r) {
  json_object *o = json_object_new_object();
  if (!o || add_value(o, "size", json_object_new_int64(r->size)) != 0 ||
      (r->sha256[0] && add_string(o, "sha256", r->sha256) != 0) || add_string(o, "checked_by", r->checked_by) != 0) {
    json_object_put(o);
    return NULL;
  }
  return o;
}

int vmm_info_write(const char *path, const vmm_download_info *info) {
  char when[32];
  const time_t now = time(NULL);
  struct tm utc;
  if (!gmtime_r(&now, &utc) || strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc) == 0) when[0] = '\0';
  json_object *root = json_object_new_object(), *files = json_object_new_object();
  int ok = root && files && add_string(root, "repo", info->repo) == 0 &&
           add_string(root, "revision", info->revision) == 0 && add_string(root, "commit", info->commit) == 0 &&
           add_string(root, "endpoint", info->endpoint) == 0 && (!when[0] || add_string(root, "downloaded", when) == 0) &&
           add_value(files, VMM_CONFIG_FILE, file_object(&info->config)) == 0 &&
           add_value(files, VMM_WEIGHTS_FILE, file_object(&info->weights)) == 0;
  if (ok) {
    ok = add_value(root, "files", files) == 0;
    files = NULL; /* taken by root, or freed by add_value */
  }
  int rc = -1;
  if (ok) {
    errno = 0;
    rc = json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE) == 0 ? 0 : -1;
    if (rc != 0 && errno == 0) errno = EIO;
  } else {
    errno = ENOMEM;
  }
  json_object_put(files);
  json_object_put(root);
  return rc;
}

static char *string_of(json_object *obj, const char *key) {
  json_object *v = NULL;
  if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string)) return NULL;
  return vmm_strdup(json_object_get_string(v));
}

static void read_file_record(json_object *files, const char *name, vmm_file_record *r) {
  json_object *f = NULL, *v = NULL;
  r->size = -1;
  if (!json_object_object_get_ex(files, name, &f)) return;
  if (json_object_object_get_ex(f, "size", &v) && json_object_is_type(v, json_type_int)) r->size = json_object_get_int64(v);
  if (json_object_object_get_ex(f, "sha256", &v) && json_object_is_type(v, json_type_string) &&
      vmm_is_hex(json_object_get_string(v), 64))
    memcpy(r->sha256, json_object_get_string(v), 65);
}

int vmm_info_read(const char *path, vmm_download_info *info) {
  memset(info, 0, sizeof *info);
  if (!vmm_is_file(path)) return -1;
  json_object *root = json_object_from_file(path);
  json_object *files = NULL;
  if (!root || !json_object_is_type(root, json_type_object) || !json_object_object_get_ex(root, "files", &files) ||
      !json_object_is_type(files, json_type_object)) {
    json_object_put(root);
    return -1;
  }
  info->repo = string_of(root, "repo");
  info->revision = string_of(root, "revision");
  info->commit = string_of(root, "commit");
  info->endpoint = string_of(root, "endpoint");
  read_file_record(files, VMM_CONFIG_FILE, &info->config);
  read_file_record(files, VMM_WEIGHTS_FILE, &info->weights);
  json_object_put(root);
  return 0;
}

void vmm_info_clear(vmm_download_info *info) {
  free(info->repo);
  free(info->revision);
  free(info->commit);
  free(info->endpoint);
  memset(info, 0, sizeof *info);
}
