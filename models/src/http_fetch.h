/* http_fetch.h - one file over HTTP(S) into a .part file with libcurl, resuming what an earlier transfer left.
 * Owns: the request (redirects, Range, token, timeouts, proxy from the environment), the hub's headers, progress
 * and cancel, and turning every libcurl and HTTP failure into a status and a one-line message. */
#ifndef VMM_HTTP_FETCH_H
#define VMM_HTTP_FETCH_H

#include <stdint.h>

#include "vitmatte_models.h"

typedef struct vmm_fetch_request {
  const char *url;
  const char *part_path;       /* appended to when it exists (Range: bytes=SIZE-), created otherwise */
  const char *token;           /* "Authorization: Bearer" to the first host only, or NULL */
  long connect_timeout_seconds;
  long stall_seconds;          /* under 1 byte/s for this long: the transfer counts as broken */
  int64_t expected_size;       /* for the free-space check when no header tells the size; -1 unknown */
  vmm_progress *progress;      /* bytes fields and phase are updated here before each call of `progress_fn` */
  vmm_progress_fn progress_fn;
  void *progress_user_data;
} vmm_fetch_request;

typedef struct vmm_fetch_result {
  long http_status;        /* of the last response (after redirects); 0 when none came */
  char commit[48];         /* X-Repo-Commit, "" when absent */
  char linked_etag[80];    /* X-Linked-Etag without quotes (the SHA-256 of an LFS file), "" when absent */
  int64_t linked_size;     /* X-Linked-Size, -1 when absent */
  int64_t total_size;      /* the whole file's size as the final response gave it, -1 when unknown */
  int transient;           /* the failure may pass: resume after a pause (broken or stalled transfer, 5xx, 429) */
} vmm_fetch_result;

/* VMM_OK when the final response was 200 or 206 and every byte of it is in the part file (flushed and synced), or
 * when it was 416 and the part file already holds all total_size bytes (nothing was missing). Otherwise the status and message say what went wrong (the part file keeps what arrived,
 * except after a failed write on a full disk, where it is removed so the disk is not left full). */
vmm_status vmm_fetch(const vmm_fetch_request *request, vmm_fetch_result *result, vmm_error *err);

#endif
