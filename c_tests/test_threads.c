/* One thunder_db shared by many threads: readers holding snapshots while a
 * writer commits (each sees exactly its snapshot), readers and the writer not
 * blocking each other, a write transaction begun on one thread and committed
 * on another, racing NOWAIT writers (exactly one wins), blocking writers
 * serialised, a refused close while other threads make calls on the handle,
 * a thread that handed the write transaction back waiting for it, and a
 * checkpoint with a log on a moved write transaction's thread. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define READERS 4
#define COMMITS 300

/* Shared progress of the writer, so readers can wait for commits to pass. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static uint64_t committed; /* txid of the writer's last commit */

/* Waits until `*flag` reaches `want`, failing the test after 30 s instead of
 * hanging if a thread is wrongly blocked. */
static void wait_until(volatile uint64_t *flag, uint64_t want) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 30;
  pthread_mutex_lock(&mu);
  while (*flag < want) {
    int rc = pthread_cond_timedwait(&cv, &mu, &deadline);
    if (rc == ETIMEDOUT) {
      fprintf(stderr, "timed out waiting for %llu (at %llu)\n", (unsigned long long)want,
              (unsigned long long)*flag);
      exit(1);
    }
  }
  pthread_mutex_unlock(&mu);
}

static void bump(volatile uint64_t *flag, uint64_t v) {
  pthread_mutex_lock(&mu);
  *flag = v;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
}

static uint64_t parse_u64(thunder_bytes v) {
  char buf[32];
  CHECK(v.len > 0 && v.len < sizeof buf);
  memcpy(buf, v.data, v.len);
  buf[v.len] = '\0';
  return strtoull(buf, NULL, 10);
}

/* Commit t (txid t) sets "txid" = t and adds key "n<t>": a snapshot at txid
 * t holds exactly t "n" keys, and "txid" says t. */
static void check_snapshot(thunder_txn *r, uint64_t t) {
  thunder_bytes k, v;
  thunder_cursor *c = NULL;
  uint64_t n = 0;
  CHECK(thunder_txn_id(r) == t);
  if (t == 0) {
    CHECK_STATUS(thunder_get(r, K("txid"), &v), THUNDER_NOT_FOUND);
  } else {
    CHECK_OK(thunder_get(r, K("txid"), &v));
    CHECK(parse_u64(v) == t);
  }
  CHECK_OK(thunder_cursor_open(r, NULL, &c));
  thunder_status s = thunder_cursor_seek(c, K("n"), &k, NULL);
  while (s == THUNDER_OK && k.len > 0 && k.data[0] == 'n') {
    n++;
    s = thunder_cursor_next(c, &k, NULL);
  }
  CHECK(s == THUNDER_OK || s == THUNDER_NOT_FOUND);
  thunder_cursor_close(c);
  CHECK(n == t);
}

static void *writer(void *arg) {
  thunder_db *db = (thunder_db *)arg;
  char key[32], val[32];
  for (int i = 0; i < COMMITS; i++) {
    thunder_txn *w = NULL;
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
    uint64_t t = thunder_txn_id(w);
    snprintf(key, sizeof key, "n%06llu", (unsigned long long)t);
    snprintf(val, sizeof val, "%llu", (unsigned long long)t);
    CHECK_OK(thunder_put(w, K(key), K(val), 0));
    CHECK_OK(thunder_put(w, K("txid"), K(val), 0));
    CHECK_OK(thunder_txn_commit(w));
    bump(&committed, t);
  }
  return NULL;
}

/* Takes snapshots while the writer runs and re-checks each one after 25
 * more commits have landed. */
static void *reader(void *arg) {
  thunder_db *db = (thunder_db *)arg;
  int rounds = 0;
  for (;;) {
    thunder_txn *r = NULL;
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
    uint64_t t = thunder_txn_id(r);
    check_snapshot(r, t);
    if (t + 25 > COMMITS) {
      thunder_txn_abort(r);
      break;
    }
    wait_until(&committed, t + 25);
    check_snapshot(r, t); /* unchanged by the commits since */
    thunder_txn_abort(r);
    rounds++;
  }
  return (void *)(intptr_t)rounds;
}

static void snapshots_under_commits(thunder_db *db) {
  pthread_t w, r[READERS];
  for (int i = 0; i < READERS; i++) CHECK(pthread_create(&r[i], NULL, reader, db) == 0);
  CHECK(pthread_create(&w, NULL, writer, db) == 0);
  CHECK(pthread_join(w, NULL) == 0);
  int total = 0;
  for (int i = 0; i < READERS; i++) {
    void *rounds = NULL;
    CHECK(pthread_join(r[i], &rounds) == 0);
    total += (int)(intptr_t)rounds;
  }
  CHECK(total > 0); /* some snapshot was held across commits */
  thunder_stats st;
  CHECK_OK(thunder_stat(db, &st));
  CHECK(st.last_txid == COMMITS && st.key_count == COMMITS + 1 && st.reader_count == 0);
}

