/* main.c — the `ncs` command: arguments in, library calls, exit codes out.
 * Results go to stdout, diagnostics to stderr as
 * "ncs: <where>: error|warning: <message>" (SPEC 6). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

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
} options;

typedef struct command {
    const char *name;
    int (*run)(const struct command *cmd, int argc, char **argv, options *o);
    const char *args;
    const char *summary;
    const char *help; /* the rest of `ncs help NAME` */
    const char *options; /* the options it accepts beyond -h and -q */
} command;

static const command commands[];

/* ---- diagnostics --------------------------------------------------------- */

static void diag(const char *where, const char *kind, const char *msg)
{
    if (where && *where)
        fprintf(stderr, "ncs: %s: %s: %s\n", where, kind, msg);
    else
        fprintf(stderr, "ncs: %s: %s\n", kind, msg);
}

static void print_error(const ncs_error *e)
{
    diag(e->where, "error", e->message[0] ? e->message : ncs_strerror(e->code));
}

static void print_warnings(const ncs_warnings *w, const options *o)
{
    if (o->quiet)
        return;
    for (size_t i = 0; i < w->count; i++)
        diag(w->items[i].where, "warning", w->items[i].message);
    if (w->dropped)
        fprintf(stderr, "ncs: warning: %zu further warnings lost (out of memory)\n",
                w->dropped);
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "ncs: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'ncs help%s%s' for more information.\n", cmd ? " " : "",
            cmd ? cmd : "");
    return EXIT_USAGE;
}

/* Exit code for a library status (SPEC 6). */
static int exit_for(ncs_status s)
{
    switch (s) {
    case NCS_OK:
        return EXIT_OK;
    case NCS_ERR_USAGE:
        return EXIT_USAGE;
    case NCS_ERR_OUTPUT:
    case NCS_ERR_REPORT:
        return EXIT_OUTPUT;
    default:
        return EXIT_INPUT;
    }
}

/* ---- option parsing ------------------------------------------------------ */

enum {
    OPT_HELP = 'h',
    OPT_QUIET = 'q',
    OPT_OUT = 'o',
    OPT_JSON = 256,
    OPT_CRITERIA,
    OPT_NORMS,
    OPT_REPORT,
    OPT_GNUPLOT,
};

static const struct option long_opts[] = {
    {"help", no_argument, NULL, OPT_HELP},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {"out", required_argument, NULL, OPT_OUT},
    {"json", no_argument, NULL, OPT_JSON},
    {"criteria", required_argument, NULL, OPT_CRITERIA},
    {"norms", required_argument, NULL, OPT_NORMS},
    {"report", optional_argument, NULL, OPT_REPORT},
    {"gnuplot", required_argument, NULL, OPT_GNUPLOT},
    {NULL, 0, NULL, 0},
};

/* Whether cmd accepts option `opt` (besides -h and -q, which all do). */
static int accepts(const command *cmd, const char *opt)
{
    return cmd->options && strstr(cmd->options, opt) != NULL;
}

static int not_here(const command *cmd, const char *opt)
{
    fprintf(stderr, "ncs %s: option '%s' does not apply here\n"
                    "Try 'ncs help %s' for more information.\n",
            cmd->name, opt, cmd->name);
    return -1;
}

/* Parses the options of one subcommand; returns the index of the first
 * operand, or -1 after a usage error was printed. */
