/* sides.c — side to side (docs/criteria.md, EFNS/PNS 2010: MMN is
 * asymmetric): each nerve recorded from the same muscle on both sides,
 * the left/right ratio of the distal amplitude and area, the difference of
 * the distal latency and of the CV of segments named alike, the block on
 * each side, and `asymmetric` when one distal amplitude is below half the
 * other's. A value whose trace decides nothing (flagged) is not compared.
 * Also the study-level list of the values outside their reference range. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* the distal response is the first site's (excluded: none) */
static const ncs_site_result *distal_site(const ncs_nerve_result *nr)
{
    return nr->n_sites && !nr->sites[0].def->exclude ? &nr->sites[0] : NULL;
}

/* Why a distal trace's amplitude cannot be compared, or NULL. */
static const char *unusable(const ncs_site_result *d)
{
    if (!d)
        return "no site";
    const ncs_markers *m = &d->m;
    if (m->flags & NCS_FLAG_CLIPPED)
        return "clipped";
    if (m->flags & NCS_FLAG_INVERTED_SUSPECTED)
        return "inverted-polarity-suspected";
    if (m->flags & NCS_FLAG_IMPLAUSIBLE_AMPLITUDE)
        return "implausible-amplitude";
    if (m->uncertain & NCS_UNCERTAIN_AMP)
        return "uncertain";
    if (m->response && !isfinite(m->amp_mv))
        return "not measured";
    return NULL;
}

/* a / b and its 95 % half-width, the errors independent */
static void ratio(double a, double ua, double b, double ub, double *r, double *u)
{
    *r = *u = NAN;
    if (!(b > 0) || !isfinite(a))
        return;
    *r = a / b;
    if (a > 0 && isfinite(ua) && isfinite(ub))
        *u = *r * hypot(ua / a, ub / b);
}

static int same_muscle(const ncs_nerve_def *a, const ncs_nerve_def *b)
{
    return ncs_muscle_same(a->muscle, b->muscle);
}

/* Whether two site names are one place of the nerve ("fib-head" and
 * "fibular-head"; names ncs cannot place only when written alike). */
static int same_site(const char *nerve, const char *a, const char *b)
{
    ncs_site_place pa, pb;
    if (ncs_site_place_of(nerve, a, &pa) && ncs_site_place_of(nerve, b, &pb))
        return ncs_site_place_cmp(&pa, &pb) == 0;
    return strcmp(a, b) == 0;
}

/* Whether the CV of segment g rests on an onset flagged uncertain (or has
 * an interval with no upper end): its difference between the sides then
 * says nothing, as the distal latency's does not. */
static int cv_unsure(const ncs_nerve_result *nr, const ncs_segment *g)
{
    if (!isfinite(g->u.cv_m_s))
        return 1;
    for (size_t j = 0; j < nr->n_sites; j++)
        if ((strcmp(nr->sites[j].def->name, g->from) == 0
             || strcmp(nr->sites[j].def->name, g->to) == 0)
            && (nr->sites[j].m.uncertain & NCS_UNCERTAIN_ONSET))
            return 1;
    return 0;
}

