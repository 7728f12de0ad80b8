//! Page allocation. `Freelist` is the writer's in-memory view of the free
//! pages, kept across transactions: `pool` is reusable now, `pending` holds
//! pages freed by a txid until no reader and no durable snapshot older than
//! that txid remains, and `young` the pages a commit copied that were
//! written after the durable snapshot: no durable snapshot reaches them, so
//! they wait for readers only (see `Horizon`). `TxAlloc` is one write
//! transaction's allocator: every change it makes to the pool is undone on
//! rollback, and at commit it writes the change to the persisted set (see
//! `alloc::store`).
//!
//! Invariant: the persisted set of the current meta is exactly
//! `pool ∪ pending`: every page below the high-water mark that the committed
//! tree does not reach.

use std::collections::BTreeMap;

use crate::alloc::extents::{ExtentSet, Overlap};
use crate::alloc::horizon::{Horizon, Young};
use crate::alloc::meta::FreelistRef;
use crate::alloc::store::{self, LogEntry};
use crate::types::{PageId, TxId};

/// Log pages beyond which a commit rewrites the snapshot: `COMPACT_SLACK`
/// plus `COMPACT_FACTOR` times the snapshot's own size, so the work is
/// amortised O(changes). A commit writes a log page of a few entries, and a
/// rewrite merges every run: at a factor of 2, a profile of one-key commits
/// over a fragmented free set spent ~20 us a commit on rewrites; at 8, a
/// quarter of that, for a log chain at most 8 times the snapshot (read once,
/// by the first writer after open).
const COMPACT_SLACK: usize = 4;
const COMPACT_FACTOR: usize = 8;

/// Runs of the pool `TxAlloc::reserve` looks at.
const RESERVE_SEARCH: usize = 64;

/// Where the persisted set lives, as the writer tracks it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stored {
    pub snapshot: PageId,
    pub snapshot_pages: u64,
    /// Log pages, oldest first.
    pub log: Vec<PageId>,
}

#[derive(Debug, Default)]
pub struct Freelist {
    pub pool: ExtentSet,
    pending: BTreeMap<TxId, ExtentSet>,
    /// Young pending sets, by the txid that freed them: the durable txid
    /// when that transaction began (every page in the set was written
    /// after it), and the pages.
    young: BTreeMap<TxId, (TxId, ExtentSet)>,
    /// Every pending page, whatever its txid: a freed page is checked
    /// against this one set, so a commit's cost does not grow with the
    /// number of commits still pending.
    pending_all: ExtentSet,
    pending_pages: u64,
    pub stored: Stored,
    /// The change to the set since its stored form, left by commits that
    /// deferred writing it (`TxAlloc::defer`): their log entries in commit
    /// order, each applying to the set the ones before it left (runs not
    /// split at `store::MAX_RUN` yet). The next commit that writes the
    /// freelist writes them first. Appending is O(the commit's changes);
    /// folding them into one add/remove pair cost a profile 6% of a
    /// one-put commit in tree searches.
    deferred: Vec<LogEntry>,
    /// Set when the stored form could not be used (rebuilt from the tree):
    /// the next commit writes a fresh snapshot.
    pub force_compact: bool,
}

impl Freelist {
    /// A freelist that holds `set`, stored as described by `stored`.
    pub fn from_set(set: ExtentSet, stored: Stored) -> Freelist {
        Freelist { pool: set, stored, ..Freelist::default() }
    }

    pub fn free_pages(&self) -> u64 {
        self.pool.pages()
    }

    pub fn pending_pages(&self) -> u64 {
        self.pending_pages
    }

