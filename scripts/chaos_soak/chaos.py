# SPDX-License-Identifier: Apache-2.0
# What the soak does to the cluster, on a schedule drawn from a seeded
# random generator: agents killed (SIGKILL) and restarted or stopped
# (SIGSTOP) and continued, the controller killed and restarted or stopped
# and continued, an EndpointSlice's endpoints removed and re-added (the
# "blink"), another service's endpoints added and removed, a service
# updated, pods made, sending at once and removed. Events run one after
# another on their own thread while the flows run; each is bounded in
# time, and one that fails is recorded, not retried.
import errno
import select
import socket
import threading
import time

from chaos_soak import lab as L

# How often each kind is drawn after every kind has run once.
WEIGHTS = {
    "agent-kill": 1, "agent-stop": 1, "controller-kill": 1, "controller-stop": 1,
    "blink": 2, "endpoint-churn": 3, "service-update": 3,
}
POD_GAP = (1.0, 4.0)      # seconds between two pods' coming, on their own thread
BLINK_HOLD = 3.0          # seconds the blinking slice stays removed
BLINK_RECOVERY = 10.0     # every blink flow must echo again within this
FIRST_SYN_LIMIT = 0.9     # a first SYN dropped would be retried after 1 s
POD_INDEXES = range(20, 40)  # pods come and go as pod-I-20 .. pod-I-39


class Timeline:
    """When each event ran, so a loss can say what was going on."""

    def __init__(self, t0):
        self.t0 = t0
        self.events = []  # [name, start, end or None]
        self.lock = threading.Lock()

    def begin(self, name):
        record = [name, time.monotonic(), None]
        with self.lock:
            self.events.append(record)
        return record

    def end(self, record):
        record[2] = time.monotonic()

    def context(self, t):
        with self.lock:
            events = list(self.events)
        active = [e[0] for e in events if e[1] <= t and (e[2] is None or e[2] >= t)]
        if active:
            return ", ".join(active)
        ended = [e for e in events if e[2] is not None and e[2] < t]
        if not ended:
            return "no event yet"
        last = max(ended, key=lambda e: e[2])
        return f"{t - last[2]:.1f} s after {last[0]}"


class Chaos:
    def __init__(self, lab, namespaces, engine, timeline, rng, log):
        self.lab, self.namespaces, self.engine = lab, namespaces, engine
        self.timeline, self.rng, self.log = timeline, rng, log
        self.stop = threading.Event()
        self.counts = dict.fromkeys([*WEIGHTS, "pod"], 0)
        self.errors = []
        self.blinks = []   # (survived, total) per blink
        self.pods = []     # dicts, see _pod
        self.churn_pods = list(L.SERVER_PODS)
        self.extra_port = False
        self.pod_seq = 0

    def schedule(self, duration):
        """The kinds of events in order: every kind once, then weighted
        draws; about one event per 2.5 s of `duration`. The blink comes
        twice early on, once deleting its slice and once emptying it."""
        kinds = [*WEIGHTS, "blink"]
        self.rng.shuffle(kinds)
        population = [k for k, w in WEIGHTS.items() for _ in range(w)]
        while len(kinds) < max(len(WEIGHTS), int(duration / 2.5)):
            kinds.append(self.rng.choice(population))
        return kinds

    def run(self, duration):
        end = time.monotonic() + duration
        for kind in self.schedule(duration):
            if self.stop.is_set() or time.monotonic() >= end:
                return
            self._event(kind, self.rng.randint(1, L.NODES))
            self.stop.wait(self.rng.uniform(0.5, 3.0))

    def run_pods(self, duration, rng):
        """Pods come and go on a thread of their own, so they also meet the
        other events half-way (an agent stopped or restarting, the
        controller away). `rng`: this thread's own, from the seed."""
        end = time.monotonic() + duration
        while not self.stop.is_set() and time.monotonic() < end:
            self._event("pod", rng.randint(1, L.NODES))
            self.stop.wait(rng.uniform(*POD_GAP))

    def _event(self, kind, node):
        name = kind if kind.startswith(("blink", "endpoint", "service")) \
            else f"{kind} node-{node}" if kind in ("agent-kill", "agent-stop", "pod") \
            else kind
        record = self.timeline.begin(name)
        self.log(f"{name} ...")
        try:
            getattr(self, "_" + kind.replace("-", "_"))(node)
            self.counts[kind] += 1
        except Exception as e:  # noqa: BLE001 - any failure is reported
            self.errors.append(f"{name}: {e}")
            self.log(f"{name} FAILED: {e}")
        finally:
            self.timeline.end(record)

    # --- the events

    def _agent_kill(self, node):
        self.lab.yard_lab("restart-agent", str(node))

    def _agent_stop(self, node):
        self.lab.yard_lab("stop-agent", str(node))
        try:
            self.stop.wait(self.rng.uniform(1.0, 5.0))
        finally:
            self.lab.yard_lab("cont-agent", str(node))

    def _controller_kill(self, _node):
        self.lab.yard_lab("kill-controller", "1")
        try:
            self.stop.wait(self.rng.uniform(0.5, 3.0))
        finally:
            self.lab.yard_lab("start-controller", "1")

    def _controller_stop(self, _node):
        self.lab.yard_lab("stop-controller", "1")
        try:
            self.stop.wait(self.rng.uniform(2.0, 8.0))
        finally:
            self.lab.yard_lab("cont-controller", "1")

    def _blink(self, _node):
        """soak-blink's endpoints leave for BLINK_HOLD s and come back
        unchanged, as after a relist of the API or a slice re-created by
        its controller: the slice deleted, or (every other time) emptied,
        then re-applied. Every connection on it must echo again."""
        path = self.lab.manifest("blink-slice", L.blink_slice_yaml())
        flows = [f for f in self.engine.flows if f.group.startswith("blink")]
        if len(self.blinks) % 2 == 0:
            self.lab.write("delete", path)
        else:
            self.lab.write("apply", self.lab.manifest("blink-empty", L.blink_slice_yaml(empty=True)))
        try:
            self.stop.wait(BLINK_HOLD)
        finally:
            self.lab.write("apply", path)
        back = time.monotonic()
        deadline = back + BLINK_RECOVERY
        while time.monotonic() < deadline:
            if all(not f.alive or (f.last_ok or 0) > back for f in flows):
                break
            time.sleep(0.1)
        survived = sum(1 for f in flows if f.alive and (f.last_ok or 0) > back)
        self.blinks.append((survived, len(flows)))
        self.log(f"blink: {survived}/{len(flows)} connections echoing again")

    def _endpoint_churn(self, _node):
        """soak-churn's endpoints: one added or removed (never none)."""
        pods = list(self.churn_pods)
        missing = [p for p in L.SERVER_PODS if p not in pods]
        if missing and (len(pods) == 1 or self.rng.random() < 0.5):
            pods.append(self.rng.choice(missing))
        else:
            pods.remove(self.rng.choice(pods))
        pods.sort()
        self.lab.write("apply", self.lab.manifest("churn-slice", L.churn_slice_yaml(pods)))
        self.churn_pods = pods

    def _service_update(self, _node):
        """soak-echo, which carries long-lived flows, gains or loses a port."""
        self.extra_port = not self.extra_port
        self.lab.write("apply", self.lab.manifest(
            "echo-service", L.echo_service_yaml(self.extra_port)))

    def _pod(self, node):
        """A pod made on `node` as a CNI with yard-cni chained makes it,
        sending to a ClusterIP (UDP and TCP) the moment its network is set
        up, then removed."""
        index = POD_INDEXES[self.pod_seq % len(POD_INDEXES)]
        self.pod_seq += 1
        ns = self.lab.ns(f"pod-{node}-{index}")
        try:
            ns, created = self.lab.make_pod(node, index)
            wired = time.monotonic()
            self.lab.yard_cni("ADD", node, index)
            ready = time.monotonic()
            result = first_packets(self.namespaces, ns, ready)
            result["pod"] = f"pod-{node}-{index}"
            result["wiring_ms"] = (wired - created) * 1000
            result["cni_ms"] = (ready - wired) * 1000
            self.pods.append(result)
            if not result["ok"]:
                self.log(f"pod-{node}-{index}: {result['failure']}")
            self.lab.yard_cni("DEL", node, index)
        finally:
            self.namespaces.forget(ns)
            self.lab.remove_pod(node, index)


