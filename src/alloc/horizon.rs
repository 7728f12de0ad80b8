//! Which freed pages may be reused: `Horizon` gathers the snapshots that
//! may still see a page (readers, the durable meta, the persisted one,
//! those steady points are making durable) and decides for the pending
//! sets of `Freelist::release`, young ones included.

use crate::types::TxId;

/// What decides when a freed page is reusable: the snapshots that may
/// still see it. A page freed by txid `t` is in every snapshot from the one
/// that wrote it (its birth) to `t - 1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Horizon {
    /// The oldest snapshot a reader holds (`TxId(u64::MAX)` when none).
    pub readers: TxId,
    /// The durable meta's txid: a crash reopens that snapshot.
    pub durable: TxId,
    /// The newest published meta whose freelist is written. A steady point
    /// makes this one durable or writes the freelist of the current one
    /// (`Env::write_durable_meta`), so no later steady point picks a
    /// snapshot between the two.
    pub persisted: TxId,
    /// The published meta.
    pub current: TxId,
    /// The snapshots steady points in flight picked (each at most
    /// `persisted`).
    pub steady: Vec<TxId>,
}

impl Horizon {
    /// Every snapshot that matters at `t`: readers, durable, published.
    #[cfg(test)]
    pub(super) fn upto(t: u64) -> Horizon {
        let t = TxId(t);
        Horizon { readers: t, durable: t, persisted: t, current: t, steady: Vec::new() }
    }

    /// Pages freed at or before this txid are reusable whatever wrote them.
    pub(super) fn all(&self) -> TxId {
        let steady = self.steady.iter().copied().min().unwrap_or(TxId(u64::MAX));
        self.readers.min(self.durable).min(steady)
    }

    /// The txid after which a page a transaction beginning now copies is
    /// young: newer than every snapshot that is durable, being made
    /// durable, or may be picked by a steady point without a newer meta
    /// being published (the persisted one, which is at least all of those).
    pub fn young_floor(&self) -> TxId {
        self.persisted
    }

    /// Whether young pages freed by `t`, all written after `floor`, may be
    /// reused: no reader sees `t - 1` or older, the commit is published (so
    /// any steady point picked from now on picks `persisted` or a meta at
    /// least `t`), and no durable snapshot, persisted one or one a steady
    /// point in flight picked lies in `floor + 1 ..= t - 1`, where it would
    /// reach them.
    pub(super) fn young_state(&self, floor: TxId, t: TxId) -> Young {
        if t > self.readers || t > self.current {
            return Young::Wait;
        }
        let reaches = |s: &TxId| *s > floor && *s < t;
        if reaches(&self.durable) || reaches(&self.persisted) || self.steady.iter().any(reaches) {
            Young::Pinned
        } else {
            Young::Free
        }
    }
}

/// Where a young pending set stands (`Horizon::young_state`).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Young {
    /// A reader may see it, or its commit is not published yet.
    Wait,
    /// A durable snapshot, or one being made durable, reaches it: it waits
    /// as any pending set does.
    Pinned,
    Free,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::{Freelist, TxAlloc};
    use crate::types::PageId;

    /// A commit at txid 10, durable snapshot 4, that copies page 20
    /// (written by txid 6, after the durable snapshot) and page 30
    /// (written by 3, which the durable snapshot reaches).
    fn young_commit() -> Freelist {
        let mut fl = Freelist::default();
        let mut tx = TxAlloc::new(TxId(10), 100, 1000);
        tx.young_after(Horizon::upto(4).young_floor());
        tx.free_copied(&mut fl, PageId(20), TxId(6)).unwrap();
        tx.free_copied(&mut fl, PageId(30), TxId(3)).unwrap();
        assert!(tx.free_copied(&mut fl, PageId(20), TxId(6)).is_err(), "double free");
        assert!(tx.free(&mut fl, PageId(20), 1).is_err(), "double free, freed as old");
        assert_eq!(tx.freed_pages(), 1, "only the old page counts toward a steady point");
        let p = tx.persist(&mut fl, 4096).unwrap();
        tx.adopt(&mut fl, p);
        assert_eq!(fl.pending_pages(), 2);
        fl
    }

    #[test]
    fn young_pages_wait_for_readers_only() {
        let mut fl = young_commit();
        let past = Horizon { durable: TxId(4), persisted: TxId(4), ..Horizon::upto(10) };
        assert_eq!(fl.releasable(&past), 1);
        assert_eq!(fl.release(&past), 0, "nothing pinned");
        assert!(fl.pool.contains_run(20, 1) && !fl.pool.contains_run(30, 1));
        fl.release(&Horizon::upto(10));
        assert!(fl.pool.contains_run(30, 1), "the durable snapshot moved past 10");
        assert_eq!(fl.pending_pages(), 0);
    }

    #[test]
    fn young_pages_wait_while_a_reader_or_their_commit_is_behind() {
        let mut fl = young_commit();
        let base = Horizon { durable: TxId(4), persisted: TxId(4), ..Horizon::upto(10) };
        for h in [Horizon { readers: TxId(9), ..base.clone() }, Horizon { current: TxId(9), ..base.clone() }] {
            assert_eq!(fl.release(&h), 0);
            assert!(!fl.pool.contains_run(20, 1), "released with {h:?}");
        }
        fl.release(&base);
        assert!(fl.pool.contains_run(20, 1));
    }

    /// A snapshot between the floor and the freeing commit may hold the
    /// young page: durable, persisted (a steady point may pick it), or
    /// picked by a steady point in flight. The page then waits as old
    /// pages do, and counts as pinned.
    #[test]
    fn young_pages_that_a_newer_durable_snapshot_reaches_stay_pinned() {
        let base = Horizon { durable: TxId(4), persisted: TxId(4), ..Horizon::upto(10) };
        let cases = [
            Horizon { durable: TxId(7), persisted: TxId(7), ..base.clone() },
            Horizon { persisted: TxId(7), ..base.clone() },
            Horizon { persisted: TxId(7), steady: vec![TxId(7)], ..base.clone() },
            Horizon { steady: vec![TxId(2), TxId(8)], ..base.clone() },
        ];
        for h in cases {
            let mut fl = young_commit();
            assert_eq!(fl.releasable(&h), 0, "{h:?}");
            assert_eq!(fl.release(&h), 1, "{h:?}");
            assert!(!fl.pool.contains_run(20, 1), "released with {h:?}");
            fl.release(&Horizon { steady: Vec::new(), ..h.clone() });
            assert!(!fl.pool.contains_run(20, 1), "pinned pages wait for the durable snapshot: {h:?}");
            fl.release(&Horizon::upto(10));
            assert!(fl.pool.contains_run(20, 1) && fl.pool.contains_run(30, 1));
        }
        // A snapshot at or below the floor, or at or past the commit, does not reach them.
        let mut fl = young_commit();
        let h = Horizon { steady: vec![TxId(4), TxId(10)], ..base };
        assert_eq!(fl.release(&h), 0);
        assert!(fl.pool.contains_run(20, 1));
    }
}
