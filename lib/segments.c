/* segments.c — docs/measurements.md: what changes between two consecutive
 * sites, how sure each change is, and whether the two sites agree. */
#include <math.h>
#include <stdio.h>

#include "internal.h"

/* The 95 % half-width of 100 (1 - a / b) (or of 100 (a / b - 1)), a and b
 * with half-widths ua and ub, their errors independent. */
static double ratio_u(double a, double ua, double b, double ub)
{
    if (!(a > 0) || !(b > 0) || !isfinite(ua) || !isfinite(ub))
        return NAN;
    return 100.0 * a / b * sqrt((ua / a) * (ua / a) + (ub / b) * (ub / b));
}

double ncs_onset_diff_u(const ncs_site_uncertainty *a, const ncs_site_uncertainty *b)
{
    double ca = fmin(a->onset_common_ms, a->onset_ms), cb = fmin(b->onset_common_ms, b->onset_ms);
    return hypot(a->onset_ms - ca, b->onset_ms - cb) + fabs(ca - cb);
}

/* A site's area half-width less the share (of its area) that it has in
 * common with the other site of its segment, `common` (the smaller of
 * their shares: a site whose markers were placed by hand shares none): it
 * cancels in a ratio of their areas. */
static double own_area_u(const ncs_markers *m, double common)
{
    return m->u.neg_area_mvms - common * m->neg_area_mvms;
}

double ncs_drop_least(double v, double u)
{
    if (!(isfinite(v) && v >= 100.0 && isfinite(u)))
        return NAN;
    return fmax(0.0, 100.0 - u);
}

/* Half-widths of the segment's values from its sites'. An absent proximal
 * response is a 100 % drop give or take the smallest response the noise
 * could hide (6 times its RMS, the detection limit). */
static void propagate(const ncs_markers *d, const ncs_markers *p, ncs_segment *g)
{
    g->u.latency_diff_ms = g->u.cv_m_s = NAN;
    g->u.amp_drop_pct = g->u.area_drop_pct = g->u.dur_increase_pct = NAN;
    if (isfinite(g->latency_diff_ms)) {
        double h = ncs_onset_diff_u(&d->u, &p->u);
        g->u.latency_diff_ms = h;
        if (isfinite(g->cv_m_s))
            g->u.cv_m_s = h < g->latency_diff_ms
                              ? g->distance_mm / (g->latency_diff_ms - h) - g->cv_m_s
                              : INFINITY;
    }
    if (!p->response && d->response) {
        double lim = 100.0 * 6.0 * p->noise_uv / 1000.0;
        if (isfinite(g->amp_drop_pct))
            g->u.amp_drop_pct = lim / d->amp_mv;
        if (isfinite(g->area_drop_pct))
            g->u.area_drop_pct = lim / d->amp_mv;
        return;
    }
    if (isfinite(g->amp_drop_pct))
        g->u.amp_drop_pct = ratio_u(p->amp_mv, p->u.amp_mv, d->amp_mv, d->u.amp_mv);
    if (isfinite(g->area_drop_pct)) {
        double common = fmin(p->u.area_common_share, d->u.area_common_share);
        g->u.area_drop_pct = ratio_u(p->neg_area_mvms, own_area_u(p, common), d->neg_area_mvms,
                                     own_area_u(d, common));
    }
    if (isfinite(g->dur_increase_pct))
        g->u.dur_increase_pct = ratio_u(p->neg_dur_ms, p->u.neg_dur_ms, d->neg_dur_ms,
                                        d->u.neg_dur_ms);
}

/* docs/measurements.md, consistency: the proximal onset later than the
 * distal one, a CV whose interval reaches into 10-100 m/s, a duration not
 * shrinking by more than 30 % (a dispersed response only grows). Otherwise
 * the reason into g->inconsistent, with a warning naming the sites. */
