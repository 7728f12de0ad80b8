//! A position in one tree. The cursor keeps the path from the root to its
//! leaf entry; that path is only trusted while the transaction's change
//! counter (`version`) is the one it was built under. After any change by
//! another call, the next move starts again from the root at the saved key,
//! so a cursor in a write transaction stays ordered across splits, merges and
//! deletes made behind its back.

use crate::error::Result;
use crate::tree::node::NodeRef;
use crate::tree::page::Value;
use crate::tree::view::{self, NodeSource, MAX_DEPTH};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    Unpositioned,
    At,
    /// The item at `key` was deleted through this cursor: no current item.
    Deleted,
    PastEnd,
    BeforeStart,
}

#[derive(Clone, Debug)]
pub struct RawCursor {
    stack: Vec<(NodeRef, usize)>,
    state: State,
    /// The current key (kept when `track` is set), or the deleted key.
    key: Vec<u8>,
    version: u64,
    /// Keep a copy of the current key (write transactions, whose trees change).
    track: bool,
}

/// The item under the cursor: key and stored value (resolve overflow with
/// `NodeSource::resolve`).
pub type Item<'s> = (&'s [u8], Value<'s>);

impl RawCursor {
    pub fn new(track: bool) -> RawCursor {
        RawCursor { stack: Vec::new(), state: State::Unpositioned, key: Vec::new(), version: 0, track }
    }

    /// The current key, if the cursor is on an item.
    pub fn current_key<S: NodeSource + ?Sized>(&self, src: &S, version: u64) -> Result<Option<Vec<u8>>> {
        if self.state != State::At {
            return Ok(None);
        }
        if self.track {
            return Ok(Some(self.key.clone()));
        }
        debug_assert_eq!(version, self.version);
        Ok(self.item(src)?.map(|(k, _)| k.to_vec()))
    }

    /// Forget the current item: it was just deleted (at `key`).
    pub fn mark_deleted(&mut self, key: Vec<u8>) {
        self.key = key;
        self.state = State::Deleted;
    }

