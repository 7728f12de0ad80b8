//! Regression tests for engine bugs the crash tests exposed. Each opens
//! with what the bug was.

use std::sync::mpsc;
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::options::{Options, SyncMode};
use crate::storage::{Fault, Step};
use crate::tests::support::{copy_as_killed, open_fault, test_seed, Guard, Rng};
use crate::tests::workload::{run_txn, Fixture};
use crate::Database;

/// The step (counting from 1 after open) at which the fixture's transaction T
/// writes its meta page under `SyncMode::Full`. Leaves the fixture's file as
/// T left it: callers restore it before using it.
fn meta_write_step(fx: &Fixture, page_size: u32) -> u64 {
    let (db, fio) = open_fault(&fx.path, fx.opts(SyncMode::Full)).unwrap();
    let base = fio.steps() as usize;
    run_txn(&db, &fx.t).unwrap();
    let meta = fio.trace()[base..]
        .iter()
        .position(|s| matches!(s, Step::Write { offset, .. } if *offset < 2 * page_size as u64))
        .expect("T writes a meta");
    drop((db, fio));
    meta as u64 + 1
}

/// Bug: closing (or dropping) a database opened with `SyncMode::Batched`
/// could block for a whole sync interval. The background syncer went
/// straight into `Condvar::wait_timeout` without first looking at its stop
/// flag, so a stop signalled before the thread reached its wait (a database
/// closed soon after it was opened) was missed, and `close` sat in `join`
/// until the interval ran out: an hour here. Fixed in `Syncer::start`
/// (src/db.rs), which now waits with `wait_timeout_while` on the flag.
#[test]
fn batched_close_right_after_open_does_not_wait_for_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("batched.db");
    let opts = Options::new().sync_mode(SyncMode::Batched(Duration::from_secs(3600))).unwrap();
    let (done, wait) = mpsc::channel();
    std::thread::spawn(move || {
        for _ in 0..50 {
            let db = Database::open_with_options(&path, opts.clone()).expect("open");
            db.close().expect("close");
        }
        done.send(()).ok();
    });
    // Fifty opens and closes take milliseconds; a missed stop takes an hour.
    wait.recv_timeout(Duration::from_secs(30)).expect("closing a batched database waited for the sync interval");
}

/// Bug: under `SyncMode::Full`, a meta write that reported an error but
/// reached the disk (an `IoBackend` write that fails may have landed in
/// part or in full) left the database writable. The failed commit rolled
/// back and gave its pages back to the pool, while its meta, whose txid is
/// above the durable one, could sit in the slot it was written to. The next
/// transaction reused those pages, and its own data fsync made the stale
/// meta durable: a crash before that transaction's meta write then opened a
/// tree whose pages had been overwritten. Fixed in `DbInner::commit_durable`
/// (src/db.rs), which poisons the database when the meta write fails, as a
/// failed fsync does.
#[test]
fn failed_meta_write_that_landed_is_never_built_upon() {
    for page_size in [4096u32, 65536] {
        let seed = test_seed(31 + page_size as u64);
        let _g = Guard::new(format!("failed meta write, {page_size}-byte pages, seed {seed}"));
        let fx = Fixture::new(page_size, seed);
        fx.restore();
        let meta = meta_write_step(&fx, page_size);
        // T's meta write fails after landing; then U runs, cut at each of its
        // steps (and once more, past its end).
        let mut k = 1;
        let mut rng = Rng::new(seed);
        loop {
            let _g = Guard::new(format!("U cut at its step {k}"));
            fx.restore();
            let (db, fio) = open_fault(&fx.path, fx.opts(SyncMode::Full)).unwrap();
            fio.arm(meta, Fault::FailAfter(libc::EIO));
            let e = run_txn(&db, &fx.t).expect_err("T with a failed meta write");
            assert_eq!(e.kind(), ErrorKind::Io, "{e}");
            fio.arm(k, Fault::Cut);
            let u_ok = run_txn(&db, &fx.u).is_ok();
            let cut = fio.is_cut();
            drop(db);
            let mut images = vec![std::fs::read(&fx.path).unwrap()];
            images.extend((0..4).map(|_| fio.crash_image(rng.next() | 1)));
            drop(fio);
            for img in images {
                let got = fx.recover(&img);
                let name = fx.name_of(&got);
                let ok: &[&str] = if u_ok { &["SU"] } else { &["S0", "S1"] };
                assert!(name.is_some_and(|n| ok.contains(&n)), "recovered {name:?}, allowed {ok:?}");
            }
            if !cut {
                break;
            }
            k += 1;
        }
    }
}

