/* make_test_images.c - the pictures the GIMP integration tests feed to both GIMP and the CLI.
 * Owns: a colour scene (gradient + shapes), its grey version, a disc trimap (also with a 30 % grey unknown ring, as
 * painted with a dark grey brush), and the band trimap of a rectangular
 * selection computed in closed form (an independent reference for the plug-in's distance transform), a rough
 * mask (hard edge on one side, soft on the other), the scene with that mask as its alpha, and the mask's band trimap
 * by brute force, crops (what a layer smaller than the canvas holds) and enlargements (a layer the preview shows as a
 * downscaled copy). */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SCENE_W = 100, SCENE_H = 80 };

static int write_png(const char *path, const unsigned char *pixels, int w, int h, int channels) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  img.width = (png_uint_32)w;
  img.height = (png_uint_32)h;
  img.format = channels == 4 ? PNG_FORMAT_RGBA : channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  if (!png_image_write_to_file(&img, path, 0, pixels, 0, NULL)) {
    fprintf(stderr, "vmp-make-test-images: cannot write %s: %s\n", path, img.message);
    return -1;
  }
  return 0;
}

/* A scene with structure at every scale the model looks at: two gradients, a bright disc, a dark bar. */
static void scene_pixel(int x, int y, unsigned char rgb[3]) {
  double r = 40 + 150.0 * x / (SCENE_W - 1), g = 30 + 170.0 * y / (SCENE_H - 1), b = 90;
  double d = hypot(x - 52.0, y - 38.0);
  if (d < 22) {
    r = 240 - 3 * d, g = 200 - 2 * d, b = 60 + 4 * d;
  }
  if (x >= 10 && x < 24 && y >= 50 && y < 74)
    r = 20, g = 25, b = 160;
  rgb[0] = (unsigned char)lround(r), rgb[1] = (unsigned char)lround(g), rgb[2] = (unsigned char)lround(b);
}

/* The rough mask of the mask and alpha trimap sources: the disc, its left half with a hard edge at radius 18, its
 * right half with a soft edge from radius 14 to 20 whose grey levels (220 down to 40) stay between the black and
 * white points (1 % and 99 %) however GIMP converts them on the way into a mask (perceptual or linear). */
static unsigned char rough_mask_value(int x, int y) {
  double d = hypot(x - 52.0, y - 38.0);
  if (x < 52)
    return d < 18 ? 255 : 0;
  return d < 14 ? 255 : d >= 20 ? 0 : (unsigned char)lround(220 - 180 * (d - 14) / 6);
}

/* The mask's band trimap by brute force, the plug-in's rule written out independently: 0 and 255 are certain, any
 * other level unknown; a certain pixel within `band` pixels (Euclidean, pixel centres) of a pixel of another class
 * is unknown. */
static void rough_mask_trimap(const unsigned char *mask, int band, unsigned char *tri) {
  for (int y = 0; y < SCENE_H; y++)
    for (int x = 0; x < SCENE_W; x++) {
      unsigned char v = mask[y * SCENE_W + x];
      int unknown = v != 0 && v != 255;
      for (int qy = y - band; !unknown && qy <= y + band; qy++)
        for (int qx = x - band; !unknown && qx <= x + band; qx++)
          unknown = qx >= 0 && qy >= 0 && qx < SCENE_W && qy < SCENE_H &&
                    (qx - x) * (qx - x) + (qy - y) * (qy - y) <= band * band &&
                    mask[qy * SCENE_W + qx] != v;
      tri[y * SCENE_W + x] = unknown ? 128 : v;
    }
}

