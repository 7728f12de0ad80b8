//! Power cut at every I/O step of a commit, in every sync mode.
//!
//! The unit under test takes S0 to S1: with `SyncMode::Full` the one
//! transaction T; with `Batched` and `None` T split into two transactions
//! (the second reuses what the first freed, if the durable snapshot were not
//! pinned) followed by `Database::sync`. A follow-up unit T2 takes S1 to S2.
//! For every step k of both units, the test restores S0, cuts power at step
//! k, and recovers from the live file and from several crash images (durable
//! bytes plus a random subset of the unsynced writes, some torn). Each must
//! hold exactly one of the states the step allows, pass `check`, and accept a
//! new commit:
//!
//! * up to the unit's meta write: S0 (nothing may touch what S0 reaches);
//! * the meta write done but not synced: S0 or S1;
//! * once the unit returned Ok: S1, or S2 once T2's meta is written
//!   (an acknowledged commit or sync survives any later cut).

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, Instant};

use crate::error::{Error, ErrorKind};
use crate::options::SyncMode;
use crate::storage::{Fault, Step};
use crate::tests::support::{open_fault, open_fault_with, test_seed, Guard, Rng};
use crate::tests::workload::{diff, dump, run_txn, Fixture, Op};
use crate::Database;

/// Crash images tried per cut step, besides the live file.
const IMAGES_PER_STEP: usize = 5;

/// How far a unit got before its first error.
#[derive(Debug)]
pub(crate) struct UnitRun {
    pub committed: bool,
    pub synced: bool,
    pub err: Option<Error>,
}

/// The transactions of a unit: T whole under `Full`, else in two halves.
fn split(ops: &[Op], mode: SyncMode) -> Vec<&[Op]> {
    if mode == SyncMode::Full {
        vec![ops]
    } else {
        let (a, b) = ops.split_at(ops.len() / 2);
        vec![a, b]
    }
}

pub(crate) fn run_unit(db: &Database, ops: &[Op], mode: SyncMode) -> UnitRun {
    for t in split(ops, mode) {
        if let Err(e) = run_txn(db, t) {
            return UnitRun { committed: false, synced: false, err: Some(e) };
        }
    }
    if mode != SyncMode::Full {
        if let Err(e) = db.sync() {
            return UnitRun { committed: true, synced: false, err: Some(e) };
        }
    }
    UnitRun { committed: true, synced: true, err: None }
}

/// Step numbers (counted from 1 after open) of one unarmed run.
#[derive(Debug)]
struct Profile {
    trace: Vec<Step>,
    /// Last step of the unit's commits.
    commits1: u64,
    /// The meta write of each unit.
    meta1: u64,
    meta2: u64,
    /// Last step of each unit.
    end1: u64,
    end2: u64,
}

fn is_meta(s: &Step, page_size: u32) -> bool {
    matches!(s, Step::Write { offset, .. } if *offset < 2 * page_size as u64)
}

fn profile(fx: &Fixture, mode: SyncMode) -> Profile {
    fx.restore();
    let (db, fio) = open_fault(&fx.path, fx.opts(mode)).expect("open");
    let base = fio.steps();
    for t in split(&fx.t, mode) {
        run_txn(&db, t).expect("T, unarmed");
    }
    let commits1 = fio.steps() - base;
    if mode != SyncMode::Full {
        db.sync().expect("sync, unarmed");
    }
    let end1 = fio.steps() - base;
    let u2 = run_unit(&db, &fx.t2, mode);
    assert!(u2.synced, "T2, unarmed: {:?}", u2.err);
    let end2 = fio.steps() - base;
    let trace = fio.trace()[base as usize..].to_vec();
    drop(db);
    let metas: Vec<u64> = (1..=trace.len() as u64).filter(|&s| is_meta(&trace[s as usize - 1], fx.page_size)).collect();
    assert_eq!(metas.len(), 2, "one meta write per unit: {trace:?}");
    let (meta1, meta2) = (metas[0], metas[1]);
    assert!(meta1 <= end1 && meta2 > end1, "meta writes {metas:?}, units end at {end1}, {end2}");
    assert!(trace[..end1 as usize].iter().any(|s| matches!(s, Step::Grow(_))), "T never grows the file: {trace:?}");
    Profile { trace, commits1, meta1, meta2, end1, end2 }
}

/// The states a recovery may find after a cut at step `k`.
fn allowed(p: &Profile, k: u64) -> &'static [&'static str] {
    if k <= p.meta1 {
        &["S0"]
    } else if k <= p.end1 {
        &["S0", "S1"]
    } else if k <= p.meta2 {
        &["S1"]
    } else {
        &["S1", "S2"]
    }
}

/// Cuts power at step `k`, returns the distinct images a disk could hold.
fn cut_at(fx: &Fixture, mode: SyncMode, p: &Profile, k: u64, rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    fx.restore();
    let (db, fio) = open_fault(&fx.path, fx.opts(mode)).expect("open");
    let base = fio.steps();
    fio.arm(k, Fault::Cut);
    let u1 = run_unit(&db, &fx.t, mode);
    assert_eq!(u1.committed, k > p.commits1, "T's commit at a cut at step {k}: {:?}", u1.err);
    assert_eq!(u1.synced, k > p.end1, "unit 1 at a cut at step {k}: {:?}", u1.err);
    let mut errs: Vec<Error> = u1.err.into_iter().collect();
    if u1.synced {
        let u2 = run_unit(&db, &fx.t2, mode);
        assert!(!u2.synced, "T2 returned Ok through a cut at step {k}");
        errs.extend(u2.err);
    }
    for e in &errs {
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    }
    assert!(fio.is_cut());
    assert_eq!(fio.trace()[base as usize..], p.trace[..k as usize], "steps differ from the unarmed run");
    drop(db);
    let mut images = vec![("live file".to_string(), std::fs::read(&fx.path).unwrap())];
    for _ in 0..IMAGES_PER_STEP {
        let seed = rng.next() | 1;
        images.push((format!("crash image {seed}"), fio.crash_image(seed)));
    }
    let mut seen = HashSet::new();
    images.retain(|(_, img)| seen.insert(crc32fast::hash(img)));
    images
}

