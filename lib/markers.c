/* markers.c — the measures of docs/measurements.md on a cleaned trace.
 *
 * The peak is located on the smoothed trace (clean.c) and its depth read off
 * the cleaned samples by a parabola; end and area come from the smoothed
 * trace. The onset is the 1 % take-off, in either direction (a positive lobe
 * ahead of the negative phase); when 1 % of the amplitude is within the
 * noise, the crossing is taken at a level clear of the noise and carried back
 * to the 1 % level along the rising edge: near its take-off a CMAP grows
 * about as (t - t0)^2, so sqrt(-v) is linear in t there; a straight-line fit
 * of sqrt(-v) over the low part of the edge gives t0 and the slope, and so
 * the time of the 1 % level.
 */
#include <stdarg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "internal.h"

#define LOCAL_BASE_MS 1.0 /* window of the local baseline before the onset */
#define EDGE_MS 0.15     /* half-span of the line an edge's slope is read from */
#define CLEAR_LOBE 8.0    /* a lobe this many smoothed-noise SDs high is no
                             noise */
#define SUSPECT_LOBE 4.0  /* a positive bump this many smoothed-noise SDs high
                             before the take-off may be a lobe */
#define BUMP_MS 0.5       /* the run a low, sustained bump is averaged over */
#define BUMP_SDS 3.0      /* and how many SDs of such a mean it stands clear
                             by to be suspected a lobe (a lower bar than a
                             single point's: it is a widening, no marker) */
#define LOBE_RISE_SHARE 0.3 /* a motor units' lobe rises in about this share
                               of the negative phase's rise or more */
#define LOBE_SLOW_SHARE 0.5 /* and in no more than this share (the families'
                               lobes: 98 % of them; the real M-waves' mostly
                               0.3-0.48) */
#define HUMP_NEAR_MS 1.0  /* a recovery's hump begins this close to the
                             artefact's end */
#define HUMP_DEEP_MS 0.3  /* is at its deepest within this of its departure
                             (a decaying tail: no CMAP peaks so soon) */
#define HUMP_DEPTH_MAX 0.5 /* is shallower than this share of the amplitude */
#define HUMP_RETURN_MS 0.3 /* and its return toward baseline lasts this long */
#define HUMP_RETURN_SHARE 0.25 /* rising by this share of its depth */
#define RAMP_NEAR_MS 2.0  /* a recovery's ramp is found crossing 1 % this close
                             to the artefact's end */
#define RAMP_MS 1.0       /* runs straight this long or more from there */
#define RAMP_FIT_SDS 1.5  /* within this many smoothed-noise SDs of its line */
#define RAMP_BEND_SDS 1.0 /* bending toward the response by less than this */
#define RAMP_BREAK_SDS 4.0 /* the take-off breaks away from it by this many */
#define RAMP_KNEE 4.0     /* with an edge this many times steeper */
#define SHELF_MS 0.2      /* a recovery's shelf holds a line this long */
#define SHELF_START_MS 0.4 /* from this soon after the artefact's end */
#define SHELF_OFF_SDS 6.0  /* standing this many smoothed-noise SDs off the baseline */
#define SHELF_AWAY 0.25    /* and moving away from it by no more than this share */
#define HUMP_MARGIN_MS 0.1 /* its line is fitted up to this far before the turn */

static const char *const flag_names[NCS_FLAG__COUNT] = {
    "no-response", "clipped", "noisy", "artefact-overlap", "truncated",
    "inverted-polarity-suspected", "low-rate", "excluded", "initial-positivity",
    "polyphasic", "manual", "uncertain", "implausible-amplitude"};

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

/* Area of the part of y below zero over fractional indices [fa, fb], in
 * mV * samples, positive: a positive lobe inside the negative phase (between
 * the components of a split response) adds nothing and takes nothing away. */
