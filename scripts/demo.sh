#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: a two-node cluster in network namespaces (scripts/yard-lab)
# with Switchyard as its service proxy. It starts real TCP and UDP servers
# in the pods, applies examples/demo.yaml with yardctl, sends traffic
# through the ClusterIPs from a pod on each node, and shows which endpoint
# (pod and node) answered each request and what client address it saw. It
# stays up until `scripts/demo.sh down`.
#
#   scripts/demo.sh          build and run the demo, leave the lab up
#   scripts/demo.sh down     remove the lab
#
# YARD_BUILD_DIR (default: build) picks the build directory. Everything
# lives in namespaces named yl-*; nothing is routed to or from the host's
# own interfaces.
set -euo pipefail
cd "$(dirname "$0")/.."
export YARD_BUILD_DIR=${YARD_BUILD_DIR:-build}
readonly lab=scripts/yard-lab
readonly run=/run/switchyard-lab
readonly yardctl_bin=$PWD/$YARD_BUILD_DIR/control/ctl/yardctl

if [[ ${1:-up} == down ]]; then
  "$lab" down
  exit 0
fi
[[ ${1:-up} == up ]] || { echo "usage: scripts/demo.sh [down]" >&2; exit 2; }

yardctl() { "$yardctl_bin" --controller="unix://$run/controller.sock" "$@"; }
in_pod() { local pod=$1; shift; ip netns exec "yl-$pod" "$@"; }

# On failure: show what the daemons said, then remove the lab, so a rerun
# starts clean.
failed() {
  echo "demo failed; the daemons' last words:" >&2
  for log in "$run"/controller.log "$run"/agent-*.log; do
    [[ -f $log ]] && { echo "-- $log" >&2; tail -5 "$log" >&2; }
  done
  "$lab" down >/dev/null 2>&1 || true
}

# --- servers ----------------------------------------------------------------
# Every server pod answers TCP 8080 and UDP 5353 with its pod name, its node
# and the client address it saw. The command reads the request first: socat
# writes the datagram to its stdin, and an `echo` that had already exited
# would make that write fail (EPIPE) and the answer be lost. (SYSTEM:
# commands may hold no comma, colon or parenthesis: socat's address parser
# would take them.)
start_servers() {
  local pod node answer
  for pod in pod-1-2 pod-1-3 pod-2-2 pod-2-3; do
    node=node-${pod:4:1}
    answer="read -r _; echo $pod $node \$SOCAT_PEERADDR \$SOCAT_PEERPORT"
    in_pod "$pod" socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"$answer" \
      >>"$run/servers.log" 2>&1 </dev/null &
    in_pod "$pod" socat UDP-RECVFROM:5353,fork SYSTEM:"$answer" \
      >>"$run/servers.log" 2>&1 </dev/null &
  done
  # Both sockets bound before any client tries (bounded: 5 s).
  for pod in pod-1-2 pod-1-3 pod-2-2 pod-2-3; do
    for _ in $(seq 50); do
      (($(in_pod "$pod" ss -Hltun 'sport = :8080 or sport = :5353' | wc -l) >= 2)) && break
      sleep 0.1
    done
  done
}

# --- traffic ------------------------------------------------------------------

# Prints one line per answer: "  TCP  pod-2-3 on node-2, saw ...:40312"
# and notes the answering node in the global `nodes_seen`. Endpoints are
# chosen at random and every service has half of them on each node, so n
# requests all miss one node with probability 2^(1-n): 0.8% for eight,
# 3% for six.
declare -A nodes_seen
report() {  # report PROTO ANSWER
  local pod node addr port
  read -r pod node addr port <<<"$2"
  if [[ -z ${pod:-} ]]; then
    printf '  %-4s no answer\n' "$1"
    return
  fi
  printf '  %-4s %-8s on %s, saw the client as %s:%s\n' "$1" "$pod" "$node" "$addr" "$port"
  nodes_seen[$node]=1
}

# tcp POD ADDR:PORT COUNT: COUNT new connections, each bounded to 5 s.
tcp() {
  local i answer
  for i in $(seq "$3"); do
    answer=$(in_pod "$1" timeout 5 socat -T2 - "TCP:$2,connect-timeout=2" </dev/null 2>/dev/null) || true
    report TCP "$answer"
  done
}

