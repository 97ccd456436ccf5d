#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Tests of yard_bench_report.py's tables and goals on made-up results:
which rows are compared with which, what each ratio is divided by, and
that any set of switchyard* modes is handled. Standard library only."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yard_bench_report as report  # noqa: E402


def rate(mode, shape, n, pps, entry="clusterip", site="local", ct=True):
    return {
        "mode": mode,
        "entry": entry,
        "shape": shape,
        "services": n,
        "site": site,
        "node_conntrack": ct,
        "pps": pps,
        "traffic_source": "live-frames",
    }


def tcp(mode, n, cps, ct=True):
    return {
        "mode": mode,
        "entry": "clusterip",
        "shape": "tcp_connect",
        "services": n,
        "site": "local",
        "node_conntrack": ct,
        "connections_per_s": cps,
    }


def live_results():
    cases = []
    for shape, sy, by, ipt, nft in [
        ("new_flows", 900.0, 1200.0, 50.0, 300.0),
        ("established", 4000.0, 5000.0, 1000.0, 1500.0),
    ]:
        cases += [
            rate("switchyard", shape, 10000, sy),
            # A mode this report was not written for: handled generically.
            rate("switchyard-bypass", shape, 10000, by),
            rate("iptables", shape, 10000, ipt),
            rate("nftables", shape, 10000, nft),
            rate("switchyard", shape, 10000, sy * 1.25, ct=False),
            rate("switchyard-xdp-tx", shape, 10000, 800.0, "nodeport", "remote"),
            rate("nftables-nodeport-remote", shape, 10000, 400.0, "nodeport", "remote"),
            rate("iptables-nodeport-remote", shape, 10000, 100.0, "nodeport", "remote"),
            rate("switchyard-xdp-redirect", shape, 10000, 2000.0, "nodeport"),
            rate("nftables-nodeport", shape, 10000, 2000.0, "nodeport"),
        ]
    cases += [
        tcp("switchyard", 10000, 30000.0),
        tcp("iptables", 10000, 12000.0),
        tcp("nftables", 10000, 10000.0),
    ]
    return {"node_conntrack": True, "iptables": "iptables", "kernel": "k", "cases": cases}


def datapath_results():
    def count(n, est, fresh):
        return {
            "services": n,
            "cases": [
                {"name": report.DP_XDP_FLOOR, "ns_per_packet_median": 5, "ratio_to_floor": 1},
                {"name": report.DP_TC_FLOOR, "ns_per_packet_median": 20, "ratio_to_floor": 4},
                {"name": report.DP_TC_ONE_PER_RUN, "ns_per_packet_median": 60, "ratio_to_floor": 12},
                {"name": report.DP_ESTABLISHED, "ns_per_packet_median": est, "ratio_to_floor": est / 5},
                {"name": report.DP_NEW_FLOW_FRESH, "ns_per_packet_median": fresh, "ratio_to_floor": fresh / 5},
            ],
        }

    return {"runs": 5, "repeat": 1000, "counts": [count(1, 50, 300), count(100000, 120, 900)]}


def sync_results():
    return {
        "10000x10": {
            "cold_ms": 150.0,
            "cold_rpc_ms": 80.0,
            "change_p99_ms": 1.5,
            "agent_rss_kib": 60 * 1024,
        }
    }


def by_goal(gs, text):
    found = [g for g in gs if text in g["goal"]]
    if len(found) != 1:
        raise AssertionError(f"{len(found)} goals match {text!r}: {[g['goal'] for g in gs]}")
    return found[0]


