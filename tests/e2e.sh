#!/bin/sh
# End-to-end tests: the ncs binary on the shipped samples and on a corpus of
# broken studies. Each broken study must be refused with exit 3 and a message
# on stderr, in the form "ncs: <where>: error: <message>", that names the
# culprit. Nothing in an input folder may change.
#
#   NCS=./ncs SYNTH=./ncs-synth MKWAVE=build/mkwave tests/e2e.sh
set -u
NCS=${NCS:-./ncs}
case $NCS in /*) ;; *) NCS=$(pwd)/$NCS ;; esac
# NCS_WRAP: a command to run ncs under (make valgrind sets valgrind here)
NCS_WRAP=${NCS_WRAP:-}
MKWAVE=${MKWAVE:-build/mkwave}
# SYNTH: the generator (ncs init's end-to-end cases start from a study it makes)
SYNTH=${SYNTH:-./ncs-synth}
# INJECT: the fault-injection shim (tests/inject.c), for LD_PRELOAD
INJECT=${INJECT:-build/inject.so}
case $INJECT in /*) ;; *) INJECT=$(pwd)/$INJECT ;; esac
export LC_ALL=C
pass=0
fail=0
T=$(mktemp -d "${TMPDIR:-/tmp}/ncs-e2e-XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# run NAME WANT_EXIT STDERR_PATTERN... -- ARGS: runs ncs ARGS, checks the exit
# status and that stderr holds every pattern (fixed strings)
run() {
    name=$1 want=$2
    shift 2
    pats=""
    while [ "$1" != "--" ]; do
        pats="$pats
$1"
        shift
    done
    shift
    $NCS_WRAP "$NCS" "$@" >"$T/out" 2>"$T/err"
    rc=$?
    if [ "$rc" -ne "$want" ]; then
        bad "$name: exit $rc, want $want"
        sed 's/^/    /' "$T/err" | head -5
        return
    fi
    missing=""
    old_ifs=$IFS
    IFS='
'
    for p in $pats; do
        grep -qF -- "$p" "$T/err" || missing="$missing [$p]"
    done
    IFS=$old_ifs
    if [ -n "$missing" ]; then
        bad "$name: stderr lacks$missing"
        sed 's/^/    /' "$T/err" | head -5
        return
    fi
    ok
}

# ---------------------------------------------------------------- samples
samples_sum() { find samples -type f -exec md5sum {} + | sort; }
before=$(samples_sum)
run "check samples" 0 -- check samples/*
sites=$(cat samples/*/study.ini | grep -c '^\[[a-z]*\.[a-z]*\.[a-z0-9+-]*\]')
listed=$(grep -c '^  [a-z]' "$T/out")
if [ "$sites" -eq "$listed" ] && [ "$sites" -gt 0 ]; then ok; else
    bad "check samples lists $listed traces, study.ini files name $sites"; fi
[ "$(samples_sum)" = "$before" ] && ok || bad "samples changed by ncs check"
# each study's table in columns: " Hz " at one place on every row of a study
awk '/^[^ ]/ { s++ } /^  [a-z]/ { c = index($0, " Hz "); if (!(s in at)) at[s] = c; else if (at[s] != c) bad++ }
     END { exit bad > 0 || s == 0 }' "$T/out" && ok || bad "ncs check: a study's rows out of column"
for c in "" analyse batch compare check report norms init help; do
    $NCS_WRAP "$NCS" help $c | awk 'length($0) > 79 { n++ } END { exit n > 0 }' && ok || bad "ncs help $c: lines over 79 columns"
done

# ---------------------------------------------------------------- usage
run "no command" 2 "no command given" "ncs help" --
run "unknown command" 2 "unknown command 'frobnicate'" -- frobnicate
run "unknown option" 2 "unknown option '--bogus'" -- check --bogus samples/normal
run "a value to a flag" 2 "option '--json=1' takes no value" -- analyse --json=1 samples/normal
run "unknown short option" 2 "unknown option '-Z'" -- analyse -Z samples/normal
run "check without study" 2 "no study folder given" -- check
# every command's usage error reads "ncs <command>: <message>"
run "report without -o" 2 "ncs report: no output file given" -- report samples/mmn
run "compare -o ''" 2 "ncs compare: -o: the output folder is an empty name" -- compare -o "" samples/followup-v1 samples/followup-v2
run "check without study (format)" 2 "ncs check: no study folder given" -- check
$NCS_WRAP "$NCS" --help >"$T/out" 2>"$T/err" && grep -q "^  check" "$T/out" && [ ! -s "$T/err" ] \
    && ok || bad "--help: stdout, exit 0"
$NCS_WRAP "$NCS" --version >"$T/out" && grep -q "libsndfile" "$T/out" && grep -q "fftw" "$T/out" \
    && ok || bad "--version names libsndfile and fftw"
$NCS_WRAP "$NCS" help check >"$T/out" && grep -q "Exit status" "$T/out" && ok || bad "help check"
$NCS_WRAP "$NCS" check --help >"$T/out" && grep -q "usage: ncs check" "$T/out" && ok || bad "check --help"
# every command's --help is its `ncs help COMMAND`: the exit statuses too,
# and a blank line before its options
for c in analyse batch compare check report norms init; do
    $NCS_WRAP "$NCS" $c --help >"$T/out" && $NCS_WRAP "$NCS" help $c >"$T/out2" && cmp -s "$T/out" "$T/out2" \
        && grep -q "^Exit status:" "$T/out" \
        && { ! grep -q "^Options:" "$T/out" || grep -B1 "^Options:" "$T/out" | head -1 | grep -q '^$'; } \
        && ok || bad "$c --help: not the same as ncs help $c, no exit statuses or no blank line before Options"
done
$NCS_WRAP "$NCS" help --help >"$T/out" 2>"$T/err" && grep -q "^  check" "$T/out" && ok \
    || bad "ncs help --help: not the overview, or not exit 0"

# ---------------------------------------------------------------- broken studies
# base: a valid study with two sites, written fresh for every case
mkbase() {
    d="$T/$1"
    mkdir -p "$d"
    "$MKWAVE" "$d/w.wav" float 20000 40
    "$MKWAVE" "$d/e.wav" float 20000 40
    cat >"$d/study.ini" <<EOF
[study]
id = $1

[median.right]
muscle = APB

[median.right.wrist]
file = w.wav
distance_mm = 70

[median.right.elbow]
file = e.wav
distance_mm = 230
EOF
    echo "$d"
}

# broken NAME PATTERN... : the study $T/NAME must be refused with exit 3
broken() {
    name=$1
    shift
    run "broken $name" 3 "$@" -- check "$T/$name"
}

d=$(mkbase good); run "base study is valid" 0 -- check "$d"

# every waveform that cannot be read is said in one check
d=$T/noscale; cp -r samples/normal "$d"; sed -i '/^scale_mv/d' "$d/study.ini"
run "check: every waveform error in one run" 3 "normal/median.right.wrist: integer samples" \
    "normal/fibular.left.popliteal: integer samples" -- check "$d"
[ "$(grep -c 'need scale_mv' "$T/err")" -eq "$(grep -c '^file = .*\.\(wav\|flac\)$' samples/normal/study.ini)" ] \
    && ok || bad "check: one error per integer-PCM file without scale_mv"
# sites as anatomy: known sites out of order are refused naming both; a
# name ncs cannot place is warned; an abbreviation is its site
d=$(mkbase site-order); sed -i 's/^\[median.right.wrist\]/[median.right.axilla]/' "$d/study.ini"
broken site-order "study.ini:11:" "[median.right.elbow] is listed after [median.right.axilla] (line 7) but lies distal to it"
d=$(mkbase site-unknown); sed -i 's/^\[median.right.elbow\]/[median.right.forearm]/' "$d/study.ini"
run "unknown site warned" 0 "study.ini:11: warning: [median.right.forearm]: 'forearm' is not a site ncs knows on the median nerve (palm, wrist, elbow" -- check "$d"
d=$(mkbase site-typo); sed -i 's/^\[median.right.elbow\]/[median.right.elbwo]/' "$d/study.ini"
run "a mistyped site: the likely one named" 0 "'elbwo' is not a site ncs knows on the median nerve (did you mean 'elbow'?)" -- check "$d"
d=$(mkbase site-abbrev); sed -i 's/^\[median.right.elbow\]/[median.right.elb]/' "$d/study.ini"
run "an abbreviation is placed" 0 -- check "$d"
grep -q "unknown-site\|not a site ncs knows" "$T/err" && bad "elb: warned unknown" || ok
d=$(mkbase missing-file-key); sed -i '/^file = e.wav/d' "$d/study.ini"
broken missing-file-key "study.ini:11:" "error:" "[median.right.elbow]: missing required key 'file'"

d=$(mkbase missing-distance); sed -i '/^distance_mm = 230/d' "$d/study.ini"
broken missing-distance "study.ini:11:" "missing required key 'distance_mm'"

d=$(mkbase typo-key); sed -i 's/^distance_mm = 230/distnce_mm = 230/' "$d/study.ini"
broken typo-key "study.ini:13:" "unknown key 'distnce_mm'" "(did you mean 'distance_mm'?)"

d=$(mkbase typo-nerve-key); sed -i 's/^muscle/musle/' "$d/study.ini"
broken typo-nerve-key "study.ini:5:" "(did you mean 'muscle'?)"

d=$(mkbase typo-section); sed -i 's/^\[study\]/[stdy]/' "$d/study.ini"
broken typo-section "study.ini:1:" "unknown section [stdy] (did you mean 'study'?)"

d=$(mkbase nerve-without-side); sed -i 's/^\[median.right\]$/[median]/' "$d/study.ini"
broken nerve-without-side "study.ini:4:" "section [median] names a nerve without its side"

d=$(mkbase unknown-nerve); sed -i 's/^\[median.right.elbow\]/[sciatic.right.elbow]/' "$d/study.ini"
broken unknown-nerve "study.ini:11:" "unknown nerve 'sciatic'"

d=$(mkbase unknown-side); sed -i 's/^\[median.right.elbow\]/[median.rihgt.elbow]/' "$d/study.ini"
broken unknown-side "study.ini:11:" "unknown side 'rihgt'" "did you mean 'right'"

d=$(mkbase bad-number); sed -i 's/^distance_mm = 230/distance_mm = 2E0x/' "$d/study.ini"
broken bad-number "study.ini:13:" "distance_mm = '2E0x' is not a number"

d=$(mkbase negative-distance); sed -i 's/^distance_mm = 230/distance_mm = -230/' "$d/study.ini"
broken negative-distance "study.ini:13:" "out of range"

d=$(mkbase bad-lff); sed -i 's/^id = .*/lff_hz = 3/' "$d/study.ini"
broken bad-lff "study.ini:2:" "lff_hz = '3'"

d=$(mkbase duplicate-site); printf '\n[median.right.wrist]\nfile = e.wav\ndistance_mm = 70\n' >>"$d/study.ini"
broken duplicate-site "study.ini:15:" "duplicate site [median.right.wrist] (first at line 7)"

d=$(mkbase duplicate-key); sed -i 's/^distance_mm = 230/distance_mm = 230\ndistance_mm = 240/' "$d/study.ini"
broken duplicate-key "study.ini:14:" "duplicate key 'distance_mm' (first at line 13)"

d=$(mkbase key-before-section); sed -i '1i file = w.wav' "$d/study.ini"
broken key-before-section "study.ini:1:" "before any section"

d=$(mkbase no-nerves); printf '[study]\nid = x\n' >"$d/study.ini"
broken no-nerves "study.ini" "no nerve sections"

d=$(mkbase empty-ini); : >"$d/study.ini"
broken empty-ini "study.ini" "the file is empty (0 bytes)"

d=$(mkbase file-not-found); sed -i 's/^file = e.wav/file = elbow.wav/' "$d/study.ini"
broken file-not-found "study.ini:12:" "file 'elbow.wav' not found"

d=$(mkbase outside-path); sed -i 's/^file = e.wav/file = ..\/good\/e.wav/' "$d/study.ini"
broken outside-path "study.ini:12:" "leaves the study folder"

d=$(mkbase absolute-path); sed -i "s|^file = e.wav|file = $T/good/e.wav|" "$d/study.ini"
broken absolute-path "study.ini:12:" "is an absolute path"

d=$(mkbase symlink-out); ln -s "$T/good/e.wav" "$d/link.wav"; sed -i 's/^file = e.wav/file = link.wav/' "$d/study.ini"
broken symlink-out "study.ini:12:" "link that leads outside the study folder"

d=$(mkbase huge-line); awk 'BEGIN{printf "note = "; for(i=0;i<5000;i++) printf "x"; print ""}' >>"$d/study.ini"
broken huge-line "study.ini:14:" "the limit is 1024"
# messages that say how to fix: a key without its unit, a decimal comma, a
# nerve ncs does not know (the list of those it does)
d=$(mkbase key-no-unit); sed -i '0,/^distance_mm = /s//distance = /' "$d/study.ini"
broken key-no-unit "study.ini:" "(did you mean 'distance_mm'?)"
d=$(mkbase decimal-comma); sed -i '0,/^distance_mm = \([0-9]*\)$/s//distance_mm = \1,5/' "$d/study.ini"
broken decimal-comma "study.ini:" "(use '.' for decimals:"
d=$(mkbase sensory-nerve); sed -i 's/^\[median\.right\]$/[sural.right]/; s/^\[median\.right\.\([a-z]*\)\]$/[sural.right.\1]/' "$d/study.ini"
broken sensory-nerve "study.ini:" "the motor nerves ncs knows: median, ulnar"
# a long clinical note within the limit is a note (libinih's 200-byte buffer grows)
d=$(mkbase long-note); sed -i "s/^muscle = APB$/muscle = APB\nnote = $(awk 'BEGIN{for(i=0;i<1000;i++) printf "n"}')/" "$d/study.ini"
run "a note of 1000 characters" 0 -- check "$d"

d=$(mkbase binary-ini); head -c 600 "$d/w.wav" >"$d/study.ini"
broken binary-ini "study.ini:1:" "must be a text file"

