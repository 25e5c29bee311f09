/*
 * ncs.h — nerve-conduction-study analysis library.
 *
 * The one public header of libncs. Everything the `ncs` command does goes
 * through the functions declared here; the library never prints and never
 * exits. Errors come back as an ncs_status plus an ncs_error the caller owns,
 * warnings as entries appended to an ncs_warnings list the caller owns.
 *
 * Units are in every name: _ms milliseconds, _mv millivolts, _mm millimetres,
 * _hz hertz, _m_s metres per second, _mvms millivolt-milliseconds.
 * A value that was not given or could not be measured is NAN (never 0);
 * test with isnan().
 *
 * Data flow, one stage per file of lib/ (docs/ describes each in full):
 *   study.ini --study.c--> ncs_study --wave.c--> ncs_wave (mV, once, at load)
 *   ncs_wave --clean.c, markers.c--> ncs_markers (per trace)
 *   markers --segments.c--> ncs_segment --norms.c, criteria.c--> categories
 *   analyse.c: a whole study --> ncs_results --> results_json.c,
 *   results_csv.c, table.c, report.c + gnuplot.c
 *
 * Thread safety: all state lives in the objects the caller holds; distinct
 * objects may be used from distinct threads at the same time (one
 * ncs_analyser per thread). What the process shares is guarded: libinih is
 * configured once (pthread_once) and FFTW's planner, which is not
 * thread-safe, is serialised by one lock inside the library. A report runs
 * gnuplot as a child process (every descriptor it makes is close-on-exec)
 * and blocks SIGPIPE only in the calling thread while it writes to it.
 * Nothing here changes the locale, the working folder or a signal
 * disposition of the process. Two things an application embedding libncs
 * should know: libinih's process-wide settings are set once for study.ini's
 * syntax (comments after ';' and '#'), and the FFTW lock covers libncs's own
 * planning only (an application planning FFTs in other threads serialises
 * its own). libsndfile reports a failed open through a process-wide
 * message, so two threads failing to open files at once may each read the
 * other's reason.
 */
#ifndef NCS_H
#define NCS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version, in one place (the Makefile and the man page read it here). */
#define NCS_VERSION "0.1.0"

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

typedef enum {
    NCS_OK = 0,
    NCS_ERR_NOMEM,         /* an allocation failed */
    NCS_ERR_USAGE,         /* a caller passed an invalid argument */
    NCS_ERR_NOT_STUDY,     /* folder has no readable study.ini */
    NCS_ERR_IO,            /* a file could not be opened or read */
    NCS_ERR_INI_SYNTAX,    /* study.ini is not valid INI (or not text) */
    NCS_ERR_INI_SECTION,   /* unknown or malformed section name */
    NCS_ERR_INI_KEY,       /* unknown key */
    NCS_ERR_INI_MISSING,   /* a required key is missing */
    NCS_ERR_INI_VALUE,     /* a value is malformed or out of range */
    NCS_ERR_INI_DUPLICATE, /* a section or key appears twice */
    NCS_ERR_PATH,          /* a file path leaves the study folder */
    NCS_ERR_WAVE_FORMAT,   /* a waveform cannot be decoded */
    NCS_ERR_WAVE_RANGE,    /* rate, sweep or channel outside the accepted range */
    NCS_ERR_WAVE_VALUE,    /* a sample is not finite */
    NCS_ERR_LIMIT,         /* an input exceeds a safety limit (size, count) */
    NCS_ERR_OUTPUT,        /* an output file could not be written */
    NCS_ERR_REPORT,        /* a report could not be made (gnuplot missing or failed) */
    NCS_ERR_VISITS,        /* studies that cannot be compared as one patient's visits
                              (patients differ, a date missing or repeated) */
    NCS_ERR__COUNT
} ncs_status;

/* Detail of the error of one call. `where` is a file[:line] or
 * <study>/<nerve>.<side>.<site>; `message` says what is wrong.
 *
 * A call that reports every error of an input at once (ncs_study_load: all
 * the errors of a study.ini) fills this struct with the first one and
 * appends the next ones, up to NCS_MAX_ERRORS in all, to the ncs_warnings
 * list the caller passed, as entries of severity NCS_SEVERITY_ERROR in the
 * order they were found. n_errors counts every error the call found, those
 * not kept included: n_errors - NCS_MAX_ERRORS were not kept when it is
 * larger. Every other call fails at its first error: n_errors is 1 (0 after
 * ncs_error_clear and on success). */
typedef struct {
    ncs_status code;
    char where[1024];
    char message[1024];
    unsigned n_errors;
} ncs_error;

/* The most errors one call keeps (the first in ncs_error, the others in the
 * warnings list); further ones are only counted (ncs_error.n_errors). */
#define NCS_MAX_ERRORS 20

/* A short fixed description of a status code ("study.ini: unknown key").
 * Never NULL; an out-of-range code gives "unknown error". */
const char *ncs_strerror(ncs_status code);

/* Clears err (code NCS_OK, empty strings). err may be NULL. */
void ncs_error_clear(ncs_error *err);

/* ------------------------------------------------------------------------ */
/* Warnings                                                                 */
/* ------------------------------------------------------------------------ */

typedef enum {
    NCS_SEVERITY_WARNING = 0, /* the call went on: a value to look at */
    NCS_SEVERITY_ERROR = 1    /* an error after the first of a call that
                                 failed (see ncs_error) */
} ncs_severity;

typedef struct {
    char *where;   /* file[:line] or <study>/<nerve>.<side>.<site> */
    char *code;    /* short token: "low-rate", "no-response", ...; for an
                      error, the kind of error ("ini-key", "ini-value",
                      "ini-missing", "path", ...) */
    char *message; /* one sentence for a person */
    ncs_severity severity;
} ncs_warning;

/* A growable list the caller owns. Initialise with {0}; free with
 * ncs_warnings_free(). Appending never fails the operation it reports on:
 * when memory runs out the warning is dropped and `dropped` counts it. */
typedef struct {
    ncs_warning *items;
    size_t count, cap;
    size_t dropped;
} ncs_warnings;

void ncs_warnings_free(ncs_warnings *w);

/* ------------------------------------------------------------------------ */
/* Study model (study.c) — docs/study-folder.md                                 */
/* ------------------------------------------------------------------------ */

/* A file's content hash (XXH3, 128 bits), and its text: 32 hex digits. */
typedef struct {
    unsigned char b[16];
} ncs_hash;
#define NCS_HASH_HEX 33

typedef enum { NCS_POLARITY_NORMAL = 0, NCS_POLARITY_INVERTED = 1 } ncs_polarity;
typedef enum { NCS_UNITS_MV = 0, NCS_UNITS_UV, NCS_UNITS_V } ncs_units;

/* One stimulation site: [<nerve>.<side>.<site>]. Read-only to callers. */
typedef struct {
    char *name;          /* "wrist", "below-elbow" ... */
    char *file;          /* as written in study.ini (relative) */
    char *path;          /* study folder + file: the path to open */
    const char *inside;  /* the study folder resolved (the study's dir_real):
                            the file must lie inside it; NULL: no such rule */
    int line;            /* line of the section header in study.ini */
    double distance_mm;  /* > 0; first site: to the active electrode */
    int channel;         /* 1-based, default 1 */
    int channel_given;   /* channel = was written */
    char *channel_label; /* channel = <label> (EDF signal label), else NULL */
    int record;          /* EDF+: record = N (1-based); 0 not given */
    char *annotation;    /* EDF+: annotation = TEXT, else NULL */
    int stim_given;      /* stim_ms = was written (1); -1 in a copy whose stim_ms
                            an EDF+ annotation gave */
    double stim_ms;      /* stimulus time on the file's own time axis (a CSV's
                            time column), else from the first sample; default 0 */
    double scale_mv;     /* full scale of integer PCM; NAN if not given */
    ncs_units units;     /* for float files and CSV, default mV */
    int units_given;     /* units = was written (else a CSV header's unit wins) */
    double rate_hz;      /* CSV without time column; NAN if not given */
    ncs_polarity polarity; /* effective: site, else nerve, else study */
    double onset_ms, peak_ms, end_ms; /* manual markers; NAN if not given */
    int marker_line[3];  /* study.ini lines of onset_ms, peak_ms, end_ms; 0: not given */
    const char *ini;     /* the study's study.ini (its ini_path), for an error
                            naming a line; NULL outside a study */
    int exclude;         /* exclude = yes */
    int entrapment;      /* -1 not given, 0 no, 1 yes */
    char *note;          /* may be NULL */
} ncs_site;

/* One nerve: [<nerve>.<side>] and its sites, distal first. */
typedef struct {
    char *id;            /* "median.right" (peroneal is stored as fibular) */
    char *nerve;         /* "median" */
    char *side;          /* "right" | "left" */
    char *muscle;        /* may be NULL */
    double temperature_c;/* effective: nerve, else study; NAN if neither */
    char *note;          /* may be NULL */
    int line;            /* first line that named this nerve */
    size_t n_sites;
    ncs_site *sites;
} ncs_nerve_def;

