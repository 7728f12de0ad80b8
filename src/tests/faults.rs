//! One I/O step fails (EIO or ENOSPC), either before doing anything or after
//! doing its work (a write that landed), and everything after it works: the
//! error must surface with the right kind, nobody may see a half-done
//! transaction, and what happens next depends on the step:
//!
//! * a write or a grow: the transaction rolls back (new readers see what
//!   they saw before), the database stays usable, and T retried commits;
//! * an fsync: pages written since the last good fsync are suspect, so the
//!   database is poisoned: later write transactions and syncs fail with kind
//!   Io, reads still work. On disk the outcome is S0, or S1 when the failed
//!   fsync was the one after the meta write (the meta reached the page cache);
//! * the meta write of a `Full` commit: poisoned too, since the rolled-back
//!   commit's meta may have landed (see `DbInner::commit_durable`); on disk
//!   S1 if it did, else S0. The meta write of `sync` leaves the database
//!   usable: the commit stays published and a retried sync makes it durable.
//!
//! The unit is T under `SyncMode::Full`, or T then `sync` under `None`.

use std::time::Instant;

use crate::error::{Error, ErrorKind};
use crate::options::SyncMode;
use crate::storage::{Fault, Step};
use crate::tests::support::{open_fault, test_seed, Guard, Rng};
use crate::tests::workload::{diff, dump, run_txn, Fixture, State};

/// Runs T (and the sync, in the weak mode): the first error, and whether
/// T's commit returned Ok.
fn run(db: &crate::Database, fx: &Fixture, mode: SyncMode) -> (bool, Option<Error>) {
    if let Err(e) = run_txn(db, &fx.t) {
        return (false, Some(e));
    }
    if mode != SyncMode::Full {
        if let Err(e) = db.sync() {
            return (true, Some(e));
        }
    }
    (true, None)
}

fn assert_state(got: &State, want: &State, when: &str) {
    assert!(got == want, "{when}: {}", diff(got, want));
}

/// One fault (`Fail` or `FailAfter`) to try at every step of the unit.
struct Case {
    fx: Fixture,
    mode: SyncMode,
    fault: Fault,
    /// The unarmed run's steps, and the step number of its meta write.
    trace: Vec<Step>,
    meta: u64,
    /// Steps taken by open, before the unit.
    base: usize,
}

impl Case {
    fn new(page_size: u32, mode: SyncMode, fault: Fault, seed: u64) -> Case {
        let fx = Fixture::new(page_size, seed);
        fx.restore();
        let (db, fio) = open_fault(&fx.path, fx.opts(mode)).unwrap();
        let base = fio.steps() as usize;
        let (_, err) = run(&db, &fx, mode);
        assert!(err.is_none(), "unarmed: {err:?}");
        let trace = fio.trace()[base..].to_vec();
        drop((db, fio));
        let meta = trace.iter().position(|s| matches!(s, Step::Write { offset, .. } if *offset < 2 * page_size as u64));
        let meta = meta.expect("a meta write") as u64 + 1;
        assert!(trace.iter().any(|s| matches!(s, Step::Grow(_))), "T never grows the file");
        Case { fx, mode, fault, trace, meta, base }
    }