    /// Moves to the pool every pending set no snapshot that matters can
    /// see any more (`Horizon`). A young set that a durable snapshot, or
    /// one being made durable, reaches joins the pending sets instead;
    /// returns how many pages did (the durable snapshot now pins them).
    /// Each young set is looked at until it leaves its map, so the work is
    /// O(the sets that leave).
    pub fn release(&mut self, horizon: &Horizon) -> u64 {
        let mut pinned = 0;
        while let Some(entry) = self.young.first_entry() {
            let t = *entry.key();
            let state = horizon.young_state(entry.get().0, t);
            if state == Young::Wait {
                break;
            }
            let (_, set) = entry.remove();
            if state == Young::Pinned {
                pinned += set.pages();
                self.pending.entry(t).or_default().insert_all(&set).expect("pending sets are disjoint");
            } else {
                self.retire(&set);
            }
        }
        let all = horizon.all();
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > all {
                break;
            }
            let set = entry.remove();
            self.retire(&set);
        }
        pinned
    }

    /// Moves a pending set to the pool.
    fn retire(&mut self, set: &ExtentSet) {
        self.pending_pages -= set.pages();
        for (s, l) in set.runs() {
            let removed = self.pending_all.remove(s, l);
            debug_assert!(removed, "pending_all holds every pending set");
        }
        self.pool.insert_all(set).expect("pending pages are disjoint from the pool");
    }

    /// Pending pages that `release(horizon)` would move to the pool.
    pub fn releasable(&self, horizon: &Horizon) -> u64 {
        let young: u64 = self
            .young
            .iter()
            .take_while(|(&t, (floor, _))| horizon.young_state(*floor, t) != Young::Wait)
            .filter(|(&t, (floor, _))| horizon.young_state(*floor, t) == Young::Free)
            .map(|(_, (_, set))| set.pages())
            .sum();
        young + self.pending.range(..=horizon.all()).map(|(_, set)| set.pages()).sum::<u64>()
    }

    /// Every page in the persisted set (pool and pending together), with
    /// a transaction's freed pages.
    fn union(&self, freed: &ExtentSet, young: &ExtentSet) -> ExtentSet {
        ExtentSet::union(&[&self.pool, &self.pending_all, freed, young])
            .expect("pool, pending and freed pages are disjoint")
    }
}

#[derive(Debug)]
enum Undo {
    Took(u64, u64),
    Returned(u64, u64),
}

/// Why an allocation failed.
#[derive(Debug, PartialEq, Eq)]
pub enum AllocError {
    /// The file would grow past the configured maximum size.
    Full { needed: u64, max_pages: u64 },
}

/// One write transaction's allocator.
#[derive(Debug)]
pub struct TxAlloc {
    txid: TxId,
    /// The txid the pages it frees are pending at: its own, except for a
    /// freelist written for an earlier commit's meta (`pending_at`).
    pending_txid: TxId,
    /// High-water mark: pages `0..hwm` exist in this transaction's view.
    pub hwm: u64,
    max_pages: u64,
    /// Pages allocated by this transaction and still in use.
    own: ExtentSet,
    /// Committed pages this transaction freed: pending at `txid` on commit.
    freed: ExtentSet,
    /// Those of them written after `young_floor` (`free_copied`): young
    /// pending on commit.
    freed_young: ExtentSet,
    young_floor: TxId,
    log_add: ExtentSet,
    log_remove: ExtentSet,
    undo: Vec<Undo>,
    /// Pages taken ahead for single-page allocations (`reserve`): `start`
    /// and how many are left.
    reserved: (u64, u64),
}

/// What a commit writes for the freelist, and the state to adopt if it lands.
#[derive(Debug)]
pub struct Persisted {
    pub pages: Vec<(PageId, Vec<u8>)>,
    pub meta_ref: FreelistRef,
    /// The new stored form; None when the commit deferred writing it.
    stored: Option<Stored>,
}

impl Persisted {
    /// Whether the commit left the freelist unwritten (`TxAlloc::defer`).
    pub fn deferred(&self) -> bool {
        self.stored.is_none()
    }
}

