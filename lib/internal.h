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
#endif

/* Fills err (may be NULL) and returns code, so callers can `return ncs_fail(...)`. */
ncs_status ncs_fail(ncs_error *err, ncs_status code, const char *where,
                    const char *fmt, ...) NCS_PRINTF(4, 5);

/* Appends a warning; never fails the caller (see ncs_warnings). */
void ncs_warn(ncs_warnings *w, const char *where, const char *code,
              const char *fmt, ...) NCS_PRINTF(4, 5);

/* "ini-key", "path" ...: the kind of an error, as the code of a warning-list
 * entry of severity error. Never NULL. */
const char *ncs_status_token(ncs_status code);

char *ncs_strdup(const char *s);                      /* NULL on NULL or no memory */
char *ncs_asprintf(const char *fmt, ...) NCS_PRINTF(1, 2); /* NULL on no memory */

/* items[0..count) joined by sep into buf (always NUL-terminated, cut to
 * n). Returns buf. */
char *ncs_join(char *buf, size_t n, const char *const *items, size_t count, const char *sep);

/* Levenshtein distance, capped at 255, for "did you mean". */
int ncs_edit_distance(const char *a, const char *b);

/* The candidate nearest to word, or NULL when none is close enough to help. */
const char *ncs_nearest(const char *word, const char *const *candidates, size_t n);

/* Locale-independent strict number parsing: the whole string (after trimming
 * spaces) must be a finite number. Returns 0 on success. */
int ncs_parse_double(const char *s, double *out);
int ncs_parse_int(const char *s, long *out);

/* edf.c: the physical value of a digital sample, and the samples of one
 * signal over records [first, first + n) into out (physical units, clamped
 * to the digital range; *clipped counts samples at its extremes). Returns
 * the samples written: spr x n. */
double ncs_edf_physical(const ncs_edf_signal *s, int digital);
size_t ncs_edf_read(const ncs_edf *e, const void *data, int signal, long first_record,
                    long n_records, double *out, size_t *clipped);

/* criteria.c: a median dml-demyelinating finding with a forearm CV out of
 * the demyelinating range (a carpal-tunnel pattern) marked not counted. */
void ncs_criteria_carpal_tunnel(ncs_nerve_result *nr);

/* sides.c: the side-to-side pairs of r (r->sides, r->sides_summary), with
 * an `asymmetric` warning for each. */
ncs_status ncs_sides_compare(ncs_results *r, ncs_error *err);

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

/* Where the least of v[i0..i1) below m0 (most: the largest above it)
 * first stands (k0 when none is beyond it; NaNs never are): what a loop
 * keeping each strict improvement on (m0, k0) finds (the peaks of clean.c
 * and markers.c). The extreme first, in four running extremes (a single
 * one waits on each comparison in turn), then its first place. (most is a
 * constant at every call: the compiler keeps one comparison.) */
static inline size_t ncs_first_extreme(const double *v, size_t i0, size_t i1, double m0,
                                       size_t k0, int most)
{
#define NCS_BEYOND(x, y) (most ? (x) > (y) : (x) < (y))
    double m[4] = {m0, m0, m0, m0};
    size_t i = i0;
    for (; i + 4 <= i1; i += 4)
        for (int j = 0; j < 4; j++)
            m[j] = NCS_BEYOND(v[i + j], m[j]) ? v[i + j] : m[j];
    for (; i < i1; i++)
        m[0] = NCS_BEYOND(v[i], m[0]) ? v[i] : m[0];
    double ex = m[0];
    for (int j = 1; j < 4; j++)
        ex = NCS_BEYOND(m[j], ex) ? m[j] : ex;
    if (!NCS_BEYOND(ex, m0))
        return k0;
#undef NCS_BEYOND
    for (i = i0; !(v[i] == ex); i++)
        ;
    return i;
}

static inline size_t ncs_first_least(const double *v, size_t i0, size_t i1, double m0,
                                     size_t k0)
{
    return ncs_first_extreme(v, i0, i1, m0, k0, 0);
}

static inline size_t ncs_first_most(const double *v, size_t i0, size_t i1, double m0,
                                    size_t k0)
{
    return ncs_first_extreme(v, i0, i1, m0, k0, 1);
}

/* Solves the k x k system A x = b by Gaussian elimination with partial
 * pivoting (linalg.c). A is row-major with row stride lda; A and b are
 * overwritten, x is left in b. Returns -1 when A is (nearly) singular. */
int ncs_solve(double *a, int lda, double *b, int k);

/* Solves A x = b for a symmetric positive-definite A (a normal matrix) by
 * Cholesky's factorisation, half the work of ncs_solve; only the lower
 * triangle of A is read, and it is overwritten by the factor; x is left in
 * b (k at most 64). Returns -1 when A is not positive definite or nearly
 * singular (a pivot under 1e-12, as ncs_solve's). */
int ncs_solve_spd(double *a, int lda, double *b, int k);

