/* Concurrent readers with one writer.
 *
 * One thunder_db is shared by every thread. A writer thread commits a series
 * of transfers between two accounts; each transfer moves money from one
 * account to the other in a single transaction, so the total never changes.
 * Reader threads meanwhile take snapshots (read transactions) and check that
 * the total is the same in every one: a read transaction sees exactly one
 * committed state, never half a transfer, and neither readers nor the writer
 * wait for each other.
 *
 * Usage: readers_writer <database path>        (build with -lthunder -lpthread) */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "thunder.h"

#define READERS 3
#define TRANSFERS 200
#define START_BALANCE 1000

static thunder_db *db;
static volatile int writer_finished; /* set once the writer is done */
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;

/* Reports a failed call and ends the program. */
static void fail(const char *what, thunder_status s) {
  fprintf(stderr, "%s failed: %s (%s)\n", what, thunder_strerror(s), thunder_last_error());
  exit(1);
}

#define TRY(what, call)                          \
  do {                                           \
    thunder_status s_ = (call);                  \
    if (s_ != THUNDER_OK) fail((what), s_);      \
  } while (0)

/* Balances are stored as decimal text. */
static int64_t read_balance(thunder_txn *txn, const char *account) {
  thunder_bytes v;
  char buf[32];
  TRY("get balance", thunder_get(txn, (const uint8_t *)account, strlen(account), &v));
  if (v.len >= sizeof buf) {
    fprintf(stderr, "balance of %s is malformed\n", account);
    exit(1);
  }
  memcpy(buf, v.data, v.len); /* views are not NUL-terminated */
  buf[v.len] = '\0';
  return strtoll(buf, NULL, 10);
}

static void write_balance(thunder_txn *txn, const char *account, int64_t amount) {
  char buf[32];
  int n = snprintf(buf, sizeof buf, "%" PRId64, amount);
  TRY("put balance",
      thunder_put(txn, (const uint8_t *)account, strlen(account), (const uint8_t *)buf, (size_t)n, 0));
}

/* The writer: each transfer is one write transaction. THUNDER_TXN_WRITE
 * waits if another write transaction is open (there is only ever one). */
static void *writer(void *arg) {
  (void)arg;
  for (int i = 1; i <= TRANSFERS; i++) {
    thunder_txn *txn;
    TRY("begin write", thunder_txn_begin(db, THUNDER_TXN_WRITE, &txn));
    int64_t alice = read_balance(txn, "alice"), bob = read_balance(txn, "bob");
    int64_t amount = (i % 7) + 1;
    if (i % 2) amount = -amount; /* back and forth */
    write_balance(txn, "alice", alice - amount);
    write_balance(txn, "bob", bob + amount);
    TRY("commit", thunder_txn_commit(txn)); /* releases txn, success or not */
  }
  pthread_mutex_lock(&print_lock);
  printf("writer: committed %d transfers\n", TRANSFERS);
  writer_finished = 1;
  pthread_mutex_unlock(&print_lock);
  return NULL;
}

/* A reader: takes snapshots until the writer is done; in each one the two
 * balances add up to the starting total. */
static void *reader(void *arg) {
  int id = (int)(intptr_t)arg, snapshots = 0, done = 0;
  uint64_t first_txid = 0, last_txid = 0;
  while (!done) {
    pthread_mutex_lock(&print_lock);
    done = writer_finished; /* one last snapshot after the writer ends */
    pthread_mutex_unlock(&print_lock);
    thunder_txn *txn;
    TRY("begin read", thunder_txn_begin(db, THUNDER_TXN_READ, &txn));
    uint64_t txid = thunder_txn_id(txn); /* the commit this snapshot shows */
    int64_t total = read_balance(txn, "alice") + read_balance(txn, "bob");
    /* Reading again in the same snapshot gives the same answer, whatever
     * the writer commits in between. */
    int64_t again = read_balance(txn, "alice") + read_balance(txn, "bob");
    thunder_txn_abort(txn); /* read transactions end with abort (or commit) */
    if (total != 2 * START_BALANCE || again != total) {
      fprintf(stderr, "reader %d: snapshot %" PRIu64 " has total %" PRId64 "\n", id, txid, total);
      exit(1);
    }
    if (snapshots++ == 0) first_txid = txid;
    last_txid = txid;
    struct timespec pause = {0, 1000 * 1000}; /* 1 ms: a reader need not spin */
    nanosleep(&pause, NULL);
  }
  pthread_mutex_lock(&print_lock);
  printf("reader %d: %d consistent snapshots, from txid %" PRIu64 " to %" PRIu64 "\n", id,
         snapshots, first_txid, last_txid);
  pthread_mutex_unlock(&print_lock);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s <database path>\n", argv[0]);
    return 2;
  }
  TRY("open", thunder_open(argv[1], NULL, &db));
  printf("opened %s\n", argv[1]);

  /* Initial balances, committed before any thread starts. */
  thunder_txn *txn;
  TRY("begin write", thunder_txn_begin(db, THUNDER_TXN_WRITE, &txn));
  write_balance(txn, "alice", START_BALANCE);
  write_balance(txn, "bob", START_BALANCE);
  TRY("commit", thunder_txn_commit(txn));
  printf("alice and bob start with %d each\n", START_BALANCE);

  pthread_t w, r[READERS];
  for (int i = 0; i < READERS; i++)
    if (pthread_create(&r[i], NULL, reader, (void *)(intptr_t)(i + 1)) != 0) return 1;
  if (pthread_create(&w, NULL, writer, NULL) != 0) return 1;
  pthread_join(w, NULL);
  for (int i = 0; i < READERS; i++) pthread_join(r[i], NULL);

  TRY("begin read", thunder_txn_begin(db, THUNDER_TXN_READ, &txn));
  printf("final: alice %" PRId64 ", bob %" PRId64 " (txid %" PRIu64 ")\n",
         read_balance(txn, "alice"), read_balance(txn, "bob"), thunder_txn_id(txn));
  thunder_txn_abort(txn);
  TRY("close", thunder_close(db)); /* every transaction has ended */
  printf("closed\n");
  return 0;
}
