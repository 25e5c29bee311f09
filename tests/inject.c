/* inject.c — fault injection for the tests, kept out of the product (the
 * approach of jq's inject_errors.c): a shared object that LD_PRELOAD puts in
 * front of libc. In the environment:
 *
 *   NCS_INJECT_CRASH=TEXT   a process that opens a file whose path contains
 *                           TEXT dies there with SIGABRT, as a crash in the
 *                           analysis of that study would (tests/e2e.sh
 *                           crashes one batch worker: the parent never opens
 *                           a waveform)
 *   NCS_INJECT_SWAP=TEXT=TARGET  the first open of a path containing TEXT
 *                           finds it replaced by a symbolic link to TARGET
 *                           just before (a link swapped between a check and
 *                           the open, tests/faults.sh)
 *   NCS_INJECT_EACCES=TEXT  opendir() of a path containing TEXT fails with
 *                           EACCES (an unreadable folder, also for root)
 *   NCS_INJECT_ENOSPC=TEXT  a file created (O_CREAT) under a name containing
 *                           TEXT is /dev/full instead: every write to it
 *                           fails with ENOSPC (a full disk)
 *
 *   LD_PRELOAD=build/inject.so NCS_INJECT_CRASH=/mnd/median_r_wrist ncs batch ...
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

static void maybe_swap(const char *path)
{
    static int done;
    const char *spec = getenv("NCS_INJECT_SWAP");
    const char *eq = spec ? strchr(spec, '=') : NULL;
    if (done || !eq || !path || eq == spec)
        return;
    char what[512];
    size_t n = (size_t)(eq - spec) < sizeof what - 1 ? (size_t)(eq - spec) : sizeof what - 1;
    memcpy(what, spec, n);
    what[n] = '\0';
    if (!strstr(path, what))
        return;
    done = 1;
    unlink(path);
    if (symlink(eq + 1, path) != 0)
        abort();
}

static void maybe_crash(const char *path)
{
    const char *what = getenv("NCS_INJECT_CRASH");
    if (what && *what && path && strstr(path, what))
        abort();
    maybe_swap(path);
}

/* the real function of that name, found past this object */
static void *next(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f)
        abort();
    return f;
}

int open(const char *path, int flags, ...);
int open64(const char *path, int flags, ...);
int openat(int dirfd, const char *path, int flags, ...);
FILE *fopen(const char *path, const char *mode);
FILE *fopen64(const char *path, const char *mode);

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    maybe_crash(path);
    int (*f)(const char *, int, ...) = (int (*)(const char *, int, ...))next("open");
    return f(path, flags, m);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    maybe_crash(path);
    int (*f)(const char *, int, ...) = (int (*)(const char *, int, ...))next("open64");
    return f(path, flags, m);
}

/* a created file that is to find the disk full: /dev/full's descriptor */
static int full_disk(const char *path, int flags)
{
    const char *what = getenv("NCS_INJECT_ENOSPC");
    if (!what || !*what || !(flags & O_CREAT) || !strstr(path, what))
        return -1;
    int (*f)(const char *, int, ...) = (int (*)(const char *, int, ...))next("open");
    return f("/dev/full", O_WRONLY | O_CLOEXEC);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    maybe_crash(path);
    int full = full_disk(path, flags);
    if (full >= 0)
        return full;
    int (*f)(int, const char *, int, ...) = (int (*)(int, const char *, int, ...))next("openat");
    return f(dirfd, path, flags, m);
}

DIR *opendir(const char *path);
DIR *opendir(const char *path)
{
    const char *what = getenv("NCS_INJECT_EACCES");
    if (what && *what && strstr(path, what)) {
        errno = EACCES;
        return NULL;
    }
    maybe_crash(path);
    DIR *(*f)(const char *) = (DIR * (*)(const char *)) next("opendir");
    return f(path);
}

FILE *fopen(const char *path, const char *mode)
{
    maybe_crash(path);
    FILE *(*f)(const char *, const char *) = (FILE * (*)(const char *, const char *)) next("fopen");
    return f(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
    maybe_crash(path);
    FILE *(*f)(const char *, const char *) =
        (FILE * (*)(const char *, const char *)) next("fopen64");
    return f(path, mode);
}
