/* test_study.c — study.ini parsing (docs/study-folder.md): the model and every refusal. */
#include "testutil.h"

static char *dir;

static void setup(void)
{
    dir = tu_tempdir();
    /* files the parser only needs to find */
    tu_write(dir, "a.wav", "x");
    tu_write(dir, "b.wav", "x");
    tu_write(dir, "c.wav", "x");
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ck_assert_int_eq(mkdir(sub, 0777), 0);
    tu_write(dir, "sub/d.wav", "x");
}

static void teardown(void)
{
    tu_rmrf(dir);
    free(dir);
}

static ncs_study *load(const char *ini, ncs_error *err)
{
    tu_write(dir, "study.ini", ini);
    return ncs_study_load(dir, NULL, err);
}

/* Asserts a refusal with `code` at study.ini line `line` (0: no line) whose
 * message contains `needle`. */
static void refuse(const char *ini, ncs_status code, int line, const char *needle)
{
    ncs_error err;
    ncs_study *st = load(ini, &err);
    ck_assert_msg(st == NULL, "accepted: %s", ini);
    ck_assert_msg(err.code == code, "code %d (%s) want %d; %s: %s", err.code,
                  ncs_strerror(err.code), code, err.where, err.message);
    ck_assert_msg(strstr(err.message, needle) != NULL, "message '%s' lacks '%s'",
                  err.message, needle);
    ck_assert_msg(strstr(err.where, "study.ini") != NULL, "where '%s'", err.where);
    if (line > 0) {
        char want[32];
        snprintf(want, sizeof want, "study.ini:%d", line);
        ck_assert_msg(strstr(err.where, want) != NULL, "where '%s' want line %d",
                      err.where, line);
    }
}

static const char good[] =
    "; a comment\n"
    "# another\n"
    "[study]\n"
    "id = demo-01         ; trailing comment\n"
    "date = 2026-11-02\n"
    "age_years = 47\n"
    "temperature_c = 33.0 # hash comment\n"
    "lff_hz = 5\n"
    "polarity = inverted\n"
    "\n"
    "[median.right]\n"
    "muscle = APB\n"
    "polarity = normal\n"
    "\n"
    "[median.right.wrist]\n"
    "file = a.wav\n"
    "distance_mm = 70\n"
    "stim_ms = 1.5\n"
    "scale_mv = 20\n"
    "\n"
    "[median.right.elbow]\n"
    "file = b.wav\n"
    "distance_mm = 230\n"
    "polarity = inverted\n"
    "onset_ms = 7.1\n"
    "peak_ms = 9.0\n"
    "end_ms = 12.5\n"
    "entrapment = no\n"
    "\n"
    "[peroneal.left.ankle]\n"
    "file = sub/d.wav\n"
    "distance_mm = 80\n"
    "channel = 2\n"
    "units = uV\n"
    "exclude = yes\n"
    "note = electrode came off\n";

