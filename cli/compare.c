/* compare.c — `ncs compare STUDY...`: one patient's visits analysed, put in
 * date order and compared (the library's ncs_compare); the table on stdout,
 * and with -o DIR compare.json and compare.csv written as every output is
 * (cli/common.c: temporary name, then rename; never over an input), and
 * with --report the follow-up report (the library's, run by gnuplot). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ncs.h"

#include "cli.h"

typedef struct {
    size_t n;
    ncs_study **st;
    ncs_results **r;
} visits;

static void visits_free(visits *v)
{
    for (size_t i = 0; i < v->n; i++) {
        ncs_results_destroy(v->r[i]);
        ncs_study_destroy(v->st[i]);
    }
    free(v->r);
    free(v->st);
}

/* Loads and analyses every study; the first that fails stops the
 * comparison with its error (every error of its study.ini). */
static int visits_load(visits *v, char **dirs, size_t n, const options *o)
{
    ncs_error err;
    v->st = calloc(n, sizeof *v->st);
    v->r = calloc(n, sizeof *v->r);
    if (!v->st || !v->r) {
        diag("compare", "error", "out of memory");
        return EXIT_OUTPUT;
    }
    ncs_analyser *an = ncs_analyser_create(&err);
    if (!an) {
        print_error(&err);
        return EXIT_OUTPUT;
    }
    ncs_options ao = o->analysis;
    ao.keep_traces = o->report >= 0; /* the report overlays the visits' traces */
    int rc = EXIT_OK;
    for (size_t i = 0; i < n && rc == EXIT_OK; i++) {
        ncs_warnings warn = {0};
        ncs_study *st = ncs_study_load(dirs[i], &warn, &err);
        if (!st) {
            print_failure(&err, &warn, o);
            rc = exit_for(err.code);
        } else {
            print_warnings(&warn, o);
        }
        ncs_warnings_free(&warn);
        if (!st)
            break;
        v->st[v->n] = st;
        v->r[v->n] = ncs_analyse_study(an, st, &ao, &err);
        v->n++;
        if (!v->r[v->n - 1]) {
            print_error(&err);
            rc = exit_for(err.code);
        } else {
            print_warnings(&v->r[v->n - 1]->warnings, o);
        }
    }
    ncs_analyser_destroy(an);
    return rc;
}

static int put_text(FILE *f, const void *ctx)
{
    return fputs((const char *)ctx, f) < 0 || fputc('\n', f) == EOF;
}

static int put_compare_csv(FILE *f, const void *ctx)
{
    return ncs_compare_csv((const ncs_compare *)ctx, f) != NCS_OK;
}

/* With --report: the report's pages into the output folder (the library
 * writes them under temporary names and renames them only when gnuplot
 * succeeded). */
static int write_report(const ncs_compare *c, const outdir *od, const options *o)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/compare.%s", od->path,
             ncs_report_format_name((ncs_report_format)o->report));
    ncs_error err;
    if (ncs_compare_report_make(c, (ncs_report_format)o->report, path, o->gnuplot, &err)
        != NCS_OK) {
        print_error(&err);
        return exit_for(err.code);
    }
    return EXIT_OK;
}

/* compare.json and compare.csv (and the report) into o->out, never over an
 * input of a visit nor into a study's folder */
/* Whether name in the folder open on fd is an earlier comparison's report
 * page: compare.<fmt> or compare-<nerve>.<fmt>, a regular file, no input. */
