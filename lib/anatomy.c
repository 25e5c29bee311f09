/* anatomy.c — sites as anatomy (docs/study-folder.md, SPEC 1.1, 5.3): each
 * nerve's known stimulation sites in anatomical order, the names
 * technicians and machines give them, the entrapment landmarks between
 * them, the typical adult distances and recording muscles (what `ncs init`
 * proposes), and the reading of a waveform file's name into nerve, side and
 * site.
 *
 * The order and the sites follow standard motor conduction practice
 * (Preston & Shapiro, Electromyography and Neuromuscular Disorders, 3rd ed.,
 * ch. 10-11; the landmarks are AAEM 2003's common entrapment sites). The
 * distances are typical adult values to propose, never to measure with:
 * every one that ncs init writes is marked as a guess. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* One known site: its level (0 the most distal; two names at one level are
 * one place named two ways), its typical position along the nerve in mm
 * from the nerve's usual distal site, and its typical distance to the usual
 * recording muscle when it is the first site stimulated. */
typedef struct {
    const char *name;
    int level;
    double pos_mm;
    double distal_mm;
} known_site;

typedef struct {
    const char *nerve;
    const char *muscle; /* the usual recording muscle */
    const known_site *sites;
    size_t n;
} nerve_anatomy;

/* distal first; positions from the usual distal site (the one whose
 * distal_mm is the built-in norms' dml_distance_mm) */
static const known_site median_sites[] = {
    {"palm", 0, -60, 40},     {"wrist", 1, 0, 70},      {"elbow", 2, 230, 300},
    {"axilla", 3, 380, 450},  {"erb", 4, 560, 630},
};
static const known_site ulnar_sites[] = {
    {"palm", 0, -50, 30},          {"below-wrist", 1, -30, 40}, {"wrist", 2, 0, 70},
    {"below-elbow", 3, 220, 290},  {"above-elbow", 4, 320, 390}, {"axilla", 5, 440, 510},
    {"erb", 6, 620, 690},
};
static const known_site fibular_sites[] = {
    {"ankle", 0, 0, 90},
    {"below-fibular-head", 1, 300, 390}, {"fibular-head", 1, 300, 390},
    {"above-fibular-head", 2, 400, 490}, {"popliteal", 2, 400, 490}, {"knee", 2, 400, 490},
};
static const known_site tibial_sites[] = {
    {"ankle", 0, 0, 90}, {"knee", 1, 400, 490}, {"popliteal", 1, 400, 490},
};
static const known_site radial_sites[] = {
    {"forearm", 0, 0, 50},               {"elbow", 1, 120, 170},
    {"below-spiral-groove", 2, 220, 270}, {"above-spiral-groove", 3, 320, 370},
    {"axilla", 4, 400, 450},             {"erb", 5, 580, 630},
};
static const known_site musculocutaneous_sites[] = {
    {"axilla", 0, 0, 150}, {"erb", 1, 180, 330},
};
static const known_site axillary_sites[] = {{"erb", 0, 0, 150}};
static const known_site accessory_sites[] = {{"neck", 0, 0, 60}};
static const known_site facial_sites[] = {{"stylomastoid", 0, 0, 80}};

#define NERVE(n, m) {#n, m, n##_sites, NELEM(n##_sites)}
static const nerve_anatomy anatomy[] = {
    NERVE(median, "APB"),       NERVE(ulnar, "ADM"),
    NERVE(fibular, "EDB"),      NERVE(tibial, "AHB"),
    NERVE(radial, "EIP"),       NERVE(musculocutaneous, "biceps"),
    NERVE(axillary, "deltoid"), NERVE(accessory, "trapezius"),
    NERVE(facial, "nasalis"),
};

/* The entrapment landmarks (SPEC 5.3, AAEM 2003): each lies proximal to
 * the sites of level <= after and distal to those above. */
typedef struct {
    const char *nerve;
    int after;
    const char *name;
} landmark;

static const landmark landmarks[] = {
    {"median", 0, "median at the wrist (carpal tunnel)"},
    {"ulnar", 1, "ulnar at the wrist (Guyon's canal)"},
    {"ulnar", 3, "ulnar at the elbow"},
    {"fibular", 1, "fibular at the fibular head"},
};

