#!/bin/sh
# make bench: the speed and memory figures (README, Batches at scale), printed.
#
#   decode floor   `ncs check` over a generated set (parse study.ini, decode
#                  every waveform), traces per second
#   analysis       `ncs batch -j 1` (one core, no report) over the same set
#   ratio          analysis / decode (target >= 0.5)
#   report         seconds per `ncs report` of a 12-trace study
#   memory         peak RSS of the batch (parent and largest worker) for 100
#                  and 1,000 studies (target: the same)
#
# The set: 50 studies made by ncs-synth (the recording conditions of the accuracy targets, every file
# format), copied under new ids up to 100 and 1,000; kept in .bench/ (or
# $NCS_BENCH_DIR), which make clean leaves alone.
set -eu
NCS=${NCS:-./ncs}
SYNTH=${SYNTH:-./ncs-synth}
B=${NCS_BENCH_DIR:-.bench}
mkdir -p "$B"

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

if [ ! -f "$B/base/.done" ]; then
    echo "bench: generating 50 studies (once) ..." >&2
    rm -rf "$B/base"
    "$SYNTH" set "$B/base" 50 2026 1 >/dev/null
    touch "$B/base/.done"
fi

make_set() {
    n=$1 d="$B/set$1"
    [ -f "$d/.done" ] && return 0
    rm -rf "$d"
    mkdir -p "$d"
    i=0
    while [ "$i" -lt "$n" ]; do
        for s in "$B"/base/*/; do
            [ "$i" -ge "$n" ] && break
            name=$(printf 'b%05d' "$i")
            cp -r "$s" "$d/$name"
            sed -i "s/^id = .*/id = $name/" "$d/$name/study.ini"
            i=$((i + 1))
        done
    done
    touch "$d/.done"
}
make_set 100
make_set 1000

traces() { cat "$1"/*/study.ini | grep -c '^\[[a-z]*\.[a-z]*\.[a-z0-9-]*\]'; }

# Outputs go to a RAM folder when there is one (/dev/shm), so the figures
# are the analysis's, not the disk's (creating files just after deleting
# thousands costs ext4 more than the analysis itself); NCS_BENCH_OUT chooses.
OUTBASE=${NCS_BENCH_OUT:-}
if [ -z "$OUTBASE" ]; then
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then OUTBASE=/dev/shm; else OUTBASE=$B; fi
fi
O=$(mktemp -d "$OUTBASE/ncs-bench-XXXXXX")
trap 'rm -rf "$O"' EXIT INT TERM

echo "ncs bench: $(uname -m), $(nproc) CPUs online; figures on one core; outputs in $OUTBASE"
printf '%-28s %8s %8s %9s %10s\n' "" studies traces seconds traces/s

# the decode floor (warm the page cache first)
"$NCS" check "$B"/set1000/*/ >/dev/null
t0=$(now)
"$NCS" check "$B"/set1000/*/ >/dev/null
t1=$(now)
nt=$(traces "$B/set1000")
tc=$(secs "$t0" "$t1")
printf '%-28s %8d %8d %9s %10s\n' "check (decode floor)" 1000 "$nt" "$tc" "$(rate "$nt" "$tc")"

# the analysis, one core, no report
t0=$(now)
"$NCS" batch -q -j 1 --no-progress "$B/set1000" -o "$O/out1000"
t1=$(now)
ta=$(secs "$t0" "$t1")
printf '%-28s %8d %8d %9s %10s\n' "batch -j 1 (no report)" 1000 "$nt" "$ta" "$(rate "$nt" "$ta")"
ratio=$(awk -v c="$tc" -v a="$ta" 'BEGIN { printf "%.2f", c / a }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 0.5 ? "met" : "NOT met") }')
echo "analysis speed / decode speed: $ratio (target >= 0.5: $verdict)"

# all cores
t0=$(now)
"$NCS" batch -q --no-progress "$B/set1000" -o "$O/outj"
t1=$(now)
tj=$(secs "$t0" "$t1")
printf '%-28s %8d %8d %9s %10s\n' "batch -j $(nproc) (no report)" 1000 "$nt" "$tj" "$(rate "$nt" "$tj")"

# a report of a 12-trace study
rs=""
for s in "$B"/base/*/; do
    if [ "$(cat "$s/study.ini" | grep -c '^\[[a-z]*\.[a-z]*\.[a-z0-9-]*\]')" -eq 12 ]; then
        rs=$s
        break
    fi
done
if [ -n "$rs" ] && command -v gnuplot >/dev/null 2>&1; then
    t0=$(now)
    for k in 1 2 3 4 5 6 7 8 9 10; do "$NCS" report -q "$rs" -o "$O/report.pdf"; done
    t1=$(now)
    echo "report of a 12-trace study ($(basename "$rs")): $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 10 }') s each (target: well under 1 s)"
else
    echo "report: no 12-trace study or no gnuplot; not measured"
fi

# peak memory for 100 and 1,000 studies
rss() { sed -n 's/.*"peak_rss_kb": {"batch":\([0-9]*\),"largest_worker":\([0-9]*\)}.*/\1 \2/p' "$1/batch.json"; }
"$NCS" batch -q -j 1 --no-progress "$B/set100" -o "$O/out100"
set -- $(rss "$O/out100")
p100=$1 w100=$2
set -- $(rss "$O/out1000")
p1000=$1 w1000=$2
echo "peak RSS, batch -j 1:   100 studies: parent $p100 KB, largest worker $w100 KB"
echo "                      1,000 studies: parent $p1000 KB, largest worker $w1000 KB"
