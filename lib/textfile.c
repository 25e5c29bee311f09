/* textfile.c — what study.ini and a lab's normative table share: libinih
 * configured once for the syntax of docs/study-folder.md, a size-limited read, and a line
 * reader for ini_parse_stream() that counts lines (Debian's libinih passes
 * none to the handler) and refuses what is not text. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "internal.h"

static pthread_once_t ini_once = PTHREAD_ONCE_INIT;

static void ini_configure(void)
{
    /* docs/study-folder.md: ';' and '#' start comments, also at the end of a line.
     * No multi-line values: a continuation line would hide a typo. */
    static char inline_prefixes[] = ";#";
    ini_inline_comment_prefixes = inline_prefixes;
    ini_allow_multiline = 0;
    ini_stop_on_first_error = 1;
    ini_use_stack = 0;
    ini_max_line = NCS_MAX_INI_LINE + 8;
    /* Debian's libinih allocates its heap line buffer at ini_initial_alloc
     * (200 bytes) and grows it only with ini_allow_realloc: without this, a
     * clinical note of 199 characters was refused as over the 1024 limit */
    ini_initial_alloc = NCS_MAX_INI_LINE + 8;
    ini_allow_realloc = 1;
}

void ncs_ini_setup(void)
{
    pthread_once(&ini_once, ini_configure);
}

int ncs_text_next_line(ncs_text *t, char *str, int num)
{
    if (t->pos >= t->len)
        return 0;
    const char *start = t->buf + t->pos;
    const char *nl = memchr(start, '\n', t->len - t->pos);
    size_t linelen = nl ? (size_t)(nl - start) + 1 : t->len - t->pos;
    t->lineno++;
    if (memchr(start, '\0', linelen)) {
        t->code = NCS_ERR_INI_SYNTAX;
        snprintf(t->msg, sizeof t->msg, "binary data (NUL byte): %s must be a text file",
                 t->what);
        return -1;
    }
    size_t content = linelen;
    while (content && (start[content - 1] == '\n' || start[content - 1] == '\r'))
        content--;
    if (content > NCS_MAX_INI_LINE || linelen + 1 > (size_t)num) {
        t->code = NCS_ERR_LIMIT;
        snprintf(t->msg, sizeof t->msg, "line is %zu characters long; the limit is %d",
                 content, NCS_MAX_INI_LINE);
        return -1;
    }
    for (size_t i = 0; i < content; i++) {
        unsigned char c = (unsigned char)start[i];
        if (c < 0x20 && c != '\t') {
            t->code = NCS_ERR_INI_SYNTAX;
            snprintf(t->msg, sizeof t->msg,
                     "control character 0x%02x: %s must be a text file", c, t->what);
            return -1;
        }
    }
    memcpy(str, start, linelen);
    str[linelen] = '\0';
    t->pos += linelen;
    /* a UTF-8 byte-order mark on the first line is not part of it */
    if (t->lineno == 1 && (unsigned char)str[0] == 0xEF && (unsigned char)str[1] == 0xBB
        && (unsigned char)str[2] == 0xBF)
        memmove(str, str + 3, strlen(str + 3) + 1);
    return 1;
}
