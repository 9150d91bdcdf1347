/* make_random_checkpoint.c - a small ViTMatte checkpoint with seeded random weights, for the GIMP integration tests
 * when the project's fixture model (data/tiny) is absent. Owns: a tiny config.json and the matching
 * model.safetensors (the Hugging Face key names and shapes of spec section 4, scaled down). Never committed: the
 * tests write it into their scratch folder. The integration tests compare GIMP's alpha with the CLI's alpha for
 * the same checkpoint, so any valid weights serve; these keep activations in a sensible range. */
#include <json-c/json.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { HIDDEN = 64, HEADS = 2, LAYERS = 2, MLP = 128, PATCH = 16, WINDOW = 14, IMAGE = 512, PRETRAIN = 224 };
static const int convstream[3] = {16, 24, 32};
static const int fusion[4] = {48, 32, 24, 8};

typedef struct tensor {
  char name[128];
  int rank;
  int64_t shape[4];
  int is_int64; /* num_batches_tracked */
  float *data;
  size_t numel;
} tensor;

typedef struct writer {
  tensor *t;
  int count, cap;
  uint64_t rng;
} writer;

static double uniform(writer *w) { /* splitmix64 -> [-1, 1) */
  uint64_t z = (w->rng += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return (double)(z >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* kind: 'w' weight scaled by 1/sqrt(fan_in), 'b' small bias, 'g' gain around 1, 'v' variance around 1, 'e' small
 * embedding, 'i' int64 counter */
static void add(writer *w, const char *name, char kind, int rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  if (w->count == w->cap) {
    w->cap = w->cap ? 2 * w->cap : 64;
    w->t = realloc(w->t, (size_t)w->cap * sizeof *w->t);
  }
  tensor *t = &w->t[w->count++];
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", name);
  t->rank = rank;
  int64_t dims[4] = {d0, d1, d2, d3};
  t->numel = 1;
  for (int i = 0; i < rank; i++)
    t->shape[i] = dims[i], t->numel *= (size_t)dims[i];
  t->is_int64 = kind == 'i';
  if (t->is_int64)
    return;
  t->data = malloc(t->numel * sizeof *t->data);
  double fan_in = 1;
  for (int i = 1; i < rank; i++)
    fan_in *= (double)dims[i];
  for (size_t i = 0; i < t->numel; i++) {
    double u = uniform(w);
    double v = kind == 'w' ? u * sqrt(3.0 / fan_in) : kind == 'b' ? 0.05 * u : kind == 'g' ? 1.0 + 0.1 * u
             : kind == 'v' ? 1.0 + 0.3 * fabs(u) : 0.1 * u;
    t->data[i] = (float)v;
  }
}

#define N(...) (snprintf(name, sizeof name, __VA_ARGS__), name)

static void add_batch_norm(writer *w, const char *prefix, int c) {
  char name[128];
  add(w, N("%s.weight", prefix), 'g', 1, c, 0, 0, 0);
  add(w, N("%s.bias", prefix), 'b', 1, c, 0, 0, 0);
  add(w, N("%s.running_mean", prefix), 'b', 1, c, 0, 0, 0);
  add(w, N("%s.running_var", prefix), 'v', 1, c, 0, 0, 0);
  add(w, N("%s.num_batches_tracked", prefix), 'i', 0, 0, 0, 0, 0);
}

static void build(writer *w) {
  char name[128], p[64];
  const int C = HIDDEN, hd = HIDDEN / HEADS, grid = PRETRAIN / PATCH;
  add(w, "backbone.embeddings.position_embeddings", 'e', 3, 1, grid * grid + 1, C, 0);
  add(w, "backbone.embeddings.projection.weight", 'w', 4, C, 4, PATCH, PATCH);
  add(w, "backbone.embeddings.projection.bias", 'b', 1, C, 0, 0, 0);
  for (int l = 0; l < LAYERS; l++) {
    const int windowed = l == 0, residual = l == 1;
    const int rel = windowed ? 2 * WINDOW - 1 : 2 * (IMAGE / PATCH) - 1;
    snprintf(p, sizeof p, "backbone.encoder.layer.%d", l);
    add(w, N("%s.norm1.weight", p), 'g', 1, C, 0, 0, 0);
    add(w, N("%s.norm1.bias", p), 'b', 1, C, 0, 0, 0);
    add(w, N("%s.attention.rel_pos_h", p), 'e', 2, rel, hd, 0, 0);
    add(w, N("%s.attention.rel_pos_w", p), 'e', 2, rel, hd, 0, 0);
    add(w, N("%s.attention.qkv.weight", p), 'w', 2, 3 * C, C, 0, 0);
    add(w, N("%s.attention.qkv.bias", p), 'b', 1, 3 * C, 0, 0, 0);
    add(w, N("%s.attention.proj.weight", p), 'w', 2, C, C, 0, 0);
    add(w, N("%s.attention.proj.bias", p), 'b', 1, C, 0, 0, 0);
    add(w, N("%s.norm2.weight", p), 'g', 1, C, 0, 0, 0);
    add(w, N("%s.norm2.bias", p), 'b', 1, C, 0, 0, 0);
    add(w, N("%s.mlp.fc1.weight", p), 'w', 2, MLP, C, 0, 0);
    add(w, N("%s.mlp.fc1.bias", p), 'b', 1, MLP, 0, 0, 0);
    add(w, N("%s.mlp.fc2.weight", p), 'w', 2, C, MLP, 0, 0);
    add(w, N("%s.mlp.fc2.bias", p), 'b', 1, C, 0, 0, 0);
    if (residual) {
      add(w, N("%s.residual.conv1.weight", p), 'w', 4, C / 2, C, 1, 1);
      add(w, N("%s.residual.norm1.weight", p), 'g', 1, C / 2, 0, 0, 0);
      add(w, N("%s.residual.norm1.bias", p), 'b', 1, C / 2, 0, 0, 0);
      add(w, N("%s.residual.conv2.weight", p), 'w', 4, C / 2, C / 2, 3, 3);
      add(w, N("%s.residual.norm2.weight", p), 'g', 1, C / 2, 0, 0, 0);
      add(w, N("%s.residual.norm2.bias", p), 'b', 1, C / 2, 0, 0, 0);
      add(w, N("%s.residual.conv3.weight", p), 'w', 4, C, C / 2, 1, 1);
      add(w, N("%s.residual.norm3.weight", p), 'g', 1, C, 0, 0, 0);
      add(w, N("%s.residual.norm3.bias", p), 'b', 1, C, 0, 0, 0);
    }
  }
  int in = 4;
  for (int i = 0; i < 3; i++) {
    add(w, N("decoder.convstream.convs.%d.conv.weight", i), 'w', 4, convstream[i], in, 3, 3);
    snprintf(p, sizeof p, "decoder.convstream.convs.%d.batch_norm", i);
    add_batch_norm(w, p, convstream[i]);
    in = convstream[i];
  }
  /* fusion block i sees the previous stage and the matching convstream output (the image itself last) */
  const int skip[4] = {convstream[2], convstream[1], convstream[0], 4};
  int prev = C;
  for (int i = 0; i < 4; i++) {
    add(w, N("decoder.fusion_blocks.%d.conv.conv.weight", i), 'w', 4, fusion[i], prev + skip[i], 3, 3);
    snprintf(p, sizeof p, "decoder.fusion_blocks.%d.conv.batch_norm", i);
    add_batch_norm(w, p, fusion[i]);
    prev = fusion[i];
  }
  add(w, "decoder.matting_head.matting_convs.0.weight", 'w', 4, 16, prev, 3, 3);
  add(w, "decoder.matting_head.matting_convs.0.bias", 'b', 1, 16, 0, 0, 0);
  add_batch_norm(w, "decoder.matting_head.matting_convs.1", 16);
  add(w, "decoder.matting_head.matting_convs.3.weight", 'w', 4, 1, 16, 1, 1);
  add(w, "decoder.matting_head.matting_convs.3.bias", 'b', 1, 1, 0, 0, 0);
}

static json_object *int_list(const int *v, int n) {
  json_object *a = json_object_new_array();
  for (int i = 0; i < n; i++)
    json_object_array_add(a, json_object_new_int(v[i]));
  return a;
}

static int write_config(const char *path) {
  json_object *b = json_object_new_object();
  json_object_object_add(b, "model_type", json_object_new_string("vitdet"));
  json_object_object_add(b, "hidden_size", json_object_new_int(HIDDEN));
  json_object_object_add(b, "num_attention_heads", json_object_new_int(HEADS));
  json_object_object_add(b, "num_hidden_layers", json_object_new_int(LAYERS));
  json_object_object_add(b, "mlp_ratio", json_object_new_int(MLP / HIDDEN));
  json_object_object_add(b, "num_channels", json_object_new_int(4));
  json_object_object_add(b, "image_size", json_object_new_int(IMAGE));
  json_object_object_add(b, "pretrain_image_size", json_object_new_int(PRETRAIN));
  json_object_object_add(b, "patch_size", json_object_new_int(PATCH));
  json_object_object_add(b, "window_size", json_object_new_int(WINDOW));
  json_object_object_add(b, "use_relative_position_embeddings", json_object_new_boolean(1));
  const int window[] = {0}, residual[] = {1}, out_index[] = {LAYERS};
  json_object_object_add(b, "window_block_indices", int_list(window, 1));
  json_object_object_add(b, "residual_block_indices", int_list(residual, 1));
  json_object_object_add(b, "out_indices", int_list(out_index, 1));
  json_object *feats = json_object_new_array();
  json_object_array_add(feats, json_object_new_string("stage2"));
  json_object_object_add(b, "out_features", feats);

  json_object *root = json_object_new_object();
  json_object *arch = json_object_new_array();
  json_object_array_add(arch, json_object_new_string("VitMatteForImageMatting"));
  json_object_object_add(root, "architectures", arch);
  json_object_object_add(root, "model_type", json_object_new_string("vitmatte"));
  json_object_object_add(root, "hidden_size", json_object_new_int(HIDDEN));
  json_object_object_add(root, "backbone_config", b);
  json_object_object_add(root, "convstream_hidden_sizes", int_list(convstream, 3));
  json_object_object_add(root, "fusion_hidden_sizes", int_list(fusion, 4));
  int rc = json_object_to_file_ext(path, root, JSON_C_TO_STRING_PRETTY);
  json_object_put(root);
  return rc;
}

/* safetensors: u64 little-endian header length, the JSON header (padded with spaces to 8 bytes), the data. */
static int write_safetensors(const char *path, const writer *w) {
  json_object *h = json_object_new_object();
  uint64_t offset = 0;
  for (int i = 0; i < w->count; i++) {
    const tensor *t = &w->t[i];
    json_object *e = json_object_new_object();
    json_object_object_add(e, "dtype", json_object_new_string(t->is_int64 ? "I64" : "F32"));
    json_object *shape = json_object_new_array();
    for (int d = 0; d < t->rank; d++)
      json_object_array_add(shape, json_object_new_int64(t->shape[d]));
    json_object_object_add(e, "shape", shape);
    uint64_t bytes = t->numel * (t->is_int64 ? 8u : 4u);
    json_object *offs = json_object_new_array();
    json_object_array_add(offs, json_object_new_int64((int64_t)offset));
    json_object_array_add(offs, json_object_new_int64((int64_t)(offset + bytes)));
    json_object_object_add(e, "data_offsets", offs);
    json_object_object_add(h, t->name, e);
    offset += bytes;
  }
  json_object *meta = json_object_new_object();
  json_object_object_add(meta, "format", json_object_new_string("pt"));
  json_object_object_add(h, "__metadata__", meta);
  const char *text = json_object_to_json_string_ext(h, JSON_C_TO_STRING_PLAIN);
  size_t len = strlen(text), padded = (len + 7) / 8 * 8;
  FILE *f = fopen(path, "wb");
  int ok = f != NULL;
  if (ok) {
    unsigned char n8[8];
    for (int i = 0; i < 8; i++)
      n8[i] = (unsigned char)(((uint64_t)padded >> (8 * i)) & 0xff);
    ok = fwrite(n8, 1, 8, f) == 8 && fwrite(text, 1, len, f) == len;
    for (size_t i = len; ok && i < padded; i++)
      ok = fputc(' ', f) != EOF;
    for (int i = 0; ok && i < w->count; i++) {
      const tensor *t = &w->t[i];
      if (t->is_int64) {
        const unsigned char zero[8] = {0};
        ok = fwrite(zero, 1, 8, f) == 8;
      } else {
        ok = fwrite(t->data, sizeof(float), t->numel, f) == t->numel; /* x86-64: little-endian already */
      }
    }
    ok = (fclose(f) == 0) && ok;
  }
  json_object_put(h);
  return ok ? 0 : -1;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: vmp-make-random-checkpoint DIR   (writes DIR/config.json and DIR/model.safetensors)\n");
    return 2;
  }
  writer w = {NULL, 0, 0, 20250101};
  build(&w);
  char path[4096];
  snprintf(path, sizeof path, "%s/config.json", argv[1]);
  int rc = write_config(path);
  snprintf(path, sizeof path, "%s/model.safetensors", argv[1]);
  if (rc == 0)
    rc = write_safetensors(path, &w);
  for (int i = 0; i < w.count; i++)
    free(w.t[i].data);
  free(w.t);
  if (rc)
    fprintf(stderr, "vmp-make-random-checkpoint: cannot write the checkpoint into %s\n", argv[1]);
  return rc ? 1 : 0;
}
