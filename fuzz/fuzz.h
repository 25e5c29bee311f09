/* fuzz.h — what the fuzz targets share. Each target defines
 * LLVMFuzzerTestOneInput(); libFuzzer drives it under `make fuzz`, and
 * replay.c feeds it the seed and regression files under `make check`. */
#ifndef NCS_FUZZ_H
#define NCS_FUZZ_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ncs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A site for a file of the given name, as study.ini would give it. */
static inline ncs_site fuzz_site(const char *file)
{
    ncs_site s;
    memset(&s, 0, sizeof s);
    s.name = "site";
    s.file = (char *)file;
    s.path = (char *)file;
    s.distance_mm = 70;
    s.channel = 1;
    s.scale_mv = s.rate_hz = NAN;
    s.onset_ms = s.peak_ms = s.end_ms = NAN;
    s.entrapment = -1;
    return s;
}

/* Stops the program when a claim about the result is false: a fuzzer
 * reports that as a crash, like any other. */
#define FUZZ_CHECK(c)                                                               \
    do {                                                                            \
        if (!(c)) {                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);   \
            abort();                                                                \
        }                                                                           \
    } while (0)

/* Decodes the bytes as the site's waveform and checks the outcome: a wave
 * of finite samples in the accepted range, or an error with a message and
 * nothing allocated. */
static inline void fuzz_decode(const uint8_t *data, size_t size, const ncs_site *s)
{
    ncs_wave w;
    ncs_error e;
    if (ncs_wave_decode(data, size, s, "fuzz", &w, NULL, &e) == NCS_OK) {
        FUZZ_CHECK(w.n > 0 && w.mv && w.fs_hz >= NCS_MIN_RATE_HZ && w.fs_hz <= NCS_MAX_RATE_HZ);
        for (size_t i = 0; i < w.n; i++)
            FUZZ_CHECK(isfinite(w.mv[i]));
    } else {
        FUZZ_CHECK(e.code != NCS_OK && e.message[0] && !w.mv);
    }
    ncs_wave_free(&w);
}

#endif
