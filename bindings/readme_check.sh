#!/bin/sh
# readme_check.sh README LANG FILE: the first ```LANG block of README must be
# lines of FILE, consecutive and in order (leading whitespace aside), so that
# the README's example is code a test runs.
set -eu
readme=$1
lang=$2
file=$3
awk -v lang="$lang" '
	FNR == NR {
		if (!inblock && $0 == "```" lang && !done) { inblock = 1; next }
		if (inblock && $0 == "```") { inblock = 0; done = 1; next }
		if (inblock) { sub(/^[ \t]+/, ""); want[n++] = $0 }
		next
	}
	{ sub(/^[ \t]+/, ""); have[m++] = $0 }
	END {
		if (n == 0) { print "readme_check: no ```" lang " block in " ARGV[1]; exit 1 }
		for (s = 0; s + n <= m; s++) {
			for (i = 0; i < n && have[s + i] == want[i]; i++) {}
			if (i == n) exit 0
		}
		print "readme_check: the ```" lang " example of " ARGV[1] " is not in " ARGV[2] " (keep them in sync)"
		exit 1
	}' "$readme" "$file"
