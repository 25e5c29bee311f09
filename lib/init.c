/* init.c — a study.ini proposed from the waveform files of a folder (`ncs
 * init`, docs/study-folder.md#starting-a-study-folder-ncs-init).
 *
 * Each file directly in the folder is decoded as ncs check would decode it
 * and its name read into nerve, side and site (anatomy.c). What the file
 * cannot say — distances, the recording muscle, the full scale of integer
 * samples, the units of float ones, the stimulus time — is proposed as a
 * real value with a comment saying it is a guess to confirm, so the text is
 * a valid study.ini as written. A file that is not read is listed in a
 * comment block at the end, with why. Nothing in the folder is written or
 * changed here: the caller writes the text. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define MAX_ENTRIES 4096

typedef struct {
    char *name;           /* the file's name in the folder */
    char why[400];        /* not read: why (empty when read) */
    ncs_name_guess g;
    int nerve_rank;       /* position in ncs_nerve_names, for the order */
    ncs_site_place place; /* when g.site_known */
    /* what decoding told */
    int is_csv, is_pcm, channels, header_units; /* header_units: the CSV names its unit */
    char format_name[64];
    double rate_guess_hz; /* one-column CSV: the rate proposed, else NAN */
    double raw_lo, raw_hi;/* the values as stored: PCM in full scales, else the file's unit */
    double stim_ms;       /* proposed, on the file's time axis */
    double stim_first_ms; /* a CSV time column's first time when it is after 0
                             (stim_ms cannot be earlier), else 0 */
    int stim_found;       /* an artefact was seen away from 0 */
    ncs_units units;      /* proposed for float files and CSV without a header unit */
    /* a record of an EDF+ file (edf_record from 1; 0: not EDF) */
    int edf_record;
    char edf_ann[96];     /* the annotation that names it ("" none) */
    int edf_ann_unique;   /* no other record has that annotation */
    double edf_at_ms;     /* the annotation's time in its record */
    int edf_signals;      /* data signals in the file */
    char edf_labels[160]; /* "1 'EMG APB', 2 'EMG ADM'" */
    int is_edf;           /* an EDF file read as one waveform */
    int edf_no_unit;      /* its signal has no physical dimension: units proposed */
} entry;

typedef struct {
    const char *dir;
    char *dir_real;
    entry *e;
    size_t n;
    ncs_analyser *an;
    ncs_init_counts counts;
    ncs_warnings *warn;
    entry *extra;         /* the records of EDF+ files beyond each file's first */
    size_t n_extra, cap_extra;
    int oom;
    char patient[81];     /* an EDF header's patient field, when it names one */
} init_ctx;

static int has_ext(const char *name, const char *ext)
{
    size_t n = strlen(name), k = strlen(ext);
    return n > k && strcasecmp(name + n - k, ext) == 0;
}

static void not_read(entry *e, const char *fmt_, const char *detail)
{
    snprintf(e->why, sizeof e->why, fmt_, detail ? detail : "");
}

/* A name study.ini can hold as `file = ...` exactly (inih trims the value
 * and ends it at " ;" or " #"; study.c refuses '\'). */
static const char *unwritable_name(const char *s)
{
    size_t n = strlen(s);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return "its name holds a control character";
    if (strchr(s, '\\'))
        return "its name holds '\\', which study.ini refuses in a path";
    if (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t')
        return "its name begins or ends with a space, which study.ini would drop";
    if (strstr(s, " ;") || strstr(s, " #") || strstr(s, "\t;") || strstr(s, "\t#"))
        return "its name holds ' ;' or ' #', which study.ini reads as a comment";
    return NULL;
}

/* ---- EDF and EDF+ files: a site per record ------------------------------ */

static void site_for_probe(const init_ctx *c, entry *e, const char *path, ncs_site *s);
static void probe_stim(init_ctx *c, entry *e, const ncs_wave *w);

/* A new entry for another record of an EDF file (NULL when out of memory). */
static entry *extra_entry(init_ctx *c, const entry *like)
{
    if (c->n_extra == c->cap_extra) {
        size_t cap = c->cap_extra ? 2 * c->cap_extra : 16;
        entry *v = c->n + c->n_extra < MAX_ENTRIES ? realloc(c->extra, cap * sizeof *v) : NULL;
        if (!v) {
            c->oom = 1;
            return NULL;
        }
        c->extra = v;
        c->cap_extra = cap;
    }
    entry *x = &c->extra[c->n_extra];
    *x = *like;
    x->name = ncs_strdup(like->name);
    if (!x->name) {
        c->oom = 1;
        return NULL;
    }
    c->n_extra++;
    return x;
}

/* A signal without a unit, probed in uV: the unit proposed from the span
 * of its values, as for float files. */
static void edf_units(entry *e, const ncs_wave *w)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < w->n; i++) {
        lo = fmin(lo, 1000.0 * w->mv[i]);
        hi = fmax(hi, 1000.0 * w->mv[i]);
    }
    e->raw_lo = lo;
    e->raw_hi = hi;
    double span = hi - lo, top = fmax(fabs(lo), fabs(hi));
    e->units = span > 200 || top > NCS_ABSURD_MV ? NCS_UNITS_UV
             : span < 0.05 ? NCS_UNITS_V : NCS_UNITS_MV;
}

