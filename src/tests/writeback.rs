//! A commit that syncs its own data (`SyncMode::Full` without a log) starts
//! the writeback of the pages it flushes early (`IoBackend::start_writeback`)
//! so the disk works while the commit encodes the rest; commits whose pages
//! a later steady point or checkpoint syncs leave the kernel to its pace.

use crate::options::{Options, SyncMode};
use crate::tests::support::open_fault;

#[test]
fn only_a_large_commit_that_syncs_its_data_starts_writeback() {
    for (mode, wal, keys, want) in [
        (SyncMode::Full, false, 30_000u32, true),
        (SyncMode::Full, false, 100, false),
        (SyncMode::None, false, 30_000, false),
        (SyncMode::Full, true, 30_000, false),
    ] {
        let what = format!("{mode:?}, wal {wal}, {keys} keys");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wb.db");
        let opts = Options::new().sync_mode(mode).unwrap().wal(wal);
        let (db, fio) = open_fault(&path, opts.clone()).unwrap();
        let mut tx = db.begin_write().unwrap();
        for i in 0..keys {
            tx.put(format!("key{i:08}").as_bytes(), &[i as u8; 150]).unwrap();
        }
        tx.commit().unwrap();
        assert_eq!(fio.writebacks() > 0, want, "{what}: {} writebacks", fio.writebacks());
        db.close().unwrap();
        drop(fio);
        let db = crate::Database::open_with_options(&path, opts).unwrap();
        db.check().unwrap();
        assert_eq!(
            db.begin_read().unwrap().get(format!("key{:08}", keys - 1).as_bytes()).unwrap(),
            Some(&[(keys - 1) as u8; 150][..]),
            "{what}"
        );
    }
}
