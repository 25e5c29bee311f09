/* report_nerve.c — a nerve's page of the report (docs/outputs.md): the
 * traces stacked distal to proximal on one time axis and one gain,
 * negative up, the trace as recorded faint under the cleaned one, markers
 * (those placed by hand drawn as such), the shaded negative-phase area,
 * scale bars and block brackets beside the traces; a close-up of every
 * uncertain take-off and of every absent response; then the sites' and
 * the segments' tables with their normal values and 95 % half-widths, and
 * the findings. Also what a report keeps of a trace. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* ---- what of a trace is kept for the page ------------------------------- */

/* A page's time axis starts at the stimulus and is at least
 * KEEP_MIN_AXIS_MS long. A stretch kept is 1/KEEP_PER_AXIS of the time since
 * the stimulus (of KEEP_MIN_AXIS_MS before that), so any axis holds at least
 * KEEP_PER_AXIS of them: twice what a page draws (a trace with more than
 * DRAW_MAX points on the axis is drawn as the lowest and highest points of
 * DRAW_BUCKETS equal stretches of time). */
#define KEEP_MIN_AXIS_MS 5.0
#define KEEP_PER_AXIS 3000.0
#define DRAW_MAX 1200
#define DRAW_BUCKETS (DRAW_MAX / 2)
#define DRAW_BUCKETS_RAW 300 /* the faint trace as recorded, under the cleaned one */

/* The first of n samples at or after t_ms, by the very sum (t0_ms + i * dt)
 * that gives the kept points their times. */
static size_t first_sample_from(double t_ms, size_t n, double dt, double t0_ms)
{
    double g = ceil((t_ms - t0_ms) / dt);
    size_t i = g > 0 ? (g < (double)n ? (size_t)g : n) : 0;
    while (i > 0 && t0_ms + (double)(i - 1) * dt >= t_ms)
        i--;
    while (i < n && t0_ms + (double)i * dt < t_ms)
        i++;
    return i;
}

/* The end of the stretch that starts at sample i (of n): 1/KEEP_PER_AXIS of
 * the time since the stimulus, never across sample i_gain. */
static size_t stretch_end(size_t i, size_t n, double dt, double t0_ms, size_t i_gain)
{
    double t = t0_ms + (double)i * dt;
    double len = floor(fmax(t, KEEP_MIN_AXIS_MS) / KEEP_PER_AXIS / dt);
    size_t e = i + 1;
    if (len > 1)
        e = len < (double)(n - i) ? i + (size_t)len : n;
    return i < i_gain && e > i_gain ? i_gain : e;
}

/* The kept points of mv (n samples, dt apart, the first at t0_ms) into a
 * new array *out of *k points; NCS_ERR_NOMEM. */
static ncs_status keep_points(const double *mv, size_t n, double dt, double t0_ms,
                              ncs_trace_point **out, size_t *k_out)
{
    size_t i0 = first_sample_from(0.0, n, dt, t0_ms);
    size_t i_gain = first_sample_from(NCS_REPORT_GAIN_FROM_MS, n, dt, t0_ms);
    size_t stretches = 0;
    for (size_t i = i0; i < n; i = stretch_end(i, n, dt, t0_ms, i_gain))
        stretches++;
    ncs_trace_point *p = malloc((2 * stretches + 1) * sizeof *p);
    if (!p)
        return NCS_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = i0, e; i < n; i = e) {
        e = stretch_end(i, n, dt, t0_ms, i_gain);
        size_t lo = i, hi = i;
        for (size_t q = i + 1; q < e; q++) {
            if (mv[q] < mv[lo])
                lo = q;
            if (mv[q] > mv[hi])
                hi = q;
        }
        size_t a = lo < hi ? lo : hi, b = lo < hi ? hi : lo;
        p[k].t_ms = t0_ms + (double)a * dt;
        p[k++].mv = mv[a];
        if (b != a) {
            p[k].t_ms = t0_ms + (double)b * dt;
            p[k++].mv = mv[b];
        }
    }
    ncs_trace_point *shrunk = k ? realloc(p, k * sizeof *p) : NULL;
    *out = shrunk ? shrunk : p;
    *k_out = k;
    return NCS_OK;
}

ncs_status ncs_report_keep_trace(ncs_site_result *sr, const double *clean, const double *raw,
                                 size_t n, double fs_hz, double t0_ms)
{
    double dt = 1000.0 / fs_hz;
    ncs_trace_point *c = NULL, *w = NULL;
    size_t nc = 0, nw = 0;
    if (keep_points(clean, n, dt, t0_ms, &c, &nc) != NCS_OK
        || (raw && keep_points(raw, n, dt, t0_ms, &w, &nw) != NCS_OK)) {
        free(c);
        return NCS_ERR_NOMEM;
    }
    sr->trace = c;
    sr->n_points = nc;
    sr->raw = w;
    sr->n_raw = nw;
    sr->sweep_end_ms = n ? t0_ms + (double)(n - 1) * dt : t0_ms;
    return NCS_OK;
}

/* ---- the frame ----------------------------------------------------------- */

/* screen fractions of the traces layer, across */
#define TR_L 0.20
#define TR_R 0.78

/* The frame all of a nerve's traces share: one time axis and one gain, so
 * that latencies and amplitudes compare by eye from site to site. */
typedef struct {
    double t_beg, t_end, span; /* the time axis, ms */
    double a_max, p_max;       /* the largest negative and positive excursions, mV */
    double spacing;            /* between two traces' baselines, mV */
    double y_top, y_bot;       /* the y axis, mV */
    double bar_mv, bar_ms;     /* the scale bars' lengths */
    double top, bot;           /* the traces layer's screen fractions, up the page */
} frame;

/* Where a response has settled: the last time before `limit` at which the
 * cleaned trace lies farther from its baseline than a twentieth of its
 * amplitude (and four times its noise); NAN without a response. */
static double settled_ms(const ncs_site_result *sr, double limit)
{
    const ncs_markers *m = &sr->m;
    if (!m->response || !isfinite(m->end_ms) || !isfinite(m->amp_mv))
        return NAN;
    double th = fmax(0.05 * fabs(m->amp_mv), 4e-3 * m->noise_uv);
    double last = m->end_ms;
    for (size_t i = 0; i < sr->n_points && sr->trace[i].t_ms <= limit; i++)
        if (sr->trace[i].t_ms > m->end_ms && fabs(sr->trace[i].mv) > th)
            last = sr->trace[i].t_ms;
    return last;
}

/* Where the time axis ends: past the time every response has returned to
 * its baseline (after its positive phase too), with a margin, but not past
 * the recorded sweep, on a 5 ms step. */
static double time_axis_end(const ncs_nerve_result *nr)
{
    double t_end = 10.0, sweep_end = 0.0;
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        double e = settled_ms(sr, isfinite(sr->m.end_ms) ? 2.0 * sr->m.end_ms + 15.0 : 0.0);
        if (isfinite(e))
            t_end = fmax(t_end, e + fmax(3.0, 0.15 * e));
        if (sr->trace && sr->n_points)
            sweep_end = fmax(sweep_end, sr->sweep_end_ms);
    }
    t_end = ceil(t_end / 5.0 - 1e-9) * 5.0;
    return sweep_end > 0 && t_end > sweep_end ? sweep_end : t_end;
}

