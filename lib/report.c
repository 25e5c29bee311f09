/* report.c — the clinician's report (docs/outputs.md) as a gnuplot script: a summary
 * page, then one page per nerve with its traces stacked distal to proximal,
 * negative up, markers, shaded negative-phase area, scale bars, the segment
 * table, and the conduction blocks marked between their two traces.
 *
 * Safety: no text from study.ini ever enters the command stream. Every piece
 * of text is a field of a tab-separated datablock drawn `with labels
 * noenhanced`; gnuplot does not evaluate data, so backquotes, quotes,
 * system(...) and @macros show as text. The only strings in the commands are
 * our own (fonts, colours, the output file's base name, which we choose). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "report.h"

/* page units: x and y from 0 to 100 over the whole page */
#define FONT "Sans"

typedef enum { ST_TITLE, ST_HEAD, ST_SITE, ST_TEXT, ST_SMALL, ST_ABN, ST_WARN, ST_BLOCK, ST_DIM,
               ST__N } style;

static const struct {
    const char *font;  /* font family and weight */
    double size;       /* points */
    const char *color; /* rgb */
    const char *align;
} styles[ST__N] = {
    [ST_TITLE] = {FONT "-Bold", 13, "#000000", "left"},
    [ST_HEAD] = {FONT "-Bold", 8, "#000000", "left"},
    [ST_SITE] = {FONT "-Bold", 10, "#0a2a60", "left"},
    [ST_TEXT] = {FONT, 8, "#000000", "left"},
    [ST_SMALL] = {FONT, 7, "#000000", "left"},
    [ST_ABN] = {FONT "-Bold", 8, "#c00000", "left"},
    [ST_WARN] = {FONT "-Bold", 8, "#c05800", "left"},
    [ST_BLOCK] = {FONT "-Bold", 9, "#c00000", "left"},
    [ST_DIM] = {FONT, 7, "#606060", "left"},
};

/* One page being built: a memory stream per text style, plus the data and
 * the plot clauses of the traces layer. */
typedef struct {
    FILE *out;        /* the script */
    int page;
    char *txt[ST__N];
    size_t txt_len[ST__N];
    FILE *tf[ST__N];
    int n_txt[ST__N];
    double font_scale;
    int failed;
} page;

static void page_open(page *p, FILE *out, int number)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->page = number;
    p->font_scale = 1.0;
    for (int s = 0; s < ST__N; s++) {
        p->tf[s] = open_memstream(&p->txt[s], &p->txt_len[s]);
        if (!p->tf[s])
            p->failed = 1;
    }
}

/* Text as one datablock field: no tab, no control character. */
static void put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
    }
}

static void text(page *p, style st, double x, double y, const char *fmt, ...)
    NCS_PRINTF(5, 6);

static void text(page *p, style st, double x, double y, const char *fmt, ...)
{
    if (p->failed || !p->tf[st])
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(p->tf[st], "%.3f\t%.3f\t", x, y);
    put_text(p->tf[st], buf);
    fputc('\n', p->tf[st]);
    p->n_txt[st]++;
}

/* The text layer: every style's datablock, then one plot over the page. */
static void page_text_layer(page *p)
{
    FILE *o = p->out;
    for (int s = 0; s < ST__N; s++) {
        if (p->tf[s] && fclose(p->tf[s]) != 0)
            p->failed = 1;
        p->tf[s] = NULL;
    }
    for (int s = 0; s < ST__N; s++) {
        if (!p->n_txt[s])
            continue;
        fprintf(o, "$P%dS%d << EOD\n%sEOD\n", p->page, s, p->txt[s]);
    }
    fprintf(o, "set lmargin at screen 0; set rmargin at screen 1\n"
               "set bmargin at screen 0; set tmargin at screen 1\n"
               "unset border; unset tics; unset xlabel; unset ylabel; unset key\n"
               "set xrange [0:100]; set yrange [0:100]\n");
    const char *sep = "plot";
    for (int s = 0; s < ST__N; s++) {
        if (!p->n_txt[s])
            continue;
        fprintf(o, "%s $P%dS%d using 1:2:3 with labels %s noenhanced font \"%s,%.1f\" "
                   "textcolor rgb \"%s\" notitle",
                sep, p->page, s, styles[s].align, styles[s].font,
                styles[s].size * p->font_scale, styles[s].color);
        sep = ",";
    }
    if (strcmp(sep, "plot") == 0)
        fprintf(o, "plot NaN notitle");
    fputc('\n', o);
    for (int s = 0; s < ST__N; s++) {
        free(p->txt[s]);
        p->txt[s] = NULL;
    }
}

/* ---- numbers ------------------------------------------------------------- */

