# ncs — nerve-conduction-study analyser.  make | make check | make run | make install
#
# The tree, by role:
#   include/ncs.h   the library's one public header
#   lib/            libncs: the analysis stages and their internal headers
#   cli/            the `ncs` command, compiled against include/ only
#   synth/          libncssynth, the synthetic-study generator (tests,
#                   benchmarks, samples), and its tool ncs-synth
#   tests/ fuzz/    Check suites, end-to-end script, fuzz targets
CC      ?= cc
PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR  ?= $(PREFIX)/lib
CFLAGS  ?= -O2 -g
PKGS     = sndfile fftw3 inih jansson libxxhash
WARN     = -Wall -Wextra -Wshadow -Wvla -Wstrict-prototypes -Wmissing-prototypes
# warnings are errors in CI (CI=true) or with WERROR=1
ifneq ($(filter true 1,$(CI) $(WERROR)),)
WARN    += -Werror
endif
# make check SANITIZE=address,undefined: everything built with those
# sanitizers in its own folder; any finding stops the program (no recovery),
# so a test that meets one fails
comma := ,
ifdef SANITIZE
SANFLAGS = -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
B       := build/san-$(subst $(comma),-,$(SANITIZE))
BIN     := $(B)/
else
B       ?= build
BIN     ?=
endif
VERSION := $(shell sed -n 's/^\#define NCS_VERSION "\(.*\)"/\1/p' include/ncs.h)

# -MMD -MP: every object records the headers it read, so touching any
# header rebuilds exactly what includes it
BASE_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) -Iinclude \
              $(shell pkg-config --cflags $(PKGS)) $(CFLAGS) $(SANFLAGS) -MMD -MP
LIBS        = $(shell pkg-config --libs $(PKGS)) -lpthread -lm
TEST_CFLAGS = $(shell pkg-config --cflags check)
TEST_LIBS   = $(shell pkg-config --libs check)

