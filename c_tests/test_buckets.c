/* Buckets through the C API: create / create_if_missing / open / delete,
 * nesting, separate key and child namespaces, name limits, sequences, writes
 * in read transactions, handles of deleted buckets, delete and re-create
 * under a reader, the bucket key functions and thunder_stat's bucket_count. */
#include "check.h"

static thunder_db *db;

static thunder_txn *begin(thunder_txn_mode m) {
  thunder_txn *t = NULL;
  CHECK_OK(thunder_txn_begin(db, m, &t));
  return t;
}

static uint64_t bucket_count(void) {
  thunder_stats st;
  CHECK_OK(thunder_stat(db, &st));
  return st.bucket_count;
}

static uint64_t next_seq(thunder_bucket *b) {
  uint64_t v = 0;
  CHECK_OK(thunder_bucket_next_sequence(b, &v));
  return v;
}

/* Number of items a cursor yields, and the concatenation of their keys. */
static size_t list(thunder_cursor *c, char *keys, size_t cap) {
  thunder_bytes k, v;
  size_t n = 0, used = 0;
  thunder_status s;
  keys[0] = '\0';
  while ((s = thunder_cursor_next(c, &k, &v)) == THUNDER_OK) {
    n++;
    if (used + k.len + 2 < cap) {
      memcpy(keys + used, k.data, k.len);
      used += k.len;
      keys[used++] = ',';
      keys[used] = '\0';
    }
  }
  CHECK_STATUS(s, THUNDER_NOT_FOUND);
  return n;
}

static void lifecycle(void) {
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  thunder_bucket *a = NULL, *a2 = NULL, *out = NULL;
  thunder_bytes v;
  CHECK_STATUS(thunder_bucket_open(w, NULL, K("absent-bucket"), &out), THUNDER_BUCKET_NOT_FOUND);
  CHECK_ERROR_MENTIONS("absent-bucket"); /* the message names the bucket */
  CHECK_STATUS(thunder_bucket_open(w, NULL, K("a"), &out), THUNDER_BUCKET_NOT_FOUND);
  CHECK_STATUS(thunder_bucket_delete(w, NULL, K("a")), THUNDER_BUCKET_NOT_FOUND);
  CHECK_OK(thunder_bucket_create(w, NULL, K("a"), &a));
  CHECK_STATUS(thunder_bucket_create(w, NULL, K("a"), &out), THUNDER_BUCKET_EXISTS);
  CHECK(out == NULL);
  CHECK_OK(thunder_bucket_put(a, K("k"), K("v1"), 0));
  /* create_if_missing and open return the same bucket. */
  CHECK_OK(thunder_bucket_create_if_missing(w, NULL, K("a"), &a2));
  CHECK_OK(thunder_bucket_get(a2, K("k"), &v));
  CHECK_BYTES(v, "v1");
  CHECK_OK(thunder_bucket_put(a2, K("k2"), K("v2"), 0));
  CHECK_OK(thunder_bucket_get(a, K("k2"), &v)); /* two handles, one bucket */
  thunder_bucket_close(a2);
  CHECK_OK(thunder_bucket_create_if_missing(w, NULL, K("fresh"), &a2)); /* creates */
  CHECK_STATUS(thunder_bucket_get(a2, K("k"), &v), THUNDER_NOT_FOUND);
  thunder_bucket_close(a2);
  CHECK(bucket_count() == 0); /* nothing committed yet */
  CHECK_OK(thunder_txn_commit(w));
  CHECK(bucket_count() == 2);

  thunder_txn *r = begin(THUNDER_TXN_READ);
  CHECK_OK(thunder_bucket_open(r, NULL, K("a"), &a2));
  CHECK_OK(thunder_bucket_get(a2, K("k2"), &v));
  CHECK_BYTES(v, "v2");
  uint8_t *copy = NULL;
  size_t n = 0;
  CHECK_OK(thunder_bucket_get_copy(a2, K("k"), &copy, &n));
  CHECK(n == 2 && memcmp(copy, "v1", 2) == 0);
  thunder_free(copy);
  CHECK_STATUS(thunder_bucket_get_copy(a2, K("nope"), &copy, &n), THUNDER_NOT_FOUND);
  thunder_bucket_close(a2);
  thunder_txn_abort(r);
  thunder_bucket_close(a); /* after its transaction ended: fine */

  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_open(w, NULL, K("a"), &a));
  CHECK_OK(thunder_bucket_delete_key(a, K("k")));
  CHECK_STATUS(thunder_bucket_delete_key(a, K("k")), THUNDER_NOT_FOUND);
  CHECK_STATUS(thunder_bucket_get(a, K("k"), &v), THUNDER_NOT_FOUND);
  CHECK_STATUS(thunder_bucket_put(a, K("k2"), K("x"), THUNDER_PUT_NO_OVERWRITE), THUNDER_KEY_EXISTS);
  CHECK_OK(thunder_bucket_put(a, K("z"), K("last"), THUNDER_PUT_APPEND));
  CHECK_STATUS(thunder_bucket_put(a, K("b"), K("x"), THUNDER_PUT_APPEND), THUNDER_INVALID_ARGUMENT);
  thunder_bucket_close(a);
  CHECK_OK(thunder_bucket_delete(w, NULL, K("fresh")));
  CHECK_STATUS(thunder_bucket_open(w, NULL, K("fresh"), &out), THUNDER_BUCKET_NOT_FOUND);
  CHECK_OK(thunder_txn_commit(w));
  CHECK(bucket_count() == 1);
}

