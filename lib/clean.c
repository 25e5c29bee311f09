/* clean.c — one trace cleaned for measurement, without filtering the CMAP.
 *
 * Every interference is removed by fitting a model of it and subtracting the
 * model, never by a filter over the response: a notch or high-pass rings
 * into the onset and changes the area, a subtracted model does not.
 *   1. baseline: median of the pre-stimulus samples (or of the record's tail
 *      when there is less than 1 ms of them);
 *   2. where the response lies (roughly), so it can be kept out of step 3;
 *   3. baseline, linear drift and mains (50 or 60 Hz with its 2nd and 3rd
 *      harmonics) fitted by least squares on the quiet samples only —
 *      before the stimulus and after the response has died away. Mains is
 *      kept only when it explains significantly more than the baseline
 *      alone (F-test), and its frequency is the one that explains more;
 *   4. the stimulus artefact: A e^(-t/tau) fitted to the decay after the
 *      stimulus and subtracted; the search for the response starts where
 *      the fitted artefact has fallen below the noise.
 * Markers are then found on a zero-phase Gaussian-smoothed copy (FFTW), which
 * lowers white noise without moving a peak or a crossing.
 */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fftw3.h>

#include "clean.h"
#include "internal.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define SMOOTH_MS NCS_SMOOTH_SIGMA_MS /* sigma of the marker-finding smoothing */
#define ROUGH_SMOOTH_MS 0.2 /* sigma for locating the response roughly */


/* FFT plans for a few lengths, reused from trace to trace and study to
 * study: lengths are rounded up to 2^k or 3 * 2^k, so a whole batch of
 * records of different lengths needs only a handful of plans. */
#define PLAN_SLOTS 8

typedef struct {
    size_t m;            /* FFT length, 0 when the slot is free */
    double *buf;
    fftw_complex *spec;
    fftw_plan fwd, inv;
    unsigned long used;  /* for least-recently-used replacement */
    double sigma;        /* the Gaussian the gains below are for */
    double *gain;        /* m/2+1 spectral gains, 1/m included */
} plan_slot;

struct ncs_analyser {
    plan_slot slot[PLAN_SLOTS];
    unsigned long clock;
    double force_mains_hz;  /* the nerve's mains, when known (0: each trace's own) */
};

void ncs_analyser_force_mains(ncs_analyser *a, double hz)
{
    a->force_mains_hz = hz;
}

double ncs_mains_vote(const ncs_markers *m, size_t n)
{
    double g[2] = {0.0, 0.0};
    for (size_t i = 0; i < n; i++)
        if (!(m[i].flags & NCS_FLAG_EXCLUDED)) {
            g[0] += m[i].mains_evidence[0];
            g[1] += m[i].mains_evidence[1];
        }
    return g[0] > g[1] ? 50.0 : g[1] > g[0] ? 60.0 : 0.0;
}

ncs_analyser *ncs_analyser_create(ncs_error *err)
{
    ncs_analyser *a = calloc(1, sizeof *a);
    if (!a)
        ncs_fail(err, NCS_ERR_NOMEM, "", "out of memory");
    return a;
}

/* FFTW's planner (plan creation and destruction) is not thread-safe; its
 * plans, once made, may be executed from any thread. One lock for the
 * process serialises planning, so analysers in distinct threads may be
 * used at once. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

static void drop_slot(plan_slot *p)
{
    pthread_mutex_lock(&planner_lock);
    if (p->fwd)
        fftw_destroy_plan(p->fwd);
    if (p->inv)
        fftw_destroy_plan(p->inv);
    pthread_mutex_unlock(&planner_lock);
    fftw_free(p->buf);
    fftw_free(p->spec);
    free(p->gain);
    memset(p, 0, sizeof *p);
}

void ncs_analyser_destroy(ncs_analyser *a)
{
    if (!a)
        return;
    for (int i = 0; i < PLAN_SLOTS; i++)
        drop_slot(&a->slot[i]);
    free(a);
}

/* The smallest 2^k or 3 * 2^k >= m. */
static size_t fft_size(size_t m)
{
    size_t p = 1;
    while (p < m) {
        if (3 * (p / 2) >= m && p >= 2)
            return 3 * (p / 2);
        p *= 2;
    }
    return p;
}

/* Plans for length m: a cached slot, or the least recently used one
 * replanned (under the planner lock). */
static plan_slot *plan_for(ncs_analyser *a, size_t m)
{
    a->clock++;
    plan_slot *lru = &a->slot[0];
    for (int i = 0; i < PLAN_SLOTS; i++) {
        if (a->slot[i].m == m) {
            a->slot[i].used = a->clock;
            return &a->slot[i];
        }
        if (a->slot[i].used < lru->used)
            lru = &a->slot[i];
    }
    drop_slot(lru);
    lru->buf = fftw_malloc(m * sizeof *lru->buf);
    lru->spec = fftw_malloc((m / 2 + 1) * sizeof *lru->spec);
    lru->gain = malloc((m / 2 + 1) * sizeof *lru->gain);
    lru->sigma = -1.0;
    if (!lru->buf || !lru->spec || !lru->gain) {
        drop_slot(lru);
        return NULL;
    }
    pthread_mutex_lock(&planner_lock);
    lru->fwd = fftw_plan_dft_r2c_1d((int)m, lru->buf, lru->spec, FFTW_ESTIMATE);
    lru->inv = fftw_plan_dft_c2r_1d((int)m, lru->spec, lru->buf, FFTW_ESTIMATE);
    pthread_mutex_unlock(&planner_lock);
    if (!lru->fwd || !lru->inv) {
        drop_slot(lru);
        return NULL;
    }
    lru->m = m;
    lru->used = a->clock;
    return lru;
}

/* Zero-phase Gaussian smoothing with sigma in samples; the ends are
 * mirrored (beyond the mirror the edge value continues) so nothing wraps
 * around. */
static int gauss_smooth(ncs_analyser *a, const double *in, double *out, size_t n,
                        double sigma)
{
    if (sigma < 0.3 || n < 4) {
        memcpy(out, in, n * sizeof *out);
        return 0;
    }
    size_t p = (size_t)ceil(5.0 * sigma) + 1;
    if (p > n - 1)
        p = n - 1;
    size_t m = fft_size(n + 2 * p);
    plan_slot *ps = plan_for(a, m);
    if (!ps)
        return -1;
    /* [mirror of the start | the record | mirror of the end | the last
     * value's mirror continued] */
    for (size_t j = 0; j < p; j++)
        ps->buf[j] = in[p - j];
    memcpy(ps->buf + p, in, n * sizeof *in);
    for (size_t j = p + n; j < m; j++) {
        long k = 2 * ((long)n - 1) - ((long)j - (long)p);
        ps->buf[j] = in[k > 0 ? k : 0];
    }
    fftw_execute(ps->fwd);
    if (ps->sigma != sigma) {
        double c = -2.0 * M_PI * M_PI * sigma * sigma / ((double)m * (double)m);
        for (size_t f = 0; f <= m / 2; f++)
            ps->gain[f] = exp(c * (double)f * (double)f) / (double)m;
        ps->sigma = sigma;
    }
    for (size_t f = 0; f <= m / 2; f++) {
        ps->spec[f][0] *= ps->gain[f];
        ps->spec[f][1] *= ps->gain[f];
    }
    fftw_execute(ps->inv);
    memcpy(out, ps->buf + p, n * sizeof *out);
    return 0;
}

/* One pass of box3_smooth: a centred moving average of w = 2h + 1 samples
 * (the ends reflected) of src into dst, sample by sample: box_step writes
 * dst[i] and moves the running sum on to i + 1. */
typedef struct {
    const double *src;
    double *dst;
    double sum;
} box_pass;

static void box_start(box_pass *p, long h, long N)
{
    p->sum = 0.0;
    for (long j = -h; j <= h; j++) {
        long k = j < 0 ? -j : j >= N ? 2 * (N - 1) - j : j;
        p->sum += p->src[k];
    }
}

static inline void box_step(box_pass *p, long i, long h, long N, double inv)
{
    p->dst[i] = p->sum * inv;
    long add = i + h + 1, del = i - h;
    add = add >= N ? 2 * (N - 1) - add : add;
    del = del < 0 ? -del : del;
    if (add < 0)
        add = 0;
    p->sum += p->src[add] - p->src[del];
}

/* A cheap near-Gaussian smoothing for locating things roughly: two passes
 * of a centred moving average whose width gives the variance of a
 * Gaussian of sigma samples (the ends reflected). tmp holds n values.
 * The second pass follows the first h + 1 samples behind, so the two
 * running sums advance side by side (each pass's additions as it would
 * make them alone, in the same order): one running sum alone waits on
 * each addition in turn. */
static void box3_smooth(const double *in, double *out, size_t n, double sigma, double *tmp)
{
    long h = (long)floor(0.5 * (sqrt(6.0 * sigma * sigma + 1.0) - 1.0) + 0.5);
    if (h < 1 || n < 3) {
        memcpy(out, in, n * sizeof *out);
        return;
    }
    if (h > (long)n - 1)
        h = (long)n - 1;
    long w = 2 * h + 1, N = (long)n;
    double inv = 1.0 / (double)w;
    box_pass p1 = {in, tmp, 0.0}, p2 = {tmp, out, 0.0};
    box_start(&p1, h, N);
    /* the first pass's first h + 1 samples: all the second's sum begins
     * with */
    long i = 0;
    for (; i <= h && i < N; i++)
        box_step(&p1, i, h, N, inv);
    box_start(&p2, h, N);
    /* side by side: the first pass at i + h + 1, the second at i (which
     * reads the first's output up to there); where both are clear of the
     * ends, without the reflections */
    for (i = 0; i < h && i + h + 1 < N; i++) {
        box_step(&p1, i + h + 1, h, N, inv);
        box_step(&p2, i, h, N, inv);
    }
    double s1 = p1.sum, s2 = p2.sum;
    for (; i < N - 2 * h - 2; i++) {
        tmp[i + h + 1] = s1 * inv;
        s1 += in[i + 2 * h + 2] - in[i + 1];
        out[i] = s2 * inv;
        s2 += tmp[i + h + 1] - tmp[i - h];
    }
    p1.sum = s1;
    p2.sum = s2;
    for (; i + h + 1 < N; i++) {
        box_step(&p1, i + h + 1, h, N, inv);
        box_step(&p2, i, h, N, inv);
    }
    for (; i < N; i++)
        box_step(&p2, i, h, N, inv);
}

/* v[lo..hi) reordered so that the values below p (with le: at most p)
 * come first; returns where the others begin. Without a branch on the
 * comparison (Lomuto's scheme, the swap made every time): on noise the
 * comparison is a coin toss, which a branch mispredicts half the time. */
static size_t part_below(double *v, size_t lo, size_t hi, double p, int le)
{
    size_t s = lo;
    if (le)
        for (size_t i = lo; i < hi; i++) {
            double x = v[i];
            v[i] = v[s];
            v[s] = x;
            s += x <= p;
        }
    else
        for (size_t i = lo; i < hi; i++) {
            double x = v[i];
            v[i] = v[s];
            v[s] = x;
            s += x < p;
        }
    return s;
}

/* The median of v[lo], v[(lo+hi)/2] and v[hi-1]: a pivot that is one of
 * the values. */
static double pivot_of(const double *v, size_t lo, size_t hi)
{
    double a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
    return a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
}

static void insertion_sort(double *v, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        double x = v[i];
        size_t k = i;
        while (k > 0 && v[k - 1] > x) {
            v[k] = v[k - 1];
            k--;
        }
        v[k] = x;
    }
}

/* Sorts v[0..n) ascending: quicksort into the values below the pivot, at
 * it and above it, insertion sort for short runs, no comparison
 * callback. */
static void sort_doubles(double *v, size_t n)
{
    while (n > 16) {
        double p = pivot_of(v, 0, n);
        size_t s = part_below(v, 0, n, p, 0), e = part_below(v, s, n, p, 1);
        /* recurse into the smaller part, loop on the larger */
        if (s < n - e) {
            sort_doubles(v, s);
            v += e;
            n -= e;
        } else {
            sort_doubles(v + e, n - e);
            n = s;
        }
    }
    insertion_sort(v, n);
}

/* The k-th smallest of v[0..n) (quickselect with part_below; v is
 * reordered so that none before k is larger and none after it smaller). */
static double select_kth(double *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n;
    while (hi - lo > 16) {
        double p = pivot_of(v, lo, hi);
        size_t s = part_below(v, lo, hi, p, 0);
        if (k < s) {
            hi = s;
            continue;
        }
        size_t e = part_below(v, s, hi, p, 1);
        if (k < e)
            return v[k]; /* (p) */
        lo = e;
    }
    insertion_sort(v + lo, hi - lo);
    return v[k];
}

/* Median of x[i0..i1) (scratch is overwritten). */
static double median_of(const double *x, size_t i0, size_t i1, double *scratch)
{
    size_t k = i1 - i0;
    if (k == 0)
        return 0.0;
    memcpy(scratch, x + i0, k * sizeof *scratch);
    double hi = select_kth(scratch, k, k / 2);
    if (k % 2)
        return hi;
    double lo = scratch[0];
    for (size_t i = 1; i < k / 2; i++) /* the largest of the lower half */
        if (scratch[i] > lo)
            lo = scratch[i];
    return 0.5 * (lo + hi);
}

/* The level the samples of x[i0..i1) dwell at most: the midpoint of the
 * shortest interval holding a fifth of them. At most about 1000 samples,
 * evenly spread, are sorted for it (scratch is overwritten). */
static double shorth(const double *x, size_t i0, size_t i1, double *scratch)
{
    size_t n = i1 - i0;
    if (n == 0)
        return 0.0;
    size_t step = n > 1024 ? n / 1024 + 1 : 1, k = 0;
    for (size_t i = i0; i < i1; i += step)
        scratch[k++] = x[i];
    sort_doubles(scratch, k);
    size_t h = k / 5 > 1 ? k / 5 : 1;
    /* the least width first, in four running minima (one would wait on
     * each comparison in turn), then the first interval of that width:
     * the interval a loop keeping each strict improvement finds */
    size_t best = 0;
    if (h < k) {
        double m[4];
        for (int q = 0; q < 4; q++)
            m[q] = scratch[h] - scratch[0];
        size_t j = 0;
        for (; j + 4 + h <= k; j += 4)
            for (int q = 0; q < 4; q++) {
                double d = scratch[j + q + h] - scratch[j + q];
                m[q] = d < m[q] ? d : m[q];
            }
        for (; j + h < k; j++) {
            double d = scratch[j + h] - scratch[j];
            m[0] = d < m[0] ? d : m[0];
        }
        double lo = m[0];
        for (int q = 1; q < 4; q++)
            lo = m[q] < lo ? m[q] : lo;
        while (best + h < k && !(scratch[best + h] - scratch[best] == lo))
            best++;
        if (best + h >= k)
            best = 0;
    }
    return k > h ? 0.5 * (scratch[best] + scratch[best + h]) : scratch[k / 2];
}

/* Robust white-noise estimate from first differences over [i0, i1):
 * insensitive to slow signals (drift, mains, the CMAP's slow parts). */
static double diff_noise(const double *x, size_t i0, size_t i1, double *scratch)
{
    if (i1 < i0 + 8)
        return 0.0;
    /* at most about 1000 differences, evenly spread, are enough */
    size_t step = (i1 - i0) > 1024 ? (i1 - i0) / 1024 + 1 : 1, k = 0;
    for (size_t i = i0 + 1; i < i1; i += step)
        scratch[k++] = fabs(x[i] - x[i - 1]);
    double mad = select_kth(scratch, k, k / 2);
    return 1.4826 * mad / sqrt(2.0);
}

