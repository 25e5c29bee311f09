/* gnuplot.c — runs gnuplot as a separate program, once per report: the
 * script goes to its standard input, its messages to a temporary file, its
 * pages to temporary files ncs creates in the output folder, renamed into
 * place only when it succeeded. Every wait is bounded by the time limit:
 * past it, gnuplot's process group is stopped. */
#define _GNU_SOURCE /* pipe2, mkostemp: descriptors made close-on-exec at birth */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

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

static const char *const paper_names[] = {"a4", "letter"};

int ncs_report_paper_of(const char *name)
{
    for (int i = 0; name && i < (int)(sizeof paper_names / sizeof paper_names[0]); i++)
        if (strcasecmp(name, paper_names[i]) == 0)
            return i;
    return -1;
}

const char *ncs_report_paper_name(ncs_paper paper)
{
    return (unsigned)paper < sizeof paper_names / sizeof paper_names[0] ? paper_names[paper]
                                                                      : NULL;
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

/* path made absolute from the current folder into out (n bytes), as
 * gnuplot runs in the output folder; as it is when that does not fit. */
static void absolute(const char *path, char *out, size_t n)
{
    char cwd[4096];
    if (path[0] != '/' && getcwd(cwd, sizeof cwd)
        && (size_t)snprintf(out, n, "%s/%s", cwd, path) < n)
        return;
    snprintf(out, n, "%s", path);
}

/* Whether prog names an executable: as a path, or found on PATH; where
 * (n bytes, may be NULL) then gets its absolute path. */
static int locate(const char *prog, char *where, size_t n)
{
    if (strchr(prog, '/')) {
        if (access(prog, X_OK) != 0)
            return 0;
        if (where)
            absolute(prog, where, n);
        return 1;
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char buf[4096];
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, len ? path : ".", prog);
        struct stat sb;
        if (stat(buf, &sb) == 0 && S_ISREG(sb.st_mode) && access(buf, X_OK) == 0) {
            if (where)
                absolute(buf, where, n);
            return 1;
        }
        if (!colon)
            break;
        path = colon + 1;
    }
    return 0;
}

typedef struct {
    size_t n;
    char **tmp;     /* base names gnuplot writes (in dir) */
    char **final;   /* full paths they are renamed to (all in dir) */
    char *dir;
    int dirfd;      /* dir, opened once: every name below is taken from it */
    size_t created; /* tmp[0 .. created) were created by us */
} outputs;

/* The base name of an output's final path (all are in the output folder). */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static void outputs_free(outputs *o, int unlink_tmp)
{
    for (size_t i = 0; i < o->n; i++) {
        if (unlink_tmp && i < o->created && o->dirfd >= 0)
            unlinkat(o->dirfd, o->tmp[i], 0);
        if (o->tmp)
            free(o->tmp[i]);
        if (o->final)
            free(o->final[i]);
    }
    if (o->dirfd >= 0)
        close(o->dirfd);
    free(o->tmp);
    free(o->final);
    free(o->dir);
    memset(o, 0, sizeof *o);
    o->dirfd = -1;
}

static atomic_ulong report_seq;

/* Whether path names the same file as input (both existing). */
static int same_file(const char *path, const char *input)
{
    struct stat a, b;
    return input && stat(path, &a) == 0 && stat(input, &b) == 0 && a.st_dev == b.st_dev
           && a.st_ino == b.st_ino;
}

/* A page is never written over an input of an analysis it draws (`report
 * S -o S/w.pdf` with w.pdf a waveform, `--norms lab.pdf -o lab.pdf`). */
