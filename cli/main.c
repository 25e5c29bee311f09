/* main.c — the `ncs` command: arguments in, library calls, exit codes out.
 * Results go to stdout, diagnostics to stderr as
 * "ncs: <where>: error|warning: <message>" (docs/outputs.md). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "ncs.h"

#include "cli.h"

static const command commands[];



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
    OPT_GNUPLOT_TIMEOUT,
    OPT_PAPER,
    OPT_JOBS = 'j',
    OPT_RESUME = 300,
    OPT_SHARD,
    OPT_PROGRESS,
    OPT_NO_PROGRESS,
    OPT_MERGE,
    OPT_COMPARE,
    OPT_STDOUT,
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
    {"gnuplot-timeout", required_argument, NULL, OPT_GNUPLOT_TIMEOUT},
    {"paper", required_argument, NULL, OPT_PAPER},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"resume", no_argument, NULL, OPT_RESUME},
    {"shard", required_argument, NULL, OPT_SHARD},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"merge", no_argument, NULL, OPT_MERGE},
    {"compare", no_argument, NULL, OPT_COMPARE},
    {"stdout", no_argument, NULL, OPT_STDOUT},
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

/* --criteria NAME: one set as primary, or `all`. */
static int criteria_option(const command *cmd, const char *arg, options *o)
{
    int k = ncs_criteria_lookup(arg);
    if (strcmp(arg, "all") == 0) {
        o->analysis.all_criteria = 1;
        o->analysis.primary = NCS_CRIT_EFNS2010_MMN;
    } else if (k >= 0) {
        o->analysis.primary = (ncs_criteria_id)k;
    } else {
        fprintf(stderr, "ncs %s: unknown criteria '%s' (choose ", cmd->name, arg);
        for (int i = 0; i < NCS_CRIT__COUNT; i++)
            fprintf(stderr, "%s, ", ncs_criteria_name((ncs_criteria_id)i));
        fprintf(stderr, "or all)\nTry 'ncs help %s' for more information.\n", cmd->name);
        return -1;
    }
    return 0;
}

/* gnuplot's time limit from --gnuplot-timeout (arg) or, when a report is
 * to be made and the option was not given, from NCS_GNUPLOT_TIMEOUT (arg
 * NULL): a number of seconds above 0. Returns 0, or -1 after a usage
 * error. */
static int gnuplot_timeout_option(const command *cmd, const char *arg, options *o)
{
    const char *text = arg ? arg : getenv("NCS_GNUPLOT_TIMEOUT");
    if (!arg && (!text || !*text))
        return 0;
    double s = ncs_report_timeout_of(text);
    if (isnan(s)) {
        fprintf(stderr, "ncs %s: %s%s: give gnuplot's time limit in seconds, a number above 0\n"
                        "Try 'ncs help %s' for more information.\n",
                cmd->name, arg ? "--gnuplot-timeout " : "NCS_GNUPLOT_TIMEOUT=", text, cmd->name);
        return -1;
    }
    o->analysis.gnuplot_timeout_s = s;
    return 0;
}

/* What getopt_long refused (c is '?' or ':'), said as a person would; -1. */
static int option_error(const command *cmd, int c, const char *arg)
{
    if (c == ':' || optopt == 'o' || optopt == 'j' || optopt == OPT_CRITERIA
        || optopt == OPT_NORMS || optopt == OPT_OUT || optopt == OPT_GNUPLOT
        || optopt == OPT_GNUPLOT_TIMEOUT || optopt == OPT_PAPER || optopt == OPT_SHARD)
        fprintf(stderr, "ncs %s: option '%s' needs a value\n", cmd->name, arg);
    else if (strncmp(arg, "--", 2) == 0 && strchr(arg, '='))
        fprintf(stderr, "ncs %s: option '%s' takes no value\n", cmd->name, arg);
    else if (optopt > 0 && optopt < 256)
        fprintf(stderr, "ncs %s: unknown option '-%c'\n", cmd->name, optopt);
    else
        fprintf(stderr, "ncs %s: unknown option '%s'\n", cmd->name, arg);
    fprintf(stderr, "Try 'ncs help %s' for more information.\n", cmd->name);
    return -1;
}

