/* Key-value basics through the C API: put/get/get_copy/delete, flags,
 * snapshot isolation, empty and large values. Also compiled as C++ (make
 * c-cxx), so it sticks to the common subset of C and C++. */
#include "check.h"

static void put_get_delete(thunder_db *db) {
  thunder_txn *w = NULL, *r = NULL;
  thunder_bytes v;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK(thunder_txn_id(w) == 1);
  CHECK_OK(thunder_put(w, K("alpha"), K("one"), 0));
  CHECK_OK(thunder_put(w, K("beta"), NULL, 0, 0)); /* empty value, NULL pointer */
  CHECK_OK(thunder_get(w, K("alpha"), &v)); /* a write txn sees its own changes */
  CHECK_BYTES(v, "one");
  CHECK_OK(thunder_txn_commit(w));

  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK(thunder_txn_id(r) == 1);
  CHECK_OK(thunder_get(r, K("alpha"), &v));
  CHECK_BYTES(v, "one");
  CHECK_OK(thunder_get(r, K("beta"), &v));
  CHECK(v.len == 0 && v.data != NULL);
  CHECK_STATUS(thunder_get(r, K("gamma"), &v), THUNDER_NOT_FOUND);

  uint8_t *copy = NULL;
  size_t n = 0;
  CHECK_OK(thunder_get_copy(r, K("alpha"), &copy, &n));
  CHECK(n == 3 && memcmp(copy, "one", 3) == 0);
  thunder_free(copy);
  CHECK_OK(thunder_get_copy(r, K("beta"), &copy, &n));
  CHECK(n == 0 && copy != NULL);
  thunder_free(copy);
  thunder_free(NULL);
  CHECK_STATUS(thunder_put(r, K("x"), K("y"), 0), THUNDER_READ_ONLY);
  CHECK_STATUS(thunder_delete(r, K("alpha")), THUNDER_READ_ONLY);
  CHECK_OK(thunder_txn_commit(r)); /* same as abort for a read txn */

  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_delete(w, K("alpha")));
  CHECK_STATUS(thunder_delete(w, K("alpha")), THUNDER_NOT_FOUND);
  CHECK_STATUS(thunder_get(w, K("alpha"), &v), THUNDER_NOT_FOUND);
  thunder_txn_abort(w); /* discarded */

  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK_OK(thunder_get(r, K("alpha"), &v));
  CHECK_BYTES(v, "one");
  thunder_txn_abort(r);
}

static void flags(thunder_db *db) {
  thunder_txn *w = NULL;
  thunder_bytes v;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_STATUS(thunder_put(w, K("alpha"), K("two"), THUNDER_PUT_NO_OVERWRITE), THUNDER_KEY_EXISTS);
  CHECK_OK(thunder_get(w, K("alpha"), &v));
  CHECK_BYTES(v, "one"); /* KEY_EXISTS leaves the value and the txn usable */
  CHECK_OK(thunder_put(w, K("zz1"), K("a"), THUNDER_PUT_APPEND));
  CHECK_OK(thunder_put(w, K("zz2"), K("b"), THUNDER_PUT_APPEND | THUNDER_PUT_NO_OVERWRITE));
  CHECK_STATUS(thunder_put(w, K("zz0"), K("c"), THUNDER_PUT_APPEND), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("APPEND");
  CHECK_STATUS(thunder_get(w, K("zz0"), &v), THUNDER_NOT_FOUND); /* nothing written */
  CHECK_STATUS(thunder_put(w, K("k"), K("v"), 0x4), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("flags");
  CHECK_OK(thunder_txn_commit(w));
}

static void isolation(thunder_db *db) {
  thunder_txn *r = NULL, *w = NULL;
  thunder_bytes v;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  uint64_t snap = thunder_txn_id(r);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK(thunder_txn_id(w) == snap + 1);
  CHECK_OK(thunder_put(w, K("alpha"), K("changed"), 0));
  CHECK_OK(thunder_txn_commit(w));
  CHECK_OK(thunder_get(r, K("alpha"), &v)); /* the old snapshot is unchanged */
  CHECK_BYTES(v, "one");
  thunder_txn_abort(r);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK_OK(thunder_get(r, K("alpha"), &v));
  CHECK_BYTES(v, "changed");
  thunder_txn_abort(r);
}

static void large_values(thunder_db *db) {
  size_t sizes[] = {2047, 2048, 2049, 100000, 3u << 20};
  thunder_txn *w = NULL;
  thunder_bytes v;
  size_t i, j;
  for (i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    uint8_t *buf = (uint8_t *)malloc(sizes[i]);
    CHECK(buf != NULL);
    for (j = 0; j < sizes[i]; j++) buf[j] = (uint8_t)(j * 7 + i);
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
    CHECK_OK(thunder_put(w, K("big"), buf, sizes[i], 0));
    CHECK_OK(thunder_txn_commit(w));
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &w));
    CHECK_OK(thunder_get(w, K("big"), &v));
    CHECK(v.len == sizes[i] && memcmp(v.data, buf, sizes[i]) == 0);
    thunder_txn_abort(w);
    free(buf);
  }
}

/* A view may be passed to the next modifying call of its transaction: copy
 * a value to other keys from views (they point into leaves this transaction
 * has changed), and rewrite each item through a cursor with its own key
 * view. Under ASan this also catches a read of a moved node buffer. */
static void views_as_inputs(thunder_db *db) {
  thunder_txn *w = NULL;
  thunder_cursor *c = NULL;
  thunder_bytes k, v;
  uint8_t val[100];
  char src[16] = "v-src", dst[16];
  int i, n = 0;
  for (i = 0; i < 100; i++) val[i] = (uint8_t)(i * 3 + 1);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K(src), val, sizeof val, 0));
  for (i = 0; i < 100; i++) {
    snprintf(dst, sizeof dst, "v-%03d", i);
    CHECK_OK(thunder_get(w, K(src), &v));
    CHECK_OK(thunder_put(w, K(dst), v.data, v.len, 0));
    CHECK_OK(thunder_get(w, K(dst), &v));
    CHECK(v.len == sizeof val && memcmp(v.data, val, sizeof val) == 0);
    memcpy(src, dst, sizeof dst);
  }
  CHECK_OK(thunder_cursor_open(w, NULL, &c));
  CHECK_OK(thunder_cursor_seek(c, K("v-"), &k, &v));
  do {
    if (k.len < 2 || memcmp(k.data, "v-", 2) != 0) break;
    CHECK(v.len == sizeof val && memcmp(v.data, val, sizeof val) == 0);
    CHECK_OK(thunder_put(w, k.data, k.len, v.data, v.len - 1, 0));
    n++;
  } while (thunder_cursor_next(c, &k, &v) == THUNDER_OK);
  CHECK(n == 101);
  thunder_cursor_close(c);
  CHECK_OK(thunder_get(w, K("v-050"), &v));
  CHECK(v.len == sizeof val - 1 && memcmp(v.data, val, sizeof val - 1) == 0);
  CHECK_OK(thunder_txn_commit(w));
}

int main(void) {
  thunder_db *db = NULL;
  CHECK_OK(open_test_db(test_path("kv.db"), &db));
  put_get_delete(db);
  flags(db);
  isolation(db);
  large_values(db);
  views_as_inputs(db);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
  return 0;
}