/* a/b/c/d with a key at each level; deleting b removes c and d as well. */
static void nesting(void) {
  const char *names[] = {"n1", "n2", "n3", "n4"};
  thunder_bucket *b[4] = {NULL, NULL, NULL, NULL};
  thunder_bytes v;
  uint64_t before = bucket_count();
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  for (int i = 0; i < 4; i++) {
    CHECK_OK(thunder_bucket_create(w, i ? b[i - 1] : NULL, K(names[i]), &b[i]));
    CHECK_OK(thunder_bucket_put(b[i], K("level"), K(names[i]), 0));
  }
  /* A name lives under its parent only. */
  thunder_bucket *out = NULL;
  CHECK_STATUS(thunder_bucket_open(w, NULL, K("n3"), &out), THUNDER_BUCKET_NOT_FOUND);
  CHECK_STATUS(thunder_bucket_open(w, b[0], K("n3"), &out), THUNDER_BUCKET_NOT_FOUND);
  for (int i = 0; i < 4; i++) thunder_bucket_close(b[i]);
  CHECK_OK(thunder_txn_commit(w));
  CHECK(bucket_count() == before + 4);

  thunder_txn *r = begin(THUNDER_TXN_READ);
  for (int i = 0; i < 4; i++) {
    CHECK_OK(thunder_bucket_open(r, i ? b[i - 1] : NULL, K(names[i]), &b[i]));
    CHECK_OK(thunder_bucket_get(b[i], K("level"), &v));
    CHECK_BYTES(v, names[i]);
  }
  for (int i = 0; i < 4; i++) thunder_bucket_close(b[i]);
  thunder_txn_abort(r);

  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_open(w, NULL, K("n1"), &b[0]));
  CHECK_OK(thunder_bucket_open(w, b[0], K("n2"), &b[1]));
  CHECK_OK(thunder_bucket_open(w, b[1], K("n3"), &b[2]));
  CHECK_OK(thunder_bucket_delete(w, b[0], K("n2"))); /* recursive */
  CHECK_STATUS(thunder_bucket_open(w, b[0], K("n2"), &out), THUNDER_BUCKET_NOT_FOUND);
  /* Handles below the deleted bucket are dead too. */
  CHECK_STATUS(thunder_bucket_get(b[2], K("level"), &v), THUNDER_BUCKET_NOT_FOUND);
  CHECK_STATUS(thunder_bucket_open(w, b[2], K("n4"), &out), THUNDER_BUCKET_NOT_FOUND);
  CHECK_OK(thunder_bucket_get(b[0], K("level"), &v)); /* the parent is fine */
  for (int i = 0; i < 3; i++) thunder_bucket_close(b[i]);
  CHECK_OK(thunder_txn_commit(w));
  CHECK(bucket_count() == before + 1);
  CHECK_OK(thunder_check(db));
}