/* --report[=pdf|png|svg]: a format's word, not a file name (that is -o's). */
static int report_option(const command *cmd, const char *arg, options *o)
{
    o->report = arg ? ncs_report_format_of(arg) : NCS_REPORT_PDF;
    if (o->report >= 0 && !(arg && strchr(arg, '.')))
        return 0;
    fprintf(stderr, "ncs %s: --report=%s: choose pdf, png or svg\n"
                    "Try 'ncs help %s' for more information.\n", cmd->name, arg, cmd->name);
    return -1;
}

/* --paper a4|letter */
static int paper_option(const command *cmd, const char *arg, options *o)
{
    o->analysis.report_paper = ncs_report_paper_of(arg);
    if (o->analysis.report_paper >= 0)
        return 0;
    fprintf(stderr, "ncs %s: --paper %s: choose a4 or letter\n"
                    "Try 'ncs help %s' for more information.\n", cmd->name, arg, cmd->name);
    return -1;
}

/* Parses the options of one subcommand; returns the index of the first
 * operand, or -1 after a usage error was printed. */
int parse_options(const command *cmd, int argc, char **argv, options *o)
{
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "hqo:j:", long_opts, NULL)) != -1) {
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
        case OPT_CRITERIA:
            if (!accepts(cmd, "--criteria"))
                return not_here(cmd, "--criteria");
            if (criteria_option(cmd, optarg, o) != 0)
                return -1;
            break;
        case OPT_NORMS:
            if (!accepts(cmd, "--norms"))
                return not_here(cmd, "--norms");
            o->analysis.norms_path = optarg;
            break;
        case OPT_REPORT:
            if (!accepts(cmd, "--report"))
                return not_here(cmd, "--report");
            if (report_option(cmd, optarg, o) != 0)
                return -1;
            break;
        case OPT_GNUPLOT:
            if (!accepts(cmd, "--gnuplot"))
                return not_here(cmd, "--gnuplot");
            o->gnuplot = optarg;
            break;
        case OPT_GNUPLOT_TIMEOUT:
            if (!accepts(cmd, "--gnuplot-timeout"))
                return not_here(cmd, "--gnuplot-timeout");
            if (gnuplot_timeout_option(cmd, optarg, o) != 0)
                return -1;
            break;
        case OPT_PAPER:
            if (!accepts(cmd, "--paper"))
                return not_here(cmd, "--paper");
            if (paper_option(cmd, optarg, o) != 0)
                return -1;
            break;
        case OPT_JOBS: {
            if (!accepts(cmd, "--jobs"))
                return not_here(cmd, "-j/--jobs");
            char *end;
            long j = strtol(optarg, &end, 10);
            if (end == optarg || *end || j < 1 || j > 4096) {
                fprintf(stderr, "ncs %s: -j %s: give a number of jobs from 1 to 4096\n"
                                "Try 'ncs help %s' for more information.\n",
                        cmd->name, optarg, cmd->name);
                return -1;
            }
            o->jobs = (int)j;
            break;
        }
        case OPT_RESUME:
            if (!accepts(cmd, "--resume"))
                return not_here(cmd, "--resume");
            o->resume = 1;
            break;
        case OPT_SHARD:
            if (!accepts(cmd, "--shard"))
                return not_here(cmd, "--shard");
            if (batch_shard_option(o, optarg)) {
                fprintf(stderr, "ncs %s: --shard %s: give I/N with 0 <= I < N (e.g. 0/4)\n"
                                "Try 'ncs help %s' for more information.\n",
                        cmd->name, optarg, cmd->name);
                return -1;
            }
            break;
        case OPT_PROGRESS:
        case OPT_NO_PROGRESS:
            if (!accepts(cmd, "--progress"))
                return not_here(cmd, c == OPT_PROGRESS ? "--progress" : "--no-progress");
            o->progress = c == OPT_PROGRESS;
            break;
        case OPT_MERGE:
        case OPT_COMPARE:
            if (!accepts(cmd, c == OPT_MERGE ? "--merge" : "--compare"))
                return not_here(cmd, c == OPT_MERGE ? "--merge" : "--compare");
            *(c == OPT_MERGE ? &o->merge : &o->compare) = 1;
            break;
        case OPT_STDOUT:
            if (!accepts(cmd, "--stdout"))
                return not_here(cmd, "--stdout");
            o->to_stdout = 1;
            break;
        case OPT_HELP:
            o->help = 1;
            break;
        case OPT_QUIET:
            o->quiet = 1;
            break;
        default:
            return option_error(cmd, c, argv[optind - 1]);
        }
    }
    /* the environment's limit, checked only when a report is to be made */
    if (!o->help && o->analysis.gnuplot_timeout_s == 0 && accepts(cmd, "--gnuplot-timeout")
        && (o->report >= 0 || !accepts(cmd, "--report"))
        && gnuplot_timeout_option(cmd, NULL, o) != 0)
        return -1;
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