static int parse_options(const command *cmd, int argc, char **argv, options *o)
{
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hqo:", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_OUT:
            if (!accepts(cmd, "--out"))
                return not_here(cmd, "-o/--out");
            o->out = optarg;
            break;
        case OPT_JSON:
            if (!accepts(cmd, "--json"))
                return not_here(cmd, "--json");
            o->json = 1;
            break;
        case OPT_CRITERIA: {
            if (!accepts(cmd, "--criteria"))
                return not_here(cmd, "--criteria");
            int k = ncs_criteria_lookup(optarg);
            if (strcmp(optarg, "all") == 0) {
                o->analysis.all_criteria = 1;
                o->analysis.primary = NCS_CRIT_EFNS2010_MMN;
            } else if (k >= 0) {
                o->analysis.primary = (ncs_criteria_id)k;
            } else {
                fprintf(stderr, "ncs %s: unknown criteria '%s' (choose ", cmd->name, optarg);
                for (int i = 0; i < NCS_CRIT__COUNT; i++)
                    fprintf(stderr, "%s, ", ncs_criteria_name((ncs_criteria_id)i));
                fprintf(stderr, "or all)\nTry 'ncs help %s' for more information.\n",
                        cmd->name);
                return -1;
            }
            break;
        }
        case OPT_NORMS:
            if (!accepts(cmd, "--norms"))
                return not_here(cmd, "--norms");
            o->analysis.norms_path = optarg;
            break;
        case OPT_REPORT:
            if (!accepts(cmd, "--report"))
                return not_here(cmd, "--report");
            o->report = optarg ? ncs_report_format_of(optarg) : NCS_REPORT_PDF;
            if (o->report < 0) {
                fprintf(stderr, "ncs %s: --report=%s: choose pdf, png or svg\n"
                                "Try 'ncs help %s' for more information.\n",
                        cmd->name, optarg, cmd->name);
                return -1;
            }
            break;
        case OPT_GNUPLOT:
            if (!accepts(cmd, "--gnuplot"))
                return not_here(cmd, "--gnuplot");
            o->gnuplot = optarg;
            break;
        case OPT_HELP:
            o->help = 1;
            break;
        case OPT_QUIET:
            o->quiet = 1;
            break;
        default:
            if (c == ':' || (optopt && strchr("o", optopt))
                || optopt == OPT_CRITERIA || optopt == OPT_NORMS || optopt == OPT_OUT
                || optopt == OPT_GNUPLOT)
                fprintf(stderr, "ncs %s: option '%s' needs a value\n", cmd->name,
                        argv[optind - 1]);
            else if (optopt)
                fprintf(stderr, "ncs %s: unknown option '-%c'\n", cmd->name, optopt);
            else
                fprintf(stderr, "ncs %s: unknown option '%s'\n", cmd->name,
                        argv[optind - 1]);
            fprintf(stderr, "Try 'ncs help %s' for more information.\n", cmd->name);
            return -1;
        }
    }
    return optind;
}

/* ---- ncs check ----------------------------------------------------------- */

static void print_range(const ncs_wave *w, double *lo, double *hi)
{
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t i = 0; i < w->n; i++) {
        if (w->mv[i] < *lo)
            *lo = w->mv[i];
        if (w->mv[i] > *hi)
            *hi = w->mv[i];
    }
}

/* Validates one study and decodes every waveform. Returns the exit code. */
static int check_one(const char *dir, const options *o)
{
    ncs_error err;
    ncs_warnings warn = {0};
    ncs_study *st = ncs_study_load(dir, &warn, &err);
    if (!st) {
        print_warnings(&warn, o);
        ncs_warnings_free(&warn);
        print_error(&err);
        return exit_for(err.code);
    }
    size_t traces = 0;
    for (size_t i = 0; i < st->n_nerves; i++)
        traces += st->nerves[i].n_sites;
    printf("%s (%s): %zu nerve%s, %zu trace%s\n", st->id, st->dir, st->n_nerves,
           st->n_nerves == 1 ? "" : "s", traces, traces == 1 ? "" : "s");
    int rc = EXIT_OK;
    for (size_t i = 0; i < st->n_nerves && rc == EXIT_OK; i++) {
        const ncs_nerve_def *n = &st->nerves[i];
        for (size_t j = 0; j < n->n_sites; j++) {
            const ncs_site *s = &n->sites[j];
            char where[512];
            snprintf(where, sizeof where, "%s/%s.%s", st->id, n->id, s->name);
            ncs_wave w;
            if (ncs_wave_load(s, where, &w, &warn, &err) != NCS_OK) {
                print_warnings(&warn, o);
                ncs_warnings_free(&warn);
                print_error(&err);
                rc = exit_for(err.code);
                break;
            }
            double lo, hi;
            print_range(&w, &lo, &hi);
            printf("  %-28s %-26s %-16s %7.0f Hz %8.1f ms %8zu samples  "
                   "%9.3f .. %8.3f mV%s%s\n",
                   where + strlen(st->id) + 1, s->file, w.format_name, w.fs_hz,
                   1000.0 * (double)w.n / w.fs_hz, w.n, lo, hi,
                   s->exclude ? "  (excluded)" : "",
                   w.clipped_n ? "  (clipped samples)" : "");
            ncs_wave_free(&w);
        }
    }
    print_warnings(&warn, o);
    ncs_warnings_free(&warn);
    ncs_study_destroy(st);
    return rc;
}

