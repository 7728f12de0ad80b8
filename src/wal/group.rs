//! Group commit, leader/follower: a committer whose records are appended
//! waits until they are durable. The first waiter to find no sync under way
//! becomes the leader and syncs the log for everyone appended so far; the
//! others wait for it, and a waiter whose records the leader's sync did not
//! cover leads the next round. So N threads committing together pay about
//! one fsync, and a lone committer pays one with no added delay.
//!
//! A leader first gathers: while another commit is between the start of its
//! commit phases and its append (`Committing`), the leader waits for that
//! append, at most `GATHER`, so that its sync covers that commit too. The
//! writer slot admits one such commit at a time; a lone committer never
//! waits.
//!
//! A follower first yields its CPU while it watches the durable LSN
//! (`yield_until`), and sleeps on the condvar only if the sync outlasts
//! `YIELD_FOR`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The longest a leader waits for a commit under way to append.
const GATHER: Duration = Duration::from_micros(200);
/// How long a waiter yields its CPU in a loop, watching for what it waits
/// for, before it sleeps on a condition variable (as RocksDB's write thread
/// does). A wake-up from a condvar on this VM costs a context switch and an
/// IPI on the critical path. 4 threads committing single puts with the log
/// (4,000 commits, interleaved runs): 13.7k-15.3k commits/s sleeping at
/// once, 19-23k yielding up to 150-1,000 us; 50 us did not cover an fsync.
pub(crate) const YIELD_FOR: Duration = Duration::from_micros(300);

use crate::error::{Error, Result};
use crate::types::Lsn;

#[derive(Debug)]
pub(crate) struct GroupCommit {
    state: Mutex<State>,
    cv: Condvar,
    /// Syncs done (rounds led).
    batches: AtomicU64,
    /// Commits made durable by those syncs.
    commits: AtomicU64,
    /// The longest a leader gathers.
    gather: Duration,
    /// `State::durable`, readable without the lock (spinning followers).
    durable_now: AtomicU64,
    /// A leader is syncing (or gathering before it syncs). Written under
    /// `state`'s lock, so read there it is exact; read without it
    /// (`syncing`, asked by every logged commit) it is a hint.
    syncing: AtomicBool,
}

#[derive(Debug)]
struct State {
    /// Everything before this LSN is durable.
    durable: Lsn,
    /// Commits under way that will append (see `Committing`).
    committing: usize,
    /// A failed sync: every later wait fails with it (the database is
    /// poisoned by then).
    failed: Option<String>,
    /// Threads asleep on `cv`. A notify only when there are any: Rust's
    /// condvar makes a futex call on every notify, and a lone committer's
    /// one per commit was a syscall for nobody.
    sleepers: usize,
}

impl GroupCommit {
    /// `durable`: where the log is known durable (its end at open).
    pub fn new(durable: Lsn) -> GroupCommit {
        GroupCommit::with_gather(durable, GATHER)
    }

    fn with_gather(durable: Lsn, gather: Duration) -> GroupCommit {
        GroupCommit {
            gather,
            state: Mutex::new(State { durable, committing: 0, failed: None, sleepers: 0 }),
            cv: Condvar::new(),
            batches: AtomicU64::new(0),
            commits: AtomicU64::new(0),
            durable_now: AtomicU64::new(durable.0),
            syncing: AtomicBool::new(false),
        }
    }

    /// Returns once everything before `lsn` is durable, syncing as the
    /// leader when no sync is under way. `sync` makes the log durable and
    /// returns the LSN it covered.
    pub fn wait(&self, lsn: Lsn, sync: impl Fn() -> Result<Lsn>) -> Result<()> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if st.durable >= lsn {
                self.commits.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            if let Some(cause) = &st.failed {
                return Err(Error::Poisoned { op: "commit", cause: cause.clone() });
            }
            if self.syncing() {
                drop(st);
                yield_until(|| self.durable_now.load(Ordering::Acquire) >= lsn.0);
                st = self.state.lock().unwrap_or_else(|p| p.into_inner());
                if self.syncing() && st.durable < lsn {
                    st = self.sleep(st, None);
                }
                continue;
            }
            self.syncing.store(true, Ordering::Relaxed);
            let deadline = Instant::now() + self.gather;
            while st.committing > 0 {
                let Some(left) = deadline.checked_duration_since(Instant::now()) else { break };
                st = self.sleep(st, Some(left));
            }
            drop(st);
            let res = sync();
            st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            self.syncing.store(false, Ordering::Relaxed);
            match res {
                Ok(covered) => {
                    st.durable = st.durable.max(covered);
                    self.durable_now.store(st.durable.0, Ordering::Release);
                    self.batches.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => st.failed = Some(e.to_string()),
            }
            self.wake(&st);
        }
    }

    /// Sleeps on the condvar (at most `limit`), counted in `sleepers`.
    fn sleep<'a>(&self, mut st: MutexGuard<'a, State>, limit: Option<Duration>) -> MutexGuard<'a, State> {
        st.sleepers += 1;
        let mut st = match limit {
            None => self.cv.wait(st).unwrap_or_else(|p| p.into_inner()),
            Some(d) => self.cv.wait_timeout(st, d).unwrap_or_else(|p| p.into_inner()).0,
        };
        st.sleepers -= 1;
        st
    }

    /// Wakes every sleeper, if there is one (`st` held, so none can be
    /// between its check and its sleep).
    fn wake(&self, st: &State) {
        if st.sleepers > 0 {
            self.cv.notify_all();
        }
    }

    /// Marks a commit under way until the returned guard drops (after its
    /// append, or on the error that ended it).
    pub fn committing(&self) -> Committing<'_> {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).committing += 1;
        Committing(self)
    }

    /// Whether a leader is syncing (or gathering) now.
    pub fn syncing(&self) -> bool {
        self.syncing.load(Ordering::Relaxed)
    }

    /// (syncs led, commits made durable by them).
    pub fn counts(&self) -> (u64, u64) {
        (self.batches.load(Ordering::Relaxed), self.commits.load(Ordering::Relaxed))
    }
}