static const char *fmtv(char *buf, size_t n, double v, int decimals)
{
    if (isfinite(v))
        snprintf(buf, n, "%.*f", decimals, v);
    else
        snprintf(buf, n, "-");
    return buf;
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

static const char *block_label(ncs_block b)
{
    switch (b) {
    case NCS_BLOCK_DEFINITE:
        return "definite CB";
    case NCS_BLOCK_PROBABLE:
        return "probable CB";
    case NCS_BLOCK_CB:
        return "CB (ean2021-cidp)";
    case NCS_BLOCK_ENTRAPMENT:
        return "CB at entrapment site (not counted)";
    case NCS_BLOCK_ABSENT_PROXIMAL:
        return "proximal response absent";
    default: {
        const char *name = ncs_block_name(b);
        return name ? name : "";
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

/* The categories a report marks between a segment's traces. */
static int block_marked(ncs_block b)
{
    return b == NCS_BLOCK_DEFINITE || b == NCS_BLOCK_PROBABLE || b == NCS_BLOCK_CB
           || b == NCS_BLOCK_ENTRAPMENT || b == NCS_BLOCK_ABSENT_PROXIMAL;
}

static void flags_string(char *buf, size_t n, unsigned flags)
{
    const char *names[NCS_FLAG__COUNT];
    ncs_join(buf, n, names, ncs_flag_names(flags, names), ", ");
}

/* Word-wraps s into lines of at most width characters, drawn from (x, y)
 * downward; returns the y below the last line. */
static double wrapped(page *p, style st, double x, double y, double dy, int width,
                      const char *s)
{
    size_t len = strlen(s);
    size_t start = 0;
    while (start < len) {
        size_t end = start + (size_t)width;
        if (end >= len) {
            end = len;
        } else {
            size_t sp = end;
            while (sp > start && s[sp] != ' ')
                sp--;
            if (sp > start)
                end = sp;
        }
        text(p, st, x, y, "%.*s", (int)(end - start), s + start);
        y -= dy;
        start = end;
        while (start < len && s[start] == ' ')
            start++;
    }
    return y;
}

/* s cut to fit buf (n > 4) at a character's boundary, "..." marking a cut:
 * a free text (patient) on one header line, still UTF-8. */
static const char *cut_utf8(char *buf, size_t n, const char *s)
{
    size_t len = strlen(s);
    if (len < n) {
        memcpy(buf, s, len + 1);
        return buf;
    }
    size_t k = n - 4;
    while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
        k--;
    memcpy(buf, s, k);
    memcpy(buf + k, "...", 4);
    return buf;
}

/* ---- the summary page ---------------------------------------------------- */

static double study_header(page *p, const ncs_results *r, const char *what)
{
    const ncs_study *st = r->study;
    text(p, ST_TITLE, 5, 96.5, "Nerve conduction study  %s", st->id);
    text(p, ST_DIM, 5, 94.4, "%s   ncs %s", what, NCS_VERSION);
    double y = 92.2;
    char line[512], who[100];
    int n = snprintf(line, sizeof line, "%s%s%sDate: %s", st->patient ? "Patient: " : "",
                     st->patient ? cut_utf8(who, sizeof who, st->patient) : "",
                     st->patient ? "    " : "", st->date ? st->date : "not given");
    if (isfinite(st->age_years))
        n += snprintf(line + n, sizeof line - (size_t)n, "    Age: %.0f y", st->age_years);
    if (isfinite(st->height_cm))
        n += snprintf(line + n, sizeof line - (size_t)n, "    Height: %.0f cm", st->height_cm);
    if (isfinite(st->temperature_c))
        snprintf(line + n, sizeof line - (size_t)n, "    Temperature: %.1f C",
                 st->temperature_c);
    text(p, ST_TEXT, 5, y, "%s", line);
    y -= 2.0;
    text(p, ST_TEXT, 5, y, "Criteria: %s%s    Normative values: %s",
         ncs_criteria_name(r->options.primary), r->options.all_criteria ? " (and all sets)" : "",
         r->norms.origin);
    y -= 2.0;
    return y;
}

/* What the reader must know before trusting the table: cold limbs, and the
 * examiner's note. */
static double summary_warnings(page *p, const ncs_results *r, double y)
{
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        if (nr->low_temperature) {
            text(p, ST_WARN, 5, y, "Low temperature: %s at %.1f C (below %.0f C): slowing may "
                                   "be from cold; no correction applied",
                 nr->def->id, nr->def->temperature_c, ncs_norm_temperature_c(nr->def->nerve));
            y -= 2.0;
        }
    }
    if (r->study->note) {
        char buf[600];
        snprintf(buf, sizeof buf, "Note: %s", r->study->note);
        y = wrapped(p, ST_TEXT, 5, y, 1.8, 120, buf);
    }
    return y - 1.0;
}

/* The summary table's columns: where, and the two heading lines. */
enum { SC_NERVE, SC_SITE, SC_ONSET, SC_AMP, SC_AREA, SC_DUR, SC_DIST, SC_SEGMENT, SC_CV,
       SC_AREA_DROP, SC_DUR_INC, SC__N };

static const struct {
    double x;
    const char *head, *unit;
} sum_col[SC__N] = {
    [SC_NERVE] = {5, "nerve", ""},         [SC_SITE] = {18, "site", ""},
    [SC_ONSET] = {29, "onset", "ms"},      [SC_AMP] = {36, "amp", "mV"},
    [SC_AREA] = {43, "area", "mVms"},      [SC_DUR] = {50, "dur", "ms"},
    [SC_DIST] = {57, "dist", "mm"},        [SC_SEGMENT] = {64, "segment", ""},
    [SC_CV] = {80, "CV", "m/s"},           [SC_AREA_DROP] = {86.5, "area", "drop %"},
    [SC_DUR_INC] = {93, "dur", "inc %"},
};

/* The row height: every row above the findings if the page allows, but
 * never so tight the rows cannot be read; the font shrinks with the rows. */
static double summary_row_height(page *p, const ncs_results *r, double y)
{
    size_t rows = 0;
    for (size_t i = 0; i < r->n_nerves; i++)
        rows += r->nerves[i].n_sites + 1;
    double avail = y - 40.0;
    double dy = rows ? avail / (double)(rows + 2) : 1.6;
    if (dy > 1.6)
        dy = 1.6;
    if (dy < 0.9)
        dy = 0.9;
    p->font_scale = dy >= 1.4 ? 1.0 : dy / 1.4;
    return dy;
}

static double summary_table_head(page *p, double y, double dy)
{
    for (int c = 0; c < SC__N; c++) {
        text(p, ST_HEAD, sum_col[c].x, y, "%s", sum_col[c].head);
        text(p, ST_DIM, sum_col[c].x, y - dy, "%s", sum_col[c].unit);
    }
    return y - (2 * dy + 0.4);
}

/* A site's own measurements; a starred value is outside the reference range. */
static void summary_site_values(page *p, const ncs_site_result *sr, double y)
{
    const ncs_markers *m = &sr->m;
    char b[32];
    if (!m->response && !sr->def->exclude) {
        text(p, ST_WARN, sum_col[SC_ONSET].x, y, "no response");
        return;
    }
    int dml = sr->abnormal & NCS_ABN_DML_PROLONGED;
    int low = sr->abnormal & NCS_ABN_AMP_LOW;
    text(p, dml ? ST_ABN : ST_TEXT, sum_col[SC_ONSET].x, y, "%s%s",
         fmtv(b, sizeof b, m->onset_ms, 2), dml ? " *" : "");
    text(p, low ? ST_ABN : ST_TEXT, sum_col[SC_AMP].x, y, "%s%s",
         fmtv(b, sizeof b, m->amp_mv, 2), low ? " *" : "");
    text(p, ST_TEXT, sum_col[SC_AREA].x, y, "%s", fmtv(b, sizeof b, m->neg_area_mvms, 1));
    text(p, ST_TEXT, sum_col[SC_DUR].x, y, "%s", fmtv(b, sizeof b, m->neg_dur_ms, 2));
}

/* The segment that ends at site j, on the site's row (the distal site has
 * none: its distance from the recording electrode instead). A block takes a
 * line of its own; returns the y of the row's last line. */
static double summary_segment_values(page *p, const ncs_nerve_result *nr, size_t j, double y,
                                     double dy)
{
    const ncs_site_result *sr = &nr->sites[j];
    const ncs_segment *g = ncs_segment_ending_at(nr, sr->def->name);
    char b[32];
    if (g) {
        int slow = g->abnormal & NCS_ABN_CV_SLOW;
        text(p, ST_TEXT, sum_col[SC_DIST].x, y, "%.0f", g->distance_mm);
        text(p, ST_SMALL, sum_col[SC_SEGMENT].x, y, "%s-%s", g->from, g->to);
        text(p, slow ? ST_ABN : ST_TEXT, sum_col[SC_CV].x, y, "%s%s",
             fmtv(b, sizeof b, g->cv_m_s, 1), slow ? " *" : "");
        int blk = block_marked(g->block);
        text(p, blk ? ST_ABN : ST_TEXT, sum_col[SC_AREA_DROP].x, y, "%s",
             fmtv(b, sizeof b, g->area_drop_pct, 1));
        text(p, ST_TEXT, sum_col[SC_DUR_INC].x, y, "%s", fmtv(b, sizeof b, g->dur_increase_pct, 1));
        if (blk) {
            y -= dy;
            text(p, ST_ABN, sum_col[SC_SEGMENT].x, y, "%s", block_label(g->block));
        }
    } else if (j == 0) {
        text(p, ST_TEXT, sum_col[SC_DIST].x, y, "%.0f", sr->def->distance_mm);
        text(p, ST_DIM, sum_col[SC_SEGMENT].x, y, "distal");
    }
    return y;
}

/* A nerve's rows: one per site, the nerve and its muscle at the left. */
static double summary_nerve_rows(page *p, const ncs_nerve_result *nr, double y, double dy)
{
    text(p, ST_HEAD, sum_col[SC_NERVE].x, y, "%s", nr->def->id);
    if (nr->def->muscle)
        text(p, ST_DIM, sum_col[SC_NERVE].x, y - dy, "%s", nr->def->muscle);
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        text(p, ST_TEXT, sum_col[SC_SITE].x, y, "%s%s", sr->def->name,
             sr->def->exclude ? " (excl.)" : "");
        summary_site_values(p, sr, y);
        y = summary_segment_values(p, nr, j, y, dy);
        y -= dy;
    }
    return y - 0.5 * dy;
}

static double summary_table(page *p, const ncs_results *r, double y)
{
    double dy = summary_row_height(p, r, y);
    y = summary_table_head(p, y, dy);
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        /* the findings need the lower part of the page: a table too long
         * for it ends here, and the nerve pages carry the rest */
        if (y - (double)(nr->n_sites + 1) * dy < 36.0) {
            size_t left = r->n_nerves - i;
            text(p, ST_WARN, sum_col[SC_NERVE].x, y, "... %zu more nerve%s: see %s page%s", left,
                 left == 1 ? "" : "s", left == 1 ? "its" : "their", left == 1 ? "" : "s");
            y -= dy;
            break;
        }
        y = summary_nerve_rows(p, nr, y, dy);
    }
    p->font_scale = 1.0;
    text(p, ST_DIM, 5, y, "* outside the reference range (distal latency above ULN, "
                          "amplitude below LLN, CV below LLN).  Red area drop: conduction "
                          "block category (see findings).");
    return y - 3.0;
}

/* A segment's findings under criteria set k, one wrapped line each. */
static double summary_segment_findings(page *p, const ncs_nerve_result *nr,
                                       const ncs_segment *sg, int k, double y)
{
    for (size_t j = 0; j < sg->findings.count; j++) {
        const ncs_finding *f = &sg->findings.items[j];
        if ((int)f->criteria != k)
            continue;
        char buf[1400], why[NCS_MAX_BECAUSE * (NCS_BECAUSE_LEN + 4)];
        snprintf(buf, sizeof buf, "%s %s-%s: %s%s: %s", nr->def->id, sg->from, sg->to, f->code,
                 f->counts ? "" : " (not counted)", ncs_finding_reasons(f, "; ", why, sizeof why));
        y = wrapped(p, ST_SMALL, 8, y, 1.5, 130, buf);
    }
    return y;
}

/* The findings about a nerve as a whole under criteria set k. */
static double summary_nerve_findings(page *p, const ncs_nerve_result *nr, int k, double y)
{
    for (size_t j = 0; j < nr->findings.count; j++) {
        const ncs_finding *f = &nr->findings.items[j];
        if ((int)f->criteria != k)
            continue;
        char buf[1400], why[NCS_MAX_BECAUSE * (NCS_BECAUSE_LEN + 4)];
        snprintf(buf, sizeof buf, "%s: %s: %s", nr->def->id, f->code,
                 ncs_finding_reasons(f, "; ", why, sizeof why));
        y = wrapped(p, ST_SMALL, 8, y, 1.5, 130, buf);
    }
    return y;
}

/* Each evaluated criteria set's verdict, then what supports it, for as long
 * as the page lasts (the nerve pages repeat the segments' findings). */
static void summary_findings(page *p, const ncs_results *r, double y)
{
    text(p, ST_HEAD, 5, y, "Findings: electrodiagnostic criteria met (not a diagnosis)");
    y -= 2.0;
    for (int k = 0; k < NCS_CRIT__COUNT; k++) {
        if (!r->evaluated[k] || !r->summary[k])
            continue;
        y = wrapped(p, ST_TEXT, 6, y, 1.7, 118, r->summary[k]);
        for (size_t i = 0; i < r->n_nerves && y > 4; i++) {
            const ncs_nerve_result *nr = &r->nerves[i];
            for (size_t g = 0; g < nr->n_segments && y > 4; g++)
                y = summary_segment_findings(p, nr, &nr->segments[g], k, y);
            y = summary_nerve_findings(p, nr, k, y);
        }
        y -= 0.8;
    }
}

static void summary_page(FILE *o, const ncs_results *r)
{
    page p;
    page_open(&p, o, 1);
    /* 1. the study, and the warnings that qualify everything below */
    double y = study_header(&p, r, "Summary");
    y = summary_warnings(&p, r, y);
    /* 2. the table, a row per site */
    y = summary_table(&p, r, y);
    /* 3. the findings in the room the table left */
    summary_findings(&p, r, y);
    /* 4. the footer: the report states criteria met, not a diagnosis */
    text(&p, ST_DIM, 5, 2.0, "Generated by ncs %s. The findings state which published "
                             "criteria the measurements meet; the diagnosis is the clinician's.",
         NCS_VERSION);
    /* 5. draw: the page is text only */
    fprintf(o, "set multiplot\n");
    page_text_layer(&p);
    fprintf(o, "unset multiplot\n");
}

/* ---- a nerve page -------------------------------------------------------- */

/* screen fractions of the traces layer */
#define TR_L 0.20
#define TR_R 0.80
#define TR_B 0.34
#define TR_T 0.88

/* The frame all of a nerve's traces share: one time axis and one gain, so
 * that latencies and amplitudes compare by eye from site to site. */
typedef struct {
    double t_beg, t_end, span; /* the time axis, ms */
    double a_max, p_max;       /* the largest negative and positive excursions, mV */
    double spacing;            /* between two traces' baselines, mV */
    double y_top, y_bot;       /* the y axis, mV */
    double bar_mv, bar_ms;     /* the scale bars' lengths */
    double bx, by;             /* and their corner (ms, mV) */
} frame;

/* The temperature and the reference values the nerve is judged against. */
static void reference_line(char *line, size_t size, const ncs_nerve_result *nr)
{
    int n = 0;
    line[0] = '\0';
    if (isfinite(nr->def->temperature_c))
        n += snprintf(line, size, "Temperature %.1f C    ", nr->def->temperature_c);
    if (nr->norm) {
        const ncs_norm *nm = nr->norm;
        char a[16], d[16], c[16];
        snprintf(line + n, size - (size_t)n,
                 "Normal (%s): amplitude >= %s mV, distal latency <= %s ms, CV >= %s m/s",
                 nm->muscle[0] ? nm->muscle : nm->nerve, fmtv(a, sizeof a, nm->amp_lln_mv, 1),
                 fmtv(d, sizeof d, nm->dml_uln_ms, 1), fmtv(c, sizeof c, nm->cv_lln_m_s, 0));
    } else {
        snprintf(line + n, size - (size_t)n, "No reference values for this nerve");
    }
}

static void nerve_header(page *p, const ncs_results *r, const ncs_nerve_result *nr, int number)
{
    text(p, ST_TITLE, 5, 96.5, "%s%s%s%s", nr->def->id, nr->def->muscle ? "  (" : "",
         nr->def->muscle ? nr->def->muscle : "", nr->def->muscle ? ")" : "");
    char who[100];
    text(p, ST_DIM, 5, 94.4, "Study %s%s%s   page %d", r->study->id,
         r->study->patient ? "   Patient " : "",
         r->study->patient ? cut_utf8(who, sizeof who, r->study->patient) : "", number);
    double y = 92.2;
    char line[600];
    reference_line(line, sizeof line, nr);
    text(p, ST_TEXT, 5, y, "%s", line);
    if (nr->low_temperature)
        text(p, ST_WARN, 5, y - 2.0, "Low temperature: slowing may be from cold "
                                     "(no correction applied)");
    if (nr->def->note)
        text(p, ST_DIM, 5, y - (nr->low_temperature ? 4.0 : 2.0), "Note: %s", nr->def->note);
}

/* Where the time axis ends: a margin past the latest response, but not past
 * the recorded sweep, on a 5 ms step. */
static double time_axis_end(const ncs_nerve_result *nr)
{
    double t_end = 10.0;
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        double e = isfinite(sr->m.end_ms) ? sr->m.end_ms
                   : isfinite(sr->m.peak_ms) ? sr->m.peak_ms + 5.0 : 0.0;
        if (e + 8.0 > t_end)
            t_end = e + 8.0;
    }
    double sweep_end = 0.0;
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        if (sr->trace && sr->n_points)
            sweep_end = fmax(sweep_end, sr->sweep_end_ms);
    }
    if (sweep_end > 0 && t_end > sweep_end)
        t_end = sweep_end;
    return ceil(t_end / 5.0) * 5.0;
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