/* Record r decoded as its site would be (its annotation or number, the
 * header's units), its stimulus looked for when no annotation marks it. */
static void edf_probe(init_ctx *c, entry *e)
{
    char *path = ncs_asprintf("%s/%s", c->dir, e->name);
    ncs_site s;
    ncs_wave w;
    ncs_error err;
    site_for_probe(c, e, path ? path : e->name, &s);
    s.units_given = 0;
    s.record = e->edf_ann_unique ? 0 : e->edf_record;
    s.annotation = e->edf_ann_unique ? e->edf_ann : NULL;
    ncs_status rc = path ? ncs_wave_load(&s, e->name, &w, NULL, &err) : NCS_ERR_NOMEM;
    if (rc != NCS_OK && path && strstr(err.message, "set units = for a signal without")) {
        s.units_given = 1; /* uV, as other files are probed */
        e->edf_no_unit = 1;
        rc = ncs_wave_load(&s, e->name, &w, NULL, &err);
    }
    if (rc != NCS_OK) {
        const char *m = path ? err.message : "out of memory";
        const char *colon = strstr(m, ": ");
        snprintf(e->why, sizeof e->why, "record %d: %.300s", e->edf_record,
                 colon ? colon + 2 : m);
        free(path);
        return;
    }
    free(path);
    snprintf(e->format_name, sizeof e->format_name, "%s", w.format_name);
    if (e->edf_no_unit)
        edf_units(e, &w);
    if (!e->edf_ann_unique)
        probe_stim(c, e, &w);
    ncs_wave_free(&w);
}

/* The first annotation of record r whose text names nerve, side and site
 * (index into ed->annotations), else -1. */
static int record_naming(const ncs_edf *ed, long r, ncs_name_guess *g)
{
    for (size_t i = 0; i < ed->n_annotations; i++)
        if (ed->annotations[i].record == r && strlen(ed->annotations[i].text) < 96
            && !ncs_name_guess_read(ed->annotations[i].text, g))
            return (int)i;
    return -1;
}

/* One record of ed as entry x (x is e itself for the first one). */
static void edf_record_entry(init_ctx *c, const ncs_edf *ed, entry *x, long r, int a,
                             const ncs_name_guess *g)
{
    x->edf_record = (int)r + 1;
    x->g = *g;
    snprintf(x->edf_ann, sizeof x->edf_ann, "%s", ed->annotations[a].text);
    int second;
    ncs_edf_find_annotation(ed, x->edf_ann, &second);
    x->edf_ann_unique = second < 0 && !strchr(x->edf_ann, ';') && !strchr(x->edf_ann, '#');
    x->edf_at_ms = ed->annotations[a].at_ms;
    for (int i = 0; i < NCS_N_NERVE_NAMES; i++)
        if (strcmp(ncs_nerve_names[i], g->nerve) == 0)
            x->nerve_rank = i;
    if (g->site_known)
        ncs_site_place_of(g->nerve, g->site, &x->place);
    edf_probe(c, x);
}

/* The file's data signals, "1 'EMG APB', 2 'EMG ADM'", and the header's
 * patient when it names one ("X" fields are EDF+'s unknown). */
static void edf_describe(init_ctx *c, const ncs_edf *ed, entry *e)
{
    size_t k = 0;
    e->edf_signals = ed->n_data_signals;
    for (int i = 0, n = 0; i < ed->n_signals && k + 1 < sizeof e->edf_labels; i++) {
        if (ed->signals[i].annotations)
            continue;
        int w = snprintf(e->edf_labels + k, sizeof e->edf_labels - k, "%s%d '%s'",
                         n ? ", " : "", n + 1, ed->signals[i].label);
        k += w > 0 ? (size_t)w : 0;
        n++;
    }
    if (ed->patient[0] && strcmp(ed->patient, "X X X X") != 0 && strcmp(ed->patient, "X") != 0
        && !c->patient[0])
        snprintf(c->patient, sizeof c->patient, "%s", ed->patient);
}

/* EDF and EDF+ files: a site per data record whose annotation names nerve,
 * side and site ("Median R Wrist"); a file of one record (or continuous)
 * without such an annotation is named by its file name as any waveform.
 * Returns 1 when the file was handled here (its records, or why not). */