d=$(mkbase no-study-ini); rm "$d/study.ini"
broken no-study-ini "no-study-ini" "no study.ini in this folder"
# the folder above the studies, by a slip: ncs batch is named
run "a folder of studies given to analyse" 3 "samples: error: no study.ini in this folder" \
    "of its folders hold one (" "'ncs batch' analyses a folder of studies" -- analyse samples

d=$(mkbase truncated-wav); head -c 1000 "$T/good/e.wav" >"$d/e.wav"
broken truncated-wav "e.wav: error:" "median.right.elbow" "truncated"

d=$(mkbase truncated-flac); "$MKWAVE" "$d/f.flac" flac 20000 40; head -c $(($(wc -c <"$d/f.flac") / 2)) "$d/f.flac" >"$d/e.flac"
sed -i 's/^file = e.wav/file = e.flac\nscale_mv = 20/' "$d/study.ini"
broken truncated-flac "e.flac: error:" "truncated"

d=$(mkbase empty-wav); : >"$d/e.wav"
broken empty-wav "e.wav: error:" "the file is empty (0 bytes)"

d=$(mkbase garbage-wav); echo "this is a shopping list, not a waveform" >"$d/e.wav"
broken garbage-wav "e.wav: error:" "not a waveform libsndfile can read"

d=$(mkbase nan-wav); "$MKWAVE" "$d/e.wav" float 20000 40 nan
broken nan-wav "e.wav: error:" "is not a finite number"

d=$(mkbase short-record); "$MKWAVE" "$d/e.wav" float 20000 3
broken short-record "e.wav: error:" "ms long" "accepted: 5 ms"

d=$(mkbase low-rate-range); "$MKWAVE" "$d/e.wav" float 1000 40
broken low-rate-range "e.wav: error:" "sample rate 1000 Hz is outside"

d=$(mkbase bad-channel); sed -i 's/^distance_mm = 230/distance_mm = 230\nchannel = 2/' "$d/study.ini"
broken bad-channel "e.wav: error:" "channel = 2 but the file has 1 channel"

d=$(mkbase pcm-no-scale); "$MKWAVE" "$d/e.wav" pcm16 20000 40
broken pcm-no-scale "e.wav: error:" "need scale_mv"

d=$(mkbase csv-text); printf 'time_ms,mv\n0,0.1\n0.05,zero\n' >"$d/e.csv"; sed -i 's/^file = e.wav/file = e.csv/' "$d/study.ini"
broken csv-text "e.csv: error:" "line 3: 'zero' is not a finite number"

d=$(mkbase csv-nan); awk 'BEGIN{for(i=0;i<800;i++) printf "%.2f,%s\n", i*0.05, (i==400?"NaN":"0.1")}' >"$d/e.csv"
sed -i 's/^file = e.wav/file = e.csv/' "$d/study.ini"
broken csv-nan "e.csv: error:" "not a finite number"

d=$(mkbase csv-uneven); awk 'BEGIN{for(i=0;i<800;i++) printf "%.3f,0.1\n", (i<400 ? i*0.05 : i*0.06)}' >"$d/e.csv"
sed -i 's/^file = e.wav/file = e.csv/' "$d/study.ini"
broken csv-uneven "e.csv: error:" "not evenly spaced"

d=$(mkbase csv-no-rate); awk 'BEGIN{for(i=0;i<800;i++) print "0.1"}' >"$d/e.csv"
sed -i 's/^file = e.wav/file = e.csv/' "$d/study.ini"
broken csv-no-rate "e.csv: error:" "needs rate_hz"

d=$(mkbase csv-columns); awk 'BEGIN{for(i=0;i<800;i++) print i*0.05 ",0.1,7"}' >"$d/e.csv"
sed -i 's/^file = e.wav/file = e.csv/' "$d/study.ini"
broken csv-columns "e.csv: error:" "more than 2 columns"

# a ';'-separated export with decimal commas: said so
d=$(mkbase csv-semicolon); awk 'BEGIN{for(i=0;i<800;i++) printf "%d,%02d;0,1\n", i/20, (i%20)*5}' >"$d/e.csv"
sed -i 's/^file = e.wav/file = e.csv/' "$d/study.ini"
broken csv-semicolon "e.csv: error:" "line 1 has more than 2 columns; the file looks ';'-separated with decimal commas (0,25)"

# tab-separated with decimal commas, and a time column in seconds: said so
d=$(mkbase csv-tab-comma); awk 'BEGIN{for(i=0;i<800;i++) printf "%d,%02d\t0,1\n", i/20, (i%20)*5}' >"$d/e.csv"
sed -i 's/^file = e.wav/file = e.csv/' "$d/study.ini"
broken csv-tab-comma "e.csv: error:" "the file looks tab-separated with decimal commas (0,25)"
d=$(mkbase csv-seconds); awk 'BEGIN{for(i=0;i<800;i++) printf "%.5f,0.1\n", i*0.00005}' >"$d/e.csv"
sed -i 's/^file = e.wav/file = e.csv/' "$d/study.ini"
broken csv-seconds "e.csv: error:" "sample rate 20000000 Hz is outside" "if it is in seconds, say so in the header, time_s,value"

# a stereo WAV read without channel =: warned, and not with it
d=$(mkbase stereo)
python3 -c "
import wave, struct, math
w = wave.open('$d/e.wav', 'wb'); w.setnchannels(2); w.setsampwidth(2); w.setframerate(20000)
w.writeframes(b''.join(struct.pack('<hh', int(3000 * math.sin(i / 9.0)), 0) for i in range(800)))
w.close()"
sed -i 's/^distance_mm = 230/distance_mm = 230\nscale_mv = 10/' "$d/study.ini"
run "stereo wav warned" 0 "stereo/median.right.elbow: warning: the file holds 2 channels and channel 1 was read" -- check "$d"
run "stereo wav warned by analyse" 0 "stereo/median.right.elbow: warning: the file holds 2 channels" -- analyse --json "$d"
grep -q '"code": "channel"' "$T/out" && ok || bad "stereo wav: the channel warning is not in results.json"
sed -i 's/^scale_mv = 10/scale_mv = 10\nchannel = 1/' "$d/study.ini"
run "stereo wav, channel given" 0 -- check "$d"
grep -q "channels and channel 1" "$T/err" && bad "stereo wav: warned though channel = 1 was given" || ok

# ---------------------------------------------------------------- every error at once (issue 15)
# five slips in one study.ini: each said with its line, in line order, in one
# run, by every command; exit 3 and nothing written
d=$(mkbase five-slips)
sed -i 's/^id = five-slips/id = five-slips\ntemperature = 33/; s/^muscle = APB/musle = APB/; s/^file = w.wav/file = W.WAV/; s/^distance_mm = 70/distance_mm = 70,5/; s/^distance_mm = 230/distnce_mm = 230/' "$d/study.ini"
for cmd in check analyse; do
    run "five slips ($cmd)" 3 "five-slips/study.ini:3: error: unknown key 'temperature' in [study] (did you mean 'temperature_c'?)" \
        "five-slips/study.ini:6: error: unknown key 'musle' in nerve section [median.right] (did you mean 'muscle'?)" \
        "five-slips/study.ini:9: error: [median.right.wrist]: file 'W.WAV' not found in $d; there is 'w.wav' (names are case-sensitive" \
        "five-slips/study.ini:10: error: distance_mm = '70,5' is not a number (use '.' for decimals: 70.5)" \
        "five-slips/study.ini:14: error: unknown key 'distnce_mm' in site section [median.right.elbow] (did you mean 'distance_mm'?)" \
        -- $cmd "$d"
    [ "$(grep -c ': error: ' "$T/err")" -eq 5 ] && ok || bad "five slips ($cmd): $(grep -c ': error: ' "$T/err") errors, want 5 (none missing-key)"
    grep -n ': error: ' "$T/err" | sed 's/.*study.ini:\([0-9]*\):.*/\1/' | sort -n -c 2>/dev/null \
        && ok || bad "five slips ($cmd): errors not in line order"
done
run "five slips (report)" 3 "five-slips/study.ini:14: error: unknown key 'distnce_mm'" -- report "$d" -o "$T/five.pdf"
[ ! -e "$T/five.pdf" ] && ok || bad "five slips: a report was written"
mkdir -p "$T/five-root"; cp -r "$d" "$T/five-root/"
run "five slips (batch)" 1 "five-slips/study.ini:3: error: unknown key 'temperature'" \
    "five-slips/study.ini:14: error: unknown key 'distnce_mm'" -- batch -q "$T/five-root" -o "$T/five-out"
grep -q "unknown key 'temperature' in \[study\] (did you mean 'temperature_c'?) (and 4 more errors: see ncs check)" "$T/five-out/batch.json" \
    && ok || bad "batch.json records the first error and how many more"
# -q silences warnings, never errors
$NCS_WRAP "$NCS" check -q "$d" 2>"$T/err" >/dev/null
[ "$(grep -c ': error: ' "$T/err")" -eq 5 ] && ok || bad "check -q: every error still printed"
# 25 unknown keys: 20 said, and how many more
d=$(mkbase many-slips)
awk '{ print } /^\[median.right.elbow\]/ { for (i = 1; i <= 25; i++) print "bogus" i " = 1" }' "$d/study.ini" >"$d/s" && mv "$d/s" "$d/study.ini"
run "25 errors" 3 "many-slips/study.ini: error: 5 more errors not shown (the first 20 are)" -- check "$d"
[ "$(grep -c ': error: ' "$T/err")" -eq 21 ] && ok || bad "25 errors: $(grep -c ': error: ' "$T/err") lines, want 20 and the count"
# a bad section header: its own error, its keys skipped; the parse goes on
d=$(mkbase bad-header); sed -i 's/^\[median.right.elbow\]/[median.rihgt.elbow]\nbogus = 1/; s/^distance_mm = 70/distance_mm = 0/' "$d/study.ini"
run "bad header and a bad value" 3 "study.ini:9: error: distance_mm = 0 is out of range" \
    "study.ini:11: error: unknown side 'rihgt'" -- check "$d"
[ "$(grep -c ': error: ' "$T/err")" -eq 2 ] && ok || bad "bad header: $(grep -c ': error: ' "$T/err") errors, want 2 (keys of the bad section skipped)"
# not text: the first error stops the parse
d=$(mkbase binary-stop); printf 'bogus = 1\n\001\nalso = 2\n' >>"$d/study.ini"
run "binary stops the parse" 3 "must be a text file" -- check "$d"
! grep -q "also" "$T/err" && ok || bad "a key after binary data was read"

# ---------------------------------------------------------------- messages (issue 15)
d=$(mkbase unicode-id); sed -i 's/^id = unicode-id/id = Müller-2024/' "$d/study.ini"
run "a Unicode id" 0 -- check "$d"
grep -q "^Müller-2024 " "$T/out" && ok || bad "id Müller-2024 listed"
d=$(mkbase bidi-id); printf '[study]\nid = ab\342\200\256cd\n' >"$d/s"; sed '1,2d' "$d/study.ini" >>"$d/s"; mv "$d/s" "$d/study.ini"
broken bidi-id "study.ini:2:" "use letters (accented and other alphabets too)"
d=$(mkbase latin1-patient); printf '[study]\npatient = M\374ller\n' >"$d/s"; sed '1,2d' "$d/study.ini" >>"$d/s"; mv "$d/s" "$d/study.ini"
broken latin1-patient "study.ini:2:" "patient: the text is not UTF-8" "save study.ini as UTF-8"
d=$(mkbase upper-key); sed -i 's/^file = e.wav/FILE = e.wav/' "$d/study.ini"
broken upper-key "study.ini:12:" "unknown key 'FILE' in site section [median.right.elbow] (did you mean 'file'?)"
d=$(mkbase no-near-key); sed -i 's/^muscle = APB/electrode = bar/' "$d/study.ini"
broken no-near-key "study.ini:5:" "unknown key 'electrode' in nerve section [median.right]; its keys are muscle, temperature_c, polarity, note"
d=$(mkbase near-other-key); sed -i 's/^file = e.wav/file = e.wav\nmusle = APB/' "$d/study.ini"
broken near-other-key "study.ini:13:" "(did you mean 'muscle'?); that key belongs in a nerve section"
d=$(mkbase file-near-miss); sed -i 's/^file = e.wav/file = ee.wav/' "$d/study.ini"
broken file-near-miss "study.ini:12:" "file 'ee.wav' not found" "did you mean 'e.wav'?"
# the other side's recording is no near miss (review: 'median_r_elbow.csv' missing
# suggested 'median_l_elbow.csv', the other arm)
d=$(mkbase file-other-side); mv "$d/e.wav" "$d/median_l_elbow.wav"
sed -i 's/^file = e.wav/file = median_r_elbow.wav/' "$d/study.ini"
broken file-other-side "study.ini:12:" "file 'median_r_elbow.wav' not found" \
    "'median_l_elbow.wav' is there, but that is the other side's"
grep -q "did you mean 'median_l_elbow.wav'" "$T/err" && bad "other side suggested" || ok

# ---------------------------------------------------------------- plausibility (issue 15)
d=$(mkbase distal-cm); sed -i 's/^distance_mm = 70/distance_mm = 7/' "$d/study.ini"
run "a distal distance in cm" 0 "distal-cm/median.right.wrist: warning: distance_mm = 7 (the distal site's" \
    "is outside 30-150 mm: was 70 mm meant? (cm written for mm)" -- check "$d"
d=$(mkbase segment-long); sed -i 's/^distance_mm = 230/distance_mm = 900/' "$d/study.ini"
run "a segment too long" 0 "segment-long/median.right.elbow: warning: distance_mm = 900 (the segment wrist-elbow) is outside 10-600 mm: was 90 mm meant? (a digit too many?)" -- check "$d"
run "plausible distances: no warning" 0 -- check "$T/good"
! grep -q "implausible\|outside 10-600\|outside 30-150" "$T/err" && ok || bad "the base study's distances warned"

