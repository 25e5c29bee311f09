/* table.c — the per-nerve table on stdout, laid out as an EMG machine
 * prints it: one line per site, the segment ending there beside it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void col(FILE *f, double v, int width, int decimals)
{
    if (isfinite(v))
        fprintf(f, " %*.*f", width, decimals, v);
    else
        fprintf(f, " %*s", width, "-");
}

ncs_status ncs_results_table(const ncs_results *r, FILE *f)
{
    const ncs_study *st = r->study;
    fprintf(f, "Study %s", st->id);
    if (st->date)
        fprintf(f, "  %s", st->date);
    if (isfinite(st->temperature_c))
        fprintf(f, "  %.1f C", st->temperature_c);
    fputc('\n', f);
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        fprintf(f, "\n%s%s%s%s\n", nr->def->id, nr->def->muscle ? " (" : "",
                nr->def->muscle ? nr->def->muscle : "", nr->def->muscle ? ")" : "");
        fprintf(f, "  %-14s %6s %6s %6s %6s %6s %6s | %-22s %6s %6s %6s %6s %6s  %s\n",
                "site", "onset", "peak", "amp", "p-p", "area", "dur", "segment", "dist",
                "CV", "amp", "area", "dur", "flags");
        fprintf(f, "  %-14s %6s %6s %6s %6s %6s %6s | %-22s %6s %6s %6s %6s %6s\n", "",
                "ms", "ms", "mV", "mV", "mVms", "ms", "", "mm", "m/s", "drop%", "drop%",
                "inc%");
        for (size_t j = 0; j < nr->n_sites; j++) {
            const ncs_site_result *sr = &nr->sites[j];
            const ncs_markers *m = &sr->m;
            fprintf(f, "  %-14.14s", sr->def->name);
            col(f, m->onset_ms, 6, 2);
            col(f, m->peak_ms, 6, 2);
            col(f, m->amp_mv, 6, 2);
            col(f, m->p2p_mv, 6, 2);
            col(f, m->neg_area_mvms, 6, 1);
            col(f, m->neg_dur_ms, 6, 2);
            const ncs_segment *g = NULL;
            for (size_t k = 0; k < nr->n_segments; k++)
                if (nr->segments[k].to == sr->def->name)
                    g = &nr->segments[k];
            if (g) {
                char name[64];
                snprintf(name, sizeof name, "%s-%s", g->from, g->to);
                fprintf(f, " | %-22.22s", name);
                col(f, g->distance_mm, 6, 0);
                col(f, g->cv_m_s, 6, 1);
                col(f, g->amp_drop_pct, 6, 1);
                col(f, g->area_drop_pct, 6, 1);
                col(f, g->dur_increase_pct, 6, 1);
            } else {
                fprintf(f, " | %-22s", j == 0 ? "distal" : "");
                col(f, j == 0 ? sr->def->distance_mm : NAN, 6, 0);
                fprintf(f, " %6s %6s %6s %6s", "", "", "", "");
            }
            fputs(" ", f);
            int first = 1;
            for (int k = 0; k < NCS_FLAG__COUNT; k++)
                if (m->flags & (1u << k)) {
                    fprintf(f, "%s%s", first ? " " : ",", ncs_flag_name(1u << k));
                    first = 0;
                }
            if (m->manual_onset || m->manual_peak || m->manual_end)
                fprintf(f, "%smanual", first ? " " : ",");
            fputc('\n', f);
        }
        for (size_t k = 0; k < nr->n_segments; k++) {
            const ncs_segment *g = &nr->segments[k];
            if (g->inching && isfinite(g->latency_ms_per_cm))
                fprintf(f, "  inching %s-%s: %.2f ms/cm, amplitude drop %.1f %%/cm\n",
                        g->from, g->to, g->latency_ms_per_cm, g->amp_drop_pct_per_cm);
        }
    }
    return ferror(f) ? NCS_ERR_OUTPUT : NCS_OK;
}
