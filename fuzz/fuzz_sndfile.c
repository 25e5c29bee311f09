/* fuzz_sndfile.c — the libsndfile loading path through virtual I/O: any
 * bytes as a sound file (WAV, FLAC, AIFF ...), integer PCM scaled. */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ncs_site s = fuzz_site("trace.wav");
    s.scale_mv = 10.0;
    fuzz_decode(data, size, &s);
    return 0;
}