# the first invalid study stops `ncs check` with exit 3, after the good one
run "stops at first invalid" 3 "unknown key 'distnce_mm'" -- check "$T/good" "$T/typo-key" "$T/good"
grep -q "^good" "$T/out" && ok || bad "valid study listed before the invalid one"

# a not-a-folder argument
run "not a folder" 3 "not a folder" -- check "$T/good/study.ini"

# warnings: a low sample rate is accepted with a warning (and -q silences it)
d=$(mkbase low-rate); "$MKWAVE" "$d/e.wav" float 4000 40
run "low-rate warning" 0 "low-rate/median.right.elbow: warning: sample rate 4000 Hz" -- check "$d"
$NCS_WRAP "$NCS" check -q "$d" 2>"$T/err" >/dev/null && [ ! -s "$T/err" ] && ok || bad "-q silences warnings"


# ---------------------------------------------------------------- analyse, batch
for s in samples/*/; do
    $NCS_WRAP "$NCS" analyse -q "$s" >"$T/out" 2>"$T/err" && grep -q "^Study " "$T/out" \
        && ok || bad "analyse $s"
done
$NCS_WRAP "$NCS" analyse -q --json samples/mmn >"$T/out" && grep -q '"schema": "ncs-results/1"' "$T/out" \
    && ! grep -q 'nan' "$T/out" && ok || bad "analyse --json"
$NCS_WRAP "$NCS" analyse -q samples/mmn -o "$T/an" >/dev/null && [ -s "$T/an/results.json" ] \
    && head -1 "$T/an/results.csv" | grep -q "onset_ms" && ! ls "$T/an"/.*.tmp.* >/dev/null 2>&1 \
    && ok || bad "analyse -o writes results.json and results.csv, no temporary left"
run "analyse broken study" 3 "unknown key 'distnce_mm'" -- analyse "$T/typo-key"
run "analyse two studies" 2 "one study folder at a time" -- analyse samples/mmn samples/cidp
run "batch without -o" 2 "no output folder given" -- batch samples
mkdir -p "$T/root"
cp -r samples/mmn samples/normal "$T/root/"
cp -r "$T/truncated-wav" "$T/root/zz-broken"
run "batch goes on after a failure" 1 "truncated" -- batch "$T/root" -o "$T/bout"
[ -s "$T/bout/mmn/results.json" ] && [ -s "$T/bout/normal/results.json" ] && ok \
    || bad "batch wrote the good studies"
grep -q '"failed": 1' "$T/bout/batch.json" && grep -q "zz-broken" "$T/bout/batch.json" \
    && ok || bad "batch.json records the failed study"
rows=$(grep -c "^mmn," "$T/bout/summary.csv")
[ "$rows" -eq 12 ] && ok || bad "summary.csv: $rows rows for mmn, want 12 segments"
# a batch's analysis warnings name the study's folder (its id names the output's)
mkdir -p "$T/wroot/patient-7"
cp -r samples/cidp "$T/wroot/patient-7/visit-2"
$NCS_WRAP "$NCS" batch -j 1 "$T/wroot" -o "$T/wout" >/dev/null 2>"$T/err"
grep -q "^ncs: $T/wroot/patient-7/visit-2/median.right.axilla: warning: uncertain" "$T/err" \
    && ! grep -q "^ncs: cidp/" "$T/err" && [ -s "$T/wout/cidp/results.json" ] && ok \
    || bad "batch: a warning names the study's id, not its folder: $(head -1 "$T/err")"

# ---------------------------------------------------------------- batch at scale
[ "$(head -1 "$T/bout/summary.csv")" = "study,nerve,segment,distance_mm,cv_m_s,amp_drop_pct,area_drop_pct,dur_increase_pct,entrapment_site,block,findings,patient" ] \
    && ok || bad "summary.csv columns"
grep -q '^mmn,median.right,elbow-axilla,120.0,.*,no,definite,efns2010-mmn:definite (area drop' "$T/bout/summary.csv" \
    && ok || bad "summary.csv carries block and findings"
# a root with the samples twice over (new ids) and a broken study
NS=$(ls -d samples/*/ | wc -l) # the samples; the root holds 2 NS + 1 studies
mkdir -p "$T/big"
for s in samples/*/; do
    n=$(basename "$s")
    cp -r "$s" "$T/big/$n"
    cp -r "$s" "$T/big/$n-copy"
    sed -i "s/^id = .*/id = $n-copy/" "$T/big/$n-copy/study.ini"
done
cp -r "$T/truncated-wav" "$T/big/zz-broken"
big_sum() { find "$T/big" -type f -exec md5sum {} + | sort; }
big_before=$(big_sum)
$NCS_WRAP "$NCS" batch -q -j 3 "$T/big" -o "$T/one" 2>"$T/err"
[ $? -eq 1 ] && [ "$(ls "$T/one" | wc -l)" -eq $((2 * NS + 2)) ] && grep -q '"failed": 1' "$T/one/batch.json" \
    && ok || bad "batch -j 3: $((2 * NS)) studies written, the broken one recorded, exit 1"
# a worker that crashes costs only the study it was on
LD_PRELOAD=$INJECT NCS_INJECT_CRASH=/mnd/median_r_wrist ASAN_OPTIONS=verify_asan_link_order=0 $NCS_WRAP "$NCS" batch -q -j 2 "$T/big" -o "$T/crash" 2>"$T/err"
rc=$?
[ $rc -eq 1 ] && grep -q '"failed": 2' "$T/crash/batch.json" && grep -q "crashed (signal 6)" "$T/crash/batch.json" \
    && [ "$(ls "$T/crash" | wc -l)" -eq $((2 * NS + 1)) ] && ok || bad "worker crash: exit $rc, $(ls "$T/crash" | wc -l) entries"
# the same results whatever the number of jobs
$NCS_WRAP "$NCS" batch -q -j 1 "$T/big" -o "$T/one1" 2>/dev/null
(cd "$T/one" && find . -name 'results.*' | sort | xargs md5sum) >"$T/sum3"
(cd "$T/one1" && find . -name 'results.*' | sort | xargs md5sum) >"$T/sum1"
cmp -s "$T/sum1" "$T/sum3" && cmp -s "$T/one/summary.csv" "$T/one1/summary.csv" \
    && ok || bad "-j 1 and -j 3 give identical results"
# shards run apart and merged give the single run's summary.csv
for i in 0 1 2; do $NCS_WRAP "$NCS" batch -q --shard $i/3 "$T/big" -o "$T/sh$i" 2>/dev/null; done
# the same shard folders split another way (one shard fewer): the earlier
# split's study folders are warned, not silently kept beside the new ones
cp -r "$T/sh0" "$T/resplit"
$NCS_WRAP "$NCS" batch --shard 1/2 "$T/big" -o "$T/resplit" >/dev/null 2>"$T/err"
grep -q "resplit: warning: [0-9]* folders of results from an earlier run whose studies this run did not analyse" "$T/err" \
    && ok || bad "re-split shard: leftover results not warned: $(grep warning "$T/err" | head -2)"
run "merge shards (one study failed: exit 1, as one run)" 1 -- batch --merge "$T/sh0" "$T/sh1" "$T/sh2" -o "$T/merged"
cmp -s "$T/merged/summary.csv" "$T/one/summary.csv" && ok || bad "merged shards' summary.csv differs from one run"
grep -q '"failed": 1' "$T/merged/batch.json" && grep -q "\"n_studies\": $((2 * NS + 1))" "$T/merged/batch.json" \
    && ok || bad "merged batch.json counts"
n0=$(grep -c '"status"' "$T/sh0/batch.json"); n1=$(grep -c '"status"' "$T/sh1/batch.json")
w0=$(((2 * NS + 1 + 2) / 3)); w1=$(((2 * NS + 1 + 1) / 3))
[ "$n0" -eq $w0 ] && [ "$n1" -eq $w1 ] && ok || bad "shard split: $n0 and $n1 studies, want $w0 and $w1"
run "merge a shard twice" 3 "shard 0/3 is given twice" -- batch --merge "$T/sh0" "$T/sh0" -o "$T/m2"
run "bad shard" 2 "give I/N" -- batch --shard 3/3 "$T/big" -o "$T/x"
# duplicate ids: refused before any work
mkdir -p "$T/dup"
cp -r samples/mmn "$T/dup/a"; cp -r samples/mmn "$T/dup/b"
run "duplicate ids" 3 "study id 'mmn' is also the id of $T/dup/a" -- batch "$T/dup" -o "$T/dupout"
[ ! -e "$T/dupout/mmn" ] && ok || bad "duplicate ids: nothing analysed"
# a study analysed once, then broken (a key misspelt): the batch fails it
# and its earlier results go, never read as current; the other study's stay
rm -rf "$T/stalebatch" && mkdir -p "$T/stalebatch" && cp -r samples/mmn samples/normal "$T/stalebatch/"
$NCS_WRAP "$NCS" batch -q "$T/stalebatch" -o "$T/stalebatch-out" 2>/dev/null
sed -i 's/^distance_mm = 70/distnce_mm = 70/' "$T/stalebatch/mmn/study.ini"
$NCS_WRAP "$NCS" batch -q "$T/stalebatch" -o "$T/stalebatch-out" 2>/dev/null
rc=$?
[ "$rc" -eq 1 ] && [ ! -e "$T/stalebatch-out/mmn/results.json" ] && [ ! -e "$T/stalebatch-out/mmn/results.csv" ] \
    && [ -s "$T/stalebatch-out/normal/results.json" ] && ok \
    || bad "a study that now fails to load keeps its earlier results (exit $rc)"
