/* criteria.c — docs/criteria.md: common entrapment sites, the conduction-block and
 * demyelination criteria as data, and the study's summary lines.
 *
 * Every threshold is compared with a tolerance of 1e-9 so that a value
 * exactly at a threshold (a 30 % duration increase computed as
 * 30.000000000000004) counts as at it, as a person reading it would. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define EPS 1e-9

static const char *const criteria_names[NCS_CRIT__COUNT] = {"efns2010-mmn",
                                                            "ean2021-cidp"};

const char *ncs_criteria_name(ncs_criteria_id id)
{
    return (unsigned)id < NCS_CRIT__COUNT ? criteria_names[id] : "?";
}

int ncs_criteria_lookup(const char *name)
{
    for (int i = 0; i < NCS_CRIT__COUNT; i++)
        if (name && strcmp(name, criteria_names[i]) == 0)
            return i;
    return -1;
}

/* ---- nerve sets ---------------------------------------------------------- */

enum {
    N_MEDIAN = 1u << 0,
    N_ULNAR = 1u << 1,
    N_FIBULAR = 1u << 2,
    N_TIBIAL = 1u << 3,
    N_RADIAL = 1u << 4,
    N_MUSCULOCUTANEOUS = 1u << 5,
    N_AXILLARY = 1u << 6,
    N_ACCESSORY = 1u << 7,
    N_FACIAL = 1u << 8,
};
#define MAIN3 (N_MEDIAN | N_ULNAR | N_FIBULAR)
#define UPPER_LIMB (N_MEDIAN | N_ULNAR | N_RADIAL | N_MUSCULOCUTANEOUS)

static unsigned nerve_bit(const char *nerve)
{
    for (unsigned i = 0; i < NCS_N_NERVE_NAMES - 1; i++)
        if (nerve && strcmp(nerve, ncs_nerve_names[i]) == 0)
            return 1u << i;
    return 0;
}

/* ---- entrapment sites (docs/criteria.md; AAEM 2003) ------------------------------ */

/* AAEM 2003 (Olney RK, Muscle Nerve 2003;27:117): median at the wrist
 * (carpal tunnel), ulnar at the elbow and the wrist, fibular at the
 * fibular head — placed between the nerve's known sites by lib/anatomy.c,
 * so a stretch crosses one whatever its end sites are called. */
int ncs_entrapment_site(const char *nerve, const char *from, const char *to)
{
    if (!nerve || !from || !to)
        return 0;
    return ncs_site_crosses(nerve, from, to, NULL);
}

/* ---- findings ------------------------------------------------------------ */

void ncs_findings_free(ncs_findings *f)
{
    if (!f)
        return;
    free(f->items);
    memset(f, 0, sizeof *f);
}

static ncs_finding *add_finding(ncs_findings *out, ncs_criteria_id set, const char *code,
                                int counts)
{
    /* when out is NULL or memory runs out: filled and thrown away (one per
     * thread, so concurrent evaluations do not share it) */
    static _Thread_local ncs_finding sink;
    ncs_finding *f = &sink;
    if (out) {
        if (out->count == out->cap) {
            size_t cap = out->cap ? 2 * out->cap : 4;
            ncs_finding *p = realloc(out->items, cap * sizeof *p);
            if (p) {
                out->items = p;
                out->cap = cap;
            }
        }
        if (out->count < out->cap)
            f = &out->items[out->count++];
        else
            out->dropped++;
    }
    memset(f, 0, sizeof *f);
    f->criteria = set;
    f->code = code;
    f->counts = counts;
    return f;
}

static void because(ncs_finding *f, const char *fmt, ...) NCS_PRINTF(2, 3);

static void because(ncs_finding *f, const char *fmt, ...)
{
    if (f->n_because >= NCS_MAX_BECAUSE)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->because[f->n_because++], sizeof f->because[0], fmt, ap);
    va_end(ap);
}

static int present(const ncs_markers *m)
{
    return m && m->response;
}

/* Why a trace decides no block and no finding (docs/measurements.md): it is
 * clipped, suspected inverted, or its amplitude or area interval is too
 * wide; NULL when it may decide. (no-response is not among them: an absent
 * proximal response is a finding of its own; an uncertain onset only keeps
 * what rests on it from deciding, onset_doubtful.) */
static const char *decides_nothing(const ncs_markers *m)
{
    if (!m)
        return NULL;
    if (m->flags & NCS_FLAG_CLIPPED)
        return "flagged clipped";
    if (m->flags & NCS_FLAG_INVERTED_SUSPECTED)
        return "flagged inverted-polarity-suspected";
    if (m->flags & NCS_FLAG_IMPLAUSIBLE_AMPLITUDE)
        return "flagged implausible-amplitude (units?)";
    if (m->uncertain & NCS_UNCERTAIN_AMP)
        return "flagged uncertain (its amplitude)";
    if (m->uncertain & NCS_UNCERTAIN_AREA)
        return "flagged uncertain (its area)";
    return NULL;
}

/* A trace whose onset is too uncertain to decide what rests on it: latency,
 * conduction velocity, duration. */
static int onset_doubtful(const ncs_markers *m)
{
    return m && (m->uncertain & NCS_UNCERTAIN_ONSET);
}

/* Appends "borderline: what v ± u unit against thr unit" to f when the
 * interval of the value deciding it crosses its threshold. */
