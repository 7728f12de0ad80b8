//! Cursors that borrow their transaction: `Cursor` (either kind, items
//! borrowed from the transaction) and `WriteCursor` (can delete; items
//! borrowed from the cursor until its next call).

use crate::cursor::owned::{Move, OwnedCursor};
use crate::cursor::KeyValue;
use crate::error::Result;
use crate::txn::{Bucket, Tree, TxCore, WriteTx};

/// A cursor. Fresh cursors are unpositioned: `next` acts as `first`, `prev`
/// as `last`. Moving off an end leaves the cursor past it (`next` keeps
/// returning None; `prev` then returns the last item).
#[derive(Debug)]
pub struct Cursor<'t, T> {
    tx: &'t T,
    pos: OwnedCursor,
}

impl<'t, T: TxCore> Cursor<'t, T> {
    pub(crate) fn new(tx: &'t T, bucket: Option<Bucket>, tree: Tree) -> Cursor<'t, T> {
        Cursor { tx, pos: OwnedCursor::new(tx, bucket, tree) }
    }

    pub fn first(&mut self) -> Result<Option<KeyValue<'t>>> {
        self.pos.step(self.tx, Move::First)
    }

    pub fn last(&mut self) -> Result<Option<KeyValue<'t>>> {
        self.pos.step(self.tx, Move::Last)
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<KeyValue<'t>>> {
        self.pos.step(self.tx, Move::Next)
    }

    pub fn prev(&mut self) -> Result<Option<KeyValue<'t>>> {
        self.pos.step(self.tx, Move::Prev)
    }

    /// Positions at the first key >= `key` (an empty key: the first item).
    pub fn seek(&mut self, key: &[u8]) -> Result<Option<KeyValue<'t>>> {
        self.pos.step(self.tx, Move::Seek(key))
    }
}

/// A cursor of a write transaction that can also delete the current item.
/// Items are borrowed from the cursor until its next call.
#[derive(Debug)]
pub struct WriteCursor<'t> {
    tx: &'t mut WriteTx,
    pos: OwnedCursor,
}

impl<'t> WriteCursor<'t> {
    pub(crate) fn new(tx: &'t mut WriteTx, bucket: Option<Bucket>) -> WriteCursor<'t> {
        let pos = OwnedCursor::new(&*tx, bucket, Tree::Keys);
        WriteCursor { tx, pos }
    }

    pub fn first(&mut self) -> Result<Option<KeyValue<'_>>> {
        self.pos.step(&*self.tx, Move::First)
    }

    pub fn last(&mut self) -> Result<Option<KeyValue<'_>>> {
        self.pos.step(&*self.tx, Move::Last)
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Option<KeyValue<'_>>> {
        self.pos.step(&*self.tx, Move::Next)
    }

    pub fn prev(&mut self) -> Result<Option<KeyValue<'_>>> {
        self.pos.step(&*self.tx, Move::Prev)
    }

    pub fn seek(&mut self, key: &[u8]) -> Result<Option<KeyValue<'_>>> {
        self.pos.step(&*self.tx, Move::Seek(key))
    }

    /// Deletes the current item. Afterwards there is no current item: `next`
    /// returns the item after it, `prev` the one before. False (nothing
    /// deleted) when the cursor is not on an item.
    pub fn delete(&mut self) -> Result<bool> {
        self.pos.delete(self.tx)
    }
}