START_TEST(parses_model)
{
    ncs_error err;
    ncs_study *st = load(good, &err);
    ck_assert_msg(st != NULL, "%s: %s", err.where, err.message);
    ck_assert_str_eq(st->id, "demo-01");
    ck_assert_str_eq(st->date, "2026-11-02");
    ck_assert_double_eq_tol(st->age_years, 47, 1e-9);
    ck_assert_double_eq_tol(st->temperature_c, 33.0, 1e-9);
    ck_assert(isnan(st->height_cm));
    ck_assert_int_eq(st->lff_hz, 5);
    ck_assert_uint_eq(st->n_nerves, 2);

    const ncs_nerve_def *m = &st->nerves[0];
    ck_assert_str_eq(m->id, "median.right");
    ck_assert_str_eq(m->muscle, "APB");
    ck_assert_double_eq_tol(m->temperature_c, 33.0, 1e-9); /* from [study] */
    ck_assert_uint_eq(m->n_sites, 2);
    ck_assert_str_eq(m->sites[0].name, "wrist"); /* distal first, file order */
    ck_assert_str_eq(m->sites[1].name, "elbow");
    ck_assert_double_eq_tol(m->sites[0].distance_mm, 70, 1e-9);
    ck_assert_double_eq_tol(m->sites[0].stim_ms, 1.5, 1e-9);
    ck_assert_double_eq_tol(m->sites[0].scale_mv, 20, 1e-9);
    ck_assert_int_eq(m->sites[0].polarity, NCS_POLARITY_NORMAL);   /* nerve */
    ck_assert_int_eq(m->sites[1].polarity, NCS_POLARITY_INVERTED); /* site */
    ck_assert_double_eq_tol(m->sites[1].onset_ms, 7.1, 1e-9);
    ck_assert_double_eq_tol(m->sites[1].peak_ms, 9.0, 1e-9);
    ck_assert_double_eq_tol(m->sites[1].end_ms, 12.5, 1e-9);
    ck_assert_int_eq(m->sites[1].entrapment, 0);
    ck_assert_int_eq(m->sites[0].entrapment, -1);
    ck_assert(isnan(m->sites[0].onset_ms));
    ck_assert(isnan(m->sites[0].rate_hz));
    ck_assert_int_eq(m->sites[0].channel, 1);

    const ncs_nerve_def *f = &st->nerves[1];
    ck_assert_str_eq(f->id, "fibular.left"); /* peroneal reported as fibular */
    ck_assert_str_eq(f->nerve, "fibular");
    ck_assert_ptr_null(f->muscle);
    ck_assert_int_eq(f->sites[0].polarity, NCS_POLARITY_INVERTED); /* study */
    ck_assert_int_eq(f->sites[0].channel, 2);
    ck_assert_int_eq(f->sites[0].units, NCS_UNITS_UV);
    ck_assert_int_eq(f->sites[0].exclude, 1);
    ck_assert_str_eq(f->sites[0].note, "electrode came off");
    ck_assert_str_eq(f->sites[0].file, "sub/d.wav");
    ck_assert_ptr_nonnull(strstr(f->sites[0].path, "/sub/d.wav"));
    ncs_study_destroy(st);
}
END_TEST

START_TEST(defaults)
{
    ncs_error err;
    ncs_study *st = load("[ulnar.left.wrist]\nfile = a.wav\ndistance_mm = 60\n", &err);
    ck_assert_msg(st != NULL, "%s: %s", err.where, err.message);
    /* id defaults to the folder's name */
    const char *base = strrchr(dir, '/') + 1;
    ck_assert_str_eq(st->id, base);
    ck_assert_int_eq(st->lff_hz, 2);
    ck_assert_int_eq(st->polarity, NCS_POLARITY_NORMAL);
    ck_assert(isnan(st->temperature_c));
    ck_assert_uint_eq(st->n_nerves, 1);
    ck_assert_double_eq(st->nerves[0].sites[0].stim_ms, 0.0);
    ck_assert_int_eq(st->nerves[0].sites[0].units, NCS_UNITS_MV);
    ncs_study_destroy(st);
}
END_TEST

START_TEST(accepts_nerve_after_sites_and_crlf)
{
    ncs_error err;
    ncs_study *st = load("[median.left.wrist]\r\nfile = a.wav\r\ndistance_mm = 70\r\n"
                         "[median.left]\r\nmuscle = APB\r\n", &err);
    ck_assert_msg(st != NULL, "%s: %s", err.where, err.message);
    ck_assert_str_eq(st->nerves[0].muscle, "APB");
    ncs_study_destroy(st);
}
END_TEST

START_TEST(not_a_study)
{
    ncs_error err;
    ncs_study *st = ncs_study_load(dir, NULL, &err); /* no study.ini yet */
    ck_assert_ptr_null(st);
    ck_assert_int_eq(err.code, NCS_ERR_NOT_STUDY);
    st = ncs_study_load("/nonexistent/folder", NULL, &err);
    ck_assert_ptr_null(st);
    ck_assert_int_eq(err.code, NCS_ERR_NOT_STUDY);
}
END_TEST

#define SITE "[median.right.wrist]\nfile = a.wav\ndistance_mm = 70\n"

