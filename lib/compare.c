/* compare.c — one patient's visits side by side (docs/outputs.md,
 * compare.json): nerves matched by id, segments and spans by their two
 * sites' names, and each measure's trend against its own uncertainty. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *ncs_trend_name(ncs_trend t)
{
    switch (t) {
    case NCS_TREND_NONE:
        return "not-compared";
    case NCS_TREND_IMPROVING:
        return "improving";
    case NCS_TREND_STABLE:
        return "stable";
    case NCS_TREND_WORSENING:
        return "worsening";
    }
    return NULL;
}

int ncs_u_decimals(double u, int decimals)
{
    int d = decimals;
    while (d < decimals + 2 && isfinite(u) && u > 0 && round(u * pow(10.0, d)) == 0)
        d++;
    return d;
}

ncs_change ncs_change_of(ncs_vu a, ncs_vu b)
{
    ncs_change c = {NAN, NAN, 0, 0};
    /* a half-width may be infinite (a CV whose latency difference is within
     * its own uncertainty): known, never beyond; a missing one decides nothing */
    if (!isfinite(a.v) || !isfinite(b.v) || isnan(a.u) || isnan(b.u))
        return c;
    c.known = 1;
    c.d = b.v - a.v;
    c.u = hypot(a.u, b.u);
    c.sign = fabs(c.d) > c.u ? (c.d > 0 ? 1 : -1) : 0;
    return c;
}

ncs_trend ncs_trend_min(ncs_vu first, ncs_vu last, int worse_up, double min)
{
    ncs_change c = ncs_change_of(first, last);
    if (!c.known)
        return NCS_TREND_NONE;
    if (c.sign == 0 || fabs(c.d) < min)
        return NCS_TREND_STABLE;
    return (c.sign > 0) == (worse_up != 0) ? NCS_TREND_WORSENING : NCS_TREND_IMPROVING;
}

ncs_trend ncs_trend_of(ncs_vu first, ncs_vu last, int worse_up)
{
    return ncs_trend_min(first, last, worse_up, 0.0);
}

/* "; since the previous visit (2026-02-23): worsening, +30 ± 1" when the
 * last step goes another way than the whole follow-up (a relapse after a
 * response), into buf (n bytes); "" else. */
static ncs_trend last_step(char *buf, size_t n, const char *since, ncs_vu prev, ncs_vu last,
                           int worse_up, double min, ncs_trend overall, int decimals)
{
    buf[0] = '\0';
    ncs_trend t = ncs_trend_min(prev, last, worse_up, min);
    if (t == NCS_TREND_NONE || t == NCS_TREND_STABLE || t == overall)
        return NCS_TREND_NONE;
    ncs_change ch = ncs_change_of(prev, last);
    snprintf(buf, n, "; since the previous visit (%s): %s, %+.*f \u00b1 %.*f", since,
             ncs_trend_name(t), decimals, ch.d, ncs_u_decimals(ch.u, decimals), ch.u);
    return t;
}

const char *ncs_compare_headline(const ncs_compare_nerve *cn, char *buf, size_t n)
{
    snprintf(buf, n, "%s%s", ncs_trend_name(cn->trend),
             cn->relapse ? "; worsening since the previous visit" : "");
    return buf;
}

/* v rounded to `decimals` without a sign on zero ("-0") */
static double shown(double v, int decimals)
{
    double k = pow(10.0, decimals), r = round(v * k) / k;
    return r == 0.0 ? 0.0 : r;
}

static ncs_vu vu(double v, double u)
{
    ncs_vu x = {v, u};
    if (!isfinite(v))
        x.v = x.u = NAN;
    return x;
}

/* ---- building ---------------------------------------------------------- */

static void seg_visit(ncs_compare_seg_visit *sv, const ncs_segment *g)
{
    sv->present = 1;
    sv->inconsistent = g->inconsistent[0] != '\0';
    sv->cv_m_s = vu(g->cv_m_s, g->u.cv_m_s);
    sv->amp_drop_pct = vu(g->amp_drop_pct, g->u.amp_drop_pct);
    sv->area_drop_pct = vu(g->area_drop_pct, g->u.area_drop_pct);
    sv->dur_increase_pct = vu(g->dur_increase_pct, g->u.dur_increase_pct);
    sv->block = g->block;
    sv->borderline = g->borderline;
}

