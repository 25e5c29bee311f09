/* clean.h — what clean.c hands markers.c: one trace with the stimulus
 * artefact, baseline, drift and mains removed, its smoothed copy for finding
 * markers in noise, and the noise levels. Internal to the library. */
#ifndef NCS_CLEAN_H
#define NCS_CLEAN_H

#include "ncs.h"

typedef struct {
    size_t n;
    double fs_hz, dt_ms;
    double t0_ms;          /* time of sample 0 from the stimulus (-stim_ms) */
    double *x;             /* cleaned samples, mV */
    double *s;             /* x smoothed (zero-phase Gaussian), mV */
    double sigma_mv;       /* RMS noise of x over the quiet samples */
    double base_noise_mv;  /* RMS of x over the baseline before the response
                              (pre-stimulus, else the quiet gap): noise_uv */
    double sigma_s_mv;     /* RMS noise of s over the quiet samples */
    double white_s_mv;     /* the white noise alone in s: the record's noise
                              from its first differences, times the gain of
                              the smoothing (what is left of interference or
                              a response's tail in the quiet samples does not
                              count) */
    size_t i_search;       /* first sample after the stimulus artefact */
    double art_amp_mv, art_tau_ms; /* fitted artefact A e^(-t/tau), 0 if none */
    double art_end_ms;     /* where the search for the response starts */
    double art_fall_ms;    /* where the fitted artefact falls into the noise
                              (later than art_end_ms when it overlaps the
                              response's start) */
    double stim_seen_ms;   /* an abrupt step, from the declared stimulus; NAN: none */
    double baseline_mv, drift_mv_per_s, mains_hz, mains_uv;
    double step_mv;        /* step of the baseline at the stimulus, 0: none */
    size_t n_quiet;        /* samples the baseline model was fitted on */
} ncs_clean;

/* Time (ms from the stimulus) of sample i. */
static inline double ncs_clean_t(const ncs_clean *c, double i)
{
    return c->t0_ms + i * c->dt_ms;
}

/* Cleans wave into c (buffers allocated here; free with ncs_clean_free). */
ncs_status ncs_clean_run(ncs_analyser *a, const ncs_wave *wave, ncs_clean *c);
void ncs_clean_free(ncs_clean *c);

#endif
