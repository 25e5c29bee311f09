/* study.c — study.ini (docs/study-folder.md) into an ncs_study.
 *
 * libinih does the INI syntax (comments, whitespace, key = value). Debian's
 * build gives the handler no line number and says nothing of sections that
 * hold no key, so the file is fed to ini_parse_stream() through our own line
 * reader: it counts lines, refuses binary data and over-long lines, and sees
 * every section header as it goes by. Section headers are therefore
 * validated (and their nerve or site created) in the reader, keys in the
 * handler; inih reads a line and handles it before reading the next, so the
 * reader's line number is the handler's.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <dirent.h>

#include <ini.h>

#include "internal.h"

/* ---- vocabularies -------------------------------------------------------- */

const char *const ncs_nerve_names[NCS_N_NERVE_NAMES] = {
    "median", "ulnar", "fibular", "tibial", "radial",
    "musculocutaneous", "axillary", "accessory", "facial", "peroneal",
};
#define nerve_names ncs_nerve_names
static const char *const side_names[] = {"right", "left"};

enum { SK_ID, SK_DATE, SK_AGE, SK_HEIGHT, SK_TEMP, SK_LFF, SK_POL, SK_PATIENT,
       SK_NORMS, SK_NOTE, SK__N };
static const char *const study_keys[SK__N] = {
    "id", "date", "age_years", "height_cm", "temperature_c", "lff_hz",
    "polarity", "patient", "norms", "note"};

enum { NK_MUSCLE, NK_TEMP, NK_POL, NK_NOTE, NK__N };
static const char *const nerve_keys[NK__N] = {"muscle", "temperature_c",
                                              "polarity", "note"};

enum { TK_FILE, TK_DIST, TK_CHANNEL, TK_STIM, TK_SCALE, TK_UNITS, TK_RATE,
       TK_POL, TK_ONSET, TK_PEAK, TK_END, TK_EXCLUDE, TK_ENTRAP, TK_NOTE,
       TK_RECORD, TK_ANNOT, TK__N };
static const char *const site_keys[TK__N] = {
    "file", "distance_mm", "channel", "stim_ms", "scale_mv", "units",
    "rate_hz", "polarity", "onset_ms", "peak_ms", "end_ms", "exclude",
    "entrapment", "note", "record", "annotation"};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const char *ncs_nerve_canonical(const char *name)
{
    if (!name)
        return NULL;
    if (strcmp(name, "peroneal") == 0)
        return "fibular";
    for (size_t i = 0; i < NELEM(nerve_names); i++)
        if (strcmp(name, nerve_names[i]) == 0)
            return nerve_names[i];
    return NULL;
}

/* ---- parser state -------------------------------------------------------- */

struct psite {
    int key_line[TK__N];
    int polarity; /* -1 unset */
};

struct pnerve {
    int key_line[NK__N];
    int polarity; /* -1 unset */
    struct psite *ps;
    size_t cap;
};

typedef struct {
    ncs_study *st;
    struct pnerve *pn;
    size_t nerve_cap;
    int study_key_line[SK__N];
    int study_section_line;
    int study_polarity;

    /* the line reader */
    ncs_text text;
    int lineno;

    /* the section the current line belongs to */
    /* SEC_BAD: a header that was refused; its keys are skipped (an error
     * about each would only repeat the header's) */
    enum { SEC_NONE, SEC_STUDY, SEC_NERVE, SEC_SITE, SEC_BAD } kind;
    size_t cur_nerve, cur_site;

    const char *ini_name; /* for messages: the path of study.ini */
    ncs_error *err;
    ncs_warnings *warn;
    int failed;           /* an error was found: the study is refused */
    int fatal;            /* ... and reading on would mislead: stop */
    int section_errors;   /* section headers refused (their keys skipped) */
    unsigned n_errors;    /* every error found */
    struct perror_ent {   /* the first NCS_MAX_ERRORS found */
        int line;
        ncs_status code;
        char message[1024];
    } *errs;
} parser;

static ncs_status perr(parser *p, int line, ncs_status code, const char *fmt, ...)
    NCS_PRINTF(4, 5);

/* Records an error of study.ini; every error is kept up to NCS_MAX_ERRORS
 * (emit_errors() hands them over in line order). No memory and the safety
 * limits stop the parse: what follows could not be read as meant. */
static ncs_status perr(parser *p, int line, ncs_status code, const char *fmt, ...)
{
    p->failed = 1;
    if (code == NCS_ERR_NOMEM || code == NCS_ERR_LIMIT)
        p->fatal = 1;
    if (p->n_errors++ >= NCS_MAX_ERRORS || !p->errs)
        return code;
    struct perror_ent *e = &p->errs[p->n_errors - 1];
    e->line = line;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return code;
}

/* The errors kept, in line order (those of the whole file, line 0, last):
 * the first into err, the others into warn with severity error. */
static void emit_errors(parser *p)
{
    size_t n = p->n_errors < NCS_MAX_ERRORS ? p->n_errors : NCS_MAX_ERRORS;
    if (!p->n_errors || !p->errs)
        return;
    /* insertion sort, stable: at most NCS_MAX_ERRORS entries */
    for (size_t i = 1; i < n; i++) {
        struct perror_ent t = p->errs[i];
        unsigned key = t.line > 0 ? (unsigned)t.line : UINT_MAX;
        size_t j = i;
        for (; j > 0; j--) {
            int l = p->errs[j - 1].line;
            if ((l > 0 ? (unsigned)l : UINT_MAX) <= key)
                break;
            p->errs[j] = p->errs[j - 1];
        }
        p->errs[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        const struct perror_ent *e = &p->errs[i];
        char where[1024];
        if (e->line > 0)
            snprintf(where, sizeof where, "%s:%d", p->ini_name, e->line);
        else
            snprintf(where, sizeof where, "%s", p->ini_name);
        if (i == 0) {
            ncs_fail(p->err, e->code, where, "%s", e->message);
        } else if (p->warn) {
            size_t before = p->warn->count;
            ncs_warn(p->warn, where, ncs_status_token(e->code), "%s", e->message);
            if (p->warn->count > before)
                p->warn->items[before].severity = NCS_SEVERITY_ERROR;
        }
    }
    if (p->err)
        p->err->n_errors = p->n_errors;
}

static int in_list(const char *word, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(word, list[i]) == 0)
            return 1;
    return 0;
}

/* The candidate a mistyped word most likely meant, or NULL: the same in
 * other letters' case ("Distance_MM", "[Median.Right]"), the nearest by
 * edit distance, or a key given without its unit ("distance"). */
static const char *suggest(const char *word, const char *const *cand, size_t nc)
{
    for (size_t i = 0; i < nc; i++)
        if (strcasecmp(word, cand[i]) == 0)
            return cand[i];
    const char *best = ncs_nearest(word, cand, nc);
    size_t wl = strlen(word);
    for (size_t i = 0; !best && wl && i < nc; i++)
        if (strncmp(cand[i], word, wl) == 0 && cand[i][wl] == '_')
            best = cand[i];
    return best;
}

/* " (did you mean 'x'?)" or "" — into buf */
static const char *did_you_mean(char *buf, size_t n, const char *word,
                                const char *const *cand, size_t nc)
{
    const char *best = suggest(word, cand, nc);
    if (best)
        snprintf(buf, n, " (did you mean '%s'?)", best);
    else
        buf[0] = '\0';
    return buf;
}

/* ---- section headers (called from the reader) ---------------------------- */

static int valid_site_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        /* '+': inching sites named from a known one, wrist+20 (SPEC 1.1) */
        if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-'
              || *s == '+'))
            return 0;
    return 1;
}

