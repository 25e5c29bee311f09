/* results_csv.c — results.csv (docs/outputs.md): one row per site, with the
 * segment that ends at that site on the same row. Empty cell = not measured. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ",%.*f" of v without printf where its rounding is plain: v * 10^decimals
 * (within 2^-53 of the exact product, under 1e9) at least 1e-6 away from a
 * half, so the exact product rounds to the same integer. -1 otherwise (a
 * near-tie and the rest are printf's). */
static int cell_text(char *buf, double v, int decimals)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};
    if (decimals < 0 || decimals > 6)
        return -1;
    double s = fabs(v) * p10[decimals];
    if (!(s < 1e9))
        return -1;
    double fl = floor(s), fr = s - fl;
    if (fabs(fr - 0.5) < 1e-6)
        return -1;
    long long m = (long long)fl + (fr > 0.5);
    char dig[24];
    int nd = 0;
    do {
        dig[nd++] = (char)('0' + m % 10);
        m /= 10;
    } while (m > 0 || nd <= decimals);
    char *p = buf;
    *p++ = ',';
    if (signbit(v)) /* printf keeps the sign of a negative that rounds to 0 */
        *p++ = '-';
    for (int k = nd - 1; k >= decimals; k--)
        *p++ = dig[k];
    if (decimals > 0) {
        *p++ = '.';
        for (int k = decimals - 1; k >= 0; k--)
            *p++ = dig[k];
    }
    return (int)(p - buf);
}

static void cell(FILE *f, double v, int decimals)
{
    char t[48];
    int k;
    if (!isfinite(v))
        fputs(",", f);
    else if ((k = cell_text(t, v, decimals)) >= 0)
        fwrite(t, 1, (size_t)k, f);
    else
        fprintf(f, ",%.*f", decimals, v);
}

