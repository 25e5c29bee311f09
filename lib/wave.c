/* wave.c — one waveform file into millivolts (docs/study-folder.md).
 *
 * Audio containers go through libsndfile; ".csv" and ".txt" files through the
 * CSV reader below. Whatever the source, samples leave this file as mV with a
 * normal CMAP's main phase negative, and every range of docs/study-folder.md has been
 * checked.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <fftw3.h>
#include <sndfile.h>

#include "internal.h"

#define CHUNK_FRAMES 4096
#define CSV_MAX_LINE 4096

static double units_factor(ncs_units u)
{
    switch (u) {
    case NCS_UNITS_UV:
        return 1e-3;
    case NCS_UNITS_V:
        return 1e3;
    default:
        return 1.0;
    }
}

static const char *units_name(ncs_units u)
{
    return u == NCS_UNITS_UV ? "uV" : u == NCS_UNITS_V ? "V" : "mV";
}

static int has_ext(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

static void wave_zero(ncs_wave *w)
{
    memset(w, 0, sizeof *w);
    w->rail_mv = NAN;
}

void ncs_wave_warn_channel(const ncs_site *site, const ncs_wave *w, const char *where,
                           ncs_warnings *warn)
{
    /* a file of several channels read at its first without being asked:
     * the response may be in another */
    if (w->format == NCS_FORMAT_SNDFILE && w->channels > 1 && !site->channel_given)
        ncs_warn(warn, where, "channel",
                 "the file holds %d channels and channel 1 was read: if the response is in "
                 "another, say which with channel = in the site's section", w->channels);
}

/* Checks the ranges shared by every format and applies polarity. */
static ncs_status finish_wave(const ncs_site *site, const char *where,
                              ncs_wave *w, ncs_warnings *warn, ncs_error *err)
{
    /* (a CSV's time column in seconds read as ms gives a rate 1000 times
     * too high; in microseconds, 1000 times too low) */
    int csv_time = w->format == NCS_FORMAT_CSV_TIME;
    const char *hint = !csv_time         ? ""
                     : w->time_unit_named ? " (from the time column in the unit its header names: "
                                            "is that unit right?)"
                     : w->fs_hz / 1000.0 >= NCS_MIN_RATE_HZ && w->fs_hz / 1000.0 <= NCS_MAX_RATE_HZ
                         ? " (from the time column read as ms: if it is in seconds, say so in "
                           "the header, time_s,value)"
                     : w->fs_hz * 1000.0 >= NCS_MIN_RATE_HZ && w->fs_hz * 1000.0 <= NCS_MAX_RATE_HZ
                         ? " (from the time column read as ms: if it is in microseconds, say so "
                           "in the header, time_us,value)"
                         : "";
    if (w->fs_hz < NCS_MIN_RATE_HZ || w->fs_hz > NCS_MAX_RATE_HZ)
        return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path,
                        "%s: sample rate %.10g Hz is outside %.0f Hz to %.0f Hz%s", where,
                        w->fs_hz, NCS_MIN_RATE_HZ, NCS_MAX_RATE_HZ, hint);
    double sweep_ms = 1000.0 * (double)w->n / w->fs_hz;
    if (sweep_ms < NCS_MIN_SWEEP_MS || sweep_ms > NCS_MAX_SWEEP_MS)
        return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path,
                        "%s: record is %.3g ms long (%zu samples at %.10g Hz); "
                        "accepted: %g ms to %g s", where, sweep_ms, w->n, w->fs_hz,
                        NCS_MIN_SWEEP_MS, NCS_MAX_SWEEP_MS / 1000.0);
    /* stim_ms is on the file's own time axis: a CSV whose time column starts
     * at -1 ms has its stimulus at 0 without any key */
    double from_first = site->stim_ms - w->t_first_ms;
    if (from_first < 0)
        return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path,
                        "%s: the stimulus (stim_ms = %g) lies before the record's first "
                        "sample (at %g ms on the file's time axis)", where, site->stim_ms,
                        w->t_first_ms);
    if (from_first >= sweep_ms - 1.0)
        return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path,
                        "%s: the stimulus at %g ms (%s) leaves less than 1 ms of the record "
                        "(%g to %.4g ms) after it: no response can be measured", where,
                        site->stim_ms, site->stim_given < 0 ? "its EDF+ annotation" : "stim_ms",
                        w->t_first_ms, w->t_first_ms + sweep_ms);
    w->stim_ms = from_first;
    /* no amplifier puts 1 V on an EMG channel: a sample beyond it is a
     * unit or scale mistake (or no recording), never a measurement */
    double lo = w->mv[0], hi = w->mv[0];
    for (size_t i = 0; i < w->n; i++) {
        lo = fmin(lo, w->mv[i]);
        hi = fmax(hi, w->mv[i]);
        if (fabs(w->mv[i]) > NCS_ABSURD_MV)
            return ncs_fail(err, NCS_ERR_WAVE_VALUE, site->path,
                            "%s: sample %zu (%.3f ms) is %.6g mV, beyond the %g mV no EMG "
                            "amplifier records: check units and scale_mv", where, i,
                            (double)i * 1000.0 / w->fs_hz + w->t_first_ms, w->mv[i],
                            NCS_ABSURD_MV);
    }
    /* not one sample differs from the others: a dead channel, an empty
     * export or a scale_mv that rounds everything away; never "no response" */
    if (!(hi > lo))
        return ncs_fail(err, NCS_ERR_WAVE_VALUE, site->path,
                        "%s: the trace is flat (every sample is %.6g mV): a dead channel or "
                        "an empty export, not a recording", where, lo);
    if (site->polarity == NCS_POLARITY_INVERTED)
        for (size_t i = 0; i < w->n; i++)
            w->mv[i] = -w->mv[i];
    ncs_wave_warn_channel(site, w, where, warn);
    if (w->fs_hz < NCS_LOW_RATE_HZ)
        ncs_warn(warn, where, "low-rate",
                 "sample rate %g Hz is below %g Hz: latencies are coarse "
                 "(%.2f ms per sample)", w->fs_hz, NCS_LOW_RATE_HZ,
                 1000.0 / w->fs_hz);
    return NCS_OK;
}

