#!/usr/bin/env python3
"""chart.py: docs/benchmarks.png from the summary bench/report.py writes.

    bench/chart.py SUMMARY.json OUT.png

One horizontal bar per line of the table: thunder's ratio to the best peer
on that line (named at the bar's end), on a log scale, > 1 (green) where
thunder leads, < 1 (red) where a peer does; a diamond marks its ratio to
LMDB. Needs matplotlib (make
bench-deps installs it into build/bench/venv).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

NAMES = {"mdbx": "libmdbx", "lmdb": "LMDB", "rocksdb": "RocksDB", "sqlite": "SQLite"}


def main():
    summary = json.load(open(sys.argv[1]))
    rows = [r for r in summary["rows"] if r["ratio_best"]]
    rows.reverse()  # the table's first line at the top
    labels = [r["label"] for r in rows]
    ratios = [r["ratio_best"] for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.36 * len(rows) + 1.6))
    colors = ["#2e8b57" if x >= 1 else "#c0392b" for x in ratios]
    ax.barh(range(len(rows)), ratios, color=colors, height=0.7, label="thunder / best peer (bar)")
    lmdb = [(i, r["ratio_lmdb"]) for i, r in enumerate(rows) if r.get("ratio_lmdb")]
    ax.scatter([x for _, x in lmdb], [i for i, _ in lmdb], marker="D", s=22, color="black", zorder=3,
               label="thunder / LMDB (diamond)")
    ax.set_xscale("log")
    everything = ratios + [x for _, x in lmdb] + [1]
    text_x = max(everything) * 1.4  # the labels stand in a column right of every mark
    lo, hi = min(everything) / 2.5, text_x * 14
    ax.set_xlim(lo, hi)
    ax.axvline(1, color="black", linewidth=1)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: "%gx" % x))
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels, fontsize=9)
    for i, r in enumerate(rows):
        text = "%.2fx vs %s" % (r["ratio_best"], NAMES.get(r["best_peer"], r["best_peer"]))
        if r.get("ratio_lmdb"):
            text += ";  %.2fx vs LMDB" % r["ratio_lmdb"]
        ax.text(text_x, i, text, va="center", fontsize=8)
    ax.set_xlabel("ratio, log scale; > 1: thunder better (faster; for bytes and RSS: smaller)")
    ax.set_title("thunder vs LMDB, libmdbx, bbolt, redb, RocksDB, SQLite: N = {:,}, {}\n"
                 "shared 2-core VM: see docs/BENCHMARKS.md for the numbers and the load".format(
                     summary["n"], summary["date"]), fontsize=10)
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=2, fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
