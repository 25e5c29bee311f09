/* synth.c — the motor-unit model of ncs_synth.h and its recording conditions. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ncs_synth.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---- PRNG (xoshiro256**, seeded by splitmix64) --------------------------- */

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

void ncs_rng_seed(ncs_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next_u64(ncs_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ncs_rng_uniform(ncs_rng *r)
{
    return (double)(next_u64(r) >> 11) * 0x1.0p-53;
}

double ncs_rng_normal(ncs_rng *r)
{
    double u = ncs_rng_uniform(r), v = ncs_rng_uniform(r);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ---- the model ----------------------------------------------------------- */

#define MUAP_NORM 0.78367 /* max of s^2 (3 - s) e^-s, at s = 3 - sqrt(3) */
#define MUAP4_NORM 8.2263 /* max of s^4 (5 - s) e^-s, at s = 5 - sqrt(5) */
#define MUAP_SPAN 30.0    /* beyond 30 tau the MUAP is below 1e-8 of its peak */

struct ncs_synth_model {
    size_t n_units, n_sites;
    ncs_synth_muap shape;
    double lead_pos;
    double *amp, *tau;       /* per unit */
    double *lat;             /* [unit * n_sites + site], ms */
    unsigned char *present;  /* [unit * n_sites + site] */
};

/* One unit's potential t ms after its arrival: amplitude a (its negative
 * peak), time constant tau. */
static double muap(const ncs_synth_model *m, double t, double a, double tau)
{
    double s = t / tau;
    switch (m->shape) {
    case NCS_SYNTH_MUAP_LEADING_POS: {
        /* a positive lobe just before the negative phase */
        double u = (s + 0.35) / 0.15;
        double lobe = u > -6.0 && u < 6.0 ? a * m->lead_pos * exp(-0.5 * u * u) : 0.0;
        if (s <= 0.0 || s > MUAP_SPAN)
            return lobe;
        return lobe - a * s * s * (3.0 - s) * exp(-s) / MUAP_NORM;
    }
    case NCS_SYNTH_MUAP_GAUSS_DERIV: {
        double u = (s - 3.0) / 0.75;
        if (s <= 0.0 || u > 6.0)
            return 0.0;
        return a * u * exp(0.5 * (1.0 - u * u));
    }
    case NCS_SYNTH_MUAP_QUARTIC:
        if (s <= 0.0 || s > 2.0 * MUAP_SPAN)
            return 0.0;
        return -a * s * s * s * s * (5.0 - s) * exp(-s) / MUAP4_NORM;
    default:
        if (s <= 0.0 || s > MUAP_SPAN)
            return 0.0;
        return -a * s * s * (3.0 - s) * exp(-s) / MUAP_NORM;
    }
}

void ncs_synth_model_destroy(ncs_synth_model *m)
{
    if (!m)
        return;
    free(m->amp);
    free(m->tau);
    free(m->lat);
    free(m->present);
    free(m);
}

double ncs_synth_model_eval(const ncs_synth_model *m, size_t site, double t)
{
    double v = 0.0;
    for (size_t u = 0; u < m->n_units; u++) {
        size_t k = u * m->n_sites + site;
        if (m->present[k])
            v += muap(m, t - m->lat[k], m->amp[u], m->tau[u]);
    }
    return v;
}

static double clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* Removes round(frac * conducting) of the units still conducting at `site`
 * from that site and every site after it. */
static void block_units(ncs_synth_model *m, size_t site, double frac, ncs_rng *r)
{
    size_t n = m->n_units, cnt = 0;
    size_t *idx = malloc(n * sizeof *idx);
    if (!idx)
        return;
    for (size_t u = 0; u < n; u++)
        if (m->present[u * m->n_sites + site])
            idx[cnt++] = u;
    size_t kill = (size_t)floor(frac * (double)cnt + 0.5);
    for (size_t i = 0; i < kill; i++) { /* partial Fisher-Yates */
        size_t j = i + (size_t)(ncs_rng_uniform(r) * (double)(cnt - i));
        size_t t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
        for (size_t s = site; s < m->n_sites; s++)
            m->present[idx[i] * m->n_sites + s] = 0;
    }
    free(idx);
}

ncs_synth_model *ncs_synth_model_create(const ncs_synth_nerve_params *p,
                                        size_t n_sites, const double *dist,
                                        const ncs_synth_lesion *les, uint64_t seed)
{
    if (!p || !dist || n_sites == 0 || n_sites > NCS_SYNTH_MAX_SITES || p->n_units < 1
        || !(p->cv_m_s > 0) || !(p->tau_ms > 0))
        return NULL;
    ncs_synth_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    size_t n = (size_t)p->n_units;
    m->n_units = n;
    m->n_sites = n_sites;
    m->shape = p->shape;
    m->lead_pos = p->lead_pos > 0 ? p->lead_pos : 0.2;
    m->amp = calloc(n, sizeof *m->amp);
    m->tau = calloc(n, sizeof *m->tau);
    m->lat = calloc(n * n_sites, sizeof *m->lat);
    m->present = calloc(n * n_sites, 1);
    if (!m->amp || !m->tau || !m->lat || !m->present) {
        ncs_synth_model_destroy(m);
        return NULL;
    }
    ncs_rng r;
    ncs_rng_seed(&r, seed);
    int any_split = 0;
    for (size_t s = 0; les && s < n_sites; s++)
        any_split |= les[s].split > 0;
    for (size_t u = 0; u < n; u++) {
        double cv = p->cv_m_s * clampd(1.0 + p->cv_sd * ncs_rng_normal(&r), 0.6, 1.4);
        double term = p->terminal_ms * clampd(1.0 + 0.08 * ncs_rng_normal(&r), 0.7, 1.3);
        m->amp[u] = exp(0.45 * ncs_rng_normal(&r));
        m->tau[u] = p->tau_ms * clampd(1.0 + 0.12 * ncs_rng_normal(&r), 0.6, 1.4);
        double t = term;
        /* drawn only when a segment splits, so a population without one is
         * the one the same seed always gave */
        double split_draw = any_split ? ncs_rng_uniform(&r) : 1.0;
        for (size_t s = 0; s < n_sites; s++) {
            double slow = les && les[s].slowing > 0 ? les[s].slowing : 1.0;
            double disp = les ? les[s].dispersion : 0.0;
            /* a split response: some units slowed far more than the rest */
            if (les && split_draw < les[s].split)
                slow *= les[s].split_slowing > 0 ? les[s].split_slowing : 0.55;
            /* demyelination only slows: each unit by its own extra amount */
            double cvs = cv * slow * clampd(1.0 - disp * fabs(ncs_rng_normal(&r)), 0.3, 1.0);
            if (cvs < 5.0)
                cvs = 5.0;
            t += dist[s] / cvs; /* mm / (m/s) = ms */
            m->lat[u * n_sites + s] = t;
            m->present[u * n_sites + s] = 1;
        }
    }
    /* scale so the intact distal CMAP has the requested amplitude */
    double vmin = 0.0;
    for (double t = 0.0; t < 60.0; t += 0.01) {
        double v = ncs_synth_model_eval(m, 0, t);
        if (v < vmin)
            vmin = v;
    }
    if (vmin < 0.0)
        for (size_t u = 0; u < n; u++)
            m->amp[u] *= p->amp_mv / -vmin;
    /* axonal loss: units gone from every site; survivors reinnervate a little */
    if (p->axonal_loss > 0) {
        block_units(m, 0, clampd(p->axonal_loss, 0, 1), &r);
        for (size_t u = 0; u < n; u++)
            m->amp[u] *= 1.0 + 0.5 * p->axonal_loss;
    }
    /* block: distal segment 0 removes units everywhere, segment s >= 1 from
     * site s on */
    for (size_t s = 0; les && s < n_sites; s++)
        if (les[s].block > 0)
            block_units(m, s, clampd(les[s].block, 0, 1), &r);
    return m;
}

/* The first crossing of level by v[i0..), from either side, interpolated;
 * n when there is none. */
static double first_departure(const double *v, size_t n, double thr, int *positive)
{
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i]) > thr) {
            *positive = v[i] > 0;
            double lv = *positive ? thr : -thr;
            if (i == 0)
                return 0.0;
            return (double)(i - 1) + (lv - v[i - 1]) / (v[i] - v[i - 1]);
        }
    return (double)n;
}

