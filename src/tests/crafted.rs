//! Files damaged in ways a checksum does not catch: fields that are
//! well-formed and sealed, but wrong (a bug in another writer, or a file
//! built to attack the reader). They must be reported as `Corrupted` (or
//! survived), never a panic, an abort, a hang, or a write that corrupts
//! what was intact.

use std::path::Path;

use crate::alloc::{decode_log, encode_log, select_meta, LogEntry, Meta, Selected};
use crate::error::ErrorKind;
use crate::options::Options;
use crate::Database;

/// The newest meta of the file at `path` and its slot.
fn newest_meta(img: &[u8]) -> (Meta, u64) {
    match select_meta(|off, len| Ok::<_, ()>(img.get(off as usize..off as usize + len).map(<[u8]>::to_vec))) {
        Ok(Selected::Meta(m, slot)) => (m, slot),
        other => panic!("no meta: {other:?}"),
    }
}

/// Writes `m` as the newest meta (the slot not holding the current one,
/// with a higher txid).
fn put_newer_meta(img: &mut [u8], mut m: Meta, slot: u64) {
    m.txid.0 += 1;
    let ps = m.page_size as usize;
    let other = 1 - slot;
    img[other as usize * ps..][..ps].copy_from_slice(&m.encode(other));
}

/// A small database with a few commits.
fn build(path: &Path) {
    let db = Database::open(path).unwrap();
    for round in 0..3u32 {
        let mut tx = db.begin_write().unwrap();
        for i in 0..200u32 {
            tx.put(format!("k{round}-{i:04}").as_bytes(), &[round as u8; 100]).unwrap();
        }
        tx.commit().unwrap();
    }
    db.close().unwrap();
}

/// Bug: open compared the file length with `page_count * page_size`, which
/// overflows for a page count from the meta above 2^52 (at 4 KiB pages): a
/// panic in debug builds, and in release a wrapped product that let the
/// open succeed, after which `check()` sized its page bitmap by that page
/// count (an allocation of hundreds of TiB: the process aborts). Fixed in
/// `DbInner::open` (src/db.rs) with a checked multiplication.
#[test]
fn a_page_count_whose_size_overflows_is_corrupted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge-count.db");
    build(&path);
    let mut img = std::fs::read(&path).unwrap();
    let (mut m, slot) = newest_meta(&img);
    m.page_count = (1u64 << 52) + 2; // * 4096 wraps to 8192
    put_newer_meta(&mut img, m, slot);
    std::fs::write(&path, &img).unwrap();
    for opts in [Options::new(), Options::new().read_only(true)] {
        let e = Database::open_with_options(&path, opts).expect_err("a page count beyond any file");
        assert_eq!(e.kind(), ErrorKind::Corrupted, "{e}");
    }
}

/// Bug: page validation accepted keys longer than `max_key_len` (the
/// writer never makes them, but a damaged or hostile file can). The tree
/// code relies on four maximal separators fitting one branch page, so that
/// every branch splits into parts of two entries or more; with longer keys
/// a split could cut a node into an empty part and panic (an index out of
/// range in `Node::key`), write a branch page of one entry (which every
/// later read rejects), or fail to encode a node (`Internal`). And
/// `check()` passed such a file. Fixed in `page::validate`
/// (src/tree/page.rs), which rejects a key longer than the page allows.
#[test]
fn a_key_longer_than_the_page_allows_is_corrupted() {
    use crate::tree::Node;
    use crate::tree::{max_key_len, Value};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long-key.db");
    let db = Database::open(&path).unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.put(b"a", b"1").unwrap();
    tx.commit().unwrap();
    db.close().unwrap();
    let mut img = std::fs::read(&path).unwrap();
    let (mut m, slot) = newest_meta(&img);
    let ps = m.page_size as usize;
    let root = m.root.keys.root;
    let long = vec![b'b'; max_key_len(ps) + 1];
    let mut leaf = Node::new(true);
    leaf.insert_value(0, b"a", Value::Inline(b"1"));
    leaf.insert_value(1, &long, Value::Inline(b"2"));
    leaf.encode(&mut img[root.0 as usize * ps..][..ps], root, m.txid).unwrap();
    m.root.keys.count = 2;
    put_newer_meta(&mut img, m, slot);
    std::fs::write(&path, &img).unwrap();

    let db = Database::open(&path).unwrap();
    let e = db.check().expect_err("check() of a page with an over-long key");
    assert_eq!(e.kind(), ErrorKind::Corrupted, "{e}");
    let tx = db.begin_read().unwrap();
    let e = tx.cursor().last().expect_err("reading a page with an over-long key");
    assert_eq!(e.kind(), ErrorKind::Corrupted, "{e}");
}

