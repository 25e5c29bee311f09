/* batch_summary.c — the batch's own outputs: summary.csv, streamed from the
 * studies' results.csv files, and batch.json, written a study at a time, so
 * memory does not grow with the number of studies. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <jansson.h>
#include <xxhash.h>
#include "batch.h"

/* One CSV field from *s (quoted or not) into out; *s moves past it and its
 * comma. Returns 0 at the end of the line. */
int batch_csv_field(const char **s, char *out, size_t n)
{
    const char *p = *s;
    size_t k = 0;
    if (*p == '\0' || *p == '\n' || *p == '\r')
        return 0;
    if (*p == '"') {
        p++;
        while (*p) {
            if (*p == '"' && p[1] == '"') {
                if (k + 1 < n)
                    out[k++] = '"';
                p += 2;
            } else if (*p == '"') {
                p++;
                break;
            } else {
                if (k + 1 < n)
                    out[k++] = *p;
                p++;
            }
        }
    } else {
        while (*p && *p != ',' && *p != '\n' && *p != '\r') {
            if (k + 1 < n)
                out[k++] = *p;
            p++;
        }
    }
    out[k] = '\0';
    if (*p == ',')
        p++;
    *s = p;
    return 1;
}


const char batch_summary_header[] =
    "study,nerve,segment,distance_mm,cv_m_s,amp_drop_pct,area_drop_pct,dur_increase_pct,"
    "entrapment_site,block,findings,patient\n";

/* results.csv's columns that make a summary.csv row, in order */
static const char *const summary_from[] = {"study", "nerve", "segment", "segment_distance_mm",
                                           "cv_m_s", "amp_drop_pct", "area_drop_pct",
                                           "dur_increase_pct", "entrapment_site", "block",
                                           "findings", "patient"};
#define N_SUMMARY (sizeof summary_from / sizeof summary_from[0])
enum { SUMMARY_SEGMENT = 2, SUMMARY_PATIENT = 11 };
#define MAX_COLS 64

