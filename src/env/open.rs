//! Opening: the file and its lock, a new file's two metas, choosing the
//! meta of an existing file, the mapping, and the I/O backend.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::sync::Arc;

use crate::alloc::{new_db_id, select_meta, Meta, Selected, PAGE_SIZES};
use crate::env::durability::Durability;
use crate::env::pages::{read_at, Pages};
use crate::env::readers::Readers;
use crate::env::writer::Writer;
use crate::env::{Config, Env};
use crate::error::{Corruption, Error, Result};
use crate::options::{IoBackendKind, Options};
use crate::storage::{
    lock_dir, lock_file, open_auto, open_file, sync_parent_dir, sync_parent_dir_if_readable, Backend, IoBackend, Mmap,
    VerifiedBits, WriteOp, WriteSyncError,
};
use crate::tree::max_key_len;
use crate::types::Lsn;
use crate::wal::{create_dir_durable, segment_owner};

/// Builds the I/O backend for an opened file (tests substitute their own).
pub(crate) type BackendFactory<'a> = &'a dyn Fn(File, &Options) -> Result<Arc<dyn IoBackend>>;

impl Env {
    /// The backend `opts` asks for; AUTO is `AUTO_FIRST` (sync on this
    /// project's measurements) where it opens, else sync. `Unsupported`
    /// where the kind asked for is refused here.
    pub fn default_backend(f: File, opts: &Options) -> Result<Arc<dyn IoBackend>> {
        let wb = opts.write_buffer_size;
        match opts.io_backend {
            IoBackendKind::Auto => open_auto(f, wb),
            IoBackendKind::Sync => Backend::Sync.open(f, wb),
            IoBackendKind::Uring => Backend::Uring.open(f, wb),
            IoBackendKind::Direct => Backend::Direct.open(f, wb),
        }
    }