/* A reader begins and finishes while this thread holds the write
 * transaction: it would never finish if readers waited for the writer. */
static volatile uint64_t reader_done;

static void *quick_reader(void *arg) {
  thunder_db *db = (thunder_db *)arg;
  thunder_txn *r = NULL;
  thunder_bytes v;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK_STATUS(thunder_get(r, K("uncommitted"), &v), THUNDER_NOT_FOUND);
  CHECK_OK(thunder_get(r, K("txid"), &v));
  thunder_txn_abort(r);
  bump(&reader_done, 1);
  return NULL;
}

static volatile uint64_t writer_done;

static void *quick_writer(void *arg) {
  thunder_db *db = (thunder_db *)arg;
  thunder_txn *w = NULL;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("from-thread"), K("1"), 0));
  CHECK_OK(thunder_txn_commit(w));
  bump(&writer_done, 1);
  return NULL;
}

static void no_blocking(thunder_db *db) {
  pthread_t t;
  thunder_txn *w = NULL, *r = NULL;
  thunder_bytes v;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("uncommitted"), K("x"), 0));
  CHECK(pthread_create(&t, NULL, quick_reader, db) == 0);
  wait_until(&reader_done, 1); /* while w is still open */
  CHECK(pthread_join(t, NULL) == 0);
  thunder_txn_abort(w);

  /* And a writer commits while this thread holds a read snapshot. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK(pthread_create(&t, NULL, quick_writer, db) == 0);
  wait_until(&writer_done, 1);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK_STATUS(thunder_get(r, K("from-thread"), &v), THUNDER_NOT_FOUND);
  thunder_txn_abort(r);
}

/* Begins the write transaction and hands it back, still open. */
static void *begin_elsewhere(void *arg) {
  thunder_db *db = *(thunder_db **)arg;
  thunder_txn *w = NULL, *again = NULL;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("moved"), K("begun on a thread"), 0));
  CHECK_STATUS(thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &again), THUNDER_BUSY);
  CHECK(again == NULL);
  return w;
}

static void *begin_nowait(void *arg) {
  thunder_db *db = (thunder_db *)arg;
  thunder_txn *w = NULL;
  thunder_status s = thunder_txn_begin(db, THUNDER_TXN_WRITE_NOWAIT, &w);
  if (s == THUNDER_OK) thunder_txn_abort(w);
  return (void *)(intptr_t)s;
}

static void txn_moves_between_threads(thunder_db *db) {
  pthread_t t;
  void *res = NULL;
  thunder_bytes v;
  CHECK(pthread_create(&t, NULL, begin_elsewhere, &db) == 0);
  CHECK(pthread_join(t, &res) == 0);
  thunder_txn *w = (thunder_txn *)res;
  CHECK(w != NULL);
  /* Used and committed on this thread. */
  CHECK_OK(thunder_put(w, K("moved2"), K("finished here"), 0));
  CHECK_OK(thunder_get(w, K("moved"), &v));
  CHECK_OK(thunder_txn_commit(w));
  CHECK(pthread_create(&t, NULL, begin_nowait, db) == 0); /* released */
  CHECK(pthread_join(t, &res) == 0);
  CHECK((intptr_t)res == THUNDER_OK);
  thunder_txn *r = NULL;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK_OK(thunder_get(r, K("moved"), &v));
  CHECK_BYTES(v, "begun on a thread");
  CHECK_OK(thunder_get(r, K("moved2"), &v));
  CHECK_BYTES(v, "finished here");
  thunder_txn_abort(r);
}

/* NOWAIT racers: every thread tries once, then waits until all have tried
 * before the winner commits, so exactly one can hold the writer. */
#define RACERS 6
static pthread_barrier_t start_line;
static volatile uint64_t tried;

struct racer {
  thunder_db *db;
  int id;
  thunder_status got;
};

static void *race(void *arg) {
  struct racer *rc = (struct racer *)arg;
  thunder_txn *w = NULL;
  char key[16];
  pthread_barrier_wait(&start_line);
  rc->got = thunder_txn_begin(rc->db, THUNDER_TXN_WRITE_NOWAIT, &w);
  pthread_mutex_lock(&mu);
  tried++;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  if (rc->got == THUNDER_OK) {
    wait_until(&tried, RACERS);
    snprintf(key, sizeof key, "winner%d", rc->id);
    CHECK_OK(thunder_put(w, K(key), K("1"), 0));
    CHECK_OK(thunder_txn_commit(w));
  } else {
    CHECK(w == NULL);
  }
  return NULL;
}