static ncs_status pages_not_inputs(const ncs_results *const *rs, size_t n_rs, const outputs *o,
                                   ncs_error *err)
{
    for (size_t k = 0; k < n_rs; k++) {
        const ncs_results *r = rs[k];
        const ncs_study *st = r->study;
        for (size_t i = 0; i < o->n; i++) {
            const char *p = o->final[i];
            const char *hit = same_file(p, st->ini_path) ? st->ini_path
                            : same_file(p, st->norms) ? st->norms
                            : same_file(p, r->options.norms_path) ? r->options.norms_path
                                                                  : NULL;
            for (size_t a = 0; !hit && a < st->n_nerves; a++)
                for (size_t b = 0; !hit && b < st->nerves[a].n_sites; b++)
                    if (same_file(p, st->nerves[a].sites[b].path))
                        hit = st->nerves[a].sites[b].path;
            if (hit)
                return ncs_fail(err, NCS_ERR_OUTPUT, p, "the report would replace %s, an input "
                                                        "of the analysis: write it elsewhere",
                                hit);
        }
    }
    return NCS_OK;
}

static ncs_status plan_outputs(const ncs_gnuplot_job *gj, ncs_report_format fmt,
                               const char *out_path, outputs *o, ncs_error *err)
{
    memset(o, 0, sizeof *o);
    o->dirfd = -1;
    const char *slash = strrchr(out_path, '/');
    o->dir = slash ? ncs_asprintf("%.*s", slash == out_path ? 1 : (int)(slash - out_path),
                                  out_path)
                   : ncs_strdup(".");
    o->n = fmt == NCS_REPORT_PDF ? 1 : gj->n_pages;
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
                                            gj->page_names[i], dot);
        if (!o->tmp[i] || !o->final[i])
            return ncs_fail(err, NCS_ERR_NOMEM, out_path, "out of memory");
    }
    return NCS_OK;
}

/* What of gnuplot's standard error is quoted: its first lines, from its
 * first bytes. */
#define SAID_LINES 5
#define SAID_BYTES 1000

/* The first lines of what gnuplot said, on one line (into buf, n bytes):
 * runs of white space as one space, and every other byte that is not
 * printable ASCII written \xNN, so that no terminal is driven by what a
 * program wrote; " ..." when there was more. */
static void gnuplot_said(FILE *log, char *buf, size_t n)
{
    unsigned char raw[SAID_BYTES];
    size_t k = 0, len = 0;
    buf[0] = '\0';
    if (!log || fseek(log, 0, SEEK_SET) != 0 || (k = fread(raw, 1, sizeof raw, log)) == 0)
        return;
    int more = k == sizeof raw && fgetc(log) != EOF, lines = 0, space = 0;
    for (size_t i = 0; i < k; i++) {
        unsigned c = raw[i];
        if (c == '\n' && ++lines == SAID_LINES) {
            for (size_t r = i + 1; r < k && !more; r++)
                more = raw[r] != ' ' && raw[r] != '\n' && raw[r] != '\t' && raw[r] != '\r';
            break;
        }
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            space = len > 0;
            continue;
        }
        char piece[8];
        int w = c < 0x20 || c >= 0x7f ? snprintf(piece, sizeof piece, "\\x%02x", c)
                                      : snprintf(piece, sizeof piece, "%c", (char)c);
        if (len + (size_t)space + (size_t)w + sizeof " ..." > n) {
            more = 1;
            break;
        }
        if (space)
            buf[len++] = ' ';
        memcpy(buf + len, piece, (size_t)w);
        len += (size_t)w;
        space = 0;
    }
    buf[len] = '\0';
    if (more && len + sizeof " ..." <= n)
        memcpy(buf + len, " ...", sizeof " ...");
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

double ncs_report_timeout_of(const char *text)
{
    if (!text || !*text)
        return NAN;
    char *end;
    double v = strtod(text, &end);
    return end != text && !*end && isfinite(v) && v > 0 ? v : NAN;
}

/* The time limit of this report, seconds: the options', else
 * $NCS_GNUPLOT_TIMEOUT's, else the default; v is the options' (0: none). */
static ncs_status time_limit(double v, const char *out_path, double *seconds, ncs_error *err)
{
    if (v == 0) {
        const char *env = getenv("NCS_GNUPLOT_TIMEOUT");
        if (!env || !*env) {
            *seconds = NCS_GNUPLOT_TIMEOUT_S;
            return NCS_OK;
        }
        v = ncs_report_timeout_of(env);
        if (isnan(v))
            return ncs_fail(err, NCS_ERR_USAGE, "NCS_GNUPLOT_TIMEOUT",
                            "not a time limit: give gnuplot's seconds, a number above 0");
    }
    if (!(isfinite(v) && v > 0))
        return ncs_fail(err, NCS_ERR_USAGE, out_path,
                        "gnuplot's time limit (%g s) is not a number of seconds above 0", v);
    *seconds = v;
    return NCS_OK;
}

