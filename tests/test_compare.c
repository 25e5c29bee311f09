/* test_compare.c — follow-up across visits (lib/compare.c): a change
 * against its uncertainty at, below and above it; trends; visits put in
 * date order; the visits' rules (one patient, dates given and different);
 * nerves and segments matched by name and never across sites. The visits
 * are results built by hand, so each number is the test's own. */
#include "testutil.h"

static ncs_vu v_(double v, double u)
{
    ncs_vu x = {v, u};
    return x;
}

START_TEST(change_against_uncertainty)
{
    /* hypot(3, 4) = 5: a change of exactly 5 is inside, 5.01 beyond */
    ncs_change c = ncs_change_of(v_(50, 3), v_(55, 4));
    ck_assert(c.known);
    ck_assert_double_eq_tol(c.d, 5.0, 1e-12);
    ck_assert_double_eq_tol(c.u, 5.0, 1e-12);
    ck_assert_int_eq(c.sign, 0);
    c = ncs_change_of(v_(50, 3), v_(55.01, 4));
    ck_assert_int_eq(c.sign, 1);
    c = ncs_change_of(v_(50, 3), v_(54.99, 4));
    ck_assert_int_eq(c.sign, 0);
    c = ncs_change_of(v_(50, 3), v_(44.99, 4));
    ck_assert_int_eq(c.sign, -1);
    /* a value or a half-width missing: not known */
    ck_assert(!ncs_change_of(v_(NAN, NAN), v_(1, 0.1)).known);
    ck_assert(!ncs_change_of(v_(1, NAN), v_(1, 0.1)).known);
    /* an unbounded half-width (a CV): known, never beyond */
    c = ncs_change_of(v_(50, INFINITY), v_(10, 1));
    ck_assert(c.known);
    ck_assert_int_eq(c.sign, 0);
}
END_TEST

START_TEST(trend_direction)
{
    /* a drop: larger is worse */
    ck_assert_int_eq(ncs_trend_of(v_(80, 2), v_(30, 2), 1), NCS_TREND_IMPROVING);
    ck_assert_int_eq(ncs_trend_of(v_(30, 2), v_(80, 2), 1), NCS_TREND_WORSENING);
    ck_assert_int_eq(ncs_trend_of(v_(80, 3), v_(84, 4), 1), NCS_TREND_STABLE);
    ck_assert_int_eq(ncs_trend_of(v_(80, 3), v_(85, 4), 1), NCS_TREND_STABLE); /* on it */
    ck_assert_int_eq(ncs_trend_of(v_(80, 3), v_(85.1, 4), 1), NCS_TREND_WORSENING);
    /* an amplitude: smaller is worse */
    ck_assert_int_eq(ncs_trend_of(v_(8, 0.1), v_(6, 0.1), 0), NCS_TREND_WORSENING);
    ck_assert_int_eq(ncs_trend_of(v_(6, 0.1), v_(8, 0.1), 0), NCS_TREND_IMPROVING);
    ck_assert_int_eq(ncs_trend_of(v_(NAN, NAN), v_(8, 0.1), 0), NCS_TREND_NONE);
    ck_assert_str_eq(ncs_trend_name(NCS_TREND_NONE), "not-compared");
    ck_assert_str_eq(ncs_trend_name(NCS_TREND_WORSENING), "worsening");
    ck_assert_ptr_null(ncs_trend_name((ncs_trend)99));
}
END_TEST

/* ---- visits made by hand ------------------------------------------------ */

/* One visit: a study with one nerve (median.right, wrist and elbow, one
 * segment) or, with two_nerves, also ulnar.right (wrist only). */
typedef struct {
    ncs_study st;
    ncs_nerve_def nd[2];
    ncs_site sd[2][2];
    ncs_results r;
    ncs_nerve_result nr[2];
    ncs_site_result sr[2][2];
    ncs_segment seg;
} visit;

