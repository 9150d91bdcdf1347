#include "safetensors.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "error.h"

/* A real header is a few tens of kB; the reference implementation caps it at 100 MB too. */
#define MAX_HEADER_BYTES (100u * 1000u * 1000u)

#define PICKLE_MESSAGE                                                                                             \
  "this is a PyTorch pickle checkpoint (pytorch_model.bin); ViTMatte needs model.safetensors: download "          \
  "model.safetensors from the hub repository (e.g. hustvl/vitmatte-small-composition-1k) or convert with `python " \
  "-c \"from transformers import VitMatteForImageMatting as M; M.from_pretrained('DIR').save_pretrained('OUT')\"`"

typedef struct dtype_info {
  const char *name;
  vm_dtype dtype;
  int size; /* bytes per element; 0: sub-byte packed types this engine cannot size */
} dtype_info;

static const dtype_info DTYPES[] = {
    {"F32", VM_DTYPE_F32, 4},      {"F16", VM_DTYPE_F16, 2},        {"BF16", VM_DTYPE_BF16, 2},
    {"I64", VM_DTYPE_I64, 8},      {"F64", VM_DTYPE_OTHER, 8},      {"I32", VM_DTYPE_OTHER, 4},
    {"I16", VM_DTYPE_OTHER, 2},    {"I8", VM_DTYPE_OTHER, 1},       {"U64", VM_DTYPE_OTHER, 8},
    {"U32", VM_DTYPE_OTHER, 4},    {"U16", VM_DTYPE_OTHER, 2},      {"U8", VM_DTYPE_OTHER, 1},
    {"BOOL", VM_DTYPE_OTHER, 1},   {"F8_E4M3", VM_DTYPE_OTHER, 1},  {"F8_E5M2", VM_DTYPE_OTHER, 1},
    {"F8_E8M0", VM_DTYPE_OTHER, 1}, {"C64", VM_DTYPE_OTHER, 8},     {"F4", VM_DTYPE_OTHER, 0},
    {"F6_E2M3", VM_DTYPE_OTHER, 0}, {"F6_E3M2", VM_DTYPE_OTHER, 0},
};

static const dtype_info *find_dtype(const char *name) {
  for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
    if (strcmp(DTYPES[i].name, name) == 0) return &DTYPES[i];
  return NULL;
}

static uint64_t read_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}

/* Files that are not safetensors but are what users most often have instead. */
static vm_status refuse_known_impostors(const uint8_t *b, size_t n, vm_error *err) {
  if (n >= 2 && b[0] == 0x80 && b[1] >= 2 && b[1] <= 5) return vm_fail(err, VM_ERR_FORMAT, "%s", PICKLE_MESSAGE);
  if (n >= 4 && b[0] == 'P' && b[1] == 'K' && ((b[2] == 3 && b[3] == 4) || (b[2] == 5 && b[3] == 6)))
    return vm_fail(err, VM_ERR_FORMAT, "%s", PICKLE_MESSAGE);
  static const char lfs[] = "version https://git-lfs";
  if (n >= sizeof lfs - 1 && memcmp(b, lfs, sizeof lfs - 1) == 0)
    return vm_fail(err, VM_ERR_FORMAT,
                   "this is a Git LFS pointer, not the weights: fetch the real file (git lfs pull, or download "
                   "model.safetensors from the hub)");
  return VM_OK;
}

/* json-c keeps only the last of two equal keys, so a duplicated tensor name would vanish silently. The header has
 * already passed json-c's parser when this runs; here we only walk its top level to collect the raw key texts (each
 * decoded by json-c again) and look for repeats. Single-quoted strings, which json-c tolerates, are refused. */
typedef struct key_text {
  char *text;
  size_t len;
} key_text;

static int compare_key_text(const void *a, const void *b) {
  const key_text *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->text, y->text, n);
  if (c) return c;
  return (x->len > y->len) - (x->len < y->len);
}

