//! A torn meta write falls back to the other meta.
//!
//! `FaultIo` tears writes at sector boundaries, and a meta's fields all sit
//! in its first sector, so its crash images never hold a meta that is
//! half old, half new. Disks that do not write a sector atomically can, so
//! this test builds such files by hand: T's data pages all on disk, its meta
//! slot holding part of the new meta and part of what was there before (the
//! meta before S0's). Open must find the slot invalid (the checksum covers
//! the whole page) and open S0 from the other slot; the file must pass
//! `check` (which reports the torn slot as the damaged spare) and take new
//! commits. Both slots damaged is `Corrupted`, and so is damage to the
//! durable meta that `check` reads back while the database is open.

use crate::alloc::{Meta, MetaRead};
use crate::error::ErrorKind;
use crate::options::SyncMode;
use crate::tests::support::{test_seed, Guard};
use crate::tests::workload::{diff, run_txn, Fixture};
use crate::Database;

/// The file after T committed under `Full`, and the slot T's meta went to.
fn after_t(fx: &Fixture) -> (Vec<u8>, usize) {
    fx.restore();
    let db = Database::open_with_options(&fx.path, fx.opts(SyncMode::Full)).unwrap();
    run_txn(&db, &fx.t).expect("T");
    db.close().unwrap();
    let file = std::fs::read(&fx.path).unwrap();
    let ps = fx.page_size as usize;
    let txid = |slot: usize| match Meta::decode(&file[slot * ps..][..ps], slot as u64) {
        MetaRead::Valid(m) => m.txid.0,
        other => panic!("meta {slot} after T: {other:?}"),
    };
    let slot = if txid(0) > txid(1) { 0 } else { 1 };
    (file, slot)
}

fn torn_meta_falls_back(page_size: u32, salt: u64) {
    let seed = test_seed(salt);
    let _g = Guard::new(format!("torn meta, {page_size}-byte pages, seed {seed}"));
    let fx = Fixture::new(page_size, seed);
    let ps = page_size as usize;
    let (file, slot) = after_t(&fx);
    let range = slot * ps..(slot + 1) * ps;
    let new = file[range.clone()].to_vec();
    let old = fx.s0_bytes[range.clone()].to_vec();
    assert_ne!(new[..144], old[..144]);

    let mut cases: Vec<(String, Vec<u8>)> = Vec::new();
    // The new meta's first `j` bytes landed, the rest is the old slot.
    for j in [1, 4, 5, 16, 24, 32, 40, 56, 96, 100, 120, 136, 143, 144, 512] {
        let mut m = old.clone();
        m[..j].copy_from_slice(&new[..j]);
        cases.push((format!("first {j} bytes of the new meta"), m));
    }
    // Only the later sectors landed.
    let mut m = new.clone();
    m[..512].copy_from_slice(&old[..512]);
    cases.push(("new meta without its first sector".into(), m));
    // A bit flipped where the meta holds only zeros.
    let mut m = new.clone();
    m[ps - 1] ^= 0x40;
    cases.push(("new meta with a bit flipped in its last byte".into(), m));
    cases.push(("zeroed slot".into(), vec![0; ps]));

    let mut fell_back = 0;
    for (what, m) in cases {
        let _g = Guard::new(format!("meta slot {slot} holds the {what}"));
        // Only a slot that holds exactly the new meta may open as S1.
        let (want, name) = if m == new { (&fx.s1, "S1") } else { (&fx.s0, "S0") };
        let mut img = file.clone();
        img[range.clone()].copy_from_slice(&m);
        let (got, report) = fx.recover_checked(&img);
        assert!(got == *want, "{what}: not {name}: {}", diff(&got, want));
        // check reports a torn slot until the next commit rewrites it
        let torn = !matches!(Meta::decode(&m, slot as u64), MetaRead::Valid(_));
        assert_eq!(report.spare_meta_damaged, torn, "{what}: spare meta damage reported");
        fell_back += usize::from(name == "S0");
    }
    assert!(fell_back >= 10, "too few torn cases fell back ({fell_back})");

    // Both slots damaged: nothing to fall back to.
    let mut img = file.clone();
    img[range].copy_from_slice(&old);
    let other = (1 - slot) * ps;
    img[other + 20] ^= 1;
    img[slot * ps + 20] ^= 1;
    std::fs::write(&fx.path, &img).unwrap();
    let Err(e) = Database::open_with_options(&fx.path, fx.opts(SyncMode::Full)) else {
        panic!("opened a file with both metas damaged")
    };
    assert_eq!(e.kind(), ErrorKind::Corrupted, "{e}");
}

#[test]
fn torn_meta_falls_back_4k() {
    torn_meta_falls_back(4096, 21);
}

#[test]
fn torn_meta_falls_back_64k() {
    torn_meta_falls_back(65536, 22);
}

/// `check` reads the meta pages back from the file: damage to the durable
/// one, which open verified long ago, is `Corrupted` naming the page; damage
/// to the spare one is reported and cleared by the next commit.
#[test]
fn check_reads_the_meta_pages_back() {
    use std::os::unix::fs::FileExt;
    for page_size in [4096u32, 65536] {
        let _g = Guard::new(format!("{page_size}-byte pages"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("metas.db");
        let opts = crate::Options::new().page_size(page_size).unwrap();
        let db = Database::open_with_options(&path, opts).unwrap();
        for i in 0..3u8 {
            let mut w = db.begin_write().unwrap();
            w.put(&[i], b"v").unwrap();
            w.commit().unwrap();
        }
        let report = db.check().unwrap();
        assert!(!report.spare_meta_damaged);
        // txid 3 is durable in one slot, txid 2 in the other
        let ps = page_size as u64;
        let file = std::fs::OpenOptions::new().read(true).write(true).open(&path).unwrap();
        let mut page = vec![0u8; page_size as usize];
        let txid_in = |slot: u64, page: &mut Vec<u8>| {
            file.read_exact_at(page, slot * ps).unwrap();
            match Meta::decode(page, slot) {
                MetaRead::Valid(m) => m.txid.0,
                other => panic!("slot {slot}: {other:?}"),
            }
        };
        let durable = if txid_in(0, &mut page) == 3 { 0 } else { 1 };
        assert_eq!(txid_in(1 - durable, &mut page), 2);

        file.write_all_at(&[0xee], (1 - durable) * ps + 200).unwrap();
        assert!(db.check().unwrap().spare_meta_damaged, "spare meta damage not reported");
        let mut w = db.begin_write().unwrap();
        w.put(b"next", b"v").unwrap();
        w.commit().unwrap();
        assert!(!db.check().unwrap().spare_meta_damaged, "the commit did not rewrite the spare slot");

        // the commit made the other slot durable; damage that one
        let durable = 1 - durable;
        file.read_exact_at(&mut page, durable * ps).unwrap();
        file.write_all_at(&[page[300] ^ 1], durable * ps + 300).unwrap();
        let e = db.check().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupted, "{e}");
        assert!(e.to_string().contains(&format!("meta page {durable}")), "{e}");
        drop(db);
    }
}
