#!/usr/bin/env bash
# run.sh: thunder's three I/O backends (sync, uring, direct) against each
# other, with and without the write-ahead log, in one run.
#
#   bench/io_backends/run.sh [--tree DIR] [--reps N] [--out FILE]
#
#   --tree DIR  the thunder tree to build (`make lib`) and measure; default
#               the repository holding this script. It is built in place.
#   --reps N    repetitions of every cell (default 3), interleaved: rep 1 of
#               everything, then rep 2, ...; the backend order rotates from
#               rep to rep, so the runs a ratio compares are close in time.
#   --out FILE  where the report goes (default RESULTS.txt next to this script).
#
# The driver is bench/write_path's thunder_writes.c with a +BACKEND variant
# suffix, on the same key stream (bench/write_path/common.h):
#   w1    1,000 durable commits of 1 put (THUNDER_SYNC_FULL): commits/s
#   load  100,000 puts in one transaction, then thunder_checkpoint: seconds
# Each run is a separate process in a fresh directory under /tmp (removed
# afterwards). A backend this machine refuses is reported as skipped.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=io_backends
source "$here/../write_path/setup.sh"

# A backend that cannot open here (no io_uring, no O_DIRECT) drops out.
backends=""
skipped=""
for b in sync uring direct; do
    dir=$(mktemp -d /tmp/io_backends_run.XXXXXX)
    if msg=$("$bin/thunder_writes" "nowal+$b" w1 "$dir" 2>&1 < /dev/null); then
        backends="$backends $b"
    else
        echo "skip $b: $msg" >&2
        skipped="$skipped  skipped $b: $msg"$'\n'
    fi
    rm -rf "$dir"
done
set -- $backends
n=$#

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$reps"); do
    for cell in nowal:w1 wal:w1 nowal:load wal:load; do
        IFS=: read -r variant wl <<< "$cell"
        dir=$(mktemp -d /tmp/io_backends_run.XXXXXX)
        echo "PROBE $rep $cell $("$bin/fsync_probe" "$dir" < /dev/null | cut -d' ' -f2)" >> "$raw"
        rm -rf "$dir"
        for i in $(seq 0 $((n - 1))); do
            j=$(((i + rep - 1) % n + 1))
            b=${!j}
            dir=$(mktemp -d /tmp/io_backends_run.XXXXXX)
            line=$("$bin/thunder_writes" "$variant+$b" "$wl" "$dir" < /dev/null) || { rm -rf "$dir"; echo "FAILED: $variant+$b $wl" >&2; exit 1; }
            rm -rf "$dir"
            echo "rep $rep: $line" >&2
            echo "$rep ${line#RESULT }" >> "$raw"
        done
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "thunder I/O backends ($reps interleaved runs per cell; median, min..max)"
    echo
    echo "machine:  $(uname -srm), nproc $(nproc), $(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "/tmp:     $(df -T /tmp | awk 'NR==2 {print $2 " on " $1}')"
    echo "load:     $load_before before, $load_after after (1/5/15 min; the machine is shared with other"
    echo "          engineers' builds and tests, so single runs move by tens of percent)"
    echo "thunder:  $(git -C "$tree" rev-parse --short HEAD 2>/dev/null || echo '?') ($tree), $(rustc --version 2>/dev/null || echo 'rustc ?')"
    printf '%s' "$skipped"
    echo
    awk -v R="$reps" '
    function med(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    $1 == "PROBE" { probe[$3] = probe[$3] " " $4; next }
    {
        split($3, vb, "+"); wl = $4; k = wl SUBSEP vb[1] SUBSEP vb[2]
        # w1: commits/s (column 7); load: seconds (column 6)
        x = (wl == "load") ? $6 : $7
        if (!(k in cnt)) order[++nk] = k
        cnt[k]++; v[k, $1] = x; vals[k, cnt[k]] = x
        if (!(k in lo) || x < lo[k]) lo[k] = x
        if (!(k in hi) || x > hi[k]) hi[k] = x
    }
    END {
        printf "%-36s %-8s %-8s %10s %22s\n", "cell", "log", "backend", "median", "min..max"
        for (o = 1; o <= nk; o++) {
            k = order[o]; split(k, p, SUBSEP)
            for (i = 1; i <= cnt[k]; i++) a[i] = vals[k, i]
            m[k] = med(a, cnt[k])
            t = p[1] == "w1" ? "durable 1-put commits/s" : "bulk load 100,000 puts, seconds"
            f = p[1] == "w1" ? "%-36s %-8s %-8s %10.0f %10.0f..%-10.0f\n" : "%-36s %-8s %-8s %10.3f %10.3f..%-10.3f\n"
            printf f, (t == last ? "" : t), p[2] == "wal" ? "WAL" : "no WAL", p[3], m[k], lo[k], hi[k]
            last = t
        }
        print ""
        print "ratios to sync (> 1: faster than sync; for the load, sync seconds / backend seconds),"
        print "median of the per-rep ratios, then each rep:"
        for (o = 1; o <= nk; o++) {
            k = order[o]; split(k, p, SUBSEP)
            if (p[3] == "sync") continue
            ks = p[1] SUBSEP p[2] SUBSEP "sync"
            n = 0; s = ""
            for (r = 1; r <= R; r++) if ((k, r) in v && (ks, r) in v) {
                q = p[1] == "w1" ? v[k, r] / v[ks, r] : v[ks, r] / v[k, r]
                rr[++n] = q; s = s sprintf(" %.2f", q)
            }
            if (n) printf "  %-6s %-10s %-7s %6.2f   (per rep:%s)\n", p[1], p[2] == "wal" ? "WAL" : "no WAL", p[3], med(rr, n), s
        }
        print ""
        print "fdatasync latency when each cell started (us; median of 100 4-KiB append+fdatasync), rep 1..R:"
        for (c in probe) printf "  %-11s%s\n", c, probe[c]
    }' "$raw"
    echo
    echo "notes: w1 preloads 100,000 keys (one transaction, checkpointed, not timed) and then times 1,000"
    echo "  commits of one new key each under THUNDER_SYNC_FULL; load times the 100,000-key transaction and"
    echo "  the thunder_checkpoint after it. Keys and values are bench/write_path's stream (24-byte keys,"
    echo "  150-byte values); a sample is read back and compared after every run."
    echo
    echo "raw runs, in run order (rep engine variant+backend workload ops seconds ops/s; PROBE rep cell us):"
    sed 's/^/  /' "$raw"
} > "$report"
cat "$report"
cp "$report" "$out"
echo "saved to $out" >&2