START_TEST(unknown_key_suggests)
{
    refuse("[median.right.wrist]\nfile = a.wav\ndistnce_mm = 70\n", NCS_ERR_INI_KEY, 3,
           "unknown key 'distnce_mm' in site section [median.right.wrist] "
           "(did you mean 'distance_mm'?)");
    refuse("[study]\ntemprature_c = 33\n" SITE, NCS_ERR_INI_KEY, 2,
           "did you mean 'temperature_c'?");
    refuse("[median.right]\nmusle = APB\n" SITE, NCS_ERR_INI_KEY, 2,
           "did you mean 'muscle'?");
    refuse(SITE "File = a.wav\n", NCS_ERR_INI_KEY, 4, "did you mean 'file'?");
    refuse(SITE "zzzzzz = 1\n", NCS_ERR_INI_KEY, 4, "unknown key 'zzzzzz'");
    refuse("[median.right]\ndistance_mm = 3\n" SITE, NCS_ERR_INI_KEY, 2,
           "belongs in a site section");
}
END_TEST

START_TEST(bad_sections)
{
    refuse("[stdy]\nid = x\n" SITE, NCS_ERR_INI_SECTION, 1,
           "unknown section [stdy] (did you mean 'study'?)");
    refuse("[medain.right.wrist]\nfile = a.wav\ndistance_mm = 70\n", NCS_ERR_INI_SECTION,
           1, "unknown nerve 'medain' (did you mean 'median'?)");
    refuse("[median.rigth.wrist]\nfile = a.wav\ndistance_mm = 70\n", NCS_ERR_INI_SECTION,
           1, "unknown side 'rigth' in [median.rigth] (did you mean 'right'?)");
    refuse(SITE "[median.right.Elbow]\nfile = b.wav\ndistance_mm = 200\n",
           NCS_ERR_INI_SECTION, 4, "invalid site name 'Elbow'");
    refuse(SITE "[median.right.elbow.x]\n", NCS_ERR_INI_SECTION, 4, "too many parts");
    refuse(SITE "[]\n", NCS_ERR_INI_SECTION, 4, "empty section name");
    refuse(SITE "[median.right.elbow\n", NCS_ERR_INI_SYNTAX, 4, "without closing ']'");
    refuse("file = a.wav\n" SITE, NCS_ERR_INI_SECTION, 1, "before any section");
}
END_TEST

START_TEST(duplicates)
{
    refuse(SITE "\n[median.right.wrist]\nfile = b.wav\ndistance_mm = 70\n",
           NCS_ERR_INI_DUPLICATE, 5, "duplicate site [median.right.wrist] (first at line 1)");
    refuse("[fibular.right.ankle]\nfile = a.wav\ndistance_mm = 80\n"
           "[peroneal.right.ankle]\nfile = b.wav\ndistance_mm = 80\n",
           NCS_ERR_INI_DUPLICATE, 4, "duplicate site [fibular.right.ankle]");
    refuse(SITE "distance_mm = 71\n", NCS_ERR_INI_DUPLICATE, 4,
           "duplicate key 'distance_mm' (first at line 3)");
    refuse("[study]\nid = a\n[study]\n" SITE, NCS_ERR_INI_DUPLICATE, 3,
           "duplicate section [study]");
    refuse("[median.right]\nmuscle = APB\n[median.right]\n" SITE, NCS_ERR_INI_DUPLICATE,
           3, "duplicate section [median.right]");
}
END_TEST

START_TEST(missing_required)
{
    refuse("[median.right.wrist]\ndistance_mm = 70\n", NCS_ERR_INI_MISSING, 1,
           "[median.right.wrist]: missing required key 'file'");
    refuse("[median.right.wrist]\nfile = a.wav\n", NCS_ERR_INI_MISSING, 1,
           "missing required key 'distance_mm'");
    refuse(SITE "[median.right.elbow]\n", NCS_ERR_INI_MISSING, 4,
           "[median.right.elbow]: missing required key 'file'");
    refuse("[study]\nid = x\n", NCS_ERR_INI_MISSING, 0, "no nerve sections");
    refuse(SITE "[ulnar.left]\nmuscle = ADM\n", NCS_ERR_INI_MISSING, 4,
           "nerve [ulnar.left] has no stimulation sites");
}
END_TEST

