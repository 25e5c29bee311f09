/* analyse.c — a whole study: every trace loaded and measured, every
 * segment computed, then the reference values (docs/criteria.md) and the criteria
 * (docs/criteria.md) applied. Excluded sites are kept out of the segments: the
 * segment then spans from the site before to the site after, over the sum
 * of the distances. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clean.h"
#include "internal.h"
#include "report.h"

void ncs_results_destroy(ncs_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_nerves; i++) {
        ncs_nerve_result *nr = &r->nerves[i];
        for (size_t j = 0; j < nr->n_sites; j++) {
            free(nr->sites[j].trace);
            free(nr->sites[j].raw);
        }
        for (size_t j = 0; j < nr->n_segments; j++)
            ncs_findings_free(&nr->segments[j].findings);
        for (size_t j = 0; j < nr->n_spans; j++)
            ncs_findings_free(&nr->spans[j].findings);
        ncs_findings_free(&nr->findings);
        free(nr->sites);
        free(nr->segments);
        free(nr->spans);
    }
    for (int k = 0; k < NCS_CRIT__COUNT; k++)
        free(r->summary[k]);
    free(r->sides);
    free(r->sides_summary);
    free(r->nerves);
    ncs_warnings_free(&r->warnings);
    free(r);
}

/* Two onsets whose difference no nerve conducts at (10-100 m/s over the
 * distance between them) beyond their intervals: one of them, which is not
 * known (a marker placed by hand is no exception), is off by at least the
 * excess, or the sites' order or distance is wrong. The excess of each
 * segment, from the intervals as measured, into excess[k]. Traces that
 * decide nothing anyway (clipped, suspected inverted) are left out: their
 * onsets say nothing of their neighbours'. */
/* A segment of a nerve: two consecutive sites that are not excluded, and
 * the distance between them (summed over excluded sites between). */
typedef struct {
    size_t from, to;
    double dist;
} seg_pair;

/* The segments of nerve n into out (room for n_sites); returns how many. */
static size_t seg_pairs(const ncs_nerve_def *n, seg_pair *out)
{
    size_t k = 0, prev = (size_t)-1;
    double dist = 0.0;
    for (size_t j = 0; j < n->n_sites; j++) {
        if (prev != (size_t)-1)
            dist += n->sites[j].distance_mm;
        if (n->sites[j].exclude)
            continue;
        if (prev != (size_t)-1)
            out[k++] = (seg_pair){prev, j, dist};
        prev = j;
        dist = 0.0;
    }
    return k;
}

static void find_disagreeing(const ncs_nerve_result *nr, const seg_pair *sp, size_t np,
                             double *excess)
{
    const unsigned skip = NCS_FLAG_CLIPPED | NCS_FLAG_INVERTED_SUSPECTED;
    for (size_t k = 0; k < np; k++) {
        excess[k] = 0.0;
        const ncs_markers *a = &nr->sites[sp[k].from].m, *b = &nr->sites[sp[k].to].m;
        if (!a->response || !b->response || !isfinite(a->onset_ms) || !isfinite(b->onset_ms)
            || ((a->flags | b->flags) & skip))
            continue;
        double dl = b->onset_ms - a->onset_ms;
        double lo = sp[k].dist / NCS_CV_PLAUSIBLE_MAX, hi = sp[k].dist / NCS_CV_PLAUSIBLE_MIN;
        double ex = dl < lo ? lo - dl : dl > hi ? dl - hi : 0.0;
        if (ex > ncs_onset_diff_u(&a->u, &b->u))
            excess[k] = ex;
    }
}

/* Site m (self) widened for the onsets at a and b that no nerve conducts
 * between, with a warning naming the other site. */
static void widen_site(const ncs_study *st, const ncs_nerve_def *n, ncs_markers *m,
                       const char *self, const char *a, const char *b, double ex, double dl,
                       double dist, ncs_warnings *warn)
{
    if (!ncs_widen_onset(m, ex, NCS_UNCERTAIN_DISAGREES))
        return;
    char where[512];
    snprintf(where, sizeof where, "%s/%s.%s", st->id, n->id, self);
    ncs_warn(warn, where, "uncertain",
             "uncertain: onset \u00b1%.2f ms: the onsets at %s and %s are %.2f ms apart over "
             "%.0f mm, which no nerve conducts (10-100 m/s): an onset%s, the order of the "
             "sites or a distance is wrong; this site decides no block or finding", ex, a, b,
             dl, dist, m->manual_onset ? " (this one placed by hand)" : "");
}

/* ncs_hidden_lobes on the nerve's sites, with a warning for each it made
 * uncertain naming the site whose lobe it may hide. */
