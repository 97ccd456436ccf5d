#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# yard-controller in Kubernetes mode as the fan-out between an API server
# and many agents: the API-server stand-in (tests/kube/), one controller and
# yard-bench-kube-fanout's agent streams, all on the loopback of a network
# namespace this script makes for itself (unshare --net): nothing touches
# the host's interfaces, and the namespace goes with the last process.
# Everything started is stopped on any exit.
#
#   sudo bench/kube_fanout/run.sh [--out DIR] [--build_dir DIR] [--smoke]
#        [--streams "1 100 1000"] [--changes 200] [--services 10000]
#        [--max_rss_mib 4096]
#
#   1. event -> every agent: 100 services x 10 endpoints in the API server,
#      N streams per run (--streams), --changes EndpointSlice writes each;
#   2. the API server's open watches and list/watch requests at each N;
#   3. memory: a fresh API server with --services x 10 endpoints, a fresh
#      controller (start -> synced: the cold sync), its VmRSS/VmHWM, then
#      with the largest N of streams, opened 25 at a time, stopping early
#      once the controller's VmRSS passes --max_rss_mib (the results say
#      how many streams it reached).
# Writes DIR/<date>.json and DIR/<date>.md (bench/kube_fanout/report.py),
# DIR defaulting to bench/results/kube_fanout; raw JSON and logs go to
# DIR/<date>/ (--smoke: a few seconds, into --out only; checks the harness).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
self="$root/bench/kube_fanout/run.sh"

if [[ -z ${YARD_BENCH_KUBE_INSIDE:-} ]]; then
  [[ $EUID -eq 0 ]] || { echo "run.sh: needs root (a network namespace)" >&2; exit 1; }
  # --kill-child: the namespace's processes die with this script.
  exec env YARD_BENCH_KUBE_INSIDE=1 unshare --net --fork --kill-child -- "$self" "$@"
fi

out="$root/bench/results/kube_fanout"
build="$root/build"
streams="1 100 1000"
changes=200
services=10000
latency_services=100
memory_batch=25
# The controller's VmRSS past which no more streams are opened: this is a
# shared machine (the full run measured several GB at 10,000 services).
max_rss_mib=4096
smoke=
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --build_dir) build=$2; shift 2 ;;
    --streams) streams=$2; shift 2 ;;
    --changes) changes=$2; shift 2 ;;
    --services) services=$2; shift 2 ;;
    --max_rss_mib) max_rss_mib=$2; shift 2 ;;
    --smoke) smoke=1; streams="1 20"; changes=10; services=200
             latency_services=20; memory_batch=10; shift ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
python=/usr/bin/python3
bench="$build/bench/kube_fanout/yard-bench-kube-fanout"
controller_bin="$build/control/controller/yard-controller"
for f in "$bench" "$controller_bin"; do
  [[ -x $f ]] || { echo "run.sh: $f missing: build first (scripts/build.sh)" >&2; exit 1; }
done

