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

/* Opens (creating) `path` read-write at the page size under test. */
static inline thunder_status open_test_db(const char *path, thunder_db **out) {
  thunder_options *o = NULL;
  thunder_status s = thunder_options_new(&o);
  if (s != THUNDER_OK) return s;
  s = thunder_options_set_page_size(o, test_page_size());
  if (s == THUNDER_OK) s = thunder_open(path, o, out);
  thunder_options_free(o);
  return s;
}

/* Keys and values from C strings. */
#define K(s) (const uint8_t *)(s), strlen(s)

#endif
