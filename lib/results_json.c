/* results_json.c — results.json (docs/outputs.md) through jansson. Numbers are
 * written by jansson, independent of the locale; a value that could not be
 * measured is null. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "jsonout.h"

/* Rounded to what the measurement can carry, so files diff cleanly. */
static json_t *num(double v, int decimals)
{
    if (!isfinite(v))
        return json_null();
    static const double scale[] = {1.0, 10.0, 100.0, 1e3, 1e4, 1e5, 1e6};
    double k = decimals >= 0 && decimals <= 6 ? scale[decimals] : pow(10.0, decimals);
    double r = round(v * k) / k;
    return json_real(r == 0.0 ? 0.0 : r);
}

/* An object of n numbers (key, value, decimals). */
static json_t *numbers_json(const char *const keys[], const double vals[], const int dec[],
                            size_t n)
{
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(o, keys[i], num(vals[i], dec[i]));
    return o;
}

static json_t *str_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

static json_t *flags_json(unsigned f)
{
    const char *names[NCS_FLAG__COUNT];
    size_t n = ncs_flag_names(f, names);
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(names[i]));
    return a;
}

static json_t *abnormal_json(unsigned a)
{
    const char *names[NCS_ABN__COUNT];
    size_t n = ncs_abnormal_names(a, names);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(names[i]));
    return arr;
}

static json_t *finding_json(const ncs_finding *f)
{
    json_t *o = json_object();
    json_object_set_new(o, "criteria", json_string(ncs_criteria_name(f->criteria)));
    json_object_set_new(o, "code", json_string(f->code));
    json_object_set_new(o, "counts", json_boolean(f->counts));
    json_t *b = json_array();
    for (int i = 0; i < f->n_because; i++)
        json_array_append_new(b, json_string(f->because[i]));
    json_object_set_new(o, "because", b);
    return o;
}

static json_t *findings_json(const ncs_findings *fs)
{
    json_t *a = json_array();
    for (size_t i = 0; i < fs->count; i++)
        json_array_append_new(a, finding_json(&fs->items[i]));
    return a;
}

static json_t *site_json(const ncs_site_result *sr)
{
    const ncs_site *d = sr->def;
    const ncs_markers *m = &sr->m;
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(d->name));
    json_object_set_new(o, "file", json_string(d->file));
    json_object_set_new(o, "distance_mm", num(d->distance_mm, 1));
    json_object_set_new(o, "fs_hz", num(sr->fs_hz, 1));
    json_object_set_new(o, "response", d->exclude ? json_null() : json_boolean(m->response));
    json_object_set_new(o, "onset_ms", num(m->onset_ms, 3));
    json_object_set_new(o, "peak_ms", num(m->peak_ms, 3));
    json_object_set_new(o, "amp_mv", num(m->amp_mv, 3));
    json_object_set_new(o, "p2p_mv", num(m->p2p_mv, 3));
    json_object_set_new(o, "neg_dur_ms", num(m->neg_dur_ms, 3));
    json_object_set_new(o, "neg_area_mvms", num(m->neg_area_mvms, 3));
    json_object_set_new(o, "noise_uv", num(m->noise_uv, 1));
    static const char *const uk[5] = {"onset_ms", "peak_ms", "amp_mv", "neg_dur_ms",
                                      "neg_area_mvms"};
    static const int ud[5] = {3, 3, 3, 3, 3};
    const double uv[5] = {m->u.onset_ms, m->u.peak_ms, m->u.amp_mv, m->u.neg_dur_ms,
                          m->u.neg_area_mvms};
    json_object_set_new(o, "uncertainty", numbers_json(uk, uv, ud, 5));
    json_t *mk = json_object();
    json_object_set_new(mk, "onset", json_string(m->manual_onset ? "manual" : "auto"));
    json_object_set_new(mk, "peak", json_string(m->manual_peak ? "manual" : "auto"));
    json_object_set_new(mk, "end", json_string(m->manual_end ? "manual" : "auto"));
    json_object_set_new(o, "markers", mk);
    json_object_set_new(o, "flags", flags_json(m->flags));
    json_object_set_new(o, "abnormal", abnormal_json(sr->abnormal));
    json_t *cl = json_object();
    json_object_set_new(cl, "baseline_mv", num(m->baseline_mv, 4));
    json_object_set_new(cl, "drift_mv_per_s", num(m->drift_mv_per_s, 3));
    json_object_set_new(cl, "step_mv", num(m->step_mv, 3));
    json_object_set_new(cl, "mains_hz", m->mains_hz > 0 ? num(m->mains_hz, 0) : json_null());
    json_object_set_new(cl, "mains_uv", m->mains_hz > 0 ? num(m->mains_uv, 1) : json_null());
    json_object_set_new(cl, "artefact_end_ms", num(m->artefact_end_ms, 3));
    json_object_set_new(o, "cleaning", cl);
    if (d->note)
        json_object_set_new(o, "note", json_string(d->note));
    return o;
}

