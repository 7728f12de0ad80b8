//! Backup and compaction (`Database::backup`, `Database::compact`): the
//! copy opens as a standalone database, passes the integrity check, holds
//! exactly the snapshot (nested buckets, overflow values, sequences, and
//! commits only the write-ahead log held), is taken while a writer goes on
//! and from the writer's own thread, never overwrites, and leaves nothing
//! behind when it fails.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::{wal_dir_of, Rng, SeedGuard, PAGE_SIZES};
use thunder::{Bucket, Database, ErrorKind, Options, ReadTx, WriteTx};

type BucketPath = Vec<Vec<u8>>;

/// Every bucket (by path, parents first) and every (bucket path, key, value).
#[derive(Debug, PartialEq, Eq)]
struct Contents {
    buckets: Vec<BucketPath>,
    entries: Vec<(BucketPath, Vec<u8>, Vec<u8>)>,
}

fn contents(db: &Database) -> Contents {
    let tx = db.begin_read().unwrap();
    let mut c = Contents { buckets: Vec::new(), entries: Vec::new() };
    for item in tx.iter() {
        let (k, v) = item.unwrap();
        c.entries.push((Vec::new(), k.to_vec(), v.to_vec()));
    }
    visit(&tx, None, &mut Vec::new(), &mut c);
    c
}

fn visit(tx: &ReadTx, parent: Option<&Bucket>, path: &mut BucketPath, c: &mut Contents) {
    for name in tx.bucket_names(parent).unwrap() {
        let b = tx.bucket(parent, &name).unwrap().expect("listed bucket opens");
        path.push(name);
        c.buckets.push(path.clone());
        for item in tx.iter_in(&b) {
            let (k, v) = item.unwrap();
            c.entries.push((path.clone(), k.to_vec(), v.to_vec()));
        }
        visit(tx, Some(&b), path, c);
        path.pop();
    }
}

fn open_path(tx: &mut WriteTx, path: &[Vec<u8>]) -> Bucket {
    let mut b: Option<Bucket> = None;
    for name in path {
        b = Some(tx.bucket(b.as_ref(), name).unwrap().expect("bucket exists"));
    }
    b.expect("a bucket path")
}

/// Each bucket's next sequence value (taken in a transaction that is rolled back).
fn next_sequences(db: &Database, buckets: &[BucketPath]) -> Vec<u64> {
    let mut tx = db.begin_write().unwrap();
    let seqs = buckets
        .iter()
        .map(|p| {
            let b = open_path(&mut tx, p);
            tx.next_sequence(&b).unwrap()
        })
        .collect();
    tx.abort();
    seqs
}

/// Nested buckets (a bucket and a key sharing a name, binary names, an
/// empty bucket, five levels deep), binary keys, values from empty to 1 MiB
/// (inline and overflow), and sequences.
fn fill(db: &Database, rng: &mut Rng) {
    let mut tx = db.begin_write().unwrap();
    for i in 0..300u32 {
        let len = [0, 10, 100, 3000, 20_000][i as usize % 5];
        tx.put(&[0xff, 0x00, (i >> 8) as u8, i as u8], &rng.bytes(len)).unwrap();
    }
    tx.put(b"big", &rng.bytes(1 << 20)).unwrap();
    let a = tx.create_bucket(None, b"a").unwrap();
    tx.put_in(&a, b"b", b"a key named like its sibling bucket").unwrap();
    let mut parent = tx.create_bucket(Some(&a), b"b").unwrap();
    for depth in 0..4u8 {
        for i in 0..50u8 {
            tx.put_in(&parent, &[depth, i, b'/', b'\\'], &rng.bytes(i as usize * 97)).unwrap();
        }
        for _ in 0..=depth {
            tx.next_sequence(&parent).unwrap();
        }
        parent = tx.create_bucket(Some(&parent), &[b'n', depth, 0xfe, b'/']).unwrap();
    }
    tx.create_bucket(None, b"empty").unwrap();
    let s = tx.create_bucket(None, b"seq").unwrap();
    for _ in 0..1000 {
        tx.next_sequence(&s).unwrap();
    }
    tx.commit().unwrap();
}

/// A file name in `dir`.
fn at(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    v.sort();
    v
}

/// `copy` opens with default options (no WAL), passes the check and holds
/// what `db` holds, sequences included.
fn assert_same(db: &Database, copy: &Path) {
    let c = Database::open(copy).expect("the copy opens as a standalone database");
    c.check().expect("the copy passes the integrity check");
    let want = contents(db);
    assert!(want.buckets.len() >= 7 && want.entries.len() > 500, "the fixture is not trivial");
    assert_eq!(contents(&c), want);
    assert_eq!(next_sequences(&c, &want.buckets), next_sequences(db, &want.buckets));
    c.close().unwrap();
    assert!(!wal_dir_of(copy).exists(), "opening the copy needs and makes no write-ahead log");
}

