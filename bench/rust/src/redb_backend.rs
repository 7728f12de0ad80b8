//! redb (crates.io), one table "kv", default settings. Variants: durable
//! (Durability::Immediate, the default), nosync (Durability::None; sync
//! commits an empty transaction with Immediate).

use crate::backend::{Backend, ReadTxn, WriteTxn};
use redb::{Database, Durability, ReadOnlyTable, ReadableDatabase, ReadableTable, Table, TableDefinition};
use std::path::Path;

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

pub struct Redb {
    db: Database,
    durability: Durability,
}

pub fn open(dir: &Path, variant: &str) -> Redb {
    let durability = match variant {
        "durable" => Durability::Immediate,
        "nosync" => Durability::None,
        _ => panic!("unknown variant {variant}"),
    };
    let db = Database::create(dir.join("redb.db")).expect("open");
    let redb = Redb { db, durability };
    redb.commit_with(Durability::Immediate, &mut |_| {});
    redb
}

impl Redb {
    fn commit_with(&self, durability: Durability, f: &mut dyn FnMut(&mut dyn WriteTxn)) {
        let mut tx = self.db.begin_write().expect("begin_write");
        tx.set_durability(durability).expect("set_durability");
        {
            let mut table = RedbWrite(tx.open_table(TABLE).expect("open_table"));
            f(&mut table);
        }
        tx.commit().expect("commit");
    }
}

impl Backend for Redb {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTxn)) {
        let tx = self.db.begin_read().expect("begin_read");
        f(&RedbRead(tx.open_table(TABLE).expect("open_table")));
    }
    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTxn)) {
        self.commit_with(self.durability, f);
    }
    fn sync(&self) {
        self.commit_with(Durability::Immediate, &mut |_| {});
    }
}

struct RedbRead(ReadOnlyTable<&'static [u8], &'static [u8]>);
struct RedbWrite<'t>(Table<'t, &'static [u8], &'static [u8]>);

fn get<T: ReadableTable<&'static [u8], &'static [u8]>>(t: &T, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
    match t.get(key).expect("get") {
        Some(v) => {
            f(v.value());
            true
        }
        None => false,
    }
}

impl ReadTxn for RedbRead {
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        get(&self.0, key, f)
    }
    fn range(&self, start: &[u8], limit: u64, f: &mut dyn FnMut(&[u8], &[u8])) -> u64 {
        let mut got = 0;
        let items = self.0.range(start..).expect("range");
        for item in items.take(usize::try_from(limit).unwrap_or(usize::MAX)) {
            let (k, v) = item.expect("range next");
            f(k.value(), v.value());
            got += 1;
        }
        got
    }
}

impl WriteTxn for RedbWrite<'_> {
    fn put(&mut self, key: &[u8], val: &[u8]) {
        self.0.insert(key, val).expect("insert");
    }
    fn get(&mut self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        get(&self.0, key, f)
    }
    fn del(&mut self, key: &[u8]) {
        self.0.remove(key).expect("remove");
    }
}