static json_t *segment_json(const ncs_segment *g)
{
    json_t *o = json_object();
    json_object_set_new(o, "from", json_string(g->from));
    json_object_set_new(o, "to", json_string(g->to));
    json_object_set_new(o, "distance_mm", num(g->distance_mm, 1));
    json_object_set_new(o, "latency_diff_ms", num(g->latency_diff_ms, 3));
    json_object_set_new(o, "cv_m_s", num(g->cv_m_s, 1));
    json_object_set_new(o, "amp_drop_pct", num(g->amp_drop_pct, 1));
    json_object_set_new(o, "area_drop_pct", num(g->area_drop_pct, 1));
    json_object_set_new(o, "dur_increase_pct", num(g->dur_increase_pct, 1));
    static const char *const uk[5] = {"latency_diff_ms", "cv_m_s", "amp_drop_pct",
                                      "area_drop_pct", "dur_increase_pct"};
    static const int ud[5] = {3, 1, 1, 1, 1};
    const double uv[5] = {g->u.latency_diff_ms, g->u.cv_m_s, g->u.amp_drop_pct,
                          g->u.area_drop_pct, g->u.dur_increase_pct};
    json_object_set_new(o, "uncertainty", numbers_json(uk, uv, ud, 5));
    json_object_set_new(o, "borderline", json_boolean(g->borderline));
    if (g->inconsistent[0])
        json_object_set_new(o, "inconsistent", json_string(g->inconsistent));
    if (g->inching) {
        json_object_set_new(o, "latency_ms_per_cm", num(g->latency_ms_per_cm, 3));
        json_object_set_new(o, "amp_drop_pct_per_cm", num(g->amp_drop_pct_per_cm, 2));
    }
    json_object_set_new(o, "entrapment_site", g->entrapment_site < 0
                                                  ? json_null()
                                                  : json_boolean(g->entrapment_site));
    json_object_set_new(o, "block", str_or_null(ncs_block_name(g->block)));
    json_object_set_new(o, "block_because",
                        g->block_because[0] ? json_string(g->block_because) : json_null());
    json_object_set_new(o, "findings", findings_json(&g->findings));
    json_object_set_new(o, "abnormal", abnormal_json(g->abnormal));
    return o;
}

/* The spans, each naming the segments it covers. */
static json_t *spans_json(const ncs_nerve_result *nr)
{
    json_t *a = json_array();
    for (size_t j = 0; j < nr->n_spans; j++) {
        const ncs_segment *g = &nr->spans[j];
        json_t *o = segment_json(g), *cov = json_array();
        for (size_t k = 0; k < g->covers && k < nr->n_segments; k++) {
            char name[512];
            snprintf(name, sizeof name, "%s-%s", nr->segments[k].from, nr->segments[k].to);
            json_array_append_new(cov, json_string(name));
        }
        json_object_set_new(o, "segments", cov);
        json_array_append_new(a, o);
    }
    return a;
}

/* Every value outside its reference range, with the range. */
static json_t *abnormal_values_json(const ncs_results *r)
{
    json_t *a = json_array();
    size_t n = ncs_abnormal_values(r, NULL, 0);
    ncs_abnormal_value *v = n ? calloc(n, sizeof *v) : NULL;
    if (!v)
        return a;
    ncs_abnormal_values(r, v, n);
    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();
        char text[600];
        json_object_set_new(o, "nerve", json_string(v[i].nerve->def->id));
        json_object_set_new(o, "where", json_string(v[i].where));
        json_object_set_new(o, "code", json_string(ncs_abnormal_name(v[i].code)));
        json_object_set_new(o, "value", num(v[i].value, v[i].code == NCS_ABN_CV_SLOW ? 1 : 3));
        json_object_set_new(o, "uncertainty", num(v[i].u, v[i].code == NCS_ABN_CV_SLOW ? 1 : 3));
        json_object_set_new(o, "limit", num(v[i].limit, 1));
        json_object_set_new(o, "unit", json_string(v[i].unit));
        json_object_set_new(o, "note", v[i].note[0] ? json_string(v[i].note) : json_null());
        json_object_set_new(o, "text", json_string(ncs_abnormal_value_text(&v[i], text,
                                                                           sizeof text)));
        json_array_append_new(a, o);
    }
    free(v);
    return a;
}

