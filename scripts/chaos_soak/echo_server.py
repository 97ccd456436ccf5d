#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# The chaos soak's backend: in a pod's namespace, echoes every TCP byte
# and every UDP datagram back on each port it is given, for as long as the
# pod lives (`yard-lab down` kills whatever runs in the lab's namespaces).
# One process, one poll loop: hundreds of long-lived connections cost a
# socket each, not a process each as socat's fork would.
#
#   echo_server.py PORT...
import selectors
import socket
import sys


def serve(ports):
    sel = selectors.DefaultSelector()
    for port in ports:
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("0.0.0.0", port))
        tcp.listen(1024)
        tcp.setblocking(False)
        sel.register(tcp, selectors.EVENT_READ, "listen")
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("0.0.0.0", port))
        udp.setblocking(False)
        sel.register(udp, selectors.EVENT_READ, "udp")
    # A connection's bytes not yet written back (a slow reader).
    pending = {}
    while True:
        for key, events in sel.select(timeout=1.0):
            sock, role = key.fileobj, key.data
            if role == "listen":
                try:
                    conn, _ = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                pending[conn] = b""
                sel.register(conn, selectors.EVENT_READ, "conn")
            elif role == "udp":
                # Drain what is queued; every datagram goes back whole.
                for _ in range(64):
                    try:
                        data, peer = sock.recvfrom(65535)
                    except OSError:
                        break
                    try:
                        sock.sendto(data, peer)
                    except OSError:
                        pass
            else:
                echo_stream(sel, sock, events, pending)


def echo_stream(sel, conn, events, pending):
    try:
        if events & selectors.EVENT_READ:
            data = conn.recv(65536)
            if not data:
                raise ConnectionError("closed")
            pending[conn] += data
        if pending[conn]:
            sent = conn.send(pending[conn])
            pending[conn] = pending[conn][sent:]
    except BlockingIOError:
        pass
    except OSError:
        sel.unregister(conn)
        del pending[conn]
        conn.close()
        return
    wanted = selectors.EVENT_READ | (selectors.EVENT_WRITE if pending[conn] else 0)
    if sel.get_key(conn).events != wanted:
        sel.modify(conn, wanted, "conn")


if __name__ == "__main__":
    serve([int(p) for p in sys.argv[1:]])
