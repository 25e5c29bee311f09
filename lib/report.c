/* report.c — the clinician's report (docs/outputs.md) as a gnuplot script:
 * the page every page is built on (its text, lines and header), the
 * summary page, and the script around the pages. A nerve's page is
 * report_nerve.c's.
 *
 * Safety: no text from study.ini ever enters the command stream. Every piece
 * of text is a field of a tab-separated datablock drawn `with labels
 * noenhanced`; gnuplot does not evaluate data, so backquotes, quotes,
 * system(...) and @macros show as text, and ncs_report_put_text writes the
 * field so that gnuplot prints it as it was written. The only strings in
 * the commands are our own (fonts, colours, the output file's base name,
 * which we choose). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

#define FONT "Sans"

/* The text styles; every body text is 9 points or more. */
static const struct {
    const char *font;  /* font family and weight */
    double size;       /* points */
    const char *color; /* rgb */
    const char *align;
} styles[ST__N] = {
    [ST_TITLE] = {FONT "-Bold", 14, "#000000", "left"},
    [ST_HEAD] = {FONT "-Bold", 9, "#000000", "left"},
    [ST_SITE] = {FONT "-Bold", 10, "#0a2a60", "left"},
    [ST_TEXT] = {FONT, 9, "#000000", "left"},
    [ST_SMALL] = {FONT, 8, "#000000", "left"},
    [ST_ABN] = {FONT "-Bold", 9, "#c00000", "left"},
    [ST_WARN] = {FONT "-Bold", 9, "#b05000", "left"},
    [ST_BLOCK] = {FONT "-Bold", 10, "#c00000", "left"},
    [ST_DIM] = {FONT, 8, "#505050", "left"},
    [ST_RIGHT] = {FONT, 9, "#000000", "right"},
    [ST_MANUAL] = {FONT "-Bold", 9, "#8000a0", "left"},
    [ST_FLAG] = {FONT, 8.5, "#b05000", "left"},
};

static const struct {
    double width;
    const char *color;
} line_styles[LN__N] = {
    [LN_RULE] = {0.6, "#909090"},
    [LN_BOX] = {1.0, "#000000"},
    [LN_BAR] = {2.0, "#000000"},
    [LN_BLOCK] = {2.5, "#c00000"},
};

/* The papers: points (PDF) and pixels at 150 per inch (PNG, SVG). */
static const struct {
    double w_pt, h_pt;
    const char *pdf, *px;
} papers[] = {
    [NCS_PAPER_A4] = {595.3, 841.9, "21cm,29.7cm", "1240,1754"},
    [NCS_PAPER_LETTER] = {612.0, 792.0, "8.5in,11in", "1275,1650"},
};

void ncs_rpage_open(ncs_rpage *p, FILE *out, ncs_report_format fmt, ncs_paper paper, int number,
                    int pages)
{
    memset(p, 0, sizeof *p);
    p->out = out;
    p->fmt = fmt;
    p->page = number;
    p->pages = pages;
    p->w_pt = papers[paper].w_pt;
    p->h_pt = papers[paper].h_pt;
    for (int s = 0; s < ST__N; s++)
        if (!(p->tf[s] = open_memstream(&p->txt[s], &p->txt_len[s])))
            p->failed = 1;
    for (int k = 0; k < LN__N; k++)
        if (!(p->lf[k] = open_memstream(&p->ln[k], &p->ln_len[k])))
            p->failed = 1;
}

double ncs_rpage_dy(const ncs_rpage *p, double pt)
{
    return 100.0 * pt / p->h_pt;
}

double ncs_rpage_dx(const ncs_rpage *p, double pt)
{
    return 100.0 * pt / p->w_pt;
}

/* The length of the well-formed UTF-8 sequence at s that XML allows (not
 * a C1 control, a surrogate, U+FFFE or U+FFFF), else 0. */
static size_t utf8_ok(const unsigned char *s)
{
    unsigned c = s[0];
    size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90)
        || (c == 0xf4 && s[1] > 0x8f) || (c == 0xc2 && s[1] < 0xa0)
        || (c == 0xef && s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf)))
        return 0;
    return len;
}

void ncs_report_put_text(FILE *f, const char *s, ncs_report_format fmt)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned c = *u;
        size_t len = c < 0x80 ? 1 : utf8_ok(u);
        if (c == '\t' || c == '\n' || c == '\r')
            fputc(' ', f);
        else if (c < 0x20 || c == 0x7f || len == 0)
            fputs("\xef\xbf\xbd", f); /* U+FFFD */
        else if (c == '\\')
            fputs("\\\\", f);
        else if (c == ']' && u[1] == ']' && u[2] == '>' && fmt == NCS_REPORT_SVG) {
            fputs("]]\xe2\x81\xa0", f); /* U+2060 before the '>' */
            len = 2;
        } else
            fwrite(u, 1, len, f);
        u += len ? len : 1;
    }
}

