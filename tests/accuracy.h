/* accuracy.h — the accuracy targets (95th percentile of |error| against the
 * noise-free truth) and the percentile, shared by the suites that measure
 * generated traces (test_measure.c) and the shipped samples
 * (test_samples.c). Header-only. */
#ifndef NCS_TEST_ACCURACY_H
#define NCS_TEST_ACCURACY_H

#include <math.h>
#include <stdlib.h>

enum { E_ONSET, E_AMP, E_AREA, E_DUR, E_DLAT, E__N };
static const char *const e_names[E__N] = {"onset_ms", "amp_pct", "area_pct", "dur_ms", "dlat_ms"};
/* responses >= 2 mV; smaller ones (no latency-difference target) */
static const double target_big[E__N] = {0.10, 2.0, 3.0, 0.25, 0.10};
static const double target_small[E__N] = {0.25, 5.0, 8.0, 0.5, NAN};

static inline int tu_cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The 95th percentile of v[0..n) (sorts v), linear between ranks; NAN for n 0. */
static inline double tu_p95(double *v, size_t n)
{
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, tu_cmpd);
    double k = (double)(n - 1) * 0.95;
    size_t i = (size_t)k;
    return i + 1 >= n ? v[i] : v[i] + (v[i + 1] - v[i]) * (k - (double)i);
}

#endif