/* The largest excursions on the axis, either way; the first 0.2 ms are left
 * out, where what is left of the stimulus artefact would set the gain (no
 * kept stretch crosses 0.2 ms: ncs_report_keep_trace). */
static void excursions(const ncs_nerve_result *nr, double t_end, double *neg, double *pos)
{
    *neg = *pos = 0.0;
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        for (size_t i = 0; sr->trace && i < sr->n_points; i++) {
            const ncs_trace_point *q = &sr->trace[i];
            if (q->t_ms < NCS_REPORT_GAIN_FROM_MS || q->t_ms > t_end)
                continue;
            *neg = fmax(*neg, -q->mv);
            *pos = fmax(*pos, q->mv);
        }
    }
}

/* A "nice" value near x: 1, 2 or 5 times a power of ten. */
static double nice(double x)
{
    if (!(x > 0))
        return 1.0;
    double e = pow(10.0, floor(log10(x)));
    double m = x / e;
    return (m < 1.5 ? 1.0 : m < 3.5 ? 2.0 : m < 7.5 ? 5.0 : 10.0) * e;
}

static void frame_of(const ncs_nerve_result *nr, double top, double bot, frame *f)
{
    f->top = top;
    f->bot = bot;
    f->t_beg = 0.0;
    f->t_end = time_axis_end(nr);
    f->span = f->t_end - f->t_beg;
    excursions(nr, f->t_end, &f->a_max, &f->p_max);
    if (f->a_max < 0.05)
        f->a_max = 0.05;
    f->p_max = fmin(fmax(f->p_max, 0.2 * f->a_max), 1.2 * f->a_max);
    size_t ns = nr->n_sites ? nr->n_sites : 1;
    f->spacing = 1.08 * (f->a_max + f->p_max);
    f->y_top = 1.12 * f->a_max;
    f->y_bot = -(double)(ns - 1) * f->spacing - 1.1 * f->p_max;
    f->bar_mv = nice(0.5 * f->a_max);
    f->bar_ms = nice(f->span / 8.0);
}

/* The baseline of trace j (the distal one at 0), mV. */
static double baseline(const frame *f, size_t j)
{
    return -(double)j * f->spacing;
}

/* Page units of a height of the traces layer. */
static double screen_y(const frame *f, double mv)
{
    return 100.0 * (f->bot + (mv - f->y_bot) / (f->y_top - f->y_bot) * (f->top - f->bot));
}

/* ---- the traces' data ---------------------------------------------------- */

/* A kept point of a trace: time, and the value drawn negative up, held
 * inside [lo, hi] mV. */
static void trace_point(FILE *o, const ncs_trace_point *q, double off, double lo, double hi)
{
    double v = q->mv < lo ? lo : q->mv > hi ? hi : q->mv;
    fprintf(o, "%.3f\t%.4f\n", q->t_ms, off - v);
}

/* Points a..e-1's lowest and highest, in time order. */
static void bucket_points(FILE *o, const ncs_trace_point *p, size_t a, size_t e, double off,
                          double lo, double hi)
{
    size_t l = a, h = a;
    for (size_t k = a; k < e; k++) {
        if (p[k].mv < p[l].mv)
            l = k;
        if (p[k].mv > p[h].mv)
            h = k;
    }
    trace_point(o, &p[l < h ? l : h], off, lo, hi);
    if (l != h)
        trace_point(o, &p[l < h ? h : l], off, lo, hi);
}

/* A trace's points on the time axis, less `shift` mV and held inside
 * [lo, hi]; at most ~DRAW_MAX of them: past that, the lowest and highest of
 * each of DRAW_BUCKETS equal stretches of time keep the peaks a plain
 * decimation could miss. */
static void trace_points(FILE *o, const ncs_trace_point *p, size_t n, const frame *f, double off,
                         double lo, double hi, size_t buckets)
{
    size_t a = 0, b;
    while (a < n && p[a].t_ms < f->t_beg)
        a++;
    for (b = a; b < n && p[b].t_ms <= f->t_end;)
        b++;
    if (b - a <= 2 * buckets) {
        for (size_t k = a; k < b; k++)
            trace_point(o, &p[k], off, lo, hi);
        return;
    }
    double t_a = p[a].t_ms, width = (p[b - 1].t_ms - t_a) / (double)buckets;
    for (size_t k = a, e; k < b; k = e) {
        double until = t_a + width * (floor((p[k].t_ms - t_a) / width) + 1.0);
        for (e = k + 1; e < b && p[e].t_ms < until;)
            e++;
        bucket_points(o, p, k, e, off, lo, hi);
    }
}

/* The traces: time, offset - value (negative up), a data set per site,
 * in $N<number>T; the traces as recorded, less their baseline and held
 * inside their band of the page, in $N<number>R. Every site has both
 * (a NaN point for a raw trace not kept), so index j is site j. */
static void traces_data(FILE *o, const ncs_nerve_result *nr, const frame *f, int number)
{
    fprintf(o, "$N%dT << EOD\n", number);
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        trace_points(o, sr->trace, sr->n_points, f, baseline(f, j), -INFINITY, INFINITY,
                     DRAW_BUCKETS);
        fprintf(o, "NaN\tNaN\n\n\n");
    }
    fprintf(o, "EOD\n$N%dR << EOD\n", number);
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        ncs_trace_point *shifted = sr->n_raw ? malloc(sr->n_raw * sizeof *shifted) : NULL;
        for (size_t i = 0; shifted && i < sr->n_raw; i++)
            shifted[i] = (ncs_trace_point){sr->raw[i].t_ms, sr->raw[i].mv - sr->m.baseline_mv};
        if (shifted)
            trace_points(o, shifted, sr->n_raw, f, baseline(f, j), -1.05 * f->a_max,
                         1.05 * f->p_max, DRAW_BUCKETS_RAW);
        free(shifted);
        fprintf(o, "NaN\tNaN\n\n\n");
    }
    fprintf(o, "EOD\n");
}

/* The shaded negative-phase area (the part below baseline): time,
 * baseline, trace. With no area at any site, one point of no area: gnuplot
 * warns about an empty data set. */
static void area_data(FILE *o, const ncs_nerve_result *nr, const frame *f, int number)
{
    fprintf(o, "$N%dA << EOD\n", number);
    int n_area = 0;
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        const ncs_markers *m = &sr->m;
        if (!sr->trace || !isfinite(m->onset_ms) || !isfinite(m->end_ms))
            continue;
        double off = baseline(f, j);
        for (size_t i = 0; i < sr->n_points; i++) {
            const ncs_trace_point *q = &sr->trace[i];
            if (q->t_ms < m->onset_ms || q->t_ms > m->end_ms)
                continue;
            /* (only where the trace lies below baseline: the area is that
             * part's, a positive lobe inside the phase is none of it) */
            fprintf(o, "%.3f\t%.4f\t%.4f\n", q->t_ms, off, off - fmin(q->mv, 0.0));
            n_area++;
        }
        fprintf(o, "\n\n");
    }
    if (!n_area)
        fprintf(o, "0\t0\t0\n");
    fprintf(o, "EOD\n");
}

