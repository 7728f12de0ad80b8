//! Opening and limits: the file lock (within this process and across
//! processes, read-only sharing, the lock timeout), what open says about
//! missing, empty, foreign and mismatched files, option combinations, the
//! max size, key limits, APPEND, the write transaction's failure latch,
//! transaction ids, close with open transactions and read-only databases.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

use common::{seed, Rng, SeedGuard, TestDb, PAGE_SIZES};
use thunder::{Database, ErrorKind, Options, PutFlags};

/// flock locks belong to the open file description, and a child process
/// holds a copy of every descriptor between its fork and its exec (the fork
/// caveat of the API). A test that closes a database and opens it again at
/// once would see `Locked` if another test of this binary forked in that
/// window, so the tests that spawn children hold this exclusively and every
/// other test holds it shared.
static FORKS: RwLock<()> = RwLock::new(());

fn forks_shared() -> RwLockReadGuard<'static, ()> {
    FORKS.read().unwrap_or_else(|p| p.into_inner())
}

fn forks_exclusive() -> RwLockWriteGuard<'static, ()> {
    FORKS.write().unwrap_or_else(|p| p.into_inner())
}

fn kind<T>(r: thunder::Result<T>) -> ErrorKind {
    match r {
        Ok(_) => panic!("expected an error, got Ok"),
        Err(e) => e.kind(),
    }
}

fn open_err(path: &Path, opts: Options) -> thunder::Error {
    Database::open_with_options(path, opts).expect_err("open must fail")
}

fn ro() -> Options {
    Options::new().read_only(true)
}

/// A database at `dir/name` holding key "k" = "v", closed.
fn make_db(dir: &Path, name: &str, opts: Options) -> PathBuf {
    let path = dir.join(name);
    let db = Database::open_with_options(&path, opts).unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.put(b"k", b"v").unwrap();
    tx.commit().unwrap();
    db.close().unwrap();
    path
}

#[test]
fn second_read_write_open_in_this_process_is_locked() {
    let _forks = forks_shared();
    let t = TestDb::new(Options::new());
    let e = open_err(t.path(), Options::new());
    assert_eq!(e.kind(), ErrorKind::Locked);
    assert!(e.to_string().contains(&t.path().display().to_string()), "{e}");
    assert_eq!(open_err(t.path(), ro()).kind(), ErrorKind::Locked);
    // The refused opens left the first handle working.
    let mut tx = t.db().begin_write().unwrap();
    tx.put(b"still", b"works").unwrap();
    tx.commit().unwrap();
}

#[test]
fn read_only_opens_share_with_each_other_but_not_with_read_write() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = make_db(dir.path(), "ro.db", Options::new());
    let a = Database::open_with_options(&path, ro()).unwrap();
    let b = Database::open_with_options(&path, ro()).unwrap();
    assert_eq!(a.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]));
    assert_eq!(b.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]));
    assert_eq!(open_err(&path, Options::new()).kind(), ErrorKind::Locked);
    drop(a);
    assert_eq!(open_err(&path, Options::new()).kind(), ErrorKind::Locked, "one read-only handle is left");
    b.close().unwrap();
    Database::open(&path).unwrap().close().unwrap();
}

/// With a lock timeout, open retries: it fails with `Locked` no earlier than
/// the timeout, and succeeds once the holder lets go. The holder raises a
/// flag before it starts closing; open returning while the flag is down
/// would mean it got the lock while the holder still had it.
#[test]
fn lock_timeout_waits_then_fails_or_succeeds() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("timeout.db");
    let holder = Database::open(&path).unwrap();
    let started = Instant::now();
    let e = open_err(&path, Options::new().lock_timeout(Duration::from_millis(300)));
    assert_eq!(e.kind(), ErrorKind::Locked);
    assert!(started.elapsed() >= Duration::from_millis(300), "gave up after {:?}", started.elapsed());
    let closing = Arc::new(AtomicBool::new(false));
    let flag = closing.clone();
    let closer = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        flag.store(true, Ordering::SeqCst);
        holder.close().unwrap();
    });
    let db = Database::open_with_options(&path, Options::new().lock_timeout(Duration::from_secs(30))).unwrap();
    assert!(closing.load(Ordering::SeqCst), "open got the lock while the holder had it");
    closer.join().unwrap();
    db.close().unwrap();
}