LIB_SRC   = $(wildcard lib/*.c)
CLI_SRC   = $(wildcard cli/*.c)
SYNTH_SRC = synth/synth.c synth/synth_study.c synth/synth_edf.c
LIB_OBJ   = $(patsubst %.c,$(B)/%.o,$(LIB_SRC))
CLI_OBJ   = $(patsubst %.c,$(B)/%.o,$(CLI_SRC))
SYNTH_OBJ = $(patsubst %.c,$(B)/%.o,$(SYNTH_SRC))
TESTS     = $(patsubst tests/%.c,$(B)/%,$(wildcard tests/test_*.c))

all: $(BIN)ncs $(BIN)ncs-synth

# Each part sees only the headers its role allows: the library its own
# internal headers; the command line and the generator the public ones.
$(B)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Ilib -c -o $@ $<
$(B)/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -c -o $@ $<
$(B)/synth/%.o: synth/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) -Isynth -c -o $@ $<

$(B)/libncs.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/libncssynth.a: $(SYNTH_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BIN)ncs: $(CLI_OBJ) $(B)/libncs.a
	$(CC) $(BASE_CFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

$(BIN)ncs-synth: $(B)/synth/ncs-synth.o $(B)/libncssynth.a $(B)/libncs.a
	$(CC) $(BASE_CFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

$(B)/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE_CFLAGS) $(TEST_CFLAGS) -Isynth -Itests -c -o $@ $<

$(B)/test_%: $(B)/tests/test_%.o $(B)/libncssynth.a $(B)/libncs.a
	$(CC) $(BASE_CFLAGS) -o $@ $^ $(TEST_LIBS) $(LIBS)

# The public header must stand alone in strict C99.
$(B)/header-check.o: tests/header_check.c include/ncs.h
	@mkdir -p $(@D)
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c -o $@ $<

$(B)/mkwave: $(B)/tests/mkwave.o
	$(CC) $(BASE_CFLAGS) -o $@ $< $(LIBS)

# Fault injection for the tests, outside the product: a shared object that
# LD_PRELOAD puts in front of libc's open/fopen (tests/inject.c)
$(B)/inject.so: tests/inject.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g -fPIC -shared -o $@ $< -ldl

# Regenerate the shipped sample studies (deterministic).
samples: $(BIN)ncs-synth
	./$(BIN)ncs-synth samples samples

# The README's two commands: each installs what is missing first (a no-op
# when everything is there), then re-runs make so pkg-config sees it.
# make run needs only what running needs; make check adds the test tools.
check:
	@sh scripts/install-deps.sh test
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory hardening

run:
	@sh scripts/install-deps.sh run
	@$(MAKE) --no-print-directory all
	./ncs check samples/*
	./ncs batch -q --report samples -o out
	@echo "results and reports: out/<study>/results.json, results.csv, report.pdf; out/summary.csv"

# Every function reads as its algorithm: none longer than 120 lines
# outside data tables (scripts/funclen.awk).
# And the layers hold: cli/ and synth/ reach libncs through include/ncs.h
# only (scripts/check-layers.sh: includes, and the symbols their objects use).
lint: $(CLI_OBJ) $(SYNTH_OBJ) $(B)/synth/ncs-synth.o
	@echo "== functions of at most 120 lines"
	@awk -v MAX=120 -f scripts/funclen.awk lib/*.c cli/*.c synth/*.c tests/*.c fuzz/*.c
	@sh scripts/check-layers.sh $(B)

# What every change must also pass, run by make check after the tests: the
# build warnings-clean with clang too and cppcheck clean, the whole suite
# again under ASan and UBSan, the end-to-end corpus under valgrind, and each
# fuzzer for a short while.
hardening:
	@echo "== clang, warnings as errors"
	@$(MAKE) -s --no-print-directory CC=clang B=build/clang BIN=build/clang/ WERROR=1 all \
	    build/clang/mkwave $(patsubst build/%,build/clang/%,$(TESTS) $(REPLAYS))
	@echo "== cppcheck"
	@cppcheck --enable=warning,performance,portability --error-exitcode=1 --inline-suppr -q \
	    --std=c11 -Iinclude -Ilib -Isynth -D__GNUC__ lib cli synth fuzz
	@echo "== the suite under AddressSanitizer and UndefinedBehaviorSanitizer"
	@$(MAKE) -s --no-print-directory test SANITIZE=address,undefined
	@$(MAKE) -s --no-print-directory valgrind
	@$(MAKE) -s --no-print-directory fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

CHECK_FUZZ_SECONDS ?= 10

# ---- fuzzing ------------------------------------------------------------
# make fuzz: each target built with clang's libFuzzer and ASan/UBSan, run
# for FUZZ_SECONDS from the seeds in fuzz/seeds/<target>; a crash stops it
# and leaves the input in build/fuzz/crash-<target>-*: copy that file into
# fuzz/regress/<target>/ once fixed, and make check replays it for good.
FUZZ_TARGETS = ini csv sndfile measure edf
FUZZ_SECONDS ?= 60
FUZZ_CC     ?= clang
FZ          := build/fuzz
FZ_CFLAGS    = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -Iinclude \
               $(shell pkg-config --cflags $(PKGS)) -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=all -MMD -MP
FZ_LIB_OBJ   = $(patsubst %.c,$(FZ)/%.o,$(LIB_SRC))

$(FZ)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FZ_CFLAGS) -Ilib -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZ)/libncs.a: $(FZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FZ)/fuzz_%: fuzz/fuzz_%.c $(FZ)/libncs.a
	$(FUZZ_CC) $(FZ_CFLAGS) -fsanitize=fuzzer -Ifuzz -o $@ $< $(FZ)/libncs.a $(LIBS)

fuzz: $(patsubst %,$(FZ)/fuzz_%,$(FUZZ_TARGETS))
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FZ)/corpus-$$t; echo "== fuzz $$t, $(FUZZ_SECONDS) s"; \
	  $(FZ)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -timeout=10 \
	    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix=$(FZ)/crash-$$t- \
	    $(FZ)/corpus-$$t fuzz/seeds/$$t 2>&1 | grep -E "^(#[0-9]+ *DONE|==|SUMMARY|stat::number_of_executed_units|.*check failed)" || true; \
	  if ls $(FZ)/crash-$$t-* >/dev/null 2>&1; then \
	    echo "fuzz $$t: crash inputs in $(FZ)/crash-$$t-*"; exit 1; fi; \
	done

# the seeds and every crash once found, through the targets without libFuzzer
$(B)/replay_%: fuzz/replay.c fuzz/fuzz_%.c $(B)/libncs.a
	$(CC) $(BASE_CFLAGS) -Ifuzz -o $@ fuzz/replay.c fuzz/fuzz_$*.c $(B)/libncs.a $(LIBS)

REPLAYS = $(patsubst %,$(B)/replay_%,$(FUZZ_TARGETS))

LINT ?= lint
# make test: the suite alone. One suite or case: CK_RUN_SUITE / CK_RUN_CASE
# (see the README).
test: all $(LINT) $(B)/header-check.o $(B)/mkwave $(B)/inject.so $(TESTS) $(REPLAYS)
	@set -e; export LC_ALL=C; fail=0; \
	for t in $(TESTS); do echo "== $$t"; $$t || fail=1; done; \
	for t in $(FUZZ_TARGETS); do echo "== fuzz regressions: $$t"; \
	  $(B)/replay_$$t $$(find fuzz/seeds/$$t fuzz/regress/$$t -type f ! -name README | sort) || fail=1; done; \
	echo "== tests/golden.sh"; NCS=./$(BIN)ncs SYNTH=./$(BIN)ncs-synth tests/golden.sh || fail=1; \
	echo "== tests/e2e.sh"; NCS=./$(BIN)ncs SYNTH=./$(BIN)ncs-synth MKWAVE=$(B)/mkwave INJECT=$(B)/inject.so tests/e2e.sh || fail=1; \
	for s in tests/faults.sh tests/report-limits.sh; do echo "== $$s"; \
	  NCS=./$(BIN)ncs SYNTH=./$(BIN)ncs-synth MKWAVE=$(B)/mkwave INJECT=$(B)/inject.so $$s || fail=1; done; \
	if [ -z "$(SANITIZE)" ]; then echo "== tests/install.sh"; CC="$(CC)" tests/install.sh || fail=1; fi; \
	exit $$fail

# make golden: rewrite tests/expected/ from the current binary, after a
# change that is meant to move numbers (review the diff before committing)
golden: all
	NCS=./ncs GOLDEN_UPDATE=1 tests/golden.sh

# The e2e corpus and the samples under valgrind: every ncs the end-to-end
# script runs (and the workers it forks) logs to build/valgrind/; any
# invalid access or definite leak there fails. The Check suites run in one
# process (CK_FORK=no) under valgrind too, but for the accuracy run.
VG = valgrind -q --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
     --error-exitcode=99 --log-file=$(CURDIR)/build/valgrind/%p.log
valgrind: all $(B)/mkwave $(B)/inject.so $(TESTS)
	@rm -rf build/valgrind; mkdir -p build/valgrind
	@echo "== valgrind: Check suites"
	@set -e; export LC_ALL=C CK_FORK=no; for t in $(filter-out %test_measure %test_families,$(TESTS)); do \
	    $(VG) $$t >/dev/null; done
	@echo "== valgrind: tests/e2e.sh"
	@LC_ALL=C NCS=./$(BIN)ncs SYNTH=./$(BIN)ncs-synth NCS_WRAP="$(VG)" MKWAVE=$(B)/mkwave INJECT=$(B)/inject.so \
	    tests/e2e.sh | tail -1
	@if find build/valgrind -name '*.log' -size +0 | grep -q .; then \
	    echo "valgrind found errors:"; find build/valgrind -name '*.log' -size +0 \
	    -exec sh -c 'echo "-- $$1"; head -30 "$$1"' _ {} \; ; exit 1; \
	else echo "valgrind: $$(ls build/valgrind | wc -l) processes, no error, no leak"; fi

# make install: the command and its man page, and the library for programs
# of one's own (libncs.a, ncs.h, ncs.pc for pkg-config).
install: all $(B)/libncs.a
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BIN)ncs $(DESTDIR)$(PREFIX)/bin/ncs
	install -m 644 man/ncs.1 $(DESTDIR)$(PREFIX)/share/man/man1/ncs.1
	install -m 644 $(B)/libncs.a $(DESTDIR)$(LIBDIR)/libncs.a
	install -m 644 include/ncs.h $(DESTDIR)$(PREFIX)/include/ncs.h
	install -d $(DESTDIR)$(PREFIX)/share/doc/ncs
	install -m 644 docs/*.md $(DESTDIR)$(PREFIX)/share/doc/ncs/
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@VERSION@|$(VERSION)|' \
	    ncs.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/ncs.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/ncs $(DESTDIR)$(PREFIX)/share/man/man1/ncs.1 \
	    $(DESTDIR)$(LIBDIR)/libncs.a $(DESTDIR)$(PREFIX)/include/ncs.h \
	    $(DESTDIR)$(LIBDIR)/pkgconfig/ncs.pc
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/ncs

clean:
	rm -rf build ncs ncs-synth

# Speed and memory figures (prints them; not a test)
bench: all
	@sh scripts/bench.sh

.PHONY: all check test lint run clean install uninstall samples bench valgrind fuzz \
        hardening golden

-include $(shell find build -name '*.d' 2>/dev/null)
