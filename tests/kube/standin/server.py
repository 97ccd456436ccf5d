# SPDX-License-Identifier: Apache-2.0
"""The stand-in server: its state, its listening socket, its test control.

TLS always. Test-control endpoints (under /standin/, behind the same auth,
not Kubernetes) act through the methods here: compact the history, drop or
bookmark every watch, pause or fail requests, read counters.
"""

import collections
import http.server
import socket
import socketserver
import ssl
import sys
import threading

from . import api as api_verbs
from . import handler
from . import kinds
from . import loader
from . import meta
from . import services


class Config:
    """What the command line sets; the defaults are kube-apiserver's."""

    def __init__(self, cert, key, client_ca=None, token_file=None,
                 listen="127.0.0.1", port=0,
                 service_cidr="10.96.0.0/16",
                 node_port_range="30000-32767", bookmark_interval=5.0,
                 history_limit=0, seed=1, quiet=False, watch_timeout=0):
        self.cert = cert
        self.key = key
        self.client_ca = client_ca
        self.token_file = token_file
        self.listen = listen
        self.port = port
        self.service_cidr = service_cidr
        self.node_port_range = node_port_range
        self.bookmark_interval = max(0.05, float(bookmark_interval))
        self.history_limit = history_limit
        self.seed = seed
        self.quiet = quiet
        # Seconds after which a watch without timeoutSeconds ends cleanly
        # (the real server: 30 to 60 minutes); 0 is never.
        self.watch_timeout = watch_timeout


class _Counters:

    def __init__(self):
        self.requests = 0
        self.unauthorized = 0
        self.by_resource = {
            k.resource: collections.Counter() for k in kinds.KINDS
        }


class StandIn:
    """The stand-in API server; start() serves on a thread of its own."""

    def __init__(self, config, log=None):
        self.config = config
        self.log = log or sys.stderr
        rng = meta.new_rng(config.seed)
        allocator = services.Allocator(config.service_cidr,
                                       config.node_port_range, rng)
        self.api = api_verbs.Api(allocator, rng, config.history_limit)
        self.counters = _Counters()
        self.watchers = set()
        self.connections = set()
        self.paused_until = 0.0
        self.fail_next = []  # [code, remaining]
        self._lock = threading.Lock()
        self._thread = None
        self._ssl = self._ssl_context()
        self.httpd = _Server((config.listen, config.port), handler.Handler,
                             self)

    def _ssl_context(self):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.config.cert, self.config.key)
        if self.config.client_ca:
            context.load_verify_locations(self.config.client_ca)
            # A certificate is optional (tokens work too) but, if given,
            # must verify, as Go's VerifyClientCertIfGiven.
            context.verify_mode = ssl.CERT_OPTIONAL
        return context

    @property
    def port(self):
        return self.httpd.server_address[1]

    @property
    def url(self):
        host = self.httpd.server_address[0]
        if ":" in host:
            host = f"[{host}]"
        return f"https://{host}:{self.port}"

    def load(self, paths):
        for obj in loader.objects_from(paths):
            kind = loader.kind_of(obj)
            namespace = (obj.get("metadata") or {}).get("namespace") or \
                ("default" if kind.namespaced else None)
            loader.strip_server_set(obj)
            self.api.create(kind, namespace, obj, "standin-load",
                            keep_status=True)

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        name="standin", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self):
        self.httpd.serve_forever()

    def stop(self):
        """Stops accepting, ends every watch and connection."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.drop_watches()
        with self._lock:
            connections = list(self.connections)
        for connection in connections:
            _abort(connection)
        if self._thread:
            self._thread.join()

    # --- test control -------------------------------------------------------

    def drop_watches(self, resource=None):
        """Cuts every watch (of `resource` only, if given)."""
        with self.api.store.cond:
            watchers = [w for w in self.watchers
                        if resource in (None, w.resource)]
            for watcher in watchers:
                watcher.dropped = True
            self.api.store.cond.notify_all()
        for watcher in watchers:
            _abort(watcher.connection)
        return len(watchers)

    def end_watches(self, resource=None):
        """Ends every watch (of `resource` only) cleanly, as a timeout."""
        with self.api.store.cond:
            watchers = [w for w in self.watchers
                        if resource in (None, w.resource)]
            for watcher in watchers:
                watcher.ended = True
            self.api.store.cond.notify_all()
        return len(watchers)

    def bookmark_watches(self):
        with self.api.store.cond:
            for watcher in self.watchers:
                watcher.bookmark_now = True
            self.api.store.cond.notify_all()
            return len(self.watchers)

    def compact(self, rv=None):
        """Forgets history up to `rv` (default: now)."""
        with self.api.store.cond:
            self.api.store.compact(rv)
            return self.api.store.compacted_rv

    def stats(self):
        with self.api.store.cond:
            open_watches = collections.Counter(
                w.resource for w in self.watchers)
            rv, compacted = self.api.store.rv, self.api.store.compacted_rv
        with self._lock:
            resources = {
                resource: {
                    "openWatches": open_watches[resource],
                    **{
                        verb: counts[verb]
                        for verb in ("lists", "watches", "gets", "creates",
                                     "updates", "patches", "deletes")
                    },
                } for resource, counts in self.counters.by_resource.items()
            }
            return {
                "resourceVersion": str(rv),
                "compactedResourceVersion": str(compacted),
                "requests": self.counters.requests,
                "unauthorized": self.counters.unauthorized,
                "resources": resources,
            }

    def count(self, resource, verb):
        with self._lock:
            self.counters.by_resource[resource][verb] += 1


def _abort(connection):
    """Ends a connection with no clean TLS or chunked end, as a crash does.

    The plain socket's shutdown, not SSLSocket's: that one also drops the
    TLS state under the feet of a thread that may be writing.
    """
    try:
        socket.socket.shutdown(connection, socket.SHUT_RDWR)
    except OSError:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # Benchmarks open many connections at once; the default backlog is 5.
    request_queue_size = 128

    def __init__(self, address, handler, standin):
        self.standin = standin
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def server_bind(self):
        # HTTPServer's own looks the host name up in DNS, which can stall.
        socketserver.TCPServer.server_bind(self)
        self.server_name = self.server_address[0]
        self.server_port = self.server_address[1]

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if not self.standin.config.quiet:
            print(f"standin: {client_address[0]}:{client_address[1]} "
                  f"connection error: {error!r}", file=self.standin.log,
                  flush=True)