static void nowait_race(thunder_db *db) {
  for (int round = 0; round < 20; round++) {
    pthread_t t[RACERS];
    struct racer rc[RACERS];
    int wins = 0, busy = 0;
    tried = 0;
    CHECK(pthread_barrier_init(&start_line, NULL, RACERS) == 0);
    for (int i = 0; i < RACERS; i++) {
      rc[i].db = db;
      rc[i].id = i;
      rc[i].got = THUNDER_INTERNAL;
      CHECK(pthread_create(&t[i], NULL, race, &rc[i]) == 0);
    }
    for (int i = 0; i < RACERS; i++) CHECK(pthread_join(t[i], NULL) == 0);
    CHECK(pthread_barrier_destroy(&start_line) == 0);
    for (int i = 0; i < RACERS; i++) {
      wins += rc[i].got == THUNDER_OK;
      busy += rc[i].got == THUNDER_BUSY;
    }
    CHECK(wins == 1 && busy == RACERS - 1);
  }
}

/* Blocking writers on several threads: each read-modify-write of a counter
 * lands, none is lost. */
#define INCREMENTS 100
static void *increment(void *arg) {
  thunder_db *db = (thunder_db *)arg;
  char buf[32];
  for (int i = 0; i < INCREMENTS; i++) {
    thunder_txn *w = NULL;
    thunder_bytes v;
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
    uint64_t n = 0;
    thunder_status s = thunder_get(w, K("counter"), &v);
    if (s == THUNDER_OK) n = parse_u64(v);
    else CHECK(s == THUNDER_NOT_FOUND);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)(n + 1));
    CHECK_OK(thunder_put(w, K("counter"), K(buf), 0));
    CHECK_OK(thunder_txn_commit(w));
  }
  return NULL;
}

static void serialised_writers(thunder_db *db) {
  pthread_t t[4];
  thunder_txn *r = NULL;
  thunder_bytes v;
  for (int i = 0; i < 4; i++) CHECK(pthread_create(&t[i], NULL, increment, db) == 0);
  for (int i = 0; i < 4; i++) CHECK(pthread_join(t[i], NULL) == 0);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK_OK(thunder_get(r, K("counter"), &v));
  CHECK(parse_u64(v) == 4 * INCREMENTS);
  thunder_txn_abort(r);
}

/* thunder called from a thread's teardown, after its thread-locals are gone
 * (glibc runs pthread key destructors after those of thread_local storage):
 * calls still answer, thunder_last_error() gives a string. Regression: the
 * last-error slot was reached with a panicking accessor, which aborted the
 * process there. */
static pthread_key_t teardown_key;
static volatile int teardown_ran;

static void at_teardown(void *arg) {
  thunder_db *db = arg;
  thunder_bytes v;
  CHECK_STATUS(thunder_get(NULL, K("k"), &v), THUNDER_INVALID_ARGUMENT);
  const char *e = thunder_last_error();
  CHECK(e != NULL);
  thunder_stats st;
  CHECK_OK(thunder_stat(db, &st));
  teardown_ran = 1;
}

static void *teardown_thread(void *arg) {
  thunder_bytes v;
  /* a failure first, so the thread's last-error slot exists */
  CHECK_STATUS(thunder_get(NULL, K("k"), &v), THUNDER_INVALID_ARGUMENT);
  CHECK(pthread_setspecific(teardown_key, arg) == 0);
  return NULL;
}

static void calls_during_thread_teardown(thunder_db *db) {
  pthread_t t;
  CHECK(pthread_key_create(&teardown_key, at_teardown) == 0);
  CHECK(pthread_create(&t, NULL, teardown_thread, db) == 0);
  CHECK(pthread_join(t, NULL) == 0);
  CHECK(teardown_ran == 1);
  pthread_key_delete(teardown_key);
}

/* Calls on the shared handle while the main thread's close is refused. */
static volatile int stop_calls;

static void *stat_loop(void *arg) {
  thunder_db *db = (thunder_db *)arg;
  uint64_t n = 0;
  while (!stop_calls || n < 200) {
    thunder_stats st;
    CHECK_OK(thunder_stat(db, &st));
    /* Only the main thread's read transaction: another thread's check
     * reads a snapshot, but is no read transaction. */
    CHECK(st.reader_count == 1);
    n++;
  }
  return NULL;
}

static void *check_loop(void *arg) {
  thunder_db *db = (thunder_db *)arg;
  uint64_t n = 0;
  while (!stop_calls || n < 50) {
    CHECK_OK(thunder_check(db));
    CHECK_OK(thunder_checkpoint(db));
    n++;
  }
  return NULL;
}

/* Bug: a close refused with THUNDER_BUSY took the database out of the
 * handle until it put it back, so other threads' calls on the handle
 * meanwhile failed ("the database handle was closed") or crashed. */
