/* markers.c — the measures of docs/measurements.md on a cleaned trace.
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
 * taken where it first exceeds it (docs/measurements.md: the earliest time), not where the
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

/* Onset as docs/measurements.md defines it: where the deflection toward the peak (at ip,
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

/* One trace being measured: the cleaned samples and what is known so far. */
typedef struct {
    const ncs_clean *c;
    const double *s;      /* cleaned, smoothed trace (mV) */
    size_t n;
    double dt;            /* ms per sample */
    double noise_s;       /* RMS noise of s */
    size_t i0;            /* first sample searched (after the artefact) */
    size_t ip;            /* the negative peak's sample */
    double fip, smin;     /* the peak, refined: fractional index and value */
    double amp;
} trace;

/* The deepest point after the artefact, refined by a parabola through it
 * and its neighbours. */
static void find_peak(trace *t)
{
    const double *s = t->s;
    size_t n = t->n;
    t->i0 = t->c->i_search < n - 2 ? t->c->i_search : n - 2;
    t->ip = t->i0;
    for (size_t i = t->i0; i < n; i++)
        if (s[i] < s[t->ip])
            t->ip = i;
    t->fip = (double)t->ip;
    t->smin = s[t->ip];
    if (t->ip > 0 && t->ip + 1 < n) {
        double y0 = s[t->ip - 1], y1 = s[t->ip], y2 = s[t->ip + 1];
        double den = y0 - 2.0 * y1 + y2;
        if (den > 0) {
            double d = 0.5 * (y0 - y2) / den;
            t->fip += d;
            t->smin = y1 - 0.25 * (y0 - y2) * d;
        }
    }
    t->amp = -t->smin;
}

/* No response: every marker stays null. A large positive deflection with no
 * negative one suggests a trace stored inverted. */
static void mark_no_response(const trace *t, ncs_markers *m)
{
    m->response = 0;
    m->flags |= NCS_FLAG_NO_RESPONSE;
    double pmax = 0.0;
    for (size_t i = t->i0; i < t->n; i++)
        if (t->s[i] > pmax)
            pmax = t->s[i];
    if (pmax > fmax(10.0 * t->noise_s, 0.05))
        m->flags |= NCS_FLAG_INVERTED_SUSPECTED;
}

/* The onset: on the global baseline first, then again on the local baseline
 * just before it (what is left of mains or drift there moves the take-off
 * more than anything else). Returns its fractional index. */
static double auto_onset(const trace *t)
{
    double f_on = find_onset(t->s, t->n, t->ip, t->i0, t->amp, 0.0, t->noise_s, t->dt);
    double rise = (t->fip - f_on) * t->dt;
    double margin = 0.2 + 0.05 * fmax(rise, 0.0);
    double win = LOCAL_BASE_MS / t->dt;
    double hi = f_on - margin / t->dt, lo = hi - win;
    if (lo < (double)t->i0)
        lo = (double)t->i0;
    if (hi - lo >= 0.5 * win) {
        double b = 0.0;
        size_t k = 0;
        for (size_t i = (size_t)ceil(lo); (double)i <= hi; i++, k++)
            b += t->s[i];
        b /= (double)k;
        f_on = find_onset(t->s, t->n, t->ip, t->i0, t->amp + b, b, t->noise_s, t->dt);
    }
    return f_on;
}

/* The end of the negative phase: the first return to baseline after the
 * peak (or the manual end); NAN when it does not come inside the record. */
static double find_end(const trace *t, const ncs_site *site, ncs_markers *m)
{
    if (site && !isnan(site->end_ms)) {
        m->manual_end = 1;
        return (site->end_ms - t->c->t0_ms) / t->dt;
    }
    for (size_t i = t->ip; i + 1 < t->n; i++)
        if (t->s[i] < 0 && t->s[i + 1] >= 0)
            return (double)i + t->s[i] / (t->s[i] - t->s[i + 1]);
    return NAN;
}

/* Onset, end, duration and area (manual markers replace automatic ones). */
static void mark_phase(const trace *t, const ncs_site *site, ncs_markers *m)
{
    const ncs_clean *c = t->c;
    double f_on = auto_onset(t);
    if (site && !isnan(site->onset_ms)) {
        f_on = (site->onset_ms - c->t0_ms) / t->dt;
        m->manual_onset = 1;
    }
    m->onset_ms = ncs_clean_t(c, f_on);
    if (m->onset_ms <= c->art_end_ms + 0.5 * t->dt && !m->manual_onset)
        m->flags |= NCS_FLAG_ARTEFACT_OVERLAP;
    else if (c->art_amp_mv != 0 && !m->manual_onset
             && fabs(c->art_amp_mv) * exp(-m->onset_ms / c->art_tau_ms)
                    > fmax(0.01 * t->amp, t->noise_s))
        m->flags |= NCS_FLAG_ARTEFACT_OVERLAP;

    double f_end = find_end(t, site, m);
    if (isnan(f_end) || f_end > (double)(t->n - 1)) {
        m->flags |= NCS_FLAG_TRUNCATED;
    } else {
        m->end_ms = ncs_clean_t(c, f_end);
        m->neg_dur_ms = m->end_ms - m->onset_ms;
        m->neg_area_mvms = neg_area(t->s, t->n, f_on, f_end) * t->dt;
    }
}

