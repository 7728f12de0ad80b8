//! A failed log fsync under group commit: the commit waiting on it fails
//! with THUNDER_IO, the database refuses writes from then on (`Poisoned`),
//! readers keep the last published state, and a reopen replays the log: the
//! failed commit is there whole or not at all (its records may have reached
//! the disk before the sync failed), never in part.

use crate::error::ErrorKind;
use crate::options::Options;
use crate::storage::{Fault, Step};
use crate::tests::support::open_fault_wal;
use crate::Database;

fn commit(db: &Database, key: &[u8]) -> crate::error::Result<()> {
    let mut w = db.begin_write()?;
    w.put(key, b"first half")?;
    w.put(&[key, b"-twin"].concat(), b"second half")?;
    w.commit()
}

#[test]
fn a_failed_log_sync_fails_its_commit_poisons_and_reopen_recovers_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("poison.db");
    let opts = Options::new().wal(true);
    {
        let fw = open_fault_wal(&path, opts.clone()).unwrap();
        commit(&fw.db, b"a").unwrap();
        // A commit of the same shape, to count its steps: the last is the log sync.
        let before = fw.clock.steps();
        commit(&fw.db, b"b").unwrap();
        let n = fw.clock.steps() - before;
        assert_eq!(fw.clock.trace().last(), Some(&Step::Sync), "a logged commit ends with the log sync");
        fw.clock.arm(n, Fault::Fail(libc::EIO));
        let e = commit(&fw.db, b"c").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io, "{e}");
        assert_eq!(fw.clock.trace().last(), Some(&Step::Sync), "the failed step was the log sync");
        let again = fw.db.begin_write().map(drop).unwrap_err();
        assert_eq!(again.kind(), ErrorKind::Io);
        assert!(again.to_string().contains("reopen"), "{again}");
        let r = fw.db.begin_read().unwrap();
        assert!(r.get(b"b").unwrap().is_some());
        assert_eq!(r.get(b"c").unwrap(), None, "readers never saw the failed commit");
    }
    let db = Database::open_with_options(&path, opts).unwrap();
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    assert!(r.get(b"a").unwrap().is_some() && r.get(b"b").unwrap().is_some());
    assert_eq!(
        r.get(b"c").unwrap().is_some(),
        r.get(b"c-twin").unwrap().is_some(),
        "the failed commit came back in part"
    );
}
