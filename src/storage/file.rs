//! The database file handle: open/create, the process-level advisory lock,
//! growth and durability calls that std does not expose.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Opens `path` for the database. `create` allows creating a missing file.
pub fn open_file(path: &Path, read_only: bool, create: bool) -> Result<File> {
    let mut o = OpenOptions::new();
    o.read(true).custom_flags(libc::O_CLOEXEC);
    if !read_only {
        o.write(true).create(create);
    }
    o.open(path).map_err(|e| match e.kind() {
        // With create, ENOENT means a missing directory on the way: an I/O
        // failure to create the file, not an absent database.
        io::ErrorKind::NotFound if read_only || !create => Error::FileNotFound { path: path.to_path_buf() },
        // "create" only where nothing is there: a review read "create
        // failed" for an existing file it could not write.
        _ => Error::io(if create && !read_only && !path.exists() { "create" } else { "open" }, path, None, e),
    })
}

/// Takes the flock on `file`: exclusive for read-write, shared for read-only,
/// retrying until `timeout` has passed. flock locks belong to the open file
/// description, so a second open of the same file in this process conflicts
/// just like another process does.
pub fn lock(file: &File, path: &Path, exclusive: bool, timeout: Duration) -> Result<()> {
    let op = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH } | libc::LOCK_NB;
    // A timeout too long to represent waits without end.
    let deadline = Instant::now().checked_add(timeout);
    let mut pause = Duration::from_millis(1);
    loop {
        // SAFETY: flock on a valid, open fd; no memory is passed.
        let rc = unsafe { libc::flock(file.as_raw_fd(), op) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EWOULDBLOCK) => {}
            Some(libc::EINTR) => continue,
            _ => return Err(Error::io("flock", path, None, err)),
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return Err(Error::Locked { path: path.to_path_buf() });
        }
        std::thread::sleep(left.map_or(pause, |l| pause.min(l)));
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Opens the directory `dir` and locks it as `lock` does a file; the lock
/// lasts as long as the returned handle.
pub fn lock_dir(dir: &Path, exclusive: bool, timeout: Duration) -> Result<File> {
    let f = File::open(dir).map_err(|e| Error::io("open WAL directory", dir, None, e))?;
    lock(&f, dir, exclusive, timeout)?;
    Ok(f)
}

/// Grows `file` to `new_len` bytes with blocks reserved (fallocate), so that
/// a full disk shows up here as ENOSPC and not later as a failed page write.
/// Where the filesystem cannot preallocate, see `grow_by_writing`.
pub fn grow(file: &File, new_len: u64) -> io::Result<()> {
    let cur = file.metadata()?.len();
    if new_len <= cur {
        return Ok(());
    }
    match fallocate(file, 0, cur..new_len) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::ENOSYS | libc::EINVAL)) => {
            grow_by_writing(file, cur, new_len)
        }
        r => r,
    }
}

/// fallocate(2) of `range` with `mode`, retried on EINTR.
fn fallocate(file: &File, mode: libc::c_int, range: std::ops::Range<u64>) -> io::Result<()> {
    let len = range.end.saturating_sub(range.start);
    loop {
        // SAFETY: fallocate on a valid fd with in-range offsets; it reads
        // and writes no memory of ours.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), mode, range.start as libc::off_t, len as libc::off_t) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EINTR) {
            return Err(err);
        }
    }
}

/// `grow` where fallocate is missing (ext2, for one): glibc's
/// posix_fallocate writes into every new block, which reserves it; a full
/// disk part-way cuts the file back to `cur`. (This was an ftruncate, which
/// reserves nothing: a review filled an ext2 disk in WAL mode, and the log
/// append after the growth failed with ENOSPC as a write that may have
/// landed in part, which poisons the database, where a failed growth only
/// fails the commit.)
fn grow_by_writing(file: &File, cur: u64, new_len: u64) -> io::Result<()> {
    // SAFETY: posix_fallocate on a valid fd with in-range offsets; it reads
    // and writes no memory of ours.
    let rc = unsafe { libc::posix_fallocate(file.as_raw_fd(), cur as libc::off_t, (new_len - cur) as libc::off_t) };
    if rc == 0 {
        return Ok(());
    }
    let _ = file.set_len(cur);
    Err(io::Error::from_raw_os_error(rc))
}