static void visit_make(visit *v, const char *id, const char *patient, const char *date,
                       double amp, double area_drop, double u, const char *proximal,
                       int two_nerves)
{
    memset(v, 0, sizeof *v);
    v->st.id = (char *)id;
    v->st.dir = (char *)id;
    v->st.ini_path = (char *)id;
    v->st.patient = (char *)patient;
    v->st.date = (char *)date;
    static const char *const ids[2] = {"median.right", "ulnar.right"};
    static const char *const nerves[2] = {"median", "ulnar"};
    for (int i = 0; i < 2; i++) {
        v->nd[i].id = (char *)ids[i];
        v->nd[i].nerve = (char *)nerves[i];
        v->nd[i].side = (char *)"right";
        v->nd[i].sites = v->sd[i];
        v->sd[i][0].name = (char *)"wrist";
        v->sd[i][1].name = (char *)proximal;
        v->nr[i].def = &v->nd[i];
        v->nr[i].sites = v->sr[i];
        for (int j = 0; j < 2; j++) {
            v->sr[i][j].def = &v->sd[i][j];
            v->sr[i][j].m = tu_response(3.0 + 4 * j, amp, 2.5 * amp, 5.0);
            v->sr[i][j].m.u.amp_mv = 0.05;
            v->sr[i][j].m.u.neg_area_mvms = 0.2;
            v->sr[i][j].m.u.onset_ms = 0.05;
        }
    }
    v->nd[0].n_sites = v->nr[0].n_sites = 2;
    v->nd[1].n_sites = v->nr[1].n_sites = 1;
    v->seg.from = "wrist";
    v->seg.to = proximal;
    v->seg.cv_m_s = 55;
    v->seg.u.cv_m_s = 3;
    v->seg.area_drop_pct = area_drop;
    v->seg.u.area_drop_pct = u;
    v->seg.amp_drop_pct = area_drop;
    v->seg.u.amp_drop_pct = u;
    v->seg.dur_increase_pct = 5;
    v->seg.u.dur_increase_pct = 2;
    v->seg.block = area_drop >= 50 ? NCS_BLOCK_DEFINITE : NCS_BLOCK_NONE;
    v->nr[0].segments = &v->seg;
    v->nr[0].n_segments = 1;
    v->r.study = &v->st;
    v->r.nerves = v->nr;
    v->r.n_nerves = two_nerves ? 2 : 1;
}

START_TEST(visits_in_date_order)
{
    visit a, b, c;
    visit_make(&a, "v3", "P", "2026-04-06", 8.0, 31, 2, "elbow", 0);
    visit_make(&b, "v1", "P", "2026-01-12", 8.0, 82, 2, "elbow", 0);
    visit_make(&c, "v2", "P", "2026-02-23", 8.0, 61, 2, "elbow", 0);
    const ncs_results *vs[3] = {&a.r, &b.r, &c.r};
    ncs_error err;
    ncs_compare *cmp = ncs_compare_create(vs, 3, &err);
    ck_assert_ptr_nonnull(cmp);
    ck_assert_str_eq(cmp->visits[0]->study->id, "v1");
    ck_assert_str_eq(cmp->visits[2]->study->id, "v3");
    ck_assert_str_eq(cmp->patient, "P");
    ck_assert_int_eq(cmp->n_nerves, 1);
    const ncs_compare_nerve *n = &cmp->nerves[0];
    ck_assert_int_eq(n->n_segments, 1);
    ck_assert_int_eq(n->segments[0].trend, NCS_TREND_IMPROVING);
    ck_assert_msg(strstr(n->segments[0].why, "area drop 82 → 61 → 31 %"), "%s",
                  n->segments[0].why);
    ck_assert_int_eq(n->amp_trend, NCS_TREND_STABLE);
    ck_assert_int_eq(n->trend, NCS_TREND_IMPROVING);
    ck_assert_ptr_eq(n->block_segment, &n->segments[0]);
    ck_assert_msg(strstr(n->why, "segment wrist-elbow") == n->why, "%s", n->why);
    char *json = ncs_compare_json(cmp, NULL);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(strstr(json, "\"schema\": \"ncs-compare/1\""));
    ck_assert_ptr_nonnull(strstr(json, "\"trend\": \"improving\""));
    free(json);
    ncs_compare_destroy(cmp);
}
END_TEST

/* the segment's change at, below and above its uncertainty, through the
 * whole comparison */
