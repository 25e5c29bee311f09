/* common.c — what the ncs commands share: diagnostics in the form of docs/outputs.md,
 * outputs written whole, and one study analysed into its outputs. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

/* ---- diagnostics --------------------------------------------------------- */

void fmt(char *buf, size_t n, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, n, f, ap);
    va_end(ap);
}

/* s with control characters (a newline or an escape in a folder's name)
 * shown as \xNN: one diagnostic is one line, and no name drives the terminal */
static void put_clean(const char *s)
{
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            fprintf(stderr, "\\x%02x", *c);
        else
            fputc(*c, stderr);
}

void diag(const char *where, const char *kind, const char *msg)
{
    fputs("ncs: ", stderr);
    if (where && *where) {
        put_clean(where);
        fputs(": ", stderr);
    }
    fprintf(stderr, "%s: ", kind);
    put_clean(msg);
    fputc('\n', stderr);
}

void print_error(const ncs_error *e)
{
    diag(e->where, "error", e->message[0] ? e->message : ncs_strerror(e->code));
}


void print_study_warnings(const ncs_warnings *w, const options *o, const ncs_study *st)
{
    if (o->quiet)
        return;
    const char *id = st && o->warn_by_folder ? st->id : NULL;
    size_t n = id ? strlen(id) : 0;
    for (size_t i = 0; i < w->count; i++) {
        const char *at = w->items[i].where;
        if (w->items[i].severity == NCS_SEVERITY_ERROR)
            continue;
        char where[PATH_MAX + sizeof w->items[i].where];
        if (id && strncmp(at, id, n) == 0 && (at[n] == '/' || at[n] == '\0'))
            fmt(where, sizeof where, "%s%s", st->dir, at + n);
        else
            fmt(where, sizeof where, "%s", at);
        diag(where, "warning", w->items[i].message);
    }
    if (w->dropped)
        fprintf(stderr, "ncs: warning: %zu further warnings lost (out of memory)\n",
                w->dropped);
}

void print_warnings(const ncs_warnings *w, const options *o)
{
    print_study_warnings(w, o, NULL);
}

/* How many of e's errors were not printed: counted but not kept, or kept
 * in no list. */
static unsigned errors_untold(const ncs_error *e, const ncs_warnings *w)
{
    unsigned told = e->code != NCS_OK;
    for (size_t i = 0; w && i < w->count; i++)
        told += w->items[i].severity == NCS_SEVERITY_ERROR;
    return e->n_errors > told ? e->n_errors - told : 0;
}

void print_failure(const ncs_error *e, const ncs_warnings *w, const options *o)
{
    if (w)
        print_warnings(w, o);
    print_error(e);
    for (size_t i = 0; w && i < w->count; i++)
        if (w->items[i].severity == NCS_SEVERITY_ERROR)
            diag(w->items[i].where, "error", w->items[i].message);
    unsigned more = errors_untold(e, w);
    if (more) {
        /* said of the file, not of the first error's line */
        char where[sizeof e->where], msg[160];
        fmt(where, sizeof where, "%s", e->where);
        char *colon = strrchr(where, ':');
        if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
            *colon = '\0';
        fmt(msg, sizeof msg, "%u more error%s not shown (the first %d are); correct these "
            "and run ncs check again", more, more == 1 ? "" : "s", NCS_MAX_ERRORS);
        diag(where, "error", msg);
    }
}

void failure_summary(char *buf, size_t n, const ncs_error *e)
{
    if (e->n_errors > 1)
        fmt(buf, n, "%s: %s (and %u more error%s: see ncs check)", e->where,
            e->message[0] ? e->message : ncs_strerror(e->code), e->n_errors - 1,
            e->n_errors == 2 ? "" : "s");
    else
        fmt(buf, n, "%s: %s", e->where, e->message[0] ? e->message : ncs_strerror(e->code));
}

int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    char msg[1200];
    snprintf(msg, sizeof msg, fmt, arg); /* (fmt: the program's own, arg its one conversion) */
    /* "ncs <command>: <message>", as every usage error of a command reads */
    size_t n = cmd ? strlen(cmd) : 0;
    if (!cmd)
        fprintf(stderr, "ncs: %s", msg);
    else if (strncmp(msg, cmd, n) == 0 && (msg[n] == ':' || msg[n] == ' '))
        fprintf(stderr, "ncs %s", msg);
    else
        fprintf(stderr, "ncs %s: %s", cmd, msg);
    fprintf(stderr, "\nTry 'ncs help%s%s' for more information.\n", cmd ? " " : "",
            cmd ? cmd : "");
    return EXIT_USAGE;
}