static void frame_of(const ncs_nerve_result *nr, frame *f)
{
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
    /* the scale bars sit in the top right corner, late in the sweep and above
     * the distal trace, where a CMAP leaves the page empty */
    f->bx = f->t_end - 0.05 * f->span - f->bar_ms;
    f->by = f->y_top - 0.04 * (f->y_top - f->y_bot) - f->bar_mv;
}

/* The baseline of trace j (the distal one at 0), mV. */
static double baseline(const frame *f, size_t j)
{
    return -(double)j * f->spacing;
}

/* Page units of a point of the traces layer. */
static double screen_x(const frame *f, double t_ms)
{
    return 100.0 * (TR_L + (t_ms - f->t_beg) / f->span * (TR_R - TR_L));
}

static double screen_y(const frame *f, double mv)
{
    return 100.0 * (TR_B + (mv - f->y_bot) / (f->y_top - f->y_bot) * (TR_T - TR_B));
}

/* ---- what of a trace is kept for the page ------------------------------- */

/* A page's time axis starts at the stimulus and is at least
 * KEEP_MIN_AXIS_MS long. A stretch kept is 1/KEEP_PER_AXIS of the time since
 * the stimulus (of KEEP_MIN_AXIS_MS before that), so any axis holds at least
 * KEEP_PER_AXIS of them: twice what a page draws (a trace with more than
 * DRAW_MAX points on the axis is drawn as the lowest and highest points of
 * DRAW_BUCKETS equal stretches of time). */
