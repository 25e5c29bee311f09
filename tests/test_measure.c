/* test_measure.c — docs/measurements.md on synthetic traces with known truth:
 * accuracy under the conditions of the accuracy targets (README), hostile conditions, and the cases
 * where a measure must be refused (null with a flag), never invented. */
#include "testutil.h"
#include "ncs_synth.h"
#include "accuracy.h"

static const double dist[3] = {70, 230, 120};

static ncs_synth_nerve_params params(double amp)
{
    ncs_synth_nerve_params p = {.n_units = 120, .amp_mv = amp, .cv_m_s = 53.0,
                                .cv_sd = 0.07, .terminal_ms = 2.0, .tau_ms = 1.5};
    return p;
}

static ncs_site plain_site(void)
{
    ncs_site s;
    memset(&s, 0, sizeof s);
    s.name = "x";
    s.file = "x";
    s.path = "x";
    s.channel = 1;
    s.scale_mv = s.rate_hz = NAN;
    s.onset_ms = s.peak_ms = s.end_ms = NAN;
    s.entrapment = -1;
    return s;
}

/* Renders site k of model m under c into a wave and measures it. */
static void measure(ncs_analyser *a, const ncs_synth_model *m, size_t k,
                    const ncs_synth_cond *c, ncs_rng *r, const ncs_site *site,
                    ncs_markers *out, ncs_warnings *warn)
{
    ncs_wave w;
    memset(&w, 0, sizeof w);
    w.fs_hz = c->fs_hz;
    w.n = (size_t)floor(c->fs_hz * c->sweep_ms / 1000.0 + 0.5);
    w.mv = malloc(w.n * sizeof *w.mv);
    w.stim_ms = c->pre_ms;
    w.rail_mv = c->clip_mv > 0 ? c->clip_mv : NAN;
    ncs_synth_render(m, k, c, r, w.mv, w.n);
    if (c->clip_mv > 0)
        for (size_t i = 0; i < w.n; i++)
            if (fabs(w.mv[i]) >= c->clip_mv)
                w.clipped_n++;
    ncs_error err;
    ncs_site s = site ? *site : plain_site();
    ck_assert_int_eq(ncs_measure(a, &w, &s, "t", out, NULL, warn, &err), NCS_OK);
    free(w.mv);
}

/* ---- accuracy (README: Accuracy) ------------------------------------------------- */

START_TEST(accuracy_spec_8_1)
{
    enum { NERVES = 90, CAP = NERVES * 3 };
    static double err[2][E__N][CAP];
    size_t cnt[2][E__N] = {{0}};
    ncs_error e;
    ncs_analyser *a = ncs_analyser_create(&e);
    ncs_rng r;
    ncs_rng_seed(&r, 2026);
    size_t missed = 0;
    for (int k = 0; k < NERVES; k++) {
        /* amplitudes from 0.5 to 12 mV, conditions up to the worst of the accuracy targets (README) */
        double amp = 0.5 + 11.5 * ncs_rng_uniform(&r);
        ncs_synth_nerve_params p = params(amp);
        p.cv_m_s = 45 + 15 * ncs_rng_uniform(&r);
        ncs_synth_lesion les[3];
        memset(les, 0, sizeof les);
        if (k % 3 == 1)
            les[2].block = 0.3 + 0.4 * ncs_rng_uniform(&r);
        ncs_synth_model *m = ncs_synth_model_create(&p, 3, dist, les, (uint64_t)k + 1);
        ncs_synth_cond c;
        ncs_synth_random_cond(&r, ncs_rng_uniform(&r), 45.0, &c);
        ncs_synth_truth t[3];
        ncs_markers mk[3];
        for (size_t s = 0; s < 3; s++) {
            ncs_synth_model_truth(m, s, &t[s]);
            measure(a, m, s, &c, &r, NULL, &mk[s], NULL);
            if (!mk[s].response || !isfinite(mk[s].onset_ms) || !isfinite(mk[s].amp_mv)
                || !isfinite(mk[s].neg_area_mvms)) {
                /* a response within 10x the noise may honestly be called
                 * absent; one clearly above it must be measured */
                printf("not measured: nerve %d site %zu amp %.2f mV noise %.0f uV flags 0x%x\n",
                       k, s, t[s].amp_mv, c.noise_uv, mk[s].flags);
                if (t[s].amp_mv >= 10.0 * c.noise_uv / 1000.0)
                    missed++;
                continue;
            }
            int b = t[s].amp_mv >= 2.0 ? 0 : 1;
            err[b][E_ONSET][cnt[b][E_ONSET]++] = fabs(mk[s].onset_ms - t[s].onset_ms);
            err[b][E_AMP][cnt[b][E_AMP]++] = fabs(100 * (mk[s].amp_mv / t[s].amp_mv - 1));
            err[b][E_AREA][cnt[b][E_AREA]++] = fabs(100 * (mk[s].neg_area_mvms / t[s].area_mvms - 1));
            err[b][E_DUR][cnt[b][E_DUR]++] = fabs(mk[s].neg_dur_ms - t[s].dur_ms);
            if (s > 0 && mk[s - 1].response && t[s - 1].amp_mv >= 2.0 && t[s].amp_mv >= 2.0)
                err[0][E_DLAT][cnt[0][E_DLAT]++] =
                    fabs((mk[s].onset_ms - mk[s - 1].onset_ms) - (t[s].onset_ms - t[s - 1].onset_ms));
        }
        ncs_synth_model_destroy(m);
    }
    ncs_analyser_destroy(a);
    double got[2][E__N];
    printf("accuracy (p95 of |error|, %d nerves, %zu traces not measured):\n", NERVES, missed);
    for (int i = 0; i < E__N; i++) {
        got[0][i] = tu_p95(err[0][i], cnt[0][i]);
        got[1][i] = tu_p95(err[1][i], cnt[1][i]);
        printf("  %-9s >=2mV n=%3zu p95=%7.4f (target %.2f)   <2mV n=%3zu p95=%7.4f (target %.2f)\n",
               e_names[i], cnt[0][i], got[0][i], target_big[i], cnt[1][i], got[1][i],
               target_small[i]);
    }
    printf("  responses >= 10x noise not measured: %zu (open work: should be 0)\n", missed);
    fflush(stdout);
    /* every accuracy target, both size classes */
    for (int i = 0; i < E__N; i++) {
        ck_assert_msg(got[0][i] <= target_big[i], "%s >= 2 mV: p95 %.4f > %.2f", e_names[i],
                      got[0][i], target_big[i]);
        if (!isnan(target_small[i]))
            ck_assert_msg(got[1][i] <= target_small[i], "%s < 2 mV: p95 %.4f > %.2f",
                          e_names[i], got[1][i], target_small[i]);
    }
}
END_TEST