# (nor with --resume)
cp -r samples/mmn/study.ini "$T/stalebatch/mmn/study.ini"
$NCS_WRAP "$NCS" batch -q --resume "$T/stalebatch" -o "$T/stalebatch-out" 2>/dev/null
sed -i 's/^distance_mm = 70/distnce_mm = 70/' "$T/stalebatch/mmn/study.ini"
$NCS_WRAP "$NCS" batch -q --resume "$T/stalebatch" -o "$T/stalebatch-out" 2>/dev/null
[ ! -e "$T/stalebatch-out/mmn/results.json" ] && ok || bad "--resume: a study that now fails keeps its results"
# ... however ROOT was spelled: analysed from ROOT's parent, then failing when
# run from / with ROOT's full path
cp samples/mmn/study.ini "$T/stalebatch/mmn/study.ini"
(cd "$T" && $NCS_WRAP "$NCS" batch -q stalebatch -o stalebatch-out 2>/dev/null)
sed -i 's/^distance_mm = 70/distnce_mm = 70/' "$T/stalebatch/mmn/study.ini"
case "$T" in /*) tabs=$T ;; *) tabs=$(pwd)/$T ;; esac
(cd / && $NCS_WRAP "$NCS" batch -q "$tabs/stalebatch" -o "$tabs/stalebatch-out" 2>/dev/null)
[ ! -e "$T/stalebatch-out/mmn/results.json" ] && [ -s "$T/stalebatch-out/normal/results.json" ] \
    && ok || bad "a failing study's results stay when ROOT is spelled another way"
# an empty folder of the user's named as the failing study's id: kept
mkdir -p "$T/stalebatch-out/mmn"
$NCS_WRAP "$NCS" batch -q "$T/stalebatch" -o "$T/stalebatch-out" 2>/dev/null
[ -d "$T/stalebatch-out/mmn" ] && ok || bad "a failing study removed an empty folder it had not written"
# resume after a simulated interruption: outputs missing, a stale temporary
# and an old file left behind; resume completes it with identical results
cp -r "$T/one1" "$T/res"
rm -f "$T/res/cidp/results.json" "$T/res/mnd-copy/results.csv" "$T/res/summary.csv"
rm -rf "$T/res/normal"
printf '{"half": ' >"$T/res/cidp/.results.json.tmp.999"
# (--resume goes by content: a touched file is unchanged; tests/faults.sh
# edits one)
touch "$T/big/inching/study.ini"
$NCS_WRAP "$NCS" batch -q --resume -j 2 "$T/big" -o "$T/res" 2>/dev/null
grep -q '"analysed": 3' "$T/res/batch.json" && grep -q "\"up_to_date\": $((2 * NS - 3))" "$T/res/batch.json" \
    && ok || bad "resume: 3 studies analysed again, $((2 * NS - 3)) up to date"
(cd "$T/res" && find . -name 'results.*' | sort | xargs md5sum) >"$T/sumr"
cmp -s "$T/sum1" "$T/sumr" && cmp -s "$T/res/summary.csv" "$T/one1/summary.csv" \
    && [ -z "$(find "$T/res" -name '.*tmp*')" ] && ok || bad "resume: results identical to one run, no temporary left"
# other criteria: not up to date
$NCS_WRAP "$NCS" batch -q --resume --criteria all "$T/big" -o "$T/res" 2>/dev/null
grep -q '"up_to_date": 0' "$T/res/batch.json" && ok || bad "resume with other criteria analyses again"
# kill -9 in the middle, then resume: only whole files, then the same results
rm -rf "$T/kill"
$NCS_WRAP "$NCS" batch -q -j 1 --no-progress "$T/big" -o "$T/kill" 2>/dev/null &
kpid=$!
sleep 0.3
kill -9 $kpid 2>/dev/null
wait $kpid 2>/dev/null
sleep 0.2
partial=0
for f in $(find "$T/kill" -name results.json 2>/dev/null); do
    head -c 1 "$f" | grep -q '{' && tail -c 3 "$f" | grep -q '}' || partial=$((partial + 1))
done
[ "$partial" -eq 0 ] && ok || bad "kill -9 left $partial partial results.json"
$NCS_WRAP "$NCS" batch -q --resume "$T/big" -o "$T/kill" 2>/dev/null
(cd "$T/kill" && find . -name 'results.*' | sort | xargs md5sum) >"$T/sumk"
cmp -s "$T/sum1" "$T/sumk" && cmp -s "$T/kill/summary.csv" "$T/one1/summary.csv" \
    && ok || bad "kill -9 and --resume: results differ from one run"
# the recipes for several machines: a Slurm array (its environment faked
# here) and GNU parallel (on this machine only, sshlogin ":")
for i in 0 1 2; do
    SLURM_ARRAY_TASK_ID=$i SLURM_ARRAY_TASK_COUNT=3 SLURM_CPUS_PER_TASK=1 NCS="$NCS" \
        sh scripts/shards-slurm.sbatch "$T/big" "$T/slurm" -q 2>/dev/null
done
$NCS_WRAP "$NCS" batch -q --merge "$T"/slurm/shard-* -o "$T/slurm/merged"
cmp -s "$T/slurm/merged/summary.csv" "$T/one/summary.csv" && ok || bad "slurm array shards merge to one run"
if command -v parallel >/dev/null 2>&1; then
    NCS="$NCS" sh scripts/shards-parallel.sh "$T/big" "$T/gnup" 4 ":" -q 2>/dev/null
    cmp -s "$T/gnup/merged/summary.csv" "$T/one/summary.csv" && ok || bad "GNU parallel shards merge to one run"
else
    echo "e2e: GNU parallel not installed: scripts/shards-parallel.sh not run" >&2
fi
# progress line on request
$NCS_WRAP "$NCS" batch --progress -j 2 samples -o "$T/prog" 2>"$T/err" >/dev/null
grep -q "$NS/$NS studies, 0 failed" "$T/err" && ok || bad "--progress draws done/total"
# ---------------------------------------------------------------- criteria, norms
$NCS_WRAP "$NCS" analyse -q samples/mmn >"$T/out" 2>&1 \
    && grep -qF "efns2010-mmn: definite CB in 2 nerves (median.right elbow-axilla; ulnar.right wrist-below-elbow)" "$T/out" \
    && grep -qE "median.right elbow-axilla: definite: area drop 7[0-9]\.[0-9]% >= 50%; duration increase [0-9.]+% <= 30%" "$T/out" && ok || bad "analyse mmn states the definite blocks with reasons"
$NCS_WRAP "$NCS" analyse -q --criteria all --json samples/cidp >"$T/out" \
    && grep -qF '"criteria_evaluated": [' "$T/out" && grep -qF '"code": "dml-demyelinating"' "$T/out" \
    && grep -qF 'ean2021-cidp: demyelinating-range values in' "$T/out" && ok || bad "--criteria all"
$NCS_WRAP "$NCS" analyse -q --criteria ean2021-cidp --json samples/mmn >"$T/out" \
    && grep -qF '"block": "cb"' "$T/out" && grep -qF '"criteria": "ean2021-cidp"' "$T/out" \
    && ok || bad "--criteria ean2021-cidp fills block"
# one recording filed as two sites (the same file twice, or a repeat of the
# distal stimulation saved under the proximal name) must never read as a block
# or a slowing: the onsets cannot be 0 ms apart over 100 mm
cp -r samples/mmn "$T/twice"
sed -i 's/^file = ulnar_r_above-elbow\.\(.*\)$/file = ulnar_r_below-elbow.\1/' "$T/twice/study.ini"
run "one recording filed as two sites" 0 \
    "mmn/ulnar.right.above-elbow: warning: uncertain: onset" "which no nerve conducts" -- \
    analyse -o "$T/twice-out" "$T/twice"
# results.csv: nerve $2, site $4, flags $17, segment $18, segment_abnormal $28, block $30
awk -F, '$2 == "ulnar.right" && $4 == "above-elbow" && $17 ~ /uncertain/ { f++ }
         $2 == "ulnar.right" && $18 == "below-elbow-above-elbow" && $30 == "not-evaluable" { s++ }
         $2 == "ulnar.right" && $18 ~ /above-elbow/ && ($30 == "definite" || $30 == "probable") { b++ }
         $2 == "ulnar.right" && $18 == "below-elbow-above-elbow" && $28 ~ /cv-slow/ { b++ }
         END { exit !(f == 1 && s == 1 && b == 0) }' "$T/twice-out/results.csv" \
    && ok || bad "one recording filed as two sites: its segments decide nothing"
# a manual onset 3 ms early: it is not taken as exact against its neighbour,
# and no finding or cv-slow rests on it
cp -r samples/mmn "$T/manual-off"
sed -i 's/^\[median\.right\.elbow\]$/[median.right.elbow]\nonset_ms = 4.0/' "$T/manual-off/study.ini"
run "a manual onset far off" 0 "mmn/median.right.elbow: warning: uncertain: onset" \
    "an onset (this one placed by hand), the order of the sites or a distance is wrong" -- \
    analyse --criteria all -o "$T/manual-off-out" "$T/manual-off"
awk -F, '$2 == "median.right" && $18 == "wrist-elbow" && $30 == "not-evaluable" { s++ }
         $2 == "median.right" && $18 != "" && $28 ~ /cv-slow/ { b++ }
         END { exit !(s == 1 && b == 0) }' "$T/manual-off-out/results.csv" \
    && ! grep -q '^mmn,median\.right,.*cv-demyelinating' "$T/manual-off-out/results.csv" \
    && ok || bad "a manual onset far off: no CV finding or code rests on it"
# a peak placed by hand on the flat baseline is no negative peak
cp -r samples/mmn "$T/flatpeak"
sed -i 's/^\[median\.right\.wrist\]$/[median.right.wrist]\npeak_ms = 25.3/' "$T/flatpeak/study.ini"
run "a manual peak on the baseline" 3 "flatpeak/study.ini:11: error: [median.right.wrist]: peak_ms = 25.3 (placed by hand)" \
    "not a negative peak" -- analyse "$T/flatpeak"
# an output folder that cannot be made is refused before the analysis
# (nothing printed on stdout)
: >"$T/notafolder"
run "analyse -o under a file" 4 "cannot make or open the output folder" "nothing was analysed" \
    -- analyse samples/normal -o "$T/notafolder/out"
[ ! -s "$T/out" ] && ok || bad "analyse -o under a file printed the table before failing"
# a CSV cut short between lines reads as a shorter record: warned
cp -r samples/mmn "$T/cutcsv"
head -c 5003 samples/mmn/median_r_wrist.csv >"$T/cutcsv/median_r_wrist.csv"
run "a CSV cut short" 0 \
    "mmn/median.right.wrist: warning: median_r_wrist.csv holds 28.9 ms, the nerve's other traces up to 45.0 ms" \
    -- analyse "$T/cutcsv"
# one recording filed under two sites (the elbow file copied as the axilla
# one): no block, and the segment says why
cp -r samples/mmn "$T/dupsite"
cp "$T/dupsite/median_r_elbow.csv" "$T/dupsite/median_r_axilla.csv"
run "one recording as two sites" 0 \
    "mmn/median.right.elbow-axilla: warning: elbow and axilla hold the same recording" -- \
    analyse "$T/dupsite"
grep -q "elbow-axilla not-evaluable: elbow and axilla hold the same recording" "$T/out" \
    && ok || bad "one recording as two sites: the segment does not say why it is not evaluable"
# a distance in cm: the segment is inconsistent and says the distance may be wrong
cp -r samples/mmn "$T/cm"
awk '/^\[ulnar\.right\.below-elbow\]$/ { f = 1 } f && /^distance_mm/ { $0 = "distance_mm = 21"; f = 0 } { print }' \
    samples/mmn/study.ini >"$T/cm/study.ini"
run "a distance in cm" 0 "mmn/ulnar.right.wrist-below-elbow: warning: CV " \
    "a distance is wrong: the segment is not evaluable; distance_mm = 21: was 210 mm meant? (cm written for mm)" \
    -- analyse -o "$T/cm-out" "$T/cm"
awk -F, '$2 == "ulnar.right" && $18 == "wrist-below-elbow" && $30 == "not-evaluable" && $28 !~ /cv-slow/ { s++ }
         END { exit !(s == 1) }' "$T/cm-out/results.csv" \
    && ok || bad "a distance in cm: not evaluable, no cv-slow"
# ... and only that segment: its sites' onsets are not made doubtful, so the
# next segment still decides (review: a typo cost the definite block beyond)
awk -F, '$2 == "ulnar.right" && $17 ~ /uncertain/ { s++ } END { exit !(s == 0) }' "$T/cm-out/results.csv" \
    && ok || bad "a distance in cm: a site of the nerve flagged uncertain"
# ... and the report's summary page marks that CV and names the segment
if command -v gnuplot >/dev/null 2>&1; then
    "$NCS" report -q "$T/cm" -o "$T/cm.pdf" 2>/dev/null
    pdftotext -f 1 -l 1 "$T/cm.pdf" - 2>/dev/null >"$T/cm1.txt"
    grep -qE '^[0-9]+\.[0-9]\?$' "$T/cm1.txt" && tr '\n' ' ' <"$T/cm1.txt" \
        | grep -q "Sites disagree (onset order, CV outside 10-100 m/s, or duration): not evaluable: ulnar.right.wrist-below-elbow" \
        && ok || bad "a distance in cm: the report's summary page neither marks the CV nor names the segment"
fi
cp -r samples/mmn "$T/cm2"
awk '/^\[median\.right\.elbow\]$/ { f = 1 } f && /^distance_mm/ { $0 = "distance_mm = 23"; f = 0 } { print }' \
    samples/mmn/study.ini >"$T/cm2/study.ini"
"$NCS" analyse -q -o "$T/cm2-out" "$T/cm2" >/dev/null 2>&1
awk -F, '$2 == "median.right" && $18 == "elbow-axilla" && $30 == "definite" { s++ } END { exit !(s == 1) }' \
    "$T/cm2-out/results.csv" && ok || bad "a distance in cm before a block: the block beyond was lost"
# an amplitude no CMAP has (a unit mix-up): flagged, warned, and it decides
# nothing (results.csv: flags $17, segment $18, block $30, block_because $31)
cp -r samples/normal "$T/units"
awk '/^\[median\.right\.axilla\]$/ { f = 1 } f && /^scale_mv/ { $0 = "scale_mv = 2000"; f = 0 } { print }' \
    samples/normal/study.ini >"$T/units/study.ini"
run "an amplitude above 40 mV" 0 "normal/median.right.axilla: warning: amplitude 763 mV is above 40 mV, more than any CMAP: are the units right?" \
    "this site decides no block or finding" -- analyse -o "$T/units-out" "$T/units"
awk -F, '$2 == "median.right" && $4 == "axilla" && $17 ~ /implausible-amplitude/ && $18 == "elbow-axilla" \
         && $30 == "not-evaluable" && $31 ~ /implausible-amplitude/ { s++ }
         END { exit !(s == 1) }' "$T/units-out/results.csv" \
    && ok || bad "an amplitude above 40 mV: flagged, and its segment not evaluable"
grep -q '"code": "implausible-amplitude"' "$T/units-out/results.json" && ok \
    || bad "results.json warnings lack implausible-amplitude"
# a distal distance in cm reaches results.json's warnings
cp -r samples/normal "$T/dcm"; sed -i '0,/^distance_mm = 70$/s//distance_mm = 7/' "$T/dcm/study.ini"
run "a distal distance in cm (analyse)" 0 "normal/median.right.wrist: warning: distance_mm = 7" -- analyse -o "$T/dcm-out" "$T/dcm"
grep -q '"code": "implausible-distance"' "$T/dcm-out/results.json" && ok \
    || bad "results.json warnings lack implausible-distance"
# the patient, kept and shown: results.json, results.csv (last column), report
cp -r samples/normal "$T/pat"; sed -i 's/^\[study\]$/[study]\npatient = Jane Roe, 1961/' "$T/pat/study.ini"
run "patient" 0 -- analyse -o "$T/pat-out" "$T/pat"
grep -q '"patient": "Jane Roe, 1961"' "$T/pat-out/results.json" && ok || bad "results.json study.patient"
[ "$(grep -c ',"Jane Roe, 1961"$' "$T/pat-out/results.csv")" -eq 12 ] \
    && head -1 "$T/pat-out/results.csv" | grep -q ',span_borderline,patient$' && ok || bad "results.csv: the patient column"
grep -q '"patient": null' "$T/cm-out/results.json" && ok || bad "results.json study.patient null when absent"
run "unknown criteria" 2 "unknown criteria 'efns'" "efns2010-mmn, ean2021-cidp, or all" -- analyse --criteria efns samples/mmn
run "criteria without a value" 2 "needs a value" -- analyse samples/mmn --criteria
run "norms" 0 -- norms
grep -qF "median            APB" "$T/out" && grep -qF "Preston & Shapiro" "$T/out" && ok || bad "ncs norms prints the built-in table"
printf '[ulnar]\nmuscle = ADM\namp_lln_mv = 7.5\n' >"$T/lab.ini"
run "norms --norms" 0 -- norms --norms "$T/lab.ini"
grep -q "^  ulnar  *ADM  *7.5  *-" "$T/out" && grep -q "^  median  *APB  *4.0" "$T/out" \
    && ok || bad "a lab table replaces the nerve it names, whole"
printf '[ulnar]\namp_ll_mv = 7.5\n' >"$T/badlab.ini"
run "bad lab table" 3 "badlab.ini:2: error: unknown key 'amp_ll_mv' (did you mean 'amp_lln_mv'?)" -- norms --norms "$T/badlab.ini"
run "bad lab table on analyse" 3 "badlab.ini:2:" -- analyse --norms "$T/badlab.ini" samples/mmn
run "missing lab table" 3 "nope.ini" -- batch --norms "$T/nope.ini" samples -o "$T/nb"
[ ! -e "$T/nb" ] && ok || bad "a bad --norms stops batch before any output"
run "norms takes no study" 2 "unexpected operand" -- norms samples/mmn
$NCS_WRAP "$NCS" analyse -q --json --norms "$T/lab.ini" samples/mnd >"$T/out" \
    && grep -qF '"amp_lln_mv": 7.5' "$T/out" && grep -qF 'then '"$T"'/lab.ini' "$T/out" \
    && ok || bad "analyse --norms uses the lab's values"
d=$(mkbase study-norms); printf '[median]\ndml_uln_ms = 2.0\n' >"$d/lab.ini"
sed -i 's/^id = study-norms/id = study-norms\nnorms = lab.ini/' "$d/study.ini"
$NCS_WRAP "$NCS" analyse -q --json "$d" >"$T/out" && grep -qF '"dml_uln_ms": 2' "$T/out" \
    && ok || bad "norms = in study.ini"
d=$(mkbase study-norms-out); sed -i 's/^id = study-norms-out/id = x\nnorms = ..\/lab.ini/' "$d/study.ini"
broken study-norms-out "study.ini:3:" "norms = '../lab.ini' leaves the study folder"
d=$(mkbase cold); sed -i 's/^muscle = APB/muscle = APB\ntemperature_c = 30.5/' "$d/study.ini"
run "low temperature" 0 "cold/median.right: warning: limb temperature 30.5 C is below 32 C" -- analyse "$d"


# reference values per nerve and muscle; the distance the DML limit holds
# at; slowing without a temperature; the low-frequency filter assumed
R=$T/refs; cp -r samples/normal "$R"
sed -i '/^\[ulnar.right\]/,/^\[/s/^muscle = .*/muscle = first dorsal interosseous/' "$R/study.ini"
$NCS_WRAP "$NCS" analyse -q --json "$R" >"$T/out" 2>/dev/null
python3 -c "
import json,sys
r=json.load(open(sys.argv[1]))
n={x['id']:x for x in r['nerves']}
u=n['ulnar.right']['norm']
sys.exit(0 if u['muscle']=='FDI' and u['amp_lln_mv']==7.0 and u['dml_uln_ms']==4.5 and n['median.right']['norm']['muscle']=='APB' else 1)" "$T/out" \
    && ok || bad "ulnar recorded from FDI judged against the FDI row (7.0 mV, 4.5 ms)"