/// Bug: the poison check of `DbInner::acquire_writer` ran before the writer
/// waited for the slot, so a `begin_write` that was already blocked behind
/// the writer whose meta write failed (the failure that poisons the
/// database, see above) went ahead once that writer released the slot.
/// Its transaction then took the failed commit's pages from the pool and
/// overwrote them, and its first data fsync made the landed meta of the
/// failed commit durable: a crash before its own meta write opened a tree
/// whose pages held other data. Fixed in `DbInner::acquire_writer`
/// (src/db.rs), which checks the poison again once it holds the slot.
#[test]
fn a_writer_waiting_while_a_meta_write_fails_is_refused() {
    let page_size = 4096u32;
    let seed = test_seed(37);
    let _g = Guard::new(format!("waiting writer, seed {seed}"));
    let fx = Fixture::new(page_size, seed);
    fx.restore();
    let meta = meta_write_step(&fx, page_size);

    fx.restore();
    let (db, fio) = open_fault(&fx.path, fx.opts(SyncMode::Full)).unwrap();
    let mut t = db.begin_write().unwrap();
    fio.arm(meta, Fault::FailAfter(libc::EIO));
    for op in &fx.t {
        crate::tests::workload::engine_apply(&mut t, op).unwrap();
    }
    // U asks for the writer while T holds it, and waits; so does a second
    // writer, which must be woken too.
    let (done, results) = mpsc::channel();
    for _ in 0..2 {
        let (db2, u, done) = (db.clone(), fx.u.clone(), done.clone());
        std::thread::spawn(move || {
            let r = db2.begin_write().and_then(|mut tx| {
                for op in &u {
                    crate::tests::workload::engine_apply(&mut tx, op)?;
                }
                tx.commit()
            });
            done.send(r).ok();
        });
    }
    std::thread::sleep(Duration::from_millis(300));
    let e = t.commit().expect_err("T with a failed meta write");
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    for _ in 0..2 {
        let r = results.recv_timeout(Duration::from_secs(30)).expect("a waiting writer was never woken");
        let e = r.expect_err("a writer that waited through the poisoning went ahead");
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
        assert!(matches!(e, Error::Poisoned { .. }), "{e}");
    }
}

/// Bug (found by review): a stored value could forge the meta page. Open
/// looked for page 1 at every legal page size even when page 0 was valid and
/// kept the valid meta with the highest txid, so in a 4 KiB file an overflow
/// value holding a well-formed 16 KiB or 64 KiB meta at file offset 16384 or
/// 65536 was opened as the database, and the next commit wrote a 16 KiB meta
/// over the real pages 0 to 3. Fixed in `meta::select`, which reads both
/// slots at the file's own page size only.
#[test]
fn a_value_holding_a_meta_for_another_page_size_is_never_opened() {
    use crate::alloc::Meta;
    use crate::storage::HEADER_LEN;
    use crate::types::TxId;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forged.db");
    let opts = Options::new().page_size(4096).unwrap();
    // The first value of a new file is an overflow run starting at page 2
    // (checked below): value offset `o` lies at file offset 8192 + 32 + o.
    let run_data = 2 * 4096 + HEADER_LEN;
    let mut value = vec![0x33u8; 200_000];
    let mut forged = Vec::new();
    for size in [16384usize, 65536] {
        let mut m = Meta::empty(size as u32);
        m.txid = TxId(1 << 40);
        let page = m.encode(1);
        value[size - run_data..][..size].copy_from_slice(&page);
        forged.push((size, page));
    }
    let db = Database::open_with_options(&path, opts.clone()).unwrap();
    let mut w = db.begin_write().unwrap();
    w.put(b"k", &value).unwrap();
    w.put(b"small", b"v").unwrap();
    w.commit().unwrap();
    db.close().unwrap();
    let file = std::fs::read(&path).unwrap();
    for (size, page) in &forged {
        assert_eq!(&file[*size..][..*size], &page[..], "the forged {size}-byte meta is not at offset {size}");
    }

    for (was, now) in [(b"v", b"w"), (b"w", b"x")] {
        let db = Database::open(&path).unwrap();
        assert_eq!(db.stat().unwrap().page_size, 4096);
        let r = db.begin_read().unwrap();
        assert_eq!(r.get(b"k").unwrap(), Some(&value[..]));
        assert_eq!(r.get(b"small").unwrap(), Some(&was[..]));
        drop(r);
        db.check().unwrap();
        // a commit must not write a meta of another page size
        let mut w = db.begin_write().unwrap();
        w.put(b"small", now).unwrap();
        w.commit().unwrap();
        db.close().unwrap();
        let db = Database::open(&path).unwrap();
        assert_eq!(db.begin_read().unwrap().get(b"small").unwrap(), Some(&now[..]));
        db.close().unwrap();
    }
}

