//! A test backend that keeps two images of the file, the live one (what the
//! process has written) and the durable one (what survived the last sync),
//! and can fail or cut power at any I/O step.
//!
//! A step is one page write, one sync or one grow. When the armed step comes,
//! the backend either fails just that call, before doing it (`Fault::Fail`)
//! or after doing it (`Fault::FailAfter`: `IoBackend` allows a failed write to
//! have landed), or cuts power (`Fault::Cut`): that call and every later one
//! fail, and `crash_image` then gives the bytes a disk could hold after the
//! cut: the durable image plus any subset of the unsynced writes, some of them
//! torn at a sector boundary.
//!
//! Reads are not steps (they change nothing on disk); `fail_reads` makes
//! them fail instead.
//!
//! The step counter, the armed fault, the cut and the trace live in a
//! `FaultClock`. Each `FaultIo` made by `new` or `with_durable` has its own;
//! `new_shared` makes several files (a data file and its log segments) count
//! steps on one clock, so one power cut stops them all, while each keeps its
//! own durable image and unsynced writes.
//!
//! The real I/O goes through an inner backend of the kind `THUNDER_TEST_IO`
//! names (`Backend::from_test_env`: sync, uring or direct), so the same
//! power cuts and failures run over each backend: the ops of a batch up to
//! the failing step reach the inner backend as one batch, and an unarmed
//! `write_and_sync` reaches its `write_and_sync` (linked, under uring).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::{Arc, Mutex};

use super::{Backend, IoBackend, ReadOp, WriteOp, WriteSyncError};

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fail the armed call with this errno, doing nothing; later calls work.
    Fail(i32),
    /// Do the armed call's work (the write lands, the sync or grow happens),
    /// then report this errno; later calls work.
    FailAfter(i32),
    /// Power cut at the armed call: it and everything after fail with EIO.
    Cut,
}

/// What one step was, as `trace` reports it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// One page write (or one op of a write batch) at this byte offset.
    Write {
        offset: u64,
        len: usize,
    },
    Sync,
    Grow(u64),
}

#[derive(Debug)]
enum Unsynced {
    Write { offset: u64, data: Vec<u8> },
    Grow(u64),
}

/// The steps of one or more `FaultIo`s: the count, the armed fault, the
/// cut and the trace.
#[derive(Debug, Default)]
pub struct FaultClock(Mutex<Clock>);

#[derive(Debug, Default)]
struct Clock {
    steps: u64,
    armed: Option<(u64, Fault)>,
    cut: bool,
    /// Every step attempted, in order (`trace[i]` is step `i + 1`).
    trace: Vec<Step>,
}

