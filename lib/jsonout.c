/* jsonout.c — json_dumps()'s text, byte for byte, without its cost.
 *
 * jansson's writer checks every array and object for loops in a hash table,
 * calls a callback per token and formats each real through snprintf("%.*g")
 * and localeconv(): about a seventh of a batch's time went there. This
 * writer walks the same tree into one growing buffer, with jansson's layout
 * (dump.c: indentation, separators, string escapes) and its reals: a real
 * that is the nearest double to a decimal of at most `precision` significant
 * digits, written without an exponent by %g, is that decimal (the double is
 * within 2^-53 of it, far inside half a unit of the last digit kept, for
 * precision <= 15), so it is written from its digits; any other goes through
 * snprintf as jansson does. tests/golden.sh and the batch outputs diff the
 * same before and after.
 *
 * The streaming writer (ncs_jw_*) writes the same text without the tree:
 * building it (an allocation per value, a hashed key per member) cost a
 * batch worker about 5 % of its instructions for results.json. Each call
 * writes one member, with the separator and indentation dump() would put
 * before it; a value jansson's constructors refuse (NULL or non-UTF-8 text,
 * a real that is not finite) leaves its member out, as json_object_set_new
 * does. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonout.h"

#define MAX_DEPTH 512 /* deeper (or a loop): json_dumps itself */

typedef ncs_jw sbuf; /* the tree walker uses the writer's buffer */

static int grow(sbuf *b, size_t n)
{
    if (b->bad)
        return -1;
    size_t cap = b->cap ? b->cap : 4096;
    while (b->n + n + 1 > cap)
        cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) {
        b->bad = 1;
        return -1;
    }
    b->p = q;
    b->cap = cap;
    return 0;
}

static inline void put(sbuf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap && grow(b, n))
        return;
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put_indent(sbuf *b, size_t flags, int depth, int space)
{
    static const char ws[] = "\n                                ";
    size_t step = flags & JSON_MAX_INDENT;
    if (step > 0) {
        size_t k = (size_t)depth * step;
        put(b, ws, 1);
        while (k > 0) {
            size_t c = k < sizeof ws - 2 ? k : sizeof ws - 2;
            put(b, ws + 1, c);
            k -= c;
        }
    } else if (space && !(flags & JSON_COMPACT)) {
        put(b, " ", 1);
    }
}

/* Room for n more bytes (and the closing NUL): where they go, NULL on no
 * memory. */
static inline char *room(sbuf *b, size_t n)
{
    if (b->n + n + 1 > b->cap && grow(b, n))
        return NULL;
    return b->p + b->n;
}

/* A byte a string holds as it is */
static inline int plain(char c)
{
    return (unsigned char)c >= 0x20 && c != '"' && c != '\\';
}

/* dump.c's dump_string for valid UTF-8 (json_string() accepts nothing else),
 * without JSON_ENSURE_ASCII or JSON_ESCAPE_SLASH: '"', '\' and the control
 * characters escaped, every other byte as it is */
static void put_string(sbuf *b, const char *s, size_t len)
{
    size_t i = 0;
    while (i < len && plain(s[i]))
        i++;
    if (i == len) { /* nothing to escape: one copy */
        char *p = room(b, len + 2);
        if (!p)
            return;
        p[0] = '"';
        memcpy(p + 1, s, len);
        p[len + 1] = '"';
        b->n += len + 2;
        return;
    }
    put(b, "\"", 1);
    size_t run = 0;
    for (; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (plain((char)c))
            continue;
        put(b, s + run, i - run);
        run = i + 1;
        char seq[8];
        const char *t = seq;
        size_t tn = 2;
        switch (c) {
        case '\\': t = "\\\\"; break;
        case '"': t = "\\\""; break;
        case '\b': t = "\\b"; break;
        case '\f': t = "\\f"; break;
        case '\n': t = "\\n"; break;
        case '\r': t = "\\r"; break;
        case '\t': t = "\\t"; break;
        default:
            snprintf(seq, sizeof seq, "\\u%04X", (unsigned)c);
            tn = 6;
        }
        put(b, t, tn);
    }
    put(b, s + run, len - run);
    put(b, "\"", 1);
}

/* The digits of a real that is the nearest double to m / 10^d, with at most
 * prec significant digits and a decimal exponent in [-4, prec): what
 * "%.*g" writes for it. -1 when v is not such a real. */
