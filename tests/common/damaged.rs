//! Support for the tests that damage database files: a fixture with every
//! kind of page, the contents it had after each commit, and a read oracle
//! that compares a (possibly damaged) file with those contents.

use std::collections::BTreeMap;
use std::path::Path;

use thunder::{Bucket, Database, ErrorKind, Options, ReadTx, WriteTx};

use super::Rng;

/// Everything stored: (bucket path, key) -> value.
pub type Contents = BTreeMap<(Vec<Vec<u8>>, Vec<u8>), Vec<u8>>;

/// The error kinds damage may produce; anything else (`Internal` above all)
/// fails the test.
pub fn acceptable(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::Corrupted | ErrorKind::Incompatible)
}

/// The bucket at `path` (None for the default keyspace), created where missing.
pub fn create_path(tx: &mut WriteTx, path: &[Vec<u8>]) -> Option<Bucket> {
    let mut b = None;
    for name in path {
        b = Some(tx.create_bucket_if_missing(b.as_ref(), name).unwrap());
    }
    b
}

/// How much the fixture holds.
#[derive(Clone, Copy, Debug)]
pub struct Fixture {
    /// Commits; each one after the first deletes a third of the previous
    /// round's keys, so the freelist gets a log (and, with enough rounds, a
    /// snapshot).
    pub rounds: u32,
    /// Keys per round in each of four keyspaces: the default one, `a`,
    /// `a/nested` and `b`.
    pub per_bucket: u32,
    /// Small items per round in bucket `wide`, so that every page size gets
    /// branch pages (0: no such bucket).
    pub wide: u32,
}

/// Builds the fixture at `path`; returns the contents after each commit,
/// by txid (damage to the newest meta makes open fall back to the previous
/// commit, whose contents are the expected ones then).
pub fn build(path: &Path, ps: u32, rng: &mut Rng, f: Fixture) -> BTreeMap<u64, Contents> {
    let db = Database::open_with_options(path, Options::new().page_size(ps).unwrap()).unwrap();
    let mut want = Contents::new();
    let mut states = BTreeMap::new();
    let paths: Vec<Vec<Vec<u8>>> =
        vec![vec![], vec![b"a".to_vec()], vec![b"a".to_vec(), b"nested".to_vec()], vec![b"b".to_vec()]];
    for round in 0..f.rounds {
        let mut tx = db.begin_write().unwrap();
        for path in &paths {
            let space = Keyspace {
                bucket: create_path(&mut tx, path),
                path,
                prefix: "k",
                per_round: f.per_bucket,
                delete_every: 3,
            };
            space.fill(&mut tx, &mut want, round, |i| {
                let len = match i % 17 {
                    0 => 2049 + rng.below(3 * ps as u64) as usize,
                    1 => 0,
                    2 => ps as usize - 32, // exactly one overflow page
                    _ => rng.below(80) as usize,
                };
                rng.bytes(len)
            });
        }
        if f.wide > 0 {
            let wide = [b"wide".to_vec()];
            let space = Keyspace {
                bucket: create_path(&mut tx, &wide),
                path: &wide,
                prefix: "w",
                per_round: f.wide,
                delete_every: 2,
            };
            space.fill(&mut tx, &mut want, round, |_| {
                let len = 20 + rng.below(30) as usize;
                rng.bytes(len)
            });
        }
        let txid = tx.id();
        tx.commit().unwrap();
        states.insert(txid, want.clone());
    }
    db.check().unwrap();
    db.close().unwrap();
    states
}

/// One keyspace of the fixture and how each round changes it.
struct Keyspace<'a> {
    bucket: Option<Bucket>,
    path: &'a [Vec<u8>],
    prefix: &'static str,
    per_round: u32,
    /// Every this many keys of the previous round are deleted.
    delete_every: usize,
}

impl Keyspace<'_> {
    fn fill(&self, tx: &mut WriteTx, want: &mut Contents, round: u32, mut value: impl FnMut(u32) -> Vec<u8>) {
        let key = |round: u32, i: u32| format!("r{round}-{}{i:05}", self.prefix).into_bytes();
        for i in 0..self.per_round {
            let (k, v) = (key(round, i), value(i));
            match &self.bucket {
                None => tx.put(&k, &v).unwrap(),
                Some(b) => tx.put_in(b, &k, &v).unwrap(),
            }
            want.insert((self.path.to_vec(), k), v);
        }
        if round > 0 {
            for i in (0..self.per_round).step_by(self.delete_every) {
                let k = key(round - 1, i);
                let gone = match &self.bucket {
                    None => tx.delete(&k).unwrap(),
                    Some(b) => tx.delete_in(b, &k).unwrap(),
                };
                assert!(gone);
                want.remove(&(self.path.to_vec(), k));
            }
        }
    }
}