/* Names in use for known sites (words joined by '-', lower case, as
 * ncs_name_guess normalises them); each applies to a nerve that knows its
 * canonical site. */
typedef struct {
    const char *alias, *site;
} site_alias;

static const site_alias aliases[] = {
    {"b-elbow", "below-elbow"},       {"bel-elbow", "below-elbow"},
    {"be", "below-elbow"},            {"b-elb", "below-elbow"},
    {"bel-elb", "below-elbow"},       {"belowelbow", "below-elbow"},
    {"below-elb", "below-elbow"},     {"below-the-elbow", "below-elbow"},
    {"a-elbow", "above-elbow"},       {"ab-elbow", "above-elbow"},
    {"abv-elbow", "above-elbow"},     {"ae", "above-elbow"},
    {"a-elb", "above-elbow"},         {"abv-elb", "above-elbow"},
    {"aboveelbow", "above-elbow"},    {"above-elb", "above-elbow"},
    {"above-the-elbow", "above-elbow"},
    {"b-wrist", "below-wrist"},       {"bel-wrist", "below-wrist"},
    {"bw", "below-wrist"},            {"wr", "wrist"},
    {"elb", "elbow"},                 {"antecubital", "elbow"},
    {"antecubital-fossa", "elbow"},   {"ax", "axilla"},
    {"axill", "axilla"},              {"erbs", "erb"},
    {"erb-point", "erb"},             {"erbs-point", "erb"},
    {"erb-s-point", "erb"},           {"supraclavicular", "erb"},
    {"mid-palm", "palm"},             {"midpalm", "palm"},
    {"ank", "ankle"},
    {"fib-head", "fibular-head"},     {"fh", "fibular-head"},
    {"fibula-head", "fibular-head"},  {"head-of-fibula", "fibular-head"},
    {"bfh", "below-fibular-head"},    {"b-fib-head", "below-fibular-head"},
    {"bel-fib-head", "below-fibular-head"}, {"below-fib-head", "below-fibular-head"},
    {"b-fibular-head", "below-fibular-head"}, {"bel-fibular-head", "below-fibular-head"},
    {"below-fh", "below-fibular-head"}, {"b-fh", "below-fibular-head"},
    {"afh", "above-fibular-head"},    {"a-fib-head", "above-fibular-head"},
    {"abv-fib-head", "above-fibular-head"}, {"above-fib-head", "above-fibular-head"},
    {"a-fibular-head", "above-fibular-head"}, {"abv-fibular-head", "above-fibular-head"},
    {"above-fh", "above-fibular-head"}, {"a-fh", "above-fibular-head"},
    {"popl", "popliteal"},            {"pop", "popliteal"},
    {"popliteal-fossa", "popliteal"}, {"pf", "popliteal"},
    {"lat-popliteal", "popliteal"},   {"lateral-popliteal-fossa", "popliteal"},
    {"fa", "forearm"},                {"bsg", "below-spiral-groove"},
    {"below-sg", "below-spiral-groove"}, {"b-spiral-groove", "below-spiral-groove"},
    {"asg", "above-spiral-groove"},   {"above-sg", "above-spiral-groove"},
    {"a-spiral-groove", "above-spiral-groove"},
    {"posterior-triangle", "neck"},   {"tragus", "stylomastoid"},
    {"preauricular", "stylomastoid"}, {"pre-auricular", "stylomastoid"},
    {"ear", "stylomastoid"},
};

static const nerve_anatomy *nerve_of(const char *nerve)
{
    const char *c = ncs_nerve_canonical(nerve);
    for (size_t i = 0; c && i < NELEM(anatomy); i++)
        if (strcmp(anatomy[i].nerve, c) == 0)
            return &anatomy[i];
    return NULL;
}

static const known_site *known_of(const nerve_anatomy *a, const char *name)
{
    for (size_t i = 0; a && name && i < a->n; i++)
        if (strcmp(a->sites[i].name, name) == 0)
            return &a->sites[i];
    return NULL;
}

const char *ncs_site_known(const char *nerve, size_t i)
{
    const nerve_anatomy *a = nerve_of(nerve);
    return a && i < a->n ? a->sites[i].name : NULL;
}

