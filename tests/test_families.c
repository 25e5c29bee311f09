/* test_families.c — the accuracy targets held on waveform families beyond
 * the one the measurement was first tuned on: other motor-unit potential
 * shapes (a leading positive lobe, symmetric phases, a quartic take-off),
 * split and strongly dispersed responses, short distal latencies, records
 * without a pre-trigger, amplifier-recovery artefacts with a step of the
 * baseline, low sample rates, and three combinations of these (a short
 * latency with a recovery artefact, a leading lobe under strong dispersion,
 * symmetric phases at short latencies without a pre-trigger) and a mixed
 * family whose nerves draw all of these traits at random. Each family:
 * 30 nerves of 3 sites at recording conditions drawn up to the targets'
 * worst. NCS_FAMILY_SEED=<n> draws other nerves than the asserted ones
 * (4242): a look at families beyond them, where the known-open lists need
 * not hold.
 *
 * Families are marked `tuned` (looked at while the measurement was
 * developed) or held out (written and asserted without tuning on them).
 * On a failure the trace with the largest error of the failing measure is
 * written to $TMPDIR/ncs-family-<family>.dat with a gnuplot script beside
 * it (raw trace, cleaned trace, true and measured onset and peak);
 * NCS_FAMILY_TRACE=<family>:<nerve>:<site> writes any one trace so. */
#include "accuracy.h"
#include "ncs_synth.h"
#include "testutil.h"

typedef struct {
    const char *name;
    int tuned;
    const char *open;       /* the targets known to be missed today, as
                               "measure>" (responses >= 2 mV) or "measure<"
                               (smaller ones), e.g. "onset< dlat>": the test
                               asserts exactly these are missed and every
                               other target met, so the list cannot outlive
                               a fix nor hide a new failure */
    const char *why;        /* what is known of the cause */
    ncs_synth_muap shape;
    double lead_pos;        /* LEADING_POS lobe, fraction */
    double split;           /* fraction of units split off in segment 2 */
    double dispersion;      /* extra CV spread in segments 1 and 2 */
    double cv_sd;           /* 0: 0.07 */
    int short_latency;      /* palm stimulation: 1-2 ms distal latency */
    int no_pretrigger;
    int recovery;           /* amplifier recovery and a baseline step */
    double rate_hz;         /* 0: the targets' rates */
    int mixed;              /* each nerve draws its own shape, lobe, split,
                               dispersion, latency, pre-trigger and recovery
                               (the fields above unused) */
} family;

