/* batch_resume.c — --resume: whether a study's outputs were made by this
 * version, with the same settings, from inputs of the same content (dates
 * are not trusted: `cp -p`, `rsync -t` and `tar x` keep them on new
 * content); and the hidden temporaries an interrupted run may have left,
 * removed before a study is written again. Everything is read relative to a
 * descriptor of OUT/<id>, never through a link. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include "batch.h"

/* name in dir_fd, a regular file (not a link, a FIFO or a device) */
static int open_own(int dir_fd, const char *name, struct stat *sb)
{
    int fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* the paper of a report results.json records (none before --paper: A4) */
static int same_paper(json_t *pp, const options *o)
{
    const char *want = ncs_report_paper_name((ncs_paper)o->analysis.report_paper);
    return pp ? json_is_string(pp) && strcmp(json_string_value(pp), want) == 0
              : o->analysis.report_paper == NCS_PAPER_A4;
}

/* the settings results.json records are the ones this run would record */
static int same_settings(json_t *s, const options *o)
{
    const char *crit = json_string_value(json_object_get(s, "criteria"));
    size_t n_eval = json_array_size(json_object_get(s, "criteria_evaluated"));
    json_t *nf = json_object_get(s, "norms_file"), *rp = json_object_get(s, "report");
    const char *rep = o->report >= 0 ? ncs_report_format_name((ncs_report_format)o->report)
                                     : NULL;
    return crit && strcmp(crit, ncs_criteria_name(o->analysis.primary)) == 0
           && n_eval == (o->analysis.all_criteria ? (size_t)NCS_CRIT__COUNT : 1)
           && (o->analysis.norms_path
                   ? json_is_string(nf)
                         && strcmp(json_string_value(nf), o->analysis.norms_path) == 0
                   : json_is_null(nf))
           && (rep ? json_is_string(rp) && strcmp(json_string_value(rp), rep) == 0
                         && same_paper(json_object_get(s, "report_paper"), o)
                   : json_is_null(rp));
}

/* name in the folder, a regular file not older than results.json (js) */
static int page_there(int dir_fd, const char *name, const struct stat *js)
{
    struct stat rs;
    int r = open_own(dir_fd, name, &rs);
    if (r >= 0)
        close(r);
    return r >= 0 && (rs.st_mtim.tv_sec > js->st_mtim.tv_sec
                      || (rs.st_mtim.tv_sec == js->st_mtim.tv_sec
                          && rs.st_mtim.tv_nsec >= js->st_mtim.tv_nsec));
}

/* Every page of the report is there: report.<ext>, and for PNG and SVG one
 * report-<nerve>.<ext> per nerve of results.json (old). The report is drawn
 * after results.json: a page older than it is left from a run whose report
 * failed. */
static int report_whole(int dir_fd, json_t *old, const struct stat *js, const char *ext)
{
    char name[300];
    fmt(name, sizeof name, "report.%s", ext);
    if (!page_there(dir_fd, name, js))
        return 0;
    json_t *nerves = json_object_get(old, "nerves");
    for (size_t i = 0; strcmp(ext, "pdf") && i < json_array_size(nerves); i++) {
        const char *id = json_string_value(json_object_get(json_array_get(nerves, i), "id"));
        fmt(name, sizeof name, "report-%s.%s", id ? id : "", ext);
        if (!id || !page_there(dir_fd, name, js))
            return 0;
    }
    return 1;
}

int batch_up_to_date(const ncs_study *st, const options *o, int dir_fd)
{
    struct stat js, cs;
    int fd = open_own(dir_fd, "results.json", &js);
    if (fd < 0)
        return 0;
    json_t *old = json_loadfd(fd, 0, NULL);
    close(fd);
    if (!old)
        return 0;
    int csv = open_own(dir_fd, "results.csv", &cs);
    int same = csv >= 0;
    if (csv >= 0)
        close(csv);
    same = same && batch_results_csv_ok(dir_fd); /* whole: summary.csv is made of it */
    if (same && o->report >= 0)
        same = report_whole(dir_fd, old, &js, ncs_report_format_name((ncs_report_format)o->report));
    /* another version may measure otherwise: its results are not ours */
    const char *ver = json_string_value(json_object_get(old, "ncs_version"));
    same = same && ver && strcmp(ver, NCS_VERSION) == 0
           && same_settings(json_object_get(old, "settings"), o);
    /* and the inputs are, byte for byte, the ones it was made from */
    const char *had = json_string_value(json_object_get(old, "inputs_hash"));
    if (same && had) {
        char now[NCS_HASH_HEX];
        ncs_error err;
        same = ncs_study_inputs_hash(st, o->analysis.norms_path, now, &err) == NCS_OK
               && strcmp(had, now) == 0;
    } else {
        same = 0;
    }
    json_decref(old);
    return same;
}

/* ".<one of our outputs>.tmp.<pid>" (common.c's write_atomic) or
 * ".ncs-report-..." (gnuplot.c): only names ncs makes, so nothing of a
 * user's is removed when OUT is a folder of theirs */
static int our_temporary(const char *n)
{
    static const char *const outs[] = {"results.json", "results.csv", "report.pdf",
                                       "report.png", "report.svg", "summary.csv",
                                       "batch.json"};
    if (n[0] != '.')
        return 0;
    if (strncmp(n, ".ncs-report-", 12) == 0)
        return 1;
    for (size_t k = 0; k < sizeof outs / sizeof outs[0]; k++) {
        size_t l = strlen(outs[k]);
        if (strncmp(n + 1, outs[k], l) == 0 && strncmp(n + 1 + l, ".tmp.", 5) == 0) {
            const char *d = n + 1 + l + 5;
            if (!*d)
                return 0;
            for (; *d; d++)
                if (*d < '0' || *d > '9')
                    return 0;
            return 1;
        }
    }
    return 0;
}

/* Hidden temporaries an interrupted run may have left in the folder
 * (".<name>.tmp.<pid>" from common.c, ".ncs-report-<pid>-<seq>-<n>.<ext>" from
 * gnuplot.c): never results, removed before the study is written again. */
/* Removes the files of the folder open on dir_fd whose names match, but
 * never an input of st (may be NULL) or the norms_path table. */
static void remove_matching(int dir_fd, int (*match)(const char *), const ncs_study *st,
                            const char *norms_path)
{
    int fd = dup(dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        if (fd >= 0)
            close(fd);
        return;
    }
    rewinddir(d); /* the offset is shared with dir_fd's */
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        struct stat a;
        /* ncs makes regular files only: a link so named is someone's */
        if (match(de->d_name) && fstatat(dir_fd, de->d_name, &a, AT_SYMLINK_NOFOLLOW) == 0
            && S_ISREG(a.st_mode) && !input_named(&a, st, norms_path))
            unlinkat(dir_fd, de->d_name, 0);
    }
    closedir(d);
}

void batch_remove_stale_temporaries(int dir_fd, const ncs_study *st, const char *norms_path)
{
    remove_matching(dir_fd, our_temporary, st, norms_path);
}