static ncs_nerve_def *find_nerve(parser *p, const char *nerve, const char *side,
                                 size_t *idx)
{
    for (size_t i = 0; i < p->st->n_nerves; i++) {
        ncs_nerve_def *n = &p->st->nerves[i];
        if (strcmp(n->nerve, nerve) == 0 && strcmp(n->side, side) == 0) {
            *idx = i;
            return n;
        }
    }
    return NULL;
}

static int add_nerve(parser *p, const char *nerve, const char *side, int line,
                     size_t *idx)
{
    if (find_nerve(p, nerve, side, idx))
        return 0;
    if (p->st->n_nerves >= NCS_MAX_NERVES)
        return perr(p, line, NCS_ERR_LIMIT, "more than %d nerves in one study",
                    NCS_MAX_NERVES), -1;
    if (p->st->n_nerves == p->nerve_cap) {
        size_t cap = p->nerve_cap ? p->nerve_cap * 2 : 8;
        ncs_nerve_def *nv = realloc(p->st->nerves, cap * sizeof *nv);
        if (!nv)
            return perr(p, line, NCS_ERR_NOMEM, "out of memory"), -1;
        p->st->nerves = nv;
        struct pnerve *pn = realloc(p->pn, cap * sizeof *pn);
        if (!pn)
            return perr(p, line, NCS_ERR_NOMEM, "out of memory"), -1;
        p->pn = pn;
        p->nerve_cap = cap;
    }
    size_t i = p->st->n_nerves;
    ncs_nerve_def *n = &p->st->nerves[i];
    memset(n, 0, sizeof *n);
    memset(&p->pn[i], 0, sizeof p->pn[i]);
    p->pn[i].polarity = -1;
    n->nerve = ncs_strdup(nerve);
    n->side = ncs_strdup(side);
    n->id = ncs_asprintf("%s.%s", nerve, side);
    n->temperature_c = NAN;
    n->line = line;
    p->st->n_nerves++;
    if (!n->nerve || !n->side || !n->id)
        return perr(p, line, NCS_ERR_NOMEM, "out of memory"), -1;
    *idx = i;
    return 0;
}

static int add_site(parser *p, size_t ni, const char *name, int line, size_t *si)
{
    ncs_nerve_def *n = &p->st->nerves[ni];
    struct pnerve *pn = &p->pn[ni];
    for (size_t i = 0; i < n->n_sites; i++)
        if (strcmp(n->sites[i].name, name) == 0)
            return perr(p, line, NCS_ERR_INI_DUPLICATE,
                        "duplicate site [%s.%s] (first at line %d)", n->id, name,
                        n->sites[i].line), -1;
    if (n->n_sites >= NCS_MAX_SITES)
        return perr(p, line, NCS_ERR_LIMIT, "more than %d sites on nerve %s",
                    NCS_MAX_SITES, n->id), -1;
    if (n->n_sites == pn->cap) {
        size_t cap = pn->cap ? pn->cap * 2 : 4;
        ncs_site *s = realloc(n->sites, cap * sizeof *s);
        if (!s)
            return perr(p, line, NCS_ERR_NOMEM, "out of memory"), -1;
        n->sites = s;
        struct psite *ps = realloc(pn->ps, cap * sizeof *ps);
        if (!ps)
            return perr(p, line, NCS_ERR_NOMEM, "out of memory"), -1;
        pn->ps = ps;
        pn->cap = cap;
    }
    size_t i = n->n_sites;
    ncs_site *s = &n->sites[i];
    memset(s, 0, sizeof *s);
    memset(&pn->ps[i], 0, sizeof pn->ps[i]);
    pn->ps[i].polarity = -1;
    s->name = ncs_strdup(name);
    s->line = line;
    s->distance_mm = NAN;
    s->channel = 1;
    s->stim_ms = 0.0;
    s->scale_mv = NAN;
    s->units = NCS_UNITS_MV;
    s->rate_hz = NAN;
    s->onset_ms = s->peak_ms = s->end_ms = NAN;
    s->entrapment = -1;
    n->n_sites++;
    if (!s->name)
        return perr(p, line, NCS_ERR_NOMEM, "out of memory"), -1;
    *si = i;
    return 0;
}

/* Validates the section name `sec` of a header on `line` and makes it the
 * current section. */
static int enter_section(parser *p, char *sec, int line)
{
    char hint[128];
    if (strcmp(sec, "study") == 0) {
        if (p->study_section_line)
            return perr(p, line, NCS_ERR_INI_DUPLICATE,
                        "duplicate section [study] (first at line %d)",
                        p->study_section_line), -1;
        p->study_section_line = line;
        p->kind = SEC_STUDY;
        return 0;
    }
    char *parts[4] = {0};
    int np = 0;
    for (char *tok = sec;; ) {
        if (np == 4)
            break;
        parts[np++] = tok;
        char *dot = strchr(tok, '.');
        if (!dot)
            break;
        *dot = '\0';
        tok = dot + 1;
    }
    if (np == 1 && ncs_nerve_canonical(parts[0]))
        return perr(p, line, NCS_ERR_INI_SECTION,
                    "section [%s] names a nerve without its side: write [%s.right] or "
                    "[%s.left]", parts[0], parts[0], parts[0]), -1;
    if (np == 1) {
        static const char *const top[] = {"study"};
        const char *const *cand = top;
        size_t nc = 1;
        if (!ncs_nearest(parts[0], cand, nc)) {
            cand = nerve_names;
            nc = NELEM(nerve_names);
        }
        return perr(p, line, NCS_ERR_INI_SECTION,
                    "unknown section [%s]%s; sections are [study], "
                    "[<nerve>.<side>] and [<nerve>.<side>.<site>]",
                    parts[0], did_you_mean(hint, sizeof hint, parts[0], cand, nc)), -1;
    }
    if (np > 3)
        return perr(p, line, NCS_ERR_INI_SECTION,
                    "section [%s.%s.%s...] has too many parts; expected "
                    "[<nerve>.<side>] or [<nerve>.<side>.<site>]",
                    parts[0], parts[1], parts[2]), -1;
    const char *nerve = ncs_nerve_canonical(parts[0]);
    if (!nerve) {
        did_you_mean(hint, sizeof hint, parts[0], nerve_names, NELEM(nerve_names) - 1);
        char known[256];
        ncs_join(known, sizeof known, nerve_names, NELEM(nerve_names) - 1, ", ");
        return perr(p, line, NCS_ERR_INI_SECTION,
                    "unknown nerve '%s'%s; the motor nerves ncs knows: %s (sensory "
                    "nerves are not measured yet)", parts[0], hint, known), -1;
    }
    if (!in_list(parts[1], side_names, NELEM(side_names)))
        return perr(p, line, NCS_ERR_INI_SECTION,
                    "unknown side '%s' in [%s.%s]%s; sides are right and left",
                    parts[1], parts[0], parts[1],
                    did_you_mean(hint, sizeof hint, parts[1], side_names, NELEM(side_names))), -1;
    size_t ni;
    if (np == 2) {
        /* a repeated [nerve.side] header was refused by the reader; a nerve
         * first created by one of its site headers is simply entered */
        if (add_nerve(p, nerve, parts[1], line, &ni))
            return -1;
        p->kind = SEC_NERVE;
        p->cur_nerve = ni;
        return 0;
    }
    if (!valid_site_name(parts[2]))
        return perr(p, line, NCS_ERR_INI_SECTION,
                    "invalid site name '%s': use lower-case letters, digits, '-' and '+'",
                    parts[2]), -1;
    if (add_nerve(p, nerve, parts[1], line, &ni))
        return -1;
    size_t si;
    if (add_site(p, ni, parts[2], line, &si))
        return -1;
    p->kind = SEC_SITE;
    p->cur_nerve = ni;
    p->cur_site = si;
    return 0;
}

/* ---- the line reader ----------------------------------------------------- */