static void borderline_because(ncs_finding *f, const char *what, double v, double u, double thr,
                               const char *unit)
{
    if (!f || !isfinite(v) || !isfinite(u) || !(fabs(v - thr) < u))
        return;
    int d = strcmp(unit, "mV") == 0 || strcmp(unit, "ms") == 0 ? 2 : 1;
    because(f, "borderline: %s %.*f \u00b1 %.*f %s against %g %s", what, d, v, d, u, unit, thr,
            unit);
}

/* A trace whose dominant first phase is positive (stored inverted?),
 * clipped at the rails or whose intervals are too wide decides no block and
 * no finding, nor do two sites that disagree (docs/measurements.md, consistency):
 * 1 with why filled when the segment has one. */
static int doubtful(const ncs_segment_case *c, char *why)
{
    const ncs_markers *m[2] = {c->distal, c->proximal};
    static const char *const which[2] = {"distal", "proximal"};
    /* (the segment's own inconsistency first: a trace flagged uncertain
     * for disagreeing with its neighbour is that disagreement's echo) */
    if (c->seg && c->seg->inconsistent[0]) {
        snprintf(why, NCS_WHY_LEN, "%s", c->seg->inconsistent);
        return 1;
    }
    for (int k = 0; k < 2; k++) {
        const char *flag = decides_nothing(m[k]);
        if (flag) {
            snprintf(why, NCS_WHY_LEN, "the %s trace is %s: its values decide nothing", which[k],
                     flag);
            return 1;
        }
    }
    return 0;
}

/* The distal-amplitude gate. efns2010-mmn: the distal amplitude must be
 * > min_mv and > frac of the LLN (where the table has one); ean2021-cidp
 * (min_mv = 0): >= frac of the LLN, which must then exist. Returns 1 when
 * the distal response may be used, with the reason in `reason`; else 0
 * with why filled. */
static int distal_gate(const ncs_segment_case *c, double min_mv, double frac, char *reason,
                       size_t rn, char *why)
{
    const ncs_markers *d = c->distal;
    double lln = c->norm ? c->norm->amp_lln_mv : NAN;
    if (!present(d)) {
        snprintf(why, NCS_WHY_LEN, "distal response absent");
        return 0;
    }
    if (!isfinite(d->amp_mv)) {
        snprintf(why, NCS_WHY_LEN, "distal amplitude not measured (%s)",
                 d->flags & NCS_FLAG_CLIPPED ? "clipped" : "see flags");
        return 0;
    }
    if (min_mv > 0) {
        if (d->amp_mv <= min_mv + EPS) {
            snprintf(why, NCS_WHY_LEN, "distal amplitude %.2f mV <= %g mV", d->amp_mv, min_mv);
            return 0;
        }
        if (isfinite(lln) && d->amp_mv <= frac * lln + EPS) {
            snprintf(why, NCS_WHY_LEN, "distal amplitude %.2f mV <= %g%% of LLN %.1f mV",
                     d->amp_mv, 100 * frac, lln);
            return 0;
        }
        if (isfinite(lln))
            snprintf(reason, rn, "distal amplitude %.2f mV > %g mV and > %g%% of LLN %.1f mV",
                     d->amp_mv, min_mv, 100 * frac, lln);
        else
            snprintf(reason, rn, "distal amplitude %.2f mV > %g mV (no LLN for %s)",
                     d->amp_mv, min_mv, c->nerve);
        return 1;
    }
    if (!isfinite(lln)) {
        snprintf(why, NCS_WHY_LEN, "no amplitude LLN for %s in the table in force", c->nerve);
        return 0;
    }
    if (d->amp_mv < frac * lln - EPS) {
        snprintf(why, NCS_WHY_LEN, "distal amplitude %.2f mV < %g%% of LLN %.1f mV", d->amp_mv,
                 100 * frac, lln);
        return 0;
    }
    snprintf(reason, rn, "distal amplitude %.2f mV >= %g%% of LLN %.1f mV", d->amp_mv,
             100 * frac, lln);
    return 1;
}

/* ---- block categories ---------------------------------------------------- */

static const char *const block_names[NCS_BLOCK__COUNT] = {
    [NCS_BLOCK_NONE] = "none",
    [NCS_BLOCK_NOT_ASSESSED] = "not-assessed",
    [NCS_BLOCK_NOT_EVALUABLE] = "not-evaluable",
    [NCS_BLOCK_ABSENT_PROXIMAL] = "absent-proximal",
    [NCS_BLOCK_DEFINITE] = "definite",
    [NCS_BLOCK_PROBABLE] = "probable",
    [NCS_BLOCK_CB] = "cb",
    [NCS_BLOCK_ENTRAPMENT] = "entrapment",
};

const char *ncs_block_name(ncs_block b)
{
    return (unsigned)b < NCS_BLOCK__COUNT ? block_names[b] : NULL;
}

char *ncs_finding_reasons(const ncs_finding *f, const char *sep, char *buf, size_t n)
{
    const char *items[NCS_MAX_BECAUSE];
    size_t k = 0;
    for (int b = 0; b < f->n_because && b < NCS_MAX_BECAUSE; b++)
        items[k++] = f->because[b];
    return ncs_join(buf, n, items, k, sep);
}

/* ---- efns2010-mmn -------------------------------------------------------- */

/* One conduction-block rule: area drop >= area_min, duration increase
 * within (dur_above, dur_max], segment >= seg_min_mm, in `nerves`. */
typedef struct {
    ncs_block block;
    unsigned nerves;
    double area_min;
    double dur_max;   /* NAN: no upper limit */
    double dur_above; /* NAN: no lower limit */
    double seg_min_mm;
} cb_rule;