/* ---- libsndfile ---------------------------------------------------------- */

static int pcm_bits(int subtype)
{
    switch (subtype) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
        return 8;
    case SF_FORMAT_PCM_16:
        return 16;
    case SF_FORMAT_PCM_24:
        return 24;
    case SF_FORMAT_PCM_32:
        return 32;
    default:
        return 0;
    }
}

/* "WAV PCM 16", "FLAC float32": the container's first word and the encoding. */
static void sndfile_format_name(SNDFILE *sf, const SF_INFO *info, char *out, size_t n)
{
    int subtype = info->format & SF_FORMAT_SUBMASK;
    int bits = pcm_bits(subtype);
    SF_FORMAT_INFO fi;
    memset(&fi, 0, sizeof fi);
    fi.format = info->format & SF_FORMAT_TYPEMASK;
    const char *major = sf_command(sf, SFC_GET_FORMAT_INFO, &fi, sizeof fi) == 0
                        && fi.name ? fi.name : "audio";
    char majbuf[32];
    snprintf(majbuf, sizeof majbuf, "%s", major);
    char *sp = strchr(majbuf, ' ');
    if (sp)
        *sp = '\0';
    if (subtype == SF_FORMAT_FLOAT || subtype == SF_FORMAT_DOUBLE)
        snprintf(out, n, "%s float%d", majbuf, subtype == SF_FORMAT_FLOAT ? 32 : 64);
    else if (bits)
        snprintf(out, n, "%s PCM %d", majbuf, bits);
    else
        snprintf(out, n, "%s", majbuf);
}

/* What the header says, checked before anything is allocated for it: the
 * header could claim anything. */
/* A lossy codec (MP3, Vorbis, Opus) changes the waveform itself: its
 * amplitudes and timing are the codec's, not the amplifier's. */
#define LOSSY "a lossy compressed format (MP3, Ogg Vorbis or Opus) alters amplitudes and " \
              "timing: export the recording as WAV, FLAC or CSV"

static int lossy(int format)
{
    int sub = format & SF_FORMAT_SUBMASK;
    return (format & SF_FORMAT_TYPEMASK) == SF_FORMAT_MPEG || sub == SF_FORMAT_VORBIS
           || sub == SF_FORMAT_OPUS || sub == SF_FORMAT_MPEG_LAYER_I
           || sub == SF_FORMAT_MPEG_LAYER_II || sub == SF_FORMAT_MPEG_LAYER_III;
}

/* An MP3 by its first bytes (an ID3 tag or an MPEG audio frame header):
 * refused before libsndfile's decoder, which prints notes of its own. */
static int looks_mp3(const unsigned char *d, size_t n)
{
    return (n >= 3 && d[0] == 'I' && d[1] == 'D' && d[2] == '3')
           || (n >= 2 && d[0] == 0xFF && (d[1] & 0xE0) == 0xE0);
}

static ncs_status sndfile_check_header(SNDFILE *sf, const SF_INFO *info, int is_float,
                                       const ncs_site *site, const char *where,
                                       const ncs_wave *w, ncs_error *err)
{
    if (info->channels < 1 || info->samplerate <= 0)
        return ncs_fail(err, NCS_ERR_WAVE_FORMAT, site->path,
                        "%s: file declares %d channels at %d Hz", where, info->channels,
                        info->samplerate);
    if (lossy(info->format))
        return ncs_fail(err, NCS_ERR_WAVE_FORMAT, site->path, "%s: " LOSSY, where);
    if (site->channel > info->channels)
        return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path,
                        "%s: channel = %d but the file has %d channel%s", where,
                        site->channel, info->channels, info->channels == 1 ? "" : "s");
    /* libsndfile shortens a truncated WAV/AIFF to the bytes present and
     * only says so in its log ("data : 3375 (should be 1456)") */
    char log[2048];
    log[0] = '\0';
    sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
    for (char *ln = log; ln && *ln; ) {
        char *nl = strchr(ln, '\n');
        if (nl)
            *nl = '\0';
        if ((strncmp(ln, "data", 4) == 0 || strncmp(ln, "SSND", 4) == 0)
            && strstr(ln, "(should be"))
            return ncs_fail(err, NCS_ERR_WAVE_FORMAT, site->path,
                            "%s: file is truncated or damaged (its header and its "
                            "length disagree: %s)", where, ln);
        ln = nl ? nl + 1 : NULL;
    }
    if (info->frames <= 0)
        return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path, "%s: file holds no samples", where);
    if ((double)info->frames / info->samplerate * 1000.0 > NCS_MAX_SWEEP_MS * 1.001
        || (double)info->frames * info->channels * sizeof(double) > (double)NCS_MAX_WAVE_BYTES)
        return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path,
                        "%s: record is %.3g s long (%lld samples at %d Hz); "
                        "accepted: up to %g s", where,
                        (double)info->frames / info->samplerate, (long long)info->frames,
                        info->samplerate, NCS_MAX_SWEEP_MS / 1000.0);
    if (!is_float && isnan(site->scale_mv))
        return ncs_fail(err, NCS_ERR_INI_MISSING, site->path,
                        "%s: integer samples (%s) need scale_mv in study.ini: "
                        "the mV that full scale represents", where, w->format_name);
    return NCS_OK;
}

