//! The portable backend: pwritev with adjacent pages coalesced into one call
//! of at most `write_buffer` bytes, fdatasync for durability.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;

use super::backend::{read_each, runs};
use super::{IoBackend, ReadOp, WriteOp};
use crate::storage::file;

const MAX_IOV: usize = 1024; // IOV_MAX on Linux

#[derive(Debug)]
pub struct SyncIo {
    file: File,
    write_buffer: usize,
    /// pwritev calls made (tests count them).
    #[cfg(test)]
    calls: std::sync::atomic::AtomicU64,
}

impl SyncIo {
    pub fn new(file: File, write_buffer: usize) -> SyncIo {
        SyncIo {
            file,
            write_buffer: write_buffer.max(4096),
            #[cfg(test)]
            calls: Default::default(),
        }
    }

    /// Writes `bufs` back to back starting at `offset`, looping over short writes.
    fn pwritev_all(&self, bufs: &[&[u8]], mut offset: u64) -> io::Result<()> {
        let mut first = 0; // index of the first buffer not fully written
        let mut skip = 0; // bytes of bufs[first] already written
        while first < bufs.len() {
            let iov: Vec<libc::iovec> = bufs[first..]
                .iter()
                .take(MAX_IOV)
                .enumerate()
                .map(|(i, b)| {
                    let b = if i == 0 { &b[skip..] } else { b };
                    libc::iovec { iov_base: b.as_ptr() as *mut libc::c_void, iov_len: b.len() }
                })
                .collect();
            #[cfg(test)]
            self.calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            // SAFETY: every iovec points into a live slice borrowed for this
            // call; the kernel only reads from them.
            let n = unsafe {
                libc::pwritev(self.file.as_raw_fd(), iov.as_ptr(), iov.len() as libc::c_int, offset as libc::off_t)
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                if err.raw_os_error() == Some(libc::EINTR) {
                    continue;
                }
                return Err(err);
            }
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::WriteZero, "pwritev wrote nothing"));
            }
            let mut n = n as usize;
            offset += n as u64;
            while n > 0 && first < bufs.len() {
                let left = bufs[first].len() - skip;
                if n >= left {
                    n -= left;
                    first += 1;
                    skip = 0;
                } else {
                    skip += n;
                    n = 0;
                }
            }
        }
        Ok(())
    }
}

impl IoBackend for SyncIo {
    fn name(&self) -> &'static str {
        "sync"
    }

    fn write_batch(&self, ops: &[WriteOp<'_>]) -> io::Result<()> {
        for run in runs(ops, self.write_buffer) {
            let bufs: Vec<&[u8]> = ops[run.clone()].iter().map(|op| op.data).collect();
            self.pwritev_all(&bufs, ops[run.start].offset)?;
        }
        Ok(())
    }

    fn read_batch(&self, ops: &mut [ReadOp<'_>]) -> io::Result<()> {
        read_each(&self.file, ops)
    }

    fn sync(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    fn grow(&self, len: u64) -> io::Result<()> {
        file::grow(&self.file, len)
    }

    fn start_writeback(&self, range: std::ops::Range<u64>) -> io::Result<()> {
        file::start_writeback(&self.file, range)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesced_and_split_writes_land_at_their_offsets() {
        let f = tempfile::tempfile().unwrap();
        let io = SyncIo::new(f.try_clone().unwrap(), 8192);
        let a = vec![1u8; 4096];
        let b = vec![2u8; 4096];
        let c = vec![3u8; 4096];
        let d = vec![4u8; 100];
        // a,b coalesce; c exceeds the 8 KiB buffer and starts a new call; d is apart.
        io.write_batch(&[
            WriteOp { offset: 0, data: &a },
            WriteOp { offset: 4096, data: &b },
            WriteOp { offset: 8192, data: &c },
            WriteOp { offset: 20000, data: &d },
        ])
        .unwrap();
        let mut out = vec![0u8; 20100];
        io.read_batch(&mut [ReadOp { offset: 0, buf: &mut out }]).unwrap();
        assert!(out[..4096].iter().all(|&x| x == 1));
        assert!(out[4096..8192].iter().all(|&x| x == 2));
        assert!(out[8192..12288].iter().all(|&x| x == 3));
        assert!(out[12288..20000].iter().all(|&x| x == 0));
        assert!(out[20000..].iter().all(|&x| x == 4));
        // a+b in one call, c alone (the buffer is full), d apart: three.
        assert_eq!(io.calls.load(std::sync::atomic::Ordering::Relaxed), 3);
    }

    #[test]
    fn a_run_of_adjacent_pages_is_one_pwritev() {
        let f = tempfile::tempfile().unwrap();
        let io = SyncIo::new(f, 256 * 1024);
        let pages: Vec<Vec<u8>> = (0..64u8).map(|i| vec![i; 4096]).collect();
        let ops: Vec<WriteOp<'_>> =
            pages.iter().enumerate().map(|(i, p)| WriteOp { offset: i as u64 * 4096, data: p }).collect();
        io.write_batch(&ops).unwrap();
        assert_eq!(io.calls.load(std::sync::atomic::Ordering::Relaxed), 1, "64 adjacent pages, 256 KiB: one call");
        let mut out = vec![0u8; 64 * 4096];
        io.read_batch(&mut [ReadOp { offset: 0, buf: &mut out }]).unwrap();
        assert!(out.chunks(4096).enumerate().all(|(i, p)| p.iter().all(|&b| b == i as u8)));
        // One page more than the buffer holds: two calls.
        let more: Vec<Vec<u8>> = (0..65u8).map(|i| vec![i; 4096]).collect();
        let ops: Vec<WriteOp<'_>> =
            more.iter().enumerate().map(|(i, p)| WriteOp { offset: i as u64 * 4096, data: p }).collect();
        io.write_batch(&ops).unwrap();
        assert_eq!(io.calls.load(std::sync::atomic::Ordering::Relaxed), 3);
    }
}
