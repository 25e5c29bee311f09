/* report.h — between the report's script (report.c) and the gnuplot runner
 * (gnuplot.c). Internal to the library. */
#ifndef NCS_REPORT_H
#define NCS_REPORT_H

#include <stdio.h>
#include "ncs.h"

/* Pages of the report: a summary and one per nerve. */
size_t ncs_report_pages(const ncs_results *r);

/* Writes the whole gnuplot script to o. page_files are the output files'
 * names as gnuplot is to open them (only [A-Za-z0-9._-]; gnuplot runs in
 * their folder): one for PDF, one per page for PNG and SVG. */
ncs_status ncs_report_script(const ncs_results *r, ncs_report_format fmt,
                             const char *const *page_files, FILE *o);

#endif
