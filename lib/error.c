/* error.c — status messages, error detail and the warning list. */
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *const messages[NCS_ERR__COUNT] = {
    [NCS_OK] = "success",
    [NCS_ERR_NOMEM] = "out of memory",
    [NCS_ERR_USAGE] = "invalid argument",
    [NCS_ERR_NOT_STUDY] = "not a study folder",
    [NCS_ERR_IO] = "cannot read file",
    [NCS_ERR_INI_SYNTAX] = "study.ini: syntax error",
    [NCS_ERR_INI_SECTION] = "study.ini: bad section",
    [NCS_ERR_INI_KEY] = "study.ini: unknown key",
    [NCS_ERR_INI_MISSING] = "study.ini: missing required key",
    [NCS_ERR_INI_VALUE] = "study.ini: invalid value",
    [NCS_ERR_INI_DUPLICATE] = "study.ini: duplicate",
    [NCS_ERR_PATH] = "file path outside the study folder",
    [NCS_ERR_WAVE_FORMAT] = "waveform cannot be decoded",
    [NCS_ERR_WAVE_RANGE] = "waveform outside the accepted range",
    [NCS_ERR_WAVE_VALUE] = "waveform holds a non-finite sample",
    [NCS_ERR_LIMIT] = "input exceeds a safety limit",
    [NCS_ERR_OUTPUT] = "output cannot be written",
    [NCS_ERR_REPORT] = "report cannot be made",
    [NCS_ERR_VISITS] = "studies cannot be compared as one patient's visits",
};

const char *ncs_strerror(ncs_status code)
{
    if ((int)code < 0 || code >= NCS_ERR__COUNT || !messages[code])
        return "unknown error";
    return messages[code];
}

void ncs_error_clear(ncs_error *err)
{
    if (!err)
        return;
    err->code = NCS_OK;
    err->where[0] = '\0';
    err->message[0] = '\0';
    err->n_errors = 0;
}

/* The kind of an error as a warning-list token (ncs_warning.code of an
 * entry of severity error). */
const char *ncs_status_token(ncs_status code)
{
    static const char *const tokens[NCS_ERR__COUNT] = {
        [NCS_OK] = "ok",
        [NCS_ERR_NOMEM] = "nomem",
        [NCS_ERR_USAGE] = "usage",
        [NCS_ERR_NOT_STUDY] = "not-study",
        [NCS_ERR_IO] = "io",
        [NCS_ERR_INI_SYNTAX] = "ini-syntax",
        [NCS_ERR_INI_SECTION] = "ini-section",
        [NCS_ERR_INI_KEY] = "ini-key",
        [NCS_ERR_INI_MISSING] = "ini-missing",
        [NCS_ERR_INI_VALUE] = "ini-value",
        [NCS_ERR_INI_DUPLICATE] = "ini-duplicate",
        [NCS_ERR_PATH] = "path",
        [NCS_ERR_WAVE_FORMAT] = "wave-format",
        [NCS_ERR_WAVE_RANGE] = "wave-range",
        [NCS_ERR_WAVE_VALUE] = "wave-value",
        [NCS_ERR_LIMIT] = "limit",
        [NCS_ERR_OUTPUT] = "output",
        [NCS_ERR_REPORT] = "report",
        [NCS_ERR_VISITS] = "visits",
    };
    if ((int)code < 0 || code >= NCS_ERR__COUNT || !tokens[code])
        return "error";
    return tokens[code];
}

char *ncs_join(char *buf, size_t n, const char *const *items, size_t count, const char *sep)
{
    size_t len = 0;
    if (n == 0)
        return buf;
    buf[0] = '\0';
    for (size_t i = 0; i < count && len < n; i++) {
        int k = snprintf(buf + len, n - len, "%s%s", i ? sep : "", items[i]);
        if (k < 0)
            break;
        len += (size_t)k;
    }
    return buf;
}

ncs_status ncs_fail(ncs_error *err, ncs_status code, const char *where,
                    const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->n_errors = 1;
    snprintf(err->where, sizeof err->where, "%s", where ? where : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

static char *vasprintf_alloc(const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return NULL;
    char *s = malloc((size_t)n + 1);
    if (s)
        vsnprintf(s, (size_t)n + 1, fmt, ap);
    return s;
}

char *ncs_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = vasprintf_alloc(fmt, ap);
    va_end(ap);
    return s;
}

char *ncs_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void ncs_warn(ncs_warnings *w, const char *where, const char *code,
              const char *fmt, ...)
{
    if (!w)
        return;
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 8;
        ncs_warning *items = realloc(w->items, cap * sizeof *items);
        if (!items) {
            w->dropped++;
            return;
        }
        w->items = items;
        w->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *msg = vasprintf_alloc(fmt, ap);
    va_end(ap);
    ncs_warning *it = &w->items[w->count];
    it->where = ncs_strdup(where ? where : "");
    it->code = ncs_strdup(code);
    it->message = msg;
    it->severity = NCS_SEVERITY_WARNING;
    if (!it->where || !it->code || !it->message) {
        free(it->where);
        free(it->code);
        free(it->message);
        w->dropped++;
        return;
    }
    w->count++;
}

void ncs_warnings_free(ncs_warnings *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < w->count; i++) {
        free(w->items[i].where);
        free(w->items[i].code);
        free(w->items[i].message);
    }
    free(w->items);
    w->items = NULL;
    w->count = w->cap = w->dropped = 0;
}

int ncs_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 255;
    int d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = (int)i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            int m = c < del ? c : del;
            m = m < ins ? m : ins;
            /* transposition counts as one edit ("distnace") */
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
                && d[i - 2][j - 2] + 1 < m)
                m = d[i - 2][j - 2] + 1;
            d[i][j] = m;
        }
    return d[la][lb] > 255 ? 255 : d[la][lb];
}

const char *ncs_nearest(const char *word, const char *const *cand, size_t n)
{
    const char *best = NULL;
    int bestd = 255;
    for (size_t i = 0; i < n; i++) {
        int d = ncs_edit_distance(word, cand[i]);
        if (d < bestd) {
            bestd = d;
            best = cand[i];
        }
    }
    /* close enough: up to a third of the word's length, at least 1, at most 3 */
    int lim = (int)strlen(word) / 3;
    if (lim < 1)
        lim = 1;
    if (lim > 3)
        lim = 3;
    return bestd <= lim ? best : NULL;
}

/* strtod depends on LC_NUMERIC; study files always use '.', so parse the
 * decimal point ourselves when the locale's differs. The C library in this
 * process is left in the "C" numeric locale by the CLI, but the library must
 * not rely on that. */
int ncs_parse_double(const char *s, double *out)
{
    if (!s)
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return -1;
    /* only plain decimal numbers: no hex, inf, nan */
    for (const char *p = s; *p; p++) {
        if (!strchr("0123456789+-.eE \t", *p))
            return -1;
    }
    char buf[128];
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    struct lconv *lc = localeconv();
    if (lc && lc->decimal_point && lc->decimal_point[0] != '.') {
        char *dot = strchr(buf, '.');
        if (dot)
            *dot = lc->decimal_point[0];
    }
    errno = 0;
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || *end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int ncs_parse_int(const char *s, long *out)
{
    if (!s)
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || errno == ERANGE)
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}
