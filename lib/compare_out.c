/* compare_out.c — a comparison's outputs (docs/outputs.md): compare.json,
 * compare.csv and the table on stdout. Numbers locale-independent; a value
 * not measured (or a visit without it) is null / an empty cell / '-'. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

/* ---- compare.json ------------------------------------------------------- */

static json_t *num(double v, int decimals)
{
    if (!isfinite(v))
        return json_null();
    double k = pow(10.0, decimals);
    double r = round(v * k) / k;
    return json_real(r == 0.0 ? 0.0 : r);
}

static json_t *change_json(ncs_change ch, int decimals)
{
    if (!ch.known)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "change", num(ch.d, decimals));
    json_object_set_new(o, "u", isfinite(ch.u) ? num(ch.u, decimals) : json_null());
    json_object_set_new(o, "beyond_u", json_boolean(ch.sign != 0));
    return o;
}

/* {"value", "u", "from_first", "from_previous"} of a measure at visit v;
 * first and prev point to its value at the nerve's or segment's first
 * visit and at the previous visit that has it (NULL: none) */
static json_t *measure_json(const ncs_vu *x, const ncs_vu *first, const ncs_vu *prev, int dec)
{
    json_t *o = json_object();
    json_object_set_new(o, "value", num(x->v, dec));
    json_object_set_new(o, "u", num(x->u, dec));
    json_object_set_new(o, "from_first", first ? change_json(ncs_change_of(*first, *x), dec)
                                               : json_null());
    json_object_set_new(o, "from_previous", prev ? change_json(ncs_change_of(*prev, *x), dec)
                                                 : json_null());
    return o;
}

/* a segment's measure k at one visit: CV, amplitude drop, area drop,
 * duration increase */