typedef struct {
    char *dir;           /* the study folder as given */
    char *ini_path;      /* dir + "/study.ini" */
    char *dir_real;      /* dir with every link resolved */
    ncs_hash ini_hash;   /* of study.ini's bytes as read */
    char *id;            /* [study] id, default: the folder's name */
    int id_unsafe;       /* the id is a folder's name outside the id rule
                            (docs/study-folder.md): fine for one study, not
                            as a batch's output folder */
    char *date;          /* ISO 8601 date or NULL */
    double age_years, height_cm, temperature_c; /* NAN if not given */
    int lff_hz;          /* 2, 5, 10 or 20 (default 2) */
    int lff_given;       /* lff_hz = was written (else 2 Hz is assumed) */
    ncs_polarity polarity;
    char *patient, *norms, *note; /* may be NULL; norms is the path of a
                                      lab's table inside the study folder */
    int n_guessed;       /* values still marked "; GUESS" (ncs init's
                            guesses not yet confirmed), and the first's line */
    int first_guessed_line;
    size_t n_nerves;
    ncs_nerve_def *nerves;
} ncs_study;

/* Safety limits applied while loading (hostile folders). */
#define NCS_MAX_INI_BYTES   (1024 * 1024)
#define NCS_MAX_INI_LINE    1024
#define NCS_MAX_NERVES      64
#define NCS_MAX_SITES       64      /* per nerve */

/* Parses <dir>/study.ini as docs/study-folder.md says and checks every rule that can be
 * checked without opening a waveform (file paths must exist inside the
 * folder). Returns a new study the caller frees with ncs_study_destroy(), or
 * NULL with err filled: NCS_ERR_NOT_STUDY, NCS_ERR_IO, NCS_ERR_INI_*,
 * NCS_ERR_PATH, NCS_ERR_LIMIT, NCS_ERR_NOMEM. err->where is "<ini>:<line>".
 *
 * Every error of study.ini is reported in one call: the parse goes on after
 * an error wherever going on cannot mislead (a bad value, an unknown or
 * repeated key, a bad section header, whose keys are then skipped; the
 * required keys and the file of every site), and stops at what makes the
 * rest unreadable (not a text file, an over-long line, a safety limit, no
 * memory). err holds the first error; the next ones, up to NCS_MAX_ERRORS
 * in all, are appended to warn (when not NULL) with severity
 * NCS_SEVERITY_ERROR, and err->n_errors counts them all. A caller showing
 * the failure shows err, then warn's errors, then how many were not kept.
 * Warnings proper (severity NCS_SEVERITY_WARNING) are appended to warn
 * too; what may be a slip (a distance in cm, ncs init's guesses left
 * unconfirmed) is warned by ncs_study_plausibility. */
ncs_study *ncs_study_load(const char *dir, ncs_warnings *warn, ncs_error *err);

/* Frees a study. Accepts NULL. */
void ncs_study_destroy(ncs_study *study);

/* Opens path for reading as ncs opens every input: the open never blocks on
 * a FIFO or a device, anything but a regular file is refused, and with
 * inside (a resolved folder) the file must lie inside it, checked on the open
 * descriptor. Returns the descriptor (close-on-exec), or -1 with err filled
 * (NCS_ERR_IO, NCS_ERR_PATH) and errno set. */
int ncs_open_input(const char *path, const char *inside, ncs_error *err);

/* The fingerprint of everything the analysis of st reads: study.ini as
 * loaded, every site's file, the study's and norms_path's normative tables
 * (each read again now). The same text as ncs_results.inputs_hash when
 * nothing changed. NCS_OK, or an error of reading a file. */
ncs_status ncs_study_inputs_hash(const ncs_study *st, const char *norms_path,
                                 char hex[NCS_HASH_HEX], ncs_error *err);

/* The id ncs_study_load() would give the study in dir ([study] id, else the
 * folder's name), read cheaply without checking the rest of study.ini. A new
 * string the caller frees; NULL on no memory. */
char *ncs_study_peek_id(const char *dir);

/* Distances that parse but are unlikely to be what was measured
 * (docs/study-folder.md, plausibility): a first site's distance_mm outside
 * NCS_DISTAL_PLAUSIBLE_MIN_MM to _MAX_MM, a later site's (a segment) outside
 * NCS_SEGMENT_PLAUSIBLE_MIN_MM to _MAX_MM. One warning `implausible-distance`
 * per such site, named <study id>/<nerve>.<side>.<site>, appended to warn,
 * with the likely slip (cm for mm) when the value times or over 10 would be
 * plausible. Also `unknown-site` for a site name ncs cannot place on its
 * nerve (named <study.ini>:<line>). Nothing is refused or changed.
 * ncs_analyse_study() appends the same warnings to its results; a caller
 * that only loads the study (ncs check) calls this itself. */
#define NCS_DISTAL_PLAUSIBLE_MIN_MM 30.0
#define NCS_DISTAL_PLAUSIBLE_MAX_MM 150.0
#define NCS_SEGMENT_PLAUSIBLE_MIN_MM 10.0
#define NCS_SEGMENT_PLAUSIBLE_MAX_MM 600.0
void ncs_study_plausibility(const ncs_study *st, ncs_warnings *warn);

/* The canonical name of a nerve ("peroneal" -> "fibular"), or NULL when the
 * name is not one of the nerves of docs/study-folder.md. */
const char *ncs_nerve_canonical(const char *name);

/* ------------------------------------------------------------------------ */
/* Sites as anatomy (anatomy.c) — docs/study-folder.md#site-names           */
/* ------------------------------------------------------------------------ */

/* Each nerve has a vocabulary of known stimulation sites in anatomical
 * order, distal first (standard motor conduction practice, Preston &
 * Shapiro), e.g. ulnar: palm, below-wrist, wrist, below-elbow, above-elbow,
 * axilla, erb. A site is placed at a level (0 the most distal of its nerve);
 * two known names at one level are one place named two ways
 * (fibular: below-fibular-head and fibular-head; above-fibular-head,
 * popliteal and knee). An inching site is a known site and a whole number
 * of mm along the nerve, 1 to 999: "wrist+20" lies 20 mm proximal to the
 * wrist, "elbow-40" 40 mm distal to the elbow. The entrapment landmarks
 * (AAEM 2003) lie between two levels: median at the wrist between palm and
 * wrist, ulnar at the wrist between below-wrist and wrist, ulnar at the
 * elbow between below-elbow and above-elbow, fibular at the fibular head
 * between below-fibular-head and above-fibular-head. Every function here
 * takes a nerve by any name ncs_nerve_canonical() knows ("peroneal") and
 * returns static strings; none allocates. */

/* Where a site lies along its nerve. */
typedef struct {
    const char *base;   /* the known site it is named from ("wrist"); static */
    int level;          /* base's level: 0 the nerve's most distal known site */
    double offset_mm;   /* inching: mm proximal (+) or distal (-) of base; else 0 */
} ncs_site_place;

/* The i-th known site of nerve, distal first (i from 0), or NULL past the
 * last one or for a nerve ncs does not know. */
const char *ncs_site_known(const char *nerve, size_t i);

/* The known site a name or one of its usual abbreviations stands for, for
 * this nerve ("b-elbow", "bel-elbow" -> "below-elbow"; "popl" -> "popliteal";
 * "fib-head" -> "fibular-head"; "erbs-point" -> "erb"), written in lower
 * case with words joined by '-'; NULL when the nerve has no such site (the
 * ulnar nerve has no "elbow": below or above it?). */
const char *ncs_site_canonical(const char *nerve, const char *name);

/* Places site (a known name, an abbreviation, or an inching name made of
 * one) on nerve: 1 and *out filled (out may be NULL), or 0 when the name
 * cannot be placed (not in the vocabulary: SPEC's unknown-site). */
int ncs_site_place_of(const char *nerve, const char *site, ncs_site_place *out);

/* Anatomical order of two places of one nerve: < 0 when a is distal to b,
 * 0 at the same place, > 0 when a is proximal to b. */
int ncs_site_place_cmp(const ncs_site_place *a, const ncs_site_place *b);

/* Whether the stretch of nerve between sites from and to (in either order)
 * crosses an entrapment landmark or lies at one: 1 when it crosses the
 * stretch between the landmark's two known sites or has an end inside it
 * (an inching step at the elbow: below-elbow+20 to below-elbow+40), and
 * *landmark (when not NULL) names it ("ulnar at the elbow"); 0 when it does
 * neither; -1 when a site cannot be placed. */
int ncs_site_crosses(const char *nerve, const char *from, const char *to,
                     const char **landmark);

/* The i-th entrapment landmark of nerve, distal first ("median at the wrist
 * (carpal tunnel)"), with the known sites just distal and just proximal to
 * it (either pointer may be NULL); NULL past the last one. */
const char *ncs_site_landmark(const char *nerve, size_t i, const char **distal_site,
                              const char **proximal_site);