/// Bug: the writer trusted a freelist whose set lists the freelist's own
/// pages (its snapshot run or log pages) as free. It handed such a page out
/// while the chain still used it, and the commit that rewrote the snapshot
/// retired it with `free(...).expect("freelist pages are in use, not
/// free")`: a panic (`THUNDER_INTERNAL` from C) on every compaction, or,
/// when the page had been reused meanwhile, a live tree page freed. Fixed
/// in `freelist::load` (src/alloc/freelist.rs), which rejects such a set, so
/// the writer rebuilds the freelist from the tree as for any damaged one.
#[test]
fn a_freelist_listing_its_own_pages_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("self-listing.db");
    build(&path);
    let mut img = std::fs::read(&path).unwrap();
    let (mut m, slot) = newest_meta(&img);
    let ps = m.page_size as usize;
    let head = m.freelist.log_head;
    assert!(!head.is_none(), "the fixture should end with a freelist log page");
    let page = &mut img[head.0 as usize * ps..][..ps];
    let (prev, mut entries) = decode_log(page, head, ps, m.page_count).unwrap();
    entries.push(LogEntry { start: head.0, len: 1, added: true });
    page.copy_from_slice(&encode_log(&entries, prev, head, ps, m.txid));
    m.freelist.free_pages += 1;
    put_newer_meta(&mut img, m, slot);
    std::fs::write(&path, &img).unwrap();

    let db = Database::open(&path).unwrap();
    assert_eq!(db.check().expect_err("check() of the damaged freelist").kind(), ErrorKind::Corrupted);
    // Enough commits to reuse free pages and to compact the freelist.
    for round in 0..20u32 {
        let mut tx = db.begin_write().unwrap();
        for i in (0..200u32).step_by(7) {
            tx.delete(format!("k{}-{i:04}", round % 3).as_bytes()).ok();
            tx.put(format!("n{round}-{i:04}").as_bytes(), &[9u8; 300]).unwrap();
        }
        tx.commit().unwrap();
    }
    db.check().expect("the rebuilt freelist is sound");
    let tx = db.begin_read().unwrap();
    assert_eq!(tx.get(b"n19-0000").unwrap(), Some(&[9u8; 300][..]));
    assert_eq!(tx.get(b"k2-0001").unwrap(), Some(&[2u8; 100][..]));
}

