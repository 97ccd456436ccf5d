# SPDX-License-Identifier: Apache-2.0
"""One HTTPS connection: authentication, routing, answers, watch streams.

A request is authenticated by a bearer token equal to the token file's
current content (re-read on every request, so a test can rotate it) or by
a client certificate signed by the client CA. /healthz, /readyz, /livez and
/version answer without credentials, as a real cluster's
public-info-viewer role allows.
"""

import gzip
import hmac
import http.server
import json
import socket
import time
import traceback
import urllib.parse
import uuid

from . import api as api_verbs
from . import discovery
from . import errors
from . import kinds
from . import meta
from . import watch as watching

# The real server's threshold for compressing an answer (128 KiB).
_GZIP_FROM = 128 * 1024
_PUBLIC = ("/healthz", "/readyz", "/livez", "/version")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "switchyard-standin"
    sys_version = ""

    # --- connection ---------------------------------------------------------

    def setup(self):
        # The TLS handshake runs here, on the connection's own thread, so a
        # slow or failing client does not hold up accept().
        standin = self.server.standin
        # Headers and body go out as separate writes; with Nagle on, the
        # second waits for the client's delayed ACK (40 ms a request). Go's
        # servers, the real one included, turn it off too.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.request.settimeout(30)
        self.request = standin._ssl.wrap_socket(self.request,
                                                server_side=True)
        self.request.settimeout(None)
        self.connection = self.request
        with standin._lock:
            standin.connections.add(self.request)
        super().setup()

    def finish(self):
        try:
            super().finish()
        except OSError:
            pass
        finally:
            standin = self.server.standin
            with standin._lock:
                standin.connections.discard(self.request)
            # The server closes only the plain socket, which wrap_socket
            # detached; the TLS one is ours to close.
            self.request.close()

    def log_message(self, format, *args):
        if not self.server.standin.config.quiet:
            print(f"standin: {self.client_address[0]}:"
                  f"{self.client_address[1]} {format % args}",
                  file=self.server.standin.log, flush=True)

    def log_request(self, code="-", size="-"):
        self.log_message('"%s" %s user=%s', self.requestline, str(code),
                         getattr(self, "user", "-"))

    # --- answers ------------------------------------------------------------

    def _send_bytes(self, code, body, content_type, headers=None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        if len(body) >= _GZIP_FROM and "gzip" in self.headers.get(
                "Accept-Encoding", ""):
            # As the real server (APIResponseCompression): large answers
            # are gzipped for clients that accept it; watches never are.
            body = gzip.compress(body, compresslevel=1)
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, code, body, headers=None):
        self._send_bytes(code, json.dumps(body).encode() + b"\n",
                         "application/json", headers)

    def _send_error(self, error):
        body = error.status()
        if getattr(error, "list_continue", None):
            body["metadata"] = {"continue": error.list_continue}
        self._send_json(error.code, body, error.headers)

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # --- dispatch -----------------------------------------------------------

    def do_GET(self):
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self):
        standin = self.server.standin
        url = urllib.parse.urlsplit(self.path)
        path = url.path.rstrip("/") or "/"
        query = dict(urllib.parse.parse_qsl(url.query,
                                            keep_blank_values=True))
        body = self._read_body()
        self.user = "-"
        self._streaming = False
        with standin._lock:
            standin.counters.requests += 1
        try:
            if path not in _PUBLIC:
                self.user = self._authenticate()
                if self.user is None:
                    with standin._lock:
                        standin.counters.unauthorized += 1
                    raise errors.unauthorized()
            if path.startswith("/standin/"):
                return self._control(path, query)
            self._throttle()
            if self._discovery(path):
                return
            route = _route(path)
            if route is None:
                raise errors.path_not_found()
            self._resource(route, query, body)
        except errors.ApiError as error:
            self._send_error(error)
        except Exception as error:  # noqa: BLE001 (a bug here, not a crash)
            traceback.print_exc(file=standin.log)
            if self._streaming:
                self.close_connection = True
                return
            self._send_error(errors.ApiError(
                500, "InternalError",
                f"Internal error occurred: {error!r}"))

    def _authenticate(self):
        """The user's name, or None when the request proves nothing."""
        config = self.server.standin.config
        if not config.token_file and not config.client_ca:
            return "anonymous"
        certificate = self.request.getpeercert() if config.client_ca else None
        if certificate:
            for rdn in certificate.get("subject", ()):
                for name, value in rdn:
                    if name == "commonName":
                        return f"cert:{value}"
            return "cert:"
        header = self.headers.get("Authorization", "")
        if config.token_file and header.startswith("Bearer "):
            try:
                with open(config.token_file, "rb") as f:
                    expected = f.read().strip()
            except OSError:
                return None
            given = header[len("Bearer "):].strip().encode()
            if expected and hmac.compare_digest(given, expected):
                return "token"
        return None

    def _throttle(self):
        """Applies /standin/pause and /standin/fail to API requests."""
        standin = self.server.standin
        delay = standin.paused_until - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        with standin._lock:
            if standin.fail_next:
                code = standin.fail_next[0]
                standin.fail_next[1] -= 1
                if standin.fail_next[1] <= 0:
                    standin.fail_next = []
                raise errors.injected(code)

    def _discovery(self, path):
        if path in ("/healthz", "/readyz", "/livez"):
            self._send_bytes(200, b"ok", "text/plain; charset=utf-8")
            return True
        body = discovery.answer(path, self.request.getsockname())
        if body is None:
            return False
        self._send_json(200, body)
        return True

    # --- resources ----------------------------------------------------------

    def _resource(self, route, query, body):
        standin = self.server.standin
        api = standin.api
        kind, namespace, name, subresource = route
        manager = meta.manager_name(query.get("fieldManager"),
                                    self.headers.get("User-Agent"))
        method = self.command
        if method in ("GET", "HEAD") and name is None:
            if _flag(query, "watch"):
                standin.count(kind.resource, "watches")
                return self._watch(kind, namespace, query)
            standin.count(kind.resource, "lists")
            return self._send_json(*api.list(kind, namespace, query))
        if method in ("GET", "HEAD"):
            standin.count(kind.resource, "gets")
            return self._send_json(*api.get(kind, namespace, name))
        if method == "POST" and name is None:
            if kind.namespaced and namespace is None:
                raise errors.method_not_allowed(method)
            standin.count(kind.resource, "creates")
            return self._send_json(
                *api.create(kind, namespace, _json(body), manager))
        if method == "PUT" and name is not None:
            standin.count(kind.resource, "updates")
            return self._send_json(*api.update(kind, namespace, name,
                                               _json(body), manager,
                                               subresource))
        if method == "PATCH" and name is not None:
            standin.count(kind.resource, "patches")
            content_type = (self.headers.get("Content-Type") or
                            "").split(";")[0].strip()
            return self._send_json(*api.patch(kind, namespace, name, body,
                                              content_type, manager,
                                              subresource))
        if method == "DELETE" and subresource is None:
            standin.count(kind.resource, "deletes")
            options = _json(body) if body.strip() else None
            if name is None:
                return self._send_json(
                    *api.delete_collection(kind, namespace, query, options))
            return self._send_json(*api.delete(kind, namespace, name,
                                               options))
        raise errors.method_not_allowed(method)

    def _watch(self, kind, namespace, query):
        standin = self.server.standin
        store = standin.api.store
        matches = standin.api.matcher(kind, query)
        timeout = api_verbs._non_negative_int(query.get("timeoutSeconds"),
                                              "timeoutSeconds")
        if not timeout:
            timeout = standin.config.watch_timeout
        bookmarks = _flag(query, "allowWatchBookmarks")
        asked = query.get("resourceVersion") or ""
        prefix = f"{namespace}/" if namespace else ""
        watcher = watching.Watcher(kind.resource, self.request)
        with store.cond:
            if asked in ("", "0"):
                start_rv = store.rv
                first = watching.initial_events(store, kind, prefix, matches)
                expired = None
            else:
                start_rv = api_verbs._resource_version(asked)
                first = []
                expired = (watching.too_old(start_rv, store.compacted_rv)
                           if start_rv < store.compacted_rv else None)
            if expired is None:
                standin.watchers.add(watcher)
        self._streaming = True

        def write(event_type, obj):
            if event_type in ("ADDED", "MODIFIED", "DELETED"):
                obj = api_verbs._with_type(kind, obj)
            line = json.dumps({"type": event_type, "object": obj}).encode()
            line += b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))

        ended = "clean end"
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.send_header("Audit-Id", str(uuid.uuid4()))
            self.end_headers()
            if expired is not None:
                # The real server answers 200 and says it in the stream.
                write("ERROR", expired.status())
                ended = "expired"
            else:
                for event in first:
                    write(*event)
                stream = watching.Stream(store, kind, prefix, matches,
                                         watcher, start_rv, timeout,
                                         standin.config.bookmark_interval,
                                         bookmarks)
                if not stream.run(write):
                    ended = "dropped" if watcher.dropped else "client gone"
            if ended in ("clean end", "expired"):
                self.wfile.write(b"0\r\n\r\n")
        except (OSError, ValueError, AttributeError) as error:
            ended = f"write failed ({error.__class__.__name__})"
        finally:
            with store.cond:
                standin.watchers.discard(watcher)
        if ended not in ("clean end", "expired"):
            self.close_connection = True
        self.log_message('watch ended "%s": %s', self.requestline, ended)

    # --- test control -------------------------------------------------------

    def _control(self, path, query):
        standin = self.server.standin
        action = path[len("/standin/"):]
        if action == "stats" and self.command == "GET":
            return self._send_json(200, standin.stats())
        if self.command != "POST":
            raise errors.method_not_allowed(self.command)
        if action == "compact":
            rv = query.get("resourceVersion")
            rv = api_verbs._resource_version(rv) if rv else None
            return self._send_json(200, {"compactedResourceVersion":
                                         str(standin.compact(rv))})
        if action in ("drop-watches", "end-watches"):
            resource = query.get("resource")
            if resource is not None and resource not in kinds.BY_RESOURCE:
                raise errors.bad_request(f"unknown resource {resource!r}")
            if action == "end-watches":
                return self._send_json(
                    200, {"ended": standin.end_watches(resource)})
            return self._send_json(
                200, {"dropped": standin.drop_watches(resource)})
        if action == "bookmark":
            return self._send_json(200,
                                   {"bookmarked": standin.bookmark_watches()})
        if action == "pause":
            seconds = float(query.get("seconds") or 0)
            standin.paused_until = time.monotonic() + seconds
            return self._send_json(200, {"pausedSeconds": seconds})
        if action == "fail":
            code = int(query.get("code") or 503)
            count = int(query.get("count") or 1)
            with standin._lock:
                standin.fail_next = [code, count] if count > 0 else []
            return self._send_json(200, {"code": code, "count": count})
        raise errors.path_not_found()


