//! The io_uring backend (cargo feature `io_uring`, Linux): a batch of writes
//! goes to the kernel as one submission, adjacent ops coalesced into one
//! writev of at most `write_buffer` bytes as in `sync`; `write_and_sync`
//! links the fdatasync after the writes (IOSQE_IO_LINK), so a commit's pages
//! and their sync cost one system call. Completions are checked one by one:
//! an error or a short write is the batch's error, naming its offset (a
//! short write breaks the link, so the sync is then not done). A short
//! write's rest is tried with plain pwritev, whose errno says why (ENOSPC:
//! a full disk), which a completion's byte count cannot.
//!
//! The invariant that makes this sound: every call waits until the kernel
//! has completed every entry it consumed, so the buffers and iovecs it
//! borrows outlive their use. Entries the kernel never consumed (a failed
//! submission) are dropped with their ring, which is never used again.
//!
//! Rings are pooled: a call takes one (or makes one) and puts it back, so
//! the log's appends go on while another thread waits for its sync.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Mutex;

use io_uring::{opcode, squeue, types, IoUring, Probe};

use super::backend::{op_error, read_each, runs, WriteSyncError};
use super::{IoBackend, ReadOp, SyncIo, WriteOp};
use crate::storage::file;

/// Submission queue entries per ring; a bigger batch goes in several.
const ENTRIES: u32 = 64;
const MAX_IOV: usize = 1024;
/// The most one write moves on Linux (`MAX_RW_COUNT`, `INT_MAX` rounded
/// down to a page): a longer writev completes short.
const MAX_RW: usize = 0x7fff_f000;
/// Rings kept for reuse.
const KEEP_RINGS: usize = 4;

pub struct UringIo {
    /// The descriptor the backend was given: reads, growth.
    file: File,
    /// The same file opened again (`file::reopen`): what the rings write
    /// and sync, so requests in flight at a crash never hold the lock.
    ring_file: File,
    write_buffer: usize,
    rings: Mutex<Vec<IoUring>>,
}

impl std::fmt::Debug for UringIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UringIo").field("file", &self.file).field("write_buffer", &self.write_buffer).finish()
    }
}

/// A new ring, with every entry of a submission submitted even if one
/// fails to start (kernels before 5.18 lack that flag: plain then).
fn new_ring() -> io::Result<IoUring> {
    IoUring::builder().setup_submit_all().build(ENTRIES).or_else(|_| IoUring::new(ENTRIES))
}

/// One entry of a submission and what it was for.
struct Pending {
    entry: squeue::Entry,
    offset: u64,
    /// Bytes a write must write; None for the sync.
    len: Option<usize>,
}

impl UringIo {
    /// A backend writing `file`; an error where the kernel or a sandbox
    /// refuses io_uring, or lacks the operations used here.
    pub fn new(file: File, write_buffer: usize) -> io::Result<UringIo> {
        let ring = new_ring()?;
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        for (code, name) in [(opcode::Writev::CODE, "writev"), (opcode::Fsync::CODE, "fsync")] {
            if !probe.is_supported(code) {
                return Err(io::Error::new(io::ErrorKind::Unsupported, format!("io_uring lacks {name}")));
            }
        }
        let (_, ring_file) = file::reopen(&file, 0);
        let ring_file = ring_file?;
        Ok(UringIo { file, ring_file, write_buffer: write_buffer.max(4096), rings: Mutex::new(vec![ring]) })
    }

