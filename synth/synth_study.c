/* synth_study.c — whole synthetic studies: the scenarios of samples/ and
 * writing a study folder (study.ini, waveform files, truth.json). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sndfile.h>

#include "ncs_synth.h"

/* The generator is its own library on the public header only: these two
 * small helpers are its own, not libncs's internal ones. */
static ncs_status synth_fail(ncs_error *err, ncs_status code, const char *where,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static ncs_status synth_fail(ncs_error *err, ncs_status code, const char *where,
                             const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    snprintf(err->where, sizeof err->where, "%s", where ? where : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return code;
}

static char *synth_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

const char *const ncs_synth_scenarios[] = {
    "normal", "mmn", "cidp", "als", "carpal-tunnel", "inching", "followup-v1", "followup-v2",
    "followup-v3", NULL};

/* ---- scenario building --------------------------------------------------- */

typedef struct {
    const char *nerve, *muscle;
    double amp_mv, cv_m_s, terminal_ms, tau_ms, sweep_ms;
} nerve_template;

static const nerve_template templates[] = {
    {"median", "APB", 8.0, 53.0, 2.0, 1.5, 45.0},
    {"ulnar", "ADM", 9.0, 55.0, 1.6, 1.4, 45.0},
    {"fibular", "EDB", 5.0, 44.0, 2.8, 1.6, 60.0},
    {"tibial", "AHB", 12.0, 42.0, 2.4, 1.7, 60.0},
};

static const nerve_template *template_of(const char *nerve)
{
    for (size_t i = 0; i < sizeof templates / sizeof templates[0]; i++)
        if (strcmp(templates[i].nerve, nerve) == 0)
            return &templates[i];
    return &templates[0];
}

/* Standard sites per nerve: name and distance_mm. */
static const struct {
    const char *nerve;
    const char *names[5];
    double dist[5];
} standard_sites[] = {
    {"median", {"wrist", "elbow", "axilla"}, {70, 230, 120}},
    {"ulnar", {"wrist", "below-elbow", "above-elbow", "axilla"}, {70, 210, 100, 120}},
    {"fibular", {"ankle", "fibular-head", "popliteal"}, {80, 320, 100}},
    {"tibial", {"ankle", "knee"}, {100, 410}},
};

typedef struct {
    ncs_synth_study *s;
    ncs_rng r;
    double level;
} builder;

static ncs_synth_nerve *add_nerve(builder *b, const char *nerve, const char *side)
{
    ncs_synth_study *s = b->s;
    if (s->n_nerves >= NCS_SYNTH_MAX_NERVES)
        return NULL;
    ncs_synth_nerve *n = &s->nerves[s->n_nerves++];
    memset(n, 0, sizeof *n);
    const nerve_template *t = template_of(nerve);
    snprintf(n->nerve, sizeof n->nerve, "%s", nerve);
    snprintf(n->side, sizeof n->side, "%s", side);
    snprintf(n->muscle, sizeof n->muscle, "%s", t->muscle);
    n->p.n_units = 120;
    n->p.amp_mv = t->amp_mv * (0.8 + 0.4 * ncs_rng_uniform(&b->r));
    n->p.cv_m_s = t->cv_m_s * (0.93 + 0.12 * ncs_rng_uniform(&b->r));
    n->p.cv_sd = 0.05 + 0.04 * ncs_rng_uniform(&b->r);
    n->p.terminal_ms = t->terminal_ms;
    n->p.tau_ms = t->tau_ms;
    for (size_t i = 0; i < sizeof standard_sites / sizeof standard_sites[0]; i++) {
        if (strcmp(standard_sites[i].nerve, nerve) != 0)
            continue;
        for (size_t j = 0; j < 5 && standard_sites[i].names[j]; j++) {
            ncs_synth_site *st = &n->sites[n->n_sites++];
            snprintf(st->name, sizeof st->name, "%s", standard_sites[i].names[j]);
            st->distance_mm = standard_sites[i].dist[j];
        }
    }
    /* one amplifier set-up per nerve: same conditions and format for its sites */
    ncs_synth_cond c;
    ncs_synth_random_cond(&b->r, b->level, t->sweep_ms, &c);
    ncs_synth_format f = (ncs_synth_format)(int)(ncs_rng_uniform(&b->r) * NCS_SYNTH__FORMATS);
    for (size_t j = 0; j < NCS_SYNTH_MAX_SITES; j++) {
        n->sites[j].cond = c;
        n->sites[j].format = f;
    }
    return n;
}

static ncs_synth_site *site_named(ncs_synth_nerve *n, const char *name)
{
    for (size_t i = 0; i < n->n_sites; i++)
        if (strcmp(n->sites[i].name, name) == 0)
            return &n->sites[i];
    return &n->sites[0];
}

static double between(builder *b, double lo, double hi)
{
    return lo + (hi - lo) * ncs_rng_uniform(&b->r);
}

static void demyelinate(builder *b, ncs_synth_nerve *n, double slow, double disp)
{
    for (size_t i = 0; i < n->n_sites; i++) {
        n->sites[i].lesion.slowing = slow * between(b, 0.9, 1.1);
        n->sites[i].lesion.dispersion = i == 0 ? disp * 0.5 : disp;
    }
}

/* One MMN patient's visit k (0, 1, 2) six weeks apart under IVIg: the
 * nerves, their units and the amplifier set-ups are the patient's (a fixed
 * seed), the noise the visit's. ulnar.right: a forearm block recovering
 * (80, 60, 30 % of the units blocked); median.right: an upper-arm block
 * holding, and a new forearm block with axonal loss at the third visit
 * (spreading); median.left: a block holding at 60 %. */
static void followup(builder *b, int k)
{
    static const char *const dates[3] = {"2026-01-12", "2026-02-23", "2026-04-06"};
    static const double recovering[3] = {0.80, 0.60, 0.30};
    ncs_synth_study *s = b->s;
    ncs_rng_seed(&b->r, 808);
    s->model_seed = 808;
    snprintf(s->patient, sizeof s->patient, "MMN follow-up A (synthetic)");
    snprintf(s->date, sizeof s->date, "%s", dates[k]);
    ncs_synth_nerve *n = add_nerve(b, "ulnar", "right");
    site_named(n, "below-elbow")->lesion.block = recovering[k];
    n = add_nerve(b, "median", "right");
    site_named(n, "axilla")->lesion.block = 0.55;
    if (k == 2) {
        site_named(n, "elbow")->lesion.block = 0.6;
        n->p.axonal_loss = 0.3;
    }
    n = add_nerve(b, "median", "left");
    site_named(n, "axilla")->lesion.block = 0.6;
}

int ncs_synth_scenario(ncs_synth_study *s, const char *scenario, const char *id,
                       uint64_t seed, double level)
{
    memset(s, 0, sizeof *s);
    builder b = {.s = s, .level = level};
    ncs_rng_seed(&b.r, seed);
    s->seed = seed;
    snprintf(s->id, sizeof s->id, "%s", id);
    snprintf(s->scenario, sizeof s->scenario, "%s", scenario);
    s->temperature_c = 32.5 + 1.5 * ncs_rng_uniform(&b.r);
    ncs_synth_nerve *n;
    if (strcmp(scenario, "normal") == 0) {
        add_nerve(&b, "median", "right");
        add_nerve(&b, "ulnar", "right");
        add_nerve(&b, "fibular", "left");
        add_nerve(&b, "tibial", "left");
    } else if (strcmp(scenario, "mmn") == 0) {
        /* definite CB in two nerves outside entrapment sites, right side only */
        n = add_nerve(&b, "median", "right");
        site_named(n, "axilla")->lesion.block = between(&b, 0.62, 0.75);
        n = add_nerve(&b, "ulnar", "right");
        site_named(n, "below-elbow")->lesion.block = between(&b, 0.58, 0.7);
        add_nerve(&b, "median", "left");
        add_nerve(&b, "ulnar", "left");
        add_nerve(&b, "fibular", "right");
    } else if (strcmp(scenario, "cidp") == 0) {
        n = add_nerve(&b, "median", "right");
        demyelinate(&b, n, 0.5, 0.3);
        n->sites[0].lesion.slowing = 0.2;
        n = add_nerve(&b, "ulnar", "right");
        demyelinate(&b, n, 0.55, 0.25);
        n = add_nerve(&b, "fibular", "right");
        demyelinate(&b, n, 0.6, 0.2);
        n = add_nerve(&b, "tibial", "right");
        demyelinate(&b, n, 0.65, 0.15);
    } else if (strcmp(scenario, "als") == 0) {
        /* motor-neuron-disease-like: low amplitudes, CV near normal, no block */
        const char *nv[] = {"median", "ulnar", "fibular"};
        for (int i = 0; i < 3; i++) {
            n = add_nerve(&b, nv[i], "right");
            n->p.axonal_loss = between(&b, 0.78, 0.88);
            n->p.cv_m_s *= 0.92;
        }
        n = add_nerve(&b, "median", "left");
        n->p.axonal_loss = between(&b, 0.4, 0.5);
    } else if (strcmp(scenario, "carpal-tunnel") == 0) {
        n = add_nerve(&b, "median", "right");
        n->n_sites = 2; /* wrist, elbow */
        n->sites[0].lesion.slowing = 0.28;
        n->sites[0].lesion.dispersion = 0.1;
        n = add_nerve(&b, "median", "left");
        n->n_sites = 2;
        n->sites[0].lesion.slowing = 0.45;
        n = add_nerve(&b, "ulnar", "right");
    } else if (strcmp(scenario, "inching") == 0) {
        /* MMN block localised by 20 mm steps along the forearm */
        n = add_nerve(&b, "median", "right");
        n->n_sites = 1;
        static const char *const steps[] = {"wrist+20", "wrist+40", "wrist+60", "wrist+80",
                                            "wrist+100", "wrist+120", "elbow"};
        double d[] = {20, 20, 20, 20, 20, 20, 110};
        for (size_t i = 0; i < 7; i++) {
            ncs_synth_site *st = &n->sites[n->n_sites++];
            snprintf(st->name, sizeof st->name, "%s", steps[i]);
            st->distance_mm = d[i];
        }
        site_named(n, "wrist+80")->lesion.block = 0.55;
        site_named(n, "wrist+80")->lesion.slowing = 0.5;
        /* ulnar with a lesion at the elbow: an entrapment site, not MMN */
        n = add_nerve(&b, "ulnar", "right");
        site_named(n, "above-elbow")->lesion.block = 0.55;
        site_named(n, "above-elbow")->lesion.slowing = 0.6;
    } else if (strncmp(scenario, "followup-v", 10) == 0 && scenario[10] >= '1'
               && scenario[10] <= '3' && !scenario[11]) {
        followup(&b, scenario[10] - '1');
    } else {
        return -1;
    }
    return 0;
}

/* ---- writing a folder ---------------------------------------------------- */

static const char *format_ext(ncs_synth_format f)
{
    switch (f) {
    case NCS_SYNTH_FLAC:
        return "flac";
    case NCS_SYNTH_CSV_TIME:
    case NCS_SYNTH_CSV_VALUES:
        return "csv";
    default:
        return "wav";
    }
}

static const char *format_name(ncs_synth_format f)
{
    static const char *const names[] = {"wav-float", "wav-pcm16", "wav-pcm24",
                                        "flac", "csv-time", "csv-values"};
    return (unsigned)f < NCS_SYNTH__FORMATS ? names[f] : "?";
}

static int is_integer_format(ncs_synth_format f)
{
    return f == NCS_SYNTH_WAV_PCM16 || f == NCS_SYNTH_WAV_PCM24 || f == NCS_SYNTH_FLAC;
}

static ncs_status write_samples(const char *path, ncs_synth_format f, double fs,
                                const double *x, size_t n, double scale_mv,
                                ncs_error *err)
{
    if (f == NCS_SYNTH_CSV_TIME || f == NCS_SYNTH_CSV_VALUES) {
        FILE *fp = fopen(path, "w");
        if (!fp)
            return synth_fail(err, NCS_ERR_OUTPUT, path, "cannot create: %s", strerror(errno));
        if (f == NCS_SYNTH_CSV_TIME)
            fprintf(fp, "time_ms,mv\n");
        for (size_t i = 0; i < n; i++) {
            if (f == NCS_SYNTH_CSV_TIME)
                fprintf(fp, "%.5f,%.5f\n", (double)i * 1000.0 / fs, x[i]);
            else
                fprintf(fp, "%.5f\n", x[i]);
        }
        if (fclose(fp) != 0)
            return synth_fail(err, NCS_ERR_OUTPUT, path, "write error");
        return NCS_OK;
    }
    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = (int)fs;
    info.channels = 1;
    switch (f) {
    case NCS_SYNTH_WAV_FLOAT:
        info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
        break;
    case NCS_SYNTH_WAV_PCM16:
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
        break;
    case NCS_SYNTH_WAV_PCM24:
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_24;
        break;
    default:
        info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_24;
        break;
    }
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf)
        return synth_fail(err, NCS_ERR_OUTPUT, path, "cannot create: %s", sf_strerror(NULL));
    double *buf = malloc(n * sizeof *buf);
    if (!buf) {
        sf_close(sf);
        return synth_fail(err, NCS_ERR_NOMEM, path, "out of memory");
    }
    if (is_integer_format(f)) {
        sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
        for (size_t i = 0; i < n; i++)
            buf[i] = x[i] / scale_mv;
    } else {
        sf_command(sf, SFC_SET_NORM_DOUBLE, NULL, SF_FALSE);
        /* the PEAK chunk carries the time of writing: without it the same
         * seed gives the same bytes */
        sf_command(sf, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE);
        memcpy(buf, x, n * sizeof *buf);
    }
    sf_count_t w = sf_write_double(sf, buf, (sf_count_t)n);
    free(buf);
    int bad = sf_close(sf) != 0 || w != (sf_count_t)n;
    if (bad)
        return synth_fail(err, NCS_ERR_OUTPUT, path, "write error");
    return NCS_OK;
}

static json_t *jnum(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

static json_t *truth_json(const ncs_synth_truth *t)
{
    json_t *o = json_object();
    json_object_set_new(o, "response", json_boolean(t->response));
    json_object_set_new(o, "onset_ms", jnum(t->onset_ms));
    json_object_set_new(o, "peak_ms", jnum(t->peak_ms));
    json_object_set_new(o, "amp_mv", jnum(t->amp_mv));
    json_object_set_new(o, "p2p_mv", jnum(t->p2p_mv));
    json_object_set_new(o, "dur_ms", jnum(t->dur_ms));
    json_object_set_new(o, "area_mvms", jnum(t->area_mvms));
    return o;
}

static json_t *cond_json(const ncs_synth_cond *c, ncs_synth_format f)
{
    json_t *o = json_object();
    json_object_set_new(o, "fs", json_real(c->fs_hz));
    json_object_set_new(o, "pre_ms", json_real(c->pre_ms));
    json_object_set_new(o, "noise_uv", json_real(c->noise_uv));
    json_object_set_new(o, "hum_uv", json_real(c->mains_uv));
    json_object_set_new(o, "mains_hz", json_real(c->mains_hz));
    json_object_set_new(o, "dc_mv", json_real(c->dc_mv));
    json_object_set_new(o, "drift_mv", json_real(c->drift_mv));
    json_object_set_new(o, "artefact_mv", json_real(c->artefact_mv));
    json_object_set_new(o, "artefact_tau_ms", json_real(c->artefact_tau_ms));
    json_object_set_new(o, "artefact_sign", json_integer(c->artefact_sign));
    json_object_set_new(o, "clip_mv", json_real(c->clip_mv));
    json_object_set_new(o, "inverted", json_boolean(c->inverted));
    json_object_set_new(o, "fmt", json_string(format_name(f)));
    json_object_set_new(o, "sweep_ms", json_real(c->sweep_ms));
    return o;
}

static double pct_drop(double a, double b)
{
    return 100.0 * (1.0 - b / a);
}

/* The truth of the segment that ends at site j, from the truths of its two
 * sites. */
static json_t *segment_truth_json(const ncs_synth_nerve *n, size_t j, const ncs_synth_truth *prev,
                                  const ncs_synth_truth *t)
{
    const ncs_synth_site *st = &n->sites[j];
    json_t *g = json_object();
    json_object_set_new(g, "from_site", json_string(n->sites[j - 1].name));
    json_object_set_new(g, "to_site", json_string(st->name));
    json_object_set_new(g, "distance_mm", json_real(st->distance_mm));
    int ok = prev->response && t->response;
    json_object_set_new(g, "cv_m_s",
                        jnum(ok ? st->distance_mm / (t->onset_ms - prev->onset_ms) : NAN));
    json_object_set_new(g, "amp_drop_pct",
                        jnum(prev->response ? pct_drop(prev->amp_mv, t->response ? t->amp_mv : 0)
                                            : NAN));
    json_object_set_new(g, "area_drop_pct",
                        jnum(prev->response
                                 ? pct_drop(prev->area_mvms, t->response ? t->area_mvms : 0)
                                 : NAN));
    json_object_set_new(g, "dur_increase_pct",
                        jnum(ok ? 100.0 * (t->dur_ms / prev->dur_ms - 1.0) : NAN));
    json_object_set_new(g, "block_fraction", json_real(st->lesion.block));
    return g;
}

/* The records of an EDF+ study, gathered site by site. */
typedef struct {
    const char *id;
    size_t n;
    double *x[NCS_SYNTH_MAX_NERVES * NCS_SYNTH_MAX_SITES];
    char ann[NCS_SYNTH_MAX_NERVES * NCS_SYNTH_MAX_SITES][48];
    double stim_ms[NCS_SYNTH_MAX_NERVES * NCS_SYNTH_MAX_SITES];
    size_t spr;
    double fs_hz;
} edf_acc;

void ncs_synth_as_edf(ncs_synth_study *s)
{
    double fs = s->nerves[0].sites[0].cond.fs_hz, sweep = 0;
    for (size_t i = 0; i < s->n_nerves; i++)
        for (size_t j = 0; j < s->nerves[i].n_sites; j++)
            sweep = fmax(sweep, s->nerves[i].sites[j].cond.sweep_ms);
    for (size_t i = 0; i < s->n_nerves; i++)
        for (size_t j = 0; j < s->nerves[i].n_sites; j++) {
            s->nerves[i].sites[j].cond.fs_hz = fs;
            s->nerves[i].sites[j].cond.sweep_ms = sweep;
        }
    s->edf = 1;
}

/* "Median R Wrist", "Ulnar L Below-elbow": how a machine names a record */
static void record_name(char *out, size_t n, const ncs_synth_nerve *nv, const char *site)
{
    snprintf(out, n, "%c%s %c %c%s", toupper((unsigned char)nv->nerve[0]), nv->nerve + 1,
             toupper((unsigned char)nv->side[0]), toupper((unsigned char)site[0]), site + 1);
}

/* Site j of nerve n as the next record of the study's EDF+ file. */
static ncs_status edf_site(edf_acc *acc, const ncs_synth_nerve *n, size_t j, double *x,
                           size_t ns, FILE *ini, char fname[128], ncs_error *err)
{
    const ncs_synth_site *st = &n->sites[j];
    if (acc->n == 0) {
        acc->spr = ns;
        acc->fs_hz = st->cond.fs_hz;
    }
    if (ns != acc->spr || st->cond.fs_hz != acc->fs_hz || acc->n >= sizeof acc->x / sizeof *acc->x) {
        free(x);
        return synth_fail(err, NCS_ERR_USAGE, acc->id,
                          "EDF sites need one rate and sweep (ncs_synth_as_edf)");
    }
    acc->x[acc->n] = x;
    acc->stim_ms[acc->n] = st->cond.pre_ms;
    record_name(acc->ann[acc->n], sizeof acc->ann[0], n, st->name);
    snprintf(fname, 128, "%s.edf", acc->id);
    fprintf(ini, "\n[%s.%s.%s]\nfile = %s\nannotation = %s\ndistance_mm = %g\n", n->nerve,
            n->side, st->name, fname, acc->ann[acc->n], st->distance_mm);
    if (st->cond.inverted)
        fprintf(ini, "polarity = inverted\n");
    acc->n++;
    return NCS_OK;
}

/* The gathered records into <dir>/<id>.edf, records 10 s apart. */
static ncs_status edf_write(edf_acc *acc, const char *dir, ncs_error *err)
{
    ncs_synth_edf_record rec[sizeof acc->x / sizeof *acc->x];
    double peak = 0;
    for (size_t r = 0; r < acc->n; r++) {
        rec[r] = (ncs_synth_edf_record){acc->x[r], acc->ann[r], 10.0 * (double)r,
                                        acc->stim_ms[r]};
        for (size_t i = 0; i < acc->spr; i++)
            peak = fmax(peak, fabs(acc->x[r][i]));
    }
    double phys = 20.0;
    while (phys < 1.1 * peak)
        phys *= 2.0;
    ncs_synth_edf e = {acc->n, acc->spr, acc->fs_hz, phys, NULL, NULL, NULL, 0, rec};
    size_t nb = 0;
    unsigned char *b = ncs_synth_edf_bytes(&e, &nb);
    char name[128];
    snprintf(name, sizeof name, "%s.edf", acc->id);
    char *path = synth_path(dir, name);
    FILE *f = b && path ? fopen(path, "wb") : NULL;
    int bad = !f || fwrite(b, 1, nb, f) != nb;
    if (f && fclose(f) != 0)
        bad = 1;
    ncs_status rc = bad ? synth_fail(err, NCS_ERR_OUTPUT, path ? path : dir, "cannot write")
                        : NCS_OK;
    free(path);
    free(b);
    return rc;
}

/* Renders site j of nerve n into its waveform file (or the study's EDF+
 * records, acc) and its study.ini section; *fname gets the file's name. */
static ncs_status write_site(const ncs_synth_nerve *n, size_t j, const ncs_synth_model *m,
                             ncs_rng *noise, const char *dir, FILE *ini, char fname[128],
                             edf_acc *acc, ncs_error *err)
{
    const ncs_synth_site *st = &n->sites[j];
    const ncs_synth_cond *c = &st->cond;
    size_t ns = (size_t)floor(c->fs_hz * c->sweep_ms / 1000.0 + 0.5);
    double *x = malloc(ns * sizeof *x);
    if (!x)
        return synth_fail(err, NCS_ERR_NOMEM, dir, "out of memory");
    ncs_synth_render(m, j, c, noise, x, ns);
    if (acc)
        return edf_site(acc, n, j, x, ns, ini, fname, err);
    snprintf(fname, 128, "%s_%c_%s.%s", n->nerve, n->side[0], st->name, format_ext(st->format));
    char *path = synth_path(dir, fname);
    double peak = 0;
    for (size_t k = 0; k < ns; k++)
        if (fabs(x[k]) > peak)
            peak = fabs(x[k]);
    double scale = c->clip_mv > 0 ? c->clip_mv : 20.0;
    while (scale < 1.1 * peak)
        scale *= 2.0;
    ncs_status rc = path ? write_samples(path, st->format, c->fs_hz, x, ns, scale, err)
                         : synth_fail(err, NCS_ERR_NOMEM, dir, "out of memory");
    free(path);
    free(x);
    fprintf(ini, "\n[%s.%s.%s]\nfile = %s\ndistance_mm = %g\n", n->nerve, n->side, st->name,
            fname, st->distance_mm);
    if (c->pre_ms > 0)
        fprintf(ini, "stim_ms = %g\n", c->pre_ms);
    if (is_integer_format(st->format))
        fprintf(ini, "scale_mv = %g\n", scale);
    if (st->format == NCS_SYNTH_CSV_VALUES)
        fprintf(ini, "rate_hz = %g\n", c->fs_hz);
    if (c->inverted)
        fprintf(ini, "polarity = inverted\n");
    return rc;
}

/* One nerve: its study.ini sections, its waveform files and its truth
 * (appended to jnerves). */
static ncs_status write_nerve(const ncs_synth_study *s, size_t i, ncs_rng *noise,
                              const char *dir, FILE *ini, json_t *jnerves, edf_acc *acc,
                              ncs_error *err)
{
    const ncs_synth_nerve *n = &s->nerves[i];
    double dist[NCS_SYNTH_MAX_SITES];
    ncs_synth_lesion les[NCS_SYNTH_MAX_SITES];
    for (size_t j = 0; j < n->n_sites; j++) {
        dist[j] = n->sites[j].distance_mm;
        les[j] = n->sites[j].lesion;
    }
    ncs_synth_model *m = ncs_synth_model_create(&n->p, n->n_sites, dist, les,
                                                (s->model_seed ? s->model_seed : s->seed) * 31
                                                    + i + 1);
    if (!m)
        return synth_fail(err, NCS_ERR_NOMEM, dir, "cannot build the nerve model");
    fprintf(ini, "\n[%s.%s]\nmuscle = %s\n", n->nerve, n->side, n->muscle);
    json_t *jn = json_object(), *jsites = json_array(), *jsegs = json_array();
    char nid[64];
    snprintf(nid, sizeof nid, "%s.%s", n->nerve, n->side);
    json_object_set_new(jn, "id", json_string(nid));
    json_object_set_new(jn, "sites", jsites);
    json_object_set_new(jn, "segments", jsegs);
    json_array_append_new(jnerves, jn);
    ncs_synth_truth prev = {0};
    ncs_status rc = NCS_OK;
    for (size_t j = 0; j < n->n_sites && rc == NCS_OK; j++) {
        const ncs_synth_site *st = &n->sites[j];
        char fname[128];
        rc = write_site(n, j, m, noise, dir, ini, fname, acc, err);
        ncs_synth_truth t;
        ncs_synth_model_truth(m, j, &t);
        json_t *js = truth_json(&t);
        json_object_set_new(js, "site", json_string(st->name));
        json_object_set_new(js, "distance_mm", json_real(st->distance_mm));
        json_object_set_new(js, "file", json_string(fname));
        json_object_set_new(js, "cond", cond_json(&st->cond, st->format));
        json_array_append_new(jsites, js);
        if (j > 0)
            json_array_append_new(jsegs, segment_truth_json(n, j, &prev, &t));
        prev = t;
    }
    ncs_synth_model_destroy(m);
    return rc;
}

ncs_status ncs_synth_write(const ncs_synth_study *s, const char *dir, ncs_error *err)
{
    ncs_error_clear(err);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return synth_fail(err, NCS_ERR_OUTPUT, dir, "cannot create folder: %s",
                          strerror(errno));
    char *ini_path = synth_path(dir, "study.ini");
    FILE *ini = ini_path ? fopen(ini_path, "w") : NULL;
    if (!ini) {
        ncs_status rc = synth_fail(err, NCS_ERR_OUTPUT, ini_path ? ini_path : dir,
                                   "cannot create: %s", strerror(errno));
        free(ini_path);
        return rc;
    }
    fprintf(ini, "; synthetic study made by ncs-synth (scenario %s, seed %llu)\n"
                 "[study]\nid = %s\ntemperature_c = %.1f\nlff_hz = 2\n",
            s->scenario, (unsigned long long)s->seed, s->id, s->temperature_c);
    if (s->patient[0])
        fprintf(ini, "patient = %s\n", s->patient);
    if (s->date[0])
        fprintf(ini, "date = %s\n", s->date);
    json_t *truth = json_object();
    json_object_set_new(truth, "id", json_string(s->id));
    json_object_set_new(truth, "scenario", json_string(s->scenario));
    json_object_set_new(truth, "seed", json_integer((json_int_t)s->seed));
    json_t *jnerves = json_array();
    json_object_set_new(truth, "nerves", jnerves);

    ncs_status rc = NCS_OK;
    ncs_rng noise;
    ncs_rng_seed(&noise, s->seed ^ 0x5eed5eedULL);
    edf_acc acc = {.id = s->id};
    for (size_t i = 0; i < s->n_nerves && rc == NCS_OK; i++)
        rc = write_nerve(s, i, &noise, dir, ini, jnerves, s->edf ? &acc : NULL, err);
    if (rc == NCS_OK && s->edf)
        rc = edf_write(&acc, dir, err);
    for (size_t r = 0; r < acc.n; r++)
        free(acc.x[r]);
    int ini_bad = fclose(ini) != 0;
    if (rc == NCS_OK && ini_bad)
        rc = synth_fail(err, NCS_ERR_OUTPUT, ini_path, "write error");
    if (rc == NCS_OK) {
        char *tp = synth_path(dir, "truth.json");
        if (!tp || json_dump_file(truth, tp, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) != 0)
            rc = synth_fail(err, NCS_ERR_OUTPUT, tp ? tp : dir, "cannot write truth.json");
        free(tp);
    }
    json_decref(truth);
    free(ini_path);
    return rc;
}
