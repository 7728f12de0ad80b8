/* Transactions through the C API: txn ids, the single writer (NOWAIT from
 * another thread, a second begin on the same thread), commit and abort
 * always releasing, bucket and cursor handles after their transaction ended,
 * and the sync modes. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static thunder_stats stat_of(thunder_db *db) {
  thunder_stats st;
  CHECK_OK(thunder_stat(db, &st));
  return st;
}

static void put_one(thunder_db *db, const char *k, const char *v) {
  thunder_txn *w = NULL;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K(k), K(v), 0));
  CHECK_OK(thunder_txn_commit(w));
}

static void txn_ids(thunder_db *db) {
  thunder_txn *w = NULL, *r = NULL, *r2 = NULL;
  uint64_t last = stat_of(db).last_txid;
  CHECK(last == 0);

  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK(thunder_txn_id(r) == 0); /* the snapshot of the empty database */
  thunder_txn_abort(r);

  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK(thunder_txn_id(w) == 1);
  CHECK_OK(thunder_put(w, K("a"), K("1"), 0));
  CHECK_OK(thunder_txn_commit(w));
  CHECK(stat_of(db).last_txid == 1);

  /* An abort uses no txid, with or without changes. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK(thunder_txn_id(w) == 2);
  CHECK_OK(thunder_put(w, K("b"), K("2"), 0));
  thunder_txn_abort(w);
  CHECK(stat_of(db).last_txid == 1);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK(thunder_txn_id(w) == 2);
  thunder_txn_abort(w);

  /* A commit without changes succeeds and uses no txid. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK(thunder_txn_id(w) == 2);
  CHECK_OK(thunder_txn_commit(w));
  CHECK(stat_of(db).last_txid == 1);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK(thunder_txn_id(r) == 1);
  thunder_txn_abort(r);

  /* A failed call is no change either. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_STATUS(thunder_delete(w, K("absent")), THUNDER_NOT_FOUND);
  CHECK_STATUS(thunder_put(w, K("a"), K("x"), THUNDER_PUT_NO_OVERWRITE), THUNDER_KEY_EXISTS);
  CHECK_OK(thunder_txn_commit(w));
  CHECK(stat_of(db).last_txid == 1);

  /* A read transaction keeps the id of its snapshot. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK(thunder_txn_id(r) == 1);
  put_one(db, "c", "3");
  put_one(db, "d", "4");
  CHECK(thunder_txn_id(r) == 1);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r2));
  CHECK(thunder_txn_id(r2) == 3);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK(thunder_txn_id(w) == 4);
  thunder_txn_abort(w);
  CHECK_OK(thunder_txn_commit(r)); /* a read commit is an abort */
  CHECK_OK(thunder_txn_commit(r2));
  CHECK(stat_of(db).last_txid == 3 && stat_of(db).reader_count == 0);
}

/* A thread that begins the write transaction, reports it, and commits when
 * told to. */
struct holder {
  thunder_db *db;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int began, release, done;
};

static void *hold_writer(void *arg) {
  struct holder *h = (struct holder *)arg;
  thunder_txn *w = NULL;
  CHECK_OK(thunder_txn_begin(h->db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("held"), K("by thread"), 0));
  pthread_mutex_lock(&h->mu);
  h->began = 1;
  pthread_cond_broadcast(&h->cv);
  while (!h->release) pthread_cond_wait(&h->cv, &h->mu);
  pthread_mutex_unlock(&h->mu);
  CHECK_OK(thunder_txn_commit(w));
  pthread_mutex_lock(&h->mu);
  h->done = 1;
  pthread_mutex_unlock(&h->mu);
  return NULL;
}

/* Blocks in begin(WRITE) until the holder commits; returns the moment order. */
struct waiter {
  thunder_db *db;
  struct holder *h;
  int saw_done; /* the holder had committed when begin returned */
};

static void *wait_writer(void *arg) {
  struct waiter *wt = (struct waiter *)arg;
  thunder_txn *w = NULL;
  thunder_bytes v;
  CHECK_OK(thunder_txn_begin(wt->db, THUNDER_TXN_WRITE, &w));
  /* The holder's commit is visible: begin returned after it. */
  CHECK_OK(thunder_get(w, K("held"), &v));
  CHECK_BYTES(v, "by thread");
  pthread_mutex_lock(&wt->h->mu);
  wt->saw_done = wt->h->release;
  pthread_mutex_unlock(&wt->h->mu);
  thunder_txn_abort(w);
  return NULL;
}

