/* vitmatte_models.h - the public API of the model manager: the official ViTMatte checkpoints, the folder where
 * models live, which of them are installed and complete, and downloading one from the Hugging Face hub.
 * Used by the CLI and the GIMP plug-in; the inference engine (vitmatte.h) knows nothing of it. */
#ifndef VITMATTE_MODELS_H
#define VITMATTE_MODELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Like the engine: every call that can fail returns a status and fills `err` (when not NULL) with it and a
 * one-line message meant for the user. No printing, no exit(), no global state of its own. */
typedef enum vmm_status {
  VMM_OK = 0,
  VMM_ERR_INVALID_ARGUMENT, /* a name that is neither a known model nor "owner/name", a bad option */
  VMM_ERR_NOT_INSTALLED,    /* a known model that is not (completely) in the models folder */
  VMM_ERR_NOT_FOUND,        /* HTTP 401/404: no such repository, revision or file (or a private/gated one) */
  VMM_ERR_HTTP,             /* another HTTP error status (403, 5xx, ...) */
  VMM_ERR_NETWORK,          /* host not found, connection refused or cut, timeout, proxy, TLS */
  VMM_ERR_DISK_FULL,        /* not enough space for the model, or a write failed with ENOSPC/EDQUOT */
  VMM_ERR_IO,               /* another file-system error (permissions, ...) */
  VMM_ERR_CHECKSUM,         /* the file's SHA-256 or size is not what the hub announced; the file was removed */
  VMM_ERR_BUSY,             /* another process is downloading the same model right now */
  VMM_ERR_CANCELLED,        /* the progress callback asked to stop; what arrived is kept for a resume */
  VMM_ERR_OUT_OF_MEMORY,
  VMM_ERR_INTERNAL          /* libcurl or OpenSSL failed to initialise */
} vmm_status;

typedef struct vmm_error {
  vmm_status status;
  char message[768];
} vmm_error;

const char *vmm_status_string(vmm_status status);

/* ---- The official checkpoints ------------------------------------------------------------------------ */

#define VMM_CONFIG_FILE "config.json"
#define VMM_WEIGHTS_FILE "model.safetensors"
/* What a download writes beside the two files: repository, revision, commit, sizes and hashes (JSON). */
#define VMM_INFO_FILE "download.json"

typedef struct vmm_known_model {
  const char *name;           /* the short name: "small", "base", "small-646", "base-646" */
  const char *repo;           /* "hustvl/vitmatte-small-composition-1k" */
  const char *title;          /* "ViTMatte-S, trained on Composition-1k" */
  int64_t weights_size;       /* exact bytes of model.safetensors at pinned_revision, 0 when not known */
  int approx_mb;              /* for display before a download: about this many MB (parameters x 4 bytes) */
  const char *weights_sha256; /* pinned SHA-256 of model.safetensors (64 hex digits) or NULL; used only when the
                               * hub sends no X-Linked-Etag */
  const char *pinned_revision;/* the commit that size and hash belong to, or NULL */
} vmm_known_model;

int vmm_known_count(void);
const vmm_known_model *vmm_known_at(int index);
/* The short names for a message, in the table's order, with `last` (", " or " or ") before the last one: "small,
 * base, small-646 or base-646". Writes at most `size` bytes (cut short if they do not fit); returns `out`. */
char *vmm_known_names(char *out, size_t size, const char *last);
/* By short name, by repository ("hustvl/..."), or by folder name ("vitmatte-small-composition-1k"); NULL when
 * `name` is none of these. */
const vmm_known_model *vmm_known_find(const char *name);

/* ---- The models folder ------------------------------------------------------------------------------- */

#define VMM_MODELS_ENV "VITMATTE_MODELS"

/* The folder that holds the models: $VITMATTE_MODELS when set and not empty, else $XDG_CACHE_HOME/vitmatte, else
 * $HOME/.cache/vitmatte. Not created here. Returns a malloc'ed string or NULL (err set: no HOME, no memory). */
char *vmm_models_dir(vmm_error *err);

/* The folder name of a repository inside the models folder: "hustvl/NAME" -> "NAME" (the official checkpoints keep
 * the names people already use), any other "OWNER/NAME" -> "OWNER--NAME". malloc'ed; NULL when `repo` is not
 * "owner/name" made of letters, digits, '-', '_' and '.'. */
char *vmm_repo_folder_name(const char *repo);

/* 1 when `path` is a folder with config.json and model.safetensors and, when it has a download.json, the files
 * have the sizes recorded there. Partial downloads live elsewhere (see vmm_download), so this is "the engine can
 * load it" as far as files go. */
int vmm_folder_is_complete(const char *path);

/* What `name` means as a model, for --model and the plug-in's model argument: an existing file or folder is
 * itself; a known name, a repository or a folder name of the models folder is that model's folder there when it
 * is complete. Returns a malloc'ed path, or NULL with err set: VMM_ERR_NOT_INSTALLED (a known model not downloaded:
 * the message says `vitmatte download NAME`), VMM_ERR_INVALID_ARGUMENT (neither a path nor a model name). */
char *vmm_resolve(const char *models_dir, const char *name, vmm_error *err);

