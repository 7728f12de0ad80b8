//! Adversarial integration tests: inputs at the edges of what thunder
//! accepts, and files damaged in ways an ordinary workload never produces.
//!
//! - Damaged files: every kind of page (metas, branches, leaves, catalog
//!   leaves, overflow runs, freelist snapshot and log) damaged in each of
//!   six ways, sealed (checksum recomputed) or not; truncated, grown and
//!   overreaching files; random sealed mutations; a freelist that lists a
//!   live page. Reads give the stored value or `Corrupted`/`Incompatible`,
//!   never a wrong value for unsealed damage, a panic, a hang or `Internal`,
//!   and a file that `check()` passes stays sound through a write.
//! - Large values at the overflow threshold and page-size edges, thresholds
//!   changed between opens, overflow values in nested buckets.
//! - Buckets and cursors: 50 nesting levels, thousands of buckets, buckets
//!   deleted under open cursors, cursors deleting while they walk, cursors
//!   resumed after puts and deletes, 0x00/0xFF keys and empty bounds.
//! - Concurrency: pinned readers during churn, readers outliving a handle,
//!   batched sync racing commits, copies taken between unsynced commits.
//! - Limits: the max size reached mid-transaction, maximum key sizes, huge
//!   commits through tiny write buffers.
//!
//! Every random choice comes from a seed (`THUNDER_TEST_SEED` overrides the
//! defaults). `THUNDER_ADVERSARIAL_SCALE=N` multiplies the number of damaged
//! copies and model operations by N for longer runs.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::damaged::{self, acceptable, read_all, Contents, Fixture, Values};
use common::pages::*;
use common::{seed, Rng, SeedGuard, TestDb, PAGE_SIZES};
use thunder::{Bucket, Database, ErrorKind, Options, PutFlags, ReadTx, SyncMode};

