#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The stand-in's API semantics, on the wire, with the standard library.

What the official client does not show but a controller written against
the protocol depends on: the chunked watch body line by line, list
resourceVersion semantics (Exact, NotOlderThan, "0", too large), what an
update keeps of a Service's allocations, dual-stack allocation, injected
failures and pauses. The stand-in runs in-process here (the module use).
"""

import gzip
import http.client
import json
import os
import shutil
import ssl
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import certs  # noqa: E402
from standin import patch  # noqa: E402
from standin import selectors  # noqa: E402
from standin.errors import ApiError  # noqa: E402
from standin.server import Config, StandIn  # noqa: E402

if shutil.which("openssl") is None:
    print("skipped: no openssl command")
    sys.exit(77)

SERVICES = "/api/v1/namespaces/{ns}/services"


class _Base(unittest.TestCase):
    SERVICE_CIDR = "10.96.0.0/16"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="standin-semantics-test-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.files = certs.make_all(cls.tmp)
        cls.log = open(os.path.join(cls.tmp, "standin.log"), "w")
        cls.addClassCleanup(cls.log.close)
        cls.server = StandIn(
            Config(cert=cls.files["server.crt"], key=cls.files["server.key"],
                   token_file=cls.files["token"],
                   service_cidr=cls.SERVICE_CIDR, bookmark_interval=0.2),
            log=cls.log)
        cls.server.api.future_rv_wait = 0.3
        cls.server.start()
        cls.addClassCleanup(cls.server.stop)
        with open(cls.files["token"]) as f:
            cls.token = f.read().strip()
        cls.context = ssl.create_default_context(cafile=cls.files["ca.crt"])

    def connect(self):
        connection = http.client.HTTPSConnection(
            "127.0.0.1", self.server.port, context=self.context, timeout=10)
        self.addCleanup(connection.close)
        return connection

    def request(self, method, path, body=None,
                content_type="application/json", headers=None):
        """(status, headers, parsed body) of one request."""
        connection = self.connect()
        all_headers = {"Authorization": f"Bearer {self.token}"}
        all_headers.update(headers or {})
        if body is not None:
            all_headers["Content-Type"] = content_type
            body = json.dumps(body)
        connection.request(method, path, body=body, headers=all_headers)
        response = connection.getresponse()
        data = response.read()
        if response.getheader("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return response.status, response, json.loads(data) if data else None

    def ok(self, method, path, body=None, **kwargs):
        status, _, answer = self.request(method, path, body, **kwargs)
        self.assertIn(status, (200, 201), answer)
        return answer

    def service(self, name, port=80, **spec):
        return {"metadata": {"name": name},
                "spec": {"ports": [{"port": port}], **spec}}


class WireTest(_Base):

    def test_watch_body_is_chunked_json_lines(self):
        path = SERVICES.format(ns="wire")
        # A write first: from resourceVersion "0" (an empty store's) a watch
        # would start at the current state instead of replaying history.
        self.ok("POST", SERVICES.format(ns="wire-seed"), self.service("seed"))
        start = self.ok("GET", path)["metadata"]["resourceVersion"]
        created = self.ok("POST", path, self.service("w"))
        self.ok("PATCH", path + "/w", {"metadata": {"labels": {"a": "b"}}},
                content_type="application/merge-patch+json")
        self.ok("DELETE", path + "/w")
        connection = self.connect()
        connection.request(
            "GET", f"{path}?watch=1&resourceVersion={start}"
            "&allowWatchBookmarks=true&timeoutSeconds=1",
            headers={"Authorization": f"Bearer {self.token}"})
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader("Transfer-Encoding"), "chunked")
        self.assertEqual(response.getheader("Content-Type"),
                         "application/json")
        # The whole body, ended cleanly by timeoutSeconds.
        events = [json.loads(line) for line in response.read().splitlines()]
        types = [e["type"] for e in events]
        self.assertEqual(types[:3], ["ADDED", "MODIFIED", "DELETED"])
        self.assertTrue(set(types[3:]) <= {"BOOKMARK"}, types)
        self.assertIn("BOOKMARK", types[3:])
        for event in events[:3]:
            self.assertEqual(event["object"]["kind"], "Service")
            self.assertEqual(event["object"]["apiVersion"], "v1")
        added, modified, deleted = (int(e["object"]["metadata"]
                                        ["resourceVersion"])
                                    for e in events[:3])
        self.assertEqual(added, int(created["metadata"]["resourceVersion"]))
        self.assertLess(added, modified)
        self.assertLess(modified, deleted)
        self.assertEqual(events[2]["object"]["metadata"]["labels"],
                         {"a": "b"}, "DELETED carries the last state")
        bookmark = events[-1]["object"]
        self.assertEqual(bookmark["kind"], "Service")
        self.assertEqual(bookmark["metadata"]["resourceVersion"],
                         str(deleted))
        self.assertNotIn("name", bookmark["metadata"])

    def open_watch(self, path):
        connection = self.connect()
        connection.request("GET", path + "?watch=true", headers={
            "Authorization": f"Bearer {self.token}"})
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        return response

    def open_watches(self, resource):
        return self.ok("GET", "/standin/stats")["resources"][resource][
            "openWatches"]

    def test_drop_and_end_watches(self):
        services = self.open_watch("/api/v1/services")
        nodes = self.open_watch("/api/v1/nodes")
        body = self.ok("POST", "/standin/drop-watches?resource=nodes")
        self.assertEqual(body["dropped"], 1)
        with self.assertRaises(http.client.IncompleteRead):
            nodes.read()
        self.assertEqual(self.open_watches("services"), 1)
        self.ok("POST", "/standin/drop-watches")
        with self.assertRaises(http.client.IncompleteRead):
            services.read()
        ended = self.open_watch("/api/v1/services")
        self.assertEqual(self.ok("POST", "/standin/end-watches")["ended"], 1)
        self.assertEqual(ended.read(), b"", "a clean chunked end")
        status, _, _ = self.request("POST",
                                    "/standin/drop-watches?resource=pods")
        self.assertEqual(status, 400)

    def test_list_resource_version_semantics(self):
        path = SERVICES.format(ns="rv")
        for name in ("a", "b", "c"):
            self.ok("POST", path, self.service(name))
        then = int(self.ok("GET", path)["metadata"]["resourceVersion"])
        self.ok("POST", path, self.service("d"))
        now = self.server.api.store.rv

        exact = self.ok("GET", f"{path}?resourceVersion={then}&limit=10")
        self.assertEqual(exact["metadata"]["resourceVersion"], str(then))
        self.assertEqual(len(exact["items"]), 3, "limit makes it Exact")
        matched = self.ok("GET", f"{path}?resourceVersion={then}"
                          "&resourceVersionMatch=Exact")
        self.assertEqual(len(matched["items"]), 3)
        newer = self.ok("GET", f"{path}?resourceVersion={then}")
        self.assertEqual(newer["metadata"]["resourceVersion"], str(now))
        self.assertEqual(len(newer["items"]), 4, "NotOlderThan is current")
        cached = self.ok("GET", f"{path}?resourceVersion=0&limit=1")
        self.assertEqual(len(cached["items"]), 4, '"0" ignores limit')
        self.assertNotIn("continue", cached["metadata"])

        status, _, body = self.request(
            "GET", f"{path}?resourceVersion={now + 100}")
        self.assertEqual((status, body["reason"]), (504, "Timeout"))
        first = self.ok("GET", f"{path}?limit=1")
        status, _, body = self.request(
            "GET", f"{path}?limit=1&resourceVersion={now}&continue=" +
            first["metadata"]["continue"])
        self.assertEqual(status, 400)
        status, _, body = self.request("GET", f"{path}?limit=1&continue=bad")
        self.assertEqual((status, body["reason"]), (400, "BadRequest"))

    def test_expired_continue_hands_out_an_inconsistent_one(self):
        path = SERVICES.format(ns="expired")
        for name in ("a", "b", "c"):
            self.ok("POST", path, self.service(name))
        first = self.ok("GET", f"{path}?limit=1")
        self.ok("DELETE", f"{path}/c")
        self.ok("POST", "/standin/compact")
        status, _, body = self.request(
            "GET", f"{path}?limit=1&continue={first['metadata']['continue']}")
        self.assertEqual((status, body["reason"]), (410, "Expired"))
        rest = self.ok("GET", "{}?continue={}".format(
            path, body["metadata"]["continue"]))
        self.assertEqual([i["metadata"]["name"] for i in rest["items"]],
                         ["b"])

    def test_writes_the_real_server_refuses(self):
        path = SERVICES.format(ns="refused")
        with_rv = self.service("x")
        with_rv["metadata"]["resourceVersion"] = "5"
        status, _, body = self.request("POST", path, with_rv)
        self.assertEqual((status, body["reason"]), (500, "InternalError"))
        status, _, body = self.request("POST", path, self.service("Bad_Name"))
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        self.ok("POST", path, self.service("x"))
        status, _, body = self.request("PUT", path + "/x", self.service("y"))
        self.assertEqual((status, body["reason"]), (400, "BadRequest"))
        status, _, body = self.request("PUT", path + "/nope",
                                       self.service("nope"))
        self.assertEqual((status, body["reason"]), (404, "NotFound"))
        status, _, body = self.request(
            "DELETE", path + "/x",
            {"preconditions": {"resourceVersion": "1"}})
        self.assertEqual((status, body["reason"]), (409, "Conflict"))
        status, _, body = self.request(
            "PATCH", path + "/x", {"spec": {}},
            content_type="application/apply-patch+yaml")
        self.assertEqual(status, 415)
        status, _, body = self.request("POST", path, self.service("s", "x"))
        self.assertEqual((status, body["reason"]), (400, "BadRequest"))
        status, _, body = self.request("POST", path, self.service("s", 70000))
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        status, _, body = self.request("POST", path, {"metadata": "x"})
        self.assertEqual((status, body["reason"]), (400, "BadRequest"))
        generated = self.ok("POST", path, {
            "metadata": {"generateName": "gen-"},
            "spec": {"ports": [{"port": 1}]}})
        self.assertRegex(generated["metadata"]["name"], r"^gen-[a-z0-9]{5}$")
        slices = "/apis/discovery.k8s.io/v1/namespaces/refused/endpointslices"
        status, _, body = self.request("POST", slices,
                                       {"metadata": {"name": "s"}})
        self.assertEqual((status, body["reason"]), (422, "Invalid"))
        self.assertEqual(body["details"]["causes"][0]["field"], "addressType")

    def test_no_op_update_writes_nothing(self):
        path = SERVICES.format(ns="noop")
        created = self.ok("POST", path, self.service("x"))
        again = self.ok("PUT", path + "/x", created)
        self.assertEqual(again["metadata"]["resourceVersion"],
                         created["metadata"]["resourceVersion"])

    def test_update_keeps_what_was_allocated(self):
        path = SERVICES.format(ns="alloc")
        created = self.ok("POST", path, self.service("np", type="NodePort"))
        node_port = created["spec"]["ports"][0]["nodePort"]
        # A client that sends only what it cares about, as kubectl replace
        # with a hand-written file does.
        bare = self.service("np", port=80, type="NodePort")
        kept = self.ok("PUT", path + "/np", bare)
        self.assertEqual(kept["spec"]["clusterIP"],
                         created["spec"]["clusterIP"])
        self.assertEqual(kept["spec"]["ports"][0]["nodePort"], node_port)
        demoted = self.ok("PUT", path + "/np",
                          self.service("np", type="ClusterIP"))
        self.assertNotIn("nodePort", demoted["spec"]["ports"][0])
        taker = self.service("taker", type="NodePort")
        taker["spec"]["ports"][0]["nodePort"] = node_port
        self.ok("POST", path, taker)

        lb = self.ok("POST", path, self.service(
            "lb", type="LoadBalancer", externalTrafficPolicy="Local"))
        health = lb["spec"]["healthCheckNodePort"]
        lb["spec"]["externalTrafficPolicy"] = "Cluster"
        cluster = self.ok("PUT", path + "/lb", lb)
        self.assertNotIn("healthCheckNodePort", cluster["spec"])
        reuse = self.service("reuse", type="LoadBalancer",
                             externalTrafficPolicy="Local",
                             healthCheckNodePort=health)
        self.ok("POST", path, reuse)

        dns = self.ok("POST", path, {
            "metadata": {"name": "dns"},
            "spec": {"type": "NodePort", "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP"},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]}})
        udp, tcp = (p["nodePort"] for p in dns["spec"]["ports"])
        self.assertEqual(udp, tcp, "one node port for both protocols")

        self.ok("DELETE", path + "/taker")
        again = self.service("again", type="NodePort")
        again["spec"]["ports"][0]["nodePort"] = node_port
        self.ok("POST", path, again)

    def test_injected_failures_and_pause(self):
        self.ok("POST", "/standin/fail?code=429&count=2")
        for _ in range(2):
            status, response, body = self.request("GET", "/api/v1/nodes")
            self.assertEqual((status, body["reason"]),
                             (429, "TooManyRequests"))
            self.assertEqual(response.getheader("Retry-After"), "1")
        self.ok("GET", "/api/v1/nodes")
        self.ok("POST", "/standin/pause?seconds=0.4")
        began = time.monotonic()
        self.ok("GET", "/api/v1/nodes")
        self.assertGreaterEqual(time.monotonic() - began, 0.3)

    def test_large_lists_are_gzipped_when_asked(self):
        path = SERVICES.format(ns="gzip")
        for i in range(14):
            body = self.service(f"s{i}")
            body["metadata"]["annotations"] = {"filler": "x" * 10000}
            self.ok("POST", path, body)
        status, response, body = self.request(
            "GET", path, headers={"Accept-Encoding": "gzip"})
        self.assertEqual(status, 200)
        self.assertEqual(response.getheader("Content-Encoding"), "gzip")
        self.assertEqual(len(body["items"]), 14)
        self.ok("DELETE", path)
        self.assertEqual(self.ok("GET", path)["items"], [])


class DualStackTest(_Base):
    SERVICE_CIDR = "10.96.0.0/16,fd00:10:96::/112"

    def test_families_follow_the_policy(self):
        path = SERVICES.format(ns="dual")
        single = self.ok("POST", path, self.service("single"))
        self.assertEqual(single["spec"]["ipFamilies"], ["IPv4"])
        self.assertEqual(len(single["spec"]["clusterIPs"]), 1)
        prefer = self.ok("POST", path, self.service(
            "prefer", ipFamilyPolicy="PreferDualStack"))
        self.assertEqual(prefer["spec"]["ipFamilies"], ["IPv4", "IPv6"])
        self.assertIn(":", prefer["spec"]["clusterIPs"][1])
        v6 = self.ok("POST", path, self.service("v6", ipFamilies=["IPv6"]))
        self.assertTrue(v6["spec"]["clusterIP"].startswith("fd00:10:96::"))


class SingleStackTest(_Base):

    def test_require_dual_stack_is_refused(self):
        status, _, body = self.request(
            "POST", SERVICES.format(ns="single"),
            self.service("x", ipFamilyPolicy="RequireDualStack"))
        self.assertEqual((status, body["reason"]), (422, "Invalid"))


class PiecesTest(unittest.TestCase):
    """The parsers and patchers on their own."""

    def test_label_selectors(self):
        obj = {"metadata": {"labels": {"app": "web", "tier": "1"}}}
        for text, expected in (("", True), ("app", True), ("!app", False),
                               ("app=web", True), ("app==web", True),
                               ("app!=web", False), ("other!=x", True),
                               ("app in (web, db)", True),
                               ("app notin (web)", False), ("tier>0", True),
                               ("app=web,tier,!gone", True)):
            with self.subTest(selector=text):
                self.assertEqual(selectors.label_selector(text)(obj),
                                 expected)
        for bad in ("=x", "a b", "app in (x", "app=(x"):
            with self.subTest(selector=bad), self.assertRaises(ApiError):
                selectors.label_selector(bad)

    def test_merge_and_json_patch(self):
        doc = {"a": {"b": 1, "c": [1, 2]}, "d": 1}
        self.assertEqual(
            patch.merge_patch(doc, {"a": {"b": None, "c": [3]}, "e": 2}),
            {"a": {"c": [3]}, "d": 1, "e": 2})
        self.assertEqual(
            patch.json_patch(doc, [
                {"op": "add", "path": "/a/c/-", "value": 3},
                {"op": "replace", "path": "/d", "value": 5},
                {"op": "remove", "path": "/a/b"},
                {"op": "test", "path": "/d", "value": 5},
            ]), {"a": {"c": [1, 2, 3]}, "d": 5})
        with self.assertRaises(ApiError):
            patch.json_patch(doc, [{"op": "test", "path": "/d", "value": 2}])


if __name__ == "__main__":
    unittest.main(verbosity=2)