/* Seen nerve headers, to refuse [median.right] twice. */
typedef struct {
    char name[160];
    int line;
} seen_header;

typedef struct {
    parser *p;
    seen_header *nerve_headers;
    size_t n_nh, cap_nh;
} reader_ctx;

static int note_nerve_header(reader_ctx *rc, const char *canon, int line)
{
    for (size_t i = 0; i < rc->n_nh; i++)
        if (strcmp(rc->nerve_headers[i].name, canon) == 0)
            return perr(rc->p, line, NCS_ERR_INI_DUPLICATE,
                        "duplicate section [%s] (first at line %d)", canon,
                        rc->nerve_headers[i].line), -1;
    if (rc->n_nh == rc->cap_nh) {
        size_t cap = rc->cap_nh ? rc->cap_nh * 2 : 8;
        seen_header *h = realloc(rc->nerve_headers, cap * sizeof *h);
        if (!h)
            return perr(rc->p, line, NCS_ERR_NOMEM, "out of memory"), -1;
        rc->nerve_headers = h;
        rc->cap_nh = cap;
    }
    snprintf(rc->nerve_headers[rc->n_nh].name, sizeof rc->nerve_headers[0].name,
             "%s", canon);
    rc->nerve_headers[rc->n_nh++].line = line;
    return 0;
}

/* Handles one header line (already known to start with '['). */
static int reader_header(reader_ctx *rc, const char *line, int lineno)
{
    parser *p = rc->p;
    const char *close = strchr(line, ']');
    if (!close)
        return perr(p, lineno, NCS_ERR_INI_SYNTAX,
                    "section header without closing ']'"), -1;
    const char *rest = close + 1;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (*rest && *rest != ';' && *rest != '#' && *rest != '\r' && *rest != '\n')
        return perr(p, lineno, NCS_ERR_INI_SYNTAX,
                    "unexpected text after section header"), -1;
    char sec[NCS_MAX_INI_LINE + 1];
    size_t n = (size_t)(close - line - 1);
    memcpy(sec, line + 1, n);
    sec[n] = '\0';
    /* trim */
    char *s = sec;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        s[--len] = '\0';
    if (!*s)
        return perr(p, lineno, NCS_ERR_INI_SECTION, "empty section name []"), -1;
    /* a [nerve.side] header seen twice is a duplicate */
    char copy[NCS_MAX_INI_LINE + 1];
    snprintf(copy, sizeof copy, "%s", s);
    int dots = 0;
    for (const char *c = copy; *c; c++)
        dots += *c == '.';
    if (dots == 1) {
        char *dot = strchr(copy, '.');
        *dot = '\0';
        const char *canon = ncs_nerve_canonical(copy);
        if (canon) {
            char full[128];
            snprintf(full, sizeof full, "%s.%.60s", canon, dot + 1);
            if (note_nerve_header(rc, full, lineno))
                return -1;
        }
    }
    return enter_section(p, s, lineno);
}

static char *reader(char *str, int num, void *stream)
{
    reader_ctx *rc = stream;
    parser *p = rc->p;
    if (p->fatal)
        return NULL;
    int r = ncs_text_next_line(&p->text, str, num);
    p->lineno = p->text.lineno;
    if (r < 0) {
        /* not text, or a line too long to read: nothing after it can be
         * trusted to be read as written */
        perr(p, p->lineno, p->text.code, "%s", p->text.msg);
        p->fatal = 1;
    }
    if (r <= 0)
        return NULL;
    const char *t = str;
    while (*t == ' ' || *t == '\t')
        t++;
    if (*t == '[') {
        if (reader_header(rc, t, p->lineno)) {
            p->section_errors++;
            p->kind = SEC_BAD;
            if (p->fatal)
                return NULL;
            strcpy(str, "\n"); /* said once, here; not again by inih */
        }
    } else if (str == t && *t && !strchr(";#\r\n", *t) && !strpbrk(t, "=:")) {
        /* what inih would refuse (it says only the first): each said here */
        size_t len = strcspn(t, "\r\n");
        perr(p, p->lineno, NCS_ERR_INI_SYNTAX,
             "'%.*s%s' is not a 'key = value' line or a [section] header",
             (int)(len > 40 ? 40 : len), t, len > 40 ? "..." : "");
        strcpy(str, "\n");
    }
    return str;
}

/* ---- values -------------------------------------------------------------- */

static int want_number(parser *p, const char *key, const char *value, double lo,
                       double hi, int lo_open, double *out)
{
    double v;
    if (ncs_parse_double(value, &v)) {
        /* a decimal comma: say so, with the number it meant */
        char dot[64];
        const char *comma = strchr(value, ',');
        int fixable = comma && !strchr(comma + 1, ',') && strlen(value) < sizeof dot;
        if (fixable) {
            snprintf(dot, sizeof dot, "%s", value);
            dot[comma - value] = '.';
            fixable = ncs_parse_double(dot, &v) == 0;
        }
        return perr(p, p->lineno, NCS_ERR_INI_VALUE, "%s = '%s' is not a number%s%s%s", key,
                    value, fixable ? " (use '.' for decimals: " : "", fixable ? dot : "",
                    fixable ? ")" : ""), -1;
    }
    if ((lo_open ? v <= lo : v < lo) || v > hi)
        return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                    "%s = %s is out of range (%s%.10g to %.10g)", key, value,
                    lo_open ? "above " : "", lo, hi), -1;
    *out = v;
    return 0;
}

static int want_polarity(parser *p, const char *key, const char *value, int *out)
{
    if (strcmp(value, "normal") == 0)
        *out = NCS_POLARITY_NORMAL;
    else if (strcmp(value, "inverted") == 0)
        *out = NCS_POLARITY_INVERTED;
    else
        return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                    "%s = '%s': expected normal or inverted", key, value), -1;
    return 0;
}

static int want_bool(parser *p, const char *key, const char *value, int *out)
{
    if (!strcmp(value, "yes") || !strcmp(value, "true") || !strcmp(value, "1"))
        *out = 1;
    else if (!strcmp(value, "no") || !strcmp(value, "false") || !strcmp(value, "0"))
        *out = 0;
    else
        return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                    "%s = '%s': expected yes or no", key, value), -1;
    return 0;
}

/* The code point of the UTF-8 sequence at s and its length in *len, or -1
 * for a sequence that is not well-formed (overlong, surrogate, cut). */
static long utf8_next(const unsigned char *s, int *len)
{
    long c;
    int n;
    if (s[0] < 0x80)
        return *len = 1, s[0];
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        c = s[0] & 0x1f, n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        c = s[0] & 0x0f, n = 3;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        c = s[0] & 0x07, n = 4;
    else
        return -1;
    for (int k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return -1;
        c = (c << 6) | (s[k] & 0x3f);
    }
    if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff))
        || (c >= 0xd800 && c <= 0xdfff))
        return -1;
    *len = n;
    return c;
}

/* Whether s is well-formed UTF-8 (every text of study.ini goes into UTF-8
 * outputs: results.json, the report). */
static int utf8_valid(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; ) {
        int n;
        if (utf8_next(c, &n) < 0)
            return 0;
        c += n;
    }
    return 1;
}

static int want_text(parser *p, const char *key, const char *value, char **out)
{
    if (!utf8_valid(value))
        return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                    "%s: the text is not UTF-8 (it was saved in another encoding, such as "
                    "Latin-1): save study.ini as UTF-8", key), -1;
    if (strchr(value, 0x7f))
        return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                    "%s: the text holds a control character (0x7f)", key), -1;
    free(*out);
    *out = ncs_strdup(value);
    if (!*out)
        return perr(p, p->lineno, NCS_ERR_NOMEM, "out of memory"), -1;
    return 0;
}