#define KEEP_MIN_AXIS_MS 5.0
#define KEEP_PER_AXIS 3000.0
#define DRAW_MAX 3000
#define DRAW_BUCKETS 1500

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

ncs_status ncs_report_keep_trace(ncs_site_result *sr, const double *mv, size_t n, double fs_hz,
                                 double t0_ms)
{
    double dt = 1000.0 / fs_hz;
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
    sr->trace = shrunk ? shrunk : p;
    sr->n_points = k;
    sr->sweep_end_ms = n ? t0_ms + (double)(n - 1) * dt : t0_ms;
    return NCS_OK;
}

/* A kept point of a trace: time, and the value drawn negative up. */
static void trace_point(FILE *o, const ncs_trace_point *q, double off)
{
    fprintf(o, "%.4f\t%.5f\n", q->t_ms, off - q->mv);
}

/* Points a..e-1's lowest and highest, in time order. */
static void bucket_points(FILE *o, const ncs_trace_point *p, size_t a, size_t e, double off)
{
    size_t lo = a, hi = a;
    for (size_t k = a; k < e; k++) {
        if (p[k].mv < p[lo].mv)
            lo = k;
        if (p[k].mv > p[hi].mv)
            hi = k;
    }
    trace_point(o, &p[lo < hi ? lo : hi], off);
    if (lo != hi)
        trace_point(o, &p[lo < hi ? hi : lo], off);
}