int ncs_report_gnuplot_found(const char *gnuplot, ncs_error *err)
{
    ncs_error_clear(err);
    gnuplot = default_gnuplot(gnuplot);
    if (locate(gnuplot, NULL, 0))
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
    if (!ncs_report_paper_name((ncs_paper)r->options.report_paper))
        return ncs_fail(err, NCS_ERR_USAGE, out_path, "unknown paper (%d): choose a4 or letter",
                        r->options.report_paper);
    for (size_t i = 0; i < r->n_nerves; i++)
        for (size_t j = 0; j < r->nerves[i].n_sites; j++)
            if (!r->nerves[i].sites[j].trace)
                return ncs_fail(err, NCS_ERR_USAGE, out_path,
                                "the study was analysed without keeping its traces");
    return NCS_OK;
}

/* One run of gnuplot and all it holds until the end, which job_end
 * releases, whichever step failed. */
typedef struct {
    const char *out_path; /* as the caller named it, for messages */
    const char *gnuplot;  /* as named, for messages and its argv[0] */
    char path[4096];      /* what is run: absolute, as gnuplot runs elsewhere */
    double limit_s;       /* the time limit */
    pid_t parent;         /* this process */
    outputs o;
    char *script;
    size_t script_len;
    FILE *log;   /* gnuplot's standard error */
    char said[800];
} job;

static void job_end(job *j, ncs_status rc)
{
    free(j->script);
    j->script = NULL;
    if (j->log)
        fclose(j->log);
    j->log = NULL;
    outputs_free(&j->o, rc != NCS_OK);
}

/* The output folder, opened once: the temporaries are created, checked and
 * renamed from this descriptor and gnuplot is started in it, so that no
 * name is looked up twice along a path that could change in between. A
 * folder the pages cannot go into is refused before gnuplot runs, with a
 * message that names the folder rather than one of gnuplot's. */
static ncs_status open_folder(job *j, ncs_error *err)
{
    j->o.dirfd = open(j->o.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->o.dirfd < 0 || faccessat(j->o.dirfd, ".", W_OK, 0) != 0)
        return ncs_fail(err, NCS_ERR_OUTPUT, j->out_path, "cannot write into %s: %s", j->o.dir,
                        errno == ENOTDIR ? "not a folder" : strerror(errno));
    return NCS_OK;
}

/* The temporaries gnuplot is to write, created empty by us first: new
 * files (O_EXCL), never through a symbolic link planted under their names
 * (O_NOFOLLOW). gnuplot then opens regular files of ours. */
static ncs_status create_pages(job *j, ncs_error *err)
{
    for (size_t i = 0; i < j->o.n; i++) {
        int fd = openat(j->o.dirfd, j->o.tmp[i],
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0)
            return ncs_fail(err, NCS_ERR_OUTPUT, j->out_path, "cannot write into %s: %s",
                            j->o.dir, strerror(errno));
        j->o.created = i + 1;
        close(fd);
    }
    return NCS_OK;
}

/* The whole script is made before gnuplot starts, so that gnuplot never
 * runs on a script that could not be made whole. */
