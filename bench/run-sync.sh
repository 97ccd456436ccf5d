#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Control-plane benchmark: a controller and one agent (in a network
# namespace of its own, with its maps pinned under a scratch bpffs folder)
# and yard-bench-sync driving them. Everything it starts or creates is torn
# down on exit, also on failure.
#   bench/run-sync.sh [--services N] [--endpoints E] [--changes K]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh

bin=build
tag="ysb$$"
work=$(mktemp -d /tmp/yard-bench-sync.XXXXXX)
pins="/sys/fs/bpf/$tag"
ns="$tag-node"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$pins"; [[ -n ${KEEP_LOGS:-} ]] && cp "$work"/*.log /tmp/ ; rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
"$bin/control/controller/yard-controller" --listen= \
  --socket="$work/controller.sock" --state_dir="$work/state" \
  2>"$work/controller.log" &
pids+=($!)
for _ in $(seq 50); do [[ -S $work/controller.sock ]] && break; sleep 0.1; done

# nsenter, not `ip netns exec`: the latter remounts /sys and would hide
# bpffs from the agent.
nsenter --net="/run/netns/$ns" "$bin/control/agent/yard-agent" \
  --node_name=bench-node --controller="unix://$work/controller.sock" \
  --bpffs_root="$pins" 2>"$work/agent.log" &
agent=$!
pids+=($agent)
sleep 0.5

"$bin/bench/yard-bench-sync" --controller="unix://$work/controller.sock" \
  --node=bench-node --agent_pid="$agent" "$@"
echo "agent's own timing of the cold write:"
grep -m1 -E "applied version [0-9]+ in .*[0-9]{4,} frontends" "$work/agent.log" \
  | sed 's/^/  /' || true