static int valid_date(const char *s)
{
    int y, m, d, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || n != 10)
        return 0;
    if (!isdigit((unsigned char)s[0]) || s[4] != '-' || s[7] != '-')
        return 0;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
        return 0;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 0;
    const char *t = s + 10;
    if (!*t)
        return 1;
    /* optional time: Thh:mm[:ss] */
    int hh, mm, ss = 0;
    n = 0;
    if (sscanf(t, "T%2d:%2d%n", &hh, &mm, &n) == 2 && (t[n] == '\0' ||
        (sscanf(t + n, ":%2d", &ss) == 1 && strlen(t + n) == 3)))
        return hh >= 0 && hh < 24 && mm >= 0 && mm < 60 && ss >= 0 && ss < 61;
    return 0;
}

/* An id names the study's output folder OUT/<id> and its rows in a batch's
 * summary.csv: letters, digits, '.', '_' and '-', starting with a letter, a
 * digit or '_' (never '.', nor '-', '+', '=' or '@' that a spreadsheet reads
 * as a formula), and not the name of a batch's own output. */
static const char *const reserved_ids[] = {"summary.csv", "batch.json"};

/* Letters beyond ASCII that an id may hold: the letters of the Latin,
 * Greek, Cyrillic, Armenian, Hebrew and Arabic scripts, and of Chinese,
 * Japanese and Korean (a fixed table, not the locale's, so an id is valid
 * or not everywhere). Punctuation, symbols, spaces and invisible or
 * direction-changing characters are not letters. */
static int id_letter(long c)
{
    static const long ranges[][2] = {
        {0x00c0, 0x00d6}, {0x00d8, 0x00f6}, {0x00f8, 0x024f}, /* Latin-1, Extended-A/B */
        {0x0386, 0x0386}, {0x0388, 0x03ff},                   /* Greek */
        {0x0400, 0x0481}, {0x048a, 0x052f},                   /* Cyrillic */
        {0x0531, 0x0556}, {0x0561, 0x0587},                   /* Armenian */
        {0x05d0, 0x05ea}, {0x0620, 0x064a},                   /* Hebrew, Arabic */
        {0x1e00, 0x1eff}, {0x1f00, 0x1ffc},                   /* Latin, Greek extended */
        {0x3041, 0x3096}, {0x30a1, 0x30fa},                   /* kana */
        {0x4e00, 0x9fff}, {0xac00, 0xd7a3},                   /* CJK, Hangul */
    };
    for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
        if (c >= ranges[i][0] && c <= ranges[i][1])
            return 1;
    return 0;
}

static int valid_id(const char *s)
{
    if (!*s || *s == '.' || *s == '-' || strlen(s) > 128)
        return 0;
    for (size_t k = 0; k < sizeof reserved_ids / sizeof reserved_ids[0]; k++)
        if (strcasecmp(s, reserved_ids[k]) == 0)
            return 0;
    for (const unsigned char *c = (const unsigned char *)s; *c; ) {
        int n;
        long cp = utf8_next(c, &n);
        if (cp < 0 || !(cp < 0x80 ? isalnum((int)cp) || cp == '-' || cp == '_' || cp == '.'
                                   : id_letter(cp)))
            return 0;
        c += n;
    }
    return 1;
}

int ncs_id_valid(const char *s)
{
    return s && valid_id(s);
}

#define ID_RULE "use letters (accented and other alphabets too), digits, '.', '_' and '-', " \
                "at most 128 bytes, starting with a letter, a digit or '_', and not " \
                "summary.csv or batch.json"

/* Marks `key` seen in a section; refuses a repeat. */
static int seen(parser *p, int *key_line, const char *key)
{
    if (*key_line > 0)
        return perr(p, p->lineno, NCS_ERR_INI_DUPLICATE,
                    "duplicate key '%s' (first at line %d)", key, *key_line), -1;
    *key_line = p->lineno;
    return 0;
}

/* The index of key `name` in keys, or -1 after an error that says what it
 * may be: the nearest key of the section (whose key_lines entry is then
 * marked -1, so it is not also said to be missing), the section it belongs
 * in, or the section's keys. */
static int lookup_key(parser *p, const char *name, const char *const *keys,
                      size_t nk, const char *section_kind, int *key_lines)
{
    for (size_t i = 0; i < nk; i++)
        if (strcmp(name, keys[i]) == 0)
            return (int)i;
    const char *best = suggest(name, keys, nk);
    if (best) {
        for (size_t i = 0; i < nk; i++)
            if (keys[i] == best && key_lines[i] == 0)
                key_lines[i] = -1;
        perr(p, p->lineno, NCS_ERR_INI_KEY, "unknown key '%s' in %s (did you mean '%s'?)",
             name, section_kind, best);
        return -1;
    }
    char hint[128];
    /* maybe a key (or a near miss of one) of another kind of section */
    const char *const *other[3] = {study_keys, nerve_keys, site_keys};
    const size_t on[3] = {SK__N, NK__N, TK__N};
    const char *kinds[3] = {"[study]", "a nerve section", "a site section"};
    for (int k = 0; k < 3; k++) {
        if (other[k] == keys)
            continue;
        for (size_t i = 0; i < on[k]; i++)
            if (strcmp(name, other[k][i]) == 0) {
                perr(p, p->lineno, NCS_ERR_INI_KEY, "key '%s' belongs in %s, not in %s",
                     name, kinds[k], section_kind);
                return -1;
            }
        if (did_you_mean(hint, sizeof hint, name, other[k], on[k])[0]) {
            perr(p, p->lineno, NCS_ERR_INI_KEY, "unknown key '%s' in %s%s; that key "
                 "belongs in %s", name, section_kind, hint, kinds[k]);
            return -1;
        }
    }
    char known[256];
    ncs_join(known, sizeof known, keys, nk, ", ");
    perr(p, p->lineno, NCS_ERR_INI_KEY, "unknown key '%s' in %s; its keys are %s", name,
         section_kind, known);
    return -1;
}

static int study_key(parser *p, const char *name, const char *value)
{
    ncs_study *st = p->st;
    int k = lookup_key(p, name, study_keys, SK__N, "[study]", p->study_key_line);
    if (k < 0 || seen(p, &p->study_key_line[k], name))
        return -1;
    switch (k) {
    case SK_ID:
        if (!valid_id(value))
            return perr(p, p->lineno, NCS_ERR_INI_VALUE, "id = '%s': " ID_RULE, value), -1;
        return want_text(p, name, value, &st->id);
    case SK_DATE:
        if (!valid_date(value))
            return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                        "date = '%s' is not an ISO 8601 date (YYYY-MM-DD)", value), -1;
        return want_text(p, name, value, &st->date);
    case SK_AGE:
        return want_number(p, name, value, 0, 130, 0, &st->age_years);
    case SK_HEIGHT:
        return want_number(p, name, value, 30, 260, 0, &st->height_cm);
    case SK_TEMP:
        return want_number(p, name, value, 15, 45, 0, &st->temperature_c);
    case SK_LFF: {
        long v;
        if (ncs_parse_int(value, &v) || (v != 2 && v != 5 && v != 10 && v != 20))
            return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                        "lff_hz = '%s': expected 2, 5, 10 or 20", value), -1;
        st->lff_hz = (int)v;
        st->lff_given = 1;
        return 0;
    }
    case SK_POL:
        return want_polarity(p, name, value, &p->study_polarity);
    case SK_PATIENT:
        return want_text(p, name, value, &st->patient);
    case SK_NORMS:
        return want_text(p, name, value, &st->norms);
    case SK_NOTE:
        return want_text(p, name, value, &st->note);
    }
    return -1;
}

