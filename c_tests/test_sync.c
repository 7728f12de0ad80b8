/* Sync modes: the weak modes (BATCHED, NONE) keep the file bounded without a
 * thunder_sync() call, by the steady points that
 * thunder_options_set_autosync_bytes() sets the threshold of; and what they
 * committed is all there after a clean close. */
#include "check.h"

static uint64_t file_size(thunder_db *db) {
  thunder_stats st;
  CHECK_OK(thunder_stat(db, &st));
  return st.file_size;
}

static void setter(void) {
  thunder_options *o = NULL;
  CHECK_STATUS(thunder_options_set_autosync_bytes(NULL, 0), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("thunder_options_set_autosync_bytes");
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_autosync_bytes(o, 0));
  CHECK_OK(thunder_options_set_autosync_bytes(o, UINT64_MAX));
  thunder_options_free(o);
}

/* 3,000 one-key commits over 300 keys in `mode`, never calling
 * thunder_sync(): the file at the end is under three times its size after
 * commit 300, and after a clean close every key holds its last value. */
static void bounded(const char *name, thunder_sync_mode mode, uint64_t autosync) {
  thunder_options *o = NULL;
  thunder_db *db = NULL;
  thunder_txn *t = NULL;
  char key[32], val[100];
  uint64_t at300 = 0;
  int i;
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_page_size(o, test_page_size()));
  CHECK_OK(thunder_options_set_sync_mode(o, mode));
  CHECK_OK(thunder_options_set_sync_interval_ms(o, 3600 * 1000)); /* BATCHED: no interval sync in the test */
  CHECK_OK(thunder_options_set_autosync_bytes(o, autosync));
  const char *path = test_path(name);
  CHECK_OK(thunder_open(path, o, &db));
  for (i = 1; i <= 3000; i++) {
    snprintf(key, sizeof key, "key%03d", i % 300);
    memset(val, 'a' + i % 26, sizeof val);
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &t));
    CHECK_OK(thunder_put(t, K(key), (const uint8_t *)val, sizeof val, 0));
    CHECK_OK(thunder_txn_commit(t));
    if (i == 300) at300 = file_size(db);
  }
  uint64_t end = file_size(db);
  if (end >= 3 * at300) fprintf(stderr, "%s: %llu bytes after 300 commits, %llu after 3000\n", name,
                                (unsigned long long)at300, (unsigned long long)end);
  CHECK(end < 3 * at300);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
  CHECK_OK(thunder_open(path, o, &db));
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &t));
  for (i = 2701; i <= 3000; i++) { /* the last write of each key */
    thunder_bytes v;
    snprintf(key, sizeof key, "key%03d", i % 300);
    CHECK_OK(thunder_get(t, K(key), &v));
    CHECK(v.len == sizeof val && v.data[0] == 'a' + i % 26);
  }
  thunder_txn_abort(t);
  CHECK_OK(thunder_close(db));
  thunder_options_free(o);
}

/* Three commits rewriting one key: they free pages, so a free-set change
 * waits to be written when commits defer it. */
static void rewrite_key(thunder_db *db) {
  thunder_txn *t = NULL;
  int i;
  for (i = 0; i < 3; i++) {
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &t));
    CHECK_OK(thunder_put(t, K("key"), (const uint8_t *)"value", 5, 0));
    CHECK_OK(thunder_txn_commit(t));
  }
}

/* Checks and closes *db, opens `path` again with `o` into *db, and returns
 * a read transaction that found "key" holding "value" (what rewrite_key
 * left). */
static thunder_txn *reopened_reader(thunder_db **db, const char *path, const thunder_options *o) {
  thunder_txn *t = NULL;
  thunder_bytes v;
  CHECK_OK(thunder_check(*db));
  CHECK_OK(thunder_close(*db));
  CHECK_OK(thunder_open(path, o, db));
  CHECK_OK(thunder_txn_begin(*db, THUNDER_TXN_READ, &t));
  CHECK_OK(thunder_get(t, K("key"), &v));
  CHECK(v.len == 5 && memcmp(v.data, "value", 5) == 0);
  return t;
}

/* SYNC_NONE defers a commit's free-set change to the next steady point;
 * thunder_sync() and thunder_checkpoint() from the thread holding a write
 * transaction cannot write it and say so (THUNDER_BUSY), changing nothing;
 * after the transaction ends both work, and the commits are all there. */
static void sync_inside_write_txn(void) {
  thunder_options *o = NULL;
  thunder_db *db = NULL;
  thunder_txn *t = NULL;
  thunder_bytes v;
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_page_size(o, test_page_size()));
  CHECK_OK(thunder_options_set_sync_mode(o, THUNDER_SYNC_NONE));
  const char *path = test_path("sync_in_txn.db");
  CHECK_OK(thunder_open(path, o, &db));
  rewrite_key(db);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &t));
  CHECK_STATUS(thunder_sync(db), THUNDER_BUSY);
  CHECK_ERROR_MENTIONS("thunder_sync");
  CHECK_STATUS(thunder_checkpoint(db), THUNDER_BUSY);
  CHECK_ERROR_MENTIONS("thunder_checkpoint");
  CHECK_OK(thunder_put(t, K("other"), (const uint8_t *)"x", 1, 0));
  CHECK_OK(thunder_txn_commit(t));
  CHECK_OK(thunder_sync(db));
  CHECK_OK(thunder_checkpoint(db));
  t = reopened_reader(&db, path, o);
  CHECK_OK(thunder_get(t, K("other"), &v));
  thunder_txn_abort(t);
  CHECK_OK(thunder_close(db));
  thunder_options_free(o);
}

/* With a write-ahead log every commit leaves its free-set change to the
 * checkpoint. thunder_checkpoint() from the thread holding a write
 * transaction (it used to say THUNDER_BUSY, where API.md promises OK)
 * checkpoints the newest commit whose free-set change is written; the log
 * keeps the later ones, so a reopen after the transaction is abandoned
 * finds every commit. thunder_sync() (a log sync) works too. */
static void checkpoint_inside_write_txn_with_wal(void) {
  thunder_options *o = NULL;
  thunder_db *db = NULL;
  thunder_txn *t = NULL;
  const char *path = test_path("checkpoint_in_txn.db");
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_page_size(o, test_page_size()));
  CHECK_OK(thunder_options_set_wal(o, true));
  CHECK_OK(thunder_open(path, o, &db));
  rewrite_key(db);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &t));
  CHECK_OK(thunder_put(t, K("key"), (const uint8_t *)"no", 2, 0));
  CHECK_OK(thunder_checkpoint(db));
  CHECK_OK(thunder_sync(db));
  thunder_txn_abort(t);
  t = reopened_reader(&db, path, o);
  thunder_txn_abort(t);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
  thunder_options_free(o);
}

int main(void) {
  setter();
  sync_inside_write_txn();
  checkpoint_inside_write_txn_with_wal();
  bounded("sync_none.db", THUNDER_SYNC_NONE, 256 * 1024);
  bounded("sync_batched.db", THUNDER_SYNC_BATCHED, 256 * 1024);
  bounded("sync_none_fraction.db", THUNDER_SYNC_NONE, 0);
  return 0;
}
