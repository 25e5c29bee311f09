/* results_json.c — results.json (docs/outputs.md), written as it goes by
 * jsonout.c's streaming writer: the text json_dumps gives for the jansson tree
 * of the same members (JSON_INDENT(1), JSON_PRESERVE_ORDER,
 * JSON_REAL_PRECISION(10)), without building the tree. Numbers are written
 * independent of the locale; a value that could not be measured is null. As
 * with jansson, a text that is not UTF-8 leaves its member out. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "jsonout.h"

#define FLAGS (JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))

/* Rounded to what the measurement can carry, so files diff cleanly. */
static void num(ncs_jw *w, const char *key, double v, int decimals)
{
    if (!isfinite(v)) {
        ncs_jw_null(w, key);
        return;
    }
    static const double scale[] = {1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6};
    double k = decimals >= 0 && decimals <= 6 ? scale[decimals] : pow(10.0, decimals);
    double r = round(v * k) / k;
    ncs_jw_real(w, key, r == 0.0 ? 0.0 : r);
}

/* An object of n numbers (key, value, decimals). */
static void numbers_json(ncs_jw *w, const char *key, const char *const keys[],
                         const double vals[], const int dec[], size_t n)
{
    ncs_jw_open(w, key, '{');
    for (size_t i = 0; i < n; i++)
        num(w, keys[i], vals[i], dec[i]);
    ncs_jw_close(w, '}');
}

static void str_or_null(ncs_jw *w, const char *key, const char *s)
{
    if (s)
        ncs_jw_str(w, key, s);
    else
        ncs_jw_null(w, key);
}

static void flags_json(ncs_jw *w, const char *key, unsigned f)
{
    const char *names[NCS_FLAG__COUNT];
    size_t n = ncs_flag_names(f, names);
    ncs_jw_open(w, key, '[');
    for (size_t i = 0; i < n; i++)
        ncs_jw_str(w, NULL, names[i]);
    ncs_jw_close(w, ']');
}

static void abnormal_json(ncs_jw *w, const char *key, unsigned a)
{
    const char *names[NCS_ABN__COUNT];
    size_t n = ncs_abnormal_names(a, names);
    ncs_jw_open(w, key, '[');
    for (size_t i = 0; i < n; i++)
        ncs_jw_str(w, NULL, names[i]);
    ncs_jw_close(w, ']');
}

/* A finding's own members (its object left open for what follows). */
static void finding_members(ncs_jw *w, const ncs_finding *f)
{
    ncs_jw_str(w, "criteria", ncs_criteria_name(f->criteria));
    ncs_jw_str(w, "code", f->code);
    ncs_jw_bool(w, "counts", f->counts);
    ncs_jw_open(w, "because", '[');
    for (int i = 0; i < f->n_because; i++)
        ncs_jw_str(w, NULL, f->because[i]);
    ncs_jw_close(w, ']');
}

static void findings_json(ncs_jw *w, const char *key, const ncs_findings *fs)
{
    ncs_jw_open(w, key, '[');
    for (size_t i = 0; i < fs->count; i++) {
        ncs_jw_open(w, NULL, '{');
        finding_members(w, &fs->items[i]);
        ncs_jw_close(w, '}');
    }
    ncs_jw_close(w, ']');
}

