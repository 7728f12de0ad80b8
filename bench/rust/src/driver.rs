//! The Rust driver's workloads: the same groups, workloads, checks and output
//! lines as bench/c/driver.c, whose head documents them.

use crate::backend::{Backend, ReadTxn};
use crate::stream::{digest, make_key, make_value, value_head, Rng, Zipf, KEY_LEN, LOAD_SEED, VAL_LEN};
use std::path::Path;
use std::sync::Barrier;
use std::time::Instant;

const WRITE_PRELOAD: u64 = 100_000;
const RANGE_LEN: u64 = 100;
const PRELOAD_CHUNK: u64 = 50_000;

/// Opens the engine's database in a directory (again after a close).
pub type Opener<'a> = &'a dyn Fn() -> Box<dyn Backend>;

pub struct Run<'a> {
    pub engine: &'a str,
    pub variant: &'a str,
    pub dir: &'a Path,
    pub n: u64,
}

fn die(run: &Run, what: &str, detail: &str) -> ! {
    eprintln!("{} {}: {what}: {detail}", run.engine, run.variant);
    std::process::exit(1)
}

impl Run<'_> {
    fn result(&self, wl: &str, ops: u64, t0: Instant, sum: u64) {
        self.result_secs(wl, ops, t0.elapsed().as_secs_f64(), sum);
    }
    fn result_secs(&self, wl: &str, ops: u64, secs: f64, sum: u64) {
        println!("RESULT {} {} {wl} {ops} {secs:.6} {sum:016x}", self.engine, self.variant);
    }
    fn metric(&self, name: &str, value: u64) {
        println!("METRIC {} {} {name} {value}", self.engine, self.variant);
    }
}

/// Bytes allocated on disk under path (itself included).
fn disk_usage(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).expect("stat");
    let mut total = meta.blocks() * 512;
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).expect("read_dir") {
            total += disk_usage(&entry.expect("read_dir").path());
        }
    }
    total
}

/// VmHWM of this process, in KiB.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn put_range(db: &dyn Backend, first: u64, count: u64) {
    let (mut k, mut v) = ([0u8; KEY_LEN], [0u8; VAL_LEN]);
    db.write(&mut |t| {
        for i in first..first + count {
            make_key(i, &mut k);
            make_value(LOAD_SEED + i, &mut v);
            t.put(&k, &v);
        }
    });
}

/// Keys [0, n) with their loaded values, PRELOAD_CHUNK keys per transaction,
/// then a sync.
fn preload(db: &dyn Backend, n: u64) {
    for first in (0..n).step_by(PRELOAD_CHUNK as usize) {
        put_range(db, first, PRELOAD_CHUNK.min(n - first));
    }
    db.sync();
}

/// Checks a value read for key i: it must be made from seed (any value when
/// seed is 0); returns its digest.
fn checked(run: &Run, i: u64, seed: u64, v: &[u8]) -> u64 {
    let head = v.get(..8).map(|h| u64::from_be_bytes(h.try_into().expect("8 bytes")));
    if v.len() != VAL_LEN || (seed != 0 && head != Some(value_head(seed))) {
        die(run, "WRONG", &format!("key {i} has a wrong value"));
    }
    digest(v)
}

fn get_checked(run: &Run, t: &dyn ReadTxn, i: u64, seed: u64) -> u64 {
    let mut k = [0u8; KEY_LEN];
    make_key(i, &mut k);
    let mut sum = 0;
    if !t.get(&k, &mut |v| sum = checked(run, i, seed, v)) {
        die(run, "WRONG", &format!("key {i} is missing"));
    }
    sum
}

fn reader(run: &Run, db: &dyn Backend, seed: u64, count: u64) -> u64 {
    let mut g = Rng(seed);
    let mut sum = 0u64;
    db.read(&mut |t| {
        for _ in 0..count {
            let i = g.below(run.n);
            sum = sum.wrapping_add(get_checked(run, t, i, LOAD_SEED + i));
        }
    });
    sum
}

