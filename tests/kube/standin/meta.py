# SPDX-License-Identifier: Apache-2.0
"""Object metadata the server owns: uid, timestamps, names, managedFields.

What the real server fills in on create and keeps on update, so objects
read back from the stand-in look like objects read from a cluster.
"""

import datetime
import json
import random
import re
import uuid

from . import errors

_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# generateName suffixes avoid vowels and look-alikes, as the real server's.
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

# Fields the server sets; a client's values for them are ignored on create.
SERVER_SET = ("uid", "resourceVersion", "creationTimestamp", "generation",
              "managedFields", "selfLink", "deletionTimestamp",
              "deletionGracePeriodSeconds")


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def check_name(kind, obj, dns1035, rng):
    """Fills a generated name in, then validates the name (422 if bad)."""
    metadata = obj["metadata"]
    if not metadata.get("name") and metadata.get("generateName"):
        metadata["name"] = metadata["generateName"] + "".join(
            rng.choice(_SUFFIX_ALPHABET) for _ in range(5))
    name = metadata.get("name") or ""
    if not name:
        raise errors.invalid(kind, "", [
            ("metadata.name",
             "Required value: name or generateName is required")
        ])
    if dns1035 and (len(name) > 63 or not _DNS1035.match(name)):
        raise errors.invalid(kind, name, [(
            "metadata.name",
            f'Invalid value: "{name}": a DNS-1035 label must consist of lower '
            "case alphanumeric characters or '-', start with an alphabetic "
            "character, and end with an alphanumeric character (e.g. "
            "'my-name',  or 'abc-123', regex used for validation is "
            "'[a-z]([-a-z0-9]*[a-z0-9])?')")])
    if not dns1035 and (len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name)):
        raise errors.invalid(kind, name, [(
            "metadata.name",
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must '
            "consist of lower case alphanumeric characters, '-' or '.', and "
            "must start and end with an alphanumeric character (e.g. "
            "'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?"
            "(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )])


def fill_on_create(obj):
    metadata = obj["metadata"]
    for field in SERVER_SET:
        metadata.pop(field, None)
    metadata["uid"] = str(uuid.uuid4())
    metadata["creationTimestamp"] = now()


def keep_on_update(new, old):
    """The metadata a client cannot change by PUT: uid, creation time, ..."""
    metadata, was = new["metadata"], old["metadata"]
    for field in ("uid", "creationTimestamp", "generation",
                  "deletionTimestamp", "deletionGracePeriodSeconds"):
        if field in was:
            metadata[field] = was[field]
        else:
            metadata.pop(field, None)
    metadata.pop("selfLink", None)
    if "managedFields" not in metadata and "managedFields" in was:
        metadata["managedFields"] = was["managedFields"]


# List fields that are maps keyed by these members in server-side apply
# (the +listMapKey markers of the API types); other lists are atomic.
_LIST_MAP_KEYS = {
    ("spec", "ports"): ("port", "protocol"),
    ("status", "conditions"): ("type",),
    ("status", "addresses"): ("type",),
}
# Maps whose own presence is tracked ("." entry) besides their keys.
_TRACKED_MAPS = {"labels", "annotations", "selector", "capacity",
                 "allocatable", "nodeInfo"}


def _fields(value, path):
    """The fieldsV1 tree of `value`: which fields an update set."""
    tree = {}
    if path and path[-1] in _TRACKED_MAPS:
        tree["."] = {}
    for key, member in value.items():
        sub = path + (key,)
        if isinstance(member, dict) and member:
            tree[f"f:{key}"] = _fields(member, sub)
        elif isinstance(member, list) and sub[-2:] in _LIST_MAP_KEYS:
            entries = {}
            for item in member:
                if not isinstance(item, dict):
                    continue
                ident = {k: item[k] for k in _LIST_MAP_KEYS[sub[-2:]]
                         if k in item}
                inner = _fields(item, sub + ("[]",))
                inner["."] = {}
                entries["k:" + _compact_json(ident)] = inner
            tree[f"f:{key}"] = entries
        else:
            tree[f"f:{key}"] = {}
    return tree


def _compact_json(value):
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def record_manager(obj, manager, api_version, subresource=None):
    """Adds the managedFields entry of this write (Update operation)."""
    metadata = obj["metadata"]
    if subresource:
        owned = {"f:status": _fields(obj.get("status") or {}, ("status",))}
    else:
        owned = {}
        kept = {k: v for k, v in metadata.items()
                if k in ("labels", "annotations", "ownerReferences",
                         "finalizers")}
        if kept:
            owned["f:metadata"] = _fields(kept, ("metadata",))
        for key, member in obj.items():
            if key in ("apiVersion", "kind", "metadata", "status"):
                continue
            if isinstance(member, dict):
                if member:
                    owned[f"f:{key}"] = _fields(member, (key,))
            else:
                owned[f"f:{key}"] = {}
    entry = {
        "manager": manager,
        "operation": "Update",
        "apiVersion": api_version,
        "time": now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": owned,
    }
    if subresource:
        entry["subresource"] = subresource
    entries = [
        e for e in metadata.get("managedFields") or []
        if (e.get("manager"), e.get("operation"),
            e.get("subresource")) != (manager, "Update", subresource)
    ]
    entries.append(entry)
    metadata["managedFields"] = entries


_METADATA_ORDER = ("name", "generateName", "namespace", "uid",
                   "resourceVersion", "generation", "creationTimestamp",
                   "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
                   "annotations", "ownerReferences", "finalizers",
                   "managedFields")


def canonical_order(obj):
    """Orders keys as the real server's JSON does; returns a new dict.

    JSON readers do not care; people comparing captures with a real
    cluster's do.
    """
    metadata = obj.get("metadata") or {}
    ordered_meta = {k: metadata[k] for k in _METADATA_ORDER if k in metadata}
    ordered_meta.update(metadata)
    result = {k: obj[k] for k in ("kind", "apiVersion") if k in obj}
    result["metadata"] = ordered_meta
    result.update({k: v for k, v in obj.items() if k not in result})
    if "status" in result:
        result["status"] = result.pop("status")
    return result


def manager_name(field_manager, user_agent):
    """As the real server: ?fieldManager=, else the User-Agent's product."""
    if field_manager:
        return field_manager
    if user_agent:
        return user_agent.split("/", 1)[0][:128]
    return "unknown"


def new_rng(seed):
    return random.Random(seed)