sed -i '/^\[ulnar.right\]/,/^\[/s/^muscle = .*/muscle = FCU/' "$R/study.ini"
run "a muscle the table does not hold" 0 "normal/ulnar.right: warning: the table in force has no reference values for the ulnar nerve recorded from FCU (it has: ADM, FDI)" -- analyse "$R"
sed -i '0,/^distance_mm = 70$/s//distance_mm = 100/' "$R/study.ini"
run "dml-distance" 0 "normal/median.right: warning: the distal distance 100 mm is 30 mm from the 70 mm at which the distal latency limit 4.4 ms holds" -- analyse "$R"
R2=$T/refs2; cp -r samples/cidp "$R2"; sed -i '/^temperature_c/d; /^lff_hz/d' "$R2/study.ini"
run "no-temperature on slowing; lff-assumed" 0 "warning: cv-slow" "with no limb temperature recorded (temperature_c): slowing may be from cold" \
    "study.ini: warning: no lff_hz in [study]" -- analyse --criteria all "$R2"
run "no lff-assumed when lff_hz is given" 0 -- analyse --criteria all samples/cidp
grep -q "lff_hz" "$T/err" && bad "lff-assumed with lff_hz given" || ok
# the guidelines' review: an inching site inside the elbow's stretch lies at
# the entrapment site, and a span across it crosses it; unknown-site reaches
# results.json; a distal site excluded gives no distal latency; ADQ is ADM
# for the side-to-side pairs; an absent distal response is listed
G=$T/guide; cp -r samples/mmn "$G"
cp "$G/ulnar_r_above-elbow.wav" "$G/ulnar_r_be50.wav"
sed -i 's/^\[ulnar.right.above-elbow\]/[ulnar.right.below-elbow+50]\nfile = ulnar_r_be50.wav\ndistance_mm = 50\nstim_ms = 2.5\nscale_mv = 20\n\n&/' "$G/study.ini"
sed -i '/^\[ulnar.right.above-elbow\]/,/^distance_mm/s/^distance_mm = 100/distance_mm = 50/' "$G/study.ini"
sed -i '/^\[median.right\]/,/^\[/s/^muscle = .*/muscle = APB/; /^\[ulnar.left\]/,/^\[/s/^muscle = .*/muscle = ADQ/' "$G/study.ini"
sed -i 's/^\[median.right.axilla\]/[median.right.arm]/' "$G/study.ini"
$NCS_WRAP "$NCS" analyse -q --json "$G" >"$T/out" 2>/dev/null
python3 -c "
import json,sys
r=json.load(open(sys.argv[1]))
n={x['id']:x for x in r['nerves']}
u=n['ulnar.right']
seg={(g['from'],g['to']):g for g in u['segments']}
spn={(g['from'],g['to']):g for g in u['spans']}
ok = seg[('below-elbow','below-elbow+50')]['entrapment_site'] is True \
 and seg[('below-elbow+50','above-elbow')]['entrapment_site'] is True \
 and spn[('wrist','above-elbow')]['entrapment_site'] is True \
 and any(w['code']=='unknown-site' and 'median.right.arm' in w['message'] for w in r['warnings']) \
 and len(r['sides']) == 2
sys.exit(0 if ok else 1)" "$T/out" && ok || bad "guidelines review: entrapment from anatomy, unknown-site in results.json, ADQ paired with ADM"
G2=$T/guide2; cp -r samples/cidp "$G2"
sed -i '0,/^\[median.right.wrist\]/s/^\[median.right.wrist\]/&\nexclude = yes/' "$G2/study.ini"
$NCS_WRAP "$NCS" analyse -q --criteria all "$G2" >"$T/out" 2>/dev/null
grep -q "median.right elbow: distal latency" "$T/out" && bad "excluded distal site: a proximal latency listed as distal" || ok
grep -q "median.right: dml-demyelinating" "$T/out" && bad "excluded distal site: dml-demyelinating from a proximal site" || ok
# a nerve of many sites on one page: the tables cut at the footer say so,
# nothing runs off the page
if command -v gnuplot >/dev/null 2>&1; then
    B=$T/many; cp -r samples/inching "$B"
    extra=""
    for k in 140 160 180 200 220 240 260 280; do
        extra="$extra[median.right.wrist+$k]\nfile = median_r_wrist+120.flac\ndistance_mm = 20\nscale_mv = 40\nnote = a note long enough to take a second line of the sites table, as technicians write\n\n"
    done
    sed -i "s/^\[median.right.elbow\]/$extra&/" "$B/study.ini"
    if $NCS_WRAP "$NCS" report -q "$B" -o "$T/many.pdf" 2>"$T/err"; then
        pdftotext -f 2 -l 2 "$T/many.pdf" - | grep -q "more segments: see the table (ncs analyse) or results.csv" \
            && ok || bad "report: a cut segments table says so"
        off=$(pdftotext -bbox -f 2 -l 2 "$T/many.pdf" - | awk -F'"' '/<word/ { if ($6 + 0 > 595.5 || $8 + 0 > 842) n++ } END { print n + 0 }')
        [ "$off" -eq 0 ] && ok || bad "report: $off words off the page of a 16-site nerve"
    else
        bad "report of a 16-site nerve failed: $(cat "$T/err")"
    fi
fi
# batch --compare: the studies under ROOT grouped by patient, each
# patient's visits compared into OUT/<patient>/
C=$T/bcmp; mkdir -p "$C/a" "$C/b"
cp -r samples/followup-v1 samples/followup-v2 "$C/a/"; cp -r samples/followup-v3 "$C/b/"
cp -r samples/mmn samples/normal "$C/b/"
sed -i 's/^id = mmn$/id = mmn\npatient = Solo, One\ndate = 2026-01-01/' "$C/b/mmn/study.ini"
run "batch --compare" 0 "normal: warning: no patient in [study]: not compared" \
    "mmn: warning: the patient's only visit under ROOT: not compared" -- batch --compare "$C" -o "$T/bcmp-out"
grep -q "^MMN follow-up A (synthetic): 3 visits, 2026-01-12 to 2026-04-06: ulnar.right improving, median.right worsening, median.left stable -> $T/bcmp-out/MMN_follow-up_A__synthetic_$" "$T/out" \
    && [ -s "$T/bcmp-out/MMN_follow-up_A__synthetic_/compare.json" ] && [ -s "$T/bcmp-out/MMN_follow-up_A__synthetic_/compare.csv" ] \
    && [ "$(ls "$T/bcmp-out")" = "MMN_follow-up_A__synthetic_" ] && ok || bad "batch --compare: one patient compared into OUT/<patient>"
# a comparison written again into its folder: the earlier report pages go
# (never another file)
if command -v gnuplot >/dev/null 2>&1; then
    S=$T/stale; $NCS_WRAP "$NCS" compare -q --report=png -o "$S" samples/followup-v1 samples/followup-v2 samples/followup-v3 >/dev/null
    echo keep >"$S/compare-notes.txt"
    $NCS_WRAP "$NCS" compare -q -o "$S" samples/followup-v1 samples/followup-v2 >/dev/null
    [ "$(ls "$S" | tr '\n' ' ')" = "compare-notes.txt compare.csv compare.json " ] \
        && ok || bad "compare again: earlier report pages left: $(ls "$S")"
fi
run "batch --compare on no folder" 3 "/nonexist-root: error: not a folder" -- batch --compare /nonexist-root -o "$T/x"
# one nerve recorded from another muscle at a visit: another series, never
# compared with the first
M=$T/mus; mkdir -p "$M"; cp -r samples/followup-v1 samples/followup-v2 samples/followup-v3 "$M/"
sed -i '0,/muscle = ADM/s//muscle = FDI/' "$M/followup-v3/study.ini"
run "compare: a nerve from another muscle" 0 -- compare -q "$M/followup-v1" "$M/followup-v2" "$M/followup-v3"
grep -q "^ulnar.right (FDI): not-compared" "$T/out" && grep -q "^ulnar.right (ADM): improving" "$T/out" \
    && ok || bad "compare: the same nerve from two muscles kept apart"
run "batch --compare --resume" 2 "batch --compare: --resume and --shard do not apply" -- batch --compare --resume "$C" -o "$T/x"
cp -r samples/followup-v1 "$C/b/again-v1"; sed -i 's/^id = .*/id = again-v1/' "$C/b/again-v1/study.ini"
run "batch --compare: a patient's visits that cannot be compared" 1 "same date 2026-01-12" \
    "the comparison of patient 'MMN follow-up A (synthetic)' failed (4 visits)" -- batch --compare -q "$C" -o "$T/bcmp-out2"
# ---------------------------------------------------------------- the stimulus time
# stim_ms is on the file's own time axis: a CSV whose time column starts
# before the stimulus (here at -4.5 ms) needs no stim_ms, and every latency
# is the same as with stim_ms on a column that starts at 0
d="$T/csv-axis"
mkdir -p "$d"
awk -F, 'NR == 1 { print; next } { printf "%.5f,%s\n", $1 - 4.5, $2 }' \
    samples/mmn/median_r_wrist.csv >"$d/w.csv"
printf '[study]\nid = csv-axis\n[median.right]\n[median.right.wrist]\nfile = w.csv\ndistance_mm = 70\n' \
    >"$d/study.ini"
$NCS_WRAP "$NCS" analyse -q --json "$d" | grep '"onset_ms"' | head -1 >"$T/axis1"
$NCS_WRAP "$NCS" analyse -q --json samples/mmn | grep '"onset_ms"' | head -1 >"$T/axis0"
[ -s "$T/axis0" ] && cmp -s "$T/axis0" "$T/axis1" && ok \
    || bad "CSV time column from -4.5 ms: onset $(cat "$T/axis1") against $(cat "$T/axis0")"
# the stimulus must lie inside the record, on its own axis
sed -i 's/^distance_mm = 70$/distance_mm = 70\nstim_ms = -9/' "$d/study.ini"
run "stimulus before the first sample" 3 "lies before the record's first sample" -- check "$d"
# a forgotten stim_ms on a record with a pre-trigger: the artefact is seen
# 4.5 ms after the declared stimulus, and said so
d="$T/no-stim"
cp -r samples/mmn "$d"
sed -i '/^stim_ms/d' "$d/study.ini"
run "forgotten stim_ms" 0 "median.right.wrist: warning: the stimulus artefact is seen 4.5" \
    "is stim_ms missing or wrong?" -- analyse "$d"
grep -q "stim-time" "$T/err" || grep -q "artefact is seen" "$T/err" && ok || bad "stim-time warning"
# ... and its latencies are no number to trust: the onset's interval holds the
# 4.5 ms, the site is flagged uncertain, no block or finding rests on it
grep -q "median.right.wrist: warning: uncertain: onset ±[4-9]" "$T/err" && ok \
    || bad "forgotten stim_ms: the wrist onset not flagged uncertain with the offset in its interval"
"$NCS" analyse -q -o "$d-out" "$d" >/dev/null 2>&1
awk -F, '$2 == "median.right" && $4 == "wrist" && $17 ~ /uncertain/ { s++ } END { exit !(s == 1) }' \
    "$d-out/results.csv" && ok || bad "forgotten stim_ms: results.csv lacks the uncertain flag"
# ... nor a side-to-side latency or CV difference (the amplitudes still compared)
"$NCS" analyse -q "$d" 2>/dev/null | sed -n '/^Side to side/,/^$/p' >"$T/sides"
grep -q "distal amplitude ratio" "$T/sides" && ! grep -qE "distal latency|CV [a-z-]+ [+-]" "$T/sides" \
    && ok || bad "forgotten stim_ms: side-to-side differences from uncertain onsets: $(cat "$T/sides")"
# ... and the report's first page says what to check, where
if command -v gnuplot >/dev/null 2>&1; then
    "$NCS" report -q "$d" -o "$T/no-stim.pdf" 2>/dev/null
    pdftotext -f 1 -l 1 "$T/no-stim.pdf" - 2>/dev/null | tr '\n' ' ' \
        | grep -q "Stimulus time: the artefact lies off the declared stim_ms (missing or wrong?) at median.right.wrist," \
        && ok || bad "forgotten stim_ms: the report's summary page does not say so"
fi

# ---------------------------------------------------------------- EDF+ files
# samples/edf-mmn: one EDF+D file, a record per site named by an annotation
$NCS_WRAP "$NCS" check samples/edf-mmn >"$T/out" 2>&1 && [ "$(grep -c 'EDF+D' "$T/out")" -eq 17 ] \
    && ok || bad "check samples/edf-mmn: 17 EDF+D records"