static const ncs_vu *seg_measure(const ncs_compare_seg_visit *sv, int k)
{
    return k == 0 ? &sv->cv_m_s : k == 1 ? &sv->amp_drop_pct
         : k == 2 ? &sv->area_drop_pct : &sv->dur_increase_pct;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* the segment's values at each visit: null where the visit has not the segment */
static json_t *segment_visits_json(const ncs_compare *c, const ncs_compare_segment *s)
{
    json_t *a = json_array();
    const ncs_compare_seg_visit *first = NULL, *prev = NULL;
    for (size_t v = 0; v < c->n_visits; v++) {
        const ncs_compare_seg_visit *sv = &s->at[v];
        if (!sv->present) {
            json_array_append_new(a, json_null());
            continue;
        }
        if (!first)
            first = sv;
        json_t *o = json_object();
        json_object_set_new(o, "visit", json_string(c->visits[v]->study->id));
        static const char *const keys[4] = {"cv_m_s", "amp_drop_pct", "area_drop_pct",
                                            "dur_increase_pct"};
        int cmp = sv != first && !sv->inconsistent && !first->inconsistent;
        int cmp_prev = cmp && prev && !prev->inconsistent;
        for (int k = 0; k < 4; k++)
            json_object_set_new(o, keys[k],
                                measure_json(seg_measure(sv, k), cmp ? seg_measure(first, k) : NULL,
                                             cmp_prev ? seg_measure(prev, k) : NULL, 1));
        json_object_set_new(o, "block", str_or_null(ncs_block_name(sv->block)));
        json_object_set_new(o, "borderline", json_boolean(sv->borderline));
        json_object_set_new(o, "sites_disagree", json_boolean(sv->inconsistent));
        json_array_append_new(a, o);
        prev = sv;
    }
    return a;
}

static json_t *distal_json(const ncs_compare *c, const ncs_compare_nerve *cn)
{
    json_t *a = json_array();
    const ncs_compare_nerve_visit *first = NULL, *prev = NULL;
    for (size_t v = 0; v < c->n_visits; v++) {
        const ncs_compare_nerve_visit *nv = &cn->at[v];
        if (!nv->nr) {
            json_array_append_new(a, json_null());
            continue;
        }
        if (!first)
            first = nv;
        /* compared only at the same distal site as the first visit's */
        int same = nv != first && nv->distal_site && first->distal_site
                   && !strcmp(nv->distal_site, first->distal_site);
        int same_prev = same && prev && prev->distal_site
                        && !strcmp(prev->distal_site, nv->distal_site);
        json_t *o = json_object();
        json_object_set_new(o, "visit", json_string(c->visits[v]->study->id));
        json_object_set_new(o, "site", str_or_null(nv->distal_site));
        json_object_set_new(o, "amp_mv", measure_json(&nv->amp_mv, same ? &first->amp_mv : NULL,
                                                      same_prev ? &prev->amp_mv : NULL, 3));
        json_object_set_new(o, "area_mvms",
                            measure_json(&nv->area_mvms, same ? &first->area_mvms : NULL,
                                         same_prev ? &prev->area_mvms : NULL, 3));
        json_object_set_new(o, "onset_ms", measure_json(&nv->onset_ms,
                                                        same ? &first->onset_ms : NULL,
                                                        same_prev ? &prev->onset_ms : NULL, 3));
        json_array_append_new(a, o);
        prev = nv;
    }
    return a;
}

static json_t *nerve_json(const ncs_compare *c, const ncs_compare_nerve *cn)
{
    json_t *jn = json_object();
    const ncs_nerve_def *d = NULL;
    for (size_t v = 0; v < c->n_visits && !d; v++)
        if (cn->at[v].nr)
            d = cn->at[v].nr->def;
    json_object_set_new(jn, "id", json_string(cn->id));
    json_object_set_new(jn, "nerve", json_string(d->nerve));
    json_object_set_new(jn, "side", json_string(d->side));
    json_object_set_new(jn, "muscle", str_or_null(d->muscle));
    json_t *pres = json_array();
    for (size_t v = 0; v < c->n_visits; v++)
        json_array_append_new(pres, json_boolean(cn->at[v].nr != NULL));
    json_object_set_new(jn, "present", pres);
    json_object_set_new(jn, "trend", json_string(ncs_trend_name(cn->trend)));
    json_object_set_new(jn, "relapse", json_boolean(cn->relapse));
    json_object_set_new(jn, "trend_why", json_string(cn->why));
    json_object_set_new(jn, "distal_amp_trend", json_string(ncs_trend_name(cn->amp_trend)));
    json_object_set_new(jn, "distal_amp_why", json_string(cn->amp_why));
    json_object_set_new(jn, "block_trend", json_string(ncs_trend_name(cn->block_trend)));
    const ncs_compare_segment *bs = cn->block_segment;
    char name[300];
    if (bs)
        snprintf(name, sizeof name, "%s-%s", bs->from, bs->to);
    json_object_set_new(jn, "block_segment", bs ? json_string(name) : json_null());
    json_object_set_new(jn, "distal", distal_json(c, cn));
    json_t *segs = json_array();
    for (size_t k = 0; k < cn->n_segments; k++) {
        const ncs_compare_segment *s = &cn->segments[k];
        json_t *js = json_object();
        json_object_set_new(js, "from", json_string(s->from));
        json_object_set_new(js, "to", json_string(s->to));
        json_object_set_new(js, "span", json_boolean(s->span));
        json_object_set_new(js, "visits", segment_visits_json(c, s));
        json_object_set_new(js, "trend", json_string(ncs_trend_name(s->trend)));
        json_object_set_new(js, "trend_why", json_string(s->why));
        json_array_append_new(segs, js);
    }
    json_object_set_new(jn, "segments", segs);
    return jn;
}

char *ncs_compare_json(const ncs_compare *c, const char *settings_json)
{
    json_t *root = json_object();
    json_object_set_new(root, "schema", json_string("ncs-compare/1"));
    json_object_set_new(root, "ncs_version", json_string(NCS_VERSION));
    json_object_set_new(root, "patient", json_string(c->patient));
    json_t *set = settings_json ? json_loads(settings_json, 0, NULL) : NULL;
    if (!json_is_object(set)) {
        json_decref(set);
        set = json_object();
    }
    json_object_set_new(set, "criteria",
                        json_string(ncs_criteria_name(c->visits[0]->options.primary)));
    json_object_set_new(set, "change_u", json_string("hypot of the two values' 95 % half-widths;"
                                                     " a change within it is stable"));
    /* (the least change a trend counts: fixed in ncs, recorded with what it decided) */
    json_object_set_new(set, "min_drop_pts", json_real(NCS_COMPARE_MIN_DROP_PTS));
    json_object_set_new(set, "min_amp_pct", json_real(NCS_COMPARE_MIN_AMP_PCT));
    json_object_set_new(root, "settings", set);
    json_t *vs = json_array();
    for (size_t v = 0; v < c->n_visits; v++) {
        const ncs_study *st = c->visits[v]->study;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_string(st->id));
        json_object_set_new(o, "date", json_string(st->date));
        json_object_set_new(o, "path", json_string(st->dir));
        json_object_set_new(o, "inputs_hash", str_or_null(c->visits[v]->inputs_hash[0]
                                                              ? c->visits[v]->inputs_hash
                                                              : NULL));
        json_array_append_new(vs, o);
    }
    json_object_set_new(root, "visits", vs);
    json_t *nerves = json_array();
    for (size_t i = 0; i < c->n_nerves; i++)
        json_array_append_new(nerves, nerve_json(c, &c->nerves[i]));
    json_object_set_new(root, "nerves", nerves);
    char *out = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    return out;
}