impl TxAlloc {
    pub fn new(txid: TxId, hwm: u64, max_pages: u64) -> TxAlloc {
        TxAlloc {
            txid,
            pending_txid: txid,
            hwm,
            max_pages,
            own: ExtentSet::new(),
            freed: ExtentSet::new(),
            freed_young: ExtentSet::new(),
            young_floor: TxId(u64::MAX),
            log_add: ExtentSet::new(),
            log_remove: ExtentSet::new(),
            undo: Vec::new(),
            reserved: (0, 0),
        }
    }

    /// Pages written after `floor` that `free_copied` frees are young
    /// (`Horizon::young_floor`); by default none is.
    pub fn young_after(&mut self, floor: TxId) {
        self.young_floor = floor;
    }

    /// Makes the pages this allocator frees pending at `txid` rather than
    /// its own: `Env::pin_steady_meta` writes the freelist of a published
    /// meta under that meta's txid, and the pages it retires must outlive
    /// every reader of that txid.
    pub fn pending_at(&mut self, txid: TxId) {
        self.pending_txid = txid;
    }

    /// Takes a run of `n` pages from the pool, looking at its lowest
    /// `RESERVE_SEARCH` runs, for the next `n` single-page allocations:
    /// pages a commit writes together then sit together in the file, and go
    /// out in one write. Nothing happens when no such run is found (the
    /// pages are then allocated one by one, as usual).
    pub fn reserve(&mut self, fl: &mut Freelist, n: u64) {
        self.unreserve(fl);
        if n < 2 {
            return;
        }
        if let Some(start) = fl.pool.take_within(n, RESERVE_SEARCH) {
            self.took(start, n);
            self.own.insert(start, n).expect("pool pages are not in use");
            self.reserved = (start, n);
        }
    }

    /// Pages of the run `reserve` took that are not yet handed out.
    pub fn reserved_pages(&self) -> u64 {
        self.reserved.1
    }

    /// Returns the reserved pages not handed out to the pool.
    pub fn unreserve(&mut self, fl: &mut Freelist) {
        let (start, left) = std::mem::take(&mut self.reserved);
        if left > 0 {
            self.free(fl, PageId(start), left).expect("reserved pages are this transaction's own");
        }
    }

    /// Committed pages this transaction freed so far that a durable
    /// snapshot may reach (not young).
    pub fn freed_pages(&self) -> u64 {
        self.freed.pages()
    }

    /// Bookkeeping for `n` pages at `start` taken from the pool.
    fn took(&mut self, start: u64, n: u64) {
        self.undo.push(Undo::Took(start, n));
        for (s, l) in self.log_add.subtract(start, n) {
            self.log_remove.insert(s, l).expect("log sets stay disjoint");
        }
    }

    /// Allocates `n` contiguous pages: from the pool (first fit), else at the
    /// high-water mark.
    pub fn alloc(&mut self, fl: &mut Freelist, n: u64) -> Result<PageId, AllocError> {
        if n == 1 && self.reserved.1 > 0 {
            let page = self.reserved.0;
            self.reserved = (page + 1, self.reserved.1 - 1);
            return Ok(PageId(page));
        }
        let start = match fl.pool.take(n) {
            Some(start) => {
                self.took(start, n);
                start
            }
            None => {
                let needed = self.hwm + n;
                if needed > self.max_pages {
                    return Err(AllocError::Full { needed, max_pages: self.max_pages });
                }
                let start = self.hwm;
                self.hwm = needed;
                start
            }
        };
        self.own.insert(start, n).expect("allocated pages are not in use");
        Ok(PageId(start))
    }

    /// Frees `n` pages at `start`. Pages this transaction allocated return to
    /// the pool at once (no snapshot can see them); committed pages become
    /// pending. A page freed twice is an `Overlap` (damaged metadata).
    pub fn free(&mut self, fl: &mut Freelist, start: PageId, n: u64) -> Result<(), Overlap> {
        self.free_as(fl, start.0, n, false)
    }

    /// Frees the committed page `page` that this transaction copied, which
    /// the transaction `born` wrote (its header says so, and the copy
    /// checked the page): young if written after the floor
    /// (`young_after`) and before this transaction.
    pub fn free_copied(&mut self, fl: &mut Freelist, page: PageId, born: TxId) -> Result<(), Overlap> {
        self.free_as(fl, page.0, 1, born > self.young_floor && born < self.txid)
    }

