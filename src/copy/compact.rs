//! Compaction: every tree of one snapshot rebuilt in a fresh database.
//!
//! The buckets are visited depth first, parents before children, each
//! created in the new database with its sequence, and its keys put in key
//! order with `PutFlags::APPEND`, which splits a full page at its end: every
//! page but the last of each tree comes out full. Free pages of the source
//! are not carried over. The writes are committed every `BATCH_BYTES` of
//! keys and inline values, so memory stays bounded whatever the size of
//! the database; each commit boundary leaves a few pages of the right edge
//! of one tree to the new file's freelist.

use crate::cursor::Cursor;
use crate::error::{show_bytes, Corruption, Error, Result};
use crate::txn::{Bucket, BucketAt, PutFlags, ReadTx, WriteTx, MAX_IN_MEMORY_VIEW};

/// Keys and inline values written between two commits of the new database.
pub(crate) const BATCH_BYTES: usize = 32 << 20;

/// Copies every bucket, key and sequence of the snapshot `src` reads into
/// the empty database that `begin` starts write transactions on,
/// committing every `batch` bytes of keys and inline values.
pub(crate) fn copy_trees(src: &ReadTx, begin: impl FnMut() -> Result<WriteTx>, batch: usize) -> Result<()> {
    let mut out = Target::new(begin, batch)?;
    let root_seq = src.root().sequence;
    if root_seq != 0 {
        out.tx()?.set_sequence(None, root_seq)?;
    }
    copy_keys(src.cursor(), &mut out)?;
    // The catalog roots visited: in a sound file each is reached once, so
    // one reached again is a cycle in the bucket hierarchy (a damaged
    // record), which the depth-first walk would follow forever.
    let mut catalogs = std::collections::HashSet::new();
    catalogs.insert(src.root().children.root.0);
    // One cursor over child names per level of the path being visited.
    let mut levels: Vec<(Option<Bucket>, Cursor<'_, ReadTx>)> = vec![(None, src.bucket_cursor(None))];
    while let Some((parent, names)) = levels.last_mut() {
        let Some((name, _)) = names.next()? else {
            levels.pop();
            out.path.pop();
            continue;
        };
        let bucket = src.bucket(parent.as_ref(), name)?.ok_or_else(|| missing(name))?;
        if let BucketAt::Record(r) = bucket.at {
            let root = r.children.root;
            if !root.is_none() && !catalogs.insert(root.0) {
                let what = format!("bucket {}: its child-bucket tree (page {root}) is reached twice", show_bytes(name));
                return Err(Error::Corrupted { page: Some(root), cause: Corruption::Structure { what } });
            }
        }
        out.path.push(name.to_vec());
        out.create(sequence(&bucket))?;
        copy_keys(src.cursor_in(&bucket), &mut out)?;
        levels.push((Some(bucket), src.bucket_cursor(Some(&bucket))));
    }
    out.finish()
}

/// Puts every key of `keys` into the target's current bucket, in order.
fn copy_keys<F: FnMut() -> Result<WriteTx>>(mut keys: Cursor<'_, ReadTx>, out: &mut Target<F>) -> Result<()> {
    let mut item = keys.first()?;
    while let Some((k, v)) = item {
        out.put(k, v)?;
        item = keys.next()?;
    }
    Ok(())
}

/// The committed sequence of a bucket opened in a read transaction.
fn sequence(b: &Bucket) -> u64 {
    match b.at {
        BucketAt::Record(r) => r.sequence,
        BucketAt::Slot(_) => 0,
    }
}

fn missing(name: &[u8]) -> Error {
    let what = format!("bucket {} listed by its parent but not found", show_bytes(name));
    Error::Corrupted { page: None, cause: Corruption::Structure { what } }
}

/// The new database as the copy writes it: the open write transaction, the
/// path of the bucket being filled and its handle in that transaction.
struct Target<F> {
    begin: F,
    /// None only between a batch's commit and the next begin.
    tx: Option<WriteTx>,
    path: Vec<Vec<u8>>,
    bucket: Option<Bucket>,
    /// Bytes written since the last commit, and the most before the next.
    batch: usize,
    limit: usize,
}

impl<F: FnMut() -> Result<WriteTx>> Target<F> {
    fn new(mut begin: F, limit: usize) -> Result<Target<F>> {
        let tx = begin()?;
        Ok(Target { begin, tx: Some(tx), path: Vec::new(), bucket: None, batch: 0, limit })
    }

    fn tx(&mut self) -> Result<&mut WriteTx> {
        live(&mut self.tx)
    }

    /// Creates the bucket at `self.path` (its parent exists) and makes it current.
    fn create(&mut self, sequence: u64) -> Result<()> {
        let (name, parents) = self.path.split_last().expect("a bucket path is not empty");
        let tx = live(&mut self.tx)?;
        let parent = open_path(tx, parents)?;
        let b = tx.create_bucket(parent.as_ref(), name)?;
        if sequence != 0 {
            tx.set_sequence(Some(&b), sequence)?;
        }
        self.batch += name.len();
        self.bucket = Some(b);
        Ok(())
    }

    /// Appends `key` to the current bucket (the default keyspace before any
    /// bucket), committing first when the batch is full.
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        if self.batch >= self.limit {
            self.next_batch()?;
        }
        self.batch += key.len() + value.len().min(MAX_IN_MEMORY_VIEW);
        let bucket = self.bucket;
        let tx = self.tx()?;
        match &bucket {
            None => tx.put_with(key, value, PutFlags::APPEND),
            Some(b) => tx.put_with_in(b, key, value, PutFlags::APPEND),
        }
    }

    /// Commits and begins the next transaction, reopening the current bucket.
    fn next_batch(&mut self) -> Result<()> {
        if let Some(tx) = self.tx.take() {
            tx.commit()?;
        }
        let mut tx = (self.begin)()?;
        self.bucket = open_path(&mut tx, &self.path)?;
        self.tx = Some(tx);
        self.batch = 0;
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        live(&mut self.tx)?;
        self.tx.take().map_or(Ok(()), WriteTx::commit)
    }
}

