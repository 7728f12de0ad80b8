//! Options for opening a database. Setters validate what they can alone and
//! return `InvalidArgument` on a bad value (never clamp); `Database::open`
//! validates combinations (threshold against page size, page size against
//! the file).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::alloc::PAGE_SIZES;
use crate::error::{Error, Result};

/// When commits become durable (see DESIGN.md 3b: every mode keeps the last
/// durable snapshot intact; the weaker ones only lose recent commits).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Each commit is durable when it returns.
    Full,
    /// Commits are made durable together, at most this interval apart.
    Batched(Duration),
    /// Commits are made durable by `Database::sync` and at close.
    None,
}

/// Which backend writes pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IoBackendKind {
    /// The backend measured fastest here (`sync` in this version: see the
    /// README's I/O backends section); `Database::io_backend` names it.
    Auto,
    Sync,
    Uring,
    Direct,
}

/// Default address space reserved for the mapping (and the default max size).
pub const DEFAULT_MAX_SIZE: u64 = 256 << 30;
pub const DEFAULT_OVERFLOW_THRESHOLD: u32 = 2048;
/// The largest overflow threshold: no inline value is longer.
pub const MAX_OVERFLOW_THRESHOLD: u32 = 32768;
pub const DEFAULT_WRITE_BUFFER: usize = 256 * 1024;
/// Default WAL segment size.
pub const DEFAULT_WAL_SEGMENT: u64 = 64 << 20;
/// Default interval between checkpoints of a database with a WAL.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(300);
/// Default WAL size that triggers a checkpoint.
pub const DEFAULT_CHECKPOINT_WAL_BYTES: u64 = 128 << 20;
/// Default floor of the steady-point rule (see `Options::autosync_bytes`).
pub const DEFAULT_AUTOSYNC_BYTES: u64 = 4 << 20;

/// How to open a database.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    pub(crate) page_size: Option<u32>,
    pub(crate) overflow_threshold: u32,
    pub(crate) read_only: bool,
    pub(crate) create: bool,
    pub(crate) sync_mode: SyncMode,
    pub(crate) max_size: u64,
    pub(crate) lock_timeout: Duration,
    pub(crate) write_buffer_size: usize,
    pub(crate) io_backend: IoBackendKind,
    pub(crate) autosync_bytes: u64,
    pub(crate) wal: bool,
    pub(crate) wal_dir: Option<PathBuf>,
    pub(crate) wal_segment_size: u64,
    pub(crate) checkpoint_interval: Duration,
    pub(crate) checkpoint_wal_bytes: u64,
    pub(crate) discard_missing_wal: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            page_size: None,
            overflow_threshold: DEFAULT_OVERFLOW_THRESHOLD,
            read_only: false,
            create: true,
            sync_mode: SyncMode::Full,
            max_size: 0,
            lock_timeout: Duration::ZERO,
            write_buffer_size: DEFAULT_WRITE_BUFFER,
            io_backend: IoBackendKind::Auto,
            autosync_bytes: DEFAULT_AUTOSYNC_BYTES,
            wal: false,
            wal_dir: None,
            wal_segment_size: DEFAULT_WAL_SEGMENT,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            checkpoint_wal_bytes: DEFAULT_CHECKPOINT_WAL_BYTES,
            discard_missing_wal: false,
        }
    }
}

impl Options {
    pub fn new() -> Options {
        Options::default()
    }

    /// 16 KiB pages and a 4 KiB overflow threshold, for NVMe drives.
    pub fn nvme_optimized() -> Options {
        Options { page_size: Some(16384), overflow_threshold: 4096, ..Options::default() }
    }

    /// Page size for a new database: 4096, 8192, 16384 or 65536. An existing
    /// file must have this size (else `Incompatible`); unset accepts the file's.
    pub fn page_size(mut self, bytes: u32) -> Result<Options> {
        if !PAGE_SIZES.contains(&bytes) {
            return Err(Error::invalid(format!("page size {bytes}: must be 4096, 8192, 16384 or 65536")));
        }
        self.page_size = Some(bytes);
        Ok(self)
    }

    /// Values longer than this go to overflow pages: 64 to 32768 bytes, and at
    /// most half the page size (checked at open).
    pub fn overflow_threshold(mut self, bytes: u32) -> Result<Options> {
        if !(64..=MAX_OVERFLOW_THRESHOLD).contains(&bytes) {
            return Err(Error::invalid(format!(
                "overflow threshold {bytes}: must be 64 to {MAX_OVERFLOW_THRESHOLD} bytes"
            )));
        }
        self.overflow_threshold = bytes;
        Ok(self)
    }

