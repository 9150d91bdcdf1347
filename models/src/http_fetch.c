/* http_fetch.c - one file over HTTP(S) into a .part file with libcurl, resuming what an earlier transfer left.
 * Owns: the libcurl handle of one transfer, the hub's headers (read with curl_easy_header, any request of the
 * redirect chain), the decision to append or restart when the body starts, and the wording of failures. */
#include "http_fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "ca_bundle.h"
#include "models_internal.h"

typedef struct fetch_state {
  CURL *curl;
  const vmm_fetch_request *req;
  vmm_fetch_result *res;
  FILE *out;
  int64_t offset;        /* bytes in the part file before this transfer (0 after a restart) */
  int64_t received;      /* body bytes written by this transfer */
  int body_seen;         /* the first body byte of the final response was handled */
  int discard;           /* the final response is not 200/206: its body is not the file */
  int bad_range;         /* 206 for another range than asked */
  int write_errno;       /* fwrite failed */
  int64_t space_free, space_needed; /* set when the free-space check failed */
  int cancelled;
  char errbuf[CURL_ERROR_SIZE];
} fetch_state;

/* The first value of header `name` in any response of the transfer so far (the hub puts its headers on the
 * redirect to the file's storage, which does not repeat them). */
static const char *any_header(CURL *curl, const char *name) {
  curl_off_t redirects = 0;
  if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_COUNT, &redirects) != CURLE_OK) redirects = 0;
  for (int request = 0; request <= (int)redirects; request++) {
    struct curl_header *h = NULL;
    if (curl_easy_header(curl, name, 0, CURLH_HEADER, request, &h) == CURLHE_OK && h && h->value) return h->value;
  }
  return NULL;
}

static const char *last_header(CURL *curl, const char *name) {
  struct curl_header *h = NULL;
  return curl_easy_header(curl, name, 0, CURLH_HEADER, -1, &h) == CURLHE_OK && h ? h->value : NULL;
}

