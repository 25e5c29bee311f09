/* linalg.c — the small dense solvers the library needs (the background
 * model's normal equations in clean.c, the parabolas of markers.c). */
#include <math.h>

#include "internal.h"

int ncs_solve_many(double *a, int lda, double *b, int ldb, int k, int m)
{
#define A(r, c) a[(r) * lda + (c)]
#define B(r, j) b[(r) * ldb + (j)]
    /* ncs_solve's steps, each right-hand side (a column of b) getting the
     * very operations ncs_solve would give it */
    for (int c = 0; c < k; c++) {
        int piv = c;
        double top = fabs(A(c, c)); /* fabs(A(piv, c)) */
        for (int r = c + 1; r < k; r++)
            if (fabs(A(r, c)) > top) {
                piv = r;
                top = fabs(A(r, c));
            }
        if (!(top >= 1e-12))
            return -1;
        if (piv != c) {
            for (int j = 0; j < k; j++) {
                double t = A(c, j);
                A(c, j) = A(piv, j);
                A(piv, j) = t;
            }
            for (int j = 0; j < m; j++) {
                double t = B(c, j);
                B(c, j) = B(piv, j);
                B(piv, j) = t;
            }
        }
        /* (column c below the diagonal is not updated: it is never read
         * again) */
        for (int r = c + 1; r < k; r++) {
            double f = A(r, c) / A(c, c);
            for (int j = c + 1; j < k; j++)
                A(r, j) -= f * A(c, j);
            if (m == 1)
                B(r, 0) -= f * B(c, 0);
            else
                for (int j = 0; j < m; j++)
                    B(r, j) -= f * B(c, j);
        }
    }
    for (int c = k - 1; c >= 0; c--)
        for (int q = 0; q < m; q++) {
            for (int j = c + 1; j < k; j++)
                B(c, q) -= A(c, j) * B(j, q);
            B(c, q) /= A(c, c);
        }
    return 0;
#undef A
#undef B
}

int ncs_solve(double *a, int lda, double *b, int k)
{
    return ncs_solve_many(a, lda, b, 1, k, 1);
}

int ncs_chol(double *a, int lda, int k, double *inv)
{
#define A(r, c) a[(r) * lda + (c)]
    /* A = L L' (L over A's lower triangle); the diagonal's reciprocals kept
     * (a multiplication where a division would hold up each next step) */
    for (int j = 0; j < k; j++) {
        double d = A(j, j);
        for (int q = 0; q < j; q++)
            d -= A(j, q) * A(j, q);
        if (!(d >= 1e-12))
            return j;
        A(j, j) = sqrt(d);
        inv[j] = 1.0 / A(j, j);
        for (int r = j + 1; r < k; r++) {
            double v = A(r, j);
            for (int q = 0; q < j; q++)
                v -= A(r, q) * A(j, q);
            A(r, j) = v * inv[j];
        }
    }
    return k;
}

void ncs_chol_forward(const double *a, int lda, const double *inv, double *b, int k)
{
    for (int r = 0; r < k; r++) {
        double v = b[r];
        for (int q = 0; q < r; q++)
            v -= A(r, q) * b[q];
        b[r] = v * inv[r];
    }
}

void ncs_chol_back(const double *a, int lda, const double *inv, double *b, int k)
{
    for (int r = k - 1; r >= 0; r--) {
        double v = b[r];
        for (int q = r + 1; q < k; q++)
            v -= A(q, r) * b[q];
        b[r] = v * inv[r];
    }
#undef A
}

int ncs_solve_spd(double *a, int lda, double *b, int k)
{
    /* A = L L', then L y = b, L' x = y */
    double inv[64];
    if (k > 64 || ncs_chol(a, lda, k, inv) < k)
        return -1;
    ncs_chol_forward(a, lda, inv, b, k);
    ncs_chol_back(a, lda, inv, b, k);
    return 0;
}