/* A typical adult distance in mm, to propose, never to analyse with: from
 * NULL, from site to the nerve's usual recording muscle when it is the
 * first site stimulated (median wrist 70, ulnar wrist 70, fibular ankle 90,
 * tibial ankle 90: the built-in norms' distal distances); else along the
 * nerve from `from` to `to` (negative when `to` is distal to `from`; 0
 * between two names of one place). NAN when a site cannot be placed. */
double ncs_site_typical_mm(const char *nerve, const char *from, const char *to);

/* The usual recording muscle of a nerve's motor study (median APB, ulnar
 * ADM, fibular EDB, tibial AHB, radial EIP, musculocutaneous biceps,
 * axillary deltoid, accessory trapezius, facial nasalis), or NULL. */
const char *ncs_nerve_muscle(const char *nerve);

/* What a waveform file's name says (ncs init). */
typedef struct {
    char nerve[24];   /* canonical ("fibular" for peroneal) */
    char side[8];     /* "right" | "left" */
    char site[64];    /* a known site's name, an inching name ("wrist+20"), or
                         the words the name left joined by '-' (site_known 0) */
    char muscle[16];  /* a recording muscle the name gives (APB, ADM, FDI,
                         EDB, AHB, EIP, TA ...), else "" */
    int site_known;   /* site is placed by ncs_site_place_of() */
} ncs_name_guess;

/* Reads a file name (a name, not a path; its extension is ignored) into
 * nerve, side and site: the stem in words (any character but a letter, a
 * digit or '+' separates them; case is ignored; an apostrophe is dropped,
 * so "erb's point" is "erbs-point"). One word names the nerve (median, med,
 * ulnar, uln, fibular, fib, peroneal, per, tibial, tib, radial, rad,
 * musculocutaneous, mc, axillary, accessory, acc, facial, fac), one the
 * side (r, rt, right, dx; l, lt, left, sx; d or s only when no other word
 * does); a muscle's abbreviation and the words motor, cmap, ncs, mcs, nerve,
 * stim are set aside; the rest, joined by '-', is the site, read through
 * ncs_site_canonical(): "median_r_wrist.wav", "ulnar-left-below-elbow.csv",
 * "Median R Wrist.flac", "ulnar_r_b-elbow.csv" -> ulnar, right,
 * below-elbow. An inching site needs "+N" or "-N" (10 to 999 mm) at the very
 * end of the stem ("median_r_wrist+20.wav"); "median_r_wrist_2.wav" is read
 * as the unknown site "wrist-2". Returns NULL with *out filled, or a static
 * reason the name could not be read ("no side (r, l, ...)"; *out is then
 * zeroed). */
const char *ncs_name_guess_read(const char *file_name, ncs_name_guess *out);

/* What ncs_init_study() wrote. */
typedef struct {
    size_t nerves, sites; /* sections written */
    size_t guesses;       /* values marked GUESS for the technician to confirm */
    size_t not_read;      /* files listed at the end as not read */
} ncs_init_counts;

/* A study.ini proposed for the waveform files directly in folder dir (`ncs
 * init`, docs/study-folder.md#starting-a-study-folder-ncs-init): each file
 * is decoded as ncs check decodes it and its name read by
 * ncs_name_guess_read(); nerves in ncs's order (median, ulnar, fibular,
 * tibial, radial, ...), right before left; sites in anatomical order,
 * distal first, then the sites the vocabulary does not know, by file name.
 * What the files do not say is proposed as a real value with a comment
 * "GUESS, confirm": distance_mm (ncs_site_typical_mm), the muscle
 * (ncs_nerve_muscle, unless a name gives one), scale_mv = 20 for integer
 * samples, units for float files and CSV without a header unit (from the
 * span of the values), rate_hz = 10000 for a one-column CSV, channel = 1
 * for a file of several channels, and stim_ms where the trace shows its
 * stimulus artefact (else 0). Each record of an EDF+ file whose annotation
 * names nerve, side and site is a site (annotation = or record =). The text
 * is valid study.ini as written. Files
 * not read (hidden files and study.ini aside) are listed in a comment block
 * at its end with why — a name that does not say nerve, side and site, not
 * a waveform, a second file for one site, a folder, a symbolic link that
 * leads out of dir (never followed), an EDF file that cannot be read, an
 * EDF+D record whose annotations name no site — and
 * each is also a warning "not-read" in warn (may be NULL). Nothing in dir
 * is written. Returns NCS_OK with *text (a new string the caller frees) and
 * *counts (may be NULL), or NCS_ERR_IO when dir is not a folder, holds no
 * waveform, or no waveform's name can be read (err says which and how to
 * name them), NCS_ERR_LIMIT (more than 4096 files), NCS_ERR_NOMEM,
 * NCS_ERR_USAGE. */
ncs_status ncs_init_study(const char *dir, char **text, ncs_init_counts *counts,
                          ncs_warnings *warn, ncs_error *err);

/* ------------------------------------------------------------------------ */
/* Waveforms (wave.c) — docs/study-folder.md                                    */
/* ------------------------------------------------------------------------ */

#define NCS_MIN_RATE_HZ      2000.0
#define NCS_MAX_RATE_HZ      1000000.0
#define NCS_LOW_RATE_HZ      5000.0   /* below: warning low-rate */
/* A sample beyond this many mV (1 V) is refused: no EMG amplifier records
 * it, so the file's units or scale are wrong (or it is no recording). */
#define NCS_ABSURD_MV 1e3
#define NCS_MIN_SWEEP_MS     5.0
#define NCS_MAX_SWEEP_MS     10000.0
#define NCS_MAX_WAVE_BYTES   (512L * 1024 * 1024)

typedef enum {
    NCS_FORMAT_SNDFILE = 0,  /* anything libsndfile reads */
    NCS_FORMAT_CSV_VALUES,   /* one column + rate_hz */
    NCS_FORMAT_CSV_TIME,     /* time_ms,value */
    NCS_FORMAT_EDF           /* EDF, EDF+C, EDF+D (edf.c) */
} ncs_wave_format;

/* One decoded trace, in millivolts with a normal CMAP's main phase negative
 * (the file's polarity already undone). Owned by the caller once returned. */
typedef struct {
    double fs_hz;
    size_t n;             /* samples */
    double *mv;           /* n samples, mV */
    double stim_ms;       /* stimulus time from the first sample */
    double t_first_ms;    /* the first sample's time on the file's own axis
                             (a CSV's time column); 0 for formats without one */
    double rail_mv;       /* |value| of the converter's rails for integer
                             PCM, NAN when the format has none */
    size_t clipped_n;     /* samples at the converter's rails (0 when none) */
    ncs_wave_format format;
    char format_name[64]; /* "WAV PCM 16", "FLAC PCM 24", "CSV" ... */
    int channels;         /* channels in the file */
    int time_unit_named;  /* a CSV whose header names its time column's unit */
    ncs_hash hash;        /* of the file's bytes (ncs_wave_load) */
} ncs_wave;

/* Loads the waveform of one site: decodes the file (libsndfile, else CSV by
 * the ".csv"/".txt" extension), selects the channel, scales to mV (scale_mv
 * for integer PCM, units for float and CSV), undoes inverted polarity and
 * checks the ranges of docs/study-folder.md. `where` names the trace in messages
 * (<study>/<nerve>.<side>.<site>). Returns NCS_OK and fills *out (free with
 * ncs_wave_free), or NCS_ERR_IO, NCS_ERR_WAVE_FORMAT, NCS_ERR_WAVE_RANGE,
 * NCS_ERR_WAVE_VALUE, NCS_ERR_INI_MISSING (integer PCM without scale_mv, CSV
 * without rate_hz), NCS_ERR_LIMIT, NCS_ERR_NOMEM with err filled; *out is then
 * zeroed. A rate below NCS_LOW_RATE_HZ appends the warning "low-rate". */
ncs_status ncs_wave_load(const ncs_site *site, const char *where,
                         ncs_wave *out, ncs_warnings *warn, ncs_error *err);

/* Frees the samples of a wave and zeroes it. Accepts NULL. */
void ncs_wave_free(ncs_wave *wave);

/* Decodes a waveform held in memory, as ncs_wave_load() decodes the file
 * site->file names (CSV by its extension, else libsndfile through virtual
 * I/O): the same checks, errors and result. */
ncs_status ncs_wave_decode(const void *data, size_t n, const ncs_site *site,
                           const char *where, ncs_wave *out, ncs_warnings *warn,
                           ncs_error *err);


/* ------------------------------------------------------------------------ */
/* EDF and EDF+ files (edf.c) — docs/study-folder.md, "EDF+ files"           */
/* ------------------------------------------------------------------------ */

typedef enum { NCS_EDF_PLAIN = 0, NCS_EDF_PLUS_C, NCS_EDF_PLUS_D } ncs_edf_kind;