#[test]
fn backup_and_compact_copy_everything_at_every_page_size() {
    let _g = SeedGuard::new("backup_and_compact", common::seed(16));
    for ps in PAGE_SIZES {
        let dir = tempfile::tempdir().unwrap();
        let db = Database::open_with_options(at(dir.path(), "src.db"), Options::new().page_size(ps).unwrap()).unwrap();
        fill(&db, &mut Rng::new(common::seed(16)));
        let len = db.backup(at(dir.path(), "backup.db")).unwrap();
        assert_eq!(len, db.stat().unwrap().page_count * ps as u64, "the backup ends at the snapshot's page count");
        assert_same(&db, &at(dir.path(), "backup.db"));
        db.compact(at(dir.path(), "compact.db")).unwrap();
        assert_same(&db, &at(dir.path(), "compact.db"));
        let c = Database::open(at(dir.path(), "compact.db")).unwrap();
        assert_eq!(c.page_size(), ps as usize, "compaction keeps the page size");
        c.close().unwrap();
        db.close().unwrap();
        assert_eq!(names_in(dir.path()), ["backup.db", "compact.db", "src.db"], "no temporary file is left");
    }
}

/// Commits that only the write-ahead log holds (nothing checkpointed) are
/// in both copies, which open without a log.
#[test]
fn copies_include_commits_not_yet_checkpointed() {
    let dir = tempfile::tempdir().unwrap();
    let opts = Options::new().wal(true).checkpoint_interval(std::time::Duration::ZERO);
    let db = Database::open_with_options(at(dir.path(), "src.db"), opts).unwrap();
    fill(&db, &mut Rng::new(7));
    let mut tx = db.begin_write().unwrap();
    tx.put(b"last", b"only in the log").unwrap();
    tx.commit().unwrap();
    let stats = db.stat().unwrap();
    assert!(stats.wal_size > 0, "the commits are in the log");
    db.backup(at(dir.path(), "backup.db")).unwrap();
    db.compact(at(dir.path(), "compact.db")).unwrap();
    for copy in ["backup.db", "compact.db"] {
        assert_same(&db, &at(dir.path(), copy));
        let c = Database::open(at(dir.path(), copy)).unwrap();
        assert_eq!(c.begin_read().unwrap().get(b"last").unwrap(), Some(&b"only in the log"[..]), "{copy}");
        assert_eq!(c.stat().unwrap().checkpoint_lsn, 0);
        c.close().unwrap();
    }
    // The backup also opens with a log of its own, and takes new commits.
    let c = Database::open_with_options(at(dir.path(), "backup.db"), Options::new().wal(true)).unwrap();
    let mut tx = c.begin_write().unwrap();
    tx.put(b"after", b"x").unwrap();
    tx.commit().unwrap();
    c.check().unwrap();
    c.close().unwrap();
}

/// A source fragmented by deletes compacts into a smaller file with
/// (almost) no free pages; the backup keeps the source's size.
#[test]
fn compaction_drops_free_space_and_fills_pages() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(at(dir.path(), "src.db")).unwrap();
    let mut rng = Rng::new(common::seed(3));
    let b = b"bucket";
    for round in 0..4u32 {
        let mut tx = db.begin_write().unwrap();
        let bk = tx.create_bucket_if_missing(None, b).unwrap();
        for i in 0..5000u32 {
            let key = (rng.next() as u32).to_be_bytes();
            tx.put_in(&bk, &key, &rng.bytes(60)).unwrap();
            tx.put(&(round * 5000 + i).to_be_bytes(), &rng.bytes(200)).unwrap();
        }
        tx.commit().unwrap();
    }
    let mut tx = db.begin_write().unwrap();
    for i in 0..20_000u32 {
        if i % 10 != 0 {
            tx.delete(&i.to_be_bytes()).unwrap();
        }
    }
    tx.commit().unwrap();
    let src = db.stat().unwrap();
    assert!(src.free_page_count > src.page_count / 2, "the source is fragmented: {src:?}");
    db.compact(at(dir.path(), "compact.db")).unwrap();
    db.backup(at(dir.path(), "backup.db")).unwrap();
    let c = Database::open(at(dir.path(), "compact.db")).unwrap();
    let report = c.check().unwrap();
    let s = c.stat().unwrap();
    let size = |n: &str| std::fs::metadata(at(dir.path(), n)).unwrap().len();
    assert_eq!(size("compact.db"), s.page_count * 4096, "the compacted file ends at its last page");
    assert!(s.page_count * 3 < src.page_count, "compacted {} pages from {}", s.page_count, src.page_count);
    assert!(report.free_pages <= 8, "{report:?}");
    assert!(s.tree_depth <= src.tree_depth);
    assert_eq!(contents(&c), contents(&db));
    // The file ends at its last page; it grows again for new commits.
    let mut tx = c.begin_write().unwrap();
    for i in 0..2000u32 {
        tx.put(&i.to_le_bytes(), &[7; 300]).unwrap();
    }
    tx.commit().unwrap();
    c.check().unwrap();
    c.close().unwrap();
    let compacted = s.page_count * 4096;
    assert!(compacted * 3 < size("backup.db"), "{compacted} vs {}", size("backup.db"));
}

