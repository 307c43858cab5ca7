"""The Kubernetes wire format of the suite's objects, shared by the kube client and our server.

Objects travel as v1 ConfigMaps: ``namespace``/``name`` in ``metadata``, labels in
``metadata.labels``, the value in ``data["value"]`` and the RV as the decimal string
``metadata.resourceVersion``. Watch events are ``{"type": T, "object": ...}`` documents,
one per line; a BOOKMARK object carries only ``metadata.resourceVersion`` (plus the
``k8s.io/initial-events-end: "true"`` annotation at the end of a streaming list); an
ERROR object is a ``Status``. Every error response is a ``Status`` with ``code``,
``reason`` and ``message``.

Functions here are pure conversions; which namespaces and labels a client adds or strips
is the caller's business.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from listwatch_conformance.sut.api import (
    AlreadyExists,
    Conflict,
    Event,
    EventType,
    Expired,
    ListWatchError,
    NotFound,
    Object,
)

INITIAL_EVENTS_END = "k8s.io/initial-events-end"
# Our server only, NOT Kubernetes API: capabilities, compact and progress of the backend it serves.
EXTENSION = "/listwatch-conformance/v1"
VALUE_KEY = "value"


class WireError(Exception):
    """The other side sent something this protocol does not allow; the message names it."""


def parse_rv(text: object, where: str) -> int:
    """A wire RV (a decimal string) as an int; anything else is refused with a clear error."""
    if isinstance(text, str) and text.isascii() and text.isdigit():
        return int(text)
    raise WireError(f"{where}: resourceVersion {text!r} is not a decimal integer string; this suite "
                    "compares RVs by order and only supports servers whose RVs are integers")


def configmap(obj_namespace: str, name: str, labels: Mapping[str, str], value: str,
              rv: int | None = None) -> dict[str, Any]:
    """The ConfigMap JSON for one object state (``rv=None``: none, as in a create request)."""
    meta: dict[str, Any] = {"name": name, "namespace": obj_namespace}
    if labels:
        meta["labels"] = dict(labels)
    if rv is not None:
        meta["resourceVersion"] = str(rv)
    return {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta, "data": {VALUE_KEY: value}}


def object_to_configmap(obj: Object) -> dict[str, Any]:
    return configmap(obj.namespace, obj.name, obj.labels, obj.value, obj.rv)


def configmap_fields(doc: object, where: str) -> tuple[str, str, dict[str, str], str, int]:
    """(namespace, name, labels, value, rv) of a ConfigMap document, validated."""
    if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
        raise WireError(f"{where}: expected a ConfigMap object, got {_short(doc)}")
    meta = doc["metadata"]
    namespace, name = meta.get("namespace"), meta.get("name")
    labels = meta.get("labels") or {}
    data = doc.get("data") or {}
    if not isinstance(namespace, str) or not isinstance(name, str) or not isinstance(labels, dict) \
            or not isinstance(data, dict):
        raise WireError(f"{where}: malformed ConfigMap {_short(doc)}")
    value = data.get(VALUE_KEY, "")
    if not isinstance(value, str) or not all(isinstance(k, str) and isinstance(v, str) for k, v in labels.items()):
        raise WireError(f"{where}: malformed ConfigMap {_short(doc)}")
    return namespace, name, dict(labels), value, parse_rv(meta.get("resourceVersion"), where)


def status(code: int, reason: str, message: str, **extra: Any) -> dict[str, Any]:
    """A ``Status`` object as the apiserver writes it for a failure."""
    doc = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code}
    doc.update(extra)
    return doc


def error_status(exc: ListWatchError) -> dict[str, Any]:
    """The Status (code, reason) a contract error is sent as."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, Expired):
        return status(410, "Expired", message)
    if isinstance(exc, NotFound):
        return status(404, "NotFound", message)
    if isinstance(exc, AlreadyExists):
        return status(409, "AlreadyExists", message)
    if isinstance(exc, Conflict):
        return status(409, "Conflict", message)
    if "too large resource version" in message.lower():
        return status(504, "Timeout", message)
    return status(400, "BadRequest", message)


def status_error(code: int, doc: object, where: str) -> Exception:
    """The exception a client raises for an error response ``code`` with body ``doc``.

    Contract errors (410, 404, 409, 400, 422, 504) become the matching ListWatchError;
    anything else (401, 403, 500...) is trouble outside the contract, a plain WireError.
    """
    reason = message = ""
    if isinstance(doc, dict):
        reason, message = str(doc.get("reason", "")), str(doc.get("message", ""))
    text = f"{where}: HTTP {code} {reason}: {message}".rstrip(": ")
    if code == 410:
        return Expired(text)
    if code == 404:
        return NotFound(text)
    if code == 409:
        return AlreadyExists(text) if reason == "AlreadyExists" else Conflict(text)
    if code in (400, 422, 504):
        return ListWatchError(text)
    return WireError(text)


def event_line(event: Event) -> bytes:
    """One watch event as a JSON line terminated by ``\\n``."""
    if event.type is EventType.BOOKMARK:
        meta: dict[str, Any] = {"resourceVersion": str(event.rv)}
        if event.initial_events_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        obj: dict[str, Any] = {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta}
    else:
        obj = object_to_configmap(event.object)
    return json_line({"type": event.type.value, "object": obj})


def error_line(doc: dict[str, Any]) -> bytes:
    return json_line({"type": "ERROR", "object": doc})


def json_line(doc: object) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode() + b"\n"


def parse_event(line: bytes, where: str) -> tuple[str, dict[str, Any]]:
    """(type, object) of one watch line; the type is checked, the object is left to the caller."""
    try:
        doc = json.loads(line)
    except ValueError:
        raise WireError(f"{where}: watch line is not JSON: {_short(line)}") from None
    if not isinstance(doc, dict) or doc.get("type") not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR") \
            or not isinstance(doc.get("object"), dict):
        raise WireError(f"{where}: not a watch event: {_short(line)}")
    return doc["type"], doc["object"]


def is_initial_events_end(obj: Mapping[str, Any]) -> bool:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    return annotations.get(INITIAL_EVENTS_END) == "true"


def _short(doc: object, limit: int = 200) -> str:
    text = doc.decode(errors="replace") if isinstance(doc, bytes) else repr(doc)
    return text if len(text) <= limit else text[:limit] + "..."