    /// Why a write of `ops` came back short: the rest of its range
    /// written with plain pwritev, whose error names the cause (a full
    /// disk's ENOSPC, the largest file's EFBIG) where the completion only
    /// counted bytes. None if the rest could be written: the batch still
    /// fails, with the short write.
    fn short_write_cause(&self, ops: &[WriteOp<'_>], rest: std::ops::Range<u64>) -> Option<WriteSyncError> {
        let within: Vec<WriteOp<'_>> = ops
            .iter()
            .filter_map(|op| {
                let from = op.offset.max(rest.start);
                let to = (op.offset + op.data.len() as u64).min(rest.end);
                (from < to).then(|| WriteOp {
                    offset: from,
                    data: &op.data[(from - op.offset) as usize..(to - op.offset) as usize],
                })
            })
            .collect();
        let plain = self.ring_file.try_clone().map(|f| SyncIo::new(f, self.write_buffer));
        match plain.and_then(|io| io.write_batch(&within)) {
            Ok(()) => None,
            Err(e) => Some(WriteSyncError::Write(op_error("write after a short io_uring write", rest.start, e))),
        }
    }

    fn take_ring(&self) -> io::Result<IoUring> {
        let pooled = self.rings.lock().unwrap_or_else(|p| p.into_inner()).pop();
        pooled.map_or_else(new_ring, Ok)
    }

    fn give_ring(&self, ring: IoUring) {
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        if rings.len() < KEEP_RINGS {
            rings.push(ring);
        }
    }

    /// Writes `ops` (and then syncs, linked, with `sync`).
    fn submit_ops(&self, ops: &[WriteOp<'_>], sync: bool) -> Result<(), WriteSyncError> {
        let fd = types::Fd(self.ring_file.as_raw_fd());
        // Each request's iovecs live here until its completion is reaped.
        let mut requests = Vec::new();
        for run in runs(ops, self.write_buffer) {
            requests.extend(split(&ops[run], MAX_IOV, MAX_RW));
        }
        let mut pending = Vec::with_capacity(requests.len() + 1);
        for (offset, iov) in &requests {
            let len: usize = iov.iter().map(|v| v.iov_len).sum();
            let entry = opcode::Writev::new(fd, iov.as_ptr(), iov.len() as u32).offset(*offset).build();
            pending.push(Pending { entry, offset: *offset, len: Some(len) });
        }
        if sync {
            let entry = opcode::Fsync::new(fd).flags(types::FsyncFlags::DATASYNC).build();
            pending.push(Pending { entry, offset: 0, len: None });
        }
        if pending.is_empty() {
            return Ok(());
        }
        let mut ring = self.take_ring().map_err(WriteSyncError::Write)?;
        // Bigger batches go in several submissions, each completed before
        // the next; the sync is linked after the writes of the last one.
        let groups: Vec<&[Pending]> = pending.chunks(ENTRIES as usize).collect();
        let mut result = Ok(());
        for (i, group) in groups.iter().enumerate() {
            result = run_group(&mut ring, group, sync && i + 1 == groups.len());
            if result.is_err() {
                break;
            }
        }
        match result {
            Err(RingError { err, ring_lost: true, .. }) => Err(err),
            Err(RingError { err, short: Some(short), .. }) => {
                self.give_ring(ring);
                Err(self.short_write_cause(ops, short).unwrap_or(err))
            }
            Err(RingError { err, .. }) => {
                self.give_ring(ring);
                Err(err)
            }
            Ok(()) => {
                self.give_ring(ring);
                Ok(())
            }
        }
    }
}

/// A failed group: the error, and whether the ring must be dropped (entries
/// the kernel never consumed may still sit in it).
struct RingError {
    err: WriteSyncError,
    ring_lost: bool,
    /// The file range a short write left unwritten, when that was the
    /// failure.
    short: Option<std::ops::Range<u64>>,
}

/// Submits `group` on `ring` (linked into one chain when `linked`) and
/// waits for every completion of what the kernel consumed.
fn run_group(ring: &mut IoUring, group: &[Pending], linked: bool) -> Result<(), RingError> {
    {
        let mut sq = ring.submission();
        for (i, p) in group.iter().enumerate() {
            let mut e = p.entry.clone().user_data(i as u64);
            if linked && i + 1 < group.len() {
                e = e.flags(squeue::Flags::IO_LINK);
            }
            // SAFETY: the entry's iovecs and buffers are borrowed by the
            // caller for the whole call, and `run_group` does not return
            // before the kernel completed every entry it consumed (below);
            // the queue has room, as ENTRIES bounds a group.
            unsafe { sq.push(&e) }.expect("a group fits the submission queue");
        }
    }
    let mut results: Vec<Option<i32>> = vec![None; group.len()];
    let (mut consumed, mut reaped) = (0usize, 0usize);
    let mut failure = None;
    while reaped < group.len() {
        let left_to_submit = group.len() - consumed;
        match ring.submit_and_wait(1) {
            Ok(n) => consumed += n.min(left_to_submit),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR) | Some(libc::EAGAIN) | Some(libc::EBUSY)) => {}
            Err(e) => {
                failure.get_or_insert(e);
                if reaped == consumed {
                    // Nothing in flight: what was never consumed goes
                    // with the ring.
                    break;
                }
                std::thread::yield_now();
            }
        }
        for cqe in ring.completion() {
            let i = cqe.user_data() as usize;
            if i < results.len() && results[i].is_none() {
                results[i] = Some(cqe.result());
                reaped += 1;
            }
        }
    }
    if let Some(e) = failure {
        let err = WriteSyncError::Write(op_error("io_uring submit", group[0].offset, e));
        return Err(RingError { err, ring_lost: reaped < group.len(), short: None });
    }
    check_results(group, &results).map_err(|(err, short)| RingError { err, ring_lost: false, short })
}

