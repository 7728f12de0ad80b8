/* Shared assertions for the C tests: on failure they print file:line, the
 * expression, the status name and thunder_last_error(), then exit(1). */
#ifndef THUNDER_CHECK_H
#define THUNDER_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thunder.h"

static const char *status_name(int s) {
  switch (s) {
    case THUNDER_OK: return "THUNDER_OK";
    case THUNDER_NOT_FOUND: return "THUNDER_NOT_FOUND";
    case THUNDER_KEY_EXISTS: return "THUNDER_KEY_EXISTS";
    case THUNDER_BUCKET_NOT_FOUND: return "THUNDER_BUCKET_NOT_FOUND";
    case THUNDER_BUCKET_EXISTS: return "THUNDER_BUCKET_EXISTS";
    case THUNDER_INVALID_ARGUMENT: return "THUNDER_INVALID_ARGUMENT";
    case THUNDER_KEY_TOO_LARGE: return "THUNDER_KEY_TOO_LARGE";
    case THUNDER_VALUE_TOO_LARGE: return "THUNDER_VALUE_TOO_LARGE";
    case THUNDER_READ_ONLY: return "THUNDER_READ_ONLY";
    case THUNDER_TXN_CLOSED: return "THUNDER_TXN_CLOSED";
    case THUNDER_BUSY: return "THUNDER_BUSY";
    case THUNDER_LOCKED: return "THUNDER_LOCKED";
    case THUNDER_IO: return "THUNDER_IO";
    case THUNDER_NO_SPACE: return "THUNDER_NO_SPACE";
    case THUNDER_CORRUPTED: return "THUNDER_CORRUPTED";
    case THUNDER_INCOMPATIBLE: return "THUNDER_INCOMPATIBLE";
    case THUNDER_UNSUPPORTED: return "THUNDER_UNSUPPORTED";
    case THUNDER_NO_MEMORY: return "THUNDER_NO_MEMORY";
    case THUNDER_INTERNAL: return "THUNDER_INTERNAL";
    default: return "(unknown status)";
  }
}

/* Expect `expr` (a thunder call) to return status `want`. */
#define CHECK_STATUS(expr, want)                                                   \
  do {                                                                             \
    int got_ = (int)(expr);                                                        \
    if (got_ != (int)(want)) {                                                     \
      fprintf(stderr, "%s:%d: %s\n  returned %s (%d), expected %s\n  last error: %s\n", \
              __FILE__, __LINE__, #expr, status_name(got_), got_,                  \
              status_name((int)(want)), thunder_last_error());                     \
      exit(1);                                                                     \
    }                                                                              \
  } while (0)

#define CHECK_OK(expr) CHECK_STATUS(expr, THUNDER_OK)

/* Expect a plain condition to hold. */
#define CHECK(cond)                                                                \
  do {                                                                             \
    if (!(cond)) {                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s\n  last error: %s\n", __FILE__,     \
              __LINE__, #cond, thunder_last_error());                              \
      exit(1);                                                                     \
    }                                                                              \
  } while (0)

/* Expect a view to hold exactly the NUL-terminated string `s`. */
#define CHECK_BYTES(view, s)                                                       \
  CHECK((view).len == strlen(s) && memcmp((view).data, (s), strlen(s)) == 0)

/* Expect the last error message to mention `needle`. */
#define CHECK_ERROR_MENTIONS(needle) CHECK(strstr(thunder_last_error(), (needle)) != NULL)

/* A fresh database path under the directory in $THUNDER_TEST_DIR (the
 * Makefile creates one per run), or /tmp. */
static const char *test_path(const char *name) {
  static char buf[4096];
  const char *dir = getenv("THUNDER_TEST_DIR");
  snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "/tmp", name);
  remove(buf);
  return buf;
}

/* The page size the database tests run at: $THUNDER_TEST_PAGE_SIZE (make
 * c-tests runs every test at each of 4096, 8192, 16384 and 65536), else 4096. */
static inline uint32_t test_page_size(void) {
  const char *s = getenv("THUNDER_TEST_PAGE_SIZE");
  return s ? (uint32_t)strtoul(s, NULL, 10) : 4096;
}


/* The I/O backend the tests run on: $THUNDER_TEST_IO, one of "sync",
 * "uring" or "direct" (make check runs every C test once per backend at
 * 4096-byte pages); unset or empty, the options stay as each test sets them
 * (THUNDER_IO_AUTO unless it says otherwise). Writes the constant to *out
 * and returns its name; NULL when unset. An unknown name fails the test. */
static inline const char *test_io_backend(thunder_io_backend *out) {
  static const struct { const char *name; thunder_io_backend b; } kinds[] = {
      {"sync", THUNDER_IO_SYNC}, {"uring", THUNDER_IO_URING}, {"direct", THUNDER_IO_DIRECT}};
  const char *want = getenv("THUNDER_TEST_IO");
  if (!want || !*want) return NULL;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
    if (strcmp(want, kinds[i].name) == 0) {
      *out = kinds[i].b;
      return kinds[i].name;
    }
  }
  fprintf(stderr, "THUNDER_TEST_IO=%s: not sync, uring or direct\n", want);
  exit(1);
}

/* Under $THUNDER_TEST_IO, every options object a test creates starts on
 * the backend under test (a test may still choose another), and an open
 * with default options (NULL) uses it too and must report it. */
static inline thunder_status test_options_new(thunder_options **out) {
  thunder_io_backend b;
  thunder_status s = (thunder_options_new)(out);
  if (s == THUNDER_OK && test_io_backend(&b)) s = thunder_options_set_io_backend(*out, b);
  return s;
}

/* Fails the test unless `db` writes with the backend called `want`. */
static inline void expect_backend(const thunder_db *db, const char *want) {
  if (strcmp(thunder_io_backend_name(db), want) != 0) {
    fprintf(stderr, "THUNDER_TEST_IO=%s, but the database writes with \"%s\"\n", want,
            thunder_io_backend_name(db));
    exit(1);
  }
}

static inline thunder_status test_open(const char *path, const thunder_options *opts, thunder_db **out) {
  thunder_io_backend b;
  const char *want = test_io_backend(&b);
  if (opts != NULL || want == NULL) return (thunder_open)(path, opts, out);
  thunder_options *o = NULL;
  thunder_status s = test_options_new(&o);
  if (s != THUNDER_OK) return s;
  s = (thunder_open)(path, o, out);
  thunder_options_free(o);
  if (s == THUNDER_OK && out) expect_backend(*out, want);
  return s;
}

#define thunder_options_new test_options_new
#define thunder_open test_open

/* Opens (creating) `path` read-write at the page size and on the backend
 * under test (checked). */
static inline thunder_status open_test_db(const char *path, thunder_db **out) {
  thunder_options *o = NULL;
  thunder_io_backend b;
  const char *want = test_io_backend(&b);
  thunder_status s = thunder_options_new(&o);
  if (s != THUNDER_OK) return s;
  s = thunder_options_set_page_size(o, test_page_size());
  if (s == THUNDER_OK) s = thunder_open(path, o, out);
  thunder_options_free(o);
  if (s == THUNDER_OK && want) expect_backend(*out, want);
  return s;
}

/* Keys and values from C strings. */
#define K(s) (const uint8_t *)(s), strlen(s)

#endif