START_TEST(bad_values)
{
    refuse("[median.right.wrist]\nfile = a.wav\ndistance_mm = seventy\n", NCS_ERR_INI_VALUE,
           3, "distance_mm = 'seventy' is not a number");
    refuse("[median.right.wrist]\nfile = a.wav\ndistance_mm = 0\n", NCS_ERR_INI_VALUE, 3,
           "distance_mm = 0 is out of range");
    refuse("[median.right.wrist]\nfile = a.wav\ndistance_mm = -5\n", NCS_ERR_INI_VALUE, 3,
           "out of range");
    refuse("[median.right.wrist]\nfile = a.wav\ndistance_mm = 70mm\n", NCS_ERR_INI_VALUE,
           3, "not a number");
    refuse("[median.right.wrist]\nfile = a.wav\ndistance_mm = nan\n", NCS_ERR_INI_VALUE,
           3, "not a number");
    refuse("[median.right.wrist]\nfile = a.wav\ndistance_mm = 1e999\n", NCS_ERR_INI_VALUE,
           3, "not a number");
    refuse("[median.right.wrist]\nfile = a.wav\ndistance_mm =\n", NCS_ERR_INI_VALUE, 3,
           "has no value");
    refuse("[study]\nlff_hz = 3\n" SITE, NCS_ERR_INI_VALUE, 2, "expected 2, 5, 10 or 20");
    refuse("[study]\ndate = 2026-02-30\n" SITE, NCS_ERR_INI_VALUE, 2, "not an ISO 8601");
    refuse("[study]\ndate = 02/11/2026\n" SITE, NCS_ERR_INI_VALUE, 2, "not an ISO 8601");
    refuse("[study]\ntemperature_c = 80\n" SITE, NCS_ERR_INI_VALUE, 2, "out of range");
    refuse("[study]\npolarity = upside-down\n" SITE, NCS_ERR_INI_VALUE, 2,
           "expected normal or inverted");
    refuse("[study]\nid = ../escape\n" SITE, NCS_ERR_INI_VALUE, 2, "id = '../escape'");
    refuse(SITE "channel = 0\n", NCS_ERR_INI_VALUE, 4, "channel = '0'");
    refuse(SITE "channel = 1.5\n", NCS_ERR_INI_VALUE, 4, "channel");
    refuse(SITE "units = volts\n", NCS_ERR_INI_VALUE, 4, "expected mV, uV or V");
    refuse(SITE "exclude = maybe\n", NCS_ERR_INI_VALUE, 4, "expected yes or no");
    refuse(SITE "rate_hz = 500\n", NCS_ERR_INI_VALUE, 4, "rate_hz = 500 is out of range");
    refuse(SITE "scale_mv = 0\n", NCS_ERR_INI_VALUE, 4, "out of range");
    refuse(SITE "onset_ms = 5\npeak_ms = 4\n", NCS_ERR_INI_VALUE, 5,
           "peak_ms 4 is not after onset_ms 5");
    refuse(SITE "peak_ms = 6\nend_ms = 6\n", NCS_ERR_INI_VALUE, 5, "end_ms 6 is not after");
}
END_TEST

START_TEST(paths_confined)
{
    refuse("[median.right.wrist]\nfile = /etc/passwd\ndistance_mm = 70\n", NCS_ERR_PATH, 2,
           "absolute path");
    refuse("[median.right.wrist]\nfile = ../a.wav\ndistance_mm = 70\n", NCS_ERR_PATH, 2,
           "leaves the study folder");
    refuse("[median.right.wrist]\nfile = sub/../../x.wav\ndistance_mm = 70\n", NCS_ERR_PATH,
           2, "leaves the study folder");
    refuse("[median.right.wrist]\nfile = nothere.wav\ndistance_mm = 70\n", NCS_ERR_IO, 2,
           "file 'nothere.wav' not found");
    refuse("[median.right.wrist]\nfile = sub\ndistance_mm = 70\n", NCS_ERR_IO, 2,
           "not a regular file");
    char link[4200];
    snprintf(link, sizeof link, "%s/out.wav", dir);
    ck_assert_int_eq(symlink("/etc/hostname", link), 0);
    refuse("[median.right.wrist]\nfile = out.wav\ndistance_mm = 70\n", NCS_ERR_PATH, 2,
           "link that leads outside the study folder");
    /* a link that stays inside is fine */
    snprintf(link, sizeof link, "%s/in.wav", dir);
    ck_assert_int_eq(symlink("a.wav", link), 0);
    ncs_error err;
    ncs_study *st = load("[median.right.wrist]\nfile = in.wav\ndistance_mm = 70\n", &err);
    ck_assert_msg(st != NULL, "%s", err.message);
    ncs_study_destroy(st);
}
END_TEST