static const family families[] = {
    {"biphasic", 1, "flagged",
     "small responses in noise flagged uncertain: below 3 SDs of the noise a foot rising "
     "at a third of the phase's mean rate may hide (the hidden-foot allowance that catches "
     "the slow feet of dispersed and Gaussian-tailed responses); 5 of 90 (2 before it)",
     NCS_SYNTH_MUAP_BIPHASIC, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"split", 1, "flagged",
     "the split proximal components are small: the hidden-foot allowance flags them "
     "uncertain in noise (7 of 90; 4 before it)",
     NCS_SYNTH_MUAP_BIPHASIC, 0, 0.45, 0, 0, 0, 0, 0, 0, 0},
    {"no-pretrigger", 1, "flagged", "10 of 90 flagged uncertain (7 before the hidden-foot allowance)",
     NCS_SYNTH_MUAP_BIPHASIC, 0, 0, 0, 0, 0, 1, 0, 0, 0},
    {"recovery", 1,
     "onset< amp< area< dur< dlat> cov-amp cov-area unflagged flagged",
     "the recovery term (an exponential, its time constant refined) follows the overshoot "
     "well where the gap before the response shows it; small responses soon after the "
     "artefact keep what drift and mains made of a misfit under them (1 of 5 gross errors "
     "unflagged: the recovery's residual ramp read as a 1.2 mV response's foot, its onset "
     "0.7 ms early), 14 % flagged", NCS_SYNTH_MUAP_BIPHASIC, 0, 0, 0, 0, 0, 0, 1, 0, 0},
    {"short-latency", 1, "flagged",
     "10 of 90 flagged (artefact-overlap at 1 ms latencies, uncertain)",
     NCS_SYNTH_MUAP_BIPHASIC, 0, 0, 0, 0, 1, 0, 0, 0, 0},
    {"leading-positive", 1,
     "onset> onset< area< dur< dlat> flagged",
     "small responses' lobes in noise: their take-off is found 0.3-1.4 ms late (a "
     "dispersed lobe's foot is not quadratic; in noise it is found on a late step of its "
     "rise; lobes of 1-3 % of a small response too near the noise to be told from it stay "
     "at the negative take-off, flagged). A lobe rising in under 0.3 of its negative "
     "phase's rise has its interval reach back to a usual lobe's take-off (looked at for "
     "that rule: no longer held out); 0 of 7 gross errors unflagged here, 1 of 61 over "
     "seeds 1-8 (7 before the hidden-foot allowance); 32 % flagged (31 before the slow-lobe "
     "reach of short-recovery)",
     NCS_SYNTH_MUAP_LEADING_POS, 0.2, 0, 0, 0, 0, 0, 0, 0, 0},
    {"gauss-deriv", 0, "onset> dlat> flagged",
     "a take-off that is not quadratic: the extrapolation to 1 % is biased; onset intervals "
     "wide enough to flag 14 % (with the hidden-foot allowance)",
     NCS_SYNTH_MUAP_GAUSS_DERIV, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"quartic", 0, "dlat> flagged",
     "a quartic take-off: the extrapolation to 1 % assumes a quadratic one (one onset 3 ms "
     "early on a 0.5 mV response, flagged); 10 of 90 flagged (6 before the hidden-foot allowance)",
     NCS_SYNTH_MUAP_QUARTIC, 0, 0, 0, 0, 0, 0, 0, 0, 0},
    {"dispersed", 0, "dlat> flagged",
     "a slow dispersed foot: latency differences at the target's edge (0.100 ms); the "
     "foot below the noise: 19 of 90 flagged uncertain (7 before the hidden-foot allowance)",
     NCS_SYNTH_MUAP_BIPHASIC, 0, 0, 0.25, 0.12, 0, 0, 0, 0, 0},
    /* combinations, held out: what a clinic meets as well */
    {"short-recovery", 1,
     "onset< amp> amp< area> area< dur< dlat> cov-amp cov-area cov-dur cov-drop flagged",
     "palm stimulation (1-2 ms latencies) with an amplifier's recovery: the response begins "
     "on the recovery's overshoot, which the gap before it is too short to fit. A hump or a "
     "plateau the overshoot leaves as the artefact ends is passed (past_recovery_hump; looked "
     "at for that: no longer held out): 24 of 90 gross errors (was 32), onsets of 2 mV or "
     "more p95 0.51 ms (was 1.04); what remains is the recovery's misfit read as a slow "
     "lobe or merging into the take-off, most flagged artefact-overlap, intervals holding "
     "62-94 %. A slow lobe (rising in over half its negative phase's rise) has its interval "
     "reach the negative take-off (looked at for that: 1 gross error here and 4 over seeds "
     "1-8, such lobes 0.9-1.7 ms early, were unflagged before it). A shelf the overshoot "
     "leaves from the artefact's end, above or below the baseline, is passed too "
     "(past_recovery_shelf; looked at for that: no longer held out): onsets of 2 mV or more "
     "p95 0.08 ms, onset intervals holding 91 %; over seeds 1-8 gross errors 170 -> 117", NCS_SYNTH_MUAP_BIPHASIC, 0, 0, 0, 0, 1, 0,
     1, 0, 0},
    {"lead-dispersed", 1,
     "onset> onset< dur> dur< dlat> flagged",
     "a 10 % leading lobe under strong dispersion: at the proximal sites the units' lobes and "
     "negative phases cancel down to a lobe of 1-2 % of the amplitude, which the cleaning's "
     "residue (mains left under a short pre-trigger) hides; the onset is then the negative "
     "take-off, 0.5-1 ms late. A site proximal to one with the lobe, or with a bump that may "
     "be one when the response lost a quarter of its amplitude on the way (looked at for "
     "that rule: no longer held out), is flagged for it (ncs_hidden_lobes: 68 % flagged); "
     "the distal 0.5 mV response whose lobe was not seen, unflagged before, is now "
     "uncertain by the hidden-foot allowance",
     NCS_SYNTH_MUAP_LEADING_POS, 0.1, 0, 0.25, 0.12, 0, 0, 0, 0, 0},
    {"gauss-short-nopre", 0, "flagged",
     "symmetric phases at 1-2 ms latencies without a pre-trigger: the baseline is known only "
     "from the tail and the short gap (its drift from the tail: onset 0.20 -> 0.04 ms, "
     "latency difference 0.49 -> 0.07 ms); 7 of 90 flagged, no gross error",
     NCS_SYNTH_MUAP_GAUSS_DERIV, 0, 0, 0, 0, 1, 1, 0, 0, 0},
    {"mixed", 0, "onset< amp< area< dur< dlat> flagged",
     "each nerve draws the traits above (shape, lobe, split, dispersion, short latency, no "
     "pre-trigger, recovery): the small responses with a recovery under dispersion or at "
     "short latencies carry the errors (8 gross, all flagged; 13 % flagged); with other "
     "seeds (NCS_FAMILY_SEED) 0-1 of 90 gross errors are left unflagged (0-3 before the "
     "hidden-foot allowance) (one trace of seed 3, "
     "a recovery's ramp, was looked at for the ramp rule of past_recovery_hump)",
     NCS_SYNTH_MUAP_BIPHASIC, 0, 0, 0, 0, 0, 0, 0, 0, 1},
    {"low-rate", 1, "onset< flagged",
     "small responses at 5 kHz (below SPEC 8.1's rates; looked at when the onset's noise "
     "level was set: no longer held out)", NCS_SYNTH_MUAP_BIPHASIC, 0, 0, 0, 0, 0, 0, 0, 5000, 0},
};
#define N_FAMILIES (sizeof families / sizeof families[0])