    fn item<'s, S: NodeSource + ?Sized>(&self, src: &'s S) -> Result<Option<Item<'s>>> {
        let Some(&(r, i)) = self.stack.last() else { return Ok(None) };
        let v = src.view(r)?;
        Ok(Some((v.key(i), v.value(i))))
    }

    /// Marks the cursor on its stack's item and returns it.
    fn land<'s, S: NodeSource + ?Sized>(
        &mut self,
        src: &'s S,
        version: u64,
        found: bool,
        off: State,
    ) -> Result<Option<Item<'s>>> {
        self.version = version;
        if !found {
            self.stack.clear();
            self.state = off;
            return Ok(None);
        }
        self.state = State::At;
        let item = self.item(src)?;
        if let (true, Some((k, _))) = (self.track, item) {
            self.key.clear();
            self.key.extend_from_slice(k);
        }
        Ok(item)
    }

    /// Pushes the path from `r` down to its first (or last) leaf entry.
    fn push_edge<S: NodeSource + ?Sized>(&mut self, src: &S, mut r: NodeRef, first: bool) -> Result<bool> {
        loop {
            if self.stack.len() >= MAX_DEPTH {
                return Err(view::depth_error(r));
            }
            let v = src.view(r)?;
            if v.len() == 0 {
                return Ok(false);
            }
            let i = if first { 0 } else { v.len() - 1 };
            self.stack.push((r, i));
            if v.is_leaf() {
                return Ok(true);
            }
            r = v.child(i);
        }
    }

    /// From a stack whose top index may be past its node's end, moves to the
    /// next leaf entry. False when there is none.
    fn settle_forward<S: NodeSource + ?Sized>(&mut self, src: &S) -> Result<bool> {
        while let Some(&(r, i)) = self.stack.last() {
            let v = src.view(r)?;
            if i < v.len() {
                if v.is_leaf() {
                    return Ok(true);
                }
                // The next leaf over, while this one is read.
                if i + 1 < v.len() {
                    src.prefetch(v.child(i + 1));
                }
                return self.push_edge(src, v.child(i), true);
            }
            self.stack.pop();
            match self.stack.last_mut() {
                Some(top) => top.1 += 1,
                None => return Ok(false),
            }
        }
        Ok(false)
    }

    fn step_back<S: NodeSource + ?Sized>(&mut self, src: &S) -> Result<bool> {
        while let Some(top) = self.stack.last_mut() {
            if top.1 > 0 {
                top.1 -= 1;
                let (r, i) = *top;
                let v = src.view(r)?;
                if v.is_leaf() {
                    return Ok(true);
                }
                // The leaf before, for a backward scan.
                if i > 0 {
                    src.prefetch(v.child(i - 1));
                }
                return self.push_edge(src, v.child(i), false);
            }
            self.stack.pop();
        }
        Ok(false)
    }

    /// Builds the stack at the first entry >= key. False when there is none.
    fn seek_ge<S: NodeSource + ?Sized>(&mut self, src: &S, root: Option<NodeRef>, key: &[u8]) -> Result<bool> {
        self.stack.clear();
        let Some(mut r) = root else { return Ok(false) };
        loop {
            if self.stack.len() >= MAX_DEPTH {
                return Err(view::depth_error(r));
            }
            let v = src.view(r)?;
            if v.is_leaf() {
                src.prefetch(r);
                let i = match v.search(key) {
                    Ok(i) | Err(i) => i,
                };
                self.stack.push((r, i));
                return self.settle_forward(src);
            }
            let i = v.child_index(key);
            self.stack.push((r, i));
            r = v.child(i);
        }
    }

    /// Builds the stack at the tree's first (or last) entry. False when empty.
    fn edge<S: NodeSource + ?Sized>(&mut self, src: &S, root: Option<NodeRef>, first: bool) -> Result<bool> {
        self.stack.clear();
        match root {
            Some(r) => self.push_edge(src, r, first),
            None => Ok(false),
        }
    }

    pub fn first<'s, S: NodeSource + ?Sized>(
        &mut self,
        src: &'s S,
        root: Option<NodeRef>,
        version: u64,
    ) -> Result<Option<Item<'s>>> {
        let found = self.edge(src, root, true)?;
        self.land(src, version, found, State::PastEnd)
    }

    pub fn last<'s, S: NodeSource + ?Sized>(
        &mut self,
        src: &'s S,
        root: Option<NodeRef>,
        version: u64,
    ) -> Result<Option<Item<'s>>> {
        let found = self.edge(src, root, false)?;
        self.land(src, version, found, State::BeforeStart)
    }

    pub fn seek<'s, S: NodeSource + ?Sized>(
        &mut self,
        src: &'s S,
        root: Option<NodeRef>,
        version: u64,
        key: &[u8],
    ) -> Result<Option<Item<'s>>> {
        let found = self.seek_ge(src, root, key)?;
        self.land(src, version, found, State::PastEnd)
    }

    /// Whether the saved stack can be used as is.
    fn fresh(&self, version: u64) -> bool {
        !self.track || self.version == version
    }

    /// The common step of `next`, to the following entry of the current
    /// leaf, without moving: one view of the leaf, no walk of the stack, no
    /// root needed. None when it does not apply (not on an item, a stale
    /// stack, at the leaf's end, or a leaf that cannot be viewed, which the
    /// full `next` then reports); `advance_in_leaf` moves onto it.
    #[inline]
    pub fn peek_next_in_leaf<'s, S: NodeSource + ?Sized>(&self, src: &'s S, version: u64) -> Option<Item<'s>> {
        if self.state != State::At || !self.fresh(version) {
            return None;
        }
        let &(r, i) = self.stack.last()?;
        // On an item, the stack's top is a leaf that `land` viewed.
        let v = src.view_seen_leaf(r).ok()?;
        if i + 1 >= v.len() {
            return None;
        }
        Some(v.entry(i + 1))
    }

    /// Moves onto the entry `peek_next_in_leaf` returned, whose key is `key`.
    #[inline]
    pub fn advance_in_leaf(&mut self, key: &[u8]) {
        if let Some(top) = self.stack.last_mut() {
            top.1 += 1;
        }
        if self.track {
            self.key.clear();
            self.key.extend_from_slice(key);
        }
    }

    /// `peek_next_in_leaf`, then `advance_in_leaf`.
    #[inline]
    pub fn next_in_leaf<'s, S: NodeSource + ?Sized>(&mut self, src: &'s S, version: u64) -> Option<Item<'s>> {
        let item = self.peek_next_in_leaf(src, version)?;
        self.advance_in_leaf(item.0);
        Some(item)
    }

    pub fn next<'s, S: NodeSource + ?Sized>(
        &mut self,
        src: &'s S,
        root: Option<NodeRef>,
        version: u64,
    ) -> Result<Option<Item<'s>>> {
        match self.state {
            State::Unpositioned | State::BeforeStart => self.first(src, root, version),
            State::PastEnd => Ok(None),
            State::At if self.fresh(version) => {
                if let Some(item) = self.next_in_leaf(src, version) {
                    return Ok(Some(item));
                }
                if let Some(top) = self.stack.last_mut() {
                    top.1 += 1;
                }
                let found = self.settle_forward(src)?;
                self.land(src, version, found, State::PastEnd)
            }
            State::At | State::Deleted => {
                // first key strictly greater than the saved one
                let key = std::mem::take(&mut self.key);
                let mut found = self.seek_ge(src, root, &key)?;
                if found && self.item(src)?.is_some_and(|(k, _)| k == key.as_slice()) {
                    self.stack.last_mut().expect("positioned").1 += 1;
                    found = self.settle_forward(src)?;
                }
                self.key = key;
                self.land(src, version, found, State::PastEnd)
            }
        }
    }

    pub fn prev<'s, S: NodeSource + ?Sized>(
        &mut self,
        src: &'s S,
        root: Option<NodeRef>,
        version: u64,
    ) -> Result<Option<Item<'s>>> {
        match self.state {
            State::Unpositioned | State::PastEnd => self.last(src, root, version),
            State::BeforeStart => Ok(None),
            State::At if self.fresh(version) => {
                let found = self.step_back(src)?;
                self.land(src, version, found, State::BeforeStart)
            }
            State::At | State::Deleted => {
                // last key strictly smaller than the saved one
                let key = std::mem::take(&mut self.key);
                let found =
                    if self.seek_ge(src, root, &key)? { self.step_back(src)? } else { self.edge(src, root, false)? };
                self.key = key;
                self.land(src, version, found, State::BeforeStart)
            }
        }
    }
}