/* Reads the site's channel into w->mv (w->n samples) in mV, counting the
 * samples at the converter's rails; buf holds CHUNK_FRAMES frames. */
static ncs_status sndfile_read_samples(SNDFILE *sf, const SF_INFO *info, int is_float, int bits,
                                       const ncs_site *site, const char *where, double *buf,
                                       ncs_wave *w, ncs_error *err)
{
    /* float files hold physical values: no normalisation */
    if (is_float)
        sf_command(sf, SFC_SET_NORM_DOUBLE, NULL, SF_FALSE);
    double scale = is_float ? units_factor(site->units) : site->scale_mv;
    /* integer PCM read as double is normalised to [-1, 1): the rails are
     * 1 - 2^-(bits-1) and -1, and many writers (libsndfile among them) use
     * -(1 - 2^-(bits-1)) for the negative one: both count as clipped */
    double rail = bits ? 1.0 - 1.5 / ldexp(1.0, bits - 1) : NAN;
    w->rail_mv = bits ? site->scale_mv : NAN;
    size_t got = 0;
    int ch = site->channel - 1;
    while (got < w->n) {
        sf_count_t want = (sf_count_t)(w->n - got < CHUNK_FRAMES ? w->n - got : CHUNK_FRAMES);
        sf_count_t r = sf_readf_double(sf, buf, want);
        if (r <= 0)
            break;
        for (sf_count_t i = 0; i < r; i++) {
            double x = buf[(size_t)i * (size_t)info->channels + (size_t)ch];
            if (!isfinite(x))
                return ncs_fail(err, NCS_ERR_WAVE_VALUE, site->path,
                                "%s: sample %zu (%.3f ms) is not a finite number", where,
                                got + (size_t)i,
                                1000.0 * (double)(got + (size_t)i) / info->samplerate);
            if (bits && fabs(x) >= rail)
                w->clipped_n++;
            w->mv[got + (size_t)i] = x * scale;
        }
        got += (size_t)r;
    }
    if (sf_error(sf) != SF_ERR_NO_ERROR && got < w->n)
        return ncs_fail(err, NCS_ERR_WAVE_FORMAT, site->path, "%s: file is truncated or damaged "
                        "(after %zu of %zu samples: %s)", where, got, w->n, sf_strerror(sf));
    if (got < w->n)
        return ncs_fail(err, NCS_ERR_WAVE_FORMAT, site->path,
                        "%s: file is truncated: its header announces %zu samples, "
                        "it holds %zu", where, w->n, got);
    return NCS_OK;
}

/* Decodes an opened sound file (from a path or from memory: the same code
 * either way, so the fuzzer's memory path is the production path). Closes
 * sf. */
static ncs_status decode_sndfile(SNDFILE *sf, SF_INFO info, const ncs_site *site,
                                 const char *where, ncs_wave *w, ncs_error *err)
{
    int subtype = info.format & SF_FORMAT_SUBMASK;
    int is_float = subtype == SF_FORMAT_FLOAT || subtype == SF_FORMAT_DOUBLE;
    int bits = pcm_bits(subtype);
    double *buf = NULL;

    sndfile_format_name(sf, &info, w->format_name, sizeof w->format_name);
    w->format = NCS_FORMAT_SNDFILE;
    w->channels = info.channels;
    w->fs_hz = info.samplerate;
    ncs_status rc = sndfile_check_header(sf, &info, is_float, site, where, w, err);
    if (rc == NCS_OK) {
        w->n = (size_t)info.frames;
        w->mv = malloc(w->n * sizeof *w->mv);
        buf = malloc((size_t)CHUNK_FRAMES * (size_t)info.channels * sizeof *buf);
        rc = w->mv && buf ? NCS_OK
                          : ncs_fail(err, NCS_ERR_NOMEM, site->path, "%s: out of memory", where);
    }
    if (rc == NCS_OK)
        rc = sndfile_read_samples(sf, &info, is_float, bits, site, where, buf, w, err);
    free(buf);
    sf_close(sf);
    return rc;
}

/* libsndfile's virtual I/O over a buffer in memory */
typedef struct {
    const unsigned char *data;
    sf_count_t n, pos;
} mem_io;

static sf_count_t mem_len(void *u)
{
    return ((mem_io *)u)->n;
}

static sf_count_t mem_seek(sf_count_t off, int whence, void *u)
{
    mem_io *m = u;
    sf_count_t p = whence == SEEK_SET ? off : whence == SEEK_CUR ? m->pos + off : m->n + off;
    if (p < 0 || p > m->n)
        return -1;
    m->pos = p;
    return p;
}

static sf_count_t mem_read(void *ptr, sf_count_t count, void *u)
{
    mem_io *m = u;
    sf_count_t k = m->n - m->pos < count ? m->n - m->pos : count;
    if (k <= 0)
        return 0;
    memcpy(ptr, m->data + m->pos, (size_t)k);
    m->pos += k;
    return k;
}

static sf_count_t mem_write(const void *ptr, sf_count_t count, void *u)
{
    (void)ptr;
    (void)count;
    (void)u;
    return 0;
}

static sf_count_t mem_tell(void *u)
{
    return ((mem_io *)u)->pos;
}

/* ---- CSV ----------------------------------------------------------------- */

/* Splits a line into at most 3 fields on ',' ';' or tab. Returns the count
 * (3 meaning "too many"). Modifies the line. */
static int split_fields(char *line, char **f)
{
    int n = 0;
    char *s = line;
    for (;;) {
        if (n == 3)
            return 3;
        f[n++] = s;
        char *sep = strpbrk(s, ",;\t");
        if (!sep)
            break;
        *sep = '\0';
        s = sep + 1;
    }
    return n;
}

