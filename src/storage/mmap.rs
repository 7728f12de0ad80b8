//! The one read-only mapping of the database file.
//!
//! Invariants (everything `unsafe` in this file relies on them):
//! 1. The mapping is `PROT_READ`, `MAP_SHARED`, created once at open with the
//!    full reserved length (the configured max size), and unmapped only when
//!    the `Mmap` is dropped. It is never moved or resized, so a slice handed out
//!    stays valid for as long as the `&Mmap` it was borrowed from.
//! 2. `slice` only hands out ranges below `valid_len`, the file length this
//!    process knows the file has: set at open from `fstat`, raised only after
//!    the file was grown. Touching a mapped page beyond the end of the file
//!    raises SIGBUS, so this check is what keeps damaged metadata (a page id
//!    past the end) from crashing the process. A file truncated by another
//!    program is outside what we can defend against (see the header Caveats).
//! 3. Bytes are never written through the mapping; writes go through the I/O
//!    backend (pwrite), which the unified page cache makes visible here. After
//!    a failed fsync the database refuses further writes (it is poisoned), but
//!    the mapping stays readable.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Mmap {
    ptr: NonNull<u8>,
    reserved: usize,
    valid_len: AtomicU64,
}

// SAFETY: the mapping is read-only shared memory owned by this value; `&Mmap`
// only ever yields `&[u8]` into it, which is safe to share between threads.
unsafe impl Send for Mmap {}
// SAFETY: as above; `valid_len` is atomic.
unsafe impl Sync for Mmap {}

impl std::fmt::Debug for Mmap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mmap")
            .field("reserved", &self.reserved)
            .field("valid_len", &self.valid_len.load(Ordering::Relaxed))
            .finish()
    }
}

impl Mmap {
    /// Maps `reserved` bytes of `file` read-only; `file_len` is its current length.
    pub fn new(file: &File, reserved: usize, file_len: u64) -> io::Result<Mmap> {
        // SAFETY: a fresh mapping at an address the kernel chooses; the fd is
        // valid for the duration of the call and the mapping outlives it.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserved,
                libc::PROT_READ,
                libc::MAP_SHARED | libc::MAP_NORESERVE,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(Mmap { ptr, reserved, valid_len: AtomicU64::new(file_len.min(reserved as u64)) })
    }

    /// Records that the file now holds at least `len` bytes (invariant 2).
    /// The caller must have grown the file to `len` before calling.
    pub fn set_valid_len(&self, len: u64) {
        self.valid_len.fetch_max(len.min(self.reserved as u64), Ordering::Release);
    }

    pub fn valid_len(&self) -> u64 {
        self.valid_len.load(Ordering::Acquire)
    }

    /// `len` bytes at `offset`, or None when the range is not inside the file.
    #[inline]
    pub fn slice(&self, offset: u64, len: usize) -> Option<&[u8]> {
        let end = offset.checked_add(len as u64)?;
        if end > self.valid_len.load(Ordering::Acquire) {
            return None;
        }
        // SAFETY: `offset + len <= valid_len <= reserved` (invariant 2), so the
        // range lies inside the live mapping (invariant 1) and inside the file;
        // the slice borrows `self`, which keeps the mapping alive.
        Some(unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(offset as usize), len) })
    }
}

/// Asks the CPU to start loading `bytes` into its caches (a hint: it reads
/// nothing, faults nothing in, and costs one instruction per cache line).
/// A forward scan crossing into a leaf that sits elsewhere in the file
/// waited on that leaf's first lines; the cursor now hints the next one
/// while it reads the current one. A lookup hints the leaf it reaches,
/// so that the binary search's probes load together rather than one
/// dependent miss after another.
#[inline]
pub fn prefetch<T>(items: &[T]) {
    let (p, len) = (items.as_ptr().cast::<u8>(), std::mem::size_of_val(items));
    // A plain stride over the addresses: `chunks(64)` computed each
    // line's length, ten instructions a line, most of a scan's step from
    // one leaf to the next (callgrind).
    #[cfg(target_arch = "x86_64")]
    for at in (0..len).step_by(64) {
        // SAFETY: _mm_prefetch is a hint that never faults and reads
        // nothing (SSE, part of every x86_64 target); `at` < `len`, so the
        // address lies in `items`.
        unsafe { std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.add(at).cast()) };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, len);
}

impl Drop for Mmap {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`reserved` describe the mapping created in `new`; no
        // borrow of it can outlive `self`.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.reserved);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn slices_stop_at_the_valid_length() {
        let mut f = tempfile::tempfile().unwrap();
        f.write_all(&[7u8; 8192]).unwrap();
        let m = Mmap::new(&f, 1 << 30, 8192).unwrap();
        assert_eq!(m.slice(4096, 4096).unwrap()[0], 7);
        assert!(m.slice(4096, 4097).is_none());
        assert!(m.slice(u64::MAX, 1).is_none());
        f.set_len(16384).unwrap();
        m.set_valid_len(16384);
        assert_eq!(m.slice(12288, 4096).unwrap()[0], 0);
    }
}
