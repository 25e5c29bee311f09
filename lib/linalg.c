/* linalg.c — the one small dense solver the library needs (the background
 * model's normal equations in clean.c, the parabolas of markers.c). */
#include <math.h>

#include "internal.h"

int ncs_solve(double *a, int lda, double *b, int k)
{
#define A(r, c) a[(r) * lda + (c)]
    for (int c = 0; c < k; c++) {
        int piv = c;
        for (int r = c + 1; r < k; r++)
            if (fabs(A(r, c)) > fabs(A(piv, c)))
                piv = r;
        if (!(fabs(A(piv, c)) >= 1e-12))
            return -1;
        if (piv != c) {
            for (int j = 0; j < k; j++) {
                double t = A(c, j);
                A(c, j) = A(piv, j);
                A(piv, j) = t;
            }
            double t = b[c];
            b[c] = b[piv];
            b[piv] = t;
        }
        for (int r = c + 1; r < k; r++) {
            double f = A(r, c) / A(c, c);
            for (int j = c; j < k; j++)
                A(r, j) -= f * A(c, j);
            b[r] -= f * b[c];
        }
    }
    for (int c = k - 1; c >= 0; c--) {
        for (int j = c + 1; j < k; j++)
            b[c] -= A(c, j) * b[j];
        b[c] /= A(c, c);
    }
    return 0;
#undef A
}
