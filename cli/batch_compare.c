/* batch_compare.c — `ncs batch --compare ROOT -o OUT`: the studies under
 * ROOT grouped by their `patient`, each patient's visits compared (ncs
 * compare) into OUT/<patient key>/; a line per patient on stdout. A study
 * without a patient, or a patient with one visit, is said and left out. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "batch.h"

typedef struct {
    char *path;
    char *patient; /* NULL: none */
} visit_ent;

static int cmp_visit(const void *a, const void *b)
{
    const visit_ent *x = a, *y = b;
    int c = strcmp(x->patient ? x->patient : "", y->patient ? y->patient : "");
    return c ? c : strcmp(x->path, y->path);
}

/* A folder name from a patient's text: letters, digits, '.', '_' and '-'
 * kept, anything else '_', at most 64 bytes; never hidden, never empty. */
static void patient_key(const char *patient, char *out, size_t n)
{
    size_t k = 0;
    for (const unsigned char *c = (const unsigned char *)patient; *c && k + 1 < n && k < 64; c++)
        out[k++] = isalnum(*c) || *c == '.' || *c == '_' || *c == '-' ? (char)*c : '_';
    out[k] = '\0';
    if (!k || out[0] == '.')
        out[0] = '_', out[k ? k : 1] = '\0';
}

/* Each study's patient (a study that does not load is said and left out). */
static size_t read_patients(const study_list *l, visit_ent *v, const options *o,
                            size_t *failed)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].status == ST_FAILED)
            continue;
        ncs_error err;
        ncs_study *st = ncs_study_load(l->v[i].path, NULL, &err);
        if (!st) {
            print_error(&err); /* (its visits are compared without it: exit 1) */
            (*failed)++;
            continue;
        }
        if (!st->patient && !o->quiet)
            diag(l->v[i].path, "warning", "no patient in [study]: not compared");
        v[n].path = l->v[i].path;
        v[n].patient = st->patient ? strdup(st->patient) : NULL;
        n++;
        ncs_study_destroy(st);
    }
    qsort(v, n, sizeof *v, cmp_visit);
    return n;
}

/* One patient's visits v[0 .. k) compared into OUT/<key>. */
static int compare_group(visit_ent *v, size_t k, const options *o, char used[][72], size_t nu)
{
    char key[72], out[4096 + 80];
    patient_key(v[0].patient, key, sizeof key);
    /* two patients whose keys meet: the second gets -2, -3 ... */
    char base[72];
    memcpy(base, key, sizeof key);
    for (int t = 2; t < 1000; t++) {
        int taken = !strcmp(key, "summary.csv") || !strcmp(key, "batch.json");
        for (size_t i = 0; i < nu && !taken; i++)
            taken = !strcmp(used[i], key);
        if (!taken)
            break;
        fmt(key, sizeof key, "%.60s-%d", base, t);
    }
    memcpy(used[nu], key, sizeof key);
    fmt(out, sizeof out, "%s/%s", o->out, key);
    char **dirs = calloc(k, sizeof *dirs);
    if (!dirs)
        return EXIT_OUTPUT;
    for (size_t i = 0; i < k; i++)
        dirs[i] = v[i].path;
    options oc = *o;
    oc.out = out;
    int rc = compare_run(dirs, k, &oc, 0);
    free(dirs);
    if (rc != EXIT_OK) {
        char msg[400];
        fmt(msg, sizeof msg, "the comparison of patient '%.200s' failed (%zu visits)",
            v[0].patient, k);
        diag(out, "error", msg);
    }
    return rc;
}

int run_batch_compare(const char *root, options *o)
{
    struct stat sb;
    if (stat(root, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        char msg[300];
        fmt(msg, sizeof msg, "not a folder%s%s", errno ? ": " : "", errno ? strerror(errno) : "");
        diag(root, "error", msg);
        return EXIT_INPUT;
    }
    study_list l = {0};
    l.root = root;
    l.quiet = o->quiet;
    int frc = batch_find_studies(&l);
    if (frc != 0) {
        batch_list_free(&l);
        return frc;
    }
    visit_ent *v = calloc(l.n ? l.n : 1, sizeof *v);
    char (*used)[72] = calloc(l.n ? l.n : 1, sizeof *used);
    if (!v || !used) {
        free(v);
        free(used);
        batch_list_free(&l);
        diag(root, "error", "out of memory");
        return EXIT_OUTPUT;
    }
    size_t failed = 0, groups = 0, n = read_patients(&l, v, o, &failed);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[i].patient && v[j].patient && !strcmp(v[i].patient, v[j].patient))
            j++;
        if (v[i].patient && j - i >= 2)
            failed += compare_group(v + i, j - i, o, used, groups++) != EXIT_OK;
        else if (v[i].patient && !o->quiet)
            diag(v[i].path, "warning", "the patient's only visit under ROOT: not compared");
        i = j;
    }
    if (!groups && !o->quiet)
        diag(root, "warning", "no patient with two visits or more: nothing compared");
    for (size_t i = 0; i < n; i++)
        free(v[i].patient);
    free(v);
    free(used);
    size_t failed_find = 0;
    for (size_t i = 0; i < l.n; i++)
        failed_find += l.v[i].status == ST_FAILED;
    batch_list_free(&l);
    return failed || failed_find ? EXIT_BATCH_FAILED : EXIT_OK;
}