/* Exit code for a library status (docs/outputs.md). */
int exit_for(ncs_status s)
{
    switch (s) {
    case NCS_OK:
        return EXIT_OK;
    case NCS_ERR_USAGE:
        return EXIT_USAGE;
    case NCS_ERR_OUTPUT:
    case NCS_ERR_REPORT:
    case NCS_ERR_NOMEM: /* the input may be fine: the outputs could not be made */
        return EXIT_OUTPUT;
    default:
        return EXIT_INPUT;
    }
}

/* ---- writing outputs: inside an output folder, temporary name, rename ---- */

int mkdir_p(const char *path)
{
    struct stat sb;
    /* most often the parent exists: one call */
    if (mkdir(path, 0777) == 0 || (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)))
        return 0;
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return -1;
    if (stat(buf, &sb) != 0)
        return -1;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int outdir_open(outdir *d, const char *path)
{
    d->fd = -1;
    d->parent = NULL;
    d->no_fsync = 0;
    snprintf(d->path, sizeof d->path, "%s", path);
    if (!*path) {
        diag("", "error", "the output folder is an empty name: give -o a folder");
        return EXIT_USAGE;
    }
    if (mkdir_p(path) != 0 || (d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "cannot make or open the output folder: %s", strerror(errno));
        diag(path, "error", msg);
        return EXIT_OUTPUT;
    }
    return EXIT_OK;
}

int outdir_check_early(const char *path)
{
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", path);
    /* the folder itself, or the nearest folder above it that exists (the
     * rest is made when the outputs are written) */
    struct stat sb;
    while (stat(p, &sb) != 0) {
        if (errno != ENOENT)
            break;
        char *slash = strrchr(p, '/');
        if (!slash) {
            snprintf(p, sizeof p, ".");
            continue;
        }
        if (slash == p) {
            p[1] = '\0';
            continue;
        }
        *slash = '\0';
    }
    const char *why = NULL;
    if (stat(p, &sb) != 0)
        why = strerror(errno);
    else if (!S_ISDIR(sb.st_mode))
        why = "a file, not a folder, stands in its way";
    else if (access(p, W_OK | X_OK) != 0)
        why = strerror(errno);
    if (!why)
        return EXIT_OK;
    char msg[PATH_MAX + 300];
    snprintf(msg, sizeof msg, "cannot make or open the output folder (%s: %s); nothing was "
                              "analysed", p, why);
    diag(path, "error", msg);
    return EXIT_OUTPUT;
}