/* One signal of the header; strings trimmed of EDF's space padding. */
typedef struct {
    char label[17];       /* "EMG APB", "EDF Annotations" */
    char transducer[81];
    char unit[9];         /* physical dimension: "mV", "uV" ... */
    char prefilter[81];
    double phys_min, phys_max;
    int dig_min, dig_max;
    int spr;              /* samples per data record */
    int annotations;      /* an EDF+ "EDF Annotations" signal */
    size_t offset;        /* its bytes' offset inside a data record */
} ncs_edf_signal;

/* One text of a Time-stamped Annotation List. */
typedef struct {
    char *text;           /* UTF-8, trimmed; never empty */
    double onset_s;       /* from the file's start */
    int record;           /* 0-based: the record whose time span holds it,
                             else the one that stores it */
    double at_ms;         /* from that record's start */
} ncs_edf_annotation;

typedef struct {
    ncs_edf_kind kind;
    char patient[81], recording[81], startdate[9], starttime[9];
    int n_signals;        /* every signal, annotation signals included */
    int n_data_signals;   /* those that are not annotations */
    ncs_edf_signal *signals;
    long n_records;
    double record_s;      /* duration of a data record */
    double *record_start_s; /* n_records: from the file's start (EDF+: its
                             time-keeping annotation; EDF: index x record_s) */
    size_t n_annotations, annot_cap;
    ncs_edf_annotation *annotations;
    size_t header_bytes, record_bytes;
} ncs_edf;

/* Parses an EDF or EDF+ file held in memory (header, signals, record
 * layout against the file's size, every TAL annotation). name is used in
 * messages. Returns NCS_OK with *edf filled (free with ncs_edf_free), else
 * NCS_ERR_WAVE_FORMAT / NCS_ERR_LIMIT / NCS_ERR_NOMEM with err saying what
 * is wrong; *edf is then empty. The samples are not decoded here. */
ncs_status ncs_edf_parse(const void *data, size_t n, const char *name, ncs_edf *edf,
                         ncs_error *err);
void ncs_edf_free(ncs_edf *edf);

/* Whether the bytes begin like an EDF (or BDF) file. */
int ncs_edf_is(const void *data, size_t n);

/* The index into edf->signals of a data signal: by label (case-insensitive)
 * when label is not NULL, else the channel-th (1-based) signal that is not
 * an annotation signal. -1 when there is none. */
int ncs_edf_find_signal(const ncs_edf *edf, int channel, const char *label);

/* The index of the first annotation whose text is `text` (case-insensitive),
 * -1 when none; *second (may be NULL) the index of a match in another
 * record, -1 when none. */
int ncs_edf_find_annotation(const ncs_edf *edf, const char *text, int *second);

/* ------------------------------------------------------------------------ */
/* Measurement (clean.c, markers.c) — docs/measurements.md                        */
/* ------------------------------------------------------------------------ */

/* Quality flags of one site (bits of ncs_markers.flags). */
typedef enum {
    NCS_FLAG_NO_RESPONSE = 1u << 0,      /* no negative deflection above noise */
    NCS_FLAG_CLIPPED = 1u << 1,          /* samples at the rails in the response */
    NCS_FLAG_NOISY = 1u << 2,            /* noise above 10 % of the amplitude */
    NCS_FLAG_ARTEFACT_OVERLAP = 1u << 3, /* artefact not decayed at the onset */
    NCS_FLAG_TRUNCATED = 1u << 4,        /* negative phase runs past the record */
    NCS_FLAG_INVERTED_SUSPECTED = 1u << 5, /* dominant first phase positive */
    NCS_FLAG_LOW_RATE = 1u << 6,         /* sample rate below 5 kHz */
    NCS_FLAG_EXCLUDED = 1u << 7,         /* exclude = yes in study.ini */
    NCS_FLAG_INITIAL_POSITIVITY = 1u << 8, /* the response begins with a positive
                                              deflection: the onset is there */
    NCS_FLAG_POLYPHASIC = 1u << 9,       /* more than one negative peak */
    NCS_FLAG_MANUAL = 1u << 10,          /* a marker placed by hand */
    NCS_FLAG_UNCERTAIN = 1u << 11,       /* an onset, amplitude or area interval
                                            wider than twice its target */
    NCS_FLAG_IMPLAUSIBLE_AMPLITUDE = 1u << 12, /* amplitude above NCS_AMP_PLAUSIBLE_MAX_MV:
                                                  no CMAP is that large (units?) */
    NCS_FLAG__COUNT = 13
} ncs_flag;

/* The largest CMAP amplitude taken as physiology (docs/measurements.md): above
 * it the units are wrong (microvolts read as millivolts) or the trace is not
 * a CMAP; the site is flagged implausible-amplitude and decides nothing. */
#define NCS_AMP_PLAUSIBLE_MAX_MV 40.0

/* "no-response", "clipped", ... for one flag bit; NULL for other values. */
const char *ncs_flag_name(unsigned flag);

/* The names of the flags set in `flags`, in bit order, into names (room for
 * NCS_FLAG__COUNT); returns how many. */
size_t ncs_flag_names(unsigned flags, const char *names[]);

/* Half-widths of the 95 % intervals of a site's markers and measures, in
 * their own units (docs/measurements.md: from the noise left after
 * cleaning, the slope at each marker, how far the baseline moves and the
 * reach of any extrapolation); NAN where the value itself is NAN. A marker
 * placed by hand is taken as exact: 0. */
typedef struct {
    double onset_ms, peak_ms, amp_mv, neg_dur_ms, neg_area_mvms;
    /* the part of onset_ms the sites of one nerve share (the allowance for
     * the take-off's shape, the same muscle's at every site): it cancels in
     * a segment's latency difference (0: none) */
    double onset_common_ms;
    /* the part of neg_area_mvms, as a share of the area, that the sites
     * share (the phase's edges and the smoothing, the same muscle's
     * response at every site): it cancels in a segment's area drop */
    double area_common_share;
} ncs_site_uncertainty;

/* Which of a site's intervals are too wide (ncs_markers.uncertain). An
 * uncertain onset decides nothing that rests on it (latency, CV,
 * duration-based findings); an uncertain amplitude or area decides nothing
 * at all (docs/measurements.md). */
#define NCS_UNCERTAIN_ONSET 1u
#define NCS_UNCERTAIN_AMP 2u
#define NCS_UNCERTAIN_AREA 4u
#define NCS_UNCERTAIN_DISAGREES 8u /* the onset disagrees with a neighbour's:
                                      its interval is a lower bound */
#define NCS_UNCERTAIN_HIDDEN_LOBE 16u /* a positive lobe the nerve's distal
                                         responses show may hide in this
                                         one's noise */

/* Twice the accuracy targets (SPEC 8.1), beyond which a site is flagged
 * `uncertain`: onset, amplitude and area, for responses of 2 mV or more and
 * for smaller ones. */
#define NCS_UNCERTAIN_ONSET_MS(amp) ((amp) >= 2.0 ? 0.20 : 0.50)
#define NCS_UNCERTAIN_AMP_PCT(amp) ((amp) >= 2.0 ? 4.0 : 10.0)
#define NCS_UNCERTAIN_AREA_PCT(amp) ((amp) >= 2.0 ? 6.0 : 16.0)

/* What was measured on one trace. Times are from the stimulus. A value that
 * could not be measured is NAN and a flag says why. */
typedef struct {
    int response;          /* 0: no response (every marker NAN) */
    double onset_ms;       /* 1 % take-off toward the negative peak */
    double peak_ms;        /* negative peak */
    double end_ms;         /* return to baseline after the last negative peak */
    double amp_mv;         /* baseline to negative peak */
    double p2p_mv;         /* negative peak to the largest positive peak after it */
    double neg_dur_ms;     /* onset to end */
    double neg_area_mvms;  /* area below baseline, onset to end, positive */
    int neg_peaks;         /* negative peaks in the negative phase */
    double lead_ms;        /* initial-positivity: from the onset to the
                              negative take-off (the positive lobe's length);
                              0 otherwise */
    double bump_ms;        /* no lobe found, but a bump before the negative
                              take-off that may be one: how much earlier the
                              onset is if it is (its interval holds it); 0:
                              none */
    double noise_uv;       /* RMS of the baseline after interference removal */
    int manual_onset, manual_peak, manual_end; /* placed by hand in study.ini */
    ncs_site_uncertainty u;/* 95 % half-widths of the values above */
    unsigned uncertain;    /* NCS_UNCERTAIN_*: which intervals are too wide
                              (the flag `uncertain` says there is one) */
    unsigned flags;        /* ncs_flag bits */
    /* how the trace was cleaned (for reports and the curious) */
    double baseline_mv;    /* baseline level at the stimulus */
    double drift_mv_per_s; /* removed linear drift */
    double step_mv;        /* removed step of the baseline at the stimulus, 0: none */
    double mains_hz;       /* 50 or 60 when mains was found and removed, else 0 */
    double mains_uv;       /* amplitude of the removed fundamental */
    double mains_evidence[2]; /* what the trace showed of mains at 50 and at
                              60 Hz (the fit's chi-square gain; 0: none) */
    double artefact_end_ms;/* from the stimulus: the artefact is gone after this */
    double stim_seen_ms;   /* where the trace shows a stimulus artefact (an
                              abrupt step), from the declared stimulus; NAN
                              when it shows none */
} ncs_markers;

