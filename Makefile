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
# make check SANITIZE=address,undefined: everything built with those
# sanitizers in its own folder; any finding stops the program (no recovery),
# so a test that meets one fails
comma := ,
ifdef SANITIZE
SANFLAGS = -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
B       := build/san-$(subst $(comma),-,$(SANITIZE))
BIN     := $(B)/
else
B       := build
BIN     :=
endif
VERSION := $(shell sed -n 's/^\#define NCS_VERSION "\(.*\)"/\1/p' include/ncs.h)

ALL_CFLAGS  = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) -Iinclude \
              $(shell pkg-config --cflags $(PKGS)) $(CFLAGS) $(SANFLAGS)
LIBS        = $(shell pkg-config --libs $(PKGS)) -lpthread -lm
TEST_CFLAGS = $(shell pkg-config --cflags check)
TEST_LIBS   = $(shell pkg-config --libs check)

CLI_SRC = src/main.c $(wildcard src/cli_*.c)
CLI_OBJ = $(patsubst src/%.c,$(B)/%.o,$(CLI_SRC))
LIB_SRC = $(filter-out $(CLI_SRC),$(wildcard src/*.c))
LIB_OBJ = $(patsubst src/%.c,$(B)/%.o,$(LIB_SRC))
TESTS   = $(patsubst tests/%.c,$(B)/%,$(wildcard tests/test_*.c))

all: $(BIN)ncs $(BIN)ncs-synth

$(B)/%.o: src/%.c include/ncs.h src/internal.h $(wildcard src/*.h) | $(B)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B):
	mkdir -p $(B)

$(B)/libncs.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BIN)ncs: $(CLI_OBJ) $(B)/libncs.a
	$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS) $(LDFLAGS)

$(BIN)ncs-synth: tools/ncs-synth.c $(B)/libncs.a include/ncs_synth.h
	$(CC) $(ALL_CFLAGS) -o $@ tools/ncs-synth.c $(B)/libncs.a $(LIBS) $(LDFLAGS)

$(B)/test_%: tests/test_%.c tests/testutil.h $(B)/libncs.a include/ncs_synth.h | $(B)
	$(CC) $(ALL_CFLAGS) $(TEST_CFLAGS) -Itests -o $@ $< $(B)/libncs.a $(TEST_LIBS) $(LIBS)

# The public header must stand alone in strict C99.
$(B)/header-check.o: tests/header_check.c include/ncs.h | $(B)
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -c -o $@ $<

# Regenerate the shipped sample studies (deterministic).
samples: ncs-synth
	./ncs-synth samples samples

$(B)/mkwave: tests/mkwave.c | $(B)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBS)

# The README's two commands: each installs what is missing first (a no-op
# when everything is there), then re-runs make so pkg-config sees it.
check:
	@sh scripts/install-deps.sh
	@$(MAKE) --no-print-directory test
	@$(MAKE) --no-print-directory hardening

# What issue 7 asks of every change, run by make check after the tests: the
# build warnings-clean with clang too and cppcheck clean, the whole suite
# again under ASan and UBSan, the end-to-end corpus under valgrind, and each
# fuzzer for a short while.
hardening:
	@echo "== clang, warnings as errors"
	@$(MAKE) -s --no-print-directory CC=clang B=build/clang BIN=build/clang/ WERROR=1 all \
	    build/clang/mkwave $(patsubst build/%,build/clang/%,$(TESTS) $(REPLAYS))
	@echo "== cppcheck"
	@cppcheck --enable=warning,performance,portability --error-exitcode=1 --inline-suppr -q \
	    --std=c11 -Iinclude -Isrc -D__GNUC__ src tools fuzz
	@echo "== the suite under AddressSanitizer and UndefinedBehaviorSanitizer"
	@$(MAKE) -s --no-print-directory test SANITIZE=address,undefined
	@$(MAKE) -s --no-print-directory valgrind
	@$(MAKE) -s --no-print-directory fuzz FUZZ_SECONDS=$(CHECK_FUZZ_SECONDS)

CHECK_FUZZ_SECONDS ?= 10

run:
	@sh scripts/install-deps.sh
	@$(MAKE) --no-print-directory all
	./ncs check samples/*
	./ncs batch -q --report samples -o out
	@echo "results and reports: out/<study>/results.json, results.csv, report.pdf; out/summary.csv"

# ---- fuzzing ------------------------------------------------------------
# make fuzz: each target built with clang's libFuzzer and ASan/UBSan, run
# for FUZZ_SECONDS from the seeds in fuzz/seeds/<target>; a crash stops it
# and leaves the input in build/fuzz/crash-<target>-*: copy that file into
# fuzz/regress/<target>/ once fixed, and make check replays it for good.
FUZZ_TARGETS = ini csv sndfile measure
FUZZ_SECONDS ?= 60
FUZZ_CC     ?= clang
FZ          := build/fuzz
FZ_CFLAGS    = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -g -O1 -Iinclude \
               $(shell pkg-config --cflags $(PKGS)) -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=all
FZ_LIB_OBJ   = $(patsubst src/%.c,$(FZ)/%.o,$(LIB_SRC))

$(FZ)/%.o: src/%.c include/ncs.h src/internal.h $(wildcard src/*.h)
	@mkdir -p $(FZ)
	$(FUZZ_CC) $(FZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FZ)/libncs.a: $(FZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FZ)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FZ)/libncs.a
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
$(B)/replay_%: fuzz/replay.c fuzz/fuzz_%.c fuzz/fuzz.h $(B)/libncs.a
	$(CC) $(ALL_CFLAGS) -Ifuzz -o $@ fuzz/replay.c fuzz/fuzz_$*.c $(B)/libncs.a $(LIBS)

REPLAYS = $(patsubst %,$(B)/replay_%,$(FUZZ_TARGETS))

test: all $(B)/header-check.o $(B)/mkwave $(TESTS) $(REPLAYS)
	@set -e; export LC_ALL=C; fail=0; \
	for t in $(TESTS); do echo "== $$t"; $$t || fail=1; done; \
	for t in $(FUZZ_TARGETS); do echo "== fuzz regressions: $$t"; \
	  $(B)/replay_$$t $$(find fuzz/seeds/$$t fuzz/regress/$$t -type f ! -name README | sort) || fail=1; done; \
	echo "== tests/e2e.sh"; NCS=./$(BIN)ncs MKWAVE=$(B)/mkwave tests/e2e.sh || fail=1; \
	exit $$fail

# The e2e corpus and the samples under valgrind: every ncs the end-to-end
# script runs (and the workers it forks) logs to build/valgrind/; any
# invalid access or definite leak there fails. The Check suites run in one
# process (CK_FORK=no) under valgrind too, but for the accuracy run.
VG = valgrind -q --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
     --error-exitcode=99 --log-file=$(CURDIR)/build/valgrind/%p.log
valgrind: all $(B)/mkwave $(TESTS)
	@rm -rf build/valgrind; mkdir -p build/valgrind
	@echo "== valgrind: Check suites"
	@set -e; export LC_ALL=C CK_FORK=no; for t in $(filter-out %test_measure,$(TESTS)); do \
	    $(VG) $$t >/dev/null; done
	@echo "== valgrind: tests/e2e.sh"
	@LC_ALL=C NCS=./$(BIN)ncs NCS_WRAP="$(VG)" MKWAVE=$(B)/mkwave tests/e2e.sh | tail -1
	@if find build/valgrind -name '*.log' -size +0 | grep -q .; then \
	    echo "valgrind found errors:"; find build/valgrind -name '*.log' -size +0 \
	    -exec sh -c 'echo "-- $$1"; head -30 "$$1"' _ {} \; ; exit 1; \
	else echo "valgrind: $$(ls build/valgrind | wc -l) processes, no error, no leak"; fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 ncs $(DESTDIR)$(PREFIX)/bin/ncs
	install -m 644 man/ncs.1 $(DESTDIR)$(PREFIX)/share/man/man1/ncs.1

clean:
	rm -rf build ncs ncs-synth

.PHONY: all check test run clean install samples bench valgrind fuzz hardening

# Speed and memory figures of SPEC 8.2 (prints them; not a test)
bench: all
	@sh scripts/bench.sh
