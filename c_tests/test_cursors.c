/* Cursors through the C API: first/last/next/prev/seek, running off either
 * end, cursor delete, a write transaction's cursor staying ordered while
 * other calls insert and delete around it (across leaf splits and merges),
 * optional outputs, bucket cursors, and binary key order. */
#include "check.h"

static thunder_db *db;

static thunder_txn *begin(thunder_txn_mode m) {
  thunder_txn *t = NULL;
  CHECK_OK(thunder_txn_begin(db, m, &t));
  return t;
}

static thunder_cursor *cursor(thunder_txn *t, thunder_bucket *b) {
  thunder_cursor *c = NULL;
  CHECK_OK(thunder_cursor_open(t, b, &c));
  return c;
}

/* Expect the cursor move `expr` to land on key `want` (NULL: NOT_FOUND). */
static void expect_at(int line, thunder_status got, const thunder_bytes *k, const char *want) {
  thunder_status exp = want ? THUNDER_OK : THUNDER_NOT_FOUND;
  if (got != exp) {
    fprintf(stderr, "%s:%d: cursor move returned %s, expected %s\n  last error: %s\n", __FILE__,
            line, status_name(got), status_name(exp), thunder_last_error());
    exit(1);
  }
  if (want && (k->len != strlen(want) || memcmp(k->data, want, k->len) != 0)) {
    fprintf(stderr, "%s:%d: cursor at \"%.*s\", expected \"%s\"\n", __FILE__, line, (int)k->len,
            (const char *)k->data, want);
    exit(1);
  }
}
#define MOVE(expr, want) expect_at(__LINE__, (expr), &k, (want))

static const char *const five[] = {"k1", "k2", "k3", "k4", "k5"};

static void fill_five(thunder_txn *w) {
  for (int i = 0; i < 5; i++) CHECK_OK(thunder_put(w, K(five[i]), K(five[i]), 0));
}

