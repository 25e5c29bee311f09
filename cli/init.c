/* init.c — `ncs init FOLDER`: a study.ini proposed from the folder's
 * waveform files (the library's ncs_init_study()), written next to them
 * without ever replacing a study.ini, or printed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char exists_msg[] =
    "already exists: ncs init never replaces a study.ini (rename or remove it first, or "
    "see the proposal with --stdout)";

/* The folder of path, opened (never through a link at its last
 * component: the file itself is created O_NOFOLLOW), and path's last
 * component in *base. -1 (printed) when it cannot be opened. */
static int open_parent(const char *path, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    char dir[4096];
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else
        fmt(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        char msg[300];
        snprintf(msg, sizeof msg, "cannot open the folder to write in: %s", strerror(errno));
        diag(dir, "error", msg);
    }
    return fd;
}

/* text written whole to a temporary name in the folder, made durable, then
 * linked to its name — link(2) never replaces, so a study.ini that appeared
 * meanwhile is kept — and the temporary removed. */
static int write_new(int dfd, const char *path, const char *base, const char *text)
{
    char tmp[300];
    int fd = -1;
    for (unsigned k = 0; k < 100 && fd < 0; k++) {
        snprintf(tmp, sizeof tmp, ".%.200s.tmp.%ld%.0u", base, (long)getpid(), k);
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    char msg[400];
    if (fd < 0) {
        snprintf(msg, sizeof msg, "cannot write: %s", strerror(errno));
        diag(path, "error", msg);
        return EXIT_OUTPUT;
    }
    size_t n = strlen(text), done = 0;
    int e = 0;
    while (done < n && !e) {
        ssize_t w = write(fd, text + done, n - done);
        if (w < 0 && errno != EINTR)
            e = errno;
        else if (w > 0)
            done += (size_t)w;
    }
    if (!e && fsync(fd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    if (!e && linkat(dfd, tmp, dfd, base, 0) != 0)
        e = errno;
    unlinkat(dfd, tmp, 0);
    if (e == EEXIST) {
        diag(path, "error", exists_msg);
        return EXIT_OUTPUT;
    }
    if (e) {
        snprintf(msg, sizeof msg, "cannot write: %s", strerror(e));
        diag(path, "error", msg);
        return EXIT_OUTPUT;
    }
    return EXIT_OK;
}

/* Whether name already exists in the folder (a link, even a dangling one,
 * counts: it is never written through). */
static int exists_at(int dfd, const char *name)
{
    struct stat sb;
    return fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

static void summary(const char *target, const ncs_init_counts *n)
{
    printf("%s: %zu nerve%s, %zu site%s, %zu value%s marked GUESS to confirm", target,
           n->nerves, n->nerves == 1 ? "" : "s", n->sites, n->sites == 1 ? "" : "s",
           n->guesses, n->guesses == 1 ? "" : "s");
    if (n->not_read)
        printf("; %zu file%s not read (listed at its end)", n->not_read,
               n->not_read == 1 ? "" : "s");
    printf("\n");
}

int cmd_init(const command *cmd, int argc, char **argv, options *o)
{
    int first = parse_options(cmd, argc, argv, o);
    if (first < 0)
        return EXIT_USAGE;
    if (o->help)
        return print_command_help(cmd);
    if (first >= argc)
        return usage_error(cmd->name, "init: no folder given%s", "");
    if (argc - first > 1)
        return usage_error(cmd->name, "init: one folder at a time ('%s' is extra)",
                           argv[first + 1]);
    if (o->to_stdout && o->out)
        return usage_error(cmd->name, "init: -o and --stdout: choose one%s", "");
    if (o->out && !*o->out)
        return usage_error(cmd->name, "%sinit: -o: the output file is an empty name", "");
    const char *dir = argv[first];
    char target[4200];
    if (o->out)
        fmt(target, sizeof target, "%s", o->out);
    else
        fmt(target, sizeof target, "%s%sstudy.ini", dir,
            dir[strlen(dir) - 1] == '/' ? "" : "/");
    const char *base = NULL;
    int dfd = -1;
    struct stat sb; /* a FOLDER that is none is the library's error to say (exit 3) */
    int folder = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
    if (!o->to_stdout && folder) { /* refused before any work */
        if ((dfd = open_parent(target, &base)) < 0)
            return EXIT_OUTPUT;
        if (exists_at(dfd, base)) {
            diag(target, "error", exists_msg);
            close(dfd);
            return EXIT_OUTPUT;
        }
    }
    ncs_error err;
    ncs_warnings warn = {0};
    ncs_init_counts counts;
    char *text = NULL;
    ncs_status st = ncs_init_study(dir, &text, &counts, &warn, &err);
    print_warnings(&warn, o);
    ncs_warnings_free(&warn);
    int rc = EXIT_OK;
    if (st != NCS_OK) {
        print_error(&err);
        rc = exit_for(st);
    } else if (o->to_stdout) {
        fputs(text, stdout);
    } else if (dfd < 0) { /* the folder went away meanwhile */
        diag(dir, "error", "not a folder");
        rc = EXIT_INPUT;
    } else if ((rc = write_new(dfd, target, base, text)) == EXIT_OK) {
        summary(target, &counts);
    }
    free(text);
    if (dfd >= 0)
        close(dfd);
    return rc;
}