static int init_edf(init_ctx *c, entry *e)
{
    if (!has_ext(e->name, ".edf") && !has_ext(e->name, ".bdf") && !has_ext(e->name, ".rec"))
        return 0;
    char *path = ncs_asprintf("%s/%s", c->dir, e->name);
    size_t n = 0;
    ncs_hash h;
    ncs_error err;
    snprintf(err.message, sizeof err.message, "out of memory");
    char *data = path ? ncs_read_input(path, c->dir_real, (size_t)NCS_MAX_WAVE_BYTES, &n, &h,
                                       &err) : NULL;
    free(path);
    ncs_edf ed;
    if (!data || ncs_edf_parse(data, n, e->name, &ed, &err) != NCS_OK) {
        snprintf(e->why, sizeof e->why, "an EDF file ncs cannot read: %.300s", err.message);
        free(data);
        return 1;
    }
    free(data);
    edf_describe(c, &ed, e);
    int first = 1;
    entry like = *e;
    for (long r = 0; r < ed.n_records && !c->oom; r++) {
        ncs_name_guess g;
        int a = record_naming(&ed, r, &g);
        if (a < 0 && (ed.kind != NCS_EDF_PLUS_D || ed.n_records == 1))
            break; /* one trace: named by the file's name */
        entry *x = first ? e : extra_entry(c, &like);
        if (!x)
            break;
        first = 0;
        if (a < 0) {
            snprintf(x->why, sizeof x->why, "record %ld: no annotation says its nerve, side "
                     "and site (give its section by hand with record = %ld)", r + 1, r + 1);
            x->edf_record = (int)r + 1;
            continue;
        }
        edf_record_entry(c, &ed, x, r, a, &g);
    }
    ncs_edf_free(&ed);
    e->is_edf = first; /* else read as one waveform */
    return !first;
}

/* The files directly in the folder, sorted by name; hidden files and
 * study.ini left out. */