static void check_consistency(ncs_segment *g, const char *where, ncs_warnings *warn)
{
    g->inconsistent[0] = '\0';
    /* the CV's interval from the latency difference's: D/(dt+u) to D/(dt-u),
     * the upper end unbounded when u reaches dt */
    double cv = g->cv_m_s, u = isfinite(g->u.latency_diff_ms) ? g->u.latency_diff_ms : 0.0;
    double cv_lo = isfinite(cv) ? g->distance_mm / (g->latency_diff_ms + u) : NAN;
    double cv_hi = isfinite(cv) && u < g->latency_diff_ms
                       ? g->distance_mm / (g->latency_diff_ms - u) : INFINITY;
    if (isfinite(g->latency_diff_ms) && !(g->latency_diff_ms > 0))
        snprintf(g->inconsistent, sizeof g->inconsistent,
                 "the onset at %s is not later than at %s", g->to, g->from);
    else if (isfinite(cv) && (cv_lo > NCS_CV_PLAUSIBLE_MAX || cv_hi < NCS_CV_PLAUSIBLE_MIN
                              || (!g->inching && (cv < NCS_CV_PLAUSIBLE_MIN
                                                  || cv > NCS_CV_PLAUSIBLE_MAX))))
        snprintf(g->inconsistent, sizeof g->inconsistent,
                 "CV %.1f m/s %s-%s (%.1f to %.1f) is outside %g-%g m/s: a site, a marker or "
                 "a distance is wrong", cv, g->from, g->to, cv_lo, cv_hi, NCS_CV_PLAUSIBLE_MIN,
                 NCS_CV_PLAUSIBLE_MAX);
    else if (isfinite(g->dur_increase_pct)
             && g->dur_increase_pct + (isfinite(g->u.dur_increase_pct) ? g->u.dur_increase_pct : 0)
                    < -NCS_DUR_SHRINK_MAX_PCT)
        snprintf(g->inconsistent, sizeof g->inconsistent,
                 "the duration shrinks by %.0f%% from %s to %s (more than %g%%): the two "
                 "responses do not look like one nerve's", -g->dur_increase_pct, g->from, g->to,
                 NCS_DUR_SHRINK_MAX_PCT);
    /* the commonest slip: a distance in cm (23 for 230 mm) gives a CV ten
     * times too slow */
    char hint[128] = "";
    if (isfinite(cv) && cv < NCS_CV_PLAUSIBLE_MIN && cv * 10.0 >= NCS_CV_PLAUSIBLE_MIN
        && cv * 10.0 <= NCS_CV_PLAUSIBLE_MAX
        && 10.0 * g->distance_mm <= NCS_SEGMENT_PLAUSIBLE_MAX_MM)
        snprintf(hint, sizeof hint, "; distance_mm = %g: was %g mm meant? (cm written for mm)",
                 g->distance_mm, 10.0 * g->distance_mm);
    /* the onset order already has its own warning (latency-order) */
    if (g->inconsistent[0] && isfinite(g->latency_diff_ms) && g->latency_diff_ms > 0)
        ncs_warn(warn, where, "inconsistent", "%s: the segment is not evaluable%s",
                 g->inconsistent, hint);
    else if (!g->inconsistent[0] && g->inching && isfinite(cv)
             && (cv < NCS_CV_PLAUSIBLE_MIN || cv > NCS_CV_PLAUSIBLE_MAX))
        /* an inching step's CV outside the range, but its interval reaches
         * into it: kept (a step of 1-2 cm is short), and said */
        ncs_warn(warn, where, "implausible-cv",
                 "CV %.1f m/s %s-%s (%.1f to %.1f) is outside %g-%g m/s, though its interval "
                 "reaches into it: check the markers and distance_mm%s", cv, g->from, g->to,
                 cv_lo, cv_hi, NCS_CV_PLAUSIBLE_MIN, NCS_CV_PLAUSIBLE_MAX, hint);
}

void ncs_segment_compute(const ncs_markers *d, const ncs_markers *p, const char *from,
                         const char *to, double distance_mm, const char *where,
                         ncs_segment *g, ncs_warnings *warn)
{
    g->from = from;
    g->to = to;
    g->distance_mm = distance_mm;
    g->latency_diff_ms = g->cv_m_s = NAN;
    g->amp_drop_pct = g->area_drop_pct = g->dur_increase_pct = NAN;
    g->latency_ms_per_cm = g->amp_drop_pct_per_cm = NAN;
    g->inching = distance_mm <= NCS_INCHING_MAX_MM;
    if (d->response && p->response) {
        g->latency_diff_ms = p->onset_ms - d->onset_ms;
        if (g->latency_diff_ms > 0)
            g->cv_m_s = distance_mm / g->latency_diff_ms; /* mm/ms = m/s */
        else
            ncs_warn(warn, where, "latency-order",
                     "onset at %s (%.2f ms) is not later than at %s (%.2f ms): "
                     "no conduction velocity; check the sites' order and markers",
                     to, p->onset_ms, from, d->onset_ms);
    } else {
        ncs_warn(warn, where, "cv-missing",
                 "no conduction velocity %s-%s: no response at %s", from, to,
                 d->response ? to : from);
    }
    /* drops need the distal measure; an absent proximal response is a 100 % drop */
    if (isfinite(d->amp_mv) && d->amp_mv > 0)
        g->amp_drop_pct = p->response ? (isfinite(p->amp_mv)
                                         ? 100.0 * (1.0 - p->amp_mv / d->amp_mv) : NAN)
                                      : 100.0;
    if (isfinite(d->neg_area_mvms) && d->neg_area_mvms > 0)
        g->area_drop_pct = p->response ? (isfinite(p->neg_area_mvms)
                                          ? 100.0 * (1.0 - p->neg_area_mvms / d->neg_area_mvms)
                                          : NAN)
                                       : 100.0;
    if (isfinite(d->neg_dur_ms) && d->neg_dur_ms > 0 && isfinite(p->neg_dur_ms))
        g->dur_increase_pct = 100.0 * (p->neg_dur_ms / d->neg_dur_ms - 1.0);
    if (g->inching) {
        double cm = distance_mm / 10.0;
        if (isfinite(g->latency_diff_ms))
            g->latency_ms_per_cm = g->latency_diff_ms / cm;
        if (isfinite(g->amp_drop_pct))
            g->amp_drop_pct_per_cm = g->amp_drop_pct / cm;
    }
    propagate(d, p, g);
    check_consistency(g, where, warn);
}
