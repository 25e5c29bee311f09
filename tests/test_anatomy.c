/* test_anatomy.c — sites as anatomy (lib/anatomy.c): the vocabulary's
 * order, abbreviations, inching names, entrapment landmarks, typical
 * distances; file names read into nerve, side and site; and ncs_init_study()
 * on folders made here (lib/init.c). */
#include "testutil.h"
#include "ncs_synth.h"

/* ---- vocabulary ---------------------------------------------------------- */

static int place_cmp(const char *nerve, const char *a, const char *b)
{
    ncs_site_place pa, pb;
    ck_assert_msg(ncs_site_place_of(nerve, a, &pa), "%s %s not placed", nerve, a);
    ck_assert_msg(ncs_site_place_of(nerve, b, &pb), "%s %s not placed", nerve, b);
    return ncs_site_place_cmp(&pa, &pb);
}

/* every listed order is strictly distal to proximal */
START_TEST(order_of_known_sites)
{
    static const char *const orders[][9] = {
        {"median", "palm", "wrist", "elbow", "axilla", "erb", NULL},
        {"ulnar", "palm", "below-wrist", "wrist", "below-elbow", "above-elbow", "axilla", "erb",
         NULL},
        {"fibular", "ankle", "below-fibular-head", "above-fibular-head", NULL},
        {"peroneal", "ankle", "fibular-head", "popliteal", NULL},
        {"tibial", "ankle", "knee", NULL},
        {"radial", "forearm", "elbow", "below-spiral-groove", "above-spiral-groove", "axilla",
         "erb", NULL},
        {"median", "wrist", "wrist+20", "wrist+40", "elbow-40", "elbow", "elbow+10", NULL},
        {"ulnar", "wrist", "below-elbow", "below-elbow+20", "above-elbow-20", "above-elbow",
         NULL},
    };
    for (size_t i = 0; i < sizeof orders / sizeof orders[0]; i++)
        for (size_t j = 2; orders[i][j]; j++) {
            ck_assert_msg(place_cmp(orders[i][0], orders[i][j - 1], orders[i][j]) < 0,
                          "%s: %s is not distal to %s", orders[i][0], orders[i][j - 1],
                          orders[i][j]);
            ck_assert_msg(place_cmp(orders[i][0], orders[i][j], orders[i][j - 1]) > 0,
                          "%s: %s is not proximal to %s", orders[i][0], orders[i][j],
                          orders[i][j - 1]);
        }
    /* the vocabulary lists itself distal first */
    for (const char *n = "ulnar"; n; n = strcmp(n, "ulnar") == 0 ? "radial" : NULL)
        for (size_t i = 1; ncs_site_known(n, i); i++)
            ck_assert_int_le(place_cmp(n, ncs_site_known(n, i - 1), ncs_site_known(n, i)), 0);
    ck_assert_str_eq(ncs_site_known("median", 0), "palm");
    ck_assert_ptr_null(ncs_site_known("median", 5));
    ck_assert_ptr_null(ncs_site_known("sural", 0));
    /* two names of one place */
    ck_assert_int_eq(place_cmp("fibular", "fibular-head", "below-fibular-head"), 0);
    ck_assert_int_eq(place_cmp("fibular", "popliteal", "above-fibular-head"), 0);
}
END_TEST

