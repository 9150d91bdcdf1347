/* cli_inputs.h - the CLI's picture and trimap: both headers first, then (after the caller's memory check) the pixels.
 * Owns: reading the two files in that order and bringing them into the shapes the engine takes. */
#ifndef VITMATTE_CLI_INPUTS_H
#define VITMATTE_CLI_INPUTS_H

#include <stddef.h>

#include "cli_options.h"
#include "image_io.h"

typedef struct cli_inputs {
  image_header image_header;
  image_header trimap_header;
  image_buffer image;  /* colour or gray, as stored */
  image_buffer trimap; /* one channel */
} cli_inputs;

/* The headers of a picture and of the one-channel file that goes with it (a trimap, an alpha), refusing files of
 * different sizes before a pixel is decoded. 0, or -1 with the whole message in msg. */
int cli_read_header_pair(const char *image_path, const char *other_path, image_header *image, image_header *other,
                         char *msg, size_t msg_size);

/* Reads both headers and refuses pictures of different sizes. 0, or -1 with the whole message in msg. */
int cli_inputs_read_headers(const cli_options *options, cli_inputs *in, char *msg, size_t msg_size);

/* The sum of n byte counts, saturating at SIZE_MAX (what a header declares can be anything). */
size_t cli_bytes_sum(const size_t *parts, int n);

/* Host memory the CLI itself holds while the engine runs: both pictures as decoded and the alpha. */
size_t cli_inputs_host_bytes(const cli_inputs *in);

/* Decodes both pictures, each within what its header promised; the trimap must be gray (or RGB with R = G = B) and
 * have unknown pixels (vm_trimap_check). 0, or -1 with the whole message in msg. */
int cli_inputs_read(const cli_options *options, cli_inputs *in, char *msg, size_t msg_size);

void cli_inputs_free(cli_inputs *in);

#endif
