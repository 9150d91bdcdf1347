#include "error.h"

#include <stdarg.h>
#include <stdio.h>

vm_status vm_fail(vm_error *err, vm_status status, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* Messages quote bytes from files (tensor names, config strings): valid UTF-8 on one line, whatever those are. */
    vm_text_sanitize(err->message, sizeof err->message);
    err->status = status;
  }
  return status;
}

void vm_error_clear(vm_error *err) {
  if (err) {
    err->status = VM_OK;
    err->message[0] = '\0';
  }
}

const char *vm_status_string(vm_status status) {
  switch (status) {
  case VM_OK: return "ok";
  case VM_ERR_INVALID_ARGUMENT: return "invalid argument";
  case VM_ERR_IO: return "input/output error";
  case VM_ERR_FORMAT: return "bad file format";
  case VM_ERR_MODEL: return "checkpoint does not match its config";
  case VM_ERR_UNSUPPORTED: return "unsupported";
  case VM_ERR_OUT_OF_MEMORY: return "out of memory";
  case VM_ERR_DEVICE_OUT_OF_MEMORY: return "out of GPU memory";
  case VM_ERR_DEVICE: return "GPU error";
  case VM_ERR_CANCELLED: return "cancelled";
  case VM_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}
