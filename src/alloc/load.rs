//! Loading the writer's free set from a snapshot: the persisted freelist
//! (rebuilt from its stored pieces, `from_stored`),
//! or, where it is damaged, a rebuild from the pages the trees reach.

use crate::alloc::extents::ExtentSet;
use crate::alloc::freelist::{Freelist, Stored};
use crate::alloc::meta::{FreelistRef, Meta};
use crate::alloc::store::{self, LogEntry};
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
    from_stored(
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

/// Rebuilds the set from its stored form. `read_snapshot(first)` and
/// `read_log(page)` read and decode one stored piece, bounding its page ids
/// by the file's page count.
pub(crate) fn from_stored(
    fref: &FreelistRef,
    read_snapshot: impl Fn(PageId) -> Result<(u64, Vec<(u64, u64)>), Corruption>,
    read_log: impl Fn(PageId) -> Result<(PageId, Vec<LogEntry>), Corruption>,
) -> Result<Freelist, (PageId, Corruption)> {
    // The pages holding the freelist: never twice, never in the set.
    let mut structure = ExtentSet::new();
    let (mut set, mut stored) = load_snapshot(fref, read_snapshot, &mut structure)?;
    let chain = read_log_chain(fref, read_log, &mut structure)?;
    apply_log(&mut set, &mut stored, chain)?;
    if set.pages() != fref.free_pages {
        let found = Some(set.pages());
        return Err((fref.log_head, Corruption::Count { of: "free pages", recorded: fref.free_pages, found }));
    }
    // A freelist page listed as free would be handed out while the chain
    // still uses it, and retired twice by the next compaction.
    if let Some((s, l)) = structure.runs().find(|&(s, l)| set.overlaps(s, l)) {
        return Err((PageId(s), damaged(format!("pages {s}..+{l} hold the freelist but are listed as free"))));
    }
    Ok(Freelist::from_set(set, stored))
}

/// One page of the log chain: its id and the entries it holds.
type LogPage = (PageId, Vec<LogEntry>);

/// A damaged persisted freelist, described by `what`.
fn damaged(what: String) -> Corruption {
    Corruption::Freelist { what }
}

/// The set the snapshot of `fref` holds (empty without one), its pages added to `structure`.
fn load_snapshot(
    fref: &FreelistRef,
    read_snapshot: impl Fn(PageId) -> Result<(u64, Vec<(u64, u64)>), Corruption>,
    structure: &mut ExtentSet,
) -> Result<(ExtentSet, Stored), (PageId, Corruption)> {
    let mut set = ExtentSet::new();
    let mut stored = Stored::default();
    if !fref.snapshot.is_none() {
        let (pages, runs) = read_snapshot(fref.snapshot).map_err(|e| (fref.snapshot, e))?;
        for (s, l) in runs {
            set.insert(s, l).map_err(|o| (fref.snapshot, damaged(format!("page {} listed twice", o.page))))?;
        }
        stored.snapshot = fref.snapshot;
        stored.snapshot_pages = pages;
        structure.insert(fref.snapshot.0, pages).map_err(|_| (fref.snapshot, damaged("empty snapshot run".into())))?;
    }
    Ok((set, stored))
}

/// The log pages of `fref` with their entries, newest first, their ids added to `structure`.
fn read_log_chain(
    fref: &FreelistRef,
    read_log: impl Fn(PageId) -> Result<(PageId, Vec<LogEntry>), Corruption>,
    structure: &mut ExtentSet,
) -> Result<Vec<LogPage>, (PageId, Corruption)> {
    let mut chain = Vec::new();
    let mut at = fref.log_head;
    while !at.is_none() {
        if chain.len() >= fref.log_pages as usize {
            return Err((at, damaged(format!("log chain longer than the {} pages the meta records", fref.log_pages))));
        }
        // Checked before reading, so a chain that loops costs one lap, not
        // as many reads as the meta's (u32) log length.
        structure
            .insert(at.0, 1)
            .map_err(|_| (at, damaged(format!("log chain reaches page {at} again (a loop, or the snapshot run)"))))?;
        let (prev, entries) = read_log(at).map_err(|e| (at, e))?;
        chain.push((at, entries));
        at = prev;
    }
    if chain.len() != fref.log_pages as usize {
        let found = Some(chain.len() as u64);
        return Err((
            fref.log_head,
            Corruption::Count { of: "freelist log pages", recorded: fref.log_pages.into(), found },
        ));
    }
    Ok(chain)
}

/// Applies the log `chain` (newest first) to `set`, oldest page first, and records its pages in `stored`.
fn apply_log(set: &mut ExtentSet, stored: &mut Stored, chain: Vec<LogPage>) -> Result<(), (PageId, Corruption)> {
    for (page, entries) in chain.into_iter().rev() {
        for e in entries {
            let ok = if e.added { set.insert(e.start, e.len).is_ok() } else { set.remove(e.start, e.len) };
            if !ok {
                return Err((page, damaged(format!("log entry {}+{} does not apply", e.start, e.len))));
            }
        }
        stored.log.push(page);
    }
    Ok(())
}
