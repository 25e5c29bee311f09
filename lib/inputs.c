/* inputs.c — every file ncs reads (study.ini, waveforms, normative tables)
 * is opened here, once: the open never blocks on a FIFO or a device, what is
 * not a regular file is refused on the open descriptor, and a file that must
 * lie inside the study folder is checked on that same descriptor (a link
 * swapped between a check and the open cannot lead elsewhere). The bytes are
 * read whole and hashed as they are read: the hash of a study's inputs is
 * what `ncs batch --resume` compares (libxxhash's XXH3, 128 bits: a content
 * fingerprint, not a defence against forgery). */
#define _GNU_SOURCE /* O_CLOEXEC, O_NOCTTY */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xxhash.h>

#include "internal.h"

static const char *kind_of(mode_t m)
{
    return S_ISDIR(m) ? "a folder" : S_ISFIFO(m) ? "a FIFO (named pipe)"
         : S_ISCHR(m) || S_ISBLK(m) ? "a device" : S_ISSOCK(m) ? "a socket"
         : "not a regular file";
}

/* Whether the file open on fd is the file path resolves to now, and that
 * lies inside the resolved folder `inside`. */
static int fd_inside(int fd, const char *path, const char *inside)
{
    struct stat a, b;
    char *real = realpath(path, NULL);
    if (!real)
        return 0;
    size_t dl = strlen(inside);
    int in = strncmp(real, inside, dl) == 0
             && (real[dl] == '/' || (dl == 1 && inside[0] == '/'));
    int same = in && fstat(fd, &a) == 0 && stat(real, &b) == 0 && a.st_dev == b.st_dev
               && a.st_ino == b.st_ino;
    free(real);
    return same;
}

int ncs_open_input(const char *path, const char *inside, ncs_error *err)
{
    if (!path || !*path) {
        ncs_fail(err, NCS_ERR_USAGE, "", "no file name");
        return -1;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        ncs_fail(err, NCS_ERR_IO, path, "cannot open: %s", strerror(e));
        errno = e;
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        ncs_fail(err, NCS_ERR_IO, path, "cannot read: %s", strerror(e));
        close(fd);
        errno = e;
        return -1;
    }
    if (!S_ISREG(sb.st_mode)) {
        ncs_fail(err, NCS_ERR_IO, path, "is %s, not a file ncs can read", kind_of(sb.st_mode));
        close(fd);
        errno = EINVAL;
        return -1;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    if (inside && !fd_inside(fd, path, inside)) {
        ncs_fail(err, NCS_ERR_PATH, path, "leads outside the study folder %s", inside);
        close(fd);
        errno = EXDEV;
        return -1;
    }
    return fd;
}

char *ncs_read_input(const char *path, const char *inside, size_t limit, size_t *len,
                     ncs_hash *hash, ncs_error *err)
{
    ncs_error_clear(err);
    int fd = ncs_open_input(path, inside, err);
    if (fd < 0)
        return NULL;
    struct stat sb;
    size_t cap = fstat(fd, &sb) == 0 && sb.st_size > 0 && (unsigned long long)sb.st_size <= limit
                     ? (size_t)sb.st_size + 1 : 4096;
    char *buf = malloc(cap + 1);
    size_t n = 0;
    for (;;) {
        if (!buf) {
            ncs_fail(err, NCS_ERR_NOMEM, path, "out of memory");
            break;
        }
        if (n == cap) { /* the file grew while it was read, or had no size */
            if (cap > limit)
                break;
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            ncs_fail(err, NCS_ERR_IO, path, "cannot read: %s", strerror(errno));
            break;
        }
        if (r == 0) {
            close(fd);
            if (n > limit)
                break;
            buf[n] = '\0';
            *len = n;
            if (hash) {
                XXH128_canonical_t c;
                XXH128_canonicalFromHash(&c, XXH3_128bits(buf, n));
                memcpy(hash->b, c.digest, sizeof hash->b);
            }
            return buf;
        }
        n += (size_t)r;
    }
    if (buf && n > limit)
        ncs_fail(err, NCS_ERR_LIMIT, path, "larger than %zu bytes", limit);
    close(fd);
    free(buf);
    return NULL;
}

/* ---- the fingerprint of a study's inputs --------------------------------- */

void ncs_hash_start(ncs_hash_state *s)
{
    s->st = XXH3_createState();
    if (s->st)
        XXH3_128bits_reset((XXH3_state_t *)s->st);
}

void ncs_hash_add(ncs_hash_state *s, const ncs_hash *h)
{
    if (s->st)
        XXH3_128bits_update((XXH3_state_t *)s->st, h->b, sizeof h->b);
}

int ncs_hash_end(ncs_hash_state *s, char hex[NCS_HASH_HEX])
{
    if (!s->st) {
        hex[0] = '\0';
        return -1;
    }
    XXH128_canonical_t c;
    XXH128_canonicalFromHash(&c, XXH3_128bits_digest((XXH3_state_t *)s->st));
    XXH3_freeState((XXH3_state_t *)s->st);
    s->st = NULL;
    for (size_t i = 0; i < sizeof c.digest; i++)
        snprintf(hex + 2 * i, 3, "%02x", c.digest[i]);
    return 0;
}

/* study.ini, every site's file in order, then the normative tables: the
 * order ncs_analyse_study() reads them in (analyse.c adds them the same way). */
ncs_status ncs_study_inputs_hash(const ncs_study *st, const char *norms_path,
                                 char hex[NCS_HASH_HEX], ncs_error *err)
{
    ncs_error_clear(err);
    hex[0] = '\0';
    ncs_hash_state s;
    ncs_hash_start(&s);
    if (!s.st)
        return ncs_fail(err, NCS_ERR_NOMEM, st->dir, "out of memory");
    ncs_hash_add(&s, &st->ini_hash);
    ncs_status rc = NCS_OK;
    for (size_t i = 0; i < st->n_nerves && rc == NCS_OK; i++)
        for (size_t j = 0; j < st->nerves[i].n_sites && rc == NCS_OK; j++) {
            const ncs_site *site = &st->nerves[i].sites[j];
            size_t len;
            ncs_hash h;
            char *b = ncs_read_input(site->path, site->inside, NCS_MAX_WAVE_BYTES, &len, &h, err);
            if (!b)
                rc = err ? err->code : NCS_ERR_IO;
            else
                ncs_hash_add(&s, &h);
            free(b);
        }
    const char *norms[2] = {st->norms, norms_path};
    for (int k = 0; k < 2 && rc == NCS_OK; k++) {
        if (!norms[k])
            continue;
        size_t len;
        ncs_hash h;
        char *b = ncs_read_input(norms[k], k == 0 ? st->dir_real : NULL, NCS_MAX_INI_BYTES,
                                 &len, &h, err);
        if (!b)
            rc = err ? err->code : NCS_ERR_IO;
        else
            ncs_hash_add(&s, &h);
        free(b);
    }
    if (ncs_hash_end(&s, hex) != 0 && rc == NCS_OK)
        rc = ncs_fail(err, NCS_ERR_NOMEM, st->dir, "out of memory");
    return rc;
}
