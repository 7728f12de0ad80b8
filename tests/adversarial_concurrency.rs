//! Adversarial tests of concurrency: reader threads pinned to old snapshots
//! while a writer churns (every snapshot stays whole, and the freed pages
//! are reused once the readers end), read transactions outliving a dropped
//! handle, batched sync racing concurrent commits and explicit syncs, and
//! copies taken between unsynced commits, which must open as the last
//! synced state.
//!
//! Every random choice comes from a seed (`THUNDER_TEST_SEED` overrides the
//! defaults).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::adversarial::opts_ps;
use common::{seed, Rng, SeedGuard, TestDb};
use thunder::{Database, ErrorKind, Options, ReadTx, Stats, SyncMode};

/// Keys the pinned-reader test rewrites in every generation.
const N_KEYS: u32 = 300;

/// Reader threads check that every snapshot is one whole generation while a
/// writer rewrites every key 150 times and one reader stays pinned at the
/// first; once the readers end, further churn reuses the freed pages.
#[test]
fn pinned_readers_see_whole_snapshots_during_churn_and_space_is_reused_after() {
    let s = seed(0xADED);
    let _g = SeedGuard::new("pinned readers churn", s);
    let t = TestDb::new(Options::new().sync_mode(SyncMode::None).unwrap());
    let db = t.db().clone();
    let mut rng = Rng::new(s);
    write_gen(&db, 0, &mut rng);
    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for r in 0..3 {
        let db = db.clone();
        let stop = stop.clone();
        let checks = checks.clone();
        handles.push(std::thread::spawn(move || read_whole_snapshots(&db, s ^ (r + 100), &stop, &checks)));
    }
    // one reader pinned at gen 0 for the whole churn
    let pinned = db.begin_read().unwrap();
    for gen in 1..150u64 {
        write_gen(&db, gen, &mut rng);
    }
    let with_pin = db.stat().unwrap();
    // the pinned reader still sees gen 0 intact
    for item in pinned.iter() {
        let (k, v) = item.unwrap();
        if k != b"gen" {
            assert_eq!(u64::from_le_bytes(v[..8].try_into().unwrap()), 0);
        }
    }
    drop(pinned);
    stop.store(true, Ordering::Release);
    for h in handles {
        h.join().unwrap();
    }
    assert!(checks.load(Ordering::Relaxed) >= 3);
    db.sync().unwrap();
    churn_reuses_the_freed_pages(&db, &with_pin, &mut rng);
}

/// The writer: one commit sets every key to (gen, i), so that readers can
/// check each snapshot is a single generation.
fn write_gen(db: &Database, gen: u64, rng: &mut Rng) {
    let mut tx = db.begin_write().unwrap();
    for i in 0..N_KEYS {
        let mut v = gen.to_le_bytes().to_vec();
        let extra = if i % 50 == 0 { 3000 } else { rng.below(100) as usize };
        v.extend(std::iter::repeat_n(i as u8, extra));
        tx.put(format!("k{i:05}").as_bytes(), &v).unwrap();
    }
    tx.put(b"gen", &gen.to_le_bytes()).unwrap();
    tx.commit().unwrap();
}

/// A reader thread: holds snapshots a while, reading them repeatedly, and
/// checks each is one whole generation, until `stop` is set.
fn read_whole_snapshots(db: &Database, seed: u64, stop: &AtomicBool, checks: &AtomicU64) {
    let mut rng = Rng::new(seed);
    // at least one whole snapshot each, however the threads are scheduled
    loop {
        let tx = db.begin_read().unwrap();
        let gen = u64::from_le_bytes(tx.get(b"gen").unwrap().unwrap().try_into().unwrap());
        // hold it a while, reading repeatedly
        for _ in 0..1 + rng.below(4) {
            let mut n = 0;
            for item in tx.iter() {
                let (k, v) = item.unwrap();
                if k == b"gen" {
                    continue;
                }
                assert_eq!(u64::from_le_bytes(v[..8].try_into().unwrap()), gen, "torn snapshot");
                n += 1;
            }
            assert_eq!(n, N_KEYS);
            std::thread::sleep(Duration::from_micros(rng.below(2000)));
        }
        checks.fetch_add(1, Ordering::Relaxed);
        if stop.load(Ordering::Acquire) {
            break;
        }
    }
}

