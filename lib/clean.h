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
    double white_mv;       /* the white noise alone in x (first differences) */
    double wander_mv;      /* how far the baseline moves: RMS of the means of
                              1 ms runs of quiet samples (what is left of
                              mains, drift or an artefact's tail, and the
                              white noise's share of a 1 ms mean) */
    size_t i_search;       /* first sample after the stimulus artefact */
    double art_amp_mv, art_tau_ms; /* fitted artefact A e^(-t/tau), 0 if none */
    double art_end_ms;     /* where the search for the response starts */
    double art_fall_ms;    /* where the fitted artefact falls into the noise
                              (later than art_end_ms when it overlaps the
                              response's start) */
    double stim_seen_ms;   /* an abrupt step, from the declared stimulus; NAN: none */
    double baseline_mv, drift_mv_per_s, mains_hz, mains_uv;
    double step_mv;        /* step of the baseline at the stimulus, 0: none */
    double rec_mv, rec_tau_ms; /* the amplifier's recovery subtracted: its
                                  level at the stimulus and time constant
                                  (rec_mv 0: none) */
    double force_mains_hz; /* mains tried only at this frequency (0: both) */
    double mains_gain[2];  /* the evidence for mains at 50 and at 60 Hz: the
                              fit's chi-square gain (0: none or implausible) */
    size_t n_quiet;        /* samples the baseline model was fitted on */
    /* the fitted background model, for the SD of its prediction under the
     * response (ncs_clean_model_sd) */
    struct {
        int k, cols[13];
        double inv[13][13];  /* (X'WX)^-1 over the model's columns (X'WX
                                itself until inverted is set) */
        int inverted;
        double s2;           /* residual variance per sample */
        int slope, step, rec;
        double rec_tau_s[3]; /* the recovery's time constants tried (rec: which) */
        double f_hz, tc, tspan, tau_s;
    } bg;
    /* the model's form in doubt: other backgrounds (the other mains, other
     * harmonics, none; with the recovery or without) that fit the quiet
     * samples nearly as well, and how far the farthest departs from the one
     * subtracted, at ALT_N points evenly across the response's stretch
     * [alt_a_ms, alt_b_ms] (alt_b_ms <= alt_a_ms: none); mV */
#define NCS_ALT_N 32
    double alt_a_ms, alt_b_ms;
    float alt_dev[NCS_ALT_N];
    /* mains taken from the gap's last HELD_MS before the response
     * [held_a_ms, held_b_ms] (held_b_ms <= held_a_ms: none): how far the
     * background fitted without that stretch departs there from the one
     * subtracted, at HELD_N points evenly across it; mV */
#define NCS_HELD_N 16
    double held_a_ms, held_b_ms;
    float held_dev[NCS_HELD_N];
    float held_sd[NCS_HELD_N]; /* the SD of the fit without it there */
    double held_mains_mv;      /* the part of the departure mains makes, at
                                  the stretch's end */
} ncs_clean;

/* What markers.c learnt about a trace's markers that bears on how sure
 * they are (uncertainty.c turns it into 95 % half-widths). Slopes are of
 * the smoothed trace, in mV/ms; NAN where unknown. */
