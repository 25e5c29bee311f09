/* jsonout.h — jansson's json_dumps(), written byte for byte the same by a
 * faster writer (see jsonout.c). Internal; not installed. */
#ifndef NCS_JSONOUT_H
#define NCS_JSONOUT_H

#include <stddef.h>

#include <jansson.h>

/* A growing text: ncs_json_dumps's buffer, and the streaming writer's. */
typedef struct ncs_jw {
    char *p;
    size_t n, cap;
    int bad;
    int depth;    /* containers open (the writer) */
    int first;    /* nothing written yet in the innermost one */
    size_t flags; /* json_dumps's flags the text follows */
} ncs_jw;

/* What json_dumps(json, flags) returns (free() it), for the flags the
 * library writes with: JSON_INDENT(n), JSON_COMPACT, JSON_PRESERVE_ORDER,
 * JSON_REAL_PRECISION(p) and JSON_ENCODE_ANY; other flags are handed to
 * json_dumps itself. NULL where json_dumps fails. */
char *ncs_json_dumps(const json_t *json, size_t flags);

/* What jansson writes for the real v at precision prec (0: 17) into buf
 * (at least 100 bytes); returns its length, -1 on failure. */
int ncs_json_real(char *buf, size_t size, double v, int prec);

/* The streaming writer: writes, call by call, the text json_dumps(root,
 * flags) gives for the tree the same calls on jansson would build, without
 * building it (flags as ncs_json_dumps's, without those it hands on). Each
 * call adds a member to the innermost open object (key) or array (key
 * NULL), or is the root (key NULL). As jansson, a member whose value
 * jansson refuses is left out: ncs_jw_str of NULL or of text that is not
 * UTF-8, ncs_jw_real of a value not finite; so is a NULL tree. Keys are
 * UTF-8 and not repeated within an object. */
void ncs_jw_init(ncs_jw *w, size_t flags);
void ncs_jw_open(ncs_jw *w, const char *key, char bracket);  /* '{' or '[' */
void ncs_jw_close(ncs_jw *w, char bracket);                  /* '}' or ']' */
void ncs_jw_null(ncs_jw *w, const char *key);
void ncs_jw_bool(ncs_jw *w, const char *key, int v);
void ncs_jw_int(ncs_jw *w, const char *key, json_int_t v);   /* json_integer */
void ncs_jw_real(ncs_jw *w, const char *key, double v);      /* json_real */
void ncs_jw_str(ncs_jw *w, const char *key, const char *s);  /* json_string */
void ncs_jw_tree(ncs_jw *w, const char *key, const json_t *j);
/* The text (free() it), or NULL on no memory or a container left open. */
char *ncs_jw_finish(ncs_jw *w);

#endif