/* One decoded trace's line of `ncs check`. */
typedef struct {
    const char *nerve, *site, *file;
    char fmt[64];
    double fs_hz, lo, hi;
    size_t n;
    int excluded, clipped;
} check_row;

static int imax(int a, int b)
{
    return a > b ? a : b;
}

/* The columns UTF-8 text takes on a terminal: its characters (every byte
 * but a continuation byte; a wide character counted once). */
static int text_cols(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

/* s, then spaces to width columns, then sep. */
static void put_padded(const char *s, int width, const char *sep)
{
    fputs(s, stdout);
    printf("%*s%s", imax(0, width - text_cols(s)), "", sep);
}

/* Validates one study and decodes every waveform. Returns the exit code. */
static int check_one(const char *dir, const options *o)
{
    ncs_error err;
    ncs_warnings warn = {0};
    ncs_study *st = ncs_study_load(dir, &warn, &err);
    if (!st) {
        print_failure(&err, &warn, o);
        ncs_warnings_free(&warn);
        return exit_for(err.code);
    }
    ncs_study_plausibility(st, &warn);
    size_t traces = 0;
    for (size_t i = 0; i < st->n_nerves; i++)
        traces += st->nerves[i].n_sites;
    printf("%s (%s): %zu nerve%s, %zu trace%s\n", st->id, st->dir, st->n_nerves,
           st->n_nerves == 1 ? "" : "s", traces, traces == 1 ? "" : "s");
    /* every trace, so that every waveform error is said in one run (the
     * first one's exit status); the table after, its columns as wide as
     * their longest entry */
    check_row *rows = calloc(traces ? traces : 1, sizeof *rows);
    if (!rows) {
        ncs_warnings_free(&warn);
        ncs_study_destroy(st);
        fprintf(stderr, "ncs: out of memory\n");
        return EXIT_OUTPUT;
    }
    size_t n_rows = 0;
    int w_site = 4, w_file = 4, w_fmt = 6;
    int rc = EXIT_OK;
    for (size_t i = 0; i < st->n_nerves; i++) {
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
                if (rc == EXIT_OK)
                    rc = exit_for(err.code);
                continue;
            }
            check_row *r = &rows[n_rows++];
            r->nerve = n->id;
            r->site = s->name;
            snprintf(r->fmt, sizeof r->fmt, "%s", w.format_name);
            r->file = s->file;
            r->fs_hz = w.fs_hz;
            r->n = w.n;
            r->excluded = s->exclude;
            r->clipped = w.clipped_n > 0;
            print_range(&w, &r->lo, &r->hi);
            w_site = imax(w_site, text_cols(r->nerve) + 1 + text_cols(r->site));
            w_file = imax(w_file, text_cols(r->file));
            w_fmt = imax(w_fmt, text_cols(r->fmt));
            ncs_wave_free(&w);
        }
    }
    for (size_t k = 0; k < n_rows; k++) {
        const check_row *r = &rows[k];
        printf("  %s.", r->nerve);
        put_padded(r->site, w_site - text_cols(r->nerve) - 1, "  ");
        put_padded(r->file, w_file, "  ");
        put_padded(r->fmt, w_fmt, " ");
        printf("%7.0f Hz %8.1f ms %8zu samples %9.3f .. %8.3f mV%s%s\n", r->fs_hz,
               1000.0 * (double)r->n / r->fs_hz, r->n, r->lo, r->hi,
               r->excluded ? "  (excluded)" : "", r->clipped ? "  (clipped samples)" : "");
    }
    free(rows);
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
    if (o->help)
        return print_command_help(cmd);
    if (first >= argc)
        return usage_error(cmd->name, "check: no study folder given%s", "");
    for (int i = first; i < argc; i++) {
        int rc = check_one(argv[i], o);
        if (rc != EXIT_OK)
            return rc;
    }
    return EXIT_OK;
}

