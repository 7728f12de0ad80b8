//! A database opened by a relative path stays where it was opened: a
//! process that changes its working directory afterwards must not take the
//! log's new segments, or the file's directory sync, to the new directory.
//! Alone in its binary: it changes the process's working directory.

mod common;

use std::collections::BTreeMap;

use common::{contents, wal_opts};
use thunder::Database;

/// Bug (a review): the log directory was kept as given, relative, and each
/// new segment was made under the working directory of the moment. After a
/// `chdir` to a directory holding a log of the same name, commits that
/// rotated the log went there and returned OK; the next open from the
/// first directory found the log ending before them and lost them without
/// a word (or, without such a directory, commits failed with IO).
#[test]
fn a_relative_path_is_taken_where_the_database_was_opened() {
    let first = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    std::fs::create_dir(other.path().join("rel.db.wal")).unwrap();
    std::env::set_current_dir(first.path()).unwrap();
    let opts = wal_opts().wal_segment_size(1 << 20).unwrap();
    let db = Database::open_with_options("rel.db", opts.clone()).unwrap();
    let mut model = BTreeMap::new();
    std::env::set_current_dir(other.path()).unwrap();
    for i in 0..10u8 {
        let (k, v) = (vec![b'k', i], vec![i; 300 << 10]);
        let mut w = db.begin_write().unwrap();
        w.put(&k, &v).unwrap();
        w.commit().unwrap();
        model.insert(k, v);
    }
    assert_eq!(
        std::fs::read_dir(other.path().join("rel.db.wal")).unwrap().count(),
        0,
        "nothing went to the other directory"
    );
    // The image a kill leaves, taken from the first directory.
    let image = first.path().join("killed.db");
    common::copy_image(&first.path().join("rel.db"), &image);
    drop(db);
    let db = Database::open_with_options(&image, opts).unwrap();
    assert_eq!(contents(&db), model);
    db.check().unwrap();
}
