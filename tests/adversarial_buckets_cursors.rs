//! Adversarial tests of buckets and cursors: 50 levels of nesting,
//! thousands of buckets whose names are also keys, buckets deleted under
//! open cursors and child handles or in the transaction that made them,
//! cursors deleting while they walk, cursors resumed after puts and deletes
//! around them, and seeks, ranges and prefixes over 0x00/0xFF keys and
//! empty, equal and reversed bounds, checked against a model.
//!
//! Every random choice comes from a seed (`THUNDER_TEST_SEED` overrides the
//! defaults).

mod common;

use std::collections::BTreeMap;
use std::ops::Bound;

use common::adversarial::{opts_ps, rbytes};
use common::{seed, Rng, SeedGuard, TestDb, PAGE_SIZES};
use thunder::{Bucket, ErrorKind, Options, ReadTx};

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
    prefixes_and_ranges_over_00_and_ff_keys(&r, &keys);
    double_ended_iteration_meets_in_the_middle(&r, &keys);
    seeks_and_moves_past_either_end(&r);
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

/// The keys an iterator yields, in its order.
fn all<'a>(it: impl Iterator<Item = thunder::Result<(&'a [u8], &'a [u8])>>) -> Vec<Vec<u8>> {
    it.map(|x| x.unwrap().0.to_vec()).collect()
}

/// Prefixes (empty, all 0xFF) both ways, and ranges with empty, equal and
/// reversed bounds, over the `keys` the reader `r` holds.
fn prefixes_and_ranges_over_00_and_ff_keys(r: &ReadTx, keys: &[Vec<u8>]) {
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
}

/// Alternate `next` and `next_back` until they meet: together they give
/// every key once, in order.
fn double_ended_iteration_meets_in_the_middle(r: &ReadTx, keys: &[Vec<u8>]) {
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
}

/// Seeks between keys, after all, before all and empty, moves past either
/// end, and a seek or get longer than the maximum key.
fn seeks_and_moves_past_either_end(r: &ReadTx) {
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
        let want = model_range(&model, &lo, &hi);
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

/// The model's keys between `lo` and `hi`, in order: none when the bounds
/// are reversed (`BTreeMap::range` panics on lo > hi; the model filters
/// instead).
fn model_range(model: &BTreeMap<Vec<u8>, Vec<u8>>, lo: &Bound<Vec<u8>>, hi: &Bound<Vec<u8>>) -> Vec<Vec<u8>> {
    use Bound::*;
    model
        .keys()
        .filter(|k| match lo {
            Unbounded => true,
            Included(x) => *k >= x,
            Excluded(x) => *k > x,
        })
        .filter(|k| match hi {
            Unbounded => true,
            Included(x) => *k <= x,
            Excluded(x) => *k < x,
        })
        .cloned()
        .collect()
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