static ncs_status hidden_lobes(const ncs_study *st, const ncs_nerve_def *n,
                               ncs_nerve_result *nr, ncs_warnings *warn, ncs_error *err)
{
    ncs_markers *mk = malloc(n->n_sites * sizeof *mk);
    size_t *ref = malloc(n->n_sites * sizeof *ref);
    double *reach = malloc(n->n_sites * sizeof *reach);
    if (!mk || !ref || !reach) {
        free(mk);
        free(ref);
        free(reach);
        return ncs_fail(err, NCS_ERR_NOMEM, st->ini_path, "out of memory");
    }
    for (size_t j = 0; j < n->n_sites; j++)
        mk[j] = nr->sites[j].m;
    ncs_hidden_lobes(mk, n->n_sites, ref, reach);
    for (size_t j = 0; j < n->n_sites; j++) {
        nr->sites[j].m = mk[j];
        if (ref[j] == SIZE_MAX)
            continue;
        char where[512], lobe[160];
        snprintf(where, sizeof where, "%s/%s.%s", st->id, n->id, n->sites[j].name);
        if (mk[ref[j]].flags & NCS_FLAG_INITIAL_POSITIVITY)
            snprintf(lobe, sizeof lobe, "begins with a positive lobe %.2f ms long "
                     "(initial-positivity)", mk[ref[j]].lead_ms);
        else
            snprintf(lobe, sizeof lobe, "may begin with a positive lobe (a bump beginning "
                     "%.2f ms before its negative take-off, too low to call a lobe)",
                     mk[ref[j]].bump_ms);
        ncs_warn(warn, where, "uncertain",
                 "uncertain: the onset may be up to %.2f ms earlier than found (onset "
                 "\u00b1%.2f ms): the response at %s %s that this site does not show; "
                 "dispersed over the longer path, such a lobe may be too small to tell here. "
                 "Its latency, conduction velocity and temporal dispersion decide no finding (a "
                 "block's duration change is judged by its interval)",
                 reach[j], mk[j].u.onset_ms, n->sites[ref[j]].name, lobe);
    }
    free(mk);
    free(ref);
    free(reach);
    return NCS_OK;
}

/* Whether a latency difference dl over dist mm reads as a plausible CV
 * with the distance ten times larger: a distance written in cm. */
static int cm_slip(double dist, double dl)
{
    double cv10 = 10.0 * dist / dl;
    return dl > 0 && cv10 >= NCS_CV_PLAUSIBLE_MIN && cv10 <= NCS_CV_PLAUSIBLE_MAX
           && 10.0 * dist <= NCS_SEGMENT_PLAUSIBLE_MAX_MM;
}

/* Every pair found by find_disagreeing widened (docs/measurements.md,
 * consistency): the segment between them is then marked inconsistent once
 * computed (mark_disagreeing). */
static void widen_disagreeing(const ncs_study *st, const ncs_nerve_def *n,
                              ncs_nerve_result *nr, const seg_pair *sp, size_t np,
                              ncs_warnings *warn, double *excess)
{
    find_disagreeing(nr, sp, np, excess);
    for (size_t k = 0; k < np; k++) {
        if (!(excess[k] > 0))
            continue;
        ncs_markers *a = &nr->sites[sp[k].from].m, *b = &nr->sites[sp[k].to].m;
        double dl = b->onset_ms - a->onset_ms;
        /* a distance written in cm (23 for 230 mm): the distance is what is
         * wrong, not the onsets; the segment alone decides nothing
         * (mark_disagreeing), its sites keep their intervals for the next */
        if (cm_slip(sp[k].dist, dl))
            continue;
        const char *na = n->sites[sp[k].from].name, *nb = n->sites[sp[k].to].name;
        widen_site(st, n, a, na, na, nb, excess[k], dl, sp[k].dist, warn);
        widen_site(st, n, b, nb, na, nb, excess[k], dl, sp[k].dist, warn);
    }
}

/* The segment from site a to b whose onsets no nerve conducts between:
 * inconsistent, with the reason and a warning. */
static void mark_disagreeing(const char *where, ncs_segment *g, double excess,
                             ncs_warnings *warn)
{
    if (!(excess > 0) || g->inconsistent[0])
        return;
    snprintf(g->inconsistent, sizeof g->inconsistent,
             "the onsets at %s and %s are %.2f ms apart over %.0f mm, which no nerve conducts "
             "(10-100 m/s): an onset, the sites' order or a distance is wrong", g->from, g->to,
             g->latency_diff_ms, g->distance_mm);
    /* the commonest slip: a distance in cm (23 for 230 mm) */
    char hint[128] = "";
    if (cm_slip(g->distance_mm, g->latency_diff_ms))
        snprintf(hint, sizeof hint, "; distance_mm = %g: was %g mm meant? (cm written for mm)",
                 g->distance_mm, 10.0 * g->distance_mm);
    if (g->latency_diff_ms > 0) /* (the order has its own warning, latency-order) */
        ncs_warn(warn, where, "inconsistent", "%s: the segment is not evaluable%s",
                 g->inconsistent, hint);
}

