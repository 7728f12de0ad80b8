//! The engine's one error type. Every variant carries the context a user needs
//! to act on it (path, page id, sizes, expected vs found), and `kind()` maps it
//! onto the closed set of outcomes the C API reports as `thunder_status`.

use std::io;
use std::path::{Path, PathBuf};

use crate::types::{Lsn, PageId, TxId};

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The category of an error. One variant per C status (see `ffi::status`), so
/// the mapping is a plain exhaustive match in both directions.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    NotFound,
    KeyExists,
    BucketNotFound,
    BucketExists,
    InvalidArgument,
    KeyTooLarge,
    ValueTooLarge,
    ReadOnly,
    TxnClosed,
    Busy,
    Locked,
    Io,
    NoSpace,
    Corrupted,
    Incompatible,
    Unsupported,
    NoMemory,
    Internal,
}

impl ErrorKind {
    /// Whether a write transaction that hit this error can continue. The others
    /// fail the transaction: every later call on it reports the same error.
    pub fn leaves_txn_usable(self) -> bool {
        match self {
            ErrorKind::NotFound
            | ErrorKind::KeyExists
            | ErrorKind::BucketNotFound
            | ErrorKind::BucketExists
            | ErrorKind::InvalidArgument
            | ErrorKind::KeyTooLarge
            | ErrorKind::ValueTooLarge
            | ErrorKind::ReadOnly
            | ErrorKind::TxnClosed
            | ErrorKind::Busy
            | ErrorKind::Locked
            | ErrorKind::Unsupported
            | ErrorKind::Incompatible => true,
            ErrorKind::Io | ErrorKind::NoSpace | ErrorKind::Corrupted | ErrorKind::NoMemory | ErrorKind::Internal => {
                false
            }
        }
    }
}

