/* output_file.h - creating a file so that readers see either the old file or the complete new one, never a part.
 * Owns: the temporary file beside the target, its permissions, and the final rename or removal. */
#ifndef VITMATTE_OUTPUT_FILE_H
#define VITMATTE_OUTPUT_FILE_H

#include <stddef.h>

typedef struct output_file {
  char *final_path;
  char *temp_path; /* in the target's folder, so the rename stays on one file system and is atomic */
  int fd;          /* open for writing; whoever writes the contents takes it and closes it */
} output_file;

/* Creates the temporary file. On failure returns -1 with a one-line reason in msg and leaves nothing behind. */
int output_file_begin(output_file *file, const char *path, char *msg, size_t msg_size);

/* Moves the complete temporary file onto the final name. On failure removes it and returns -1. */
int output_file_commit(output_file *file, char *msg, size_t msg_size);

/* Removes the temporary file (if still there) and frees the names; safe after commit and after a failed begin. */
void output_file_end(output_file *file);

#endif
