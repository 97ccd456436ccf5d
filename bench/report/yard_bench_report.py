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

# The goals of issue 16. Ratios, so that they mean the same on any
# machine: the datapath's against the tc floor (its programs are tc
# programs), the live rates against nftables, kube-proxy's better layout.
GOAL_ESTABLISHED_X_TC_FLOOR = 3.0  # at 1 service
GOAL_ESTABLISHED_SCALE = 2.0  # at 100,000 services, x its own 1-service cost
GOAL_NEW_FLOW_X_TC_FLOOR = 12.0  # never-seen tuple, at 1 service
GOAL_LIVE_SERVICES = 10000
GOAL_LIVE_PEER = "nftables"
GOAL_LIVE_X_PEER = 3.0  # ClusterIP new and established flows
GOAL_TCP_X_PEER = 2.0  # short TCP connections
GOAL_COLD_WRITE_MS = 200.0  # 10,000 x 10, write -> every ack
GOAL_CHANGE_P99_MS = 1.0
GOAL_AGENT_RSS_MB = 64.0

DP_XDP_FLOOR = "xdp_pass (floor)"
DP_TC_FLOOR = "tc_pass (tc floor)"
DP_ESTABLISHED = "from_pod established flow"
DP_NEW_FLOW_FRESH = "from_pod new flow, fresh tuple"
# The tc floor timed one packet per run, as the fresh tuple must be.
DP_TC_ONE_PER_RUN = "tc_pass, one packet per run"

# Known modes in the order the tables show them; a Switchyard mode the
# report does not know (any "switchyard*") is placed after these.
MODE_ORDER = [
    "switchyard",
    "switchyard-xdp-stack",
    "switchyard-xdp-redirect",
    "switchyard-tc-stack",
    "switchyard-xdp-tx",
    "iptables",
    "nftables",
    "iptables-nodeport",
    "nftables-nodeport",
    "iptables-nodeport-remote",
    "nftables-nodeport-remote",
]
MODE_NOTES = {
    "switchyard": "yard_from_pod at tc DNATs, the stack forwards",
    "switchyard-xdp-stack": "yard_from_outside DNATs, XDP_PASS, the stack "
    "forwards",
    "switchyard-xdp-redirect": "DNAT, redirected into the endpoint's veth",
    "switchyard-tc-stack": "XDP off, the fallback for kernels that refuse "
    "it: yard_outside_ingress DNATs at tc, the stack forwards",
    "switchyard-xdp-tx": "endpoints on another node: DNAT + SNAT, XDP_TX back "
    "out the external device",
    "iptables-nodeport-remote": "kube-proxy's iptables layout, endpoints on "
    "another node: DNAT + masquerade, forwarded back out the external device",
    "nftables-nodeport-remote": "the same with its nftables layout",
}
SHAPES = [("new_flows", "new flows"), ("established", "established flows")]


def is_switchyard(mode):
    return mode.startswith("switchyard")


def mode_key(mode):
    known = MODE_ORDER.index(mode) if mode in MODE_ORDER else len(MODE_ORDER)
    return (not is_switchyard(mode), known, mode)


def ordered(modes):
    return sorted(set(modes), key=mode_key)


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
    """{case name: {services: (ns, ratio to the XDP floor)}} and the counts."""
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
    # yard_from_pod and yard_to_pod are tc programs: the tc floor is theirs
    # (older results have only the XDP floor).
    tc = cases.get(DP_TC_FLOOR, {})
    header = ["case \\ services"] + [f"{n:,}" for n in counts]
    rows = []
    for name, by_count in cases.items():
        row = [name]
        for n in counts:
            ns, ratio = by_count.get(n, (None, None))
            if ns is None:
                row.append("–")
            elif tc.get(n, (0,))[0]:
                row.append(f"{fmt(ns)} ns ({ns / tc[n][0]:.1f}× tc)")
            else:
                row.append(f"{fmt(ns)} ns ({ratio:.1f}× XDP)")
        rows.append(row)
    floor = (
        "the tc floor (a tc program returning TC_ACT_OK)"
        if tc
        else "the XDP floor"
    )
    return (
        "`yard-bench-datapath`: `BPF_PROG_TEST_RUN`, ns per packet "
        f"(median of {dp.get('runs')} runs of {dp.get('repeat'):,}), and its "
        f"ratio to {floor} at the same service count. \"fresh tuple\" is a "
        "connection's first packet: a tuple never seen, its tracking entries "
        "new keys (one packet per test run, so the run's overhead is in it; "
        "issue 16's new-flow goal uses it); \"from_pod new flow\" finds its "
        "own expired entries and chooses a backend again.\n\n"
        + table(header, rows)
    )


