//! A write-ahead log belongs to one database: the file's metas and every
//! segment header carry the database's id, and an open refuses a log whose
//! segments name another database instead of replaying it. Files and logs
//! written before the id (zero there) are read as before.
//!
//! A crash is imitated as in tests/wal.rs: the files copied while the
//! database is open are what a process killed at that instant leaves.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::pages::{put_u32, reseal};
use common::{commit_keys, contents, copy_image, wal_dir_of as wal_dir, wal_opts};
use thunder::{Database, ErrorKind};

/// Three commits, a copy of the database (`how`: "backup" or "compact") at
/// `copy`, three more commits; returns what the copy holds.
fn commits_around_a_copy(db: &Database, how: &str, copy: &Path) -> BTreeMap<Vec<u8>, Vec<u8>> {
    let mut copied = BTreeMap::new();
    commit_keys(db, 0, 3, &mut copied);
    match how {
        "backup" => db.backup(copy).unwrap(),
        _ => db.compact(copy).unwrap(),
    };
    commit_keys(db, 3, 3, &mut BTreeMap::new());
    copied
}

/// What a kill of the open database at `path` leaves (its file and log, as
/// `killed.db` beside it), with the file then replaced by `copy`.
fn killed_with(path: &Path, copy: &Path) -> std::path::PathBuf {
    let image = path.with_file_name("killed.db");
    copy_image(path, &image);
    std::fs::copy(copy, &image).unwrap();
    image
}

/// Bug: the log named no database. A backup or a compacted copy put in
/// place of a database file whose log still held commits (the database was
/// killed, or the copy replaced it while the log stayed) took that log as
/// its own at the next open: the backup's checkpoint LSN is 0, so every
/// logged transaction past the copy's txid was replayed into it. A restored
/// backup silently came back with the later commits it was restored to
/// undo; a compacted copy (new txids) got some other database's changes,
/// or was refused as damaged. Now such a log is refused as another
/// database's, and the copy opens as it was made once the log is moved away.
#[test]
fn a_copy_in_place_of_its_source_refuses_the_source_log() {
    for how in ["backup", "compact"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Database::open_with_options(&path, wal_opts()).unwrap();
        let copy = dir.path().join("copy.db");
        let copied = commits_around_a_copy(&db, how, &copy);
        let image = killed_with(&path, &copy);
        let err = match Database::open_with_options(&image, wal_opts()) {
            Ok(db) => panic!("{how}: opened with {} keys: the source's log was taken", contents(&db).len()),
            Err(e) => e,
        };
        assert_eq!(err.kind(), ErrorKind::Incompatible, "{how}: {err}");
        assert!(err.to_string().contains("another database"), "{how}: {err}");
        assert!(err.to_string().contains("killed.db.wal"), "{how}: {err}");
        // Refused, the log is left as it was.
        assert!(wal_dir(&image).join("00000000.wal").exists(), "{how}");
        std::fs::rename(wal_dir(&image), dir.path().join("set-aside.wal")).unwrap();
        let restored = Database::open_with_options(&image, wal_opts()).unwrap();
        assert_eq!(contents(&restored), copied, "{how}");
        restored.check().unwrap();
        // The source itself still takes its own log back after a kill.
        let again = dir.path().join("again.db");
        copy_image(&path, &again);
        assert_eq!(contents(&Database::open_with_options(&again, wal_opts()).unwrap()).len(), 6, "{how}");
    }
}

/// Zeroes the database id of the header of segment `seg` and reseals it.
fn clear_segment_id(seg: &Path) {
    let mut b = std::fs::read(seg).unwrap();
    b[16..24].fill(0);
    let crc = crc32fast::hash(&b[..28]);
    put_u32(&mut b, 28, crc);
    std::fs::write(seg, &b).unwrap();
}

/// Zeroes the database id of both metas of the file at `path` and reseals
/// them: a file made before ids.
fn clear_file_id(path: &Path) {
    let mut img = std::fs::read(path).unwrap();
    let ps = 4096;
    for slot in 0..2u64 {
        let at = slot as usize * ps;
        img[at + 144..at + 152].fill(0);
        reseal(&mut img, ps, slot);
    }
    std::fs::write(path, &img).unwrap();
}

