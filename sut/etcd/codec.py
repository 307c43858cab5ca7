"""The edge between etcd's bytes and the contract's values, as the apiserver's etcd3 store has it.

- Keys: ``<prefix><namespace>/<name>``, where the prefix is unique per backend instance, so a
  namespace's objects are the key range of ``<prefix><namespace>/`` (``ns1/`` never covers
  ``ns10/``) and all objects are the range of ``<prefix>``.
- Values: JSON ``{"namespace", "name", "labels", "value"}``; an object's RV is its key's
  ``mod_revision`` (for a delete event, the delete's revision).
- Watch events become contract events through the transition table (listwatch_conformance.sut.filtering.transition),
  computed from etcd's ``prev_kv``.
- Continue tokens encode the snapshot revision and the last key returned.
"""

from __future__ import annotations

import base64
import binascii
import json

from listwatch_conformance.sut.api import ListWatchError, Object


def prefix_end(prefix: bytes) -> bytes:
    """The range end that makes ``[prefix, end)`` cover every key starting with ``prefix``."""
    end = bytearray(prefix)
    while end:
        if end[-1] < 0xFF:
            end[-1] += 1
            return bytes(end)
        end.pop()
    return b"\0"


def object_key(prefix: bytes, namespace: str, name: str) -> bytes:
    return prefix + f"{namespace}/{name}".encode()


def scope(prefix: bytes, namespace: str | None) -> tuple[bytes, bytes]:
    """The key range ``[key, range_end)`` holding the objects of ``namespace`` (None: all)."""
    start = prefix if namespace is None else prefix + f"{namespace}/".encode()
    return start, prefix_end(start)


def encode_value(namespace: str, name: str, labels, value: str) -> bytes:
    return json.dumps({"namespace": namespace, "name": name, "labels": dict(labels), "value": value},
                      sort_keys=True, separators=(",", ":")).encode()


def decode(kv, rv: int | None = None) -> Object:
    """The Object stored in ``kv`` (an etcd KeyValue); ``rv`` overrides its mod_revision."""
    try:
        data = json.loads(kv.value)
        return Object(data["namespace"], data["name"], data["labels"], data["value"],
                      kv.mod_revision if rv is None else rv)
    except (ValueError, KeyError, TypeError) as exc:
        raise ListWatchError(f"etcd key {kv.key!r} holds a value this backend did not write: {exc}") from None


def encode_continue(rv: int, last_key: bytes) -> str:
    raw = json.dumps({"rv": rv, "key": base64.b64encode(last_key).decode()}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, bytes]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), base64.b64decode(data["key"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ListWatchError(f"malformed continue token {token!r}") from None
