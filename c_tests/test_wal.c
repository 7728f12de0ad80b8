/* The write-ahead log through the C API: its options, commits that reach
 * the log, thunder_checkpoint() and the statistics it moves, and a reopen
 * that finds everything (after close, and from a copy taken while the
 * database was open, as a crash would leave it). */
#include "check.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static void setters(void) {
  thunder_options *o = NULL;
  CHECK_STATUS(thunder_options_set_wal(NULL, true), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("thunder_options_set_wal");
  CHECK_STATUS(thunder_options_set_wal_dir(NULL, "x"), THUNDER_INVALID_ARGUMENT);
  CHECK_STATUS(thunder_options_set_wal_segment_size(NULL, 1u << 20), THUNDER_INVALID_ARGUMENT);
  CHECK_STATUS(thunder_options_set_checkpoint_interval_secs(NULL, 1), THUNDER_INVALID_ARGUMENT);
  CHECK_STATUS(thunder_options_set_checkpoint_wal_threshold(NULL, 1u << 20), THUNDER_INVALID_ARGUMENT);
  CHECK_STATUS(thunder_options_set_discard_missing_wal(NULL, true), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("thunder_options_set_discard_missing_wal");
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_discard_missing_wal(o, true));
  CHECK_OK(thunder_options_set_discard_missing_wal(o, false));
  CHECK_OK(thunder_options_set_wal(o, true));
  CHECK_OK(thunder_options_set_wal(o, false));
  CHECK_STATUS(thunder_options_set_wal_dir(o, NULL), THUNDER_INVALID_ARGUMENT);
  CHECK_ERROR_MENTIONS("dir");
  CHECK_STATUS(thunder_options_set_wal_dir(o, ""), THUNDER_INVALID_ARGUMENT);
  CHECK_OK(thunder_options_set_wal_dir(o, "/tmp/somewhere.wal"));
  CHECK_STATUS(thunder_options_set_wal_segment_size(o, (1u << 20) - 1), THUNDER_INVALID_ARGUMENT);
  CHECK_STATUS(thunder_options_set_wal_segment_size(o, ((uint64_t)4 << 30) + 1), THUNDER_INVALID_ARGUMENT);
  CHECK_OK(thunder_options_set_wal_segment_size(o, 1u << 20));
  CHECK_OK(thunder_options_set_wal_segment_size(o, (uint64_t)4 << 30));
  CHECK_OK(thunder_options_set_checkpoint_interval_secs(o, 0));
  CHECK_OK(thunder_options_set_checkpoint_interval_secs(o, 60));
  CHECK_STATUS(thunder_options_set_checkpoint_wal_threshold(o, 1000), THUNDER_INVALID_ARGUMENT);
  CHECK_OK(thunder_options_set_checkpoint_wal_threshold(o, 1u << 20));
  thunder_options_free(o);
}

static thunder_stats stat_of(thunder_db *db) {
  thunder_stats st;
  CHECK_OK(thunder_stat(db, &st));
  return st;
}

static void copy_file(const char *from, const char *to) {
  FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
  char buf[65536];
  size_t n;
  CHECK(in != NULL && out != NULL);
  while ((n = fread(buf, 1, sizeof buf, in)) > 0) CHECK(fwrite(buf, 1, n, out) == n);
  fclose(in);
  fclose(out);
}

/* Removes the files in `dir` (an earlier page size's log) and `dir`. */
static void remove_dir(const char *dir) {
  char p[2048];
  DIR *d = opendir(dir);
  struct dirent *e;
  if (d == NULL) return;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    snprintf(p, sizeof p, "%.1000s/%.1000s", dir, e->d_name);
    CHECK(remove(p) == 0);
  }
  closedir(d);
  CHECK(rmdir(dir) == 0);
}

