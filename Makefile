# thunder: build, test and install the C library.
#
#   make            release build of libthunder.so / libthunder.a (staged in build/lib)
#   make run        build and run the C quickstart against a real database file
#   make cli        the thunder command-line tool, build/bin/thunder (C, on thunder.h
#                   alone, linked statically against libthunder.a)
#   make check      everything CI runs: fmt, clippy, cargo tests (header check
#                   included), the suites every I/O backend must pass once per
#                   backend (sync, uring, direct: power cuts, failed steps, model,
#                   log, C tests), C tests with ASan/UBSan (shared) at every page size, again linked
#                   statically, one test as C++, API coverage, the library's
#                   exported symbols against the header, examples, the
#                   command-line tool's shell test (built with ASan/UBSan), a
#                   pkg-config build against an install into a temporary prefix,
#                   and the bindings' tests (bindings-test: Go with the race
#                   detector, the Raft store, Python, Zig)
#   make header     rewrite include/thunder.h from the sources (commit it)
#   make install PREFIX=/usr/local   /   make uninstall PREFIX=...
#                   (the library, header, thunder.pc, bin/thunder and its man page)
#   make fuzz       long runs of the randomized tests
#   make bench-deps the benchmark's peers: Debian's LMDB, RocksDB, SQLite, Go + bbolt,
#                   libclang; redb and libmdbx from crates.io (bench/rust); matplotlib
#   make bench      thunder against them (BENCH_N keys, RUNS interleaved runs):
#                   writes docs/BENCHMARKS.md, docs/benchmarks.png, bench/results/
#   make bench-selftest   quick check of the harness (part of make check)

CARGO   ?= cargo
CC      ?= cc
CXX     ?= c++
PREFIX  ?= /usr/local
DESTDIR ?=

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
MAJOR   := $(firstword $(subst ., ,$(VERSION)))
BUILD   := build
STAGE   := $(BUILD)/lib
REL     := target/release
LIBS_PRIVATE_FILE := $(BUILD)/native-static-libs

WARN    := -Wall -Wextra -Werror
CSTD    := -std=c11
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
INC     := -Iinclude -Ic_tests
SHARED_LINK := -L$(STAGE) -lthunder -Wl,-rpath,$(abspath $(STAGE)) -lpthread

