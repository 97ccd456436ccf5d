# SPDX-License-Identifier: Apache-2.0
"""v1 Service: the defaults and allocations the real server makes.

In Kubernetes mode the controller takes ClusterIPs and NodePorts from the
API server and allocates nothing, so what a Service looks like after
creation (type, protocol, targetPort, clusterIP(s), ipFamilies, nodePorts,
healthCheckNodePort) must come out as a real cluster's would.

An update keeps what was allocated when the client leaves it empty (the
real server's patchAllocatedValues), refuses a changed clusterIP, and gives
back what is no longer needed.
"""

import ipaddress

from . import errors

_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
_POLICIES = ("SingleStack", "PreferDualStack", "RequireDualStack")


class Allocator:
    """Service IPs per family from the service CIDRs, and node ports."""

    def __init__(self, service_cidrs, node_port_range, rng):
        self.cidrs = {}
        self.families = []
        for text in service_cidrs.split(","):
            net = ipaddress.ip_network(text.strip(), strict=False)
            family = "IPv4" if net.version == 4 else "IPv6"
            if family in self.cidrs:
                raise ValueError(f"two {family} service CIDRs")
            self.cidrs[family] = net
            self.families.append(family)
        low, high = (int(p) for p in node_port_range.split("-"))
        self.ports = (low, high)
        self._rng = rng
        self._ips = set()
        self._node_ports = set()

    def family_of(self, ip):
        return "IPv4" if ipaddress.ip_address(ip).version == 4 else "IPv6"

    def take_ip(self, ip, field, values, kind_name, taken):
        family = self.family_of(ip)
        net = self.cidrs.get(family)
        shown = "[]string{" + ", ".join(f'"{v}"' for v in values) + "}"
        if net is None or ipaddress.ip_address(ip) not in net:
            rng = ", ".join(str(n) for n in self.cidrs.values())
            raise errors.invalid("Service", kind_name, [(
                field, f"Invalid value: {shown}: failed to allocate IP {ip}: "
                f"the provided IP ({ip}) is not in the valid range. The range "
                f"of valid IPs is {rng}")])
        if ip in self._ips:
            raise errors.invalid("Service", kind_name, [(
                field, f"Invalid value: {shown}: failed to allocate IP {ip}: "
                "provided IP is already allocated")])
        self._ips.add(ip)
        taken.append(("ip", ip))

    def next_ip(self, family, taken):
        net = self.cidrs[family]
        size = net.num_addresses
        # Random like the real allocator, from a seeded generator so a
        # test run is reproducible. Never the network or broadcast address,
        # nor the first one: that is the `kubernetes` Service's (the API
        # server's own), asked for by address when it is created.
        for _ in range(4096):
            offset = self._rng.randrange(2, max(3, size - 1))
            ip = str(net.network_address + offset)
            if ip not in self._ips:
                self._ips.add(ip)
                taken.append(("ip", ip))
                return ip
        raise errors.ApiError(500, "InternalError",
                              "Internal error occurred: failed to allocate a "
                              "serviceIP: range is full")

    def take_port(self, port, field, kind_name, taken):
        low, high = self.ports
        if not low <= port <= high:
            raise errors.invalid("Service", kind_name, [(
                field, f"Invalid value: {port}: provided port is not in the "
                f"valid range. The range of valid ports is {low}-{high}")])
        if port in self._node_ports:
            raise errors.invalid("Service", kind_name, [(
                field, f"Invalid value: {port}: provided port is already "
                "allocated")])
        self._node_ports.add(port)
        taken.append(("port", port))

    def next_port(self, taken):
        low, high = self.ports
        for _ in range(4096):
            port = self._rng.randint(low, high)
            if port not in self._node_ports:
                self._node_ports.add(port)
                taken.append(("port", port))
                return port
        raise errors.ApiError(500, "InternalError",
                              "Internal error occurred: failed to allocate a "
                              "nodePort: range is full")

    def release(self, things):
        for what, value in things:
            (self._ips if what == "ip" else self._node_ports).discard(value)


def _held(spec):
    """What a stored Service holds in the allocator."""
    held = [("ip", ip) for ip in spec.get("clusterIPs") or []
            if ip and ip != "None"]
    held += [("port", p["nodePort"]) for p in spec.get("ports") or []
             if p.get("nodePort")]
    if spec.get("healthCheckNodePort"):
        held.append(("port", spec["healthCheckNodePort"]))
    return held


