/* gnuplot.c — runs gnuplot as a separate program, once per report: the
 * script goes to its standard input, its messages to a temporary file, its
 * pages to temporary names in the output folder that are renamed into place
 * only when it succeeded. */
#define _GNU_SOURCE /* pipe2, mkostemp: descriptors made close-on-exec at birth */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "report.h"

#define INSTALL_HINT                                                                    \
    "install it (Debian/Ubuntu: apt-get install gnuplot-nox) or name it with --gnuplot " \
    "PATH or NCS_GNUPLOT"

static const char *const ext_of[] = {"pdf", "png", "svg"};

const char *ncs_report_format_name(ncs_report_format fmt)
{
    return (unsigned)fmt < sizeof ext_of / sizeof ext_of[0] ? ext_of[fmt] : NULL;
}

int ncs_report_format_of(const char *s)
{
    if (!s)
        return -1;
    const char *dot = strrchr(s, '.');
    const char *slash = strrchr(s, '/');
    const char *e = dot && (!slash || dot > slash) ? dot + 1 : s;
    for (int i = 0; i < (int)(sizeof ext_of / sizeof ext_of[0]); i++)
        if (strcasecmp(e, ext_of[i]) == 0)
            return i;
    return -1;
}

/* Whether prog names an executable: as a path, or found on PATH. */
static int findable(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char buf[4096];
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, len ? path : ".", prog);
        struct stat sb;
        if (stat(buf, &sb) == 0 && S_ISREG(sb.st_mode) && access(buf, X_OK) == 0)
            return 1;
        if (!colon)
            break;
        path = colon + 1;
    }
    return 0;
}

typedef struct {
    size_t n;
    char **tmp;   /* base names gnuplot writes (in dir) */
    char **final; /* full paths they are renamed to */
    char *dir;
} outputs;

/* Where gnuplot writes page i: its temporary name in the output folder. */
static void tmp_path(const outputs *o, size_t i, char *buf, size_t n)
{
    snprintf(buf, n, "%s/%s", o->dir, o->tmp[i]);
}

static void outputs_free(outputs *o, int unlink_tmp)
{
    for (size_t i = 0; i < o->n; i++) {
        if (unlink_tmp && o->tmp && o->tmp[i]) {
            char p[8192];
            tmp_path(o, i, p, sizeof p);
            unlink(p);
        }
        if (o->tmp)
            free(o->tmp[i]);
        if (o->final)
            free(o->final[i]);
    }
    free(o->tmp);
    free(o->final);
    free(o->dir);
    memset(o, 0, sizeof *o);
}

static atomic_ulong report_seq;

static ncs_status plan_outputs(const ncs_results *r, ncs_report_format fmt,
                               const char *out_path, outputs *o, ncs_error *err)
{
    memset(o, 0, sizeof *o);
    const char *slash = strrchr(out_path, '/');
    o->dir = slash ? ncs_asprintf("%.*s", slash == out_path ? 1 : (int)(slash - out_path),
                                  out_path)
                   : ncs_strdup(".");
    o->n = fmt == NCS_REPORT_PDF ? 1 : ncs_report_pages(r);
    o->tmp = calloc(o->n, sizeof *o->tmp);
    o->final = calloc(o->n, sizeof *o->final);
    if (!o->dir || !o->tmp || !o->final)
        return ncs_fail(err, NCS_ERR_NOMEM, out_path, "out of memory");
    const char *dot = strrchr(out_path, '.');
    if (!dot || (slash && dot < slash))
        dot = out_path + strlen(out_path);
    /* reports made at once by threads of one process into one folder must
     * not share temporary names: the pid and a number of this process's */
    unsigned long seq = atomic_fetch_add(&report_seq, 1);
    for (size_t i = 0; i < o->n; i++) {
        o->tmp[i] = ncs_asprintf(".ncs-report-%ld-%lu-%zu.%s", (long)getpid(), seq, i,
                                 ext_of[fmt]);
        o->final[i] = i == 0 ? ncs_strdup(out_path)
                             : ncs_asprintf("%.*s-%s%s", (int)(dot - out_path), out_path,
                                            r->nerves[i - 1].def->id, dot);
        if (!o->tmp[i] || !o->final[i])
            return ncs_fail(err, NCS_ERR_NOMEM, out_path, "out of memory");
    }
    return NCS_OK;
}

