/* edf.c — EDF and EDF+ (continuous and discontinuous) files, read from memory.
 *
 * The format (Kemp et al. 1992; EDF+: Kemp & Olivan 2003, edfplus.info):
 * a 256-byte ASCII header, 256 bytes per signal (each field stored for all
 * signals in turn), then n_records data records, each holding every
 * signal's samples for that record as 16-bit little-endian two's
 * complement. EDF+ adds an "EDF Annotations" signal whose bytes are
 * Time-stamped Annotation Lists (TALs): "+onset[\x15duration]\x14text\x14...\x00";
 * the first TAL of each record keeps the record's start time. EDF+D (what
 * EMG machines use for nerve conduction) has records that are not
 * contiguous: one sweep per stimulation, named by an annotation.
 *
 * EDFlib refuses EDF+D and libbiosig flattens its records, so the reader is
 * the project's own. Every field is checked before it is used; the file is
 * never trusted for a size or an offset (fuzz/fuzz_edf.c).
 */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

#define EDF_MAX_SIGNALS 512
#define EDF_MAX_ANNOTATIONS 100000
#define EDF_MAX_RECORDS 10000000L /* a day of 10 ms records */
#define EDF_ANNOT_LABEL "EDF Annotations"

/* A header field: trimmed of spaces, NUL-terminated, printable ASCII.
 * Free text (lenient: the patient and recording fields, where exports put
 * Latin-1 names) has any other byte shown as '?' instead of refusing. */
static int edf_field_as(const unsigned char *p, size_t len, char *out, size_t n, int lenient)
{
    size_t a = 0, b = len;
    for (size_t i = 0; i < len && !lenient; i++)
        if (p[i] < 32 || p[i] > 126)
            return -1;
    while (a < b && p[a] == ' ')
        a++;
    while (b > a && p[b - 1] == ' ')
        b--;
    if (b - a >= n)
        b = a + n - 1;
    for (size_t i = a; i < b; i++)
        out[i - a] = p[i] < 32 || p[i] > 126 ? '?' : (char)p[i];
    out[b - a] = '\0';
    return 0;
}


typedef struct {
    const unsigned char *d;
    size_t n, pos;      /* the header being read */
    const char *name;   /* for messages */
    ncs_error *err;
} hdr_reader;

static ncs_status hfail(hdr_reader *h, const char *what, const char *field)
{
    return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                    "not a valid EDF file: the header's %s '%s' %s", what, field,
                    "is not what EDF allows");
}

static ncs_status htext(hdr_reader *h, size_t len, char *out, size_t n, const char *what)
{
    if (h->pos + len > h->n)
        return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                        "not a valid EDF file: the header stops inside its %s "
                        "(%zu bytes)", what, h->n);
    int lenient = !strcmp(what, "patient field") || !strcmp(what, "recording field")
                  || !strcmp(what, "transducer type") || !strcmp(what, "prefiltering field");
    if (edf_field_as(h->d + h->pos, len, out, n, lenient))
        return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                        "not a valid EDF file: the header's %s holds a byte that is "
                        "not printable ASCII", what);
    h->pos += len;
    return NCS_OK;
}

static ncs_status hnum(hdr_reader *h, size_t len, double *out, const char *what)
{
    char f[81];
    ncs_status rc = htext(h, len, f, sizeof f, what);
    if (rc != NCS_OK)
        return rc;
    if (ncs_parse_double(f, out) || !isfinite(*out))
        return hfail(h, what, f);
    return NCS_OK;
}

/* An integer field in [lo, hi]; above hi is not EDF, or (limit) more than
 * ncs reads, which it says. */
static ncs_status hint_as(hdr_reader *h, size_t len, long lo, long hi, long *out,
                          const char *what, int limit)
{
    char f[81];
    ncs_status rc = htext(h, len, f, sizeof f, what);
    if (rc != NCS_OK)
        return rc;
    if (ncs_parse_int(f, out) || *out < lo || (*out > hi && !limit))
        return hfail(h, what, f);
    if (*out > hi)
        return ncs_fail(h->err, NCS_ERR_LIMIT, h->name,
                        "the header's %s is %ld: ncs reads at most %ld", what, *out, hi);
    return NCS_OK;
}

static ncs_status hint(hdr_reader *h, size_t len, long lo, long hi, long *out, const char *what)
{
    return hint_as(h, len, lo, hi, out, what, 0);
}

/* ---- the header ---------------------------------------------------------- */

