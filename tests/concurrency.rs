//! Concurrency: snapshot isolation under a committing writer, many readers on
//! many threads, writer exclusion (blocking, `try_begin_write`, the same
//! thread twice), write transactions moving between threads, and reopening
//! after each of several commits.
//!
//! Where a test must show that one thing happened before another it asserts
//! on data that could only exist in that order (a txid, a value committed by
//! the other side), never on how long something took.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::{contents, seed, Rng, SeedGuard, TestDb};
use thunder::{Database, ErrorKind, Options, ReadTx, SyncMode, WriteTx};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

const KEYS: u64 = 600;

fn key(i: u64) -> Vec<u8> {
    format!("key{i:05}").into_bytes()
}

/// One write transaction of the snapshot test: updates, inserts and deletes
/// over a fixed key range, some values above the overflow threshold so that
/// overflow runs are freed and reused too.
fn random_txn(rng: &mut Rng, t: u64, tx: &mut WriteTx, model: &mut Model) {
    for _ in 0..80 {
        let k = key(rng.below(KEYS));
        if rng.chance(20) {
            assert_eq!(tx.delete(&k).unwrap(), model.remove(&k).is_some());
        } else {
            let len = if rng.chance(5) { rng.range(2049, 9000) } else { rng.range(0, 200) } as usize;
            let mut v = rng.bytes(len);
            v.extend_from_slice(&t.to_le_bytes());
            tx.put(&k, &v).unwrap();
            model.insert(k, v);
        }
    }
}

/// Everything a reader can observe about its snapshot, against the model.
fn verify_snapshot(tx: &ReadTx, want: &Model) {
    for (k, v) in want {
        assert_eq!(tx.get(k).unwrap(), Some(v.as_slice()), "txid {}: key {:?}", tx.id(), k);
    }
    for i in (0..KEYS).step_by(7) {
        let k = key(i);
        if !want.contains_key(&k) {
            assert_eq!(tx.get(&k).unwrap(), None, "txid {}: deleted key {:?} visible", tx.id(), k);
        }
    }
    let got: Vec<(&[u8], &[u8])> = tx.iter().map(Result::unwrap).collect();
    assert_eq!(got.len(), want.len(), "txid {}: count", tx.id());
    assert!(got.iter().zip(want).all(|(g, w)| g.0 == w.0.as_slice() && g.1 == w.1.as_slice()));
    let back: Vec<&[u8]> = tx.iter().rev().map(|r| r.unwrap().0).collect();
    assert!(back.iter().rev().eq(got.iter().map(|g| &g.0)), "txid {}: reverse iteration", tx.id());
}

/// Readers pinned at txids 5, 10, 15, ... keep re-verifying their snapshot
/// while the writer commits 60 transactions that rewrite, delete and reuse
/// the pages those snapshots see. After every commit the writer waits until
/// every live reader has completed a full verification that started after
/// that commit was published, so each snapshot is proven intact after every
/// later commit (and page reuse), not just at the end.
#[test]
fn pinned_readers_keep_their_snapshot_while_the_writer_commits() {
    let s = seed(0xC0C0_0001);
    let _g = SeedGuard::new("pinned_readers_keep_their_snapshot_while_the_writer_commits", s);
    pinned_readers(Options::new(), s);
}

/// The same under `Batched`: the durable snapshot moves on in the
/// background, so the horizon that frees pages is the oldest of it and the
/// readers, and a sync must never release pages a reader still sees.
#[test]
fn pinned_readers_keep_their_snapshot_under_batched_sync() {
    let s = seed(0xC0C0_0003);
    let _g = SeedGuard::new("pinned_readers_keep_their_snapshot_under_batched_sync", s);
    pinned_readers(Options::new().sync_mode(SyncMode::Batched(Duration::from_millis(2))).unwrap(), s);
}

