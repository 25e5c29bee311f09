/* compare_report.c — the follow-up report of one patient's visits
 * (docs/outputs.md, `ncs compare --report`): a summary page (the patient,
 * the visits, each nerve's trend with its reason) and a page per nerve
 * (each measure over the visits, with its 95 % interval and the block
 * category at each point; the distal traces of every visit at one gain).
 * Drawn by the report's page (report.c) and run by gnuplot.c.
 *
 * Safety as in report.c: no text from study.ini enters the command
 * stream. Names, dates and block categories reach gnuplot as fields of
 * datablocks drawn `with labels noenhanced` or read by xtic(), written by
 * ncs_report_put_text. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* The most measures drawn on a nerve's page (two columns of four). */
#define CMP_GRAPHS 8

/* A colour per visit, in date order (and again after eight). */
static const unsigned visit_rgb[] = {0x0a2a60, 0xc06000, 0x008000, 0x8000a0,
                                     0x00808c, 0xc00000, 0x606060, 0xa08000};
#define N_RGB (sizeof visit_rgb / sizeof visit_rgb[0])

/* Days from 1970-01-01 of an ISO date (YYYY-MM-DD, as study.ini requires);
 * NAN when it is not one. */
static double days_of(const char *date)
{
    int y, m, d;
    if (!date || sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12)
        return NAN;
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153L * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (double)(era * 146097 + doe - 719468);
}

/* Each visit's place on the time axis: days since the first (its index
 * when a date cannot be read). */
static void visit_days(const ncs_compare *c, double *day)
{
    double d0 = days_of(c->visits[0]->study->date);
    int ok = isfinite(d0);
    for (size_t v = 0; v < c->n_visits; v++) {
        day[v] = days_of(c->visits[v]->study->date) - d0;
        ok = ok && isfinite(day[v]);
    }
    for (size_t v = 0; !ok && v < c->n_visits; v++)
        day[v] = (double)v;
}

/* Each visit's place on the graphs' time axis: its day, or its index when
 * two visits would stand closer than a date's width (visits a week apart
 * in a quarter's follow-up: their dates, values and labels ran into each
 * other; the summary page gives the days). */
static void graph_places(const double *day, size_t nv, double *at)
{
    double gap = INFINITY, span = nv > 1 ? day[nv - 1] - day[0] : 0.0;
    for (size_t v = 1; v < nv; v++)
        gap = fmin(gap, day[v] - day[v - 1]);
    /* (a date is about a fifth of a graph, which spans the visits and
     * 14 % more on each side) */
    int even = nv > 1 && !(gap >= 0.2 * 1.28 * span);
    for (size_t v = 0; v < nv; v++)
        at[v] = even ? (double)v * (span > 0 ? span / (double)(nv - 1) : 1.0) : day[v];
}

static const char *date_of(const ncs_compare *c, size_t v)
{
    const char *d = c->visits[v]->study->date;
    return d ? d : "no date";
}

/* The header's facts: the patient and the visits' span. */
static double cmp_header(ncs_rpage *p, const ncs_compare *c, const char *title)
{
    char line[1200];
    snprintf(line, sizeof line, "Patient: %s     Follow-up: %zu visits, %s to %s",
             c->patient ? c->patient : "not given", c->n_visits, date_of(c, 0),
             date_of(c, c->n_visits - 1));
    return ncs_rpage_header_line(p, line, title);
}

static ncs_rstyle trend_style(ncs_trend t)
{
    return t == NCS_TREND_WORSENING ? ST_ABN : t == NCS_TREND_IMPROVING ? ST_SITE : ST_HEAD;
}

/* ---- the summary page ---------------------------------------------------- */