/* A trace's points on the time axis; at most ~DRAW_MAX of them: past that,
 * the lowest and highest of each of DRAW_BUCKETS equal stretches of time
 * keep the peaks a plain decimation could miss. */
static void trace_points(FILE *o, const ncs_site_result *sr, const frame *f, double off)
{
    const ncs_trace_point *p = sr->trace;
    size_t a = 0, b;
    while (a < sr->n_points && p[a].t_ms < f->t_beg)
        a++;
    for (b = a; b < sr->n_points && p[b].t_ms <= f->t_end;)
        b++;
    if (b - a <= DRAW_MAX) {
        for (size_t k = a; k < b; k++)
            trace_point(o, &p[k], off);
        return;
    }
    double t_a = p[a].t_ms, width = (p[b - 1].t_ms - t_a) / DRAW_BUCKETS;
    for (size_t k = a, e; k < b; k = e) {
        double until = t_a + width * (floor((p[k].t_ms - t_a) / width) + 1.0);
        for (e = k + 1; e < b && p[e].t_ms < until;)
            e++;
        bucket_points(o, p, k, e, off);
    }
}

/* The traces: time, offset - value (negative up), a data set per site. */
static void traces_data(FILE *o, const ncs_nerve_result *nr, const frame *f, int number)
{
    fprintf(o, "$N%dT << EOD\n", number);
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        if (!sr->trace)
            continue;
        trace_points(o, sr, f, baseline(f, j));
        fprintf(o, "\n\n");
    }
    fprintf(o, "EOD\n");
}

