/* replay.c — runs a fuzz target's LLVMFuzzerTestOneInput() on files (the
 * seeds and the regression cases: inputs that once crashed), without
 * libFuzzer, so `make check` keeps every fixed crash fixed. */
#include "fuzz.h"

int main(int argc, char **argv)
{
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            perror(argv[i]);
            bad = 1;
            continue;
        }
        uint8_t *buf = NULL;
        size_t n = 0, cap = 0;
        int c;
        while ((c = fgetc(f)) != EOF) {
            if (n == cap) {
                cap = cap ? 2 * cap : 4096;
                uint8_t *p = realloc(buf, cap);
                if (!p)
                    abort();
                buf = p;
            }
            buf[n++] = (uint8_t)c;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
        free(buf);
    }
    printf("replayed %d input%s\n", argc - 1, argc == 2 ? "" : "s");
    return bad;
}
