/* download.c - fetching one checkpoint (config.json + model.safetensors) from the hub into the models folder.
 * Owns: the staging folder and its lock, the order of the files, retries with resume, the size and SHA-256
 * checks, download.json, and the renames that make a model appear only when it is complete. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checksum.h"
#include "download_info.h"
#include "http_fetch.h"
#include "models_internal.h"

static const char *const model_files[] = {VMM_CONFIG_FILE, VMM_WEIGHTS_FILE};
enum { FILE_COUNT = 2 };

void vmm_download_options_default(vmm_download_options *options) {
  memset(options, 0, sizeof *options);
}

void vmm_download_result_free(vmm_download_result *result) {
  free(result->path);
  free(result->commit);
  memset(result, 0, sizeof *result);
}

char *vmm_file_url(const char *endpoint, const char *repo, const char *revision, const char *file) {
  /* A revision such as refs/pr/1 is one path segment, its slashes escaped (as huggingface_hub does). */
  CURL *curl = curl_easy_init();
  char *escaped = curl ? curl_easy_escape(curl, revision, 0) : NULL;
  const size_t n = strlen(endpoint);
  char *url = escaped ? vmm_strprintf("%.*s/%s/resolve/%s/%s", (int)(n && endpoint[n - 1] == '/' ? n - 1 : n), endpoint,
                                      repo, escaped, file)
                      : NULL;
  curl_free(escaped);
  curl_easy_cleanup(curl);
  return url;
}

typedef struct job {
  const vmm_download_options *opt;
  const vmm_known_model *known;
  char *repo;
  const char *endpoint;
  char *revision;  /* what the URLs use: the asked revision, then the commit the first file reported */
  const char *asked_revision;
  char *models_dir;
  char *target;    /* models_dir/FOLDER */
  char *staging;   /* models_dir/.FOLDER.download */
  char *lock_path; /* models_dir/.FOLDER.lock */
  int lock_fd;
  vmm_progress progress;
  char commit[48];
  vmm_download_info info;
  int verified_sha256;
} job;

static void job_clear(job *j) {
  if (j->lock_fd >= 0) close(j->lock_fd); /* releases the lock; the lock file itself stays (removing it races) */
  free(j->repo);
  free(j->revision);
  free(j->models_dir);
  free(j->target);
  free(j->staging);
  free(j->lock_path);
}

static int make_dirs(const char *path) {
  char *p = vmm_strdup(path);
  if (!p) return -1;
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = '\0';
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
      free(p);
      return -1;
    }
    *s = '/';
  }
  const int rc = mkdir(p, 0755) != 0 && errno != EEXIST ? -1 : 0;
  free(p);
  return rc;
}

static int report(job *j) {
  return j->opt->progress ? j->opt->progress(j->opt->progress_user_data, &j->progress) : 0;
}

static int hash_tick(void *user, int64_t done) {
  job *j = user;
  j->progress.phase = VMM_PHASE_VERIFYING;
  j->progress.bytes_done = done;
  return report(j);
}

/* Waits `ms` before a resume, still answering the progress callback so a cancel is not delayed. */
static int pause_cancellable(job *j, long ms) {
  j->progress.phase = VMM_PHASE_RETRYING;
  for (long waited = 0; waited < ms; waited += 100) {
    if (report(j) != 0) return -1;
    const long step = ms - waited < 100 ? ms - waited : 100;
    const struct timespec t = {0, step * 1000000L};
    nanosleep(&t, NULL);
  }
  return report(j);
}

/* The hash model.safetensors must have, and who says so: the hub (X-Linked-Etag), else the caller, else the known
 * model's pin when the commit is the pinned one (or not reported). NULL when there is none. */
static const char *expected_hash(const job *j, int index, const vmm_fetch_result *r, const char **source) {
  if (vmm_is_hex(r->linked_etag, 64)) {
    *source = "X-Linked-Etag";
    return r->linked_etag;
  }
  if (index != 1) return NULL;
  *source = "pinned";
  if (j->opt->expected_sha256) return j->opt->expected_sha256;
  const vmm_known_model *k = j->known;
  if (k && k->weights_sha256 && (!j->commit[0] || (k->pinned_revision && strcmp(j->commit, k->pinned_revision) == 0)))
    return k->weights_sha256;
  return NULL;
}

