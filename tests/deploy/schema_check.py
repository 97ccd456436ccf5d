# SPDX-License-Identifier: Apache-2.0
"""Checks a Kubernetes object, as loaded from YAML, against the schema of the
official Python client's models, which are generated from the Kubernetes
OpenAPI document: every key a known field, every value of its field's type,
every required field present.

Fields and types come from each model's attribute_map and openapi_types;
required fields from building the model objects with client-side validation
on, whose setters refuse a missing required field. Nothing here talks to a
cluster.
"""

import re

import kubernetes.client as k8s

_LIST = re.compile(r"^list\[(.+)\]$")
_DICT = re.compile(r"^dict\(([^,]+), (.+)\)$")
_MISSING = re.compile(r"Invalid value for `(\w+)`, must not be `None`")


def model_for(api_version, kind):
    """The client's model class for apiVersion/kind (apps/v1 DaemonSet ->
    V1DaemonSet), or None when the client has none."""
    if not isinstance(api_version, str) or not isinstance(kind, str):
        return None
    version = api_version.rsplit("/", 1)[-1]
    if not version:
        return None
    cls = getattr(k8s, version[0].upper() + version[1:] + kind, None)
    return cls if hasattr(cls, "openapi_types") else None


def _join(path, key):
    return f"{path}.{key}" if path else key


def _type_name(value):
    return "null" if value is None else type(value).__name__


class SchemaChecker:
    """Walks one document; errors collects "path: what is wrong" lines."""

    def __init__(self):
        self._config = k8s.Configuration()
        # The default already, but the check depends on it: say so.
        self._config.client_side_validation = True
        self.errors = []
        self._where = ""

    def check_document(self, doc, where):
        """Checks a whole object; returns its errors (also in self.errors)."""
        before = len(self.errors)
        self._where = where
        if not isinstance(doc, dict):
            self._error("", f"a document must be a mapping, not {_type_name(doc)}")
            return self.errors[before:]
        cls = model_for(doc.get("apiVersion"), doc.get("kind"))
        if cls is None:
            self._error(
                "",
                f"no model for apiVersion {doc.get('apiVersion')!r} kind "
                f"{doc.get('kind')!r} in the Kubernetes client",
            )
            return self.errors[before:]
        self._value(doc, cls.__name__, "")
        return self.errors[before:]

    def _error(self, path, message):
        self.errors.append(f"{self._where}: {path + ': ' if path else ''}{message}")

    def _value(self, value, type_name, path):
        """Checks value against an openapi_types entry; returns what to hand
        the enclosing model's constructor."""
        if value is None:
            # YAML's "key:" with nothing after it: the API server drops it,
            # so whatever was meant is lost.
            self._error(path, f"null value (expected {type_name})")
            return None
        if m := _LIST.match(type_name):
            if not isinstance(value, list):
                self._error(path, f"expected a list of {m[1]}, got {_type_name(value)}")
                return value
            return [self._value(v, m[1], f"{path}[{i}]") for i, v in enumerate(value)]
        if m := _DICT.match(type_name):
            if not isinstance(value, dict):
                self._error(path, f"expected a mapping of {m[2]}, got {_type_name(value)}")
                return value
            out = {}
            for key, v in value.items():
                if not isinstance(key, str):
                    self._error(path, f"key {key!r} is not a string")
                out[key] = self._value(v, m[2], _join(path, key))
            return out
        primitive = self._primitive(value, type_name, path)
        if primitive is not NotImplemented:
            return primitive
        cls = getattr(k8s, type_name, None)
        if cls is None or not hasattr(cls, "openapi_types"):
            self._error(path, f"the client has no type {type_name}")
            return value
        return self._model(value, cls, path)

    def _primitive(self, value, type_name, path):
        """Checks a scalar type; NotImplemented when type_name is a model."""
        if type_name == "str" or type_name in ("datetime", "date"):
            ok = isinstance(value, str)
        elif type_name == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif type_name == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif type_name == "bool":
            ok = isinstance(value, bool)
        elif type_name == "object":
            # The client types IntOrString (ports, maxUnavailable...) as a
            # bare object: a number or a string, never a structure.
            ok = isinstance(value, (int, str)) and not isinstance(value, bool)
            type_name = "int or string"
        else:
            return NotImplemented
        if not ok:
            self._error(path, f"expected {type_name}, got {_type_name(value)} {value!r}")
        return value

    def _model(self, value, cls, path):
        if not isinstance(value, dict):
            self._error(path, f"expected a {cls.__name__} mapping, got {_type_name(value)}")
            return value
        field_of = {json: attr for attr, json in cls.attribute_map.items()}
        kwargs = {}
        for key, v in value.items():
            attr = field_of.get(key)
            if attr is None:
                self._error(_join(path, key), f"unknown field of {cls.__name__}")
                continue
            checked = self._value(v, cls.openapi_types[attr], _join(path, key))
            # A wrong value is reported once, here: pass it on as it is
            # (never None) so the constructor does not report it missing.
            kwargs[attr] = checked
        try:
            return cls(local_vars_configuration=self._config, **kwargs)
        except (ValueError, TypeError) as e:
            message = str(e)
            if m := _MISSING.search(message):
                json = cls.attribute_map.get(m[1], m[1])
                self._error(_join(path, json), f"required field of {cls.__name__} is missing")
            else:
                self._error(path, f"{cls.__name__}: {message}")
            return value