/* A CSV waveform being read: values (and times, with two columns). */
typedef struct {
    const ncs_site *site;
    const char *where;
    ncs_error *err;
    double *val, *tim;
    size_t n, cap, max_n;
    int cols, lineno, header;
    int val_units;    /* from the header: -1 none, else an ncs_units */
    double tim_to_ms; /* from the header: the time column's unit in ms (1 when none) */
    int tim_named;    /* the header named that unit */
} csv_reader;

/* The unit a header field names: what stands in (...) or [...], else after
 * its last '_', ' ' or '/' ("Amplitude (uV)", "value_uV", "time [s]",
 * "t_ms"), else the field itself ("mV"); a unit-less name ("value") is
 * then no unit either. */
/* The unit a header field names into u, and how it names it: 2 in (...)
 * or [...] ("Amplitude (uV)"), 1 after the last '_', ' ' or '/'
 * ("value_uV"), 0 as the whole field ("mV"). */
static int header_unit(const char *f, char *u, size_t n)
{
    const char *a = strpbrk(f, "([");
    const char *b = a ? strpbrk(a + 1, ")]") : NULL;
    int how = a && b ? 2 : 1;
    if (!(a && b)) {
        a = NULL;
        for (const char *c = f; *c; c++)
            if (*c == '_' || *c == ' ' || *c == '/')
                a = c;
        b = a ? a + strlen(a) : NULL;
    }
    if (!a) { /* the whole field may be the unit ("mV") */
        a = f - 1;
        b = f + strlen(f);
        how = 0;
    }
    size_t k = 0;
    for (const char *c = a + 1; c < b && k + 1 < n; c++)
        if (*c != ' ')
            u[k++] = *c;
    u[k] = '\0';
    return how;
}

/* u after a micro sign (UTF-8 U+00B5 or U+03BC, Latin-1 0xB5), else NULL */
static const char *after_micro(const char *u)
{
    if (!strncmp(u, "\xc2\xb5", 2) || !strncmp(u, "\xce\xbc", 2))
        return u + 2;
    return (unsigned char)u[0] == 0xb5 ? u + 1 : NULL;
}

/* "uV", "µV", "mcV", "mkV", "mV", "V", in words too (any case but mV/MV):
 * an ncs_units, or -1. */
static int value_unit(const char *u)
{
    static const char *const uv[] = {"uv", "mcv", "mkv", "uvolt", "uvolts", "microvolt",
                                     "microvolts"};
    static const char *const v[] = {"v", "volt", "volts"};
    const char *m = after_micro(u);
    if (m)
        return strcasecmp(m, "v") == 0 || strcasecmp(m, "volt") == 0 ? NCS_UNITS_UV : -1;
    for (size_t i = 0; i < sizeof uv / sizeof uv[0]; i++)
        if (!strcasecmp(u, uv[i]))
            return NCS_UNITS_UV;
    if (!strcmp(u, "mV") || !strcmp(u, "mv") || !strcasecmp(u, "millivolt")
        || !strcasecmp(u, "millivolts") || !strcasecmp(u, "mvolt"))
        return NCS_UNITS_MV;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (!strcasecmp(u, v[i]))
            return NCS_UNITS_V;
    return -1;
}

/* "ms", "s", "us"/"µs" (and msec, sec, usec): the unit in ms, or 0 when
 * not a time unit. */
static double time_unit(const char *u)
{
    const char *m = after_micro(u);
    if (m)
        return strcasecmp(m, "s") == 0 ? 1e-3 : 0.0;
    return !strcasecmp(u, "ms") || !strcasecmp(u, "msec") ? 1.0
         : !strcasecmp(u, "s") || !strcasecmp(u, "sec") ? 1000.0
         : !strcasecmp(u, "us") || !strcasecmp(u, "usec") ? 1e-3 : 0.0;
}

/* The header's units: the value column's against study.ini's `units`
 * (a contradiction is an error: one of them is wrong), the time column's
 * turned into ms. A unit in brackets must be one ncs knows; a word that is
 * not a unit ("time", "value", "Amplitude") names none: ms and the units
 * of study.ini (default mV). */
static ncs_status csv_header_units(csv_reader *c, char **fld, int nf)
{
    char u[64];
    int how = header_unit(fld[nf - 1], u, sizeof u);
    /* a column called "v" is a value, not volts ("V" is) */
    int vu = how == 0 && !strcmp(u, "v") ? -1 : value_unit(u);
    if (vu < 0 && how == 2 && u[0])
        return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                        "%s: the CSV header's value column '%.60s' names a unit ncs does not "
                        "know ('%s'): use mV, uV or V", c->where, fld[nf - 1], u);
    if (vu >= 0 && c->site->units_given && (ncs_units)vu != c->site->units)
        return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                        "%s: the CSV header says the values are in %s ('%.60s'), study.ini "
                        "says units = %s: correct the one that is wrong", c->where,
                        units_name((ncs_units)vu), fld[nf - 1], units_name(c->site->units));
    c->val_units = vu;
    if (nf == 2) {
        how = header_unit(fld[0], u, sizeof u);
        double t = time_unit(u);
        if (t == 0.0 && how == 2 && u[0])
            return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                            "%s: the CSV header's time column '%.60s' names a unit ncs does "
                            "not know ('%s'): use ms, s or us", c->where, fld[0], u);
        c->tim_to_ms = t > 0 ? t : 1.0;
        c->tim_named = t > 0;
    }
    return NCS_OK;
}

/* Trims one raw line (line ending, trailing blanks, a UTF-8 byte-order mark
 * on the first line, leading blanks) and refuses binary data and overlong
 * lines. *text is NULL for a line to skip (empty or a # comment). */
