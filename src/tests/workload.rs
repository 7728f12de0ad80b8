//! The workload the crash tests replay: a committed state S0 (default
//! keyspace, nested buckets, overflow values, a non-trivial freelist), a
//! transaction T taking it to S1 (puts, deletes, bucket create and delete,
//! overflow values replaced, added and removed, sequences), and a small
//! follow-up T2 taking S1 to S2. Every state is also computed on a plain
//! model, so a recovered database is compared with exact expected contents.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::options::{Options, SyncMode};
use crate::tests::support::Rng;
use crate::txn::{Bucket, BucketAt, WriteTx};
use crate::Database;

/// A bucket path from the top level; empty is the default keyspace.
pub(crate) type BPath = Vec<Vec<u8>>;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BucketDump {
    pub keys: BTreeMap<Vec<u8>, Vec<u8>>,
    pub sequence: u64,
}

/// Everything a database holds: every bucket (the default keyspace at `[]`).
pub(crate) type State = BTreeMap<BPath, BucketDump>;

#[derive(Clone, Debug)]
pub(crate) enum Op {
    Put(BPath, Vec<u8>, Vec<u8>),
    Delete(BPath, Vec<u8>),
    CreateBucket(BPath),
    DeleteBucket(BPath),
    NextSequence(BPath),
}

/// Applies `op` to the model.
pub(crate) fn model_apply(st: &mut State, op: &Op) {
    match op {
        Op::Put(p, k, v) => {
            st.get_mut(p).expect("model bucket").keys.insert(k.clone(), v.clone());
        }
        Op::Delete(p, k) => {
            st.get_mut(p).expect("model bucket").keys.remove(k).expect("model key");
        }
        Op::CreateBucket(p) => {
            assert!(st.insert(p.clone(), BucketDump::default()).is_none(), "model bucket exists");
        }
        Op::DeleteBucket(p) => st.retain(|q, _| !q.starts_with(p)),
        Op::NextSequence(p) => st.get_mut(p).expect("model bucket").sequence += 1,
    }
}

fn open_path(tx: &mut WriteTx, path: &[Vec<u8>]) -> Result<Option<Bucket>> {
    let mut b: Option<Bucket> = None;
    for name in path {
        let next = tx.bucket(b.as_ref(), name)?;
        b = Some(next.ok_or_else(|| Error::Internal(format!("test bucket {name:?} missing")))?);
    }
    Ok(b)
}

/// Applies `op` in a write transaction.
pub(crate) fn engine_apply(tx: &mut WriteTx, op: &Op) -> Result<()> {
    match op {
        Op::Put(p, k, v) => match open_path(tx, p)? {
            None => tx.put(k, v),
            Some(b) => tx.put_in(&b, k, v),
        },
        Op::Delete(p, k) => {
            let found = match open_path(tx, p)? {
                None => tx.delete(k)?,
                Some(b) => tx.delete_in(&b, k)?,
            };
            found.then_some(()).ok_or_else(|| Error::Internal(format!("test key {k:?} missing")))
        }
        Op::CreateBucket(p) => {
            let (name, parent) = p.split_last().expect("bucket path");
            let parent = open_path(tx, parent)?;
            tx.create_bucket(parent.as_ref(), name).map(drop)
        }
        Op::DeleteBucket(p) => {
            let (name, parent) = p.split_last().expect("bucket path");
            let parent = open_path(tx, parent)?;
            tx.delete_bucket(parent.as_ref(), name)
        }
        Op::NextSequence(p) => {
            let b = open_path(tx, p)?.ok_or_else(|| Error::Internal("sequence of the root".into()))?;
            tx.next_sequence(&b).map(drop)
        }
    }
}

/// Runs `ops` as one write transaction. If an operation fails, the
/// transaction must be failed: its commit repeats the error's kind.
pub(crate) fn run_txn(db: &Database, ops: &[Op]) -> Result<()> {
    let mut tx = db.begin_write()?;
    for op in ops {
        if let Err(e) = engine_apply(&mut tx, op) {
            assert!(tx.is_failed(), "{e} did not fail the transaction");
            let again = tx.commit().expect_err("commit of a failed transaction succeeded");
            assert_eq!(again.kind(), e.kind(), "commit after {e}: {again}");
            return Err(e);
        }
    }
    tx.commit()
}

