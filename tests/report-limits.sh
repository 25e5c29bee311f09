#!/bin/sh
# Reports under a gnuplot that hangs, floods or lies, and with long, fast
# traces (issue 17): gnuplot is stopped at its time limit with nothing left
# behind, its messages reach the terminal only escaped, a relative gnuplot
# path is taken from the current folder, no link in the output folder is
# written through, and what a report keeps of its traces follows the page,
# not the sampling rate. Each case can fail; a hang is a failure (timeout).
#
#   NCS=./ncs MKWAVE=build/mkwave tests/report-limits.sh
set -u
NCS=${NCS:-./ncs}
case $NCS in /*) ;; *) NCS=$(pwd)/$NCS ;; esac
NCS_WRAP=${NCS_WRAP:-}
MKWAVE=${MKWAVE:-build/mkwave}
case $MKWAVE in /*) ;; *) MKWAVE=$(pwd)/$MKWAVE ;; esac
SAMPLES=$(pwd)/samples
export LC_ALL=C
unset NCS_GNUPLOT NCS_GNUPLOT_TIMEOUT
pass=0
fail=0
T=$(mktemp -d "${TMPDIR:-/tmp}/ncs-report-limits-XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM
# gnuplot's log goes to TMPDIR: it must leave nothing there either
mkdir -p "$T/tmp"
export TMPDIR="$T/tmp"

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# ncs ARGS with a time limit of its own: a hang is a failure, not a stuck suite
ncs() { timeout 30 $NCS_WRAP "$NCS" "$@"; }
# expect NAME WANT_EXIT PATTERN: the last command's exit ($rc) and stderr ($T/err)
expect() {
    if [ "$rc" -ne "$2" ]; then
        bad "$1: exit $rc, want $2"; sed 's/^/    /' "$T/err" | head -5; return 1
    fi
    if [ -n "$3" ] && ! grep -qF -- "$3" "$T/err"; then
        bad "$1: stderr lacks [$3]"; sed 's/^/    /' "$T/err" | head -5; return 1
    fi
    ok
}
# whether process PID still runs (a zombie no longer does: in a container
# nobody may reap an orphan)
alive() {
    [ -r "/proc/$1/stat" ] || return 1
    [ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]
}
# nothing left in folder DIR (no report, no temporary)
empty() { [ -z "$(ls -A "$1")" ]; }
gp() { # NAME BODY: a fake gnuplot, a shell script
    printf '#!/bin/sh\n%s\n' "$2" >"$T/$1"
    chmod +x "$T/$1"
}

# ---------------------------------------------------------------- the time limit
# a gnuplot that reads the script, then sleeps forever and shrugs off
# SIGTERM (so SIGKILL is needed), with a child of its own asleep too
gp hang "trap '' TERM; cat >/dev/null; sleep 1000 & echo \$! >'$T/hang.pid'; wait"
mkdir -p "$T/o1"
start=$(date +%s)
ncs report -q --gnuplot-timeout 1 --gnuplot "$T/hang" "$SAMPLES/mmn" -o "$T/o1/r.pdf" 2>"$T/err"
rc=$?
took=$(($(date +%s) - start))
expect "hanging gnuplot" 4 "gnuplot did not finish within 1 s; stopped"
[ "$took" -le 10 ] && ok || bad "hanging gnuplot: stopped after $took s (limit 1 s)"
empty "$T/o1" && empty "$T/tmp" && ok || bad "hanging gnuplot left files: $(ls -A "$T/o1" "$T/tmp")"
sleep 0.2
if [ -s "$T/hang.pid" ]; then
    ! alive "$(cat "$T/hang.pid")" && ok || bad "hanging gnuplot's child still runs"
else
    bad "the hanging gnuplot did not start"
fi

# a gnuplot that never reads its standard input: the script fills the pipe
gp deaf "echo \$\$ >'$T/deaf.pid'; exec sleep 1000"
mkdir -p "$T/o2"
start=$(date +%s)
NCS_GNUPLOT_TIMEOUT=1 ncs report -q --gnuplot "$T/deaf" "$SAMPLES/mmn" -o "$T/o2/r.pdf" 2>"$T/err"
rc=$?
took=$(($(date +%s) - start))
expect "gnuplot not reading (NCS_GNUPLOT_TIMEOUT=1)" 4 "gnuplot did not finish within 1 s; stopped"
[ "$took" -le 10 ] && ok || bad "gnuplot not reading: stopped after $took s (limit 1 s)"
empty "$T/o2" && empty "$T/tmp" && ok || bad "gnuplot not reading left files: $(ls -A "$T/o2" "$T/tmp")"
sleep 0.2
[ -s "$T/deaf.pid" ] && ! alive "$(cat "$T/deaf.pid")" && ok || bad "the deaf gnuplot still runs"

# a gnuplot that ends at once but leaves a child of its own asleep: nothing
# of its process group outlives the report
gp leaver "cat >/dev/null; sleep 1000 & echo \$! >'$T/leaver.pid'; exit 0"
mkdir -p "$T/o2b"
ncs report -q --gnuplot "$T/leaver" "$SAMPLES/mmn" -o "$T/o2b/r.pdf" 2>"$T/err"
rc=$?
expect "gnuplot leaving a child" 4 "gnuplot wrote no page 1"
empty "$T/o2b" && ok || bad "gnuplot leaving a child: files left: $(ls -A "$T/o2b")"
sleep 0.2
[ -s "$T/leaver.pid" ] && ! alive "$(cat "$T/leaver.pid")" && ok || bad "gnuplot's leftover child still runs"

# analyse --report: the analysis is written, the report fails at the limit
ncs analyse -q --report --gnuplot-timeout 0.5 --gnuplot "$T/deaf" "$SAMPLES/normal" \
    -o "$T/o3" >/dev/null 2>"$T/err"
rc=$?
expect "analyse --report, hanging gnuplot" 4 "within 0.5 s" \
    && { [ -s "$T/o3/results.json" ] && [ ! -e "$T/o3/report.pdf" ] && ok \
        || bad "analyse --report, hanging gnuplot: results.json missing or a report left"; }
# a batch goes on past each stopped gnuplot and ends
ncs batch -q -j 2 --report --gnuplot-timeout 0.5 --gnuplot "$T/deaf" "$SAMPLES" -o "$T/o4" 2>"$T/err"
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ -s "$T/o4/summary.csv" ] \
    && [ "$(grep -c 'did not finish within 0.5 s' "$T/err")" -eq "$(ls -d "$SAMPLES"/*/ | wc -l)" ] \
    && [ -z "$(find "$T/o4" -name '*.pdf' -o -name '.ncs-report*')" ] && ok \
    || bad "batch --report with a hanging gnuplot: exit $rc, $(grep -c 'did not finish' "$T/err") stopped"

