//! Power cut at every I/O step of two logged commits, with the write-ahead
//! log on and `SyncMode::Full`.
//!
//! S0 is a database with a log, cleanly closed (so checkpointed). The unit
//! commits T1 (puts, a new bucket, a large value) then T2 (puts, a delete,
//! a large value that moves the log to a new segment). The data file and
//! every log segment go through `FaultIo`s counting steps on one clock, so
//! one armed cut stops them all. For every step k (and once past the last,
//! the happy path) the test restores S0, cuts power at step k, and recovers
//! from the live files (a process kill) and from crash images (each file's
//! durable bytes plus a random subset of its unsynced writes, some torn).
//! Each recovery must pass `check`, hold exactly one of S0, S1, S2, hold
//! every commit acknowledged before the cut, and accept a new commit.
//!
//! A second test cuts power at every step of the open that replays T1 and
//! T2 (durable in the log, the data file still at S0) and checkpoints:
//! every image must recover S2.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::error::ErrorKind;
use crate::options::{Options, SyncMode};
use crate::storage::{Fault, FaultClock, FaultIo, Step};
use crate::tests::support::{open_fault_wal, open_fault_wal_on, test_seed, Guard, Rng, Segments};
use crate::tests::workload::{diff, dump, model_apply, run_txn, BucketDump, Op, State};
use crate::wal::SEGMENT_HEADER;
use crate::Database;

/// Crash images per cut step, besides the durable images and the live files.
const IMAGES_PER_STEP: usize = 3;

/// One database's files: the data file and its log segments by name.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct Files {
    data: Vec<u8>,
    wal: BTreeMap<String, Vec<u8>>,
}

impl Files {
    fn read(path: &Path) -> Files {
        let data = std::fs::read(path).expect("read data file");
        let mut wal = BTreeMap::new();
        let dir = wal_dir(path);
        if dir.exists() {
            for e in std::fs::read_dir(&dir).unwrap() {
                let e = e.unwrap();
                wal.insert(e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap());
            }
        }
        Files { data, wal }
    }

    fn write(&self, path: &Path) {
        std::fs::write(path, &self.data).expect("write data file");
        let dir = wal_dir(path);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &self.wal {
            std::fs::write(dir.join(name), bytes).expect("write segment");
        }
    }
}

fn wal_dir(path: &Path) -> std::path::PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".wal");
    p.into()
}

fn opts(page_size: u32) -> Options {
    Options::new()
        .page_size(page_size)
        .unwrap()
        .sync_mode(SyncMode::Full)
        .unwrap()
        .wal(true)
        .wal_segment_size(1 << 20)
        .unwrap()
        // No checkpoint by time during a test: the steps stay the same.
        .checkpoint_interval(Duration::from_secs(3600))
}

fn key(prefix: &str, i: u64) -> Vec<u8> {
    format!("{prefix}{i:05}").into_bytes()
}

struct Fixture {
    page_size: u32,
    s0_files: Files,
    s0: State,
    t1: Vec<Op>,
    s1: State,
    t2: Vec<Op>,
    s2: State,
}