static double visits_list(ncs_rpage *p, const ncs_compare *c, const double *day, double y)
{
    double dy = ncs_rpage_dy(p, 12);
    ncs_rtext(p, ST_HEAD, 3, y, "Visits, in date order");
    y -= dy;
    for (size_t v = 0; v < c->n_visits && y > 40; v++) {
        const ncs_study *st = c->visits[v]->study;
        char t[32] = "not recorded";
        if (isfinite(st->temperature_c))
            snprintf(t, sizeof t, "%.1f \u00b0C", st->temperature_c);
        ncs_rtext(p, ST_TEXT, 5, y, "%zu.", v + 1);
        ncs_rtext(p, ST_TEXT, 8, y, "%s", date_of(c, v));
        ncs_rtext(p, ST_DIM, 22, y, "day %.0f", day[v]);
        ncs_rtext(p, ST_TEXT, 32, y, "study %s     temperature %s", st->id, t);
        y -= dy;
    }
    y = ncs_rwrapped(p, ST_DIM, 3, y - ncs_rpage_dy(p, 3), ncs_rpage_dy(p, 11), 94, 30,
                     "A change counts only beyond the two values' combined 95 % half-widths "
                     "(the square root of the sum of their squares) and from 10 points of drop "
                     "or 15 % of the distal amplitude (what two days' recordings differ by); "
                     "else the measure is stable. A nerve worsens when its distal amplitude or a "
                     "block worsens, and improves when one improves and neither worsens. Trends "
                     "run from the first visit to the last; a last step the other way is said.");
    return y - ncs_rpage_dy(p, 8);
}

/* The block categories of a segment at every visit, when one is marked. */
static double block_line(ncs_rpage *p, const ncs_compare *c, const ncs_compare_segment *g,
                         double y, double y_min)
{
    int marked = 0;
    for (size_t v = 0; v < c->n_visits; v++)
        marked |= g->at[v].present && ncs_rblock_marked(g->at[v].block);
    if (!marked)
        return y;
    char line[1400];
    int n = snprintf(line, sizeof line, "%s%s-%s block:", g->span ? "span " : "", g->from, g->to);
    for (size_t v = 0; v < c->n_visits && n > 0 && n < (int)sizeof line; v++)
        n += snprintf(line + n, sizeof line - (size_t)n, "%s%s", v ? " \u2192 " : " ",
                      g->at[v].present ? ncs_rblock_label(g->at[v].block) : "not recorded");
    return ncs_rwrapped(p, ST_SMALL, 8, y, ncs_rpage_dy(p, 11), 88, y_min, line);
}

static double trends_list(ncs_rpage *p, const ncs_compare *c, double y)
{
    const double y_min = 8.0;
    double dy = ncs_rpage_dy(p, 12);
    ncs_rtext(p, ST_HEAD, 3, y, "Trends, nerve by nerve (first visit to last)");
    y -= dy * 1.3;
    for (size_t i = 0; i < c->n_nerves && y > y_min; i++) {
        const ncs_compare_nerve *cn = &c->nerves[i];
        char head[96];
        ncs_rtext(p, trend_style(cn->relapse ? NCS_TREND_WORSENING : cn->trend), 4, y, "%s: %s",
                  cn->id, ncs_compare_headline(cn, head, sizeof head));
        ncs_rtext(p, ST_RIGHT, 97, y, "page %zu", i + 2);
        y -= dy;
        y = ncs_rwrapped(p, ST_TEXT, 6, y, dy, 90, y_min, cn->why);
        for (size_t k = 0; k < cn->n_segments && y > y_min; k++)
            y = block_line(p, c, &cn->segments[k], y, y_min);
        y -= ncs_rpage_dy(p, 6);
    }
    return y;
}

static void cmp_summary_page(FILE *o, const ncs_compare *c, ncs_report_format fmt,
                             ncs_paper paper, int pages, const double *day)
{
    ncs_rpage p;
    ncs_rpage_open(&p, o, fmt, paper, 1, pages);
    double y = cmp_header(&p, c, "Follow-up across visits: summary");
    y = visits_list(&p, c, day, y);
    trends_list(&p, c, y);
    ncs_rpage_footer(&p);
    fprintf(o, "set multiplot\n");
    ncs_rpage_draw(&p);
    fprintf(o, "unset multiplot\n");
}

