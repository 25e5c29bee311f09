/* inject.c — fault injection for the tests, kept out of the product (the
 * approach of jq's inject_errors.c): a shared object that LD_PRELOAD puts in
 * front of libc. With NCS_INJECT_CRASH=TEXT in the environment, a process
 * that opens a file whose path contains TEXT dies there with SIGABRT, as a
 * crash in the analysis of that study would. tests/e2e.sh uses it to crash
 * one batch worker (the parent never opens a waveform).
 *
 *   LD_PRELOAD=build/inject.so NCS_INJECT_CRASH=/mnd/median_r_wrist ncs batch ...
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

static void maybe_crash(const char *path)
{
    const char *what = getenv("NCS_INJECT_CRASH");
    if (what && *what && path && strstr(path, what))
        abort();
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

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    maybe_crash(path);
    int (*f)(int, const char *, int, ...) = (int (*)(int, const char *, int, ...))next("openat");
    return f(dirfd, path, flags, m);
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