/// Bug: an I/O error while open read a meta page was taken for damage or
/// for a foreign file. `read_meta` (src/db.rs) gave `meta::select` a reader
/// that turned every failed read into "past the end of the file", so an
/// EIO on every read was `Incompatible` ("not a thunder database"), and an
/// EIO on one slot let open go on with the other: when that was the older
/// meta, the database opened at an older commit, silently, and the next
/// commit built on it. Fixed in `meta::select`, which takes a fallible
/// reader and stops at the first read error, and `read_meta`, which reports
/// it as `Io` ("read meta", with the path and offset).
#[test]
fn an_io_error_reading_a_meta_page_at_open_is_io() {
    use crate::tests::support::open_fault_prepared;

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("eio-meta.db");
    let ps = 4096u64;
    let opts = Options::new().page_size(ps as u32).unwrap();
    // One commit: slot 1 holds it (txid 1), slot 0 the empty txid 0.
    let db = Database::open_with_options(&path, opts.clone()).unwrap();
    let mut w = db.begin_write().unwrap();
    w.put(b"k", b"committed").unwrap();
    w.commit().unwrap();
    db.close().unwrap();

    // (byte whose reads fail, None: every read; offset the error names)
    for (failing, offset) in [(None, 0), (Some(0), 0), (Some(ps), ps)] {
        let _g = Guard::new(format!("reads covering byte {failing:?} fail"));
        let r = open_fault_prepared(&path, opts.clone(), None, &|fio| fio.fail_reads(failing, libc::EIO));
        let e = match r {
            Ok((db, _)) => {
                let got = db.begin_read().unwrap().get(b"k").unwrap().map(|v| String::from_utf8_lossy(v).into_owned());
                panic!("open succeeded despite the failed read; k = {got:?}");
            }
            Err(e) => e,
        };
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
        let msg = e.to_string();
        assert!(msg.contains("read meta") && msg.contains(&format!("at offset {offset}")), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
    }
    // The failed opens changed nothing.
    let db = Database::open_with_options(&path, opts).unwrap();
    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"committed"[..]));
    db.check().unwrap();
}

/// Bug: with a log under `SyncMode::Full`, a commit lands (the next writer
/// builds on it) before its group's log sync and is published after it.
/// A checkpoint in that window (the syncer's, or a caller's) wrote the
/// deferred freelist for the published meta, one commit older, from the
/// writer's free set that already held the landed commit's changes, and
/// handed that older meta to the next writer: the landed commit's tree was
/// dropped, its pages freed twice (`check`: "page referenced twice"), as
/// four threads committing with the log met about once in twelve runs.
#[test]
fn a_checkpoint_while_a_logged_commit_waits_for_its_sync_keeps_that_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with_options(dir.path().join("landed.db"), Options::new().wal(true)).unwrap();
    let mut tx = db.begin_write().unwrap();
    for i in 0..500u32 {
        tx.put(format!("key{i:04}").as_bytes(), &[1u8; 200]).unwrap();
    }
    tx.commit().unwrap();
    // A published commit that deferred its freelist, then one that landed.
    let mut tx = db.begin_write().unwrap();
    tx.put(b"key0001", b"first").unwrap();
    tx.commit().unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.put(b"key0002", b"landed").unwrap();
    let publish = tx.commit_until_landed().unwrap();
    db.checkpoint().unwrap();
    publish().unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.put(b"key0003", b"after").unwrap();
    tx.commit().unwrap();
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.get(b"key0002").unwrap(), Some(&b"landed"[..]), "the landed commit was lost");
    assert_eq!(r.get(b"key0003").unwrap(), Some(&b"after"[..]));
}

/// A database with a log and 500 keys in a bucket "b" and in the default
/// keyspace, checkpointed.
fn logged_base(path: &std::path::Path) -> Database {
    let db = Database::open_with_options(path, Options::new().wal(true)).unwrap();
    let mut tx = db.begin_write().unwrap();
    let b = tx.create_bucket(None, b"b").unwrap();
    for i in 0..500u32 {
        tx.put(format!("key{i:04}").as_bytes(), &[1u8; 200]).unwrap();
        tx.put_in(&b, format!("key{i:04}").as_bytes(), &[1u8; 200]).unwrap();
    }
    tx.commit().unwrap();
    db.checkpoint().unwrap();
    db
}