/* ---- least squares on the quiet samples ---------------------------------- */

/* Mains: the fundamental and these harmonics (a supply's interference is
 * mostly odd harmonics; the 2nd from a rectifier's asymmetry) */
#define NHARM 4
static const int HARM[NHARM] = {1, 2, 3, 5};
#define MAXP (5 + 2 * NHARM) /* constant, slope, artefact, step, recovery, mains */

#define H5_F 50.0 /* the F (2 degrees of freedom) the 5th harmonic must reach */

/* cos and sin of HARM[h] times the angle whose cos and sin are c1, s1 */
static void harmonics(double c1, double s1, double *c, double *s)
{
    double c2 = 2.0 * c1 * c1 - 1.0, s2 = 2.0 * s1 * c1;
    double c3 = c1 * (2.0 * c2 - 1.0), s3 = s1 * (2.0 * c2 + 1.0);
    c[0] = c1, s[0] = s1, c[1] = c2, s[1] = s2, c[2] = c3, s[2] = s3;
    c[3] = c3 * c2 - s3 * s2, s[3] = s3 * c2 + c3 * s2; /* 5 = 3 + 2 */
}


typedef struct {
    double k;        /* block size the gains below are for (0: none yet) */
    double art, h[NHARM]; /* the artefact's and each harmonic's block gain */
} block_gain;

typedef struct {
    int slope;       /* include a linear term */
    double f_hz;     /* mains fundamental, 0 for none */
    double tc, tspan;/* centre and half-span of the quiet times, s */
    double tau_s;    /* stimulus artefact e^(-t/tau) for t >= 0, 0 for none */
    int step;        /* a step of the baseline at the stimulus (H(t)) */
    int rec;         /* an amplifier's recovery e^(-t/rec_tau_s[rec-1]) for
                        t >= 0, 0 for none */
    double rec_tau_s[3]; /* the recovery's time constants the gram holds */
    int nharm;       /* mains harmonics fitted: the first nharm of HARM */
} basis_def;

/* The gains block averaging applies to the artefact term and to each
 * harmonic: a line is left as it is, a sinusoid of frequency f is scaled by
 * sin(k pi f dt)/(k sin(pi f dt)) and an exponential decay by
 * sinh(k dt/2tau)/(k sinh(dt/2tau)). */
static void block_gains(const basis_def *d, double k, double dt_s, block_gain *g)
{
    g->k = k;
    g->art = 1.0;
    for (int h = 0; h < NHARM; h++)
        g->h[h] = 1.0;
    if (k <= 1)
        return;
    if (d->tau_s > 0) {
        double a = 0.5 * dt_s / d->tau_s;
        g->art = sinh(k * a) / (k * sinh(a));
    }
    for (int h = 0; h < NHARM; h++) {
        double a = M_PI * HARM[h] * d->f_hz * dt_s;
        g->h[h] = a > 0 ? sin(k * a) / (k * sin(a)) : 1.0;
    }
}

/* The basis at time t_s, averaged over a block of k samples dt_s apart
 * centred there (k = 1: at t_s itself); full's gains serve full blocks.
 * The artefact term is 0 before the stimulus; a block that straddles it is
 * rare and short. */
static int basis(const basis_def *d, double t_s, double k, double dt_s,
                 const block_gain *full, double *phi)
{
    block_gain part;
    const block_gain *g = full;
    if (!g || g->k != k) {
        block_gains(d, k, dt_s, &part);
        g = &part;
    }
    int n = 0;
    phi[n++] = 1.0;
    if (d->slope)
        phi[n++] = (t_s - d->tc) / d->tspan;
    if (d->tau_s > 0)
        phi[n++] = t_s >= 0 ? g->art * exp(-t_s / d->tau_s) : 0.0;
    if (d->f_hz > 0) {
        double w = 2.0 * M_PI * d->f_hz * t_s, c[NHARM], sn[NHARM];
        harmonics(cos(w), sin(w), c, sn);
        for (int h = 0; h < d->nharm; h++) {
            phi[n++] = g->h[h] * c[h];
            phi[n++] = g->h[h] * sn[h];
        }
    }
    return n;
}

/* The points the background is fitted to: the quiet samples averaged in
 * blocks of about 0.5 ms, each weighted by its sample count, with the basis
 * averaged over the block exactly (block_gains: mains' 3rd harmonic at
 * 180 Hz keeps 95 % over a block). The fit is then the same as on the
 * samples, at a twentieth of the cost at 48 kHz; white noise leaves the F
 * statistic unchanged. */
typedef struct {
    size_t n;
    double *t, *y, *w; /* block centre, mean, sample count */
    double dt_s;
    double b;          /* samples in a full block */
    double within;     /* sum of squares of the samples about their block means */
    double sumsq;      /* sum of squares of the samples */
    /* the quiet samples: how many, how many before the tail, the first and
     * the last */
    size_t nq, before, qfirst, qlast;
    /* the response's stretch (s): from the last quiet sample before the
     * tail to the first of the tail, or the record's end */
    double ra_s, rb_s;
} fit_points;

/* The points of the quiet run x[i0..i1) (blocks of b from its start). */
static void run_points(const double *x, size_t i0, size_t i1, size_t b, double dt_s,
                       double t0_s, fit_points *pt)
{
    for (size_t j0 = i0; j0 < i1; j0 += b) {
        size_t k = i1 - j0 < b ? i1 - j0 : b;
        double sum = 0.0, sum2 = 0.0;
        for (size_t i = j0; i < j0 + k; i++) {
            sum += x[i];
            sum2 += x[i] * x[i];
        }
        double mean = sum / (double)k;
        pt->t[pt->n] = t0_s + ((double)j0 + 0.5 * (double)(k - 1)) * dt_s;
        pt->y[pt->n] = mean;
        pt->w[pt->n] = (double)k;
        /* (a comparison, not fmax: the same for every value here, NaN
         * included, and no call to libm for each block) */
        double dev = sum2 - (double)k * mean * mean;
        pt->within += dev > 0.0 ? dev : 0.0;
        pt->sumsq += sum2;
        pt->n++;
    }
}

static int make_points(const double *x, const unsigned char *quiet, size_t n, size_t tail_start,
                       double dt_s, double t0_s, fit_points *pt)
{
    size_t b = (size_t)(0.5e-3 / dt_s);
    if (b < 1)
        b = 1;
    size_t cap = n / b + n / 2 + 2;
    pt->t = malloc(cap * sizeof *pt->t);
    pt->y = malloc(cap * sizeof *pt->y);
    pt->w = malloc(cap * sizeof *pt->w);
    pt->n = 0;
    pt->dt_s = dt_s;
    pt->b = (double)b;
    pt->nq = pt->before = pt->qlast = 0;
    pt->qfirst = n;
    if (!pt->t || !pt->y || !pt->w)
        return -1;
    pt->within = pt->sumsq = 0.0;
    /* run by run of quiet samples (quiet holds 0 and 1: memchr finds each
     * run's ends a word at a time) */
    for (size_t i = 0; i < n;) {
        const unsigned char *p = memchr(quiet + i, 1, n - i);
        if (!p)
            break;
        i = (size_t)(p - quiet);
        p = memchr(quiet + i, 0, n - i);
        size_t j = p ? (size_t)(p - quiet) : n;
        run_points(x, i, j, b, dt_s, t0_s, pt);
        pt->nq += j - i;
        if (i < tail_start)
            pt->before += (j < tail_start ? j : tail_start) - i;
        if (pt->qfirst == n)
            pt->qfirst = i;
        pt->qlast = j - 1;
        i = j;
    }
    return 0;
}

static void free_points(fit_points *pt)
{
    free(pt->t);
    free(pt->y);
    free(pt->w);
}

/* All the candidate models share their columns: the constant, the slope,
 * the artefact's decay, the harmonics of 50 and of 60 Hz (HARM) and the
 * recovery's time constants. One pass
 * over the points gathers every cross product; each model is then solved
 * from its rows of that matrix, and its residual follows from the normal
 * equations (rss = y'y - beta'X'y). */
#define NCOL (4 + 4 * NHARM + 3)
#define REC_F 100.0 /* the F a recovery term must reach */
#define SLOPE_F 12.0 /* and a slope seen on one side of the response only */
#define ONE_SIDE_SLOPE_MS 8.0 /* the quiet record before the response it needs
                                (twice that after it, with none before) */
enum { C_CONST = 0, C_SLOPE, C_ART, C_STEP, C_50 = 4, C_60 = 4 + 2 * NHARM,
       C_REC = 4 + 4 * NHARM };
/* (gram_build skips the 50 Hz columns of a 60 Hz row in whole runs of four) */
_Static_assert(C_50 % 4 == 0 && C_60 % 4 == 0, "mains columns in runs of four");

/* The time constants (ms) an amplifier's recovery is first tried with: a
 * slower decay after the artefact's, often of the other sign (an
 * overshoot), which the artefact's own fitted decay does not follow; the
 * best is then refined between its neighbours (refine_recovery). */
#define N_REC 3
static const double REC_TAU_MS[N_REC] = {0.8, 1.6, 3.2};

/* The block mean of e^(-t/tau) over w samples dt_s apart centred on t,
 * against its value at t. */
static double exp_block_gain(double w, double dt_s, double tau_s)
{
    if (w <= 1)
        return 1.0;
    double a = 0.5 * dt_s / tau_s;
    return sinh(w * a) / (w * sinh(a));
}

/* (rows padded to a multiple of four: gram_build sums in runs of four) */
#define NCOL_PAD ((NCOL + 3) & ~3)
typedef struct {
    _Alignas(16) double G[NCOL][NCOL_PAD];
    double g[NCOL], yy, wsum;
    size_t n;
    int ncol; /* the columns gathered: the recovery's only where it is seen */
    int rec_seen[N_REC]; /* rec_seen of each of the basis's time constants */
} gram;

static int rec_seen(const fit_points *pt, double tau_s);

/* G[r][c4..c4+4) += wp[r] phi[c4..c4+4) for r in [r0, r1): a run of four
 * columns down the rows, phi's four held throughout */
static inline void gram_cols(gram *gr, const double *wp, const double *phi, int c4, int r0,
                             int r1)
{
    const double p0 = phi[c4], p1 = phi[c4 + 1], p2 = phi[c4 + 2], p3 = phi[c4 + 3];
    for (int r = r0; r < r1; r++) {
        double *G = gr->G[r] + c4;
        G[0] += wp[r] * p0;
        G[1] += wp[r] * p1;
        G[2] += wp[r] * p2;
        G[3] += wp[r] * p3;
    }
}
/* The functions of time a point's row needs (mains' fundamentals, the
 * artefact's and the recovery's decays), carried from point to point along
 * a run of evenly spaced points by one rotation and one factor per step:
 * gram_build's points are block centres a block apart, and a sin, cos and
 * exp for each was a fifth of its time. Computed afresh where the spacing
 * changes (a run's end, a partial block), where a decay starts, and at
 * every MEMO_EVERY-th point: a build resumed from a memo's sums then adds
 * the very values a build from the start would (and the recurrence's
 * rounding stays near 1e-15). */
#define N_DECAY (1 + N_REC) /* the artefact's, then the recovery's */
typedef struct {
    double step;             /* the spacing the factors are for (s) */
    double rc[2], rs[2];     /* cos and sin of 50 and 60 Hz over a step */
    double f[N_DECAY];       /* each decay over a step */
    double tau[N_DECAY];     /* their time constants (s; 0: none) */
    double t;                /* the last point's time */
    int valid;               /* c, s, e hold the values at t */
    double c[2], s[2];       /* cos and sin of 50 and 60 Hz at t */
    double e[N_DECAY];       /* e^(-t/tau) at t, 0 where the term is off */
} point_fns;

static void point_fns_init(point_fns *pf, const basis_def *d, double step)
{
    pf->step = step;
    pf->tau[0] = d->tau_s;
    for (int j = 0; j < N_REC; j++)
        pf->tau[1 + j] = d->rec_tau_s[j];
    for (int f = 0; f < 2; f++) {
        double w = 2.0 * M_PI * (f ? 60.0 : 50.0) * step;
        pf->rc[f] = cos(w);
        pf->rs[f] = sin(w);
    }
    for (int j = 0; j < N_DECAY; j++)
        pf->f[j] = pf->tau[j] > 0 ? exp(-step / pf->tau[j]) : 0.0;
    pf->valid = 0;
}

/* pf moved to time t (afresh when fresh): each decay is e^(-t/tau) for
 * 0 <= t < 30 tau, else 0 */
static void point_fns_at(point_fns *pf, double t, int fresh)
{
    int next = !fresh && pf->valid && fabs(t - pf->t - pf->step) <= 1e-9 * pf->step;
    for (int f = 0; f < 2; f++) {
        if (next) {
            double c = pf->c[f] * pf->rc[f] - pf->s[f] * pf->rs[f];
            pf->s[f] = pf->s[f] * pf->rc[f] + pf->c[f] * pf->rs[f];
            pf->c[f] = c;
        } else {
            double w = 2.0 * M_PI * (f ? 60.0 : 50.0) * t;
            pf->c[f] = cos(w);
            pf->s[f] = sin(w);
        }
    }
    for (int j = 0; j < N_DECAY; j++) {
        double tau = pf->tau[j];
        if (!(tau > 0 && t >= 0 && t < 30.0 * tau))
            pf->e[j] = 0.0;
        else if (next && pf->e[j] != 0.0)
            pf->e[j] *= pf->f[j];
        else
            pf->e[j] = exp(-t / tau);
    }
    pf->valid = 1;
    pf->t = t;
}

/* Adds point i to the sums (g50, g60: the full blocks' mains gains,
 * rec_gain the recovery's; pf at the point's time). */
static void gram_add(const basis_def *d, const fit_points *pt, size_t i, const block_gain *g50,
                     const block_gain *g60, const double *rec_gain, const point_fns *pf,
                     gram *gr)
{
    const int ncol = gr->ncol;
    double phi[NCOL_PAD], t = pt->t[i], w = pt->w[i];
    for (int c = ncol; c < NCOL_PAD; c++)
        phi[c] = 0.0;
    block_gain p50 = *g50, p60 = *g60;
    if (w != pt->b) {
        basis_def d50 = *d, d60 = *d;
        d50.f_hz = 50;
        d60.f_hz = 60;
        d60.tau_s = 0; /* (60 Hz's artefact gain: never used) */
        block_gains(&d50, w, pt->dt_s, &p50);
        block_gains(&d60, w, pt->dt_s, &p60);
    }
    phi[C_CONST] = 1.0;
    phi[C_SLOPE] = (t - d->tc) / d->tspan;
    phi[C_ART] = p50.art * pf->e[0];
    phi[C_STEP] = t >= 0 ? 1.0 : 0.0;
    for (int j = 0; j < N_REC && ncol == NCOL; j++) {
        double g = w == pt->b ? rec_gain[j] : exp_block_gain(w, pt->dt_s, d->rec_tau_s[j]);
        phi[C_REC + j] = pf->e[1 + j] != 0.0 ? g * pf->e[1 + j] : 0.0;
    }
    for (int f = 0; f < 2; f++) {
        const block_gain *bg = f ? &p60 : &p50;
        double c[NHARM], sn[NHARM], *o = phi + (f ? C_60 : C_50);
        harmonics(pf->c[f], pf->s[f], c, sn);
        for (int h = 0; h < NHARM; h++) {
            o[2 * h] = bg->h[h] * c[h];
            o[2 * h + 1] = bg->h[h] * sn[h];
        }
    }
    double y = pt->y[i], wp[NCOL_PAD];
    for (int r = 0; r < ncol; r++) {
        wp[r] = w * phi[r];
        gr->g[r] += wp[r] * y;
    }
    /* the lower triangle (c <= r, all that is read) in runs of four
     * columns, which the compiler vectorises: a few entries above the
     * diagonal are summed too, and never read; the 60 Hz rows skip the
     * 50 Hz columns (no model holds both) */
    for (int c4 = 0; c4 < ncol; c4 += 4) {
        int mains50 = c4 >= C_50 && c4 < C_60;
        gram_cols(gr, wp, phi, c4, c4, mains50 ? C_60 : ncol);
        if (mains50)
            gram_cols(gr, wp, phi, c4, C_REC, ncol);
    }
    gr->yy += w * y * y;
    gr->wsum += w;
}

