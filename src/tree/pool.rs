//! Recycled node buffers. A dirty node's heap and index grow by
//! reallocation; in a bulk load every growth freed a buffer of a few KiB and
//! asked for a slightly larger one, and glibc's allocator sorted each freed
//! chunk into its bins and searched them again, touching chunk headers
//! spread over the whole load's memory: malloc, realloc and free were a
//! fifth of a 4M-key load (perf), twice their share at 250k. Here a buffer's
//! capacity is a multiple of its type's class, and a thread keeps freed
//! buffers in one list per capacity, the most recently freed (cache-warm)
//! handed out first, up to `MAX_BYTES` per type.

use std::cell::RefCell;

/// Buffers above this many bytes are not kept.
const MAX_POOLED: usize = 64 << 10;
/// Bytes of free buffers a thread keeps per type (its growths and splits
/// recycle a few at a time; a commit returns every node of the transaction).
const MAX_BYTES: usize = 1 << 20;

/// Free buffers of one element type.
pub struct Lists<T> {
    /// `lists[c]`: free buffers of capacity `(c + 1) * CLASS`.
    lists: Vec<Vec<Vec<T>>>,
    bytes: usize,
}

impl<T> Lists<T> {
    const fn new() -> Lists<T> {
        Lists { lists: Vec::new(), bytes: 0 }
    }
}

/// An element type with a pool of its own.
pub trait Pooled: Sized + Copy + 'static {
    /// Buffer capacities are multiples of this many elements.
    const CLASS: usize;
    /// Runs `f` on this thread's lists; None when they are torn down (a
    /// buffer freed from another thread-local's destructor) or in use.
    fn with_lists<R>(f: impl FnOnce(&mut Lists<Self>) -> R) -> Option<R>;
}

thread_local! {
    static HEAPS: RefCell<Lists<u8>> = const { RefCell::new(Lists::new()) };
    static INDEXES: RefCell<Lists<u64>> = const { RefCell::new(Lists::new()) };
}

/// Node heaps: capacities in steps of 256 bytes.
impl Pooled for u8 {
    const CLASS: usize = 256;
    fn with_lists<R>(f: impl FnOnce(&mut Lists<u8>) -> R) -> Option<R> {
        HEAPS.try_with(|l| l.try_borrow_mut().ok().map(|mut l| f(&mut l))).ok().flatten()
    }
}

/// Node indexes: capacities in steps of 8 entries (3 words each).
impl Pooled for u64 {
    const CLASS: usize = 24;
    fn with_lists<R>(f: impl FnOnce(&mut Lists<u64>) -> R) -> Option<R> {
        INDEXES.try_with(|l| l.try_borrow_mut().ok().map(|mut l| f(&mut l))).ok().flatten()
    }
}

/// `n` elements rounded up to a buffer capacity.
fn capacity_for<T: Pooled>(n: usize) -> usize {
    n.max(1).div_ceil(T::CLASS) * T::CLASS
}

/// An empty buffer of capacity `capacity_for(min)`.
pub fn take<T: Pooled>(min: usize) -> Vec<T> {
    let cap = capacity_for::<T>(min);
    if cap * size_of::<T>() <= MAX_POOLED {
        let reused = T::with_lists(|p| {
            let v = p.lists.get_mut(cap / T::CLASS - 1)?.pop()?;
            p.bytes -= cap * size_of::<T>();
            Some(v)
        });
        if let Some(Some(v)) = reused {
            return v;
        }
    }
    Vec::with_capacity(cap)
}

/// Returns a buffer to this thread's pool (or to the allocator, when its
/// capacity is not a class, or the pool is full or torn down).
pub fn give<T: Pooled>(mut v: Vec<T>) {
    let cap = v.capacity();
    let bytes = cap * size_of::<T>();
    if cap == 0 || cap % T::CLASS != 0 || bytes > MAX_POOLED {
        return;
    }
    v.clear();
    T::with_lists(move |p| {
        if p.bytes + bytes > MAX_BYTES {
            return;
        }
        let c = cap / T::CLASS - 1;
        if p.lists.len() <= c {
            p.lists.resize_with(c + 1, Vec::new);
        }
        p.lists[c].push(v);
        p.bytes += bytes;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_buffer_comes_back_empty_for_its_class() {
        let mut v = take::<u8>(300);
        assert_eq!(v.capacity(), 512);
        v.extend_from_slice(&[1u8; 400]);
        let at = v.as_ptr();
        give(v);
        let w = take::<u8>(257);
        assert_eq!((w.as_ptr(), w.len(), w.capacity()), (at, 0, 512));
        // another class does not get it
        give(w);
        let other = take::<u8>(513);
        assert_ne!(other.as_ptr(), at);
        let same = take::<u8>(512);
        assert_eq!(same.as_ptr(), at);
        // nor does another type
        let words = take::<u64>(64);
        assert_eq!(words.capacity(), 72);
        assert_ne!(words.as_ptr() as *const u8, at);
    }

    struct GiveOnDrop(Vec<u8>);

    impl Drop for GiveOnDrop {
        fn drop(&mut self) {
            give(std::mem::take(&mut self.0));
        }
    }

    thread_local! {
        static HOLDER: RefCell<Option<GiveOnDrop>> = const { RefCell::new(None) };
    }

    #[test]
    fn a_buffer_given_back_after_the_pool_is_torn_down_is_freed() {
        std::thread::spawn(|| {
            // HOLDER's destructor is registered before the pool's, so it runs
            // after it (they run in reverse order): its heap comes back to a
            // pool that is gone.
            HOLDER.with(|h| assert!(h.borrow().is_none()));
            let heap = take::<u8>(100);
            give(take::<u8>(100));
            HOLDER.with(|h| *h.borrow_mut() = Some(GiveOnDrop(heap)));
        })
        .join()
        .expect("thread exits cleanly");
    }

    #[test]
    fn odd_and_huge_capacities_are_not_kept() {
        give(Vec::<u8>::with_capacity(300));
        give(Vec::<u8>::with_capacity(MAX_POOLED + 256));
        give(Vec::<u64>::with_capacity(25));
        assert_eq!(u8::with_lists(|p| p.bytes), Some(0));
        assert_eq!(u64::with_lists(|p| p.bytes), Some(0));
    }
}
