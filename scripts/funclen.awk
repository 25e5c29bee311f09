# funclen.awk — lists the C functions longer than MAX lines (default 120).
# A function starts at a line beginning with "{" after a line that names it
# and ends at the next line beginning with "}".  Data tables (initialisers,
# "= {") are not functions and are not counted.  Exit 1 when any is longer.
#   awk -v MAX=120 -f scripts/funclen.awk lib/*.c cli/*.c
BEGIN { if (MAX == "") MAX = 120; bad = 0 }
FNR == 1 { infn = 0; prev = "" }
/^\{/ && !infn {
    if (prev ~ /\)[ \t]*$/ || prev ~ /\)[ \t]*\/\*/) {
        infn = 1; start = FNR; name = sig
    }
}
/^\}/ && infn {
    len = FNR - start + 1; infn = 0
    if (len > MAX) { printf "%s:%d: %s: %d lines (limit %d)\n", FILENAME, start, name, len, MAX; bad = 1 }
    if (VERBOSE) printf "%d %s:%d %s\n", len, FILENAME, start, name
}
!infn && /^[A-Za-z_].*\(/ { sig = $0; sub(/\(.*/, "", sig); n = split(sig, w, /[ \t*]+/); sig = w[n] }
{ if ($0 !~ /^[ \t]*$/) prev = $0 }
END { exit bad }