/* The sums of a trace's last gram_build kept for the next (the second look
 * and check_before fit the background again on quiet samples that mostly
 * begin as before): its points, its basis, and the sums after every
 * MEMO_EVERY points. A build on the same basis whose first points are the
 * same starts from the last sums those points cover: the very additions,
 * in the same order, as from the start. */
#define MEMO_EVERY 8
typedef struct {
    size_t n, cap;      /* points kept, and room for them */
    double *t, *w, *y;  /* (one block, from t) */
    basis_def d;
    int ncol;
    gram *sums;         /* sums[j]: after MEMO_EVERY (j + 1) points */
    size_t nsums, sums_cap, want;
} gram_memo;

static void gram_memo_free(gram_memo *m)
{
    free(m->t);
    free(m->sums);
    memset(m, 0, sizeof *m);
}

/* Where a build of pt on d can start from m's sums (gr set from them), 0
 * when it cannot. */
static size_t gram_memo_resume(gram_memo *m, const basis_def *d, const fit_points *pt,
                               gram *gr)
{
    if (m->n == 0 || m->ncol != gr->ncol || m->d.tc != d->tc || m->d.tspan != d->tspan
        || m->d.tau_s != d->tau_s || memcmp(m->d.rec_tau_s, d->rec_tau_s, sizeof d->rec_tau_s))
        return (m->nsums = 0);
    size_t p = 0;
    while (p < m->n && p < pt->n && m->t[p] == pt->t[p] && m->w[p] == pt->w[p]
           && m->y[p] == pt->y[p])
        p++;
    size_t j = p / MEMO_EVERY < m->nsums ? p / MEMO_EVERY : m->nsums;
    m->nsums = j;
    if (j == 0)
        return 0;
    *gr = m->sums[j - 1];
    gr->n = pt->n;
    return j * MEMO_EVERY;
}

/* The sums after i points (i a multiple of MEMO_EVERY) kept. */
static void gram_memo_keep(gram_memo *m, size_t i, const gram *gr)
{
    size_t j = i / MEMO_EVERY - 1;
    if (j != m->nsums)
        return;
    if (j >= m->sums_cap) {
        /* (room for every point of the build: the trace's builds seldom
         * need more) */
        size_t cap = j + 1 > m->want ? j + 1 : m->want;
        gram *s = realloc(m->sums, cap * sizeof *s);
        if (!s)
            return;
        m->sums = s;
        m->sums_cap = cap;
    }
    m->sums[j] = *gr;
    m->nsums = j + 1;
}

/* The points and basis of a build kept (nothing kept when there is no
 * room). */
static void gram_memo_points(gram_memo *m, const basis_def *d, const fit_points *pt, int ncol)
{
    m->n = 0;
    if (pt->n > m->cap) {
        /* (t, w and y in one block) */
        free(m->t);
        m->cap = 0;
        m->t = malloc(3 * pt->n * sizeof *m->t);
        if (!m->t) {
            m->nsums = 0;
            return;
        }
        m->cap = pt->n;
        m->w = m->t + pt->n;
        m->y = m->w + pt->n;
    }
    memcpy(m->t, pt->t, pt->n * sizeof *m->t);
    memcpy(m->w, pt->w, pt->n * sizeof *m->w);
    memcpy(m->y, pt->y, pt->n * sizeof *m->y);
    m->n = pt->n;
    m->d = *d;
    m->ncol = ncol;
}

/* The sums of every column over the points [i0, i1); memo (may be NULL,
 * and is used only from the first point) is used and updated. */
static void gram_build_range(const basis_def *d, const fit_points *pt, size_t i0, size_t i1,
                             gram *gr, gram_memo *memo, const gram *like)
{
    memset(gr, 0, sizeof *gr);
    gr->n = i1 - i0;
    gr->ncol = C_REC;
    int seen[N_REC];
    for (int j = 0; j < N_REC; j++)
        if ((seen[j] = like ? like->rec_seen[j] : rec_seen(pt, d->rec_tau_s[j])))
            gr->ncol = NCOL;
    double rec_gain[N_REC]; /* a full block's, for each time constant */
    for (int j = 0; j < N_REC; j++)
        rec_gain[j] = exp_block_gain(pt->b, pt->dt_s, d->rec_tau_s[j]);
    basis_def d50 = *d, d60 = *d;
    d50.f_hz = 50;
    d60.f_hz = 60;
    d60.tau_s = 0; /* (60 Hz's artefact gain: never used) */
    block_gain g50, g60;
    block_gains(&d50, pt->b, pt->dt_s, &g50);
    block_gains(&d60, pt->b, pt->dt_s, &g60);
    size_t start = i0;
    if (memo && i0 == 0 && i1 == pt->n) {
        start = gram_memo_resume(memo, d, pt, gr);
        memo->want = pt->n / MEMO_EVERY;
    } else
        memo = NULL;
    memcpy(gr->rec_seen, seen, sizeof seen);
    point_fns pf;
    point_fns_init(&pf, d, pt->b * pt->dt_s);
    for (size_t i = start; i < i1; i++) {
        if (memo && i > start && i % MEMO_EVERY == 0)
            gram_memo_keep(memo, i, gr);
        point_fns_at(&pf, pt->t[i], i == start || i % MEMO_EVERY == 0);
        gram_add(d, pt, i, &g50, &g60, rec_gain, &pf, gr);
    }
    if (memo)
        gram_memo_points(memo, d, pt, gr->ncol);
}

static void gram_build(const basis_def *d, const fit_points *pt, gram *gr, gram_memo *memo)
{
    gram_build_range(d, pt, 0, pt->n, gr, memo, NULL);
}

/* Solves the model made of columns cols[0..k) (in that order); returns its
 * weighted residual sum of squares, or -1 when it cannot be fitted. */
static double gram_solve(const gram *gr, const int *cols, int k, double *coef)
{
    if (gr->n < (size_t)k + 1 || gr->wsum < (double)k + 4)
        return -1.0;
    double A[MAXP][MAXP], b[MAXP];
    for (int r = 0; r < k; r++) {
        b[r] = gr->g[cols[r]];
        for (int c = 0; c <= r; c++) { /* (the lower triangle: all it reads) */
            int i = cols[r], j = cols[c];
            A[r][c] = i >= j ? gr->G[i][j] : gr->G[j][i];
        }
    }
    if (ncs_solve_spd(&A[0][0], MAXP, b, k))
        return -1.0;
    double rss = gr->yy;
    for (int r = 0; r < k; r++)
        rss -= b[r] * gr->g[cols[r]];
    memcpy(coef, b, (size_t)k * sizeof *coef);
    return rss > 0 ? rss : 0.0;
}

/* gram_solve for the nk models made of the first ks[0] < ... < ks[nk-1]
 * of cols at once: their residuals in rss (-1 for a model that cannot be
 * fitted) and coefficients in coef. Each gets the very arithmetic
 * gram_solve would give it (ncs_chol: its factor and forward substitution
 * are the leading part of the largest's); only the back substitution is
 * each one's own. */
static void gram_solve_nested(const gram *gr, const int *cols, const int *ks, int nk,
                              double *rss, double (*coef)[MAXP])
{
    int k = ks[nk - 1];
    double A[MAXP][MAXP], b[MAXP], inv[MAXP];
    for (int r = 0; r < k; r++) {
        b[r] = gr->g[cols[r]];
        for (int c = 0; c <= r; c++) {
            int i = cols[r], j = cols[c];
            A[r][c] = i >= j ? gr->G[i][j] : gr->G[j][i];
        }
    }
    int kf = ncs_chol(&A[0][0], MAXP, k, inv);
    ncs_chol_forward(&A[0][0], MAXP, inv, b, kf);
    for (int m = 0; m < nk; m++) {
        int km = ks[m];
        rss[m] = -1.0;
        if (gr->n < (size_t)km + 1 || gr->wsum < (double)km + 4 || km > kf)
            continue;
        double x[MAXP];
        memcpy(x, b, (size_t)km * sizeof *x);
        ncs_chol_back(&A[0][0], MAXP, inv, x, km);
        double r = gr->yy;
        for (int q = 0; q < km; q++)
            r -= x[q] * gr->g[cols[q]];
        memcpy(coef[m], x, (size_t)km * sizeof *x);
        rss[m] = r > 0 ? r : 0.0;
    }
}

/* The columns of a model: constant, slope, artefact, then f's harmonics. */
static int model_cols(const basis_def *d, int *cols)
{
    int k = 0;
    cols[k++] = C_CONST;
    if (d->slope)
        cols[k++] = C_SLOPE;
    if (d->tau_s > 0)
        cols[k++] = C_ART;
    if (d->step)
        cols[k++] = C_STEP;
    if (d->rec)
        cols[k++] = C_REC + d->rec - 1;
    if (d->f_hz > 0)
        for (int h = 0; h < 2 * d->nharm; h++)
            cols[k++] = (d->f_hz == 50 ? C_50 : C_60) + h;
    return k;
}

/* One sample of mains' recurrence: *x less the harmonics' sum at it (q),
 * and r their values at the next sample from q and p, those at the one
 * before. */
static inline void mains_step(double *x, const double *twoc, const double *p, const double *q,
                              double *r)
{
    double m = 0.0;
    for (int k = 0; k < NHARM; k++)
        m += q[k];
    *x -= m;
    for (int k = 0; k < NHARM; k++)
        r[k] = twoc[k] * q[k] - p[k];
}

/* A run's state into locals (a, b: the harmonics at the sample before and
 * at the first; tc: twoc), where x's stores cannot alias it, and back. */
static inline void mains_load(double *a, double *b, double *tc, double h[2][NHARM],
                              const double *twoc)
{
    memcpy(a, h[0], NHARM * sizeof *a);
    memcpy(b, h[1], NHARM * sizeof *b);
    memcpy(tc, twoc, NHARM * sizeof *tc);
}

static inline void mains_keep(double h[2][NHARM], const double *a, const double *b)
{
    memcpy(h[0], a, NHARM * sizeof *a);
    memcpy(h[1], b, NHARM * sizeof *b);
}

/* x[0..len) less mains, whose harmonics stand at h[0] (the sample before
 * x[0]) and h[1] (at x[0]); h is left at those of x[len - 1] and x[len].
 * Each harmonic h_k[i] = a cos(k w t) + b sin(k w t) follows
 * h[i+1] = 2 cos(k w dt) h[i] - h[i-1] (twoc). Three samples a step, the
 * three states taking turns (no copying from one to the next). */
static void mains_run(double *x, size_t len, double h[2][NHARM], const double *twoc)
{
    double a[NHARM], b[NHARM], c[NHARM], tc[NHARM];
    mains_load(a, b, tc, h, twoc);
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        mains_step(x + i, tc, a, b, c);
        mains_step(x + i + 1, tc, b, c, a);
        mains_step(x + i + 2, tc, c, a, b);
    }
    for (; i < len; i++) {
        mains_step(x + i, tc, a, b, c);
        memcpy(a, b, sizeof a);
        memcpy(b, c, sizeof b);
    }
    mains_keep(h, a, b);
}

/* mains_run on xa[0..len) and xb[0..len) at once (states ha, hb): each
 * sample gets the very operations mains_run gives it, but the two runs'
 * recurrences are independent, where one run waits on each multiplication
 * and subtraction in turn. */
static void mains_run2(double *xa, double *xb, size_t len, double ha[2][NHARM],
                       double hb[2][NHARM], const double *twoc)
{
    double a[NHARM], b[NHARM], c[NHARM], A[NHARM], B[NHARM], C[NHARM], tc[NHARM];
    mains_load(a, b, tc, ha, twoc);
    mains_load(A, B, tc, hb, twoc);
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        mains_step(xa + i, tc, a, b, c);
        mains_step(xb + i, tc, A, B, C);
        mains_step(xa + i + 1, tc, b, c, a);
        mains_step(xb + i + 1, tc, B, C, A);
        mains_step(xa + i + 2, tc, c, a, b);
        mains_step(xb + i + 2, tc, C, A, B);
    }
    mains_keep(ha, a, b);
    mains_keep(hb, A, B);
    if (i < len) {
        mains_run(xa + i, len - i, ha, twoc);
        mains_run(xb + i, len - i, hb, twoc);
    }
}

/* The harmonics' values (coefficients hc) at the samples before and at
 * sample i, for mains_run. */
static void mains_start(const double *hc, double w, double t0_s, double dt_s, size_t i,
                        double h[2][NHARM])
{
    for (int k = 0; k < NHARM; k++) {
        double t = t0_s + (double)i * dt_s, a = HARM[k] * w;
        h[0][k] = hc[2 * k] * cos(a * (t - dt_s)) + hc[2 * k + 1] * sin(a * (t - dt_s));
        h[1][k] = hc[2 * k] * cos(a * t) + hc[2 * k + 1] * sin(a * t);
    }
}

/* x = x0 less the fitted model, sample by sample (sines by rotation and
 * the artefact's decay by a constant ratio from sample to sample, not a
 * sin/cos/exp per sample). */
static void subtract_model(const basis_def *d, const double *coef, const double *x0,
                           double *x, size_t n, double t0_s, double dt_s)
{
    int r = 0;
    double c0 = coef[r++];
    double sl = d->slope ? coef[r++] / d->tspan : 0.0;
    double ca = d->tau_s > 0 ? coef[r++] : 0.0;
    double cs_ = d->step ? coef[r++] : 0.0;
    double cr = d->rec ? coef[r++] : 0.0;
    /* (the model in locals: x's stores could otherwise alias it, and every
     * sample would read it again) */
    double hc[2 * NHARM] = {0};
    if (d->f_hz > 0)
        memcpy(hc, coef + r, (size_t)(2 * d->nharm) * sizeof *hc);
    const double tau = d->tau_s, tc = d->tc;
    const double rtau = d->rec ? d->rec_tau_s[d->rec - 1] : 1.0;
    double rdecay = exp(-dt_s / rtau), er = 0.0;
    /* constant, slope, the artefact's decay, the step */
    double decay = tau > 0 ? exp(-dt_s / tau) : 0.0, e = 0.0;
    /* (each decay followed until it is below 1e-15 of its amplitude) */
    int art_on = tau > 0, rec_on = cr != 0.0;
    /* (t grows with i: before the stimulus, after it while a decay is
     * followed, then the rest) */
    size_t i = 0;
    for (; i < n; i++) {
        double t = t0_s + (double)i * dt_s;
        if (t >= 0)
            break;
        x[i] = x0[i] - (c0 + sl * (t - tc));
    }
    for (; i < n && (art_on || rec_on); i++) {
        double t = t0_s + (double)i * dt_s;
        double v = c0 + sl * (t - tc);
        if (art_on) {
            e = e == 0.0 ? exp(-t / tau) : e * decay;
            v += ca * e;
            art_on = e == 0.0 || fabs(e) > 1e-15;
        }
        v += cs_;
        if (rec_on) {
            er = er == 0.0 ? exp(-t / rtau) : er * rdecay;
            v += cr * er;
            rec_on = er == 0.0 || fabs(er) > 1e-15;
        }
        x[i] = x0[i] - v;
    }
    for (; i < n; i++) {
        double t = t0_s + (double)i * dt_s;
        double v = c0 + sl * (t - tc);
        v += cs_;
        x[i] = x0[i] - v;
    }
    if (!(d->f_hz > 0))
        return;
    /* mains by the recurrence of mains_run, started from cos/sin at every
     * 512th sample so that rounding cannot build up; the blocks in pairs,
     * side by side (mains_run2: the second of a pair is never the longer) */
    double w = 2.0 * M_PI * d->f_hz;
    double twoc[NHARM];
    for (int k = 0; k < NHARM; k++)
        twoc[k] = 2.0 * cos(HARM[k] * w * dt_s);
    for (i = 0; i < n; i += 1024) {
        double ha[2][NHARM], hb[2][NHARM];
        size_t la = n - i > 512 ? 512 : n - i;
        mains_start(hc, w, t0_s, dt_s, i, ha);
        if (i + la < n) {
            size_t lb = n - i - la > 512 ? 512 : n - i - la;
            mains_start(hc, w, t0_s, dt_s, i + la, hb);
            mains_run2(x + i, x + i + la, lb, ha, hb, twoc);
            mains_run(x + i + lb, la - lb, ha, twoc);
        } else
            mains_run(x + i, la, ha, twoc);
    }
}