# udp POD ADDR:PORT COUNT: COUNT datagrams, each from a new source port.
udp() {
  local i answer
  for i in $(seq "$3"); do
    answer=$(echo ping | in_pod "$1" timeout 3 socat -T1 - "UDP:$2" 2>/dev/null) || true
    report UDP "$answer"
  done
}

from_pod() {  # from_pod POD WHAT: the heading of a block of requests
  local ip
  ip=$(in_pod "$1" ip -4 -o addr show dev eth0 | awk '{print $4}')
  echo
  echo "== from $1 on node-${1:4:1} (${ip%/*}): $2"
}

nodes_answered() {
  echo "  nodes that answered: $(printf '%s\n' "${!nodes_seen[@]}" | sort | paste -sd' ')"
  nodes_seen=()
}

# Waits (bounded) until every agent has logged one more applied version
# than it had: the write has reached every node's maps.
wait_programmed() {  # wait_programmed BEFORE-COUNTS...
  local -a now
  local all i
  for _ in $(seq 50); do
    mapfile -t now < <(applied_counts)
    all=1
    for ((i = 0; i < $#; i++)); do
      ((now[i] > ${@:i+1:1})) || all=0
    done
    ((all)) && return 0
    sleep 0.1
  done
  echo "the agents did not program the write within 5 s" >&2
  return 1
}

applied_counts() {
  for log in "$run"/agent-node-*.log; do grep -c "applied version" "$log"; done
}

# --- the demo -----------------------------------------------------------------

scripts/setup.sh
scripts/build.sh
# Any exit before the end is a failure (an error, a timeout, Ctrl-C).
trap failed EXIT
"$lab" up --nodes 2 --pods 3 >/dev/null
echo "== lab up: node-1 (pods 10.244.1.0/24) and node-2 (10.244.2.0/24) on a"
echo "   fabric bridge; yard-controller and one yard-agent per node"
start_servers

echo
echo "== yardctl apply -f examples/demo.yaml"
mapfile -t before < <(applied_counts)
yardctl apply -f examples/demo.yaml | sed 's/^/  /'
wait_programmed "${before[@]}"

echo
echo "== yardctl get nodes"
yardctl get nodes
echo
echo "== yardctl get services"
yardctl get services
echo
echo "== yardctl get endpointslices"
yardctl get endpointslices

from_pod pod-1-1 "8 TCP connections to web (10.96.0.10:80)"
tcp pod-1-1 10.96.0.10:80 8
nodes_answered
from_pod pod-1-1 "8 UDP datagrams to web (10.96.0.10:53), each a new flow"
udp pod-1-1 10.96.0.10:53 8
nodes_answered
from_pod pod-2-1 "8 TCP connections to web (10.96.0.10:80)"
tcp pod-2-1 10.96.0.10:80 8
nodes_answered
from_pod pod-2-1 "8 UDP datagrams to web (10.96.0.10:53)"
udp pod-2-1 10.96.0.10:53 8
nodes_answered
from_pod pod-2-1 "6 TCP connections to api, a NodePort service (10.96.0.30:8080)"
tcp pod-2-1 10.96.0.30:8080 6
nodes_answered
from_pod pod-1-1 "6 TCP connections to shop's load-balancer address (172.31.1.10:80)"
tcp pod-1-1 172.31.1.10:80 6
nodes_answered

echo
echo "== from pod-1-1: empty (10.96.0.20:80) has no endpoints and refuses at once"
start=$(date +%s%N)
error=$(in_pod pod-1-1 timeout 5 socat -T2 - TCP:10.96.0.20:80,connect-timeout=2 </dev/null 2>&1) || true
took_ms=$((($(date +%s%N) - start) / 1000000))
echo "  ${error##*: } after ${took_ms} ms (socat's own start included)"

echo
echo "== what the agents did"
for log in "$run"/agent-node-*.log; do
  name=${log##*/agent-}
  grep "applied version" "$log" | tail -1 | sed "s/^.*applied/  ${name%.log}: applied/"
done

trap - EXIT
cat <<EOF

North-south is not here yet: api's NodePort 30080 and shop's load-balancer
address 172.31.1.10 answer pods (as above) but not yet the outside client
(yl-ext, 172.31.0.200); that comes with the north-south work.

The lab stays up. Try:
  scripts/yard-lab status
  scripts/yard-lab exec pod-1-1 socat - TCP:10.96.0.10:80
  $YARD_BUILD_DIR/control/ctl/yardctl --controller=unix://$run/controller.sock get services -o wide
Logs: $run/*.log. Remove it all with: scripts/demo.sh down
EOF
