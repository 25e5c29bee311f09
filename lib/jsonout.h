/* jsonout.h — jansson's json_dumps(), written byte for byte the same by a
 * faster writer (see jsonout.c). Internal; not installed. */
#ifndef NCS_JSONOUT_H
#define NCS_JSONOUT_H

#include <stddef.h>

#include <jansson.h>

/* What json_dumps(json, flags) returns (free() it), for the flags the
 * library writes with: JSON_INDENT(n), JSON_COMPACT, JSON_PRESERVE_ORDER,
 * JSON_REAL_PRECISION(p) and JSON_ENCODE_ANY; other flags are handed to
 * json_dumps itself. NULL where json_dumps fails. */
char *ncs_json_dumps(const json_t *json, size_t flags);

/* What jansson writes for the real v at precision prec (0: 17) into buf
 * (at least 100 bytes); returns its length, -1 on failure. */
int ncs_json_real(char *buf, size_t size, double v, int prec);

#endif
