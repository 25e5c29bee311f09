/* norms.c — the reference values of docs/criteria.md: the built-in table (4.2), a
 * lab's own table read over it (4.3), and `ncs norms`. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "internal.h"

#define BUILTIN_SOURCE "Preston & Shapiro, Electromyography and Neuromuscular " \
                       "Disorders, appendix (adults)"

/* docs/criteria.md. Source: Preston DC, Shapiro BE. Electromyography and
 * Neuromuscular Disorders, appendix: adult motor conduction norms. */
static const ncs_norm builtin[] = {
    {"median", "APB", 4.0, 4.4, 70, 49, BUILTIN_SOURCE},
    {"ulnar", "ADM", 6.0, 3.3, 70, 49, BUILTIN_SOURCE},
    {"fibular", "EDB", 2.0, 6.5, 90, 44, BUILTIN_SOURCE},
    {"tibial", "AHB", 4.0, 5.8, 90, 41, BUILTIN_SOURCE},
    /* (the book gives these limits without a distal distance) */
    {"ulnar", "FDI", 7.0, 4.5, NAN, 49, BUILTIN_SOURCE},
    {"radial", "EIP", 2.0, 2.9, NAN, 49, BUILTIN_SOURCE},
};

/* The usual names of the recording muscles, by their abbreviation. */
static const struct {
    const char *name, *code;
} muscle_aliases[] = {
    {"abductor pollicis brevis", "APB"},
    {"ADQ", "ADM"},
    {"abductor digiti minimi", "ADM"},
    {"abductor digiti quinti", "ADM"},
    {"hypothenar", "ADM"},
    {"thenar", "APB"},
    {"AH", "AHB"},
    {"abductor hallucis", "AHB"},
    {"abductor hallucis brevis", "AHB"},
    {"extensor digitorum brevis", "EDB"},
    {"first dorsal interosseous", "FDI"},
    {"1st dorsal interosseous", "FDI"},
    {"1DI", "FDI"},
    {"FDI1", "FDI"},
    {"EI", "EIP"},
    {"extensor indicis", "EIP"},
    {"extensor indicis proprius", "EIP"},
};

/* A muscle's abbreviation for matching (the name itself when it has none). */
static const char *muscle_code(const char *m)
{
    for (size_t i = 0; i < sizeof muscle_aliases / sizeof muscle_aliases[0]; i++)
        if (strcasecmp(m, muscle_aliases[i].name) == 0)
            return muscle_aliases[i].code;
    return m;
}

int ncs_muscle_same(const char *a, const char *b)
{
    if (!a || !*a || !b || !*b)
        return (!a || !*a) && (!b || !*b);
    return strcasecmp(muscle_code(a), muscle_code(b)) == 0;
}

const ncs_norm *ncs_norms_find_muscle(const ncs_norms *n, const char *nerve, const char *muscle)
{
    if (!muscle || !*muscle)
        return ncs_norms_find(n, nerve);
    if (!n || !nerve)
        return NULL;
    const char *want = muscle_code(muscle);
    for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->items[i].nerve, nerve) == 0
            && strcasecmp(muscle_code(n->items[i].muscle), want) == 0)
            return &n->items[i];
    return NULL;
}

static const char *const abnormal_names[NCS_ABN__COUNT] = {"dml-prolonged", "amp-low",
                                                           "cv-slow"};

const char *ncs_abnormal_name(unsigned bit)
{
    for (int i = 0; i < NCS_ABN__COUNT; i++)
        if (bit == 1u << i)
            return abnormal_names[i];
    return NULL;
}

size_t ncs_abnormal_names(unsigned bits, const char *names[])
{
    size_t n = 0;
    for (int k = 0; k < NCS_ABN__COUNT; k++)
        if (bits & (1u << k))
            names[n++] = ncs_abnormal_name(1u << k);
    return n;
}

double ncs_norm_temperature_c(const char *nerve)
{
    static const char *const upper[] = {"median", "ulnar", "radial", "musculocutaneous",
                                        "axillary"};
    if (strcmp(nerve, "fibular") == 0 || strcmp(nerve, "tibial") == 0)
        return 30.0;
    for (size_t i = 0; i < sizeof upper / sizeof upper[0]; i++)
        if (strcmp(nerve, upper[i]) == 0)
            return 32.0;
    return NAN;
}

void ncs_norms_builtin(ncs_norms *n)
{
    memset(n, 0, sizeof *n);
    n->n = sizeof builtin / sizeof builtin[0];
    memcpy(n->items, builtin, sizeof builtin);
    snprintf(n->origin, sizeof n->origin, "built-in");
}

const ncs_norm *ncs_norms_find(const ncs_norms *n, const char *nerve)
{
    if (!n || !nerve)
        return NULL;
    for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->items[i].nerve, nerve) == 0)
            return &n->items[i];
    return NULL;
}

/* ---- a lab's table ------------------------------------------------------- */

enum { K_MUSCLE, K_AMP, K_DML, K_DIST, K_CV, K__N };
static const char *const keys[K__N] = {"muscle", "amp_lln_mv", "dml_uln_ms",
                                       "dml_distance_mm", "cv_lln_m_s"};

