#!/usr/bin/env bash
# run.sh: thunder's write path against its peers: the write groups of
# `make bench` (1,000 durable single-put commits; 100 durable commits of
# 1,000 puts; 10,000 no-sync commits; 4 threads x 250 durable commits against
# 1 thread x 1,000), thunder with and without its write-ahead log, every peer
# bench/build.sh builds, over 100,000 preloaded keys.
#
#   bench/write_path/run.sh [--tree DIR] [--reps N] [--out FILE]
#
#   --tree DIR  the thunder tree to build (`make lib`) and measure; default
#               the repository holding this script. It is built in place.
#   --reps N    interleaved repetitions (default 3; the engine order rotates).
#   --out FILE  where the report goes (default RESULTS.md next to this script).
#
# RESULTS.txt is the report of a run of this script's earlier, C-only form
# (commit 2471aa3).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bench=$(cd "$here/.." && pwd)
tree=$(cd "$bench/.." && pwd)
reps=3
out=$here/RESULTS.md
while [ $# -gt 0 ]; do
    case $1 in
        --tree) tree=$(cd "$2" && pwd); shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--tree DIR] [--reps N] [--out FILE]" >&2; exit 2 ;;
    esac
done

raw=$(mktemp /tmp/write_path_raw.XXXXXX)
trap 'rm -f "$raw"' EXIT
echo "== building thunder in $tree" >&2
make -C "$tree" lib >&2
export THUNDER_TREE=$tree
"$bench/build.sh"
python3 "$bench/run.py" --groups w1,w2,w3,w4-1,w4-4 --runs "$reps" --n 100000 --raw "$raw"
python3 "$bench/report.py" "$raw" --md "$out"
cat "$out"
echo "saved to $out" >&2
