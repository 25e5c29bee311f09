/* ncs-synth — writes synthetic study folders with their ground truth.
 *
 *   ncs-synth samples DIR            the sample studies of samples/
 *   ncs-synth set DIR N [SEED] [LEVEL]
 *                                    N studies, scenarios in turn, recording
 *                                    conditions drawn up to LEVEL (1 = the accuracy targets'
 *                                    worst, 2 = hostile)
 *   ncs-synth study DIR SCENARIO SEED LEVEL [edf]   one study (edf: as one
 *                                    EDF+D file, a record per site)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ncs_synth.h"

static int write_one(const char *root, const char *scenario, const char *id,
                     unsigned long long seed, double level, int edf)
{
    ncs_synth_study s;
    if (ncs_synth_scenario(&s, scenario, id, seed, level) != 0) {
        fprintf(stderr, "ncs-synth: unknown scenario '%s'\n", scenario);
        return 2;
    }
    if (edf)
        ncs_synth_as_edf(&s);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/%s", root, id);
    ncs_error err;
    if (ncs_synth_write(&s, dir, &err) != NCS_OK) {
        fprintf(stderr, "ncs-synth: %s: error: %s\n", err.where, err.message);
        return 4;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ncs-synth samples DIR | set DIR N [SEED] [LEVEL] | "
                        "study DIR SCENARIO SEED LEVEL [edf]\n");
        return 2;
    }
    const char *root = argv[2];
    if (mkdir(root, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "ncs-synth: %s: %s\n", root, strerror(errno));
        return 4;
    }
    if (strcmp(argv[1], "samples") == 0) {
        /* fixed seeds and moderate conditions: the shipped samples */
        static const struct { const char *id, *scen; unsigned long long seed; double lvl;
                              int edf; } S[] = {
            {"normal", "normal", 101, 0.5, 0},
            {"mmn", "mmn", 202, 0.5, 0},
            {"cidp", "cidp", 303, 0.5, 0},
            {"mnd", "als", 404, 0.5, 0},
            {"carpal-tunnel", "carpal-tunnel", 505, 0.5, 0},
            {"inching", "inching", 606, 0.3, 0},
            {"edf-mmn", "mmn", 707, 0.5, 1}, /* one EDF+D file, as machines export */
            /* one patient's three visits (ncs compare) */
            {"followup-v1", "followup-v1", 801, 0.5, 0},
            {"followup-v2", "followup-v2", 802, 0.5, 0},
            {"followup-v3", "followup-v3", 803, 0.5, 0},
        };
        for (size_t i = 0; i < sizeof S / sizeof S[0]; i++) {
            int rc = write_one(root, S[i].scen, S[i].id, S[i].seed, S[i].lvl, S[i].edf);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (strcmp(argv[1], "set") == 0 && argc >= 4) {
        long n = strtol(argv[3], NULL, 10);
        unsigned long long seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
        double level = argc > 5 ? strtod(argv[5], NULL) : 1.0;
        for (long i = 0; i < n; i++) {
            const char *scen = ncs_synth_scenarios[i % 6];
            char id[64];
            snprintf(id, sizeof id, "syn-%05ld-%s", i, scen);
            int rc = write_one(root, scen, id, seed * 1000003ULL + (unsigned long long)i,
                               level * (double)((i * 7) % 11) / 10.0, 0);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (strcmp(argv[1], "study") == 0 && argc >= 6) {
        char id[64];
        snprintf(id, sizeof id, "%s", argv[3]);
        return write_one(root, argv[3], id, strtoull(argv[4], NULL, 10), strtod(argv[5], NULL),
                         argc > 6 && strcmp(argv[6], "edf") == 0);
    }
    fprintf(stderr, "ncs-synth: unknown command '%s'\n", argv[1]);
    return 2;
}