/// The open transaction; None only after a batch's commit failed, which
/// ends the copy, so reaching it here is a bug.
fn live(tx: &mut Option<WriteTx>) -> Result<&mut WriteTx> {
    tx.as_mut().ok_or_else(|| Error::Internal("compaction lost its write transaction".into()))
}

/// The bucket at `path` in `tx` (None: the default keyspace).
fn open_path(tx: &mut WriteTx, path: &[Vec<u8>]) -> Result<Option<Bucket>> {
    let mut b = None;
    for name in path {
        b = Some(tx.bucket(b.as_ref(), name)?.ok_or_else(|| missing(name))?);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{collect_owned, Database, Options};

    /// Every (bucket path, key, value) of `tx`, buckets depth first.
    fn dump(tx: &ReadTx, parent: Option<&Bucket>, path: &[u8], out: &mut Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>) {
        let items = match parent {
            None => collect_owned(tx.iter()),
            Some(b) => collect_owned(tx.iter_in(b)),
        };
        out.extend(items.unwrap().into_iter().map(|(k, v)| (path.to_vec(), k, v)));
        for name in tx.bucket_names(parent).unwrap() {
            let b = tx.bucket(parent, &name).unwrap().unwrap();
            out.push((path.to_vec(), name.clone(), b"<bucket>".to_vec()));
            dump(tx, Some(&b), &[path, b"/", &name].concat(), out);
        }
    }

    /// Batches of a few hundred bytes: the copy commits hundreds of times,
    /// in the middle of buckets at every depth, and still holds everything
    /// in order (`APPEND` would refuse a key out of order after a reopen).
    #[test]
    fn small_batches_commit_midway_and_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let src = Database::open(dir.path().join("src.db")).unwrap();
        let mut tx = src.begin_write().unwrap();
        let mut parent = None;
        for depth in 0..4u8 {
            for i in 0..200u16 {
                let v = vec![depth; (i as usize * 31) % 3000];
                match &parent {
                    None => tx.put(&i.to_be_bytes(), &v).unwrap(),
                    Some(b) => tx.put_in(b, &i.to_be_bytes(), &v).unwrap(),
                }
            }
            let b = tx.create_bucket(parent.as_ref(), &[b'b', depth]).unwrap();
            tx.next_sequence(&b).unwrap();
            tx.create_bucket(parent.as_ref(), &[b'e', depth]).unwrap();
            parent = Some(b);
        }
        tx.commit().unwrap();
        let dst = Database::open_with_options(dir.path().join("dst.db"), Options::new()).unwrap();
        let mut begins = 0;
        let read = src.begin_read().unwrap();
        copy_trees(
            &read,
            || {
                begins += 1;
                dst.begin_write()
            },
            500,
        )
        .unwrap();
        assert!(begins > 100, "{begins} transactions");
        dst.check().unwrap();
        let (mut want, mut got) = (Vec::new(), Vec::new());
        dump(&read, None, b"", &mut want);
        dump(&dst.begin_read().unwrap(), None, b"", &mut got);
        assert_eq!(got, want);
        let mut w = dst.begin_write().unwrap();
        let b = w.bucket(None, b"b\0").unwrap().unwrap();
        assert_eq!(w.next_sequence(&b).unwrap(), 2, "the sequence came along");
    }
}