/* Side to side (docs/outputs.md): a pair per nerve recorded on both sides. */
static json_t *sides_json(const ncs_results *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->n_sides; i++) {
        const ncs_side_pair *p = &r->sides[i];
        json_t *o = json_object();
        json_object_set_new(o, "nerve", json_string(p->right->def->nerve));
        json_object_set_new(o, "muscle", str_or_null(p->right->def->muscle));
        json_object_set_new(o, "right", json_string(p->right->def->id));
        json_object_set_new(o, "left", json_string(p->left->def->id));
        json_object_set_new(o, "amp_ratio", num(p->amp_ratio, 3));
        json_object_set_new(o, "area_ratio", num(p->area_ratio, 3));
        json_object_set_new(o, "dml_diff_ms", num(p->dml_diff_ms, 3));
        static const char *const uk[3] = {"amp_ratio", "area_ratio", "dml_diff_ms"};
        static const int ud[3] = {3, 3, 3};
        const double uv[3] = {p->amp_ratio_u, p->area_ratio_u, p->dml_diff_u_ms};
        json_object_set_new(o, "uncertainty", numbers_json(uk, uv, ud, 3));
        json_object_set_new(o, "asymmetric", json_boolean(p->asymmetric));
        json_object_set_new(o, "smaller", str_or_null(p->smaller));
        json_object_set_new(o, "not_compared", p->why[0] ? json_string(p->why) : json_null());
        json_t *segs = json_array();
        for (size_t k = 0; k < p->n_segments; k++) {
            json_t *g = json_object();
            json_object_set_new(g, "from", json_string(p->seg[k].from));
            json_object_set_new(g, "to", json_string(p->seg[k].to));
            json_object_set_new(g, "cv_diff_m_s", num(p->seg[k].cv_diff_m_s, 1));
            json_object_set_new(g, "right_block", str_or_null(ncs_block_name(p->seg[k].right_block)));
            json_object_set_new(g, "left_block", str_or_null(ncs_block_name(p->seg[k].left_block)));
            json_array_append_new(segs, g);
        }
        json_object_set_new(o, "segments", segs);
        json_array_append_new(a, o);
    }
    return a;
}

static json_t *norm_json(const ncs_norm *n)
{
    if (!n)
        return json_null();
    json_t *o = json_object();
    json_object_set_new(o, "muscle", n->muscle[0] ? json_string(n->muscle) : json_null());
    json_object_set_new(o, "amp_lln_mv", num(n->amp_lln_mv, 2));
    json_object_set_new(o, "dml_uln_ms", num(n->dml_uln_ms, 2));
    json_object_set_new(o, "dml_distance_mm", num(n->dml_distance_mm, 0));
    json_object_set_new(o, "cv_lln_m_s", num(n->cv_lln_m_s, 1));
    json_object_set_new(o, "source", json_string(n->source));
    return o;
}

/* The study's findings (docs/criteria.md): per criteria set evaluated, its summary
 * line and every counted finding outside entrapment sites, nerve by nerve. */
