/* Argument checking across the whole C API: every NULL argument of every
 * function returns THUNDER_INVALID_ARGUMENT (never a crash) with
 * thunder_last_error() naming the function and the argument; out-handles are
 * set to NULL on failure and other outputs are left untouched; empty keys,
 * unknown flags and enum values; handles of the wrong type; a parent bucket
 * of another transaction; thunder_last_error() itself (thread-local, never
 * NULL, unchanged by successful calls). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "check.h"

/* `expr` fails with INVALID_ARGUMENT and the message names `fn` and `arg`. */
#define CHECK_NULL_ARG(expr, fn, arg)                  \
  do {                                                 \
    CHECK_STATUS(expr, THUNDER_INVALID_ARGUMENT);      \
    CHECK_ERROR_MENTIONS(fn);                          \
    CHECK_ERROR_MENTIONS("`" arg "`");                 \
  } while (0)

/* A value no call may write into an output it fails to fill. */
#define POISON ((void *)(uintptr_t)0x5eed)

static void last_error_basics(void) {
  /* Before any failure: empty, never NULL. */
  CHECK(thunder_last_error() != NULL);
  CHECK(strcmp(thunder_last_error(), "") == 0);
}

static void *fresh_thread(void *arg) {
  (void)arg;
  /* Thread-local: a failure on the main thread is not visible here. */
  const char *e = thunder_last_error();
  int ok = e != NULL && e[0] == '\0';
  thunder_options *o = NULL;
  ok = ok && thunder_options_set_page_size(o, 4096) == THUNDER_INVALID_ARGUMENT;
  ok = ok && strstr(thunder_last_error(), "thunder_options_set_page_size") != NULL;
  return ok ? arg : POISON;
}

static void last_error_is_per_thread_and_sticky(thunder_db *db) {
  thunder_txn *w = NULL;
  thunder_bytes v;
  char saved[512];
  CHECK_STATUS(thunder_txn_begin(db, 77, &w), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("mode");
  snprintf(saved, sizeof saved, "%s", thunder_last_error());
  CHECK(saved[0] != '\0');

  pthread_t t;
  void *res = POISON;
  CHECK(pthread_create(&t, NULL, fresh_thread, NULL) == 0);
  CHECK(pthread_join(t, &res) == 0);
  CHECK(res == NULL);
  CHECK(strcmp(thunder_last_error(), saved) == 0); /* the other thread's failure is not ours */

  /* Successful calls of every kind leave it unchanged (like errno). */
  thunder_options *o = NULL;
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_page_size(o, 4096));
  thunder_options_free(o);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("sticky"), K("v"), 0));
  CHECK_OK(thunder_get(w, K("sticky"), &v));
  CHECK(thunder_txn_id(w) > 0);
  CHECK_OK(thunder_txn_commit(w));
  CHECK_OK(thunder_sync(db));
  CHECK(thunder_max_key_size(db) > 0);
  CHECK(thunder_version() != NULL && thunder_strerror(3) != NULL);
  CHECK(strcmp(thunder_last_error(), saved) == 0);
}

