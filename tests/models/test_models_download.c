/* test_models_download.c - vmm_download against hub_server.py on 127.0.0.1 (started by with_hub.sh): a complete
 * download, transfers cut and resumed, a corrupted byte, missing repositories and files, a server that is gone, a
 * stalled and a slow server with cancel, a server that ignores Range, a proxy, and two downloads at once.
 * Owns: the cases and what each must leave on disk. Usage: test_models_download TINY_MODEL_DIR */
#include <openssl/evp.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit_check.h"
#include "vitmatte_models.h"

static const char *hub_url, *hub_state, *tiny;
static char base[] = "/tmp/vmm-download-XXXXXX";
static int dir_counter = 0;

static char *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *buf = NULL;
  size_t n = 0, cap = 0;
  for (;;) {
    if (n == cap) {
      cap = cap ? 2 * cap : 1 << 16;
      char *grown = realloc(buf, cap + 1);
      if (!grown) break;
      buf = grown;
    }
    const size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0) break;
  }
  fclose(f);
  if (buf) buf[n] = '\0';
  if (size) *size = n;
  return buf;
}

static int same_file(const char *a, const char *b) {
  size_t na = 0, nb = 0;
  char *x = read_all(a, &na), *y = read_all(b, &nb);
  const int same = x && y && na == nb && memcmp(x, y, na) == 0;
  free(x);
  free(y);
  return same;
}

