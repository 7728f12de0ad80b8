//! Damage fuzzing, differential: one or two header or body fields of a
//! page or meta changed and the checksum resealed; a file that `check()`
//! passes must then read whole, take writes, and compact to the same
//! contents, and nothing may panic or hang. Also compaction's edge cases
//! and the damage compaction used to loop on (a bucket cycle).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use crate::alloc::{select_meta, Meta, Selected};
use crate::error::Result;
use crate::options::Options;
use crate::storage::seal;
use crate::tests::support::Rng;
use crate::txn::{Bucket, ReadTx};
use crate::{collect_owned, Database};

type Dump = Vec<(Vec<u8>, Vec<u8>, Vec<u8>)>;

fn dump(tx: &ReadTx, parent: Option<&Bucket>, path: &[u8], out: &mut Dump) -> Result<()> {
    let items = match parent {
        None => collect_owned(tx.iter())?,
        Some(b) => collect_owned(tx.iter_in(b))?,
    };
    out.extend(items.into_iter().map(|(k, v)| (path.to_vec(), k, v)));
    for name in tx.bucket_names(parent)? {
        let b = tx.bucket(parent, &name)?.ok_or(crate::Error::Internal("gone".into()))?;
        let seq = match b.at {
            crate::txn::BucketAt::Record(r) => r.sequence,
            _ => 0,
        };
        out.push((path.to_vec(), name.clone(), format!("<bucket {seq}>").into_bytes()));
        dump(tx, Some(&b), &[path, b"/", &name].concat(), out)?;
    }
    Ok(())
}

fn dump_db(db: &Database) -> Result<Dump> {
    let tx = db.begin_read()?;
    let mut out = Vec::new();
    dump(&tx, None, b"", &mut out)?;
    Ok(out)
}

pub(crate) fn newest_meta(img: &[u8]) -> (Meta, u64) {
    match select_meta(|off, len| Ok::<_, ()>(img.get(off as usize..off as usize + len).map(<[u8]>::to_vec))) {
        Ok(Selected::Meta(m, slot)) => (m, slot),
        other => panic!("no meta: {other:?}"),
    }
}

pub(crate) fn build(path: &Path, ps: u32) {
    let db = Database::open_with_options(path, Options::new().page_size(ps).unwrap()).unwrap();
    for round in 0..6u32 {
        let mut tx = db.begin_write().unwrap();
        let b = match tx.bucket(None, b"bk").unwrap() {
            Some(b) => b,
            None => tx.create_bucket(None, b"bk").unwrap(),
        };
        tx.next_sequence(&b).unwrap();
        let nb = match tx.bucket(Some(&b), b"nested").unwrap() {
            Some(b) => b,
            None => tx.create_bucket(Some(&b), b"nested").unwrap(),
        };
        if round == 0 {
            tx.create_bucket(None, b"empty").unwrap();
        }
        for i in 0..120u32 {
            tx.put(format!("k{round}-{i:04}").as_bytes(), &[round as u8; 60]).unwrap();
            tx.put_in(&b, format!("b{i:04}").as_bytes(), &vec![round as u8; (i as usize * 97) % 9000]).unwrap();
            if i % 10 == 0 {
                tx.put_in(&nb, format!("n{round}{i:04}").as_bytes(), &[7u8; 3000]).unwrap();
            }
        }
        for i in (0..120u32).step_by(3) {
            if round > 0 {
                tx.delete(format!("k{}-{i:04}", round - 1).as_bytes()).unwrap();
            }
        }
        tx.commit().unwrap();
    }
    db.close().unwrap();
}

#[derive(Debug)]
enum Outcome {
    OpenErr,
    CheckErr,
    Ok,
}