def first_packets(namespaces, ns, ready):
    """A UDP datagram and a TCP connection to soak-echo's ClusterIP, sent at
    once from a new pod whose network setup (yard-cni ADD) returned at
    `ready`: both must be answered, the connection on its first SYN."""
    target = (L.ECHO_IP, L.ECHO_PORT)
    msg = b"first packet\n"
    udp = namespaces.socket(ns, socket.SOCK_DGRAM)
    tcp = namespaces.socket(ns, socket.SOCK_STREAM)
    result = {"ok": False, "failure": None}
    try:
        start = time.monotonic()
        result["after_ready_ms"] = (start - ready) * 1000
        udp.connect(target)
        udp_error = None
        try:
            udp.send(msg)
        except OSError as e:
            udp_error = f"UDP send: {e.strerror}"
        tcp.connect_ex(target)
        udp_done, tcp_state = udp_error is not None, "connect"
        tcp_error, connect_s = None, None
        deadline = start + 3.0
        while not (udp_done and tcp_state == "done") and time.monotonic() < deadline:
            readers = ([] if udp_done else [udp]) + ([tcp] if tcp_state == "echo" else [])
            writers = [tcp] if tcp_state == "connect" else []
            r, w, _ = select.select(readers, writers, [], 0.05)
            if udp in r:
                try:
                    udp_error = None if udp.recv(100) == msg else "UDP echo differs"
                except OSError as e:
                    udp_error = f"UDP: {e.strerror}"
                udp_done = True
            if tcp in w:
                err = tcp.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                connect_s = time.monotonic() - start
                if err:
                    tcp_error, tcp_state = f"TCP connect: {errno.errorcode.get(err, err)}", "done"
                else:
                    tcp.send(msg)
                    tcp_state = "echo"
            elif tcp in r:
                try:
                    data = tcp.recv(100)
                    tcp_error = None if data == msg else "TCP echo differs"
                except OSError as e:
                    tcp_error = f"TCP: {e.strerror}"
                tcp_state = "done"
        if not udp_done:
            udp_error = "UDP: no answer within 3 s"
        if tcp_state != "done":
            tcp_error = f"TCP: no {tcp_state} within 3 s"
        elif tcp_error is None and connect_s is not None and connect_s > FIRST_SYN_LIMIT:
            tcp_error = f"TCP connected only after {connect_s:.2f} s (first SYN lost)"
        failures = [e for e in (udp_error, tcp_error) if e]
        result["ok"] = not failures
        result["failure"] = "; ".join(failures) or None
        return result
    finally:
        udp.close()
        tcp.close()
