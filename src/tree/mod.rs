//! The copy-on-write B+ tree: page codecs, dirty nodes, reading, changing,
//! cursors and overflow values.

pub mod cursor;
pub mod node;
pub mod ops;
pub mod overflow;
pub mod page;
pub mod record;
pub mod view;
pub mod walk;
