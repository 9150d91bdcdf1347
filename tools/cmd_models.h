/* cmd_models.h - the CLI's model commands: `vitmatte models`, `vitmatte download NAME`, and what --model NAME means.
 * Owns: their arguments, output and exit statuses; the model manager (vitmatte_models.h) does the work. */
#ifndef VITMATTE_CMD_MODELS_H
#define VITMATTE_CMD_MODELS_H

#include <signal.h>
#include <stddef.h>

/* 1 when argv[1] names a model command ("models", "download"). */
int cmd_models_is_command(int argc, char **argv);

/* Runs the command in argv[1]; `interrupted` is the Ctrl-C flag (a download stops and keeps what arrived).
 * Returns the exit status: 0, 1 usage, 2 not found / not downloaded, 3 network, disk or checksum, 130 cancelled. */
int cmd_models_run(int argc, char **argv, const volatile sig_atomic_t *interrupted);

/* The folder --model `given` stands for: a path as it is, a model name (small, base, ...) as its downloaded folder.
 * Returns 0 with *path malloc'ed, or -1 with `msg` saying how to download a known model that is missing. */
int cmd_models_resolve(const char *given, char **path, char *msg, size_t msg_size);

#endif