    /// Opens the file and, where the log is on, its log directory. With
    /// the environment comes the directory this open made, if it did:
    /// the caller keeps it (`MadeDir::keep`) once the open is complete,
    /// or drops it, still holding the environment, to remove it.
    pub fn open(path: &Path, opts: Options, backend: BackendFactory<'_>) -> Result<(Env, MadeDir)> {
        // A new file: validate against the page size it would get before
        // creating it, so a refused open leaves no file behind.
        let existed = path.exists();
        if !existed {
            opts.check_for_page_size(opts.page_size.unwrap_or(4096))?;
        }
        // Likewise a log directory that is something else (a file): said
        // plainly, not as "File exists" from creating it.
        let wal_dir = opts.wal_dir_for(path);
        if std::fs::metadata(&wal_dir).is_ok_and(|m| !m.is_dir()) {
            let e = std::io::Error::from(std::io::ErrorKind::NotADirectory);
            return Err(Error::io("use as the write-ahead log directory", &wal_dir, None, e));
        }
        let f = open_file(path, opts.read_only, opts.create && !opts.read_only)?;
        lock_file(&f, path, !opts.read_only, opts.lock_timeout)?;
        // The log directory next: before anything reads or removes a
        // segment, another database configured with the same directory
        // must be told (`Locked`).
        // A refused open removes the directory it made (a review found an
        // empty one left beside a file that was no database), while it holds
        // the file's lock: no other open of this database can have taken the
        // directory since (an earlier try at this, before the lock, removed
        // a directory another process had just made and locked).
        let made = MadeDir { made: opts.wal && !opts.read_only && create_dir_durable(&wal_dir)?, dir: wal_dir.clone() };
        // Refused: no new file left behind (it is empty, and ours).
        let discard_new = |_: &Error| {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
        };
        let wal_lock = match wal_dir.is_dir() {
            true => Some(lock_dir(&wal_dir, !opts.read_only, opts.lock_timeout).inspect_err(discard_new)?),
            false => None,
        };
        // A creation cut short in its first meta write holds no commit: it
        // is made again, at the page size it was begun with.
        let len = file_len(&f, path)?;
        let cut = cut_short_creation(&f, path, len)?;
        let len = match cut {
            None => len,
            Some(_) if opts.read_only => {
                let what = "a new database whose creation was cut short (a read-write open makes it again)";
                return Err(Error::Incompatible { path: path.into(), what: what.into() });
            }
            Some(_) => {
                f.set_len(0).map_err(|e| Error::io("truncate", path, None, e))?;
                0
            }
        };
        let io = backend(f.try_clone().map_err(|e| Error::io("dup", path, None, e))?, &opts)?;
        let (meta, slot) = if len == 0 {
            if opts.read_only {
                return Err(Error::Incompatible { path: path.into(), what: "empty file opened read-only".into() });
            }
            let ps = opts.page_size.or(cut).unwrap_or(4096);
            opts.check_for_page_size(ps)?;
            // Segments another database of this name left in the log
            // directory go first: once the new file has its metas, a later
            // open would take them for this database's (its checkpoint LSN
            // is 0) and replay them. A kill before the metas leaves an
            // empty file, which the next open initialises the same way.
            if wal_dir.exists() {
                refuse_foreign_log(&wal_dir, opts.wal_dir_may_be_shared(path)).inspect_err(discard_new)?;
                crate::wal::remove_log(&wal_dir, None, opts.wal)?;
            }
            (init_file(&f, path, ps)?, 0)
        } else {
            read_meta(&*io, &f, path, len)?
        };
        let created = len == 0;
        // A new file has its two metas now.
        let len = if created { file_len(&f, path)? } else { len };
        check_meta_against(&meta, &opts, len, path)?;
        let ps64 = meta.page_size as u64;
        let reserve = opts.max_size_bytes().max(len).next_multiple_of(ps64);
        let map = Mmap::new(&f, reserve as usize, len).map_err(|e| Error::io("mmap", path, None, e))?;
        if !opts.read_only && !created {
            // What we read may sit in the page cache only (a crash between a
            // meta write and its fsync): make it the durable snapshot. And
            // its name: a process killed after writing a new file's metas,
            // before syncing its directory, left a file whose directory
            // entry may not be durable yet. (A file made here was synced,
            // name and all, by `init_file`.)
            io.sync().map_err(|e| Error::io("fsync", path, None, e))?;
            sync_parent_dir_if_readable(path)?;
        }
        let meta = match meta.db_id {
            0 if !opts.read_only => give_id(&*io, path, meta, slot, &wal_dir)?,
            _ => meta,
        };
        let page_size = meta.page_size as usize;
        let env = Env {
            config: Config {
                path: path.to_path_buf(),
                page_size,
                read_only: opts.read_only,
                sync_mode: opts.sync_mode,
                overflow_threshold: opts.overflow_threshold as usize,
                max_key: max_key_len(page_size),
                autosync_bytes: opts.autosync_bytes,
            },
            pages: Pages {
                file: f,
                io,
                map,
                verified: VerifiedBits::new(reserve / ps64),
                page_size,
                max_pages: reserve / ps64,
            },
            readers: Readers::new(meta),
            writer: Writer::new(),
            durability: Durability::new(&meta, slot),
            wal: std::sync::OnceLock::new(),
            open_writers: AtomicUsize::new(0),
            free_pages: AtomicU64::new(meta.freelist.free_pages),
            pending_pages: AtomicU64::new(0),
            handles: AtomicUsize::new(1),
            _wal_lock: wal_lock,
        };
        Ok((env, made))
    }
}

/// The log directory an open made: removed (if still empty) when the open
/// fails, before the file's lock goes (see `Env::open`), unless kept.
pub(crate) struct MadeDir {
    dir: PathBuf,
    made: bool,
}

impl MadeDir {
    /// The open succeeded: the directory is the log's.
    pub fn keep(mut self) {
        self.made = false;
    }
}

impl Drop for MadeDir {
    fn drop(&mut self) {
        if self.made {
            let _ = std::fs::remove_dir(&self.dir);
        }
    }
}

fn file_len(f: &File, path: &Path) -> Result<u64> {
    Ok(f.metadata().map_err(|e| Error::io("stat", path, None, e))?.len())
}

/// The chosen meta against the options and the file's length `len`.
fn check_meta_against(meta: &Meta, opts: &Options, len: u64, path: &Path) -> Result<()> {
    let ps = meta.page_size;
    if let Some(want) = opts.page_size {
        if want != ps {
            return Err(Error::Incompatible {
                path: path.into(),
                what: format!("file has {ps}-byte pages, options ask for {want}"),
            });
        }
    }
    opts.check_for_page_size(ps)?;
    if meta.page_count.checked_mul(ps as u64).is_none_or(|need| len < need) {
        return Err(Error::Corrupted {
            page: None,
            cause: Corruption::Truncated { len, pages: meta.page_count, page_size: ps as u64, txid: Some(meta.txid) },
        });
    }
    Ok(())
}