/* The spans (docs/criteria.md): the most distal site against each proximal
 * one beyond the first, computed as segments are (their sites' warnings
 * are the segments'), each covering the segments up to its proximal site;
 * a span over a segment whose sites disagree is not evaluable either. */
static void spans(const ncs_nerve_def *n, ncs_nerve_result *nr, const seg_pair *sp,
                  size_t np)
{
    double dist = np ? sp[0].dist : 0.0;
    for (size_t k = 1; k < np; k++) {
        dist += sp[k].dist;
        ncs_segment *g = &nr->spans[nr->n_spans++];
        ncs_segment_compute(&nr->sites[sp[0].from].m, &nr->sites[sp[k].to].m,
                            n->sites[sp[0].from].name, n->sites[sp[k].to].name, dist, NULL,
                            g, NULL);
        g->covers = k + 1;
        for (size_t j = 0; j <= k && !g->inconsistent[0]; j++)
            if (nr->segments[j].inconsistent[0])
                snprintf(g->inconsistent, sizeof g->inconsistent,
                         "it covers %s-%s, whose sites disagree", nr->segments[j].from,
                         nr->segments[j].to);
    }
}

/* Moves the warnings of from to the end of to (to may be NULL: they are
 * dropped); from is left empty. */
static void warnings_move(ncs_warnings *to, ncs_warnings *from)
{
    if (to && from->count) {
        size_t need = to->count + from->count;
        if (need > to->cap) {
            ncs_warning *items = realloc(to->items, need * sizeof *items);
            if (!items) {
                to->dropped += from->count + from->dropped;
                ncs_warnings_free(from);
                return;
            }
            to->items = items;
            to->cap = need;
        }
        memcpy(to->items + to->count, from->items, from->count * sizeof *from->items);
        to->count = need;
        to->dropped += from->dropped;
        free(from->items);
        *from = (ncs_warnings){0};
        return;
    }
    if (to)
        to->dropped += from->dropped;
    ncs_warnings_free(from);
}

/* A trace short enough to keep for a second measurement (a nerve's traces
 * together stay small; longer ones are read again). */
#define KEEP_WAVE_SAMPLES 100000

#define SHORT_RECORD_SHARE 0.7 /* of the nerve's longest record: a shorter one
                                  is warned as maybe cut short */

/* FNV-1a over the samples (a 64-bit word each), their count and rate:
 * equal for one recording filed twice, whatever files or channels hold it. */
static uint64_t samples_hash(const ncs_wave *w)
{
    uint64_t h = 14695981039346656037ull, v;
    for (size_t i = 0; i < w->n; i++) {
        memcpy(&v, &w->mv[i], sizeof v);
        h = (h ^ v) * 1099511628211ull;
    }
    const double meta[2] = {(double)w->n, w->fs_hz};
    for (size_t i = 0; i < 2; i++) {
        memcpy(&v, &meta[i], sizeof v);
        h = (h ^ v) * 1099511628211ull;
    }
    return h;
}

/* One site of the nerve measured: its trace loaded (or taken from *held),
 * cleaned and measured (warnings into its own list, kept until its
 * measurement is final) and, for a report, what a page shows of it kept.
 * A short trace is left in *held for a second measurement (held->mv NULL:
 * none); a long one is freed. */
static ncs_status measure_site(ncs_analyser *a, const ncs_study *st, const ncs_nerve_def *n,
                               const ncs_site *s, ncs_site_result *sr, int keep,
                               ncs_warnings *sw, ncs_wave *held, ncs_error *err)
{
    char where[512];
    snprintf(where, sizeof where, "%s/%s.%s", st->id, n->id, s->name);
    ncs_wave w;
    ncs_status rc = NCS_OK;
    if (held->mv) {
        w = *held;
        *held = (ncs_wave){0};
    } else if ((rc = ncs_wave_load(s, where, &w, NULL, err)) != NCS_OK) {
        return rc;
    }
    sr->fs_hz = w.fs_hz;
    sr->file_hash = w.hash;
    sr->samples_hash = samples_hash(&w);
    sr->record_ms = w.fs_hz > 0 ? (double)w.n * 1000.0 / w.fs_hz : 0.0;
    double *clean = keep ? malloc((w.n ? w.n : 1) * sizeof *clean) : NULL;
    if (keep && !clean) {
        ncs_wave_free(&w);
        return ncs_fail(err, NCS_ERR_NOMEM, where, "out of memory");
    }
    ncs_warnings_free(sw);
    rc = ncs_measure(a, &w, s, where, &sr->m, clean, s->exclude ? NULL : sw, err);
    if (rc == NCS_OK && !s->exclude)
        ncs_wave_warn_channel(s, &w, where, sw);
    if (rc == NCS_OK && keep) {
        free(sr->trace);
        free(sr->raw);
        sr->trace = sr->raw = NULL;
        if (ncs_report_keep_trace(sr, clean, w.mv, w.n, w.fs_hz, -w.stim_ms) != NCS_OK)
            rc = ncs_fail(err, NCS_ERR_NOMEM, where, "out of memory");
    }
    free(clean);
    if (rc == NCS_OK && w.n <= KEEP_WAVE_SAMPLES)
        *held = w;
    else
        ncs_wave_free(&w);
    return rc;
}