$NCS_WRAP "$NCS" analyse -q samples/edf-mmn >"$T/out" 2>&1 \
    && grep -qF "efns2010-mmn: definite CB in 2 nerves (median.right elbow-axilla; ulnar.right wrist-below-elbow)" "$T/out" \
    && ok || bad "analyse samples/edf-mmn: the MMN sample's finding"
E=$T/edf; cp -r samples/edf-mmn "$E"
sed -i 's/^annotation = Median R Elbow$/annotation = Median R Elbw/' "$E/study.ini"
run "EDF+: an annotation not in the file" 3 "edf-mmn/median.right.elbow: no annotation 'Median R Elbw' in the file (did you mean 'Median R Elbow'?); its records: 1 'Median R Wrist', 2 'Median R Elbow'" -- analyse "$E"
sed -i 's/^annotation = Median R Elbw$/annotation = Median R Elbow\nrecord = 2/' "$E/study.ini"
run "EDF+: record and annotation both" 3 "both record = and annotation = choose the EDF+ record" -- check "$E"
sed -i '/^annotation = Median R Elbow$/d; s/^record = 2$/record = 18/' "$E/study.ini"
run "EDF+: a record beyond the file's" 3 "record = 18 but the file holds 17 data records" -- check "$E"
sed -i 's/^record = 18$/channel = EMG ADM\nrecord = 2/' "$E/study.ini"
run "EDF+: a signal label not in the file" 3 "no signal 'EMG ADM' in the file" "its signals: 1 'EMG' (mV)" -- check "$E"
sed -i '/^channel = EMG ADM$/d; /^record = 2$/d' "$E/study.ini"
run "EDF+D: a site must choose its record" 3 "an EDF+D file holds one record per stimulation: say which with record = N or annotation = TEXT" -- check "$E"
E2=$T/edf2; cp -r samples/mmn "$E2"; printf 'record = 1\n' >>"$E2/study.ini"
run "record = on a WAV file" 3 "record = applies to EDF and EDF+ files" -- check "$E2"
head -c 2000 samples/edf-mmn/edf-mmn.edf >"$E/edf-mmn.edf"
run "EDF+: a truncated file" 3 "edf-mmn.edf: error:" "it is truncated" -- check samples/edf-mmn "$E"
# ncs init on an EDF+D file: a site per record its annotation names
IE=$T/init-edf; mkdir -p "$IE"; cp samples/edf-mmn/edf-mmn.edf "$IE/"
run "init: an EDF+D file's records" 0 -- init "$IE"
grep -q "study.ini: 5 nerves, 17 sites" "$T/out" && grep -q "^annotation = Ulnar R Below-elbow " "$IE/study.ini" \
    && grep -q "^; stim_ms: the annotation marks the stimulus 1.5 ms into the record" "$IE/study.ini" \
    && ok || bad "init EDF+D: 17 sites named by their annotations"
$NCS_WRAP "$NCS" analyse -q "$IE" >"$T/out" 2>&1 \
    && grep -qF "efns2010-mmn: definite CB in 2 nerves (median.right elbow-axilla; ulnar.right wrist-below-elbow)" "$T/out" \
    && ok || bad "init EDF+D: the study.ini as written finds the sample's blocks"
# ---------------------------------------------------------------- markers placed by hand
# outside the record, or out of order with the markers found: an error
# naming the key (exit 3), never a negative duration and a block
d="$T/manual-far"
cp -r samples/normal "$d"
sed -i '0,/^distance_mm = 70$/s//distance_mm = 70\nonset_ms = 9999/' "$d/study.ini"
run "manual onset outside the record" 3 "manual-far/study.ini:13: error: [median.right.wrist]: onset_ms = 9999 (placed by hand) lies outside the record" -- analyse "$d"
d="$T/manual-late"
cp -r samples/normal "$d"
sed -i '0,/^distance_mm = 70$/s//distance_mm = 70\nonset_ms = 8.5/' "$d/study.ini"
run "manual onset after the peak found" 3 "manual-late/study.ini:13: error: [median.right.wrist]: onset_ms (placed by hand) 8.50 ms is not before the found peak" -- analyse "$d"
d="$T/manual-ok"
cp -r samples/normal "$d"
sed -i '0,/^distance_mm = 70$/s//distance_mm = 70\nonset_ms = 3.0/' "$d/study.ini"
run "manual onset in order" 0 "median.right.wrist: warning: the onset placed by hand" -- analyse "$d"
grep -q "manual" "$T/out" && ok || bad "manual onset: the table shows the manual flag"

# ---------------------------------------------------------------- ncs init
# a study made by the generator, its study.ini removed and its files renamed
# in several styles: ncs init must give a study.ini that checks and analyses
# as written, with nerves and sites in anatomical order
G="$T/init"
mkdir -p "$G"
"$SYNTH" study "$G" mmn 21 0 >/dev/null 2>&1 || bad "ncs-synth study for init"
S="$G/mmn"
rm -f "$S/study.ini"
ren() { for f in "$S/$1".*; do mv "$f" "$S/$2.${f##*.}"; done; }
ren median_r_wrist "Median R Wrist"
ren median_r_elbow MEDIAN_R_ELBOW
ren median_l_axilla "median-left-ax"
ren ulnar_r_below-elbow ulnar_r_b-elbow
ren ulnar_r_above-elbow ulnar-right-above-elbow
ren ulnar_l_below-elbow "Ulnar Lt Below Elbow"
ren ulnar_l_axilla "ulnar_l_erb's point"
ren fibular_r_ankle peroneal_right_ankle
ren fibular_r_fibular-head fibular_r_fib-head
ren fibular_r_popliteal fibular_r_popl
"$MKWAVE" "$S/trace1.wav" float 20000 40
printf '0       ' >"$S/x.edf"
init_sum() { find "$1" -type f ! -name study.ini -exec md5sum {} + | sort; }
isum=$(init_sum "$S")
run "init writes study.ini" 0 "trace1.wav: warning: not read: a waveform whose name does not say" \
    "truth.json: warning: not read" "x.edf: warning: not read: an EDF file ncs cannot read: not a valid EDF file" -- init "$S"
grep -q "study.ini: 5 nerves, 17 sites, .* values marked GUESS to confirm; 3 files not read" \
    "$T/out" && ok || bad "init: summary on stdout: $(cat "$T/out")"
cp "$S/study.ini" "$T/init-first.ini"
run "init: ncs check passes as written" 0 -- check "$S"
order=$(awk '/^  /{printf "%s ", $1}' "$T/out")
want="median.right.wrist median.right.elbow median.right.axilla median.left.wrist \
median.left.elbow median.left.axilla ulnar.right.wrist ulnar.right.below-elbow \
ulnar.right.above-elbow ulnar.right.axilla ulnar.left.wrist ulnar.left.below-elbow \
ulnar.left.above-elbow ulnar.left.erb fibular.right.ankle fibular.right.fibular-head \
fibular.right.popliteal "
[ "$order" = "$want" ] && ok || bad "init: order $order"
run "init: ncs analyse passes" 0 -- analyse -q "$S"
# ... but says, until they are confirmed, that the guesses are there (and
# not once the comments are gone)
ng=$(grep -c '^[^;#].*; GUESS' "$S/study.ini")
run "init: the guesses are warned" 0 "study.ini:$(grep -n '^[^;#].*; GUESS' "$S/study.ini" | head -1 | cut -d: -f1): warning: study.ini still holds $ng values marked GUESS by ncs init" -- analyse "$S"
cp -r "$S" "$T/init-confirmed"
sed -i 's/ *; GUESS.*$//' "$T/init-confirmed/study.ini"
"$NCS" check "$T/init-confirmed" >/dev/null 2>"$T/err"
! grep -q "marked GUESS" "$T/err" && ok || bad "init: confirmed values still warned as guesses"
grep -q "^;   trace1.wav: a waveform whose name does not say its nerve, side and site: no nerve" \
    "$S/study.ini" && grep -q "^;   x.edf: an EDF file ncs cannot read" "$S/study.ini" \
    && grep -q "^;   truth.json: not a waveform" "$S/study.ini" && ok \
    || bad "init: files not read listed at the end"
grep -q "^file = Median R Wrist\." "$S/study.ini" && grep -q "^\[ulnar.left.erb\]" "$S/study.ini" \
    && [ "$(grep -c '^distance_mm = .*; GUESS' "$S/study.ini")" -eq 17 ] && ok \
    || bad "init: file names kept, guesses marked"
[ "$(init_sum "$S")" = "$isum" ] && ok || bad "init changed an input"
# never replaced: a study.ini there, a link named study.ini, -o to an existing file
run "init: study.ini not replaced" 4 "study.ini: error: already exists: ncs init never replaces" \
    -- init "$S"
cmp -s "$S/study.ini" "$T/init-first.ini" && [ ! -s "$T/out" ] && ok || bad "init replaced study.ini"
run "init --stdout" 0 -- init -q --stdout "$S"
grep -q "^\[median.right.wrist\]" "$T/out" && cmp -s "$S/study.ini" "$T/init-first.ini" && ok \
    || bad "init --stdout"
run "init -o FILE" 0 -- init -q -o "$T/init-o.ini" "$S"
cmp -s "$T/init-o.ini" "$T/init-first.ini" && ok || bad "init -o FILE: not the same text"
run "init -o FILE not replaced" 4 "init-o.ini: error: already exists" -- init -o "$T/init-o.ini" "$S"
L="$G/link"
mkdir -p "$L"
cp "$S"/peroneal_right_ankle.* "$L/"
ln -s "$T/init-nowhere.ini" "$L/study.ini"
run "init: a link named study.ini" 4 "already exists" -- init "$L"
[ ! -e "$T/init-nowhere.ini" ] && [ -L "$L/study.ini" ] && ok || bad "init wrote through a link"
rm "$L/study.ini"
"$MKWAVE" "$T/init-outside.wav" float 20000 40
ln -s "$T/init-outside.wav" "$L/median_r_wrist.wav"
run "init: a link out of the folder" 0 \
    "median_r_wrist.wav: warning: not read: a symbolic link that leads outside the folder" -- init "$L"
grep -q "^;   median_r_wrist.wav: a symbolic link that leads outside" "$L/study.ini" \
    && ! grep -q "^file = median_r_wrist.wav" "$L/study.ini" && ok || bad "init followed a link out"
# refused: nothing to read
mkdir -p "$G/empty" "$G/nowave" "$G/noname"
run "init: empty folder" 3 "empty: error: the folder is empty" -- init "$G/empty"
printf 'notes\n' >"$G/nowave/notes.md"
run "init: no waveform" 3 "nowave: error: nothing here is a waveform" -- init "$G/nowave"
"$MKWAVE" "$G/noname/trace1.wav" float 20000 40
run "init: no name read" 3 "noname: error: no waveform's name says its nerve, side and site, e.g. trace1.wav" \
    -- init "$G/noname"
[ -z "$(ls -A "$G/empty")" ] && [ ! -e "$G/noname/study.ini" ] && ok || bad "init wrote on a refusal"
run "init: not a folder" 3 "not a folder" -- init "$G/none"
run "init: no folder" 2 "init: no folder given" -- init
run "init: two folders" 2 "one folder at a time" -- init "$G/empty" "$G/nowave"
run "init: -o and --stdout" 2 "choose one" -- init --stdout -o x "$G/empty"
run "--stdout is init's" 2 "option '--stdout' does not apply here" -- analyse --stdout samples/mmn
$NCS_WRAP "$NCS" help init >"$T/out" && grep -q "never replaced (exit 4)" "$T/out" && ok \
    || bad "help init"
# inching files named from a known site: ordered by their offset, the
# distances between them proposed from it, and '+' names analysed
N="$G/inching"
mkdir -p "$N"
cp samples/inching/median_r_* "$N/" # (wrist+20 ... as the sample names them)
run "init: inching names" 0 -- init -q "$N"
run "init: inching names check" 0 -- check "$N"
order=$(awk '/^  /{printf "%s ", $1}' "$T/out")
[ "$order" = "median.right.wrist median.right.wrist+20 median.right.wrist+40 median.right.wrist+60 \
median.right.wrist+80 median.right.wrist+100 median.right.wrist+120 median.right.elbow " ] && ok \
    || bad "init: inching order $order"
[ "$(grep -c '^distance_mm = 20 ' "$N/study.ini")" -eq 6 ] \
    && grep -q '^distance_mm = 110 ' "$N/study.ini" && ok || bad "init: inching distances"
run "init: inching names analyse" 0 -- analyse -q --json "$N"
grep -q '"name": "wrist+20"' "$T/out" && ok || bad "init: '+' site names in results.json"

