//! The backends by kind, and opening one over a file: the one place that
//! knows which backends this build has and what refusing one means.

use std::fs::File;
use std::sync::Arc;

use super::{DirectIo, IoBackend, SyncIo};
use crate::error::{Error, Result};

/// A kind of backend (AUTO is resolved by `open_auto`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sync,
    Uring,
    Direct,
}

impl Backend {
    pub const ALL: [Backend; 3] = [Backend::Sync, Backend::Uring, Backend::Direct];

    /// The name `IoBackend::name` gives a backend of this kind.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sync => "sync",
            Backend::Uring => "uring",
            Backend::Direct => "direct",
        }
    }

    /// The kind called `name`, if any.
    pub fn named(name: &str) -> Option<Backend> {
        Backend::ALL.into_iter().find(|b| b.name() == name)
    }

    /// A backend of this kind writing `file`, coalescing up to
    /// `write_buffer` bytes per write. `Unsupported` (saying why) where
    /// this build, the kernel, a sandbox or the filesystem refuses it.
    pub fn open(self, file: File, write_buffer: usize) -> Result<Arc<dyn IoBackend>> {
        Ok(match self {
            Backend::Sync => Arc::new(SyncIo::new(file, write_buffer)),
            Backend::Uring => open_uring(file, write_buffer)?,
            Backend::Direct => Arc::new(DirectIo::open(file, write_buffer)?),
        })
    }

    /// The kind `THUNDER_TEST_IO` names (sync, uring or direct; unset or
    /// empty: sync): the backend the fault-injecting tests wrap.
    #[cfg(test)]
    pub fn from_test_env() -> Backend {
        match std::env::var("THUNDER_TEST_IO").unwrap_or_default().as_str() {
            "" => Backend::Sync,
            v => Backend::named(v).unwrap_or_else(|| panic!("THUNDER_TEST_IO={v}: not sync, uring or direct")),
        }
    }
}

/// What AUTO tries first. io_uring measured no faster than sync on this
/// project's machine (bench/io_backends/RESULTS.txt: durable one-put
/// commits about 0.75x sync with the WAL and within noise of it without,
/// bulk loads equal), so AUTO is sync; where io_uring measures at least as
/// fast, this is `Backend::Uring`, and AUTO falls back to sync wherever the
/// kernel or a sandbox refuses io_uring.
pub const AUTO_FIRST: Backend = Backend::Sync;

/// AUTO: `AUTO_FIRST` where it opens, else `sync`.
pub fn open_auto(file: File, write_buffer: usize) -> Result<Arc<dyn IoBackend>> {
    open_first(AUTO_FIRST, file, write_buffer)
}

/// `first` where it opens, else `sync`.
fn open_first(first: Backend, file: File, write_buffer: usize) -> Result<Arc<dyn IoBackend>> {
    if first == Backend::Sync {
        return Backend::Sync.open(file, write_buffer);
    }
    let Ok(dup) = file.try_clone() else { return Backend::Sync.open(file, write_buffer) };
    first.open(dup, write_buffer).or_else(|_| Backend::Sync.open(file, write_buffer))
}

#[cfg(all(feature = "io_uring", target_os = "linux"))]
fn open_uring(file: File, write_buffer: usize) -> Result<Arc<dyn IoBackend>> {
    match super::UringIo::new(file, write_buffer) {
        Ok(io) => Ok(Arc::new(io)),
        Err(e) => Err(Error::Unsupported(format!("io_uring is refused by the kernel or a sandbox here: {e}"))),
    }
}

#[cfg(not(all(feature = "io_uring", target_os = "linux")))]
fn open_uring(_: File, _: usize) -> Result<Arc<dyn IoBackend>> {
    Err(Error::Unsupported("this build of thunder has no io_uring backend (cargo feature `io_uring`, Linux)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Backend::ALL {
            assert_eq!(Backend::named(b.name()), Some(b));
        }
        assert_eq!(Backend::named("fault"), None);
    }

    #[test]
    fn every_backend_names_itself_or_is_unsupported() {
        for b in Backend::ALL {
            match b.open(tempfile::tempfile().unwrap(), 1 << 16) {
                Ok(io) => assert_eq!(io.name(), b.name()),
                Err(Error::Unsupported(why)) => println!("SKIP {}: {why}", b.name()),
                Err(e) => panic!("{}: {e}", b.name()),
            }
        }
        let auto = open_auto(tempfile::tempfile().unwrap(), 1 << 16).unwrap();
        assert_eq!(auto.name(), AUTO_FIRST.name());
    }

    #[test]
    fn auto_falls_back_to_sync_where_its_first_choice_is_refused() {
        // procfs takes no O_DIRECT (nor a read-write open): refused.
        let refused = File::open("/proc/self/status").unwrap();
        assert!(Backend::Direct.open(refused.try_clone().unwrap(), 1 << 16).is_err());
        assert_eq!(open_first(Backend::Direct, refused, 1 << 16).unwrap().name(), "sync");
        // Where the first choice opens, it is taken.
        let uring_opens = Backend::Uring.open(tempfile::tempfile().unwrap(), 1 << 16).is_ok();
        let io = open_first(Backend::Uring, tempfile::tempfile().unwrap(), 1 << 16).unwrap();
        assert_eq!(io.name(), if uring_opens { "uring" } else { "sync" });
    }
}