/// Everything that can go wrong in thunder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{}: no such database file", path.display())]
    FileNotFound { path: PathBuf },
    #[error("key not found")]
    KeyNotFound,
    /// A cursor delete with no current item (unpositioned, past an end, or
    /// just deleted).
    #[error("the cursor has no current item (unpositioned, past an end, or its item was just deleted)")]
    NoCurrentItem,
    #[error("key already exists")]
    KeyExists,
    #[error("bucket {name} not found")]
    BucketNotFound { name: String },
    #[error("bucket {name} already exists")]
    BucketExists { name: String },
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("key of {len} bytes exceeds the maximum of {max} bytes")]
    KeyTooLarge { len: usize, max: usize },
    #[error("value of {len} bytes exceeds the maximum of {max} bytes")]
    ValueTooLarge { len: u64, max: u64 },
    #[error("read-only: {0}")]
    ReadOnly(&'static str),
    #[error("transaction closed: {0}")]
    TxnClosed(&'static str),
    #[error("busy: {0}")]
    Busy(&'static str),
    #[error("{}: locked by another process or another open handle", path.display())]
    Locked { path: PathBuf },
    #[error("{op} failed on {}{}: {source}", path.display(), at_offset(*offset))]
    Io {
        op: &'static str,
        path: PathBuf,
        offset: Option<u64>,
        #[source]
        source: io::Error,
    },
    #[error("no space: {what} ({})", path.display())]
    NoSpace { path: PathBuf, what: String },
    /// A write refused because an earlier fsync or meta write failed: pages
    /// written since the last good sync are suspect until the database is
    /// reopened. `cause` is that failure's message. Kind `Io`.
    #[error("{op} refused: the database refuses writes after a failed fsync or meta write ({cause}); reopen it")]
    Poisoned { op: &'static str, cause: String },
    /// Damage found in the file; `page` is where, when one page is to blame.
    #[error("corrupted{}: {cause}", on_page(*page))]
    Corrupted { page: Option<PageId>, cause: Corruption },
    #[error("{}: incompatible file: {what}", path.display())]
    Incompatible { path: PathBuf, what: String },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("out of memory: {0}")]
    NoMemory(String),
    #[error("internal error (a bug in thunder): {0}")]
    Internal(String),
    /// A write transaction that failed earlier; repeats that failure's kind.
    #[error("transaction failed earlier and can only be aborted: {what}")]
    TxnFailed { kind: ErrorKind, what: String },
}

/// What is wrong in a damaged file: the payload of `Error::Corrupted`, which
/// names the page. The variants say what kind of damage it is, so that code
/// can act on it (WAL replay must tell a torn tail from a damaged record);
/// the strings in some of them are descriptions for humans.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Corruption {
    /// A page's checksum does not match its bytes (the whole page; for an
    /// overflow run see `HeaderChecksum` and `ValueChecksum`).
    #[error("checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum { stored: u32, computed: u32 },
    /// The checksum of an overflow run's header, which covers the header only.
    #[error("overflow header checksum mismatch (stored {stored:#010x}, computed {computed:#010x})")]
    HeaderChecksum { stored: u32, computed: u32 },
    /// An overflow value whose CRC32 is not the one its leaf entry holds.
    #[error("value checksum mismatch (leaf has {expected:#010x}, value hashes to {computed:#010x})")]
    ValueChecksum { expected: u32, computed: u32 },
    /// A page of another type than the reference to it expects.
    #[error("page type {found} where {expected} was expected")]
    PageType { found: u8, expected: &'static str },
    /// The id in a page's header is not the page it was read from.
    #[error("page id field {found} does not match the page")]
    PageId { found: u64 },
    /// A key not above the one before it (or empty where keys cannot be).
    #[error("entry {entry}: key out of order or empty")]
    KeyOrder { entry: usize },
    /// A tree deeper than any thunder writes: a cycle, or a forged tree.
    #[error("tree deeper than {max} levels (a cycle?)")]
    DepthExceeded { max: usize },
    /// No usable meta page, or a meta whose fields cannot be right.
    #[error("{what}")]
    Meta { what: String },
    /// A damaged write-ahead log record (not a torn tail, which ends replay).
    #[error("WAL record at {lsn}: {what}")]
    WalRecord { lsn: Lsn, what: String },
    /// A write-ahead log segment missing, misplaced or with a damaged header.
    #[error("WAL segment {segment}: {what}")]
    WalSegment { segment: u32, what: String },
    /// A page whose entries, offsets or lengths do not fit together.
    #[error("{what}")]
    Layout { what: String },
    /// A file shorter than the pages it must hold: `pages` of `page_size`,
    /// as the meta with `txid` records them (None: as a page read needs).
    #[error("{}", truncated(*len, *pages, *page_size, *txid))]
    Truncated { len: u64, pages: u64, page_size: u64, txid: Option<TxId> },
    /// A reference to pages outside the database (`2..page_count`).
    #[error("reference to pages {first}..+{pages} outside the database (pages 2..{page_count})")]
    Bounds { first: u64, pages: u64, page_count: u64 },
    /// The persisted freelist does not hold together (the writer rebuilds it
    /// from the tree; `check` reports it).
    #[error("{what}")]
    Freelist { what: String },
    /// A count on disk (entries, buckets, free pages) that the pages
    /// contradict; `found` is what was counted, when it is known.
    #[error("{}", count(of, *recorded, *found))]
    Count { of: &'static str, recorded: u64, found: Option<u64> },
    /// Damage to how pages fit together: pages used twice or leaked, keys
    /// outside their parent's range, leaves at different depths, a malformed
    /// bucket record.
    #[error("{what}")]
    Structure { what: String },
    /// Damage found inside a named part of the file (a bucket's tree, the
    /// freelist): what `check` reports, with the place it was looking at.
    #[error("{place}: {cause}")]
    Within { place: String, cause: Box<Corruption> },
}

impl Corruption {
    /// This damage, as found inside `place`.
    pub fn within(self, place: impl Into<String>) -> Corruption {
        Corruption::Within { place: place.into(), cause: Box::new(self) }
    }
}

fn truncated(len: u64, pages: u64, page_size: u64, txid: Option<TxId>) -> String {
    match txid {
        Some(t) => format!("file truncated: {len} bytes, the meta (txid {t}) records {pages} pages of {page_size}"),
        None => format!("file truncated: {len} bytes, {pages} pages of {page_size} needed"),
    }
}

fn count(of: &str, recorded: u64, found: Option<u64>) -> String {
    match found {
        Some(n) => format!("{n} {of} found, {recorded} recorded"),
        None => format!("{recorded} {of} recorded, which the contents contradict"),
    }
}

fn at_offset(offset: Option<u64>) -> String {
    offset.map(|o| format!(" at offset {o}")).unwrap_or_default()
}

fn on_page(page: Option<PageId>) -> String {
    page.map(|p| format!(" page {p}")).unwrap_or_default()
}

impl Error {
    /// The category, matching one C status.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::FileNotFound { .. } | Error::KeyNotFound | Error::NoCurrentItem => ErrorKind::NotFound,
            Error::KeyExists => ErrorKind::KeyExists,
            Error::BucketNotFound { .. } => ErrorKind::BucketNotFound,
            Error::BucketExists { .. } => ErrorKind::BucketExists,
            Error::InvalidArgument(_) => ErrorKind::InvalidArgument,
            Error::KeyTooLarge { .. } => ErrorKind::KeyTooLarge,
            Error::ValueTooLarge { .. } => ErrorKind::ValueTooLarge,
            Error::ReadOnly(_) => ErrorKind::ReadOnly,
            Error::TxnClosed(_) => ErrorKind::TxnClosed,
            Error::Busy(_) => ErrorKind::Busy,
            Error::Locked { .. } => ErrorKind::Locked,
            Error::Io { .. } | Error::Poisoned { .. } => ErrorKind::Io,
            Error::NoSpace { .. } => ErrorKind::NoSpace,
            Error::Corrupted { .. } => ErrorKind::Corrupted,
            Error::Incompatible { .. } => ErrorKind::Incompatible,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::NoMemory(_) => ErrorKind::NoMemory,
            Error::Internal(_) => ErrorKind::Internal,
            Error::TxnFailed { kind, .. } => *kind,
        }
    }

    /// An OS error with its context. ENOSPC, EDQUOT and EFBIG (the file size
    /// limit of the filesystem or of `RLIMIT_FSIZE`) become `NoSpace` here,
    /// where the error is built, so no caller has to remember to translate them.
    /// The OS error may be wrapped (a backend naming the op and offset).
    pub fn io(op: &'static str, path: &Path, offset: Option<u64>, source: io::Error) -> Error {
        match os_error(&source) {
            Some(libc::ENOSPC) | Some(libc::EDQUOT) | Some(libc::EFBIG) => {
                Error::NoSpace { path: path.to_path_buf(), what: format!("{op}{}: {source}", at_offset(offset)) }
            }
            Some(libc::ENOMEM) => Error::NoMemory(format!("{op} on {}: {source}", path.display())),
            _ => Error::Io { op, path: path.to_path_buf(), offset, source },
        }
    }

    /// Damage found on a page.
    pub fn corrupted(page: PageId, cause: Corruption) -> Error {
        Error::Corrupted { page: Some(page), cause }
    }

    pub fn invalid(what: impl Into<String>) -> Error {
        Error::InvalidArgument(what.into())
    }

    /// A copy that keeps the kind and message; used to repeat a write
    /// transaction's failure on every later call.
    /// Replaying a replay keeps one "failed earlier" prefix.
    pub fn replay(&self) -> Error {
        match self {
            Error::TxnFailed { kind, what } => Error::TxnFailed { kind: *kind, what: what.clone() },
            _ => Error::TxnFailed { kind: self.kind(), what: self.to_string() },
        }
    }
}

/// Renders a byte string for messages: UTF-8 text quoted, anything else hex.
pub(crate) fn show_bytes(b: &[u8]) -> String {
    const LIMIT: usize = 64;
    let shown = &b[..b.len().min(LIMIT)];
    let more = if b.len() > LIMIT { "..." } else { "" };
    match std::str::from_utf8(shown) {
        Ok(s) if !s.chars().any(char::is_control) => format!("\"{s}{more}\""),
        _ => {
            let hex: String = shown.iter().map(|c| format!("{c:02x}")).collect();
            format!("0x{hex}{more}")
        }
    }
}

/// The OS error number of `e`, or of the first I/O error in its source chain.
fn os_error(e: &io::Error) -> Option<i32> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = e.get_ref().map(|s| s as _);
    let mut found = e.raw_os_error();
    while let (None, Some(err)) = (found, next) {
        found = err.downcast_ref::<io::Error>().and_then(io::Error::raw_os_error);
        next = err.source();
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_becomes_no_space_and_keeps_context() {
        let e = Error::io("write", Path::new("/x/db"), Some(8192), io::Error::from_raw_os_error(libc::ENOSPC));
        assert_eq!(e.kind(), ErrorKind::NoSpace);
        let msg = e.to_string();
        assert!(msg.contains("/x/db") && msg.contains("8192"), "{msg}");
    }

    #[test]
    fn efbig_becomes_no_space_like_enospc() {
        let e = Error::io("grow file", Path::new("/x/db"), Some(1 << 40), io::Error::from_raw_os_error(libc::EFBIG));
        assert_eq!(e.kind(), ErrorKind::NoSpace);
        let msg = e.to_string();
        assert!(msg.contains("/x/db") && msg.contains(&(1u64 << 40).to_string()), "{msg}");
    }

    #[test]
    fn a_wrapped_enospc_is_still_no_space() {
        #[derive(Debug)]
        struct At(io::Error);
        impl std::fmt::Display for At {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "write at offset 4096: {}", self.0)
            }
        }
        impl std::error::Error for At {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        let wrapped = io::Error::other(At(io::Error::from_raw_os_error(libc::ENOSPC)));
        let e = Error::io("write pages", Path::new("/x/db"), Some(0), wrapped);
        assert_eq!(e.kind(), ErrorKind::NoSpace, "{e}");
        assert!(e.to_string().contains("offset 4096"), "{e}");
        let plain = io::Error::other(At(io::Error::from_raw_os_error(libc::EIO)));
        assert_eq!(Error::io("write pages", Path::new("/x/db"), None, plain).kind(), ErrorKind::Io);
    }

    #[test]
    fn other_os_errors_stay_io() {
        let e = Error::io("fsync", Path::new("/x/db"), None, io::Error::from_raw_os_error(libc::EIO));
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.to_string().contains("fsync failed on /x/db"), "{e}");
    }

    #[test]
    fn poisoned_is_io_and_says_to_reopen() {
        let fsync = Error::io("fsync", Path::new("/x/db"), None, io::Error::from_raw_os_error(libc::EIO));
        let e = Error::Poisoned { op: "write", cause: fsync.to_string() };
        assert_eq!(e.kind(), ErrorKind::Io);
        let msg = e.to_string();
        assert!(msg.contains("refuses writes after a failed fsync or meta write"), "{msg}");
        assert!(msg.contains("fsync failed on /x/db") && msg.contains("reopen it"), "{msg}");
    }

    #[test]
    fn replay_keeps_kind() {
        let e = Error::corrupted(PageId(7), Corruption::Checksum { stored: 1, computed: 2 });
        let r = e.replay();
        assert_eq!(r.kind(), ErrorKind::Corrupted);
        assert!(r.to_string().contains("page 7"), "{r}");
    }

    /// Regression: a write transaction stores the replay of its failure and
    /// replays that on each later call, so messages read "transaction failed
    /// earlier and can only be aborted: transaction failed earlier ...".
    #[test]
    fn replay_of_a_replay_has_one_prefix() {
        let r = Error::corrupted(PageId(7), Corruption::Checksum { stored: 1, computed: 2 }).replay().replay();
        assert_eq!(r.kind(), ErrorKind::Corrupted);
        assert_eq!(r.to_string().matches("failed earlier").count(), 1, "{r}");
    }

    #[test]
    fn corrupted_names_the_page_and_the_cause() {
        let e = Error::corrupted(PageId(7), Corruption::Checksum { stored: 0xdead, computed: 0xbeef });
        assert_eq!(e.to_string(), "corrupted page 7: checksum mismatch (stored 0x0000dead, computed 0x0000beef)");
        let e =
            Error::Corrupted { page: None, cause: Corruption::Count { of: "buckets", recorded: 4, found: Some(3) } };
        assert_eq!(e.to_string(), "corrupted: 3 buckets found, 4 recorded");
        let nested = Corruption::KeyOrder { entry: 2 }.within("bucket \"users\"");
        assert_eq!(
            Error::corrupted(PageId(9), nested).to_string(),
            "corrupted page 9: bucket \"users\": entry 2: key out of order or empty"
        );
    }

    #[test]
    fn a_damaged_wal_record_names_its_lsn() {
        let c = Corruption::WalRecord { lsn: Lsn::new(2, 4096), what: "record type 9".into() };
        assert_eq!(c.to_string(), "WAL record at 2:4096: record type 9");
        let e = Error::Corrupted { page: None, cause: c };
        assert_eq!(e.kind(), ErrorKind::Corrupted);
        assert_eq!(e.to_string(), "corrupted: WAL record at 2:4096: record type 9");
    }

    #[test]
    fn show_bytes_quotes_text_and_hexes_binary() {
        assert_eq!(show_bytes(b"users"), "\"users\"");
        assert_eq!(show_bytes(&[0, 255]), "0x00ff");
    }
}
