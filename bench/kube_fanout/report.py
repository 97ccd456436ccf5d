#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Turns one bench/kube_fanout/run.sh run into NAME.json and NAME.md.

    report.py --raw DIR --out OUT --name NAME [--build_dir build]
              [--streams "1 100 1000"] [--latency_services 100]

Reads what yard-bench-kube-fanout wrote into --raw (fanout-<N>.json per
stream count, memory.json) and run.sh's cold_sync.json, describes the
machine (bench/report/yard_bench_report.py's machine()), and writes the
merged JSON and a Markdown summary with the issue's goal (p99 <= 100 ms at
1,000 streams) met or not. Numbers only: it never fails on a goal.
Standard library only.
"""

import argparse
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench", "report"))
sys.dont_write_bytecode = True
from yard_bench_report import machine  # noqa: E402

GOAL_P99_MS = 100.0  # issue 12: event -> every agent, 1,000 streams
GOAL_STREAMS = 1000
RESOURCES = ("services", "endpointslices", "nodes")
METRIC = re.compile(r'^(\w+)(?:\{([^}]*)\})?\s+(\S+)$')


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"report: skipping {path}: {e}", file=sys.stderr)
        return None


def metrics(lines):
    """{"name{labels}": value} of the controller's kube series."""
    out = {}
    for line in lines or []:
        m = METRIC.match(line)
        if m:
            key = m.group(1) + (f"{{{m.group(2)}}}" if m.group(2) else "")
            out[key] = float(m.group(3))
    return out


def api_load(run):
    """The stand-in's watch and list counts while the streams were held."""
    held = json.loads(run["standin_with_streams"])["resources"]
    before = json.loads(run["standin_before"])["resources"]
    after = json.loads(run["standin_after"])["resources"]
    out = {"open_watches": {r: held[r]["openWatches"] for r in RESOURCES}}
    out["open_watches_total"] = sum(out["open_watches"].values())
    # Since the API server started (the controller's initial lists and
    # watches), and during this run (should stay 0: the streams are
    # served from the controller's cache).
    out["lists_total"] = sum(after[r]["lists"] for r in RESOURCES)
    out["watches_total"] = sum(after[r]["watches"] for r in RESOURCES)
    out["lists_during_run"] = out["lists_total"] - sum(
        before[r]["lists"] for r in RESOURCES)
    out["watches_during_run"] = out["watches_total"] - sum(
        before[r]["watches"] for r in RESOURCES)
    return out


def mib(kib):
    return round(kib / 1024, 1) if kib is not None and kib >= 0 else None


def fmt(v, digits=1):
    return "–" if v is None else f"{v:,.{digits}f}"


def commit():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def build(args):
    result = {"machine": machine(commit(), args.build_dir),
              "latency_services": args.latency_services, "fanout": []}
    for n in [int(s) for s in args.streams.split()]:
        run = load(os.path.join(args.raw, f"fanout-{n}.json"))
        if run is None:
            continue
        m = metrics(run.get("metrics_with_streams"))
        result["fanout"].append({
            "streams": n,
            "changes": run["changes"],
            "snapshots_ms": run["snapshots_ms"],
            "last_stream_after_response": run.get("last_stream_after_response"),
            "last_stream_after_request": run.get("last_stream_after_request"),
            "first_stream_after_response": run.get("first_stream_after_response"),
            "api_write": run.get("api_write"),
            "controller_cpu_ms_per_change": run.get(
                "controller_cpu_ms_per_change"),
            "bench_cpu_ms_per_change": run.get("bench_cpu_ms_per_change"),
            "api_server": api_load(run),
            "controller_watching_agents": run.get(
                "watching_agents_with_streams"),
            "controller_kube_watch_requests": {
                k: v for k, v in m.items()
                if k.startswith("switchyard_controller_kube_watch_requests_total")},
            "controller_memory_kib": run["memory_with_streams"],
        })
    memory = load(os.path.join(args.raw, "memory.json"))
    cold = load(os.path.join(args.raw, "cold_sync.json"))
    if memory and cold:
        result["memory"] = {
            **cold,
            "after_sync_kib": memory["memory_before_streams"],
            "with_streams_kib": memory["memory_with_streams"],
            "streams": memory["streams"],
            "streams_snapshotted": memory.get("streams_snapshotted",
                                              memory["streams"]),
            "connect_stopped": memory.get("connect_stopped", ""),
            "rss_by_streams": memory.get("controller_rss_by_streams", []),
            "connect_batch": memory["connect_batch"],
            "snapshots_ms": memory["snapshots_ms"],
            "snapshot_bytes_total": memory["snapshot_bytes_total"],
            "api_server": api_load(memory),
            "controller_watching_agents": memory.get(
                "watching_agents_with_streams"),
        }
    at_goal = [r for r in result["fanout"] if r["streams"] == GOAL_STREAMS]
    if at_goal and at_goal[0]["last_stream_after_response"]:
        p99 = at_goal[0]["last_stream_after_response"]["p99_ms"]
        result["goal"] = {"p99_ms_at_1000_streams": p99,
                          "goal_ms": GOAL_P99_MS, "met": p99 <= GOAL_P99_MS}
    return result