static void compare(ncs_side_pair *p)
{
    const ncs_site_result *dr = distal_site(p->right), *dl = distal_site(p->left);
    const char *ur = unusable(dr), *ul = unusable(dl);
    p->amp_ratio = p->amp_ratio_u = p->area_ratio = p->area_ratio_u = NAN;
    p->dml_diff_ms = p->dml_diff_u_ms = NAN;
    if (ur || ul) {
        snprintf(p->why, sizeof p->why, "the %s distal trace is %s", ur ? "right" : "left",
                 ur ? ur : ul);
    } else {
        /* an absent response is amplitude 0: as asymmetric as can be */
        double ar = dr->m.response ? dr->m.amp_mv : 0.0, al = dl->m.response ? dl->m.amp_mv : 0.0;
        double sr = dr->m.response ? dr->m.neg_area_mvms : 0.0,
               sl = dl->m.response ? dl->m.neg_area_mvms : 0.0;
        ratio(al, dl->m.u.amp_mv, ar, dr->m.u.amp_mv, &p->amp_ratio, &p->amp_ratio_u);
        ratio(sl, dl->m.u.neg_area_mvms, sr, dr->m.u.neg_area_mvms, &p->area_ratio,
              &p->area_ratio_u);
        if (ar > 0 || al > 0) {
            p->asymmetric = al < NCS_ASYMMETRY_RATIO * ar || ar < NCS_ASYMMETRY_RATIO * al;
            p->smaller = !p->asymmetric ? NULL : al < ar ? "left" : "right";
        }
        if (dr->m.response && dl->m.response && isfinite(dr->m.onset_ms)
            && isfinite(dl->m.onset_ms) && !(dr->m.uncertain & NCS_UNCERTAIN_ONSET)
            && !(dl->m.uncertain & NCS_UNCERTAIN_ONSET)) {
            p->dml_diff_ms = dl->m.onset_ms - dr->m.onset_ms;
            p->dml_diff_u_ms = hypot(dl->m.u.onset_ms, dr->m.u.onset_ms);
        }
    }
    for (size_t k = 0; k < p->right->n_segments && p->n_segments < NCS_MAX_SIDE_SEGMENTS; k++) {
        const ncs_segment *gr = &p->right->segments[k];
        for (size_t j = 0; j < p->left->n_segments; j++) {
            const ncs_segment *gl = &p->left->segments[j];
            const char *nv = p->right->def->nerve;
            if (!same_site(nv, gr->from, gl->from) || !same_site(nv, gr->to, gl->to))
                continue;
            size_t i = p->n_segments++;
            p->seg[i].from = gr->from;
            p->seg[i].to = gr->to;
            p->seg[i].cv_diff_m_s = gl->inconsistent[0] || gr->inconsistent[0]
                                            || cv_unsure(p->left, gl) || cv_unsure(p->right, gr)
                                        ? NAN : gl->cv_m_s - gr->cv_m_s;
            p->seg[i].right_block = gr->block;
            p->seg[i].left_block = gl->block;
            break;
        }
    }
}

/* "side to side: median (APB) left distal amplitude 38 % of right's (asymmetric); ..." */
static char *summary(const ncs_results *r)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fputs("side to side:", f);
    int any = 0;
    for (size_t i = 0; i < r->n_sides; i++) {
        const ncs_side_pair *p = &r->sides[i];
        const char *nerve = p->right->def->nerve;
        fprintf(f, "%s %s", i ? ";" : "", nerve);
        if (p->why[0]) {
            fprintf(f, " not compared (%s)", p->why);
            continue;
        }
        double pct = 100.0 * p->amp_ratio;
        if (p->asymmetric) {
            double small = strcmp(p->smaller, "left") == 0 ? pct : 1e4 / pct;
            fprintf(f, " %s distal amplitude %.0f %% of the other side's (asymmetric)",
                    p->smaller, small);
            any = 1;
        } else {
            fprintf(f, " left/right distal amplitude %.2f", p->amp_ratio);
        }
    }
    if (!any)
        fputs(" (no asymmetric nerve)", f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

ncs_status ncs_sides_compare(ncs_results *r, ncs_error *err)
{
    size_t cap = r->n_nerves / 2 + 1;
    r->sides = calloc(cap, sizeof *r->sides);
    if (!r->sides)
        return ncs_fail(err, NCS_ERR_NOMEM, r->study->ini_path, "out of memory");
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *a = &r->nerves[i];
        if (strcmp(a->def->side, "right") != 0)
            continue;
        for (size_t j = 0; j < r->n_nerves && r->n_sides < cap; j++) {
            const ncs_nerve_result *b = &r->nerves[j];
            if (strcmp(b->def->side, "left") != 0 || strcmp(a->def->nerve, b->def->nerve) != 0
                || !same_muscle(a->def, b->def))
                continue;
            ncs_side_pair *p = &r->sides[r->n_sides++];
            p->right = a;
            p->left = b;
            compare(p);
            if (p->asymmetric) {
                char where[512];
                snprintf(where, sizeof where, "%s/%s", r->study->id, a->def->nerve);
                ncs_warn(&r->warnings, where, "asymmetric",
                         "the %s distal amplitude is below half the other side's (left/right "
                         "%.2f): MMN and most of its mimics are asymmetric", p->smaller,
                         p->amp_ratio);
            }
            break;
        }
    }
    if (r->n_sides && !(r->sides_summary = summary(r)))
        return ncs_fail(err, NCS_ERR_NOMEM, r->study->ini_path, "out of memory");
    return NCS_OK;
}

