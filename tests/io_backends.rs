//! The three I/O backends through the public API: each opens (or says why
//! it cannot: `Unsupported`), names itself, writes pages and its log
//! through the same seam, and survives reopen and a crash reopen; AUTO
//! is sync (io_uring measured no faster). The deeper suites (model,
//! log, power cuts, failed steps) run once per backend in `make check`
//! through `THUNDER_TEST_IO`.

mod common;

use common::TestDb;
use thunder::{Database, ErrorKind, IoBackendKind, Options, SyncMode};

const KINDS: [(IoBackendKind, &str); 3] =
    [(IoBackendKind::Sync, "sync"), (IoBackendKind::Uring, "uring"), (IoBackendKind::Direct, "direct")];

/// Opens a fresh database with `kind`; None (after saying why) where this
/// machine refuses it.
fn open(kind: IoBackendKind, name: &str, opts: Options) -> Option<(tempfile::TempDir, Database)> {
    let dir = tempfile::tempdir().unwrap();
    match Database::open_with_options(dir.path().join("io.db"), opts.io_backend(kind)) {
        Ok(db) => Some((dir, db)),
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            println!("SKIP {name}: {e}");
            None
        }
        Err(e) => panic!("{name}: {e}"),
    }
}

fn fill(db: &Database, n: u32, value_len: usize) {
    for chunk in (0..n).collect::<Vec<_>>().chunks(50) {
        let mut w = db.begin_write().unwrap();
        for &i in chunk {
            w.put(format!("key{i:06}").as_bytes(), &vec![i as u8; value_len + i as usize % 7]).unwrap();
        }
        w.commit().unwrap();
    }
}

fn verify(db: &Database, n: u32, value_len: usize) {
    let r = db.begin_read().unwrap();
    for i in 0..n {
        let v = r.get(format!("key{i:06}").as_bytes()).unwrap().unwrap_or_else(|| panic!("key {i} lost"));
        assert_eq!(v.len(), value_len + i as usize % 7);
        assert!(v.iter().all(|&b| b == i as u8));
    }
}

#[test]
fn each_backend_names_itself_and_keeps_what_it_wrote() {
    for (kind, name) in KINDS {
        for wal in [false, true] {
            // Small and overflow values: page writes and unaligned runs.
            for value_len in [10, 5000] {
                let opts = Options::new().wal(wal).page_size(4096).unwrap();
                let Some((dir, db)) = open(kind, name, opts.clone()) else { continue };
                assert_eq!(db.io_backend(), name);
                fill(&db, 300, value_len);
                verify(&db, 300, value_len);
                db.close().unwrap();
                let db = Database::open_with_options(dir.path().join("io.db"), opts.io_backend(kind)).unwrap();
                db.check().unwrap();
                verify(&db, 300, value_len);
            }
        }
    }
}

#[test]
fn each_backend_recovers_from_a_crash_with_and_without_the_log() {
    for (kind, name) in KINDS {
        for (wal, mode) in [(false, SyncMode::Full), (true, SyncMode::Full), (true, SyncMode::None)] {
            let opts = Options::new().wal(wal).sync_mode(mode).unwrap().io_backend(kind);
            if open(kind, name, opts.clone()).is_none() {
                continue;
            }
            let mut t = TestDb::exactly(opts);
            fill(t.db(), 200, 100);
            t.db().sync().unwrap();
            t.crash_reopen();
            verify(t.db(), 200, 100);
        }
    }
}

#[test]
fn auto_is_sync_where_io_uring_measured_no_faster() {
    let dir = tempfile::tempdir().unwrap();
    for wal in [false, true] {
        let db =
            Database::open_with_options(dir.path().join(format!("auto{wal}.db")), Options::new().wal(wal)).unwrap();
        assert_eq!(db.io_backend(), "sync");
    }
}