/* A site kept out of the analysis: nothing of it is reported as measured. */
static void exclude_site(ncs_site_result *sr, const char *where, ncs_warnings *warn)
{
    const ncs_site *s = sr->def;
    unsigned keepflags = sr->m.flags & (NCS_FLAG_EXCLUDED | NCS_FLAG_LOW_RATE);
    double noise = sr->m.noise_uv;
    memset(&sr->m, 0, sizeof sr->m);
    sr->m.onset_ms = sr->m.peak_ms = sr->m.end_ms = NAN;
    sr->m.amp_mv = sr->m.p2p_mv = sr->m.neg_dur_ms = sr->m.neg_area_mvms = NAN;
    sr->m.noise_uv = noise;
    sr->m.u = (ncs_site_uncertainty){NAN, NAN, NAN, NAN, NAN, 0.0, 0.0};
    sr->m.flags = keepflags;
    ncs_warn(warn, where, "excluded", "excluded from the analysis%s%s",
             s->note ? ": " : "", s->note ? s->note : "");
}

/* The nerve's sites measured. Its traces were recorded with one amplifier on
 * one supply: the mains frequency their fits together show more evidence
 * for is the nerve's (ncs_mains_vote), and a trace that took the other (a
 * short quiet stretch tells 50 from 60 Hz poorly) is measured again with
 * it. */
static ncs_status measure_sites(ncs_analyser *a, const ncs_study *st, const ncs_nerve_def *n,
                                ncs_nerve_result *nr, int keep, ncs_warnings *warn,
                                ncs_error *err)
{
    ncs_warnings *sw = calloc(n->n_sites, sizeof *sw);
    ncs_markers *mk = calloc(n->n_sites, sizeof *mk);
    ncs_wave *held = calloc(n->n_sites, sizeof *held);
    ncs_status rc = sw && mk && held ? NCS_OK
                                     : ncs_fail(err, NCS_ERR_NOMEM, st->ini_path, "out of memory");
    ncs_analyser_force_mains(a, 0.0);
    for (size_t j = 0; j < n->n_sites && rc == NCS_OK; j++) {
        nr->sites[j].def = &n->sites[j];
        rc = measure_site(a, st, n, &n->sites[j], &nr->sites[j], keep, &sw[j], &held[j], err);
        mk[j] = nr->sites[j].m;
    }
    double hz = rc == NCS_OK ? ncs_mains_vote(mk, n->n_sites) : 0.0;
    ncs_analyser_force_mains(a, hz);
    for (size_t j = 0; j < n->n_sites && rc == NCS_OK && hz > 0; j++) {
        const ncs_markers *m = &nr->sites[j].m;
        if (m->mains_hz > 0 && m->mains_hz != hz)
            rc = measure_site(a, st, n, &n->sites[j], &nr->sites[j], keep, &sw[j], &held[j], err);
    }
    ncs_analyser_force_mains(a, 0.0);
    /* a record far shorter than the nerve's others: a file cut short (a
     * CSV cut between lines reads as a shorter record) */
    double longest = 0.0;
    for (size_t j = 0; j < n->n_sites && rc == NCS_OK; j++)
        if (!n->sites[j].exclude)
            longest = fmax(longest, nr->sites[j].record_ms);
    for (size_t j = 0; j < n->n_sites && rc == NCS_OK; j++) {
        char where[512];
        snprintf(where, sizeof where, "%s/%s.%s", st->id, n->id, n->sites[j].name);
        double len = nr->sites[j].record_ms;
        if (!n->sites[j].exclude && len < SHORT_RECORD_SHARE * longest)
            ncs_warn(&sw[j], where, "short-record",
                     "%s holds %.1f ms, the nerve's other traces up to %.1f ms: if the file "
                     "was cut short, the response's end, area and duration may be missing",
                     n->sites[j].file, len, longest);
        warnings_move(warn, &sw[j]);
        if (n->sites[j].exclude)
            exclude_site(&nr->sites[j], where, warn);
    }
    for (size_t j = 0; sw && j < n->n_sites; j++)
        ncs_warnings_free(&sw[j]);
    for (size_t j = 0; held && j < n->n_sites; j++)
        if (held[j].mv)
            ncs_wave_free(&held[j]);
    free(held);
    free(sw);
    free(mk);
    return rc;
}

