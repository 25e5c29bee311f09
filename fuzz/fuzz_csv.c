/* fuzz_csv.c — the CSV loader: any bytes as a .csv waveform, read with and
 * without rate_hz (the first byte chooses). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ncs_site s = fuzz_site("trace.csv");
    if (size > 0 && (data[0] & 1))
        s.rate_hz = 10000;
    fuzz_decode(data, size, &s);
    return 0;
}