impl Fixture {
    fn new(page_size: u32, seed: u64) -> Fixture {
        let mut rng = Rng::new(seed);
        let mut st = State::new();
        st.insert(Vec::new(), BucketDump::default());
        let apply = |st: &mut State, ops: Vec<Op>| {
            for op in &ops {
                model_apply(st, op);
            }
            ops
        };
        let b = vec![b"b".to_vec()];
        let mut load = vec![Op::CreateBucket(b.clone())];
        for i in 0..60 {
            let len = rng.range(1, 100) as usize;
            load.push(Op::Put(Vec::new(), key("r", i), rng.bytes(len)));
        }
        for i in 0..20 {
            let len = rng.range(1, 100) as usize;
            load.push(Op::Put(b.clone(), key("b", i), rng.bytes(len)));
        }
        load.push(Op::NextSequence(b.clone()));
        let load = apply(&mut st, load);
        let more =
            apply(&mut st, vec![Op::Delete(Vec::new(), key("r", 3)), Op::Put(b.clone(), key("b", 1), vec![1; 9])]);
        let s0 = st.clone();
        // T1: puts, a new bucket with keys, and a large value (the log's
        // first segment fills past half its size).
        let nb = vec![b"new".to_vec()];
        let mut t1 = vec![Op::CreateBucket(nb.clone())];
        for i in 0..5 {
            t1.push(Op::Put(nb.clone(), key("n", i), rng.bytes(40)));
            t1.push(Op::Put(Vec::new(), key("t", i), rng.bytes(30)));
        }
        t1.push(Op::Put(Vec::new(), b"big1".to_vec(), rng.bytes(400_000)));
        t1.push(Op::NextSequence(nb.clone()));
        let t1 = apply(&mut st, t1);
        let s1 = st.clone();
        // T2: a delete, puts, and a value that does not fit the rest of the
        // segment: its records go to a new one.
        let t2 = vec![
            Op::Delete(Vec::new(), key("r", 5)),
            Op::Put(b.clone(), key("b", 2), rng.bytes(50)),
            Op::Put(nb, key("n", 99), rng.bytes(20)),
            Op::Put(Vec::new(), b"big2".to_vec(), rng.bytes(700_000)),
        ];
        let t2 = apply(&mut st, t2);
        let s2 = st;

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s0.db");
        let db = Database::open_with_options(&path, opts(page_size)).expect("create S0");
        run_txn(&db, &load).expect("S0 load");
        run_txn(&db, &more).expect("S0 more");
        let got = dump(&db).unwrap();
        assert!(got == s0, "S0 differs from the model: {}", diff(&got, &s0));
        db.close().expect("close S0");
        let s0_files = Files::read(&path);
        assert!(!s0_files.wal.is_empty(), "S0 left no log segment");
        Fixture { page_size, s0_files, s0, t1, s1, t2, s2 }
    }

    fn name_of(&self, st: &State) -> Option<&'static str> {
        [("S0", &self.s0), ("S1", &self.s1), ("S2", &self.s2)].into_iter().find(|(_, s)| *s == st).map(|(n, _)| n)
    }

    /// Opens `files` normally (the log on), checks, reads; then commits once
    /// more and makes sure that survives a reopen.
    fn recover(&self, files: &Files) -> State {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        files.write(&path);
        let db = Database::open_with_options(&path, opts(self.page_size)).expect("open after the crash");
        db.check().expect("check after the crash");
        let got = dump(&db).expect("read after the crash");
        let after = [Op::Put(Vec::new(), b"~after-crash".to_vec(), b"small".to_vec())];
        let mut want = got.clone();
        model_apply(&mut want, &after[0]);
        run_txn(&db, &after).expect("commit after the crash");
        db.close().expect("close after the crash");
        let db = Database::open_with_options(&path, opts(self.page_size)).expect("reopen after the crash");
        let again = dump(&db).unwrap();
        assert!(again == want, "commit after the crash lost: {}", diff(&again, &want));
        db.check().expect("check after reopening");
        db.close().unwrap();
        got
    }
}

/// Runs the unit over fault backends armed to cut at step `k` (None:
/// unarmed). Returns whether T1 and T2 returned Ok, the trace of the unit's
/// steps, and the distinct file sets a disk could hold afterwards.
#[allow(clippy::type_complexity)]
fn run(fx: &Fixture, k: Option<u64>, rng: &mut Rng) -> (bool, bool, Vec<Step>, Vec<(String, Files)>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    fx.s0_files.write(&path);
    let fw = open_fault_wal(&path, opts(fx.page_size)).expect("open over FaultIo");
    let base = fw.clock.steps();
    if let Some(k) = k {
        fw.clock.arm(k, Fault::Cut);
    }
    let t1 = run_txn(&fw.db, &fx.t1).is_ok();
    let t2 = t1 && run_txn(&fw.db, &fx.t2).is_ok();
    let trace = fw.clock.trace()[base as usize..].to_vec();
    drop(fw.db);
    let images = images(&fx.s0_files, Files::read(&path), Some(&fw.data), &fw.segments, rng);
    (t1, t2, trace, images)
}