def _default_ports(spec, name):
    ports = spec.get("ports") or []
    causes = []
    seen_names, seen_ports = set(), set()
    for i, port in enumerate(ports):
        for field in ("port", "nodePort"):
            if not isinstance(port.get(field, 0), int) or \
                    isinstance(port.get(field), bool):
                # What Go's decoder says of a string where an int32 goes.
                raise errors.bad_request(
                    f"json: cannot unmarshal {type(port[field]).__name__} "
                    f"into Go struct field ServicePort.spec.ports.{field} of "
                    "type int32")
        port.setdefault("protocol", "TCP")
        if port.get("protocol") not in ("TCP", "UDP", "SCTP"):
            causes.append((f"spec.ports[{i}].protocol",
                           f'Unsupported value: "{port.get("protocol")}": '
                           'supported values: "SCTP", "TCP", "UDP"'))
        if port.get("port") and not 1 <= port["port"] <= 65535:
            causes.append((f"spec.ports[{i}].port",
                           f"Invalid value: {port['port']}: must be between "
                           "1 and 65535, inclusive"))
            continue
        if not port.get("port"):
            causes.append((f"spec.ports[{i}].port",
                           "Required value"))
            continue
        port.setdefault("targetPort", port["port"])
        if len(ports) > 1 and not port.get("name"):
            causes.append((f"spec.ports[{i}].name", "Required value"))
        if port.get("name"):
            if port["name"] in seen_names:
                causes.append((f"spec.ports[{i}].name",
                               f'Duplicate value: "{port["name"]}"'))
            seen_names.add(port["name"])
        ident = (port["port"], port["protocol"])
        if ident in seen_ports:
            causes.append((f"spec.ports[{i}]",
                           f'Duplicate value: core.ServicePort{{Name:"", '
                           f'Protocol:"{ident[1]}", Port:{ident[0]}}}'))
        seen_ports.add(ident)
    if causes:
        raise errors.invalid("Service", name, causes)


def _default_spec(obj, name):
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    if spec["type"] not in _TYPES:
        raise errors.invalid("Service", name, [(
            "spec.type", f'Unsupported value: "{spec["type"]}": supported '
            'values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"')])
    _default_ports(spec, name)
    spec.setdefault("sessionAffinity", "None")
    if spec["sessionAffinity"] == "ClientIP":
        spec.setdefault("sessionAffinityConfig",
                        {"clientIP": {"timeoutSeconds": 10800}})
    if spec["type"] == "ExternalName":
        return spec
    if not spec.get("ports") and spec.get("clusterIP") != "None":
        raise errors.invalid("Service", name,
                             [("spec.ports", "Required value")])
    spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    if spec["type"] == "ClusterIP":
        for i, port in enumerate(spec.get("ports") or []):
            if port.get("nodePort"):
                raise errors.invalid("Service", name, [(
                    f"spec.ports[{i}].nodePort",
                    "Forbidden: may not be used when `type` is 'ClusterIP'")])
    return spec


def _families(spec, allocator, name):
    """The ipFamilies a new Service gets, from what it asked for."""
    policy = spec.setdefault("ipFamilyPolicy", "SingleStack")
    if policy not in _POLICIES:
        raise errors.invalid("Service", name, [(
            "spec.ipFamilyPolicy", f'Unsupported value: "{policy}": '
            'supported values: "PreferDualStack", "RequireDualStack", '
            '"SingleStack"')])
    ips = [ip for ip in spec.get("clusterIPs") or [] if ip != "None"]
    families = list(spec.get("ipFamilies") or
                    [allocator.family_of(ip) for ip in ips])
    if not families:
        families = [allocator.families[0]]
    for family in families:
        if family not in allocator.cidrs:
            raise errors.invalid("Service", name, [(
                "spec.ipFamilies", f'Invalid value: "{family}": not '
                "configured on this cluster")])
    dual = len(allocator.families) > 1
    if policy == "RequireDualStack" and not dual:
        raise errors.invalid("Service", name, [(
            "spec.ipFamilyPolicy", 'Invalid value: "RequireDualStack": this '
            "cluster is not configured for dual-stack services")])
    if policy != "SingleStack" and dual and len(families) == 1:
        families += [f for f in allocator.families if f not in families]
    if policy == "SingleStack":
        families = families[:1]
    return families


def _allocate_ips(spec, allocator, name, taken):
    if spec.get("clusterIP") and not spec.get("clusterIPs"):
        spec["clusterIPs"] = [spec["clusterIP"]]
    requested = spec.get("clusterIPs") or []
    if spec.get("clusterIP") and requested and \
            requested[0] != spec["clusterIP"]:
        raise errors.invalid("Service", name, [(
            "spec.clusterIPs[0]", f'Invalid value: "{requested[0]}": must '
            "match `clusterIP` when the first clusterIP is specified")])
    families = _families(spec, allocator, name)
    spec["ipFamilies"] = families
    if spec.get("clusterIP") == "None":
        spec["clusterIPs"] = ["None"]
        return
    ips = []
    for i, family in enumerate(families):
        if i < len(requested) and requested[i]:
            allocator.take_ip(requested[i], "spec.clusterIPs", requested,
                              name, taken)
            ips.append(requested[i])
        else:
            ips.append(allocator.next_ip(family, taken))
    spec["clusterIPs"] = ips
    spec["clusterIP"] = ips[0]


