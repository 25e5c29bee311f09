/* cli_batch.c — `ncs batch`: every study under a folder, in worker processes.
 *
 * The parent finds the studies (sorted), reads each one's id and refuses
 * duplicates before any work, keeps the shard it is asked for, and hands
 * studies one at a time to -j worker processes over pipes. A worker loads,
 * analyses and writes OUT/<id>/ (every file under a temporary name, renamed
 * into place), then reports back; a worker that crashes costs only the study
 * it was on, and a new one takes its place. Workers' messages come back
 * through pipes, so the progress line stays whole. At the end the parent
 * streams OUT/summary.csv from the studies' results.csv files and writes
 * OUT/batch.json. Memory: the parent holds one short record per study; a
 * worker holds one study at a time.
 *
 * `--merge OUT...` joins the outputs of shards run apart (other machines)
 * into the summary.csv and batch.json one run would have written. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

/* snprintf that may cut: for paths and messages whose length we bound */
static void fmt(char *buf, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));

static void fmt(char *buf, size_t n, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, n, f, ap);
    va_end(ap);
}

enum { ST_PENDING = 0, ST_ANALYSED, ST_UP_TO_DATE, ST_FAILED };
static const char *const status_name[] = {"pending", "analysed", "up-to-date", "failed"};

typedef struct {
    char *path;  /* the study folder as found under ROOT */
    char *id;
    char *error; /* when failed */
    unsigned char status;
} study_ent;

typedef struct {
    study_ent *v;
    size_t n, cap;
    const char *root;
} study_list;

/* ---- finding the studies ------------------------------------------------- */

/* Every folder under dir holding a study.ini, by readdir: the entries' types
 * come with their names, so no file is stat()ed (symbolic links are not
 * followed). Returns -1 when out of memory. */
static int push_study(study_list *l, const char *dir)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        study_ent *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof l->v[0]);
    if (!(l->v[l->n].path = strdup(dir)))
        return -1;
    l->n++;
    return 0;
}

static int walk(study_list *l, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        diag(dir, "warning", "cannot read this folder; skipped");
        return 0;
    }
    size_t dl = strlen(dir);
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        int type = de->d_type;
        if (type == DT_UNKNOWN) {
            char p[PATH_MAX];
            struct stat sb;
            fmt(p, sizeof p, "%s/%s", dir, name);
            if (lstat(p, &sb) != 0)
                continue;
            type = S_ISDIR(sb.st_mode) ? DT_DIR : S_ISREG(sb.st_mode) ? DT_REG : DT_LNK;
        }
        if (type == DT_REG && strcmp(name, "study.ini") == 0) {
            rc = push_study(l, dir);
        } else if (type == DT_DIR) {
            if (depth >= 64) {
                diag(dir, "warning", "folders nested deeper than 64 levels are not searched");
                continue;
            }
            char *sub = malloc(dl + strlen(name) + 2);
            if (!sub) {
                rc = -1;
                break;
            }
            sprintf(sub, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);
            rc = walk(l, sub, depth + 1);
            free(sub);
        }
    }
    closedir(d);
    return rc;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(((const study_ent *)a)->path, ((const study_ent *)b)->path);
}

static char *peek_id(const char *dir)
{
    return ncs_study_peek_id(dir);
}

static const char *rel_path(const study_list *l, const char *path)
{
    size_t rl = strlen(l->root);
    while (rl > 1 && l->root[rl - 1] == '/')
        rl--;
    if (strncmp(path, l->root, rl) == 0 && path[rl] == '/')
        return path + rl + 1;
    if (strncmp(path, l->root, rl) == 0 && path[rl] == '\0')
        return ".";
    return path;
}

static void free_list(study_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].id);
        free(l->v[i].error);
    }
    free(l->v);
}

