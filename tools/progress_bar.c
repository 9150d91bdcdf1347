/* progress_bar.c - a carriage-return redrawn bar, "vitmatte: [#####.....]  50% encoder".
 * Redraws only on visible change, so a callback at every layer costs nothing on a slow terminal. */
#include "progress_bar.h"

#include <stdio.h>
#include <string.h>

enum { BAR_CELLS = 30, LINE_WIDTH = 72 };

void progress_bar_init(progress_bar *bar, int visible, const volatile sig_atomic_t *cancel_flag) {
  memset(bar, 0, sizeof *bar);
  bar->visible = visible;
  bar->last_percent = -1;
  bar->cancel_flag = cancel_flag;
}

int progress_bar_report(void *user_data, const char *stage, double fraction) {
  progress_bar *bar = user_data;
  const int cancel = bar->cancel_flag && *bar->cancel_flag;
  if (!bar->visible || cancel) return cancel;
  if (!(fraction >= 0.0)) fraction = 0.0; /* also catches NaN */
  if (fraction > 1.0) fraction = 1.0;
  const int percent = (int)(fraction * 100.0);
  if (!stage) stage = "";
  if (percent == bar->last_percent && bar->last_stage && strcmp(stage, bar->last_stage) == 0) return 0;
  bar->last_percent = percent;
  bar->last_stage = stage;
  char cells[BAR_CELLS + 1];
  const int filled = (int)(fraction * BAR_CELLS);
  for (int i = 0; i < BAR_CELLS; i++) cells[i] = i < filled ? '#' : '.';
  cells[BAR_CELLS] = '\0';
  /* Padding to a fixed width wipes what a longer stage name left on the line. */
  fprintf(stderr, "\rvitmatte: [%s] %3d%% %-*.*s", cells, percent, LINE_WIDTH - BAR_CELLS - 18,
          LINE_WIDTH - BAR_CELLS - 18, stage);
  fflush(stderr);
  bar->drawn = 1;
  return 0;
}

void progress_bar_clear(progress_bar *bar) {
  if (!bar->drawn) return;
  fprintf(stderr, "\r%*s\r", LINE_WIDTH, "");
  fflush(stderr);
  bar->drawn = 0;
}
