# ncs — nerve-conduction-study analyser.  make | make check | make install
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
CFLAGS  ?= -O2 -g
PKGS     = sndfile fftw3 inih jansson
WARN     = -Wall -Wextra -Wshadow -Wvla -Wstrict-prototypes -Wmissing-prototypes
# warnings are errors in CI (CI=true) or with WERROR=1
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN    += -Werror
endif
# make check SANITIZE=address,undefined
ifdef SANITIZE
SANFLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
endif
VERSION := $(shell sed -n 's/^\#define NCS_VERSION "\(.*\)"/\1/p' include/ncs.h)

ALL_CFLAGS  = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) -Iinclude \
              $(shell pkg-config --cflags $(PKGS)) $(CFLAGS) $(SANFLAGS)
LIBS        = $(shell pkg-config --libs $(PKGS)) -lpthread -lm
TEST_CFLAGS = $(shell pkg-config --cflags check)
TEST_LIBS   = $(shell pkg-config --libs check)

CLI_SRC = src/main.c $(wildcard src/cli_*.c)
CLI_OBJ = $(patsubst src/%.c,build/%.o,$(CLI_SRC))
LIB_SRC = $(filter-out $(CLI_SRC),$(wildcard src/*.c))
LIB_OBJ = $(patsubst src/%.c,build/%.o,$(LIB_SRC))
TESTS   = $(patsubst tests/%.c,build/%,$(wildcard tests/test_*.c))

all: ncs ncs-synth

build/%.o: src/%.c include/ncs.h src/internal.h $(wildcard src/*.h) | build
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

build:
	mkdir -p build

build/libncs.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

ncs: $(CLI_OBJ) build/libncs.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

ncs-synth: tools/ncs-synth.c build/libncs.a include/ncs_synth.h
	$(CC) $(ALL_CFLAGS) -o $@ tools/ncs-synth.c build/libncs.a $(LIBS) $(LDFLAGS)

build/test_%: tests/test_%.c tests/testutil.h build/libncs.a include/ncs_synth.h | build
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests -o $@ $< build/libncs.a $(TEST_LIBS) $(LIBS)

# The public header must stand alone in strict C99.
build/header-check.o: tests/header_check.c include/ncs.h | build
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c -o $@ $<

# Regenerate the shipped sample studies (deterministic).
samples: ncs-synth
	./ncs-synth samples samples

build/mkwave: tests/mkwave.c | build
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS)

# The README's two commands: each installs what is missing first (a no-op
# when everything is there), then re-runs make so pkg-config sees it.
check:
	@sh scripts/install-deps.sh
	@$(MAKE) --no-print-directory test

run:
	@sh scripts/install-deps.sh
	@$(MAKE) --no-print-directory all
	./ncs check samples/*
	./ncs batch -q --report samples -o out
	@echo "results and reports: out/<study>/results.json, results.csv, report.pdf; out/summary.csv"

test: all build/header-check.o build/mkwave $(TESTS)
	@set -e; export LC_ALL=C; fail=0; \
	for t in $(TESTS); do echo "== $$t"; $$t || fail=1; done; \
	echo "== tests/e2e.sh"; NCS=./ncs MKWAVE=build/mkwave tests/e2e.sh || fail=1; \
	exit $$fail

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 ncs $(DESTDIR)$(PREFIX)/bin/ncs
	install -m 644 man/ncs.1 $(DESTDIR)$(PREFIX)/share/man/man1/ncs.1

clean:
	rm -rf build ncs ncs-synth

.PHONY: all check test run clean install samples bench

# Speed and memory figures of SPEC 8.2 (prints them; not a test)
bench: all
	@sh scripts/bench.sh