/* An analyser holds the FFT plans and work buffers used to clean and measure
 * traces; create one per thread. FFTW plans are made with FFTW_ESTIMATE, so
 * results are repeatable. Returns NULL (err filled, NCS_ERR_NOMEM) on
 * failure. */
typedef struct ncs_analyser ncs_analyser;
ncs_analyser *ncs_analyser_create(ncs_error *err);
void ncs_analyser_destroy(ncs_analyser *a); /* accepts NULL */

/* Cleans one trace (stimulus artefact, baseline, drift, mains with
 * harmonics — detected, never configured) and measures it as docs/measurements.md says.
 * site supplies manual markers and `exclude` (may be NULL). When clean_mv is
 * not NULL it receives wave->n samples of the cleaned trace in mV, not
 * smoothed (for plots: the peak a marker names is where the trace shows
 * it). Warnings for each flag are appended to warn, named by `where`. Returns NCS_OK, or NCS_ERR_NOMEM / NCS_ERR_USAGE, or
 * NCS_ERR_INI_VALUE (err names the key) when a marker placed by hand lies
 * outside the record or the markers, placed and found, are out of order
 * (onset < peak < end). */
ncs_status ncs_measure(ncs_analyser *a, const ncs_wave *wave, const ncs_site *site,
                       const char *where, ncs_markers *out, double *clean_mv,
                       ncs_warnings *warn, ncs_error *err);

/* The traces of one nerve are recorded with one amplifier on one supply:
 * ncs_mains_vote returns the mains frequency (50 or 60) that n measured
 * traces together show more of (0: none shows any), and
 * ncs_analyser_force_mains makes the next ncs_measure calls on a clean
 * mains at that frequency only (0: each trace finds its own). A short
 * quiet stretch tells 50 from 60 Hz poorly; the nerve's other traces tell
 * it well. */
double ncs_mains_vote(const ncs_markers *m, size_t n);
void ncs_analyser_force_mains(ncs_analyser *a, double hz);

/* The n measured sites of one nerve, distal first (excluded ones flagged
 * NCS_FLAG_EXCLUDED): a positive lobe ahead of the negative phase comes
 * from where the recording electrode lies, so a site proximal to one whose
 * response begins with it (initial-positivity) and showing none may hide it,
 * dispersed, in its noise. ncs_hidden_lobes widens such a site's onset and
 * duration intervals by the lobe's length stretched as its negative phase
 * is (half of it shared by such sites: onset_common_ms), and flags its onset
 * uncertain past its limit (not its area: a lobe is above baseline); ref[j]
 * is then the index of the site whose lobe it may hide (SIZE_MAX where it
 * made no site uncertain), and reach[j] (when reach is not NULL) how much
 * earlier its onset may be (0 where none). A site whose onset was placed by
 * hand is never widened, but shows the lobe for the others when it has one. */
void ncs_hidden_lobes(ncs_markers *m, size_t n, size_t *ref, double *reach);

/* ------------------------------------------------------------------------ */
/* Reference values (norms.c) — docs/criteria.md                              */
/* ------------------------------------------------------------------------ */

/* One nerve's normative values; NAN where the table gives none. */
typedef struct {
    char nerve[24];       /* canonical nerve name ("median") */
    char muscle[32];      /* recording muscle the values are for, or "" */
    double amp_lln_mv;    /* distal CMAP amplitude, lower limit of normal */
    double dml_uln_ms;    /* distal motor latency, upper limit of normal */
    double dml_distance_mm; /* distal distance the latency applies to */
    double cv_lln_m_s;    /* conduction velocity, lower limit of normal */
    char source[160];     /* where the values come from: a book or file:line */
} ncs_norm;

#define NCS_MAX_NORMS 32

/* The table in force: the built-in one (docs/criteria.md), with the nerves a lab's
 * table names replaced (docs/criteria.md). */
typedef struct {
    size_t n;
    ncs_norm items[NCS_MAX_NORMS];
    char origin[1024];    /* "built-in" and the files loaded over it */
    size_t n_files;       /* the files loaded over it, and their hashes */
    ncs_hash file_hash[4];
} ncs_norms;

/* The built-in table: Preston & Shapiro, adults. */
void ncs_norms_builtin(ncs_norms *norms);

/* Loads a lab's table (INI: one [nerve] section with muscle, amp_lln_mv,
 * dml_uln_ms, cv_lln_m_s) over norms: each nerve it names replaces the one
 * there. On error (NCS_ERR_IO, NCS_ERR_INI_*, NCS_ERR_LIMIT) norms is left
 * unchanged and err names the file and line. */
ncs_status ncs_norms_load(ncs_norms *norms, const char *path, ncs_error *err);

/* The entry for a canonical nerve name (its first: the nerve's usual
 * recording muscle), or NULL. */
const ncs_norm *ncs_norms_find(const ncs_norms *norms, const char *nerve);

/* The entry for a nerve recorded from `muscle` (NULL or "": the nerve's
 * first entry), matched whatever the case and by the usual names (ADQ,
 * abductor digiti minimi -> ADM; AH -> AHB; first dorsal interosseous ->
 * FDI; extensor indicis -> EIP ...); NULL when the table has no entry for
 * that nerve and muscle: never another muscle's limits. */
const ncs_norm *ncs_norms_find_muscle(const ncs_norms *norms, const char *nerve,
                                      const char *muscle);

/* Whether two muscle names are one muscle, as ncs_norms_find_muscle()
 * matches them ("ADQ" and "abductor digiti minimi" are ADM); two names not
 * given are one. */
int ncs_muscle_same(const char *a, const char *b);

/* The table as `ncs norms` prints it. */
ncs_status ncs_norms_print(const ncs_norms *norms, FILE *f);

/* `abnormal` codes (docs/criteria.md), as bits */
typedef enum {
    NCS_ABN_DML_PROLONGED = 1u << 0, /* distal onset latency above ULN */
    NCS_ABN_AMP_LOW = 1u << 1,       /* distal amplitude below LLN */
    NCS_ABN_CV_SLOW = 1u << 2,       /* segment CV below LLN */
    NCS_ABN__COUNT = 3
} ncs_abnormal;

const char *ncs_abnormal_name(unsigned bit); /* "dml-prolonged" ...; NULL if not one */

/* The names of the codes set in `bits`, in bit order, into names (room for
 * NCS_ABN__COUNT); returns how many. */
size_t ncs_abnormal_names(unsigned bits, const char *names[]);

/* The limb temperature the normative values assume for a nerve: 32 C for
 * the upper limb, 30 C for the lower (fibular, tibial); NAN for a nerve of
 * neither (accessory, facial). */
double ncs_norm_temperature_c(const char *nerve);

/* ------------------------------------------------------------------------ */
/* Criteria (criteria.c) — docs/criteria.md                                   */
/* ------------------------------------------------------------------------ */

typedef enum {
    NCS_CRIT_EFNS2010_MMN = 0, /* EFNS/PNS 2010 guideline on MMN */
    NCS_CRIT_EAN2021_CIDP,     /* EAN/PNS 2021 guideline on CIDP */
    NCS_CRIT__COUNT
} ncs_criteria_id;

/* "efns2010-mmn", "ean2021-cidp"; and back (-1 when unknown). */
const char *ncs_criteria_name(ncs_criteria_id id);
int ncs_criteria_lookup(const char *name);

/* A segment's conduction-block category under one criteria set. */
typedef enum {
    NCS_BLOCK_UNSET = 0,       /* not evaluated (no name) */
    NCS_BLOCK_NONE,            /* no criterion met */
    NCS_BLOCK_NOT_ASSESSED,    /* the set does not assess this nerve */
    NCS_BLOCK_NOT_EVALUABLE,   /* a value it needs is missing or too small */
    NCS_BLOCK_ABSENT_PROXIMAL, /* complete block or a technical failure */
    NCS_BLOCK_DEFINITE,        /* efns2010-mmn */
    NCS_BLOCK_PROBABLE,        /* efns2010-mmn */
    NCS_BLOCK_CB,              /* ean2021-cidp */
    NCS_BLOCK_ENTRAPMENT,      /* a block at a common entrapment site: not counted */
    NCS_BLOCK__COUNT
} ncs_block;

/* "none", "not-assessed", "not-evaluable", "absent-proximal", "definite",
 * "probable", "cb", "entrapment"; NULL for NCS_BLOCK_UNSET and other values. */
const char *ncs_block_name(ncs_block b);

#define NCS_MAX_BECAUSE 6
#define NCS_BECAUSE_LEN 176 /* bytes of one reason, its NUL included */

