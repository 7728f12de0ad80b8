//! A failure applying deferred puts (`txn::deferred`; the C API's plain
//! `thunder_put`): the put was kept, not applied, so the failure comes at
//! the call that applies it, and fails the transaction; commit then repeats
//! it and nothing is written. A put applied at once fails at once.

use crate::error::ErrorKind;
use crate::tests::damage_fuzz::newest_meta;
use crate::txn::WriteTx;
use crate::{Database, PutFlags};

/// A database whose root (a leaf) is damaged: a byte of its body changed,
/// its checksum not. Returns its file's bytes.
pub(crate) fn damaged_root(path: &std::path::Path) -> Vec<u8> {
    let db = Database::open(path).unwrap();
    let mut w = db.begin_write().unwrap();
    w.put(b"a", b"1").unwrap();
    w.commit().unwrap();
    db.close().map_err(|e| e.error).unwrap();
    let mut img = std::fs::read(path).unwrap();
    let (meta, _) = newest_meta(&img);
    img[(meta.root.keys.root.0 * meta.page_size as u64) as usize + 100] ^= 0xff;
    std::fs::write(path, &img).unwrap();
    img
}

#[test]
fn a_failure_applying_deferred_puts_fails_the_transaction_at_the_call_that_applied_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.db");
    let img = damaged_root(&path);
    let db = Database::open(&path).unwrap();
    let mut w: WriteTx = db.begin_write().unwrap();
    w.put_deferred(None, b"b", b"2").expect("kept, not applied");
    let e = w.delete(b"z").expect_err("the delete applies the kept put first");
    assert_eq!(e.kind(), ErrorKind::Corrupted, "{e}");
    let again = w.put_deferred(None, b"c", b"3").unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Corrupted, "the transaction failed: {again}");
    assert_eq!(w.commit().unwrap_err().kind(), ErrorKind::Corrupted);

    // Kept puts reach commit: it applies them, and fails the same way, as
    // the call that met the failure (review: it said "failed earlier").
    let mut w = db.begin_write().unwrap();
    w.put_deferred(None, b"b", b"2").unwrap();
    let e = w.commit().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupted);
    assert!(!e.to_string().contains("earlier"), "{e}");

    // A put with a flag is applied at once, and fails there.
    let mut w = db.begin_write().unwrap();
    let e = w.put_with(b"b", b"2", PutFlags::NO_OVERWRITE).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupted);
    drop(w);
    db.close().map_err(|e| e.error).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), img, "nothing was written");
}