static void library_and_options(void) {
  thunder_options *o = (thunder_options *)POISON;
  thunder_free(NULL);
  thunder_options_free(NULL);
  /* Regression: thunder_options_new boxed the new options before checking
   * `out`, so this call leaked them (LeakSanitizer at exit). */
  CHECK_NULL_ARG(thunder_options_new(NULL), "thunder_options_new", "out");
  CHECK_NULL_ARG(thunder_options_set_page_size(NULL, 4096), "thunder_options_set_page_size", "o");
  CHECK_NULL_ARG(thunder_options_set_overflow_threshold(NULL, 2048),
                 "thunder_options_set_overflow_threshold", "o");
  CHECK_NULL_ARG(thunder_options_set_read_only(NULL, true), "thunder_options_set_read_only", "o");
  CHECK_NULL_ARG(thunder_options_set_create(NULL, true), "thunder_options_set_create", "o");
  CHECK_NULL_ARG(thunder_options_set_sync_mode(NULL, 0), "thunder_options_set_sync_mode", "o");
  CHECK_NULL_ARG(thunder_options_set_sync_interval_ms(NULL, 5),
                 "thunder_options_set_sync_interval_ms", "o");
  CHECK_NULL_ARG(thunder_options_set_io_backend(NULL, 0), "thunder_options_set_io_backend", "o");
  CHECK_NULL_ARG(thunder_options_set_write_buffer_size(NULL, 8192),
                 "thunder_options_set_write_buffer_size", "o");
  CHECK_NULL_ARG(thunder_options_set_max_size(NULL, 0), "thunder_options_set_max_size", "o");
  CHECK_NULL_ARG(thunder_options_set_lock_timeout_ms(NULL, 0),
                 "thunder_options_set_lock_timeout_ms", "o");
  CHECK_NULL_ARG(thunder_options_preset_nvme(NULL), "thunder_options_preset_nvme", "o");

  /* Unknown enumeration values. */
  CHECK_OK(thunder_options_new(&o));
  CHECK_NULL_ARG(thunder_options_set_sync_mode(o, 3), "thunder_options_set_sync_mode", "m");
  CHECK_NULL_ARG(thunder_options_set_io_backend(o, 4), "thunder_options_set_io_backend", "b");
  CHECK_NULL_ARG(thunder_options_set_io_backend(o, 0x80000000u), "thunder_options_set_io_backend",
                 "b");
  thunder_options_free(o);
}

static void database(thunder_db *db, const char *path) {
  thunder_db *out = (thunder_db *)POISON;
  thunder_stats st;
  CHECK_NULL_ARG(thunder_open(NULL, NULL, &out), "thunder_open", "path");
  CHECK(out == NULL);
  CHECK_NULL_ARG(thunder_open(path, NULL, NULL), "thunder_open", "out");
  out = (thunder_db *)POISON;
  CHECK_STATUS(thunder_open("", NULL, &out), THUNDER_INVALID_ARGUMENT); /* empty path */
  CHECK(out == NULL);
  CHECK_NULL_ARG(thunder_close(NULL), "thunder_close", "db");
  CHECK_NULL_ARG(thunder_sync(NULL), "thunder_sync", "db");
  CHECK_NULL_ARG(thunder_checkpoint(NULL), "thunder_checkpoint", "db");
  CHECK_NULL_ARG(thunder_stat(NULL, &st), "thunder_stat", "db");
  CHECK_NULL_ARG(thunder_stat(db, NULL), "thunder_stat", "out");
  CHECK_NULL_ARG(thunder_check(NULL), "thunder_check", "db");
  CHECK(thunder_max_key_size(NULL) == 0);
}