/* ---- the stimulus artefact ----------------------------------------------- */

/* Fits A e^(-t/tau) to the decay after the stimulus. Sets *end_ms to where
 * the artefact has fallen to 2 sigma. Returns 1 when a model was fitted
 * (amp, tau set), 0 otherwise. */
static int fit_artefact(const ncs_clean *c, const double *x, double sigma,
                        double *amp, double *tau, double *end_ms, double *seen_ms)
{
    size_t n = c->n;
    size_t i0 = (size_t)ceil(-c->t0_ms / c->dt_ms - 1e-9); /* first t >= 0 */
    *amp = 0.0;
    *tau = 0.0;
    *end_ms = 0.1;
    *seen_ms = 0.0;
    if (i0 >= n)
        return 0;
    double thr = 4.0 * sigma + 1e-6;
    /* the artefact's largest sample within 0.25 ms of the stimulus */
    size_t j0 = i0;
    for (size_t i = i0; i < n && ncs_clean_t(c, (double)i) <= 0.25; i++)
        if (fabs(x[i]) > fabs(x[j0]))
            j0 = i;
    if (fabs(x[j0]) < thr) {
        *end_ms = ncs_clean_t(c, (double)i0) + 0.1;
        *seen_ms = ncs_clean_t(c, (double)i0);
        return 0;
    }
    double sign = x[j0] > 0 ? 1.0 : -1.0;
    /* the monotonic decay from j0: stop at the noise, a rise, or 1.5 ms */
    ncs_linfit lf = {0};
    size_t last = j0;
    double prev = fabs(x[j0]);
    int flat = 0; /* samples in a row that did not fall: a step, not a decay */
    for (size_t i = j0; i < n; i++) {
        double t = ncs_clean_t(c, (double)i);
        double v = sign * x[i];
        if (t > 1.5 || v < thr || v > prev + 3.0 * sigma)
            break;
        flat = i > j0 && v > 0.98 * prev ? flat + 1 : 0;
        if (flat >= 3 && (double)flat * c->dt_ms >= 0.2)
            break;
        ncs_linfit_add(&lf, t, log(v));
        last = i;
        prev = v < prev ? v : prev;
    }
    double t_last = ncs_clean_t(c, (double)last);
    *end_ms = t_last + c->dt_ms;
    *seen_ms = *end_ms;
    double slope, icpt;
    if (ncs_linfit_solve(&lf, &slope, &icpt) || !(slope < 0))
        return 0;
    double tt = -1.0 / slope;
    if (tt < 0.01 || tt > 3.0)
        return 0;
    *tau = tt;
    *amp = sign * exp(icpt);
    double fall = tt * log(fabs(*amp) / (2.0 * sigma + 1e-6));
    if (fall > *end_ms)
        *end_ms = fall;
    if (*end_ms > 3.0)
        *end_ms = t_last + c->dt_ms > 3.0 ? t_last + c->dt_ms : 3.0;
    return 1;
}

/* ---- the stimulus as the trace shows it ---------------------------------- */

/* One pass over the steps between successive samples of mv[0..n): the
 * least nonzero one (INFINITY when there is none), kept in four running
 * minima (one would wait on each comparison in turn), and in idx[0..*m)
 * the samples from the third on whose step exceeds lo. */
static double steps_scan(const double *mv, size_t n, double lo, double *idx, size_t *m)
{
    double q4[4] = {INFINITY, INFINITY, INFINITY, INFINITY};
    size_t k = 0, i = 1;
    for (; i < 3 && i < n; i++) {
        double d = fabs(mv[i] - mv[i - 1]);
        q4[0] = d > 0 && d < q4[0] ? d : q4[0];
    }
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) {
            double d = fabs(mv[i + j] - mv[i + j - 1]);
            q4[j] = d > 0 && d < q4[j] ? d : q4[j];
            if (d > lo)
                idx[k++] = (double)(i + j);
        }
    for (; i < n; i++) {
        double d = fabs(mv[i] - mv[i - 1]);
        q4[0] = d > 0 && d < q4[0] ? d : q4[0];
        if (d > lo)
            idx[k++] = (double)i;
    }
    *m = k;
    double q = q4[0];
    for (int j = 1; j < 4; j++)
        q = q4[j] < q ? q4[j] : q;
    return q;
}

/* Where the trace steps abruptly, as a stimulus artefact does: the first
 * difference that is largest against the two before it (a CMAP's slope
 * grows smoothly from sample to sample; an artefact jumps from the quiet),
 * when it stands far above the noise of the differences. NAN when there is
 * no such step (no artefact, or one too small to tell). Only the times
 * this is compared with come from the user: nothing is moved by it. */
static double stimulus_seen(const ncs_clean *c, const double *mv, double sigma0,
                            double *scratch)
{
    size_t n = c->n;
    if (n < 16)
        return NAN;
    /* the noise of the first differences (sqrt 2 times the samples'), with
     * a floor: a noise-free or coarsely quantised record has a median
     * difference of 0, and then any first change would stand out; the
     * smallest step the record takes is the least its noise can be. The
     * same pass keeps (in scratch) the samples whose difference passes the
     * test below with the noise at its least: the only ones it can pass */
    double lo = 10.0 * fmax(sqrt(2.0) * sigma0, 1e-3) + 1e-6;
    size_t m = 0;
    double quantum = steps_scan(mv, n, lo, scratch, &m);
    double sd = fmax(sqrt(2.0) * sigma0, fmax(isfinite(quantum) ? quantum : 0.0, 1e-3));
    size_t best = 0;
    double best_score = 0.0;
    for (size_t j = 0; j < m; j++) {
        size_t i = (size_t)scratch[j];
        double d = fabs(mv[i] - mv[i - 1]);
        if (!(d > 10.0 * sd + 1e-6))
            continue;
        double before = fmax(fabs(mv[i - 1] - mv[i - 2]), fabs(mv[i - 2] - mv[i - 3]));
        double score = d / (before + 3.0 * sd + 1e-9);
        if (score > best_score) {
            best_score = score;
            best = i;
        }
    }
    if (best_score < 5.0)
        return NAN;
    /* the artefact begins at the first sample of the step */
    return ncs_clean_t(c, (double)best);
}

/* ---- the whole cleaning -------------------------------------------------- */

void ncs_clean_free(ncs_clean *c)
{
    if (!c)
        return;
    free(c->x);
    free(c->s);
    c->x = c->s = NULL;
}

/* The record's last stretch (its last 40 %, at least 5 ms), where a quiet
 * tail would be: a line fitted to the smoothed copy s0 there (the baseline's
 * drift, carried back), and how far s0 swings about a parabola there (mains
 * and other fast interference; a response's slow tail bends the parabola,
 * not the swing). */
typedef struct {
    double a, b;     /* line: a + b * (i - i0) */
    size_t i0;
    double swing;
} tail_trend;

static void fit_tail_trend(const ncs_clean *c, const double *s0, tail_trend *tt)
{
    size_t n = c->n, w = (size_t)(0.4 * (double)n);
    if ((double)w * c->dt_ms < 5.0)
        w = (size_t)(5.0 / c->dt_ms);
    if (w > n)
        w = n;
    tt->i0 = n - w;
    tt->a = tt->b = tt->swing = 0.0;
    if (w < 8)
        return;
    /* s0 is smooth (sigma 0.2 ms): a sample every 0.05 ms is plenty */
    size_t step = c->dt_ms < 0.05 ? (size_t)(0.05 / c->dt_ms) : 1;
    double S[5] = {0}, T[3] = {0};
    for (size_t i = tt->i0; i < n; i += step) {
        /* the powers of u as p *= u makes them, written out */
        double u = (double)(i - tt->i0) / (double)w - 0.5, u2 = u * u, u3 = u2 * u;
        S[0] += 1.0;
        S[1] += u;
        S[2] += u2;
        S[3] += u3;
        S[4] += u3 * u;
        T[0] += s0[i];
        T[1] += u * s0[i];
        T[2] += u2 * s0[i];
    }
    /* the line from the same sums */
    double den = S[0] * S[2] - S[1] * S[1];
    if (den > 0) {
        double b = (S[0] * T[1] - S[1] * T[0]) / den, a = (T[0] - b * S[1]) / S[0];
        tt->b = b / (double)w;
        tt->a = a - 0.5 * b;
    }
    double A[3][3] = {{S[0], S[1], S[2]}, {S[1], S[2], S[3]}, {S[2], S[3], S[4]}};
    if (ncs_solve(&A[0][0], 3, T, 3) != 0)
        return;
    /* (the swing in a register: through tt, which s0's loads might alias,
     * each point would wait on the last one's store) */
    const double *q = T;
    double swing = 0.0;
    for (size_t i = tt->i0; i < n; i += step) {
        double u = (double)(i - tt->i0) / (double)w - 0.5;
        double r = fabs(s0[i] - (q[0] + q[1] * u + q[2] * u * u));
        swing = r > swing ? r : swing;
    }
    tt->swing = swing;
}

/* A dispersed response crosses the baseline slowly and may have late
 * components: its first return is not its end. Past the tail found from
 * that first return, a late lobe stands out from the tail's own drift by
 * more than 10 % of the amplitude (and more than mains swings there); the
 * tail then starts 1 ms after the last such lobe, or there is none (n)
 * when that leaves less than 3 ms of record. */
static size_t past_late_lobes(const ncs_clean *c, const double *s0, size_t iq, double a0,
                              double sigma0)
{
    size_t n = c->n;
    if (iq >= n)
        return n;
    tail_trend tt;
    fit_tail_trend(c, s0, &tt);
    double lim = fmax(0.1 * a0, 2.0 * tt.swing + 3.0 * sigma0);
    size_t last = n;
    for (size_t i = n; i-- > iq;)
        if (fabs(s0[i] - (tt.a + tt.b * ((double)i - (double)tt.i0))) > lim) {
            last = i;
            break;
        }
    if (last == n)
        return iq;
    size_t j = last + (size_t)(1.0 / c->dt_ms);
    return j + (size_t)(3.0 / c->dt_ms) <= n ? j : n;
}

/* How far s0 swings about a line over the samples known to be quiet
 * before the response (before the stimulus and in the gap after the
 * artefact): the peak of a sinusoid of their RMS about that line. 0 with
 * less than 2 ms of them. */
static double swing_before(const ncs_clean *c, const double *s0, size_t n_pre, size_t i_art,
                           size_t gap_end)
{
    ncs_linfit lf = {0};
    for (size_t i = 0; i < gap_end && i < c->n; i++)
        if (i < n_pre || i >= i_art)
            ncs_linfit_add(&lf, (double)i, s0[i]);
    double slope, icpt;
    if ((double)lf.n * c->dt_ms < 2.0 || ncs_linfit_solve(&lf, &slope, &icpt))
        return 0.0;
    double ss = 0.0;
    for (size_t i = 0; i < gap_end && i < c->n; i++)
        if (i < n_pre || i >= i_art) {
            double e = s0[i] - (slope * (double)i + icpt);
            ss += e * e;
        }
    return sqrt(2.0 * ss / (double)lf.n);
}

/* The quiet samples: before the stimulus, between the artefact and the
 * response (up to gap_end), and after the response has died away. s0 is a
 * smoothed copy, ip its negative peak, a0 its amplitude. Returns the first
 * sample of the tail (n when there is none). */
static size_t quiet_mask(const ncs_clean *c, const double *s0, size_t n_pre,
                         size_t i_art, size_t ip, double a0, double sigma0,
                         size_t gap_end, unsigned char *quiet)
{
    size_t n = c->n, tail_start = n;
    memset(quiet, 0, n);
    for (size_t i = 0; i < n_pre; i++)
        quiet[i] = 1;
    if (!(a0 > 6.0 * sigma0)) {
        for (size_t i = i_art; i < n; i++)
            quiet[i] = 1;
        return i_art;
    }
    size_t ie = ip;
    while (ie < n && s0[ie] < 0)
        ie++;
    size_t ipos = ie < n ? ncs_first_most(s0, ie, n, s0[ie], ie) : ie;
    /* the positive phase decays slowly: wait until it is within the noise,
     * then a little longer; when that leaves too little of the record,
     * settle for less */
    size_t min_tail = (size_t)(3.0 / c->dt_ms);
    size_t iq = n;
    /* (a last pass for mains still in s0, which swings about the baseline
     * by its own amplitude, as seen before the response: within that swing
     * of 0 is as quiet as the record gets) */
    double swing = 0.0;
    for (int pass = 0; pass < 3; pass++) {
        if (pass == 2)
            swing = swing_before(c, s0, n_pre, i_art, gap_end);
        double lim = pass == 0 ? fmax(0.005 * a0, 2.0 * sigma0)
                               : fmax(0.01 * a0, 3.0 * sigma0) + swing;
        size_t j = ipos;
        while (j < n && fabs(s0[j]) > lim)
            j++;
        j += (size_t)((pass == 0 ? 5.0 : 3.0) / c->dt_ms);
        iq = j;
        if (j + min_tail <= n)
            break;
    }
    iq = past_late_lobes(c, s0, iq, a0, sigma0);
    for (size_t i = iq; i < n; i++)
        quiet[i] = 1;
    if (iq < n)
        tail_start = iq;
    for (size_t i = i_art; i < gap_end && i < n; i++)
        quiet[i] = 1;
    return tail_start;
}

/* Back from ip to the latest sample where s0 has stayed within `lo` of ref
 * on the peak's side (sgn) and within `lo_other` on the other side for
 * 0.3 ms; i_art when it never has. */
static size_t gap_walk(const ncs_clean *c, const double *s0, size_t i_art, size_t ip,
                       double ref, double sgn, double lo, double lo_other)
{
    size_t top = ip, run = 0, need = (size_t)fmax(2.0, 0.3 / c->dt_ms);
    for (size_t i = ip; i > i_art; i--) {
        double v = sgn * (s0[i] - ref);
        if (v > lo || -v > lo_other) {
            run = 0;
            continue;
        }
        if (run++ == 0)
            top = i;
        if (run >= need)
            break;
    }
    return run > 0 ? top : i_art;
}