static vm_status decode_key(const char *quoted, size_t len, key_text *out, vm_error *err) {
  struct json_tokener *tok = json_tokener_new();
  if (!tok) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory reading the safetensors header");
  json_object *s = json_tokener_parse_ex(tok, quoted, (int)len);
  json_tokener_free(tok);
  if (!s || json_object_get_type(s) != json_type_string) {
    json_object_put(s);
    return vm_fail(err, VM_ERR_FORMAT, "safetensors header: cannot decode a key");
  }
  out->len = (size_t)json_object_get_string_len(s);
  out->text = malloc(out->len + 1);
  if (out->text) memcpy(out->text, json_object_get_string(s), out->len + 1);
  json_object_put(s);
  return out->text ? VM_OK : vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory reading the safetensors header");
}

static vm_status check_unique_keys(const char *h, size_t len, size_t expected_keys, vm_error *err) {
  size_t cap = expected_keys + 1, nkeys = 0;
  key_text *keys = malloc(cap * sizeof *keys);
  if (!keys) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory reading the safetensors header");
  int depth = 0;
  bool want_key = false;
  vm_status st = VM_OK;
  for (size_t i = 0; i < len && st == VM_OK; i++) {
    char c = h[i];
    if (c == '\'') {
      st = vm_fail(err, VM_ERR_FORMAT, "safetensors header: single-quoted string at byte %zu is not JSON", i);
    } else if (c == '"') {
      size_t start = i++;
      while (i < len && h[i] != '"') {
        if ((unsigned char)h[i] < 0x20) break;
        i += h[i] == '\\' ? 2 : 1;
      }
      if (i >= len || h[i] != '"') {
        st = vm_fail(err, VM_ERR_FORMAT, "safetensors header: control character or unterminated string at byte %zu",
                     i < len ? i : len);
      } else if (depth == 1 && want_key) {
        want_key = false;
        if (nkeys == cap) {
          key_text *grown = realloc(keys, 2 * cap * sizeof *keys);
          if (!grown) {
            st = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory reading the safetensors header");
            break;
          }
          keys = grown;
          cap *= 2;
        }
        st = decode_key(h + start, i + 1 - start, &keys[nkeys], err);
        if (st == VM_OK) nkeys++;
      }
    } else if (c == '{' || c == '[') {
      depth++;
      if (depth == 1) want_key = true;
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == ',' && depth == 1) {
      want_key = true;
    }
  }
  if (st == VM_OK) {
    qsort(keys, nkeys, sizeof *keys, compare_key_text);
    for (size_t i = 0; i < nkeys && st == VM_OK; i++) {
      if (strlen(keys[i].text) != keys[i].len)
        st = vm_fail(err, VM_ERR_FORMAT, "safetensors header: tensor name \"%.80s...\" contains a NUL character",
                     keys[i].text);
      else if (i > 0 && compare_key_text(&keys[i - 1], &keys[i]) == 0)
        st = vm_fail(err, VM_ERR_FORMAT, "safetensors header: duplicate tensor name \"%.200s\"", keys[i].text);
    }
    if (st == VM_OK && nkeys != expected_keys)
      st = vm_fail(err, VM_ERR_FORMAT, "safetensors header: %zu keys found but the JSON parser kept %zu", nkeys,
                   expected_keys);
  }
  for (size_t i = 0; i < nkeys; i++) free(keys[i].text);
  free(keys);
  return st;
}

static vm_status check_metadata(json_object *meta, vm_error *err) {
  if (json_object_get_type(meta) != json_type_object)
    return vm_fail(err, VM_ERR_FORMAT, "safetensors header: __metadata__ must be an object of strings");
  struct json_object_iterator it = json_object_iter_begin(meta), end = json_object_iter_end(meta);
  for (; !json_object_iter_equal(&it, &end); json_object_iter_next(&it))
    if (json_object_get_type(json_object_iter_peek_value(&it)) != json_type_string)
      return vm_fail(err, VM_ERR_FORMAT, "safetensors header: __metadata__ value \"%.100s\" is not a string",
                     json_object_iter_peek_name(&it));
  return VM_OK;
}