const CHILD_ENV: &str = "THUNDER_OPEN_TEST_CHILD";

/// Child side of `lock_is_exclusive_across_processes` (this test binary run
/// again with a filter): `<mode>:<path>`. Modes `rw` and `ro` print the
/// outcome of one open; `hold` opens read-write, prints HELD and keeps the
/// database open until its stdin closes.
fn lock_child(spec: &str) -> ! {
    let (mode, path) = spec.split_once(':').expect("mode:path");
    let opts = if mode == "ro" { ro() } else { Options::new() };
    let r = Database::open_with_options(path, opts);
    let out = match &r {
        Ok(_) => "OK".to_string(),
        Err(e) => format!("{:?}", e.kind()),
    };
    println!("RESULT:{out}");
    std::io::stdout().flush().unwrap();
    if mode == "hold" {
        let mut line = String::new();
        while std::io::stdin().read_line(&mut line).map(|n| n > 0).unwrap_or(false) {}
    }
    drop(r);
    std::process::exit(0);
}

fn spawn_child(mode: &str, path: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .args(["lock_is_exclusive_across_processes", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{mode}:{}", path.display()))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("re-run the test binary")
}

/// Reads the child's RESULT line.
fn child_result(child: &mut std::process::Child) -> String {
    let out = child.stdout.as_mut().unwrap();
    for line in BufReader::new(out).lines() {
        // The harness prints "test <name> ... " on the same line first.
        if let Some((_, r)) = line.unwrap().split_once("RESULT:") {
            return r.to_string();
        }
    }
    panic!("child printed no RESULT line");
}

fn child_open(mode: &str, path: &Path) -> String {
    let mut c = spawn_child(mode, path);
    let r = child_result(&mut c);
    assert!(c.wait().unwrap().success());
    r
}

/// The flock excludes other processes as the API promises: read-write is
/// exclusive, read-only shared; a waiting open succeeds once the other
/// process exits.
#[test]
fn lock_is_exclusive_across_processes() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        lock_child(&spec);
    }
    let _forks = forks_exclusive();
    let dir = tempfile::tempdir().unwrap();
    let path = make_db(dir.path(), "xproc.db", Options::new());
    assert_eq!(child_open("rw", &path), "OK", "nothing holds the file: the child must open it");
    let rw = Database::open(&path).unwrap();
    assert_eq!(child_open("rw", &path), "Locked");
    assert_eq!(child_open("ro", &path), "Locked");
    rw.close().unwrap();
    let shared = Database::open_with_options(&path, ro()).unwrap();
    assert_eq!(child_open("ro", &path), "OK");
    assert_eq!(child_open("rw", &path), "Locked");
    shared.close().unwrap();

    let mut holder = spawn_child("hold", &path);
    assert_eq!(child_result(&mut holder), "OK");
    assert_eq!(open_err(&path, Options::new()).kind(), ErrorKind::Locked);
    assert_eq!(open_err(&path, ro()).kind(), ErrorKind::Locked);
    let released = Arc::new(AtomicBool::new(false));
    let flag = released.clone();
    let stdin = holder.stdin.take().unwrap();
    let releaser = thread::spawn(move || {
        thread::sleep(Duration::from_millis(100));
        flag.store(true, Ordering::SeqCst);
        drop(stdin);
    });
    let db = Database::open_with_options(&path, Options::new().lock_timeout(Duration::from_secs(30))).unwrap();
    assert!(released.load(Ordering::SeqCst), "open got the lock while the other process held it");
    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]));
    releaser.join().unwrap();
    assert!(holder.wait().unwrap().success());
}

#[test]
fn missing_file_without_create_is_not_found_with_the_path() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("missing.db");
    for opts in [Options::new().create(false), ro()] {
        let e = open_err(&path, opts);
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        assert!(!path.exists(), "a refused open created the file");
    }
}

/// With create on, a missing directory on the way is a failure to create
/// the file (`Io`, naming the path), not an absent database.
#[test]
fn missing_directory_with_create_is_io_with_the_path() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no-such-dir").join("x.db");
    let e = open_err(&path, Options::new());
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
}