static int make_mask_set(const char *dir, const unsigned char *rgb) {
  static unsigned char mask[SCENE_W * SCENE_H], tri[SCENE_W * SCENE_H], rgba[SCENE_W * SCENE_H * 4];
  for (int y = 0; y < SCENE_H; y++)
    for (int x = 0; x < SCENE_W; x++) {
      const int i = y * SCENE_W + x;
      mask[i] = rough_mask_value(x, y);
      memcpy(rgba + 4 * i, rgb + 3 * i, 3);
      rgba[4 * i + 3] = mask[i];
    }
  char path[4096];
  snprintf(path, sizeof path, "%s/rough_mask.png", dir);
  if (write_png(path, mask, SCENE_W, SCENE_H, 1))
    return -1;
  snprintf(path, sizeof path, "%s/scene_rgba.png", dir);
  if (write_png(path, rgba, SCENE_W, SCENE_H, 4))
    return -1;
  /* band 5 (the mask and alpha sources' cases), band 8 (the preview's second band width) */
  static const int bands[] = {5, 8};
  static const char *const names[] = {"mask_trimap.png", "mask_trimap8.png"};
  for (int b = 0; b < 2; b++) {
    rough_mask_trimap(mask, bands[b], tri);
    snprintf(path, sizeof path, "%s/%s", dir, names[b]);
    if (write_png(path, tri, SCENE_W, SCENE_H, 1))
      return -1;
  }
  return 0;
}

static int make_fixed_set(const char *dir) {
  unsigned char rgb[SCENE_W * SCENE_H * 3], gray[SCENE_W * SCENE_H], tri[SCENE_W * SCENE_H],
      tri30[SCENE_W * SCENE_H];
  for (int y = 0; y < SCENE_H; y++)
    for (int x = 0; x < SCENE_W; x++) {
      unsigned char *p = rgb + 3 * (y * SCENE_W + x);
      scene_pixel(x, y, p);
      /* integer luma, so the grey file is exact whatever GIMP or the CLI do with colour */
      gray[y * SCENE_W + x] = (unsigned char)((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
      double d = hypot(x - 52.0, y - 38.0);
      tri[y * SCENE_W + x] = d < 16 ? 255 : d <= 28 ? 128 : 0;
      /* 77/255 = 30 % grey: unknown by the documented thresholds, though only 0.074 in linear light */
      tri30[y * SCENE_W + x] = d < 16 ? 255 : d <= 28 ? 77 : 0;
    }
  char path[4096];
  snprintf(path, sizeof path, "%s/scene.png", dir);
  if (write_png(path, rgb, SCENE_W, SCENE_H, 3))
    return -1;
  snprintf(path, sizeof path, "%s/scene_gray.png", dir);
  if (write_png(path, gray, SCENE_W, SCENE_H, 1))
    return -1;
  snprintf(path, sizeof path, "%s/trimap.png", dir);
  if (write_png(path, tri, SCENE_W, SCENE_H, 1))
    return -1;
  snprintf(path, sizeof path, "%s/trimap_grey30.png", dir);
  if (write_png(path, tri30, SCENE_W, SCENE_H, 1))
    return -1;
  return make_mask_set(dir, rgb);
}

/* The band trimap of the rectangle [rx, rx+rw) x [ry, ry+rh) (image coordinates, a hard-edged selection), seen
 * from a layer at (lx, ly) of size lw x lh. Inside pixels: distance to the nearest outside pixel is the distance
 * to the nearest row or column just outside the rectangle. Outside pixels: the Euclidean distance to the
 * rectangle's nearest pixel. Unknown when that distance is <= band. */
static int make_rect_trimap(const char *path, int rx, int ry, int rw, int rh, int band, int lx, int ly, int lw,
                            int lh) {
  unsigned char *tri = malloc((size_t)lw * lh);
  if (!tri)
    return -1;
  for (int y = 0; y < lh; y++)
    for (int x = 0; x < lw; x++) {
      long ix = (long)x + lx, iy = (long)y + ly;
      int inside = ix >= rx && ix < rx + rw && iy >= ry && iy < ry + rh;
      double dist;
      if (inside) {
        long dx = ix - (rx - 1) < rx + rw - ix ? ix - (rx - 1) : rx + rw - ix;
        long dy = iy - (ry - 1) < ry + rh - iy ? iy - (ry - 1) : ry + rh - iy;
        dist = (double)(dx < dy ? dx : dy);
      } else {
        long dx = ix < rx ? rx - ix : ix >= rx + rw ? ix - (rx + rw - 1) : 0;
        long dy = iy < ry ? ry - iy : iy >= ry + rh ? iy - (ry + rh - 1) : 0;
        dist = sqrt((double)(dx * dx + dy * dy));
      }
      tri[(size_t)y * lw + x] = dist <= band ? 128 : inside ? 255 : 0;
    }
  int rc = write_png(path, tri, lw, lh, 1);
  free(tri);
  return rc;
}

/* The part (x, y, w, h) of a PNG, as a layer cropped from it sees it. */
static int crop_png(const char *in, int x, int y, int w, int h, const char *out) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, in)) {
    fprintf(stderr, "vmp-make-test-images: cannot read %s: %s\n", in, img.message);
    return -1;
  }
  const int channels = (img.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
  img.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  unsigned char *all = malloc(PNG_IMAGE_SIZE(img));
  unsigned char *part = malloc((size_t)w * h * channels);
  int rc = -1;
  if (all && part && png_image_finish_read(&img, NULL, all, 0, NULL) && x >= 0 && y >= 0 && x + w <= (int)img.width &&
      y + h <= (int)img.height) {
    for (int r = 0; r < h; r++)
      memcpy(part + (size_t)r * w * channels, all + ((size_t)(y + r) * img.width + x) * channels, (size_t)w * channels);
    rc = write_png(out, part, w, h, channels);
  }
  png_image_free(&img);
  free(all), free(part);
  return rc;
}