static bool read_u64_value(json_object *v, uint64_t *out) {
  if (json_object_get_type(v) != json_type_int) return false;
  int64_t s = json_object_get_int64(v);
  if (s < 0) return false;
  /* json-c saturates at INT64_MAX; any such value is rejected later as beyond the data section. */
  *out = (uint64_t)s;
  return true;
}

/* One header entry: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, checked against the data
 * section of `data_size` bytes. */
static vm_status parse_entry(const char *name, json_object *e, size_t data_size, vm_st_tensor *t, vm_error *err) {
  if (json_object_get_type(e) != json_type_object)
    return vm_fail(err, VM_ERR_FORMAT, "safetensors header: entry \"%.200s\" is not an object", name);
  json_object *dtype, *shape, *offsets;
  if (!json_object_object_get_ex(e, "dtype", &dtype) || json_object_get_type(dtype) != json_type_string)
    return vm_fail(err, VM_ERR_FORMAT, "safetensors header: tensor \"%.200s\" has no \"dtype\" string", name);
  if (!json_object_object_get_ex(e, "shape", &shape) || json_object_get_type(shape) != json_type_array)
    return vm_fail(err, VM_ERR_FORMAT, "safetensors header: tensor \"%.200s\" has no \"shape\" list", name);
  if (!json_object_object_get_ex(e, "data_offsets", &offsets) || json_object_get_type(offsets) != json_type_array)
    return vm_fail(err, VM_ERR_FORMAT, "safetensors header: tensor \"%.200s\" has no \"data_offsets\" list", name);

  const char *dname = json_object_get_string(dtype);
  const dtype_info *info = find_dtype(dname);
  if (!info)
    return vm_fail(err, VM_ERR_FORMAT, "safetensors header: tensor \"%.200s\" has unknown dtype \"%.15s\"", name,
                   dname);
  if (info->size == 0)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "safetensors header: tensor \"%.200s\" has dtype %s, which this engine "
                   "cannot read", name, info->name);
  t->dtype = info->dtype;
  snprintf(t->dtype_name, sizeof t->dtype_name, "%s", info->name);

  size_t ndim = json_object_array_length(shape);
  if (ndim > VM_ST_MAX_DIMS)
    return vm_fail(err, VM_ERR_UNSUPPORTED, "safetensors header: tensor \"%.200s\" has %zu dimensions (at most %d)",
                   name, ndim, VM_ST_MAX_DIMS);
  t->ndim = (int)ndim;
  bool empty = false;
  for (size_t i = 0; i < ndim; i++) {
    uint64_t v;
    if (!read_u64_value(json_object_array_get_idx(shape, i), &v))
      return vm_fail(err, VM_ERR_FORMAT,
                     "safetensors header: tensor \"%.200s\" shape[%zu] is not a non-negative integer", name, i);
    t->shape[i] = (int64_t)v;
    empty |= v == 0;
  }
  /* numel * 8 must fit in int64 so byte sizes never overflow; a zero dimension makes any shape empty. */
  int64_t numel = empty ? 0 : 1;
  for (size_t i = 0; i < ndim && !empty; i++) {
    if ((uint64_t)t->shape[i] > (uint64_t)(INT64_MAX / 8 / numel))
      return vm_fail(err, VM_ERR_FORMAT, "safetensors header: tensor \"%.200s\" has an impossibly large shape",
                     name);
    numel *= t->shape[i];
  }
  t->numel = numel;

  if (json_object_array_length(offsets) != 2)
    return vm_fail(err, VM_ERR_FORMAT, "safetensors header: tensor \"%.200s\" data_offsets must be [begin, end]",
                   name);
  if (!read_u64_value(json_object_array_get_idx(offsets, 0), &t->begin) ||
      !read_u64_value(json_object_array_get_idx(offsets, 1), &t->end))
    return vm_fail(err, VM_ERR_FORMAT,
                   "safetensors header: tensor \"%.200s\" data_offsets must be non-negative integers", name);
  if (t->end < t->begin)
    return vm_fail(err, VM_ERR_FORMAT, "safetensors header: tensor \"%.200s\" ends (byte %llu) before it begins "
                   "(byte %llu)", name, (unsigned long long)t->end, (unsigned long long)t->begin);
  if (t->end > data_size)
    return vm_fail(err, VM_ERR_FORMAT,
                   "safetensors header: tensor \"%.200s\" data_offsets [%llu, %llu] go past the end of the data "
                   "section (%zu bytes): the file is truncated or corrupt",
                   name, (unsigned long long)t->begin, (unsigned long long)t->end, data_size);
  uint64_t want = (uint64_t)numel * (uint64_t)info->size;
  if (t->end - t->begin != want)
    return vm_fail(err, VM_ERR_FORMAT,
                   "safetensors header: tensor \"%.200s\" has %llu bytes at [%llu, %llu], but %lld elements of %s "
                   "need %llu",
                   name, (unsigned long long)(t->end - t->begin), (unsigned long long)t->begin,
                   (unsigned long long)t->end, (long long)numel, info->name, (unsigned long long)want);
  return VM_OK;
}

