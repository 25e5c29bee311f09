/* analyse.c — a whole study: every trace loaded and measured, every
 * segment computed. Excluded sites are kept out of the segments: the
 * segment then spans from the site before to the site after, over the sum
 * of the distances. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void ncs_results_destroy(ncs_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_nerves; i++) {
        ncs_nerve_result *nr = &r->nerves[i];
        for (size_t j = 0; j < nr->n_sites; j++)
            free(nr->sites[j].clean_mv);
        free(nr->sites);
        free(nr->segments);
    }
    free(r->nerves);
    ncs_warnings_free(&r->warnings);
    free(r);
}

static ncs_status analyse_nerve(ncs_analyser *a, const ncs_study *st,
                                const ncs_nerve_def *n, ncs_nerve_result *nr,
                                int keep, ncs_warnings *warn, ncs_error *err)
{
    nr->def = n;
    nr->sites = calloc(n->n_sites, sizeof *nr->sites);
    nr->segments = calloc(n->n_sites, sizeof *nr->segments);
    if (!nr->sites || !nr->segments)
        return ncs_fail(err, NCS_ERR_NOMEM, st->ini_path, "out of memory");
    nr->n_sites = n->n_sites;
    for (size_t j = 0; j < n->n_sites; j++) {
        const ncs_site *s = &n->sites[j];
        ncs_site_result *sr = &nr->sites[j];
        sr->def = s;
        char where[512];
        snprintf(where, sizeof where, "%s/%s.%s", st->id, n->id, s->name);
        ncs_wave w;
        ncs_status rc = ncs_wave_load(s, where, &w, NULL, err);
        if (rc != NCS_OK)
            return rc;
        sr->fs_hz = w.fs_hz;
        if (keep) {
            sr->clean_mv = malloc(w.n * sizeof *sr->clean_mv);
            if (!sr->clean_mv) {
                ncs_wave_free(&w);
                return ncs_fail(err, NCS_ERR_NOMEM, where, "out of memory");
            }
            sr->n = w.n;
            sr->t0_ms = -w.stim_ms;
        }
        rc = ncs_measure(a, &w, s, where, &sr->m, sr->clean_mv,
                         s->exclude ? NULL : warn, err);
        ncs_wave_free(&w);
        if (rc != NCS_OK)
            return rc;
        if (s->exclude) {
            /* kept out of the analysis: nothing of it is reported as measured */
            unsigned keepflags = sr->m.flags & (NCS_FLAG_EXCLUDED | NCS_FLAG_LOW_RATE);
            double noise = sr->m.noise_uv;
            memset(&sr->m, 0, sizeof sr->m);
            sr->m.onset_ms = sr->m.peak_ms = sr->m.end_ms = NAN;
            sr->m.amp_mv = sr->m.p2p_mv = sr->m.neg_dur_ms = sr->m.neg_area_mvms = NAN;
            sr->m.noise_uv = noise;
            sr->m.flags = keepflags;
            ncs_warn(warn, where, "excluded", "excluded from the analysis%s%s",
                     s->note ? ": " : "", s->note ? s->note : "");
        }
    }
    /* segments between consecutive sites that are not excluded */
    size_t prev = (size_t)-1;
    double dist = 0.0;
    for (size_t j = 0; j < n->n_sites; j++) {
        if (prev != (size_t)-1)
            dist += n->sites[j].distance_mm;
        if (n->sites[j].exclude)
            continue;
        if (prev != (size_t)-1) {
            char where[512];
            snprintf(where, sizeof where, "%s/%s.%s-%s", st->id, n->id,
                     n->sites[prev].name, n->sites[j].name);
            ncs_segment_compute(&nr->sites[prev].m, &nr->sites[j].m,
                                n->sites[prev].name, n->sites[j].name, dist, where,
                                &nr->segments[nr->n_segments++], warn);
        }
        prev = j;
        dist = 0.0;
    }
    return NCS_OK;
}

ncs_results *ncs_analyse_study(ncs_analyser *a, const ncs_study *st, int keep,
                               ncs_error *err)
{
    ncs_error_clear(err);
    if (!a || !st) {
        ncs_fail(err, NCS_ERR_USAGE, "", "no analyser or study");
        return NULL;
    }
    ncs_results *r = calloc(1, sizeof *r);
    if (!r || !(r->nerves = calloc(st->n_nerves ? st->n_nerves : 1, sizeof *r->nerves))) {
        free(r);
        ncs_fail(err, NCS_ERR_NOMEM, st->ini_path, "out of memory");
        return NULL;
    }
    r->study = st;
    for (size_t i = 0; i < st->n_nerves; i++) {
        r->n_nerves = i + 1;
        if (analyse_nerve(a, st, &st->nerves[i], &r->nerves[i], keep, &r->warnings,
                          err) != NCS_OK) {
            ncs_results_destroy(r);
            return NULL;
        }
    }
    return r;
}