/// `THUNDER_ADVERSARIAL_SCALE` (default 1) times `n`: the default keeps the
/// file within the time `make check` allows; longer runs raise it.
fn scaled(n: u64) -> u64 {
    let scale: u64 = std::env::var("THUNDER_ADVERSARIAL_SCALE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    n * scale.max(1)
}

fn opts_ps(ps: u32) -> Options {
    Options::new().page_size(ps).unwrap()
}

/// Up to `max - 1` random bytes.
fn rbytes(rng: &mut Rng, max: u64) -> Vec<u8> {
    let n = rng.below(max) as usize;
    rng.bytes(n)
}

// ---------------------------------------------------------------------------
// damaged files
// ---------------------------------------------------------------------------

/// The fixture of the damage tests, by page size: enough rounds for a
/// freelist snapshot and log, and a bucket wide enough for branch pages.
fn fixture(ps: u32, rounds: u32) -> Fixture {
    let per_bucket = if ps == 65536 { 40 } else { 60 };
    Fixture { rounds, per_bucket, wide: per_bucket * 12 }
}

/// A fixture file at one page size, what it held after each commit, and a
/// pristine copy of its bytes to damage.
struct Victim {
    ps: usize,
    path: PathBuf,
    states: BTreeMap<u64, Contents>,
    original: Vec<u8>,
    /// Seeded from the test's seed and the page size.
    rng: Rng,
    _dir: tempfile::TempDir,
    _guard: SeedGuard,
}

impl Victim {
    fn build(test: &str, seed: u64, ps: u32, fixture: Fixture) -> Victim {
        let guard = SeedGuard::new(format!("{test} at {ps}-byte pages"), seed);
        let mut rng = Rng::new(seed ^ ps as u64);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("victim.db");
        let states = damaged::build(&path, ps, &mut rng, fixture);
        let original = std::fs::read(&path).unwrap();
        Victim { ps: ps as usize, path, states, original, rng, _dir: dir, _guard: guard }
    }

    fn layout(&self) -> Layout {
        layout(&self.original, self.ps)
    }

    /// Puts the damaged image `img` in place of the file and exercises it.
    fn exercise(&self, img: &[u8], what: &str, values: Values) {
        std::fs::write(&self.path, img).unwrap();
        exercise_damaged(&self.path, &self.states, what, values);
    }
}

/// Opens the damaged file at `path`, reads it all against `states`, runs
/// check(), writes, reopens and reads again. `Values::Lenient` says the
/// damage was resealed: it may change data undetectably, so only the error
/// kinds and the absence of crashes are checked for reads then. Either way a
/// file that check() passes must stay sound through a write.
fn exercise_damaged(path: &Path, states: &BTreeMap<u64, Contents>, what: &str, values: Values) {
    let db = match Database::open(path) {
        Ok(db) => db,
        Err(e) => {
            assert!(acceptable(e.kind()), "{what}: open gave {e} ({:?})", e.kind());
            return;
        }
    };
    let tx = db.begin_read().unwrap_or_else(|e| panic!("{what}: begin_read gave {e}"));
    let want = states.get(&tx.id());
    let trouble = match want {
        Some(want) => read_all(&tx, want, what, values),
        // only a resealed meta can name a commit the fixture never made
        None => {
            assert_eq!(values, Values::Lenient, "{what}: opened at unknown txid {}", tx.id());
            true
        }
    };
    drop(tx);
    let check = db.check();
    if let Err(e) = &check {
        assert!(acceptable(e.kind()), "{what}: check gave {e} ({:?})", e.kind());
    }
    if values == Values::Exact {
        assert!(!trouble || check.is_err(), "{what}: reads failed but check() passed");
    }
    let wrote = write_after_damage(&db, what);
    if check.is_ok() && wrote {
        let r = db.check();
        assert!(r.is_ok(), "{what}: check() passed before a write and failed after it: {:?}", r.err());
    }
    drop(db);
    if wrote {
        let want = want.filter(|_| values == Values::Exact);
        reread_after_write(path, want, what);
    }
}

const NEW_KEY: &[u8] = b"zz-after-damage";
const NEW_BIG_KEY: &[u8] = b"zz-big-after-damage";

fn new_big_value() -> Vec<u8> {
    vec![7u8; 9000]
}

/// A write on a damaged file, a small value and an overflow value: it
/// commits or fails with an acceptable kind. Returns whether it committed.
fn write_after_damage(db: &Database, what: &str) -> bool {
    let mut tx = match db.begin_write() {
        Ok(tx) => tx,
        Err(e) => {
            assert!(acceptable(e.kind()), "{what}: begin_write gave {e} ({:?})", e.kind());
            return false;
        }
    };
    let r = tx.put(NEW_KEY, b"new value").and_then(|_| tx.put(NEW_BIG_KEY, &new_big_value())).and_then(|_| tx.commit());
    if let Err(e) = &r {
        assert!(acceptable(e.kind()), "{what}: write gave {e} ({:?})", e.kind());
    }
    r.is_ok()
}

/// After a committed write: the reopened file has it, and (for unsealed
/// damage, `want` given) everything else reads as before or check() fails.
fn reread_after_write(path: &Path, want: Option<&Contents>, what: &str) {
    let db = Database::open(path).unwrap_or_else(|e| panic!("{what}: reopen after a successful write gave {e}"));
    let tx = db.begin_read().unwrap();
    for (k, v) in [(NEW_KEY, b"new value".to_vec()), (NEW_BIG_KEY, new_big_value())] {
        match tx.get(k) {
            Ok(Some(got)) => {
                assert!(got == v.as_slice(), "{what}: the value written after the damage reads back wrong")
            }
            Ok(None) => panic!("{what}: committed write lost"),
            Err(e) => assert!(acceptable(e.kind()), "{what}: get of the new key gave {e}"),
        }
    }
    if let Some(want) = want {
        let mut want = want.clone();
        want.insert((vec![], NEW_KEY.to_vec()), b"new value".to_vec());
        want.insert((vec![], NEW_BIG_KEY.to_vec()), new_big_value());
        let trouble = read_all(&tx, &want, &format!("{what} (after a write)"), Values::Exact);
        drop(tx);
        assert!(!trouble || db.check().is_err(), "{what}: reads after the write failed but check passed");
    }
}

/// The ways one page is damaged.
#[derive(Clone, Copy, Debug)]
enum Damage {
    FlipHeaderBit,
    FlipBodyBit,
    Zero,
    FlipTailByte,
    /// A bit flip in the used part of the body, then resealed.
    SealedFlipBody,
    /// A bit flip in the header after the type byte, then resealed.
    SealedFlipHeader,
}

impl Damage {
    const ALL: [Damage; 6] = [
        Damage::FlipHeaderBit,
        Damage::FlipBodyBit,
        Damage::Zero,
        Damage::FlipTailByte,
        Damage::SealedFlipBody,
        Damage::SealedFlipHeader,
    ];

    /// How reads are judged after this damage (see `Values`).
    fn values(self) -> Values {
        match self {
            Damage::SealedFlipBody | Damage::SealedFlipHeader => Values::Lenient,
            _ => Values::Exact,
        }
    }

    fn apply(self, img: &mut [u8], ps: usize, p: u64, rng: &mut Rng) {
        let page = &mut img[p as usize * ps..(p as usize + 1) * ps];
        let flip = |page: &mut [u8], at: u64, rng: &mut Rng| page[at as usize] ^= 1 << rng.below(8);
        match self {
            Damage::FlipHeaderBit => flip(page, rng.below(HEADER as u64), rng),
            Damage::FlipBodyBit => flip(page, rng.range(HEADER as u64, ps as u64), rng),
            Damage::Zero => page.fill(0),
            Damage::FlipTailByte => page[ps - 1 - rng.below(64) as usize] ^= 0xFF,
            Damage::SealedFlipBody => {
                // within the used part of tree pages, so the flip lands on a slot, entry or key
                let used = match page[4] {
                    T_BRANCH | T_LEAF => u32_at(page, 28) as usize,
                    _ => ps,
                };
                flip(page, rng.range(HEADER as u64, used.clamp(HEADER + 1, ps) as u64), rng);
                reseal(img, ps, p);
            }
            Damage::SealedFlipHeader => {
                // past the type byte: a changed type is the unsealed kinds' business
                flip(page, rng.range(6, HEADER as u64), rng);
                reseal(img, ps, p);
            }
        }
    }
}

/// The pages the targeted damage aims at, named by kind: both metas and
/// every page reachable from the newest one.
fn damage_targets(l: &Layout) -> Vec<(u64, &'static str)> {
    let mut targets: Vec<(u64, &'static str)> = vec![(0, "meta0"), (1, "meta1")];
    targets.extend(l.branches.iter().map(|&p| (p, "branch")));
    let leaf_kind = |p: &u64| if l.catalog_leaves.contains(p) { "catalog leaf" } else { "leaf" };
    targets.extend(l.leaves.iter().map(|p| (*p, leaf_kind(p))));
    for &(p, n) in &l.overflow {
        targets.push((p, "overflow head"));
        if n > 1 {
            targets.push((p + n - 1, "overflow last page"));
        }
    }
    targets.extend(l.snapshot.map(|(p, _)| (p, "freelist snapshot")));
    targets.extend(l.logs.iter().map(|&p| (p, "freelist log")));
    targets
}

/// At most `per_kind` of `targets` of each kind, chosen at random.
fn sample_by_kind(mut targets: Vec<(u64, &'static str)>, per_kind: usize, rng: &mut Rng) -> Vec<(u64, &'static str)> {
    for i in (1..targets.len()).rev() {
        targets.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut taken: BTreeMap<&str, usize> = BTreeMap::new();
    targets.retain(|&(_, kind)| {
        let n = taken.entry(kind).or_default();
        *n += 1;
        *n <= per_kind
    });
    targets
}

/// Pages of every kind, damaged in each way, at every page size. The
/// fixture must hold every kind: a kind missing would silently go untested.
#[test]
fn damage_to_every_kind_of_page_gives_the_data_or_an_error() {
    let per_kind = scaled(3) as usize;
    for ps in PAGE_SIZES {
        let mut v = Victim::build("targeted damage", seed(0xADE1), ps, fixture(ps, 9));
        let targets = damage_targets(&v.layout());
        let kinds: BTreeSet<&str> = targets.iter().map(|&(_, kind)| kind).collect();
        assert_eq!(kinds.len(), 9, "{ps}-byte pages: the fixture lacks a kind of page: {kinds:?}");
        for (p, kind) in sample_by_kind(targets, per_kind, &mut v.rng) {
            for damage in Damage::ALL {
                let mut img = v.original.clone();
                damage.apply(&mut img, v.ps, p, &mut v.rng);
                v.exercise(&img, &format!("{ps}-byte pages: {damage:?} of {kind} page {p}"), damage.values());
            }
        }
    }
}

/// Truncation at odd offsets, growth with zeros or garbage, metas whose
/// page count or freelist point beyond the file.
#[test]
fn truncated_grown_and_overreaching_files_give_the_data_or_an_error() {
    for ps in PAGE_SIZES {
        let fixture = Fixture { rounds: 3, per_bucket: 40, wide: 480 };
        let mut v = Victim::build("truncation", seed(0xADE2), ps, fixture);
        truncated(&mut v);
        grown(&mut v);
        overreaching_metas(&v);
    }
}

/// Cut at odd offsets, opened read-only (which must not change the file)
/// and then read-write.
fn truncated(v: &mut Victim) {
    let (ps, len) = (v.ps, v.original.len());
    let used = v.layout().page_count as usize * ps;
    let mut cuts = vec![1, 31, 32, ps - 1, ps, ps + 1, 2 * ps - 1, 2 * ps + 7, used - 1, used - ps + 1, used / 2 + 3];
    cuts.extend((0..8).map(|_| v.rng.range(2 * ps as u64, used as u64) as usize));
    for cut in cuts {
        let what = format!("{ps}-byte pages: truncated to {cut} bytes of {len}");
        std::fs::write(&v.path, &v.original[..cut.min(len)]).unwrap();
        match Database::open_with_options(&v.path, Options::new().read_only(true)) {
            Ok(db) => {
                let tx = db.begin_read().unwrap();
                read_all(&tx, &v.states[&tx.id()], &what, Values::Exact);
                drop(tx);
                if let Err(e) = db.check() {
                    assert!(acceptable(e.kind()), "{what}: read-only check gave {e}");
                }
            }
            Err(e) => assert!(acceptable(e.kind()), "{what}: read-only open gave {e}"),
        }
        exercise_damaged(&v.path, &v.states, &what, Values::Exact);
    }
}

/// Zeros or garbage past the end: ignored, then overwritten by growth.
fn grown(v: &mut Victim) {
    let ps = v.ps;
    for (extra, garbage) in [(1usize, false), (ps / 2, false), (3 * ps + 5, false), (ps * 5, true)] {
        let mut img = v.original.clone();
        img.extend((0..extra).map(|_| if garbage { v.rng.next() as u8 } else { 0 }));
        let what = format!("{ps}-byte pages: grown by {extra} bytes (garbage: {garbage})");
        std::fs::write(&v.path, &img).unwrap();
        let db = Database::open(&v.path).unwrap_or_else(|e| panic!("{what}: {e}"));
        let tx = db.begin_read().unwrap();
        assert!(!read_all(&tx, &v.states[&tx.id()], &what, Values::Exact), "{what}: data lost");
        drop(tx);
        db.check().unwrap_or_else(|e| panic!("{what}: check {e}"));
        let mut tx = db.begin_write().unwrap();
        for i in 0..200u32 {
            tx.put(format!("grow{i}").as_bytes(), &vec![i as u8; 700]).unwrap();
        }
        tx.commit().unwrap();
        db.check().unwrap_or_else(|e| panic!("{what}: check after write {e}"));
    }
}

/// Meta fields pointing beyond the file or out of range, resealed so that
/// the meta itself is valid.
fn overreaching_metas(v: &Victim) {
    let (ps, l) = (v.ps, v.layout());
    let root = |field: usize| META_ROOT + field;
    let fields: &[(usize, u64, &str)] = &[
        (META_PAGE_COUNT, l.page_count + 1, "page count +1"),
        (META_PAGE_COUNT, l.page_count + 1000, "page count +1000"),
        (META_PAGE_COUNT, 1, "page count 1"),
        (META_PAGE_COUNT, 2, "page count 2"),
        (root(REC_KEYS_ROOT), l.page_count + 3, "keys root beyond the file"),
        (root(REC_KEYS_ROOT), 1, "keys root at a meta page"),
        (root(REC_CATALOG_ROOT), l.page_count, "catalog root at the page count"),
        (META_SNAPSHOT, l.page_count + 10, "snapshot beyond the file"),
        (META_SNAPSHOT, 0, "snapshot removed"),
        (META_LOG_HEAD, l.page_count + 99, "log head beyond the file"),
        (META_LOG_HEAD, 0, "log head removed"),
        (META_LOG_LEN, 1_000_000, "log length huge"),
        (META_LOG_LEN, 0, "log length zero"),
        (META_FREE_COUNT, 0, "free count zero"),
        (META_FREE_COUNT, u64::MAX, "free count max"),
        (root(REC_KEY_COUNT), 0, "key count zero"),
        (root(REC_KEY_COUNT), u64::MAX, "key count max"),
        (META_BUCKET_COUNT, 0, "bucket count zero"),
        (META_BUCKET_COUNT, u64::MAX, "bucket count max"),
        (root(REC_SEQUENCE), u64::MAX, "root sequence max"),
    ];
    for &(field, value, name) in fields {
        let mut img = v.original.clone();
        let at = l.meta_slot * ps + field;
        if field == META_LOG_LEN {
            put_u32(&mut img, at, value as u32);
        } else {
            put_u64(&mut img, at, value);
        }
        reseal(&mut img, ps, l.meta_slot as u64);
        v.exercise(&img, &format!("{ps}-byte pages: meta {name}"), Values::Lenient);
    }
}

/// Random changes of 1 to 3 bytes in used pages of any kind, resealed so
/// that the checksums match: the structure checks alone must stop them.
/// Never a panic, a hang or an `Internal`; a file check() passes stays
/// sound through a write.
#[test]
fn sealed_random_mutations_never_crash_and_checked_files_survive_a_write() {
    let iters = scaled(60);
    for ps in PAGE_SIZES {
        let mut v = Victim::build("sealed mutations", seed(0xADF1), ps, fixture(ps, 4));
        let l = v.layout();
        let mut pages: Vec<u64> = vec![0, 1];
        pages.extend(l.branches.iter().chain(&l.leaves).chain(&l.logs));
        pages.extend(l.overflow.iter().chain(&l.snapshot).map(|&(p, _)| p));
        for i in 0..iters {
            let mut img = v.original.clone();
            let mut what = format!("{ps}-byte pages, mutation {i}:");
            for _ in 0..v.rng.range(1, 4) {
                let p = *v.rng.pick(&pages);
                what += &mutate_sealed(&mut img, v.ps, p, &mut v.rng);
            }
            v.exercise(&img, &what, Values::Lenient);
        }
    }
}

/// Changes one byte in the used part of page `p` and reseals it; returns
/// what it did.
fn mutate_sealed(img: &mut [u8], ps: usize, p: u64, rng: &mut Rng) -> String {
    let pg = page(img, ps, p);
    let kind = pg[4];
    let used = match kind {
        T_BRANCH | T_LEAF => (u32_at(pg, 28) as usize).clamp(HEADER + 1, ps),
        T_OVERFLOW => HEADER,
        T_SNAPSHOT => (40 + 12 * u64_at(pg, HEADER).min(10_000) as usize).min(ps),
        T_LOG => (40 + 12 * u16_at(pg, 6) as usize).min(ps),
        _ => 160, // a meta page
    };
    // never the checksum itself: reseal rewrites it
    let at = rng.range(4, used as u64) as usize;
    let b = &mut img[p as usize * ps + at];
    let mode = rng.below(3);
    match mode {
        0 => *b ^= 1 << rng.below(8),
        1 => *b = 0,
        _ => *b = 0xFF,
    }
    reseal(img, ps, p);
    format!(" page {p} (type {kind}) byte {at} mode {mode};")
}

/// Adds `page` to the persisted freelist: one more entry in the newest log
/// page and one more in the meta's free count, both resealed, so that the
/// freelist is well-formed and agrees with the meta. Only a writer bug or a
/// crafted file produces this. False when the log page has no room.
fn list_as_free(img: &mut [u8], ps: usize, page: u64) -> bool {
    let l = layout(img, ps);
    let head = *l.logs.first().expect("the fixture has a freelist log");
    let off = head as usize * ps;
    let count = u16_at(img, off + 6);
    let at = off + 40 + 12 * count as usize;
    if at + 12 > off + ps {
        return false;
    }
    put_u64(img, at, page);
    put_u32(img, at + 8, 1);
    put_u16(img, off + 6, count + 1);
    reseal(img, ps, head);
    let meta = l.meta_slot * ps;
    let free = u64_at(img, meta + META_FREE_COUNT);
    put_u64(img, meta + META_FREE_COUNT, free + 1);
    reseal(img, ps, l.meta_slot as u64);
    true
}

/// A sealed freelist that lists a live page (leaf, branch, catalog leaf,
/// either end of an overflow run) is reported by check() as a page used
/// twice. The writer trusts such a freelist and may hand the page out again:
/// a known limitation (README Caveats), since telling it apart from the
/// tree would take a walk on the first write. So this test stops before any
/// write.
#[test]
fn freelist_listing_a_live_page_is_reported_by_check() {
    for ps in PAGE_SIZES {
        let v = Victim::build("freelist listing a live page", seed(0xADE3), ps, fixture(ps, 4));
        let want = v.states.values().next_back().unwrap();
        let l = v.layout();
        let runs_of_two = l.overflow.iter().filter(|&&(_, n)| n > 1);
        let kinds: [(&str, Vec<u64>); 5] = [
            ("leaf", l.leaves.iter().filter(|p| !l.catalog_leaves.contains(p)).copied().collect()),
            ("branch", l.branches.clone()),
            ("catalog leaf", l.catalog_leaves.clone()),
            ("overflow head", l.overflow.iter().map(|&(p, _)| p).collect()),
            ("overflow last page", runs_of_two.map(|&(p, n)| p + n - 1).collect()),
        ];
        let mut victims = Vec::new();
        for (kind, pages) in kinds {
            assert!(!pages.is_empty(), "{ps}-byte pages: the fixture has no {kind} page");
            victims.extend(pages.into_iter().take(2).map(|p| (p, kind)));
        }
        for (victim, kind) in victims {
            let mut img = v.original.clone();
            assert!(list_as_free(&mut img, v.ps, victim), "the newest log page has room");
            std::fs::write(&v.path, &img).unwrap();
            let what = format!("{ps}-byte pages: freelist lists live {kind} page {victim}");
            let db = Database::open(&v.path).unwrap_or_else(|e| panic!("{what}: open {e}"));
            let tx = db.begin_read().unwrap();
            assert!(!read_all(&tx, want, &what, Values::Exact), "{what}: reads fail before any write");
            drop(tx);
            let e = db.check().expect_err(&format!("{what}: check() passed"));
            assert_eq!(e.kind(), ErrorKind::Corrupted, "{what}: {e}");
            assert!(e.to_string().contains("used twice"), "{what}: check() reports something else: {e}");
        }
    }
}
// ---------------------------------------------------------------------------
// large values
// ---------------------------------------------------------------------------

/// Value lengths one below, at and one above the overflow threshold and the
/// page-size edges of overflow runs, under three thresholds and with keys
/// up to the maximum; then every value switched between inline and overflow
/// four times, read inside the transaction, after commit and after reopen.
#[test]
fn values_at_page_and_threshold_edges_round_trip_between_inline_and_overflow() {
    let s = seed(0xADE4);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("overflow boundaries at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        for threshold in [64u32, 2048, ps / 2] {
            let mut t = TestDb::new(opts_ps(ps).overflow_threshold(threshold.min(32768)).unwrap());
            let p = ps as usize;
            let th = threshold as usize;
            let lens = [
                0,
                1,
                th - 1,
                th,
                th + 1,
                p - 33,
                p - 32,
                p - 31,
                p,
                2 * p - 32,
                2 * p - 31,
                2 * p,
                5 * p - 32,
                5 * p - 31,
            ];
            let max_key = t.db().max_key_size();
            let mut model = BTreeMap::new();
            let mut tx = t.db().begin_write().unwrap();
            for (i, &len) in lens.iter().enumerate() {
                for key_len in [1usize, 17, max_key] {
                    let mut k = vec![b'k'; key_len];
                    k[0] = i as u8;
                    if key_len > 1 {
                        k[1] = (key_len % 251) as u8;
                    }
                    let v = rng.bytes(len);
                    tx.put(&k, &v).unwrap_or_else(|e| panic!("put len {len} key {key_len}: {e}"));
                    model.insert(k, v);
                }
            }
            tx.commit().unwrap();
            let verify = |db: &Database, model: &BTreeMap<Vec<u8>, Vec<u8>>, what: &str| {
                let tx = db.begin_read().unwrap();
                for (k, v) in model {
                    assert_eq!(tx.get(k).unwrap().map(|x| x.len()), Some(v.len()), "{what}");
                    assert!(tx.get(k).unwrap().unwrap() == v.as_slice(), "{what}");
                }
                let all: Vec<_> = tx.iter().map(|r| r.unwrap().0.to_vec()).collect();
                assert_eq!(all, model.keys().cloned().collect::<Vec<_>>(), "{what}");
            };
            verify(t.db(), &model, "after first commit");
            // flip every value between inline and overflow, several times
            for round in 0..4 {
                let mut tx = t.db().begin_write().unwrap();
                let keys: Vec<_> = model.keys().cloned().collect();
                for k in keys {
                    let old = model[&k].len();
                    let len = if old > th {
                        rng.below(th as u64 + 1) as usize
                    } else {
                        th + 1 + rng.below(3 * p as u64) as usize
                    };
                    let v = rng.bytes(len);
                    tx.put(&k, &v).unwrap();
                    // read back inside the transaction
                    assert!(tx.get(&k).unwrap().unwrap() == v.as_slice(), "in-txn read round {round}");
                    model.insert(k, v);
                }
                tx.commit().unwrap();
                verify(t.db(), &model, &format!("round {round}"));
                t.db().check().unwrap();
            }
            t.reopen();
            verify(t.db(), &model, "after reopen");
        }
    }
}

/// A bucket tree full of overflow values, deleted in the transaction that
/// made it or in a later one, 16 times over: nothing leaks (check() and the
/// bucket count), and the file levels off. First-fit among runs of mixed
/// lengths fragments for a few cycles, so only the second half must not
/// grow by more than an eighth.
#[test]
fn overflow_values_in_nested_buckets_then_bucket_delete_frees_everything() {
    let s = seed(0xADE5);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("overflow bucket delete at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        let t = TestDb::new(opts_ps(ps));
        // baseline: a key in the root
        let mut tx = t.db().begin_write().unwrap();
        tx.put(b"keep", b"me").unwrap();
        tx.commit().unwrap();
        let mut sizes = Vec::new();
        for cycle in 0..16 {
            let mut tx = t.db().begin_write().unwrap();
            let a = tx.create_bucket(None, b"big").unwrap();
            let b = tx.create_bucket(Some(&a), b"inner").unwrap();
            let c = tx.create_bucket(Some(&b), b"inner2").unwrap();
            for i in 0..30u32 {
                let len = 2049 + rng.below(4 * ps as u64) as usize;
                tx.put_in(&a, format!("a{i}").as_bytes(), &rng.bytes(len)).unwrap();
                tx.put_in(&b, format!("b{i}").as_bytes(), &rng.bytes(len / 2 + 1)).unwrap();
                tx.put_in(&c, format!("c{i}").as_bytes(), &rng.bytes(len)).unwrap();
            }
            // delete some overflow values inside the bucket before deleting it
            for i in (0..30u32).step_by(4) {
                assert!(tx.delete_in(&a, format!("a{i}").as_bytes()).unwrap());
                assert!(tx.delete_in(&c, format!("c{i}").as_bytes()).unwrap());
            }
            if cycle % 2 == 0 {
                // commit, then delete in a separate transaction
                tx.commit().unwrap();
                t.db().check().unwrap();
                let mut tx = t.db().begin_write().unwrap();
                let a = tx.bucket(None, b"big").unwrap().unwrap();
                let b = tx.bucket(Some(&a), b"inner").unwrap().unwrap();
                // partial changes, then delete the top
                tx.delete_in(&b, b"b3").unwrap();
                tx.put_in(&b, b"b-new", &vec![1u8; 3 * ps as usize]).unwrap();
                tx.delete_bucket(None, b"big").unwrap();
                assert_eq!(tx.get_in(&b, b"b1").unwrap_err().kind(), ErrorKind::BucketNotFound);
                tx.commit().unwrap();
            } else {
                tx.delete_bucket(Some(&a), b"inner").unwrap();
                tx.delete_bucket(None, b"big").unwrap();
                tx.commit().unwrap();
            }
            let r = t.db().check().unwrap();
            assert_eq!(r.buckets, 0, "cycle {cycle}");
            assert_eq!(t.db().stat().unwrap().bucket_count, 0);
            sizes.push(t.db().stat().unwrap().page_count);
        }
        // the file must stop growing: later cycles reuse earlier pages
        eprintln!("{ps}: page counts {sizes:?}");
        assert!(sizes[15] <= sizes[7] + sizes[7] / 8, "page count keeps growing across delete cycles: {sizes:?}");
    }
}

/// Overflow values of changing lengths put and deleted 60 times: freed runs
/// are reused, so the page count stays within a small margin.
#[test]
fn repeated_put_delete_of_big_values_does_not_grow_the_file() {
    for ps in [4096u32, 65536] {
        let t = TestDb::new(opts_ps(ps));
        let mut rng = Rng::new(seed(0xADE6));
        let mut counts = Vec::new();
        for round in 0..60 {
            let mut tx = t.db().begin_write().unwrap();
            let len = 2049 + rng.below(10 * ps as u64) as usize;
            tx.put(b"big", &rng.bytes(len)).unwrap();
            tx.put(b"big2", &rng.bytes(len / 3 + 3000)).unwrap();
            tx.commit().unwrap();
            let mut tx = t.db().begin_write().unwrap();
            assert!(tx.delete(b"big").unwrap());
            tx.commit().unwrap();
            if round % 10 == 9 {
                counts.push(t.db().stat().unwrap().page_count);
            }
        }
        assert!(counts[5] <= counts[1] + 2 * 12, "grows: {counts:?}");
    }
}

/// Values written, replaced and deleted inside one transaction return their
/// pages to the pool at once for later puts of the same transaction; every
/// read in the transaction and after it matches, and rollbacks undo it all.
#[test]
fn overflow_values_put_replaced_and_deleted_in_one_transaction_read_back() {
    // values written, replaced and deleted inside one transaction; pages
    // returned to the pool at once and reused by later puts in the same txn
    for ps in PAGE_SIZES {
        let mut rng = Rng::new(seed(0xADE7) ^ ps as u64);
        let t = TestDb::new(opts_ps(ps));
        let mut committed: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for round in 0..8 {
            let mut model = committed.clone();
            let mut tx = t.db().begin_write().unwrap();
            for _ in 0..150 {
                let k = format!("k{}", rng.below(20)).into_bytes();
                match rng.below(3) {
                    0 | 1 => {
                        let len = match rng.below(4) {
                            0 => rng.below(100) as usize,
                            1 => 2048 + rng.below(3) as usize - 1,
                            _ => 2049 + rng.below(3 * ps as u64) as usize,
                        };
                        let v = rng.bytes(len);
                        tx.put(&k, &v).unwrap();
                        model.insert(k, v);
                    }
                    _ => {
                        assert_eq!(tx.delete(&k).unwrap(), model.remove(&k).is_some());
                    }
                }
            }
            for (k, v) in &model {
                assert!(tx.get(k).unwrap().unwrap() == v.as_slice(), "round {round} in txn");
            }
            if round % 3 == 2 {
                tx.rollback();
            } else {
                tx.commit().unwrap();
                committed = model;
            }
            let r = t.db().begin_read().unwrap();
            let got: BTreeMap<Vec<u8>, Vec<u8>> =
                r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
            assert!(got == committed, "round {round}: the database differs from the committed state");
            drop(r);
            t.db().check().unwrap();
        }
    }
}

/// The overflow threshold is an open option, not a file property: values
/// stored under one threshold must read, update and check under another.
#[test]
fn values_stored_under_one_overflow_threshold_read_under_another() {
    for ps in [4096u32, 65536] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("th.db");
        let mut rng = Rng::new(seed(0xADF2) ^ ps as u64);
        let ths: Vec<u32> = vec![64, ps / 2, 2048, 64, (ps / 2).min(32768), 100];
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        for (round, &th) in ths.iter().enumerate() {
            let db = Database::open_with_options(&path, opts_ps(ps).overflow_threshold(th).unwrap()).unwrap();
            db.check().unwrap_or_else(|e| panic!("ps {ps} round {round} th {th}: check {e}"));
            let r = db.begin_read().unwrap();
            for (k, v) in &model {
                let got = r.get(k).unwrap_or_else(|e| panic!("ps {ps} th {th}: {e}"));
                assert!(got == Some(v.as_slice()), "ps {ps} th {th}");
            }
            drop(r);
            let mut tx = db.begin_write().unwrap();
            let b = tx.create_bucket_if_missing(None, b"b").unwrap();
            for i in 0..60u32 {
                let k = format!("k{i:03}").into_bytes();
                let len = match rng.below(4) {
                    0 => 65 + rng.below(200) as usize,
                    1 => 2000 + rng.below(100) as usize,
                    2 => rng.below(ps as u64 / 2 + 10) as usize,
                    _ => 0,
                };
                let v = rng.bytes(len);
                if i % 5 == 0 && model.contains_key(&k) {
                    assert!(tx.delete(&k).unwrap());
                    tx.delete_in(&b, &k).unwrap();
                    model.remove(&k);
                    continue;
                }
                tx.put(&k, &v).unwrap();
                tx.put_in(&b, &k, &v).unwrap();
                model.insert(k, v);
            }
            tx.commit().unwrap();
            db.check().unwrap();
            db.close().unwrap();
        }
        let db = Database::open(&path).unwrap();
        db.check().unwrap();
        let r = db.begin_read().unwrap();
        let b = r.bucket(None, b"b").unwrap().unwrap();
        for (k, v) in &model {
            assert!(r.get(k).unwrap() == Some(v.as_slice()));
            assert!(r.get_in(&b, k).unwrap() == Some(v.as_slice()));
        }
    }
}

// ---------------------------------------------------------------------------
// buckets and cursors
// ---------------------------------------------------------------------------

/// Fifty nested buckets, each with an overflow value and a sequence: a
/// change to the deepest rewrites every ancestor's record, and deleting
/// level 25 takes exactly the 25 below it, whose handles then fail.
#[test]
fn fifty_levels_of_nested_buckets_survive_reopens_and_a_delete_in_the_middle() {
    for ps in [4096u32, 65536] {
        let mut t = TestDb::new(opts_ps(ps));
        let depth = 50;
        let mut tx = t.db().begin_write().unwrap();
        let mut b: Option<Bucket> = None;
        for d in 0..depth {
            let nb = tx.create_bucket(b.as_ref(), format!("level{d}").as_bytes()).unwrap();
            for i in 0..20u32 {
                tx.put_in(&nb, format!("k{i}").as_bytes(), &vec![d as u8; if i == 0 { 5000 } else { 50 }]).unwrap();
            }
            assert_eq!(tx.next_sequence(&nb).unwrap(), 1);
            b = Some(nb);
        }
        tx.commit().unwrap();
        t.reopen();
        {
            let tx = t.db().begin_read().unwrap();
            let mut b: Option<Bucket> = None;
            for d in 0..depth {
                b = Some(tx.bucket(b.as_ref(), format!("level{d}").as_bytes()).unwrap().expect("bucket"));
                assert_eq!(tx.get_in(b.as_ref().unwrap(), b"k0").unwrap().unwrap(), &vec![d as u8; 5000][..]);
                assert_eq!(tx.iter_in(b.as_ref().unwrap()).count(), 20);
            }
        }
        assert_eq!(t.db().stat().unwrap().bucket_count, depth as u64);
        // modify only the deepest bucket: every ancestor record rewritten
        let mut tx = t.db().begin_write().unwrap();
        let mut b: Option<Bucket> = None;
        for d in 0..depth {
            b = Some(tx.bucket(b.as_ref(), format!("level{d}").as_bytes()).unwrap().unwrap());
        }
        tx.put_in(b.as_ref().unwrap(), b"deep", b"est").unwrap();
        assert_eq!(tx.next_sequence(b.as_ref().unwrap()).unwrap(), 2);
        tx.commit().unwrap();
        t.reopen();
        // delete from the middle: 25 buckets go
        let mut tx = t.db().begin_write().unwrap();
        let mut b: Option<Bucket> = None;
        let mut handles = Vec::new();
        for d in 0..depth {
            b = Some(tx.bucket(b.as_ref(), format!("level{d}").as_bytes()).unwrap().unwrap());
            handles.push(b.unwrap());
        }
        tx.delete_bucket(Some(&handles[24]), b"level25").unwrap();
        for (d, h) in handles.iter().enumerate() {
            let r = tx.get_in(h, b"k1");
            if d >= 25 {
                assert_eq!(r.unwrap_err().kind(), ErrorKind::BucketNotFound, "level {d}");
            } else {
                assert!(r.unwrap().is_some());
            }
        }
        tx.commit().unwrap();
        assert_eq!(t.db().stat().unwrap().bucket_count, 25);
        t.reopen();
        let r = t.db().check().unwrap();
        assert_eq!(r.buckets, 25);
    }
}

/// A bucket deleted after cursors were used on it and its child: cursors
/// and handles of both then give `BucketNotFound` without failing the
/// transaction, and a bucket re-created under the name starts empty.
#[test]
fn bucket_delete_invalidates_open_cursors_and_child_handles() {
    let t = TestDb::new(Options::new());
    let mut tx = t.db().begin_write().unwrap();
    let a = tx.create_bucket(None, b"a").unwrap();
    let c = tx.create_bucket(Some(&a), b"child").unwrap();
    for i in 0..500u32 {
        tx.put_in(&a, format!("{i:05}").as_bytes(), &[1; 40]).unwrap();
        tx.put_in(&c, format!("{i:05}").as_bytes(), &[2; 40]).unwrap();
    }
    tx.commit().unwrap();

    let mut tx = t.db().begin_write().unwrap();
    let a = tx.bucket(None, b"a").unwrap().unwrap();
    let c = tx.bucket(Some(&a), b"child").unwrap().unwrap();
    {
        let mut wc = tx.write_cursor(Some(&c));
        assert!(wc.first().unwrap().is_some());
        assert!(wc.next().unwrap().is_some());
    }
    tx.delete_bucket(None, b"a").unwrap();
    {
        let mut wc = tx.write_cursor(Some(&c));
        let e = wc.first().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::BucketNotFound);
        assert_eq!(wc.delete().unwrap_err().kind(), ErrorKind::BucketNotFound);
    }
    {
        let mut cur = tx.cursor_in(&a);
        assert_eq!(cur.next().unwrap_err().kind(), ErrorKind::BucketNotFound);
        let mut bc = tx.bucket_cursor(Some(&a));
        assert_eq!(bc.first().unwrap_err().kind(), ErrorKind::BucketNotFound);
    }
    assert!(!tx.is_failed());
    // re-create with the same name: fresh, empty, sequence restarts
    let a2 = tx.create_bucket(None, b"a").unwrap();
    assert_eq!(tx.iter_in(&a2).count(), 0);
    assert!(tx.bucket(Some(&a2), b"child").unwrap().is_none());
    assert_eq!(tx.next_sequence(&a2).unwrap(), 1);
    // the old handles stay dead
    assert_eq!(tx.get_in(&a, b"00001").unwrap_err().kind(), ErrorKind::BucketNotFound);
    assert_eq!(tx.get_in(&c, b"00001").unwrap_err().kind(), ErrorKind::BucketNotFound);
    tx.put_in(&a2, b"x", b"y").unwrap();
    tx.commit().unwrap();
    let r = t.db().begin_read().unwrap();
    let a = r.bucket(None, b"a").unwrap().unwrap();
    assert_eq!(r.iter_in(&a).count(), 1);
    assert!(r.bucket(Some(&a), b"child").unwrap().is_none());
}

/// Nested buckets full of small and overflow values, created and deleted
/// in the same transaction, leave nothing behind: no bucket, no key, no
/// reachable page.
#[test]
fn nested_buckets_created_and_deleted_in_one_transaction_leave_nothing() {
    let t = TestDb::new(Options::new());
    for round in 0..5 {
        let mut tx = t.db().begin_write().unwrap();
        let name = format!("tmp{round}").into_bytes();
        let mut b = tx.create_bucket(None, &name).unwrap();
        for d in 0..5 {
            b = tx.create_bucket(Some(&b), format!("d{d}").as_bytes()).unwrap();
            for i in 0..300u32 {
                tx.put_in(&b, format!("{i:04}").as_bytes(), &vec![d; 100 + (i as usize % 3) * 1500]).unwrap();
            }
        }
        tx.delete_bucket(None, &name).unwrap();
        tx.commit().unwrap();
        let r = t.db().check().unwrap();
        assert_eq!((r.buckets, r.keys, r.reachable_pages), (0, 0, 0), "round {round}: {r:?}");
    }
}

fn cursor_delete_all(ps: u32, forward: bool, n: u32, in_bucket: bool) {
    let t = TestDb::new(opts_ps(ps));
    let mut rng = Rng::new(seed(0xADE8) ^ n as u64);
    let mut tx = t.db().begin_write().unwrap();
    let b = if in_bucket { Some(tx.create_bucket(None, b"b").unwrap()) } else { None };
    let mut keys = Vec::new();
    for i in 0..n {
        let k = format!("{:08}-{}", i, "x".repeat(rng.below(200) as usize)).into_bytes();
        let n = if i % 10 == 0 { 3000 } else { rng.below(300) as usize };
        let v = rng.bytes(n);
        match &b {
            Some(b) => tx.put_in(b, &k, &v).unwrap(),
            None => tx.put(&k, &v).unwrap(),
        }
        keys.push(k);
    }
    tx.commit().unwrap();
    let mut tx = t.db().begin_write().unwrap();
    let b = if in_bucket { Some(tx.bucket(None, b"b").unwrap().unwrap()) } else { None };
    let mut deleted = 0;
    {
        let mut c = tx.write_cursor(b.as_ref());
        let mut expect: Vec<&Vec<u8>> = keys.iter().collect();
        if !forward {
            expect.reverse();
        }
        let mut item = if forward {
            c.first().unwrap().map(|(k, _)| k.to_vec())
        } else {
            c.last().unwrap().map(|(k, _)| k.to_vec())
        };
        let mut i = 0;
        while let Some(k) = item {
            assert_eq!(&k, expect[i], "ps {ps} fwd {forward} at {i}");
            assert!(c.delete().unwrap());
            // second delete without a move: nothing
            assert!(!c.delete().unwrap());
            deleted += 1;
            i += 1;
            item = if forward {
                c.next().unwrap().map(|(k, _)| k.to_vec())
            } else {
                c.prev().unwrap().map(|(k, _)| k.to_vec())
            };
        }
        assert_eq!(i, keys.len());
        assert!(c.first().unwrap().is_none());
        assert!(c.last().unwrap().is_none());
    }
    assert_eq!(deleted, n);
    tx.commit().unwrap();
    let r = t.db().check().unwrap();
    assert_eq!(r.keys, 0);
    // everything freed: only the catalog (if any) is reachable
    assert!(r.reachable_pages <= 1, "{r:?}");
}

/// A write cursor deleting every item of 3,000 (some overflow) walks them
/// all in order both ways, in the default keyspace and in a bucket, at
/// every page size, and frees every page.
#[test]
fn cursor_deletes_every_item_forwards_and_backwards() {
    for ps in PAGE_SIZES {
        for forward in [true, false] {
            for in_bucket in [false, true] {
                cursor_delete_all(ps, forward, 3000, in_bucket);
            }
        }
    }
}

/// Deleting every other item forwards, then every other survivor
/// backwards: each move after a delete lands on the right neighbour.
#[test]
fn cursor_deletes_alternate_items_then_walks_both_ways() {
    for ps in [4096u32, 16384] {
        let t = TestDb::new(opts_ps(ps));
        let mut tx = t.db().begin_write().unwrap();
        for i in 0..4000u32 {
            tx.put(format!("{i:06}").as_bytes(), &vec![i as u8; (i % 97) as usize * 9]).unwrap();
        }
        tx.commit().unwrap();
        let mut tx = t.db().begin_write().unwrap();
        {
            let mut c = tx.write_cursor(None);
            let mut i = 0u32;
            let mut item = c.first().unwrap().map(|(k, _)| k.to_vec());
            while let Some(k) = item {
                assert_eq!(k, format!("{i:06}").into_bytes());
                if i % 2 == 0 {
                    assert!(c.delete().unwrap());
                }
                i += 1;
                item = c.next().unwrap().map(|(k, _)| k.to_vec());
            }
            assert_eq!(i, 4000);
            // backwards: delete every other remaining (odd), prev continues correctly
            let mut item = c.last().unwrap().map(|(k, _)| k.to_vec());
            let mut j = 3999i64;
            while let Some(k) = item {
                assert_eq!(k, format!("{j:06}").into_bytes());
                if j % 4 == 1 {
                    assert!(c.delete().unwrap());
                    // prev after delete gives the one before
                }
                j -= 2;
                item = c.prev().unwrap().map(|(k, _)| k.to_vec());
            }
            assert_eq!(j, -1);
        }
        let left: Vec<_> = tx.iter().map(|r| r.unwrap().0.to_vec()).collect();
        let want: Vec<_> = (0..4000u32).filter(|i| i % 4 == 3).map(|i| format!("{i:06}").into_bytes()).collect();
        assert_eq!(left, want);
        tx.commit().unwrap();
    }
}

/// Seek, delete, then next or prev, against a model: after a delete the
/// cursor sits between the deleted key's neighbours.
#[test]
fn after_a_cursor_delete_next_and_prev_give_the_neighbours() {
    let t = TestDb::new(Options::new());
    let mut tx = t.db().begin_write().unwrap();
    for i in 0..1000u32 {
        tx.put(format!("{i:04}").as_bytes(), &[0; 200]).unwrap();
    }
    let mut rng = Rng::new(seed(0xADE9));
    let mut model: Vec<u32> = (0..1000).collect();
    {
        let mut c = tx.write_cursor(None);
        for _ in 0..400 {
            if model.is_empty() {
                break;
            }
            let target = rng.below(1000) as u32;
            let got = c.seek(format!("{target:04}").as_bytes()).unwrap().map(|(k, _)| k.to_vec());
            let pos = model.partition_point(|&x| x < target);
            match model.get(pos) {
                None => {
                    assert!(got.is_none());
                    continue;
                }
                Some(&m) => assert_eq!(got, Some(format!("{m:04}").into_bytes())),
            }
            assert!(c.delete().unwrap());
            model.remove(pos);
            if rng.chance(50) {
                let n = c.next().unwrap().map(|(k, _)| k.to_vec());
                assert_eq!(n, model.get(pos).map(|m| format!("{m:04}").into_bytes()), "next after delete");
            } else {
                let p = c.prev().unwrap().map(|(k, _)| k.to_vec());
                let want = if pos == 0 { None } else { Some(format!("{:04}", model[pos - 1]).into_bytes()) };
                assert_eq!(p, want, "prev after delete");
            }
        }
    }
    tx.commit().unwrap();
}

/// A write cursor borrows its transaction, so puts and deletes happen
/// between cursor lifetimes: the walk resumes after the last key it saw and
/// must go on in order, seeing exactly the keys the model holds, while the
/// changes around its position split leaves (small and overflow values) and
/// merge them (deletes).
#[test]
fn cursor_resumed_between_puts_and_deletes_around_it_stays_ordered() {
    let s = seed(0xADEA);
    for ps in [4096u32, 65536] {
        let _g = SeedGuard::new(format!("resumed cursor at {ps}-byte pages"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        let t = TestDb::new(opts_ps(ps));
        let key = |i: u64| format!("{i:06}").into_bytes();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = (0..3000).step_by(3).map(|i| (key(i), vec![i as u8; 30])).collect();
        let mut tx = t.db().begin_write().unwrap();
        for (k, v) in &model {
            tx.put(k, v).unwrap();
        }
        let mut last: Option<Vec<u8>> = None;
        for step in 0.. {
            let got = {
                let mut c = tx.write_cursor(None);
                let got = match &last {
                    None => c.first(),
                    // the first key after `last`: keys are all six bytes long
                    Some(l) => c.seek(&[l.as_slice(), &[0]].concat()),
                };
                got.unwrap().map(|(k, v)| (k.to_vec(), v.to_vec()))
            };
            let after = last.clone().map_or(Bound::Unbounded, Bound::Excluded);
            let want = model.range((after, Bound::Unbounded)).next().map(|(k, v)| (k.clone(), v.clone()));
            assert_eq!(got, want, "step {step}: the resumed cursor is out of step with the model");
            let Some((here, _)) = got else { break };
            let at: u64 = String::from_utf8_lossy(&here).parse().unwrap();
            for _ in 0..6 {
                let k = key((at + rng.below(30)).saturating_sub(15).min(2999));
                if rng.chance(60) {
                    let max = if rng.chance(10) { 5000 } else { 300 };
                    let v = rbytes(&mut rng, max);
                    tx.put(&k, &v).unwrap();
                    model.insert(k, v);
                } else {
                    assert_eq!(tx.delete(&k).unwrap(), model.remove(&k).is_some());
                }
            }
            last = Some(here);
        }
        tx.commit().unwrap();
    }
}

/// Keys made of 0x00 and 0xFF bytes, where prefix ends and seek keys are
/// easiest to get wrong: prefixes (empty, all 0xFF), empty, equal and
/// reversed ranges, double-ended iteration meeting in the middle, moves
/// past either end, seeks past the end or longer than any key.
#[test]
fn seeks_ranges_and_prefixes_over_00_and_ff_keys_follow_the_key_order() {
    let t = TestDb::new(Options::new());
    let keys: Vec<Vec<u8>> = vec![
        vec![0x00],
        vec![0x00, 0x00],
        vec![0x01],
        vec![0x7F, 0xFF],
        vec![0xFE, 0xFF, 0xFF],
        vec![0xFF],
        vec![0xFF, 0x00],
        vec![0xFF, 0xFF],
        vec![0xFF, 0xFF, 0xFF],
        vec![0xFF; 1000],
    ];
    let mut tx = t.db().begin_write().unwrap();
    for k in &keys {
        tx.put(k, k).unwrap();
    }
    tx.commit().unwrap();
    let r = t.db().begin_read().unwrap();
    fn all<'a>(it: impl Iterator<Item = thunder::Result<(&'a [u8], &'a [u8])>>) -> Vec<Vec<u8>> {
        it.map(|x| x.unwrap().0.to_vec()).collect()
    }
    // prefix
    for p in [&[][..], &[0xFF][..], &[0xFF, 0xFF][..], &[0x00][..], &[0xFE][..], &[0x7F, 0xFF][..]] {
        let want: Vec<_> = keys.iter().filter(|k| k.starts_with(p)).cloned().collect();
        assert_eq!(all(r.prefix(p)), want, "prefix {p:?}");
        let mut rev = want.clone();
        rev.reverse();
        assert_eq!(all(r.prefix(p).rev()), rev, "prefix rev {p:?}");
    }
    // ranges with empty and equal bounds
    let e: &[u8] = &[];
    assert_eq!(all(r.range(e..)), keys);
    assert!(all(r.range(e..e)).is_empty());
    assert!(all(r.range(&[0xFF][..]..&[0xFF][..])).is_empty());
    assert_eq!(all(r.range(&[0xFF][..]..=&[0xFF][..])), vec![vec![0xFF]]);
    assert!(all(r.range(&[0xFF, 0xFF][..]..&[0x01][..])).is_empty(), "reversed range");
    assert!(all(r.range(&[0xFF, 0xFF][..]..&[0x01][..]).rev()).is_empty(), "reversed range rev");
    assert_eq!(all(r.range(..=&[0xFF, 0xFF][..])).len(), 8);
    assert_eq!(all(r.range(..&[0x00][..])).len(), 0);
    let after_ff = all(r.range::<&[u8], _>((Bound::Excluded(&[0xFF][..]), Bound::Unbounded)));
    assert_eq!(after_ff, keys[6..], "keys after 0xFF");
    // double-ended iteration meeting in the middle
    let mut it = r.iter();
    let mut front = Vec::new();
    let mut back = Vec::new();
    while let Some(x) = it.next() {
        front.push(x.unwrap().0.to_vec());
        let Some(x) = it.next_back() else { break };
        back.push(x.unwrap().0.to_vec());
    }
    back.reverse();
    front.extend(back);
    assert_eq!(front, keys, "double-ended iteration");
    // seeks: between, after all, before all, empty
    let mut c = r.cursor();
    assert_eq!(c.seek(&[]).unwrap().unwrap().0, &[0x00]);
    assert_eq!(c.seek(&[0x00, 0x00, 0x00]).unwrap().unwrap().0, &[0x01]);
    assert_eq!(c.seek(&[0xFF, 0xFF, 0xFF, 0x00]).unwrap().unwrap().0, &vec![0xFF; 1000][..]);
    assert!(c.seek(&vec![0xFF; 1001]).unwrap().is_none());
    assert_eq!(c.prev().unwrap().unwrap().0, &vec![0xFF; 1000][..]);
    assert!(c.next().unwrap().is_none());
    assert!(c.next().unwrap().is_none());
    assert_eq!(c.prev().unwrap().unwrap().0, &vec![0xFF; 1000][..]);
    assert_eq!(c.first().unwrap().unwrap().0, &[0x00]);
    assert!(c.prev().unwrap().is_none());
    assert!(c.prev().unwrap().is_none());
    assert_eq!(c.next().unwrap().unwrap().0, &[0x00]);
    // seek longer than max key: not found or InvalidArgument/KeyTooLarge, never panic
    let big = vec![0xFF; 5000];
    match c.seek(&big) {
        Ok(x) => assert!(x.is_none()),
        Err(e) => assert!(matches!(e.kind(), ErrorKind::KeyTooLarge | ErrorKind::InvalidArgument)),
    }
    match r.get(&big) {
        Ok(x) => assert!(x.is_none()),
        Err(e) => assert!(matches!(e.kind(), ErrorKind::KeyTooLarge | ErrorKind::InvalidArgument)),
    }
    // an empty db: all cursors and iterators empty
    let t2 = TestDb::new(Options::new());
    let r2 = t2.db().begin_read().unwrap();
    let mut c2 = r2.cursor();
    assert!(c2.seek(&[]).unwrap().is_none());
    assert!(c2.prev().unwrap().is_none());
    assert!(c2.next().unwrap().is_none());
    assert!(r2.prefix(&[0xFF]).next().is_none());
    assert!(r2.iter().next_back().is_none());
}

/// 2,000 random ranges and prefixes over keys from a tiny alphabet (so
/// bounds often fall on, between and around stored keys), both ways.
#[test]
fn ranges_across_many_leaves_match_a_model() {
    let s = seed(0xADEC);
    let _g = SeedGuard::new("ranges", s);
    let mut rng = Rng::new(s);
    let t = TestDb::new(Options::new());
    let mut model = BTreeMap::new();
    let mut tx = t.db().begin_write().unwrap();
    for _ in 0..5000 {
        let len = 1 + rng.below(4) as usize;
        let k: Vec<u8> = (0..len).map(|_| *rng.pick(&[0u8, 1, 0x7F, 0x80, 0xFE, 0xFF])).collect();
        let v = rbytes(&mut rng, 50);
        tx.put(&k, &v).unwrap();
        model.insert(k, v);
    }
    tx.commit().unwrap();
    let r = t.db().begin_read().unwrap();
    let pick_key = |rng: &mut Rng| -> Vec<u8> {
        let len = rng.below(5) as usize;
        (0..len).map(|_| *rng.pick(&[0u8, 1, 0x7F, 0x80, 0xFE, 0xFF])).collect()
    };
    use Bound::*;
    for _ in 0..2000 {
        let a = pick_key(&mut rng);
        let b = pick_key(&mut rng);
        let lo = match rng.below(3) {
            0 => Unbounded,
            1 => Included(a.clone()),
            _ => Excluded(a.clone()),
        };
        let hi = match rng.below(3) {
            0 => Unbounded,
            1 => Included(b.clone()),
            _ => Excluded(b.clone()),
        };
        // BTreeMap::range panics on lo > hi; the model filters instead
        let want: Vec<Vec<u8>> = model
            .keys()
            .filter(|k| match &lo {
                Unbounded => true,
                Included(x) => *k >= x,
                Excluded(x) => *k > x,
            })
            .filter(|k| match &hi {
                Unbounded => true,
                Included(x) => *k <= x,
                Excluded(x) => *k < x,
            })
            .cloned()
            .collect();
        let got: Vec<Vec<u8>> = r.range((lo.clone(), hi.clone())).map(|x| x.unwrap().0.to_vec()).collect();
        assert_eq!(got, want, "range {lo:?}..{hi:?}");
        let mut got_rev: Vec<Vec<u8>> =
            r.range((lo.clone(), hi.clone())).rev().map(|x| x.unwrap().0.to_vec()).collect();
        got_rev.reverse();
        assert_eq!(got_rev, want, "rev range {lo:?}..{hi:?}");
        let p = pick_key(&mut rng);
        let wantp: Vec<Vec<u8>> = model.keys().filter(|k| k.starts_with(&p)).cloned().collect();
        let gotp: Vec<Vec<u8>> = r.prefix(&p).map(|x| x.unwrap().0.to_vec()).collect();
        assert_eq!(gotp, wantp, "prefix {p:?}");
    }
}

/// Thousands of top-level buckets (the catalog tree splits), each with a
/// key that shares the bucket's name; then delete them all.
#[test]
fn thousands_of_buckets_sharing_names_with_keys_delete_cleanly() {
    let mut t = TestDb::new(Options::new());
    let mut tx = t.db().begin_write().unwrap();
    for i in 0..5000u32 {
        let name = format!("bucket-{i:05}-{}", "n".repeat((i % 200) as usize)).into_bytes();
        let b = tx.create_bucket(None, &name).unwrap();
        tx.put_in(&b, &name, &name).unwrap();
        tx.put(&name, b"key in root").unwrap();
        if i % 100 == 0 {
            let c = tx.create_bucket(Some(&b), &name).unwrap();
            tx.put_in(&c, b"x", &vec![3; 5000]).unwrap();
        }
    }
    tx.commit().unwrap();
    t.reopen();
    assert_eq!(t.db().stat().unwrap().bucket_count, 5050);
    let names = t.db().begin_read().unwrap().bucket_names(None).unwrap();
    assert_eq!(names.len(), 5000);
    let mut tx = t.db().begin_write().unwrap();
    for (i, name) in names.iter().enumerate() {
        if i % 2 == 0 {
            tx.delete_bucket(None, name).unwrap();
        }
    }
    // bucket cursor in the same txn sees exactly the survivors
    let left = tx.bucket_names(None).unwrap();
    assert_eq!(left.len(), 2500);
    assert_eq!(tx.get(&names[0]).unwrap(), Some(&b"key in root"[..]));
    tx.commit().unwrap();
    t.reopen();
    // every nested bucket hung off an even-numbered (deleted) bucket
    assert_eq!(t.db().stat().unwrap().bucket_count, 2500);
    let mut tx = t.db().begin_write().unwrap();
    for name in tx.bucket_names(None).unwrap() {
        tx.delete_bucket(None, &name).unwrap();
    }
    tx.commit().unwrap();
    t.reopen();
    assert_eq!(t.db().stat().unwrap().bucket_count, 0);
    assert_eq!(t.db().begin_read().unwrap().iter().count(), 5000);
}

/// A model test with extreme entry sizes: keys of the maximum length and
/// inline values right at the threshold (one entry per leaf, four per
/// branch), mixed with tiny ones, so splits and merges see the most uneven
/// nodes.
#[test]
fn extreme_entry_sizes_match_a_model() {
    let s = seed(0xADF5);
    let ops = scaled(6000);
    for ps in PAGE_SIZES {
        let _g = SeedGuard::new(format!("extreme sizes at {ps}"), s);
        let mut rng = Rng::new(s ^ ps as u64);
        let th = (ps / 2).min(32768);
        let mut t = TestDb::new(opts_ps(ps).overflow_threshold(th).unwrap());
        let mk = t.db().max_key_size();
        let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut committed = model.clone();
        let mut tx = Some(t.db().begin_write().unwrap());
        let mk_key = |rng: &mut Rng| -> Vec<u8> {
            let id = rng.below(400) as u32;
            let len = match id % 4 {
                0 => 4,
                1 => mk,
                2 => mk - 1,
                _ => 4 + rng.below(mk as u64 - 4) as usize,
            };
            let mut k = vec![(id % 251) as u8; len];
            k[..4].copy_from_slice(&id.to_be_bytes());
            k
        };
        for op in 0..ops {
            let w = tx.as_mut().unwrap();
            match rng.below(100) {
                0..=49 => {
                    let k = mk_key(&mut rng);
                    let len = match rng.below(5) {
                        0 => th as usize,
                        1 => th as usize + 1,
                        2 => 0,
                        3 => th as usize - (k.len() % 100),
                        _ => rng.below(50) as usize,
                    };
                    let v = rng.bytes(len);
                    w.put(&k, &v).unwrap_or_else(|e| panic!("op {op}: put {e}"));
                    model.insert(k, v);
                }
                50..=79 => {
                    let k = mk_key(&mut rng);
                    assert_eq!(w.delete(&k).unwrap(), model.remove(&k).is_some(), "op {op}");
                }
                80..=87 => {
                    // cursor-delete a run from a random start, forwards or backwards
                    let k = mk_key(&mut rng);
                    let fwd = rng.chance(50);
                    let n = rng.below(20);
                    let mut c = w.write_cursor(None);
                    let mut cur = c.seek(&k).unwrap().map(|(k, _)| k.to_vec());
                    if !fwd {
                        cur = c.prev().unwrap().map(|(k, _)| k.to_vec());
                    }
                    for _ in 0..n {
                        let Some(ck) = cur else { break };
                        assert!(model.remove(&ck).is_some(), "op {op}: cursor on a key the model lacks");
                        assert!(c.delete().unwrap());
                        cur = if fwd { c.next().unwrap() } else { c.prev().unwrap() }.map(|(k, _)| k.to_vec());
                        let want = if fwd {
                            model.range::<Vec<u8>, _>((Bound::Excluded(ck.clone()), Bound::Unbounded)).next()
                        } else {
                            model.range::<Vec<u8>, _>(..ck.clone()).next_back()
                        };
                        assert_eq!(cur.as_ref(), want.map(|(k, _)| k), "op {op}: cursor after delete");
                    }
                }
                88..=93 => {
                    // compare a range scan
                    let a = mk_key(&mut rng);
                    let got: Vec<Vec<u8>> = w.range(a.clone()..).take(30).map(|r| r.unwrap().0.to_vec()).collect();
                    let want: Vec<Vec<u8>> = model.range(a..).take(30).map(|(k, _)| k.clone()).collect();
                    assert_eq!(got, want, "op {op}: range");
                }
                94..=97 => {
                    let w = tx.take().unwrap();
                    w.commit().unwrap_or_else(|e| panic!("op {op}: commit {e}"));
                    committed = model.clone();
                    t.db().check().unwrap_or_else(|e| panic!("op {op}: check {e}"));
                    tx = Some(t.db().begin_write().unwrap());
                }
                _ => {
                    let w = tx.take().unwrap();
                    w.rollback();
                    model = committed.clone();
                    if rng.chance(30) {
                        t.reopen();
                    }
                    tx = Some(t.db().begin_write().unwrap());
                }
            }
        }
        let w = tx.take().unwrap();
        let all: Vec<(Vec<u8>, Vec<u8>)> =
            w.iter().map(|r| r.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
        assert!(all == model.clone().into_iter().collect::<Vec<_>>(), "ps {ps}: final contents");
        w.commit().unwrap();
        t.reopen();
    }
}

// ---------------------------------------------------------------------------
// concurrency
// ---------------------------------------------------------------------------

/// Reader threads check that every snapshot is one whole generation while a
/// writer rewrites every key 150 times and one reader stays pinned at the
/// first; once the readers end, further churn reuses the freed pages.
#[test]
fn pinned_readers_see_whole_snapshots_during_churn_and_space_is_reused_after() {
    let s = seed(0xADED);
    let _g = SeedGuard::new("pinned readers churn", s);
    let t = TestDb::new(Options::new().sync_mode(SyncMode::None).unwrap());
    let db = t.db().clone();
    // writer: each commit sets every key to (txid, i) -> readers check consistency
    let n_keys = 300u32;
    let write_gen = |db: &Database, gen: u64, rng: &mut Rng| {
        let mut tx = db.begin_write().unwrap();
        for i in 0..n_keys {
            let mut v = gen.to_le_bytes().to_vec();
            let extra = if i % 50 == 0 { 3000 } else { rng.below(100) as usize };
            v.extend(std::iter::repeat_n(i as u8, extra));
            tx.put(format!("k{i:05}").as_bytes(), &v).unwrap();
        }
        tx.put(b"gen", &gen.to_le_bytes()).unwrap();
        tx.commit().unwrap();
    };
    let mut rng = Rng::new(s);
    write_gen(&db, 0, &mut rng);
    let stop = Arc::new(AtomicBool::new(false));
    let checks = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for r in 0..3 {
        let db = db.clone();
        let stop = stop.clone();
        let checks = checks.clone();
        handles.push(std::thread::spawn(move || {
            let mut rng = Rng::new(s ^ (r + 100));
            // at least one whole snapshot each, however the threads are scheduled
            loop {
                let tx = db.begin_read().unwrap();
                let gen = u64::from_le_bytes(tx.get(b"gen").unwrap().unwrap().try_into().unwrap());
                // hold it a while, reading repeatedly
                for _ in 0..1 + rng.below(4) {
                    let mut n = 0;
                    for item in tx.iter() {
                        let (k, v) = item.unwrap();
                        if k == b"gen" {
                            continue;
                        }
                        assert_eq!(u64::from_le_bytes(v[..8].try_into().unwrap()), gen, "torn snapshot");
                        n += 1;
                    }
                    assert_eq!(n, n_keys);
                    std::thread::sleep(Duration::from_micros(rng.below(2000)));
                }
                checks.fetch_add(1, Ordering::Relaxed);
                if stop.load(Ordering::Acquire) {
                    break;
                }
            }
        }));
    }
    // one reader pinned at gen 0 for the whole churn
    let pinned = db.begin_read().unwrap();
    for gen in 1..150u64 {
        write_gen(&db, gen, &mut rng);
    }
    let with_pin = db.stat().unwrap();
    // the pinned reader still sees gen 0 intact
    for item in pinned.iter() {
        let (k, v) = item.unwrap();
        if k != b"gen" {
            assert_eq!(u64::from_le_bytes(v[..8].try_into().unwrap()), 0);
        }
    }
    drop(pinned);
    stop.store(true, Ordering::Release);
    for h in handles {
        h.join().unwrap();
    }
    assert!(checks.load(Ordering::Relaxed) >= 3);
    db.sync().unwrap();
    // now space must be reused: more churn doesn't grow the file
    for gen in 150..170u64 {
        write_gen(&db, gen, &mut rng);
    }
    db.sync().unwrap();
    let mid = db.stat().unwrap();
    for gen in 170..260u64 {
        write_gen(&db, gen, &mut rng);
        if gen % 10 == 0 {
            db.sync().unwrap();
        }
    }
    db.sync().unwrap();
    let end = db.stat().unwrap();
    eprintln!("with pin {with_pin:?}\nmid {mid:?}\nend {end:?}");
    assert!(
        end.page_count <= mid.page_count + 8,
        "file keeps growing after readers finished: {} -> {}",
        mid.page_count,
        end.page_count
    );
    assert!(end.page_count <= with_pin.page_count, "no reuse after readers ended");
    db.check().unwrap();
}

/// Read transactions on other threads outlive a dropped handle: they go on
/// reading, the file stays locked for a new open meanwhile, and after close
/// it reopens intact.
#[test]
fn readers_outliving_a_dropped_handle_keep_the_file_locked_until_they_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    for round in 0..5u32 {
        let db = Database::open(&path).unwrap();
        let mut tx = db.begin_write().unwrap();
        for i in 0..200u32 {
            tx.put(format!("k{i}").as_bytes(), &vec![round as u8; 100 + 30 * (i as usize % 100)]).unwrap();
        }
        tx.commit().unwrap();
        // readers on threads, still holding transactions when the handle is dropped
        let barrier = Arc::new(Barrier::new(4));
        let mut hs = Vec::new();
        for _ in 0..3 {
            let tx = db.begin_read().unwrap();
            let barrier = barrier.clone();
            hs.push(std::thread::spawn(move || {
                barrier.wait();
                for _ in 0..20 {
                    for i in 0..200u32 {
                        let v = tx.get(format!("k{i}").as_bytes()).unwrap().unwrap();
                        assert!(v.iter().all(|&b| b == round as u8));
                    }
                }
            }));
        }
        // one handle goes while its transactions live on the reader threads;
        // a clone keeps the database open
        let db2 = db.clone();
        drop(db);
        barrier.wait();
        // reopen while the old handle's transactions live: locked (same process)
        match Database::open(&path) {
            Err(e) => assert_eq!(e.kind(), ErrorKind::Locked),
            Ok(_) => panic!("second open while transactions of the first are alive"),
        }
        for h in hs {
            h.join().unwrap();
        }
        db2.close().unwrap();
        let db = Database::open(&path).unwrap();
        db.check().unwrap();
        let r = db.begin_read().unwrap();
        assert!(r.get(b"k5").unwrap().unwrap().iter().all(|&b| b == round as u8));
        drop(r);
        db.close().unwrap();
    }
}

/// Three threads committing under `Batched(2 ms)`, calling `sync()` now
/// and then, with a reader alongside: after close every commit is there.
#[test]
fn batched_sync_with_concurrent_commits_loses_nothing_at_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.db");
    for round in 0..4u64 {
        let db = Database::open_with_options(
            &path,
            Options::new().sync_mode(SyncMode::Batched(Duration::from_millis(2))).unwrap(),
        )
        .unwrap();
        let mut hs = Vec::new();
        for w in 0..3u64 {
            let db = db.clone();
            hs.push(std::thread::spawn(move || {
                for i in 0..60u64 {
                    let mut tx = db.begin_write().unwrap();
                    tx.put(format!("w{w}-{i:03}").as_bytes(), &(round * 1000 + i).to_le_bytes()).unwrap();
                    if i % 7 == 0 {
                        tx.put(format!("big{w}").as_bytes(), &vec![i as u8; 9000]).unwrap();
                    }
                    tx.commit().unwrap();
                    if i % 13 == 0 {
                        db.sync().unwrap();
                    }
                }
            }));
        }
        let reader = {
            let db = db.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let tx = db.begin_read().unwrap();
                    let n = tx.iter().count();
                    assert!(n <= 3 * 60 + 3);
                }
            })
        };
        for h in hs {
            h.join().unwrap();
        }
        reader.join().unwrap();
        db.close().unwrap();
        let db = Database::open(&path).unwrap();
        db.check().unwrap();
        let tx = db.begin_read().unwrap();
        for w in 0..3u64 {
            for i in 0..60u64 {
                let v = tx.get(format!("w{w}-{i:03}").as_bytes()).unwrap().expect("lost commit after clean close");
                assert_eq!(v, &(round * 1000 + i).to_le_bytes());
            }
        }
        drop(tx);
        db.close().unwrap();
    }
}

