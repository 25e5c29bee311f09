/* batch_workers.c — the studies of a shard analysed in -j worker processes.
 *
 * The parent hands studies one at a time over pipes; a worker loads,
 * analyses and writes OUT/<id>/ (every file under a temporary name, renamed
 * into place), then reports back. A worker that crashes costs only the study
 * it was on, and a new one takes its place. Workers' messages come back
 * through pipes, so the progress line stays whole. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "batch.h"

/* ---- one study, in a worker ---------------------------------------------- */

typedef struct {
    uint32_t index;
    int32_t status; /* ST_* */
    int32_t exit_code;
    char message[1000];
} result_msg;


/* The study failed before its analysis: said at where, recorded in res. */
static void fail_study(result_msg *res, ncs_study *st, int code, const char *where,
                       const char *why)
{
    res->status = ST_FAILED;
    res->exit_code = code;
    fmt(res->message, sizeof res->message, "%s: %s", where, why);
    diag(where, "error", why);
    ncs_study_destroy(st);
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
    if (!st) {
        print_failure(&err, &warn, o);
        ncs_warnings_free(&warn);
        remove_outputs_of_failed(o->out_dir->fd, e->id, e->path, batch_rel_path(l, e->path),
                                 o->analysis.norms_path);
        res->status = ST_FAILED;
        res->exit_code = exit_for(err.code);
        failure_summary(res->message, sizeof res->message, &err);
        return;
    }
    print_warnings(&warn, o);
    ncs_warnings_free(&warn);
    char where[PATH_MAX + 300];
    if (st->id_unsafe) {
        fail_study(res, st, EXIT_INPUT, st->ini_path,
                   "the folder's name cannot be the study's id in a batch, which names the "
                   "output folder and summary.csv's rows by it: set id = in [study] (letters, "
                   "accented and other alphabets' too, digits, '.', '_' and '-', starting "
                   "with a letter, a digit or '_')");
        return;
    }
    fmt(where, sizeof where, "%s/%s", o->out, st->id);
    /* OUT/<id> inside another study's folder: its files are that study's
     * inputs (OUT = a study folder, or ROOT a study with nested ones) */
    if (o->out_real) {
        char target[PATH_MAX + 300];
        fmt(target, sizeof target, "%s/%s", strcmp(o->out_real, "/") ? o->out_real : "",
            st->id);
        const char *around = batch_study_around(l, target, st->dir_real);
        if (around) {
            char why[PATH_MAX + 100];
            fmt(why, sizeof why, "lies in the folder of the study %s, whose files are inputs: "
                                 "write the outputs elsewhere", around);
            fail_study(res, st, EXIT_OUTPUT, where, why);
            return;
        }
    }
    /* what an earlier run left in OUT/<id> (never through a link) */
    int old = openat(o->out_dir->fd, st->id, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat ini, own;
    if (old >= 0 && fstatat(old, "study.ini", &ini, 0) == 0
        && !(stat(st->ini_path, &own) == 0 && ini.st_dev == own.st_dev
             && ini.st_ino == own.st_ino)) {
        /* another study's folder, of this run or not: nothing is touched */
        close(old);
        fail_study(res, st, EXIT_OUTPUT, where, "is another study's folder (it holds a "
                   "study.ini): its files are that study's inputs; write the outputs elsewhere");
        return;
    }
    if (old >= 0) {
        batch_remove_stale_temporaries(old, st, o->analysis.norms_path);
        int up = o->resume && batch_up_to_date(st, o, old);
        /* analysed again: what an earlier run wrote goes first (a report of
         * other inputs, or of another format, is never left beside new
         * results; a study that fails now leaves nothing stale) */
        if (!up)
            remove_earlier_outputs(old, st, o->analysis.norms_path);
        close(old);
        if (up) {
            res->status = ST_UP_TO_DATE;
            ncs_study_destroy(st);
            return;
        }
    }
    outdir out_dir;
    outdir_later(&out_dir, o->out_dir, st->id);
    out_dir.no_fsync = 1; /* the batch syncs OUT once at its end */
    ncs_error_clear(&err);
    int rc = analyse_study(an, st, o, &out_dir, 0, &err);
    outdir_close(&out_dir);
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

double since(struct timespec a)
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

void progress_draw(progress *p, int force)
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
    const study_list *l;
    size_t next, n, step;
    long retry[64];
    int n_retry;
} dispatch;

static long take(dispatch *d)
{
    if (d->n_retry > 0)
        return d->retry[--d->n_retry];
    /* a folder that could not be read failed before any work */
    while (d->next < d->n && d->l->v[d->next].status == ST_FAILED)
        d->next += d->step;
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


static int online_cpus(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

/* The parent's side of one shard. */
typedef struct {
    study_list *l;
    const options *o;
    progress *p;
    worker *w;
    int nw, alive;
    dispatch d;
} pool;

/* A worker's result record arrived: the study it was on is done. */
static void on_result(pool *pl, worker *w, const result_msg *m)
{
    record(pl->l, pl->p, m);
    progress_draw(pl->p, 1);
    if (w->nq > 0) { /* done with the first it held */
        w->q[0] = w->q[1];
        w->nq--;
    }
    top_up(w, &pl->d);
}

/* A worker is gone: the study it was on failed (crashed, or stopped); one it
 * held next goes to another; a new worker takes its place while there is
 * work left. */
static void on_worker_gone(pool *pl, worker *w)
{
    relay(w, pl->p, 1);
    int status = 0;
    waitpid(w->pid, &status, 0);
    if (w->nq > 0) {
        long bad = w->q[0];
        const char *path = pl->l->v[bad].path;
        result_msg m;
        memset(&m, 0, sizeof m);
        m.index = (uint32_t)bad;
        m.status = ST_FAILED;
        if (WIFSIGNALED(status))
            fmt(m.message, sizeof m.message,
                "%s: the analysis crashed (signal %d); please report it", path, WTERMSIG(status));
        else
            fmt(m.message, sizeof m.message, "%s: the worker stopped (exit %d)", path,
                WEXITSTATUS(status));
        progress_clear(pl->p);
        diag(path, "error", m.message);
        record(pl->l, pl->p, &m);
        for (int j = 1; j < w->nq && pl->d.n_retry < 64; j++)
            pl->d.retry[pl->d.n_retry++] = w->q[j];
    }
    if (w->cmd >= 0)
        close(w->cmd);
    close(w->res);
    close(w->err);
    w->pid = 0;
    w->nq = 0;
    pl->alive--;
    if ((pl->d.n_retry > 0 || pl->d.next < pl->d.n) && spawn(w, pl->l, pl->o) == 0) {
        pl->alive++;
        top_up(w, &pl->d);
    }
}

/* Waits (at most 200 ms) for the workers' results and messages and acts on
 * them. Returns -1 when poll fails. */
static int serve(pool *pl, struct pollfd *pf)
{
    int np = 0;
    for (int k = 0; k < pl->nw; k++) {
        if (pl->w[k].pid <= 0)
            continue;
        pf[np++] = (struct pollfd){.fd = pl->w[k].res, .events = POLLIN};
        pf[np++] = (struct pollfd){.fd = pl->w[k].err, .events = POLLIN};
    }
    if (poll(pf, (nfds_t)np, 200) < 0 && errno != EINTR)
        return -1;
    progress_draw(pl->p, 0);
    int q = 0;
    for (int k = 0; k < pl->nw; k++) {
        worker *w = &pl->w[k];
        if (w->pid <= 0)
            continue;
        short rev = pf[q].revents, erev = pf[q + 1].revents;
        q += 2;
        if (erev & (POLLIN | POLLHUP))
            relay(w, pl->p, 0);
        if (!(rev & (POLLIN | POLLHUP)))
            continue;
        result_msg m;
        if (read(w->res, &m, sizeof m) == (ssize_t)sizeof m)
            on_result(pl, w, &m);
        else
            on_worker_gone(pl, w);
    }
    return 0;
}

int batch_run_workers(study_list *l, const options *o, size_t lo, size_t step, progress *p)
{
    size_t todo = 0;
    for (size_t i = lo; i < l->n; i += step)
        todo++;
    int nw = o->jobs > 0 ? o->jobs : online_cpus();
    if ((size_t)nw > todo)
        nw = (int)todo;
    if (nw < 1)
        return 0;
    pool pl = {.l = l, .o = o, .p = p, .nw = nw, .d = {.l = l, .next = lo, .n = l->n, .step = step}};
    pl.w = calloc((size_t)nw, sizeof *pl.w);
    struct pollfd *pf = calloc(2 * (size_t)nw, sizeof *pf);
    if (!pl.w || !pf) {
        free(pl.w);
        free(pf);
        diag("batch", "error", "out of memory");
        return -1;
    }
    /* a worker that dies must not take the parent with it through a pipe
     * (the command is one thread; changing the disposition is its right) */
    struct sigaction ign = {0}, old;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    int rc = 0;
    for (int k = 0; k < nw; k++) {
        if (spawn(&pl.w[k], l, o) != 0) {
            diag("batch", "error", "cannot start a worker process");
            rc = -1;
            break;
        }
        pl.alive++;
        top_up(&pl.w[k], &pl.d);
    }
    while (pl.alive > 0)
        if (serve(&pl, pf) != 0)
            break;
    sigaction(SIGPIPE, &old, NULL);
    free(pl.w);
    free(pf);
    return rc;
}