impl FaultClock {
    pub fn new() -> Arc<FaultClock> {
        Arc::new(FaultClock::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Clock> {
        self.0.lock().unwrap()
    }

    /// Arms `fault` at step `step` (counting from 1 after this call).
    pub fn arm(&self, step: u64, fault: Fault) {
        let mut c = self.lock();
        let at = c.steps + step;
        c.armed = Some((at, fault));
    }

    pub fn steps(&self) -> u64 {
        self.lock().steps
    }

    pub fn is_cut(&self) -> bool {
        self.lock().cut
    }

    /// Every step counted so far; `trace()[i]` is step `i + 1`.
    pub fn trace(&self) -> Vec<Step> {
        self.lock().trace.clone()
    }

    /// Counts one step. Err: fail without doing it; Ok(Some): do it, then
    /// report that error.
    fn step(&self, what: Step) -> io::Result<Option<io::Error>> {
        let mut c = self.lock();
        if c.cut {
            return Err(io::Error::from_raw_os_error(libc::EIO));
        }
        c.steps += 1;
        c.trace.push(what);
        match c.armed {
            Some((at, fault)) if at == c.steps => {
                c.armed = None;
                match fault {
                    Fault::Fail(errno) => Err(io::Error::from_raw_os_error(errno)),
                    Fault::FailAfter(errno) => Ok(Some(io::Error::from_raw_os_error(errno))),
                    Fault::Cut => {
                        c.cut = true;
                        Err(io::Error::from_raw_os_error(libc::EIO))
                    }
                }
            }
            _ => Ok(None),
        }
    }
}

#[derive(Debug, Default)]
struct State {
    durable: Vec<u8>,
    unsynced: Vec<Unsynced>,
    /// Reads covering this byte (every read, with None) fail with this errno.
    failing_reads: Option<(Option<u64>, i32)>,
    /// Writebacks started (`IoBackend::start_writeback`); not steps: they
    /// make nothing durable, so a power cut's image does not depend on them.
    writebacks: u64,
}

#[derive(Debug)]
pub struct FaultIo {
    inner: Arc<dyn IoBackend>,
    clock: Arc<FaultClock>,
    state: Mutex<State>,
}

/// The backend under test for `file` (see the module doc).
fn inner_for(file: File) -> io::Result<Arc<dyn IoBackend>> {
    let kind = Backend::from_test_env();
    kind.open(file, 256 * 1024).map_err(|e| io::Error::other(format!("the {} backend under test: {e}", kind.name())))
}

/// A tiny deterministic generator so crash images are reproducible per seed.
pub fn next_rand(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

impl FaultIo {
    /// Wraps `file`, whose current contents are taken as durable.
    pub fn new(file: File) -> io::Result<FaultIo> {
        FaultIo::new_shared(file, FaultClock::new())
    }

    /// `new`, counting steps on `clock` (shared with other files).
    pub fn new_shared(file: File, clock: Arc<FaultClock>) -> io::Result<FaultIo> {
        let len = file.metadata()?.len() as usize;
        let mut durable = vec![0u8; len];
        file.read_exact_at(&mut durable, 0)?;
        let state = State { durable, ..State::default() };
        Ok(FaultIo { inner: inner_for(file)?, clock, state: Mutex::new(state) })
    }

    /// Wraps `file`, whose current contents are the live image, of which
    /// only `durable` survived the last sync (as after a process crash, with
    /// the page cache still holding writes not yet synced): every 512-byte
    /// sector where the two differ is an unsynced write.
    pub fn with_durable(file: File, durable: Vec<u8>) -> io::Result<FaultIo> {
        let len = file.metadata()?.len() as usize;
        let mut live = vec![0u8; len];
        file.read_exact_at(&mut live, 0)?;
        let mut unsynced = Vec::new();
        if len > durable.len() {
            unsynced.push(Unsynced::Grow(len as u64));
        }
        for (i, sector) in live.chunks(512).enumerate() {
            let off = i * 512;
            if durable.get(off..off + sector.len()) != Some(sector) {
                unsynced.push(Unsynced::Write { offset: off as u64, data: sector.to_vec() });
            }
        }
        let state = State { durable, unsynced, ..State::default() };
        Ok(FaultIo { inner: inner_for(file)?, clock: FaultClock::new(), state: Mutex::new(state) })
    }

    /// The name of the backend doing the real I/O.
    pub fn inner_name(&self) -> &'static str {
        self.inner.name()
    }

    /// What survived the last sync.
    pub fn durable_image(&self) -> Vec<u8> {
        self.state.lock().unwrap().durable.clone()
    }

    /// Arms `fault` at step `step` (counting from 1 after this call).
    pub fn arm(&self, step: u64, fault: Fault) {
        self.clock.arm(step, fault)
    }

    /// Makes every later read that covers byte `offset` (every read, with
    /// None) fail with `errno`, doing nothing.
    pub fn fail_reads(&self, offset: Option<u64>, errno: i32) {
        self.state.lock().unwrap().failing_reads = Some((offset, errno));
    }

    pub fn steps(&self) -> u64 {
        self.clock.steps()
    }

    pub fn is_cut(&self) -> bool {
        self.clock.is_cut()
    }

    /// Every step counted so far; `trace()[i]` is step `i + 1`.
    pub fn trace(&self) -> Vec<Step> {
        self.clock.trace()
    }

    /// Writebacks started so far.
    pub fn writebacks(&self) -> u64 {
        self.state.lock().unwrap().writebacks
    }

    /// What a disk could hold after the power cut, chosen by `seed`: the durable
    /// image plus a random subset of the unsynced writes, some torn.
    pub fn crash_image(&self, mut seed: u64) -> Vec<u8> {
        let st = self.state.lock().unwrap();
        let mut img = st.durable.clone();
        for u in &st.unsynced {
            match u {
                Unsynced::Grow(len) => {
                    if next_rand(&mut seed) % 2 == 0 && *len as usize > img.len() {
                        img.resize(*len as usize, 0);
                    }
                }
                Unsynced::Write { offset, data } => {
                    let r = next_rand(&mut seed) % 4;
                    let keep = match r {
                        0 | 1 => 0,
                        2 => data.len(),
                        _ => {
                            let sectors = data.len().div_ceil(512) as u64;
                            ((next_rand(&mut seed) % sectors.max(1)) as usize * 512).min(data.len())
                        }
                    };
                    let end = *offset as usize + keep;
                    if keep > 0 {
                        if img.len() < end {
                            img.resize(end, 0);
                        }
                        img[*offset as usize..end].copy_from_slice(&data[..keep]);
                    }
                }
            }
        }
        img
    }

    fn step(&self, what: Step) -> io::Result<Option<io::Error>> {
        self.clock.step(what)
    }
}

impl IoBackend for FaultIo {
    fn name(&self) -> &'static str {
        "fault"
    }

    fn write_batch(&self, ops: &[WriteOp<'_>]) -> io::Result<()> {
        self.write_steps(ops)
    }

    fn read_batch(&self, ops: &mut [ReadOp<'_>]) -> io::Result<()> {
        if let Some((at, errno)) = self.state.lock().unwrap().failing_reads {
            let covers = |op: &ReadOp<'_>| at.is_none_or(|b| (op.offset..op.offset + op.buf.len() as u64).contains(&b));
            if ops.iter().any(covers) {
                return Err(io::Error::from_raw_os_error(errno));
            }
        }
        self.inner.read_batch(ops)
    }

    fn sync(&self) -> io::Result<()> {
        let after = self.step(Step::Sync)?;
        self.inner.sync()?;
        self.synced();
        after.map_or(Ok(()), Err)
    }

    fn start_writeback(&self, range: std::ops::Range<u64>) -> io::Result<()> {
        self.state.lock().unwrap().writebacks += 1;
        self.inner.start_writeback(range)
    }

    fn grow(&self, len: u64) -> io::Result<()> {
        let after = self.step(Step::Grow(len))?;
        self.inner.grow(len)?;
        self.state.lock().unwrap().unsynced.push(Unsynced::Grow(len));
        after.map_or(Ok(()), Err)
    }

    fn write_and_sync(&self, ops: &[WriteOp<'_>]) -> Result<(), WriteSyncError> {
        // Steps first (the writes', then the sync's): unarmed, the inner
        // backend gets the whole call; else it goes step by step.
        let (done, after) = self.count_writes(ops);
        let failed = match after {
            Ok(None) => None,
            Ok(Some(e)) | Err(e) => Some(e),
        };
        if let Some(e) = failed {
            self.land(&ops[..done]).map_err(WriteSyncError::Write)?;
            return Err(WriteSyncError::Write(e));
        }
        let after = match self.step(Step::Sync) {
            Ok(after) => after,
            Err(e) => {
                self.land(ops).map_err(WriteSyncError::Write)?;
                return Err(WriteSyncError::Sync(e));
            }
        };
        self.inner.write_and_sync(ops)?;
        self.record(ops);
        self.synced();
        after.map_or(Ok(()), |e| Err(WriteSyncError::Sync(e)))
    }
}

impl FaultIo {
    /// Counts a step per op until one is armed: how many ops are to land,
    /// and the armed one's outcome (Err: it fails undone; Ok(Some): it
    /// lands, then fails).
    fn count_writes(&self, ops: &[WriteOp<'_>]) -> (usize, io::Result<Option<io::Error>>) {
        for (i, op) in ops.iter().enumerate() {
            match self.step(Step::Write { offset: op.offset, len: op.data.len() }) {
                Ok(None) => {}
                Ok(Some(after)) => return (i + 1, Ok(Some(after))),
                Err(e) => return (i, Err(e)),
            }
        }
        (ops.len(), Ok(None))
    }

    /// The writes of `ops` as steps: those before the armed one land as one
    /// batch of the inner backend.
    fn write_steps(&self, ops: &[WriteOp<'_>]) -> io::Result<()> {
        let (done, after) = self.count_writes(ops);
        self.land(&ops[..done])?;
        match after? {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Writes `ops` through the inner backend, unsynced.
    fn land(&self, ops: &[WriteOp<'_>]) -> io::Result<()> {
        if !ops.is_empty() {
            self.inner.write_batch(ops)?;
            self.record(ops);
        }
        Ok(())
    }

    fn record(&self, ops: &[WriteOp<'_>]) {
        let mut st = self.state.lock().unwrap();
        for op in ops {
            st.unsynced.push(Unsynced::Write { offset: op.offset, data: op.data.to_vec() });
        }
    }

    /// A sync succeeded: every unsynced change is durable.
    fn synced(&self) {
        let mut st = self.state.lock().unwrap();
        let pending = std::mem::take(&mut st.unsynced);
        for u in pending {
            match u {
                Unsynced::Grow(len) => {
                    if st.durable.len() < len as usize {
                        st.durable.resize(len as usize, 0);
                    }
                }
                Unsynced::Write { offset, data } => {
                    let end = offset as usize + data.len();
                    if st.durable.len() < end {
                        st.durable.resize(end, 0);
                    }
                    st.durable[offset as usize..end].copy_from_slice(&data);
                }
            }
        }
    }
}