/// The distinct file sets a disk could hold after a cut: the `live` files
/// (a process kill), then, from the files `base` before the open, each
/// backend's durable image, that without new segments whose header is not
/// durable, and `IMAGES_PER_STEP` crash images. A segment missing from
/// `live` was removed (with its directory synced) before the cut.
fn images(
    base: &Files,
    live: Files,
    data: Option<&FaultIo>,
    segments: &Segments,
    rng: &mut Rng,
) -> Vec<(String, Files)> {
    let image = |seed: Option<u64>| {
        let mut files = base.clone();
        files.wal.retain(|name, _| live.wal.contains_key(name));
        if let Some(d) = data {
            files.data = seed.map_or_else(|| d.durable_image(), |s| d.crash_image(s));
        }
        for (name, fio) in segments.lock().unwrap().iter() {
            if live.wal.contains_key(name) {
                let s = seed.map(|s| s ^ crc32fast::hash(name.as_bytes()) as u64);
                files.wal.insert(name.clone(), s.map_or_else(|| fio.durable_image(), |s| fio.crash_image(s)));
            }
        }
        files
    };
    // A segment created since `base` whose header is not durable yet was
    // cut before its directory entry was synced: it may be missing too.
    let mut unlinked = image(None);
    unlinked.wal.retain(|name, bytes| base.wal.contains_key(name) || bytes.len() >= SEGMENT_HEADER as usize);
    let mut images = vec![
        ("live files".to_string(), live.clone()),
        ("durable images".to_string(), image(None)),
        ("durable images, new segments not in the directory".to_string(), unlinked),
    ];
    for _ in 0..IMAGES_PER_STEP {
        let seed = rng.next() | 1;
        images.push((format!("crash image {seed}"), image(Some(seed))));
    }
    let mut seen = HashSet::new();
    images.retain(|(_, f)| seen.insert(f.clone()));
    images
}

/// A power cut at every step of the open that replays T1 and T2 (both
/// acknowledged, so durable in the log, the data file still at S0): every
/// image must recover S2.
fn power_cut_during_replay(page_size: u32, salt: u64) {
    let seed = test_seed(salt);
    let _g = Guard::new(format!("WAL replay power cut, {page_size}-byte pages, seed {seed}"));
    let started = Instant::now();
    let fx = Fixture::new(page_size, seed);
    let mut rng = Rng::new(seed);
    // The unit run without a cut, the disk then holding only what was
    // synced: T1 and T2 in the log, the data file at S0.
    let crashed = {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        fx.s0_files.write(&path);
        let fw = open_fault_wal(&path, opts(page_size)).expect("open over FaultIo");
        run_txn(&fw.db, &fx.t1).expect("T1, unarmed");
        run_txn(&fw.db, &fx.t2).expect("T2, unarmed");
        let mut files = fx.s0_files.clone();
        files.data = fw.data.durable_image();
        for (name, fio) in fw.segments.lock().unwrap().iter() {
            files.wal.insert(name.clone(), fio.durable_image());
        }
        files
    };
    let open = |k: Option<u64>, rng: &mut Rng| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        crashed.write(&path);
        let clock = FaultClock::new();
        if let Some(k) = k {
            clock.arm(k, Fault::Cut);
        }
        let (db, data, segments) = open_fault_wal_on(&path, opts(page_size), &clock);
        let opened = clock.steps();
        // Dropping the database checkpoints: its steps are cut too.
        let ok = match db {
            Ok(db) => {
                let got = dump(&db).unwrap();
                assert!(got == fx.s2, "replayed: {}", diff(&got, &fx.s2));
                true
            }
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::Io, "{e}");
                false
            }
        };
        let images = images(&crashed, Files::read(&path), data.as_deref(), &segments, rng);
        (ok, opened, clock.trace(), images)
    };
    let (ok, opened, trace, _) = open(None, &mut rng);
    assert!(ok, "the replaying open, unarmed");
    let steps = trace.len() as u64;
    assert!(trace.iter().any(|s| matches!(s, Step::Sync)), "the replay never synced: {trace:?}");
    let mut checked = 0;
    for k in 1..=steps + 1 {
        let what = trace.get(k as usize - 1).map_or("no cut".to_string(), |s| format!("{s:?}"));
        let _g = Guard::new(format!("cut at step {k} ({what}) of {steps}, {opened} of them the open's"));
        let (ok, _, got_trace, images) = open(Some(k), &mut rng);
        assert_eq!(ok, k > opened, "the open at a cut at step {k}");
        assert_eq!(got_trace[..], trace[..(k as usize).min(trace.len())], "steps differ from the unarmed open");
        for (name, files) in images {
            let _g = Guard::new(format!("recovering the {name}"));
            let got = fx.recover(&files);
            checked += 1;
            assert!(got == fx.s2, "cut at step {k} of the replay: {}", diff(&got, &fx.s2));
        }
    }
    println!(
        "WAL replay, {page_size}-byte pages: {steps} steps ({opened} in open); {checked} images recovered S2 in {:?}",
        started.elapsed()
    );
}