/* ---- a nerve's page: each measure over the visits ------------------------ */

/* A measure drawn: the distal amplitude (g NULL) or a segment's area drop
 * (its amplitude drop where no visit has an area drop); its box in page
 * units. */
typedef struct {
    const ncs_compare_segment *g;
    int amp_drop;
    double l, r, b, t;   /* the plot's box */
    double lo, hi;       /* its y range */
} cmp_graph;

static ncs_vu graph_value(const ncs_compare_nerve *cn, const cmp_graph *gr, size_t v)
{
    ncs_vu none = {NAN, NAN};
    if (!gr->g)
        return cn->at[v].nr ? cn->at[v].amp_mv : none;
    const ncs_compare_seg_visit *sv = &gr->g->at[v];
    if (!sv->present)
        return none;
    return gr->amp_drop ? sv->amp_drop_pct : sv->area_drop_pct;
}

/* The measures of a nerve's page: its distal amplitude, then its
 * segments, then its spans, at most CMP_GRAPHS; the one that decides the
 * nerve's block trend always among them. Returns how many. */
static size_t pick_graphs(const ncs_compare_nerve *cn, cmp_graph *gr, size_t *left)
{
    size_t n = 0;
    gr[n++] = (cmp_graph){0};
    for (int span = 0; span < 2; span++)
        for (size_t k = 0; k < cn->n_segments; k++) {
            const ncs_compare_segment *g = &cn->segments[k];
            if (g->span != span)
                continue;
            if (n == CMP_GRAPHS) {
                (*left)++;
                continue;
            }
            gr[n++] = (cmp_graph){.g = g};
        }
    int shown = !cn->block_segment;
    for (size_t k = 1; k < n; k++)
        shown |= gr[k].g == cn->block_segment;
    if (!shown)
        gr[n - 1].g = cn->block_segment;
    return n;
}

/* The y range of a graph: every value with its interval, some room above
 * for the labels, never narrower than a few units. */
static void graph_range(const ncs_compare *c, const ncs_compare_nerve *cn, cmp_graph *gr)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t v = 0; v < c->n_visits; v++) {
        ncs_vu x = graph_value(cn, gr, v);
        double u = isfinite(x.u) ? x.u : 0;
        if (isfinite(x.v)) {
            lo = fmin(lo, x.v - u);
            hi = fmax(hi, x.v + u);
        }
    }
    if (!(lo <= hi))
        lo = 0, hi = 1;
    double least = gr->g ? 10.0 : fmax(0.5, 0.2 * fabs(hi));
    if (hi - lo < least) {
        double mid = 0.5 * (hi + lo);
        lo = mid - 0.5 * least;
        hi = mid + 0.5 * least;
    }
    double span = hi - lo;
    gr->lo = lo - 0.15 * span;
    gr->hi = hi + 0.45 * span;
    if (gr->g && lo >= 0 && gr->lo < 0)
        gr->lo = 0;
}

/* The graph's points: day, value, half-width, label, its colour. */
static void graph_data(FILE *o, const ncs_compare *c, const ncs_compare_nerve *cn,
                       const cmp_graph *gr, const double *day, ncs_report_format fmt, int page,
                       size_t k)
{
    fprintf(o, "$C%dG%zu << EOD\n", page, k);
    int any = 0;
    for (size_t v = 0; v < c->n_visits; v++) {
        ncs_vu x = graph_value(cn, gr, v);
        if (!isfinite(x.v))
            continue;
        char label[64];
        unsigned rgb = 0x303030;
        if (gr->g) {
            ncs_block b = gr->g->at[v].block;
            snprintf(label, sizeof label, "%s%s", ncs_block_name(b) ? ncs_block_name(b) : "",
                     gr->g->at[v].inconsistent ? " (?)" : "");
            rgb = ncs_rblock_marked(b) ? 0xc00000 : 0x606060;
        } else {
            snprintf(label, sizeof label, "%.2f", x.v);
        }
        fprintf(o, "%.3f\t%.4f\t%.4f\t", day[v], x.v, isfinite(x.u) ? x.u : 0.0);
        ncs_report_put_text(o, label, fmt);
        fprintf(o, "\t%u\n", rgb);
        any = 1;
    }
    if (!any)
        fprintf(o, "NaN\tNaN\t0\tx\t0\n");
    fprintf(o, "EOD\n");
}

