# SPDX-License-Identifier: Apache-2.0
"""PATCH bodies: JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

Strategic merge patch is applied as a merge patch: lists are replaced whole
instead of merged by key. Clients that send a whole list (as the official
clients do for ports and endpoints) see no difference.
"""

import copy

from . import errors


def merge_patch(target, patch):
    """Returns `target` with the RFC 7386 merge patch applied."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise errors.bad_request(f"invalid JSON pointer: {path!r}")
    return [
        p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")
    ]


def _index(container, token, for_add):
    if token == "-" and for_add:
        return len(container)
    try:
        i = int(token)
    except ValueError:
        raise errors.bad_request(f"invalid array index: {token}") from None
    limit = len(container) + (1 if for_add else 0)
    if i < 0 or i >= limit:
        raise errors.ApiError(
            422, "Invalid", f"the server rejected our request due to an "
            f"error in our request: index {i} out of bounds")
    return i


def _parent(doc, tokens):
    node = doc
    for t in tokens[:-1]:
        if isinstance(node, list):
            node = node[_index(node, t, False)]
        elif isinstance(node, dict) and t in node:
            node = node[t]
        else:
            raise errors.ApiError(
                422, "Invalid", "the server rejected our request due to an "
                "error in our request: doc is missing path: "
                "/" + "/".join(tokens))
    return node


def _get(doc, tokens):
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, list):
        return parent[_index(parent, last, False)]
    if isinstance(parent, dict) and last in parent:
        return parent[last]
    raise errors.ApiError(
        422, "Invalid", "the server rejected our request due to an error in "
        "our request: doc is missing key: /" + "/".join(tokens))


def _remove(doc, tokens):
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, False))
    _get(doc, tokens)
    return parent.pop(last)


def _add(doc, tokens, value):
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    last = tokens[-1]
    if isinstance(parent, list):
        parent.insert(_index(parent, last, True), value)
    elif isinstance(parent, dict):
        parent[last] = value
    else:
        raise errors.bad_request("JSON patch target is not a container")
    return doc


def json_patch(target, operations):
    """Returns `target` with the RFC 6902 operations applied, in order."""
    if not isinstance(operations, list):
        raise errors.bad_request(
            "the server rejected our request due to an error in our request: "
            "json: cannot unmarshal object into Go value of type "
            "jsonpatch.Patch")
    doc = copy.deepcopy(target)
    for op in operations:
        kind = op.get("op")
        tokens = _pointer(op.get("path", ""))
        if kind == "add":
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, tokens)
        elif kind == "replace":
            _get(doc, tokens)
            if tokens:
                _remove(doc, tokens)
            doc = _add(doc, tokens, copy.deepcopy(op.get("value")))
        elif kind == "move":
            value = _remove(doc, _pointer(op.get("from", "")))
            doc = _add(doc, tokens, value)
        elif kind == "copy":
            value = copy.deepcopy(_get(doc, _pointer(op.get("from", ""))))
            doc = _add(doc, tokens, value)
        elif kind == "test":
            if _get(doc, tokens) != op.get("value"):
                raise errors.ApiError(
                    422, "Invalid", "the server rejected our request due to "
                    "an error in our request: testing value " +
                    op.get("path", "") + " failed")
        else:
            raise errors.bad_request(f"Unexpected kind: {kind}")
    return doc