static int cmd_check(const command *cmd, int argc, char **argv, options *o)
{
    int first = parse_options(cmd, argc, argv, o);
    if (first < 0)
        return EXIT_USAGE;
    if (o->help) {
        const command *h = cmd;
        printf("usage: ncs %s %s\n\n%s\n\n%s", h->name, h->args, h->summary, h->help);
        return EXIT_OK;
    }
    if (first >= argc)
        return usage_error(cmd->name, "check: no study folder given%s", "");
    for (int i = first; i < argc; i++) {
        int rc = check_one(argv[i], o);
        if (rc != EXIT_OK)
            return rc;
    }
    return EXIT_OK;
}

/* ---- writing outputs: temporary name, then rename ------------------------ */

static int mkdir_p(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
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
    struct stat sb;
    return stat(buf, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
}

typedef int (*writer_fn)(FILE *f, const void *ctx);

/* Writes dir/name through a temporary file renamed into place, so a reader
 * (or an interrupted run) never sees half a file. Prints the error. */
static int write_atomic(const char *dir, const char *name, writer_fn fn, const void *ctx)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, name, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        diag(path, "error", strerror(errno));
        return EXIT_OUTPUT;
    }
    int bad = fn(f, ctx) != 0;
    bad |= ferror(f) != 0;
    bad |= fflush(f) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        diag(path, "error", bad ? "write error" : strerror(errno));
        unlink(tmp);
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

static const char settings_json[] =
    "{\"onset_level_pct\": 1, \"smoothing_sigma_ms\": 0.08, "
    "\"interference\": \"artefact, baseline, drift and mains detected and "
    "subtracted\", \"keep_traces\": false}";

/* Loads, analyses and (optionally) writes one study. Prints its errors.
 * *id_out receives the study id (for batch), caller frees. */
static int analyse_one(ncs_analyser *an, const char *dir, const options *o,
                       const char *out_dir, int print_table, ncs_error *err_out,
                       char **id_out)
{
    ncs_error err;
    ncs_warnings warn = {0};
    ncs_study *st = ncs_study_load(dir, &warn, &err);
    print_warnings(&warn, o);
    ncs_warnings_free(&warn);
    if (!st) {
        print_error(&err);
        if (err_out)
            *err_out = err;
        return exit_for(err.code);
    }
    if (id_out)
        *id_out = strdup(st->id);
    ncs_options ao = o->analysis;
    ao.keep_traces = o->report >= 0;
    ncs_results *r = ncs_analyse_study(an, st, &ao, &err);
    if (!r) {
        print_error(&err);
        if (err_out)
            *err_out = err;
        ncs_study_destroy(st);
        return exit_for(err.code);
    }
    print_warnings(&r->warnings, o);
    int rc = EXIT_OK;
    char *json = ncs_results_json(r, settings_json);
    if (!json) {
        diag(dir, "error", "out of memory");
        rc = EXIT_OUTPUT;
    }
    if (rc == EXIT_OK && print_table) {
        if (o->json)
            printf("%s\n", json);
        else
            ncs_results_table(r, stdout);
    }
    if (rc == EXIT_OK && out_dir) {
        if (mkdir_p(out_dir) != 0) {
            diag(out_dir, "error", strerror(errno));
            rc = EXIT_OUTPUT;
        } else {
            rc = write_atomic(out_dir, "results.json", put_string, json);
            if (rc == EXIT_OK)
                rc = write_atomic(out_dir, "results.csv", put_csv, r);
        }
        if (rc != EXIT_OK && err_out) {
            err_out->code = NCS_ERR_OUTPUT;
            snprintf(err_out->where, sizeof err_out->where, "%s", out_dir);
            snprintf(err_out->message, sizeof err_out->message,
                     "cannot write the results");
        }
    }
    free(json);
    if (rc == EXIT_OK && out_dir && o->report >= 0 && !o->no_gnuplot) {
        char path[4200];
        static const char *const ext[] = {"pdf", "png", "svg"};
        snprintf(path, sizeof path, "%s/report.%s", out_dir, ext[o->report]);
        if (ncs_report_make(r, (ncs_report_format)o->report, path, o->gnuplot, &err) != NCS_OK) {
            print_error(&err);
            if (err_out)
                *err_out = err;
            rc = exit_for(err.code);
        }
    }
    ncs_results_destroy(r);
    ncs_study_destroy(st);
    return rc;
}

