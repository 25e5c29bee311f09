/* test_samples.c — every shipped sample measured against its truth.json
 * (the generator's noise-free measures): the accuracy targets as 95th
 * percentiles over all the samples' traces, as for generated traces in
 * test_measure.c. Run from the project root (make check does). */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>

#include <jansson.h>

#include "accuracy.h"
#include "testutil.h"

/* Traces known to miss the onset target today, each with its reason. They
 * are kept out of the percentiles and asserted to still miss it, so the list
 * cannot outlive the fix: once one is measured right, this test fails until
 * its line is removed. */
static const struct {
    const char *sample, *nerve, *site, *why;
} known_open[] = {
    {"cidp", "ulnar.right", "axilla", "dispersed foot partly taken into the baseline (0.9 ms late)"},
    {"cidp", "fibular.right", "popliteal", "dispersed foot partly taken into the baseline (0.6 ms late)"},
};
#define N_KNOWN_OPEN (sizeof known_open / sizeof known_open[0])

static int known_open_index(const char *sample, const char *nerve, const char *site)
{
    for (size_t i = 0; i < N_KNOWN_OPEN; i++)
        if (!strcmp(known_open[i].sample, sample) && !strcmp(known_open[i].nerve, nerve)
            && !strcmp(known_open[i].site, site))
            return (int)i;
    return -1;
}

typedef struct {
    int open_still_off[N_KNOWN_OPEN];
    double err[2][E__N][512];
    size_t cnt[2][E__N];
    size_t traces, absent_wrongly;
} tally;

static void add(tally *t, int big, int e, double v)
{
    if (t->cnt[big][e] < sizeof t->err[0][0] / sizeof t->err[0][0][0])
        t->err[big][e][t->cnt[big][e]++] = v;
}

static const ncs_nerve_result *nerve_of(const ncs_results *r, const char *id)
{
    for (size_t i = 0; i < r->n_nerves; i++)
        if (strcmp(r->nerves[i].def->id, id) == 0)
            return &r->nerves[i];
    return NULL;
}