/* The first lines of what gnuplot said, on one line. */
static void gnuplot_said(FILE *log, char *buf, size_t n)
{
    buf[0] = '\0';
    if (!log || fseek(log, 0, SEEK_SET) != 0)
        return;
    size_t k = fread(buf, 1, n - 1, log);
    buf[k] = '\0';
    for (char *c = buf; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    size_t l = strlen(buf);
    while (l && buf[l - 1] == ' ')
        buf[--l] = '\0';
}

static const char *default_gnuplot(const char *gnuplot)
{
    if (!gnuplot || !*gnuplot) {
        gnuplot = getenv("NCS_GNUPLOT");
        if (!gnuplot || !*gnuplot)
            gnuplot = "gnuplot";
    }
    return gnuplot;
}

int ncs_report_gnuplot_found(const char *gnuplot, ncs_error *err)
{
    ncs_error_clear(err);
    gnuplot = default_gnuplot(gnuplot);
    if (findable(gnuplot))
        return 1;
    ncs_fail(err, NCS_ERR_REPORT, gnuplot,
             "gnuplot ('%s') not found: the analysis is done but the report cannot be "
             "drawn; " INSTALL_HINT, gnuplot);
    return 0;
}

/* What a report needs from its caller: results that kept their traces. */
static ncs_status check_request(const ncs_results *r, ncs_report_format fmt,
                                const char *out_path, ncs_error *err)
{
    if (!r || !out_path || (unsigned)fmt > NCS_REPORT_SVG)
        return ncs_fail(err, NCS_ERR_USAGE, out_path ? out_path : "", "no results or output");
    for (size_t i = 0; i < r->n_nerves; i++)
        for (size_t j = 0; j < r->nerves[i].n_sites; j++)
            if (!r->nerves[i].sites[j].clean_mv)
                return ncs_fail(err, NCS_ERR_USAGE, out_path,
                                "the study was analysed without keeping its traces");
    return NCS_OK;
}

/* One run of gnuplot and all it holds until the end, which job_end
 * releases, whichever step failed. */
typedef struct {
    const char *out_path; /* as the caller named it, for messages */
    const char *gnuplot;
    outputs o;
    char *script;
    size_t script_len;
    FILE *log;   /* gnuplot's standard error */
    int started; /* gnuplot started: temporary pages may exist */
    char said[400];
} job;

static void job_end(job *j, ncs_status rc)
{
    free(j->script);
    j->script = NULL;
    if (j->log)
        fclose(j->log);
    j->log = NULL;
    outputs_free(&j->o, rc != NCS_OK && j->started);
}

/* A folder the pages cannot go into is refused before gnuplot runs, with a
 * message that names the folder rather than one of gnuplot's. */
static ncs_status folder_writable(const job *j, ncs_error *err)
{
    struct stat dsb;
    errno = 0;
    if (stat(j->o.dir, &dsb) != 0 || !S_ISDIR(dsb.st_mode) || access(j->o.dir, W_OK) != 0)
        return ncs_fail(err, NCS_ERR_OUTPUT, j->out_path, "cannot write into %s: %s", j->o.dir,
                        errno ? strerror(errno) : "not a folder");
    return NCS_OK;
}

/* The whole script is made before gnuplot starts, so that gnuplot never
 * runs on a script that could not be made whole. */
static ncs_status write_script(job *j, const ncs_results *r, ncs_report_format fmt,
                               ncs_error *err)
{
    FILE *sf = open_memstream(&j->script, &j->script_len);
    if (!sf)
        return ncs_fail(err, NCS_ERR_NOMEM, j->out_path, "out of memory");
    ncs_status rc = ncs_report_script(r, fmt, (const char *const *)j->o.tmp, sf);
    if (fclose(sf) != 0 || rc != NCS_OK)
        return ncs_fail(err, NCS_ERR_NOMEM, j->out_path, "out of memory");
    return NCS_OK;
}

/* In the child between fork and exec, when the caller has other threads,
 * stdio may not be used (one of them may hold its locks): "what name:
 * reason" goes to the log by write(2). strerror is not on POSIX's list of
 * async-signal-safe functions; glibc's returns its static text for every
 * errno exec and chdir set, without allocating. */
static void child_say(const char *what, const char *name, int e)
{
    const char *parts[] = {what, name, ": ", strerror(e), "\n"};
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++)
        if (write(2, parts[k], strlen(parts[k])) < 0)
            return;
}