/* Two sites of a segment whose files hold the same bytes: one recording
 * filed under two sites (a file copied or named twice). The segment is not
 * evaluable, for that reason, whatever else its values show. */
static void same_recording(const ncs_nerve_result *nr, size_t from, size_t to,
                           const char *where, ncs_segment *g, ncs_warnings *warn)
{
    const ncs_site_result *a = &nr->sites[from], *b = &nr->sites[to];
    if (a->samples_hash != b->samples_hash || a->def->exclude || b->def->exclude)
        return;
    snprintf(g->inconsistent, sizeof g->inconsistent,
             "%s and %s hold the same recording (the same samples): one of them is filed "
             "under the wrong site", a->def->name, b->def->name);
    ncs_warn(warn, where, "same-recording", "%s: the segment is not evaluable", g->inconsistent);
}

static ncs_status analyse_nerve(ncs_analyser *a, const ncs_study *st,
                                const ncs_nerve_def *n, ncs_nerve_result *nr,
                                int keep, ncs_warnings *warn, ncs_error *err)
{
    nr->def = n;
    nr->sites = calloc(n->n_sites, sizeof *nr->sites);
    nr->segments = calloc(n->n_sites, sizeof *nr->segments);
    nr->spans = calloc(n->n_sites, sizeof *nr->spans);
    if (!nr->sites || !nr->segments || !nr->spans)
        return ncs_fail(err, NCS_ERR_NOMEM, st->ini_path, "out of memory");
    nr->n_sites = n->n_sites;
    ncs_status rc = measure_sites(a, st, n, nr, keep, warn, err);
    if (rc != NCS_OK)
        return rc;
    seg_pair *sp = calloc(n->n_sites, sizeof *sp);
    double *excess = calloc(n->n_sites, sizeof *excess);
    if (!sp || !excess) {
        free(sp);
        free(excess);
        return ncs_fail(err, NCS_ERR_NOMEM, st->ini_path, "out of memory");
    }
    size_t np = seg_pairs(n, sp);
    rc = hidden_lobes(st, n, nr, warn, err);
    if (rc != NCS_OK) {
        free(sp);
        free(excess);
        return rc;
    }
    widen_disagreeing(st, n, nr, sp, np, warn, excess);
    /* segments between consecutive sites that are not excluded */
    for (size_t k = 0; k < np; k++) {
        const char *na = n->sites[sp[k].from].name, *nb = n->sites[sp[k].to].name;
        char where[512];
        snprintf(where, sizeof where, "%s/%s.%s-%s", st->id, n->id, na, nb);
        ncs_segment *g = &nr->segments[nr->n_segments++];
        ncs_segment_compute(&nr->sites[sp[k].from].m, &nr->sites[sp[k].to].m, na, nb,
                            sp[k].dist, where, g, warn);
        mark_disagreeing(where, g, excess[k], warn);
        same_recording(nr, sp[k].from, sp[k].to, where, g, warn);
    }
    spans(n, nr, sp, np);
    free(sp);
    free(excess);
    return NCS_OK;
}

/* ---- reference values and criteria -------------------------------------- */

#define EPS 1e-9


static const ncs_site_result *site_named(const ncs_nerve_result *nr, const char *name)
{
    for (size_t j = 0; j < nr->n_sites; j++)
        if (nr->sites[j].def->name == name)
            return &nr->sites[j];
    return NULL;
}

static int disagrees(const ncs_nerve_result *nr, const char *site)
{
    const ncs_site_result *sr = site_named(nr, site);
    return sr && (sr->m.uncertain & NCS_UNCERTAIN_DISAGREES);
}

/* No reference values for this nerve (or for its muscle): said, with the
 * muscles the table holds for it. */
static int onset_uncertain(const ncs_nerve_result *nr, const char *site)
{
    const ncs_site_result *s = site_named(nr, site);
    return s && (s->m.uncertain & NCS_UNCERTAIN_ONSET);
}

static void no_norms(ncs_results *r, const ncs_nerve_result *nr, const char *where)
{
    const ncs_nerve_def *n = nr->def;
    char held[160] = "";
    size_t k = 0;
    for (size_t i = 0; i < r->norms.n && k + 1 < sizeof held; i++)
        if (strcmp(r->norms.items[i].nerve, n->nerve) == 0) {
            int w = snprintf(held + k, sizeof held - k, "%s%s", k ? ", " : "",
                             r->norms.items[i].muscle[0] ? r->norms.items[i].muscle : "-");
            k += w > 0 ? (size_t)w : 0;
        }
    if (held[0] && n->muscle)
        ncs_warn(&r->warnings, where, "no-norms",
                 "the table in force has no reference values for the %s nerve recorded from "
                 "%s (it has: %s), and another muscle's limits are not used: no "
                 "dml-prolonged, amp-low or cv-slow codes", n->nerve, n->muscle, held);
    else
        ncs_warn(&r->warnings, where, "no-norms",
                 "the table in force has no reference values for the %s nerve: no "
                 "dml-prolonged, amp-low or cv-slow codes", n->nerve);
}