/* a known site of a, by its name or an alias */
static const known_site *lookup(const nerve_anatomy *a, const char *name)
{
    const known_site *k = known_of(a, name);
    for (size_t i = 0; !k && a && name && i < NELEM(aliases); i++)
        if (strcmp(aliases[i].alias, name) == 0)
            k = known_of(a, aliases[i].site);
    return k;
}

const char *ncs_site_canonical(const char *nerve, const char *name)
{
    const known_site *k = lookup(nerve_of(nerve), name);
    return k ? k->name : NULL;
}

const char *ncs_nerve_muscle(const char *nerve)
{
    const nerve_anatomy *a = nerve_of(nerve);
    return a ? a->muscle : NULL;
}

/* "wrist+20" -> base "wrist", +20; "elbow-40" -> "elbow", -40; the offset a
 * whole number of mm from 10 to 999 (an inching step is 10 mm or more:
 * "wrist-2" is a second wrist trace's name, not 2 mm). Returns 0 when name
 * is no such name. */
static int split_inching(const char *name, char *base, size_t n, double *off)
{
    const char *p = name + strlen(name);
    while (p > name && isdigit((unsigned char)p[-1]))
        p--;
    size_t digits = strlen(p);
    if (digits == 0 || digits > 3 || p - 1 <= name || (p[-1] != '+' && p[-1] != '-'))
        return 0;
    size_t bl = (size_t)(p - 1 - name);
    if (bl >= n || p[0] == '0')
        return 0;
    if (atof(p) < 10)
        return 0;
    memcpy(base, name, bl);
    base[bl] = '\0';
    *off = (p[-1] == '-' ? -1.0 : 1.0) * atof(p);
    return 1;
}

int ncs_site_place_of(const char *nerve, const char *site, ncs_site_place *out)
{
    const nerve_anatomy *a = nerve_of(nerve);
    if (!a || !site)
        return 0;
    const known_site *k = lookup(a, site);
    double off = 0;
    char base[64];
    if (!k && split_inching(site, base, sizeof base, &off))
        k = lookup(a, base);
    if (!k)
        return 0;
    if (out) {
        out->base = k->name;
        out->level = k->level;
        out->offset_mm = off;
    }
    return 1;
}

int ncs_site_place_cmp(const ncs_site_place *a, const ncs_site_place *b)
{
    if (a->level != b->level)
        return a->level < b->level ? -1 : 1;
    return a->offset_mm < b->offset_mm ? -1 : a->offset_mm > b->offset_mm ? 1 : 0;
}

/* -1 at or distal to the stretch where the landmark lies (between its two
 * known sites), 1 at or proximal to it, 0 inside it (an inching site) */
static int side_of(const ncs_site_place *p, const landmark *l)
{
    if (p->level < l->after || (p->level == l->after && p->offset_mm <= 0))
        return -1;
    if (p->level > l->after + 1 || (p->level == l->after + 1 && p->offset_mm >= 0))
        return 1;
    return 0;
}

int ncs_site_crosses(const char *nerve, const char *from, const char *to,
                     const char **landmark_name)
{
    ncs_site_place a, b;
    if (landmark_name)
        *landmark_name = NULL;
    if (!ncs_site_place_of(nerve, from, &a) || !ncs_site_place_of(nerve, to, &b))
        return -1;
    const char *c = ncs_nerve_canonical(nerve);
    for (size_t i = 0; i < NELEM(landmarks); i++) {
        if (strcmp(landmarks[i].nerve, c) != 0)
            continue;
        /* across the landmark's stretch, or with an end inside it (inching
         * steps at the elbow are at the elbow's entrapment site) */
        int sa = side_of(&a, &landmarks[i]), sb = side_of(&b, &landmarks[i]);
        if (sa * sb < 0 || ((sa == 0 || sb == 0) && ncs_site_place_cmp(&a, &b) != 0)) {
            if (landmark_name)
                *landmark_name = landmarks[i].name;
            return 1;
        }
    }
    return 0;
}

