#!/bin/sh
# Fails if the thunder_* functions the shared library exports differ from the
# functions include/thunder.h declares, in either direction: an export the
# header lacks is unreachable API (or a leaked internal symbol), a
# declaration the library lacks links nowhere. Prints the difference as a
# diff (- declared only, + exported only).
# Usage: c_tests/symbols_check.sh [library] [header]
lib=${1:-build/lib/libthunder.so}
header=${2:-include/thunder.h}
[ -f "$lib" ] || { echo "symbols_check: $lib not found (run make lib)" >&2; exit 1; }
[ -f "$header" ] || { echo "symbols_check: $header not found" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

# Defined dynamic symbols of type T (code), named thunder_*; drop any
# symbol version suffix (name@@VERSION).
nm -D --defined-only "$lib" | awk '$2 == "T" && $3 ~ /^thunder_/ { sub(/@.*/, "", $3); print $3 }' |
  sort -u > "$tmp/exported" || exit 1

# Function names declared in the header: comments removed first (the docs
# mention functions by name), then every identifier thunder_* followed by
# "(" (a function pointer typedef reads "(*thunder_x)(" and does not match).
awk '
  {
    out = ""
    while (length($0) > 0) {
      if (in_comment) {
        end = index($0, "*/")
        if (end == 0) { $0 = ""; break }
        $0 = substr($0, end + 2); in_comment = 0
      } else {
        start = index($0, "/*"); line_comment = index($0, "//")
        if (line_comment > 0 && (start == 0 || line_comment < start)) { out = out substr($0, 1, line_comment - 1); break }
        if (start == 0) { out = out $0; break }
        out = out substr($0, 1, start - 1); $0 = substr($0, start + 2); in_comment = 1
      }
    }
    print out
  }' "$header" | grep -oE '(^|[^A-Za-z0-9_])thunder_[A-Za-z0-9_]+[[:space:]]*\(' |
  sed -E 's/^[^t]*//; s/[[:space:]]*\($//' | sort -u > "$tmp/declared"

[ -s "$tmp/exported" ] || { echo "symbols_check: $lib exports no thunder_* functions" >&2; exit 1; }
[ -s "$tmp/declared" ] || { echo "symbols_check: $header declares no thunder_* functions" >&2; exit 1; }

if ! diff -u --label "declared in $header" --label "exported by $lib" "$tmp/declared" "$tmp/exported" > "$tmp/diff"; then
  echo "symbols_check: $lib exports and $header declares different functions" >&2
  echo "  (- declared but not exported, + exported but not declared)" >&2
  cat "$tmp/diff" >&2
  exit 1
fi
echo "symbols_check: the $(wc -l < "$tmp/exported") functions $lib exports are exactly those $header declares"