static ncs_status write_script(job *j, const ncs_gnuplot_job *gj, ncs_report_format fmt,
                               ncs_error *err)
{
    FILE *sf = open_memstream(&j->script, &j->script_len);
    if (!sf)
        return ncs_fail(err, NCS_ERR_NOMEM, j->out_path, "out of memory");
    ncs_status rc = gj->write(gj->ctx, fmt, (const char *const *)j->o.tmp, sf);
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

/* Descriptor from as descriptor to, kept across exec (dup2 onto itself
 * would leave close-on-exec set); from, close-on-exec, goes at the exec. */
static int onto(int from, int to)
{
    return from == to ? fcntl(to, F_SETFD, 0) : dup2(from, to);
}

/* The child: gnuplot in a process group of its own (stopped as a whole at
 * the time limit) and in the output folder (the script names its pages
 * without a folder), the script on its standard input, its messages into
 * the log. On Linux it is killed should the caller die first: in a group
 * of its own, an interrupt at the terminal no longer reaches it. */
#define GNUPLOT_MAX_FILE (256L * 1024 * 1024) /* bytes: far above any report page */

static _Noreturn void exec_gnuplot(const job *j, const int fd[2])
{
    setpgid(0, 0);
#ifdef __linux__
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != j->parent)
        _exit(126);
#endif
    if (onto(fd[0], 0) < 0)
        _exit(126);
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || onto(null, 1) < 0 || onto(fileno(j->log), 2) < 0)
        _exit(126);
    if (fchdir(j->o.dirfd) != 0) {
        child_say("cannot enter ", j->o.dir, errno);
        _exit(126);
    }
    /* no file it writes (its messages, a page) grows past GNUPLOT_MAX_FILE:
     * a gnuplot that floods its stderr cannot fill the disk before its time
     * limit (it gets SIGXFSZ, and the report fails) */
    struct rlimit fs = {GNUPLOT_MAX_FILE, GNUPLOT_MAX_FILE};
    if (setrlimit(RLIMIT_FSIZE, &fs) != 0)
        _exit(126);
    /* gnuplot reads its standard input a byte at a time (a read(2) per
     * byte: 0.3 s of a report's 0.45), a script named on its command line
     * through stdio's buffer: so the pipe is named, where it can be */
    if (access("/dev/stdin", R_OK) == 0)
        execlp(j->path, j->gnuplot, "/dev/stdin", (char *)NULL);
    else
        execlp(j->path, j->gnuplot, (char *)NULL);
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

/* Starts gnuplot reading from a pipe; *to is the pipe's end to write,
 * non-blocking (a gnuplot that does not read must not hold the writer past
 * the limit). Every descriptor is made close-on-exec as it is created, so
 * that when threads make reports at once each gnuplot holds only its own
 * pipe (else one gnuplot's end would keep another's pipe open, and its
 * EPIPE would never come); the child clears the flag on the copies gnuplot
 * uses. */
static ncs_status start_gnuplot(job *j, pid_t *pid, int *to, ncs_error *err)
{
    int fd[2];
    j->log = log_file();
    if (!j->log || pipe2(fd, O_CLOEXEC) != 0)
        return ncs_fail(err, NCS_ERR_REPORT, j->out_path, "cannot start gnuplot: %s",
                        strerror(errno));
    int fl = fcntl(fd[1], F_GETFL);
    if (fl < 0 || fcntl(fd[1], F_SETFL, fl | O_NONBLOCK) != 0 || (*pid = fork()) < 0) {
        int e = errno;
        close(fd[0]);
        close(fd[1]);
        return ncs_fail(err, NCS_ERR_REPORT, j->out_path, "cannot start gnuplot: %s",
                        strerror(e));
    }
    if (*pid == 0)
        exec_gnuplot(j, fd);
    /* (also here: whichever of the two runs first, the group exists before
     * it is signalled; EACCES once gnuplot has run exec is harmless) */
    setpgid(*pid, *pid);
    close(fd[0]);
    *to = fd[1];
    return NCS_OK;
}

/* Seconds on a clock that only goes forward. */
static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Sleeps *nap_s, at most until deadline, and doubles the next nap up to
 * 20 ms: a short report costs no wait, a long one few wake-ups. */
static void nap(double *nap_s, double deadline)
{
    double s = fmin(*nap_s, deadline - now_s());
    if (s > 0) {
        struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
        nanosleep(&ts, NULL);
    }
    *nap_s = fmin(2 * *nap_s, 0.02);
}

/* Writes buf to the pipe until deadline; returns the bytes written, and
 * *late when the deadline came first. gnuplot may stop reading early (an
 * error), and the write must then fail with EPIPE rather than kill the
 * caller with SIGPIPE. The signal's disposition belongs to the whole
 * process (and to the application), so it is not touched: SIGPIPE is
 * blocked in this thread only, and the one a failed write raised is taken
 * off this thread's pending set before its mask is restored. One already
 * pending before is the caller's, and left alone. */