/* The shaded negative-phase area: time, baseline, trace. With no area at
 * any site, one point of no area: gnuplot warns about an empty data set. */
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
            fprintf(o, "%.4f\t%.5f\t%.5f\n", q->t_ms, off, off - q->mv);
            n_area++;
        }
        fprintf(o, "\n\n");
    }
    if (!n_area)
        fprintf(o, "0\t0\t0\n");
    fprintf(o, "EOD\n");
}

/* The markers, one data set per kind (onset, negative peak, end) so each
 * is drawn in its own style; the plot picks them by index, so a kind no
 * site has still takes its place, as one NaN point. */
static void marker_data(FILE *o, const ncs_nerve_result *nr, const frame *f, int number)
{
    fprintf(o, "$N%dM << EOD\n", number);
    for (int kind = 0; kind < 3; kind++) {
        int any = 0;
        for (size_t j = 0; j < nr->n_sites; j++) {
            const ncs_markers *m = &nr->sites[j].m;
            double off = baseline(f, j);
            double t = kind == 0 ? m->onset_ms : kind == 1 ? m->peak_ms : m->end_ms;
            if (!isfinite(t))
                continue;
            double v = kind == 1 && isfinite(m->amp_mv) ? off + m->amp_mv : off;
            fprintf(o, "%.4f\t%.5f\n", t, v);
            any = 1;
        }
        if (!any)
            fprintf(o, "NaN\tNaN\n");
        fprintf(o, "\n\n");
    }
    fprintf(o, "EOD\n");
}

/* The scale bars: one polyline, the mV bar down into the ms bar. */
static void scale_bar_data(FILE *o, const frame *f, int number)
{
    fprintf(o, "$N%dB << EOD\n%.4f\t%.5f\n%.4f\t%.5f\n%.4f\t%.5f\n\nEOD\n", number, f->bx,
            f->by + f->bar_mv, f->bx, f->by, f->bx + f->bar_ms, f->by);
}

/* A bracket at the end of the sweep joining the two traces of each marked
 * segment (x, y pairs, a blank line between brackets); with none, a NaN
 * point, as gnuplot warns about an empty data set. */
static void bracket_data(FILE *o, const ncs_nerve_result *nr, const frame *f, int number)
{
    fprintf(o, "$N%dK << EOD\n", number);
    int n_brk = 0;
    for (size_t k = 0; k < nr->n_segments; k++) {
        const ncs_segment *g = &nr->segments[k];
        if (!block_marked(g->block))
            continue;
        size_t ja, jb;
        segment_sites(nr, g, &ja, &jb);
        double xa = f->t_end - 0.005 * f->span, xb = f->t_end - 0.02 * f->span;
        double ya = baseline(f, ja), yb = baseline(f, jb);
        fprintf(o, "%.4f\t%.5f\n%.4f\t%.5f\n%.4f\t%.5f\n%.4f\t%.5f\n\n", xb, ya, xa, ya, xa,
                yb, xb, yb);
        n_brk++;
    }
    if (!n_brk)
        fprintf(o, "NaN\tNaN\n");
    fprintf(o, "EOD\n");
}

/* Beside each trace: its site and values at the left, its flags at the
 * right. */
static void site_labels(page *p, const ncs_nerve_result *nr, const frame *f)
{
    char b1[32], b2[32];
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        const ncs_markers *m = &sr->m;
        double ty = screen_y(f, baseline(f, j));
        text(p, ST_SITE, 2.5, ty + 1.0, "%s%s", sr->def->name,
             sr->def->exclude ? " (excluded)" : "");
        if (sr->def->exclude)
            continue;
        if (!m->response) {
            text(p, ST_WARN, 2.5, ty - 0.9, "no response");
        } else {
            int dml = sr->abnormal & NCS_ABN_DML_PROLONGED, low = sr->abnormal & NCS_ABN_AMP_LOW;
            text(p, dml ? ST_ABN : ST_TEXT, 2.5, ty - 1.0, "%s ms%s",
                 fmtv(b1, sizeof b1, m->onset_ms, 2), dml ? " *" : "");
            text(p, low ? ST_ABN : ST_TEXT, 11.0, ty - 1.0, "%s mV%s",
                 fmtv(b2, sizeof b2, m->amp_mv, 2), low ? " *" : "");
        }
        char fl[256];
        flags_string(fl, sizeof fl, m->flags & ~(unsigned)NCS_FLAG_EXCLUDED);
        if (fl[0])
            text(p, ST_WARN, 100.0 * TR_R + 1.0, ty - 0.9, "%s", fl);
    }
}

