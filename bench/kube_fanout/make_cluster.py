#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes a synthetic cluster for the API-server stand-in's --load.

    make_cluster.py OUT_DIR --services N [--endpoints E] [--nodes M]

OUT_DIR gets services.json (a ServiceList), endpointslices.json (an
EndpointSliceList: one slice of E endpoints per Service) and nodes.json,
shaped as `kubectl get -o json` prints them from a real cluster
(managedFields, ownerReferences, targetRef, conditions, status), so the
controller decodes what it would decode in a cluster. Plus the Service
`bench/marker` and its slice `bench/marker-x7k2p`, which the bench
rewrites to time changes. Standard library only.
"""

import argparse
import json
import os
import uuid

NAMESPACE = "bench"
TIME = "2026-12-01T10:00:00Z"


def uid(*parts):
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(map(str, parts))))


def service(name, index):
    # 10.96.0.0/16 holds 65,534 addresses; .0.x is left to the cluster's own.
    ip = f"10.96.{1 + index // 250}.{1 + index % 250}"
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "creationTimestamp": TIME,
            "labels": {"app": name},
            "managedFields": [{
                "apiVersion": "v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                    "f:spec": {
                        "f:internalTrafficPolicy": {},
                        "f:ports": {
                            ".": {},
                            'k:{"port":80,"protocol":"TCP"}': {
                                ".": {}, "f:name": {}, "f:port": {},
                                "f:protocol": {}, "f:targetPort": {}},
                            'k:{"port":443,"protocol":"TCP"}': {
                                ".": {}, "f:name": {}, "f:port": {},
                                "f:protocol": {}, "f:targetPort": {}},
                        },
                        "f:selector": {}, "f:sessionAffinity": {},
                        "f:type": {},
                    },
                },
                "manager": "kubectl-client-side-apply",
                "operation": "Update",
                "time": TIME,
            }],
            "name": name,
            "namespace": NAMESPACE,
            "resourceVersion": "1",
            "uid": uid("svc", name),
        },
        "spec": {
            "clusterIP": ip,
            "clusterIPs": [ip],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [
                {"name": "http", "port": 80, "protocol": "TCP",
                 "targetPort": 8080},
                {"name": "https", "port": 443, "protocol": "TCP",
                 "targetPort": 8443},
            ],
            "selector": {"app": name},
            "sessionAffinity": "None",
            "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }


def endpoint(service_name, index, e, address, nodes):
    pod = f"{service_name}-{index:05d}-{e}"
    return {
        "addresses": [address],
        "conditions": {"ready": True, "serving": True, "terminating": False},
        "nodeName": f"node-{(index + e) % nodes}",
        "targetRef": {"kind": "Pod", "name": pod, "namespace": NAMESPACE,
                      "uid": uid("pod", pod)},
        "zone": f"zone-{(index + e) % 3}",
    }


def endpoint_slice(service_name, slice_name, index, endpoints, nodes):
    def address(e):
        n = index * endpoints + e  # 10.244.0.0/14: 262,144 pod addresses
        return f"10.{244 + n // 65536}.{n // 256 % 256}.{n % 256}"

    return {
        "addressType": "IPv4",
        "apiVersion": "discovery.k8s.io/v1",
        "endpoints": [endpoint(service_name, index, e, address(e), nodes)
                      for e in range(endpoints)],
        "kind": "EndpointSlice",
        "metadata": {
            "annotations": {
                "endpoints.kubernetes.io/last-change-trigger-time": TIME},
            "creationTimestamp": TIME,
            "generateName": f"{service_name}-",
            "generation": 1,
            "labels": {
                "endpointslice.kubernetes.io/managed-by":
                    "endpointslice-controller.k8s.io",
                "kubernetes.io/service-name": service_name,
            },
            "managedFields": [{
                "apiVersion": "discovery.k8s.io/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": {
                    "f:addressType": {}, "f:endpoints": {},
                    "f:metadata": {"f:labels": {".": {}}},
                    "f:ports": {},
                },
                "manager": "kube-controller-manager",
                "operation": "Update",
                "time": TIME,
            }],
            "name": slice_name,
            "namespace": NAMESPACE,
            "ownerReferences": [{
                "apiVersion": "v1", "blockOwnerDeletion": True,
                "controller": True, "kind": "Service", "name": service_name,
                "uid": uid("svc", service_name),
            }],
            "resourceVersion": "1",
            "uid": uid("slice", slice_name),
        },
        "ports": [
            {"name": "http", "port": 8080, "protocol": "TCP"},
            {"name": "https", "port": 8443, "protocol": "TCP"},
        ],
    }


def node(index):
    name = f"node-{index}"
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "labels": {"kubernetes.io/hostname": name,
                       "kubernetes.io/os": "linux"},
            "name": name,
            "uid": uid("node", name),
        },
        "spec": {"podCIDR": f"10.244.{index}.0/24",
                 "podCIDRs": [f"10.244.{index}.0/24"]},
        "status": {"addresses": [
            {"address": f"192.168.{index // 250}.{10 + index % 250}",
             "type": "InternalIP"},
            {"address": name, "type": "Hostname"}]},
    }


def write_list(path, kind, api_version, items):
    with open(path, "w") as f:
        json.dump({"apiVersion": api_version, "kind": f"{kind}List",
                   "metadata": {"resourceVersion": ""}, "items": items},
                  f, separators=(",", ":"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--services", type=int, required=True)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--nodes", type=int, default=3)
    args = parser.parse_args()
    if args.services * args.endpoints > 262_000 or args.services > 60_000:
        raise SystemExit("at most 60,000 services and 262,000 endpoints")
    os.makedirs(args.out, exist_ok=True)
    names = [f"svc-{i:05d}" for i in range(args.services)]
    services = [service(n, i) for i, n in enumerate(names)]
    slices = [endpoint_slice(n, f"{n}-{uid('s', n)[:5]}", i, args.endpoints,
                             args.nodes) for i, n in enumerate(names)]
    # The slice the bench rewrites; its Service sits past the others.
    services.append(service("marker", 60_001))
    slices.append(endpoint_slice("marker", "marker-x7k2p", 0, args.endpoints,
                                 args.nodes))
    write_list(os.path.join(args.out, "services.json"), "Service", "v1",
               services)
    write_list(os.path.join(args.out, "endpointslices.json"), "EndpointSlice",
               "discovery.k8s.io/v1", slices)
    write_list(os.path.join(args.out, "nodes.json"), "Node", "v1",
               [node(i) for i in range(args.nodes)])


if __name__ == "__main__":
    main()