static int real_short(char *buf, double v, int prec)
{
    static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9};
    double a = fabs(v);
    if (prec > 15 || !(a >= 1e-4) || !(a < 1e15))
        return -1;
    for (int d = 0; d < 10; d++) {
        double s = a * p10[d];
        if (s >= 1e15)
            return -1;
        long long m = llround(s);
        if (m <= 0 || (double)m / p10[d] != a)
            continue;
        char dig[24];
        int nd = 0;
        for (long long q = m; q > 0; q /= 10)
            dig[nd++] = (char)('0' + q % 10); /* least significant first */
        int tz = 0;
        while (tz < nd && dig[tz] == '0')
            tz++;
        int x = nd - 1 - d; /* the decimal exponent */
        if (nd - tz > prec || x < -4 || x >= prec)
            return -1;
        char *p = buf;
        if (v < 0)
            *p++ = '-';
        if (x < 0) {
            *p++ = '0';
            *p++ = '.';
            for (int k = 0; k < -x - 1; k++)
                *p++ = '0';
            for (int k = nd - 1; k >= tz; k--)
                *p++ = dig[k];
        } else {
            for (int k = nd - 1; k >= d; k--)
                *p++ = dig[k];
            *p++ = '.';
            if (tz >= d) /* no fraction: jansson's ".0" */
                *p++ = '0';
            else
                for (int k = d - 1; k >= tz; k--)
                    *p++ = dig[k];
        }
        *p = '\0';
        return (int)(p - buf);
    }
    return -1;
}

/* strconv.c's jsonp_dtostr (snprintf build) */
int ncs_json_real(char *buf, size_t size, double v, int prec)
{
    if (prec == 0)
        prec = 17;
    if (size >= 32) {
        if (v == 0.0) {
            int neg = signbit(v) != 0;
            memcpy(buf, neg ? "-0.0" : "0.0", neg ? 5 : 4);
            return neg ? 4 : 3;
        }
        int k = real_short(buf, v, prec);
        if (k >= 0)
            return k;
    }
    int ret = snprintf(buf, size, "%.*g", prec, v);
    if (ret < 0 || (size_t)ret >= size)
        return -1;
    size_t len = (size_t)ret;
    char point = *localeconv()->decimal_point;
    if (point != '.') {
        char *pos = strchr(buf, point);
        if (pos)
            *pos = '.';
    }
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        if (len + 3 >= size)
            return -1;
        memcpy(buf + len, ".0", 3);
        len += 2;
    }
    char *start = strchr(buf, 'e');
    if (start) {
        start++;
        char *end = start + 1;
        if (*start == '-')
            start++;
        while (*end == '0')
            end++;
        if (end != start) {
            memmove(start, end, len - (size_t)(end - buf));
            len -= (size_t)(end - start);
        }
    }
    return (int)len;
}