/// Once no reader pins old pages, space must be reused: more churn doesn't
/// grow the file beyond its size at `mid`, nor beyond `with_pin`.
fn churn_reuses_the_freed_pages(db: &Database, with_pin: &Stats, rng: &mut Rng) {
    for gen in 150..170u64 {
        write_gen(db, gen, rng);
    }
    db.sync().unwrap();
    let mid = db.stat().unwrap();
    for gen in 170..260u64 {
        write_gen(db, gen, rng);
        if gen % 10 == 0 {
            db.sync().unwrap();
        }
    }
    db.sync().unwrap();
    let end = db.stat().unwrap();
    eprintln!("with pin {with_pin:?}\nmid {mid:?}\nend {end:?}");
    assert!(
        end.page_count <= mid.page_count + 8,
        "file keeps growing after readers finished: {} -> {}",
        mid.page_count,
        end.page_count
    );
    assert!(end.page_count <= with_pin.page_count, "no reuse after readers ended");
    db.check().unwrap();
}

/// Read transactions on other threads outlive a dropped handle: they go on
/// reading, the file stays locked for a new open meanwhile, and after close
/// it reopens intact.
#[test]
fn readers_outliving_a_dropped_handle_keep_the_file_locked_until_they_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    for round in 0..5u32 {
        let db = Database::open(&path).unwrap();
        let mut tx = db.begin_write().unwrap();
        for i in 0..200u32 {
            tx.put(format!("k{i}").as_bytes(), &vec![round as u8; 100 + 30 * (i as usize % 100)]).unwrap();
        }
        tx.commit().unwrap();
        // readers on threads, still holding transactions when the handle is dropped
        let barrier = Arc::new(Barrier::new(4));
        let mut hs = Vec::new();
        for _ in 0..3 {
            let tx = db.begin_read().unwrap();
            let barrier = barrier.clone();
            hs.push(std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..20 {
                    for i in 0..200u32 {
                        let v = tx.get(format!("k{i}").as_bytes()).unwrap().unwrap();
                        assert!(v.iter().all(|&b| b == round as u8));
                    }
                }
            }));
        }
        // one handle goes while its transactions live on the reader threads;
        // a clone keeps the database open
        let db2 = db.clone();
        drop(db);
        barrier.wait();
        // reopen while the old handle's transactions live: locked (same process)
        match Database::open(&path) {
            Err(e) => assert_eq!(e.kind(), ErrorKind::Locked),
            Ok(_) => panic!("second open while transactions of the first are alive"),
        }
        for h in hs {
            h.join().unwrap();
        }
        db2.close().unwrap();
        let db = Database::open(&path).unwrap();
        db.check().unwrap();
        let r = db.begin_read().unwrap();
        assert!(r.get(b"k5").unwrap().unwrap().iter().all(|&b| b == round as u8));
        drop(r);
        db.close().unwrap();
    }
}

/// Three threads committing under `Batched(2 ms)`, calling `sync()` now
/// and then, with a reader alongside: after close every commit is there.
#[test]
fn batched_sync_with_concurrent_commits_loses_nothing_at_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.db");
    for round in 0..4u64 {
        let db = Database::open_with_options(
            &path,
            Options::new().sync_mode(SyncMode::Batched(Duration::from_millis(2))).unwrap(),
        )
        .unwrap();
        let mut hs = Vec::new();
        for w in 0..3u64 {
            let db = db.clone();
            hs.push(std::thread::spawn(move || {
                for i in 0..60u64 {
                    let mut tx = db.begin_write().unwrap();
                    tx.put(format!("w{w}-{i:03}").as_bytes(), &(round * 1000 + i).to_le_bytes()).unwrap();
                    if i % 7 == 0 {
                        tx.put(format!("big{w}").as_bytes(), &vec![i as u8; 9000]).unwrap();
                    }
                    tx.commit().unwrap();
                    if i % 13 == 0 {
                        db.sync().unwrap();
                    }
                }
            }));
        }
        let reader = {
            let db = db.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let tx = db.begin_read().unwrap();
                    let n = tx.iter().count();
                    assert!(n <= 3 * 60 + 3);
                }
            })
        };
        for h in hs {
            h.join().unwrap();
        }
        reader.join().unwrap();
        db.close().unwrap();
        let db = Database::open(&path).unwrap();
        db.check().unwrap();
        let tx = db.begin_read().unwrap();
        for w in 0..3u64 {
            for i in 0..60u64 {
                let v = tx.get(format!("w{w}-{i:03}").as_bytes()).unwrap().expect("lost commit after clean close");
                assert_eq!(v, &(round * 1000 + i).to_le_bytes());
            }
        }
        drop(tx);
        db.close().unwrap();
    }
}

/// What the copies test stored: (bucket name, key) -> value.
type BucketContents = BTreeMap<(Vec<u8>, Vec<u8>), Vec<u8>>;

