/* internal.h — helpers shared by the library's files; not installed. */
#ifndef NCS_INTERNAL_H
#define NCS_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include "ncs.h"

#if defined(__GNUC__)
#define NCS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NCS_PRINTF(a, b)
/* Least-squares straight line y = slope * t + icpt, accumulated a point at
 * a time (artefact decay in clean.c, onset edge in markers.c). */
typedef struct {
    double st, sy, stt, sty;
    int n;
} ncs_linfit;

static inline void ncs_linfit_add(ncs_linfit *f, double t, double y)
{
    f->st += t;
    f->sy += y;
    f->stt += t * t;
    f->sty += t * y;
    f->n++;
}

/* Returns 0 and the line when at least 3 points span more than one t. */
static inline int ncs_linfit_solve(const ncs_linfit *f, double *slope, double *icpt)
{
    double den = f->n * f->stt - f->st * f->st;
    if (f->n < 3 || !(den > 0))
        return -1;
    *slope = (f->n * f->sty - f->st * f->sy) / den;
    *icpt = (f->sy - *slope * f->st) / f->n;
    return 0;
}

#endif

/* Fills err (may be NULL) and returns code, so callers can `return ncs_fail(...)`. */
ncs_status ncs_fail(ncs_error *err, ncs_status code, const char *where,
                    const char *fmt, ...) NCS_PRINTF(4, 5);

/* Appends a warning; never fails the caller (see ncs_warnings). */
void ncs_warn(ncs_warnings *w, const char *where, const char *code,
              const char *fmt, ...) NCS_PRINTF(4, 5);

char *ncs_strdup(const char *s);                      /* NULL on NULL or no memory */
char *ncs_asprintf(const char *fmt, ...) NCS_PRINTF(1, 2); /* NULL on no memory */

/* Levenshtein distance, capped at 255, for "did you mean". */
int ncs_edit_distance(const char *a, const char *b);

/* The candidate nearest to word, or NULL when none is close enough to help. */
const char *ncs_nearest(const char *word, const char *const *candidates, size_t n);

/* Locale-independent strict number parsing: the whole string (after trimming
 * spaces) must be a finite number. Returns 0 on success. */
int ncs_parse_double(const char *s, double *out);
int ncs_parse_int(const char *s, long *out);

/* Least-squares straight line y = slope * t + icpt, accumulated a point at
 * a time (artefact decay in clean.c, onset edge in markers.c). */
typedef struct {
    double st, sy, stt, sty;
    int n;
} ncs_linfit;

static inline void ncs_linfit_add(ncs_linfit *f, double t, double y)
{
    f->st += t;
    f->sy += y;
    f->stt += t * t;
    f->sty += t * y;
    f->n++;
}

/* Returns 0 and the line when at least 3 points span more than one t. */
static inline int ncs_linfit_solve(const ncs_linfit *f, double *slope, double *icpt)
{
    double den = f->n * f->stt - f->st * f->st;
    if (f->n < 3 || !(den > 0))
        return -1;
    *slope = (f->n * f->sty - f->st * f->sy) / den;
    *icpt = (f->sy - *slope * f->st) / f->n;
    return 0;
}

#endif
