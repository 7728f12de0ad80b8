//! The persisted freelist is not rewritten wholesale on every commit (the
//! bbolt pain point): after a bucket of 100,000 keys is deleted, leaving a
//! free set of thousands of scattered pages, each later small commit writes a
//! handful of pages (its tree path, one freelist log page, the meta), and only
//! the occasional compaction rewrites the freelist snapshot.

use std::path::Path;
use std::sync::Arc;

use crate::alloc::{snapshot_pages, stored_runs};
use crate::options::Options;
use crate::storage::{FaultIo, PageType, Step};
use crate::tests::support::{open_fault, Rng};
use crate::Database;

/// Opens `path` over a `FaultIo` with two buckets of 100,000 keys filled in
/// step, then deletes bucket "a".
fn open_after_a_big_bucket_delete(path: &Path) -> (Database, Arc<FaultIo>) {
    let (db, fio) = open_fault(path, Options::new()).unwrap();
    // Random inserts over many commits scatter each bucket's pages among the
    // other's, so deleting one leaves a fragmented free set.
    let mut rng = Rng::new(7);
    for _ in 0..100 {
        let mut tx = db.begin_write().unwrap();
        let a = tx.create_bucket_if_missing(None, b"a").unwrap();
        let b = tx.create_bucket_if_missing(None, b"b").unwrap();
        for _ in 0..1_000 {
            let k = format!("{:016x}", rng.next());
            tx.put_in(&a, k.as_bytes(), &[1u8; 40]).unwrap();
            tx.put_in(&b, k.as_bytes(), &[2u8; 40]).unwrap();
        }
        tx.commit().unwrap();
    }
    let mut tx = db.begin_write().unwrap();
    tx.delete_bucket(None, b"a").unwrap();
    tx.commit().unwrap();
    (db, fio)
}

#[test]
fn small_commits_after_a_big_bucket_delete_write_a_few_pages() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big-delete.db");
    let (db, fio) = open_after_a_big_bucket_delete(&path);

    let tx = db.begin_write().unwrap();
    let snapshot = snapshot_pages(stored_runs(&tx.fl.pool), 4096);
    assert!(tx.fl.pool.len() > 300, "the free set should be fragmented: {} runs", tx.fl.pool.len());
    drop(tx);

    // For each small commit, the freelist pages it wrote, by page type.
    let (mut logs, mut snapshots) = (Vec::new(), Vec::new());
    for i in 0..10u32 {
        let before = fio.trace().len();
        let mut tx = db.begin_write().unwrap();
        let b = tx.bucket(None, b"b").unwrap().unwrap();
        tx.put_in(&b, format!("new{i}").as_bytes(), b"x").unwrap();
        tx.commit().unwrap();
        let file = std::fs::read(&path).unwrap();
        let ty = |offset: u64, len: usize| -> Vec<u8> {
            (0..len / 4096).map(|p| file[offset as usize + p * 4096 + 4]).collect()
        };
        let written: Vec<u8> = fio.trace()[before..]
            .iter()
            .filter_map(|s| match *s {
                Step::Write { offset, len } if offset >= 8192 => Some(ty(offset, len)),
                _ => None,
            })
            .flatten()
            .collect();
        logs.push(written.iter().filter(|&&t| t == PageType::FreeLog as u8).count());
        snapshots.push(written.iter().filter(|&&t| t == PageType::FreeSnapshot as u8).count());
    }
    // Each commit appends one log page; the snapshot is rewritten only by the
    // occasional compaction (at most once here: the log holds 4 + 2 x the
    // snapshot's pages first).
    let rewrites = snapshots.iter().filter(|&&n| n > 0).count();
    assert!(rewrites <= 1, "snapshot ({snapshot} pages) rewritten by {rewrites} of 10 small commits: {snapshots:?}");
    assert!(
        logs.iter().zip(&snapshots).all(|(&l, &s)| (l == 1 && s == 0) || (l == 0 && s > 0)),
        "each small commit writes one log page or one snapshot: logs {logs:?}, snapshots {snapshots:?}"
    );
    db.check().unwrap();
}

/// With a write-ahead log the data file's meta is written only by
/// checkpoints, so logged commits leave their freelist change unwritten
/// (a freelist page per commit was a second data-file write of each): ten
/// small commits write no freelist page, and the checkpoint writes it.
#[test]
fn logged_commits_write_the_freelist_only_at_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logged.db");
    let (db, fio) = open_fault(&path, Options::new().wal(true)).unwrap();
    let freelist_pages_written = |from: usize| -> usize {
        let file = std::fs::read(&path).unwrap();
        fio.trace()[from..]
            .iter()
            .filter_map(|s| match *s {
                Step::Write { offset, len } if offset >= 8192 => Some((offset, len)),
                _ => None,
            })
            .flat_map(|(offset, len)| (0..len / 4096).map(move |p| offset as usize + p * 4096 + 4))
            .filter(|&at| file[at] == PageType::FreeLog as u8 || file[at] == PageType::FreeSnapshot as u8)
            .count()
    };
    let mut tx = db.begin_write().unwrap();
    for i in 0..2_000u32 {
        tx.put(format!("key{i:05}").as_bytes(), &[3u8; 100]).unwrap();
    }
    tx.commit().unwrap();
    let before = fio.trace().len();
    for i in 0..10u32 {
        let mut tx = db.begin_write().unwrap();
        tx.put(format!("key{:05}", i * 97).as_bytes(), b"changed").unwrap();
        tx.commit().unwrap();
    }
    assert_eq!(freelist_pages_written(before), 0, "logged commits wrote freelist pages");
    let before = fio.trace().len();
    db.checkpoint().unwrap();
    assert!(freelist_pages_written(before) > 0, "the checkpoint wrote no freelist page");
    db.check().unwrap();
}
