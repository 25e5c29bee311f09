#!/bin/sh
# The layers of the tree hold (make lint): the command line (cli/) and the
# generator (synth/) stand on the public header alone.
#   1. no file reaches into another folder by a relative include ("../")
#   2. every libncs function an object of cli/ or synth/ calls is declared
#      in include/ncs.h (nm of the built objects), so no internal helper of
#      the library is used behind the header's back
#   scripts/check-layers.sh BUILD_DIR
set -u
B=${1:-build}
bad=0
if grep -n '#include *"\.\./' lib/* cli/* synth/* tests/*.c tests/*.h fuzz/*.c fuzz/*.h; then
    echo "check-layers: a relative include reaches into another folder (above)"
    bad=1
fi
for o in "$B"/cli/*.o "$B"/synth/*.o; do
    [ -f "$o" ] || continue
    for sym in $(nm -u "$o" | awk '$2 ~ /^ncs_/ && $2 !~ /^ncs_(synth|rng)_/ {print $2}'); do
        if ! grep -Eq "[ *]$sym\(" include/ncs.h; then
            echo "check-layers: $o uses $sym, which include/ncs.h does not declare"
            bad=1
        fi
    done
done
[ "$bad" -eq 0 ] && echo "layers: cli/ and synth/ use include/ncs.h only"
exit "$bad"