void ncs_rtext(ncs_rpage *p, ncs_rstyle st, double x, double y, const char *fmt, ...)
{
    if (p->failed || !p->tf[st])
        return;
    char buf[1400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(p->tf[st], "%.3f\t%.3f\t", x, y);
    ncs_report_put_text(p->tf[st], buf, p->fmt);
    fputc('\n', p->tf[st]);
    p->n_txt[st]++;
}

void ncs_rline(ncs_rpage *p, ncs_rline_kind kind, double x1, double y1, double x2, double y2)
{
    if (p->failed || !p->lf[kind])
        return;
    fprintf(p->lf[kind], "%.3f\t%.3f\t%.3f\t%.3f\n", x1, y1, x2 - x1, y2 - y1);
    p->n_ln[kind]++;
}

/* The bytes of s that fit `chars` characters (UTF-8 continuation bytes
 * take no room). */
static size_t bytes_of_chars(const char *s, size_t len, size_t chars)
{
    size_t i = 0, n = 0;
    while (i < len && (n < chars || ((unsigned char)s[i] & 0xc0) == 0x80)) {
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
        i++;
    }
    return i;
}

double ncs_rwrapped(ncs_rpage *p, ncs_rstyle st, double x, double y, double dy, double width,
                    double y_min, const char *s)
{
    /* an average character of a sans-serif face is a little over half
     * its size wide */
    double ch = ncs_rpage_dx(p, 0.62 * styles[st].size);
    size_t chars = width / ch > 8 ? (size_t)(width / ch) : 8;
    size_t len = strlen(s), start = 0;
    while (start < len) {
        size_t end = start + bytes_of_chars(s + start, len - start, chars);
        if (end < len) {
            size_t sp = end;
            while (sp > start && s[sp] != ' ')
                sp--;
            if (sp > start)
                end = sp;
        }
        if (y - dy < y_min && end < len) {
            ncs_rtext(p, st, x, y, "%.*s ...", (int)(end - start), s + start);
            return y - dy;
        }
        ncs_rtext(p, st, x, y, "%.*s", (int)(end - start), s + start);
        y -= dy;
        start = end;
        while (start < len && s[start] == ' ')
            start++;
    }
    return y;
}

char *ncs_rreasons(const ncs_finding *f, char *buf, size_t n)
{
    char why[NCS_MAX_BECAUSE * (NCS_BECAUSE_LEN + 4)];
    const char *s = ncs_finding_reasons(f, "; ", why, sizeof why);
    size_t k = 0;
    for (; *s && k + 4 < n; s++) {
        if ((s[0] == '>' || s[0] == '<') && s[1] == '=') {
            memcpy(buf + k, s[0] == '>' ? "\u2265" : "\u2264", 3);
            k += 3;
            s++;
        } else {
            buf[k++] = *s;
        }
    }
    if (n)
        buf[k < n ? k : n - 1] = '\0';
    return buf;
}

/* The header's facts: patient, study, date, temperature. */
static void header_line(char *line, size_t size, const ncs_study *st)
{
    char t[32] = "not recorded";
    if (isfinite(st->temperature_c))
        snprintf(t, sizeof t, "%.1f \u00b0C", st->temperature_c);
    snprintf(line, size, "Patient: %s     Study: %s     Date: %s     Temperature: %s",
             st->patient ? st->patient : "not given", st->id, st->date ? st->date : "not given",
             t);
}

double ncs_rpage_header(ncs_rpage *p, const ncs_results *r, const char *title)
{
    char line[1200];
    header_line(line, sizeof line, r->study);
    return ncs_rpage_header_line(p, line, title);
}

double ncs_rpage_header_line(ncs_rpage *p, const char *line, const char *title)
{
    double y = 100.0 - ncs_rpage_dy(p, 30);
    ncs_rtext(p, ST_TITLE, 3, y, "%s", title);
    ncs_rtext(p, ST_RIGHT, 97, y, "page %d of %d", p->page, p->pages);
    y -= ncs_rpage_dy(p, 17);
    y = ncs_rwrapped(p, ST_TEXT, 3, y, ncs_rpage_dy(p, 12), 94, 80, line);
    y += ncs_rpage_dy(p, 12) - ncs_rpage_dy(p, 7);
    ncs_rline(p, LN_RULE, 3, y, 97, y);
    return y - ncs_rpage_dy(p, 14);
}

void ncs_rpage_footer(ncs_rpage *p)
{
    double y = ncs_rpage_dy(p, 20);
    ncs_rline(p, LN_RULE, 3, y + ncs_rpage_dy(p, 8), 97, y + ncs_rpage_dy(p, 8));
    ncs_rtext(p, ST_DIM, 3, y, "ncs %s: criteria met, not a diagnosis; the diagnosis is the "
                               "clinician's.", NCS_VERSION);
    ncs_rtext(p, ST_RIGHT, 97, y, "page %d of %d", p->page, p->pages);
}

/* A memory stream's text, closed. */
static void close_stream(ncs_rpage *p, FILE **f)
{
    if (*f && fclose(*f) != 0)
        p->failed = 1;
    *f = NULL;
}

void ncs_rpage_draw(ncs_rpage *p)
{
    FILE *o = p->out;
    for (int s = 0; s < ST__N; s++)
        close_stream(p, &p->tf[s]);
    for (int k = 0; k < LN__N; k++)
        close_stream(p, &p->lf[k]);
    for (int s = 0; s < ST__N; s++)
        if (p->n_txt[s])
            fprintf(o, "$P%dS%d << EOD\n%sEOD\n", p->page, s, p->txt[s]);
    for (int k = 0; k < LN__N; k++)
        if (p->n_ln[k])
            fprintf(o, "$P%dL%d << EOD\n%sEOD\n", p->page, k, p->ln[k]);
    fprintf(o, "set lmargin at screen 0; set rmargin at screen 1\n"
               "set bmargin at screen 0; set tmargin at screen 1\n"
               "unset border; unset tics; unset xlabel; unset ylabel; unset key\n"
               "set xrange [0:100]; set yrange [0:100]\n");
    const char *sep = "plot";
    for (int k = 0; k < LN__N; k++) {
        if (!p->n_ln[k])
            continue;
        fprintf(o, "%s $P%dL%d using 1:2:3:4 with vectors nohead lw %.1f lc rgb \"%s\" notitle",
                sep, p->page, k, line_styles[k].width, line_styles[k].color);
        sep = ", \\\n    ";
    }
    for (int s = 0; s < ST__N; s++) {
        if (!p->n_txt[s])
            continue;
        fprintf(o, "%s $P%dS%d using 1:2:3 with labels %s noenhanced font \"%s,%.1f\" "
                   "textcolor rgb \"%s\" notitle",
                sep, p->page, s, styles[s].align, styles[s].font, styles[s].size,
                styles[s].color);
        sep = ", \\\n    ";
    }
    if (strcmp(sep, "plot") == 0)
        fprintf(o, "plot NaN notitle");
    fputc('\n', o);
    for (int s = 0; s < ST__N; s++) {
        free(p->txt[s]);
        p->txt[s] = NULL;
    }
    for (int k = 0; k < LN__N; k++) {
        free(p->ln[k]);
        p->ln[k] = NULL;
    }
}

/* ---- numbers ------------------------------------------------------------- */

const char *ncs_rnum(char *buf, size_t n, double v, int decimals)
{
    if (isfinite(v))
        snprintf(buf, n, "%.*f", decimals, v);
    else
        snprintf(buf, n, "n/a");
    return buf;
}

const char *ncs_rnum_pm(char *buf, size_t n, double v, double u, int decimals)
{
    if (isfinite(v) && isfinite(u))
        snprintf(buf, n, "%.*f \u00b1 %.*f", decimals, v, decimals, u);
    else if (isfinite(v)) /* (a value whose interval is unknown says so) */
        snprintf(buf, n, "%.*f \u00b1 ?", decimals, v);
    else
        ncs_rnum(buf, n, v, decimals);
    return buf;
}

const char *ncs_rdrop(char *buf, size_t n, double v, double u, int decimals)
{
    double least = ncs_drop_least(v, u);
    if (!isfinite(least))
        return ncs_rnum(buf, n, v, decimals);
    char x[32];
    double scale = pow(10.0, decimals); /* (a least value rounds down) */
    if (least > 0)
        snprintf(buf, n, "\u2265 %s", ncs_rnum(x, sizeof x, floor(least * scale) / scale, decimals));
    else
        snprintf(buf, n, "n/a");
    return buf;
}

const char *ncs_rnum_signed(char *buf, size_t n, double v, int decimals)
{
    if (!isfinite(v))
        return ncs_rnum(buf, n, v, decimals);
    char digits[32];
    snprintf(digits, sizeof digits, "%.*f", decimals, fabs(v));
    /* what rounds to zero has no sign */
    int zero = strspn(digits, "0.") == strlen(digits);
    snprintf(buf, n, "%s%s", zero ? "" : v < 0 ? "\u2212" : "+", digits);
    return buf;
}

const char *ncs_rblock_label(ncs_block b)
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

int ncs_rblock_marked(ncs_block b)
{
    return b == NCS_BLOCK_DEFINITE || b == NCS_BLOCK_PROBABLE || b == NCS_BLOCK_CB
           || b == NCS_BLOCK_ENTRAPMENT || b == NCS_BLOCK_ABSENT_PROXIMAL;
}

/* ---- the summary page ---------------------------------------------------- */

/* Where the summary page's parts end: the impression box takes the foot. */
#define SUM_BOX_TOP 24.0

static double study_details(ncs_rpage *p, const ncs_results *r, double y)
{
    const ncs_study *st = r->study;
    char line[512];
    int n = snprintf(line, sizeof line, "Criteria: %s%s     Normative values: %s",
                     ncs_criteria_name(r->options.primary),
                     r->options.all_criteria ? " (and all sets)" : "", r->norms.origin);
    if (isfinite(st->age_years))
        n += snprintf(line + n, sizeof line - (size_t)n, "     Age: %.0f y", st->age_years);
    if (isfinite(st->height_cm))
        snprintf(line + n, sizeof line - (size_t)n, "     Height: %.0f cm", st->height_cm);
    ncs_rtext(p, ST_TEXT, 3, y, "%s", line);
    return y - ncs_rpage_dy(p, 14);
}

/* The warnings that say an input may be wrong (a value printed below then
 * rests on a slip), each with what to check: the summary page names the
 * sites, as the terminal does. */
static const struct {
    const char *code, *what;
} input_checks[] = {
    {"stim-time", "Stimulus time: the artefact lies off the declared stim_ms "
                  "(missing or wrong?) at"},
    {"implausible-distance", "Distance outside the plausible range (cm written for mm?) at"},
    {"implausible-amplitude", "Amplitude above 40 mV (\u00b5V read as mV?) at"},
    {"same-recording", "One recording filed under two sites:"},
    {"inconsistent", "Sites disagree (onset order, CV outside 10-100 m/s, or duration): "
                     "not evaluable:"},
    {"short-record", "Record cut short:"},
    {"guessed", NULL}, /* (its message says it all) */
};

/* "label: a, b, c" for the warnings of code, their places without the
 * study's id; 0 when there are none. */
static int check_line(const ncs_results *r, size_t k, char *buf, size_t n)
{
    size_t id = strlen(r->study->id), len = 0;
    int count = 0;
    if (!input_checks[k].what) {
        for (size_t i = 0; i < r->warnings.count; i++) {
            const ncs_warning *w = &r->warnings.items[i];
            if (w->code && strcmp(w->code, input_checks[k].code) == 0) {
                snprintf(buf, n, "Unconfirmed: %s", w->message);
                return 1;
            }
        }
        return 0;
    }
    len += (size_t)snprintf(buf, n, "%s", input_checks[k].what);
    for (size_t i = 0; i < r->warnings.count && len < n; i++) {
        const ncs_warning *w = &r->warnings.items[i];
        if (!w->code || strcmp(w->code, input_checks[k].code) != 0)
            continue;
        const char *at = w->where ? w->where : "";
        if (strncmp(at, r->study->id, id) == 0 && at[id] == '/')
            at += id + 1;
        len += (size_t)snprintf(buf + len, n - len, "%s %s", count++ ? "," : "", at);
    }
    return count;
}

/* What the reader must know before trusting the table: cold limbs, inputs
 * that may be wrong, and the examiner's note. */
static double summary_warnings(ncs_rpage *p, const ncs_results *r, double y)
{
    double dy = ncs_rpage_dy(p, 12);
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        if (nr->low_temperature) {
            ncs_rtext(p, ST_WARN, 3, y, "Low temperature: %s at %.1f \u00b0C (below %.0f \u00b0C): "
                                        "slowing may be from cold; no correction applied",
                      nr->def->id, nr->def->temperature_c, ncs_norm_temperature_c(nr->def->nerve));
            y -= dy;
        }
    }
    for (size_t k = 0; k < sizeof input_checks / sizeof input_checks[0]; k++) {
        char buf[1200];
        if (check_line(r, k, buf, sizeof buf))
            y = ncs_rwrapped(p, ST_WARN, 3, y, dy, 94, y - 3 * dy, buf);
    }
    if (r->study->note) {
        char buf[1200];
        snprintf(buf, sizeof buf, "Note: %s", r->study->note);
        y = ncs_rwrapped(p, ST_TEXT, 3, y, dy, 94, y - 5 * dy, buf);
    }
    return y - ncs_rpage_dy(p, 4);
}