    pub fn read_only(mut self, read_only: bool) -> Options {
        self.read_only = read_only;
        self
    }

    /// Create the file if it is missing (default true).
    pub fn create(mut self, create: bool) -> Options {
        self.create = create;
        self
    }

    pub fn sync_mode(mut self, mode: SyncMode) -> Result<Options> {
        if mode == SyncMode::Batched(Duration::ZERO) {
            return Err(Error::invalid("batched sync interval of 0: use SyncMode::Full"));
        }
        self.sync_mode = mode;
        Ok(self)
    }

    /// Bounds the file under `SyncMode::Batched` and `SyncMode::None`, and
    /// with a WAL between checkpoints. Pages of the durable snapshot that
    /// commits free stay untouched until a newer commit is durable (a crash
    /// must find the durable snapshot intact); pages written after it are
    /// reused once no reader sees them. Once the untouched ones reach this
    /// many bytes, or a quarter of the file if that is more, a steady point
    /// (data synced, meta written and synced) makes the latest commit
    /// durable, on the syncer (the committing thread itself once twice the
    /// threshold passes), so a program that never calls `sync` does not grow
    /// its file without limit. Default 4 MiB; 0 leaves only the
    /// quarter-of-the-file rule.
    pub fn autosync_bytes(mut self, bytes: u64) -> Options {
        self.autosync_bytes = bytes;
        self
    }

    /// Opens a database whose write-ahead log is missing as of its last
    /// checkpoint (default off). A database last used with a log, and not
    /// closed cleanly since, may have commits only that log holds: an open
    /// that finds no segment in the log directory (moved, removed, or
    /// another `wal_dir` than the database was used with) is refused with
    /// `Corrupted` rather than drop them without a word. With this set, it
    /// opens the file as it is, those commits gone; use it only for a log
    /// lost for good. Segments of this database that are in the directory
    /// (from the checkpoint's on) are still replayed.
    pub fn discard_missing_wal(mut self, discard: bool) -> Options {
        self.discard_missing_wal = discard;
        self
    }

    /// Writes commits to a write-ahead log (default off): a durable commit
    /// then costs one log append and one fsync shared with concurrent
    /// committers; the data file is synced at checkpoints.
    pub fn wal(mut self, on: bool) -> Options {
        self.wal = on;
        self
    }