fn exercise(path: &Path, dir: &Path, iter: u64, want: &Dump) -> Outcome {
    let db = match Database::open(path) {
        Ok(db) => db,
        Err(_) => return Outcome::OpenErr,
    };
    if db.check().is_err() {
        // Still must not panic: read everything, write something.
        let _ = dump_db(&db);
        if let Ok(mut tx) = db.begin_write() {
            let _ = tx.put(b"zz", &[1u8; 5000]);
            let _ = tx.commit();
        }
        let _ = db.compact(dir.join(format!("c-bad-{iter}.db")));
        return Outcome::CheckErr;
    }
    let got = dump_db(&db);
    match &got {
        Err(e) => panic!("iter {iter}: check() passed but reading failed: {e}"),
        Ok(g) => {
            if g != want {
                eprintln!(
                    "iter {iter}: check() passed, contents differ from original ({} vs {} items)",
                    g.len(),
                    want.len()
                );
            }
        }
    }
    let got = got.unwrap();
    let dest = dir.join(format!("c-{iter}.db"));
    db.compact(&dest).unwrap_or_else(|e| panic!("iter {iter}: check() passed but compaction failed: {e}"));
    {
        let c = Database::open(&dest).unwrap();
        c.check().unwrap_or_else(|e| panic!("iter {iter}: compacted copy fails check: {e}"));
        assert_eq!(dump_db(&c).unwrap(), got, "iter {iter}: compacted copy differs");
    }
    std::fs::remove_file(&dest).unwrap();
    for round in 0..3 {
        let mut tx = db.begin_write().unwrap();
        for i in 0..50u32 {
            tx.put(format!("w{round}-{i}").as_bytes(), &vec![3u8; (i as usize * 331) % 7000])
                .unwrap_or_else(|e| panic!("iter {iter}: check() passed but put failed: {e}"));
            let _ = tx.delete(format!("k5-{:04}", i * 2 + round).as_bytes());
        }
        tx.commit().unwrap_or_else(|e| panic!("iter {iter}: check() passed but commit failed: {e}"));
        db.check().unwrap_or_else(|e| panic!("iter {iter}: check() passed, then after a commit fails: {e}"));
    }
    db.close().unwrap();
    let db = Database::open(path).unwrap();
    db.check().unwrap_or_else(|e| panic!("iter {iter}: after reopen check fails: {e}"));
    Outcome::Ok
}

fn mutate(img: &mut [u8], m: &Meta, rng: &mut Rng) -> String {
    let ps = m.page_size as usize;
    let pc = m.page_count;
    let page = if rng.chance(10) { rng.below(2) } else { rng.range(2, pc) };
    let buf = &mut img[page as usize * ps..][..ps];
    let ty = buf[4];
    // A field: header fields or an 8-aligned offset in the used area.
    let small = |rng: &mut Rng| match rng.below(6) {
        0 => rng.below(pc + 3),
        1 => 0,
        2 => 1,
        3 => pc,
        4 => rng.below(5),
        _ => rng.next(),
    };
    let what = match rng.below(5) {
        0 => {
            let (off, w) = *rng.pick(&[(6usize, 2usize), (8, 8), (24, 4), (28, 4), (5, 1), (4, 1)]);
            let v = small(rng);
            buf[off..off + w].copy_from_slice(&v.to_le_bytes()[..w]);
            format!("page {page} type {ty} header off {off} = {v}")
        }
        _ => {
            let used = if page < 2 { 144 } else { ps };
            let off = rng.range(32, used as u64 - 8) as usize;
            let w = *rng.pick(&[1usize, 2, 4, 8]);
            let v = small(rng);
            buf[off..off + w].copy_from_slice(&v.to_le_bytes()[..w]);
            format!("page {page} type {ty} off {off} w {w} = {v}")
        }
    };
    // Reseal (an overflow run's header-only checksum, a snapshot run's whole run: approximate).
    if buf[4] == 5 {
        let n = (u32::from_le_bytes(buf[24..28].try_into().unwrap()) as usize + 1).min(pc as usize - page as usize);
        let start = page as usize * ps;
        seal(&mut img[start..start + n * ps]);
    } else {
        seal(buf);
    }
    what
}

fn run(ps: u32, iters: u64, salt: u64) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.db");
    build(&base, ps);
    let clean = std::fs::read(&base).unwrap();
    let want = dump_db(&Database::open(&base).unwrap()).unwrap();
    let m0 = newest_meta(&clean).0;
    let mut rng = Rng::new(crate::tests::support::test_seed(salt));
    let mut stats = [0u32; 3];
    let path = dir.path().join("f.db");
    for iter in 0..iters {
        let mut img = clean.clone();
        let n = 1 + rng.below(2);
        let mut whats = Vec::new();
        for _ in 0..n {
            whats.push(mutate(&mut img, &m0, &mut rng));
        }
        std::fs::write(&path, &img).unwrap();
        let r = catch_unwind(AssertUnwindSafe(|| exercise(&path, dir.path(), iter, &want)));
        match r {
            Ok(o) => {
                stats[match o {
                    Outcome::OpenErr => 0,
                    Outcome::CheckErr => 1,
                    Outcome::Ok => 2,
                }] += 1
            }
            Err(_) => panic!("iter {iter} ps {ps}: panicked after mutations {whats:?}"),
        }
    }
    eprintln!("ps {ps}: open err {} check err {} ok {}", stats[0], stats[1], stats[2]);
}

