/* fuzz_csv.c — the CSV loader: any bytes as a .csv waveform, read with and
 * without rate_hz (the first byte chooses). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ncs_site s = fuzz_site("trace.csv");
    if (size > 0 && (data[0] & 1))
        s.rate_hz = 10000;
    ncs_wave w;
    ncs_error e;
    if (ncs_wave_decode(data, size, &s, "fuzz", &w, NULL, &e) == NCS_OK) {
        FUZZ_CHECK(w.n > 0 && w.mv && w.fs_hz >= NCS_MIN_RATE_HZ && w.fs_hz <= NCS_MAX_RATE_HZ);
        for (size_t i = 0; i < w.n; i++)
            FUZZ_CHECK(isfinite(w.mv[i]));
    } else {
        FUZZ_CHECK(e.code != NCS_OK && e.message[0] && !w.mv);
    }
    ncs_wave_free(&w);
    return 0;
}
