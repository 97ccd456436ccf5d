#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# deploy/cleanup-node.sh removes exactly what a stopped yard-agent leaves:
# its tc filters and XDP program on a pod interface and an external device,
# and its pins; another tool's tc filter on the same hook stays. All in a
# network namespace this test makes and removes, and a pin folder of its
# own.
set -euo pipefail
agent=${1:?usage: cleanup_node_test.sh YARD_AGENT REPO}
repo=${2:?usage: cleanup_node_test.sh YARD_AGENT REPO}
ns=yd-clean-$$
pins=/sys/fs/bpf/yd-clean-$$
agent_pid=

cleanup() {
  [[ -z $agent_pid ]] || kill "$agent_pid" 2>/dev/null || true
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$pins" "/tmp/$ns.log"
}
trap cleanup EXIT
# nsenter, not `ip netns exec`: that mounts a fresh /sys without bpffs.
in_ns() { nsenter --net="/run/netns/$ns" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
# Whether a hook's filters match PATTERN. (Not a pipe into grep -q: under
# pipefail, tc killed by grep's early exit would read as no match.)
has_filter() {
  local filters
  filters=$(in_ns tc filter show dev "$1" "$2")
  grep -q "$3" <<<"$filters"
}

ip netns add "$ns"
in_ns ip link add yd-pod type veth peer name yd-ext
in_ns ip link set yd-pod up
in_ns ip link set yd-ext up
in_ns ip addr add 10.99.0.1/24 dev yd-ext
# Another tool's filter on a hook the agent uses.
in_ns tc qdisc add dev yd-pod clsact
in_ns tc filter add dev yd-pod ingress pref 2 u32 match u32 0 0 flowid 1:1

# nsenter itself, not in_ns: a backgrounded function is a subshell, and
# $! would be its pid, not the agent's.
nsenter --net="/run/netns/$ns" "$agent" --node_name=node --bpffs_root="$pins" --controller=127.0.0.1:1 \
  --metrics_listen= --pod_interfaces=yd-pod --external_devices=yd-ext \
  >"/tmp/$ns.log" 2>&1 &
agent_pid=$!
for _ in $(seq 50); do
  has_filter yd-pod egress 'handle 0x5957 yard_' &&
    has_filter yd-ext egress 'handle 0x5957 yard_' && break
  sleep 0.2
done
has_filter yd-pod egress 'handle 0x5957 yard_' ||
  { cat "/tmp/$ns.log"; fail "the agent never attached"; }

# A running agent would attach again: the script must refuse.
if in_ns "$repo/deploy/cleanup-node.sh" --bpffs-root "$pins" >/dev/null 2>&1; then
  fail "cleanup ran beside a live agent"
fi
kill "$agent_pid"
wait "$agent_pid" || true
agent_pid=
rm -f "/tmp/$ns.log"

in_ns "$repo/deploy/cleanup-node.sh" --dry-run --bpffs-root "$pins"
[[ -d $pins ]] || fail "a dry run removed the pins"

in_ns "$repo/deploy/cleanup-node.sh" --bpffs-root "$pins"
for dev in yd-pod yd-ext; do
  for hook in ingress egress; do
    if has_filter "$dev" "$hook" yard_; then
      fail "a Switchyard filter is left on $dev $hook"
    fi
  done
  details=$(in_ns ip -d link show dev "$dev")
  if grep -q 'prog/xdp' <<<"$details"; then
    fail "an XDP program is left on $dev"
  fi
done
has_filter yd-pod ingress u32 ||
  fail "another tool's filter was removed"
[[ ! -e $pins ]] || fail "the pins are still in $pins"
echo "cleanup-node.sh removed Switchyard and nothing else"
