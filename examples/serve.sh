#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The example application's servers, started in the lab's server pods
# (pod-I-2 and pod-I-3 of every node; scripts/yard-lab must be up). Each
# answers on:
#
#   TCP 8080  http   one line: "<pod> <node> <client addr> <client port>"
#   UDP 5353  echo   the same line, for every datagram
#   TCP 9090  admin  the same line followed by " admin"
#   TCP 7000  sink   reads until the client shuts down its side, then
#                    answers with the number of bytes it got
#   TCP 7007  echo   everything back, for as long as the connection lasts
#   UDP 7007  echo   every datagram back whole
#
# The servers keep running until `scripts/yard-lab down`, which kills
# whatever runs in the lab's namespaces. Their output goes to servers.log
# in the lab's run dir. YARD_LAB_NAME picks the lab, as for yard-lab.
set -euo pipefail

readonly lab_name=${YARD_LAB_NAME:-yl}
if [[ $lab_name == yl ]]; then run=/run/switchyard-lab; else run=/run/switchyard-lab-$lab_name; fi
[[ -f $run/lab.env ]] || { echo "serve.sh: no lab '$lab_name' is up ($run)" >&2; exit 1; }
nodes=0 pods=0
eval "$(cat "$run/lab.env")"

in_pod() { local pod=$1; shift; ip netns exec "$lab_name-$pod" "$@"; }

server_pods() {
  local i j
  for i in $(seq "$nodes"); do
    for j in 2 3; do ((j <= pods)) && echo "pod-$i-$j"; done
  done
  return 0
}

# serve POD ADDRESS COMMAND: one socat in the background, forking a
# child per connection or datagram. (SYSTEM: commands may hold no comma,
# colon or parenthesis: socat's address parser would take them.)
serve() {
  in_pod "$1" socat "$2" "$3" >>"$run/servers.log" 2>&1 </dev/null &
}

for pod in $(server_pods); do
  node=node-${pod:4:1}
  # The command reads the request first: socat writes the datagram to its
  # stdin, and an `echo` that had already exited would make that write
  # fail (EPIPE) and the answer be lost.
  answer="read -r _; echo $pod $node \$SOCAT_PEERADDR \$SOCAT_PEERPORT"
  serve "$pod" TCP-LISTEN:8080,fork,reuseaddr SYSTEM:"$answer"
  serve "$pod" UDP-RECVFROM:5353,fork SYSTEM:"$answer"
  serve "$pod" TCP-LISTEN:9090,fork,reuseaddr SYSTEM:"$answer admin"
  serve "$pod" TCP-LISTEN:7000,fork,reuseaddr SYSTEM:"wc -c"
  serve "$pod" TCP-LISTEN:7007,fork,reuseaddr EXEC:cat
  # -T: a datagram's child (and its cat) goes once it has been idle 2 s.
  in_pod "$pod" socat -T2 UDP-RECVFROM:7007,fork EXEC:cat >>"$run/servers.log" 2>&1 </dev/null &
done

# Every socket bound before any client tries (bounded: 5 s per pod).
for pod in $(server_pods); do
  bound=0
  for _ in $(seq 50); do
    bound=$(in_pod "$pod" ss -Hltun 'sport = :8080 or sport = :5353 or sport = :9090 or sport = :7000 or sport = :7007' | wc -l)
    ((bound >= 6)) && break
    sleep 0.1
  done
  ((bound >= 6)) || { echo "serve.sh: $pod: servers did not start; see $run/servers.log" >&2; exit 1; }
done
echo "serve.sh: servers up in $(server_pods | paste -sd' ')"
