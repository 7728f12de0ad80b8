//! Young pages (`alloc::Horizon`) against a snapshot that becomes durable
//! after the transaction that freed them began. A page a transaction
//! copies is freed young when it was written after the persisted meta the
//! transaction saw at its start: it waits only for readers and for that
//! commit being published. With a log, a commit lands (the next writer
//! builds on it) before it is published, so the next writer can start from
//! an older persisted meta, and the landed commit, once published, can be
//! the very snapshot a checkpoint makes durable. Its pages, freed young by
//! the next writer, must then wait for the checkpoint after, or a process
//! crash recovers from a durable tree whose pages were written over.

use crate::options::Options;
use crate::tests::support::copy_as_killed;
use crate::Database;

fn key(i: u32) -> Vec<u8> {
    format!("key{i:04}").into_bytes()
}

/// T1 lands with its freelist written; T2 builds on it and lands; then
/// `early`: a checkpoint while T2 waits for its log sync makes T1 durable
/// at once; or (not `early`) T1 stays the persisted meta, only a
/// checkpoint picks it later (while another commit waits for its sync),
/// after rounds of commits took whatever pages were free. Then a process
/// crash: recovery reads T1's tree and replays the log on it.
fn checkpointed_snapshot_survives_young_reuse(early: bool) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("young.db");
    let db = Database::open_with_options(&path, Options::new().wal(true)).unwrap();
    let mut tx = db.begin_write().unwrap();
    for i in 0..500 {
        tx.put(&key(i), &[1u8; 200]).unwrap();
    }
    tx.commit().unwrap();
    db.checkpoint().unwrap();

    // T1 writes its freelist (so, once published, it is the persisted
    // meta a checkpoint picks) and lands, not yet published.
    let mut t1 = db.begin_write().unwrap();
    t1.put(&key(1), b"t1").unwrap();
    t1.fl.force_compact = true;
    let t1_txid = t1.txid;
    let publish1 = t1.commit_until_landed().unwrap();
    // T2 builds on T1 from the older persisted meta: T1's pages on the path
    // to key 1 are young to it.
    let mut t2 = db.begin_write().unwrap();
    t2.put(&key(1), b"t2").unwrap();
    publish1().unwrap();
    let publish2 = t2.commit_until_landed().unwrap();
    // T2 waits for its log sync: a checkpoint now picks T1.
    if early {
        db.checkpoint().unwrap();
        assert_eq!(db.env.durability.durable_txid(), t1_txid);
    }
    publish2().unwrap();
    // Commits that take whatever pages are free; the last one lands only,
    // and a checkpoint while it waits picks the persisted meta, T1.
    let rounds = 20u32;
    for round in 0..rounds {
        let mut tx = db.begin_write().unwrap();
        for i in (round % 5..500).step_by(5) {
            tx.put(&key(i), &[round as u8 + 2; 200]).unwrap();
        }
        if round + 1 < rounds {
            tx.commit().unwrap();
            continue;
        }
        let publish = tx.commit_until_landed().unwrap();
        if !early {
            assert_eq!(db.env.current_and_horizon().1.persisted, t1_txid, "a round wrote its freelist");
            db.checkpoint().unwrap();
            assert_eq!(db.env.durability.durable_txid(), t1_txid);
        }
        publish().unwrap();
    }

    let copy = dir.path().join("killed.db");
    copy_as_killed(&path, &copy);
    drop(db);
    // Recovery reads T1's tree and replays T2 and the rounds on it.
    let db = Database::open_with_options(&copy, Options::new().wal(true))
        .unwrap_or_else(|e| panic!("recovery from the checkpointed snapshot failed: {e}"));
    db.check().unwrap();
    let r = db.begin_read().unwrap();
    for i in 0..500 {
        let last = (0..rounds).rev().find(|round| i >= round % 5 && (i - round % 5) % 5 == 0);
        let want = match last {
            Some(round) => vec![round as u8 + 2; 200],
            None if i == 1 => b"t2".to_vec(),
            None => vec![1u8; 200],
        };
        assert_eq!(r.get(&key(i)).unwrap(), Some(&want[..]), "key {i}");
    }
}

#[test]
fn a_snapshot_checkpointed_while_the_next_commit_waits_keeps_its_young_pages() {
    checkpointed_snapshot_survives_young_reuse(true);
}

#[test]
fn the_persisted_snapshot_keeps_its_young_pages_for_a_later_checkpoint() {
    checkpointed_snapshot_survives_young_reuse(false);
}
