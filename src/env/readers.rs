//! The published meta (what a new reader starts from) and the reader table
//! (who is reading which snapshot), under one mutex: a reader pins under it
//! and the writer reads the oldest pin under it, so a page is reused only
//! when no reader can see it. The reuse horizon also counts the durable
//! snapshot and the snapshots steady points are making durable (see
//! `Env::current_and_horizon` and `alloc::Horizon`).

use crate::alloc::{Horizon, Meta};
use crate::env::lock_order::{Rank, RankedGuard, RankedMutex};
use crate::env::Env;
use crate::types::TxId;

#[derive(Debug)]
pub(crate) struct Readers {
    published: RankedMutex<Published>,
}

#[derive(Debug)]
struct Published {
    meta: Meta,
    /// The newest published meta whose freelist is written (not
    /// `Meta::freelist_deferred`): what a steady point that cannot take
    /// the writer makes durable.
    persisted: Meta,
    /// Pinned snapshots and their reader counts, by txid ascending. A new
    /// reader pins the newest snapshot, so a pin appends or bumps the last
    /// entry; the vector keeps its capacity. (A BTreeMap here allocated and
    /// freed a node whenever the readers of a snapshot came and went: a
    /// third of a one-get read transaction's begin and end, by callgrind.)
    readers: Vec<(TxId, usize)>,
    /// Read transactions among the pins (the engine's own reads, for a
    /// stat, check or copy, are not).
    reader_count: usize,
    /// The snapshots steady points picked and are making durable, one
    /// entry per steady point in flight (rarely more than one).
    steady: Vec<TxId>,
}

impl Published {
    fn pin(&mut self, txid: TxId, txn: bool) {
        match self.readers.last_mut() {
            Some((t, n)) if *t == txid => *n += 1,
            Some((t, _)) if *t > txid => match self.readers.binary_search_by_key(&txid, |&(t, _)| t) {
                Ok(i) => self.readers[i].1 += 1,
                Err(i) => self.readers.insert(i, (txid, 1)),
            },
            _ => self.readers.push((txid, 1)),
        }
        self.reader_count += txn as usize;
    }

    fn unpin(&mut self, txid: TxId, txn: bool) {
        if let Ok(i) = self.readers.binary_search_by_key(&txid, |&(t, _)| t) {
            self.readers[i].1 -= 1;
            if self.readers[i].1 == 0 {
                self.readers.remove(i);
            }
            self.reader_count -= txn as usize;
        }
    }

    /// Makes `meta` the published one (and the persisted one, when its
    /// freelist is written).
    fn set(&mut self, meta: Meta) {
        self.meta = meta;
        if !meta.freelist_deferred {
            self.persisted = meta;
        }
    }

    fn oldest(&self) -> Option<TxId> {
        self.readers.first().map(|&(t, _)| t)
    }
}

impl Readers {
    pub fn new(meta: Meta) -> Readers {
        Readers {
            published: RankedMutex::new(
                Rank::Published,
                Published { meta, persisted: meta, readers: Vec::new(), reader_count: 0, steady: Vec::new() },
            ),
        }
    }

