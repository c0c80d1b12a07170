#!/usr/bin/env bash
# Runs the whole xmppd test suite: vet, unit and property tests, the
# storage conformance suites, and the integration suite that drives the
# real binary with slixmpp. Installs what the tests need from Debian first.
set -euo pipefail
cd "$(dirname "$0")"

need_apt=()
/usr/bin/python3 -c 'import slixmpp' 2>/dev/null || need_apt+=(python3-slixmpp)
# A real Carbon receiver for the Graphite push test (metrics/graphite).
command -v carbon-cache >/dev/null || need_apt+=(graphite-carbon)
if ((${#need_apt[@]})); then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "installing ${need_apt[*]} (apt-get)"
	$sudo apt-get update -q
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${need_apt[@]}"
fi

go vet ./...
# -race everywhere: sessions, routing and storage are concurrent by design.
go test -race -count=1 -timeout 20m ./...
