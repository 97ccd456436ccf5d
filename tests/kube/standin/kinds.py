# SPDX-License-Identifier: Apache-2.0
"""The three kinds the stand-in serves, and what each does on a write.

Each kind names its REST path, its list kind, the fields it can be selected
by, and its strategy: the defaulting and validation of create and update,
and what its `/status` subresource may change. Services delegate to
services.py, which holds the allocators.
"""

import copy

from . import errors
from . import services


class Kind:
    resource = ""
    kind = ""
    group = ""
    version = "v1"
    namespaced = True
    has_status = False
    dns1035_names = False
    field_names = ("metadata.name", "metadata.namespace")

    @property
    def api_version(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self):
        return self.kind + "List"

    def fields(self, obj):
        metadata = obj.get("metadata") or {}
        return {
            "metadata.name": metadata.get("name", ""),
            "metadata.namespace": metadata.get("namespace", ""),
        }

    def prepare_create(self, obj, allocator):
        pass

    def prepare_update(self, obj, old, allocator):
        pass

    def prepare_status_update(self, obj, old):
        """A /status write: only status comes from the client."""
        result = copy.deepcopy(old)
        result["status"] = obj.get("status") or {}
        result["metadata"]["resourceVersion"] = obj["metadata"].get(
            "resourceVersion", "")
        return result

    def on_delete(self, obj, allocator):
        pass

    def bookmark(self, rv):
        """The object of a BOOKMARK event: the kind's zero value and a rv."""
        return {
            "kind": self.kind,
            "apiVersion": self.api_version,
            "metadata": {
                "resourceVersion": str(rv),
                "creationTimestamp": None
            },
            **self._zero_body(),
        }

    def _zero_body(self):
        return {}


class ServiceKind(Kind):
    resource = "services"
    kind = "Service"
    has_status = True
    dns1035_names = True
    field_names = ("metadata.name", "metadata.namespace", "spec.clusterIP",
                   "spec.type")

    def fields(self, obj):
        result = super().fields(obj)
        spec = obj.get("spec") or {}
        result["spec.clusterIP"] = spec.get("clusterIP", "")
        result["spec.type"] = spec.get("type", "")
        return result

    def prepare_create(self, obj, allocator):
        services.prepare_create(obj, allocator)

    def prepare_update(self, obj, old, allocator):
        services.prepare_update(obj, old, allocator)

    def on_delete(self, obj, allocator):
        services.on_delete(obj, allocator)

    def _zero_body(self):
        return {"spec": {}, "status": {"loadBalancer": {}}}


class EndpointSliceKind(Kind):
    resource = "endpointslices"
    kind = "EndpointSlice"
    group = "discovery.k8s.io"

    def _validate(self, obj):
        name = obj["metadata"]["name"]
        address_type = obj.get("addressType")
        if not address_type:
            raise errors.invalid("EndpointSlice", name,
                                 [("addressType", "Required value")])
        if address_type not in ("IPv4", "IPv6", "FQDN"):
            raise errors.invalid("EndpointSlice", name, [(
                "addressType", f'Unsupported value: "{address_type}": '
                'supported values: "FQDN", "IPv4", "IPv6"')])
        # Both lists are serialised as null when empty (no omitempty).
        obj.setdefault("endpoints", None)
        obj.setdefault("ports", None)
        for i, endpoint in enumerate(obj["endpoints"] or []):
            if not endpoint.get("addresses"):
                raise errors.invalid("EndpointSlice", name, [(
                    f"endpoints[{i}].addresses", "Required value")])
        for port in obj["ports"] or []:
            port.setdefault("name", "")
            port.setdefault("protocol", "TCP")

    def prepare_create(self, obj, allocator):
        self._validate(obj)
        obj["metadata"]["generation"] = 1

    def prepare_update(self, obj, old, allocator):
        self._validate(obj)
        if obj["addressType"] != old["addressType"]:
            raise errors.invalid("EndpointSlice", obj["metadata"]["name"], [(
                "addressType", f'Invalid value: "{obj["addressType"]}": '
                "field is immutable")])
        generation = old["metadata"].get("generation", 1)
        if any(obj.get(f) != old.get(f) for f in ("endpoints", "ports")):
            generation += 1
        obj["metadata"]["generation"] = generation

    def _zero_body(self):
        return {"addressType": "", "endpoints": None, "ports": None}


class NodeKind(Kind):
    resource = "nodes"
    kind = "Node"
    namespaced = False
    has_status = True
    field_names = ("metadata.name", "spec.unschedulable")

    def fields(self, obj):
        spec = obj.get("spec") or {}
        return {
            "metadata.name": (obj.get("metadata") or {}).get("name", ""),
            "spec.unschedulable":
                "true" if spec.get("unschedulable") else "false",
        }

    def prepare_create(self, obj, allocator):
        # Nodes, unlike most kinds, may be created with their status (the
        # kubelet registers itself that way).
        obj.setdefault("spec", {})

    def prepare_update(self, obj, old, allocator):
        obj.setdefault("spec", {})
        obj["status"] = old.get("status") or {}
        was, spec = old.get("spec") or {}, obj["spec"]
        for field in ("podCIDR", "podCIDRs"):
            if was.get(field) and spec.get(field) != was.get(field):
                raise errors.invalid("Node", obj["metadata"]["name"], [(
                    f"spec.{field}", "Forbidden: node updates may not change "
                    "podCIDR except from \"\" to valid")])

    def _zero_body(self):
        return {
            "spec": {},
            "status": {
                "daemonEndpoints": {
                    "kubeletEndpoint": {
                        "Port": 0
                    }
                },
                "nodeInfo": {
                    f: "" for f in
                    ("machineID", "systemUUID", "bootID", "kernelVersion",
                     "osImage", "containerRuntimeVersion", "kubeletVersion",
                     "kubeProxyVersion", "operatingSystem", "architecture")
                },
            },
        }


KINDS = (ServiceKind(), EndpointSliceKind(), NodeKind())
BY_RESOURCE = {k.resource: k for k in KINDS}