static void copy_unquoted(char *dst, size_t cap, const char *src) {
  dst[0] = '\0';
  if (!src) return;
  if (strncmp(src, "W/", 2) == 0) src += 2;
  size_t n = strlen(src);
  if (n >= 2 && src[0] == '"' && src[n - 1] == '"') src++, n -= 2;
  if (n >= cap) n = cap - 1;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static int64_t parse_size(const char *s) {
  if (!s) return -1;
  char *end = NULL;
  errno = 0;
  const long long v = strtoll(s, &end, 10);
  return errno || end == s || v < 0 ? -1 : (int64_t)v;
}

/* "bytes START-END/TOTAL", or "bytes *" "/TOTAL" (416): start (or -1) and total (or -1). */
static void parse_content_range(const char *s, int64_t *start, int64_t *total) {
  *start = -1, *total = -1;
  if (!s || strncmp(s, "bytes ", 6) != 0) return;
  s += 6;
  if (*s != '*') *start = parse_size(s);
  const char *slash = strchr(s, '/');
  if (slash && slash[1] != '*') *total = parse_size(slash + 1);
}

static void read_hub_headers(fetch_state *st) {
  vmm_fetch_result *r = st->res;
  const char *commit = any_header(st->curl, "X-Repo-Commit");
  if (commit) snprintf(r->commit, sizeof r->commit, "%s", commit);
  copy_unquoted(r->linked_etag, sizeof r->linked_etag, any_header(st->curl, "X-Linked-Etag"));
  r->linked_size = parse_size(any_header(st->curl, "X-Linked-Size"));
}

static char *folder_of(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? vmm_strprintf("%.*s", (int)(slash - path + (slash == path)), path) : vmm_strdup(".");
}

/* Whether the rest of the file fits; a download that cannot finish should not first fill the disk. */
static int space_ok(fetch_state *st, int64_t needed) {
  if (needed <= 0) return 1;
  char *dir = folder_of(st->req->part_path);
  struct statvfs fs;
  const int known = dir && statvfs(dir, &fs) == 0;
  free(dir);
  if (!known) return 1; /* cannot tell: the writes will say */
  const int64_t avail = (int64_t)fs.f_bavail * (int64_t)fs.f_frsize;
  if (avail >= needed) return 1;
  st->space_free = avail;
  st->space_needed = needed;
  return 0;
}

/* The final response's body begins: decide what it is and open the part file accordingly. */
static int start_body(fetch_state *st) {
  long code = 0;
  if (curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &code) != CURLE_OK) code = 0;
  st->res->http_status = code;
  read_hub_headers(st);
  if (code != 200 && code != 206) {
    st->discard = 1; /* an error page, or the 416 answer: not the file */
    return 0;
  }
  int64_t start = 0, total = -1;
  if (code == 206) {
    parse_content_range(last_header(st->curl, "Content-Range"), &start, &total);
    if (start != st->offset) {
      st->bad_range = 1;
      return -1;
    }
  } else {
    /* 200: the server sends the whole file (it ignored the Range, or none was asked): start again. */
    st->offset = 0;
    curl_off_t length = -1;
    if (curl_easy_getinfo(st->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK && length >= 0)
      total = (int64_t)length;
  }
  st->res->total_size = total >= 0 ? total : st->res->linked_size;
  const int64_t whole = st->res->total_size >= 0 ? st->res->total_size : st->req->expected_size;
  if (whole >= 0 && !space_ok(st, whole - st->offset)) return -1;
  st->out = fopen(st->req->part_path, st->offset > 0 ? "ab" : "wb");
  if (!st->out) {
    st->write_errno = errno;
    return -1;
  }
  if (st->req->progress) st->req->progress->resumed_from = st->offset;
  return 0;
}

static size_t on_body(char *data, size_t size, size_t count, void *user) {
  fetch_state *st = user;
  const size_t n = size * count;
  if (!st->body_seen) {
    st->body_seen = 1;
    if (start_body(st) != 0) return 0; /* CURLE_WRITE_ERROR; the state says why */
  }
  if (st->discard) return n;
  if (fwrite(data, 1, n, st->out) != n) {
    st->write_errno = errno ? errno : EIO;
    return 0;
  }
  st->received += (int64_t)n;
  return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
  fetch_state *st = user;
  vmm_progress *p = st->req->progress;
  if (!p) return 0;
  if (st->body_seen && !st->discard) {
    p->phase = VMM_PHASE_DOWNLOADING;
    p->bytes_done = st->offset + st->received;
    p->bytes_total = st->res->total_size;
    curl_off_t speed = 0;
    if (curl_easy_getinfo(st->curl, CURLINFO_SPEED_DOWNLOAD_T, &speed) == CURLE_OK) p->bytes_per_second = (double)speed;
  }
  if (st->req->progress_fn && st->req->progress_fn(st->req->progress_user_data, p) != 0) {
    st->cancelled = 1;
    return 1; /* CURLE_ABORTED_BY_CALLBACK */
  }
  return 0;
}

static char *host_of(const char *url) {
  CURLU *u = curl_url();
  char *host = NULL, *copy = NULL;
  if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
    copy = vmm_strdup(host);
  curl_free(host);
  curl_url_cleanup(u);
  return copy ? copy : vmm_strdup(url);
}

static double mb(int64_t bytes) { return (double)bytes / 1e6; }

/* The message and status for an HTTP status that is not the file. */
static vmm_status http_failure(const char *url, long code, vmm_fetch_result *res, CURL *curl, vmm_error *err) {
  const char *hub_message = last_header(curl, "X-Error-Message");
  char detail[200] = "";
  if (hub_message) snprintf(detail, sizeof detail, " (\"%s\")", hub_message);
  if (code == 401 || code == 404)
    return vmm_fail(err, VMM_ERR_NOT_FOUND,
                    "%s: HTTP %ld%s: no such repository, revision or file (a private or gated repository also "
                    "answers so: set " VMM_TOKEN_ENV " to an access token)",
                    url, code, detail);
  if (code == 403)
    return vmm_fail(err, VMM_ERR_HTTP,
                    "%s: HTTP 403%s: access refused (a gated model needs its licence accepted on the hub and "
                    "an access token in " VMM_TOKEN_ENV ")",
                    url, detail);
  res->transient = code == 408 || code == 429 || code >= 500;
  if (code >= 500)
    return vmm_fail(err, VMM_ERR_HTTP, "%s: HTTP %ld%s: the server has a problem; try again later", url, code,
                    detail);
  return vmm_fail(err, VMM_ERR_HTTP, "%s: unexpected HTTP status %ld%s", url, code, detail);
}

/* The message and status for a libcurl error. */
static vmm_status curl_failure(fetch_state *st, CURLcode rc, vmm_error *err) {
  const char *url = st->req->url;
  char *host = host_of(url);
  const char *h = host ? host : url;
  const char *why = st->errbuf[0] ? st->errbuf : curl_easy_strerror(rc);
  const int64_t have = st->offset + st->received;
  vmm_status status = VMM_ERR_NETWORK;
  switch (rc) {
  case CURLE_COULDNT_RESOLVE_HOST:
    vmm_fail(err, status, "cannot reach %s: the name does not resolve (no network connection?)", h);
    break;
  case CURLE_COULDNT_RESOLVE_PROXY:
    vmm_fail(err, status, "cannot resolve the proxy (set by https_proxy, http_proxy or all_proxy): %s", why);
    break;
  case CURLE_COULDNT_CONNECT:
    vmm_fail(err, status, "cannot connect to %s (no network, a firewall, or the server is down): %s", h, why);
    break;
  case CURLE_OPERATION_TIMEDOUT:
    st->res->transient = 1;
    if (st->body_seen)
      vmm_fail(err, status, "the download from %s stalled (nothing arrived for %ld s) after %.1f MB", h,
               st->req->stall_seconds, mb(have));
    else
      vmm_fail(err, status, "%s did not answer in time: %s", h, why);
    break;
  case CURLE_PARTIAL_FILE:
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
  case CURLE_HTTP2:
  case CURLE_HTTP2_STREAM:
    st->res->transient = 1;
    vmm_fail(err, status, "the connection to %s broke after %.1f MB: %s", h, mb(have), why);
    break;
  case CURLE_PEER_FAILED_VERIFICATION:
  case CURLE_SSL_CONNECT_ERROR:
  case CURLE_SSL_CERTPROBLEM:
  case CURLE_SSL_CACERT_BADFILE:
    vmm_fail(err, status, "secure connection to %s failed: %s", h, why);
    break;
  case CURLE_TOO_MANY_REDIRECTS:
    vmm_fail(err, VMM_ERR_HTTP, "%s: too many redirects", url);
    status = VMM_ERR_HTTP;
    break;
  case CURLE_ABORTED_BY_CALLBACK:
    vmm_fail(err, VMM_ERR_CANCELLED, "cancelled after %.1f MB (run the download again to resume)", mb(have));
    status = VMM_ERR_CANCELLED;
    break;
  case CURLE_WRITE_ERROR:
    if (st->bad_range) {
      st->res->transient = 1;
      vmm_fail(err, VMM_ERR_HTTP, "%s answered with another part of the file than asked; starting again", h);
      status = VMM_ERR_HTTP;
    } else if (st->space_needed > 0) {
      vmm_fail(err, VMM_ERR_DISK_FULL, "not enough space in %s: %.1f MB more are needed, %.1f MB are free",
               st->req->part_path, mb(st->space_needed), mb(st->space_free));
      status = VMM_ERR_DISK_FULL;
    } else if (st->write_errno == ENOSPC || st->write_errno == EDQUOT || st->write_errno == EFBIG) {
      vmm_fail(err, VMM_ERR_DISK_FULL, "disk full writing %s after %.1f MB (%s); the partial file was removed",
               st->req->part_path, mb(have), strerror(st->write_errno));
      status = VMM_ERR_DISK_FULL;
    } else {
      vmm_fail(err, VMM_ERR_IO, "cannot write %s: %s", st->req->part_path, strerror(st->write_errno));
      status = VMM_ERR_IO;
    }
    break;
  default:
    vmm_fail(err, status, "downloading %s failed: %s (%s)", url, curl_easy_strerror(rc), why);
    break;
  }
  free(host);
  return status;
}

/* curl_easy_setopt for one option; remembers the first failure so every option is checked. */
#define SET(option, value)                                                                                           \
  do {                                                                                                               \
    const CURLcode set_rc_ = curl_easy_setopt(curl, option, value);                                                  \
    if (set_rc_ != CURLE_OK && setopt_failed == CURLE_OK) setopt_failed = set_rc_, setopt_name = #option;            \
  } while (0)

vmm_status vmm_fetch(const vmm_fetch_request *req, vmm_fetch_result *res, vmm_error *err) {
  memset(res, 0, sizeof *res);
  res->linked_size = -1;
  res->total_size = -1;
  fetch_state st;
  memset(&st, 0, sizeof st);
  st.req = req;
  st.res = res;
  st.offset = vmm_file_size(req->part_path);
  if (st.offset < 0) st.offset = 0;
  if (req->progress) {
    req->progress->phase = VMM_PHASE_CONNECTING;
    req->progress->bytes_done = st.offset;
    req->progress->resumed_from = st.offset;
    req->progress->bytes_per_second = 0;
  }

  CURL *curl = st.curl = curl_easy_init();
  if (!curl) return vmm_fail(err, VMM_ERR_INTERNAL, "libcurl could not make a transfer handle");
  struct curl_slist *headers = NULL;
  char *auth = req->token && *req->token ? vmm_strprintf("Authorization: Bearer %s", req->token) : NULL;
  if (auth) {
    struct curl_slist *h = curl_slist_append(NULL, auth);
    if (!h) {
      free(auth);
      curl_easy_cleanup(curl);
      return vmm_fail(err, VMM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    headers = h;
  }
  char range[40];
  snprintf(range, sizeof range, "%" PRId64 "-", st.offset);

  CURLcode setopt_failed = CURLE_OK;
  const char *setopt_name = NULL;
  SET(CURLOPT_URL, req->url);
  SET(CURLOPT_ERRORBUFFER, st.errbuf);
  SET(CURLOPT_FOLLOWLOCATION, 1L);
  SET(CURLOPT_MAXREDIRS, 10L);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_NOSIGNAL, 1L); /* called from worker threads (the plug-in) */
  SET(CURLOPT_USERAGENT, "vitmatte-models/1 libcurl");
  SET(CURLOPT_CONNECTTIMEOUT, req->connect_timeout_seconds);
  SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
  SET(CURLOPT_LOW_SPEED_TIME, req->stall_seconds);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, &st);
  SET(CURLOPT_NOPROGRESS, 0L);
  SET(CURLOPT_XFERINFOFUNCTION, on_progress);
  SET(CURLOPT_XFERINFODATA, &st);
  if (st.offset > 0) SET(CURLOPT_RANGE, range); /* not RESUME_FROM: that refuses a 200, which we take as a restart */
  if (headers) SET(CURLOPT_HTTPHEADER, headers); /* libcurl keeps an Authorization header off other hosts */
  const char *ca = vmm_ca_bundle(curl);
  if (ca) SET(CURLOPT_CAINFO, ca);
  vmm_status status = VMM_OK;
  CURLcode rc = CURLE_OK;
  if (setopt_failed != CURLE_OK) {
    status = vmm_fail(err, VMM_ERR_INTERNAL, "libcurl refused %s: %s", setopt_name, curl_easy_strerror(setopt_failed));
    goto done;
  }

  rc = curl_easy_perform(curl);
  if (st.out) {
    /* What arrived stays for a resume; flush and sync errors are write errors like any other. */
    if (fflush(st.out) != 0 || fsync(fileno(st.out)) != 0) {
      if (rc == CURLE_OK) rc = CURLE_WRITE_ERROR;
      if (!st.write_errno) st.write_errno = errno;
    }
    if (fclose(st.out) != 0 && !st.write_errno) {
      st.write_errno = errno;
      if (rc == CURLE_OK) rc = CURLE_WRITE_ERROR;
    }
    st.out = NULL;
  }
  if (!st.body_seen) { /* a response without a body (416, redirects only, an empty file) */
    long code = 0;
    if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK) res->http_status = code;
    read_hub_headers(&st);
  }
  if (rc != CURLE_OK) {
    status = curl_failure(&st, rc, err);
    /* Not kept: a partial file that filled the disk, and one the server would not continue. */
    if ((status == VMM_ERR_DISK_FULL && st.space_needed == 0) || st.bad_range) unlink(req->part_path);
  } else if (res->http_status == 416) {
    int64_t start = -1, total = -1;
    parse_content_range(last_header(curl, "Content-Range"), &start, &total);
    res->total_size = total;
    /* total == st.offset: an earlier transfer got it all and stopped before checking it (VMM_OK) */
    if (total < 0 || total != st.offset) {
      res->transient = 1;
      status = vmm_fail(err, VMM_ERR_HTTP, "%s: the partial file (%.1f MB) does not fit the file on the server",
                        req->url, mb(st.offset));
      unlink(req->part_path);
    }
  } else if (res->http_status == 200 || res->http_status == 206) {
    if (!st.body_seen) { /* an empty file: nothing was written, so make it exist */
      FILE *f = fopen(req->part_path, "wb");
      if (!f || fclose(f) != 0) status = vmm_fail(err, VMM_ERR_IO, "cannot write %s: %s", req->part_path, strerror(errno));
      if (res->total_size < 0) res->total_size = 0;
    }
  } else {
    status = http_failure(req->url, res->http_status, res, curl, err);
  }
  if (req->progress && status == VMM_OK) {
    req->progress->bytes_done = st.offset + st.received;
    req->progress->bytes_total = res->total_size;
  }

done:
  curl_slist_free_all(headers);
  free(auth);
  curl_easy_cleanup(curl);
  return status;
}