/* ---- refusals and flags -------------------------------------------------- */

static ncs_analyser *an;
static ncs_synth_model *model;
static ncs_rng rng;

static void setup(void)
{
    ncs_error e;
    an = ncs_analyser_create(&e);
    ncs_synth_nerve_params p = params(6.0);
    model = ncs_synth_model_create(&p, 3, dist, NULL, 11);
    ncs_rng_seed(&rng, 5);
}

static void teardown(void)
{
    ncs_synth_model_destroy(model);
    ncs_analyser_destroy(an);
}

static ncs_synth_cond quiet_cond(void)
{
    ncs_synth_cond c;
    memset(&c, 0, sizeof c);
    c.fs_hz = 20000;
    c.sweep_ms = 45;
    c.pre_ms = 3;
    c.noise_uv = 5;
    c.mains_hz = 50;
    return c;
}

START_TEST(no_response_is_null)
{
    ncs_synth_lesion les[3];
    memset(les, 0, sizeof les);
    les[1].block = 1.0;
    ncs_synth_nerve_params p = params(6.0);
    ncs_synth_model *m = ncs_synth_model_create(&p, 3, dist, les, 3);
    ncs_synth_cond c = quiet_cond();
    c.noise_uv = 20;
    c.artefact_mv = 5;
    c.artefact_tau_ms = 0.3;
    c.artefact_sign = -1;
    ncs_markers mk;
    ncs_warnings w = {0};
    measure(an, m, 1, &c, &rng, NULL, &mk, &w);
    ck_assert_int_eq(mk.response, 0);
    ck_assert(mk.flags & NCS_FLAG_NO_RESPONSE);
    ck_assert(isnan(mk.onset_ms) && isnan(mk.amp_mv) && isnan(mk.neg_area_mvms));
    ck_assert(isnan(mk.peak_ms) && isnan(mk.neg_dur_ms) && isnan(mk.p2p_mv));
    ck_assert_double_eq_tol(mk.noise_uv, 20.0, 5.0);
    ck_assert_uint_ge(w.count, 1);
    ck_assert_str_eq(w.items[0].code, "no-response");
    ncs_warnings_free(&w);
    ncs_synth_model_destroy(m);
}
END_TEST

/* A supply's interference has odd harmonics: 150 uV of 50 Hz with the 3rd
 * and a 5th of 40 % is removed, not left as noise (review: a 5th harmonic
 * made every mains fit implausible, and the hum stayed in the trace) */
START_TEST(mains_fifth_harmonic_removed)
{
    ncs_synth_cond c = quiet_cond();
    c.mains_uv = 150;
    c.mains_h5 = 0.4;
    ncs_synth_truth t;
    ncs_synth_model_truth(model, 0, &t);
    ncs_markers mk;
    measure(an, model, 0, &c, &rng, NULL, &mk, NULL);
    ck_assert_double_eq(mk.mains_hz, 50.0);
    ck_assert_double_eq_tol(mk.mains_uv, 150.0, 15.0);
    ck_assert_double_le(mk.noise_uv, 2.0 * c.noise_uv);
    ck_assert_double_le(fabs(mk.amp_mv / t.amp_mv - 1.0), 0.01);
    ck_assert_double_le(fabs(mk.onset_ms - t.onset_ms), 0.05);
}
END_TEST

/* A made trace measured: fs_hz, stim_ms before the stimulus, n samples of
 * f(t) (t in ms from the stimulus) plus white noise of noise_mv. */
static void measure_made_site(double fs_hz, double stim_ms, size_t n, double noise_mv,
                              uint64_t seed, double (*f)(double), const ncs_site *site,
                              ncs_markers *mk);

static void measure_made(double fs_hz, double stim_ms, size_t n, double noise_mv,
                         uint64_t seed, double (*f)(double), ncs_markers *mk)
{
    ncs_site s = plain_site();
    measure_made_site(fs_hz, stim_ms, n, noise_mv, seed, f, &s, mk);
}

static void measure_made_site(double fs_hz, double stim_ms, size_t n, double noise_mv,
                              uint64_t seed, double (*f)(double), const ncs_site *site,
                              ncs_markers *mk)
{
    ncs_wave w;
    memset(&w, 0, sizeof w);
    w.fs_hz = fs_hz;
    w.stim_ms = stim_ms;
    w.n = n;
    w.rail_mv = NAN;
    w.mv = malloc(w.n * sizeof *w.mv);
    ck_assert_ptr_nonnull(w.mv);
    ncs_rng r;
    ncs_rng_seed(&r, seed);
    for (size_t i = 0; i < w.n; i++)
        w.mv[i] = f((double)i * 1000.0 / fs_hz - stim_ms) + noise_mv * ncs_rng_normal(&r);
    ncs_error err;
    ck_assert_int_eq(ncs_measure(an, &w, site, "t", mk, NULL, NULL, &err), NCS_OK);
    free(w.mv);
}

