/* table.c — the per-nerve table on stdout, laid out as an EMG machine
 * prints it: one line per site, the segment ending there beside it, values
 * outside the reference range marked '*', the conduction-block category of
 * each segment, and the study's findings at the end. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A number in `width` columns followed by a mark column ('*' = abnormal). */
static void col(FILE *f, double v, int width, int decimals, int mark)
{
    if (isfinite(v))
        fprintf(f, " %*.*f%c", width, decimals, v, mark ? '*' : ' ');
    else
        fprintf(f, " %*s ", width, "-");
}

/* A value with its 95 % half-width ("60.4±3.1") in `width` display
 * columns (the ± takes two bytes, one column), then a mark column. */
static void colpm(FILE *f, double v, double u, int width, int decimals, int mark)
{
    char buf[64];
    if (!isfinite(v)) {
        fprintf(f, " %*s ", width, "-");
        return;
    }
    if (isfinite(u))
        snprintf(buf, sizeof buf, "%.*f\u00b1%.*f", decimals, v, decimals, u);
    else
        snprintf(buf, sizeof buf, "%.*f\u00b1?", decimals, v);
    fprintf(f, " %*s%c", width + 1, buf, mark ? '*' : ' ');
}

/* A drop: as colpm, but a 100 % drop (no proximal response) is at least
 * 100 less what the noise could hide, not 100 give or take. */
static void coldrop(FILE *f, double v, double u, int width)
{
    double least = ncs_drop_least(v, u);
    if (isfinite(least)) {
        char buf[64];
        snprintf(buf, sizeof buf, "\u2265%.1f", least);
        if (least > 0)
            fprintf(f, " %*s ", width + 2, buf);
        else
            fprintf(f, " %*s ", width, "-");
        return;
    }
    colpm(f, v, u, width, 1, 0);
}

static void flags_text(FILE *f, const ncs_markers *m)
{
    const char *names[NCS_FLAG__COUNT];
    size_t n = ncs_flag_names(m->flags, names);
    char buf[512];
    if (n)
        fprintf(f, " %s", ncs_join(buf, sizeof buf, names, n, ","));
}

static void nerve_header(FILE *f, const ncs_nerve_result *nr)
{
    const ncs_nerve_def *d = nr->def;
    fprintf(f, "\n%s%s%s%s", d->id, d->muscle ? " (" : "", d->muscle ? d->muscle : "",
            d->muscle ? ")" : "");
    if (isfinite(d->temperature_c))
        fprintf(f, "  %.1f C%s", d->temperature_c, nr->low_temperature ? " (low)" : "");
    const ncs_norm *n = nr->norm;
    if (n) {
        fprintf(f, "   normal:");
        if (isfinite(n->amp_lln_mv))
            fprintf(f, " amp >= %.1f mV", n->amp_lln_mv);
        if (isfinite(n->dml_uln_ms))
            fprintf(f, ", DML <= %.1f ms", n->dml_uln_ms);
        if (isfinite(n->cv_lln_m_s))
            fprintf(f, ", CV >= %.0f m/s", n->cv_lln_m_s);
    } else {
        fprintf(f, "   (no reference values for this nerve)");
    }
    fputc('\n', f);
}

/* The findings of set k of a segment, or of a span (its counted ones that
 * no segment of the nerve holds: what the span adds). */
static void segment_findings(FILE *f, const ncs_nerve_result *nr, const ncs_segment *sg, int k)
{
    for (size_t j = 0; j < sg->findings.count; j++) {
        const ncs_finding *fi = &sg->findings.items[j];
        if ((int)fi->criteria != k)
            continue;
        if (sg->covers && !ncs_span_finding_new(nr, fi))
            continue;
        char why[NCS_MAX_BECAUSE * (NCS_BECAUSE_LEN + 4)];
        fprintf(f, "    %s %s-%s%s: %s%s: %s\n", nr->def->id, sg->from, sg->to,
                sg->covers ? " (span)" : "", fi->code, fi->counts ? "" : " (not counted)",
                ncs_finding_reasons(fi, "; ", why, sizeof why));
    }
}

/* The side-to-side lines (docs/outputs.md). */
static void print_sides(const ncs_results *r, FILE *f)
{
    if (!r->n_sides)
        return;
    fprintf(f, "\nSide to side (ratios left / right, differences left - right)\n");
    for (size_t i = 0; i < r->n_sides; i++) {
        const ncs_side_pair *p = &r->sides[i];
        const char *m = p->right->def->muscle;
        fprintf(f, "  %s%s%s%s:", p->right->def->nerve, m ? " (" : "", m ? m : "", m ? ")" : "");
        if (p->why[0]) {
            fprintf(f, " not compared: %s\n", p->why);
            continue;
        }
        fprintf(f, " distal amplitude ratio %.2f", p->amp_ratio);
        if (isfinite(p->amp_ratio_u))
            fprintf(f, " \u00b1 %.2f", p->amp_ratio_u);
        if (isfinite(p->area_ratio))
            fprintf(f, ", area ratio %.2f", p->area_ratio);
        if (isfinite(p->dml_diff_ms))
            fprintf(f, ", distal latency %+.2f ms", p->dml_diff_ms);
        for (size_t k = 0; k < p->n_segments; k++)
            if (isfinite(p->seg[k].cv_diff_m_s))
                fprintf(f, ", CV %s-%s %+.1f m/s", p->seg[k].from, p->seg[k].to,
                        p->seg[k].cv_diff_m_s);
        if (p->asymmetric)
            fprintf(f, "  ASYMMETRIC: the %s side below half", p->smaller);
        fputc('\n', f);
    }
}

