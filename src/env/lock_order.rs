//! A mutex with a rank, so the lock order written in the head of `env` is
//! checked: in debug builds, taking a lock while holding one of the same or
//! a later rank panics, naming both. Release builds keep no record.
//!
//! A poisoned mutex is entered anyway: every state behind these locks is
//! left consistent between statements, and the panic that poisoned it is
//! reported where it happened.

use std::sync::{Condvar, Mutex, MutexGuard};

/// The ranks, in the order they may be taken.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Rank {
    Writer = 1,
    Sync = 2,
    Published = 3,
    Poison = 4,
    Syncer = 5,
}

#[derive(Debug)]
pub(crate) struct RankedMutex<T> {
    rank: Rank,
    inner: Mutex<T>,
}

/// A held `RankedMutex`.
#[derive(Debug)]
pub(crate) struct RankedGuard<'a, T> {
    /// Always Some but while a condvar wait has the guard.
    guard: Option<MutexGuard<'a, T>>,
    rank: Rank,
}

impl<T> RankedMutex<T> {
    pub fn new(rank: Rank, value: T) -> RankedMutex<T> {
        RankedMutex { rank, inner: Mutex::new(value) }
    }

    pub fn lock(&self) -> RankedGuard<'_, T> {
        held::enter(self.rank);
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        RankedGuard { guard: Some(guard), rank: self.rank }
    }
}

impl<T> RankedGuard<'_, T> {
    /// Waits on `cv`, which must be used with this mutex only.
    pub fn wait(&mut self, cv: &Condvar) {
        let g = self.guard.take().expect("guard present outside a wait");
        self.guard = Some(cv.wait(g).unwrap_or_else(|p| p.into_inner()));
    }
}

impl<T> std::ops::Deref for RankedGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard.as_ref().expect("guard present outside a wait")
    }
}

impl<T> std::ops::DerefMut for RankedGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard.as_mut().expect("guard present outside a wait")
    }
}

impl<T> Drop for RankedGuard<'_, T> {
    fn drop(&mut self) {
        self.guard = None;
        held::leave(self.rank);
    }
}

#[cfg(debug_assertions)]
mod held {
    use std::cell::RefCell;

    use super::Rank;

    thread_local! {
        static HELD: RefCell<Vec<Rank>> = const { RefCell::new(Vec::new()) };
    }

    pub fn enter(rank: Rank) {
        // `try_with`: a lock taken during thread teardown goes unchecked.
        let _ = HELD.try_with(|h| {
            let mut h = h.borrow_mut();
            if let Some(&top) = h.iter().max() {
                assert!(
                    top < rank,
                    "lock order: taking {rank:?} while holding {top:?} (see the head of src/env/mod.rs)"
                );
            }
            h.push(rank);
        });
    }

    pub fn leave(rank: Rank) {
        let _ = HELD.try_with(|h| {
            let mut h = h.borrow_mut();
            if let Some(i) = h.iter().rposition(|&r| r == rank) {
                h.remove(i);
            }
        });
    }
}

#[cfg(not(debug_assertions))]
mod held {
    use super::Rank;

    pub fn enter(_: Rank) {}

    pub fn leave(_: Rank) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_in_order_are_fine() {
        let (a, b) = (RankedMutex::new(Rank::Writer, 1), RankedMutex::new(Rank::Published, 2));
        let ga = a.lock();
        let gb = b.lock();
        assert_eq!(*ga + *gb, 3);
        drop(gb);
        drop(ga);
        // The same lock again after release, and the later one alone.
        drop(b.lock());
        drop(a.lock());
    }

    #[cfg(debug_assertions)]
    #[test]
    fn a_lock_out_of_order_panics_in_debug_builds() {
        let r = std::thread::spawn(|| {
            let (a, b) = (RankedMutex::new(Rank::Writer, ()), RankedMutex::new(Rank::Published, ()));
            let _gb = b.lock();
            let _ga = a.lock();
        })
        .join();
        let msg = r.expect_err("out-of-order locking must panic");
        let msg = msg.downcast_ref::<String>().cloned().unwrap_or_default();
        assert!(msg.contains("taking Writer while holding Published"), "{msg}");
    }
}
