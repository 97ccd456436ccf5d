# SPDX-License-Identifier: Apache-2.0
# The soak's traffic: long-lived TCP connections and UDP flows that echo a
# numbered message every `interval`, and new connections opened all the
# time, all in one poll loop so that hundreds of them cost no threads.
# Every wait is bounded: a TCP echo missing for STALL seconds fails its
# connection, a UDP echo missing for UDP_TIMEOUT is lost, a new
# connection has PROBE_TIMEOUT to connect and echo.
import errno
import selectors
import socket
import time

STALL = 5.0  # as the lab suites' echo clients: SO_RCVTIMEO 5 s
UDP_TIMEOUT = 5.0
PROBE_TIMEOUT = 3.0
CONNECT_TIMEOUT = 5.0
MAX_PROBES_IN_FLIGHT = 20


def _message(flow_id, seq):
    head = f"{flow_id} {seq} "
    return (head + "x" * (63 - len(head)) + "\n").encode()


def _errname(err):
    return errno.errorcode.get(err, str(err))


class Loss:
    def __init__(self, at, flow, what, context):
        self.at, self.flow, self.what, self.context = at, flow, what, context

    def __str__(self):
        return f"t={self.at:7.1f}s {self.flow}: {self.what} (during: {self.context})"


class Flow:
    """One long-lived flow: `group` names what it stands for in the report
    ("tcp ClusterIP from node-1", "blink NodePort via node-2" ...)."""

    def __init__(self, engine, flow_id, group, proto, ns, addr, interval):
        self.engine, self.id, self.group, self.proto = engine, flow_id, group, proto
        self.ns, self.addr, self.interval = ns, addr, interval
        self.sock = None
        self.state = "connecting"
        self.failure = None
        self.seq = 0
        self.echoes = 0
        self.lost = 0
        self.sent_at = None      # TCP: the echo awaited
        self.outstanding = {}    # UDP: seq -> sent at
        self.buf = b""
        self.expect = b""
        self.next_send = 0.0
        self.opened_at = None
        self.last_ok = None
        self.max_gap, self.max_gap_at = 0.0, None

    @property
    def alive(self):
        return self.state == "open"

    def label(self):
        return f"{self.group} #{self.id} ({self.ns} -> {self.addr[0]}:{self.addr[1]})"

    def open(self, now):
        kind = socket.SOCK_STREAM if self.proto == "tcp" else socket.SOCK_DGRAM
        self.sock = self.engine.namespaces.socket(self.ns, kind)
        err = self.sock.connect_ex(self.addr)
        self.opened_at = now
        if self.proto == "udp" or err == 0:
            self._opened(now)
        elif err == errno.EINPROGRESS:
            self.engine.sel.register(self.sock, selectors.EVENT_WRITE, self)
        else:
            self.fail(now, f"connect: {_errname(err)}", setup=True)

    def _opened(self, now):
        self.state = "open"
        self.last_ok = now
        self.next_send = now + self.engine.stagger()
        if self.engine.sel.get_map().get(self.sock.fileno()):
            self.engine.sel.modify(self.sock, selectors.EVENT_READ, self)
        else:
            self.engine.sel.register(self.sock, selectors.EVENT_READ, self)

    def fail(self, now, what, setup=False):
        if self.state == "failed":
            return
        self.state = "failed"
        self.failure = what
        if setup:
            self.engine.setup_failures.append(f"{self.label()}: {what}")
        else:
            self.engine.record_loss(now, self.label(), what)
        self._close()

    def _close(self):
        if self.sock is not None:
            try:
                self.engine.sel.unregister(self.sock)
            except (KeyError, ValueError):
                pass
            self.sock.close()
            self.sock = None

    def _ok(self, now):
        self.echoes += 1
        self.engine.echoes += 1
        gap = now - self.last_ok
        if gap > self.max_gap:
            self.max_gap, self.max_gap_at = gap, now
        self.last_ok = now

    def on_ready(self, now, events):
        if self.state == "connecting":
            if now - self.opened_at > CONNECT_TIMEOUT:
                return
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.fail(now, f"connect: {_errname(err)}", setup=True)
            else:
                self._opened(now)
            return
        if self.state != "open":
            return
        if self.proto == "tcp":
            self._tcp_read(now)
        else:
            self._udp_read(now)

    def _tcp_read(self, now):
        try:
            data = self.sock.recv(4096)
        except BlockingIOError:
            return
        except OSError as e:
            self.fail(now, f"recv: {_errname(e.errno)}")
            return
        if not data:
            self.fail(now, "closed by the other side")
            return
        self.buf += data
        if len(self.buf) < len(self.expect):
            return
        if self.buf != self.expect:
            self.fail(now, f"echo differs: sent {self.expect!r}, got {self.buf!r}")
            return
        self.buf, self.sent_at = b"", None
        self._ok(now)
        self.next_send = now + self.interval

    def _udp_read(self, now):
        for _ in range(16):
            try:
                data = self.sock.recv(2048)
            except BlockingIOError:
                return
            except ConnectionRefusedError:
                self.engine.notes.append(f"t={now - self.engine.t0:.1f}s {self.label()}: "
                                         "ICMP port unreachable")
                continue
            except OSError as e:
                self.fail(now, f"recv: {_errname(e.errno)}")
                return
            fields = data.split(b" ", 2)
            try:
                seq = int(fields[1])
            except (IndexError, ValueError):
                seq = -1
            if seq in self.outstanding and data == _message(self.id, seq):
                del self.outstanding[seq]
                self._ok(now)

    def tick(self, now):
        if self.state == "connecting" and now - self.opened_at > CONNECT_TIMEOUT:
            self.fail(now, f"connect: no answer within {CONNECT_TIMEOUT:.0f} s", setup=True)
        if self.state != "open":
            return
        if self.proto == "tcp":
            if self.sent_at is not None:
                if now - self.sent_at > STALL:
                    self.fail(now, f"stalled: no echo for {STALL:.0f} s")
                return
            if now >= self.next_send:
                self._send(now)
        else:
            for seq, sent in list(self.outstanding.items()):
                if now - sent > UDP_TIMEOUT:
                    del self.outstanding[seq]
                    self.lost += 1
                    self.engine.record_loss(sent, self.label(),
                                            f"datagram {seq} unanswered")
            if now >= self.next_send:
                self._send(now)

    def _send(self, now):
        self.seq += 1
        msg = _message(self.id, self.seq)
        try:
            sent = self.sock.send(msg)
        except BlockingIOError:
            sent = 0
        except OSError as e:
            if self.proto == "udp" and e.errno == errno.ECONNREFUSED:
                sent = 0  # a previous datagram's ICMP error; this one counts as lost
            else:
                self.fail(now, f"send: {_errname(e.errno)}")
                return
        if self.proto == "tcp":
            if sent != len(msg):
                self.fail(now, f"send: {sent} of {len(msg)} bytes")
                return
            self.expect, self.sent_at = msg, now
        else:
            self.outstanding[self.seq] = now
        self.next_send = now + self.interval