static int compare_by_name(const void *a, const void *b) {
  return strcmp(((const vm_st_tensor *)a)->name, ((const vm_st_tensor *)b)->name);
}

static int compare_by_offset(const void *a, const void *b) {
  const vm_st_tensor *x = *(const vm_st_tensor *const *)a, *y = *(const vm_st_tensor *const *)b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end) return x->end < y->end ? -1 : 1;
  return 0;
}

static vm_status check_no_overlap(const vm_safetensors *st, vm_error *err) {
  const vm_st_tensor **order = malloc(sizeof *order * ((size_t)st->count + 1));
  if (!order) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory checking the safetensors header");
  int n = 0;
  for (int i = 0; i < st->count; i++)
    if (st->tensors[i].end > st->tensors[i].begin) order[n++] = &st->tensors[i];
  qsort(order, (size_t)n, sizeof *order, compare_by_offset);
  vm_status s = VM_OK;
  for (int i = 1; i < n && s == VM_OK; i++)
    if (order[i]->begin < order[i - 1]->end)
      s = vm_fail(err, VM_ERR_FORMAT,
                  "safetensors header: tensors \"%.150s\" [%llu, %llu] and \"%.150s\" [%llu, %llu] overlap",
                  order[i - 1]->name, (unsigned long long)order[i - 1]->begin,
                  (unsigned long long)order[i - 1]->end, order[i]->name, (unsigned long long)order[i]->begin,
                  (unsigned long long)order[i]->end);
  free(order);
  return s;
}