enum { NERVES = 30, SITES = 3 };

/* The worst trace of one measure, kept to be written out on a failure. */
typedef struct {
    double err;
    uint64_t seed;
    int nerve;
    size_t site;
} worst;

typedef struct {
    double err[2][E__N][NERVES * SITES];
    size_t cnt[2][E__N];
    worst w[E__N];
    size_t missed;
    /* honesty: traces, those flagged as doubtful or unmeasured, gross
     * errors and those of them without such a flag */
    size_t traces, doubtful, gross, gross_unflagged;
    /* coverage of the 95 % intervals: inside, total (onset, amp, area, dur;
     * the segments' CV and area drop) */
    size_t cov_in[6], cov_n[6];
} tally;

/* Flags that say nothing about doubt (as the bench's score does). */
static const unsigned not_doubt = NCS_FLAG_LOW_RATE | NCS_FLAG_EXCLUDED
                                  | NCS_FLAG_INITIAL_POSITIVITY | NCS_FLAG_POLYPHASIC;

/* Honesty and coverage of one measured trace against its truth (SPEC 8.1:
 * gross = onset off by > 0.5 ms, amplitude > 10 %, area > 15 %, duration
 * > 1 ms). */
static void honesty(tally *t, const ncs_markers *mk, const ncs_synth_truth *tr, FILE *dump,
                    const char *fam, int k, size_t s)
{
    t->traces++;
    int doubt = (mk->flags & ~not_doubt) != 0 || !isfinite(mk->onset_ms)
                || !isfinite(mk->amp_mv) || !isfinite(mk->neg_area_mvms)
                || !isfinite(mk->neg_dur_ms);
    t->doubtful += doubt;
    const double v[4] = {mk->onset_ms, mk->amp_mv, mk->neg_area_mvms, mk->neg_dur_ms};
    const double tv[4] = {tr->onset_ms, tr->amp_mv, tr->area_mvms, tr->dur_ms};
    const double h[4] = {mk->u.onset_ms, mk->u.amp_mv, mk->u.neg_area_mvms, mk->u.neg_dur_ms};
    int gross = 0;
    for (int i = 0; i < 4; i++) {
        if (!isfinite(v[i]))
            continue;
        double e = v[i] - tv[i];
        gross |= i == 0 ? fabs(e) > 0.5 : i == 1 ? fabs(e) > 0.10 * tv[i]
                 : i == 2 ? fabs(e) > 0.15 * tv[i] : fabs(e) > 1.0;
        if (isfinite(h[i])) {
            t->cov_n[i]++;
            t->cov_in[i] += fabs(e) <= h[i];
        }
    }
    t->gross += gross;
    t->gross_unflagged += gross && (mk->flags & ~not_doubt) == 0;
    if (dump)
        fprintf(dump, "%s %d %zu %.4f %.3f %.5f %.5f %.5f %.5f %.5f %.5f %.5f %.5f %.5f %.5f "
                      "%.5f %.5f %u %.5f %.5f\n", fam, k, s, tr->amp_mv, mk->noise_uv,
                mk->onset_ms - tr->onset_ms, h[0], mk->amp_mv - tr->amp_mv, h[1],
                mk->neg_area_mvms - tr->area_mvms, h[2], mk->neg_dur_ms - tr->dur_ms, h[3],
                tr->amp_mv, tr->area_mvms, tr->dur_ms, tr->onset_ms, mk->flags, mk->onset_ms,
                mk->amp_mv);
}

