#!/bin/sh
# make install into a scratch DESTDIR: the command, the man page, the
# library, its header, the pkg-config file and the docs land where they
# should, and a program of one's own builds against the installed library
# through pkg-config alone and runs.
#
#   tests/install.sh
set -u
# a make of its own: not one inheriting the calling make's flags (-n, -j...)
MAKE="env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make"
CC=${CC:-cc}
T=$(mktemp -d "${TMPDIR:-/tmp}/ncs-install-XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
fail=0
pass=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

$MAKE -s --no-print-directory install DESTDIR="$T" PREFIX=/opt/ncs >"$T/log" 2>&1 \
    && ok || { bad "make install"; cat "$T/log"; }
for f in bin/ncs share/man/man1/ncs.1 lib/libncs.a include/ncs.h lib/pkgconfig/ncs.pc \
    share/doc/ncs/study-folder.md share/doc/ncs/measurements.md share/doc/ncs/criteria.md \
    share/doc/ncs/outputs.md; do
    [ -f "$T/opt/ncs/$f" ] && ok || bad "make install: $f missing"
done
cat >"$T/use.c" <<'C'
#include <ncs.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    ncs_error err;
    ncs_analyser *a = ncs_analyser_create(&err);
    int good = a && strcmp(ncs_block_name(NCS_BLOCK_DEFINITE), "definite") == 0;
    ncs_analyser_destroy(a);
    puts(ncs_version());
    return good ? 0 : 1;
}
C
export PKG_CONFIG_SYSROOT_DIR="$T" PKG_CONFIG_PATH="$T/opt/ncs/lib/pkgconfig"
if flags=$(pkg-config --cflags --libs ncs) && $CC "$T/use.c" $flags -o "$T/use" 2>"$T/cc.log"; then
    ok
    [ "$("$T/use")" = "$(sed -n 's/^Version: //p' "$T/opt/ncs/lib/pkgconfig/ncs.pc")" ] \
        && ok || bad "a program built against the installed libncs does not run right"
else
    bad "a program does not build against the installed libncs through pkg-config"
    cat "$T/cc.log"
fi
$MAKE -s --no-print-directory uninstall DESTDIR="$T" PREFIX=/opt/ncs >/dev/null 2>&1
[ -z "$(find "$T/opt/ncs" -type f)" ] && ok || bad "make uninstall leaves files behind"
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
