# SPDX-License-Identifier: Apache-2.0
"""Label and field selectors, parsed as the real server parses them.

A selector is parsed once per request into a predicate over objects; bad
syntax is a 400 with the real server's wording, so a client that builds a
selector wrongly finds out here and not only against a real cluster.
"""

import re

from . import errors

_KEY = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?/)?"
                  r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def _split_top_level(text):
    """Splits on commas that are not inside parentheses."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _check_key(key, text):
    if len(key) > 316 or not _KEY.match(key):
        raise errors.bad_request(
            f"unable to parse requirement: invalid label key \"{key}\": "
            f"name part must consist of alphanumeric characters, '-', '_' or "
            f"'.', and must start and end with an alphanumeric character "
            f"(in selector \"{text}\")")


def _check_value(value, text):
    if len(value) > 63 or not _VALUE.match(value):
        raise errors.bad_request(
            f"unable to parse requirement: invalid label value: \"{value}\": "
            f"a valid label must be an empty string or consist of "
            f"alphanumeric characters, '-', '_' or '.' "
            f"(in selector \"{text}\")")


def _requirement(part, whole):
    """One requirement as a predicate over a labels dict."""
    part = part.strip()
    if not part:
        raise errors.bad_request(
            f"unable to parse requirement: found '', expected: identifier "
            f"(in selector \"{whole}\")")
    match = re.match(r"^(\S+)\s+(in|notin)\s*\((.*)\)$", part)
    if match:
        key, op, values = match.group(1), match.group(2), {
            v.strip() for v in match.group(3).split(",")
        }
        _check_key(key, whole)
        for v in values:
            _check_value(v, whole)
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if part.startswith("!"):
        key = part[1:].strip()
        _check_key(key, whole)
        return lambda labels: key not in labels
    for op in ("!=", "==", "=", ">", "<"):
        if op in part:
            key, value = (s.strip() for s in part.split(op, 1))
            _check_key(key, whole)
            if op in (">", "<"):
                try:
                    bound = int(value)
                except ValueError:
                    raise errors.bad_request(
                        f"unable to parse requirement: for 'Gt', 'Lt' "
                        f"operators, the value must be an integer "
                        f"(in selector \"{whole}\")") from None
                return _numeric(key, op, bound)
            _check_value(value, whole)
            if op == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    _check_key(part, whole)
    return lambda labels: part in labels


def _numeric(key, op, bound):

    def test(labels):
        try:
            n = int(labels[key])
        except (KeyError, ValueError):
            return False
        return n > bound if op == ">" else n < bound

    return test


def label_selector(text):
    """A predicate over an object's labels; everything matches ''."""
    if text is None or text.strip() == "":
        return lambda obj: True
    tests = [_requirement(p, text) for p in _split_top_level(text)]

    def matches(obj):
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(t(labels) for t in tests)

    return matches


def field_selector(text, supported, fields_of):
    """A predicate over an object's selectable fields.

    `supported` names the fields this kind can be selected by and
    `fields_of(obj)` gives their values as strings; a field outside them is a
    400, as on the real server.
    """
    if text is None or text.strip() == "":
        return lambda obj: True
    tests = []
    for part in text.split(","):
        part = part.strip()
        for op in ("!=", "==", "="):
            if op in part:
                field, value = (s.strip() for s in part.split(op, 1))
                break
        else:
            raise errors.bad_request(
                f"invalid selector: '{text}'; can't understand '{part}'")
        tests.append((field, op, value))
    for field, _, _ in tests:
        if field not in supported:
            raise errors.bad_request(f"field label not supported: {field}")

    def matches(obj):
        have = fields_of(obj)
        for field, op, value in tests:
            equal = have.get(field, "") == value
            if equal != (op != "!="):
                return False
        return True

    return matches
