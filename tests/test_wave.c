/* test_wave.c — waveform loading (docs/study-folder.md): every format, scaling, channel,
 * polarity and range, and every refusal. */
#include "testutil.h"

static char *dir;

static void setup(void)
{
    dir = tu_tempdir();
}

static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
}

/* A site as study.c would make it. */
static ncs_site site_for(const char *file)
{
    static char path[4200];
    static char name[256];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    snprintf(name, sizeof name, "%s", file);
    ncs_site s;
    memset(&s, 0, sizeof s);
    s.name = "wrist";
    s.file = name;
    s.path = path;
    s.distance_mm = 70;
    s.channel = 1;
    s.scale_mv = NAN;
    s.rate_hz = NAN;
    s.onset_ms = s.peak_ms = s.end_ms = NAN;
    s.entrapment = -1;
    return s;
}

#define RATE 20000
#define N 600 /* 30 ms */

static double sig[N];

static void make_signal(double scale)
{
    for (int i = 0; i < N; i++)
        sig[i] = tu_signal(1000.0 * i / RATE) * scale;
}

static void expect_signal(const ncs_wave *w, double tol)
{
    ck_assert_uint_eq(w->n, N);
    ck_assert_double_eq_tol(w->fs_hz, RATE, 1e-9);
    for (int i = 0; i < N; i++)
        ck_assert_msg(fabs(w->mv[i] - tu_signal(1000.0 * i / RATE)) <= tol,
                      "sample %d: %g vs %g", i, w->mv[i], tu_signal(1000.0 * i / RATE));
}

static ncs_status load(ncs_site *s, ncs_wave *w, ncs_error *err)
{
    return ncs_wave_load(s, "study/median.right.wrist", w, NULL, err);
}