fn random_reads(run: &Run, db: &dyn Backend, wl: &str, threads: u64, seed: u64) {
    let each = run.n / threads;
    if threads == 1 {
        let t0 = Instant::now();
        let sum = reader(run, db, seed, each);
        return run.result(wl, each, t0, sum);
    }
    let go = Barrier::new(threads as usize + 1);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let go = &go;
                s.spawn(move || {
                    go.wait();
                    reader(run, db, seed + i, each)
                })
            })
            .collect();
        let t0 = Instant::now(); // the readers start when this thread reaches the barrier
        go.wait();
        let sum = handles.into_iter().fold(0u64, |a, h| a.wrapping_add(h.join().expect("reader")));
        run.result(wl, each * threads, t0, sum);
    });
}

fn missing_reads(run: &Run, db: &dyn Backend) {
    let (n, mut g, mut k, mut sum) = (run.n, Rng(2), [0u8; KEY_LEN], 0u64);
    let t0 = Instant::now();
    db.read(&mut |t| {
        for _ in 0..n {
            let i = n + g.below(n);
            make_key(i, &mut k);
            if t.get(&k, &mut |_| {}) {
                die(run, "WRONG", "a key never written was found");
            }
            sum = sum.wrapping_add(i);
        }
    });
    run.result("missing", n, t0, sum);
}

/// Reads up to len items from the first key >= key(i) (from the first item
/// when i is None), adds their digests to *sum; returns the count.
fn read_items(run: &Run, t: &dyn ReadTxn, i: Option<u64>, len: u64, sum: &mut u64) -> u64 {
    let mut k = [0u8; KEY_LEN];
    let start: &[u8] = match i {
        Some(i) => {
            make_key(i, &mut k);
            &k
        }
        None => &[],
    };
    t.range(start, len, &mut |key, val| {
        if val.len() != VAL_LEN {
            die(run, "WRONG", "a value of the wrong length");
        }
        *sum = sum.wrapping_add(digest(key)).wrapping_add(digest(val));
    })
}

fn range_reads(run: &Run, db: &dyn Backend) {
    let (mut g, ranges, mut sum, mut items) = (Rng(3), (run.n / 10).max(1), 0u64, 0u64);
    let t0 = Instant::now();
    db.read(&mut |t| {
        for _ in 0..ranges {
            items += read_items(run, t, Some(g.below(run.n)), RANGE_LEN, &mut sum);
        }
    });
    run.result("range", ranges, t0, sum.wrapping_add(items));
}

fn full_scan(run: &Run, db: &dyn Backend, expect: u64) -> (u64, f64) {
    let (mut sum, mut got) = (0u64, 0);
    let t0 = Instant::now();
    db.read(&mut |t| got = read_items(run, t, None, u64::MAX, &mut sum));
    let secs = t0.elapsed().as_secs_f64();
    if got != expect {
        die(run, "WRONG", &format!("scan found {got} items, not {expect}"));
    }
    (sum, secs)
}

pub fn group_core(run: &Run, open: Opener) {
    let n = run.n;
    preload(&*open(), n);

    let db = open();
    random_reads(run, &*db, "read1", 1, 1);
    random_reads(run, &*db, "read2", 2, 10);
    missing_reads(run, &*db);
    range_reads(run, &*db);
    let (sum, secs) = full_scan(run, &*db, n);
    run.result_secs("scan", n, secs, sum);

    let removed = n.div_ceil(2);
    let t0 = Instant::now();
    let mut k = [0u8; KEY_LEN];
    db.write(&mut |t| {
        for i in (0..n).step_by(2) {
            make_key(i, &mut k);
            t.del(&k);
        }
    });
    run.result("delete", removed, t0, 0);
    let (sum, _) = full_scan(run, &*db, n - removed);
    println!("CHECK {} {} after_delete {} {sum:016x}", run.engine, run.variant, n - removed);
    db.sync();
    drop(db);
    run.metric("disk_delete", disk_usage(run.dir));
    run.metric("rss_kb", peak_rss_kb());
}

#[derive(PartialEq)]
enum Op {
    Read,
    Update,
    Insert,
    Scan,
    Rmw,
}

/// Which operation of YCSB workload w the percentile p (0..99) picks.
fn ycsb_op(w: u8, p: u64) -> Op {
    match w {
        b'A' if p < 50 => Op::Read,
        b'A' => Op::Update,
        b'B' if p < 95 => Op::Read,
        b'B' => Op::Update,
        b'C' => Op::Read,
        b'D' if p < 95 => Op::Read,
        b'D' => Op::Insert,
        b'E' if p < 95 => Op::Scan,
        b'E' => Op::Insert,
        _ if p < 50 => Op::Read,
        _ => Op::Rmw,
    }
}