/* Where the quiet interval before the response ends, from a smoothed copy
 * (*by_lobe: 1 when it ends before a positive lobe ahead of the phase):
 * 0.5 ms before it departs for good by 5 % of its largest excursion, in either
 * direction (a trace stored inverted leads with a positive phase), from the
 * level it has just after the artefact (without a pre-trigger the record's
 * prevailing level may differ from it by a drift or a step). */
static size_t gap_end_at(const ncs_clean *c, const double *s0, size_t i_art,
                         size_t ip, size_t ix, double a0, double sigma0, double frac,
                         double floor_mv, int *by_lobe)
{
    *by_lobe = 0;
    if (ix < ip && fabs(s0[ix]) > a0) {
        a0 = fabs(s0[ix]);
        ip = ix;
    }
    /* the level a little after the artefact (clear of its last decay),
     * when the response does not start right there */
    size_t a = i_art + (size_t)(0.3 / c->dt_ms), w = (size_t)(0.7 / c->dt_ms) + 1;
    double ref = 0.0;
    if (a + w + (size_t)(1.0 / c->dt_ms) < ip) {
        for (size_t i = a; i < a + w; i++)
            ref += s0[i];
        ref /= (double)w;
    }
    /* back from the peak to where the trace has been within 5 % for 0.3 ms
     * (a crossing on the way, between a positive lobe ahead of the negative
     * phase and that phase, is not the baseline); a deflection of the other
     * sign just before that (the lobe itself) counts from 1 % of the
     * amplitude, but only within 2 ms of it: a slower hump there is an
     * amplifier's recovery, which the background model is fitted to */
    double sgn = s0[ip] - ref < 0 ? -1.0 : 1.0;
    double lo = fmax(frac * a0, fmax(4.0 * sigma0, floor_mv));
    size_t ion = gap_walk(c, s0, i_art, ip, ref, sgn, lo, INFINITY);
    size_t lobe = gap_walk(c, s0, i_art, ip, ref, sgn, lo,
                           fmax(0.01 * a0, 4.0 * sigma0));
    if (lobe < ion && (double)(ion - lobe) * c->dt_ms <= 2.0) {
        *by_lobe = 1;
        ion = lobe;
    }
    size_t back = (size_t)(0.5 / c->dt_ms);
    return ion > i_art + back ? ion - back : i_art;
}

#define FOOT_SHARE 0.3 /* of the rise from 5 % to the peak: the longest foot */
#define SLOW_RISE_MS 5.0     /* a rise this long is a strongly dispersed one's */
#define SLOW_GAP_LEFT_MS 3.0 /* the least of the gap kept to fit the background */

static size_t gap_end_rough(const ncs_clean *c, const double *s0, size_t i_art,
                            size_t ip, size_t ix, double a0, double sigma0)
{
    int by_lobe;
    return gap_end_at(c, s0, i_art, ip, ix, a0, sigma0, 0.05, 0.0, &by_lobe);
}

/* Adds to *d a step of the baseline at the stimulus (an amplifier that
 * does not come back to where it was) when it explains far more of the
 * quiet samples than *d alone (F > 1000 on one degree of freedom, where
 * mains needs 12 on six): a weak apparent step is more often the artefact's
 * or the response foot's misfit than an amplifier's, and what is kept is
 * carried under the response. Returns the residual of the model kept; its
 * coefficients are in coef. */
static double add_step_if_carried(const gram *gr, const fit_points *pt, size_t nq,
                                  basis_def *d, double rss0, double *coef)
{
    basis_def t = *d;
    t.step = 1;
    double c[MAXP];
    int cols[MAXP];
    int k = model_cols(&t, cols);
    double rss = gram_solve(gr, cols, k, c);
    if (rss < 0)
        return rss0;
    rss += pt->within;
    double F = (rss0 - rss) / (rss / (double)(nq - (size_t)k) + 1e-30);
    if (!(F > 1000.0 && rss < rss0))
        return rss0;
    *d = t;
    memcpy(coef, c, sizeof c);
    return rss;
}

/* Whether the quiet points show a recovery of the j-th time constant
 * (1-based): samples over its first two time constants, as long as one of
 * them and a millisecond at least. */
static int rec_seen(const fit_points *pt, double tau_s)
{
    double seen = 0.0;
    for (size_t i = 0; i < pt->n; i++)
        if (pt->t[i] >= 0 && pt->t[i] <= 2.0 * tau_s)
            seen += pt->w[i] * pt->dt_s;
    return seen >= fmax(1e-3, tau_s);
}

/* The model t fitted (coefficients into coef) and its residual on the
 * samples (-1 when it cannot be solved), with *F the F of what it explains
 * beyond a model of residual rss0 by one more term. */
static double term_fit(const gram *gr, const fit_points *pt, size_t nq, const basis_def *t,
                       double rss0, double *coef, double *F)
{
    int cols[MAXP];
    int k = model_cols(t, cols);
    double rss = gram_solve(gr, cols, k, coef);
    *F = 0.0;
    if (rss < 0 || nq <= (size_t)k)
        return -1.0;
    rss += pt->within;
    *F = (rss0 - rss) / (rss / (double)(nq - (size_t)k) + 1e-30);
    return rss;
}

/* Adds to *d an amplifier's recovery (the best of REC_TAU_MS) when it is
 * seen (rec_seen) and explains far more of the quiet samples than *d alone
 * (F > REC_F on one degree of freedom): carried under the response, it must
 * be sure. Returns the residual of the model kept; its coefficients are in
 * coef. */
static double add_recovery_if_carried(const gram *gr, const fit_points *pt, size_t nq,
                                      basis_def *d, double rss0, double *coef)
{
    basis_def best = *d;
    double best_rss = rss0, bc[MAXP];
    for (int j = 1; j <= N_REC; j++) {
        if (!gr->rec_seen[j - 1]) /* (gr is on d's time constants) */
            continue;
        basis_def t = *d;
        t.rec = j;
        double c[MAXP], F;
        double rss = term_fit(gr, pt, nq, &t, rss0, c, &F);
        if (rss < 0)
            continue;
        if (F > REC_F && rss < best_rss) {
            best_rss = rss;
            best = t;
            memcpy(bc, c, sizeof c);
        }
    }
    if (best.rec == 0)
        return rss0;
    *d = best;
    memcpy(coef, bc, sizeof bc);
    return best_rss;
}

/* Adds a slope to *d when it explains far more of the quiet samples than
 * *d alone (F > SLOPE_F on one degree of freedom). Returns the residual of
 * the model kept; its coefficients are in coef. */
static double add_slope_if_carried(const gram *gr, const fit_points *pt, size_t nq,
                                   basis_def *d, double rss0, double *coef)
{
    basis_def t = *d;
    t.slope = 1;
    double c[MAXP], F;
    double rss = term_fit(gr, pt, nq, &t, rss0, c, &F);
    if (rss < 0 || !(F > SLOPE_F))
        return rss0;
    *d = t;
    memcpy(coef, c, sizeof c);
    return rss;
}

/* The recovery's time constant refined: the gram built again about the best
 * one, with its neighbours a factor 1.26 and then 1.12 either side, and the
 * best of the three kept each time (a time constant a little off leaves a
 * misfit that drift and mains take up and carry under the response).
 * Returns the residual of the model kept; its coefficients are in coef. */
static double refine_recovery(gram *gr, const fit_points *pt, basis_def *d, double rss0,
                              double *coef)
{
    static const double step[2] = {1.26, 1.12};
    double rss_best = rss0;
    for (int r = 0; r < 2; r++) {
        basis_def t = *d;
        double tau = d->rec_tau_s[d->rec - 1];
        t.rec_tau_s[0] = tau / step[r];
        t.rec_tau_s[1] = tau;
        t.rec_tau_s[2] = tau * step[r];
        gram_build(&t, pt, gr, NULL);
        int best_j = 0;
        double bc[MAXP];
        rss_best = INFINITY;
        for (int j = 1; j <= N_REC; j++) {
            t.rec = j;
            double c[MAXP];
            int cols[MAXP];
            double rss = gram_solve(gr, cols, model_cols(&t, cols), c);
            if (rss >= 0 && rss + pt->within < rss_best) {
                rss_best = rss + pt->within;
                best_j = j;
                memcpy(bc, c, sizeof c);
            }
        }
        if (best_j == 0) { /* (the gram back to the model kept) */
            gram_build(d, pt, gr, NULL);
            return rss0;
        }
        t.rec = best_j;
        *d = t;
        memcpy(coef, bc, sizeof bc);
    }
    return rss_best;
}

/* The value of column col of the background's basis at t_s (one sample). */
static double basis_col(const basis_def *d, int col, double t_s)
{
    if (col == C_CONST)
        return 1.0;
    if (col == C_SLOPE)
        return (t_s - d->tc) / d->tspan;
    if (col == C_ART)
        return t_s >= 0 && d->tau_s > 0 ? exp(-t_s / d->tau_s) : 0.0;
    if (col == C_STEP)
        return t_s >= 0 ? 1.0 : 0.0;
    if (col >= C_REC && col < C_REC + N_REC)
        return t_s >= 0 ? exp(-t_s / d->rec_tau_s[col - C_REC]) : 0.0;
    int j = (col - (col >= C_60 ? C_60 : C_50)) / 2;
    if (col < C_50 || col >= C_REC || j < 0 || j >= NHARM)
        return 0.0;
    double w = 2.0 * M_PI * (col >= C_60 ? 60.0 : 50.0) * HARM[j] * t_s;
    return (col - C_50) % 2 == 0 ? cos(w) : sin(w);
}

/* The model's inverse normal matrix and residual variance, kept for
 * ncs_clean_model_sd. */
static void keep_background(ncs_clean *c, const gram *gr, const basis_def *d, double rss,
                            size_t nq)
{
    int k = model_cols(d, c->bg.cols);
    c->bg.k = 0;
    c->bg.inverted = 0;
    if (nq <= (size_t)k + 1 || !(rss >= 0))
        return;
    /* the normal matrix now; inverted once, for the model kept last
     * (invert_background), not for every model tried */
    for (int r = 0; r < k; r++)
        for (int q = 0; q < k; q++) {
            int a = c->bg.cols[r], b = c->bg.cols[q];
            c->bg.inv[r][q] = a >= b ? gr->G[a][b] : gr->G[b][a];
        }
    c->bg.k = k;
    c->bg.s2 = rss / (double)(nq - (size_t)k);
    c->bg.slope = d->slope;
    c->bg.step = d->step;
    c->bg.rec = d->rec;
    memcpy(c->bg.rec_tau_s, d->rec_tau_s, sizeof c->bg.rec_tau_s);
    c->bg.f_hz = d->f_hz;
    c->bg.tc = d->tc;
    c->bg.tspan = d->tspan;
    c->bg.tau_s = d->tau_s;
}

/* The kept model's normal matrix replaced by its inverse (nothing kept
 * when it is singular). */
static void invert_background(ncs_clean *c)
{
    int k = c->bg.k;
    if (k == 0 || c->bg.inverted)
        return;
    /* the k unit vectors solved for at once (one elimination of A) */
    double A[MAXP][MAXP], inv[MAXP][MAXP] = {{0}};
    for (int r = 0; r < k; r++) {
        for (int q = 0; q < k; q++)
            A[r][q] = c->bg.inv[r][q];
        inv[r][r] = 1.0;
    }
    if (ncs_solve_many(&A[0][0], MAXP, &inv[0][0], MAXP, k, k)) {
        c->bg.k = 0;
        return;
    }
    for (int r = 0; r < k; r++)
        for (int q = 0; q < k; q++)
            c->bg.inv[r][q] = inv[r][q];
    c->bg.inverted = 1;
}

double ncs_clean_model_sd(const ncs_clean *c, double t_ms)
{
    int k = c->bg.k;
    if (k == 0 || !c->bg.inverted || !isfinite(t_ms))
        return 0.0;
    basis_def d = {.slope = c->bg.slope, .step = c->bg.step, .rec = c->bg.rec, .f_hz = c->bg.f_hz,
                   .rec_tau_s = {c->bg.rec_tau_s[0], c->bg.rec_tau_s[1], c->bg.rec_tau_s[2]},
                   .tc = c->bg.tc, .tspan = c->bg.tspan, .tau_s = c->bg.tau_s};
    double phi[MAXP], v = 0.0;
    for (int r = 0; r < k; r++)
        phi[r] = basis_col(&d, c->bg.cols[r], t_ms / 1000.0);
    for (int r = 0; r < k; r++)
        for (int q = 0; q < k; q++)
            v += phi[r] * c->bg.inv[r][q] * phi[q];
    return sqrt(c->bg.s2 * fmax(v, 0.0));
}

/* The Cholesky factor L (lower) of the normal matrix of columns
 * cols[0..k); -1 when it is singular. */
static int gram_chol(const gram *gr, const int *cols, int k, double L[MAXP][MAXP])
{
    for (int r = 0; r < k; r++)
        for (int q = 0; q <= r; q++) {
            int i = cols[r], j = cols[q];
            double v = i >= j ? gr->G[i][j] : gr->G[j][i];
            for (int m = 0; m < q; m++)
                v -= L[r][m] * L[q][m];
            if (q < r)
                L[r][q] = v / L[q][q];
            else if (v > 0)
                L[r][r] = sqrt(v);
            else
                return -1;
        }
    return 0;
}

/* How uncertain the model d (its k columns cols) is, fitted to the quiet
 * points, across the response's stretch: the largest SD of its prediction
 * there, s2 the residual variance; 0 where there is no such stretch. A sum of harmonics fitted on a part of
 * mains' cycle is pinned only there: on the part under the response it may
 * be anything (the harmonics are nearly collinear over a short stretch). */
#define PRED_M 16
static double pred_sd_max(const gram *gr, const int *cols, int k, const basis_def *d,
                          const fit_points *pt, double s2)
{
    double ga = pt->ra_s, gb = pt->rb_s;
    if (!(gb - ga > 2.0 * pt->b * pt->dt_s) || !(s2 > 0))
        return 0.0;
    /* the normal matrix's Cholesky factor L (lower): phi' G^-1 phi is then
     * the squared norm of L^-1 phi */
    double L[MAXP][MAXP];
    if (gram_chol(gr, cols, k, L))
        return INFINITY; /* (singular: nothing pinned) */
    /* the basis at each point, y[r][m]; mains' fundamental carried from
     * point to point by a rotation over their spacing */
    double w = 2.0 * M_PI * d->f_hz; /* (a model holds one frequency's columns) */
    double y[MAXP][PRED_M], v[PRED_M], step = (gb - ga) / PRED_M;
    double c1 = cos(w * (ga + 0.5 * step)), s1 = sin(w * (ga + 0.5 * step));
    double rc = cos(w * step), rs = sin(w * step);
    for (int m = 0; m < PRED_M; m++) {
        double t = ga + ((double)m + 0.5) * step, hc[NHARM], hs[NHARM];
        if (m > 0) {
            double c = c1 * rc - s1 * rs;
            s1 = s1 * rc + c1 * rs;
            c1 = c;
        }
        harmonics(c1, s1, hc, hs);
        for (int r = 0; r < k; r++) {
            int col = cols[r], base = col >= C_60 ? C_60 : C_50;
            y[r][m] = col >= C_50 && col < C_REC
                          ? ((col - base) % 2 == 0 ? hc[(col - base) / 2] : hs[(col - base) / 2])
                          : basis_col(d, col, t);
        }
        v[m] = 0.0;
    }
    /* L y = phi at every point, the points side by side: each point's
     * operations are as for it alone and in the same order, but the
     * points' chains of subtractions and divisions are independent, where
     * one point at a time waits on each */
    for (int r = 0; r < k; r++) {
        for (int q = 0; q < r; q++) {
            double l = L[r][q];
            for (int m = 0; m < PRED_M; m++)
                y[r][m] -= l * y[q][m];
        }
        for (int m = 0; m < PRED_M; m++) {
            y[r][m] /= L[r][r];
            v[m] += y[r][m] * y[r][m];
        }
    }
    double vmax = 0.0;
    for (int m = 0; m < PRED_M; m++)
        vmax = fmax(vmax, v[m]);
    return sqrt(s2 * vmax);
}

