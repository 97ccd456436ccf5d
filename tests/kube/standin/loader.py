# SPDX-License-Identifier: Apache-2.0
"""--load: objects from JSON or YAML files, created as if POSTed.

A file holds one object, a List (typed, "ServiceList", or kubectl's "List")
or, in YAML, several documents. Objects exported from a cluster carry the
fields the server sets (uid, resourceVersion, ...); those are dropped so
the stand-in assigns its own, as a create would.
"""

import json
import os

from . import kinds
from . import meta

_EXTENSIONS = (".json", ".yaml", ".yml")


def _files(paths):
    for path in paths:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                if name.endswith(_EXTENSIONS):
                    yield os.path.join(path, name)
        else:
            yield path


def _documents(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if path.endswith(".json"):
        return [json.loads(text)]
    try:
        import yaml  # Debian's python3-yaml; optional.
    except ImportError:
        raise SystemExit(f"{path}: YAML needs PyYAML (python3-yaml); "
                         "use JSON instead") from None
    return [d for d in yaml.safe_load_all(text) if d]


def objects_from(paths):
    """Every object in the files, Lists expanded, in file order."""
    for path in _files(paths):
        for document in _documents(path):
            kind = document.get("kind", "")
            if kind.endswith("List") and "items" in document:
                item_kind = kind[:-len("List")]
                for item in document["items"] or []:
                    if item_kind:
                        item.setdefault("kind", item_kind)
                        item.setdefault("apiVersion",
                                        document.get("apiVersion"))
                    yield item
            else:
                yield document


def kind_of(obj):
    for kind in kinds.KINDS:
        if obj.get("kind") == kind.kind and \
                obj.get("apiVersion") == kind.api_version:
            return kind
    raise SystemExit(f"cannot load {obj.get('apiVersion')}/{obj.get('kind')}:"
                     " the stand-in serves v1 Service, v1 Node and "
                     "discovery.k8s.io/v1 EndpointSlice")


def strip_server_set(obj):
    metadata = obj.setdefault("metadata", {})
    for field in meta.SERVER_SET:
        metadata.pop(field, None)