static ncs_compare_segment *seg_find(ncs_compare_nerve *cn, const ncs_segment *g, int span)
{
    for (size_t k = 0; k < cn->n_segments; k++) {
        ncs_compare_segment *s = &cn->segments[k];
        if (s->span == span && !strcmp(s->from, g->from) && !strcmp(s->to, g->to))
            return s;
    }
    return NULL;
}

static ncs_status seg_add(ncs_compare_nerve *cn, size_t *cap, const ncs_segment *g, int span,
                          size_t visit, size_t n_visits)
{
    ncs_compare_segment *s = seg_find(cn, g, span);
    if (!s) {
        if (cn->n_segments == *cap) {
            size_t nc = *cap ? 2 * *cap : 8;
            ncs_compare_segment *p = realloc(cn->segments, nc * sizeof *p);
            if (!p)
                return NCS_ERR_NOMEM;
            cn->segments = p;
            *cap = nc;
        }
        s = &cn->segments[cn->n_segments];
        memset(s, 0, sizeof *s);
        s->at = calloc(n_visits, sizeof *s->at);
        if (!s->at)
            return NCS_ERR_NOMEM;
        cn->n_segments++;
        s->from = g->from;
        s->to = g->to;
        s->span = span;
    }
    seg_visit(&s->at[visit], g);
    return NCS_OK;
}

static void nerve_visit(ncs_compare_nerve_visit *nv, const ncs_nerve_result *nr)
{
    nv->nr = nr;
    nv->amp_mv = nv->area_mvms = nv->onset_ms = vu(NAN, NAN);
    if (nr->n_sites == 0 || nr->sites[0].def->exclude)
        return;
    const ncs_site_result *sr = &nr->sites[0];
    nv->distal_site = sr->def->name;
    nv->amp_mv = vu(sr->m.amp_mv, sr->m.u.amp_mv);
    nv->area_mvms = vu(sr->m.neg_area_mvms, sr->m.u.neg_area_mvms);
    nv->onset_ms = vu(sr->m.onset_ms, sr->m.u.onset_ms);
}

/* A nerve's entry: the same id and the same recording muscle (recorded from
 * another muscle, it is another series of values, never compared). */
static ncs_compare_nerve *nerve_get(ncs_compare *c, size_t *cap, const char *id,
                                   const char *muscle)
{
    for (size_t i = 0; i < c->n_nerves; i++)
        if (!strcmp(c->nerves[i].id, id) && ncs_muscle_same(c->nerves[i].muscle, muscle))
            return &c->nerves[i];
    if (c->n_nerves == *cap) {
        size_t nc = *cap ? 2 * *cap : 8;
        ncs_compare_nerve *p = realloc(c->nerves, nc * sizeof *p);
        if (!p)
            return NULL;
        c->nerves = p;
        *cap = nc;
    }
    ncs_compare_nerve *cn = &c->nerves[c->n_nerves];
    memset(cn, 0, sizeof *cn);
    cn->at = calloc(c->n_visits, sizeof *cn->at);
    if (!cn->at)
        return NULL;
    c->n_nerves++;
    cn->id = id;
    cn->muscle = muscle;
    for (size_t v = 0; v < c->n_visits; v++)
        cn->at[v].amp_mv = cn->at[v].area_mvms = cn->at[v].onset_ms = vu(NAN, NAN);
    return cn;
}

static ncs_status add_visit(ncs_compare *c, size_t *ncap, size_t v)
{
    const ncs_results *r = c->visits[v];
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        ncs_compare_nerve *cn = nerve_get(c, ncap, nr->def->id, nr->def->muscle);
        if (!cn)
            return NCS_ERR_NOMEM;
        if (cn->at[v].nr) /* the same nerve twice in one study cannot be */
            continue;
        nerve_visit(&cn->at[v], nr);
        cn->n_present++;
        /* the segments' capacity is their count rounded up: kept implicit */
        size_t cap = cn->n_segments;
        for (size_t k = 0; k < nr->n_segments; k++)
            if (seg_add(cn, &cap, &nr->segments[k], 0, v, c->n_visits) != NCS_OK)
                return NCS_ERR_NOMEM;
        for (size_t k = 0; k < nr->n_spans; k++)
            if (seg_add(cn, &cap, &nr->spans[k], 1, v, c->n_visits) != NCS_OK)
                return NCS_ERR_NOMEM;
    }
    return NCS_OK;
}

