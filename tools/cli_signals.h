/* cli_signals.h - SIGINT, SIGTERM and SIGHUP for the CLI: each asks the run to stop; none leaves a partial file.
 * Owns: the handlers, the one flag they set, and the stretch (the output write) a second signal cannot cut short. */
#ifndef VITMATTE_CLI_SIGNALS_H
#define VITMATTE_CLI_SIGNALS_H

#include <signal.h>

/* Installs the handlers. The first signal sets the flag: the engine cancels at its next progress report, and a
 * write in progress finishes and is discarded. A second signal ends the process at once (for an engine stuck
 * where it never reports), except while the output is being written, where it is only recorded. An ignored
 * SIGHUP (nohup) stays ignored. */
void cli_signals_install(void);

/* The number of the first signal caught, 0 while none came: the flag the engine's progress callback and the
 * output writer read. */
const volatile sig_atomic_t *cli_signals_flag(void);

/* Marks the output write (1) and its end (0): no signal ends the process in between, so the temporary file is
 * always removed or renamed by the code that made it. */
void cli_signals_writing(int writing);

/* The exit status the shell gives death by the first caught signal (128 + its number), or 0 if none came. */
int cli_signals_exit_status(void);

#endif
