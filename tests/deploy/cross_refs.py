# SPDX-License-Identifier: Apache-2.0
"""Checks that Switchyard's manifests agree with one another, which no schema
can: names that refer to other objects, ConfigMap keys, variables expanded
in arguments, the controller's permissions, and the kustomization's list.

Each check takes the loaded documents (Doc) and returns "where: what" lines.
"""

import re
from dataclasses import dataclass

# What yard-controller reads, and all it may do with it.
ALLOWED_VERBS = {"get", "list", "watch"}
ALLOWED_RESOURCES = {("", "services"), ("", "nodes"), ("discovery.k8s.io", "endpointslices")}

CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
WORKLOADS = {"DaemonSet", "Deployment"}

# $(NAME) in command and args is replaced by the container's variable NAME;
# an undefined one is left as it is, silently. $$ escapes a dollar.
_EXPANSION = re.compile(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)")


@dataclass
class Doc:
    file: str
    index: int
    obj: dict

    @property
    def kind(self):
        return self.obj.get("kind")

    @property
    def name(self):
        return (self.obj.get("metadata") or {}).get("name")

    @property
    def namespace(self):
        return (self.obj.get("metadata") or {}).get("namespace")

    @property
    def where(self):
        return f"{self.file}[{self.index}] {self.kind} {self.name}"


def _find(docs, kind, name, namespace=None):
    return [
        d for d in docs if d.kind == kind and d.name == name and (namespace is None or d.namespace == namespace)
    ]


def _pod_spec(doc):
    return (((doc.obj.get("spec") or {}).get("template") or {}).get("spec")) or {}


def _containers(pod_spec):
    for group in ("initContainers", "containers"):
        for c in pod_spec.get(group) or []:
            yield group, c


def check_namespaces(docs):
    errors = []
    namespaces = {d.name for d in docs if d.kind == "Namespace"}
    for d in docs:
        if d.kind in CLUSTER_SCOPED:
            if d.namespace is not None:
                errors.append(f"{d.where}: cluster-scoped, but has namespace {d.namespace}")
        elif d.namespace not in namespaces:
            errors.append(f"{d.where}: namespace {d.namespace!r} is not among the manifests' {sorted(namespaces)}")
    return errors


def check_service_accounts(docs):
    errors = []
    for d in docs:
        if d.kind not in WORKLOADS:
            continue
        account = _pod_spec(d).get("serviceAccountName")
        if not account:
            errors.append(f"{d.where}: no serviceAccountName (it would run as 'default')")
        elif not _find(docs, "ServiceAccount", account, d.namespace):
            errors.append(f"{d.where}: ServiceAccount {d.namespace}/{account} is not defined")
    return errors


def check_bindings(docs):
    errors = []
    for d in docs:
        if d.kind != "ClusterRoleBinding":
            continue
        ref = d.obj.get("roleRef") or {}
        if ref.get("kind") != "ClusterRole" or ref.get("apiGroup") != "rbac.authorization.k8s.io":
            errors.append(f"{d.where}: roleRef must be an rbac.authorization.k8s.io ClusterRole")
        elif not _find(docs, "ClusterRole", ref.get("name")):
            errors.append(f"{d.where}: ClusterRole {ref.get('name')} is not defined")
        subjects = d.obj.get("subjects") or []
        if not subjects:
            errors.append(f"{d.where}: binds nobody")
        for s in subjects:
            if s.get("kind") != "ServiceAccount":
                errors.append(f"{d.where}: subject {s.get('kind')} {s.get('name')}: only ServiceAccounts belong here")
            elif not _find(docs, "ServiceAccount", s.get("name"), s.get("namespace")):
                errors.append(f"{d.where}: ServiceAccount {s.get('namespace')}/{s.get('name')} is not defined")
    return errors


def check_cluster_roles(docs):
    """Only get/list/watch, only on the three kinds, and all three."""
    errors = []
    for d in docs:
        if d.kind == "Role":
            errors.append(f"{d.where}: the controller needs no namespaced Role")
        if d.kind != "ClusterRole":
            continue
        if d.obj.get("aggregationRule"):
            errors.append(f"{d.where}: an aggregated role grants whatever others add")
        granted = set()
        for i, rule in enumerate(d.obj.get("rules") or []):
            where = f"{d.where}: rules[{i}]"
            extra = set(rule.get("verbs") or []) - ALLOWED_VERBS
            if extra:
                errors.append(f"{where}: verbs {sorted(extra)} beyond get/list/watch")
            for field in ("nonResourceURLs", "resourceNames"):
                if rule.get(field):
                    errors.append(f"{where}: {field} has no place in this role")
            for group in rule.get("apiGroups") or []:
                for resource in rule.get("resources") or []:
                    if (group, resource) not in ALLOWED_RESOURCES:
                        errors.append(f"{where}: {resource!r} in group {group!r} is not the controller's to read")
                    granted.add((group, resource))
        for group, resource in sorted(ALLOWED_RESOURCES - granted):
            errors.append(f"{d.where}: does not grant {resource} ({group or 'core'})")
    return errors