/* ---- trends ------------------------------------------------------------ */

static const char *visit_date(const ncs_compare *c, size_t v)
{
    return c->visits[v]->study->date;
}

/* "82 → 61 → 31" of the visits where the value is (a dash where it is not) */
static void series(char *buf, size_t n, const ncs_vu *const *vals, size_t nv, int decimals)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t v = 0; v < nv && len < n; v++) {
        if (len + 24 > n && v + 1 < nv) {
            /* no room for the rest: the first values, "…", the last one */
            const ncs_vu *x = vals[nv - 1];
            if (x && isfinite(x->v))
                snprintf(buf + len, n - len, " \u2192 \u2026 \u2192 %.*f", decimals,
                         shown(x->v, decimals));
            else
                snprintf(buf + len, n - len, " \u2192 \u2026 \u2192 -");
            return;
        }
        const ncs_vu *x = vals[v];
        int k = x && isfinite(x->v)
                    ? snprintf(buf + len, n - len, "%s%.*f", v ? " → " : "", decimals,
                                     shown(x->v, decimals))
                    : snprintf(buf + len, n - len, "%s-", v ? " → " : "");
        if (k < 0)
            break;
        len += (size_t)k;
    }
}

/* The segment's values of one measure, by visit (NULL where absent or
 * inconsistent) */
static const ncs_vu *seg_value(const ncs_compare_segment *s, size_t v, int area)
{
    const ncs_compare_seg_visit *sv = &s->at[v];
    if (!sv->present || sv->inconsistent)
        return NULL;
    return area ? &sv->area_drop_pct : &sv->amp_drop_pct;
}

static void seg_trend(const ncs_compare *c, ncs_compare_segment *s)
{
    size_t first = c->n_visits, last = 0, n = 0;
    for (size_t v = 0; v < c->n_visits; v++)
        if (s->at[v].present) {
            if (first == c->n_visits)
                first = v;
            last = v;
            n++;
        }
    s->trend = NCS_TREND_NONE;
    if (n < 2) {
        snprintf(s->why, sizeof s->why, "at %s only", visit_date(c, first));
        return;
    }
    const ncs_vu *vals[NCS_COMPARE_MAX_VISITS];
    for (int area = 1; area >= 0 && s->trend == NCS_TREND_NONE; area--) {
        const ncs_vu *a = seg_value(s, first, area), *b = seg_value(s, last, area);
        if (!a || !b)
            continue;
        s->trend = ncs_trend_min(*a, *b, 1, NCS_COMPARE_MIN_DROP_PTS);
        if (s->trend == NCS_TREND_NONE)
            continue;
        size_t prev = last;
        for (size_t v = 0; v < c->n_visits; v++) {
            vals[v] = seg_value(s, v, area);
            prev = v < last && vals[v] ? v : prev;
        }
        char ser[200], step[120] = "";
        series(ser, sizeof ser, vals, c->n_visits, 0);
        ncs_change ch = ncs_change_of(*a, *b);
        if (prev != last && prev != first)
            s->last_worse = last_step(step, sizeof step, visit_date(c, prev), *vals[prev], *b, 1,
                                      NCS_COMPARE_MIN_DROP_PTS, s->trend, 0)
                            == NCS_TREND_WORSENING;
        snprintf(s->why, sizeof s->why, "%s drop %s %% (%+.0f ± %.*f %%%s)%s",
                 area ? "area" : "amplitude", ser, shown(ch.d, 0), ncs_u_decimals(ch.u, 0), ch.u,
                 s->trend == NCS_TREND_STABLE && ch.sign ? "; under the 10 points counted" : "",
                 step);
    }
    if (s->trend == NCS_TREND_NONE)
        snprintf(s->why, sizeof s->why, "%s", s->at[first].inconsistent || s->at[last].inconsistent
                                                  ? "its sites disagree at the first or last visit"
                                                  : "no area or amplitude drop at the first or "
                                                    "last visit");
}