static void close_refused_under_calls(thunder_db *db) {
  thunder_txn *r = NULL;
  pthread_t t[2];
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  stop_calls = 0;
  CHECK(pthread_create(&t[0], NULL, stat_loop, db) == 0);
  CHECK(pthread_create(&t[1], NULL, check_loop, db) == 0);
  for (int i = 0; i < 20000; i++) CHECK_STATUS(thunder_close(db), THUNDER_BUSY);
  stop_calls = 1;
  for (int i = 0; i < 2; i++) CHECK(pthread_join(t[i], NULL) == 0);
  thunder_txn_abort(r);
}

/* Bug: a write transaction moved to another thread, whose thread then asked
 * for a checkpoint of a database with a write-ahead log, waited for itself
 * for ever. With a log a checkpoint does not wait for a transaction. */
static void moved_writer_checkpoints_with_a_log(void) {
  thunder_db *db = NULL;
  thunder_options *o = NULL;
  pthread_t t;
  void *res = NULL;
  thunder_bytes v;
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_wal(o, true));
  CHECK_OK(thunder_options_set_sync_mode(o, THUNDER_SYNC_NONE));
  CHECK_OK(thunder_options_set_page_size(o, test_page_size()));
  char path[4096];
  snprintf(path, sizeof path, "%s", test_path("threads-wal.db"));
  CHECK_OK(thunder_open(path, o, &db));
  thunder_options_free(o);
  thunder_txn *w = NULL;
  /* A commit that leaves its free-set change for the next checkpoint. */
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("deferred"), K("free set"), 0));
  CHECK_OK(thunder_txn_commit(w));
  CHECK(pthread_create(&t, NULL, begin_elsewhere, &db) == 0);
  CHECK(pthread_join(t, &res) == 0);
  w = (thunder_txn *)res;
  CHECK_OK(thunder_checkpoint(db)); /* no call on `w` from here yet */
  CHECK_OK(thunder_put(w, K("moved3"), K("used here"), 0));
  CHECK_OK(thunder_checkpoint(db));
  CHECK_OK(thunder_txn_commit(w));
  CHECK_OK(thunder_checkpoint(db));
  CHECK_OK(thunder_close(db));
  CHECK_OK(thunder_open(path, NULL, &db));
  thunder_txn *r = NULL;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_READ, &r));
  CHECK_OK(thunder_get(r, K("moved3"), &v));
  CHECK_BYTES(v, "used here");
  thunder_txn_abort(r);
  CHECK_OK(thunder_close(db));
}

/* A thread that wrote in a write transaction and handed it back waits for
 * it to end like any other thread; only the thread that began it is told
 * THUNDER_BUSY. (A record of the last thread that made a call on the
 * transaction told such threads BUSY at once, and Go's goroutines, which
 * share threads, failed most of their blocking begins with it.) */
static thunder_txn *handed;
static volatile uint64_t handed_back;

static void *write_then_begin(void *arg) {
  thunder_db *db = (thunder_db *)arg;
  thunder_txn *mine = NULL;
  thunder_bytes v;
  CHECK_OK(thunder_put(handed, K("helper"), K("wrote"), 0));
  bump(&handed_back, 1);
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &mine)); /* waits */
  CHECK_OK(thunder_get(mine, K("owner"), &v)); /* the owner's commit came first */
  CHECK_BYTES(v, "committed");
  CHECK_OK(thunder_txn_commit(mine));
  return NULL;
}

static void handed_back_writer_waits(thunder_db *db) {
  pthread_t t;
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &handed));
  CHECK(pthread_create(&t, NULL, write_then_begin, db) == 0);
  wait_until(&handed_back, 1);
  struct timespec pause = {0, 20 * 1000 * 1000};
  nanosleep(&pause, NULL); /* the helper is in its begin, or about to be */
  CHECK_OK(thunder_put(handed, K("owner"), K("committed"), 0));
  CHECK_OK(thunder_txn_commit(handed));
  CHECK(pthread_join(t, NULL) == 0);
}

int main(void) {
  /* A thread waiting for itself fails the test rather than hanging it. */
  alarm(120);
  thunder_db *db = NULL;
  thunder_options *o = NULL;
  /* NONE keeps the many small commits cheap; durability is not the point. */
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_sync_mode(o, THUNDER_SYNC_NONE));
  CHECK_OK(thunder_options_set_page_size(o, test_page_size()));
  CHECK_OK(thunder_open(test_path("threads.db"), o, &db));
  thunder_options_free(o);
  snapshots_under_commits(db);
  no_blocking(db);
  txn_moves_between_threads(db);
  nowait_race(db);
  serialised_writers(db);
  calls_during_thread_teardown(db);
  close_refused_under_calls(db);
  handed_back_writer_waits(db);
  moved_writer_checkpoints_with_a_log();
  CHECK_OK(thunder_sync(db));
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
  return 0;
}