START_TEST(hostile_text)
{
    /* a line over the limit */
    size_t n = NCS_MAX_INI_LINE + 50;
    char *big = malloc(n + 64);
    strcpy(big, SITE "note = ");
    size_t l = strlen(big);
    memset(big + l, 'x', n);
    strcpy(big + l + n, "\n");
    refuse(big, NCS_ERR_LIMIT, 4, "the limit is");
    free(big);

    /* binary data */
    char path[4200];
    snprintf(path, sizeof path, "%s/study.ini", dir);
    FILE *f = fopen(path, "wb");
    static const unsigned char bin[] = {'[', 's', 't', 'u', 'd', 'y', ']', '\n', 0x00, 0xff, 0x13, '\n'};
    fwrite(bin, 1, sizeof bin, f);
    fclose(f);
    ncs_error err;
    ck_assert_ptr_null(ncs_study_load(dir, NULL, &err));
    ck_assert_int_eq(err.code, NCS_ERR_INI_SYNTAX);
    ck_assert_ptr_nonnull(strstr(err.message, "must be a text file"));
    ck_assert_ptr_nonnull(strstr(err.where, "study.ini:2"));

    /* not key = value */
    refuse(SITE "just some words\n", NCS_ERR_INI_SYNTAX, 4, "not a 'key = value' line");

    /* too large */
    f = fopen(path, "wb");
    for (int i = 0; i < NCS_MAX_INI_BYTES / 10 + 10; i++)
        fputs("; padding\n", f);
    fclose(f);
    ck_assert_ptr_null(ncs_study_load(dir, NULL, &err));
    ck_assert_int_eq(err.code, NCS_ERR_LIMIT);
}
END_TEST

START_TEST(too_many_sites)
{
    size_t cap = 200000;
    char *ini = malloc(cap);
    size_t len = 0;
    for (int i = 0; i <= NCS_MAX_SITES; i++)
        len += (size_t)snprintf(ini + len, cap - len,
                                "[median.right.s%d]\nfile = a.wav\ndistance_mm = 10\n", i);
    refuse(ini, NCS_ERR_LIMIT, 3 * NCS_MAX_SITES + 1, "more than");
    free(ini);
}
END_TEST

START_TEST(study_ini_too_big)
{
    /* a study.ini over 1 MiB (comments only) is refused before it is parsed */
    size_t n = NCS_MAX_INI_BYTES + 100;
    char *ini = malloc(n + 1);
    for (size_t i = 0; i < n; i += 64) {
        size_t k = n - i < 64 ? n - i : 64;
        memset(ini + i, ' ', k);
        ini[i] = ';';
        ini[i + k - 1] = '\n';
    }
    ini[n] = '\0';
    ncs_error err;
    ck_assert_ptr_null(load(ini, &err));
    ck_assert_int_eq(err.code, NCS_ERR_LIMIT);
    ck_assert_ptr_nonnull(strstr(err.message, "larger than"));
    free(ini);
}
END_TEST

START_TEST(strerror_total)
{
    for (int c = 0; c < NCS_ERR__COUNT; c++)
        ck_assert_ptr_nonnull(ncs_strerror((ncs_status)c));
    ck_assert_str_eq(ncs_strerror((ncs_status)999), "unknown error");
    ck_assert_str_eq(ncs_nerve_canonical("peroneal"), "fibular");
    ck_assert_ptr_null(ncs_nerve_canonical("sciatic"));
}
END_TEST

/* CSV text fields: quoted when they hold a separator, and never a formula
 * to a spreadsheet; numbers stay numbers */
START_TEST(csv_fields_safe)
{
    const char *in[] = {"=1+2", "+cmd", "@SUM(A1)", "-3.5", "a,b", "plain", "-x", "-APB, left",
                        "=HYPERLINK(\"x\",\"y\")"};
    const char *want[] = {"'=1+2", "'+cmd", "'@SUM(A1)", "-3.5", "\"a,b\"", "plain", "'-x",
                          "\"'-APB, left\"", "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\""};
    for (size_t k = 0; k < sizeof in / sizeof in[0]; k++) {
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        ck_assert_ptr_nonnull(f);
        ncs_csv_field(f, in[k], 1);
        fclose(f);
        ck_assert_str_eq(buf, want[k]);
        free(buf);
    }
}
END_TEST

