# SPDX-License-Identifier: Apache-2.0
"""The REST verbs over the store: list, get, create, update, patch, delete.

No HTTP here: each verb takes the parsed request and returns (code, body)
or raises errors.ApiError. The semantics follow kube-apiserver: which
resourceVersion a list is served at, how pages continue, optimistic
concurrency on update, no-op updates that write nothing, DELETE answering
the deleted object.
"""

import base64
import copy
import json
import time

from . import errors
from . import meta
from . import patch as patches
from . import selectors
from .store import Store

# How long a request for a resourceVersion the store has not reached yet
# waits before the 504 "Too large resource version" (the real server: 3 s).
_FUTURE_RV_WAIT = 3.0

_EXPIRED_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list "
    "result. You can start a new list without the continue parameter, or use "
    "the continue token in this response to retrieve the remainder of the "
    "results. Continuing with the provided token results in an inconsistent "
    "list - objects that were created, modified, or deleted between the time "
    "the first chunk was returned and now may show up in the list.")


def object_key(kind, namespace, name):
    return f"{namespace}/{name}" if kind.namespaced else name


def encode_continue(rv, last_key):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv,
                      "start": last_key + "\x00"},
                     separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_continue(token):
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data.get("v") != "meta.k8s.io/v1":
            raise ValueError("unknown version")
        return int(data["rv"]), str(data["start"])
    except (ValueError, KeyError, TypeError) as e:
        raise errors.bad_request(f"continue key is not valid: {e}") from None


