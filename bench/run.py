#!/usr/bin/env python3
"""run.py: runs the drivers of `make bench` and writes the raw results.

    bench/run.py [--n N] [--runs R] [--groups G,..] [--engines E,..]
                 [--scaling N1,N2,..] [--scaling-peers E,..] [--raw FILE] [--dir DIR]

Reads build/bench/engines.txt and skipped.txt (bench/build.sh writes them).
Every (group, engine, variant) runs in its own process and a fresh directory
under DIR (default $BENCH_DIR or /tmp), removed afterwards. Repetitions are
interleaved: repetition 1 of every group, then repetition 2, ...; within a
group the engine order rotates from one repetition to the next. A run that
fails or takes longer than --timeout is recorded as FAILED and the others go
on. Then, when
--scaling is given, the bulk load runs at each of those N, for thunder and
the --scaling-peers that are built (default lmdb, the load line's best peer:
how a peer's cost per put grows is the yardstick for thunder's), as many
repetitions as the groups, interleaved the same way.

The raw file (default build/bench/raw.txt) holds '# key: value' lines about
the machine and the run, then one line per driver line, prefixed with the
repetition and the group; bench/report.py turns it into docs/BENCHMARKS.md.
Only the standard library is used.
"""
import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
OUT = os.path.join(ROOT, "build", "bench")
TREE = os.environ.get("THUNDER_TREE", ROOT)  # the thunder checkout measured (bench/build.sh)

# (group, variant of every engine, whether thunder also runs with its WAL)
GROUPS = [
    ("load", "durable", False),
    ("core", "durable", False),
    ("ycsb", "nosync", False),
    ("w1", "durable", True),
    ("w2", "durable", True),
    ("w3", "nosync", False),
    ("w4-1", "durable", True),
    ("w4-4", "durable", True),
]
WRITE_GROUPS = {"w1", "w2", "w3", "w4-1", "w4-4"}


def read_engines():
    engines = {}
    with open(os.path.join(OUT, "engines.txt")) as f:
        for line in f:
            name, *cmd = line.split()
            engines[name] = cmd
    with open(os.path.join(OUT, "skipped.txt")) as f:
        skipped = [line.strip() for line in f if line.strip()]
    return engines, skipped


def loadavg():
    with open("/proc/loadavg") as f:
        return f.read().split()[:3]


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine_lines(base):
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    lock = os.path.join(HERE, "rust", "Cargo.lock")
    crates = []
    if os.path.exists(lock):
        text = open(lock).read().split("[[package]]")
        for block in text:
            fields = dict(l.split(" = ", 1) for l in block.strip().splitlines() if " = " in l)
            name = fields.get("name", "").strip('"')
            if name in ("redb", "libmdbx", "mdbx-sys"):
                crates.append("%s %s" % (name, fields.get("version", "?").strip('"')))
    pkgs = sh("dpkg-query -W -f '${Package} ${Version}, ' liblmdb-dev librocksdb-dev libsqlite3-dev "
              "golang-github-coreos-bbolt-dev golang-go 2>/dev/null").rstrip(", ")
    rev = sh("git -C %s rev-parse --short HEAD" % TREE)
    # the run's own outputs (tracked, rewritten by this run) are no change to the tree measured
    dirty = sh("git -C %s status --porcelain --untracked-files=no -- . ':!bench/results' "
               "':!docs/BENCHMARKS.md' ':!docs/benchmarks.png'" % TREE)
    version = sh("sed -n 's/^version = \"\\(.*\\)\"/\\1/p' %s/Cargo.toml | head -n1" % TREE)
    return [
        ("date", time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())),
        ("cpu", "%s, %d cores (nproc)" % (cpu, os.cpu_count())),
        ("memory", "%.0f GiB" % (mem / 1048576.0)),
        ("kernel", "%s %s" % (platform.system(), platform.release())),
        ("filesystem", sh("df -T %s | awk 'NR==2 {print $2 \" on \" $1 \" (\" $7 \")\"}'" % base)),
        ("thunder", "%s at %s%s (%s)" % (version, rev, " with uncommitted changes" if dirty else "", TREE)),
        ("debian packages", pkgs or "?"),
        ("crates", ", ".join(crates) or "?"),
        ("toolchains", "; ".join(x for x in (sh("cc --version | head -n1"), sh("rustc --version"),
                                             sh("go version")) if x)),
    ]


def probe(base):
    """The disk's fdatasync latency now (us), from bench/write_path/fsync_probe.c."""
    d = tempfile.mkdtemp(prefix="thunder-bench-probe-", dir=base)
    try:
        out = sh("%s %s < /dev/null" % (os.path.join(OUT, "bin", "fsync_probe"), d))
        return out.split()[-1] if out else "?"
    finally:
        shutil.rmtree(d, ignore_errors=True)