/// Bug (found by review): a lock timeout too long to add to the clock
/// (`Duration::MAX`) panicked in open, before even trying the lock.
#[test]
fn an_unbounded_lock_timeout_opens_a_free_file() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open_with_options(dir.path().join("t.db"), Options::new().lock_timeout(Duration::MAX)).unwrap();
    db.close().unwrap();
}

#[test]
fn zero_length_file_is_incompatible_read_only_and_initialised_read_write() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.db");
    std::fs::File::create(&path).unwrap();
    assert_eq!(open_err(&path, ro()).kind(), ErrorKind::Incompatible);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0, "a read-only open wrote to the file");
    let db = Database::open_with_options(&path, Options::new().create(false)).unwrap();
    assert_eq!(db.stat().unwrap().last_txid, 0);
    let mut tx = db.begin_write().unwrap();
    tx.put(b"k", b"v").unwrap();
    tx.commit().unwrap();
    db.close().unwrap();
    let db = Database::open_with_options(&path, ro()).unwrap();
    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]));
    db.check().unwrap();
}

/// Foreign files are `Incompatible` and are left exactly as they were, even
/// when opened read-write.
#[test]
fn non_thunder_file_is_incompatible_and_untouched() {
    let _forks = forks_shared();
    let s = seed(0x0BE4_0001);
    let _g = SeedGuard::new("non_thunder_file_is_incompatible_and_untouched", s);
    let mut rng = Rng::new(s);
    let dir = tempfile::tempdir().unwrap();
    let contents: Vec<Vec<u8>> =
        vec![b"hello, this is a text file\n".to_vec(), rng.bytes(20_000), vec![0u8; 8192], vec![0xFF; 70_000]];
    for (i, bytes) in contents.iter().enumerate() {
        let path = dir.path().join(format!("foreign{i}"));
        std::fs::write(&path, bytes).unwrap();
        for opts in [Options::new(), ro()] {
            assert_eq!(open_err(&path, opts).kind(), ErrorKind::Incompatible, "file {i}");
        }
        assert_eq!(&std::fs::read(&path).unwrap(), bytes, "file {i} was modified");
    }
}

/// A thunder file cut short is `Corrupted` (issue 5), whether the cut falls
/// on a page boundary or inside a page, inside the data or the metas, for
/// read-write and read-only opens; the file is left as it was.
#[test]
fn truncated_file_is_corrupted_and_untouched() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    for ps in PAGE_SIZES {
        let path = dir.path().join(format!("full{ps}"));
        let db = Database::open_with_options(&path, Options::new().page_size(ps).unwrap()).unwrap();
        let mut tx = db.begin_write().unwrap();
        for i in 0..400u32 {
            tx.put(format!("key{i:05}").as_bytes(), &vec![i as u8; 1000]).unwrap();
        }
        tx.commit().unwrap();
        let pages = db.stat().unwrap().page_count;
        db.close().unwrap();
        let full = std::fs::read(&path).unwrap();
        let ps = ps as u64;
        assert!(pages > 3, "too small a file to cut ({pages} pages of {ps} bytes)");
        for len in [pages * ps - 1, (pages - 1) * ps, 3 * ps + 7, 2 * ps, ps + 100, ps, 100] {
            let cut = dir.path().join(format!("cut{ps}-{len}"));
            std::fs::write(&cut, &full[..len as usize]).unwrap();
            for opts in [Options::new(), ro()] {
                let e = open_err(&cut, opts);
                assert_eq!(e.kind(), ErrorKind::Corrupted, "{ps}-byte pages cut to {len} bytes: {e}");
            }
            assert_eq!(std::fs::metadata(&cut).unwrap().len(), len, "open changed the cut file");
        }
    }
}

#[test]
fn page_size_mismatch_is_incompatible_and_defaults_accept_the_file() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    for ps in PAGE_SIZES {
        let path = make_db(dir.path(), &format!("ps{ps}.db"), Options::new().page_size(ps).unwrap());
        for other in PAGE_SIZES.into_iter().filter(|&o| o != ps) {
            let e = open_err(&path, Options::new().page_size(other).unwrap());
            assert_eq!(e.kind(), ErrorKind::Incompatible, "file {ps}, asked {other}");
        }
        for opts in [Options::new(), Options::new().page_size(ps).unwrap()] {
            let db = Database::open_with_options(&path, opts).unwrap();
            assert_eq!((db.page_size(), db.stat().unwrap().page_size), (ps as usize, ps));
            assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]));
            db.close().unwrap();
        }
    }
}