typedef struct {
    const char *path;
    ncs_text text;
    ncs_error *err;
    int failed;
    size_t n;
    ncs_norm items[NCS_MAX_NORMS];
    int section_line[NCS_MAX_NORMS];
    unsigned seen[NCS_MAX_NORMS]; /* keys given, bits of K_* */
    int cur;                      /* section of the current line, -1 none */
} lab;

static int lab_fail(lab *l, ncs_status code, const char *fmt, ...) NCS_PRINTF(3, 4);

static int lab_fail(lab *l, ncs_status code, const char *fmt, ...)
{
    if (l->failed)
        return -1;
    char msg[sizeof l->err->message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char where[600];
    if (l->text.lineno > 0)
        snprintf(where, sizeof where, "%s:%d", l->path, l->text.lineno);
    else
        snprintf(where, sizeof where, "%s", l->path);
    ncs_fail(l->err, code, where, "%s", msg);
    l->failed = 1;
    return -1;
}

/* A [section] header: one nerve, named once. */
static int lab_header(lab *l, const char *line)
{
    const char *close = strchr(line, ']');
    if (!close)
        return lab_fail(l, NCS_ERR_INI_SYNTAX, "section header without ']'");
    char name[64];
    size_t len = (size_t)(close - line - 1);
    if (len >= sizeof name)
        return lab_fail(l, NCS_ERR_INI_SECTION, "section name too long");
    memcpy(name, line + 1, len);
    name[len] = '\0';
    const char *canon = ncs_nerve_canonical(name);
    if (!canon) {
        const char *near = ncs_nearest(name, ncs_nerve_names, NCS_N_NERVE_NAMES - 1);
        return lab_fail(l, NCS_ERR_INI_SECTION, "unknown nerve [%s]%s%s%s", name,
                        near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    }
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].nerve, canon) == 0)
            return lab_fail(l, NCS_ERR_INI_DUPLICATE, "[%s] again (first at line %d)",
                            name, l->section_line[i]);
    if (l->n >= NCS_MAX_NORMS)
        return lab_fail(l, NCS_ERR_LIMIT, "more than %d nerves", NCS_MAX_NORMS);
    ncs_norm *e = &l->items[l->n];
    memset(e, 0, sizeof *e);
    snprintf(e->nerve, sizeof e->nerve, "%s", canon);
    e->amp_lln_mv = e->dml_uln_ms = e->dml_distance_mm = e->cv_lln_m_s = NAN;
    snprintf(e->source, sizeof e->source, "%s:%d", l->path, l->text.lineno);
    l->section_line[l->n] = l->text.lineno;
    l->seen[l->n] = 0;
    l->cur = (int)l->n++;
    return 0;
}

static char *lab_reader(char *str, int num, void *stream)
{
    lab *l = stream;
    if (l->failed)
        return NULL;
    int r = ncs_text_next_line(&l->text, str, num);
    if (r < 0)
        lab_fail(l, l->text.code, "%s", l->text.msg);
    if (r <= 0)
        return NULL;
    const char *t = str;
    while (*t == ' ' || *t == '\t')
        t++;
    if (*t == '[' && lab_header(l, t))
        return NULL;
    return str;
}

static int lab_handler(void *user, const char *section, const char *name,
                       const char *value)
{
    lab *l = user;
    (void)section;
    if (l->failed)
        return 0;
    if (!name)
        return 1;
    if (l->cur < 0)
        return lab_fail(l, NCS_ERR_INI_SYNTAX,
                        "'%s' before any [nerve] section", name), 0;
    int k = -1;
    for (int i = 0; i < K__N; i++)
        if (strcmp(name, keys[i]) == 0)
            k = i;
    if (k < 0) {
        const char *near = ncs_nearest(name, keys, K__N);
        return lab_fail(l, NCS_ERR_INI_KEY, "unknown key '%s'%s%s%s", name,
                        near ? " (did you mean '" : "", near ? near : "",
                        near ? "'?)" : ""), 0;
    }
    ncs_norm *e = &l->items[l->cur];
    if (l->seen[l->cur] & (1u << k))
        return lab_fail(l, NCS_ERR_INI_DUPLICATE, "%s given twice in [%s]", name,
                        e->nerve), 0;
    l->seen[l->cur] |= 1u << k;
    if (k == K_MUSCLE) {
        if (strlen(value) >= sizeof e->muscle)
            return lab_fail(l, NCS_ERR_INI_VALUE, "muscle name longer than %zu characters",
                            sizeof e->muscle - 1), 0;
        snprintf(e->muscle, sizeof e->muscle, "%s", value);
        return 1;
    }
    static const double hi[K__N] = {0, 50.0, 30.0, 500.0, 150.0};
    double v;
    if (ncs_parse_double(value, &v))
        return lab_fail(l, NCS_ERR_INI_VALUE, "%s = '%s' is not a number", name, value), 0;
    if (!(v > 0) || v > hi[k])
        return lab_fail(l, NCS_ERR_INI_VALUE, "%s = %s is out of range (above 0 to %g)",
                        name, value, hi[k]), 0;
    double *slot[K__N] = {NULL, &e->amp_lln_mv, &e->dml_uln_ms, &e->dml_distance_mm,
                          &e->cv_lln_m_s};
    *slot[k] = v;
    return 1;
}

