/* markers.c — SPEC 2's measures on a cleaned trace.
 *
 * Peak, end and area are read off the smoothed trace (clean.c). The onset is
 * the 1 % take-off; when 1 % of the amplitude is within the noise, the
 * crossing is taken at a level clear of the noise and carried back to the
 * 1 % level along the rising edge: near its take-off a CMAP grows about as
 * (t - t0)^2, so sqrt(-v) is linear in t there; a straight-line fit of
 * sqrt(-v) over the low part of the edge gives t0 and the slope, and so the
 * time of the 1 % level.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "internal.h"

#define LOCAL_BASE_MS 1.0 /* window of the local baseline before the onset */

static const char *const flag_names[NCS_FLAG__COUNT] = {
    "no-response", "clipped", "noisy", "artefact-overlap", "truncated",
    "inverted-polarity-suspected", "low-rate", "excluded"};

const char *ncs_flag_name(unsigned flag)
{
    for (int i = 0; i < NCS_FLAG__COUNT; i++)
        if (flag == 1u << i)
            return flag_names[i];
    return NULL;
}

size_t ncs_flag_names(unsigned flags, const char *names[])
{
    size_t n = 0;
    for (int i = 0; i < NCS_FLAG__COUNT; i++)
        if (flags & (1u << i))
            names[n++] = flag_names[i];
    return n;
}

/* Value of y at fractional index fi (linear interpolation). */
static double at(const double *y, size_t n, double fi)
{
    if (fi <= 0)
        return y[0];
    size_t i = (size_t)fi;
    if (i >= n - 1)
        return y[n - 1];
    double f = fi - (double)i;
    return y[i] + f * (y[i + 1] - y[i]);
}

/* Integral of -y over fractional indices [fa, fb], in mV * samples. */
static double neg_area(const double *y, size_t n, double fa, double fb)
{
    double sum = 0.0;
    double a = fa;
    while (a < fb) {
        double b = floor(a) + 1.0;
        if (b > fb)
            b = fb;
        sum += -0.5 * (at(y, n, a) + at(y, n, b)) * (b - a);
        a = b;
    }
    return sum;
}

/* Fractional index where s, on its way down to the peak at ip, first
 * crosses `level` (a negative number): back from ip to where s was last
 * above `half` (half-way to the level), then forward to the first crossing
 * of the level. A slow foot that hovers about the level in the noise is then
 * taken where it first exceeds it (SPEC 2: the earliest time), not where the
 * noise last dips back. */
static double crossing_first(const double *s, size_t ip, size_t i_min, double level,
                             double half)
{
    size_t i = ip;
    while (i > i_min && s[i] <= half)
        i--;
    while (i < ip && s[i + 1] > level)
        i++;
    if (s[i] <= level || i >= ip) /* (a peak above the level: an odd baseline) */
        return (double)i;
    double d = s[i] - s[i + 1];
    return (double)i + (d > 0 ? (s[i] - level) / d : 0.0);
}

static void set_nan(ncs_markers *m)
{
    m->onset_ms = m->peak_ms = m->end_ms = NAN;
    m->amp_mv = m->p2p_mv = m->neg_dur_ms = m->neg_area_mvms = NAN;
}

static void warn_flags(ncs_warnings *warn, const char *where, const ncs_markers *m,
                       const ncs_clean *c)
{
    unsigned f = m->flags;
    if (f & NCS_FLAG_NO_RESPONSE)
        ncs_warn(warn, where, "no-response",
                 "no response: no negative deflection stands clearly above the "
                 "noise (%.0f uV RMS)", m->noise_uv);
    if (f & NCS_FLAG_CLIPPED)
        ncs_warn(warn, where, "clipped",
                 "the response reaches the converter's rails: amplitude and area "
                 "are not measured");
    if (f & NCS_FLAG_NOISY)
        ncs_warn(warn, where, "noisy", "noise %.0f uV RMS is above 10%% of the "
                 "amplitude %.2f mV", m->noise_uv, m->amp_mv);
    if (f & NCS_FLAG_ARTEFACT_OVERLAP)
        ncs_warn(warn, where, "artefact-overlap",
                 "the stimulus artefact has not decayed at the onset (%.2f ms; "
                 "artefact until %.2f ms): the onset is doubtful",
                 m->onset_ms, c->art_end_ms);
    if (f & NCS_FLAG_TRUNCATED)
        ncs_warn(warn, where, "truncated",
                 "the negative phase does not end inside the record: duration and "
                 "area are not measured");
    if (f & NCS_FLAG_INVERTED_SUSPECTED)
        ncs_warn(warn, where, "inverted-polarity-suspected",
                 "the dominant first phase is positive: check the electrode "
                 "polarity (polarity = inverted in study.ini)");
    if (f & NCS_FLAG_LOW_RATE)
        ncs_warn(warn, where, "low-rate", "sample rate %.0f Hz is below 5 kHz",
                 c->fs_hz);
}

