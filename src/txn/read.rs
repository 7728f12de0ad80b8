//! Read transactions: a pinned snapshot, read through the mapping.

use std::sync::Arc;

use crate::alloc::Meta;
use crate::env::{next_serial, Env};
use crate::error::{Error, Result};
use crate::tree::{self, BucketRecord, NodeRef, NodeSource, NodeView, OverflowRef, PageNode, PageReader};
use crate::txn::{check_bucket_name, read_api, Bucket, BucketAt, Tree, TxCore};
use crate::types::TxId;

/// A read-only view of one committed snapshot. Any number may be open on any
/// threads; they never block the writer, and the pages they can see are not
/// reused until they end (drop). Values borrowed from it stay valid until then.
#[derive(Debug)]
pub struct ReadTx {
    env: Arc<Env>,
    // What reads need of the snapshot's meta, not all of it: a one-get
    // transaction moves this struct into its C handle and out again, and
    // with the whole meta in it those two moves were memcpy calls, a
    // quarter of its begin and end by perf (62.6 -> 58.6 ns without them).
    // `begin_internal` hands out the rest.
    txid: TxId,
    page_count: u64,
    root: BucketRecord,
    serial: u64,
    /// A read transaction (counted in `reader_count`), not the engine's
    /// own read (`begin_internal`).
    txn: bool,
}

impl ReadTx {
    pub(crate) fn begin(env: Arc<Env>) -> Result<ReadTx> {
        Ok(ReadTx::pinned(env, true).0)
    }

    /// A snapshot the engine reads for itself (a check, backup or
    /// compaction): pinned as a read transaction is, not counted as one
    /// (`reader_count`), and the whole meta of the snapshot it reads.
    pub(crate) fn begin_internal(env: Arc<Env>) -> (ReadTx, Meta) {
        ReadTx::pinned(env, false)
    }

    fn pinned(env: Arc<Env>, txn: bool) -> (ReadTx, Meta) {
        let meta = env.pin_reader(txn);
        let tx =
            ReadTx { env, txid: meta.txid, page_count: meta.page_count, root: meta.root, serial: next_serial(), txn };
        (tx, meta)
    }

    pub(crate) fn page_reader(&self) -> PageReader<'_> {
        self.env.pages.reader(self.page_count)
    }

    /// The snapshot's root record: the top-level keyspace and buckets.
    pub(crate) fn root(&self) -> &BucketRecord {
        &self.root
    }

    /// The txid of the snapshot this transaction reads.
    pub fn id(&self) -> u64 {
        self.txid.0
    }

    /// Ends the transaction (the same as dropping it).
    pub fn close(self) {}

    fn record(&self, bucket: Option<&Bucket>) -> Result<BucketRecord> {
        match bucket {
            None => Ok(self.root),
            Some(b) if b.txn != self.serial => Err(Error::invalid("bucket handle belongs to another transaction")),
            Some(Bucket { at: BucketAt::Record(r), .. }) => Ok(*r),
            Some(_) => Err(Error::invalid("bucket handle of a write transaction")),
        }
    }

    /// Opens child bucket `name` of `parent` (None: a top-level bucket).
    pub fn bucket(&self, parent: Option<&Bucket>, name: &[u8]) -> Result<Option<Bucket>> {
        check_bucket_name(name)?;
        let root = self.tree_root(parent, Tree::Children)?;
        match tree::get(self, root, name)? {
            None => Ok(None),
            Some(v) => {
                let rec = BucketRecord::from_value(name, v)?;
                Ok(Some(Bucket { txn: self.serial, at: BucketAt::Record(rec) }))
            }
        }
    }
}

impl Drop for ReadTx {
    fn drop(&mut self) {
        self.env.unpin_reader(self.txid, self.txn);
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

    #[inline]
    fn prefetch(&self, r: NodeRef) {
        self.page_reader().prefetch(r);
    }

    #[inline]
    fn view_seen_leaf(&self, r: NodeRef) -> Result<NodeView<'_>> {
        match r {
            NodeRef::Page(p) => Ok(NodeView::Page(PageNode::Leaf(self.page_reader().leaf_seen(p)?))),
            NodeRef::Dirty(_) => self.view(r),
        }
    }
}

impl TxCore for ReadTx {
    fn serial(&self) -> u64 {
        self.serial
    }

    fn version(&self) -> u64 {
        0
    }

    fn writable(&self) -> bool {
        false
    }

    fn max_key(&self) -> usize {
        self.env.config.max_key
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