static int nerve_key(parser *p, const char *name, const char *value)
{
    ncs_nerve_def *n = &p->st->nerves[p->cur_nerve];
    struct pnerve *pn = &p->pn[p->cur_nerve];
    char kind[128];
    snprintf(kind, sizeof kind, "nerve section [%s]", n->id);
    int k = lookup_key(p, name, nerve_keys, NK__N, kind, pn->key_line);
    if (k < 0 || seen(p, &pn->key_line[k], name))
        return -1;
    switch (k) {
    case NK_MUSCLE:
        return want_text(p, name, value, &n->muscle);
    case NK_TEMP:
        return want_number(p, name, value, 15, 45, 0, &n->temperature_c);
    case NK_POL:
        return want_polarity(p, name, value, &pn->polarity);
    case NK_NOTE:
        return want_text(p, name, value, &n->note);
    }
    return -1;
}

static int site_key(parser *p, const char *name, const char *value)
{
    ncs_nerve_def *n = &p->st->nerves[p->cur_nerve];
    ncs_site *s = &n->sites[p->cur_site];
    struct psite *ps = &p->pn[p->cur_nerve].ps[p->cur_site];
    char kind[160];
    snprintf(kind, sizeof kind, "site section [%s.%s]", n->id, s->name);
    int k = lookup_key(p, name, site_keys, TK__N, kind, ps->key_line);
    if (k < 0 || seen(p, &ps->key_line[k], name))
        return -1;
    switch (k) {
    case TK_FILE:
        return want_text(p, name, value, &s->file);
    case TK_DIST:
        /* 5 mm (an inching step is 10 mm or more) to 2 m: beyond, the
         * number is in another unit or mistyped */
        return want_number(p, name, value, 5, 2000, 0, &s->distance_mm);
    case TK_CHANNEL: {
        long v;
        /* a number, or an EDF signal's label ("EMG APB"; checked against
         * the file when it is read) */
        if (!ncs_parse_int(value, &v)) {
            if (v < 1 || v > 1024)
                return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                            "channel = '%s': expected a channel number from 1", value), -1;
            s->channel = (int)v;
            s->channel_given = 1;
            return 0;
        }
        if (!*value || strlen(value) > 16 || isdigit((unsigned char)value[0]) ||
            value[0] == '-' || value[0] == '+')
            return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                        "channel = '%s': expected a channel number from 1 or an EDF "
                        "signal's label (up to 16 characters)", value), -1;
        s->channel_given = 1;
        return want_text(p, name, value, &s->channel_label);
    }
    case TK_RECORD: {
        long v;
        if (ncs_parse_int(value, &v) || v < 1 || v > 100000000L)
            return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                        "record = '%s': expected an EDF+ data record's number from 1",
                        value), -1;
        s->record = (int)v;
        return 0;
    }
    case TK_ANNOT:
        if (!*value)
            return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                        "annotation = is empty: give the text of the EDF+ annotation that "
                        "names this site's record"), -1;
        return want_text(p, name, value, &s->annotation);
    case TK_STIM:
        s->stim_given = 1;
        /* on the file's own time axis, which may start before zero */
        return want_number(p, name, value, -NCS_MAX_SWEEP_MS, NCS_MAX_SWEEP_MS, 0, &s->stim_ms);
    case TK_SCALE:
        /* full scale of an EMG channel: 1 uV to 100 V */
        return want_number(p, name, value, 1e-3, 1e5, 0, &s->scale_mv);
    case TK_UNITS:
        s->units_given = 1;
        if (!strcmp(value, "mV") || !strcmp(value, "mv"))
            s->units = NCS_UNITS_MV;
        else if (!strcmp(value, "uV") || !strcmp(value, "uv") || !strcmp(value, "\xc2\xb5V"))
            s->units = NCS_UNITS_UV;
        else if (!strcmp(value, "V") || !strcmp(value, "v"))
            s->units = NCS_UNITS_V;
        else
            return perr(p, p->lineno, NCS_ERR_INI_VALUE,
                        "units = '%s': expected mV, uV or V", value), -1;
        return 0;
    case TK_RATE:
        return want_number(p, name, value, NCS_MIN_RATE_HZ, NCS_MAX_RATE_HZ, 0,
                           &s->rate_hz);
    case TK_POL:
        return want_polarity(p, name, value, &ps->polarity);
    case TK_ONSET:
        return want_number(p, name, value, 0, NCS_MAX_SWEEP_MS, 0, &s->onset_ms);
    case TK_PEAK:
        return want_number(p, name, value, 0, NCS_MAX_SWEEP_MS, 0, &s->peak_ms);
    case TK_END:
        return want_number(p, name, value, 0, NCS_MAX_SWEEP_MS, 0, &s->end_ms);
    case TK_EXCLUDE:
        return want_bool(p, name, value, &s->exclude);
    case TK_ENTRAP:
        return want_bool(p, name, value, &s->entrapment);
    case TK_NOTE:
        return want_text(p, name, value, &s->note);
    }
    return -1;
}

/* A key of the current section seen, though its value was refused. */
static void mark_written(parser *p, const char *name)
{
    const char *const *keys = NULL;
    size_t nk = 0;
    int *lines = NULL;
    if (p->kind == SEC_STUDY)
        keys = study_keys, nk = SK__N, lines = p->study_key_line;
    else if (p->kind == SEC_NERVE)
        keys = nerve_keys, nk = NK__N, lines = p->pn[p->cur_nerve].key_line;
    else if (p->kind == SEC_SITE)
        keys = site_keys, nk = TK__N,
        lines = p->pn[p->cur_nerve].ps[p->cur_site].key_line;
    for (size_t i = 0; i < nk; i++)
        if (strcmp(name, keys[i]) == 0 && lines[i] == 0)
            lines[i] = p->lineno;
}

static int handler(void *user, const char *section, const char *name,
                   const char *value)
{
    reader_ctx *rc = user;
    parser *p = rc->p;
    (void)section;
    if (p->fatal)
        return 0;
    if (p->kind == SEC_BAD)
        return 1;
    if (!value || !*value) {
        perr(p, p->lineno, NCS_ERR_INI_VALUE,
             "key '%s' has no value: give one, or delete the line", name);
        mark_written(p, name); /* (then it is not also missing) */
        return 1;
    }
    switch (p->kind) {
    case SEC_STUDY:
        study_key(p, name, value);
        break;
    case SEC_NERVE:
        nerve_key(p, name, value);
        break;
    case SEC_SITE:
        site_key(p, name, value);
        break;
    default:
        perr(p, p->lineno, NCS_ERR_INI_SECTION,
             "key '%s' before any section; start with [study] or a nerve section",
             name);
        p->kind = SEC_BAD; /* said once for the keys up to the first header */
    }
    /* an error is recorded and the parse goes on: inih's own count of
     * errors is left to lines it cannot read */
    return !p->fatal;
}

/* ---- after parsing: required keys, files, defaults ----------------------- */

/* Whether names a and b differ only in their side: one 'l' for one 'r' (or
 * 'left' for 'right') standing as its own word (between non-letters). */
static int side_swapped(const char *a, const char *b)
{
    static const char *const pair[2][2] = {{"l", "r"}, {"left", "right"}};
    for (int k = 0; k < 2; k++)
        for (int w = 0; w < 2; w++) {
            const char *x = pair[k][w], *y = pair[k][1 - w];
            size_t lx = strlen(x), ly = strlen(y), la = strlen(a);
            for (size_t i = 0; i + lx <= la; i++) {
                if (strncasecmp(a + i, x, lx) != 0 || (i > 0 && isalpha((unsigned char)a[i - 1]))
                    || isalpha((unsigned char)a[i + lx]))
                    continue;
                if (strncmp(a, b, i) == 0 && strncasecmp(b + i, y, ly) == 0
                    && strcmp(a + i + lx, b + i + ly) == 0)
                    return 1;
            }
        }
    return 0;
}

