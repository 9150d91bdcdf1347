/* compare_results.c - the GIMP integration tests' numeric checks: an alpha GIMP produced against the CLI's alpha,
 * (--decontaminated) a layer's decontaminated colours against the engine's foreground estimation, and (--preview)
 * what the dialog's preview shows on the screen against the view mode computed from the CLI's alpha.
 * Owns: reading both sides (raw float dumps from the inspector, PNG alpha or grey, float TIFF) and the verdicts. */
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "vitmatte.h"

typedef struct plane {
  int w, h;
  float *v; /* 0..1 */
} plane;

/* The inspector's dump: "VMPF\n<width> <height>\n" then width*height little-endian float32. */
static int read_dump(const char *path, plane *p) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  char magic[5] = {0};
  int ok = fread(magic, 1, 5, f) == 5 && memcmp(magic, "VMPF\n", 5) == 0 && fscanf(f, "%d %d", &p->w, &p->h) == 2 &&
           fgetc(f) == '\n' && p->w > 0 && p->h > 0;
  if (ok) {
    size_t n = (size_t)p->w * p->h;
    p->v = malloc(n * sizeof *p->v);
    ok = p->v && fread(p->v, sizeof *p->v, n, f) == n;
  }
  fclose(f);
  return ok ? 0 : -1;
}

/* A PNG's alpha channel when it has one, else its grey level (8-bit samples, no colour conversion). */
static int read_png(const char *path, plane *p) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path))
    return -1;
  int has_alpha = (img.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  img.format = has_alpha ? PNG_FORMAT_GA : PNG_FORMAT_GRAY;
  int channels = has_alpha ? 2 : 1;
  unsigned char *buf = malloc(PNG_IMAGE_SIZE(img));
  if (!buf || !png_image_finish_read(&img, NULL, buf, 0, NULL)) {
    free(buf);
    png_image_free(&img);
    return -1;
  }
  p->w = (int)img.width, p->h = (int)img.height;
  p->v = malloc((size_t)p->w * p->h * sizeof *p->v);
  for (size_t i = 0, n = (size_t)p->w * p->h; p->v && i < n; i++)
    p->v[i] = buf[i * channels + channels - 1] / 255.0f;
  free(buf);
  return p->v ? 0 : -1;
}

/* A one-channel 32-bit float TIFF (what `vitmatte -o x.tif` writes). */
static int read_tiff(const char *path, plane *p) {
  TIFF *t = TIFFOpen(path, "r");
  if (!t)
    return -1;
  uint32_t w = 0, h = 0;
  uint16_t bits = 0, spp = 1, fmt = SAMPLEFORMAT_UINT;
  TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
  TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
  TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLESPERPIXEL, &spp);
  TIFFGetFieldDefaulted(t, TIFFTAG_SAMPLEFORMAT, &fmt);
  int rc = -1;
  if (bits == 32 && spp == 1 && fmt == SAMPLEFORMAT_IEEEFP && w > 0 && h > 0) {
    p->w = (int)w, p->h = (int)h;
    p->v = malloc((size_t)w * h * sizeof *p->v);
    rc = p->v ? 0 : -1;
    for (uint32_t y = 0; rc == 0 && y < h; y++)
      if (TIFFReadScanline(t, p->v + (size_t)y * w, y, 0) < 0)
        rc = -1;
  }
  TIFFClose(t);
  return rc;
}

static int read_any(const char *path, plane *p) {
  memset(p, 0, sizeof *p);
  size_t n = strlen(path);
  if (n > 4 && strcmp(path + n - 4, ".f32") == 0)
    return read_dump(path, p);
  if (n > 4 && strcmp(path + n - 4, ".png") == 0)
    return read_png(path, p);
  return read_tiff(path, p);
}

/* The inspector's pixel dump of a layer in its own encoding: "VMPC\n<width> <height> <channels>\n" then the
 * interleaved little-endian float32 samples. */
typedef struct pixels {
  int w, h, c;
  float *v;
} pixels;

static int read_pixels(const char *path, pixels *p) {
  memset(p, 0, sizeof *p);
  FILE *f = fopen(path, "rb");
  if (!f)
    return -1;
  char magic[5] = {0};
  int ok = fread(magic, 1, 5, f) == 5 && memcmp(magic, "VMPC\n", 5) == 0 &&
           fscanf(f, "%d %d %d", &p->w, &p->h, &p->c) == 3 && fgetc(f) == '\n' && p->w > 0 && p->h > 0 &&
           p->c >= 1 && p->c <= 4;
  if (ok) {
    size_t n = (size_t)p->w * p->h * p->c;
    p->v = malloc(n * sizeof *p->v);
    ok = p->v && fread(p->v, sizeof *p->v, n, f) == n;
  }
  fclose(f);
  return ok ? 0 : -1;
}