/// Reads everything the latest snapshot of `db` holds.
pub(crate) fn dump(db: &Database) -> Result<State> {
    let tx = db.begin_read()?;
    let mut out = State::new();
    let mut work: Vec<(BPath, Option<Bucket>)> = vec![(Vec::new(), None)];
    while let Some((path, b)) = work.pop() {
        let it = match &b {
            None => tx.iter(),
            Some(b) => tx.iter_in(b),
        };
        let keys = it.map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec()))).collect::<Result<_>>()?;
        let sequence = match &b {
            None => tx.root().sequence,
            Some(Bucket { at: BucketAt::Record(r), .. }) => r.sequence,
            Some(_) => unreachable!("read transactions hand out records"),
        };
        for name in tx.bucket_names(b.as_ref())? {
            let child = tx.bucket(b.as_ref(), &name)?.ok_or_else(|| Error::Internal("listed bucket missing".into()))?;
            let mut p = path.clone();
            p.push(name);
            work.push((p, Some(child)));
        }
        out.insert(path, BucketDump { keys, sequence });
    }
    Ok(out)
}

/// A short description of how `got` differs from `want`.
pub(crate) fn diff(got: &State, want: &State) -> String {
    let mut out = Vec::new();
    for (p, w) in want {
        match got.get(p) {
            None => out.push(format!("bucket {p:?} missing")),
            Some(g) if g != w => {
                let missing = w.keys.keys().filter(|k| !g.keys.contains_key(*k)).count();
                let extra = g.keys.keys().filter(|k| !w.keys.contains_key(*k)).count();
                let changed = w.keys.iter().filter(|(k, v)| g.keys.get(*k).is_some_and(|gv| gv != *v)).count();
                out.push(format!(
                    "bucket {p:?}: {missing} keys missing, {extra} extra, {changed} changed, sequence {} (want {})",
                    g.sequence, w.sequence
                ));
            }
            Some(_) => {}
        }
    }
    for p in got.keys().filter(|p| !want.contains_key(*p)) {
        out.push(format!("extra bucket {p:?}"));
    }
    out.join("; ")
}

fn key(prefix: &str, i: u64) -> Vec<u8> {
    format!("{prefix}{i:06}").into_bytes()
}

fn path(names: &[&str]) -> BPath {
    names.iter().map(|n| n.as_bytes().to_vec()).collect()
}

/// Builds ops against a model, so that every op is valid where it runs.
struct Gen {
    rng: Rng,
    st: State,
    ops: Vec<Op>,
    threshold: u64,
}

impl Gen {
    fn push(&mut self, op: Op) {
        model_apply(&mut self.st, &op);
        self.ops.push(op);
    }

    fn value(&mut self, big: bool) -> Vec<u8> {
        let len = if big { self.rng.range(self.threshold + 1, self.threshold * 4) } else { self.rng.range(0, 120) };
        self.rng.bytes(len as usize)
    }

    fn put(&mut self, p: &BPath, k: Vec<u8>, big: bool) {
        let v = self.value(big);
        self.push(Op::Put(p.clone(), k, v));
    }

    fn keys_of(&self, p: &BPath, big: Option<bool>) -> Vec<Vec<u8>> {
        let t = self.threshold as usize;
        let b = &self.st[p];
        b.keys.iter().filter(|(_, v)| big.is_none_or(|big| (v.len() > t) == big)).map(|(k, _)| k.clone()).collect()
    }

    /// Deletes `n` random keys of bucket `p` (of a size class if `big`).
    fn delete_some(&mut self, p: &BPath, n: usize, big: Option<bool>) {
        for _ in 0..n {
            let keys = self.keys_of(p, big);
            if keys.is_empty() {
                return;
            }
            let k = self.rng.pick(&keys).clone();
            self.push(Op::Delete(p.clone(), k));
        }
    }

