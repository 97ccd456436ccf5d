#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Turns one bench/run.sh run into results.json, results.md and PNG plots.

    python3 bench/report/yard_bench_report.py --raw DIR/raw --logs DIR/logs \
        --out DIR [--commit C] [--build_dir build] [--quick]

Reads what the benches wrote into --raw (datapath.json, live.json,
sync-<N>x10.json, fanout.json; any may be missing) and describes the
machine (/proc, uname). Plots need gnuplot (bench/run.sh installs
gnuplot-nox); without it only the plots are missing.

Python 3, standard library only: the benches print JSON by hand and the
C++ dependencies have no JSON parser, while python3 is part of every
Debian standard install. Nothing here measures anything.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys

# The goals of issue 6.
GOAL_ESTABLISHED_X_FLOOR = 2.0
GOAL_NEW_FLOW_X_FLOOR = 3.0
GOAL_SCALE_DRIFT = 0.10  # 100,000 services within 10% of 1
GOAL_X_KUBE_PROXY = 5.0  # at 10,000 services
GOAL_COLD_SYNC_MS = 100.0  # 10,000 x 10
GOAL_CHANGE_P99_MS = 1.0
GOAL_AGENT_RSS_MB = 64.0

DP_FLOOR = "xdp_pass (floor)"
DP_ESTABLISHED = "from_pod established flow"
DP_NEW_FLOW = "from_pod new flow"

CLUSTERIP_SWITCHYARD = ["switchyard"]
CLUSTERIP_KUBE_PROXY = ["iptables", "nftables"]
NODEPORT_SWITCHYARD = [
    "switchyard-xdp-stack",
    "switchyard-xdp-redirect",
    "switchyard-xdp-tx",
    "switchyard-tc-stack",
]
NODEPORT_KUBE_PROXY = ["iptables-nodeport", "nftables-nodeport"]
SHAPES = [("new_flows", "new flows"), ("established", "established flows")]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        print(f"report: skipping {path}: {e}", file=sys.stderr)
        return None


def read_file(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def machine(commit, build_dir):
    cpu = ""
    for line in read_file("/proc/cpuinfo").splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = 0
    m = re.search(r"^MemTotal:\s+(\d+)", read_file("/proc/meminfo"), re.M)
    if m:
        mem_kib = int(m.group(1))
    os_name = ""
    m = re.search(r'^PRETTY_NAME="?([^"\n]*)', read_file("/etc/os-release"), re.M)
    if m:
        os_name = m.group(1)
    build_type = ""
    m = re.search(
        r"^CMAKE_BUILD_TYPE:\w+=(.*)$",
        read_file(os.path.join(build_dir, "CMakeCache.txt")),
        re.M,
    )
    if m:
        build_type = m.group(1)
    # The top CMakeLists.txt picks RelWithDebInfo when none is given.
    build_type = build_type or "RelWithDebInfo (the default)"
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpu_model": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": os_name,
        "commit": commit,
        "build_type": build_type,
    }


def fmt(v, digits=0):
    if v is None:
        return "–"
    return f"{v:,.{digits}f}"