typedef struct vmm_installed {
  char *folder;         /* name inside the models folder */
  char *path;           /* full path */
  char *repo;           /* from download.json, or the known model of that folder name, or NULL */
  char *commit;         /* X-Repo-Commit recorded by the download, or NULL */
  int64_t weights_size; /* bytes of model.safetensors */
  int complete;         /* vmm_folder_is_complete() */
  int downloading;      /* a download of this folder was started and not finished (resumable) */
  const vmm_known_model *known; /* the official checkpoint this is, or NULL */
} vmm_installed;

typedef struct vmm_installed_list {
  vmm_installed *items; /* sorted by folder name */
  int count;
} vmm_installed_list;

/* The model folders inside `models_dir` (folders with a config.json or a model.safetensors, complete or not, and
 * downloads in progress). A missing models folder is an empty list, not an error. */
vmm_status vmm_list_installed(const char *models_dir, vmm_installed_list *out, vmm_error *err);
void vmm_installed_list_free(vmm_installed_list *list);

/* ---- Downloading --------------------------------------------------------------------------------------- */

#define VMM_DEFAULT_ENDPOINT "https://huggingface.co"
#define VMM_ENDPOINT_ENV "HF_ENDPOINT" /* as huggingface_hub: a mirror of the hub */
#define VMM_TOKEN_ENV "HF_TOKEN"       /* sent as "Authorization: Bearer" to the endpoint (not to redirects) */

typedef enum vmm_phase {
  VMM_PHASE_CONNECTING = 0, /* asking for the file */
  VMM_PHASE_DOWNLOADING,    /* bytes arriving */
  VMM_PHASE_VERIFYING,      /* computing the SHA-256 */
  VMM_PHASE_RETRYING        /* the transfer broke; waiting, then resuming (attempt counts up) */
} vmm_phase;

typedef struct vmm_progress {
  const char *repo;
  const char *file;        /* config.json or model.safetensors */
  int file_index;          /* 0-based, of file_count */
  int file_count;
  vmm_phase phase;
  int64_t bytes_done;      /* of this file, including what an earlier attempt left (resumed_from) */
  int64_t bytes_total;     /* of this file, -1 while unknown */
  int64_t resumed_from;    /* bytes that were already there when this transfer started */
  double bytes_per_second; /* of this transfer (libcurl's average), 0 while unknown */
  int attempt;             /* 1, then 2, 3... after a broken transfer */
} vmm_progress;

/* Called often (at least once a second while connected, also while nothing arrives), from the thread that called
 * vmm_download. Non-zero stops the download with VMM_ERR_CANCELLED. */
typedef int (*vmm_progress_fn)(void *user_data, const vmm_progress *progress);

typedef struct vmm_download_options {
  const char *models_dir;      /* NULL: vmm_models_dir() */
  const char *endpoint;        /* NULL: $HF_ENDPOINT, else VMM_DEFAULT_ENDPOINT */
  const char *revision;        /* NULL: "main"; the commit the first file reports then fixes the others */
  const char *expected_sha256; /* for model.safetensors when the hub sends no X-Linked-Etag; NULL: the known
                                * model's pinned hash */
  vmm_progress_fn progress;
  void *progress_user_data;
  int max_attempts;            /* per file, for transfers that break (resumed each time); 0: 4 */
  long stall_seconds;          /* a transfer under 1 byte/s for this long is broken; 0: 60 */
  long connect_timeout_seconds;/* 0: 30 */
  long retry_delay_ms;         /* before a resume; 0: 1000 (doubles each time) */
  int force;                   /* download again even when the model's folder is complete */
} vmm_download_options;

void vmm_download_options_default(vmm_download_options *options);

typedef struct vmm_download_result {
  char *path;           /* the model's folder (malloc'ed) */
  char *commit;         /* X-Repo-Commit, or NULL when the server sent none */
  int verified_sha256;  /* 1 when model.safetensors was checked against a SHA-256 (hub's or pinned) */
  int already_complete; /* nothing was downloaded: the folder was already complete (see `force`) */
} vmm_download_result;

void vmm_download_result_free(vmm_download_result *result);

/* Downloads config.json and model.safetensors of `name` (a known name, "owner/name", or a folder name of a known
 * model) from {endpoint}/{repo}/resolve/{revision}/{file}, following redirects, into the models folder.
 *
 * Files arrive in a staging folder ".NAME.download" beside the model's folder, as FILE.part; a broken transfer is
 * resumed with a Range request (within this call up to max_attempts times, and by the next call). model.safetensors
 * is checked against the hub's X-Linked-Etag (its SHA-256) or the pinned hash, and every file against its announced
 * size; a file that fails is deleted and the call fails. Only when both files are complete and verified are they
 * renamed into the model's folder, with download.json, so the engine never sees half a model. libcurl's proxy
 * variables (https_proxy, no_proxy, ...) apply. */
vmm_status vmm_download(const char *name, const vmm_download_options *options, vmm_download_result *result,
                        vmm_error *err);

/* The URL of one file, as vmm_download asks for it (malloc'ed). */
char *vmm_file_url(const char *endpoint, const char *repo, const char *revision, const char *file);

#ifdef __cplusplus
}
#endif

#endif