date=$(date -u +%Y-%m-%d)
[[ -n $smoke ]] && date=smoke
raw="$out/$date"
mkdir -p "$raw"
work=$(mktemp -d /tmp/yard-bench-kube.XXXXXX)
kube="$work/kube"
pids=()
# stop PID: SIGTERM, and SIGKILL if it has not gone in 10 s (a controller
# that is busy serving snapshots may not get to its shutdown sooner).
stop() {
  kill "$1" 2>/dev/null || true
  local i
  for i in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

cleanup() {
  local p
  for p in "${pids[@]}"; do stop "$p"; done
  cp "$work"/*.log "$raw/" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip link set lo up
log() { echo "kube-fanout: $*" >&2; }

# Waits (bounded) until file $1 contains text $2.
wait_for() {
  local i
  for i in $(seq 1200); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  log "gave up waiting for '$2' in $1:"; tail -20 "$1" >&2; exit 1
}

"$python" "$root/tests/kube/certs.py" "$kube" >/dev/null

# start_api_server LOAD_DIR: the stand-in, loaded, with a kubeconfig.
start_api_server() {
  rm -f "$kube/port"
  "$python" "$root/tests/kube/apiserver_standin.py" --quiet \
    --cert "$kube/server.crt" --key "$kube/server.key" \
    --client-ca "$kube/ca.crt" --token-file "$kube/token" \
    --port 0 --port-file "$kube/port" --service-cidr 10.96.0.0/16 \
    --load "$1" 2>>"$work/apiserver.log" &
  api_pid=$!
  pids+=("$api_pid")
  local i
  for i in $(seq 3000); do [[ -s $kube/port ]] && break; sleep 0.1; done
  [[ -s $kube/port ]] || { log "the stand-in did not start"; tail "$work/apiserver.log" >&2; exit 1; }
  api="https://127.0.0.1:$(cat "$kube/port")"
  cat >"$kube/kubeconfig" <<EOC
apiVersion: v1
kind: Config
clusters:
  - name: bench
    cluster:
      server: $api
      certificate-authority: ca.crt
users:
  - name: yard-controller
    user:
      tokenFile: token
contexts:
  - name: bench
    context: {cluster: bench, user: yard-controller}
current-context: bench
EOC
}

# start_controller LOG: one controller in Kubernetes mode; sets
# controller_pid and start_ns (when it was started).
start_controller() {
  start_ns=$(date +%s%N)
  "$controller_bin" --source=kubernetes --kubeconfig="$kube/kubeconfig" \
    --insecure_listen=127.0.0.1:50151 --socket= --metrics_listen=127.0.0.1:9464 \
    2>"$1" &
  controller_pid=$!
  pids+=("$controller_pid")
}


# run_bench ARGS...: one bounded run of the bench binary, its log appended.
run_bench() {
  timeout 240 "$bench" --controller=127.0.0.1:50151 --api="$api" --ca_file="$kube/ca.crt" \
    --token_file="$kube/token" --metrics=http://127.0.0.1:9464 \
    --controller_pid="$controller_pid" --endpoints=10 "$@" \
    2>>"$work/bench.log" || { log "the bench failed:"; tail -5 "$work/bench.log" >&2; exit 1; }
  tail -1 "$work/bench.log" >&2
}

# 1 and 2: latency and API-server load, one controller, N streams a run.
log "generating $latency_services services x 10 endpoints"
"$root/bench/kube_fanout/make_cluster.py" "$work/small" --services "$latency_services"
start_api_server "$work/small"
start_controller "$work/controller-latency.log"
wait_for "$work/controller-latency.log" "serving agents at version"
for n in $streams; do
  log "$n streams, $changes changes"
  run_bench --streams="$n" --changes="$changes" --json="$raw/fanout-$n.json"
done
stop "$controller_pid"
stop "$api_pid"

# 3: a fresh API server holding the big cluster, a fresh controller.
log "generating $services services x 10 endpoints"
"$root/bench/kube_fanout/make_cluster.py" "$work/big" --services "$services"
load_start=$(date +%s%N)
start_api_server "$work/big"
load_ms=$(( ($(date +%s%N) - load_start) / 1000000 ))
log "the stand-in loaded them in $load_ms ms; starting the controller"
start_controller "$work/controller-memory.log"
wait_for "$work/controller-memory.log" "serving agents at version"
sync_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
log "controller synced in $sync_ms ms"
sleep 1  # let the list's garbage settle before reading memory
largest=$(echo $streams | tr ' ' '\n' | sort -n | tail -1)
run_bench --streams="$largest" --changes=0 --connect_batch="$memory_batch" \
  --max_controller_rss_mib="$max_rss_mib" --connect_timeout_s=60 \
  --json="$raw/memory.json"
cat >"$raw/cold_sync.json" <<EOJ
{"services": $services, "endpoints_per_service": 10, "standin_load_ms": $load_ms,
 "controller_start_to_synced_ms": $sync_ms}
EOJ
stop "$controller_pid"
stop "$api_pid"

"$python" "$root/bench/kube_fanout/report.py" --raw "$raw" --out "$out" \
  --name "$date" --build_dir "$build" --streams "$streams" \
  --latency_services "$latency_services"
log "wrote $out/$date.json and $out/$date.md"