START_TEST(segment_threshold)
{
    visit a, b;
    /* a change counts beyond hypot(u_a, u_b) and from 10 points: with 3
     * and 4 (hypot 5) the 10 points decide; with 8 and 9 (hypot 12.04)
     * the uncertainty does */
    static const struct { double u1, u2, second; ncs_trend want; } cases[] = {
        {3, 4, 55.1, NCS_TREND_STABLE},   {3, 4, 59.9, NCS_TREND_STABLE},
        {3, 4, 60.0, NCS_TREND_WORSENING}, {3, 4, 40.1, NCS_TREND_STABLE},
        {3, 4, 40.0, NCS_TREND_IMPROVING}, {8, 9, 62.0, NCS_TREND_STABLE},
        {8, 9, 62.1, NCS_TREND_WORSENING}, {8, 9, 37.9, NCS_TREND_IMPROVING},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        visit_make(&a, "a", "P", "2026-01-01", 8.0, 50, cases[k].u1, "elbow", 0);
        visit_make(&b, "b", "P", "2026-02-01", 8.0, cases[k].second, cases[k].u2, "elbow", 0);
        const ncs_results *vs[2] = {&b.r, &a.r};
        ncs_error err;
        ncs_compare *cmp = ncs_compare_create(vs, 2, &err);
        ck_assert_ptr_nonnull(cmp);
        ck_assert_msg(cmp->nerves[0].segments[0].trend == cases[k].want, "%g: %s",
                      cases[k].second, cmp->nerves[0].segments[0].why);
        ck_assert_int_eq(cmp->nerves[0].trend, cases[k].want);
        ncs_compare_destroy(cmp);
    }
    /* the distal amplitude: 2.5 % less is within what two days differ by
     * (under 15 %), 16 % less is axonal loss */
    visit_make(&a, "a", "P", "2026-01-01", 8.0, 50, 3, "elbow", 0);
    visit_make(&b, "b", "P", "2026-02-01", 7.8, 50, 3, "elbow", 0);
    const ncs_results *vs[2] = {&a.r, &b.r};
    ncs_error err;
    ncs_compare *cmp = ncs_compare_create(vs, 2, &err);
    ck_assert_int_eq(cmp->nerves[0].amp_trend, NCS_TREND_STABLE);
    ck_assert_ptr_nonnull(strstr(cmp->nerves[0].amp_why, "under the 15 % counted"));
    ncs_compare_destroy(cmp);
    visit_make(&b, "b", "P", "2026-02-01", 6.7, 50, 3, "elbow", 0);
    cmp = ncs_compare_create(vs, 2, &err);
    ck_assert_int_eq(cmp->nerves[0].amp_trend, NCS_TREND_WORSENING);
    ck_assert_int_eq(cmp->nerves[0].block_trend, NCS_TREND_STABLE);
    ck_assert_int_eq(cmp->nerves[0].trend, NCS_TREND_WORSENING);
    ck_assert_msg(strstr(cmp->nerves[0].why, "distal amplitude") == cmp->nerves[0].why, "%s",
                  cmp->nerves[0].why);
    ncs_compare_destroy(cmp);
}
END_TEST

/* a relapse after a response: improving from the first visit, and the last
 * step said when it goes the other way */
START_TEST(last_step_said)
{
    visit a, b, d;
    visit_make(&a, "a", "P", "2026-01-01", 8.0, 80, 1, "elbow", 0);
    visit_make(&b, "b", "P", "2026-02-01", 8.0, 32, 1, "elbow", 0);
    visit_make(&d, "d", "P", "2026-03-01", 8.0, 62, 1, "elbow", 0);
    const ncs_results *vs[3] = {&d.r, &a.r, &b.r};
    ncs_error err;
    ncs_compare *cmp = ncs_compare_create(vs, 3, &err);
    ck_assert_ptr_nonnull(cmp);
    const ncs_compare_segment *s = &cmp->nerves[0].segments[0];
    ck_assert_int_eq(s->trend, NCS_TREND_IMPROVING);
    ck_assert_msg(strstr(s->why, "area drop 80 \u2192 32 \u2192 62 %")
                  && strstr(s->why, "since the previous visit (2026-02-01): worsening, +30"),
                  "%s", s->why);
    ncs_compare_destroy(cmp);
}
END_TEST

