/* gnuplot.c — runs gnuplot as a separate program, once per report: the
 * script goes to its standard input, its messages to a temporary file, its
 * pages to temporary names in the output folder that are renamed into place
 * only when it succeeded. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "report.h"

#define INSTALL_HINT                                                                    \
    "install it (Debian/Ubuntu: apt-get install gnuplot-nox) or name it with --gnuplot " \
    "PATH or NCS_GNUPLOT"

static const char *const ext_of[] = {"pdf", "png", "svg"};

const char *ncs_report_format_name(ncs_report_format fmt)
{
    return (unsigned)fmt < sizeof ext_of / sizeof ext_of[0] ? ext_of[fmt] : NULL;
}

int ncs_report_format_of(const char *s)
{
    if (!s)
        return -1;
    const char *dot = strrchr(s, '.');
    const char *slash = strrchr(s, '/');
    const char *e = dot && (!slash || dot > slash) ? dot + 1 : s;
    for (int i = 0; i < 3; i++)
        if (strcasecmp(e, ext_of[i]) == 0)
            return i;
    return -1;
}

/* Whether prog names an executable: as a path, or found on PATH. */
static int findable(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char buf[4096];
        snprintf(buf, sizeof buf, "%.*s/%s", (int)len, len ? path : ".", prog);
        struct stat sb;
        if (stat(buf, &sb) == 0 && S_ISREG(sb.st_mode) && access(buf, X_OK) == 0)
            return 1;
        if (!colon)
            break;
        path = colon + 1;
    }
    return 0;
}

typedef struct {
    size_t n;
    char **tmp;   /* base names gnuplot writes (in dir) */
    char **final; /* full paths they are renamed to */
    char *dir;
} outputs;

static void outputs_free(outputs *o, int unlink_tmp)
{
    for (size_t i = 0; i < o->n; i++) {
        if (unlink_tmp && o->tmp && o->tmp[i]) {
            char p[8192];
            snprintf(p, sizeof p, "%s/%s", o->dir, o->tmp[i]);
            unlink(p);
        }
        if (o->tmp)
            free(o->tmp[i]);
        if (o->final)
            free(o->final[i]);
    }
    free(o->tmp);
    free(o->final);
    free(o->dir);
    memset(o, 0, sizeof *o);
}

static ncs_status plan_outputs(const ncs_results *r, ncs_report_format fmt,
                               const char *out_path, outputs *o, ncs_error *err)
{
    memset(o, 0, sizeof *o);
    const char *slash = strrchr(out_path, '/');
    o->dir = slash ? ncs_asprintf("%.*s", slash == out_path ? 1 : (int)(slash - out_path),
                                  out_path)
                   : ncs_strdup(".");
    o->n = fmt == NCS_REPORT_PDF ? 1 : ncs_report_pages(r);
    o->tmp = calloc(o->n, sizeof *o->tmp);
    o->final = calloc(o->n, sizeof *o->final);
    if (!o->dir || !o->tmp || !o->final)
        return ncs_fail(err, NCS_ERR_NOMEM, out_path, "out of memory");
    const char *dot = strrchr(out_path, '.');
    if (!dot || (slash && dot < slash))
        dot = out_path + strlen(out_path);
    for (size_t i = 0; i < o->n; i++) {
        o->tmp[i] = ncs_asprintf(".ncs-report-%ld-%zu.%s", (long)getpid(), i, ext_of[fmt]);
        o->final[i] = i == 0 ? ncs_strdup(out_path)
                             : ncs_asprintf("%.*s-%s%s", (int)(dot - out_path), out_path,
                                            r->nerves[i - 1].def->id, dot);
        if (!o->tmp[i] || !o->final[i])
            return ncs_fail(err, NCS_ERR_NOMEM, out_path, "out of memory");
    }
    return NCS_OK;
}