/* The errors of one failed load, in the order a caller shows them: err,
 * then warn's entries of severity error. */
typedef struct {
    unsigned n_errors;   /* err.n_errors */
    size_t shown;        /* err + warn's errors */
    int lines[NCS_MAX_ERRORS];
    char text[NCS_MAX_ERRORS][1024];
    size_t n_warnings;   /* warn's entries of severity warning */
} all_errors;

static all_errors load_all(const char *ini)
{
    all_errors a;
    memset(&a, 0, sizeof a);
    ncs_error err;
    ncs_warnings w = {0};
    tu_write(dir, "study.ini", ini);
    ncs_study *st = ncs_study_load(dir, &w, &err);
    ck_assert_msg(st == NULL, "accepted: %s", ini);
    a.n_errors = err.n_errors;
    const char *colon = strrchr(err.where, ':');
    a.lines[0] = colon ? atoi(colon + 1) : 0;
    snprintf(a.text[0], sizeof a.text[0], "%s", err.message);
    a.shown = 1;
    for (size_t i = 0; i < w.count; i++) {
        if (w.items[i].severity != NCS_SEVERITY_ERROR) {
            a.n_warnings++;
            continue;
        }
        ck_assert_msg(a.shown < NCS_MAX_ERRORS, "more than %d errors kept", NCS_MAX_ERRORS);
        ck_assert_ptr_nonnull(strstr(w.items[i].where, "study.ini"));
        colon = strrchr(w.items[i].where, ':');
        a.lines[a.shown] = colon ? atoi(colon + 1) : 0;
        snprintf(a.text[a.shown], sizeof a.text[0], "%s", w.items[i].message);
        a.shown++;
    }
    ncs_warnings_free(&w);
    return a;
}

START_TEST(every_error_at_once)
{
    /* four slips: each reported with its line, in line order, and no
     * cascade (a key with a refused value or a misspelt name is not also
     * "missing") */
    all_errors a = load_all("[study]\n"
                            "temprature_c = 33\n"          /* 2 */
                            "[median.right.wrist]\n"
                            "file = a.wav\n"
                            "distance_mm = 70,5\n"         /* 5 */
                            "[median.right.elbow]\n"
                            "file = nothere.wav\n"         /* 7 */
                            "distnce_mm = 230\n");         /* 8 */
    ck_assert_uint_eq(a.n_errors, 4);
    ck_assert_uint_eq(a.shown, 4);
    const int want[] = {2, 5, 7, 8};
    const char *needle[] = {"did you mean 'temperature_c'", "use '.' for decimals: 70.5",
                            "file 'nothere.wav' not found", "did you mean 'distance_mm'"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(a.lines[i], want[i]);
        ck_assert_msg(strstr(a.text[i], needle[i]), "error %d '%s' lacks '%s'", i, a.text[i],
                      needle[i]);
    }
    /* a missing key in each site, a bad file in each: every one said */
    a = load_all("[median.right.wrist]\nfile = a.wav\n[median.right.elbow]\ndistance_mm = 230\n"
                 "[median.right.axilla]\nfile = ../x.wav\ndistance_mm = 100\n");
    ck_assert_uint_eq(a.n_errors, 3);
    ck_assert_int_eq(a.lines[0], 1);
    ck_assert_ptr_nonnull(strstr(a.text[0], "missing required key 'distance_mm'"));
    ck_assert_int_eq(a.lines[1], 3);
    ck_assert_ptr_nonnull(strstr(a.text[1], "missing required key 'file'"));
    ck_assert_int_eq(a.lines[2], 6);
    ck_assert_ptr_nonnull(strstr(a.text[2], "leaves the study folder"));
    /* a refused header: its error only, its keys skipped, the parse goes on */
    a = load_all(SITE "[median.rigth.elbow]\nbogus = 1\nfile = b.wav\n[study]\nlff_hz = 3\n");
    ck_assert_uint_eq(a.n_errors, 2);
    ck_assert_int_eq(a.lines[0], 4);
    ck_assert_ptr_nonnull(strstr(a.text[0], "unknown side 'rigth'"));
    ck_assert_int_eq(a.lines[1], 8);
    /* lines that are not key = value: each said */
    a = load_all(SITE "just words\n[study]\nmore words\n");
    ck_assert_uint_eq(a.n_errors, 2);
    ck_assert_int_eq(a.lines[0], 4);
    ck_assert_int_eq(a.lines[1], 6);
    ck_assert_ptr_nonnull(strstr(a.text[1], "'more words' is not a 'key = value' line"));
    /* not text: the parse stops there */
    a = load_all(SITE "bogus = 1\n\001\nalso = 2\n");
    ck_assert_uint_eq(a.n_errors, 2);
    ck_assert_ptr_nonnull(strstr(a.text[1], "must be a text file"));
}
END_TEST