/* When the noise-free f first departs from 0 by more than level (ms after
 * the stimulus, in either direction, to 0.5 us). */
static double take_off(double (*f)(double), double level)
{
    double t = 0.0;
    while (fabs(f(t)) <= level)
        t += 0.0005;
    return t;
}

/* A gross onset error (over 0.5 ms) of draw `seed` comes with a flag. */
static void gross_flagged(const ncs_markers *mk, double truth, uint64_t seed)
{
    ck_assert_msg(fabs(mk->onset_ms - truth) <= 0.5 || (mk->flags & NCS_FLAG_UNCERTAIN),
                  "draw %d: onset %.3f +-%.3f, truth %.3f, unflagged", (int)seed, mk->onset_ms,
                  mk->u.onset_ms, truth);
}

/* The measured onset against the noise-free one of f (the first time it
 * departs from 0 by 1 % of amp, in either direction): within tol and
 * within its own interval. */
static void onset_holds(const ncs_markers *mk, double (*f)(double), double amp, double tol)
{
    double truth = take_off(f, 0.01 * amp);
    ck_assert_double_le(fabs(mk->onset_ms - truth), tol);
    ck_assert_double_le(fabs(mk->onset_ms - truth), mk->u.onset_ms);
}

/* A response whose positive lobe rises from where the artefact ends (a short
 * latency, as in real recordings with the stimulus close): kept whole, its
 * onset at the artefact's end with artefact-overlap and initial-positivity,
 * not cut to its negative phase (review: real M-wave d2-rec41) */
static double lobe_at_artefact_wave(double t)
{
    /* the artefact: a spike and a decay of 0.3 ms; a 0.6 mV lobe peaking
     * at 1.4 ms, then a 5 mV negative phase */
    return (t >= 0 ? 3.0 * exp(-t / 0.3) : 0.0) + 0.6 * exp(-0.5 * pow((t - 1.4) / 0.18, 2.0))
           - 5.0 * exp(-0.5 * pow((t - 2.1) / 0.22, 2.0));
}

START_TEST(lobe_at_artefact_end_kept)
{
    ncs_markers mk;
    measure_made(10000, 1.0, 100, 0.005, 7, lobe_at_artefact_wave, &mk);
    ck_assert_int_eq(mk.response, 1);
    ck_assert_double_le(mk.onset_ms, 1.2);
    ck_assert(mk.flags & NCS_FLAG_INITIAL_POSITIVITY);
    ck_assert(mk.flags & NCS_FLAG_ARTEFACT_OVERLAP);
}
END_TEST

/* A take-off crossed at 1 % on the smoothed trace is brought forward by the
 * smoothing (a Gaussian of 0.08 ms pulls a quadratic foot reaching 1 % in
 * 0.13 ms forward by 0.025 ms): the onset is moved back by that pull, to
 * within 0.01 ms of the noise-free crossing (review: onsets ran 0.02 ms
 * early on every family with such a foot) */
#define COS_T0 3.0   /* the half-cosine's take-off, ms */
#define COS_RISE 2.0 /* and its rise to the peak */
static double half_cosine_wave(double t)
{
    /* a 5 mV negative half-cosine over 2 rise times, then a positive phase
     * of 2 mV: its foot is quadratic */
    const double pi = acos(-1.0);
    if (t > COS_T0 && t < COS_T0 + 2.0 * COS_RISE)
        return -2.5 * (1.0 - cos(pi * (t - COS_T0) / COS_RISE));
    if (t >= COS_T0 + 2.0 * COS_RISE && t < COS_T0 + 6.0 * COS_RISE)
        return 1.0 - cos(pi * (t - COS_T0 - 2.0 * COS_RISE) / (2.0 * COS_RISE));
    return 0.0;
}

START_TEST(smoothing_pull_corrected)
{
    ncs_markers mk;
    measure_made(20000, 2.0, 600, 0.001, 11, half_cosine_wave, &mk);
    /* 1 - cos x = 0.02 at x = acos(0.98) */
    double truth = COS_T0 + acos(0.98) * COS_RISE / acos(-1.0);
    ck_assert_double_le(fabs(mk.onset_ms - truth), 0.01);
    ck_assert_double_le(fabs(mk.onset_ms - truth), mk.u.onset_ms);
}
END_TEST

/* A positive lobe of 2.5 % of the amplitude (below the 3 % that makes a
 * lobe sure by its height) rising from a flat, quiet baseline is where the
 * response begins: its take-off is the onset, with initial-positivity
 * (review: leading-positive family, onsets 1 ms late at the negative
 * take-off) */
static double small_lobe_wave(double t)
{
    return 0.15 * exp(-0.5 * pow((t - 5.0) / 0.3, 2.0))
           - 6.0 * exp(-0.5 * pow((t - 7.5) / 0.6, 2.0))
           + 2.0 * exp(-0.5 * pow((t - 10.0) / 1.2, 2.0));
}

/* the same with the stimulus artefact: 2 mV decaying in 0.2 ms */
static double small_lobe_artefact_wave(double t)
{
    return small_lobe_wave(t) + (t >= 0 ? 2.0 * exp(-t / 0.2) : 0.0);
}

START_TEST(small_lobe_from_flat_baseline)
{
    ncs_markers mk;
    measure_made(20000, 2.0, 800, 0.002, 13, small_lobe_artefact_wave, &mk);
    ck_assert(mk.flags & NCS_FLAG_INITIAL_POSITIVITY);
    onset_holds(&mk, small_lobe_wave, 6.0, 0.05);
}
END_TEST

