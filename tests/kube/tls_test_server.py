#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A small HTTPS server for the Kubernetes client's transport tests.

Not an API server: it answers the few paths tests/unit/kube_transport_test.cc
asks for, each showing one thing the transport must get right (headers sent,
non-2xx answers, watch bodies cut into odd pieces, streams that die or hang).
It listens on 127.0.0.1, on a port the kernel picks, and writes that port to
--port-file once it is ready. The test kills it.

  /echo                  200, JSON naming what the request carried
  /status/CODE           CODE, a Kubernetes Status body
  /slow                  200 after 5 s
  /watch/bytes?body=B    200 chunked, B (percent-encoded) one byte per chunk,
                         chunk framing and data in separate TLS records
  /watch/die?body=B      as /watch/bytes, then the connection is cut
                         without the final chunk
  /watch/hang            200 chunked, one line, then nothing
  /watch/silent          200 chunked, then nothing at all
  /watch/forever         200 chunked, a numbered line every 20 ms
"""

import argparse
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):
        sys.stderr.write("%s\n" % (format % args))

    def send_json(self, code, document):
        body = json.dumps(document).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def start_chunked(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

    def chunk(self, data):
        # Three writes, so the chunk's size line, its data and its end
        # reach the client in separate TLS records.
        self.wfile.write(b"%x\r\n" % len(data))
        self.wfile.write(data)
        self.wfile.write(b"\r\n")
        self.wfile.flush()

    def client_subject(self):
        cert = self.request.getpeercert()
        if not cert:
            return ""
        for rdn in cert.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return ""

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        body = query.get("body", [""])[0].encode()
        if url.path == "/echo":
            self.send_json(200, {
                "path": self.path,
                "authorization": self.headers.get("Authorization", ""),
                "user_agent": self.headers.get("User-Agent", ""),
                "accept": self.headers.get("Accept", ""),
                "client": self.client_subject(),
                "client_port": self.client_address[1],
            })
        elif url.path.startswith("/status/"):
            code = int(url.path.rsplit("/", 1)[1])
            self.send_json(code, {"kind": "Status", "apiVersion": "v1",
                                  "status": "Failure", "code": code})
        elif url.path == "/slow":
            time.sleep(5)
            self.send_json(200, {})
        elif url.path in ("/watch/bytes", "/watch/die"):
            self.start_chunked()
            for i in range(len(body)):
                self.chunk(body[i:i + 1])
                time.sleep(0.001)
            if url.path == "/watch/die":
                self.request.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(b"0\r\n\r\n")
        elif url.path == "/watch/hang":
            self.start_chunked()
            self.chunk(b'{"type":"BOOKMARK"}\n')
            time.sleep(30)
            self.close_connection = True
        elif url.path == "/watch/silent":
            self.start_chunked()
            time.sleep(30)
            self.close_connection = True
        elif url.path == "/watch/forever":
            self.start_chunked()
            n = 0
            try:
                while True:
                    n += 1
                    self.chunk(b'{"n":%d}\n' % n)
                    time.sleep(0.02)
            except OSError:
                self.close_connection = True
        else:
            self.send_json(404, {"kind": "Status", "code": 404})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, context):
        super().__init__(("127.0.0.1", 0), Handler)
        self.context = context

    def finish_request(self, request, client_address):
        # The TLS handshake runs in the request's own thread, so a client
        # that refuses the certificate does not hold up the others.
        try:
            request = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write("handshake failed: %s\n" % e)
            return
        super().finish_request(request, client_address)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--client-ca", help="ask for client certificates "
                        "signed by this CA")
    parser.add_argument("--require-client-cert", action="store_true")
    parser.add_argument("--port-file", required=True)
    args = parser.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        context.load_verify_locations(args.client_ca)
        context.verify_mode = (ssl.CERT_REQUIRED if args.require_client_cert
                               else ssl.CERT_OPTIONAL)
    server = Server(context)
    # Written whole, then renamed: the test never reads half a number.
    temporary = args.port_file + ".tmp"
    with open(temporary, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(temporary, args.port_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
