# SPDX-License-Identifier: Apache-2.0
"""The discovery answers: /version, /api, /apis, /api/v1, /apis/<group>/v1.

Minimal but real-shaped, enough for a client that checks the server's
version or which resources exist before it lists them.
"""

from . import kinds

VERSION = {
    "major": "1",
    "minor": "29",
    "gitVersion": "v1.29.0-switchyard-standin",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.21.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def answer(path, server_address):
    """The JSON body for a discovery path, or None if `path` is not one."""
    if path == "/version":
        return VERSION
    if path == "/api":
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{
                "clientCIDR": "0.0.0.0/0",
                "serverAddress": f"{server_address[0]}:{server_address[1]}"
            }],
        }
    if path == "/apis":
        version = {"groupVersion": "discovery.k8s.io/v1", "version": "v1"}
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [{
                "name": "discovery.k8s.io",
                "versions": [version],
                "preferredVersion": version,
            }],
        }
    if path in ("/api/v1", "/apis/discovery.k8s.io/v1"):
        group = "" if path == "/api/v1" else "discovery.k8s.io"
        return _resource_list(group)
    return None


def _resource_list(group):
    version = f"{group}/v1" if group else "v1"
    verbs = ["create", "delete", "deletecollection", "get", "list", "patch",
             "update", "watch"]
    resources = []
    for kind in kinds.KINDS:
        if kind.group != group:
            continue
        resources.append({
            "name": kind.resource,
            "singularName": kind.kind.lower(),
            "namespaced": kind.namespaced,
            "kind": kind.kind,
            "verbs": verbs,
        })
        if kind.has_status:
            resources.append({
                "name": f"{kind.resource}/status",
                "singularName": "",
                "namespaced": kind.namespaced,
                "kind": kind.kind,
                "verbs": ["get", "patch", "update"],
            })
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": version, "resources": resources}