typedef struct {
    size_t i;
    const study_list *l;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = strcmp(x->l->v[x->i].id, y->l->v[y->i].id);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Two studies with one id would write one output folder: refused before
 * any work. Returns the number of clashes (each printed). */
static size_t duplicate_ids(const study_list *l)
{
    id_ref *r = malloc((l->n ? l->n : 1) * sizeof *r);
    if (!r)
        return 0;
    for (size_t i = 0; i < l->n; i++)
        r[i] = (id_ref){i, l};
    qsort(r, l->n, sizeof *r, cmp_id_ref);
    size_t dup = 0;
    for (size_t k = 1; k < l->n; k++)
        if (strcmp(l->v[r[k].i].id, l->v[r[k - 1].i].id) == 0) {
            char msg[PATH_MAX + 300];
            fmt(msg, sizeof msg, "study id '%s' is also the id of %s: each study needs "
                                      "its own id (set id = in [study])",
                     l->v[r[k].i].id, l->v[r[k - 1].i].path);
            diag(l->v[r[k].i].path, "error", msg);
            dup++;
        }
    free(r);
    return dup;
}

/* ---- resume: are the outputs newer than every input? --------------------- */

static int mtime_of(const char *path, struct timespec *t)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    *t = sb.st_mtim;
    return 0;
}

