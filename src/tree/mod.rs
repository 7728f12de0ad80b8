//! The copy-on-write B+ tree: page codecs, dirty nodes, reading, changing,
//! cursors, overflow values and the walk over a whole snapshot. Outside
//! this directory only what is re-exported here is visible.

mod cache;
mod cursor;
mod node;
mod ops;
mod order;
mod overflow;
mod page;
mod pool;
mod record;
mod view;
mod walk;

pub(crate) use cache::NodeCache;
pub(crate) use cursor::{Item, RawCursor};
pub(crate) use node::Node;
pub(crate) use node::NodeRef;
pub(crate) use ops::{Arena, PageStore, Put, Root, TreeMut};
pub(crate) use order::head as key_head;
pub use overflow::MAX_VALUE_LEN;
pub(crate) use overflow::{header as overflow_header, run_pages as overflow_run_pages};
#[cfg(test)]
pub(crate) use page::leaf_entry_size;
#[cfg(debug_assertions)]
pub(crate) use page::validate as validate_page;
pub(crate) use page::{max_key_len, OverflowRef, Value};
pub(crate) use record::{BucketRecord, TreeRef, MAX_BUCKET_NAME, RECORD_LEN};
pub(crate) use view::{depth, get, NodeSource, NodeView, PageNode, PageReader};
pub(crate) use walk::{walk, Seen};