/* An amplifier's recovery under a palm-stimulation response: after a
 * 4 mV artefact decaying in 0.1 ms, an overshoot of 0.2 mV of the other
 * sign decaying in 4 ms leaves a plateau at about 3 % of a 7 mV response
 * from the artefact's end to the take-off at 1.3 ms. The onset is the
 * take-off after the plateau, not the plateau's start 0.5-0.8 ms before it
 * (review: short-recovery family, 6-8 mV responses read 0.5-0.7 ms early
 * without a flag) */
static double plateau_response(double t)
{
    const double pi = acos(-1.0);
    if (t > 1.3 && t < 3.3)
        return -3.5 * (1.0 - cos(pi * (t - 1.3) / 1.0));
    if (t >= 3.3 && t < 7.3)
        return 1.0 - cos(pi * (t - 3.3) / 2.0);
    return 0.0;
}

static double plateau_wave(double t)
{
    if (t < 0)
        return 0.0;
    return plateau_response(t) + 4.0 * exp(-t / 0.1)
           - 0.2 * exp(-t / 4.0) * (1.0 - exp(-t / 0.05));
}

START_TEST(recovery_plateau_passed)
{
    ncs_markers mk;
    measure_made(20000, 2.0, 800, 0.003, 17, plateau_wave, &mk);
    ck_assert_int_eq(mk.response, 1);
    ck_assert_uint_eq(mk.flags & NCS_FLAG_INITIAL_POSITIVITY, 0);
    onset_holds(&mk, plateau_response, 7.0, 0.15);
}
END_TEST

/* What an amplifier's recovery leaves when the cleaning cannot follow it:
 * a 0.84 mV response at 3.3 ms after an artefact with a recovery of the
 * other sign (0.47 mV, 1.24 ms), a step of the baseline, drift and 60 Hz
 * mains (the recovery family's nerve 15 at seed 6, rebuilt here). The
 * cleaned trace runs down a straight ramp from the artefact's end to the
 * take-off, where the response breaks away from it: the onset is that
 * break, not the ramp's start (without the rule: 2.3 ms early and the
 * amplitude 28 % high, unflagged); the baseline the ramp leaves under the
 * peak makes the amplitude uncertain, and the onset's interval reaches
 * back to the ramp's start. */
START_TEST(recovery_ramp_passed)
{
    ncs_synth_nerve_params p = {.n_units = 120, .amp_mv = 0.836, .cv_m_s = 50.26, .cv_sd = 0.07,
                                .terminal_ms = 2.0, .tau_ms = 1.457,
                                .shape = NCS_SYNTH_MUAP_BIPHASIC};
    ncs_synth_model *m = ncs_synth_model_create(&p, 3, dist, NULL, 116);
    ncs_synth_cond c = quiet_cond();
    c.fs_hz = 48000;
    c.sweep_ms = 50;
    c.pre_ms = 2;
    c.noise_uv = 13.857;
    c.mains_uv = 41.2418;
    c.mains_hz = 60;
    c.dc_mv = 0.195291;
    c.drift_mv = 0.119803;
    c.artefact_mv = 1.59063;
    c.artefact_tau_ms = 0.278202;
    c.artefact_sign = -1;
    c.recovery_mv = 0.465942;
    c.recovery_tau_ms = 1.24036;
    c.step_mv = 0.0648661;
    ncs_synth_truth t;
    ncs_synth_model_truth(m, 0, &t);
    ncs_rng r;
    ncs_rng_seed(&r, 241);
    ncs_markers mk;
    measure(an, m, 0, &c, &r, NULL, &mk, NULL);
    ck_assert_int_eq(mk.response, 1);
    ck_assert_double_le(fabs(mk.onset_ms - t.onset_ms), 0.15);
    ck_assert(mk.flags & NCS_FLAG_UNCERTAIN);
    /* a few fast fibres' straight foot would look the same: the interval
     * reaches back to where the ramp began (2.3 ms before) */
    ck_assert_double_ge(mk.u.onset_ms, 2.0);
    ncs_synth_model_destroy(m);
}
END_TEST

/* Palm stimulation (a response at 1.2-1.6 ms) after an artefact whose
 * amplifier recovers through an overshoot of the other sign (0.25 mV,
 * 2.5 ms) that the gap before the response is too short to fit: the
 * cleaned trace stands on a shelf from the artefact's end to the take-off,
 * below the baseline or above it. The onset is where the trace breaks away
 * from the shelf, not where the shelf began, and the site is
 * artefact-overlap: the recovery lies under the response. Without the rule
 * the mean |error| was 0.55 ms (shelves above the baseline read as a lobe,
 * those below as the foot, 0.5-0.8 ms early) and 1 of 8 onsets lay inside
 * its interval; with it 7 of 8 are within 0.06 ms, their intervals
 * reaching back to the artefact's end (a lobe that began under the
 * artefact may show such a flat top). The eighth, a shelf
 * above the baseline at 10 kHz still curving from the overshoot's rise
 * when the response's foot begins, is not a straight run and stays read as
 * a lobe (0.6 ms early, artefact-overlap). */