static ncs_status csv_clean_line(csv_reader *c, char *line, size_t len, char **text)
{
    *text = NULL;
    if (strlen(line) != len)
        return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                        "%s: line %d holds binary data: not a CSV file", c->where, c->lineno);
    if (len > CSV_MAX_LINE)
        return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                        "%s: line %d is longer than %d characters: not a CSV "
                        "waveform", c->where, c->lineno, CSV_MAX_LINE);
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' '
                   || line[len - 1] == '\t'))
        line[--len] = '\0';
    char *s = line;
    if (c->lineno == 1 && (unsigned char)s[0] == 0xEF && (unsigned char)s[1] == 0xBB
        && (unsigned char)s[2] == 0xBF)
        s += 3;
    while (*s == ' ' || *s == '\t')
        s++;
    if (*s && *s != '#')
        *text = s;
    return NCS_OK;
}

/* Room for one more sample (and its time). */
static ncs_status csv_grow(csv_reader *c)
{
    if (c->n == c->max_n)
        return ncs_fail(c->err, NCS_ERR_WAVE_RANGE, c->site->path, "%s: more than %zu samples",
                        c->where, c->max_n);
    if (c->n < c->cap && (c->cols != 2 || c->tim))
        return NCS_OK;
    size_t cap = c->n < c->cap ? c->cap : 2 * c->cap;
    double *nv = realloc(c->val, cap * sizeof *nv);
    if (nv)
        c->val = nv;
    double *nt = nv && c->cols == 2 ? realloc(c->tim, cap * sizeof *nt) : NULL;
    if (nt)
        c->tim = nt;
    if (!nv || (c->cols == 2 && !nt))
        return ncs_fail(c->err, NCS_ERR_NOMEM, c->site->path, "%s: out of memory", c->where);
    c->cap = cap;
    return NCS_OK;
}

/* One non-empty line: a header (the first line only, when it does not hold
 * numbers where the values go), else a row of one or two numbers. */
static ncs_status csv_row(csv_reader *c, char *text)
{
    char *fld[3];
    /* a spreadsheet in a language with a decimal comma writes
     * '0,25;-0,013': ';' between the columns, ',' in the numbers */
    int semicolons = strchr(text, ';') != NULL, commas = strchr(text, ',') != NULL;
    int tabs = strchr(text, '\t') != NULL;
    int nf = split_fields(text, fld);
    if (nf > 2 && semicolons)
        return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                        "%s: line %d has more than 2 columns; the file looks ';'-separated%s: "
                        "export it with ',' or a tab between the columns and '.' for "
                        "decimals (time_ms,value)", c->where, c->lineno,
                        commas ? " with decimal commas (0,25)" : "");
    if (nf > 2 && tabs && commas)
        return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                        "%s: line %d has more than 2 columns; the file looks tab-separated "
                        "with decimal commas (0,25): export it with '.' for decimals "
                        "(time_ms<tab>value)", c->where, c->lineno);
    if (nf > 2)
        return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                        "%s: line %d has more than 2 columns; expected one column "
                        "of values or time_ms,value", c->where, c->lineno);
    double v[2];
    for (int i = 0; i < nf; i++)
        if (ncs_parse_double(fld[i], &v[i])) {
            if (c->n == 0 && !c->header && c->cols == 0) {
                c->header = c->lineno;
                c->cols = nf;
                return csv_header_units(c, fld, nf);
            }
            return ncs_fail(c->err, NCS_ERR_WAVE_VALUE, c->site->path,
                            "%s: line %d: '%.40s' is not a finite number", c->where,
                            c->lineno, fld[i]);
        }
    if (c->cols == 0)
        c->cols = nf;
    if (nf != c->cols)
        return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                        "%s: line %d has %d column%s, line %d has %d", c->where, c->lineno, nf,
                        nf == 1 ? "" : "s", c->header ? c->header : 1, c->cols);
    ncs_status rc = csv_grow(c);
    if (rc != NCS_OK)
        return rc;
    if (c->cols == 2)
        c->tim[c->n] = v[0] * c->tim_to_ms;
    c->val[c->n++] = v[c->cols - 1];
    return NCS_OK;
}

/* The sample rate from an evenly spaced time column (ms). */
static ncs_status csv_time_axis(const csv_reader *c, ncs_wave *w)
{
    const double *tim = c->tim;
    size_t n = c->n;
    double dt = (tim[n - 1] - tim[0]) / (double)(n - 1);
    if (!(dt > 0))
        return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                        "%s: the time column does not increase", c->where);
    for (size_t i = 1; i < n; i++) {
        double expect = tim[0] + dt * (double)i;
        if (fabs(tim[i] - expect) > 0.05 * dt)
            return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, c->site->path,
                            "%s: the time column is not evenly spaced (row %zu: "
                            "%g ms, expected %g ms)", c->where, i + 1, tim[i], expect);
    }
    w->fs_hz = 1000.0 / dt;
    w->t_first_ms = tim[0];
    w->time_unit_named = c->tim_named;
    if (!isnan(c->site->rate_hz) && fabs(c->site->rate_hz - w->fs_hz) > 0.005 * w->fs_hz)
        return ncs_fail(c->err, NCS_ERR_WAVE_RANGE, c->site->path,
                        "%s: rate_hz = %g disagrees with the time column (%.6g Hz)", c->where,
                        c->site->rate_hz, w->fs_hz);
    /* the spacing is printed with few decimals; a rate within 0.5 % of a
     * round number of hertz is that number */
    double r = round(w->fs_hz);
    if (fabs(r - w->fs_hz) < 0.005 * w->fs_hz)
        w->fs_hz = r;
    return NCS_OK;
}

