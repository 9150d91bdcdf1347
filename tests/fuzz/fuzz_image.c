/* libFuzzer target for one of the CLI's picture readers (tools/png_io.c, jpeg_io.c or tiff_io.c, picked at build
 * time by FUZZ_PNG, FUZZ_JPEG or FUZZ_TIFF): the header read, then the decode held to a budget. The input is the
 * file. Besides the sanitizers, it aborts when a reader breaks a promise of image_codecs.h: a header that decodes to
 * another picture, a reading cost below the pixels' size, a decode past the budget, or a message on several lines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "image_codecs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Pictures whose reading takes more are refused before decoding, as the CLI refuses what memory cannot hold. 4 MiB
 * (a megapixel of RGB) reaches every code path a larger picture does, and keeps thousands of runs a second. */
#define BUDGET ((size_t)4 << 20)

/* The TIFF reader needs a file with a descriptor (not fmemopen): the input lives in a memory file, opened through
 * /proc. */
static int memory_file(void) {
  static int fd = -1;
  if (fd < 0) fd = memfd_create("fuzz-image", 0);
  return fd;
}

static int read_codec(const uint8_t *data, size_t size, size_t budget, image_header *header, image_buffer *out,
                      char *msg, size_t msg_size) {
#if defined(FUZZ_TIFF)
  const int fd = memory_file();
  if (fd < 0 || ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) abort();
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  FILE *file = fopen(path, "rb"); /* a stream of its own, at the start, with a descriptor for libtiff */
  if (!file) abort();
  const int status = read_tiff_file(file, path, budget, header, out, msg, msg_size);
  fclose(file);
  return status;
#else
  FILE *file = fmemopen((void *)data, size ? size : 1, "rb");
  if (!file) abort();
  if (size == 0) fgetc(file); /* fmemopen wants a non-empty buffer; an empty file is one already at its end */
#if defined(FUZZ_PNG)
  const int status = read_png_file(file, budget, header, out, msg, msg_size);
#else
  const int status = read_jpeg_file(file, budget, header, out, msg, msg_size);
#endif
  fclose(file);
  return status;
#endif
}

/* Where the sum of the samples goes, so the loop that reads them stays. */
static volatile uint8_t sink;

/* A broken promise: said, then reported to libFuzzer as a crash. */
static void broken(const char *promise, const char *msg) {
  fprintf(stderr, "fuzz_image: %s (message: \"%s\")\n", promise, msg);
  abort();
}

static void check_message(const char *msg) {
  if (msg[0] == '\0' || strchr(msg, '\n')) broken("a failure gives one line that says why", msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  (void)memory_file;
  char msg[600] = "";
  image_header header;
  memset(&header, 0, sizeof header);
  if (read_codec(data, size, IMAGE_NO_BUDGET, &header, NULL, msg, sizeof msg) != 0) {
    check_message(msg);
    return 0;
  }
  const size_t pixels = image_bytes(header.width, header.height, header.channels, header.type, 0);
  if (header.width <= 0 || header.height <= 0 || (header.channels != 1 && header.channels != 3) || pixels == 0 ||
      header.decode_bytes < pixels)
    broken("a header gives a positive size, 1 or 3 channels, and a reading cost of at least the pixels", "");
  image_buffer image;
  msg[0] = '\0';
  const size_t budget = header.decode_bytes < BUDGET ? header.decode_bytes : BUDGET;
  if (read_codec(data, size, budget, NULL, &image, msg, sizeof msg) != 0) {
    check_message(msg);
    if (image.data) broken("a failed read frees what it allocated", msg);
    return 0;
  }
  if (header.decode_bytes > budget) broken("a picture over its budget is refused before decoding", "");
  if (image.width != header.width || image.height != header.height || image.channels != header.channels ||
      image.type != header.type || !image.data)
    broken("the picture decoded is the one its header promised", "");
  /* Touch every sample: the sanitizers see a buffer smaller than its size says, and a sample the decoder left
   * unwritten shows as a use of uninitialised memory in an MSan build. */
  uint8_t sum = 0;
  for (size_t i = 0; i < pixels; i++) sum ^= ((const uint8_t *)image.data)[i];
  sink = sum;
  image_free(&image);
  return 0;
}