START_TEST(recovery_shelf_passed)
{
    const double d3[3] = {30, 60, 100};
    double sum = 0.0;
    int held = 0;
    for (int k = 0; k < 8; k++) {
        ncs_synth_nerve_params p = {.n_units = 120, .amp_mv = 0.8 + 0.2 * k, .cv_m_s = 50,
                                    .cv_sd = 0.07, .terminal_ms = 0.8, .tau_ms = 0.9,
                                    .shape = NCS_SYNTH_MUAP_BIPHASIC};
        ncs_synth_model *m = ncs_synth_model_create(&p, 3, d3, NULL, 300 + (uint64_t)k);
        ncs_synth_cond c = quiet_cond();
        c.fs_hz = k % 2 ? 20000 : 10000;
        c.sweep_ms = 30;
        c.pre_ms = 2;
        c.noise_uv = 5;
        c.artefact_mv = 4;
        c.artefact_tau_ms = 0.15;
        c.artefact_sign = k % 4 < 2 ? 1 : -1;
        c.recovery_mv = 0.25;
        c.recovery_tau_ms = 2.5;
        ncs_synth_truth t;
        ncs_synth_model_truth(m, 0, &t);
        ncs_rng r;
        ncs_rng_seed(&r, 500 + (uint64_t)k);
        ncs_markers mk;
        measure(an, m, 0, &c, &r, NULL, &mk, NULL);
        ck_assert_int_eq(mk.response, 1);
        double e = mk.onset_ms - t.onset_ms;
        printf("recovery shelf %d: onset error %+.3f ms, +-%.3f, flags %#x\n", k, e, mk.u.onset_ms,
               mk.flags);
        held += fabs(e) <= mk.u.onset_ms;
        ck_assert(mk.flags & NCS_FLAG_ARTEFACT_OVERLAP);
        sum += fabs(e);
        ncs_synth_model_destroy(m);
    }
    ck_assert_int_ge(held, 7);
    ck_assert_double_le(sum / 8.0, 0.15);
}
END_TEST

/* A drift seen before the response only (a slow response fills the rest
 * of the sweep: no quiet tail): fitted where the quiet record before it is
 * long and carries it, not left under the response (ncs-synth CIDP elbows:
 * a 5 mV/s drift unfitted, onsets up to 1.2 ms late) */
#define DRIFT_MV_PER_MS 0.006
static double slow_response(double t)
{
    /* a 3 mV negative half-cosine from 12 ms rising over 5 ms, then a
     * positive phase that lasts to the end of the sweep */
    const double pi = acos(-1.0);
    if (t > 12.0 && t < 22.0)
        return -1.5 * (1.0 - cos(pi * (t - 12.0) / 5.0));
    if (t >= 22.0)
        return 0.6 * (1.0 - cos(pi * (t - 22.0) / 10.0));
    return 0.0;
}

static double drifting_slow_response(double t)
{
    return slow_response(t) + DRIFT_MV_PER_MS * t + (t >= 0 ? 2.0 * exp(-t / 0.25) : 0.0);
}

/* A small response whose fastest few fibres lead the rest: a straight foot
 * of 2-5 % of the amplitude over 0.3-0.5 ms ahead of a half-cosine phase
 * rising over 2 ms, in noise (15 uV) that hides it. Its onset (the 1 %
 * crossing) cannot be seen; the interval must reach back to it (the
 * hidden-foot allowance: without it these intervals held 73 of 120; the
 * families' small responses in noise held 88 %, slow feet 0.5-1.2 ms long
 * unflagged). Feet of 0.8-1.2 ms at 2-3 % (15-25 times slower than the
 * rise) are beyond it: half of those onsets are late by more than 0.5 ms,
 * a fifth of them flagged. */
#define FOOT_T0 5.0   /* the foot's take-off, ms */
#define FOOT_AMP 0.4  /* the response's amplitude, mV */
static double foot_ms, foot_top; /* the foot's length and height (share) */
static double hidden_foot_wave(double t)
{
    const double pi = acos(-1.0), top = foot_top * FOOT_AMP, t1 = FOOT_T0 + foot_ms;
    if (t <= FOOT_T0)
        return 0.0;
    if (t < t1)
        return -top * (t - FOOT_T0) / foot_ms;
    if (t < t1 + 4.0) /* the negative phase */
        return -top - 0.5 * (FOOT_AMP - top) * (1.0 - cos(pi * (t - t1) / 2.0));
    if (t < t1 + 12.0) /* a positive phase of 0.3 of the amplitude, and back */
        return -top + (top + 0.3 * FOOT_AMP) * 0.5 * (1.0 - cos(pi * (t - t1 - 4.0) / 4.0))
                          * (t < t1 + 8.0 ? 1.0 : 0.5 * (1.0 + cos(pi * (t - t1 - 8.0) / 4.0)));
    return 0.0;
}

START_TEST(hidden_foot_allowed)
{
    const double lens[2] = {0.3, 0.5}, tops[3] = {0.02, 0.03, 0.05};
    int held = 0, n = 0;
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++) {
            foot_ms = lens[a];
            foot_top = tops[b];
            double truth = FOOT_T0 + foot_ms * 0.01 / foot_top;
            for (uint64_t seed = 1; seed <= 20; seed++) {
                ncs_markers mk;
                measure_made(20000, 3.0, 800, 0.015, seed, hidden_foot_wave, &mk);
                double e = fabs(mk.onset_ms - truth);
                held += e <= mk.u.onset_ms;
                n++;
                ck_assert_msg(e <= 0.5 || (mk.flags & NCS_FLAG_UNCERTAIN),
                              "foot %.1f ms at %.0f %%, draw %d: onset %.3f, truth %.3f, "
                              "+-%.3f, unflagged", foot_ms, 100 * foot_top, (int)seed,
                              mk.onset_ms, truth, mk.u.onset_ms);
            }
        }
    /* (with it 112) */
    ck_assert_int_ge(held, 108);
    ck_assert_int_eq(n, 120);
}
END_TEST

/* A slow positive lobe (12 % of a 3 mV response, rising over 3.6 ms: 0.9 of
 * its negative phase's 4 ms rise) in the gap before the response, in a
 * 60 ms sweep with 2 ms of pre-trigger: three harmonics of mains bend to
 * it over the gap's last milliseconds, and the cleaning took it out of the
 * response (onset read at the negative take-off, 2.9 ms late at +-0.09,
 * unflagged). Its onset must be within 0.5 ms or flagged uncertain (review:
 * crafted slow lobes, mains fitted 123 uV where there is none). */
static double mains_lobe_comp(double t, double t0, double tp, double k)
{
    if (t <= t0)
        return 0.0;
    double x = (t - t0) / tp;
    return pow(x, k) * exp(k * (1.0 - x));
}

