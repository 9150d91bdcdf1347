/* jpeg_io.c - JPEG pictures in (gray or colour, 8 bits), through libjpeg.
 * libjpeg's default error handler prints and exits; ours formats the message and longjmps back instead. */
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "image_codecs.h"

typedef struct error_jump {
  struct jpeg_error_mgr manager; /* first, so libjpeg's error pointer is also a pointer to this struct */
  jmp_buf jump;
  int truncated;
  char *msg;
  size_t msg_size;
} error_jump;

static void on_jpeg_error(j_common_ptr cinfo) {
  error_jump *failure = (error_jump *)cinfo->err;
  char text[JMSG_LENGTH_MAX];
  cinfo->err->format_message(cinfo, text);
  /* An early end makes libjpeg invent an end marker, so a header cut short fails with a consequence ("no image"):
   * the end is the news. */
  if (failure->truncated)
    snprintf(failure->msg, failure->msg_size, "truncated JPEG: the file ends before its header is complete (%s)",
             text);
  else
    snprintf(failure->msg, failure->msg_size, "invalid JPEG: %s", text);
  longjmp(failure->jump, 1);
}

/* libjpeg recovers from most damage with a warning and goes on; a file that ends early, though, would come back
 * with its missing part painted gray, so that one warning is treated as an error. Nothing is printed. */
static void on_jpeg_message(j_common_ptr cinfo, int level) {
  if (level < 0) {
    cinfo->err->num_warnings++;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF) ((error_jump *)cinfo->err)->truncated = 1;
  }
}

typedef struct read_state {
  struct jpeg_decompress_struct cinfo;
  error_jump failure;
  size_t budget;
  image_header *header; /* may be NULL */
  image_buffer *out;    /* NULL: the header only */
} read_state;

/* A progressive file, or one whose components come in separate scans, is decoded through a whole-image buffer of
 * DCT coefficients (64 2-byte coefficients per 8x8 block of each component, padded to whole MCUs), which libjpeg
 * allocates in jpeg_start_decompress: it grows with the picture like the pixels do. */
static size_t coefficient_bytes(const struct jpeg_decompress_struct *cinfo) {
  if (!cinfo->progressive_mode && cinfo->comps_in_scan >= cinfo->num_components) return 0;
  size_t bytes = 0;
  for (int c = 0; c < cinfo->num_components; c++) {
    const jpeg_component_info *comp = &cinfo->comp_info[c];
    const size_t blocks = ((size_t)comp->width_in_blocks + (size_t)comp->h_samp_factor) *
                          ((size_t)comp->height_in_blocks + (size_t)comp->v_samp_factor);
    bytes += blocks * DCTSIZE2 * sizeof(JCOEF);
  }
  return bytes;
}

static int decode_jpeg(read_state *r, FILE *file) {
  if (setjmp(r->failure.jump)) return -1;
  jpeg_create_decompress(&r->cinfo);
  jpeg_stdio_src(&r->cinfo, file);
  jpeg_read_header(&r->cinfo, TRUE);
  if (r->cinfo.jpeg_color_space == JCS_CMYK || r->cinfo.jpeg_color_space == JCS_YCCK) {
    snprintf(r->failure.msg, r->failure.msg_size, "CMYK JPEG files are not supported; save it as RGB");
    return -1;
  }
  if (r->cinfo.num_components != 1 && r->cinfo.num_components != 3) {
    snprintf(r->failure.msg, r->failure.msg_size, "unsupported JPEG with %d components", r->cinfo.num_components);
    return -1;
  }
  const int width = (int)r->cinfo.image_width, height = (int)r->cinfo.image_height;
  const int channels = r->cinfo.num_components == 1 ? 1 : 3;
  const size_t decode_bytes = image_bytes(width, height, channels, IMAGE_U8, coefficient_bytes(&r->cinfo));
  if (r->header) *r->header = (image_header){width, height, channels, IMAGE_U8, decode_bytes};
  if (!r->out) return 0;
  if (image_check_budget(width, height, decode_bytes, r->budget, "JPEG", r->failure.msg, r->failure.msg_size) != 0)
    return -1;
  /* libjpeg's own pool is held to the same budget: what it allocates beyond it fails instead of growing. */
  if (r->budget != IMAGE_NO_BUDGET) r->cinfo.mem->max_memory_to_use = r->budget > LONG_MAX ? LONG_MAX : (long)r->budget;
  r->cinfo.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&r->cinfo);
  if (r->cinfo.output_components != channels || (int)r->cinfo.output_width != width ||
      (int)r->cinfo.output_height != height) {
    snprintf(r->failure.msg, r->failure.msg_size, "unsupported JPEG: decodes to %d components of %ux%u",
             r->cinfo.output_components, (unsigned)r->cinfo.output_width, (unsigned)r->cinfo.output_height);
    return -1;
  }
  if (image_allocate(r->out, width, height, channels, IMAGE_U8, r->failure.msg, r->failure.msg_size) != 0)
    return -1;
  const size_t row_bytes = (size_t)width * (size_t)channels;
  while (r->cinfo.output_scanline < r->cinfo.output_height) {
    JSAMPROW row = (JSAMPROW)r->out->data + (size_t)r->cinfo.output_scanline * row_bytes;
    jpeg_read_scanlines(&r->cinfo, &row, 1);
  }
  jpeg_finish_decompress(&r->cinfo);
  if (r->failure.truncated) {
    snprintf(r->failure.msg, r->failure.msg_size, "truncated JPEG: the file ends in the middle of the image data");
    return -1;
  }
  return 0;
}

int read_jpeg_file(FILE *file, size_t budget, image_header *header, image_buffer *out, char *msg, size_t msg_size) {
  if (out) memset(out, 0, sizeof *out);
  read_state r;
  memset(&r, 0, sizeof r);
  r.budget = budget;
  r.header = header;
  r.out = out;
  r.failure.msg = msg;
  r.failure.msg_size = msg_size;
  r.cinfo.err = jpeg_std_error(&r.failure.manager);
  r.failure.manager.error_exit = on_jpeg_error;
  r.failure.manager.emit_message = on_jpeg_message;
  const int status = decode_jpeg(&r, file);
  jpeg_destroy_decompress(&r.cinfo);
  if (status != 0 && out) image_free(out);
  return status;
}