/* Onset as SPEC 2 defines it: where the deflection toward the peak (at ip,
 * amplitude amp above `base`) first exceeds 1 % of amp. Where the noise is
 * larger than that, the crossing of 3 noise levels is carried back along
 * the edge by a fit of sqrt(-v) = k (t - t0), the shape of a take-off. */
static double find_onset(const double *s, size_t n, size_t ip, size_t i0,
                         double amp, double base, double noise_s, double dt)
{
    double thr = NCS_ONSET_LEVEL_PCT / 100.0 * amp;
    double level = fmax(thr, 3.0 * noise_s);
    double fL = crossing_first(s, ip, i0, base - level, base - 0.5 * level);
    if (level <= thr || level >= 0.5 * amp)
        return fL;
    double top = fmin(0.3 * amp, 4.0 * level);
    ncs_linfit lf = {0};
    for (size_t i = (size_t)ceil(fL); i <= ip && i < n; i++) {
        double v = base - s[i];
        if (v > top)
            break;
        if (v < level)
            continue;
        ncs_linfit_add(&lf, (double)i, sqrt(v));
    }
    double slope, icpt;
    if (ncs_linfit_solve(&lf, &slope, &icpt) == 0 && slope > 0) {
        double f1 = -icpt / slope + sqrt(thr) / slope;
        /* trust the extrapolation only within a sane reach */
        if (f1 <= fL && fL - f1 <= 1.0 / dt)
            return f1;
    }
    return fL;
}

