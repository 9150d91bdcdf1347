/* cli_inputs.c - the CLI's picture and trimap: headers first, so that a file declaring a huge picture is refused
 * (by the caller's memory check) before a byte of it is decoded; then the pixels, held to what the headers said. */
#include "cli_inputs.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cli_common.h"

int cli_read_header_pair(const char *image_path, const char *other_path, image_header *image, image_header *other,
                         char *msg, size_t msg_size) {
  char why[500];
  if (image_read_header(image_path, image, why, sizeof why) != 0) {
    snprintf(msg, msg_size, "cannot read %s: %s", image_path, why);
    return -1;
  }
  if (image_read_header(other_path, other, why, sizeof why) != 0) {
    snprintf(msg, msg_size, "cannot read %s: %s", other_path, why);
    return -1;
  }
  if (other->width != image->width || other->height != image->height) {
    snprintf(msg, msg_size, "%s is %dx%d but %s is %dx%d", other_path, other->width, other->height, image_path,
             image->width, image->height);
    return -1;
  }
  return 0;
}

int cli_inputs_read_headers(const cli_options *options, cli_inputs *in, char *msg, size_t msg_size) {
  memset(in, 0, sizeof *in);
  return cli_read_header_pair(options->image_path, options->trimap_path, &in->image_header, &in->trimap_header, msg,
                              msg_size);
}

size_t cli_bytes_sum(const size_t *parts, int n) {
  size_t sum = 0;
  for (int i = 0; i < n; i++) sum = parts[i] > SIZE_MAX - sum ? SIZE_MAX : sum + parts[i];
  return sum;
}

size_t cli_inputs_host_bytes(const cli_inputs *in) {
  const size_t alpha = (size_t)in->image_header.width * (size_t)in->image_header.height * sizeof(float);
  const size_t parts[3] = {in->image_header.decode_bytes, in->trimap_header.decode_bytes, alpha};
  return cli_bytes_sum(parts, 3);
}

int cli_inputs_read(const cli_options *options, cli_inputs *in, char *msg, size_t msg_size) {
  char why[500];
  if (image_read(options->image_path, in->image_header.decode_bytes, &in->image, why, sizeof why) != 0) {
    snprintf(msg, msg_size, "cannot read %s: %s", options->image_path, why);
    return -1;
  }
  if (image_read(options->trimap_path, in->trimap_header.decode_bytes, &in->trimap, why, sizeof why) != 0) {
    snprintf(msg, msg_size, "cannot read %s: %s", options->trimap_path, why);
    return -1;
  }
  /* The headers promised these sizes; a file rewritten in between could still decode to another within budget. */
  if (in->image.width != in->trimap.width || in->image.height != in->trimap.height) {
    snprintf(msg, msg_size, "%s or %s changed while it was read", options->image_path, options->trimap_path);
    return -1;
  }
  int x = 0, y = 0;
  if (image_rgb_to_gray(&in->trimap, &x, &y) != 0) {
    snprintf(msg, msg_size,
             "%s is a colour image (R, G and B differ at pixel %d,%d); the trimap must be gray: 0 background, "
             "128 unknown, 255 foreground",
             options->trimap_path, x, y);
    return -1;
  }
  /* The engine's words for a trimap without unknown pixels, which the GIMP plug-in shows too. */
  const vm_image view = cli_engine_view(&in->trimap); /* one channel now */
  vm_error err = {VM_OK, ""};
  if (vm_trimap_check(&view, &err) != VM_OK) {
    snprintf(msg, msg_size, "%s: %s; mark the uncertain edge gray (128)", options->trimap_path, err.message);
    return -1;
  }
  return 0; /* a gray picture goes to the engine as it is: the engine replicates it into R, G and B */
}

void cli_inputs_free(cli_inputs *in) {
  image_free(&in->trimap);
  image_free(&in->image);
}
