/* Byte buffers, hex, escaped text and the bucket path syntax. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

void buf_reserve(buf *b, size_t n) {
  /* Even for n == 0 a buffer gets memory: an empty key or value is passed
   * to the library as a non-NULL pointer of length 0 (NULL is refused as
   * a missing argument, which is not what an empty key is). */
  if (b->data != NULL && b->cap - b->len >= n) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap - b->len < n) cap *= 2;
  uint8_t *p = realloc(b->data, cap);
  if (p == NULL) {
    fprintf(stderr, "thunder: out of memory (%zu bytes)\n", cap);
    exit(THUNDER_NO_MEMORY);
  }
  b->data = p;
  b->cap = cap;
}

void buf_push(buf *b, const void *p, size_t n) {
  buf_reserve(b, n);
  if (n == 0) return;
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

void buf_free(buf *b) {
  free(b->data);
  *b = (buf){0};
}

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The byte two hex digits at `s` spell, or -1. */
static int hex_byte(const char *s) {
  int hi = hex_digit(s[0]), lo = hi < 0 ? -1 : hex_digit(s[1]);
  return lo < 0 ? -1 : hi * 16 + lo;
}

bool hex_decode(const char *s, size_t n, buf *out) {
  if (n % 2 != 0) return false;
  buf_reserve(out, n / 2);
  for (size_t i = 0; i < n; i += 2) {
    int b = hex_byte(s + i);
    if (b < 0) return false;
    out->data[out->len++] = (uint8_t)b;
  }
  return true;
}

void hex_write(FILE *f, const uint8_t *p, size_t n) {
  static const char digits[] = "0123456789abcdef";
  char chunk[512];
  size_t at = 0;
  for (size_t i = 0; i < n; i++) {
    chunk[at++] = digits[p[i] >> 4];
    chunk[at++] = digits[p[i] & 15];
    if (at == sizeof chunk) {
      fwrite(chunk, 1, at, f);
      at = 0;
    }
  }
  fwrite(chunk, 1, at, f);
}

bool print_decode(const char *s, size_t n, buf *out) {
  buf_reserve(out, n);
  for (size_t i = 0; i < n; i++) {
    if (s[i] != '\\') {
      out->data[out->len++] = (uint8_t)s[i];
    } else if (i + 1 < n && s[i + 1] == '\\') {
      out->data[out->len++] = '\\';
      i++;
    } else {
      int b = i + 2 < n ? hex_byte(s + i + 1) : -1;
      if (b < 0) return false;
      out->data[out->len++] = (uint8_t)b;
      i += 2;
    }
  }
  return true;
}

void escaped_write(FILE *f, const uint8_t *p, size_t n, const char *also) {
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c >= 0x20 && c < 0x7f && c != '\\' && strchr(also, c) == NULL)
      fputc(c, f);
    else
      fprintf(f, "\\%02x", c);
  }
}

void path_push(bucket_path *p, const uint8_t *name, size_t n) {
  if (p->len == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 8;
    buf *names = realloc(p->names, cap * sizeof *names);
    if (names == NULL) {
      fprintf(stderr, "thunder: out of memory\n");
      exit(THUNDER_NO_MEMORY);
    }
    memset(names + p->cap, 0, (cap - p->cap) * sizeof *names);
    p->names = names;
    p->cap = cap;
  }
  p->names[p->len].len = 0;
  buf_push(&p->names[p->len], name, n);
  p->len++;
}

void path_pop(bucket_path *p) {
  if (p->len > 0) p->len--;
}

void path_free(bucket_path *p) {
  for (size_t i = 0; i < p->cap; i++) buf_free(&p->names[i]);
  free(p->names);
  *p = (bucket_path){0};
}

void path_write(FILE *f, const bucket_path *p) {
  for (size_t i = 0; i < p->len; i++) {
    if (i > 0) fputc('/', f);
    escaped_write(f, p->names[i].data, p->names[i].len, "/");
  }
}

bool path_parse(const char *text, bucket_path *out) {
  buf name = {0};
  bool ok = true;
  for (const char *s = text;; s++) {
    if (*s == '/' || *s == '\0') {
      ok = name.len > 0; /* an empty name: "", "a//b", "/a", "a/" */
      if (!ok) break;
      path_push(out, name.data, name.len);
      name.len = 0;
      if (*s == '\0') break;
    } else if (*s == '\\') {
      int b = s[1] == '\\' ? '\\' : (s[1] && s[2] ? hex_byte(s + 1) : -1);
      ok = b >= 0;
      if (!ok) break;
      uint8_t c = (uint8_t)b;
      buf_push(&name, &c, 1);
      s += s[1] == '\\' ? 1 : 2;
    } else {
      buf_push(&name, s, 1);
    }
  }
  buf_free(&name);
  return ok;
}
