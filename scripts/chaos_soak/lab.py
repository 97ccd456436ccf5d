# SPDX-License-Identifier: Apache-2.0
# The soak's lab: scripts/yard-lab under a name of its own, the services
# the soak's flows use (written with yardctl, each write waited for until
# every agent has programmed it), the echo servers in the server pods, and
# pods made and removed as a CNI with Switchyard's chained plugin would.
# Every command and every wait is bounded.
import os
import re
import subprocess
import time

NODES = 2
PODS = 3  # per node: pod-I-1 is the client, pod-I-2 and pod-I-3 serve
SERVER_PODS = [(1, 2), (1, 3), (2, 2), (2, 3)]

# The soak's services (see services_yaml).
ECHO_IP, ECHO_PORT = "10.96.7.10", 7100  # stable endpoints: TCP and UDP
ECHO_NODEPORT_TCP, ECHO_NODEPORT_UDP = 30710, 30711
BLINK_IP, BLINK_PORT, BLINK_NODEPORT = "10.96.7.11", 7200, 30720  # slice blinks
CHURN_IP, CHURN_PORT = "10.96.7.12", 7300  # endpoints come and go
EXTRA_PORT = 7101  # the port a service update adds and removes

PROGRAM_TIMEOUT = 20.0  # an agent may be in its reconnect backoff
COMMAND_TIMEOUT = 90.0


def node_ip(i):
    return f"172.31.0.{10 + i}"


def pod_ip(i, j):
    return f"10.244.{i}.{10 + j}"


class LabError(Exception):
    pass


