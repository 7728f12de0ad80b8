//! A failed log fsync under group commit: the commit waiting on it fails
//! with THUNDER_IO, the database refuses writes from then on (`Poisoned`),
//! readers keep the last published state, and a reopen replays the log: the
//! failed commit is there whole or not at all (its records may have reached
//! the disk before the sync failed), never in part. A failed append (its
//! write, or the old segment's fsync in the rotation before it) poisons the
//! same way, and a commit waiting for a sync that the failure may have
//! undone is not acknowledged. A failure to create the new segment (after
//! the old one is synced) fails only its commit.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::error::ErrorKind;
use crate::options::Options;
use crate::storage::{Fault, IoBackend, ReadOp, Step, WriteOp};
use crate::tests::support::{copy_as_killed, open_fault_wal, FaultWal};
use crate::Database;

fn commit(db: &Database, key: &[u8]) -> crate::error::Result<()> {
    let mut w = db.begin_write()?;
    w.put(key, b"first half")?;
    w.put(&[key, b"-twin"].concat(), b"second half")?;
    w.commit()
}

#[test]
fn a_failed_log_sync_fails_its_commit_poisons_and_reopen_recovers_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("poison.db");
    let opts = Options::new().wal(true);
    {
        let fw = open_fault_wal(&path, opts.clone()).unwrap();
        commit(&fw.db, b"a").unwrap();
        // A commit of the same shape, to count its steps: the last is the log sync.
        let before = fw.clock.steps();
        commit(&fw.db, b"b").unwrap();
        let n = fw.clock.steps() - before;
        assert_eq!(fw.clock.trace().last(), Some(&Step::Sync), "a logged commit ends with the log sync");
        fw.clock.arm(n, Fault::Fail(libc::EIO));
        let e = commit(&fw.db, b"c").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
        assert_eq!(fw.clock.trace().last(), Some(&Step::Sync), "the failed step was the log sync");
        let again = fw.db.begin_write().map(drop).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Io);
        assert!(again.to_string().contains("reopen"), "{again}");
        let r = fw.db.begin_read().unwrap();
        assert!(r.get(b"b").unwrap().is_some());
        assert_eq!(r.get(b"c").unwrap(), None, "readers never saw the failed commit");
    }
    let db = Database::open_with_options(&path, opts).unwrap();
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    assert!(r.get(b"a").unwrap().is_some() && r.get(b"b").unwrap().is_some());
    assert_eq!(
        r.get(b"c").unwrap().is_some(),
        r.get(b"c-twin").unwrap().is_some(),
        "the failed commit came back in part"
    );
}

/// 1 MiB segments, no checkpoint by time.
fn rotating() -> Options {
    Options::new().wal(true).wal_segment_size(1 << 20).unwrap().checkpoint_interval(Duration::from_secs(3600))
}

fn put(db: &Database, k: &[u8], v: &[u8]) -> crate::error::Result<()> {
    let mut w = db.begin_write()?;
    w.put(k, v)?;
    w.commit()
}

/// A log with a 600 KB commit in segment 0, then commit A landed (waiting
/// for its sync), then commit B of 600 KB, which rotates: B's steps counted
/// from its start fail at step `arm` with `fault` (None: a dry run). Returns
/// the log, B's outcome, A's publish and B's steps.
fn rotation_with(
    path: &std::path::Path,
    arm: Option<(u64, Fault)>,
) -> (FaultWal, crate::error::Result<()>, crate::error::Result<()>, Vec<Step>) {
    let fw = open_fault_wal(path, rotating()).unwrap();
    put(&fw.db, b"fill", &vec![7u8; 600_000]).unwrap();
    let mut a = fw.db.begin_write().unwrap();
    a.put(b"A", b"landed").unwrap();
    let publish_a = a.commit_until_landed().unwrap();
    let before = fw.clock.steps() as usize;
    if let Some((k, fault)) = arm {
        fw.clock.arm(k, fault);
    }
    let b = put(&fw.db, b"B", &vec![9u8; 600_000]);
    let steps = fw.clock.trace()[before..].to_vec();
    let a = publish_a();
    (fw, b, a, steps)
}