    fn lock(&self) -> RankedGuard<'_, Published> {
        self.published.lock()
    }

    /// The meta new readers start from.
    pub fn current(&self) -> Meta {
        self.lock().meta
    }

    /// Open read transactions.
    pub fn count(&self) -> usize {
        self.lock().reader_count
    }

    /// The newest meta whose freelist is written, pinned for a steady point
    /// that makes it durable: chosen and pinned at once, so a writer that
    /// reads the horizon sees either the pin or a newer persisted meta.
    /// `unpin_steady` after the steady point, once the durable txid is
    /// updated.
    pub fn pin_steady_persisted(&self) -> Meta {
        let mut p = self.lock();
        let meta = p.persisted;
        p.steady.push(meta.txid);
        meta
    }

    /// Pins `txid` for a steady point (as `pin_steady_persisted`), for a
    /// meta the caller published while it holds the writer slot.
    pub fn pin_steady(&self, txid: TxId) {
        self.lock().steady.push(txid);
    }

    pub fn unpin_steady(&self, txid: TxId) {
        let mut p = self.lock();
        if let Some(i) = p.steady.iter().position(|&t| t == txid) {
            p.steady.swap_remove(i);
        }
    }

    /// Makes `meta` the snapshot new readers start from.
    pub fn publish(&self, meta: Meta) {
        self.lock().set(meta);
    }

    /// Publishes `meta` unless a newer one is published already (logged
    /// commits become durable in log order, but their threads may wake in
    /// any order).
    pub fn publish_newer(&self, meta: Meta) {
        let mut p = self.lock();
        if meta.txid > p.meta.txid {
            p.set(meta);
        }
    }
}

impl Env {
    /// The current meta, pinned as a reader: for a read transaction
    /// (`txn`, counted in `Readers::count`) or the engine's own read.
    pub fn pin_reader(&self, txn: bool) -> Meta {
        let mut p = self.readers.lock();
        let meta = p.meta;
        p.pin(meta.txid, txn);
        meta
    }

    /// Ends a `pin_reader` (`txn` as it was given).
    pub fn unpin_reader(&self, txid: TxId, txn: bool) {
        self.readers.lock().unpin(txid, txn);
    }

    /// The current meta and what decides which freed pages are reusable
    /// (`alloc::Horizon`): read under the readers' lock, which a steady
    /// point holds to pick and pin its snapshot, and releases only after
    /// the durable txid it made is stored.
    pub fn current_and_horizon(&self) -> (Meta, Horizon) {
        let p = self.readers.lock();
        let horizon = Horizon {
            readers: p.oldest().unwrap_or(TxId(u64::MAX)),
            durable: self.durability.durable_txid(),
            persisted: p.persisted.txid,
            current: p.meta.txid,
            steady: p.steady.clone(),
        };
        (p.meta, horizon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published() -> Published {
        Published {
            meta: Meta::empty(4096),
            persisted: Meta::empty(4096),
            readers: Vec::new(),
            reader_count: 0,
            steady: Vec::new(),
        }
    }

    #[test]
    fn pins_in_any_order_keep_the_oldest_and_the_counts() {
        let mut p = published();
        for t in [5, 5, 7, 3, 7, 6] {
            p.pin(TxId(t), true);
        }
        assert_eq!(p.readers, vec![(TxId(3), 1), (TxId(5), 2), (TxId(6), 1), (TxId(7), 2)]);
        assert_eq!((p.oldest(), p.reader_count), (Some(TxId(3)), 6));
        p.unpin(TxId(3), true);
        p.unpin(TxId(5), true);
        assert_eq!(p.oldest(), Some(TxId(5)));
        p.unpin(TxId(5), true);
        p.unpin(TxId(9), true); // not pinned: ignored
        assert_eq!((p.oldest(), p.reader_count), (Some(TxId(6)), 3));
        for t in [6, 7, 7] {
            p.unpin(TxId(t), true);
        }
        assert_eq!((p.oldest(), p.reader_count, p.readers.len()), (None, 0, 0));
    }

    /// Bug: the engine's own reads (a stat, check or backup on another
    /// thread) counted in `reader_count`, which counts read transactions.
    #[test]
    fn the_engines_own_reads_pin_without_counting_as_transactions() {
        let mut p = published();
        p.pin(TxId(4), false);
        p.pin(TxId(4), true);
        assert_eq!((p.oldest(), p.reader_count), (Some(TxId(4)), 1));
        p.unpin(TxId(4), true);
        assert_eq!((p.oldest(), p.reader_count), (Some(TxId(4)), 0), "the engine's read still pins");
        p.unpin(TxId(4), false);
        assert_eq!((p.oldest(), p.reader_count), (None, 0));
    }
}