/* The summary table's columns: where, and the two heading lines. A
 * nerve's name heads its rows. */
enum { SC_SITE, SC_ONSET, SC_AMP, SC_AREA, SC_DUR, SC_DIST, SC_SEGMENT, SC_CV, SC_AMP_DROP,
       SC_AREA_DROP, SC_DUR_INC, SC__N };

static const struct {
    double x;
    const char *head, *unit;
} sum_col[SC__N] = {
    [SC_SITE] = {3, "nerve, site", ""},   [SC_ONSET] = {17, "onset", "ms"},
    [SC_AMP] = {24, "amp", "mV"},         [SC_AREA] = {31, "area", "mV\u00b7ms"},
    [SC_DUR] = {38, "dur", "ms"},         [SC_DIST] = {44.5, "dist", "mm"},
    [SC_SEGMENT] = {50.5, "segment", ""}, [SC_CV] = {71, "CV", "m/s"},
    [SC_AMP_DROP] = {77.5, "amp", "drop %"}, [SC_AREA_DROP] = {84, "area", "drop %"},
    [SC_DUR_INC] = {90.5, "dur", "inc %"},
};

static double summary_table_head(ncs_rpage *p, double y, double dy)
{
    for (int c = 0; c < SC__N; c++) {
        ncs_rtext(p, ST_HEAD, sum_col[c].x, y, "%s", sum_col[c].head);
        ncs_rtext(p, ST_DIM, sum_col[c].x, y - dy, "%s", sum_col[c].unit);
    }
    ncs_rline(p, LN_RULE, 3, y - 1.5 * dy, 97, y - 1.5 * dy);
    return y - 2.4 * dy;
}

