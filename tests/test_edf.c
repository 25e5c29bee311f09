/* test_edf.c — EDF and EDF+ files (docs/study-folder.md, "EDF+ files"):
 * records chosen by number or annotation, the stimulus at an annotation,
 * signals by number or label, physical scaling and units, EDF+C and plain
 * EDF as one trace, and every hostile header, layout and TAL refused with
 * a message that names what is wrong. Files are made by the generator's
 * EDF+ writer (synth/synth_edf.c) and then damaged byte by byte. */
#include "testutil.h"
#include "ncs_synth.h"

#define RATE 20000.0
#define SPR 800 /* 40 ms */
#define NREC 3

static double rec_x[NREC][SPR];
static ncs_synth_edf_record recs[NREC];
static const char *const names[NREC] = {"Median R Wrist", "Median R Elbow", "Median R Axilla"};

/* Record r: a CMAP-like wave of amplitude (r + 1) mV at 5 + r ms. */
static double value(int r, int i)
{
    return (double)(r + 1) * tu_signal(1000.0 * i / RATE - (double)r);
}

static unsigned char *make(size_t *n, int continuous, const char *unit, double unit_scale)
{
    for (int r = 0; r < NREC; r++) {
        for (int i = 0; i < SPR; i++)
            rec_x[r][i] = value(r, i) * unit_scale;
        recs[r] = (ncs_synth_edf_record){rec_x[r], names[r], 7.5 * r, r == 1 ? 2.5 : 0.0};
    }
    ncs_synth_edf e = {NREC, SPR, RATE, 20.0 * unit_scale, "EMG APB", unit, NULL, continuous,
                       recs};
    unsigned char *b = ncs_synth_edf_bytes(&e, n);
    ck_assert_ptr_nonnull(b);
    return b;
}

static ncs_site site(void)
{
    ncs_site s;
    memset(&s, 0, sizeof s);
    s.name = "wrist";
    s.file = "study.edf";
    s.path = "study/study.edf";
    s.distance_mm = 70;
    s.channel = 1;
    s.scale_mv = s.rate_hz = NAN;
    s.onset_ms = s.peak_ms = s.end_ms = NAN;
    s.entrapment = -1;
    return s;
}

static ncs_status decode(const unsigned char *b, size_t n, const ncs_site *s, ncs_wave *w,
                         ncs_error *err)
{
    return ncs_wave_decode(b, n, s, "study/median.right.wrist", w, NULL, err);
}

/* A refusal whose message holds `what`. */
static void refused(const unsigned char *b, size_t n, const ncs_site *s, ncs_status code,
                    const char *what)
{
    ncs_error err;
    ncs_wave w;
    ncs_status rc = decode(b, n, s, &w, &err);
    ck_assert_msg(rc == code, "status %d, want %d: %s", rc, code, err.message);
    ck_assert_msg(strstr(err.message, what), "'%s' not in: %s", what, err.message);
    ck_assert_ptr_null(w.mv);
}