/// Regression: an open rejected for an overflow threshold above half the
/// page size used to initialise the (new) file first, with 4 KiB pages. The
/// corrected open, asking for 8 KiB pages to allow that threshold, then
/// failed with `Incompatible` on a file that never held a database. Option
/// combinations are now validated before the file is written.
#[test]
fn overflow_threshold_above_half_the_page_is_invalid_and_writes_nothing() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("threshold.db");
    let big = Options::new().overflow_threshold(4096).unwrap();
    assert_eq!(open_err(&path, big.clone()).kind(), ErrorKind::InvalidArgument);
    let explicit = big.clone().page_size(4096).unwrap();
    assert_eq!(open_err(&path, explicit).kind(), ErrorKind::InvalidArgument);
    // Validation runs before the file is created: a refused open leaves
    // nothing behind (an empty file would later read as Incompatible).
    assert!(!path.exists(), "a refused open created the file");
    let db = Database::open_with_options(&path, big.clone().page_size(8192).unwrap()).unwrap();
    assert_eq!(db.page_size(), 8192);
    let mut tx = db.begin_write().unwrap();
    tx.put(b"exactly half", &[7u8; 4096]).unwrap();
    tx.commit().unwrap();
    db.close().unwrap();
    // An existing 4 KiB file: the same threshold is refused, the file intact.
    let small = make_db(dir.path(), "small.db", Options::new());
    let before = std::fs::read(&small).unwrap();
    assert_eq!(open_err(&small, big).kind(), ErrorKind::InvalidArgument);
    assert_eq!(std::fs::read(&small).unwrap(), before);
    let half = Options::new().overflow_threshold(2048).unwrap();
    Database::open_with_options(&small, half).unwrap().close().unwrap();
}

/// At the max size: `NoSpace`, the failing transaction latched (every later
/// call repeats the error, commit included, and rolls back), earlier commits
/// intact, and the database still usable for transactions that fit.
#[test]
fn max_size_gives_no_space_and_latches_only_the_failed_transaction() {
    let _forks = forks_shared();
    let s = seed(0x0BE4_0002);
    let _g = SeedGuard::new("max_size_gives_no_space_and_latches_only_the_failed_transaction", s);
    let mut rng = Rng::new(s);
    let mut t = TestDb::new(Options::new().max_size(1 << 20).unwrap());
    let db = t.db().clone();
    let mut tx = db.begin_write().unwrap();
    for i in 0..100u32 {
        tx.put(format!("base{i:03}").as_bytes(), &rng.bytes(100)).unwrap();
    }
    tx.commit().unwrap();
    let base: Vec<(Vec<u8>, Vec<u8>)> =
        db.begin_read().unwrap().iter().map(|i| i.unwrap()).map(|(k, v)| (k.to_vec(), v.to_vec())).collect();

    // Overflow values: the put that does not fit fails and latches.
    let mut tx = db.begin_write().unwrap();
    let seq = tx.create_bucket(None, b"seq").unwrap();
    let failed = (0..100u32).find_map(|i| tx.put(format!("big{i:03}").as_bytes(), &rng.bytes(60_000)).err());
    let e = failed.expect("6 MB into a 1 MiB database must run out of space");
    assert_eq!(e.kind(), ErrorKind::NoSpace);
    assert!(tx.is_failed());
    assert_eq!(kind(tx.put(b"small", b"x")), ErrorKind::NoSpace);
    assert_eq!(kind(tx.get(b"base000")), ErrorKind::NoSpace);
    assert_eq!(kind(tx.delete(b"base000")), ErrorKind::NoSpace);
    assert_eq!(kind(tx.create_bucket(None, b"b")), ErrorKind::NoSpace);
    assert_eq!(kind(tx.bucket(None, b"seq")), ErrorKind::NoSpace);
    assert_eq!(kind(tx.next_sequence(&seq)), ErrorKind::NoSpace);
    assert_eq!(kind(tx.cursor().first()), ErrorKind::NoSpace);
    assert_eq!(tx.iter().next().map(|r| r.map(|_| ()).unwrap_err().kind()), Some(ErrorKind::NoSpace));
    assert_eq!(kind(tx.write_cursor(None).last()), ErrorKind::NoSpace);
    assert_eq!(kind(tx.bucket_names(None)), ErrorKind::NoSpace);
    assert_eq!(kind(tx.put(b"small", b"x")), ErrorKind::NoSpace, "still failed after the reads");
    assert_eq!(kind(tx.commit()), ErrorKind::NoSpace);

    // Small values: the commit itself runs out of pages and rolls back.
    let mut tx = db.begin_write().unwrap();
    for i in 0..20_000u32 {
        tx.put(format!("many{i:05}").as_bytes(), &[i as u8; 60]).unwrap();
    }
    assert_eq!(kind(tx.commit()), ErrorKind::NoSpace);

    let r = db.begin_read().unwrap();
    assert_eq!(r.id(), 1, "failed transactions used no txid");
    let now: Vec<(Vec<u8>, Vec<u8>)> = r.iter().map(|i| i.unwrap()).map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
    assert_eq!(now, base);
    drop(r);
    db.check().unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.put(b"after", &rng.bytes(3000)).unwrap();
    tx.commit().unwrap();
    assert!(std::fs::metadata(t.path()).unwrap().len() <= 1 << 20);
    drop(db);
    t.reopen();
    let r = t.db().begin_read().unwrap();
    assert_eq!((r.id(), r.iter().count()), (2, 101));
}