typedef struct {
    double slope_on;      /* the edge where the onset's level is crossed */
    double reach_ms;      /* how far the onset was carried back from that
                             crossing to the 1 % level (0: crossed there) */
    double fit_sd_ms;     /* the carried-back onset's own SD, from its fit */
    double short_ms;      /* an onset at a crossing above the 1 % level, not
                             carried back: how much earlier a quadratic
                             take-off crosses 1 % (0: none) */
    double short_near_ms; /* the same for a quadratic take-off meeting the
                             edge's slope at that crossing (at most short_ms) */
    double base_shift_ms; /* onset against the local baseline minus onset
                             against the global one */
    double base_n;        /* samples of the local baseline (0: none) */
    double base_mv;       /* its level on the cleaned trace (0 where the
                             cleaning left the baseline exactly) */
    double base_mid_ms;   /* from the middle of that window to the onset */
    int positive_first;   /* the onset is a positive lobe's */
    double lobe_ms;       /* a positive bump just before the negative take-off,
                             too small to be called a lobe: how much earlier
                             the onset is if it is one (0: none) */
    int residue;          /* the bump before the negative take-off rose more
                             slowly than the negative phase: a residue of the
                             baseline, no lobe (its interval still reaches
                             back over it) */
    double hump_ms;       /* a recovery's hump, plateau or ramp as the
                             artefact ends, passed: how much later than its
                             own departure the take-off after it is (0: none) */
    double ramp_ms;       /* of that, a ramp's: the onset may still lie at
                             its start (a few fast fibres' straight foot
                             looks the same), so its interval reaches back
                             there (0: none) */
    double hump_base_mv;  /* and the trace's level where it turned (a ramp's
                             line at the negative peak, where that is
                             further): what the recovery still held as the
                             response began, some of which lies under its
                             peak (0: none) */
    double rise_ms;       /* onset to the negative peak */
    double edge_ms;       /* an onset overlapping the artefact, or on a trace
                             the cleaning fitted a recovery to (not a lobe's):
                             from it to where the trace first crosses 10 %
                             of the amplitude (0: not looked at) */
    double pull_ms;       /* the smoothing's pull the onset was corrected for
                             (0: none) */
    double slope_end;     /* where the negative phase returns to baseline */
    double amp_sd_mv;     /* SD of the peak's depth from its parabola's fit
                             (NAN: read off the smoothed trace) */
    double peak_sd_ms;    /* SD of the peak's time from that fit */
    double area_n;        /* samples in the negative phase */
} ncs_mark_detail;

/* How much earlier than the take-off itself the smoothing (a Gaussian of
 * sigma q) makes a take-off cross its 1 % level: q^2 / (2 T1) on a
 * quadratic foot, T1 the time it takes to reach 1 % (at least a sample),
 * at most q. markers.c moves an automatic onset on the negative take-off,
 * where 1 % was crossed (not carried back), later by it, T1 read off the
 * edge there (2 v / slope on a quadratic foot); uncertainty.c counts what
 * the correction may miss (a foot of another shape) and the pull where it
 * was not corrected (T1 a tenth of the rise). */
double ncs_smooth_pull_ms(double t1_ms, double dt_ms);

/* Fills m->u from what the trace shows, and flags the site `uncertain`
 * where an onset, amplitude or area interval is wider than twice its
 * target. */
void ncs_uncertainty_site(const ncs_clean *c, const ncs_mark_detail *d, ncs_markers *m);

/* Time (ms from the stimulus) of sample i. */
static inline double ncs_clean_t(const ncs_clean *c, double i)
{
    return c->t0_ms + i * c->dt_ms;
}

/* The SD (mV) of the fitted background's prediction at t_ms from the
 * stimulus: how well the subtracted model is known there, from the fit's own
 * residual; 0 when nothing was fitted. */
double ncs_clean_model_sd(const ncs_clean *c, double t_ms);

/* How far (mV) a background that fits the quiet samples nearly as well
 * as the one subtracted departs from it at t_ms (0 outside the response's
 * stretch, or where none does). */
double ncs_clean_alt_dev(const ncs_clean *c, double t_ms);
/* The earliest time from which, up to the held stretch's end, the
 * background fitted without that stretch departs from the one subtracted
 * by more than lvl_mv (NAN: nowhere at its end). */
double ncs_clean_held_from(const ncs_clean *c, double lvl_mv);

/* Its mean over [a_ms, b_ms]. */
double ncs_clean_alt_mean(const ncs_clean *c, double a_ms, double b_ms);

/* Cleans wave into c (buffers allocated here; free with ncs_clean_free). */
ncs_status ncs_clean_run(ncs_analyser *a, const ncs_wave *wave, ncs_clean *c);
void ncs_clean_free(ncs_clean *c);

#endif