def run(argv, timeout=COMMAND_TIMEOUT, env=None, stdin=None):
    """Runs argv; its combined output, or LabError naming what failed."""
    try:
        r = subprocess.run(argv, input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True,
                           timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise LabError(f"{' '.join(argv)}: no end after {timeout:.0f} s")
    if r.returncode != 0:
        raise LabError(f"{' '.join(argv)}: exit {r.returncode}: {r.stdout.strip()}")
    return r.stdout


class Lab:
    def __init__(self, source_dir, build_dir, name):
        self.source_dir = source_dir
        self.build_dir = build_dir
        self.name = name
        self.run_dir = f"/run/switchyard-lab-{name}"
        self.pins = f"/sys/fs/bpf/switchyard-lab-{name}"
        self.env = dict(os.environ, YARD_LAB_NAME=name, YARD_BUILD_DIR=build_dir)

    def ns(self, short):
        """The lab's namespace for pod-1-1, node-2, ext ..."""
        return f"{self.name}-{short}"

    def yard_lab(self, *args):
        return run([f"{self.source_dir}/scripts/yard-lab", *args], env=self.env)

    def up(self):
        self.yard_lab("up", "--nodes", str(NODES), "--pods", str(PODS))

    def down(self):
        self.yard_lab("down")

    def yardctl(self, *args):
        # The lab's wrapper: yardctl as its writer, over mutual TLS.
        return run([f"{self.run_dir}/yardctl", *args], timeout=15)

    def manifest(self, name, text):
        path = f"{self.run_dir}/soak-{name}.yaml"
        with open(path, "w") as f:
            f.write(text)
        return path

    # --- writes, programmed on every node

    def controller_version(self):
        out = self.yardctl("get", "nodes", "-o", "json")
        m = re.search(r'"resourceVersion"\s*:\s*"?(\d+)', out)
        if not m:
            raise LabError(f"no resourceVersion in yardctl's list: {out[:200]}")
        return int(m.group(1))

    def applied_version(self, i):
        try:
            with open(f"{self.run_dir}/agent-node-{i}.log") as f:
                versions = re.findall(r"applied version (\d+)", f.read())
        except OSError:
            return 0
        return max((int(v) for v in versions), default=0)

    def wait_programmed(self, version):
        deadline = time.monotonic() + PROGRAM_TIMEOUT
        while True:
            applied = [self.applied_version(i) for i in range(1, NODES + 1)]
            if min(applied) >= version:
                return
            if time.monotonic() > deadline:
                raise LabError(f"version {version} not programmed within "
                               f"{PROGRAM_TIMEOUT:.0f} s (agents at {applied})")
            time.sleep(0.02)

    def write(self, verb, path):
        """yardctl apply|delete -f path, then waits for every agent."""
        self.yardctl(verb, "-f", path)
        self.wait_programmed(self.controller_version())

    # --- servers

    def start_echo_servers(self):
        server = f"{self.source_dir}/scripts/chaos_soak/echo_server.py"
        ports = [str(p) for p in (ECHO_PORT, BLINK_PORT, CHURN_PORT)]
        for i, j in SERVER_PODS:
            subprocess.Popen(
                ["nsenter", f"--net=/run/netns/{self.ns(f'pod-{i}-{j}')}",
                 "/usr/bin/python3", server, *ports],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(f"{self.run_dir}/echo-pod-{i}-{j}.log", "w"),
                start_new_session=True)
        for i, j in SERVER_PODS:
            ns = self.ns(f"pod-{i}-{j}")
            for _ in range(50):
                out = run(["ip", "netns", "exec", ns, "ss", "-Hltun"], timeout=5)
                if all(f":{p} " in out for p in ports):
                    break
                time.sleep(0.1)
            else:
                raise LabError(f"echo servers in {ns} did not start; see {self.run_dir}")

    # --- pods that come and go

    def make_pod(self, i, j):
        """Pod J on node I, wired as yard-lab wires its pods; returns its
        namespace and the monotonic time its veth appeared."""
        node, ns, dev = self.ns(f"node-{i}"), self.ns(f"pod-{i}-{j}"), f"yp-{i}-{j}"
        ip, gw = pod_ip(i, j), f"10.244.{i}.1"
        run(["ip", "netns", "add", ns], timeout=10)
        created = time.monotonic()
        # Two `ip -batch` runs, not one process per step: a pod is wired in
        # tens of milliseconds even on a loaded machine.
        run(["ip", "-n", node, "-batch", "-"], timeout=10, stdin=(
            f"link add {dev} type veth peer name eth0 netns {ns}\n"
            f"addr add {gw}/32 dev {dev}\n"
            f"link set {dev} up\n"
            f"route add {ip}/32 dev {dev}\n"))
        run(["ip", "-n", ns, "-batch", "-"], timeout=10, stdin=(
            "link set lo up\n"
            f"addr add {ip}/32 dev eth0\n"
            "link set eth0 up\n"
            f"route add {gw} dev eth0\n"
            f"route add default via {gw} dev eth0\n"))
        return ns, created

    def yard_cni(self, command, i, j):
        """yard-cni as a runtime runs a plugin chained after the one that
        made the pod's veth: in the node's namespace, CNI_* set, the
        configuration with prevResult on stdin."""
        ns, dev = self.ns(f"pod-{i}-{j}"), f"yp-{i}-{j}"
        netns = f"/run/netns/{ns}"
        config = (
            '{"cniVersion":"1.0.0","name":"yard-soak","type":"yard-cni",'
            f'"bpffsRoot":"{self.pins}","nodeName":"node-{i}",'
            f'"prevResult":{{"cniVersion":"1.0.0","interfaces":[{{"name":"{dev}"}},'
            f'{{"name":"eth0","sandbox":"{netns}"}}],'
            f'"ips":[{{"address":"{pod_ip(i, j)}/32","interface":1}}]}}}}')
        env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=f"soak-{dev}",
                   CNI_NETNS=netns, CNI_IFNAME="eth0", CNI_PATH="/opt/cni/bin")
        # nsenter, not `ip netns exec`, which remounts /sys and hides bpffs.
        run(["nsenter", f"--net=/run/netns/{self.ns(f'node-{i}')}",
             f"{self.build_dir}/control/cni/yard-cni"], timeout=10, env=env,
            stdin=config)

    def remove_pod(self, i, j):
        ns = self.ns(f"pod-{i}-{j}")
        run(["sh", "-c", f"ip netns pids {ns} | xargs -r kill -KILL; ip netns del {ns}"],
            timeout=10)

    def log_tail(self, name, lines=8):
        try:
            with open(f"{self.run_dir}/{name}.log") as f:
                return "".join(f.readlines()[-lines:])
        except OSError as e:
            return f"({e})\n"


