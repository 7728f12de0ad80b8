#!/usr/bin/env bash
# selftest.sh (make bench-selftest): a quick, offline check of the harness.
#   1. the key stream, values, digests and zipfian ranks are the same in the
#      C, Go and Rust drivers (those built; the others are skipped, saying so);
#   2. every built engine runs the core and YCSB groups at a small N, and
#      their checksums agree (bench/report.py exits 1 on a WRONG cell);
#   3. a checksum changed by hand in those results is caught as WRONG.
# Needs `make lib`; builds the C and Go drivers, never runs cargo or apt.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$here/../build/bench
passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }

"$here/build.sh" --quick || { echo "bench-selftest: the thunder driver does not build"; exit 1; }

# 1. one selftest output per driver program
ref="" seen=""
while read -r name prog rest; do
    case " $seen " in *" $prog "*) continue ;; esac
    seen="$seen $prog"
    "$prog" selftest > "$out/selftest-$name.txt" || { bad "stream: $name's selftest failed"; continue; }
    if [ -z "$ref" ]; then
        ref=$name
    elif cmp -s "$out/selftest-$ref.txt" "$out/selftest-$name.txt"; then
        ok "stream: $name's driver prints what $ref's does"
    else
        bad "stream: $name's driver differs from $ref's:"
        diff "$out/selftest-$ref.txt" "$out/selftest-$name.txt" | head -n 8
    fi
done < "$out/engines.txt"
grep -q '^bbolt ' "$out/engines.txt" || echo "skip stream check in Go: $(grep -m1 'SKIP bbolt' "$out/skipped.txt")"
grep -q '^redb ' "$out/engines.txt" || echo "skip stream check in Rust: $(grep -m1 'SKIP redb' "$out/skipped.txt")"

# 2. all engines at a small N
raw=$out/selftest-raw.txt
if python3 "$here/run.py" --n 2000 --runs 1 --groups core,ycsb --scaling 1000,2000 --raw "$raw" --timeout 120 \
        2> "$out/selftest-run.log" &&
    ! grep -q '^FAILED' "$raw"; then
    ok "core and ycsb at N=2000: $(grep -c '^1 .* RESULT ' "$raw") results from $(sed -n 's/^# engines: //p' "$raw")"
else
    bad "core and ycsb at N=2000 did not all run:"
    grep '^FAILED' "$raw"
    tail -n 3 "$out/selftest-run.log"
fi
if python3 "$here/report.py" "$raw" --md "$out/selftest.md" 2> "$out/selftest-report.log"; then
    ok "checksums agree across engines on every line"
else
    bad "checksums differ: $(cat "$out/selftest-report.log")"
fi
# the load at each N of --scaling, for thunder and LMDB (the default peer) if built
scalers="thunder $(grep -o '^lmdb' "$out/engines.txt")"
for e in $scalers; do
    if grep -q "^| 2,000 | $e | 1 |" "$out/selftest.md" && grep -q "^| 1,000 | $e | 1 |" "$out/selftest.md"; then
        ok "scaling table: $e at N=1000 and N=2000"
    else
        bad "scaling table lacks $e's rows"
    fi
done

# the vote that decides WRONG is by engine: thunder's variants and
# repetitions do not outvote one peer, and a tie marks both sides
if python3 - "$here" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from report import wrong_cells as w
assert w({"w1": [("thunder", 1, "x"), ("thunder-wal", 1, "x"), ("sqlite", 1, "y")]}) == \
    {("w1", "thunder"), ("w1", "thunder-wal"), ("w1", "sqlite")}
assert w({"r": [("thunder", 1, "x"), ("thunder", 2, "x"), ("sqlite", 1, "y")]}) == {("r", "thunder"), ("r", "sqlite")}
assert w({"w1": [("thunder", 1, "y"), ("thunder-wal", 1, "x"), ("lmdb", 1, "y")]}) == {("w1", "thunder-wal")}
assert w({"r": [("thunder", 1, "x"), ("lmdb", 1, "y"), ("sqlite", 1, "y")]}) == {("r", "thunder")}
PY
then
    ok "a checksum's majority is counted by engine"
else
    bad "the WRONG vote is not by engine"
fi

# 3. a wrong answer is caught (by another engine's checksum: with two that
#    disagree, both cells are WRONG; with thunder alone nothing can tell)
if [ "$(wc -l < "$out/engines.txt")" -lt 2 ]; then
    echo "skip wrong-answer check: only $(cut -d' ' -f1 "$out/engines.txt") was built (make bench-deps installs the peers)"
    echo "bench-selftest: $passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
fi
awk '$4 == "thunder" && $6 == "read1" { $9 = "0123456789abcdef" } { print }' "$raw" > "$out/selftest-wrong.txt"
if python3 "$here/report.py" "$out/selftest-wrong.txt" --md "$out/selftest-wrong.md" 2> /dev/null; then
    bad "a changed checksum went unnoticed"
elif grep -q 'random reads, 1 thread | gets/s | \*\*WRONG\*\*' "$out/selftest-wrong.md"; then
    ok "a changed checksum marks its cell WRONG"
else
    bad "a changed checksum failed the report but not as WRONG in its cell"
fi

echo "bench-selftest: $passed passed, $failed failed"
[ "$failed" = 0 ]