/* A site's own measurements; a starred value is outside the reference range. */
static void summary_site_values(ncs_rpage *p, const ncs_site_result *sr, double y)
{
    const ncs_markers *m = &sr->m;
    char b[32];
    if (!m->response && !sr->def->exclude) {
        ncs_rtext(p, ST_WARN, sum_col[SC_ONSET].x, y, "no response");
        return;
    }
    if (sr->def->exclude)
        return;
    int dml = sr->abnormal & NCS_ABN_DML_PROLONGED;
    int low = sr->abnormal & NCS_ABN_AMP_LOW;
    unsigned u = m->uncertain;
    ncs_rtext(p, dml ? ST_ABN : ST_TEXT, sum_col[SC_ONSET].x, y, "%s%s%s",
              ncs_rnum(b, sizeof b, m->onset_ms, 2), u & NCS_UNCERTAIN_ONSET ? "?" : "",
              dml ? " *" : "");
    ncs_rtext(p, low ? ST_ABN : ST_TEXT, sum_col[SC_AMP].x, y, "%s%s%s",
              ncs_rnum(b, sizeof b, m->amp_mv, 2), u & NCS_UNCERTAIN_AMP ? "?" : "",
              low ? " *" : "");
    ncs_rtext(p, ST_TEXT, sum_col[SC_AREA].x, y, "%s%s", ncs_rnum(b, sizeof b, m->neg_area_mvms, 1),
              u & NCS_UNCERTAIN_AREA ? "?" : "");
    /* (the duration runs from the onset: an uncertain onset makes it so) */
    ncs_rtext(p, ST_TEXT, sum_col[SC_DUR].x, y, "%s%s", ncs_rnum(b, sizeof b, m->neg_dur_ms, 2),
              u & NCS_UNCERTAIN_ONSET ? "?" : "");
}