static int print_command_help(const command *h)
{
    printf("usage: ncs %s %s\n\n%s\n\n%s", h->name, h->args, h->summary, h->help);
    return EXIT_OK;
}

/* Parses options and expects exactly one operand. Returns -1 when the
 * command is done (help printed: *rc = 0; usage error: *rc = 2), else the
 * operand's index. */
static int one_operand(const command *cmd, int argc, char **argv, options *o,
                       const char *what, const char *extra_hint, int *rc)
{
    int first = parse_options(cmd, argc, argv, o);
    *rc = EXIT_USAGE;
    if (first < 0)
        return -1;
    if (o->help) {
        *rc = print_command_help(cmd);
        return -1;
    }
    if (first >= argc) {
        fprintf(stderr, "ncs %s: no %s given\nTry 'ncs help %s' for more information.\n",
                cmd->name, what, cmd->name);
        return -1;
    }
    if (argc - first > 1) {
        fprintf(stderr, "ncs %s: one %s at a time ('%s' is extra)%s\n"
                        "Try 'ncs help %s' for more information.\n",
                cmd->name, what, argv[first + 1], extra_hint, cmd->name);
        return -1;
    }
    return first;
}

/* A --norms file is checked once, before any study, so a typo in it is one
 * error and not one per study. Returns 0, or an exit code. */
static int check_norms_option(const options *o)
{
    if (!o->analysis.norms_path)
        return 0;
    ncs_norms n;
    ncs_error err;
    ncs_norms_builtin(&n);
    if (ncs_norms_load(&n, o->analysis.norms_path, &err) != NCS_OK) {
        print_error(&err);
        return exit_for(err.code);
    }
    return 0;
}

static int cmd_norms(const command *cmd, int argc, char **argv, options *o)
{
    int first = parse_options(cmd, argc, argv, o);
    if (first < 0)
        return EXIT_USAGE;
    if (o->help)
        return print_command_help(cmd);
    if (first < argc)
        return usage_error(cmd->name, "norms: unexpected operand '%s' (use --norms FILE)",
                           argv[first]);
    ncs_norms n;
    ncs_error err;
    ncs_norms_builtin(&n);
    if (o->analysis.norms_path && ncs_norms_load(&n, o->analysis.norms_path, &err) != NCS_OK) {
        print_error(&err);
        return exit_for(err.code);
    }
    return ncs_norms_print(&n, stdout) == NCS_OK ? EXIT_OK : EXIT_OUTPUT;
}