/* docs/criteria.md for one nerve. */
static void reference(ncs_results *r, ncs_nerve_result *nr)
{
    const ncs_study *st = r->study;
    const ncs_nerve_def *n = nr->def;
    char where[512];
    snprintf(where, sizeof where, "%s/%s", st->id, n->id);
    nr->norm = ncs_norms_find_muscle(&r->norms, n->nerve, n->muscle);
    double lim = ncs_norm_temperature_c(n->nerve);
    if (isfinite(n->temperature_c) && isfinite(lim) && n->temperature_c < lim) {
        nr->low_temperature = 1;
        ncs_warn(&r->warnings, where, "low-temperature",
                 "limb temperature %.1f C is below %.0f C: slowing may be from cold "
                 "(no correction is applied)", n->temperature_c, lim);
    }
    if (!nr->norm) {
        no_norms(r, nr, where);
        return;
    }
    const ncs_norm *nm = nr->norm;
    /* the distal latency and amplitude are the first site's: with it
     * excluded, a proximal one is no distal value */
    ncs_site_result *d = nr->n_sites && !nr->sites[0].def->exclude ? &nr->sites[0] : NULL;
    /* the latency limit holds at the table's distal distance */
    if (d && isfinite(nm->dml_distance_mm) && isfinite(nm->dml_uln_ms)
        && fabs(d->def->distance_mm - nm->dml_distance_mm) > 10.0 + EPS)
        ncs_warn(&r->warnings, where, "dml-distance",
                 "the distal distance %.0f mm is %.0f mm from the %.0f mm at which the distal "
                 "latency limit %.1f ms holds: the dml-prolonged code (and its absence) is "
                 "less sure", d->def->distance_mm, fabs(d->def->distance_mm - nm->dml_distance_mm),
                 nm->dml_distance_mm, nm->dml_uln_ms);
    if (d && d->m.response) {
        /* (a value flagged uncertain is abnormal only when its whole
         * interval is: its value alone decides nothing) */
        double uo = d->m.uncertain & NCS_UNCERTAIN_ONSET ? d->m.u.onset_ms : 0.0;
        double ua = d->m.uncertain & NCS_UNCERTAIN_AMP ? d->m.u.amp_mv : 0.0;
        if (isfinite(d->m.onset_ms) && isfinite(nm->dml_uln_ms)
            && !(d->m.uncertain & NCS_UNCERTAIN_DISAGREES)
            && d->m.onset_ms - uo > nm->dml_uln_ms + EPS)
            d->abnormal |= NCS_ABN_DML_PROLONGED;
        if (isfinite(d->m.amp_mv) && isfinite(nm->amp_lln_mv)
            && d->m.amp_mv + ua < nm->amp_lln_mv - EPS)
            d->abnormal |= NCS_ABN_AMP_LOW;
        nr->abnormal |= d->abnormal;
    }
    for (size_t j = 0; j < nr->n_segments; j++) {
        ncs_segment *g = &nr->segments[j];
        /* a CV from two sites that disagree, or from an onset that
         * disagrees with another, is no value; one from an onset flagged
         * uncertain is abnormal only when its whole interval is */
        double uc = onset_uncertain(nr, g->from) || onset_uncertain(nr, g->to)
                        ? (isfinite(g->u.cv_m_s) ? g->u.cv_m_s : INFINITY) : 0.0;
        if (isfinite(g->cv_m_s) && isfinite(nm->cv_lln_m_s) && !g->inconsistent[0]
            && !g->inching /* (docs/criteria.md: an inching step's CV gets no code) */
            && !disagrees(nr, g->from) && !disagrees(nr, g->to)
            && g->cv_m_s + uc < nm->cv_lln_m_s - EPS)
            g->abnormal |= NCS_ABN_CV_SLOW;
        nr->abnormal |= g->abnormal;
    }
}

/* A category whose deciding value's interval crosses its threshold: kept,
 * and the doubt said in the segment and a warning (the finding says it
 * itself: lib/criteria.c). */
static void mark_borderline(ncs_results *r, const ncs_nerve_result *nr,
                            const ncs_segment_case *c, ncs_criteria_id set, ncs_segment *g)
{
    g->borderline = ncs_criteria_borderline(set, c, g->block, g->borderline_why,
                                            sizeof g->borderline_why);
    if (!g->borderline)
        return;
    char where[512];
    snprintf(where, sizeof where, "%s/%s.%s-%s", r->study->id, nr->def->id, g->from, g->to);
    ncs_warn(&r->warnings, where, "borderline", "block %s, borderline: %s",
             ncs_block_name(g->block), g->borderline_why);
}