    /// The WAL's directory (default: the database path with `.wal` added).
    pub fn wal_dir(mut self, dir: impl AsRef<Path>) -> Options {
        self.wal_dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Size at which the WAL moves to a new segment file: 1 MiB to 4 GiB.
    pub fn wal_segment_size(mut self, bytes: u64) -> Result<Options> {
        if !((1 << 20)..=(4 << 30)).contains(&bytes) {
            return Err(Error::invalid(format!("WAL segment size {bytes}: must be 1 MiB to 4 GiB")));
        }
        self.wal_segment_size = bytes;
        Ok(self)
    }

    /// Longest time between checkpoints of a database with a WAL (default 5
    /// minutes, checked when a commit ends); zero checkpoints only by size,
    /// by `Database::checkpoint` and at close.
    pub fn checkpoint_interval(mut self, interval: Duration) -> Options {
        self.checkpoint_interval = interval;
        self
    }

    /// WAL bytes that trigger a checkpoint (default 128 MiB, at least 1 MiB).
    pub fn checkpoint_wal_bytes(mut self, bytes: u64) -> Result<Options> {
        if bytes < 1 << 20 {
            return Err(Error::invalid(format!("checkpoint WAL threshold {bytes}: must be at least 1 MiB")));
        }
        self.checkpoint_wal_bytes = bytes;
        Ok(self)
    }

    /// These options with the log directory, if set, made absolute (see
    /// `absolute`).
    pub(crate) fn with_absolute_wal_dir(mut self) -> Result<Options> {
        if let Some(dir) = &self.wal_dir {
            self.wal_dir = Some(absolute(dir)?);
        }
        Ok(self)
    }

    /// The WAL directory for the database at `path`.
    pub(crate) fn wal_dir_for(&self, path: &Path) -> PathBuf {
        self.wal_dir.clone().unwrap_or_else(|| default_wal_dir(path))
    }

    /// Whether the WAL directory for `path` is one other databases may be
    /// configured with too: one set by `wal_dir`, other than the default.
    pub(crate) fn wal_dir_may_be_shared(&self, path: &Path) -> bool {
        self.wal_dir.as_ref().is_some_and(|d| *d != default_wal_dir(path))
    }

    /// Upper bound of the file size; 0 means the default (256 GiB), else at
    /// least 1 MiB. This much address space is reserved for the mapping.
    pub fn max_size(mut self, bytes: u64) -> Result<Options> {
        if bytes != 0 && bytes < 1 << 20 {
            return Err(Error::invalid(format!("max size {bytes}: must be 0 (default) or at least 1 MiB")));
        }
        if bytes > isize::MAX as u64 {
            return Err(Error::invalid(format!("max size {bytes}: exceeds the address space")));
        }
        self.max_size = bytes;
        Ok(self)
    }

    /// How long open waits for another process's lock (default: fail at once).
    pub fn lock_timeout(mut self, timeout: Duration) -> Options {
        self.lock_timeout = timeout;
        self
    }

    /// Largest single write the sync backend issues: 4 KiB to 1 GiB.
    pub fn write_buffer_size(mut self, bytes: usize) -> Result<Options> {
        if !(4096..=1 << 30).contains(&bytes) {
            return Err(Error::invalid(format!("write buffer size {bytes}: must be 4 KiB to 1 GiB")));
        }
        self.write_buffer_size = bytes;
        Ok(self)
    }

    pub fn io_backend(mut self, kind: IoBackendKind) -> Options {
        self.io_backend = kind;
        self
    }

    /// Validates the options that depend on the page size (`page_size`: the
    /// file's, or the one a new file gets). Open calls this before it writes
    /// anything, so a refused combination never initialises a file.
    pub(crate) fn check_for_page_size(&self, page_size: u32) -> Result<()> {
        if self.overflow_threshold > page_size / 2 {
            return Err(Error::invalid(format!(
                "overflow threshold {} exceeds half the page size ({page_size})",
                self.overflow_threshold
            )));
        }
        Ok(())
    }

    /// The effective max size in bytes.
    pub(crate) fn max_size_bytes(&self) -> u64 {
        if self.max_size == 0 {
            DEFAULT_MAX_SIZE
        } else {
            self.max_size
        }
    }
}

/// The database path with `.wal` added: the default WAL directory, its file's
/// alone.
fn default_wal_dir(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".wal");
    PathBuf::from(p)
}

/// `path` made absolute against the working directory of now (not
/// resolving links); an empty path stays empty, for the open to refuse.
pub(crate) fn absolute(path: &Path) -> Result<PathBuf> {
    if path.as_os_str().is_empty() {
        return Ok(PathBuf::new());
    }
    std::path::absolute(path).map_err(|e| Error::io("make the path absolute", path, None, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn bad_values_are_rejected_not_clamped() {
        let o = Options::new();
        assert_eq!(o.clone().page_size(1000).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(o.clone().overflow_threshold(63).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(o.clone().overflow_threshold(32769).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(o.clone().max_size(1000).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(o.clone().write_buffer_size(4095).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert!(o.clone().sync_mode(SyncMode::Batched(Duration::ZERO)).is_err());
        assert_eq!(o.clone().wal_segment_size((1 << 20) - 1).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(o.clone().wal_segment_size((4 << 30) + 1).unwrap_err().kind(), ErrorKind::InvalidArgument);
        assert_eq!(o.clone().checkpoint_wal_bytes(1000).unwrap_err().kind(), ErrorKind::InvalidArgument);
        let o = o.page_size(65536).unwrap().overflow_threshold(32768).unwrap().max_size(1 << 20).unwrap();
        assert_eq!((o.page_size, o.overflow_threshold, o.max_size), (Some(65536), 32768, 1 << 20));
    }

    #[test]
    fn nvme_preset() {
        let o = Options::nvme_optimized();
        assert_eq!((o.page_size, o.overflow_threshold), (Some(16384), 4096));
    }

    #[test]
    fn the_wal_directory_defaults_to_the_path_with_wal_added() {
        let o = Options::new();
        assert_eq!(o.wal_dir_for(Path::new("/d/x.db")), PathBuf::from("/d/x.db.wal"));
        assert_eq!(o.wal_dir("/elsewhere").wal_dir_for(Path::new("/d/x.db")), PathBuf::from("/elsewhere"));
    }
}