/// Bug: the fsync of the old segment in a rotation failed; the rotating
/// commit failed with Io but nothing was poisoned, and commit A, whose
/// records that fsync covered, was then acknowledged by a later sync of the
/// same file (which succeeds: the failed writes are clean pages by then).
#[test]
fn a_failed_fsync_in_a_rotation_poisons_and_acknowledges_nothing_it_covered() {
    let dir = tempfile::tempdir().unwrap();
    let (_, b, a, steps) = rotation_with(&dir.path().join("dry.db"), None);
    b.unwrap();
    a.unwrap();
    let first_sync = steps.iter().position(|s| *s == Step::Sync).expect("B's rotation syncs") as u64 + 1;
    let (fw, b, a, _) = rotation_with(&dir.path().join("r.db"), Some((first_sync, Fault::Fail(libc::EIO))));
    assert_eq!(b.unwrap_err().kind(), ErrorKind::Io);
    assert!(a.is_err(), "A was acknowledged after the fsync covering its records failed");
    assert!(put(&fw.db, b"C", b"after").is_err(), "a failed rotation fsync left the database writable");
}

/// Bug: a failed segment creation (its header write) left the file behind,
/// and every later rotation failed with 'File exists'. The file goes now.
///
/// Bug: the failure then poisoned the database, although the old segment
/// was synced and nothing was lost: a review met it with too many files
/// open (EMFILE creating the segment) and with a full disk, and every later
/// commit, checkpoint and close failed until a reopen. Now only the commit
/// that rotated fails; commit A, whose records the old segment's fsync
/// covered, is acknowledged, and the next rotation works.
#[test]
fn a_failed_segment_creation_fails_only_its_commit_and_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, _, steps) = rotation_with(&dir.path().join("dry.db"), None);
    let header =
        steps.iter().position(|s| *s == Step::Write { offset: 0, len: 32 }).expect("the header write") as u64 + 1;
    let path = dir.path().join("h.db");
    let (fw, b, a, _) = rotation_with(&path, Some((header, Fault::Fail(libc::ENOSPC))));
    assert_eq!(b.unwrap_err().kind(), ErrorKind::NoSpace);
    a.expect("A's records were synced by the rotation before the failure");
    assert!(!std::path::PathBuf::from(format!("{}.wal", path.display())).join("00000001.wal").exists());
    put(&fw.db, b"B2", &vec![2u8; 600_000]).expect("the next commit rotates");
    fw.db.checkpoint().expect("a checkpoint after the failure");
    assert!(fw.db.stat().unwrap().wal_end_lsn >> 32 >= 1, "the log rotated");
    let FaultWal { db, clock, data, segments } = fw;
    drop((clock, data, segments)); // their descriptors hold the file lock
    db.close().map_err(|e| e.error).unwrap();
    let db = Database::open_with_options(&path, rotating()).unwrap();
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.get(b"A").unwrap(), Some(&b"landed"[..]));
    assert_eq!(r.get(b"B").unwrap(), None, "the failed commit rolled back");
    assert_eq!(r.get(b"B2").unwrap().map(|v| v.len()), Some(600_000));
}

/// A commit of `ghost` after `base`, failing after doing its step `arm`
/// (None: a dry run); its steps, its outcome, the open log.
fn ghost_commit(path: &std::path::Path, arm: Option<u64>) -> (Vec<Step>, crate::error::Result<()>, FaultWal) {
    let fw = open_fault_wal(path, rotating()).unwrap();
    put(&fw.db, b"base", b"v").unwrap();
    let before = fw.clock.steps() as usize;
    if let Some(k) = arm {
        fw.clock.arm(k, Fault::FailAfter(libc::EIO));
    }
    let res = put(&fw.db, b"ghost", b"rolled back");
    (fw.clock.trace()[before..].to_vec(), res, fw)
}

/// Closes `fw` and opens its file again.
fn reopen(fw: FaultWal, path: &std::path::Path) -> Database {
    let FaultWal { db, clock, data, segments } = fw;
    drop((clock, data, segments)); // their descriptors hold the file lock
    let _ = db.close();
    Database::open_with_options(path, rotating()).unwrap()
}