static void movement(void) {
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  thunder_cursor *c = cursor(w, NULL);
  thunder_bytes k, v;
  /* Empty keyspace. */
  MOVE(thunder_cursor_first(c, &k, &v), NULL);
  MOVE(thunder_cursor_last(c, &k, &v), NULL);
  MOVE(thunder_cursor_next(c, &k, &v), NULL);
  MOVE(thunder_cursor_prev(c, &k, &v), NULL);
  MOVE(thunder_cursor_seek(c, K("a"), &k, &v), NULL);
  MOVE(thunder_cursor_seek(c, NULL, 0, &k, &v), NULL);
  thunder_cursor_close(c);
  fill_five(w);
  CHECK_OK(thunder_txn_commit(w));

  thunder_txn *r = begin(THUNDER_TXN_READ);
  /* A fresh cursor: next acts as first, prev as last. */
  c = cursor(r, NULL);
  MOVE(thunder_cursor_next(c, &k, &v), "k1");
  CHECK_BYTES(v, "k1");
  thunder_cursor_close(c);
  c = cursor(r, NULL);
  MOVE(thunder_cursor_prev(c, &k, &v), "k5");
  thunder_cursor_close(c);

  c = cursor(r, NULL);
  MOVE(thunder_cursor_first(c, &k, &v), "k1");
  for (int i = 1; i < 5; i++) MOVE(thunder_cursor_next(c, &k, &v), five[i]);
  /* Off the end: next keeps saying NOT_FOUND, prev comes back to the last. */
  k.len = 99;
  MOVE(thunder_cursor_next(c, &k, &v), NULL);
  CHECK(k.len == 99); /* outputs untouched */
  MOVE(thunder_cursor_next(c, &k, &v), NULL);
  MOVE(thunder_cursor_prev(c, &k, &v), "k5");
  MOVE(thunder_cursor_prev(c, &k, &v), "k4");
  MOVE(thunder_cursor_last(c, &k, &v), "k5");
  for (int i = 3; i >= 0; i--) MOVE(thunder_cursor_prev(c, &k, &v), five[i]);
  /* Symmetrically off the start. */
  MOVE(thunder_cursor_prev(c, &k, &v), NULL);
  MOVE(thunder_cursor_prev(c, &k, &v), NULL);
  MOVE(thunder_cursor_next(c, &k, &v), "k1");
  MOVE(thunder_cursor_next(c, &k, &v), "k2");

  /* Seek: the first key >= the argument; empty = the first. */
  MOVE(thunder_cursor_seek(c, K("k3"), &k, &v), "k3");
  CHECK_BYTES(v, "k3");
  MOVE(thunder_cursor_next(c, &k, &v), "k4");
  MOVE(thunder_cursor_seek(c, K("k2x"), &k, &v), "k3");
  MOVE(thunder_cursor_prev(c, &k, &v), "k2");
  MOVE(thunder_cursor_seek(c, K("a"), &k, &v), "k1");
  MOVE(thunder_cursor_seek(c, NULL, 0, &k, &v), "k1");
  MOVE(thunder_cursor_seek(c, (const uint8_t *)"zzz", 0, &k, &v), "k1");
  MOVE(thunder_cursor_seek(c, K("k"), &k, &v), "k1");
  MOVE(thunder_cursor_seek(c, K("k5"), &k, &v), "k5");
  MOVE(thunder_cursor_seek(c, K("k6"), &k, &v), NULL);
  MOVE(thunder_cursor_prev(c, &k, &v), "k5"); /* a seek past the end leaves it past the end */
  MOVE(thunder_cursor_seek(c, K("k6"), &k, &v), NULL);
  MOVE(thunder_cursor_next(c, &k, &v), NULL);
  MOVE(thunder_cursor_seek(c, K("k4"), &k, &v), "k4"); /* seek again after a miss */

  /* Outputs are optional, one or both. */
  CHECK_OK(thunder_cursor_first(c, NULL, NULL));
  CHECK_OK(thunder_cursor_next(c, NULL, &v));
  CHECK_BYTES(v, "k2");
  CHECK_OK(thunder_cursor_next(c, &k, NULL));
  CHECK_BYTES(k, "k3");
  CHECK_OK(thunder_cursor_prev(c, NULL, NULL));
  CHECK_OK(thunder_cursor_last(c, NULL, &v));
  CHECK_BYTES(v, "k5");
  CHECK_OK(thunder_cursor_seek(c, K("k4"), NULL, NULL));
  MOVE(thunder_cursor_next(c, &k, NULL), "k5");
  thunder_cursor_close(c);

  /* A read cursor does not see later commits. */
  c = cursor(r, NULL);
  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_put(w, K("k0"), K("new"), 0));
  CHECK_OK(thunder_delete(w, K("k3")));
  CHECK_OK(thunder_txn_commit(w));
  MOVE(thunder_cursor_first(c, &k, &v), "k1");
  MOVE(thunder_cursor_seek(c, K("k3"), &k, &v), "k3");
  thunder_cursor_close(c);
  thunder_txn_abort(r);
  w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_delete(w, K("k0")));
  CHECK_OK(thunder_put(w, K("k3"), K("k3"), 0));
  CHECK_OK(thunder_txn_commit(w));
}