/* The quiet samples that may hold a response's slow lobe or foot: the
 * last HELD_MS of the gap before the response (after the stimulus). A
 * slow positive lobe there (rising in 0.75-0.9 of a 4 ms negative rise)
 * was fitted as mains (harmonics over a few ms bend to any hump) and taken
 * out of the response: its onset read at the negative take-off, 2.3-2.9 ms
 * late at +-0.1-0.3. Where mains is carried by that stretch far more than
 * by the other quiet samples, the onset's interval reaches back to where
 * the two fits part (held_departure, ncs_clean_held_from). */
#define HELD_MS 4.0
#define HELD_SIG 1.0  /* a departure counts beyond this many SDs of that fit */
#define HELD_GROW 1.5 /* and where its mains is this many times smaller */

/* The sums of the points in the held-out stretch (*h; 0 when there are
 * none, or no response's stretch after them). */
static int held_out(const basis_def *d, const fit_points *pt, const gram *all, gram *h)
{
    if (!(pt->rb_s - pt->ra_s > 2.0 * pt->b * pt->dt_s))
        return 0;
    double from = fmax(pt->ra_s - HELD_MS / 1000.0, 0.0);
    size_t i1 = pt->n, i0;
    while (i1 > 0 && pt->t[i1 - 1] > pt->ra_s)
        i1--;
    i0 = i1;
    while (i0 > 0 && pt->t[i0 - 1] > from)
        i0--;
    if (i0 == i1)
        return 0;
    gram_build_range(d, pt, i0, i1, h, NULL, all);
    return 1;
}

/* How much less sure than the interference itself (the quiet samples' RMS
 * without mains) a mains fit may leave the response at its least sure
 * point: measured with 1, 2, 4 and 8 on the shared dev and hostile sets,
 * two ncs-synth sets and the generator's families, 4 kept the most of
 * what was right before and took out every fit seen extrapolating by
 * millivolts (docs/measurements.md, mains) */
#define PINNED_RATIO 4.0

/* The mains models tried: the fundamental alone, with the 2nd and 3rd
 * harmonics, and with the 5th as well. */
static const int MAINS_NHARM[3] = {1, NHARM - 1, NHARM};

/* Whether d with mains at f (the v-th of MAINS_NHARM), its residual rss
 * over nq samples, is pinned under the response: pred_sd_max within
 * PINNED_RATIO times q0, the quiet samples' RMS without mains. */
static int pinned(const gram *gr, const fit_points *pt, const basis_def *d, int f, int v,
                  double rss, size_t nq, double q0)
{
    basis_def t = *d;
    t.f_hz = f;
    t.nharm = MAINS_NHARM[v];
    int cols[MAXP], k = model_cols(&t, cols);
    return pred_sd_max(gr, cols, k, &t, pt, rss / (double)(nq - (size_t)k)) <= PINNED_RATIO * q0;
}

/* Adds mains at 50 or 60 Hz (with its harmonics HARM) to *d when it
 * explains more of the quiet samples than *d alone (F > 12 on 2 NHARM
 * degrees of freedom), is no larger than the quiet data themselves and is
 * pinned under the response (pred_sd_max no more than PINNED_RATIO
 * times the quiet samples' RMS about *d: a fit that leaves the response
 * far less sure than the interference itself does is no cleaning). The fundamental with the
 * 2nd and 3rd harmonics is taken; the 5th as well when it is carried; the
 * fundamental alone when the harmonics are not pinned. The evidence for
 * each frequency goes to c->mains_gain, and only the nerve's frequency is
 * taken when c->force_mains_hz says it. Returns the residual of the model
 * kept; its coefficients are in coef. */
static double add_mains_if_carried(ncs_clean *c, const gram *gr, const fit_points *pt,
                                   size_t nq, basis_def *d, double rss0, double *coef)
{
    double qrms = sqrt(pt->sumsq / (double)nq), best_rss = rss0;
    double q0 = sqrt(rss0 / (double)nq);
    int o = 1 + d->slope + (d->tau_s > 0) + d->step + (d->rec > 0), cols[MAXP];
    basis_def best = *d;
    for (int f = 50; f <= 60; f += 10) {
        /* the fundamental with the 2nd and 3rd harmonics, then with the
         * 5th as well, kept only when it explains far more (F > H5_F on
         * its two degrees of freedom: the quiet samples' misfit is not
         * white, and a term the data do not carry only adds to what is
         * extrapolated under the response) */
        double rss_h[3], sol[3], cf_h[3][MAXP];
        int plaus[3] = {0, 0, 0}, ks[3];
        /* (the three share their leading columns: one factorisation) */
        basis_def all = *d;
        all.f_hz = f;
        all.nharm = NHARM;
        model_cols(&all, cols);
        for (int v = 0; v < 3; v++)
            ks[v] = o + 2 * MAINS_NHARM[v];
        gram_solve_nested(gr, cols, ks, 3, sol, cf_h);
        for (int v = 0; v < 3; v++) {
            basis_def t = *d;
            t.f_hz = f;
            t.nharm = MAINS_NHARM[v];
            int k = ks[v];
            double rss = sol[v];
            rss_h[v] = -1.0;
            if (rss < 0)
                continue;
            rss_h[v] = rss + pt->within;
            /* a sinusoid larger than the quiet data themselves is an
             * extrapolation, not mains: n sinusoids of RMS q have
             * amplitudes summing to at most sqrt(2 n) q (10 % to spare) */
            double hsum = 0.0;
            for (int h = 0; h < t.nharm; h++)
                hsum += hypot(cf_h[v][o + 2 * h], cf_h[v][o + 2 * h + 1]);
            plaus[v] = hsum <= 1.1 * sqrt(2.0 * t.nharm) * qrms;
            if (v == 0)
                continue;
            double F = ((rss0 - rss_h[v]) / (2.0 * t.nharm))
                       / (rss_h[v] / (double)(nq - (size_t)k) + 1e-30);
            /* (the evidence is the fit's, plausible or not: a short quiet
             * stretch can make the right frequency's fit extrapolate as
             * wildly as the wrong one's) */
            c->mains_gain[f == 60] = fmax(c->mains_gain[f == 60], 2.0 * t.nharm * F);
        }
        /* (the nerve's own mains when its traces have shown it) */
        if (c->force_mains_hz > 0 && f != (int)c->force_mains_hz)
            continue;
        /* what would be kept if chosen: carried and better than the best so
         * far (whether it is pinned is asked only of those, in order: the
         * prediction's SD costs a solve) */
        int good[3];
        for (int v = 0; v < 3; v++) {
            double F = ((rss0 - rss_h[v]) / (2.0 * MAINS_NHARM[v]))
                       / (rss_h[v] / (double)(nq - (size_t)(o + 2 * NHARM)) + 1e-30);
            good[v] = rss_h[v] >= 0 && plaus[v] && F > 12.0 && rss_h[v] < best_rss;
        }
        if (!good[0] && !good[1] && !good[2])
            continue;
        /* the 5th harmonic when it is carried (or when without it the fit
         * is not sure: what it left went into wild lower harmonics); the
         * fundamental alone when neither is pinned */
        int v = plaus[1] && pinned(gr, pt, d, f, 1, rss_h[1], nq, q0) ? 1 : -1;
        if (plaus[2]
            && (v < 0
                || (rss_h[1] - rss_h[2]) / 2.0
                       > H5_F * rss_h[2] / (double)(nq - (size_t)(o + 2 * NHARM)))
            && pinned(gr, pt, d, f, 2, rss_h[2], nq, q0))
            v = 2;
        if (v < 0 && plaus[0] && pinned(gr, pt, d, f, 0, rss_h[0], nq, q0))
            v = 0;
        if (v < 0 || !good[v])
            continue;
        best_rss = rss_h[v];
        best = *d;
        best.f_hz = f;
        best.nharm = MAINS_NHARM[v];
        memcpy(coef, cf_h[v], sizeof cf_h[v]);
    }
    *d = best;
    return best_rss;
}

/* The alternatives' penalty per parameter and slack, in units of the
 * residual variance per sample: a background with no more parameters is in
 * doubt when its residual plus ALT_PEN per parameter is within ALT_SLACK of
 * the chosen one's (one with two parameters fewer: within 24). */
#define ALT_PEN 6.0
#define ALT_SLACK 12.0

/* Every column's value at t_s (mains by its harmonics' recurrence: one
 * cos and sin a frequency). */
static void basis_row(const basis_def *d, double t_s, double *row)
{
    for (int col = 0; col < NCOL; col++)
        if (col < C_50 || col >= C_REC)
            row[col] = basis_col(d, col, t_s);
    for (int f = 0; f < 2; f++) {
        double w = 2.0 * M_PI * (f ? 60.0 : 50.0) * t_s, hc[NHARM], hs[NHARM];
        harmonics(cos(w), sin(w), hc, hs);
        for (int h = 0; h < NHARM; h++) {
            row[(f ? C_60 : C_50) + 2 * h] = hc[h];
            row[(f ? C_60 : C_50) + 2 * h + 1] = hs[h];
        }
    }
}

/* The form of the background in doubt (c->alt_dev): the chosen model d
 * (coefficients coef, residual rss) against the same with mains at the
 * other frequency, with fewer harmonics or none, and without its recovery,
 * each taken when it has no more parameters, is plausible and pinned under
 * the response (as mains is chosen) and fits the quiet samples nearly as
 * well (ALT_PEN, ALT_SLACK); the largest departure at each point across the
 * response's stretch. The choice between near-equals is the data's guess:
 * the intervals are to hold either way. On the recovery family (60 Hz
 * harmonics taking up a recovery's misfit where the mains was 50 Hz)
 * amplitude and area coverage 82 / 80 -> 84 / 82 %; larger models too
 * (the 5th harmonic refused) gave 88 / 87 % but widened hostile traces
 * whose values were right 2-3 fold (docs/measurements.md, uncertainty). */
#define N_ALT 14
static void alternative_backgrounds(ncs_clean *c, const gram *gr, const fit_points *pt,
                                    size_t nq, const basis_def *d, const double *coef,
                                    double rss)
{
    double ga = pt->ra_s, gb = pt->rb_s;
    if (!(gb - ga > 2.0 * pt->b * pt->dt_s))
        return;
    int cols[MAXP], k = model_cols(d, cols);
    if (nq <= (size_t)k + 1)
        return;
    double s2 = rss / (double)(nq - (size_t)k), q0 = sqrt(rss / (double)nq);
    double qrms = sqrt(pt->sumsq / (double)nq);
    int o_base = 1 + d->slope + (d->tau_s > 0) + d->step;
    /* the alternatives in doubt: their columns and coefficients */
    int na = 0, acols[N_ALT][MAXP], ak[N_ALT];
    double acf[N_ALT][MAXP];
    for (int rec = 0; rec <= 1; rec++) {
        if (rec == 1 && !d->rec)
            break;
        for (int f = 0; f <= 60; f += f ? 10 : 50) {
            if (f && c->force_mains_hz > 0 && f != (int)c->force_mains_hz)
                continue;
            /* the variants tried (a larger model the selection refused is
             * not: its departure is its own noise, extrapolated), solved
             * at once: they share their leading columns, and tcols ends
             * with the columns of the last one model_cols was asked for,
             * which lead with every earlier one's */
            int nv = 0, vs[3], ks[3], tcols[MAXP];
            double sol[3], scf[3][MAXP];
            for (int v = 0; v < (f ? 3 : 1); v++) {
                basis_def t = *d;
                t.rec = rec ? 0 : d->rec;
                t.f_hz = f;
                t.nharm = f ? MAINS_NHARM[v] : 0;
                if (t.rec == d->rec && t.f_hz == d->f_hz && (!f || t.nharm == d->nharm))
                    continue;
                int tk = model_cols(&t, tcols);
                if (tk > k)
                    continue;
                vs[nv] = v;
                ks[nv++] = tk;
            }
            if (nv == 0 || na == N_ALT)
                continue;
            gram_solve_nested(gr, tcols, ks, nv, sol, scf);
            for (int j = 0; j < nv && na < N_ALT; j++) {
                basis_def t = *d;
                t.rec = rec ? 0 : d->rec;
                t.f_hz = f;
                t.nharm = f ? MAINS_NHARM[vs[j]] : 0;
                int *tc = acols[na], tk = model_cols(&t, tc);
                double *cf = acf[na], r = sol[j];
                if (r < 0)
                    continue;
                memcpy(cf, scf[j], (size_t)tk * sizeof *cf);
                r += pt->within;
                if (r + ALT_PEN * s2 * tk > rss + ALT_PEN * s2 * k + ALT_SLACK * s2)
                    continue;
                if (f) {
                    int o = o_base + (t.rec > 0);
                    double hsum = 0.0;
                    for (int h = 0; h < t.nharm; h++)
                        hsum += hypot(cf[o + 2 * h], cf[o + 2 * h + 1]);
                    if (hsum > 1.1 * sqrt(2.0 * t.nharm) * qrms
                        || pred_sd_max(gr, tc, tk, &t, pt, r / (double)(nq - (size_t)tk))
                               > PINNED_RATIO * q0)
                        continue;
                }
                ak[na++] = tk;
            }
        }
    }
    /* and the recovery's time constant at its neighbours (refine_recovery
     * left the gram on its neighbours): a recovery decaying under the
     * response is known only as well as its decay is */
    for (int j = 1; j <= N_REC && d->rec && gr->ncol == NCOL && na < N_ALT; j++) {
        if (j == d->rec)
            continue;
        basis_def t = *d;
        t.rec = j;
        int *tc = acols[na], tk = model_cols(&t, tc);
        double r = gram_solve(gr, tc, tk, acf[na]);
        if (r < 0 || r + pt->within > rss + ALT_SLACK * s2)
            continue;
        ak[na++] = tk;
    }
    if (na == 0)
        return;
    c->alt_a_ms = 1000.0 * ga;
    c->alt_b_ms = 1000.0 * gb;
    for (int m = 0; m < NCS_ALT_N; m++) {
        double row[NCOL], base = 0.0, dev = 0.0;
        basis_row(d, ga + (gb - ga) * m / (NCS_ALT_N - 1), row);
        for (int r = 0; r < k; r++)
            base += coef[r] * row[cols[r]];
        for (int j = 0; j < na; j++) {
            double v = 0.0;
            for (int r = 0; r < ak[j]; r++)
                v += acf[j][r] * row[acols[j][r]];
            dev = fmax(dev, fabs(v - base));
        }
        c->alt_dev[m] = (float)dev;
    }
}

double ncs_clean_alt_dev(const ncs_clean *c, double t_ms)
{
    double a = c->alt_a_ms, b = c->alt_b_ms;
    if (!(b > a) || !(t_ms >= a && t_ms <= b))
        return 0.0;
    double u = (t_ms - a) / (b - a) * (NCS_ALT_N - 1);
    int m = (int)u;
    if (m >= NCS_ALT_N - 1)
        return c->alt_dev[NCS_ALT_N - 1];
    return c->alt_dev[m] + (u - m) * (c->alt_dev[m + 1] - c->alt_dev[m]);
}