static void commits_checkpoint_and_reopen(void) {
  char path[1024], dir[1024], copy[1100], copy_dir[1100], seg[1200], copy_seg[1200], lost[1100], none[1100];
  thunder_options *o = NULL;
  thunder_db *db = NULL;
  thunder_txn *t = NULL;
  char key[32];
  int i;
  const char *base = getenv("THUNDER_TEST_DIR") ? getenv("THUNDER_TEST_DIR") : "/tmp";
  CHECK(strlen(base) < 900);
  snprintf(path, sizeof path, "%.900s/wal.db", base);
  remove(path);
  snprintf(dir, sizeof dir, "%.900s/wal-dir", base);
  /* A log directory set by option is not cleared for a new file (below). */
  remove_dir(dir);
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_page_size(o, test_page_size()));
  CHECK_OK(thunder_options_set_wal(o, true));
  CHECK_OK(thunder_options_set_wal_dir(o, dir));
  CHECK_OK(thunder_open(path, o, &db));
  for (i = 0; i < 100; i++) {
    snprintf(key, sizeof key, "key%03d", i);
    CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &t));
    CHECK_OK(thunder_put(t, K(key), K("value"), 0));
    CHECK_OK(thunder_txn_commit(t));
  }
  thunder_stats st = stat_of(db);
  CHECK(st.last_txid == 100 && st.key_count == 100);
  CHECK(st.wal_size > 0); /* (the steady-point rule may have checkpointed some) */
  uint64_t lsn_before = st.checkpoint_lsn;

  /* A copy now is what a crash leaves: the file's meta is the empty one,
   * the log has the 100 commits; opening the copy replays them. */
  snprintf(copy, sizeof copy, "%.1000s.copy", path);
  snprintf(copy_dir, sizeof copy_dir, "%.1000s.copy-wal", dir);
  snprintf(seg, sizeof seg, "%.1100s/00000000.wal", dir);
  snprintf(copy_seg, sizeof copy_seg, "%.1100s/00000000.wal", copy_dir);
  copy_file(path, copy);
  remove_dir(copy_dir); /* an earlier page size's copy and what its open logged */
  mkdir(copy_dir, 0700);
  copy_file(seg, copy_seg);
  /* The data file alone, as if the log were lost. */
  snprintf(lost, sizeof lost, "%.1000s.lost", path);
  copy_file(path, lost);

  CHECK_OK(thunder_checkpoint(db));
  st = stat_of(db);
  CHECK(st.checkpoint_lsn > 0 && st.checkpoint_lsn >= lsn_before);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));

  CHECK_OK(thunder_open(path, o, &db));
  CHECK(stat_of(db).key_count == 100);
  CHECK_OK(thunder_close(db));

  /* A new database set to the same directory does not clear wal.db's log:
   * refused, and no file left behind. */
  char other[1100];
  snprintf(other, sizeof other, "%.1000s.other", path);
  remove(other);
  CHECK_STATUS(thunder_open(other, o, &db), THUNDER_INCOMPATIBLE);
  CHECK_ERROR_MENTIONS("wal-dir");
  CHECK(access(other, F_OK) != 0);
  CHECK_OK(thunder_open(path, o, &db));
  CHECK(stat_of(db).key_count == 100);
  CHECK_OK(thunder_close(db));

  CHECK_OK(thunder_options_set_wal_dir(o, copy_dir));
  CHECK_OK(thunder_open(copy, o, &db));
  st = stat_of(db);
  CHECK(st.key_count == 100 && st.last_txid == 100);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));

  /* Opened where no log is (the log lost, or another wal_dir): the
   * commits only the log held would be dropped without a word, so the
   * open is refused, unless told the log is lost for good. */
  snprintf(none, sizeof none, "%.1000s.none", dir);
  remove_dir(none);
  CHECK_OK(thunder_options_set_wal_dir(o, none));
  CHECK_STATUS(thunder_open(lost, o, &db), THUNDER_CORRUPTED);
  CHECK_ERROR_MENTIONS("holds no write-ahead log");
  CHECK_OK(thunder_options_set_discard_missing_wal(o, true));
  CHECK_OK(thunder_open(lost, o, &db));
  CHECK(stat_of(db).key_count <= 100);
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
  CHECK_OK(thunder_options_set_discard_missing_wal(o, false));
  CHECK_OK(thunder_open(lost, o, &db)); /* closed cleanly since */
  CHECK_OK(thunder_close(db));
  remove_dir(none);
  remove(lost);
  thunder_options_free(o);
}

/* Without a log, thunder_checkpoint() is thunder_sync(). */
static void checkpoint_without_a_log(void) {
  thunder_db *db = NULL;
  thunder_txn *t = NULL;
  CHECK_OK(open_test_db(test_path("nolog.db"), &db));
  CHECK_OK(thunder_txn_begin(db, THUNDER_TXN_WRITE, &t));
  CHECK_OK(thunder_put(t, K("k"), K("v"), 0));
  CHECK_OK(thunder_txn_commit(t));
  CHECK_OK(thunder_checkpoint(db));
  thunder_stats st = stat_of(db);
  CHECK(st.wal_size == 0 && st.checkpoint_lsn == 0);
  CHECK_STATUS(thunder_checkpoint(NULL), THUNDER_INVALID_ARGUMENT);
  CHECK_OK(thunder_close(db));
}

int main(void) {
  setters();
  commits_checkpoint_and_reopen();
  checkpoint_without_a_log();
  return 0;
}