fn power_cut_every_step(page_size: u32, salt: u64) {
    let seed = test_seed(salt);
    let _g = Guard::new(format!("WAL power cut, {page_size}-byte pages, seed {seed}"));
    let started = Instant::now();
    let fx = Fixture::new(page_size, seed);
    let mut rng = Rng::new(seed);
    let (t1, t2, trace, _) = run(&fx, None, &mut rng);
    assert!(t1 && t2, "the unit, unarmed");
    let end2 = trace.len() as u64;
    let syncs = trace.iter().filter(|s| matches!(s, Step::Sync)).count();
    assert!(syncs >= 3, "two logged commits and a new segment's header sync: {trace:?}");
    let (mut end1, mut outcomes, mut checked) = (None, BTreeMap::<&str, usize>::new(), 0);
    for k in 1..=end2 + 1 {
        let what = trace.get(k as usize - 1).map_or("no cut".to_string(), |s| format!("{s:?}"));
        let _g = Guard::new(format!("cut at step {k} ({what}) of {end2}"));
        let (t1, t2, got_trace, images) = run(&fx, Some(k), &mut rng);
        assert_eq!(got_trace[..], trace[..(k as usize).min(trace.len())], "steps differ from the unarmed run");
        assert_eq!(t2, k > end2, "T2 acknowledged through a cut at step {k}");
        if t1 && end1.is_none() {
            end1 = Some(k - 1);
        }
        assert_eq!(t1, end1.is_some(), "T1 acknowledged at a cut at step {k}, not at an earlier one");
        let allowed: &[&str] = if t2 {
            &["S2"]
        } else if t1 {
            &["S1", "S2"]
        } else {
            &["S0", "S1"]
        };
        for (name, files) in images {
            let _g = Guard::new(format!("recovering the {name} (T1 acknowledged: {t1}, T2: {t2})"));
            let got = fx.recover(&files);
            checked += 1;
            match fx.name_of(&got) {
                Some(n) if allowed.contains(&n) => *outcomes.entry(n).or_default() += 1,
                Some(n) => panic!("cut at step {k}: recovered {n}, allowed {allowed:?}"),
                None => panic!(
                    "cut at step {k}: recovered a mix; against S0: {}; against S1: {}; against S2: {}",
                    diff(&got, &fx.s0),
                    diff(&got, &fx.s1),
                    diff(&got, &fx.s2)
                ),
            }
        }
    }
    for s in ["S0", "S1", "S2"] {
        assert!(outcomes.contains_key(s), "no cut recovered {s}: {outcomes:?}");
    }
    println!(
        "WAL, {page_size}-byte pages: T1 {} steps, T2 {} more; {checked} images recovered {outcomes:?} in {:?}",
        end1.unwrap_or(0),
        end2 - end1.unwrap_or(0),
        started.elapsed()
    );
}

#[test]
fn wal_power_cut_4k() {
    power_cut_every_step(4096, 21);
}

#[test]
fn wal_power_cut_64k() {
    power_cut_every_step(65536, 22);
}

#[test]
fn wal_replay_power_cut_4k() {
    power_cut_during_replay(4096, 23);
}

#[test]
fn wal_replay_power_cut_64k() {
    power_cut_during_replay(65536, 24);
}