static double num(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* One nerve's sites against its truth, distal to proximal. */
static void compare_nerve(tally *t, const char *sample, const ncs_nerve_result *nr, json_t *sites)
{
    ck_assert_msg(json_array_size(sites) == nr->n_sites, "%s %s: %zu sites, truth has %zu",
                  sample, nr->def->id, nr->n_sites, json_array_size(sites));
    for (size_t k = 0; k < nr->n_sites; k++) {
        json_t *ts = json_array_get(sites, k);
        const ncs_markers *m = &nr->sites[k].m;
        ck_assert_str_eq(json_string_value(json_object_get(ts, "site")), nr->sites[k].def->name);
        if (!json_is_true(json_object_get(ts, "response")))
            continue;
        t->traces++;
        double amp = num(ts, "amp_mv");
        if (!m->response) {
            printf("%s %s %s: a %.2f mV response reported absent\n", sample, nr->def->id,
                   nr->sites[k].def->name, amp);
            t->absent_wrongly++;
            continue;
        }
        int open = known_open_index(sample, nr->def->id, nr->sites[k].def->name);
        if (open >= 0) {
            t->open_still_off[open] = fabs(m->onset_ms - num(ts, "onset_ms")) > 0.25;
            continue;
        }
        int b = amp >= 2.0 ? 0 : 1;
        add(t, b, E_ONSET, fabs(m->onset_ms - num(ts, "onset_ms")));
        add(t, b, E_AMP, fabs(100 * (m->amp_mv / amp - 1)));
        add(t, b, E_AREA, fabs(100 * (m->neg_area_mvms / num(ts, "area_mvms") - 1)));
        add(t, b, E_DUR, fabs(m->neg_dur_ms - num(ts, "dur_ms")));
        if (k > 0 && nr->sites[k - 1].m.response
            && known_open_index(sample, nr->def->id, nr->sites[k - 1].def->name) < 0) {
            json_t *td = json_array_get(sites, k - 1);
            if (num(td, "amp_mv") >= 2.0 && amp >= 2.0)
                add(t, 0, E_DLAT,
                    fabs((m->onset_ms - nr->sites[k - 1].m.onset_ms)
                         - (num(ts, "onset_ms") - num(td, "onset_ms"))));
        }
    }
}

static void compare_sample(tally *t, ncs_analyser *an, const char *name)
{
    char dir[512], truth[600];
    snprintf(dir, sizeof dir, "samples/%s", name);
    snprintf(truth, sizeof truth, "%s/truth.json", dir);
    json_error_t je;
    json_t *tj = json_load_file(truth, 0, &je);
    if (!tj)
        return; /* a sample without truth (none today) */
    ncs_error err;
    ncs_study *st = ncs_study_load(dir, NULL, &err);
    ck_assert_msg(st != NULL, "%s: %s", dir, err.message);
    ncs_results *r = ncs_analyse_study(an, st, NULL, &err);
    ck_assert_msg(r != NULL, "%s: %s", dir, err.message);
    size_t i;
    json_t *tn;
    json_array_foreach(json_object_get(tj, "nerves"), i, tn) {
        const char *id = json_string_value(json_object_get(tn, "id"));
        const ncs_nerve_result *nr = nerve_of(r, id);
        ck_assert_msg(nr != NULL, "%s: nerve %s of the truth not analysed", name, id);
        compare_nerve(t, name, nr, json_object_get(tn, "sites"));
    }
    ncs_results_destroy(r);
    ncs_study_destroy(st);
    json_decref(tj);
}

START_TEST(samples_within_accuracy_targets)
{
    static tally t;
    memset(&t, 0, sizeof t);
    ncs_error err;
    ncs_analyser *an = ncs_analyser_create(&err);
    DIR *d = opendir("samples");
    ck_assert_msg(d != NULL, "run from the project root: samples/ not found");
    struct dirent *e;
    size_t n_samples = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        compare_sample(&t, an, e->d_name);
        n_samples++;
    }
    closedir(d);
    ncs_analyser_destroy(an);
    printf("samples against truth.json (%zu samples, %zu responses, p95 of |error|):\n",
           n_samples, t.traces);
    double got[2][E__N];
    for (int i = 0; i < E__N; i++) {
        got[0][i] = tu_p95(t.err[0][i], t.cnt[0][i]);
        got[1][i] = tu_p95(t.err[1][i], t.cnt[1][i]);
        printf("  %-9s >=2mV n=%3zu p95=%7.4f (target %.2f)   <2mV n=%3zu p95=%7.4f (target %.2f)\n",
               e_names[i], t.cnt[0][i], got[0][i], target_big[i], t.cnt[1][i], got[1][i],
               target_small[i]);
    }
    for (size_t i = 0; i < N_KNOWN_OPEN; i++)
        printf("  known open: %s %s %s: %s\n", known_open[i].sample, known_open[i].nerve,
               known_open[i].site, known_open[i].why);
    fflush(stdout);
    for (size_t i = 0; i < N_KNOWN_OPEN; i++)
        ck_assert_msg(t.open_still_off[i], "%s %s %s is now measured right: remove it from "
                      "known_open", known_open[i].sample, known_open[i].nerve, known_open[i].site);
    ck_assert_uint_gt(t.traces, 50);
    ck_assert_msg(t.absent_wrongly == 0, "%zu true responses reported absent", t.absent_wrongly);
    for (int i = 0; i < E__N; i++) {
        ck_assert_msg(!(got[0][i] > target_big[i]), "%s >= 2 mV: p95 %.4f > %.2f", e_names[i],
                      got[0][i], target_big[i]);
        if (!isnan(target_small[i]))
            ck_assert_msg(!(got[1][i] > target_small[i]), "%s < 2 mV: p95 %.4f > %.2f",
                          e_names[i], got[1][i], target_small[i]);
    }
}
END_TEST

/* ---- thread safety: what ncs.h promises -------------------------------- */

static const char *const thread_samples[] = {"normal", "mmn", "cidp", "mnd", "carpal-tunnel",
                                             "inching"};
#define N_THREAD_SAMPLES (sizeof thread_samples / sizeof thread_samples[0])

/* results.json of every sample, analysed with one analyser */
typedef struct {
    char *json[N_THREAD_SAMPLES];
    int failed;
} sample_run;

static void *analyse_all(void *arg)
{
    sample_run *run = arg;
    ncs_error err;
    ncs_analyser *an = ncs_analyser_create(&err);
    for (size_t i = 0; i < N_THREAD_SAMPLES && an; i++) {
        char dir[256];
        snprintf(dir, sizeof dir, "samples/%s", thread_samples[i]);
        ncs_study *st = ncs_study_load(dir, NULL, &err);
        ncs_results *r = st ? ncs_analyse_study(an, st, NULL, &err) : NULL;
        run->json[i] = r ? ncs_results_json(r, NULL) : NULL;
        run->failed |= run->json[i] == NULL;
        ncs_results_destroy(r);
        ncs_study_destroy(st);
    }
    run->failed |= an == NULL;
    ncs_analyser_destroy(an);
    return NULL;
}

