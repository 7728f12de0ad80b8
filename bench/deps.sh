#!/usr/bin/env bash
# deps.sh (make bench-deps): installs what `make bench` measures against.
#   - Debian: liblmdb-dev librocksdb-dev libsqlite3-dev, golang-go with
#     golang-github-coreos-bbolt-dev (used offline, GOPATH mode), and
#     libclang-dev (the libmdbx crate's bindings are generated with it);
#   - crates.io: redb and libmdbx, built by bench/build.sh into build/bench
#     (bench/rust is a cargo project of its own, never the library's);
#   - PyPI: matplotlib for the chart, in the venv build/bench/venv.
# Whatever cannot be installed is skipped with the reason printed;
# bench/build.sh then skips that peer, saying so again.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
pkgs="liblmdb-dev librocksdb-dev libsqlite3-dev golang-go golang-github-coreos-bbolt-dev libclang-dev"

if [ "$(id -u)" != 0 ] || ! command -v apt-get > /dev/null; then
    echo "SKIP Debian packages: not root or no apt-get; install $pkgs by hand" >&2
else
    apt-get update -q > /dev/null 2>&1 || echo "note: apt-get update failed; trying the lists there are" >&2
    if ! apt-get install -y -q $pkgs > /dev/null 2>&1; then
        for p in $pkgs; do
            apt-get install -y -q "$p" > /dev/null 2>&1 || echo "SKIP $p: apt-get install $p failed" >&2
        done
    fi
    echo "Debian packages: $(dpkg-query -W -f '${Package} ${Version}, ' $pkgs 2>/dev/null | sed 's/, $//')"
fi

venv=$root/build/bench/venv
mkdir -p "$root/build/bench"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import matplotlib' 2> /dev/null; then
    echo "matplotlib: $("$venv/bin/python" -c 'import matplotlib; print(matplotlib.__version__)') in $venv"
elif python3 -m venv "$venv" > /dev/null 2>&1 && "$venv/bin/pip" install -q matplotlib > "$root/build/bench/pip.log" 2>&1; then
    echo "matplotlib: installed into $venv"
else
    echo "SKIP matplotlib: $(tail -n1 "$root/build/bench/pip.log" 2>/dev/null || echo 'python3 -m venv failed'); no chart" >&2
fi

if command -v cargo > /dev/null; then
    (cd "$here/rust" && cargo fetch --locked) > /dev/null 2>&1 && echo "crates: fetched for bench/rust" ||
        echo "SKIP crates: cargo fetch failed in bench/rust" >&2
else
    echo "SKIP redb, libmdbx: cargo is not installed" >&2
fi