def _allocate_ports(spec, allocator, name, taken, keep=None):
    """NodePorts and the health check port; `keep` holds the old values."""
    keep = keep or {}
    needs_node_ports = spec["type"] == "NodePort" or (
        spec["type"] == "LoadBalancer" and
        spec.get("allocateLoadBalancerNodePorts", True))
    # Ports with one number and two protocols (DNS's 53/UDP and 53/TCP)
    # share one node port, as on the real server.
    by_number = {}
    for i, port in enumerate(spec.get("ports") or []):
        ident = (port.get("port"), port.get("protocol"))
        wanted = port.get("nodePort")
        shared = by_number.get(port.get("port"))
        if wanted and keep.get(ident) == wanted:
            keep.pop(ident)
        elif wanted and wanted == shared:
            pass
        elif wanted:
            allocator.take_port(wanted, f"spec.ports[{i}].nodePort", name,
                                taken)
        elif ident in keep and spec["type"] in ("NodePort", "LoadBalancer"):
            port["nodePort"] = keep.pop(ident)
        elif needs_node_ports:
            port["nodePort"] = shared or allocator.next_port(taken)
        if port.get("nodePort"):
            by_number.setdefault(port.get("port"), port["nodePort"])
    needs_health = (spec["type"] == "LoadBalancer" and
                    spec.get("externalTrafficPolicy") == "Local")
    wanted = spec.get("healthCheckNodePort")
    old_health = keep.pop("health", None)
    if not needs_health:
        if wanted and wanted == old_health:
            # No longer needed and not touched by the client: the server
            # takes it back, as the real one does.
            spec.pop("healthCheckNodePort")
            return
        if wanted:
            raise errors.invalid("Service", name, [(
                "spec.healthCheckNodePort", "Forbidden: may only be set when "
                "`type` is 'LoadBalancer' and `externalTrafficPolicy` is "
                "'Local'")])
        return
    if wanted and wanted == old_health:
        return
    if wanted:
        allocator.take_port(wanted, "spec.healthCheckNodePort", name, taken)
    elif old_health:
        spec["healthCheckNodePort"] = old_health
    else:
        spec["healthCheckNodePort"] = allocator.next_port(taken)


def prepare_create(obj, allocator):
    """Defaults and allocates a new Service in place (422 if invalid)."""
    name = obj["metadata"]["name"]
    spec = _default_spec(obj, name)
    obj["status"] = {"loadBalancer": {}}
    if spec["type"] == "ExternalName":
        return
    taken = []
    try:
        _allocate_ips(spec, allocator, name, taken)
        _allocate_ports(spec, allocator, name, taken)
    except Exception:
        allocator.release(taken)
        raise


def prepare_update(obj, old, allocator):
    """Defaults an updated Service, keeping what was allocated to it."""
    name = obj["metadata"]["name"]
    spec = obj.setdefault("spec", {})
    was = old.get("spec") or {}
    if spec.get("type", "ClusterIP") != "ExternalName" and \
            was.get("type") != "ExternalName":
        if not spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIP"] = was.get("clusterIP")
            spec["clusterIPs"] = was.get("clusterIPs")
        spec.setdefault("clusterIPs", [spec.get("clusterIP")])
        spec.setdefault("clusterIP", (spec.get("clusterIPs") or [None])[0])
        if spec["clusterIP"] != was.get("clusterIP") or \
                (spec.get("clusterIPs") or [])[:1] != \
                (was.get("clusterIPs") or [])[:1]:
            raise errors.invalid("Service", name, [(
                "spec.clusterIPs[0]", f'Invalid value: "{spec["clusterIP"]}"'
                ": may not change once set")])
        spec.setdefault("ipFamilies", was.get("ipFamilies"))
        spec.setdefault("ipFamilyPolicy", was.get("ipFamilyPolicy"))
    spec = _default_spec(obj, name)
    obj["status"] = old.get("status") or {"loadBalancer": {}}
    held_before = _held(was)
    keep = {(p.get("port"), p.get("protocol")): p["nodePort"]
            for p in was.get("ports") or [] if p.get("nodePort")}
    if was.get("healthCheckNodePort"):
        keep["health"] = was["healthCheckNodePort"]
    taken = []
    try:
        if spec["type"] == "ExternalName":
            for field in ("clusterIP", "clusterIPs", "ipFamilies",
                          "ipFamilyPolicy", "internalTrafficPolicy"):
                spec.pop(field, None)
        elif was.get("type") == "ExternalName":
            _allocate_ips(spec, allocator, name, taken)
        if spec["type"] in ("ClusterIP", "ExternalName"):
            # Leaving NodePort/LoadBalancer: the server drops the ports it
            # gave, as the real one does when the client did not touch them.
            for port in spec.get("ports") or []:
                port.pop("nodePort", None)
            spec.pop("healthCheckNodePort", None)
            spec.pop("externalTrafficPolicy", None)
            spec.pop("allocateLoadBalancerNodePorts", None)
        else:
            _allocate_ports(spec, allocator, name, taken, dict(keep))
    except Exception:
        allocator.release(taken)
        raise
    held_now = set(_held(spec))
    allocator.release([h for h in held_before if h not in held_now])


def on_delete(obj, allocator):
    allocator.release(_held(obj.get("spec") or {}))

