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
use crate::storage::io::fault::{Fault, Step};
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

fn assert_state(got: &State, want: &State, want_name: &str, when: &str) {
    assert!(got == want, "{when}: not {want_name}: {}", diff(got, want));
}

fn fail_every_step(page_size: u32, mode: SyncMode, fault: Fault, salt: u64) {
    let seed = test_seed(salt);
    let _g = Guard::new(format!("failed step ({fault:?}), {page_size}-byte pages, {mode:?}, seed {seed}"));
    let (errno, landed) = match fault {
        Fault::Fail(e) => (e, false),
        Fault::FailAfter(e) => (e, true),
        Fault::Cut => unreachable!("a cut is not a failed step"),
    };
    let started = Instant::now();
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
    let want_kind = if errno == libc::ENOSPC { ErrorKind::NoSpace } else { ErrorKind::Io };
    let mut rng = Rng::new(seed);
    let mut poisoned = 0;
    for k in 1..=trace.len() as u64 {
        let step = trace[k as usize - 1];
        let _g = Guard::new(format!("step {k} ({step:?}) of {} fails", trace.len()));
        fx.restore();
        let (db, fio) = open_fault(&fx.path, fx.opts(mode)).unwrap();
        fio.arm(k, fault);
        let (committed, err) = run(&db, &fx, mode);
        let err = err.expect("the failed step did not surface as an error");
        assert_eq!(err.kind(), want_kind, "{err}");
        assert_eq!(fio.trace()[base..], trace[..k as usize], "steps differ from the unarmed run");
        // Under `None` a commit is published before the sync that failed.
        let (now, now_name) = if committed { (&fx.s1, "S1") } else { (&fx.s0, "S0") };
        assert_state(&dump(&db).unwrap(), now, now_name, "new readers after the failure");
        db.check().expect("check after the failure");
        let meta_write = k == meta;
        let poisons = step == Step::Sync || (meta_write && mode == SyncMode::Full);
        let (on_disk, crash_ok): (&State, &[&State]) = if poisons {
            poisoned += 1;
            let Err(e) = db.begin_write() else { panic!("a write transaction began on a poisoned database") };
            assert_eq!(e.kind(), ErrorKind::Io, "{e}");
            let e = db.sync().expect_err("sync on a poisoned database");
            assert_eq!(e.kind(), ErrorKind::Io, "{e}");
            assert_state(&dump(&db).unwrap(), now, now_name, "reads on a poisoned database");
            if k > meta || (meta_write && landed) {
                (&fx.s1, &[&fx.s0, &fx.s1])
            } else {
                (&fx.s0, &[&fx.s0])
            }
        } else {
            if !committed {
                run_txn(&db, &fx.t).expect("T retried after a failed step");
            }
            if mode != SyncMode::Full {
                db.sync().expect("sync retried after a failed step");
            }
            assert_state(&dump(&db).unwrap(), &fx.s1, "S1", "after the retry");
            db.check().expect("check after the retry");
            (&fx.s1, &[&fx.s1])
        };
        drop(db);
        let mut images = vec![("live file".to_string(), std::fs::read(&fx.path).unwrap())];
        for _ in 0..2 {
            let seed = rng.next() | 1;
            images.push((format!("crash image {seed}"), fio.crash_image(seed)));
        }
        drop(fio);
        for (i, (name, img)) in images.into_iter().enumerate() {
            let got = fx.recover(&img);
            if i == 0 {
                assert_state(&got, on_disk, if on_disk == &fx.s1 { "S1" } else { "S0" }, "reopening the live file");
            } else {
                assert!(crash_ok.contains(&&got), "{name} after step {k} failed: {}", diff(&got, on_disk));
            }
        }
    }
    let want = if mode == SyncMode::Full { 3 } else { 2 };
    assert_eq!(poisoned, want, "poisoning steps: the fsyncs, and the meta write under Full");
    println!(
        "{page_size}-byte pages, {mode:?}, {fault:?}: {} steps failed one at a time in {:?}",
        trace.len(),
        started.elapsed()
    );
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
