/* batch.c — `ncs batch`: every study under a folder, in worker processes.
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
#define _GNU_SOURCE /* syncfs */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include "batch.h"


const char *const batch_status_name[4] = {"pending", "analysed", "up-to-date", "failed"};

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

int batch_shard_option(options *o, const char *arg)
{
    return parse_shard(arg, &o->shard_i, &o->shard_n);
}

/* One batch at a time writes into OUT: an advisory lock on OUT/.ncs-batch.lock,
 * held for the run and released however the process ends. Returns its
 * descriptor, or -1 (printed: who holds it). */
int batch_lock_out(const outdir *out, int tidy, const char *norms_path)
{
    int fd = openat(out->fd, ".ncs-batch.lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0) {
        char msg[300];
        fmt(msg, sizeof msg, "cannot make the batch's lock file .ncs-batch.lock: %s",
            errno == ELOOP ? "it is a symbolic link (ncs writes only inside the output folder, "
                             "never through a link)"
                           : strerror(errno));
        diag(out->path, "error", msg);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char who[200] = "";
        ssize_t n = pread(fd, who, sizeof who - 1, 0);
        who[n > 0 ? n : 0] = '\0';
        who[strcspn(who, "\n")] = '\0';
        char msg[400];
        fmt(msg, sizeof msg, "another ncs batch is writing into this folder (%s); wait for it "
                             "to end or choose another -o",
            who[0] ? who : "its process is unknown");
        diag(out->path, "error", msg);
        close(fd);
        return -1;
    }
    char who[200];
    time_t now = time(NULL);
    struct tm tmv;
    char when[64] = "";
    if (localtime_r(&now, &tmv))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", &tmv);
    int len = snprintf(who, sizeof who, "pid %ld, started %s\n", (long)getpid(), when);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, who, (size_t)len, 0) != len) {
        /* the lock holds without the note */
    }
    /* what a killed run left at this level: its summary and batch.json
     * temporaries (not in a folder whose files may be a study's inputs) */
    struct stat sb;
    if (tidy && fstatat(out->fd, "study.ini", &sb, AT_SYMLINK_NOFOLLOW) != 0)
        batch_remove_stale_temporaries(out->fd, NULL, norms_path);
    return fd;
}

/* The batch's own files in OUT against the inputs of every study whose
 * folder OUT is or lies in, of this run or not (OUT = ROOT a study; OUT
 * inside a study; OUT another study's folder):
 * EXIT_OUTPUT (printed) when one would replace an input, or when such a
 * study cannot be read and one of the names is taken. *in_study: there is
 * such a study. */
