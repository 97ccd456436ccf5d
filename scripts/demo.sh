#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: a one-node cluster in network namespaces with Switchyard
# as its service proxy. It starts yard-controller and yard-agent, applies
# examples/demo.yaml with yardctl, sends real TCP and UDP traffic through
# the ClusterIP from a client pod, and shows which endpoint answered. It
# stays up until `scripts/demo.sh down`.
#
# Everything lives in namespaces named yd-*; nothing is routed to or from
# the host's own interfaces.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
run=/run/switchyard-demo
pins=/sys/fs/bpf/switchyard-demo
bin=$root/build

down() {
  if [[ -f $run/pids ]]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$run/pids"
  fi
  for ns in $(ip netns list 2>/dev/null | awk '/^yd-/ {print $1}'); do
    # Servers started inside a namespace die with their processes' group.
    ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
    ip netns del "$ns"
  done
  rm -rf "$pins" "$run"
}

if [[ ${1:-up} == down ]]; then
  down
  echo "demo removed"
  exit 0
fi

scripts/setup.sh
scripts/build.sh
down  # a fresh start, whatever an earlier run left
mkdir -p "$run"
: >"$run/pids"
trap 'echo "demo failed; removing it"; down' ERR

# --- topology: node + pods ------------------------------------------------
ip netns add yd-node
ip -n yd-node link set lo up
ip netns exec yd-node sysctl -qw net.ipv4.ip_forward=1
pod() {  # pod NAME IP
  local name=$1 ip=$2 ns=yd-$1 dev=ydv-$1
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip -n yd-node link add "$dev" type veth peer name eth0 netns "$ns"
  ip -n yd-node addr add 10.244.0.1/32 dev "$dev"
  ip -n yd-node link set "$dev" up
  ip -n yd-node route add "$ip/32" dev "$dev"
  ip -n "$ns" addr add "$ip/32" dev eth0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route add 10.244.0.1 dev eth0
  ip -n "$ns" route add default via 10.244.0.1 dev eth0
}
pod client 10.244.0.10
pod web-1 10.244.0.11
pod web-2 10.244.0.12

# --- control plane: controller on the host, agent in the node ------------
"$bin/control/controller/yard-controller" --listen= \
  --socket="$run/controller.sock" --state_dir="$run/state" \
  >"$run/controller.log" 2>&1 &
echo $! >>"$run/pids"
for _ in $(seq 50); do [[ -S $run/controller.sock ]] && break; sleep 0.1; done
# nsenter, not `ip netns exec`: the latter remounts /sys, hiding bpffs.
nsenter --net=/run/netns/yd-node "$bin/control/agent/yard-agent" \
  --node_name=node-a --controller="unix://$run/controller.sock" \
  --bpffs_root="$pins" --pod_interfaces='ydv-*' >"$run/agent.log" 2>&1 &
echo $! >>"$run/pids"

# --- workloads ------------------------------------------------------------
for i in 1 2; do
  ip netns exec "yd-web-$i" socat TCP-LISTEN:8080,fork,reuseaddr \
    SYSTEM:"echo hello from web-$i at 10.244.0.1$i" >/dev/null 2>&1 &
  echo $! >>"$run/pids"
  ip netns exec "yd-web-$i" socat UDP-RECVFROM:5353,fork \
    SYSTEM:"echo udp answer from web-$i" >/dev/null 2>&1 &
  echo $! >>"$run/pids"
done

yardctl() { "$bin/control/ctl/yardctl" --controller="unix://$run/controller.sock" "$@"; }
echo "== yardctl apply -f examples/demo.yaml"
yardctl apply -f examples/demo.yaml
sleep 1  # the agent programs within milliseconds; the servers need a moment

echo
echo "== yardctl get services"
yardctl get services
echo
echo "== yardctl get endpointslices"
yardctl get endpointslices

client() { ip netns exec yd-client "$@"; }
echo
echo "== 6 TCP connections from the client pod to web (10.96.0.10:80)"
for _ in $(seq 6); do
  client socat -T2 - TCP:10.96.0.10:80,connect-timeout=2 </dev/null
done
echo
echo "== 4 UDP datagrams to web (10.96.0.10:53), each from a new port"
for _ in $(seq 4); do
  echo ping | client socat -T1 - UDP:10.96.0.10:53 || true
done
echo
echo "== a service without endpoints (10.96.0.20:80) refuses at once"
client socat -T2 - TCP:10.96.0.20:80,connect-timeout=2 </dev/null 2>&1 |
  sed 's/^.*E /  /' || true
echo
echo "== what the agent did"
grep -E "applied version|attached" "$run/agent.log" | tail -5 | sed 's/^/  /'
echo
echo "The cluster stays up: try"
echo "  ip netns exec yd-client socat - TCP:10.96.0.10:80"
echo "  $bin/control/ctl/yardctl --controller=unix://$run/controller.sock get services"
echo "Remove it with: scripts/demo.sh down"
