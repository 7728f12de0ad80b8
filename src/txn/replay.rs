//! Recovery at open: the transactions a write-ahead log holds past the
//! checkpoint are applied again, in order, through ordinary write
//! transactions (each takes the txid it had), then checkpointed. Replay is
//! idempotent: a logged transaction the data file holds already (its txid is
//! not past the file's) is skipped, so a crash during replay just replays
//! again. A read-only open cannot replay: it says so. (Segments a former
//! database of the same name left in its WAL directory are removed when the
//! new file is initialised, `env::open`.)

use std::path::Path;
use std::sync::Arc;

use crate::alloc::LogMark;
use crate::env::{Env, WalLog};
use crate::error::{Corruption, Error, Result};
use crate::options::Options;
use crate::txn::{Bucket, WriteTx};
use crate::types::Lsn;
use crate::wal::{self, LoggedTxn, Rec, SegmentIo, WalWriter};

/// Replays what the log at `dir` holds past the checkpoint, then attaches
/// the log to `env` when `opts` asks for one (resuming after the last
/// committed transaction: a torn tail is cut there). With the log off, a
/// log that was replayed is checkpointed and its segments removed.
/// `seg_io` builds each segment's backend (None: `SyncIo`).
pub(crate) fn recover(env: &Arc<Env>, dir: &Path, opts: &Options, seg_io: Option<SegmentIo>) -> Result<()> {
    let from = wal::first_lsn(env.durability.checkpoint_lsn());
    let meta = env.readers.current();
    // Whether the log is read: not when nothing is past the checkpoint in
    // any log (segments there are older, left by a log used before, in
    // this directory, while the database went on elsewhere; the writer
    // starts past them), nor when the log is given up as lost and only
    // such older segments are there. Segments from the checkpoint's on are
    // replayed, discarded log or not.
    let reads = match env.durable_log() {
        LogMark::Clean => false,
        LogMark::Live(log) if !wal::holds_log(dir, from.segment(), log)? => {
            if !opts.discard_missing_wal {
                return Err(missing_log(dir, from));
            }
            wal::segments_from(dir, from.segment())?
        }
        LogMark::Live(_) | LogMark::Unknown => true,
    };
    let txns = match dir.exists() {
        true if reads => wal::committed(dir, from, meta.db_id)?.0,
        // Another database's log is still refused.
        true => wal::check_log_owner(dir, meta.db_id).map(|()| Vec::new())?,
        false => Vec::new(),
    };
    let resume = txns.last().map_or(from, |t| t.end);
    let current = meta.txid;
    let pending: Vec<&LoggedTxn> = txns.iter().filter(|t| t.txid > current).collect();
    if opts.read_only {
        if !pending.is_empty() {
            return Err(Error::ReadOnly(
                "the write-ahead log holds commits the file does not have yet: open the database read-write once to replay them",
            ));
        }
        return Ok(());
    }
    if opts.wal {
        let seg_io = seg_io.unwrap_or_else(|| wal::sync_segment_io(opts.write_buffer_size));
        let writer = WalWriter::open(dir, resume, opts.wal_segment_size, seg_io, meta.db_id)?;
        let log = WalLog::new(writer, opts.checkpoint_interval, opts.checkpoint_wal_bytes);
        env.wal.set(log).map_err(|_| Error::Internal("the log was attached twice".into()))?;
        // Before the first commit it logs: an open must find this log.
        env.settle_log_mark()?;
    }
    for t in &pending {
        apply(env, t)?;
    }
    if !pending.is_empty() {
        env.checkpoint()?;
    }
    if !opts.wal {
        // The file holds all the log did: its meta says so before the
        // segments go (an open that then finds none loses nothing).
        env.settle_log_mark()?;
        if dir.exists() {
            // The checkpoint's segment goes last: a crash part-way leaves a
            // log the next open reads (and finds nothing past the
            // checkpoint in).
            let checkpoint = wal::first_lsn(env.durability.checkpoint_lsn()).segment();
            wal::remove_log(dir, Some(checkpoint), false)?;
        }
    }
    Ok(())
}

/// The durable meta says the log may hold commits past its checkpoint
/// (`LogMark::Live`), and `dir` holds no segment its writer made: the log
/// was moved or removed, or the database is
/// opened with another `wal_dir` than it was last used with (where an
/// older log may have stayed). Opening with what is there would drop
/// those commits without a word.
fn missing_log(dir: &Path, from: Lsn) -> Error {
    let what = format!(
        "missing: {} holds no write-ahead log of the database's last use with one, which may hold commits \
         past its checkpoint (in this segment or later). Open with the wal_dir that log is in; if it is lost \
         for good, set discard_missing_wal to open the file as of its checkpoint",
        dir.display()
    );
    Error::Corrupted { page: None, cause: Corruption::WalSegment { segment: from.segment(), what } }
}

/// Applies one logged transaction as a write transaction with its txid.
fn apply(env: &Arc<Env>, t: &LoggedTxn) -> Result<()> {
    let mut w = WriteTx::begin(env.clone(), true)?;
    if w.id() != t.txid.0 {
        return Err(damaged(t.end, format!("logged transaction {} follows the file's txid {}", t.txid.0, w.id() - 1)));
    }
    w.replay_of(t.end);
    for rec in t.records() {
        apply_record(&mut w, rec?, t.end)?;
    }
    w.commit()
}

fn apply_record(w: &mut WriteTx, rec: Rec<'_>, at: Lsn) -> Result<()> {
    match rec {
        Rec::TxBegin(..) | Rec::TxCommit(_) | Rec::TxAbort(_) => Ok(()),
        Rec::Put { path, key, value } => match bucket(w, path.iter(), at)? {
            None => w.put(key, value),
            Some(b) => w.put_in(&b, key, value),
        },
        Rec::Delete { path, key } => match bucket(w, path.iter(), at)? {
            None => w.delete(key).map(drop),
            Some(b) => w.delete_in(&b, key).map(drop),
        },
        Rec::CreateBucket { path } => {
            let (parent, name) = parent_and_name(w, path.iter(), at)?;
            w.create_bucket(parent.as_ref(), name).map(drop)
        }
        Rec::DeleteBucket { path } => {
            let (parent, name) = parent_and_name(w, path.iter(), at)?;
            w.delete_bucket(parent.as_ref(), name)
        }
        Rec::Sequence { path, value } => {
            let b = bucket(w, path.iter(), at)?;
            w.set_sequence(b.as_ref(), value)
        }
    }
}

/// The bucket a logged path names (None: the default keyspace).
fn bucket<'p>(w: &mut WriteTx, names: impl Iterator<Item = &'p [u8]>, at: Lsn) -> Result<Option<Bucket>> {
    let mut b: Option<Bucket> = None;
    for name in names {
        match w.bucket(b.as_ref(), name)? {
            Some(child) => b = Some(child),
            None => return Err(damaged(at, "a logged change names a bucket that does not exist".into())),
        }
    }
    Ok(b)
}

/// A logged bucket path split into its parent bucket and last name.
fn parent_and_name<'p>(
    w: &mut WriteTx,
    names: impl Iterator<Item = &'p [u8]>,
    at: Lsn,
) -> Result<(Option<Bucket>, &'p [u8])> {
    let names: Vec<&[u8]> = names.collect();
    let Some((name, parents)) = names.split_last() else {
        return Err(damaged(at, "a logged bucket change with an empty path".into()));
    };
    Ok((bucket(w, parents.iter().copied(), at)?, name))
}

fn damaged(lsn: Lsn, what: String) -> Error {
    Error::Corrupted { page: None, cause: Corruption::WalRecord { lsn, what } }
}
