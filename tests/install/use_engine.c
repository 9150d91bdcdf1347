/* use_engine.c - a program outside the project that uses the installed engine, built only with the flags of
 * `pkg-config --cflags --libs vitmatte`: loads a model, mattes a small picture, prints "ok" and the alpha's mean.
 * Usage: use_engine MODEL_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <vitmatte.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  enum { W = 48, H = 40 };
  static unsigned char rgb[W * H * 3], tri[W * H];
  for (int i = 0; i < W * H; i++) {
    rgb[3 * i] = (unsigned char)(i * 7), rgb[3 * i + 1] = (unsigned char)(i * 3), rgb[3 * i + 2] = (unsigned char)i;
    const int x = i % W;
    tri[i] = x < 16 ? 0 : x < 32 ? 128 : 255;
  }
  vm_error err;
  vm_model *model = NULL;
  vm_context *ctx = NULL;
  vm_context_options opt;
  vm_context_options_default(&opt);
  opt.device = VM_DEVICE_CPU;
  float alpha[W * H];
  const vm_image image = {rgb, W, H, 3, 0, VM_PIXEL_U8}, trimap = {tri, W, H, 1, 0, VM_PIXEL_U8};
  if (vm_model_load(argv[1], &model, &err) != VM_OK || vm_context_create(model, &opt, &ctx, &err) != VM_OK ||
      vm_predict(ctx, &image, &trimap, alpha, 0, &err) != VM_OK) {
    printf("failed: %s\n", err.message);
    return 1;
  }
  double sum = 0;
  for (int i = 0; i < W * H; i++) sum += alpha[i];
  printf("ok mean alpha %.4f\n", sum / (W * H));
  vm_context_free(ctx);
  vm_model_free(model);
  return 0;
}