C_TESTS  := $(sort $(wildcard c_tests/test_*.c))
# The C tests run once per page size (check.h: open_test_db).
PAGE_SIZES := 4096 8192 16384 65536
# The I/O backends; each passes the same suites (THUNDER_TEST_IO, see
# backend-tests and c-tests). A backend this machine refuses (no io_uring,
# a filesystem without O_DIRECT) is skipped, and the output says why.
IO_BACKENDS := sync uring direct
IO_PROBE := $(BUILD)/c/io_probe
EXAMPLES := $(sort $(wildcard examples_c/*.c))
CLI_SRC  := $(sort $(wildcard cli/*.c))
CLI_BIN  := $(BUILD)/bin/thunder
CXX_TEST := c_tests/test_kv.c

.PHONY: all lib run cli check fmt-check clippy cargo-test backend-tests io-probe c-tests c-static c-cxx api-coverage \
        symbols-check examples cli-test pkgconfig-test header install uninstall fuzz clean \
        bindings-test go-test raft-test py-test zig-test bench-deps bench bench-selftest

all: lib

# The release build also records, from rustc itself, the native libraries a
# static link needs (for thunder.pc's Libs.private and the static C tests).
lib:
	@mkdir -p $(STAGE)
	$(CARGO) rustc --release --lib -- --print native-static-libs 2> $(BUILD)/rustc.log || { cat $(BUILD)/rustc.log; exit 1; }
	@sed -n 's/^note: native-static-libs: //p' $(BUILD)/rustc.log | tail -n 1 > $(LIBS_PRIVATE_FILE)
	@test -s $(LIBS_PRIVATE_FILE) || { echo "could not read native-static-libs from rustc"; exit 1; }
	@# A new file renamed into place: copying over the old one in place would
	@# rewrite the pages of programs running with it mapped (and crash them).
	@cp -f $(REL)/libthunder.so $(STAGE)/.libthunder.so.tmp && \
	  mv -f $(STAGE)/.libthunder.so.tmp $(STAGE)/libthunder.so.$(VERSION)
	@ln -sf libthunder.so.$(VERSION) $(STAGE)/libthunder.so.$(MAJOR)
	@ln -sf libthunder.so.$(MAJOR) $(STAGE)/libthunder.so
	@cp -f $(REL)/libthunder.a $(STAGE)/.libthunder.a.tmp && mv -f $(STAGE)/.libthunder.a.tmp $(STAGE)/libthunder.a
	@echo "built $(STAGE)/libthunder.so.$(VERSION) and $(STAGE)/libthunder.a"

run: lib
	@mkdir -p $(BUILD)
	$(CC) $(CSTD) $(WARN) -Iinclude examples_c/quickstart.c -o $(BUILD)/quickstart $(SHARED_LINK)
	@rm -f $(BUILD)/quickstart.db
	$(BUILD)/quickstart $(BUILD)/quickstart.db

check: fmt-check clippy cargo-test backend-tests c-tests c-static c-cxx api-coverage symbols-check examples cli-test \
       pkgconfig-test bindings-test bench-selftest
	@echo "make check: all passed"

fmt-check:
	$(CARGO) fmt --check

clippy:
	$(CARGO) clippy --all-targets -- -D warnings

cargo-test:
	$(CARGO) test

# io_probe BACKEND DIR: exit 2 (the reason on stdout) where BACKEND is
# refused in DIR, so the suites below skip it saying why.
io-probe: lib
	@mkdir -p $(BUILD)/c
	@$(CC) $(CSTD) $(WARN) -Iinclude c_tests/io_probe.c -o $(IO_PROBE) $(SHARED_LINK)

# The backends this machine takes, one per line; "SKIP ..." lines on stderr
# for those it refuses. Used as $$($(IO_AVAILABLE) DIR).
IO_AVAILABLE = sh -c 'for io in $(IO_BACKENDS); do rc=0; why=$$($(IO_PROBE) $$io "$$0") || rc=$$?; \
  if [ $$rc = 0 ]; then echo $$io; elif [ $$rc = 2 ]; then echo "SKIP $$io backend: $$why" >&2; \
  else echo "$$why" >&2; exit 1; fi; done'

# The suites every I/O backend passes, once per backend at 4096-byte pages:
# power cuts, failed steps and torn metas over FaultIo wrapping the backend,
# the model test (with and without the log) and the log tests.
backend-tests: io-probe
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	avail=$$($(IO_AVAILABLE) $$dir); \
	for io in $$avail; do \
	  echo "== the $$io backend (THUNDER_TEST_IO=$$io): power cuts, failed steps, model, log"; \
	  THUNDER_TEST_IO=$$io $(CARGO) test -q --lib --test model -- _4k tests::wal_faults tests::support; \
	  THUNDER_TEST_IO=$$io $(CARGO) test -q --test wal; \
	done

# Every C test, compiled with -Werror and ASan/UBSan, linked against the
# shared library: at every page size on the default backend (AUTO), then at
# 4096-byte pages on each backend (check.h: THUNDER_TEST_IO).
c-tests: io-probe
	@mkdir -p $(BUILD)/c
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	avail=$$($(IO_AVAILABLE) $$dir); \
	for t in $(C_TESTS); do n=$$(basename $$t .c); \
	  $(CC) $(CSTD) $(WARN) -g $(SAN) $(INC) $$t -o $(BUILD)/c/$$n $(SHARED_LINK); \
	  printf '%-36s' "$$n (shared, asan+ubsan)"; \
	  for ps in $(PAGE_SIZES); do \
	    THUNDER_TEST_PAGE_SIZE=$$ps THUNDER_TEST_DIR=$$dir THUNDER_TEST_BIN=$(abspath $(BUILD)/c/$$n) $(BUILD)/c/$$n; \
	  done; \
	  for io in $$avail; do \
	    THUNDER_TEST_IO=$$io THUNDER_TEST_DIR=$$dir THUNDER_TEST_BIN=$(abspath $(BUILD)/c/$$n) $(BUILD)/c/$$n; \
	  done; echo "ok (pages of $(PAGE_SIZES) bytes; at 4096:" $$avail")"; \
	done

# The same tests linked statically against libthunder.a.
c-static: lib
	@mkdir -p $(BUILD)/c
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	for t in $(C_TESTS); do n=$$(basename $$t .c)-static; \
	  $(CC) $(CSTD) $(WARN) -g $(INC) $$t -o $(BUILD)/c/$$n $(STAGE)/libthunder.a $$(cat $(LIBS_PRIVATE_FILE)); \
	  printf '%-36s' "$$n (static)"; \
	  THUNDER_TEST_DIR=$$dir THUNDER_TEST_BIN=$(abspath $(BUILD)/c/$$n) $(BUILD)/c/$$n; echo ok; \
	done

# The header must also compile as C++.
c-cxx: lib
	@mkdir -p $(BUILD)/c
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	$(CXX) -std=c++17 $(WARN) -g -x c++ $(INC) $(CXX_TEST) -o $(BUILD)/c/test_kv_cxx $(SHARED_LINK); \
	printf '%-36s' "test_kv (C++)"; THUNDER_TEST_DIR=$$dir $(BUILD)/c/test_kv_cxx; echo ok

api-coverage:
	@sh c_tests/api_coverage.sh include/thunder.h c_tests

# The thunder_* functions libthunder.so exports must be exactly those the
# header declares (a diff otherwise).
symbols-check: lib
	@sh c_tests/symbols_check.sh $(STAGE)/libthunder.so include/thunder.h

examples: lib
	@mkdir -p $(BUILD)/examples
	@set -e; dir=$$(mktemp -d); trap 'rm -rf "$$dir"' EXIT; \
	for e in $(EXAMPLES); do n=$$(basename $$e .c); \
	  $(CC) $(CSTD) $(WARN) -Iinclude $$e -o $(BUILD)/examples/$$n $(SHARED_LINK); \
	  printf '%-36s' "example $$n"; $(BUILD)/examples/$$n $$dir/$$n.db > $$dir/$$n.out; echo ok; \
	done

# The command-line tool, linked statically so that it runs wherever it is
# installed.
cli: lib
	@mkdir -p $(BUILD)/bin
	$(CC) $(CSTD) $(WARN) -O2 -Iinclude $(CLI_SRC) -o $(CLI_BIN) $(STAGE)/libthunder.a $$(cat $(LIBS_PRIVATE_FILE))

# The tool's shell test (every command), run on a build with ASan/UBSan.
# LMDB's mdb_load/mdb_dump take part when installed (installed here with
# apt when missing and running as root; the test says when it skips them).
cli-test: cli
	@command -v mdb_load >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing lmdb-utils"; apt-get install -y -q lmdb-utils >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q lmdb-utils >/dev/null 2>&1; }; fi; }
	@mkdir -p $(BUILD)/c
	$(CC) $(CSTD) $(WARN) -g $(SAN) -Iinclude $(CLI_SRC) -o $(BUILD)/c/thunder-asan \
	  $(STAGE)/libthunder.a $$(cat $(LIBS_PRIVATE_FILE))
	@$(CLI_BIN) --version >/dev/null
	@sh cli/test_cli.sh $(BUILD)/c/thunder-asan

# Install into a temporary prefix and build the quickstart through pkg-config
# (PKG_CONFIG names it; where it is missing, thunder.pc is read by
# pkgconfig/pc-flags.sh, and the output says so).
PKG_CONFIG ?= pkg-config
pkgconfig-test: lib
	@command -v $(PKG_CONFIG) >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing pkg-config"; apt-get install -y -q pkg-config >/dev/null 2>&1 || \
	      { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q pkg-config >/dev/null 2>&1; }; fi; }
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(MAKE) --no-print-directory install PREFIX=$$tmp > /dev/null; \
	pc=$$tmp/lib/pkgconfig/thunder.pc; \
	if command -v $(PKG_CONFIG) >/dev/null 2>&1; then \
	  export PKG_CONFIG_PATH=$$tmp/lib/pkgconfig; via=$(PKG_CONFIG); \
	  cflags=$$($(PKG_CONFIG) --cflags thunder); libs=$$($(PKG_CONFIG) --libs thunder); \
	  static_libs=$$($(PKG_CONFIG) --static --libs thunder | sed 's/-lthunder//'); \
	else \
	  echo "NOTE pkgconfig-test: pkg-config is not installed and could not be installed;" \
	    "reading thunder.pc with pkgconfig/pc-flags.sh instead"; via=pc-flags.sh; \
	  cflags=$$(sh pkgconfig/pc-flags.sh $$pc --cflags); libs=$$(sh pkgconfig/pc-flags.sh $$pc --libs); \
	  static_libs=$$(sh pkgconfig/pc-flags.sh $$pc --static-libs | sed 's/-lthunder//'); \
	fi; \
	$(CC) $(CSTD) $(WARN) examples_c/quickstart.c -o $$tmp/quickstart $$cflags $$libs -Wl,-rpath,$$tmp/lib; \
	$$tmp/quickstart $$tmp/q.db > /dev/null; \
	$(CC) $(CSTD) $(WARN) examples_c/quickstart.c -o $$tmp/quickstart-static $$cflags \
	  $$tmp/lib/libthunder.a $$static_libs; \
	$$tmp/quickstart-static $$tmp/q2.db > /dev/null; \
	$(MAKE) --no-print-directory uninstall PREFIX=$$tmp > /dev/null; \
	left=$$(find $$tmp -name '*thunder*' \( -type f -o -type l \) ! -name 'q*.db' ! -name 'quickstart*'); \
	[ -z "$$left" ] || { echo "uninstall left: $$left"; exit 1; }; \
	echo "pkgconfig-test: quickstart built via $$via (shared and static) from an install in a temporary prefix: ok"

# The bindings in bindings/ link the library built above. Each target
# installs its toolchain when it is missing (bindings/ensure.sh: apt-get as
# root, pip into $(TOOLS)) or prints "SKIP <target>: <reason>" and runs
# nothing. Each also checks that the README's example for its language is
# code its tests run (bindings/readme_check.sh).
TOOLS       := $(abspath $(BUILD))/tools
ZIG_VERSION := 0.14.1
# Compiler caches outlive the build directory where there is a home.
CACHE_HOME  := $(if $(HOME),$(HOME)/.cache,$(abspath $(BUILD))/cache)
ENSURE      := sh bindings/ensure.sh
README_CHECK := sh bindings/readme_check.sh README.md
# Go builds offline in GOPATH mode: the package is bindings/go, imported as
# "thunder" through a link in $(GOPATH_DIR); hashicorp/raft and its
# dependencies come from Debian's /usr/share/gocode.
GOPATH_DIR  := $(abspath $(BUILD))/gopath
GO_ENV      := GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH=$(GOPATH_DIR):/usr/share/gocode \
               GOCACHE=$(CACHE_HOME)/go-build CGO_ENABLED=1 CGO_CFLAGS=-I$(abspath include) \
               CGO_LDFLAGS="-L$(abspath $(STAGE)) -Wl,-rpath,$(abspath $(STAGE))"
GO_LINK     := mkdir -p $(GOPATH_DIR)/src && ln -sfn $(abspath bindings/go) $(GOPATH_DIR)/src/thunder
PY_ENV      := PYTHONPATH=$(TOOLS) PYTHONDONTWRITEBYTECODE=1 THUNDER_LIB=$(abspath $(STAGE))/libthunder.so

bindings-test: go-test raft-test py-test zig-test

go-test: lib
	@if $(ENSURE) go-test $(TOOLS); then set -e; \
	  $(README_CHECK) go bindings/go/example_test.go; \
	  unformatted=$$(gofmt -l bindings/go); [ -z "$$unformatted" ] || { echo "gofmt needed: $$unformatted"; exit 1; }; \
	  $(GO_LINK); echo "go-test: $$(go version)"; \
	  env $(GO_ENV) go vet thunder; \
	  env $(GO_ENV) go test -race -count=1 thunder; \
	fi

raft-test: lib
	@if $(ENSURE) raft-test $(TOOLS); then set -e; \
	  $(GO_LINK); \
	  env $(GO_ENV) go vet thunder/raftstore; \
	  st=0; env $(GO_ENV) go test -race -count=1 -v thunder/raftstore > $(BUILD)/raft-test.log 2>&1 || st=$$?; \
	  grep -v -e '^=== RUN' $(BUILD)/raft-test.log || true; \
	  exit $$st; \
	fi

py-test: lib
	@if $(ENSURE) py-test $(TOOLS); then set -e; \
	  $(README_CHECK) python bindings/python/tests/test_readme.py; \
	  echo "py-test: $$(python3 --version)"; \
	  env $(PY_ENV) python3 -m pytest -q -p no:cacheprovider bindings/python/tests; \
	fi

zig-test: lib
	@if $(ENSURE) zig-test $(TOOLS) $(ZIG_VERSION); then set -e; \
	  $(README_CHECK) zig bindings/zig/src/thunder_test.zig; \
	  zig="env PYTHONPATH=$(TOOLS) python3 -m ziglang"; \
	  $$zig fmt --check bindings/zig; \
	  echo "zig-test: Zig $$($$zig version)"; \
	  cd bindings/zig && $$zig build test --summary all --cache-dir $(abspath $(BUILD))/zig-cache \
	    --global-cache-dir $(CACHE_HOME)/zig -Dthunder-include=$(abspath include) \
	    -Dthunder-lib=$(abspath $(STAGE)); \
	fi

header:
	THUNDER_BLESS=1 $(CARGO) test --test header committed_header_matches_generated
	@echo "include/thunder.h rewritten; commit it"

install: lib cli
	install -d $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/include \
	  $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(CLI_BIN) $(DESTDIR)$(PREFIX)/bin/thunder
	install -m 644 docs/thunder.1 $(DESTDIR)$(PREFIX)/share/man/man1/thunder.1
	install -m 644 include/thunder.h $(DESTDIR)$(PREFIX)/include/thunder.h
	install -m 755 $(STAGE)/libthunder.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libthunder.so.$(VERSION)
	ln -sf libthunder.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libthunder.so.$(MAJOR)
	ln -sf libthunder.so.$(MAJOR) $(DESTDIR)$(PREFIX)/lib/libthunder.so
	install -m 644 $(STAGE)/libthunder.a $(DESTDIR)$(PREFIX)/lib/libthunder.a
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e "s|@LIBS_PRIVATE@|$$(cat $(LIBS_PRIVATE_FILE))|" \
	  pkgconfig/thunder.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/thunder.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/thunder.h \
	  $(DESTDIR)$(PREFIX)/lib/libthunder.so $(DESTDIR)$(PREFIX)/lib/libthunder.so.$(MAJOR) \
	  $(DESTDIR)$(PREFIX)/lib/libthunder.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libthunder.a \
	  $(DESTDIR)$(PREFIX)/lib/pkgconfig/thunder.pc \
	  $(DESTDIR)$(PREFIX)/bin/thunder $(DESTDIR)$(PREFIX)/share/man/man1/thunder.1

# Longer runs of the randomized tests (override the sizes with the variables).
# A coverage-guided target for the open-and-read path lives in fuzz/ (cargo fuzz).
FUZZ_OPS ?= 2000000
FUZZ_DAMAGED ?= 5000
FUZZ_SCALE ?= 20
fuzz:
	THUNDER_MODEL_OPS=$(FUZZ_OPS) $(CARGO) test --release --test model -- --nocapture
	THUNDER_CORRUPTION_ITERS=$(FUZZ_DAMAGED) $(CARGO) test --release --test corruption -- --nocapture
	THUNDER_ADVERSARIAL_SCALE=$(FUZZ_SCALE) $(CARGO) test --release \
		--test adversarial_damage --test adversarial_large_values --test adversarial_buckets_cursors \
		--test adversarial_concurrency --test adversarial_limits -- --nocapture

# The benchmark against LMDB, libmdbx, bbolt, redb, RocksDB and SQLite (bench/).
# Peers that cannot be installed or built are skipped with the reason printed.
BENCH_N ?= 1000000
RUNS ?= 1
BENCH_SCALING ?= 250000,1000000,4000000
BENCH_TIMEOUT ?= 600
BENCH_VENV := $(BUILD)/bench/venv/bin/python
bench-deps:
	@bash bench/deps.sh

bench: lib
	@bash bench/build.sh
	@mkdir -p bench/results
	BENCH_N=$(BENCH_N) RUNS=$(RUNS) BENCH_SCALING=$(BENCH_SCALING) BENCH_TIMEOUT=$(BENCH_TIMEOUT) \
	  python3 bench/run.py --raw bench/results/raw.txt
	python3 bench/report.py bench/results/raw.txt --md docs/BENCHMARKS.md --json bench/results/summary.json
	@if $(BENCH_VENV) -c 'import matplotlib' 2>/dev/null; then \
	  $(BENCH_VENV) bench/chart.py bench/results/summary.json docs/benchmarks.png && echo "wrote docs/benchmarks.png"; \
	else echo "SKIP chart: matplotlib is not installed in $(BUILD)/bench/venv (make bench-deps)"; fi
	@echo "wrote docs/BENCHMARKS.md"

# Offline and quick (seconds): the C/Go/Rust streams agree, checksums agree
# across the engines there are at a small N, and a wrong one is caught.
bench-selftest: lib
	@bash bench/selftest.sh

clean:
	$(CARGO) clean
	rm -rf $(BUILD)