static vm_status parse_header(vm_safetensors *st, const char *h, size_t hlen, vm_error *err) {
  struct json_tokener *tok = json_tokener_new();
  if (!tok) return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory reading the safetensors header");
  json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS);
  json_object *root = json_tokener_parse_ex(tok, h, (int)hlen);
  enum json_tokener_error jerr = json_tokener_get_error(tok);
  size_t end = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);

  vm_status s = VM_OK;
  if (!root || jerr != json_tokener_success) {
    s = vm_fail(err, VM_ERR_FORMAT, "safetensors header (%zu bytes) is not valid JSON: %s at byte %zu", hlen,
                jerr == json_tokener_continue ? "unexpected end" : json_tokener_error_desc(jerr), 8 + end);
  } else if (json_object_get_type(root) != json_type_object) {
    s = vm_fail(err, VM_ERR_FORMAT, "safetensors header is not a JSON object");
  } else {
    for (size_t i = end; i < hlen && s == VM_OK; i++)
      if (h[i] != ' ' && h[i] != '\t' && h[i] != '\n' && h[i] != '\r')
        s = vm_fail(err, VM_ERR_FORMAT, "safetensors header: extra bytes after the JSON at byte %zu", 8 + i);
  }
  if (s == VM_OK) s = check_unique_keys(h, end, (size_t)json_object_object_length(root), err);

  json_object *meta = NULL;
  if (s == VM_OK && json_object_object_get_ex(root, "__metadata__", &meta)) s = check_metadata(meta, err);
  if (s == VM_OK) {
    size_t count = (size_t)json_object_object_length(root) - (meta ? 1 : 0);
    st->tensors = calloc(count + 1, sizeof *st->tensors);
    if (!st->tensors) s = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory reading the safetensors header");
  }
  if (s == VM_OK) {
    struct json_object_iterator it = json_object_iter_begin(root), stop = json_object_iter_end(root);
    for (; s == VM_OK && !json_object_iter_equal(&it, &stop); json_object_iter_next(&it)) {
      const char *name = json_object_iter_peek_name(&it);
      if (strcmp(name, "__metadata__") == 0) continue;
      vm_st_tensor *t = &st->tensors[st->count];
      t->name = strdup(name);
      if (!t->name) {
        s = vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory reading the safetensors header");
        break;
      }
      st->count++;
      s = parse_entry(name, json_object_iter_peek_value(&it), st->data_size, t, err);
    }
  }
  json_object_put(root);
  if (s == VM_OK) {
    qsort(st->tensors, (size_t)st->count, sizeof *st->tensors, compare_by_name);
    s = check_no_overlap(st, err);
  }
  return s;
}

/* Parses `bytes`, which st then owns: freed, or unmapped when `mapped`, by vm_safetensors_close. */
static vm_status parse_owned(uint8_t *bytes, size_t size, bool mapped, vm_safetensors *st, vm_error *err) {
  memset(st, 0, sizeof *st);
  if (!bytes && size) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_safetensors_parse: NULL bytes");
  st->file = bytes;
  st->file_size = size;
  st->mapped = mapped;

  vm_status s = refuse_known_impostors(bytes, size, err);
  if (s == VM_OK && size < 8)
    s = vm_fail(err, VM_ERR_FORMAT,
                "the file is %zu bytes long: too short for a safetensors file (it starts with an 8-byte header length)",
                size);
  uint64_t hlen = s == VM_OK ? read_le64(bytes) : 0;
  if (s == VM_OK && hlen > MAX_HEADER_BYTES)
    s = vm_fail(err, VM_ERR_FORMAT,
                "the safetensors header length is %llu bytes (limit %u): this is not a safetensors file, or it is "
                "corrupt",
                (unsigned long long)hlen, MAX_HEADER_BYTES);
  if (s == VM_OK && hlen > size - 8)
    s = vm_fail(err, VM_ERR_FORMAT,
                "the safetensors header length (%llu bytes) goes past the end of the file (%zu bytes, so at most "
                "%zu): the file is truncated",
                (unsigned long long)hlen, size, size - 8);
  if (s == VM_OK && hlen < 2)
    s = vm_fail(err, VM_ERR_FORMAT, "the safetensors header length is %llu bytes: too short for a JSON object",
                (unsigned long long)hlen);
  if (s == VM_OK) {
    st->data = bytes + 8 + hlen;
    st->data_size = size - 8 - (size_t)hlen;
    s = parse_header(st, (const char *)bytes + 8, (size_t)hlen, err);
  }
  if (s != VM_OK) vm_safetensors_close(st);
  return s;
}

vm_status vm_safetensors_parse(uint8_t *bytes, size_t size, vm_safetensors *st, vm_error *err) {
  if (!st) {
    free(bytes);
    return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_safetensors_parse: NULL argument");
  }
  return parse_owned(bytes, size, false, st, err);
}

