/* download_info.h - download.json, the record a download leaves beside config.json and model.safetensors.
 * Owns: its fields, writing it (json-c) and reading it back for listings and completeness checks. */
#ifndef VMM_DOWNLOAD_INFO_H
#define VMM_DOWNLOAD_INFO_H

#include <stdint.h>

typedef struct vmm_file_record {
  int64_t size;
  char sha256[65];         /* of the file as written, "" when not computed */
  const char *checked_by;  /* "X-Linked-Etag", "pinned", "size" (writing only) */
} vmm_file_record;

typedef struct vmm_download_info {
  char *repo;
  char *revision;          /* as asked ("main") */
  char *commit;            /* X-Repo-Commit, or NULL */
  char *endpoint;
  vmm_file_record config;
  vmm_file_record weights;
} vmm_download_info;

/* 0, or -1 (errno set; EINVAL for a JSON that json-c could not make). */
int vmm_info_write(const char *path, const vmm_download_info *info);
/* 0 with the fields filled (free with vmm_info_clear), or -1 when the file is missing or not a download record. */
int vmm_info_read(const char *path, vmm_download_info *info);
void vmm_info_clear(vmm_download_info *info);

#endif