static const char exit_help[] =
    "Exit status:\n"
    "  0  success\n"
    "  1  batch finished but at least one study failed\n"
    "  2  usage error\n"
    "  3  invalid input (study.ini or a waveform)\n"
    "  4  an output could not be written or a report could not be made\n";

int print_command_help(const command *h)
{
    printf("usage: ncs %s %s\n\n%s\n\n%s\n%s", h->name, h->args, h->summary, h->help,
           exit_help);
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
int check_norms_option(const options *o)
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

/* The pages an earlier report of this name left that this one did not
 * write ("<base>-<nerve>.<side>.<ext>": a study of other nerves, another
 * patient's), removed so that none is read as this study's; only regular
 * files of that form, never an input of the study. */
static void remove_stale_pages(const char *out, const ncs_results *r, const ncs_study *st,
                               const options *o)
{
    const char *slash = strrchr(out, '/'), *name = slash ? slash + 1 : out;
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return;
    char dir[PATH_MAX];
    fmt(dir, sizeof dir, "%.*s", slash ? (slash == out ? 1 : (int)(slash - out)) : 1,
        slash ? out : ".");
    DIR *d = opendir(dir);
    if (!d)
        return;
    size_t bl = (size_t)(dot - name), el = strlen(dot);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name, *mid = n + bl + 1;
        size_t nl = strlen(n);
        if (nl <= bl + 1 + el || strncmp(n, name, bl) != 0 || n[bl] != '-'
            || strcmp(n + nl - el, dot) != 0)
            continue;
        size_t ml = nl - bl - 1 - el, dots = 0, ok = ml > 2;
        for (size_t i = 0; i < ml && ok; i++) {
            dots += mid[i] == '.';
            ok = isalnum((unsigned char)mid[i]) || strchr(".-_", mid[i]);
        }
        for (size_t i = 0; i < r->n_nerves && ok; i++)
            ok = !(strlen(r->nerves[i].def->id) == ml && !strncmp(mid, r->nerves[i].def->id, ml));
        struct stat sb;
        if (ok && dots == 1 && fstatat(dirfd(d), n, &sb, AT_SYMLINK_NOFOLLOW) == 0
            && S_ISREG(sb.st_mode) && !input_named(&sb, st, o->analysis.norms_path))
            unlinkat(dirfd(d), n, 0);
    }
    closedir(d);
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
    if (!st) {
        print_failure(&err, &warn, o);
        ncs_warnings_free(&warn);
        return exit_for(err.code);
    }
    print_warnings(&warn, o);
    ncs_warnings_free(&warn);
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
    } else if (fmt != NCS_REPORT_PDF) {
        remove_stale_pages(o->out, r, st, o);
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
    if (o->out && !*o->out)
        return usage_error(cmd->name, "%s-o: the output folder is an empty name", "");
    if (o->out && (rc = outdir_check_early(o->out)) != EXIT_OK)
        return rc;
    ncs_error err;
    ncs_analyser *an = ncs_analyser_create(&err);
    if (!an) {
        print_error(&err);
        return EXIT_OUTPUT;
    }
    outdir od;
    outdir_later(&od, NULL, o->out ? o->out : "");
    rc = analyse_one(an, argv[first], o, o->out ? &od : NULL, 1, NULL);
    outdir_close(&od);
    ncs_analyser_destroy(an);
    return rc;
}

/* ---- batch --------------------------------------------------------------- */

int cmd_batch(const command *cmd, int argc, char **argv, options *o)
{
    int first = parse_options(cmd, argc, argv, o);
    if (first < 0)
        return EXIT_USAGE;
    if (o->help)
        return print_command_help(cmd);
    if (first >= argc)
        return usage_error(cmd->name, o->merge ? "batch --merge: no batch outputs given%s"
                                               : "batch: no root folder given%s", "");
    if (!o->merge && argc - first > 1)
        return usage_error(cmd->name, "batch: one root folder at a time ('%s' is extra)",
                           argv[first + 1]);
    if (!o->out)
        return usage_error(cmd->name, "batch: no output folder given (-o OUT)%s", "");
    if (o->merge && (o->resume || o->shard_n || o->report >= 0 || o->compare))
        return usage_error(cmd->name, "batch --merge: --resume, --shard, --report and "
                                      "--compare do not apply to a merge%s", "");
    if (o->compare && (o->resume || o->shard_n))
        return usage_error(cmd->name, "batch --compare: --resume and --shard do not apply%s",
                           "");
    int rc = check_norms_option(o);
    if (rc != 0)
        return rc;
    if (o->report >= 0) {
        ncs_error err;
        if (!ncs_report_gnuplot_found(o->gnuplot, &err)) {
            /* the analyses go on; the reports are skipped and the batch
             * ends with exit 4 */
            print_error(&err);
            o->no_gnuplot = 1;
        }
    }
    return o->compare ? run_batch_compare(argv[first], o) : run_batch(argc, argv, first, o);
}