static void dump(sbuf *b, const json_t *j, size_t flags, int depth)
{
    if (b->bad)
        return;
    if (!j || depth > MAX_DEPTH) {
        b->bad = 2;
        return;
    }
    switch (json_typeof(j)) {
    case JSON_NULL:
        put(b, "null", 4);
        return;
    case JSON_TRUE:
        put(b, "true", 4);
        return;
    case JSON_FALSE:
        put(b, "false", 5);
        return;
    case JSON_INTEGER: {
        char t[100];
        int k = snprintf(t, sizeof t, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        if (k < 0 || k >= (int)sizeof t)
            b->bad = 2;
        else
            put(b, t, (size_t)k);
        return;
    }
    case JSON_REAL: {
        char t[100];
        int k = ncs_json_real(t, sizeof t, json_real_value(j), (int)((flags >> 11) & 0x1F));
        if (k < 0)
            b->bad = 2;
        else
            put(b, t, (size_t)k);
        return;
    }
    case JSON_STRING:
        put_string(b, json_string_value(j), json_string_length(j));
        return;
    case JSON_ARRAY: {
        size_t n = json_array_size(j);
        put(b, "[", 1);
        if (n == 0) {
            put(b, "]", 1);
            return;
        }
        put_indent(b, flags, depth + 1, 0);
        for (size_t i = 0; i < n; i++) {
            dump(b, json_array_get(j, i), flags, depth + 1);
            if (i < n - 1) {
                put(b, ",", 1);
                put_indent(b, flags, depth + 1, 1);
            } else {
                put_indent(b, flags, depth, 0);
            }
        }
        put(b, "]", 1);
        return;
    }
    case JSON_OBJECT: {
        int compact = (flags & JSON_COMPACT) != 0;
        void *it = json_object_iter((json_t *)j);
        put(b, "{", 1);
        if (!it) {
            put(b, "}", 1);
            return;
        }
        put_indent(b, flags, depth + 1, 0);
        while (it) {
            void *next = json_object_iter_next((json_t *)j, it);
            put_string(b, json_object_iter_key(it), json_object_iter_key_len(it));
            put(b, ": ", compact ? 1 : 2);
            dump(b, json_object_iter_value(it), flags, depth + 1);
            if (next) {
                put(b, ",", 1);
                put_indent(b, flags, depth + 1, 1);
            } else {
                put_indent(b, flags, depth, 0);
            }
            it = next;
        }
        put(b, "}", 1);
        return;
    }
    default:
        b->bad = 2;
    }
}

char *ncs_json_dumps(const json_t *json, size_t flags)
{
    if (flags & (JSON_SORT_KEYS | JSON_ENSURE_ASCII | JSON_ESCAPE_SLASH | JSON_EMBED))
        return json_dumps(json, flags);
    if (!(flags & JSON_ENCODE_ANY) && !json_is_array(json) && !json_is_object(json))
        return NULL;
    sbuf b = {0};
    b.flags = flags;
    dump(&b, json, flags, 0);
    put(&b, "", 0);
    if (b.bad) {
        free(b.p);
        /* what this writer does not cover (a loop, a depth, a failure) is
         * jansson's to report */
        return b.bad == 2 ? json_dumps(json, flags) : NULL;
    }
    b.p[b.n] = '\0';
    return b.p;
}

/* ------------------------------------------------------------------------ */
/* The streaming writer: the text ncs_json_dumps writes for the tree that the
 * same calls would have built, member by member. */

void ncs_jw_init(ncs_jw *w, size_t flags)
{
    memset(w, 0, sizeof *w);
    w->flags = flags;
}

char *ncs_jw_finish(ncs_jw *w)
{
    put(w, "", 0);
    if (w->bad || w->depth != 0) {
        free(w->p);
        w->p = NULL;
        return NULL;
    }
    w->p[w->n] = '\0';
    char *out = w->p;
    w->p = NULL;
    return out;
}

/* The separator before a member of the open container, then its key (an
 * object's member) */
static void member_slow(ncs_jw *w, const char *key)
{
    if (w->depth > 0) {
        if (!w->first)
            put(w, ",", 1);
        put_indent(w, w->flags, w->depth, !w->first);
    }
    w->first = 0;
    if (key) {
        put_string(w, key, strlen(key));
        put(w, ": ", (w->flags & JSON_COMPACT) ? 1 : 2);
    }
}

/* The same, written at once where there is an indent and the key needs no
 * escape */
static void member(ncs_jw *w, const char *key)
{
    size_t step = w->flags & JSON_MAX_INDENT;
    if (step == 0 || (w->flags & JSON_COMPACT)) {
        member_slow(w, key);
        return;
    }
    size_t klen = key ? strlen(key) : 0, ind = (size_t)w->depth * step;
    char *p = room(w, ind + klen + 6);
    if (!p)
        return;
    char *q = p;
    if (w->depth > 0) {
        if (!w->first)
            *q++ = ',';
        *q++ = '\n';
        memset(q, ' ', ind);
        q += ind;
    }
    if (key) {
        *q++ = '"';
        for (size_t i = 0; i < klen; i++) {
            if (!plain(key[i])) { /* (nothing is kept of this try) */
                member_slow(w, key);
                return;
            }
            *q++ = key[i];
        }
        memcpy(q, "\": ", 3);
        q += 3;
    }
    w->first = 0;
    w->n += (size_t)(q - p);
}

void ncs_jw_open(ncs_jw *w, const char *key, char bracket)
{
    member(w, key);
    put(w, &bracket, 1);
    w->depth++;
    w->first = 1;
}

void ncs_jw_close(ncs_jw *w, char bracket)
{
    w->depth--;
    if (!w->first) /* an empty container stays "{}" or "[]" */
        put_indent(w, w->flags, w->depth, 0);
    put(w, &bracket, 1);
    w->first = 0;
}

void ncs_jw_null(ncs_jw *w, const char *key)
{
    member(w, key);
    put(w, "null", 4);
}

void ncs_jw_bool(ncs_jw *w, const char *key, int v)
{
    member(w, key);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void ncs_jw_int(ncs_jw *w, const char *key, json_int_t v)
{
    char t[32];
    int k = snprintf(t, sizeof t, "%" JSON_INTEGER_FORMAT, v);
    member(w, key);
    put(w, t, (size_t)k);
}

void ncs_jw_real(ncs_jw *w, const char *key, double v)
{
    if (!isfinite(v)) /* json_real() refuses it: no member */
        return;
    member(w, key);
    char *p = room(w, 100); /* written in place */
    if (!p)
        return;
    int k = ncs_json_real(p, 100, v, (int)((w->flags >> 11) & 0x1F));
    if (k < 0)
        w->bad = 1;
    else
        w->n += (size_t)k;
}

/* Whether json_string(s) accepts s (well-formed UTF-8): ASCII at once, any
 * other text asked of jansson itself */
static int string_ok(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((unsigned char)s[i] >= 0x80) {
            json_t *t = json_stringn(s, len);
            json_decref(t);
            return t != NULL;
        }
    }
    return 1;
}

void ncs_jw_str(ncs_jw *w, const char *key, const char *s)
{
    if (!s)
        return;
    size_t len = strlen(s);
    if (!string_ok(s, len))
        return;
    member(w, key);
    put_string(w, s, len);
}

void ncs_jw_tree(ncs_jw *w, const char *key, const json_t *j)
{
    if (!j)
        return;
    member(w, key);
    dump(w, j, w->flags, w->depth);
}