static ncs_status main_header(hdr_reader *h, ncs_edf *e, long *hdr_bytes)
{
    char version[9], reserved[45];
    if (h->n >= 8 && h->d[0] == 0xff && !memcmp(h->d + 1, "BIOSEMI", 7))
        return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                        "a BDF (24-bit BioSemi) file: ncs reads EDF and EDF+ (16-bit)");
    ncs_status rc = htext(h, 8, version, sizeof version, "version");
    if (rc == NCS_OK && strcmp(version, "0") != 0)
        rc = hfail(h, "version", version);
    if (rc == NCS_OK)
        rc = htext(h, 80, e->patient, sizeof e->patient, "patient field");
    if (rc == NCS_OK)
        rc = htext(h, 80, e->recording, sizeof e->recording, "recording field");
    if (rc == NCS_OK)
        rc = htext(h, 8, e->startdate, sizeof e->startdate, "start date");
    if (rc == NCS_OK)
        rc = htext(h, 8, e->starttime, sizeof e->starttime, "start time");
    if (rc == NCS_OK)
        rc = hint_as(h, 8, 256, 256L * (EDF_MAX_SIGNALS + 1), hdr_bytes, "header size", 1);
    if (rc == NCS_OK)
        rc = htext(h, 44, reserved, sizeof reserved, "reserved field");
    if (rc != NCS_OK)
        return rc;
    e->kind = !strncmp(reserved, "EDF+D", 5) ? NCS_EDF_PLUS_D
              : !strncmp(reserved, "EDF+C", 5) ? NCS_EDF_PLUS_C : NCS_EDF_PLAIN;
    long nrec, ns;
    rc = hint_as(h, 8, -1, EDF_MAX_RECORDS, &nrec, "number of data records", 1);
    if (rc == NCS_OK)
        rc = hnum(h, 8, &e->record_s, "record duration");
    if (rc == NCS_OK)
        rc = hint_as(h, 4, 1, EDF_MAX_SIGNALS, &ns, "number of signals", 1);
    if (rc != NCS_OK)
        return rc;
    if (e->record_s < 0 || e->record_s > 3600)
        return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                        "not a valid EDF file: a data record of %g s", e->record_s);
    if (*hdr_bytes != 256 * (ns + 1))
        return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                        "not a valid EDF file: the header size is %ld bytes, %ld signals "
                        "need %ld", *hdr_bytes, ns, 256 * (ns + 1));
    e->n_records = nrec;
    e->n_signals = (int)ns;
    return NCS_OK;
}

/* The per-signal fields: each stored for all signals in turn. */
static ncs_status signal_headers(hdr_reader *h, ncs_edf *e)
{
    int ns = e->n_signals;
    char skip[81];
    ncs_status rc = NCS_OK;
    for (int i = 0; i < ns && rc == NCS_OK; i++)
        rc = htext(h, 16, e->signals[i].label, sizeof e->signals[i].label, "signal label");
    for (int i = 0; i < ns && rc == NCS_OK; i++)
        rc = htext(h, 80, e->signals[i].transducer, sizeof e->signals[i].transducer,
                   "transducer type");
    for (int i = 0; i < ns && rc == NCS_OK; i++)
        rc = htext(h, 8, e->signals[i].unit, sizeof e->signals[i].unit, "physical dimension");
    for (int i = 0; i < ns && rc == NCS_OK; i++)
        rc = hnum(h, 8, &e->signals[i].phys_min, "physical minimum");
    for (int i = 0; i < ns && rc == NCS_OK; i++)
        rc = hnum(h, 8, &e->signals[i].phys_max, "physical maximum");
    long v;
    for (int i = 0; i < ns && rc == NCS_OK; i++)
        if ((rc = hint(h, 8, -32768, 32767, &v, "digital minimum")) == NCS_OK)
            e->signals[i].dig_min = (int)v;
    for (int i = 0; i < ns && rc == NCS_OK; i++)
        if ((rc = hint(h, 8, -32768, 32767, &v, "digital maximum")) == NCS_OK)
            e->signals[i].dig_max = (int)v;
    for (int i = 0; i < ns && rc == NCS_OK; i++)
        rc = htext(h, 80, e->signals[i].prefilter, sizeof e->signals[i].prefilter,
                   "prefiltering field");
    for (int i = 0; i < ns && rc == NCS_OK; i++)
        if ((rc = hint(h, 8, 1, 10000000L, &v, "samples per record")) == NCS_OK)
            e->signals[i].spr = (int)v;
    for (int i = 0; i < ns && rc == NCS_OK; i++)
        rc = htext(h, 32, skip, sizeof skip, "signal reserved field");
    return rc;
}