/// Bug: entry counts come from bucket records and the meta (disk), and the
/// writer added to and subtracted from them unchecked: a record whose count
/// is `u64::MAX` made the next insert panic in debug builds ("attempt to add
/// with overflow"), one whose count is 0 over a tree that has entries made
/// a delete panic, and so did `check()` summing two huge counts. Fixed in
/// `TreeMut::put`/`delete` (src/tree/ops.rs) and `WriteTx::create`
/// (src/txn/buckets.rs), which report `Corrupted`, and in `check::walk`,
/// which saturates its total (the per-tree comparison reports the damage).
#[test]
fn entry_counts_at_their_limits_are_corrupted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counts.db");
    let db = Database::open(&path).unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.put(b"a", b"1").unwrap();
    for name in [&b"x"[..], b"y"] {
        let b = tx.create_bucket(None, name).unwrap();
        tx.put_in(&b, b"k", b"v").unwrap();
    }
    tx.commit().unwrap();
    db.close().unwrap();
    let clean = std::fs::read(&path).unwrap();
    let (m, slot) = newest_meta(&clean);

    for (count, buckets) in [(u64::MAX, 2), (0, 2), (1, u64::MAX)] {
        let mut img = clean.clone();
        let mut m = m;
        m.root.keys.count = count;
        m.bucket_count = buckets;
        put_newer_meta(&mut img, m, slot);
        std::fs::write(&path, &img).unwrap();
        let db = Database::open(&path).unwrap();
        let mut tx = db.begin_write().unwrap();
        let r = if count == 0 { tx.delete(b"a").map(drop) } else { tx.put(b"b", b"2") };
        let r = r.and_then(|()| tx.create_bucket(None, b"z").map(drop));
        let e = r.expect_err("a count past its limit");
        assert_eq!(e.kind(), ErrorKind::Corrupted, "count {count}, buckets {buckets}: {e}");
        drop(tx);
        assert_eq!(db.check().expect_err("check()").kind(), ErrorKind::Corrupted);
    }

    // Two bucket records whose counts add up past u64::MAX: check() reports
    // the damage instead of overflowing its total.
    std::fs::write(&path, &clean).unwrap();
    let db = Database::open(&path).unwrap();
    let mut tx = db.begin_write().unwrap();
    for name in [&b"x"[..], b"y"] {
        let b = tx.bucket(None, name).unwrap().unwrap();
        let s = match b.at {
            crate::txn::BucketAt::Slot(s) => s,
            _ => unreachable!(),
        };
        tx.buckets[s as usize].keys.count = u64::MAX;
        tx.touch(s);
    }
    tx.commit().unwrap();
    assert_eq!(db.check().expect_err("check()").kind(), ErrorKind::Corrupted);
}

/// Bug: a meta with txid `u64::MAX` (well-formed, sealed) made
/// `WriteTx::begin` compute the next txid unchecked: a panic in debug
/// builds; in release every commit got txid 0, so reopening picked the
/// `u64::MAX` meta again and silently dropped them all (and `sync` saw
/// nothing newer than the durable txid to write). Fixed in `WriteTx::begin`
/// (src/txn/write.rs): no txid follows, so the write is refused as damage.
#[test]
fn a_meta_at_the_last_txid_takes_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("last-txid.db");
    build(&path);
    let mut img = std::fs::read(&path).unwrap();
    let (mut m, slot) = newest_meta(&img);
    m.txid.0 = u64::MAX - 1; // put_newer_meta adds one
    put_newer_meta(&mut img, m, slot);
    std::fs::write(&path, &img).unwrap();
    let db = Database::open(&path).unwrap();
    let e = db.begin_write().expect_err("a write after txid u64::MAX");
    assert_eq!(e.kind(), ErrorKind::Corrupted, "{e}");
    let tx = db.begin_read().unwrap();
    assert_eq!(tx.id(), u64::MAX);
    assert_eq!(tx.get(b"k2-0001").unwrap(), Some(&[2u8; 100][..]));
}

/// Bug (found by review): the meta's flags, reserved word and tail, which
/// the format says are zero, were never looked at: a meta with them set
/// (damage resealed, or another writer's) passed `check()`. Open still
/// ignores them; `check` reports them. (Bit 0 of the flags is
/// `FLAG_LOG_LIVE` now, bit 1 `FLAG_LOG_CLEAN`: bit 2 is unknown.)
#[test]
fn a_meta_with_reserved_bytes_set_fails_check() {
    for (at, byte) in [(44usize, 4u8), (124, 1), (200, 1)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reserved.db");
        build(&path);
        let mut img = std::fs::read(&path).unwrap();
        let (m, slot) = newest_meta(&img);
        let ps = m.page_size as usize;
        let page = &mut img[slot as usize * ps..][..ps];
        page[at] |= byte;
        crate::storage::seal(page);
        std::fs::write(&path, &img).unwrap();
        // Read-only: a read-write open rewrites the metas with the log's
        // mark when it reads none it knows.
        let db = Database::open_with_options(&path, Options::new().read_only(true)).unwrap();
        let e = db.check().expect_err("a reserved byte set");
        assert_eq!(e.kind(), ErrorKind::Corrupted, "offset {at}: {e}");
        assert!(e.to_string().contains(&format!("offset {at}")), "{e}");
    }
}
