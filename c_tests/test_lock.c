/* The file lock: a second read-write open of the same file, in this process
 * or another, is THUNDER_LOCKED; the lock timeout waits (and succeeds when
 * the holder lets go in time); read-only opens share with each other but not
 * with a read-write one; the lock goes with close and with the holder's
 * death.
 *
 * Other processes are this binary re-executed ($THUNDER_TEST_BIN, else
 * /proc/self/exe) as a child:
 *   child open <rw|ro> <path> <timeout_ms>
 *       opens, closes, exits with the status of the open;
 *   child hold <rw|ro> <path> <ready_fd> <wait_fd>
 *       opens, writes one byte to ready_fd, waits for EOF on wait_fd, closes. */
#define _POSIX_C_SOURCE 200809L
#include <fcntl.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static thunder_options *opts(int read_only, uint32_t timeout_ms) {
  thunder_options *o = NULL;
  CHECK_OK(thunder_options_new(&o));
  CHECK_OK(thunder_options_set_read_only(o, read_only != 0));
  CHECK_OK(thunder_options_set_lock_timeout_ms(o, timeout_ms));
  return o;
}

static thunder_status open_with(const char *path, int read_only, uint32_t timeout_ms,
                                thunder_db **db) {
  thunder_options *o = opts(read_only, timeout_ms);
  thunder_status s = thunder_open(path, o, db);
  thunder_options_free(o);
  return s;
}

static int child_main(int argc, char **argv) {
  if (argc != 6) return 100;
  thunder_db *db = NULL;
  int ro = strcmp(argv[3], "ro") == 0;
  if (strcmp(argv[2], "open") == 0) {
    thunder_status s = open_with(argv[4], ro, (uint32_t)strtoul(argv[5], NULL, 10), &db);
    if (s == THUNDER_OK && thunder_close(db) != THUNDER_OK) return 101;
    return (int)s;
  }
  if (strcmp(argv[2], "hold") == 0) {
    char c = 'r';
    int ready = atoi(argv[5]);
    thunder_status s = open_with(argv[4], ro, 0, &db);
    if (s != THUNDER_OK) return (int)s;
    if (write(ready, &c, 1) != 1) return 102;
    while (read(STDIN_FILENO, &c, 1) > 0) {
    }
    return thunder_close(db) == THUNDER_OK ? 0 : 103;
  }
  return 104;
}