static void amp_trend(const ncs_compare *c, ncs_compare_nerve *cn)
{
    size_t first = c->n_visits, last = 0;
    for (size_t v = 0; v < c->n_visits; v++)
        if (cn->at[v].nr) {
            if (first == c->n_visits)
                first = v;
            last = v;
        }
    cn->amp_trend = NCS_TREND_NONE;
    if (cn->n_present < 2) {
        snprintf(cn->amp_why, sizeof cn->amp_why, "recorded at %s only", visit_date(c, first));
        return;
    }
    const char *s1 = cn->at[first].distal_site, *s2 = cn->at[last].distal_site;
    if (!s1 || !s2 || strcmp(s1, s2) != 0) {
        snprintf(cn->amp_why, sizeof cn->amp_why, "distal site %s at %s, %s at %s: not compared",
                 s1 ? s1 : "excluded", visit_date(c, first), s2 ? s2 : "excluded",
                 visit_date(c, last));
        return;
    }
    const ncs_vu *vals[NCS_COMPARE_MAX_VISITS];
    for (size_t v = 0; v < c->n_visits; v++)
        vals[v] = cn->at[v].distal_site && !strcmp(cn->at[v].distal_site, s1)
                      ? &cn->at[v].amp_mv : NULL;
    char ser[200];
    series(ser, sizeof ser, vals, c->n_visits, 1);
    double min = NCS_COMPARE_MIN_AMP_PCT / 100.0 * fabs(cn->at[first].amp_mv.v);
    cn->amp_trend = ncs_trend_min(cn->at[first].amp_mv, cn->at[last].amp_mv, 0, min);
    ncs_change ch = ncs_change_of(cn->at[first].amp_mv, cn->at[last].amp_mv);
    size_t prev = first;
    for (size_t v = first + 1; v < last; v++)
        prev = vals[v] ? v : prev;
    char step[120] = "";
    if (prev != first && ch.known)
        cn->relapse = last_step(step, sizeof step, visit_date(c, prev), cn->at[prev].amp_mv,
                                cn->at[last].amp_mv, 0, min, cn->amp_trend, 2)
                      == NCS_TREND_WORSENING;
    if (ch.known)
        snprintf(cn->amp_why, sizeof cn->amp_why, "distal amplitude (%s) %s mV (%+.2f ± %.*f "
                 "mV%s)%s", s1, ser, shown(ch.d, 2), ncs_u_decimals(ch.u, 2), ch.u,
                 cn->amp_trend == NCS_TREND_STABLE && ch.sign ? "; under the 15 % counted" : "",
                 step);
    else
        snprintf(cn->amp_why, sizeof cn->amp_why, "distal amplitude (%s) %s mV: not measured "
                 "at the first or last visit", s1, ser);
}

/* How strongly a segment says its trend: the change of the measure that
 * decided it (area drop, else amplitude drop), first to last visit; for a
 * stable one, its last area drop (the worst block is the one to show). */
static double seg_weight(const ncs_compare *c, const ncs_compare_segment *s)
{
    size_t first = c->n_visits, last = 0;
    for (size_t v = 0; v < c->n_visits; v++)
        if (s->at[v].present) {
            if (first == c->n_visits)
                first = v;
            last = v;
        }
    if (first == c->n_visits)
        return -INFINITY;
    if (s->trend == NCS_TREND_STABLE)
        return isfinite(s->at[last].area_drop_pct.v) ? s->at[last].area_drop_pct.v : -INFINITY;
    for (int area = 1; area >= 0; area--) {
        const ncs_vu *a = seg_value(s, first, area), *b = seg_value(s, last, area);
        ncs_change ch = a && b ? ncs_change_of(*a, *b) : ncs_change_of(vu(NAN, NAN), vu(NAN, NAN));
        if (ch.known)
            return fabs(ch.d);
    }
    return -INFINITY;
}

