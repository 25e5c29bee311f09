#!/bin/sh
# Golden outputs: every shipped sample analysed, and its table (stdout),
# warnings (stderr), results.json and results.csv compared byte for byte with
# tests/expected/<sample>/. A change in any number is then a visible diff in
# review. After a change meant to move numbers: `make golden` rewrites the
# expected files (GOLDEN_UPDATE=1); read the diff before committing it.
#
# It also checks that samples/ is exactly what the generator makes (make
# samples), so a change to the generator shows in the samples too.
#
#   NCS=./ncs SYNTH=./ncs-synth tests/golden.sh
set -u
NCS=${NCS:-./ncs}
SYNTH=${SYNTH:-./ncs-synth}
export LC_ALL=C
E=tests/expected
T=$(mktemp -d "${TMPDIR:-/tmp}/ncs-golden-XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
pass=0
fail=0
for dir in samples/*/; do
    s=$(basename "$dir")
    mkdir -p "$T/$s"
    "$NCS" analyse -o "$T/$s" "samples/$s" >"$T/$s/table.txt" 2>"$T/$s/stderr.txt"
    echo "exit $?" >>"$T/$s/stderr.txt"
    for f in table.txt stderr.txt results.json results.csv; do
        if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
            mkdir -p "$E/$s"
            cp "$T/$s/$f" "$E/$s/$f"
        elif cmp -s "$E/$s/$f" "$T/$s/$f"; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "FAIL: samples/$s: $f differs from $E/$s/$f:"
            diff -u "$E/$s/$f" "$T/$s/$f" | head -20
        fi
    done
done
if [ "${GOLDEN_UPDATE:-0}" != 1 ]; then
    mkdir -p "$T/regen"
    if "$SYNTH" samples "$T/regen" >/dev/null 2>&1 && diff -r samples "$T/regen" >"$T/regen.diff"; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL: samples/ is not what the generator makes now (make samples):"
        head -10 "$T/regen.diff"
    fi
fi
if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
    echo "golden: $E rewritten; review with git diff $E"
    exit 0
fi
echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
