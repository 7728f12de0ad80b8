//! Any bytes as a database file: open, read everything reachable, check.
//! Nothing may panic, hang or allocate without bound; errors are fine.
#![no_main]

use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use thunder::{Bucket, Database, Options, ReadTx};

static N: AtomicU64 = AtomicU64::new(0);

/// Reads a bucket's keys and children, a bounded number of levels deep.
fn read(tx: &ReadTx, b: Option<&Bucket>, depth: usize) {
    let items = match b {
        None => tx.iter(),
        Some(b) => tx.iter_in(b),
    };
    for item in items.take(10_000) {
        if item.is_err() {
            return;
        }
    }
    if depth == 0 {
        return;
    }
    if let Ok(names) = tx.bucket_names(b) {
        for name in names.iter().take(64) {
            if let Ok(Some(child)) = tx.bucket(b, name) {
                read(tx, Some(&child), depth - 1);
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("thunder-fuzz-{}-{}.db", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let opts = Options::new().read_only(true).max_size(1 << 30).expect("valid max size");
    if let Ok(db) = Database::open_with_options(&path, opts) {
        if let Ok(tx) = db.begin_read() {
            read(&tx, None, 4);
        }
        let _ = db.check();
    }
    let _ = std::fs::remove_file(&path);
});