def table(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in rows:
        out.append("| " + " | ".join(str(c) for c in r) + " |")
    return "\n".join(out) + "\n"


# --- datapath ---------------------------------------------------------------


def datapath_cases(dp):
    """{case name: {services: (ns, ratio)}} and the service counts."""
    cases, counts = {}, []
    for c in (dp or {}).get("counts", []):
        counts.append(c["services"])
        for case in c["cases"]:
            cases.setdefault(case["name"], {})[c["services"]] = (
                case["ns_per_packet_median"],
                case["ratio_to_floor"],
            )
    return cases, counts


def datapath_md(dp):
    cases, counts = datapath_cases(dp)
    if not cases:
        return "No datapath results.\n"
    header = ["case \\ services"] + [f"{n:,}" for n in counts]
    rows = []
    for name, by_count in cases.items():
        row = [name]
        for n in counts:
            ns, ratio = by_count.get(n, (None, None))
            row.append("–" if ns is None else f"{fmt(ns)} ns ({ratio:.1f}×)")
        rows.append(row)
    return (
        "`yard-bench-datapath`: `BPF_PROG_TEST_RUN`, ns per packet "
        f"(median of {dp.get('runs')} runs of {dp.get('repeat'):,}), and its "
        "ratio to the XDP floor at the same service count.\n\n"
        + table(header, rows)
    )


# --- live -------------------------------------------------------------------


def live_index(live):
    """{(mode, shape, services): case}."""
    idx = {}
    for c in (live or {}).get("cases", []):
        idx[(c["mode"], c["shape"], c["services"])] = c
    return idx


def live_counts(live, shape="established"):
    return sorted(
        {c["services"] for c in (live or {}).get("cases", []) if c["shape"] == shape}
    )


def best_kube_proxy(idx, kp_modes, shape, n):
    rates = [
        (idx[(m, shape, n)]["pps"], m) for m in kp_modes if (m, shape, n) in idx
    ]
    return max(rates) if rates else (None, None)


def traffic_source_md(live):
    """The line under the rate tables naming what made the frames: the two
    sources time different things, so rates from one are not comparable
    with the other's."""
    sources = sorted(
        {c["traffic_source"] for c in live.get("cases", []) if c.get("traffic_source")}
    )
    source = live.get("traffic_source") or ", ".join(sources)
    if not source:
        # Results from before the bench had a choice: always live frames.
        source = "live-frames"
    why = live.get("traffic_source_why")
    what = {
        "live-frames": "an XDP generator run with BPF_PROG_TEST_RUN "
        "(live frames) on the node's device; time = time in the syscall",
        "af-packet": "a raw AF_PACKET socket on the veth's other end "
        "(the client pod or the outside client), sendmmsg; time = wall "
        "time of the send loop",
    }.get(source, "")
    return (
        f"Traffic source: `{source}`"
        + (f" ({why})" if why else "")
        + (f": {what}." if what else ".")
        + "\n"
    )


def live_md(live):
    if not live:
        return "No live results.\n"
    idx = live_index(live)
    counts = live_counts(live)
    out = []
    for entry, title, sy_modes, kp_modes in [
        (
            "clusterip",
            "ClusterIP, frames from a pod",
            CLUSTERIP_SWITCHYARD,
            CLUSTERIP_KUBE_PROXY,
        ),
        (
            "nodeport",
            "NodePort, frames from outside on the external device",
            NODEPORT_SWITCHYARD,
            NODEPORT_KUBE_PROXY,
        ),
    ]:
        present = [m for m in sy_modes + kp_modes if any(k[0] == m for k in idx)]
        if not present:
            continue
        sy = [m for m in sy_modes if m in present]
        kp = [m for m in kp_modes if m in present]
        for shape, shape_title in SHAPES:
            header = ["services"] + [f"`{m}`" for m in present]
            header += [f"`{m}` ÷ best kube-proxy" for m in sy]
            rows = []
            for n in counts:
                row = [f"{n:,}"]
                for m in present:
                    c = idx.get((m, shape, n))
                    row.append(fmt(c["pps"]) if c else "–")
                best, _ = best_kube_proxy(idx, kp, shape, n)
                for m in sy:
                    c = idx.get((m, shape, n))
                    row.append(
                        f"{c['pps'] / best:.2f}×" if c and best else "–"
                    )
                rows.append(row)
            out.append(f"**{title}, {shape_title}** (packets/s delivered)\n\n")
            out.append(table(header, rows) + "\n")
    if out:
        out.append(traffic_source_md(live) + "\n")
    # TCP.
    tcp = [c for c in live.get("cases", []) if c["shape"] == "tcp_connect"]
    if tcp:
        modes = sorted({c["mode"] for c in tcp}, key=lambda m: m != "switchyard")
        tcounts = sorted({c["services"] for c in tcp})
        header = ["services"] + [f"`{m}`" for m in modes]
        rows = []
        for n in tcounts:
            row = [f"{n:,}"]
            for m in modes:
                c = idx.get((m, "tcp_connect", n))
                row.append(fmt(c["connections_per_s"]) if c else "–")
            rows.append(row)
        out.append(
            "**Short TCP connections through ClusterIPs** (connections/s, "
            "connect + 1 byte + close)\n\n"
        )
        out.append(table(header, rows))
    return (
        f"`yard-bench-live`: live traffic through network namespaces, median "
        f"of the repetitions; {live.get('iptables')}; kernel "
        f"{live.get('kernel')}. NodePort modes: `switchyard-xdp-stack` "
        "(yard_from_outside DNATs, XDP_PASS, the stack forwards), "
        "`switchyard-xdp-redirect` (redirected into the endpoint's veth), "
        "`switchyard-xdp-tx` (endpoints on another node: SNAT and XDP_TX, "
        "counted after two more forwarding hops), `switchyard-tc-stack` "
        "(XDP off, the fallback for kernels that refuse it: "
        "yard_outside_ingress DNATs at tc, the stack forwards), kube-proxy's "
        "layouts with the frames passed to the stack.\n\n" + "".join(out)
    )


# --- sync and fan-out ------------------------------------------------------


def sync_md(sync, agent_lines):
    if not sync:
        return "No sync results.\n"
    keys = sorted(sync, key=lambda k: int(k.split("x")[0]))
    rows = []
    for label, field, digits in [
        ("cold write of everything → agent's ack (ms)", "cold_ms", 1),
        ("… of which the write RPC (ms)", "cold_rpc_ms", 1),
        ("one more service → ack (ms)", "one_service_ms", 2),
        ("one endpoint change → ack, p50 (ms)", "change_p50_ms", 2),
        ("one endpoint change → ack, p99 (ms)", "change_p99_ms", 2),
    ]:
        rows.append([label] + [fmt(sync[k].get(field), digits) for k in keys])
    rows.append(
        ["agent resident memory after the cold write (MB)"]
        + [fmt(sync[k].get("agent_rss_kib", 0) / 1024, 1) for k in keys]
    )
    text = (
        "`bench/run-sync.sh`: a real yard-controller (every write "
        "fdatasync'ed) and one yard-agent.\n\n"
        + table([""] + [k.replace("x", " × ") for k in keys], rows)
    )
    for k in keys:
        if agent_lines.get(k):
            text += f"\nAgent's own log for the cold write, {k}: `{agent_lines[k]}`\n"
    return text


def fanout_md(fan):
    if not fan:
        return "No fan-out results.\n"
    rows = []
    for label, field in [
        ("write RPC returned", "write_rpc"),
        ("first watcher received", "first_received"),
        ("every watcher received", "all_received"),
        ("every ack recorded", "all_acked"),
        ("first to last received", "first_to_last_received"),
    ]:
        s = fan.get(field) or {}
        rows.append(
            [label, fmt(s.get("p50_ms"), 2), fmt(s.get("p99_ms"), 2), fmt(s.get("max_ms"), 2)]
        )
    return (
        f"`bench/run-sync.sh --fanout`: one endpoint change pushed to "
        f"{fan.get('watchers')} watching agents ({fan.get('changes')} changes, "
        f"{fan.get('services')} services × {fan.get('endpoints')} endpoints); "
        "all watchers in one process on this machine, so an upper bound.\n\n"
        + table(["ms", "p50", "p99", "max"], rows)
    )


# --- goals ------------------------------------------------------------------


def goals(dp, live, sync):
    out = []

    def add(goal, value, met, note=""):
        out.append(
            {
                "goal": goal,
                "value": value,
                "met": met,
                "note": note,
            }
        )

    cases, counts = datapath_cases(dp)
    for name, limit, label in [
        (DP_ESTABLISHED, GOAL_ESTABLISHED_X_FLOOR, "established flow"),
        (DP_NEW_FLOW, GOAL_NEW_FLOW_X_FLOOR, "new flow"),
    ]:
        by = cases.get(name, {})
        if by:
            worst_n = max(by, key=lambda n: by[n][1])
            ratio = by[worst_n][1]
            add(
                f"{label} ≤ {limit:g}× XDP floor",
                f"{ratio:.1f}× ({fmt(by[worst_n][0])} ns, worst count: {worst_n:,} services)",
                ratio <= limit,
                "yard-bench-datapath",
            )
        else:
            add(f"{label} ≤ {limit:g}× XDP floor", "not measured", None)
    for name, label in [(DP_ESTABLISHED, "established"), (DP_NEW_FLOW, "new flow")]:
        by = cases.get(name, {})
        if 1 in by and 100000 in by and by[1][0]:
            drift = by[100000][0] / by[1][0] - 1
            add(
                f"{label} at 100,000 services within 10% of 1",
                f"{drift * 100:+.0f}% ({fmt(by[1][0])} → {fmt(by[100000][0])} ns)",
                abs(drift) <= GOAL_SCALE_DRIFT,
                "yard-bench-datapath",
            )
        else:
            add(f"{label} at 100,000 services within 10% of 1", "not measured", None)

    idx = live_index(live)
    for entry, sy_modes, kp_modes in [
        ("ClusterIP", CLUSTERIP_SWITCHYARD, CLUSTERIP_KUBE_PROXY),
        ("NodePort", NODEPORT_SWITCHYARD, NODEPORT_KUBE_PROXY),
    ]:
        for shape, shape_title in SHAPES:
            best, best_mode = best_kube_proxy(idx, kp_modes, shape, 10000)
            for m in sy_modes:
                c = idx.get((m, shape, 10000))
                goal = f"≥ {GOAL_X_KUBE_PROXY:g}× kube-proxy at 10,000 services: {entry} {shape_title}, `{m}`"
                if c and best:
                    ratio = c["pps"] / best
                    # The better layout decides; iptables (kube-proxy's
                    # default mode) shown beside it.
                    ipt = idx.get((kp_modes[0], shape, 10000))
                    vs_ipt = f"; {c['pps'] / ipt['pps']:.1f}× {kp_modes[0]}" if ipt and ipt["pps"] else ""
                    add(
                        goal,
                        f"{ratio:.2f}× ({fmt(c['pps'])} vs {fmt(best)} pkt/s, {best_mode}{vs_ipt})",
                        ratio >= GOAL_X_KUBE_PROXY,
                        "yard-bench-live",
                    )
                elif any(k[0] == m for k in idx):
                    add(goal, "not measured at 10,000", None)

    s10k = (sync or {}).get("10000x10")
    if s10k:
        add(
            "cold sync of 10,000 × 10 ≤ 100 ms",
            f"{fmt(s10k['cold_ms'], 1)} ms",
            s10k["cold_ms"] <= GOAL_COLD_SYNC_MS,
            "write → agent's ack",
        )
        add(
            "endpoint change p99 < 1 ms in the agent",
            f"{fmt(s10k['change_p99_ms'], 2)} ms",
            s10k["change_p99_ms"] < GOAL_CHANGE_P99_MS,
            "measured write → ack, controller's durable write included: "
            "an upper bound on the agent's share",
        )
        rss = s10k["agent_rss_kib"] / 1024
        add(
            "agent RSS < 64 MB",
            f"{rss:.0f} MB (10,000 × 10)",
            rss < GOAL_AGENT_RSS_MB,
            "after the cold write",
        )
    else:
        for g in [
            "cold sync of 10,000 × 10 ≤ 100 ms",
            "endpoint change p99 < 1 ms in the agent",
            "agent RSS < 64 MB",
        ]:
            add(g, "not measured", None)
    return out


def goals_md(gs):
    rows = []
    for g in gs:
        met = "met" if g["met"] else ("not measured" if g["met"] is None else "**not met**")
        rows.append([g["goal"], g["value"], met, g["note"]])
    return table(["goal", "measured", "", "how"], rows)


# --- plots ------------------------------------------------------------------


def plot(out_dir, dp, live):
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        print("report: no gnuplot, no plots", file=sys.stderr)
        return []
    data_dir = os.path.join(out_dir, "plots")
    os.makedirs(data_dir, exist_ok=True)
    made = []

    def render(name, title, ylabel, series, logy=False):
        """series: [(label, [(x, y), ...])]"""
        series = [(l, pts) for l, pts in series if pts]
        if not series:
            return
        plots = []
        for i, (label, pts) in enumerate(series):
            dat = os.path.join(data_dir, f"{name}-{i}.dat")
            with open(dat, "w") as f:
                for x, y in pts:
                    f.write(f"{x} {y}\n")
            plots.append(f"'{dat}' using 1:2 with linespoints lw 2 title '{label}'")
        png = os.path.join(out_dir, f"{name}.png")
        script = "\n".join(
            [
                "set terminal pngcairo size 900,560 noenhanced"
                if "pngcairo" in terminals
                else "set terminal png size 900,560 noenhanced",
                f"set output '{png}'",
                f"set title '{title}'",
                "set xlabel 'services'",
                f"set ylabel '{ylabel}'",
                "set logscale x 10",
                "set logscale y" if logy else "set yrange [0:*]",
                "set grid",
                "set key below",
                "plot " + ", ".join(plots),
            ]
        )
        gp = os.path.join(data_dir, f"{name}.gp")
        with open(gp, "w") as f:
            f.write(script + "\n")
        r = subprocess.run([gnuplot, gp], capture_output=True, text=True)
        if r.returncode == 0:
            made.append(os.path.basename(png))
        else:
            print(f"report: gnuplot {gp}: {r.stderr.strip()}", file=sys.stderr)

    r = subprocess.run(
        [gnuplot, "-e", "set terminal"], capture_output=True, text=True
    )
    terminals = r.stdout + r.stderr

    cases, counts = datapath_cases(dp)
    render(
        "datapath",
        "yard-bench-datapath: ns per packet",
        "ns per packet",
        [
            (name, [(n, by[n][0]) for n in counts if n in by])
            for name, by in cases.items()
        ],
        logy=True,
    )
    idx = live_index(live)
    for entry, modes in [
        ("clusterip", CLUSTERIP_SWITCHYARD + CLUSTERIP_KUBE_PROXY),
        ("nodeport", NODEPORT_SWITCHYARD + NODEPORT_KUBE_PROXY),
    ]:
        for shape, shape_title in SHAPES:
            render(
                f"live-{entry}-{shape}",
                f"yard-bench-live: {entry}, {shape_title}",
                "packets/s delivered",
                [
                    (
                        m,
                        [
                            (n, idx[(m, shape, n)]["pps"])
                            for n in live_counts(live, shape)
                            if (m, shape, n) in idx
                        ],
                    )
                    for m in modes
                ],
            )
    return made


# --- main -------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", required=True)
    ap.add_argument("--logs", default="")
    ap.add_argument("--out", required=True)
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--build_dir", default="build")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()

    def raw(name):
        p = os.path.join(a.raw, name)
        return load(p) if os.path.exists(p) else None

    dp = raw("datapath.json")
    live = raw("live.json")
    sync, agent_lines = {}, {}
    for name in sorted(os.listdir(a.raw)) if os.path.isdir(a.raw) else []:
        m = re.fullmatch(r"sync-(\d+x\d+)\.json", name)
        if m:
            data = raw(name)
            if data:
                sync[m.group(1)] = data
            log = read_file(os.path.join(a.logs, f"sync-{m.group(1)}.log"))
            lm = re.search(r"applied version \d+ in .*", log)
            if lm:
                agent_lines[m.group(1)] = lm.group(0).strip()
    fan = raw("fanout.json")

    info = machine(a.commit, a.build_dir)
    info["quick"] = a.quick
    gs = goals(dp, live, sync)
    results = {
        "machine": info,
        "datapath": dp,
        "live": live,
        "sync": sync,
        "fanout": fan,
        "goals": gs,
    }
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "results.json"), "w") as f:
        json.dump(results, f, indent=1)
        f.write("\n")
    pngs = plot(a.out, dp, live)

    md = [
        f"# Switchyard benchmarks, {info['date'][:10]}\n\n",
        "**Quick run: numbers are meaningless.**\n\n" if a.quick else "",
        table(
            ["machine", ""],
            [
                ["CPU", f"{info['cpu_model']}, {info['cores']} cores"],
                ["memory", f"{info['memory_gib']} GiB"],
                ["OS, kernel", f"{info['os']}, {info['kernel']}"],
                ["commit", f"`{info['commit']}` ({info['build_type'] or 'build type unknown'})"],
                ["host", info["host"]],
            ],
        ),
        "\nNumbers from a shared VM move ±25% run to run: compare cases "
        "within one run, not across runs.\n\n",
        "## Goals (issue 6)\n\n",
        goals_md(gs),
        "\n## Datapath cost\n\n",
        datapath_md(dp),
        "\n## Live packet rates\n\n",
        live_md(live),
        "\n## Control plane\n\n",
        sync_md(sync, agent_lines),
        "\n## Fan-out\n\n",
        fanout_md(fan),
    ]
    if pngs:
        md.append("\n## Plots\n\n")
        md.extend(f"![{p}]({p})\n\n" for p in pngs)
    with open(os.path.join(a.out, "results.md"), "w") as f:
        f.write("".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
