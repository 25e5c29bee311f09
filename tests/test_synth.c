/* test_synth.c — the synthetic-study generator: deterministic, its truth
 * consistent with its lesions, and its folders readable by the loaders. */
#include "testutil.h"
#include "ncs_synth.h"

static const ncs_synth_nerve_params median = {
    .n_units = 120, .amp_mv = 8.0, .cv_m_s = 55.0, .cv_sd = 0.06,
    .terminal_ms = 2.0, .tau_ms = 1.5, .axonal_loss = 0.0};
static const double dist[3] = {70, 230, 120};

START_TEST(deterministic)
{
    ncs_synth_model *a = ncs_synth_model_create(&median, 3, dist, NULL, 7);
    ncs_synth_model *b = ncs_synth_model_create(&median, 3, dist, NULL, 7);
    ncs_synth_model *c = ncs_synth_model_create(&median, 3, dist, NULL, 8);
    for (double t = 0; t < 30; t += 0.37) {
        ck_assert_double_eq(ncs_synth_model_eval(a, 1, t), ncs_synth_model_eval(b, 1, t));
    }
    ck_assert(ncs_synth_model_eval(a, 0, 5.0) != ncs_synth_model_eval(c, 0, 5.0));
    ncs_rng r1, r2;
    ncs_rng_seed(&r1, 42);
    ncs_rng_seed(&r2, 42);
    for (int i = 0; i < 100; i++)
        ck_assert_double_eq(ncs_rng_normal(&r1), ncs_rng_normal(&r2));
    ncs_synth_model_destroy(a);
    ncs_synth_model_destroy(b);
    ncs_synth_model_destroy(c);
}
END_TEST

START_TEST(truth_follows_model)
{
    ncs_synth_model *m = ncs_synth_model_create(&median, 3, dist, NULL, 3);
    ncs_synth_truth t0, t1;
    ncs_synth_model_truth(m, 0, &t0);
    ncs_synth_model_truth(m, 1, &t1);
    ck_assert(t0.response);
    ck_assert_double_eq_tol(t0.amp_mv, 8.0, 0.02); /* scaled to the request */
    ck_assert(t0.onset_ms > 2.0 && t0.onset_ms < 4.5);
    ck_assert(t1.onset_ms > t0.onset_ms);
    double cv = 230.0 / (t1.onset_ms - t0.onset_ms);
    ck_assert_msg(cv > 50 && cv < 75, "cv %g", cv);
    ck_assert(t0.peak_ms > t0.onset_ms && t0.dur_ms > 2 && t0.area_mvms > 5);
    ck_assert(t0.p2p_mv > t0.amp_mv);
    /* the onset is where the waveform first passes 1 % of the peak */
    ck_assert_double_eq_tol(ncs_synth_model_eval(m, 0, t0.onset_ms), -0.01 * t0.amp_mv, 1e-3);
    ck_assert_double_eq_tol(ncs_synth_model_eval(m, 0, t0.onset_ms + t0.dur_ms), 0.0, 1e-3);
    ncs_synth_model_destroy(m);

    /* a 60 % block in the last segment removes about 60 % of the area */
    ncs_synth_lesion les[3];
    memset(les, 0, sizeof les);
    les[2].block = 0.6;
    m = ncs_synth_model_create(&median, 3, dist, les, 3);
    ncs_synth_truth a, b;
    ncs_synth_model_truth(m, 1, &a);
    ncs_synth_model_truth(m, 2, &b);
    double drop = 100.0 * (1.0 - b.area_mvms / a.area_mvms);
    ck_assert_msg(drop > 50 && drop < 70, "area drop %g", drop);
    ncs_synth_model_destroy(m);

    /* complete block: no response */
    ncs_synth_lesion all[3];
    memset(all, 0, sizeof all);
    all[1].block = 1.0;
    m = ncs_synth_model_create(&median, 3, dist, all, 3);
    ncs_synth_model_truth(m, 2, &b);
    ck_assert(!b.response);
    ck_assert(isnan(b.onset_ms));
    ncs_synth_model_destroy(m);
}
END_TEST

START_TEST(folders_round_trip)
{
    char *dir = tu_tempdir();
    for (int k = 0; ncs_synth_scenarios[k]; k++) {
        ncs_synth_study s;
        ck_assert_int_eq(ncs_synth_scenario(&s, ncs_synth_scenarios[k], "x", 10 + k, 1.0), 0);
        char sd[4200];
        snprintf(sd, sizeof sd, "%s/%s", dir, ncs_synth_scenarios[k]);
        ncs_error err;
        ck_assert_msg(ncs_synth_write(&s, sd, &err) == NCS_OK, "%s", err.message);
        ncs_study *st = ncs_study_load(sd, NULL, &err);
        ck_assert_msg(st != NULL, "%s: %s: %s", ncs_synth_scenarios[k], err.where, err.message);
        ck_assert_uint_eq(st->n_nerves, s.n_nerves);
        for (size_t i = 0; i < st->n_nerves; i++) {
            ck_assert_uint_eq(st->nerves[i].n_sites, s.nerves[i].n_sites);
            for (size_t j = 0; j < st->nerves[i].n_sites; j++) {
                ncs_wave w;
                ck_assert_msg(ncs_wave_load(&st->nerves[i].sites[j], "t", &w, NULL, &err)
                              == NCS_OK, "%s", err.message);
                ck_assert_double_eq_tol(w.fs_hz, s.nerves[i].sites[j].cond.fs_hz, 1e-6);
                ck_assert_double_eq_tol(w.stim_ms, s.nerves[i].sites[j].cond.pre_ms, 1e-9);
                ncs_wave_free(&w);
            }
        }
        ncs_study_destroy(st);
    }
    ncs_synth_study s;
    ck_assert_int_eq(ncs_synth_scenario(&s, "no-such", "x", 1, 1.0), -1);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("synth");
    TCase *t = tcase_create("model");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, deterministic);
    tcase_add_test(t, truth_follows_model);
    tcase_add_test(t, folders_round_trip);
    suite_add_tcase(s, t);
    return s;
}

TU_RUN(suite)