const char *ncs_site_landmark(const char *nerve, size_t i, const char **distal_site,
                              const char **proximal_site)
{
    const char *c = ncs_nerve_canonical(nerve);
    const nerve_anatomy *a = nerve_of(nerve);
    for (size_t k = 0; c && a && k < NELEM(landmarks); k++) {
        if (strcmp(landmarks[k].nerve, c) != 0 || i-- > 0)
            continue;
        /* the nearest known sites on either side (the first of a level) */
        const char *d = NULL, *p = NULL;
        for (size_t j = 0; j < a->n; j++) {
            if (a->sites[j].level == landmarks[k].after && !d)
                d = a->sites[j].name;
            if (a->sites[j].level == landmarks[k].after + 1 && !p)
                p = a->sites[j].name;
        }
        if (distal_site)
            *distal_site = d;
        if (proximal_site)
            *proximal_site = p;
        return landmarks[k].name;
    }
    return NULL;
}

double ncs_site_typical_mm(const char *nerve, const char *from, const char *to)
{
    const nerve_anatomy *a = nerve_of(nerve);
    ncs_site_place pt, pf;
    if (!a || !ncs_site_place_of(nerve, to, &pt))
        return NAN;
    const known_site *kt = known_of(a, pt.base);
    if (!from)
        return kt->distal_mm + pt.offset_mm;
    if (!ncs_site_place_of(nerve, from, &pf))
        return NAN;
    const known_site *kf = known_of(a, pf.base);
    return (kt->pos_mm + pt.offset_mm) - (kf->pos_mm + pf.offset_mm);
}

/* ---- a waveform file's name read into nerve, side and site --------------- */

typedef struct {
    const char *word, *value;
} word_map;

static const word_map nerve_words[] = {
    {"median", "median"},   {"med", "median"},       {"ulnar", "ulnar"},
    {"uln", "ulnar"},       {"fibular", "fibular"},  {"fib", "fibular"},
    {"peroneal", "fibular"}, {"peron", "fibular"},   {"per", "fibular"},
    {"tibial", "tibial"},   {"tib", "tibial"},       {"radial", "radial"},
    {"rad", "radial"},      {"musculocutaneous", "musculocutaneous"},
    {"mc", "musculocutaneous"}, {"axillary", "axillary"}, {"accessory", "accessory"},
    {"acc", "accessory"},   {"facial", "facial"},    {"fac", "facial"},
};
/* sides said in full or by their usual letters; d and s (dexter, sinister)
 * only when nothing else names the side */
static const word_map side_words[] = {
    {"r", "right"}, {"rt", "right"}, {"right", "right"}, {"dx", "right"},
    {"l", "left"},  {"lt", "left"},  {"left", "left"},   {"sx", "left"},
};
static const word_map weak_side_words[] = {{"d", "right"}, {"s", "left"}};
static const word_map muscle_words[] = {
    {"apb", "APB"}, {"adm", "ADM"}, {"fdi", "FDI"}, {"edb", "EDB"}, {"ah", "AHB"},
    {"ahb", "AHB"}, {"eip", "EIP"}, {"ta", "TA"},   {"edc", "EDC"}, {"biceps", "biceps"},
    {"deltoid", "deltoid"}, {"trapezius", "trapezius"}, {"nasalis", "nasalis"},
};
/* words that say nothing of the site */
static const char *const filler_words[] = {"motor", "cmap", "ncs", "mcs", "nerve", "stim"};

static const char *map_word(const word_map *m, size_t n, const char *w)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(m[i].word, w) == 0)
            return m[i].value;
    return NULL;
}

#define MAX_WORDS 16

/* The name's stem (extension off) in lower-case words: letters and digits,
 * '+' kept inside a word, apostrophes dropped (erb's -> erbs), anything else
 * a separator. Returns the number of words, -1 when there are too many. */
static int name_words(const char *name, char words[MAX_WORDS][64])
{
    const char *dot = strrchr(name, '.');
    size_t len = dot && dot != name ? (size_t)(dot - name) : strlen(name);
    int n = 0;
    size_t k = 0;
    for (size_t i = 0; i <= len; i++) {
        unsigned char c = i < len ? (unsigned char)name[i] : ' ';
        if (c == '\'' || c == '`')
            continue;
        if (c == 0xe2 && i + 2 < len && (unsigned char)name[i + 1] == 0x80
            && (unsigned char)name[i + 2] == 0x99) { /* a typographic apostrophe */
            i += 2;
            continue;
        }
        if (c < 0x80 && (isalnum(c) || c == '+')) {
            if (k + 1 >= 64)
                return -1;
            if (k == 0 && n == MAX_WORDS)
                return -1;
            words[n][k++] = (char)tolower(c);
            continue;
        }
        if (k) {
            words[n++][k] = '\0';
            k = 0;
        }
    }
    return n;
}

