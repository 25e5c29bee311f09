/* fuzz_measure.c — the whole per-trace analysis on arbitrary samples: the
 * first bytes choose the rate and the pre-trigger, the rest are 16-bit
 * samples (up to +-32.8 mV). Whatever the trace, the markers must be
 * consistent: null where not measured, in order where measured. */
#include "fuzz.h"

static ncs_analyser *an;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 + 2 * 40)
        return 0;
    if (!an) {
        ncs_error e;
        an = ncs_analyser_create(&e);
    }
    static const double rates[] = {2000, 5000, 10000, 20000, 25000, 48000};
    ncs_wave w;
    memset(&w, 0, sizeof w);
    w.fs_hz = rates[data[0] % 6];
    w.stim_ms = (double)(data[1] % 64) / 10.0;
    w.rail_mv = (data[2] & 1) ? 32.767 : NAN;
    size_t n = (size - 4) / 2;
    if (n > 200000)
        n = 200000;
    w.n = n;
    w.mv = malloc(n * sizeof *w.mv);
    if (!w.mv)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int16_t v = (int16_t)((uint16_t)data[4 + 2 * i] | (uint16_t)data[5 + 2 * i] << 8);
        w.mv[i] = v / 1000.0;
        if (!isnan(w.rail_mv) && (v == 32767 || v == -32768))
            w.clipped_n++;
    }
    ncs_site s = fuzz_site("trace.wav");
    if (data[3] & 1) { /* manual markers, sometimes */
        s.onset_ms = data[3] / 20.0;
        s.end_ms = s.onset_ms + 3.0;
    }
    ncs_markers m;
    ncs_error e;
    ncs_warnings warn = {0};
    double *clean = malloc(n * sizeof *clean);
    ncs_status rc = ncs_measure(an, &w, &s, "fuzz", &m, clean, &warn, &e);
    /* markers placed by hand outside the record, or out of order with those
     * found, are refused (naming the key); nothing else may fail */
    int manual = !isnan(s.onset_ms) || !isnan(s.peak_ms) || !isnan(s.end_ms);
    FUZZ_CHECK(rc == NCS_OK || (manual && rc == NCS_ERR_INI_VALUE && e.code == rc
                                && (strstr(e.message, "_ms") != NULL)));
    if (rc != NCS_OK) {
        free(clean);
        free(w.mv);
        ncs_warnings_free(&warn);
        return 0;
    }
    FUZZ_CHECK(!m.response == !!(m.flags & NCS_FLAG_NO_RESPONSE));
    if (!m.response) {
        FUZZ_CHECK(isnan(m.onset_ms) && isnan(m.peak_ms) && isnan(m.amp_mv)
                   && isnan(m.neg_area_mvms) && isnan(m.neg_dur_ms));
    } else {
        FUZZ_CHECK(isfinite(m.peak_ms));
        if (isfinite(m.amp_mv) && !m.manual_peak)
            FUZZ_CHECK(m.amp_mv > 0);
        if (isfinite(m.onset_ms) && isfinite(m.end_ms) && !m.manual_onset && !m.manual_end)
            FUZZ_CHECK(m.onset_ms <= m.end_ms + 1e-9);
        if (isfinite(m.neg_dur_ms))
            FUZZ_CHECK(fabs(m.neg_dur_ms - (m.end_ms - m.onset_ms)) < 1e-6);
    }
    FUZZ_CHECK(isfinite(m.noise_uv) && m.noise_uv >= 0);
    /* every value carries a half-width, >= 0 (a marker placed by hand: 0),
     * and a value not measured none */
    const double v[5] = {m.onset_ms, m.peak_ms, m.amp_mv, m.neg_dur_ms, m.neg_area_mvms};
    const double u[5] = {m.u.onset_ms, m.u.peak_ms, m.u.amp_mv, m.u.neg_dur_ms,
                         m.u.neg_area_mvms};
    for (int k = 0; k < 5; k++)
        FUZZ_CHECK(isnan(v[k]) ? isnan(u[k]) : u[k] >= 0);
    for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(isfinite(clean[i]));
    free(clean);
    free(w.mv);
    ncs_warnings_free(&warn);
    return 0;
}
