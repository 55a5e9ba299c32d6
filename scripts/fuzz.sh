#!/usr/bin/env bash
# scripts/fuzz.sh — every fuzz target for a bounded time (CI runs it after
# scripts/test.sh; FUZZTIME changes the time per target, default 20s).
#
#   FuzzServeConn    rpc: arbitrary bytes after a valid open — answer or close, never panic or hang
#   FuzzParseXML     driver/domain/domxml: domain XML parse, render, re-parse
#   FuzzCheckXML     virt: the guard on every client XML path (depth, entities)
#   FuzzShellPolicy  ssh: arbitrary command lines in the confined shell
#
# The seeds include the hostile corpora kept in the repository
# (virt/testdata/hostile, ssh's hostile lines); an input a run finds failing
# is written under the package's testdata/fuzz/ — commit it with the fix.
# One worker each, so that the step costs its time bound on any machine
# (about 2 minutes at the default, compiling included).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-20s}
for target in rpc:FuzzServeConn driver/domain/domxml:FuzzParseXML virt:FuzzCheckXML ssh:FuzzShellPolicy; do
	pkg=./${target%%:*}
	fn=${target#*:}
	echo "== fuzz $fn ($pkg, $FUZZTIME)"
	go test -run '^$' -fuzz "^$fn\$" -fuzztime "$FUZZTIME" -parallel 1 "$pkg"
done