/* ---- compare.csv -------------------------------------------------------- */

static void cell(FILE *f, double v, int decimals)
{
    if (isfinite(v))
        fprintf(f, ",%.*f", decimals, v);
    else
        fputs(",", f);
}

static void change_cells(FILE *f, ncs_change ch, int decimals)
{
    cell(f, ch.known ? ch.d : NAN, decimals);
    cell(f, ch.known ? ch.u : NAN, decimals);
}

static const ncs_change no_change = {NAN, NAN, 0, 0};

static void row_start(FILE *f, const ncs_compare *c, size_t v, const ncs_compare_nerve *cn,
                      const char *kind, const char *from, const char *to)
{
    const ncs_study *st = c->visits[v]->study;
    ncs_csv_field(f, c->patient, 1);
    ncs_csv_field(f, st->id, 0);
    ncs_csv_field(f, st->date, 0);
    ncs_csv_field(f, cn->id, 0);
    ncs_csv_field(f, kind, 0);
    ncs_csv_field(f, from, 0);
    ncs_csv_field(f, to, 0);
}

static void distal_rows(FILE *f, const ncs_compare *c, const ncs_compare_nerve *cn)
{
    const ncs_compare_nerve_visit *first = NULL, *prev = NULL;
    for (size_t v = 0; v < c->n_visits; v++) {
        const ncs_compare_nerve_visit *nv = &cn->at[v];
        if (!nv->nr)
            continue;
        if (!first)
            first = nv;
        int same = nv != first && nv->distal_site && first->distal_site
                   && !strcmp(nv->distal_site, first->distal_site);
        int same_prev = same && prev->distal_site && !strcmp(prev->distal_site, nv->distal_site);
        row_start(f, c, v, cn, "distal", nv->distal_site, NULL);
        cell(f, nv->amp_mv.v, 3);
        cell(f, nv->amp_mv.u, 3);
        cell(f, nv->area_mvms.v, 3);
        cell(f, nv->area_mvms.u, 3);
        fputs(",,,,,,,,", f); /* the segment's columns */
        ncs_csv_field(f, "amp_mv", 0);
        change_cells(f, same ? ncs_change_of(first->amp_mv, nv->amp_mv) : no_change, 3);
        change_cells(f, same_prev ? ncs_change_of(prev->amp_mv, nv->amp_mv) : no_change, 3);
        fputs(",", f); /* block */
        ncs_csv_field(f, ncs_trend_name(cn->amp_trend), 0);
        ncs_csv_field(f, ncs_trend_name(cn->trend), 0);
        fputc('\n', f);
        prev = nv;
    }
}

