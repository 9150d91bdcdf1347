/* compare_e2e.c - compares a float TIFF alpha from the CLI with a reference alpha that transformers computed,
 * stored in a safetensors fixture. Its own small safetensors reader (json-c), independent of the engine's loader. */
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_image_files.h"

/* Returns the F32 tensor `key` of shape [height, width] from the file, or NULL with a reason printed. */
static float *read_reference(const char *path, const char *key, int *height, int *width) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    printf("cannot open %s\n", path);
    return NULL;
  }
  unsigned char length_bytes[8];
  float *values = NULL;
  char *header = NULL;
  json_object *root = NULL;
  if (fread(length_bytes, 1, 8, file) != 8) goto done;
  uint64_t header_length = 0;
  for (int i = 7; i >= 0; i--) header_length = header_length << 8 | length_bytes[i];
  if (header_length == 0 || header_length > 100u << 20) goto done;
  header = malloc(header_length + 1);
  if (!header || fread(header, 1, header_length, file) != header_length) goto done;
  header[header_length] = '\0';
  root = json_tokener_parse(header);
  json_object *entry = NULL, *dtype = NULL, *shape = NULL, *offsets = NULL;
  if (!root || !json_object_object_get_ex(root, key, &entry) || !json_object_object_get_ex(entry, "dtype", &dtype) ||
      !json_object_object_get_ex(entry, "shape", &shape) ||
      !json_object_object_get_ex(entry, "data_offsets", &offsets)) {
    printf("%s has no tensor %s\n", path, key);
    goto done;
  }
  if (strcmp(json_object_get_string(dtype), "F32") != 0 || json_object_array_length(shape) != 2) {
    printf("%s: %s is not a 2-D F32 tensor\n", path, key);
    goto done;
  }
  *height = json_object_get_int(json_object_array_get_idx(shape, 0));
  *width = json_object_get_int(json_object_array_get_idx(shape, 1));
  const int64_t begin = json_object_get_int64(json_object_array_get_idx(offsets, 0));
  const int64_t end = json_object_get_int64(json_object_array_get_idx(offsets, 1));
  if (*height <= 0 || *width <= 0 || end - begin != (int64_t)*height * *width * 4) {
    printf("%s: %s has inconsistent shape and offsets\n", path, key);
    goto done;
  }
  values = malloc((size_t)(end - begin));
  if (fseek(file, (long)(8 + header_length + (uint64_t)begin), SEEK_SET) != 0 ||
      fread(values, 1, (size_t)(end - begin), file) != (size_t)(end - begin)) {
    printf("%s: cannot read the data of %s\n", path, key);
    free(values);
    values = NULL;
  }
  /* safetensors stores little-endian; this test runs on little-endian hosts only (x86-64, arm64). */
done:
  if (root) json_object_put(root);
  free(header);
  fclose(file);
  return values;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: compare_e2e ALPHA.tif FIXTURE.safetensors KEY MAX_ABS_DIFF\n");
    return 2;
  }
  test_alpha alpha;
  if (test_read_alpha(argv[1], &alpha) != 0) return 1;
  int height = 0, width = 0;
  float *reference = read_reference(argv[2], argv[3], &height, &width);
  if (!reference) {
    test_alpha_free(&alpha);
    return 1;
  }
  int failed = 1;
  if (alpha.bits != 32 || alpha.width != width || alpha.height != height) {
    printf("the CLI alpha is %dx%d (%d bits) but %s is %dx%d\n", alpha.width, alpha.height, alpha.bits, argv[3],
           width, height);
  } else {
    const double tolerance = atof(argv[4]);
    double max_diff = 0.0, sum = 0.0;
    for (size_t i = 0; i < (size_t)width * (size_t)height; i++) {
      const double d = fabs(alpha.values[i] - (double)reference[i]);
      sum += d;
      if (!(d <= max_diff)) max_diff = isnan(d) ? INFINITY : d;
    }
    printf("CLI alpha vs transformers %s: max abs diff %.3g, mean %.3g over %dx%d (allowed %.3g)\n", argv[3],
           max_diff, sum / ((double)width * height), width, height, tolerance);
    failed = !(max_diff <= tolerance);
  }
  free(reference);
  test_alpha_free(&alpha);
  return failed;
}
