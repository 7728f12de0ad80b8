use thunder::{Database, Options};

#[test]
fn put_commit_reopen_get() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let db = Database::open(&path).unwrap();
        let mut tx = db.begin_write().unwrap();
        for i in 0..5000u32 {
            tx.put(format!("key{i:06}").as_bytes(), format!("value{i}").as_bytes()).unwrap();
        }
        tx.commit().unwrap();
        let tx = db.begin_read().unwrap();
        assert_eq!(tx.get(b"key000042").unwrap(), Some(&b"value42"[..]));
        assert_eq!(tx.iter().count(), 5000);
        drop(tx);
        let r = db.check().unwrap();
        println!("{r:?}");
        db.close().unwrap();
    }
    let db = Database::open_with_options(&path, Options::new()).unwrap();
    let tx = db.begin_read().unwrap();
    assert_eq!(tx.get(b"key004999").unwrap(), Some(&b"value4999"[..]));
    drop(tx);
    let mut tx = db.begin_write().unwrap();
    for i in (0..5000u32).step_by(2) {
        assert!(tx.delete(format!("key{i:06}").as_bytes()).unwrap());
    }
    tx.commit().unwrap();
    println!("{:?}", db.check().unwrap());
    println!("{:?}", db.stat().unwrap());
}