    /// Gives `n` random existing keys of `p` new values of class `to_big`.
    fn update_some(&mut self, p: &BPath, n: usize, from_big: Option<bool>, to_big: bool) {
        for _ in 0..n {
            let keys = self.keys_of(p, from_big);
            if keys.is_empty() {
                return;
            }
            let k = self.rng.pick(&keys).clone();
            self.put(p, k, to_big);
        }
    }

    fn take(&mut self) -> Vec<Op> {
        std::mem::take(&mut self.ops)
    }
}

/// S0, T, T2 and U for one page size, with the expected states.
#[derive(Debug)]
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
    pub page_size: u32,
    /// The file holding S0, cut to exactly its high-water mark so that T
    /// has to grow it.
    pub s0_bytes: Vec<u8>,
    pub s0: State,
    pub t: Vec<Op>,
    pub s1: State,
    pub t2: Vec<Op>,
    pub s2: State,
    /// Another transaction on S0, writing other pages than T does.
    pub u: Vec<Op>,
    pub su: State,
}

impl Fixture {
    pub fn new(page_size: u32, seed: u64) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("crash.db");
        let mut g = Gen { rng: Rng::new(seed), st: State::new(), ops: Vec::new(), threshold: 2048 };
        g.st.insert(Vec::new(), BucketDump::default());
        let s0_txns = build_s0(&mut g, page_size as u64);
        let s0 = g.st.clone();
        let (s0_bytes, free) = write_s0(&path, page_size, &s0_txns, &s0);
        let t = build_t(&mut g, (free + 1) * page_size as u64);
        let s1 = g.st.clone();
        let t2 = build_t2(&mut g);
        let s2 = g.st.clone();
        let mut g = Gen { rng: Rng::new(seed ^ 0x5555), st: s0.clone(), ops: Vec::new(), threshold: 2048 };
        let u = build_u(&mut g);
        let su = g.st.clone();
        let fx = Fixture { _dir: dir, path, page_size, s0_bytes, s0, t, s1, t2, s2, u, su };
        fx.self_check();
        fx
    }

    /// The workload itself must be right before crashes are blamed: T, T2
    /// and U run without faults give the model's states.
    fn self_check(&self) {
        for (ops, want) in [(vec![&self.t, &self.t2], &self.s2), (vec![&self.u], &self.su)] {
            self.restore();
            let db = Database::open_with_options(&self.path, self.opts(SyncMode::Full)).expect("reopen S0");
            for t in ops {
                run_txn(&db, t).expect("workload transaction");
            }
            let got = dump(&db).unwrap();
            assert!(got == *want, "workload differs from the model: {}", diff(&got, want));
            db.check().expect("check after the workload");
            db.close().unwrap();
        }
    }

    pub fn opts(&self, mode: SyncMode) -> Options {
        Options::new().page_size(self.page_size).unwrap().sync_mode(mode).unwrap()
    }

    /// Puts the S0 file back in place.
    pub fn restore(&self) {
        std::fs::write(&self.path, &self.s0_bytes).expect("restore S0");
    }

    /// Writes `image` as the file, opens it with the normal backend, checks
    /// it, and returns what it holds; then makes sure a new write
    /// transaction (reusing free pages, growing the file) commits and
    /// survives a reopen.
    pub fn recover(&self, image: &[u8]) -> State {
        self.recover_checked(image).0
    }

    /// `recover`, also returning what the first `check` reported.
    pub fn recover_checked(&self, image: &[u8]) -> (State, crate::check::Report) {
        std::fs::write(&self.path, image).expect("write crash image");
        let opts = self.opts(SyncMode::Full);
        let db = Database::open_with_options(&self.path, opts.clone()).expect("open after the crash");
        let report = db.check().expect("check after the crash");
        let got = dump(&db).expect("read after the crash");
        let mut want = got.clone();
        let after = [
            Op::Put(Vec::new(), b"~after-crash".to_vec(), b"small".to_vec()),
            Op::Put(Vec::new(), b"~after-crash-big".to_vec(), vec![7u8; 3 * self.page_size as usize]),
        ];
        for op in &after {
            model_apply(&mut want, op);
        }
        run_txn(&db, &after).expect("write transaction after the crash");
        let synced = db.check().expect("check after a commit on the recovered file");
        assert!(!synced.spare_meta_damaged, "a durable commit left a damaged meta slot");
        db.close().expect("close after the crash");
        let db = Database::open_with_options(&self.path, opts).expect("reopen after the crash");
        let again = dump(&db).unwrap();
        assert!(again == want, "commit after the crash lost: {}", diff(&again, &want));
        db.check().expect("check after reopening the recovered file");
        db.close().unwrap();
        (got, report)
    }

    /// Names a recovered state: "S0", "S1", "S2", "SU", or None for anything else.
    pub fn name_of(&self, st: &State) -> Option<&'static str> {
        [("S0", &self.s0), ("S1", &self.s1), ("S2", &self.s2), ("SU", &self.su)]
            .into_iter()
            .find(|(_, s)| *s == st)
            .map(|(n, _)| n)
    }
}

