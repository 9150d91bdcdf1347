/* progress_bar.c - a carriage-return redrawn bar, "vitmatte: [#####.....]  50% encoder".
 * Redraws only on visible change, so a callback at every layer costs nothing on a slow terminal. */
#include "progress_bar.h"

#include <stdio.h>
#include <string.h>

enum { BAR_CELLS = 30, LINE_WIDTH = 79, TEXT_WIDTH = LINE_WIDTH - BAR_CELLS - 18 };

void progress_bar_init(progress_bar *bar, int visible, const volatile sig_atomic_t *cancel_flag) {
  memset(bar, 0, sizeof *bar);
  bar->visible = visible;
  bar->last_percent = -1;
  bar->cancel_flag = cancel_flag;
}

static int clamp_percent(double *fraction) {
  if (!(*fraction >= 0.0)) *fraction = 0.0; /* also catches NaN */
  if (*fraction > 1.0) *fraction = 1.0;
  return (int)(*fraction * 100.0);
}

static void draw(progress_bar *bar, double fraction, int percent, const char *text) {
  char cells[BAR_CELLS + 1];
  const int filled = (int)(fraction * BAR_CELLS);
  for (int i = 0; i < BAR_CELLS; i++) cells[i] = i < filled ? '#' : '.';
  cells[BAR_CELLS] = '\0';
  /* Padding to a fixed width wipes what a longer text left on the line. */
  fprintf(stderr, "\rvitmatte: [%s] %3d%% %-*.*s", cells, percent, TEXT_WIDTH, TEXT_WIDTH, text);
  fflush(stderr);
  bar->drawn = 1;
}

int progress_bar_report(void *user_data, const char *stage, double fraction) {
  return progress_bar_report_text(user_data, stage ? stage : "", fraction);
}

int progress_bar_report_text(progress_bar *bar, const char *text, double fraction) {
  const int cancel = bar->cancel_flag && *bar->cancel_flag;
  if (!bar->visible || cancel) return cancel;
  const int percent = clamp_percent(&fraction);
  if (percent == bar->last_percent && strcmp(text, bar->last_text) == 0) return 0;
  bar->last_percent = percent;
  snprintf(bar->last_text, sizeof bar->last_text, "%s", text);
  draw(bar, fraction, percent, text);
  return 0;
}

void progress_bar_clear(progress_bar *bar) {
  if (!bar->drawn) return;
  fprintf(stderr, "\r%*s\r", LINE_WIDTH, "");
  fflush(stderr);
  bar->drawn = 0;
}