/* "?" after a value whose measure is in doubt; none after "n/a". */
static const char *doubt(double v, int in_doubt)
{
    return isfinite(v) && in_doubt ? "?" : "";
}

/* The segment that ends at site j, on the site's row (the distal site has
 * none: its distance from the recording electrode instead). A block takes a
 * line of its own; returns the y of the row's last line. */
static double summary_segment_values(ncs_rpage *p, const ncs_nerve_result *nr, size_t j,
                                     double y, double dy)
{
    const ncs_site_result *sr = &nr->sites[j];
    const ncs_segment *g = ncs_segment_ending_at(nr, sr->def->name);
    char b[32];
    if (g) {
        int slow = g->abnormal & NCS_ABN_CV_SLOW, blk = ncs_rblock_marked(g->block);
        /* (a value from a measure flagged uncertain at either end) */
        unsigned u = sr->m.uncertain;
        for (size_t k = 0; k < nr->n_sites; k++)
            if (strcmp(nr->sites[k].def->name, g->from) == 0)
                u |= nr->sites[k].m.uncertain;
        ncs_rtext(p, ST_TEXT, sum_col[SC_DIST].x, y, "%.0f", g->distance_mm);
        ncs_rtext(p, ST_SMALL,
                  sum_col[SC_SEGMENT].x, y, "%s-%s", g->from, g->to);
        ncs_rtext(p, slow ? ST_ABN : ST_TEXT, sum_col[SC_CV].x, y, "%s%s%s",
                  ncs_rnum(b, sizeof b, g->cv_m_s, 1),
                  doubt(g->cv_m_s, u & NCS_UNCERTAIN_ONSET || !isfinite(g->u.cv_m_s)
                                       || g->inconsistent[0]),
                  slow ? " *" : "");
        ncs_rtext(p, blk ? ST_ABN : ST_TEXT, sum_col[SC_AMP_DROP].x, y, "%s%s",
                  ncs_rdrop(b, sizeof b, g->amp_drop_pct, g->u.amp_drop_pct, 1),
                  doubt(g->amp_drop_pct, u & NCS_UNCERTAIN_AMP));
        ncs_rtext(p, blk ? ST_ABN : ST_TEXT, sum_col[SC_AREA_DROP].x, y, "%s%s",
                  ncs_rdrop(b, sizeof b, g->area_drop_pct, g->u.area_drop_pct, 1),
                  doubt(g->area_drop_pct, u & NCS_UNCERTAIN_AREA));
        ncs_rtext(p, ST_TEXT, sum_col[SC_DUR_INC].x, y, "%s%s",
                  ncs_rnum(b, sizeof b, g->dur_increase_pct, 1),
                  doubt(g->dur_increase_pct, u & NCS_UNCERTAIN_ONSET));
        if (blk) {
            char label[96];
            snprintf(label, sizeof label, "%s%s", ncs_rblock_label(g->block),
                     g->borderline ? " (borderline)" : "");
            y = ncs_rwrapped(p, ST_ABN, sum_col[SC_SEGMENT].x, y - dy, dy,
                             sum_col[SC_CV].x - sum_col[SC_SEGMENT].x - 1, y - 4 * dy, label) + dy;
        }
    } else if (j == 0) {
        ncs_rtext(p, ST_TEXT, sum_col[SC_DIST].x, y, "%.0f", sr->def->distance_mm);
        ncs_rtext(p, ST_DIM, sum_col[SC_SEGMENT].x, y, "distal");
    }
    return y;
}

/* A nerve's rows: its name and muscle, then one per site. */
static double summary_nerve_rows(ncs_rpage *p, const ncs_nerve_result *nr, double y, double dy)
{
    ncs_rtext(p, ST_HEAD, sum_col[SC_SITE].x, y, "%s%s%s%s", nr->def->id,
              nr->def->muscle ? " (" : "", nr->def->muscle ? nr->def->muscle : "",
              nr->def->muscle ? ")" : "");
    y -= dy;
    for (size_t j = 0; j < nr->n_sites; j++) {
        const ncs_site_result *sr = &nr->sites[j];
        ncs_rtext(p, ST_TEXT, sum_col[SC_SITE].x + 1.5, y, "%s%s", sr->def->name,
                  sr->def->exclude ? " (excl.)" : "");
        summary_site_values(p, sr, y);
        y = summary_segment_values(p, nr, j, y, dy);
        y -= dy;
    }
    return y - 0.3 * dy;
}