/// Commits `txns` to a new database at `path`, checks it holds `s0`, and
/// returns the file cut to its high-water mark (so that T has to grow it)
/// with the number of pages free in it.
fn write_s0(path: &std::path::Path, page_size: u32, txns: &[Vec<Op>], s0: &State) -> (Vec<u8>, u64) {
    let opts = Options::new().page_size(page_size).expect("page size");
    let db = Database::open_with_options(path, opts).expect("create");
    for ops in txns {
        run_txn(&db, ops).expect("building S0");
    }
    let got = dump(&db).unwrap();
    assert!(got == *s0, "S0 differs from the model: {}", diff(&got, s0));
    db.check().expect("check S0");
    let stat = db.stat().unwrap();
    // After a reopen, pending pages are free too.
    let free = stat.free_page_count + stat.pending_page_count;
    assert!(free > 0, "S0 should have free pages");
    db.close().expect("close S0");
    let mut bytes = std::fs::read(path).unwrap();
    bytes.truncate((stat.page_count * page_size as u64) as usize);
    (bytes, free)
}

/// S0 as four transactions: a bulk load with nested buckets and overflow
/// values; deletes and updates (leaving free pages); a temporary bucket;
/// its deletion.
fn build_s0(g: &mut Gen, page_size: u64) -> Vec<Vec<Op>> {
    let root = Vec::new();
    let (users, admins) = (path(&["users"]), path(&["users", "admins"]));
    let (logs, jan) = (path(&["logs"]), path(&["logs", "2024", "jan"]));
    let (doomed, sub) = (path(&["doomed"]), path(&["doomed", "sub"]));
    // Several leaves at any page size, but only a few overflow values, so
    // that the pages S0 leaves free do not cover what T needs.
    let n_root = page_size / 12;
    for i in 0..n_root {
        g.put(&root, key("r", i * 10), i % (n_root / 8) == 5);
    }
    for p in [&users, &admins, &logs, &path(&["logs", "2024"]), &jan, &doomed, &sub] {
        g.push(Op::CreateBucket(p.clone()));
    }
    for i in 0..60 {
        g.put(&users, key("u", i * 10), i % 20 == 3);
    }
    for i in 0..10 {
        g.put(&admins, key("a", i), i == 4);
    }
    for i in 0..30 {
        g.put(&jan, key("j", i), false);
    }
    for i in 0..5 {
        g.put(&logs, key("l", i), false);
    }
    for i in 0..40 {
        g.put(&doomed, key("d", i), i % 10 == 1);
    }
    for i in 0..10 {
        g.put(&sub, key("s", i), i == 7);
    }
    for p in [&users, &users, &users, &doomed, &doomed] {
        g.push(Op::NextSequence(p.clone()));
    }
    let load = g.take();

    for k in g.keys_of(&root, None) {
        if g.rng.chance(30) {
            g.push(Op::Delete(root.clone(), k));
        }
    }
    g.update_some(&root, 20, None, false);
    g.update_some(&root, 2, Some(false), true);
    g.delete_some(&users, 20, None);
    let thin = g.take();

    let tmp = path(&["tmp"]);
    g.push(Op::CreateBucket(tmp.clone()));
    for i in 0..30 {
        g.put(&tmp, key("t", i), i % 15 == 0);
    }
    let temp = g.take();
    g.push(Op::DeleteBucket(tmp));
    vec![load, thin, temp, g.take()]
}