/* The child: gnuplot in the output folder (the script names its pages
 * without a folder), the script on its standard input, its messages into
 * the log. */
static _Noreturn void exec_gnuplot(const job *j, const int fd[2])
{
    int null = open("/dev/null", O_WRONLY);
    if (dup2(fd[0], 0) < 0 || null < 0 || dup2(null, 1) < 0 || dup2(fileno(j->log), 2) < 0)
        _exit(126);
    close(fd[0]);
    close(fd[1]);
    if (chdir(j->o.dir) != 0) {
        child_say("cannot enter ", j->o.dir, errno);
        _exit(126);
    }
    execlp(j->gnuplot, j->gnuplot, (char *)NULL);
    child_say("cannot run ", j->gnuplot, errno);
    _exit(127);
}

/* An unnamed temporary file for gnuplot's messages, close-on-exec: a
 * gnuplot another thread starts meanwhile must not inherit it. */
static FILE *log_file(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/ncs-gnuplot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkostemp(path, O_CLOEXEC);
    if (fd < 0)
        return NULL;
    unlink(path);
    FILE *f = fdopen(fd, "w+");
    if (!f)
        close(fd);
    return f;
}

/* Starts gnuplot reading from a pipe; *to is the pipe's end to write. Every
 * descriptor is made close-on-exec as it is created, so that when threads
 * make reports at once each gnuplot holds only its own pipe (else one
 * gnuplot's end would keep another's pipe open, and its EPIPE would never
 * come); dup2 in the child clears the flag on the copies gnuplot uses. */
static ncs_status start_gnuplot(job *j, pid_t *pid, int *to, ncs_error *err)
{
    int fd[2];
    j->log = log_file();
    if (!j->log || pipe2(fd, O_CLOEXEC) != 0)
        return ncs_fail(err, NCS_ERR_REPORT, j->out_path, "cannot start gnuplot: %s",
                        strerror(errno));
    *pid = fork();
    if (*pid < 0) {
        int e = errno;
        close(fd[0]);
        close(fd[1]);
        return ncs_fail(err, NCS_ERR_REPORT, j->out_path, "cannot start gnuplot: %s",
                        strerror(e));
    }
    if (*pid == 0)
        exec_gnuplot(j, fd);
    j->started = 1;
    close(fd[0]);
    *to = fd[1];
    return NCS_OK;
}

/* Writes buf to the pipe; returns the bytes written. gnuplot may stop
 * reading early (an error), and the write must then fail with EPIPE rather
 * than kill the caller with SIGPIPE. The signal's disposition belongs to the
 * whole process (and to the application), so it is not touched: SIGPIPE is
 * blocked in this thread only, and the one a failed write raised is taken
 * off this thread's pending set before its mask is restored. One already
 * pending before is the caller's, and left alone. */
