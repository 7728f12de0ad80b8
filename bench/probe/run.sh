#!/usr/bin/env bash
# Instruction counts (callgrind) and wall-clock times of thunder's load, read
# and durable-commit paths, measured by bench/probe/probe.c.
#
#   bench/probe/run.sh [--tree DIR] [--out FILE]
#
# --tree  the checkout to measure (default: the one holding this script). Its
#         library is built there with `make lib`; the probe is always this
#         script's probe.c, compiled against that tree's header and library.
# --out   also write the report to FILE.
#
# Instruction counts are the primary measure. A run repeats them exactly
# (fixed environment, fixed-length paths), but they move a little with memory
# layout: how the heap is carved up changes malloc's work. So each workload
# runs under callgrind in 3 layouts (database directory names of 3 lengths,
# which the library keeps on its heap); the table gives the median and the
# spread, (max - min) / median, a floor for what counts as a change.
# Wall-clock ns/op are medians of 5 plain runs, each in a fresh directory;
# the commit times are mostly fdatasync and follow the disk.
set -euo pipefail

CG_N=50000      # callgrind runs (commit: K = N / 100 = 500 commits)
CG_PADS="0 13 37"  # extra characters in the directory name, one run each
WALL_N=200000   # wall-clock runs of load and read
WALL_COMMIT_N=100000
WALL_RUNS=5

here=$(cd "$(dirname "$0")" && pwd)
tree=$(cd "$here/../.." && pwd)
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tree) tree=$(cd "${2:?--tree needs a directory}" && pwd); shift 2 ;;
    --out) out=${2:?--out needs a file}; shift 2 ;;
    *) echo "usage: $0 [--tree DIR] [--out FILE]" >&2; exit 2 ;;
  esac
done
command -v valgrind >/dev/null || { echo "valgrind is missing (apt-get install valgrind)" >&2; exit 1; }

tmp=$(mktemp -d /tmp/thunder-probe.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The build runs niced: the machine is shared, and it is not measured.
(cd "$tree" && nice make lib) > "$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; exit 1; }
# -z now: symbols bind at load, so no lazy binding lands in a measured phase.
cc -std=c11 -O2 -Wall -Wextra -Werror -I"$tree/include" "$here/probe.c" -o "$tmp/probe" \
  -L"$tree/build/lib" -lthunder -Wl,-rpath,"$tree/build/lib" -Wl,-z,now

# run W N PAD [PREFIX...]: runs the probe (under PREFIX, if given) for
# workload W at size N in a fresh directory whose name has PAD extra
# characters; prints its key=value line.
run() {
  local w=$1 n=$2 dir status=0
  dir=$(mktemp -d "$tmp/db.$(printf "%$3s" "" | tr ' ' x)XXXXXX")
  shift 3
  "$@" "$tmp/probe" "$w" "$dir" "$n" || status=$?
  rm -rf "$dir"
  return "$status"
}
# field NAME LINE: the value of NAME=... in a probe line.
field() { sed -n "s/.*\\<$1=\\([^ ]*\\).*/\\1/p" <<< "$2"; }

report() {
  local rev dirty
  rev=$(git -C "$tree" rev-parse --short HEAD 2>/dev/null || echo unknown)
  dirty=$(git -C "$tree" status --porcelain --untracked-files=no 2>/dev/null | grep -q . && echo ", uncommitted changes" || true)
  echo "thunder probe: tree $tree at $rev$dirty"
  echo "probe.c sha256 $(sha256sum "$here/probe.c" | cut -c1-12); $(valgrind --version); $(cc --version | head -n 1); $(nproc) cpus"
  echo
  echo "callgrind --instr-atstart=no, measured phase only; median of $(wc -w <<< "$CG_PADS") layouts"
  printf '%-8s %8s %8s %14s %12s %9s\n' workload N ops instructions instr/op spread
  local w line ops pad counts
  for w in load read commit; do
    counts=()
    for pad in $CG_PADS; do
      line=$(run "$w" "$CG_N" "$pad" env -i PATH="$PATH" valgrind --tool=callgrind \
        --instr-atstart=no --callgrind-out-file="$tmp/cg.out" --log-file="$tmp/cg.log") ||
        { cat "$tmp/cg.log" >&2; exit 1; }
      counts+=("$(sed -n 's/^totals: *//p' "$tmp/cg.out")")
    done
    ops=$(field ops "$line")
    printf '%s\n' "${counts[@]}" | sort -n | awk -v w="$w" -v n="$CG_N" -v ops="$ops" '
      { c[NR] = $1 }
      END { m = c[int((NR + 1) / 2)]
            printf "%-8s %8s %8s %14s %12.1f %8.3f%%\n", w, n, ops, m, m / ops, 100 * (c[NR] - c[1]) / m }'
  done
  echo
  echo "wall clock, median of $WALL_RUNS runs"
  printf '%-8s %8s %8s %12s   %s\n' workload N ops ns/op "all runs"
  local n runs i
  for w in load read commit; do
    n=$WALL_N; [ "$w" = commit ] && n=$WALL_COMMIT_N
    runs=()
    for i in $(seq "$WALL_RUNS"); do
      line=$(run "$w" "$n" 0)
      runs+=("$(field ns_per_op "$line")")
    done
    printf '%-8s %8s %8s %12s   %s\n' "$w" "$n" "$(field ops "$line")" \
      "$(printf '%s\n' "${runs[@]}" | sort -n | sed -n "$(((WALL_RUNS + 1) / 2))p")" "${runs[*]}"
  done
}

if [ -n "$out" ]; then report | tee "$out"; else report; fi