/* The markers, one data set per kind (onset, negative peak, end) and per
 * origin (found, placed by hand), so each is drawn in its own style; the
 * plot picks them by index (2 kind + manual), so a set no site has still
 * takes its place, as one NaN point. */
static void marker_data(FILE *o, const ncs_nerve_result *nr, const frame *f, int number)
{
    fprintf(o, "$N%dM << EOD\n", number);
    for (int set = 0; set < 6; set++) {
        int kind = set / 2, manual = set % 2;
        for (size_t j = 0; j < nr->n_sites; j++) {
            const ncs_markers *m = &nr->sites[j].m;
            double off = baseline(f, j);
            double t = kind == 0 ? m->onset_ms : kind == 1 ? m->peak_ms : m->end_ms;
            int by_hand = kind == 0 ? m->manual_onset : kind == 1 ? m->manual_peak
                                                                  : m->manual_end;
            if (!isfinite(t) || !by_hand != !manual)
                continue;
            double v = kind == 1 && isfinite(m->amp_mv) ? off + m->amp_mv : off;
            fprintf(o, "%.4f\t%.5f\n", t, v);
        }
        fprintf(o, "NaN\tNaN\n\n\n");
    }
    fprintf(o, "EOD\n");
}

/* The plot of the traces layer over the datablocks $N<number>[TRAM]. */
static void traces_layer(FILE *o, const frame *f, int number)
{
    double bar = 0.06 * (f->y_top - f->y_bot);
    fprintf(o, "set lmargin at screen %.4f; set rmargin at screen %.4f\n"
               "set bmargin at screen %.4f; set tmargin at screen %.4f\n"
               "set xrange [%.4f:%.4f]; set yrange [%.5f:%.5f]\n"
               "set border 1 lc rgb \"#808080\"; set xtics autofreq nomirror out scale 0.5 font \"Sans,8\"\n"
               "set mxtics 5; unset ytics; unset key\n"
               "set xlabel \"ms from the stimulus\" font \"Sans,9\" offset 0,0.6\n",
            TR_L, TR_R, f->bot, f->top, f->t_beg, f->t_end, f->y_bot, f->y_top);
    fprintf(o, "plot $N%dR using 1:2 with lines lw 0.8 lc rgb \"#b4b4b4\" notitle, \\\n"
               "     $N%dA using 1:2:3 with filledcurves fc rgb \"#a8c8f0\" fs solid 0.6 noborder notitle, \\\n"
               "     $N%dT using 1:2 with lines lw 1.2 lc rgb \"#0a2a60\" notitle, \\\n"
               "     $N%dM index 0 using 1:2 with points pt 9 ps 1.0 lc rgb \"#008000\" notitle, \\\n"
               "     $N%dM index 1 using 1:2 with points pt 8 ps 1.6 lw 2 lc rgb \"#8000a0\" notitle, \\\n"
               "     $N%dM index 2 using 1:2 with points pt 7 ps 0.7 lc rgb \"#c00000\" notitle, \\\n"
               "     $N%dM index 3 using 1:2 with points pt 6 ps 1.6 lw 2 lc rgb \"#8000a0\" notitle, \\\n"
               "     $N%dM index 4 using 1:2:(0):(%.5f) with vectors nohead lw 1.5 lc rgb \"#606060\" notitle, \\\n"
               "     $N%dM index 5 using 1:2:(0):(%.5f) with vectors nohead lw 2.5 lc rgb \"#8000a0\" notitle\n",
            number, number, number, number, number, number, number, number, bar, number,
            1.5 * bar);
    fprintf(o, "unset xlabel; unset border; unset xtics; unset mxtics\n");
}

/* ---- beside the traces --------------------------------------------------- */

/* At the left of each trace: its site and values. */
static void site_labels(ncs_rpage *p, const ncs_nerve_result *nr, const frame *f)
{
    char b1[32], b2[32];
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        const ncs_markers *m = &sr->m;
        double ty = screen_y(f, baseline(f, j));
        ncs_rtext(p, ST_SITE, 2.5, ty + ncs_rpage_dy(p, 6), "%s", sr->def->name);
        double y2 = ty - ncs_rpage_dy(p, 6);
        if (sr->def->exclude) {
            ncs_rtext(p, ST_WARN, 2.5, y2, "excluded");
        } else if (!m->response) {
            ncs_rtext(p, ST_WARN, 2.5, y2, "no response");
        } else {
            int dml = sr->abnormal & NCS_ABN_DML_PROLONGED, low = sr->abnormal & NCS_ABN_AMP_LOW;
            ncs_rtext(p, dml ? ST_ABN : ST_TEXT, 2.5, y2, "%s ms%s",
                      ncs_rnum(b1, sizeof b1, m->onset_ms, 2), dml ? "*" : "");
            ncs_rtext(p, low ? ST_ABN : ST_TEXT, 11.0, y2, "%s mV%s",
                      ncs_rnum(b2, sizeof b2, m->amp_mv, 2), low ? "*" : "");
        }
    }
}

/* The positions of a segment's two sites in its nerve. */
static void segment_sites(const ncs_nerve_result *nr, const ncs_segment *g, size_t *ja,
                          size_t *jb)
{
    *ja = *jb = 0;
    for (size_t j = 0; j < nr->n_sites; j++) {
        if (nr->sites[j].def->name == g->from)
            *ja = j;
        if (nr->sites[j].def->name == g->to)
            *jb = j;
    }
}

/* The unit after a percentage: none after "n/a". */
/* The unit after a printed value, none after "n/a". */
static const char *pct(const char *printed)
{
    return strcmp(printed, "n/a") != 0 ? " %" : "";
}

/* At the right, between the two traces of each marked segment: a red
 * bracket, its block category and the changes that made it. */
static void block_labels(ncs_rpage *p, const ncs_nerve_result *nr, const frame *f)
{
    char b1[32], b2[32], b3[32];
    double x = 100.0 * TR_R + 1.0, dy = ncs_rpage_dy(p, 11);
    for (size_t k = 0; k < nr->n_segments; k++) {
        const ncs_segment *g = &nr->segments[k];
        if (!ncs_rblock_marked(g->block))
            continue;
        size_t ja, jb;
        segment_sites(nr, g, &ja, &jb);
        double ya = screen_y(f, baseline(f, ja)), yb = screen_y(f, baseline(f, jb));
        ncs_rline(p, LN_BLOCK, x, ya, x + 0.8, ya);
        ncs_rline(p, LN_BLOCK, x + 0.8, ya, x + 0.8, yb);
        ncs_rline(p, LN_BLOCK, x + 0.8, yb, x, yb);
        double y = 0.5 * (ya + yb) + 1.5 * dy;
        y = ncs_rwrapped(p, ST_BLOCK, x + 2.0, y, dy, 98.5 - x - 2.0, y - 3 * dy,
                         ncs_rblock_label(g->block));
        /* (a least drop as the tables print it, to a tenth) */
        ncs_rdrop(b1, sizeof b1, g->area_drop_pct, g->u.area_drop_pct,
                  isfinite(ncs_drop_least(g->area_drop_pct, g->u.area_drop_pct)));
        ncs_rdrop(b2, sizeof b2, g->amp_drop_pct, g->u.amp_drop_pct,
                  isfinite(ncs_drop_least(g->amp_drop_pct, g->u.amp_drop_pct)));
        ncs_rnum_signed(b3, sizeof b3, g->dur_increase_pct, 0);
        ncs_rtext(p, ST_ABN, x + 2.0, y, "area drop %s%s", b1, pct(b1));
        ncs_rtext(p, ST_ABN, x + 2.0, y - dy, "amp drop %s%s", b2, pct(b2));
        ncs_rtext(p, ST_ABN, x + 2.0, y - 2 * dy, "dur %s%s", b3, pct(b3));
        if (g->borderline)
            ncs_rtext(p, ST_WARN, x + 2.0, y - 3 * dy, "borderline");
    }
}