    fn free_as(&mut self, fl: &mut Freelist, start: u64, n: u64, young: bool) -> Result<(), Overlap> {
        if self.own.contains_run(start, n) {
            self.own.remove(start, n);
            fl.pool.insert(start, n)?;
            self.undo.push(Undo::Returned(start, n));
        } else {
            // Freed twice within the transaction: `insert` sees it in the
            // same set, this in the other.
            let (set, other) =
                if young { (&mut self.freed_young, &self.freed) } else { (&mut self.freed, &self.freed_young) };
            let clash = fl.pool.overlaps(start, n)
                || self.own.overlaps(start, n)
                || fl.pending_all.overlaps(start, n)
                || other.overlaps(start, n);
            if clash {
                return Err(Overlap { page: start });
            }
            set.insert(start, n)?;
        }
        for (s, l) in self.log_remove.subtract(start, n) {
            self.log_add.insert(s, l).expect("log sets stay disjoint");
        }
        Ok(())
    }

    /// Reverts every change this transaction made to `fl`.
    pub fn rollback(self, fl: &mut Freelist) {
        for u in self.undo.into_iter().rev() {
            match u {
                Undo::Took(s, n) => fl.pool.insert(s, n).expect("undo restores taken pages"),
                Undo::Returned(s, n) => {
                    let ok = fl.pool.remove(s, n);
                    debug_assert!(ok, "undo removes returned pages");
                }
            }
        }
    }

    /// Allocates and encodes the persisted freelist for this commit. Call after
    /// every other allocation of the commit. Changes to `fl` stay undoable
    /// until `adopt`.
    pub fn persist(&mut self, fl: &mut Freelist, page_size: usize) -> Result<Persisted, AllocError> {
        let new_log_pages = self.log_entries(deferred_entries(fl)).div_ceil(store::log_entries_per_page(page_size));
        let limit = COMPACT_SLACK + COMPACT_FACTOR * fl.stored.snapshot_pages as usize;
        if fl.force_compact || fl.stored.log.len() + new_log_pages > limit {
            self.write_snapshot(fl, page_size)
        } else {
            self.write_log(fl, page_size)
        }
    }

    /// Log entries the change takes (a run longer than `store::MAX_RUN` is
    /// written as several), `deferred` of them from earlier commits.
    fn log_entries(&self, deferred: usize) -> usize {
        deferred + store::stored_runs(&self.log_add) + store::stored_runs(&self.log_remove)
    }

