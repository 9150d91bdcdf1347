/* test_models_local.c - the model manager without a network: the table of official checkpoints, folder names,
 * the models folder from the environment, file URLs, "complete", resolving names, and listing a models folder.
 * Owns: temporary model folders built file by file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "download_info.h"
#include "unit_check.h"
#include "vitmatte_models.h"

static char base[] = "/tmp/vmm-local-XXXXXX";

static char *path_of(const char *rel) {
  static char buffers[8][8400];
  static int next = 0;
  char *p = buffers[next++ % 8];
  snprintf(p, sizeof buffers[0], "%s/%s", base, rel);
  return p;
}

static void write_file(const char *rel, const char *text) {
  FILE *f = fopen(path_of(rel), "w");
  if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
    perror(rel);
    exit(2);
  }
}

static void make_dir(const char *rel) {
  if (mkdir(path_of(rel), 0755) != 0) {
    perror(rel);
    exit(2);
  }
}

/* A model folder as a download leaves it: the two files and download.json with their sizes. */
static void make_downloaded(const char *rel, const char *repo, const char *commit) {
  char f[4300];
  make_dir(rel);
  snprintf(f, sizeof f, "%s/config.json", rel);
  write_file(f, "{\"model_type\": \"vitmatte\"}\n");
  snprintf(f, sizeof f, "%s/model.safetensors", rel);
  write_file(f, "0123456789");
  vmm_download_info info;
  memset(&info, 0, sizeof info);
  info.repo = (char *)repo;
  info.revision = "main";
  info.commit = (char *)commit;
  info.endpoint = "http://127.0.0.1:1";
  info.config.size = 27;
  info.weights.size = 10;
  strcpy(info.weights.sha256, "84d89877f0d4041efb6bf91a16f0248f2fd573e6af05c19f96bedb9f882f7882");
  info.weights.checked_by = "X-Linked-Etag";
  snprintf(f, sizeof f, "%s/download.json", rel);
  if (vmm_info_write(path_of(f), &info) != 0) {
    perror("vmm_info_write");
    exit(2);
  }
}

static void check_known(unit_tally *t) {
  unit_check(t, vmm_known_count() == 4, "four official checkpoints are known");
  const char *names[] = {"small", "base", "small-646", "base-646"};
  const char *repos[] = {"hustvl/vitmatte-small-composition-1k", "hustvl/vitmatte-base-composition-1k",
                         "hustvl/vitmatte-small-distinctions-646", "hustvl/vitmatte-base-distinctions-646"};
  for (int i = 0; i < 4; i++) {
    const vmm_known_model *m = vmm_known_at(i);
    unit_check(t,
               m && strcmp(m->name, names[i]) == 0 && strcmp(m->repo, repos[i]) == 0 && vmm_known_find(names[i]) == m &&
                   vmm_known_find(repos[i]) == m && vmm_known_find(strchr(repos[i], '/') + 1) == m && m->approx_mb > 0,
               "%s = %s, found by short name, repository and folder name", names[i], repos[i]);
  }
  const vmm_known_model *s = vmm_known_find("small");
  unit_check(t,
             s->weights_size == 103294572 && s->weights_sha256 && strlen(s->weights_sha256) == 64 && s->pinned_revision &&
                 strlen(s->pinned_revision) == 40,
             "ViTMatte-S has a pinned size, SHA-256 and commit");
  unit_check(t, vmm_known_find("tiny") == NULL && vmm_known_find(NULL) == NULL && vmm_known_at(4) == NULL,
             "unknown names are not known");
  char text[100], small[12];
  unit_check(t, strcmp(vmm_known_names(text, sizeof text, " or "), "small, base, small-646 or base-646") == 0 &&
                    strcmp(vmm_known_names(text, sizeof text, ", "), "small, base, small-646, base-646") == 0 &&
                    strcmp(vmm_known_names(small, sizeof small, ", "), "small, base") == 0,
             "the names for messages, from the table: '%s' (cut short in a small buffer: '%s')", text, small);
  vmm_download_options o;
  vmm_download_options_default(&o);
  vmm_download_result r;
  vmm_error err;
  unit_check(t, vmm_download("tiny", &o, &r, &err) == VMM_ERR_INVALID_ARGUMENT &&
                    strcmp(err.message, "'tiny' is neither a model name (small, base, small-646, base-646) nor a hub "
                                        "repository (owner/name)") == 0,
             "a download of a name that is no model fails before any request: %s", err.message);
}