static void deletes(void) {
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  thunder_cursor *c = cursor(w, NULL);
  thunder_bytes k, v;
  CHECK_STATUS(thunder_cursor_delete(c), THUNDER_NOT_FOUND); /* unpositioned */
  CHECK_ERROR_MENTIONS("no current item");
  MOVE(thunder_cursor_seek(c, K("k3"), &k, &v), "k3");
  CHECK_OK(thunder_cursor_delete(c));
  CHECK_STATUS(thunder_cursor_delete(c), THUNDER_NOT_FOUND); /* no current item */
  CHECK_ERROR_MENTIONS("no current item");
  CHECK_STATUS(thunder_get(w, K("k3"), &v), THUNDER_NOT_FOUND);
  MOVE(thunder_cursor_next(c, &k, &v), "k4"); /* the item after the deleted one */
  CHECK_OK(thunder_put(w, K("k3"), K("k3"), 0));
  MOVE(thunder_cursor_seek(c, K("k3"), &k, &v), "k3");
  CHECK_OK(thunder_cursor_delete(c));
  MOVE(thunder_cursor_prev(c, &k, &v), "k2"); /* the item before it */
  /* Deleting the first and the last. */
  MOVE(thunder_cursor_first(c, &k, &v), "k1");
  CHECK_OK(thunder_cursor_delete(c));
  MOVE(thunder_cursor_prev(c, &k, &v), NULL);
  MOVE(thunder_cursor_next(c, &k, &v), "k2");
  MOVE(thunder_cursor_last(c, &k, &v), "k5");
  CHECK_OK(thunder_cursor_delete(c));
  MOVE(thunder_cursor_next(c, &k, &v), NULL);
  MOVE(thunder_cursor_prev(c, &k, &v), "k4");
  /* Past the end there is nothing to delete. */
  MOVE(thunder_cursor_next(c, &k, &v), NULL);
  CHECK_STATUS(thunder_cursor_delete(c), THUNDER_NOT_FOUND);
  thunder_cursor_close(c);
  thunder_txn_abort(w); /* k1..k5 stay */

  /* Delete everything while walking forward, then backward. */
  w = begin(THUNDER_TXN_WRITE);
  c = cursor(w, NULL);
  int n = 0;
  while (thunder_cursor_next(c, &k, NULL) == THUNDER_OK) {
    CHECK_OK(thunder_cursor_delete(c));
    n++;
  }
  CHECK(n == 5);
  MOVE(thunder_cursor_first(c, &k, &v), NULL);
  thunder_cursor_close(c);
  thunder_txn_abort(w);
  w = begin(THUNDER_TXN_WRITE);
  c = cursor(w, NULL);
  n = 0;
  while (thunder_cursor_prev(c, &k, NULL) == THUNDER_OK) {
    CHECK_OK(thunder_cursor_delete(c));
    n++;
  }
  CHECK(n == 5);
  thunder_cursor_close(c);
  thunder_txn_abort(w);

  /* READ_ONLY in a read transaction, INVALID_ARGUMENT on a bucket cursor. */
  thunder_txn *r = begin(THUNDER_TXN_READ);
  c = cursor(r, NULL);
  MOVE(thunder_cursor_first(c, &k, &v), "k1");
  CHECK_STATUS(thunder_cursor_delete(c), THUNDER_READ_ONLY);
  thunder_cursor_close(c);
  thunder_txn_abort(r);
  w = begin(THUNDER_TXN_WRITE);
  thunder_bucket *b = NULL;
  CHECK_OK(thunder_bucket_create(w, NULL, K("kid"), &b));
  thunder_bucket_close(b);
  CHECK_OK(thunder_bucket_cursor_open(w, NULL, &c));
  MOVE(thunder_cursor_first(c, &k, &v), "kid");
  CHECK_STATUS(thunder_cursor_delete(c), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("thunder_bucket_delete");
  thunder_cursor_close(c);
  CHECK_OK(thunder_bucket_open(w, NULL, K("kid"), &b)); /* still there */
  thunder_bucket_close(b);
  thunder_txn_abort(w);
}

static void key_of(char *buf, size_t cap, int i) { snprintf(buf, cap, "key%06d", i); }

/* A cursor of a write transaction keeps its place while thunder_put and
 * thunder_delete reshape the tree under it (thousands of keys: splits and
 * merges), and sees the transaction's own changes in order. */
static void stable_under_changes(void) {
  enum { N = 4000 };
  char key[32], val[120], prev[32];
  thunder_bytes k, v;
  memset(val, 'v', sizeof val);
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  for (int i = 0; i < N; i += 2) { /* even keys */
    key_of(key, sizeof key, i);
    CHECK_OK(thunder_put(w, K(key), (const uint8_t *)val, sizeof val, 0));
  }
  CHECK_OK(thunder_txn_commit(w));

  w = begin(THUNDER_TXN_WRITE);
  thunder_cursor *c = cursor(w, NULL);
  MOVE(thunder_cursor_seek(c, K("key001000"), &k, &v), "key001000");
  /* Insert every odd key, before and after the cursor. */
  for (int i = 1; i < N; i += 2) {
    key_of(key, sizeof key, i);
    CHECK_OK(thunder_put(w, K(key), (const uint8_t *)val, 10, 0));
  }
  MOVE(thunder_cursor_next(c, &k, &v), "key001001"); /* new, right after */
  CHECK(v.len == 10);
  MOVE(thunder_cursor_prev(c, &k, &v), "key001000");
  MOVE(thunder_cursor_prev(c, &k, &v), "key000999");
  /* Delete the current key and its neighbours through other calls. */
  CHECK_OK(thunder_delete(w, K("key000999")));
  CHECK_OK(thunder_delete(w, K("key001000")));
  CHECK_OK(thunder_delete(w, K("key000998")));
  MOVE(thunder_cursor_next(c, &k, &v), "key001001");
  MOVE(thunder_cursor_prev(c, &k, &v), "key000997");
  /* Delete a large range ahead (merges), then walk on. */
  for (int i = 1100; i < 3000; i++) {
    key_of(key, sizeof key, i);
    CHECK_OK(thunder_delete(w, K(key)));
  }
  int n = 0;
  size_t prev_len = (size_t)snprintf(prev, sizeof prev, "key000997");
  while (thunder_cursor_next(c, &k, &v) == THUNDER_OK) {
    /* strictly ascending */
    size_t m = k.len < prev_len ? k.len : prev_len;
    int cmp = memcmp(k.data, prev, m);
    CHECK(cmp > 0 || (cmp == 0 && k.len > prev_len));
    CHECK(k.len < sizeof prev);
    memcpy(prev, k.data, k.len);
    prev_len = k.len;
    n++;
    if (n == 50) { /* and a put right behind and ahead of the cursor mid-walk */
      CHECK_OK(thunder_put(w, K("key001001a"), K("behind"), 0));
      CHECK_OK(thunder_put(w, K("key003000a"), K("ahead"), 0));
    }
  }
  /* After key000997: 1001..1099, 3000..3999 and "key003000a" (inserted
   * ahead of the cursor; "key001001a" went in behind it). */
  int expect = 99 + (N - 3000) + 1;
  CHECK(n == expect);
  /* The way back is ordered too and sees both inserts. */
  MOVE(thunder_cursor_prev(c, &k, &v), "key003999");
  MOVE(thunder_cursor_seek(c, K("key003000"), &k, &v), "key003000");
  MOVE(thunder_cursor_next(c, &k, &v), "key003000a");
  CHECK_BYTES(v, "ahead");
  thunder_cursor_close(c);
  CHECK_OK(thunder_txn_commit(w));
  thunder_stats st;
  CHECK_OK(thunder_stat(db, &st));
  CHECK(st.key_count == (uint64_t)(5 + N - 1900 - 3 + 2));
  CHECK_OK(thunder_check(db));
}

/* Binary keys order bytewise (unsigned), shorter prefix first. */
static void binary_order(void) {
  static const uint8_t keys[][3] = {{0x00}, {0x00, 0x00}, {0x00, 0x01}, {0x01}, {0x7F},
                                    {0x80}, {0xFF},       {0xFF, 0x00}, {0xFF, 0xFF}};
  static const size_t lens[] = {1, 2, 2, 1, 1, 1, 1, 2, 2};
  static const int insert_order[] = {6, 0, 8, 3, 1, 7, 4, 2, 5};
  thunder_bytes k, v;
  thunder_bucket *b = NULL;
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  CHECK_OK(thunder_bucket_create(w, NULL, K("binary"), &b));
  for (int i = 0; i < 9; i++) {
    int j = insert_order[i];
    CHECK_OK(thunder_bucket_put(b, keys[j], lens[j], keys[j], lens[j], 0));
  }
  thunder_cursor *c = cursor(w, b);
  for (int i = 0; i < 9; i++) {
    CHECK_OK(thunder_cursor_next(c, &k, &v));
    CHECK(k.len == lens[i] && memcmp(k.data, keys[i], lens[i]) == 0);
    CHECK(v.len == lens[i] && memcmp(v.data, keys[i], lens[i]) == 0);
  }
  CHECK_STATUS(thunder_cursor_next(c, &k, &v), THUNDER_NOT_FOUND);
  static const uint8_t ff[] = {0xFF}, past[] = {0xFF, 0xFF, 0x00}, mid[] = {0x00, 0x00, 0x00};
  CHECK_OK(thunder_cursor_seek(c, ff, 1, &k, NULL));
  CHECK(k.len == 1 && k.data[0] == 0xFF);
  CHECK_OK(thunder_cursor_seek(c, mid, 3, &k, NULL));
  CHECK(k.len == 2 && k.data[0] == 0x00 && k.data[1] == 0x01);
  CHECK_STATUS(thunder_cursor_seek(c, past, 3, &k, NULL), THUNDER_NOT_FOUND);
  CHECK_OK(thunder_cursor_last(c, &k, NULL));
  CHECK(k.len == 2 && k.data[0] == 0xFF && k.data[1] == 0xFF);
  thunder_cursor_close(c);
  /* The default keyspace and the bucket's children do not show up here. */
  c = cursor(w, NULL);
  MOVE(thunder_cursor_first(c, &k, &v), "k1");
  thunder_cursor_close(c);
  thunder_bucket_close(b);
  CHECK_OK(thunder_txn_commit(w));
}

/* Bucket cursors list child names only, in order, with empty values. */
static void bucket_cursors(void) {
  thunder_txn *w = begin(THUNDER_TXN_WRITE);
  thunder_bucket *p = NULL, *ch = NULL;
  thunder_bytes k, v;
  const char *kids[] = {"alpha", "beta", "gamma"};
  CHECK_OK(thunder_bucket_create(w, NULL, K("parent"), &p));
  CHECK_OK(thunder_bucket_put(p, K("a-key"), K("not a bucket"), 0));
  for (int i = 2; i >= 0; i--) {
    CHECK_OK(thunder_bucket_create(w, p, K(kids[i]), &ch));
    CHECK_OK(thunder_bucket_put(ch, K("x"), K("y"), 0));
    thunder_bucket_close(ch);
  }
  thunder_cursor *c = NULL;
  CHECK_OK(thunder_bucket_cursor_open(w, p, &c));
  for (int i = 0; i < 3; i++) {
    MOVE(thunder_cursor_next(c, &k, &v), kids[i]);
    CHECK(v.len == 0 && v.data != NULL);
  }
  MOVE(thunder_cursor_next(c, &k, &v), NULL);
  MOVE(thunder_cursor_prev(c, &k, &v), "gamma");
  MOVE(thunder_cursor_seek(c, K("b"), &k, &v), "beta");
  /* A child deleted behind the cursor disappears from it. */
  CHECK_OK(thunder_bucket_delete(w, p, K("gamma")));
  MOVE(thunder_cursor_next(c, &k, &v), NULL);
  thunder_cursor_close(c);
  thunder_bucket_close(p);
  CHECK_OK(thunder_txn_commit(w));

  /* Top-level bucket names, in a read transaction. */
  thunder_txn *r = begin(THUNDER_TXN_READ);
  CHECK_OK(thunder_bucket_cursor_open(r, NULL, &c));
  MOVE(thunder_cursor_first(c, &k, &v), "binary");
  MOVE(thunder_cursor_next(c, &k, &v), "parent"); /* "kid" was aborted */
  MOVE(thunder_cursor_next(c, &k, &v), NULL);
  thunder_cursor_close(c);
  thunder_txn_abort(r);
}

int main(void) {
  CHECK_OK(open_test_db(test_path("cursors.db"), &db));
  movement();
  deletes();
  binary_order();
  bucket_cursors();
  stable_under_changes();
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
  return 0;
}