/* One criterion met, with its reasons as numbers. */
typedef struct {
    ncs_criteria_id criteria;
    const char *code;    /* static: "definite", "cb", "dml-demyelinating" ... */
    int counts;          /* 0: reported but not counted (at an entrapment site, over
                            an inching step, or resting on an uncertain onset) */
    int n_because;
    char because[NCS_MAX_BECAUSE][NCS_BECAUSE_LEN]; /* "area drop 62.0% >= 50%" */
} ncs_finding;

/* A growable list the caller owns (initialise with {0}). When memory runs
 * out a finding is not kept and `dropped` counts it. */
typedef struct {
    ncs_finding *items;
    size_t count, cap;
    size_t dropped;
} ncs_findings;

void ncs_findings_free(ncs_findings *f);

/* The reasons of a finding joined by sep ("area drop 62.0% >= 50%; ...")
 * into buf (always NUL-terminated, cut to n). Returns buf. */
char *ncs_finding_reasons(const ncs_finding *f, const char *sep, char *buf, size_t n);

/* Whether the stretch from-to of a nerve crosses a common entrapment site
 * (docs/criteria.md, AAEM 2003) as the sites are placed in the nerve's
 * anatomy (ncs_site_crosses): 1 yes, 0 no, -1 unknown (a site ncs cannot
 * place). */
int ncs_entrapment_site(const char *nerve, const char *from, const char *to);

/* ------------------------------------------------------------------------ */
/* Segments (segments.c) — docs/measurements.md                                   */
/* ------------------------------------------------------------------------ */

#define NCS_INCHING_MAX_MM 30.0
/* The room for a reason (block_because, the criteria's why). */
#define NCS_WHY_LEN 320
/* Consistency across the sites of a nerve (docs/measurements.md): a CV whose
 * interval lies outside this range, or a duration shrinking by more than
 * this from distal to proximal, makes the segment not-evaluable. */
#define NCS_CV_PLAUSIBLE_MIN 10.0
#define NCS_CV_PLAUSIBLE_MAX 100.0
#define NCS_DUR_SHRINK_MAX_PCT 30.0

typedef struct {
    const char *from, *to;     /* site names (owned by the study) */
    double distance_mm;
    double latency_diff_ms;    /* onset_to - onset_from */
    double cv_m_s;             /* NAN when the latency difference is <= 0 or a
                                  response is missing */
    double amp_drop_pct;       /* 100 (1 - amp_p / amp_d) */
    double area_drop_pct;
    double dur_increase_pct;   /* 100 (dur_p / dur_d - 1) */
    int inching;               /* distance <= 30 mm */
    double latency_ms_per_cm;  /* inching only, else NAN */
    double amp_drop_pct_per_cm;/* inching only, else NAN */
    /* 95 % half-widths propagated from the two sites (NAN with the value) */
    struct {
        double latency_diff_ms, cv_m_s, amp_drop_pct, area_drop_pct, dur_increase_pct;
    } u;
    /* why the sites disagree (onset order, CV outside 10-100 m/s, duration
     * shrinking by more than 30 %): the segment is then not-evaluable; empty
     * when they agree */
    char inconsistent[320];
    /* filled by the criteria (ncs_analyse_study) */
    int entrapment_site;       /* crosses a common entrapment site (docs/criteria.md):
                                  1 yes, 0 no, -1 unknown (a site ncs cannot place
                                  and no entrapment = for it) */
    ncs_block block;           /* category under the primary criteria */
    char block_because[NCS_WHY_LEN]; /* why, when not a finding: "distal amplitude ..." */
    int borderline;            /* the interval of a value deciding the primary
                                  category crosses its threshold */
    char borderline_why[160];  /* "area drop 31.0 ± 3.0 % against 30 %" */
    ncs_block block_by[NCS_CRIT__COUNT]; /* category under each set evaluated */
    unsigned abnormal;         /* NCS_ABN_* */
    ncs_findings findings;     /* every criterion met, each set evaluated */
    size_t covers;             /* a span: the consecutive segments it covers
                                  (segments[0 .. covers)); 0 for a segment */
} ncs_segment;

/* Fills seg from the distal and proximal markers. Appends a warning (named
 * `where`) when CV cannot be computed. */
void ncs_segment_compute(const ncs_markers *d, const ncs_markers *p,
                         const char *from, const char *to, double distance_mm,
                         const char *where, ncs_segment *seg, ncs_warnings *warn);

/* Everything the criteria look at for one segment. */
typedef struct {
    const char *nerve;          /* canonical nerve name */
    const ncs_norm *norm;       /* may be NULL (no reference values) */
    const ncs_markers *distal, *proximal;
    const ncs_segment *seg;
    int entrapment;             /* the segment crosses an entrapment site */
} ncs_segment_case;

/* Evaluates one segment under one criteria set: appends every criterion met
 * to out (may be NULL) and returns the segment's block category:
 * efns2010-mmn: not-assessed, not-evaluable, absent-proximal, definite,
 * probable, entrapment or none; ean2021-cidp: not-assessed, not-evaluable,
 * absent-proximal, cb, entrapment or none. When the category depends on a
 * value that was not measured it is not-evaluable and *why (may be NULL)
 * says which. */
ncs_block ncs_criteria_segment(ncs_criteria_id set, const ncs_segment_case *c,
                                 ncs_findings *out, char why[NCS_WHY_LEN]);

/* Whether the interval of a value that decides the segment's category
 * under `set` (the distal amplitude, the area or amplitude drop, the
 * duration increase) crosses its threshold; why then says which, as
 * "area drop 31 ± 3 % against 30 %" (into why, n bytes). Only for decided
 * categories (none, definite, probable, cb, entrapment). */
int ncs_criteria_borderline(ncs_criteria_id set, const ncs_segment_case *c, ncs_block block,
                            char *why, size_t n);

/* Per-nerve criteria (ean2021-cidp: dml-demyelinating,
 * distal-duration-prolonged) from the distal response; appends to out. */
void ncs_criteria_nerve(ncs_criteria_id set, const char *nerve, const ncs_norm *norm,
                        const ncs_markers *distal, int lff_hz, ncs_findings *out);

/* ------------------------------------------------------------------------ */
/* A whole study (analyse.c) and its outputs (results_json.c, results_csv.c, */
/* table.c)                                                                  */
/* ------------------------------------------------------------------------ */

/* A point of a kept trace: time from the stimulus, and value. */
typedef struct {
    double t_ms;
    double mv;
} ncs_trace_point;

typedef struct {
    const ncs_site *def;   /* owned by the study */
    double fs_hz;
    ncs_hash file_hash;    /* of the waveform file's bytes as read */
    uint64_t samples_hash; /* of the trace's samples and rate (one recording
                              filed under two sites: lib/analyse.c) */
    ncs_markers m;
    /* the cleaned trace as a report draws it (with keep_traces, else NULL
     * and 0): n_points points in time order from the stimulus on. Not every
     * sample: only what a page can show, so that what is kept follows the
     * page and not the sampling rate (a few tens of thousands of points at
     * most, whatever the rate). Each stretch of 1/3000 of the time since the
     * stimulus (at least 1/3000 of 5 ms) is kept as its lowest and highest
     * samples in time order, so peaks and the artefact survive; where a
     * stretch holds one sample, that sample. The measurements (m) are made
     * on the whole trace, before this. */
    size_t n_points;
    ncs_trace_point *trace;
    /* the trace as read, before cleaning (stimulus artefact, baseline,
     * drift and mains still in it), kept the same way with keep_traces
     * (else NULL and 0): a report draws it faintly under the cleaned one,
     * so that what was subtracted can be seen */
    size_t n_raw;
    ncs_trace_point *raw;
    double sweep_end_ms;   /* time of the trace's last sample from the stimulus */
    double record_ms;      /* how long the record lasts (samples / rate) */
    unsigned abnormal;     /* NCS_ABN_* (the distal site only) */
} ncs_site_result;

typedef struct {
    const ncs_nerve_def *def;
    size_t n_sites;
    ncs_site_result *sites;
    size_t n_segments;      /* n_sites - 1 */
    ncs_segment *segments;
    /* spans (docs/criteria.md): the most distal site against each proximal
     * site beyond the first, so each covers two segments or more; assessed
     * like segments */
    size_t n_spans;
    ncs_segment *spans;
    const ncs_norm *norm;   /* into the results' table; NULL: not covered */
    unsigned abnormal;      /* union of its sites' and segments' codes */
    ncs_findings findings;  /* per-nerve criteria met (ean2021-cidp) */
    int low_temperature;    /* below 32 C (upper limb) or 30 C (lower limb) */
} ncs_nerve_result;

/* Whether a span's finding says what no segment of its nerve says: counted,
 * and its code (under its set) counted on no segment. Such findings are the
 * span's to show (the table, results.json's items, the report); the others
 * repeat a segment's. */
int ncs_span_finding_new(const ncs_nerve_result *nr, const ncs_finding *f);