START_TEST(aliases_and_unknown_names)
{
    static const char *const cases[][3] = {
        {"ulnar", "b-elbow", "below-elbow"},     {"ulnar", "bel-elbow", "below-elbow"},
        {"ulnar", "a-elbow", "above-elbow"},     {"ulnar", "be", "below-elbow"},
        {"ulnar", "erbs-point", "erb"},          {"median", "erb-point", "erb"},
        {"fibular", "fib-head", "fibular-head"}, {"peroneal", "popl", "popliteal"},
        {"fibular", "bfh", "below-fibular-head"}, {"tibial", "popl", "popliteal"},
        {"radial", "bsg", "below-spiral-groove"}, {"median", "wrist", "wrist"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *c = ncs_site_canonical(cases[i][0], cases[i][1]);
        ck_assert_msg(c && strcmp(c, cases[i][2]) == 0, "%s %s -> %s, want %s", cases[i][0],
                      cases[i][1], c ? c : "NULL", cases[i][2]);
    }
    /* an alias applies only to a nerve that has its site */
    ck_assert_ptr_null(ncs_site_canonical("median", "b-elbow"));
    ck_assert_ptr_null(ncs_site_canonical("ulnar", "elbow")); /* below or above? */
    ck_assert_ptr_null(ncs_site_canonical("tibial", "fib-head"));
    ck_assert_ptr_null(ncs_site_canonical("sural", "ankle"));
    ck_assert_int_eq(ncs_site_place_of("median", "fa-20", NULL), 0);
    ck_assert_int_eq(ncs_site_place_of("median", "wrist+0", NULL), 0);
    ck_assert_int_eq(ncs_site_place_of("median", "wrist+1000", NULL), 0);
    ck_assert_int_eq(ncs_site_place_of("median", "+20", NULL), 0);
    ncs_site_place p;
    ck_assert_int_eq(ncs_site_place_of("ulnar", "b-elbow+20", &p), 1);
    ck_assert_str_eq(p.base, "below-elbow");
    ck_assert_double_eq(p.offset_mm, 20);
    ck_assert_int_eq(ncs_site_place_of("median", "elbow-40", &p), 1);
    ck_assert_double_eq(p.offset_mm, -40);
}
END_TEST

START_TEST(landmarks_crossed)
{
    const char *lm = NULL;
    ck_assert_int_eq(ncs_site_crosses("ulnar", "below-elbow", "above-elbow", &lm), 1);
    ck_assert_str_eq(lm, "ulnar at the elbow");
    /* a segment that skips a site still crosses (SPEC 5.3) */
    ck_assert_int_eq(ncs_site_crosses("ulnar", "wrist", "above-elbow", &lm), 1);
    ck_assert_int_eq(ncs_site_crosses("fibular", "ankle", "popliteal", &lm), 1);
    ck_assert_str_eq(lm, "fibular at the fibular head");
    ck_assert_int_eq(ncs_site_crosses("peroneal", "fibular-head", "knee", NULL), 1);
    ck_assert_int_eq(ncs_site_crosses("median", "palm", "wrist", &lm), 1);
    ck_assert_int_eq(ncs_site_crosses("median", "wrist", "palm", NULL), 1); /* either order */
    ck_assert_int_eq(ncs_site_crosses("ulnar", "below-wrist", "wrist", &lm), 1);
    ck_assert_str_eq(lm, "ulnar at the wrist (Guyon's canal)");
    /* none crossed */
    ck_assert_int_eq(ncs_site_crosses("ulnar", "wrist", "below-elbow", &lm), 0);
    ck_assert_ptr_null(lm);
    ck_assert_int_eq(ncs_site_crosses("median", "wrist", "axilla", NULL), 0);
    ck_assert_int_eq(ncs_site_crosses("ulnar", "above-elbow", "axilla", NULL), 0);
    ck_assert_int_eq(ncs_site_crosses("tibial", "ankle", "knee", NULL), 0);
    ck_assert_int_eq(ncs_site_crosses("ulnar", "below-elbow-20", "above-elbow", NULL), 1);
    ck_assert_int_eq(ncs_site_crosses("median", "wrist+20", "wrist+40", NULL), 0);
    /* an inching step with an end inside a landmark's stretch lies at the
     * entrapment site (inching across the elbow localises an entrapment) */
    ck_assert_int_eq(ncs_site_crosses("ulnar", "below-elbow+20", "above-elbow", &lm), 1);
    ck_assert_str_eq(lm, "ulnar at the elbow");
    ck_assert_int_eq(ncs_site_crosses("ulnar", "below-elbow+20", "below-elbow+40", NULL), 1);
    ck_assert_int_eq(ncs_site_crosses("ulnar", "wrist", "below-elbow", NULL), 0);
    ck_assert_int_eq(ncs_site_crosses("median", "wrist-20", "wrist+20", NULL), 1);
    ck_assert_int_eq(ncs_site_crosses("median", "wrist-20", "wrist", NULL), 1);
    /* cannot tell: a site ncs cannot place */
    ck_assert_int_eq(ncs_site_crosses("median", "fa-20", "elbow", NULL), -1);
    /* the landmark table lists each with its neighbours */
    const char *d, *p;
    ck_assert_str_eq(ncs_site_landmark("ulnar", 1, &d, &p), "ulnar at the elbow");
    ck_assert_str_eq(d, "below-elbow");
    ck_assert_str_eq(p, "above-elbow");
    ck_assert_ptr_nonnull(ncs_site_landmark("fibular", 0, &d, &p));
    ck_assert_str_eq(d, "below-fibular-head");
    ck_assert_ptr_null(ncs_site_landmark("fibular", 1, NULL, NULL));
    ck_assert_ptr_null(ncs_site_landmark("tibial", 0, NULL, NULL));
}
END_TEST

/* Every pair the criteria take for an entrapment crossing by name is a
 * crossing for the vocabulary too (the ground issue 14 builds on). */
START_TEST(landmarks_agree_with_criteria)
{
    static const char *const nerves[] = {"median", "ulnar", "fibular", "tibial", "radial"};
    int crossings = 0;
    for (size_t n = 0; n < 5; n++)
        for (size_t i = 0; ncs_site_known(nerves[n], i); i++)
            for (size_t j = i + 1; ncs_site_known(nerves[n], j); j++) {
                const char *a = ncs_site_known(nerves[n], i), *b = ncs_site_known(nerves[n], j);
                if (ncs_entrapment_site(nerves[n], a, b)) {
                    crossings++;
                    ck_assert_msg(ncs_site_crosses(nerves[n], a, b, NULL) == 1,
                                  "%s %s-%s: criteria say entrapment, anatomy not", nerves[n],
                                  a, b);
                }
            }
    ck_assert_int_ge(crossings, 6);
}
END_TEST

START_TEST(typical_distances)
{
    ck_assert_double_eq(ncs_site_typical_mm("median", NULL, "wrist"), 70);
    ck_assert_double_eq(ncs_site_typical_mm("ulnar", NULL, "wrist"), 70);
    ck_assert_double_eq(ncs_site_typical_mm("fibular", NULL, "ankle"), 90);
    ck_assert_double_eq(ncs_site_typical_mm("tibial", NULL, "ankle"), 90);
    ck_assert_double_eq(ncs_site_typical_mm("median", "wrist", "elbow"), 230);
    ck_assert_double_eq(ncs_site_typical_mm("ulnar", "below-elbow", "above-elbow"), 100);
    ck_assert_double_eq(ncs_site_typical_mm("median", "wrist+20", "wrist+40"), 20);
    ck_assert_double_eq(ncs_site_typical_mm("median", "wrist+40", "elbow"), 190);
    ck_assert_double_eq(ncs_site_typical_mm("median", NULL, "wrist+20"), 90);
    ck_assert_double_eq(ncs_site_typical_mm("fibular", "fibular-head", "below-fibular-head"), 0);
    ck_assert(ncs_site_typical_mm("median", "elbow", "wrist") < 0);
    ck_assert(isnan(ncs_site_typical_mm("median", "wrist", "fa-20")));
    ck_assert(isnan(ncs_site_typical_mm("sural", NULL, "ankle")));
    /* the distal distances are the built-in norms' (no dml-distance) */
    ncs_norms t;
    ncs_norms_builtin(&t);
    for (size_t i = 0; i < t.n; i++)
        if (ncs_site_known(t.items[i].nerve, 0) && !isnan(t.items[i].dml_distance_mm)) {
            const char *distal = strcmp(t.items[i].nerve, "fibular") == 0
                                         || strcmp(t.items[i].nerve, "tibial") == 0
                                     ? "ankle" : "wrist";
            ck_assert_double_eq(ncs_site_typical_mm(t.items[i].nerve, NULL, distal),
                                t.items[i].dml_distance_mm);
            ck_assert_str_eq(ncs_nerve_muscle(t.items[i].nerve), t.items[i].muscle);
        }
    ck_assert_ptr_null(ncs_nerve_muscle("sural"));
}
END_TEST

/* ---- file names ---------------------------------------------------------- */

START_TEST(names_read)
{
    static const char *const cases[][5] = {
        /* name, nerve, side, site, known */
        {"median_r_wrist.wav", "median", "right", "wrist", "1"},
        {"ulnar-left-below-elbow.csv", "ulnar", "left", "below-elbow", "1"},
        {"Median R Wrist.flac", "median", "right", "wrist", "1"},
        {"fibular_l_fibular-head.flac", "fibular", "left", "fibular-head", "1"},
        {"peroneal_right_ankle.wav", "fibular", "right", "ankle", "1"},
        {"MEDIAN_R_ELBOW.WAV", "median", "right", "elbow", "1"},
        {"ulnar_r_b-elbow.csv", "ulnar", "right", "below-elbow", "1"},
        {"ulnar_rt_bel-elbow.csv", "ulnar", "right", "below-elbow", "1"},
        {"Ulnar Lt Above Elbow.aiff", "ulnar", "left", "above-elbow", "1"},
        {"peroneal_l_fib_head.wav", "fibular", "left", "fibular-head", "1"},
        {"tib_r_popl.csv", "tibial", "right", "popliteal", "1"},
        {"ulnar_r_erb's point.wav", "ulnar", "right", "erb", "1"},
        {"ulnar_r_erb_s_point.wav", "ulnar", "right", "erb", "1"},
        {"median_s_wrist.wav", "median", "left", "wrist", "1"},
        {"median_dx_wrist.wav", "median", "right", "wrist", "1"},
        {"R_median_wrist.wav", "median", "right", "wrist", "1"},
        {"median_r_wrist+20.flac", "median", "right", "wrist+20", "1"},
        {"median_r_elbow-40.flac", "median", "right", "elbow-40", "1"},
        {"median_r_wrist_2.wav", "median", "right", "wrist-2", "0"},
        {"median_r_fa-20.flac", "median", "right", "fa-20", "0"},
        {"median_r_apb_motor_wrist.csv", "median", "right", "wrist", "1"},
        {"radial_l_below_spiral_groove.wav", "radial", "left", "below-spiral-groove", "1"},
        {"ulnar_r_elbow.wav", "ulnar", "right", "elbow", "0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ncs_name_guess g;
        const char *why = ncs_name_guess_read(cases[i][0], &g);
        ck_assert_msg(why == NULL, "%s: %s", cases[i][0], why);
        ck_assert_msg(strcmp(g.nerve, cases[i][1]) == 0 && strcmp(g.side, cases[i][2]) == 0
                          && strcmp(g.site, cases[i][3]) == 0
                          && g.site_known == (cases[i][4][0] == '1'),
                      "%s -> %s %s %s %d", cases[i][0], g.nerve, g.side, g.site, g.site_known);
    }
    ncs_name_guess g;
    ck_assert_ptr_null(ncs_name_guess_read("ulnar_r_FDI_wrist.wav", &g));
    ck_assert_str_eq(g.muscle, "FDI");
    ck_assert_str_eq(g.site, "wrist");
}
END_TEST

START_TEST(names_refused)
{
    static const char *const cases[][2] = {
        {"trace1.wav", "no nerve"},
        {"median_wrist.wav", "no side"},
        {"median_r.wav", "no stimulation site"},
        {"median_r_l_wrist.wav", "two sides"},
        {"notes.txt", "no nerve"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ncs_name_guess g;
        memset(&g, 'x', sizeof g);
        const char *why = ncs_name_guess_read(cases[i][0], &g);
        ck_assert_msg(why && strstr(why, cases[i][1]), "%s: %s", cases[i][0],
                      why ? why : "read");
        ck_assert_str_eq(g.nerve, ""); /* zeroed */
    }
}
END_TEST

/* ---- ncs_init_study ------------------------------------------------------ */

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

/* a CMAP 2 ms after a stimulus artefact at pre_ms, 30 ms at 20 kHz, in
 * `scale` units per mV, on `channels` channels (the second flat) */
static void write_trace(const char *name, int format, double pre_ms, double scale, int channels)
{
    enum { RATE = 20000, N = 600 };
    double x[2 * N];
    for (int i = 0; i < N; i++) {
        double t = 1000.0 * i / RATE, v = 0.01 * sin(i * 1.3);
        if (t >= pre_ms)
            v += 4.0 * exp(-(t - pre_ms) / 0.3) + tu_signal(t - pre_ms);
        for (int c = 0; c < channels; c++)
            x[i * channels + c] = c == 0 ? v * scale : 0.001 * c;
    }
    tu_write_sf(dir, name, format, RATE, channels, x, N);
}

static void write_csv(const char *name, const char *header, double scale)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    if (header)
        fprintf(f, "%s\n", header);
    for (int i = 0; i < 400; i++)
        fprintf(f, "%.4f,%.6f\n", 0.1 * i, scale * tu_signal(0.1 * i));
    ck_assert_int_eq(fclose(f), 0);
}

static char *init_text(ncs_init_counts *n, ncs_warnings *w, ncs_status want)
{
    char *text = NULL;
    ncs_error err;
    ncs_status st = ncs_init_study(dir, &text, n, w, &err);
    ck_assert_msg(st == want, "ncs_init_study: %d (%s: %s)", st, err.where, err.message);
    return text;
}

START_TEST(init_folder)
{
    write_trace("median_r_elbow.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2.0, 1.0, 1);
    write_trace("Median R Wrist.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 0.0, 1.0 / 20, 1);
    write_trace("ulnar_r_above-elbow.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 0.0, 1000.0, 2);
    write_csv("ulnar_r_b-elbow.csv", "time_ms,value_uV", 1000.0);
    write_csv("ulnar_r_wrist.csv", NULL, 1.0);
    write_trace("trace1.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 0.0, 1.0, 1);
    tu_write(dir, "notes.txt", "hello\n");
    tu_write(dir, "x.edf", "0       ");
    char p[4200];
    snprintf(p, sizeof p, "%s/sub", dir);
    ck_assert_int_eq(mkdir(p, 0777), 0);
    snprintf(p, sizeof p, "%s/median_l_wrist.wav", dir);
    ck_assert_int_eq(symlink("/etc/passwd", p), 0);

    ncs_init_counts n;
    ncs_warnings w = {0};
    char *text = init_text(&n, &w, NCS_OK);
    ck_assert_uint_eq(n.nerves, 2);
    ck_assert_uint_eq(n.sites, 5);
    ck_assert_uint_eq(n.not_read, 5);
    ck_assert_uint_eq(w.count, 5);
    ncs_warnings_free(&w);
    /* anatomical order, not the files' */
    const char *order[] = {"[median.right.wrist]", "[median.right.elbow]", "[ulnar.right.wrist]",
                           "[ulnar.right.below-elbow]", "[ulnar.right.above-elbow]",
                           "files not read"};
    const char *at = text;
    for (size_t i = 0; i < 6; i++) {
        const char *q = strstr(at, order[i]);
        ck_assert_msg(q != NULL, "%s missing or out of order in:\n%s", order[i], text);
        at = q;
    }
    ck_assert_ptr_nonnull(strstr(text, "stim_ms = 2.00 "));       /* the artefact seen */
    ck_assert_ptr_nonnull(strstr(text, "scale_mv = 20 "));        /* PCM 16 */
    ck_assert_ptr_nonnull(strstr(text, "2 channels"));
    ck_assert_ptr_nonnull(strstr(text, "units = uV "));           /* float values in uV */
    ck_assert_ptr_nonnull(strstr(text, "named by the CSV header"));
    ck_assert_ptr_nonnull(strstr(text, "distance_mm = 220 "));    /* wrist to below-elbow */
    ck_assert_ptr_nonnull(strstr(text, "distance_mm = 100 "));    /* across the elbow */
    ck_assert_ptr_nonnull(strstr(text, ";   trace1.wav: a waveform whose name does not say"));
    ck_assert_ptr_nonnull(strstr(text, ";   x.edf: an EDF file ncs cannot read: not a valid EDF file"));
    ck_assert_ptr_nonnull(strstr(text, ";   median_l_wrist.wav: a symbolic link that leads "
                                       "outside"));
    ck_assert_ptr_nonnull(strstr(text, ";   sub: a folder"));
    ck_assert_ptr_nonnull(strstr(text, ";   notes.txt: "));
    /* nothing written by the library */
    snprintf(p, sizeof p, "%s/study.ini", dir);
    ck_assert_int_ne(access(p, F_OK), 0);
    /* valid as written: it loads, every trace decodes */
    tu_write(dir, "study.ini", text);
    ncs_error err;
    ncs_study *st = ncs_study_load(dir, NULL, &err);
    ck_assert_msg(st != NULL, "%s: %s", err.where, err.message);
    ck_assert_str_eq(st->nerves[0].id, "median.right");
    ck_assert_str_eq(st->nerves[0].sites[0].name, "wrist");
    ck_assert_str_eq(st->nerves[1].sites[1].name, "below-elbow");
    for (size_t i = 0; i < st->n_nerves; i++)
        for (size_t j = 0; j < st->nerves[i].n_sites; j++) {
            ncs_wave wv;
            ck_assert_msg(ncs_wave_load(&st->nerves[i].sites[j], NULL, &wv, NULL, &err) == NCS_OK,
                          "%s", err.message);
            ncs_wave_free(&wv);
        }
    ncs_study_destroy(st);
    free(text);
}
END_TEST

START_TEST(init_duplicate_site)
{
    write_csv("median_r_wrist.csv", NULL, 1.0);
    write_csv("MEDIAN_R_WRIST.txt", NULL, 1.0);
    ncs_init_counts n;
    char *text = init_text(&n, NULL, NCS_OK);
    ck_assert_uint_eq(n.sites, 1);
    ck_assert_uint_eq(n.not_read, 1);
    ck_assert_ptr_nonnull(strstr(text, "median_r_wrist.csv: the same site (median.right.wrist) "
                                       "as MEDIAN_R_WRIST.txt"));
    free(text);
}
END_TEST

/* An EDF file of one waveform: named by its file name, units from the
 * header (or proposed when it has none); an EDF+D file: a site per record
 * its annotation names, a record that names none listed as not read. */
static void write_edf(const char *name, int records, const char *unit, double scale,
                      const char *const *ann)
{
    static double x[4][800];
    ncs_synth_edf_record r[4];
    for (int k = 0; k < records; k++) {
        for (int i = 0; i < 800; i++)
            x[k][i] = scale * (0.01 * sin(i * 1.3) + tu_signal(1000.0 * i / 20000.0 - k));
        r[k] = (ncs_synth_edf_record){x[k], ann ? ann[k] : NULL, 10.0 * k, 0.0};
    }
    ncs_synth_edf e = {(size_t)records, 800, 20000.0, 20.0 * scale, NULL, unit, NULL, !ann, r};
    size_t n;
    unsigned char *b = ncs_synth_edf_bytes(&e, &n);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
    free(b);
}

START_TEST(init_edf_files)
{
    static const char *const ann[] = {"Ulnar L Wrist", "Ulnar L Below-elbow", "calibration",
                                      "Ulnar L Wrist"};
    write_edf("median_r_wrist.edf", 2, "uV", 1000.0, NULL); /* EDF+C, one trace in uV */
    write_edf("median_r_elbow.edf", 1, "", 1.0, NULL);      /* no unit in the header */
    write_edf("visit.edf", 4, "mV", 1.0, ann);
    ncs_init_counts n;
    char *text = init_text(&n, NULL, NCS_OK);
    ck_assert_uint_eq(n.nerves, 2);
    ck_assert_uint_eq(n.sites, 4);
    ck_assert_uint_eq(n.not_read, 2);
    ck_assert_ptr_nonnull(strstr(text, "; units and scale: from the EDF header, which ncs reads"));
    ck_assert_ptr_nonnull(strstr(text, "units = mV "));
    ck_assert_msg(!strstr(text, "scale_mv"), "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "annotation = Ulnar L Below-elbow "));
    /* the annotation named twice: by number */
    ck_assert_ptr_nonnull(strstr(text, "record = 1 "));
    ck_assert_ptr_nonnull(strstr(text, "visit.edf: record 3: no annotation says its nerve"));
    ck_assert_ptr_nonnull(strstr(text, "record 4: the same site (ulnar.left.wrist) as record 1 "
                                       "of visit.edf"));
    /* valid as written */
    char p[4200];
    snprintf(p, sizeof p, "%s/study.ini", dir);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    ck_assert_int_eq(fclose(f), 0);
    ncs_error err;
    ncs_study *st = ncs_study_load(dir, NULL, &err);
    ck_assert_msg(st != NULL, "%s\n%s", err.message, text);
    for (size_t i = 0; i < st->n_nerves; i++)
        for (size_t j = 0; j < st->nerves[i].n_sites; j++) {
            ncs_wave w;
            ck_assert_msg(ncs_wave_load(&st->nerves[i].sites[j], "t", &w, NULL, &err) == NCS_OK,
                          "%s", err.message);
            ncs_wave_free(&w);
        }
    ncs_study_destroy(st);
    free(text);
}
END_TEST

/* a time column that starts after 0: stim_ms cannot be 0 (ncs refuses a
 * stimulus before the first sample), so the column's start is proposed */
START_TEST(init_time_column_after_zero)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/median_r_wrist.csv", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f, "time_ms,value_mV\n");
    for (int i = 0; i < 400; i++)
        fprintf(f, "%.3f,%.6f\n", 2.0 + 0.05 * i, tu_signal(0.05 * i) + 0.01 * sin(i * 1.3));
    ck_assert_int_eq(fclose(f), 0);
    char *text = init_text(NULL, NULL, NCS_OK);
    ck_assert_msg(strstr(text, "stim_ms = 2 ") != NULL, "%s", text);
    ck_assert_ptr_nonnull(strstr(text, "named by the CSV header"));
    tu_write(dir, "study.ini", text);
    ncs_error err;
    ncs_study *st = ncs_study_load(dir, NULL, &err);
    ck_assert_ptr_nonnull(st);
    ncs_wave wv;
    ck_assert_msg(ncs_wave_load(&st->nerves[0].sites[0], NULL, &wv, NULL, &err) == NCS_OK, "%s",
                  err.message);
    ncs_wave_free(&wv);
    ncs_study_destroy(st);
    free(text);
}
END_TEST

START_TEST(init_refusals)
{
    ncs_error err;
    char *text = (char *)"x";
    ck_assert_int_eq(ncs_init_study(dir, &text, NULL, NULL, &err), NCS_ERR_IO);
    ck_assert_ptr_null(text);
    ck_assert_ptr_nonnull(strstr(err.message, "the folder is empty"));
    tu_write(dir, "x.edf", "0       ");
    ck_assert_int_eq(ncs_init_study(dir, &text, NULL, NULL, &err), NCS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "nothing here is a waveform"));
    tu_write(dir, "notes.md", "# notes\n");
    ck_assert_int_eq(ncs_init_study(dir, &text, NULL, NULL, &err), NCS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "no waveform file"));
    write_csv("trace 1.csv", NULL, 1.0);
    ck_assert_int_eq(ncs_init_study(dir, &text, NULL, NULL, &err), NCS_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "no waveform's name says"));
    ck_assert_ptr_nonnull(strstr(err.message, "trace 1.csv"));
    char p[4200];
    snprintf(p, sizeof p, "%s/study.ini", dir);
    ck_assert_int_eq(ncs_init_study(p, &text, NULL, NULL, &err), NCS_ERR_IO);
    ck_assert_int_eq(ncs_init_study(NULL, &text, NULL, NULL, &err), NCS_ERR_USAGE);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("anatomy");
    TCase *t = tcase_create("vocabulary");
    tcase_add_test(t, order_of_known_sites);
    tcase_add_test(t, aliases_and_unknown_names);
    tcase_add_test(t, landmarks_crossed);
    tcase_add_test(t, landmarks_agree_with_criteria);
    tcase_add_test(t, typical_distances);
    suite_add_tcase(s, t);
    t = tcase_create("names");
    tcase_add_test(t, names_read);
    tcase_add_test(t, names_refused);
    suite_add_tcase(s, t);
    t = tcase_create("init");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, init_folder);
    tcase_add_test(t, init_duplicate_site);
    tcase_add_test(t, init_edf_files);
    tcase_add_test(t, init_time_column_after_zero);
    tcase_add_test(t, init_refusals);
    suite_add_tcase(s, t);
    return s;
}

TU_RUN(suite)