/* The scale bars at the top of the right column, beside the distal trace
 * and clear of every trace: the gain's mV bar up, the time's ms bar
 * across, each with its length. A bar too tall for the room is halved. */
static void scale_bars(ncs_rpage *p, const frame *f)
{
    double x0 = 100.0 * TR_R + 2.0;
    double y0 = screen_y(f, baseline(f, 0)) + ncs_rpage_dy(p, 14);
    double per_mv = 100.0 * (f->top - f->bot) / (f->y_top - f->y_bot);
    double room = 100.0 * f->top + ncs_rpage_dy(p, 4) - y0;
    double mv = f->bar_mv;
    if (room < 0.3 * mv * per_mv) {
        /* no room above the distal trace (many traces in a short band):
         * at the foot of the right column instead */
        y0 = 100.0 * f->bot + ncs_rpage_dy(p, 6);
        room = 100.0 * f->top - y0;
    }
    while (mv * per_mv > room && mv > f->bar_mv / 20.0)
        mv = nice(0.5 * mv);
    double h = mv * per_mv, w = f->bar_ms / f->span * 100.0 * (TR_R - TR_L);
    ncs_rline(p, LN_BAR, x0, y0 + h, x0, y0);
    ncs_rline(p, LN_BAR, x0, y0, x0 + w, y0);
    ncs_rtext(p, ST_TEXT, x0 + 1.0, y0 + 0.5 * h + ncs_rpage_dy(p, 2), "%g mV", mv);
    ncs_rtext(p, ST_TEXT, x0 + w + 1.0, y0, "%g ms", f->bar_ms);
}

/* How to read the traces, above them; returns the y below it. */
static double traces_key(ncs_rpage *p, const ncs_nerve_result *nr, double y)
{
    double mains = 0;
    for (size_t j = 0; j < nr->n_sites; j++)
        mains = fmax(mains, nr->sites[j].m.mains_hz);
    char key[400];
    snprintf(key, sizeof key, "Negative up, one gain for all traces. Dark: the trace cleaned "
             "(stimulus artefact, baseline, drift%s%s%s removed); grey: as recorded. Onset: "
             "green triangle; negative peak: red dot; end: grey bar; placed by hand: purple, "
             "open. Shaded: the negative-phase area.", mains > 0 ? " and " : "",
             mains > 0 ? (mains > 55 ? "60" : "50") : "", mains > 0 ? " Hz mains" : "");
    return ncs_rwrapped(p, ST_DIM, 3, y, ncs_rpage_dy(p, 10), 94, y - ncs_rpage_dy(p, 30), key);
}

/* ---- close-ups ----------------------------------------------------------- */

#define CLOSE_MAX 6 /* two rows of three */
#define CLOSE_ROW_PT 120.0

/* Whether site j gets a close-up: an onset flagged uncertain, or no
 * response (at high gain). */
static int needs_closeup(const ncs_site_result *sr)
{
    const ncs_markers *m = &sr->m;
    if (sr->def->exclude)
        return 0;
    return !m->response || ((m->uncertain & NCS_UNCERTAIN_ONSET) && isfinite(m->onset_ms));
}

static size_t closeup_sites(const ncs_nerve_result *nr, size_t *js)
{
    size_t n = 0;
    for (size_t j = 0; j < nr->n_sites && n < CLOSE_MAX; j++)
        if (needs_closeup(&nr->sites[j]))
            js[n++] = j;
    return n;
}

/* A close-up's data, $N<number>C<j>: the onset's interval as a band
 * (index 0), the onset (1), the cleaned trace (2) and the one as recorded
 * (3) from t0 to t1 ms, every kept point. */
static void closeup_data(FILE *o, const ncs_site_result *sr, const frame *f, double off, double t0,
                         double t1, double lo, double hi, int number, size_t j)
{
    const ncs_markers *m = &sr->m;
    frame w = *f;
    w.t_beg = t0;
    w.t_end = t1;
    fprintf(o, "$N%dC%zu << EOD\n", number, j);
    /* (not before the stimulus: a response cannot begin before it) */
    if (m->response && isfinite(m->u.onset_ms) && m->u.onset_ms > 0)
        fprintf(o, "%.4f\t%.5f\t%.5f\n%.4f\t%.5f\t%.5f\n",
                fmax(m->onset_ms - m->u.onset_ms, fmin(0.0, m->onset_ms)), lo, hi,
                m->onset_ms + m->u.onset_ms, lo, hi);
    else
        fprintf(o, "NaN\tNaN\tNaN\n");
    fprintf(o, "\n\n%.4f\t%.5f\n\n\n", m->response ? m->onset_ms : NAN, off);
    trace_points(o, sr->trace, sr->n_points, &w, off, -INFINITY, INFINITY, DRAW_BUCKETS);
    fprintf(o, "NaN\tNaN\n\n\n");
    ncs_trace_point *shifted = sr->n_raw ? malloc(sr->n_raw * sizeof *shifted) : NULL;
    for (size_t i = 0; shifted && i < sr->n_raw; i++)
        shifted[i] = (ncs_trace_point){sr->raw[i].t_ms, sr->raw[i].mv - m->baseline_mv};
    if (shifted)
        trace_points(o, shifted, sr->n_raw, &w, off, -1.05 * f->a_max, 1.05 * f->p_max,
                     DRAW_BUCKETS);
    free(shifted);
    fprintf(o, "NaN\tNaN\nEOD\n");
}

/* One close-up: site j's trace (and the recorded one) around its onset, the
 * onset's 95 % interval shaded; or, without a response, the whole axis at
 * high gain. Its plot spans x0..x0+w, y_top..y_top-h (page units). */
