/* cli.h — what the `ncs` command's files share (main.c, common.c, batch*.c;
 * batch.h has what only the batch files share). Not part of the library. */
#ifndef NCS_CLI_H
#define NCS_CLI_H

#include <stdio.h>
#include "ncs.h"

enum {
    EXIT_OK = 0,
    EXIT_BATCH_FAILED = 1,
    EXIT_USAGE = 2,
    EXIT_INPUT = 3,
    EXIT_OUTPUT = 4,
};

typedef struct {
    int quiet;
    int help;
    int json;
    const char *out;
    ncs_options analysis; /* criteria, norms */
    int report;           /* ncs_report_format, or -1 for no report */
    const char *gnuplot;  /* --gnuplot PATH, or NULL */
    int no_gnuplot;       /* batch: gnuplot was not found; reports skipped */
    /* batch */
    int jobs;             /* 0: online CPUs */
    int resume;
    int shard_i, shard_n; /* shard_n 0: no sharding */
    int progress;         /* -1 auto (a terminal), 0 no, 1 yes */
    int merge;            /* --merge: operands are batch outputs to merge */
    int compare;          /* batch --compare: each patient's visits compared */
    int to_stdout;        /* init --stdout: print instead of writing */
    const struct outdir *out_dir; /* batch: OUT, opened once (all outputs below it) */
    const char *out_real;         /* batch: OUT with links resolved */
    int warn_by_folder; /* batch: an analysis warning names the study's folder, not its id */
} options;

typedef struct command {
    const char *name;
    int (*run)(const struct command *cmd, int argc, char **argv, options *o);
    const char *args;
    const char *summary;
    const char *help;    /* the rest of `ncs help NAME` */
    const char *options; /* the options it accepts beyond -h and -q */
} command;

/* snprintf that may cut: for paths and messages whose length we bound */
void fmt(char *buf, size_t n, const char *f, ...) __attribute__((format(printf, 3, 4)));

/* diagnostics: "ncs: <where>: <kind>: <msg>" on stderr */
void diag(const char *where, const char *kind, const char *msg);
void print_error(const ncs_error *e);
void print_warnings(const ncs_warnings *w, const options *o);
/* The same for an analysis's warnings, which name "ID/nerve.site": with
 * o->warn_by_folder, the study's folder stands for its id (in a batch, ids
 * name output folders; a technician looks for the input's). */
void print_study_warnings(const ncs_warnings *w, const options *o, const ncs_study *st);
/* A call that failed with every error of its input (ncs_study_load): w's
 * warnings (not with -q), the first error, the next ones from w, and how
 * many more were not kept. w may be NULL. */
void print_failure(const ncs_error *e, const ncs_warnings *w, const options *o);
/* "<where>: <message>" of e's first error, with how many more it had (a
 * batch's record of a failed study). */
void failure_summary(char *buf, size_t n, const ncs_error *e);
int usage_error(const char *cmd, const char *fmt, const char *arg);
int exit_for(ncs_status s);

/* Outputs: written only inside an output folder, relative to a descriptor of
 * it (a symbolic link planted there is never followed), each made whole
 * under a temporary name, made durable, then renamed into place. */
typedef struct outdir {
    int fd;           /* the folder, opened once; -1 until made and opened */
    char path[4096];  /* for messages and for gnuplot */
    const struct outdir *parent; /* made as parent/name (else as path) */
    char name[256];
    int no_fsync;     /* a batch's study: one syncfs of OUT at the end instead */
} outdir;
int mkdir_p(const char *path);
/* path (made with its parents; an empty name is a usage error) opened. Prints why not. */
int outdir_open(outdir *d, const char *path);
/* Whether the output folder path could be made and written (its nearest
 * existing folder writable): EXIT_OK, or EXIT_OUTPUT (printed), before any
 * work is done. */
int outdir_check_early(const char *path);
/* parent/name made and opened, refused when it is a symbolic link. Prints why not. */
int outdir_sub(outdir *d, const outdir *parent, const char *name);
/* A folder to be made only when something is written to it (outdir_ready). */
void outdir_later(outdir *d, const outdir *parent, const char *path_or_name);
int outdir_ready(outdir *d);
void outdir_close(outdir *d);
typedef int (*writer_fn)(FILE *f, const void *ctx);
int write_atomic(const outdir *d, const char *name, writer_fn fn, const void *ctx);
/* The input of st (may be NULL) or norms_path that is the file a
 * describes, or NULL. */
struct stat;
const char *input_named(const struct stat *a, const ncs_study *st, const char *norms_path);
/* EXIT_OUTPUT (printed) when d is another study's folder, or one of names
 * (NULL-ended) in d is one of the study's input files or norms_path (may be
 * NULL). */
int outdir_check_inputs(const outdir *d, const ncs_study *st, const char *const *names,
                        const char *norms_path);
/* Removes a study's earlier outputs from the folder open on dir_fd: what
 * an earlier results.json (ncs's) there names — itself, results.csv, the
 * report pages of its format — never an input of st (or the norms_path
 * table), a link, or anything else. */
void remove_earlier_outputs(int dir_fd, const ncs_study *st, const char *norms_path);
/* A study in a batch that no longer loads: the results, CSV and report an
 * earlier run wrote for it under OUT (out_fd) are removed — found as
 * OUT/<id> (id as ncs_study_peek_id reads it), and only when that
 * results.json is of this very folder (study_dir; rel its path under ROOT)
 * and OUT/<id> is no study's folder — so they are never read as current. */
void remove_outputs_of_failed(int out_fd, const char *id, const char *study_dir,
                              const char *rel, const char *norms_path);
/* fflush, fsync and fclose of stdout: EXIT_OUTPUT (printed) on a short write. */
int finish_stdout(void);

/* Analyses a loaded study; prints the table (print_table) and writes
 * out_dir/results.{json,csv} (and the report) when out_dir is given. Prints
 * its errors; the first is copied to err_out. Returns an exit code. */
int analyse_study(ncs_analyser *an, const ncs_study *st, const options *o,
                  outdir *out_dir, int print_table, ncs_error *err_out);

/* Loads, then analyse_study(). */
int analyse_one(ncs_analyser *an, const char *dir, const options *o, outdir *out_dir,
                int print_table, ncs_error *err_out);

/* The JSON text of the settings that shaped the numbers (caller frees). */
char *settings_text(const options *o);

int cmd_batch(const command *cmd, int argc, char **argv, options *o);
int cmd_init(const command *cmd, int argc, char **argv, options *o); /* init.c */
int cmd_compare(const command *cmd, int argc, char **argv, options *o); /* compare.c */
/* compare.c: the visits in dirs (n >= 2) loaded, analysed, compared; show
 * 1 the table, 2 the JSON, 0 one line on stdout; o->out: the files written
 * there. Returns an exit code (errors printed). */
int compare_run(char **dirs, size_t n, const options *o, int show);
/* batch_compare.c: `ncs batch --compare ROOT -o OUT`. */
int run_batch_compare(const char *root, options *o);

/* main.c: the options of one subcommand; the index of the first operand, or
 * -1 after a usage error was printed. */
int parse_options(const command *cmd, int argc, char **argv, options *o);

/* batch.c: the batch over argv[first] (ROOT, or with o->merge the
 * outputs to merge from argv[first..argc)); "I/N" into o's shard. */
int run_batch(int argc, char **argv, int first, options *o);
int batch_shard_option(options *o, const char *arg);
int check_norms_option(const options *o);
int print_command_help(const command *h);

#endif