/* The visits' dates as the graphs' tics: day, date. */
static void dates_data(FILE *o, const ncs_compare *c, const double *day, ncs_report_format fmt,
                       int page)
{
    fprintf(o, "$C%dD << EOD\n", page);
    for (size_t v = 0; v < c->n_visits; v++) {
        fprintf(o, "%.3f\t", day[v]);
        ncs_report_put_text(o, date_of(c, v), fmt);
        fputc('\n', o);
    }
    fprintf(o, "EOD\n");
}

/* A graph's title over its box: the measure, its trend, and why. */
static void graph_title(ncs_rpage *p, const ncs_compare_nerve *cn, const cmp_graph *gr)
{
    /* (why on two lines: cut to one, it lost the change since the last
     * visit, a relapse) */
    double y = gr->t + ncs_rpage_dy(p, 26);
    if (!gr->g) {
        ncs_rtext(p, trend_style(cn->amp_trend), gr->l - 5, y, "Distal amplitude, mV: %s",
                  ncs_trend_name(cn->amp_trend));
        double dy = ncs_rpage_dy(p, 10);
        ncs_rwrapped(p, ST_DIM, gr->l - 5, y - dy, dy, gr->r - gr->l + 5, y - 2.5 * dy,
                     cn->amp_why);
        return;
    }
    const ncs_compare_segment *g = gr->g;
    ncs_rtext(p, trend_style(g->trend), gr->l - 5, y, "%s%s%s-%s %s drop, %%: %s",
              g == cn->block_segment ? "\u25ba " : "", g->span ? "span " : "", g->from, g->to,
              gr->amp_drop ? "amplitude" : "area", ncs_trend_name(g->trend));
    double dy = ncs_rpage_dy(p, 10);
    ncs_rwrapped(p, ST_DIM, gr->l - 5, y - dy, dy, gr->r - gr->l + 5, y - 2.5 * dy, g->why);
}

/* Where the graphs go: two columns, as many rows as they need, between
 * top and bot (page units). */
static void place_graphs(const ncs_rpage *p, cmp_graph *gr, size_t n, double top, double bot)
{
    size_t rows = (n + 1) / 2;
    double row_h = (top - bot) / (double)rows;
    for (size_t k = 0; k < n; k++) {
        size_t row = k / 2, col = k % 2;
        gr[k].l = col ? 58.0 : 10.0;
        gr[k].r = col ? 95.0 : 47.0;
        gr[k].t = top - (double)row * row_h - ncs_rpage_dy(p, 40);
        gr[k].b = top - (double)(row + 1) * row_h + ncs_rpage_dy(p, 20);
    }
}