static void single_writer(thunder_db *db) {
  struct holder h = {db, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
  pthread_t t, t2;
  thunder_txn *w = (thunder_txn *)&h, *r = NULL;
  CHECK(pthread_create(&t, NULL, hold_writer, &h) == 0);
  pthread_mutex_lock(&h.mu);
  while (!h.began) pthread_cond_wait(&h.cv, &h.mu);
  pthread_mutex_unlock(&h.mu);

  /* Another thread holds the writer: NOWAIT is BUSY, readers go ahead. */
  CHECK_STATUS(thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &w), THUNDER_BUSY);
  CHECK(w == NULL);
  CHECK_ERROR_MENTIONS("thunder_txn_begin");
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  thunder_txn_abort(r);

  /* A blocking begin on a third thread waits for the holder's commit. */
  struct waiter wt = {db, &h, 0};
  CHECK(pthread_create(&t2, NULL, wait_writer, &wt) == 0);
  struct timespec pause = {0, 50 * 1000 * 1000};
  nanosleep(&pause, NULL); /* give it a chance to (wrongly) get through */
  pthread_mutex_lock(&h.mu);
  h.release = 1;
  pthread_cond_broadcast(&h.cv);
  pthread_mutex_unlock(&h.mu);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(pthread_join(t2, NULL) == 0);
  CHECK(wt.saw_done == 1);

  /* Both released the writer. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &w));
  thunder_txn_abort(w);
}

/* The thread holding the write transaction gets BUSY, not a deadlock, and
 * its transaction is unaffected. */
static void same_thread_twice(thunder_db *db) {
  thunder_txn *w = NULL, *w2 = (thunder_txn *)db;
  thunder_bytes v;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("twice"), K("1"), 0));
  CHECK_STATUS(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w2), THUNDER_BUSY);
  CHECK(w2 == NULL);
  CHECK_ERROR_MENTIONS("already holds");
  CHECK_STATUS(thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &w2), THUNDER_BUSY);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &w2)); /* reading is fine */
  CHECK_STATUS(thunder_get(w2, K("twice"), &v), THUNDER_NOT_FOUND);
  thunder_txn_abort(w2);
  CHECK_OK(thunder_get(w, K("twice"), &v));
  CHECK_OK(thunder_txn_commit(w));
  /* Released by the commit: the same thread begins again at once. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &w));
  CHECK_OK(thunder_get(w, K("twice"), &v));
  CHECK_BYTES(v, "1");
  thunder_txn_abort(w);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &w));
  thunder_txn_abort(w);
}

/* Every use of a bucket or cursor handle after its transaction ended is
 * TXN_CLOSED; closing it is fine. `end` commits (1) or aborts (0). */
static void handles_after_end(thunder_db *db, thunder_txn_mode mode, int end) {
  thunder_txn *t = NULL;
  thunder_bucket *b = NULL, *child = NULL;
  thunder_cursor *c = NULL, *bc = NULL, *kc = NULL;
  thunder_bytes k, v;
  uint8_t *copy = NULL;
  size_t n = 0;
  uint64_t seq = 0;
  if (mode != THUNDER_TXN_READ) {
    CHECK_OK(thunder_txn_begin(db, mode, &t));
    CHECK_OK(thunder_bucket_create_if_missing(t, NULL, K("hb"), &b));
    CHECK_OK(thunder_bucket_put(b, K("k"), K("v"), 0));
    CHECK_OK(thunder_bucket_create_if_missing(t, b, K("child"), &child));
    thunder_bucket_close(child);
    thunder_bucket_close(b);
    CHECK_OK(thunder_txn_commit(t));
  }
  CHECK_OK(thunder_txn_begin(db, mode, &t));
  CHECK_OK(thunder_bucket_open(t, NULL, K("hb"), &b));
  CHECK_OK(thunder_cursor_open(t, b, &c));
  CHECK_OK(thunder_cursor_first(c, &k, NULL));
  CHECK_OK(thunder_bucket_cursor_open(t, b, &bc));
  CHECK_OK(thunder_cursor_open(t, NULL, &kc));
  if (end)
    CHECK_OK(thunder_txn_commit(t));
  else
    thunder_txn_abort(t);

  CHECK_STATUS(thunder_bucket_get(b, K("k"), &v), THUNDER_TXN_CLOSED);
  CHECK_ERROR_MENTIONS("thunder_bucket_get");
  CHECK_STATUS(thunder_bucket_get_copy(b, K("k"), &copy, &n), THUNDER_TXN_CLOSED);
  CHECK_STATUS(thunder_bucket_put(b, K("k"), K("v"), 0), THUNDER_TXN_CLOSED);
  CHECK_STATUS(thunder_bucket_delete_key(b, K("k")), THUNDER_TXN_CLOSED);
  CHECK_STATUS(thunder_bucket_next_sequence(b, &seq), THUNDER_TXN_CLOSED);
  CHECK(seq == 0 && copy == NULL);
  thunder_cursor *cs[] = {c, bc, kc};
  for (int i = 0; i < 3; i++) {
    CHECK_STATUS(thunder_cursor_first(cs[i], &k, &v), THUNDER_TXN_CLOSED);
    CHECK_STATUS(thunder_cursor_last(cs[i], &k, &v), THUNDER_TXN_CLOSED);
    CHECK_STATUS(thunder_cursor_next(cs[i], &k, &v), THUNDER_TXN_CLOSED);
    CHECK_STATUS(thunder_cursor_prev(cs[i], NULL, NULL), THUNDER_TXN_CLOSED);
    CHECK_STATUS(thunder_cursor_seek(cs[i], K("k"), &k, &v), THUNDER_TXN_CLOSED);
  }
  CHECK_STATUS(thunder_cursor_delete(c), THUNDER_TXN_CLOSED);
  CHECK_STATUS(thunder_cursor_delete(kc), THUNDER_TXN_CLOSED);
  /* The writer was released whatever handles remain. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &t));
  /* A handle of the ended transaction is closed, also as a parent. */
  CHECK_STATUS(thunder_bucket_open(t, b, K("child"), &child), THUNDER_TXN_CLOSED);
  thunder_txn_abort(t);
  thunder_cursor_close(c);
  thunder_cursor_close(bc);
  thunder_cursor_close(kc);
  thunder_bucket_close(b);
}