def _flag(query, name):
    """A boolean parameter, parsed as Go's strconv.ParseBool (400 if bad)."""
    value = query.get(name)
    if value in (None, "", "0", "f", "F", "false", "FALSE", "False"):
        return False
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    raise errors.bad_request(
        f'{name}: Invalid value: "{value}": strconv.ParseBool: parsing '
        f'"{value}": invalid syntax')


def _json(body):
    try:
        return json.loads(body or b"null")
    except ValueError as e:
        raise errors.bad_request(
            f"the body of the request could not be decoded: {e}") from None


def _route(path):
    """(kind, namespace, name, subresource) for a resource path, or None."""
    for kind in kinds.KINDS:
        base = f"/apis/{kind.group}/{kind.version}" if kind.group else \
            f"/api/{kind.version}"
        if not path.startswith(base + "/"):
            continue
        parts = path[len(base) + 1:].split("/")
        namespace = None
        if kind.namespaced and len(parts) >= 3 and parts[0] == "namespaces":
            namespace, parts = parts[1], parts[2:]
        if not parts or parts[0] != kind.resource:
            continue
        if len(parts) == 1:
            return kind, namespace, None, None
        if kind.namespaced and namespace is None:
            return None
        if len(parts) == 2:
            return kind, namespace, parts[1], None
        if len(parts) == 3 and parts[2] == "status" and kind.has_status:
            return kind, namespace, parts[1], "status"
        return None
    return None