static ncs_site plain_site(void)
{
    ncs_site s;
    memset(&s, 0, sizeof s);
    s.name = s.file = s.path = "x";
    s.channel = 1;
    s.scale_mv = s.rate_hz = NAN;
    s.onset_ms = s.peak_ms = s.end_ms = NAN;
    s.entrapment = -1;
    return s;
}

/* The seed of the families' draws: 4242, the one the known-open lists
 * are asserted for; NCS_FAMILY_SEED draws others, to look beyond them
 * (the lists then need not hold). */
static uint64_t family_seed(void)
{
    const char *e = getenv("NCS_FAMILY_SEED");
    return e && *e ? strtoull(e, NULL, 10) : 4242;
}

/* A mixed family's nerve: each of the single families' traits drawn, as
 * a clinic meets them together. */
static family mixed_draw(const family *f, ncs_rng *r)
{
    family g = *f;
    g.shape = (ncs_synth_muap)(ncs_rng_uniform(r) * 4.0);
    if (g.shape > NCS_SYNTH_MUAP_QUARTIC)
        g.shape = NCS_SYNTH_MUAP_QUARTIC;
    g.lead_pos = g.shape == NCS_SYNTH_MUAP_LEADING_POS ? 0.05 + 0.2 * ncs_rng_uniform(r) : 0;
    g.split = ncs_rng_uniform(r) < 0.2 ? 0.3 + 0.2 * ncs_rng_uniform(r) : 0;
    g.dispersion = ncs_rng_uniform(r) < 0.25 ? 0.1 + 0.15 * ncs_rng_uniform(r) : 0;
    g.cv_sd = g.dispersion > 0 ? 0.12 : 0;
    g.short_latency = ncs_rng_uniform(r) < 0.15;
    g.no_pretrigger = ncs_rng_uniform(r) < 0.25;
    g.recovery = ncs_rng_uniform(r) < 0.25;
    return g;
}

/* Nerve k of family f: its model, distances and recording conditions. */
static ncs_synth_model *family_nerve(const family *f, int k, ncs_rng *r, double dist[SITES],
                                     ncs_synth_cond *c)
{
    family g;
    if (f->mixed) {
        g = mixed_draw(f, r);
        f = &g;
    }
    /* half the nerves small (0.5-2 mV), half large (2-12 mV): both classes
     * of the targets get enough traces for a 95th percentile */
    double amp = k % 2 ? 0.5 + 1.5 * ncs_rng_uniform(r) : 2.0 + 10.0 * ncs_rng_uniform(r);
    ncs_synth_nerve_params p = {.n_units = 120, .amp_mv = amp,
                                .cv_m_s = 45 + 15 * ncs_rng_uniform(r),
                                .cv_sd = f->cv_sd > 0 ? f->cv_sd : 0.07,
                                .terminal_ms = 2.0, .tau_ms = 1.2 + 0.6 * ncs_rng_uniform(r),
                                .shape = f->shape, .lead_pos = f->lead_pos};
    dist[0] = 70;
    dist[1] = 230;
    dist[2] = 120;
    if (f->short_latency) {
        dist[0] = 20 + 20 * ncs_rng_uniform(r);
        dist[1] = 50 + 20 * ncs_rng_uniform(r);
        p.terminal_ms = 0.6 + 0.4 * ncs_rng_uniform(r);
        p.tau_ms = 0.7 + 0.4 * ncs_rng_uniform(r);
    }
    ncs_synth_lesion les[SITES];
    memset(les, 0, sizeof les);
    if (k % 3 == 1)
        les[2].block = 0.3 + 0.4 * ncs_rng_uniform(r);
    les[2].split = f->split;
    les[2].split_slowing = 0.5 + 0.1 * ncs_rng_uniform(r);
    les[1].dispersion = les[2].dispersion = f->dispersion;
    ncs_synth_model *m = ncs_synth_model_create(&p, SITES, dist, les, (uint64_t)k + 101);
    ncs_synth_random_cond(r, ncs_rng_uniform(r), 50.0, c);
    if (f->no_pretrigger)
        c->pre_ms = 0;
    if (f->rate_hz > 0)
        c->fs_hz = f->rate_hz;
    if (f->recovery) {
        c->artefact_mv = 1.0 + 5.0 * ncs_rng_uniform(r);
        c->artefact_tau_ms = 0.1 + 0.2 * ncs_rng_uniform(r);
        c->recovery_mv = 0.1 + 0.4 * ncs_rng_uniform(r);
        c->recovery_tau_ms = 1.0 + 2.0 * ncs_rng_uniform(r);
        c->step_mv = (2.0 * ncs_rng_uniform(r) - 1.0) * 0.08;
    }
    return m;
}

