/* synth_edf.c — EDF+ files as EMG machines export nerve-conduction studies:
 * one data record per stimulation (EDF+D), one EMG signal and the
 * annotation signal, whose first TAL keeps the record's start and whose
 * second names the site at the time of the stimulus. Used by ncs-synth
 * (samples/edf-mmn), the tests and the fuzz seeds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ncs_synth.h"

#define ANNOT_BYTES 120 /* per record: time-keeping TAL plus one site name */

/* A header field: text left-aligned, space-padded to len (cut if longer). */
static void field(unsigned char *p, size_t len, const char *text)
{
    size_t n = strlen(text);
    memset(p, ' ', len);
    memcpy(p, text, n < len ? n : len);
}

static void fieldf(unsigned char *p, size_t len, const char *fmt, double v)
{
    char buf[32];
    snprintf(buf, sizeof buf, fmt, v);
    field(p, len, buf);
}

static void main_header(unsigned char *h, const ncs_synth_edf *e, size_t n_records)
{
    field(h, 8, "0");
    field(h + 8, 80, e->patient ? e->patient : "X X X X");
    field(h + 88, 80, "Startdate 02-NOV-2026 X X ncs-synth");
    field(h + 168, 8, "02.11.26");
    field(h + 176, 8, "09.30.00");
    fieldf(h + 184, 8, "%.0f", 256.0 * 3);
    field(h + 192, 44, e->continuous ? "EDF+C" : "EDF+D");
    fieldf(h + 236, 8, "%.0f", (double)n_records);
    fieldf(h + 244, 8, "%.6g", (double)e->spr / e->fs_hz);
    field(h + 252, 4, "2");
}

/* The two signals' fields, each stored for both signals in turn. */
static void signal_headers(unsigned char *h, const ncs_synth_edf *e)
{
    unsigned char *p = h + 256;
    field(p, 16, e->label ? e->label : "EMG");
    field(p + 16, 16, "EDF Annotations");
    p += 32;
    field(p, 80, "AgAgCl surface electrodes");
    field(p + 80, 80, "");
    p += 160;
    field(p, 8, e->unit ? e->unit : "mV");
    field(p + 8, 8, "");
    p += 16;
    fieldf(p, 8, "%.6g", -e->phys_max);
    field(p + 8, 8, "-1");
    p += 16;
    fieldf(p, 8, "%.6g", e->phys_max);
    field(p + 8, 8, "1");
    p += 16;
    field(p, 8, "-32768");
    field(p + 8, 8, "-32768");
    p += 16;
    field(p, 8, "32767");
    field(p + 8, 8, "32767");
    p += 16;
    field(p, 80, "HP:2Hz LP:10kHz");
    field(p + 80, 80, "");
    p += 160;
    fieldf(p, 8, "%.0f", (double)e->spr);
    fieldf(p + 8, 8, "%.0f", ANNOT_BYTES / 2.0);
    p += 16;
    field(p, 64, "");
}

/* Record r: its samples, then its TALs. */
static void record(unsigned char *p, const ncs_synth_edf *e, size_t r)
{
    const ncs_synth_edf_record *rec = &e->records[r];
    /* physical -phys_max..phys_max onto digital -32768..32767, as a reader
     * maps it back */
    double k = 65535.0 / (2.0 * e->phys_max);
    for (size_t i = 0; i < e->spr; i++) {
        double d = floor((rec->x[i] + e->phys_max) * k - 32768.0 + 0.5);
        d = d > 32767 ? 32767 : d < -32768 ? -32768 : d;
        int v = (int)d;
        p[2 * i] = (unsigned char)(v & 0xff);
        p[2 * i + 1] = (unsigned char)((v >> 8) & 0xff);
    }
    unsigned char *a = p + 2 * e->spr;
    memset(a, 0, ANNOT_BYTES);
    double start = e->continuous ? (double)r * (double)e->spr / e->fs_hz : rec->start_s;
    int n = snprintf((char *)a, ANNOT_BYTES, "+%.6g\x14\x14", start);
    a[n++] = 0;
    if (rec->annotation && *rec->annotation) {
        char tal[ANNOT_BYTES];
        int m = snprintf(tal, sizeof tal, "+%.6f\x14%s\x14", start + rec->stim_ms / 1000.0,
                         rec->annotation);
        if (m > 0 && (size_t)n + (size_t)m + 1 <= ANNOT_BYTES) {
            memcpy(a + n, tal, (size_t)m);
            a[n + m] = 0;
        }
    }
}

unsigned char *ncs_synth_edf_bytes(const ncs_synth_edf *e, size_t *n)
{
    size_t rec_bytes = 2 * e->spr + ANNOT_BYTES;
    size_t total = 256 * 3 + e->n_records * rec_bytes;
    unsigned char *b = malloc(total);
    if (!b)
        return NULL;
    main_header(b, e, e->n_records);
    signal_headers(b, e);
    for (size_t r = 0; r < e->n_records; r++)
        record(b + 256 * 3 + r * rec_bytes, e, r);
    *n = total;
    return b;
}