static void closeup(FILE *o, ncs_rpage *p, const ncs_nerve_result *nr, const frame *f, size_t j,
                    int number, double x0, double y_top, double w, double h)
{
    const ncs_site_result *sr = &nr->sites[j];
    const ncs_markers *m = &sr->m;
    double off = baseline(f, j), noise = 1e-3 * m->noise_uv;
    double t0 = f->t_beg, t1 = f->t_end, lo, hi;
    char b[48];
    if (m->response) {
        double u = isfinite(m->u.onset_ms) ? m->u.onset_ms : 0.0;
        double half = fmax(1.0, 4.0 * u);
        t0 = fmax(f->t_beg, m->onset_ms - half);
        t1 = fmin(f->t_end, m->onset_ms + half);
        double g = fmax(fmax(0.2 * fabs(m->amp_mv), 10.0 * noise), 0.02);
        lo = off - 0.4 * g;
        hi = off + g;
        ncs_rnum_pm(b, sizeof b, m->onset_ms, m->u.onset_ms, 2);
    } else {
        double g = fmax(8.0 * noise, 0.02);
        lo = off - g;
        hi = off + g;
    }
    double gain = ((f->y_top - f->y_bot) / (f->top - f->bot)) / ((hi - lo) / (h / 100.0));
    if (m->response)
        ncs_rtext(p, ST_SMALL, x0, y_top + ncs_rpage_dy(p, 8), "%s: onset %s ms, gain \u00d7%.0f",
                  sr->def->name, b, gain);
    else
        ncs_rtext(p, ST_SMALL, x0, y_top + ncs_rpage_dy(p, 8), "%s: no response, gain \u00d7%.0f",
                  sr->def->name, gain);
    closeup_data(o, sr, f, off, t0, t1, lo, hi, number, j);
    /* (a tic every 1, 2 or 5 x 10^k ms, five labels at most: a panel a
     * quarter of the page wide holds no more at this size) */
    static const double steps[] = {0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50};
    double step = steps[sizeof steps / sizeof steps[0] - 1];
    for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++)
        if ((t1 - t0) / steps[k] <= 5.0) {
            step = steps[k];
            break;
        }
    fprintf(o, "set lmargin at screen %.4f; set rmargin at screen %.4f\n"
               "set bmargin at screen %.4f; set tmargin at screen %.4f\n"
               "set xrange [%.4f:%.4f]; set yrange [%.5f:%.5f]\n"
               "set border 15 lc rgb \"#a0a0a0\"; set xtics %g nomirror out scale 0.4 "
               "font \"Sans,7\"\n"
               "unset ytics; unset key\n",
            x0 / 100.0, (x0 + w) / 100.0, (y_top - h) / 100.0, y_top / 100.0, t0, t1, lo, hi,
            step);
    /* an amplitude scale: a bar of 1, 2 or 5 x 10^k mV up from the baseline,
     * within the panel's upper part (the gain alone does not tell how large
     * the noise is) */
    double span = hi - off, bar = pow(10.0, floor(log10(span)));
    if (5.0 * bar <= span)
        bar *= 5.0;
    else if (2.0 * bar <= span)
        bar *= 2.0;
    char bar_text[32];
    if (bar >= 1.0)
        snprintf(bar_text, sizeof bar_text, "%g mV", bar);
    else
        snprintf(bar_text, sizeof bar_text, "%g \u00b5V", bar * 1000.0);
    /* (just right of the panel, in the gap before the next: not over the
     * trace) */
    fprintf(o, "set arrow 1 from graph 1.02, first %.6f to graph 1.02, first %.6f nohead lw 1 "
               "lc rgb \"#404040\" front\n"
               "set label 1 \"%s\" at graph 1.06, first %.6f center rotate by 90 "
               "font \"Sans,6\" tc rgb \"#404040\" front\n",
            off, off + bar, bar_text, off + 0.5 * bar);
    fprintf(o, "plot $N%dC%zu index 0 using 1:2:3 with filledcurves fc rgb \"#f4c8c8\" fs solid 1.0 noborder notitle, \\\n"
               "     %.5f with lines dt 2 lc rgb \"#909090\" notitle, \\\n"
               "     $N%dC%zu index 3 using 1:2 with lines lw 0.8 lc rgb \"#b4b4b4\" notitle, \\\n"
               "     $N%dC%zu index 2 using 1:2 with lines lw 1.2 lc rgb \"#0a2a60\" notitle, \\\n"
               "     $N%dC%zu index 1 using 1:2 with points pt %d ps 1.4 lw 2 lc rgb \"%s\" notitle\n",
            number, j, off, number, j, number, j, number, j, m->manual_onset ? 8 : 9,
            m->manual_onset ? "#8000a0" : "#008000");
    fprintf(o, "unset border; unset xtics; unset arrow 1; unset label 1\n");
}

/* Every close-up of the nerve, four to a row from y down; returns the y
 * below them. */
static double closeups(FILE *o, ncs_rpage *p, const ncs_nerve_result *nr, const frame *f,
                       const size_t *js, size_t n, int number, double y)
{
    if (!n)
        return y;
    ncs_rtext(p, ST_HEAD, 3, y, "Close-ups: every uncertain take-off (shaded: the onset's 95 %% "
                                "interval), every absent response");
    y -= ncs_rpage_dy(p, 22);
    double row = ncs_rpage_dy(p, CLOSE_ROW_PT), h = row - ncs_rpage_dy(p, 40);
    for (size_t c = 0; c < n; c++) {
        double x0 = 4.0 + (double)(c % 3) * 31.5, yt = y - (double)(c / 3) * row;
        closeup(o, p, nr, f, js[c], number, x0, yt, 28.0, h);
    }
    return y - (double)((n + 2) / 3) * row + ncs_rpage_dy(p, 14);
}

/* ---- under the traces ---------------------------------------------------- */

/* The sites' table's columns, and their two heading lines. */
enum { SI_SITE, SI_ONSET, SI_ONSET_N, SI_PEAK, SI_AMP, SI_AMP_N, SI_AREA, SI_DUR, SI_FLAGS,
       SI__N };

static const struct {
    double x;
    const char *head, *unit;
} site_col[SI__N] = {
    [SI_SITE] = {3, "site", ""},          [SI_ONSET] = {17, "onset", "ms"},
    [SI_ONSET_N] = {30, "normal", "ms"},  [SI_PEAK] = {37.5, "peak", "ms"},
    [SI_AMP] = {43.5, "amp", "mV"},       [SI_AMP_N] = {56.5, "normal", "mV"},
    [SI_AREA] = {64, "area", "mV\u00b7ms"}, [SI_DUR] = {70.5, "dur", "ms"},
    [SI_FLAGS] = {76.5, "markers, flags", ""},
};

/* The markers placed by hand, and the flags, of a site, from y down (three
 * lines at most: the markers', two of flags); returns the y of its last
 * line. */
static double site_flags(ncs_rpage *p, const ncs_site_result *sr, double y, double dy)
{
    const ncs_markers *m = &sr->m;
    char hand[64] = "", fl[300] = "";
    if (m->manual_onset || m->manual_peak || m->manual_end)
        snprintf(hand, sizeof hand, "by hand:%s%s%s", m->manual_onset ? " onset" : "",
                 m->manual_peak ? " peak" : "", m->manual_end ? " end" : "");
    const char *names[NCS_FLAG__COUNT];
    size_t n = ncs_flag_names(m->flags & ~(unsigned)(NCS_FLAG_EXCLUDED | NCS_FLAG_MANUAL), names);
    ncs_join(fl, sizeof fl, names, n, ", ");
    double x = site_col[SI_FLAGS].x;
    if (hand[0]) {
        /* (the flags on the line below: beside it they had a word's room) */
        ncs_rtext(p, ST_MANUAL, x, y, "%s", hand);
        if (!fl[0])
            return y;
        y -= dy;
    }
    if (fl[0])
        return ncs_rwrapped(p, ST_FLAG, x, y, dy, 99 - x, y - 1.5 * dy, fl) + dy;
    if (!hand[0])
        ncs_rtext(p, ST_DIM, x, y, "auto");
    return y;
}