double ncs_clean_alt_mean(const ncs_clean *c, double a_ms, double b_ms)
{
    if (!(b_ms > a_ms))
        return ncs_clean_alt_dev(c, a_ms);
    double sum = 0.0;
    for (int j = 0; j <= 16; j++)
        sum += ncs_clean_alt_dev(c, a_ms + (b_ms - a_ms) * j / 16.0);
    return sum / 17.0;
}

/* How far the background d (coefficients coef), fitted on every quiet
 * point (gr), departs over the held-out stretch from the same model
 * fitted without it: mains bent to a slow lobe there departs by the
 * lobe; mains the other quiet points carry, by their noise. */
static void held_departure(ncs_clean *c, const gram *gr, const fit_points *pt,
                           const basis_def *d, const double *coef)
{
    gram h;
    if (d->f_hz <= 0 || !held_out(d, pt, gr, &h))
        return;
    gram rest = *gr;
    for (int r = 0; r < gr->ncol; r++) {
        rest.g[r] -= h.g[r];
        for (int q = 0; q < NCOL_PAD; q++)
            rest.G[r][q] -= h.G[r][q];
    }
    rest.yy -= h.yy;
    rest.wsum -= h.wsum;
    rest.n -= h.n;
    int cols[MAXP], k = model_cols(d, cols);
    double cf[MAXP], L[MAXP][MAXP];
    double rr = gram_solve(&rest, cols, k, cf);
    if (rr < 0 || rest.wsum <= k + 1)
        return;
    double s2 = (rr + pt->within * rest.wsum / gr->wsum) / (rest.wsum - k);
    /* (only where the mains fitted on every quiet point is HELD_GROW times
     * the one fitted without the stretch: where the other points carry
     * mains, a fit without the stretch has as much, or more where it is
     * not pinned there) */
    int o = 1 + d->slope + (d->tau_s > 0) + d->step + (d->rec > 0);
    double m_all = 0.0, m_rest = 0.0;
    for (int j = 0; j < d->nharm; j++) {
        m_all += hypot(coef[o + 2 * j], coef[o + 2 * j + 1]);
        m_rest += hypot(cf[o + 2 * j], cf[o + 2 * j + 1]);
    }
    if (!(m_all > HELD_GROW * m_rest) || gram_chol(&rest, cols, k, L))
        return;
    double b = pt->ra_s, a = fmax(b - HELD_MS / 1000.0, 0.0);
    c->held_a_ms = 1000.0 * a;
    c->held_b_ms = 1000.0 * b;
    for (int m = 0; m < NCS_HELD_N; m++) {
        double row[NCOL], v = 0.0, y[MAXP], var = 0.0, vm = 0.0;
        basis_row(d, a + (b - a) * m / (NCS_HELD_N - 1), row);
        for (int r = 0; r < k; r++) {
            v += (coef[r] - cf[r]) * row[cols[r]];
            if (r >= o)
                vm += (coef[r] - cf[r]) * row[cols[r]];
            y[r] = row[cols[r]];
            for (int q = 0; q < r; q++)
                y[r] -= L[r][q] * y[q];
            y[r] /= L[r][r];
            var += y[r] * y[r];
        }
        c->held_dev[m] = (float)fmin(fabs(v), FLT_MAX);
        c->held_sd[m] = (float)fmin(sqrt(s2 * var), FLT_MAX);
        c->held_mains_mv = fabs(vm); /* (the last: at the stretch's end) */
    }
}

double ncs_clean_held_from(const ncs_clean *c, double lvl_mv)
{
    double a = c->held_a_ms, b = c->held_b_ms;
#define HELD_OUT(m) (c->held_dev[m] > lvl_mv && c->held_dev[m] > HELD_SIG * c->held_sd[m])
    if (!(b > a) || !(c->held_mains_mv > lvl_mv) || !HELD_OUT(NCS_HELD_N - 1))
        return NAN;
    int m = NCS_HELD_N - 1;
    while (m > 0 && HELD_OUT(m - 1))
        m--;
#undef HELD_OUT
    return a + (b - a) * m / (NCS_HELD_N - 1);
}

/* Baseline, drift, the artefact's decay (tau fixed, amplitude fitted), a
 * step of the baseline at the stimulus (when the data carry it) and mains,
 * fitted on the quiet samples of x0 and subtracted into x (fit_model: -1
 * when nothing could be fitted, x then untouched). */
static int fit_model(ncs_clean *c, const double *x0, double *x, const unsigned char *quiet,
                     size_t tail_start, double base0, double art_tau_ms, gram_memo *memo)
{
    size_t n = c->n;
    c->baseline_mv = base0;
    c->drift_mv_per_s = c->mains_hz = c->mains_uv = c->step_mv = 0.0;
    c->rec_mv = c->rec_tau_ms = 0.0;
    c->mains_gain[0] = c->mains_gain[1] = 0.0;
    c->bg.k = 0;
    c->alt_a_ms = c->alt_b_ms = 0.0;
    c->held_a_ms = c->held_b_ms = 0.0;
    /* a slope needs quiet samples on both sides of the response; fitted on
     * one side it would be extrapolated under it */
    double dt_s = c->dt_ms / 1000.0, t0_s = c->t0_ms / 1000.0;
    fit_points pt;
    if (make_points(x0, quiet, n, tail_start, dt_s, t0_s, &pt)) {
        c->n_quiet = pt.nq;
        free_points(&pt);
        return -1;
    }
    size_t nq = pt.nq, before = pt.before, after = nq - before;
    {
        size_t a = tail_start < n ? tail_start : n, b = a;
        while (a > 0 && !quiet[a - 1])
            a--;
        while (b < n && !quiet[b])
            b++;
        pt.ra_s = t0_s + (double)(a > 0 ? a - 1 : 0) * dt_s;
        pt.rb_s = t0_s + (double)(b < n ? b : n - 1) * dt_s;
    }
    size_t qfirst = pt.qfirst, qlast = pt.qlast;
    c->n_quiet = nq;
    if (nq < 16) {
        free_points(&pt);
        return -1;
    }
    int both_sides = (double)before * c->dt_ms >= 1.0 && (double)after * c->dt_ms >= 2.0;
    double ta = t0_s + (double)qfirst * dt_s, tb = t0_s + (double)qlast * dt_s;
    double span_ms = (tb - ta) * 1000.0;
    basis_def best = {.slope = both_sides && span_ms >= 8.0, .f_hz = 0,
                      .tc = 0.5 * (ta + tb), .tspan = 0.5 * (tb - ta) + 1e-9,
                      .tau_s = art_tau_ms / 1000.0,
                      .rec_tau_s = {REC_TAU_MS[0] / 1000.0, REC_TAU_MS[1] / 1000.0,
                                    REC_TAU_MS[2] / 1000.0}};
    double bcoef[MAXP];
    int cols[MAXP];
    gram gr;
    gram_build(&best, &pt, &gr, memo);
    int k0 = model_cols(&best, cols);
    double rss0 = gram_solve(&gr, cols, k0, bcoef);
    if (rss0 < 0 && best.tau_s > 0) {
        best.tau_s = 0;
        k0 = model_cols(&best, cols);
        rss0 = gram_solve(&gr, cols, k0, bcoef);
    }
    if (rss0 < 0) {
        free_points(&pt);
        return -1;
    }
    /* the F tests below judge the fits on the samples themselves: their
     * residual is the blocks' plus the scatter within the blocks */
    rss0 += pt.within;
    /* mains is periodic and phase-stable, so a full cycle of quiet samples
     * on one side is enough to know it under the response */
    double one_side_ms = fmax((double)before, (double)after) * c->dt_ms;
    double best_all = rss0;
    if ((both_sides && span_ms >= 8.0) || one_side_ms >= 8.0)
        best_all = add_mains_if_carried(c, &gr, &pt, nq, &best, rss0, bcoef);
    /* then a step of the baseline at the stimulus, on top of mains (seen
     * only with quiet samples before the stimulus) */
    size_t n_pre_quiet = 0;
    for (size_t i = 0; i < tail_start && i < n && ncs_clean_t(c, (double)i) < 0; i++)
        n_pre_quiet += quiet[i];
    if ((double)n_pre_quiet * c->dt_ms >= 1.0 - 0.5 * c->dt_ms)
        best_all = add_step_if_carried(&gr, &pt, nq, &best, best_all, bcoef);
    best_all = add_recovery_if_carried(&gr, &pt, nq, &best, best_all, bcoef);
    if (best.rec)
        best_all = refine_recovery(&gr, &pt, &best, best_all, bcoef);
    /* a drift seen on one side only: where the quiet record before the
     * response is long (a slow response leaves no quiet tail in the sweep),
     * or where there is none (no pre-trigger, a short latency) and the tail
     * is twice as long (a slow remainder of the response dying away in it
     * is a line's to take; check_before then asks the gap), and no
     * recovery was fitted (whose decay a line would take for drift), a
     * slope the quiet samples carry (F > SLOPE_F). Without it a record
     * without a pre-trigger kept its drift: the tail, a misfit of 0.1 mV,
     * was cut back by check_before until mains could no longer be fitted
     * (docs/measurements.md, drift) */
    double before_ms = (double)before * c->dt_ms, after_ms = (double)after * c->dt_ms;
    if (!best.slope && !best.rec
        && (before_ms >= ONE_SIDE_SLOPE_MS
            || (before_ms < 1.0 && after_ms >= 2.0 * ONE_SIDE_SLOPE_MS)))
        best_all = add_slope_if_carried(&gr, &pt, nq, &best, best_all, bcoef);
    int o = 1 + best.slope + (best.tau_s > 0) + best.step + (best.rec > 0);
    keep_background(c, &gr, &best, best_all, nq);
    alternative_backgrounds(c, &gr, &pt, nq, &best, bcoef, best_all);
    held_departure(c, &gr, &pt, &best, bcoef);
    free_points(&pt);
    subtract_model(&best, bcoef, x0, x, n, t0_s, dt_s);
    /* the baseline at the stimulus, without the artefact and recovery:
     * constant, slope and mains there */
    double phi[MAXP];
    basis_def at = best;
    at.tau_s = 0;
    at.step = 0;
    at.rec = 0;
    int ka = basis(&at, 0.0, 1.0, dt_s, NULL, phi);
    double at0 = bcoef[0] + (best.slope ? bcoef[1] * phi[1] : 0.0);
    for (int r = 1 + best.slope; r < ka; r++)
        at0 += bcoef[o + (r - 1 - best.slope)] * phi[r];
    c->baseline_mv = base0 + at0;
    c->drift_mv_per_s = best.slope ? bcoef[1] / best.tspan : 0.0;
    c->step_mv = best.step ? bcoef[1 + best.slope + (best.tau_s > 0)] : 0.0;
    if (best.rec) {
        c->rec_mv = bcoef[1 + best.slope + (best.tau_s > 0) + best.step];
        c->rec_tau_ms = 1000.0 * best.rec_tau_s[best.rec - 1];
    }
    c->mains_hz = best.f_hz;
    if (best.f_hz > 0)
        c->mains_uv = 1000.0 * hypot(bcoef[o], bcoef[o + 1]);
    return 0;
}

static void fit_background(ncs_clean *c, const double *x0, double *x,
                           const unsigned char *quiet, size_t tail_start,
                           double base0, double art_tau_ms, gram_memo *memo)
{
    if (fit_model(c, x0, x, quiet, tail_start, base0, art_tau_ms, memo))
        memcpy(x, x0, c->n * sizeof *x); /* (nothing fitted: x is x0) */
}

/* Artefact refit on the cleaned x and subtracted, and the search start. */
static void finish(ncs_clean *c, double sigma, double art_end0, double limit_ms)
{
    size_t n = c->n;
    double *x = c->x;
    double art_amp, art_tau, art_end = art_end0, seen;
    c->art_amp_mv = c->art_tau_ms = 0.0;
    if (fit_artefact(c, x, sigma, &art_amp, &art_tau, &art_end, &seen)) {
        c->art_amp_mv = art_amp;
        c->art_tau_ms = art_tau;
        /* the decay by a constant ratio per sample, until it is nothing */
        double decay = exp(-c->dt_ms / art_tau), e = 0.0;
        for (size_t i = 0; i < n; i++) {
            double t = ncs_clean_t(c, (double)i);
            if (t < 0)
                continue;
            e = e == 0.0 ? art_amp * exp(-t / art_tau) : e * decay;
            if (fabs(e) < 1e-12)
                break;
            x[i] -= e;
        }
    }
    if (art_end < art_end0)
        art_end = art_end0;
    /* a response is never erased as artefact: the search for it starts no
     * later than where the record first departs toward it (markers.c flags
     * the overlap), and only the artefact's own spike, what the decay was
     * seen in, is blanked (so the smoothing does not spread it) */
    double blank = fmin(seen, art_end);
    c->art_fall_ms = art_end;
    if (art_end > limit_ms)
        art_end = fmax(limit_ms, blank);
    c->art_end_ms = art_end;
    c->i_search = 0;
    while (c->i_search < n && ncs_clean_t(c, (double)c->i_search) < art_end)
        c->i_search++;
    for (size_t i = 0; i < c->i_search; i++) {
        double t = ncs_clean_t(c, (double)i);
        if (t >= -0.05 && t < blank)
            x[i] = 0.0;
    }
}

/* The working state of one cleaning run (ncs_clean_run's steps). */
typedef struct {
    double *x0;           /* the record less its first baseline */
    double *scratch;
    unsigned char *quiet; /* samples the background is fitted on */
    size_t n_pre;         /* samples before the stimulus */
    double pre_ms;
    int pre_ok;           /* 1 ms of pre-stimulus samples (to half a sample) */
    double base0, sigma0; /* first baseline and noise */
    int have_art;
    double art_amp, art_tau, art_end;
    size_t i_art;         /* first sample after the artefact */
    double a0;            /* rough amplitude of the response */
    size_t gap_end, tail_start;
    gram_memo memo;       /* the background's last sums (gram_build) */
} clean_work;

/* Step 1: the first baseline and noise, from the pre-stimulus samples or,
 * without 1 ms of them, from the level the record dwells at most (the quiet
 * stretches before and after the response share it; a long dispersed
 * response may fill the tail). */
static void first_baseline(ncs_clean *c, const ncs_wave *w, clean_work *k)
{
    size_t n = c->n;
    k->n_pre = 0;
    while (k->n_pre < n && ncs_clean_t(c, (double)k->n_pre) < -0.05)
        k->n_pre++;
    k->pre_ms = (double)k->n_pre * c->dt_ms;
    /* "1 ms" to half a sample: a rate a hair off a round number must not
     * flip how the baseline is found */
    k->pre_ok = k->pre_ms >= 1.0 - 0.5 * c->dt_ms;
    size_t i_post = k->n_pre;
    while (i_post < n && ncs_clean_t(c, (double)i_post) < 0.5)
        i_post++;
    if (i_post + 16 > n)
        i_post = k->n_pre;
    k->base0 = k->pre_ok ? median_of(w->mv, 0, k->n_pre, k->scratch)
                                : shorth(w->mv, i_post, n, k->scratch);
    /* (in locals: x0's stores could otherwise alias k->base0) */
    double *x0 = k->x0, base0 = k->base0;
    for (size_t i = 0; i < n; i++)
        x0[i] = w->mv[i] - base0;
    k->sigma0 = k->pre_ok ? diff_noise(k->x0, 0, k->n_pre, k->scratch)
                                 : diff_noise(k->x0, i_post, n, k->scratch);
}