static void transactions(thunder_db *db) {
  thunder_txn *t = (thunder_txn *)POISON;
  CHECK_NULL_ARG(thunder_txn_begin(NULL, THUNDER_TXN_READ, &t), "thunder_txn_begin", "db");
  CHECK(t == NULL);
  CHECK_NULL_ARG(thunder_txn_begin(db, THUNDER_TXN_READ, NULL), "thunder_txn_begin", "out");
  CHECK_NULL_ARG(thunder_txn_begin(db, THUNDER_TXN_WRITE, NULL), "thunder_txn_begin", "out");
  t = (thunder_txn *)POISON;
  CHECK_NULL_ARG(thunder_txn_begin(db, 3, &t), "thunder_txn_begin", "mode");
  CHECK(t == NULL);
  CHECK_STATUS(thunder_txn_begin(db, UINT32_MAX, &t), THUNDER_INVALID_ARGUMENT);
  CHECK_NULL_ARG(thunder_txn_commit(NULL), "thunder_txn_commit", "txn");
  thunder_txn_abort(NULL);
  CHECK(thunder_txn_id(NULL) == 0);

  /* None of the failures above took the writer. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &t));
  thunder_txn_abort(t);
}

/* The default keyspace: NULL arguments, empty keys, unknown flags; outputs
 * untouched on failure; the transaction stays usable throughout. */
static void keyspace(thunder_db *db) {
  thunder_txn *w = NULL;
  thunder_bytes v = {(const uint8_t *)POISON, 12345};
  uint8_t *copy = (uint8_t *)POISON;
  size_t n = 12345;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("k"), K("v"), 0));

  CHECK_NULL_ARG(thunder_get(NULL, K("k"), &v), "thunder_get", "txn");
  CHECK_NULL_ARG(thunder_get(w, NULL, 1, &v), "thunder_get", "key");
  CHECK_NULL_ARG(thunder_get(w, (const uint8_t *)"k", 0, &v), "thunder_get", "key");
  CHECK_ERROR_MENTIONS("empty");
  CHECK_NULL_ARG(thunder_get(w, NULL, 0, &v), "thunder_get", "key");
  CHECK_NULL_ARG(thunder_get(w, K("k"), NULL), "thunder_get", "val");
  CHECK(v.data == (const uint8_t *)POISON && v.len == 12345);
  CHECK_STATUS(thunder_get(w, K("absent"), &v), THUNDER_NOT_FOUND);
  CHECK(v.data == (const uint8_t *)POISON && v.len == 12345);

  CHECK_NULL_ARG(thunder_get_copy(NULL, K("k"), &copy, &n), "thunder_get_copy", "txn");
  CHECK_NULL_ARG(thunder_get_copy(w, NULL, 1, &copy, &n), "thunder_get_copy", "key");
  CHECK_NULL_ARG(thunder_get_copy(w, (const uint8_t *)"k", 0, &copy, &n), "thunder_get_copy",
                 "key");
  CHECK_NULL_ARG(thunder_get_copy(w, K("k"), NULL, &n), "thunder_get_copy", "val");
  CHECK_NULL_ARG(thunder_get_copy(w, K("k"), &copy, NULL), "thunder_get_copy", "val_len");
  CHECK_STATUS(thunder_get_copy(w, K("absent"), &copy, &n), THUNDER_NOT_FOUND);
  CHECK(copy == (uint8_t *)POISON && n == 12345);

  CHECK_NULL_ARG(thunder_put(NULL, K("k"), K("v"), 0), "thunder_put", "txn");
  CHECK_NULL_ARG(thunder_put(w, NULL, 1, K("v"), 0), "thunder_put", "key");
  CHECK_NULL_ARG(thunder_put(w, (const uint8_t *)"k", 0, K("v"), 0), "thunder_put", "key");
  CHECK_NULL_ARG(thunder_put(w, K("k"), NULL, 3, 0), "thunder_put", "val");
  CHECK_NULL_ARG(thunder_put(w, K("k"), K("v"), 0x4), "thunder_put", "flags");
  CHECK_NULL_ARG(thunder_put(w, K("k"), K("v"), 0x80000000u), "thunder_put", "flags");
  CHECK_NULL_ARG(thunder_put(w, K("k"), K("v"), 0xFFFFFFFFu), "thunder_put", "flags");
  CHECK_OK(thunder_put(w, K("empty"), NULL, 0, 0)); /* an empty value may be NULL */

  CHECK_NULL_ARG(thunder_delete(NULL, K("k")), "thunder_delete", "txn");
  CHECK_NULL_ARG(thunder_delete(w, NULL, 1), "thunder_delete", "key");
  CHECK_NULL_ARG(thunder_delete(w, (const uint8_t *)"k", 0), "thunder_delete", "key");

  /* Nothing above changed "k" or broke the transaction. */
  CHECK_OK(thunder_get(w, K("k"), &v));
  CHECK_BYTES(v, "v");
  CHECK_OK(thunder_txn_commit(w));
}

/* The three functions that hand out a bucket share their argument checks. */
typedef thunder_status (*opener)(thunder_txn *, thunder_bucket *, const uint8_t *, size_t,
                                 thunder_bucket **);

static void check_opener(opener fn, const char *name, thunder_txn *w, thunder_bucket *b) {
  thunder_bucket *out = (thunder_bucket *)POISON;
  CHECK_NULL_ARG(fn(NULL, NULL, K("x"), &out), name, "txn");
  CHECK(out == NULL);
  out = (thunder_bucket *)POISON;
  CHECK_NULL_ARG(fn(w, NULL, NULL, 1, &out), name, "name");
  CHECK(out == NULL);
  out = (thunder_bucket *)POISON;
  CHECK_STATUS(fn(w, NULL, (const uint8_t *)"x", 0, &out), THUNDER_INVALID_ARGUMENT); /* empty */
  CHECK(out == NULL);
  CHECK_ERROR_MENTIONS(name);
  CHECK_NULL_ARG(fn(w, b, K("x"), NULL), name, "out");
  CHECK_NULL_ARG(fn(w, (thunder_bucket *)(void *)w, K("x"), &out), name, "parent"); /* wrong type */
  CHECK(out == NULL);
}

