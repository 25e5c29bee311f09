/* testutil.h — small helpers shared by the Check suites (header-only). */
#ifndef NCS_TESTUTIL_H
#define NCS_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>

#include "ncs.h"

/* Markers of a response with the given onset, amplitude, area and
 * duration (everything else zero): segments and criteria from numbers. */
static inline ncs_markers tu_response(double onset, double amp, double area, double dur)
{
    ncs_markers m;
    memset(&m, 0, sizeof m);
    m.response = 1;
    m.onset_ms = onset;
    m.amp_mv = amp;
    m.neg_area_mvms = area;
    m.neg_dur_ms = dur;
    return m;
}

/* A fresh empty folder under $TMPDIR (or /tmp); the caller frees the name. */
static inline char *tu_tempdir(void)
{
    const char *base = getenv("TMPDIR");
    char *t = malloc(4096);
    snprintf(t, 4096, "%s/ncs-test-XXXXXX", base && *base ? base : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(t));
    return t;
}

static inline void tu_rmrf(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static inline void tu_write(const char *dir, const char *name, const char *text)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(text, 1, strlen(text), f);
    ck_assert_int_eq(fclose(f), 0);
}

/* Writes n samples of x through libsndfile in `format` (SF_FORMAT_*). For
 * integer formats x is in full-scale units (-1..1). */
static inline void tu_write_sf(const char *dir, const char *name, int format,
                               int rate, int channels, const double *x, size_t frames)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    SF_INFO info = {.samplerate = rate, .channels = channels, .format = format};
    SNDFILE *sf = sf_open(p, SFM_WRITE, &info);
    ck_assert_msg(sf != NULL, "sf_open %s: %s", p, sf_strerror(NULL));
    if ((format & SF_FORMAT_SUBMASK) == SF_FORMAT_FLOAT
        || (format & SF_FORMAT_SUBMASK) == SF_FORMAT_DOUBLE)
        sf_command(sf, SFC_SET_NORM_DOUBLE, NULL, SF_FALSE);
    ck_assert_int_eq(sf_writef_double(sf, x, (sf_count_t)frames), (sf_count_t)frames);
    ck_assert_int_eq(sf_close(sf), 0);
}

/* A simple test signal: a negative Gaussian at 8 ms plus a positive one. */
static inline double tu_signal(double t_ms)
{
    return -5.0 * exp(-0.5 * pow((t_ms - 8.0) / 1.0, 2))
           + 1.5 * exp(-0.5 * pow((t_ms - 11.0) / 1.5, 2));
}

#define TU_RUN(suite_fn)                                                   \
    int main(void)                                                        \
    {                                                                     \
        SRunner *sr = srunner_create(suite_fn());                         \
        srunner_run_all(sr, CK_NORMAL);                                   \
        int failed = srunner_ntests_failed(sr);                           \
        srunner_free(sr);                                                 \
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;                      \
    }

#endif