/// Yields the CPU until `done` or `YIELD_FOR` passed; whether `done`
/// (asked once more when the time is up: a yield on a loaded machine can
/// outlast it).
pub(crate) fn yield_until(done: impl Fn() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if done() {
            return true;
        }
        if start.elapsed() >= YIELD_FOR {
            return done();
        }
        std::thread::yield_now();
    }
}

/// A commit under way: a gathering leader waits for it to drop.
#[derive(Debug)]
pub(crate) struct Committing<'a>(&'a GroupCommit);

impl Drop for Committing<'_> {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().unwrap_or_else(|p| p.into_inner());
        st.committing -= 1;
        if self.0.syncing() {
            self.0.wake(&st);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

    #[test]
    fn a_lone_committer_leads_its_own_sync() {
        let g = GroupCommit::new(Lsn::new(0, 32));
        let syncs = AtomicU32::new(0);
        g.wait(Lsn::new(0, 100), || {
            syncs.fetch_add(1, Ordering::Relaxed);
            Ok(Lsn::new(0, 100))
        })
        .unwrap();
        assert_eq!(syncs.load(Ordering::Relaxed), 1);
        // Already durable: no sync.
        g.wait(Lsn::new(0, 90), || panic!("no sync needed")).unwrap();
        assert_eq!(g.counts(), (1, 2));
    }

    #[test]
    fn concurrent_committers_share_syncs() {
        let g = Arc::new(GroupCommit::new(Lsn::new(0, 0)));
        let end = Arc::new(AtomicU64::new(0));
        let syncs = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..8u64)
            .map(|_| {
                let (g, end, syncs) = (g.clone(), end.clone(), syncs.clone());
                std::thread::spawn(move || {
                    for _ in 0..50 {
                        let lsn = Lsn(end.fetch_add(1, Ordering::SeqCst) + 1);
                        g.wait(lsn, || {
                            syncs.fetch_add(1, Ordering::Relaxed);
                            std::thread::sleep(std::time::Duration::from_millis(1));
                            Ok(Lsn(end.load(Ordering::SeqCst)))
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (batches, commits) = g.counts();
        assert_eq!(commits, 400);
        assert_eq!(batches, syncs.load(Ordering::Relaxed) as u64);
        assert!(batches < 400, "{batches} syncs for 400 commits: nothing was shared");
        assert_eq!(g.state.lock().unwrap().sleepers, 0);
    }

    #[test]
    fn a_leader_waits_for_the_commit_under_way_and_covers_it() {
        let g = Arc::new(GroupCommit::with_gather(Lsn(0), Duration::from_secs(60)));
        let end = Arc::new(AtomicU64::new(10));
        let syncs = Arc::new(AtomicU32::new(0));
        let sync = {
            let (end, syncs) = (end.clone(), syncs.clone());
            move || {
                syncs.fetch_add(1, Ordering::SeqCst);
                Ok(Lsn(end.load(Ordering::SeqCst)))
            }
        };
        let t = Instant::now();
        // A commit under way (its phases begun, not yet appended).
        let under_way = g.committing();
        let leader = {
            let (g, sync) = (g.clone(), sync.clone());
            std::thread::spawn(move || g.wait(Lsn(10), sync))
        };
        // Once the leader gathers, the commit appends and ends its phases.
        while !g.syncing() && !leader.is_finished() {
            std::thread::yield_now();
        }
        end.store(20, Ordering::SeqCst);
        drop(under_way);
        leader.join().unwrap().unwrap();
        // Woken by the append, not by the end of its gather.
        assert!(t.elapsed() < Duration::from_secs(30), "the gathering leader slept through the append");
        assert_eq!(g.state.lock().unwrap().sleepers, 0);
        g.wait(Lsn(20), sync).unwrap();
        assert_eq!(syncs.load(Ordering::SeqCst), 1, "the leader's sync did not cover the commit under way");
        assert_eq!(g.counts(), (1, 2));
    }

    #[test]
    fn yield_until_stops_at_done_or_after_its_time() {
        let t = Instant::now();
        assert!(yield_until(|| true));
        // Done at the second call, however long the yield between took
        // (this asked for the fourth within YIELD_FOR, and failed on a
        // loaded machine).
        let calls = AtomicU32::new(0);
        assert!(yield_until(|| calls.fetch_add(1, Ordering::Relaxed) == 1));
        assert_eq!(calls.load(Ordering::Relaxed), 2);
        assert!(!yield_until(|| false));
        assert!(t.elapsed() >= YIELD_FOR);
    }

    #[test]
    fn a_failed_sync_fails_every_waiter_after_it() {
        let g = GroupCommit::new(Lsn::new(0, 0));
        let err = g.wait(Lsn::new(0, 10), || Err(Error::invalid("disk on fire"))).unwrap_err();
        assert!(err.to_string().contains("disk on fire"), "{err}");
        let again = g.wait(Lsn::new(0, 5), || Ok(Lsn::new(0, 10))).unwrap_err();
        assert!(again.to_string().contains("disk on fire"), "{again}");
    }
}