static void buckets(thunder_db *db) {
  thunder_txn *w = NULL;
  thunder_bucket *b = NULL, *out = (thunder_bucket *)POISON;
  thunder_bytes v = {(const uint8_t *)POISON, 7};
  uint8_t *copy = (uint8_t *)POISON;
  size_t n = 7;
  uint64_t seq = 7;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_bucket_create(w, NULL, K("b"), &b));

  check_opener(thunder_bucket_create, "thunder_bucket_create", w, b);
  check_opener(thunder_bucket_create_if_missing, "thunder_bucket_create_if_missing", w, b);
  check_opener(thunder_bucket_open, "thunder_bucket_open", w, b);
  out = (thunder_bucket *)POISON;
  CHECK_STATUS(thunder_bucket_open(w, NULL, K("missing"), &out), THUNDER_BUCKET_NOT_FOUND);
  CHECK(out == NULL);
  out = (thunder_bucket *)POISON;
  CHECK_STATUS(thunder_bucket_create(w, NULL, K("b"), &out), THUNDER_BUCKET_EXISTS);
  CHECK(out == NULL);

  CHECK_NULL_ARG(thunder_bucket_delete(NULL, NULL, K("b")), "thunder_bucket_delete", "txn");
  CHECK_NULL_ARG(thunder_bucket_delete(w, NULL, NULL, 1), "thunder_bucket_delete", "name");
  CHECK_STATUS(thunder_bucket_delete(w, NULL, (const uint8_t *)"b", 0), THUNDER_INVALID_ARGUMENT);
  thunder_bucket_close(NULL);

  CHECK_OK(thunder_bucket_put(b, K("k"), K("v"), 0));
  CHECK_NULL_ARG(thunder_bucket_get(NULL, K("k"), &v), "thunder_bucket_get", "b");
  CHECK_NULL_ARG(thunder_bucket_get(b, NULL, 1, &v), "thunder_bucket_get", "key");
  CHECK_NULL_ARG(thunder_bucket_get(b, (const uint8_t *)"k", 0, &v), "thunder_bucket_get", "key");
  CHECK_NULL_ARG(thunder_bucket_get(b, K("k"), NULL), "thunder_bucket_get", "val");
  CHECK(v.data == (const uint8_t *)POISON && v.len == 7);
  CHECK_NULL_ARG(thunder_bucket_get_copy(NULL, K("k"), &copy, &n), "thunder_bucket_get_copy", "b");
  CHECK_NULL_ARG(thunder_bucket_get_copy(b, NULL, 1, &copy, &n), "thunder_bucket_get_copy", "key");
  CHECK_NULL_ARG(thunder_bucket_get_copy(b, (const uint8_t *)"k", 0, &copy, &n),
                 "thunder_bucket_get_copy", "key");
  CHECK_NULL_ARG(thunder_bucket_get_copy(b, K("k"), NULL, &n), "thunder_bucket_get_copy", "val");
  CHECK_NULL_ARG(thunder_bucket_get_copy(b, K("k"), &copy, NULL), "thunder_bucket_get_copy",
                 "val_len");
  CHECK(copy == (uint8_t *)POISON && n == 7);
  CHECK_NULL_ARG(thunder_bucket_put(NULL, K("k"), K("v"), 0), "thunder_bucket_put", "b");
  CHECK_NULL_ARG(thunder_bucket_put(b, NULL, 1, K("v"), 0), "thunder_bucket_put", "key");
  CHECK_NULL_ARG(thunder_bucket_put(b, (const uint8_t *)"k", 0, K("v"), 0), "thunder_bucket_put",
                 "key");
  CHECK_NULL_ARG(thunder_bucket_put(b, K("k"), NULL, 1, 0), "thunder_bucket_put", "val");
  CHECK_NULL_ARG(thunder_bucket_put(b, K("k"), K("v"), 0x8), "thunder_bucket_put", "flags");
  CHECK_NULL_ARG(thunder_bucket_delete_key(NULL, K("k")), "thunder_bucket_delete_key", "b");
  CHECK_NULL_ARG(thunder_bucket_delete_key(b, NULL, 1), "thunder_bucket_delete_key", "key");
  CHECK_NULL_ARG(thunder_bucket_delete_key(b, (const uint8_t *)"k", 0), "thunder_bucket_delete_key",
                 "key");
  CHECK_NULL_ARG(thunder_bucket_next_sequence(NULL, &seq), "thunder_bucket_next_sequence", "b");
  CHECK_NULL_ARG(thunder_bucket_next_sequence(b, NULL), "thunder_bucket_next_sequence", "out");
  CHECK(seq == 7);
  CHECK_OK(thunder_bucket_next_sequence(b, &seq)); /* the failures did not consume one */
  CHECK(seq == 1);
  CHECK_OK(thunder_bucket_get(b, K("k"), &v));
  CHECK_BYTES(v, "v");
  thunder_bucket_close(b);
  CHECK_OK(thunder_txn_commit(w));
}

