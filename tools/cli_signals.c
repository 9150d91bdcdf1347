/* cli_signals.c - what SIGINT, SIGTERM and SIGHUP do to a vitmatte run. The handlers only store numbers (the one
 * piece of process-wide state: a handler has no other way to reach the running code); the code that made the
 * temporary output file is always the one that removes or renames it. */
#include "cli_signals.h"

#include <string.h>

static volatile sig_atomic_t caught = 0;
static volatile sig_atomic_t writing_output = 0;

static const int handled[] = {SIGINT, SIGTERM, SIGHUP};

static void on_signal(int signal_number) {
  if (!caught) {
    caught = signal_number;
    return;
  }
  if (writing_output) return; /* the write ends within a moment and the run stops after it */
  /* A second signal outside the write: the default action (the process ends; no temporary file exists). */
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = SIG_DFL;
  sigemptyset(&action.sa_mask);
  sigaction(signal_number, &action, NULL);
  raise(signal_number);
}

void cli_signals_install(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_signal;
  sigemptyset(&action.sa_mask);
  /* SA_RESTART keeps a signal during file reading or writing from turning into an "Interrupted system call"
   * error: the code goes on to its next check of the flag. */
  action.sa_flags = SA_RESTART;
  for (size_t i = 0; i < sizeof handled / sizeof *handled; i++) {
    /* An ignored SIGHUP is nohup's request to outlive the terminal: kept. SIGINT is handled even when inherited as
     * ignored (a script's background job), so such a run can still be cancelled cleanly. */
    struct sigaction old;
    if (handled[i] == SIGHUP && sigaction(SIGHUP, NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
    sigaction(handled[i], &action, NULL);
  }
}

const volatile sig_atomic_t *cli_signals_flag(void) { return &caught; }

void cli_signals_writing(int writing) { writing_output = writing ? 1 : 0; }

int cli_signals_exit_status(void) { return caught ? 128 + caught : 0; }