/* The measurement's fixed method, which no option changes: the onset is the
 * departure from baseline by this share of the negative-peak amplitude, and
 * markers are read off a zero-phase Gaussian smoothing of this sigma. */
#define NCS_ONSET_LEVEL_PCT   1
#define NCS_SMOOTH_SIGMA_MS   0.08

/* The method as a JSON object text ({"onset_level_pct": 1, ...}), for
 * outputs that record what shaped the numbers. Static storage. */
const char *ncs_method_json(void);

/* How a study is analysed (zero-initialised: the defaults). */
typedef struct {
    int keep_traces;            /* keep the cleaned traces (for reports), decimated
                                   to what a page shows (ncs_site_result) */
    ncs_criteria_id primary;    /* the set that fills `block` */
    int all_criteria;           /* evaluate every set into the findings */
    const char *norms_path;     /* --norms: loaded over the study's own */
    double gnuplot_timeout_s;   /* reports: gnuplot's time limit, seconds, finite
                                   and > 0; 0: $NCS_GNUPLOT_TIMEOUT, else
                                   NCS_GNUPLOT_TIMEOUT_S (ncs_report_make) */
    int report_paper;           /* reports: an ncs_paper (0: A4) */
} ncs_options;

/* A value outside its reference range (docs/criteria.md, abnormal codes):
 * the study-level list the table, results.json and the report show. */
typedef struct {
    const ncs_nerve_result *nerve;
    char where[300];       /* the site ("wrist") or segment ("wrist-elbow") */
    unsigned code;         /* NCS_ABN_* (one bit) */
    const char *what;      /* "distal latency", "amplitude", "CV" */
    const char *unit;      /* "ms", "mV", "m/s" */
    double value, u;       /* the value and its 95 % half-width (NAN: none) */
    double limit;          /* the reference limit it lies beyond */
    const char *relation;  /* "<=" (an upper limit) or ">=" (a lower one) */
    char note[96];         /* "no response"; "measured at 100 mm; the limit holds
                              at 70 mm" (dml-distance); else "" */
} ncs_abnormal_value;

/* Side to side (docs/criteria.md): one nerve recorded from one muscle on
 * both sides. Ratios are left / right; differences left - right; NAN where
 * a value is missing or decides nothing (its trace flagged). */
#define NCS_MAX_SIDE_SEGMENTS 8
typedef struct {
    const ncs_nerve_result *right, *left;
    double amp_ratio, amp_ratio_u;   /* distal amplitude, and its 95 % half-width */
    double area_ratio, area_ratio_u; /* distal negative-phase area */
    double dml_diff_ms, dml_diff_u_ms; /* distal onset latency */
    size_t n_segments;               /* segments named alike on both sides */
    struct {
        const char *from, *to;       /* the right side's names */
        double cv_diff_m_s;          /* left - right */
        ncs_block right_block, left_block;
    } seg[NCS_MAX_SIDE_SEGMENTS];
    int asymmetric;                  /* a distal amplitude below half the other's */
    const char *smaller;             /* "left" or "right" when asymmetric, else NULL */
    char why[160];                   /* why the amplitudes were not compared, or "" */
} ncs_side_pair;

/* The amplitude ratio below which the smaller side is asymmetric. */
#define NCS_ASYMMETRY_RATIO 0.5

typedef struct {
    const ncs_study *study; /* not owned */
    ncs_options options;
    ncs_norms norms;        /* the table in force for this study */
    size_t n_nerves;
    ncs_nerve_result *nerves;
    int evaluated[NCS_CRIT__COUNT]; /* the sets evaluated */
    char *summary[NCS_CRIT__COUNT]; /* one line per set evaluated (docs/criteria.md) */
    ncs_warnings warnings;  /* every warning of the analysis */
    char inputs_hash[NCS_HASH_HEX]; /* the fingerprint of every file read
                                       (ncs_study_inputs_hash()); "" if none */
    size_t n_sides;         /* nerves recorded on both sides from one muscle */
    ncs_side_pair *sides;
    char *sides_summary;    /* "side to side: ..." (NULL when no pair) */
} ncs_results;

/* The values of r outside their reference range, nerve by nerve (distal
 * site's latency and amplitude, then the segments' CVs): up to max into out
 * (may be NULL with max 0); returns how many there are. */
size_t ncs_abnormal_values(const ncs_results *r, ncs_abnormal_value *out, size_t max);

/* "median.right wrist: distal latency 5.20 ± 0.06 ms (normal ≤ 4.4 ms)"
 * into buf (n bytes); returns buf. */
char *ncs_abnormal_value_text(const ncs_abnormal_value *a, char *buf, size_t n);


/* Loads and measures every site of every nerve, computes the segments,
 * and applies the reference values (built-in, then the study's `norms`,
 * then opt->norms_path) and the criteria. opt may be NULL (defaults).
 * Returns a new results object (free with ncs_results_destroy) or NULL with
 * err filled: the first waveform that cannot be loaded fails the study
 * (NCS_ERR_WAVE_*, ...), so does a normative table that cannot be read. */
ncs_results *ncs_analyse_study(ncs_analyser *a, const ncs_study *study,
                               const ncs_options *opt, ncs_error *err);
void ncs_results_destroy(ncs_results *r); /* accepts NULL */

/* The segment of a nerve that ends at (proximal to) the site named `site`
 * (a name owned by the study), or NULL: the distal site, or an excluded one. */
const ncs_segment *ncs_segment_ending_at(const ncs_nerve_result *nr, const char *site);

/* results.json (docs/outputs.md) as a new string the caller frees; settings is a
 * JSON object text to embed (may be NULL). NULL on no memory. */
char *ncs_results_json(const ncs_results *r, const char *settings_json);

/* Writes s as one CSV field (RFC 4180: quoted when it holds a comma, a quote
 * or a line break), preceded by a comma unless first. NULL: an empty field. */
void ncs_csv_field(FILE *f, const char *s, int first);

/* results.csv (docs/outputs.md): one row per site with the segment ending there. */
ncs_status ncs_results_csv(const ncs_results *r, FILE *f);

/* The per-nerve table a technician reads, as an EMG machine prints it. */
ncs_status ncs_results_table(const ncs_results *r, FILE *f);

/* ------------------------------------------------------------------------ */
/* Follow-up across visits (compare.c) — docs/outputs.md, compare.json      */
/* ------------------------------------------------------------------------ */

/* Where a measure is heading from one visit to another. A change counts
 * only beyond its own 95 % half-width, hypot(u_a, u_b) of the two values'
 * half-widths (their errors independent): a change inside it, or exactly
 * on it, is stable. */
typedef enum {
    NCS_TREND_NONE = 0,    /* not compared: one visit only, or a value (or its
                              half-width) missing at the first or last visit */
    NCS_TREND_IMPROVING,
    NCS_TREND_STABLE,
    NCS_TREND_WORSENING
} ncs_trend;

/* "not-compared", "improving", "stable", "worsening"; NULL for other values. */
const char *ncs_trend_name(ncs_trend t);

/* A value with its 95 % half-width; both NAN when not measured, or absent
 * at that visit. */
typedef struct {
    double v, u;
} ncs_vu;

/* The change from a to b: d = b - a, u = hypot(a.u, b.u) (its 95 %
 * half-width), sign +1 / -1 when |d| > u (beyond it), 0 inside or on it.
 * known 0 (and d, u NAN, sign 0) when a value or a half-width is not
 * finite; an infinite half-width (an unbounded CV) is known and never
 * beyond. */
typedef struct {
    double d, u;
    int sign, known;
} ncs_change;
ncs_change ncs_change_of(ncs_vu a, ncs_vu b);

/* The decimals a half-width u is printed with beside a value printed with
 * `decimals`: one more while it would read 0 ("± 0.4", never "± 0"). */
int ncs_u_decimals(double u, int decimals);

/* The trend of a measure from `first` to `last`: worse_up 1 when a larger
 * value is worse (a drop, a duration increase), 0 when a smaller one is (an
 * amplitude, an area, a CV). */
ncs_trend ncs_trend_of(ncs_vu first, ncs_vu last, int worse_up);

/* As ncs_trend_of(), and the change must also reach `min` (a change within
 * what two recordings on different days differ by — electrode placement,
 * stimulation — is stable whatever one recording's own uncertainty). */
ncs_trend ncs_trend_min(ncs_vu first, ncs_vu last, int worse_up, double min);

/* The least change a trend counts (docs/outputs.md): area or amplitude drop,
 * percentage points; distal amplitude, % of the first visit's. */
#define NCS_COMPARE_MIN_DROP_PTS 10.0
#define NCS_COMPARE_MIN_AMP_PCT 15.0

/* A segment (or span) of one nerve at one visit. */
typedef struct {
    int present;          /* the visit has this segment: the same from and to */
    int inconsistent;     /* its sites disagree (results: not-evaluable): its
                             values are shown, never compared */
    ncs_vu cv_m_s, amp_drop_pct, area_drop_pct, dur_increase_pct;
    ncs_block block;      /* under the primary criteria */
    int borderline;
} ncs_compare_seg_visit;