/* "; there is 'median_r_wrist.wav' (names are case-sensitive)" when a file
 * in f's folder differs from f's name only in case, or "; did you mean
 * 'x'?" when one is a near miss of it; else "". Into buf. */
static const char *file_hint(char *buf, size_t n, const char *dir, const char *f)
{
    buf[0] = '\0';
    const char *slash = strrchr(f, '/');
    const char *base = slash ? slash + 1 : f;
    char *folder = slash ? ncs_asprintf("%s/%.*s", dir, (int)(slash - f), f)
                         : ncs_strdup(dir);
    DIR *d = folder ? opendir(folder) : NULL;
    free(folder);
    if (!d)
        return buf;
    enum { MAX_NAMES = 4096 };
    char **names = calloc(MAX_NAMES, sizeof *names);
    size_t count = 0;
    const struct dirent *e;
    while (names && count < MAX_NAMES && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (strcasecmp(e->d_name, base) == 0) {
            snprintf(buf, n, "; there is '%.*s%.200s' (names are case-sensitive: write it "
                     "as it is)", (int)(base - f), f, e->d_name);
            break;
        }
        if (strlen(e->d_name) <= 64 && (names[count] = ncs_strdup(e->d_name)) != NULL)
            count++;
    }
    closedir(d);
    if (!buf[0] && count) {
        const char *best = ncs_nearest(base, (const char *const *)names, count);
        /* (the other side's recording is no near miss: a tired eye would
         * take the wrong arm's) */
        if (best && side_swapped(base, best))
            snprintf(buf, n, "; '%.*s%s' is there, but that is the other side's", (int)(base - f),
                     f, best);
        else if (best)
            snprintf(buf, n, "; did you mean '%.*s%s'?", (int)(base - f), f, best);
    }
    for (size_t i = 0; names && i < count; i++)
        free(names[i]);
    free(names);
    return buf;
}

/* Joins dir and rel; checks rel is relative, has no "..", and that the file
 * it names exists, is a regular file and (symlinks resolved) lies inside
 * dir. */
/* Resolves `key = f` against the study folder into *out: relative, no
 * '..', and no link that leads outside the folder (docs/study-folder.md). */
static int resolve_path(parser *p, const char *dir_real, const char *key, const char *f,
                        char **out, int line, const char *where)
{
    if (f[0] == '/')
        return perr(p, line, NCS_ERR_PATH,
                    "%s: %s = '%s' is an absolute path; give a path relative "
                    "to the study folder", where, key, f), -1;
    for (const char *c = f; *c; ) {
        const char *slash = strchr(c, '/');
        size_t n = slash ? (size_t)(slash - c) : strlen(c);
        if (n == 2 && c[0] == '.' && c[1] == '.')
            return perr(p, line, NCS_ERR_PATH,
                        "%s: %s = '%s' leaves the study folder ('..')", where, key, f), -1;
        if (!slash)
            break;
        c = slash + 1;
    }
    if (strchr(f, '\\'))
        return perr(p, line, NCS_ERR_PATH,
                    "%s: %s = '%s' contains '\\'; use '/' between folders", where, key, f), -1;
    *out = ncs_asprintf("%s/%s", p->st->dir, f);
    if (!*out)
        return perr(p, line, NCS_ERR_NOMEM, "out of memory"), -1;
    char *real = realpath(*out, NULL);
    if (!real) {
        if (errno == ENOENT || errno == ENOTDIR) {
            char hint[600];
            return perr(p, line, NCS_ERR_IO, "%s: file '%s' not found in %s%s", where,
                        f, p->st->dir, file_hint(hint, sizeof hint, p->st->dir, f)), -1;
        }
        return perr(p, line, NCS_ERR_IO, "%s: file '%s': %s", where, f,
                    strerror(errno)), -1;
    }
    size_t dl = strlen(dir_real);
    int inside = strncmp(real, dir_real, dl) == 0 &&
                 (real[dl] == '/' || (dl == 1 && dir_real[0] == '/'));
    struct stat sb;
    int st_ok = stat(real, &sb) == 0;
    free(real);
    if (!inside)
        return perr(p, line, NCS_ERR_PATH,
                    "%s: file '%s' is a link that leads outside the study folder",
                    where, f), -1;
    if (!st_ok || !S_ISREG(sb.st_mode))
        return perr(p, line, NCS_ERR_IO, "%s: '%s' is not a regular file", where,
                    f), -1;
    return 0;
}

/* Sites as anatomy (docs/study-folder.md): the sites ncs can place on the
 * nerve (known names, their abbreviations, inching names) listed distal
 * first, else an error naming both. */
static int check_anatomy(parser *p, const ncs_nerve_def *n)
{
    if (!ncs_site_known(n->nerve, 0))
        return 0; /* a nerve without a vocabulary */
    ncs_site_place prev = {0};
    const ncs_site *ps = NULL;
    for (size_t j = 0; j < n->n_sites; j++) {
        const ncs_site *s = &n->sites[j];
        ncs_site_place pl;
        if (!ncs_site_place_of(n->nerve, s->name, &pl))
            continue; /* warned as unknown-site (ncs_study_plausibility) */
        if (ps && ncs_site_place_cmp(&pl, &prev) <= 0)
            return perr(p, s->line, NCS_ERR_INI_VALUE,
                        "[%s.%s] is listed after [%s.%s] (line %d) but lies %s it: list the "
                        "sites distal first, in the order the nerve is followed",
                        n->id, s->name, n->id, ps->name, ps->line,
                        ncs_site_place_cmp(&pl, &prev) == 0 ? "at the same place as"
                                                            : "distal to"), -1;
        prev = pl;
        ps = s;
    }
    return 0;
}

/* A folder's name as the study's id (no id = given). */
static void id_from_folder(parser *p, const char *dir_real)
{
    ncs_study *st = p->st;
    const char *base = strrchr(dir_real, '/');
    base = base ? base + 1 : dir_real;
    /* a folder's name is the id of a study analysed on its own
     * whatever it is ('patient 01', 'Müller, Hans'); a batch, which names
     * output folders and summary.csv rows by it, needs a safe one */
    for (const unsigned char *c = (const unsigned char *)base; *c; c++)
        if (*c < 0x20 || *c == 0x7f) {
            perr(p, 0, NCS_ERR_INI_MISSING,
                 "the folder's name holds a control character and cannot be the "
                 "study's id: set id = in [study] (%s)", ID_RULE);
            return;
        }
    st->id_unsafe = !valid_id(base);
    st->id = ncs_strdup(base);
    if (!st->id)
        perr(p, 0, NCS_ERR_NOMEM, "out of memory");
}

/* One site's required keys, markers and file; every error is said, and the
 * next site is checked all the same. A key that was written (key_line set,
 * or -1: an unknown key taken for it) is not missing, even when its value
 * was refused. */