static int outputs_in_studies(const outdir *out, const char *out_real,
                              const char *const *names, int *in_study)
{
    char p[PATH_MAX], ini[PATH_MAX + 16];
    fmt(p, sizeof p, "%s", out_real ? out_real : "");
    /* every folder from OUT up that holds a study.ini, of this run or not */
    for (; out_real && p[0]; ) {
        const char *s = p;
        struct stat sb;
        fmt(ini, sizeof ini, "%s/study.ini", strcmp(p, "/") ? p : "");
        if (lstat(ini, &sb) != 0) {
            char *slash = strrchr(p, '/');
            if (!slash || slash == p)
                break;
            *slash = '\0';
            continue;
        }
        *in_study = 1;
        ncs_error err;
        ncs_study *st = ncs_study_load(s, NULL, &err);
        for (size_t k = 0; names[k]; k++) {
            struct stat a;
            if (fstatat(out->fd, names[k], &a, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            const char *hit = st ? input_named(&a, st, NULL) : s;
            if (hit) {
                char msg[2 * PATH_MAX];
                fmt(msg, sizeof msg, st ? "the batch's %s would replace %s, an input of the "
                                          "study there: write the outputs elsewhere"
                                        : "the batch's %s: the output folder lies in the study "
                                          "folder %s, which cannot be read, so its files may "
                                          "be inputs: write the outputs elsewhere",
                    names[k], hit);
                diag(out->path, "error", msg);
                ncs_study_destroy(st);
                return EXIT_OUTPUT;
            }
        }
        ncs_study_destroy(st);
        char *slash = strrchr(p, '/');
        if (!slash || slash == p)
            break;
        *slash = '\0';
    }
    return EXIT_OK;
}

static int batch_outputs_not_inputs(const outdir *out, const options *o, const char *out_real,
                                    int *in_study)
{
    const char *names[] = {"summary.csv", "batch.json", ".ncs-batch.lock", NULL};
    struct stat a, b;
    for (size_t k = 0; names[k] && o->analysis.norms_path; k++)
        if (fstatat(out->fd, names[k], &a, AT_SYMLINK_NOFOLLOW) == 0
            && stat(o->analysis.norms_path, &b) == 0 && a.st_dev == b.st_dev
            && a.st_ino == b.st_ino) {
            char msg[600];
            fmt(msg, sizeof msg, "the batch's %s would replace the --norms table: write the "
                                 "outputs elsewhere, or keep the table out of them", names[k]);
            diag(out->path, "error", msg);
            return EXIT_OUTPUT;
        }
    return outputs_in_studies(out, out_real, names, in_study);
}

/* Study outputs in OUT that this run did not write (an earlier run's, of a
 * study since gone or now in another shard): warned, never removed (an OUT
 * shared by runs on purpose loses nothing), since summary.csv and
 * batch.json list only this run's. */
static void warn_leftovers(const outdir *out, const study_list *l, size_t lo, size_t step)
{
    int dfd = openat(out->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    size_t n = 0;
    char first[NAME_MAX + 1] = "";
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        int ours = 0;
        for (size_t i = lo; i < l->n && !ours; i += step)
            ours = l->v[i].id && strcmp(l->v[i].id, de->d_name) == 0;
        char rj[NAME_MAX + 16];
        struct stat sb;
        fmt(rj, sizeof rj, "%s/results.json", de->d_name);
        if (ours || fstatat(out->fd, rj, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
            continue;
        if (n++ == 0)
            fmt(first, sizeof first, "%s", de->d_name);
    }
    closedir(d);
    if (n) {
        char msg[NAME_MAX + 300];
        fmt(msg, sizeof msg, "%zu folder%s of results from an earlier run whose stud%s this run "
            "did not analyse (%s%s): not in summary.csv or batch.json; remove %s or write to "
            "another folder", n, n == 1 ? "" : "s", n == 1 ? "y" : "ies", first,
            n > 1 ? ", ..." : "", n == 1 ? "it" : "them");
        diag(out->path, "warning", msg);
    }
}

int run_batch(int argc, char **argv, int first, options *o)
{
    if (o->merge)
        return batch_merge(argc, argv, first, o);
    const char *root = argv[first];
    struct stat sb;
    if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        diag(root, "error", errno ? strerror(errno) : "not a folder");
        return EXIT_INPUT;
    }
    study_list l = {.root = root, .quiet = o->quiet};
    int frc = batch_find_studies(&l);
    if (frc != 0) {
        batch_list_free(&l);
        return frc;
    }
    if (l.n == 0 && !o->quiet)
        diag(root, "warning", "no study.ini found under this folder");
    size_t lo = o->shard_n ? (size_t)o->shard_i : 0, step = o->shard_n ? (size_t)o->shard_n : 1;
    outdir out;
    int lock = -1, in_study = 0;
    char *out_real = NULL;
    int orc = outdir_open(&out, o->out);
    if (orc == EXIT_OK && !(out_real = realpath(out.path, NULL)))
        orc = EXIT_OUTPUT;
    if (orc == EXIT_OK) /* before any work, the lock included */
        orc = batch_outputs_not_inputs(&out, o, out_real, &in_study);
    if (orc == EXIT_OK && (lock = batch_lock_out(&out, !in_study, o->analysis.norms_path)) < 0)
        orc = EXIT_OUTPUT;
    if (orc != EXIT_OK) {
        if (lock >= 0)
            close(lock);
        free(out_real);
        outdir_close(&out);
        batch_list_free(&l);
        return orc;
    }
    options run = *o; /* this run's options, with OUT's descriptor */
    run.out_dir = &out;
    run.out_real = out_real;
    run.warn_by_folder = 1;
    progress p = {0};
    p.on = o->progress > 0 || (o->progress < 0 && isatty(2));
    for (size_t i = lo; i < l.n; i += step) {
        p.total++;
        p.done += l.v[i].status == ST_FAILED; /* unreadable folders */
        p.failed += l.v[i].status == ST_FAILED;
    }
    clock_gettime(CLOCK_MONOTONIC, &p.start);
    p.last = p.start;
    int rc = batch_run_workers(&l, &run, lo, step, &p) ? EXIT_OUTPUT : EXIT_OK;
    progress_draw(&p, 1);
    if (p.on)
        fputc('\n', stderr);
    batch_ctx b = {&l, &run, lo, step};
    int wrc = EXIT_OK;
    /* the studies' files were written without an fsync each (2 ms apiece on
     * a disk): one syncfs makes them durable and reports any write error
     * the disk deferred since OUT was opened */
    if (wrc == EXIT_OK && syncfs(out.fd) != 0) {
        char msg[300];
        fmt(msg, sizeof msg, "the studies' outputs could not be written to disk: %s",
            strerror(errno));
        diag(out.path, "error", msg);
        wrc = EXIT_OUTPUT;
    }
    if (wrc == EXIT_OK)
        wrc = write_atomic(&out, "summary.csv", batch_put_summary, &b);
    if (wrc == EXIT_OK)
        wrc = write_atomic(&out, "batch.json", batch_put_json, &b);
    if (!o->quiet)
        warn_leftovers(&out, &l, lo, step);
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
    batch_list_free(&l);
    free(out_real);
    outdir_close(&out);
    close(lock);
    if (rc != EXIT_OK || wrc != EXIT_OK)
        return EXIT_OUTPUT;
    if (o->no_gnuplot)
        return EXIT_OUTPUT;
    return failed ? EXIT_BATCH_FAILED : EXIT_OK;
}