/// Bug: with a log under `SyncMode::Full`, a write transaction that began
/// on a landed commit (one waiting for its log sync, not yet published)
/// and then rolled back (abort, no changes, a failure) gave the writer slot
/// back without that head: the next writer built on the published meta,
/// one commit older, with a free set that already held the landed commit's
/// changes. It took the landed commit's txid again and either failed
/// ("page referenced twice") or, in another bucket, wrote over the landed
/// commit's new pages.
#[test]
fn a_rolled_back_writer_hands_the_landed_commit_to_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let db = logged_base(&dir.path().join("head.db"));
    let mut a = db.begin_write().unwrap();
    a.put(b"key0001", b"A").unwrap();
    let a_txid = a.txid;
    let publish_a = a.commit_until_landed().unwrap();
    // Rolled back three ways: abort, a commit without changes, a drop.
    db.begin_write().unwrap().abort();
    db.begin_write().unwrap().commit().unwrap();
    drop(db.begin_write().unwrap());
    let mut c = db.begin_write().unwrap();
    assert_eq!(c.txid.0, a_txid.0 + 1, "the next writer builds on the landed commit");
    c.put(b"key0001", b"C").unwrap();
    let b = c.bucket(None, b"b").unwrap().unwrap();
    c.put_in(&b, b"key0002", b"C").unwrap();
    let publish_c = c.commit_until_landed().unwrap();
    publish_a().unwrap();
    publish_c().unwrap();
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.get(b"key0001").unwrap(), Some(&b"C"[..]));
    let b = r.bucket(None, b"b").unwrap().unwrap();
    assert_eq!(r.get_in(&b, b"key0002").unwrap(), Some(&b"C"[..]));
    assert_eq!(r.get_in(&b, b"key0003").unwrap(), Some(&[1u8; 200][..]));
}

/// Bug: the same dropped head made a checkpoint in that window write the
/// free set, which held the landed commit's changes, as the freelist of the
/// published meta before it, and make that meta durable: recovery found
/// its live pages listed free ("page referenced twice").
#[test]
fn a_checkpoint_after_a_rolled_back_writer_keeps_a_sound_durable_meta() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("head.db");
    let db = logged_base(&path);
    let mut p = db.begin_write().unwrap();
    p.put(b"key0002", b"P").unwrap();
    p.commit().unwrap();
    let mut a = db.begin_write().unwrap();
    for i in 0..500u32 {
        a.put(format!("key{i:04}").as_bytes(), b"A").unwrap();
    }
    let publish_a = a.commit_until_landed().unwrap();
    db.begin_write().unwrap().abort();
    db.checkpoint().unwrap();
    let copy = dir.path().join("killed.db");
    copy_as_killed(&path, &copy);
    publish_a().unwrap();
    drop(db);
    let db = Database::open_with_options(&copy, Options::new().wal(true))
        .unwrap_or_else(|e| panic!("recovery from the checkpoint failed: {e}"));
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(r.get(b"key0002").unwrap(), Some(&b"A"[..]));
}

/// Bug: a backup of a snapshot whose stored freelist is damaged took the
/// freelist the writer would rebuild (every page the trees do not reach),
/// which lists the damaged freelist's own pages: they were left as holes,
/// the copy's meta still named them, and the backup said OK about a copy
/// whose check fails. The copy now gets a freelist of its own, as a
/// snapshot that deferred its freelist does.
#[test]
fn a_backup_of_a_database_whose_freelist_is_damaged_gets_a_sound_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fl.db");
    let db = Database::open(&path).unwrap();
    let mut tx = db.begin_write().unwrap();
    for i in 0..3000u32 {
        tx.put(format!("key{i:05}").as_bytes(), &[3u8; 150]).unwrap();
    }
    tx.commit().unwrap();
    let mut tx = db.begin_write().unwrap();
    for i in (0..3000u32).step_by(2) {
        tx.delete(format!("key{i:05}").as_bytes()).unwrap();
    }
    tx.commit().unwrap();
    let meta = db.env.readers.current();
    assert!(!meta.freelist_deferred);
    let page = [meta.freelist.snapshot, meta.freelist.log_head].into_iter().find(|p| *p != crate::types::PageId::NONE);
    let page = page.expect("the freelist is stored");
    let ps = db.page_size() as u64;
    db.close().map_err(|e| e.error).unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[(page.0 * ps + 100) as usize] ^= 0x5a;
    std::fs::write(&path, &bytes).unwrap();
    let db = Database::open(&path).unwrap();
    let copy = dir.path().join("copy.db");
    db.backup(&copy).unwrap();
    let c = Database::open(&copy).unwrap();
    c.check().unwrap_or_else(|e| panic!("the backup's check: {e}"));
    let r = c.begin_read().unwrap();
    assert_eq!(r.get(b"key00001").unwrap(), Some(&[3u8; 150][..]));
    assert_eq!(r.get(b"key00002").unwrap(), None);
}

