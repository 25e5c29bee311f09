/* batch.h — what the files of `ncs batch` share; not part of the library.
 *
 *   batch.c          the command: finds, checks, runs the shard, writes the
 *                    batch's outputs, sums up
 *   batch_find.c     finding the studies under ROOT, their ids, duplicates
 *   batch_resume.c   whether a study's outputs are up to date (--resume);
 *                    what an interrupted run left behind
 *   batch_workers.c  the worker processes, the parent's loop, progress
 *   batch_summary.c  summary.csv and batch.json of one run
 *   batch_merge.c    --merge: shards run apart joined into one output
 */
#ifndef NCS_CLI_BATCH_H
#define NCS_CLI_BATCH_H

#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "cli.h"


enum { ST_PENDING = 0, ST_ANALYSED, ST_UP_TO_DATE, ST_FAILED };
extern const char *const batch_status_name[4];

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
    int quiet;   /* no warnings while searching */
    char **reals; /* the study folders with links resolved, sorted */
    size_t n_reals;
} study_list;

/* batch.c: the lock on OUT (its descriptor, or -1 printed); with tidy, the
 * batch-level temporaries a killed run left are removed (never the
 * norms_path table). */
int batch_lock_out(const outdir *out, int tidy, const char *norms_path);

/* ---- batch_find.c ---- */

/* Every folder under l->root holding a study.ini, sorted by path, each with
 * its id; two studies with one id are refused (each printed). Returns 0, or
 * EXIT_INPUT (duplicate ids) / EXIT_OUTPUT (no memory) after printing why. */
int batch_find_studies(study_list *l);
void batch_list_free(study_list *l);
/* path relative to the batch's ROOT ("." for ROOT itself) */
const char *batch_rel_path(const study_list *l, const char *path);
/* The study folder of the run (other than own, a resolved folder) that the
 * resolved path lies in or is, or NULL. */
const char *batch_study_around(const study_list *l, const char *path, const char *own);

/* ---- batch_resume.c ---- */

/* Whether the folder open on dir_fd holds this study's outputs, made by this
 * version with these options from inputs of the same content (the
 * fingerprint of every input file, ncs_study_inputs_hash()). */
int batch_up_to_date(const ncs_study *st, const options *o, int dir_fd);
/* Removes the hidden temporaries an interrupted run may have left in the
 * folder open on dir_fd (the descriptor stays open), never an input of st
 * (may be NULL) or the norms_path table. */
void batch_remove_stale_temporaries(int dir_fd, const ncs_study *st, const char *norms_path);

/* ---- batch_workers.c ---- */

typedef struct {
    int on;              /* drawing a progress line */
    int shown;           /* a line is on the screen */
    size_t done, total, failed;
    struct timespec start, last;
} progress;

double since(struct timespec a);
void progress_draw(progress *p, int force);

/* Analyses the studies at positions lo, lo + step, ... of l in -j worker
 * processes, recording each one's status in l. Returns -1 when the workers
 * could not be started or run, else 0. */
int batch_run_workers(study_list *l, const options *o, size_t lo, size_t step, progress *p);

/* ---- batch_summary.c ---- */

typedef struct {
    const study_list *l;
    const options *o;
    size_t lo, step; /* the shard: positions lo, lo + step, ... */
} batch_ctx;

extern const char batch_summary_header[];
/* writer_fn for summary.csv (ctx: batch_ctx) and batch.json (ctx: batch_ctx) */
int batch_put_summary(FILE *f, const void *ctx);
int batch_put_json(FILE *f, const void *ctx);
/* One CSV field from *s (quoted or not) into out; *s moves past it and its
 * comma. Returns 0 at the end of the line. */
int batch_csv_field(const char **s, char *out, size_t n);
/* Whether results.csv in the folder open on dir_fd parses (a header with
 * summary.csv's columns; every row as wide as the header). */
int batch_results_csv_ok(int dir_fd);

/* ---- batch_merge.c ---- */

/* --merge: the batch outputs argv[first..argc) joined into o->out. */
int batch_merge(int argc, char **argv, int first, const options *o);

#endif
