#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The main job: a two-node cluster in network namespaces (scripts/yard-lab)
# with Switchyard as its service proxy. It starts real TCP and UDP servers
# in the pods (examples/serve.sh), applies examples/ with yardctl, and
# sends traffic: through ClusterIPs from a pod on each node, and from the
# outside client to NodePorts on every node's address, to load-balancer
# addresses and to an externalIP. For every request it shows which
# endpoint (pod and node) answered and what client address it saw, then
# what yardctl shows of the cluster and of a node's maps. It stays up
# until `scripts/demo.sh down`. The control plane runs over mutual TLS:
# yardctl is the lab's $run/yardctl, which presents the lab's writer
# certificate (see scripts/yard-lab).
#
#   scripts/demo.sh          build and run the demo, leave the lab up
#   scripts/demo.sh down     remove the lab
#
# YARD_BUILD_DIR (default: build) picks the build directory, YARD_LAB_NAME
# (default: yl) the lab (see scripts/yard-lab). Everything lives in
# namespaces named yl-*; nothing is routed to or from the host's own
# interfaces.
set -euo pipefail
cd "$(dirname "$0")/.."
export YARD_BUILD_DIR=${YARD_BUILD_DIR:-build}
export YARD_LAB_NAME=${YARD_LAB_NAME:-yl}
readonly lab=scripts/yard-lab
readonly ns_prefix=$YARD_LAB_NAME-
if [[ $YARD_LAB_NAME == yl ]]; then suffix=""; else suffix=-$YARD_LAB_NAME; fi
readonly run=/run/switchyard-lab$suffix
readonly pins=/sys/fs/bpf/switchyard-lab$suffix

if [[ ${1:-up} == down ]]; then
  "$lab" down
  exit 0
fi
[[ ${1:-up} == up ]] || { echo "usage: scripts/demo.sh [down]" >&2; exit 2; }

# yardctl as the lab's writer, over mutual TLS (written by yard-lab up).
yardctl() { "$run/yardctl" "$@"; }
in_ns() { local name=$1; shift; ip netns exec "$ns_prefix$name" "$@"; }

# On failure: show what the daemons said, then remove the lab, so a rerun
# starts clean.
failed() {
  echo "demo failed; the daemons' last words:" >&2
  for log in "$run"/controller.log "$run"/agent-*.log; do
    [[ -f $log ]] && { echo "-- $log" >&2; tail -5 "$log" >&2; }
  done
  "$lab" down >/dev/null 2>&1 || true
}

# --- traffic ------------------------------------------------------------------