START_TEST(record_by_annotation_and_number)
{
    size_t n;
    unsigned char *b = make(&n, 0, NULL, 1.0);
    ncs_edf e;
    ncs_error err;
    ck_assert_int_eq(ncs_edf_parse(b, n, "x.edf", &e, &err), NCS_OK);
    ck_assert_int_eq(e.kind, NCS_EDF_PLUS_D);
    ck_assert_int_eq(e.n_records, NREC);
    ck_assert_int_eq(e.n_data_signals, 1);
    ck_assert_uint_eq(e.n_annotations, NREC);
    ck_assert_str_eq(e.annotations[1].text, "Median R Elbow");
    ck_assert_int_eq(e.annotations[1].record, 1);
    ck_assert_double_eq_tol(e.annotations[1].at_ms, 2.5, 1e-6);
    ck_assert_double_eq_tol(e.record_start_s[2], 15.0, 1e-9);
    ck_assert_int_eq(ncs_edf_find_signal(&e, 0, "emg apb"), 0);
    ck_assert_int_eq(ncs_edf_find_signal(&e, 2, NULL), -1);
    ncs_edf_free(&e);

    ncs_site s = site();
    s.annotation = "median r elbow"; /* case does not matter */
    ncs_wave w;
    ck_assert_int_eq(decode(b, n, &s, &w, &err), NCS_OK);
    ck_assert_uint_eq(w.n, SPR);
    ck_assert_double_eq_tol(w.fs_hz, RATE, 1e-9);
    ck_assert_str_eq(w.format_name, "EDF+D");
    /* the stimulus is the annotation's time inside its record */
    ck_assert_double_eq_tol(w.stim_ms, 2.5, 1e-9);
    double q = 0.5 * 40.0 / 65535.0 + 1e-9; /* half a digital step */
    for (int i = 0; i < SPR; i++)
        ck_assert_msg(fabs(w.mv[i] - value(1, i)) <= q, "sample %d: %g vs %g", i, w.mv[i],
                      value(1, i));
    ncs_wave_free(&w);

    /* stim_ms written wins over the annotation's time */
    s.stim_given = 1;
    s.stim_ms = 1.0;
    ck_assert_int_eq(decode(b, n, &s, &w, &err), NCS_OK);
    ck_assert_double_eq_tol(w.stim_ms, 1.0, 1e-9);
    ncs_wave_free(&w);

    s = site();
    s.record = 3;
    s.channel_label = "EMG APB";
    ck_assert_int_eq(decode(b, n, &s, &w, &err), NCS_OK);
    ck_assert_double_eq_tol(w.mv[100], value(2, 100), q);
    ck_assert_double_eq_tol(w.stim_ms, 0.0, 1e-12);
    ncs_wave_free(&w);
    free(b);
}
END_TEST

START_TEST(choice_refused_with_the_choices)
{
    size_t n;
    unsigned char *b = make(&n, 0, NULL, 1.0);
    ncs_site s = site();
    /* EDF+D of several records: which one must be said, and the records are listed */
    refused(b, n, &s, NCS_ERR_INI_MISSING, "record = N or annotation = TEXT (records: 1 "
                                           "'Median R Wrist', 2 'Median R Elbow'");
    s.record = 4;
    refused(b, n, &s, NCS_ERR_WAVE_RANGE, "record = 4 but the file holds 3 data records");
    s = site();
    s.annotation = "Ulnar R Wrist";
    refused(b, n, &s, NCS_ERR_WAVE_RANGE, "no annotation 'Ulnar R Wrist' in the file");
    s = site();
    s.record = 1;
    s.channel = 2;
    refused(b, n, &s, NCS_ERR_WAVE_RANGE, "no signal 2 in the file");
    s.channel_label = "EMG ADM";
    refused(b, n, &s, NCS_ERR_WAVE_RANGE, "its signals: 1 'EMG APB' (mV)");
    /* an annotation naming two records */
    recs[2].annotation = names[0];
    ncs_synth_edf e = {NREC, SPR, RATE, 20.0, NULL, NULL, NULL, 0, recs};
    size_t n2;
    unsigned char *b2 = ncs_synth_edf_bytes(&e, &n2);
    s = site();
    s.annotation = (char *)names[0];
    refused(b2, n2, &s, NCS_ERR_WAVE_RANGE, "names records 1 and 3: choose one with record");
    free(b2);
    /* EDF keys on another format */
    s = site();
    s.file = "x.csv";
    s.record = 1;
    refused((const unsigned char *)"1\n2\n", 4, &s, NCS_ERR_INI_VALUE,
            "record = applies to EDF and EDF+ files");
    free(b);
}
END_TEST

