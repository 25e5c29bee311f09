#!/bin/sh
# Install what ncs needs to build, test and make reports on Debian 12.
# A no-op when everything is already there; needs root (or sudo) otherwise.
set -eu

# build and run: compiler, libraries; reports: gnuplot; tests: Check, poppler
# (pdfinfo, pdftoppm, pdftotext); hardening (make check runs them too):
# clang with libFuzzer, valgrind, cppcheck; GNU parallel for the
# several-machines recipe's test
PKGS="build-essential pkg-config libfftw3-dev libsndfile1-dev libinih-dev \
libjansson-dev check gnuplot-nox poppler-utils clang libclang-rt-14-dev valgrind \
cppcheck parallel"

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