# the limit must be a number of seconds above 0
for v in abc 0 -1 nan inf 1e999 '' 5s; do
    ncs report --gnuplot-timeout "$v" "$SAMPLES/mmn" -o "$T/x.pdf" 2>"$T/err"
    rc=$?
    expect "--gnuplot-timeout '$v'" 2 "give gnuplot's time limit in seconds"
done
for v in abc 0 -1 nan; do
    NCS_GNUPLOT_TIMEOUT=$v ncs report "$SAMPLES/mmn" -o "$T/x.pdf" 2>"$T/err"
    rc=$?
    expect "NCS_GNUPLOT_TIMEOUT=$v" 2 "NCS_GNUPLOT_TIMEOUT=$v: give gnuplot's time limit"
done
NCS_GNUPLOT_TIMEOUT=abc ncs analyse -q --report "$SAMPLES/mmn" -o "$T/o5" >/dev/null 2>"$T/err"
rc=$?
expect "NCS_GNUPLOT_TIMEOUT=abc on analyse --report" 2 "NCS_GNUPLOT_TIMEOUT=abc"
[ ! -e "$T/o5" ] && ok || bad "a usage error still analysed"
ncs check --gnuplot-timeout 5 "$SAMPLES/mmn" >/dev/null 2>"$T/err"
rc=$?
expect "--gnuplot-timeout on check" 2 "does not apply here"
ncs help report | grep -q -- "--gnuplot-timeout SECONDS" && ok || bad "help report names --gnuplot-timeout"

# ---------------------------------------------------------------- what gnuplot says
# binary garbage on its standard error: relayed escaped, and only its start
gp garbage "cat >/dev/null; printf '\\033[2J\\001\\377 hello\\n' >&2; i=0; while [ \$i -lt 200 ]; do echo \"line \$i: \\033]0;title\\007 more noise\" >&2; i=\$((i + 1)); done; exit 1"
mkdir -p "$T/o6"
ncs report -q --gnuplot "$T/garbage" "$SAMPLES/mmn" -o "$T/o6/r.pdf" 2>"$T/err"
rc=$?
expect "gnuplot writing garbage" 4 'gnuplot failed (exit 1): \x1b[2J\x01\xff hello line 0:'
esc=$(printf '\033')
! grep -q "$esc" "$T/err" && ! grep -q "$(printf '\007')" "$T/err" && ok \
    || bad "gnuplot's control bytes reached our stderr raw"
[ "$(wc -c <"$T/err")" -le 1200 ] && ok || bad "gnuplot's flood relayed whole ($(wc -c <"$T/err") bytes)"
empty "$T/o6" && ok || bad "a failed gnuplot left files"