class Probe:
    """One new connection (TCP: connect, one echo, close; UDP: a new
    socket, one datagram and its echo)."""

    def __init__(self, engine, target, seq, now):
        self.engine, self.target, self.seq = engine, target, seq
        proto, ns, addr, _ = target
        self.started = now
        self.phase = "connect"
        kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
        self.sock = engine.namespaces.socket(ns, kind)
        self.msg = _message(f"p{seq}", 0)
        self.buf = b""

    def start(self, now):
        proto, _, addr, _ = self.target
        err = self.sock.connect_ex(addr)
        if proto == "udp":
            self._send(now)
        elif err == errno.EINPROGRESS:
            self.engine.sel.register(self.sock, selectors.EVENT_WRITE, self)
        elif err == 0:
            self._send(now)
        else:
            self.finish(now, f"connect: {_errname(err)}")

    def _send(self, now):
        self.phase = "echo"
        try:
            self.sock.send(self.msg)
        except OSError as e:
            self.finish(now, f"send: {_errname(e.errno)}")
            return
        if self.sock.fileno() in self.engine.sel.get_map():
            self.engine.sel.modify(self.sock, selectors.EVENT_READ, self)
        else:
            self.engine.sel.register(self.sock, selectors.EVENT_READ, self)

    def on_ready(self, now, events):
        if self.sock is None:
            return
        if self.phase == "connect":
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.finish(now, f"connect: {_errname(err)}")
            else:
                self._send(now)
            return
        try:
            data = self.sock.recv(2048)
        except BlockingIOError:
            return
        except OSError as e:
            self.finish(now, f"recv: {_errname(e.errno)}")
            return
        if not data:
            self.finish(now, "closed before the echo")
            return
        self.buf += data
        if len(self.buf) >= len(self.msg):
            self.finish(now, None if self.buf == self.msg else "echo differs")

    def tick(self, now):
        if self.sock is not None and now - self.started > PROBE_TIMEOUT:
            self.finish(now, f"no {self.phase} within {PROBE_TIMEOUT:.0f} s")

    def finish(self, now, failure):
        if self.sock is None:
            return
        try:
            self.engine.sel.unregister(self.sock)
        except (KeyError, ValueError):
            pass
        self.sock.close()
        self.sock = None
        self.engine.probe_done(self, now, failure)