ncs_status ncs_norms_load_from(ncs_norms *norms, const char *path, const char *inside,
                               ncs_error *err)
{
    ncs_error_clear(err);
    ncs_ini_setup();
    size_t len = 0;
    ncs_hash hash;
    ncs_error e;
    char *buf = ncs_read_input(path, inside, NCS_MAX_INI_BYTES, &len, &hash, &e);
    if (!buf) {
        if (e.code == NCS_ERR_LIMIT)
            return ncs_fail(err, NCS_ERR_LIMIT, path,
                            "normative table is larger than %d bytes", NCS_MAX_INI_BYTES);
        if (err)
            *err = e;
        return e.code;
    }
    lab *l = calloc(1, sizeof *l);
    if (!l) {
        free(buf);
        return ncs_fail(err, NCS_ERR_NOMEM, path, "out of memory");
    }
    l->path = path;
    l->text.buf = buf;
    l->text.len = len;
    l->text.what = "a normative table";
    l->err = err;
    l->cur = -1;
    int r = ini_parse_stream(lab_reader, l, lab_handler, l);
    if (!l->failed && r > 0)
        lab_fail(l, NCS_ERR_INI_SYNTAX, "not a 'key = value' line or a [section] header");
    else if (!l->failed && r < 0)
        lab_fail(l, NCS_ERR_NOMEM, "out of memory while parsing");
    for (size_t i = 0; !l->failed && i < l->n; i++)
        if ((l->seen[i] & ~(1u << K_MUSCLE)) == 0) {
            l->text.lineno = l->section_line[i];
            lab_fail(l, NCS_ERR_INI_MISSING,
                     "[%s] gives no value: set at least one of amp_lln_mv, dml_uln_ms, "
                     "cv_lln_m_s", l->items[i].nerve);
        }
    if (!l->failed && l->n == 0) {
        l->text.lineno = 0;
        lab_fail(l, NCS_ERR_INI_MISSING, "no [nerve] section: nothing to replace");
    }
    ncs_status rc = l->failed ? err ? err->code : NCS_ERR_INI_SYNTAX : NCS_OK;
    if (rc == NCS_OK) {
        /* each nerve named replaces the entry in force for its muscle (or,
         * without one, the nerve's first entry, whose muscle it keeps),
         * whole; a muscle the table does not hold is added */
        for (size_t i = 0; i < l->n; i++) {
            ncs_norm *slot = (ncs_norm *)ncs_norms_find_muscle(norms, l->items[i].nerve,
                                                               l->items[i].muscle);
            if (slot && !l->items[i].muscle[0])
                snprintf(l->items[i].muscle, sizeof l->items[i].muscle, "%s", slot->muscle);
            if (!slot) {
                if (norms->n >= NCS_MAX_NORMS)
                    continue; /* cannot happen: 8 built in and at most 16 of a lab's */
                slot = &norms->items[norms->n++];
            }
            *slot = l->items[i];
        }
        if (norms->n_files < sizeof norms->file_hash / sizeof norms->file_hash[0])
            norms->file_hash[norms->n_files++] = hash;
        size_t ol = strlen(norms->origin);
        snprintf(norms->origin + ol, sizeof norms->origin - ol, ", then %s", path);
    }
    free(l);
    free(buf);
    return rc;
}

static void cell(FILE *f, double v, int w, int d)
{
    if (isfinite(v))
        fprintf(f, " %*.*f", w, d, v);
    else
        fprintf(f, " %*s", w, "-");
}

ncs_status ncs_norms_print(const ncs_norms *n, FILE *f)
{
    fprintf(f, "Normative values in force (%s)\n\n", n->origin);
    fprintf(f, "  %-17s %-8s %8s %8s %9s %8s  %s\n", "nerve", "muscle", "amp LLN",
            "DML ULN", "(at dist)", "CV LLN", "source");
    fprintf(f, "  %-17s %-8s %8s %8s %9s %8s\n", "", "", "mV", "ms", "mm", "m/s");
    for (size_t i = 0; i < n->n; i++) {
        const ncs_norm *e = &n->items[i];
        fprintf(f, "  %-17s %-8s", e->nerve, e->muscle[0] ? e->muscle : "-");
        cell(f, e->amp_lln_mv, 8, 1);
        cell(f, e->dml_uln_ms, 8, 1);
        cell(f, e->dml_distance_mm, 9, 0);
        cell(f, e->cv_lln_m_s, 8, 0);
        fprintf(f, "  %s\n", e->source);
    }
    fprintf(f, "\nNerves not listed get no dml-prolonged, amp-low or cv-slow codes.\n"
               "Limits assume a limb at 32 C or warmer (upper) and 30 C (lower); no "
               "temperature correction is applied.\n");
    return ferror(f) ? NCS_ERR_OUTPUT : NCS_OK;
}

ncs_status ncs_norms_load(ncs_norms *norms, const char *path, ncs_error *err)
{
    return ncs_norms_load_from(norms, path, NULL, err);
}