#define NCS_COMPARE_WHY 400

/* A segment or span matched across visits by its two sites' names (never
 * across different sites). */
typedef struct {
    const char *from, *to;   /* owned by a visit's study */
    int span;                /* a span (most distal site to a proximal one) */
    ncs_compare_seg_visit *at; /* n_visits entries, in date order */
    ncs_trend trend;         /* of the area drop, first to last visit it is in
                                (the amplitude drop where the area's is missing) */
    int last_worse;          /* the drop worsened since the visit before the last,
                                against its trend */
    char why[NCS_COMPARE_WHY]; /* "area drop 82 → 61 → 31 % (-51 ± 5 %)", or
                                  why not compared ("at 2026-02-14 only") */
} ncs_compare_segment;

/* A nerve at one visit: its distal response. */
typedef struct {
    const ncs_nerve_result *nr;  /* NULL: the nerve is not in this visit */
    const char *distal_site;     /* the first site's name; NULL when excluded */
    ncs_vu amp_mv, area_mvms, onset_ms;
} ncs_compare_nerve_visit;

/* A nerve (matched by id, "median.right") over the visits. Its trend: the
 * distal amplitude (axonal loss) and its segments' blocks. Worsening when
 * either worsens; improving when one improves and neither worsens; stable
 * when both are compared and neither changes beyond its uncertainty. */
typedef struct {
    const char *id;                /* owned by a visit's study */
    const char *muscle;            /* its recording muscle (a visit's), or NULL */
    ncs_compare_nerve_visit *at;   /* n_visits entries */
    size_t n_present;              /* visits that have it */
    size_t n_segments;             /* its segments, then its spans, in the order
                                      first met */
    ncs_compare_segment *segments;
    ncs_trend amp_trend;           /* distal amplitude, first to last visit with
                                      the same distal site */
    char amp_why[NCS_COMPARE_WHY];
    ncs_trend block_trend;         /* the segments' (and spans') trends together */
    const ncs_compare_segment *block_segment; /* the one that says it (a segment
                                      before a span): of those with the nerve's
                                      block trend, the largest change, or when
                                      stable the largest last area drop; NULL */
    ncs_trend trend;               /* the nerve's */
    int relapse;                   /* not worsening over the follow-up, but a
                                      measure worsened since the visit before
                                      the last (a relapse after a response) */
    char why[3 * NCS_COMPARE_WHY]; /* which measure decided, in numbers */
} ncs_compare_nerve;

/* "improving" or "stable", with "; worsening since the previous visit"
 * after it when cn->relapse: the nerve's headline. */
const char *ncs_compare_headline(const ncs_compare_nerve *cn, char *buf, size_t n);

typedef struct {
    size_t n_visits;
    const ncs_results **visits;    /* in date order (not owned) */
    const char *patient;           /* owned by the first visit's study */
    size_t n_nerves;
    ncs_compare_nerve *nerves;     /* in the order first met, visit by visit */
} ncs_compare;

/* The most visits one comparison takes. */
#define NCS_COMPARE_MAX_VISITS 64

/* Compares the results of one patient's visits, given in any order (the
 * caller keeps them, and their studies, alive while the comparison lives).
 * Every study must name the same `patient` and a `date`, all dates
 * different; they are put in date order. Returns a new comparison (free
 * with ncs_compare_destroy) or NULL with err filled: NCS_ERR_USAGE (fewer
 * than two visits or more than NCS_COMPARE_MAX_VISITS), NCS_ERR_VISITS
 * (err->message names the studies and their patients or dates),
 * NCS_ERR_NOMEM. */
ncs_compare *ncs_compare_create(const ncs_results *const *visits, size_t n, ncs_error *err);
void ncs_compare_destroy(ncs_compare *c); /* accepts NULL */

/* compare.json (docs/outputs.md) as a new string the caller frees;
 * settings is a JSON object text to embed (may be NULL). NULL on no
 * memory. */
char *ncs_compare_json(const ncs_compare *c, const char *settings_json);

/* compare.csv (docs/outputs.md): one row per nerve, segment and visit. */
ncs_status ncs_compare_csv(const ncs_compare *c, FILE *f);

/* The table of the visits side by side, per nerve. */
ncs_status ncs_compare_table(const ncs_compare *c, FILE *f);

/* ------------------------------------------------------------------------ */
/* Reports (report.c, gnuplot.c) — docs/outputs.md                         */
/* ------------------------------------------------------------------------ */

typedef enum { NCS_REPORT_PDF = 0, NCS_REPORT_PNG, NCS_REPORT_SVG } ncs_report_format;

/* The format named by a file's extension (.pdf, .png, .svg, any case) or by
 * a word ("pdf", "png", "svg"); -1 for anything else. */
int ncs_report_format_of(const char *name_or_path);

/* "pdf", "png", "svg" (the extension); NULL for other values. */
const char *ncs_report_format_name(ncs_report_format fmt);

/* A report's paper: ISO A4 (210 x 297 mm, the default) or US Letter
 * (8.5 x 11 in). A PDF page has the paper's size; a PNG or SVG page is the
 * paper at 150 pixels per inch (A4 1240 x 1754, Letter 1275 x 1650). */
typedef enum { NCS_PAPER_A4 = 0, NCS_PAPER_LETTER } ncs_paper;

/* The paper named by word ("a4", "letter", any case); -1 for anything
 * else. And back: "a4", "letter"; NULL for other values. */
int ncs_report_paper_of(const char *name);
const char *ncs_report_paper_name(ncs_paper paper);

/* gnuplot's time limit when neither the options nor $NCS_GNUPLOT_TIMEOUT
 * set one, seconds. */
#define NCS_GNUPLOT_TIMEOUT_S 30.0

/* The time limit written in text ("30", "2.5": a number, all of text, finite
 * and above 0), in seconds; NAN for anything else. */
double ncs_report_timeout_of(const char *text);

/* Makes the report of r (analysed with keep_traces) by running gnuplot once:
 * `gnuplot` is its path or name (NULL: $NCS_GNUPLOT, else "gnuplot" on
 * PATH; a relative path is taken from the current folder). PDF: one file at
 * out_path, a summary page and a page per nerve. PNG and SVG: one file per
 * page, the summary at out_path and each nerve at <out_path without
 * extension>-<nerve id>.<ext>; every page on r->options.report_paper.
 * gnuplot runs in out_path's folder on
 * temporary files ncs creates there first (never through a symbolic link),
 * renamed into place only when gnuplot succeeded, so a failure leaves
 * nothing behind. gnuplot has r->options.gnuplot_timeout_s (0: the seconds
 * in $NCS_GNUPLOT_TIMEOUT, else NCS_GNUPLOT_TIMEOUT_S) to read the script
 * and finish; past it, its process group is stopped (SIGTERM, then
 * SIGKILL). What gnuplot wrote to its standard error is quoted in err, a
 * few lines at most, with control and non-ASCII bytes escaped (\xNN).
 * Returns NCS_OK, or NCS_ERR_REPORT (gnuplot not found, failed or stopped
 * at the limit; err says how to install it, what gnuplot said or the
 * limit), NCS_ERR_OUTPUT, NCS_ERR_NOMEM, NCS_ERR_USAGE (no traces kept, or a
 * limit that is not a number of seconds above 0). Safe to call from several
 * threads at once; it changes no signal disposition. */
ncs_status ncs_report_make(const ncs_results *r, ncs_report_format fmt, const char *out_path,
                           const char *gnuplot, ncs_error *err);

/* Makes the follow-up report of comparison c (docs/outputs.md) by running
 * gnuplot once, as ncs_report_make does (the same files, time limit and
 * failures): a summary page (the patient, the visits and their dates, each
 * nerve's trend with its reason) and a page per nerve (each measure over
 * the visits with its 95 % interval and the block category at each point,
 * and, when the visits were analysed with keep_traces, the distal traces of
 * every visit overlaid at one gain). Paper and time limit are the first
 * visit's options'. PNG and SVG: the summary at out_path, each nerve at
 * <out_path without extension>-<nerve id>.<ext>. No page replaces an input
 * of any visit. */
ncs_status ncs_compare_report_make(const ncs_compare *c, ncs_report_format fmt,
                                   const char *out_path, const char *gnuplot, ncs_error *err);

/* Whether the gnuplot ncs_report_make() would run can be found (same
 * rules); when not, err says so and how to install it. */
int ncs_report_gnuplot_found(const char *gnuplot, ncs_error *err);

/* ------------------------------------------------------------------------ */
/* Versions                                                                 */
/* ------------------------------------------------------------------------ */

/* Version strings of libncs and the libraries it runs on ("libsndfile-1.2.0",
 * "fftw-3.3.10"...). Static storage; never NULL. */
const char *ncs_version(void);
const char *ncs_sndfile_version(void);
const char *ncs_fftw_version(void);

#ifdef __cplusplus
}
#endif

#endif /* NCS_H */
