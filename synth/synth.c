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
#define MUAP_SPAN 30.0    /* beyond 30 tau the MUAP is below 1e-8 of its peak */

struct ncs_synth_model {
    size_t n_units, n_sites;
    double *amp, *tau;       /* per unit */
    double *lat;             /* [unit * n_sites + site], ms */
    unsigned char *present;  /* [unit * n_sites + site] */
};

static double muap(double t, double a, double tau)
{
    if (t <= 0.0)
        return 0.0;
    double s = t / tau;
    if (s > MUAP_SPAN)
        return 0.0;
    return -a * s * s * (3.0 - s) * exp(-s) / MUAP_NORM;
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
            v += muap(t - m->lat[k], m->amp[u], m->tau[u]);
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
    for (size_t u = 0; u < n; u++) {
        double cv = p->cv_m_s * clampd(1.0 + p->cv_sd * ncs_rng_normal(&r), 0.6, 1.4);
        double term = p->terminal_ms * clampd(1.0 + 0.08 * ncs_rng_normal(&r), 0.7, 1.3);
        m->amp[u] = exp(0.45 * ncs_rng_normal(&r));
        m->tau[u] = p->tau_ms * clampd(1.0 + 0.12 * ncs_rng_normal(&r), 0.6, 1.4);
        double t = term;
        for (size_t s = 0; s < n_sites; s++) {
            double slow = les && les[s].slowing > 0 ? les[s].slowing : 1.0;
            double disp = les ? les[s].dispersion : 0.0;
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
    tmax += 20.0 * taumax;
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
    double thr = -0.01 * t->amp_mv;
    size_t i0 = 0;
    while (i0 < ip && !(v[i0] < thr))
        i0++;
    t->onset_ms = i0 > 0 ? ((double)(i0 - 1) + (thr - v[i0 - 1]) / (v[i0] - v[i0 - 1])) * dt
                         : 0.0;
    size_t i1 = ip;
    while (i1 < n && v[i1] < 0.0)
        i1++;
    double end = i1 < n ? ((double)(i1 - 1) + (0.0 - v[i1 - 1]) / (v[i1] - v[i1 - 1])) * dt
                        : (double)(n - 1) * dt;
    t->dur_ms = end - t->onset_ms;
    double area = 0.0;
    for (size_t i = 0; i + 1 < n; i++) {
        double a = (double)i * dt, b = a + dt;
        double lo = a > t->onset_ms ? a : t->onset_ms;
        double hi = b < end ? b : end;
        if (hi <= lo)
            continue;
        /* linear interpolation of v over [lo, hi] */
        double va = v[i] + (v[i + 1] - v[i]) * (lo - a) / dt;
        double vb = v[i] + (v[i + 1] - v[i]) * (hi - a) / dt;
        area += -0.5 * (va + vb) * (hi - lo);
    }
    t->area_mvms = area;
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
        x += c->dc_mv + c->drift_mv * t / sweep;
        if (tt >= 0 && c->artefact_mv > 0 && c->artefact_tau_ms > 0)
            x += c->artefact_sign * c->artefact_mv * exp(-tt / c->artefact_tau_ms);
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
