//! Loading the writer's free set from a snapshot: the persisted freelist,
//! or, where it is damaged, a rebuild from the pages the trees reach.

use crate::alloc::extents::ExtentSet;
use crate::alloc::freelist::{self, Freelist, Stored};
use crate::alloc::meta::{FreelistRef, Meta};
use crate::alloc::store;
use crate::error::{Corruption, Result};
use crate::tree::{walk, PageReader, Seen};
use crate::types::{PageId, TxId};

/// Reads the persisted freelist of `meta`.
pub(crate) fn read_freelist(
    reader: &PageReader<'_>,
    meta: &Meta,
) -> std::result::Result<Freelist, (PageId, Corruption)> {
    let ps = reader.page_size;
    let pc = meta.page_count;
    freelist::load(
        &meta.freelist,
        |p| {
            let first = reader.bytes(p, 1)?;
            let n = store::snapshot_run_len(first);
            let run = reader.bytes(p, n)?;
            store::decode_snapshot(run, p, ps, pc).map(|runs| (n, runs))
        },
        |p| {
            let b = reader.bytes(p, 1)?;
            store::decode_log(b, p, ps, pc)
        },
    )
}

/// The writer's freelist for `meta`. If the stored freelist is damaged, it is
/// rebuilt from the tree (every page the tree does not reach is free) and the
/// next commit writes it afresh.
pub(crate) fn load_freelist(reader: &PageReader<'_>, meta: &Meta) -> Result<Freelist> {
    if let Ok(fl) = read_freelist(reader, meta) {
        return Ok(fl);
    }
    let mut fl = Freelist::from_set(unreachable_pages(reader, meta)?, Stored::default());
    fl.force_compact = true;
    Ok(fl)
}

/// Every page of `meta`'s snapshot that its trees do not reach (a shallow walk).
pub(crate) fn unreachable_pages(reader: &PageReader<'_>, meta: &Meta) -> Result<ExtentSet> {
    let mut seen = Seen::new(meta.page_count);
    walk(reader, meta.root, &mut seen, false)?;
    let mut free = ExtentSet::new();
    for p in seen.unmarked() {
        free.insert(p, 1).expect("each page once");
    }
    Ok(free)
}

/// A freelist snapshot of `set` on its own, placed at `first` (past every
/// page `set` names): its bytes, and the reference a meta gives it.
pub(crate) fn detached_snapshot(
    set: &ExtentSet,
    first: PageId,
    page_size: usize,
    txid: TxId,
) -> (Vec<u8>, FreelistRef) {
    if set.is_empty() {
        return (Vec::new(), FreelistRef::default());
    }
    let pages = store::snapshot_pages(store::stored_runs(set), page_size);
    let bytes = store::encode_snapshot(set, first, pages, page_size, txid);
    let fref = FreelistRef { snapshot: first, log_head: PageId::NONE, log_pages: 0, free_pages: set.pages() };
    (bytes, fref)
}