/* The negative phase from sample i_on: its negative peaks (minima deeper
 * than 10 % of amp, each separated from the one before by a rise of 10 % of
 * amp) until the waveform has stayed at or above baseline for 3 ms; the
 * phase ends at the return to baseline after the last of them. Returns the
 * end as a fractional index (n - 1 when it does not end). */
static double negative_phase_end(const double *v, size_t n, size_t i_on, double amp,
                                  double dt, int *peaks)
{
    double deep = -0.1 * amp, rise = 0.1 * amp;
    size_t stay = (size_t)(3.0 / dt), run = 0, last = i_on, mn_i = i_on;
    /* 0: before the first peak; 1: going down to a peak (mn its lowest, at
     * mn_i); 2: risen by `rise` from it (mx the highest since). A later
     * minimum counts once the waveform has risen from it by `rise` too: a
     * slide that never comes back is no peak. */
    int state = 0, first = 1;
    double mn = 0.0, mx = 0.0;
    *peaks = 0;
    for (size_t i = i_on; i < n && run < stay; i++) {
        run = v[i] >= 0.0 ? run + 1 : 0;
        if (state == 0 && v[i] < deep) {
            *peaks = 1;
            mn = v[i];
            mn_i = last = i;
            state = 1;
        } else if (state == 1) {
            if (v[i] < mn) {
                mn = v[i];
                mn_i = i;
                if (first)
                    last = i;
            } else if (v[i] - mn >= rise) {
                if (!first)
                    (*peaks)++;
                first = 0;
                if (mn_i > last)
                    last = mn_i;
                mx = v[i];
                state = 2;
            }
        } else if (state == 2) {
            if (v[i] > mx)
                mx = v[i];
            else if (mx - v[i] >= rise && v[i] < deep) {
                mn = v[i];
                mn_i = i;
                state = 1;
            }
        }
    }
    for (size_t i = last; i + 1 < n; i++)
        if (v[i] < 0.0 && v[i + 1] >= 0.0)
            return (double)i + (0.0 - v[i]) / (v[i + 1] - v[i]);
    return (double)(n - 1);
}