/* Bucket and cursor handles may outlive the database itself. */
static void handles_outlive_db(const char *path) {
  thunder_db *db = NULL;
  thunder_txn *t = NULL;
  thunder_bucket *b = NULL;
  thunder_cursor *c = NULL;
  thunder_bytes v;
  CHECK_OK(open_test_db(path, &db));
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &t));
  CHECK_OK(thunder_bucket_open(t, NULL, K("hb"), &b));
  CHECK_OK(thunder_cursor_open(t, b, &c));
  thunder_txn_abort(t);
  CHECK_OK(thunder_close(db));
  CHECK_STATUS(thunder_bucket_get(b, K("k"), &v), THUNDER_TXN_CLOSED);
  CHECK_STATUS(thunder_cursor_next(c, &v, &v), THUNDER_TXN_CLOSED);
  thunder_cursor_close(c);
  thunder_bucket_close(b);
}

static thunder_db *open_mode(const char *path, thunder_sync_mode mode) {
  thunder_options *o = NULL;
  thunder_db *db = NULL;
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_sync_mode(o, mode));
  CHECK_OK(thunder_options_set_sync_interval_ms(o, 20));
  CHECK_OK(thunder_options_set_page_size(o, test_page_size()));
  CHECK_OK(thunder_open(path, o, &db));
  thunder_options_free(o);
  return db;
}

/* BATCHED and NONE: commits are visible at once; after thunder_sync (or
 * checkpoint, or close) they survive a reopen. */
static void sync_modes(void) {
  const thunder_sync_mode modes[] = {THUNDER_SYNC_BATCHED, THUNDER_SYNC_NONE, THUNDER_SYNC_FULL};
  char path[4096], key[32];
  thunder_txn *t = NULL;
  thunder_bytes v;
  for (int m = 0; m < 3; m++) {
    snprintf(key, sizeof key, "sync%d.db", m);
    snprintf(path, sizeof path, "%s", test_path(key));
    thunder_db *db = open_mode(path, modes[m]);
    for (int i = 0; i < 20; i++) {
      snprintf(key, sizeof key, "k%02d", i);
      put_one(db, key, key);
      CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &t));
      CHECK(thunder_txn_id(t) == (uint64_t)i + 1);
      CHECK_OK(thunder_get(t, K(key), &v)); /* visible to the next reader at once */
      CHECK_BYTES(v, key);
      thunder_txn_abort(t);
    }
    CHECK_OK(thunder_sync(db));
    put_one(db, "after-sync", "x");
    CHECK_OK(thunder_checkpoint(db));
    put_one(db, "after-checkpoint", "y"); /* made durable by close */
    CHECK(stat_of(db).last_txid == 22);
    CHECK_OK(thunder_check(db));
    CHECK_OK(thunder_close(db));

    CHECK_OK(open_test_db(path, &db));
    CHECK(stat_of(db).last_txid == 22 && stat_of(db).key_count == 22);
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &t));
    CHECK_OK(thunder_get(t, K("k19"), &v));
    CHECK_BYTES(v, "k19");
    CHECK_OK(thunder_get(t, K("after-checkpoint"), &v));
    CHECK_BYTES(v, "y");
    thunder_txn_abort(t);
    CHECK_OK(thunder_check(db));
    CHECK_OK(thunder_close(db));
  }
}