static void site_json(ncs_jw *w, const ncs_site_result *sr)
{
    const ncs_site *d = sr->def;
    const ncs_markers *m = &sr->m;
    ncs_jw_open(w, NULL, '{');
    ncs_jw_str(w, "name", d->name);
    ncs_jw_str(w, "file", d->file);
    num(w, "distance_mm", d->distance_mm, 1);
    num(w, "fs_hz", sr->fs_hz, 1);
    if (d->exclude)
        ncs_jw_null(w, "response");
    else
        ncs_jw_bool(w, "response", m->response);
    num(w, "onset_ms", m->onset_ms, 3);
    num(w, "peak_ms", m->peak_ms, 3);
    num(w, "amp_mv", m->amp_mv, 3);
    num(w, "p2p_mv", m->p2p_mv, 3);
    num(w, "neg_dur_ms", m->neg_dur_ms, 3);
    num(w, "neg_area_mvms", m->neg_area_mvms, 3);
    num(w, "noise_uv", m->noise_uv, 1);
    static const char *const uk[5] = {"onset_ms", "peak_ms", "amp_mv", "neg_dur_ms",
                                      "neg_area_mvms"};
    static const int ud[5] = {3, 3, 3, 3, 3};
    const double uv[5] = {m->u.onset_ms, m->u.peak_ms, m->u.amp_mv, m->u.neg_dur_ms,
                          m->u.neg_area_mvms};
    numbers_json(w, "uncertainty", uk, uv, ud, 5);
    ncs_jw_open(w, "markers", '{');
    ncs_jw_str(w, "onset", m->manual_onset ? "manual" : "auto");
    ncs_jw_str(w, "peak", m->manual_peak ? "manual" : "auto");
    ncs_jw_str(w, "end", m->manual_end ? "manual" : "auto");
    ncs_jw_close(w, '}');
    flags_json(w, "flags", m->flags);
    abnormal_json(w, "abnormal", sr->abnormal);
    ncs_jw_open(w, "cleaning", '{');
    num(w, "baseline_mv", m->baseline_mv, 4);
    num(w, "drift_mv_per_s", m->drift_mv_per_s, 3);
    num(w, "step_mv", m->step_mv, 3);
    if (m->mains_hz > 0) {
        num(w, "mains_hz", m->mains_hz, 0);
        num(w, "mains_uv", m->mains_uv, 1);
    } else {
        ncs_jw_null(w, "mains_hz");
        ncs_jw_null(w, "mains_uv");
    }
    num(w, "artefact_end_ms", m->artefact_end_ms, 3);
    ncs_jw_close(w, '}');
    if (d->note)
        ncs_jw_str(w, "note", d->note);
    ncs_jw_close(w, '}');
}

/* A segment's members (its object left open: a span adds what it covers). */
static void segment_members(ncs_jw *w, const ncs_segment *g)
{
    ncs_jw_str(w, "from", g->from);
    ncs_jw_str(w, "to", g->to);
    num(w, "distance_mm", g->distance_mm, 1);
    num(w, "latency_diff_ms", g->latency_diff_ms, 3);
    num(w, "cv_m_s", g->cv_m_s, 1);
    num(w, "amp_drop_pct", g->amp_drop_pct, 1);
    num(w, "area_drop_pct", g->area_drop_pct, 1);
    num(w, "dur_increase_pct", g->dur_increase_pct, 1);
    static const char *const uk[5] = {"latency_diff_ms", "cv_m_s", "amp_drop_pct",
                                      "area_drop_pct", "dur_increase_pct"};
    static const int ud[5] = {3, 1, 1, 1, 1};
    const double uv[5] = {g->u.latency_diff_ms, g->u.cv_m_s, g->u.amp_drop_pct,
                          g->u.area_drop_pct, g->u.dur_increase_pct};
    numbers_json(w, "uncertainty", uk, uv, ud, 5);
    ncs_jw_bool(w, "borderline", g->borderline);
    if (g->inconsistent[0])
        ncs_jw_str(w, "inconsistent", g->inconsistent);
    if (g->inching) {
        num(w, "latency_ms_per_cm", g->latency_ms_per_cm, 3);
        num(w, "amp_drop_pct_per_cm", g->amp_drop_pct_per_cm, 2);
    }
    if (g->entrapment_site < 0)
        ncs_jw_null(w, "entrapment_site");
    else
        ncs_jw_bool(w, "entrapment_site", g->entrapment_site);
    str_or_null(w, "block", ncs_block_name(g->block));
    str_or_null(w, "block_because", g->block_because[0] ? g->block_because : NULL);
    findings_json(w, "findings", &g->findings);
    abnormal_json(w, "abnormal", g->abnormal);
}