static int cmd_report(const command *cmd, int argc, char **argv, options *o)
{
    int rc;
    int first = one_operand(cmd, argc, argv, o, "study folder", "", &rc);
    if (first < 0)
        return rc;
    if (!o->out)
        return usage_error(cmd->name, "report: no output file given (-o FILE.pdf|.png|.svg)%s",
                           "");
    int fmt = ncs_report_format_of(o->out);
    if (fmt < 0 || strrchr(o->out, '.') == NULL)
        return usage_error(cmd->name, "report: '%s' does not end in .pdf, .png or .svg",
                           o->out);
    if ((rc = check_norms_option(o)) != 0)
        return rc;
    ncs_error err;
    ncs_warnings warn = {0};
    ncs_study *st = ncs_study_load(argv[first], &warn, &err);
    print_warnings(&warn, o);
    ncs_warnings_free(&warn);
    if (!st) {
        print_error(&err);
        return exit_for(err.code);
    }
    ncs_analyser *an = ncs_analyser_create(&err);
    ncs_options ao = o->analysis;
    ao.keep_traces = 1;
    ncs_results *r = an ? ncs_analyse_study(an, st, &ao, &err) : NULL;
    ncs_analyser_destroy(an);
    if (!r) {
        print_error(&err);
        ncs_study_destroy(st);
        return exit_for(err.code);
    }
    print_warnings(&r->warnings, o);
    rc = EXIT_OK;
    if (ncs_report_make(r, (ncs_report_format)fmt, o->out, o->gnuplot, &err) != NCS_OK) {
        print_error(&err);
        rc = exit_for(err.code);
    }
    ncs_results_destroy(r);
    ncs_study_destroy(st);
    return rc;
}

static int cmd_analyse(const command *cmd, int argc, char **argv, options *o)
{
    int rc;
    int first = one_operand(cmd, argc, argv, o, "study folder", "; use 'ncs batch' for many",
                            &rc);
    if (first < 0)
        return rc;
    if ((rc = check_norms_option(o)) != 0)
        return rc;
    if (o->report >= 0 && !o->out)
        return usage_error(cmd->name, "analyse: --report needs -o DIR (the report goes to "
                                      "DIR/report.pdf)%s", "");
    ncs_error err;
    ncs_analyser *an = ncs_analyser_create(&err);
    if (!an) {
        print_error(&err);
        return EXIT_OUTPUT;
    }
    rc = analyse_one(an, argv[first], o, o->out, 1, NULL, NULL);
    ncs_analyser_destroy(an);
    return rc;
}

/* ---- batch --------------------------------------------------------------- */

typedef struct {
    char **v;
    size_t n, cap;
} strvec;

static int strvec_push(strvec *s, const char *x)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    return (s->v[s->n++] = strdup(x)) ? 0 : -1;
}