/* Where the summary table must end, for the lists under it (a few lines
 * of each at least) to fit above the impression box. */
static double summary_table_min(const ncs_rpage *p, const ncs_results *r)
{
    double abn = 0, found = 0;
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        for (size_t j = 0; j < nr->n_sites; j++)
            abn += (nr->sites[j].abnormal & NCS_ABN_DML_PROLONGED ? 1 : 0)
                   + (nr->sites[j].abnormal & NCS_ABN_AMP_LOW ? 1 : 0);
        for (size_t k = 0; k < nr->n_segments; k++) {
            abn += nr->segments[k].abnormal & NCS_ABN_CV_SLOW ? 1 : 0;
            found += 2.0 * (double)nr->segments[k].findings.count;
        }
        found += 2.0 * (double)nr->findings.count;
    }
    double lines = 2 + fmax(1, fmin(abn, 6)) + 3 + 2 + fmin(found, 8);
    return SUM_BOX_TOP + ncs_rpage_dy(p, 12 * lines);
}

static double summary_table(ncs_rpage *p, const ncs_results *r, double y)
{
    double dy = ncs_rpage_dy(p, 12), y_min = summary_table_min(p, r);
    y = summary_table_head(p, y, dy);
    for (size_t i = 0; i < r->n_nerves; i++) {
        const ncs_nerve_result *nr = &r->nerves[i];
        /* the lists and the impression box need the lower part of the
         * page: a table too long for it ends here, and the nerve pages
         * carry the rest */
        if (y - (double)(nr->n_sites + 2) * dy < y_min) {
            size_t left = r->n_nerves - i;
            ncs_rtext(p, ST_WARN, sum_col[SC_SITE].x, y, "... %zu more nerve%s: see %s page%s",
                      left, left == 1 ? "" : "s", left == 1 ? "its" : "their",
                      left == 1 ? "" : "s");
            y -= dy;
            break;
        }
        y = summary_nerve_rows(p, nr, y, dy);
    }
    ncs_rtext(p, ST_DIM, 3, y, "* outside the reference range (distal latency above ULN, "
                               "amplitude below LLN, CV below LLN). Red drops: a block category.");
    y -= ncs_rpage_dy(p, 10);
    y = ncs_rwrapped(p, ST_DIM, 3, y, ncs_rpage_dy(p, 10), 94, y - 3 * ncs_rpage_dy(p, 10),
                     "? from a trace flagged uncertain (an interval wider than twice its "
                     "target), or a CV whose sites disagree: it decides no finding (a block's "
                     "duration change: by its interval). 95 % intervals (\u00b1): on the nerve "
                     "pages.");
    y += ncs_rpage_dy(p, 10);
    return y - ncs_rpage_dy(p, 16);
}

/* Every value outside the reference range, with the range (the same list
 * as the table's and results.json's), while room is left above y_min. */
static double abnormal_list(ncs_rpage *p, const ncs_results *r, double y, double y_min)
{
    double dy = ncs_rpage_dy(p, 12);
    ncs_rtext(p, ST_HEAD, 3, y, "Values outside the reference range");
    y -= dy;
    size_t total = ncs_abnormal_values(r, NULL, 0), shown = 0;
    ncs_abnormal_value *v = total ? calloc(total, sizeof *v) : NULL;
    if (v)
        ncs_abnormal_values(r, v, total);
    for (size_t i = 0; v && i < total && y >= y_min; i++, shown++) {
        char buf[600];
        ncs_rtext(p, ST_ABN, 5, y, "%s", ncs_abnormal_value_text(&v[i], buf, sizeof buf));
        y -= dy;
    }
    free(v);
    if (!total)
        ncs_rtext(p, ST_TEXT, 5, y, "none");
    else if (shown < total)
        ncs_rtext(p, ST_WARN, 5, y, "... and %zu more: see the nerve pages", total - shown);
    return y - dy - ncs_rpage_dy(p, 4);
}

/* "+8.8" / "\u22123.1": a difference with a real sign */
static const char *signed_text(char *buf, size_t n, double v, int decimals)
{
    if (!isfinite(v))
        snprintf(buf, n, "n/a");
    else
        snprintf(buf, n, "%s%.*f", v < 0 ? "\u2212" : "+", decimals, fabs(v));
    return buf;
}

/* Side to side (docs/criteria.md): a line per nerve recorded from one
 * muscle on both sides, the asymmetric ones in red. */