/* A PNG enlarged `factor` times by repeating pixels: a layer large enough for the preview's downscaled copy. */
static int enlarge_png(const char *in, int factor, const char *out) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, in))
    return -1;
  const int channels = (img.format & PNG_FORMAT_FLAG_COLOR) ? 3 : 1;
  img.format = channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY;
  const int w = (int)img.width, h = (int)img.height;
  unsigned char *small = malloc(PNG_IMAGE_SIZE(img)), *big = malloc((size_t)w * h * factor * factor * channels);
  int rc = -1;
  if (small && big && png_image_finish_read(&img, NULL, small, 0, NULL)) {
    for (int y = 0; y < h * factor; y++)
      for (int x = 0; x < w * factor; x++)
        memcpy(big + ((size_t)y * w * factor + x) * channels, small + ((size_t)(y / factor) * w + x / factor) * channels,
               (size_t)channels);
    rc = write_png(out, big, w * factor, h * factor, channels);
  }
  png_image_free(&img);
  free(small), free(big);
  return rc;
}

int main(int argc, char **argv) {
  if (argc == 2)
    return make_fixed_set(argv[1]) ? 1 : 0;
  if (argc == 12 && strcmp(argv[1], "--rect-trimap") == 0) {
    int v[9];
    for (int i = 0; i < 9; i++)
      v[i] = atoi(argv[i + 2]);
    return make_rect_trimap(argv[11], v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]) ? 1 : 0;
  }
  if (argc == 5 && strcmp(argv[1], "--enlarge") == 0)
    return enlarge_png(argv[2], atoi(argv[3]), argv[4]) ? 1 : 0;
  if (argc == 8 && strcmp(argv[1], "--crop") == 0)
    return crop_png(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), argv[7]) ? 1 : 0;
  fprintf(stderr, "usage: vmp-make-test-images DIR\n"
                  "       vmp-make-test-images --rect-trimap RX RY RW RH BAND LX LY LW LH OUT.png\n"
                  "       vmp-make-test-images --crop IN.png X Y W H OUT.png\n"
                  "       vmp-make-test-images --enlarge IN.png FACTOR OUT.png\n");
  return 2;
}