/* Decontamination as plugin/decontaminate.c defines it, recomputed here from the layer before the run: F from
 * vm_estimate_foreground (CPU, the default method) on those pixels with `alpha`, then I + amount (F - I) where
 * 0.5/255 < alpha < 1 - 0.5/255, I elsewhere; the alpha channel unchanged. Pixels whose alpha lies within 2e-4 of
 * those two limits are not compared (the plug-in's own alpha may differ from the reference's by that much in
 * 16-bit and float images, and could fall on the other side). */
static int check_decontaminated(const char *label, const char *before_path, const char *after_path,
                                const char *alpha_path, double amount, double tol) {
  pixels before, after;
  plane alpha = {0, 0, NULL};
  if (read_pixels(before_path, &before) != 0 || read_pixels(after_path, &after) != 0 ||
      read_any(alpha_path, &alpha) != 0) {
    printf("FAIL %s (cannot read %s, %s or %s)\n", label, before_path, after_path, alpha_path);
    return 1;
  }
  if (before.w != after.w || before.h != after.h || before.c != after.c || alpha.w != before.w ||
      alpha.h != before.h) {
    printf("FAIL %s (sizes differ)\n", label);
    return 1;
  }
  const int colours = before.c >= 3 ? 3 : 1;
  const size_t n = (size_t)before.w * before.h;
  float *F = malloc(n * colours * sizeof *F);
  vm_context_options o;
  vm_context_options_default(&o);
  o.device = VM_DEVICE_CPU;
  vm_context *ctx = NULL;
  vm_error err;
  const vm_image im = {before.v, before.w, before.h, before.c, 0, VM_PIXEL_F32};
  const vm_image av = {alpha.v, alpha.w, alpha.h, 1, 0, VM_PIXEL_F32};
  if (!F || vm_context_create(NULL, &o, &ctx, &err) != VM_OK ||
      vm_estimate_foreground(ctx, &im, &av, NULL, F, 0, NULL, 0, &err) != VM_OK) {
    printf("FAIL %s (engine: %s)\n", label, F ? err.message : "out of memory");
    return 1;
  }
  vm_context_free(ctx);
  const float low = 0.5f / 255.0f, high = 1.0f - 0.5f / 255.0f;
  double max_diff = 0, max_alpha_diff = 0;
  size_t changed = 0, skipped = 0;
  for (size_t i = 0; i < n; i++) {
    const float a = alpha.v[i];
    if (fabsf(a - low) < 2e-4f || fabsf(a - high) < 2e-4f) {
      skipped++;
      continue;
    }
    const int band = a > low && a < high;
    for (int c = 0; c < before.c; c++) {
      const double I = before.v[i * before.c + c], got = after.v[i * after.c + c];
      if (c >= colours) {
        max_alpha_diff = fmax(max_alpha_diff, fabs(got - I));
        continue;
      }
      const double want = band ? I + amount * (F[i * colours + c] - I) : I;
      const double d = fabs(got - want);
      if (!(d <= max_diff))
        max_diff = isnan(d) ? INFINITY : d;
      changed += band && fabs(want - I) > 1.0 / 255;
    }
  }
  const int ok = max_diff <= tol && max_alpha_diff == 0 && changed > 0;
  printf("%s %s (max diff %.6f over %zu pixels, tolerance %.6f; %zu samples decontaminated by more than 1/255, "
         "alpha channel max diff %g, %zu pixels at the band's limits not compared)\n",
         ok ? "PASS" : "FAIL", label, max_diff, n, tol, changed, max_alpha_diff, skipped);
  free(F), free(before.v), free(after.v), free(alpha.v);
  return ok ? 0 : 1;
}

/* An 8-bit RGB picture (a screenshot, the scene). NULL when unreadable. */
static unsigned char *read_rgb(const char *path, int *w, int *h) {
  png_image img;
  memset(&img, 0, sizeof img);
  img.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&img, path))
    return NULL;
  img.format = PNG_FORMAT_RGB;
  unsigned char *buf = malloc(PNG_IMAGE_SIZE(img));
  if (!buf || !png_image_finish_read(&img, NULL, buf, 0, NULL)) {
    free(buf);
    png_image_free(&img);
    return NULL;
  }
  *w = (int)img.width, *h = (int)img.height;
  return buf;
}

/* The numbers after "KEY: " in the dialog's report (ui/test_hook.h), or -1. */
static int report_ints(const char *path, const char *key, int *v, int count) {
  FILE *f = fopen(path, "r");
  char line[1024];
  int found = -1;
  size_t n = strlen(key);
  while (f && found < 0 && fgets(line, sizeof line, f))
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      char *p = line + n + 1;
      found = 0;
      for (int i = 0; i < count && found == 0; i++) {
        char *end;
        v[i] = (int)strtol(p, &end, 10);
        found = end == p ? -1 : 0;
        p = end;
      }
    }
  if (f)
    fclose(f);
  return found;
}