/* Keys and child buckets are separate namespaces, at the top level too. */
static void namespaces(void) {
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  thunder_bucket *x = NULL, *y = NULL;
  thunder_cursor *c = NULL;
  thunder_bytes k, v;
  char keys[256];
  CHECK_OK(thunder_put(w, K("shared"), K("a key"), 0));
  CHECK_OK(thunder_bucket_create(w, NULL, K("shared"), &x));
  CHECK_OK(thunder_bucket_put(x, K("y"), K("key y"), 0));
  CHECK_OK(thunder_bucket_create(w, x, K("y"), &y));
  CHECK_OK(thunder_bucket_put(y, K("inner"), K("1"), 0));
  thunder_bucket_close(y);
  CHECK_OK(thunder_bucket_create(w, x, K("z"), &y));
  thunder_bucket_close(y);
  CHECK_OK(thunder_get(w, K("shared"), &v));
  CHECK_BYTES(v, "a key");
  CHECK_OK(thunder_bucket_get(x, K("y"), &v));
  CHECK_BYTES(v, "key y");
  CHECK_STATUS(thunder_bucket_get(x, K("z"), &v), THUNDER_NOT_FOUND); /* a bucket, not a key */

  CHECK_OK(thunder_cursor_open(w, x, &c)); /* keys only */
  CHECK(list(c, keys, sizeof keys) == 1 && strcmp(keys, "y,") == 0);
  thunder_cursor_close(c);
  CHECK_OK(thunder_bucket_cursor_open(w, x, &c)); /* child buckets only, empty values */
  CHECK_OK(thunder_cursor_first(c, &k, &v));
  CHECK_BYTES(k, "y");
  CHECK(v.len == 0 && v.data != NULL);
  CHECK_OK(thunder_cursor_next(c, &k, &v));
  CHECK_BYTES(k, "z");
  CHECK(v.len == 0);
  CHECK_STATUS(thunder_cursor_next(c, &k, &v), THUNDER_NOT_FOUND);
  thunder_cursor_close(c);

  /* Deleting the key leaves the bucket and vice versa. */
  CHECK_OK(thunder_bucket_delete_key(x, K("y")));
  thunder_bucket *again = NULL;
  CHECK_OK(thunder_bucket_open(w, x, K("y"), &again));
  CHECK_OK(thunder_bucket_get(again, K("inner"), &v));
  thunder_bucket_close(again);
  CHECK_OK(thunder_bucket_delete(w, NULL, K("shared")));
  CHECK_OK(thunder_get(w, K("shared"), &v));
  CHECK_BYTES(v, "a key");
  thunder_bucket_close(x);
  CHECK_OK(thunder_delete(w, K("shared")));
  CHECK_OK(thunder_txn_commit(w));
}

