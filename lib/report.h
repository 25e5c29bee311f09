/* report.h — between the report's pages (report.c: the page, its text and
 * header, the summary page and the script; report_nerve.c: a nerve's page)
 * and the gnuplot runner (gnuplot.c). Internal to the library. */
#ifndef NCS_REPORT_H
#define NCS_REPORT_H

#include <stdio.h>
#include "internal.h"

/* Keeps of a trace (n samples at fs_hz, the first at t0_ms from the
 * stimulus) what a report can draw: the cleaned one (clean) into
 * sr->trace, sr->n_points, and the one as read (raw, may be NULL) into
 * sr->raw, sr->n_raw; sr->sweep_end_ms. A page shows no more than a few
 * thousand points across its time axis, and the axis is at least 5 ms long
 * and starts at the stimulus; so, from the stimulus on, each stretch of
 * 1/3000 of the time since the stimulus (of 5 ms at first) keeps its lowest
 * and highest samples, in time order, and a stretch of one sample keeps it.
 * What is kept grows with the logarithm of the sweep's length, not with the
 * sampling rate (about 26000 stretches, at most twice as many points, for
 * 10 s). No stretch crosses the time
 * from which a page's gain is taken (NCS_REPORT_GAIN_FROM_MS), so the
 * stimulus artefact before it never sets the gain. NCS_OK or NCS_ERR_NOMEM
 * (sr untouched). */
#define NCS_REPORT_GAIN_FROM_MS 0.2
ncs_status ncs_report_keep_trace(ncs_site_result *sr, const double *clean, const double *raw,
                                 size_t n, double fs_hz, double t0_ms);

/* Pages of the report: a summary and one per nerve. */
size_t ncs_report_pages(const ncs_results *r);

/* Writes the whole gnuplot script to o. page_files are the output files'
 * names as gnuplot is to open them (only [A-Za-z0-9._-]; gnuplot runs in
 * their folder): one for PDF, one per page for PNG and SVG. */
ncs_status ncs_report_script(const ncs_results *r, ncs_report_format fmt,
                             const char *const *page_files, FILE *o);

/* Writes the whole script of a report to o (ncs_report_script's contract). */
typedef ncs_status (*ncs_script_writer)(const void *ctx, ncs_report_format fmt,
                                        const char *const *page_files, FILE *o);

/* A run of gnuplot for a report of any kind (gnuplot.c): its pages, its
 * script, and the analyses whose inputs no page may replace. */
typedef struct {
    size_t n_pages;                 /* PDF: all in one file; PNG, SVG: a file each */
    const char *const *page_names;  /* [1, n_pages): page i's file is out_path with
                                       "-<name>" before its extension */
    const ncs_results *const *inputs;
    size_t n_inputs;
    double timeout_s;               /* the options' limit (0: $NCS_GNUPLOT_TIMEOUT,
                                       else NCS_GNUPLOT_TIMEOUT_S) */
    ncs_script_writer write;
    const void *ctx;
} ncs_gnuplot_job;

/* Runs gnuplot once on the job's script as ncs_report_make describes
 * (temporaries created by us, the time limit, renamed into place only on
 * success, nothing left behind on failure). */
ncs_status ncs_gnuplot_run(const ncs_gnuplot_job *gj, ncs_report_format fmt,
                           const char *out_path, const char *gnuplot, ncs_error *err);

/* The start of every report's script: the terminal for fmt on paper, the
 * font, the data separator. */
void ncs_report_preamble(FILE *o, ncs_report_format fmt, ncs_paper paper);

/* ---- a page being built (report.c), for the pages (report_nerve.c) ---- */

/* Page units: x and y from 0 to 100 over the whole page, y upward. */
typedef enum { ST_TITLE, ST_HEAD, ST_SITE, ST_TEXT, ST_SMALL, ST_ABN, ST_WARN, ST_BLOCK, ST_DIM,
               ST_RIGHT, ST_MANUAL, ST_FLAG, ST__N } ncs_rstyle;

/* Lines drawn in page units: rules, boxes, scale bars, block brackets. */
typedef enum { LN_RULE, LN_BOX, LN_BAR, LN_BLOCK, LN__N } ncs_rline_kind;