/* Every value outside its reference range, with the range: the table's
 * asterisks are never the only place a finding lives. */
static void print_abnormal(const ncs_results *r, FILE *f)
{
    size_t n = ncs_abnormal_values(r, NULL, 0);
    fprintf(f, "\nValues outside the reference range%s\n", n ? "" : ": none");
    ncs_abnormal_value *v = n ? calloc(n, sizeof *v) : NULL;
    if (!v)
        return;
    ncs_abnormal_values(r, v, n);
    for (size_t i = 0; i < n; i++) {
        char line[600];
        fprintf(f, "  %s\n", ncs_abnormal_value_text(&v[i], line, sizeof line));
    }
    free(v);
}

static void print_findings(const ncs_results *r, FILE *f)
{
    print_abnormal(r, f);
    print_sides(r, f);
    fprintf(f, "\nFindings (criteria met; not a diagnosis)\n");
    for (int k = 0; k < NCS_CRIT__COUNT; k++) {
        if (!r->evaluated[k])
            continue;
        fprintf(f, "  %s\n", r->summary[k] ? r->summary[k] : ncs_criteria_name(k));
        for (size_t i = 0; i < r->n_nerves; i++) {
            const ncs_nerve_result *nr = &r->nerves[i];
            for (size_t j = 0; j < nr->findings.count; j++) {
                const ncs_finding *fi = &nr->findings.items[j];
                if ((int)fi->criteria != k)
                    continue;
                char why[NCS_MAX_BECAUSE * (NCS_BECAUSE_LEN + 4)];
                fprintf(f, "    %s: %s: %s\n", nr->def->id, fi->code,
                        ncs_finding_reasons(fi, "; ", why, sizeof why));
            }
            for (size_t g = 0; g < nr->n_segments; g++)
                segment_findings(f, nr, &nr->segments[g], k);
            for (size_t g = 0; g < nr->n_spans; g++)
                segment_findings(f, nr, &nr->spans[g], k);
        }
    }
    if (r->sides_summary)
        fprintf(f, "  %s\n", r->sides_summary);
}

/* "  span wrist-axilla 350 mm: CV 58.1 ± 1.9 m/s, amp drop ..., definite" */
static void span_line(FILE *f, const ncs_segment *g)
{
    fprintf(f, "  span %s-%s %.0f mm:", g->from, g->to, g->distance_mm);
    const char *name[4] = {"CV", "amp drop", "area drop", "dur inc"};
    const char *unit[4] = {" m/s", " %", " %", " %"};
    const double v[4] = {g->cv_m_s, g->amp_drop_pct, g->area_drop_pct, g->dur_increase_pct};
    const double u[4] = {g->u.cv_m_s, g->u.amp_drop_pct, g->u.area_drop_pct,
                         g->u.dur_increase_pct};
    for (int i = 0; i < 4; i++) {
        double least = i == 1 || i == 2 ? ncs_drop_least(v[i], u[i]) : NAN;
        if (!isfinite(v[i]) || least == 0.0)
            fprintf(f, " %s -%s", name[i], i < 3 ? "," : "");
        else if (isfinite(least))
            fprintf(f, " %s \u2265 %.1f%s%s", name[i], least, unit[i], i < 3 ? "," : "");
        else if (isfinite(u[i]))
            fprintf(f, " %s %.1f \u00b1 %.1f%s%s", name[i], v[i], u[i], unit[i], i < 3 ? "," : "");
        else
            fprintf(f, " %s %.1f%s%s", name[i], v[i], unit[i], i < 3 ? "," : "");
    }
    const char *blk = ncs_block_name(g->block);
    fprintf(f, "; block %s", blk ? blk : "-");
    if (g->borderline)
        fprintf(f, " (borderline: %s)", g->borderline_why);
    else if (g->block_because[0] && g->block != NCS_BLOCK_NONE)
        fprintf(f, " (%s)", g->block_because);
    fputc('\n', f);
}