/* EFNS/PNS 2010 guideline on MMN (van Schaik IN et al., J Peripher Nerv Syst
 * 2010;15:295-301), electrophysiological criteria for conduction block as
 * docs/criteria.md words them, in the order they are tried. */
static const cb_rule efns_rules[] = {
    /* definite: area reduction >= 50 % and duration increase <= 30 %,
     * median, ulnar or fibular nerve */
    {NCS_BLOCK_DEFINITE, MAIN3, 50.0, 30.0, NAN, 0.0},
    /* probable: area reduction >= 30 % and duration increase <= 30 % over a
     * segment of >= 10 cm of an upper-limb nerve */
    {NCS_BLOCK_PROBABLE, UPPER_LIMB, 30.0, 30.0, NAN, 100.0},
    /* probable: area reduction >= 50 % with duration increase > 30 %,
     * median, ulnar or fibular nerve */
    {NCS_BLOCK_PROBABLE, MAIN3, 50.0, NAN, 30.0, 0.0},
};
/* Nerves assessed (the tibial nerve is not: its normal proximal drop is too
 * large), and the distal-amplitude gate: > 1 mV and > 20 % of the LLN. */
static const unsigned efns_assessed = MAIN3 | N_RADIAL | N_MUSCULOCUTANEOUS;
static const double efns_distal_min_mv = 1.0, efns_distal_min_lln = 0.20;

static int rule_area(const cb_rule *r, double area)
{
    return area >= r->area_min - EPS;
}

static int rule_dur(const cb_rule *r, double dur)
{
    return (isnan(r->dur_max) || dur <= r->dur_max + EPS)
           && (isnan(r->dur_above) || dur > r->dur_above + EPS);
}

/* "ulnar at the elbow": the common entrapment site the segment crosses, or
 * that the study said so. */
static const char *entrapment_where(const ncs_segment_case *c)
{
    const ncs_segment *g = c->seg;
    const char *landmark = NULL;
    if (ncs_site_crosses(c->nerve, g->from, g->to, &landmark) == 1 && landmark)
        return landmark;
    return g->covers ? "entrapment = yes in study.ini for a segment it covers"
                     : "entrapment = yes in study.ini";
}

/* A finding where the stretch cannot be placed against the landmarks (a
 * site the vocabulary does not know): counted, and said. */
static void unknown_entrapment(ncs_finding *f, const ncs_segment_case *c)
{
    if (f->n_because == NCS_MAX_BECAUSE)
        f->n_because--;
    because(f, "whether %s-%s crosses an entrapment site is unknown (a site ncs cannot "
               "place; set entrapment = yes|no)", c->seg->from, c->seg->to);
}

static int efns_borderline(const ncs_segment_case *c, char *why, size_t n);
static int ean_borderline(const ncs_segment_case *c, char *why, size_t n);

static ncs_block efns_segment(const ncs_segment_case *c, ncs_findings *out, char *why)
{
    unsigned nb = nerve_bit(c->nerve);
    const ncs_segment *g = c->seg;
    char gate[112] = "";
    if (!(nb & efns_assessed)) {
        snprintf(why, NCS_WHY_LEN, "the %s nerve is not assessed by these criteria", c->nerve);
        return NCS_BLOCK_NOT_ASSESSED;
    }
    if (doubtful(c, why))
        return NCS_BLOCK_NOT_EVALUABLE;
    if (!distal_gate(c, efns_distal_min_mv, efns_distal_min_lln, gate, sizeof gate, why))
        return NCS_BLOCK_NOT_EVALUABLE;
    if (!present(c->proximal)) {
        snprintf(why, NCS_WHY_LEN, "proximal response absent: complete block or a technical "
                           "failure; confirm supramaximal stimulation");
        return NCS_BLOCK_ABSENT_PROXIMAL;
    }
    double area = g->area_drop_pct, dur = g->dur_increase_pct;
    if (!isfinite(area)) {
        snprintf(why, NCS_WHY_LEN, "area drop not measured (an area is null; see the flags)");
        return NCS_BLOCK_NOT_EVALUABLE;
    }
    for (size_t i = 0; i < sizeof efns_rules / sizeof efns_rules[0]; i++) {
        const cb_rule *r = &efns_rules[i];
        if (!(nb & r->nerves) || !rule_area(r, area))
            continue;
        if (r->seg_min_mm > 0 && !(g->distance_mm >= r->seg_min_mm - EPS))
            continue;
        if (!isfinite(dur)) {
            snprintf(why, NCS_WHY_LEN, "area drop %.1f%% >= %g%% but the duration increase is "
                               "not measured (a duration is null; see the flags)",
                     area, r->area_min);
            return NCS_BLOCK_NOT_EVALUABLE;
        }
        if (!rule_dur(r, dur))
            continue;
        ncs_finding *f = add_finding(out, NCS_CRIT_EFNS2010_MMN, ncs_block_name(r->block),
                                     c->entrapment != 1);
        because(f, "area drop %.1f%% >= %g%%", area, r->area_min);
        if (!isnan(r->dur_max))
            because(f, "duration increase %.1f%% <= %g%%", dur, r->dur_max);
        else
            because(f, "duration increase %.1f%% > %g%%", dur, r->dur_above);
        if (r->seg_min_mm > 0)
            because(f, "segment %.0f mm >= %g mm", g->distance_mm, r->seg_min_mm);
        because(f, "%s", gate);
        char bw[NCS_BECAUSE_LEN - 12] = "";
        if (efns_borderline(c, bw, sizeof bw))
            because(f, "borderline: %s", bw);
        if (c->entrapment < 0)
            unknown_entrapment(f, c);
        if (c->entrapment == 1) {
            if (f->n_because == NCS_MAX_BECAUSE)
                f->n_because--;
            because(f, "at an entrapment site (%s): not counted for MMN",
                    entrapment_where(c));
            snprintf(why, NCS_WHY_LEN, "%s CB criteria met at an entrapment site (%s)", ncs_block_name(r->block),
                     entrapment_where(c));
            return NCS_BLOCK_ENTRAPMENT;
        }
        return r->block;
    }
    return NCS_BLOCK_NONE;
}