/// Under `SyncMode::None` the file at any instant between commits must
/// open as the last synced state, intact (a power cut loses the rest).
#[test]
fn copies_taken_between_unsynced_commits_open_as_the_last_sync() {
    let s = seed(0xADF3);
    let _g = SeedGuard::new("power-cut copies", s);
    let mut rng = Rng::new(s);
    for ps in [4096u32, 16384] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.db");
        let copy = dir.path().join("copy.db");
        let db = Database::open_with_options(&path, opts_ps(ps).sync_mode(SyncMode::None).unwrap()).unwrap();
        let mut model: BTreeMap<(Vec<u8>, Vec<u8>), Vec<u8>> = BTreeMap::new();
        let mut synced = model.clone();
        let mut reader: Option<ReadTx> = None;
        for step in 0..250u32 {
            let mut tx = db.begin_write().unwrap();
            for _ in 0..rng.range(1, 30) {
                let bname = format!("b{}", rng.below(3)).into_bytes();
                let k = format!("k{}", rng.below(300)).into_bytes();
                let b = tx.create_bucket_if_missing(None, &bname).unwrap();
                if rng.chance(25) {
                    tx.delete_in(&b, &k).unwrap();
                    model.remove(&(bname, k));
                } else {
                    let len = if rng.chance(10) { 2049 + rng.below(10_000) as usize } else { rng.below(300) as usize };
                    let v = rng.bytes(len);
                    tx.put_in(&b, &k, &v).unwrap();
                    model.insert((bname, k), v);
                }
            }
            if rng.chance(3) {
                let bname = format!("b{}", rng.below(3)).into_bytes();
                if tx.bucket(None, &bname).unwrap().is_some() {
                    tx.delete_bucket(None, &bname).unwrap();
                    model.retain(|(b, _), _| *b != bname);
                }
            }
            tx.commit().unwrap();
            if rng.chance(10) {
                db.sync().unwrap();
                synced = model.clone();
            }
            if rng.chance(10) {
                reader = if reader.is_some() { None } else { Some(db.begin_read().unwrap()) };
            }
            if step % 5 == 4 {
                std::fs::copy(&path, &copy).unwrap();
                let c = Database::open(&copy).unwrap_or_else(|e| panic!("step {step}: copy open {e}"));
                c.check().unwrap_or_else(|e| panic!("ps {ps} step {step}: copy check {e}"));
                let r = c.begin_read().unwrap();
                let mut got = BTreeMap::new();
                for name in r.bucket_names(None).unwrap() {
                    let b = r.bucket(None, &name).unwrap().unwrap();
                    for item in r.iter_in(&b) {
                        let (k, v) = item.unwrap();
                        got.insert((name.clone(), k.to_vec()), v.to_vec());
                    }
                }
                assert!(got == synced, "ps {ps} step {step}: copy is not the last synced state");
                drop(r);
                c.close().unwrap();
                std::fs::remove_file(&copy).unwrap();
            }
        }
        drop(reader);
        db.close().unwrap();
    }
}