/* After a complete transfer: the size, then the hash; the file is deleted when either is wrong. */
static vmm_status check_file(job *j, int index, const char *part, const vmm_fetch_result *r, int *retry,
                             vmm_error *err) {
  const char *file = model_files[index];
  const int64_t expected = r->linked_size >= 0 ? r->linked_size : r->total_size;
  const int64_t actual = vmm_file_size(part);
  if (expected >= 0 && actual >= 0 && actual < expected) {
    *retry = 1;
    return vmm_fail(err, VMM_ERR_NETWORK, "the transfer of %s ended early, at %lld of %lld bytes", file,
                    (long long)actual, (long long)expected);
  }
  if (expected >= 0 && actual != expected) {
    unlink(part);
    return vmm_fail(err, VMM_ERR_CHECKSUM,
                    "%s of %s has %lld bytes where the server announced %lld; the file was removed: run the "
                    "download again",
                    file, j->repo, (long long)actual, (long long)expected);
  }
  vmm_file_record *rec = index == 0 ? &j->info.config : &j->info.weights;
  rec->size = actual;
  rec->checked_by = expected >= 0 ? "size" : "none";
  const char *source = NULL;
  const char *want = expected_hash(j, index, r, &source);
  j->progress.bytes_total = actual;
  vmm_status s = vmm_sha256_file(part, rec->sha256, hash_tick, j, err);
  if (s != VMM_OK) return s;
  if (want) {
    if (strcasecmp(want, rec->sha256) != 0) {
      unlink(part);
      return vmm_fail(err, VMM_ERR_CHECKSUM,
                      "%s of %s is damaged: its SHA-256 is %s, but %s says %s; the file was removed: run the "
                      "download again",
                      file, j->repo, rec->sha256, strcmp(source, "pinned") == 0 ? "the pinned hash" : "the hub",
                      want);
    }
    rec->checked_by = source;
    if (index == 1) j->verified_sha256 = 1;
  }
  return VMM_OK;
}

static vmm_status fetch_file(job *j, int index, vmm_error *err) {
  const char *file = model_files[index];
  char *part = vmm_strprintf("%s/%s.part", j->staging, file), *done = vmm_path_join(j->staging, file);
  char *url = vmm_file_url(j->endpoint, j->repo, j->revision, file);
  vmm_status status = VMM_OK;
  if (!part || !done || !url) {
    status = vmm_fail(err, VMM_ERR_OUT_OF_MEMORY, "out of memory");
    goto out;
  }
  const int max_attempts = j->opt->max_attempts > 0 ? j->opt->max_attempts : 4;
  long delay = j->opt->retry_delay_ms > 0 ? j->opt->retry_delay_ms : 1000;
  j->progress.file = file;
  j->progress.file_index = index;
  j->progress.bytes_total = index == 1 && j->known && j->known->weights_size > 0 ? j->known->weights_size : -1;
  for (int attempt = 1;; attempt++) {
    j->progress.attempt = attempt;
    vmm_fetch_request req = {url,
                             part,
                             getenv(VMM_TOKEN_ENV),
                             j->opt->connect_timeout_seconds > 0 ? j->opt->connect_timeout_seconds : 30,
                             j->opt->stall_seconds > 0 ? j->opt->stall_seconds : 60,
                             j->progress.bytes_total,
                             &j->progress,
                             j->opt->progress,
                             j->opt->progress_user_data};
    vmm_fetch_result r;
    status = vmm_fetch(&req, &r, err);
    int retry = r.transient;
    if (status == VMM_OK) {
      if (index == 0 && vmm_is_hex(r.commit, 40)) snprintf(j->commit, sizeof j->commit, "%s", r.commit);
      status = check_file(j, index, part, &r, &retry, err);
      if (status == VMM_OK) {
        if (rename(part, done) != 0) status = vmm_fail(err, VMM_ERR_IO, "cannot rename %s: %s", part, strerror(errno));
        goto out;
      }
    }
    if (status == VMM_ERR_NOT_FOUND && index == 1) {
      /* config.json came from this repository and revision, so it is the weights file that is missing: the
       * repository may hold only a pickle (pytorch_model.bin), which the engine does not read. */
      vmm_fail(err, VMM_ERR_NOT_FOUND,
               "%s has no %s at %s (HTTP %ld): ViTMatte needs the safetensors checkpoint. If the repository has only "
               "pytorch_model.bin, look on its hub page for a safetensors version (often a pull request: "
               "--revision refs/pr/N)",
               j->repo, file, j->asked_revision, r.http_status);
      goto out;
    }
    if (status == VMM_ERR_CANCELLED || !retry) goto out;
    if (attempt >= max_attempts) {
      const int64_t kept = vmm_file_size(part);
      const size_t n = strlen(err->message);
      if (kept > 0)
        snprintf(err->message + n, sizeof err->message - n,
                 " (after %d attempts; %.1f MB are kept: run the download again to resume)", attempt, (double)kept / 1e6);
      goto out;
    }
    if (pause_cancellable(j, delay) != 0) {
      status = vmm_fail(err, VMM_ERR_CANCELLED, "cancelled (run the download again to resume)");
      goto out;
    }
    delay *= 2;
  }
out:
  free(part);
  free(done);
  free(url);
  return status;
}