/* The segments' trends together, and the one that decides them. */
static void block_trend(const ncs_compare *c, ncs_compare_nerve *cn)
{
    int worse = 0, better = 0, known = 0;
    for (size_t k = 0; k < cn->n_segments; k++) {
        ncs_trend t = cn->segments[k].trend;
        worse |= t == NCS_TREND_WORSENING;
        better |= t == NCS_TREND_IMPROVING;
        known |= t != NCS_TREND_NONE;
    }
    cn->block_trend = worse ? NCS_TREND_WORSENING : better ? NCS_TREND_IMPROVING
                    : known ? NCS_TREND_STABLE : NCS_TREND_NONE;
    const ncs_compare_segment *best = NULL;
    double best_v = -INFINITY;
    /* a segment first; a span only where no segment has the trend */
    for (int span = 0; span <= 1 && !best; span++)
        for (size_t k = 0; k < cn->n_segments; k++) {
            const ncs_compare_segment *s = &cn->segments[k];
            if (s->trend != cn->block_trend || s->span != span)
                continue;
            double v = seg_weight(c, s);
            if (!best || v > best_v)
                best = s, best_v = v;
        }
    cn->block_segment = best;
}

static void nerve_trend(const ncs_compare *c, ncs_compare_nerve *cn)
{
    for (size_t k = 0; k < cn->n_segments; k++)
        seg_trend(c, &cn->segments[k]);
    amp_trend(c, cn);
    block_trend(c, cn);
    ncs_trend a = cn->amp_trend, b = cn->block_trend;
    if (a == NCS_TREND_WORSENING || b == NCS_TREND_WORSENING)
        cn->trend = NCS_TREND_WORSENING;
    else if (a == NCS_TREND_IMPROVING || b == NCS_TREND_IMPROVING)
        cn->trend = NCS_TREND_IMPROVING;
    else if (a == NCS_TREND_STABLE && b != NCS_TREND_NONE)
        cn->trend = NCS_TREND_STABLE;
    else if (a == NCS_TREND_STABLE && cn->n_segments == 0)
        cn->trend = NCS_TREND_STABLE; /* a nerve of one site: its amplitude says it */
    else
        cn->trend = NCS_TREND_NONE;
    /* (amp_trend set relapse from the amplitude's last step) */
    for (size_t k = 0; k < cn->n_segments; k++)
        cn->relapse |= cn->segments[k].last_worse;
    if (cn->trend == NCS_TREND_WORSENING || cn->trend == NCS_TREND_NONE)
        cn->relapse = 0;
    char blk[NCS_COMPARE_WHY + 64] = "";
    const ncs_compare_segment *s = cn->block_segment;
    if (s)
        snprintf(blk, sizeof blk, "%s %s-%s %s (%s)", s->span ? "span" : "segment", s->from, s->to,
                 s->why, ncs_trend_name(s->trend));
    else
        snprintf(blk, sizeof blk, "no segment compared");
    char amp[NCS_COMPARE_WHY + 32];
    snprintf(amp, sizeof amp, "%s (%s)", cn->amp_why, ncs_trend_name(a));
    if (cn->n_present < 2) {
        snprintf(cn->why, sizeof cn->why, "%s", cn->amp_why);
        return;
    }
    /* what decided first */
    int amp_decides = cn->trend == a && (cn->trend != b || cn->trend == NCS_TREND_NONE);
    snprintf(cn->why, sizeof cn->why, "%s; %s", amp_decides ? amp : blk, amp_decides ? blk : amp);
}

/* ---- the visits --------------------------------------------------------- */

static ncs_compare *fail_null(ncs_compare *c, ncs_error *err, ncs_status code, const char *where,
                              const char *msg)
{
    ncs_compare_destroy(c);
    ncs_fail(err, code, where, "%s", msg);
    return NULL;
}

/* "a (Jane Roe), b (John Doe)" of the visits' `what` (patient or date) */
static void list_visits(char *buf, size_t n, const ncs_results *const *r, size_t nv, int dates)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t v = 0; v < nv && len < n; v++) {
        const char *x = dates ? r[v]->study->date : r[v]->study->patient;
        int k = snprintf(buf + len, n - len, "%s%s (%s%s%s)", v ? ", " : "", r[v]->study->id,
                         x ? (dates ? "" : "'") : "", x ? x : (dates ? "no date" : "no patient"),
                         x ? (dates ? "" : "'") : "");
        if (k < 0)
            break;
        len += (size_t)k;
    }
}