def run_one(cmd, variant, group, base, n, timeout):
    """Runs one driver process in a fresh directory; returns (lines, error)."""
    d = tempfile.mkdtemp(prefix="thunder-bench-", dir=base)
    try:
        p = subprocess.run(cmd + [variant, group, d, str(n)], capture_output=True, text=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
        lines = [l for l in p.stdout.splitlines() if l.split()[:1] in (["RESULT"], ["CHECK"], ["METRIC"])]
        if p.returncode != 0:
            err = (p.stderr.strip().splitlines() or ["exit status %d" % p.returncode])[-1]
            return lines, err
        return lines, None
    except subprocess.TimeoutExpired:
        return [], "timed out after %d s" % timeout
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", 1000000)))
    ap.add_argument("--runs", type=int, default=int(os.environ.get("RUNS", 1)))
    ap.add_argument("--groups", default=",".join(g[0] for g in GROUPS))
    ap.add_argument("--engines", default="")
    ap.add_argument("--scaling", default=os.environ.get("BENCH_SCALING", ""))
    ap.add_argument("--raw", default=os.path.join(OUT, "raw.txt"))
    ap.add_argument("--scaling-peers", default=os.environ.get("BENCH_SCALING_PEERS", "lmdb"))
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/tmp"))
    ap.add_argument("--timeout", type=int, default=int(os.environ.get("BENCH_TIMEOUT", 600)),
                    help="seconds one process may take (BENCH_TIMEOUT, default 600)")
    a = ap.parse_args()

    engines, skipped = read_engines()
    if a.engines:
        wanted = a.engines.split(",")
        engines = {e: c for e, c in engines.items() if e in wanted}
    groups = [g for g in GROUPS if g[0] in a.groups.split(",")]
    os.makedirs(os.path.dirname(os.path.abspath(a.raw)), exist_ok=True)
    raw = open(a.raw, "w")

    def emit(line):
        raw.write(line + "\n")
        raw.flush()

    emit("# n: %d" % a.n)
    emit("# runs: %d" % a.runs)
    emit("# timeout: %d" % a.timeout)
    emit("# engines: %s" % " ".join(engines))
    for s in skipped:
        emit("# skipped: %s" % s)
    for k, v in machine_lines(a.dir):
        emit("# %s: %s" % (k, v))
    emit("# load before: %s" % " ".join(loadavg()))
    start = time.time()
    for rep in range(1, a.runs + 1):
        for group, variant, with_wal in groups:
            runs = [(e, variant) for e in engines]
            if with_wal and "thunder" in engines:
                runs.insert(1, ("thunder", "wal"))
            k = (rep - 1) % len(runs)
            runs = runs[k:] + runs[:k]
            if group in WRITE_GROUPS:
                emit("PROBE %d %s %s" % (rep, group, probe(a.dir)))
            for engine, v in runs:
                t0 = time.time()
                lines, err = run_one(engines[engine], v, group, a.dir, a.n, a.timeout)
                for l in lines:
                    emit("%d %s %s" % (rep, group, l))
                if err:
                    emit("FAILED %d %s %s %s %s" % (rep, group, engine, v, err))
                emit("LOAD %d %s %s %s %.1f" % (rep, group, engine, loadavg()[0], time.time() - t0))
                print("rep %d/%d %-5s %-8s %-8s %6.1f s%s" % (rep, a.runs, group, engine, v, time.time() - t0,
                                                            "  FAILED: " + err if err else ""), file=sys.stderr)
    if a.scaling and "thunder" in engines:
        scalers = ["thunder"] + [e for e in a.scaling_peers.split(",") if e in engines and e != "thunder"]
        for rep in range(1, a.runs + 1):
            for n in (int(x) for x in a.scaling.split(",")):
                k = (rep - 1) % len(scalers)
                for engine in scalers[k:] + scalers[:k]:
                    t0 = time.time()
                    lines, err = run_one(engines[engine], "durable", "load", a.dir, n, a.timeout)
                    for l in lines:
                        emit("%d scale-%d %s" % (rep, n, l))
                    if err:
                        emit("FAILED %d scale-%d %s durable %s" % (rep, n, engine, err))
                    emit("LOAD %d scale-%d %s %s %.1f" % (rep, n, engine, loadavg()[0], time.time() - t0))
                    print("rep %d/%d scaling N=%d %-8s %6.1f s%s" % (rep, a.runs, n, engine, time.time() - t0,
                                                                   "  FAILED: " + err if err else ""), file=sys.stderr)
    emit("# load after: %s" % " ".join(loadavg()))
    emit("# wall time: %.0f s" % (time.time() - start))
    raw.close()
    print("raw results in %s" % a.raw, file=sys.stderr)


if __name__ == "__main__":
    main()