/// Found by review of the change above: a database made before ids kept
/// id 0 and went on logging under it, so a backup or compacted copy of it
/// (with an id), put back in its place, still took its log (6 keys where
/// the copy held 3); and a backup made before ids, put in place of a
/// database with one, took that one's log. A file with id 0 now gets an id
/// at its first read-write open, before its log is read.
#[test]
fn a_database_made_before_ids_gets_one_and_its_copies_refuse_its_log() {
    for (how, old_source) in [("backup", true), ("compact", true), ("backup", false)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        drop(Database::open_with_options(&path, wal_opts()).unwrap());
        if old_source {
            clear_file_id(&path);
            for e in std::fs::read_dir(wal_dir(&path)).unwrap() {
                clear_segment_id(&e.unwrap().path());
            }
        }
        let db = Database::open_with_options(&path, wal_opts()).unwrap();
        let copy = dir.path().join("copy.db");
        commits_around_a_copy(&db, how, &copy);
        if !old_source {
            // A backup as a build before ids made it.
            clear_file_id(&copy);
        }
        let image = killed_with(&path, &copy);
        let what = format!("{how} of a source made {}", if old_source { "before ids" } else { "with an id" });
        match Database::open_with_options(&image, wal_opts()) {
            Ok(db) => panic!("{what}: opened with {} keys: the source's log was taken", contents(&db).len()),
            Err(e) => assert_eq!(e.kind(), ErrorKind::Incompatible, "{what}: {e}"),
        }
        // The source itself, given an id, takes its own log back.
        let again = dir.path().join("again.db");
        copy_image(&path, &again);
        let reopened = Database::open_with_options(&again, wal_opts()).unwrap();
        assert_eq!(contents(&reopened).len(), 6, "{what}");
    }
}

/// A log from before the id (zero in its header) is still replayed, into a
/// file with an id and into one from before it (zero in its metas).
#[test]
fn a_log_without_an_id_is_still_replayed() {
    for file_too in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let db = Database::open_with_options(&path, wal_opts()).unwrap();
        let mut model = BTreeMap::new();
        commit_keys(&db, 0, 4, &mut model);
        let image = dir.path().join("killed.db");
        copy_image(&path, &image);
        drop(db);
        clear_segment_id(&wal_dir(&image).join("00000000.wal"));
        if file_too {
            clear_file_id(&image);
        }
        let db2 = Database::open_with_options(&image, wal_opts())
            .unwrap_or_else(|e| panic!("file id cleared too: {file_too}: {e}"));
        assert_eq!(contents(&db2), model, "file id cleared too: {file_too}");
        db2.check().unwrap();
    }
}

/// Found by review: a build from before ids writes zeros over the id with
/// its next meta (a checkpoint) and goes on logging in the segments that
/// name it; the next open by this build gave the file a new id and then
/// refused its own log as another database's (after a crash of the older
/// build, moving that log away as the message said would have lost its
/// acknowledged commits). The id is now taken back from the segment holding
/// the checkpoint LSN.
#[test]
fn a_file_whose_id_an_older_build_cleared_keeps_its_own_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let mut model = BTreeMap::new();
    let db = Database::open_with_options(&path, wal_opts()).unwrap();
    commit_keys(&db, 0, 3, &mut model);
    db.checkpoint().unwrap();
    commit_keys(&db, 3, 3, &mut model);
    // A kill now, then the older build's checkpoint meta: id 0, same
    // checkpoint LSN (not 0), the log as it was.
    let image = dir.path().join("downgraded.db");
    copy_image(&path, &image);
    clear_file_id(&image);
    let reopened = Database::open_with_options(&image, wal_opts())
        .unwrap_or_else(|e| panic!("the database's own log refused after its id was cleared: {e}"));
    assert_eq!(contents(&reopened), model);
    reopened.check().unwrap();
    drop(reopened);
    // And the id it took back is the log's: a backup in its place still
    // refuses that log.
    let db = Database::open_with_options(&image, wal_opts()).unwrap();
    let copy = dir.path().join("copy.db");
    commits_around_a_copy(&db, "backup", &copy);
    let again = killed_with(&image, &copy);
    let err = match Database::open_with_options(&again, wal_opts()) {
        Ok(_) => panic!("the backup took the source's log"),
        Err(e) => e,
    };
    assert_eq!(err.kind(), ErrorKind::Incompatible, "{err}");
}
