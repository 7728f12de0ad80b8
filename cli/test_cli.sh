#!/bin/sh
# The thunder command-line tool, every command: --help, exit statuses,
# get/put/del/keys/buckets on binary keys and nested buckets, stat, check
# (of a sound and of a damaged file), backup, compact, dump -> load -> dump
# identical for a database with nested buckets, binary keys and large
# values, THUNDER_LOCKED while another process holds the database, and (when
# LMDB's mdb_load/mdb_dump are installed) that the default keyspace's dump
# loads into LMDB and LMDB's dump loads into thunder.
#
# Usage: cli/test_cli.sh path/to/thunder
# Every invocation runs under `timeout`, so a hang fails the test instead
# of stopping `make check`.
set -u
T=${1:?usage: test_cli.sh path/to/thunder}
case $T in /*) ;; *) T=$(pwd)/$T ;; esac
tmp=$(mktemp -d) || exit 1
holder=
cleanup() {
  [ -n "$holder" ] && kill "$holder" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp" || exit 1
passed=0
failed=0

# check NAME WANT CMD...: runs CMD (stdin from /dev/null unless IN is set),
# output in out and err; counts a failure unless it exits WANT.
check() {
  name=$1 want=$2
  shift 2
  timeout 60 "$@" < "${IN:-/dev/null}" > out 2> err
  got=$?
  if [ "$got" -eq "$want" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $got, expected $want"
    sed 's/^/  stderr: /' err | head -n 5
  fi
}

# expect NAME FILE PATTERN: FILE (out or err) has a line matching PATTERN.
expect() {
  if grep -q -e "$3" "$2"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1: no line matching '$3' in $2:"
    sed 's/^/  /' "$2" | head -n 5
  fi
}

# same NAME A B: files A and B are identical.
same() {
  if cmp -s "$2" "$3"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $1: $2 and $3 differ: $(cmp "$2" "$3" 2>&1 | cut -c 1-200)"
  fi
}

# ---- help and usage ----
check "help" 0 "$T" --help
expect "help lists commands" out "^  compact DB DEST"
expect "help lists exit statuses" out "16 LOCKED"
check "version" 0 "$T" --version
expect "version" out "^thunder [0-9][0-9.]*$"
for c in stat check get put del keys buckets dump load backup compact; do
  check "$c --help" 0 "$T" "$c" --help
  expect "$c --help" out "^Usage: thunder $c "
  expect "$c --help exit statuses" out "^Exit status:"
  check "help $c" 0 "$T" help "$c"
done
check "no command" 64 "$T"
check "unknown command" 64 "$T" frobnicate
expect "unknown command" err "unknown command 'frobnicate'"
check "unknown option" 64 "$T" get --frob x.db k
check "missing operand" 64 "$T" get x.db
check "bad hex" 64 "$T" get -x x.db 0g
check "bad bucket path" 64 "$T" get -b 'a//b' x.db k
check "bad number" 64 "$T" stat --wait soon x.db

# ---- a missing database ----
check "get from a missing file" 1 "$T" get missing.db k
expect "the missing file is named" err "missing.db"
check "del does not create" 1 "$T" del missing.db k
[ ! -e missing.db ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL del created missing.db"; }

# ---- put, get, del, keys, buckets (a database made by load) ----
IN=/dev/null check "load creates an empty database" 0 "$T" load --page-size 8192 db
check "stat" 0 "$T" stat db
expect "stat page size" out "^page_size: 8192$"
{ yes 'large value line, ' | head -c 200000; head -c 100000 /dev/zero; printf 'end'; } > big
check "put" 0 "$T" put db hello world
check "put binary key" 0 "$T" put -x db 00ff2f5c 0a0d00
check "put empty value" 0 "$T" put db empty ''
# An empty key is the library's `key` is empty, not a NULL pointer.
check "put empty key" 10 "$T" put db '' v
expect "put empty key says why" err 'is empty'
check "get empty hex key" 10 "$T" get -x db ''
expect "get empty hex key says why" err 'is empty'
printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n \n 76\nDATA=END\n' > emptykey.txt
IN=emptykey.txt check "load an empty key" 10 "$T" load emptykey.db
expect "load an empty key says why" err 'is empty'
IN=big check "put large value from stdin" 0 "$T" put -i db big
check "put into nested buckets (created)" 0 "$T" put -b 'a/b\2fc/\00\ff' db deep 'in four buckets'
check "put bucket key" 0 "$T" put -b a db b 'a key named like its sibling bucket'
IN=big check "put large value in a bucket" 0 "$T" put -i -b a db big
check "get" 0 "$T" get db hello
same "get prints value and newline" out /dev/stdin <<EOF
world
EOF
check "get hex" 0 "$T" get -x db 00ff2f5c
expect "get hex" out "^0a0d00$"
check "get raw large value" 0 "$T" get -R db big
same "get raw is the exact bytes" out big
check "get from a nested bucket" 0 "$T" get -b 'a/b\2fc/\00\ff' db deep
expect "nested value" out "^in four buckets$"
check "get a missing key" 1 "$T" get db nope
expect "missing key" err "key not found"
check "get from a missing bucket" 3 "$T" get -b nope db k
check "keys" 0 "$T" keys db
same "keys are escaped, in order" out /dev/stdin <<'EOF'
\00\ff/\5c
big
empty
hello
EOF
check "keys hex with prefix" 0 "$T" keys -x --prefix 00 db
same "keys hex with prefix" out /dev/stdin <<'EOF'
00ff2f5c
EOF
check "keys with a prefix" 0 "$T" keys -p e db
expect "prefix e" out "^empty$"
[ "$(wc -l < out)" -eq 1 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL keys -p e: $(cat out)"; }
check "buckets" 0 "$T" buckets db
same "top-level buckets" out /dev/stdin <<'EOF'
a
EOF
check "buckets recursive" 0 "$T" buckets -r db
same "every bucket by path" out /dev/stdin <<'EOF'
a
a/b\2fc
a/b\2fc/\00\ff
EOF
check "buckets below a bucket" 0 "$T" buckets -b a db
expect "child path" out '^a/b\\2fc$'
check "del" 0 "$T" del db hello
check "del again" 1 "$T" del db hello
check "get deleted" 1 "$T" get db hello
check "del in a bucket" 0 "$T" del -b a db b
check "put empty key" 10 "$T" put -x db '' 76

# ---- dump -> load -> dump ----
check "dump" 0 "$T" dump db
cp out dump1
expect "dump header" dump1 "^VERSION=3$"
expect "dump format" dump1 "^format=bytevalue$"
expect "dump nested section" dump1 '^database=a/b\\2fc/\\00\\ff$'
[ -z "$(cat err)" ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL dump wrote to stderr (no progress line without a terminal)"; }
IN=dump1 check "load into a new file" 0 "$T" load copy.db
check "dump the loaded file" 0 "$T" dump -o dump2 copy.db
same "dump, load, dump: identical" dump1 dump2
check "check the loaded file" 0 "$T" check copy.db
check "dump one bucket" 0 "$T" dump -b 'a/b\2fc' db
expect "bucket dump starts at the bucket" out '^database=a/b\\2fc$'
if grep -q '^database=a$' out; then failed=$((failed + 1)); echo "FAIL dump -b includes its parent"; else passed=$((passed + 1)); fi
check "dump with both -b and -d" 64 "$T" dump -b a -d db
check "dump to an unwritable path" 74 "$T" dump -o no/such/dir/file db

# ---- load: bad input ----
printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n 6b\n zz\nDATA=END\n' > bad-hex
IN=bad-hex check "load: bad hex" 65 "$T" load bad.db
expect "load names the line" err "line 6"
printf 'VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n 6b\n 76\n' > no-end
IN=no-end check "load: no DATA=END" 65 "$T" load bad.db
printf 'VERSION=3\nformat=bytevalue\ndupsort=1\ntype=btree\nHEADER=END\nDATA=END\n' > dups
IN=dups check "load: duplicate keys refused" 65 "$T" load bad.db
printf 'VERSION=3\nformat=bytevalue\ndatabase=a\ndatabase=b\ntype=btree\nHEADER=END\n 6b\n 76\nDATA=END\n' > twodb
IN=twodb check "load: two database= lines refused" 65 "$T" load bad.db
expect "load names the second database= line" err "line 4"
printf 'VERSION=3\nformat=print\ntype=btree\nmapsize=1048576\nHEADER=END\n a\\5cb\\\\\n \\00v\nDATA=END\n' > printed
IN=printed check "load: print format" 0 "$T" load printed.db
check "load: print format read" 0 "$T" get -x printed.db 615c625c
expect "print format value" out "^0076$"
check "load: missing input file" 74 "$T" load -f no-such-file bad.db

# ---- check, backup, compact ----
check "check" 0 "$T" check db
expect "check ok" out "^db: ok$"
check "backup" 0 "$T" backup db backup.db
expect "backup checked" out "checked$"
check "compact" 0 "$T" compact db compact.db
expect "compact checked" out "checked$"
for f in backup.db compact.db; do
  check "dump of $f" 0 "$T" dump "$f"
  same "$f holds what db holds" out "$(pwd)/dump1"
done
check "backup to an existing file" 10 "$T" backup db compact.db
expect "existing destination" err "exists"
check "compact onto the source" 10 "$T" compact db db
expect "source as destination" err "is the source database itself"
# Damage a data page of the compacted copy (every page in it is used).
cp compact.db damaged.db
printf 'DAMAGE' | dd of=damaged.db bs=1 seek=$((8192 * 3 + 100)) conv=notrunc 2> /dev/null
check "check a damaged file" 22 "$T" check damaged.db
expect "damage is reported" err "corrupted"

# ---- a database another process holds ----
mkfifo hold
(timeout 60 "$T" load --wait 10000 db < hold > /dev/null 2> holder.err) &
holder=$!
exec 3> hold
locked=no
i=0
while [ $i -lt 200 ]; do
  timeout 60 "$T" stat db > /dev/null 2> err
  [ $? -eq 16 ] && { locked=yes; break; }
  sleep 0.05
  i=$((i + 1))
done
[ $locked = yes ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL stat never saw the lock"; }
check "get while locked" 16 "$T" get db big
expect "LOCKED names the path" err "db is locked (THUNDER_LOCKED)"
expect "LOCKED says what to do" err "Stop that process"
check "put while locked" 16 "$T" put db k v
check "wait for a held lock, then give up" 16 "$T" keys --wait 300 db
exec 3>&-
wait "$holder"
rc=$?
holder=
[ $rc -eq 0 ] && passed=$((passed + 1)) || { failed=$((failed + 1)); echo "FAIL the holder exited $rc"; cat holder.err; }
check "unlocked again" 0 "$T" get db empty

# ---- the README's examples, as written there ----
mkdir readme && cd readme || exit 1
check "readme put" 0 "$T" put -b users app.db alice admin
check "readme get" 0 "$T" get -b users app.db alice
expect "readme get" out "^admin$"
check "readme keys" 0 "$T" keys --prefix a -b users app.db
expect "readme keys" out "^alice$"
check "readme buckets" 0 "$T" buckets -r app.db
check "readme stat" 0 "$T" stat app.db
check "readme check" 0 "$T" check app.db
expect "readme check" out "^app.db: ok$"
check "readme dump" 0 "$T" dump -o app.txt app.db
IN=app.txt check "readme load" 0 "$T" load copy.db
check "readme backup" 0 "$T" backup app.db app-backup.db
check "readme compact" 0 "$T" compact app.db app-small.db
cd .. || exit 1

# ---- LMDB ----
if command -v mdb_load > /dev/null 2>&1 && command -v mdb_dump > /dev/null 2>&1; then
  check "dump the default keyspace" 0 "$T" dump -d -o main.txt db
  check "mdb_load reads it" 0 mdb_load -n -f main.txt lmdb.mdb
  check "mdb_dump" 0 mdb_dump -n lmdb.mdb
  sed -n '/^HEADER=END$/,/^DATA=END$/p' out > lmdb-data
  sed -n '/^HEADER=END$/,/^DATA=END$/p' main.txt > thunder-data
  same "LMDB holds the same pairs" lmdb-data thunder-data
  # LMDB's own dump (its header has mapsize, maxreaders, db_pagesize).
  cp out lmdb-dump
  IN=lmdb-dump check "thunder loads LMDB's dump" 0 "$T" load from-lmdb.db
  check "dump what came from LMDB" 0 "$T" dump -d -o back.txt from-lmdb.db
  same "the round trip through LMDB" main.txt back.txt
else
  echo "SKIP LMDB interoperability: mdb_load/mdb_dump not installed (apt-get install lmdb-utils)"
fi

echo "cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
