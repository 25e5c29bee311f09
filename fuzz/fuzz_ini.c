/* fuzz_ini.c — study.ini parsing: any text as a study's study.ini, in a
 * folder holding a few waveform files it may name. */
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

static char dir[64];

static void write_file(const char *name, const char *text)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static void cleanup(void)
{
    static const char *const names[] = {"study.ini", "a.csv", "b.csv"};
    char p[128];
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* One folder for the process: study.ini is rewritten for every input; a.csv
 * (time_ms,value) and b.csv (values) are there to be named. */
static void setup(void)
{
    if (dir[0])
        return;
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/ncs-fuzz-ini-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
    if (mkdir(dir, 0700) != 0)
        abort();
    atexit(cleanup);
    char buf[16384];
    size_t k = 0;
    for (int i = 0; i < 200; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%.2f,%.3f\n", i * 0.1,
                              i > 40 && i < 80 ? -1.0 : 0.0);
    write_file("a.csv", buf);
    k = 0;
    for (int i = 0; i < 200; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%.3f\n", i > 40 && i < 80 ? -1.0 : 0.0);
    write_file("b.csv", buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    char p[128];
    snprintf(p, sizeof p, "%s/study.ini", dir);
    FILE *f = fopen(p, "wb");
    if (!f)
        abort();
    fwrite(data, 1, size, f);
    fclose(f);
    ncs_error e;
    ncs_warnings w = {0};
    ncs_study *st = ncs_study_load(dir, &w, &e);
    if (st) {
        FUZZ_CHECK(st->n_nerves >= 1 && st->n_nerves <= NCS_MAX_NERVES);
        for (size_t i = 0; i < st->n_nerves; i++) {
            FUZZ_CHECK(st->nerves[i].n_sites >= 1 && st->nerves[i].n_sites <= NCS_MAX_SITES);
            for (size_t j = 0; j < st->nerves[i].n_sites; j++)
                FUZZ_CHECK(st->nerves[i].sites[j].distance_mm > 0);
        }
    } else {
        FUZZ_CHECK(e.code != NCS_OK && e.message[0]);
    }
    ncs_study_destroy(st);
    ncs_warnings_free(&w);
    return 0;
}
