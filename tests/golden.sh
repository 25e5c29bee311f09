#!/bin/sh
# Golden outputs: every shipped sample analysed (with the default criteria,
# and with --criteria all into criteria-all/), and its table (stdout),
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
# golden SAMPLE SUBDIR [OPTION...]: the sample analysed with the options,
# compared with tests/expected/SAMPLE/SUBDIR
golden() {
    s=$1 sub=$2
    shift 2
    out="$T/$s/$sub"
    mkdir -p "$out"
    "$NCS" analyse "$@" -o "$out" "samples/$s" >"$out/table.txt" 2>"$out/stderr.txt"
    echo "exit $?" >>"$out/stderr.txt"
    for f in table.txt stderr.txt results.json results.csv; do
        if [ "${GOLDEN_UPDATE:-0}" = 1 ]; then
            mkdir -p "$E/$s/$sub"
            cp "$out/$f" "$E/$s/$sub/$f"
        elif cmp -s "$E/$s/$sub/$f" "$out/$f"; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "FAIL: samples/$s $*: $f differs from $E/$s/$sub/$f:"
            diff -u "$E/$s/$sub/$f" "$out/$f" | head -20
        fi
    done
}

for dir in samples/*/; do
    s=$(basename "$dir")
    golden "$s" . # the default criteria
    golden "$s" criteria-all --criteria all
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