/* The site read from what the name has left (words joined by '-'). An
 * inching site only where the name itself wrote "+N" or "-N" at its end,
 * 10 mm or more (median_r_wrist_2.wav is a second wrist trace, not 2 mm). */
static void read_site(const char *nerve, const char *joined, int inching_ok,
                      ncs_name_guess *out)
{
    const char *c = ncs_site_canonical(nerve, joined);
    char base[64];
    double off;
    out->site_known = 1;
    if (c) {
        snprintf(out->site, sizeof out->site, "%s", c);
    } else if (inching_ok && split_inching(joined, base, sizeof base, &off)
               && fabs(off) >= 10 && (c = ncs_site_canonical(nerve, base))) {
        snprintf(out->site, sizeof out->site, "%s%+.0f", c, off);
    } else {
        snprintf(out->site, sizeof out->site, "%s", joined);
        out->site_known = 0;
    }
}

static const char *guess(const char *file_name, ncs_name_guess *out)
{
    char words[MAX_WORDS][64];
    int n = file_name ? name_words(file_name, words) : -1;
    if (n < 0)
        return "too long a name";
    int used[MAX_WORDS] = {0};
    const char *nerve = NULL, *side = NULL, *weak = NULL;
    int weak_at = -1;
    for (int i = 0; i < n; i++) {
        const char *v;
        if (!nerve && (v = map_word(nerve_words, NELEM(nerve_words), words[i]))) {
            nerve = v;
            used[i] = 1;
        } else if ((v = map_word(side_words, NELEM(side_words), words[i]))) {
            if (side && strcmp(side, v) != 0)
                return "two sides in one name";
            side = v;
            used[i] = 1;
        } else if (!weak && (v = map_word(weak_side_words, NELEM(weak_side_words), words[i]))) {
            weak = v;
            weak_at = i;
        } else if ((v = map_word(muscle_words, NELEM(muscle_words), words[i]))) {
            snprintf(out->muscle, sizeof out->muscle, "%s", v);
            used[i] = 1;
        } else {
            for (size_t f = 0; f < NELEM(filler_words); f++)
                used[i] |= strcmp(words[i], filler_words[f]) == 0;
        }
    }
    if (!nerve)
        return "no nerve (median, ulnar, fibular or peroneal, tibial, radial, ...)";
    if (!side && weak) {
        side = weak;
        used[weak_at] = 1;
    }
    if (!side)
        return "no side (r, l, right, left, rt, lt)";
    char joined[64] = "";
    size_t k = 0;
    for (int i = 0; i < n; i++)
        if (!used[i]) {
            int w = snprintf(joined + k, sizeof joined - k, "%s%s", k ? "-" : "", words[i]);
            if (w < 0 || (size_t)w >= sizeof joined - k)
                return "too long a site name";
            k += (size_t)w;
        }
    if (!k)
        return "no stimulation site (wrist, elbow, below-elbow, ankle, ...)";
    /* "+N"/"-N" written at the very end of the name's stem */
    const char *dot = strrchr(file_name, '.');
    size_t len = dot && dot != file_name ? (size_t)(dot - file_name) : strlen(file_name);
    size_t d = len;
    while (d > 0 && isdigit((unsigned char)file_name[d - 1]))
        d--;
    int inching_ok = d < len && d > 0 && (file_name[d - 1] == '+' || file_name[d - 1] == '-');
    snprintf(out->nerve, sizeof out->nerve, "%s", nerve);
    snprintf(out->side, sizeof out->side, "%s", side);
    read_site(nerve, joined, inching_ok, out);
    return NULL;
}

const char *ncs_name_guess_read(const char *file_name, ncs_name_guess *out)
{
    memset(out, 0, sizeof *out);
    const char *why = guess(file_name, out);
    if (why)
        memset(out, 0, sizeof *out);
    return why;
}
