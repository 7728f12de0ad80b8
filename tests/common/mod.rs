//! Shared support for the integration tests: a seeded generator, a guard that
//! prints the seed when a test fails, and a test database that runs the
//! integrity check when dropped; `pages` reads and damages a file's raw
//! pages, `damaged` builds a fixture for damage and reads it back, and
//! `adversarial` holds what the `adversarial_*` files share.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use thunder::{Database, IoBackendKind, Options};

pub mod adversarial;
pub mod damaged;
pub mod model_cursor;
pub mod pages;
mod rng;
pub use rng::Rng;

/// The seed for a test: `THUNDER_TEST_SEED` if set, else `default`.
pub fn seed(default: u64) -> u64 {
    std::env::var("THUNDER_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// Prints the seed if the test panics while the guard is alive.
pub struct SeedGuard {
    what: String,
    seed: u64,
}

impl SeedGuard {
    pub fn new(what: impl Into<String>, seed: u64) -> SeedGuard {
        SeedGuard { what: what.into(), seed }
    }
}

impl Drop for SeedGuard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "\n*** {} failed with seed {} (rerun with THUNDER_TEST_SEED={})\n",
                self.what, self.seed, self.seed
            );
        }
    }
}

/// The I/O backend `THUNDER_TEST_IO` names ("sync", "uring" or "direct"),
/// if set and not empty: `make check` runs the model and log suites once per backend.
pub fn test_io() -> Option<(IoBackendKind, &'static str)> {
    let v = std::env::var("THUNDER_TEST_IO").ok().filter(|v| !v.is_empty())?;
    Some(match v.as_str() {
        "sync" => (IoBackendKind::Sync, "sync"),
        "uring" => (IoBackendKind::Uring, "uring"),
        "direct" => (IoBackendKind::Direct, "direct"),
        _ => panic!("THUNDER_TEST_IO={v}: not sync, uring or direct"),
    })
}

/// `opts` with the backend under test (`test_io`), if one is named.
pub fn with_test_io(opts: Options) -> Options {
    match test_io() {
        Some((kind, _)) => opts.io_backend(kind),
        None => opts,
    }
}

/// Opens `path` with `opts` on the backend under test, and checks that
/// the database really writes through it.
pub fn open_test_io(path: &Path, opts: Options) -> thunder::Result<Database> {
    let db = Database::open_with_options(path, with_test_io(opts))?;
    if let Some((_, name)) = test_io() {
        assert_eq!(db.io_backend(), name, "THUNDER_TEST_IO={name}, but the database writes with another backend");
    }
    Ok(db)
}

/// A database in a temporary directory, on the backend under test
/// (`test_io`); checked for integrity when dropped.
pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
    pub opts: Options,
    db: Option<Database>,
}

impl TestDb {
    pub fn new(opts: Options) -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("test.db");
        let opts = with_test_io(opts);
        let db = open_test_io(&path, opts.clone()).expect("open test db");
        TestDb { dir, path, opts, db: Some(db) }
    }

    /// `new` with `opts` exactly as given, whatever `THUNDER_TEST_IO` says.
    pub fn exactly(opts: Options) -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("test.db");
        let db = Database::open_with_options(&path, opts.clone()).expect("open test db");
        TestDb { dir, path, opts, db: Some(db) }
    }

    pub fn db(&self) -> &Database {
        self.db.as_ref().expect("open")
    }

    /// Closes and reopens, then runs the integrity check.
    pub fn reopen(&mut self) {
        let db = self.db.take().expect("open");
        db.close().expect("close");
        let db = Database::open_with_options(&self.path, self.opts.clone()).expect("reopen");
        db.check().expect("check after reopen");
        self.db = Some(db);
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reopens from what a process killed now would leave: the data file
    /// and its write-ahead log directory are copied while the database is
    /// open (the engine writes with pwrite, so the copy holds every
    /// completed write), the database is dropped, and the copies take the
    /// originals' place. Then runs the integrity check.
    pub fn crash_reopen(&mut self) {
        let wal = wal_dir_of(&self.path);
        let img = self.path.with_extension("crash");
        let img_wal = wal_dir_of(&img);
        copy_image(&self.path, &img);
        drop(self.db.take());
        std::fs::rename(&img, &self.path).expect("data file back");
        let _ = std::fs::remove_dir_all(&wal);
        if img_wal.exists() {
            std::fs::rename(&img_wal, &wal).expect("log back");
        }
        let db = Database::open_with_options(&self.path, self.opts.clone()).expect("reopen after a crash");
        db.check().expect("check after a crash reopen");
        self.db = Some(db);
    }
}

/// Copies the database file `from` and its write-ahead log directory (if
/// any) to `to` and `to`'s log directory: what a process killed now would
/// leave, when taken while the database is open.
///
/// The log goes first: the syncer thread may finish a checkpoint meanwhile
/// (meta written, then older segments removed). Copied in this order, the
/// image holds either the old meta and every segment it needs, or the new
/// meta and segments it no longer needs (as after a kill between the meta
/// and the removal); copied the other way, the old meta could come with its
/// segments already gone, a state no kill leaves.
pub fn copy_image(from: &Path, to: &Path) {
    let (src, dst) = (wal_dir_of(from), wal_dir_of(to));
    let _ = std::fs::remove_dir_all(&dst);
    if src.exists() {
        std::fs::create_dir_all(&dst).expect("create the log directory");
        for e in std::fs::read_dir(&src).expect("read the log directory") {
            let e = e.expect("entry");
            match std::fs::copy(e.path(), dst.join(e.file_name())) {
                // Removed by a checkpoint since listed: its meta is on disk.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
                r => {
                    r.expect("copy a segment");
                }
            }
        }
    }
    std::fs::copy(from, to).expect("copy the data file");
}

/// Options with the write-ahead log on, over the backend under test.
pub fn wal_opts() -> Options {
    with_test_io(Options::new().wal(true))
}

/// The default keyspace of the latest snapshot, key to value.
pub fn contents(db: &Database) -> std::collections::BTreeMap<Vec<u8>, Vec<u8>> {
    let r = db.begin_read().unwrap();
    r.iter().map(|i| i.unwrap()).map(|(k, v)| (k.to_vec(), v.to_vec())).collect()
}

/// `n` commits of one key each (`k00000`... with 100 bytes of `i`), from
/// `first`, one transaction each; adds what they wrote to `model`.
pub fn commit_keys(db: &Database, first: u64, n: u64, model: &mut std::collections::BTreeMap<Vec<u8>, Vec<u8>>) {
    for i in first..first + n {
        let (k, v) = (format!("k{i:05}").into_bytes(), vec![i as u8; 100]);
        let mut w = db.begin_write().unwrap();
        w.put(&k, &v).unwrap();
        w.commit().unwrap();
        model.insert(k, v);
    }
}

/// The default write-ahead log directory of the database at `path`.
pub fn wal_dir_of(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".wal");
    PathBuf::from(p)
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(db) = self.db.take() {
            if !std::thread::panicking() {
                db.check().expect("integrity check when the test database is dropped");
            }
        }
    }
}

/// Every page size thunder supports.
pub const PAGE_SIZES: [u32; 4] = [4096, 8192, 16384, 65536];