/// Opens the files a kill would leave of `fw` now (its data file and log
/// directory as they are), so that the open replays the log.
fn reopen_killed(fw: FaultWal, path: &std::path::Path) -> Database {
    let image = path.with_extension("killed");
    copy_as_killed(path, &image);
    drop(fw);
    Database::open_with_options(&image, rotating()).unwrap()
}

/// The steps of `ghost_commit` (a dry run in `dir`): its log append and its
/// first page write after it (`append_and_page_write`).
fn ghost_steps(dir: &std::path::Path) -> (u64, u64) {
    let (steps, res, _) = ghost_commit(&dir.join("dry.db"), None);
    res.unwrap();
    append_and_page_write(&steps)
}

/// A logged commit's steps: its log append (the first write, not a page's)
/// and its first page write after it, counted from 1.
fn append_and_page_write(steps: &[Step]) -> (u64, u64) {
    let is_append = |s: &Step| matches!(s, Step::Write { len, .. } if len % 4096 != 0);
    let append = steps.iter().position(is_append).expect("the log append");
    let page =
        append + steps[append..].iter().position(|s| matches!(s, Step::Write { len: 4096, .. })).expect("a page");
    (append as u64 + 1, page as u64 + 1)
}

/// Bug: a log append whose write failed after landing (an `IoBackend` may
/// fail with some of a batch written) left a whole transaction just past
/// the log's end; the commit reported an error and rolled back, and a clean
/// close and reopen replayed it.
#[test]
fn a_failed_append_that_landed_does_not_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let (append, _) = ghost_steps(dir.path());
    let path = dir.path().join("g.db");
    let (_, res, fw) = ghost_commit(&path, Some(append));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::Io);
    assert_eq!(fw.db.begin_read().unwrap().get(b"ghost").unwrap(), None);
    let db = reopen(fw, &path);
    let r = db.begin_read().unwrap();
    assert_eq!(r.get(b"base").unwrap(), Some(&b"v"[..]));
    assert_eq!(r.get(b"ghost").unwrap(), None, "a commit that returned an error came back");
}

/// A logged commit appends its records before it writes its pages (so the
/// disk writes them meanwhile). A page write failing after the append
/// fails the commit and drops it from the log (a TxAbort over its
/// TxCommit, synced): it does not come back at the next open, though the
/// records were synced, and the database goes on; the next commit, which
/// takes the same txid, does come back.
#[test]
fn a_page_write_failing_after_the_append_drops_the_commit_from_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let (append, page) = ghost_steps(dir.path());
    assert!(append < page, "the records are appended before the pages are written");
    let path = dir.path().join("p.db");
    let (steps, res, fw) = ghost_commit(&path, Some(page));
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    let after: Vec<_> = steps[page as usize..].to_vec();
    assert!(
        matches!(after.as_slice(), [Step::Write { len, .. }, Step::Sync, ..] if *len < 4096),
        "the TxCommit was overwritten and the log synced: {after:?}"
    );
    assert_eq!(fw.db.begin_read().unwrap().get(b"ghost").unwrap(), None);
    put(&fw.db, b"after", b"w").expect("a retracted commit leaves the database writable");
    let db = reopen_killed(fw, &path);
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.get(b"base").unwrap(), Some(&b"v"[..]));
    assert_eq!(r.get(b"ghost").unwrap(), None, "a commit that returned an error came back");
    assert_eq!(r.get(b"after").unwrap(), Some(&b"w"[..]));
}