/* ---- ean2021-cidp -------------------------------------------------------- */

/* EAN/PNS 2021 guideline on CIDP (Van den Bergh PYK et al., Eur J Neurol
 * 2021;28:3556-83), motor conduction criteria measurable from CMAPs. */
static const double ean_cb_amp_drop = 30.0;      /* amplitude drop >= 30 % */
static const double ean_cb_distal_lln = 0.20;    /* distal amplitude >= 20 % LLN */
static const double ean_td_pct = 30.0;           /* duration increase > 30 % */
static const double ean_td_pct_tibial = 100.0;   /* > 100 % in the tibial nerve */
static const double ean_cv_frac = 0.70;          /* CV <= 70 % of LLN */
static const double ean_dml_frac = 1.50;         /* distal latency >= 150 % ULN */

/* distal negative-peak duration cut-offs at LFF 2 Hz, ms */
static const struct {
    const char *nerve, *muscle; /* the cut-offs are for these muscles only */
    double ms;
} ean_distal_dur_2hz[] = {
    {"median", "APB", 6.6}, {"ulnar", "ADM", 6.7}, {"fibular", "EDB", 7.6},
    {"tibial", "AHB", 8.8},
};

/* EAN/PNS 2021: slowing and dispersion across an entrapment site, and over
 * an inching step (a 0.1 ms error is 10 % of the CV over 20 mm), do not
 * count. */
static int ean_excluded(const ncs_segment_case *c)
{
    return c->seg->inching || c->entrapment == 1;
}

static void ean_not_counted(ncs_finding *f, const ncs_segment_case *c)
{
    if (!f || !ean_excluded(c))
        return;
    if (f->n_because == NCS_MAX_BECAUSE)
        f->n_because--;
    if (c->seg->inching)
        because(f, "an inching step (%.0f mm): not counted", c->seg->distance_mm);
    else
        because(f, "across an entrapment site (%s): not counted", entrapment_where(c));
}

/* A finding whose value rests on an onset flagged uncertain is listed, not
 * counted: a clinician sees what the values would have met and why they
 * decide nothing. */
static void onset_not_counted(ncs_finding *f, const char *site, const ncs_markers *m)
{
    if (!f)
        return;
    if (f->n_because == NCS_MAX_BECAUSE)
        f->n_because--;
    because(f, "the onset at %s is uncertain (\u00b1%.2f ms): not counted", site, m->u.onset_ms);
}

static ncs_block ean_segment(const ncs_segment_case *c, ncs_findings *out, char *why)
{
    unsigned nb = nerve_bit(c->nerve);
    const ncs_segment *g = c->seg;
    int tibial = nb == N_TIBIAL;
    if (doubtful(c, why))
        return tibial ? NCS_BLOCK_NOT_ASSESSED : NCS_BLOCK_NOT_EVALUABLE;
    /* slowing and dispersion do not need the block gate */
    double cv_lln = c->norm ? c->norm->cv_lln_m_s : NAN;
    /* (an onset too uncertain decides neither: both rest on it) */
    int onsets_ok = !onset_doubtful(c->distal) && !onset_doubtful(c->proximal);
    const char *unsure = onset_doubtful(c->distal) ? g->from : g->to;
    const ncs_markers *unsure_m = onset_doubtful(c->distal) ? c->distal : c->proximal;
    if (isfinite(g->cv_m_s) && isfinite(cv_lln) && g->cv_m_s <= ean_cv_frac * cv_lln + EPS) {
        ncs_finding *f = add_finding(out, NCS_CRIT_EAN2021_CIDP, "cv-demyelinating",
                                     onsets_ok && !ean_excluded(c));
        because(f, "CV %.1f m/s <= %g%% of LLN %g m/s (%.1f m/s)", g->cv_m_s,
                100 * ean_cv_frac, cv_lln, ean_cv_frac * cv_lln);
        borderline_because(f, "CV", g->cv_m_s, g->u.cv_m_s, ean_cv_frac * cv_lln, "m/s");
        if (onsets_ok)
            ean_not_counted(f, c);
        else
            onset_not_counted(f, unsure, unsure_m);
    }
    double td = tibial ? ean_td_pct_tibial : ean_td_pct;
    if (present(c->distal) && present(c->proximal)
        && isfinite(g->dur_increase_pct) && g->dur_increase_pct > td + EPS) {
        ncs_finding *f = add_finding(out, NCS_CRIT_EAN2021_CIDP, "abnormal-td",
                                     onsets_ok && !ean_excluded(c));
        because(f, "duration increase %.1f%% > %g%%%s", g->dur_increase_pct, td,
                tibial ? " (tibial)" : "");
        borderline_because(f, "duration increase", g->dur_increase_pct, g->u.dur_increase_pct,
                           td, "%");
        if (onsets_ok)
            ean_not_counted(f, c);
        else
            onset_not_counted(f, unsure, unsure_m);
    }
    char gate[112] = "";
    if (tibial) {
        snprintf(why, NCS_WHY_LEN, "conduction block is not assessed in the tibial nerve");
        return NCS_BLOCK_NOT_ASSESSED;
    }
    if (!distal_gate(c, 0.0, ean_cb_distal_lln, gate, sizeof gate, why))
        return NCS_BLOCK_NOT_EVALUABLE;
    if (!present(c->proximal)) {
        snprintf(why, NCS_WHY_LEN, "proximal response absent: complete block or a technical "
                           "failure; confirm supramaximal stimulation");
        return NCS_BLOCK_ABSENT_PROXIMAL;
    }
    if (!isfinite(g->amp_drop_pct)) {
        snprintf(why, NCS_WHY_LEN, "amplitude drop not measured (an amplitude is null)");
        return NCS_BLOCK_NOT_EVALUABLE;
    }
    if (g->amp_drop_pct >= ean_cb_amp_drop - EPS) {
        ncs_finding *f = add_finding(out, NCS_CRIT_EAN2021_CIDP, "cb",
                                     c->entrapment != 1 && !g->inching);
        because(f, "amplitude drop %.1f%% >= %g%%", g->amp_drop_pct, ean_cb_amp_drop);
        because(f, "%s", gate);
        if (g->inching && c->entrapment != 1)
            because(f, "an inching step (%.0f mm): not counted (the span over it is)",
                    g->distance_mm);
        char bw[NCS_BECAUSE_LEN - 12] = "";
        if (ean_borderline(c, bw, sizeof bw))
            because(f, "borderline: %s", bw);
        if (c->entrapment < 0)
            unknown_entrapment(f, c);
        if (c->entrapment == 1) {
            because(f, "at an entrapment site (%s): not counted",
                    entrapment_where(c));
            snprintf(why, NCS_WHY_LEN, "cb criteria met at an entrapment site (%s)",
                     entrapment_where(c));
            return NCS_BLOCK_ENTRAPMENT;
        }
        return NCS_BLOCK_CB;
    }
    return NCS_BLOCK_NONE;
}