/* What a process that dies without closing leaves behind: a child commits
 * in `mode`, makes the commits of `synced` durable as its mode promises, then
 * _exits (no close, no destructors). FULL: every commit is kept. BATCHED: a
 * commit older than the sync interval is kept (the background sync wrote
 * it). NONE: everything up to thunder_sync is kept. */
static void durable_after_death(thunder_sync_mode mode) {
  char path[4096], name[32];
  snprintf(name, sizeof name, "death%u.db", mode);
  snprintf(path, sizeof path, "%s", test_path(name));
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    thunder_db *db = open_mode(path, mode); /* interval 20 ms */
    put_one(db, "first", "1");
    if (mode == THUNDER_SYNC_NONE) CHECK_OK(thunder_sync(db));
    if (mode == THUNDER_SYNC_BATCHED) {
      struct timespec pause = {0, 300 * 1000 * 1000}; /* 15 intervals */
      nanosleep(&pause, NULL);
    }
    _exit(0);
  }
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
  thunder_db *db = NULL;
  thunder_txn *r = NULL;
  thunder_bytes v;
  CHECK_OK(open_test_db(path, &db));
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK_OK(thunder_get(r, K("first"), &v));
  CHECK_BYTES(v, "1");
  thunder_txn_abort(r);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
}

/* A write transaction failed by NO_SPACE (a 1 MiB max size) repeats that
 * status on every later call, its bucket and cursor handles included; commit
 * returns it too, rolls back and releases the writer. Regression: the
 * repeated message grew a second "transaction failed earlier" prefix. */