/* The samples read become the wave: rate, format name, millivolts. */
static ncs_status csv_finish(csv_reader *c, ncs_wave *w)
{
    const ncs_site *site = c->site;
    if (c->n < 2)
        return ncs_fail(c->err, NCS_ERR_WAVE_FORMAT, site->path,
                        "%s: CSV holds %zu value%s: no waveform", c->where, c->n,
                        c->n == 1 ? "" : "s");
    if (c->cols == 2) {
        w->format = NCS_FORMAT_CSV_TIME;
        ncs_status rc = csv_time_axis(c, w);
        if (rc != NCS_OK)
            return rc;
    } else if (isnan(site->rate_hz)) {
        return ncs_fail(c->err, NCS_ERR_INI_MISSING, site->path,
                        "%s: a one-column CSV needs rate_hz in study.ini "
                        "(or a time_ms column)", c->where);
    } else {
        w->fs_hz = site->rate_hz;
    }
    /* the header's unit when study.ini gives none (they agree otherwise) */
    ncs_units units = c->val_units >= 0 ? (ncs_units)c->val_units : site->units;
    snprintf(w->format_name, sizeof w->format_name, "CSV %s%s",
             c->cols == 2 ? "time_ms,value" : "values",
             units == NCS_UNITS_MV ? "" : units == NCS_UNITS_UV ? " uV" : " V");
    double k = units_factor(units);
    for (size_t i = 0; i < c->n; i++)
        c->val[i] *= k;
    w->mv = c->val;
    c->val = NULL;
    w->n = c->n;
    return NCS_OK;
}

/* Parses CSV from an opened stream (a file, or memory); closes f. */
static ncs_status decode_csv(FILE *f, const ncs_site *site, const char *where, ncs_wave *w,
                             ncs_error *err)
{
    csv_reader c = {.site = site, .where = where, .err = err, .cap = 4096,
                    .max_n = (size_t)(NCS_MAX_SWEEP_MS / 1000.0 * NCS_MAX_RATE_HZ) + 1,
                    .val_units = -1, .tim_to_ms = 1.0};
    ncs_status rc = NCS_OK;
    char *line = NULL;
    size_t line_cap = 0;
    struct stat sb;
    c.val = malloc(c.cap * sizeof *c.val);
    if (!c.val)
        rc = ncs_fail(err, NCS_ERR_NOMEM, site->path, "%s: out of memory", where);
    else if (fileno(f) >= 0 && fstat(fileno(f), &sb) == 0 && sb.st_size > NCS_MAX_WAVE_BYTES)
        rc = ncs_fail(err, NCS_ERR_LIMIT, site->path, "%s: CSV file is larger than %ld MiB",
                      where, NCS_MAX_WAVE_BYTES / (1024 * 1024));
    w->format = NCS_FORMAT_CSV_VALUES;
    w->channels = 1;
    ssize_t got;
    while (rc == NCS_OK && (got = getline(&line, &line_cap, f)) != -1) {
        c.lineno++;
        char *text;
        rc = csv_clean_line(&c, line, (size_t)got, &text);
        if (rc == NCS_OK && text)
            rc = csv_row(&c, text);
    }
    if (rc == NCS_OK && ferror(f))
        rc = ncs_fail(err, NCS_ERR_IO, site->path, "%s: read error", where);
    if (rc == NCS_OK)
        rc = csv_finish(&c, w);
    free(line);
    free(c.val);
    free(c.tim);
    fclose(f);
    return rc;
}

/* ---- EDF and EDF+ (edf.c parses; here a site's trace is chosen) ---------- */

/* "1 'EMG APB' (mV), 2 'EMG ADM' (mV)" */
static void edf_signal_list(const ncs_edf *e, char *buf, size_t n)
{
    size_t k = 0;
    int c = 0;
    buf[0] = '\0';
    for (int i = 0; i < e->n_signals && k + 1 < n; i++) {
        if (e->signals[i].annotations)
            continue;
        int r = snprintf(buf + k, n - k, "%s%d '%s' (%s)", c ? ", " : "", c + 1,
                         e->signals[i].label, e->signals[i].unit);
        c++;
        k += r > 0 ? (size_t)r : 0;
    }
}

/* "1 'Wrist', 2 'Elbow' ..." (the records and their annotations) */
static void edf_record_list(const ncs_edf *e, char *buf, size_t n)
{
    size_t k = 0;
    buf[0] = '\0';
    for (long r = 0; r < e->n_records && r < 12 && k + 1 < n; r++) {
        int w = snprintf(buf + k, n - k, "%s%ld", r ? ", " : "", r + 1);
        k += w > 0 ? (size_t)w : 0;
        const char *sep = " '";
        for (size_t i = 0; i < e->n_annotations && k + 1 < n; i++)
            if (e->annotations[i].record == r) {
                w = snprintf(buf + k, n - k, "%s%s", sep, e->annotations[i].text);
                k += w > 0 ? (size_t)w : 0;
                sep = "', '";
            }
        if (sep[0] == '\'' && k + 1 < n) {
            w = snprintf(buf + k, n - k, "'");
            k += w > 0 ? (size_t)w : 0;
        }
    }
    if (e->n_records > 12 && k + 1 < n)
        snprintf(buf + k, n - k, " ... (%ld records)", e->n_records);
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20)
            *c = ' ';
}

/* The records a site reads: [*first, *first + *count); *stim_ms the
 * stimulus a matched annotation marks inside its record (NAN: none). */
