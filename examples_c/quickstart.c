/* The thunder quickstart: open a database, write in a transaction, read it
 * back, list it with a cursor. Usage: quickstart [database path] */
#include <stdio.h>
#include <string.h>

#include "thunder.h"

static int fail(const char *what, thunder_status s) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, thunder_strerror(s), thunder_last_error());
  return 1;
}

int main(int argc, char **argv) {
  const char *path = argc > 1 ? argv[1] : "quickstart.db";
  thunder_db *db;
  thunder_txn *txn;
  thunder_status s;

  printf("thunder %s: opening %s\n", thunder_version(), path);
  if ((s = thunder_open(path, NULL, &db)) != THUNDER_OK) return fail("open", s);

  /* Write: one transaction, committed durably. */
  if ((s = thunder_txn_begin(db, THUNDER_TXN_WRITE, &txn)) != THUNDER_OK) return fail("begin write", s);
  const char *fruit[][2] = {{"apple", "red"}, {"banana", "yellow"}, {"cherry", "dark red"}};
  for (int i = 0; i < 3; i++) {
    s = thunder_put(txn, (const uint8_t *)fruit[i][0], strlen(fruit[i][0]),
                    (const uint8_t *)fruit[i][1], strlen(fruit[i][1]), 0);
    if (s != THUNDER_OK) {
      thunder_txn_abort(txn);
      return fail("put", s);
    }
  }
  if ((s = thunder_txn_commit(txn)) != THUNDER_OK) return fail("commit", s);
  printf("wrote 3 keys\n");

  /* Read back: a snapshot; views point into the database, no copies. */
  if ((s = thunder_txn_begin(db, THUNDER_TXN_READ, &txn)) != THUNDER_OK) return fail("begin read", s);
  thunder_bytes val;
  if ((s = thunder_get(txn, (const uint8_t *)"banana", 6, &val)) != THUNDER_OK) return fail("get", s);
  printf("banana -> %.*s\n", (int)val.len, (const char *)val.data);

  thunder_cursor *c;
  if ((s = thunder_cursor_open(txn, NULL, &c)) != THUNDER_OK) return fail("cursor", s);
  thunder_bytes k, v;
  printf("all keys in order:\n");
  while ((s = thunder_cursor_next(c, &k, &v)) == THUNDER_OK)
    printf("  %.*s = %.*s\n", (int)k.len, (const char *)k.data, (int)v.len, (const char *)v.data);
  thunder_cursor_close(c);
  if (s != THUNDER_NOT_FOUND) return fail("cursor next", s);
  thunder_txn_abort(txn); /* read transactions end with abort or commit */

  thunder_stats st;
  if ((s = thunder_stat(db, &st)) != THUNDER_OK) return fail("stat", s);
  printf("%llu keys, %llu pages of %u bytes, last txid %llu\n", (unsigned long long)st.key_count,
         (unsigned long long)st.page_count, st.page_size, (unsigned long long)st.last_txid);
  if ((s = thunder_close(db)) != THUNDER_OK) return fail("close", s);
  printf("closed %s\n", path);
  return 0;
}