/* Area of the part of v below zero over fractional indices [fa, fb], in
 * mV * samples, positive. */
static double area_below(const double *v, size_t n, double fa, double fb)
{
    double area = 0.0;
    for (size_t i = (size_t)floor(fa); i + 1 < n && (double)i < fb; i++) {
        double a = fmax((double)i, fa), b = fmin((double)(i + 1), fb);
        if (b <= a)
            continue;
        double va = v[i] + (v[i + 1] - v[i]) * (a - (double)i);
        double vb = v[i] + (v[i + 1] - v[i]) * (b - (double)i);
        if (va >= 0 && vb >= 0)
            continue;
        if (va < 0 && vb < 0) {
            area += -0.5 * (va + vb) * (b - a);
        } else { /* a zero crossing inside: only the part below */
            double z = a + (b - a) * va / (va - vb);
            area += va < 0 ? -0.5 * va * (z - a) : -0.5 * vb * (b - z);
        }
    }
    return area;
}

void ncs_synth_model_truth(const ncs_synth_model *m, size_t site, ncs_synth_truth *t)
{
    memset(t, 0, sizeof *t);
    t->onset_ms = t->peak_ms = t->amp_mv = t->p2p_mv = t->dur_ms = t->area_mvms = NAN;
    double tmax = 0.0, taumax = 0.0;
    int any = 0;
    for (size_t u = 0; u < m->n_units; u++) {
        size_t k = u * m->n_sites + site;
        if (!m->present[k])
            continue;
        any = 1;
        if (m->lat[k] > tmax)
            tmax = m->lat[k];
        if (m->tau[u] > taumax)
            taumax = m->tau[u];
    }
    if (!any)
        return;
    const double dt = 0.002;
    tmax += (m->shape == NCS_SYNTH_MUAP_QUARTIC ? 30.0 : 20.0) * taumax + 4.0;
    size_t n = (size_t)(tmax / dt) + 2;
    double *v = calloc(n, sizeof *v);
    if (!v)
        return;
    size_t ip = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = ncs_synth_model_eval(m, site, (double)i * dt);
        if (v[i] < v[ip])
            ip = i;
    }
    if (!(v[ip] < 0.0)) {
        free(v);
        return;
    }
    t->response = 1;
    t->amp_mv = -v[ip];
    t->peak_ms = (double)ip * dt;
    double f_on = first_departure(v, ip, 0.01 * t->amp_mv, &t->initial_positivity);
    t->onset_ms = f_on * dt;
    double f_end = negative_phase_end(v, n, (size_t)f_on, t->amp_mv, dt, &t->neg_peaks);
    t->dur_ms = (f_end - f_on) * dt;
    t->area_mvms = area_below(v, n, f_on, f_end) * dt;
    double vmax = 0.0;
    for (size_t i = ip; i < n; i++)
        if (v[i] > vmax)
            vmax = v[i];
    t->p2p_mv = vmax - v[ip];
    free(v);
}

