/* common.c — what the ncs commands share: diagnostics in the form of docs/outputs.md,
 * outputs written whole, and one study analysed into its outputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"

/* ---- diagnostics --------------------------------------------------------- */

void diag(const char *where, const char *kind, const char *msg)
{
    if (where && *where)
        fprintf(stderr, "ncs: %s: %s: %s\n", where, kind, msg);
    else
        fprintf(stderr, "ncs: %s: %s\n", kind, msg);
}

void print_error(const ncs_error *e)
{
    diag(e->where, "error", e->message[0] ? e->message : ncs_strerror(e->code));
}

void print_warnings(const ncs_warnings *w, const options *o)
{
    if (o->quiet)
        return;
    for (size_t i = 0; i < w->count; i++)
        diag(w->items[i].where, "warning", w->items[i].message);
    if (w->dropped)
        fprintf(stderr, "ncs: warning: %zu further warnings lost (out of memory)\n",
                w->dropped);
}

int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "ncs: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'ncs help%s%s' for more information.\n", cmd ? " " : "",
            cmd ? cmd : "");
    return EXIT_USAGE;
}

/* Exit code for a library status (docs/outputs.md). */
int exit_for(ncs_status s)
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

/* ---- writing outputs: temporary name, then rename ------------------------ */

int mkdir_p(const char *path)
{
    struct stat sb;
    /* most often the parent exists: one call */
    if (mkdir(path, 0777) == 0 || (errno == EEXIST && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)))
        return 0;
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
    return stat(buf, &sb) == 0 && S_ISDIR(sb.st_mode) ? 0 : -1;
}

/* Writes dir/name through a temporary file renamed into place, so a reader
 * (or an interrupted run) never sees half a file. Prints the error. */
int write_atomic(const char *dir, const char *name, writer_fn fn, const void *ctx)
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

char *settings_text(const options *o)
{
    /* the library's fixed method first, then what this run chose */
    json_t *s = json_loads(ncs_method_json(), 0, NULL);
    if (!s)
        return NULL;
    json_object_set_new(s, "norms_file", o->analysis.norms_path
                                             ? json_string(o->analysis.norms_path)
                                             : json_null());
    json_object_set_new(s, "report",
                        o->report >= 0
                            ? json_string(ncs_report_format_name((ncs_report_format)o->report))
                            : json_null());
    char *t = json_dumps(s, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(s);
    return t;
}

int analyse_one(ncs_analyser *an, const char *dir, const options *o, const char *out_dir,
                int print_table, ncs_error *err_out)
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
    int rc = analyse_study(an, st, o, out_dir, print_table, err_out);
    ncs_study_destroy(st);
    return rc;
}

int analyse_study(ncs_analyser *an, const ncs_study *st, const options *o,
                  const char *out_dir, int print_table, ncs_error *err_out)
{
    ncs_error err;
    ncs_options ao = o->analysis;
    ao.keep_traces = o->report >= 0;
    ncs_results *r = ncs_analyse_study(an, st, &ao, &err);
    if (!r) {
        print_error(&err);
        if (err_out)
            *err_out = err;
        return exit_for(err.code);
    }
    print_warnings(&r->warnings, o);
    int rc = EXIT_OK;
    char *settings = settings_text(o);
    char *json = settings ? ncs_results_json(r, settings) : NULL;
    free(settings);
    if (!json) {
        diag(st->dir, "error", "out of memory");
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
        snprintf(path, sizeof path, "%s/report.%s", out_dir,
                 ncs_report_format_name((ncs_report_format)o->report));
        if (ncs_report_make(r, (ncs_report_format)o->report, path, o->gnuplot, &err) != NCS_OK) {
            print_error(&err);
            if (err_out)
                *err_out = err;
            rc = exit_for(err.code);
        }
    }
    ncs_results_destroy(r);
    return rc;
}

