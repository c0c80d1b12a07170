#!/usr/bin/env bash
# Side-by-side benchmark: xmppd, ejabberd and Prosody on loopback, each
# pinned to core 0 with the load generator (cmd/xmppload) on core 1, every
# workload against every server in one go. Results: bench/results/<run>/
# (one JSON file per server and workload), then bench/report.py
# regenerates the comparison section of BENCHMARKS.md.
#
#   bench/run.sh                       # all servers, default sizes
#   SERVERS="xmppd ejabberd" IDLE_USERS=500 bench/run.sh
#   WORKLOADS="register roster-setup roster-storm" SERVERS=ejabberd STORM_USERS=50 \
#     RESULTS=/tmp/trial REPORT=0 bench/run.sh   # some workloads, results elsewhere
#
# WORKLOADS names the workloads to run, in their fixed order: register
# (both user sets), idle, chat, chat-max, muc, roster-setup, roster-storm.
# RESULTS is the directory runs are written under (default bench/results).
#
# Installs ejabberd and prosody with apt-get if missing, and runs them as
# processes of their own (their users, temp dirs, non-default ports), never
# as system services; everything started here is stopped by PID at exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
SERVERS=${SERVERS:-"xmppd ejabberd prosody"}
# CONFIGS: the server configurations, bench/servers (like for like with
# xmppd's defaults: archives, offline, carbons, ...) or bench/servers/lean
# (the messaging core only).
CONFIGS=${CONFIGS:-bench/servers}
IDLE_USERS=${IDLE_USERS:-2000}
LOGIN_CONCURRENCY=${LOGIN_CONCURRENCY:-100}
CHAT_USERS=${CHAT_USERS:-200}
CHAT_RATES=${CHAT_RATES:-"1000,3000"}
CHAT_SECONDS=${CHAT_SECONDS:-10}
MAX_START=${MAX_START:-2000}
MUC_ROOMS=${MUC_ROOMS:-50}
MUC_OCCUPANTS=${MUC_OCCUPANTS:-20}
MUC_RATE=${MUC_RATE:-200}
STORM_USERS=${STORM_USERS:-500}
CONTACTS=${CONTACTS:-50}
WORKLOADS=${WORKLOADS:-"register idle chat chat-max muc roster-setup roster-storm"}
RUN=${RUN:-$(date -u +%Y%m%dT%H%M%SZ)}
RESULTS=${RESULTS:-"$ROOT/bench/results"}
OUT="$RESULTS/$RUN"
WORK=$(mktemp -d /tmp/xmppbench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$OUT"

log() { printf '%s %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

STARTED=()
# tree PID: PID and every process below it, children first.
tree() {
	local c
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done
	echo "$1"
}

# Everything started here and below it: a server that failed to start may
# live on under the subshell that started it.
cleanup() {
	local all=() p
	for p in "${STARTED[@]}"; do all+=($(tree "$p")); done
	for p in "${all[@]}"; do kill "$p" 2>/dev/null || true; done
	sleep 1
	for p in "${all[@]}"; do kill -9 "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

need_pkgs() {
	local missing=()
	command -v ejabberdctl >/dev/null || missing+=(ejabberd)
	command -v prosody >/dev/null || missing+=(prosody)
	if ((${#missing[@]})); then
		log "installing ${missing[*]}"
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
	fi
}

# descendant PID NAME: the first process below PID whose command is NAME.
descendant() {
	local pid=$1 name=$2 c
	for c in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		if [[ $(cat /proc/"$c"/comm 2>/dev/null) == "$name" ]]; then echo "$c"; return 0; fi
		descendant "$c" "$name" && return 0
	done
	return 1
}

wait_port() {
	local port=$1 i
	for i in $(seq 1 300); do
		(exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

fill() { sed -e "s|@DIR@|$2|g" -e "s|@PORT@|$3|g" -e "s|@HTTPPORT@|$4|g" -e "s|@DISTPORT@|$4|g" "$1"; }

# start NAME: starts the server pinned to core 0; sets PORT and SPID (the
# process whose /proc numbers are the server's).
start() {
	local name=$1 dir="$WORK/$1"
	mkdir -p "$dir/tls" "$dir/data" "$dir/logs" "$dir/spool"
	cp "$WORK/tls/"* "$dir/tls/"
	case $name in
	xmppd)
		PORT=15222
		fill "$ROOT/$CONFIGS/xmppd.toml.in" "$dir" $PORT 15280 >"$dir/xmppd.toml"
		taskset -c 0 "$WORK/bin/xmppd" serve --config "$dir/xmppd.toml" >"$dir/logs/xmppd.log" 2>&1 &
		SPID=$!
		STARTED+=("$SPID")
		;;
	ejabberd)
		PORT=25222
		fill "$ROOT/$CONFIGS/ejabberd.yml.in" "$dir" $PORT 25999 >"$dir/ejabberd.yml"
		fill "$ROOT/$CONFIGS/ejabberdctl.cfg.in" "$dir" $PORT 25999 >"$dir/ejabberdctl.cfg"
		cat "$dir/tls/cert.pem" "$dir/tls/key.pem" >"$dir/tls/combined.pem"
		chown -R ejabberd:ejabberd "$dir"
		(cd "$dir" && HOME="$dir" setpriv --reuid ejabberd --regid ejabberd --init-groups \
			taskset -c 0 /usr/sbin/ejabberdctl --config-dir "$dir" --config "$dir/ejabberd.yml" \
			--ctl-config "$dir/ejabberdctl.cfg" --logs "$dir/logs" --spool "$dir/spool" foreground \
			>"$dir/logs/foreground.log" 2>&1) &
		local top=$!
		STARTED+=("$top")
		wait_port $PORT || { log "ejabberd did not start"; tail -n 20 "$dir/logs/"*.log >&2; return 1; }
		SPID=$(descendant "$top" beam.smp)
		STARTED+=("$SPID")
		;;
	prosody)
		PORT=35222
		fill "$ROOT/$CONFIGS/prosody.cfg.lua.in" "$dir" $PORT 0 >"$dir/prosody.cfg.lua"
		chown -R prosody:prosody "$dir"
		(cd "$dir" && setpriv --reuid prosody --regid prosody --init-groups \
			taskset -c 0 prosody --config "$dir/prosody.cfg.lua" -F >"$dir/logs/prosody.out" 2>&1) &
		local top=$!
		STARTED+=("$top")
		wait_port $PORT || { log "prosody did not start"; tail -n 20 "$dir/logs/"* "$dir/prosody.log" >&2; return 1; }
		SPID=$(descendant "$top" lua5.4 || descendant "$top" lua5.3 || descendant "$top" lua5.2 || descendant "$top" prosody || echo "$top")
		;;
	esac
	wait_port $PORT || { log "$name did not open port $PORT"; return 1; }
	log "$name up: port $PORT, pid $SPID"
}

stop() {
	kill "$SPID" 2>/dev/null || true
	for _ in $(seq 1 50); do kill -0 "$SPID" 2>/dev/null || break; sleep 0.2; done
	kill -9 "$SPID" 2>/dev/null || true
	sleep 1
}

# load NAME WORKLOAD ARGS…: one workload, JSON to results; a failure is
# recorded, not fatal.
load() {
	local name=$1 w=$2 tag=$3; shift 3
	log "$name: $w $tag $*"
	if ! taskset -c 1 "$WORK/bin/xmppload" "$w" --addr 127.0.0.1:$PORT --server-pid "$SPID" --label "$name" \
		--out "$OUT/$name-$tag.json" "$@" >/dev/null 2>"$WORK/$name-$tag.err"; then
		log "$name: $w failed: $(tail -1 "$WORK/$name-$tag.err")"
		printf '{"workload":"%s","label":"%s","error":%s}\n' "$w" "$name" \
			"$(tail -1 "$WORK/$name-$tag.err" | python3 -c 'import json,sys;print(json.dumps(sys.stdin.read().strip()))')" \
			>"$OUT/$name-$tag.failed.json"
	fi
}

need_pkgs
# Every server and the load generator get the hard limit of open files: an
# idle run holds IDLE_USERS connections on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || log "open files limit stays $(ulimit -n)"
# Build the committed tree (git archive HEAD), not the work tree: the run
# measures a commit, and the results name it.
log "building xmppd and xmppload at $(cd "$ROOT" && git rev-parse --short HEAD)"
mkdir -p "$WORK/src"
(cd "$ROOT" && git archive HEAD) | tar -x -C "$WORK/src"
(cd "$WORK/src" && go build -o "$WORK/bin/xmppd" ./cmd/xmppd && go build -o "$WORK/bin/xmppload" ./cmd/xmppload)
mkdir -p "$WORK/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
	-subj /CN=localhost -addext "subjectAltName=DNS:localhost,DNS:conference.localhost" \
	-keyout "$WORK/tls/key.pem" -out "$WORK/tls/cert.pem" 2>/dev/null
chmod 644 "$WORK/tls/"*

{
	echo "{\"run\":\"$RUN\",\"commit\":\"$(cd "$ROOT" && git rev-parse --short HEAD)\","
	echo "\"servers\":\"$SERVERS\",\"idle_users\":$IDLE_USERS,\"chat_users\":$CHAT_USERS,\"chat_rates\":\"$CHAT_RATES\",\"muc\":\"${MUC_ROOMS}x${MUC_OCCUPANTS}\",\"storm_users\":$STORM_USERS,\"configs\":\"$CONFIGS\","
	echo "\"ejabberd\":\"$(dpkg-query -W -f '${Version}' ejabberd)\",\"prosody\":\"$(dpkg-query -W -f '${Version}' prosody)\",\"go\":\"$(go env GOVERSION)\",\"nproc\":$(nproc)}"
} >"$OUT/run.json.new"
[[ -f "$OUT/run.json" ]] && rm "$OUT/run.json.new" || mv "$OUT/run.json.new" "$OUT/run.json"

# wants WORKLOAD: whether WORKLOADS names it.
wants() { [[ " $WORKLOADS " == *" $1 "* ]]; }

for s in $SERVERS; do
	start "$s" || continue
	if wants register; then
		load "$s" register register-u --users "$IDLE_USERS" --concurrency 20 --prefix u
		load "$s" register register-s --users "$STORM_USERS" --concurrency 20 --prefix s
	fi
	wants idle && load "$s" idle idle --users "$IDLE_USERS" --concurrency "$LOGIN_CONCURRENCY" --prefix u --hold 5s
	wants chat && load "$s" chat chat --users "$CHAT_USERS" --prefix u --rates "$CHAT_RATES" --duration "${CHAT_SECONDS}s"
	wants chat-max && load "$s" chat-max chat-max --users "$CHAT_USERS" --prefix u --rate "$MAX_START" --step-factor 1.5 --duration 5s --drain 3s
	wants muc && load "$s" muc muc --prefix u --rooms "$MUC_ROOMS" --occupants "$MUC_OCCUPANTS" --rate "$MUC_RATE" --duration "${CHAT_SECONDS}s" --concurrency 50
	wants roster-setup && load "$s" roster-setup roster-setup --users "$STORM_USERS" --contacts "$CONTACTS" --prefix s --concurrency 50 --setup-timeout 15m --max-time 20m
	wants roster-storm && load "$s" roster-storm roster-storm --users "$STORM_USERS" --contacts "$CONTACTS" --prefix s --concurrency "$STORM_USERS"
	stop
done
log "results in $OUT"
if [[ ${REPORT:-1} == 1 ]]; then
	python3 "$ROOT/bench/report.py" --results "$RESULTS" --run "$RUN" --doc "$ROOT/BENCHMARKS.md"
fi
