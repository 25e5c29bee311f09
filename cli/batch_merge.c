/* batch_merge.c — `ncs batch --merge OUT...`: the outputs of shards run
 * apart (other machines) joined into the summary.csv and batch.json one run
 * over everything would have written. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include "batch.h"

typedef struct {
    const char *dir;
    json_t *doc;
    json_t *studies;
    size_t pos;
    FILE *summary;
    char *line; /* the next summary row, or NULL at the end */
    size_t cap;
} shard_in;

static void shard_next_row(shard_in *s)
{
    if (getline(&s->line, &s->cap, s->summary) <= 0) {
        free(s->line);
        s->line = NULL;
        s->cap = 0;
    }
}

static const char *shard_path(const shard_in *s)
{
    json_t *e = json_array_get(s->studies, s->pos);
    return e ? json_string_value(json_object_get(e, "path")) : NULL;
}

typedef struct {
    shard_in *in;
    size_t n;
} merge_ctx;

static int put_merged_summary(FILE *f, const void *ctx)
{
    const merge_ctx *mc = ctx;
    fputs(batch_summary_header, f);
    for (size_t k = 0; k < mc->n; k++) {
        mc->in[k].pos = 0;
        rewind(mc->in[k].summary);
        shard_next_row(&mc->in[k]); /* the header */
        shard_next_row(&mc->in[k]);
    }
    /* the shards' study lists are each sorted by path: merge them */
    for (;;) {
        size_t best = mc->n;
        for (size_t k = 0; k < mc->n; k++) {
            const char *p = shard_path(&mc->in[k]);
            if (p && (best == mc->n || strcmp(p, shard_path(&mc->in[best])) < 0))
                best = k;
        }
        if (best == mc->n)
            break;
        shard_in *s = &mc->in[best];
        const char *id = json_string_value(json_object_get(json_array_get(s->studies, s->pos),
                                                           "id"));
        /* this study's rows are the next ones of its shard's summary */
        while (s->line && id) {
            const char *p = s->line;
            char first[512];
            batch_csv_field(&p, first, sizeof first);
            if (strcmp(first, id) != 0)
                break;
            fputs(s->line, f);
            shard_next_row(s);
        }
        s->pos++;
    }
    return ferror(f);
}

static int cmp_entry_path(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "path"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "path"));
    return strcmp(x ? x : "", y ? y : "");
}

/* A list of study entries in the order one run writes them: by path. */
static void sort_by_path(json_t *list)
{
    size_t n = json_array_size(list);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(list, i));
    qsort(v, n, sizeof *v, cmp_entry_path);
    json_array_clear(list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, v[i]);
    free(v);
}