static void segment_rows(FILE *f, const ncs_compare *c, const ncs_compare_nerve *cn,
                         const ncs_compare_segment *s)
{
    const ncs_compare_seg_visit *first = NULL, *prev = NULL;
    for (size_t v = 0; v < c->n_visits; v++) {
        const ncs_compare_seg_visit *sv = &s->at[v];
        if (!sv->present)
            continue;
        if (!first)
            first = sv;
        int cmp = sv != first && !sv->inconsistent && !first->inconsistent;
        row_start(f, c, v, cn, s->span ? "span" : "segment", s->from, s->to);
        fputs(",,,,", f); /* the distal columns */
        const ncs_vu *xs[4] = {&sv->cv_m_s, &sv->amp_drop_pct, &sv->area_drop_pct,
                               &sv->dur_increase_pct};
        for (int k = 0; k < 4; k++) {
            cell(f, xs[k]->v, 1);
            cell(f, xs[k]->u, 1);
        }
        ncs_csv_field(f, "area_drop_pct", 0);
        change_cells(f, cmp ? ncs_change_of(first->area_drop_pct, sv->area_drop_pct) : no_change,
                     1);
        change_cells(f, cmp && !prev->inconsistent
                            ? ncs_change_of(prev->area_drop_pct, sv->area_drop_pct) : no_change, 1);
        ncs_csv_field(f, ncs_block_name(sv->block), 0);
        ncs_csv_field(f, ncs_trend_name(s->trend), 0);
        ncs_csv_field(f, ncs_trend_name(cn->trend), 0);
        fputc('\n', f);
        prev = sv;
    }
}

ncs_status ncs_compare_csv(const ncs_compare *c, FILE *f)
{
    fputs("patient,visit,date,nerve,kind,from,to,amp_mv,amp_u_mv,area_mvms,area_u_mvms,"
          "cv_m_s,cv_u_m_s,amp_drop_pct,amp_drop_u_pct,area_drop_pct,area_drop_u_pct,"
          "dur_increase_pct,dur_increase_u_pct,trend_measure,change_from_first,"
          "change_from_first_u,change_from_previous,change_from_previous_u,block,trend,"
          "nerve_trend\n", f);
    for (size_t i = 0; i < c->n_nerves; i++) {
        const ncs_compare_nerve *cn = &c->nerves[i];
        distal_rows(f, c, cn);
        for (size_t k = 0; k < cn->n_segments; k++)
            segment_rows(f, c, cn, &cn->segments[k]);
    }
    return ferror(f) ? NCS_ERR_OUTPUT : NCS_OK;
}

/* ---- the table ---------------------------------------------------------- */

#define CELL_W 24 /* display columns of one visit's cell */

/* v rounded to `decimals` without a sign on zero ("-0") */
static double shown(double v, int decimals)
{
    double k = pow(10.0, decimals), r = round(v * k) / k;
    return r == 0.0 ? 0.0 : r;
}

/* "60.2±2.9 -19.9* -49.2*": the value and its 95 % half-width, then the
 * change from the previous visit and from the first ('*' beyond their
 * uncertainty), in CELL_W display columns (the ± is two bytes, one column) */
static void table_cell(FILE *f, const ncs_vu *x, const ncs_vu *prev, const ncs_vu *first,
                       int dec)
{
    char buf[96];
    int len;
    if (!x)
        len = snprintf(buf, sizeof buf, "(not recorded)");
    else if (!isfinite(x->v))
        len = snprintf(buf, sizeof buf, "-");
    else if (isfinite(x->u))
        len = snprintf(buf, sizeof buf, "%.*f\u00b1%.*f", dec, shown(x->v, dec),
                       ncs_u_decimals(x->u, dec), x->u) - 1;
    else
        len = snprintf(buf, sizeof buf, "%.*f\u00b1?", dec, shown(x->v, dec)) - 1;
    for (int k = 0; k < 2 && x; k++) {
        const ncs_vu *o = k ? first : prev;
        ncs_change ch = o ? ncs_change_of(*o, *x) : no_change;
        if (!o)
            continue;
        size_t l = strlen(buf);
        if (ch.known)
            len += snprintf(buf + l, sizeof buf - l, " %+.*f%s", dec, shown(ch.d, dec),
                            ch.sign ? "*" : "");
        else
            len += snprintf(buf + l, sizeof buf - l, " ?");
    }
    fprintf(f, "  %s%*s", buf, len < CELL_W ? CELL_W - len : 0, "");
}

static void table_row_end(FILE *f)
{
    fputc('\n', f);
}