ncs_status ncs_results_table(const ncs_results *r, FILE *f)
{
    const ncs_study *st = r->study;
    fprintf(f, "Study %s", st->id);
    if (st->date)
        fprintf(f, "  %s", st->date);
    if (isfinite(st->temperature_c))
        fprintf(f, "  %.1f C", st->temperature_c);
    fprintf(f, "   criteria %s%s   norms %s\n", ncs_criteria_name(r->options.primary),
            r->options.all_criteria ? " (+ all)" : "", r->norms.origin);
    /* the segment column fits the longest segment name of the study */
    int sw = 8;
    for (size_t i = 0; i < r->n_nerves; i++)
        for (size_t k = 0; k < r->nerves[i].n_segments; k++) {
            const ncs_segment *g = &r->nerves[i].segments[k];
            int l = (int)(strlen(g->from) + 1 + strlen(g->to));
            sw = l > sw ? l : sw;
        }
    int any_abnormal = 0;
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        any_abnormal |= nr->abnormal != 0;
        nerve_header(f, nr);
        fprintf(f, "  %-14s %10s  %6s  %6s  %6s  %6s  %6s  | %-*s %5s  %10s  %10s  %10s  %10s   "
                   "%-15s %s\n",
                "site", "onset", "peak", "amp", "p-p", "area", "dur", sw, "segment", "dist",
                "CV", "amp", "area", "dur", "block", "flags");
        fprintf(f, "  %-14s %10s  %6s  %6s  %6s  %6s  %6s  | %-*s %5s  %10s  %10s  %10s  %10s\n",
                "", "ms", "ms", "mV", "mV", "mVms", "ms", sw, "", "mm", "m/s", "drop%",
                "drop%", "inc%");
        for (size_t j = 0; j < nr->n_sites; j++) {
            const ncs_site_result *sr = &nr->sites[j];
            const ncs_markers *m = &sr->m;
            /* the row is built in memory so its trailing blanks can go */
            char *row = NULL;
            size_t rowlen = 0;
            FILE *out = f;
            f = open_memstream(&row, &rowlen);
            if (!f) {
                f = out;
                return NCS_ERR_NOMEM;
            }
            fprintf(f, "  %-14s", sr->def->name);
            colpm(f, m->onset_ms, m->u.onset_ms, 10, 2, sr->abnormal & NCS_ABN_DML_PROLONGED);
            col(f, m->peak_ms, 6, 2, 0);
            col(f, m->amp_mv, 6, 2, sr->abnormal & NCS_ABN_AMP_LOW);
            col(f, m->p2p_mv, 6, 2, 0);
            col(f, m->neg_area_mvms, 6, 1, 0);
            col(f, m->neg_dur_ms, 6, 2, 0);
            const ncs_segment *g = ncs_segment_ending_at(nr, sr->def->name);
            if (g) {
                char name[256];
                snprintf(name, sizeof name, "%s-%s", g->from, g->to);
                fprintf(f, " | %-*s", sw, name);
                fprintf(f, " %5.0f ", g->distance_mm);
                colpm(f, g->cv_m_s, g->u.cv_m_s, 10, 1, g->abnormal & NCS_ABN_CV_SLOW);
                coldrop(f, g->amp_drop_pct, g->u.amp_drop_pct, 10);
                coldrop(f, g->area_drop_pct, g->u.area_drop_pct, 10);
                colpm(f, g->dur_increase_pct, g->u.dur_increase_pct, 10, 1, 0);
                const char *blk = ncs_block_name(g->block);
                fprintf(f, "  %-15s", blk ? blk : "");
            } else {
                fprintf(f, " | %-*s", sw, j == 0 ? "distal" : sr->def->exclude ? "(excluded)" : "");
                if (j == 0)
                    fprintf(f, " %5.0f ", sr->def->distance_mm);
                else
                    fprintf(f, " %5s ", "");
                /* four blank value columns as colpm prints them (12 wide) */
                fprintf(f, "%48s  %-15s", "", "");
            }
            flags_text(f, m);
            int bad = fclose(f) != 0;
            f = out;
            if (bad) {
                free(row);
                return NCS_ERR_NOMEM;
            }
            while (rowlen && row[rowlen - 1] == ' ')
                row[--rowlen] = '\0';
            fprintf(f, "%s\n", row);
            free(row);
        }
        for (size_t k = 0; k < nr->n_segments; k++) {
            const ncs_segment *g = &nr->segments[k];
            /* (not for a step that is not evaluable: its distance or an
             * onset is wrong, so is its rate) */
            if (g->inching && isfinite(g->latency_ms_per_cm) && !g->inconsistent[0])
                fprintf(f, "  inching %s-%s: %.2f ms/cm, amplitude drop %.1f %%/cm\n",
                        g->from, g->to, g->latency_ms_per_cm, g->amp_drop_pct_per_cm);
            if (g->block_because[0] && g->block != NCS_BLOCK_UNSET && g->block != NCS_BLOCK_NONE)
                fprintf(f, "  %s-%s %s: %s\n", g->from, g->to, ncs_block_name(g->block),
                        g->block_because);
            if (g->borderline)
                fprintf(f, "  %s-%s %s (borderline: %s)\n", g->from, g->to,
                        ncs_block_name(g->block), g->borderline_why);
        }
        for (size_t k = 0; k < nr->n_spans; k++)
            span_line(f, &nr->spans[k]);
    }
    if (any_abnormal)
        fprintf(f, "\n  * outside the reference range: distal latency above ULN, distal "
                   "amplitude below LLN, CV below LLN\n");
    print_findings(r, f);
    return ferror(f) ? NCS_ERR_OUTPUT : NCS_OK;
}