static int put_merged_json(FILE *f, const void *ctx)
{
    const merge_ctx *mc = ctx;
    json_t *root = json_object();
    json_object_set_new(root, "schema", json_string("ncs-batch/1"));
    json_object_set_new(root, "ncs_version", json_string(NCS_VERSION));
    json_t *from = json_array();
    json_int_t n = 0, ok = 0, an = 0, up = 0, failed = 0;
    json_t *fl = json_array(), *all = json_array();
    for (size_t k = 0; k < mc->n; k++) {
        json_t *d = mc->in[k].doc;
        json_array_append_new(from, json_string(mc->in[k].dir));
        /* each count was checked to lie in 0..MAX_COUNT (shard_counts_ok) */
        n += json_integer_value(json_object_get(d, "n_studies"));
        ok += json_integer_value(json_object_get(d, "succeeded"));
        an += json_integer_value(json_object_get(d, "analysed"));
        up += json_integer_value(json_object_get(d, "up_to_date"));
        failed += json_integer_value(json_object_get(d, "failed"));
        json_array_extend(fl, json_object_get(d, "failed_studies"));
        json_array_extend(all, json_object_get(d, "studies"));
    }
    json_object_set_new(root, "root", json_incref(json_object_get(mc->in[0].doc, "root")));
    json_object_set_new(root, "merged_from", from);
    json_object_set_new(root, "tree", json_incref(json_object_get(mc->in[0].doc, "tree")));
    json_object_set_new(root, "settings", json_incref(json_object_get(mc->in[0].doc, "settings")));
    json_object_set_new(root, "n_studies", json_integer(n));
    json_object_set_new(root, "succeeded", json_integer(ok));
    json_object_set_new(root, "analysed", json_integer(an));
    json_object_set_new(root, "up_to_date", json_integer(up));
    json_object_set_new(root, "failed", json_integer(failed));
    sort_by_path(fl);
    sort_by_path(all);
    json_object_set_new(root, "failed_studies", fl);
    json_object_set_new(root, "studies", all);
    int rc = json_dumpf(root, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    json_decref(root);
    return rc;
}

/* A shard's counts are numbers of studies: whole, not negative, and
 * n_studies is the length of its list (a forged or damaged batch.json must
 * not overflow the sums). Names the first bad one. */
#define MAX_COUNT 1000000000
static const char *shard_counts_bad(json_t *doc)
{
    static const char *const keys[] = {"n_studies", "succeeded", "analysed", "up_to_date",
                                       "failed"};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        json_t *v = json_object_get(doc, keys[k]);
        if (!json_is_integer(v) || json_integer_value(v) < 0
            || json_integer_value(v) > MAX_COUNT)
            return keys[k];
    }
    json_int_t n = json_integer_value(json_object_get(doc, "n_studies"));
    json_int_t ok = json_integer_value(json_object_get(doc, "succeeded"));
    json_int_t failed = json_integer_value(json_object_get(doc, "failed"));
    if ((size_t)n != json_array_size(json_object_get(doc, "studies")))
        return "n_studies";
    if (ok != json_integer_value(json_object_get(doc, "analysed"))
                  + json_integer_value(json_object_get(doc, "up_to_date")))
        return "succeeded";
    if (n != ok + failed || (size_t)failed != json_array_size(json_object_get(doc, "failed_studies")))
        return "failed";
    /* and the counts are the statuses of the list */
    json_int_t c[3] = {0, 0, 0};
    static const char *const st[3] = {"analysed", "up-to-date", "failed"};
    json_t *list = json_object_get(doc, "studies");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const char *s = json_string_value(json_object_get(json_array_get(list, i), "status"));
        for (int k = 0; k < 3; k++)
            c[k] += s && strcmp(s, st[k]) == 0;
    }
    if (c[0] != json_integer_value(json_object_get(doc, "analysed")))
        return "analysed";
    if (c[1] != json_integer_value(json_object_get(doc, "up_to_date")))
        return "up_to_date";
    if (c[2] != failed)
        return "failed";
    return NULL;
}

/* dir/name as an input: a regular file (a FIFO never blocks the merge) */
static int open_shard_file(const char *dir, const char *name, char *p, size_t np)
{
    fmt(p, np, "%s/%s", dir, name);
    ncs_error err;
    int fd = ncs_open_input(p, NULL, &err);
    if (fd < 0)
        diag(p, "error", err.message);
    return fd;
}

/* Whether a study of the list with that id succeeded */
static int succeeded_id(json_t *studies, const char *id)
{
    for (size_t i = 0; i < json_array_size(studies); i++) {
        json_t *e = json_array_get(studies, i);
        const char *x = json_string_value(json_object_get(e, "id"));
        const char *st = json_string_value(json_object_get(e, "status"));
        if (x && st && strcmp(x, id) == 0 && strcmp(st, "failed") != 0)
            return 1;
    }
    return 0;
}

/* A shard's summary.csv read whole: summary.csv's header, and rows each
 * ended by a newline, as wide as the header, of a study of the shard that
 * succeeded. NULL, or what is wrong. */
static const char *summary_bad(FILE *f, json_t *studies)
{
    char *line = NULL, field[512];
    size_t cap = 0;
    ssize_t len;
    const char *why = NULL;
    size_t want = 0, lines = 0;
    for (const char *h = batch_summary_header; *h; h++)
        want += *h == ',';
    want++;
    for (int row = 0; !why && (len = getline(&line, &cap, f)) > 0; row++, lines++) {
        if (line[len - 1] != '\n') {
            why = "the last row has no end";
            break;
        }
        if (row == 0) {
            if (strcmp(line, batch_summary_header) != 0)
                why = "not summary.csv's header";
            continue;
        }
        const char *p = line;
        size_t nf = 0;
        char id[512] = "";
        while (batch_csv_field(&p, field, sizeof field))
            if (nf++ == 0)
                fmt(id, sizeof id, "%s", field);
        nf += p > line && p[-1] == ','; /* an empty last cell */
        if (nf != want)
            why = "a row without summary.csv's columns";
        else if (!succeeded_id(studies, id))
            why = "a row of a study the shard's batch.json does not list as analysed";
    }
    if (!why && ferror(f))
        why = "it cannot be read";
    if (!why && lines == 0)
        why = "it is empty";
    free(line);
    return why;
}

