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
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "batch.h"

void fmt(char *buf, size_t n, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(buf, n, f, ap);
    va_end(ap);
}

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
    study_list l = {.root = root};
    int frc = batch_find_studies(&l);
    if (frc != 0) {
        batch_list_free(&l);
        return frc;
    }
    if (l.n == 0 && !o->quiet)
        diag(root, "warning", "no study.ini found under this folder");
    size_t lo = o->shard_n ? (size_t)o->shard_i : 0, step = o->shard_n ? (size_t)o->shard_n : 1;
    if (mkdir_p(o->out) != 0) {
        diag(o->out, "error", strerror(errno));
        batch_list_free(&l);
        return EXIT_OUTPUT;
    }
    progress p = {0};
    p.on = o->progress > 0 || (o->progress < 0 && isatty(2));
    for (size_t i = lo; i < l.n; i += step)
        p.total++;
    clock_gettime(CLOCK_MONOTONIC, &p.start);
    p.last = p.start;
    int rc = batch_run_workers(&l, o, lo, step, &p) ? EXIT_OUTPUT : EXIT_OK;
    progress_draw(&p, 1);
    if (p.on)
        fputc('\n', stderr);
    batch_ctx b = {&l, o, lo, step};
    int wrc = write_atomic(o->out, "summary.csv", batch_put_summary, &b);
    if (wrc == EXIT_OK)
        wrc = write_atomic(o->out, "batch.json", batch_put_json, &b);
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
    if (rc != EXIT_OK || wrc != EXIT_OK)
        return EXIT_OUTPUT;
    if (o->no_gnuplot)
        return EXIT_OUTPUT;
    return failed ? EXIT_BATCH_FAILED : EXIT_OK;
}