# ---------------------------------------------------------------- the real gnuplot
if command -v gnuplot >/dev/null 2>&1; then
    # a relative --gnuplot (or NCS_GNUPLOT) is the current folder's, though
    # gnuplot runs in the output folder
    mkdir -p "$T/cwd/out"
    gp cwd/fakegp 'exec gnuplot "$@"'
    (cd "$T/cwd" && ncs report -q --gnuplot ./fakegp "$SAMPLES/mmn" -o out/r.pdf 2>"$T/err")
    rc=$?
    expect "--gnuplot ./fakegp" 0 "" && { [ -s "$T/cwd/out/r.pdf" ] && ok || bad "--gnuplot ./fakegp: no report"; }
    (cd "$T/cwd" && NCS_GNUPLOT=./fakegp ncs analyse -q --report=svg "$SAMPLES/normal" -o out/a >/dev/null 2>"$T/err")
    rc=$?
    expect "NCS_GNUPLOT=./fakegp" 0 "" && { [ -s "$T/cwd/out/a/report.svg" ] && ok || bad "NCS_GNUPLOT=./fakegp: no report"; }
    (cd "$T/cwd/out" && ncs report -q --gnuplot ../fakegp "$SAMPLES/normal" -o r.png 2>"$T/err")
    rc=$?
    expect "--gnuplot ../fakegp from the output folder" 0 ""

    # links planted in the output folder under the final names: replaced,
    # never written through
    mkdir -p "$T/o7"
    echo "victim" >"$T/victim"
    ln -s "$T/victim" "$T/o7/report.pdf"
    ln -s "$T/victim" "$T/o7/r-median.right.png"
    ncs analyse -q --report "$SAMPLES/mmn" -o "$T/o7" >/dev/null 2>"$T/err"
    rc=$?
    expect "analyse --report over a planted link" 0 ""
    ncs report -q "$SAMPLES/mmn" -o "$T/o7/r.png" 2>"$T/err"
    rc=$?
    expect "report png over a planted link" 0 ""
    [ "$(cat "$T/victim")" = "victim" ] && ok || bad "a report was written through a link"
    [ -f "$T/o7/report.pdf" ] && [ ! -L "$T/o7/report.pdf" ] && [ -f "$T/o7/r-median.right.png" ] \
        && [ ! -L "$T/o7/r-median.right.png" ] && ok || bad "the planted links were not replaced"
    [ -z "$(ls -A "$T/o7" | grep 'ncs-report')" ] && ok || bad "temporaries left in the output folder"
else
    bad "report-limits: gnuplot missing (scripts/install-deps.sh): the real-gnuplot cases NOT run"
fi

# ---------------------------------------------------------------- memory
# 8 sites of 4 s at 200 kHz. What --report adds to the peak memory of the
# analysis is what it keeps of the traces: before they were decimated, every
# cleaned trace whole (6.4 MB each): 112 MB with --report against 68 MB
# without (+44 MB); decimated, 74 MB against 71 MB (+3.5 MB). A fake gnuplot
# (reads the script, draws nothing) keeps gnuplot's own memory out of it.
if [ -n "$NCS_WRAP" ]; then
    echo "report-limits: ncs runs under '$NCS_WRAP': the memory check NOT run" >&2
elif [ -x /usr/bin/time ] && /usr/bin/time -f %M true >/dev/null 2>&1; then
    mkdir -p "$T/mem"
    "$MKWAVE" "$T/mem/w.wav" float 200000 4000
    { printf '[study]\nid = mem\n\n'
      for s in 0 1 2 3 4 5 6 7; do printf '[median.right.s%d]\nfile = w.wav\ndistance_mm = 100\n\n' $s; done
    } >"$T/mem/study.ini"
    gp sink 'cat >/dev/null; exit 1'
    # (under AddressSanitizer its quarantine keeps every freed block out of
    # reuse, so the peak counts memory ncs gave back: +19 MB here where the
    # plain build adds 6; without the quarantine it adds 7)
    qa="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0"
    ASAN_OPTIONS=$qa /usr/bin/time -o "$T/rss0" -f %M "$NCS" analyse -q "$T/mem" -o "$T/mem0" \
        >/dev/null 2>"$T/err"
    rc=$?
    expect "memory study, no report" 0 ""
    ASAN_OPTIONS=$qa /usr/bin/time -o "$T/rss1" -f %M "$NCS" analyse -q --report \
        --gnuplot "$T/sink" "$T/mem" -o "$T/mem1" >/dev/null 2>"$T/err"
    rc=$?
    expect "memory study, report" 4 "gnuplot failed"
    r0=$(tail -n 1 "$T/rss0")
    r1=$(tail -n 1 "$T/rss1")
    [ $((r1 - r0)) -lt 16000 ] && ok \
        || bad "--report adds $((r1 - r0)) KB to the peak memory ($r0 KB without, $r1 KB with); want < 16000 KB"
else
    echo "report-limits: /usr/bin/time (GNU time) missing: the memory check NOT run" >&2
fi

echo "report-limits: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