/* What the dialog's preview must show on the screen in MODE, computed here from the scene, the CLI's alpha and the
 * band trimap (an independent statement of ui/matte_preview.c's view modes): the screenshot's picture area, read
 * back pixel by pixel (the preview enlarges by whole steps, so each display pixel shows one layer pixel), within 2
 * of 255 per channel. */
static int check_preview(const char *label, const char *mode, const char *shot_path, const char *report,
                         const char *scene_path, const char *alpha_path, const char *trimap_path, double amount) {
  int pic[4], off[2], checks[7], size[4], sw = 0, sh = 0, iw = 0, ih = 0;
  plane alpha = {0, 0, NULL}, trimap = {0, 0, NULL};
  unsigned char *shot = read_rgb(shot_path, &sw, &sh), *scene = read_rgb(scene_path, &iw, &ih);
  if (!shot || !scene || read_any(alpha_path, &alpha) != 0 || read_any(trimap_path, &trimap) != 0 ||
      report_ints(report, "preview-picture", pic, 4) || report_ints(report, "preview-offset", off, 2) ||
      report_ints(report, "preview-checks", checks, 7) || report_ints(report, "preview-size", size, 4)) {
    printf("FAIL %s (cannot read the screenshot, the report or the references)\n", label);
    return 1;
  }
  const int w = size[0], h = size[1];
  if (w != iw || h != ih || alpha.w != w || alpha.h != h || trimap.w != w || pic[2] < w || pic[3] < h ||
      pic[0] < 0 || pic[1] < 0 || pic[0] + pic[2] > sw || pic[1] + pic[3] > sh) {
    printf("FAIL %s (preview of %dx%d drawn %dx%d at %d,%d; scene %dx%d, alpha %dx%d)\n", label, w, h, pic[2], pic[3],
           pic[0], pic[1], iw, ih, alpha.w, alpha.h);
    return 1;
  }
  float *F = NULL;
  if (strcmp(mode, "cutout") == 0) {
    F = malloc((size_t)w * h * 3 * sizeof *F);
    vm_context_options o;
    vm_context_options_default(&o);
    o.device = VM_DEVICE_CPU;
    vm_context *ctx = NULL;
    vm_error err;
    const vm_image im = {scene, w, h, 3, 0, VM_PIXEL_U8}, av = {alpha.v, w, h, 1, 0, VM_PIXEL_F32};
    if (!F || vm_context_create(NULL, &o, &ctx, &err) != VM_OK ||
        vm_estimate_foreground(ctx, &im, &av, NULL, F, 0, NULL, 0, &err) != VM_OK) {
      printf("FAIL %s (engine: %s)\n", label, F ? err.message : "out of memory");
      return 1;
    }
    vm_context_free(ctx);
  }
  int max_diff = 0;
  size_t off_by_more_than_one = 0;
  for (int y = 0; y < pic[3]; y++)
    for (int x = 0; x < pic[2]; x++) {
      const int sx = (int)((long)x * w / pic[2]), sy = (int)((long)y * h / pic[3]);
      const size_t i = (size_t)sy * w + sx;
      const double a = alpha.v[i];
      const int parity = (((x + off[0]) / checks[0]) + ((y + off[1]) / checks[0])) & 1;
      for (int c = 0; c < 3; c++) {
        const double I = scene[3 * i + c], check = checks[1 + 3 * parity + c];
        double want;
        if (strcmp(mode, "on-black") == 0)
          want = a * I;
        else if (strcmp(mode, "on-white") == 0)
          want = a * I + (1 - a) * 255;
        else if (strcmp(mode, "on-checkerboard") == 0)
          want = a * I + (1 - a) * check;
        else if (strcmp(mode, "alpha") == 0)
          want = 255 * a;
        else if (strcmp(mode, "trimap") == 0)
          want = 255 * trimap.v[i];
        else if (strcmp(mode, "cutout") == 0)
          want = a * (a > 0.5 / 255 && a < 1 - 0.5 / 255 ? I + amount * (255 * F[3 * i + c] - I) : I) +
                 (1 - a) * check;
        else /* overlay: GIMP's quick mask, red at 50 % where the alpha is 0 */
          want = I + 0.5 * (1 - a) * ((c == 0 ? 255 : 0) - I);
        const unsigned char got = shot[3 * ((size_t)(pic[1] + y) * sw + pic[0] + x) + c];
        const int d = abs((int)got - (int)lround(want));
        max_diff = d > max_diff ? d : max_diff;
        off_by_more_than_one += d > 1;
      }
    }
  const int ok = max_diff <= 2;
  printf("%s %s (%dx%d screen pixels showing the %dx%d layer: max diff %d of 255, %zu samples off by more than 1)\n",
         ok ? "PASS" : "FAIL", label, pic[2], pic[3], w, h, max_diff, off_by_more_than_one);
  free(F), free(shot), free(scene), free(alpha.v), free(trimap.v);
  return ok ? 0 : 1;
}