static int load_shard(shard_in *s)
{
    char p[PATH_MAX + 32];
    int fd = open_shard_file(s->dir, "batch.json", p, sizeof p);
    if (fd < 0)
        return EXIT_INPUT;
    json_error_t je;
    s->doc = json_loadfd(fd, 0, &je);
    close(fd);
    s->studies = json_object_get(s->doc, "studies");
    const char *bad = s->doc && json_is_array(s->studies) ? shard_counts_bad(s->doc) : NULL;
    if (!s->doc || !json_is_array(s->studies) || bad) {
        char msg[400];
        if (bad)
            fmt(msg, sizeof msg, "'%s' is not a count of this batch's studies: the file is "
                                 "damaged or not written by ncs", bad);
        else
            fmt(msg, sizeof msg, "not a batch output of this version (%s)",
                s->doc ? "no studies list" : je.text);
        diag(p, "error", msg);
        return EXIT_INPUT;
    }
    fd = open_shard_file(s->dir, "summary.csv", p, sizeof p);
    if (fd < 0)
        return EXIT_INPUT;
    s->summary = fdopen(fd, "r");
    if (!s->summary) {
        close(fd);
        diag(p, "error", strerror(errno));
        return EXIT_INPUT;
    }
    const char *why = summary_bad(s->summary, s->studies);
    rewind(s->summary);
    if (why) {
        char msg[300];
        fmt(msg, sizeof msg, "%s: the file is cut or damaged (an interrupted copy?); copy the "
                             "shard's output again", why);
        diag(p, "error", msg);
        return EXIT_INPUT;
    }
    return EXIT_OK;
}

typedef struct {
    const char *path;
    size_t shard;
} path_ref;

static int cmp_path_ref(const void *a, const void *b)
{
    return strcmp(((const path_ref *)a)->path, ((const path_ref *)b)->path);
}

/* Every study's path across the shards, sorted: two alike are one study
 * counted twice (printed). */
static int merge_duplicates(const shard_in *in, size_t n)
{
    size_t total = 0;
    for (size_t k = 0; k < n; k++)
        total += json_array_size(in[k].studies);
    path_ref *r = malloc((total ? total : 1) * sizeof *r);
    if (!r)
        return EXIT_OUTPUT;
    size_t m = 0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < json_array_size(in[k].studies); i++) {
            const char *p = json_string_value(json_object_get(json_array_get(in[k].studies, i),
                                                              "path"));
            r[m++] = (path_ref){p ? p : "", k};
        }
    qsort(r, m, sizeof *r, cmp_path_ref);
    int rc = EXIT_OK;
    for (size_t i = 1; i < m && rc == EXIT_OK; i++)
        if (strcmp(r[i].path, r[i - 1].path) == 0) {
            char msg[PATH_MAX + 200];
            fmt(msg, sizeof msg, "study %s is in both %s and %s", r[i].path,
                in[r[i - 1].shard].dir, in[r[i].shard].dir);
            diag("batch --merge", "error", msg);
            rc = EXIT_INPUT;
        }
    free(r);
    return rc;
}

/* Shards made with --shard I/N: all of one N, each I once, none missing
 * (a merge without one would drop its studies silently). Runs made without
 * --shard are joined as they are. */