/// The first failure among the completions, in submission order, with the
/// range a short write left unwritten.
fn check_results(
    group: &[Pending],
    results: &[Option<i32>],
) -> Result<(), (WriteSyncError, Option<std::ops::Range<u64>>)> {
    for (p, res) in group.iter().zip(results) {
        let res = res.expect("every entry completed");
        match (p.len, res) {
            (Some(_), r) if r < 0 => {
                let e = op_error("io_uring write", p.offset, io::Error::from_raw_os_error(-r));
                return Err((WriteSyncError::Write(e), None));
            }
            (Some(len), r) if (r as usize) < len => {
                let short = io::Error::new(io::ErrorKind::WriteZero, format!("short write: {r} of {len} bytes"));
                let rest = p.offset + r as u64..p.offset + len as u64;
                return Err((WriteSyncError::Write(op_error("io_uring write", p.offset, short)), Some(rest)));
            }
            (None, r) if r < 0 => return Err((WriteSyncError::Sync(io::Error::from_raw_os_error(-r)), None)),
            _ => {}
        }
    }
    Ok(())
}

impl IoBackend for UringIo {
    fn name(&self) -> &'static str {
        "uring"
    }

    fn write_batch(&self, ops: &[WriteOp<'_>]) -> io::Result<()> {
        self.submit_ops(ops, false).map_err(|e| match e {
            WriteSyncError::Write(e) | WriteSyncError::Sync(e) => e,
        })
    }

    fn read_batch(&self, ops: &mut [ReadOp<'_>]) -> io::Result<()> {
        read_each(&self.file, ops)
    }

    fn sync(&self) -> io::Result<()> {
        self.submit_ops(&[], true).map_err(|e| match e {
            WriteSyncError::Write(e) | WriteSyncError::Sync(e) => e,
        })
    }

    fn grow(&self, len: u64) -> io::Result<()> {
        file::grow(&self.file, len)
    }

    fn start_writeback(&self, range: std::ops::Range<u64>) -> io::Result<()> {
        file::start_writeback(&self.file, range)
    }

    fn write_and_sync(&self, ops: &[WriteOp<'_>]) -> Result<(), WriteSyncError> {
        self.submit_ops(ops, true)
    }
}

/// The writev requests for `run`, ops that follow each other in the file:
/// each at most `max_iov` buffers and `max_bytes` bytes, an op longer than
/// that split across requests (a value of 2 GiB or more is one op, and one
/// writev moves less), with the file offset each starts at.
fn split(run: &[WriteOp<'_>], max_iov: usize, max_bytes: usize) -> Vec<(u64, Vec<libc::iovec>)> {
    let mut out = Vec::new();
    let (mut iov, mut start, mut bytes) = (Vec::new(), 0, 0);
    for op in run {
        let (mut rest, mut offset) = (op.data, op.offset);
        loop {
            if iov.is_empty() {
                start = offset;
            }
            let (piece, after) = rest.split_at(rest.len().min(max_bytes - bytes));
            iov.push(libc::iovec { iov_base: piece.as_ptr() as *mut libc::c_void, iov_len: piece.len() });
            bytes += piece.len();
            offset += piece.len() as u64;
            rest = after;
            if iov.len() == max_iov || bytes == max_bytes {
                out.push((start, std::mem::take(&mut iov)));
                bytes = 0;
            }
            if rest.is_empty() {
                break;
            }
        }
    }
    if !iov.is_empty() {
        out.push((start, iov));
    }
    out
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::FileExt;

    use super::*;

    fn uring(f: File) -> Option<UringIo> {
        match UringIo::new(f, 8192) {
            Ok(io) => Some(io),
            Err(e) => {
                println!("SKIP io_uring unit test: io_uring refused here ({e})");
                None
            }
        }
    }

    /// What `split` asks of each request, and that the requests together
    /// write every byte of `run` at its offset, in order.
    fn assert_split(run: &[WriteOp<'_>], max_iov: usize, max_bytes: usize) -> usize {
        let requests = split(run, max_iov, max_bytes);
        let mut at = run[0].offset;
        let mut written: Vec<(*const u8, usize)> = Vec::new();
        for (offset, iov) in &requests {
            let len: usize = iov.iter().map(|v| v.iov_len).sum();
            assert!(iov.len() <= max_iov && len <= max_bytes, "a request of {} buffers, {len} bytes", iov.len());
            assert_eq!(*offset, at, "requests follow each other");
            at += len as u64;
            written.extend(iov.iter().map(|v| (v.iov_base as *const u8, v.iov_len)));
        }
        let end = run.last().map(|op| op.offset + op.data.len() as u64).unwrap();
        assert_eq!(at, end, "every byte written");
        // The buffers, glued back where they touch, are the ops' data.
        let mut glued: Vec<(*const u8, usize)> = Vec::new();
        for (p, n) in written.into_iter().filter(|w| w.1 > 0) {
            match glued.last_mut() {
                Some(last) if last.0.wrapping_add(last.1) == p => last.1 += n,
                _ => glued.push((p, n)),
            }
        }
        let ops: Vec<_> = run.iter().map(|op| (op.data.as_ptr(), op.data.len())).collect();
        assert_eq!(glued, ops);
        requests.len()
    }

    /// Bug: one op of 2 GiB or more (an overflow value that large) went
    /// as one writev, which Linux cuts at `MAX_RW`: the commit failed with
    /// a short write. The buffer is zeroed lazily: nothing is written.
    #[test]
    fn an_op_longer_than_one_write_moves_is_split() {
        let big = vec![0u8; MAX_RW + 5000];
        let page = [7u8; 4096];
        let run = [
            WriteOp { offset: 8192, data: &page },
            WriteOp { offset: 12288, data: &big },
            WriteOp { offset: 12288 + big.len() as u64, data: &page },
        ];
        assert_eq!(assert_split(&run, MAX_IOV, MAX_RW), 2);
    }

    #[test]
    fn requests_keep_to_both_limits() {
        let data: Vec<Vec<u8>> = [10, 3, 25, 1, 8, 8].iter().map(|&n| vec![1u8; n]).collect();
        let mut offset = 100;
        let run: Vec<WriteOp<'_>> = data
            .iter()
            .map(|d| {
                offset += d.len() as u64;
                WriteOp { offset: offset - d.len() as u64, data: d }
            })
            .collect();
        for (max_iov, max_bytes) in [(1, 4), (2, 8), (3, 1000), (1024, 7), (1024, MAX_RW)] {
            assert_split(&run, max_iov, max_bytes);
        }
        assert_eq!(split(&run, MAX_IOV, MAX_RW).len(), 1);
    }

    #[test]
    fn batches_land_at_their_offsets_and_sync_links_after_them() {
        let f = tempfile::tempfile().unwrap();
        let Some(io) = uring(f.try_clone().unwrap()) else { return };
        // More runs than one submission holds: 150 pages, every other one.
        let pages: Vec<Vec<u8>> = (0..150u32).map(|i| vec![(i % 251) as u8 + 1; 4096]).collect();
        let ops: Vec<WriteOp<'_>> =
            pages.iter().enumerate().map(|(i, p)| WriteOp { offset: 2 * i as u64 * 4096, data: p }).collect();
        io.write_and_sync(&ops).map_err(|e| format!("{e:?}")).unwrap();
        let mut all = vec![0u8; 300 * 4096];
        f.read_exact_at(&mut all[..299 * 4096], 0).unwrap();
        for (i, p) in pages.iter().enumerate() {
            assert_eq!(&all[2 * i * 4096..(2 * i + 1) * 4096], &p[..], "page {i}");
        }
        // Adjacent and unaligned ops, a plain batch and a plain sync.
        io.write_batch(&[WriteOp { offset: 1, data: b"abc" }, WriteOp { offset: 4, data: b"de" }]).unwrap();
        io.sync().unwrap();
        let mut head = [0u8; 6];
        f.read_exact_at(&mut head, 0).unwrap();
        assert_eq!(&head, b"\x01abcde");
    }

    #[test]
    fn a_failed_write_names_its_offset_and_skips_the_sync() {
        let f = tempfile::tempfile().unwrap();
        let Some(io) = uring(f.try_clone().unwrap()) else { return };
        let page = vec![1u8; 4096];
        // Past the largest file the filesystem allows: EFBIG (or EINVAL).
        let far = 1u64 << 62;
        let ops = [WriteOp { offset: 0, data: &page }, WriteOp { offset: far, data: &page }];
        match io.write_and_sync(&ops) {
            Err(WriteSyncError::Write(e)) => {
                assert!(e.to_string().contains(&format!("offset {far}")), "{e}");
                let inner = e.get_ref().and_then(|s| s.downcast_ref::<super::super::backend::OpError>());
                let errno = inner.and_then(|o| o.source.raw_os_error());
                assert!(matches!(errno, Some(libc::EFBIG) | Some(libc::EINVAL)), "{e}");
            }
            other => panic!("expected a failed write, got {other:?}"),
        }
        // The first write landed; the ring is still usable after the failure.
        let mut back = [0u8; 4096];
        f.read_exact_at(&mut back, 0).unwrap();
        assert_eq!(back, [1u8; 4096]);
        io.write_and_sync(&[WriteOp { offset: 4096, data: &page }]).map_err(|e| format!("{e:?}")).unwrap();
    }

    /// The largest size `f`'s filesystem allows a file (ftruncate past it
    /// fails with EFBIG), found by bisection.
    fn largest_file(f: &File) -> u64 {
        let (mut ok, mut too_big) = (0u64, i64::MAX as u64);
        while too_big - ok > 1 {
            let mid = ok + (too_big - ok) / 2;
            match f.set_len(mid) {
                Ok(()) => ok = mid,
                Err(_) => too_big = mid,
            }
        }
        f.set_len(0).unwrap();
        ok
    }

    #[test]
    fn a_short_write_reports_its_cause() {
        // A write across the largest file size completes short (the part
        // below the limit); the rest fails with EFBIG, as a full disk's
        // rest fails with ENOSPC. The error carries that errno, so that
        // a full disk is told apart, not "short write".
        let f = tempfile::tempfile().unwrap();
        let Some(io) = uring(f.try_clone().unwrap()) else { return };
        let max = largest_file(&f);
        let page = vec![1u8; 8192];
        let at = max - 4096;
        match io.write_and_sync(&[WriteOp { offset: at, data: &page }]) {
            Err(WriteSyncError::Write(e)) => {
                let inner = e.get_ref().and_then(|s| s.downcast_ref::<super::super::backend::OpError>());
                let errno = inner.and_then(|o| o.source.raw_os_error());
                assert_eq!(errno, Some(libc::EFBIG), "{e}");
                assert!(e.to_string().contains(&format!("offset {max}")), "{e}");
            }
            other => panic!("expected a failed write, got {other:?}"),
        }
    }
}