static void graphs_plot(FILE *o, const cmp_graph *gr, size_t n, const double *day, size_t nv,
                        int page)
{
    double x0 = day[0], x1 = day[nv - 1], pad = x1 > x0 ? 0.14 * (x1 - x0) : 1.0;
    fprintf(o, "set border 3 lc rgb \"#808080\"; set grid ytics lc rgb \"#e4e4e4\"\n"
               "set xtics autofreq nomirror out scale 0.5 font \"Sans,8\"%s\n"
               "set ytics nomirror out scale 0.5 font \"Sans,8\"; unset key\n",
            nv > 4 ? " rotate by 30 right" : "");
    for (size_t k = 0; k < n; k++) {
        fprintf(o, "set lmargin at screen %.4f; set rmargin at screen %.4f\n"
                   "set bmargin at screen %.4f; set tmargin at screen %.4f\n"
                   "set xrange [%.3f:%.3f]; set yrange [%.4f:%.4f]\n",
                gr[k].l / 100, gr[k].r / 100, gr[k].b / 100, gr[k].t / 100, x0 - pad, x1 + pad,
                gr[k].lo, gr[k].hi);
        fprintf(o, "plot $C%dG%zu using 1:2 with lines lw 1 lc rgb \"#8aa0c8\" notitle, \\\n"
                   "     $C%dG%zu using 1:2:3 with yerrorbars pt 7 ps 0.6 lw 1.2 lc rgb \"#0a2a60\" notitle, \\\n"
                   "     $C%dG%zu using 1:($2+$3):4:5 with labels offset 0,0.8 font \"Sans,8\" tc rgb variable noenhanced notitle, \\\n"
                   "     $C%dD using 1:(NaN):xtic(2) with points notitle\n",
                page, k, page, k, page, k, page);
    }
    fprintf(o, "unset grid; unset border; unset xtics; unset ytics\n");
}

/* ---- a nerve's page: the distal traces of every visit ------------------- */

static const ncs_site_result *distal_of(const ncs_compare_nerve *cn, size_t v)
{
    const ncs_nerve_result *nr = cn->at[v].nr;
    if (!nr || !nr->n_sites || !nr->sites[0].trace || nr->sites[0].def->exclude)
        return NULL;
    return &nr->sites[0];
}

/* The traces' time axis: past every visit's negative phase, within the
 * shortest sweep; and their one gain, from the largest amplitude. */
static void traces_frame(const ncs_compare *c, const ncs_compare_nerve *cn, double *t_end,
                         double *a_max)
{
    double end = 0, sweep = INFINITY;
    *a_max = 0.1;
    for (size_t v = 0; v < c->n_visits; v++) {
        const ncs_site_result *sr = distal_of(cn, v);
        if (!sr)
            continue;
        if (isfinite(sr->m.end_ms))
            end = fmax(end, sr->m.end_ms);
        if (isfinite(sr->sweep_end_ms))
            sweep = fmin(sweep, sr->sweep_end_ms);
        if (isfinite(sr->m.amp_mv))
            *a_max = fmax(*a_max, fabs(sr->m.amp_mv));
    }
    *t_end = end > 0 ? 1.6 * end + 4.0 : 30.0;
    if (isfinite(sweep) && sweep > 1)
        *t_end = fmin(*t_end, sweep);
}

/* The traces, a data set per visit (a NaN point for one without), and the
 * key: page x, y, the visit's date, site and amplitude, its colour. */
static size_t traces_data(FILE *o, const ncs_compare *c, const ncs_compare_nerve *cn,
                          double t_end, ncs_report_format fmt, int page, double key_y, double dy)
{
    size_t drawn = 0;
    fprintf(o, "$C%dT << EOD\n", page);
    for (size_t v = 0; v < c->n_visits; v++) {
        const ncs_site_result *sr = distal_of(cn, v);
        for (size_t i = 0; sr && i < sr->n_points; i++)
            if (sr->trace[i].t_ms >= 0 && sr->trace[i].t_ms <= t_end)
                fprintf(o, "%.3f\t%.4f\n", sr->trace[i].t_ms, sr->trace[i].mv);
        drawn += sr != NULL;
        fprintf(o, "NaN\tNaN\n\n\n");
    }
    fprintf(o, "EOD\n$C%dK << EOD\n", page);
    for (size_t v = 0; v < c->n_visits; v++) {
        const ncs_site_result *sr = distal_of(cn, v);
        char text[400];
        if (sr)
            snprintf(text, sizeof text, "%s  %s  %.2f mV", date_of(c, v), sr->def->name,
                     sr->m.amp_mv);
        else
            snprintf(text, sizeof text, "%s  no trace", date_of(c, v));
        fprintf(o, "71.5\t%.3f\t", key_y - (double)v * dy);
        ncs_report_put_text(o, text, fmt);
        fprintf(o, "\t%u\n", sr ? visit_rgb[v % N_RGB] : 0x909090u);
    }
    fprintf(o, "EOD\n");
    return drawn;
}