class GoalsTest(unittest.TestCase):
    def setUp(self):
        self.gs = report.goals(datapath_results(), live_results(), sync_results())

    def test_datapath_goals_divide_by_the_tc_floor_and_own_cost(self):
        est = by_goal(self.gs, "established flow ≤")
        self.assertTrue(est["met"])  # 50 / 20 = 2.5
        self.assertIn("2.5×", est["value"])
        self.assertIn("tc floor 20 ns", est["baseline"])
        scale = by_goal(self.gs, "100,000 services")
        self.assertFalse(scale["met"])  # 120 / 50 = 2.4
        self.assertIn("2.4×", scale["value"])
        fresh = by_goal(self.gs, "never-seen tuple")
        self.assertFalse(fresh["met"])  # 300 / 20 = 15
        self.assertIn("15.0×", fresh["value"])
        # 300 - 60 of harness + the 20 ns floor it already counts: 13×.
        self.assertIn("one packet per run costs 60 ns", fresh["note"])
        self.assertIn("without it 13.0×", fresh["note"])

    def test_a_live_goal_per_switchyard_clusterip_mode(self):
        new = by_goal(self.gs, "ClusterIP new flows, `switchyard` ")
        self.assertTrue(new["met"])  # 900 / 300
        self.assertIn("3.00×", new["value"])
        self.assertIn("`nftables` 300", new["baseline"])
        bypass = by_goal(self.gs, "ClusterIP established flows, `switchyard-bypass`")
        self.assertTrue(bypass["met"])  # 5000 / 1500
        # nftables-nodeport (2000) is no ClusterIP peer: not named as better.
        self.assertNotIn("better", bypass["value"])
        # Nothing from the NodePort modes or the run without conntrack.
        self.assertFalse([g for g in self.gs if "xdp-tx" in g["goal"]])

    def test_tcp_goal_divides_by_nftables_and_names_a_better_peer(self):
        g = by_goal(self.gs, "short TCP connections, `switchyard`")
        self.assertTrue(g["met"])  # 30000 / 10000
        self.assertIn("2.50× the better `iptables`", g["value"])

    def test_control_plane_goals(self):
        self.assertTrue(by_goal(self.gs, "cold write")["met"])
        self.assertFalse(by_goal(self.gs, "p99")["met"])
        self.assertTrue(by_goal(self.gs, "RSS")["met"])

    def test_endpoint_change_goal_is_timed_from_the_writes_arrival(self):
        sync = sync_results()
        sync["10000x10"]["change_arrival_p99_ms"] = 0.9
        g = by_goal(report.goals(None, None, sync), "p99")
        self.assertTrue(g["met"])  # 0.9 from arrival; 1.5 from the send
        self.assertIn("0.90 ms", g["value"])
        self.assertIn("1.50 ms", g["note"])

    def test_nothing_measured(self):
        for g in report.goals(None, None, None):
            self.assertIsNone(g["met"], g["goal"])


class LiveTablesTest(unittest.TestCase):
    def setUp(self):
        self.live = live_results()

    def test_groups_compare_like_with_like(self):
        groups = {key: (sy, kp) for key, _, _, sy, kp in report.live_groups(self.live)}
        self.assertEqual(
            groups["clusterip"], (["switchyard", "switchyard-bypass"], ["iptables", "nftables"])
        )
        self.assertEqual(
            groups["nodeport-remote"],
            (["switchyard-xdp-tx"], ["iptables-nodeport-remote", "nftables-nodeport-remote"]),
        )
        self.assertEqual(
            groups["nodeport-local"], (["switchyard-xdp-redirect"], ["nftables-nodeport"])
        )

    def test_ratio_divides_by_the_better_peer_run(self):
        idx = report.live_index(self.live)
        text = report.ratio_table(
            idx, [10000], "new_flows", ["switchyard-xdp-tx"],
            ["iptables-nodeport-remote", "nftables-nodeport-remote"],
        )
        self.assertIn("`nftables-nodeport-remote` | 2.00×", text)
        # TCP with only iptables run: divided by iptables.
        only_ipt = report.ratio_table(
            idx, [10000], "tcp_connect", ["switchyard"], ["iptables"], "connections_per_s"
        )
        self.assertIn("`iptables` | 2.50×", only_ipt)

    def test_main_rows_are_the_runs_conntrack_setting(self):
        idx = report.live_index(self.live)
        self.assertEqual(idx[("switchyard", "new_flows", 10000)]["pps"], 900.0)
        extra = report.live_index(self.live, primary=False)
        self.assertEqual(set(extra), {("switchyard", "new_flows", 10000),
                                      ("switchyard", "established", 10000)})
        md = report.conntrack_md(self.live)
        self.assertIn("| `switchyard` | new flows | 10,000 | 900 | 1,125 | -20% |", md)

    def test_older_results_without_site_or_conntrack(self):
        old = {
            "cases": [
                {"mode": "switchyard-xdp-tx", "entry": "nodeport", "shape": "new_flows",
                 "services": 1, "pps": 1.0},
                {"mode": "switchyard", "entry": "clusterip", "shape": "new_flows",
                 "services": 1, "pps": 2.0},
            ]
        }
        groups = {key: sy for key, _, _, sy, _ in report.live_groups(old)}
        self.assertEqual(groups["nodeport-remote"], ["switchyard-xdp-tx"])
        self.assertEqual(len(report.live_index(old)), 2)
        self.assertIn("without nf_conntrack", report.live_md(old))


if __name__ == "__main__":
    unittest.main()