/* Renders and measures one site; the cleaned trace into clean (n samples)
 * when not NULL. Returns the rendered wave (the caller frees w->mv). */
static void render_measure(ncs_analyser *a, const ncs_synth_model *m, size_t s,
                           const ncs_synth_cond *c, uint64_t seed, ncs_wave *w,
                           ncs_markers *mk, double **clean)
{
    memset(w, 0, sizeof *w);
    w->fs_hz = c->fs_hz;
    w->n = (size_t)floor(c->fs_hz * c->sweep_ms / 1000.0 + 0.5);
    w->mv = malloc(w->n * sizeof *w->mv);
    w->stim_ms = c->pre_ms;
    w->rail_mv = NAN;
    ncs_rng noise;
    ncs_rng_seed(&noise, seed);
    ncs_synth_render(m, s, c, &noise, w->mv, w->n);
    if (clean)
        *clean = malloc(w->n * sizeof **clean);
    ncs_site site = plain_site();
    ncs_error err;
    ck_assert_int_eq(ncs_measure(a, w, &site, "t", mk, clean ? *clean : NULL, NULL, &err),
                     NCS_OK);
}

/* The nerve's sites measured as a study's are (lib/analyse.c): each on its
 * own, then those that took the other mains frequency than the nerve's
 * traces together show measured again with it; then a lobe one site shows
 * looked for in the others (ncs_hidden_lobes). */
static void measure_nerve(ncs_analyser *a, const ncs_synth_model *m, const ncs_synth_cond *c,
                          int k, ncs_markers mk[SITES])
{
    ncs_wave w;
    for (size_t s = 0; s < SITES; s++) {
        render_measure(a, m, s, c, (uint64_t)k * 16 + s + 1, &w, &mk[s], NULL);
        free(w.mv);
    }
    double hz = ncs_mains_vote(mk, SITES);
    ncs_analyser_force_mains(a, hz);
    for (size_t s = 0; s < SITES; s++)
        if (hz > 0 && mk[s].mains_hz > 0 && mk[s].mains_hz != hz) {
            render_measure(a, m, s, c, (uint64_t)k * 16 + s + 1, &w, &mk[s], NULL);
            free(w.mv);
        }
    ncs_analyser_force_mains(a, 0.0);
    size_t ref[SITES];
    ncs_hidden_lobes(mk, SITES, ref, NULL);
}

static void note_worst(tally *t, int e, double v, uint64_t seed, int k, size_t s)
{
    if (fabs(v) > t->w[e].err) {
        t->w[e].err = fabs(v);
        t->w[e].seed = seed;
        t->w[e].nerve = k;
        t->w[e].site = s;
    }
}

static void add(tally *t, int big, int e, double v, uint64_t seed, int k, size_t s)
{
    t->err[big][e][t->cnt[big][e]++] = fabs(v);
    note_worst(t, e, v, seed, k, s);
}

/* The coverage of the segments' CV and area-drop intervals, against the
 * noise-free truth's. */
static void segment_coverage(tally *t, const ncs_markers mk[SITES],
                             const ncs_synth_truth tr[SITES], const double dist[SITES])
{
    for (size_t s = 1; s < SITES; s++) {
        if (!tr[s - 1].response || !tr[s].response || !mk[s - 1].response || !mk[s].response)
            continue;
        ncs_segment g;
        memset(&g, 0, sizeof g);
        ncs_segment_compute(&mk[s - 1], &mk[s], "d", "p", dist[s], "t", &g, NULL);
        double cv = dist[s] / (tr[s].onset_ms - tr[s - 1].onset_ms);
        double drop = 100.0 * (1.0 - tr[s].area_mvms / tr[s - 1].area_mvms);
        if (isfinite(g.cv_m_s) && isfinite(g.u.cv_m_s)) {
            t->cov_n[4]++;
            t->cov_in[4] += fabs(g.cv_m_s - cv) <= g.u.cv_m_s;
        }
        if (isfinite(g.area_drop_pct) && isfinite(g.u.area_drop_pct)) {
            t->cov_n[5]++;
            t->cov_in[5] += fabs(g.area_drop_pct - drop) <= g.u.area_drop_pct;
        }
    }
}

