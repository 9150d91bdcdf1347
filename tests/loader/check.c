#include "check.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *check_status_name(vm_status s) {
  switch (s) {
  case VM_OK: return "VM_OK";
  case VM_ERR_INVALID_ARGUMENT: return "VM_ERR_INVALID_ARGUMENT";
  case VM_ERR_IO: return "VM_ERR_IO";
  case VM_ERR_FORMAT: return "VM_ERR_FORMAT";
  case VM_ERR_MODEL: return "VM_ERR_MODEL";
  case VM_ERR_UNSUPPORTED: return "VM_ERR_UNSUPPORTED";
  case VM_ERR_OUT_OF_MEMORY: return "VM_ERR_OUT_OF_MEMORY";
  case VM_ERR_DEVICE_OUT_OF_MEMORY: return "VM_ERR_DEVICE_OUT_OF_MEMORY";
  case VM_ERR_DEVICE: return "VM_ERR_DEVICE";
  case VM_ERR_CANCELLED: return "VM_ERR_CANCELLED";
  case VM_ERR_INTERNAL: return "VM_ERR_INTERNAL";
  }
  return "VM_ERR_?";
}

bool check_true(checker *c, bool ok, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s", ok ? "ok   " : "FAIL ");
  vprintf(fmt, ap);
  printf("\n");
  va_end(ap);
  if (ok) c->passed++;
  else c->failed++;
  fflush(stdout);
  return ok;
}

bool check_status(checker *c, const char *what, vm_status got, const vm_error *err, vm_status want,
                  const char *needle1, const char *needle2) {
  const char *msg = err ? err->message : "";
  bool ok = got == want;
  if (ok && want != VM_OK) {
    if (needle1 && !strstr(msg, needle1)) ok = false;
    if (needle2 && !strstr(msg, needle2)) ok = false;
  }
  if (ok) {
    if (got == VM_OK) return check_true(c, true, "%s: VM_OK", what);
    return check_true(c, true, "%s: %s: %s", what, check_status_name(got), msg);
  }
  return check_true(c, false, "%s: got %s (%s), wanted %s mentioning \"%s\"%s%s%s", what, check_status_name(got),
                    got == VM_OK ? "" : msg, check_status_name(want), needle1 ? needle1 : "",
                    needle2 ? " and \"" : "", needle2 ? needle2 : "", needle2 ? "\"" : "");
}

int check_finish(const checker *c, const char *suite) {
  printf("%s: %d passed, %d failed\n", suite, c->passed, c->failed);
  return c->failed == 0 && c->passed > 0 ? 0 : 1;
}