int outdir_sub(outdir *d, const outdir *parent, const char *name)
{
    d->fd = -1; /* no_fsync is the caller's */
    fmt(d->path, sizeof d->path, "%s/%s", parent->path, name);
    if (mkdirat(parent->fd, name, 0777) != 0 && errno != EEXIST) {
        char msg[300];
        snprintf(msg, sizeof msg, "cannot make the output folder: %s", strerror(errno));
        diag(d->path, "error", msg);
        return EXIT_OUTPUT;
    }
    d->fd = openat(parent->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d->fd < 0) {
        int e = errno;
        struct stat sb;
        int link = fstatat(parent->fd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(sb.st_mode);
        char msg[300];
        snprintf(msg, sizeof msg, "%s", link ? "is a symbolic link: ncs writes only inside the "
                                               "output folder, never through a link"
                                             : strerror(e));
        diag(d->path, "error", msg);
        return EXIT_OUTPUT;
    }
    return EXIT_OK;
}

void outdir_later(outdir *d, const outdir *parent, const char *path_or_name)
{
    d->fd = -1;
    d->no_fsync = 0;
    d->parent = parent;
    if (parent) {
        snprintf(d->name, sizeof d->name, "%s", path_or_name);
        fmt(d->path, sizeof d->path, "%s/%s", parent->path, path_or_name);
    } else {
        d->name[0] = '\0';
        snprintf(d->path, sizeof d->path, "%s", path_or_name);
    }
}

int outdir_ready(outdir *d)
{
    if (d->fd >= 0)
        return EXIT_OK;
    if (!d->parent) {
        char path[sizeof d->path];
        memcpy(path, d->path, sizeof path);
        return outdir_open(d, path);
    }
    char name[sizeof d->name];
    memcpy(name, d->name, sizeof name);
    const outdir *parent = d->parent;
    int rc = outdir_sub(d, parent, name);
    d->parent = parent;
    snprintf(d->name, sizeof d->name, "%s", name);
    return rc;
}

void outdir_close(outdir *d)
{
    if (d->fd >= 0)
        close(d->fd);
    d->fd = -1;
}

/* fsync where the file system has it (a pipe, /dev/null or a read-only
 * mount say EINVAL/EROFS/ENOTSUP: nothing to make durable) */
static int sync_fd(int fd)
{
    return fsync(fd) == 0 || errno == EINVAL || errno == EROFS || errno == ENOTSUP ? 0 : -1;
}

/* Writes d/name through a temporary file created in d (never through a
 * link), made durable and renamed into place, so a reader (or an
 * interrupted run) never sees half a file. Prints the error with its reason. */
int write_atomic(const outdir *d, const char *name, writer_fn fn, const void *ctx)
{
    char path[4400], tmp[300];
    snprintf(path, sizeof path, "%s/%s", d->path, name);
    /* a name nothing else has: a file already there (a leftover of a process
     * that had this pid, or an input so named) is left alone */
    int fd = -1;
    for (unsigned k = 0; k < 100 && fd < 0; k++) {
        snprintf(tmp, sizeof tmp, ".%s.tmp.%ld%.0u", name, (long)getpid(), k);
        fd = openat(d->fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        diag(path, "error", strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlinkat(d->fd, tmp, 0);
        }
        return EXIT_OUTPUT;
    }
    errno = 0;
    int bad = fn(f, ctx) != 0;
    int e = errno;
    if (!bad && (ferror(f) || fflush(f) != 0 || (!d->no_fsync && sync_fd(fileno(f)) != 0)))
        bad = 1, e = errno;
    if (fclose(f) != 0 && !bad)
        bad = 1, e = errno;
    if (bad || renameat(d->fd, tmp, d->fd, name) != 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "cannot write: %s",
                 bad ? (e ? strerror(e) : "its content could not be made (the error above)")
                     : strerror(errno));
        diag(path, "error", msg);
        unlinkat(d->fd, tmp, 0);
        return EXIT_OUTPUT;
    }
    return EXIT_OK;
}

/* An output that would replace one of the study's own files (a waveform
 * named results.csv, `analyse S -o S`): refused before anything is written. */
/* a (a name's own lstat) is the input at path: the file it leads to, or
 * the link itself when path names a link (an input reached through one) */
static int same_file(const struct stat *a, const char *path)
{
    struct stat b, c;
    return path && ((stat(path, &b) == 0 && a->st_dev == b.st_dev && a->st_ino == b.st_ino)
                    || (lstat(path, &c) == 0 && a->st_dev == c.st_dev && a->st_ino == c.st_ino));
}

const char *input_named(const struct stat *a, const ncs_study *st, const char *norms_path)
{
    if (same_file(a, norms_path))
        return norms_path;
    if (!st)
        return NULL;
    const char *hit = same_file(a, st->ini_path) ? st->ini_path
                    : same_file(a, st->norms) ? st->norms : NULL;
    for (size_t i = 0; !hit && i < st->n_nerves; i++)
        for (size_t j = 0; !hit && j < st->nerves[i].n_sites; j++)
            if (same_file(a, st->nerves[i].sites[j].path))
                hit = st->nerves[i].sites[j].path;
    return hit;
}

int outdir_check_inputs(const outdir *d, const ncs_study *st, const char *const *names,
                        const char *norms_path)
{
    struct stat ini;
    if (fstatat(d->fd, "study.ini", &ini, 0) == 0 && !same_file(&ini, st->ini_path)) {
        diag(d->path, "error", "is another study's folder (it holds a study.ini): its files "
                               "are that study's inputs; write the outputs elsewhere");
        return EXIT_OUTPUT;
    }
    for (size_t k = 0; names[k]; k++) {
        struct stat a;
        if (fstatat(d->fd, names[k], &a, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        const char *hit = input_named(&a, st, norms_path);
        if (hit) {
            char msg[4400];
            snprintf(msg, sizeof msg, "the output %s would replace %s, an input of this analysis: "
                                      "write the outputs to another folder",
                     names[k], hit);
            diag(d->path, "error", msg);
            return EXIT_OUTPUT;
        }
    }
    return EXIT_OK;
}

/* name in the folder, removed when it is a regular file and no input */
static void remove_own(int dir_fd, const char *name, const ncs_study *st, const char *norms_path)
{
    struct stat a;
    if (fstatat(dir_fd, name, &a, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(a.st_mode)
        && !input_named(&a, st, norms_path))
        unlinkat(dir_fd, name, 0);
}

/* Whether the study path an earlier results.json recorded (as it was typed
 * then, from wherever that run was started) is the folder study_dir: the
 * same file now, or, from elsewhere, a path that ends in the folder's path
 * under ROOT (rel, "." for ROOT itself, which then must be the same file). */
static int same_study_folder(const char *was, const char *study_dir, const char *rel)
{
    struct stat a, b;
    if (stat(was, &a) == 0 && stat(study_dir, &b) == 0)
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    size_t lw = strlen(was), lr = strlen(rel);
    while (lw > 1 && was[lw - 1] == '/')
        lw--;
    if (!strcmp(rel, ".") || lr == 0 || lw < lr || strncmp(was + lw - lr, rel, lr) != 0)
        return 0;
    return lw == lr || was[lw - lr - 1] == '/';
}

void remove_outputs_of_failed(int out_fd, const char *id, const char *study_dir,
                              const char *rel, const char *norms_path)
{
    if (!id || !id[0] || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, ".."))
        return;
    int d = openat(out_fd, id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (d < 0)
        return;
    struct stat ini, here, there;
    /* never a study's own folder (OUT = ROOT), never another study's */
    if (fstatat(d, "study.ini", &ini, 0) == 0 || fstat(d, &here) != 0
        || (stat(study_dir, &there) == 0 && here.st_dev == there.st_dev
            && here.st_ino == there.st_ino)) {
        close(d);
        return;
    }
    /* and only an earlier run's of this very folder */
    int fd = openat(d, "results.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    json_t *old = fd >= 0 ? json_loadfd(fd, 0, NULL) : NULL;
    if (fd >= 0)
        close(fd);
    const char *was = json_string_value(json_object_get(json_object_get(old, "study"), "path"));
    int ours = was && same_study_folder(was, study_dir, rel);
    if (ours)
        remove_earlier_outputs(d, NULL, norms_path);
    json_decref(old);
    close(d);
    if (ours)
        unlinkat(out_fd, id, AT_REMOVEDIR); /* (when that left it empty) */
}

/* Only what an earlier run is known to have written: the files its
 * results.json (ncs's) names — itself, results.csv and the
 * report pages of the format it records. Nothing else of a folder that may
 * be the study's own (OUT = ROOT) is touched: a report.pdf of the EMG
 * machine stays. */
void remove_earlier_outputs(int dir_fd, const ncs_study *st, const char *norms_path)
{
    struct stat js;
    int fd = openat(dir_fd, "results.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0 && (fstat(fd, &js) != 0 || !S_ISREG(js.st_mode))) {
        close(fd);
        fd = -1;
    }
    json_t *old = fd >= 0 ? json_loadfd(fd, 0, NULL) : NULL;
    if (fd >= 0)
        close(fd);
    /* ncs's, of this study or of the one its folder was copied from */
    const char *schema = json_string_value(json_object_get(old, "schema"));
    if (!schema || strcmp(schema, "ncs-results/1") != 0) {
        json_decref(old);
        return;
    }
    const char *fmt_ = json_string_value(json_object_get(json_object_get(old, "settings"),
                                                         "report"));
    if (fmt_ && (!strcmp(fmt_, "pdf") || !strcmp(fmt_, "png") || !strcmp(fmt_, "svg"))) {
        char name[300];
        fmt(name, sizeof name, "report.%s", fmt_);
        remove_own(dir_fd, name, st, norms_path);
        json_t *nerves = json_object_get(old, "nerves");
        for (size_t i = 0; strcmp(fmt_, "pdf") && i < json_array_size(nerves); i++) {
            const char *nid = json_string_value(json_object_get(json_array_get(nerves, i), "id"));
            if (nid && !strchr(nid, '/')) {
                fmt(name, sizeof name, "report-%s.%s", nid, fmt_);
                remove_own(dir_fd, name, st, norms_path);
            }
        }
    }
    remove_own(dir_fd, "results.csv", st, norms_path);
    remove_own(dir_fd, "results.json", st, norms_path);
    json_decref(old);
}

/* stdout made whole: a short write (a full disk, a closed pipe) is an
 * output error, not a success */
int finish_stdout(void)
{
    int bad = fflush(stdout) != 0 || ferror(stdout);
    int e = errno;
    if (!bad && sync_fd(fileno(stdout)) != 0 && errno != EBADF)
        bad = 1, e = errno;
    if (fclose(stdout) != 0 && !bad)
        bad = 1, e = errno;
    if (bad) {
        char msg[300];
        snprintf(msg, sizeof msg, "cannot write the results: %s", e ? strerror(e) : "write error");
        diag("standard output", "error", msg);
        return EXIT_OUTPUT;
    }
    return EXIT_OK;
}

static int put_string(FILE *f, const void *ctx)
{
    return fputs((const char *)ctx, f) < 0 || fputc('\n', f) == EOF;
}

static int put_csv(FILE *f, const void *ctx)
{
    return ncs_results_csv((const ncs_results *)ctx, f) != NCS_OK;
}

char *settings_text(const options *o)
{
    /* the library's fixed method first, then what this run chose */
    json_t *s = json_loads(ncs_method_json(), 0, NULL);
    if (!s)
        return NULL;
    json_object_set_new(s, "norms_file", o->analysis.norms_path
                                             ? json_string(o->analysis.norms_path)
                                             : json_null());
    json_object_set_new(s, "report",
                        o->report >= 0
                            ? json_string(ncs_report_format_name((ncs_report_format)o->report))
                            : json_null());
    if (o->report >= 0) /* (only with a report: it shapes no number) */
        json_object_set_new(s, "report_paper", json_string(ncs_report_paper_name(
                                                   (ncs_paper)o->analysis.report_paper)));
    char *t = json_dumps(s, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(s);
    return t;
}

int analyse_one(ncs_analyser *an, const char *dir, const options *o, outdir *out_dir,
                int print_table, ncs_error *err_out)
{
    ncs_error err;
    ncs_warnings warn = {0};
    ncs_study *st = ncs_study_load(dir, &warn, &err);
    if (!st) {
        print_failure(&err, &warn, o);
        ncs_warnings_free(&warn);
        if (err_out)
            *err_out = err;
        return exit_for(err.code);
    }
    print_warnings(&warn, o);
    ncs_warnings_free(&warn);
    int rc = analyse_study(an, st, o, out_dir, print_table, err_out);
    ncs_study_destroy(st);
    return rc;
}

/* results.json with the fingerprint of its inputs (what --resume compares) */
static char *results_json(const ncs_results *r, const options *o)
{
    char *settings = settings_text(o);
    char *json = settings ? ncs_results_json(r, settings) : NULL;
    free(settings);
    return json;
}

static int write_outputs(const ncs_study *st, outdir *out_dir, const char *json,
                         const ncs_results *r, const options *o)
{
    if (outdir_ready(out_dir) != EXIT_OK)
        return EXIT_OUTPUT;
    char rep[32];
    snprintf(rep, sizeof rep, "report.%s",
             o->report >= 0 ? ncs_report_format_name((ncs_report_format)o->report) : "pdf");
    const char *names[] = {"results.json", "results.csv", o->report >= 0 ? rep : NULL, NULL};
    int rc = outdir_check_inputs(out_dir, st, names, o->analysis.norms_path);
    if (rc == EXIT_OK) /* an earlier run's report of other inputs or format goes */
        remove_earlier_outputs(out_dir->fd, st, o->analysis.norms_path);
    if (rc == EXIT_OK)
        rc = write_atomic(out_dir, "results.json", put_string, json);
    if (rc == EXIT_OK)
        rc = write_atomic(out_dir, "results.csv", put_csv, r);
    return rc;
}

int analyse_study(ncs_analyser *an, const ncs_study *st, const options *o,
                  outdir *out_dir, int print_table, ncs_error *err_out)
{
    ncs_error err;
    ncs_options ao = o->analysis;
    ao.keep_traces = o->report >= 0;
    ncs_results *r = ncs_analyse_study(an, st, &ao, &err);
    if (!r) {
        print_error(&err);
        if (err_out)
            *err_out = err;
        return exit_for(err.code);
    }
    print_study_warnings(&r->warnings, o, st);
    int rc = EXIT_OK;
    char *json = results_json(r, o);
    if (!json) {
        diag(st->dir, "error", "out of memory");
        rc = EXIT_OUTPUT;
    }
    if (rc == EXIT_OK && print_table) {
        if (o->json)
            printf("%s\n", json);
        else
            ncs_results_table(r, stdout);
    }
    if (rc == EXIT_OK && out_dir) {
        rc = write_outputs(st, out_dir, json, r, o);
        if (rc != EXIT_OK && err_out) {
            err_out->code = NCS_ERR_OUTPUT;
            err_out->n_errors = 1;
            fmt(err_out->where, sizeof err_out->where, "%s", out_dir->path);
            snprintf(err_out->message, sizeof err_out->message,
                     "cannot write the results");
        }
    }
    free(json);
    if (rc == EXIT_OK && out_dir && o->report >= 0 && !o->no_gnuplot) {
        char path[4200];
        snprintf(path, sizeof path, "%s/report.%s", out_dir->path,
                 ncs_report_format_name((ncs_report_format)o->report));
        if (ncs_report_make(r, (ncs_report_format)o->report, path, o->gnuplot, &err) != NCS_OK) {
            print_error(&err);
            if (err_out)
                *err_out = err;
            rc = exit_for(err.code);
        }
    }
    ncs_results_destroy(r);
    return rc;
}