/* At the right, between the two traces of each marked segment: its block
 * category and the changes that made it. */
static void block_labels(page *p, const ncs_nerve_result *nr, const frame *f)
{
    char b1[32], b2[32];
    for (size_t k = 0; k < nr->n_segments; k++) {
        const ncs_segment *g = &nr->segments[k];
        if (!block_marked(g->block))
            continue;
        size_t ja, jb;
        segment_sites(nr, g, &ja, &jb);
        double ym = 0.5 * (screen_y(f, baseline(f, ja)) + screen_y(f, baseline(f, jb)));
        text(p, ST_BLOCK, 100.0 * TR_R + 1.0, ym + 0.8, "%s", block_label(g->block));
        text(p, ST_ABN, 100.0 * TR_R + 1.0, ym - 1.0, "area -%s %%, dur +%s %%",
             fmtv(b1, sizeof b1, g->area_drop_pct, 0), fmtv(b2, sizeof b2, g->dur_increase_pct, 0));
    }
}

/* The scale bars' lengths beside them, and how to read the traces above. */
static void traces_key(page *p, const frame *f)
{
    double sx = screen_x(f, f->bx);
    double sy = screen_y(f, f->by);
    double sy2 = screen_y(f, f->by + 0.5 * f->bar_mv);
    text(p, ST_TEXT, sx - 6.5, sy2, "%g mV", f->bar_mv);
    text(p, ST_TEXT, sx + 0.5, sy - 1.4, "%g ms", f->bar_ms);
    text(p, ST_DIM, 100.0 * TR_L, 100.0 * TR_T + 1.5,
         "negative up; one gain for all traces; onset (triangle), negative peak (dot), "
         "end (bar); shaded: negative-phase area");
}

/* The segment table's columns: where, and the heading. */
enum { GC_SEGMENT, GC_DIST, GC_CV, GC_AMP_DROP, GC_AREA_DROP, GC_DUR_INC, GC_BLOCK, GC__N };

static const struct {
    double x;
    const char *head;
} seg_col[GC__N] = {
    [GC_SEGMENT] = {5, "segment"},        [GC_DIST] = {30, "dist mm"},
    [GC_CV] = {39, "CV m/s"},             [GC_AMP_DROP] = {48, "amp drop %"},
    [GC_AREA_DROP] = {58, "area drop %"}, [GC_DUR_INC] = {68, "dur inc %"},
    [GC_BLOCK] = {78, "block"},
};

static void segment_row(page *p, const ncs_segment *g, double ty)
{
    char b[32];
    int slow = g->abnormal & NCS_ABN_CV_SLOW, blk = block_marked(g->block);
    const char *name = ncs_block_name(g->block);
    text(p, ST_TEXT, seg_col[GC_SEGMENT].x, ty, "%s-%s%s", g->from, g->to,
         g->entrapment_site == 1 ? "  (entrapment site)" : "");
    text(p, ST_TEXT, seg_col[GC_DIST].x, ty, "%.0f", g->distance_mm);
    text(p, slow ? ST_ABN : ST_TEXT, seg_col[GC_CV].x, ty, "%s%s",
         fmtv(b, sizeof b, g->cv_m_s, 1), slow ? " *" : "");
    text(p, ST_TEXT, seg_col[GC_AMP_DROP].x, ty, "%s", fmtv(b, sizeof b, g->amp_drop_pct, 1));
    text(p, blk ? ST_ABN : ST_TEXT, seg_col[GC_AREA_DROP].x, ty, "%s",
         fmtv(b, sizeof b, g->area_drop_pct, 1));
    text(p, ST_TEXT, seg_col[GC_DUR_INC].x, ty, "%s", fmtv(b, sizeof b, g->dur_increase_pct, 1));
    text(p, blk ? ST_ABN : ST_TEXT, seg_col[GC_BLOCK].x, ty, "%s", name ? name : "");
}

/* The segment table under the traces, as far down the page as it goes;
 * returns the y below it. */
static double segment_table(page *p, const ncs_nerve_result *nr)
{
    double ty = 100.0 * TR_B - 6.0;
    for (int c = 0; c < GC__N; c++)
        text(p, ST_HEAD, seg_col[c].x, ty, "%s", seg_col[c].head);
    ty -= 2.0;
    for (size_t k = 0; k < nr->n_segments; k++) {
        segment_row(p, &nr->segments[k], ty);
        ty -= 1.8;
        if (ty < 4)
            break;
    }
    return ty;
}

/* The segments' findings, every criteria set's, in the room left under the
 * table. */