vm_status vm_safetensors_open(const char *path, vm_safetensors *st, vm_error *err) {
  if (!path || !st) return vm_fail(err, VM_ERR_INVALID_ARGUMENT, "vm_safetensors_open: NULL argument");
  memset(st, 0, sizeof *st);
  FILE *f = fopen(path, "rb");
  if (!f) return vm_fail(err, VM_ERR_IO, "cannot open the weights %s: %s", path, strerror(errno));
  struct stat info;
  if (fstat(fileno(f), &info) != 0) {
    int e = errno;
    fclose(f);
    return vm_fail(err, VM_ERR_IO, "cannot read the weights %s: %s", path, strerror(e));
  }
  if (!S_ISREG(info.st_mode)) {
    fclose(f);
    return vm_fail(err, VM_ERR_IO, "cannot read the weights %s: %s", path,
                   S_ISDIR(info.st_mode) ? "it is a directory" : "it is not a regular file");
  }
  if ((uint64_t)info.st_size >= (uint64_t)SIZE_MAX / 2) {
    fclose(f);
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "the weights %s are too large for this machine", path);
  }
  size_t size = (size_t)info.st_size;
  /* Mapped rather than read: the file's pages stay reclaimable page cache instead of a second copy of the weights
   * in anonymous memory next to their f32 conversion (the mapping lives only while the model loads). */
  if (size > 0) {
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fileno(f), 0);
    if (map != MAP_FAILED) {
      fclose(f);
      (void)madvise(map, size, MADV_SEQUENTIAL);
      vm_error inner;
      vm_status s = parse_owned(map, size, true, st, &inner);
      if (s != VM_OK) vm_fail(err, s, "%s: %s", path, inner.message);
      return s;
    }
  }
  uint8_t *bytes = malloc(size + 1);
  if (!bytes) {
    fclose(f);
    return vm_fail(err, VM_ERR_OUT_OF_MEMORY, "out of memory reading %s (%zu bytes)", path, size);
  }
  size_t got = fread(bytes, 1, size, f);
  int e = errno;
  bool failed = ferror(f) != 0;
  fclose(f);
  if (failed || got != size) {
    free(bytes);
    return vm_fail(err, VM_ERR_IO, "cannot read the weights %s: %s", path,
                   failed ? strerror(e) : "the file shrank while it was read");
  }
  vm_error inner;
  vm_status s = vm_safetensors_parse(bytes, size, st, &inner);
  if (s != VM_OK) vm_fail(err, s, "%s: %s", path, inner.message);
  return s;
}

void vm_safetensors_close(vm_safetensors *st) {
  if (!st) return;
  for (int i = 0; i < st->count; i++) free(st->tensors[i].name);
  free(st->tensors);
  if (st->mapped)
    munmap(st->file, st->file_size);
  else
    free(st->file);
  memset(st, 0, sizeof *st);
}

const vm_st_tensor *vm_safetensors_find(const vm_safetensors *st, const char *name) {
  vm_st_tensor key = {.name = (char *)name};
  if (!st || !name || st->count == 0) return NULL;
  return bsearch(&key, st->tensors, (size_t)st->count, sizeof *st->tensors, compare_by_name);
}

void vm_safetensors_to_f32(const vm_safetensors *st, const vm_st_tensor *t, float *dst) {
  const uint8_t *p = st->data + t->begin;
  const int64_t n = t->numel;
  switch (t->dtype) {
  case VM_DTYPE_F32:
    for (int64_t i = 0; i < n; i++, p += 4) {
      uint32_t bits = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
      memcpy(&dst[i], &bits, sizeof bits);
    }
    break;
  case VM_DTYPE_F16:
    for (int64_t i = 0; i < n; i++, p += 2) dst[i] = vm_half_to_float((uint16_t)(p[0] | p[1] << 8));
    break;
  case VM_DTYPE_BF16:
    for (int64_t i = 0; i < n; i++, p += 2) dst[i] = vm_bf16_to_float((uint16_t)(p[0] | p[1] << 8));
    break;
  default:
    /* Not a float tensor: callers check dtypes first; zeros keep a mistake visible but harmless. */
    memset(dst, 0, sizeof *dst * (size_t)n);
    break;
  }
}
