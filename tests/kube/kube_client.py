#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Writes Kubernetes manifests to an API server with the official client.

The lab's Kubernetes mode and its tests change the cluster through this,
as an operator would with kubectl: objects go to the API server (the
stand-in), and yard-controller learns of them by watching it. It uses
Debian's python3-kubernetes, a client nobody here wrote.

  kube_client.py --kubeconfig F apply -f FILE|DIR   create, or replace
  kube_client.py --kubeconfig F delete -f FILE|DIR  delete (missing: fine)
  kube_client.py --kubeconfig F post PATH           a stand-in control call
                                                    (/standin/compact ...)
  kube_client.py --kubeconfig F get PATH            GET, body to stdout

apply writes the status too when the manifest has one (Node addresses, a
LoadBalancer's ingress), as the cluster's own controllers would: the API
server ignores status on create and replace.
"""

import argparse
import glob
import json
import os
import sys

import kubernetes
import yaml
from kubernetes.client.rest import ApiException


def documents(path):
    files = sorted(glob.glob(os.path.join(path, "*.y*ml")) +
                   glob.glob(os.path.join(path, "*.json"))) \
        if os.path.isdir(path) else [path]
    for name in files:
        with open(name, encoding="utf-8") as f:
            for doc in yaml.safe_load_all(f):
                if not doc:
                    continue
                if doc.get("kind", "").endswith("List"):
                    yield from doc.get("items", [])
                else:
                    yield doc


class Cluster:
    def __init__(self, kubeconfig):
        client = kubernetes.config.new_client_from_config(
            config_file=kubeconfig)
        self.core = kubernetes.client.CoreV1Api(client)
        self.discovery = kubernetes.client.DiscoveryV1Api(client)
        self.client = client

    def _calls(self, doc):
        kind = doc.get("kind")
        ns = doc.get("metadata", {}).get("namespace", "default")
        name = doc["metadata"]["name"]
        if kind == "Service":
            return (lambda b: self.core.create_namespaced_service(ns, b),
                    lambda b: self.core.replace_namespaced_service(
                        name, ns, b),
                    lambda b: self.core.replace_namespaced_service_status(
                        name, ns, b),
                    lambda: self.core.read_namespaced_service(name, ns),
                    lambda: self.core.delete_namespaced_service(name, ns))
        if kind == "EndpointSlice":
            d = self.discovery
            return (lambda b: d.create_namespaced_endpoint_slice(ns, b),
                    lambda b: d.replace_namespaced_endpoint_slice(
                        name, ns, b),
                    None,
                    lambda: d.read_namespaced_endpoint_slice(name, ns),
                    lambda: d.delete_namespaced_endpoint_slice(name, ns))
        if kind == "Node":
            return (lambda b: self.core.create_node(b),
                    lambda b: self.core.replace_node(name, b),
                    lambda b: self.core.replace_node_status(name, b),
                    lambda: self.core.read_node(name),
                    lambda: self.core.delete_node(name))
        return None

    def apply(self, doc):
        calls = self._calls(doc)
        if calls is None:
            print(f"skipped {doc.get('kind')} {doc['metadata']['name']}",
                  file=sys.stderr)
            return
        create, replace, replace_status, read, _ = calls
        doc = json.loads(json.dumps(doc))  # a copy we may change
        try:
            stored = create(doc)
        except ApiException as e:
            if e.status != 409:
                raise
            current = read()
            doc["metadata"]["resourceVersion"] = \
                current.metadata.resource_version
            stored = replace(doc)
        if replace_status is not None and doc.get("status"):
            doc["metadata"]["resourceVersion"] = \
                stored.metadata.resource_version
            replace_status(doc)
        print(f"{doc['kind'].lower()}/{doc['metadata']['name']} applied")

    def delete(self, doc):
        calls = self._calls(doc)
        if calls is None:
            return
        try:
            calls[4]()
            print(f"{doc['kind'].lower()}/{doc['metadata']['name']} deleted")
        except ApiException as e:
            if e.status != 404:
                raise

    def raw(self, method, path):
        response = self.client.call_api(
            path, method, auth_settings=["BearerToken"],
            _preload_content=False)
        return response[0].data.decode()


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubeconfig", required=True)
    sub = parser.add_subparsers(dest="verb", required=True)
    for verb in ("apply", "delete"):
        p = sub.add_parser(verb)
        p.add_argument("-f", dest="path", required=True)
    for verb in ("post", "get"):
        p = sub.add_parser(verb)
        p.add_argument("path")
    args = parser.parse_args(argv)
    cluster = Cluster(args.kubeconfig)
    try:
        if args.verb == "apply":
            for doc in documents(args.path):
                cluster.apply(doc)
        elif args.verb == "delete":
            for doc in reversed(list(documents(args.path))):
                cluster.delete(doc)
        else:
            print(cluster.raw(args.verb.upper(), args.path))
    except ApiException as e:
        print(f"kube_client: {e.status} {e.reason}: {e.body}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
