//! The O_DIRECT backend: writes bypass the page cache, from page-aligned
//! buffers of a small pool; reads (metas at open, `check`) and growth use
//! the ordinary descriptor, and readers keep reading through the mapping
//! (the kernel drops cached pages a direct write replaces).
//!
//! O_DIRECT wants offsets, lengths and buffers aligned to the filesystem's
//! direct-I/O alignment, at most `ALIGN` (checked at open with statx). Page
//! writes are aligned already (pages are at least 4096 bytes); an op that is
//! not (a log append, the end of an overflow value) is written as the whole
//! blocks it touches: the bytes of those blocks outside the op are read
//! first (read-modify-write) and written back unchanged. The last partly
//! written block is kept, so a run of appends to the log reads each block
//! at most once. A write that ends inside a block past the end of the file
//! is cut back to its own end, so the file never grows longer than the ops
//! ask.
//!
//! The direct descriptor is a second open of the same file
//! (`file::reopen`), so O_DIRECT never applies to the descriptor that holds
//! the lock or that writes a new file's metas.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::sync::{Mutex, MutexGuard};

use super::aligned::{AlignedBuf, BufPool, ALIGN};
use super::backend::{op_error, read_each, runs};
use super::{IoBackend, ReadOp, WriteOp};
use crate::error::{Error, Result};
use crate::storage::file;

const A: u64 = ALIGN as u64;

#[derive(Debug)]
pub struct DirectIo {
    /// The descriptor the backend was given: reads, growth.
    buffered: File,
    /// The same file opened with O_DIRECT: every write and sync.
    direct: File,
    write_buffer: usize,
    pool: BufPool,
    /// Held across a write: blocks written partly are read, changed and
    /// written back under it.
    tail: Mutex<Tail>,
}

#[derive(Debug)]
struct Tail {
    /// The block last written partly: its offset and its bytes on disk.
    block: Option<(u64, AlignedBuf)>,
    /// The file's length as last seen (it only grows while we hold it).
    len: u64,
}

impl DirectIo {
    /// Opens `file` a second time with O_DIRECT. `Unsupported` where the
    /// filesystem refuses O_DIRECT (tmpfs) or needs more alignment than
    /// `ALIGN`, saying which file.
    pub fn open(file: File, write_buffer: usize) -> Result<DirectIo> {
        let (name, direct) = file::reopen(&file, libc::O_DIRECT);
        let direct = direct.map_err(|e| refused(&name, e))?;
        check_alignment(&direct, &name)?;
        let len = file.metadata().map_err(|e| Error::io("stat", &name, None, e))?.len();
        let tail = Mutex::new(Tail { block: None, len });
        Ok(DirectIo { buffered: file, direct, write_buffer: write_buffer.max(ALIGN), pool: BufPool::new(4), tail })
    }