# ---------------------------------------------------------------- reports (gnuplot)
# inked pixels of every page of a PDF (rendered at 40 dpi in grey), one line
# per page: a page with only a title has a few hundred, a drawn page thousands
pdf_ink() {
    rm -f "$T"/ink-*.pgm
    pdftoppm -r 40 -gray "$1" "$T/ink" || return 1
    for pg in "$T"/ink-*.pgm; do
        od -An -tu1 -v "$pg" | awk '{ for (i = 1; i <= NF; i++) if ($i < 250) n++ } END { print n + 0 }'
    done
}
# dark pixels of a PNG between the heights LO and HI (fractions of the
# page, from its foot), read by gnuplot (its PNG input) as a table
png_ink() {
    rm -f "$T/ink.tab"
    printf 'set table "%s"\nplot "%s" binary filetype=png with rgbimage\nunset table\n' \
        "$T/ink.tab" "$1" | gnuplot 2>/dev/null
    awk -v lo="$2" -v hi="$3" 'NF >= 5 && $1 ~ /^[0-9]/ { if ($2 > h) h = $2; if ($3 + $4 + $5 < 384) row[$2]++ }
        END { for (y in row) if (y >= lo * h && y <= hi * h) n += row[y]; print n + 0 }' "$T/ink.tab"
}
# a PNG's width and height, from its header
png_size() {
    od -An -tu1 -j16 -N8 "$1" \
        | awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4, $5 * 16777216 + $6 * 65536 + $7 * 256 + $8 }'
}
if command -v gnuplot >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1; then
    mkdir -p "$T/rep"
    for s in samples/*/; do
        name=$(basename "$s")
        nerves=$(grep -c '^\[[a-z]*\.[a-z]*\]' "$s/study.ini")
        if $NCS_WRAP "$NCS" report -q "$s" -o "$T/rep/$name.pdf" 2>"$T/err"; then
            pages=$(pdfinfo "$T/rep/$name.pdf" | awk '/^Pages:/ { print $2 }')
            [ "$pages" = "$((nerves + 1))" ] && ok || bad "report $name: $pages pages, want $((nerves + 1))"
            blank=$(pdf_ink "$T/rep/$name.pdf" | awk '$1 < 1500' | wc -l)
            [ "$blank" -eq 0 ] && ok || bad "report $name: $blank page(s) nearly blank"
        else
            bad "report $name failed: $(cat "$T/err")"
        fi
    done
    pdftotext "$T/rep/mmn.pdf" - | grep -q "definite CB" && ok || bad "mmn report marks the definite blocks"
    # a close-up's tick step (1 ms) is not carried onto the next page's traces
    # (0 1 2 ... 55 read as one run of digits)
    ! pdftotext "$T/rep/cidp.pdf" - | grep -qE '9101112' && ok \
        || bad "cidp report: a trace page's time axis labelled every 1 ms (a close-up's step)"
    # every close-up carries an amplitude scale (cidp's fibular page has two)
    [ "$(pdftotext -f 4 -l 4 "$T/rep/cidp.pdf" - | grep -cE '^[0-9.]+ µV$')" -ge 2 ] && ok \
        || bad "cidp report: a close-up without its amplitude scale"
    # the findings' reasons with the tables' signs, not ">="
    pdftotext "$T/rep/mmn.pdf" - | grep -q "area drop 75.3% ≥ 50%; duration increase 10.1% ≤ 30%" \
        && ! pdftotext "$T/rep/mmn.pdf" - | grep -qE '[<>]=' && ok || bad "mmn report: findings with >= or <="
    # the summary marks the values of sites flagged uncertain (cidp: both
    # axilla sites' amplitudes and areas) and says what the mark means
    pdftotext -f 1 -l 1 "$T/rep/cidp.pdf" - >"$T/cidp1.txt"
    grep -q '^1\.96?$' "$T/cidp1.txt" && grep -q "from a trace flagged uncertain" "$T/cidp1.txt" \
        && ok || bad "cidp summary page lacks the uncertain marks"
    $NCS_WRAP "$NCS" report -q "$T/pat" -o "$T/rep/pat.pdf" >/dev/null 2>&1
    [ "$(pdftotext "$T/rep/pat.pdf" - | grep -c "Patient:\? Jane Roe, 1961")" -ge 2 ] && ok \
        || bad "the report's headers lack the patient"
    # a patient's name in Chinese, Japanese or Korean characters: drawn in
    # its glyphs (a CJK font, fonts-wqy-microhei), not as one glyph the size
    # of the page over the tables (the first page then had about three
    # times the normal sample's ink)
    rm -rf "$T/cjk" && cp -r samples/normal "$T/cjk" \
        && sed -i 's/^\[study\]/[study]\npatient = 山田 花子/' "$T/cjk/study.ini"
    $NCS_WRAP "$NCS" report -q "$T/cjk" -o "$T/rep/cjk.pdf" >/dev/null 2>&1
    pdftotext -f 1 -l 1 "$T/rep/cjk.pdf" - 2>/dev/null | grep -q "山田 花子" && ok \
        || bad "the report's header lacks a CJK patient name"
    ink_n=$(pdf_ink "$T/rep/normal.pdf" | head -1)
    ink_c=$(pdf_ink "$T/rep/cjk.pdf" | head -1)
    [ "$ink_c" -le $((ink_n + ink_n / 5)) ] && ok \
        || bad "a CJK patient name inks the summary page $ink_c pixels against $ink_n"
    # PNG: one file per page, each well above a blank page's size
    echo 'set terminal pngcairo size 1240,1754; set output "'"$T"'/blank.png"; unset border; unset tics; set xrange [0:1]; set yrange [0:1]; plot 2 notitle' | gnuplot
    blank_size=$(wc -c <"$T/blank.png")
    $NCS_WRAP "$NCS" report -q samples/mmn -o "$T/rep/mmn.png" && ok || bad "report png"
    n_png=$(ls "$T/rep"/mmn*.png | wc -l)
    [ "$n_png" -eq 6 ] && ok || bad "report png: $n_png files, want 6"
    for f in "$T/rep"/mmn*.png; do
        sz=$(wc -c <"$f")
        [ "$sz" -gt $((2 * blank_size)) ] && ok || bad "png page $f looks blank ($sz bytes, blank $blank_size)"
    done
    $NCS_WRAP "$NCS" report -q samples/normal -o "$T/rep/normal.svg" && grep -q "<svg" "$T/rep/normal-median.right.svg" \
        && ok || bad "report svg"
    # --report on analyse and batch
    $NCS_WRAP "$NCS" analyse -q --report samples/mnd -o "$T/anr" >/dev/null && [ -s "$T/anr/report.pdf" ] \
        && [ -s "$T/anr/results.json" ] && ok || bad "analyse --report"
    $NCS_WRAP "$NCS" batch -q --report=png samples -o "$T/bre" && [ -s "$T/bre/mmn/report.png" ] \
        && [ -s "$T/bre/mmn/report-median.right.png" ] && ok || bad "batch --report=png"
    run "report format" 2 "does not end in .pdf, .png or .svg" -- report samples/mmn -o "$T/x.jpg"
    run "report needs -o" 2 "no output file" -- report samples/mmn
    run "analyse --report needs -o" 2 "needs -o DIR" -- analyse --report samples/mmn
    run "report into a missing folder" 4 "cannot write into" -- report samples/mmn -o "$T/none/x.pdf"
    # text from study.ini reaches gnuplot only as text
    d=$(mkbase inject)
    mkdir -p "$T/injout"
    printf '%s\n' 'note = `touch PWNED1` $(touch PWNED2) system("touch PWNED3") @pwn "dq" '"'"'sq'"'"' ^{x}_{y} EOD' >"$T/note1"
    printf '%s\n' 'note = system("touch PWNED5") `touch PWNED6`' >"$T/note2"
    sed -i "/^id = inject/r $T/note1" "$d/study.ini"
    sed -i 's/^muscle = APB/muscle = APB`touch PWNED4`/' "$d/study.ini"
    sed -i "/^muscle = APB/r $T/note2" "$d/study.ini"
    (cd "$T/injout" && $NCS_WRAP "$NCS" report -q "$d" -o "$T/injout/r.pdf") && ok || bad "report with hostile text"
    [ -z "$(find "$T" -name 'PWNED*'; ls / | grep PWNED)" ] && ok || bad "hostile text ran a command"
    pdftotext "$T/injout/r.pdf" - >"$T/inj.txt"
    grep -qF '`touch PWNED1`' "$T/inj.txt" && grep -qF 'system("touch PWNED3")' "$T/inj.txt" \
        && grep -qF '@pwn' "$T/inj.txt" && grep -qF 'APB`touch PWNED4`' "$T/inj.txt" \
        && grep -qF 'system("touch PWNED5")' "$T/inj.txt" && ok || bad "hostile text is shown as text"
    # the text of every page, in every format (issue 16): a study with a
    # patient, notes holding backslashes, quotes, ']]>', enhanced-text
    # characters and UTF-8, a marker placed by hand and an absent response
    d=$T/text16
    cp -r samples/normal "$d"
    awk 'BEGIN { for (i = 0; i < 800; i++) printf "%.4f\n", 0.003 * sin(i * 0.7) }' >"$d/flat.csv"
    printf '%s\n' 'patient = Müller, Jürgen ^{x}_{y}' 'date = 2026-11-02' \
        'note = C:\new\table "dq" '"'sq'"' ]]> <tag> & ^{x}_{y} @m &{b} end' >"$T/note16"
    sed -i "/^id = normal/r $T/note16" "$d/study.ini"
    sed -i '0,/^distance_mm = 70$/s//distance_mm = 70\nonset_ms = 3.1\nnote = wrist note C:\\temp\\x ]]> Grüße/' "$d/study.ini"
    sed -i '0,/^file = median_r_elbow.wav$/s//file = flat.csv\nrate_hz = 20000/' "$d/study.ini"
    sed -i '/^file = flat.csv$/,/^scale_mv/{/^stim_ms\|^scale_mv/d}' "$d/study.ini"
    pages16=$(($(grep -c '^\[[a-z]*\.[a-z]*\]' "$d/study.ini") + 1))
    if $NCS_WRAP "$NCS" report -q "$d" -o "$T/t16.pdf" 2>"$T/err"; then
        pdftotext "$T/t16.pdf" - >"$T/t16.txt"
        for w in 'C:\new\table "dq" '"'sq'"' ]]> <tag> & ^{x}_{y} @m &{b} end' 'Patient: Müller, Jürgen ^{x}_{y}' \
            'wrist note C:\temp\x ]]> Grüße' "page 2 of $pages16" 'Impression (physician)' 'Signature:' \
            'by hand: onset' 'no response' 'proximal response absent' 'Values outside the reference range' \
            'Side to side' 'no nerve recorded from the same muscle on both sides' 'normal' 'amp drop' 'area drop' 'n/a'; do
            grep -qF -- "$w" "$T/t16.txt" && ok || bad "report text: the PDF lacks [$w]"
        done
        # signs: a real minus or plus, never "+-" nor a sign without its number
        ! grep -qE '\+-|\+ ?%|[+-]n/a|n/a ?%' "$T/t16.txt" && ok || bad "report text: a sign printed as +- or without its number"
        # a value that could not be computed is not "in doubt" ("n/a?")
        ! grep -qF 'n/a?' "$T/t16.txt" && ok || bad "report text: n/a marked in doubt"
        # a header on every page
        [ "$(grep -c '^Patient: Müller' "$T/t16.txt")" -eq "$pages16" ] && ok || bad "report text: not every page has the header"
        # the absent elbow response's drops: at least 100 less what noise could hide, never "100.0 ± x"
        grep -qE '^≥ 99\.[0-9]$' "$T/t16.txt" && ! grep -qE '100\.0 ± ' "$T/t16.txt" && ok \
            || bad "report text: a 100 % drop printed give or take"
        # ... nor as a plain 100 on the summary page or beside the block bracket
        ! grep -qE '^100\.0\??$|drop 100 %' "$T/t16.txt" && grep -qE '^≥ 99\.[0-9]\?$|drop ≥ 99\.[0-9] %' "$T/t16.txt" && ok \
            || bad "report text: an absent response's drop printed as 100 on the summary page or the bracket"
        # the study's temperature once a page, in the header
        [ "$(grep -c 'Temperature' "$T/t16.txt")" -eq "$pages16" ] && ok \
            || bad "report text: the temperature repeated under the header"
    else
        bad "report of study text16 failed: $(cat "$T/err")"
    fi
    # SVG: the same text, after the page's one white background; well-formed XML
    if $NCS_WRAP "$NCS" report -q "$d" -o "$T/t16.svg" 2>"$T/err"; then
        for f in "$T"/t16*.svg; do
            awk '/<text/ && !t { t = NR } /fill="#ffffff"|fill=.white.|rgb\(255, *255, *255\)/ { if (t) late++; else bg++ }
                 END { exit !(t && bg == 1 && !late) }' "$f" && ok || bad "svg $f: text painted over, or no text"
            if command -v xmllint >/dev/null 2>&1; then
                xmllint --noout "$f" 2>"$T/err" && ok || bad "svg $f is not well-formed XML: $(head -2 "$T/err")"
            else
                bad "xmllint missing (libxml2-utils, scripts/install-deps.sh): SVG not checked"
            fi
        done
        grep -qF 'C:\new\table' "$T/t16.svg" && grep -qF 'Müller' "$T/t16.svg" && ok || bad "svg lacks the note or the patient as written"
        grep -qF 'page 2 of' "$T/t16-median.right.svg" && grep -qF 'wrist note C:\temp\x' "$T/t16-median.right.svg" \
            && grep -qF '>elbow<' "$T/t16-median.right.svg" && ok || bad "svg nerve page lacks its text"
    else
        bad "svg report of study text16 failed: $(cat "$T/err")"
    fi
    # PNG: the title band and the footer of a nerve page are inked (they hold text only)
    if $NCS_WRAP "$NCS" report -q "$d" -o "$T/t16.png" 2>"$T/err"; then
        top=$(png_ink "$T/t16-median.right.png" 0.94 1)
        foot=$(png_ink "$T/t16-median.right.png" 0 0.035)
        [ "$top" -gt 400 ] && [ "$foot" -gt 150 ] && ok || bad "png nerve page: title band $top, footer $foot dark pixels"
        [ "$(png_size "$T/t16.png")" = "1240 1754" ] && ok || bad "png A4 page: $(png_size "$T/t16.png")"
    else
        bad "png report of study text16 failed: $(cat "$T/err")"
    fi
    # Letter as well as A4
    $NCS_WRAP "$NCS" report -q --paper letter "$d" -o "$T/t16l.pdf" && pdfinfo "$T/t16l.pdf" | grep -q '612 x 792 pts' \
        && ok || bad "--paper letter: not a Letter PDF"
    $NCS_WRAP "$NCS" report -q --paper LETTER "$d" -o "$T/t16l.png" && [ "$(png_size "$T/t16l.png")" = "1275 1650" ] \
        && ok || bad "--paper letter: PNG not 1275 x 1650"
    run "--paper refused" 2 "--paper a5: choose a4 or letter" -- report --paper a5 "$d" -o "$T/t16x.pdf"
    [ ! -e "$T/t16x.pdf" ] && ok || bad "--paper a5 wrote a report"
    run "--paper not on check" 2 "option '--paper' does not apply here" -- check --paper a4 "$d"
    # nothing runs off a page: every word of every sample's report inside it,
    # so a long label wraps rather than being cut ("(not counte")
    for f in "$T"/rep/*.pdf; do
        w=$(pdfinfo "$f" | awk '/^Page size:/ { print $3; exit }')
        pdftotext -bbox "$f" - | awk -F'"' -v w="$w" '/<word/ && ($6 + 0 > w - 1 || $2 + 0 < 1) { n++ } END { exit n > 0 }' \
            && ok || bad "report $f: text runs off the page"
    done
    # the time axis reaches past the responses' return to baseline: the
    # fibular page of the normal sample goes on past 30 ms
    pdftotext -f 4 -l 4 "$T/rep/normal.pdf" - | grep -qx '35\|40\|45\|50' && ok || bad "normal fibular page: time axis stops at 30 ms"
    # without gnuplot: the analysis works, the report step exits 4 and says how to install it
    run "no gnuplot" 4 "gnuplot ('$T/no/gnuplot') not found" "apt-get install gnuplot-nox" -- \
        report samples/mmn --gnuplot "$T/no/gnuplot" -o "$T/ng.pdf"
    [ ! -e "$T/ng.pdf" ] && ok || bad "no report file without gnuplot"
    NCS_GNUPLOT="$T/no/gnuplot" $NCS_WRAP "$NCS" analyse -q --report samples/mmn -o "$T/ngan" >/dev/null 2>"$T/err"
    rc=$?
    [ "$rc" -eq 4 ] && [ -s "$T/ngan/results.json" ] && [ ! -e "$T/ngan/report.pdf" ] \
        && grep -q "install" "$T/err" && ok || bad "analyse --report without gnuplot: exit $rc"
    NCS_GNUPLOT="$T/no/gnuplot" $NCS_WRAP "$NCS" batch -q --report samples -o "$T/ngb" 2>"$T/err"
    rc=$?
    [ "$rc" -eq 4 ] && [ -s "$T/ngb/mmn/results.json" ] && [ -s "$T/ngb/summary.csv" ] \
        && [ "$(grep -c 'not found' "$T/err")" -eq 1 ] && ok || bad "batch --report without gnuplot: exit $rc"
    run "gnuplot fails" 4 "gnuplot failed" -- report samples/mmn --gnuplot /bin/false -o "$T/gf.pdf"
    [ -z "$(ls -A "$T" | grep 'ncs-report')" ] && [ ! -e "$T/gf.pdf" ] && ok || bad "a failed report leaves files"
else
    echo "e2e: gnuplot or pdfinfo missing: report tests NOT run" >&2
    bad "report tests need gnuplot and poppler-utils (scripts/install-deps.sh)"
fi
# ---------------------------------------------------------------- compare
# one patient's three visits (samples/followup-v*), given out of order
V1=samples/followup-v1 V2=samples/followup-v2 V3=samples/followup-v3
run "compare the follow-up visits" 0 -- compare -q $V3 $V1 $V2 -o "$T/cmp"
grep -q '^ulnar.right: improving$' "$T/out" && grep -q '^median.right: worsening$' "$T/out" \
    && grep -q '^median.left: stable$' "$T/out" && ok || bad "compare: trends not found: $(grep '^[a-z]*\.[a-z]*:' "$T/out" | tr '\n' ' ')"
[ "$(sed -n '2,4p' "$T/out" | cut -c3-12 | tr '\n' ' ')" = "2026-01-12 2026-02-23 2026-04-06 " ] \
    && ok || bad "compare: visits not in date order"
grep -q 'area drop 80 → 62 → 32 %' "$T/out" && grep -q 'area drop 2 → 2 → 62 %' "$T/out" \
    && grep -q 'distal amplitude (wrist) 8.4 → 8.4 → 6.6 mV' "$T/out" && ok || bad "compare: reasons in numbers"
# a relapse after a response: improving first to last, worsening since the
# visit before the last, and said so in the headline
mkdir -p "$T/relapse"
cp -r $V1 $V2 $V3 "$T/relapse/"
sed -i 's/^date = .*/date = 2026-02-01/' "$T/relapse/followup-v3/study.ini"
sed -i 's/^date = .*/date = 2026-05-01/' "$T/relapse/followup-v2/study.ini"
run "compare: a relapse" 0 -- compare -q "$T/relapse/followup-v1" "$T/relapse/followup-v2" "$T/relapse/followup-v3" -o "$T/relapse-out"
grep -q '^ulnar.right: improving; worsening since the previous visit$' "$T/out" \
    && grep -q '^median.right: stable$' "$T/out" && grep -q '"relapse": true' "$T/relapse-out/compare.json" \
    && ok || bad "compare: a relapse not in the headline: $(grep '^[a-z]*\.[a-z]*:' "$T/out" | tr '\n' ' ')"