static size_t write_to_pipe(int fd, const char *buf, size_t len, double deadline, int *late)
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
        if (w >= 0) {
            done += (size_t)w;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            broken = errno == EPIPE;
            break;
        }
        double left = deadline - now_s();
        if (left <= 0) {
            *late = 1;
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        poll(&p, 1, left > 1.0 ? 1000 : (int)ceil(1000.0 * left));
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

/* Waits until gnuplot ended or deadline came: 1 when it ended (not yet
 * reaped: its pid, and so its process group's id, stays its own until then),
 * 0 when the deadline came first, -1 when it was reaped by someone else
 * (SIGCHLD ignored: the kernel reaps). */
static int wait_until(pid_t pid, double deadline)
{
    double pause = 0.001;
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        int w = waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT);
        if (w == 0 && si.si_pid == pid)
            return 1;
        if (w < 0 && errno != EINTR)
            return -1;
        if (now_s() >= deadline)
            return 0;
        nap(&pause, deadline);
    }
}

/* Ends gnuplot's run: when stop, its process group is sent SIGTERM and
 * given a second; then whatever of the group is left (gnuplot, or what it
 * started and left behind) is sent SIGKILL, before gnuplot is reaped, so
 * the group's id cannot have passed to another process. *status: how
 * gnuplot ended (0 when someone else reaped it). */
static void end_group(pid_t pid, int stop, int *status)
{
    int ended = 1;
    *status = 0;
    if (stop) {
        if (kill(-pid, SIGTERM) != 0)
            kill(pid, SIGTERM);
        ended = wait_until(pid, now_s() + 1.0);
    }
    if (ended < 0)
        return;
    if (kill(-pid, SIGKILL) != 0 && stop)
        kill(pid, SIGKILL);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
}

/* Feeds gnuplot the script and waits for it, both within the time limit;
 * a failure says why, in gnuplot's own words when it had any. */
static ncs_status run_gnuplot(job *j, ncs_error *err)
{
    pid_t pid = -1;
    int to = -1;
    double deadline = now_s() + j->limit_s;
    ncs_status rc = start_gnuplot(j, &pid, &to, err);
    if (rc != NCS_OK)
        return rc;
    int late = 0, status = 0;
    size_t done = write_to_pipe(to, j->script, j->script_len, deadline, &late);
    close(to);
    free(j->script);
    j->script = NULL;
    int ended = late ? 0 : wait_until(pid, deadline);
    late = ended == 0;
    if (ended >= 0) /* (else reaped by someone else: its pages tell) */
        end_group(pid, late, &status);
    gnuplot_said(j->log, j->said, sizeof j->said);
    if (late)
        return ncs_fail(err, NCS_ERR_REPORT, j->out_path,
                        "gnuplot did not finish within %g s; stopped (the limit is set by "
                        "--gnuplot-timeout or NCS_GNUPLOT_TIMEOUT)%s%s",
                        j->limit_s, j->said[0] ? "; it said: " : "", j->said);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && done == j->script_len)
        return NCS_OK;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return ncs_fail(err, NCS_ERR_REPORT, j->out_path, "gnuplot ('%s') could not be run: %s; "
                        INSTALL_HINT, j->gnuplot, j->said);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGXFSZ)
        return ncs_fail(err, NCS_ERR_REPORT, j->out_path,
                        "gnuplot was stopped: a file it wrote (a page, or its messages) passed "
                        "%ld MiB%s%.200s", GNUPLOT_MAX_FILE / (1024 * 1024),
                        j->said[0] ? "; it said: " : "", j->said);
    return ncs_fail(err, NCS_ERR_REPORT, j->out_path, "gnuplot failed (%s%d)%s%s",
                    WIFEXITED(status) ? "exit " : "signal ",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                    j->said[0] ? ": " : "", j->said);
}

