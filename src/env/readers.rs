//! The published meta (what a new reader starts from) and the reader table
//! (who is reading which snapshot), under one mutex: a reader pins under it
//! and the writer reads the oldest pin under it, so a page is reused only
//! when no reader can see it. The reuse horizon also counts the durable
//! snapshot (see `Env::current_and_horizon`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use crate::alloc::Meta;
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
    readers: BTreeMap<TxId, usize>,
    reader_count: usize,
}

impl Readers {
    pub fn new(meta: Meta) -> Readers {
        Readers {
            published: RankedMutex::new(
                Rank::Published,
                Published { meta, persisted: meta, readers: BTreeMap::new(), reader_count: 0 },
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

    /// The newest published meta whose freelist is written.
    pub fn persisted(&self) -> Meta {
        self.lock().persisted
    }

    /// Makes `meta` the snapshot new readers start from.
    pub fn publish(&self, meta: Meta) {
        let mut p = self.lock();
        p.meta = meta;
        if !meta.freelist_deferred {
            p.persisted = meta;
        }
    }

    /// Publishes `meta` unless a newer one is published already (logged
    /// commits become durable in log order, but their threads may wake in
    /// any order).
    pub fn publish_newer(&self, meta: Meta) {
        let mut p = self.lock();
        if meta.txid > p.meta.txid {
            p.meta = meta;
            if !meta.freelist_deferred {
                p.persisted = meta;
            }
        }
    }
}

impl Env {
    /// The current meta, pinned as a reader.
    pub fn pin_reader(&self) -> Meta {
        let mut p = self.readers.lock();
        let meta = p.meta;
        *p.readers.entry(meta.txid).or_default() += 1;
        p.reader_count += 1;
        self.open_txns.fetch_add(1, Ordering::AcqRel);
        meta
    }

    pub fn unpin_reader(&self, txid: TxId) {
        let mut p = self.readers.lock();
        if let Some(n) = p.readers.get_mut(&txid) {
            *n -= 1;
            if *n == 0 {
                p.readers.remove(&txid);
            }
            p.reader_count -= 1;
        }
        self.open_txns.fetch_sub(1, Ordering::AcqRel);
    }

    /// The current meta and the oldest txid any reader or the durable
    /// snapshot can still see: pages freed at or before it are reusable.
    pub fn current_and_horizon(&self) -> (Meta, TxId) {
        let p = self.readers.lock();
        let oldest_reader = p.readers.keys().next().copied().unwrap_or(TxId(u64::MAX));
        (p.meta, oldest_reader.min(self.durability.durable_txid()))
    }
}