static int earlier_page(int fd, const char *name, const visits *v, const options *o)
{
    size_t n = strlen(name);
    int ext = n > 4 && (!strcmp(name + n - 4, ".pdf") || !strcmp(name + n - 4, ".png")
                        || !strcmp(name + n - 4, ".svg"));
    if (!ext || (strncmp(name, "compare.", 8) != 0 && strncmp(name, "compare-", 8) != 0))
        return 0;
    struct stat sb;
    if (fstatat(fd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    for (size_t i = 0; i < v->n; i++)
        if (input_named(&sb, v->st[i], o->analysis.norms_path))
            return 0;
    return 1;
}

/* An earlier comparison in the folder (its compare.json, ncs's): its report
 * pages go, so that none is left beside new results (the new ones, when
 * asked for, are written after). */
static void remove_earlier_pages(const outdir *od, const visits *v, const options *o)
{
    char head[64] = "";
    int jf = openat(od->fd, "compare.json", O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (jf < 0)
        return;
    ssize_t got = read(jf, head, sizeof head - 1);
    close(jf);
    if (got <= 0 || !strstr(head, "\"ncs-compare/"))
        return;
    int dfd = dup(od->fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)))
        if (earlier_page(od->fd, de->d_name, v, o))
            unlinkat(od->fd, de->d_name, 0);
    closedir(d);
}

static int write_compare(const ncs_compare *c, const visits *v, const options *o)
{
    outdir od;
    outdir_later(&od, NULL, o->out);
    int rc = outdir_ready(&od) == EXIT_OK ? EXIT_OK : EXIT_OUTPUT;
    char rep[32];
    snprintf(rep, sizeof rep, "compare.%s",
             o->report >= 0 ? ncs_report_format_name((ncs_report_format)o->report) : "pdf");
    const char *const names[] = {"compare.json", "compare.csv", o->report >= 0 ? rep : NULL,
                                 NULL};
    for (size_t i = 0; i < v->n && rc == EXIT_OK; i++)
        rc = outdir_check_inputs(&od, v->st[i], names, o->analysis.norms_path);
    char *settings = rc == EXIT_OK ? settings_text(o) : NULL;
    char *json = settings ? ncs_compare_json(c, settings) : NULL;
    if (rc == EXIT_OK && !json) {
        diag(o->out, "error", "out of memory");
        rc = EXIT_OUTPUT;
    }
    if (rc == EXIT_OK)
        remove_earlier_pages(&od, v, o);
    if (rc == EXIT_OK)
        rc = write_atomic(&od, "compare.json", put_text, json);
    if (rc == EXIT_OK)
        rc = write_atomic(&od, "compare.csv", put_compare_csv, c);
    if (rc == EXIT_OK && o->report >= 0)
        rc = write_report(c, &od, o);
    free(json);
    free(settings);
    outdir_close(&od);
    return rc;
}

/* "patient P: 3 visits, 2026-01-12 to 2026-04-06: ulnar.right improving, ...
 * -> OUT/P" */
static void compare_line(const ncs_compare *c, const char *out)
{
    const ncs_study *a = c->visits[0]->study, *b = c->visits[c->n_visits - 1]->study;
    printf("%s: %zu visits, %s to %s:", a->patient ? a->patient : "", c->n_visits,
           a->date ? a->date : "?", b->date ? b->date : "?");
    for (size_t i = 0; i < c->n_nerves; i++)
        printf("%s %s %s", i ? "," : "", c->nerves[i].id, ncs_trend_name(c->nerves[i].trend));
    printf("%s%s\n", out ? " -> " : "", out ? out : "");
}

int cmd_compare(const command *cmd, int argc, char **argv, options *o)
{
    int first = parse_options(cmd, argc, argv, o);
    if (first < 0)
        return EXIT_USAGE;
    if (o->help)
        return print_command_help(cmd);
    if (argc - first < 2)
        return usage_error(cmd->name, argc == first
                                          ? "compare: no study folder given (give two visits "
                                            "or more of one patient)%s"
                                          : "compare: one study folder given: give two visits "
                                            "or more of one patient%s", "");
    if (argc - first > NCS_COMPARE_MAX_VISITS)
        return usage_error(cmd->name, "compare: too many visits (at most 64)%s", "");
    if (o->out && !*o->out)
        return usage_error(cmd->name, "%s-o: the output folder is an empty name", "");
    if (o->report >= 0 && !o->out)
        return usage_error(cmd->name, "compare: --report needs -o DIR (the report goes to "
                                      "DIR/compare.pdf)%s", "");
    int rc = check_norms_option(o);
    if (rc != 0)
        return rc;
    return compare_run(argv + first, (size_t)(argc - first), o, o->json ? 2 : 1);
}

int compare_run(char **dirs, size_t n, const options *o, int show)
{
    visits v = {0};
    int rc = visits_load(&v, dirs, n, o);
    ncs_compare *c = NULL;
    if (rc == EXIT_OK) {
        ncs_error err;
        c = ncs_compare_create((const ncs_results *const *)v.r, v.n, &err);
        if (!c) {
            print_error(&err);
            rc = exit_for(err.code);
        }
    }
    if (rc == EXIT_OK && show == 2) {
        char *settings = settings_text(o);
        char *json = settings ? ncs_compare_json(c, settings) : NULL;
        free(settings);
        if (json)
            printf("%s\n", json);
        else
            rc = EXIT_OUTPUT;
        free(json);
    } else if (rc == EXIT_OK && show == 1) {
        ncs_compare_table(c, stdout);
    }
    if (rc == EXIT_OK && o->out)
        rc = write_compare(c, &v, o);
    if (rc == EXIT_OK && show == 0) /* (said once its files are written) */
        compare_line(c, o->out);
    ncs_compare_destroy(c);
    visits_free(&v);
    return rc;
}
