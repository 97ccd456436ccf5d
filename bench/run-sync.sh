#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Control-plane benchmarks against a real yard-controller (durable state in
# a scratch folder: every write is fdatasync'ed). Everything it starts or
# creates is torn down on exit, also on failure.
#
#   bench/run-sync.sh [--services N] [--endpoints E] [--changes K] [--json F]
#     write -> one agent's ack: the controller and one yard-agent (in a
#     network namespace of its own, maps pinned under a scratch bpffs
#     folder), driven by yard-bench-sync.
#   bench/run-sync.sh --fanout [--watchers W] [--changes K] [--services N]
#                     [--json F]
#     one change -> 100 (W) watching agents: the controller only, and
#     yard-bench-fanout opening the Watch streams itself (default 100
#     watchers, 50 changes: well under a minute).
#
# YARD_BUILD_DIR picks the build directory (default build);
# YARD_BENCH_NO_BUILD=1 skips setup and build (binaries already there);
# YARD_BENCH_AGENT_FLAGS adds flags to the agent's command line (say
# --datapath_features_off=maglev_mmap, to time a fallback in the same run).
set -euo pipefail
cd "$(dirname "$0")/.."
mode=sync
if [[ ${1:-} == --fanout ]]; then
  mode=fanout
  shift
fi
if [[ -z ${YARD_BENCH_NO_BUILD:-} ]]; then
  scripts/setup.sh
  scripts/build.sh
fi

bin=${YARD_BUILD_DIR:-build}
tag="ysb$$"
work=$(mktemp -d /tmp/yard-bench-sync.XXXXXX)
pins="/sys/fs/bpf/$tag"
ns="$tag-node"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [[ $mode == sync ]]; then ip netns del "$ns" 2>/dev/null || true; fi
  rm -rf "$pins"
  if [[ -n ${KEEP_LOGS:-} ]]; then cp "$work"/*.log /tmp/ || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# No TCP and no metrics port: nothing here can collide with a controller
# already running on this machine (the lab's, a developer's).
"$bin/control/controller/yard-controller" --listen= --metrics_listen= \
  --socket="$work/controller.sock" --state_dir="$work/state" \
  2>"$work/controller.log" &
pids+=($!)
for _ in $(seq 50); do [[ -S $work/controller.sock ]] && break; sleep 0.1; done
[[ -S $work/controller.sock ]] || { echo "controller did not start:" >&2;
  cat "$work/controller.log" >&2; exit 1; }

if [[ $mode == fanout ]]; then
  timeout 300 "$bin/bench/yard-bench-fanout" \
    --controller="unix://$work/controller.sock" "$@"
  exit 0
fi

ip netns add "$ns"
# nsenter, not `ip netns exec`: the latter remounts /sys and would hide
# bpffs from the agent.
nsenter --net="/run/netns/$ns" "$bin/control/agent/yard-agent" \
  --node_name=bench-node --controller="unix://$work/controller.sock" \
  --bpffs_root="$pins" ${YARD_BENCH_AGENT_FLAGS:-} 2>"$work/agent.log" &
agent=$!
pids+=($agent)
sleep 0.5

"$bin/bench/yard-bench-sync" --controller="unix://$work/controller.sock" \
  --node=bench-node --agent_pid="$agent" "$@"
echo "agent's own timing of the cold write:"
grep -m1 -E "applied version [0-9]+ in .*[0-9]{4,} frontends" "$work/agent.log" \
  | sed 's/^/  /' || true
