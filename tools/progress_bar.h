/* progress_bar.h - the one-line progress display on a terminal, and the path by which Ctrl-C reaches the engine.
 * Owns: drawing and erasing the bar on stderr, and answering the engine's progress callback with "cancel". */
#ifndef VITMATTE_PROGRESS_BAR_H
#define VITMATTE_PROGRESS_BAR_H

#include <signal.h>

/* The longest text the bar compares whole (with its NUL): a caller's text that fits is redrawn only when it changes. */
enum { PROGRESS_TEXT_SIZE = 96 };

typedef struct progress_bar {
  int visible;                                /* draw at all (stderr is a terminal and not --quiet) */
  int drawn;                                  /* something is on the line now */
  int last_percent;
  char last_text[PROGRESS_TEXT_SIZE];         /* the stage or text drawn last */
  const volatile sig_atomic_t *cancel_flag;   /* set by the SIGINT handler */
} progress_bar;

void progress_bar_init(progress_bar *bar, int visible, const volatile sig_atomic_t *cancel_flag);

/* Matches vm_progress_fn: redraws when the stage or the whole percent changes; returns non-zero once the user
 * has pressed Ctrl-C. */
int progress_bar_report(void *bar, const char *stage, double fraction);

/* The same bar with a text that changes in place ("46.5/103.3 MB, 12.3 MB/s"; at most PROGRESS_TEXT_SIZE - 1 bytes
 * are compared): redraws when the whole percent or the text changed. Returns non-zero once the user has pressed
 * Ctrl-C. */
int progress_bar_report_text(progress_bar *bar, const char *text, double fraction);

/* Erases the bar so the next message starts on a clean line. */
void progress_bar_clear(progress_bar *bar);

#endif