static size_t write_to_pipe(int fd, const char *buf, size_t len)
{
    sigset_t pipe_only, saved, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &saved);
    int was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    size_t done = 0;
    int broken = 0;
    while (done < len) {
        ssize_t w = write(fd, buf + done, len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            broken = errno == EPIPE;
            break;
        }
        done += (size_t)w;
    }
    if (broken && !was_pending && sigpending(&pending) == 0
        && sigismember(&pending, SIGPIPE) == 1) {
        const struct timespec no_wait = {0, 0};
        while (sigtimedwait(&pipe_only, NULL, &no_wait) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &saved, NULL);
    return done;
}

/* Feeds gnuplot the script and waits for it; a failure says why, in
 * gnuplot's own words when it had any. */
static ncs_status run_gnuplot(job *j, ncs_error *err)
{
    pid_t pid = -1;
    int to = -1;
    ncs_status rc = start_gnuplot(j, &pid, &to, err);
    if (rc != NCS_OK)
        return rc;
    size_t done = write_to_pipe(to, j->script, j->script_len);
    close(to);
    free(j->script);
    j->script = NULL;
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    gnuplot_said(j->log, j->said, sizeof j->said);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && done == j->script_len)
        return NCS_OK;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return ncs_fail(err, NCS_ERR_REPORT, j->out_path, "gnuplot ('%s') could not be run: %s; "
                        INSTALL_HINT, j->gnuplot, j->said);
    return ncs_fail(err, NCS_ERR_REPORT, j->out_path, "gnuplot failed (%s%d)%s%s",
                    WIFEXITED(status) ? "exit " : "signal ",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                    j->said[0] ? ": " : "", j->said);
}

/* Every page is checked before any is renamed: a run that lost a page
 * replaces no earlier report. */
static ncs_status collect_pages(const job *j, ncs_error *err)
{
    char p[8192];
    for (size_t i = 0; i < j->o.n; i++) {
        struct stat sb;
        tmp_path(&j->o, i, p, sizeof p);
        if (stat(p, &sb) != 0 || sb.st_size == 0)
            return ncs_fail(err, NCS_ERR_REPORT, j->out_path, "gnuplot wrote no page %zu%s%s",
                            i + 1, j->said[0] ? ": " : "", j->said);
    }
    for (size_t i = 0; i < j->o.n; i++) {
        tmp_path(&j->o, i, p, sizeof p);
        if (rename(p, j->o.final[i]) != 0)
            return ncs_fail(err, NCS_ERR_OUTPUT, j->o.final[i], "cannot write: %s",
                            strerror(errno));
    }
    return NCS_OK;
}

ncs_status ncs_report_make(const ncs_results *r, ncs_report_format fmt, const char *out_path,
                           const char *gnuplot, ncs_error *err)
{
    ncs_error_clear(err);
    /* 1. what to draw, and gnuplot to draw it */
    ncs_status rc = check_request(r, fmt, out_path, err);
    if (rc != NCS_OK)
        return rc;
    gnuplot = default_gnuplot(gnuplot);
    if (!findable(gnuplot))
        return ncs_fail(err, NCS_ERR_REPORT, out_path,
                        "gnuplot ('%s') not found: the analysis is done but the report "
                        "cannot be drawn; " INSTALL_HINT, gnuplot);
    job j = {.out_path = out_path, .gnuplot = gnuplot};
    /* 2. plan the outputs: temporary names beside the final ones, so that
     *    a failed run replaces no earlier report */
    rc = plan_outputs(r, fmt, out_path, &j.o, err);
    if (rc == NCS_OK)
        rc = folder_writable(&j, err);
    /* 3. write the script */
    if (rc == NCS_OK)
        rc = write_script(&j, r, fmt, err);
    /* 4. run gnuplot on it */
    if (rc == NCS_OK)
        rc = run_gnuplot(&j, err);
    /* 5. collect the pages under their final names */
    if (rc == NCS_OK)
        rc = collect_pages(&j, err);
    job_end(&j, rc);
    return rc;
}