/* ---- help, version ------------------------------------------------------- */


enum { HELP_COL = 32 };

/* text from column col (where the cursor stands) to at most width columns,
 * the lines it takes after the first indented to col; words are never cut */
static void print_wrapped(FILE *f, const char *text, int col, int width)
{
    int at = col;
    while (*text) {
        size_t w = strcspn(text, " ");
        if (at > col && at + 1 + (int)w > width) {
            fprintf(f, "\n%*s", col, "");
            at = col;
        } else if (at > col) {
            fputc(' ', f);
            at++;
        }
        fwrite(text, 1, w, f);
        at += (int)w;
        text += w;
        text += strspn(text, " ");
    }
    fputc('\n', f);
}

static void print_overview(FILE *f)
{
    fprintf(f, "usage: ncs COMMAND [options] ...\n\n"
               "Nerve-conduction-study analyser: CMAP latency, amplitude, area and\n"
               "duration per site, conduction velocity and conduction block per segment.\n\n"
               "Commands:\n");
    for (const command *c = commands; c->name; c++) {
        /* the summary in a column of its own, wrapped to 79 columns; after a
         * usage too long for its column, on the next line */
        int col = fprintf(f, "  %-8s %s", c->name, c->args);
        if (col > HELP_COL - 1) {
            fputc('\n', f);
            col = 0;
        }
        fprintf(f, "%*s", HELP_COL - col, "");
        print_wrapped(f, c->summary, HELP_COL, 79);
    }
    fprintf(f, "\nOptions for every command:\n"
               "  -q, --quiet   no warnings on stderr\n"
               "  -h, --help    this help (or: ncs help COMMAND)\n"
               "  --version     versions of ncs, libsndfile and FFTW\n\n%s"
               "\nThe study folder, the measurements, the criteria and every output are\n"
               "described in the ncs documentation (docs/ in the source tree, share/doc/ncs/\n"
               "once installed) and in the ncs(1) man page; example studies are in samples/.\n",
            exit_help);
}