/* Four threads, each with its own analyser, analyse every sample at once
 * (planning FFTs and parsing study.ini concurrently): each gets exactly the
 * results of a run alone. */
START_TEST(distinct_analysers_in_distinct_threads)
{
    static sample_run alone, conc[4];
    analyse_all(&alone);
    ck_assert(!alone.failed);
    pthread_t th[4];
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(pthread_create(&th[k], NULL, analyse_all, &conc[k]), 0);
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(pthread_join(th[k], NULL), 0);
    for (int k = 0; k < 4; k++) {
        ck_assert(!conc[k].failed);
        for (size_t i = 0; i < N_THREAD_SAMPLES; i++) {
            ck_assert_msg(strcmp(alone.json[i], conc[k].json[i]) == 0,
                          "thread %d, samples/%s: results differ from a run alone", k,
                          thread_samples[i]);
            free(conc[k].json[i]);
        }
    }
    for (size_t i = 0; i < N_THREAD_SAMPLES; i++)
        free(alone.json[i]);
}
END_TEST

/* Reports made at once by four threads into one folder: every one is
 * made (temporary names do not collide) and SIGPIPE stays the caller's. */
typedef struct {
    const char *dir;
    int k;
    ncs_status rc;
} report_job;

static void *report_one(void *arg)
{
    report_job *j = arg;
    ncs_error err;
    ncs_analyser *an = ncs_analyser_create(&err);
    ncs_study *st = ncs_study_load("samples/mmn", NULL, &err);
    ncs_options opt = {.keep_traces = 1};
    ncs_results *r = st && an ? ncs_analyse_study(an, st, &opt, &err) : NULL;
    char path[600];
    snprintf(path, sizeof path, "%s/r%d.%s", j->dir, j->k, j->k % 2 ? "svg" : "pdf");
    j->rc = r ? ncs_report_make(r, j->k % 2 ? NCS_REPORT_SVG : NCS_REPORT_PDF, path, NULL, &err)
              : NCS_ERR_USAGE;
    if (j->rc != NCS_OK)
        printf("report %d: %s: %s\n", j->k, err.where, err.message);
    ncs_results_destroy(r);
    ncs_study_destroy(st);
    ncs_analyser_destroy(an);
    return NULL;
}

START_TEST(reports_in_distinct_threads)
{
    if (!ncs_report_gnuplot_found(NULL, NULL))
        return; /* make check installs gnuplot; a bare build may lack it */
    struct sigaction before, after;
    sigaction(SIGPIPE, NULL, &before);
    char *dir = tu_tempdir();
    report_job jobs[4];
    pthread_t th[4];
    for (int k = 0; k < 4; k++) {
        jobs[k] = (report_job){dir, k, NCS_OK};
        ck_assert_int_eq(pthread_create(&th[k], NULL, report_one, &jobs[k]), 0);
    }
    for (int k = 0; k < 4; k++)
        ck_assert_int_eq(pthread_join(th[k], NULL), 0);
    for (int k = 0; k < 4; k++)
        ck_assert_msg(jobs[k].rc == NCS_OK, "report %d failed", k);
    sigaction(SIGPIPE, NULL, &after);
    ck_assert(before.sa_handler == after.sa_handler);
    /* nothing but the pages: no temporary left */
    DIR *d = opendir(dir);
    struct dirent *e;
    while ((e = readdir(d)))
        ck_assert_msg(strncmp(e->d_name, ".ncs-report-", 12) != 0, "left behind: %s",
                      e->d_name);
    closedir(d);
    tu_rmrf(dir);
    free(dir);
}
END_TEST

static Suite *samples_suite(void)
{
    Suite *s = suite_create("samples");
    TCase *t = tcase_create("truth");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, samples_within_accuracy_targets);
    suite_add_tcase(s, t);
    TCase *th = tcase_create("threads");
    tcase_set_timeout(th, 120);
    tcase_add_test(th, distinct_analysers_in_distinct_threads);
    tcase_add_test(th, reports_in_distinct_threads);
    suite_add_tcase(s, th);
    return s;
}

TU_RUN(samples_suite)
