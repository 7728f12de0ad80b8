#!/bin/sh
# Reads the flags of a .pc file the way pkg-config does for thunder.pc,
# for machines where pkg-config is missing and cannot be installed:
#   pc-flags.sh FILE --cflags | --libs | --static-libs
# The variable lines of a .pc file (name=value, ${name} references) are
# shell assignments, so they are evaluated in order, then the field.
set -eu
pc=$1
case $2 in
  --cflags) fields=Cflags ;;
  --libs) fields=Libs ;;
  --static-libs) fields="Libs Libs.private" ;;
  *) echo "pc-flags.sh: unknown option $2" >&2; exit 2 ;;
esac
eval "$(grep -E '^[A-Za-z_][A-Za-z0-9_]*=' "$pc")"
out=
for f in $fields; do
  line=$(sed -n "s/^$f: *//p" "$pc")
  out="$out $(eval "echo \"$line\"")"
done
echo $out