START_TEST(errors_beyond_the_limit_counted)
{
    char ini[4096];
    size_t n = (size_t)snprintf(ini, sizeof ini, "%s", SITE);
    for (int i = 1; i <= 27; i++)
        n += (size_t)snprintf(ini + n, sizeof ini - n, "bogus%d = 1\n", i);
    all_errors a = load_all(ini);
    ck_assert_uint_eq(a.n_errors, 27);
    ck_assert_uint_eq(a.shown, NCS_MAX_ERRORS);
    for (size_t i = 0; i < a.shown; i++)
        ck_assert_int_eq(a.lines[i], 4 + (int)i);
    /* without a list, the first error and the count */
    ncs_error err;
    tu_write(dir, "study.ini", ini);
    ck_assert_ptr_null(ncs_study_load(dir, NULL, &err));
    ck_assert_uint_eq(err.n_errors, 27);
    ck_assert_int_eq(err.code, NCS_ERR_INI_KEY);
    /* a call that fails once says 1 */
    ck_assert_ptr_null(ncs_study_load("/nonexistent-ncs", NULL, &err));
    ck_assert_uint_eq(err.n_errors, 1);
}
END_TEST

START_TEST(messages_that_help)
{
    /* a key in other letters' case; a near miss of another section's key;
     * the section's keys when nothing is near */
    refuse(SITE "File = a.wav\n", NCS_ERR_INI_KEY, 4, "(did you mean 'file'?)");
    refuse(SITE "musle = APB\n", NCS_ERR_INI_KEY, 4,
           "(did you mean 'muscle'?); that key belongs in a nerve section");
    refuse("[median.right]\nelectrode = bar\n" SITE, NCS_ERR_INI_KEY, 2,
           "its keys are muscle, temperature_c, polarity, note");
    refuse("[Median.Right]\n" SITE, NCS_ERR_INI_SECTION, 1, "(did you mean 'median'?)");
    /* a file whose name differs in case, or is a near miss */
    refuse("[median.right.wrist]\nfile = A.WAV\ndistance_mm = 70\n", NCS_ERR_IO, 2,
           "there is 'a.wav' (names are case-sensitive");
    refuse("[median.right.wrist]\nfile = sub/D.wav\ndistance_mm = 70\n", NCS_ERR_IO, 2,
           "there is 'sub/d.wav'");
    refuse("[median.right.wrist]\nfile = aa.wav\ndistance_mm = 70\n", NCS_ERR_IO, 2,
           "did you mean 'a.wav'?");
    /* text that is not UTF-8, or holds DEL */
    refuse("[study]\npatient = M\xfcller\n" SITE, NCS_ERR_INI_VALUE, 2,
           "patient: the text is not UTF-8");
    refuse("[study]\nnote = a\x7f\n" SITE, NCS_ERR_INI_VALUE, 2, "control character");
}
END_TEST