static void cursors(thunder_db *db) {
  thunder_txn *w = NULL;
  thunder_cursor *c = (thunder_cursor *)POISON;
  thunder_bytes k, v;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_NULL_ARG(thunder_cursor_open(NULL, NULL, &c), "thunder_cursor_open", "txn");
  CHECK(c == NULL);
  CHECK_NULL_ARG(thunder_cursor_open(w, NULL, NULL), "thunder_cursor_open", "out");
  c = (thunder_cursor *)POISON;
  CHECK_NULL_ARG(thunder_bucket_cursor_open(NULL, NULL, &c), "thunder_bucket_cursor_open", "txn");
  CHECK(c == NULL);
  CHECK_NULL_ARG(thunder_bucket_cursor_open(w, NULL, NULL), "thunder_bucket_cursor_open", "out");
  CHECK_NULL_ARG(thunder_cursor_first(NULL, &k, &v), "thunder_cursor_first", "c");
  CHECK_NULL_ARG(thunder_cursor_last(NULL, &k, &v), "thunder_cursor_last", "c");
  CHECK_NULL_ARG(thunder_cursor_next(NULL, &k, &v), "thunder_cursor_next", "c");
  CHECK_NULL_ARG(thunder_cursor_prev(NULL, &k, &v), "thunder_cursor_prev", "c");
  CHECK_NULL_ARG(thunder_cursor_seek(NULL, K("k"), &k, &v), "thunder_cursor_seek", "c");
  CHECK_NULL_ARG(thunder_cursor_delete(NULL), "thunder_cursor_delete", "c");
  thunder_cursor_close(NULL);

  CHECK_OK(thunder_cursor_open(w, NULL, &c));
  CHECK_NULL_ARG(thunder_cursor_seek(c, NULL, 2, &k, &v), "thunder_cursor_seek", "key");
  CHECK_OK(thunder_cursor_seek(c, NULL, 0, &k, NULL)); /* empty key: the first item */
  CHECK_OK(thunder_cursor_first(c, NULL, NULL));       /* outputs are optional */
  thunder_cursor_close(c);
  CHECK_OK(thunder_txn_commit(w));
}

/* A handle of one type passed as another is caught by its magic number.
 * Regression: the magic was a field of each (non-repr(C)) Rust handle struct
 * and Rust placed it at offset 8 of a transaction but offset 64 of a bucket,
 * cursor or options handle, so checking a 16-byte transaction passed as a
 * cursor read 48 bytes past its allocation (unseen by ASan: the read is in
 * uninstrumented Rust). The magic now sits at offset 0 of every handle. */
