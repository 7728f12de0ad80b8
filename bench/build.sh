#!/usr/bin/env bash
# build.sh: builds the drivers of `make bench` into build/bench/bin (the
# library must be built already: `make lib`).
#
#   bench/build.sh [--quick]
#
# THUNDER_TREE names another thunder checkout whose library (built there with
# `make lib`) the thunder driver is linked against; default this one.
#
# Writes build/bench/engines.txt, one engine a line: NAME PROGRAM [ARGS...]
# (the runner appends VARIANT GROUP DIR N), and build/bench/skipped.txt, one
# line "SKIP NAME: reason" for each peer that could not be built; those lines
# are also printed. thunder's driver must build; a peer never stops the rest.
# --quick does not run cargo (bench-selftest: fast, offline): the Rust driver
# takes part only if an earlier build left it (its age is not checked).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
tree=${THUNDER_TREE:-$root}
out=$root/build/bench
bin=$out/bin
quick=0
[ "${1:-}" = --quick ] && quick=1
mkdir -p "$bin"
: > "$out/engines.txt"
: > "$out/skipped.txt"
CFLAGS="-std=c11 -O2 -Wall -Wextra -Werror -pthread"

skip() {
    echo "SKIP $1: $2" | tee -a "$out/skipped.txt" >&2
}

# first_error LOG: the first line of a failed build that says why.
first_error() {
    grep -m1 -E 'error|cannot find|not found|No such' "$1" || head -n1 "$1"
}

c_driver() { # NAME DEBIAN-PACKAGE SOURCE LINK...
    local name=$1 pkg=$2 src=$3 log=$out/build-$1.log
    shift 3
    if cc $CFLAGS "$here/c/driver.c" "$here/c/$src" -o "$bin/bench-$name" "$@" -lm > "$log" 2>&1; then
        echo "$name $bin/bench-$name" >> "$out/engines.txt"
    else
        [ "$name" = thunder ] && { cat "$log" >&2; exit 1; }
        skip "$name" "$(first_error "$log") (make bench-deps installs $pkg)"
    fi
}

c_driver thunder - be_thunder.c -I"$tree/include" -L"$tree/build/lib" -lthunder -Wl,-rpath,"$tree/build/lib"
c_driver lmdb liblmdb-dev be_lmdb.c -llmdb
c_driver rocksdb librocksdb-dev be_rocksdb.c -lrocksdb
c_driver sqlite libsqlite3-dev be_sqlite.c -lsqlite3
cc $CFLAGS "$here/write_path/fsync_probe.c" -o "$bin/fsync_probe"

# bbolt: GOPATH mode, offline, against Debian's packaged source.
gopath=/usr/share/gocode
if ! command -v go > /dev/null; then
    skip bbolt "go is not installed (make bench-deps installs golang-go)"
elif [ ! -d $gopath/src/go.etcd.io/bbolt ]; then
    skip bbolt "$gopath/src/go.etcd.io/bbolt is missing (make bench-deps installs golang-github-coreos-bbolt-dev)"
elif (cd "$here/go" && GO111MODULE=off GOPATH=$gopath:$here/go GOPROXY=off GOFLAGS= \
        GOCACHE=$out/gocache go build -o "$bin/bench-bbolt" thunderbench) > "$out/build-bbolt.log" 2>&1; then
    echo "bbolt $bin/bench-bbolt" >> "$out/engines.txt"
else
    skip bbolt "$(first_error "$out/build-bbolt.log")"
fi

# redb and libmdbx: one cargo project; without libmdbx if it cannot be built.
rust_bin=$out/rust-target/release/thunder-bench-peers
rust_build() {
    (cd "$here/rust" && CARGO_TARGET_DIR=$out/rust-target cargo build --release --locked "$@") \
        > "$out/build-rust.log" 2>&1
}
if [ $quick = 1 ]; then
    if [ -x "$rust_bin" ]; then
        for e in $("$rust_bin" engines); do echo "$e $rust_bin $e" >> "$out/engines.txt"; done
    else
        skip redb "not built (make bench builds it)"
        skip libmdbx "not built (make bench builds it)"
    fi
elif ! command -v cargo > /dev/null; then
    skip redb "cargo is not installed"
    skip libmdbx "cargo is not installed"
elif rust_build; then
    echo "redb $rust_bin redb" >> "$out/engines.txt"
    echo "mdbx $rust_bin mdbx" >> "$out/engines.txt"
else
    reason=$(first_error "$out/build-rust.log")
    cp "$out/build-rust.log" "$out/build-rust-mdbx.log"
    if rust_build --no-default-features --features redb; then
        echo "redb $rust_bin redb" >> "$out/engines.txt"
        skip libmdbx "$reason (log: build/bench/build-rust-mdbx.log; needs libclang-dev)"
    else
        skip redb "$(first_error "$out/build-rust.log")"
        skip libmdbx "$reason"
    fi
fi
echo "bench drivers: $(cut -d' ' -f1 "$out/engines.txt" | tr '\n' ' ')" >&2