static void strvec_free(strvec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static strvec *found_studies;

static int collect(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_F) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (strcmp(base, "study.ini") == 0) {
            size_t len = (size_t)(base - path);
            char dir[4096];
            snprintf(dir, sizeof dir, "%.*s", len > 1 ? (int)len - 1 : 1, path);
            if (strvec_push(found_studies, dir))
                return -1;
        }
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

typedef struct {
    strvec *ids, *dirs, *errors;
    const char *root;
    size_t ok;
} batch_summary;

static int put_batch_json(FILE *f, const void *ctx)
{
    const batch_summary *b = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "schema", json_string("ncs-batch/1"));
    json_object_set_new(o, "ncs_version", json_string(NCS_VERSION));
    json_object_set_new(o, "root", json_string(b->root));
    json_object_set_new(o, "studies", json_integer((json_int_t)(b->ok + b->errors->n / 2)));
    json_object_set_new(o, "succeeded", json_integer((json_int_t)b->ok));
    json_object_set_new(o, "failed", json_integer((json_int_t)(b->errors->n / 2)));
    json_object_set_new(o, "settings", json_loads(settings_json, 0, NULL));
    json_t *fl = json_array();
    for (size_t i = 0; i + 1 < b->errors->n; i += 2) {
        json_t *e = json_object();
        json_object_set_new(e, "path", json_string(b->errors->v[i]));
        json_object_set_new(e, "error", json_string(b->errors->v[i + 1]));
        json_array_append_new(fl, e);
    }
    json_object_set_new(o, "failed_studies", fl);
    int rc = json_dumpf(o, f, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    json_decref(o);
    return rc;
}

/* summary.csv: one row per segment of every study that succeeded */
static int put_summary(FILE *f, const void *ctx)
{
    const batch_summary *b = ctx;
    fputs("study,nerve,segment,distance_mm,cv_m_s,amp_drop_pct,area_drop_pct,"
          "dur_increase_pct,entrapment_site,block,findings\n", f);
    for (size_t i = 0; i < b->ids->n; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s", b->dirs->v[i]);
        json_error_t je;
        json_t *r = json_load_file(path, 0, &je);
        if (!r)
            continue;
        size_t ni;
        json_t *n;
        json_array_foreach(json_object_get(r, "nerves"), ni, n) {
            size_t gi;
            json_t *g;
            json_array_foreach(json_object_get(n, "segments"), gi, g) {
                fprintf(f, "%s,%s,%s-%s", b->ids->v[i],
                        json_string_value(json_object_get(n, "id")),
                        json_string_value(json_object_get(g, "from")),
                        json_string_value(json_object_get(g, "to")));
                static const char *const keys[] = {"distance_mm", "cv_m_s",
                    "amp_drop_pct", "area_drop_pct", "dur_increase_pct"};
                for (int k = 0; k < 5; k++) {
                    json_t *v = json_object_get(g, keys[k]);
                    if (json_is_number(v))
                        fprintf(f, ",%.1f", json_number_value(v));
                    else
                        fputs(",", f);
                }
                const char *blk = json_string_value(json_object_get(g, "block"));
                fprintf(f, ",%s,%s,", json_is_true(json_object_get(g, "entrapment_site"))
                        ? "yes" : "no", blk ? blk : "");
                size_t fi;
                json_t *fd;
                json_array_foreach(json_object_get(g, "findings"), fi, fd)
                    fprintf(f, "%s%s:%s%s", fi ? ";" : "",
                            json_string_value(json_object_get(fd, "criteria")),
                            json_string_value(json_object_get(fd, "code")),
                            json_is_true(json_object_get(fd, "counts")) ? "" : "(not counted)");
                fputc('\n', f);
            }
        }
        json_decref(r);
    }
    return 0;
}

static int cmd_batch(const command *cmd, int argc, char **argv, options *o)
{
    int rc0;
    int first = one_operand(cmd, argc, argv, o, "root folder", "", &rc0);
    if (first < 0)
        return rc0;
    if (!o->out)
        return usage_error(cmd->name, "batch: no output folder given (-o OUT)%s", "");
    if ((rc0 = check_norms_option(o)) != 0)
        return rc0;
    const char *root = argv[first];
    struct stat sb;
    if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        diag(root, "error", "not a folder");
        return EXIT_INPUT;
    }
    strvec studies = {0};
    found_studies = &studies;
    if (nftw(root, collect, 32, FTW_PHYS) != 0) {
        diag(root, "error", "cannot walk the folder");
        strvec_free(&studies);
        return EXIT_INPUT;
    }
    qsort(studies.v, studies.n, sizeof *studies.v, cmp_str);
    if (mkdir_p(o->out) != 0) {
        diag(o->out, "error", strerror(errno));
        strvec_free(&studies);
        return EXIT_OUTPUT;
    }
    ncs_error err;
    ncs_analyser *an = ncs_analyser_create(&err);
    if (!an) {
        strvec_free(&studies);
        return EXIT_OUTPUT;
    }
    strvec ids = {0}, dirs = {0}, errors = {0};
    batch_summary b = {.ids = &ids, .dirs = &dirs, .errors = &errors, .root = root};
    for (size_t i = 0; i < studies.n; i++) {
        ncs_error e;
        ncs_error_clear(&e);
        char *id = NULL;
        /* the output folder is named by the study's id: load it first */
        ncs_study *st = ncs_study_load(studies.v[i], NULL, &e);
        char out_dir[4096];
        int rc;
        if (!st) {
            print_error(&e);
            rc = EXIT_INPUT;
        } else {
            snprintf(out_dir, sizeof out_dir, "%s/%s", o->out, st->id);
            ncs_study_destroy(st);
            rc = analyse_one(an, studies.v[i], o, out_dir, 0, &e, &id);
        }
        if (rc == EXIT_OUTPUT && e.code == NCS_ERR_REPORT && o->report >= 0
            && strstr(e.message, "not found")) {
            /* no gnuplot: the analyses go on, the reports are skipped */
            o->no_gnuplot = 1;
            rc = EXIT_OK;
        }
        if (rc == EXIT_OK) {
            char rp[4200];
            snprintf(rp, sizeof rp, "%s/results.json", out_dir);
            strvec_push(&ids, id);
            strvec_push(&dirs, rp);
            b.ok++;
        } else {
            char msg[2200];
            snprintf(msg, sizeof msg, "%s: %s", e.where, e.message);
            strvec_push(&errors, studies.v[i]);
            strvec_push(&errors, msg);
        }
        free(id);
    }
    ncs_analyser_destroy(an);
    int rc = write_atomic(o->out, "summary.csv", put_summary, &b);
    if (rc == EXIT_OK)
        rc = write_atomic(o->out, "batch.json", put_batch_json, &b);
    if (!o->quiet)
        fprintf(stderr, "ncs: batch: %zu studies, %zu analysed, %zu failed\n", studies.n,
                b.ok, errors.n / 2);
    size_t failed = errors.n / 2;
    if (o->no_gnuplot && rc == EXIT_OK)
        rc = EXIT_OUTPUT;
    strvec_free(&studies);
    strvec_free(&ids);
    strvec_free(&dirs);
    strvec_free(&errors);
    if (rc != EXIT_OK)
        return rc;
    return failed ? EXIT_BATCH_FAILED : EXIT_OK;
}