static void wrong_types(thunder_db *db, const char *path) {
  thunder_txn *w = NULL;
  thunder_bucket *b = NULL;
  thunder_cursor *c = NULL;
  thunder_options *o = NULL;
  thunder_stats st;
  thunder_bytes v;
  uint64_t seq;
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_bucket_create_if_missing(w, NULL, K("typed"), &b));
  CHECK_OK(thunder_cursor_open(w, NULL, &c));

  CHECK_NULL_ARG(thunder_put((thunder_txn *)(void *)c, K("k"), K("v"), 0), "thunder_put", "txn");
  CHECK_ERROR_MENTIONS("thunder_txn");
  CHECK_NULL_ARG(thunder_get((thunder_txn *)(void *)b, K("k"), &v), "thunder_get", "txn");
  CHECK_NULL_ARG(thunder_txn_commit((thunder_txn *)(void *)db), "thunder_txn_commit", "txn");
  thunder_txn_abort((thunder_txn *)(void *)o); /* refused, nothing released */
  CHECK(thunder_txn_id((thunder_txn *)(void *)c) == 0);
  CHECK_NULL_ARG(thunder_bucket_put((thunder_bucket *)(void *)w, K("k"), K("v"), 0),
                 "thunder_bucket_put", "b");
  CHECK_NULL_ARG(thunder_bucket_next_sequence((thunder_bucket *)(void *)c, &seq),
                 "thunder_bucket_next_sequence", "b");
  CHECK_NULL_ARG(thunder_cursor_first((thunder_cursor *)(void *)b, &v, &v), "thunder_cursor_first",
                 "c");
  CHECK_NULL_ARG(thunder_cursor_next((thunder_cursor *)(void *)w, &v, &v), "thunder_cursor_next", "c");
  CHECK_NULL_ARG(thunder_cursor_delete((thunder_cursor *)(void *)o), "thunder_cursor_delete", "c");
  thunder_cursor_close((thunder_cursor *)(void *)b); /* refused: b stays live */
  thunder_bucket_close((thunder_bucket *)(void *)c); /* refused: c stays live */
  CHECK_NULL_ARG(thunder_stat((thunder_db *)(void *)w, &st), "thunder_stat", "db");
  CHECK_NULL_ARG(thunder_close((thunder_db *)(void *)o), "thunder_close", "db");
  CHECK(thunder_max_key_size((thunder_db *)(void *)c) == 0);
  thunder_txn *w2 = (thunder_txn *)POISON;
  CHECK_NULL_ARG(thunder_txn_begin((thunder_db *)(void *)b, THUNDER_TXN_READ, &w2),
                 "thunder_txn_begin", "db");
  CHECK(w2 == NULL);
  thunder_db *other = (thunder_db *)POISON;
  CHECK_NULL_ARG(thunder_open(path, (thunder_options *)(void *)db, &other), "thunder_open", "opts");
  CHECK(other == NULL);
  CHECK_NULL_ARG(thunder_options_set_page_size((thunder_options *)(void *)db, 4096),
                 "thunder_options_set_page_size", "o");
  thunder_options_free((thunder_options *)(void *)c); /* refused: c stays live */
  thunder_cursor *c2 = (thunder_cursor *)POISON;
  CHECK_NULL_ARG(thunder_cursor_open((thunder_txn *)(void *)b, NULL, &c2), "thunder_cursor_open",
                 "txn");
  CHECK(c2 == NULL);
  thunder_bucket *b2 = (thunder_bucket *)POISON;
  CHECK_NULL_ARG(thunder_bucket_open((thunder_txn *)(void *)o, NULL, K("typed"), &b2),
                 "thunder_bucket_open", "txn");
  CHECK(b2 == NULL);
  /* Every refused call left the handles live and working. */
  CHECK_OK(thunder_put(w, K("typed"), K("ok"), 0));
  CHECK_OK(thunder_bucket_put(b, K("k"), K("v"), 0));
  CHECK_OK(thunder_cursor_first(c, &v, NULL));
  CHECK_OK(thunder_options_set_create(o, true));
  thunder_cursor_close(c);
  thunder_bucket_close(b);
  CHECK_OK(thunder_txn_commit(w));
  thunder_options_free(o);
}

/* Wrong-type calls above must not have released or damaged anything: the
 * same handles work afterwards. */
