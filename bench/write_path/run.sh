#!/usr/bin/env bash
# run.sh: thunder's write path against LMDB, SQLite and RocksDB, in one run.
#
#   bench/write_path/run.sh [--tree DIR] [--reps N] [--out FILE]
#
#   --tree DIR  the thunder tree to build (`make lib`) and measure; default
#               the repository holding this script. It is built in place.
#   --reps N    repetitions of every (workload, engine) pair (default 3),
#               interleaved: rep 1 of everything, then rep 2, ...; the
#               engine order rotates from rep to rep.
#   --out FILE  where the report goes (default RESULTS.txt next to this script).
#
# Each run is a separate process in a fresh directory under /tmp (removed
# afterwards). See common.h for the key stream and what is timed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
name=write_path
source "$here/setup.sh"

engines="thunder"
skipped=""
for peer in lmdb:-llmdb sqlite:-lsqlite3 rocksdb:-lrocksdb; do
    name=${peer%%:*}
    if msg=$(cc $CFLAGS "$here/${name}_writes.c" -o "$bin/${name}_writes" "${peer#*:}" 2>&1); then
        engines="$engines $name"
    else
        reason=$(printf '%s\n' "$msg" | grep -m1 -E 'error|cannot find' || printf '%s\n' "$msg" | head -n1)
        echo "skip $name: $reason" >&2
        skipped="$skipped  skipped $name: $reason"$'\n'
    fi
done

# One group per line: its runs (engine:variant:workload) are interleaved,
# so the runs a ratio compares are close in time. Peers not built drop out.
plan="w1|thunder:nowal:w1 thunder:wal:w1 lmdb:durable:w1 sqlite:durable:w1 rocksdb:durable:w1
w2|thunder:nowal:w2 thunder:wal:w2 lmdb:durable:w2 sqlite:durable:w2 rocksdb:durable:w2
w3|thunder:nosync:w3 lmdb:nosync:w3 sqlite:nosync:w3 rocksdb:nosync:w3
w4|thunder:wal:w4-1 thunder:wal:w4-4 rocksdb:durable:w4-1 rocksdb:durable:w4-4"

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for rep in $(seq 1 "$reps"); do
    while IFS='|' read -r group runs; do
        dir=$(mktemp -d /tmp/write_path_run.XXXXXX)
        echo "PROBE $rep $group $("$bin/fsync_probe" "$dir" < /dev/null | cut -d' ' -f2)" >> "$raw"
        rm -rf "$dir"
        set -- $runs
        n=$#
        # rotate the order within the group by the repetition number
        for i in $(seq 0 $((n - 1))); do
            j=$(((i + rep - 1) % n + 1))
            IFS=: read -r eng variant wl <<< "${!j}"
            case " $engines " in *" $eng "*) ;; *) continue ;; esac
            dir=$(mktemp -d /tmp/write_path_run.XXXXXX)
            line=$("$bin/${eng}_writes" "$variant" "$wl" "$dir" < /dev/null) || { rm -rf "$dir"; echo "FAILED: $eng $variant $wl" >&2; exit 1; }
            rm -rf "$dir"
            echo "rep $rep: $line" >&2
            echo "$rep ${line#RESULT }" >> "$raw"
        done
    done <<< "$plan"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