static ncs_status list_folder(init_ctx *c, ncs_error *err)
{
    DIR *d = opendir(c->dir);
    if (!d)
        return ncs_fail(err, NCS_ERR_IO, c->dir, "cannot read the folder: %s", strerror(errno));
    size_t cap = 0;
    struct dirent *de;
    ncs_status rc = NCS_OK;
    while (rc == NCS_OK && (de = readdir(d))) {
        if (de->d_name[0] == '.' || strcmp(de->d_name, "study.ini") == 0)
            continue;
        if (c->n == MAX_ENTRIES) {
            rc = ncs_fail(err, NCS_ERR_LIMIT, c->dir, "more than %d files in the folder",
                          MAX_ENTRIES);
            break;
        }
        if (c->n == cap) {
            cap = cap ? 2 * cap : 32;
            entry *v = realloc(c->e, cap * sizeof *v);
            if (!v) {
                rc = ncs_fail(err, NCS_ERR_NOMEM, c->dir, "out of memory");
                break;
            }
            c->e = v;
        }
        entry *e = &c->e[c->n];
        memset(e, 0, sizeof *e);
        e->name = ncs_strdup(de->d_name);
        if (!e->name)
            rc = ncs_fail(err, NCS_ERR_NOMEM, c->dir, "out of memory");
        else
            c->n++;
    }
    closedir(d);
    return rc;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

/* What kind of thing the name is: 0 a regular file inside the folder (a
 * link to one is fine), else not read with why. */
static int check_kind(init_ctx *c, entry *e)
{
    const char *bad = unwritable_name(e->name);
    if (bad) {
        not_read(e, "%s: rename it", bad);
        return -1;
    }
    char *path = ncs_asprintf("%s/%s", c->dir, e->name);
    struct stat sb;
    if (!path || lstat(path, &sb) != 0) {
        not_read(e, "cannot be looked at: %s", strerror(errno));
        free(path);
        return -1;
    }
    if (S_ISLNK(sb.st_mode)) {
        char *real = realpath(path, NULL);
        size_t dl = strlen(c->dir_real);
        int inside = real && strncmp(real, c->dir_real, dl) == 0 && real[dl] == '/';
        free(real);
        if (!inside) {
            not_read(e, "a symbolic link that leads outside the folder (or nowhere): not "
                        "followed%s", NULL);
            free(path);
            return -1;
        }
        if (stat(path, &sb) != 0)
            sb.st_mode = 0;
    }
    free(path);
    if (S_ISDIR(sb.st_mode)) {
        not_read(e, "a folder: ncs init reads only the files directly in the study folder%s",
                 NULL);
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        not_read(e, "not a regular file%s", NULL);
        return -1;
    }
    return 0;
}

static void site_for_probe(const init_ctx *c, entry *e, const char *path, ncs_site *s)
{
    memset(s, 0, sizeof *s);
    s->name = (char *)"init";
    s->file = e->name;
    s->path = (char *)path;
    s->inside = c->dir_real;
    s->distance_mm = 70;
    s->channel = 1;
    s->scale_mv = 1.0; /* PCM in full scales */
    s->units = NCS_UNITS_UV;
    s->units_given = 1;
    s->rate_hz = e->rate_guess_hz;
    s->onset_ms = s->peak_ms = s->end_ms = NAN;
    s->entrapment = -1;
}

/* Decodes the file as ncs would, the values as stored (PCM in full scales,
 * others in uV so that no unit is refused as absurd). A CSV whose header
 * names the unit is decoded in it. */
static ncs_status probe_load(init_ctx *c, entry *e, const char *path, ncs_wave *w,
                             ncs_error *err)
{
    ncs_site s;
    e->rate_guess_hz = NAN;
    site_for_probe(c, e, path, &s);
    if (e->is_edf) {
        /* its header says the unit (or says none: probed in uV) */
        s.units_given = 0;
        ncs_status rc = ncs_wave_load(&s, e->name, w, NULL, err);
        if (rc != NCS_OK && strstr(err->message, "set units = for a signal without")) {
            s.units_given = 1;
            e->edf_no_unit = 1;
            rc = ncs_wave_load(&s, e->name, w, NULL, err);
        }
        return rc;
    }
    ncs_status rc = NCS_OK;
    /* each refusal that says what the file needs is answered once */
    for (int k = 0; k < 4; k++) {
        rc = ncs_wave_load(&s, e->name, w, NULL, err);
        const char *at = rc == NCS_ERR_WAVE_RANGE ? strstr(err->message, "first sample (at ")
                                                  : NULL;
        if (rc == NCS_ERR_INI_MISSING && e->is_csv && isnan(s.rate_hz)) {
            e->rate_guess_hz = 10000; /* one column, no rate */
            s.rate_hz = e->rate_guess_hz;
        } else if (rc != NCS_OK && e->is_csv && s.units_given
                   && strstr(err->message, "the CSV header says")) {
            s.units_given = 0; /* the header's unit, as ncs will read it */
            e->header_units = 1;
        } else if (at && s.stim_ms == 0
                   && sscanf(at, "first sample (at %lf ms", &e->stim_first_ms) == 1) {
            s.stim_ms = e->stim_first_ms; /* a time column that starts after 0 */
        } else {
            break;
        }
    }
    if (rc == NCS_OK && e->is_csv && !e->header_units) {
        /* uV agreed: said by the header, or said by nothing */
        s.units = NCS_UNITS_V;
        ncs_wave v;
        ncs_error e2;
        if (ncs_wave_load(&s, e->name, &v, NULL, &e2) != NCS_OK
            && strstr(e2.message, "the CSV header says"))
            e->header_units = 1;
        ncs_wave_free(&v);
    }
    return rc;
}

/* The stimulus time proposed: where the trace shows its artefact, when that
 * is more than 0.2 ms from the file's zero (ncs's own stim-time test). */
static void probe_stim(init_ctx *c, entry *e, const ncs_wave *w)
{
    ncs_markers m;
    ncs_error err;
    e->stim_ms = e->stim_first_ms;
    if (!c->an || ncs_measure(c->an, w, NULL, e->name, &m, NULL, NULL, &err) != NCS_OK)
        return;
    /* from the stimulus the probe declared (stim_first_ms on the file's axis) */
    double t = m.stim_seen_ms;
    double sweep = 1000.0 * (double)w->n / w->fs_hz;
    /* a step inside the response is its take-off, not the stimulus (as
     * the stim-time warning judges it) */
    double r0 = isfinite(m.onset_ms) ? m.onset_ms - 0.3 : INFINITY;
    double r1 = isfinite(m.end_ms) ? m.end_ms : isfinite(m.peak_ms) ? m.peak_ms : r0;
    int in_response = t >= r0 && t <= r1;
    t += e->stim_first_ms; /* on the file's axis */
    if (isfinite(t) && fabs(t - e->stim_first_ms) > 0.2 && !in_response && t >= w->t_first_ms
        && t < w->t_first_ms + sweep - 1.0) {
        e->stim_ms = round(t * 100.0) / 100.0;
        e->stim_found = 1;
    }
}

static void probe(init_ctx *c, entry *e)
{
    e->is_csv = has_ext(e->name, ".csv") || has_ext(e->name, ".txt");
    char *path = ncs_asprintf("%s/%s", c->dir, e->name);
    ncs_wave w;
    ncs_error err;
    if (!path) {
        not_read(e, "out of memory%s", NULL);
        return;
    }
    ncs_status rc = probe_load(c, e, path, &w, &err);
    free(path);
    if (rc != NCS_OK) {
        const char *m = err.message;
        const char *colon = strstr(m, ": "); /* past "<where>: " */
        not_read(e, rc == NCS_ERR_WAVE_FORMAT ? "not a waveform ncs reads: %s" : "%s",
                 colon ? colon + 2 : m);
        return;
    }
    e->channels = w.channels;
    snprintf(e->format_name, sizeof e->format_name, "%s", w.format_name);
    e->is_pcm = !e->is_csv && !e->is_edf && !strstr(w.format_name, "float");
    if (e->is_edf && !e->edf_no_unit)
        e->header_units = 1; /* the EDF header's, which ncs reads */
    double k = e->is_pcm || e->header_units ? 1.0 : 1000.0; /* back to the stored values */
    e->raw_lo = INFINITY;
    e->raw_hi = -INFINITY;
    for (size_t i = 0; i < w.n; i++) {
        e->raw_lo = fmin(e->raw_lo, k * w.mv[i]);
        e->raw_hi = fmax(e->raw_hi, k * w.mv[i]);
    }
    /* a CMAP with its artefact spans about 0.5 to 40 mV: far more is uV,
     * far less is V */
    double span = e->raw_hi - e->raw_lo, top = fmax(fabs(e->raw_lo), fabs(e->raw_hi));
    e->units = span > 200 || top > NCS_ABSURD_MV ? NCS_UNITS_UV
             : span < 0.05 ? NCS_UNITS_V : NCS_UNITS_MV;
    /* the artefact is looked for in mV as proposed (its detector has a
     * floor of 1 uV per sample) */
    double to_mv = e->is_pcm ? 20.0 : e->header_units ? 1.0
                 : k * (e->units == NCS_UNITS_UV ? 1e-3 : e->units == NCS_UNITS_V ? 1e3 : 1.0);
    for (size_t i = 0; i < w.n; i++)
        w.mv[i] *= to_mv;
    probe_stim(c, e, &w);
    ncs_wave_free(&w);
}

/* Reads one entry: kind, EDF, decoding, name. */
static void read_entry(init_ctx *c, entry *e)
{
    if (check_kind(c, e) != 0 || init_edf(c, e))
        return;
    probe(c, e);
    if (e->why[0])
        return;
    const char *why = ncs_name_guess_read(e->name, &e->g);
    if (why) {
        not_read(e, "a waveform whose name does not say its nerve, side and site: %s", why);
        return;
    }
    for (int i = 0; i < NCS_N_NERVE_NAMES; i++)
        if (strcmp(ncs_nerve_names[i], e->g.nerve) == 0)
            e->nerve_rank = i;
    if (e->g.site_known)
        ncs_site_place_of(e->g.nerve, e->g.site, &e->place);
}

/* nerves in ncs's order, right before left; sites distal first, the
 * unknown ones after them by file name */
static int cmp_site(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    int ra = !a->why[0], rb = !b->why[0];
    if (ra != rb)
        return rb - ra;
    if (!ra)
        return strcmp(a->name, b->name);
    if (a->nerve_rank != b->nerve_rank)
        return a->nerve_rank - b->nerve_rank;
    int s = strcmp(b->g.side, a->g.side); /* "right" > "left" */
    if (s)
        return s;
    if (a->g.site_known != b->g.site_known)
        return b->g.site_known - a->g.site_known;
    if (a->g.site_known) {
        int p = ncs_site_place_cmp(&a->place, &b->place);
        if (p)
            return p;
    }
    return strcmp(a->name, b->name);
}

static int same_nerve(const entry *a, const entry *b)
{
    return strcmp(a->g.nerve, b->g.nerve) == 0 && strcmp(a->g.side, b->g.side) == 0;
}

/* A second file for one site, and sites beyond NCS_MAX_SITES, are not read. */
static void drop_duplicates(init_ctx *c)
{
    size_t per_nerve = 0;
    for (size_t i = 0; i < c->n; i++) {
        entry *e = &c->e[i];
        if (e->why[0])
            continue;
        per_nerve = i > 0 && !c->e[i - 1].why[0] && same_nerve(&c->e[i - 1], e)
                        ? per_nerve + 1 : 1;
        for (size_t j = 0; j < i; j++)
            if (!c->e[j].why[0] && same_nerve(&c->e[j], e)
                && strcmp(c->e[j].g.site, e->g.site) == 0) {
                if (e->edf_record && c->e[j].edf_record)
                    snprintf(e->why, sizeof e->why, "record %d: the same site (%s.%s.%s) as "
                             "record %d of %s: choose one", e->edf_record, e->g.nerve,
                             e->g.side, e->g.site, c->e[j].edf_record, c->e[j].name);
                else
                    snprintf(e->why, sizeof e->why, "the same site (%s.%s.%s) as %s: choose "
                             "one", e->g.nerve, e->g.side, e->g.site, c->e[j].name);
                break;
            }
        if (!e->why[0] && per_nerve > NCS_MAX_SITES)
            snprintf(e->why, sizeof e->why, "more than %d sites on %s.%s", NCS_MAX_SITES,
                     e->g.nerve, e->g.side);
    }
}

/* ---- the text ------------------------------------------------------------ */

/* s with control characters shown as \xNN (a comment stays one line) */
static void put_clean(FILE *f, const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            fprintf(f, "\\x%02x", *c);
        else
            fputc(*c, f);
}

#define GUESS "GUESS, confirm: "

static void emit_study(FILE *f, init_ctx *c)
{
    const char *base = strrchr(c->dir_real, '/');
    base = base && base[1] ? base + 1 : "study";
    fprintf(f, "; study.ini proposed by ncs init %s from the names and contents of the files\n"
               "; in this folder. Every value marked GUESS is a starting point, not a\n"
               "; measurement: confirm each one (measure the distances, read the EMG\n"
               "; machine's export settings), then run `ncs check` on the folder.\n"
               "; Sites are in anatomical order, distal first (docs/study-folder.md).\n\n"
               "[study]\n", NCS_VERSION);
    if (ncs_id_valid(base)) {
        fputs("id = ", f);
        put_clean(f, base);
        fputs("\n", f);
    } else {
        fputs("; id = ...  ; the folder's name '", f);
        put_clean(f, base);
        fputs("' breaks the id rule (letters, digits, '.', '_', '-'):\n"
              ";             set one to analyse the study in a batch\n", f);
    }
    if (c->patient[0]) {
        fputs("; patient = ", f);
        put_clean(f, c->patient);
        fputs("   ; from the EDF header: keep it if it is right\n", f);
    }
    fputs("; date = YYYY-MM-DD    ; the day of the study\n"
          "; temperature_c = 33   ; limb surface temperature, measured\n"
          "; lff_hz = 2           ; the recording's low-frequency filter: 2, 5, 10 or 20 Hz\n", f);
}

/* "key = value   ; GUESS, confirm: why" (the value and why printf-made) */
static void guess(FILE *f, init_ctx *c, const char *kv, const char *why_fmt, ...)
    NCS_PRINTF(4, 5);

static void guess(FILE *f, init_ctx *c, const char *kv, const char *why_fmt, ...)
{
    fprintf(f, "%-22s ; " GUESS, kv);
    va_list ap;
    va_start(ap, why_fmt);
    vfprintf(f, why_fmt, ap);
    va_end(ap);
    fputc('\n', f);
    c->counts.guesses++;
}

static void emit_nerve(FILE *f, init_ctx *c, size_t i0, size_t i1)
{
    const entry *e = &c->e[i0];
    const char *muscle = NULL;
    for (size_t i = i0; i < i1 && !muscle; i++)
        if (!c->e[i].why[0] && c->e[i].g.muscle[0])
            muscle = c->e[i].g.muscle;
    char kv[96];
    fprintf(f, "\n[%s.%s]\n", e->g.nerve, e->g.side);
    if (muscle) {
        snprintf(kv, sizeof kv, "muscle = %s", muscle);
        fprintf(f, "%-22s ; from the file names\n", kv);
    } else {
        snprintf(kv, sizeof kv, "muscle = %s", ncs_nerve_muscle(e->g.nerve));
        guess(f, c, kv, "the usual recording muscle of this nerve");
    }
    c->counts.nerves++;
}

/* distance_mm proposed for e after prev (NULL: e is the nerve's first site) */
static void emit_distance(FILE *f, init_ctx *c, const entry *prev, const entry *e)
{
    const char *nerve = e->g.nerve, *why = "a typical adult distance";
    double mm;
    if (!prev && e->g.site_known) {
        mm = ncs_site_typical_mm(nerve, NULL, e->g.site);
        why = "a typical adult distance to the recording electrode";
    } else if (!prev) {
        mm = ncs_site_typical_mm(nerve, NULL, ncs_site_known(nerve, 0));
        why = "no typical value for a site ncs does not know";
    } else if (e->g.site_known && prev->g.site_known) {
        mm = ncs_site_typical_mm(nerve, prev->g.site, e->g.site);
        if (mm < 10) {
            mm = 10;
            why = "the two sites are one place named two ways";
        }
    } else {
        mm = 100;
        why = "no typical value for a site ncs does not know";
    }
    if (!isfinite(mm) || mm < 10)
        mm = 10;
    char kv[96];
    snprintf(kv, sizeof kv, "distance_mm = %.0f", round(mm));
    guess(f, c, kv, "%s; measure it", why);
}

/* scale_mv, units or the CSV header's word for them */
static void emit_scale(FILE *f, init_ctx *c, const entry *e)
{
    char kv[96];
    if (e->is_pcm) {
        guess(f, c, "scale_mv = 20", "integer samples (%s): the mV of full scale, from the "
              "machine's export settings (with 20 this trace spans %.2f to %.2f mV)",
              e->format_name, 20 * e->raw_lo, 20 * e->raw_hi);
    } else if (e->header_units) {
        fputs(e->is_edf ? "; units and scale: from the EDF header, which ncs reads\n"
                        : "; units: named by the CSV header, which ncs reads\n", f);
    } else {
        static const char *const uname[] = {"mV", "uV", "V"};
        snprintf(kv, sizeof kv, "units = %s", uname[e->units]);
        guess(f, c, kv, "the values stored span %.4g to %.4g; a CMAP is a few mV", e->raw_lo,
              e->raw_hi);
    }
    if (!isnan(e->rate_guess_hz)) {
        snprintf(kv, sizeof kv, "rate_hz = %.0f", e->rate_guess_hz);
        guess(f, c, kv, "a one-column CSV says no sample rate: give the machine's");
    }
}

/* A record of an EDF+ file: the annotation that names it (or its number),
 * the signal, the stimulus (the annotation's time, which ncs reads itself) */
static void emit_edf_site(FILE *f, init_ctx *c, const entry *prev, const entry *e)
{
    char kv[160];
    if (e->edf_ann_unique) {
        snprintf(kv, sizeof kv, "annotation = %s", e->edf_ann);
        fprintf(f, "%-22s ; record %d of the %s file\n", kv, e->edf_record, e->format_name);
    } else {
        snprintf(kv, sizeof kv, "record = %d", e->edf_record);
        fprintf(f, "%-22s ; its annotation '", kv);
        put_clean(f, e->edf_ann);
        fputs("' names other records too\n", f);
    }
    emit_distance(f, c, prev, e);
    if (e->edf_signals > 1) {
        fputs("channel = 1            ; " GUESS "the file holds ", f);
        put_clean(f, e->edf_labels);
        fputs(": choose the muscle's signal (a number or a label)\n", f);
        c->counts.guesses++;
    }
    if (e->edf_ann_unique && e->edf_at_ms > 0)
        fprintf(f, "; stim_ms: the annotation marks the stimulus %.3g ms into the record "
                   "(ncs reads it)\n", e->edf_at_ms);
    else if (e->edf_ann_unique)
        fputs("; stim_ms: the annotation marks the stimulus at the record's start (ncs "
              "reads it)\n", f);
    else if (e->stim_found) {
        snprintf(kv, sizeof kv, "stim_ms = %.2f", e->stim_ms);
        guess(f, c, kv, "the stimulus artefact is seen here, from the record's start");
    } else {
        guess(f, c, "stim_ms = 0", "no stimulus artefact found: 0 is the record's start");
    }
    if (e->edf_no_unit) {
        static const char *const uname[] = {"mV", "uV", "V"};
        snprintf(kv, sizeof kv, "units = %s", uname[e->units]);
        guess(f, c, kv, "the EDF header gives the signal no unit; its values span %.4g to "
              "%.4g; a CMAP is a few mV", e->raw_lo, e->raw_hi);
    } else {
        fputs("; units and scale: from the EDF header\n", f);
    }
}

static void emit_site(FILE *f, init_ctx *c, const entry *prev, const entry *e)
{
    fprintf(f, "\n[%s.%s.%s]\n", e->g.nerve, e->g.side, e->g.site);
    if (!e->g.site_known)
        fputs("; a site ncs does not know for this nerve: move this section to its place\n"
              "; (distal first) or rename it (docs/study-folder.md#site-names)\n", f);
    fprintf(f, "file = %s\n", e->name);
    if (e->edf_record) {
        emit_edf_site(f, c, prev, e);
        c->counts.sites++;
        return;
    }
    emit_distance(f, c, prev, e);
    if (e->channels > 1)
        guess(f, c, "channel = 1", "the file holds %d channels; choose the one recorded from "
              "the muscle", e->channels);
    char kv[96];
    if (e->stim_found) {
        snprintf(kv, sizeof kv, "stim_ms = %.2f", e->stim_ms);
        guess(f, c, kv, "the stimulus artefact is seen here on the file's time axis (a "
              "pre-trigger)%s", isnan(e->rate_guess_hz) ? "" : ", at the rate_hz guessed below");
    } else if (e->stim_first_ms != 0) {
        snprintf(kv, sizeof kv, "stim_ms = %.6g", e->stim_first_ms);
        guess(f, c, kv, "no stimulus artefact found; the time column starts here, after 0: "
              "give the stimulus time on that column");
    } else {
        guess(f, c, "stim_ms = 0", "no stimulus artefact found: 0 is the file's first sample "
              "(or its time column's zero); give the machine's pre-trigger if it has one");
    }
    emit_scale(f, c, e);
    c->counts.sites++;
}

static void emit_not_read(FILE *f, init_ctx *c)
{
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) {
        const entry *e = &c->e[i];
        if (!e->why[0])
            continue;
        if (n++ == 0)
            fputs("\n; ---- files not read --------------------------------------------------\n"
                  "; Name a waveform <nerve>_<side>_<site>.<ext> (median_r_wrist.wav,\n"
                  "; ulnar-left-below-elbow.csv, fibular_l_fibular-head.flac), then run\n"
                  "; ncs init again, or add its section by hand:\n", f);
        fputs(";   ", f);
        put_clean(f, e->name);
        fputs(": ", f);
        put_clean(f, e->why);
        fputc('\n', f);
    }
    c->counts.not_read = n;
}