/* ---- the values outside their reference range ---------------------------- */

static void abnormal_add(ncs_abnormal_value *out, size_t max, size_t *n,
                         const ncs_nerve_result *nr, const char *where, unsigned code,
                         double v, double u)
{
    if (*n < max) {
        ncs_abnormal_value *a = &out[*n];
        const ncs_norm *nm = nr->norm;
        a->nerve = nr;
        snprintf(a->where, sizeof a->where, "%s", where);
        a->code = code;
        a->value = v;
        a->u = u;
        a->what = code == NCS_ABN_DML_PROLONGED ? "distal latency"
                : code == NCS_ABN_AMP_LOW ? "amplitude" : "CV";
        a->unit = code == NCS_ABN_DML_PROLONGED ? "ms" : code == NCS_ABN_AMP_LOW ? "mV" : "m/s";
        a->limit = !nm ? NAN : code == NCS_ABN_DML_PROLONGED ? nm->dml_uln_ms
                 : code == NCS_ABN_AMP_LOW ? nm->amp_lln_mv : nm->cv_lln_m_s;
        a->relation = code == NCS_ABN_DML_PROLONGED ? "<=" : ">=";
        a->note[0] = '\0';
        const ncs_site_result *d = distal_site(nr);
        if (code == NCS_ABN_AMP_LOW && d && !d->m.response)
            snprintf(a->note, sizeof a->note, "no response");
        else if (code == NCS_ABN_DML_PROLONGED && nm && d && isfinite(nm->dml_distance_mm)
                 && fabs(d->def->distance_mm - nm->dml_distance_mm) > 10.0)
            snprintf(a->note, sizeof a->note, "measured at %.0f mm; the limit holds at %.0f mm",
                     d->def->distance_mm, nm->dml_distance_mm);
    }
    (*n)++;
}

size_t ncs_abnormal_values(const ncs_results *r, ncs_abnormal_value *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        const ncs_site_result *d = distal_site(nr);
        if (d && !d->m.response && nr->norm && isfinite(nr->norm->amp_lln_mv))
            abnormal_add(out, max, &n, nr, d->def->name, NCS_ABN_AMP_LOW, 0.0, NAN);
        for (size_t j = 0; j < nr->n_sites; j++) {
            const ncs_site_result *sr = &nr->sites[j];
            if (sr->abnormal & NCS_ABN_DML_PROLONGED)
                abnormal_add(out, max, &n, nr, sr->def->name, NCS_ABN_DML_PROLONGED,
                             sr->m.onset_ms, sr->m.u.onset_ms);
            if (sr->abnormal & NCS_ABN_AMP_LOW)
                abnormal_add(out, max, &n, nr, sr->def->name, NCS_ABN_AMP_LOW, sr->m.amp_mv,
                             sr->m.u.amp_mv);
        }
        for (size_t k = 0; k < nr->n_segments; k++) {
            const ncs_segment *g = &nr->segments[k];
            if (!(g->abnormal & NCS_ABN_CV_SLOW))
                continue;
            char where[300];
            snprintf(where, sizeof where, "%s-%s", g->from, g->to);
            abnormal_add(out, max, &n, nr, where, NCS_ABN_CV_SLOW, g->cv_m_s, g->u.cv_m_s);
        }
    }
    return n;
}

char *ncs_abnormal_value_text(const ncs_abnormal_value *a, char *buf, size_t n)
{
    int d = a->code == NCS_ABN_CV_SLOW ? 1 : 2;
    char pm[48] = "";
    if (isfinite(a->u))
        snprintf(pm, sizeof pm, " \u00b1 %.*f", d, a->u);
    if (!strcmp(a->note, "no response")) {
        snprintf(buf, n, "%s %s: no response (amplitude normal \u2265 %.1f mV)",
                 a->nerve->def->id, a->where, a->limit);
        return buf;
    }
    snprintf(buf, n, "%s %s: %s %.*f%s %s (normal %s %.*f %s%s%s)", a->nerve->def->id, a->where,
             a->what, d, a->value, pm, a->unit, a->relation[0] == '<' ? "\u2264" : "\u2265",
             a->code == NCS_ABN_CV_SLOW ? 0 : 1, a->limit, a->unit, a->note[0] ? "; " : "",
             a->note);
    return buf;
}