#[test]
fn existing_destinations_and_the_source_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let src = at(dir.path(), "src.db");
    let db = Database::open(&src).unwrap();
    fill(&db, &mut Rng::new(1));
    std::fs::write(at(dir.path(), "taken"), b"keep me").unwrap();
    let copies: [fn(&Database, PathBuf) -> thunder::Result<u64>; 2] = [|d, p| d.backup(p), |d, p| d.compact(p)];
    for copy in copies {
        let e = copy(&db, at(dir.path(), "taken")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("taken exists"), "{e}");
        let e = copy(&db, src.clone()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.to_string().contains("is the source database itself"), "{e}");
        let e = copy(&db, at(dir.path(), "./src.db")).unwrap_err();
        assert!(e.to_string().contains("is the source database itself"), "{e}");
        let e = copy(&db, at(dir.path(), "no-such-dir/copy.db")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    }
    assert_eq!(std::fs::read(at(dir.path(), "taken")).unwrap(), b"keep me");
    db.check().unwrap();
    db.close().unwrap();
    assert_eq!(names_in(dir.path()), ["src.db", "taken"]);
}

/// Copies taken while another thread commits see one snapshot each: every
/// commit writes the same counter under two keys, and a copy must hold
/// equal values.
#[test]
fn copies_are_consistent_while_a_writer_commits() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(at(dir.path(), "src.db")).unwrap();
    fill(&db, &mut Rng::new(2));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (db, stop) = (db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut rng = Rng::new(9);
            let mut n = 0u64;
            while !stop.load(Ordering::Acquire) {
                n += 1;
                let mut tx = db.begin_write().unwrap();
                tx.put(b"counter-a", &n.to_be_bytes()).unwrap();
                let b = tx.create_bucket_if_missing(None, b"churn").unwrap();
                let len = rng.below(5000) as usize;
                tx.put_in(&b, &rng.bytes(8), &rng.bytes(len)).unwrap();
                tx.put(b"counter-b", &n.to_be_bytes()).unwrap();
                tx.commit().unwrap();
            }
            n
        })
    };
    for i in 0..6 {
        let name = format!("copy-{i}.db");
        if i % 2 == 0 {
            db.backup(at(dir.path(), &name)).unwrap();
        } else {
            db.compact(at(dir.path(), &name)).unwrap();
        }
        let c = Database::open(at(dir.path(), &name)).unwrap();
        c.check().unwrap();
        let tx = c.begin_read().unwrap();
        assert_eq!(tx.get(b"counter-a").unwrap(), tx.get(b"counter-b").unwrap(), "{name}");
        drop(tx);
        c.close().unwrap();
    }
    stop.store(true, Ordering::Release);
    assert!(writer.join().unwrap() > 0);
    db.check().unwrap();
}

/// The thread holding the write transaction may copy: the copies hold the
/// last commit, not the transaction's own changes, and nothing deadlocks.
#[test]
fn the_writer_thread_can_copy_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(at(dir.path(), "src.db")).unwrap();
    fill(&db, &mut Rng::new(4));
    let before = contents(&db);
    let mut tx = db.begin_write().unwrap();
    tx.put(b"uncommitted", b"x").unwrap();
    db.backup(at(dir.path(), "backup.db")).unwrap();
    db.compact(at(dir.path(), "compact.db")).unwrap();
    tx.commit().unwrap();
    for copy in ["backup.db", "compact.db"] {
        let c = Database::open(at(dir.path(), copy)).unwrap();
        c.check().unwrap();
        assert_eq!(contents(&c), before, "{copy}");
        c.close().unwrap();
    }
}

/// A compaction that meets damage fails with `Corrupted` and leaves no
/// file: neither the destination nor its temporary file.
#[test]
fn a_failed_compaction_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = at(dir.path(), "src.db");
    let db = Database::open(&src).unwrap();
    let mut tx = db.begin_write().unwrap();
    let value = vec![0x5au8; 100_000];
    tx.put(b"k", &value).unwrap();
    tx.commit().unwrap();
    db.close().unwrap();
    // Damage the middle of the overflow value: only reading it finds out.
    let mut img = std::fs::read(&src).unwrap();
    let at_value = img.windows(64).position(|w| w.iter().all(|&b| b == 0x5a)).unwrap() + 50_000;
    img[at_value] ^= 0xff;
    std::fs::write(&src, img).unwrap();
    let db = Database::open(&src).unwrap();
    let e = db.compact(at(dir.path(), "compact.db")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupted, "{e}");
    db.close().unwrap();
    assert_eq!(names_in(dir.path()), ["src.db"]);
}
