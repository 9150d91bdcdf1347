/* models_internal.h - helpers shared by the model manager's source files (not installed, not public).
 * Owns: error filling, path joining and the small file-system questions every part asks. */
#ifndef VMM_MODELS_INTERNAL_H
#define VMM_MODELS_INTERNAL_H

#include <stdint.h>

#include "vitmatte_models.h"

vmm_status vmm_fail(vmm_error *err, vmm_status status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void vmm_error_clear(vmm_error *err);

/* malloc'ed "dir/leaf" (one slash between them), or NULL when out of memory. */
char *vmm_path_join(const char *dir, const char *leaf);
/* malloc'ed printf, or NULL. */
char *vmm_strprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *vmm_strdup(const char *s);

int vmm_is_dir(const char *path);
int vmm_is_file(const char *path);
/* Size of a regular file, or -1. */
int64_t vmm_file_size(const char *path);
struct vmm_download_info;
/* vmm_folder_is_complete from what was already read: the sizes of config.json and model.safetensors (-1: missing)
 * and download.json, `info` when it was read, else NULL with `record_exists` saying whether one is there anyway
 * (then unreadable: not complete). */
int vmm_complete_given(int64_t config_size, int64_t weights_size, const struct vmm_download_info *info,
                       int record_exists);
/* 1 when `s` is 64 hexadecimal digits (a SHA-256) or 40 (a git commit), case-insensitive. */
int vmm_is_hex(const char *s, int digits);

#endif
