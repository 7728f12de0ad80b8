//! libmdbx through the `libmdbx` crate (which builds libmdbx's C source),
//! the unnamed table, default settings but the upper file size, 64 GiB like
//! LMDB's map size here. Variants: durable (SyncMode::Durable, the default),
//! nosync (SyncMode::SafeNoSync: no fsync at commit, the last synced commit
//! kept intact).

use crate::backend::{Backend, ReadTxn, WriteTxn};
use libmdbx::{
    Database, DatabaseOptions, Mode, NoWriteMap, ReadWriteOptions, SyncMode, Table, Transaction, TransactionKind,
    WriteFlags, RO, RW,
};
use std::borrow::Cow;
use std::path::Path;

pub struct Mdbx(Database<NoWriteMap>);

pub fn open(dir: &Path, variant: &str) -> Mdbx {
    let sync_mode = match variant {
        "durable" => SyncMode::Durable,
        "nosync" => SyncMode::SafeNoSync,
        _ => panic!("unknown variant {variant}"),
    };
    let options = DatabaseOptions {
        mode: Mode::ReadWrite(ReadWriteOptions { sync_mode, max_size: Some(64 << 30), ..Default::default() }),
        ..Default::default()
    };
    Mdbx(Database::open_with_options(dir, options).expect("open"))
}

impl Backend for Mdbx {
    fn read(&self, f: &mut dyn FnMut(&dyn ReadTxn)) {
        let tx = self.0.begin_ro_txn().expect("begin_ro_txn");
        let table = tx.open_table(None).expect("open_table");
        f(&MdbxTxn { tx: &tx, table: &table });
    }
    fn write(&self, f: &mut dyn FnMut(&mut dyn WriteTxn)) {
        let tx = self.0.begin_rw_txn().expect("begin_rw_txn");
        {
            let table = tx.open_table(None).expect("open_table");
            f(&mut MdbxTxn { tx: &tx, table: &table });
        }
        tx.commit().expect("commit");
    }
    fn sync(&self) {
        self.0.sync(true).expect("sync");
    }
}

struct MdbxTxn<'a, 'db, K: TransactionKind> {
    tx: &'a Transaction<'db, K, NoWriteMap>,
    table: &'a Table<'a>,
}

impl<K: TransactionKind> MdbxTxn<'_, '_, K> {
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        match self.tx.get::<Cow<[u8]>>(self.table, key).expect("get") {
            Some(v) => {
                f(&v);
                true
            }
            None => false,
        }
    }
}

impl ReadTxn for MdbxTxn<'_, '_, RO> {
    fn get(&self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        MdbxTxn::get(self, key, f)
    }
    fn range(&self, start: &[u8], limit: u64, f: &mut dyn FnMut(&[u8], &[u8])) -> u64 {
        let mut c = self.tx.cursor(self.table).expect("cursor");
        let mut item = if start.is_empty() {
            c.first::<Cow<[u8]>, Cow<[u8]>>()
        } else {
            c.set_range::<Cow<[u8]>, Cow<[u8]>>(start)
        }
        .expect("cursor seek");
        let mut got = 0;
        while let Some((k, v)) = item {
            f(&k, &v);
            got += 1;
            if got == limit {
                break;
            }
            item = c.next::<Cow<[u8]>, Cow<[u8]>>().expect("cursor next");
        }
        got
    }
}

impl WriteTxn for MdbxTxn<'_, '_, RW> {
    fn put(&mut self, key: &[u8], val: &[u8]) {
        self.tx.put(self.table, key, val, WriteFlags::empty()).expect("put");
    }
    fn get(&mut self, key: &[u8], f: &mut dyn FnMut(&[u8])) -> bool {
        MdbxTxn::get(self, key, f)
    }
    fn del(&mut self, key: &[u8]) {
        self.tx.del(self.table, key, None).expect("del");
    }
}
