#!/usr/bin/env python3
"""report.py: docs/BENCHMARKS.md (and a summary for the chart) from the raw
results of bench/run.py.

    bench/report.py RAW [--md FILE] [--json FILE] [--raw-name NAME]

Every cell is the median over the repetitions, with the spread
(max - min) / median when there are several. The checksums of a workload
must be equal across engines and variants: a cell whose checksum differs
from the majority is WRONG and takes no part in any ratio (with no
majority, as when two engines disagree, every cell of the line is). Ratios are
oriented so that > 1 means thunder is better (faster, or smaller for bytes
and RSS). Only the standard library is used.
"""
import argparse
import json
import statistics
import sys
from collections import Counter, defaultdict

PEERS = ["lmdb", "mdbx", "bbolt", "redb", "rocksdb", "sqlite"]
COLUMNS = ["thunder", "thunder-wal"] + PEERS
LABEL = {"mdbx": "libmdbx", "thunder-wal": "thunder WAL"}

# (key, label, unit, higher is better)
ROWS = [
    ("load", "bulk load: N puts, 1 txn", "puts/s", True),
    ("read1", "random reads, 1 thread", "gets/s", True),
    ("read2", "random reads, 2 threads", "gets/s", True),
    ("missing", "missing-key reads", "gets/s", True),
    ("range", "range reads: seek + 99 next", "ranges/s", True),
    ("scan", "full scan", "items/s", True),
    ("delete", "remove half the keys, 1 txn", "deletes/s", True),
    ("w1", "1,000 durable commits x 1 put", "commits/s", True),
    ("w2", "100 durable commits x 1,000 puts", "puts/s", True),
    ("w3", "10,000 no-sync commits x 1 put", "commits/s", True),
    ("w4-1", "durable commits, 1 thread x 1,000", "commits/s", True),
    ("w4-4", "durable commits, 4 threads x 250", "commits/s", True),
    ("ycsb-A", "YCSB A: 50% read, 50% update", "ops/s", True),
    ("ycsb-B", "YCSB B: 95% read, 5% update", "ops/s", True),
    ("ycsb-C", "YCSB C: 100% read", "ops/s", True),
    ("ycsb-D", "YCSB D: 95% read latest, 5% insert", "ops/s", True),
    ("ycsb-E", "YCSB E: 95% scan (1-100), 5% insert", "ops/s", True),
    ("ycsb-F", "YCSB F: 50% read, 50% read-modify-write", "ops/s", True),
    ("disk_load", "bytes on disk after the load", "MiB", False),
    ("disk_delete", "bytes on disk after the removal", "MiB", False),
    ("rss_load_kb", "peak RSS, bulk-load process", "MiB", False),
    ("rss_kb", "peak RSS, read/scan/remove process", "MiB", False),
]
# the rows each group of bench/run.py measures
GROUP_ROWS = {"load": ["load", "disk_load", "rss_load_kb"],
              "core": ["read1", "read2", "missing", "range", "scan", "delete", "disk_delete", "rss_kb"],
              "ycsb": ["ycsb-" + w for w in "ABCDEF"]}
# issue 14's targets: (row, against, wanted ratio)
TARGETS = [("read1", "best"), ("read2", "best"), ("range", "best"), ("scan", "best"), ("load", "best"),
           ("delete", "best"), ("ycsb-B", "best"), ("ycsb-C", "best"), ("missing", "lmdb"),
           ("rss_load_kb", "lmdb"), ("rss_kb", "lmdb"), ("disk_load", "lmdb")]


def column(engine, variant):
    if engine == "thunder":
        return "thunder-wal" if variant == "wal" else "thunder"
    return engine


def parse(path):
    meta = defaultdict(list)
    vals = defaultdict(dict)     # (row, column) -> {rep: value}
    sums = defaultdict(list)     # row -> [(column, rep, checksum)]
    failed, probes, loads, scaling = [], defaultdict(list), [], {}
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "#":
            k, _, v = line[2:].partition(": ")
            meta[k].append(v.strip())
        elif f[0] == "FAILED":
            failed.append((f[2], column(f[3], f[4]), " ".join(f[5:])))
        elif f[0] == "PROBE":
            probes[f[2]].append(f[3])
        elif f[0] == "LOAD":
            loads.append(float(f[4]))
        else:
            rep, group, kind, engine, variant, name = int(f[0]), f[1], f[2], f[3], f[4], f[5]
            col = column(engine, variant)
            if group.startswith("scale-"):
                runs = scaling.setdefault(engine, {}).setdefault(int(group[6:]), {})
                runs.setdefault(rep, {})[name] = (f[6], f[7]) if kind == "RESULT" else f[6]
            elif kind == "RESULT":
                ops, secs = int(f[6]), float(f[7])
                vals[(name, col)][rep] = ops / secs if secs > 0 else float("inf")
                sums[name].append((col, rep, f[8]))
            elif kind == "CHECK":
                sums[name].append((col, rep, "%s/%s" % (f[6], f[7])))
            elif kind == "METRIC":
                v = int(f[6])
                vals[(name, col)][rep] = v / 1024.0 if name.startswith("rss") else v / 1048576.0
    return meta, vals, sums, failed, probes, loads, scaling


