//! Test support: seeds, a generator, a guard that prints what failed, and
//! opening a database over a `FaultIo` that the test keeps a handle to.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::options::Options;
use crate::storage::{FaultClock, FaultIo, IoBackend};
use crate::wal::SegmentIo;
use crate::Database;

/// Default base seed; `THUNDER_TEST_SEED` overrides it.
const DEFAULT_SEED: u64 = 0x7468_756e_6465_7231;

/// The seed for one test: the base seed mixed with a per-test salt, so tests
/// differ from each other but all follow `THUNDER_TEST_SEED`.
pub(crate) fn test_seed(salt: u64) -> u64 {
    let base = std::env::var("THUNDER_TEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_SEED);
    Rng::new(base ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)).next()
}

/// The base seed in effect, for failure messages.
fn base_seed() -> String {
    std::env::var("THUNDER_TEST_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_string())
}

#[path = "../../tests/common/rng.rs"]
mod rng;
pub(crate) use rng::Rng;

/// Names the case under way if the test panics while the guard lives.
#[derive(Debug)]
pub(crate) struct Guard(String);

impl Guard {
    pub fn new(what: impl Into<String>) -> Guard {
        Guard(what.into())
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("\n*** failed in: {} (rerun with THUNDER_TEST_SEED={})\n", self.0, base_seed());
        }
    }
}

/// Opens `path` over a `FaultIo`, returning the backend too so the test can
/// arm it and take crash images. The backend holds a duplicate of the file
/// descriptor, and with it the file lock: drop it before reopening.
pub(crate) fn open_fault(path: &Path, opts: Options) -> Result<(Database, Arc<FaultIo>)> {
    open_fault_with(path, opts, None)
}

/// `open_fault` on a file of which only `durable` survived the last sync
/// (None: all of it).
pub(crate) fn open_fault_with(
    path: &Path,
    opts: Options,
    durable: Option<Vec<u8>>,
) -> Result<(Database, Arc<FaultIo>)> {
    open_fault_prepared(path, opts, durable, &|_| {})
}

/// `open_fault_with`, calling `prepare` on the backend before open uses it
/// (to arm faults that open itself must meet).
pub(crate) fn open_fault_prepared(
    path: &Path,
    opts: Options,
    durable: Option<Vec<u8>>,
    prepare: &dyn Fn(&FaultIo),
) -> Result<(Database, Arc<FaultIo>)> {
    let made: Mutex<Option<Arc<FaultIo>>> = Mutex::new(None);
    let durable = Mutex::new(durable);
    let factory = |f: File, _: &Options| -> Result<Arc<dyn IoBackend>> {
        let fio = match durable.lock().unwrap().take() {
            None => FaultIo::new(f),
            Some(d) => FaultIo::with_durable(f, d),
        };
        let fio = Arc::new(fio.map_err(|e| Error::io("read file for FaultIo", path, None, e))?);
        prepare(&fio);
        *made.lock().unwrap() = Some(fio.clone());
        Ok(fio)
    };
    let db = Database::open_with_backend(path, opts, &factory)?;
    let fio = made.lock().unwrap().take().expect("the factory ran");
    Ok((db, fio))
}

/// The log segments a `FaultWal` opened: file name and backend, in order.
pub(crate) type Segments = Arc<Mutex<Vec<(String, Arc<FaultIo>)>>>;

/// A database opened over `FaultIo`s on one `FaultClock`: the data file's,
/// and one per write-ahead log segment the writer opens or creates (named
/// by file name, in the order opened).
pub(crate) struct FaultWal {
    pub db: Database,
    pub clock: Arc<FaultClock>,
    pub data: Arc<FaultIo>,
    pub segments: Segments,
}

/// Opens `path` (with `opts.wal` on) so that the data file and every log
/// segment count their I/O steps on one clock: one armed power cut stops
/// them all. Drop every handle before reopening.
pub(crate) fn open_fault_wal(path: &Path, opts: Options) -> Result<FaultWal> {
    let clock = FaultClock::new();
    let (db, data, segments) = open_fault_wal_on(path, opts, &clock);
    Ok(FaultWal { db: db?, clock, data: data.expect("the factory ran"), segments })
}

/// `open_fault_wal` on a given clock (armed beforehand to cut during the
/// open itself); the backends made are returned whether or not open
/// succeeded (None: the data file's factory never ran).
pub(crate) fn open_fault_wal_on(
    path: &Path,
    opts: Options,
    clock: &Arc<FaultClock>,
) -> (Result<Database>, Option<Arc<FaultIo>>, Segments) {
    let made: Mutex<Option<Arc<FaultIo>>> = Mutex::new(None);
    let data_factory = |f: File, _: &Options| -> Result<Arc<dyn IoBackend>> {
        let fio =
            FaultIo::new_shared(f, clock.clone()).map_err(|e| Error::io("read file for FaultIo", path, None, e))?;
        let fio = Arc::new(fio);
        *made.lock().unwrap() = Some(fio.clone());
        Ok(fio)
    };
    let segments: Segments = Arc::default();
    let seg_factory: SegmentIo = {
        let (clock, segments) = (clock.clone(), segments.clone());
        Arc::new(move |f: File| -> Result<Arc<dyn IoBackend>> {
            let link = PathBuf::from(format!("/proc/self/fd/{}", f.as_raw_fd()));
            let target = std::fs::read_link(&link).map_err(|e| Error::io("name a WAL segment", &link, None, e))?;
            let name = target.file_name().and_then(|n| n.to_str()).expect("segment file name").to_string();
            let fio = FaultIo::new_shared(f, clock.clone())
                .map_err(|e| Error::io("read file for FaultIo", &target, None, e))?;
            let fio = Arc::new(fio);
            segments.lock().unwrap().push((name, fio.clone()));
            Ok(fio)
        })
    };
    let db = Database::open_with_backends(path, opts, &data_factory, Some(seg_factory));
    let data = made.lock().unwrap().take();
    (db, data, segments)
}

#[test]
fn fault_io_writes_through_the_backend_under_test() {
    let want = crate::storage::Backend::from_test_env().name();
    let dir = tempfile::tempdir().unwrap();
    let fw = open_fault_wal(&dir.path().join("io.db"), Options::new().wal(true)).unwrap();
    let mut w = fw.db.begin_write().unwrap();
    w.put(b"k", b"v").unwrap();
    w.commit().unwrap();
    assert_eq!(fw.data.inner_name(), want, "the data file's FaultIo");
    let segments = fw.segments.lock().unwrap();
    assert!(!segments.is_empty());
    for (name, seg) in segments.iter() {
        assert_eq!(seg.inner_name(), want, "segment {name}");
    }
    println!("fault-injecting tests run over the {want} backend (THUNDER_TEST_IO)");
}

/// Copies the data file and its log as a killed process leaves them (every
/// write done, nothing more synced).
pub(crate) fn copy_as_killed(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    let wal = |p: &Path| PathBuf::from(format!("{}.wal", p.display()));
    let (wal_from, wal_to) = (wal(from), wal(to));
    std::fs::create_dir(&wal_to).unwrap();
    for e in std::fs::read_dir(&wal_from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), wal_to.join(e.file_name())).unwrap();
    }
}
