#!/bin/sh
# ensure.sh TARGET TOOLS_DIR [ZIG_VERSION]: makes the toolchain of one
# binding test target available, installing what is missing from the package
# registries when that is possible (Debian packages with apt-get as root,
# Python packages with pip into TOOLS_DIR, which the targets put first on
# PYTHONPATH). Exit 0: ready. Otherwise it prints "SKIP TARGET: reason" and
# exits 1; the target then runs nothing and says so.
set -u
target=$1
tools=$2
zig_version=${3:-}

skip() {
	echo "SKIP $target: $*"
	exit 1
}

# apt_install PKG...: only as root and where apt-get exists.
apt_install() {
	[ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
	echo "$target: installing $* with apt-get"
	apt-get install -y -q "$@" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "$@" >/dev/null 2>&1; }
}

# pip_install REQ: into $tools, whatever the Python environment allows.
pip_install() {
	echo "$target: installing $1 with pip into $tools"
	mkdir -p "$tools"
	python3 -m pip install -q --disable-pip-version-check --target "$tools" "$1" >"$tools/pip.log" 2>&1 ||
		{ tail -n 3 "$tools/pip.log"; return 1; }
}

py() { PYTHONPATH="$tools${PYTHONPATH:+:$PYTHONPATH}" python3 "$@"; }

need_go() {
	command -v go >/dev/null 2>&1 || apt_install golang-go ||
		skip "go is missing and apt-get could not install golang-go (not root, no apt-get, or no network)"
	command -v go >/dev/null 2>&1 || skip "golang-go installed but go is not on PATH"
}

need_python() {
	command -v python3 >/dev/null 2>&1 || apt_install python3 ||
		skip "python3 is missing and apt-get could not install it"
}

case $target in
go-test)
	need_go
	;;
raft-test)
	need_go
	for pkg in hashicorp/raft hashicorp/go-hclog; do
		[ -d "/usr/share/gocode/src/github.com/$pkg" ] && continue
		apt_install golang-github-hashicorp-raft-dev ||
			skip "Debian's golang-github-hashicorp-raft-dev is missing and apt-get could not install it"
		[ -d "/usr/share/gocode/src/github.com/$pkg" ] ||
			skip "github.com/$pkg is not under /usr/share/gocode after installing golang-github-hashicorp-raft-dev"
	done
	;;
py-test)
	need_python
	py -m pytest --version >/dev/null 2>&1 || pip_install pytest ||
		skip "pytest is missing and pip could not install it"
	py -m pytest --version >/dev/null 2>&1 || skip "pytest does not run after installing it"
	;;
zig-test)
	need_python
	[ "$(py -m ziglang version 2>/dev/null)" = "$zig_version" ] || pip_install "ziglang==$zig_version" ||
		skip "Zig $zig_version is missing and pip could not install ziglang==$zig_version"
	[ "$(py -m ziglang version 2>/dev/null)" = "$zig_version" ] ||
		skip "python3 -m ziglang is not version $zig_version after installing it"
	;;
*)
	echo "ensure.sh: unknown target $target" >&2
	exit 2
	;;
esac
exit 0