/* ---- borderline ---------------------------------------------------------- */

/* Appends "what v ± u unit against thr unit" to why when the interval of v
 * crosses thr. */
static int crosses(char *why, size_t n, const char *what, double v, double u, double thr,
                   const char *unit)
{
    if (!isfinite(v) || !isfinite(u) || !(fabs(v - thr) < u))
        return 0;
    size_t k = strlen(why);
    if (k + 4 < n)
        snprintf(why + k, n - k, "%s%s %.*f \u00b1 %.*f %s against %g %s", k ? "; " : "", what,
                 strcmp(unit, "mV") ? 1 : 2, v, strcmp(unit, "mV") ? 1 : 2, u, unit, thr, unit);
    return 1;
}

/* The values deciding an efns2010-mmn category whose intervals cross their
 * thresholds, into why ("" when none); 1 when there is one. */
static int efns_borderline(const ncs_segment_case *c, char *why, size_t n)
{
    why[0] = '\0';
    const ncs_segment *g = c->seg;
    unsigned nb = nerve_bit(c->nerve);
    int any = crosses(why, n, "distal amplitude", c->distal->amp_mv, c->distal->u.amp_mv,
                      efns_distal_min_mv, "mV");
    double lln = c->norm ? c->norm->amp_lln_mv : NAN;
    if (isfinite(lln))
        any |= crosses(why, n, "distal amplitude", c->distal->amp_mv, c->distal->u.amp_mv,
                       efns_distal_min_lln * lln, "mV");
    double a = g->area_drop_pct, ua = g->u.area_drop_pct, lowest = INFINITY;
    double done[4] = {0};
    size_t nd = 0;
    for (size_t i = 0; i < sizeof efns_rules / sizeof efns_rules[0]; i++) {
        const cb_rule *r = &efns_rules[i];
        if (!(nb & r->nerves) || (r->seg_min_mm > 0 && !(g->distance_mm >= r->seg_min_mm - EPS)))
            continue;
        lowest = fmin(lowest, r->area_min);
        int seen = 0;
        for (size_t k = 0; k < nd; k++)
            seen |= done[k] == r->area_min;
        if (!seen) {
            done[nd++] = r->area_min;
            any |= crosses(why, n, "area drop", a, ua, r->area_min, "%");
        }
    }
    /* the duration decides only where an area threshold may be met */
    if (isfinite(a) && isfinite(ua) && a + ua >= lowest)
        any |= crosses(why, n, "duration increase", g->dur_increase_pct, g->u.dur_increase_pct,
                       30.0, "%");
    return any;
}

static int ean_borderline(const ncs_segment_case *c, char *why, size_t n)
{
    why[0] = '\0';
    const ncs_segment *g = c->seg;
    double lln = c->norm ? c->norm->amp_lln_mv : NAN;
    int any = 0;
    if (isfinite(lln))
        any |= crosses(why, n, "distal amplitude", c->distal->amp_mv, c->distal->u.amp_mv,
                       ean_cb_distal_lln * lln, "mV");
    any |= crosses(why, n, "amplitude drop", g->amp_drop_pct, g->u.amp_drop_pct,
                   ean_cb_amp_drop, "%");
    return any;
}