fn pinned_readers(opts: Options, s: u64) {
    let t = TestDb::new(opts);
    let db = t.db().clone();
    let mut rng = Rng::new(s);
    let mut model = Model::new();
    let epoch = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers: Vec<(Arc<AtomicU64>, thread::JoinHandle<u64>)> = Vec::new();
    for txid in 1..=60u64 {
        let mut tx = db.begin_write().unwrap();
        assert_eq!(tx.id(), txid);
        random_txn(&mut rng, txid, &mut tx, &mut model);
        tx.commit().unwrap();
        epoch.store(txid, Ordering::SeqCst);
        if txid % 5 == 0 && txid <= 40 {
            // Begun here, before the next commit, so it is pinned at `txid`.
            let rtx = db.begin_read().unwrap();
            assert_eq!(rtx.id(), txid);
            let want = model.clone();
            let done = Arc::new(AtomicU64::new(0));
            let (epoch, stop, done2) = (epoch.clone(), stop.clone(), done.clone());
            readers.push((
                done,
                thread::spawn(move || {
                    let mut passes = 0;
                    loop {
                        let seen = epoch.load(Ordering::SeqCst);
                        let stopping = stop.load(Ordering::SeqCst);
                        verify_snapshot(&rtx, &want);
                        passes += 1;
                        done2.store(seen, Ordering::SeqCst);
                        if stopping {
                            return passes;
                        }
                    }
                }),
            ));
        }
        for (done, h) in &readers {
            while done.load(Ordering::SeqCst) < txid {
                assert!(!h.is_finished(), "a reader failed (see its panic above)");
                thread::yield_now();
            }
        }
    }
    stop.store(true, Ordering::SeqCst);
    for (_, h) in readers {
        assert!(h.join().expect("reader thread") > 1);
    }
    assert_eq!(db.stat().unwrap().reader_count, 0);
    verify_snapshot(&db.begin_read().unwrap(), &model);
}

/// The writer keeps every key equal to the txid that wrote it: in txn t all
/// 300 keys become t. Sixteen reader threads open short transactions in a
/// loop; each must see one txid everywhere (never a mix of two commits), a
/// txid equal to its `ReadTx::id()`, and txids that never go backwards.
#[test]
fn many_readers_on_many_threads_see_whole_commits() {
    fn assert_shareable<T: Send + Sync>() {}
    assert_shareable::<Database>();
    let t = TestDb::new(Options::new());
    let db = t.db().clone();
    let n_keys = 300u64;
    let mut tx = db.begin_write().unwrap();
    for i in 0..n_keys {
        tx.put(&key(i), &1u64.to_le_bytes()).unwrap();
    }
    tx.commit().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(18));
    // The full integrity check reads a snapshot's tree and freelist pages
    // while the writer frees and reuses pages: they must stay intact too.
    let (db2, stop2, start2) = (db.clone(), stop.clone(), start.clone());
    let checker = thread::spawn(move || {
        start2.wait();
        let mut checks = 0;
        while !stop2.load(Ordering::SeqCst) || checks == 0 {
            assert_eq!(db2.check().unwrap().keys, n_keys);
            checks += 1;
        }
    });
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let (db, stop, start) = (db.clone(), stop.clone(), start.clone());
            thread::spawn(move || {
                start.wait();
                let (mut last, mut distinct, mut n) = (0u64, 0u64, 0u64);
                while !stop.load(Ordering::SeqCst) || n < 20 {
                    let tx = db.begin_read().unwrap();
                    let id = tx.id();
                    assert!(id >= last, "snapshot went backwards: {id} after {last}");
                    distinct += (id != last) as u64;
                    last = id;
                    let mut count = 0;
                    for item in tx.iter() {
                        let (_, v) = item.unwrap();
                        assert_eq!(u64::from_le_bytes(v.try_into().unwrap()), id, "mixed snapshot");
                        count += 1;
                    }
                    assert_eq!(count, n_keys);
                    n += 1;
                }
                distinct
            })
        })
        .collect();
    start.wait();
    for txid in 2..=80u64 {
        let mut tx = db.begin_write().unwrap();
        for i in 0..n_keys {
            tx.put(&key(i), &txid.to_le_bytes()).unwrap();
        }
        tx.commit().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    for r in readers {
        assert!(r.join().expect("reader thread") >= 1);
    }
    checker.join().expect("check thread");
    assert_eq!(db.stat().unwrap().reader_count, 0);
    assert_eq!(db.begin_read().unwrap().get(&key(0)).unwrap(), Some(&80u64.to_le_bytes()[..]));
}

