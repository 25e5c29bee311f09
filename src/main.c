/* main.c — the `ncs` command: arguments in, library calls, exit codes out.
 * Results go to stdout, diagnostics to stderr as
 * "ncs: <where>: error|warning: <message>" (SPEC 6). */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
} options;

typedef struct command {
    const char *name;
    int (*run)(const struct command *cmd, int argc, char **argv, options *o);
    const char *args;
    const char *summary;
    const char *help; /* the rest of `ncs help NAME` */
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
        return EXIT_OUTPUT;
    default:
        return EXIT_INPUT;
    }
}

/* ---- option parsing ------------------------------------------------------ */

enum { OPT_HELP = 'h', OPT_QUIET = 'q' };

static const struct option long_opts[] = {
    {"help", no_argument, NULL, OPT_HELP},
    {"quiet", no_argument, NULL, OPT_QUIET},
    {NULL, 0, NULL, 0},
};

/* Parses the options of one subcommand; returns the index of the first
 * operand, or -1 after a usage error was printed. */
static int parse_options(const command *cmd, int argc, char **argv, options *o)
{
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "+hq", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_HELP:
            o->help = 1;
            break;
        case OPT_QUIET:
            o->quiet = 1;
            break;
        default:
            if (optopt)
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

static const command commands[] = {
    {"check", cmd_check, "STUDY...",
     "Validate study.ini and decode every waveform; no analysis.",
     "Prints one line per trace: site, file, format, sample rate, sweep length,\n"
     "samples and the range in mV. Stops at the first invalid study with exit 3\n"
     "and a message naming the file, line or trace and what is wrong.\n"},
    {"help", cmd_help, "[COMMAND]", "Show help for ncs or one command.", ""},
    {NULL, NULL, NULL, NULL, NULL},
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
    int rc = cmd->run(cmd, argc - 1, argv + 1, &o);
    if (fclose(stdout) != 0 && rc == EXIT_OK) {
        fprintf(stderr, "ncs: error: writing to standard output: %s\n", strerror(errno));
        rc = EXIT_OUTPUT;
    }
    return rc;
}