static void names(void) {
  uint8_t name[256];
  thunder_bucket *b = (thunder_bucket *)name, *parent = NULL;
  memset(name, 0xC3, sizeof name);
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_create(w, NULL, K("names"), &parent));
  for (int p = 0; p < 2; p++) {
    thunder_bucket *par = p ? parent : NULL;
    CHECK_STATUS(thunder_bucket_create(w, par, name, 0, &b), THUNDER_INVALID_ARGUMENT);
    CHECK(b == NULL);
    CHECK_STATUS(thunder_bucket_create(w, par, name, 256, &b), THUNDER_INVALID_ARGUMENT);
    CHECK_ERROR_MENTIONS("256");
    CHECK_STATUS(thunder_bucket_create_if_missing(w, par, name, 256, &b), THUNDER_INVALID_ARGUMENT);
    CHECK_STATUS(thunder_bucket_create_if_missing(w, par, name, 0, &b), THUNDER_INVALID_ARGUMENT);
    CHECK_STATUS(thunder_bucket_open(w, par, name, 256, &b), THUNDER_INVALID_ARGUMENT);
    CHECK_STATUS(thunder_bucket_open(w, par, name, 0, &b), THUNDER_INVALID_ARGUMENT);
    CHECK_STATUS(thunder_bucket_delete(w, par, name, 256), THUNDER_INVALID_ARGUMENT);
    CHECK_STATUS(thunder_bucket_delete(w, par, name, 0), THUNDER_INVALID_ARGUMENT);
    CHECK_OK(thunder_bucket_create(w, par, name, 255, &b));
    CHECK_OK(thunder_bucket_put(b, K("k"), K("v"), 0));
    thunder_bucket_close(b);
    CHECK_OK(thunder_bucket_open(w, par, name, 255, &b));
    thunder_bucket_close(b);
    CHECK_OK(thunder_bucket_create(w, par, name, 1, &b)); /* a one-byte prefix is another name */
    thunder_bucket_close(b);
  }
  thunder_bucket_close(parent);
  CHECK_OK(thunder_txn_commit(w));

  thunder_txn *r = begin(THUNDER_TXN_READ);
  thunder_bytes v;
  CHECK_OK(thunder_bucket_open(r, NULL, name, 255, &b));
  CHECK_OK(thunder_bucket_get(b, K("k"), &v));
  thunder_bucket_close(b);
  thunder_txn_abort(r);
  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_delete(w, NULL, name, 255));
  CHECK_OK(thunder_bucket_delete(w, NULL, name, 1));
  CHECK_OK(thunder_bucket_delete(w, NULL, K("names")));
  CHECK_OK(thunder_txn_commit(w));
}

static void sequences(void) {
  thunder_bucket *s = NULL;
  uint64_t v = 0;
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_create(w, NULL, K("seq"), &s));
  CHECK(next_seq(s) == 1 && next_seq(s) == 2 && next_seq(s) == 3);
  thunder_bucket_close(s);
  CHECK_OK(thunder_txn_commit(w));

  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_open(w, NULL, K("seq"), &s));
  CHECK(next_seq(s) == 4 && next_seq(s) == 5);
  thunder_bucket_close(s);
  thunder_txn_abort(w); /* rolls 4 and 5 back */

  thunder_txn *r = begin(THUNDER_TXN_READ);
  CHECK_OK(thunder_bucket_open(r, NULL, K("seq"), &s));
  CHECK_STATUS(thunder_bucket_next_sequence(s, &v), THUNDER_READ_ONLY);
  CHECK(v == 0);
  thunder_bucket_close(s);
  thunder_txn_abort(r);

  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_open(w, NULL, K("seq"), &s));
  CHECK(next_seq(s) == 4);
  thunder_bucket_close(s);
  CHECK_OK(thunder_txn_commit(w));

  /* Re-created (in one transaction, and across two): back to 1. */
  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_delete(w, NULL, K("seq")));
  CHECK_OK(thunder_bucket_create(w, NULL, K("seq"), &s));
  CHECK(next_seq(s) == 1);
  thunder_bucket_close(s);
  CHECK_OK(thunder_txn_commit(w));
  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_delete(w, NULL, K("seq")));
  CHECK_OK(thunder_txn_commit(w));
  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_create(w, NULL, K("seq"), &s));
  CHECK(next_seq(s) == 1 && next_seq(s) == 2);
  thunder_bucket_close(s);
  CHECK_OK(thunder_txn_commit(w));
}