static double sides_place(ncs_rpage *p, const ncs_results *r, double y)
{
    double dy = ncs_rpage_dy(p, 12);
    ncs_rtext(p, ST_HEAD, 3, y, "Side to side (ratios left / right, differences left \u2212 right)");
    y -= dy;
    if (!r->n_sides)
        ncs_rtext(p, ST_TEXT, 5, y, "no nerve recorded from the same muscle on both sides");
    for (size_t i = 0; i < r->n_sides; i++) {
        const ncs_side_pair *sp = &r->sides[i];
        const char *m = sp->right->def->muscle;
        char line[600], a[32], d[32];
        int n = snprintf(line, sizeof line, "%s%s%s%s: ", sp->right->def->nerve, m ? " (" : "",
                         m ? m : "", m ? ")" : "");
        if (sp->why[0]) {
            snprintf(line + n, sizeof line - (size_t)n, "not compared: %s", sp->why);
            y = ncs_rwrapped(p, ST_DIM, 5, y, dy, 90, SUM_BOX_TOP + 12.0, line);
            continue;
        }
        if (isfinite(sp->amp_ratio_u))
            snprintf(a, sizeof a, "%.2f \u00b1 %.2f", sp->amp_ratio, sp->amp_ratio_u);
        else
            snprintf(a, sizeof a, "%.2f", sp->amp_ratio);
        /* (asymmetry first: where the line is cut short for room, the
         * latency goes, not the finding) */
        if (sp->asymmetric)
            n += snprintf(line + n, sizeof line - (size_t)n, "ASYMMETRIC (%s below half), ",
                          sp->smaller);
        n += snprintf(line + n, sizeof line - (size_t)n, "distal amplitude ratio %s", a);
        /* (what could not be compared is left out, as in the table) */
        if (isfinite(sp->area_ratio))
            n += snprintf(line + n, sizeof line - (size_t)n, ", area ratio %.2f", sp->area_ratio);
        if (isfinite(sp->dml_diff_ms))
            snprintf(line + n, sizeof line - (size_t)n, ", distal latency %s ms",
                     signed_text(d, sizeof d, sp->dml_diff_ms, 2));
        /* (the CV differences, segment by segment, are in the table and
         * results.json: a line per nerve here) */
        y = ncs_rwrapped(p, sp->asymmetric ? ST_ABN : ST_TEXT, 5, y, dy, 90, SUM_BOX_TOP + 12.0,
                         line);
    }
    if (!r->n_sides)
        y -= dy;
    return y - ncs_rpage_dy(p, 4);
}

/* A segment's findings under criteria set k, one wrapped line each. */
static double summary_segment_findings(ncs_rpage *p, const ncs_nerve_result *nr,
                                       const ncs_segment *sg, int k, double y, double y_min)
{
    for (size_t j = 0; j < sg->findings.count && y > y_min; j++) {
        const ncs_finding *f = &sg->findings.items[j];
        if ((int)f->criteria != k || (sg->covers && !ncs_span_finding_new(nr, f)))
            continue;
        char buf[1400], why[NCS_MAX_BECAUSE * (NCS_BECAUSE_LEN + 4)];
        snprintf(buf, sizeof buf, "%s %s-%s%s: %s%s: %s", nr->def->id, sg->from, sg->to,
                 sg->covers ? " (span)" : "", f->code, f->counts ? "" : " (not counted)",
                 ncs_rreasons(f, why, sizeof why));
        y = ncs_rwrapped(p, ST_SMALL, 6, y, ncs_rpage_dy(p, 11), 91, y_min, buf);
    }
    return y;
}

/* The findings about a nerve as a whole under criteria set k. */
static double summary_nerve_findings(ncs_rpage *p, const ncs_nerve_result *nr, int k, double y,
                                     double y_min)
{
    for (size_t j = 0; j < nr->findings.count && y > y_min; j++) {
        const ncs_finding *f = &nr->findings.items[j];
        if ((int)f->criteria != k)
            continue;
        char buf[1400], why[NCS_MAX_BECAUSE * (NCS_BECAUSE_LEN + 4)];
        snprintf(buf, sizeof buf, "%s: %s: %s", nr->def->id, f->code,
                 ncs_rreasons(f, why, sizeof why));
        y = ncs_rwrapped(p, ST_SMALL, 6, y, ncs_rpage_dy(p, 11), 91, y_min, buf);
    }
    return y;
}

/* Each evaluated criteria set's verdict, then what supports it, for as long
 * as the page lasts (the nerve pages repeat the segments' findings). */
static void summary_findings(ncs_rpage *p, const ncs_results *r, double y)
{
    const double y_min = SUM_BOX_TOP + 2.0;
    ncs_rtext(p, ST_HEAD, 3, y, "Findings: electrodiagnostic criteria met (not a diagnosis)");
    y -= ncs_rpage_dy(p, 13);
    for (int k = 0; k < NCS_CRIT__COUNT && y > y_min; k++) {
        if (!r->evaluated[k] || !r->summary[k])
            continue;
        y = ncs_rwrapped(p, ST_TEXT, 4, y, ncs_rpage_dy(p, 12), 93, y_min, r->summary[k]);
        for (size_t i = 0; i < r->n_nerves && y > y_min; i++) {
            const ncs_nerve_result *nr = &r->nerves[i];
            for (size_t g = 0; g < nr->n_segments && y > y_min; g++)
                y = summary_segment_findings(p, nr, &nr->segments[g], k, y, y_min);
            for (size_t g = 0; g < nr->n_spans && y > y_min; g++)
                y = summary_segment_findings(p, nr, &nr->spans[g], k, y, y_min);
            y = summary_nerve_findings(p, nr, k, y, y_min);
        }
        y -= ncs_rpage_dy(p, 4);
    }
    if (y <= y_min)
        ncs_rtext(p, ST_DIM, 3, y - ncs_rpage_dy(p, 3), "(more findings on the nerve pages)");
}