/* Every nerve of family f measured into t; with $NCS_FAMILY_DUMP set, a
 * line per trace appended there (errors and half-widths, for calibrating
 * the intervals). */
static void run_family(const family *f, ncs_analyser *a, tally *t)
{

    const char *dp = getenv("NCS_FAMILY_DUMP");
    FILE *dump = dp && *dp ? fopen(dp, "a") : NULL;
    ncs_rng r;
    ncs_rng_seed(&r, family_seed());
    for (int k = 0; k < NERVES; k++) {
        double dist[SITES];
        ncs_synth_cond c;
        ncs_synth_model *m = family_nerve(f, k, &r, dist, &c);
        ck_assert_ptr_nonnull(m);
        ncs_synth_truth tr[SITES];
        ncs_markers mk[SITES];
        measure_nerve(a, m, &c, k, mk);
        for (size_t s = 0; s < SITES; s++) {
            uint64_t seed = (uint64_t)k * 16 + s + 1;
            ncs_synth_model_truth(m, s, &tr[s]);
            if (!tr[s].response)
                continue;
            honesty(t, &mk[s], &tr[s], dump, f->name, k, s);
            if (!mk[s].response || !isfinite(mk[s].onset_ms) || !isfinite(mk[s].neg_area_mvms)) {
                if (tr[s].amp_mv >= 10.0 * c.noise_uv / 1000.0)
                    t->missed++;
                continue;
            }
            int b = tr[s].amp_mv >= 2.0 ? 0 : 1;
            add(t, b, E_ONSET, mk[s].onset_ms - tr[s].onset_ms, seed, k, s);
            add(t, b, E_AMP, 100 * (mk[s].amp_mv / tr[s].amp_mv - 1), seed, k, s);
            add(t, b, E_AREA, 100 * (mk[s].neg_area_mvms / tr[s].area_mvms - 1), seed, k, s);
            add(t, b, E_DUR, mk[s].neg_dur_ms - tr[s].dur_ms, seed, k, s);
            if (s > 0 && mk[s - 1].response && tr[s - 1].response && tr[s - 1].amp_mv >= 2.0
                && tr[s].amp_mv >= 2.0 && isfinite(mk[s - 1].onset_ms))
                add(t, 0, E_DLAT,
                    (mk[s].onset_ms - mk[s - 1].onset_ms) - (tr[s].onset_ms - tr[s - 1].onset_ms),
                    seed, k, s);
        }
        segment_coverage(t, mk, tr, dist);
        ncs_synth_model_destroy(m);
    }
    if (dump)
        fclose(dump);
}

/* The trace behind a failure, for gnuplot: t, raw, cleaned, the true response. */
static void write_worst(const family *f, ncs_analyser *a, const worst *w)
{
    ncs_rng r;
    ncs_rng_seed(&r, family_seed());
    double dist[SITES];
    ncs_synth_cond c;
    ncs_synth_model *m = NULL;
    for (int k = 0; k <= w->nerve; k++) {
        ncs_synth_model_destroy(m);
        m = family_nerve(f, k, &r, dist, &c);
    }
    ncs_synth_truth tr;
    ncs_synth_model_truth(m, w->site, &tr);
    ncs_wave wave;
    ncs_markers mk, all[SITES];
    double *clean = NULL;
    measure_nerve(a, m, &c, w->nerve, all);
    ncs_analyser_force_mains(a, ncs_mains_vote(all, SITES));
    render_measure(a, m, w->site, &c, w->seed, &wave, &mk, &clean);
    ncs_analyser_force_mains(a, 0.0);
    const char *tmp = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/ncs-family-%s.dat", tmp && *tmp ? tmp : "/tmp", f->name);
    /* the response alone, without noise, interference or artefact */
    ncs_synth_cond bare = {.fs_hz = c.fs_hz, .sweep_ms = c.sweep_ms, .pre_ms = c.pre_ms,
                           .mains_hz = c.mains_hz, .artefact_sign = 1};
    double *resp = malloc(wave.n * sizeof *resp);
    ncs_rng quiet;
    ncs_rng_seed(&quiet, 1);
    ncs_synth_render(m, w->site, &bare, &quiet, resp, wave.n);
    FILE *o = fopen(path, "w");
    if (o) {
        fprintf(o, "# family %s nerve %d site %zu; truth onset %.3f peak %.3f amp %.3f; "
                   "measured onset %.3f peak %.3f amp %.3f\n# t_ms raw_mv clean_mv true_mv\n",
                f->name, w->nerve, w->site, tr.onset_ms, tr.peak_ms, tr.amp_mv, mk.onset_ms,
                mk.peak_ms, mk.amp_mv);
        for (size_t i = 0; i < wave.n; i++)
            fprintf(o, "%.5f %.6f %.6f %.6f\n", (double)i * 1000.0 / wave.fs_hz - wave.stim_ms,
                    wave.mv[i], clean[i], resp[i]);
        fclose(o);
        char gp[560];
        snprintf(gp, sizeof gp, "%s.gp", path);
        o = fopen(gp, "w");
        if (o) {
            fprintf(o, "set title 'family %s'\nset arrow from %g, graph 0 to %g, graph 1 nohead "
                       "lc 'green'\nset arrow from %g, graph 0 to %g, graph 1 nohead lc 'red'\n"
                       "plot '%s' u 1:2 w l t 'raw', '' u 1:3 w l t 'cleaned', '' u 1:4 w l "
                       "t 'true'\npause -1\n",
                    f->name, tr.onset_ms, tr.onset_ms, mk.onset_ms, mk.onset_ms, path);
            fclose(o);
        }
        printf("  the worst trace: %s (gnuplot %s.gp)\n", path, path);
    }
    free(resp);
    free(clean);
    free(wave.mv);
    ncs_synth_model_destroy(m);
}