static ncs_status edf_records(const ncs_edf *e, const ncs_site *site, const char *where,
                              long *first, long *count, double *stim_ms, ncs_error *err)
{
    char list[1024];
    *stim_ms = NAN;
    if (site->record) {
        if (site->record > e->n_records)
            return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path,
                            "%s: record = %d but the file holds %ld data record%s", where,
                            site->record, e->n_records, e->n_records == 1 ? "" : "s");
        *first = site->record - 1;
        *count = 1;
        return NCS_OK;
    }
    if (site->annotation) {
        int second, a = ncs_edf_find_annotation(e, site->annotation, &second);
        edf_record_list(e, list, sizeof list);
        if (a < 0) {
            const char *texts[64];
            size_t nt = 0;
            for (size_t i = 0; i < e->n_annotations && nt < 64; i++)
                texts[nt++] = e->annotations[i].text;
            const char *near = ncs_nearest(site->annotation, texts, nt);
            return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path,
                            "%s: no annotation '%s' in the file%s%s%s; its records: %s", where,
                            site->annotation, near ? " (did you mean '" : "", near ? near : "",
                            near ? "'?)" : "", list);
        }
        if (second >= 0)
            return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path,
                            "%s: annotation '%s' names records %d and %d: choose one with "
                            "record = N", where, site->annotation,
                            e->annotations[a].record + 1, e->annotations[second].record + 1);
        *first = e->annotations[a].record;
        *count = 1;
        double at = e->annotations[a].at_ms;
        /* an annotation that lies in no record marks no stimulus in one */
        if (!(at >= -1e-6 && at < 1000.0 * e->record_s))
            return ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path,
                            "%s: annotation '%s' lies at %.6g s, in no data record (record %ld, "
                            "which stores it, spans %.6g to %.6g s): say the record with "
                            "record = N and the stimulus with stim_ms", where, site->annotation,
                            e->annotations[a].onset_s, *first + 1, e->record_start_s[*first],
                            e->record_start_s[*first] + e->record_s);
        if (at > 0)
            *stim_ms = at;
        return NCS_OK;
    }
    if (e->kind == NCS_EDF_PLUS_D && e->n_records > 1) {
        edf_record_list(e, list, sizeof list);
        return ncs_fail(err, NCS_ERR_INI_MISSING, site->path,
                        "%s: an EDF+D file holds one record per stimulation: say which "
                        "with record = N or annotation = TEXT (records: %s)", where, list);
    }
    *first = 0;
    *count = e->n_records;
    return NCS_OK;
}

/* The signal's unit in mV: from the header, checked against units =. */
static ncs_status edf_unit(const ncs_edf_signal *s, const ncs_site *site, const char *where,
                           double *factor, ncs_error *err)
{
    int u = value_unit(s->unit);
    if (u < 0 && (s->unit[0] || !site->units_given))
        return ncs_fail(err, NCS_ERR_WAVE_FORMAT, site->path,
                        "%s: signal '%s' is in '%s', not a voltage ncs knows (mV, uV, V)%s",
                        where, s->label, s->unit,
                        s->unit[0] ? "" : ": set units = for a signal without a unit");
    if (u >= 0 && site->units_given && (ncs_units)u != site->units)
        return ncs_fail(err, NCS_ERR_WAVE_FORMAT, site->path,
                        "%s: the file says signal '%s' is in %s but study.ini says units = "
                        "%s: one of them is wrong", where, s->label, s->unit,
                        units_name(site->units));
    *factor = units_factor(u >= 0 ? (ncs_units)u : site->units);
    return NCS_OK;
}

static ncs_status decode_edf(const void *data, size_t n, const ncs_site *site,
                             const char *where, ncs_wave *w, double *stim_ms, ncs_error *err)
{
    ncs_edf e;
    ncs_status rc = ncs_edf_parse(data, n, site->path, &e, err);
    if (rc != NCS_OK) {
        ncs_error x = *err;
        return ncs_fail(err, x.code, site->path, "%s: %s", where, x.message);
    }
    char list[1024];
    int sig = ncs_edf_find_signal(&e, site->channel, site->channel_label);
    long first = 0, count = 0;
    double factor = 1.0;
    if (sig < 0) {
        char want[40];
        if (site->channel_label)
            snprintf(want, sizeof want, "'%s'", site->channel_label);
        else
            snprintf(want, sizeof want, "%d", site->channel);
        edf_signal_list(&e, list, sizeof list);
        rc = ncs_fail(err, NCS_ERR_WAVE_RANGE, site->path, "%s: no signal %s in the file "
                      "(channel = counts the signals that are not annotations); its "
                      "signals: %s", where, want, list);
    }
    if (rc == NCS_OK)
        rc = edf_records(&e, site, where, &first, &count, stim_ms, err);
    if (rc == NCS_OK)
        rc = edf_unit(&e.signals[sig], site, where, &factor, err);
    if (rc == NCS_OK) {
        const ncs_edf_signal *s = &e.signals[sig];
        w->format = NCS_FORMAT_EDF;
        snprintf(w->format_name, sizeof w->format_name, "%s", e.kind == NCS_EDF_PLUS_D ? "EDF+D"
                 : e.kind == NCS_EDF_PLUS_C ? "EDF+C" : "EDF");
        w->channels = e.n_data_signals;
        w->fs_hz = (double)s->spr / e.record_s;
        w->n = (size_t)s->spr * (size_t)count;
        w->mv = malloc(w->n * sizeof *w->mv);
        if (!w->mv)
            rc = ncs_fail(err, NCS_ERR_NOMEM, site->path, "%s: out of memory", where);
    }
    if (rc == NCS_OK) {
        const ncs_edf_signal *s = &e.signals[sig];
        ncs_edf_read(&e, data, sig, first, count, w->mv, &w->clipped_n);
        for (size_t i = 0; i < w->n; i++)
            w->mv[i] *= factor;
        w->rail_mv = factor * fmin(fabs(ncs_edf_physical(s, s->dig_min)),
                                   fabs(ncs_edf_physical(s, s->dig_max)));
    }
    ncs_edf_free(&e);
    return rc;
}