/// A second `begin_write` on another thread waits for the first writer. Proof
/// by data: the second writer's base must contain the first one's commit
/// (its id is one higher and it reads the committed value). Had it started
/// alongside the first, both would have had the same id.
#[test]
fn second_writer_on_another_thread_blocks_until_the_first_ends() {
    let t = TestDb::new(Options::new());
    let db = t.db().clone();
    let mut first = db.begin_write().unwrap();
    let first_id = first.id();
    first.put(b"owner", b"first").unwrap();
    let (about_to_begin, waiting) = mpsc::channel();
    let db2 = db.clone();
    let second = thread::spawn(move || {
        about_to_begin.send(()).unwrap();
        let mut tx = db2.begin_write().unwrap();
        let seen = tx.get(b"owner").unwrap().map(<[u8]>::to_vec);
        let id = tx.id();
        tx.put(b"owner", b"second").unwrap();
        tx.commit().unwrap();
        (id, seen)
    });
    waiting.recv().unwrap();
    // Only widens the window in which the second writer sits in begin_write;
    // the assertions below hold whatever the scheduling.
    thread::sleep(Duration::from_millis(50));
    assert!(!second.is_finished(), "the second writer got past begin_write while the first was open");
    first.commit().unwrap();
    let (second_id, seen) = second.join().unwrap();
    assert_eq!(second_id, first_id + 1);
    assert_eq!(seen.as_deref(), Some(&b"first"[..]));
    let r = db.begin_read().unwrap();
    assert_eq!((r.id(), r.get(b"owner").unwrap()), (first_id + 1, Some(&b"second"[..])));
}

/// `try_begin_write` never waits: `Busy` from any thread while a writer is
/// open, success once it ended (commit or rollback).
#[test]
fn try_begin_write_is_busy_while_another_writer_is_open() {
    let t = TestDb::new(Options::new());
    let db = t.db().clone();
    for end_with_commit in [true, false] {
        let mut w = db.begin_write().unwrap();
        w.put(b"k", b"v").unwrap();
        let db2 = db.clone();
        let other = thread::spawn(move || db2.try_begin_write().map(|_| ()).unwrap_err().kind());
        assert_eq!(other.join().unwrap(), ErrorKind::Busy);
        if end_with_commit {
            w.commit().unwrap();
        } else {
            w.abort();
        }
        let db2 = db.clone();
        let id = thread::spawn(move || db2.try_begin_write().map(|tx| tx.id())).join().unwrap().unwrap();
        assert_eq!(id, 2, "one commit so far, the rollback used no txid");
    }
}

/// The same thread asking for a second write transaction gets `Busy` from
/// both calls instead of deadlocking on itself. Run on a helper thread so a
/// deadlock shows up as a timeout here rather than a hung test binary.
#[test]
fn same_thread_asking_twice_gets_busy_not_a_deadlock() {
    let t = TestDb::new(Options::new());
    let db = t.db().clone();
    let (tx_done, done) = mpsc::channel();
    thread::spawn(move || {
        let mut w = db.begin_write().unwrap();
        w.put(b"a", b"1").unwrap();
        let blocking = db.begin_write().map(|_| ()).unwrap_err().kind();
        let nowait = db.try_begin_write().map(|_| ()).unwrap_err().kind();
        // The open transaction is unaffected by the refused calls.
        w.put(b"b", b"2").unwrap();
        w.commit().unwrap();
        let again = db.begin_write().map(|tx| tx.id());
        tx_done.send((blocking, nowait, again.map_err(|e| e.kind()))).unwrap();
    });
    let (blocking, nowait, again) = done.recv_timeout(Duration::from_secs(20)).expect("deadlock: no answer in 20 s");
    assert_eq!((blocking, nowait), (ErrorKind::Busy, ErrorKind::Busy));
    assert_eq!(again, Ok(2));
    let r = t.db().begin_read().unwrap();
    assert_eq!((r.get(b"a").unwrap(), r.get(b"b").unwrap()), (Some(&b"1"[..]), Some(&b"2"[..])));
}

fn assert_send<T: Send>() {}