static void failed_txn(void) {
  thunder_options *o = NULL;
  thunder_db *db = NULL;
  thunder_txn *w = NULL;
  thunder_bucket *b = NULL;
  thunder_cursor *c = NULL;
  thunder_bytes v;
  uint64_t seq = 0;
  static uint8_t big[100000];
  char key[32];
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_max_size(o, 1u << 20));
  CHECK_OK(thunder_options_set_page_size(o, test_page_size()));
  CHECK_OK(thunder_open(test_path("full.db"), o, &db));
  thunder_options_free(o);
  put_one(db, "before", "1");

  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("doomed"), K("x"), 0));
  CHECK_OK(thunder_bucket_create(w, NULL, K("b"), &b));
  CHECK_OK(thunder_cursor_open(w, NULL, &c));
  thunder_status s = THUNDER_OK;
  for (int i = 0; i < 100 && s == THUNDER_OK; i++) {
    snprintf(key, sizeof key, "big%d", i);
    s = thunder_put(w, K(key), big, sizeof big, 0);
  }
  CHECK_STATUS(s, THUNDER_NO_SPACE);
  CHECK_ERROR_MENTIONS("max size");
  CHECK_STATUS(thunder_get(w, K("before"), &v), THUNDER_NO_SPACE);
  CHECK_ERROR_MENTIONS("max size");
  const char *e = thunder_last_error();
  const char *first = strstr(e, "failed earlier");
  CHECK(first != NULL && strstr(first + 1, "failed earlier") == NULL);
  CHECK_STATUS(thunder_put(w, K("small"), K("v"), 0), THUNDER_NO_SPACE);
  CHECK_STATUS(thunder_delete(w, K("before")), THUNDER_NO_SPACE);
  CHECK_STATUS(thunder_bucket_put(b, K("k"), K("v"), 0), THUNDER_NO_SPACE);
  CHECK_STATUS(thunder_bucket_next_sequence(b, &seq), THUNDER_NO_SPACE);
  CHECK_STATUS(thunder_cursor_first(c, &v, &v), THUNDER_NO_SPACE);
  /* The failure answers before argument values are looked at (NULL
   * pointers aside), and new cursors are refused too. Regression: an empty
   * key or unknown put flags said INVALID_ARGUMENT, and both cursor opens
   * succeeded. */
  CHECK_STATUS(thunder_put(w, (const uint8_t *)"", 0, K("v"), 0), THUNDER_NO_SPACE);
  CHECK_STATUS(thunder_put(w, K("small"), K("v"), 0x10), THUNDER_NO_SPACE);
  CHECK_STATUS(thunder_get(w, (const uint8_t *)"", 0, &v), THUNDER_NO_SPACE);
  CHECK_STATUS(thunder_bucket_get(b, (const uint8_t *)"", 0, &v), THUNDER_NO_SPACE);
  thunder_cursor *c2 = (thunder_cursor *)&seq;
  CHECK_STATUS(thunder_cursor_open(w, NULL, &c2), THUNDER_NO_SPACE);
  CHECK(c2 == NULL);
  c2 = (thunder_cursor *)&seq;
  CHECK_STATUS(thunder_bucket_cursor_open(w, b, &c2), THUNDER_NO_SPACE);
  CHECK(c2 == NULL);
  CHECK_STATUS(thunder_txn_commit(w), THUNDER_NO_SPACE);
  CHECK_STATUS(thunder_bucket_get(b, K("k"), &v), THUNDER_TXN_CLOSED);
  thunder_bucket_close(b);
  thunder_cursor_close(c);

  /* Rolled back and released: nothing of it landed, the next one works. */
  CHECK(stat_of(db).last_txid == 1);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &w));
  CHECK_STATUS(thunder_get(w, K("doomed"), &v), THUNDER_NOT_FOUND);
  CHECK_OK(thunder_get(w, K("before"), &v));
  CHECK_OK(thunder_put(w, K("after"), big, 1000, 0));
  CHECK_OK(thunder_txn_commit(w));

  /* Abort releases a failed transaction as well. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  s = THUNDER_OK;
  for (int i = 0; i < 100 && s == THUNDER_OK; i++) {
    snprintf(key, sizeof key, "big%d", i);
    s = thunder_put(w, K(key), big, sizeof big, 0);
  }
  CHECK_STATUS(s, THUNDER_NO_SPACE);
  CHECK_STATUS(thunder_put(w, K("k"), K("v"), 0), THUNDER_NO_SPACE);
  thunder_txn_abort(w);
  CHECK(stat_of(db).last_txid == 2);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
}

/* A transaction handle used again after its commit or abort (the caller's
 * bug) is refused, even when a new transaction got its address, as the
 * allocator gives at once without a sanitizer: a second commit used to
 * commit that new transaction. The new one is left as it was. */
static void stale_handle(thunder_db *db) {
  for (int commit = 0; commit < 2; commit++) {
    thunder_txn *t1 = NULL, *t2 = NULL, *r = NULL;
    thunder_bytes v;
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &t1));
    CHECK_OK(thunder_put(t1, K("stale-1"), K("first"), 0));
    if (commit) CHECK_OK(thunder_txn_commit(t1));
    else thunder_txn_abort(t1);
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &t2));
    CHECK_OK(thunder_put(t2, K("stale-2"), K("second"), 0));
    CHECK_STATUS(thunder_txn_commit(t1), THUNDER_INVALID_ARGUMENT);
    CHECK(strstr(thunder_last_error(), "not a live thunder_txn") != NULL);
    thunder_txn_abort(t1); /* refused as well: t2 stays open */
    CHECK_OK(thunder_put(t2, K("stale-3"), K("third"), 0));
    thunder_txn_abort(t2); /* the program throws its changes away */
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
    CHECK_STATUS(thunder_get(r, K("stale-2"), &v), THUNDER_NOT_FOUND);
    CHECK_STATUS(thunder_get(r, K("stale-3"), &v), THUNDER_NOT_FOUND);
    thunder_txn_abort(r);
  }
}

int main(void) {
  thunder_db *db = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s", test_path("txn.db"));
  CHECK_OK(open_test_db(path, &db));
  txn_ids(db);
  single_writer(db);
  same_thread_twice(db);
  for (int end = 0; end < 2; end++) {
    handles_after_end(db, THUNDER_TXN_WRITE, end);
    handles_after_end(db, THUNDER_TXN_READ, end);
    handles_after_end(db, THUNDER_TXN_WRITE_NOWAIT, end);
  }
  stale_handle(db);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
  handles_outlive_db(path);
  sync_modes();
  durable_after_death(THUNDER_SYNC_FULL);
  durable_after_death(THUNDER_SYNC_BATCHED);
  durable_after_death(THUNDER_SYNC_NONE);
  failed_txn();
  return 0;
}
