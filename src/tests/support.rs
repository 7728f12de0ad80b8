//! Test support: seeds, a generator, a guard that prints what failed, and
//! opening a database over a `FaultIo` that the test keeps a handle to.

use std::fs::File;
use std::path::Path;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::options::Options;
use crate::storage::io::fault::FaultIo;
use crate::storage::io::IoBackend;
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

/// splitmix64: small, fast and reproducible from one u64.
#[derive(Clone, Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (hi > lo).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }

    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize].clone()
    }
}

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
    let made: Mutex<Option<Arc<FaultIo>>> = Mutex::new(None);
    let durable = Mutex::new(durable);
    let factory = |f: File, _: &Options| -> Result<Arc<dyn IoBackend>> {
        let fio = match durable.lock().unwrap().take() {
            None => FaultIo::new(f),
            Some(d) => FaultIo::with_durable(f, d),
        };
        let fio = Arc::new(fio.map_err(|e| Error::io("read file for FaultIo", path, None, e))?);
        *made.lock().unwrap() = Some(fio.clone());
        Ok(fio)
    };
    let db = Database::open_with_backend(path, opts, &factory)?;
    let fio = made.lock().unwrap().take().expect("the factory ran");
    Ok((db, fio))
}
