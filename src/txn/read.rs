//! Read transactions: a pinned snapshot, read through the mapping.

use std::sync::Arc;

use crate::alloc::meta::Meta;
use crate::db::{next_serial, DbInner};
use crate::error::{show_bytes, Corruption, Error, Result};
use crate::tree::node::NodeRef;
use crate::tree::page::{OverflowRef, Value};
use crate::tree::record::BucketRecord;
use crate::tree::view::{self, NodeSource, NodeView, PageReader};
use crate::txn::{check_bucket_name, read_api, Bucket, BucketAt, Tree, TxCore};

/// A read-only view of one committed snapshot. Any number may be open on any
/// threads; they never block the writer, and the pages they can see are not
/// reused until they end (drop). Values borrowed from it stay valid until then.
#[derive(Debug)]
pub struct ReadTx {
    db: Arc<DbInner>,
    meta: Meta,
    serial: u64,
}

impl ReadTx {
    pub(crate) fn begin(db: Arc<DbInner>) -> Result<ReadTx> {
        let meta = db.pin_reader();
        Ok(ReadTx { db, meta, serial: next_serial() })
    }

    pub(crate) fn page_reader(&self) -> PageReader<'_> {
        self.db.reader(self.meta.page_count)
    }

    pub(crate) fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The txid of the snapshot this transaction reads.
    pub fn id(&self) -> u64 {
        self.meta.txid.0
    }

    /// Ends the transaction (the same as dropping it).
    pub fn close(self) {}

    fn record(&self, bucket: Option<&Bucket>) -> Result<BucketRecord> {
        match bucket {
            None => Ok(self.meta.root),
            Some(b) if b.txn != self.serial => Err(Error::invalid("bucket handle belongs to another transaction")),
            Some(Bucket { at: BucketAt::Record(r), .. }) => Ok(*r),
            Some(_) => Err(Error::invalid("bucket handle of a write transaction")),
        }
    }

    /// Opens child bucket `name` of `parent` (None: a top-level bucket).
    pub fn bucket(&self, parent: Option<&Bucket>, name: &[u8]) -> Result<Option<Bucket>> {
        check_bucket_name(name)?;
        let root = self.tree_root(parent, Tree::Children)?;
        match view::get(self, root, name)? {
            None => Ok(None),
            Some(v) => {
                let rec = decode_record(name, v)?;
                Ok(Some(Bucket { txn: self.serial, at: BucketAt::Record(rec) }))
            }
        }
    }
}

/// A catalog entry's value as a bucket record.
pub(crate) fn decode_record(name: &[u8], v: Value<'_>) -> Result<BucketRecord> {
    let bad = || {
        let what = format!("record of bucket {} is malformed", show_bytes(name));
        Error::Corrupted { page: None, cause: Corruption::Structure { what } }
    };
    match v {
        Value::Inline(b) => BucketRecord::decode(b).ok_or_else(bad),
        Value::Overflow(_) => Err(bad()),
    }
}

impl Drop for ReadTx {
    fn drop(&mut self) {
        self.db.unpin_reader(self.meta.txid);
    }
}

impl NodeSource for ReadTx {
    fn view(&self, r: NodeRef) -> Result<NodeView<'_>> {
        match r {
            NodeRef::Page(p) => Ok(NodeView::Page(self.page_reader().node(p)?)),
            NodeRef::Dirty(_) => Err(Error::Internal("dirty node reference in a read transaction".into())),
        }
    }

    fn overflow(&self, r: &OverflowRef) -> Result<&[u8]> {
        self.page_reader().overflow(r)
    }
}

impl TxCore for ReadTx {
    fn version(&self) -> u64 {
        0
    }

    fn writable(&self) -> bool {
        false
    }

    fn max_key(&self) -> usize {
        self.db.max_key
    }

    fn tree_root(&self, bucket: Option<&Bucket>, tree: Tree) -> Result<Option<NodeRef>> {
        let rec = self.record(bucket)?;
        let t = match tree {
            Tree::Keys => rec.keys,
            Tree::Children => rec.children,
        };
        Ok((!t.root.is_none()).then_some(NodeRef::Page(t.root)))
    }
}

read_api!(ReadTx);
