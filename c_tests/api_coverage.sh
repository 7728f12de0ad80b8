#!/bin/sh
# Fails if a function declared in include/thunder.h is not called by some C
# test in c_tests/. Usage: c_tests/api_coverage.sh [header] [test dir]
header=${1:-include/thunder.h}
dir=${2:-c_tests}
missing=0
fns=$(grep -oE '\bthunder_[a-z0-9_]+\(' "$header" | tr -d '(' | sort -u)
[ -n "$fns" ] || { echo "api_coverage: no functions found in $header" >&2; exit 1; }
for f in $fns; do
  if ! grep -qE "\b$f\(" "$dir"/*.c; then
    echo "api_coverage: $f is declared in $header but no C test calls it" >&2
    missing=1
  fi
done
n=$(echo "$fns" | wc -l)
[ $missing -eq 0 ] && echo "api_coverage: all $n functions are called by the C tests"
exit $missing