/* ---- recording conditions ----------------------------------------------- */

void ncs_synth_render(const ncs_synth_model *m, size_t site, const ncs_synth_cond *c,
                      ncs_rng *rng, double *out, size_t n)
{
    double ph[3];
    for (int h = 0; h < 3; h++)
        ph[h] = 2.0 * M_PI * ncs_rng_uniform(rng);
    static const double harm[3] = {1.0, 0.5, 0.3};
    double sweep = (double)n * 1000.0 / c->fs_hz;
    for (size_t i = 0; i < n; i++) {
        double t = (double)i * 1000.0 / c->fs_hz; /* ms from the first sample */
        double tt = t - c->pre_ms;                /* ms from the stimulus */
        double x = tt > 0 ? ncs_synth_model_eval(m, site, tt) : 0.0;
        x += c->noise_uv * 1e-3 * ncs_rng_normal(rng);
        for (int h = 0; h < 3; h++)
            x += c->mains_uv * 1e-3 * harm[h]
                 * sin(2.0 * M_PI * (h + 1) * c->mains_hz * t / 1000.0 + ph[h]);
        if (c->mains_h5 > 0)
            x += c->mains_uv * 1e-3 * c->mains_h5
                 * sin(2.0 * M_PI * 5.0 * c->mains_hz * t / 1000.0 + ph[0] + ph[1]);
        x += c->dc_mv + c->drift_mv * t / sweep;
        if (tt >= 0 && c->artefact_mv > 0 && c->artefact_tau_ms > 0)
            x += c->artefact_sign * c->artefact_mv * exp(-tt / c->artefact_tau_ms);
        /* the amplifier's recovery: an overshoot of the other sign that
         * decays more slowly, and a step that stays */
        if (tt >= 0 && c->recovery_mv > 0 && c->recovery_tau_ms > 0)
            x -= c->artefact_sign * c->recovery_mv * exp(-tt / c->recovery_tau_ms)
                 * (1.0 - exp(-tt / (0.5 * c->artefact_tau_ms + 1e-9)));
        if (tt >= 0)
            x += c->step_mv;
        if (c->clip_mv > 0)
            x = clampd(x, -c->clip_mv, c->clip_mv);
        out[i] = c->inverted ? -x : x;
    }
}

static double ramp(double level, double at1, double at2)
{
    return level <= 1.0 ? at1 * level : at1 + (at2 - at1) * (level - 1.0);
}

void ncs_synth_random_cond(ncs_rng *r, double level, double sweep_ms, ncs_synth_cond *c)
{
    static const double rates[] = {10000, 20000, 25000, 48000};
    memset(c, 0, sizeof *c);
    c->fs_hz = rates[(int)(ncs_rng_uniform(r) * 4) & 3];
    c->sweep_ms = sweep_ms;
    c->pre_ms = 0.5 * floor(ncs_rng_uniform(r) * 11.0); /* 0 .. 5 ms */
    double k = level > 0 ? 0.6 + 0.4 * ncs_rng_uniform(r) : 0.0;
    c->noise_uv = 2.0 + k * ramp(level, 23.0, 48.0);
    c->mains_uv = k * ramp(level, 80.0, 250.0);
    c->mains_hz = ncs_rng_uniform(r) < 0.5 ? 50.0 : 60.0;
    c->dc_mv = ramp(level, 1.0, 1.0) * (2.0 * ncs_rng_uniform(r) - 1.0);
    c->drift_mv = ramp(level, 0.3, 0.3) * (2.0 * ncs_rng_uniform(r) - 1.0);
    c->artefact_mv = k * ramp(level, 6.0, 15.0);
    c->artefact_tau_ms = level > 0 ? 0.1 + 0.25 * (level < 1 ? level : 1.0) : 0.1;
    c->artefact_sign = ncs_rng_uniform(r) < 0.5 ? -1 : 1;
}