START_TEST(visits_refused)
{
    visit a, b;
    ncs_error err;
    const ncs_results *vs[2] = {&a.r, &b.r};
    visit_make(&a, "a", "Jane Roe", "2026-01-01", 8.0, 50, 3, "elbow", 0);
    visit_make(&b, "b", "John Doe", "2026-02-01", 8.0, 50, 3, "elbow", 0);
    ck_assert_ptr_null(ncs_compare_create(vs, 2, &err));
    ck_assert_int_eq(err.code, NCS_ERR_VISITS);
    ck_assert_msg(strstr(err.message, "different patients") && strstr(err.message, "a ('Jane Roe')")
                  && strstr(err.message, "b ('John Doe')"), "%s", err.message);
    visit_make(&b, "b", NULL, "2026-02-01", 8.0, 50, 3, "elbow", 0);
    ck_assert_ptr_null(ncs_compare_create(vs, 2, &err));
    ck_assert_int_eq(err.code, NCS_ERR_VISITS);
    ck_assert_ptr_nonnull(strstr(err.message, "no `patient =`"));
    visit_make(&b, "b", "Jane Roe", NULL, 8.0, 50, 3, "elbow", 0);
    ck_assert_ptr_null(ncs_compare_create(vs, 2, &err));
    ck_assert_ptr_nonnull(strstr(err.message, "no `date =`"));
    ck_assert_str_eq(err.where, "b");
    visit_make(&b, "b", "Jane Roe", "2026-01-01", 8.0, 50, 3, "elbow", 0);
    ck_assert_ptr_null(ncs_compare_create(vs, 2, &err));
    ck_assert_msg(strstr(err.message, "a and b have the same date 2026-01-01"), "%s",
                  err.message);
    ck_assert_ptr_null(ncs_compare_create(vs, 1, &err));
    ck_assert_int_eq(err.code, NCS_ERR_USAGE);
}
END_TEST

/* a nerve at one visit only, and a segment to another site: shown, never
 * compared */
START_TEST(matched_by_name)
{
    visit a, b;
    visit_make(&a, "a", "P", "2026-01-01", 8.0, 60, 3, "elbow", 1);
    visit_make(&b, "b", "P", "2026-02-01", 8.0, 20, 3, "axilla", 0);
    const ncs_results *vs[2] = {&a.r, &b.r};
    ncs_error err;
    ncs_compare *cmp = ncs_compare_create(vs, 2, &err);
    ck_assert_ptr_nonnull(cmp);
    ck_assert_int_eq(cmp->n_nerves, 2);
    const ncs_compare_nerve *m = &cmp->nerves[0], *u = &cmp->nerves[1];
    ck_assert_str_eq(u->id, "ulnar.right");
    ck_assert_int_eq(u->n_present, 1);
    ck_assert_int_eq(u->trend, NCS_TREND_NONE);
    ck_assert_msg(strstr(u->why, "recorded at 2026-01-01 only"), "%s", u->why);
    ck_assert_int_eq(m->n_segments, 2); /* wrist-elbow and wrist-axilla apart */
    ck_assert_int_eq(m->segments[0].trend, NCS_TREND_NONE);
    ck_assert_msg(strstr(m->segments[0].why, "at 2026-01-01 only"), "%s", m->segments[0].why);
    ck_assert_msg(strstr(m->segments[1].why, "at 2026-02-01 only"), "%s", m->segments[1].why);
    ck_assert(!m->segments[0].at[1].present);
    /* the distal amplitude still compared (the same distal site), but no
     * block: the nerve is not called stable on half its measures */
    ck_assert_int_eq(m->amp_trend, NCS_TREND_STABLE);
    ck_assert_int_eq(m->block_trend, NCS_TREND_NONE);
    ck_assert_int_eq(m->trend, NCS_TREND_NONE);
    ncs_compare_destroy(cmp);
    /* a different distal site: the amplitude not compared */
    visit_make(&b, "b", "P", "2026-02-01", 8.0, 60, 3, "elbow", 0);
    b.sd[0][0].name = (char *)"palm";
    b.seg.from = "palm";
    cmp = ncs_compare_create(vs, 2, &err);
    ck_assert_int_eq(cmp->nerves[0].amp_trend, NCS_TREND_NONE);
    ck_assert_msg(strstr(cmp->nerves[0].amp_why, "distal site wrist at 2026-01-01, palm"), "%s",
                  cmp->nerves[0].amp_why);
    ncs_compare_destroy(cmp);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("compare");
    TCase *t = tcase_create("trend");
    tcase_add_test(t, change_against_uncertainty);
    tcase_add_test(t, trend_direction);
    tcase_add_test(t, segment_threshold);
    tcase_add_test(t, last_step_said);
    suite_add_tcase(s, t);
    t = tcase_create("visits");
    tcase_add_test(t, visits_in_date_order);
    tcase_add_test(t, visits_refused);
    tcase_add_test(t, matched_by_name);
    suite_add_tcase(s, t);
    return s;
}

TU_RUN(suite)