/* A site's row; returns the y below it and its note. */
static double site_row(ncs_rpage *p, const ncs_nerve_result *nr, size_t j, double y, double dy)
{
    const ncs_site_result *sr = &nr->sites[j];
    const ncs_markers *m = &sr->m;
    const ncs_norm *nm = j == 0 ? nr->norm : NULL;
    char b[48];
    ncs_rtext(p, ST_TEXT, site_col[SI_SITE].x, y, "%s", sr->def->name);
    if (sr->def->exclude) {
        ncs_rtext(p, ST_WARN, site_col[SI_ONSET].x, y, "excluded from the analysis");
    } else if (!m->response) {
        ncs_rtext(p, ST_WARN, site_col[SI_ONSET].x, y, "no response");
    } else {
        int dml = sr->abnormal & NCS_ABN_DML_PROLONGED, low = sr->abnormal & NCS_ABN_AMP_LOW;
        ncs_rtext(p, dml ? ST_ABN : ST_TEXT, site_col[SI_ONSET].x, y, "%s%s",
                  ncs_rnum_pm(b, sizeof b, m->onset_ms, m->u.onset_ms, 2), dml ? " *" : "");
        ncs_rtext(p, ST_TEXT, site_col[SI_PEAK].x, y, "%s", ncs_rnum(b, sizeof b, m->peak_ms, 2));
        ncs_rtext(p, low ? ST_ABN : ST_TEXT, site_col[SI_AMP].x, y, "%s%s",
                  ncs_rnum_pm(b, sizeof b, m->amp_mv, m->u.amp_mv, 2), low ? " *" : "");
        ncs_rtext(p, ST_TEXT, site_col[SI_AREA].x, y, "%s",
                  ncs_rnum(b, sizeof b, m->neg_area_mvms, 1));
        ncs_rtext(p, ST_TEXT, site_col[SI_DUR].x, y, "%s", ncs_rnum(b, sizeof b, m->neg_dur_ms, 2));
    }
    if (nm && isfinite(nm->dml_uln_ms))
        ncs_rtext(p, ST_DIM, site_col[SI_ONSET_N].x, y, "\u2264 %.1f", nm->dml_uln_ms);
    if (nm && isfinite(nm->amp_lln_mv))
        ncs_rtext(p, ST_DIM, site_col[SI_AMP_N].x, y, "\u2265 %.1f", nm->amp_lln_mv);
    y = site_flags(p, sr, y, 0.85 * dy) - dy;
    if (sr->def->note) {
        char buf[1200];
        snprintf(buf, sizeof buf, "note: %s", sr->def->note);
        y = ncs_rwrapped(p, ST_DIM, site_col[SI_ONSET].x, y + 0.15 * dy, 0.85 * dy,
                         96 - site_col[SI_ONSET].x, y - 1.6 * dy, buf) - 0.15 * dy;
    }
    return y;
}

static double site_table(ncs_rpage *p, const ncs_nerve_result *nr, double y)
{
    double dy = ncs_rpage_dy(p, 12.5);
    for (int c = 0; c < SI__N; c++) {
        ncs_rtext(p, ST_HEAD, site_col[c].x, y, "%s", site_col[c].head);
        ncs_rtext(p, ST_DIM, site_col[c].x, y - 0.85 * dy, "%s", site_col[c].unit);
    }
    ncs_rline(p, LN_RULE, 3, y - 1.35 * dy, 97, y - 1.35 * dy);
    y -= 2.1 * dy;
    double y_min = ncs_rpage_dy(p, 40) + dy;
    for (size_t j = 0; j < nr->n_sites; j++) {
        if (y < y_min) {
            ncs_rtext(p, ST_WARN, 3, y, "... %zu more site%s: see the table (ncs analyse) or "
                      "results.csv", nr->n_sites - j, nr->n_sites - j == 1 ? "" : "s");
            return y - dy;
        }
        y = site_row(p, nr, j, y, dy);
    }
    return y - 0.4 * dy;
}

/* The segments' table's columns, and their two heading lines; ms/cm only
 * on a nerve with inching, which moves the block to the right. */
enum { GC_SEGMENT, GC_DIST, GC_CV, GC_AMP_DROP, GC_AREA_DROP, GC_DUR_INC, GC_PER_CM, GC_BLOCK,
       GC__N };

static const struct {
    double x;
    const char *head, *unit;
} seg_col[GC__N] = {
    [GC_SEGMENT] = {3, "segment", ""},        [GC_DIST] = {24.5, "dist", "mm"},
    [GC_CV] = {30, "CV", "m/s"},              [GC_AMP_DROP] = {43, "amp drop", "%"},
    [GC_AREA_DROP] = {55, "area drop", "%"},  [GC_DUR_INC] = {67, "dur change", "%"},
    [GC_PER_CM] = {79, "inching", "ms/cm"},   [GC_BLOCK] = {79, "block", ""},
};

static int has_inching(const ncs_nerve_result *nr)
{
    for (size_t k = 0; k < nr->n_segments; k++)
        if (nr->segments[k].inching)
            return 1;
    return 0;
}

/* A drop with its half-width; a 100 % drop (no proximal response) is at
 * least 100 less what the noise could hide, not 100 give or take. */
static const char *drop_pm(char *b, size_t n, double v, double u)
{
    if (isfinite(ncs_drop_least(v, u)))
        return ncs_rdrop(b, n, v, u, 1);
    return ncs_rnum_pm(b, n, v, u, 1);
}

/* A segment's row: its values with their 95 % half-widths. */
static void segment_row(ncs_rpage *p, const ncs_segment *g, double y, double block_x)
{
    char b[48], u[48];
    int slow = g->abnormal & NCS_ABN_CV_SLOW, blk = ncs_rblock_marked(g->block);
    const char *name = ncs_block_name(g->block);
    ncs_rtext(p, strlen(g->from) + strlen(g->to) > 17 ? ST_SMALL : ST_TEXT, seg_col[GC_SEGMENT].x,
              y, "%s-%s%s", g->from, g->to, g->entrapment_site == 1 ? " (E)" : "");
    ncs_rtext(p, ST_TEXT, seg_col[GC_DIST].x, y, "%.0f", g->distance_mm);
    ncs_rtext(p, slow ? ST_ABN : ST_TEXT, seg_col[GC_CV].x, y, "%s%s",
              ncs_rnum_pm(b, sizeof b, g->cv_m_s, g->u.cv_m_s, 1), slow ? " *" : "");
    ncs_rtext(p, blk ? ST_ABN : ST_TEXT, seg_col[GC_AMP_DROP].x, y, "%s",
              drop_pm(b, sizeof b, g->amp_drop_pct, g->u.amp_drop_pct));
    ncs_rtext(p, blk ? ST_ABN : ST_TEXT, seg_col[GC_AREA_DROP].x, y, "%s",
              drop_pm(b, sizeof b, g->area_drop_pct, g->u.area_drop_pct));
    ncs_rnum_signed(b, sizeof b, g->dur_increase_pct, 1);
    if (isfinite(g->dur_increase_pct) && isfinite(g->u.dur_increase_pct))
        snprintf(b + strlen(b), sizeof b - strlen(b), " \u00b1 %s",
                 ncs_rnum(u, sizeof u, g->u.dur_increase_pct, 1));
    ncs_rtext(p, ST_TEXT, seg_col[GC_DUR_INC].x, y, "%s", b);
    if (block_x != seg_col[GC_BLOCK].x)
        ncs_rtext(p, ST_TEXT, seg_col[GC_PER_CM].x, y, "%s",
                  g->inching ? ncs_rnum(b, sizeof b, g->latency_ms_per_cm, 2) : "");
    ncs_rtext(p, g->borderline ? ST_WARN : blk ? ST_ABN : ST_TEXT, block_x, y, "%s",
              name ? name : "");
}

