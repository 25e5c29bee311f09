/* results_csv.c — results.csv (SPEC 7.1): one row per site, with the
 * segment that ends at that site on the same row. Empty cell = not measured. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void cell(FILE *f, double v, int decimals)
{
    if (isfinite(v))
        fprintf(f, ",%.*f", decimals, v);
    else
        fputs(",", f);
}

/* A text cell, quoted when it holds a comma, quote or newline. */
static void text(FILE *f, const char *s, int first)
{
    if (!first)
        fputc(',', f);
    if (!s)
        return;
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

ncs_status ncs_results_csv(const ncs_results *r, FILE *f)
{
    fputs("study,nerve,muscle,site,file,distance_mm,fs_hz,response,onset_ms,peak_ms,"
          "amp_mv,p2p_mv,neg_dur_ms,neg_area_mvms,noise_uv,onset_marker,flags,"
          "segment,segment_distance_mm,latency_diff_ms,cv_m_s,amp_drop_pct,"
          "area_drop_pct,dur_increase_pct,latency_ms_per_cm,amp_drop_pct_per_cm\n", f);
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
            char flags[256] = "";
            for (int k = 0; k < NCS_FLAG__COUNT; k++)
                if (m->flags & (1u << k)) {
                    if (flags[0])
                        strncat(flags, ";", sizeof flags - strlen(flags) - 1);
                    strncat(flags, ncs_flag_name(1u << k), sizeof flags - strlen(flags) - 1);
                }
            text(f, flags, 0);
            const ncs_segment *g = NULL;
            for (size_t k = 0; k < nr->n_segments; k++)
                if (nr->segments[k].to == sr->def->name)
                    g = &nr->segments[k];
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
            fputc('\n', f);
        }
    }
    return ferror(f) ? NCS_ERR_OUTPUT : NCS_OK;
}