/// Writes the two metas of a new database into an empty file.
fn init_file(f: &File, path: &Path, page_size: u32) -> Result<Meta> {
    let meta = write_new_metas(path, page_size, |page, off| f.write_all_at(page, off), || f.sync_data())?;
    f.sync_all().map_err(|e| Error::io("fsync", path, None, e))?;
    sync_parent_dir(path)?;
    Ok(meta)
}

/// A new database's metas, written with `write(page, offset)`: slot 1
/// first, which makes the file two pages long, made durable (`sync`)
/// before slot 0 is written. A kill after that write leaves slot 0 a hole
/// of zeros, which open takes for a damaged spare meta, so the file opens.
/// Slot 0 first left a file of one page after such a kill, refused at
/// every later open as truncated; and without the sync between, a power
/// cut (which may keep any of the writes not yet synced) could do the
/// same. What a power cut can leave now: no file, an empty one, two pages
/// of zeros (the length kept, not the bytes: refused, see `not_thunder`),
/// or a whole slot 1 meta.
fn write_new_metas(
    path: &Path,
    page_size: u32,
    mut write: impl FnMut(&[u8], u64) -> std::io::Result<()>,
    sync: impl FnOnce() -> std::io::Result<()>,
) -> Result<Meta> {
    let meta = Meta { db_id: new_db_id(), ..Meta::empty(page_size) };
    let slot1 = page_size as u64;
    write(&meta.encode(1), slot1).map_err(|e| Error::io("write meta", path, Some(slot1), e))?;
    sync().map_err(|e| Error::io("fsync", path, None, e))?;
    write(&meta.encode(0), 0).map_err(|e| Error::io("write meta", path, Some(0), e))?;
    Ok(meta)
}

/// The page size of a new file whose creation a kill or power cut stopped
/// during its first meta write (`write_new_metas`): shorter than two
/// pages, zeros where slot 0 goes, then the start of a new database's slot
/// 1 meta. It holds no commit. None for any other file.
/// Only a length between one and two pages of a legal size (at most one
/// size fits) is read.
fn cut_short_creation(f: &File, path: &Path, len: u64) -> Result<Option<u32>> {
    let Some(ps) = PAGE_SIZES.into_iter().find(|&ps| len > ps as u64 && len < 2 * ps as u64) else {
        return Ok(None);
    };
    let buf = read_start(f, path, len)?;
    let (slot0, slot1) = buf.split_at(ps as usize);
    Ok((slot0.iter().all(|&b| b == 0) && Meta::is_new_meta_prefix(slot1, 1, ps)).then_some(ps))
}

/// The first `len` bytes of `f`.
fn read_start(f: &File, path: &Path, len: u64) -> Result<Vec<u8>> {
    let mut buf = vec![0u8; len as usize];
    f.read_exact_at(&mut buf, 0).map_err(|e| Error::io("read", path, Some(0), e))?;
    Ok(buf)
}

/// What open says of a file of `len` bytes holding no thunder meta. Two
/// pages of zeros (a legal page size) is also what a power cut during a
/// creation can leave: the length the slot 1 write gave the file lasted,
/// none of its bytes did. Such a file is still refused, and left as it is (a file of
/// zeros may be anyone's), but the message says so.
fn not_thunder(f: &File, path: &Path, len: u64) -> Error {
    let zeros = PAGE_SIZES.into_iter().any(|ps| len == 2 * ps as u64)
        && read_start(f, path, len).is_ok_and(|b| b.iter().all(|&x| x == 0));
    let what = match zeros {
        true => format!(
            "not a thunder database: {len} bytes of zeros, which is also what a power cut while a database \
             was being created leaves (it holds no commit): delete the file to create the database again"
        ),
        false => "not a thunder database".to_string(),
    };
    Error::Incompatible { path: path.into(), what }
}