static void traces_plot(FILE *o, size_t nv, double t_end, double a_max, double top, double bot,
                        int page)
{
    fprintf(o, "set lmargin at screen 0.10; set rmargin at screen 0.68\n"
               "set bmargin at screen %.4f; set tmargin at screen %.4f\n"
               "set xrange [0:%.3f]; set yrange [%.4f:%.4f]\n"
               "set border 3 lc rgb \"#808080\"; set xtics autofreq nomirror out scale 0.5 font \"Sans,8\"\n"
               "set ytics nomirror out scale 0.5 font \"Sans,8\"; unset key\n"
               "set xlabel \"ms from the stimulus\" font \"Sans,9\" offset 0,0.6\n"
               "set ylabel \"mV (negative up)\" font \"Sans,9\" offset 1.5,0\n",
            bot / 100, top / 100, t_end, 0.6 * a_max, -1.15 * a_max);
    const char *sep = "plot";
    for (size_t v = 0; v < nv; v++) {
        fprintf(o, "%s $C%dT index %zu using 1:2 with lines lw 1.2 lc rgb \"#%06x\" notitle", sep,
                page, v, visit_rgb[v % N_RGB]);
        sep = ", \\\n    ";
    }
    fprintf(o, "\nunset xlabel; unset ylabel; unset border; unset xtics; unset ytics\n"
               "set lmargin at screen 0; set rmargin at screen 1\n"
               "set bmargin at screen 0; set tmargin at screen 1\n"
               "set xrange [0:100]; set yrange [0:100]\n"
               "plot $C%dK using 1:2:3:4 with labels left font \"Sans-Bold,9\" tc rgb variable "
               "noenhanced notitle\n", page);
}

static void cmp_nerve_page(FILE *o, const ncs_compare *c, size_t ni, ncs_report_format fmt,
                           ncs_paper paper, int pages, const double *day)
{
    const ncs_compare_nerve *cn = &c->nerves[ni];
    int page = (int)ni + 2;
    ncs_rpage p;
    ncs_rpage_open(&p, o, fmt, paper, page, pages);
    /* 1. the nerve, its trend, and why */
    char title[300];
    char head[96];
    snprintf(title, sizeof title, "%s: %s", cn->id, ncs_compare_headline(cn, head, sizeof head));
    double y = cmp_header(&p, c, title);
    double dy = ncs_rpage_dy(&p, 12);
    ncs_rtext(&p, trend_style(cn->relapse ? NCS_TREND_WORSENING : cn->trend), 3, y, "Trend: %s%s",
              head,
              cn->block_segment ? "     (\u25ba the segment that decides the block trend)" : "");
    y = ncs_rwrapped(&p, ST_TEXT, 3, y - dy, dy, 94, y - 4 * dy, cn->why);
    /* 2. the traces at the foot when kept, the measures above them */
    double t_end, a_max, tr_top = 30.0, tr_bot = 7.5;
    traces_frame(c, cn, &t_end, &a_max);
    size_t drawn = traces_data(o, c, cn, t_end, fmt, page, tr_top - 1.0, ncs_rpage_dy(&p, 13));
    cmp_graph gr[CMP_GRAPHS];
    size_t left = 0, n = pick_graphs(cn, gr, &left);
    place_graphs(&p, gr, n, y, drawn ? tr_top + ncs_rpage_dy(&p, 26) : tr_bot);
    dates_data(o, c, day, fmt, page);
    for (size_t k = 0; k < n; k++) {
        int any_area = 0;
        for (size_t v = 0; gr[k].g && v < c->n_visits; v++)
            any_area |= gr[k].g->at[v].present && isfinite(gr[k].g->at[v].area_drop_pct.v);
        gr[k].amp_drop = gr[k].g && !any_area;
        graph_range(c, cn, &gr[k]);
        graph_data(o, c, cn, &gr[k], day, fmt, page, k);
        graph_title(&p, cn, &gr[k]);
    }
    if (left)
        ncs_rtext(&p, ST_DIM, 3, gr[n - 1].b - ncs_rpage_dy(&p, 16),
                  "%zu more segment%s and span%s: see compare.csv", left, left == 1 ? "" : "s",
                  left == 1 ? "" : "s");
    if (drawn)
        ncs_rtext(&p, ST_HEAD, 3, tr_top + ncs_rpage_dy(&p, 12),
                  "Distal response of every visit, one gain, negative up");
    else
        ncs_rtext(&p, ST_DIM, 3, tr_bot + 2, "(the traces were not kept: none drawn)");
    ncs_rpage_footer(&p);
    /* 3. draw: the text layer, the measures, the traces */
    fprintf(o, "set multiplot\n");
    ncs_rpage_draw(&p);
    graphs_plot(o, gr, n, day, c->n_visits, page);
    if (drawn)
        traces_plot(o, c->n_visits, t_end, a_max, tr_top, tr_bot + 3.5, page);
    fprintf(o, "unset multiplot\n");
}

