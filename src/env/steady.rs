//! The freelist a steady point needs. Under the weak sync modes, and with a
//! log, a commit may leave its change to the free set unwritten
//! (`TxAlloc::defer`): no commit writes its meta to the file, so only the
//! meta a steady point or checkpoint writes must have its freelist on disk.
//! `Env::pin_steady_meta` makes the latest commit's meta complete when it is
//! not: it takes the writer slot, writes the freelist, carrying everything
//! the deferred commits left (a log page or a fresh snapshot, as any commit
//! writes it), and publishes the same commit (same txid, same trees) with
//! that freelist. The meta it returns is pinned for the steady point
//! (`Readers::pin_steady`) from the moment it is chosen, so the writer
//! does not reuse a young page that snapshot reaches (`alloc::Horizon`).

use crate::alloc::{Meta, TxAlloc};
use crate::env::Env;
use crate::error::{Error, Result};
use crate::storage::WriteOp;
use crate::types::TxId;

impl Env {
    /// Picks the meta a steady point makes durable and pins it for the
    /// steady point (`Readers::pin_steady`; the caller unpins it): the
    /// latest published meta, its freelist written first if a commit
    /// deferred it. `wait`: block for the writer slot; without it a held
    /// slot gives the newest meta whose freelist is written (its holder's
    /// commits write the freelist when a steady point is due), as does a
    /// logged commit that landed but waits for its log sync (see below). A
    /// thread holding the write transaction itself gets the same with a
    /// log (which holds every commit after that meta); without one it gets
    /// `Busy` when the latest meta needs the freelist written.
    pub fn pin_steady_meta(&self, wait: bool) -> Result<Meta> {
        if !self.readers.current().freelist_deferred {
            return Ok(self.readers.pin_steady_persisted());
        }
        let mut ws = match self.take_writer(wait, false) {
            Ok(ws) => ws,
            Err(Error::Busy(_)) if !wait || self.log().is_some() => return Ok(self.readers.pin_steady_persisted()),
            Err(e) => return Err(e),
        };
        // A logged commit that landed and waits for its group's log sync is
        // the writer's newest meta, not yet published, and the writer's
        // free set already holds its changes: no freelist written now
        // describes the published meta. The newest meta whose freelist is
        // written serves instead (the log holds the commits after it).
        if ws.head.is_some_and(|h| h.txid > self.readers.current().txid) {
            self.give_back_writer(ws, false);
            return Ok(self.readers.pin_steady_persisted());
        }
        let res = match ws.freelist.as_mut() {
            Some(fl) => self.freelist_commit(fl),
            None => Err(Error::Internal("a commit deferred its freelist but left none to the writer".into())),
        };
        if let Ok(meta) = &res {
            ws.head = Some(*meta);
            // Before the next writer can read the horizon.
            self.readers.pin_steady(meta.txid);
        }
        self.give_back_writer(ws, false);
        res
    }

    /// With the writer slot held: writes the freelist of the latest meta
    /// and publishes that meta with it (not synced). Rolls back on failure.
    fn freelist_commit(&self, fl: &mut crate::alloc::Freelist) -> Result<Meta> {
        let (meta, horizon) = self.current_and_horizon();
        if !meta.freelist_deferred {
            return Ok(meta);
        }
        // The freelist is written under the meta's own txid (no commit is
        // added); the pages it retires (the last written freelist, which
        // `check` of the deferred snapshot still reads) stay pending until
        // the next commit is history.
        let next = meta.txid.0.checked_add(1).map(TxId).ok_or_else(|| Error::Internal("txid overflow".into()))?;
        let pinned = fl.release(&horizon);
        self.note_freed(pinned);
        let mut alloc = TxAlloc::new(meta.txid, meta.page_count, self.pages.max_pages);
        alloc.pending_at(next);
        let written = alloc
            .persist(fl, self.config.page_size)
            .map_err(|e| {
                let crate::alloc::AllocError::Full { needed, max_pages } = e;
                Error::NoSpace {
                    path: self.config.path.clone(),
                    what: format!("writing the freelist needs {needed} pages, {max_pages} allowed"),
                }
            })
            .and_then(|persisted| {
                self.ensure_pages(alloc.hwm)?;
                self.write_freelist_pages(&persisted.pages)?;
                Ok(persisted)
            });
        let persisted = match written {
            Ok(p) => p,
            Err(e) => {
                alloc.rollback(fl);
                return Err(e);
            }
        };
        let new = Meta { page_count: alloc.hwm, freelist: persisted.meta_ref, freelist_deferred: false, ..meta };
        self.readers.publish(new);
        let freed = alloc.adopt(fl, persisted);
        self.note_freed(freed);
        Ok(new)
    }

    fn write_freelist_pages(&self, pages: &[(crate::types::PageId, Vec<u8>)]) -> Result<()> {
        let ps = self.config.page_size as u64;
        let mut ops: Vec<WriteOp<'_>> = pages.iter().map(|(id, b)| WriteOp { offset: id.0 * ps, data: b }).collect();
        ops.sort_unstable_by_key(|o| o.offset);
        if ops.is_empty() {
            return Ok(());
        }
        self.pages
            .io
            .write_batch(&ops)
            .map_err(|e| Error::io("write freelist", &self.config.path, Some(ops[0].offset), e))
    }
}