static int later(struct timespec a, struct timespec b)
{
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

static const char *const report_ext[] = {"pdf", "png", "svg"};

/* Whether out_dir holds this study's outputs for these options, newer than
 * study.ini, every waveform and the normative tables. */
static int up_to_date(const ncs_study *st, const options *o, const char *out_dir)
{
    struct timespec newest_in = {0, 0}, t;
    if (mtime_of(st->ini_path, &newest_in))
        return 0;
    for (size_t i = 0; i < st->n_nerves; i++)
        for (size_t j = 0; j < st->nerves[i].n_sites; j++) {
            if (mtime_of(st->nerves[i].sites[j].path, &t))
                return 0;
            if (later(t, newest_in))
                newest_in = t;
        }
    const char *norms[2] = {st->norms, o->analysis.norms_path};
    for (int k = 0; k < 2; k++)
        if (norms[k]) {
            if (mtime_of(norms[k], &t))
                return 0;
            if (later(t, newest_in))
                newest_in = t;
        }
    char p[PATH_MAX + 64];
    const char *outs[3] = {"results.json", "results.csv", NULL};
    char rep[32];
    if (o->report >= 0) {
        fmt(rep, sizeof rep, "report.%s", report_ext[o->report]);
        outs[2] = rep;
    }
    for (int k = 0; k < 3; k++) {
        if (!outs[k])
            continue;
        fmt(p, sizeof p, "%s/%s", out_dir, outs[k]);
        if (mtime_of(p, &t) || !later(t, newest_in))
            return 0;
    }
    /* and made with the same criteria, tables and report */
    fmt(p, sizeof p, "%s/results.json", out_dir);
    json_t *old = json_load_file(p, 0, NULL);
    if (!old)
        return 0;
    json_t *s = json_object_get(old, "settings");
    const char *crit = json_string_value(json_object_get(s, "criteria"));
    size_t n_eval = json_array_size(json_object_get(s, "criteria_evaluated"));
    json_t *nf = json_object_get(s, "norms_file"), *rp = json_object_get(s, "report");
    int same = crit && strcmp(crit, ncs_criteria_name(o->analysis.primary)) == 0
               && n_eval == (o->analysis.all_criteria ? (size_t)NCS_CRIT__COUNT : 1)
               && (o->analysis.norms_path
                       ? json_is_string(nf)
                             && strcmp(json_string_value(nf), o->analysis.norms_path) == 0
                       : json_is_null(nf))
               && (o->report >= 0 ? json_is_string(rp)
                                        && strcmp(json_string_value(rp), report_ext[o->report]) == 0
                                  : json_is_null(rp));
    json_decref(old);
    return same;
}

/* ---- one study, in a worker ---------------------------------------------- */

typedef struct {
    uint32_t index;
    int32_t status; /* ST_* */
    int32_t exit_code;
    char message[1000];
} result_msg;

/* Hidden temporaries an interrupted run may have left in out_dir
 * (".<name>.tmp.<pid>" from cli_common.c, ".ncs-report-<pid>-<n>.<ext>" from
 * gnuplot.c): never results, removed before the study is written again. */
static void remove_stale_temporaries(const char *out_dir)
{
    DIR *d = opendir(out_dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (n[0] != '.' || (!strstr(n, ".tmp.") && strncmp(n, ".ncs-report-", 12) != 0))
            continue;
        char p[PATH_MAX + 300];
        fmt(p, sizeof p, "%s/%s", out_dir, n);
        unlink(p);
    }
    closedir(d);
}

static void run_study(ncs_analyser *an, const study_list *l, size_t idx, const options *o,
                      result_msg *res)
{
    const study_ent *e = &l->v[idx];
    memset(res, 0, sizeof *res);
    res->index = (uint32_t)idx;
    ncs_error err;
    ncs_error_clear(&err);
    ncs_warnings warn = {0};
    ncs_study *st = ncs_study_load(e->path, &warn, &err);
    print_warnings(&warn, o);
    ncs_warnings_free(&warn);
    if (!st) {
        print_error(&err);
        res->status = ST_FAILED;
        res->exit_code = exit_for(err.code);
        fmt(res->message, sizeof res->message, "%s: %s", err.where, err.message);
        return;
    }
    char out_dir[PATH_MAX + 300];
    fmt(out_dir, sizeof out_dir, "%s/%s", o->out, st->id);
    remove_stale_temporaries(out_dir);
    if (o->resume && up_to_date(st, o, out_dir)) {
        res->status = ST_UP_TO_DATE;
        ncs_study_destroy(st);
        return;
    }
    ncs_error_clear(&err);
    int rc = analyse_study(an, st, o, out_dir, 0, &err);
    ncs_study_destroy(st);
    if (rc == EXIT_OK) {
        res->status = ST_ANALYSED;
    } else {
        res->status = ST_FAILED;
        res->exit_code = rc;
        fmt(res->message, sizeof res->message, "%s: %s", err.where,
                 err.message[0] ? err.message : ncs_strerror(err.code));
    }
}

/* A worker: study indices in on `cmd`, one result record out on `res` per
 * study, until the parent closes `cmd`. */
static void worker_main(const study_list *l, const options *o, int cmd, int res)
{
    ncs_error err;
    ncs_analyser *an = ncs_analyser_create(&err);
    if (!an)
        _exit(EXIT_OUTPUT);
    uint32_t idx;
    for (;;) {
        ssize_t r = read(cmd, &idx, sizeof idx);
        if (r < 0 && errno == EINTR)
            continue;
        if (r != (ssize_t)sizeof idx)
            break;
        result_msg m;
        run_study(an, l, idx, o, &m);
        fflush(stdout);
        fflush(stderr);
        if (write(res, &m, sizeof m) != (ssize_t)sizeof m)
            break;
    }
    ncs_analyser_destroy(an);
    _exit(0);
}

/* ---- the parent: workers, messages, progress ----------------------------- */

typedef struct {
    pid_t pid;
    int cmd, res, err; /* pipes: to it, its results, its stderr */
    long q[2];         /* studies handed to it, the first being worked on */
    int nq;
    char line[2048];   /* a partial line of its stderr */
    size_t line_len;
} worker;

typedef struct {
    int on;              /* drawing a progress line */
    int shown;           /* a line is on the screen */
    size_t done, total, failed;
    struct timespec start, last;
} progress;

static double since(struct timespec a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a.tv_sec) + 1e-9 * (double)(b.tv_nsec - a.tv_nsec);
}

static void progress_clear(progress *p)
{
    if (p->on && p->shown) {
        fputs("\r\033[K", stderr);
        p->shown = 0;
    }
}