/* The spans, each naming the segments it covers. */
static void spans_json(ncs_jw *w, const char *key, const ncs_nerve_result *nr)
{
    ncs_jw_open(w, key, '[');
    for (size_t j = 0; j < nr->n_spans; j++) {
        const ncs_segment *g = &nr->spans[j];
        ncs_jw_open(w, NULL, '{');
        segment_members(w, g);
        ncs_jw_open(w, "segments", '[');
        for (size_t k = 0; k < g->covers && k < nr->n_segments; k++) {
            char name[512];
            snprintf(name, sizeof name, "%s-%s", nr->segments[k].from, nr->segments[k].to);
            ncs_jw_str(w, NULL, name);
        }
        ncs_jw_close(w, ']');
        ncs_jw_close(w, '}');
    }
    ncs_jw_close(w, ']');
}

/* Every value outside its reference range, with the range. */
static void abnormal_values_json(ncs_jw *w, const char *key, const ncs_results *r)
{
    ncs_jw_open(w, key, '[');
    size_t n = ncs_abnormal_values(r, NULL, 0);
    ncs_abnormal_value *v = n ? calloc(n, sizeof *v) : NULL;
    if (!v) {
        ncs_jw_close(w, ']');
        return;
    }
    ncs_abnormal_values(r, v, n);
    for (size_t i = 0; i < n; i++) {
        char text[600];
        int dec = v[i].code == NCS_ABN_CV_SLOW ? 1 : 3;
        ncs_jw_open(w, NULL, '{');
        ncs_jw_str(w, "nerve", v[i].nerve->def->id);
        ncs_jw_str(w, "where", v[i].where);
        ncs_jw_str(w, "code", ncs_abnormal_name(v[i].code));
        num(w, "value", v[i].value, dec);
        num(w, "uncertainty", v[i].u, dec);
        num(w, "limit", v[i].limit, 1);
        ncs_jw_str(w, "unit", v[i].unit);
        str_or_null(w, "note", v[i].note[0] ? v[i].note : NULL);
        ncs_jw_str(w, "text", ncs_abnormal_value_text(&v[i], text, sizeof text));
        ncs_jw_close(w, '}');
    }
    free(v);
    ncs_jw_close(w, ']');
}

/* Side to side (docs/outputs.md): a pair per nerve recorded on both sides. */
static void sides_json(ncs_jw *w, const char *key, const ncs_results *r)
{
    ncs_jw_open(w, key, '[');
    for (size_t i = 0; i < r->n_sides; i++) {
        const ncs_side_pair *p = &r->sides[i];
        ncs_jw_open(w, NULL, '{');
        ncs_jw_str(w, "nerve", p->right->def->nerve);
        str_or_null(w, "muscle", p->right->def->muscle);
        ncs_jw_str(w, "right", p->right->def->id);
        ncs_jw_str(w, "left", p->left->def->id);
        num(w, "amp_ratio", p->amp_ratio, 3);
        num(w, "area_ratio", p->area_ratio, 3);
        num(w, "dml_diff_ms", p->dml_diff_ms, 3);
        static const char *const uk[3] = {"amp_ratio", "area_ratio", "dml_diff_ms"};
        static const int ud[3] = {3, 3, 3};
        const double uv[3] = {p->amp_ratio_u, p->area_ratio_u, p->dml_diff_u_ms};
        numbers_json(w, "uncertainty", uk, uv, ud, 3);
        ncs_jw_bool(w, "asymmetric", p->asymmetric);
        str_or_null(w, "smaller", p->smaller);
        str_or_null(w, "not_compared", p->why[0] ? p->why : NULL);
        ncs_jw_open(w, "segments", '[');
        for (size_t k = 0; k < p->n_segments; k++) {
            ncs_jw_open(w, NULL, '{');
            ncs_jw_str(w, "from", p->seg[k].from);
            ncs_jw_str(w, "to", p->seg[k].to);
            num(w, "cv_diff_m_s", p->seg[k].cv_diff_m_s, 1);
            str_or_null(w, "right_block", ncs_block_name(p->seg[k].right_block));
            str_or_null(w, "left_block", ncs_block_name(p->seg[k].left_block));
            ncs_jw_close(w, '}');
        }
        ncs_jw_close(w, ']');
        ncs_jw_close(w, '}');
    }
    ncs_jw_close(w, ']');
}