START_TEST(units_and_continuous)
{
    size_t n;
    ncs_error err;
    ncs_wave w;
    /* a header in uV: read as mV */
    unsigned char *b = make(&n, 1, "uV", 1000.0);
    ncs_site s = site();
    ck_assert_msg(decode(b, n, &s, &w, &err) == NCS_OK, "%s", err.message);
    /* EDF+C: the records are one continuous trace */
    ck_assert_uint_eq(w.n, (size_t)NREC * SPR);
    ck_assert_str_eq(w.format_name, "EDF+C");
    ck_assert_double_eq_tol(w.mv[SPR + 50], value(1, 50), 20.0 * 2 / 65535.0 + 1e-9);
    ncs_wave_free(&w);
    s.units_given = 1;
    s.units = NCS_UNITS_MV;
    refused(b, n, &s, NCS_ERR_WAVE_FORMAT, "the file says signal 'EMG APB' is in uV but "
                                           "study.ini says units = mV");
    free(b);
    b = make(&n, 1, "mmHg", 1.0);
    s = site();
    refused(b, n, &s, NCS_ERR_WAVE_FORMAT, "is in 'mmHg', not a voltage ncs knows");
    free(b);
    /* a header without a unit takes units = */
    b = make(&n, 1, "", 1.0);
    s = site();
    refused(b, n, &s, NCS_ERR_WAVE_FORMAT, "set units = for a signal without a unit");
    s.units_given = 1;
    s.units = NCS_UNITS_UV;
    ck_assert_int_eq(decode(b, n, &s, &w, &err), NCS_OK);
    ck_assert_double_eq_tol(w.mv[100], 1e-3 * value(0, 100), 1e-3 * 40.0 / 65535.0);
    ncs_wave_free(&w);
    free(b);
}
END_TEST

/* Overwrites the header field at off (len bytes) with text, space-padded. */
static void put(unsigned char *b, size_t off, size_t len, const char *text)
{
    memset(b + off, ' ', len);
    memcpy(b + off, text, strlen(text));
}

START_TEST(hostile_files_refused)
{
    size_t n;
    unsigned char *b = make(&n, 0, NULL, 1.0), *c = malloc(n + 16);
    ncs_site s = site();
    s.record = 1;
    struct {
        size_t off, len;
        const char *text;
        const char *what;
    } cases[] = {
        {0, 8, "1", "version"},
        {184, 8, "512", "the header size is 512 bytes, 2 signals need 768"},
        {236, 8, "4", "announces 4 records"},
        {236, 8, "0", "no data record"},
        {236, 8, "abc", "number of data records 'abc'"},
        {244, 8, "0", "data records of 0 s hold signals"},
        {244, 8, "-1", "a data record of -1 s"},
        {252, 4, "0", "number of signals '0'"},
        {252, 4, "9999", "number of signals is 9999: ncs reads at most 512"},
        {256 + 32 + 160 + 16, 8, "20", "give no scale"},          /* phys min = max */
        {256 + 32 + 160 + 16 + 32, 8, "40000", "digital minimum"}, /* beyond 16 bits */
        {256 + 32 + 160 + 16 + 64 + 160, 8, "0", "samples per record '0'"},
        {192, 44, "EDF+D", NULL}, /* no change: the control case */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        memcpy(c, b, n);
        put(c, cases[k].off, cases[k].len, cases[k].text);
        if (!cases[k].what) {
            ncs_wave w;
            ncs_error err;
            ck_assert_int_eq(decode(c, n, &s, &w, &err), NCS_OK);
            ncs_wave_free(&w);
            continue;
        }
        refused(c, n, &s, strstr(cases[k].what, "ncs reads at most") ? NCS_ERR_LIMIT
                                                                      : NCS_ERR_WAVE_FORMAT,
                cases[k].what);
    }
    /* free text with Latin-1 (a patient's name) is read, shown with '?' */
    memcpy(c, b, n);
    memcpy(c + 8, "M\xfcller", 6);
    ncs_edf e;
    ncs_error err0;
    ck_assert_int_eq(ncs_edf_parse(c, n, "x.edf", &e, &err0), NCS_OK);
    ck_assert_str_eq(e.patient, "M?llerX"); /* over "X X X X" */
    ncs_edf_free(&e);
    /* an annotation in no record marks no stimulus: refused */
    {
        ncs_synth_edf_record late[NREC];
        memcpy(late, recs, sizeof late);
        late[1].stim_ms = 500.0; /* past its 40 ms record */
        ncs_synth_edf le = {NREC, SPR, RATE, 20.0, NULL, NULL, NULL, 0, late};
        size_t nl;
        unsigned char *bl = ncs_synth_edf_bytes(&le, &nl);
        ncs_site sl = site();
        sl.annotation = (char *)names[1];
        refused(bl, nl, &sl, NCS_ERR_WAVE_RANGE, "annotation 'Median R Elbow' lies at 8 s, in "
                                                 "no data record (record 2, which stores it");
        free(bl);
    }
    /* a non-ASCII byte in the header, truncation, trailing bytes */
    memcpy(c, b, n);
    c[170] = 0xc3; /* in the start date (the free-text fields take any byte) */
    refused(c, n, &s, NCS_ERR_WAVE_FORMAT, "not printable ASCII");
    refused(b, n - 1, &s, NCS_ERR_WAVE_FORMAT, "it is truncated");
    refused(b, 300, &s, NCS_ERR_WAVE_FORMAT, "the header is 768 bytes, the file 300");
    memcpy(c, b, n);
    memset(c + n, 0, 16);
    refused(c, n + 16, &s, NCS_ERR_WAVE_FORMAT, "bytes follow the last record");
    /* damaged annotations: no time-keeping TAL, a TAL without its end */
    size_t ann = 768 + 2 * SPR;
    memcpy(c, b, n);
    memset(c + ann, 0, 120);
    refused(c, n, &s, NCS_ERR_WAVE_FORMAT, "record 1: no time-keeping annotation");
    memcpy(c, b, n);
    memset(c + ann, 'x', 120);
    refused(c, n, &s, NCS_ERR_WAVE_FORMAT, "record 1: a malformed annotation (TAL)");
    memcpy(c, b, n);
    memcpy(c + ann, "+1e999\x14\x14", 8);
    refused(c, n, &s, NCS_ERR_WAVE_FORMAT, "record 1: a malformed annotation (TAL)");
    /* EDF+ without its annotation signal */
    memcpy(c, b, n);
    put(c, 256 + 16, 16, "EMG 2");
    refused(c, n, &s, NCS_ERR_WAVE_FORMAT, "without an 'EDF Annotations' signal");
    /* BDF */
    memcpy(c, b, n);
    c[0] = 0xff;
    memcpy(c + 1, "BIOSEMI", 7);
    refused(c, n, &s, NCS_ERR_WAVE_FORMAT, "BDF (24-bit BioSemi)");
    /* a record count of -1 (written while recording): the size says */
    memcpy(c, b, n);
    put(c, 236, 8, "-1");
    ncs_wave w;
    ncs_error err;
    s.record = 3;
    ck_assert_int_eq(decode(c, n, &s, &w, &err), NCS_OK);
    ncs_wave_free(&w);
    free(c);
    free(b);
}
END_TEST