/// The items of `Contents`, grouped by bucket path.
type ByBucket<'a> = BTreeMap<&'a Vec<Vec<u8>>, Vec<(&'a Vec<u8>, &'a Vec<u8>)>>;

/// How `read_all` treats a value that differs from the expected one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Values {
    /// A wrong value fails the test: unsealed damage must be detected.
    Exact,
    /// A wrong value only counts as trouble: damage resealed with a valid
    /// checksum can change bytes that no check can tell from data.
    Lenient,
}

/// Reads every key of `want` with `get` and scans each keyspace both ways.
/// Panics on a wrong value (unless `Lenient`), on an item that was never
/// stored, on an error of a kind damage cannot explain, or on a scan that
/// does not end; returns whether anything was missing or failed.
pub fn read_all(tx: &ReadTx, want: &Contents, what: &str, values: Values) -> bool {
    let mut trouble = false;
    let mut by_bucket: ByBucket = BTreeMap::new();
    for ((path, k), v) in want {
        by_bucket.entry(path).or_default().push((k, v));
    }
    for (path, items) in by_bucket {
        let Some(b) = read_path(tx, path, what) else {
            trouble = true;
            continue;
        };
        for (k, v) in items {
            let got = match &b {
                None => tx.get(k),
                Some(b) => tx.get_in(b, k),
            };
            match got {
                Ok(Some(g)) if g == v.as_slice() => {}
                Ok(Some(_)) if values == Values::Lenient => trouble = true,
                Ok(Some(_)) => panic!("{what}: wrong value for {:?}", String::from_utf8_lossy(k)),
                Ok(None) => trouble = true,
                Err(e) => {
                    assert!(acceptable(e.kind()), "{what}: get gave {e} ({:?})", e.kind());
                    trouble = true;
                }
            }
        }
        let scan = Scan { path, want, what, values };
        let items = || match &b {
            None => tx.iter(),
            Some(b) => tx.iter_in(b),
        };
        trouble |= scan.check(items());
        trouble |= scan.check(items().rev());
    }
    trouble
}

/// The bucket at `path`: Some(None) for the default keyspace, None when a
/// bucket on the way is missing or unreadable.
fn read_path(tx: &ReadTx, path: &[Vec<u8>], what: &str) -> Option<Option<Bucket>> {
    let mut b = None;
    for name in path {
        match tx.bucket(b.as_ref(), name) {
            Ok(Some(x)) => b = Some(x),
            Ok(None) => return None,
            Err(e) => {
                assert!(acceptable(e.kind()), "{what}: opening a bucket gave {e} ({:?})", e.kind());
                return None;
            }
        }
    }
    Some(b)
}

/// More items than any fixture holds, even after sealed damage raised a
/// page's entry count.
const SCAN_LIMIT: usize = 1_000_000;

/// What a scan checks an item against: the path of the keyspace scanned,
/// and how `read_all` was asked to judge values.
struct Scan<'a> {
    path: &'a [Vec<u8>],
    want: &'a Contents,
    what: &'a str,
    values: Values,
}

impl Scan<'_> {
    /// Never an item that was not stored, and an end.
    fn check<'t>(&self, items: impl Iterator<Item = thunder::Result<(&'t [u8], &'t [u8])>>) -> bool {
        let Scan { path, want, what, values } = *self;
        let mut trouble = false;
        for (n, item) in items.enumerate() {
            assert!(n < SCAN_LIMIT, "{what}: a scan does not end");
            match item {
                Ok((k, v)) => {
                    let stored = want.get(&(path.to_vec(), k.to_vec())).is_some_and(|e| e.as_slice() == v);
                    if !stored && values == Values::Lenient {
                        trouble = true;
                    } else {
                        assert!(
                            stored,
                            "{what}: a scan shows an unknown or wrong item {:?}",
                            String::from_utf8_lossy(k)
                        );
                    }
                }
                Err(e) => {
                    assert!(acceptable(e.kind()), "{what}: scan gave {e} ({:?})", e.kind());
                    return true;
                }
            }
        }
        trouble
    }
}
