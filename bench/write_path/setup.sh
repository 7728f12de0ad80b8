# setup.sh: what the bench run.sh scripts share; sourced, not run.
# Parses [--tree DIR] [--reps N] [--out FILE] (defaults: the repository
# holding the script, 3, RESULTS.txt beside it), builds thunder in the
# tree (`make lib`), and builds this directory's thunder driver and
# fsync probe into a temporary $bin (removed on exit).
# Expects: $here (the calling script's directory), $name (for temp paths).
# Sets: tree reps out bin raw report CFLAGS.
wp=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tree=$(cd "$here/../.." && pwd)
reps=3
out=$here/RESULTS.txt
while [ $# -gt 0 ]; do
    case $1 in
        --tree) tree=$(cd "$2" && pwd); shift 2 ;;
        --reps) reps=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) echo "usage: $0 [--tree DIR] [--reps N] [--out FILE]" >&2; exit 2 ;;
    esac
done

bin=$(mktemp -d "/tmp/${name}_bin.XXXXXX")
raw=$bin/raw.txt
report=$bin/report.txt
trap 'rm -rf "$bin"' EXIT
CFLAGS="-std=c11 -O2 -Wall -Wextra -Werror -pthread"

echo "== building thunder in $tree" >&2
make -C "$tree" lib >&2
cc $CFLAGS -I"$tree/include" "$wp/thunder_writes.c" -o "$bin/thunder_writes" \
    -L"$tree/build/lib" -lthunder -Wl,-rpath,"$tree/build/lib"
cc $CFLAGS "$wp/fsync_probe.c" -o "$bin/fsync_probe"