{
    echo "thunder write path vs peers ($reps interleaved runs per cell; median, min..max, spread = (max-min)/median)"
    echo
    echo "machine:  $(uname -srm), nproc $(nproc), $(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "/tmp:     $(df -T /tmp | awk 'NR==2 {print $2 " on " $1}')"
    echo "load:     $load_before before, $load_after after (1/5/15 min; the machine is shared)"
    echo "thunder:  $(git -C "$tree" rev-parse --short HEAD 2>/dev/null || echo '?') ($tree), $(rustc --version 2>/dev/null || echo 'rustc ?')"
    echo "peers:    $(dpkg-query -W -f '${Package} ${Version}, ' liblmdb-dev libsqlite3-dev librocksdb-dev 2>/dev/null | sed 's/, $//')"
    echo "cc:       $(cc --version | head -n1)"
    printf '%s' "$skipped"
    echo
    awk -v R="$reps" '
    function med(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function ratio(label, ka, kb,   r, s) {
        if (!(ka in m) || !(kb in m)) return
        s = ""
        for (r = 1; r <= R; r++) s = s sprintf(" %.2f", ((ka, r) in v && (kb, r) in v) ? v[ka, r] / v[kb, r] : 0)
        printf "  %-48s %6.2f   (per rep:%s)\n", label, m[ka] / m[kb], s
    }
    $1 == "PROBE" { probe[$3] = probe[$3] " " $4; next }
    {
        k = $4 SUBSEP $2 SUBSEP $3
        if (!(k in cnt)) order[++nk] = k
        cnt[k]++; v[k, $1] = $7; vals[k, cnt[k]] = $7
        if (!(k in lo) || $7 < lo[k]) lo[k] = $7
        if (!(k in hi) || $7 > hi[k]) hi[k] = $7
    }
    END {
        title["w1"] = "1 durable: 1,000 commits x 1 put"; title["w2"] = "2 durable: 100 commits x 1,000 puts"
        title["w3"] = "3 no-sync: 10,000 commits x 1 put"; title["w4-1"] = "4 durable, 1 thread: 1,000 x 1 put"
        title["w4-4"] = "4 durable, 4 threads: 4 x 250 x 1 put"
        printf "%-40s %-8s %-8s %10s %20s %7s\n", "workload (ops/s = puts/s)", "engine", "variant", "median", "min..max", "spread"
        for (o = 1; o <= nk; o++) {
            k = order[o]; split(k, p, SUBSEP)
            for (i = 1; i <= cnt[k]; i++) a[i] = vals[k, i]
            m[k] = med(a, cnt[k])
            printf "%-40s %-8s %-8s %10.0f %9.0f..%-9.0f %6.0f%%\n", (p[1] == last ? "" : title[p[1]]), p[2], p[3], m[k], lo[k], hi[k], 100 * (hi[k] - lo[k]) / m[k]
            last = p[1]
        }
        print ""
        print "fdatasync latency when each group started (us; median of 100 4-KiB append+fdatasync), rep 1..R:"
        split("w1 w2 w3 w4", g, " ")
        for (i = 1; i <= 4; i++) if (g[i] in probe) printf "  %-4s%s\n", g[i], probe[g[i]]
        print ""
        print "ratios of medians (> 1: the first is faster); per rep: the same ratio within each repetition"
        for (d = 1; d <= 2; d++) {
            w = "w" d; best = 0; bk = ""
            split("lmdb sqlite rocksdb", peers, " ")
            for (q = 1; q <= 3; q++) { k = w SUBSEP peers[q] SUBSEP "durable"; if ((k in m) && m[k] > best) { best = m[k]; bk = k } }
            split(bk, p, SUBSEP)
            if (bk != "") ratio(w "  thunder-WAL / best peer (" p[2] ")", w SUBSEP "thunder" SUBSEP "wal", bk)
            ratio(w "  thunder-WAL / thunder-no-WAL", w SUBSEP "thunder" SUBSEP "wal", w SUBSEP "thunder" SUBSEP "nowal")
        }
        ratio("w3  thunder-no-sync / LMDB-no-sync", "w3" SUBSEP "thunder" SUBSEP "nosync", "w3" SUBSEP "lmdb" SUBSEP "nosync")
        ratio("w4  thunder-WAL 4 threads / 1 thread", "w4-4" SUBSEP "thunder" SUBSEP "wal", "w4-1" SUBSEP "thunder" SUBSEP "wal")
        ratio("w4  rocksdb 4 threads / 1 thread", "w4-4" SUBSEP "rocksdb" SUBSEP "durable", "w4-1" SUBSEP "rocksdb" SUBSEP "durable")
        ratio("w4  thunder-WAL / rocksdb, 4 threads", "w4-4" SUBSEP "thunder" SUBSEP "wal", "w4-4" SUBSEP "rocksdb" SUBSEP "durable")
    }' "$raw"
    echo
    echo "notes: every run preloads 100,000 keys in one transaction and makes them durable (thunder_checkpoint,"
    echo "  mdb_env_sync, wal_checkpoint(TRUNCATE), rocksdb_flush) before timing; the workload then writes new keys"
    echo "  (24-byte splitmix64 keys, 150-byte values) and a sample is read back and compared. The timed window ends"
    echo "  at the last commit: work deferred to close (thunder's checkpoint, SQLite's and RocksDB's background"
    echo "  work) is not counted. Engines run with their defaults otherwise. fsync latency moves a lot on a shared"
    echo "  machine: the fdatasync probe above shows what the disk gave when each group started."
    echo
    echo "raw runs, in run order (rep engine variant workload ops seconds ops/s; PROBE rep group us):"
    sed 's/^/  /' "$raw"
} > "$report"
cat "$report"
cp "$report" "$out"
echo "saved to $out" >&2