/* A downscaled trimap (the preview's) against the full-size one: each pixel's class (0, 1/2, 1) against the class of
 * the full-size pixel under its centre; at most `max_fraction` of them may differ (the thumbnail blurs edges). */
static int check_classes(const char *label, const char *got_path, const char *full_path, double max_fraction) {
  plane got = {0, 0, NULL}, full = {0, 0, NULL};
  if (read_any(got_path, &got) != 0 || read_any(full_path, &full) != 0 || got.w > full.w || got.h > full.h) {
    printf("FAIL %s (cannot read %s or %s, or the first is the larger)\n", label, got_path, full_path);
    return 1;
  }
  size_t differ = 0, unknown = 0;
  for (int y = 0; y < got.h; y++)
    for (int x = 0; x < got.w; x++) {
      const int fx = (int)(((double)x + 0.5) * full.w / got.w), fy = (int)(((double)y + 0.5) * full.h / got.h);
      const long a = lround(2 * got.v[(size_t)y * got.w + x]), b = lround(2 * full.v[(size_t)fy * full.w + fx]);
      differ += a != b;
      unknown += a == 1;
    }
  const size_t n = (size_t)got.w * got.h;
  const int ok = unknown > 0 && (double)differ <= max_fraction * (double)n;
  printf("%s %s (%dx%d for %dx%d: %zu of %zu pixels in another class, %zu unknown)\n", ok ? "PASS" : "FAIL", label,
         got.w, got.h, full.w, full.h, differ, n, unknown);
  free(got.v), free(full.v);
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "--classes") == 0)
    return check_classes(argv[2], argv[3], argv[4], atof(argv[5]));
  if (argc == 10 && strcmp(argv[1], "--preview") == 0)
    return check_preview(argv[2], argv[3], argv[4], argv[5], argv[6], argv[7], argv[8], atof(argv[9]));
  if (argc == 8 && strcmp(argv[1], "--decontaminated") == 0)
    return check_decontaminated(argv[2], argv[3], argv[4], argv[5], atof(argv[6]), atof(argv[7]));
  if (argc != 5) {
    fprintf(stderr, "usage: vmp-compare LABEL GOT EXPECTED TOLERANCE\n"
                    "  GOT and EXPECTED must have the same size; every pixel must agree within TOLERANCE.\n"
                    "       vmp-compare --decontaminated LABEL BEFORE.pixels.f32 AFTER.pixels.f32 ALPHA AMOUNT TOL\n"
                    "  AFTER must be BEFORE decontaminated with ALPHA by AMOUNT (0..1) within TOL.\n"
                    "       vmp-compare --preview LABEL MODE SHOT.png REPORT SCENE.png ALPHA TRIMAP.png AMOUNT\n"
                    "  The dialog's preview in SHOT (where REPORT says) must show MODE of SCENE with ALPHA.\n"
                    "       vmp-compare --classes LABEL SMALL_TRIMAP FULL_TRIMAP MAX_FRACTION\n"
                    "  Prints one PASS/FAIL line.\n");
    return 2;
  }
  const char *label = argv[1];
  double tol = atof(argv[4]);
  plane got = {0, 0, NULL}, want = {0, 0, NULL};
  if (read_any(argv[2], &got) != 0 || read_any(argv[3], &want) != 0) {
    printf("FAIL %s (cannot read %s or %s)\n", label, argv[2], argv[3]);
    free(got.v), free(want.v);
    return 1;
  }
  if (got.w != want.w || got.h != want.h) {
    printf("FAIL %s (size %dx%d, expected %dx%d)\n", label, got.w, got.h, want.w, want.h);
    free(got.v), free(want.v);
    return 1;
  }
  double max_diff = 0;
  const size_t n = (size_t)got.w * (size_t)got.h;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)got.v[i] - (double)want.v[i]);
    if (!(d <= max_diff)) /* NaN counts as a failure */
      max_diff = isnan(d) ? INFINITY : d;
  }
  int ok = n > 0 && max_diff <= tol;
  printf("%s %s (max diff %.6f over %zu pixels, tolerance %.6f)\n", ok ? "PASS" : "FAIL", label, max_diff, n, tol);
  free(got.v), free(want.v);
  return ok ? 0 : 1;
}