#[test]
fn fuzz_4k() {
    run(4096, std::env::var("FUZZ_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(300), 1);
}

#[test]
fn fuzz_16k() {
    run(16384, std::env::var("FUZZ_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(300), 2);
}

#[test]
fn compact_edges_every_page_size() {
    for ps in crate::alloc::PAGE_SIZES {
        for empty in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let src = dir.path().join("s.db");
            let db = Database::open_with_options(&src, Options::new().page_size(ps).unwrap()).unwrap();
            let mk = db.max_key_size();
            if !empty {
                let mut tx = db.begin_write().unwrap();
                let thr = 2048usize.min(ps as usize / 2);
                let mut parent = None;
                for d in 0..20u8 {
                    let b = tx.create_bucket(parent.as_ref(), &vec![b'x'; 255]).unwrap();
                    for _ in 0..d {
                        tx.next_sequence(&b).unwrap();
                    }
                    tx.create_bucket(parent.as_ref(), &[b'e', d]).unwrap();
                    for (i, len) in
                        [0usize, 1, thr - 1, thr, thr + 1, ps as usize, 3 * ps as usize + 7, 1 << 20].iter().enumerate()
                    {
                        let mut k = vec![b'k'; mk];
                        k[mk - 1] = i as u8;
                        match &parent {
                            None => tx.put(&k, &vec![d; *len]).unwrap(),
                            Some(p) => tx.put_in(p, &k, &vec![d; *len]).unwrap(),
                        }
                        let k2 = vec![i as u8 + 1; 1];
                        match &parent {
                            None => tx.put(&k2, &vec![d; *len]).unwrap(),
                            Some(p) => tx.put_in(p, &k2, &vec![d; *len]).unwrap(),
                        }
                    }
                    // a key with the same name as a child bucket
                    match &parent {
                        None => tx.put(&vec![b'x'; 255], b"same").unwrap(),
                        Some(p) => tx.put_in(p, &vec![b'x'; 255], b"same").unwrap(),
                    }
                    parent = Some(b);
                }
                tx.commit().unwrap();
            }
            let want = dump_db(&db).unwrap();
            let dest = dir.path().join("d.db");
            let len = db.compact(&dest).unwrap();
            assert_eq!(std::fs::metadata(&dest).unwrap().len(), len);
            let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(names.len(), 2, "{names:?}");
            let c = Database::open(&dest).unwrap();
            assert_eq!(c.page_size(), ps as usize);
            c.check().unwrap();
            assert_eq!(dump_db(&c).unwrap(), want, "ps {ps}");
            // small batches
            let dest2 = dir.path().join("d2.db");
            let t = Database::open_with_options(&dest2, Options::new().page_size(ps).unwrap()).unwrap();
            let r = db.begin_read().unwrap();
            crate::copy::copy_trees(&r, || t.begin_write(), 300).unwrap();
            t.check().unwrap();
            assert_eq!(dump_db(&t).unwrap(), want, "ps {ps} small batches");
        }
    }
}

#[test]
fn compact_a_full_database() {
    for vlen in [10usize, 100, 2000, 4000, 5000] {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("s.db");
        let db = Database::open_with_options(&src, Options::new().max_size(1 << 20).unwrap()).unwrap();
        let mut i = 0u32;
        'outer: loop {
            let mut tx = db.begin_write().unwrap();
            for _ in 0..10 {
                if tx.put(format!("{i:08}").as_bytes(), &vec![1u8; vlen]).is_err() {
                    break 'outer;
                }
                i += 1;
            }
            if tx.commit().is_err() {
                break;
            }
        }
        let st = db.stat().unwrap();
        eprintln!("vlen {vlen}: {i} keys, {} pages, {} free", st.page_count, st.free_page_count);
        let r = db.compact(dir.path().join("d.db"));
        eprintln!("  compact: {:?}", r.as_ref().map_err(|e| e.to_string()));
        r.unwrap();
    }
}

/// A catalog entry whose name is longer than any bucket name the API
/// accepts (255 bytes): the writer never makes one, a damaged or foreign
/// file can. check() must not pass a file that compaction then refuses.
#[test]
fn a_bucket_name_over_255_bytes_fails_check() {
    use crate::tree::{BucketRecord, Value};
    use crate::txn::Tree;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long-name.db");
    let db = Database::open(&path).unwrap();
    let mut tx = db.begin_write().unwrap();
    tx.put(b"a", b"1").unwrap();
    let name = vec![b'n'; 300];
    let rec = BucketRecord::default();
    tx.with_tree(0, Tree::Children, |t, root| t.put(root, &name, Value::Inline(&rec.encode()))).unwrap();
    tx.bucket_count += 1;
    tx.touch(0);
    tx.commit().unwrap();
    let report = db.check();
    let compact = db.compact(dir.path().join("copy.db"));
    eprintln!("check: {report:?}\ncompact: {compact:?}");
    assert!(
        report.is_err() || compact.is_ok(),
        "check() passed a file that compaction refuses: {}",
        compact.unwrap_err()
    );
}

#[test]
fn fragmented_freelist_reopen() {
    for mode in
        [crate::SyncMode::Full, crate::SyncMode::Batched(std::time::Duration::from_millis(5)), crate::SyncMode::None]
    {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frag.db");
        let mut rng = Rng::new(7);
        let mut model = std::collections::BTreeMap::new();
        for round in 0..40u32 {
            let db = Database::open_with_options(&path, Options::new().sync_mode(mode).unwrap()).unwrap();
            for _ in 0..5 {
                let mut tx = db.begin_write().unwrap();
                for _ in 0..200 {
                    let k = rng.below(3000) as u32;
                    if rng.chance(40) {
                        tx.delete(&k.to_be_bytes()).unwrap();
                        model.remove(&k);
                    } else {
                        let len = if rng.chance(50) { rng.below(200) } else { rng.range(2049, 20000) } as usize;
                        let v = vec![(k ^ round) as u8; len];
                        tx.put(&k.to_be_bytes(), &v).unwrap();
                        model.insert(k, v);
                    }
                }
                tx.commit().unwrap();
                db.check().unwrap_or_else(|e| panic!("{mode:?} round {round}: {e}"));
            }
            let keep = rng.chance(50);
            let r = db.begin_read().unwrap();
            if keep {
                // a reader open across a commit
                let mut tx = db.begin_write().unwrap();
                for k in 0..50u32 {
                    tx.delete(&k.to_be_bytes()).unwrap();
                    model.remove(&k);
                }
                tx.commit().unwrap();
            }
            drop(r);
            db.close().unwrap();
            let db = Database::open(&path).unwrap();
            let rep = db.check().unwrap_or_else(|e| panic!("{mode:?} reopen {round}: {e}"));
            let tx = db.begin_read().unwrap();
            let all = collect_owned(tx.iter()).unwrap();
            assert_eq!(all.len(), model.len());
            for (k, v) in &all {
                assert_eq!(model.get(&u32::from_be_bytes(k[..4].try_into().unwrap())), Some(v));
            }
            if round == 39 {
                eprintln!("{mode:?}: {rep:?}");
            }
            drop(tx);
            db.close().unwrap();
        }
    }
}

/// Builds the fixture's database in `dir` and makes the record of
/// `bk/nested` name `bk`'s own catalog page as its catalog root (resealed):
/// a cycle in the bucket hierarchy. Returns the file's path.
fn bucket_cycle(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("cycle.db");
    build(&path, 4096);
    let (ps, p) = {
        let db = Database::open(&path).unwrap();
        let tx = db.begin_read().unwrap();
        let bk = tx.bucket(None, b"bk").unwrap().unwrap();
        let rec = match bk.at {
            crate::txn::BucketAt::Record(r) => r,
            _ => unreachable!(),
        };
        assert_eq!(rec.children.count, 1);
        (db.page_size(), rec.children.root.0 as usize)
    };
    let mut img = std::fs::read(&path).unwrap();
    let page = &mut img[p * ps..][..ps];
    let at = page.windows(6).position(|w| w == b"nested").expect("the catalog leaf holds `nested`") + 6;
    page[at + 16..at + 24].copy_from_slice(&(p as u64).to_le_bytes());
    page[at + 24..at + 32].copy_from_slice(&1u64.to_le_bytes());
    seal(page);
    std::fs::write(&path, &img).unwrap();
    path
}

/// A nested bucket record whose catalog root is its parent's catalog page:
/// a cycle in the bucket hierarchy (each page is still reached from one
/// place per lap). check() reports it (page used twice); compaction walks
/// the buckets depth first with no memory of where it has been, so it must
/// not descend forever.
#[test]
fn bucket_cycle_compaction_terminates() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(bucket_cycle(dir.path())).unwrap();
    let e = db.check().expect_err("check() of a bucket cycle");
    eprintln!("check: {e}");
    let dest = dir.path().join("copy.db");
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let db2 = db.clone();
    let d2 = dest.clone();
    std::thread::spawn(move || {
        let r = db2.compact(&d2).map_err(|e| e.to_string());
        let _ = done_tx.send(r);
    });
    match done_rx.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(r) => {
            eprintln!("compact: {r:?}");
            assert!(r.is_err(), "compaction of a bucket cycle succeeded");
            assert!(!dest.exists() && std::fs::read_dir(dir.path()).unwrap().count() == 1, "no copy left behind");
        }
        Err(_) => {
            let temps: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (e.file_name(), e.metadata().unwrap().len())
                })
                .collect();
            panic!("compaction still running after 20 s on a bucket cycle; files: {temps:?}");
        }
    }
}

#[test]
fn bucket_cycle_delete_terminates() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::open(bucket_cycle(dir.path())).unwrap();
    let mut tx = db.begin_write().unwrap();
    let r = tx.delete_bucket(None, b"bk");
    eprintln!("delete_bucket: {r:?}");
    let r2 = r.and_then(|()| tx.commit());
    eprintln!("commit: {r2:?}");
    assert!(r2.is_err());
}
