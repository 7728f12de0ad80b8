//! A read-only open with every I/O backend of a file the process may not
//! write. Alone in its binary: it runs `chattr`, and a child process holds
//! copies of the parent's descriptors, and so its file locks, between fork
//! and exec, which made a close-and-reopen of another test here `Locked`.

use thunder::{Database, ErrorKind, IoBackendKind, Options};

const KINDS: [(IoBackendKind, &str); 3] =
    [(IoBackendKind::Sync, "sync"), (IoBackendKind::Uring, "uring"), (IoBackendKind::Direct, "direct")];

/// Bug: the io_uring and O_DIRECT backends reopened the file read-write
/// even for a read-only open, so a file the process may not write (mode
/// 0444 for a user, `chattr +i`, a read-only filesystem) failed to open
/// with them (uring said io_uring was refused by the kernel; direct, IO)
/// where sync opened it. The reopen now keeps the file's access mode.
#[test]
fn a_file_the_process_may_not_write_opens_read_only_with_every_backend() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    let db = Database::open(&path).unwrap();
    let mut w = db.begin_write().unwrap();
    w.put(b"k", b"v").unwrap();
    w.commit().unwrap();
    db.close().unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    // Root writes a 0444 file anyway: make it immutable, or the test has no premise.
    let immutable = std::process::Command::new("chattr").arg("+i").arg(&path).status().is_ok_and(|s| s.success());
    if std::fs::OpenOptions::new().write(true).open(&path).is_ok() {
        println!("SKIP: cannot make the file unwritable here (root without chattr +i)");
        return;
    }
    let mut failures = Vec::new();
    for (kind, name) in KINDS {
        // Whether this machine offers the backend at all.
        let probe = tempfile::tempdir().unwrap();
        match Database::open_with_options(probe.path().join("p.db"), Options::new().io_backend(kind)) {
            Err(e) if e.kind() == ErrorKind::Unsupported => {
                println!("SKIP {name}: {e}");
                continue;
            }
            other => other.unwrap().close().unwrap(),
        }
        match Database::open_with_options(&path, Options::new().read_only(true).io_backend(kind)) {
            Ok(db) => {
                assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]), "{name}");
                db.close().unwrap();
            }
            Err(e) => failures.push(format!("{name}: {:?}: {e}", e.kind())),
        }
    }
    if immutable {
        let _ = std::process::Command::new("chattr").arg("-i").arg(&path).status();
    }
    assert!(failures.is_empty(), "read-only opens failed: {failures:#?}");
}
