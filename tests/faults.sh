#!/bin/sh
# Faults and hostile folders (issue 17): nothing lost, nothing written outside
# OUT or through a link, no input ever an output, no hang, every short write
# an error, --resume by content. Each case can fail; the injection shim
# (tests/inject.c) makes the races and the unreadable folder deterministic.
#
#   NCS=./ncs INJECT=build/inject.so tests/faults.sh
set -u
NCS=${NCS:-./ncs}
case $NCS in /*) ;; *) NCS=$(pwd)/$NCS ;; esac
NCS_WRAP=${NCS_WRAP:-}
INJECT=${INJECT:-build/inject.so}
MKWAVE=${MKWAVE:-build/mkwave}
case $INJECT in /*) ;; *) INJECT=$(pwd)/$INJECT ;; esac
export LC_ALL=C
# the shim goes before an ASan runtime in LD_PRELOAD (make check's sanitized run)
export ASAN_OPTIONS="verify_asan_link_order=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
pass=0
fail=0
T=$(mktemp -d "${TMPDIR:-/tmp}/ncs-faults-XXXXXX")
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT INT TERM

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# ncs ARGS with a time limit (a hang is a failure, not a stuck suite)
ncs() { timeout 60 $NCS_WRAP "$NCS" "$@"; }
# expect NAME WANT_EXIT PATTERN: the last command's exit and stderr ($T/err)
expect() {
    if [ "$rc" -ne "$2" ]; then
        bad "$1: exit $rc, want $2"; sed 's/^/    /' "$T/err" | head -5; return
    fi
    if [ -n "$3" ] && ! grep -qF -- "$3" "$T/err"; then
        bad "$1: stderr lacks [$3]"; sed 's/^/    /' "$T/err" | head -5; return
    fi
    ok
}
sums() { find "$1" -type f -exec md5sum {} + 2>/dev/null | sort; }

# a small study: the normal sample's median nerve (3 sites)
mkstudy() { # DIR [ID]
    mkdir -p "$1"
    cp samples/normal/median_r_*.wav "$1/"
    {
        echo "[study]"
        [ -n "${2:-}" ] && echo "id = $2"
        echo "temperature_c = 32.5"
        for s in wrist:70 elbow:230 axilla:120; do
            echo "[median.right.${s%%:*}]"
            echo "file = median_r_${s%%:*}.wav"
            echo "distance_mm = ${s#*:}"
            echo "stim_ms = 5"
            echo "scale_mv = 20"
        done
    } >"$1/study.ini"
}

# ---------------------------------------------------------------- ids
# one reader for ids: '[ study ]' is [study] for the duplicate check too
R=$T/dup; mkstudy "$R/a" same; mkstudy "$R/b"
sed -i 's/^\[study\]$/[ study ]\nid = same/' "$R/b/study.ini"
ncs batch -q "$R" -o "$T/dup-out" >/dev/null 2>"$T/err"; rc=$?
expect "duplicate id behind '[ study ]'" 3 "study id 'same' is also the id of"
[ ! -d "$T/dup-out/same" ] && ok || bad "duplicate ids: a study was written before the refusal"

# folder names that cannot be ids: the study fails with the reason, the
# others are analysed and summary.csv stays one row per line
R=$T/names; mkstudy "$R/good"; mkstudy "$R/=cmd|calc"; mkstudy "$R/quo\"te"
mkstudy "$R/new
line"
ncs batch -q "$R" -o "$T/names-out" >/dev/null 2>"$T/err"; rc=$?
expect "folder names as ids" 1 "cannot be the study's id"
[ "$(grep -c "cannot be the study's id" "$T/err")" -eq 3 ] && ok \
    || bad "each bad folder name is reported ($(grep -c "cannot be the study's id" "$T/err"))"
awk -F, 'NR > 1 && $1 != "good" { bad = 1 } END { exit bad }' "$T/names-out/summary.csv" \
    && ok || bad "summary.csv holds rows of studies that failed"
[ "$(grep -c '"status":"failed"' "$T/names-out/batch.json")" -eq 3 ] && ok \
    || bad "batch.json lists the 3 failed studies"
python3 -c "import json,sys; json.load(open(sys.argv[1]))" "$T/names-out/batch.json" 2>/dev/null \
    && ok || bad "batch.json is valid JSON with odd folder names"
# an ordinary folder name is fine for one study, not for a batch's output folder
mkstudy "$T/sp/patient 01"
ncs analyse "$T/sp/patient 01" >"$T/out" 2>"$T/err"; rc=$?
expect "analyse a folder named 'patient 01'" 0 ""
ncs batch -q "$T/sp" -o "$T/sp-out" >/dev/null 2>"$T/err"; rc=$?
expect "batch of a folder named 'patient 01'" 1 "cannot be the study's id in a batch"
mkstudy "$T/rsv" summary.csv
ncs analyse "$T/rsv" >/dev/null 2>"$T/err"; rc=$?
expect "id = summary.csv" 3 "id = 'summary.csv'"

# ---------------------------------------------------------------- outside OUT
# OUT = ROOT and ROOT/<id> a link elsewhere: nothing written or deleted there
R=$T/root; mkstudy "$R/s1" victim; mkdir -p "$T/elsewhere"
echo keep >"$T/elsewhere/.results.json.tmp.1"; echo keep >"$T/elsewhere/x.txt"
ln -s "$T/elsewhere" "$R/victim"
before=$(sums "$T/elsewhere")
ncs batch -q "$R" -o "$R" >/dev/null 2>"$T/err"; rc=$?
expect "OUT/<id> is a link" 1 "is a symbolic link"
[ "$(sums "$T/elsewhere")" = "$before" ] && [ "$(ls -A "$T/elsewhere" | wc -l)" -eq 2 ] && ok \
    || bad "the batch wrote or deleted through OUT/<id> -> elsewhere"
# a planted link under an output's name in OUT/<id> is replaced, not written through
R=$T/plant; mkstudy "$R/s1" p1; mkdir -p "$T/plant-out/p1"; echo victim >"$T/victim.txt"
ln -s "$T/victim.txt" "$T/plant-out/p1/results.json"
ncs batch -q "$R" -o "$T/plant-out" >/dev/null 2>"$T/err"; rc=$?
expect "planted link in OUT/<id>" 0 ""
[ "$(cat "$T/victim.txt")" = victim ] && [ ! -L "$T/plant-out/p1/results.json" ] && ok \
    || bad "results.json was written through a planted link"

# an input is never an output: a waveform named results.csv, analyse S -o S
S=$T/selfout; mkstudy "$S"; mv "$S/median_r_elbow.wav" "$S/results.csv.wav"
sed -i 's/median_r_elbow.wav/results.csv.wav/' "$S/study.ini"
cp "$S/median_r_axilla.wav" "$S/results.json"
sed -i 's/file = median_r_axilla.wav/file = results.json/' "$S/study.ini"
before=$(sums "$S")
ncs analyse "$S" -o "$S" >/dev/null 2>"$T/err"; rc=$?
expect "analyse S -o S over an input" 4 "an input of this analysis"
[ "$(sums "$S")" = "$before" ] && ok || bad "analyse S -o S changed the study folder"

# a link swapped between the check and the open: the file outside is not read
S=$T/swap; mkstudy "$S"; cp samples/normal/median_r_elbow.wav "$T/outside.wav"
NCS_INJECT_SWAP="swap/median_r_elbow.wav=$T/outside.wav" LD_PRELOAD="$INJECT" \
    ncs analyse "$S" >/dev/null 2>"$T/err"; rc=$?
expect "link swapped after the check" 3 "leads outside the study folder"

# ---------------------------------------------------------------- FIFOs, no hang
S=$T/fifo; mkstudy "$S"; rm "$S/study.ini"; mkfifo "$S/study.ini"
ncs check "$S" >/dev/null 2>"$T/err"; rc=$?
expect "study.ini a FIFO" 3 "FIFO"
S=$T/fifow; mkstudy "$S"; rm "$S/median_r_elbow.wav"; mkfifo "$S/median_r_elbow.wav"
ncs analyse "$S" >/dev/null 2>"$T/err"; rc=$?
expect "a waveform a FIFO" 3 "not a regular file"
S=$T/fifon; mkstudy "$S"; mkfifo "$T/norms.ini"
ncs analyse --norms "$T/norms.ini" "$S" >/dev/null 2>"$T/err"; rc=$?
expect "--norms a FIFO" 3 "FIFO"

# ---------------------------------------------------------------- short writes
if [ -w /dev/full ]; then
    ncs analyse --json samples/normal >/dev/full 2>"$T/err"; rc=$?
    expect "--json to a full disk" 4 "standard output: error: cannot write the results"
    ncs --help >/dev/full 2>"$T/err"; rc=$?
    expect "--help to a full disk" 4 "No space left on device"
fi

# a full disk under a study's results: exit 4 with the reason, no file left
S=$T/full; mkstudy "$S"
NCS_INJECT_ENOSPC=results.json LD_PRELOAD="$INJECT" \
    ncs analyse "$S" -o "$T/full-out" >/dev/null 2>"$T/err"; rc=$?
expect "results.json on a full disk" 4 "No space left on device"
[ -z "$(ls -A "$T/full-out" 2>/dev/null | grep results.json)" ] && ok \
    || bad "a full disk left a results.json (or its temporary)"
R=$T/fullb; mkstudy "$R/a" fa
NCS_INJECT_ENOSPC=summary.csv LD_PRELOAD="$INJECT" \
    ncs batch -q "$R" -o "$T/fullb-out" >/dev/null 2>"$T/err"; rc=$?
expect "summary.csv on a full disk" 4 "summary.csv: error: cannot write: No space left on device"

# ---------------------------------------------------------------- ncs init
# a full disk, an unreadable folder, FIFOs: nothing half-written, no hang
I=$T/init; mkdir -p "$I"; cp samples/normal/median_r_*.wav "$I/"
isum=$(sums "$I")
NCS_INJECT_ENOSPC=study.ini LD_PRELOAD="$INJECT" ncs init "$I" >/dev/null 2>"$T/err"; rc=$?
expect "init: study.ini on a full disk" 4 "study.ini: error: cannot write: No space left on device"
[ -z "$(ls -A "$I" | grep study.ini)" ] && [ "$(sums "$I")" = "$isum" ] && ok \
    || bad "init: a full disk left a study.ini (or its temporary): $(ls -A "$I")"
NCS_INJECT_EACCES="$I" LD_PRELOAD="$INJECT" ncs init "$I" >/dev/null 2>"$T/err"; rc=$?
expect "init: an unreadable folder" 3 "error: cannot read the folder: Permission denied"
mkfifo "$I/median_r_erb.wav" "$I/notes.csv"
ncs init "$I" >/dev/null 2>"$T/err"; rc=$?
expect "init: FIFOs in the folder" 0 "median_r_erb.wav: warning: not read: not a regular file"
grep -q "^;   notes.csv: not a regular file" "$I/study.ini" && ! grep -q "^file = median_r_erb" "$I/study.ini" \
    && ok || bad "init: FIFOs listed as not read"
rm -f "$I/study.ini"; mkfifo "$I/study.ini"
ncs init "$I" >/dev/null 2>"$T/err"; rc=$?
expect "init: a FIFO named study.ini" 4 "study.ini: error: already exists"
[ -p "$I/study.ini" ] && ok || bad "init: the FIFO named study.ini was replaced"

# ---------------------------------------------------------------- resume by content
R=$T/res; mkstudy "$R/a" ra; mkstudy "$R/b" rb
ncs batch -q -j 1 "$R" -o "$T/res-out" >/dev/null 2>&1
ncs batch -q -j 1 --resume "$R" -o "$T/res-out" >/dev/null 2>&1
grep -q '"analysed": 0' "$T/res-out/batch.json" && grep -q '"up_to_date": 2' "$T/res-out/batch.json" \
    && ok || bad "--resume: unchanged studies are up to date"
# new content under the old date (cp -p, rsync -t, tar x)
cp "$R/a/median_r_elbow.wav" "$T/keep.wav"
cp samples/mmn/ulnar_r_below-elbow.wav "$R/a/median_r_elbow.wav"
touch -r "$T/keep.wav" "$R/a/median_r_elbow.wav"
touch -d '2001-01-01' "$R/a/median_r_elbow.wav"
ncs batch -q -j 1 --resume "$R" -o "$T/res-out" >/dev/null 2>&1
grep -q '"analysed": 1' "$T/res-out/batch.json" && grep -q '"up_to_date": 1' "$T/res-out/batch.json" \
    && ok || bad "--resume: a waveform with new content and an old date is analysed again"
grep -q '"inputs_hash": "[0-9a-f]\{32\}"' "$T/res-out/ra/results.json" && ok \
    || bad "results.json records the inputs' fingerprint"

# ---------------------------------------------------------------- OUT: lock, temporaries
R=$T/lk; mkstudy "$R/a" la; mkdir -p "$T/lk-out"
echo mine >"$T/lk-out/.notes.tmp.1"; echo stale >"$T/lk-out/.summary.csv.tmp.424242"
if command -v flock >/dev/null 2>&1; then
    flock "$T/lk-out/.ncs-batch.lock" sleep 5 &
    sleep 0.5
    ncs batch -q "$R" -o "$T/lk-out" >/dev/null 2>"$T/err"; rc=$?
    expect "a second batch into one OUT" 4 "another ncs batch is writing into this folder"
    wait
fi
ncs batch -q "$R" -o "$T/lk-out" >/dev/null 2>"$T/err"; rc=$?
expect "batch after the lock is released" 0 ""
[ ! -e "$T/lk-out/.summary.csv.tmp.424242" ] && [ -e "$T/lk-out/.notes.tmp.1" ] && ok \
    || bad "a killed run's summary temporary removed, a user's file kept"

# ---------------------------------------------------------------- unreadable folders
R=$T/unr; mkstudy "$R/a" ua; mkstudy "$R/locked/b" ub
NCS_INJECT_EACCES="unr/locked" LD_PRELOAD="$INJECT" \
    ncs batch -q "$R" -o "$T/unr-out" >/dev/null 2>"$T/err"; rc=$?
expect "an unreadable folder" 1 "cannot read this folder"
grep -q '"path":"locked"' "$T/unr-out/batch.json" && grep -q '"failed": 1' "$T/unr-out/batch.json" \
    && ok || bad "batch.json lists the unreadable folder as failed"

# ---------------------------------------------------------------- merge, numbers, messages
R=$T/mg; mkstudy "$R/a" ma
ncs batch -q "$R" -o "$T/mg-out" >/dev/null 2>&1
sed -i 's/"n_studies": 1/"n_studies": 9223372036854775807/' "$T/mg-out/batch.json"
ncs batch --merge "$T/mg-out" "$T/mg-out" -o "$T/mg-merged" >/dev/null 2>"$T/err"; rc=$?
expect "--merge with a forged count" 3 "'n_studies' is not a count"
rm "$T/mg-out/batch.json"; mkfifo "$T/mg-out/batch.json"
ncs batch --merge "$T/mg-out" -o "$T/mg-merged" >/dev/null 2>"$T/err"; rc=$?
expect "--merge of a FIFO batch.json" 3 "FIFO"
S=$T/tiny; mkstudy "$S"; sed -i 's/^distance_mm = 230/distance_mm = 1e-300/' "$S/study.ini"
ncs analyse "$S" >/dev/null 2>"$T/err"; rc=$?
expect "distance_mm = 1e-300" 3 "distance_mm = 1e-300 is out of range (5 to 2000)"
ncs batch samples -o '' >/dev/null 2>"$T/err"; rc=$?
expect "batch -o ''" 2 "empty name"
# -q silences the batch's folder warnings too
R=$T/deep; d=$R; i=0; while [ $i -lt 66 ]; do d=$d/d; i=$((i + 1)); done; mkdir -p "$d"
mkstudy "$R/a" da
ncs batch -q "$R" -o "$T/deep-out" >/dev/null 2>"$T/err"; rc=$?
expect "batch -q over a deep tree" 0 ""
[ ! -s "$T/err" ] && ok || bad "batch -q printed: $(head -1 "$T/err")"

# lossy codecs are no recording: refused, and libmpg123 says nothing
for f in mp3 vorbis; do
    S=$T/lossy-$f; mkstudy "$S"; "$MKWAVE" "$S/x.$f" $f 48000 50
    sed -i "s/median_r_elbow.wav/x.$f/" "$S/study.ini"
    ncs check "$S" >/dev/null 2>"$T/err"; rc=$?
    expect "a $f waveform" 3 "a lossy compressed format"
    [ "$(grep -vc '^ncs: ' "$T/err")" -eq 0 ] && ok || bad "$f: a decoder's own notes on stderr"
done
# a sample rate at the edge is written as a number, not 1e+06
S=$T/rate; mkstudy "$S"; "$MKWAVE" "$S/x.wav" float 1000001 10
sed -i 's/median_r_elbow.wav/x.wav/' "$S/study.ini"
ncs check "$S" >/dev/null 2>"$T/err"; rc=$?
expect "rate above 1 MHz" 3 "1000001 Hz is outside 2000 Hz to 1000000 Hz"

# ---------------------------------------------------------------- review of issue 17
# a text cell that starts like a formula and holds a comma: quoted with the
# apostrophe inside, and every row reaches summary.csv
R=$T/cell; mkstudy "$R/a" ca
sed -i 's/^temperature_c = 32.5$/temperature_c = 32.5\n[median.right]\nmuscle = -APB, left/' "$R/a/study.ini"
ncs batch -q "$R" -o "$T/cell-out" >/dev/null 2>"$T/err"; rc=$?
expect "a muscle '-APB, left'" 0 ""
[ "$(grep -c '^ca,median.right,' "$T/cell-out/summary.csv")" -eq 2 ] && ok \
    || bad "summary.csv lost the rows of a study whose muscle starts with '-'"
grep -qF '"'"'"'-APB, left"' "$T/cell-out/ca/results.csv" && ok || bad "the cell is \"'-APB, left\""
# OUT = ROOT: a study's id naming another study's folder never writes there
R=$T/other; mkstudy "$R/a" b; mkstudy "$R/b" zz
mv "$R/b/median_r_wrist.wav" "$R/b/results.csv.wav"; sed -i 's/median_r_wrist.wav/results.csv.wav/' "$R/b/study.ini"
cp "$R/b/median_r_elbow.wav" "$R/b/results.json"; sed -i 's/file = median_r_elbow.wav/file = results.json/' "$R/b/study.ini"
before=$(sums "$R/b")
ncs batch -q -j 1 "$R" -o "$R" >/dev/null 2>"$T/err"; rc=$?
expect "OUT/<id> is another study's folder" 1 "lies in the folder of the study"
[ "$(sums "$R/b" | grep -v '/zz/')" = "$(echo "$before" | grep -v '/zz/')" ] && ok \
    || bad "another study's inputs were replaced"
# a --norms table under an output's name is an input too
R=$T/nrm; mkstudy "$R/a" na; mkdir -p "$T/nrm-out/na"
printf '[ulnar]\nmuscle = ADM\namp_lln_mv = 6\n' >"$T/nrm-out/na/results.json"
cp "$T/nrm-out/na/results.json" "$T/nrm-keep"
ncs batch -q --norms "$T/nrm-out/na/results.json" "$R" -o "$T/nrm-out" >/dev/null 2>"$T/err"; rc=$?
expect "--norms OUT/<id>/results.json" 1 "an input of this analysis"
cmp -s "$T/nrm-keep" "$T/nrm-out/na/results.json" && ok || bad "the --norms table was overwritten"
cp "$T/nrm-keep" "$T/lab.pdf"
ncs report --norms "$T/lab.pdf" samples/normal -o "$T/lab.pdf" >/dev/null 2>"$T/err"; rc=$?
expect "report -o over the --norms table" 4 "an input of the analysis"
cmp -s "$T/nrm-keep" "$T/lab.pdf" && ok || bad "report overwrote the --norms table"
# folder names that are not UTF-8: named in batch.json (\xNN), shards merge
R=$T/utf; mkstudy "$R/$(printf 'pat\351')"; mkstudy "$R/$(printf 'caf\351x')" cx
ncs batch -q --shard 0/2 "$R" -o "$T/utf0" >/dev/null 2>&1
ncs batch -q --shard 1/2 "$R" -o "$T/utf1" >/dev/null 2>&1
grep -qF '"path":"pat\\xe9"' "$T/utf0/batch.json" "$T/utf1/batch.json" && ok \
    || bad "a Latin-1 folder name is null in batch.json"
ncs batch --merge "$T/utf0" "$T/utf1" -o "$T/utfm" >/dev/null 2>"$T/err"; rc=$?
expect "merge of shards with Latin-1 folder names (one without id: failed, exit 1)" 1 "1 failed study"
# a report of earlier inputs or of another format is not left beside new results
R=$T/stale; mkstudy "$R/a" sa
ncs batch -q --report "$R" -o "$T/stale-out" >/dev/null 2>&1
ncs batch -q --report=png "$R" -o "$T/stale-out" >/dev/null 2>&1
[ ! -e "$T/stale-out/sa/report.pdf" ] && [ -e "$T/stale-out/sa/report.png" ] && ok \
    || bad "a PDF report left beside the PNG run's results"
# merge: counts that contradict the lists are refused
R=$T/cnt; mkstudy "$R/a" ka
ncs batch -q "$R" -o "$T/cnt-out" >/dev/null 2>&1
sed -i 's/"analysed": 1/"analysed": 2/' "$T/cnt-out/batch.json"
ncs batch --merge "$T/cnt-out" -o "$T/cnt-m" >/dev/null 2>"$T/err"; rc=$?
expect "--merge with contradicting counts" 3 "'succeeded' is not a count"
# a study.ini that is a link is a failed study, not a silent skip
R=$T/lnk; mkstudy "$R/a" la2; mkstudy "$R/b" lb; rm "$R/b/study.ini"
ln -s "$R/a/study.ini" "$R/b/study.ini"
ncs batch -q "$R" -o "$T/lnk-out" >/dev/null 2>"$T/err"; rc=$?
expect "study.ini a symbolic link" 1 "study.ini is a symbolic link"
# one diagnostic, one line: a newline in a folder's name is shown as \x0a
grep -q 'new\\x0aline' "$T/err" 2>/dev/null || {
    ncs batch -q "$T/names" -o "$T/names-out2" >/dev/null 2>"$T/err"
    grep -q 'new\\x0aline' "$T/err" && ok || bad "a newline in a name split a diagnostic"; }
# a gnuplot that floods its stderr is stopped at 256 MiB, not at the disk's end
if command -v gnuplot >/dev/null 2>&1; then
    printf '#!/bin/sh\ncat /dev/zero >&2\n' >"$T/flood"; chmod +x "$T/flood"
    ncs report --gnuplot "$T/flood" samples/normal -o "$T/flood.pdf" >/dev/null 2>"$T/err"; rc=$?
    expect "a gnuplot flooding its stderr" 4 "passed 256 MiB"
fi
# OUT inside a study's folder: another study's outputs never land among its
# inputs (nor are its files removed as stale outputs)
R=$T/insd; mkstudy "$R/a" ia; mkdir "$R/a/b"; mv "$R/a/median_r_wrist.wav" "$R/a/b/results.csv.wav"
sed -i 's#median_r_wrist.wav#b/results.csv.wav#' "$R/a/study.ini"; cp "$R/a/b/results.csv.wav" "$R/a/b/report.pdf"
mkstudy "$R/c" b
before=$(sums "$R/a")
ncs batch -q -j 1 "$R" -o "$R/a" >/dev/null 2>"$T/err"; rc=$?
expect "OUT/<id> inside another study's folder" 1 "lies in the folder of the study"
# (the batch's own files in OUT aside: summary.csv, batch.json, the lock)
[ "$(sums "$R/a" | grep -v -e "$R/a/ia/" -e summary.csv -e batch.json -e .ncs-batch.lock)" = "$before" ] \
    && ok || bad "another study's folder changed"
# OUT = ROOT (the id is the folder's name): a stale report goes there too
R=$T/selfroot; mkstudy "$R/sr" sr
ncs batch -q --report "$R" -o "$R" >/dev/null 2>&1
ncs batch -q --report=png "$R" -o "$R" >/dev/null 2>&1
[ ! -e "$R/sr/report.pdf" ] && [ -e "$R/sr/report.png" ] && [ -e "$R/sr/median_r_wrist.wav" ] && ok \
    || bad "OUT = ROOT: a PDF report left beside the PNG run's results (or an input removed)"
# a merge never writes over a shard, and a merged output merged again is caught
ncs batch --merge "$T/utf0" "$T/utf1" -o "$T/utf0" >/dev/null 2>"$T/err"; rc=$?
expect "--merge -o one of the shards" 3 "is one of the shards merged"
ncs batch --merge "$T/utfm" "$T/utf1" -o "$T/utfm2" >/dev/null 2>"$T/err"; rc=$?
expect "--merge of a merge and one of its shards" 3 "not a shard of the same split"
# a backslash in a name and a Latin-1 byte never read alike in batch.json
R=$T/bsl; mkstudy "$R/$(printf 'caf\351')" u1; mkstudy "$R/caf\\xe9" u2
ncs batch -q --shard 0/2 "$R" -o "$T/bsl0" >/dev/null 2>&1
ncs batch -q --shard 1/2 "$R" -o "$T/bsl1" >/dev/null 2>&1
ncs batch --merge "$T/bsl0" "$T/bsl1" -o "$T/bslm" >/dev/null 2>"$T/err"; rc=$?
expect "merge: 'caf<E9>' and 'caf\\xe9' are two studies" 0 ""
# the lock is an output: never over the --norms table
R=$T/lkn; mkstudy "$R/a" ln1; mkdir -p "$T/lkn-out"
printf '[ulnar]\nmuscle = ADM\namp_lln_mv = 6\n' >"$T/lkn-out/.ncs-batch.lock"; cp "$T/lkn-out/.ncs-batch.lock" "$T/lkn-keep"
ncs batch -q --norms "$T/lkn-out/.ncs-batch.lock" "$R" -o "$T/lkn-out" >/dev/null 2>"$T/err"; rc=$?
expect "--norms OUT/.ncs-batch.lock" 4 "would replace the --norms table"
cmp -s "$T/lkn-keep" "$T/lkn-out/.ncs-batch.lock" && ok || bad "the lock overwrote the --norms table"
# a damaged results.csv is not up to date for --resume
R=$T/dmg; mkstudy "$R/a" da2
ncs batch -q "$R" -o "$T/dmg-out" >/dev/null 2>&1
echo 'x,y' >>"$T/dmg-out/da2/results.csv"
ncs batch -q --resume "$R" -o "$T/dmg-out" >/dev/null 2>"$T/err"; rc=$?
expect "--resume over a damaged results.csv" 0 ""
grep -q '"analysed": 1' "$T/dmg-out/batch.json" && ok || bad "a damaged results.csv counted up to date"
# an input named like one of ncs's temporaries is an input (OUT = ROOT)
R=$T/tmpn; mkstudy "$R/s" ts; mv "$R/s/median_r_elbow.wav" "$R/s/.results.json.tmp.1"
sed -i 's/median_r_elbow.wav/.results.json.tmp.1/' "$R/s/study.ini"
before=$(sums "$R/s")
ncs batch -q "$R" -o "$R" >/dev/null 2>"$T/err"; rc=$?
expect "a waveform named .results.json.tmp.1, OUT = ROOT" 0 ""
[ -e "$R/s/.results.json.tmp.1" ] && ok || bad "an input named like a temporary was removed"
# OUT inside a study's folder: the batch's own files never over its inputs
R=$T/outin; mkstudy "$R/a" oa; mkdir "$R/a/out"
mv "$R/a/median_r_elbow.wav" "$R/a/out/.ncs-batch.lock"; sed -i 's#median_r_elbow.wav#out/.ncs-batch.lock#' "$R/a/study.ini"
cp "$R/a/out/.ncs-batch.lock" "$T/outin-keep"
ncs batch -q "$R" -o "$R/a/out" >/dev/null 2>"$T/err"; rc=$?
expect "OUT in a study whose input is named .ncs-batch.lock" 4 "an input of the study there"
cmp -s "$T/outin-keep" "$R/a/out/.ncs-batch.lock" && ok || bad "the lock overwrote a study's input"
# a merge without one of the shards loses studies: refused
R=$T/miss; mkstudy "$R/a" m1; mkstudy "$R/b" m2; mkstudy "$R/c" m3
for i in 0 1 2; do ncs batch -q --shard $i/3 "$R" -o "$T/miss$i" >/dev/null 2>&1; done
ncs batch --merge "$T/miss0" "$T/miss2" -o "$T/missm" >/dev/null 2>"$T/err"; rc=$?
expect "--merge without shard 1/3" 3 "shard 1/3 is missing"
ncs batch --merge "$T/miss2" "$T/miss0" "$T/miss1" -o "$T/missm" >/dev/null 2>"$T/err"; rc=$?
expect "--merge of the shards out of order" 0 ""
ncs batch -q "$R" -o "$T/missone" >/dev/null 2>&1
paths() { python3 -c "import json,sys; print([s['path'] for s in json.load(open(sys.argv[1]))['studies']])" "$1"; }
[ "$(paths "$T/missm/batch.json")" = "$(paths "$T/missone/batch.json")" ] \
    && ok || bad "the merged study list is not in one run's order"
# the same with the id the folder's name, so OUT/<id> is the study folder
R=$T/tmpn2; mkstudy "$R/s"; mv "$R/s/median_r_elbow.wav" "$R/s/.results.json.tmp.1"
sed -i 's/median_r_elbow.wav/.results.json.tmp.1/' "$R/s/study.ini"
ncs batch -q "$R" -o "$R" >/dev/null 2>"$T/err"; rc=$?
expect "a waveform .results.json.tmp.1 in OUT/<id> = its study" 0 ""
[ -e "$R/s/.results.json.tmp.1" ] && ok || bad "an input named like a temporary was removed (OUT/<id> = study)"
# an input reached through a link under an output's or a temporary's name
R=$T/lnkin; mkstudy "$R/s"; mv "$R/s/median_r_elbow.wav" "$R/s/elbow-data.wav"
ln -s elbow-data.wav "$R/s/.results.json.tmp.1"; sed -i 's/median_r_elbow.wav/.results.json.tmp.1/' "$R/s/study.ini"
ncs batch -q "$R" -o "$R" >/dev/null 2>"$T/err"; rc=$?
expect "an input linked as .results.json.tmp.1" 0 ""
[ -L "$R/s/.results.json.tmp.1" ] && ok || bad "a linked input named like a temporary was removed"
R=$T/lnkout; mkstudy "$R/a" la3; mkdir "$R/a/out"; mv "$R/a/median_r_elbow.wav" "$R/a/out/elbow.wav"
ln -s elbow.wav "$R/a/out/summary.csv.wav"; ln -s summary.csv.wav "$R/a/out/summary.csv"
sed -i 's#median_r_elbow.wav#out/summary.csv#' "$R/a/study.ini"
ncs batch -q "$R" -o "$R/a/out" >/dev/null 2>"$T/err"; rc=$?
expect "OUT in a study whose input is a link named summary.csv" 4 "an input of the study there"
[ -L "$R/a/out/summary.csv" ] && ok || bad "a linked input named summary.csv was replaced"
# a temporary name already taken (by an input) is never unlinked: another is used
S=$T/taken; mkstudy "$S"
sh -c 'mv "$1/median_r_elbow.wav" "$1/.results.json.tmp.$$"; sed -i "s#median_r_elbow.wav#.results.json.tmp.$$#" "$1/study.ini"; exec "$2" analyse "$1" -o "$1"' \
    _ "$S" "$NCS" >/dev/null 2>"$T/err"; rc=$?
expect "analyse S -o S with an input named .results.json.tmp.<its pid>" 0 ""
[ -n "$(find "$S" -name '.results.json.tmp.*')" ] && ok || bad "an input named like this run's temporary was removed"
# OUT a study folder outside the run: the batch's files never over its inputs
R=$T/outside; mkstudy "$R/a" oz; mkstudy "$T/notrun"; mv "$T/notrun/median_r_elbow.wav" "$T/notrun/summary.csv.wav"
cp "$T/notrun/summary.csv.wav" "$T/notrun/summary.csv"; sed -i 's/median_r_elbow.wav/summary.csv/' "$T/notrun/study.ini"
ncs batch -q "$R" -o "$T/notrun" >/dev/null 2>"$T/err"; rc=$?
expect "OUT another study's folder, not of the run" 4 "an input of the study there"
cmp -s "$T/notrun/summary.csv" "$T/notrun/summary.csv.wav" && ok || bad "a study's input named summary.csv was overwritten"
# shards of other ROOTs are not one split
R=$T/roota; mkstudy "$R/a" ra1; mkstudy "$R/b" ra2; R2=$T/rootb; mkstudy "$R2/x" rb1; mkstudy "$R2/y" rb2
ncs batch -q --shard 0/2 "$R" -o "$T/ra0" >/dev/null 2>&1; ncs batch -q --shard 1/2 "$R2" -o "$T/rb1" >/dev/null 2>&1
ncs batch --merge "$T/ra0" "$T/rb1" -o "$T/rabm" >/dev/null 2>"$T/err"; rc=$?
expect "--merge of shards of two ROOTs" 3 "not a shard of the same split"
# OUT = ROOT: a lab's own report.pdf, report-scan.png and notes in a study
# folder are not ncs's: a run without --report leaves them
R=$T/own; mkstudy "$R/P1"; echo "%PDF machine printout" >"$R/P1/report.pdf"; echo img >"$R/P1/report-scan.png"
ncs batch -q "$R" -o "$R" >/dev/null 2>&1
[ -e "$R/P1/report.pdf" ] && [ -e "$R/P1/report-scan.png" ] && ok \
    || bad "OUT = ROOT removed a report.pdf or report-scan.png ncs never wrote"
# a study copied twice, OUT the parent of the copy: the other copy is refused
# before anything of it is cleaned
R=$T/twice; mkstudy "$R/P2"; mkdir -p "$R/new"; cp -r "$R/P2" "$R/new/P2"
ncs analyse "$R/P2" -o "$R/P2" >/dev/null 2>&1
before=$(sums "$R/P2")
ncs batch -q "$R/new" -o "$R" >/dev/null 2>"$T/err"; rc=$?
expect "OUT/<id> another study's folder outside the run" 1 "is another study's folder"
[ "$(sums "$R/P2")" = "$before" ] && ok || bad "the other copy's results or inputs were removed"
# a shard's summary.csv cut short (an interrupted copy) is refused by a merge
R=$T/cut; mkstudy "$R/a" c1; mkstudy "$R/b" c2
ncs batch -q --shard 0/2 "$R" -o "$T/cut0" >/dev/null 2>&1; ncs batch -q --shard 1/2 "./$R/" -o "$T/cut1" >/dev/null 2>&1 \
    || ncs batch -q --shard 1/2 "$R/" -o "$T/cut1" >/dev/null 2>&1
head -c 200 "$T/cut0/summary.csv" >"$T/cut0/s.tmp"; mv "$T/cut0/s.tmp" "$T/cut0/summary.csv"
ncs batch --merge "$T/cut0" "$T/cut1" -o "$T/cutm" >/dev/null 2>"$T/err"; rc=$?
expect "--merge of a cut summary.csv" 3 "cut or damaged"
# the same ROOT typed another way (or mounted elsewhere) is the same split
ncs batch -q --shard 0/2 "$R" -o "$T/cut0" >/dev/null 2>&1
ncs batch --merge "$T/cut0" "$T/cut1" -o "$T/cutm" >/dev/null 2>"$T/err"; rc=$?
expect "--merge of shards of one ROOT typed two ways" 0 ""
# --resume with PNG pages: a missing nerve page is not up to date
R=$T/pg; mkstudy "$R/a" pg1
ncs batch -q --report=png "$R" -o "$T/pg-out" >/dev/null 2>&1
rm -f "$T/pg-out/pg1/report-median.right.png"
ncs batch -q --resume --report=png "$R" -o "$T/pg-out" >/dev/null 2>&1
[ -e "$T/pg-out/pg1/report-median.right.png" ] && ok || bad "--resume left a nerve page missing"
# analyse -o DIR again without --report: the earlier report of DIR goes
S=$T/an; mkstudy "$S"
ncs analyse --report "$S" -o "$T/an-out" >/dev/null 2>&1
ncs analyse "$S" -o "$T/an-out" >/dev/null 2>&1
[ ! -e "$T/an-out/report.pdf" ] && [ -e "$T/an-out/results.json" ] && ok \
    || bad "analyse -o left an earlier run's report beside new results"
# scale_mv where physics ends
S=$T/scale; mkstudy "$S"; sed -i '0,/^scale_mv = 20/s//scale_mv = 1e-300/' "$S/study.ini"
ncs analyse "$S" >/dev/null 2>"$T/err"; rc=$?
expect "scale_mv = 1e-300" 3 "scale_mv = 1e-300 is out of range (0.001 to 100000)"

# ---------------------------------------------------------------- issue 15: ids and the patient
# a Unicode id names its output folder and summary.csv rows; a patient that a
# spreadsheet would run as a formula is guarded wherever it is written
R=$T/uni; mkstudy "$R/a" "Müller-2024"
sed -i 's/^temperature_c = 32.5$/temperature_c = 32.5\npatient = =HYPERLINK("x"),Hans/' "$R/a/study.ini"
ncs batch -q "$R" -o "$T/uni-out" >/dev/null 2>"$T/err"; rc=$?
expect "a Unicode id, a formula patient" 0 ""
[ -f "$T/uni-out/Müller-2024/results.json" ] && ok || bad "OUT/Müller-2024/results.json not written"
[ "$(grep -c '^Müller-2024,median.right,.*,"'"'"'=HYPERLINK(""x""),Hans"$' "$T/uni-out/summary.csv")" -eq 2 ] && ok \
    || bad "summary.csv: the patient cell is not \"'=HYPERLINK(...)\" on both rows"
grep -q ',"'"'"'=HYPERLINK(""x""),Hans"$' "$T/uni-out/Müller-2024/results.csv" && ok \
    || bad "results.csv: the patient cell is not guarded"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["study"]["patient"] != "=HYPERLINK(\"x\"),Hans")' \
    "$T/uni-out/Müller-2024/results.json" && ok || bad "results.json study.patient is not the text as written"
# ids that only look like letters are refused: a path, a direction override
R=$T/uni2; mkstudy "$R/a" "a∕b"; mkstudy "$R/b" "x‮y"
ncs batch -q "$R" -o "$T/uni2-out" >/dev/null 2>"$T/err"; rc=$?
expect "ids with a division slash or a direction override" 1 "use letters (accented and other alphabets too)"
[ -z "$(ls "$T/uni2-out" | grep -v '^summary.csv$\|^batch.json$')" ] && ok \
    || bad "a refused id left an output folder: $(ls "$T/uni2-out")"

echo "faults: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