#[test]
fn key_limits() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let mut last_max = 0;
    for ps in PAGE_SIZES {
        let db =
            Database::open_with_options(dir.path().join(format!("k{ps}.db")), Options::new().page_size(ps).unwrap())
                .unwrap();
        let max = db.max_key_size();
        assert!(max >= 1000, "{max}-byte keys at {ps}-byte pages");
        assert!(max > last_max, "max key size must grow with the page size");
        last_max = max;
        let mut tx = db.begin_write().unwrap();
        assert_eq!(kind(tx.put(b"", b"v")), ErrorKind::InvalidArgument);
        assert_eq!(kind(tx.get(b"")), ErrorKind::InvalidArgument);
        assert_eq!(kind(tx.delete(b"")), ErrorKind::InvalidArgument);
        let long = vec![b'k'; max + 1];
        let e = tx.put(&long, b"v").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::KeyTooLarge);
        assert!(e.to_string().contains(&max.to_string()), "{e}");
        assert_eq!(kind(tx.get(&long)), ErrorKind::KeyTooLarge);
        // Bucket names are 1 to 255 bytes at every page size.
        assert_eq!(kind(tx.create_bucket(None, b"")), ErrorKind::InvalidArgument);
        assert_eq!(kind(tx.create_bucket(None, &[b'n'; 256])), ErrorKind::InvalidArgument);
        tx.create_bucket(None, &[b'n'; 255]).unwrap();
        // Keys of the maximum length that differ only at the end make
        // separators of the maximum length: leaves and branches both split.
        for i in 0..300u32 {
            let mut k = vec![b'k'; max];
            k[max - 4..].copy_from_slice(&i.to_be_bytes());
            tx.put(&k, &i.to_le_bytes()).unwrap();
        }
        assert!(!tx.is_failed(), "argument errors leave the transaction usable");
        tx.commit().unwrap();
        let r = db.begin_read().unwrap();
        let keys: Vec<Vec<u8>> = r.iter().map(|i| i.unwrap().0.to_vec()).collect();
        assert_eq!(keys.len(), 300);
        assert!(keys.windows(2).all(|w| w[0] < w[1]) && keys.iter().all(|k| k.len() == max));
        assert_eq!(kind(r.get(b"")), ErrorKind::InvalidArgument);
        drop(r);
        db.check().unwrap();
    }
}