static const char *self_path(void) {
  const char *bin = getenv("THUNDER_TEST_BIN");
  return bin ? bin : "/proc/self/exe";
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Starts a child; `in_fd` becomes its stdin (or /dev/null's when -1). */
static pid_t spawn(const char *op, const char *mode, const char *path, const char *arg,
                   int in_fd) {
  char *argv[] = {(char *)self_path(), (char *)"child", (char *)op, (char *)mode,
                  (char *)path, (char *)arg, NULL};
  pid_t pid = fork();
  CHECK(pid >= 0);
  if (pid == 0) {
    if (in_fd >= 0) dup2(in_fd, STDIN_FILENO);
    execv(argv[0], argv);
    _exit(127);
  }
  return pid;
}

static int wait_exit(pid_t pid) {
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid);
  CHECK(WIFEXITED(st));
  return WEXITSTATUS(st);
}

/* The status another process gets opening `path`. */
static int child_open(const char *mode, const char *path, uint32_t timeout_ms) {
  char t[16];
  snprintf(t, sizeof t, "%u", timeout_ms);
  return wait_exit(spawn("open", mode, path, t, -1));
}

/* A child holding `path` open until release_holder(). */
struct holder {
  pid_t pid;
  int stdin_w;
};

static struct holder hold(const char *mode, const char *path) {
  int ready[2], in[2];
  char c, fd[16];
  CHECK(pipe(ready) == 0 && pipe(in) == 0);
  /* Only ready[1] and (as its stdin) in[0] may reach the child: were in[1]
   * inherited, the child would never see EOF. */
  CHECK(fcntl(ready[0], F_SETFD, FD_CLOEXEC) == 0 && fcntl(in[1], F_SETFD, FD_CLOEXEC) == 0);
  CHECK(fcntl(in[0], F_SETFD, FD_CLOEXEC) == 0);
  snprintf(fd, sizeof fd, "%d", ready[1]);
  struct holder h = {spawn("hold", mode, path, fd, in[0]), in[1]};
  close(ready[1]);
  close(in[0]);
  CHECK(read(ready[0], &c, 1) == 1); /* it holds the lock now */
  close(ready[0]);
  return h;
}

static void release_holder(struct holder h) {
  close(h.stdin_w);
  CHECK(wait_exit(h.pid) == 0);
}

static void same_process(const char *path) {
  thunder_db *a = NULL, *b = (thunder_db *)path, *r1 = NULL, *r2 = NULL;
  CHECK_OK(thunder_open(path, NULL, &a));
  CHECK_STATUS(thunder_open(path, NULL, &b), THUNDER_LOCKED);
  CHECK(b == NULL);
  CHECK_ERROR_MENTIONS(path);
  CHECK_STATUS(open_with(path, 1, 0, &b), THUNDER_LOCKED); /* read-only too */
  /* The refused opens did not disturb the holder. */
  thunder_txn *w = NULL;
  CHECK_OK(thunder_txn_begin(a, THUNDER_TXN_WRITE, &w));
  CHECK_OK(thunder_put(w, K("k"), K("v"), 0));
  CHECK_OK(thunder_txn_commit(w));
  CHECK_OK(thunder_close(a));
  CHECK_OK(thunder_open(path, NULL, &a)); /* close released the lock */
  CHECK_OK(thunder_close(a));

  /* Read-only opens share; a read-write one is locked out meanwhile. */
  CHECK_OK(open_with(path, 1, 0, &r1));
  CHECK_OK(open_with(path, 1, 0, &r2));
  CHECK_STATUS(thunder_open(path, NULL, &b), THUNDER_LOCKED);
  CHECK_OK(thunder_close(r1));
  CHECK_STATUS(thunder_open(path, NULL, &b), THUNDER_LOCKED);
  CHECK_OK(thunder_close(r2));
  CHECK_OK(thunder_open(path, NULL, &b));
  CHECK_OK(thunder_close(b));
}

static void other_processes(const char *path) {
  thunder_db *db = NULL;
  CHECK(child_open("rw", path, 0) == THUNDER_OK); /* nobody holds it */

  /* This process holds it read-write. */
  CHECK_OK(thunder_open(path, NULL, &db));
  CHECK(child_open("rw", path, 0) == THUNDER_LOCKED);
  CHECK(child_open("ro", path, 0) == THUNDER_LOCKED);
  /* The timeout waits, then fails. */
  double t0 = now_ms();
  CHECK(child_open("rw", path, 300) == THUNDER_LOCKED);
  CHECK(now_ms() - t0 >= 300);
  CHECK_OK(thunder_close(db));
  CHECK(child_open("rw", path, 0) == THUNDER_OK);

  /* This process holds it read-only: others may read, not write. */
  CHECK_OK(open_with(path, 1, 0, &db));
  CHECK(child_open("ro", path, 0) == THUNDER_OK);
  CHECK(child_open("rw", path, 0) == THUNDER_LOCKED);
  CHECK_OK(thunder_close(db));

  /* Another process holds it. */
  struct holder h = hold("rw", path);
  CHECK_STATUS(thunder_open(path, NULL, &db), THUNDER_LOCKED);
  CHECK(db == NULL);
  CHECK_STATUS(open_with(path, 1, 0, &db), THUNDER_LOCKED);
  release_holder(h);
  CHECK_OK(thunder_open(path, NULL, &db));
  CHECK_OK(thunder_close(db));

  h = hold("ro", path);
  CHECK_OK(open_with(path, 1, 0, &db));
  CHECK_OK(thunder_close(db));
  CHECK_STATUS(thunder_open(path, NULL, &db), THUNDER_LOCKED);
  release_holder(h);

  /* The lock dies with its process. */
  h = hold("rw", path);
  CHECK_STATUS(thunder_open(path, NULL, &db), THUNDER_LOCKED);
  CHECK(kill(h.pid, SIGKILL) == 0);
  int st = 0;
  CHECK(waitpid(h.pid, &st, 0) == h.pid && WIFSIGNALED(st));
  close(h.stdin_w);
  CHECK_OK(thunder_open(path, NULL, &db));
  CHECK_OK(thunder_check(db));
  CHECK_OK(thunder_close(db));
}

/* A waiting open gets the lock when the holder lets go within the timeout. */
static void timeout_succeeds(const char *path) {
  struct holder h = hold("rw", path);
  thunder_db *db = NULL;
  double t0 = now_ms();
  /* Fails at once without a timeout... */
  CHECK_STATUS(thunder_open(path, NULL, &db), THUNDER_LOCKED);
  /* ...and waits with one: the holder exits after ~200 ms. */
  pid_t closer = fork();
  CHECK(closer >= 0);
  if (closer == 0) {
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    close(h.stdin_w);
    _exit(0);
  }
  close(h.stdin_w); /* only the closer keeps the holder's stdin open now */
  CHECK_OK(open_with(path, 0, 10000, &db));
  CHECK(now_ms() - t0 >= 150); /* it did wait for the holder */
  CHECK(wait_exit(closer) == 0);
  CHECK(wait_exit(h.pid) == 0);
  CHECK_OK(thunder_close(db));
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "child") == 0) return child_main(argc, argv);
  char path[4096];
  snprintf(path, sizeof path, "%s", test_path("lock.db"));
  same_process(path);
  other_processes(path);
  timeout_succeeds(path);
  return 0;
}
