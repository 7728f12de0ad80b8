//! The destination of a backup or compaction, staged: the copy is written
//! to `<dest>.tmp-<pid>-<n>` (created new, never an existing file), synced,
//! then linked to `dest` (which fails if `dest` appeared meanwhile, so
//! nothing is ever overwritten), unlinked from its temporary name, and the
//! directory synced. A crash leaves either no `dest` or a complete one (and
//! perhaps a temporary file to remove); a failure removes the temporary
//! file.

use std::fs::{File, OpenOptions};
use std::io::ErrorKind as IoKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};
use crate::storage::sync_parent_dir;
use crate::wal::segment_id;

/// Distinguishes the temporary files of concurrent copies in one process.
static NEXT_TEMP: AtomicU64 = AtomicU64::new(0);

/// A copy being written: its temporary file, removed on drop unless installed.
#[derive(Debug)]
pub(crate) struct Staged {
    dest: PathBuf,
    temp: PathBuf,
    file: File,
    installed: bool,
}

impl Staged {
    /// Checks `dest` (see `check_dest`) and creates the temporary file.
    pub fn new(source: &Path, dest: &Path) -> Result<Staged> {
        check_dest(source, dest)?;
        for _ in 0..16 {
            let n = NEXT_TEMP.fetch_add(1, Ordering::Relaxed);
            let mut name = dest.as_os_str().to_owned();
            name.push(format!(".tmp-{}-{n}", std::process::id()));
            let temp = PathBuf::from(name);
            match OpenOptions::new().read(true).write(true).create_new(true).open(&temp) {
                Ok(file) => return Ok(Staged { dest: dest.to_path_buf(), temp, file, installed: false }),
                Err(e) if e.kind() == IoKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io("create temporary file", &temp, None, e)),
            }
        }
        Err(Error::invalid(format!("no free temporary name beside {}", dest.display())))
    }

    /// The temporary file's path (compaction opens a database there).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The temporary file, open for reading and writing.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// Syncs the temporary file and puts it in place under the destination
    /// name, then syncs the directory.
    pub fn install(mut self) -> Result<()> {
        self.file.sync_all().map_err(|e| Error::io("fsync", &self.temp, None, e))?;
        std::fs::hard_link(&self.temp, &self.dest).map_err(|e| match e.kind() {
            IoKind::AlreadyExists => exists(&self.dest),
            _ => Error::io("link the finished copy to its name", &self.dest, None, e),
        })?;
        self.installed = true;
        std::fs::remove_file(&self.temp).map_err(|e| Error::io("remove temporary name", &self.temp, None, e))?;
        sync_parent_dir(&self.dest)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.installed {
            // A failed copy: nothing under the destination name to keep.
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

fn exists(dest: &Path) -> Error {
    Error::invalid(format!("destination {} exists (choose a new path; nothing is overwritten)", dest.display()))
}

/// Refuses a destination that exists (the source itself included), one
/// whose default write-ahead log directory (`<dest>.wal`) exists: opening
/// the copy would replay another database's log into it, and one named as
/// a log segment (`NNNNNNNN.wal`): in a log directory (a review put a
/// backup in the source's own) the log would take it for a segment, and
/// the source's next open failed.
fn check_dest(source: &Path, dest: &Path) -> Result<()> {
    if dest.as_os_str().is_empty() {
        return Err(Error::invalid("destination is an empty path"));
    }
    if let Some(name) = dest.file_name().and_then(|n| n.to_str()).filter(|n| segment_id(n).is_some()) {
        return Err(Error::invalid(format!(
            "destination {}: {name} is how write-ahead log segments are named (choose another name)",
            dest.display()
        )));
    }
    if std::fs::symlink_metadata(dest).is_ok() {
        let same = match (std::fs::metadata(dest), std::fs::metadata(source)) {
            (Ok(d), Ok(s)) => d.dev() == s.dev() && d.ino() == s.ino(),
            _ => false,
        };
        return Err(if same {
            Error::invalid(format!("destination {} is the source database itself", dest.display()))
        } else {
            exists(dest)
        });
    }
    let mut wal = dest.as_os_str().to_owned();
    wal.push(".wal");
    let wal = PathBuf::from(wal);
    if std::fs::symlink_metadata(&wal).is_ok() {
        return Err(Error::invalid(format!(
            "{} exists: a write-ahead log left by another database would be replayed into the copy; remove it first",
            wal.display()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    /// A directory holding a file `src.db`, and that path.
    fn source() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src.db");
        std::fs::write(&src, b"x").unwrap();
        (dir, src)
    }

    #[test]
    fn a_failed_copy_leaves_nothing_and_an_installed_one_only_dest() {
        let (dir, src) = source();
        let dest = dir.path().join("copy.db");
        let staged = Staged::new(&src, &dest).unwrap();
        assert!(staged.temp_path().exists());
        drop(staged);
        let names = || std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(names(), 1, "the temporary file of a dropped copy is removed");
        let staged = Staged::new(&src, &dest).unwrap();
        std::io::Write::write_all(&mut staged.file(), b"copy").unwrap();
        staged.install().unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"copy");
        assert_eq!(names(), 2);
    }

    #[test]
    fn existing_destinations_are_refused() {
        let (dir, src) = source();
        let err = Staged::new(&src, &src).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("is the source database itself"), "{err}");
        let other = dir.path().join("other.db");
        std::fs::write(&other, b"y").unwrap();
        let err = Staged::new(&src, &other).unwrap_err();
        assert!(err.to_string().contains("exists"), "{err}");
        std::fs::create_dir(dir.path().join("new.db.wal")).unwrap();
        let err = Staged::new(&src, &dir.path().join("new.db")).unwrap_err();
        assert!(err.to_string().contains("new.db.wal exists"), "{err}");
        // A segment's name: in the source's log directory, its log would
        // take the copy for a segment.
        let log = dir.path().join("src.db.wal");
        std::fs::create_dir(&log).unwrap();
        let err = Staged::new(&src, &log.join("00000009.wal")).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("00000009.wal is how write-ahead log segments are named"), "{err}");
        assert_eq!(std::fs::read_dir(&log).unwrap().count(), 0, "nothing written there");
    }

    /// A destination created after the check is not overwritten: the
    /// install fails and the temporary file goes.
    #[test]
    fn a_destination_that_appears_meanwhile_survives() {
        let (dir, src) = source();
        let dest = dir.path().join("copy.db");
        let staged = Staged::new(&src, &dest).unwrap();
        std::fs::write(&dest, b"theirs").unwrap();
        let err = staged.install().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert_eq!(std::fs::read(&dest).unwrap(), b"theirs");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