class Api:
    """The API's state and verbs; every method takes the store's lock."""

    def __init__(self, allocator, rng, history_limit=0):
        self.store = Store(history_limit)
        self.allocator = allocator
        self.rng = rng
        self.future_rv_wait = _FUTURE_RV_WAIT

    # --- reading ------------------------------------------------------------

    def matcher(self, kind, query):
        by_label = selectors.label_selector(query.get("labelSelector"))
        by_field = selectors.field_selector(query.get("fieldSelector"),
                                            kind.field_names, kind.fields)
        return lambda obj: by_label(obj) and by_field(obj)

    def _wait_for_rv(self, rv):
        """Waits (lock held) until the store reaches `rv`; 504 if it won't."""
        deadline = time.monotonic() + self.future_rv_wait
        while self.store.rv < rv:
            left = deadline - time.monotonic()
            if left <= 0:
                raise errors.too_large_resource_version(rv, self.store.rv)
            self.store.cond.wait(left)

    def list(self, kind, namespace, query):
        matches = self.matcher(kind, query)
        limit = _non_negative_int(query.get("limit"), "limit")
        token = query.get("continue") or ""
        asked_rv = query.get("resourceVersion") or ""
        rv_match = query.get("resourceVersionMatch") or ""
        if rv_match and rv_match not in ("Exact", "NotOlderThan"):
            raise errors.bad_request(
                f'resourceVersionMatch: Unsupported value: "{rv_match}"')
        if rv_match and not asked_rv:
            raise errors.bad_request(
                "resourceVersionMatch is forbidden unless resourceVersion is "
                "provided")
        prefix = f"{namespace}/" if namespace else ""
        with self.store.cond:
            start = ""
            if token:
                if asked_rv and asked_rv != "0":
                    raise errors.bad_request(
                        "specifying resource version is not allowed when "
                        "using continue")
                list_rv, start = decode_continue(token)
                if list_rv == 0:
                    # The token a 410 hands out: the rest of the list as it
                    # is now, knowingly inconsistent with the first pages.
                    list_rv = self.store.rv
                if list_rv < self.store.compacted_rv:
                    err = errors.expired(_EXPIRED_CONTINUE)
                    err.list_continue = encode_continue(0, start[:-1])
                    raise err
                items = self.store.snapshot(kind.resource, list_rv)
            elif asked_rv in ("", "0"):
                # "0" is served from the watch cache on the real server,
                # which ignores limit: the whole list in one answer.
                if asked_rv == "0":
                    limit = 0
                list_rv = self.store.rv
                items = self.store.items(kind.resource)
            else:
                wanted = _resource_version(asked_rv)
                self._wait_for_rv(wanted)
                exact = rv_match == "Exact" or (limit and not rv_match)
                if exact:
                    if wanted < self.store.compacted_rv:
                        raise errors.expired(
                            "The resourceVersion for the provided list is "
                            "too old.")
                    list_rv = wanted
                    items = self.store.snapshot(kind.resource, wanted)
                else:
                    list_rv = self.store.rv
                    items = self.store.items(kind.resource)
        in_scope = [(k, o) for k, o in items
                    if k.startswith(prefix) and k > start]
        page, last_key, more = [], None, 0
        for i, (key, obj) in enumerate(in_scope):
            if limit and len(page) == limit:
                more = len(in_scope) - i
                break
            last_key = key
            if matches(obj):
                page.append(obj)
        list_meta = {"resourceVersion": str(list_rv)}
        if more:
            list_meta["continue"] = encode_continue(list_rv, last_key)
            if not query.get("labelSelector") and \
                    not query.get("fieldSelector"):
                list_meta["remainingItemCount"] = more
        return 200, {
            "kind": kind.list_kind,
            "apiVersion": kind.api_version,
            "metadata": list_meta,
            # Items of a typed list carry no kind/apiVersion, as on the
            # real server's JSON.
            "items": [_without_type(o) for o in page],
        }

    def get(self, kind, namespace, name):
        with self.store.cond:
            obj = self.store.get(kind.resource,
                                 object_key(kind, namespace, name))
        if obj is None:
            raise errors.not_found(kind.resource, name)
        return 200, _with_type(kind, obj)

    # --- writing ------------------------------------------------------------

    def _check_body(self, kind, namespace, name, obj):
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request was not a JSON "
                                     "object")
        if obj.get("kind") and obj["kind"] != kind.kind:
            raise errors.bad_request(
                f"the API version in the data ({obj.get('apiVersion')}) does "
                f"not match the expected API version ({kind.api_version})"
                if obj.get("apiVersion") != kind.api_version else
                f'{kind.kind} in version "{kind.version}" cannot be handled '
                f"as a {obj['kind']}")
        metadata = obj.setdefault("metadata", {})
        if metadata is None:
            obj["metadata"] = metadata = {}
        if not isinstance(metadata, dict):
            raise errors.bad_request(
                "json: cannot unmarshal into Go struct field "
                f"{kind.kind}.metadata of type v1.ObjectMeta")
        if kind.namespaced:
            if metadata.get("namespace") and \
                    metadata["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the "
                    "namespace sent on the request")
            metadata["namespace"] = namespace
        else:
            metadata.pop("namespace", None)
        if name is not None and metadata.get("name") != name:
            raise errors.bad_request(
                f"the name of the object ({metadata.get('name')}) does not "
                f"match the name on the URL ({name})")
        obj["kind"] = kind.kind
        obj["apiVersion"] = kind.api_version

    def create(self, kind, namespace, obj, manager, keep_status=False):
        self._check_body(kind, namespace, None, obj)
        if obj["metadata"].get("resourceVersion") and not keep_status:
            raise errors.ApiError(
                500, "InternalError",
                "Internal error occurred: resourceVersion should not be set "
                "on objects to be created", {
                    "causes": [{
                        "message": "resourceVersion should not be set on "
                                   "objects to be created"
                    }]
                })
        meta.check_name(kind.kind, obj, kind.dns1035_names, self.rng)
        key = object_key(kind, namespace, obj["metadata"]["name"])
        with self.store.cond:
            if self.store.get(kind.resource, key) is not None:
                raise errors.already_exists(kind.resource,
                                            obj["metadata"]["name"])
            meta.fill_on_create(obj)
            status = obj.get("status")
            kind.prepare_create(obj, self.allocator)
            meta.record_manager(obj, manager, kind.api_version)
            stored = self.store.put(kind.resource, key, obj)
            if keep_status and status and kind.has_status and \
                    obj.get("status") != status:
                # As a cluster's controllers would: the status they wrote
                # after creation (a load balancer's ingress, say).
                with_status = copy.deepcopy(stored)
                with_status["status"] = status
                meta.record_manager(with_status, manager, kind.api_version,
                                    "status")
                stored = self.store.put(kind.resource, key, with_status)
        return 201, _with_type(kind, stored)

    def update(self, kind, namespace, name, obj, manager, subresource=None):
        self._check_body(kind, namespace, name, obj)
        key = object_key(kind, namespace, name)
        with self.store.cond:
            old = self.store.get(kind.resource, key)
            if old is None:
                raise errors.not_found(kind.resource, name)
            return self._update_locked(kind, key, old, obj, manager,
                                       subresource)

    def _update_locked(self, kind, key, old, obj, manager, subresource):
        name = old["metadata"]["name"]
        asked_rv = obj["metadata"].get("resourceVersion")
        if asked_rv and asked_rv != old["metadata"]["resourceVersion"]:
            raise errors.conflict(kind.resource, name)
        if subresource == "status":
            obj = kind.prepare_status_update(obj, old)
        else:
            meta.keep_on_update(obj, old)
            kind.prepare_update(obj, old, self.allocator)
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if _same_object(obj, old):
            # A write that changes nothing is not written: no new
            # resourceVersion, no watch event (as the real server).
            return 200, _with_type(kind, old)
        meta.record_manager(obj, manager, kind.api_version, subresource)
        return 200, _with_type(kind, self.store.put(kind.resource, key, obj))

    def patch(self, kind, namespace, name, body, content_type, manager,
              subresource=None):
        key = object_key(kind, namespace, name)
        try:
            document = json.loads(body or b"null")
        except ValueError as e:
            raise errors.bad_request(f"error decoding patch: {e}") from None
        with self.store.cond:
            old = self.store.get(kind.resource, key)
            if old is None:
                raise errors.not_found(kind.resource, name)
            current = _with_type(kind, old)
            if content_type == "application/json-patch+json":
                patched = patches.json_patch(current, document)
            elif content_type in ("application/merge-patch+json",
                                  "application/strategic-merge-patch+json"):
                if not isinstance(document, dict):
                    raise errors.bad_request(
                        "error decoding patch: a merge patch must be a JSON "
                        "object")
                patched = patches.merge_patch(current, document)
            else:
                raise errors.unsupported_media_type(content_type)
            # A patch that sets metadata.resourceVersion asks for optimistic
            # concurrency; one that does not is applied to the current state.
            sets_rv = _sets_resource_version(document)
            if not sets_rv:
                patched.setdefault("metadata", {})["resourceVersion"] = \
                    old["metadata"]["resourceVersion"]
            self._check_body(kind, namespace, name, patched)
            return self._update_locked(kind, key, old, patched, manager,
                                       subresource)

    def delete(self, kind, namespace, name, options):
        key = object_key(kind, namespace, name)
        with self.store.cond:
            old = self.store.get(kind.resource, key)
            if old is None:
                raise errors.not_found(kind.resource, name)
            pre = (options or {}).get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise errors.ApiError(
                    409, "Conflict",
                    f"Operation cannot be fulfilled on {kind.resource} "
                    f'"{name}": Precondition failed: UID in precondition: '
                    f"{pre['uid']}, UID in object meta: "
                    f"{old['metadata']['uid']}",
                    {"name": name, "kind": kind.resource})
            current_rv = old["metadata"]["resourceVersion"]
            if pre.get("resourceVersion") and \
                    pre["resourceVersion"] != current_rv:
                raise errors.conflict(kind.resource, name)
            kind.on_delete(old, self.allocator)
            last = copy.deepcopy(old)
            self.store.delete(kind.resource, key, last)
        return 200, _with_type(kind, last)

    def delete_collection(self, kind, namespace, query, options):
        matches = self.matcher(kind, query)
        prefix = f"{namespace}/" if namespace else ""
        deleted = []
        with self.store.cond:
            for key, obj in self.store.items(kind.resource):
                if key.startswith(prefix) and matches(obj):
                    kind.on_delete(obj, self.allocator)
                    last = copy.deepcopy(obj)
                    self.store.delete(kind.resource, key, last)
                    deleted.append(_without_type(last))
            rv = self.store.rv
        return 200, {
            "kind": kind.list_kind,
            "apiVersion": kind.api_version,
            "metadata": {"resourceVersion": str(rv)},
            "items": deleted,
        }


def _non_negative_int(text, field):
    if text in (None, ""):
        return 0
    try:
        value = int(text)
    except ValueError:
        raise errors.bad_request(f"{field}: Invalid value: {text!r}") from None
    return max(value, 0)


def _resource_version(text):
    try:
        value = int(text)
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        raise errors.bad_request(
            f'resourceVersion: Invalid value: "{text}": must be a positive '
            "integer") from None


def _sets_resource_version(document):
    if isinstance(document, dict):
        return bool((document.get("metadata") or {}).get("resourceVersion"))
    if isinstance(document, list):
        return any(
            isinstance(op, dict) and op.get("path") ==
            "/metadata/resourceVersion" and op.get("op") in ("add", "replace")
            for op in document)
    return False


def _same_object(new, old):
    """Equal but for managedFields (which a no-op write does not touch)."""
    def essence(obj):
        return ({k: v for k, v in obj.items() if k != "metadata"},
                {k: v for k, v in obj["metadata"].items()
                 if k != "managedFields"})

    return essence(new) == essence(old)


def _with_type(kind, obj):
    return {"kind": kind.kind, "apiVersion": kind.api_version,
            **{k: v for k, v in obj.items()
               if k not in ("kind", "apiVersion")}}


def _without_type(obj):
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