/* Whether the space-separated list holds key. */
static int open_lists(const char *list, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = list; (p = strstr(p, key)) != NULL; p += k)
        if ((p == list || p[-1] == ' ') && (p[k] == ' ' || p[k] == '\0'))
            return 1;
    return 0;
}

/* Whether m misses out of n are too few for intervals that miss 1 % of
 * the time (coverage above 99 %): P(X <= m) under Binomial(n, 0.01) below
 * 5 %. With under 300 traces not even no miss at all is: a family's
 * intervals can only be shown too wide by a larger sample. */
static int too_few_misses(size_t m, size_t n)
{
    double p = 0.0, term = pow(0.99, (double)n); /* P(X = 0) */
    for (size_t k = 0; k <= m && k <= n; k++) {
        p += term;
        term *= (double)(n - k) / (double)(k + 1) * (0.01 / 0.99);
    }
    return p < 0.05;
}

/* SPEC 8.1's honesty, held like the targets (the same known-open list):
 * `cov-<measure>` the 95 % intervals hold the truth for 90-99 % of traces
 * (onset, amp, area, dur; cv and drop: the segments' CV and area drop) —
 * at least 90 % as observed, at most 99 % as a binomial test can tell;
 * `unflagged` no gross error without a flag; `flagged` at most 5 % of
 * traces flagged as doubtful or left unmeasured. */
static void honesty_verdict(const family *f, const tally *t, char *why, size_t n, int *wrong)
{
    static const char *const cov_key[6] = {"cov-onset", "cov-amp", "cov-area", "cov-dur",
                                           "cov-cv", "cov-drop"};
    for (int i = 0; i < 8; i++) {
        const char *key;
        int missed;
        char val[64];
        if (i < 6) {
            double c = 100.0 * (double)t->cov_in[i] / (double)t->cov_n[i];
            key = cov_key[i];
            missed = t->cov_n[i] == 0 || c < 90.0
                     || too_few_misses(t->cov_n[i] - t->cov_in[i], t->cov_n[i]);
            snprintf(val, sizeof val, "%.1f%% of %zu", c, t->cov_n[i]);
        } else if (i == 6) {
            key = "unflagged";
            missed = t->gross_unflagged > 0;
            snprintf(val, sizeof val, "%zu of %zu gross errors", t->gross_unflagged, t->gross);
        } else {
            key = "flagged";
            missed = (double)t->doubtful > 0.05 * (double)t->traces;
            snprintf(val, sizeof val, "%zu of %zu traces", t->doubtful, t->traces);
        }
        int listed = f->open && open_lists(f->open, key);
        if (missed != listed) {
            *wrong = 1;
            size_t k = strlen(why);
            snprintf(why + k, n - k, "%s%s %s (%s)", k ? "; " : "", key,
                     missed ? "missed and not listed as open" : "now met: remove it from the "
                     "known-open list", val);
        }
    }
}