/* Moves the verified files out of the staging folder into the model's folder. When that folder does not exist yet
 * the staging folder itself is renamed: the model appears at once, complete. */
static vmm_status install(job *j, vmm_error *err) {
  char *info_path = vmm_path_join(j->staging, VMM_INFO_FILE);
  if (!info_path) return vmm_fail(err, VMM_ERR_OUT_OF_MEMORY, "out of memory");
  j->info.repo = j->repo;
  j->info.revision = (char *)j->asked_revision;
  j->info.commit = j->commit[0] ? j->commit : NULL;
  j->info.endpoint = (char *)j->endpoint;
  const int written = vmm_info_write(info_path, &j->info);
  const int write_errno = errno;
  free(info_path);
  if (written != 0)
    return vmm_fail(err, write_errno == ENOSPC ? VMM_ERR_DISK_FULL : VMM_ERR_IO, "cannot write %s in %s: %s",
                    VMM_INFO_FILE, j->staging, strerror(write_errno));
  if (rename(j->staging, j->target) == 0) return VMM_OK;
  if (errno != EEXIST && errno != ENOTEMPTY)
    return vmm_fail(err, VMM_ERR_IO, "cannot rename %s to %s: %s", j->staging, j->target, strerror(errno));
  /* The folder exists (an older download, a partial copy by hand): replace its files one by one, the weights
   * first, so that at every moment the folder holds a loadable pair or what it held before. */
  static const char *const order[] = {VMM_WEIGHTS_FILE, VMM_CONFIG_FILE, VMM_INFO_FILE};
  for (int i = 0; i < 3; i++) {
    char *from = vmm_path_join(j->staging, order[i]), *to = vmm_path_join(j->target, order[i]);
    const int ok = from && to && rename(from, to) == 0;
    const int e = errno;
    free(from), free(to);
    if (!ok) return vmm_fail(err, VMM_ERR_IO, "cannot move %s into %s: %s", order[i], j->target, strerror(e));
  }
  rmdir(j->staging); /* empty now; should something be left in it, it only shows as an unfinished download */
  return VMM_OK;
}

static vmm_status prepare(job *j, const char *name, vmm_error *err) {
  j->known = vmm_known_find(name);
  const char *repo = j->known ? j->known->repo : name;
  char *folder = vmm_repo_folder_name(repo);
  if (!folder) {
    char names[100];
    return vmm_fail(err, VMM_ERR_INVALID_ARGUMENT, "'%s' is neither a model name (%s) nor a hub repository (owner/name)",
                    name, vmm_known_names(names, sizeof names, ", "));
  }
  j->repo = vmm_strdup(repo);
  const char *env_endpoint = getenv(VMM_ENDPOINT_ENV);
  j->endpoint = j->opt->endpoint ? j->opt->endpoint
                : env_endpoint && *env_endpoint ? env_endpoint
                                                : VMM_DEFAULT_ENDPOINT;
  j->asked_revision = j->opt->revision && *j->opt->revision ? j->opt->revision : "main";
  j->revision = vmm_strdup(j->asked_revision);
  j->models_dir = j->opt->models_dir ? vmm_strdup(j->opt->models_dir) : vmm_models_dir(err);
  if (!j->models_dir) {
    free(folder);
    return err->status != VMM_OK ? err->status : vmm_fail(err, VMM_ERR_OUT_OF_MEMORY, "out of memory");
  }
  j->target = vmm_path_join(j->models_dir, folder);
  j->staging = vmm_strprintf("%s/.%s.download", j->models_dir, folder);
  j->lock_path = vmm_strprintf("%s/.%s.lock", j->models_dir, folder);
  free(folder);
  if (!j->repo || !j->revision || !j->target || !j->staging || !j->lock_path)
    return vmm_fail(err, VMM_ERR_OUT_OF_MEMORY, "out of memory");
  j->progress.repo = j->repo;
  j->progress.file_count = FILE_COUNT;
  return VMM_OK;
}