/// Bug: `close` on one thread while a logged commit on another waited for
/// its group's sync returned OK: the commit had given the writer slot back,
/// so no transaction counted as open, yet it still held the environment and
/// with it the file lock, so an immediate reopen in the same process was
/// `Locked`. The commit counts as an open transaction until it returns.
#[test]
fn close_while_a_logged_commit_waits_for_its_sync_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("closing.db");
    let db = Database::open_with_options(&path, Options::new().wal(true)).unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.put(b"k", b"landed").unwrap();
    let publish = tx.commit_until_landed().unwrap();
    let err = db.close().expect_err("a commit under way is an open transaction");
    assert_eq!(err.error.kind(), ErrorKind::Busy, "{}", err.error);
    let db = err.db.expect("a Busy close gives the handle back");
    publish().unwrap();
    db.close().unwrap();
    let db = Database::open_with_options(&path, Options::new().wal(true)).unwrap();
    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"landed"[..]));
}

/// Bug: `try_begin_write` (`THUNDER_TXN_WRITE_NOWAIT`) answered `Busy`,
/// "another write transaction is open", while no transaction was: the
/// syncer held the writer slot for a moment to write the free set of a
/// steady point. Such a hold is waited out.
#[test]
fn try_begin_write_waits_out_the_engines_own_hold_of_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("nowait.db")).unwrap();
    let held = db.env.take_writer(false, false).unwrap();
    let (started, ready) = mpsc::channel();
    let got = std::thread::scope(|s| {
        let t = s.spawn(|| {
            started.send(()).unwrap();
            db.try_begin_write().map(|tx| tx.abort())
        });
        ready.recv().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        db.env.give_back_writer(held, false);
        t.join().unwrap()
    });
    got.expect("no write transaction was open");
    // A transaction's hold still makes it Busy at once.
    let tx = db.begin_write().unwrap();
    let other = std::thread::scope(|s| s.spawn(|| db.try_begin_write().map(|_| ())).join().unwrap());
    assert_eq!(other.unwrap_err().kind(), ErrorKind::Busy);
    tx.abort();
}

/// Bug: a load in ascending key order left its pages half full, although
/// `PutFlags::APPEND` is documented as the fast bulk load and a compaction
/// (which appends every key in order) as densely packed. A leaf split at
/// its end leaves its new right neighbour nearly empty for the keys to
/// come; the next insert found that neighbour under a quarter full and
/// merged it back into the full left one, which then split in halves.
/// Fixed in `TreeMut::fix` (src/tree/ops.rs): only a change that may have
/// shrunk a node (a delete, a replaced value) merges.
#[test]
fn ascending_loads_and_compactions_fill_their_pages() {
    use crate::tree::leaf_entry_size;
    use crate::txn::PutFlags;
    let (n, value) = (20_000u32, [5u8; 100]);
    let key = |i: u32| format!("key-{i:08}");
    // Pages the leaves need when full, plus a branch page per 80 leaves
    // (20-byte keys: a branch holds over a hundred), and a tenth for slack.
    let full = |ps: usize| {
        let leaves = (n as usize * leaf_entry_size(12, value.len())).div_ceil(ps - crate::storage::HEADER_LEN);
        (leaves + leaves / 80 + 2) as u64 * 11 / 10
    };
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(dir.path().join("a.db")).unwrap();
    let mut tx = db.begin_write().unwrap();
    for i in 0..n {
        tx.put_with(key(i).as_bytes(), &value, PutFlags::APPEND).unwrap();
    }
    tx.commit().unwrap();
    let st = db.stat().unwrap();
    let used = st.page_count - st.free_page_count - st.pending_page_count;
    assert!(used <= full(4096) + 2, "APPEND load: {used} pages in use, full pages need about {}", full(4096));

    // random order, then compacted
    let src = Database::open(dir.path().join("r.db")).unwrap();
    let mut tx = src.begin_write().unwrap();
    for j in 0..n {
        tx.put(key(j.wrapping_mul(7919) % n).as_bytes(), &value).unwrap();
    }
    tx.commit().unwrap();
    let len = src.compact(dir.path().join("c.db")).unwrap();
    let pages = len / 4096;
    assert!(pages <= full(4096) + 2, "compacted: {pages} pages, full pages need about {}", full(4096));
    let c = Database::open(dir.path().join("c.db")).unwrap();
    c.check().unwrap();
    assert_eq!(c.stat().unwrap().key_count, n as u64);
}

