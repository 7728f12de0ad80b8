//! Page-aligned buffers for O_DIRECT, and a small pool of them.
//!
//! Invariants: an `AlignedBuf` owns `cap` bytes (a multiple of `ALIGN`,
//! never zero) allocated with `ALIGN` alignment and zero-initialised, so
//! every byte is always initialised; `len <= cap`. It is freed with the
//! layout it was allocated with. The pool only moves buffers around.
#![allow(unsafe_code)]

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::sync::Mutex;

/// Alignment of buffers, offsets and lengths for O_DIRECT: 4096 covers the
/// logical block size of nearly every device (the backend checks the
/// filesystem's own requirement at open).
pub const ALIGN: usize = 4096;

/// A zeroed, `ALIGN`-aligned heap buffer; `len` bytes of it are in use.
pub struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    cap: usize,
    len: usize,
}

// SAFETY: an AlignedBuf owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only reads through `&self` (as_slice).
unsafe impl Sync for AlignedBuf {}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlignedBuf").field("cap", &self.cap).field("len", &self.len).finish()
    }
}

impl AlignedBuf {
    /// A buffer of at least `cap` bytes (rounded up to `ALIGN`), `len` 0.
    pub fn new(cap: usize) -> AlignedBuf {
        let cap = cap.max(1).next_multiple_of(ALIGN);
        let layout = Layout::from_size_align(cap, ALIGN).expect("aligned buffer layout");
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) };
        let ptr = std::ptr::NonNull::new(raw).unwrap_or_else(|| std::alloc::handle_alloc_error(layout));
        AlignedBuf { ptr, cap, len: 0 }
    }

    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Sets the bytes in use to `len` (at most the capacity); the bytes
    /// keep whatever they held.
    pub fn set_len(&mut self, len: usize) {
        assert!(len <= self.cap, "aligned buffer of {} bytes asked for {len}", self.cap);
        self.len = len;
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is valid for `cap >= len` initialised bytes (zeroed
        // at allocation) and owned by self, borrowed immutably here.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, borrowed mutably and exclusively here.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(self.cap, ALIGN).expect("aligned buffer layout");
        // SAFETY: allocated in `new` with exactly this layout, freed once.
        unsafe { dealloc(self.ptr.as_ptr(), layout) }
    }
}

/// Keeps up to `keep` buffers for reuse, so a steady write load allocates
/// nothing.
#[derive(Debug)]
pub struct BufPool {
    free: Mutex<Vec<AlignedBuf>>,
    keep: usize,
}

impl BufPool {
    pub fn new(keep: usize) -> BufPool {
        BufPool { free: Mutex::new(Vec::new()), keep }
    }

    /// A buffer holding `len` bytes in use (their contents are arbitrary).
    pub fn take(&self, len: usize) -> AlignedBuf {
        let reused = {
            let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
            free.iter().position(|b| b.capacity() >= len).map(|i| free.swap_remove(i))
        };
        let mut buf = reused.unwrap_or_else(|| AlignedBuf::new(len));
        buf.set_len(len);
        buf
    }

    /// Returns a buffer for reuse (dropped if the pool is full).
    pub fn give(&self, buf: AlignedBuf) {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        if free.len() < self.keep {
            free.push(buf);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_are_aligned_zeroed_and_reused() {
        let pool = BufPool::new(2);
        let mut a = pool.take(100);
        assert_eq!(a.as_slice().len(), 100);
        assert_eq!(a.capacity(), ALIGN);
        assert_eq!(a.as_slice().as_ptr() as usize % ALIGN, 0);
        assert!(a.as_slice().iter().all(|&b| b == 0));
        a.as_mut_slice()[99] = 7;
        let addr = a.as_slice().as_ptr() as usize;
        pool.give(a);
        let b = pool.take(ALIGN);
        assert_eq!(b.as_slice().as_ptr() as usize, addr, "the freed buffer is reused");
        let c = pool.take(3 * ALIGN + 1);
        assert_eq!(c.capacity(), 4 * ALIGN);
        assert_eq!(c.as_slice().as_ptr() as usize % ALIGN, 0);
    }
}
