//! Recycled node heaps. A dirty node's heap grows by reallocation; in a bulk
//! load every growth freed a buffer of a few KiB and asked for a slightly
//! larger one, and glibc's allocator sorted each freed chunk into its bins
//! and searched them again, touching chunk headers spread over the whole
//! load's memory: malloc, realloc and free were a fifth of a 4M-key load
//! (perf), twice their share at 250k. Here a heap's capacity is a multiple
//! of `CLASS`, and a thread keeps freed heaps in one list per capacity, the
//! most recently freed (cache-warm) handed out first, up to `MAX_BYTES`.

use std::cell::RefCell;

/// Heap capacities are multiples of this.
pub const CLASS: usize = 256;
/// Heaps above this capacity are not kept.
const MAX_POOLED: usize = 64 << 10;
/// Bytes of free heaps a thread keeps (its growths and splits recycle a
/// few at a time; a commit returns every node of the transaction).
const MAX_BYTES: usize = 1 << 20;

struct Pool {
    /// `lists[c]`: free heaps of capacity `(c + 1) * CLASS`.
    lists: Vec<Vec<Vec<u8>>>,
    bytes: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const { RefCell::new(Pool { lists: Vec::new(), bytes: 0 }) };
}

/// `n` rounded up to a heap capacity.
pub fn capacity_for(n: usize) -> usize {
    n.max(1).div_ceil(CLASS) * CLASS
}

/// An empty heap of capacity `capacity_for(min)`.
pub fn take(min: usize) -> Vec<u8> {
    let cap = capacity_for(min);
    if cap <= MAX_POOLED {
        // try_with: a node dropped or grown while the thread's locals are
        // torn down uses the allocator.
        let reused = POOL.try_with(|p| {
            let mut p = p.try_borrow_mut().ok()?;
            let v = p.lists.get_mut(cap / CLASS - 1)?.pop()?;
            p.bytes -= cap;
            Some(v)
        });
        if let Ok(Some(v)) = reused {
            return v;
        }
    }
    Vec::with_capacity(cap)
}

/// Returns a heap to this thread's pool (or to the allocator, when its
/// capacity is not a class or the pool is full).
pub fn give(mut v: Vec<u8>) {
    let cap = v.capacity();
    if cap == 0 || cap % CLASS != 0 || cap > MAX_POOLED {
        return;
    }
    v.clear();
    let _ = POOL.try_with(|p| {
        let Ok(mut p) = p.try_borrow_mut() else { return };
        if p.bytes + cap > MAX_BYTES {
            return;
        }
        let c = cap / CLASS - 1;
        if p.lists.len() <= c {
            p.lists.resize_with(c + 1, Vec::new);
        }
        p.lists[c].push(v);
        p.bytes += cap;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_heap_comes_back_empty_for_its_class() {
        let mut v = take(300);
        assert_eq!(v.capacity(), 512);
        v.extend_from_slice(&[1u8; 400]);
        let at = v.as_ptr();
        give(v);
        let w = take(257);
        assert_eq!((w.as_ptr(), w.len(), w.capacity()), (at, 0, 512));
        // another class does not get it
        give(w);
        let other = take(513);
        assert_ne!(other.as_ptr(), at);
        let same = take(512);
        assert_eq!(same.as_ptr(), at);
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
    fn a_heap_given_back_after_the_pool_is_torn_down_is_freed() {
        std::thread::spawn(|| {
            // HOLDER's destructor is registered before the pool's, so it runs
            // after it (they run in reverse order): its heap comes back to a
            // pool that is gone.
            HOLDER.with(|h| assert!(h.borrow().is_none()));
            let heap = take(100);
            give(take(100));
            HOLDER.with(|h| *h.borrow_mut() = Some(GiveOnDrop(heap)));
        })
        .join()
        .expect("thread exits cleanly");
    }

    #[test]
    fn odd_and_huge_capacities_are_not_kept() {
        give(Vec::with_capacity(300));
        give(Vec::with_capacity(MAX_POOLED + CLASS));
        POOL.with(|p| assert_eq!(p.borrow().bytes, 0));
    }
}