void ncs_csv_field(FILE *f, const char *s, int first)
{
    if (!first)
        fputc(',', f);
    if (!s)
        return;
    /* a text a spreadsheet would run as a formula (=, +, -, @, a tab or a
     * carriage return first) is written with a leading apostrophe; numbers
     * stay numbers */
    double num;
    int guard = s[0] && strchr("=+-@\t\r", s[0]) && ncs_parse_double(s, &num) != 0;
    int quote = 0;
    for (const char *c = s; *c && !quote; c++)
        quote = *c == ',' || *c == '"' || *c == '\n' || *c == '\r';
    if (quote) {
        fputc('"', f);
        if (guard) /* inside the quotes: the cell's first character */
            fputc('\'', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        if (guard)
            fputc('\'', f);
        fputs(s, f);
    }
}

#define text ncs_csv_field


/* abnormal codes joined by ';' */
static void codes(FILE *f, unsigned a)
{
    const char *names[NCS_ABN__COUNT];
    char buf[128];
    text(f, ncs_join(buf, sizeof buf, names, ncs_abnormal_names(a, names), ";"), 0);
}

/* "efns2010-mmn:definite (area drop 62.0% >= 50%; ...) | ..." */
static void findings(FILE *f, const ncs_findings *fs)
{
    char buf[4096] = "";
    size_t len = 0;
    for (size_t i = 0; i < fs->count && len < sizeof buf; i++) {
        const ncs_finding *x = &fs->items[i];
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s:%s%s (", i ? " | " : "",
                                ncs_criteria_name(x->criteria), x->code,
                                x->counts ? "" : ", not counted");
        char why[NCS_MAX_BECAUSE * (NCS_BECAUSE_LEN + 4)];
        if (len < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s",
                                    ncs_finding_reasons(x, "; ", why, sizeof why));
        if (len < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, ")");
    }
    text(f, buf, 0);
}

/* The span from the most distal site ending at `site` (docs/outputs.md),
 * or empty cells. */
static void span_cells(FILE *f, const ncs_nerve_result *nr, const char *site)
{
    const ncs_segment *g = NULL;
    for (size_t k = 0; k < nr->n_spans && !g; k++)
        if (strcmp(nr->spans[k].to, site) == 0)
            g = &nr->spans[k];
    if (!g) {
        fputs(",,,,,,,,", f);
        return;
    }
    char name[160];
    snprintf(name, sizeof name, "%s-%s", g->from, g->to);
    text(f, name, 0);
    cell(f, g->distance_mm, 1);
    cell(f, g->cv_m_s, 1);
    cell(f, g->amp_drop_pct, 1);
    cell(f, g->area_drop_pct, 1);
    cell(f, g->dur_increase_pct, 1);
    text(f, ncs_block_name(g->block), 0);
    text(f, g->borderline ? "yes" : "no", 0);
}

ncs_status ncs_results_csv(const ncs_results *r, FILE *f)
{
    fputs("study,nerve,muscle,site,file,distance_mm,fs_hz,response,onset_ms,peak_ms,"
          "amp_mv,p2p_mv,neg_dur_ms,neg_area_mvms,noise_uv,onset_marker,flags,"
          "segment,segment_distance_mm,latency_diff_ms,cv_m_s,amp_drop_pct,"
          "area_drop_pct,dur_increase_pct,latency_ms_per_cm,amp_drop_pct_per_cm,"
          "site_abnormal,segment_abnormal,entrapment_site,block,block_because,findings,"
          "study_findings,onset_u_ms,peak_u_ms,amp_u_mv,neg_dur_u_ms,neg_area_u_mvms,"
          "latency_diff_u_ms,cv_u_m_s,amp_drop_u_pct,area_drop_u_pct,dur_increase_u_pct,"
          "borderline,span,span_distance_mm,span_cv_m_s,span_amp_drop_pct,"
          "span_area_drop_pct,span_dur_increase_pct,span_block,span_borderline,patient\n", f);
    /* the study's summary lines, the same on every row */
    char *study = NULL;
    size_t study_len = 0;
    FILE *sm = open_memstream(&study, &study_len);
    if (!sm)
        return NCS_ERR_NOMEM;
    for (int k = 0; k < NCS_CRIT__COUNT; k++)
        if (r->evaluated[k] && r->summary[k])
            fprintf(sm, "%s%s", ftell(sm) ? " | " : "", r->summary[k]);
    if (r->sides_summary)
        fprintf(sm, "%s%s", ftell(sm) ? " | " : "", r->sides_summary);
    if (fclose(sm) != 0) {
        free(study);
        return NCS_ERR_NOMEM;
    }
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        for (size_t j = 0; j < nr->n_sites; j++) {
            const ncs_site_result *sr = &nr->sites[j];
            const ncs_markers *m = &sr->m;
            text(f, r->study->id, 1);
            text(f, nr->def->id, 0);
            text(f, nr->def->muscle, 0);
            text(f, sr->def->name, 0);
            text(f, sr->def->file, 0);
            cell(f, sr->def->distance_mm, 1);
            cell(f, sr->fs_hz, 0);
            text(f, sr->def->exclude ? "" : m->response ? "yes" : "no", 0);
            cell(f, m->onset_ms, 3);
            cell(f, m->peak_ms, 3);
            cell(f, m->amp_mv, 3);
            cell(f, m->p2p_mv, 3);
            cell(f, m->neg_dur_ms, 3);
            cell(f, m->neg_area_mvms, 3);
            cell(f, m->noise_uv, 1);
            text(f, !m->response ? "" : m->manual_onset ? "manual" : "auto", 0);
            const char *names[NCS_FLAG__COUNT];
            char flags[256];
            text(f, ncs_join(flags, sizeof flags, names, ncs_flag_names(m->flags, names), ";"),
                 0);
            const ncs_segment *g = ncs_segment_ending_at(nr, sr->def->name);
            if (g) {
                char name[160];
                snprintf(name, sizeof name, "%s-%s", g->from, g->to);
                text(f, name, 0);
                cell(f, g->distance_mm, 1);
                cell(f, g->latency_diff_ms, 3);
                cell(f, g->cv_m_s, 1);
                cell(f, g->amp_drop_pct, 1);
                cell(f, g->area_drop_pct, 1);
                cell(f, g->dur_increase_pct, 1);
                cell(f, g->latency_ms_per_cm, 3);
                cell(f, g->amp_drop_pct_per_cm, 2);
            } else {
                fputs(",,,,,,,,,", f);
            }
            codes(f, sr->abnormal);
            if (g) {
                codes(f, g->abnormal);
                text(f, g->entrapment_site < 0 ? "" : g->entrapment_site ? "yes" : "no", 0);
                text(f, ncs_block_name(g->block), 0);
                text(f, g->block_because, 0);
                findings(f, &g->findings);
            } else {
                fputs(",,,,,", f);
            }
            text(f, study, 0);
            /* the 95 % half-widths (docs/outputs.md), then borderline */
            const double us[5] = {m->u.onset_ms, m->u.peak_ms, m->u.amp_mv, m->u.neg_dur_ms,
                                  m->u.neg_area_mvms};
            for (int k = 0; k < 5; k++)
                cell(f, us[k], 3);
            if (g) {
                cell(f, g->u.latency_diff_ms, 3);
                cell(f, g->u.cv_m_s, 1);
                cell(f, g->u.amp_drop_pct, 1);
                cell(f, g->u.area_drop_pct, 1);
                cell(f, g->u.dur_increase_pct, 1);
                text(f, g->borderline ? "yes" : "no", 0);
            } else {
                fputs(",,,,,,", f);
            }
            span_cells(f, nr, sr->def->name);
            /* (last: a column added after the others, so none moves) */
            text(f, r->study->patient, 0);
            fputc('\n', f);
        }
    }
    free(study);
    return ferror(f) ? NCS_ERR_OUTPUT : NCS_OK;
}