static void norm_json(ncs_jw *w, const char *key, const ncs_norm *n)
{
    if (!n) {
        ncs_jw_null(w, key);
        return;
    }
    ncs_jw_open(w, key, '{');
    str_or_null(w, "muscle", n->muscle[0] ? n->muscle : NULL);
    num(w, "amp_lln_mv", n->amp_lln_mv, 2);
    num(w, "dml_uln_ms", n->dml_uln_ms, 2);
    num(w, "dml_distance_mm", n->dml_distance_mm, 0);
    num(w, "cv_lln_m_s", n->cv_lln_m_s, 1);
    ncs_jw_str(w, "source", n->source);
    ncs_jw_close(w, '}');
}

/* One nerve's counted findings of criteria set k outside entrapment sites:
 * the nerve's own, the segments', then what the spans add. */
static void nerve_findings(ncs_jw *w, const ncs_nerve_result *nr, int k)
{
    for (size_t j = 0; j < nr->findings.count; j++) {
        const ncs_finding *f = &nr->findings.items[j];
        if ((int)f->criteria != k || !f->counts)
            continue;
        ncs_jw_open(w, NULL, '{');
        finding_members(w, f);
        ncs_jw_str(w, "nerve", nr->def->id);
        ncs_jw_null(w, "segment");
        ncs_jw_close(w, '}');
    }
    for (size_t g = 0; g < nr->n_segments + nr->n_spans; g++) {
        const ncs_segment *sg = g < nr->n_segments ? &nr->segments[g]
                                                   : &nr->spans[g - nr->n_segments];
        for (size_t j = 0; j < sg->findings.count; j++) {
            const ncs_finding *f = &sg->findings.items[j];
            if ((int)f->criteria != k || !f->counts
                || (sg->covers && !ncs_span_finding_new(nr, f)))
                continue;
            char name[256];
            snprintf(name, sizeof name, "%s-%s", sg->from, sg->to);
            ncs_jw_open(w, NULL, '{');
            finding_members(w, f);
            ncs_jw_str(w, "nerve", nr->def->id);
            ncs_jw_str(w, "segment", name);
            ncs_jw_bool(w, "span", sg->covers > 0);
            ncs_jw_close(w, '}');
        }
    }
}

/* The study's findings (docs/criteria.md): per criteria set evaluated, its summary
 * line and every counted finding outside entrapment sites, nerve by nerve. */
static void study_findings_json(ncs_jw *w, const char *key, const ncs_results *r)
{
    ncs_jw_open(w, key, '[');
    for (int k = 0; k < NCS_CRIT__COUNT; k++) {
        if (!r->evaluated[k])
            continue;
        ncs_jw_open(w, NULL, '{');
        ncs_jw_str(w, "criteria", ncs_criteria_name((ncs_criteria_id)k));
        ncs_jw_bool(w, "primary", k == (int)r->options.primary);
        str_or_null(w, "summary", r->summary[k]);
        ncs_jw_open(w, "items", '[');
        for (size_t i = 0; i < r->n_nerves; i++)
            nerve_findings(w, &r->nerves[i], k);
        ncs_jw_close(w, ']');
        ncs_jw_close(w, '}');
    }
    ncs_jw_close(w, ']');
}

const char *ncs_method_json(void)
{
    /* the numbers from ncs.h, so the text cannot drift from the code */
#define NCS_STR_(x) #x
#define NCS_STR(x) NCS_STR_(x)
    return "{\"onset_level_pct\": " NCS_STR(NCS_ONSET_LEVEL_PCT)
           ", \"smoothing_sigma_ms\": " NCS_STR(NCS_SMOOTH_SIGMA_MS)
           ", \"interference\": \"artefact, baseline, drift and mains detected and "
           "subtracted\"}";
}

/* The settings: the caller's object (parsed by jansson, so that what it
 * holds is written as jansson writes it) with the criteria and norms. */