    /// This transaction's change to the set: pages added, then removed
    /// (disjoint, so in either order), runs unsplit.
    fn changes(&self) -> impl Iterator<Item = LogEntry> + '_ {
        self.log_add
            .runs()
            .map(|(start, len)| LogEntry { start, len, added: true })
            .chain(self.log_remove.runs().map(|(start, len)| LogEntry { start, len, added: false }))
    }

    fn write_log(&mut self, fl: &mut Freelist, page_size: usize) -> Result<Persisted, AllocError> {
        let per = store::log_entries_per_page(page_size);
        let deferred = deferred_entries(fl);
        let mut ids = Vec::new();
        while ids.len() < self.log_entries(deferred).div_ceil(per) {
            ids.push(self.alloc(fl, 1)?);
        }
        // What earlier commits deferred first: the log applies in order.
        let entries: Vec<LogEntry> = fl.deferred.iter().copied().chain(self.changes()).flat_map(split_entry).collect();
        let chunks: Vec<&[LogEntry]> = entries.chunks(per).collect();
        let mut stored = fl.stored.clone();
        let mut prev = stored.log.last().copied().unwrap_or(PageId::NONE);
        let mut pages = Vec::new();
        // Extra pages (the entry count shrank while allocating) carry no entries.
        for (i, &id) in ids.iter().enumerate() {
            let chunk = chunks.get(i).copied().unwrap_or(&[]);
            pages.push((id, store::encode_log(chunk, prev, id, page_size, self.txid)));
            stored.log.push(id);
            prev = id;
        }
        let meta_ref = FreelistRef {
            snapshot: stored.snapshot,
            log_head: prev,
            log_pages: stored.log.len() as u32,
            free_pages: fl.pool.pages() + fl.pending_pages + self.freed.pages() + self.freed_young.pages(),
        };
        Ok(Persisted { pages, meta_ref, stored: Some(stored) })
    }

    /// Leaves the change to the free set unwritten: `adopt` keeps it in
    /// `fl`, and the next commit that persists writes it. `last` is the
    /// freelist the previous commit's meta names. O(1): no page, no
    /// encoding (the weak sync modes and a log, where no commit writes its
    /// meta to the file).
    pub fn defer(&self, last: FreelistRef) -> Persisted {
        Persisted { pages: Vec::new(), meta_ref: last, stored: None }
    }

    fn write_snapshot(&mut self, fl: &mut Freelist, page_size: usize) -> Result<Persisted, AllocError> {
        let old = fl.stored.clone();
        let retire = |this: &mut TxAlloc, fl: &mut Freelist, p: PageId, n: u64| {
            this.free(fl, p, n).expect("freelist pages are in use, not free")
        };
        if !old.snapshot.is_none() {
            retire(self, fl, old.snapshot, old.snapshot_pages);
        }
        for &p in &old.log {
            retire(self, fl, p, 1);
        }
        let mut run: Option<(PageId, u64)> = None;
        loop {
            let all = fl.union(&self.freed, &self.freed_young);
            let need = if all.is_empty() { 0 } else { store::snapshot_pages(store::stored_runs(&all) + 1, page_size) };
            match run {
                Some((first, have)) if have >= need => {
                    let pages = vec![(first, store::encode_snapshot(&all, first, have, page_size, self.txid))];
                    let stored = Stored { snapshot: first, snapshot_pages: have, log: Vec::new() };
                    let meta_ref =
                        FreelistRef { snapshot: first, log_head: PageId::NONE, log_pages: 0, free_pages: all.pages() };
                    return Ok(Persisted { pages, meta_ref, stored: Some(stored) });
                }
                Some((first, have)) => self.free(fl, first, have).expect("own run returns to the pool"),
                None if need == 0 => {
                    let meta_ref = FreelistRef::default();
                    return Ok(Persisted { pages: Vec::new(), meta_ref, stored: Some(Stored::default()) });
                }
                None => {}
            }
            run = Some((self.alloc(fl, need)?, need));
        }
    }

    /// The commit landed: pages freed by this transaction become pending
    /// (young ones young) and `persisted` describes the stored set. Returns
    /// the pages now pending that a durable snapshot may reach.
    pub fn adopt(self, fl: &mut Freelist, persisted: Persisted) -> u64 {
        let freed = self.freed.pages();
        match persisted.stored {
            Some(stored) => {
                fl.stored = stored;
                fl.deferred.clear();
                fl.force_compact = false;
            }
            None => fl.deferred.extend(self.changes()),
        }
        if !self.freed.is_empty() {
            fl.pending_pages += self.freed.pages();
            fl.pending_all.insert_all(&self.freed).expect("pages freed by the txn are not pending yet");
            match fl.pending.entry(self.pending_txid) {
                std::collections::btree_map::Entry::Vacant(v) => {
                    v.insert(self.freed);
                }
                std::collections::btree_map::Entry::Occupied(mut o) => {
                    o.get_mut().insert_all(&self.freed).expect("pending sets are disjoint")
                }
            }
        }
        if !self.freed_young.is_empty() {
            fl.pending_pages += self.freed_young.pages();
            fl.pending_all.insert_all(&self.freed_young).expect("pages freed by the txn are not pending yet");
            let (floor, set) = fl.young.entry(self.pending_txid).or_insert((self.young_floor, ExtentSet::new()));
            *floor = (*floor).min(self.young_floor);
            set.insert_all(&self.freed_young).expect("pending sets are disjoint");
        }
        freed
    }
}