/* ---- the script and its run ---------------------------------------------- */

static ncs_status compare_script(const void *ctx, ncs_report_format fmt,
                                 const char *const *page_files, FILE *o)
{
    const ncs_compare *c = ctx;
    ncs_paper paper = (ncs_paper)c->visits[0]->options.report_paper;
    if (!ncs_report_paper_name(paper))
        return NCS_ERR_USAGE;
    double *day = calloc(2 * c->n_visits, sizeof *day);
    if (!day)
        return NCS_ERR_NOMEM;
    double *at = day + c->n_visits;
    visit_days(c, day);
    graph_places(day, c->n_visits, at);
    ncs_report_preamble(o, fmt, paper);
    size_t pages = c->n_nerves + 1;
    for (size_t pg = 0; pg < pages; pg++) {
        if (pg == 0 || fmt != NCS_REPORT_PDF)
            fprintf(o, "set output \"%s\"\n", page_files[fmt == NCS_REPORT_PDF ? 0 : pg]);
        if (pg == 0)
            cmp_summary_page(o, c, fmt, paper, (int)pages, day);
        else
            cmp_nerve_page(o, c, pg - 1, fmt, paper, (int)pages, at);
    }
    free(day);
    fprintf(o, "unset output\nexit\n");
    return ferror(o) ? NCS_ERR_OUTPUT : NCS_OK;
}

ncs_status ncs_compare_report_make(const ncs_compare *c, ncs_report_format fmt,
                                   const char *out_path, const char *gnuplot, ncs_error *err)
{
    ncs_error_clear(err);
    if (!c || !c->n_visits || !out_path || (unsigned)fmt > NCS_REPORT_SVG)
        return ncs_fail(err, NCS_ERR_USAGE, out_path ? out_path : "", "no comparison or output");
    const ncs_options *op = &c->visits[0]->options;
    if (!ncs_report_paper_name((ncs_paper)op->report_paper))
        return ncs_fail(err, NCS_ERR_USAGE, out_path, "unknown paper (%d): choose a4 or letter",
                        op->report_paper);
    size_t pages = c->n_nerves + 1;
    const char **names = calloc(pages, sizeof *names);
    if (!names)
        return ncs_fail(err, NCS_ERR_NOMEM, out_path, "out of memory");
    for (size_t i = 1; i < pages; i++)
        names[i] = c->nerves[i - 1].id;
    ncs_gnuplot_job gj = {.n_pages = pages, .page_names = names, .inputs = c->visits,
                          .n_inputs = c->n_visits, .timeout_s = op->gnuplot_timeout_s,
                          .write = compare_script, .ctx = c};
    ncs_status rc = ncs_gnuplot_run(&gj, fmt, out_path, gnuplot, err);
    free(names);
    return rc;
}
