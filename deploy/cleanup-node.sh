#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Removes what yard-agent leaves on a node once Switchyard is gone for good:
# its tc filters (priority 1, handle 0x5957, programs named yard_*), its XDP
# programs, and the maps pinned under the bpffs root. A stopped agent leaves
# them on purpose (forwarding goes on across restarts), so going back to
# kube-proxy needs this on every node (deploy/README.md, "Going back").
#
# Run as root on the node, in its network namespace, after the agent has
# stopped: a running agent would attach again. Other tools' tc filters and
# XDP programs are left alone.
#
#   cleanup-node.sh [--dry-run] [--bpffs-root DIR]   (default /sys/fs/bpf/switchyard)
set -euo pipefail

root=/sys/fs/bpf/switchyard
dry_run=
while (($#)); do
  case $1 in
    --dry-run) dry_run=1 ;;
    --bpffs-root) root=${2:?--bpffs-root needs a folder}; shift ;;
    *) echo "usage: $0 [--dry-run] [--bpffs-root DIR]" >&2; exit 2 ;;
  esac
  shift
done

run() {
  echo "+ $*"
  [[ -n $dry_run ]] || "$@"
}

# An agent in this network namespace would put everything back.
self_netns=$(readlink /proc/self/ns/net)
for comm in /proc/[0-9]*/comm; do
  pid=${comm%/comm}
  if [[ $(cat "$comm" 2>/dev/null) == yard-agent ]] &&
     [[ $(readlink "$pid/ns/net" 2>/dev/null) == "$self_netns" ]]; then
    echo "yard-agent is still running here (pid ${pid#/proc/}): stop it first" >&2
    exit 1
  fi
done

for dev in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
  for hook in ingress egress; do
    # Into a variable first: grep -q leaving early would fail the pipe.
    filters=$(tc filter show dev "$dev" "$hook" 2>/dev/null || true)
    if grep -q 'handle 0x5957 yard_' <<<"$filters"; then
      run tc filter del dev "$dev" "$hook" pref 1 handle 0x5957 bpf
    fi
  done
  details=$(ip -d link show dev "$dev")
  if grep -q 'prog/xdp .* name yard_' <<<"$details"; then
    # The mode decides which program is there: native (xdp) or generic.
    if grep -q ' xdpgeneric[ /]' <<<"$details"; then
      run ip link set dev "$dev" xdpgeneric off
    else
      run ip link set dev "$dev" xdpdrv off
    fi
  fi
done

if [[ -e $root ]]; then
  if [[ $(stat -f -c %t "$root") != cafe4a11 ]]; then
    echo "$root is not on bpffs: not removing it" >&2
    exit 1
  fi
  run rm -rf -- "$root"
fi
echo "done${dry_run:+ (dry run: nothing changed)}"