# --- live -------------------------------------------------------------------


def case_entry(c):
    return c.get("entry") or (
        "clusterip" if c["mode"] in ("switchyard", "iptables", "nftables") else "nodeport"
    )


def case_site(c):
    """Where the case's endpoints were; older results did not say."""
    if c.get("site"):
        return c["site"]
    remote = c["mode"] == "switchyard-xdp-tx" or c["mode"].endswith("-remote")
    return "remote" if remote else "local"


def run_conntrack(live):
    """The run's setting for Switchyard's nodes (before the option: off)."""
    return (live or {}).get("node_conntrack", False)


def primary_case(live, c):
    """Whether a case is one of the run's main rows: kube-proxy's always,
    Switchyard's on a node with the run's conntrack setting (the others are
    the extra runs without it)."""
    if not is_switchyard(c["mode"]):
        return True
    return c.get("node_conntrack", run_conntrack(live)) == run_conntrack(live)


def live_index(live, primary=True):
    """{(mode, shape, services): case}: the main rows, or (primary=False)
    Switchyard's extra rows without conntrack."""
    idx = {}
    for c in (live or {}).get("cases", []):
        if primary_case(live, c) == primary:
            idx[(c["mode"], c["shape"], c["services"])] = c
    return idx


def live_counts(live, shape="established"):
    return sorted(
        {c["services"] for c in (live or {}).get("cases", []) if c["shape"] == shape}
    )


def best_kube_proxy(idx, kp_modes, shape, n):
    """(rate, mode) of the better kube-proxy layout actually run."""
    field = "connections_per_s" if shape == "tcp_connect" else "pps"
    rates = [
        (idx[(m, shape, n)][field], m) for m in kp_modes if (m, shape, n) in idx
    ]
    return max(rates) if rates else (None, None)


def live_groups(live):
    """The rate tables: (key, title, note, Switchyard modes, kube-proxy
    modes), each comparing like with like as far as the topology allows."""
    cases = [c for c in (live or {}).get("cases", []) if c["shape"] != "tcp_connect"]

    def modes(entry, site=None):
        return ordered(
            c["mode"]
            for c in cases
            if case_entry(c) == entry and (site is None or case_site(c) == site)
        )

    groups = []
    for key, title, note, ms in [
        ("clusterip", "ClusterIP, frames from a pod", "", modes("clusterip")),
        (
            "nodeport-remote",
            "NodePort, endpoints on another node: DNAT + SNAT on both sides",
            "The like-for-like NodePort comparison: kube-proxy masquerades "
            "every NodePort flow (externalTrafficPolicy Cluster), and here "
            "Switchyard SNATs too; both send the frames back out the external "
            "device to node n2, two more forwarding hops counted in every "
            "mode's time.",
            modes("nodeport", "remote"),
        ),
        (
            "nodeport-local",
            "NodePort, endpoints on this node",
            "Not like for like: kube-proxy masquerades these flows as well, "
            "Switchyard's local modes do not SNAT (the endpoint's replies "
            "pass its tc program anyway). Shown for the local path's own "
            "cost; the ratios are not the headline.",
            modes("nodeport", "local"),
        ),
    ]:
        sy = [m for m in ms if is_switchyard(m)]
        kp = [m for m in ms if not is_switchyard(m)]
        if ms:
            groups.append((key, title, note, sy, kp))
    return groups


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