/// A file made before database ids (0 in its metas) gets one at its first
/// read-write open, before its log is read: otherwise it would log under 0,
/// and a backup or compacted copy of it (which gets an id) put back in its
/// place would take that log as its own; and a copy made before ids put in
/// place of a database with an id would take that one's log.
///
/// One file with id 0 has an id already: one whose id a build from before
/// ids wrote zeros over (its metas do not know the field) while it went on
/// logging in the segments that name the id. Its checkpoint LSN is not 0
/// (a build writes metas with the log on only at checkpoints), and the
/// segment holding it names the id: that id is taken back, or its own log
/// would be refused. A copy (backup, compaction) has checkpoint LSN 0 and
/// gets a new id.
///
/// The meta with the id is written to the spare slot, then over the chosen
/// one, each synced, the txid unchanged. A crash in between leaves two
/// metas of the same txid, one with the id: either opens the same
/// snapshot, and one with 0 is given an id again (a new one names no
/// segment yet: the log is written only after this).
fn give_id(io: &dyn IoBackend, path: &Path, meta: Meta, slot: u64, wal_dir: &Path) -> Result<Meta> {
    let own = match meta.checkpoint_lsn {
        0 => None,
        lsn => segment_owner(wal_dir, Lsn(lsn).segment()).filter(|&id| id != 0),
    };
    let meta = Meta { db_id: own.unwrap_or_else(new_db_id), ..meta };
    for s in [1 - slot, slot] {
        let off = s * meta.page_size as u64;
        let page = meta.encode(s);
        io.write_and_sync(&[WriteOp { offset: off, data: &page }]).map_err(|e| match e {
            WriteSyncError::Write(e) => Error::io("write meta (database id)", path, Some(off), e),
            WriteSyncError::Sync(e) => Error::io("fsync", path, None, e),
        })?;
    }
    Ok(meta)
}

/// A new file does not clear a log directory whose segments name a
/// database and hold records: that may be another database's log, left
/// after a crash with acknowledged commits only it holds. The default
/// directory, `<path>.wal`, too (a review lost such a log's commits to a
/// new file at `path`): another database may be set to it, and a former
/// file of this path, gone after a crash, may be restored. Segments cut to
/// their headers (a clean close) hold nothing and are cleared, except in a
/// directory set by option (`shared`), which they mark as another
/// database's. Nor is a directory cleared that holds a file under a
/// segment's name that is no segment.
fn refuse_foreign_log(wal_dir: &Path, shared: bool) -> Result<()> {
    use crate::wal::Kept;
    let what = match crate::wal::kept_segment(wal_dir, shared)? {
        None => return Ok(()),
        Some((id, Kept::Named(owner))) => format!(
            "a new database would clear this write-ahead log, which belongs to database {owner:016x} \
             (segment {id}): remove its segments if that database is gone, or set another wal_dir"
        ),
        Some((id, Kept::NotASegment)) => format!(
            "a new database would clear this write-ahead log directory, and its file {} is no log \
             segment: move it away, or set another wal_dir",
            crate::wal::segment_name(id)
        ),
    };
    Err(Error::Incompatible { path: wal_dir.into(), what })
}