START_TEST(float_wav_units)
{
    ncs_error err;
    ncs_wave w;
    make_signal(1.0);
    tu_write_sf(dir, "f.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, RATE, 1, sig, N);
    ncs_site s = site_for("f.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    expect_signal(&w, 1e-6);
    ck_assert(isnan(w.rail_mv));
    ck_assert_str_eq(w.format_name, "WAV float32");
    ncs_wave_free(&w);

    make_signal(1000.0); /* stored in uV */
    tu_write_sf(dir, "u.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, RATE, 1, sig, N);
    s = site_for("u.wav");
    s.units = NCS_UNITS_UV;
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    expect_signal(&w, 1e-9);
    ncs_wave_free(&w);

    make_signal(0.001); /* stored in V */
    tu_write_sf(dir, "v.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, RATE, 1, sig, N);
    s = site_for("v.wav");
    s.units = NCS_UNITS_V;
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    expect_signal(&w, 1e-6);
    ncs_wave_free(&w);
}
END_TEST

START_TEST(pcm_scaled)
{
    ncs_error err;
    ncs_wave w;
    const double fs_mv = 20.0;
    make_signal(1.0 / fs_mv);
    static const struct { const char *name; int fmt; double tol; } cases[] = {
        {"p16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 20.0 / 32768},
        {"p24.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_24, 20.0 / 8388608 * 2},
        {"p32.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_32, 1e-6},
        {"p16.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 20.0 / 32768},
        {"p24.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_24, 20.0 / 8388608 * 2},
        {"p16.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_16, 20.0 / 32768},
        {"p16.w64", SF_FORMAT_W64 | SF_FORMAT_PCM_16, 20.0 / 32768},
        {"p16.caf", SF_FORMAT_CAF | SF_FORMAT_PCM_16, 20.0 / 32768},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_write_sf(dir, cases[i].name, cases[i].fmt, RATE, 1, sig, N);
        ncs_site s = site_for(cases[i].name);
        s.scale_mv = fs_mv;
        ck_assert_msg(load(&s, &w, &err) == NCS_OK, "%s: %s", cases[i].name, err.message);
        expect_signal(&w, cases[i].tol);
        ck_assert_double_eq_tol(w.rail_mv, fs_mv, 1e-12);
        ck_assert_uint_eq(w.clipped_n, 0);
        ncs_wave_free(&w);
    }
}
END_TEST

START_TEST(pcm_needs_scale)
{
    ncs_error err;
    ncs_wave w;
    make_signal(0.05);
    tu_write_sf(dir, "p.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, RATE, 1, sig, N);
    ncs_site s = site_for("p.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_INI_MISSING);
    ck_assert_ptr_nonnull(strstr(err.message, "need scale_mv"));
    ck_assert_ptr_nonnull(strstr(err.where, "p.wav"));
    ck_assert_ptr_null(w.mv);
}
END_TEST

START_TEST(clipping_counted)
{
    ncs_error err;
    ncs_wave w;
    make_signal(1.0 / 3.0); /* -5 mV peak at 3 mV full scale: clipped */
    for (int i = 0; i < N; i++)
        sig[i] = sig[i] < -1 ? -1 : sig[i];
    tu_write_sf(dir, "c.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, RATE, 1, sig, N);
    ncs_site s = site_for("c.wav");
    s.scale_mv = 3.0;
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    ck_assert_uint_gt(w.clipped_n, 10);
    ncs_wave_free(&w);
}
END_TEST

START_TEST(channel_and_polarity)
{
    ncs_error err;
    ncs_wave w;
    static double st[2 * N];
    for (int i = 0; i < N; i++) {
        st[2 * i] = 0.25;                                  /* channel 1: constant */
        st[2 * i + 1] = -tu_signal(1000.0 * i / RATE);     /* channel 2: inverted */
    }
    tu_write_sf(dir, "st.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, RATE, 2, st, N);
    ncs_site s = site_for("st.wav");
    s.channel = 2;
    s.polarity = NCS_POLARITY_INVERTED;
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    ck_assert_int_eq(w.channels, 2);
    expect_signal(&w, 1e-6);
    ncs_wave_free(&w);

    s.channel = 3;
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_RANGE);
    ck_assert_ptr_nonnull(strstr(err.message, "channel = 3 but the file has 2 channels"));
}
END_TEST

START_TEST(stim_and_low_rate)
{
    ncs_error err;
    ncs_wave w;
    double x[40];
    for (int i = 0; i < 40; i++)
        x[i] = 0.001 * (i % 3); /* not flat */
    tu_write_sf(dir, "lo.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 4000, 1, x, 40); /* 10 ms */
    ncs_site s = site_for("lo.wav");
    s.stim_ms = 2.0;
    ncs_warnings warn = {0};
    ck_assert_int_eq(ncs_wave_load(&s, "st/median.right.wrist", &w, &warn, &err), NCS_OK);
    ck_assert_double_eq_tol(w.stim_ms, 2.0, 1e-12);
    ck_assert_uint_eq(warn.count, 1);
    ck_assert_str_eq(warn.items[0].code, "low-rate");
    ck_assert_str_eq(warn.items[0].where, "st/median.right.wrist");
    ncs_warnings_free(&warn);
    ncs_wave_free(&w);

    s.stim_ms = 9.5; /* beyond the usable record */
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_RANGE);
    ck_assert_ptr_nonnull(strstr(err.message, "stim_ms"));
}
END_TEST

START_TEST(ranges_refused)
{
    ncs_error err;
    ncs_wave w;
    double x[4000] = {0};
    /* 1 kHz: below 2 kHz */
    tu_write_sf(dir, "r1.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 1000, 1, x, 100);
    ncs_site s = site_for("r1.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_RANGE);
    ck_assert_ptr_nonnull(strstr(err.message, "sample rate 1000 Hz"));
    /* 4 ms sweep: too short */
    tu_write_sf(dir, "short.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 20000, 1, x, 80);
    s = site_for("short.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_RANGE);
    ck_assert_ptr_nonnull(strstr(err.message, "4 ms long"));
    /* 11 s at 2 kHz: too long */
    double *big = calloc(22000, sizeof *big);
    tu_write_sf(dir, "long.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2000, 1, big, 22000);
    free(big);
    s = site_for("long.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_RANGE);
    ck_assert_ptr_nonnull(strstr(err.message, "up to 10 s"));
}
END_TEST

START_TEST(nan_refused)
{
    ncs_error err;
    ncs_wave w;
    make_signal(1.0);
    sig[123] = NAN;
    tu_write_sf(dir, "nan.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, RATE, 1, sig, N);
    ncs_site s = site_for("nan.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_VALUE);
    ck_assert_ptr_nonnull(strstr(err.message, "sample 123"));
    ck_assert_ptr_nonnull(strstr(err.where, "nan.wav"));
    make_signal(1.0);
    sig[7] = INFINITY;
    tu_write_sf(dir, "inf.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, RATE, 1, sig, N);
    s = site_for("inf.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_VALUE);
    /* an absurd sample (1e30 mV) is no measurement: refused with a hint */
    make_signal(1.0);
    sig[50] = 1e30;
    tu_write_sf(dir, "absurd.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, RATE, 1, sig, N);
    s = site_for("absurd.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_VALUE);
    ck_assert_ptr_nonnull(strstr(err.message, "sample 50"));
    ck_assert_ptr_nonnull(strstr(err.message, "check units and scale_mv"));
    /* so is 8600 mV (a CMAP in uV declared as mV), but 990 mV (a large
     * artefact on an amplifier of wide range) still is a sample */
    make_signal(1.0);
    sig[50] = 8600.0;
    tu_write_sf(dir, "uv.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, RATE, 1, sig, N);
    s = site_for("uv.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_VALUE);
    make_signal(1.0);
    sig[50] = 990.0;
    tu_write_sf(dir, "big.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, RATE, 1, sig, N);
    s = site_for("big.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    ncs_wave_free(&w);
    /* a trace without a single change is a dead channel or an empty export */
    memset(sig, 0, sizeof sig);
    tu_write_sf(dir, "flat.wav", SF_FORMAT_WAV | SF_FORMAT_DOUBLE, RATE, 1, sig, N);
    s = site_for("flat.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_VALUE);
    ck_assert_ptr_nonnull(strstr(err.message, "flat"));
}
END_TEST

START_TEST(broken_files_refused)
{
    ncs_error err;
    ncs_wave w;
    make_signal(0.05);
    tu_write_sf(dir, "ok.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, RATE, 1, sig, N);
    char p[4200], q[4200];
    snprintf(p, sizeof p, "%s/ok.wav", dir);
    snprintf(q, sizeof q, "%s/trunc.wav", dir);
    /* truncated: keep the header and half the data */
    FILE *in = fopen(p, "rb"), *out = fopen(q, "wb");
    char buf[44 + N];
    size_t got = fread(buf, 1, sizeof buf, in);
    fwrite(buf, 1, got, out);
    fclose(in);
    fclose(out);
    ncs_site s = site_for("trunc.wav");
    s.scale_mv = 20;
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "truncated"));

    tu_write(dir, "empty.wav", "");
    s = site_for("empty.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "the file is empty (0 bytes)"));

    tu_write(dir, "garbage.wav", "this is not audio at all, just some text in a file");
    s = site_for("garbage.wav");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.where, "garbage.wav"));
}
END_TEST

START_TEST(csv_formats)
{
    ncs_error err;
    ncs_wave w;
    char *text = malloc(64 * N + 64);
    /* time_ms,value with a header */
    size_t len = (size_t)sprintf(text, "time_ms,mv\n");
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(text + len, "%.4f,%.9f\n", 1000.0 * i / RATE,
                               tu_signal(1000.0 * i / RATE));
    tu_write(dir, "t.csv", text);
    ncs_site s = site_for("t.csv");
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    ck_assert_int_eq(w.format, NCS_FORMAT_CSV_TIME);
    expect_signal(&w, 1e-8);
    ncs_wave_free(&w);

    /* without header, CRLF, values in uV */
    len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(text + len, "%.4f, %.6f\r\n", 1000.0 * i / RATE,
                               1000.0 * tu_signal(1000.0 * i / RATE));
    tu_write(dir, "t2.csv", text);
    s = site_for("t2.csv");
    s.units = NCS_UNITS_UV;
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    expect_signal(&w, 1e-8);
    ncs_wave_free(&w);

    /* one column with rate_hz */
    len = 0;
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(text + len, "%.9f\n", tu_signal(1000.0 * i / RATE));
    tu_write(dir, "v.csv", text);
    s = site_for("v.csv");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_INI_MISSING);
    ck_assert_ptr_nonnull(strstr(err.message, "needs rate_hz"));
    s.rate_hz = RATE;
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    ck_assert_int_eq(w.format, NCS_FORMAT_CSV_VALUES);
    expect_signal(&w, 1e-8);
    ncs_wave_free(&w);
    free(text);
}
END_TEST

/* The units a CSV header names are used: values in uV and times in s read
 * right without `units`; a header that contradicts `units` is refused. */
START_TEST(csv_header_units)
{
    ncs_error err;
    ncs_wave w;
    char *text = malloc(64 * N + 64);
    size_t len = (size_t)sprintf(text, "Time (s),Amplitude (\xc2\xb5V)\n");
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(text + len, "%.8f,%.6f\n", 1.0 * i / RATE,
                               1000.0 * tu_signal(1000.0 * i / RATE));
    tu_write(dir, "hu.csv", text);
    ncs_site s = site_for("hu.csv");
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    ck_assert_double_eq_tol(w.fs_hz, RATE, 1e-6);
    expect_signal(&w, 1e-8);
    ncs_wave_free(&w);
    /* study.ini says mV: one of them is wrong */
    s.units = NCS_UNITS_MV;
    s.units_given = 1;
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "the CSV header says the values are in uV"));
    /* and agreeing with it is fine */
    s.units = NCS_UNITS_UV;
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    expect_signal(&w, 1e-8);
    ncs_wave_free(&w);
    /* value_mV, t_ms: as before */
    len = (size_t)sprintf(text, "t_ms,value_mV\n");
    for (int i = 0; i < N; i++)
        len += (size_t)sprintf(text + len, "%.4f,%.9f\n", 1000.0 * i / RATE,
                               tu_signal(1000.0 * i / RATE));
    tu_write(dir, "hm.csv", text);
    s = site_for("hm.csv");
    ck_assert_int_eq(load(&s, &w, &err), NCS_OK);
    expect_signal(&w, 1e-8);
    ncs_wave_free(&w);
    /* a time unit ncs does not know is said, not guessed */
    sprintf(text, "time (min),value\n0,1\n1,2\n");
    tu_write(dir, "hx.csv", text);
    s = site_for("hx.csv");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "use ms, s or us"));
    /* words that are not units name none: ms and mV (a plain "time,value"
     * header is the commonest export) */
    static const char *const plain[] = {"time,value", "Time,Amplitude", "t,v", "Zeit,Wert",
                                        "x,y", "time_stamp,value_raw"};
    for (size_t k = 0; k < sizeof plain / sizeof plain[0]; k++) {
        len = (size_t)sprintf(text, "%s\n", plain[k]);
        for (int i = 0; i < N; i++)
            len += (size_t)sprintf(text + len, "%.4f,%.9f\n", 1000.0 * i / RATE,
                                   tu_signal(1000.0 * i / RATE));
        tu_write(dir, "hp.csv", text);
        s = site_for("hp.csv");
        ck_assert_msg(load(&s, &w, &err) == NCS_OK, "%s: %s", plain[k], err.message);
        expect_signal(&w, 1e-8);
        ncs_wave_free(&w);
    }
    /* a value unit in brackets ncs does not know is refused, not read as mV;
     * the usual spellings of microvolts are known */
    sprintf(text, "time (ms),Amplitude (mmHg)\n0,1\n0.05,2\n");
    tu_write(dir, "hy.csv", text);
    s = site_for("hy.csv");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "names a unit ncs does not know ('mmHg'): use mV"));
    static const char *const micro[] = {"(mcV)", "[mkV]", "(uVolt)", "(\xb5V)"};
    for (size_t k = 0; k < sizeof micro / sizeof micro[0]; k++) {
        len = (size_t)sprintf(text, "time (ms),value %s\n", micro[k]);
        for (int i = 0; i < N; i++)
            len += (size_t)sprintf(text + len, "%.4f,%.6f\n", 1000.0 * i / RATE,
                                   1000.0 * tu_signal(1000.0 * i / RATE));
        tu_write(dir, "hz.csv", text);
        s = site_for("hz.csv");
        ck_assert_msg(load(&s, &w, &err) == NCS_OK, "%s: %s", micro[k], err.message);
        expect_signal(&w, 1e-8);
        ncs_wave_free(&w);
    }
    free(text);
}
END_TEST

START_TEST(csv_refused)
{
    ncs_error err;
    ncs_wave w;
    static const struct { const char *text; ncs_status code; const char *needle; } bad[] = {
        {"time_ms,mv\n0,1\n0.05,2\n0.2,3\n0.25,4\n", NCS_ERR_WAVE_FORMAT, "not evenly spaced"},
        {"0,1\n0.05,abc\n", NCS_ERR_WAVE_VALUE, "line 2: 'abc' is not a finite number"},
        {"0,1\n0.05,nan\n", NCS_ERR_WAVE_VALUE, "not a finite number"},
        {"0,1,2\n", NCS_ERR_WAVE_FORMAT, "more than 2 columns"},
        {"0,1\n0.05\n", NCS_ERR_WAVE_FORMAT, "line 2 has 1 column"},
        {"", NCS_ERR_WAVE_FORMAT, "holds 0 values"},
        {"time_ms,mv\n", NCS_ERR_WAVE_FORMAT, "holds 0 values"},
        {"1,0\n0.5,0\n0,0\n", NCS_ERR_WAVE_FORMAT, "does not increase"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tu_write(dir, "b.csv", bad[i].text);
        ncs_site s = site_for("b.csv");
        ck_assert_int_eq(load(&s, &w, &err), bad[i].code);
        ck_assert_msg(strstr(err.message, bad[i].needle) != NULL, "case %zu: '%s'", i,
                      err.message);
    }
    /* binary in a .csv */
    char p[4200];
    snprintf(p, sizeof p, "%s/bin.csv", dir);
    FILE *f = fopen(p, "wb");
    fwrite("0,1\n\0\0\x01\x02\n", 1, 10, f);
    fclose(f);
    ncs_site s = site_for("bin.csv");
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_FORMAT);
    ck_assert_ptr_nonnull(strstr(err.message, "binary data"));
    /* rate_hz disagreeing with the time column */
    char *text = malloc(32 * 400);
    size_t len = 0;
    for (int i = 0; i < 400; i++)
        len += (size_t)sprintf(text + len, "%.4f,0\n", 0.05 * i);
    tu_write(dir, "r.csv", text);
    free(text);
    s = site_for("r.csv");
    s.rate_hz = 10000;
    ck_assert_int_eq(load(&s, &w, &err), NCS_ERR_WAVE_RANGE);
    ck_assert_ptr_nonnull(strstr(err.message, "disagrees"));
}
END_TEST

START_TEST(versions)
{
    ck_assert_str_eq(ncs_version(), NCS_VERSION);
    ck_assert_ptr_nonnull(strstr(ncs_sndfile_version(), "libsndfile"));
    ck_assert_ptr_nonnull(strstr(ncs_fftw_version(), "fftw"));
}
END_TEST

START_TEST(decode_from_memory_same_as_file)
{
    /* the in-memory path (fuzzed) and the file path give the same wave */
    char *d = tu_tempdir();
    double x[400];
    for (int i = 0; i < 400; i++)
        x[i] = 0.5 * sin(i * 0.05);
    tu_write_sf(d, "m.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 20000, 1, x, 400);
    tu_write(d, "m.csv", "0,0.1\n0.1,0.2\n0.2,-0.3\n0.3,0.4\n0.4,0.1\n0.5,0\n0.6,0\n0.7,0\n"
                         "0.8,0\n0.9,0\n1,0\n1.1,0\n1.2,0\n1.3,0\n1.4,0\n1.5,0\n1.6,0\n"
                         "1.7,0\n1.8,0\n1.9,0\n2,0\n2.1,0\n2.2,0\n2.3,0\n2.4,0\n2.5,0\n"
                         "2.6,0\n2.7,0\n2.8,0\n2.9,0\n3,0\n3.1,0\n3.2,0\n3.3,0\n3.4,0\n"
                         "3.5,0\n3.6,0\n3.7,0\n3.8,0\n3.9,0\n4,0\n4.1,0\n4.2,0\n4.3,0\n"
                         "4.4,0\n4.5,0\n4.6,0\n4.7,0\n4.8,0\n4.9,0\n5,0\n5.1,0\n");
    const char *names[2] = {"m.wav", "m.csv"};
    for (int k = 0; k < 2; k++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", d, names[k]);
        ncs_site s;
        memset(&s, 0, sizeof s);
        s.name = "x";
        s.file = (char *)names[k];
        s.path = path;
        s.channel = 1;
        s.scale_mv = 10;
        s.rate_hz = s.onset_ms = s.peak_ms = s.end_ms = NAN;
        ncs_wave a, b;
        ncs_error e;
        ck_assert_int_eq(ncs_wave_load(&s, "x", &a, NULL, &e), NCS_OK);
        FILE *f = fopen(path, "rb");
        unsigned char buf[8192];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        ck_assert_int_eq(ncs_wave_decode(buf, n, &s, "x", &b, NULL, &e), NCS_OK);
        ck_assert_uint_eq(a.n, b.n);
        ck_assert_double_eq(a.fs_hz, b.fs_hz);
        for (size_t i = 0; i < a.n; i++)
            ck_assert_double_eq(a.mv[i], b.mv[i]);
        ncs_wave_free(&a);
        ncs_wave_free(&b);
        /* and a truncated copy is refused from memory as from a file */
        if (k == 0)
            ck_assert_int_eq(ncs_wave_decode(buf, n / 2, &s, "x", &b, NULL, &e),
                             NCS_ERR_WAVE_FORMAT);
    }
    tu_rmrf(d);
    free(d);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("wave");
    TCase *t = tcase_create("load");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, float_wav_units);
    tcase_add_test(t, pcm_scaled);
    tcase_add_test(t, pcm_needs_scale);
    tcase_add_test(t, clipping_counted);
    tcase_add_test(t, channel_and_polarity);
    tcase_add_test(t, stim_and_low_rate);
    tcase_add_test(t, ranges_refused);
    tcase_add_test(t, nan_refused);
    tcase_add_test(t, broken_files_refused);
    tcase_add_test(t, csv_formats);
    tcase_add_test(t, csv_header_units);
    tcase_add_test(t, csv_refused);
    tcase_add_test(t, versions);
    tcase_add_test(t, decode_from_memory_same_as_file);
    suite_add_tcase(s, t);
    return s;
}

TU_RUN(suite)