/// A zero batching interval is refused (it would be `Full` in disguise);
/// with the shortest interval, a thread calling `sync()` in a tight loop
/// races two committing threads, and nothing is lost.
#[test]
fn batched_sync_with_a_tiny_interval_races_explicit_syncs() {
    let e = Options::new().sync_mode(SyncMode::Batched(Duration::ZERO)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("z.db");
    let opts = Options::new().sync_mode(SyncMode::Batched(Duration::from_micros(1))).unwrap();
    let db = Database::open_with_options(&path, opts).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let syncer = {
        let (db, done) = (db.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Acquire) {
                db.sync().unwrap();
            }
        })
    };
    let writers: Vec<_> = (0..2u32)
        .map(|w| {
            let db = db.clone();
            std::thread::spawn(move || {
                for i in 0..200u32 {
                    let mut tx = db.begin_write().unwrap();
                    tx.put(format!("{w}-{i}").as_bytes(), &[1; 100]).unwrap();
                    tx.commit().unwrap();
                }
            })
        })
        .collect();
    for h in writers {
        h.join().unwrap();
    }
    done.store(true, Ordering::Release);
    syncer.join().unwrap();
    db.close().unwrap();
    let db = Database::open(&path).unwrap();
    db.check().unwrap();
    assert_eq!(db.begin_read().unwrap().iter().count(), 400);
}