static double mains_lobe_response(double t)
{
    const double tl = 5.0, rl = 3.6, tn = tl + 0.9 * rl, rn = 4.0;
    return 0.36 * mains_lobe_comp(t, tl, rl, 2.0) - 3.0 * mains_lobe_comp(t, tn, rn, 2.0)
           + 1.05 * mains_lobe_comp(t, tn + rn, 1.5 * rn, 3.0);
}

static double mains_lobe_wave(double t)
{
    return mains_lobe_response(t) + 0.2 + (t >= 0 ? 3.0 * exp(-t / 0.35) : 0.0);
}

START_TEST(slow_lobe_not_mains)
{
    double truth = take_off(mains_lobe_response, 0.03);
    for (uint64_t seed = 1; seed <= 4; seed++) {
        ncs_markers mk;
        measure_made(20000, 2.0, 1200, 0.010, seed, mains_lobe_wave, &mk);
        ck_assert_int_eq(mk.response, 1);
        gross_flagged(&mk, truth, seed);
    }
}
END_TEST

/* Onsets left where the level clear of the noise is crossed (too few
 * samples above it to carry a line back: a coarse rate, a steep edge): at
 * 5 kHz in 20 uV of noise, a 1 mV phase with a quadratic foot (a
 * half-cosine rising over 2 ms) and one that rises as a straight ramp over
 * 1 ms (a corner, the steepest take-off). The 1 % take-off lies between the
 * crossing and where a quadratic foot meeting the edge's slope would cross
 * 1 %: the onset is put midway, its interval reaching both. Left at the
 * crossing, the half-cosine's onset was 0.114 ms late on average (0.127
 * mean |error|, intervals +-0.72 ms; now +0.034, 0.070, +-0.65); the ramp's
 * must not be pushed before its corner for it (+0.019 before, -0.013 now,
 * +-0.43 and +-0.40). All held their intervals, before and now. */
#define COARSE_T0 5.0
static double coarse_cosine(double t)
{
    const double pi = acos(-1.0);
    if (t <= COARSE_T0)
        return 0.0;
    if (t < COARSE_T0 + 4.0)
        return -0.5 * (1.0 - cos(pi * (t - COARSE_T0) / 2.0));
    if (t < COARSE_T0 + 12.0)
        return 0.15 * (1.0 - cos(pi * (t - COARSE_T0 - 4.0) / 4.0));
    return 0.0;
}

static double coarse_ramp(double t)
{
    if (t <= COARSE_T0)
        return 0.0;
    if (t < COARSE_T0 + 1.0)
        return -(t - COARSE_T0);
    if (t < COARSE_T0 + 4.0)
        return -1.0 + 1.3 * (t - COARSE_T0 - 1.0) / 3.0;
    if (t < COARSE_T0 + 10.0)
        return 0.3 * (1.0 - (t - COARSE_T0 - 4.0) / 6.0);
    return 0.0;
}

static void coarse_draws(double (*f)(double), double *mean, double *mean_abs, double *mean_u,
                         int *held)
{
    double truth = take_off(f, 0.01);
    *mean = *mean_abs = *mean_u = 0.0;
    *held = 0;
    for (uint64_t seed = 1; seed <= 40; seed++) {
        ncs_markers mk;
        measure_made(5000, 2.0, 150, 0.020, seed, f, &mk);
        double e = mk.onset_ms - truth;
        *mean += e / 40;
        *mean_abs += fabs(e) / 40;
        *mean_u += mk.u.onset_ms / 40;
        *held += fabs(e) <= mk.u.onset_ms;
        gross_flagged(&mk, truth, seed);
    }
}

START_TEST(crossing_left_midway)
{
    double mean, mean_abs, mean_u;
    int held;
    coarse_draws(coarse_cosine, &mean, &mean_abs, &mean_u, &held);
    printf("half-cosine: mean error %+.3f, mean |error| %.3f, mean interval %.3f, %d of 40 "
           "held\n", mean, mean_abs, mean_u, held);
    ck_assert_msg(mean_abs <= 0.10, "half-cosine: mean |error| %.3f (mean %+.3f)", mean_abs, mean);
    ck_assert_msg(mean_u <= 0.70, "half-cosine: mean interval %.3f", mean_u);
    ck_assert_int_ge(held, 36);
    coarse_draws(coarse_ramp, &mean, &mean_abs, &mean_u, &held);
    printf("ramp: mean error %+.3f, mean |error| %.3f, mean interval %.3f, %d of 40 held\n", mean,
           mean_abs, mean_u, held);
    ck_assert_msg(mean > -0.05, "ramp: mean error %+.3f", mean);
    ck_assert_int_ge(held, 36);
}
END_TEST

START_TEST(drift_before_the_response_only)
{
    ncs_markers mk;
    measure_made(20000, 5.0, 700, 0.005, 17, drifting_slow_response, &mk);
    /* (without the drift: onset 0.09 ms late, amplitude 4 % low) */
    onset_holds(&mk, slow_response, 3.0, 0.05);
    ck_assert_double_le(fabs(mk.amp_mv / 3.0 - 1.0), 0.02);
}
END_TEST

START_TEST(truncated_is_null)
{
    ncs_synth_cond c = quiet_cond();
    ncs_synth_truth t;
    ncs_synth_model_truth(model, 0, &t);
    /* the record ends after the negative peak, before the phase's end */
    c.sweep_ms = c.pre_ms + 0.5 * (t.peak_ms + t.onset_ms + t.dur_ms);
    ncs_markers mk;
    measure(an, model, 0, &c, &rng, NULL, &mk, NULL);
    ck_assert_int_eq(mk.response, 1);
    ck_assert(mk.flags & NCS_FLAG_TRUNCATED);
    ck_assert(isnan(mk.neg_dur_ms) && isnan(mk.neg_area_mvms) && isnan(mk.end_ms));
    ck_assert_double_eq_tol(mk.onset_ms, t.onset_ms, 0.1);
}
END_TEST

