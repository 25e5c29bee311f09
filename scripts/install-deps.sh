#!/bin/sh
# Install what ncs needs on Debian 12; a no-op when everything is there.
# Needs root (or sudo) only when something is missing.
#
#   install-deps.sh run    build and run: compiler, libraries, gnuplot for
#                          reports and a CJK font (fonts-wqy-microhei: the
#                          report's DejaVu has no Chinese, Japanese or Korean
#                          glyphs, and cairo drew a patient's name in them as
#                          one glyph the size of the page) (make run)
#   install-deps.sh test   the above and the test toolchain (make check, CI):
#                          Check; poppler-utils (pdfinfo, pdftoppm, pdftotext
#                          look at the reports); libxml2-utils (xmllint: SVG
#                          reports are well-formed XML); clang with libFuzzer,
#                          valgrind and cppcheck (hardening); GNU time (the
#                          report memory test); GNU parallel
#                          (the several-machines recipe's test); python3
#                          (the end-to-end tests read results.json with it)
#   install-deps.sh        the same as test
set -eu

RUN_PKGS="build-essential pkg-config libfftw3-dev libsndfile1-dev libinih-dev \
libjansson-dev libxxhash-dev gnuplot-nox fonts-wqy-microhei"
TEST_PKGS="check poppler-utils libxml2-utils clang libclang-rt-14-dev valgrind cppcheck parallel time python3-minimal"

case "${1:-test}" in
run) PKGS=$RUN_PKGS ;;
test) PKGS="$RUN_PKGS $TEST_PKGS" ;;
*)
    echo "usage: install-deps.sh [run|test]" >&2
    exit 2
    ;;
esac

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done

if [ -z "$missing" ]; then
    exit 0
fi

echo "install-deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install-deps: need root to install:$missing" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