static void progress_draw(progress *p, int force)
{
    if (!p->on)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double dt = (double)(now.tv_sec - p->last.tv_sec) + 1e-9 * (double)(now.tv_nsec - p->last.tv_nsec);
    if (!force && p->shown && dt < 0.1)
        return;
    p->last = now;
    double el = since(p->start), rate = el > 0 ? (double)p->done / el : 0.0;
    char left[32] = "--:--";
    if (rate > 0 && p->done < p->total) {
        long s = (long)((double)(p->total - p->done) / rate + 0.5);
        fmt(left, sizeof left, "%ld:%02ld", s / 60, s % 60);
    } else if (p->done == p->total) {
        fmt(left, sizeof left, "0:00");
    }
    fprintf(stderr, "\r\033[Kncs: batch: %zu/%zu studies, %zu failed, %.1f/s, %s left", p->done,
            p->total, p->failed, rate, left);
    fflush(stderr);
    p->shown = 1;
}

/* Copies a worker's stderr to ours a whole line at a time. */
static void relay(worker *w, progress *p, int final)
{
    char buf[4096];
    ssize_t n = read(w->err, buf, sizeof buf);
    if (n <= 0 && !final)
        return;
    for (ssize_t i = 0; i < n; i++) {
        if (w->line_len < sizeof w->line - 1)
            w->line[w->line_len++] = buf[i];
        if (buf[i] == '\n' || w->line_len == sizeof w->line - 1) {
            progress_clear(p);
            fwrite(w->line, 1, w->line_len, stderr);
            if (w->line[w->line_len - 1] != '\n')
                fputc('\n', stderr);
            w->line_len = 0;
        }
    }
}

static int spawn(worker *w, const study_list *l, const options *o)
{
    int c[2], r[2], e[2];
    if (pipe(c) != 0)
        return -1;
    if (pipe(r) != 0) {
        close(c[0]);
        close(c[1]);
        return -1;
    }
    if (pipe(e) != 0) {
        close(c[0]);
        close(c[1]);
        close(r[0]);
        close(r[1]);
        return -1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(c[1]);
        close(r[0]);
        close(e[0]);
        dup2(e[1], 2);
        close(e[1]);
        /* the parent's other workers' pipes stay open here; harmless */
        worker_main(l, o, c[0], r[1]);
    }
    close(c[0]);
    close(r[1]);
    close(e[1]);
    fcntl(c[1], F_SETFD, FD_CLOEXEC);
    fcntl(r[0], F_SETFD, FD_CLOEXEC);
    fcntl(e[0], F_SETFD, FD_CLOEXEC);
    w->pid = pid;
    w->cmd = c[1];
    w->res = r[0];
    w->err = e[0];
    w->nq = 0;
    w->line_len = 0;
    return 0;
}

/* Hands a study to a worker; it holds up to two, so it never waits for the
 * parent between studies. */
static int give(worker *w, size_t idx)
{
    uint32_t v = (uint32_t)idx;
    w->q[w->nq++] = (long)idx;
    return write(w->cmd, &v, sizeof v) == (ssize_t)sizeof v ? 0 : -1;
}

/* The next study to hand out: one a dead worker held first, then the
 * shard's next; -1 when there is none. */
typedef struct {
    size_t next, n, step;
    long retry[64];
    int n_retry;
} dispatch;

static long take(dispatch *d)
{
    if (d->n_retry > 0)
        return d->retry[--d->n_retry];
    if (d->next >= d->n)
        return -1;
    long v = (long)d->next;
    d->next += d->step;
    return v;
}

static void top_up(worker *w, dispatch *d)
{
    while (w->nq < 2) {
        long v = take(d);
        if (v < 0)
            break;
        give(w, (size_t)v);
    }
    if (w->nq == 0 && w->cmd >= 0) {
        close(w->cmd); /* no more work: the worker ends */
        w->cmd = -1;
    }
}