fn power_cut_every_step(page_size: u32, mode: SyncMode, salt: u64) {
    let seed = test_seed(salt);
    let _g = Guard::new(format!("power cut, {page_size}-byte pages, {mode:?}, seed {seed}"));
    let started = Instant::now();
    let fx = Fixture::new(page_size, seed);
    let p = profile(&fx, mode);
    let mut rng = Rng::new(seed);
    let mut outcomes: BTreeMap<&str, usize> = BTreeMap::new();
    for k in 1..=p.end2 {
        let _g = Guard::new(format!("cut at step {k} ({:?}) of {}", p.trace[k as usize - 1], p.end2));
        for (name, img) in cut_at(&fx, mode, &p, k, &mut rng) {
            let _g = Guard::new(format!("recovering the {name}"));
            let got = fx.recover(&img);
            let ok = allowed(&p, k);
            match fx.name_of(&got) {
                Some(n) if ok.contains(&n) => *outcomes.entry(n).or_default() += 1,
                Some(n) => panic!("cut at step {k}: recovered {n}, allowed {ok:?}"),
                None => panic!(
                    "cut at step {k}: recovered a mix; against S0: {}; against S1: {}",
                    diff(&got, &fx.s0),
                    diff(&got, &fx.s1)
                ),
            }
        }
    }
    for s in ["S0", "S1", "S2"] {
        assert!(outcomes.contains_key(s), "no cut recovered {s}: {outcomes:?}");
    }
    println!(
        "{page_size}-byte pages, {mode:?}: T {} steps (meta write at {}), T2 {} more; recovered {outcomes:?} in {:?}",
        p.end1,
        p.meta1,
        p.end2 - p.end1,
        started.elapsed()
    );
}

/// A process crash, then a power cut. The process dies with T's meta
/// written but not synced: the page cache still holds it, so the reopened
/// database holds S1 while the disk may still hold S0. Open must make S1
/// durable before anything reuses the pages S1 freed (S0 still reaches
/// them): for a power cut at every step of T2 after the reopen, recovery
/// finds S1, or S2 once T2's meta is written.
fn process_kill_then_power_cut(page_size: u32, salt: u64) {
    let seed = test_seed(salt);
    let _g = Guard::new(format!("process kill then power cut, {page_size}-byte pages, seed {seed}"));
    let fx = Fixture::new(page_size, seed);
    let mode = SyncMode::Full;
    let p = profile(&fx, mode);
    assert_eq!(p.end1, p.meta1 + 1, "T ends with the meta fsync");
    fx.restore();
    let (db, fio) = open_fault(&fx.path, fx.opts(mode)).unwrap();
    fio.arm(p.end1, Fault::Cut);
    assert!(run_txn(&db, &fx.t).is_err(), "T through a cut at its last fsync");
    drop(db);
    let durable = fio.durable_image();
    drop(fio);
    let live = std::fs::read(&fx.path).unwrap();
    let meta2 = p.meta2 - p.end1;
    let steps2 = p.end2 - p.end1;
    let mut rng = Rng::new(seed);
    for k in 1..=steps2 {
        let _g = Guard::new(format!("after the reopen, cut at step {k} of T2's {steps2}"));
        std::fs::write(&fx.path, &live).unwrap();
        let (db, fio) = open_fault_with(&fx.path, fx.opts(mode), Some(durable.clone())).unwrap();
        fio.arm(k, Fault::Cut);
        let got = dump(&db).unwrap();
        assert!(got == fx.s1, "reopen after the process crash: {}", diff(&got, &fx.s1));
        assert!(run_txn(&db, &fx.t2).is_err(), "T2 through a cut at its step {k}");
        drop(db);
        let images: Vec<Vec<u8>> = (0..IMAGES_PER_STEP).map(|_| fio.crash_image(rng.next() | 1)).collect();
        drop(fio);
        let ok: &[&str] = if k <= meta2 { &["S1"] } else { &["S1", "S2"] };
        for img in images {
            let got = fx.recover(&img);
            let name = fx.name_of(&got);
            assert!(name.is_some_and(|n| ok.contains(&n)), "recovered {name:?}, allowed {ok:?}");
        }
    }
}

#[test]
fn process_kill_then_power_cut_4k() {
    process_kill_then_power_cut(4096, 7);
}

#[test]
fn process_kill_then_power_cut_64k() {
    process_kill_then_power_cut(65536, 8);
}

/// Long enough that the background syncer never runs during a test.
const BATCH: SyncMode = SyncMode::Batched(Duration::from_secs(3600));

#[test]
fn power_cut_full_4k() {
    power_cut_every_step(4096, SyncMode::Full, 1);
}

#[test]
fn power_cut_full_64k() {
    power_cut_every_step(65536, SyncMode::Full, 2);
}

#[test]
fn power_cut_sync_none_4k() {
    power_cut_every_step(4096, SyncMode::None, 3);
}

#[test]
fn power_cut_sync_none_64k() {
    power_cut_every_step(65536, SyncMode::None, 4);
}

#[test]
fn power_cut_batched_4k() {
    power_cut_every_step(4096, BATCH, 5);
}

#[test]
fn power_cut_batched_64k() {
    power_cut_every_step(65536, BATCH, 6);
}