def ratio_table(idx, counts, shape, sy, kp, field="pps"):
    """Rates per mode, the better kube-proxy layout run at each count, and
    each Switchyard mode divided by it."""
    present = sy + kp
    header = ["services"] + [f"`{m}`" for m in present]
    if sy and kp:
        header += ["better kube-proxy"] + [f"`{m}` ÷ better" for m in sy]
    rows = []
    for n in counts:
        row = [f"{n:,}"]
        for m in present:
            c = idx.get((m, shape, n))
            row.append(fmt(c[field]) if c else "–")
        if sy and kp:
            best, best_mode = best_kube_proxy(idx, kp, shape, n)
            row.append(f"`{best_mode}`" if best_mode else "–")
            for m in sy:
                c = idx.get((m, shape, n))
                row.append(f"{c[field] / best:.2f}×" if c and best else "–")
        rows.append(row)
    return table(header, rows)


def conntrack_md(live):
    """What the node's conntrack costs Switchyard, from the extra rows."""
    extra = live_index(live, primary=False)
    if not extra:
        if run_conntrack(live):
            return ""
        return (
            "Switchyard's node ran without nf_conntrack in this run "
            "(`--node_conntrack=false`, or results from before that "
            "option); kube-proxy's modes have it, as "
            "their NAT is conntrack's.\n\n"
        )
    main = live_index(live)
    rows = []
    for m, shape, n in sorted(extra, key=lambda k: (mode_key(k[0]), k[1], k[2])):
        off = extra[(m, shape, n)]
        on = main.get((m, shape, n))
        rows.append(
            [
                f"`{m}`",
                shape.replace("_", " "),
                f"{n:,}",
                fmt(on["pps"]) if on else "–",
                fmt(off["pps"]),
                f"{(on['pps'] / off['pps'] - 1) * 100:+.0f}%"
                if on and off["pps"]
                else "–",
            ]
        )
    return (
        "**What nf_conntrack costs Switchyard** (packets/s). Every "
        "Switchyard node above has conntrack active, as on a real node "
        "where CNI or kubelet rules keep it loaded (an nftables table with "
        "`ct state` rules on prerouting and forward); here each of its modes "
        "once more on a node without it, measured right after the first. kube-proxy's modes pay conntrack in "
        "every row: their DNAT and masquerade are conntrack's NAT. Frames "
        "Switchyard keeps out of the stack (XDP redirect, XDP_TX) do not "
        "meet it, so their two rows show how much the machine moved "
        "between back-to-back runs.\n\n"
        + table(
            ["mode", "shape", "services", "with conntrack", "without", "change with conntrack"],
            rows,
        )
        + "\n"
    )