    /// Fails step `k`; returns whether that poisoned the database.
    fn fail_at(&self, k: u64, rng: &mut Rng) -> bool {
        let (fx, step) = (&self.fx, self.trace[k as usize - 1]);
        let (errno, landed) = match self.fault {
            Fault::Fail(e) => (e, false),
            Fault::FailAfter(e) => (e, true),
            Fault::Cut => unreachable!("a cut is not a failed step"),
        };
        fx.restore();
        let (db, fio) = open_fault(&fx.path, fx.opts(self.mode)).unwrap();
        fio.arm(k, self.fault);
        let (committed, err) = run(&db, fx, self.mode);
        let err = err.expect("the failed step did not surface as an error");
        let want_kind = if errno == libc::ENOSPC { ErrorKind::NoSpace } else { ErrorKind::Io };
        assert_eq!(err.kind(), want_kind, "{err}");
        assert_eq!(fio.trace()[self.base..], self.trace[..k as usize], "steps differ from the unarmed run");
        // Under `None` a commit is published before the sync that failed.
        let now = if committed { &fx.s1 } else { &fx.s0 };
        assert_state(&dump(&db).unwrap(), now, "new readers after the failure");
        db.check().expect("check after the failure");
        let poisons = step == Step::Sync || (k == self.meta && self.mode == SyncMode::Full);
        let (on_disk, crash_ok): (&State, &[&State]) = if poisons {
            let Err(e) = db.begin_write() else { panic!("a write transaction began on a poisoned database") };
            assert_eq!(e.kind(), ErrorKind::Io, "{e}");
            assert!(matches!(e, Error::Poisoned { .. }), "{e}");
            let e = db.sync().expect_err("sync on a poisoned database");
            assert_eq!(e.kind(), ErrorKind::Io, "{e}");
            assert!(matches!(e, Error::Poisoned { .. }), "{e}");
            assert_state(&dump(&db).unwrap(), now, "reads on a poisoned database");
            // The meta reached the page cache, and maybe the disk.
            if k > self.meta || (k == self.meta && landed) {
                (&fx.s1, &[&fx.s0, &fx.s1])
            } else {
                (&fx.s0, &[&fx.s0])
            }
        } else {
            if !committed {
                run_txn(&db, &fx.t).expect("T retried after a failed step");
            }
            if self.mode != SyncMode::Full {
                db.sync().expect("sync retried after a failed step");
            }
            assert_state(&dump(&db).unwrap(), &fx.s1, "after the retry");
            db.check().expect("check after the retry");
            (&fx.s1, &[&fx.s1])
        };
        drop(db);
        let live = std::fs::read(&fx.path).unwrap();
        let images: Vec<Vec<u8>> = (0..2).map(|_| fio.crash_image(rng.next() | 1)).collect();
        drop(fio);
        assert_state(&fx.recover(&live), on_disk, "reopening the live file");
        for img in images {
            let got = fx.recover(&img);
            assert!(crash_ok.contains(&&got), "a crash image after the failure: {}", diff(&got, on_disk));
        }
        poisons
    }
}

fn fail_every_step(page_size: u32, mode: SyncMode, fault: Fault, salt: u64) {
    let seed = test_seed(salt);
    let _g = Guard::new(format!("failed step ({fault:?}), {page_size}-byte pages, {mode:?}, seed {seed}"));
    let started = Instant::now();
    let case = Case::new(page_size, mode, fault, seed);
    let mut rng = Rng::new(seed);
    let mut poisoned = 0;
    let n = case.trace.len() as u64;
    for k in 1..=n {
        let _g = Guard::new(format!("step {k} ({:?}) of {n} fails", case.trace[k as usize - 1]));
        poisoned += usize::from(case.fail_at(k, &mut rng));
    }
    let want = if mode == SyncMode::Full { 3 } else { 2 };
    assert_eq!(poisoned, want, "poisoning steps: the fsyncs, and the meta write under Full");
    println!("{page_size}-byte pages, {mode:?}, {fault:?}: {n} steps failed one at a time in {:?}", started.elapsed());
}

#[test]
fn eio_at_every_step_full_4k() {
    fail_every_step(4096, SyncMode::Full, Fault::Fail(libc::EIO), 11);
}

#[test]
fn eio_at_every_step_full_64k() {
    fail_every_step(65536, SyncMode::Full, Fault::Fail(libc::EIO), 12);
}

#[test]
fn eio_at_every_step_sync_none_4k() {
    fail_every_step(4096, SyncMode::None, Fault::Fail(libc::EIO), 13);
}

#[test]
fn enospc_at_every_step_full_4k() {
    fail_every_step(4096, SyncMode::Full, Fault::Fail(libc::ENOSPC), 14);
}

#[test]
fn enospc_at_every_step_sync_none_64k() {
    fail_every_step(65536, SyncMode::None, Fault::Fail(libc::ENOSPC), 15);
}

#[test]
fn eio_after_landing_at_every_step_full_4k() {
    fail_every_step(4096, SyncMode::Full, Fault::FailAfter(libc::EIO), 16);
}

#[test]
fn eio_after_landing_at_every_step_sync_none_64k() {
    fail_every_step(65536, SyncMode::None, Fault::FailAfter(libc::EIO), 17);
}
