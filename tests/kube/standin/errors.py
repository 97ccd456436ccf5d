# SPDX-License-Identifier: Apache-2.0
"""API errors as the real server words them: a metav1 Status object.

Clients branch on `reason` and `code`, and people read `message`, so the
wording follows kube-apiserver's (k8s.io/apimachinery/pkg/api/errors).
"""


class ApiError(Exception):
    """An error answered as a Status with the given HTTP code."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        return failure_status(self.code, self.reason, self.message,
                              self.details)


def failure_status(code, reason, message, details=None):
    # Key order as the real server writes it (details before code): clients
    # do not care, people diffing captures do.
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = details
    body["code"] = code
    return body


def not_found(resource, name):
    return ApiError(404, "NotFound", f'{resource} "{name}" not found',
                    {"name": name, "kind": resource})


def path_not_found():
    return ApiError(404, "NotFound",
                    "the server could not find the requested resource", {})


def already_exists(resource, name):
    return ApiError(409, "AlreadyExists",
                    f'{resource} "{name}" already exists',
                    {"name": name, "kind": resource})


def conflict(resource, name):
    return ApiError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {resource} "{name}": the object '
        "has been modified; please apply your changes to the latest version "
        "and try again", {"name": name, "kind": resource})


def invalid(kind, name, causes):
    """A 422 for `kind` (singular, capitalised) with (field, text) causes.

    Each text is the part after the field, as in "Invalid value: ...".
    """
    summary = ", ".join(f"{field}: {text}" for field, text in causes)
    return ApiError(
        422, "Invalid", f'{kind} "{name}" is invalid: {summary}', {
            "name": name,
            "kind": kind,
            "causes": [{
                "reason": _cause_reason(text),
                "message": text,
                "field": field
            } for field, text in causes],
        })


def _cause_reason(text):
    for prefix, reason in (("Required value", "FieldValueRequired"),
                           ("Duplicate value", "FieldValueDuplicate"),
                           ("Unsupported value", "FieldValueNotSupported"),
                           ("Forbidden", "FieldValueForbidden")):
        if text.startswith(prefix):
            return reason
    return "FieldValueInvalid"


def bad_request(message):
    return ApiError(400, "BadRequest", message)


def expired(message):
    return ApiError(410, "Expired", message)


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def method_not_allowed(method):
    return ApiError(405, "MethodNotAllowed",
                    "the server does not allow this method on the "
                    "requested resource", {})


def unsupported_media_type(content_type):
    return ApiError(415, "UnsupportedMediaType",
                    f'the body of the request was in an unknown format '
                    f'({content_type}) - accepted media types include: '
                    'application/json-patch+json, '
                    'application/merge-patch+json, '
                    'application/strategic-merge-patch+json')


def too_large_resource_version(asked, current):
    return ApiError(
        504, "Timeout",
        f"Too large resource version: {asked}, current: {current}", {
            "causes": [{
                "reason": "ResourceVersionTooLarge",
                "message": "Too large resource version"
            }],
            "retryAfterSeconds": 1
        })


# For /standin/fail: what the real server answers with these codes.
_REASON_BY_CODE = {
    429: ("TooManyRequests", "Too many requests, please try again later."),
    500: ("InternalError", "Internal error occurred: injected by the stand-in"),
    503: ("ServiceUnavailable", "The server is currently unable to handle "
          "the request"),
    504: ("Timeout", "The server was unable to return a response in the time "
          "allotted, but may still be processing the request"),
}


def injected(code):
    reason, message = _REASON_BY_CODE.get(code,
                                          ("InternalError", "injected error"))
    headers = {"Retry-After": "1"} if code in (429, 503) else {}
    details = {"retryAfterSeconds": 1} if code in (429, 503) else None
    return ApiError(code, reason, message, details, headers)