static json_t *study_findings_json(const ncs_results *r)
{
    json_t *all = json_array();
    for (int k = 0; k < NCS_CRIT__COUNT; k++) {
        if (!r->evaluated[k])
            continue;
        json_t *o = json_object(), *items = json_array();
        json_object_set_new(o, "criteria", json_string(ncs_criteria_name((ncs_criteria_id)k)));
        json_object_set_new(o, "primary", json_boolean(k == (int)r->options.primary));
        json_object_set_new(o, "summary", str_or_null(r->summary[k]));
        for (size_t i = 0; i < r->n_nerves; i++) {
            const ncs_nerve_result *nr = &r->nerves[i];
            for (size_t j = 0; j < nr->findings.count; j++) {
                const ncs_finding *f = &nr->findings.items[j];
                if ((int)f->criteria != k || !f->counts)
                    continue;
                json_t *it = finding_json(f);
                json_object_set_new(it, "nerve", json_string(nr->def->id));
                json_object_set_new(it, "segment", json_null());
                json_array_append_new(items, it);
            }
            /* the segments' counted findings, then what the spans add */
            for (size_t g = 0; g < nr->n_segments + nr->n_spans; g++) {
                const ncs_segment *sg = g < nr->n_segments ? &nr->segments[g]
                                                           : &nr->spans[g - nr->n_segments];
                for (size_t j = 0; j < sg->findings.count; j++) {
                    const ncs_finding *f = &sg->findings.items[j];
                    if ((int)f->criteria != k || !f->counts
                        || (sg->covers && !ncs_span_finding_new(nr, f)))
                        continue;
                    json_t *it = finding_json(f);
                    char name[256];
                    snprintf(name, sizeof name, "%s-%s", sg->from, sg->to);
                    json_object_set_new(it, "nerve", json_string(nr->def->id));
                    json_object_set_new(it, "segment", json_string(name));
                    json_object_set_new(it, "span", json_boolean(sg->covers > 0));
                    json_array_append_new(items, it);
                }
            }
        }
        json_object_set_new(o, "items", items);
        json_array_append_new(all, o);
    }
    return all;
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

char *ncs_results_json(const ncs_results *r, const char *settings_json)
{
    const ncs_study *st = r->study;
    json_t *root = json_object();
    json_object_set_new(root, "schema", json_string("ncs-results/1"));
    json_object_set_new(root, "ncs_version", json_string(NCS_VERSION));
    json_object_set_new(root, "inputs_hash", str_or_null(r->inputs_hash[0] ? r->inputs_hash
                                                                         : NULL));
    json_t *js = json_object();
    json_object_set_new(js, "id", json_string(st->id));
    json_object_set_new(js, "patient", str_or_null(st->patient));
    json_object_set_new(js, "path", json_string(st->dir));
    json_object_set_new(js, "date", str_or_null(st->date));
    json_object_set_new(js, "temperature_c", num(st->temperature_c, 1));
    json_object_set_new(js, "age_years", num(st->age_years, 1));
    json_object_set_new(js, "height_cm", num(st->height_cm, 1));
    json_object_set_new(js, "lff_hz", json_integer(st->lff_hz));
    json_object_set_new(js, "note", str_or_null(st->note));
    json_object_set_new(root, "study", js);
    json_t *set = NULL;
    if (settings_json)
        set = json_loads(settings_json, 0, NULL);
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
    json_object_set_new(root, "settings", set);
    json_t *nerves = json_array();
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        json_t *jn = json_object();
        json_object_set_new(jn, "id", json_string(nr->def->id));
        json_object_set_new(jn, "nerve", json_string(nr->def->nerve));
        json_object_set_new(jn, "side", json_string(nr->def->side));
        json_object_set_new(jn, "muscle", str_or_null(nr->def->muscle));
        json_object_set_new(jn, "temperature_c", num(nr->def->temperature_c, 1));
        json_t *sites = json_array(), *segs = json_array();
        for (size_t j = 0; j < nr->n_sites; j++)
            json_array_append_new(sites, site_json(&nr->sites[j]));
        for (size_t j = 0; j < nr->n_segments; j++)
            json_array_append_new(segs, segment_json(&nr->segments[j]));
        json_object_set_new(jn, "sites", sites);
        json_object_set_new(jn, "segments", segs);
        json_object_set_new(jn, "spans", spans_json(nr));
        json_object_set_new(jn, "abnormal", abnormal_json(nr->abnormal));
        json_object_set_new(jn, "norm", norm_json(nr->norm));
        json_object_set_new(jn, "low_temperature", json_boolean(nr->low_temperature));
        json_object_set_new(jn, "findings", findings_json(&nr->findings));
        json_array_append_new(nerves, jn);
    }
    json_object_set_new(root, "nerves", nerves);
    json_object_set_new(root, "findings", study_findings_json(r));
    json_object_set_new(root, "abnormal_values", abnormal_values_json(r));
    json_object_set_new(root, "sides", sides_json(r));
    json_object_set_new(root, "sides_summary", str_or_null(r->sides_summary));
    json_t *warns = json_array();
    for (size_t i = 0; i < r->warnings.count; i++) {
        json_t *w = json_object();
        json_object_set_new(w, "where", json_string(r->warnings.items[i].where));
        json_object_set_new(w, "code", json_string(r->warnings.items[i].code));
        json_object_set_new(w, "message", json_string(r->warnings.items[i].message));
        json_array_append_new(warns, w);
    }
    json_object_set_new(root, "warnings", warns);
    char *out = ncs_json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    json_decref(root);
    return out;
}