/// A log entry as stored: a run longer than `store::MAX_RUN` as several.
fn split_entry(e: LogEntry) -> impl Iterator<Item = LogEntry> {
    (0..e.len.div_ceil(store::MAX_RUN)).map(move |i| LogEntry {
        start: e.start + i * store::MAX_RUN,
        len: (e.len - i * store::MAX_RUN).min(store::MAX_RUN),
        added: e.added,
    })
}

/// Stored log entries the changes `fl` holds deferred take.
fn deferred_entries(fl: &Freelist) -> usize {
    fl.deferred.iter().map(|e| e.len.div_ceil(store::MAX_RUN) as usize).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::load::from_stored;
    use std::collections::HashMap;

    /// Persists through a fake disk and reloads, checking the round trip.
    fn reload(disk: &HashMap<PageId, Vec<u8>>, fref: &FreelistRef, page_count: u64) -> Freelist {
        let ps = 4096;
        from_stored(
            fref,
            |p| {
                let buf = &disk[&p];
                store::decode_snapshot(buf, p, ps, page_count).map(|r| (buf.len() as u64 / ps as u64, r))
            },
            |p| store::decode_log(&disk[&p], p, ps, page_count),
        )
        .unwrap_or_else(|(p, e)| panic!("page {p}: {e}"))
    }

    #[test]
    fn release_respects_the_horizon() {
        let mut fl = Freelist::default();
        let mut tx = TxAlloc::new(TxId(5), 100, 1000);
        tx.free(&mut fl, PageId(10), 2).unwrap();
        let p = tx.persist(&mut fl, 4096).unwrap();
        tx.adopt(&mut fl, p);
        assert_eq!((fl.free_pages(), fl.pending_pages()), (0, 2));
        fl.release(&Horizon::upto(4));
        assert_eq!(fl.free_pages(), 0, "a reader at txid 4 still sees pages freed by 5");
        fl.release(&Horizon::upto(5));
        assert_eq!((fl.free_pages(), fl.pending_pages()), (2, 0));
    }

    #[test]
    fn own_pages_return_to_the_pool_and_rollback_restores_it() {
        let mut fl = Freelist::default();
        fl.pool.insert(10, 5).unwrap();
        let mut tx = TxAlloc::new(TxId(2), 50, 1000);
        assert_eq!(tx.alloc(&mut fl, 2).unwrap(), PageId(10));
        assert_eq!(tx.alloc(&mut fl, 5).unwrap(), PageId(50), "no run of 5 left: high-water mark");
        tx.free(&mut fl, PageId(10), 2).unwrap();
        assert!(fl.pool.contains_run(10, 5));
        tx.free(&mut fl, PageId(50), 5).unwrap();
        assert!(fl.pool.contains_run(50, 5));
        assert!(tx.free(&mut fl, PageId(11), 1).is_err(), "double free");
        tx.rollback(&mut fl);
        assert_eq!(fl.pool.runs().collect::<Vec<_>>(), vec![(10, 5)]);
    }

    /// A log chain that loops is damage found on its first repeat, however
    /// long the meta says the chain is (it could make load read and keep
    /// up to 2^32 pages).
    #[test]
    fn a_looping_log_chain_is_found_at_once() {
        let fref = FreelistRef { snapshot: PageId::NONE, log_head: PageId(7), log_pages: 1_000_000, free_pages: 0 };
        let reads = std::cell::Cell::new(0u32);
        let r = from_stored(
            &fref,
            |_| unreachable!("no snapshot"),
            |p| {
                reads.set(reads.get() + 1);
                Ok((if p == PageId(7) { PageId(8) } else { PageId(7) }, Vec::new()))
            },
        );
        let (page, what) = r.expect_err("a loop");
        assert_eq!(page, PageId(7), "{what}");
        assert_eq!(reads.get(), 2, "{what}");
    }

    /// The freelist's own pages listed as free are damage (see
    /// `tests::crafted::a_freelist_listing_its_own_pages_is_rebuilt`).
    #[test]
    fn a_set_holding_its_own_pages_is_rejected() {
        let log = |added: Vec<(u64, u64)>| {
            move |_: PageId| {
                Ok((PageId::NONE, added.iter().map(|&(start, len)| LogEntry { start, len, added: true }).collect()))
            }
        };
        let fref = |free_pages| FreelistRef { snapshot: PageId::NONE, log_head: PageId(9), log_pages: 1, free_pages };
        assert!(from_stored(&fref(2), |_| unreachable!(), log(vec![(10, 2)])).is_ok());
        assert!(from_stored(&fref(3), |_| unreachable!(), log(vec![(8, 3)])).is_err(), "the log page itself");
        let snap = FreelistRef { snapshot: PageId(20), log_head: PageId::NONE, log_pages: 0, free_pages: 4 };
        assert!(from_stored(&snap, |_| Ok((2, vec![(10, 4)])), |_| unreachable!()).is_ok());
        assert!(from_stored(&snap, |_| Ok((2, vec![(18, 3), (30, 1)])), |_| unreachable!()).is_err(), "its own run");
        let both = FreelistRef { snapshot: PageId(20), log_head: PageId(21), log_pages: 1, free_pages: 1 };
        let r = from_stored(&both, |_| Ok((2, vec![(10, 1)])), |_| Ok((PageId::NONE, Vec::new())));
        assert!(r.is_err(), "a log page inside the snapshot run");
    }

    /// Bug: `write_log` sized its pages by the number of runs, but writes a
    /// run longer than `store::MAX_RUN` (2^31 - 1 pages) as several entries:
    /// when those tipped the entries over a page, the last ones were
    /// dropped, and the next open found the freelist damaged (its count
    /// off) and rebuilt it from the tree. Fixed in `TxAlloc::persist` and
    /// `write_log`, which count the entries as written.
    #[test]
    fn log_pages_are_sized_by_the_entries_written() {
        let ps = 4096;
        let per = store::log_entries_per_page(ps) as u64;
        let mut fl = Freelist::default();
        let hwm = 10 + 4 * per + store::MAX_RUN + 10;
        let mut tx = TxAlloc::new(TxId(2), hwm, u64::MAX);
        for i in 0..per - 1 {
            tx.free(&mut fl, PageId(10 + 2 * i), 1).unwrap();
        }
        tx.free(&mut fl, PageId(10 + 4 * per), store::MAX_RUN + 5).unwrap();
        let p = tx.persist(&mut fl, ps).unwrap();
        let disk: HashMap<PageId, Vec<u8>> = p.pages.iter().cloned().collect();
        let fref = p.meta_ref;
        let want = fl.union(&tx.freed, &tx.freed_young);
        tx.adopt(&mut fl, p);
        assert_eq!(reload(&disk, &fref, u64::MAX).pool, want);
    }

    /// Commits that defer the freelist (`defer`) leave their changes to the
    /// next one that persists: every persisted form reloads to exactly the
    /// set, whichever commits deferred, through log pages and snapshots.
    #[test]
    fn deferred_changes_reach_the_next_persisted_freelist() {
        let ps = 4096;
        let mut disk: HashMap<PageId, Vec<u8>> = HashMap::new();
        let mut fl = Freelist::default();
        let mut live: Vec<u64> = Vec::new();
        let mut hwm = 2;
        let mut seed = 777u64;
        let (mut logs, mut snapshots) = (0, 0);
        for t in 1..600u64 {
            fl.release(&Horizon::upto(t - 1));
            let mut tx = TxAlloc::new(TxId(t), hwm, 1 << 40);
            for _ in 0..(t % 5 + 1) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                if !live.is_empty() && seed % 2 == 0 {
                    let p = live.swap_remove((seed >> 33) as usize % live.len());
                    tx.free(&mut fl, PageId(p), 1).unwrap();
                }
                live.push(tx.alloc(&mut fl, 1).unwrap().0);
            }
            // Runs of deferring commits of every length, then one that persists.
            let persist = (seed >> 40) % 9 == 0;
            let p = if persist { tx.persist(&mut fl, ps).unwrap() } else { tx.defer(FreelistRef::default()) };
            hwm = tx.hwm;
            let fref = p.meta_ref;
            for (id, buf) in &p.pages {
                disk.insert(*id, buf.clone());
            }
            tx.adopt(&mut fl, p);
            if persist {
                if fref.log_pages == 0 {
                    snapshots += 1;
                } else {
                    logs += 1;
                }
                assert!(fl.deferred.is_empty());
                assert_eq!(
                    reload(&disk, &fref, hwm).pool,
                    fl.union(&ExtentSet::new(), &ExtentSet::new()),
                    "commit {t}"
                );
            }
        }
        assert!(logs > 0 && snapshots > 0, "both stored forms: {logs} logs, {snapshots} snapshots");
    }

    #[test]
    fn max_size_is_enforced() {
        let mut fl = Freelist::default();
        let mut tx = TxAlloc::new(TxId(1), 8, 10);
        assert!(tx.alloc(&mut fl, 2).is_ok());
        assert_eq!(tx.alloc(&mut fl, 1), Err(AllocError::Full { needed: 11, max_pages: 10 }));
    }

    /// Many commits through log pages and compactions; every reload equals
    /// the writer's view, and the log never grows without bound.
    #[test]
    fn persisted_set_round_trips_across_commits() {
        let ps = 4096;
        let mut disk: HashMap<PageId, Vec<u8>> = HashMap::new();
        let mut fl = Freelist::default();
        let mut fref = FreelistRef::default();
        let mut live: Vec<u64> = Vec::new(); // pages in use by the "tree"
        let mut hwm = 2;
        let mut seed = 12345u64;
        for t in 1..400u64 {
            fl.release(&Horizon::upto(t - 1));
            let mut tx = TxAlloc::new(TxId(t), hwm, 1 << 40);
            for _ in 0..(t % 7) {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                if !live.is_empty() && seed % 3 == 0 {
                    let p = live.swap_remove((seed >> 33) as usize % live.len());
                    tx.free(&mut fl, PageId(p), 1).unwrap();
                }
                live.push(tx.alloc(&mut fl, 1).unwrap().0);
            }
            if t % 50 == 0 {
                // a big delete, as when a bucket goes
                for p in live.drain(..live.len() / 2) {
                    tx.free(&mut fl, PageId(p), 1).unwrap();
                }
            }
            let p = tx.persist(&mut fl, ps).unwrap();
            hwm = tx.hwm;
            for (id, buf) in &p.pages {
                disk.insert(*id, buf.clone());
            }
            fref = p.meta_ref;
            tx.adopt(&mut fl, p);
            let loaded = reload(&disk, &fref, hwm);
            assert_eq!(loaded.pool, fl.union(&ExtentSet::new(), &ExtentSet::new()), "commit {t}");
            assert!(
                loaded.stored.log.len() <= COMPACT_SLACK + COMPACT_FACTOR * loaded.stored.snapshot_pages as usize + 1
            );
            // structure pages are neither free nor live
            for p in loaded.stored.log.iter().chain(std::iter::once(&loaded.stored.snapshot)) {
                assert!(p.is_none() || !loaded.pool.contains(p.0), "commit {t}: page {p} both free and used");
            }
        }
        // every page below the mark is live, free, or freelist structure
        let loaded = reload(&disk, &fref, hwm);
        let structure = loaded.stored.log.len() as u64 + loaded.stored.snapshot_pages;
        assert_eq!(live.len() as u64 + loaded.pool.pages() + structure, hwm - 2);
    }
}