static void finish_site(parser *p, const char *dir_real, const ncs_nerve_def *n,
                        const struct pnerve *pn, size_t j)
{
    ncs_site *s = &n->sites[j];
    const struct psite *ps = &pn->ps[j];
    char where[256];
    snprintf(where, sizeof where, "[%s.%s]", n->id, s->name);
    if (!ps->key_line[TK_FILE])
        perr(p, s->line, NCS_ERR_INI_MISSING,
             "%s: missing required key 'file' (add file = <the waveform's file name>)", where);
    if (!ps->key_line[TK_DIST])
        perr(p, s->line, NCS_ERR_INI_MISSING,
             "%s: missing required key 'distance_mm' (%s, in mm)", where,
             j == 0 ? "the first site's: from the stimulation point to the active electrode"
                    : "from the previous site, along the nerve");
    if (!isnan(s->onset_ms) && !isnan(s->peak_ms) && s->peak_ms <= s->onset_ms)
        perr(p, ps->key_line[TK_PEAK], NCS_ERR_INI_VALUE,
             "%s: peak_ms %g is not after onset_ms %g", where, s->peak_ms, s->onset_ms);
    if (s->record && s->annotation)
        perr(p, ps->key_line[TK_ANNOT], NCS_ERR_INI_VALUE,
             "%s: both record = and annotation = choose the EDF+ record: keep one", where);
    double before_end = !isnan(s->peak_ms) ? s->peak_ms : s->onset_ms;
    if (!isnan(s->end_ms) && !isnan(before_end) && s->end_ms <= before_end)
        perr(p, ps->key_line[TK_END], NCS_ERR_INI_VALUE, "%s: end_ms %g is not after %s %g",
             where, s->end_ms, !isnan(s->peak_ms) ? "peak_ms" : "onset_ms", before_end);
    s->polarity = ps->polarity >= 0 ? (ncs_polarity)ps->polarity
                : pn->polarity >= 0 ? (ncs_polarity)pn->polarity
                : p->st->polarity;
    s->inside = dir_real;
    s->ini = p->st->ini_path;
    s->marker_line[0] = ps->key_line[TK_ONSET];
    s->marker_line[1] = ps->key_line[TK_PEAK];
    s->marker_line[2] = ps->key_line[TK_END];
    if (s->file)
        resolve_path(p, dir_real, "file", s->file, &s->path, ps->key_line[TK_FILE], where);
}

static int finish(parser *p)
{
    ncs_study *st = p->st;
    char *dir_real = realpath(st->dir, NULL);
    if (!dir_real) {
        p->fatal = 1;
        return perr(p, 0, NCS_ERR_IO, "cannot resolve folder %s: %s", st->dir,
                    strerror(errno)), -1;
    }
    /* (a refused section header may be the missing nerve or site: its own
     * error says it) */
    if (st->n_nerves == 0 && !p->section_errors && p->text.len == 0)
        perr(p, 0, NCS_ERR_INI_MISSING,
             "the file is empty (0 bytes): write a [<nerve>.<side>.<site>] section per "
             "trace, with file and distance_mm (ncs init FOLDER writes one from the "
             "waveform files' names)");
    else if (st->n_nerves == 0 && !p->section_errors)
        perr(p, 0, NCS_ERR_INI_MISSING,
             "no nerve sections: add [<nerve>.<side>.<site>] sections "
             "with file and distance_mm");
    if (!st->id && !p->study_key_line[SK_ID])
        id_from_folder(p, dir_real);
    if (p->study_polarity >= 0)
        st->polarity = (ncs_polarity)p->study_polarity;
    for (size_t i = 0; i < st->n_nerves && !p->fatal; i++) {
        ncs_nerve_def *n = &st->nerves[i];
        if (n->n_sites == 0 && !p->section_errors)
            perr(p, n->line, NCS_ERR_INI_MISSING,
                 "nerve [%s] has no stimulation sites; add [%s.<site>] "
                 "sections", n->id, n->id);
        if (isnan(n->temperature_c))
            n->temperature_c = st->temperature_c;
        for (size_t j = 0; j < n->n_sites && !p->fatal; j++)
            finish_site(p, dir_real, n, &p->pn[i], j);
        if (!p->fatal)
            check_anatomy(p, n);
    }
    if (!p->fatal && st->norms) {
        /* a lab's table named by the study stays inside it like its files
         * (a shared table is given with --norms) */
        char *path = NULL;
        if (resolve_path(p, dir_real, "norms", st->norms, &path,
                         p->study_key_line[SK_NORMS], "[study]")) {
            free(path);
        } else {
            free(st->norms);
            st->norms = path;
        }
    }
    st->dir_real = dir_real; /* the sites' `inside` */
    return p->failed ? -1 : 0;
}

/* ---- entry points -------------------------------------------------------- */

void ncs_study_destroy(ncs_study *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->n_nerves; i++) {
        ncs_nerve_def *n = &st->nerves[i];
        for (size_t j = 0; j < n->n_sites; j++) {
            ncs_site *s = &n->sites[j];
            free(s->name);
            free(s->file);
            free(s->path);
            free(s->note);
            free(s->channel_label);
            free(s->annotation);
        }
        free(n->sites);
        free(n->id);
        free(n->nerve);
        free(n->side);
        free(n->muscle);
        free(n->note);
    }
    free(st->nerves);
    free(st->dir);
    free(st->ini_path);
    free(st->id);
    free(st->date);
    free(st->patient);
    free(st->norms);
    free(st->note);
    free(st->dir_real);
    free(st);
}

/* "no study.ini in this folder", and when its subfolders are studies, how
 * many and that ncs batch is for a folder of them (a technician gives the
 * folder above a study by a slip). */
static void not_a_study(const char *dir, ncs_error *err)
{
    DIR *d = opendir(dir);
    int n = 0;
    char first[NAME_MAX + 1] = "";
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[PATH_MAX];
        struct stat sb;
        if (snprintf(path, sizeof path, "%s/%s/study.ini", dir, e->d_name) < (int)sizeof path
            && stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && n++ == 0)
            snprintf(first, sizeof first, "%s", e->d_name);
    }
    if (d)
        closedir(d);
    if (n)
        ncs_fail(err, NCS_ERR_NOT_STUDY, dir,
                 "no study.ini in this folder (not a study folder); %d of its folders %s one "
                 "(%s%s): 'ncs batch' analyses a folder of studies",
                 n, n == 1 ? "holds" : "hold", first, n > 1 ? ", ..." : "");
    else
        ncs_fail(err, NCS_ERR_NOT_STUDY, dir, "no study.ini in this folder (not a study folder)");
}

/* study.ini read and parsed; with peek, only that (no file is looked at,
 * nothing fails): what the id is, read by the one reader. */
/* The values ncs init wrote as guesses ("key = value ; GUESS, confirm: ...")
 * still so marked: a comment-only line does not count. */
static void count_guessed(ncs_study *st, const char *buf, size_t len)
{
    int line = 1;
    for (size_t i = 0; i < len; line++) {
        size_t e = i;
        while (e < len && buf[e] != '\n')
            e++;
        size_t a = i;
        while (a < e && (buf[a] == ' ' || buf[a] == '\t'))
            a++;
        if (a < e && buf[a] != ';' && buf[a] != '#' && buf[a] != '[') {
            const char *c = memchr(buf + a, ';', e - a);
            while (c && (size_t)(c - buf) < e) {
                size_t k = (size_t)(c - buf) + 1;
                while (k < e && buf[k] == ' ')
                    k++;
                if (e - k >= 5 && memcmp(buf + k, "GUESS", 5) == 0) {
                    if (st->n_guessed++ == 0)
                        st->first_guessed_line = line;
                    break;
                }
                c = memchr(buf + k, ';', e - k);
            }
        }
        i = e + 1;
    }
}