START_TEST(plain_edf_and_clipping)
{
    size_t n;
    unsigned char *b = make(&n, 1, NULL, 1.0);
    /* plain EDF: the same bytes without "EDF+C"; the annotation signal is
     * then a data signal like any other (channel 2) */
    put(b, 192, 44, "");
    /* a rail: samples at the digital extremes are clipping */
    size_t rec = 2 * SPR + 120;
    for (int i = 200; i < 210; i++) {
        b[768 + 2 * i] = 0x00;
        b[768 + 2 * i + 1] = 0x80; /* -32768 */
    }
    ncs_site s = site();
    ncs_wave w;
    ncs_error err;
    ck_assert_int_eq(decode(b, n, &s, &w, &err), NCS_OK);
    ck_assert_str_eq(w.format_name, "EDF");
    ck_assert_int_eq(w.channels, 2);
    ck_assert_uint_eq(w.n, (size_t)NREC * SPR);
    ck_assert_uint_ge(w.clipped_n, 10);
    ck_assert_double_eq_tol(w.rail_mv, 20.0, 1e-3);
    ck_assert_double_eq_tol(w.mv[205], -20.0, 1e-9);
    ck_assert_double_eq_tol(w.mv[SPR + 7], value(1, 7), 40.0 / 65535.0);
    (void)rec;
    ncs_wave_free(&w);
    free(b);
}
END_TEST

static Suite *edf_suite(void)
{
    Suite *s = suite_create("edf");
    TCase *t = tcase_create("edf");
    tcase_add_test(t, record_by_annotation_and_number);
    tcase_add_test(t, choice_refused_with_the_choices);
    tcase_add_test(t, units_and_continuous);
    tcase_add_test(t, hostile_files_refused);
    tcase_add_test(t, plain_edf_and_clipping);
    suite_add_tcase(s, t);
    return s;
}

TU_RUN(edf_suite)