class Engine:
    """Runs the flows and probes until a deadline."""

    def __init__(self, namespaces, probe_targets, probe_interval, context, rng):
        self.namespaces = namespaces
        self.sel = selectors.DefaultSelector()
        self.flows = []
        self.probe_targets = probe_targets  # (proto, ns, addr, group)
        self.probe_interval = probe_interval
        self.context = context  # t -> what the chaos was doing then
        self.rng = rng
        self.t0 = time.monotonic()
        self.probes = []
        self.probe_seq = 0
        self.next_probe = 0.0
        self.probes_by_group = {}   # group -> [opened, failed]
        self.probe_failures = []
        self.losses = []
        self.setup_failures = []
        self.notes = []
        self.echoes = 0
        self.probing = False

    def stagger(self):
        return self.rng.uniform(0, 0.5)

    def add_flow(self, group, proto, ns, addr, interval):
        flow = Flow(self, len(self.flows), group, proto, ns, addr, interval)
        self.flows.append(flow)
        flow.open(time.monotonic())
        return flow

    def record_loss(self, at, label, what):
        self.losses.append(Loss(at - self.t0, label, what, self.context(at)))

    def probe_done(self, probe, now, failure):
        self.probes.remove(probe)
        counts = self.probes_by_group.setdefault(probe.target[3], [0, 0])
        counts[0] += 1
        if failure:
            counts[1] += 1
            self.probe_failures.append(Loss(probe.started - self.t0, probe.target[3],
                                            failure, self.context(probe.started)))

    def run_until(self, deadline):
        while True:
            now = time.monotonic()
            if now >= deadline:
                return
            for key, events in self.sel.select(timeout=min(0.02, deadline - now)):
                key.data.on_ready(time.monotonic(), events)
            now = time.monotonic()
            for flow in self.flows:
                flow.tick(now)
            for probe in list(self.probes):
                probe.tick(now)
            if (self.probing and self.probe_targets and now >= self.next_probe
                    and len(self.probes) < MAX_PROBES_IN_FLIGHT):
                target = self.probe_targets[self.probe_seq % len(self.probe_targets)]
                self.probe_seq += 1
                probe = Probe(self, target, self.probe_seq, now)
                self.probes.append(probe)
                probe.start(now)
                self.next_probe = now + self.probe_interval

    def drain_probes(self, timeout):
        """Stops opening new connections and lets those under way end."""
        self.probing = False
        deadline = time.monotonic() + timeout
        while self.probes and time.monotonic() < deadline:
            self.run_until(min(deadline, time.monotonic() + 0.1))

    def close(self):
        for flow in self.flows:
            flow._close()
        for probe in list(self.probes):
            probe.finish(time.monotonic(), None)