static int merge_split_whole(const shard_in *in, size_t n)
{
    long split = 0;
    unsigned char *seen = NULL;
    int rc = EXIT_OK;
    for (size_t k = 0; k < n && rc == EXIT_OK; k++) {
        const char *s = json_string_value(json_object_get(in[k].doc, "shard"));
        long i = -1, m = 0;
        char msg[PATH_MAX + 200];
        if (s && (sscanf(s, "%ld/%ld", &i, &m) != 2 || m < 1 || m > 1000000 || i < 0 || i >= m)) {
            fmt(msg, sizeof msg, "%s: shard '%s' is not I/N", in[k].dir, s);
            rc = EXIT_INPUT;
        } else if ((s != NULL) != (k == 0 ? s != NULL : split > 0)
                   || (s && split && m != split)
                   || (s && k > 0 && !json_equal(json_object_get(in[k].doc, "tree"),
                                                 json_object_get(in[0].doc, "tree")))) {
            fmt(msg, sizeof msg, "%s is not a shard of the same split as %s (--shard I/N with "
                                 "one N over the same studies under ROOT, wherever it is "
                                 "mounted; or no --shard for all)", in[k].dir, in[0].dir);
            rc = EXIT_INPUT;
        } else if (s) {
            if (!seen && !(seen = calloc((size_t)m, 1)))
                return EXIT_OUTPUT;
            split = m;
            if (seen[i]) {
                fmt(msg, sizeof msg, "shard %ld/%ld is given twice (%s)", i, m, in[k].dir);
                rc = EXIT_INPUT;
            }
            seen[i] = 1;
        }
        if (rc != EXIT_OK)
            diag("batch --merge", "error", msg);
    }
    for (long i = 0; rc == EXIT_OK && i < split; i++)
        if (!seen[i]) {
            char msg[200];
            fmt(msg, sizeof msg, "shard %ld/%ld is missing: its studies would be lost from the "
                                 "merge (give every shard's output)", i, split);
            diag("batch --merge", "error", msg);
            rc = EXIT_INPUT;
        }
    free(seen);
    return rc;
}

static int same_folder(const char *a, const char *b)
{
    struct stat x, y;
    return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino;
}

int batch_merge(int argc, char **argv, int first, const options *o)
{
    size_t n = (size_t)(argc - first);
    shard_in *in = calloc(n, sizeof *in);
    if (!in)
        return EXIT_OUTPUT;
    int rc = EXIT_OK;
    json_t *settings0 = NULL;
    for (size_t k = 0; k < n && rc == EXIT_OK; k++) {
        in[k].dir = argv[first + (int)k];
        char p[PATH_MAX + 32];
        fmt(p, sizeof p, "%s/batch.json", in[k].dir);
        if ((rc = load_shard(&in[k])) != EXIT_OK)
            break;
        json_t *s = json_object_get(in[k].doc, "settings");
        if (!settings0)
            settings0 = s;
        else if (!json_equal(settings0, s)) {
            diag(p, "error", "made with other settings than the first shard "
                             "(criteria, norms or report): the shards do not belong together");
            rc = EXIT_INPUT;
            break;
        }
    }
    /* every shard of one split, each once; then one study in two shards
     * (or twice in one) would be counted twice */
    if (rc == EXIT_OK)
        rc = merge_split_whole(in, n);
    if (rc == EXIT_OK)
        rc = merge_duplicates(in, n);
    /* the output is none of the shards: they are its inputs */
    for (size_t k = 0; k < n && rc == EXIT_OK; k++)
        if (same_folder(in[k].dir, o->out)) {
            char msg[PATH_MAX + 100];
            fmt(msg, sizeof msg, "-o %s is one of the shards merged: write the merge elsewhere",
                o->out);
            diag("batch --merge", "error", msg);
            rc = EXIT_INPUT;
        }
    if (rc == EXIT_OK) {
        merge_ctx mc = {in, n};
        outdir out;
        int lock = -1;
        rc = outdir_open(&out, o->out);
        if (rc == EXIT_OK && (lock = batch_lock_out(&out, 1, NULL)) < 0)
            rc = EXIT_OUTPUT;
        if (rc == EXIT_OK)
            rc = write_atomic(&out, "summary.csv", put_merged_summary, &mc);
        if (rc == EXIT_OK)
            rc = write_atomic(&out, "batch.json", put_merged_json, &mc);
        if (lock >= 0)
            close(lock);
        outdir_close(&out);
        json_int_t failed = 0;
        for (size_t k = 0; k < n; k++)
            failed += json_integer_value(json_object_get(in[k].doc, "failed"));
        if (rc == EXIT_OK && !o->quiet)
            fprintf(stderr, "ncs: batch: merged %zu shard%s into %s (%lld failed stud%s)\n", n,
                    n == 1 ? "" : "s", o->out, (long long)failed, failed == 1 ? "y" : "ies");
        /* as the run over everything would: a failed study is exit 1 */
        if (rc == EXIT_OK && failed > 0)
            rc = EXIT_BATCH_FAILED;
    }
    for (size_t k = 0; k < n; k++) {
        json_decref(in[k].doc);
        if (in[k].summary)
            fclose(in[k].summary);
        free(in[k].line);
    }
    free(in);
    return rc;
}