static void record(study_list *l, progress *p, const result_msg *m)
{
    study_ent *e = &l->v[m->index];
    e->status = (unsigned char)m->status;
    if (m->status == ST_FAILED) {
        free(e->error);
        e->error = strdup(m->message[0] ? m->message : "failed");
        p->failed++;
    }
    p->done++;
}

/* ---- the batch's own outputs --------------------------------------------- */

/* One CSV field from *s (quoted or not) into out; *s moves past it and its
 * comma. Returns 0 at the end of the line. */
static int csv_field(const char **s, char *out, size_t n)
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


static const char summary_header[] =
    "study,nerve,segment,distance_mm,cv_m_s,amp_drop_pct,area_drop_pct,dur_increase_pct,"
    "entrapment_site,block,findings\n";

/* results.csv's columns that make a summary.csv row, in order */
static const char *const summary_from[] = {"study", "nerve", "segment", "segment_distance_mm",
                                           "cv_m_s", "amp_drop_pct", "area_drop_pct",
                                           "dur_increase_pct", "entrapment_site", "block",
                                           "findings"};
#define N_SUMMARY (sizeof summary_from / sizeof summary_from[0])
#define MAX_COLS 64

/* Appends the segment rows of one study's results.csv. */
static int summary_rows(FILE *f, const char *csv_path)
{
    FILE *in = fopen(csv_path, "r");
    if (!in)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    int col[N_SUMMARY];
    for (size_t k = 0; k < N_SUMMARY; k++)
        col[k] = -1;
    int rc = 0, header = 1;
    static char field[MAX_COLS][4096];
    while (getline(&line, &cap, in) > 0) {
        const char *p = line;
        int nf = 0;
        while (nf < MAX_COLS && csv_field(&p, field[nf], sizeof field[0]))
            nf++;
        if (header) {
            for (size_t k = 0; k < N_SUMMARY; k++)
                for (int c = 0; c < nf; c++)
                    if (strcmp(field[c], summary_from[k]) == 0)
                        col[k] = c;
            for (size_t k = 0; k < N_SUMMARY; k++)
                if (col[k] < 0)
                    rc = -1;
            header = 0;
            if (rc)
                break;
            continue;
        }
        if (col[2] >= nf || !field[col[2]][0])
            continue; /* a distal site: no segment ends there */
        for (size_t k = 0; k < N_SUMMARY; k++)
            ncs_csv_field(f, col[k] < nf ? field[col[k]] : "", k == 0);
        fputc('\n', f);
    }
    free(line);
    fclose(in);
    return rc;
}

typedef struct {
    const study_list *l;
    const options *o;
    size_t lo, step; /* the shard: positions lo, lo + step, ... */
} batch_ctx;