static int folder_is(const char *repo, const char *expected) {
  char *f = vmm_repo_folder_name(repo);
  const int ok = expected ? f && strcmp(f, expected) == 0 : f == NULL;
  free(f);
  return ok;
}

static void check_folder_names(unit_tally *t) {
  unit_check(t, folder_is("hustvl/vitmatte-small-composition-1k", "vitmatte-small-composition-1k"),
             "hustvl/NAME lives in NAME (the folder the README always named)");
  unit_check(t, folder_is("someone/my_model.v2", "someone--my_model.v2"), "OWNER/NAME lives in OWNER--NAME");
  const char *bad[] = {"noslash", "a/b/c", "../x", "a/..", "a/.hidden", "-a/b", "a b/c", "a/b\n", "/x", "a/", ""};
  int all = 1;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) all &= folder_is(bad[i], NULL);
  unit_check(t, all, "names that are not owner/name, or could escape the models folder, are refused");
}

static int dir_is(const char *expected) {
  vmm_error err;
  char *d = vmm_models_dir(&err);
  const int ok = expected ? d && strcmp(d, expected) == 0 : d == NULL && err.status != VMM_OK;
  free(d);
  return ok;
}

static void check_models_dir(unit_tally *t) {
  setenv("VITMATTE_MODELS", "/srv/models", 1);
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  setenv("HOME", "/home/u", 1);
  unit_check(t, dir_is("/srv/models"), "$VITMATTE_MODELS first");
  setenv("VITMATTE_MODELS", "", 1);
  unit_check(t, dir_is("/xdg/vitmatte"), "an empty $VITMATTE_MODELS is unset; then $XDG_CACHE_HOME/vitmatte");
  setenv("XDG_CACHE_HOME", "relative", 1);
  unit_check(t, dir_is("/home/u/.cache/vitmatte"), "a relative $XDG_CACHE_HOME is ignored (XDG rule): ~/.cache/vitmatte");
  unsetenv("XDG_CACHE_HOME");
  unit_check(t, dir_is("/home/u/.cache/vitmatte"), "no $XDG_CACHE_HOME: ~/.cache/vitmatte");
  unsetenv("HOME");
  unit_check(t, dir_is(NULL), "no HOME and nothing else: an error, not a folder in the current directory");
  unsetenv("VITMATTE_MODELS");
}

static void check_urls(unit_tally *t) {
  char *a = vmm_file_url("https://huggingface.co", "hustvl/m", "main", "config.json");
  char *b = vmm_file_url("http://127.0.0.1:8080/", "o/n", "refs/pr/1", "model.safetensors");
  unit_check(t, a && strcmp(a, "https://huggingface.co/hustvl/m/resolve/main/config.json") == 0, "file URL: %s", a);
  unit_check(t, b && strcmp(b, "http://127.0.0.1:8080/o/n/resolve/refs%2Fpr%2F1/model.safetensors") == 0,
             "file URL with a trailing / endpoint and a revision with slashes: %s", b);
  free(a);
  free(b);
}

