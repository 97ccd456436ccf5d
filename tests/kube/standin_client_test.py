#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The API-server stand-in, checked against a client nobody here wrote.

Debian's python3-kubernetes (the official Python client) lists, pages,
watches, creates, replaces, patches and deletes through the stand-in, run
as a subprocess exactly as the C++ tests run it (port 0, --port-file, TLS
from certs.py, --load of the fixtures). If the stand-in drifted from what
the real API server does, this client would be the first to notice.

Each test works in a namespace of its own (or with nodes named for it), so
the fixtures loaded at start and the other tests do not disturb it.
"""

import http.client
import json
import os
import queue
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

try:
    import kubernetes.client
    import kubernetes.config
    import kubernetes.watch
    import urllib3
    from kubernetes.client.rest import ApiException
except ImportError as missing:
    # ctest reports exit status 77 as skipped (SKIP_RETURN_CODE).
    print(f"skipped: {missing} (install python3-kubernetes)")
    sys.exit(77)
if shutil.which("openssl") is None:
    print("skipped: no openssl command")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import certs  # noqa: E402

TESTDATA = os.path.join(HERE, "testdata")
SERVER_SET = ("uid", "resourceVersion", "creationTimestamp", "generation",
              "managedFields")


def _without_server_set(obj):
    result = json.loads(json.dumps(obj))
    result.pop("kind", None)
    result.pop("apiVersion", None)
    for field in SERVER_SET:
        result["metadata"].pop(field, None)
    return result


class StandInClientTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="standin-client-test-")
        cls.addClassCleanup(shutil.rmtree, cls.tmp, ignore_errors=True)
        cls.files = certs.make_all(cls.tmp)
        certs.make_ca(cls.tmp, "other-ca", "some-other-ca")
        cls.log_path = os.path.join(cls.tmp, "standin.log")
        port_file = os.path.join(cls.tmp, "port")
        cls.log = open(cls.log_path, "w")
        cls.addClassCleanup(cls.log.close)
        cls.proc = subprocess.Popen(
            [
                "/usr/bin/python3",
                os.path.join(HERE, "apiserver_standin.py"),
                "--cert", cls.files["server.crt"],
                "--key", cls.files["server.key"],
                "--client-ca", cls.files["ca.crt"],
                "--token-file", cls.files["token"],
                "--port", "0", "--port-file", port_file,
                "--service-cidr", "10.96.0.0/16,fd00:10:96::/112",
                "--bookmark-interval", "0.5",
                "--load", TESTDATA,
            ],
            stdout=cls.log, stderr=subprocess.STDOUT)
        cls.addClassCleanup(cls._stop_server)
        deadline = time.monotonic() + 15
        while not os.path.exists(port_file):
            if cls.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the stand-in did not start:\n" +
                                   cls._log_tail())
            time.sleep(0.05)
        with open(port_file) as f:
            cls.port = int(f.read())
        cls.url = f"https://127.0.0.1:{cls.port}"
        cls.api_client = cls._client()
        cls.addClassCleanup(cls._close, cls.api_client)
        cls.core = kubernetes.client.CoreV1Api(cls.api_client)
        cls.discovery = kubernetes.client.DiscoveryV1Api(cls.api_client)

    @classmethod
    def _stop_server(cls):
        if cls.proc.poll() is None:
            cls.proc.send_signal(signal.SIGTERM)
            try:
                cls.proc.wait(10)
            except subprocess.TimeoutExpired:
                cls.proc.kill()
                cls.proc.wait()

    @classmethod
    def _log_tail(cls, lines=40):
        cls.log.flush()
        with open(cls.log_path) as f:
            return "".join(f.readlines()[-lines:])

    def run(self, result=None):
        # The stand-in's log dies with the temp dir; a failing test shows
        # its tail, which says what the server saw.
        result = result or self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        super().run(result)
        if len(result.failures) + len(result.errors) > before:
            print(f"\n--- stand-in log (tail) after {self.id()} ---\n" +
                  self._log_tail(), file=sys.stderr)
        return result

    @classmethod
    def _client(cls, token=True, cert=False, ca=None):
        config = kubernetes.client.Configuration()
        config.host = cls.url
        config.ssl_ca_cert = ca or cls.files["ca.crt"]
        config.retries = 0
        if token is True:
            with open(cls.files["token"]) as f:
                token = f.read().strip()
        if token:
            config.api_key = {"authorization": token}
            config.api_key_prefix = {"authorization": "Bearer"}
        if cert:
            config.cert_file = cls.files["client.crt"]
            config.key_file = cls.files["client.key"]
        return kubernetes.client.ApiClient(config)

    @staticmethod
    def _close(client):
        client.rest_client.pool_manager.clear()
        client.close()

    def _raw(self, method, path, body=None, content_type="application/json"):
        """A request outside the client: (status, parsed JSON body)."""
        context = ssl.create_default_context(cafile=self.files["ca.crt"])
        connection = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                 context=context, timeout=10)
        with open(self.files["token"]) as f:
            headers = {"Authorization": "Bearer " + f.read().strip()}
        if body is not None:
            headers["Content-Type"] = content_type
            body = json.dumps(body)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
        finally:
            connection.close()
        return response.status, json.loads(data) if data.strip() else None

    def _stats(self):
        status, stats = self._raw("GET", "/standin/stats")
        self.assertEqual(status, 200)
        return stats

    def _service(self, name, port=80, labels=None, **spec):
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name, "labels": labels or {}},
            "spec": {"ports": [{"port": port}], **spec},
        }

    def _wait_for(self, predicate, what, timeout=5):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail(f"timed out waiting for {what}")
            time.sleep(0.05)

    def _watch_in_thread(self, func, *args, bookmarks=False, **kwargs):
        """Streams events into a queue; an exception ends with ("EXC", e).

        Bookmarks are always asked for, so that stop() at cleanup is seen
        within a bookmark interval, but queued only if `bookmarks`.
        """
        events = queue.Queue()
        watch = kubernetes.watch.Watch()
        kwargs["allow_watch_bookmarks"] = True

        def run():
            try:
                for event in watch.stream(func, *args, **kwargs):
                    if event["type"] != "BOOKMARK" or bookmarks:
                        events.put((event["type"], event["raw_object"]))
                events.put(("END", None))
            except Exception as e:  # noqa: BLE001 (handed to the test)
                events.put(("EXC", e))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10)
        self.addCleanup(watch.stop)
        return events

    # --- authentication and TLS ---------------------------------------------

    def test_no_token_is_401_status(self):
        client = self._client(token=None)
        self.addCleanup(self._close, client)
        with self.assertRaises(ApiException) as caught:
            kubernetes.client.CoreV1Api(client).list_node()
        self.assertEqual(caught.exception.status, 401)
        status = json.loads(caught.exception.body)
        self.assertEqual(status["kind"], "Status")
        self.assertEqual(status["apiVersion"], "v1")
        self.assertEqual(status["status"], "Failure")
        self.assertEqual(status["reason"], "Unauthorized")
        self.assertEqual(status["code"], 401)

    def test_wrong_token_is_401(self):
        client = self._client(token="not-the-token")
        self.addCleanup(self._close, client)
        with self.assertRaises(ApiException) as caught:
            kubernetes.client.CoreV1Api(client).list_node()
        self.assertEqual(caught.exception.status, 401)

    def test_rotated_token_is_honoured(self):
        with open(self.files["token"]) as f:
            original = f.read()
        old_client = self._client()
        self.addCleanup(self._close, old_client)

        def restore():
            with open(self.files["token"], "w") as f:
                f.write(original)

        self.addCleanup(restore)
        with open(self.files["token"], "w") as f:
            f.write("rotated-token-0123456789\n")
        with self.assertRaises(ApiException) as caught:
            kubernetes.client.CoreV1Api(old_client).list_node()
        self.assertEqual(caught.exception.status, 401)
        new_client = self._client(token="rotated-token-0123456789")
        self.addCleanup(self._close, new_client)
        kubernetes.client.CoreV1Api(new_client).list_node()

    def test_client_certificate_authenticates(self):
        client = self._client(token=None, cert=True)
        self.addCleanup(self._close, client)
        nodes = kubernetes.client.CoreV1Api(client).list_node()
        self.assertGreaterEqual(len(nodes.items), 2)

    def test_kubeconfigs_from_certs_py(self):
        for use_token in (True, False):
            with self.subTest(token=use_token):
                path = certs.write_kubeconfig(self.tmp, self.url, use_token)
                client = kubernetes.config.new_client_from_config(path)
                self.addCleanup(self._close, client)
                nodes = kubernetes.client.CoreV1Api(client).list_node()
                self.assertGreaterEqual(len(nodes.items), 2)

    def test_wrong_ca_fails_verification(self):
        client = self._client(ca=os.path.join(self.tmp, "other-ca.crt"))
        self.addCleanup(self._close, client)
        with self.assertRaises(urllib3.exceptions.MaxRetryError) as caught:
            kubernetes.client.CoreV1Api(client).list_node()
        self.assertIsInstance(caught.exception.reason,
                              urllib3.exceptions.SSLError)

    def test_public_endpoints_and_discovery(self):
        version = kubernetes.client.VersionApi(self.api_client).get_code()
        self.assertEqual(version.major, "1")
        core = kubernetes.client.CoreApi(self.api_client).get_api_versions()
        self.assertEqual(core.versions, ["v1"])
        groups = kubernetes.client.ApisApi(self.api_client).get_api_versions()
        self.assertIn("discovery.k8s.io", [g.name for g in groups.groups])
        resources = self.core.get_api_resources()
        self.assertIn("services", [r.name for r in resources.resources])
        status, body = self._raw("GET", "/api/v1/nonsense")
        self.assertEqual(status, 404)
        self.assertEqual(body["reason"], "NotFound")

    # --- services -------------------------------------------------------------

    def test_service_create_defaults_and_allocates(self):
        ns = "t-svc-create"
        created = self.core.create_namespaced_service(
            ns, self._service("plain", port=8080))
        spec = created.spec
        self.assertEqual(spec.type, "ClusterIP")
        self.assertEqual(spec.ports[0].protocol, "TCP")
        self.assertEqual(spec.ports[0].target_port, 8080)
        self.assertEqual(spec.session_affinity, "None")
        self.assertTrue(spec.cluster_ip.startswith("10.96."))
        self.assertEqual(spec.cluster_i_ps, [spec.cluster_ip])
        self.assertEqual(spec.ip_families, ["IPv4"])
        self.assertEqual(spec.ip_family_policy, "SingleStack")
        self.assertEqual(spec.internal_traffic_policy, "Cluster")
        metadata = created.metadata
        self.assertTrue(metadata.uid)
        self.assertTrue(metadata.resource_version.isdigit())
        self.assertIsNotNone(metadata.creation_timestamp)
        self.assertEqual(metadata.managed_fields[0].manager,
                         "OpenAPI-Generator")

        node_port = self.core.create_namespaced_service(
            ns, self._service("np", type="NodePort"))
        self.assertTrue(30000 <= node_port.spec.ports[0].node_port <= 32767)
        self.assertEqual(node_port.spec.external_traffic_policy, "Cluster")
        lb = self.core.create_namespaced_service(
            ns, self._service("lb", type="LoadBalancer",
                              externalTrafficPolicy="Local"))
        self.assertTrue(30000 <= lb.spec.health_check_node_port <= 32767)
        self.assertNotEqual(lb.spec.health_check_node_port,
                            lb.spec.ports[0].node_port)
        headless = self.core.create_namespaced_service(
            ns, self._service("headless", clusterIP="None"))
        self.assertEqual(headless.spec.cluster_ip, "None")
        self.assertEqual(headless.spec.cluster_i_ps, ["None"])

        with self.assertRaises(ApiException) as caught:
            self.core.create_namespaced_service(
                ns, self._service("copycat", clusterIP=spec.cluster_ip))
        self.assertEqual(caught.exception.status, 422)
        self.assertEqual(json.loads(caught.exception.body)["reason"],
                         "Invalid")
        with self.assertRaises(ApiException) as caught:
            self.core.create_namespaced_service(ns, self._service("plain"))
        self.assertEqual(caught.exception.status, 409)
        self.assertEqual(json.loads(caught.exception.body)["reason"],
                         "AlreadyExists")

    def test_service_replace_patch_delete(self):
        ns = "t-svc-update"
        created = self.core.create_namespaced_service(
            ns, self._service("web", labels={"app": "web"}))
        stale = created.metadata.resource_version
        current = self.core.read_namespaced_service("web", ns)
        current.spec.ports[0].port = 81
        current.spec.ports[0].target_port = 81
        replaced = self.core.replace_namespaced_service("web", ns, current)
        self.assertGreater(int(replaced.metadata.resource_version),
                           int(stale))
        self.assertEqual(replaced.spec.cluster_ip, created.spec.cluster_ip)

        current.metadata.resource_version = stale
        with self.assertRaises(ApiException) as caught:
            self.core.replace_namespaced_service("web", ns, current)
        self.assertEqual(caught.exception.status, 409)
        self.assertEqual(json.loads(caught.exception.body)["reason"],
                         "Conflict")

        patched = self.core.patch_namespaced_service(
            "web", ns, {"metadata": {"labels": {"tier": "front"}}})
        self.assertEqual(patched.metadata.labels,
                         {"app": "web", "tier": "front"})
        patched = self.core.patch_namespaced_service(
            "web", ns, [{"op": "remove", "path": "/metadata/labels/app"}])
        self.assertEqual(patched.metadata.labels, {"tier": "front"})
        unchanged = self.core.patch_namespaced_service(
            "web", ns, {"metadata": {"labels": {"tier": "front"}}})
        self.assertEqual(unchanged.metadata.resource_version,
                         patched.metadata.resource_version)

        with self.assertRaises(ApiException) as caught:
            self.core.patch_namespaced_service(
                "web", ns, {"spec": {"clusterIP": "10.96.250.250"}})
        self.assertEqual(caught.exception.status, 422)

        status = self.core.patch_namespaced_service_status(
            "web", ns, {"status": {"loadBalancer": {"ingress": [
                {"ip": "192.168.50.9"}]}}, "spec": {"type": "NodePort"}})
        self.assertEqual(status.status.load_balancer.ingress[0].ip,
                         "192.168.50.9")
        self.assertEqual(status.spec.type, "ClusterIP")

        response = self.core.delete_namespaced_service(
            "web", ns, _preload_content=False)
        deleted = json.loads(response.data)
        self.assertEqual(deleted["kind"], "Service")
        self.assertGreater(int(deleted["metadata"]["resourceVersion"]),
                           int(status.metadata.resource_version))
        with self.assertRaises(ApiException) as caught:
            self.core.read_namespaced_service("web", ns)
        self.assertEqual(caught.exception.status, 404)
        self.assertEqual(json.loads(caught.exception.body)["reason"],
                         "NotFound")
        with self.assertRaises(ApiException) as caught:
            self.core.delete_namespaced_service("web", ns)
        self.assertEqual(caught.exception.status, 404)

    # --- endpointslices and nodes ---------------------------------------------

    def test_endpointslice_crud(self):
        ns = "t-slices"
        with self.assertRaises(ApiException) as caught:
            self.discovery.create_namespaced_endpoint_slice(
                ns, {"metadata": {"name": "no-type"}, "endpoints": []})
        self.assertEqual(caught.exception.status, 422)
        body = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {"name": "web-abc12",
                         "labels": {"kubernetes.io/service-name": "web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.1.9"],
                           "conditions": {"ready": True},
                           "nodeName": "node-a"}],
            "ports": [{"name": "http", "port": 8080}],
        }
        created = self.discovery.create_namespaced_endpoint_slice(ns, body)
        self.assertEqual(created.ports[0].protocol, "TCP")
        self.assertEqual(created.metadata.generation, 1)
        listed = self.discovery.list_namespaced_endpoint_slice(
            ns, label_selector="kubernetes.io/service-name=web")
        self.assertEqual([s.metadata.name for s in listed.items],
                         ["web-abc12"])
        created.endpoints[0].addresses = ["10.244.1.10"]
        replaced = self.discovery.replace_namespaced_endpoint_slice(
            "web-abc12", ns, created)
        self.assertEqual(replaced.metadata.generation, 2)
        self.assertEqual(replaced.endpoints[0].addresses, ["10.244.1.10"])
        patched = self.discovery.patch_namespaced_endpoint_slice(
            "web-abc12", ns,
            {"endpoints": [{"addresses": ["10.244.1.11"],
                            "conditions": {"ready": False,
                                           "terminating": True}}]})
        self.assertEqual(patched.metadata.generation, 3)
        self.assertTrue(patched.endpoints[0].conditions.terminating)
        self.assertEqual(
            self.discovery.read_namespaced_endpoint_slice(
                "web-abc12", ns).metadata.resource_version,
            patched.metadata.resource_version)
        self.discovery.delete_namespaced_endpoint_slice("web-abc12", ns)
        self.assertEqual(
            self.discovery.list_namespaced_endpoint_slice(ns).items, [])

    def test_nodes_are_cluster_scoped_with_status(self):
        body = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": "t-node-1", "labels": {"test": "nodes"}},
            "spec": {"podCIDR": "10.244.9.0/24",
                     "podCIDRs": ["10.244.9.0/24"]},
            "status": {"addresses": [{"type": "InternalIP",
                                      "address": "192.168.1.91"}]},
        }
        created = self.core.create_node(body)
        self.assertIsNone(created.metadata.namespace)
        self.assertEqual(created.status.addresses[0].address, "192.168.1.91")
        created.status.addresses[0].address = "192.168.1.92"
        moved = self.core.replace_node_status("t-node-1", created)
        self.assertEqual(moved.status.addresses[0].address, "192.168.1.92")
        moved.status.addresses[0].address = "192.168.1.93"
        moved.metadata.labels["extra"] = "yes"
        relabelled = self.core.replace_node("t-node-1", moved)
        self.assertEqual(relabelled.metadata.labels["extra"], "yes")
        self.assertEqual(relabelled.status.addresses[0].address,
                         "192.168.1.92")
        unschedulable = self.core.patch_node(
            "t-node-1", {"spec": {"unschedulable": True}})
        self.assertTrue(unschedulable.spec.unschedulable)
        self.assertEqual(unschedulable.spec.pod_cidr, "10.244.9.0/24")
        by_name = self.core.list_node(field_selector="metadata.name=t-node-1")
        self.assertEqual([n.metadata.name for n in by_name.items],
                         ["t-node-1"])
        self.core.delete_node("t-node-1")
        self.assertEqual(self.core.list_node(label_selector="test").items, [])

    # --- lists ----------------------------------------------------------------

    def test_paging_is_consistent_and_expires(self):
        ns = "t-paging"
        for i in range(7):
            self.core.create_namespaced_service(
                ns, self._service(f"svc-{i}", labels={"n": str(i)}))
        first = self.core.list_namespaced_service(ns, limit=3)
        self.assertEqual(len(first.items), 3)
        self.assertEqual(first.metadata.remaining_item_count, 4)
        self.assertTrue(first.metadata._continue)
        # A change between pages is not seen by the continued list.
        self.core.create_namespaced_service(ns, self._service("svc-00"))
        second = self.core.list_namespaced_service(
            ns, limit=3, _continue=first.metadata._continue)
        third = self.core.list_namespaced_service(
            ns, limit=3, _continue=second.metadata._continue)
        names = [s.metadata.name for s in first.items + second.items +
                 third.items]
        self.assertEqual(names, [f"svc-{i}" for i in range(7)])
        self.assertEqual(len(third.items), 1)
        self.assertIsNone(third.metadata._continue)
        self.assertEqual(
            {p.metadata.resource_version for p in (first, second, third)},
            {first.metadata.resource_version})

        again = self.core.list_namespaced_service(ns, limit=3)
        # Compaction keeps the revision it compacts at, so move on first.
        self.core.delete_namespaced_service("svc-00", ns)
        self._raw("POST", "/standin/compact")
        with self.assertRaises(ApiException) as caught:
            self.core.list_namespaced_service(
                ns, limit=3, _continue=again.metadata._continue)
        self.assertEqual(caught.exception.status, 410)
        self.assertEqual(json.loads(caught.exception.body)["reason"],
                         "Expired")

    def test_selectors(self):
        ns = "t-selectors"
        for name, labels in (("a", {"app": "x", "tier": "front"}),
                             ("b", {"app": "x"}), ("c", {"app": "y"}),
                             ("d", {})):
            self.core.create_namespaced_service(
                ns, self._service(name, labels=labels))

        def names(**kwargs):
            return [s.metadata.name for s in
                    self.core.list_namespaced_service(ns, **kwargs).items]

        self.assertEqual(names(label_selector="app"), ["a", "b", "c"])
        self.assertEqual(names(label_selector="!app"), ["d"])
        self.assertEqual(names(label_selector="app=x"), ["a", "b"])
        self.assertEqual(names(label_selector="app!=x"), ["c", "d"])
        self.assertEqual(names(label_selector="app=x,!tier"), ["b"])
        self.assertEqual(names(label_selector="app in (x,y),tier"), ["a"])
        self.assertEqual(names(field_selector="metadata.name=c"), ["c"])
        self.assertEqual(names(field_selector="metadata.name!=c",
                               label_selector="app"), ["a", "b"])
        with self.assertRaises(ApiException) as caught:
            names(label_selector="app=(x")
        self.assertEqual(caught.exception.status, 400)
        with self.assertRaises(ApiException) as caught:
            names(field_selector="spec.nonsense=1")
        self.assertEqual(caught.exception.status, 400)

    # --- watches --------------------------------------------------------------

    def test_watch_from_resource_version_in_order(self):
        ns = "t-watch-order"
        start = self.core.list_namespaced_service(ns).metadata.resource_version
        self.core.create_namespaced_service(ns, self._service("w"))
        self.core.patch_namespaced_service(
            "w", ns, {"metadata": {"labels": {"changed": "yes"}}})
        self.core.delete_namespaced_service("w", ns)
        watch = kubernetes.watch.Watch()
        seen = []
        for event in watch.stream(self.core.list_namespaced_service, ns,
                                  resource_version=start, timeout_seconds=5):
            seen.append((event["type"],
                         int(event["raw_object"]["metadata"]
                             ["resourceVersion"])))
            self.assertEqual(event["object"].metadata.name, "w")
            if len(seen) == 3:
                watch.stop()
        self.assertEqual([t for t, _ in seen],
                         ["ADDED", "MODIFIED", "DELETED"])
        versions = [rv for _, rv in seen]
        self.assertEqual(versions, sorted(versions))
        self.assertGreater(versions[0], int(start))

    def test_watch_live_events_and_selector_transitions(self):
        ns = "t-watch-live"
        self.core.create_namespaced_service(ns, self._service("before"))
        start = self.core.list_namespaced_service(ns).metadata.resource_version
        # From a resourceVersion, so it does not matter whether the stream
        # is open before the writes below or only after them.
        events = self._watch_in_thread(self.core.list_namespaced_service, ns,
                                       label_selector="tier=front",
                                       resource_version=start,
                                       timeout_seconds=10)
        self.core.create_namespaced_service(ns, self._service("w"))
        self.core.patch_namespaced_service(
            "w", ns, {"metadata": {"labels": {"tier": "front"}}})
        self.core.patch_namespaced_service(
            "w", ns, {"metadata": {"labels": {"tier": "back"}}})
        kind, obj = events.get(timeout=5)
        self.assertEqual((kind, obj["metadata"]["name"]), ("ADDED", "w"))
        kind, obj = events.get(timeout=5)
        self.assertEqual((kind, obj["metadata"]["labels"]["tier"]),
                         ("DELETED", "back"))

        # No resourceVersion: the current state first, as ADDED events.
        initial = self._watch_in_thread(self.core.list_namespaced_service, ns,
                                        timeout_seconds=2)
        added = set()
        while True:
            kind, obj = initial.get(timeout=5)
            if kind == "END":
                break
            self.assertEqual(kind, "ADDED")
            added.add(obj["metadata"]["name"])
        self.assertEqual(added, {"before", "w"})

    def test_bookmarks(self):
        ns = "t-bookmarks"
        events = self._watch_in_thread(self.core.list_namespaced_service, ns,
                                       bookmarks=True, timeout_seconds=10)
        kind, obj = events.get(timeout=5)
        self.assertEqual(kind, "BOOKMARK")
        self.assertEqual(obj["kind"], "Service")
        self.assertEqual(obj["apiVersion"], "v1")
        current = int(self._stats()["resourceVersion"])
        self.assertLessEqual(int(obj["metadata"]["resourceVersion"]), current)
        self.core.create_namespaced_service(ns, self._service("b"))
        while True:
            kind, obj = events.get(timeout=5)
            if kind == "ADDED":
                break
        created_rv = int(obj["metadata"]["resourceVersion"])
        self.assertEqual(self._raw("POST", "/standin/bookmark")[0], 200)
        kind, obj = events.get(timeout=5)
        self.assertEqual(kind, "BOOKMARK")
        self.assertGreaterEqual(int(obj["metadata"]["resourceVersion"]),
                                created_rv)

    def test_compacted_history_is_410(self):
        ns = "t-compact"
        old = self.core.list_namespaced_service(ns).metadata.resource_version
        self.core.create_namespaced_service(ns, self._service("c"))
        status, body = self._raw("POST", "/standin/compact")
        self.assertEqual(status, 200)
        with self.assertRaises(ApiException) as caught:
            for _ in kubernetes.watch.Watch().stream(
                    self.core.list_namespaced_service, ns,
                    resource_version=old):
                pass
        self.assertEqual(caught.exception.status, 410)
        # On the wire: HTTP 200, then one ERROR event with a 410 Status.
        response = self.core.list_namespaced_service(
            ns, watch=True, resource_version=old, _preload_content=False)
        self.assertEqual(response.status, 200)
        lines = response.data.decode().splitlines()
        self.assertEqual(len(lines), 1)
        event = json.loads(lines[0])
        self.assertEqual(event["type"], "ERROR")
        self.assertEqual(event["object"]["kind"], "Status")
        self.assertEqual(event["object"]["code"], 410)
        self.assertEqual(event["object"]["reason"], "Expired")
        self.assertIn(f"too old resource version: {old}",
                      event["object"]["message"])
        # From the compaction point on, watching works again.
        for _ in kubernetes.watch.Watch().stream(
                self.core.list_namespaced_service, ns,
                resource_version=body["compactedResourceVersion"],
                timeout_seconds=1):
            self.fail("no change since the compaction")

    def test_drop_watches_ends_the_stream(self):
        ns = "t-drop"
        before = self._stats()["resources"]["endpointslices"]["openWatches"]
        events = self._watch_in_thread(
            self.discovery.list_namespaced_endpoint_slice, ns)
        self._wait_for(
            lambda: self._stats()["resources"]["endpointslices"]
            ["openWatches"] == before + 1, "the watch to open")
        status, body = self._raw("POST", "/standin/drop-watches")
        self.assertEqual(status, 200)
        self.assertGreaterEqual(body["dropped"], 1)
        kind, error = events.get(timeout=5)
        self.assertEqual(kind, "EXC", "a dropped stream is an error")
        self.assertIsInstance(error, urllib3.exceptions.ProtocolError)
        self._wait_for(
            lambda: self._stats()["resources"]["endpointslices"]
            ["openWatches"] == before, "the watch to be gone")

    # --- fixtures and counters ------------------------------------------------

    def test_fixtures_load_and_list_back_equal(self):
        loaded = {}
        for path, list_path in (
            ("/api/v1/services", None),
            ("/apis/discovery.k8s.io/v1/endpointslices", None),
            ("/api/v1/nodes", None),
        ):
            status, listing = self._raw("GET", path)
            self.assertEqual(status, 200)
            for item in listing["items"]:
                self.assertNotIn("kind", item)
                meta = item["metadata"]
                loaded[(listing["kind"][:-len("List")], meta.get("namespace"),
                        meta["name"])] = item
        expected = []
        for name in sorted(os.listdir(TESTDATA)):
            with open(os.path.join(TESTDATA, name)) as f:
                document = json.load(f)
            if document["kind"].endswith("List"):
                expected += [dict(item, kind=document["kind"][:-4])
                             for item in document["items"]]
            else:
                expected.append(document)
        self.assertGreaterEqual(len(expected), 14)
        for want in expected:
            meta = want["metadata"]
            key = (want["kind"], meta.get("namespace"), meta["name"])
            with self.subTest(object=key):
                self.assertIn(key, loaded)
                self.assertEqual(_without_server_set(loaded[key]),
                                 _without_server_set(want))
        # The typed client reads every Service and Node fixture. Slices are
        # read raw: this client's EndpointSlice model refuses `endpoints:
        # null`, which real servers send for a Service without endpoints.
        self.core.list_service_for_all_namespaces()
        self.core.list_node()
        response = self.discovery.list_endpoint_slice_for_all_namespaces(
            label_selector="kubernetes.io/service-name",
            _preload_content=False)
        slices = json.loads(response.data)["items"]
        self.assertIn(None, [s["endpoints"] for s in slices])
        lb = self.core.read_namespaced_service("frontend", "shop")
        self.assertEqual(lb.status.load_balancer.ingress[0].ip,
                         "192.168.50.240")
        self.assertEqual(lb.spec.health_check_node_port, 32001)
        dual = self.core.read_namespaced_service("web-dual", "shop")
        self.assertEqual(dual.spec.ip_families, ["IPv4", "IPv6"])

    def test_stats_count_lists_and_watches(self):
        before = self._stats()
        self.core.list_node()
        self.core.list_node(limit=1)
        for _ in kubernetes.watch.Watch().stream(self.core.list_node,
                                                 label_selector="nobody",
                                                 timeout_seconds=1):
            pass
        after = self._stats()
        nodes_before = before["resources"]["nodes"]
        nodes_after = after["resources"]["nodes"]
        self.assertEqual(nodes_after["lists"] - nodes_before["lists"], 2)
        self.assertEqual(nodes_after["watches"] - nodes_before["watches"], 1)
        self.assertEqual(nodes_after["openWatches"], 0)
        self.assertEqual(after["resources"]["services"]["lists"],
                         before["resources"]["services"]["lists"])
        self.assertGreater(after["requests"], before["requests"])
        self.assertTrue(after["resourceVersion"].isdigit())


if __name__ == "__main__":
    unittest.main(verbosity=2)
