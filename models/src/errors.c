/* errors.c - the model manager's status names and the one way its functions fill a vmm_error.
 * Owns: vmm_status_string and vmm_fail. */
#include <stdarg.h>
#include <stdio.h>

#include "models_internal.h"
#include "vitmatte.h" /* vm_text_sanitize */

vmm_status vmm_fail(vmm_error *err, vmm_status status, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    /* Messages quote server text (X-Error-Message, URLs, download.json) that the plug-in puts into GTK labels and
     * the CLI onto a terminal: valid UTF-8 on one line, whatever the server sent (as the engine's vm_fail). */
    vm_text_sanitize(err->message, sizeof err->message);
    err->status = status;
  }
  return status;
}

void vmm_error_clear(vmm_error *err) {
  if (err) {
    err->status = VMM_OK;
    err->message[0] = '\0';
  }
}

const char *vmm_status_string(vmm_status status) {
  switch (status) {
  case VMM_OK: return "ok";
  case VMM_ERR_INVALID_ARGUMENT: return "invalid argument";
  case VMM_ERR_NOT_INSTALLED: return "model not downloaded";
  case VMM_ERR_NOT_FOUND: return "not found on the server";
  case VMM_ERR_HTTP: return "HTTP error";
  case VMM_ERR_NETWORK: return "network error";
  case VMM_ERR_DISK_FULL: return "disk full";
  case VMM_ERR_IO: return "file error";
  case VMM_ERR_CHECKSUM: return "checksum mismatch";
  case VMM_ERR_BUSY: return "download already running";
  case VMM_ERR_CANCELLED: return "cancelled";
  case VMM_ERR_OUT_OF_MEMORY: return "out of memory";
  case VMM_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}