/// Under `SyncMode::None` the file at any instant between commits must
/// open as the last synced state, intact (a power cut loses the rest).
#[test]
fn copies_taken_between_unsynced_commits_open_as_the_last_sync() {
    let s = seed(0xADF3);
    let _g = SeedGuard::new("power-cut copies", s);
    let mut rng = Rng::new(s);
    for ps in [4096u32, 16384] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let copy = dir.path().join("copy.db");
        let db = Database::open_with_options(&path, opts_ps(ps).sync_mode(SyncMode::None).unwrap()).unwrap();
        let mut model = BucketContents::new();
        let mut synced = model.clone();
        let mut reader: Option<ReadTx> = None;
        for step in 0..250u32 {
            commit_random_bucket_changes(&db, &mut model, &mut rng);
            if rng.chance(10) {
                db.sync().unwrap();
                synced = model.clone();
            }
            if rng.chance(10) {
                reader = if reader.is_some() { None } else { Some(db.begin_read().unwrap()) };
            }
            if step % 5 == 4 {
                copy_opens_as(&path, &copy, &synced, &format!("ps {ps} step {step}"));
            }
        }
        drop(reader);
        db.close().unwrap();
    }
}

/// One commit of random puts (some overflow) and deletes across buckets
/// `b0` to `b2`, now and then deleting a whole bucket; `model` follows.
fn commit_random_bucket_changes(db: &Database, model: &mut BucketContents, rng: &mut Rng) {
    let mut tx = db.begin_write().unwrap();
    for _ in 0..rng.range(1, 30) {
        let bname = format!("b{}", rng.below(3)).into_bytes();
        let k = format!("k{}", rng.below(300)).into_bytes();
        let b = tx.create_bucket_if_missing(None, &bname).unwrap();
        if rng.chance(25) {
            tx.delete_in(&b, &k).unwrap();
            model.remove(&(bname, k));
        } else {
            let len = if rng.chance(10) { 2049 + rng.below(10_000) as usize } else { rng.below(300) as usize };
            let v = rng.bytes(len);
            tx.put_in(&b, &k, &v).unwrap();
            model.insert((bname, k), v);
        }
    }
    if rng.chance(3) {
        let bname = format!("b{}", rng.below(3)).into_bytes();
        if tx.bucket(None, &bname).unwrap().is_some() {
            tx.delete_bucket(None, &bname).unwrap();
            model.retain(|(b, _), _| *b != bname);
        }
    }
    tx.commit().unwrap();
}

/// A copy of the file at `path` taken now opens, passes check() and holds
/// exactly `synced`.
fn copy_opens_as(path: &Path, copy: &Path, synced: &BucketContents, what: &str) {
    std::fs::copy(path, copy).unwrap();
    let c = Database::open(copy).unwrap_or_else(|e| panic!("{what}: copy open {e}"));
    c.check().unwrap_or_else(|e| panic!("{what}: copy check {e}"));
    let r = c.begin_read().unwrap();
    let mut got = BTreeMap::new();
    for name in r.bucket_names(None).unwrap() {
        let b = r.bucket(None, &name).unwrap().unwrap();
        for item in r.iter_in(&b) {
            let (k, v) = item.unwrap();
            got.insert((name.clone(), k.to_vec()), v.to_vec());
        }
    }
    assert!(got == *synced, "{what}: copy is not the last synced state");
    drop(r);
    c.close().unwrap();
    std::fs::remove_file(copy).unwrap();
}

/// A zero batching interval is refused (it would be `Full` in disguise);
/// with the shortest interval, a thread calling `sync()` in a tight loop
/// races two committing threads, and nothing is lost.
#[test]
fn batched_sync_with_a_tiny_interval_races_explicit_syncs() {
    let e = Options::new().sync_mode(SyncMode::Batched(Duration::ZERO)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.db");
    let opts = Options::new().sync_mode(SyncMode::Batched(Duration::from_micros(1))).unwrap();
    let db = Database::open_with_options(&path, opts).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let syncer = {
        let (db, done) = (db.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                db.sync().unwrap();
            }
        })
    };
    let writers: Vec<_> = (0..2u32)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..200u32 {
                    let mut tx = db.begin_write().unwrap();
                    tx.put(format!("{w}-{i}").as_bytes(), &[1; 100]).unwrap();
                    tx.commit().unwrap();
                }
            })
        })
        .collect();
    for h in writers {
        h.join().unwrap();
    }
    done.store(true, Ordering::Release);
    syncer.join().unwrap();
    db.close().unwrap();
    let db = Database::open(&path).unwrap();
    db.check().unwrap();
    assert_eq!(db.begin_read().unwrap().iter().count(), 400);
}
