//! Backup: the pages of one snapshot, copied as they are.
//!
//! A read transaction pins the snapshot, so none of the pages it uses can
//! be rewritten while the copy runs: not the tree pages it reaches and not
//! the pages holding its freelist (retired freelist pages wait for readers
//! like any freed page). Those are copied byte for byte, up to the
//! snapshot's page count. The pages its freelist lists as free are the
//! only ones the writer may be writing meanwhile; they are not read and
//! stay zero (a hole) in the copy, where they are free too. Both meta slots
//! get the snapshot's meta with checkpoint LSN 0 and a new database id: the
//! copy is a database without a write-ahead log, holding everything the snapshot holds,
//! commits that were only in the source's log included.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use crate::alloc::{detached_snapshot, new_db_id, read_freelist, unreachable_pages, LogMark, Meta};
use crate::error::{Error, Result};
use crate::tree::PageReader;
use crate::txn::ReadTx;
use crate::types::PageId;

/// Largest single read and write of the copy.
const CHUNK_BYTES: u64 = 1 << 20;

/// Writes the snapshot `tx` reads, whose meta is `snapshot`, to `file`
/// (empty, at `path`): a complete database file, not yet synced. Returns
/// its length in bytes.
pub(crate) fn write_snapshot(tx: &ReadTx, snapshot: &Meta, file: &File, path: &Path) -> Result<u64> {
    // A new id: the copy is a database of its own, and the source's log
    // (which a copy put in the source's place would find) is not its log.
    let meta = Meta { checkpoint_lsn: 0, db_id: new_db_id(), log: LogMark::Clean, ..*snapshot };
    let reader = tx.page_reader();
    let ps = reader.page_size as u64;
    // The stored freelist, when the snapshot has one and it reads whole.
    let stored = if meta.freelist_deferred { None } else { read_freelist(&reader, &meta).ok() };
    let (free, meta, freelist) = match stored {
        Some(fl) => (fl.pool, meta, None),
        None => {
            // The snapshot's freelist is not on disk (the weak sync modes
            // and a log defer it to the next steady point or checkpoint),
            // or it is damaged (a copy of it would list its own pages free,
            // holes in the copy): the copy gets one of its own, a snapshot
            // of every page the trees do not reach, placed past the
            // source's pages.
            let free = unreachable_pages(&reader, &meta)?;
            let (bytes, fref) = detached_snapshot(&free, PageId(meta.page_count), ps as usize, meta.txid);
            let pages = bytes.len() as u64 / ps;
            let copy = Meta { page_count: meta.page_count + pages, freelist: fref, freelist_deferred: false, ..meta };
            (free, copy, Some(bytes))
        }
    };
    let len = meta.page_count * ps;
    file.set_len(len).map_err(|e| Error::io("size the copy", path, Some(len), e))?;
    let mut next = 2;
    for (start, pages) in free.runs() {
        copy_pages(&reader, file, path, next, start)?;
        next = start + pages;
    }
    let end = match freelist {
        Some(bytes) if !bytes.is_empty() => {
            let at = meta.freelist.snapshot.0;
            file.write_all_at(&bytes, at * ps).map_err(|e| Error::io("write freelist", path, Some(at * ps), e))?;
            at
        }
        _ => meta.page_count,
    };
    copy_pages(&reader, file, path, next, end)?;
    for slot in 0..2 {
        file.write_all_at(&meta.encode(slot), slot * ps)
            .map_err(|e| Error::io("write meta", path, Some(slot * ps), e))?;
    }
    Ok(len)
}

/// Copies pages `from..to` of the snapshot to the same place in `file`.
fn copy_pages(reader: &PageReader<'_>, file: &File, path: &Path, from: u64, to: u64) -> Result<()> {
    let ps = reader.page_size as u64;
    let per_chunk = (CHUNK_BYTES / ps).max(1);
    let mut page = from;
    while page < to {
        let n = per_chunk.min(to - page);
        let bytes = reader.raw(PageId(page), n)?;
        file.write_all_at(bytes, page * ps).map_err(|e| Error::io("write copy", path, Some(page * ps), e))?;
        page += n;
    }
    Ok(())
}
