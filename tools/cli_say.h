/* cli_say.h - the CLI's one way of telling the user something: "vitmatte: <text>" on a line of its own on stderr.
 * Shared by the matting run (vitmatte.c) and the model commands (cmd_models.c). */
#ifndef VITMATTE_CLI_SAY_H
#define VITMATTE_CLI_SAY_H

void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