def markdown(r):
    info = r["machine"]
    lines = [
        f"# yard-controller (Kubernetes mode) fan-out, {info['date']}",
        "",
        f"{info['cpu_model']}, {info['cores']} cores, {info['memory_gib']} GiB, "
        f"kernel {info['kernel']}, {info['os']}; commit {info['commit']}, "
        f"{info['build_type']}. API server: tests/kube/apiserver_standin.py "
        "(Python); everything on the loopback of a private network namespace; "
        "the agent streams are fakes in one process (yard-bench-kube-fanout) "
        "that ack on receipt and program no maps.",
        "",
    ]
    if "goal" in r:
        g = r["goal"]
        lines += [f"**Goal (issue 12): p99 ≤ {g['goal_ms']:.0f} ms at 1,000 "
                  f"streams: {'met' if g['met'] else 'not met'} "
                  f"({g['p99_ms_at_1000_streams']:.1f} ms).**", ""]
    lines += [
        f"## API-server event → every agent stream ({r['latency_services']} "
        "services × 10 endpoints in place)",
        "",
        "One EndpointSlice PATCHed through the API server's REST API, one "
        "change at a time; time from the write's HTTP response to the moment "
        "the last stream received the new slice (ms). A negative time: the "
        "streams had the change before the write's HTTP response reached the "
        "bench (the API server sends the watch event first).",
        "",
        "| streams | changes | p50 | p99 | max | first stream p50 | "
        "from the request, p99 | API write p50 | all snapshots | CPU ms per "
        "change: controller / bench |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in r["fanout"]:
        last = f["last_stream_after_response"] or {}
        first = f["first_stream_after_response"] or {}
        req = f["last_stream_after_request"] or {}
        write = f["api_write"] or {}
        lines.append(
            f"| {f['streams']:,} | {f['changes']} | {fmt(last.get('p50_ms'))} | "
            f"{fmt(last.get('p99_ms'))} | {fmt(last.get('max_ms'))} | "
            f"{fmt(first.get('p50_ms'))} | {fmt(req.get('p99_ms'))} | "
            f"{fmt(write.get('p50_ms'))} | {fmt(f['snapshots_ms'], 0)} | "
            f"{fmt(f['controller_cpu_ms_per_change'])} / "
            f"{fmt(f['bench_cpu_ms_per_change'])} |")
    lines += [
        "",
        "## API-server load",
        "",
        "Open watches while the streams were held (GET /standin/stats), and "
        "list/watch requests since the API server started and during the run.",
        "",
        "| streams | open watches: services / endpointslices / nodes (total) | "
        "lists | watches | lists, watches during the run | controller's "
        "watching_agents |",
        "|---|---|---|---|---|---|",
    ]
    rows = [(f["streams"], f["api_server"], f["controller_watching_agents"])
            for f in r["fanout"]]
    if "memory" in r:
        rows.append((f"{r['memory']['streams_snapshotted']:,} "
                     f"({r['memory']['services']:,}-service cluster)",
                     r["memory"]["api_server"],
                     r["memory"]["controller_watching_agents"]))
    for n, a, agents in rows:
        w = a["open_watches"]
        lines.append(
            f"| {n if isinstance(n, str) else f'{n:,}'} | "
            f"{w['services']} / {w['endpointslices']} / {w['nodes']} "
            f"({a['open_watches_total']}) | {a['lists_total']} | "
            f"{a['watches_total']} | {a['lists_during_run']}, "
            f"{a['watches_during_run']} | {fmt(agents, 0)} |")
    if "memory" in r:
        m = r["memory"]
        lines += [
            "",
            f"## Controller memory and cold sync ({m['services']:,} services × "
            f"{m['endpoints_per_service']} endpoints)",
            "",
            "| | VmRSS MiB | VmHWM MiB |",
            "|---|---|---|",
            f"| after the first sync | {fmt(mib(m['after_sync_kib']['vm_rss_kib']))} "
            f"| {fmt(mib(m['after_sync_kib']['vm_hwm_kib']))} |",
            f"| with {m['streams_snapshotted']:,} streams (opened "
            f"{m['connect_batch']} at a time) | {fmt(mib(m['with_streams_kib']['vm_rss_kib']))} | "
            f"{fmt(mib(m['with_streams_kib']['vm_hwm_kib']))} |",
            "",
            f"Cold sync (controller start → \"serving agents at version\"): "
            f"{m['controller_start_to_synced_ms']:,} ms. "
            f"{m['streams_snapshotted']:,} "
            f"snapshots ({m['snapshot_bytes_total'] / 1e6:,.0f} MB in all) "
            f"delivered in {m['snapshots_ms']:,.0f} ms. (The stand-in itself "
            f"took {m['standin_load_ms']:,} ms to load the objects.)",
        ]
        if m["rss_by_streams"]:
            lines += ["", "VmRSS (MiB) after each batch of streams: " + ", ".join(
                f"{p['streams']:,} → {mib(p['vm_rss_kib']):,.0f}"
                for p in m["rss_by_streams"]) + "."]
        if m["connect_stopped"]:
            lines += ["", f"**Stopped at {m['streams_snapshotted']:,} of "
                      f"{m['streams']:,} streams: {m['connect_stopped']}.**"]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--raw", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--build_dir", default=os.path.join(ROOT, "build"))
    parser.add_argument("--streams", default="1 100 1000")
    parser.add_argument("--latency_services", type=int, default=100)
    args = parser.parse_args()
    result = build(args)
    with open(os.path.join(args.out, f"{args.name}.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    with open(os.path.join(args.out, f"{args.name}.md"), "w") as f:
        f.write(markdown(result))


if __name__ == "__main__":
    main()