// ---------------------------------------------------------------------------
// limits
// ---------------------------------------------------------------------------

/// The max size reached in the middle of a transaction at every page size:
/// `NoSpace`, latched for every later call of that transaction; deleting
/// then frees space and writing goes on. The contents always equal the
/// committed state and the file never exceeds the max size.
#[test]
fn no_space_mid_transaction_latches_it_and_later_transactions_go_on() {
    for ps in PAGE_SIZES {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.db");
        let max = 4u64 << 20;
        let opts = opts_ps(ps).max_size(max).unwrap();
        let db = Database::open_with_options(&path, opts.clone()).unwrap();
        let mut committed: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut rng = Rng::new(seed(0xADEE) ^ ps as u64);
        let mut saw_full = 0;
        for t in 0..60u32 {
            let mut tx = db.begin_write().unwrap();
            let mut pending = BTreeMap::new();
            let mut err = None;
            for i in 0..40u32 {
                let k = format!("t{t:03}-{i:03}").into_bytes();
                let v = rng.bytes(if i % 3 == 0 { 20_000 } else { 500 });
                match tx.put(&k, &v) {
                    Ok(()) => {
                        pending.insert(k, v);
                    }
                    Err(e) => {
                        err = Some(e);
                        break;
                    }
                }
            }
            match err {
                Some(e) => {
                    assert_eq!(e.kind(), ErrorKind::NoSpace, "{e}");
                    assert!(tx.is_failed());
                    // every later call repeats it
                    assert_eq!(tx.get(b"x").unwrap_err().kind(), ErrorKind::NoSpace);
                    assert_eq!(tx.put(b"x", b"y").unwrap_err().kind(), ErrorKind::NoSpace);
                    assert_eq!(tx.commit().unwrap_err().kind(), ErrorKind::NoSpace);
                    saw_full += 1;
                    // free space by deleting committed keys
                    let mut tx = db.begin_write().unwrap();
                    let victims: Vec<_> = committed.keys().take(committed.len() / 2).cloned().collect();
                    for k in &victims {
                        assert!(tx.delete(k).unwrap());
                    }
                    match tx.commit() {
                        Ok(()) => {
                            for k in &victims {
                                committed.remove(k);
                            }
                        }
                        Err(e) => assert_eq!(e.kind(), ErrorKind::NoSpace, "{e}"),
                    }
                }
                None => match tx.commit() {
                    Ok(()) => committed.extend(pending),
                    Err(e) => {
                        assert_eq!(e.kind(), ErrorKind::NoSpace, "commit: {e}");
                        saw_full += 1;
                    }
                },
            }
            db.check().unwrap();
            let r = db.begin_read().unwrap();
            let got: BTreeMap<Vec<u8>, Vec<u8>> =
                r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
            assert!(got == committed, "ps {ps}: contents differ after txn {t}");
        }
        assert!(saw_full > 0, "ps {ps}: never reached the max size");
        assert!(std::fs::metadata(&path).unwrap().len() <= max, "file beyond max size");
        db.close().unwrap();
        let db = Database::open_with_options(&path, opts).unwrap();
        db.check().unwrap();
        let r = db.begin_read().unwrap();
        assert_eq!(r.iter().count(), committed.len());
    }
}