    fn lock(&self) -> MutexGuard<'_, Tail> {
        self.tail.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes one run of adjacent ops as the aligned blocks covering it.
    fn write_run(&self, tail: &mut Tail, ops: &[WriteOp<'_>]) -> io::Result<()> {
        let start = ops[0].offset;
        let end = ops.iter().fold(start, |at, op| at + op.data.len() as u64);
        let (astart, aend) = (start / A * A, end.next_multiple_of(A));
        let mut buf = self.pool.take((aend - astart) as usize);
        let last = aend - A;
        if start != astart {
            self.fill_block(tail, &mut buf, astart, astart)?;
        }
        if end != aend && (last != astart || start == astart) {
            self.fill_block(tail, &mut buf, astart, last)?;
        }
        for op in ops {
            let at = (op.offset - astart) as usize;
            buf.as_mut_slice()[at..at + op.data.len()].copy_from_slice(op.data);
        }
        if aend > tail.len {
            tail.len = self.buffered.metadata()?.len();
        }
        let written = self.pwrite_all(buf.as_slice(), astart);
        if aend > tail.len {
            // The whole last block was written past the end of the file:
            // cut it back to the ops' end (even after a failed write).
            let keep = tail.len.max(end).min(aend);
            self.direct.set_len(keep)?;
        }
        written?;
        tail.len = tail.len.max(end);
        match &mut tail.block {
            Some((at, cached)) if *at == last && end != aend => {
                cached.as_mut_slice().copy_from_slice(&buf.as_slice()[(last - astart) as usize..]);
            }
            cached => {
                *cached = (end != aend).then(|| {
                    let mut b = AlignedBuf::new(ALIGN);
                    b.set_len(ALIGN);
                    b.as_mut_slice().copy_from_slice(&buf.as_slice()[(last - astart) as usize..]);
                    (last, b)
                });
            }
        }
        self.pool.give(buf);
        Ok(())
    }

    /// Fills the block at file offset `block` of `buf` (which starts at
    /// file offset `base`) with what the file holds there (zeros past its
    /// end), from the kept block when it is that one.
    fn fill_block(&self, tail: &Tail, buf: &mut AlignedBuf, base: u64, block: u64) -> io::Result<()> {
        let at = (block - base) as usize;
        let dst = &mut buf.as_mut_slice()[at..at + ALIGN];
        if let Some((off, cached)) = &tail.block {
            if *off == block {
                dst.copy_from_slice(cached.as_slice());
                return Ok(());
            }
        }
        let mut got = 0;
        while got < ALIGN {
            // The rest of a block is read only at its start (got == 0) or
            // after an aligned short read; both offsets stay aligned.
            match self.direct.read_at(&mut dst[got..], block + got as u64) {
                Ok(0) => break,
                Ok(n) if n % ALIGN == 0 || got + n == ALIGN => got += n,
                // A short read ends at the end of the file.
                Ok(n) => {
                    got += n;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(op_error("O_DIRECT read of a partly written block", block, e)),
            }
        }
        dst[got..].fill(0);
        Ok(())
    }

    /// Writes the aligned `data` at the aligned `offset`.
    fn pwrite_all(&self, data: &[u8], offset: u64) -> io::Result<()> {
        let mut done = 0;
        while done < data.len() {
            match self.direct.write_at(&data[done..], offset + done as u64) {
                Ok(n) if n > 0 && n % ALIGN == 0 => done += n,
                Ok(n) => {
                    let short = io::Error::new(
                        io::ErrorKind::WriteZero,
                        format!("short write: {} of {} bytes", done + n, data.len()),
                    );
                    return Err(op_error("O_DIRECT write", offset + done as u64, short));
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(op_error("O_DIRECT write", offset + done as u64, e)),
            }
        }
        Ok(())
    }
}

/// The error of an O_DIRECT open of `name` that failed with `e`: EINVAL is
/// how Linux says the filesystem has no O_DIRECT.
fn refused(name: &std::path::Path, e: io::Error) -> Error {
    match e.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => Error::Unsupported(format!(
            "{}: the filesystem refuses O_DIRECT ({e}); use THUNDER_IO_SYNC or AUTO there",
            name.display()
        )),
        _ => Error::io("open with O_DIRECT", name, None, e),
    }
}

/// Refuses files whose filesystem needs more alignment than `ALIGN` or no
/// direct I/O at all (where statx can tell; older kernels cannot, and 4096
/// is then taken to do).
fn check_alignment(direct: &File, name: &std::path::Path) -> Result<()> {
    // SAFETY: statx is plain old data; all zeros is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: a valid fd, an empty NUL-terminated path with AT_EMPTY_PATH,
    // and `stx` is a live, writable statx the kernel fills.
    let rc =
        unsafe { libc::statx(direct.as_raw_fd(), c"".as_ptr(), libc::AT_EMPTY_PATH, libc::STATX_DIOALIGN, &mut stx) };
    if rc != 0 || stx.stx_mask & libc::STATX_DIOALIGN == 0 {
        return Ok(());
    }
    let (mem, off) = (stx.stx_dio_mem_align as usize, stx.stx_dio_offset_align as usize);
    if off == 0 {
        return Err(Error::Unsupported(format!("{}: the filesystem offers no direct I/O", name.display())));
    }
    if mem > ALIGN || off > ALIGN {
        return Err(Error::Unsupported(format!(
            "{}: direct I/O needs {off}-byte offsets and {mem}-byte buffers, more than the {ALIGN} thunder aligns to",
            name.display()
        )));
    }
    Ok(())
}

impl IoBackend for DirectIo {
    fn name(&self) -> &'static str {
        "direct"
    }

    fn write_batch(&self, ops: &[WriteOp<'_>]) -> io::Result<()> {
        let mut tail = self.lock();
        for run in runs(ops, self.write_buffer) {
            self.write_run(&mut tail, &ops[run])?;
        }
        Ok(())
    }

    fn read_batch(&self, ops: &mut [ReadOp<'_>]) -> io::Result<()> {
        read_each(&self.buffered, ops)
    }

    fn sync(&self) -> io::Result<()> {
        self.direct.sync_data()
    }

    fn grow(&self, len: u64) -> io::Result<()> {
        let mut tail = self.lock();
        file::grow(&self.buffered, len)?;
        tail.len = tail.len.max(len);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file on a filesystem that takes O_DIRECT, or None (and why) where
    /// the temporary directory's does not.
    fn direct_file() -> Option<(tempfile::NamedTempFile, DirectIo)> {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        match DirectIo::open(tmp.reopen().unwrap(), 8192) {
            Ok(io) => Some((tmp, io)),
            Err(Error::Unsupported(why)) => {
                println!("SKIP direct backend unit test: {why}");
                None
            }
            Err(e) => panic!("opening with O_DIRECT: {e}"),
        }
    }

    fn contents(tmp: &tempfile::NamedTempFile) -> Vec<u8> {
        std::fs::read(tmp.path()).unwrap()
    }

    #[test]
    fn unaligned_appends_keep_their_neighbours_and_the_file_length() {
        let Some((tmp, io)) = direct_file() else { return };
        let mut model = Vec::new();
        // Byte-granular appends, as the log makes them, across blocks.
        for (i, len) in [32usize, 100, 5000, 1, 4000, 9000, 63].into_iter().enumerate() {
            let data = vec![i as u8 + 1; len];
            io.write_batch(&[WriteOp { offset: model.len() as u64, data: &data }]).unwrap();
            model.extend_from_slice(&data);
            assert_eq!(contents(&tmp), model, "after append {i}");
        }
        // Preallocated room ahead (zeros), then appends into it.
        io.grow(model.len() as u64 + 20000).unwrap();
        model.resize(model.len() + 20000, 0);
        let at = model.len() - 20000;
        io.write_batch(&[WriteOp { offset: at as u64, data: &[9u8; 70] }]).unwrap();
        model[at..at + 70].fill(9);
        assert_eq!(contents(&tmp), model);
        // An overwrite in the middle of what is there, spanning blocks.
        io.write_batch(&[WriteOp { offset: 4000, data: &[7u8; 300] }, WriteOp { offset: 4300, data: &[8u8; 10] }])
            .unwrap();
        model[4000..4300].fill(7);
        model[4300..4310].fill(8);
        assert_eq!(contents(&tmp), model);
        io.sync().unwrap();
    }

    #[test]
    fn aligned_pages_are_written_whole_and_read_back() {
        let Some((tmp, io)) = direct_file() else { return };
        io.grow(6 * 4096).unwrap();
        let pages: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i + 1; 4096]).collect();
        // Pages 0,1,2 adjacent (8 KiB buffer: two writes), 4 apart.
        let ops = [
            WriteOp { offset: 0, data: &pages[0] },
            WriteOp { offset: 4096, data: &pages[1] },
            WriteOp { offset: 8192, data: &pages[2] },
            WriteOp { offset: 16384, data: &pages[4] },
        ];
        io.write_batch(&ops).unwrap();
        let got = contents(&tmp);
        assert_eq!(got.len(), 6 * 4096);
        assert!(got[..4096].iter().all(|&b| b == 1) && got[8192..12288].iter().all(|&b| b == 3));
        assert!(got[12288..16384].iter().all(|&b| b == 0) && got[16384..20480].iter().all(|&b| b == 5));
        let mut back = vec![0u8; 4096];
        io.read_batch(&mut [ReadOp { offset: 4096, buf: &mut back }]).unwrap();
        assert_eq!(back, pages[1]);
    }

    #[test]
    fn a_filesystem_without_o_direct_is_unsupported() {
        // Linux answers an O_DIRECT open on such a filesystem with EINVAL.
        let e = refused(std::path::Path::new("/mnt/x.db"), io::Error::from_raw_os_error(libc::EINVAL));
        let Error::Unsupported(why) = e else { panic!("{e}") };
        assert!(why.contains("/mnt/x.db") && why.contains("refuses O_DIRECT"), "{why}");
        let e = refused(std::path::Path::new("/mnt/x.db"), io::Error::from_raw_os_error(libc::EACCES));
        assert_eq!(e.kind(), crate::error::ErrorKind::Io, "{e}");
        // tmpfs refused O_DIRECT before Linux 6.6; where it still does, the
        // backend says so at open.
        let Ok(tmp) = tempfile::NamedTempFile::new_in("/dev/shm") else { return };
        match DirectIo::open(tmp.reopen().unwrap(), 8192) {
            Err(Error::Unsupported(why)) => {
                assert!(why.contains(&tmp.path().display().to_string()) && why.contains("O_DIRECT"), "{why}")
            }
            Ok(_) => println!("note: /dev/shm (tmpfs) takes O_DIRECT on this kernel"),
            Err(e) => panic!("{e}"),
        }
    }
}