static int is_edf(const ncs_site *site, const void *data, size_t n)
{
    return has_ext(site->file, ".edf") || has_ext(site->file, ".bdf") || ncs_edf_is(data, n);
}

/* ---- entry points -------------------------------------------------------- */

static int is_csv(const char *name)
{
    return has_ext(name, ".csv") || has_ext(name, ".txt");
}

/* The file's bytes in memory decoded (file: the name errors are reported
 * under). */
static ncs_status decode(const void *data, size_t n, const ncs_site *site, const char *file,
                         const char *where, ncs_wave *out, ncs_warnings *warn, ncs_error *err)
{
    ncs_status rc;
    double edf_stim = NAN;
    int edf = !is_csv(site->file) && is_edf(site, data, n);
    if (!edf && (site->record || site->annotation || site->channel_label))
        return ncs_fail(err, NCS_ERR_INI_VALUE, file, "%s: %s = applies to EDF and EDF+ "
                        "files, and '%s' is not one", where, site->record ? "record"
                        : site->annotation ? "annotation" : "a channel label", site->file);
    if (edf) {
        rc = decode_edf(data, n, site, where, out, &edf_stim, err);
    } else if (is_csv(site->file)) {
        /* fmemopen() of 0 bytes is refused by older C libraries */
        FILE *f = n ? fmemopen((void *)data, n, "r") : fopen("/dev/null", "r");
        if (!f)
            return ncs_fail(err, NCS_ERR_NOMEM, file, "%s: out of memory", where);
        rc = decode_csv(f, site, where, out, err);
    } else {
        if (looks_mp3(data, n))
            return ncs_fail(err, NCS_ERR_WAVE_FORMAT, site->path, "%s: " LOSSY, where);
        if (n == 0)
            return ncs_fail(err, NCS_ERR_WAVE_FORMAT, file,
                            "%s: the file is empty (0 bytes): was the recording saved?", where);
        mem_io m = {data, (sf_count_t)n, 0};
        SF_VIRTUAL_IO vio = {mem_len, mem_seek, mem_read, mem_write, mem_tell};
        SF_INFO info;
        memset(&info, 0, sizeof info);
        SNDFILE *sf = sf_open_virtual(&vio, SFM_READ, &info, &m);
        if (!sf)
            return ncs_fail(err, NCS_ERR_WAVE_FORMAT, file,
                            "%s: not a waveform libsndfile can read: %s", where,
                            sf_strerror(NULL));
        rc = decode_sndfile(sf, info, site, where, out, err);
    }
    if (rc == NCS_OK && !site->stim_given && !isnan(edf_stim)) {
        /* the stimulus an EDF+ annotation marks inside its record */
        ncs_site at = *site;
        at.stim_ms = edf_stim;
        at.stim_given = -1; /* (for messages: the annotation's) */
        rc = finish_wave(&at, where, out, warn, err);
    } else if (rc == NCS_OK) {
        rc = finish_wave(site, where, out, warn, err);
    }
    if (rc != NCS_OK)
        ncs_wave_free(out);
    return rc;
}

ncs_status ncs_wave_decode(const void *data, size_t n, const ncs_site *site,
                           const char *where, ncs_wave *out, ncs_warnings *warn,
                           ncs_error *err)
{
    ncs_error_clear(err);
    if (!out)
        return ncs_fail(err, NCS_ERR_USAGE, "", "no output wave");
    wave_zero(out);
    if (!site || !site->file || (!data && n))
        return ncs_fail(err, NCS_ERR_USAGE, "", "no site or no data");
    if (!where)
        where = site->file;
    if (n > (size_t)NCS_MAX_WAVE_BYTES)
        return ncs_fail(err, NCS_ERR_LIMIT, site->file, "%s: waveform is larger than %ld MiB",
                        where, NCS_MAX_WAVE_BYTES / (1024 * 1024));
    return decode(data, n, site, site->file, where, out, warn, err);
}

ncs_status ncs_wave_load(const ncs_site *site, const char *where, ncs_wave *out,
                         ncs_warnings *warn, ncs_error *err)
{
    ncs_error_clear(err);
    if (!out)
        return ncs_fail(err, NCS_ERR_USAGE, "", "no output wave");
    wave_zero(out);
    if (!site || !site->path || !site->file)
        return ncs_fail(err, NCS_ERR_USAGE, "", "site without a file");
    if (!where)
        where = site->file;
    /* read once, whole, from a descriptor checked as it was opened */
    size_t n = 0;
    ncs_hash h;
    ncs_error local;
    if (!err)
        err = &local;
    char *data = ncs_read_input(site->path, site->inside, (size_t)NCS_MAX_WAVE_BYTES, &n, &h, err);
    if (!data) {
        ncs_error e = *err;
        if (e.code == NCS_ERR_LIMIT)
            return ncs_fail(err, NCS_ERR_LIMIT, site->path, "%s: waveform is larger than %ld MiB",
                            where, NCS_MAX_WAVE_BYTES / (1024 * 1024));
        return ncs_fail(err, e.code, site->path, "%s: %s", where, e.message);
    }
    ncs_status rc = decode(data, n, site, site->path, where, out, warn, err);
    free(data);
    if (rc == NCS_OK)
        out->hash = h;
    return rc;
}

void ncs_wave_free(ncs_wave *w)
{
    if (!w)
        return;
    free(w->mv);
    wave_zero(w);
}

/* ---- versions ------------------------------------------------------------ */

const char *ncs_version(void)
{
    return NCS_VERSION;
}

const char *ncs_sndfile_version(void)
{
    return sf_version_string();
}

const char *ncs_fftw_version(void)
{
    return fftw_version;
}