static double neg_area(const double *y, size_t n, double fa, double fb)
{
    double sum = 0.0;
    double a = fa;
    while (a < fb) {
        double b = floor(a) + 1.0;
        if (b > fb)
            b = fb;
        double va = at(y, n, a), vb = at(y, n, b);
        if (va < 0 && vb < 0)
            sum += -0.5 * (va + vb) * (b - a);
        else if (va < 0 || vb < 0) { /* a zero crossing: only the part below */
            double z = a + (b - a) * va / (va - vb);
            sum += va < 0 ? -0.5 * va * (z - a) : -0.5 * vb * (b - z);
        }
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
    m->u = (ncs_site_uncertainty){NAN, NAN, NAN, NAN, NAN, 0.0, 0.0};
}

/* Which intervals are too wide, with their half-widths and limits, and
 * what the site no longer decides. */
static void warn_uncertain(ncs_warnings *warn, const char *where, const ncs_markers *m)
{
    char what[200] = "";
    size_t k = 0;
    double a = fabs(m->amp_mv);
    if (m->uncertain & NCS_UNCERTAIN_ONSET)
        k += (size_t)snprintf(what + k, sizeof what - k, "onset \u00b1%.3f ms > %.2f ms",
                              m->u.onset_ms, NCS_UNCERTAIN_ONSET_MS(a));
    if ((m->uncertain & NCS_UNCERTAIN_AMP) && k < sizeof what)
        k += (size_t)snprintf(what + k, sizeof what - k, "%samplitude \u00b1%.1f%% > %.0f%%",
                              k ? ", " : "", 100.0 * m->u.amp_mv / a, NCS_UNCERTAIN_AMP_PCT(a));
    if ((m->uncertain & NCS_UNCERTAIN_AREA) && k < sizeof what)
        snprintf(what + k, sizeof what - k, "%sarea \u00b1%.1f%% > %.0f%%", k ? ", " : "",
                 100.0 * m->u.neg_area_mvms / fabs(m->neg_area_mvms),
                 NCS_UNCERTAIN_AREA_PCT(a));
    ncs_warn(warn, where, "uncertain",
             "uncertain: %s (twice the accuracy target): %s; check its markers", what,
             m->uncertain & (NCS_UNCERTAIN_AMP | NCS_UNCERTAIN_AREA)
                 ? "this site decides no block or finding"
                 : "its latency, conduction velocity and temporal dispersion decide no finding "
                   "(a block's duration change is judged by its interval)");
}

/* What sets a trace's scale, for the implausible-amplitude warning. */
static void scale_hint(char *buf, size_t n, const ncs_wave *w, double amp_mv)
{
    if (w->format == NCS_FORMAT_EDF)
        snprintf(buf, n, "the EDF header's physical dimension and range give this: check the "
                         "export's units");
    else if (isfinite(w->rail_mv))
        snprintf(buf, n, "is scale_mv right? (integer samples: the mV of full scale, here %g; "
                         "a scale 1000 times too large gives mV where uV were meant)",
                 w->rail_mv);
    else
        snprintf(buf, n, "a file in microvolts needs units = uV, or a CSV header naming uV; a "
                         "%.4g uV response would be %.4g mV", amp_mv, amp_mv / 1000.0);
}

static void warn_flags(ncs_warnings *warn, const char *where, const ncs_markers *m,
                       const ncs_clean *c, const ncs_wave *w)
{
    unsigned f = m->flags;
    /* a step inside the response is its own take-off, not the stimulus */
    double r0 = isfinite(m->onset_ms) ? m->onset_ms - 0.3 : INFINITY;
    double r1 = isfinite(m->end_ms) ? m->end_ms : isfinite(m->peak_ms) ? m->peak_ms : r0;
    int in_response = m->stim_seen_ms >= r0 && m->stim_seen_ms <= r1;
    if (isfinite(m->stim_seen_ms) && fabs(m->stim_seen_ms) > 0.2 && !in_response)
        ncs_warn(warn, where, "stim-time",
                 "the stimulus artefact is seen %.2f ms %s the declared stimulus "
                 "(stim_ms): is stim_ms missing or wrong? every latency counts from it",
                 fabs(m->stim_seen_ms), m->stim_seen_ms > 0 ? "after" : "before");
    if (m->step_mv != 0 && isfinite(m->amp_mv) && fabs(m->step_mv) > 0.02 * m->amp_mv)
        ncs_warn(warn, where, "baseline-step",
                 "the baseline steps by %.3f mV at the stimulus (the amplifier does not come "
                 "back to where it was): the response is measured from the baseline after "
                 "the step, %.0f%% of its amplitude", m->step_mv,
                 100.0 * fabs(m->step_mv) / m->amp_mv);
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
    if (f & NCS_FLAG_INITIAL_POSITIVITY)
        ncs_warn(warn, where, "initial-positivity",
                 "the response begins with a positive deflection (onset %.2f ms): the "
                 "active electrode may be off the motor point", m->onset_ms);
    if (f & NCS_FLAG_POLYPHASIC)
        ncs_warn(warn, where, "polyphasic",
                 "%d negative peaks: a dispersed or split response; its duration and "
                 "area hold every component", m->neg_peaks);
    if (f & NCS_FLAG_UNCERTAIN)
        warn_uncertain(warn, where, m);
    if (f & NCS_FLAG_IMPLAUSIBLE_AMPLITUDE) {
        char hint[256];
        scale_hint(hint, sizeof hint, w, m->amp_mv);
        ncs_warn(warn, where, "implausible-amplitude",
                 "amplitude %.4g mV is above %g mV, more than any CMAP: are the units right? "
                 "(%s); this site decides no block or finding", m->amp_mv,
                 NCS_AMP_PLAUSIBLE_MAX_MV, hint);
    }
    if (f & NCS_FLAG_MANUAL)
        ncs_warn(warn, where, "manual", "%s placed by hand in study.ini",
                 m->manual_onset && m->manual_peak && m->manual_end ? "every marker"
                 : m->manual_onset ? "the onset" : m->manual_peak ? "the peak" : "the end");
}

/* How a departure from baseline was found (for its uncertainty): where the
 * level clear of the noise was crossed, the edge's slope there (mV per
 * sample), how far the take-off was carried back from it and the SD of that
 * (samples). */
typedef struct {
    double f_cross, slope, reach, fit_sd;
    double short_of; /* a crossing above thr not carried back: how far
                        before it a quadratic take-off crosses thr */
    double short_near; /* the same for the quadratic take-off that meets
                          the edge's slope at the crossing (no more than
                          short_of) */
} departure;

static double find_departure(const double *s, size_t n, size_t ip, size_t i0, double thr,
                             double amp, double base, double noise_s, double dt,
                             departure *d);

/* The slope of s (mV per sample, down positive) about fractional index f:
 * a least-squares line over +-EDGE_MS (at least a sample each side). On
 * the smoothed trace a two-point difference over a shorter span carries
 * much of its noise (a slope near 0 by chance makes a crossing look far
 * less sure than it is); a line's slope over a symmetric window is still
 * the derivative at its middle on a quadratic take-off. */
static double edge_slope(const double *s, size_t n, double f, double dt)
{
    double h = fmax(1.0, EDGE_MS / dt);
    double a = fmax(0.0, ceil(f - h)), b = fmin((double)(n - 1), floor(f + h));
    if (!(b > a))
        return NAN;
    double m = 0.5 * (a + b), sxy = 0.0, sxx = 0.0;
    for (size_t i = (size_t)a; i <= (size_t)b; i++) {
        double x = (double)i - m;
        sxy += x * s[i];
        sxx += x * x;
    }
    return -sxy / sxx;
}

/* The SD (samples) of the take-off carried back to the level sqrt(v) = y1
 * by the fit y = slope i + icpt over the points of lf: the inverse
 * prediction's, with the residuals' variance r2 and the smoothed trace's
 * points counted as independent once per 0.2 ms. */
static double carried_sd(const ncs_linfit *lf, double slope, double r2, double f1, double dt)
{
    double n = (double)lf->n, mean = lf->st / n, sxx = lf->stt - lf->st * mean;
    double n_eff = fmax(2.0, n * dt / 0.2);
    if (!(sxx > 0) || !(slope > 0))
        return NAN;
    double var = r2 / (slope * slope) * (1.0 / n_eff + (f1 - mean) * (f1 - mean) / (sxx * n_eff / n));
    return sqrt(var);
}


/* Onset as docs/measurements.md defines it: where the deflection toward the peak (at ip,
 * amplitude amp above `base`) first exceeds 1 % of amp. Where the noise is
 * larger than that, the crossing of 3 noise levels is carried back along
 * the edge by a fit of sqrt(-v) = k (t - t0), the shape of a take-off. */
static double find_onset(const double *s, size_t n, size_t ip, size_t i0,
                         double amp, double base, double noise_s, double dt, departure *d)
{
    return find_departure(s, n, ip, i0, NCS_ONSET_LEVEL_PCT / 100.0 * amp, amp, base,
                          noise_s, dt, d);
}

/* The departure toward the extreme at ip (negative; height above `base`)
 * past `thr`, as find_onset; the positive lobe ahead of a negative phase is
 * measured by the same code on the negated trace. */

static double find_departure(const double *s, size_t n, size_t ip, size_t i0, double thr,
                             double amp, double base, double noise_s, double dt,
                             departure *d)
{
    /* the crossing carried back is taken clear of the noise: at 3 noise
     * levels, or at 4.5 when that is still low on the edge (within 5 % of
     * the amplitude) and the edge is sampled finely (10 samples per ms or
     * more): noise then moves an early crossing less than the longer
     * extrapolation costs */
    double k_noise = 4.5 * noise_s <= 0.05 * amp && dt <= 0.1 ? 4.5 : 3.0;
    double level = fmax(thr, k_noise * noise_s);
    double fL = crossing_first(s, ip, i0, base - level, base - 0.5 * level);
    *d = (departure){.f_cross = fL, .slope = edge_slope(s, n, fL, dt), .reach = 0, .fit_sd = 0};
    /* (an extreme no higher than the level: nothing to carry back) */
    if (level <= thr || !(amp > level))
        return fL;
    /* until carried back, the onset is where the level is crossed: a
     * quadratic take-off crosses thr earlier by the share below of its
     * time from the level to the peak */
    double rl = sqrt(fmin(level / amp, 0.81)), rt = sqrt(thr / amp);
    d->short_of = (rl - rt) / (1.0 - rl) * fmax((double)ip - fL, 0.0);
    /* (k (t - t0)^2 reaching the level with the slope S began 2 level / S
     * before, and crossed thr sqrt(thr / level) of that after it began) */
    d->short_near = d->slope > 0 ? fmin(2.0 * level / d->slope * (1.0 - sqrt(thr / level)),
                                        d->short_of)
                                 : d->short_of;
    if (level >= 0.5 * amp)
        return fL;
    double top = fmin(fmax(0.3 * amp, 2.0 * level), fmin(4.0 * level, 0.7 * amp));
    ncs_linfit lf = {0};
    size_t a = (size_t)ceil(fL), b = a;
    for (; b <= ip && b < n; b++) {
        double v = base - s[b];
        if (v > top)
            break;
        if (v < level)
            continue;
        ncs_linfit_add(&lf, (double)b, sqrt(v));
    }
    double slope, icpt;
    if (ncs_linfit_solve(&lf, &slope, &icpt) == 0 && slope > 0) {
        double f1 = -icpt / slope + sqrt(thr) / slope;
        /* trust the extrapolation only within a sane reach */
        if (f1 <= fL && fL - f1 <= 1.0 / dt) {
            double r2 = 0.0;
            for (size_t i = a; i < b; i++) {
                double v = base - s[i];
                if (v >= level) {
                    double e = sqrt(v) - (slope * (double)i + icpt);
                    r2 += e * e;
                }
            }
            r2 /= fmax(1.0, (double)lf.n - 2.0);
            d->reach = fL - f1;
            d->short_of = d->short_near = 0.0;
            d->fit_sd = carried_sd(&lf, slope, r2, f1, dt);
            if (!isfinite(d->fit_sd)) /* no spread to tell it by: the reach itself */
                d->fit_sd = d->reach;
            return f1;
        }
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
    ncs_mark_detail det;  /* for the uncertainty */
} trace;

/* The onset's departure kept for its uncertainty (in ms and mV/ms). */
static void set_onset_detail(trace *t, const departure *d)
{
    t->det.slope_on = d->slope / t->dt;
    t->det.reach_ms = d->reach * t->dt;
    t->det.short_ms = d->short_of * t->dt;
    t->det.short_near_ms = d->short_near * t->dt;
    t->det.fit_sd_ms = d->fit_sd * t->dt;
}

/* The deepest point after the artefact, refined by a parabola through it
 * and its neighbours. */
static void find_peak(trace *t)
{
    const double *s = t->s;
    size_t n = t->n;
    t->i0 = t->c->i_search < n - 2 ? t->c->i_search : n - 2;
    t->ip = ncs_first_least(s, t->i0, n, s[t->i0], t->i0);
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

/* The SDs of the parabola's vertex (depth, mV; time, ms) under the white
 * noise of the cleaned samples, from the inverse of the normal matrix A of
 * the fit y = c0 + c1 u + c2 u^2 (u = (i - ip) / h) and its vertex u. */
static void peak_fit_sd(trace *t, double A[3][3], const double *c, double u, double h,
                        double s2)
{
    double inv[3][3];
    for (int j = 0; j < 3; j++) {
        double M[3][3], e[3] = {0, 0, 0};
        memcpy(M, A, sizeof M);
        e[j] = 1.0;
        if (ncs_solve(&M[0][0], 3, e, 3) != 0)
            return;
        for (int i = 0; i < 3; i++)
            inv[i][j] = e[i];
    }
    /* depth: c0 - c1^2 / (4 c2), gradient (1, -c1 / (2 c2), c1^2 / (4 c2^2)) */
    double g[3] = {1.0, -c[1] / (2.0 * c[2]), c[1] * c[1] / (4.0 * c[2] * c[2])};
    double vd = 0.0, vu;
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            vd += g[i] * inv[i][j] * g[j];
    /* time: u = -c1 / (2 c2), gradient (0, -1 / (2 c2), -u / c2) */
    double g1 = -1.0 / (2.0 * c[2]), g2 = -u / c[2];
    vu = g1 * g1 * inv[1][1] + 2.0 * g1 * g2 * inv[1][2] + g2 * g2 * inv[2][2];
    t->det.amp_sd_mv = sqrt(s2 * fmax(vd, 0.0));
    t->det.peak_sd_ms = sqrt(s2 * fmax(vu, 0.0)) * h * t->dt;
}

/* The amplitude read off the cleaned trace, not its smoothing (which lowers
 * a narrow peak): a parabola fitted by least squares to the cleaned samples
 * where the smoothed trace lies within 8 % of the amplitude of its peak (at
 * least the peak sample and its two neighbours). Over that window a peak is
 * a parabola to a fraction of a percent, and the more samples it holds the
 * less their noise counts. */
static void refine_peak(trace *t)
{
    const double *x = t->c->x, *s = t->s;
    size_t n = t->n, ip = t->ip, a = ip, b = ip;
    double lim = t->smin + 0.08 * t->amp;
    while (a > t->i0 && s[a - 1] <= lim)
        a--;
    while (b + 1 < n && s[b + 1] <= lim)
        b++;
    if (a == ip && ip > 0)
        a = ip - 1;
    if (b == ip && ip + 1 < n)
        b = ip + 1;
    if (b - a < 2)
        return;
    /* y = c0 + c1 u + c2 u^2 with u = (i - ip) / h, by the normal
     * equations (u scaled to the window, so a wide window stays well
     * conditioned) */
    double h = fmax((double)(b - a) / 2.0, 1.0);
    double S[5] = {0}, T[3] = {0};
    for (size_t i = a; i <= b; i++) {
        double u = ((double)i - (double)ip) / h, p = 1.0;
        for (int k = 0; k < 5; k++, p *= u) {
            S[k] += p;
            if (k < 3)
                T[k] += p * x[i];
        }
    }
    double A[3][3] = {{S[0], S[1], S[2]}, {S[1], S[2], S[3]}, {S[2], S[3], S[4]}};
    double A0[3][3];
    memcpy(A0, A, sizeof A);
    if (ncs_solve(&A[0][0], 3, T, 3) != 0 || !(T[2] > 0))
        return;
    const double *c = T;
    double u = -c[1] / (2.0 * c[2]);
    if (u * h < (double)a - (double)ip || u * h > (double)b - (double)ip)
        return;
    double v = c[0] + c[1] * u + c[2] * u * u;
    if (!(v < 0))
        return;
    t->fip = (double)ip + u * h;
    t->smin = v;
    t->amp = -v;
    /* the noise the fit's variances are scaled by: the white noise, or
     * what the parabola leaves when it fits worse (a peak that is not one) */
    double rss = 0.0;
    for (size_t i = a; i <= b; i++) {
        double w = ((double)i - (double)ip) / h;
        double e = x[i] - (c[0] + c[1] * w + c[2] * w * w);
        rss += e * e;
    }
    double s2 = fmax(t->c->white_mv * t->c->white_mv,
                     b - a + 1 > 3 ? rss / (double)(b - a + 1 - 3) : 0.0);
    peak_fit_sd(t, A0, c, u, h, s2);
}

/* The noise a take-off measured from the baseline just before it sees: the
 * smoothed trace's, less its slow part (what the cleaning left over a
 * millisecond, which that baseline takes out), and never below the white
 * noise. */
static double fast_noise(const trace *t)
{
    const ncs_clean *c = t->c;
    return sqrt(fmax(t->noise_s * t->noise_s - c->wander_mv * c->wander_mv,
                     c->white_s_mv * c->white_s_mv));
}

/* The baseline just before a positive lobe's take-off at f: the mean of
 * the 1 ms that ends 0.2 ms before it (0 when less than half of that lies
 * after the artefact), kept for the uncertainty in place of the one taken
 * before the negative phase (which lay on the lobe), and returned. */
static double lobe_baseline(trace *t, double f)
{
    double hi = f - 0.2 / t->dt, lo = fmax(hi - LOCAL_BASE_MS / t->dt, (double)t->i0);
    t->det.base_n = 0.0;
    t->det.base_mv = 0.0;
    t->det.base_shift_ms = 0.0;
    if (!(hi - lo >= 0.5 * LOCAL_BASE_MS / t->dt))
        return 0.0;
    double b = 0.0;
    size_t k = 0;
    for (size_t i = (size_t)ceil(lo); (double)i <= hi; i++, k++)
        b += t->s[i];
    t->det.base_n = (double)k;
    t->det.base_mv = b / (double)k;
    t->det.base_mid_ms = (f - 0.5 * (lo + hi)) * t->dt;
    return t->det.base_mv;
}

/* Whether the smoothed trace lay within max(thr, 4 smoothed-noise SDs) of 0
 * over the LOCAL_BASE_MS that end 0.2 ms before f, all of it after the
 * artefact. */
static int flat_before(const trace *t, double f, double thr)
{
    double hi = f - 0.2 / t->dt, lo = hi - LOCAL_BASE_MS / t->dt;
    if (!(lo >= (double)t->i0))
        return 0;
    double lim = fmax(thr, 4.0 * t->c->sigma_s_mv);
    for (size_t i = (size_t)ceil(lo); (double)i <= hi; i++)
        if (fabs(t->s[i]) > lim)
            return 0;
    return 1;
}

/* Whether the cleaned trace's mean over some BUMP_MS within [lo, hi]
 * stands above `least` and BUMP_SDS SDs of such a mean (the white
 * noise's share, which averages down, and the baseline's wander, which
 * does not). */
static int sustained_bump(const trace *t, size_t lo, size_t hi, double least)
{
    const ncs_clean *c = t->c;
    size_t w = (size_t)fmax(3.0, round(BUMP_MS / t->dt));
    if (hi + 1 < lo + w || hi >= t->n)
        return 0;
    double sd = sqrt(c->white_mv * c->white_mv / (double)w + c->wander_mv * c->wander_mv);
    double lim = fmax(least, BUMP_SDS * sd) * (double)w, sum = 0.0;
    for (size_t i = lo; i <= hi; i++) {
        sum += c->x[i];
        if (i >= lo + w)
            sum -= c->x[i - w];
        if (i + 1 >= lo + w && sum > lim)
            return 1;
    }
    return 0;
}


/* A positive deflection just ahead of the negative phase (the active
 * electrode off the motor point) is where the response begins: the largest
 * value of the smoothed trace over the rise time before the negative
 * take-off f_neg (at least 1 ms, after the artefact), when it stands clear of
 * the noise and of 1 % of the amplitude, and its own take-off, measured on
 * the negated trace as the negative one is. Returns that take-off, or f_neg
 * when there is no such lobe. */
static double positive_onset(trace *t, double f_neg, int *found)
{
    *found = 0;
    double thr = NCS_ONSET_LEVEL_PCT / 100.0 * t->amp;
    if (!(f_neg > (double)t->i0 + 2.0))
        return f_neg;
    double reach = fmax(1.0, (t->fip - f_neg) * t->dt) / t->dt;
    size_t lo = f_neg - reach > (double)t->i0 ? (size_t)(f_neg - reach) : t->i0;
    size_t hi = (size_t)f_neg, pk = lo;
    if (hi <= lo + 2)
        return f_neg;
    for (size_t i = lo; i <= hi; i++)
        if (t->s[i] > t->s[pk])
            pk = i;
    /* a lobe whose top lies before the window: follow it back */
    while (pk == lo && pk > t->i0 && t->s[pk - 1] > t->s[pk])
        lo = --pk;
    double lobe = t->s[pk];
    int small = !(lobe > fmax(3.0 * thr, 6.0 * t->c->white_s_mv));
    /* a bump that is not sure to be a lobe but may be one (SUSPECT_LOBE
     * smoothed-noise SDs, or a low one sustained: its mean over BUMP_MS
     * BUMP_SDS SDs of such a mean clear of the noise): the onset stays at the
     * negative take-off, and its interval reaches back to where the bump
     * took off */
    if ((small && !(lobe > fmax(1.5 * thr, SUSPECT_LOBE * t->c->white_s_mv))
         && !sustained_bump(t, lo, hi, 1.5 * thr))
        || pk <= lo)
        return f_neg;
    double *neg = malloc((pk + 1) * sizeof *neg);
    if (!neg)
        return f_neg;
    for (size_t i = 0; i <= pk; i++)
        neg[i] = -t->s[i];
    departure d;
    double f = find_departure(neg, pk + 1, pk, t->i0, thr, lobe, 0.0, t->noise_s, t->dt, &d);
    /* a lobe that rises from where the search starts (the artefact's end)
     * took off under the artefact: its onset is the earliest that can be
     * seen, and the site gets artefact-overlap (mark_phase) — the response
     * is kept, not cut to its negative phase */
    if (!small && f < f_neg && f <= (double)t->i0 && pk > t->i0 + 2)
        f = (double)t->i0;
    /* a lobe too small to be sure of by its height (under 3 % of the
     * amplitude) is still the response's beginning when it stands clear of
     * the noise (CLEAR_LOBE SDs of the smoothed trace, where noise does not
     * reach) and rises from a baseline that lay flat, within the 1 % level
     * and the noise, for the millisecond before it (after the artefact): no
     * residue of the cleaning rises so into the negative phase */
    if (small && f < f_neg && f > (double)t->i0 && lobe > CLEAR_LOBE * t->c->sigma_s_mv
        && flat_before(t, f, thr))
        small = 0;
    /* a lobe slower to rise than the negative phase after it is no motor
     * units' lobe (their positive phase is the shorter, and dispersion
     * stretches both alike) but a slow residue of the baseline — an
     * amplifier's recovery of the other sign than the response, or what
     * the cleaning left of it: the onset stays at the negative take-off,
     * its interval reaching back to where that rise began (when it began
     * after the artefact) */
    if (!small && f < f_neg && f >= (double)t->i0 && (double)pk - f > t->fip - f_neg)
        small = t->det.residue = 1;
    if (!(f < f_neg) || f < (double)t->i0 || small) {
        if (small && f < f_neg && f > (double)t->i0)
            t->det.lobe_ms = (f_neg - f) * t->dt;
        free(neg);
        return f_neg;
    }
    /* and again against the baseline just before it, as the negative
     * take-off is (what the cleaning left there moves a take-off most) */
    double b = lobe_baseline(t, f);
    /* (only while the lobe still stands above that baseline by the level) */
    if (t->det.base_n > 0 && lobe - b > thr) {
        departure d2;
        double f2 = find_departure(neg, pk + 1, pk, t->i0, thr, lobe - b, -b, fast_noise(t),
                                   t->dt, &d2);
        if (f2 < f_neg && f2 > (double)t->i0) {
            t->det.base_shift_ms = (f2 - f) * t->dt;
            f = f2;
            d = d2;
        }
    }
    free(neg);
    *found = 1;
    set_onset_detail(t, &d);
    /* a lobe that rises in steps: the trace already stands clear above the
     * level before the take-off found on its steeper part, so the response
     * may begin where it first did */
    double lvl = fmax(thr, 3.0 * t->c->white_s_mv);
    size_t i = (size_t)f;
    while (i > t->i0 && t->s[i - 1] > lvl)
        i--;
    if ((f - (double)i) * t->dt > 0.2)
        t->det.lobe_ms = (f - (double)i) * t->dt;
    /* a lobe that rises in much less than its negative phase does (its
     * units' positive phase is the shorter, but dispersion stretches both
     * alike) was taken off on a late step of its rise: its earlier foot lay
     * under the noise (a lobe that stands clear of the noise, CLEAR_LOBE
     * SDs, shows its foot), and the response may begin as early as a lobe
     * of a usual rise would have */
    double usual = fmin(LOBE_RISE_SHARE * (t->fip - f_neg) - ((double)pk - f), f - (double)t->i0);
    if (!(lobe - b > CLEAR_LOBE * t->c->sigma_s_mv) && usual * t->dt > t->det.lobe_ms)
        t->det.lobe_ms = usual * t->dt;
    /* a lobe that rises in more than half the time its negative phase
     * takes is slow for motor units' lobe, though not slower than the
     * negative phase (a residue, above): what the cleaning left of an
     * amplifier's recovery or a step of the baseline rises so too, and the
     * response may begin only at the negative take-off (recovery
     * families: such lobes 0.9-1.7 ms ahead of the take-off, unflagged;
     * not a lobe taken from the artefact's end, whose rise is counted from
     * there, not from its take-off, and which is artefact-overlap) */
    if (f > (double)t->i0 && ncs_clean_t(t->c, f) > t->c->art_end_ms + 0.5 * t->dt
        && (double)pk - f > LOBE_SLOW_SHARE * (t->fip - f_neg)
        && (f_neg - f) * t->dt > t->det.lobe_ms)
        t->det.lobe_ms = (f_neg - f) * t->dt;
    return f;
}

/* The negative phase from the onset: its negative peaks are the minima
 * deeper than 10 % of the amplitude (and clear of the noise), each risen
 * from by 10 % of the amplitude before the next counts, reached before the
 * trace has stayed at or above baseline (within the noise) for 3 ms; it
 * ends at the return to baseline after the last of them. Returns the end
 * (fractional index), NAN when it does not come inside the record. */
static double negative_phase(const trace *t, double f_on, int *peaks)
{
    const double *s = t->s;
    double deep = -fmax(0.1 * t->amp, 4.0 * t->noise_s);
    double tol = -fmax(0.01 * t->amp, 2.5 * t->noise_s), rise = 0.1 * t->amp;
    size_t stay = (size_t)(3.0 / t->dt), run = 0;
    size_t last = t->ip, mn_i = 0;
    /* 0: before the first peak; 1: going down to a peak (mn its lowest, at
     * mn_i); 2: risen by `rise` from it (mx the highest since). A later
     * minimum is a peak once the trace has risen from it by `rise` too: a
     * slide below the depth that never comes back (a baseline shifted after
     * the response, the record's end) is no peak. */
    int state = 0, first = 1;
    double mn = 0.0, mx = 0.0;
    *peaks = 0;
    for (size_t i = f_on > 0 ? (size_t)f_on : 0; i < t->n && run < stay; i++) {
        double v = s[i];
        run = v >= tol ? run + 1 : 0;
        if (state == 0 && v < deep) {
            *peaks = 1; /* the first peak counts as soon as it is reached */
            mn = v;
            mn_i = i;
            state = 1;
        } else if (state == 1) {
            if (v < mn) {
                mn = v;
                mn_i = i;
            } else if (v - mn >= rise) {
                if (!first) /* a later peak, now confirmed */
                    (*peaks)++;
                first = 0;
                if (mn_i > last)
                    last = mn_i;
                mx = v;
                state = 2;
            }
        } else if (state == 2) {
            if (v > mx)
                mx = v;
            else if (mx - v >= rise && v < deep) {
                mn = v;
                mn_i = i;
                state = 1;
            }
        }
    }
    for (size_t k = last; k + 1 < t->n; k++)
        if (s[k] < 0 && s[k + 1] >= 0)
            return (double)k + s[k] / (s[k] - s[k + 1]);
    return NAN;
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

/* The onset against the local baseline just before it (what is left of
 * mains, drift or an artefact's tail there moves a take-off more than
 * anything else): the 1 % take-off found on the global baseline first, the
 * mean over the 1 ms that ends a little before it taken as the local
 * baseline, and the take-off found again against that. When the first one
 * reaches back implausibly far from where the response crosses 10 % of its
 * amplitude (a small offset of the baseline just below the onset level reads
 * as a response reaching back to the artefact), the local baseline is taken
 * before the foot that crossing implies instead. Returns its fractional
 * index. */
static double local_base_onset(trace *t, double f_ref)
{
    double rise = fmax((t->fip - f_ref) * t->dt, 0.0);
    double margin = 0.2 + 0.05 * rise;
    double win = LOCAL_BASE_MS / t->dt;
    double hi = f_ref - margin / t->dt, lo = hi - win;
    if (lo < (double)t->i0)
        lo = (double)t->i0;
    if (!(hi - lo >= 0.5 * win))
        return f_ref;
    double b = 0.0;
    size_t k = 0;
    for (size_t i = (size_t)ceil(lo); (double)i <= hi; i++, k++)
        b += t->s[i];
    b /= (double)k;
    departure d;
    double f = find_onset(t->s, t->n, t->ip, t->i0, t->amp + b, b, t->noise_s, t->dt, &d);
    set_onset_detail(t, &d);
    t->det.base_n = (double)k;
    t->det.base_mv = b;
    t->det.base_mid_ms = (f - 0.5 * (lo + hi)) * t->dt;
    t->det.base_shift_ms = (f - f_ref) * t->dt;
    return f;
}

static double auto_onset(trace *t)
{
    departure d;
    double f_on = find_onset(t->s, t->n, t->ip, t->i0, t->amp, 0.0, t->noise_s, t->dt, &d);
    set_onset_detail(t, &d);
    double lev = fmin(fmax(0.1 * t->amp, 4.0 * t->noise_s), 0.5 * t->amp);
    double r = crossing_first(t->s, t->ip, t->i0, -lev, -0.5 * lev);
    /* a quadratic take-off reaches 10 % a third of the way to its peak: its
     * foot lies within half the 10 %-to-peak time before r; twice that and
     * a millisecond is as far as a slow, dispersed foot goes */
    double reach = 2.0 * fmax(t->fip - r, 0.0) + 1.0 / t->dt;
    if (f_on < r - reach)
        f_on = r - 0.5 * fmax(t->fip - r, 0.0);
    return local_base_onset(t, f_on);
}

/* A plateau as the artefact ends, where a recovery too slow to turn back
 * within the gap leaves one: within HUMP_DEEP_MS of the onset found, the
 * trace stands beyond `flat` (and under HUMP_DEPTH_MAX of the amplitude)
 * and stays within `flat` of that level for HUMP_RETURN_MS or more before
 * the response's edge r. No CMAP stalls on its way to its first negative
 * peak. Sets its first and last samples; 0 when there is none. */
static int recovery_plateau(const trace *t, double f_on, size_t r, double flat, size_t *from,
                            size_t *to)
{
    const double *s = t->s;
    size_t w = (size_t)ceil(HUMP_RETURN_MS / t->dt), a = (size_t)f_on;
    for (size_t i = a + 1; i + w < r && ((double)i - f_on) * t->dt <= HUMP_DEEP_MS; i++) {
        if (!(-s[i] > flat && -s[i] < HUMP_DEPTH_MAX * t->amp))
            continue;
        size_t j = i + 1;
        while (j < r && fabs(s[j] - s[i]) < flat)
            j++;
        if (j - i < w)
            continue;
        *from = i;
        *to = j - 1;
        return 1;
    }
    return 0;
}

/* A hump as the artefact ends: the trace leaves its baseline toward the
 * response, turns back toward it, and only then takes off — an
 * amplifier's recovery of the other sign than the artefact, still decaying
 * when a response at 1-2 ms begins, which the gap before the response is
 * too short for the cleaning to fit. No CMAP turns back toward its baseline
 * before its first negative peak, so the take-off after the turn is the
 * response's, found against the line the hump's return follows just before
 * it. A hump counts when the onset found lies within HUMP_NEAR_MS of the
 * artefact's end, the hump is at its deepest within HUMP_DEEP_MS of that
 * (a tail decaying as the artefact ends, not a component rising: no CMAP
 * reaches its peak so soon), is shallower than HUMP_DEPTH_MAX of the
 * amplitude, and its return lasts HUMP_RETURN_MS and rises by
 * HUMP_RETURN_SHARE of its depth, clear of the noise; or when, in place
 * of the hump, the trace stalls on a plateau (recovery_plateau), the
 * take-off found against the plateau's line. Returns the take-off, or f_on
 * when there is neither. */
/* The take-off after a recovery's hump, plateau or ramp: found on the trace
 * less the line fitted over [lo, hi], from h on, no earlier than from and
 * before r (the response's edge); turn_mv is the trace's level where it
 * turned, counted in the baseline's error — for a ramp (which may go on
 * under the response) its line's level at the peak when that is further.
 * Returns f_on when there is no such take-off. */
static double take_off_past(trace *t, double f_on, size_t h, size_t lo, size_t hi, size_t from,
                            size_t r, double turn_mv, int ramp)
{
    const double *s = t->s;
    ncs_linfit lf = {0};
    for (size_t i = lo; i <= hi; i++)
        ncs_linfit_add(&lf, (double)i, s[i]);
    double slope, icpt;
    if (hi < lo + 3 || from < h || ncs_linfit_solve(&lf, &slope, &icpt))
        return f_on;
    /* the trace less that line, from h to the peak */
    size_t n = t->ip - h + 1;
    double *y = malloc(n * sizeof *y);
    if (!y)
        return f_on;
    for (size_t i = 0; i < n; i++)
        y[i] = s[h + i] - (slope * (double)(h + i) + icpt);
    departure d;
    double amp = -y[n - 1];
    double f = amp > 0 ? find_onset(y, n, n - 1, from - h, amp, 0.0, fast_noise(t), t->dt, &d)
                         + (double)h
                       : NAN;
    free(y);
    if (!(f > (double)h && f < (double)r))
        return f_on;
    set_onset_detail(t, &d);
    t->det.base_n = (double)(hi - lo + 1);
    t->det.base_mv = 0.0;
    t->det.base_mid_ms = (f - 0.5 * (double)(lo + hi)) * t->dt;
    t->det.base_shift_ms = 0.0;
    t->det.hump_ms = (f - f_on) * t->dt;
    t->det.ramp_ms = ramp ? t->det.hump_ms : 0.0;
    double at_peak = slope * (double)t->ip + icpt;
    t->det.hump_base_mv = ramp && fabs(at_peak) > fabs(turn_mv) ? at_peak : turn_mv;
    return f;
}

/* A straight run of the trace from sample a: the line over its first w
 * samples, then over the whole run before the trace breaks below it (toward
 * the response) by lim for good up to r, the response's edge. The run is
 * fitted within RAMP_FIT_SDS smoothed-noise SDs, does not bend toward the
 * response as a foot does (the parabola through it, against its chord,
 * bends downward by no more than RAMP_BEND_SDS SDs) and the edge at r is
 * RAMP_KNEE times steeper than the line. Sets the line's span's end *hi
 * (HUMP_MARGIN_MS short of the break, *k), its slope and intercept
 * (mV per sample, mV); 0 when there is no such run. */
static int straight_run(const trace *t, size_t a, size_t w, size_t r, double lim, size_t *hi,
                        size_t *k, double *slope, double *icpt)
{
    const double *s = t->s;
    size_t margin = (size_t)ceil(HUMP_MARGIN_MS / t->dt);
    if (a + w + margin >= r)
        return 0;
    double sd = t->c->sigma_s_mv;
    size_t end = a + w;
    /* the line over the first w samples, then over the whole run before
     * the break once it is found */
    for (int pass = 0; pass < 2; pass++) {
        ncs_linfit lf = {0};
        for (size_t i = a; i <= end; i++)
            ncs_linfit_add(&lf, (double)i, s[i]);
        if (ncs_linfit_solve(&lf, slope, icpt))
            return 0;
        /* the break: the first sample from which the trace stays below
         * the line by lim up to the edge */
        *k = r;
        while (*k > a + w && s[*k - 1] - (*slope * (double)(*k - 1) + *icpt) < -lim)
            (*k)--;
        if (*k >= r || *k <= a + w + margin)
            return 0;
        end = *k - margin;
    }
    /* (the line, its fit and its bend judged over the run as it ends) */
    ncs_linfit lf = {0};
    for (size_t i = a; i <= end; i++)
        ncs_linfit_add(&lf, (double)i, s[i]);
    if (ncs_linfit_solve(&lf, slope, icpt))
        return 0;
    double rss = 0.0;
    for (size_t i = a; i <= end; i++) {
        double e = s[i] - (*slope * (double)i + *icpt);
        rss += e * e;
    }
    double A[3][3] = {{0}}, q[3] = {0}, mid = 0.5 * (double)(a + end), half = 0.5 * (double)(end - a);
    for (size_t i = a; i <= end; i++) {
        double u = ((double)i - mid) / half, phi[3] = {1.0, u, u * u};
        for (int j = 0; j < 3; j++) {
            q[j] += phi[j] * s[i];
            for (int l = 0; l < 3; l++)
                A[j][l] += phi[j] * phi[l];
        }
    }
    if (ncs_solve_spd(&A[0][0], 3, q, 3) || q[2] < -RAMP_BEND_SDS * sd)
        return 0;
    double edge = edge_slope(s, t->n, (double)r, t->dt);
    if (!(sqrt(rss / (double)(end - a + 1)) <= RAMP_FIT_SDS * sd)
        || !(edge > RAMP_KNEE * fabs(*slope)))
        return 0;
    *hi = end;
    return 1;
}

/* A ramp as the artefact ends: from the onset found, the trace runs along a
 * straight line for RAMP_MS or more (straight_run), drifting by more than
 * the flat margin toward the response, and then breaks away from it with
 * an edge RAMP_KNEE times steeper — what an amplifier's recovery too slow
 * for the gap to show leaves after the cleaning. A CMAP's foot is convex
 * from its first microvolts: it bends away from any line through it
 * gradually, and no straight run of a millisecond precedes it — unless a
 * few fast fibres arrive spread out ahead of the rest, which the trace
 * cannot tell from a ramp: the onset's interval reaches back to the ramp's
 * start (det.ramp_ms). Sets the line's span [*lo, *hi] and where the break
 * begins (*from). */
static int recovery_ramp(const trace *t, double f_on, size_t r, double flat, size_t *lo,
                         size_t *hi, size_t *from)
{
    size_t a = (size_t)ceil(f_on), k = 0, end = 0;
    double slope = 0.0, icpt = 0.0;
    if (!straight_run(t, a, (size_t)ceil(RAMP_MS / t->dt), r,
                      fmax(flat, RAMP_BREAK_SDS * t->c->sigma_s_mv), &end, &k, &slope, &icpt)
        || !(-slope * (double)(k - a) > flat))
        return 0;
    *lo = a;
    *hi = end;
    *from = end;
    return 1;
}

static double past_recovery_hump(trace *t, double f_on)
{
    const double *s = t->s;
    double thr = NCS_ONSET_LEVEL_PCT / 100.0 * t->amp;
    double near = (f_on - (double)t->i0) * t->dt;
    if (!(near >= 0) || near > fmax(HUMP_NEAR_MS, RAMP_NEAR_MS))
        return f_on;
    /* the response's edge: the last sample above 10 % of the amplitude
     * before the peak */
    double lev = fmin(fmax(0.1 * t->amp, 4.0 * t->noise_s), 0.5 * t->amp);
    size_t r = t->ip;
    while (r > t->i0 && s[r] <= -lev)
        r--;
    size_t a = (size_t)f_on;
    if (r <= a + 2)
        return f_on;
    size_t m = a, h = a;
    for (size_t i = a; i <= r; i++)
        if (s[i] >= s[m])
            m = i;
    for (size_t i = a; i <= m; i++)
        if (s[i] < s[h])
            h = i;
    double depth = -s[h], ret = s[m] - s[h], flat = fmax(thr, 4.0 * t->c->white_s_mv);
    if (near > HUMP_NEAR_MS || !(depth > 0) || depth >= HUMP_DEPTH_MAX * t->amp
        || ((double)h - f_on) * t->dt > HUMP_DEEP_MS || (double)(m - h) * t->dt < HUMP_RETURN_MS
        || ret < fmax(HUMP_RETURN_SHARE * depth, flat)) {
        if (near > HUMP_NEAR_MS || !recovery_plateau(t, f_on, r, flat, &h, &m)) {
            /* (a ramp may pass the 10 % level before it breaks: its
             * edge is looked for up to the response's half-amplitude) */
            size_t lo, hi, from, r2 = t->ip;
            while (r2 > t->i0 && s[r2] <= -HUMP_DEPTH_MAX * t->amp)
                r2--;
            if (!recovery_ramp(t, f_on, r2, flat, &lo, &hi, &from))
                return f_on;
            return take_off_past(t, f_on, a, lo, hi, from, r2, s[from], 1);
        }
    }
    /* the return's line over the millisecond before the turn, stopping
     * short of it (the response's foot is already in the turn) */
    size_t hi = m - (size_t)fmin((double)(m - h) / 3.0, HUMP_MARGIN_MS / t->dt);
    size_t lo = hi - (size_t)fmin((double)(hi - h), LOCAL_BASE_MS / t->dt);
    return take_off_past(t, f_on, h, lo, hi, m, r, s[m], 0);
}

/* Whether the smoothed trace stood beyond lim on the side of level over
 * [from, to]. */
static int off_since(const trace *t, size_t from, size_t to, double level, double lim)
{
    for (size_t i = from; i <= to && i < t->n; i++)
        if (!(level > 0 ? t->s[i] > lim : t->s[i] < -lim))
            return 0;
    return 1;
}

/* A shelf as the artefact ends: the trace has not come back to its
 * baseline when the artefact ends — it stands off it, on either side, by
 * more than the flat margin and SHELF_OFF_SDS smoothed-noise SDs — and
 * holds a straight line (straight_run) for SHELF_MS or more from within
 * SHELF_START_MS of the artefact's end, not moving away from the baseline,
 * then breaks away toward the response with an edge RAMP_KNEE times
 * steeper: an amplifier's overshoot decaying slower than the gap before a
 * response at 1-2 ms shows, which the cleaning leaves. No CMAP holds a
 * level off its baseline before it takes off, and a lobe ahead of the
 * negative phase rises from the baseline and bends over its top (not a
 * straight run): the take-off is where the trace breaks away from the
 * shelf's line (short-recovery family: such shelves, 10-30 % of the
 * amplitude, were read as a lobe or a foot taking off at the artefact's
 * end, 0.3-1.5 ms early). But a lobe or a low early phase that began
 * under the artefact may show a top as flat within the noise (a review:
 * 13 % of flat-topped lobes read so, 0.6-1.4 ms late at +-0.1 ms): the
 * interval reaches back to the artefact's end. Only breaks within
 * RAMP_NEAR_MS of that end count. Returns the take-off, or f_on when there
 * is no shelf. */
static double past_recovery_shelf(trace *t, double f_on)
{
    const double *s = t->s;
    double flat = fmax(NCS_ONSET_LEVEL_PCT / 100.0 * t->amp, 4.0 * t->c->white_s_mv);
    double sd = t->c->sigma_s_mv, lim = fmax(flat, RAMP_BREAK_SDS * sd);
    size_t r = t->ip;
    while (r > t->i0 && s[r] <= -HUMP_DEPTH_MAX * t->amp)
        r--;
    size_t w = (size_t)ceil(SHELF_MS / t->dt), step = w / 3 ? w / 3 : 1;
    for (size_t a = t->i0; ((double)a - (double)t->i0) * t->dt <= SHELF_START_MS; a += step) {
        size_t end = 0, k = 0;
        double slope = 0.0, icpt = 0.0;
        if (!straight_run(t, a, w, r, lim, &end, &k, &slope, &icpt))
            continue;
        /* (off the baseline, on one side of it from the artefact's end
         * to the break — a lobe rises from the baseline — and less than
         * the artefact that left it) */
        double at = slope * (double)a + icpt, turn = slope * (double)end + icpt;
        double away = at > 0 ? turn - at : at - turn;
        if (!(fabs(at) > fmax(lim, SHELF_OFF_SDS * sd)) || !off_since(t, t->i0, a, at, lim)
            || away > fmax(flat, SHELF_AWAY * fabs(at))
            || !(at * (slope * (double)k + icpt) > 0) || !(fabs(t->c->art_amp_mv) > fabs(at)))
            continue;
        if (((double)k - (double)t->i0) * t->dt > RAMP_NEAR_MS)
            break; /* (a later break had a gap the cleaning could fit) */
        double f = take_off_past(t, f_on, a, a, end, end, r, turn, 0);
        /* a lobe or a few fast fibres that began under the artefact can
         * look the same (a flat top, a low early phase): the onset's
         * interval reaches back to the artefact's end */
        if (f != f_on)
            t->det.ramp_ms = fmax(t->det.ramp_ms, (f - (double)t->i0) * t->dt);
        return f;
    }
    return f_on;
}

/* The end of the negative phase (or the manual end); NAN when it does not
 * come inside the record. */
static double find_end(trace *t, double f_on, const ncs_site *site, ncs_markers *m)
{
    double f_end = negative_phase(t, f_on, &m->neg_peaks);
    if (isfinite(f_end))
        t->det.slope_end = -edge_slope(t->s, t->n, f_end, t->dt) / t->dt;
    if (m->neg_peaks > 1)
        m->flags |= NCS_FLAG_POLYPHASIC;
    if (site && !isnan(site->end_ms)) {
        m->manual_end = 1;
        return (site->end_ms - t->c->t0_ms) / t->dt;
    }
    return f_end;
}

/* Onset, end, duration and area (manual markers replace automatic ones). */
static void mark_phase(trace *t, const ncs_site *site, ncs_markers *m)
{
    const ncs_clean *c = t->c;
    double f_auto = auto_onset(t), f_neg = past_recovery_hump(t, f_auto);
    int shelf = 0;
    if (f_neg == f_auto) {
        f_neg = past_recovery_shelf(t, f_auto);
        shelf = f_neg != f_auto;
    }
    int lead = 0;
    /* (a shelf is no lobe to look for ahead of the take-off) */
    double f_on = shelf ? f_neg : positive_onset(t, f_neg, &lead);
    if (lead) {
        m->flags |= NCS_FLAG_INITIAL_POSITIVITY;
        m->lead_ms = (f_neg - f_on) * t->dt;
    } else if (!t->det.residue) { /* (a slow residue is no lobe to look for) */
        m->bump_ms = t->det.lobe_ms;
    }
    t->det.positive_first = lead;
    if (site && !isnan(site->onset_ms)) {
        f_on = (site->onset_ms - c->t0_ms) / t->dt;
        m->manual_onset = 1;
    }
    /* (whether the take-off overlaps the artefact: where it was seen, before
     * the correction below) */
    double seen_ms = ncs_clean_t(c, f_on);
    if (shelf && !m->manual_onset) /* (the recovery lies under the response) */
        m->flags |= NCS_FLAG_ARTEFACT_OVERLAP;
    else if (seen_ms <= c->art_end_ms + 0.5 * t->dt && !m->manual_onset)
        m->flags |= NCS_FLAG_ARTEFACT_OVERLAP;
    /* (or where the trace had not come back to its baseline when the
     * artefact ended, the take-off found within a millisecond of that: an
     * amplifier's recovery or the response itself may hold it there, and
     * which of them is not to be told) */
    else if (!m->manual_onset && t->i0 < t->n && seen_ms - c->art_end_ms < 1.0
             && fabs(t->s[t->i0]) > fmax(NCS_ONSET_LEVEL_PCT / 100.0 * t->amp,
                                         3.0 * t->c->sigma_s_mv))
        m->flags |= NCS_FLAG_ARTEFACT_OVERLAP;
    else if (c->art_amp_mv != 0 && !m->manual_onset
             && fabs(c->art_amp_mv) * exp(-seen_ms / c->art_tau_ms)
                    > fmax(0.01 * t->amp, t->noise_s))
        m->flags |= NCS_FLAG_ARTEFACT_OVERLAP;
    if (!m->manual_onset && !lead && t->det.reach_ms == 0 && t->det.short_ms == 0
        && t->det.slope_on > 0) {
        /* a negative take-off crossed at 1 % on the smoothed trace: the
         * smoothing brought it forward (one carried back along a line
         * fitted higher on the edge, or left at a crossing above 1 %, is
         * not so pulled) */
        double thr = NCS_ONSET_LEVEL_PCT / 100.0 * t->amp;
        t->det.pull_ms = ncs_smooth_pull_ms(2.0 * thr / t->det.slope_on, t->dt);
        f_on += t->det.pull_ms / t->dt;
    } else if (!m->manual_onset && t->det.short_ms > 0) {
        /* an onset left at a crossing above 1 % (not carried back) lies
         * between that crossing, where a corner (the steepest take-off)
         * crosses 1 %, and where a quadratic take-off meeting the edge's
         * slope there does, short_near_ms before it (a ramp's foot lies
         * between the two): it is put at their middle (not before the
         * search's start), and short_ms becomes the half-width that still
         * reaches where a quadratic take-off rising to the peak would cross
         * 1 %, short_ms before the crossing — the interval covers the
         * take-offs it did from the crossing, less the side after it,
         * where none lies */
        double early = f_on - t->det.short_ms / t->dt;
        double mid = fmax(f_on - 0.5 * t->det.short_near_ms / t->dt,
                          fmin((double)t->i0, f_on));
        t->det.short_ms = fmax(mid - early, 0.0) * t->dt;
        f_on = mid;
    }
    m->onset_ms = ncs_clean_t(c, f_on);
    t->det.rise_ms = (t->fip - f_on) * t->dt;
    if (!lead && !m->manual_onset && ((m->flags & NCS_FLAG_ARTEFACT_OVERLAP) || c->rec_mv != 0)) {
        /* (the first crossing after the onset: a polyphasic phase's later
         * component has an edge of its own) */
        double lev = 0.1 * t->amp;
        size_t i = f_on > 0 ? (size_t)ceil(f_on) : 0;
        while (i < t->ip && t->s[i] > -lev)
            i++;
        t->det.edge_ms = fmax((double)i - f_on, 0.0) * t->dt;
    }

    double f_end = find_end(t, f_on, site, m);
    if (isnan(f_end) || f_end > (double)(t->n - 1)) {
        m->flags |= NCS_FLAG_TRUNCATED;
    } else {
        m->end_ms = ncs_clean_t(c, f_end);
        m->neg_dur_ms = m->end_ms - m->onset_ms;
        m->neg_area_mvms = neg_area(t->s, t->n, f_on, f_end) * t->dt;
        t->det.area_n = f_end - f_on;
    }
}

/* Peak-to-peak, and a positive first phase larger than the negative one
 * (polarity reversed?). */
static void mark_positive_phases(const trace *t, ncs_markers *m)
{
    size_t j = ncs_first_most(t->s, t->ip, t->n, -INFINITY, t->n);
    double smax = j < t->n ? t->s[j] : -INFINITY;
    m->p2p_mv = smax - t->smin;
    j = ncs_first_most(t->s, t->i0, t->ip, -INFINITY, t->ip);
    double first_pos = j < t->ip ? t->s[j] : -INFINITY;
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
    m->noise_uv = 1000.0 * c->base_noise_mv;
    m->baseline_mv = c->baseline_mv;
    m->drift_mv_per_s = c->drift_mv_per_s;
    m->step_mv = c->step_mv;
    m->mains_hz = c->mains_hz;
    m->mains_uv = c->mains_uv;
    m->mains_evidence[0] = c->mains_gain[0];
    m->mains_evidence[1] = c->mains_gain[1];
    m->artefact_end_ms = c->art_end_ms;
    m->stim_seen_ms = c->stim_seen_ms;
    if (w->fs_hz < NCS_LOW_RATE_HZ)
        m->flags |= NCS_FLAG_LOW_RATE;
    if (site && site->exclude)
        m->flags |= NCS_FLAG_EXCLUDED;
}

/* An error about a marker placed by hand, named as study.ini's parser
 * names its errors: "<study.ini>:<line>: [<section>]: ...", the line the
 * key k's (0 onset_ms, 1 peak_ms, 2 end_ms); where the site is not a
 * study's, by the trace's name. */
static ncs_status marker_error(ncs_error *err, const ncs_site *site, int k, const char *where,
                               const char *fmt, ...) NCS_PRINTF(5, 6);
static ncs_status marker_error(ncs_error *err, const ncs_site *site, int k, const char *where,
                               const char *fmt, ...)
{
    char msg[600], loc[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* (a marker found out of order with one placed by hand: the section) */
    int line = !site ? 0 : site->marker_line[k] > 0 ? site->marker_line[k] : site->line;
    if (!site || !site->ini || line <= 0)
        return ncs_fail(err, NCS_ERR_INI_VALUE, where, "%s", msg);
    const char *slash = where ? strchr(where, '/') : NULL;
    snprintf(loc, sizeof loc, "%s:%d", site->ini, line);
    return ncs_fail(err, NCS_ERR_INI_VALUE, loc, "[%s]: %s", slash ? slash + 1 : site->name, msg);
}

/* Markers placed by hand must lie inside the record: an error naming the
 * key, never a duration of -9987 ms. */
static ncs_status check_manual_range(const ncs_wave *w, const ncs_site *site, const char *where,
                                     ncs_error *err)
{
    if (!site)
        return NCS_OK;
    double first = -w->stim_ms, last = first + (double)(w->n - 1) * 1000.0 / w->fs_hz;
    const double v[3] = {site->onset_ms, site->peak_ms, site->end_ms};
    static const char *const key[3] = {"onset_ms", "peak_ms", "end_ms"};
    for (int k = 0; k < 3; k++)
        if (!isnan(v[k]) && (v[k] < first || v[k] > last))
            return marker_error(err, site, k, where,
                                "%s = %g (placed by hand) lies outside the record, which runs "
                                "from %.2f to %.2f ms from the stimulus",
                                key[k], v[k], first, last);
    return NCS_OK;
}

/* With some markers placed by hand and the others found, the whole set must
 * still be in order: onset < peak < end. */
static ncs_status check_manual_order(const ncs_markers *m, const ncs_site *site,
                                     const char *where, ncs_error *err)
{
    if (!(m->manual_onset || m->manual_peak || m->manual_end) || !m->response)
        return NCS_OK;
    if (isfinite(m->onset_ms) && isfinite(m->peak_ms) && !(m->onset_ms < m->peak_ms))
        return marker_error(err, site, m->manual_onset ? 0 : 1, where,
                            "%s %.2f ms is not before the %s peak at %.2f ms",
                            m->manual_onset ? "onset_ms (placed by hand)" : "the onset found",
                            m->onset_ms, m->manual_peak ? "peak_ms placed by hand:" : "found",
                            m->peak_ms);
    if (isfinite(m->end_ms) && isfinite(m->peak_ms) && !(m->peak_ms < m->end_ms))
        return marker_error(err, site, m->manual_end ? 2 : 1, where,
                            "%s %.2f ms is not after the peak at %.2f ms (%s)",
                            m->manual_end ? "end_ms (placed by hand)" : "the end found",
                            m->end_ms, m->peak_ms,
                            m->manual_peak ? "peak_ms placed by hand" : "found");
    return NCS_OK;
}

ncs_status ncs_measure(ncs_analyser *a, const ncs_wave *w, const ncs_site *site,
                       const char *where, ncs_markers *m, double *clean_mv,
                       ncs_warnings *warn, ncs_error *err)
{
    ncs_error_clear(err);
    if (!a || !w || !w->mv || !m || w->n < 8)
        return ncs_fail(err, NCS_ERR_USAGE, where, "nothing to measure");
    if (check_manual_range(w, site, where, err) != NCS_OK)
        return err ? err->code : NCS_ERR_INI_VALUE;
    memset(m, 0, sizeof *m);
    set_nan(m);
    /* 1. interference removed, the trace smoothed for locating (clean.c) */
    ncs_clean c;
    if (ncs_clean_run(a, w, &c) != NCS_OK)
        return ncs_fail(err, NCS_ERR_NOMEM, where, "out of memory");
    record_cleaning(&c, w, site, m);
    trace t = {.c = &c, .s = c.s, .n = c.n, .dt = c.dt_ms, .noise_s = c.sigma_s_mv,
               .det = {.slope_on = NAN, .fit_sd_ms = 0, .slope_end = NAN,
                       .amp_sd_mv = NAN, .peak_sd_ms = NAN}};

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
            if (!(t.amp > 3.0 * t.noise_s)) {
                ncs_clean_free(&c);
                return marker_error(err, site, 1, where,
                                "peak_ms = %g (placed by hand) is where the cleaned trace "
                                "is %.3f mV, within 3 times its noise (%.3f mV) of the "
                                "baseline or above it: not a negative peak",
                                manual_peak, -t.amp, t.noise_s);
            }
            /* the depth read where the marker was placed is the cleaned
             * trace's own (the one drawn), not its smoothing's, which lies
             * short of a sharp peak; its noise is the trace's */
            t.smin = at(c.x, c.n, t.fip);
            t.amp = -t.smin;
            t.det.amp_sd_mv = c.sigma_mv;
        }
        if (isnan(manual_peak))
            refine_peak(&t);
        m->peak_ms = ncs_clean_t(&c, t.fip);
        m->amp_mv = t.amp;
        /* 3. onset, end, duration, area; 4. the phases around it; 5. what
         *    makes a value unknowable or doubtful */
        mark_phase(&t, site, m);
        mark_positive_phases(&t, m);
        mark_clipping(&t, w, m);
        if (isfinite(m->amp_mv) && m->noise_uv / 1000.0 > 0.1 * m->amp_mv)
            m->flags |= NCS_FLAG_NOISY;
        if (isfinite(m->amp_mv) && m->amp_mv > NCS_AMP_PLAUSIBLE_MAX_MV)
            m->flags |= NCS_FLAG_IMPLAUSIBLE_AMPLITUDE;
        ncs_uncertainty_site(&c, &t.det, m);
    }
    if (!m->response)
        set_nan(m);
    if (m->manual_onset || m->manual_peak || m->manual_end)
        m->flags |= NCS_FLAG_MANUAL;
    ncs_status rc = check_manual_order(m, site, where, err);
    if (rc != NCS_OK) {
        ncs_clean_free(&c);
        return rc;
    }
    if (clean_mv)
        memcpy(clean_mv, c.x, c.n * sizeof *clean_mv);
    warn_flags(warn, where, m, &c, w);
    ncs_clean_free(&c);
    return NCS_OK;
}