/// Review: a page write failing after the append, and the retraction
/// failing too (here: the power is cut at that page write, so every later
/// step fails). The commit's error said only "write pages failed", though
/// the database was poisoned and the commit could come back at the next
/// open. It says so now.
#[test]
fn a_failed_retraction_says_the_database_is_poisoned_and_the_commit_may_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let (_, page) = ghost_steps(dir.path());
    let fw = open_fault_wal(&dir.path().join("c.db"), rotating()).unwrap();
    put(&fw.db, b"base", b"v").unwrap();
    fw.clock.arm(page, Fault::Cut);
    let e = put(&fw.db, b"ghost", b"rolled back").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
    let msg = e.to_string();
    assert!(msg.contains("write pages") && msg.contains("may come back whole") && msg.contains("reopen"), "{msg}");
    let again = fw.db.begin_write().map(drop).unwrap_err();
    assert!(again.to_string().contains("reopen"), "{again}");
}

/// A full disk met growing the data file for a commit's pages, after the
/// commit appended its records: the commit fails with NoSpace, drops
/// itself from the log, and the database goes on.
#[test]
fn a_full_disk_growing_the_file_after_the_append_fails_only_that_commit() {
    let dir = tempfile::tempdir().unwrap();
    let run = |path: &std::path::Path, arm: Option<u64>| {
        // Segments large enough for the commit: the log grows before its
        // append, so the first growth after the append is the data file's.
        let opts = rotating().wal_segment_size(64 << 20).unwrap();
        let fw = open_fault_wal(path, opts).unwrap();
        put(&fw.db, b"base", b"v").unwrap();
        let before = fw.clock.steps() as usize;
        if let Some(k) = arm {
            fw.clock.arm(k, Fault::Fail(libc::ENOSPC));
        }
        // Enough pages that the commit grows the file once for them all.
        let mut w = fw.db.begin_write().unwrap();
        for i in 0..50_000u32 {
            w.put(format!("big{i:08}").as_bytes(), &[5u8; 100]).unwrap();
        }
        let res = w.commit();
        (fw.clock.trace()[before..].to_vec(), res, fw)
    };
    let (steps, res, _) = run(&dir.path().join("dry.db"), None);
    res.unwrap();
    let (append, _) = append_and_page_write(&steps);
    let grow = steps.iter().skip(append as usize).position(|s| matches!(s, Step::Grow(_))).expect("the file grows")
        as u64
        + append
        + 1;
    let path = dir.path().join("n.db");
    let (_, res, fw) = run(&path, Some(grow));
    let e = res.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NoSpace, "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "not the data file's growth: {e}");
    put(&fw.db, b"after", b"w").expect("a full disk after the append leaves the database writable");
    let db = reopen_killed(fw, &path);
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.get(b"big00000000").unwrap(), None, "the failed commit came back");
    assert_eq!(r.get(b"after").unwrap(), Some(&b"w"[..]));
}

/// A full disk met allocating the log ahead of an append leaves the log as
/// it was: that commit fails with NoSpace and rolls back, the database is
/// not poisoned, and the next commits go on (and survive a reopen).
#[test]
fn a_full_disk_allocating_the_log_fails_only_that_commit() {
    let dir = tempfile::tempdir().unwrap();
    let run = |path: &std::path::Path, arm: Option<u64>| {
        let fw = open_fault_wal(path, Options::new().wal(true)).unwrap();
        put(&fw.db, b"fill", &vec![7u8; 600_000]).unwrap();
        let before = fw.clock.steps() as usize;
        if let Some(k) = arm {
            fw.clock.arm(k, Fault::Fail(libc::ENOSPC));
        }
        let res = put(&fw.db, b"B", &vec![9u8; 600_000]);
        (fw.clock.trace()[before..].to_vec(), res, fw)
    };
    let (steps, res, _) = run(&dir.path().join("dry.db"), None);
    res.unwrap();
    // The log's allocation comes after the data file's (pages, then the append).
    let grow = steps.iter().rposition(|s| matches!(s, Step::Grow(_))).expect("the log grows") as u64 + 1;
    let path = dir.path().join("full.db");
    let (_, res, fw) = run(&path, Some(grow));
    assert_eq!(res.unwrap_err().kind(), ErrorKind::NoSpace);
    put(&fw.db, b"C", b"after").expect("the database goes on after a full disk at the log");
    put(&fw.db, b"B", &vec![9u8; 600_000]).expect("the same commit, the disk having room again");
    let FaultWal { db, clock, data, segments } = fw;
    drop((clock, data, segments));
    db.close().map_err(|e| e.error).unwrap();
    let db = Database::open_with_options(&path, Options::new().wal(true)).unwrap();
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.get(b"C").unwrap(), Some(&b"after"[..]));
    assert_eq!(r.get(b"B").unwrap().map(|v| v.len()), Some(600_000));
}