START_TEST(clipped_amplitude_refused)
{
    ncs_synth_cond c = quiet_cond();
    c.clip_mv = 3.0; /* a 6 mV response */
    ncs_markers mk;
    measure(an, model, 0, &c, &rng, NULL, &mk, NULL);
    ck_assert(mk.flags & NCS_FLAG_CLIPPED);
    ck_assert(isnan(mk.amp_mv) && isnan(mk.neg_area_mvms));
    ck_assert(isfinite(mk.onset_ms));
}
END_TEST

START_TEST(manual_markers_replace)
{
    ncs_synth_cond c = quiet_cond();
    ncs_site s = plain_site();
    s.onset_ms = 3.5;
    s.end_ms = 9.0;
    ncs_markers mk;
    measure(an, model, 0, &c, &rng, &s, &mk, NULL);
    ck_assert(mk.manual_onset && mk.manual_end && !mk.manual_peak);
    ck_assert_double_eq_tol(mk.onset_ms, 3.5, 1e-9);
    ck_assert_double_eq_tol(mk.end_ms, 9.0, 1e-9);
    ck_assert_double_eq_tol(mk.neg_dur_ms, 5.5, 1e-9);
}
END_TEST

/* A peak placed by hand on a sharp (0.5 ms) negative peak reads the depth
 * of the trace itself there, within 1 % (review: it read the 0.08 ms
 * smoothing's, 6 % short on a real M-wave) */
static double sharp_peak_wave(double t)
{
    double u = (t - 4.0) / 0.25;
    return -5.0 * exp(-0.5 * u * u);
}

START_TEST(manual_peak_reads_the_trace)
{
    ncs_site s = plain_site();
    s.peak_ms = 4.0;
    ncs_markers mk;
    measure_made_site(10000, 2.0, 300, 0.002, 11, sharp_peak_wave, &s, &mk);
    ck_assert(mk.manual_peak);
    ck_assert_double_eq_tol(mk.peak_ms, 4.0, 1e-9);
    ck_assert_double_le(fabs(mk.amp_mv - 5.0), 0.01 * 5.0);
    ck_assert_double_le(fabs(mk.amp_mv - 5.0), mk.u.amp_mv);
}
END_TEST

START_TEST(hostile_still_found)
{
    /* 50 uV noise, 250 uV mains, 15 mV artefact: every response reported,
     * nothing turned into a number that is not one */
    ncs_rng r;
    ncs_rng_seed(&r, 77);
    int found = 0, total = 0;
    for (int k = 0; k < 12; k++) {
        ncs_synth_nerve_params p = params(2.0 + 8.0 * ncs_rng_uniform(&r));
        ncs_synth_model *m = ncs_synth_model_create(&p, 3, dist, NULL, (uint64_t)k + 100);
        ncs_synth_cond c;
        ncs_synth_random_cond(&r, 2.0, 45.0, &c);
        for (size_t s = 0; s < 3; s++) {
            ncs_markers mk;
            measure(an, m, s, &c, &r, NULL, &mk, NULL);
            total++;
            found += mk.response;
            if (mk.response) {
                ncs_synth_truth t;
                ncs_synth_model_truth(m, s, &t);
                ck_assert(isfinite(mk.onset_ms) || (mk.flags != 0));
                if (isfinite(mk.amp_mv))
                    ck_assert_msg(fabs(mk.amp_mv / t.amp_mv - 1) < 0.25,
                                  "amp %g truth %g", mk.amp_mv, t.amp_mv);
            }
        }
        ncs_synth_model_destroy(m);
    }
    ck_assert_int_eq(found, total);
}
END_TEST

START_TEST(inverted_trace_flagged)
{
    /* a trace stored upside down: its dominant first phase is positive;
     * the same trace the right way up is not flagged */
    ncs_rng r;
    ncs_rng_seed(&r, 91);
    for (int k = 0; k < 20; k++) {
        ncs_synth_nerve_params p = params(1.0 + 9.0 * ncs_rng_uniform(&r));
        ncs_synth_model *m = ncs_synth_model_create(&p, 3, dist, NULL, (uint64_t)k + 300);
        ncs_synth_cond c;
        ncs_synth_random_cond(&r, ncs_rng_uniform(&r), 45.0, &c);
        size_t s = (size_t)k % 3;
        for (int inv = 0; inv < 2; inv++) {
            ncs_wave w;
            memset(&w, 0, sizeof w);
            w.fs_hz = c.fs_hz;
            w.n = (size_t)floor(c.fs_hz * c.sweep_ms / 1000.0 + 0.5);
            w.mv = malloc(w.n * sizeof *w.mv);
            w.stim_ms = c.pre_ms;
            w.rail_mv = NAN;
            ncs_rng rr = r;
            ncs_synth_render(m, s, &c, &rr, w.mv, w.n);
            if (inv)
                for (size_t i = 0; i < w.n; i++)
                    w.mv[i] = -w.mv[i];
            ncs_site site = plain_site();
            ncs_markers mk;
            ncs_error e;
            ck_assert_int_eq(ncs_measure(an, &w, &site, "t", &mk, NULL, NULL, &e), NCS_OK);
            ck_assert_msg(!!(mk.flags & NCS_FLAG_INVERTED_SUSPECTED) == inv,
                          "case %d inverted %d: flags 0x%x", k, inv, mk.flags);
            free(w.mv);
        }
        ncs_synth_model_destroy(m);
    }
}
END_TEST

/* ---- segments (docs/measurements.md) --------------------------------------------------- */

#define mk_at tu_response

