/*
 * ncs_synth.h — synthetic nerve-conduction studies with known truth
 * (README: Samples and the synthetic generator). Used by the tests, the benchmarks and `make samples`; not part
 * of the analysis API in ncs.h.
 *
 * The model: a nerve is a population of motor units, each with its own
 * conduction velocity, terminal latency, MUAP amplitude and MUAP time
 * constant. Stimulating at a site evokes every unit that conducts from there
 * to the muscle; the CMAP is the sum of the units' MUAPs, each delayed by its
 * own latency. A MUAP is the zero-area biphasic wave
 *     m(t) = -a * s^2 (3 - s) e^-s / 0.7837,  s = t / tau,  t >= 0,
 * negative first (the endplate is under the active electrode), so temporal
 * dispersion cancels phases as it does in a real nerve. Lesions act per
 * segment: conduction block removes a fraction of the units for every site
 * proximal to the segment, demyelination slows and disperses the units'
 * velocities in the segment, axonal loss removes units everywhere.
 *
 * Everything is deterministic for a given seed (own PRNG, no global state).
 */
#ifndef NCS_SYNTH_H
#define NCS_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "ncs.h"

#ifdef __cplusplus
extern "C" {
#endif

/* xoshiro256** — small, fast, seedable; state in the caller's struct. */
typedef struct {
    uint64_t s[4];
} ncs_rng;

void ncs_rng_seed(ncs_rng *r, uint64_t seed);
double ncs_rng_uniform(ncs_rng *r);             /* [0, 1) */
double ncs_rng_normal(ncs_rng *r);              /* mean 0, sd 1 */

/* What the noise-free waveform measures under the definitions of
 * docs/measurements.md. */
typedef struct {
    int response;        /* 0 when every unit is blocked or lost */
    double onset_ms;     /* first departure beyond 1 % of the negative peak,
                            either way */
    double peak_ms, amp_mv, p2p_mv;
    double dur_ms;       /* onset to the return to baseline after the last
                            negative peak */
    double area_mvms;    /* area of the part below baseline over the negative
                            phase, positive */
    int neg_peaks;       /* negative peaks (minima deeper than 10 % of amp_mv,
                            each rising 10 % of amp_mv from the one before) */
    int initial_positivity; /* the onset is a positive departure */
} ncs_synth_truth;

/* Per segment lesion. Segment 0 is the distal part, from the first site to
 * the muscle; segment k (k >= 1) lies between site k-1 and site k. */
typedef struct {
    double block;        /* fraction of conducting units blocked here, 0..1 */
    double slowing;      /* CV multiplier here (1 or 0 = none; 0.6 = slowed) */
    double dispersion;   /* extra per-unit CV spread here (sd fraction) */
    double split;        /* fraction of units slowed much more here (a split
                            response: two components) */
    double split_slowing;/* their CV multiplier (0: 0.55) */
} ncs_synth_lesion;

/* The shape of one motor unit's potential (MUAP). Families of waveforms the
 * tests hold the measurement to, beyond the one it was first tuned on. */
typedef enum {
    NCS_SYNTH_MUAP_BIPHASIC = 0, /* s^2 (3 - s) e^-s: quadratic take-off */
    NCS_SYNTH_MUAP_LEADING_POS,  /* the same after a positive lobe (the active
                                    electrode off the motor point) */
    NCS_SYNTH_MUAP_GAUSS_DERIV,  /* derivative of a Gaussian: symmetric phases */
    NCS_SYNTH_MUAP_QUARTIC,      /* s^4 (5 - s) e^-s: a slow quartic take-off
                                    and a sharp peak */
    NCS_SYNTH_MUAP__COUNT
} ncs_synth_muap;

typedef struct {
    int n_units;         /* motor units, e.g. 120 */
    double amp_mv;       /* negative-peak amplitude of the distal CMAP before
                            axonal loss */
    double cv_m_s;       /* mean unit conduction velocity */
    double cv_sd;        /* unit CV spread, sd as a fraction of the mean */
    double terminal_ms;  /* neuromuscular and terminal delay */
    double tau_ms;       /* MUAP time constant (negative phase = 3 tau) */
    double axonal_loss;  /* fraction of units lost everywhere, 0..1 */
    ncs_synth_muap shape;/* the units' potential shape */
    double lead_pos;     /* LEADING_POS: the positive lobe, a fraction of the
                            unit's negative peak (0: 0.2) */
} ncs_synth_nerve_params;

#define NCS_SYNTH_MAX_SITES 16

typedef struct ncs_synth_model ncs_synth_model;

/* Builds the unit population of one nerve for n_sites sites whose
 * distance_mm follow docs/study-folder.md (first: to the electrode, then from the
 * previous site). lesions has n_sites entries (see ncs_synth_lesion) or is
 * NULL. Returns NULL on bad arguments or no memory. */
ncs_synth_model *ncs_synth_model_create(const ncs_synth_nerve_params *p,
                                        size_t n_sites, const double *distance_mm,
                                        const ncs_synth_lesion *lesions,
                                        uint64_t seed);
void ncs_synth_model_destroy(ncs_synth_model *m);

/* The noise-free CMAP for stimulation at `site`, at t_ms after the stimulus. */
double ncs_synth_model_eval(const ncs_synth_model *m, size_t site, double t_ms);

/* the measures of docs/measurements.md of the noise-free CMAP at `site`. */
void ncs_synth_model_truth(const ncs_synth_model *m, size_t site,
                           ncs_synth_truth *t);

/* Recording conditions (up to those of the accuracy targets, README). */
typedef struct {
    double fs_hz;
    double sweep_ms;
    double pre_ms;           /* stimulus time from the first sample */
    double noise_uv;         /* white noise RMS */
    double mains_uv;         /* fundamental amplitude (harmonics 2,3 at 0.5, 0.3) */
    double mains_h5;         /* the 5th harmonic, as a share of the fundamental
                                (0: none; a supply's odd harmonics) */
    double mains_hz;         /* 50 or 60 */
    double dc_mv;
    double drift_mv;         /* linear drift over the sweep */
    double artefact_mv;      /* stimulus artefact peak */
    double artefact_tau_ms;
    int artefact_sign;       /* +1 or -1 */
    double clip_mv;          /* > 0: the amplifier saturates at +-clip_mv */
    int inverted;            /* store the trace with inverted polarity */
    /* amplifier recovery after the stimulus (0: none): an overshoot of the
     * other sign decaying more slowly, and a step of the baseline that
     * persists after the stimulus */
    double recovery_mv, recovery_tau_ms;
    double step_mv;
} ncs_synth_cond;

/* Renders the recorded trace (conditions applied) into out[n], n =
 * fs_hz * sweep_ms / 1000 rounded. rng drives noise and phases. */
void ncs_synth_render(const ncs_synth_model *m, size_t site,
                      const ncs_synth_cond *c, ncs_rng *rng, double *out, size_t n);

/* Conditions scaled by `level` in [0, 1] to the worst the accuracy targets allow (level 1), or
 * past it for level > 1 (hostile: 2 gives 50 uV noise, 250 uV mains, 15 mV
 * artefact). fs, pre-trigger and mains frequency are drawn from rng. */
void ncs_synth_random_cond(ncs_rng *rng, double level, double sweep_ms,
                           ncs_synth_cond *c);

/* ---- whole studies ------------------------------------------------------- */

typedef enum {
    NCS_SYNTH_WAV_FLOAT = 0,
    NCS_SYNTH_WAV_PCM16,
    NCS_SYNTH_WAV_PCM24,
    NCS_SYNTH_FLAC,
    NCS_SYNTH_CSV_TIME,
    NCS_SYNTH_CSV_VALUES,
    NCS_SYNTH__FORMATS
} ncs_synth_format;

typedef struct {
    char name[32];
    double distance_mm;
    ncs_synth_lesion lesion;  /* the segment ending at this site */
    ncs_synth_cond cond;
    ncs_synth_format format;
} ncs_synth_site;

typedef struct {
    char nerve[24], side[8], muscle[16];
    ncs_synth_nerve_params p;
    size_t n_sites;
    ncs_synth_site sites[NCS_SYNTH_MAX_SITES];
} ncs_synth_nerve;

#define NCS_SYNTH_MAX_NERVES 8

typedef struct {
    char id[64];
    char scenario[32];
    double temperature_c;
    uint64_t seed;
    size_t n_nerves;
    ncs_synth_nerve nerves[NCS_SYNTH_MAX_NERVES];
    int edf;             /* every site a record of one EDF+D file (ncs_synth_as_edf) */
    char patient[64];    /* study.ini's patient = (empty: not written) */
    char date[16];       /* study.ini's date = (empty: not written) */
    uint64_t model_seed; /* the nerves' motor units (0: from seed); one
                            patient's visits share it, their noise differs */
} ncs_synth_study;

/* Makes the study one EDF+D file, <id>.edf, as an EMG machine exports it:
 * every site a data record named by an annotation ("Median R Wrist") at
 * the stimulus, all at one rate and sweep (the first site's rate, the
 * longest sweep). */
void ncs_synth_as_edf(ncs_synth_study *s);

/* The scenarios of samples/: "normal", "mmn", "cidp", "als",
 * "carpal-tunnel", "inching", and one MMN patient's visits under IVIg,
 * "followup-v1", "followup-v2", "followup-v3" (the same patient and units,
 * dated six weeks apart: a block recovering in ulnar.right, a block
 * spreading in median.right, a stable block in median.left). level scales the recording conditions (see
 * ncs_synth_random_cond). Returns 0, or -1 for an unknown scenario. */
int ncs_synth_scenario(ncs_synth_study *s, const char *scenario, const char *id,
                       uint64_t seed, double level);
extern const char *const ncs_synth_scenarios[]; /* NULL-terminated */

/* Writes the study folder `dir` (created; must not exist or be empty):
 * study.ini, one file per site in its format, and truth.json (the
 * noise-free measures per site and the drops per segment). */
ncs_status ncs_synth_write(const ncs_synth_study *s, const char *dir,
                           ncs_error *err);

/* An EDF+ file as EMG machines export one: a data record per stimulation
 * (EDF+D; EDF+C with continuous set), one EMG signal of spr samples per
 * record at fs_hz, stored as 16 bits over +-phys_max in `unit` (default
 * mV), and per record a time-keeping TAL and the annotation naming the
 * site at stim_ms into the record. */
typedef struct {
    const double *x;        /* spr samples, in the file's unit */
    const char *annotation; /* may be NULL */
    double start_s;         /* EDF+D: the record's start from the file's */
    double stim_ms;         /* where the annotation lies in the record */
} ncs_synth_edf_record;

typedef struct {
    size_t n_records, spr;
    double fs_hz, phys_max;
    const char *label, *unit, *patient; /* NULL: "EMG", "mV", "X X X X" */
    int continuous;
    const ncs_synth_edf_record *records;
} ncs_synth_edf;

/* The file's bytes (malloc'd, *n set), or NULL when out of memory. */
unsigned char *ncs_synth_edf_bytes(const ncs_synth_edf *e, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