/* Sizes and offsets: each signal's place in a record, the record's size,
 * and the file's size against what the header announces. */
static ncs_status layout(hdr_reader *h, ncs_edf *e, long hdr_bytes, size_t *rec_bytes)
{
    size_t off = 0;
    int n_annot = 0, n_data = 0;
    for (int i = 0; i < e->n_signals; i++) {
        ncs_edf_signal *s = &e->signals[i];
        s->annotations = e->kind != NCS_EDF_PLAIN && !strcmp(s->label, EDF_ANNOT_LABEL);
        s->offset = off;
        off += 2 * (size_t)s->spr;
        if (s->annotations) {
            n_annot++;
            continue;
        }
        n_data++;
        if (s->dig_max <= s->dig_min || s->phys_max == s->phys_min)
            return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                            "signal %d '%s': digital range %d to %d and physical range "
                            "%g to %g give no scale", i + 1, s->label, s->dig_min,
                            s->dig_max, s->phys_min, s->phys_max);
    }
    if (e->kind != NCS_EDF_PLAIN && n_annot == 0)
        return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                        "an EDF+ file without an '" EDF_ANNOT_LABEL "' signal");
    if (n_data > 0 && !(e->record_s > 0))
        return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                        "not a valid EDF file: data records of %g s hold signals",
                        e->record_s);
    e->n_data_signals = n_data;
    *rec_bytes = off;
    size_t body = h->n - (size_t)hdr_bytes;
    if (e->n_records == -1) {
        /* still being recorded when written: the size says how many */
        if (body % off)
            return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                            "the record count is -1 and %zu data bytes are not a whole "
                            "number of %zu-byte records", body, off);
        if (body / off > (size_t)EDF_MAX_RECORDS)
            return ncs_fail(h->err, NCS_ERR_LIMIT, h->name, "more than %ld data records",
                            EDF_MAX_RECORDS);
        e->n_records = (long)(body / off);
    }
    if (e->n_records < 1)
        return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name, "an EDF file with no data record");
    if (body / off < (size_t)e->n_records || body != (size_t)e->n_records * off)
        return ncs_fail(h->err, NCS_ERR_WAVE_FORMAT, h->name,
                        "the header announces %ld records of %zu bytes (%zu bytes of data); "
                        "the file holds %zu: %s", e->n_records, off,
                        (size_t)e->n_records * off, body,
                        body < (size_t)e->n_records * off ? "it is truncated" : "bytes follow "
                        "the last record");
    return NCS_OK;
}

/* ---- annotations (TALs) -------------------------------------------------- */

static int tal_number(const unsigned char *p, size_t n, int sign_required, double *out)
{
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    if (sign_required && p[0] != '+' && p[0] != '-')
        return -1;
    for (size_t i = 0; i < n; i++)
        if (!(isdigit(p[i]) || p[i] == '.' || (i == 0 && (p[i] == '+' || p[i] == '-'))))
            return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    /* seconds: beyond 300 years is no recording's */
    return ncs_parse_double(buf, out) || !(fabs(*out) < 1e10) ? -1 : 0;
}

static ncs_status add_annotation(ncs_edf *e, const char *name, long rec, double onset,
                                 const unsigned char *t, size_t len, ncs_error *err)
{
    while (len && t[0] == ' ')
        t++, len--;
    while (len && t[len - 1] == ' ')
        len--;
    if (len == 0) /* a blank text names nothing */
        return NCS_OK;
    if (e->n_annotations >= EDF_MAX_ANNOTATIONS)
        return ncs_fail(err, NCS_ERR_LIMIT, name, "more than %d annotations",
                        EDF_MAX_ANNOTATIONS);
    if (e->n_annotations == e->annot_cap) {
        size_t cap = e->annot_cap ? 2 * e->annot_cap : 16;
        ncs_edf_annotation *a = realloc(e->annotations, cap * sizeof *a);
        if (!a)
            return ncs_fail(err, NCS_ERR_NOMEM, name, "out of memory");
        e->annotations = a;
        e->annot_cap = cap;
    }
    char *s = malloc(len + 1);
    if (!s)
        return ncs_fail(err, NCS_ERR_NOMEM, name, "out of memory");
    memcpy(s, t, len);
    s[len] = '\0';
    ncs_edf_annotation *a = &e->annotations[e->n_annotations++];
    a->text = s;
    a->onset_s = onset;
    a->record = (int)rec;
    a->at_ms = NAN;
    return NCS_OK;
}

