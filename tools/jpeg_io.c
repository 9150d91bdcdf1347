/* jpeg_io.c - JPEG pictures in (gray or colour, 8 bits), through libjpeg.
 * libjpeg's default error handler prints and exits; ours formats the message and longjmps back instead. */
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
  image_buffer *out;
} read_state;

static int decode_jpeg(read_state *r, FILE *file) {
  if (setjmp(r->failure.jump)) return -1;
  jpeg_create_decompress(&r->cinfo);
  jpeg_stdio_src(&r->cinfo, file);
  jpeg_read_header(&r->cinfo, TRUE);
  if (r->cinfo.jpeg_color_space == JCS_CMYK || r->cinfo.jpeg_color_space == JCS_YCCK) {
    snprintf(r->failure.msg, r->failure.msg_size, "CMYK JPEG files are not supported; save it as RGB");
    return -1;
  }
  r->cinfo.out_color_space = r->cinfo.num_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&r->cinfo);
  const int channels = r->cinfo.output_components;
  if (channels != 1 && channels != 3) {
    snprintf(r->failure.msg, r->failure.msg_size, "unsupported JPEG with %d components", channels);
    return -1;
  }
  if (image_allocate(r->out, (int)r->cinfo.output_width, (int)r->cinfo.output_height, channels, IMAGE_U8,
                     r->failure.msg, r->failure.msg_size) != 0)
    return -1;
  const size_t row_bytes = (size_t)r->out->width * (size_t)channels;
  while (r->cinfo.output_scanline < r->cinfo.output_height) {
    JSAMPROW row = (JSAMPROW)r->out->data + (size_t)r->cinfo.output_scanline * row_bytes;
    jpeg_read_scanlines(&r->cinfo, &row, 1);
  }
  jpeg_finish_decompress(&r->cinfo);
  if (r->failure.truncated) {
    snprintf(r->failure.msg, r->failure.msg_size, "invalid JPEG: the file is truncated");
    return -1;
  }
  return 0;
}

int read_jpeg_file(FILE *file, image_buffer *out, char *msg, size_t msg_size) {
  memset(out, 0, sizeof *out);
  read_state r;
  memset(&r, 0, sizeof r);
  r.out = out;
  r.failure.msg = msg;
  r.failure.msg_size = msg_size;
  r.cinfo.err = jpeg_std_error(&r.failure.manager);
  r.failure.manager.error_exit = on_jpeg_error;
  r.failure.manager.emit_message = on_jpeg_message;
  const int status = decode_jpeg(&r, file);
  jpeg_destroy_decompress(&r.cinfo);
  if (status != 0) image_free(out);
  return status;
}