/* Peak-to-peak, and a positive first phase larger than the negative one
 * (polarity reversed?). */
static void mark_positive_phases(const trace *t, ncs_markers *m)
{
    double smax = -INFINITY;
    for (size_t i = t->ip; i < t->n; i++)
        if (t->s[i] > smax)
            smax = t->s[i];
    m->p2p_mv = smax - t->smin;
    double first_pos = -INFINITY;
    for (size_t i = t->i0; i < t->ip; i++)
        if (t->s[i] > first_pos)
            first_pos = t->s[i];
    if (first_pos > 1.2 * t->amp && first_pos > 6.0 * t->noise_s)
        m->flags |= NCS_FLAG_INVERTED_SUSPECTED;
}

/* Clipping inside the response makes amplitude and area unknowable. */
static void mark_clipping(const trace *t, const ncs_wave *w, ncs_markers *m)
{
    if (w->clipped_n == 0 || !isfinite(w->rail_mv))
        return;
    double lim = 0.9999 * w->rail_mv * (1.0 - 1.0 / 32768.0);
    double ta = m->onset_ms - 0.5,
           tb = isnan(m->end_ms) ? ncs_clean_t(t->c, (double)t->n) : m->end_ms + 0.5;
    for (size_t i = 0; i < t->n; i++) {
        double tm = ncs_clean_t(t->c, (double)i);
        if (tm >= ta && tm <= tb && fabs(w->mv[i]) >= lim) {
            m->flags |= NCS_FLAG_CLIPPED;
            m->amp_mv = m->p2p_mv = m->neg_area_mvms = NAN;
            return;
        }
    }
}

/* What the cleaning found and removed, kept with the markers. */
static void record_cleaning(const ncs_clean *c, const ncs_wave *w, const ncs_site *site,
                            ncs_markers *m)
{
    m->noise_uv = 1000.0 * c->sigma_mv;
    m->baseline_mv = c->baseline_mv;
    m->drift_mv_per_s = c->drift_mv_per_s;
    m->mains_hz = c->mains_hz;
    m->mains_uv = c->mains_uv;
    m->artefact_end_ms = c->art_end_ms;
    if (w->fs_hz < NCS_LOW_RATE_HZ)
        m->flags |= NCS_FLAG_LOW_RATE;
    if (site && site->exclude)
        m->flags |= NCS_FLAG_EXCLUDED;
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
    /* 1. interference removed, the trace smoothed for locating (clean.c) */
    ncs_clean c;
    if (ncs_clean_run(a, w, &c) != NCS_OK)
        return ncs_fail(err, NCS_ERR_NOMEM, where, "out of memory");
    record_cleaning(&c, w, site, m);
    trace t = {.c = &c, .s = c.s, .n = c.n, .dt = c.dt_ms, .noise_s = c.sigma_s_mv};

    /* 2. the negative peak; a response must stand clear of the noise (and
     *    of the record's start), unless a peak was placed by hand */
    find_peak(&t);
    double manual_peak = site ? site->peak_ms : NAN;
    int response = t.amp > fmax(6.0 * t.noise_s, 0.005) && t.ip > t.i0;
    if (!response && isnan(manual_peak)) {
        mark_no_response(&t, m);
    } else {
        m->response = 1;
        if (!isnan(manual_peak)) {
            t.fip = (manual_peak - c.t0_ms) / t.dt;
            t.smin = at(t.s, t.n, t.fip);
            t.amp = -t.smin;
            t.ip = (size_t)fmax(0.0, fmin((double)(t.n - 1), floor(t.fip)));
            m->manual_peak = 1;
        }
        m->peak_ms = ncs_clean_t(&c, t.fip);
        m->amp_mv = t.amp;
        /* 3. onset, end, duration, area; 4. the phases around it; 5. what
         *    makes a value unknowable or doubtful */
        mark_phase(&t, site, m);
        mark_positive_phases(&t, m);
        mark_clipping(&t, w, m);
        if (isfinite(m->amp_mv) && m->noise_uv / 1000.0 > 0.1 * m->amp_mv)
            m->flags |= NCS_FLAG_NOISY;
    }
    if (!m->response)
        set_nan(m);
    if (clean_mv)
        memcpy(clean_mv, c.s, c.n * sizeof *clean_mv);
    warn_flags(warn, where, m, &c);
    ncs_clean_free(&c);
    return NCS_OK;
}