ncs_status ncs_measure(ncs_analyser *a, const ncs_wave *w, const ncs_site *site,
                       const char *where, ncs_markers *m, double *clean_mv,
                       ncs_warnings *warn, ncs_error *err)
{
    ncs_error_clear(err);
    if (!a || !w || !w->mv || !m || w->n < 8)
        return ncs_fail(err, NCS_ERR_USAGE, where, "nothing to measure");
    memset(m, 0, sizeof *m);
    set_nan(m);
    ncs_clean c;
    if (ncs_clean_run(a, w, &c) != NCS_OK)
        return ncs_fail(err, NCS_ERR_NOMEM, where, "out of memory");
    const double *s = c.s;
    size_t n = c.n;
    double dt = c.dt_ms;
    m->noise_uv = 1000.0 * c.sigma_mv;
    m->baseline_mv = c.baseline_mv;
    m->drift_mv_per_s = c.drift_mv_per_s;
    m->mains_hz = c.mains_hz;
    m->mains_uv = c.mains_uv;
    m->artefact_end_ms = c.art_end_ms;
    if (w->fs_hz < NCS_LOW_RATE_HZ)
        m->flags |= NCS_FLAG_LOW_RATE;
    if (site && site->exclude)
        m->flags |= NCS_FLAG_EXCLUDED;

    /* the negative peak, after the artefact, with sub-sample refinement */
    size_t i0 = c.i_search < n - 2 ? c.i_search : n - 2;
    size_t ip = i0;
    for (size_t i = i0; i < n; i++)
        if (s[i] < s[ip])
            ip = i;
    double fip = (double)ip, smin = s[ip];
    if (ip > 0 && ip + 1 < n) {
        double y0 = s[ip - 1], y1 = s[ip], y2 = s[ip + 1];
        double den = y0 - 2.0 * y1 + y2;
        if (den > 0) {
            double d = 0.5 * (y0 - y2) / den;
            fip += d;
            smin = y1 - 0.25 * (y0 - y2) * d;
        }
    }
    double amp = -smin;
    double noise_s = c.sigma_s_mv;

    /* a response must stand clear of the noise (and of the record's start) */
    int response = amp > fmax(6.0 * noise_s, 0.005) && ip > i0;
    double manual_peak = site ? site->peak_ms : NAN;
    if (!response && isnan(manual_peak)) {
        m->response = 0;
        m->flags |= NCS_FLAG_NO_RESPONSE;
        /* a large positive deflection and no negative one: stored inverted? */
        double pmax = 0.0;
        for (size_t i = i0; i < n; i++)
            if (s[i] > pmax)
                pmax = s[i];
        if (pmax > fmax(10.0 * noise_s, 0.05))
            m->flags |= NCS_FLAG_INVERTED_SUSPECTED;
        goto done;
    }
    m->response = 1;
    if (!isnan(manual_peak)) {
        fip = (manual_peak - c.t0_ms) / dt;
        smin = at(s, n, fip);
        amp = -smin;
        ip = (size_t)fmax(0.0, fmin((double)(n - 1), floor(fip)));
        m->manual_peak = 1;
    }
    m->peak_ms = ncs_clean_t(&c, fip);
    m->amp_mv = amp;

    /* onset: on the global baseline first, then again on the local
     * baseline just before it (what is left of mains or drift there moves
     * the take-off more than anything else) */
    double f_on = find_onset(s, n, ip, i0, amp, 0.0, noise_s, dt);
    {
        double rise = (fip - f_on) * dt;
        double margin = 0.2 + 0.05 * fmax(rise, 0.0);
        double win = LOCAL_BASE_MS / dt;
        double hi = f_on - margin / dt, lo = hi - win;
        if (lo < (double)i0)
            lo = (double)i0;
        if (hi - lo >= 0.5 * win) {
            double b = 0.0;
            size_t k = 0;
            for (size_t i = (size_t)ceil(lo); (double)i <= hi; i++, k++)
                b += s[i];
            b /= (double)k;
            f_on = find_onset(s, n, ip, i0, amp + b, b, noise_s, dt);
        }
    }
    if (site && !isnan(site->onset_ms)) {
        f_on = (site->onset_ms - c.t0_ms) / dt;
        m->manual_onset = 1;
    }
    m->onset_ms = ncs_clean_t(&c, f_on);
    if (m->onset_ms <= c.art_end_ms + 0.5 * dt && !m->manual_onset)
        m->flags |= NCS_FLAG_ARTEFACT_OVERLAP;
    else if (c.art_amp_mv != 0 && !m->manual_onset
             && fabs(c.art_amp_mv) * exp(-m->onset_ms / c.art_tau_ms) > fmax(0.01 * amp, noise_s))
        m->flags |= NCS_FLAG_ARTEFACT_OVERLAP;

    /* end of the negative phase: first return to baseline after the peak */
    double f_end = NAN;
    if (site && !isnan(site->end_ms)) {
        f_end = (site->end_ms - c.t0_ms) / dt;
        m->manual_end = 1;
    } else {
        for (size_t i = ip; i + 1 < n; i++)
            if (s[i] < 0 && s[i + 1] >= 0) {
                f_end = (double)i + s[i] / (s[i] - s[i + 1]);
                break;
            }
    }
    if (isnan(f_end) || f_end > (double)(n - 1)) {
        m->flags |= NCS_FLAG_TRUNCATED;
    } else {
        m->end_ms = ncs_clean_t(&c, f_end);
        m->neg_dur_ms = m->end_ms - m->onset_ms;
        m->neg_area_mvms = neg_area(s, n, f_on, f_end) * dt;
    }

    /* peak-to-peak: the largest positive peak after the negative one */
    double smax = -INFINITY;
    for (size_t i = ip; i < n; i++)
        if (s[i] > smax)
            smax = s[i];
    m->p2p_mv = smax - smin;

    /* a positive first phase larger than the negative: polarity reversed? */
    double first_pos = -INFINITY;
    for (size_t i = i0; i < ip; i++)
        if (s[i] > first_pos)
            first_pos = s[i];
    if (first_pos > 1.2 * amp && first_pos > 6.0 * noise_s)
        m->flags |= NCS_FLAG_INVERTED_SUSPECTED;

    /* clipping inside the response makes amplitude and area unknowable */
    if (w->clipped_n > 0 && isfinite(w->rail_mv)) {
        double lim = 0.9999 * w->rail_mv * (1.0 - 1.0 / 32768.0);
        double ta = m->onset_ms - 0.5, tb = isnan(m->end_ms) ? ncs_clean_t(&c, (double)n)
                                                            : m->end_ms + 0.5;
        for (size_t i = 0; i < n; i++) {
            double t = ncs_clean_t(&c, (double)i);
            if (t >= ta && t <= tb && fabs(w->mv[i]) >= lim) {
                m->flags |= NCS_FLAG_CLIPPED;
                m->amp_mv = m->p2p_mv = m->neg_area_mvms = NAN;
                break;
            }
        }
    }
    if (isfinite(m->amp_mv) && m->noise_uv / 1000.0 > 0.1 * m->amp_mv)
        m->flags |= NCS_FLAG_NOISY;

done:
    if (!m->response)
        set_nan(m);
    if (clean_mv)
        memcpy(clean_mv, c.s, n * sizeof *clean_mv);
    warn_flags(warn, where, m, &c);
    ncs_clean_free(&c);
    return NCS_OK;
}