static void check_complete_and_resolve(unit_tally *t) {
  char models[8400];
  snprintf(models, sizeof models, "%s", path_of("models"));
  make_dir("models");
  make_downloaded("models/vitmatte-small-composition-1k", "hustvl/vitmatte-small-composition-1k",
                  "6a58ad7646403c1df626fbd746900aec7361ea1d");
  unit_check(t, vmm_folder_is_complete(path_of("models/vitmatte-small-composition-1k")),
             "a downloaded folder whose files have the recorded sizes is complete");
  make_dir("models/half");
  write_file("models/half/config.json", "{}");
  unit_check(t, !vmm_folder_is_complete(path_of("models/half")), "config.json alone is not complete");
  make_dir("models/mine");
  write_file("models/mine/config.json", "{}");
  write_file("models/mine/model.safetensors", "x");
  unit_check(t, vmm_folder_is_complete(path_of("models/mine")), "a folder copied by hand (no download.json) is complete");
  make_downloaded("models/truncated", "a/b", NULL);
  write_file("models/truncated/model.safetensors", "01234");
  unit_check(t, !vmm_folder_is_complete(path_of("models/truncated")),
             "weights shorter than download.json recorded: not complete");
  make_downloaded("models/garbled", "a/b", NULL);
  write_file("models/garbled/download.json", "{not json");
  unit_check(t, !vmm_folder_is_complete(path_of("models/garbled")), "an unreadable download.json: not complete");

  vmm_error err;
  char *p = vmm_resolve(models, "small", &err);
  unit_check(t, p && strcmp(p, path_of("models/vitmatte-small-composition-1k")) == 0, "'small' resolves to %s", p);
  free(p);
  p = vmm_resolve(models, "hustvl/vitmatte-small-composition-1k", &err);
  unit_check(t, p && strstr(p, "/models/vitmatte-small-composition-1k"), "the repository name resolves too");
  free(p);
  p = vmm_resolve(models, "base", &err);
  unit_check(t, !p && err.status == VMM_ERR_NOT_INSTALLED && strstr(err.message, "vitmatte download base"),
             "'base' not downloaded: %s", err.message);
  free(p);
  p = vmm_resolve(models, "someone/thing", &err);
  unit_check(t, !p && err.status == VMM_ERR_NOT_INSTALLED && strstr(err.message, "vitmatte download someone/thing"),
             "a repository not downloaded: %s", err.message);
  free(p);
  p = vmm_resolve(models, "mine", &err);
  unit_check(t, p && strcmp(p, path_of("models/mine")) == 0, "a folder of the models folder by its name");
  free(p);
  p = vmm_resolve(models, "half", &err);
  unit_check(t, !p && err.status == VMM_ERR_INVALID_ARGUMENT &&
                    strstr(err.message, "nor a model name (small, base, small-646 or base-646, or a folder of "),
             "an incomplete folder does not resolve: %s", err.message);
  free(p);
  p = vmm_resolve(models, path_of("models/half"), &err);
  unit_check(t, p && strcmp(p, path_of("models/half")) == 0,
             "an existing path is itself (the engine then says what is wrong with it)");
  free(p);
  setenv("HOME", base, 1);
  p = vmm_resolve(models, "~/models/mine", &err);
  unit_check(t, p && strcmp(p, path_of("models/mine")) == 0, "~/ is the home folder");
  free(p);
  unsetenv("HOME");
}

static void check_listing(unit_tally *t) {
  char models[8400];
  snprintf(models, sizeof models, "%s", path_of("models"));
  make_dir("models/.vitmatte-base-composition-1k.download");
  write_file("models/.vitmatte-base-composition-1k.download/model.safetensors.part", "0123");
  write_file("models/.vitmatte-base-composition-1k.lock", "");
  write_file("models/stray-file", "x");
  make_dir("models/empty");
  vmm_installed_list list;
  vmm_error err;
  const vmm_status s = vmm_list_installed(models, &list, &err);
  unit_check(t, s == VMM_OK && list.count == 6, "listing: %d entries (expected 6)", list.count);
  const char *order[] = {"garbled", "half", "mine", "truncated", "vitmatte-base-composition-1k",
                         "vitmatte-small-composition-1k"};
  int sorted = list.count == 6;
  for (int i = 0; sorted && i < 6; i++) sorted = strcmp(list.items[i].folder, order[i]) == 0;
  unit_check(t, sorted, "listing: sorted by folder, hidden, stray and empty entries left out");
  if (sorted) {
    const vmm_installed *b = &list.items[4], *sm = &list.items[5], *half = &list.items[1];
    unit_check(t, b->downloading && !b->complete && b->known == vmm_known_find("base"),
               "an unfinished download of ViTMatte-B shows as downloading, not complete");
    unit_check(t,
               sm->complete && !sm->downloading && sm->known == vmm_known_find("small") && sm->commit &&
                   strcmp(sm->commit, "6a58ad7646403c1df626fbd746900aec7361ea1d") == 0 && sm->weights_size == 10,
               "ViTMatte-S: complete, with the commit and size of its download.json");
    unit_check(t, !half->complete && !half->known && !half->repo, "a half copied folder: listed, not complete");
  }
  vmm_installed_list_free(&list);
  unit_check(t, vmm_list_installed(path_of("nothing-here"), &list, &err) == VMM_OK && list.count == 0,
             "a models folder that does not exist yet lists nothing, without an error");
}

int main(void) {
  unit_tally t = {0, 0};
  if (!mkdtemp(base)) {
    perror("mkdtemp");
    return 1;
  }
  check_known(&t);
  check_folder_names(&t);
  check_models_dir(&t);
  check_urls(&t);
  check_complete_and_resolve(&t);
  check_listing(&t);
  char cmd[4300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", base);
  return unit_finish(&t, "models local");
}