/* ---- help, version ------------------------------------------------------- */

static const char exit_help[] =
    "Exit status:\n"
    "  0  success\n"
    "  1  batch finished but at least one study failed\n"
    "  2  usage error\n"
    "  3  invalid input (study.ini or a waveform)\n"
    "  4  an output could not be written or a report could not be made\n";

static void print_overview(FILE *f)
{
    fprintf(f, "usage: ncs COMMAND [options] ...\n\n"
               "Nerve-conduction-study analyser: CMAP latency, amplitude, area and\n"
               "duration per site, conduction velocity and conduction block per segment.\n\n"
               "Commands:\n");
    for (const command *c = commands; c->name; c++)
        fprintf(f, "  %-8s %-20s %s\n", c->name, c->args, c->summary);
    fprintf(f, "\nOptions for every command:\n"
               "  -q, --quiet   no warnings on stderr\n"
               "  -h, --help    this help (or: ncs help COMMAND)\n"
               "  --version     versions of ncs, libsndfile and FFTW\n\n%s"
               "\nSee SPEC-compatible study folders in samples/ and the ncs(1) man page.\n",
            exit_help);
}

static int cmd_help(const command *cmd, int argc, char **argv, options *o)
{
    (void)cmd;
    (void)o;
    if (argc < 2) {
        print_overview(stdout);
        return EXIT_OK;
    }
    for (const command *c = commands; c->name; c++)
        if (strcmp(c->name, argv[1]) == 0) {
            printf("usage: ncs %s %s\n\n%s\n\n%s\n%s", c->name, c->args, c->summary,
                   c->help, exit_help);
            return EXIT_OK;
        }
    return usage_error(NULL, "help: unknown command '%s'", argv[1]);
}

static void print_version(void)
{
    printf("ncs %s\n%s\nfftw %s\n", ncs_version(), ncs_sndfile_version(),
           ncs_fftw_version());
}

#define CRITERIA_HELP                                                                \
    "  --criteria NAME  the criteria set that fills `block`: efns2010-mmn (default)\n"  \
    "                   or ean2021-cidp; `all` evaluates both into the findings\n"    \
    "                   and keeps efns2010-mmn primary\n"                             \
    "  --norms FILE     a lab's normative table (INI, one [nerve] section with\n"      \
    "                   muscle, amp_lln_mv, dml_uln_ms, cv_lln_m_s), read over the\n"  \
    "                   built-in table and the study's own `norms =`\n"

#define REPORT_HELP                                                                  \
    "  --report[=FMT]   also draw the report (pdf, the default, png or svg) into the\n"   \
    "                   output folder as report.<FMT>; needs gnuplot\n"                 \
    "  --gnuplot PATH   the gnuplot to run (default: $NCS_GNUPLOT, else gnuplot on PATH)\n"

