#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""A Kubernetes API-server stand-in for Switchyard's tests.

No real kube-apiserver can be installed where these tests run, so this
serves v1 Services, discovery.k8s.io/v1 EndpointSlices and v1 Nodes over
TLS with the documented REST and watch protocol: lists with paging and
selectors, resourceVersion semantics, chunked JSON watch streams with
bookmarks and 410 on compacted history, optimistic concurrency, the
defaults and allocations the real server makes for Services. Standard
library only.

Usage:
  apiserver_standin.py --cert server.crt --key server.key \\
      [--client-ca ca.crt] [--token-file token] [--listen 127.0.0.1] \\
      [--port 0] [--port-file F] [--service-cidr 10.96.0.0/16] \\
      [--node-port-range 30000-32767] [--bookmark-interval 5] \\
      [--watch-timeout 0] [--history-limit 0] [--seed 1] [--quiet] \\
      [--load DIR_OR_FILE ...]

As a module (tests/kube on sys.path):
  from apiserver_standin import StandIn, Config
  server = StandIn(Config(cert=..., key=..., token_file=...)).start()
  ... server.url ... server.stop()
"""

import argparse
import os
import signal
import sys
import threading

# Run from the source tree by tests: leave no __pycache__ there.
sys.dont_write_bytecode = True
from standin.errors import ApiError  # noqa: E402
from standin.server import Config, StandIn  # noqa: E402,F401 (re-exported)


def _parse_args(argv):
    parser = argparse.ArgumentParser(
        description="Kubernetes API-server stand-in for tests.")
    parser.add_argument("--cert", required=True,
                        help="server certificate (PEM)")
    parser.add_argument("--key", required=True, help="server key (PEM)")
    parser.add_argument("--client-ca",
                        help="accept client certificates signed by this CA")
    parser.add_argument("--token-file",
                        help="accept 'Authorization: Bearer <content>'; "
                        "re-read on every request")
    parser.add_argument("--listen", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0,
                        help="0 picks a free port (see --port-file)")
    parser.add_argument("--port-file",
                        help="written with the bound port once listening")
    parser.add_argument("--service-cidr", default="10.96.0.0/16",
                        help="one CIDR, or an IPv4 and an IPv6 one "
                        "comma-separated for dual-stack")
    parser.add_argument("--node-port-range", default="30000-32767")
    parser.add_argument("--bookmark-interval", type=float, default=5.0,
                        help="seconds between BOOKMARK events")
    parser.add_argument("--watch-timeout", type=float, default=0,
                        help="end watches without timeoutSeconds cleanly "
                        "after this many seconds, as the real server does "
                        "after 30-60 minutes (0: never)")
    parser.add_argument("--history-limit", type=int, default=0,
                        help="compact automatically past this many events "
                        "(0: keep all until /standin/compact)")
    parser.add_argument("--seed", type=int, default=1,
                        help="seed of the ClusterIP/NodePort allocator")
    parser.add_argument("--load", nargs="+", default=[],
                        metavar="DIR_OR_FILE",
                        help="create the objects in these JSON/YAML files")
    parser.add_argument("--quiet", action="store_true",
                        help="no per-request log lines")
    return parser.parse_args(argv)


def _write_port_file(path, port):
    # Written whole then renamed, so a reader never sees a partial number.
    scratch = f"{path}.tmp{os.getpid()}"
    with open(scratch, "w") as f:
        f.write(f"{port}\n")
    os.replace(scratch, path)


def main(argv=None):
    args = _parse_args(argv)
    if not args.client_ca and not args.token_file:
        print("standin: no --token-file or --client-ca: every request is "
              "allowed", file=sys.stderr)
    server = StandIn(
        Config(cert=args.cert, key=args.key, client_ca=args.client_ca,
               token_file=args.token_file, listen=args.listen,
               port=args.port, service_cidr=args.service_cidr,
               node_port_range=args.node_port_range,
               bookmark_interval=args.bookmark_interval,
               history_limit=args.history_limit, seed=args.seed,
               quiet=args.quiet, watch_timeout=args.watch_timeout))
    try:
        server.load(args.load)
    except (OSError, ValueError, ApiError) as error:
        print(f"standin: cannot load {' '.join(args.load)}: {error}",
              file=sys.stderr)
        return 2

    stopper = threading.Thread(target=server.stop, daemon=True)

    def on_signal(signum, frame):
        # stop() waits for serve_forever to return: not from its thread.
        if stopper.ident is None:
            stopper.start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.port_file:
        _write_port_file(args.port_file, server.port)
    print(f"standin: serving {server.url} at resourceVersion "
          f"{server.api.store.rv}", file=sys.stderr, flush=True)
    server.serve_forever()
    stopper.join()
    print("standin: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