/// A page a commit wrote from its own nodes is marked verified: its next
/// reader does not check its checksum again (each commit's new path did
/// cost its next reader a checksum per page). A reopen checks it as any
/// page read from the file.
#[test]
fn pages_a_commit_wrote_are_not_checked_again_by_their_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v.db");
    let db = Database::open(&path).unwrap();
    let mut w = db.begin_write().unwrap();
    for i in 0..2000u32 {
        w.put(&i.to_be_bytes(), &[7u8; 40]).unwrap();
    }
    w.commit().unwrap();
    let root = db.env.readers.current().root.keys.root;
    assert!(!root.is_none());
    assert!(db.env.pages.verified.get(root.0), "the root page the commit wrote is not marked verified");
    drop(db);
    let db = Database::open(&path).unwrap();
    assert!(!db.env.pages.verified.get(root.0));
    assert_eq!(db.begin_read().unwrap().get(&7u32.to_be_bytes()).unwrap(), Some(&[7u8; 40][..]));
    assert!(db.env.pages.verified.get(root.0), "a page read after reopen is verified on its first read");
}

/// A log segment backend whose writes all fail (a full disk): what a
/// recovery open meets creating its own segment.
#[derive(Debug)]
struct NoSpaceForWrites(crate::storage::SyncIo);

impl crate::storage::IoBackend for NoSpaceForWrites {
    fn name(&self) -> &'static str {
        "no-space-for-writes"
    }
    fn write_batch(&self, _: &[crate::storage::WriteOp<'_>]) -> std::io::Result<()> {
        Err(std::io::Error::from_raw_os_error(libc::ENOSPC))
    }
    fn read_batch(&self, ops: &mut [crate::storage::ReadOp<'_>]) -> std::io::Result<()> {
        self.0.read_batch(ops)
    }
    fn grow(&self, len: u64) -> std::io::Result<()> {
        self.0.grow(len)
    }
    fn sync(&self) -> std::io::Result<()> {
        self.0.sync()
    }
}

/// Bug (a power-loss review): an open resuming the log in the checkpoint's
/// segment removed the later segments before making its own, and one of
/// them was the segment of the writer the durable meta names (an earlier
/// open, killed before its first commit, had made it). When the open failed
/// or died before its meta named its own writer (a full disk creating its
/// segment, a kill), no segment named the meta's writer any more, and every
/// later open refused the database as one whose log went missing
/// (`Corrupted`). The later segments are now emptied in place, never
/// removed, and the new writer's segment follows them.
#[test]
fn a_recovery_open_that_fails_making_its_segment_leaves_a_log_that_opens() {
    let dir = tempfile::tempdir().unwrap();
    let (path, image) = (dir.path().join("a.db"), dir.path().join("b.db"));
    let db = Database::open_with_options(&path, Options::new().wal(true)).unwrap();
    let mut w = db.begin_write().unwrap();
    w.put(b"k", b"v").unwrap();
    w.commit().unwrap();
    db.close().map_err(|e| e.error).unwrap();
    // Opened again, and killed before any commit: its writer's segment,
    // which the durable meta names, holds nothing.
    let db = Database::open_with_options(&path, Options::new().wal(true)).unwrap();
    copy_as_killed(&path, &image);
    drop(db);
    let full: crate::wal::SegmentIo = std::sync::Arc::new(|f: std::fs::File| {
        Ok(std::sync::Arc::new(NoSpaceForWrites(crate::storage::SyncIo::new(f, 1 << 16)))
            as std::sync::Arc<dyn crate::storage::IoBackend>)
    });
    let err =
        Database::open_with_backends(&image, Options::new().wal(true), &crate::env::Env::default_backend, Some(full))
            .map(|_| ())
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoSpace, "{err}");
    let db = Database::open_with_options(&image, Options::new().wal(true)).expect("the open after the failed one");
    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]));
    db.check().unwrap();
}