static int64_t size_of(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static void set_mode(const char *mode) {
  static int serial = 0;
  char path[4200];
  snprintf(path, sizeof path, "%s/mode", hub_state);
  FILE *f = fopen(path, "w");
  /* the serial re-arms the server's "once" modes even when the same mode is set twice */
  if (!f || fprintf(f, "%s %d\n", mode, ++serial) < 0 || fclose(f) != 0) {
    perror(path);
    exit(2);
  }
}

/* The server's request log from byte `from` on (malloc'ed); its length in *end. */
static char *log_since(size_t from, size_t *end) {
  char path[4200];
  snprintf(path, sizeof path, "%s/requests.log", hub_state);
  size_t n = 0;
  char *all = read_all(path, &n);
  if (end) *end = n;
  if (!all) return calloc(1, 1);
  char *tail = strdup(from <= n ? all + from : "");
  free(all);
  return tail;
}

static size_t log_mark(void) {
  size_t end = 0;
  free(log_since(0, &end));
  return end;
}

static char *fresh_models_dir(void) {
  char *p = malloc(4200);
  snprintf(p, 4200, "%s/models-%d", base, ++dir_counter);
  return p;
}

static char *join(const char *a, const char *b) {
  char *p = malloc(strlen(a) + strlen(b) + 2);
  sprintf(p, "%s/%s", a, b);
  return p;
}

typedef struct recorder {
  int calls;
  int64_t last_done, max_done, total;
  int went_back;          /* bytes_done fell within one transfer attempt */
  int max_attempt;
  int saw_verifying, saw_rate, saw_retrying;
  int64_t resumed_from;   /* largest resumed_from seen */
  int64_t cancel_after;   /* cancel once model.safetensors has this many bytes (0: never) */
  int last_attempt, last_index;
} recorder;

static int record(void *user, const vmm_progress *p) {
  recorder *r = user;
  r->calls++;
  if (p->phase == VMM_PHASE_VERIFYING) r->saw_verifying = 1;
  if (p->phase == VMM_PHASE_RETRYING) r->saw_retrying = 1;
  if (p->attempt > r->max_attempt) r->max_attempt = p->attempt;
  if (p->resumed_from > r->resumed_from) r->resumed_from = p->resumed_from;
  if (p->phase == VMM_PHASE_DOWNLOADING) {
    if (p->attempt == r->last_attempt && p->file_index == r->last_index && p->bytes_done < r->last_done) r->went_back = 1;
    r->last_attempt = p->attempt, r->last_index = p->file_index, r->last_done = p->bytes_done;
    if (p->bytes_done > r->max_done) r->max_done = p->bytes_done;
    if (p->bytes_total > 0) r->total = p->bytes_total;
    if (p->bytes_per_second > 0) r->saw_rate = 1;
    if (r->cancel_after > 0 && p->file_index == 1 && p->bytes_done >= r->cancel_after) return 1;
  }
  return 0;
}

static void options_for(vmm_download_options *o, const char *models_dir, recorder *r) {
  vmm_download_options_default(o);
  o->endpoint = hub_url;
  o->models_dir = models_dir;
  o->progress = record;
  o->progress_user_data = r;
  o->retry_delay_ms = 20;
  o->stall_seconds = 2;
  o->connect_timeout_seconds = 5;
}

/* One case: a fresh models folder, options pointing at the test hub, a progress recorder, the server's mode. */
typedef struct dl_case {
  char *dir;
  recorder r;
  vmm_download_options o;
  vmm_download_result res;
  vmm_error err;
} dl_case;

static void case_begin(dl_case *c, const char *mode) {
  memset(c, 0, sizeof *c);
  c->dir = fresh_models_dir();
  options_for(&c->o, c->dir, &c->r);
  if (mode) set_mode(mode);
}

/* vmm_download of `name` with the case's options; the previous result is freed first. */
static vmm_status case_download(dl_case *c, const char *name) {
  vmm_download_result_free(&c->res);
  return vmm_download(name, &c->o, &c->res, &c->err);
}

static void case_end(dl_case *c) {
  vmm_download_result_free(&c->res);
  free(c->dir);
}

/* The model folder holds exactly the tiny model's two files and a download.json. */
static int model_is_tiny(const char *folder) {
  char *c = join(folder, "config.json"), *w = join(folder, "model.safetensors"), *i = join(folder, "download.json");
  char *tc = join(tiny, "config.json"), *tw = join(tiny, "model.safetensors");
  const int ok = same_file(c, tc) && same_file(w, tw) && exists(i) && vmm_folder_is_complete(folder);
  free(c), free(w), free(i), free(tc), free(tw);
  return ok;
}

static char *staging_of(const char *models_dir, const char *folder) {
  char *p = malloc(4400);
  snprintf(p, 4400, "%s/.%s.download", models_dir, folder);
  return p;
}

static int64_t tiny_weights_size(void) {
  char *w = join(tiny, "model.safetensors");
  const int64_t n = size_of(w);
  free(w);
  return n;
}

static void sha256_hex(const char *path, char hex[65]) {
  size_t n = 0;
  char *data = read_all(path, &n);
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  hex[0] = '\0';
  if (data && EVP_Digest(data, n, d, &len, EVP_sha256(), NULL) == 1)
    for (unsigned i = 0; i < len; i++) sprintf(hex + 2 * i, "%02x", d[i]);
  free(data);
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void case_complete(unit_tally *t) {
  dl_case c;
  case_begin(&c, "normal");
  const size_t mark = log_mark();
  const vmm_status s = case_download(&c, "small");
  char *folder = join(c.dir, "vitmatte-small-composition-1k");
  char *staging = staging_of(c.dir, "vitmatte-small-composition-1k");
  const char *commit = c.res.commit ? c.res.commit : "";
  unit_check(t, s == VMM_OK && c.res.path && strcmp(c.res.path, folder) == 0, "complete download: %s (%s)",
             vmm_status_string(s), s ? c.err.message : c.res.path);
  unit_check(t, model_is_tiny(folder), "the two files arrived byte for byte, with download.json");
  unit_check(t, c.res.verified_sha256 && strlen(commit) == 40,
             "model.safetensors was checked against X-Linked-Etag; X-Repo-Commit recorded (%s)", commit);
  unit_check(t, !exists(staging), "no staging folder is left");
  unit_check(t, c.r.max_done == tiny_weights_size() && c.r.total == tiny_weights_size() && !c.r.went_back &&
                    c.r.saw_rate && c.r.saw_verifying,
             "progress: bytes up to the total (%lld of %lld), never backwards, a rate, a verifying phase",
             (long long)c.r.max_done, (long long)c.r.total);
  char *log = log_since(mark, NULL);
  char expect[200];
  snprintf(expect, sizeof expect, "GET /hustvl/vitmatte-small-composition-1k/resolve/%s/model.safetensors", commit);
  unit_check(t,
             strstr(log, "GET /hustvl/vitmatte-small-composition-1k/resolve/main/config.json") && strstr(log, expect) &&
                 strstr(log, "GET /lfs/"),
             "config.json from main, then model.safetensors from the commit config.json came from, via the redirect");
  char *info = join(folder, "download.json");
  char *record_text = read_all(info, NULL);
  unit_check(t, record_text && strstr(record_text, commit) && strstr(record_text, "X-Linked-Etag") &&
                    strstr(record_text, "\"repo\": \"hustvl/vitmatte-small-composition-1k\""),
             "download.json records the repository, the commit and how the weights were checked");
  vmm_error rerr;
  char *resolved = vmm_resolve(c.dir, "small", &rerr);
  unit_check(t, resolved && strcmp(resolved, folder) == 0, "'small' now resolves to the downloaded folder");
  char *first_commit = strdup(commit);

  /* Again: nothing to do, no request. */
  const size_t mark2 = log_mark();
  const vmm_status s2 = case_download(&c, "hustvl/vitmatte-small-composition-1k");
  unit_check(t, s2 == VMM_OK && c.res.already_complete && c.res.commit && strcmp(c.res.commit, first_commit) == 0 &&
                    log_mark() == mark2,
             "a complete model is not downloaded again (no request), and its commit is reported");
  c.o.force = 1;
  const size_t mark3 = log_mark();
  const vmm_status s3 = case_download(&c, "small");
  char *log3 = log_since(mark3, NULL);
  unit_check(t, s3 == VMM_OK && !c.res.already_complete && model_is_tiny(folder) && strstr(log3, "GET /lfs/") &&
                    !exists(staging),
             "force: downloaded again and put in place over the installed model (%s)", s3 ? c.err.message : "ok");
  free(log3), free(first_commit), free(resolved), free(info), free(record_text), free(log), free(staging);
  free(folder);
  case_end(&c);
}

static void case_cut_once(unit_tally *t) {
  dl_case c;
  case_begin(&c, "cut-once");
  const size_t mark = log_mark();
  const vmm_status s = case_download(&c, "small");
  char *log = log_since(mark, NULL);
  char range[64];
  snprintf(range, sizeof range, "range=bytes=%lld-", (long long)(tiny_weights_size() / 2));
  unit_check(t, s == VMM_OK && model_is_tiny(c.res.path),
             "transfer cut half way: the same call resumes and finishes (%s)", s ? c.err.message : "ok");
  unit_check(t, strstr(log, range) && c.r.max_attempt == 2 && c.r.resumed_from == tiny_weights_size() / 2,
             "the second attempt asked for the rest only (%s), from where the cut left it", range);
  free(log);
  case_end(&c);
}

static void case_cut_always_then_resume(unit_tally *t) {
  dl_case c;
  case_begin(&c, "cut-always");
  c.o.max_attempts = 2;
  const vmm_status s = case_download(&c, "base");
  char *folder = join(c.dir, "vitmatte-base-composition-1k");
  char *staging = staging_of(c.dir, "vitmatte-base-composition-1k");
  char *part = join(staging, "model.safetensors.part");
  const int64_t kept = size_of(part), whole = tiny_weights_size();
  unit_check(t, s == VMM_ERR_NETWORK && strstr(c.err.message, "run the download again to resume"),
             "a server that always cuts: fails after 2 attempts, saying a rerun resumes: %s", c.err.message);
  unit_check(t, kept == whole / 2 + (whole - whole / 2) / 2, "the part file keeps the %lld bytes that arrived",
             (long long)kept);
  unit_check(t, !exists(folder), "no model folder appears (the engine cannot see half a model)");
  vmm_installed_list list;
  vmm_list_installed(c.dir, &list, &c.err);
  unit_check(t, list.count == 1 && list.items[0].downloading && !list.items[0].complete,
             "the listing shows an unfinished download");
  vmm_installed_list_free(&list);

  set_mode("normal");
  const size_t mark = log_mark();
  memset(&c.r, 0, sizeof c.r);
  c.o.max_attempts = 0;
  const vmm_status s2 = case_download(&c, "base");
  char *log = log_since(mark, NULL);
  char range[64];
  snprintf(range, sizeof range, "range=bytes=%lld-", (long long)kept);
  unit_check(t, s2 == VMM_OK && model_is_tiny(folder) && !exists(staging), "the next call finishes the download (%s)",
             s2 ? c.err.message : "ok");
  unit_check(t, strstr(log, range) != NULL && c.r.resumed_from == kept,
             "it resumed with %s instead of starting again", range);
  free(log), free(part), free(staging), free(folder);
  case_end(&c);
}

static void case_corrupt(unit_tally *t) {
  dl_case c;
  case_begin(&c, "corrupt");
  const vmm_status s = case_download(&c, "small");
  char *staging = staging_of(c.dir, "vitmatte-small-composition-1k");
  char *part = join(staging, "model.safetensors.part");
  char *folder = join(c.dir, "vitmatte-small-composition-1k");
  unit_check(t, s == VMM_ERR_CHECKSUM && strstr(c.err.message, "SHA-256") && strstr(c.err.message, "removed"),
             "a corrupted byte: checksum mismatch, and the user is told the file was removed: %s", c.err.message);
  unit_check(t, !exists(part) && !exists(folder), "the damaged file is gone and no model folder appeared");
  free(part), free(staging), free(folder);
  case_end(&c);
}

static void case_pinned_hash(unit_tally *t) {
  dl_case c;
  case_begin(&c, "no-etag");
  /* ViTMatte-S has a pinned hash, that of the real checkpoint: the tiny model served in its place must fail it. */
  const vmm_status s = case_download(&c, "small");
  unit_check(t, s == VMM_ERR_CHECKSUM && strstr(c.err.message, "pinned"),
             "no X-Linked-Etag: the pinned hash of ViTMatte-S is used (and the tiny model fails it): %s", c.err.message);
  char *tw = join(tiny, "model.safetensors");
  char hex[65];
  sha256_hex(tw, hex);
  c.o.expected_sha256 = hex;
  const vmm_status s2 = case_download(&c, "small");
  unit_check(t, s2 == VMM_OK && c.res.verified_sha256 && model_is_tiny(c.res.path),
             "no X-Linked-Etag, the caller's expected hash: verified and installed (%s)", s2 ? c.err.message : "ok");
  c.o.expected_sha256 = NULL;
  const vmm_status s3 = case_download(&c, "tester/tiny");
  unit_check(t, s3 == VMM_OK && !c.res.verified_sha256 && model_is_tiny(c.res.path),
             "no X-Linked-Etag and no pin: installed on its size alone, and reported as not hash-checked");
  free(tw);
  case_end(&c);
}

static void case_not_found(unit_tally *t) {
  dl_case c;
  case_begin(&c, "normal");
  c.o.revision = "v9";
  vmm_status s = case_download(&c, "small");
  unit_check(t, s == VMM_ERR_NOT_FOUND && strstr(c.err.message, "HTTP 404") && strstr(c.err.message, "/resolve/v9/"),
             "an unknown revision: 404, and the message names the URL: %s", c.err.message);
  c.o.revision = NULL;
  s = case_download(&c, "nobody/nothing");
  unit_check(t,
             s == VMM_ERR_NOT_FOUND && strstr(c.err.message, "HTTP 401") && strstr(c.err.message, "Repository not found"),
             "an unknown repository: the hub's 401 and its message: %s", c.err.message);
  s = case_download(&c, "tester/no-weights");
  char *no_weights = join(c.dir, "tester--no-weights");
  unit_check(t,
             s == VMM_ERR_NOT_FOUND && strstr(c.err.message, "has no model.safetensors at main") &&
                 strstr(c.err.message, "refs/pr/N") && !exists(no_weights),
             "a repository without model.safetensors: says so, and how to look for one: %s", c.err.message);
  free(no_weights);
  s = case_download(&c, "tiny");
  unit_check(t, s == VMM_ERR_INVALID_ARGUMENT && strstr(c.err.message, "small, base"),
             "a name that is no model and no owner/name: %s", c.err.message);
  char *folder = join(c.dir, "nobody--nothing");
  unit_check(t, !exists(folder), "nothing installed for them");
  free(folder);
  case_end(&c);
}

/* Printable ASCII only: what a message quoting bytes that are not UTF-8, or control characters, must come down to. */
static int printable_ascii(const char *text) {
  for (const unsigned char *c = (const unsigned char *)text; *c; c++)
    if (*c < 0x20 || *c >= 0x7f) return 0;
  return 1;
}

static void case_odd_message(unit_tally *t) {
  dl_case c;
  case_begin(&c, "odd-message");
  const vmm_status s = case_download(&c, "small");
  unit_check(t, s == VMM_ERR_NOT_FOUND && printable_ascii(c.err.message) &&
                    strstr(c.err.message, "(\"Entry \\xFF\\xFE not \\x1B[31mfound\")"),
             "a server message of bytes that are not UTF-8 and a terminal escape: quoted escaped, the message valid "
             "UTF-8 on one line (the plug-in shows it in a GTK label): %s", c.err.message);
  set_mode("normal");
  case_end(&c);
}

static void case_server_gone(unit_tally *t) {
  /* A port nobody listens on: bind one, note it, close it. */
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    unit_check(t, 0, "server gone: could not find a free port");
    return;
  }
  close(fd);
  char url[64];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", ntohs(a.sin_port));
  dl_case c;
  case_begin(&c, NULL);
  c.o.endpoint = url;
  const double start = now();
  const vmm_status s = case_download(&c, "small");
  const double took = now() - start;
  unit_check(t, s == VMM_ERR_NETWORK && strstr(c.err.message, "cannot connect to 127.0.0.1"),
             "server gone: a network error that says so: %s", c.err.message);
  unit_check(t, took < 2.0, "and at once (%.2f s: a refused connection is not retried)", took);
  case_end(&c);
}

static void case_stall(unit_tally *t) {
  dl_case c;
  case_begin(&c, "stall-once");
  const double start = now();
  const vmm_status s = case_download(&c, "small");
  const double took = now() - start;
  unit_check(t, s == VMM_OK && model_is_tiny(c.res.path) && c.r.max_attempt == 2 && c.r.saw_retrying,
             "a server that stops sending half way: given up after the stall time, resumed, finished (%s)",
             s ? c.err.message : "ok");
  unit_check(t, took >= 2.0 && took < 10.0, "the stall was detected after about stall_seconds = 2 (%.1f s in all)", took);
  case_end(&c);
}

static void case_slow_cancel(unit_tally *t) {
  dl_case c;
  case_begin(&c, "slow");
  c.r.cancel_after = 100000;
  const double start = now();
  const vmm_status s = case_download(&c, "small");
  const double took = now() - start;
  char *staging = staging_of(c.dir, "vitmatte-small-composition-1k");
  char *part = join(staging, "model.safetensors.part");
  char *folder = join(c.dir, "vitmatte-small-composition-1k");
  const int64_t kept = size_of(part);
  unit_check(t, s == VMM_ERR_CANCELLED && took < 3.0,
             "a slow server: cancel from the progress callback stops it in %.2f s: %s", took, c.err.message);
  unit_check(t, kept >= 100000 && kept < tiny_weights_size() && !exists(folder),
             "what arrived (%lld bytes) is kept for a resume; no model folder", (long long)kept);
  set_mode("normal");
  const size_t mark = log_mark();
  memset(&c.r, 0, sizeof c.r);
  const vmm_status s2 = case_download(&c, "small");
  char *log = log_since(mark, NULL);
  char range[64];
  snprintf(range, sizeof range, "range=bytes=%lld-", (long long)kept);
  unit_check(t, s2 == VMM_OK && model_is_tiny(folder) && strstr(log, range),
             "after the cancel, the next call resumes (%s) and finishes", range);
  free(log), free(part), free(staging), free(folder);
  case_end(&c);
}

static void case_no_range(unit_tally *t) {
  dl_case c;
  case_begin(&c, "cut-always");
  c.o.max_attempts = 1;
  case_download(&c, "small"); /* leaves half the file */
  set_mode("no-range");
  c.o.max_attempts = 0;
  const vmm_status s = case_download(&c, "small");
  unit_check(t, s == VMM_OK && model_is_tiny(c.res.path) && c.r.resumed_from > 0,
             "a server that ignores Range (200 to a resume): the part is started again, not appended to (%s)",
             s ? c.err.message : "ok");
  case_end(&c);
}

static void case_complete_part(unit_tally *t) {
  /* A transfer that got every byte but was stopped before the check: the server answers the resume with 416. */
  dl_case c;
  case_begin(&c, "normal");
  char *staging = staging_of(c.dir, "vitmatte-small-composition-1k");
  char *part = join(staging, "model.safetensors.part");
  char *tw = join(tiny, "model.safetensors");
  char cmd[9000];
  snprintf(cmd, sizeof cmd, "mkdir -p '%s' && cp '%s' '%s'", staging, tw, part);
  if (system(cmd) != 0) unit_check(t, 0, "could not prepare a complete part file");
  const size_t mark = log_mark();
  const vmm_status s = case_download(&c, "small");
  char *log = log_since(mark, NULL);
  unit_check(t, s == VMM_OK && model_is_tiny(c.res.path) && strstr(log, "range=bytes=") && c.res.verified_sha256,
             "a part file that is already whole: 416, checked, installed without downloading it again (%s)",
             s ? c.err.message : "ok");
  free(log), free(tw), free(part), free(staging);
  case_end(&c);
}

static void case_retry_5xx(unit_tally *t) {
  dl_case c;
  case_begin(&c, "error-once");
  const vmm_status s = case_download(&c, "small");
  unit_check(t, s == VMM_OK && model_is_tiny(c.res.path) && c.r.max_attempt == 2,
             "a 503 from the hub is tried again (%s)", s ? c.err.message : "ok");
  case_end(&c);
}

static void case_proxy(unit_tally *t) {
  dl_case c;
  case_begin(&c, "normal");
  /* A host that does not exist; only the proxy (the test server, which also serves absolute-URL requests) can
   * answer for it. */
  c.o.endpoint = "http://hub.invalid";
  setenv("http_proxy", hub_url, 1);
  const size_t mark = log_mark();
  const vmm_status s = case_download(&c, "small");
  unsetenv("http_proxy");
  char *log = log_since(mark, NULL);
  unit_check(t, s == VMM_OK && model_is_tiny(c.res.path) && strstr(log, "config.json range=- proxied=1") &&
                    strstr(log, "/lfs/") && !strstr(log, "proxied=0"),
             "http_proxy is followed: every request went through the proxy (%s)", s ? c.err.message : "ok");
  free(log);
  case_end(&c);
}

static void case_busy(unit_tally *t) {
  dl_case c;
  case_begin(&c, NULL);
  mkdir(c.dir, 0755);
  char lock[4400];
  snprintf(lock, sizeof lock, "%s/.vitmatte-small-composition-1k.lock", c.dir);
  const int fd = open(lock, O_RDWR | O_CREAT, 0644);
  /* flock locks belong to the open file: another open of the same file, as another program's, conflicts */
  const int locked = fd >= 0 && flock(fd, LOCK_EX) == 0;
  const vmm_status s = case_download(&c, "small");
  unit_check(t, locked && s == VMM_ERR_BUSY && strstr(c.err.message, "another program"),
             "a second download of the same model at the same time is refused: %s", c.err.message);
  if (fd >= 0) close(fd);
  case_end(&c);
}

int main(int argc, char **argv) {
  unit_tally t = {0, 0};
  hub_url = getenv("HUB_URL");
  hub_state = getenv("HUB_STATE");
  tiny = argc > 1 ? argv[1] : NULL;
  if (!hub_url || !hub_state || !tiny) {
    fprintf(stderr, "usage: with_hub.sh ... -- test_models_download TINY_MODEL_DIR\n");
    return 2;
  }
  if (!mkdtemp(base)) {
    perror("mkdtemp");
    return 1;
  }
  case_complete(&t);
  case_cut_once(&t);
  case_cut_always_then_resume(&t);
  case_corrupt(&t);
  case_pinned_hash(&t);
  case_not_found(&t);
  case_odd_message(&t);
  case_server_gone(&t);
  case_stall(&t);
  case_slow_cancel(&t);
  case_no_range(&t);
  case_complete_part(&t);
  case_retry_5xx(&t);
  case_proxy(&t);
  case_busy(&t);
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", base);
  return unit_finish(&t, "models download");
}