#[test]
fn append_out_of_order_is_invalid_and_writes_nothing() {
    let _forks = forks_shared();
    let t = TestDb::new(Options::new());
    let mut tx = t.db().begin_write().unwrap();
    let b = tx.create_bucket(None, b"b").unwrap();
    for k in [&b"b"[..], b"d", b"f"] {
        tx.put_with(k, b"1", PutFlags::APPEND).unwrap();
        tx.put_with_in(&b, k, b"1", PutFlags::APPEND).unwrap();
    }
    let both = PutFlags::APPEND | PutFlags::NO_OVERWRITE;
    for k in [&b"a"[..], b"e", b"f"] {
        for flags in [PutFlags::APPEND, both] {
            assert_eq!(kind(tx.put_with(k, b"2", flags)), ErrorKind::InvalidArgument, "{k:?}");
            assert_eq!(kind(tx.put_with_in(&b, k, b"2", flags)), ErrorKind::InvalidArgument, "{k:?}");
        }
    }
    tx.put_with(b"g", b"1", both).unwrap();
    tx.commit().unwrap();
    let r = t.db().begin_read().unwrap();
    let all: Vec<_> = r.iter().map(|i| i.unwrap()).collect();
    assert_eq!(all, vec![(&b"b"[..], &b"1"[..]), (b"d", b"1"), (b"f", b"1"), (b"g", b"1")]);
    let b = r.bucket(None, b"b").unwrap().unwrap();
    assert_eq!(r.iter_in(&b).count(), 3);
}

#[test]
fn transaction_ids() {
    let _forks = forks_shared();
    let t = TestDb::new(Options::new());
    let db = t.db();
    let old = db.begin_read().unwrap();
    assert_eq!(old.id(), 0);
    let mut w = db.begin_write().unwrap();
    assert_eq!(w.id(), 1);
    w.put(b"a", b"1").unwrap();
    w.commit().unwrap();
    assert_eq!((old.id(), db.begin_read().unwrap().id()), (0, 1));
    // Neither an empty commit nor an abort uses a txid.
    let w = db.begin_write().unwrap();
    assert_eq!(w.id(), 2);
    w.commit().unwrap();
    let mut w = db.begin_write().unwrap();
    w.put(b"b", b"2").unwrap();
    assert_eq!(w.id(), 2);
    w.abort();
    assert_eq!(db.stat().unwrap().last_txid, 1);
    let mut w = db.begin_write().unwrap();
    assert_eq!(w.id(), 2);
    w.put(b"b", b"2").unwrap();
    w.commit().unwrap();
    assert_eq!((db.stat().unwrap().last_txid, db.begin_read().unwrap().id()), (2, 2));
    assert_eq!(old.get(b"a").unwrap(), None, "the old snapshot is unchanged");
}

#[test]
fn close_with_open_transactions_is_busy() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("close.db");
    let db = Database::open(&path).unwrap();
    let r = db.begin_read().unwrap();
    assert_eq!(kind(db.clone().close().map_err(thunder::Error::from)), ErrorKind::Busy);
    drop(r);
    let mut w = db.begin_write().unwrap();
    w.put(b"k", b"v").unwrap();
    assert_eq!(kind(db.clone().close().map_err(thunder::Error::from)), ErrorKind::Busy);
    w.commit().unwrap();
    assert_eq!(db.open_transactions(), 0);
    db.close().unwrap();
    let db = Database::open_with_options(&path, ro()).unwrap();
    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]));
}

/// A refused close hands the handle back, still open and usable, and
/// closing it later works.
#[test]
fn busy_close_hands_the_handle_back() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("handback.db");
    let db = Database::open(&path).unwrap();
    let r = db.begin_read().unwrap();
    let e = db.close().unwrap_err();
    assert_eq!(e.error.kind(), ErrorKind::Busy);
    let db = e.db.expect("a refused close gives the handle back");
    drop(r);
    let mut w = db.begin_write().unwrap();
    w.put(b"k", b"v").unwrap();
    w.commit().unwrap();
    db.close().unwrap();
    let db = Database::open_with_options(&path, ro()).unwrap();
    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]));
}

#[test]
fn read_only_database_refuses_write_transactions() {
    let _forks = forks_shared();
    let dir = tempfile::tempdir().unwrap();
    let path = make_db(dir.path(), "readonly.db", Options::new());
    let before = std::fs::read(&path).unwrap();
    let db = Database::open_with_options(&path, ro()).unwrap();
    assert_eq!(kind(db.begin_write()), ErrorKind::ReadOnly);
    assert_eq!(kind(db.try_begin_write()), ErrorKind::ReadOnly);
    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]));
    db.sync().unwrap();
    db.check().unwrap();
    db.close().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before, "a read-only database wrote to its file");
}