/// Keys of the maximum size with values right at and just over the
/// threshold (one entry per leaf), at every page size, in the default
/// keyspace and in a bucket with a 255-byte name; one byte more is refused
/// without failing the transaction.
#[test]
fn max_size_keys_with_values_at_the_threshold_round_trip() {
    for ps in PAGE_SIZES {
        let threshold = (ps / 2).min(32768);
        for th in [2048u32.min(threshold), threshold] {
            let mut t = TestDb::new(opts_ps(ps).overflow_threshold(th).unwrap());
            let mk = t.db().max_key_size();
            assert_eq!(mk, (ps as usize - 32) / 4 - 12);
            let mut rng = Rng::new(seed(0xADEF) ^ ps as u64);
            let mut model = BTreeMap::new();
            let mut tx = t.db().begin_write().unwrap();
            let b = tx.create_bucket(None, &vec![0xAB; 255]).unwrap();
            for i in 0..300u32 {
                let mut k = rng.bytes(mk);
                k[..4].copy_from_slice(&i.to_be_bytes());
                let vlen = match i % 4 {
                    0 => th as usize,
                    1 => th as usize + 1,
                    2 => 0,
                    _ => rng.below(th as u64) as usize,
                };
                let v = rng.bytes(vlen);
                tx.put(&k, &v).unwrap();
                tx.put_in(&b, &k, &v).unwrap();
                model.insert(k, v);
            }
            // one byte more: KeyTooLarge, txn still usable
            let e = tx.put(&vec![1u8; mk + 1], b"v").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::KeyTooLarge);
            assert!(!tx.is_failed());
            let e = tx.create_bucket(None, &vec![1u8; 256]).unwrap_err();
            assert!(matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::KeyTooLarge), "{e}");
            tx.commit().unwrap();
            t.reopen();
            // delete half with a cursor, then random deletes
            let mut tx = t.db().begin_write().unwrap();
            let keys: Vec<_> = model.keys().cloned().collect();
            for (i, k) in keys.iter().enumerate() {
                if i % 2 == 0 {
                    assert!(tx.delete(k).unwrap());
                    model.remove(k);
                }
            }
            tx.commit().unwrap();
            t.reopen();
            let r = t.db().begin_read().unwrap();
            let got: Vec<_> = r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
            assert!(got == model.into_iter().collect::<Vec<_>>(), "ps {ps}");
        }
    }
}

