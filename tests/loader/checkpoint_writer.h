/* checkpoint_writer.h - test support: synthetic ViTMatte checkpoints (config.json + model.safetensors) on disk.
 * Owns: the tensor set a config implies (from the spec, not from the loader), exact random values, serialisation. */
#ifndef VM_TEST_CHECKPOINT_WRITER_H
#define VM_TEST_CHECKPOINT_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CKW_MAX_LAYERS 128
#define CKW_MAX_STAGES 8

/* A ViTMatte architecture, spelled the way config.json spells it. */
typedef struct ckw_config {
  int hidden, heads, layers, patch, image_size, pretrain_image_size, window_size, num_channels;
  double mlp_ratio;
  int n_window, window_blocks[CKW_MAX_LAYERS];
  int n_residual, residual_blocks[CKW_MAX_LAYERS];
  bool qkv_bias, use_abs, use_rel;
  int out_stage; /* written as out_features ["stageN"] ("stem" for 0) */
  int n_conv, conv[CKW_MAX_STAGES], fusion[CKW_MAX_STAGES];
  double bn_eps;
} ckw_config;

/* ViTMatte-S as released (spec section 5), and a tiny model with every feature (windows, residual blocks, rel-pos,
 * abs-pos, BN with a non-default eps) that loads in milliseconds. */
ckw_config ckw_small(void);
ckw_config ckw_tiny(void);

typedef enum ckw_role { CKW_PARAM, CKW_BN_STAT, CKW_COUNTER, CKW_EXTRA } ckw_role;

typedef struct ckw_tensor {
  char name[128];
  char dtype[16];
  int ndim;
  int64_t shape[8];
  int64_t numel;
  ckw_role role;
  double *values;  /* the exact stored values (float dtypes), else NULL */
  uint8_t *bytes;  /* little-endian data as written */
  size_t nbytes;
} ckw_tensor;

typedef struct ckw_set {
  ckw_tensor *t;
  int count, cap;
  uint64_t rng;
} ckw_set;

/* Every tensor `c` implies, random values stored as `dtype` ("F32", "F16" or "BF16"; counters are I64).
 * Running variances are positive. Returns false when out of memory. */
bool ckw_build(const ckw_config *c, const char *dtype, uint64_t seed, ckw_set *set);
void ckw_free(ckw_set *set);

ckw_tensor *ckw_find(ckw_set *set, const char *name);
bool ckw_remove(ckw_set *set, const char *name);
/* Adds or replaces `name` with fresh random values of `dtype` (any safetensors dtype name; non-float ones get
 * random bytes) and the given shape. */
ckw_tensor *ckw_put(ckw_set *set, const char *name, const char *dtype, ckw_role role, int ndim,
                    const int64_t *shape);

/* Sum of the element counts of CKW_PARAM tensors: what the loader must report as num_parameters. */
int64_t ckw_num_parameters(const ckw_set *set);

/* The exact value of an IEEE half / bfloat16 bit pattern, computed arithmetically (ldexp), not by bit tricks. */
double ckw_half_value(uint16_t h);
double ckw_bfloat_value(uint16_t b);

/* config.json text for `c` with every key written out (malloc'ed). */
char *ckw_config_json(const ckw_config *c);

/* A safetensors image of `set` (8-byte length, JSON header padded to 8 bytes, data in set order). */
bool ckw_serialize(const ckw_set *set, uint8_t **bytes, size_t *size);
/* A safetensors image from a header text given verbatim and `data_size` data bytes (a counting pattern). */
bool ckw_raw_safetensors(const char *header, size_t data_size, uint8_t **bytes, size_t *size);

/* Temporary folders: mkdtemp under $TMPDIR (or /tmp); `dir` must hold 4096 bytes. */
bool ckw_make_dir(char *dir);
/* Removes the files in `dir` and the folder itself. */
void ckw_remove_dir(const char *dir);
bool ckw_write_file(const char *dir, const char *name, const void *data, size_t size);
/* config.json (the given text, or ckw_config_json(c) when NULL) and model.safetensors from `set`. */
bool ckw_write_checkpoint(const char *dir, const ckw_config *c, const char *config_text, const ckw_set *set);

#endif