def scaling_medians(per_n):
    """N -> median seconds, µs per put and its spread, disk and RSS over the
    repetitions that finished."""
    out = {}
    for n, reps in per_n.items():
        done = [r for r in reps.values() if "load" in r]
        if not done:
            continue
        secs = sorted(float(r["load"][1]) for r in done)
        med = statistics.median(secs)
        out[n] = {"runs": len(done), "secs": med, "us": med / n * 1e6,
                  "spread": (secs[-1] - secs[0]) / med if med else 0.0,
                  "disk": statistics.median(int(r.get("disk_load", 0)) for r in done) / 1048576.0,
                  "rss": statistics.median(int(r.get("rss_load_kb", 0)) for r in done) / 1024.0}
    return out


def scaling_growth(scaling):
    """engine -> ((smallest N, largest N), median µs per put at the largest
    over the smallest)."""
    out = {}
    for engine, per_n in scaling.items():
        med = scaling_medians(per_n)
        if len(med) >= 2:
            n0, n1 = min(med), max(med)
            out[engine] = ((n0, n1), med[n1]["us"] / med[n0]["us"])
    return out


def wrong_cells(sums):
    """(row, column) pairs whose checksum differs from the row's majority, or
    every pair of a row whose checksums differ with no majority (two engines
    that disagree: neither can be believed). The vote is by engine, not by
    result line: each engine counts once for every checksum it printed, in
    any variant or repetition (thunder's two variants and its repetitions
    must not outvote one peer). The scan after the removal (CHECK
    after_delete) stands for the removal."""
    wrong = set()
    for row, entries in sums.items():
        row = "delete" if row == "after_delete" else row
        votes = Counter(s for _engine, s in {(col.split("-")[0], s) for col, _rep, s in entries})
        ranked = votes.most_common()
        tied = len(ranked) > 1 and ranked[0][1] == ranked[1][1]
        for col, _rep, s in entries:
            if tied or s != ranked[0][0]:
                wrong.add((row, col))
    return wrong


def summarize(vals, wrong, failed):
    cells = {}
    failed_cells = {(r, c) for g, c, _ in failed for r in GROUP_ROWS.get(g, [g])}
    for (row, col), reps in vals.items():
        v = sorted(reps.values())
        med = statistics.median(v)
        cells[(row, col)] = {"median": med, "min": v[0], "max": v[-1], "n": len(v),
                             "spread": (v[-1] - v[0]) / med if med else 0.0,
                             "wrong": (row, col) in wrong, "failed": (row, col) in failed_cells}
    return cells


def ratio(cells, row, higher, against):
    t = cells.get((row, "thunder"))
    if not t or t["wrong"]:
        return None, None
    if against == "best":
        peers = [(cells[(row, p)]["median"], p) for p in PEERS
                 if (row, p) in cells and not cells[(row, p)]["wrong"]]
        if not peers:
            return None, None
        best, who = max(peers) if higher else min(peers)
    else:
        c = cells.get((row, against))
        if not c or c["wrong"]:
            return None, None
        best, who = c["median"], against
    if not best or not t["median"]:
        return None, who
    return (t["median"] / best if higher else best / t["median"]), who


def fmt_value(c, unit, failure=None):
    if c is None:
        if not failure:
            return ""
        return "**> %s s**" % failure.split()[-2] if "timed out" in failure else "**failed**"
    if c["wrong"]:
        return "**WRONG**"
    v = c["median"]
    s = ("%.1f" % v) if unit == "MiB" else ("{:,.0f}".format(v) if v >= 100 else "%.1f" % v)
    if c["n"] > 1:
        s += " ±%.0f%%" % (100 * c["spread"] / 2)
    if c["failed"]:
        s += " (failed)"
    return s