/* Every write through a bucket of a read transaction is READ_ONLY. */
static void read_txn_writes(void) {
  thunder_txn *r = begin(THUNDER_TXN_READ);
  thunder_bucket *a = NULL, *out = (thunder_bucket *)r;
  thunder_bytes v;
  CHECK_OK(thunder_bucket_open(r, NULL, K("a"), &a));
  CHECK_STATUS(thunder_bucket_put(a, K("k"), K("v"), 0), THUNDER_READ_ONLY);
  CHECK_STATUS(thunder_bucket_delete_key(a, K("k2")), THUNDER_READ_ONLY);
  CHECK_STATUS(thunder_bucket_create(r, a, K("c"), &out), THUNDER_READ_ONLY);
  CHECK(out == NULL);
  CHECK_STATUS(thunder_bucket_create_if_missing(r, NULL, K("c"), &out), THUNDER_READ_ONLY);
  CHECK_STATUS(thunder_bucket_delete(r, NULL, K("a")), THUNDER_READ_ONLY);
  CHECK_OK(thunder_bucket_get(a, K("k2"), &v)); /* nothing changed */
  thunder_bucket_close(a);
  thunder_txn_abort(r);
}

/* A handle of a bucket deleted in its transaction is BUCKET_NOT_FOUND, even
 * after a bucket of the same name is created again; a reader that began
 * before the commit keeps seeing the old bucket. */
static void deleted_handles(void) {
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  thunder_bucket *old = NULL, *fresh = NULL, *out = NULL;
  thunder_cursor *c = NULL;
  thunder_bytes k, v;
  uint64_t seq = 0;
  CHECK_OK(thunder_bucket_create(w, NULL, K("doomed"), &old));
  CHECK_OK(thunder_bucket_put(old, K("old"), K("1"), 0));
  thunder_bucket_close(old);
  CHECK_OK(thunder_txn_commit(w));

  thunder_txn *r = begin(THUNDER_TXN_READ);
  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_open(w, NULL, K("doomed"), &old));
  CHECK_OK(thunder_cursor_open(w, old, &c));
  CHECK_OK(thunder_bucket_delete(w, NULL, K("doomed")));
  CHECK_STATUS(thunder_bucket_get(old, K("old"), &v), THUNDER_BUCKET_NOT_FOUND);
  CHECK_STATUS(thunder_bucket_put(old, K("x"), K("y"), 0), THUNDER_BUCKET_NOT_FOUND);
  CHECK_STATUS(thunder_bucket_delete_key(old, K("old")), THUNDER_BUCKET_NOT_FOUND);
  CHECK_STATUS(thunder_bucket_next_sequence(old, &seq), THUNDER_BUCKET_NOT_FOUND);
  CHECK_STATUS(thunder_bucket_create(w, old, K("child"), &out), THUNDER_BUCKET_NOT_FOUND);
  CHECK_STATUS(thunder_cursor_first(c, &k, &v), THUNDER_BUCKET_NOT_FOUND);
  /* with no current item too, the deleted bucket is what is reported */
  CHECK_STATUS(thunder_cursor_delete(c), THUNDER_BUCKET_NOT_FOUND);
  thunder_cursor *c2 = (thunder_cursor *)&seq;
  CHECK_STATUS(thunder_cursor_open(w, old, &c2), THUNDER_BUCKET_NOT_FOUND);
  CHECK(c2 == NULL);
  CHECK_STATUS(thunder_bucket_cursor_open(w, old, &c2), THUNDER_BUCKET_NOT_FOUND);

  CHECK_OK(thunder_bucket_create(w, NULL, K("doomed"), &fresh));
  CHECK_OK(thunder_bucket_put(fresh, K("new"), K("2"), 0));
  CHECK_STATUS(thunder_bucket_get(fresh, K("old"), &v), THUNDER_NOT_FOUND); /* empty when made */
  /* The old handle does not come back to life as the new bucket. */
  CHECK_STATUS(thunder_bucket_get(old, K("new"), &v), THUNDER_BUCKET_NOT_FOUND);
  CHECK_STATUS(thunder_bucket_put(old, K("x"), K("y"), 0), THUNDER_BUCKET_NOT_FOUND);
  CHECK_STATUS(thunder_cursor_next(c, &k, &v), THUNDER_BUCKET_NOT_FOUND);
  thunder_cursor_close(c);
  thunder_bucket_close(old);
  thunder_bucket_close(fresh);
  CHECK_OK(thunder_txn_commit(w));

  /* The reader still has the old bucket; a new reader has the new one. */
  CHECK_OK(thunder_bucket_open(r, NULL, K("doomed"), &old));
  CHECK_OK(thunder_bucket_get(old, K("old"), &v));
  CHECK_BYTES(v, "1");
  CHECK_STATUS(thunder_bucket_get(old, K("new"), &v), THUNDER_NOT_FOUND);
  thunder_bucket_close(old);
  thunder_txn_abort(r);
  r = begin(THUNDER_TXN_READ);
  CHECK_OK(thunder_bucket_open(r, NULL, K("doomed"), &fresh));
  CHECK_OK(thunder_bucket_get(fresh, K("new"), &v));
  CHECK_STATUS(thunder_bucket_get(fresh, K("old"), &v), THUNDER_NOT_FOUND);
  thunder_bucket_close(fresh);
  thunder_txn_abort(r);

  /* Deleted and re-created while the reader holds a handle of the old one. */
  r = begin(THUNDER_TXN_READ);
  CHECK_OK(thunder_bucket_open(r, NULL, K("doomed"), &old));
  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_delete(w, NULL, K("doomed")));
  CHECK_OK(thunder_txn_commit(w));
  CHECK_OK(thunder_bucket_get(old, K("new"), &v));
  CHECK_BYTES(v, "2");
  thunder_bucket_close(old);
  thunder_txn_abort(r);
  CHECK_OK(thunder_check(db));
}