/* The clinician's part: an empty box for the impression, lines to write
 * on, and the signature. */
static void impression_box(ncs_rpage *p)
{
    double top = SUM_BOX_TOP, bot = ncs_rpage_dy(p, 40);
    ncs_rline(p, LN_BOX, 3, bot, 97, bot);
    ncs_rline(p, LN_BOX, 97, bot, 97, top);
    ncs_rline(p, LN_BOX, 97, top, 3, top);
    ncs_rline(p, LN_BOX, 3, top, 3, bot);
    ncs_rtext(p, ST_HEAD, 4.5, top - ncs_rpage_dy(p, 12), "Impression (physician)");
    double sig = bot + ncs_rpage_dy(p, 14);
    for (double y = top - ncs_rpage_dy(p, 34); y > sig + ncs_rpage_dy(p, 18);
         y -= ncs_rpage_dy(p, 20))
        ncs_rline(p, LN_RULE, 4.5, y, 95.5, y);
    ncs_rtext(p, ST_TEXT, 4.5, sig, "Physician:");
    ncs_rline(p, LN_RULE, 14, sig - 0.5, 44, sig - 0.5);
    ncs_rtext(p, ST_TEXT, 46, sig, "Signature:");
    ncs_rline(p, LN_RULE, 56, sig - 0.5, 76, sig - 0.5);
    ncs_rtext(p, ST_TEXT, 78, sig, "Date:");
    ncs_rline(p, LN_RULE, 84, sig - 0.5, 95.5, sig - 0.5);
}

static void summary_page(FILE *o, const ncs_results *r, ncs_report_format fmt, int pages)
{
    ncs_rpage p;
    ncs_rpage_open(&p, o, fmt, (ncs_paper)r->options.report_paper, 1, pages);
    /* 1. the study, and the warnings that qualify everything below */
    double y = ncs_rpage_header(&p, r, "Nerve conduction study: summary");
    y = study_details(&p, r, y);
    y = summary_warnings(&p, r, y);
    /* 2. the table, a row per site */
    y = summary_table(&p, r, y);
    /* 3. what is out of range, the sides, the findings, in the room left
     *    above the impression box */
    y = abnormal_list(&p, r, y, SUM_BOX_TOP + 16.0);
    y = sides_place(&p, r, y);
    summary_findings(&p, r, y);
    /* 4. the clinician's box, the footer */
    impression_box(&p);
    ncs_rpage_footer(&p);
    /* 5. draw: the page is text and lines only */
    fprintf(o, "set multiplot\n");
    ncs_rpage_draw(&p);
    fprintf(o, "unset multiplot\n");
}

/* ---- the whole script ---------------------------------------------------- */

size_t ncs_report_pages(const ncs_results *r)
{
    return r->n_nerves + 1;
}

void ncs_report_preamble(FILE *o, ncs_report_format fmt, ncs_paper paper)
{
    fprintf(o, "# ncs %s report\nreset\nset encoding utf8\n", NCS_VERSION);
    /* PNG and SVG get a white background from the terminal, under every
     * plot of a page: an object drawn `behind` would be drawn again by each
     * plot of a multiplot, over what the plots before it drew */
    if (fmt == NCS_REPORT_PDF)
        fprintf(o, "set terminal pdfcairo size %s", papers[paper].pdf);
    else
        fprintf(o, "set terminal %s size %s background rgb \"#ffffff\"",
                fmt == NCS_REPORT_PNG ? "pngcairo" : "svg", papers[paper].px);
    /* a point is a point of the paper: at fontscale 1 pdfcairo draws text
     * at 96/72 of its size (and at its default 0.5, at two thirds of it),
     * pngcairo at 96 pixels per inch and svg at 72, where a page has 150 */
    fprintf(o, " font \"" FONT ",9\" fontscale %.4f noenhanced\n",
            fmt == NCS_REPORT_PDF ? 72.0 / 96.0 : fmt == NCS_REPORT_PNG ? 150.0 / 96.0
                                                                        : 150.0 / 72.0);
    fprintf(o, "set datafile separator \"\\t\"\n");
}

ncs_status ncs_report_script(const ncs_results *r, ncs_report_format fmt,
                             const char *const *page_files, FILE *o)
{
    ncs_paper paper = (ncs_paper)r->options.report_paper;
    if (!ncs_report_paper_name(paper))
        return NCS_ERR_USAGE;
    ncs_report_preamble(o, fmt, paper);
    size_t pages = ncs_report_pages(r);
    for (size_t pg = 0; pg < pages; pg++) {
        if (pg == 0 || fmt != NCS_REPORT_PDF)
            fprintf(o, "set output \"%s\"\n", page_files[fmt == NCS_REPORT_PDF ? 0 : pg]);
        if (pg == 0)
            summary_page(o, r, fmt, (int)pages);
        else
            ncs_report_nerve_page(o, r, pg - 1, fmt, (int)pg + 1);
    }
    fprintf(o, "unset output\nexit\n");
    return ferror(o) ? NCS_ERR_OUTPUT : NCS_OK;
}