static void segment_findings(page *p, const ncs_nerve_result *nr, double ty)
{
    if (!(ty > 6))
        return;
    ty -= 1.0;
    for (size_t k = 0; k < nr->n_segments && ty > 4; k++) {
        const ncs_segment *g = &nr->segments[k];
        for (size_t j = 0; j < g->findings.count && ty > 4; j++) {
            const ncs_finding *f = &g->findings.items[j];
            char buf[1400], why[NCS_MAX_BECAUSE * (NCS_BECAUSE_LEN + 4)];
            snprintf(buf, sizeof buf, "%s-%s %s %s%s: %s", g->from, g->to,
                     ncs_criteria_name(f->criteria), f->code, f->counts ? "" : " (not counted)",
                     ncs_finding_reasons(f, "; ", why, sizeof why));
            ty = wrapped(p, ST_SMALL, 5, ty, 1.5, 130, buf);
        }
    }
}

/* The plot of the traces layer over the datablocks $N<number>[TAMBK]. */
static void traces_layer(FILE *o, const frame *f, int number)
{
    fprintf(o, "set lmargin at screen %.3f; set rmargin at screen %.3f\n"
               "set bmargin at screen %.3f; set tmargin at screen %.3f\n"
               "set xrange [%.4f:%.4f]; set yrange [%.5f:%.5f]\n"
               "set border 1 lc rgb \"#808080\"; set xtics nomirror out scale 0.5 font \"" FONT ",7\"\n"
               "set mxtics 5; unset ytics; unset key\n"
               "set xlabel \"ms from the stimulus\" font \"" FONT ",7\" offset 0,0.5\n"
               "plot $N%dA using 1:2:3 with filledcurves fc rgb \"#a8c8f0\" fs solid 0.6 noborder notitle, \\\n"
               "     $N%dT using 1:2 with lines lw 1.2 lc rgb \"#0a2a60\" notitle, \\\n"
               "     $N%dM index 0 using 1:2 with points pt 9 ps 0.9 lc rgb \"#008000\" notitle, \\\n"
               "     $N%dM index 1 using 1:2 with points pt 7 ps 0.6 lc rgb \"#c00000\" notitle, \\\n"
               "     $N%dM index 2 using 1:2:(0):(%.5f) with vectors nohead lw 1.5 lc rgb \"#606060\" notitle, \\\n"
               "     $N%dB using 1:2 with lines lw 2 lc rgb \"#000000\" notitle, \\\n"
               "     $N%dK using 1:2 with lines lw 2.5 lc rgb \"#c00000\" notitle\n",
            TR_L, TR_R, TR_B, TR_T, f->t_beg, f->t_end, f->y_bot, f->y_top, number, number,
            number, number, number, 0.06 * (f->y_top - f->y_bot), number, number);
}

static void nerve_page(FILE *o, const ncs_results *r, size_t ni, int number)
{
    const ncs_nerve_result *nr = &r->nerves[ni];
    page p;
    page_open(&p, o, number);
    /* 1. the heading: the nerve, its temperature and reference values */
    nerve_header(&p, r, nr, number);
    /* 2. one time axis and one gain for all the traces */
    frame f;
    frame_of(nr, &f);
    /* 3. the traces layer's data, as datablocks ahead of the plot that
     *    draws them */
    traces_data(o, nr, &f, number);
    area_data(o, nr, &f, number);
    marker_data(o, nr, &f, number);
    scale_bar_data(o, &f, number);
    bracket_data(o, nr, &f, number);
    /* 4. the text beside the traces */
    site_labels(&p, nr, &f);
    block_labels(&p, nr, &f);
    traces_key(&p, &f);
    /* 5. under the traces: the segment table, then its findings */
    segment_findings(&p, nr, segment_table(&p, nr));
    /* 6. draw: the text layer, then the traces layer on top */
    fprintf(o, "set multiplot\n");
    page_text_layer(&p);
    traces_layer(o, &f, number);
    fprintf(o, "unset multiplot\nunset xlabel; unset border; unset xtics; unset mxtics\n");
}

/* ---- the whole script ---------------------------------------------------- */

size_t ncs_report_pages(const ncs_results *r)
{
    return r->n_nerves + 1;
}

ncs_status ncs_report_script(const ncs_results *r, ncs_report_format fmt,
                             const char *const *page_files, FILE *o)
{
    const char *term = fmt == NCS_REPORT_PDF   ? "pdfcairo size 21cm,29.7cm"
                       : fmt == NCS_REPORT_PNG ? "pngcairo size 1240,1754"
                                               : "svg size 1240,1754 dynamic";
    fprintf(o, "# ncs %s report\nreset\nset encoding utf8\n", NCS_VERSION);
    fprintf(o, "set terminal %s font \"" FONT ",8\" enhanced\n", term);
    fprintf(o, "set datafile separator \"\\t\"\n");
    fprintf(o, "set termoption noenhanced\n");
    size_t pages = ncs_report_pages(r);
    for (size_t pg = 0; pg < pages; pg++) {
        if (pg == 0 || fmt != NCS_REPORT_PDF)
            fprintf(o, "set output \"%s\"\n", page_files[fmt == NCS_REPORT_PDF ? 0 : pg]);
        if (fmt != NCS_REPORT_PDF)
            fprintf(o, "set object 1 rectangle from screen 0,0 to screen 1,1 behind "
                       "fillcolor rgb \"#ffffff\" fillstyle solid noborder\n");
        if (pg == 0)
            summary_page(o, r);
        else
            nerve_page(o, r, pg - 1, (int)pg + 1);
    }
    fprintf(o, "unset output\nexit\n");
    return ferror(o) ? NCS_ERR_OUTPUT : NCS_OK;
}
