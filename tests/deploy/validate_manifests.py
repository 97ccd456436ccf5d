#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Validates Switchyard's Kubernetes manifests (deploy/kubernetes) without a
cluster: each object against the Kubernetes schema as the official Python
client's generated models carry it (schema_check.py), and the objects
against one another (cross_refs.py).

  validate_manifests.py REPO             the manifests as they are in git
  validate_manifests.py --self-test REPO the checks reject broken copies
  validate_manifests.py --kustomize REPO what `kubectl kustomize` makes of
                                         them, with an image override
                                         (exit 77, skipped, without kubectl)

Runs with Debian's /usr/bin/python3 (python3-kubernetes, python3-yaml).
"""

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import cross_refs  # noqa: E402
from cross_refs import Doc  # noqa: E402
from schema_check import SchemaChecker  # noqa: E402

SKIPPED = 77
IMAGE = "ghcr.io/switchyard/switchyard"


def load_folder(folder):
    """(documents, kustomization, manifest file names) of one folder."""
    docs, kustomization, files = [], None, []
    for name in sorted(os.listdir(folder)):
        if not name.endswith((".yaml", ".yml")):
            continue
        with open(os.path.join(folder, name)) as f:
            loaded = [d for d in yaml.safe_load_all(f) if d is not None]
        if name == "kustomization.yaml":
            kustomization = loaded[0]
            continue
        files.append(name)
        docs += [Doc(name, i, d) for i, d in enumerate(loaded)]
    return docs, kustomization, files


def validate(docs, kustomization=None, files=()):
    checker = SchemaChecker()
    for d in docs:
        checker.check_document(d.obj, d.where)
    errors = checker.errors + cross_refs.check_all(docs, IMAGE)
    if kustomization is not None:
        errors += cross_refs.check_kustomization(kustomization, files)
        names = [i.get("name") for i in kustomization.get("images") or []]
        if names != [IMAGE]:
            errors.append(f"kustomization.yaml: images should rewrite {IMAGE} alone, names {names}")
    return errors


def report(errors, what):
    for e in errors:
        print(e)
    print(f"{what}: {len(errors)} problem(s)" if errors else f"{what}: ok")
    return 1 if errors else 0


def run_manifests(folder):
    docs, kustomization, files = load_folder(folder)
    if kustomization is None:
        return report(["kustomization.yaml is missing"], folder)
    kinds = sorted({d.kind for d in docs})
    print(f"{len(docs)} objects in {len(files)} files: {', '.join(kinds)}")
    return report(validate(docs, kustomization, files), folder)


def _one(docs, kind, name=None):
    return next(d.obj for d in docs if d.kind == kind and (name is None or d.name == name))


def _container(docs, kind):
    return _one(docs, kind)["spec"]["template"]["spec"]["containers"][0]


def _broken_cases():
    """(what is broken, how to break a copy, words the error must contain)."""

    def unknown_field(docs, k):
        _container(docs, "DaemonSet")["imagePullPolicyy"] = "Always"

    def nested_unknown_field(docs, k):
        _container(docs, "Deployment")["readinessProbe"]["httpGet"]["hots"] = "127.0.0.1"

    def wrong_type(docs, k):
        _one(docs, "Deployment")["spec"]["replicas"] = "2"

    def bool_for_int(docs, k):
        _one(docs, "Deployment")["spec"]["replicas"] = True

    def list_for_string(docs, k):
        _container(docs, "DaemonSet")["image"] = ["ghcr.io/switchyard/switchyard:VERSION"]

    def number_in_config_map(docs, k):
        _one(docs, "ConfigMap")["data"]["api-server-port"] = 6443

    def structure_for_int_or_string(docs, k):
        _container(docs, "DaemonSet")["readinessProbe"]["httpGet"]["port"] = {"number": 9750}

    def null_value(docs, k):
        _one(docs, "DaemonSet")["spec"]["template"]["spec"]["volumes"][0]["hostPath"] = None

    def missing_required(docs, k):
        del _container(docs, "DaemonSet")["name"]

    def missing_required_top(docs, k):
        del _one(docs, "Deployment")["spec"]["selector"]

    def missing_role_ref(docs, k):
        del _one(docs, "ClusterRoleBinding")["roleRef"]

    def unknown_kind(docs, k):
        _one(docs, "Namespace")["kind"] = "Namespaces"

    def write_verb(docs, k):
        _one(docs, "ClusterRole")["rules"][0]["verbs"].append("create")

    def extra_resource(docs, k):
        _one(docs, "ClusterRole")["rules"][0]["resources"].append("secrets")

    def lost_resource(docs, k):
        _one(docs, "ClusterRole")["rules"].pop()

    def unknown_account(docs, k):
        _one(docs, "DaemonSet")["spec"]["template"]["spec"]["serviceAccountName"] = "yard-agnt"

    def binding_to_other_role(docs, k):
        _one(docs, "ClusterRoleBinding")["roleRef"]["name"] = "cluster-admin"

    def binding_to_other_account(docs, k):
        _one(docs, "ClusterRoleBinding")["subjects"][0]["name"] = "default"

    def missing_config_key(docs, k):
        del _one(docs, "ConfigMap")["data"]["controller-addresses"]

    def undefined_expansion(docs, k):
        _container(docs, "DaemonSet")["args"].append("--snat_ports=$(SNAT_PORTS)")

    def unselected_template(docs, k):
        _one(docs, "Deployment")["spec"]["selector"]["matchLabels"]["app.kubernetes.io/component"] = "agent"

    def undefined_volume(docs, k):
        _container(docs, "DaemonSet")["volumeMounts"][0]["name"] = "bpf"

    def other_image(docs, k):
        _container(docs, "Deployment")["image"] = "docker.io/library/debian:12"

    def wrong_namespace(docs, k):
        _one(docs, "ConfigMap")["metadata"]["namespace"] = "kube-system"

    def file_not_listed(docs, k):
        k["resources"].remove("agent.yaml")

    return [
        ("unknown field", unknown_field, "unknown field"),
        ("unknown field, deep", nested_unknown_field, "httpGet.hots: unknown field"),
        ("string for an int", wrong_type, "expected int"),
        ("bool for an int", bool_for_int, "expected int"),
        ("list for a string", list_for_string, "expected str"),
        ("number in a ConfigMap", number_in_config_map, "expected str"),
        ("structure for IntOrString", structure_for_int_or_string, "expected int or string"),
        ("null value", null_value, "null value"),
        ("missing required field", missing_required, "containers[0].name: required field"),
        ("missing required selector", missing_required_top, "spec.selector: required field"),
        ("missing roleRef", missing_role_ref, "roleRef: required field"),
        ("unknown kind", unknown_kind, "no model"),
        ("write verb", write_verb, "beyond get/list/watch"),
        ("extra resource", extra_resource, "'secrets'"),
        ("resource not granted", lost_resource, "does not grant endpointslices"),
        ("unknown service account", unknown_account, "yard-agnt is not defined"),
        ("binding to another role", binding_to_other_role, "ClusterRole cluster-admin is not defined"),
        ("binding to another account", binding_to_other_account, "switchyard-system/default is not defined"),
        ("ConfigMap key missing", missing_config_key, "has no key 'controller-addresses'"),
        ("undefined $(VAR)", undefined_expansion, "$(SNAT_PORTS)"),
        ("selector misses template", unselected_template, "does not match the pod template"),
        ("undefined volume", undefined_volume, "undefined volume bpf"),
        ("another image", other_image, "is not ghcr.io/switchyard/switchyard"),
        ("namespace not defined", wrong_namespace, "'kube-system' is not among"),
        ("file not in kustomization", file_not_listed, "does not list agent.yaml"),
    ]


def run_self_test(folder):
    """The validator must fail on broken copies of the real manifests, each
    broken one way, and pass the real ones: else it proves nothing."""
    docs, kustomization, files = load_folder(folder)
    failures = []
    baseline = validate(docs, kustomization, files)
    if baseline:
        failures.append(f"the real manifests should pass, but: {baseline}")
    for what, breaks, expected in _broken_cases():
        broken_docs, broken_k = copy.deepcopy(docs), copy.deepcopy(kustomization)
        breaks(broken_docs, broken_k)
        errors = validate(broken_docs, broken_k, files)
        if not any(expected in e for e in errors):
            failures.append(f"{what}: expected an error containing {expected!r}, got {errors}")
        else:
            print(f"rejected as it should be: {what}")
    return report(failures, "self-test")


def run_kustomize(folder):
    """kubectl's kustomize must build the folder, and an overlay's images:
    must reach every container (the way to set a release)."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        print("kubectl not found: skipped")
        return SKIPPED
    with tempfile.TemporaryDirectory() as overlay:
        with open(os.path.join(overlay, "kustomization.yaml"), "w") as f:
            yaml.safe_dump(
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": [os.path.relpath(folder, overlay)],
                    "images": [{"name": IMAGE, "newName": "registry.example/yard", "newTag": "v9.9.9"}],
                },
                f,
            )
        built = subprocess.run([kubectl, "kustomize", overlay], capture_output=True, text=True)
    if built.returncode != 0:
        return report([f"kubectl kustomize failed: {built.stderr.strip()}"], "kustomize")
    docs = [Doc("kustomize", i, d) for i, d in enumerate(yaml.safe_load_all(built.stdout)) if d]
    errors = SchemaChecker()
    for d in docs:
        errors.check_document(d.obj, d.where)
    problems = errors.errors + cross_refs.check_all(docs, "registry.example/yard")
    images = set()
    for d in docs:
        if d.kind in cross_refs.WORKLOADS:
            spec = d.obj["spec"]["template"]["spec"]
            images |= {c["image"] for c in spec.get("initContainers", []) + spec["containers"]}
    if images != {"registry.example/yard:v9.9.9"}:
        problems.append(f"the overlay's image did not reach every container: {sorted(images)}")
    print(f"kubectl kustomize: {len(docs)} objects")
    return report(problems, "kustomize")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("repo", help="the repository's top folder")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--self-test", action="store_true")
    mode.add_argument("--kustomize", action="store_true")
    args = parser.parse_args()
    folder = os.path.join(args.repo, "deploy", "kubernetes")
    if args.self_test:
        return run_self_test(folder)
    if args.kustomize:
        return run_kustomize(folder)
    return run_manifests(folder)


if __name__ == "__main__":
    sys.exit(main())
