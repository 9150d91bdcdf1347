/* replay_main.c - a fuzz target's main without libFuzzer: runs each input file once, so the seed and regression
 * corpora replay in every build (gcc, normal and ASan+UBSan), not only in the clang fuzz build. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    FILE *file = fopen(argv[i], "rb");
    if (!file) {
      fprintf(stderr, "replay: cannot open %s\n", argv[i]);
      return 1;
    }
    uint8_t *data = NULL;
    size_t size = 0, room = 0;
    for (;;) {
      if (size == room) {
        room = room ? 2 * room : 4096;
        uint8_t *grown = realloc(data, room);
        if (!grown) return 1;
        data = grown;
      }
      const size_t got = fread(data + size, 1, room - size, file);
      size += got;
      if (got == 0) break;
    }
    fclose(file);
    LLVMFuzzerTestOneInput(data, size);
    printf("ran %s (%zu bytes)\n", argv[i], size);
    free(data);
  }
  return 0;
}