/* A segment or span under every set evaluated; the primary one's category
 * into g->block, its doubts and an absent proximal response warned (a
 * span's are its last segment's, warned there). */
static void assess(ncs_results *r, const ncs_nerve_result *nr, ncs_segment *g)
{
    const ncs_nerve_def *n = nr->def;
    const ncs_site_result *sd = site_named(nr, g->from), *sp = site_named(nr, g->to);
    ncs_segment_case c = {.nerve = n->nerve, .norm = nr->norm,
                          .distal = sd ? &sd->m : NULL, .proximal = sp ? &sp->m : NULL,
                          .seg = g, .entrapment = g->entrapment_site};
    for (int k = 0; k < NCS_CRIT__COUNT; k++) {
        if (!r->evaluated[k])
            continue;
        char why[NCS_WHY_LEN];
        g->block_by[k] = ncs_criteria_segment((ncs_criteria_id)k, &c, &g->findings, why);
        if (k != (int)r->options.primary)
            continue;
        g->block = g->block_by[k];
        snprintf(g->block_because, sizeof g->block_because, "%s", why);
        mark_borderline(r, nr, &c, (ncs_criteria_id)k, g);
        if (g->block == NCS_BLOCK_ABSENT_PROXIMAL && !g->covers) {
            char where[512];
            snprintf(where, sizeof where, "%s/%s.%s-%s", r->study->id, n->id, g->from, g->to);
            ncs_warn(&r->warnings, where, "absent-proximal", "%s", why);
        }
    }
}

/* docs/criteria.md for one nerve, under every set evaluated. */
static void criteria(ncs_results *r, ncs_nerve_result *nr)
{
    const ncs_study *st = r->study;
    const ncs_nerve_def *n = nr->def;
    const ncs_site_result *d = nr->n_sites && !nr->sites[0].def->exclude ? &nr->sites[0] : NULL;
    for (size_t j = 0; j < nr->n_segments; j++) {
        ncs_segment *g = &nr->segments[j];
        const ncs_site_result *sp = site_named(nr, g->to);
        int over = sp ? sp->def->entrapment : -1;
        g->entrapment_site = over >= 0 ? over : ncs_entrapment_site(n->nerve, g->from, g->to);
        assess(r, nr, g);
    }
    /* a span crosses every landmark its segments cross (as placed, or as
     * entrapment = says); unknown when one of them is */
    for (size_t j = 0; j < nr->n_spans; j++) {
        ncs_segment *g = &nr->spans[j];
        int any = 0, unknown = 0, said_no = 0;
        for (size_t k = 0; k < g->covers && k < nr->n_segments; k++) {
            const ncs_site_result *to = site_named(nr, nr->segments[k].to);
            any |= nr->segments[k].entrapment_site == 1;
            unknown |= nr->segments[k].entrapment_site < 0;
            said_no |= to && to->def->entrapment == 0;
        }
        /* and the landmarks between its own ends (an inching site in
         * between may leave its segments unknown) */
        int ends = ncs_entrapment_site(n->nerve, g->from, g->to);
        g->entrapment_site = any || (ends == 1 && !said_no) ? 1 : unknown && ends != 0 ? -1 : 0;
        assess(r, nr, g);
    }
    for (int k = 0; k < NCS_CRIT__COUNT; k++)
        if (r->evaluated[k] && d)
            ncs_criteria_nerve((ncs_criteria_id)k, n->nerve, nr->norm, &d->m, st->lff_hz,
                               &nr->findings);
    ncs_criteria_carpal_tunnel(nr);
    if (r->evaluated[NCS_CRIT_EAN2021_CIDP] && st->lff_hz != 2
        && ncs_criteria_has_distal_duration(n->nerve)) {
        char where[512];
        snprintf(where, sizeof where, "%s/%s", st->id, n->id);
        ncs_warn(&r->warnings, where, "distal-duration-not-assessed",
                 "ean2021-cidp distal-duration cut-offs are known here for a 2 Hz "
                 "low-frequency filter only (this study: %d Hz)", st->lff_hz);
    }
}

/* Slowing with no temperature recorded for the nerve or the study: each
 * slowing code and finding said to carry that doubt (cold slows). */