static int cmd_help(const command *cmd, int argc, char **argv, options *o)
{
    (void)cmd;
    (void)o;
    /* (`ncs help --help` is help on help: the overview) */
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        print_overview(stdout);
        return EXIT_OK;
    }
    for (const command *c = commands; c->name; c++)
        if (strcmp(c->name, argv[1]) == 0) {
            return print_command_help(c);
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
    GNUPLOT_HELP                                                                     \
    GNUPLOT_TIMEOUT_HELP

#define GNUPLOT_HELP                                                                  \
    "  --gnuplot PATH   the gnuplot to run (default: $NCS_GNUPLOT, else the\n"          \
    "                   gnuplot on PATH)\n"

#define GNUPLOT_TIMEOUT_HELP                                                              \
    "  --gnuplot-timeout SECONDS\n"                                                       \
    "                   gnuplot's time limit (default: $NCS_GNUPLOT_TIMEOUT, else\n"     \
    "                   30); past it gnuplot is stopped and the report fails\n"         \
    "                   (exit 4)\n"                                                      \
    "  --paper a4|letter  the report's paper (default a4)\n"

static const command commands[] = {
    {"analyse", cmd_analyse, "[options] STUDY",
     "Measure every trace and segment of one study; a table per nerve on stdout.",
     "Options:\n"
     "  --json           results.json on stdout instead of the table\n"
     "  -o, --out DIR    also write DIR/results.json and DIR/results.csv\n"
     CRITERIA_HELP
     REPORT_HELP
     "  -q, --quiet      no warnings\n",
     "--out --json --criteria --norms --report --gnuplot --gnuplot-timeout --paper"},
    {"batch", cmd_batch, "[options] ROOT -o OUT | --merge OUT... -o OUT",
     "Analyse every study folder under ROOT (every folder holding a study.ini).",
     "Writes OUT/<study-id>/results.json and results.csv per study, OUT/summary.csv\n"
     "(one row per segment) and OUT/batch.json (counts, failed studies and why).\n"
     "A study that fails is recorded and the batch goes on; exit 1 at the end.\n"
     "Every file is written under a temporary name and renamed into place, so an\n"
     "interrupted batch leaves whole files only and --resume completes it.\n\n"
     "Options:\n"
     "  -o, --out OUT    output folder (required)\n"
     "  -j, --jobs N     studies analysed at once (default: the online CPUs)\n"
     "  --resume         skip studies whose outputs are newer than every input\n"
     "                   and were made with the same criteria, norms and report\n"
     "  --shard I/N      only the studies at positions I, I+N, I+2N ... of the\n"
     "                   sorted list (run the N shards apart, then --merge)\n"
     "  --merge          the operands are shard outputs: write OUT/summary.csv and\n"
     "                   OUT/batch.json as one run over all of them would\n"
     "  --compare        instead of analysing each study: group the studies under\n"
     "                   ROOT by their patient and compare each patient's visits\n"
     "                   (ncs compare) into OUT/<patient>/compare.json, compare.csv\n"
     "                   (and compare.<fmt> with --report); a line per patient on\n"
     "                   stdout\n"
     "  --progress, --no-progress\n"
     "                   a progress line on stderr (default: when it is a terminal)\n"
     CRITERIA_HELP
     REPORT_HELP
     "  -q, --quiet      no warnings\n",
     "--out --criteria --norms --report --gnuplot --gnuplot-timeout --paper --jobs --resume "
     "--shard --progress --merge --compare"},
    {"compare", cmd_compare, "[options] STUDY...",
     "Compare one patient's visits: each measure's change and trend, per nerve.",
     "The studies must name the same `patient` and each a `date` (all different);\n"
     "they are put in date order whatever the order given. Nerves are matched by id\n"
     "(median.right), segments and spans by their two sites' names: a nerve or a\n"
     "segment recorded at one visit only is shown as such, never compared with\n"
     "other sites. For each: the distal amplitude and area, and per segment and\n"
     "span the area and amplitude drops, the duration increase, the CV and the\n"
     "block at every visit, with the change from the previous visit and from the\n"
     "first. A change counts only beyond the two values' combined 95 % half-widths\n"
     "(the square root of the sum of their squares); inside it is `stable`.\n"
     "A segment's trend (improving, stable, worsening) follows its area drop from\n"
     "its first visit to its last (the amplitude drop where the area's is missing);\n"
     "a nerve's follows its distal amplitude (axonal loss) and its segments' blocks:\n"
     "worsening when either worsens, improving when one improves and neither\n"
     "worsens. Each trend says why, in numbers (area drop 80 → 58 → 31 %).\n"
     "With --report, DIR/compare.pdf: a summary page (the visits, each nerve's trend\n"
     "and why) and a page per nerve (the distal amplitude and each segment's area\n"
     "drop over the visits with their 95 % intervals and the block category at each\n"
     "visit, and the distal traces of every visit overlaid at one gain).\n\n"
     "Options:\n"
     "  --json           compare.json on stdout instead of the table\n"
     "  -o, --out DIR    also write DIR/compare.json and DIR/compare.csv\n"
     CRITERIA_HELP
     "  --report[=FMT]   also draw the follow-up report (pdf, the default, png or\n"
     "                   svg) into the output folder as compare.<FMT> (png, svg: a\n"
     "                   file per page, compare-<nerve>.<FMT>); needs gnuplot\n"
     GNUPLOT_HELP
     GNUPLOT_TIMEOUT_HELP
     "  -q, --quiet      no warnings\n",
     "--out --json --criteria --norms --report --gnuplot --gnuplot-timeout --paper"},
    {"check", cmd_check, "STUDY...",
     "Validate study.ini and decode every waveform; no analysis.",
     "Prints one line per trace: site, file, format, sample rate, sweep length,\n"
     "samples and the range in mV; then warnings for distances that look like slips.\n"
     "Stops at the first invalid study with exit 3, after every error of its\n"
     "study.ini (up to 20), each naming the file, line and key and what is wrong,\n"
     "or after every one of its waveforms that cannot be read.\n", ""},
    {"report", cmd_report, "[options] STUDY -o FILE",
     "Draw the study's report for clinicians: a summary page and a page per nerve.",
     "The format follows FILE's extension: .pdf (one file, a page per nerve), .png or\n"
     ".svg (the summary in FILE, each nerve in FILE-<nerve>.<ext>). Traces are drawn\n"
     "negative up, distal to proximal, one gain per nerve, the recorded trace faint\n"
     "under the cleaned one, with the onset, negative peak and end marked (markers\n"
     "placed by hand drawn as such), the negative-phase area shaded, scale bars, the\n"
     "conduction blocks marked, close-ups of uncertain onsets and absent responses,\n"
     "and the sites' and segments' tables with normal values and 95 % intervals.\n"
     "Every page has a header (patient, study, date, temperature, page x of y); the\n"
     "summary ends with a box for the physician's impression. gnuplot is run once\n"
     "per study.\n\n"
     "Options:\n"
     "  -o, --out FILE   the report file (required)\n"
     CRITERIA_HELP
     GNUPLOT_HELP
     GNUPLOT_TIMEOUT_HELP
     "  -q, --quiet      no warnings\n",
     "--out --criteria --norms --gnuplot --gnuplot-timeout --paper"},
    {"norms", cmd_norms, "[--norms FILE]", "Print the normative table in force.",
     "The built-in table (Preston & Shapiro, adults; see docs/criteria.md), or with\n"
     "--norms FILE "
"that table with the nerves FILE names replaced.\n\n"
     "Options:\n"
     "  --norms FILE     a lab's normative table (see ncs help analyse)\n", "--norms"},
    {"init", cmd_init, "[options] FOLDER",
     "Write FOLDER/study.ini for the waveform files in FOLDER, from their names.",
     "Each file directly in FOLDER (WAV, FLAC, AIFF ... anything libsndfile reads,\n"
     "CSV, TXT, EDF) is decoded as ncs check decodes it, and its name read into\n"
     "nerve, side and site: median_r_wrist.wav, ulnar-left-below-elbow.csv,\n"
     "Median R Wrist.flac, peroneal_right_ankle.wav, ulnar_r_b-elbow.csv (b-elbow,\n"
     "a-elbow, fib-head, popl, erbs-point ... are read as the sites they stand for),\n"
     "median_r_wrist+20.wav (an inching site 20 mm proximal to the wrist). Sites are\n"
     "written in anatomical order, distal first. What the files do not say is written\n"
     "as a real value with a comment 'GUESS, confirm': distances (typical adult\n"
     "values), the recording muscle, scale_mv of integer samples, units of float and\n"
     "CSV files, stim_ms (where the stimulus artefact is seen). Files not read are\n"
     "listed in a comment block at the end, with why (and as warnings). Each record\n"
     "of an EDF+ file whose annotation names nerve, side and site (Median R Wrist) is\n"
     "a site, chosen by that annotation or its number. Confirm every GUESS, then run\n"
     "ncs check FOLDER. A study.ini already there is never replaced (exit 4); nothing\n"
     "else in FOLDER is touched: study.ini is written under a temporary name and\n"
     "linked into place whole. A folder with no waveform, or none whose name can be\n"
     "read, is refused (exit 3). Symbolic links leading out of FOLDER are not\n"
     "followed.\n\n"
     "Options:\n"
     "  -o, --out FILE   write FILE instead of FOLDER/study.ini (never replaced\n"
     "                   either; its file paths are relative to FOLDER)\n"
     "  --stdout         print the study.ini instead of writing it\n"
     "  -q, --quiet      no warnings (the files not read are still listed in the\n"
     "                   file)\n",
     "--out --stdout"},
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
        return finish_stdout();
    }
    if (!strcmp(name, "--version") || !strcmp(name, "-V")) {
        print_version();
        return finish_stdout();
    }
    const command *cmd = NULL;
    /* (the American spelling is the same command) */
    if (strcmp(name, "analyze") == 0)
        name = "analyse";
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
    o.progress = -1;
    int rc = cmd->run(cmd, argc - 1, argv + 1, &o);
    int orc = finish_stdout();
    return rc == EXIT_OK ? orc : rc;
}