/* results.csv in the folder open on dfd (no link followed) */
static FILE *open_csv_at(int dfd)
{
    int fd = openat(dfd, "results.csv", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    struct stat sb;
    FILE *in = fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? fdopen(fd, "r") : NULL;
    if (!in && fd >= 0)
        close(fd);
    return in;
}

/* OUT/<id>/results.csv, opened below OUT's descriptor (no link followed) */
static FILE *open_results_csv(const outdir *out, const char *id)
{
    int dfd = openat(out->fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return NULL;
    FILE *in = open_csv_at(dfd);
    close(dfd);
    return in;
}

/* The segment rows of one study's results.csv appended to f (f NULL: only
 * checked); -1 when a row does not parse. Closes in. */
static int rows_of(FILE *in, FILE *f)
{
    char *line = NULL;
    size_t cap = 0;
    int col[N_SUMMARY];
    for (size_t k = 0; k < N_SUMMARY; k++)
        col[k] = -1;
    int rc = 0, header = 1, header_nf = -1;
    static char field[MAX_COLS][4096];
    while (getline(&line, &cap, in) > 0) {
        const char *p = line;
        int nf = 0;
        while (nf < MAX_COLS && batch_csv_field(&p, field[nf], sizeof field[0]))
            nf++;
        if (nf < MAX_COLS && p > line && p[-1] == ',') /* an empty last cell */
            field[nf++][0] = '\0';
        if (header) {
            for (size_t k = 0; k < N_SUMMARY; k++)
                for (int c = 0; c < nf; c++)
                    if (strcmp(field[c], summary_from[k]) == 0)
                        col[k] = c;
            for (size_t k = 0; k < N_SUMMARY; k++)
                if (col[k] < 0 && k != SUMMARY_PATIENT)
                    rc = -1; /* (a results.csv of an ncs before `patient` has none) */
            header = 0;
            header_nf = nf;
            if (rc)
                break;
            continue;
        }
        if (nf != header_nf || (*p && *p != '\n' && *p != '\r')) {
            /* a row that does not parse fails the summary: never dropped */
            rc = -1;
            break;
        }
        if (col[SUMMARY_SEGMENT] >= nf || !field[col[SUMMARY_SEGMENT]][0] || !f)
            continue; /* a distal site: no segment ends there */
        for (size_t k = 0; k < N_SUMMARY; k++)
            ncs_csv_field(f, col[k] >= 0 && col[k] < nf ? field[col[k]] : "", k == 0);
        fputc('\n', f);
    }
    free(line);
    fclose(in);
    return header ? -1 : rc; /* no header: not a results.csv */
}

static int summary_rows(FILE *f, const outdir *out, const char *id)
{
    FILE *in = open_results_csv(out, id);
    return in ? rows_of(in, f) : -1;
}

int batch_results_csv_ok(int dir_fd)
{
    FILE *in = open_csv_at(dir_fd);
    return in && rows_of(in, NULL) == 0;
}

int batch_put_summary(FILE *f, const void *ctx)
{
    const batch_ctx *b = ctx;
    fputs(batch_summary_header, f);
    for (size_t i = b->lo; i < b->l->n; i += b->step) {
        const study_ent *e = &b->l->v[i];
        if (e->status != ST_ANALYSED && e->status != ST_UP_TO_DATE)
            continue;
        char p[PATH_MAX + 300];
        fmt(p, sizeof p, "%s/%s/results.csv", b->o->out, e->id);
        if (summary_rows(f, b->o->out_dir, e->id) != 0) {
            char msg[PATH_MAX + 64];
            fmt(msg, sizeof msg, "cannot read the study's results.csv (missing, or a row "
                                 "without the header's columns): summary.csv not written");
            diag(p, "error", msg);
            return -1;
        }
    }
    return ferror(f);
}

static void put_json_field(FILE *f, const char *key, json_t *v, int last)
{
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    fprintf(f, " \"%s\": %s%s\n", key, t ? t : "null", last ? "" : ",");
    free(t);
    json_decref(v);
}

/* A name from the file system may not be UTF-8 (a Latin-1 folder name):
 * then its bytes above 0x7f are written as \xNN, and a backslash of the
 * name as \\ (in every name), so the entry still says which folder it is and
 * no two names read alike. */
static json_t *text_or_null(const char *s)
{
    if (!s)
        return json_null();
    json_t *v = strchr(s, '\\') ? NULL : json_string(s);
    if (v)
        return v;
    int utf8 = (v = json_string(s)) != NULL;
    json_decref(v);
    size_t n = strlen(s);
    char *e = malloc(4 * n + 1), *o = e;
    if (!e)
        return json_null();
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        o += *c == '\\' ? sprintf(o, "\\\\")
           : *c < 0x80 || utf8 ? sprintf(o, "%c", *c) : sprintf(o, "\\x%02x", *c);
    v = json_string(e);
    free(e);
    return v ? v : json_null();
}

/* A JSON list of the shard's studies, one line each: the failed ones with
 * their errors, or all with their status. */
static void put_study_list(FILE *f, const batch_ctx *b, int failed_only)
{
    const study_list *l = b->l;
    int first = 1;
    fputc('[', f);
    for (size_t i = b->lo; i < l->n; i += b->step) {
        const study_ent *e = &l->v[i];
        if (failed_only && e->status != ST_FAILED)
            continue;
        json_t *x = json_object();
        json_object_set_new(x, "path", text_or_null(batch_rel_path(l, e->path)));
        json_object_set_new(x, "id", text_or_null(e->id));
        if (failed_only)
            json_object_set_new(x, "error", text_or_null(e->error ? e->error : ""));
        else
            json_object_set_new(x, "status", json_string(batch_status_name[e->status]));
        char *t = json_dumps(x, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fprintf(f, "%s\n  %s", first ? "" : ",", t ? t : "null");
        free(t);
        json_decref(x);
        first = 0;
    }
    fputs(first ? "]" : "\n ]", f);
}

/* What the shards of one split share wherever ROOT is mounted: how many
 * studies the whole run found, and a hash (XXH3-128) of their paths under
 * ROOT in order. */
static json_t *tree_of(const study_list *l)
{
    XXH3_state_t *s = XXH3_createState();
    if (!s)
        return json_null();
    XXH3_128bits_reset(s);
    for (size_t i = 0; i < l->n; i++) {
        const char *p = batch_rel_path(l, l->v[i].path);
        XXH3_128bits_update(s, p, strlen(p) + 1);
    }
    XXH128_hash_t h = XXH3_128bits_digest(s);
    XXH3_freeState(s);
    json_t *t = json_object();
    json_object_set_new(t, "studies", json_integer((json_int_t)l->n));
    json_object_set_new(t, "hash", json_sprintf("%016llx%016llx", (unsigned long long)h.high64,
                                                (unsigned long long)h.low64));
    return t;
}

/* batch.json, written a study at a time (memory does not grow with them) */
int batch_put_json(FILE *f, const void *ctx)
{
    const batch_ctx *b = ctx;
    const study_list *l = b->l;
    const options *o = b->o;
    size_t n = 0, counts[4] = {0};
    for (size_t i = b->lo; i < l->n; i += b->step) {
        n++;
        counts[l->v[i].status]++;
    }
    struct rusage self, kids;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &kids);
    fputs("{\n", f);
    put_json_field(f, "schema", json_string("ncs-batch/1"), 0);
    put_json_field(f, "ncs_version", json_string(NCS_VERSION), 0);
    put_json_field(f, "root", text_or_null(l->root), 0);
    put_json_field(f, "shard", o->shard_n ? json_sprintf("%d/%d", o->shard_i, o->shard_n)
                                         : json_null(), 0);
    put_json_field(f, "tree", tree_of(l), 0);
    char *st = settings_text(o);
    json_t *set = st ? json_loads(st, 0, NULL) : NULL;
    free(st);
    if (!set)
        set = json_object();
    json_object_set_new(set, "criteria", json_string(ncs_criteria_name(o->analysis.primary)));
    json_object_set_new(set, "all_criteria", json_boolean(o->analysis.all_criteria));
    put_json_field(f, "settings", set, 0);
    put_json_field(f, "n_studies", json_integer((json_int_t)n), 0);
    put_json_field(f, "succeeded", json_integer((json_int_t)(counts[ST_ANALYSED]
                                                             + counts[ST_UP_TO_DATE])), 0);
    put_json_field(f, "analysed", json_integer((json_int_t)counts[ST_ANALYSED]), 0);
    put_json_field(f, "up_to_date", json_integer((json_int_t)counts[ST_UP_TO_DATE]), 0);
    put_json_field(f, "failed", json_integer((json_int_t)counts[ST_FAILED]), 0);
    json_t *rss = json_object();
    json_object_set_new(rss, "batch", json_integer(self.ru_maxrss));
    json_object_set_new(rss, "largest_worker", json_integer(kids.ru_maxrss));
    put_json_field(f, "peak_rss_kb", rss, 0);
    fputs(" \"failed_studies\": ", f);
    put_study_list(f, b, 1);
    fputs(",\n \"studies\": ", f);
    put_study_list(f, b, 0);
    fputs("\n}\n", f);
    return ferror(f);
}