/// Thousands of one-key transactions, a tenth of them dropped instead of
/// committed, with a reopen every 500: after each one the database holds
/// exactly the committed state, and the bucket sequence counts only the
/// committed calls.
#[test]
fn thousands_of_small_transactions_with_drops_and_reopens_match_a_model() {
    let s = seed(0xADF0);
    let _g = SeedGuard::new("small transactions", s);
    let mut rng = Rng::new(s);
    let mut t = TestDb::new(Options::new().sync_mode(SyncMode::None).unwrap());
    let mut committed: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    let mut sequence = 0;
    for i in 0..3000u32 {
        let mut model = committed.clone();
        let mut tx = t.db().begin_write().unwrap();
        let k = format!("k{}", rng.below(500)).into_bytes();
        if rng.chance(30) {
            assert_eq!(tx.delete(&k).unwrap(), model.remove(&k).is_some(), "txn {i}");
        } else {
            let n = if rng.chance(5) { 5000 } else { rng.below(200) as usize };
            let v = rng.bytes(n);
            tx.put(&k, &v).unwrap();
            model.insert(k, v);
        }
        let bumped = rng.chance(5);
        if bumped {
            let b = tx.create_bucket_if_missing(None, b"bk").unwrap();
            assert_eq!(tx.next_sequence(&b).unwrap(), sequence + 1, "txn {i}");
        }
        if rng.chance(10) {
            drop(tx);
        } else {
            tx.commit().unwrap();
            committed = model;
            sequence += bumped as u64;
        }
        if i % 500 == 499 {
            t.db().sync().unwrap();
            t.reopen();
        }
        let r = t.db().begin_read().unwrap();
        let got: BTreeMap<Vec<u8>, Vec<u8>> =
            r.iter().map(|x| x.map(|(k, v)| (k.to_vec(), v.to_vec())).unwrap()).collect();
        assert!(got == committed, "txn {i}: the database differs from the committed state");
    }
}