/* ncs_solve_spd's steps apart, for models whose columns are the leading
 * ones of a larger model's: the factor of a leading k' x k' block is the
 * leading part of the whole factor, and so is the forward substitution, so
 * one factorisation serves them all with ncs_solve_spd's very arithmetic.
 * ncs_chol factors A's lower triangle in place (inv: the diagonal's
 * reciprocals, k of them) and returns how many leading columns it
 * factored: k, or the first whose pivot is under 1e-12 (a model of more
 * columns than that is singular). ncs_chol_forward solves L y = b and
 * ncs_chol_back L' x = y, in b, over the leading k. */
int ncs_chol(double *a, int lda, int k, double *inv);
void ncs_chol_forward(const double *a, int lda, const double *inv, double *b, int k);
void ncs_chol_back(const double *a, int lda, const double *inv, double *b, int k);

/* The 95 % half-width of the difference of two sites' onsets (segments.c):
 * their independent parts in quadrature, the part they share
 * (onset_common_ms) only as far as it differs between them. */
double ncs_onset_diff_u(const ncs_site_uncertainty *a, const ncs_site_uncertainty *b);

/* A drop of 100 % (no proximal response) with its half-width u: the least
 * it can be, 100 less what the noise could hide, never below 0 (0: the
 * absent response says nothing of the drop); NAN for any other drop. */
double ncs_drop_least(double v, double u);
/* Site m's onset interval widened to ex (it may be off by that much), its
 * duration's with it; past its limit the site is uncertain — in its onset
 * and in its area, which an onset that far off cuts short or stretches —
 * why given by `why` (NCS_UNCERTAIN_* bits). Returns whether it is. */
int ncs_widen_onset(ncs_markers *m, double ex, unsigned why);
/* The `channel` warning: a file of several channels read at channel 1
 * because channel = was not given (wave.c; the analysis says it too). */
void ncs_wave_warn_channel(const ncs_site *site, const ncs_wave *w, const char *where,
                           ncs_warnings *warn);
/* ncs_solve for the m right-hand sides in the columns of b (k rows, row
 * stride ldb) at once: each column solved exactly as ncs_solve would. */
int ncs_solve_many(double *a, int lda, double *b, int ldb, int k, int m);

/* The summary line of one criteria set for a study (docs/criteria.md), a new
 * string; NULL on no memory (criteria.c). */
char *ncs_criteria_summary(ncs_criteria_id set, const ncs_results *r);

/* Whether ean2021-cidp has a distal-duration cut-off for the nerve. */
int ncs_criteria_has_distal_duration(const char *nerve);

/* the nerve names of docs/study-folder.md, canonical first; the last is "peroneal", which
 * is read as fibular (study.c). */
#define NCS_N_NERVE_NAMES 10
extern const char *const ncs_nerve_names[NCS_N_NERVE_NAMES];

/* Whether s may be a study's id (study.c; the rule of docs/study-folder.md). */
int ncs_id_valid(const char *s);

/* ---- text files for libinih (textfile.c) ---- */

/* Configures libinih for docs/study-folder.md (once per process, thread-safe). */
void ncs_ini_setup(void);

/* ---- inputs (inputs.c) ---- */

/* Reads the whole file (ncs_open_input's checks; at most limit bytes,
 * NUL-terminated) and its hash (hash may be NULL). NULL with err filled:
 * NCS_ERR_IO (errno kept: ENOENT for a missing file), NCS_ERR_PATH,
 * NCS_ERR_LIMIT (larger than limit), NCS_ERR_NOMEM. */
char *ncs_read_input(const char *path, const char *inside, size_t limit, size_t *len,
                     ncs_hash *hash, ncs_error *err);

/* ncs_norms_load(), the file also required to lie inside the resolved
 * folder `inside` (a study's own table) when inside is not NULL. */
ncs_status ncs_norms_load_from(ncs_norms *norms, const char *path, const char *inside,
                               ncs_error *err);

/* A fingerprint made of several hashes, in order. */
typedef struct {
    void *st;
} ncs_hash_state;
void ncs_hash_start(ncs_hash_state *s);
void ncs_hash_add(ncs_hash_state *s, const ncs_hash *h);
/* hex: 32 hex digits; -1 when out of memory (at the start) */
int ncs_hash_end(ncs_hash_state *s, char hex[NCS_HASH_HEX]);

/* A text being fed to ini_parse_stream() a line at a time. */
typedef struct {
    const char *buf;
    size_t len, pos;
    int lineno;          /* of the line last returned */
    const char *what;    /* "study.ini", "the normative table" (for messages) */
    ncs_status code;     /* on error */
    char msg[160];
} ncs_text;

/* Copies the next line into str (at most num bytes): 1, or 0 at the end,
 * or -1 when the line is not text or too long (code and msg set). */
int ncs_text_next_line(ncs_text *t, char *str, int num);

#endif
