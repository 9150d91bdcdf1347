/* known_models.c - the official ViTMatte checkpoints on the Hugging Face hub, by short name.
 * Owns: the table (repository, size, pinned hash) and looking a model up by name, repository or folder name.
 *
 * Where the pins come from (the hub itself is not reachable from the development machines): for ViTMatte-S /
 * Composition-1k, model.safetensors at commit 6a58ad76... is 103,294,572 bytes with SHA-256 bda9289d...; four
 * public projects that download it pin the same values (a provenance note giving size, hash and commit, two
 * installer scripts and a ComfyUI node, found with code search). For the other three only the commit each of
 * those projects pins is known (their installers fetch pytorch_model.bin for ViTMatte-B), so no size or hash is
 * pinned: downloads of them are checked against the hub's X-Linked-Etag alone. approx_mb is parameters x 4 bytes
 * (ViTMatte-S 26 M, ViTMatte-B 97 M, float32). */
#include <stdio.h>
#include <string.h>

#include "models_internal.h"

static const vmm_known_model known_models[] = {
    {"small", "hustvl/vitmatte-small-composition-1k", "ViTMatte-S, trained on Composition-1k", 103294572, 103,
     "bda9289db1bb6762d978b42d1c62ae3f34daf7497171a347a1d09657efd788cb", "6a58ad7646403c1df626fbd746900aec7361ea1d"},
    {"base", "hustvl/vitmatte-base-composition-1k", "ViTMatte-B, trained on Composition-1k", 0, 388, NULL,
     "bf486d01a7d9e3dbcc8400f7942835caf0eaf76e"},
    {"small-646", "hustvl/vitmatte-small-distinctions-646", "ViTMatte-S, trained on Distinctions-646", 0, 103, NULL,
     "6a0e75d7214b01f4d1163ede0f15b23afbbd480b"},
    {"base-646", "hustvl/vitmatte-base-distinctions-646", "ViTMatte-B, trained on Distinctions-646", 0, 388, NULL,
     "b58373f8dbbfbeb58157456e2e4949f9f872aa18"},
};

enum { KNOWN_COUNT = (int)(sizeof known_models / sizeof known_models[0]) };

int vmm_known_count(void) { return KNOWN_COUNT; }

const vmm_known_model *vmm_known_at(int index) {
  return index >= 0 && index < KNOWN_COUNT ? &known_models[index] : NULL;
}

char *vmm_known_names(char *out, size_t size, const char *last) {
  if (size == 0) return out;
  out[0] = '\0';
  size_t used = 0;
  for (int i = 0; i < KNOWN_COUNT && used < size; i++) {
    const char *joiner = i == 0 ? "" : i == KNOWN_COUNT - 1 ? last : ", ";
    const int n = snprintf(out + used, size - used, "%s%s", joiner, known_models[i].name);
    if (n < 0) break;
    used += (size_t)n;
  }
  return out;
}

const vmm_known_model *vmm_known_find(const char *name) {
  if (!name) return NULL;
  for (int i = 0; i < KNOWN_COUNT; i++) {
    const vmm_known_model *m = &known_models[i];
    const char *folder = strchr(m->repo, '/') + 1;
    if (strcmp(name, m->name) == 0 || strcmp(name, m->repo) == 0 || strcmp(name, folder) == 0) return m;
  }
  return NULL;
}

/* The hub's own rule for repository names, more or less: letters, digits, '-', '_', '.'; no "..", and not starting
 * with '.' or '-' (so a folder name made of it can be neither hidden nor an option). */
static int valid_part(const char *s, size_t n) {
  if (n == 0 || n > 96 || s[0] == '.' || s[0] == '-') return 0;
  for (size_t i = 0; i < n; i++) {
    const char c = s[i];
    const int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                   c == '_' || c == '.';
    if (!ok || (c == '.' && i + 1 < n && s[i + 1] == '.')) return 0;
  }
  return 1;
}

char *vmm_repo_folder_name(const char *repo) {
  if (!repo) return NULL;
  const char *slash = strchr(repo, '/');
  if (!slash || strchr(slash + 1, '/') || !valid_part(repo, (size_t)(slash - repo)) ||
      !valid_part(slash + 1, strlen(slash + 1)))
    return NULL;
  if (strncmp(repo, "hustvl/", 7) == 0) return vmm_strdup(slash + 1);
  return vmm_strprintf("%.*s--%s", (int)(slash - repo), repo, slash + 1);
}