/// What happened, in order; the gate's condvar; whether it is open.
type GateState = Arc<(Mutex<Vec<&'static str>>, Condvar, Mutex<bool>)>;

/// A segment backend whose fsync from the thread named "A" waits at a gate
/// and whose fsyncs from "B" fail with EIO; it records the order.
#[derive(Debug)]
struct SegGate {
    inner: crate::storage::SyncIo,
    st: GateState,
}

impl IoBackend for SegGate {
    fn name(&self) -> &'static str {
        "seg-gate"
    }
    fn write_batch(&self, ops: &[WriteOp<'_>]) -> std::io::Result<()> {
        self.inner.write_batch(ops)
    }
    fn read_batch(&self, ops: &mut [ReadOp<'_>]) -> std::io::Result<()> {
        self.inner.read_batch(ops)
    }
    fn grow(&self, len: u64) -> std::io::Result<()> {
        self.inner.grow(len)
    }
    fn sync(&self) -> std::io::Result<()> {
        let (events, cv, open) = &*self.st;
        match std::thread::current().name() {
            Some("A") => {
                events.lock().unwrap().push("A syncs");
                cv.notify_all();
                drop(cv.wait_while(open.lock().unwrap(), |o| !*o).unwrap());
                let r = self.inner.sync();
                events.lock().unwrap().push("A synced");
                r
            }
            Some("B") => {
                events.lock().unwrap().push("B's fsync failed");
                Err(std::io::Error::from_raw_os_error(libc::EIO))
            }
            _ => self.inner.sync(),
        }
    }
}

/// Bug: a group-commit leader's log sync that began before a rotation's
/// fsync of the same segment failed, and returned after it, took its own
/// success for durability (the kernel reports a writeback error once): the
/// landed commit it covered was acknowledged. Segment fsyncs are now
/// serialised and a sync after a failed one does not count.
#[test]
fn a_log_sync_overlapping_a_failed_rotation_fsync_acknowledges_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let st: GateState = Arc::new((Mutex::new(Vec::new()), Condvar::new(), Mutex::new(false)));
    let seg_st = st.clone();
    let segments: crate::wal::SegmentIo =
        Arc::new(move |f: std::fs::File| -> crate::error::Result<Arc<dyn IoBackend>> {
            Ok(Arc::new(SegGate { inner: crate::storage::SyncIo::new(f, 1 << 16), st: seg_st.clone() }))
        });
    let db = Database::open_with_backends(
        &dir.path().join("g.db"),
        rotating(),
        &crate::env::Env::default_backend,
        Some(segments),
    )
    .unwrap();
    let db = Arc::new(db);
    put(&db, b"fill", &vec![7u8; 600_000]).unwrap();
    let mut a = db.begin_write().unwrap();
    a.put(b"A", b"landed").unwrap();
    let publish_a = a.commit_until_landed().unwrap();
    let a = std::thread::Builder::new().name("A".into()).spawn(publish_a).unwrap();
    drop(st.1.wait_while(st.0.lock().unwrap(), |e| e.is_empty()).unwrap());
    let b = {
        let db = db.clone();
        std::thread::Builder::new().name("B".into()).spawn(move || put(&db, b"B", &vec![9u8; 600_000])).unwrap()
    };
    std::thread::sleep(Duration::from_millis(200));
    *st.2.lock().unwrap() = true;
    st.1.notify_all();
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    let events = st.0.lock().unwrap().clone();
    assert!(b.is_err(), "{events:?}");
    let failed_first =
        events.iter().position(|e| *e == "B's fsync failed") < events.iter().position(|e| *e == "A synced");
    assert!(!(failed_first && a.is_ok()), "A acknowledged though the fsync covering its records failed: {events:?}");
}