/* lib/linalg.c (internal): the background's normal equations are solved
 * by Cholesky; it must agree with the pivoting solver and refuse what is
 * not positive definite. */
int ncs_solve(double *a, int lda, double *b, int k);
int ncs_solve_spd(double *a, int lda, double *b, int k);

START_TEST(spd_solver)
{
    enum { K = 9, N = 40 };
    double X[N][K], A[K][K], A2[K][K], b[K], b2[K];
    unsigned s = 12345;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < K; j++) {
            s = s * 1103515245u + 12345u;
            X[i][j] = (double)(s >> 8) / 16777216.0 - 0.5 + (j == 0);
        }
    for (int r = 0; r < K; r++) {
        b[r] = 0.3 * r - 1.0;
        for (int c = 0; c < K; c++) {
            A[r][c] = 0.0;
            for (int i = 0; i < N; i++)
                A[r][c] += X[i][r] * X[i][c];
        }
    }
    memcpy(A2, A, sizeof A);
    memcpy(b2, b, sizeof b);
    /* only the lower triangle is read */
    for (int r = 0; r < K; r++)
        for (int c = r + 1; c < K; c++)
            A[r][c] = NAN;
    ck_assert_int_eq(ncs_solve_spd(&A[0][0], K, b, K), 0);
    ck_assert_int_eq(ncs_solve(&A2[0][0], K, b2, K), 0);
    for (int r = 0; r < K; r++)
        ck_assert_double_eq_tol(b[r], b2[r], 1e-9 * (1.0 + fabs(b2[r])));
    /* a repeated column: singular */
    double S[3][3] = {{1, 1, 2}, {1, 1, 2}, {2, 2, 5}}, v[3] = {1, 2, 3};
    ck_assert_int_eq(ncs_solve_spd(&S[0][0], 3, v, 3), -1);
    /* indefinite */
    double I[2][2] = {{1, 0}, {3, 1}}, w[2] = {1, 1};
    ck_assert_int_eq(ncs_solve_spd(&I[0][0], 2, w, 2), -1);
}
END_TEST

START_TEST(segment_fields)
{
    ncs_markers d = mk_at(3.0, 8.0, 20.0, 5.0), p = mk_at(7.0, 6.0, 10.0, 6.0);
    ncs_segment g;
    ncs_warnings w = {0};
    ncs_segment_compute(&d, &p, "wrist", "elbow", 230, "s", &g, &w);
    ck_assert_double_eq_tol(g.cv_m_s, 57.5, 1e-9);
    ck_assert_double_eq_tol(g.amp_drop_pct, 25.0, 1e-9);
    ck_assert_double_eq_tol(g.area_drop_pct, 50.0, 1e-9);
    ck_assert_double_eq_tol(g.dur_increase_pct, 20.0, 1e-9);
    ck_assert(!g.inching && isnan(g.latency_ms_per_cm));
    ck_assert_uint_eq(w.count, 0);

    /* inching step of 20 mm */
    p = mk_at(3.4, 7.2, 18.0, 5.0);
    ncs_segment_compute(&d, &p, "a", "b", 20, "s", &g, &w);
    ck_assert(g.inching);
    ck_assert_double_eq_tol(g.latency_ms_per_cm, 0.2, 1e-9);
    ck_assert_double_eq_tol(g.amp_drop_pct_per_cm, 5.0, 1e-9);

    /* non-physiological order: CV null with a warning, drops still there */
    p = mk_at(2.5, 7.0, 18.0, 5.0);
    ncs_segment_compute(&d, &p, "wrist", "elbow", 230, "s", &g, &w);
    ck_assert(isnan(g.cv_m_s));
    ck_assert_uint_eq(w.count, 1);
    ck_assert_str_eq(w.items[0].code, "latency-order");
    ck_assert_double_eq_tol(g.amp_drop_pct, 12.5, 1e-9);

    /* absent proximal response: a complete drop, no CV */
    ncs_markers none;
    memset(&none, 0, sizeof none);
    none.onset_ms = none.amp_mv = none.neg_area_mvms = none.neg_dur_ms = NAN;
    ncs_segment_compute(&d, &none, "wrist", "elbow", 230, "s", &g, &w);
    ck_assert(isnan(g.cv_m_s) && isnan(g.dur_increase_pct));
    ck_assert_double_eq_tol(g.area_drop_pct, 100.0, 1e-9);
    ncs_warnings_free(&w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("measure");
    TCase *acc = tcase_create("accuracy");
    tcase_set_timeout(acc, 120);
    tcase_add_test(acc, accuracy_spec_8_1);
    suite_add_tcase(s, acc);
    TCase *t = tcase_create("cases");
    tcase_set_timeout(t, 60);
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, no_response_is_null);
    tcase_add_test(t, truncated_is_null);
    tcase_add_test(t, mains_fifth_harmonic_removed);
    tcase_add_test(t, lobe_at_artefact_end_kept);
    tcase_add_test(t, smoothing_pull_corrected);
    tcase_add_test(t, small_lobe_from_flat_baseline);
    tcase_add_test(t, slow_lobe_not_mains);
    tcase_add_test(t, crossing_left_midway);
    tcase_add_test(t, recovery_plateau_passed);
    tcase_add_test(t, recovery_ramp_passed);
    tcase_add_test(t, recovery_shelf_passed);
    tcase_add_test(t, drift_before_the_response_only);
    tcase_add_test(t, hidden_foot_allowed);
    tcase_add_test(t, clipped_amplitude_refused);
    tcase_add_test(t, manual_markers_replace);
    tcase_add_test(t, manual_peak_reads_the_trace);
    tcase_add_test(t, hostile_still_found);
    tcase_add_test(t, spd_solver);
    tcase_add_test(t, inverted_trace_flagged);
    tcase_add_test(t, segment_fields);
    suite_add_tcase(s, t);
    return s;
}

TU_RUN(suite)