/* Every page is checked before any is renamed: a run that lost a page
 * replaces no earlier report. The checks and the renames go through the
 * folder's descriptor and follow no link: what gnuplot left under a
 * temporary name must be a regular file, and rename replaces a link
 * planted under a final name rather than writing through it. */
static ncs_status collect_pages(const job *j, ncs_error *err)
{
    for (size_t i = 0; i < j->o.n; i++) {
        struct stat sb;
        if (fstatat(j->o.dirfd, j->o.tmp[i], &sb, AT_SYMLINK_NOFOLLOW) != 0
            || !S_ISREG(sb.st_mode) || sb.st_size == 0)
            return ncs_fail(err, NCS_ERR_REPORT, j->out_path, "gnuplot wrote no page %zu%s%s",
                            i + 1, j->said[0] ? ": " : "", j->said);
    }
    for (size_t i = 0; i < j->o.n; i++)
        if (renameat(j->o.dirfd, j->o.tmp[i], j->o.dirfd, base_name(j->o.final[i])) != 0)
            return ncs_fail(err, NCS_ERR_OUTPUT, j->o.final[i], "cannot write: %s",
                            strerror(errno));
    return NCS_OK;
}

ncs_status ncs_gnuplot_run(const ncs_gnuplot_job *gj, ncs_report_format fmt,
                           const char *out_path, const char *gnuplot, ncs_error *err)
{
    /* 1. gnuplot to draw it, and its time */
    job j = {.out_path = out_path, .gnuplot = default_gnuplot(gnuplot), .parent = getpid()};
    j.o.dirfd = -1;
    if (!locate(j.gnuplot, j.path, sizeof j.path))
        return ncs_fail(err, NCS_ERR_REPORT, out_path,
                        "gnuplot ('%s') not found: the analysis is done but the report "
                        "cannot be drawn; " INSTALL_HINT, j.gnuplot);
    ncs_status rc = time_limit(gj->timeout_s, out_path, &j.limit_s, err);
    if (rc != NCS_OK)
        return rc;
    /* 2. plan the outputs: temporary names beside the final ones, so that
     *    a failed run replaces no earlier report */
    rc = plan_outputs(gj, fmt, out_path, &j.o, err);
    if (rc == NCS_OK)
        rc = pages_not_inputs(gj->inputs, gj->n_inputs, &j.o, err);
    if (rc == NCS_OK)
        rc = open_folder(&j, err);
    /* 3. write the script */
    if (rc == NCS_OK)
        rc = write_script(&j, gj, fmt, err);
    /* 4. run gnuplot on it, into the temporaries made for it */
    if (rc == NCS_OK)
        rc = create_pages(&j, err);
    if (rc == NCS_OK)
        rc = run_gnuplot(&j, err);
    /* 5. collect the pages under their final names */
    if (rc == NCS_OK)
        rc = collect_pages(&j, err);
    job_end(&j, rc);
    return rc;
}

static ncs_status report_writer(const void *ctx, ncs_report_format fmt,
                                const char *const *page_files, FILE *o)
{
    return ncs_report_script((const ncs_results *)ctx, fmt, page_files, o);
}

ncs_status ncs_report_make(const ncs_results *r, ncs_report_format fmt, const char *out_path,
                           const char *gnuplot, ncs_error *err)
{
    ncs_error_clear(err);
    /* what to draw: the study's pages, a summary and one per nerve */
    ncs_status rc = check_request(r, fmt, out_path, err);
    if (rc != NCS_OK)
        return rc;
    size_t pages = ncs_report_pages(r);
    const char **names = calloc(pages, sizeof *names);
    if (!names)
        return ncs_fail(err, NCS_ERR_NOMEM, out_path, "out of memory");
    for (size_t i = 1; i < pages; i++)
        names[i] = r->nerves[i - 1].def->id;
    ncs_gnuplot_job gj = {.n_pages = pages, .page_names = names, .inputs = &r, .n_inputs = 1,
                          .timeout_s = r->options.gnuplot_timeout_s, .write = report_writer,
                          .ctx = r};
    rc = ncs_gnuplot_run(&gj, fmt, out_path, gnuplot, err);
    free(names);
    return rc;
}
