/* batch_resume.c — --resume: whether a study's outputs are newer than every
 * input and were made with the same settings; and the hidden temporaries an
 * interrupted run may have left, removed before a study is written again. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include "batch.h"

static int mtime_of(const char *path, struct timespec *t)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return -1;
    *t = sb.st_mtim;
    return 0;
}

static int later(struct timespec a, struct timespec b)
{
    return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}


/* Whether out_dir holds this study's outputs for these options, newer than
 * study.ini, every waveform and the normative tables. */
int batch_up_to_date(const ncs_study *st, const options *o, const char *out_dir)
{
    struct timespec newest_in = {0, 0}, t;
    if (mtime_of(st->ini_path, &newest_in))
        return 0;
    for (size_t i = 0; i < st->n_nerves; i++)
        for (size_t j = 0; j < st->nerves[i].n_sites; j++) {
            if (mtime_of(st->nerves[i].sites[j].path, &t))
                return 0;
            if (later(t, newest_in))
                newest_in = t;
        }
    const char *norms[2] = {st->norms, o->analysis.norms_path};
    for (int k = 0; k < 2; k++)
        if (norms[k]) {
            if (mtime_of(norms[k], &t))
                return 0;
            if (later(t, newest_in))
                newest_in = t;
        }
    char p[PATH_MAX + 64];
    const char *outs[3] = {"results.json", "results.csv", NULL};
    char rep[32];
    if (o->report >= 0) {
        fmt(rep, sizeof rep, "report.%s", ncs_report_format_name((ncs_report_format)o->report));
        outs[2] = rep;
    }
    for (int k = 0; k < 3; k++) {
        if (!outs[k])
            continue;
        fmt(p, sizeof p, "%s/%s", out_dir, outs[k]);
        if (mtime_of(p, &t) || !later(t, newest_in))
            return 0;
    }
    /* and made with the same criteria, tables and report */
    fmt(p, sizeof p, "%s/results.json", out_dir);
    json_t *old = json_load_file(p, 0, NULL);
    if (!old)
        return 0;
    /* another version may measure otherwise: its results are not ours */
    const char *ver = json_string_value(json_object_get(old, "ncs_version"));
    if (!ver || strcmp(ver, NCS_VERSION) != 0) {
        json_decref(old);
        return 0;
    }
    json_t *s = json_object_get(old, "settings");
    const char *crit = json_string_value(json_object_get(s, "criteria"));
    size_t n_eval = json_array_size(json_object_get(s, "criteria_evaluated"));
    json_t *nf = json_object_get(s, "norms_file"), *rp = json_object_get(s, "report");
    int same = crit && strcmp(crit, ncs_criteria_name(o->analysis.primary)) == 0
               && n_eval == (o->analysis.all_criteria ? (size_t)NCS_CRIT__COUNT : 1)
               && (o->analysis.norms_path
                       ? json_is_string(nf)
                             && strcmp(json_string_value(nf), o->analysis.norms_path) == 0
                       : json_is_null(nf))
               && (o->report >= 0 ? json_is_string(rp)
                                        && strcmp(json_string_value(rp), ncs_report_format_name((ncs_report_format)o->report)) == 0
                                  : json_is_null(rp));
    json_decref(old);
    return same;
}


/* Hidden temporaries an interrupted run may have left in out_dir
 * (".<name>.tmp.<pid>" from common.c, ".ncs-report-<pid>-<seq>-<n>.<ext>" from
 * gnuplot.c): never results, removed before the study is written again. */
void batch_remove_stale_temporaries(const char *out_dir)
{
    DIR *d = opendir(out_dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (n[0] != '.' || (!strstr(n, ".tmp.") && strncmp(n, ".ncs-report-", 12) != 0))
            continue;
        char p[PATH_MAX + 300];
        fmt(p, sizeof p, "%s/%s", out_dir, n);
        unlink(p);
    }
    closedir(d);
}
