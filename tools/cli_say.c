/* cli_say.c - the CLI's one way of telling the user something: "vitmatte: <text>" on a line of its own on stderr. */
#include "cli_say.h"

#include <stdarg.h>
#include <stdio.h>

void say(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("vitmatte: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}
