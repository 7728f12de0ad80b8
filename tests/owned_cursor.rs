//! `OwnedCursor`, the cursor that borrows nothing (the C cursor handle wraps
//! one): it moves through the transaction it was opened in and refuses any
//! other, reports a deleted bucket or a failed transaction at open, and
//! deletes only keys.

use thunder::{Database, ErrorKind, OwnedCursor};

fn db_with_keys(dir: &std::path::Path) -> Database {
    let db = Database::open(dir.join("owned.db")).unwrap();
    let mut w = db.begin_write().unwrap();
    for k in [&b"a"[..], b"b", b"c"] {
        w.put(k, k).unwrap();
    }
    w.create_bucket(None, b"sub").unwrap();
    w.commit().unwrap();
    db
}

#[test]
fn moves_both_ways_and_deletes_in_its_write_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_keys(dir.path());
    let r = db.begin_read().unwrap();
    let mut c = OwnedCursor::keys(&r, None).unwrap();
    assert_eq!(c.next(&r).unwrap(), Some((&b"a"[..], &b"a"[..])));
    assert_eq!(c.last(&r).unwrap(), Some((&b"c"[..], &b"c"[..])));
    assert_eq!(c.seek(&r, b"bb").unwrap().map(|kv| kv.0), Some(&b"c"[..]));
    assert_eq!(c.prev(&r).unwrap().map(|kv| kv.0), Some(&b"b"[..]));
    drop(r);
    let mut w = db.begin_write().unwrap();
    let mut c = OwnedCursor::keys(&w, None).unwrap();
    assert_eq!(c.seek(&w, b"b").unwrap().map(|kv| kv.0), Some(&b"b"[..]));
    assert!(c.delete(&mut w).unwrap());
    assert!(!c.delete(&mut w).unwrap(), "no current item after a delete");
    assert_eq!(c.next(&w).unwrap().map(|kv| kv.0), Some(&b"c"[..]));
    w.commit().unwrap();
    assert_eq!(db.begin_read().unwrap().get(b"b").unwrap(), None);
}

#[test]
fn another_transaction_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_keys(dir.path());
    let (r1, r2) = (db.begin_read().unwrap(), db.begin_read().unwrap());
    let mut c = OwnedCursor::keys(&r1, None).unwrap();
    assert_eq!(c.first(&r2).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert!(c.first(&r1).unwrap().is_some(), "its own transaction still works");
    drop((r1, r2));
    let mut w = db.begin_write().unwrap();
    assert_eq!(c.delete(&mut w).unwrap_err().kind(), ErrorKind::InvalidArgument);
}

#[test]
fn bucket_names_list_children_and_refuse_delete() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_with_keys(dir.path());
    let mut w = db.begin_write().unwrap();
    let mut c = OwnedCursor::bucket_names(&w, None).unwrap();
    assert!(c.over_bucket_names());
    assert_eq!(c.first(&w).unwrap(), Some((&b"sub"[..], &b""[..])));
    assert_eq!(c.delete(&mut w).unwrap_err().kind(), ErrorKind::InvalidArgument);
    let sub = w.bucket(None, b"sub").unwrap().unwrap();
    w.delete_bucket(None, b"sub").unwrap();
    assert_eq!(OwnedCursor::keys(&w, Some(&sub)).unwrap_err().kind(), ErrorKind::BucketNotFound);
}