/* One download of a model at a time: a second process (GIMP and the CLI, two GIMP dialogs) would append to the
 * same .part files. */
static vmm_status lock(job *j, vmm_error *err) {
  if (make_dirs(j->models_dir) != 0)
    return vmm_fail(err, errno == ENOSPC ? VMM_ERR_DISK_FULL : VMM_ERR_IO, "cannot make the models folder %s: %s",
                    j->models_dir, strerror(errno));
  j->lock_fd = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (j->lock_fd < 0) return vmm_fail(err, VMM_ERR_IO, "cannot create %s: %s", j->lock_path, strerror(errno));
  if (flock(j->lock_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return vmm_fail(err, VMM_ERR_BUSY, "%s is being downloaded by another program right now", j->repo);
    return vmm_fail(err, VMM_ERR_IO, "cannot lock %s: %s", j->lock_path, strerror(errno));
  }
  if (mkdir(j->staging, 0755) != 0 && errno != EEXIST)
    return vmm_fail(err, errno == ENOSPC ? VMM_ERR_DISK_FULL : VMM_ERR_IO, "cannot make %s: %s", j->staging,
                    strerror(errno));
  return VMM_OK;
}

vmm_status vmm_download(const char *name, const vmm_download_options *options, vmm_download_result *result,
                        vmm_error *err) {
  vmm_download_options defaults;
  vmm_download_options_default(&defaults);
  vmm_error unused;
  if (!err) err = &unused; /* the messages are built up in place */
  memset(result, 0, sizeof *result);
  vmm_error_clear(err);
  if (!name || !*name) return vmm_fail(err, VMM_ERR_INVALID_ARGUMENT, "no model named");
  job j;
  memset(&j, 0, sizeof j);
  j.lock_fd = -1;
  j.opt = options ? options : &defaults;
  j.info.config.size = j.info.weights.size = -1;
  vmm_status status = prepare(&j, name, err);
  if (status != VMM_OK) goto out;
  if (!j.opt->force && vmm_folder_is_complete(j.target)) {
    result->already_complete = 1;
    goto done;
  }
  /* libcurl's own initialisation is reference-counted and, in the libcurl of Debian 12 and later, thread-safe. */
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
    status = vmm_fail(err, VMM_ERR_INTERNAL, "libcurl failed to initialise");
    goto out;
  }
  status = lock(&j, err);
  if (status == VMM_OK && !j.opt->force && vmm_folder_is_complete(j.target)) {
    result->already_complete = 1; /* another program finished it while we waited for nothing */
  } else {
    for (int i = 0; status == VMM_OK && i < FILE_COUNT; i++) {
      status = fetch_file(&j, i, err);
      /* The commit the first file came from fixes the revision of the others: one consistent checkpoint even
       * when the branch moves meanwhile. */
      if (status == VMM_OK && i == 0 && j.commit[0] && strcmp(j.revision, j.commit) != 0) {
        free(j.revision);
        j.revision = vmm_strdup(j.commit);
        if (!j.revision) status = vmm_fail(err, VMM_ERR_OUT_OF_MEMORY, "out of memory");
      }
    }
    if (status == VMM_OK) status = install(&j, err);
    if (status != VMM_OK) rmdir(j.staging); /* only when nothing is left in it */
  }
  curl_global_cleanup();
  if (status != VMM_OK) goto out;
done:
  if (result->already_complete) { /* the commit of the download that made it, when one did */
    char *info_path = vmm_path_join(j.target, VMM_INFO_FILE);
    vmm_download_info info;
    if (info_path && vmm_info_read(info_path, &info) == 0) {
      if (info.commit) snprintf(j.commit, sizeof j.commit, "%s", info.commit);
      vmm_info_clear(&info);
    }
    free(info_path);
  }
  result->path = vmm_strdup(j.target);
  result->commit = j.commit[0] ? vmm_strdup(j.commit) : NULL;
  result->verified_sha256 = j.verified_sha256;
  if (!result->path) status = vmm_fail(err, VMM_ERR_OUT_OF_MEMORY, "out of memory");
out:
  job_clear(&j);
  return status;
}