typedef struct {
    FILE *out;               /* the script */
    ncs_report_format fmt;
    int page, pages;         /* this page's number (from 1), of how many */
    double h_pt, w_pt;       /* the paper's height and width, points */
    char *txt[ST__N];
    size_t txt_len[ST__N];
    FILE *tf[ST__N];
    int n_txt[ST__N];
    char *ln[LN__N];
    size_t ln_len[LN__N];
    FILE *lf[LN__N];
    int n_ln[LN__N];
    double font_scale;       /* of the text styles ST_TEXT ... (the summary table's) */
    int failed;
} ncs_rpage;

void ncs_rpage_open(ncs_rpage *p, FILE *out, ncs_report_format fmt, ncs_paper paper, int number,
                    int pages);

/* Page units of `pt` points, down the page and across it. */
double ncs_rpage_dy(const ncs_rpage *p, double pt);
double ncs_rpage_dx(const ncs_rpage *p, double pt);

/* A label at (x, y), its text as printf makes it; it reaches gnuplot
 * through ncs_report_put_text. */
void ncs_rtext(ncs_rpage *p, ncs_rstyle st, double x, double y, const char *fmt, ...)
    NCS_PRINTF(5, 6);

/* A line from (x1, y1) to (x2, y2), page units. */
void ncs_rline(ncs_rpage *p, ncs_rline_kind kind, double x1, double y1, double x2, double y2);

/* s word-wrapped into the width (page units) from (x, y) downward, lines
 * dy apart; returns the y below the last line. Stops above y_min, the last
 * line then ending in "..." */
/* A finding's reasons joined by "; ", ">=" and "<=" typeset as the
 * tables' signs; returns buf. */
char *ncs_rreasons(const ncs_finding *f, char *buf, size_t n);

double ncs_rwrapped(ncs_rpage *p, ncs_rstyle st, double x, double y, double dy, double width,
                    double y_min, const char *s);

/* The header every page carries (patient, study, date, temperature, page
 * x of y, and the page's title); returns the y below it. */
double ncs_rpage_header(ncs_rpage *p, const ncs_results *r, const char *title);

/* The same header with its facts line given (the follow-up report's). */
double ncs_rpage_header_line(ncs_rpage *p, const char *line, const char *title);

/* The footer every page carries. */
void ncs_rpage_footer(ncs_rpage *p);

/* The text and lines layer: written as datablocks, drawn by one plot over
 * the whole page. The page's buffers are freed. */
void ncs_rpage_draw(ncs_rpage *p);

/* Writes s to f as one field of a tab-separated datablock that gnuplot
 * prints verbatim with `with labels noenhanced`: every backslash doubled
 * (gnuplot reads escapes in data strings), tab, line feed and carriage
 * return as a space, any other control character, any byte that is not
 * well-formed UTF-8 and any character XML forbids as U+FFFD; for SVG,
 * "]]>" (forbidden in XML text, which gnuplot writes unescaped) with an
 * invisible U+2060 WORD JOINER before its '>'. */
void ncs_report_put_text(FILE *f, const char *s, ncs_report_format fmt);

/* Numbers as a report prints them, into buf (n bytes); "n/a" for NAN. */
const char *ncs_rnum(char *buf, size_t n, double v, int decimals);
/* with its 95 % half-width: "60.4 ± 3.1" ("60.4" when u is NAN) */
const char *ncs_rnum_pm(char *buf, size_t n, double v, double u, int decimals);
/* A drop: an absent proximal response's as "\u2265 LEAST" ("n/a" when the
 * noise could hide the whole response), any other as ncs_rnum. */
const char *ncs_rdrop(char *buf, size_t n, double v, double u, int decimals);
/* with its sign, a real minus: "+20", "−20", "0" */
const char *ncs_rnum_signed(char *buf, size_t n, double v, int decimals);

/* "definite CB", "CB at entrapment site (not counted)" ... */
const char *ncs_rblock_label(ncs_block b);
/* The categories a report marks between a segment's traces. */
int ncs_rblock_marked(ncs_block b);

/* A nerve's page (report_nerve.c). */
void ncs_report_nerve_page(FILE *o, const ncs_results *r, size_t ni, ncs_report_format fmt,
                           int number);

#endif