/* One record's annotation bytes: TALs until a NUL where a TAL would start.
 * The first TAL of the first annotation signal keeps the record's start. */
static ncs_status record_tals(ncs_edf *e, const char *name, long rec, const unsigned char *p,
                              size_t n, int first_signal, ncs_error *err)
{
    size_t i = 0;
    int first = first_signal;
    while (i < n && p[i] != 0) {
        size_t a = i;
        while (i < n && p[i] != 0x14 && p[i] != 0x15 && p[i] != 0)
            i++;
        double onset, dur;
        if (i >= n || p[i] == 0 || tal_number(p + a, i - a, 1, &onset))
            goto bad;
        if (p[i] == 0x15) {
            size_t b = ++i;
            while (i < n && p[i] != 0x14 && p[i] != 0)
                i++;
            if (i >= n || p[i] != 0x14 || tal_number(p + b, i - b, 0, &dur) || dur < 0)
                goto bad;
        }
        i++; /* the 0x14 after onset/duration */
        if (first) {
            e->record_start_s[rec] = onset;
            first = 0;
        }
        while (i < n && p[i] != 0) {
            size_t t = i;
            while (i < n && p[i] != 0x14 && p[i] != 0)
                i++;
            if (i >= n || p[i] != 0x14)
                goto bad;
            if (i > t) {
                ncs_status rc = add_annotation(e, name, rec, onset, p + t, i - t, err);
                if (rc != NCS_OK)
                    return rc;
            }
            i++;
        }
        if (i >= n)
            goto bad;
        i++; /* the NUL that ends the TAL */
    }
    if (first_signal && first)
        return ncs_fail(err, NCS_ERR_WAVE_FORMAT, name,
                        "record %ld: no time-keeping annotation (an EDF+ record starts with "
                        "'+<start>\\x14\\x14\\x00')", rec + 1);
    return NCS_OK;
bad:
    return ncs_fail(err, NCS_ERR_WAVE_FORMAT, name,
                    "record %ld: a malformed annotation (TAL) at byte %zu of its annotation "
                    "signal", rec + 1, i);
}

static int in_record(const ncs_edf *e, long r, double onset_s)
{
    double at = onset_s - e->record_start_s[r];
    return at >= -1e-9 && at < e->record_s;
}

/* Every record's start and annotations; each annotation then placed in the
 * record whose time span holds it (else the record that stores it). */
static ncs_status annotations(ncs_edf *e, const unsigned char *body, size_t rec_bytes,
                              const char *name, ncs_error *err)
{
    for (long r = 0; r < e->n_records; r++) {
        e->record_start_s[r] = (double)r * e->record_s;
        int first = 1;
        for (int s = 0; s < e->n_signals; s++) {
            const ncs_edf_signal *sg = &e->signals[s];
            if (!sg->annotations)
                continue;
            ncs_status rc = record_tals(e, name, r, body + (size_t)r * rec_bytes + sg->offset,
                                        2 * (size_t)sg->spr, first, err);
            if (rc != NCS_OK)
                return rc;
            first = 0;
        }
        if (e->kind == NCS_EDF_PLUS_C && r > 0 &&
            fabs(e->record_start_s[r] - e->record_start_s[r - 1] - e->record_s) > 1e-6)
            return ncs_fail(err, NCS_ERR_WAVE_FORMAT, name,
                            "EDF+C (continuous) but record %ld starts at %g s, not %g s: "
                            "the file should say EDF+D", r + 1, e->record_start_s[r],
                            e->record_start_s[r - 1] + e->record_s);
    }
    int sorted = 1;
    for (long r = 1; r < e->n_records; r++)
        sorted &= e->record_start_s[r] >= e->record_start_s[r - 1];
    for (size_t i = 0; i < e->n_annotations; i++) {
        ncs_edf_annotation *a = &e->annotations[i];
        if (!in_record(e, a->record, a->onset_s) && sorted) {
            /* the last record starting at or before it */
            long lo = 0, hi = e->n_records - 1;
            while (lo < hi) {
                long mid = lo + (hi - lo + 1) / 2;
                if (e->record_start_s[mid] <= a->onset_s + 1e-9)
                    lo = mid;
                else
                    hi = mid - 1;
            }
            if (in_record(e, lo, a->onset_s))
                a->record = (int)lo;
        }
        a->at_ms = 1000.0 * (a->onset_s - e->record_start_s[a->record]);
    }
    return NCS_OK;
}