/// Reads and picks the meta of an existing file. A read past the end of the
/// file (`UnexpectedEof`, see `IoBackend::read_batch`) is no meta there; any
/// other read error is the error.
fn read_meta(io: &dyn IoBackend, f: &File, path: &Path, len: u64) -> Result<(Meta, u64)> {
    let read = |offset, len| match read_at(io, offset, len) {
        Ok(page) => Ok(Some(page)),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(None),
        Err(e) => Err(Error::io("read meta", path, Some(offset), e)),
    };
    match select_meta(read)? {
        Selected::Meta(m, slot) => Ok((m, slot)),
        Selected::NotThunder => Err(not_thunder(f, path, len)),
        Selected::Incompatible(what) => Err(Error::Incompatible { path: path.into(), what }),
        Selected::Damaged(what) => Err(Error::Corrupted { page: None, cause: Corruption::Meta { what } }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Database;

    /// A kill or power cut at each write of a new file's metas: the writes
    /// before it done, the one it hits landed in part (`cut` bytes, 0 for
    /// none), none after. The next open makes or opens an empty database,
    /// at the page size the creation began with, that takes commits. A
    /// read-only open says why it cannot.
    #[test]
    fn a_kill_while_creating_the_file_leaves_one_that_opens() {
        for page_size in [4096u32, 16384, 65536] {
            let ps = page_size as usize;
            for done in 0..2 {
                for cut in [0, 512, 4096, ps / 2, ps - 512].into_iter().filter(|&c| c < ps) {
                    let case = format!("{page_size}-byte pages, killed in write {done} after {cut} bytes");
                    let dir = tempfile::tempdir().unwrap();
                    let path = dir.path().join("new.db");
                    let f = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path).unwrap();
                    let mut left = done;
                    let killed = write_new_metas(
                        &path,
                        page_size,
                        |page, off| match left {
                            0 => {
                                f.write_all_at(&page[..cut], off)?;
                                Err(std::io::Error::other("killed"))
                            }
                            _ => {
                                left -= 1;
                                f.write_all_at(page, off)
                            }
                        },
                        || Ok(()),
                    );
                    assert!(killed.is_err());
                    drop(f);
                    let len = std::fs::metadata(&path).unwrap().len();
                    if len != 0 && len < 2 * page_size as u64 {
                        let ro = Database::open_with_options(&path, crate::Options::new().read_only(true));
                        let err = ro.err().unwrap_or_else(|| panic!("{case}: opened read-only"));
                        assert_eq!(err.kind(), crate::ErrorKind::Incompatible, "{case}: {err}");
                        assert!(err.to_string().contains("creation was cut short"), "{case}: {err}");
                    }
                    let opts = match len {
                        0 => crate::Options::new().page_size(page_size).unwrap(),
                        _ => crate::Options::new(),
                    };
                    let db = Database::open_with_options(&path, opts).unwrap_or_else(|e| panic!("{case}: {e}"));
                    assert_eq!(db.env.config.page_size, ps, "{case}");
                    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), None);
                    let mut w = db.begin_write().unwrap();
                    w.put(b"k", b"v").unwrap();
                    w.commit().unwrap();
                    drop(db);
                    let db = Database::open(&path).unwrap();
                    assert_eq!(db.begin_read().unwrap().get(b"k").unwrap(), Some(&b"v"[..]), "{case}");
                    db.check().unwrap_or_else(|e| panic!("{case}: check: {e}"));
                }
            }
        }
    }

    /// Bug (a power-loss review): the two metas of a new file were written
    /// with no sync between, so a power cut could keep slot 0's write and
    /// lose slot 1's: a one-page file, refused at every later open as
    /// truncated. Slot 1 is now synced before slot 0 is written. A power
    /// cut can still keep the length slot 1's write gave the file and none
    /// of its bytes; two pages of zeros stay refused (a file of zeros may
    /// be anyone's), with a message that says what to do.
    #[test]
    fn a_power_cut_while_creating_the_file_leaves_one_that_opens_or_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        let steps = std::cell::RefCell::new(Vec::new());
        write_new_metas(
            &path,
            4096,
            |_, off| {
                steps.borrow_mut().push(format!("write {off}"));
                Ok(())
            },
            || {
                steps.borrow_mut().push("sync".to_string());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(steps.into_inner(), ["write 4096", "sync", "write 0"]);
        for (len, hint) in [(8192, true), (32768, true), (12288, false)] {
            std::fs::write(&path, vec![0u8; len]).unwrap();
            let err = Database::open(&path).err().unwrap_or_else(|| panic!("{len}: opened"));
            assert_eq!(err.kind(), crate::ErrorKind::Incompatible, "{len}: {err}");
            assert_eq!(err.to_string().contains("delete the file"), hint, "{len}: {err}");
            assert_eq!(std::fs::read(&path).unwrap(), vec![0u8; len], "{len}: the file was changed");
        }
    }

    /// A file shorter than two pages is made again only when it is exactly
    /// that: a one-page file holding a new database's meta in slot 0, or
    /// zeros then a slot 1 meta with a commit, stays refused.
    #[test]
    fn only_a_cut_short_creation_is_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let meta = Meta { db_id: 9, ..Meta::empty(4096) };
        let committed = Meta { txid: crate::types::TxId(3), ..meta };
        let mut slot1 = committed.encode(1);
        slot1.truncate(2048);
        let mut zeros_then_committed = vec![0u8; 4096];
        zeros_then_committed.extend_from_slice(&slot1);
        let cases: [(&str, Vec<u8>); 3] = [
            ("slot 0 alone", meta.encode(0)),
            ("zeros, then part of a committed slot 1", zeros_then_committed),
            ("zeros", vec![0u8; 6144]),
        ];
        for (what, bytes) in cases {
            std::fs::write(&path, &bytes).unwrap();
            Database::open(&path).err().unwrap_or_else(|| panic!("{what}: opened"));
            assert_eq!(std::fs::read(&path).unwrap(), bytes, "{what}: the file was changed");
        }
    }
}
