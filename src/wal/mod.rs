//! The write-ahead log: logical records and their frames, segment files, the
//! writer, reading the log back at open, and group commit.

mod files;
mod group;
mod record;
mod scan;
mod segment;

#[cfg(test)]
pub(crate) use files::SEGMENT_HEADER;
pub(crate) use files::{
    create_dir_durable, first_lsn, holds_log, kept_segment, remove_log, segment_id, segment_io, segment_name,
    segment_owner, segments_from, sync_segment_io, Kept, SegmentIo,
};
pub(crate) use group::{yield_until, GroupCommit};
pub(crate) use record::{set_begin_synced, BucketPath, Rec};
pub(crate) use scan::{check_log_owner, committed, LoggedTxn};
pub(crate) use segment::WalWriter;