ncs_status ncs_edf_parse(const void *data, size_t n, const char *name, ncs_edf *e,
                         ncs_error *err)
{
    ncs_error_clear(err);
    if (!e)
        return ncs_fail(err, NCS_ERR_USAGE, "", "no EDF to fill");
    memset(e, 0, sizeof *e);
    if (!name)
        name = "EDF file";
    hdr_reader h = {data, n, 0, name, err};
    long hdr_bytes = 0;
    size_t rec_bytes = 0;
    ncs_status rc = main_header(&h, e, &hdr_bytes);
    if (rc == NCS_OK && (size_t)hdr_bytes > n)
        rc = ncs_fail(err, NCS_ERR_WAVE_FORMAT, name,
                      "not a valid EDF file: the header is %ld bytes, the file %zu",
                      hdr_bytes, n);
    if (rc == NCS_OK) {
        e->signals = calloc((size_t)e->n_signals, sizeof *e->signals);
        if (!e->signals)
            rc = ncs_fail(err, NCS_ERR_NOMEM, name, "out of memory");
    }
    if (rc == NCS_OK)
        rc = signal_headers(&h, e);
    if (rc == NCS_OK)
        rc = layout(&h, e, hdr_bytes, &rec_bytes);
    if (rc == NCS_OK) {
        e->record_start_s = malloc((size_t)e->n_records * sizeof *e->record_start_s);
        if (!e->record_start_s)
            rc = ncs_fail(err, NCS_ERR_NOMEM, name, "out of memory");
    }
    if (rc == NCS_OK)
        rc = annotations(e, (const unsigned char *)data + hdr_bytes, rec_bytes, name, err);
    if (rc != NCS_OK) {
        ncs_edf_free(e);
        return rc;
    }
    e->header_bytes = (size_t)hdr_bytes;
    e->record_bytes = rec_bytes;
    return NCS_OK;
}

void ncs_edf_free(ncs_edf *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_annotations; i++)
        free(e->annotations[i].text);
    free(e->annotations);
    free(e->signals);
    free(e->record_start_s);
    memset(e, 0, sizeof *e);
}

int ncs_edf_is(const void *data, size_t n)
{
    const unsigned char *d = data;
    if (n >= 8 && d[0] == 0xff && !memcmp(d + 1, "BIOSEMI", 7))
        return 1;
    return n >= 256 && !memcmp(d, "0       ", 8);
}

/* ---- choosing a signal and a record -------------------------------------- */

int ncs_edf_find_signal(const ncs_edf *e, int channel, const char *label)
{
    int k = 0;
    for (int i = 0; i < e->n_signals; i++) {
        if (e->signals[i].annotations)
            continue;
        k++;
        if (label ? !strcasecmp(e->signals[i].label, label) : k == channel)
            return i;
    }
    return -1;
}

int ncs_edf_find_annotation(const ncs_edf *e, const char *text, int *second)
{
    int found = -1;
    if (second)
        *second = -1;
    for (size_t i = 0; i < e->n_annotations; i++) {
        const ncs_edf_annotation *a = &e->annotations[i];
        if (strcasecmp(a->text, text) != 0)
            continue;
        if (found < 0)
            found = (int)i;
        else if (e->annotations[found].record != a->record) {
            if (second)
                *second = (int)i;
            break;
        }
    }
    return found;
}

/* The physical value of a digital sample, in the signal's unit. */
double ncs_edf_physical(const ncs_edf_signal *s, int digital)
{
    return s->phys_min + (double)(digital - s->dig_min) * (s->phys_max - s->phys_min) /
                             (double)(s->dig_max - s->dig_min);
}

size_t ncs_edf_read(const ncs_edf *e, const void *data, int signal, long first_record,
                    long n_records, double *out, size_t *clipped)
{
    const unsigned char *body = (const unsigned char *)data + e->header_bytes;
    const ncs_edf_signal *s = &e->signals[signal];
    size_t k = 0;
    *clipped = 0;
    for (long r = first_record; r < first_record + n_records; r++) {
        const unsigned char *p = body + (size_t)r * e->record_bytes + s->offset;
        for (int i = 0; i < s->spr; i++) {
            int v = (int16_t)(uint16_t)(p[2 * i] | (unsigned)p[2 * i + 1] << 8);
            /* EDF: a value at or beyond the digital extremes is saturation */
            if (v <= s->dig_min || v >= s->dig_max)
                (*clipped)++;
            if (v < s->dig_min)
                v = s->dig_min;
            if (v > s->dig_max)
                v = s->dig_max;
            out[k++] = ncs_edf_physical(s, v);
        }
    }
    return k;
}