static void wrong_types_leave_handles_live(thunder_db *db) {
  thunder_txn *w = NULL;
  thunder_bucket *b = NULL;
  thunder_cursor *c = NULL;
  thunder_options *o = NULL;
  thunder_bytes k;
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_bucket_create_if_missing(w, NULL, K("typed2"), &b));
  CHECK_OK(thunder_cursor_open(w, b, &c));
  thunder_txn_abort((thunder_txn *)(void *)c);
  thunder_txn_abort((thunder_txn *)(void *)b);
  thunder_bucket_close((thunder_bucket *)(void *)c);
  thunder_cursor_close((thunder_cursor *)(void *)b);
  thunder_options_free((thunder_options *)(void *)w);
  thunder_cursor_close((thunder_cursor *)(void *)o);
  CHECK_OK(thunder_bucket_put(b, K("alive"), K("yes"), 0));
  CHECK_OK(thunder_cursor_first(c, &k, NULL));
  CHECK_BYTES(k, "alive");
  CHECK_OK(thunder_options_set_create(o, true));
  thunder_cursor_close(c);
  thunder_bucket_close(b);
  thunder_options_free(o);
  CHECK_OK(thunder_txn_commit(w));
}

/* A bucket handle of one transaction passed as parent (or cursor bucket) in
 * another is rejected, also when both are open at once. */
static void foreign_parent(thunder_db *db) {
  thunder_txn *r = NULL, *w = NULL;
  thunder_bucket *rb = NULL, *out = (thunder_bucket *)POISON;
  thunder_cursor *c = (thunder_cursor *)POISON;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK_OK(thunder_bucket_open(r, NULL, K("b"), &rb));
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_NULL_ARG(thunder_bucket_create(w, rb, K("x"), &out), "thunder_bucket_create", "parent");
  CHECK(out == NULL);
  CHECK_NULL_ARG(thunder_bucket_create_if_missing(w, rb, K("x"), &out),
                 "thunder_bucket_create_if_missing", "parent");
  CHECK_NULL_ARG(thunder_bucket_open(w, rb, K("x"), &out), "thunder_bucket_open", "parent");
  CHECK_NULL_ARG(thunder_bucket_delete(w, rb, K("x")), "thunder_bucket_delete", "parent");
  CHECK_STATUS(thunder_cursor_open(w, rb, &c), THUNDER_INVALID_ARGUMENT);
  CHECK(c == NULL);
  CHECK_STATUS(thunder_bucket_cursor_open(w, rb, &c), THUNDER_INVALID_ARGUMENT);
  CHECK(c == NULL);
  CHECK_OK(thunder_txn_commit(w));
  /* A handle of an ended transaction is closed, whatever it is passed to
   * (API.md: every use after the transaction ended is TXN_CLOSED). */
  thunder_txn_abort(r);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK_STATUS(thunder_bucket_open(r, rb, K("x"), &out), THUNDER_TXN_CLOSED);
  CHECK_ERROR_MENTIONS("parent");
  CHECK_STATUS(thunder_cursor_open(r, rb, &c), THUNDER_TXN_CLOSED);
  CHECK(c == NULL);
  CHECK_STATUS(thunder_bucket_cursor_open(r, rb, &c), THUNDER_TXN_CLOSED);
  thunder_txn_abort(r);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_STATUS(thunder_bucket_create(w, rb, K("x"), &out), THUNDER_TXN_CLOSED);
  CHECK_STATUS(thunder_bucket_delete(w, rb, K("x")), THUNDER_TXN_CLOSED);
  thunder_txn_abort(w);
  thunder_bucket_close(rb);
}

int main(void) {
  last_error_basics(); /* must run before any failing call */
  thunder_db *db = NULL;
  char path[4096];
  snprintf(path, sizeof path, "%s", test_path("errors.db"));
  library_and_options();
  CHECK_OK(thunder_open(path, NULL, &db));
  last_error_is_per_thread_and_sticky(db);
  database(db, path);
  transactions(db);
  keyspace(db);
  buckets(db);
  cursors(db);
  wrong_types(db, path);
  wrong_types_leave_handles_live(db);
  foreign_parent(db);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
  return 0;
}