/// T: touches every kind of structure the commit writes. One value of
/// `huge` bytes needs a run longer than all of S0's free pages together,
/// so T has to grow the file.
fn build_t(g: &mut Gen, huge: u64) -> Vec<Op> {
    let root = Vec::new();
    let v = g.rng.bytes(huge as usize);
    g.push(Op::Put(root.clone(), b"r-huge".to_vec(), v));
    let (users, admins, jan) = (path(&["users"]), path(&["users", "admins"]), path(&["logs", "2024", "jan"]));
    let (fresh, inner) = (path(&["fresh"]), path(&["fresh", "inner"]));
    for _ in 0..12 {
        let i = g.rng.range(0, 1 << 20);
        g.put(&root, key("r", i * 10 + 5), false);
    }
    // A run of deletes empties leaves (merges); a dense run of inserts
    // behind one key fills a leaf past full (splits).
    let keys = g.keys_of(&root, None);
    let at = g.rng.range(0, keys.len() as u64 - 40) as usize;
    for k in &keys[at..at + 30] {
        g.push(Op::Delete(root.clone(), k.clone()));
    }
    let dense = keys[at + 35].clone();
    for i in 0..30 {
        let mut k = dense.clone();
        k.extend_from_slice(format!("-{i:03}").as_bytes());
        g.put(&root, k, false);
    }
    g.update_some(&root, 8, Some(false), false);
    g.delete_some(&root, 8, Some(false));
    g.update_some(&root, 1, Some(true), true); // overflow replaced by another
    g.delete_some(&root, 1, Some(true)); // overflow removed
    g.update_some(&root, 1, Some(false), true); // inline becomes overflow
    g.put(&root, b"r-new-big".to_vec(), true);
    for i in 0..4 {
        g.put(&users, key("u", i * 10 + 1), false);
    }
    g.delete_some(&users, 3, None);
    g.push(Op::NextSequence(users.clone()));
    g.update_some(&admins, 1, Some(true), false); // overflow becomes inline
    g.put(&admins, b"a-new".to_vec(), false);
    g.push(Op::CreateBucket(fresh.clone()));
    g.push(Op::CreateBucket(inner.clone()));
    for i in 0..6 {
        g.put(&fresh, key("f", i), i == 2);
    }
    for i in 0..4 {
        g.put(&inner, key("i", i), false);
    }
    g.push(Op::NextSequence(fresh));
    g.push(Op::DeleteBucket(path(&["doomed"])));
    g.delete_some(&jan, 5, None);
    g.take()
}

/// T2: a small follow-up commit.
fn build_t2(g: &mut Gen) -> Vec<Op> {
    let root = Vec::new();
    for i in 0..3 {
        g.put(&root, key("z", i), false);
    }
    g.delete_some(&root, 1, Some(false));
    g.put(&path(&["fresh"]), b"f-late".to_vec(), false);
    g.put(&path(&["users"]), b"u-late-big".to_vec(), true);
    g.take()
}

/// U: many new pages (overflow values among them), so that it reuses
/// whatever pages the pool offers.
fn build_u(g: &mut Gen) -> Vec<Op> {
    let root = Vec::new();
    for i in 0..25 {
        let k = g.rng.range(0, 1 << 20);
        g.put(&root, key("r", k * 10 + 7), i % 4 == 0);
    }
    g.delete_some(&root, 10, None);
    for i in 0..10 {
        g.put(&path(&["users"]), key("u", i * 10 + 9), false);
    }
    g.take()
}