# Prints one line per request: "  TCP  pod-2-3  on node-2, saw ...:40312",
# or why nothing answered (socat's error: refused, timed out), and notes
# the answering node in the global `nodes_seen`. A request that fails is
# reported, never fatal. Endpoints are chosen at random and most services
# have half of them on each node, so n requests all miss one node with
# probability 2^(1-n): 0.8% for eight, 3% for six.
declare -A nodes_seen
report() {  # report PROTO OUTPUT
  local pod node addr port reason
  if [[ $2 != *socat\[* ]]; then read -r pod node addr port _ <<<"$2"; fi
  if [[ -z ${pod:-} ]]; then
    reason=timed\ out
    [[ $2 == *socat\[* ]] && reason=${2##*: }
    printf '  %-4s no answer (%s)\n' "$1" "${reason,,}"
    return
  fi
  printf '  %-4s %-8s on %s, saw the client as %s:%s\n' "$1" "$pod" "$node" "$addr" "$port"
  nodes_seen[$node]=1
}

# tcp NS ADDR:PORT COUNT [SOCAT-OPTIONS]: COUNT new connections, each
# bounded to 5 s. socat's errors are kept: they say why nothing answered.
tcp() {
  local i answer
  for i in $(seq "$3"); do
    answer=$(in_ns "$1" timeout 5 socat -T2 - "TCP:$2,connect-timeout=2${4:-}" </dev/null 2>&1) || true
    report TCP "$answer"
  done
}

# udp NS ADDR:PORT COUNT: COUNT datagrams, each from a new source port.
udp() {
  local i answer
  for i in $(seq "$3"); do
    answer=$(echo ping | in_ns "$1" timeout 3 socat -T1 - "UDP:$2" 2>&1) || true
    report UDP "$answer"
  done
}

# The heading of a block of requests: from_ns NS WHAT
from_ns() {
  local ip where=""
  ip=$(in_ns "$1" ip -4 -o addr show dev eth0 | awk '{print $4}' | head -1)
  [[ $1 == pod-* ]] && where=" on node-${1:4:1}"
  echo
  echo "== from $1$where (${ip%/*}): $2"
}

nodes_answered() {
  local seen
  seen=$(printf '%s\n' "${!nodes_seen[@]}" | sort | paste -sd' ')
  echo "  nodes that answered: ${seen:-none}"
  nodes_seen=()
}

# udp_echo NS ADDR:PORT TEXT: one datagram to an echo server, and what
# came back.
udp_echo() {
  local answer
  answer=$(echo "$3" | in_ns "$1" timeout 3 socat -T1 - "UDP:$2" 2>&1) || true
  if [[ -z $answer ]]; then
    echo "  UDP  no answer (timed out)"
  elif [[ $answer == *socat\[* ]]; then
    answer=${answer##*: }
    echo "  UDP  no answer (${answer,,})"
  else
    echo "  UDP  echoed: $answer"
  fi
}

# health NODE-IP PORT: what the agent's health check tells a load
# balancer: the HTTP status and the body.
health() {
  local out code
  out=$(in_ns ext curl -s -m 2 -w '\n%{http_code}' "http://$1:$2/" 2>/dev/null) || true
  code=${out##*$'\n'}
  if [[ -z $code || $code == 000 ]]; then
    echo "  $1:$2  no answer"
  else
    echo "  $1:$2  HTTP $code ${out%$'\n'*}"
  fi
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
echo "== lab up: node-1 (172.31.0.11, pods 10.244.1.0/24) and node-2"
echo "   (172.31.0.12, pods 10.244.2.0/24) on a fabric bridge, and the"
echo "   outside client ext (172.31.0.200) with load balancers 172.31.1.0/24"
echo "   routed to node-1 and externalIPs 172.31.2.0/24 to node-2;"
echo "   yard-controller (mutual TLS on 172.31.254.1:7800, a management"
echo "   network of its own) and one yard-agent per node"
examples/serve.sh | sed 's/^/  /'

echo
echo "== yardctl apply -f examples/"
mapfile -t before < <(applied_counts)
yardctl apply -f examples/ | sed 's/^/  /'
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

echo
echo "######## East-west: pods through ClusterIPs (no source NAT) ########"
from_ns pod-1-1 "8 TCP connections to web (10.96.0.10:80)"
tcp pod-1-1 10.96.0.10:80 8
nodes_answered
from_ns pod-1-1 "8 UDP datagrams to web (10.96.0.10:53), each a new flow"
udp pod-1-1 10.96.0.10:53 8
nodes_answered
from_ns pod-2-1 "8 TCP connections to web (10.96.0.10:80)"
tcp pod-2-1 10.96.0.10:80 8
nodes_answered
from_ns pod-2-1 "8 UDP datagrams to web (10.96.0.10:53)"
udp pod-2-1 10.96.0.10:53 8
nodes_answered
from_ns pod-2-1 "portal: TCP 80 -> http, UDP 80 -> echo, TCP 9090 -> admin"
tcp pod-2-1 10.96.0.60:80 2
udp pod-2-1 10.96.0.60:80 2
tcp pod-2-1 10.96.0.60:9090 2
nodes_seen=()
from_ns pod-2-1 "6 TCP connections to api, a NodePort service (10.96.0.30:8080)"
tcp pod-2-1 10.96.0.30:8080 6
nodes_answered
from_ns pod-1-1 "6 TCP connections to shop's load-balancer address (172.31.1.10:80)"
tcp pod-1-1 172.31.1.10:80 6
nodes_answered

echo
echo "== from pod-1-1: empty (10.96.0.20:80) has no endpoints and refuses at once"
start=$(date +%s%N)
error=$(in_ns pod-1-1 timeout 5 socat -T2 - TCP:10.96.0.20:80,connect-timeout=2 </dev/null 2>&1) || true
took_ms=$((($(date +%s%N) - start) / 1000000))
echo "  ${error##*: } after ${took_ms} ms (socat's own start included)"

echo
echo "######## North-south: the outside client ########"
from_ns ext "api's NodePort 30080 on node-1 (endpoints on both nodes)"
tcp ext 172.31.0.11:30080 6
nodes_answered
from_ns ext "api's NodePort 30080 on node-2"
tcp ext 172.31.0.12:30080 6
nodes_answered
from_ns ext "batch's NodePort 30050 on node-1: its one endpoint is on node-2,"
echo "   so node-1 forwards it with its own address as the source"
tcp ext 172.31.0.11:30050 3
from_ns ext "batch's UDP NodePort 30052 on node-1 (echo)"
udp_echo ext 172.31.0.11:30052 "hello through node-1"
udp_echo ext 172.31.0.11:30052 "hello again"
from_ns ext "shop's load-balancer address 172.31.1.10:80 (routed to node-1)"
tcp ext 172.31.1.10:80 6
nodes_answered
from_ns ext "edge's externalIP 172.31.2.10:80 (routed to node-2)"
tcp ext 172.31.2.10:80 6
nodes_answered
from_ns ext "checkout, externalTrafficPolicy Local, endpoints on node-1 only:"
echo "   172.31.1.20:80 keeps the client's own address"
tcp ext 172.31.1.20:80 4
echo "   its NodePort 30070 on node-2, which has no local endpoint, refuses"
tcp ext 172.31.0.12:30070 2
echo "   its health check (healthCheckNodePort 30079), as a load balancer asks it"
health 172.31.0.11 30079
health 172.31.0.12 30079
from_ns ext "store (172.31.1.30:80), loadBalancerSourceRanges 172.31.0.200/32:"
echo "   from 172.31.0.200"
tcp ext 172.31.1.30:80 2
echo "   from 172.31.0.201, which it drops"
tcp ext 172.31.1.30:80 2 ,bind=172.31.0.201

echo
echo "######## What the nodes hold ########"
echo
echo "== yardctl bpf services --node node-1 --bpffs-root $pins"
yardctl bpf services --node node-1 --bpffs-root "$pins" || true
echo
echo "== yardctl bpf ct --node node-1 --bpffs-root $pins (first 20 lines)"
{ yardctl bpf ct --node node-1 --bpffs-root "$pins" || true; } | head -20
echo
echo "== yardctl status --node node-1 --bpffs-root $pins --netns ${ns_prefix}node-1"
yardctl status --node node-1 --bpffs-root "$pins" --netns "${ns_prefix}node-1" || true
echo
echo "== what the agents did"
for log in "$run"/agent-node-*.log; do
  name=${log##*/agent-}
  grep "applied version" "$log" | tail -1 | sed "s/^.*applied/  ${name%.log}: applied/"
done

trap - EXIT
yardctl_cmd=$run/yardctl
env_prefix=""
[[ $YARD_LAB_NAME == yl ]] || env_prefix="YARD_LAB_NAME=$YARD_LAB_NAME "
lab_cmd=${env_prefix}scripts/yard-lab
cat <<EOF

The lab stays up. Try:
  $lab_cmd status
  $lab_cmd exec pod-1-1 socat - TCP:10.96.0.10:80
  $lab_cmd exec ext socat - TCP:172.31.0.12:30080
  $lab_cmd exec ext curl -s http://172.31.0.11:30079/
  $yardctl_cmd get services -o wide
  $yardctl_cmd trace 10.244.1.11 10.96.0.10:80/tcp --node node-1 --bpffs-root $pins
  $yardctl_cmd status --node node-1 --bpffs-root $pins --netns ${YARD_LAB_NAME}-node-1
  $lab_cmd restart-agent 1    (a crash and a restart; connections carry on)
Logs: $run/*.log. Remove it all with: ${env_prefix}scripts/demo.sh down
EOF