# --- manifests

def _service(name, ip, ports, node_port=False, lb_policy=None):
    lines = ["---", "apiVersion: v1", "kind: Service", "metadata:",
             f"  name: {name}", "  namespace: default"]
    if lb_policy:
        lines += ["  annotations:", f"    switchyard.io/lb-policy: {lb_policy}"]
    lines += ["spec:",
             f"  type: {'NodePort' if node_port else 'ClusterIP'}",
             f"  clusterIP: {ip}", "  ports:"]
    for pname, proto, port, nodeport in ports:
        lines += [f"    - name: {pname}", f"      protocol: {proto}",
                  f"      port: {port}", f"      targetPort: {port}"]
        if nodeport:
            lines.append(f"      nodePort: {nodeport}")
    return "\n".join(lines) + "\n"


def slice_yaml(name, service, ports, pods):
    """An EndpointSlice of `service` listing `pods` ((node, pod) pairs) as
    ready endpoints on their nodes."""
    lines = ["---", "apiVersion: discovery.k8s.io/v1", "kind: EndpointSlice",
             "metadata:", f"  name: {name}", "  namespace: default", "  labels:",
             f"    kubernetes.io/service-name: {service}", "addressType: IPv4",
             "ports:"]
    for pname, proto, port in ports:
        lines += [f"  - name: {pname}", f"    protocol: {proto}", f"    port: {port}"]
    if not pods:
        lines.append("endpoints: []")
    else:
        lines.append("endpoints:")
        for i, j in pods:
            lines += [f'  - addresses: ["{pod_ip(i, j)}"]', "    conditions:",
                      "      ready: true", f"    nodeName: node-{i}"]
    return "\n".join(lines) + "\n"


ECHO_SLICE_PORTS = [("tcp", "TCP", ECHO_PORT), ("udp", "UDP", ECHO_PORT)]
BLINK_SLICE_PORTS = [("tcp", "TCP", BLINK_PORT)]
CHURN_SLICE_PORTS = [("tcp", "TCP", CHURN_PORT), ("udp", "UDP", CHURN_PORT)]


def echo_service_yaml(extra_port):
    """soak-echo: NodePort, TCP and UDP; a service update toggles `extra`."""
    ports = [("tcp", "TCP", ECHO_PORT, ECHO_NODEPORT_TCP),
             ("udp", "UDP", ECHO_PORT, ECHO_NODEPORT_UDP)]
    if extra_port:
        ports.append(("extra", "TCP", EXTRA_PORT, None))
    return _service("soak-echo", ECHO_IP, ports, node_port=True)


def blink_slice_yaml(empty=False):
    return slice_yaml("soak-blink-b1", "soak-blink", BLINK_SLICE_PORTS,
                      [] if empty else SERVER_PODS)


def churn_slice_yaml(pods):
    return slice_yaml("soak-churn-c1", "soak-churn", CHURN_SLICE_PORTS, pods)


def services_yaml():
    """The soak's three services and their slices, as first applied."""
    return "".join([
        echo_service_yaml(extra_port=False),
        slice_yaml("soak-echo-e1", "soak-echo", ECHO_SLICE_PORTS, SERVER_PODS),
        _service("soak-blink", BLINK_IP, [("tcp", "TCP", BLINK_PORT, BLINK_NODEPORT)],
                 node_port=True),
        blink_slice_yaml(),
        # Maglev: each endpoint change rewrites its table (in place where
        # the kernel maps tables), also over tables an agent killed
        # mid-soak left pinned for the next one to adopt.
        _service("soak-churn", CHURN_IP, [("tcp", "TCP", CHURN_PORT, None),
                                           ("udp", "UDP", CHURN_PORT, None)],
                 lb_policy="maglev"),
        churn_slice_yaml(SERVER_PODS),
    ])
