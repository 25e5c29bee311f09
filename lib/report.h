/* report.h — between the report's script (report.c) and the gnuplot runner
 * (gnuplot.c). Internal to the library. */
#ifndef NCS_REPORT_H
#define NCS_REPORT_H

#include <stdio.h>
#include "ncs.h"

/* Keeps of a cleaned trace (n samples at fs_hz, the first at t0_ms from the
 * stimulus) what a report can draw: sr->trace, sr->n_points and
 * sr->sweep_end_ms (see ncs_site_result). A page shows no more than a few
 * thousand points across its time axis, and the axis is at least 5 ms long
 * and starts at the stimulus; so, from the stimulus on, each stretch of
 * 1/3000 of the time since the stimulus (of 5 ms at first) keeps its lowest
 * and highest samples, in time order, and a stretch of one sample keeps it.
 * What is kept grows with the logarithm of the sweep's length, not with the
 * sampling rate (about 26000 stretches, at most twice as many points, for
 * 10 s). No stretch crosses the time
 * from which a page's gain is taken (NCS_REPORT_GAIN_FROM_MS), so the
 * stimulus artefact before it never sets the gain. NCS_OK or NCS_ERR_NOMEM
 * (sr untouched). */
#define NCS_REPORT_GAIN_FROM_MS 0.2
ncs_status ncs_report_keep_trace(ncs_site_result *sr, const double *mv, size_t n, double fs_hz,
                                 double t0_ms);

/* Pages of the report: a summary and one per nerve. */
size_t ncs_report_pages(const ncs_results *r);

/* Writes the whole gnuplot script to o. page_files are the output files'
 * names as gnuplot is to open them (only [A-Za-z0-9._-]; gnuplot runs in
 * their folder): one for PDF, one per page for PNG and SVG. */
ncs_status ncs_report_script(const ncs_results *r, ncs_report_format fmt,
                             const char *const *page_files, FILE *o);

#endif