/* Why a segment is what it is, when the table cannot say: borderline, not
 * evaluable, the sites disagreeing. */
static int is_block(ncs_block b)
{
    return b == NCS_BLOCK_DEFINITE || b == NCS_BLOCK_PROBABLE || b == NCS_BLOCK_CB
        || b == NCS_BLOCK_ENTRAPMENT || b == NCS_BLOCK_ABSENT_PROXIMAL;
}

/* Whether a span's line is shown: it has a block and no segment has one
 * (else the segment, where the block lies, says it). */
static int span_shown(const ncs_nerve_result *nr, const ncs_segment *g)
{
    if (!is_block(g->block))
        return 0;
    for (size_t j = 0; j < nr->n_segments; j++)
        if (is_block(nr->segments[j].block))
            return 0;
    return 1;
}

static double segment_notes(ncs_rpage *p, const ncs_nerve_result *nr, double y, double dy)
{
    char buf[600];
    for (size_t k = 0; k < nr->n_segments; k++) {
        const ncs_segment *g = &nr->segments[k];
        const char *name = ncs_block_name(g->block);
        if (g->borderline)
            snprintf(buf, sizeof buf, "%s-%s: %s, borderline: %s", g->from, g->to, name ? name : "",
                     g->borderline_why);
        else if (g->block_because[0] && g->block != NCS_BLOCK_NONE && g->block != NCS_BLOCK_UNSET)
            snprintf(buf, sizeof buf, "%s-%s: %s: %s", g->from, g->to, name ? name : "",
                     g->block_because);
        else if (g->inconsistent[0])
            snprintf(buf, sizeof buf, "%s-%s: not evaluable: %s", g->from, g->to, g->inconsistent);
        else
            continue;
        y = ncs_rwrapped(p, g->borderline ? ST_WARN : ST_SMALL, 4, y, dy, 93, y - 2.5 * dy, buf);
    }
    /* a span (the most distal site against a proximal one) with a block
     * where no segment has one: a block spread over segments */
    for (size_t k = 0; k < nr->n_spans; k++) {
        const ncs_segment *g = &nr->spans[k];
        if (!span_shown(nr, g))
            continue;
        snprintf(buf, sizeof buf, "span %s-%s (%.0f mm): %s: amplitude drop %.1f %%, area drop "
                 "%.1f %%, duration %+.1f %%%s%s", g->from, g->to, g->distance_mm,
                 ncs_block_name(g->block), g->amp_drop_pct, g->area_drop_pct,
                 g->dur_increase_pct, g->borderline ? "; borderline: " : "",
                 g->borderline ? g->borderline_why : "");
        y = ncs_rwrapped(p, g->block == NCS_BLOCK_DEFINITE || g->block == NCS_BLOCK_PROBABLE
                                ? ST_ABN : ST_SMALL, 4, y, dy, 93, y - 2.5 * dy, buf);
    }
    return y;
}

/* The segments' table under the sites'; returns the y below it. */
static double segment_table(ncs_rpage *p, const ncs_nerve_result *nr, double y)
{
    double dy = ncs_rpage_dy(p, 12.5);
    int inching = has_inching(nr);
    double block_x = inching ? 87.0 : seg_col[GC_BLOCK].x;
    const ncs_norm *nm = nr->norm;
    for (int c = 0; c < GC__N; c++) {
        if (c == GC_PER_CM && !inching)
            continue;
        double x = c == GC_BLOCK ? block_x : seg_col[c].x;
        ncs_rtext(p, ST_HEAD, x, y, "%s", seg_col[c].head);
        if (c == GC_CV && nm && isfinite(nm->cv_lln_m_s))
            ncs_rtext(p, ST_DIM, x, y - 0.85 * dy, "m/s (normal \u2265 %.0f)", nm->cv_lln_m_s);
        else
            ncs_rtext(p, ST_DIM, x, y - 0.85 * dy, "%s", seg_col[c].unit);
    }
    ncs_rline(p, LN_RULE, 3, y - 1.35 * dy, 97, y - 1.35 * dy);
    y -= 2.1 * dy;
    double y_min = ncs_rpage_dy(p, 40) + dy;
    for (size_t k = 0; k < nr->n_segments; k++) {
        if (y < y_min) {
            ncs_rtext(p, ST_WARN, 3, y, "... %zu more segment%s: see the table (ncs analyse) or "
                      "results.csv", nr->n_segments - k, nr->n_segments - k == 1 ? "" : "s");
            return y - dy;
        }
        segment_row(p, &nr->segments[k], y, block_x);
        y -= dy;
    }
    int borderline = 0, entrapment = 0;
    for (size_t k = 0; k < nr->n_segments; k++) {
        borderline |= nr->segments[k].borderline;
        entrapment |= nr->segments[k].entrapment_site == 1;
    }
    char key[300];
    snprintf(key, sizeof key, "Values \u00b1 the half-width of their 95 %% interval.%s * outside "
             "the reference range.%s%s",
             entrapment ? " (E): crosses an entrapment site." : "",
             borderline ? " Orange block: borderline (below)." : "",
             inching ? " Inching: steps of 30 mm or less, their CV not judged." : "");
    y = ncs_rwrapped(p, ST_DIM, 3, y + 0.1 * dy, 0.85 * dy, 94, y - 3 * dy, key) - 0.2 * dy;
    return segment_notes(p, nr, y, 0.9 * dy);
}

/* The segments' findings, every criteria set's, in the room left above
 * the footer. */