def fmt_ratio(r, who=None):
    if r is None:
        return "–"
    s = "%.2fx" % r
    if who:
        s += " (%s)" % LABEL.get(who, who)
    return s


def render(meta, cells, failed, probes, loads, scaling, raw_name):
    m = {k: v[-1] for k, v in meta.items()}
    n, runs = int(m["n"]), int(m["runs"])
    cols = [c for c in COLUMNS if any((r[0], c) in cells for r in ROWS)]
    failures = {(r, c): why for g, c, why in failed for r in GROUP_ROWS.get(g, [g])}
    out = []
    w = out.append
    w("# thunder against LMDB, libmdbx, bbolt, redb, RocksDB and SQLite")
    w("")
    w("Made by `make bench` (bench/run.py, then bench/report.py and bench/chart.py) from one run; "
      "the raw results are in `%s`." % raw_name)
    w("")
    w("![thunder's ratio to the best peer on every line](benchmarks.png)")
    w("")
    w("## The run")
    w("")
    w("- **N = {:,}** keys (`BENCH_N`), **RUNS = {}** (`RUNS`){}.".format(
        n, runs, ", interleaved; cells are medians, ± half the spread (max - min) / median" if runs > 1 else
        "; a single run per cell, so no spread is shown"))
    w("- Date: %s; wall time of the run: %s." % (m.get("date", "?"), m.get("wall time", "?")))
    if "timeout" in m:
        w("- A process taking longer than %s s is stopped and its cells say so (`BENCH_TIMEOUT`)." % m["timeout"])
    w("- Machine: **a shared 2-core VM** (%s; %s memory), kernel %s; databases on %s." % (
        m.get("cpu", "?"), m.get("memory", "?"), m.get("kernel", "?"), m.get("filesystem", "?")))
    if loads:
        w("- Load average (1 min) during the run, sampled after each process: min %.2f, median %.2f, max %.2f "
          "(before: %s; after: %s). Other engineers' builds and tests ran on the same 2 cores: every number "
          "here is noisy, and the fsync-bound lines most of all." % (
              min(loads), statistics.median(loads), max(loads), m.get("load before", "?"),
              m.get("load after", "?")))
    if probes:
        w("- fdatasync latency of the disk when each write group started (median of 100 4-KiB "
          "append+fdatasync, µs): " + "; ".join("%s %s" % (g, " ".join(v)) for g, v in probes.items()) + ".")
    w("- thunder %s." % m.get("thunder", "?"))
    w("- Peers: Debian packages %s; crates %s." % (m.get("debian packages", "?"), m.get("crates", "?")))
    w("- Toolchains: %s." % m.get("toolchains", "?"))
    for s in meta.get("skipped", []):
        w("- **%s**" % s)
    for (group, col, why), times in sorted(Counter(failed).items()):
        w("- **FAILED** group `%s`, %s: %s (%d of %d runs)" % (group, LABEL.get(col, col), why, times, runs))
    w("")
    w("## Results")
    w("")
    w("Operations per second (higher is better) unless the unit says MiB (lower is better). "
      "The ratio columns are thunder's ratio to the best peer and to LMDB on that line, oriented so that "
      "**> 1 means thunder is better**; the `thunder` column is thunder's default (no WAL), durable on the "
      "durable lines and `THUNDER_SYNC_NONE` on the no-sync ones; `thunder WAL` is the same with "
      "`thunder_options_set_wal`.")
    w("")
    w("| workload | unit | " + " | ".join(LABEL.get(c, c) for c in cols) + " | thunder / best peer | thunder / LMDB |")
    w("|---|---|" + "---:|" * len(cols) + "---|---|")
    summary = []
    for key, label, unit, higher in ROWS:
        if not any((key, c) in cells for c in cols):
            continue
        rb, who = ratio(cells, key, higher, "best")
        rl, _ = ratio(cells, key, higher, "lmdb")
        w("| %s | %s | " % (label, unit) + " | ".join(fmt_value(cells.get((key, c)), unit, failures.get((key, c)))
                                                     for c in cols) +
          " | %s | %s |" % (fmt_ratio(rb, who), fmt_ratio(rl)))
        summary.append({"key": key, "label": label, "ratio_best": rb, "best_peer": who, "ratio_lmdb": rl})
    w("")
    w("## Write path (issue 13)")
    w("")
    w("| ratio | value |")
    w("|---|---:|")

    def pair(a, b):
        x, y = cells.get(a), cells.get(b)
        if not x or not y or x["wrong"] or y["wrong"] or not y["median"]:
            return None
        return x["median"] / y["median"]

    for row, what in (("w1", "1,000 durable single-put commits"), ("w2", "100 durable commits of 1,000 puts"),
                      ("w4-4", "4 threads x 250 durable commits")):
        peers = [(cells[(row, p)]["median"], p) for p in PEERS if (row, p) in cells and not cells[(row, p)]["wrong"]]
        if peers and (row, "thunder-wal") in cells:
            best, who = max(peers)
            w("| %s: thunder WAL / best peer (%s) | %s |" % (what, LABEL.get(who, who),
                                                             fmt_ratio(cells[(row, "thunder-wal")]["median"] / best)))
        r = pair((row, "thunder-wal"), (row, "thunder"))
        if r is not None:
            w("| %s: thunder WAL / thunder without WAL | %s |" % (what, fmt_ratio(r)))
    r = pair(("w3", "thunder"), ("w3", "lmdb"))
    if r is not None:
        w("| 10,000 no-sync commits: thunder `THUNDER_SYNC_NONE` / LMDB `MDB_NOSYNC` | %s |" % fmt_ratio(r))
    for c in cols:
        r = pair(("w4-4", c), ("w4-1", c))
        if r is not None:
            w("| durable commits, 4 threads / 1 thread: %s | %s |" % (LABEL.get(c, c), fmt_ratio(r)))
    w("")
    w("## Targets of issue 14 in this run")
    w("")
    w("| line | wanted | measured | met |")
    w("|---|---|---:|---|")
    higher = {k: h for k, _l, _u, h in ROWS}
    labels = {k: l for k, l, _u, _h in ROWS}
    for key, against in TARGETS:
        if (key, "thunder") not in cells:
            continue
        r, who = ratio(cells, key, higher[key], against)
        want = ">= 1.0x the best peer" if against == "best" else (
            ">= 1.0x LMDB" if higher[key] else "<= LMDB's")
        w("| %s | %s | %s | %s |" % (labels[key], want, fmt_ratio(r, who if against == "best" else None),
                                    "–" if r is None else ("yes" if r >= 1.0 else "**no**")))
    if scaling:
        growth = scaling_growth(scaling)
        t = growth.get("thunder")
        if t:
            (n0, n1), g = t
            peers = ", ".join("%s %.2fx" % (LABEL.get(e, e), v[1]) for e, v in sorted(growth.items()) if e != "thunder")
            w("| bulk load linear in N | µs/put at N = {:,} within 1.25x of N = {:,} | {:.2f}x{} | {} |".format(
                n1, n0, g, " (%s)" % peers if peers else "", "yes" if g <= 1.25 else "**no**"))
        w("")
        w("## Bulk load as N grows")
        w("")
        w("A fresh directory and process per engine, N and repetition; N puts in one transaction, durable "
          "commit (`bench/run.py --scaling`, `BENCH_SCALING`; peers: `BENCH_SCALING_PEERS`). Medians over "
          "the repetitions, the spread as (max - min) / median.")
        w("")
        w("| N | engine | runs | seconds | µs per put | spread | µs per put / smallest N | MiB on disk | peak RSS MiB |")
        w("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
        for engine in sorted(scaling, key=lambda e: (e != "thunder", e)):
            med = scaling_medians(scaling[engine])
            first = med[min(med)]["us"] if med else None
            for k in sorted(scaling[engine]):
                r = med.get(k)
                if not r:
                    w("| {:,} | {} | 0 | failed | | | | | |".format(k, LABEL.get(engine, engine)))
                    continue
                w("| {:,} | {} | {} | {:.2f} | {:.2f} | {:.0%} | {:.2f}x | {:.1f} | {:.1f} |".format(
                    k, LABEL.get(engine, engine), r["runs"], r["secs"], r["us"], r["spread"], r["us"] / first,
                    r["disk"], r["rss"]))
    w("")
    w(METHOD)
    return "\n".join(out) + "\n", summary, n, m.get("date", "?")


METHOD = """## What is measured

- **Keys and values**: key i is 24 bytes, words 3i..3i+2 of the splitmix64 stream from seed 0 (big-endian);
  its value is 150 bytes of splitmix64 output seeded from i. Keys are so in random order. The same
  stream is written in C (`bench/c/stream.h`), Go and Rust, and `make bench-selftest` checks that the
  three print the same keys, values, uniform draws and zipfian ranks.
- **Processes**: every group of workloads runs in its own process and a fresh directory: `load` (N puts
  in one transaction, durable commit), `core` (reads, missing, range, scan, removal), `ycsb` (A, B, C, F,
  D, E in YCSB's recommended order on one database), and one process per write workload. The groups but
  `load` start from keys preloaded in transactions of 50,000 (untimed; bbolt splits its nodes only at
  commit, so one huge transaction of random puts costs it quadratic time, which the load line shows
  once). The timed window holds the operations and their commits only; opening, preloading, closing and
  syncing are outside it.
- **Durability**: every engine in its durable default on the durable lines: thunder `THUNDER_SYNC_FULL`
  (its default), LMDB default flags, libmdbx `SyncMode::Durable`, bbolt default, redb
  `Durability::Immediate`, RocksDB `WriteOptions.sync = true`, SQLite `journal_mode=WAL` with
  `synchronous=FULL`. No-sync lines (10,000 no-sync commits and YCSB): thunder `THUNDER_SYNC_NONE`,
  LMDB `MDB_NOSYNC`, libmdbx `SyncMode::SafeNoSync`, bbolt `NoSync = true`, redb `Durability::None`,
  RocksDB `sync = false` (its WAL is still written), SQLite `synchronous=OFF`. YCSB runs no-sync because
  every operation is its own transaction, as in YCSB, and 50,000 fsyncs per workload would measure
  the disk, not the engine.
- **Verification**: every read is checked where it happens (the key found or missing as it must be,
  the value's length and first word as written) and digested into a checksum that the driver prints;
  the checksums of a line must be equal across all engines, else the cell says WRONG and takes no part
  in the ratios. After the removal a full scan must find exactly the other half.
- **Reads**: `read1`/`read2` read uniformly random loaded keys, N reads in all, in one read transaction
  per thread; `missing` reads N keys never written; `range` seeks N/10 random loaded keys and reads 100
  items from each; `scan` reads every item in key order.
- **Writes**: the write workloads first load min(N, 100,000) keys and sync (not timed), then commit new
  keys; 4 threads x 250 commits run against 1 thread x 1,000 on every engine (LMDB, libmdbx, bbolt and
  redb serialize writers; SQLite uses a connection per thread, `BEGIN IMMEDIATE` and a busy timeout).
- **YCSB**: max(N/10, 1,000) operations per workload over the N loaded keys, requests drawn from YCSB's
  zipfian generator (Gray et al., theta 0.99; rank 0 is key 0, and keys are in random order) or, for D,
  from the latest inserted keys (newest minus a zipfian rank). Scans read 1 to 100 items (uniform).
  Updates write a new 150-byte value; inserts add new keys.
- **Bytes on disk**: blocks allocated under the database directory after a sync and close (`st_blocks`);
  libmdbx grows its file in steps and so shows its geometry, not only its data. **Peak RSS**: VmHWM of the
  `load` process (one transaction of N puts) and of the `core` process (reads, scans and the removal over
  N keys preloaded in transactions of 50,000); memory-mapped engines count the pages of the file they
  touched.
- The engines run as libraries in the driver's language: C for thunder, LMDB, RocksDB (its C API) and
  SQLite; Go for bbolt; Rust for redb and libmdbx (through the `libmdbx` crate, whose safe wrapper is part
  of what is measured).

## Reproduce

```sh
make bench-deps                       # Debian's peers, Go + bbolt, libclang, the Rust peers, matplotlib
make bench BENCH_N=1000000 RUNS=1     # builds everything, runs, writes docs/BENCHMARKS.md and docs/benchmarks.png
make bench-selftest                   # quick: the streams agree across C/Go/Rust; checksums agree at small N
```
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--md", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--raw-name", default=None)
    a = ap.parse_args()
    meta, vals, sums, failed, probes, loads, scaling = parse(a.raw)
    cells = summarize(vals, wrong_cells(sums), failed)
    md, summary, n, date = render(meta, cells, failed, probes, loads, scaling, a.raw_name or a.raw)
    if a.md:
        open(a.md, "w").write(md)
    else:
        sys.stdout.write(md)
    if a.json:
        json.dump({"n": n, "date": date, "rows": summary}, open(a.json, "w"), indent=1)
    bad = sorted(k for k, c in cells.items() if c["wrong"])
    for row, col in bad:
        print("WRONG: %s %s: its checksum differs from the other engines'" % (row, col), file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