static int put_summary(FILE *f, const void *ctx)
{
    const batch_ctx *b = ctx;
    fputs(summary_header, f);
    for (size_t i = b->lo; i < b->l->n; i += b->step) {
        const study_ent *e = &b->l->v[i];
        if (e->status != ST_ANALYSED && e->status != ST_UP_TO_DATE)
            continue;
        char p[PATH_MAX + 300];
        fmt(p, sizeof p, "%s/%s/results.csv", b->o->out, e->id);
        if (summary_rows(f, p) != 0) {
            char msg[PATH_MAX + 64];
            fmt(msg, sizeof msg, "cannot read the study's results.csv");
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
        json_t *x = failed_only
                        ? json_pack("{s:s, s:s, s:s}", "path", rel_path(l, e->path), "id",
                                    e->id, "error", e->error ? e->error : "")
                        : json_pack("{s:s, s:s, s:s}", "path", rel_path(l, e->path), "id",
                                    e->id, "status", status_name[e->status]);
        char *t = json_dumps(x, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fprintf(f, "%s\n  %s", first ? "" : ",", t ? t : "null");
        free(t);
        json_decref(x);
        first = 0;
    }
    fputs(first ? "]" : "\n ]", f);
}

/* batch.json, written a study at a time (memory does not grow with them) */
static int put_batch_json(FILE *f, const void *ctx)
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
    put_json_field(f, "root", json_string(l->root), 0);
    put_json_field(f, "shard", o->shard_n ? json_sprintf("%d/%d", o->shard_i, o->shard_n)
                                         : json_null(), 0);
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

/* ---- running the shard --------------------------------------------------- */

static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

static int run_workers(study_list *l, const options *o, size_t lo, size_t step, progress *p)
{
    size_t todo = 0;
    for (size_t i = lo; i < l->n; i += step)
        todo++;
    int nw = o->jobs > 0 ? o->jobs : online_cpus();
    if ((size_t)nw > todo)
        nw = (int)todo;
    if (nw < 1)
        return 0;
    worker *w = calloc((size_t)nw, sizeof *w);
    struct pollfd *pf = calloc(2 * (size_t)nw, sizeof *pf);
    if (!w || !pf) {
        free(w);
        free(pf);
        diag("batch", "error", "out of memory");
        return -1;
    }
    /* a worker that dies must not take the parent with it through a pipe */
    struct sigaction ign = {0}, old;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    dispatch d = {.next = lo, .n = l->n, .step = step};
    int alive = 0, rc = 0;
    for (int k = 0; k < nw; k++) {
        if (spawn(&w[k], l, o) != 0) {
            diag("batch", "error", "cannot start a worker process");
            rc = -1;
            break;
        }
        alive++;
        top_up(&w[k], &d);
    }
    while (alive > 0) {
        int np = 0;
        for (int k = 0; k < nw; k++) {
            if (w[k].pid <= 0)
                continue;
            pf[np++] = (struct pollfd){.fd = w[k].res, .events = POLLIN};
            pf[np++] = (struct pollfd){.fd = w[k].err, .events = POLLIN};
        }
        if (poll(pf, (nfds_t)np, 200) < 0 && errno != EINTR)
            break;
        progress_draw(p, 0);
        int q = 0;
        for (int k = 0; k < nw; k++) {
            if (w[k].pid <= 0)
                continue;
            short rev = pf[q].revents, erev = pf[q + 1].revents;
            q += 2;
            if (erev & (POLLIN | POLLHUP))
                relay(&w[k], p, 0);
            if (!(rev & (POLLIN | POLLHUP)))
                continue;
            result_msg m;
            ssize_t r = read(w[k].res, &m, sizeof m);
            if (r == (ssize_t)sizeof m) {
                record(l, p, &m);
                progress_draw(p, 1);
                if (w[k].nq > 0) { /* done with the first it held */
                    w[k].q[0] = w[k].q[1];
                    w[k].nq--;
                }
                top_up(&w[k], &d);
                continue;
            }
            /* the worker is gone: the study it was on failed; one it held
             * next goes to another */
            relay(&w[k], p, 1);
            int status = 0;
            waitpid(w[k].pid, &status, 0);
            if (w[k].nq > 0) {
                long bad = w[k].q[0];
                memset(&m, 0, sizeof m);
                m.index = (uint32_t)bad;
                m.status = ST_FAILED;
                if (WIFSIGNALED(status))
                    fmt(m.message, sizeof m.message,
                        "%s: the analysis crashed (signal %d); please report it",
                        l->v[bad].path, WTERMSIG(status));
                else
                    fmt(m.message, sizeof m.message, "%s: the worker stopped (exit %d)",
                        l->v[bad].path, WEXITSTATUS(status));
                progress_clear(p);
                diag(l->v[bad].path, "error", m.message);
                record(l, p, &m);
                for (int j = 1; j < w[k].nq && d.n_retry < 64; j++)
                    d.retry[d.n_retry++] = w[k].q[j];
            }
            if (w[k].cmd >= 0)
                close(w[k].cmd);
            close(w[k].res);
            close(w[k].err);
            w[k].pid = 0;
            w[k].nq = 0;
            alive--;
            if ((d.n_retry > 0 || d.next < d.n) && spawn(&w[k], l, o) == 0) {
                alive++; /* a new one takes its place */
                top_up(&w[k], &d);
            }
        }
    }
    sigaction(SIGPIPE, &old, NULL);
    free(w);
    free(pf);
    return rc;
}

static int parse_shard(const char *s, int *i, int *n)
{
    char *end;
    long a = strtol(s, &end, 10);
    if (end == s || *end != '/')
        return -1;
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (end == t || *end || b < 1 || b > 1000000 || a < 0 || a >= b)
        return -1;
    *i = (int)a;
    *n = (int)b;
    return 0;
}

/* ---- merging the shards -------------------------------------------------- */

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
    fputs(summary_header, f);
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
            csv_field(&p, first, sizeof first);
            if (strcmp(first, id) != 0)
                break;
            fputs(s->line, f);
            shard_next_row(s);
        }
        s->pos++;
    }
    return ferror(f);
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
    json_object_set_new(root, "settings", json_incref(json_object_get(mc->in[0].doc, "settings")));
    json_object_set_new(root, "n_studies", json_integer(n));
    json_object_set_new(root, "succeeded", json_integer(ok));
    json_object_set_new(root, "analysed", json_integer(an));
    json_object_set_new(root, "up_to_date", json_integer(up));
    json_object_set_new(root, "failed", json_integer(failed));
    json_object_set_new(root, "failed_studies", fl);
    json_object_set_new(root, "studies", all);
    int rc = json_dumpf(root, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    json_decref(root);
    return rc;
}