static void segment_findings(ncs_rpage *p, const ncs_nerve_result *nr, double y)
{
    double y_min = ncs_rpage_dy(p, 40), dy = ncs_rpage_dy(p, 11);
    if (y < y_min + dy)
        return;
    int any = 0;
    /* the segments', then what a span adds (a block spread over segments) */
    for (size_t k = 0; k < nr->n_segments + nr->n_spans && y > y_min; k++) {
        const ncs_segment *g = k < nr->n_segments ? &nr->segments[k]
                                                  : &nr->spans[k - nr->n_segments];
        for (size_t j = 0; j < g->findings.count && y > y_min; j++) {
            const ncs_finding *f = &g->findings.items[j];
            char buf[1400], why[NCS_MAX_BECAUSE * (NCS_BECAUSE_LEN + 4)];
            if (g->covers && !ncs_span_finding_new(nr, f))
                continue;
            if (!any++) {
                ncs_rtext(p, ST_HEAD, 3, y, "Findings");
                y -= dy;
            }
            snprintf(buf, sizeof buf, "%s-%s%s %s %s%s: %s", g->from, g->to,
                     g->covers ? " (span)" : "", ncs_criteria_name(f->criteria), f->code,
                     f->counts ? "" : " (not counted)",
                     ncs_rreasons(f, why, sizeof why));
            y = ncs_rwrapped(p, ST_SMALL, 4, y, dy, 93, y_min, buf);
        }
    }
}

/* ---- the page ------------------------------------------------------------ */

/* The nerve, its muscle, its reference values, temperature and note;
 * returns the y below them. */
static double nerve_heading(ncs_rpage *p, const ncs_study *st, const ncs_nerve_result *nr,
                            double y)
{
    const ncs_nerve_def *d = nr->def;
    double dy = ncs_rpage_dy(p, 12);
    char line[600];
    /* the study's temperature is in the page's header; a limb's own,
     * where it differs, here */
    int n = 0;
    line[0] = '\0';
    if (isfinite(d->temperature_c)
        && !(isfinite(st->temperature_c) && fabs(d->temperature_c - st->temperature_c) < 0.05))
        n = snprintf(line, sizeof line, "Temperature of this limb: %.1f \u00b0C     ",
                     d->temperature_c);
    if (nr->norm) {
        const ncs_norm *nm = nr->norm;
        char a[16], l[16], c[16];
        snprintf(line + n, sizeof line - (size_t)n,
                 "Normal (%s): distal amplitude \u2265 %s mV, distal latency \u2264 %s ms, "
                 "CV \u2265 %s m/s", nm->muscle[0] ? nm->muscle : nm->nerve,
                 ncs_rnum(a, sizeof a, nm->amp_lln_mv, 1), ncs_rnum(l, sizeof l, nm->dml_uln_ms, 1),
                 ncs_rnum(c, sizeof c, nm->cv_lln_m_s, 0));
    } else {
        snprintf(line + n, sizeof line - (size_t)n, "No reference values for this nerve");
    }
    /* (a long muscle's name takes a second line, not the page's margin) */
    y = ncs_rwrapped(p, ST_TEXT, 3, y, dy, 94, y - 2.5 * dy, line);
    if (nr->low_temperature) {
        ncs_rtext(p, ST_WARN, 3, y, "Low temperature: slowing may be from cold (no correction "
                                    "applied)");
        y -= dy;
    }
    if (d->note) {
        char buf[1200];
        snprintf(buf, sizeof buf, "Note: %s", d->note);
        y = ncs_rwrapped(p, ST_TEXT, 3, y, dy, 94, y - 2.5 * dy, buf);
    }
    return y;
}

/* How much of the page the parts under the traces take (page units). */
static double below_traces(const ncs_rpage *p, const ncs_nerve_result *nr, size_t n_close)
{
    double lines = 2.0 + 2.3 + (double)nr->n_sites + 2.3 + (double)nr->n_segments + 1.0;
    for (size_t j = 0; j < nr->n_sites; j++)
        lines += nr->sites[j].def->note ? 1.7 : 0.0;
    for (size_t k = 0; k < nr->n_segments; k++) {
        const ncs_segment *g = &nr->segments[k];
        lines += g->borderline || g->inconsistent[0]
                         || (g->block_because[0] && g->block != NCS_BLOCK_NONE) ? 1.8 : 0.0;
    }
    for (size_t k = 0; k < nr->n_spans; k++)
        lines += span_shown(nr, &nr->spans[k]) ? 1.8 : 0.0;
    double close = n_close ? 22.0 + (double)((n_close + 2) / 3) * CLOSE_ROW_PT : 0.0;
    /* the findings (a heading, then up to three lines each, twelve lines at
     * most), then the footer */
    double found = 0;
    for (size_t k = 0; k < nr->n_segments + nr->n_spans; k++) {
        const ncs_segment *g = k < nr->n_segments ? &nr->segments[k]
                                                  : &nr->spans[k - nr->n_segments];
        for (size_t j = 0; j < g->findings.count; j++)
            found += !g->covers || ncs_span_finding_new(nr, &g->findings.items[j]) ? 3.0 : 0.0;
    }
    return ncs_rpage_dy(p, 12.5 * lines + close + 11 * (2 + fmin(found, 12)) + 40);
}

void ncs_report_nerve_page(FILE *o, const ncs_results *r, size_t ni, ncs_report_format fmt,
                           int number)
{
    const ncs_nerve_result *nr = &r->nerves[ni];
    ncs_rpage p;
    ncs_rpage_open(&p, o, fmt, (ncs_paper)r->options.report_paper, number,
                   (int)ncs_report_pages(r));
    /* 1. the header, then the nerve with its temperature and reference
     *    values */
    char title[300];
    snprintf(title, sizeof title, "%s%s%s%s", nr->def->id, nr->def->muscle ? "  (" : "",
             nr->def->muscle ? nr->def->muscle : "", nr->def->muscle ? ")" : "");
    double y = nerve_heading(&p, r->study, nr, ncs_rpage_header(&p, r, title));
    y = traces_key(&p, nr, y - ncs_rpage_dy(&p, 4));
    /* 2. one time axis and one gain for all the traces, over what the
     *    parts under them leave of the page (a third of it at least) */
    size_t js[CLOSE_MAX];
    size_t n_close = closeup_sites(nr, js);
    double top = y - ncs_rpage_dy(&p, 12);
    /* a nerve of many sites: the tables come first (the close-ups go, and
     * the traces may shrink to a fifth of the page), then a table cut at
     * the footer says so */
    if (below_traces(&p, nr, n_close) > top - 33.0)
        n_close = 0;
    double bot = fmin(fmax(below_traces(&p, nr, n_close), 20.0), top - 20.0);
    frame f;
    frame_of(nr, top / 100.0, bot / 100.0, &f);
    /* 3. the traces' data, as datablocks ahead of the plots that draw them */
    traces_data(o, nr, &f, number);
    area_data(o, nr, &f, number);
    marker_data(o, nr, &f, number);
    /* 4. beside the traces, then under them */
    site_labels(&p, nr, &f);
    block_labels(&p, nr, &f);
    scale_bars(&p, &f);
    fprintf(o, "set multiplot\n");
    y = closeups(o, &p, nr, &f, js, n_close, number, bot - ncs_rpage_dy(&p, 40));
    y = segment_table(&p, nr, site_table(&p, nr, y));
    segment_findings(&p, nr, y - ncs_rpage_dy(&p, 4));
    ncs_rpage_footer(&p);
    /* 5. draw: the close-ups are drawn above, then the text layer, then
     *    the traces layer (no plot paints over another) */
    ncs_rpage_draw(&p);
    traces_layer(o, &f, number);
    fprintf(o, "unset multiplot\n");
}