/* Step 2: where the artefact ends and the response lies, roughly, and so
 * which samples are quiet. */
static void locate_rough(ncs_clean *c, clean_work *k)
{
    size_t n = c->n;
    double seen;
    k->have_art = fit_artefact(c, k->x0, k->sigma0, &k->art_amp, &k->art_tau, &k->art_end,
                               &seen);
    /* the response is looked for after the artefact as seen, not after where
     * its fitted decay would fall into the noise: that may lie inside it */
    k->i_art = 0;
    while (k->i_art < n && ncs_clean_t(c, (double)k->i_art) < seen)
        k->i_art++;
    box3_smooth(k->x0, c->s, n, ROUGH_SMOOTH_MS / c->dt_ms, k->scratch);
    const double *s0 = c->s;
    /* the negative peak and the largest excursion either way */
    size_t ip = k->i_art < n ? k->i_art : n - 1;
    ip = ncs_first_least(s0, k->i_art, n, s0[ip], ip);
    size_t ix = ncs_first_most(s0, k->i_art, n, s0[ip], ip);
    if (s0[ix] <= -s0[ip]) /* (the largest excursion is negative) */
        ix = ip;
    k->a0 = -s0[ip];
    k->gap_end = gap_end_rough(c, s0, k->i_art, ip, ix, k->a0, k->sigma0);
    k->tail_start = quiet_mask(c, s0, k->n_pre, k->i_art, ip, k->a0, k->sigma0, k->gap_end,
                               k->quiet);
}

/* Step 5: mains left in the trace can hide where the response dies away;
 * the tail is looked for again on the cleaned trace, and the background
 * fitted again when more of it is quiet. c->s still holds the rough
 * smoothing of step 2. */
static void second_look(ncs_clean *c, clean_work *k, double tau, double sig_q)
{
    size_t n = c->n;
    if (!(k->a0 > 6.0 * k->sigma0) || n == 0)
        return;
    unsigned char *q2 = malloc(n);
    if (!q2)
        return;
    const double *s0 = c->s;
    double *s1 = k->scratch;
    /* the cleaned trace smoothed: the smoothed record less the model just
     * subtracted, which is slow enough to pass the smoothing unchanged
     * (180 Hz keeps 97 %) */
    const double *x0 = k->x0, *x = c->x;
    for (size_t i = 0; i < n; i++)
        s1[i] = s0[i] - (x0[i] - x[i]);
    size_t jp = ncs_first_least(s1, c->i_search, n, INFINITY,
                                c->i_search < n ? c->i_search : n - 1);
    /* the gap before the response ends where the cleaned trace departs by
     * 1 % of the amplitude, where noise allows (5 % on the raw trace, which
     * may still carry mains): a slow, dispersed foot would otherwise be
     * fitted as background */
    int lobe2, lobe0;
    size_t ge2 = gap_end_at(c, s1, k->i_art, jp, jp, -s1[jp], k->sigma0, 0.01, 0.0, &lobe2);
    /* and on the record itself, where it swings little before the response
     * (the first fit may have taken a slow foot into its drift and mains,
     * and so hidden it from the cleaned trace) */
    size_t early = k->i_art + (size_t)(0.7 * (double)(k->gap_end - k->i_art));
    double sw = k->gap_end > k->i_art ? swing_before(c, s0, k->n_pre, k->i_art, early) : 0.0;
    if (sw > 0) {
        size_t ge0 = gap_end_at(c, s0, k->i_art, jp, jp, -s0[jp], k->sigma0, 0.01, 1.5 * sw,
                                &lobe0);
        if (ge0 > k->i_art && ge0 < ge2) {
            ge2 = ge0;
            lobe2 = lobe0;
        }
    }
    /* (no further back than a take-off's foot goes: from 5 % down to 1 %
     * takes a quadratic one an eighth of its rise, a slow dispersed one up
     * to a third; further back lies what the cleaning left, an amplifier's
     * recovery, that the gap's samples are there to fit; except where the
     * gap now ends before a positive lobe, which the first look, on a
     * record drifting under it, took for the gap: the lobe's own 2 ms
     * bound holds it there, and a gap reaching over the lobe fits the lobe
     * as background and counts it as noise) */
    size_t back = (size_t)(0.5 / c->dt_ms), rise_from = k->gap_end + back;
    if (jp > rise_from && !lobe2) {
        size_t most = (size_t)(FOOT_SHARE * (double)(jp - rise_from));
        if (k->gap_end > most && ge2 < k->gap_end - most)
            ge2 = k->gap_end - most;
        /* a rise of SLOW_RISE_MS or more from the gap's end to the peak is a
         * strongly dispersed response's, whose foot from 1 % to 5 % takes
         * that third of it: the gap ends before such a foot even where the
         * cleaned trace shows none (the first fit took the foot into its
         * drift and mains, syn-00026-cidp ulnar axilla: the onset 1.5 ms
         * late), unless an amplifier's recovery needs the gap's samples or
         * too little of the gap would be left to fit the background by */
        else if (c->rec_mv == 0 && ge2 <= k->gap_end && k->gap_end > most + k->i_art
                 && (double)(jp - rise_from) * c->dt_ms >= SLOW_RISE_MS
                 && (double)(k->gap_end - most - k->i_art) * c->dt_ms >= SLOW_GAP_LEFT_MS)
            ge2 = k->gap_end - most;
    }
    int refit = 0;
    if (ge2 > k->i_art && ge2 < k->gap_end) {
        for (size_t i = ge2; i < k->gap_end; i++)
            k->quiet[i] = 0;
        k->gap_end = ge2;
        refit = 1;
    }
    size_t ts2 = quiet_mask(c, s1, k->n_pre, k->i_art, jp, -s1[jp], k->sigma0, k->gap_end, q2);
    if (ts2 + (size_t)(1.0 / c->dt_ms) < k->tail_start) {
        memcpy(k->quiet, q2, n);
        k->tail_start = ts2;
        refit = 1;
    }
    if (refit) {
        fit_background(c, k->x0, c->x, k->quiet, k->tail_start, k->base0, tau, &k->memo);
        finish(c, sig_q, k->art_end, ncs_clean_t(c, (double)k->gap_end));
    }
    free(q2);
}

/* The samples before the tail where the background is known for sure:
 * [*lo, *hi) holds those at t < -0.05 ms (the pre-stimulus samples) when
 * there is 1 ms of them, else those at t >= from_ms (t grows with i). */
static void known_before(const ncs_clean *c, const clean_work *k, double from_ms, size_t *lo,
                         size_t *hi)
{
    size_t end = k->tail_start < c->n ? k->tail_start : c->n;
    if (k->pre_ok) {
        *lo = 0;
        *hi = k->n_pre < end ? k->n_pre : end; /* (n_pre: the first at -0.05 ms or later) */
        return;
    }
    size_t i = 0;
    while (i < end && !(ncs_clean_t(c, (double)i) >= from_ms))
        i++;
    *lo = i;
    *hi = end;
}

#define TAIL_DYING 1.5 /* a tail whose first half's RMS is this many times
                          its second's still holds the response's end */

/* Step 5b: the background must hold where it is known for sure: before the
 * response (the pre-stimulus samples, else the quiet gap after the
 * artefact). A tail that still held some of the response (a slow positive
 * phase, a late component) bends the fitted drift and mains, and the cleaned
 * trace then stands off zero there. While it does, by more than its noise
 * allows, the tail is taken later (its second half), and with less than 3 ms
 * left not at all. */
static void check_before(ncs_clean *c, clean_work *k, double tau, double sig_q)
{
    size_t n = c->n;
    for (int round = 0; round < 4 && k->tail_start < n; round++) {
        /* the pre-stimulus samples when there is 1 ms of them, else the
         * quiet gap between the artefact and the response */
        double sum = 0.0;
        size_t m = 0, lo, hi;
        known_before(c, k, 0.0, &lo, &hi);
        for (size_t i = lo; i < hi; i++)
            if (k->quiet[i]) {
                sum += c->x[i];
                m++;
            }
        if (m < 8)
            return;
        double mean = sum / (double)m;
        /* the mean of m samples of white noise, and a little for what
         * mains leaves over a part of its period */
        double allow = 4.0 * k->sigma0 / sqrt((double)m) + 0.002 * k->a0 + 1e-6;
        /* and the tail itself: what the model leaves there is noise, not
         * the slow shape of a response's end — within 3 noise SDs and
         * 0.2 % of the amplitude for what mains leaves, or 0.1 % where
         * the tail's first half stands out from its second (a slow
         * remainder dying away, not a residual spread evenly: with 0.2 %
         * alone a CIDP knee response's slow positive phase, 0.15 % of
         * its amplitude, passed as quiet, bent the drift, and the onset
         * came out 1.6 ms early; with 0.1 % alone a fifth of all traces
         * were fitted again for nothing) */
        size_t rest = n - k->tail_start;
        double tss[2] = {0.0, 0.0};
        size_t tm[2] = {0, 0};
        /* (the two halves in turn, each sum in a register) */
        for (int h = 0; h < 2; h++) {
            size_t a = k->tail_start + (h ? rest / 2 : 0), b = h ? n : k->tail_start + rest / 2;
            double ss = 0.0;
            size_t nq = 0;
            for (size_t i = a; i < b; i++)
                if (k->quiet[i]) {
                    ss += c->x[i] * c->x[i];
                    nq++;
                }
            tss[h] = ss;
            tm[h] = nq;
        }
        double trms = tm[0] + tm[1] ? sqrt((tss[0] + tss[1]) / (double)(tm[0] + tm[1])) : 0.0;
        double first = tm[0] ? tss[0] / (double)tm[0] : 0.0;
        double second = tm[1] ? tss[1] / (double)tm[1] : 0.0;
        double floor_ = 3.0 * k->sigma0 + 1e-6;
        int dying = first > TAIL_DYING * TAIL_DYING * second;
        if (fabs(mean) <= allow && trms <= floor_ + (dying ? 0.001 : 0.002) * k->a0)
            return;
        size_t later = rest / 2 >= (size_t)(3.0 / c->dt_ms) ? k->tail_start + rest / 2 : n;
        for (size_t i = k->tail_start; i < later && i < n; i++)
            k->quiet[i] = 0;
        k->tail_start = later;
        fit_background(c, k->x0, c->x, k->quiet, k->tail_start, k->base0, tau, &k->memo);
        finish(c, sig_q, k->art_end, ncs_clean_t(c, (double)k->gap_end));
    }
}

/* How far the cleaned baseline moves over a millisecond: the RMS of the
 * means of successive 1 ms runs of quiet samples. With fewer than two such
 * runs the RMS of the quiet samples themselves (no better is known). */
static double baseline_wander(const ncs_clean *c, const unsigned char *quiet)
{
    size_t w = (size_t)fmax(3.0, floor(1.0 / c->dt_ms + 0.5)), run = 0, m = 0;
    double sum = 0.0, ss = 0.0;
    for (size_t i = 0; i < c->n; i++) {
        if (!quiet[i]) {
            run = 0;
            sum = 0.0;
            continue;
        }
        sum += c->x[i];
        if (++run == w) {
            double mean = sum / (double)w;
            ss += mean * mean;
            m++;
            run = 0;
            sum = 0.0;
        }
    }
    return m >= 2 ? sqrt(ss / (double)m) : c->sigma_mv;
}

/* Step 6: the noise left, on the quiet samples, of the cleaned trace and of
 * its smoothed copy. */
static void final_noise(ncs_clean *c, const clean_work *k)
{
    double e = 0.0, es = 0.0;
    size_t m = 0;
    for (size_t i = 0; i < c->n; i++)
        if (k->quiet[i]) {
            e += c->x[i] * c->x[i];
            es += c->s[i] * c->s[i];
            m++;
        }
    c->sigma_mv = m ? sqrt(e / (double)m) : k->sigma0;
    c->sigma_s_mv = m ? sqrt(es / (double)m) : k->sigma0;
    /* the noise reported is the baseline's where it is known for sure: the
     * pre-stimulus samples (1 ms of them), else the quiet gap before the
     * response; a tail that kept some of the response's end would count
     * that as noise */
    double eb = 0.0;
    size_t mb = 0, lo, hi;
    known_before(c, k, c->art_end_ms, &lo, &hi);
    for (size_t i = lo; i < hi; i++)
        if (k->quiet[i]) {
            eb += c->x[i] * c->x[i];
            mb++;
        }
    c->base_noise_mv = (double)mb * c->dt_ms >= 1.0 - 0.5 * c->dt_ms ? sqrt(eb / (double)mb) : c->sigma_mv;
    /* white noise through a Gaussian of sigma q samples keeps
     * 1 / sqrt(2 sqrt(pi) q) of its RMS */
    double q = SMOOTH_MS / c->dt_ms;
    double gain = q > 0.3 ? fmin(1.0, 1.0 / sqrt(2.0 * sqrt(M_PI) * q)) : 1.0;
    c->white_s_mv = k->sigma0 * gain;
    c->white_mv = k->sigma0;
    c->wander_mv = baseline_wander(c, k->quiet);
}

ncs_status ncs_clean_run(ncs_analyser *a, const ncs_wave *w, ncs_clean *c)
{
    memset(c, 0, sizeof *c);
    size_t n = w->n;
    c->n = n;
    c->fs_hz = w->fs_hz;
    c->dt_ms = 1000.0 / w->fs_hz;
    c->t0_ms = -w->stim_ms;
    c->force_mains_hz = a->force_mains_hz;
    c->x = malloc(n * sizeof *c->x);
    c->s = malloc(n * sizeof *c->s);
    /* (x0 and quiet are written whole before they are read: first_baseline,
     * quiet_mask) */
    clean_work k = {.x0 = malloc(n * sizeof *k.x0), .scratch = malloc(n * sizeof *k.scratch),
                    .quiet = malloc(n)};
    ncs_status rc = NCS_ERR_NOMEM;
    if (!c->x || !c->s || !k.x0 || !k.scratch || !k.quiet)
        goto out;

    /* 1. first baseline and noise */
    first_baseline(c, w, &k);
    /* where the trace shows the stimulus, to check the declared time */
    c->stim_seen_ms = stimulus_seen(c, w->mv, k.sigma0, k.scratch);
    /* 2. where the artefact ends and the response lies, roughly */
    locate_rough(c, &k);
    /* 3. baseline, drift, artefact decay and mains on the quiet samples */
    double tau = k.have_art ? k.art_tau : 0.0;
    fit_background(c, k.x0, c->x, k.quiet, k.tail_start, k.base0, tau, &k.memo);
    double sig_q = k.pre_ok ? diff_noise(c->x, 0, k.n_pre, k.scratch) : k.sigma0;
    if (sig_q <= 0)
        sig_q = k.sigma0;
    /* 4. what remains of the artefact, and the smoothed copy */
    finish(c, sig_q, k.art_end, ncs_clean_t(c, (double)k.gap_end));
    /* 5. a second look for the quiet tail on the cleaned trace, and the
     *    background checked where it is known before the response */
    second_look(c, &k, tau, sig_q);
    check_before(c, &k, tau, sig_q);
    /* 6. the smoothed copy markers are read from, and the noise levels */
    if (gauss_smooth(a, c->x, c->s, n, SMOOTH_MS / c->dt_ms))
        goto out;
    final_noise(c, &k);
    invert_background(c);
    rc = NCS_OK;
out:
    free(k.x0);
    free(k.scratch);
    free(k.quiet);
    gram_memo_free(&k.memo);
    if (rc != NCS_OK)
        ncs_clean_free(c);
    return rc;
}