static void settings_obj(ncs_jw *w, const char *key, const ncs_results *r,
                         const char *text)
{
    json_t *set = NULL;
    if (text)
        set = json_loads(text, 0, NULL);
    if (!json_is_object(set)) {
        json_decref(set);
        set = json_object();
    }
    json_object_set_new(set, "criteria", json_string(ncs_criteria_name(r->options.primary)));
    json_t *ev = json_array();
    for (int k = 0; k < NCS_CRIT__COUNT; k++)
        if (r->evaluated[k])
            json_array_append_new(ev, json_string(ncs_criteria_name((ncs_criteria_id)k)));
    json_object_set_new(set, "criteria_evaluated", ev);
    json_object_set_new(set, "norms", json_string(r->norms.origin));
    ncs_jw_tree(w, key, set);
    json_decref(set);
}

static void nerve_json(ncs_jw *w, const ncs_nerve_result *nr)
{
    ncs_jw_open(w, NULL, '{');
    ncs_jw_str(w, "id", nr->def->id);
    ncs_jw_str(w, "nerve", nr->def->nerve);
    ncs_jw_str(w, "side", nr->def->side);
    str_or_null(w, "muscle", nr->def->muscle);
    num(w, "temperature_c", nr->def->temperature_c, 1);
    ncs_jw_open(w, "sites", '[');
    for (size_t j = 0; j < nr->n_sites; j++)
        site_json(w, &nr->sites[j]);
    ncs_jw_close(w, ']');
    ncs_jw_open(w, "segments", '[');
    for (size_t j = 0; j < nr->n_segments; j++) {
        ncs_jw_open(w, NULL, '{');
        segment_members(w, &nr->segments[j]);
        ncs_jw_close(w, '}');
    }
    ncs_jw_close(w, ']');
    spans_json(w, "spans", nr);
    abnormal_json(w, "abnormal", nr->abnormal);
    norm_json(w, "norm", nr->norm);
    ncs_jw_bool(w, "low_temperature", nr->low_temperature);
    findings_json(w, "findings", &nr->findings);
    ncs_jw_close(w, '}');
}

char *ncs_results_json(const ncs_results *r, const char *settings_json)
{
    const ncs_study *st = r->study;
    ncs_jw w;
    ncs_jw_init(&w, FLAGS);
    ncs_jw_open(&w, NULL, '{');
    ncs_jw_str(&w, "schema", "ncs-results/1");
    ncs_jw_str(&w, "ncs_version", NCS_VERSION);
    str_or_null(&w, "inputs_hash", r->inputs_hash[0] ? r->inputs_hash : NULL);
    ncs_jw_open(&w, "study", '{');
    ncs_jw_str(&w, "id", st->id);
    str_or_null(&w, "patient", st->patient);
    ncs_jw_str(&w, "path", st->dir);
    str_or_null(&w, "date", st->date);
    num(&w, "temperature_c", st->temperature_c, 1);
    num(&w, "age_years", st->age_years, 1);
    num(&w, "height_cm", st->height_cm, 1);
    ncs_jw_int(&w, "lff_hz", st->lff_hz);
    str_or_null(&w, "note", st->note);
    ncs_jw_close(&w, '}');
    settings_obj(&w, "settings", r, settings_json);
    ncs_jw_open(&w, "nerves", '[');
    for (size_t i = 0; i < r->n_nerves; i++)
        nerve_json(&w, &r->nerves[i]);
    ncs_jw_close(&w, ']');
    study_findings_json(&w, "findings", r);
    abnormal_values_json(&w, "abnormal_values", r);
    sides_json(&w, "sides", r);
    str_or_null(&w, "sides_summary", r->sides_summary);
    ncs_jw_open(&w, "warnings", '[');
    for (size_t i = 0; i < r->warnings.count; i++) {
        ncs_jw_open(&w, NULL, '{');
        ncs_jw_str(&w, "where", r->warnings.items[i].where);
        ncs_jw_str(&w, "code", r->warnings.items[i].code);
        ncs_jw_str(&w, "message", r->warnings.items[i].message);
        ncs_jw_close(&w, '}');
    }
    ncs_jw_close(&w, ']');
    ncs_jw_close(&w, '}');
    return ncs_jw_finish(&w);
}