def live_md(live):
    if not live:
        return "No live results.\n"
    idx = live_index(live)
    counts = live_counts(live)
    out = []
    notes = []
    for key, title, note, sy, kp in live_groups(live):
        if note:
            out.append(note + "\n\n")
        for shape, shape_title in SHAPES:
            out.append(f"**{title}, {shape_title}** (packets/s delivered)\n\n")
            out.append(ratio_table(idx, counts, shape, sy, kp) + "\n")
        notes += [m for m in sy + kp if m in MODE_NOTES]
    if out:
        out.append(traffic_source_md(live) + "\n")
    out.append(conntrack_md(live))
    # TCP.
    tcp = [c for c in live.get("cases", []) if c["shape"] == "tcp_connect"]
    if tcp:
        modes = ordered(c["mode"] for c in tcp)
        sy = [m for m in modes if is_switchyard(m)]
        kp = [m for m in modes if not is_switchyard(m)]
        out.append(
            "**Short TCP connections through ClusterIPs** (connections/s, "
            "connect + 1 byte + close)\n\n"
        )
        out.append(
            ratio_table(
                idx,
                sorted({c["services"] for c in tcp}),
                "tcp_connect",
                sy,
                kp,
                "connections_per_s",
            )
        )
    described = "; ".join(f"`{m}`: {MODE_NOTES[m]}" for m in ordered(notes))
    return (
        f"`yard-bench-live`: live traffic through network namespaces, median "
        f"of the repetitions; {live.get('iptables')}; kernel "
        f"{live.get('kernel')}. kube-proxy's layouts get the frames through "
        "the stack, as kube-proxy would. "
        + (f"Modes: {described}. " if described else "")
        + "\"÷ better\" divides by the better kube-proxy layout run at that "
        "count.\n\n"
        + "".join(out)
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
        ("one endpoint change, arrival → ack, p50 (ms)", "change_arrival_p50_ms", 2),
        ("one endpoint change, arrival → ack, p99 (ms)", "change_arrival_p99_ms", 2),
        ("one endpoint change, sent → ack, p50 (ms)", "change_p50_ms", 2),
        ("one endpoint change, sent → ack, p99 (ms)", "change_p99_ms", 2),
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
    """Issue 16's targets, each met or not, with the number and what it was
    divided by."""
    out = []

    def add(goal, value, met, baseline="", note=""):
        out.append(
            {"goal": goal, "value": value, "met": met, "baseline": baseline, "note": note}
        )

    cases, _ = datapath_cases(dp)
    tc = cases.get(DP_TC_FLOOR, {})
    est = cases.get(DP_ESTABLISHED, {})
    fresh = cases.get(DP_NEW_FLOW_FRESH, {})
    one_per_run = cases.get(DP_TC_ONE_PER_RUN, {})
    for label, by, limit in [
        ("established flow", est, GOAL_ESTABLISHED_X_TC_FLOOR),
        ("new flow (never-seen tuple)", fresh, GOAL_NEW_FLOW_X_TC_FLOOR),
    ]:
        goal = f"{label} ≤ {limit:g}× the tc floor at 1 service"
        if 1 in by and tc.get(1, (0,))[0]:
            ratio = by[1][0] / tc[1][0]
            note = "yard-bench-datapath"
            # The fresh tuple is timed one packet per run: say how much of
            # it the kernel's per-run timing is, measured the same way.
            if by is fresh and 1 in one_per_run:
                harness = one_per_run[1][0]
                note += (
                    f"; one packet per run costs {fmt(harness)} ns with the "
                    f"tc floor program: without it "
                    f"{(by[1][0] - harness + tc[1][0]) / tc[1][0]:.1f}×"
                )
            add(
                goal,
                f"{ratio:.1f}× ({fmt(by[1][0])} ns)",
                ratio <= limit,
                f"tc floor {fmt(tc[1][0])} ns",
                note,
            )
        else:
            add(goal, "not measured", None)
    goal = (
        f"established flow at 100,000 services ≤ {GOAL_ESTABLISHED_SCALE:g}× "
        "its 1-service cost"
    )
    if 1 in est and 100000 in est and est[1][0]:
        ratio = est[100000][0] / est[1][0]
        add(
            goal,
            f"{ratio:.1f}× ({fmt(est[100000][0])} ns)",
            ratio <= GOAL_ESTABLISHED_SCALE,
            f"1 service: {fmt(est[1][0])} ns",
            "yard-bench-datapath",
        )
    else:
        add(goal, "not measured", None)

    # Live, every Switchyard ClusterIP mode the run had, on its main rows.
    idx = live_index(live)
    n = GOAL_LIVE_SERVICES
    # ClusterIP peers only: a NodePort layout is no ClusterIP baseline.
    kp_clusterip = {
        m for (m, _, _), c in idx.items() if not is_switchyard(m) and case_entry(c) == "clusterip"
    }
    conntrack = "node with conntrack" if run_conntrack(live) else "node without conntrack"
    targets = [
        (shape, f"ClusterIP {title}", GOAL_LIVE_X_PEER, "pps", "pkt/s")
        for shape, title in SHAPES
    ] + [("tcp_connect", "short TCP connections", GOAL_TCP_X_PEER, "connections_per_s", "conn/s")]
    for shape, title, limit, field, unit in targets:
        sy = ordered(
            m
            for (m, sh, _), c in idx.items()
            if sh == shape and is_switchyard(m) and case_entry(c) == "clusterip"
        )
        for m in sy:
            goal = f"live at {n:,} services, {title}, `{m}` ≥ {limit:g}× {GOAL_LIVE_PEER}"
            c = idx.get((m, shape, n))
            peer = idx.get((GOAL_LIVE_PEER, shape, n))
            if c and peer and peer[field]:
                ratio = c[field] / peer[field]
                value = f"{ratio:.2f}× ({fmt(c[field])} {unit})"
                best, best_mode = best_kube_proxy(idx, kp_clusterip, shape, n)
                if best_mode and best_mode != GOAL_LIVE_PEER and best > peer[field]:
                    value += f"; {c[field] / best:.2f}× the better `{best_mode}`"
                add(
                    goal,
                    value,
                    ratio >= limit,
                    f"`{GOAL_LIVE_PEER}` {fmt(peer[field])} {unit}",
                    f"yard-bench-live, Switchyard on a {conntrack}",
                )
            else:
                add(goal, f"not measured at {n:,} (or no {GOAL_LIVE_PEER})", None)

    s10k = (sync or {}).get("10000x10")
    cold = f"cold write of 10,000 × 10 → every ack ≤ {GOAL_COLD_WRITE_MS:g} ms"
    change = f"one endpoint change → ack, p99 ≤ {GOAL_CHANGE_P99_MS:g} ms"
    rss = f"agent RSS < {GOAL_AGENT_RSS_MB:g} MB at 10,000 × 10"
    if s10k:
        add(
            cold,
            f"{fmt(s10k['cold_ms'], 1)} ms",
            s10k["cold_ms"] <= GOAL_COLD_WRITE_MS,
            "",
            f"bench/run-sync.sh (write RPC {fmt(s10k.get('cold_rpc_ms'), 1)} ms of it)",
        )
        # The goal is from the write's arrival at the controller; results
        # from before the controller said when that was have only the
        # client's send.
        arrival = s10k.get("change_arrival_p99_ms")
        p99 = arrival if arrival is not None else s10k["change_p99_ms"]
        add(
            change,
            f"{fmt(p99, 2)} ms",
            p99 <= GOAL_CHANGE_P99_MS,
            "",
            "bench/run-sync.sh at 10,000 × 10: the write's arrival at the "
            "controller to the agent's ack (from the client's send: "
            f"{fmt(s10k['change_p99_ms'], 2)} ms)"
            if arrival is not None
            else "bench/run-sync.sh at 10,000 × 10: the write RPC (the "
            "controller's durable write included) to the agent's ack",
        )
        mb = s10k["agent_rss_kib"] / 1024
        add(rss, f"{mb:.1f} MB", mb < GOAL_AGENT_RSS_MB, "", "after the cold write")
    else:
        for g in [cold, change, rss]:
            add(g, "not measured", None)
    return out


def goals_md(gs):
    rows = []
    for g in gs:
        met = "met" if g["met"] else ("not measured" if g["met"] is None else "**not met**")
        rows.append([g["goal"], g["value"], g.get("baseline") or "–", met, g["note"]])
    return table(["goal", "measured", "divided by", "", "how"], rows)


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
    for key, title, _, sy, kp in live_groups(live):
        for shape, shape_title in SHAPES:
            render(
                f"live-{key}-{shape}",
                f"yard-bench-live: {title}, {shape_title}",
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
                    for m in sy + kp
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
        "## Goals (issue 16)\n\n",
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