/// Write transactions are `Send`: begun on one thread, written on a second,
/// committed on a third. While it travels it still excludes other writers.
#[test]
fn write_transaction_moves_between_threads() {
    assert_send::<WriteTx>();
    assert_send::<ReadTx>();
    let t = TestDb::new(Options::new());
    let db = t.db().clone();
    let db2 = db.clone();
    let w = thread::spawn(move || {
        let mut w = db2.begin_write().unwrap();
        w.put(b"from", b"thread 1").unwrap();
        let b = w.create_bucket(None, b"bucket").unwrap();
        w.put_in(&b, b"k1", b"v1").unwrap();
        w
    })
    .join()
    .unwrap();
    assert_eq!(db.try_begin_write().map(|_| ()).unwrap_err().kind(), ErrorKind::Busy);
    let w = thread::spawn(move || {
        let mut w = w;
        assert_eq!(w.get(b"from").unwrap(), Some(&b"thread 1"[..]));
        let b = w.bucket(None, b"bucket").unwrap().expect("bucket created on thread 1");
        w.put_in(&b, b"k2", b"v2").unwrap();
        w.put(b"to", b"thread 2").unwrap();
        w
    })
    .join()
    .unwrap();
    thread::spawn(move || w.commit().unwrap()).join().unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.id(), 1);
    assert_eq!(r.get(b"to").unwrap(), Some(&b"thread 2"[..]));
    let b = r.bucket(None, b"bucket").unwrap().unwrap();
    let items: Vec<_> = r.iter_in(&b).map(|i| i.unwrap()).collect();
    assert_eq!(items, vec![(&b"k1"[..], &b"v1"[..]), (&b"k2"[..], &b"v2"[..])]);
    drop(r);
    assert_eq!(db.begin_write().unwrap().id(), 2, "the writer slot was released by the commit");
}

/// Bug: a write transaction moved to another thread, whose thread then
/// asked for a checkpoint of a logged database, waited for itself for ever
/// (the checkpoint waited for the writer slot). With a log a checkpoint
/// waits for no transaction: the log keeps the commits after the meta it
/// makes durable. Run on a helper thread so a wait for itself shows up as a
/// timeout here rather than a hung test binary.
#[test]
fn a_moved_write_transactions_thread_checkpoints_a_logged_database() {
    let t = TestDb::new(Options::new().wal(true).sync_mode(SyncMode::None).unwrap());
    let db = t.db().clone();
    // A weak-mode commit leaves its free-set change for the checkpoint.
    let mut w = db.begin_write().unwrap();
    w.put(b"deferred", b"free set").unwrap();
    w.commit().unwrap();
    let db2 = db.clone();
    let w = thread::spawn(move || db2.begin_write().unwrap()).join().unwrap();
    let (tx_done, done) = mpsc::channel();
    thread::spawn(move || {
        let mut w = w;
        let untouched = db.checkpoint().map_err(|e| e.kind());
        w.put(b"moved", b"here").unwrap();
        let written = db.checkpoint().map_err(|e| e.kind());
        w.commit().unwrap();
        tx_done.send((untouched, written)).unwrap();
    });
    let got = done.recv_timeout(Duration::from_secs(20)).expect("a thread waits for itself: no answer in 20 s");
    assert_eq!(got, (Ok(()), Ok(())));
    let mut t = t;
    t.reopen();
    assert_eq!(contents(t.db()).get(&b"moved"[..]).map(Vec::as_slice), Some(&b"here"[..]));
}

/// A thread that wrote in the write transaction and handed it on waits
/// for it like any other thread; only the thread that began it is `Busy`.
/// (A record of the last thread that made a call on the transaction told
/// such a thread `Busy` at once; Go's goroutines, which share threads,
/// failed most of their blocking begins with it.)
#[test]
fn a_thread_that_handed_the_write_transaction_on_waits_for_it() {
    let t = TestDb::new(Options::new());
    let db = t.db().clone();
    let mut w = db.begin_write().unwrap();
    w.put(b"owner", b"committed").unwrap();
    let (tx_back, back) = mpsc::channel();
    let helper = thread::spawn(move || {
        w.put(b"helper", b"wrote").unwrap();
        tx_back.send(w).unwrap();
        // Waits until the owner commits.
        let mine = db.begin_write().map_err(|e| e.kind())?;
        Ok::<_, ErrorKind>(mine.get(b"helper").unwrap().map(<[u8]>::to_vec))
    });
    let w = back.recv().unwrap();
    thread::sleep(Duration::from_millis(20));
    w.commit().unwrap();
    assert_eq!(helper.join().unwrap(), Ok(Some(b"wrote".to_vec())), "the helper's begin came after the commit");
}