START_TEST(unicode_ids_and_patient)
{
    ncs_error err;
    ncs_study *st = load("[study]\nid = M\xc3\xbcller-2024\npatient = Hans M\xc3\xbcller\n" SITE,
                         &err);
    ck_assert_msg(st != NULL, "%s: %s", err.where, err.message);
    ck_assert_str_eq(st->id, "M\xc3\xbcller-2024");
    ck_assert_str_eq(st->patient, "Hans M\xc3\xbcller");
    ncs_study_destroy(st);
    const char *good_ids[] = {"\303\230berg", "Dvo\xc5\x99\xc3\xa1k_1", "\xce\xb1\xce\xb2",
                              "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd.2", "\xe7\x8e\x8b-01"};
    for (size_t i = 0; i < sizeof good_ids / sizeof good_ids[0]; i++) {
        char ini[256];
        snprintf(ini, sizeof ini, "[study]\nid = %s\n" SITE, good_ids[i]);
        st = load(ini, &err);
        ck_assert_msg(st != NULL, "id '%s' refused: %s", good_ids[i], err.message);
        ncs_study_destroy(st);
    }
    /* not letters: a division slash, a direction override, a zero-width
     * space, a combining mark first, a multiplication sign, Latin-1 bytes,
     * an overlong '/' */
    const char *bad_ids[] = {"a\342\210\225b", "a\342\200\256b", "a\342\200\213b",
                             "\314\210a", "a\303\227b", "M\xfcller", "a\300\257b"};
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        char ini[256];
        snprintf(ini, sizeof ini, "[study]\nid = %s\n" SITE, bad_ids[i]);
        refuse(ini, NCS_ERR_INI_VALUE, 2, "use letters");
    }
}
END_TEST

START_TEST(plausible_distances)
{
    ncs_error err;
    ncs_study *st = load("[median.right.wrist]\nfile = a.wav\ndistance_mm = 7\n"
                         "[median.right.elbow]\nfile = b.wav\ndistance_mm = 230\n"
                         "[median.right.axilla]\nfile = c.wav\ndistance_mm = 900\n"
                         "[ulnar.right.wrist]\nfile = a.wav\ndistance_mm = 70\n"
                         "[ulnar.right.wrist+10]\nfile = b.wav\ndistance_mm = 10\n"
                         "[ulnar.right.wrist+18]\nfile = c.wav\ndistance_mm = 8\n", &err);
    ck_assert_msg(st != NULL, "%s", err.message);
    ncs_warnings w = {0};
    ncs_study_plausibility(st, &w);
    ck_assert_uint_eq(w.count, 3);
    for (size_t i = 0; i < w.count; i++) {
        ck_assert_str_eq(w.items[i].code, "implausible-distance");
        ck_assert_int_eq(w.items[i].severity, NCS_SEVERITY_WARNING);
    }
    ck_assert_ptr_nonnull(strstr(w.items[0].where, "/median.right.wrist"));
    ck_assert_ptr_nonnull(strstr(w.items[0].message, "was 70 mm meant? (cm written for mm)"));
    ck_assert_ptr_nonnull(strstr(w.items[1].where, "/median.right.axilla"));
    ck_assert_ptr_nonnull(strstr(w.items[1].message, "was 90 mm meant? (a digit too many?)"));
    ck_assert_ptr_nonnull(strstr(w.items[2].where, "/ulnar.right.wrist+18"));
    ck_assert_ptr_nonnull(strstr(w.items[2].message, "outside 10-600 mm: was 80 mm meant?"));
    ncs_warnings_free(&w);
    ncs_study_destroy(st);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("study");
    TCase *t = tcase_create("parse");
    tcase_add_checked_fixture(t, setup, teardown);
    tcase_add_test(t, parses_model);
    tcase_add_test(t, defaults);
    tcase_add_test(t, accepts_nerve_after_sites_and_crlf);
    tcase_add_test(t, not_a_study);
    tcase_add_test(t, unknown_key_suggests);
    tcase_add_test(t, bad_sections);
    tcase_add_test(t, duplicates);
    tcase_add_test(t, missing_required);
    tcase_add_test(t, bad_values);
    tcase_add_test(t, paths_confined);
    tcase_add_test(t, hostile_text);
    tcase_add_test(t, too_many_sites);
    tcase_add_test(t, study_ini_too_big);
    tcase_add_test(t, strerror_total);
    tcase_add_test(t, csv_fields_safe);
    tcase_add_test(t, every_error_at_once);
    tcase_add_test(t, errors_beyond_the_limit_counted);
    tcase_add_test(t, messages_that_help);
    tcase_add_test(t, unicode_ids_and_patient);
    tcase_add_test(t, plausible_distances);
    suite_add_tcase(s, t);
    return s;
}

TU_RUN(suite)
