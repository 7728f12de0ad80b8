//! The cursor rules of API.md on a BTreeMap model: where a cursor stands
//! and what each move returns, for the model tests (tests/model.rs,
//! tests/cursor_model.rs).

use std::collections::BTreeMap;
use std::ops::Bound;

/// The cursor rules of API.md, on the model.
#[derive(Clone, Debug, PartialEq)]
pub enum ModelCursor {
    Unpositioned,
    At(Vec<u8>),
    Deleted(Vec<u8>),
    PastEnd,
    BeforeStart,
}

pub type Item = Option<(Vec<u8>, Vec<u8>)>;

impl ModelCursor {
    fn land(&mut self, m: &BTreeMap<Vec<u8>, Vec<u8>>, k: Option<&Vec<u8>>, off: ModelCursor) -> Item {
        match k {
            Some(k) => {
                *self = ModelCursor::At(k.clone());
                Some((k.clone(), m[k].clone()))
            }
            None => {
                *self = off;
                None
            }
        }
    }

    pub fn first(&mut self, m: &BTreeMap<Vec<u8>, Vec<u8>>) -> Item {
        self.land(m, m.keys().next(), ModelCursor::PastEnd)
    }

    pub fn last(&mut self, m: &BTreeMap<Vec<u8>, Vec<u8>>) -> Item {
        self.land(m, m.keys().next_back(), ModelCursor::BeforeStart)
    }

    pub fn seek(&mut self, m: &BTreeMap<Vec<u8>, Vec<u8>>, k: &[u8]) -> Item {
        let found = m.range::<[u8], _>((Bound::Included(k), Bound::Unbounded)).next().map(|(k, _)| k);
        self.land(m, found, ModelCursor::PastEnd)
    }

    pub fn next(&mut self, m: &BTreeMap<Vec<u8>, Vec<u8>>) -> Item {
        match self.clone() {
            ModelCursor::Unpositioned | ModelCursor::BeforeStart => self.first(m),
            ModelCursor::PastEnd => None,
            ModelCursor::At(k) | ModelCursor::Deleted(k) => {
                let found =
                    m.range::<[u8], _>((Bound::Excluded(k.as_slice()), Bound::Unbounded)).next().map(|(k, _)| k);
                self.land(m, found, ModelCursor::PastEnd)
            }
        }
    }

    pub fn prev(&mut self, m: &BTreeMap<Vec<u8>, Vec<u8>>) -> Item {
        match self.clone() {
            ModelCursor::Unpositioned | ModelCursor::PastEnd => self.last(m),
            ModelCursor::BeforeStart => None,
            ModelCursor::At(k) | ModelCursor::Deleted(k) => {
                let found =
                    m.range::<[u8], _>((Bound::Unbounded, Bound::Excluded(k.as_slice()))).next_back().map(|(k, _)| k);
                self.land(m, found, ModelCursor::BeforeStart)
            }
        }
    }
}