/// Ten rounds of: commit random changes (keys and a nested bucket), close,
/// reopen, compare everything with the model. `TestDb::reopen` also runs the
/// integrity check after every reopen.
#[test]
fn reopen_after_each_commit_preserves_everything() {
    let s = seed(0xC0C0_0002);
    let _g = SeedGuard::new("reopen_after_each_commit_preserves_everything", s);
    let mut rng = Rng::new(s);
    let mut t = TestDb::new(Options::new());
    let (mut model, mut inner) = (Model::new(), Model::new());
    for round in 1..=10u64 {
        let mut tx = t.db().begin_write().unwrap();
        random_txn(&mut rng, round, &mut tx, &mut model);
        let outer = tx.create_bucket_if_missing(None, b"outer").unwrap();
        let b = tx.create_bucket_if_missing(Some(&outer), b"inner").unwrap();
        for _ in 0..20 {
            let (klen, vlen) = (rng.range(1, 40) as usize, rng.range(0, 3000) as usize);
            let (k, v) = (rng.bytes(klen), rng.bytes(vlen));
            tx.put_in(&b, &k, &v).unwrap();
            inner.insert(k, v);
        }
        assert_eq!(tx.id(), round);
        tx.commit().unwrap();
        t.reopen();
        let r = t.db().begin_read().unwrap();
        assert_eq!(r.id(), round, "reopen lost a commit");
        verify_snapshot(&r, &model);
        let outer = r.bucket(None, b"outer").unwrap().unwrap();
        let b = r.bucket(Some(&outer), b"inner").unwrap().unwrap();
        let got: Model = r.iter_in(&b).map(|i| i.unwrap()).map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
        assert_eq!(got, inner, "round {round}");
        let st = t.db().stat().unwrap();
        assert_eq!((st.last_txid, st.key_count, st.bucket_count), (round, model.len() as u64, 2));
    }
}

/// A write transaction whose thread panics is rolled back as it unwinds and
/// the writer slot is released: the next writer starts from the last commit.
#[test]
fn panicking_writer_thread_releases_the_writer() {
    let t = TestDb::new(Options::new());
    let db = t.db().clone();
    let mut tx = db.begin_write().unwrap();
    tx.put(b"kept", b"1").unwrap();
    tx.commit().unwrap();
    let db2 = db.clone();
    let r = thread::spawn(move || {
        let mut tx = db2.begin_write().unwrap();
        tx.put(b"lost", b"2").unwrap();
        panic!("writer thread dies with its transaction open");
    })
    .join();
    assert!(r.is_err());
    let tx = db.try_begin_write().expect("the dead thread's transaction must have released the writer");
    assert_eq!(tx.id(), 2);
    assert_eq!((tx.get(b"kept").unwrap(), tx.get(b"lost").unwrap()), (Some(&b"1"[..]), None));
}

/// Transactions keep the database alive: dropping the last `Database`
/// handle while a read transaction is open leaves that transaction working,
/// and the file is released (a new read-write open succeeds) once it ends.
#[test]
fn transactions_outlive_the_last_database_handle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outlive.db");
    let db = Database::open(&path).unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.put(b"k", &[9u8; 5000]).unwrap();
    tx.commit().unwrap();
    let r = db.begin_read().unwrap();
    drop(db);
    let reader = thread::spawn(move || {
        assert_eq!(r.get(b"k").unwrap(), Some(&[9u8; 5000][..]));
        assert_eq!(r.iter().count(), 1);
    });
    reader.join().unwrap();
    let db = Database::open(&path).expect("the file is released once the last transaction ended");
    db.check().unwrap();
}
