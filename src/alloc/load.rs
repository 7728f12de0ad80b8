//! Loading the writer's free set from a snapshot: the persisted freelist,
//! or, where it is damaged, a rebuild from the pages the trees reach.

use crate::alloc::extents::ExtentSet;
use crate::alloc::freelist::{self, Freelist, Stored};
use crate::alloc::meta::Meta;
use crate::alloc::store;
use crate::error::{Corruption, Result};
use crate::tree::{walk, PageReader, Seen};
use crate::types::PageId;

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
    let mut seen = Seen::new(meta.page_count);
    walk(reader, meta.root, &mut seen, false)?;
    let mut free = ExtentSet::new();
    for p in seen.unmarked() {
        free.insert(p, 1).expect("each page once");
    }
    let mut fl = Freelist::from_set(free, Stored::default());
    fl.force_compact = true;
    Ok(fl)
}