/* A bucket grown past one page, and many buckets: counts and contents hold. */
static void many(void) {
  char name[32];
  thunder_bucket *b = NULL;
  uint64_t before = bucket_count();
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  for (int i = 0; i < 300; i++) {
    snprintf(name, sizeof name, "bucket-%04d", i);
    CHECK_OK(thunder_bucket_create(w, NULL, K(name), &b));
    CHECK_OK(thunder_bucket_put(b, K("i"), K(name), 0));
    thunder_bucket_close(b);
  }
  CHECK_OK(thunder_txn_commit(w));
  CHECK(bucket_count() == before + 300);
  thunder_txn *r = begin(THUNDER_TXN_READ);
  thunder_cursor *c = NULL;
  thunder_bytes k;
  CHECK_OK(thunder_bucket_cursor_open(r, NULL, &c));
  CHECK_OK(thunder_cursor_seek(c, K("bucket-"), &k, NULL));
  CHECK_BYTES(k, "bucket-0000");
  CHECK_OK(thunder_cursor_seek(c, K("bucket-0299"), &k, NULL));
  CHECK_OK(thunder_cursor_next(c, &k, NULL));
  CHECK(k.len < 7 || memcmp(k.data, "bucket-", 7) != 0);
  thunder_cursor_close(c);
  thunder_txn_abort(r);
  w = begin(THUNDER_TXN_WRITE);
  for (int i = 0; i < 300; i += 2) {
    snprintf(name, sizeof name, "bucket-%04d", i);
    CHECK_OK(thunder_bucket_delete(w, NULL, K(name)));
  }
  CHECK_OK(thunder_txn_commit(w));
  CHECK(bucket_count() == before + 150);
}

int main(void) {
  char path[4096];
  snprintf(path, sizeof path, "%s", test_path("buckets.db"));
  CHECK_OK(open_test_db(path, &db));
  lifecycle();
  nesting();
  namespaces();
  names();
  sequences();
  read_txn_writes();
  deleted_handles();
  many();
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));

  /* Sequences and buckets persist. */
  CHECK_OK(open_test_db(path, &db));
  uint64_t n = bucket_count();
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  thunder_bucket *s = NULL;
  CHECK_OK(thunder_bucket_open(w, NULL, K("seq"), &s));
  CHECK(next_seq(s) == 3);
  thunder_bucket_close(s);
  CHECK_OK(thunder_txn_commit(w));
  CHECK(bucket_count() == n);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
  return 0;
}
