/* output_file.h - creating a file so that readers see either the old file or the complete new one, never a part.
 * Owns: the rules for what may be written (folders, links, read-only files), the temporary file beside the target,
 * its permissions, and the final rename or removal. */
#ifndef VITMATTE_OUTPUT_FILE_H
#define VITMATTE_OUTPUT_FILE_H

#include <signal.h>
#include <stddef.h>

/* The rules, as cp and convert follow them for writing through a name:
 *  - a symbolic link is followed: the file it points to is replaced and the link stays (a link to a file that does
 *    not exist is refused, as GNU cp refuses to write through a dangling link);
 *  - an existing file is replaced keeping its permission bits; one without any write permission (or that this
 *    user may not write) is refused, never replaced silently; so is anything that is not a regular file;
 *  - the folder must exist and be writable. */

/* Checks those rules for `path` without creating anything, so a run can refuse before it computes. 0, or -1 with
 * a one-line reason in msg. */
int output_file_check(const char *path, char *msg, size_t msg_size);

/* Whether `path` (followed through links) and `other` are the same existing file. */
int output_file_same(const char *path, const char *other);

typedef struct output_file {
  char *final_path; /* the file replaced: the link's target when the given path was a link */
  char *temp_path;  /* in the target's folder, so the rename stays on one file system and is atomic */
  int fd;           /* open for writing; whoever writes the contents takes it and closes it */
  const volatile sig_atomic_t *cancel; /* when it is non-zero at commit, the new file is discarded */
} output_file;

/* Applies the rules and creates the temporary file. `cancel` may be NULL. On failure returns -1 with a one-line
 * reason in msg and leaves nothing behind. */
int output_file_begin(output_file *file, const char *path, const volatile sig_atomic_t *cancel, char *msg,
                      size_t msg_size);

/* Moves the complete temporary file onto the final name, unless *cancel became non-zero meanwhile (then -1 with
 * "interrupted"). On failure the caller's output_file_end removes the temporary file. */
int output_file_commit(output_file *file, char *msg, size_t msg_size);

/* Removes the temporary file (if still there) and frees the names; safe after commit and after a failed begin. */
void output_file_end(output_file *file);

#endif