START_TEST(family_accuracy)
{
    const family *f = &families[_i];
    static tally t;
    memset(&t, 0, sizeof t);
    ncs_error e;
    ncs_analyser *a = ncs_analyser_create(&e);
    run_family(f, a, &t);
    /* $NCS_FAMILY_TRACE=family:nerve:site writes that trace out as well (before
     * any assertion can end the test) */
    const char *want = getenv("NCS_FAMILY_TRACE");
    size_t fl = strlen(f->name);
    int wk, ws, traced = 0;
    if (want && strncmp(want, f->name, fl) == 0 && want[fl] == ':'
        && sscanf(want + fl, ":%d:%d", &wk, &ws) == 2 && wk >= 0 && wk < NERVES && ws >= 0
        && ws < SITES) {
        worst w = {.seed = (uint64_t)wk * 16 + (uint64_t)ws + 1, .nerve = wk, .site = (size_t)ws};
        write_worst(f, a, &w);
        traced = 1;
    }
    printf("family %-17s (%s): p95 of |error| (>= 2 mV | < 2 mV), %zu not measured\n", f->name,
           f->tuned ? "tuned" : "held out", t.missed);
    int failed = -1, wrong = 0;
    char why[400] = "";
    for (int i = 0; i < E__N; i++) {
        double got[2] = {tu_p95(t.err[0][i], t.cnt[0][i]), tu_p95(t.err[1][i], t.cnt[1][i])};
        const double target[2] = {target_big[i], target_small[i]};
        printf("  %-9s %7.4f (n %3zu, target %.2f) | %7.4f (n %2zu, target %.2f)\n",
               e_names[i], got[0], t.cnt[0][i], target[0], got[1], t.cnt[1][i], target[1]);
        for (int b = 0; b < 2; b++) {
            if (isnan(target[b]))
                continue;
            /* enough traces in each class for a 95th percentile */
            ck_assert_msg(t.cnt[b][i] >= 20, "family %s: %s: only %zu traces %s 2 mV", f->name,
                          e_names[i], t.cnt[b][i], b ? "under" : "of");
            char key[16];
            snprintf(key, sizeof key, "%.*s%c", (int)(strchr(e_names[i], '_') - e_names[i]),
                     e_names[i], b ? '<' : '>');
            int missed = !(got[b] <= target[b]);
            int listed = f->open && open_lists(f->open, key);
            if (missed && failed < 0)
                failed = i;
            if (missed != listed) {
                wrong = 1;
                snprintf(why + strlen(why), sizeof why - strlen(why), "%s%s %s (p95 %.4f, "
                         "target %.2f)", why[0] ? "; " : "", key,
                         missed ? "missed and not listed as open" : "now met: remove it from the "
                         "known-open list", got[b], target[b]);
            }
        }
    }
    printf("  honesty: %zu traces, %zu gross errors, %zu without a flag; %.1f%% flagged or "
           "unmeasured\n  coverage of 95%% intervals: onset %.1f%% amp %.1f%% area %.1f%% "
           "dur %.1f%% cv %.1f%% area drop %.1f%%\n", t.traces, t.gross, t.gross_unflagged,
           100.0 * (double)t.doubtful / (double)t.traces,
           100.0 * (double)t.cov_in[0] / (double)t.cov_n[0],
           100.0 * (double)t.cov_in[1] / (double)t.cov_n[1],
           100.0 * (double)t.cov_in[2] / (double)t.cov_n[2],
           100.0 * (double)t.cov_in[3] / (double)t.cov_n[3],
           100.0 * (double)t.cov_in[4] / (double)t.cov_n[4],
           100.0 * (double)t.cov_in[5] / (double)t.cov_n[5]);
    if (f->open)
        printf("  known open: %s — %s\n", f->open, f->why);
    honesty_verdict(f, &t, why, sizeof why, &wrong);
    if (failed >= 0 && !traced) /* (the trace asked for stays) */
        write_worst(f, a, &t.w[failed]);
    if (t.missed)
        snprintf(why + strlen(why), sizeof why - strlen(why), "%s%zu responses of 10x the noise "
                 "or more not measured", why[0] ? "; " : "", t.missed);
    fflush(stdout);
    ncs_analyser_destroy(a);
    ck_assert_msg(!wrong && t.missed == 0, "family %s: %s", f->name, why);
}
END_TEST

static Suite *families_suite(void)
{
    Suite *s = suite_create("families");
    TCase *t = tcase_create("accuracy");
    tcase_set_timeout(t, 300);
    tcase_add_loop_test(t, family_accuracy, 0, (int)N_FAMILIES);
    suite_add_tcase(s, t);
    return s;
}

TU_RUN(families_suite)