static void emit(FILE *f, init_ctx *c)
{
    emit_study(f, c);
    for (size_t i = 0; i < c->n;) {
        if (c->e[i].why[0]) {
            i++;
            continue;
        }
        size_t j = i + 1;
        while (j < c->n && (c->e[j].why[0] || same_nerve(&c->e[i], &c->e[j])))
            j++;
        emit_nerve(f, c, i, j);
        const entry *prev = NULL;
        for (size_t k = i; k < j; k++)
            if (!c->e[k].why[0]) {
                emit_site(f, c, prev, &c->e[k]);
                prev = &c->e[k];
            }
        i = j;
    }
    emit_not_read(f, c);
}

/* ---- entry point --------------------------------------------------------- */

/* every file not read, a warning "not-read" with why */
static void warn_not_read(init_ctx *c)
{
    for (size_t i = 0; i < c->n; i++) {
        const entry *e = &c->e[i];
        if (!e->why[0])
            continue;
        char *where = ncs_asprintf("%s/%s", c->dir, e->name);
        ncs_warn(c->warn, where ? where : c->dir, "not-read", "not read: %s", e->why);
        free(where);
    }
}

/* The folder's files read; NCS_OK when at least one site came of them. */
static ncs_status read_folder(init_ctx *c, ncs_error *err)
{
    ncs_status rc = list_folder(c, err);
    if (rc != NCS_OK)
        return rc;
    if (c->n) /* an empty folder has no list at all */
        qsort(c->e, c->n, sizeof *c->e, cmp_name);
    for (size_t i = 0; i < c->n; i++)
        read_entry(c, &c->e[i]);
    if (c->oom)
        return ncs_fail(err, NCS_ERR_NOMEM, c->dir, "out of memory");
    /* the further records of EDF+ files, as entries of their own */
    if (c->n_extra) {
        entry *v = realloc(c->e, (c->n + c->n_extra) * sizeof *v);
        if (!v)
            return ncs_fail(err, NCS_ERR_NOMEM, c->dir, "out of memory");
        c->e = v;
        memcpy(c->e + c->n, c->extra, c->n_extra * sizeof *v);
        c->n += c->n_extra;
        free(c->extra);
        c->extra = NULL;
        c->n_extra = 0;
    }
    size_t waves = 0, sites = 0;
    for (size_t i = 0; i < c->n; i++) {
        waves += !c->e[i].why[0] || strstr(c->e[i].why, "name does not") != NULL
                 || c->e[i].edf_record;
        sites += !c->e[i].why[0];
    }
    if (waves == 0 || sites == 0)
        warn_not_read(c); /* what was seen, before the refusal */
    if (waves == 0)
        return ncs_fail(err, NCS_ERR_IO, c->dir,
                        "%s: no waveform file ncs reads (WAV, FLAC, AIFF and the rest of "
                        "libsndfile's formats, CSV, TXT, EDF/EDF+)",
                        c->n ? "nothing here is a waveform" : "the folder is empty");
    if (sites == 0) {
        char first[300] = "";
        for (size_t i = 0; i < c->n && !first[0]; i++)
            if (strstr(c->e[i].why, "name does not"))
                snprintf(first, sizeof first, "%s (%s)", c->e[i].name,
                         strstr(c->e[i].why, ": ") + 2);
        return ncs_fail(err, NCS_ERR_IO, c->dir,
                        "no waveform's name says its nerve, side and site, e.g. %s: name "
                        "them <nerve>_<side>_<site>.<ext> (median_r_wrist.wav, "
                        "ulnar-left-below-elbow.csv)", first);
    }
    qsort(c->e, c->n, sizeof *c->e, cmp_site);
    drop_duplicates(c);
    warn_not_read(c);
    return NCS_OK;
}