/// APPEND out of order and NO_OVERWRITE on an existing key (also with an
/// overflow value, which must not allocate) fail without writing anything
/// or failing the transaction; the empty key is invalid.
#[test]
fn put_flags_refuse_bad_appends_and_existing_keys_without_writing() {
    let t = TestDb::new(Options::new());
    let mut tx = t.db().begin_write().unwrap();
    // append into an empty keyspace, then equal key: invalid, nothing written
    tx.put_with(b"b", b"1", PutFlags::APPEND).unwrap();
    assert_eq!(tx.put_with(b"b", b"2", PutFlags::APPEND).unwrap_err().kind(), ErrorKind::InvalidArgument);
    assert_eq!(
        tx.put_with(b"a", b"2", PutFlags::APPEND | PutFlags::NO_OVERWRITE).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
    assert_eq!(tx.get(b"b").unwrap().unwrap(), b"1");
    assert_eq!(tx.put_with(b"b", b"3", PutFlags::NO_OVERWRITE).unwrap_err().kind(), ErrorKind::KeyExists);
    // overflow append many
    for i in 0..200u32 {
        tx.put_with(format!("c{i:05}").as_bytes(), &vec![i as u8; 3000], PutFlags::APPEND).unwrap();
    }
    // NO_OVERWRITE with an overflow value on an existing key: nothing allocated (check passes)
    assert_eq!(
        tx.put_with(b"c00000", &vec![0; 9000], PutFlags::NO_OVERWRITE).unwrap_err().kind(),
        ErrorKind::KeyExists
    );
    assert!(!tx.is_failed());
    // empty key
    assert_eq!(tx.put(b"", b"x").unwrap_err().kind(), ErrorKind::InvalidArgument);
    tx.commit().unwrap();
    t.db().check().unwrap();
}

/// Stats after reopen agree with check(): free pages and page count.
#[test]
fn stats_agree_with_check_after_churn_and_reopen() {
    let mut rng = Rng::new(seed(0xADF4));
    let mut t = TestDb::new(Options::new());
    for round in 0..30u32 {
        let mut tx = t.db().begin_write().unwrap();
        for _ in 0..50 {
            let k = format!("k{}", rng.below(400)).into_bytes();
            if rng.chance(40) {
                tx.delete(&k).unwrap();
            } else {
                let n = if rng.chance(10) { 9000 } else { rng.below(500) as usize };
                tx.put(&k, &rng.bytes(n)).unwrap();
            }
        }
        tx.commit().unwrap();
        if round % 10 == 9 {
            t.reopen();
            let st = t.db().stat().unwrap();
            let rep = t.db().check().unwrap();
            assert_eq!(st.page_count, rep.pages, "round {round}");
            assert_eq!(st.free_page_count + st.pending_page_count, rep.free_pages, "round {round}: {st:?} vs {rep:?}");
            assert_eq!(st.key_count, t.db().begin_read().unwrap().iter().count() as u64);
            assert_eq!(rep.reachable_pages + rep.free_pages + rep.freelist_pages + 2, rep.pages, "{rep:?}");
        }
    }
}

/// Reopening with a max size below the file's size, or not a multiple of
/// the page size: an error or a working database, never a crash or lost data.
#[test]
fn reopen_with_a_smaller_or_odd_max_size_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.db");
    let db = Database::open(&path).unwrap();
    let mut tx = db.begin_write().unwrap();
    for i in 0..2000u32 {
        tx.put(format!("k{i:05}").as_bytes(), &vec![i as u8; 1500]).unwrap();
    }
    tx.commit().unwrap();
    db.close().unwrap();
    let len = std::fs::metadata(&path).unwrap().len();
    for max in [1u64 << 20, (len / 2) | 1, len - 1, len + 1000, len + 4096 * 3 + 17] {
        let what = format!("max {max} (file {len})");
        match Database::open_with_options(&path, Options::new().max_size(max).unwrap()) {
            Err(e) => {
                assert!(
                    matches!(e.kind(), ErrorKind::NoSpace | ErrorKind::InvalidArgument | ErrorKind::Corrupted),
                    "{what}: {e}"
                );
            }
            Ok(db) => {
                let r = db.begin_read().unwrap();
                for i in 0..2000u32 {
                    match r.get(format!("k{i:05}").as_bytes()) {
                        Ok(Some(v)) => assert_eq!(v, &vec![i as u8; 1500][..], "{what}"),
                        Ok(None) => panic!("{what}: key lost"),
                        Err(e) => panic!("{what}: read {e}"),
                    }
                }
                drop(r);
                db.check().unwrap_or_else(|e| panic!("{what}: check {e}"));
                let mut tx = db.begin_write().unwrap();
                let mut r = Ok(());
                for i in 0..500u32 {
                    r = r.and_then(|_| tx.put(format!("n{i:05}").as_bytes(), &[1; 3000]));
                }
                match r.and_then(|_| tx.commit()) {
                    Ok(()) => {}
                    Err(e) => assert_eq!(e.kind(), ErrorKind::NoSpace, "{what}: {e}"),
                }
                db.check().unwrap();
                db.close().unwrap();
                // undo the writes for the next round
                let db = Database::open(&path).unwrap();
                let mut tx = db.begin_write().unwrap();
                for i in 0..500u32 {
                    tx.delete(format!("n{i:05}").as_bytes()).unwrap();
                }
                tx.commit().unwrap();
                db.close().unwrap();
            }
        }
        assert!(std::fs::metadata(&path).unwrap().len() >= len);
    }
}

/// One commit with more than 8 MiB of tree pages (the commit flushes its
/// page buffer part-way through a tree), with the smallest write buffer
/// (4 KiB, smaller than a 64 KiB page) and in buckets; then updates that
/// touch every leaf again.
#[test]
fn commits_many_times_larger_than_the_write_buffer_read_back() {
    for (ps, wb) in [(4096u32, 4096usize), (65536, 4096), (16384, 1 << 20)] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.db");
        let opts = opts_ps(ps).write_buffer_size(wb).unwrap();
        let db = Database::open_with_options(&path, opts.clone()).unwrap();
        let mut rng = Rng::new(seed(0xADF6) ^ ps as u64);
        let n = 120_000u32;
        let mut tx = db.begin_write().unwrap();
        let b = tx.create_bucket(None, b"bulk").unwrap();
        for i in 0..n {
            let k = format!("key-{:08}", (i as u64 * 2654435761 % n as u64)).into_bytes();
            tx.put(&k, &[(i % 251) as u8; 90]).unwrap();
            if i % 3 == 0 {
                tx.put_in(&b, &k, &[(i % 7) as u8; 40]).unwrap();
            }
            if i % 5000 == 0 {
                tx.put_in(&b, format!("big{i}").as_bytes(), &rng.bytes(50_000)).unwrap();
            }
        }
        tx.commit().unwrap();
        db.check().unwrap();
        // rewrite every value: every leaf copied again in one commit
        let mut tx = db.begin_write().unwrap();
        for i in 0..n {
            let k = format!("key-{:08}", i).into_bytes();
            tx.put(&k, &[(i % 13) as u8; 95]).unwrap();
        }
        tx.commit().unwrap();
        db.close().unwrap();
        let db = Database::open_with_options(&path, opts).unwrap();
        let rep = db.check().unwrap();
        assert_eq!(rep.keys, n as u64 + (n as u64).div_ceil(3) + (n as u64).div_ceil(5000));
        let r = db.begin_read().unwrap();
        for i in (0..n).step_by(97) {
            let k = format!("key-{:08}", i).into_bytes();
            assert_eq!(r.get(&k).unwrap().unwrap(), &[(i % 13) as u8; 95][..], "ps {ps}");
        }
        assert_eq!(r.iter().count(), n as usize);
    }
}