def check_config_refs(docs):
    """Every ConfigMap a container reads exists and has the key it reads."""
    errors = []
    for d in docs:
        if d.kind not in WORKLOADS:
            continue
        for group, c in _containers(_pod_spec(d)):
            where = f"{d.where}: {group} {c.get('name')}"
            for env in c.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("configMapKeyRef")
                if ref is None:
                    continue
                maps = _find(docs, "ConfigMap", ref.get("name"), d.namespace)
                if not maps:
                    errors.append(f"{where}: env {env.get('name')}: ConfigMap {ref.get('name')} is not defined")
                elif ref.get("key") not in (maps[0].obj.get("data") or {}):
                    errors.append(
                        f"{where}: env {env.get('name')}: ConfigMap {ref.get('name')} has no key {ref.get('key')!r}"
                    )
            for source in c.get("envFrom") or []:
                ref = source.get("configMapRef")
                if ref is not None and not _find(docs, "ConfigMap", ref.get("name"), d.namespace):
                    errors.append(f"{where}: envFrom: ConfigMap {ref.get('name')} is not defined")
    return errors


def check_expansions(docs):
    """Every $(NAME) in command and args names a variable of the container;
    an undefined one would reach the daemon as the literal text."""
    errors = []
    for d in docs:
        if d.kind not in WORKLOADS:
            continue
        for group, c in _containers(_pod_spec(d)):
            defined = {e.get("name") for e in c.get("env") or []}
            for field in ("command", "args"):
                for arg in c.get(field) or []:
                    for m in _EXPANSION.finditer(str(arg)):
                        if m[1] is not None and m[1] not in defined:
                            errors.append(
                                f"{d.where}: {group} {c.get('name')}: {field} {arg!r} uses $({m[1]}), "
                                "which the container does not define"
                            )
    return errors


def check_workloads(docs):
    """Selectors select the template, and mounts name defined volumes."""
    errors = []
    for d in docs:
        if d.kind not in WORKLOADS:
            continue
        spec = d.obj.get("spec") or {}
        selector = (spec.get("selector") or {}).get("matchLabels") or {}
        labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        if not selector:
            errors.append(f"{d.where}: no selector.matchLabels")
        for key, value in selector.items():
            if labels.get(key) != value:
                errors.append(f"{d.where}: selector {key}={value} does not match the pod template's labels")
        pod = _pod_spec(d)
        volumes = {v.get("name") for v in pod.get("volumes") or []}
        for group, c in _containers(pod):
            for mount in c.get("volumeMounts") or []:
                if mount.get("name") not in volumes:
                    errors.append(f"{d.where}: {group} {c.get('name')}: mounts undefined volume {mount.get('name')}")
    return errors


def check_images(docs, image_name):
    """Every container runs the one Switchyard image, which kustomize's
    images: entry (image_name) then rewrites."""
    errors = []
    for d in docs:
        if d.kind not in WORKLOADS:
            continue
        for group, c in _containers(_pod_spec(d)):
            image = c.get("image")
            if not isinstance(image, str) or image.rsplit(":", 1)[0] != image_name:
                errors.append(f"{d.where}: {group} {c.get('name')}: image {image!r} is not {image_name}")
    return errors


def check_kustomization(kustomization, manifest_files):
    """The kustomization lists exactly the manifests in its folder."""
    errors = []
    listed = kustomization.get("resources") or []
    if len(listed) != len(set(listed)):
        errors.append("kustomization.yaml: resources lists a file twice")
    for missing in sorted(set(manifest_files) - set(listed)):
        errors.append(f"kustomization.yaml: resources does not list {missing}")
    for extra in sorted(set(listed) - set(manifest_files)):
        errors.append(f"kustomization.yaml: resources lists {extra}, which is not in the folder")
    return errors


def check_all(docs, image_name):
    errors = []
    for check in (
        check_namespaces,
        check_service_accounts,
        check_bindings,
        check_cluster_roles,
        check_config_refs,
        check_expansions,
        check_workloads,
    ):
        errors += _guarded(check, docs)
    return errors + _guarded(check_images, docs, image_name)


def _guarded(check, *args):
    """A document of the wrong shape (which the schema check reports) must
    not stop the other checks."""
    try:
        return check(*args)
    except (AttributeError, KeyError, TypeError) as e:
        return [f"{check.__name__}: could not check, a document has an unexpected shape ({e!r})"]