ncs_status ncs_init_study(const char *dir, char **text, ncs_init_counts *counts,
                          ncs_warnings *warn, ncs_error *err)
{
    ncs_error_clear(err);
    if (text)
        *text = NULL;
    if (!dir || !*dir || !text)
        return ncs_fail(err, NCS_ERR_USAGE, "", "no folder given");
    init_ctx c = {.dir = dir, .warn = warn};
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ncs_fail(err, NCS_ERR_IO, dir, "not a folder%s%s", errno ? ": " : "",
                        errno ? strerror(errno) : "");
    c.dir_real = realpath(dir, NULL);
    if (!c.dir_real)
        return ncs_fail(err, NCS_ERR_IO, dir, "cannot resolve the folder: %s", strerror(errno));
    c.an = ncs_analyser_create(NULL);
    ncs_status rc = c.an ? read_folder(&c, err)
                         : ncs_fail(err, NCS_ERR_NOMEM, dir, "out of memory");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = rc == NCS_OK ? open_memstream(&buf, &len) : NULL;
    if (rc == NCS_OK && !f)
        rc = ncs_fail(err, NCS_ERR_NOMEM, dir, "out of memory");
    if (f) {
        emit(f, &c);
        if (ferror(f) | fclose(f)) {
            free(buf);
            buf = NULL;
            rc = ncs_fail(err, NCS_ERR_NOMEM, dir, "out of memory");
        }
    }
    for (size_t i = 0; i < c.n; i++)
        free(c.e[i].name);
    for (size_t i = 0; i < c.n_extra; i++)
        free(c.extra[i].name);
    free(c.e);
    free(c.extra);
    free(c.dir_real);
    ncs_analyser_destroy(c.an);
    if (rc == NCS_OK && counts)
        *counts = c.counts;
    *text = buf;
    return rc;
}