static void distal_table(FILE *f, const ncs_compare *c, const ncs_compare_nerve *cn, int area)
{
    const ncs_compare_nerve_visit *first = NULL, *prev = NULL;
    fprintf(f, "  %-30s", area ? "distal area (mV ms)" : "distal amplitude (mV)");
    for (size_t v = 0; v < c->n_visits; v++) {
        const ncs_compare_nerve_visit *nv = &cn->at[v];
        if (!nv->nr) {
            table_cell(f, NULL, NULL, NULL, 0);
            continue;
        }
        if (!first)
            first = nv;
        int same = nv != first && nv->distal_site && first->distal_site
                   && !strcmp(nv->distal_site, first->distal_site);
        int same_prev = same && prev->distal_site && !strcmp(prev->distal_site, nv->distal_site);
        const ncs_vu *x = area ? &nv->area_mvms : &nv->amp_mv;
        table_cell(f, x, same_prev ? (area ? &prev->area_mvms : &prev->amp_mv) : NULL,
                   same ? (area ? &first->area_mvms : &first->amp_mv) : NULL, area ? 1 : 2);
        prev = nv;
    }
    table_row_end(f);
}

static void segment_table(FILE *f, const ncs_compare *c, const ncs_compare_segment *s)
{
    static const char *const label[4] = {"area drop (%)", "amp drop (%)", "duration +(%)",
                                         "CV (m/s)"};
    static const int measure[4] = {2, 1, 3, 0}; /* seg_measure's of the rows */
    char name[300];
    snprintf(name, sizeof name, "%s%s-%s", s->span ? "span " : "", s->from, s->to);
    fprintf(f, "  %s\n", name);
    for (int k = 0; k < 5; k++) {
        const ncs_compare_seg_visit *first = NULL, *prev = NULL;
        fprintf(f, "    %-28s", k < 4 ? label[k] : "block");
        for (size_t v = 0; v < c->n_visits; v++) {
            const ncs_compare_seg_visit *sv = &s->at[v];
            if (!sv->present) {
                table_cell(f, NULL, NULL, NULL, 0);
                continue;
            }
            if (!first)
                first = sv;
            if (k == 4) {
                char b[64];
                int len = snprintf(b, sizeof b, "%s%s%s", ncs_block_name(sv->block),
                                   sv->borderline ? " (borderline)" : "",
                                   sv->inconsistent ? " (sites disagree)" : "");
                fprintf(f, "  %s%*s", b, len < CELL_W ? CELL_W - len : 0, "");
                prev = sv;
                continue;
            }
            int cmp = sv != first && !sv->inconsistent && !first->inconsistent;
            int m = measure[k];
            table_cell(f, seg_measure(sv, m),
                       cmp && prev && !prev->inconsistent ? seg_measure(prev, m) : NULL,
                       cmp ? seg_measure(first, m) : NULL, k == 3 ? 1 : 0);
            prev = sv;
        }
        table_row_end(f);
    }
    fprintf(f, "    trend: %s: %s\n", ncs_trend_name(s->trend), s->why);
}

ncs_status ncs_compare_table(const ncs_compare *c, FILE *f)
{
    fprintf(f, "patient %s: %zu visits in date order\n", c->patient, c->n_visits);
    for (size_t v = 0; v < c->n_visits; v++)
        fprintf(f, "  %s  %s (%s)\n", c->visits[v]->study->date, c->visits[v]->study->id,
                c->visits[v]->study->dir);
    fprintf(f, "each cell: value ± 95 %%, then the change from the previous visit and from the "
               "first\n(* beyond the two values' combined uncertainty)\n");
    for (size_t i = 0; i < c->n_nerves; i++) {
        const ncs_compare_nerve *cn = &c->nerves[i];
        int shared = 0; /* the id recorded from two muscles: say which */
        for (size_t k = 0; k < c->n_nerves; k++)
            shared |= &c->nerves[k] != cn && !strcmp(c->nerves[k].id, cn->id);
        char head[96];
        fprintf(f, "\n%s%s%s%s: %s\n  %s\n", cn->id, shared ? " (" : "",
                shared && cn->muscle ? cn->muscle : shared ? "no muscle" : "",
                shared ? ")" : "", ncs_compare_headline(cn, head, sizeof head), cn->why);
        fprintf(f, "  %-30s", "");
        for (size_t v = 0; v < c->n_visits; v++)
            fprintf(f, "  %-*s", CELL_W, c->visits[v]->study->date);
        fputc('\n', f);
        distal_table(f, c, cn, 0);
        distal_table(f, c, cn, 1);
        for (size_t k = 0; k < cn->n_segments; k++)
            segment_table(f, c, &cn->segments[k]);
    }
    return ferror(f) ? NCS_ERR_OUTPUT : NCS_OK;
}