int ncs_criteria_borderline(ncs_criteria_id set, const ncs_segment_case *c, ncs_block block,
                            char *why, size_t n)
{
    why[0] = '\0';
    if (!c->seg || !present(c->distal)
        || !(block == NCS_BLOCK_NONE || block == NCS_BLOCK_DEFINITE
             || block == NCS_BLOCK_PROBABLE || block == NCS_BLOCK_CB
             || block == NCS_BLOCK_ENTRAPMENT))
        return 0;
    switch (set) {
    case NCS_CRIT_EFNS2010_MMN:
        return efns_borderline(c, why, n);
    case NCS_CRIT_EAN2021_CIDP:
        return ean_borderline(c, why, n);
    default:
        return 0;
    }
}

ncs_block ncs_criteria_segment(ncs_criteria_id set, const ncs_segment_case *c,
                                 ncs_findings *out, char why[NCS_WHY_LEN])
{
    char dummy[NCS_WHY_LEN];
    if (!why)
        why = dummy;
    why[0] = '\0';
    switch (set) {
    case NCS_CRIT_EFNS2010_MMN:
        return efns_segment(c, out, why);
    case NCS_CRIT_EAN2021_CIDP:
        return ean_segment(c, out, why);
    default:
        return NCS_BLOCK_NOT_ASSESSED;
    }
}

void ncs_criteria_nerve(ncs_criteria_id set, const char *nerve, const ncs_norm *norm,
                        const ncs_markers *d, int lff_hz, ncs_findings *out)
{
    if (set != NCS_CRIT_EAN2021_CIDP || !present(d) || decides_nothing(d))
        return;
    /* (both rest on the onset: with it uncertain they are listed, not counted) */
    int ok = !onset_doubtful(d);
    double uln = norm ? norm->dml_uln_ms : NAN;
    if (isfinite(d->onset_ms) && isfinite(uln) && d->onset_ms >= ean_dml_frac * uln - EPS) {
        ncs_finding *f = add_finding(out, set, "dml-demyelinating", ok);
        because(f, "distal latency %.2f ms >= %g%% of ULN %g ms (%.2f ms)", d->onset_ms,
                100 * ean_dml_frac, uln, ean_dml_frac * uln);
        borderline_because(f, "distal latency", d->onset_ms, d->u.onset_ms, ean_dml_frac * uln,
                           "ms");
        if (!ok)
            onset_not_counted(f, "the distal site", d);
    }
    if (lff_hz != 2 || !isfinite(d->neg_dur_ms))
        return;
    for (size_t i = 0; i < sizeof ean_distal_dur_2hz / sizeof ean_distal_dur_2hz[0]; i++)
        if (strcmp(nerve, ean_distal_dur_2hz[i].nerve) == 0 && norm
            && ncs_muscle_same(norm->muscle, ean_distal_dur_2hz[i].muscle)
            && d->neg_dur_ms > ean_distal_dur_2hz[i].ms + EPS) {
            ncs_finding *f = add_finding(out, set, "distal-duration-prolonged", ok);
            because(f, "distal duration %.2f ms > %g ms (%s, LFF 2 Hz)", d->neg_dur_ms,
                    ean_distal_dur_2hz[i].ms, nerve);
            borderline_because(f, "distal duration", d->neg_dur_ms, d->u.neg_dur_ms,
                               ean_distal_dur_2hz[i].ms, "ms");
            if (!ok)
                onset_not_counted(f, "the distal site", d);
        }
}

void ncs_criteria_carpal_tunnel(ncs_nerve_result *nr)
{
    if (strcmp(nr->def->nerve, "median") != 0 || !nr->norm)
        return;
    if (!nr->n_segments) {
        /* no forearm CV to tell it from carpal tunnel: counted, and said */
        for (size_t i = 0; i < nr->findings.count; i++) {
            ncs_finding *f = &nr->findings.items[i];
            if (f->criteria == NCS_CRIT_EAN2021_CIDP && !strcmp(f->code, "dml-demyelinating")
                && f->n_because < NCS_MAX_BECAUSE)
                because(f, "no forearm segment: a carpal-tunnel pattern cannot be told apart");
        }
        return;
    }
    const ncs_segment *g = &nr->segments[0];
    double lim = ean_cv_frac * nr->norm->cv_lln_m_s;
    if (!isfinite(g->cv_m_s) || !isfinite(lim) || g->inconsistent[0] || g->cv_m_s <= lim + EPS)
        return;
    for (size_t i = 0; i < nr->findings.count; i++) {
        ncs_finding *f = &nr->findings.items[i];
        if (f->criteria != NCS_CRIT_EAN2021_CIDP || strcmp(f->code, "dml-demyelinating") != 0)
            continue;
        f->counts = 0;
        if (f->n_because == NCS_MAX_BECAUSE)
            f->n_because--;
        because(f, "carpal-tunnel pattern: the forearm CV %.1f m/s (%s-%s) is not in the "
                   "demyelinating range: not counted", g->cv_m_s, g->from, g->to);
    }
}

int ncs_criteria_has_distal_duration(const char *nerve)
{
    for (size_t i = 0; i < sizeof ean_distal_dur_2hz / sizeof ean_distal_dur_2hz[0]; i++)
        if (strcmp(nerve, ean_distal_dur_2hz[i].nerve) == 0)
            return 1;
    return 0;
}

/* ---- the study's summary lines (docs/criteria.md) -------------------------------- */

typedef struct {
    char *s;
    size_t len, cap;
    int oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) NCS_PRINTF(2, 3);

