#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole benchmark suite in one command, as root:
#
#   sudo bench/run.sh [--out DIR] [--quick] [--only LIST] [--no-conntrack]
#
# Builds (scripts/setup.sh, scripts/build.sh), then runs, each with a
# progress line on stderr and its own output shown as it goes:
#   datapath  yard-bench-datapath at 1, 1,000, 10,000 and 100,000 services
#   live      yard-bench-live, every mode (ClusterIP and NodePort), with
#             nf_conntrack active on Switchyard's node as on a real one,
#             and its modes once more without it at 10,000 services
#   sync      bench/run-sync.sh at 1,000 x 10 and 10,000 x 10
#   fanout    bench/run-sync.sh --fanout (100 watchers)
# and writes into DIR (default bench/results/<date>-<host>/):
#   results.json  every bench's JSON merged, with the machine's description
#   results.md    the tables, and the goals of issue 16, met or not
#   *.png         plots (gnuplot; gnuplot-nox is installed when missing)
#   raw/, logs/   each bench's own JSON and output
#
# --quick: a smoke run of the same steps with small counts (a minute or
# two; numbers meaningless). --only datapath,live,...: a subset.
# --no-conntrack: Switchyard's node without nf_conntrack (kube-proxy's
# modes need it and keep it).
# YARD_BUILD_DIR picks the build directory (default build);
# YARD_BENCH_NO_BUILD=1 skips setup and build. A bench that fails does not
# stop the others; the run exits non-zero at the end if any failed.
# Takes several minutes on the project's 2-vCPU VM, much of it loading
# kube-proxy's layouts at 10,000 services.
set -euo pipefail
cd "$(dirname "$0")/.."

out=""
quick=""
only="datapath,live,sync,fanout"
live_args=()
while (($#)); do
  case $1 in
    --out) out=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --only) only=$2; shift 2 ;;
    --no-conntrack) live_args+=(--node_conntrack=false); shift ;;
    -h | --help) sed -n '3,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [[ $(id -u) -ne 0 ]]; then
  echo "run.sh: needs root (namespaces, BPF, netfilter); run it with sudo" >&2
  exit 2
fi

bin=${YARD_BUILD_DIR:-build}
start=$(date +%s)
progress() { printf '[bench %4ds] %s\n' $(($(date +%s) - start)) "$*" >&2; }

if [[ -z ${YARD_BENCH_NO_BUILD:-} ]]; then
  progress "setup and build (scripts/setup.sh, scripts/build.sh)"
  scripts/setup.sh
  scripts/build.sh
fi
# Plots. Installed here, not by scripts/setup.sh: only this script needs
# it. Without it (no apt, no network) the tables are still written.
if ! command -v gnuplot >/dev/null; then
  if command -v apt-get >/dev/null; then
    progress "installing gnuplot-nox for the plots"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends gnuplot-nox >/dev/null ||
      { apt-get update -qq >/dev/null &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
          --no-install-recommends gnuplot-nox >/dev/null; } ||
      progress "could not install gnuplot-nox: no plots"
  fi
fi

out=${out:-bench/results/$(date +%F)-$(hostname -s)}
mkdir -p "$out/raw" "$out/logs"
progress "results go to $out"

failed=()
# run NAME CMD...: runs one bench, its output (stdout and stderr) shown on
# stderr as it comes and kept in logs/NAME.log.
run() {
  local name=$1
  shift
  progress "$name: $*"
  local t0
  t0=$(date +%s)
  if "$@" 2>&1 | tee "$out/logs/$name.log" >&2; then
    progress "$name: done in $(($(date +%s) - t0)) s"
  else
    progress "$name: FAILED (see $out/logs/$name.log)"
    failed+=("$name")
  fi
}
wanted() { [[ ,$only, == *,$1,* ]]; }

if wanted datapath; then
  if [[ -n $quick ]]; then
    run datapath "$bin/bench/yard-bench-datapath" --services 1,1000 \
      --repeat 100000 --runs 3 --json "$out/raw/datapath.json"
  else
    run datapath "$bin/bench/yard-bench-datapath" \
      --services 1,1000,10000,100000 --json "$out/raw/datapath.json"
  fi
fi
if wanted live; then
  if [[ -n $quick ]]; then
    run live "$bin/bench/yard-bench-live" --quick "${live_args[@]}" \
      --json "$out/raw/live.json"
  else
    run live "$bin/bench/yard-bench-live" "${live_args[@]}" \
      --json "$out/raw/live.json"
  fi
fi
if wanted sync; then
  if [[ -n $quick ]]; then
    sizes=(100)
    changes=20
  else
    sizes=(1000 10000)
    changes=200
  fi
  for n in "${sizes[@]}"; do
    run "sync-${n}x10" env YARD_BENCH_NO_BUILD=1 YARD_BUILD_DIR="$bin" \
      bench/run-sync.sh --services "$n" --endpoints 10 --changes "$changes" \
      --json "$out/raw/sync-${n}x10.json"
  done
fi
if wanted fanout; then
  if [[ -n $quick ]]; then
    fan=(--watchers 10 --changes 10)
  else
    fan=()
  fi
  run fanout env YARD_BENCH_NO_BUILD=1 YARD_BUILD_DIR="$bin" \
    bench/run-sync.sh --fanout "${fan[@]}" --json "$out/raw/fanout.json"
fi

progress "report: results.json, results.md, plots"
# The agent's own time for the cold write, from run-sync.sh's output.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git status --porcelain 2>/dev/null | grep -v '^??' || true) ]]; then
  commit="$commit (with uncommitted changes)"
fi
report_args=(--raw "$out/raw" --logs "$out/logs" --out "$out"
  --commit "$commit" --build_dir "$bin")
[[ -n $quick ]] && report_args+=(--quick)
if ! python3 bench/report/yard_bench_report.py "${report_args[@]}"; then
  failed+=(report)
fi
progress "wrote $out/results.md"
if ((${#failed[@]})); then
  progress "failed: ${failed[*]}"
  exit 1
fi
progress "all done in $(($(date +%s) - start)) s"