static int by_date(const void *a, const void *b)
{
    const ncs_results *x = *(const ncs_results *const *)a, *y = *(const ncs_results *const *)b;
    return strcmp(x->study->date, y->study->date);
}

/* The visits' rules: one patient, every date given and different. */
static ncs_status check_visits(const ncs_results *const *r, size_t n, ncs_error *err)
{
    char list[900];
    for (size_t v = 0; v < n; v++)
        if (!r[v]->study->patient || !r[v]->study->patient[0]) {
            list_visits(list, sizeof list, r, n, 0);
            return ncs_fail(err, NCS_ERR_VISITS, r[v]->study->ini_path,
                            "no `patient =` in [study]: the visits of one patient are compared "
                            "by it (%s)", list);
        }
    for (size_t v = 1; v < n; v++)
        if (strcmp(r[v]->study->patient, r[0]->study->patient) != 0) {
            list_visits(list, sizeof list, r, n, 0);
            return ncs_fail(err, NCS_ERR_VISITS, r[v]->study->ini_path,
                            "the visits are of different patients: %s", list);
        }
    for (size_t v = 0; v < n; v++)
        if (!r[v]->study->date) {
            list_visits(list, sizeof list, r, n, 1);
            return ncs_fail(err, NCS_ERR_VISITS, r[v]->study->ini_path,
                            "no `date =` in [study]: visits are put in date order (%s)", list);
        }
    for (size_t v = 0; v < n; v++)
        for (size_t w = v + 1; w < n; w++)
            if (!strcmp(r[v]->study->date, r[w]->study->date))
                return ncs_fail(err, NCS_ERR_VISITS, r[w]->study->ini_path,
                                "%s and %s have the same date %s: one visit a day (is one "
                                "of them given twice?)",
                                r[v]->study->id, r[w]->study->id, r[w]->study->date);
    return NCS_OK;
}

ncs_compare *ncs_compare_create(const ncs_results *const *visits, size_t n, ncs_error *err)
{
    ncs_error_clear(err);
    if (!visits || n < 2 || n > NCS_COMPARE_MAX_VISITS) {
        if (n < 2)
            ncs_fail(err, NCS_ERR_USAGE, "compare", "two visits or more are compared");
        else
            ncs_fail(err, NCS_ERR_USAGE, "compare", "at most %d visits are compared",
                     NCS_COMPARE_MAX_VISITS);
        return NULL;
    }
    for (size_t v = 0; v < n; v++)
        if (!visits[v] || !visits[v]->study)
            return fail_null(NULL, err, NCS_ERR_USAGE, "compare", "a visit without results");
    if (check_visits(visits, n, err) != NCS_OK)
        return NULL;
    ncs_compare *c = calloc(1, sizeof *c);
    const ncs_results **vs = c ? calloc(n, sizeof *vs) : NULL;
    if (!vs) {
        free(c);
        return fail_null(NULL, err, NCS_ERR_NOMEM, "compare", "out of memory");
    }
    memcpy(vs, visits, n * sizeof *vs);
    qsort(vs, n, sizeof *vs, by_date);
    c->visits = vs;
    c->n_visits = n;
    c->patient = vs[0]->study->patient;
    size_t ncap = 0;
    for (size_t v = 0; v < n; v++)
        if (add_visit(c, &ncap, v) != NCS_OK)
            return fail_null(c, err, NCS_ERR_NOMEM, "compare", "out of memory");
    for (size_t i = 0; i < c->n_nerves; i++)
        nerve_trend(c, &c->nerves[i]);
    return c;
}

void ncs_compare_destroy(ncs_compare *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_nerves; i++) {
        for (size_t k = 0; k < c->nerves[i].n_segments; k++)
            free(c->nerves[i].segments[k].at);
        free(c->nerves[i].segments);
        free(c->nerves[i].at);
    }
    free(c->nerves);
    free((void *)c->visits);
    free(c);
}