static int merge_shards(int argc, char **argv, int first, const options *o)
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
        json_error_t je;
        in[k].doc = json_load_file(p, 0, &je);
        in[k].studies = json_object_get(in[k].doc, "studies");
        if (!in[k].doc || !json_is_array(in[k].studies)) {
            char msg[400];
            fmt(msg, sizeof msg, "not a batch output of this version (%s)",
                     in[k].doc ? "no studies list" : je.text);
            diag(p, "error", msg);
            rc = EXIT_INPUT;
            break;
        }
        json_t *s = json_object_get(in[k].doc, "settings");
        if (!settings0)
            settings0 = s;
        else if (!json_equal(settings0, s)) {
            diag(p, "error", "made with other settings than the first shard "
                             "(criteria, norms or report): the shards do not belong together");
            rc = EXIT_INPUT;
            break;
        }
        fmt(p, sizeof p, "%s/summary.csv", in[k].dir);
        in[k].summary = fopen(p, "r");
        if (!in[k].summary) {
            diag(p, "error", strerror(errno));
            rc = EXIT_INPUT;
        }
    }
    /* one study in two shards would be counted twice */
    for (size_t a = 0; a < n && rc == EXIT_OK; a++)
        for (size_t b = a + 1; b < n && rc == EXIT_OK; b++) {
            size_t i = 0, j = 0;
            json_t *A = in[a].studies, *B = in[b].studies;
            while (i < json_array_size(A) && j < json_array_size(B)) {
                const char *pa = json_string_value(json_object_get(json_array_get(A, i), "path"));
                const char *pb = json_string_value(json_object_get(json_array_get(B, j), "path"));
                int c = strcmp(pa ? pa : "", pb ? pb : "");
                if (c == 0) {
                    char msg[PATH_MAX + 200];
                    fmt(msg, sizeof msg, "study %s is in both %s and %s", pa, in[a].dir,
                             in[b].dir);
                    diag("batch --merge", "error", msg);
                    rc = EXIT_INPUT;
                    break;
                }
                if (c < 0)
                    i++;
                else
                    j++;
            }
        }
    if (rc == EXIT_OK) {
        merge_ctx mc = {in, n};
        if (mkdir_p(o->out) != 0) {
            diag(o->out, "error", strerror(errno));
            rc = EXIT_OUTPUT;
        } else {
            rc = write_atomic(o->out, "summary.csv", put_merged_summary, &mc);
            if (rc == EXIT_OK)
                rc = write_atomic(o->out, "batch.json", put_merged_json, &mc);
        }
        if (rc == EXIT_OK && !o->quiet) {
            json_int_t failed = 0;
            for (size_t k = 0; k < n; k++)
                failed += json_integer_value(json_object_get(in[k].doc, "failed"));
            fprintf(stderr, "ncs: batch: merged %zu shards into %s (%lld failed studies)\n", n,
                    o->out, (long long)failed);
        }
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

/* ---- ncs batch ----------------------------------------------------------- */

int batch_shard_option(options *o, const char *arg)
{
    return parse_shard(arg, &o->shard_i, &o->shard_n);
}

int run_batch(int argc, char **argv, int first, options *o)
{
    if (o->merge)
        return merge_shards(argc, argv, first, o);
    const char *root = argv[first];
    struct stat sb;
    if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        diag(root, "error", errno ? strerror(errno) : "not a folder");
        return EXIT_INPUT;
    }
    study_list l = {.root = root};
    if (walk(&l, root, 0) != 0) {
        diag(root, "error", "out of memory");
        free_list(&l);
        return EXIT_OUTPUT;
    }
    qsort(l.v, l.n, sizeof *l.v, cmp_path);
    for (size_t i = 0; i < l.n; i++)
        if (!(l.v[i].id = peek_id(l.v[i].path))) {
            diag(root, "error", "out of memory");
            free_list(&l);
            return EXIT_OUTPUT;
        }
    if (duplicate_ids(&l) > 0) {
        free_list(&l);
        return EXIT_INPUT;
    }
    if (l.n == 0 && !o->quiet)
        diag(root, "warning", "no study.ini found under this folder");
    size_t lo = o->shard_n ? (size_t)o->shard_i : 0, step = o->shard_n ? (size_t)o->shard_n : 1;
    if (mkdir_p(o->out) != 0) {
        diag(o->out, "error", strerror(errno));
        free_list(&l);
        return EXIT_OUTPUT;
    }
    progress p = {0};
    p.on = o->progress > 0 || (o->progress < 0 && isatty(2));
    for (size_t i = lo; i < l.n; i += step)
        p.total++;
    clock_gettime(CLOCK_MONOTONIC, &p.start);
    p.last = p.start;
    int rc = run_workers(&l, o, lo, step, &p) ? EXIT_OUTPUT : EXIT_OK;
    progress_draw(&p, 1);
    if (p.on)
        fputc('\n', stderr);
    batch_ctx b = {&l, o, lo, step};
    int wrc = write_atomic(o->out, "summary.csv", put_summary, &b);
    if (wrc == EXIT_OK)
        wrc = write_atomic(o->out, "batch.json", put_batch_json, &b);
    size_t failed = 0, up = 0;
    for (size_t i = lo; i < l.n; i += step) {
        failed += l.v[i].status == ST_FAILED || l.v[i].status == ST_PENDING;
        up += l.v[i].status == ST_UP_TO_DATE;
    }
    if (!o->quiet)
        fprintf(stderr, "ncs: batch: %zu studies%s, %zu analysed, %zu up to date, %zu failed; "
                        "%.1f s\n",
                p.total, o->shard_n ? " in this shard" : "", p.total - failed - up, up, failed,
                since(p.start));
    free_list(&l);
    if (rc != EXIT_OK || wrc != EXIT_OK)
        return EXIT_OUTPUT;
    if (o->no_gnuplot)
        return EXIT_OUTPUT;
    return failed ? EXIT_BATCH_FAILED : EXIT_OK;
}
