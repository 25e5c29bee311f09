/* batch_find.c — the studies of a batch: every folder under ROOT holding a
 * study.ini, sorted, each with its id; two studies with one id refused
 * before any work (they would write one output folder). */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "batch.h"

/* folders searched below ROOT, at most (a hostile tree cannot exhaust the stack) */
#define MAX_DEPTH 64

/* Every folder under dir holding a study.ini, by readdir: the entries' types
 * come with their names, so no file is stat()ed (symbolic links are not
 * followed). Returns -1 when out of memory. */
static int push_study(study_list *l, const char *dir)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 256;
        study_ent *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    memset(&l->v[l->n], 0, sizeof l->v[0]);
    if (!(l->v[l->n].path = strdup(dir)))
        return -1;
    l->n++;
    return 0;
}

/* A folder the batch cannot analyse, listed as a failed study (printed). */
static int push_failed(study_list *l, const char *dir, const char *why)
{
    diag(dir, "error", why);
    if (push_study(l, dir) != 0)
        return -1;
    study_ent *e = &l->v[l->n - 1];
    e->status = ST_FAILED;
    char msg[PATH_MAX + 300];
    fmt(msg, sizeof msg, "%s: %s", dir, why);
    return (e->error = strdup(msg)) && (e->id = strdup("")) ? 0 : -1;
}

static int walk(study_list *l, const char *dir, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        /* a study may be in there: the batch fails it rather than lose it */
        char msg[300];
        fmt(msg, sizeof msg, "cannot read this folder: %s", strerror(errno));
        return push_failed(l, dir, msg);
    }
    size_t dl = strlen(dir);
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        const char *name = de->d_name;
        if (name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0')))
            continue;
        int type = de->d_type;
        if (type == DT_UNKNOWN) {
            char p[PATH_MAX];
            struct stat sb;
            fmt(p, sizeof p, "%s/%s", dir, name);
            if (lstat(p, &sb) != 0)
                continue;
            type = S_ISDIR(sb.st_mode) ? DT_DIR : S_ISREG(sb.st_mode) ? DT_REG
                 : S_ISLNK(sb.st_mode) ? DT_LNK : DT_FIFO;
        }
        if (type == DT_REG && strcmp(name, "study.ini") == 0) {
            rc = push_study(l, dir);
        } else if (strcmp(name, "study.ini") == 0) {
            /* a link or a FIFO: never read, but the study does not vanish */
            rc = push_failed(l, dir, type == DT_LNK ? "study.ini is a symbolic link: a study's "
                                                      "study.ini must be a regular file"
                                                    : "study.ini is not a regular file");
        } else if (type == DT_LNK && !l->quiet) {
            char p[PATH_MAX];
            struct stat sb;
            fmt(p, sizeof p, "%s/%s", dir, name);
            if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
                diag(p, "warning", "a symbolic link to a folder: not followed (a batch "
                                   "searches the folders under ROOT themselves)");
        } else if (type == DT_DIR) {
            if (depth >= MAX_DEPTH) {
                char msg[128];
                fmt(msg, sizeof msg, "folders nested deeper than %d levels are not searched",
                    MAX_DEPTH);
                if (!l->quiet)
                    diag(dir, "warning", msg);
                continue;
            }
            char *sub = malloc(dl + strlen(name) + 2);
            if (!sub) {
                rc = -1;
                break;
            }
            sprintf(sub, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", name);
            rc = walk(l, sub, depth + 1);
            free(sub);
        }
    }
    closedir(d);
    return rc;
}

static int cmp_path(const void *a, const void *b)
{
    return strcmp(((const study_ent *)a)->path, ((const study_ent *)b)->path);
}

const char *batch_rel_path(const study_list *l, const char *path)
{
    size_t rl = strlen(l->root);
    while (rl > 1 && l->root[rl - 1] == '/')
        rl--;
    if (strncmp(path, l->root, rl) == 0 && path[rl] == '/')
        return path + rl + 1;
    if (strncmp(path, l->root, rl) == 0 && path[rl] == '\0')
        return ".";
    return path;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

const char *batch_study_around(const study_list *l, const char *path, const char *own)
{
    char buf[PATH_MAX];
    fmt(buf, sizeof buf, "%s", path);
    for (;;) {
        const char *key = buf;
        char **hit = l->n_reals ? bsearch(&key, l->reals, l->n_reals, sizeof *l->reals, cmp_str)
                                : NULL;
        if (hit && (!own || strcmp(*hit, own) != 0))
            return *hit;
        char *slash = strrchr(buf, '/');
        if (!slash || slash == buf)
            return NULL;
        *slash = '\0';
    }
}

/* every study folder resolved, sorted (for batch_study_around) */
static int resolve_all(study_list *l)
{
    l->reals = calloc(l->n ? l->n : 1, sizeof *l->reals);
    if (!l->reals)
        return -1;
    for (size_t i = 0; i < l->n; i++) {
        char *r = realpath(l->v[i].path, NULL);
        if (r)
            l->reals[l->n_reals++] = r;
    }
    qsort(l->reals, l->n_reals, sizeof *l->reals, cmp_str);
    return 0;
}

void batch_list_free(study_list *l)
{
    for (size_t i = 0; i < l->n_reals; i++)
        free(l->reals[i]);
    free(l->reals);
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].path);
        free(l->v[i].id);
        free(l->v[i].error);
    }
    free(l->v);
}

typedef struct {
    size_t i;
    const study_list *l;
} id_ref;

static int cmp_id_ref(const void *a, const void *b)
{
    const id_ref *x = a, *y = b;
    int c = strcmp(x->l->v[x->i].id, y->l->v[y->i].id);
    return c ? c : (x->i > y->i) - (x->i < y->i);
}

/* Two studies with one id would write one output folder: refused before
 * any work. Returns the number of clashes (each printed). */
static size_t duplicate_ids(const study_list *l)
{
    id_ref *r = malloc((l->n ? l->n : 1) * sizeof *r);
    if (!r)
        return 0;
    for (size_t i = 0; i < l->n; i++)
        r[i] = (id_ref){i, l};
    qsort(r, l->n, sizeof *r, cmp_id_ref);
    size_t dup = 0;
    for (size_t k = 1; k < l->n; k++)
        if (l->v[r[k].i].id[0] && strcmp(l->v[r[k].i].id, l->v[r[k - 1].i].id) == 0) {
            char msg[PATH_MAX + 300];
            fmt(msg, sizeof msg, "study id '%s' is also the id of %s: each study needs "
                                      "its own id (set id = in [study])",
                     l->v[r[k].i].id, l->v[r[k - 1].i].path);
            diag(l->v[r[k].i].path, "error", msg);
            dup++;
        }
    free(r);
    return dup;
}


int batch_find_studies(study_list *l)
{
    if (walk(l, l->root, 0) != 0) {
        diag(l->root, "error", "out of memory");
        return EXIT_OUTPUT;
    }
    qsort(l->v, l->n, sizeof *l->v, cmp_path);
    if (resolve_all(l) != 0) {
        diag(l->root, "error", "out of memory");
        return EXIT_OUTPUT;
    }
    for (size_t i = 0; i < l->n; i++)
        if (!l->v[i].id && !(l->v[i].id = ncs_study_peek_id(l->v[i].path))) {
            diag(l->root, "error", "out of memory");
            return EXIT_OUTPUT;
        }
    return duplicate_ids(l) > 0 ? EXIT_INPUT : 0;
}