static const command commands[] = {
    {"analyse", cmd_analyse, "[options] STUDY",
     "Measure every trace and segment of one study; a table per nerve on stdout.",
     "Options:\n"
     "  --json           results.json on stdout instead of the table\n"
     "  -o, --out DIR    also write DIR/results.json and DIR/results.csv\n"
     CRITERIA_HELP
     REPORT_HELP
     "  -q, --quiet      no warnings\n", "--out --json --criteria --norms --report --gnuplot"},
    {"batch", cmd_batch, "[options] ROOT -o OUT",
     "Analyse every study folder under ROOT (every folder holding a study.ini).",
     "Writes OUT/<study-id>/results.json and results.csv per study, OUT/summary.csv\n"
     "(one row per segment) and OUT/batch.json (counts, failed studies and why).\n"
     "A study that fails is recorded and the batch goes on; exit 1 at the end.\n"
     "Options:\n"
     "  -o, --out OUT    output folder (required)\n"
     CRITERIA_HELP
     REPORT_HELP
     "  -q, --quiet      no warnings\n", "--out --criteria --norms --report --gnuplot"},
    {"check", cmd_check, "STUDY...",
     "Validate study.ini and decode every waveform; no analysis.",
     "Prints one line per trace: site, file, format, sample rate, sweep length,\n"
     "samples and the range in mV. Stops at the first invalid study with exit 3\n"
     "and a message naming the file, line or trace and what is wrong.\n", ""},
    {"report", cmd_report, "[options] STUDY -o FILE",
     "Draw the study's report for clinicians: a summary page and a page per nerve.",
     "The format follows FILE's extension: .pdf (one file, a page per nerve), .png or\n"
     ".svg (the summary in FILE, each nerve in FILE-<nerve>.<ext>). Traces are drawn\n"
     "negative up, distal to proximal, one gain per nerve, with the onset, negative\n"
     "peak and end marked, the negative-phase area shaded, scale bars, the segment\n"
     "table and the conduction blocks marked. gnuplot is run once per study.\n"
     "Options:\n"
     "  -o, --out FILE   the report file (required)\n"
     CRITERIA_HELP
     "  --gnuplot PATH   the gnuplot to run (default: $NCS_GNUPLOT, else gnuplot on PATH)\n"
     "  -q, --quiet      no warnings\n", "--out --criteria --norms --gnuplot"},
    {"norms", cmd_norms, "[--norms FILE]", "Print the normative table in force.",
     "The built-in table (SPEC 4.2: Preston & Shapiro, adults), or with --norms FILE\n"
     "that table with the nerves FILE names replaced.\n"
     "Options:\n"
     "  --norms FILE     a lab's normative table (see ncs help analyse)\n", "--norms"},
    {"help", cmd_help, "[COMMAND]", "Show help for ncs or one command.", "", ""},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

int main(int argc, char **argv)
{
    /* Numbers are written in the C locale whatever the environment says:
     * setlocale() is deliberately never called. */
    if (argc < 2)
        return usage_error(NULL, "no command given%s", "");
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
        print_overview(stdout);
        return fclose(stdout) == 0 ? EXIT_OK : EXIT_OUTPUT;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        print_version();
        return fclose(stdout) == 0 ? EXIT_OK : EXIT_OUTPUT;
    }
    const command *cmd = NULL;
    for (const command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            cmd = c;
    if (!cmd) {
        if (name[0] == '-')
            return usage_error(NULL, "unknown option '%s' (options follow the command)",
                               name);
        return usage_error(NULL, "unknown command '%s'", name);
    }
    options o = {0};
    o.report = -1;
    int rc = cmd->run(cmd, argc - 1, argv + 1, &o);
    if (fclose(stdout) != 0 && rc == EXIT_OK) {
        fprintf(stderr, "ncs: error: writing to standard output: %s\n", strerror(errno));
        rc = EXIT_OUTPUT;
    }
    return rc;
}