# a half-width under the last digit shown is given one more, never "± 0"
! grep -qE '±0( |$)|± 0 ' "$T/out" && grep -q '(-18 ± 0.4 %)' "$T/out" && ok \
    || bad "compare: a half-width printed as 0"
grep -q '"min_drop_pts": 10.0' "$T/cmp/compare.json" && grep -q '"min_amp_pct": 15.0' "$T/cmp/compare.json" \
    && ok || bad "compare.json: the least changes counted not recorded"
grep -q '"schema": "ncs-compare/1"' "$T/cmp/compare.json" && grep -q '"block_segment": "wrist-elbow"' "$T/cmp/compare.json" \
    && ok || bad "compare.json"
[ "$(head -1 "$T/cmp/compare.csv" | cut -d, -f1-7)" = "patient,visit,date,nerve,kind,from,to" ] \
    && grep -q '^MMN follow-up A (synthetic),followup-v3,2026-04-06,median.right,segment,wrist,elbow,.*,definite,worsening,worsening$' "$T/cmp/compare.csv" \
    && ok || bad "compare.csv rows"
[ -z "$(ls -A "$T/cmp" | grep -v '^compare\.\(json\|csv\)$')" ] && ok || bad "compare: other files in -o: $(ls -A "$T/cmp")"
$NCS_WRAP "$NCS" compare -q --json $V1 $V2 >"$T/out" 2>/dev/null && grep -q '"visits": \[' "$T/out" && ok || bad "compare --json"
run "compare one study" 2 "one study folder given" -- compare $V1
run "compare nothing" 2 "no study folder given" -- compare
for k in pat nodate dup broken onevisit; do cp -r $V2 "$T/cv-$k"; done
sed -i 's/^patient = .*/patient = Someone Else/' "$T/cv-pat/study.ini"
run "compare: two patients" 3 "different patients" "followup-v1 ('MMN follow-up A (synthetic)')" \
    "followup-v2 ('Someone Else')" -- compare $V1 "$T/cv-pat" -o "$T/cmp-bad"
sed -i '/^date = /d' "$T/cv-nodate/study.ini"
run "compare: a date missing" 3 "cv-nodate/study.ini: error: no \`date =\` in [study]" -- compare $V1 "$T/cv-nodate" -o "$T/cmp-bad"
sed -i 's/^date = .*/date = 2026-01-12/' "$T/cv-dup/study.ini"
run "compare: the same date twice" 3 "followup-v1 and followup-v2 have the same date 2026-01-12" -- compare $V1 "$T/cv-dup" -o "$T/cmp-bad"
run "compare: one visit given twice" 3 "have the same date" -- compare $V1 $V1
sed -i '0,/^distance_mm = .*/s//distance_mm = far/' "$T/cv-broken/study.ini"
run "compare: a study that fails to load" 3 "cv-broken/study.ini:" "distance_mm" -- compare $V1 "$T/cv-broken" -o "$T/cmp-bad"
[ ! -e "$T/cmp-bad" ] && ok || bad "compare: a refused comparison wrote $(ls -A "$T/cmp-bad")"
awk '/^\[/{skip = ($0 ~ /^\[median\.left/)} !skip' $V2/study.ini >"$T/cv-onevisit/study.ini"
run "compare: a nerve at one visit only" 0 -- compare $V1 "$T/cv-onevisit"
grep -q '^median.left: not-compared$' "$T/out" && grep -q 'recorded at 2026-01-12 only' "$T/out" \
    && grep -q '(not recorded)' "$T/out" && ok || bad "compare: a nerve at one visit only not said"
run "compare -o into a study" 4 "is another study's folder" -- compare -q $V1 $V2 -o "$T/cv-pat"
[ ! -e "$T/cv-pat/compare.json" ] && ok || bad "compare wrote into a study folder"
# the follow-up report: a summary page and a page per nerve, each nerve's
# trend on its page; a hanging gnuplot is stopped at its limit (exit 4) and
# leaves no report and no temporary; --report needs -o
if command -v gnuplot >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1; then
    run "compare --report" 0 -- compare -q --report $V2 $V3 $V1 -o "$T/cmpr"
    nerves=$(grep -c '^\[[a-z]*\.[a-z]*\]' "$V1/study.ini")
    pages=$(pdfinfo "$T/cmpr/compare.pdf" 2>/dev/null | awk '/^Pages:/ { print $2 }')
    [ "$pages" = "$((nerves + 1))" ] && ok || bad "compare report: $pages pages, want $((nerves + 1))"
    pdftotext "$T/cmpr/compare.pdf" "$T/cmpr.txt"
    grep -q 'ulnar.right: improving' "$T/cmpr.txt" && grep -q 'median.right: worsening' "$T/cmpr.txt" \
        && grep -q 'median.left: stable' "$T/cmpr.txt" && grep -q '2026-02-23' "$T/cmpr.txt" \
        && grep -q 'area drop 2 → 2 → 62 %' "$T/cmpr.txt" && ok || bad "compare report: trends or reasons missing"
    for pg in 2 3 4; do
        pdftotext -f $pg -l $pg "$T/cmpr/compare.pdf" - | grep -q "^Trend: \(improving\|worsening\|stable\)" \
            && ok || bad "compare report page $pg: no trend"
    done
    blank=$(pdf_ink "$T/cmpr/compare.pdf" | awk '$1 < 1500' | wc -l)
    [ "$blank" -eq 0 ] && ok || bad "compare report: $blank page(s) nearly blank"
    pdftotext -bbox "$T/cmpr/compare.pdf" - | awk -F'"' -v w=595.3 '/<word/ && ($6 + 0 > w - 1 || $2 + 0 < 1) { n++ } END { exit n > 0 }' \
        && ok || bad "compare report: text runs off the page"
    # each graph's reason whole (cut to a line, it lost the ± and the change
    # since the last visit)
    ! grep -q '\.\.\.$' "$T/cmpr.txt" && ok || bad "compare report: a graph's reason cut short"
    # visits a week apart: their dates do not run into each other on a graph
    mkdir -p "$T/week"
    cp -r samples/followup-v1 samples/followup-v2 samples/followup-v3 "$T/week/"
    sed -i 's/^date = .*/date = 2026-01-19/' "$T/week/followup-v2/study.ini"
    "$NCS" compare -q --report -o "$T/weekr" "$T/week/followup-v1" "$T/week/followup-v2" "$T/week/followup-v3" >/dev/null 2>&1
    pdftotext -f 3 -l 3 -bbox "$T/weekr/compare.pdf" - \
        | awk -F'"' '/<word/ && />2026-01-12</ { p[$4] = $2 } /<word/ && />2026-01-19</ { q[$4] = $2 }
            END { for (y in q) if ((y in p) && q[y] - p[y] > 50) ok = 1; exit !ok }' && ok \
        || bad "compare report: the dates of visits a week apart run into each other"
    # a PNG report over another study's of the same name: no page of the
    # first left beside the second's (files of other names stay)
    mkdir -p "$T/pages"
    "$NCS" report -q samples/mmn -o "$T/pages/x.png" 2>/dev/null
    touch "$T/pages/x-notes.png" "$T/pages/y-median.left.png"
    "$NCS" report -q samples/carpal-tunnel -o "$T/pages/x.png" 2>/dev/null
    [ "$(ls "$T/pages" | tr '\n' ' ')" = "x-median.left.png x-median.right.png x-notes.png x-ulnar.right.png x.png y-median.left.png " ] \
        && ok || bad "report -o x.png: another study's pages left: $(ls "$T/pages" | tr '\n' ' ')"
    run "compare --report=png" 0 -- compare -q --report=png $V1 $V3 -o "$T/cmpp"
    [ -s "$T/cmpp/compare.png" ] && [ -s "$T/cmpp/compare-median.right.png" ] && [ -s "$T/cmpp/compare-ulnar.right.png" ] \
        && ok || bad "compare --report=png: $(ls "$T/cmpp" | tr '\n' ' ')"
    printf '#!/bin/sh\ncat >/dev/null; exec sleep 1000\n' >"$T/gp-hang"
    chmod +x "$T/gp-hang"
    mkdir -p "$T/cmph"
    run "compare --report, gnuplot hangs" 4 "gnuplot did not finish within 1 s; stopped" -- \
        compare -q --report --gnuplot "$T/gp-hang" --gnuplot-timeout 1 $V1 $V2 -o "$T/cmph"
    [ ! -e "$T/cmph/compare.pdf" ] && [ -z "$(ls -A "$T/cmph" | grep -v '^compare\.\(json\|csv\)$')" ] \
        && ok || bad "compare: a failed report left files: $(ls -A "$T/cmph")"
    run "compare --report needs -o" 2 "--report needs -o DIR" -- compare --report $V1 $V2
fi

# confinement: run from an empty folder, the commands write under -o only
mkdir -p "$T/cwd"
(cd "$T/cwd" && $NCS_WRAP "$NCS" batch -q "$OLDPWD/samples" -o out >/dev/null 2>&1 \
    && $NCS_WRAP "$NCS" analyse -q "$OLDPWD/samples/mmn" -o an >/dev/null 2>&1)
[ "$(ls -A "$T/cwd" | tr '\n' ' ')" = "an out " ] && ok || bad "outputs outside -o: $(ls -A "$T/cwd")"
[ "$(big_sum)" = "$big_before" ] && ok || bad "batch inputs changed (resume, shards, kill)"
[ "$(samples_sum)" = "$before" ] && ok || bad "samples changed by analyse/batch"

echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