static void sb_add(sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (b->len + (size_t)n + 1 > b->cap) {
        size_t cap = (b->len + (size_t)n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static int seg_has(const ncs_segment *g, ncs_criteria_id set, const char *code, int counts)
{
    for (size_t k = 0; k < g->findings.count; k++) {
        const ncs_finding *f = &g->findings.items[k];
        if (f->criteria == set && strcmp(f->code, code) == 0 && f->counts == counts)
            return 1;
    }
    return 0;
}

int ncs_span_finding_new(const ncs_nerve_result *nr, const ncs_finding *f)
{
    if (!f->counts)
        return 0;
    for (size_t g = 0; g < nr->n_segments; g++)
        if (seg_has(&nr->segments[g], f->criteria, f->code, 1))
            return 0;
    return 1;
}

/* Whether a segment or span of nr holds finding `code` (counted). */
static int nerve_has(const ncs_nerve_result *nr, ncs_criteria_id set, const char *code)
{
    int has = 0;
    for (size_t j = 0; j < nr->n_segments; j++)
        has |= seg_has(&nr->segments[j], set, code, 1);
    for (size_t j = 0; j < nr->n_spans; j++)
        has |= seg_has(&nr->spans[j], set, code, 1);
    return has;
}

/* Appends "median.right elbow-axilla; ulnar.right wrist-below-elbow, ...":
 * the segments holding finding `code` (counts: 1 counted, 0 not counted) of
 * each nerve that has no counted `skip_code`; a nerve where no segment
 * holds it but a span does is listed by its shortest such span ("median.right
 * wrist-axilla (span)"). Returns the nerves listed. */
static int list_segments(sbuf *b, const ncs_results *r, ncs_criteria_id set,
                         const char *code, int counts, const char *skip_code)
{
    int nerves = 0;
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        int here = 0;
        if (skip_code && nerve_has(nr, set, skip_code))
            continue;
        for (size_t j = 0; j < nr->n_segments; j++) {
            const ncs_segment *g = &nr->segments[j];
            if (!seg_has(g, set, code, counts))
                continue;
            if (here)
                sb_add(b, ", %s-%s", g->from, g->to);
            else
                sb_add(b, "%s%s %s-%s", b->len ? "; " : "", nr->def->id, g->from, g->to);
            if (g->entrapment_site < 0)
                sb_add(b, " (entrapment site unknown)");
            here = 1;
        }
        /* (a span's finding at an entrapment site is its segments': listed there) */
        for (size_t j = 0; j < nr->n_spans && !here && counts; j++) {
            const ncs_segment *g = &nr->spans[j];
            if (!seg_has(g, set, code, counts))
                continue;
            sb_add(b, "%s%s %s-%s (span%s)", b->len ? "; " : "", nr->def->id, g->from, g->to,
                   g->entrapment_site < 0 ? "; entrapment site unknown" : "");
            here = 1;
        }
        nerves += here;
    }
    return nerves;
}

static char *efns_summary(const ncs_results *r)
{
    const ncs_criteria_id set = NCS_CRIT_EFNS2010_MMN;
    sbuf b = {0}, tmp = {0};
    sb_add(&b, "%s: ", ncs_criteria_name(set));
    const char *definite = ncs_block_name(NCS_BLOCK_DEFINITE);
    const char *probable = ncs_block_name(NCS_BLOCK_PROBABLE);
    int nd = list_segments(&tmp, r, set, definite, 1, NULL);
    if (nd) {
        sb_add(&b, "definite CB in %d nerve%s (%s)", nd, nd == 1 ? "" : "s",
               tmp.s ? tmp.s : "");
    }
    free(tmp.s);
    tmp = (sbuf){0};
    int np = list_segments(&tmp, r, set, probable, 1, definite);
    if (np)
        sb_add(&b, "%sprobable CB in %d %snerve%s (%s)", nd ? "; " : "", np,
               nd ? "other " : "", np == 1 ? "" : "s", tmp.s ? tmp.s : "");
    free(tmp.s);
    if (!nd && !np)
        sb_add(&b, "no definite or probable CB outside entrapment sites");
    tmp = (sbuf){0};
    int ne = list_segments(&tmp, r, set, definite, 0, NULL);
    ne += list_segments(&tmp, r, set, probable, 0, NULL);
    if (ne)
        sb_add(&b, "; at an entrapment site and not counted: %s", tmp.s ? tmp.s : "");
    free(tmp.s);
    /* absent proximal responses and segments that could not be evaluated,
     * by name (a reader checks each) */
    for (int pass = 0; pass < 2 && r->options.primary == set; pass++) {
        ncs_block which = pass ? NCS_BLOCK_NOT_EVALUABLE : NCS_BLOCK_ABSENT_PROXIMAL;
        int n = 0;
        for (size_t i = 0; i < r->n_nerves; i++)
            for (size_t j = 0; j < r->nerves[i].n_segments; j++) {
                const ncs_segment *g = &r->nerves[i].segments[j];
                if (g->block == which)
                    sb_add(&b, "%s%s %s-%s", n++ ? ", " : pass ? "; not evaluable: "
                                                                : "; proximal response absent: ",
                           r->nerves[i].def->id, g->from, g->to);
            }
        if (n && !pass)
            sb_add(&b, " (confirm supramaximal stimulation)");
    }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* EAN/PNS 2021's motor criteria as counted (docs/criteria.md): (a) distal
 * latency, (b) CV, (e) conduction block, (f) temporal dispersion, (g) distal
 * duration; which nerves meet each (counted findings only). */
enum { EA, EB, EE, EF, EG, E__N };
static const char *const ean_codes[E__N] = {"dml-demyelinating", "cv-demyelinating", "cb",
                                            "abnormal-td", "distal-duration-prolonged"};
static const char *const ean_labels[E__N] = {"(a) distal latency", "(b) CV",
                                             "(e) conduction block", "(f) temporal dispersion",
                                             "(g) distal duration"};

static int nerve_meets(const ncs_nerve_result *nr, int k)
{
    const ncs_criteria_id set = NCS_CRIT_EAN2021_CIDP;
    for (size_t i = 0; i < nr->findings.count; i++)
        if (nr->findings.items[i].criteria == set && nr->findings.items[i].counts
            && !strcmp(nr->findings.items[i].code, ean_codes[k]))
            return 1;
    for (size_t j = 0; j < nr->n_segments; j++)
        if (seg_has(&nr->segments[j], set, ean_codes[k], 1))
            return 1;
    /* a block is proximal against distal stimulation, whatever the length */
    for (size_t j = 0; k == EE && j < nr->n_spans; j++)
        if (seg_has(&nr->spans[j], set, ean_codes[k], 1))
            return 1;
    return 0;
}

/* Whether a nerve other than those meeting k meets another criterion. */
static int other_parameter(const unsigned *met, size_t n, int k)
{
    for (size_t i = 0; i < n; i++)
        if (!(met[i] & (1u << k)) && (met[i] & ~(1u << k)))
            return 1;
    return 0;
}

static void ean_strength(sbuf *b, const ncs_results *r, const unsigned *met, int strong)
{
    int any = 0;
    for (int k = 0; k < E__N; k++) {
        int n = 0;
        for (size_t i = 0; i < r->n_nerves; i++)
            n += (met[i] >> k) & 1;
        if (!n)
            continue;
        int is_strong = k == EG ? other_parameter(met, r->n_nerves, k)
                      : k == EE ? n >= 2 || other_parameter(met, r->n_nerves, k)
                                : n >= 2;
        if (is_strong != strong)
            continue;
        sb_add(b, "%s%s in %d nerve%s (", any ? "; " : strong ? "; strongly supportive: "
                                                              : "; weakly supportive: ",
               ean_labels[k], n, n == 1 ? "" : "s");
        for (size_t i = 0, m = 0; i < r->n_nerves; i++)
            if ((met[i] >> k) & 1)
                sb_add(b, "%s%s", m++ ? ", " : "", r->nerves[i].def->id);
        sb_add(b, ")");
        any = 1;
    }
}

/* The findings that do not count (carpal tunnel, entrapment, inching). */
static void ean_not_counted_list(sbuf *b, const ncs_results *r)
{
    const ncs_criteria_id set = NCS_CRIT_EAN2021_CIDP;
    int any = 0;
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        for (size_t k = 0; k < nr->findings.count; k++)
            if (nr->findings.items[k].criteria == set && !nr->findings.items[k].counts)
                sb_add(b, "%s%s %s", any++ ? ", " : "; not counted: ", nr->def->id,
                       nr->findings.items[k].code);
        for (size_t j = 0; j < nr->n_segments; j++)
            for (size_t k = 0; k < nr->segments[j].findings.count; k++) {
                const ncs_finding *f = &nr->segments[j].findings.items[k];
                if (f->criteria == set && !f->counts)
                    sb_add(b, "%s%s %s-%s %s", any++ ? ", " : "; not counted: ", nr->def->id,
                           nr->segments[j].from, nr->segments[j].to, f->code);
            }
    }
}

static char *ean_summary(const ncs_results *r)
{
    const ncs_criteria_id set = NCS_CRIT_EAN2021_CIDP;
    sbuf b = {0};
    unsigned *met = calloc(r->n_nerves ? r->n_nerves : 1, sizeof *met);
    if (!met)
        return NULL;
    int nerves = 0;
    for (size_t i = 0; i < r->n_nerves; i++) {
        for (int k = 0; k < E__N; k++)
            met[i] |= (unsigned)nerve_meets(&r->nerves[i], k) << k;
        nerves += met[i] != 0;
    }
    sb_add(&b, "%s: ", ncs_criteria_name(set));
    if (!nerves)
        sb_add(&b, "no demyelinating-range values");
    else
        sb_add(&b, "demyelinating-range values in %d nerve%s", nerves, nerves == 1 ? "" : "s");
    ean_strength(&b, r, met, 1);
    ean_strength(&b, r, met, 0);
    free(met);
    ean_not_counted_list(&b, r);
    sb_add(&b, "; F-waves (c, d): not assessed (no F-waves)");
    int nn = 0;
    for (size_t i = 0; i < r->n_nerves; i++)
        for (size_t j = 0; j < r->nerves[i].n_segments; j++) {
            const ncs_segment *g = &r->nerves[i].segments[j];
            if (g->block_by[set] != NCS_BLOCK_NOT_EVALUABLE)
                continue;
            sb_add(&b, "%s%s %s-%s", nn++ ? ", " : "; not evaluable: ", r->nerves[i].def->id,
                   g->from, g->to);
        }
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

char *ncs_criteria_summary(ncs_criteria_id set, const ncs_results *r)
{
    switch (set) {
    case NCS_CRIT_EFNS2010_MMN:
        return efns_summary(r);
    case NCS_CRIT_EAN2021_CIDP:
        return ean_summary(r);
    default:
        return NULL;
    }
}