static ncs_study *load(const char *dir, int peek, ncs_warnings *warn, ncs_error *err)
{
    ncs_error_clear(err);
    if (!dir || !*dir) {
        ncs_fail(err, NCS_ERR_USAGE, "", "no study folder given");
        return NULL;
    }
    ncs_ini_setup();

    ncs_study *st = calloc(1, sizeof *st);
    if (!st) {
        ncs_fail(err, NCS_ERR_NOMEM, dir, "out of memory");
        return NULL;
    }
    size_t dl = strlen(dir);
    while (dl > 1 && dir[dl - 1] == '/')
        dl--;
    st->dir = ncs_asprintf("%.*s", (int)dl, dir);
    st->ini_path = st->dir ? ncs_asprintf("%s/study.ini", st->dir) : NULL;
    st->age_years = st->height_cm = st->temperature_c = NAN;
    st->lff_hz = 2;
    st->polarity = NCS_POLARITY_NORMAL;
    if (!st->dir || !st->ini_path) {
        ncs_fail(err, NCS_ERR_NOMEM, dir, "out of memory");
        ncs_study_destroy(st);
        return NULL;
    }

    struct stat sb;
    if (stat(st->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        ncs_fail(err, NCS_ERR_NOT_STUDY, st->dir, "not a folder%s%s",
                 errno ? ": " : "", errno ? strerror(errno) : "");
        ncs_study_destroy(st);
        return NULL;
    }
    size_t len = 0;
    ncs_error e;
    errno = 0;
    char *buf = ncs_read_input(st->ini_path, NULL, NCS_MAX_INI_BYTES, &len, &st->ini_hash, &e);
    if (!buf) {
        if (e.code == NCS_ERR_LIMIT)
            ncs_fail(err, NCS_ERR_LIMIT, st->ini_path,
                     "study.ini is larger than %d bytes", NCS_MAX_INI_BYTES);
        else if (errno == ENOENT)
            not_a_study(st->dir, err);
        else if (err)
            *err = e;
        ncs_study_destroy(st);
        return NULL;
    }

    parser p;
    memset(&p, 0, sizeof p);
    p.st = st;
    p.text.buf = buf;
    p.text.len = len;
    p.text.what = "study.ini";
    p.ini_name = st->ini_path;
    p.err = err;
    p.warn = warn;
    p.study_polarity = -1;
    p.kind = SEC_NONE;
    reader_ctx rc = {.p = &p};
    p.errs = peek ? NULL : calloc(NCS_MAX_ERRORS, sizeof *p.errs);

    int r = ini_parse_stream(reader, &rc, handler, &rc);
    if (peek) {
        p.failed = 0;
    } else if (!p.fatal && r != 0) {
        /* a line inih could not read that the reader let through (it says
         * the first only) */
        if (r > 0)
            perr(&p, r, NCS_ERR_INI_SYNTAX,
                 "not a 'key = value' line or a [section] header");
        else
            perr(&p, 0, NCS_ERR_NOMEM, "out of memory while parsing");
    }
    if (!p.fatal && !peek)
        finish(&p);
    if (!p.errs && p.failed)
        ncs_fail(err, NCS_ERR_NOMEM, st->ini_path, "out of memory");
    else
        emit_errors(&p);
    free(p.errs);

    free(rc.nerve_headers);
    for (size_t i = 0; i < st->n_nerves; i++)
        free(p.pn[i].ps);
    free(p.pn);
    count_guessed(st, buf, len);
    free(buf);
    if (p.failed) {
        ncs_study_destroy(st);
        return NULL;
    }
    return st;
}

ncs_study *ncs_study_load(const char *dir, ncs_warnings *warn, ncs_error *err)
{
    return load(dir, 0, warn, err);
}

/* ---- the id alone (batch: duplicate ids before any work) ----------------- */

char *ncs_study_peek_id(const char *dir)
{
    ncs_error err;
    ncs_study *st = load(dir, 1, NULL, &err);
    char *id = NULL;
    if (st && st->id) {
        id = ncs_strdup(st->id);
    } else {
        char *real = realpath(dir, NULL);
        const char *base = real ? strrchr(real, '/') : NULL;
        id = ncs_strdup(base && base[1] ? base + 1 : "study");
        free(real);
    }
    ncs_study_destroy(st);
    return id;
}

/* ---- plausibility (warnings, never refusals) ----------------------------- */

/* " (was 230 mm meant? cm vs mm)": the value times or over ten when that
 * lies in [lo, hi]; else "". */
static const char *slip_hint(char *buf, size_t n, double v, double lo, double hi)
{
    if (v * 10.0 >= lo && v * 10.0 <= hi)
        snprintf(buf, n, ": was %g mm meant? (cm written for mm)", v * 10.0);
    else if (v / 10.0 >= lo && v / 10.0 <= hi)
        snprintf(buf, n, ": was %g mm meant? (a digit too many?)", v / 10.0);
    else
        buf[0] = '\0';
    return buf;
}

/* A site ncs cannot place on its nerve (docs/study-folder.md, site names):
 * warned with the nerve's known sites (unknown-site). */
static void unknown_sites(const ncs_study *st, const ncs_nerve_def *n, ncs_warnings *warn)
{
    if (!ncs_site_known(n->nerve, 0))
        return; /* a nerve without a vocabulary */
    for (size_t j = 0; j < n->n_sites; j++) {
        const ncs_site *s = &n->sites[j];
        if (ncs_site_place_of(n->nerve, s->name, NULL))
            continue;
        const char *known[24];
        size_t k = 0;
        while (k < 24 && (known[k] = ncs_site_known(n->nerve, k)))
            k++;
        const char *eg = known[0];
        for (size_t i = 0; i < k; i++)
            if (strcmp(known[i], "wrist") == 0 || strcmp(known[i], "ankle") == 0)
                eg = known[i];
        char list[400], where[1100], near[96];
        snprintf(where, sizeof where, "%s:%d", st->ini_path, s->line);
        ncs_warn(warn, where, "unknown-site",
                 "[%s.%s]: '%s' is not a site ncs knows on the %s nerve%s (%s; inching: "
                 "<site>+<mm> proximal or <site>-<mm> distal to one, e.g. %s+20): whether "
                 "its segments cross an entrapment site is unknown%s", n->id, s->name,
                 s->name, n->nerve, did_you_mean(near, sizeof near, s->name, known, k),
                 ncs_join(list, sizeof list, known, k, ", "), eg,
                 s->entrapment >= 0 ? "" : " unless entrapment = says");
    }
}

void ncs_study_plausibility(const ncs_study *st, ncs_warnings *warn)
{
    if (!st || !warn)
        return;
    if (st->n_guessed) {
        char where[1100];
        snprintf(where, sizeof where, "%s:%d", st->ini_path, st->first_guessed_line);
        ncs_warn(warn, where, "guessed",
                 "study.ini still holds %d value%s marked GUESS by ncs init (the first at "
                 "line %d): a guessed distance, stimulus time or rate gives wrong latencies "
                 "and CVs; measure or confirm each and delete its '; GUESS' comment",
                 st->n_guessed, st->n_guessed == 1 ? "" : "s", st->first_guessed_line);
    }
    for (size_t i = 0; i < st->n_nerves; i++)
        unknown_sites(st, &st->nerves[i], warn);
    for (size_t i = 0; i < st->n_nerves; i++) {
        const ncs_nerve_def *n = &st->nerves[i];
        for (size_t j = 0; j < n->n_sites; j++) {
            const ncs_site *s = &n->sites[j];
            double lo = j ? NCS_SEGMENT_PLAUSIBLE_MIN_MM : NCS_DISTAL_PLAUSIBLE_MIN_MM;
            double hi = j ? NCS_SEGMENT_PLAUSIBLE_MAX_MM : NCS_DISTAL_PLAUSIBLE_MAX_MM;
            double v = s->distance_mm;
            if (!isfinite(v) || (v >= lo && v <= hi))
                continue;
            char where[512], hint[96];
            snprintf(where, sizeof where, "%s/%s.%s", st->id, n->id, s->name);
            if (j == 0)
                ncs_warn(warn, where, "implausible-distance",
                         "distance_mm = %g (the distal site's, stimulation point to active "
                         "electrode) is outside %g-%g mm%s", v, lo, hi,
                         slip_hint(hint, sizeof hint, v, lo, hi));
            else
                ncs_warn(warn, where, "implausible-distance",
                         "distance_mm = %g (the segment %s-%s) is outside %g-%g mm%s; the "
                         "conduction velocity is computed from it", v, n->sites[j - 1].name,
                         s->name, lo, hi, slip_hint(hint, sizeof hint, v, lo, hi));
        }
    }
}