/// Gives back the blocks of `range` of `file` (fallocate with
/// `FALLOC_FL_PUNCH_HOLE`): its length stays, and the range reads as zeros
/// from then on. Where the filesystem cannot (ext2, for one), nothing
/// changes and that is no error.
pub fn punch_hole(file: &File, range: std::ops::Range<u64>) -> io::Result<()> {
    match fallocate(file, libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE, range) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::ENOSYS)) => Ok(()),
        r => r,
    }
}

/// Starts the writeback of the dirty pages of `range` (sync_file_range
/// with `SYNC_FILE_RANGE_WRITE`): it neither waits for it nor makes
/// anything durable, and it is only a hint (a filesystem that does not
/// support it is not an error).
pub fn start_writeback(file: &File, range: std::ops::Range<u64>) -> io::Result<()> {
    let len = range.end.saturating_sub(range.start);
    // SAFETY: sync_file_range on a valid fd reads no memory of ours.
    let rc = unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            range.start as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) | Some(libc::ESPIPE) => Ok(()),
        _ => Err(err),
    }
}

/// fsyncs the directory holding `path`, so a newly created file's name is durable.
pub fn sync_parent_dir(path: &Path) -> Result<()> {
    sync_dir_of(path, false)
}

/// `sync_parent_dir` for a file that had its name before this process
/// opened it: a directory this process may search but not read (so not
/// open) is left as it is, as opening the file there worked before.
pub fn sync_parent_dir_if_readable(path: &Path) -> Result<()> {
    sync_dir_of(path, true)
}

fn sync_dir_of(path: &Path, skip_unreadable: bool) -> Result<()> {
    let dir: PathBuf = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let d = match File::open(&dir) {
        Ok(d) => d,
        Err(e) if skip_unreadable && e.kind() == io::ErrorKind::PermissionDenied => return Ok(()),
        Err(e) => return Err(Error::io("open directory", &dir, None, e)),
    };
    d.sync_all().map_err(|e| Error::io("fsync directory", &dir, None, e))
}

/// Opens the file `file` is open on a second time (a new open file
/// description, through /proc/self/fd), read-write with `flags` added. A
/// backend submits its I/O there: the flock stays on the first description
/// alone, so nothing the backend leaves in flight when the process dies
/// (io_uring tears down asynchronously) holds the lock past its exit.
/// The error names the file.
pub fn reopen(file: &File, flags: i32) -> (PathBuf, io::Result<File>) {
    let fd_path = PathBuf::from(format!("/proc/self/fd/{}", file.as_raw_fd()));
    let name = std::fs::read_link(&fd_path).unwrap_or_else(|_| fd_path.clone());
    // The same access as `file`: a database opened read-only (a file the
    // process may not write, a read-only filesystem) gets a read-only reopen.
    // SAFETY: F_GETFL on a valid, open fd reads no memory of ours.
    let access = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    let writable = access < 0 || access & libc::O_ACCMODE != libc::O_RDONLY;
    let f = OpenOptions::new().read(true).write(writable).custom_flags(flags | libc::O_CLOEXEC).open(&fd_path);
    (name, f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    /// Bug: a path that exists but cannot be opened for writing (here a
    /// directory) was reported as a failed create.
    #[test]
    fn an_existing_path_that_fails_to_open_is_not_called_created() {
        let dir = tempfile::tempdir().unwrap();
        let e = open_file(dir.path(), false, true).unwrap_err().to_string();
        assert!(e.contains("open failed") && !e.contains("create"), "{e}");
        let e = open_file(&dir.path().join("no/such/dir.db"), false, true).unwrap_err().to_string();
        assert!(e.contains("create failed"), "{e}");
    }

    /// The fallback reserves the blocks (an ftruncate did not, so a full
    /// disk surfaced later as a failed write).
    #[test]
    fn growing_without_fallocate_reserves_the_blocks() {
        let f = tempfile::tempfile().unwrap();
        f.set_len(100).unwrap();
        grow_by_writing(&f, 100, 1 << 20).unwrap();
        let m = f.metadata().unwrap();
        assert_eq!(m.len(), 1 << 20);
        assert!(m.blocks() * 512 >= 1 << 20, "{} blocks of 512 bytes", m.blocks());
    }
}
