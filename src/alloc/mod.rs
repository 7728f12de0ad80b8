//! Where pages come from and go: the meta pages, the free page sets and the
//! persisted freelist.

pub mod extents;
pub mod freelist;
pub mod load;
pub mod meta;
pub mod store;
