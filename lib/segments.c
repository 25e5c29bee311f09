/* segments.c — docs/measurements.md: what changes between two consecutive sites. */
#include <math.h>

#include "internal.h"

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
}