static void no_temperature(ncs_results *r, const ncs_nerve_result *nr)
{
    if (isfinite(nr->def->temperature_c))
        return;
    char what[400] = "";
    size_t k = 0;
    static const char *const slowing[] = {"cv-demyelinating", "dml-demyelinating"};
    if (nr->abnormal & NCS_ABN_CV_SLOW)
        k += (size_t)snprintf(what + k, sizeof what - k, "%scv-slow", k ? ", " : "");
    if (nr->abnormal & NCS_ABN_DML_PROLONGED)
        k += (size_t)snprintf(what + k, sizeof what - k, "%sdml-prolonged", k ? ", " : "");
    for (size_t s = 0; s < 2; s++) {
        int has = 0;
        for (size_t i = 0; i < nr->findings.count; i++)
            has |= strcmp(nr->findings.items[i].code, slowing[s]) == 0;
        for (size_t j = 0; j < nr->n_segments; j++)
            for (size_t i = 0; i < nr->segments[j].findings.count; i++)
                has |= strcmp(nr->segments[j].findings.items[i].code, slowing[s]) == 0;
        if (has && k < sizeof what)
            k += (size_t)snprintf(what + k, sizeof what - k, "%s%s", k ? ", " : "", slowing[s]);
    }
    if (!k)
        return;
    char where[512];
    snprintf(where, sizeof where, "%s/%s", r->study->id, nr->def->id);
    double lim = ncs_norm_temperature_c(nr->def->nerve);
    char warm[64] = "";
    if (isfinite(lim))
        snprintf(warm, sizeof warm, " to %.0f C or more", lim);
    ncs_warn(&r->warnings, where, "no-temperature",
             "%s with no limb temperature recorded (temperature_c): slowing may be from "
             "cold; measure it and warm the limb%s", what, warm);
}

/* What ncs_study_inputs_hash() computes, from what this analysis read:
 * study.ini, the sites' files in order, the normative tables loaded. */
static void inputs_hash(ncs_results *r)
{
    const ncs_study *st = r->study;
    ncs_hash_state s;
    ncs_hash_start(&s);
    ncs_hash_add(&s, &st->ini_hash);
    for (size_t i = 0; i < r->n_nerves; i++)
        for (size_t j = 0; j < r->nerves[i].n_sites; j++)
            ncs_hash_add(&s, &r->nerves[i].sites[j].file_hash);
    for (size_t k = 0; k < r->norms.n_files; k++)
        ncs_hash_add(&s, &r->norms.file_hash[k]);
    ncs_hash_end(&s, r->inputs_hash);
}

static ncs_status evaluate(ncs_results *r, ncs_error *err)
{
    const ncs_study *st = r->study;
    ncs_norms_builtin(&r->norms);
    if (st->norms && ncs_norms_load_from(&r->norms, st->norms, st->dir_real, err) != NCS_OK)
        return err ? err->code : NCS_ERR_IO;
    if (r->options.norms_path
        && ncs_norms_load(&r->norms, r->options.norms_path, err) != NCS_OK)
        return err ? err->code : NCS_ERR_IO;
    r->evaluated[r->options.primary] = 1;
    if (r->options.all_criteria)
        for (int k = 0; k < NCS_CRIT__COUNT; k++)
            r->evaluated[k] = 1;
    for (size_t i = 0; i < r->n_nerves; i++) {
        reference(r, &r->nerves[i]);
        criteria(r, &r->nerves[i]);
        no_temperature(r, &r->nerves[i]);
    }
    if (r->evaluated[NCS_CRIT_EAN2021_CIDP] && !st->lff_given)
        ncs_warn(&r->warnings, st->ini_path, "lff-assumed",
                 "no lff_hz in [study]: the recording's low-frequency filter is taken as "
                 "2 Hz, which the ean2021-cidp distal-duration cut-offs assume; give lff_hz "
                 "(2, 5, 10 or 20)");
    for (int k = 0; k < NCS_CRIT__COUNT; k++)
        if (r->evaluated[k] && !(r->summary[k] = ncs_criteria_summary((ncs_criteria_id)k, r)))
            return ncs_fail(err, NCS_ERR_NOMEM, st->ini_path, "out of memory");
    return ncs_sides_compare(r, err);
}

ncs_results *ncs_analyse_study(ncs_analyser *a, const ncs_study *st,
                               const ncs_options *opt, ncs_error *err)
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
    if (opt)
        r->options = *opt;
    if ((unsigned)r->options.primary >= NCS_CRIT__COUNT)
        r->options.primary = NCS_CRIT_EFNS2010_MMN;
    int keep = r->options.keep_traces;
    ncs_study_plausibility(st, &r->warnings); /* distances that look like slips */
    for (size_t i = 0; i < st->n_nerves; i++) {
        r->n_nerves = i + 1;
        if (analyse_nerve(a, st, &st->nerves[i], &r->nerves[i], keep, &r->warnings,
                          err) != NCS_OK) {
            ncs_results_destroy(r);
            return NULL;
        }
    }
    if (evaluate(r, err) != NCS_OK) {
        ncs_results_destroy(r);
        return NULL;
    }
    inputs_hash(r);
    return r;
}

const ncs_segment *ncs_segment_ending_at(const ncs_nerve_result *nr, const char *site)
{
    for (size_t k = 0; k < nr->n_segments; k++)
        if (nr->segments[k].to == site || strcmp(nr->segments[k].to, site) == 0)
            return &nr->segments[k];
    return NULL;
}
