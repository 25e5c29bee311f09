/* fuzz_edf.c — the EDF/EDF+ reader (lib/edf.c) and a site's trace chosen
 * from it: any bytes as a .edf file, parsed alone (every annotation placed
 * in a record that exists), then decoded with the record chosen by number,
 * by annotation, by neither, or the signal by label (the size chooses, so
 * the file's bytes stay the seed's). */
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ncs_edf e;
    ncs_error err;
    if (ncs_edf_parse(data, size, "trace.edf", &e, &err) == NCS_OK) {
        FUZZ_CHECK(e.n_records >= 1 && e.n_signals >= 1 && e.signals);
        for (size_t i = 0; i < e.n_annotations; i++) {
            const ncs_edf_annotation *a = &e.annotations[i];
            FUZZ_CHECK(a->record >= 0 && a->record < e.n_records && a->text && a->text[0]);
            FUZZ_CHECK(isfinite(a->at_ms));
        }
        ncs_edf_free(&e);
    } else {
        FUZZ_CHECK(err.message[0] && !e.signals && !e.annotations);
    }
    ncs_site s = fuzz_site("trace.edf");
    switch (size % 4) {
    case 0:
        s.record = 2;
        break;
    case 1:
        s.annotation = (char *)"Median R Wrist";
        break;
    case 2:
        s.channel_label = (char *)"EMG";
        s.record = 1;
        break;
    default:
        break;
    }
    fuzz_decode(data, size, &s);
    return 0;
}