fn ycsb_workload(run: &Run, db: &dyn Backend, w: u8, ops: u64, count: &mut u64, z: &Zipf) {
    let mut g = Rng(100 + (w - b'A') as u64);
    let (mut k, mut v, mut sum) = ([0u8; KEY_LEN], [0u8; VAL_LEN], 0u64);
    let t0 = Instant::now();
    for op in 0..ops {
        let kind = ycsb_op(w, g.below(100));
        if kind == Op::Insert {
            put_range(db, *count, 1);
            *count += 1;
            continue;
        }
        let rank = z.next(&mut g);
        let i = if w == b'D' { *count - 1 - rank } else { rank };
        let seed = i.wrapping_add((op + 1) << 32).wrapping_add((w as u64) << 56);
        match kind {
            Op::Read => db.read(&mut |t| sum = sum.wrapping_add(get_checked(run, t, i, 0))),
            Op::Scan => {
                let len = 1 + g.below(RANGE_LEN);
                db.read(&mut |t| {
                    let got = read_items(run, t, Some(i), len, &mut sum);
                    sum = sum.wrapping_add(got);
                });
            }
            _ => db.write(&mut |t| {
                make_key(i, &mut k);
                if kind == Op::Rmw {
                    let mut d = 0;
                    if !t.get(&k, &mut |val| d = checked(run, i, 0, val)) {
                        die(run, "WRONG", &format!("key {i} is missing"));
                    }
                    sum = sum.wrapping_add(d);
                }
                make_value(seed, &mut v);
                t.put(&k, &v);
            }),
        }
    }
    run.result(&format!("ycsb-{}", w as char), ops, t0, sum);
}

pub fn group_ycsb(run: &Run, open: Opener) {
    let db = open();
    preload(&*db, run.n);
    let (ops, mut count, z) = ((run.n / 10).max(1000), run.n, Zipf::new(run.n));
    for w in b"ABCFDE" {
        ycsb_workload(run, &*db, *w, ops, &mut count, &z);
    }
    db.sync();
}

/// Reads back about 256 keys spread over [first, first + count) and the last.
fn sample_back(run: &Run, db: &dyn Backend, first: u64, count: u64) -> u64 {
    let step = (count / 256).max(1);
    let mut sum = 0u64;
    db.read(&mut |t| {
        for i in (first..first + count).step_by(step as usize) {
            sum = sum.wrapping_add(get_checked(run, t, i, LOAD_SEED + i));
        }
        let last = first + count - 1;
        sum = sum.wrapping_add(get_checked(run, t, last, LOAD_SEED + last));
    });
    sum
}

pub fn group_writes(run: &Run, open: Opener, wl: &str) {
    let (commits, per, threads) = match wl {
        "w1" | "w4-1" => (1000, 1, 1),
        "w2" => (100, 1000, 1),
        "w3" => (10000, 1, 1),
        "w4-4" => (1000, 1, 4),
        _ => die(run, "unknown group", wl),
    };
    let (pre, ops) = (run.n.min(WRITE_PRELOAD), commits * per);
    let db = open();
    preload(&*db, pre);
    let each = commits / threads;
    let go = Barrier::new(threads as usize + 1);
    let db_ref = &*db;
    let t0 = std::thread::scope(|s| {
        for i in 0..threads {
            let go = &go;
            s.spawn(move || {
                go.wait();
                for c in 0..each {
                    put_range(db_ref, pre + i * each * per + c * per, per);
                }
            });
        }
        let t0 = Instant::now(); // the writers start when this thread reaches the barrier
        go.wait();
        t0
    });
    let secs = t0.elapsed().as_secs_f64(); // the scope has joined the writers
    let sum = sample_back(run, &*db, pre, ops).wrapping_add(sample_back(run, &*db, 0, pre));
    run.result_secs(wl, ops, secs, sum);
    db.sync();
}

pub fn group_load(run: &Run, open: Opener) {
    let db = open();
    let t0 = Instant::now();
    put_range(&*db, 0, run.n);
    run.result("load", run.n, t0, 0);
    db.sync();
    drop(db);
    run.metric("disk_load", disk_usage(run.dir));
    run.metric("rss_load_kb", peak_rss_kb());
}