/* The first lines of what gnuplot said, on one line. */
static void gnuplot_said(FILE *log, char *buf, size_t n)
{
    buf[0] = '\0';
    if (!log || fseek(log, 0, SEEK_SET) != 0)
        return;
    size_t k = fread(buf, 1, n - 1, log);
    buf[k] = '\0';
    for (char *c = buf; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
    size_t l = strlen(buf);
    while (l && buf[l - 1] == ' ')
        buf[--l] = '\0';
}

static const char *default_gnuplot(const char *gnuplot)
{
    if (!gnuplot || !*gnuplot) {
        gnuplot = getenv("NCS_GNUPLOT");
        if (!gnuplot || !*gnuplot)
            gnuplot = "gnuplot";
    }
    return gnuplot;
}

int ncs_report_gnuplot_found(const char *gnuplot, ncs_error *err)
{
    ncs_error_clear(err);
    gnuplot = default_gnuplot(gnuplot);
    if (findable(gnuplot))
        return 1;
    ncs_fail(err, NCS_ERR_REPORT, gnuplot,
             "gnuplot ('%s') not found: the analysis is done but the report cannot be "
             "drawn; " INSTALL_HINT, gnuplot);
    return 0;
}

ncs_status ncs_report_make(const ncs_results *r, ncs_report_format fmt, const char *out_path,
                           const char *gnuplot, ncs_error *err)
{
    ncs_error_clear(err);
    if (!r || !out_path || (unsigned)fmt > NCS_REPORT_SVG)
        return ncs_fail(err, NCS_ERR_USAGE, out_path ? out_path : "", "no results or output");
    for (size_t i = 0; i < r->n_nerves; i++)
        for (size_t j = 0; j < r->nerves[i].n_sites; j++)
            if (!r->nerves[i].sites[j].clean_mv)
                return ncs_fail(err, NCS_ERR_USAGE, out_path,
                                "the study was analysed without keeping its traces");
    gnuplot = default_gnuplot(gnuplot);
    if (!findable(gnuplot))
        return ncs_fail(err, NCS_ERR_REPORT, out_path,
                        "gnuplot ('%s') not found: the analysis is done but the report "
                        "cannot be drawn; " INSTALL_HINT, gnuplot);

    outputs o;
    ncs_status rc = plan_outputs(r, fmt, out_path, &o, err);
    if (rc != NCS_OK) {
        outputs_free(&o, 0);
        return rc;
    }
    struct stat dsb;
    if (stat(o.dir, &dsb) != 0 || !S_ISDIR(dsb.st_mode) || access(o.dir, W_OK) != 0) {
        rc = ncs_fail(err, NCS_ERR_OUTPUT, out_path, "cannot write into %s: %s", o.dir,
                      errno ? strerror(errno) : "not a folder");
        outputs_free(&o, 0);
        return rc;
    }
    char *script = NULL;
    size_t script_len = 0;
    FILE *sf = open_memstream(&script, &script_len);
    if (!sf) {
        outputs_free(&o, 0);
        return ncs_fail(err, NCS_ERR_NOMEM, out_path, "out of memory");
    }
    rc = ncs_report_script(r, fmt, (const char *const *)o.tmp, sf);
    if (fclose(sf) != 0 || rc != NCS_OK) {
        free(script);
        outputs_free(&o, 0);
        return ncs_fail(err, NCS_ERR_NOMEM, out_path, "out of memory");
    }

    FILE *log = tmpfile();
    int fd[2];
    if (!log || pipe(fd) != 0) {
        if (log)
            fclose(log);
        free(script);
        outputs_free(&o, 0);
        return ncs_fail(err, NCS_ERR_REPORT, out_path, "cannot start gnuplot: %s",
                        strerror(errno));
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fd[0]);
        close(fd[1]);
        fclose(log);
        free(script);
        outputs_free(&o, 0);
        return ncs_fail(err, NCS_ERR_REPORT, out_path, "cannot start gnuplot: %s", strerror(e));
    }
    if (pid == 0) {
        /* the child: gnuplot in the output folder, the script on stdin */
        int null = open("/dev/null", O_WRONLY);
        if (dup2(fd[0], 0) < 0 || null < 0 || dup2(null, 1) < 0 || dup2(fileno(log), 2) < 0)
            _exit(126);
        close(fd[0]);
        close(fd[1]);
        if (chdir(o.dir) != 0) {
            fprintf(stderr, "cannot enter %s: %s\n", o.dir, strerror(errno));
            _exit(126);
        }
        execlp(gnuplot, gnuplot, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", gnuplot, strerror(errno));
        _exit(127);
    }
    close(fd[0]);
    /* gnuplot may stop reading early (an error): no SIGPIPE for us then */
    struct sigaction ign = {0}, old;
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &old);
    size_t done = 0;
    while (done < script_len) {
        ssize_t w = write(fd[1], script + done, script_len - done);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        done += (size_t)w;
    }
    close(fd[1]);
    sigaction(SIGPIPE, &old, NULL);
    free(script);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char said[400];
    gnuplot_said(log, said, sizeof said);
    fclose(log);

    int ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && done == script_len;
    if (!ok) {
        if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
            rc = ncs_fail(err, NCS_ERR_REPORT, out_path, "gnuplot ('%s') could not be run: %s; "
                          INSTALL_HINT, gnuplot, said);
        else
            rc = ncs_fail(err, NCS_ERR_REPORT, out_path, "gnuplot failed (%s%d)%s%s",
                          WIFEXITED(status) ? "exit " : "signal ",
                          WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                          said[0] ? ": " : "", said);
        outputs_free(&o, 1);
        return rc;
    }
    /* every page there and not empty, then renamed into place */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < o.n; i++) {
            char p[8192];
            snprintf(p, sizeof p, "%s/%s", o.dir, o.tmp[i]);
            struct stat sb;
            if (pass == 0 && (stat(p, &sb) != 0 || sb.st_size == 0))
                rc = ncs_fail(err, NCS_ERR_REPORT, out_path, "gnuplot wrote no page %zu%s%s",
                              i + 1, said[0] ? ": " : "", said);
            else if (pass == 1 && rename(p, o.final[i]) != 0)
                rc = ncs_fail(err, NCS_ERR_OUTPUT, o.final[i], "cannot write: %s",
                              strerror(errno));
            if (rc != NCS_OK) {
                outputs_free(&o, 1);
                return rc;
            }
        }
    outputs_free(&o, 0);
    return NCS_OK;
}
