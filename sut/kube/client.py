"""``KubeBackend``: the backend contract (sut/api.py) over the Kubernetes HTTP API, using ConfigMaps.

Mapping: an Object is a ConfigMap; labels are ``metadata.labels``, the value is
``data["value"]``, the RV is ``metadata.resourceVersion`` (a string on the wire, which
must hold an integer: a server whose RVs are not integers is refused with a clear error).

Isolation: each backend instance works only in namespaces it creates itself. The suite's
namespace ``ns1`` becomes ``lwc-<instance>-ns1`` on the server, created on first write,
labelled ``app.kubernetes.io/managed-by=listwatch-conformance`` and
``listwatch-conformance.io/instance=<instance>``, and deleted by ``close()``. Every
ConfigMap also carries the instance label and every list/watch selects on it, so the
all-namespaces calls (``/api/v1/configmaps``) see this instance's objects only; the label
is stripped from what the suite sees. A namespace that already exists is never touched.

Calls: create = POST (409 AlreadyExists -> AlreadyExists); update = PUT with
``metadata.resourceVersion`` as precondition when ``expect_rv`` is given (409 ->
Conflict, 404 -> NotFound); delete = DELETE with ``preconditions.resourceVersion``.
The RV a delete returns: if the server answers with the deleted object carrying an RV
newer than the object's last write (the delete's own RV, as stores with
ReturnDeletedObject answer), that RV; otherwise (kube-apiserver answers a ConfigMap
DELETE with a Status) the RV of the DELETED event on a watch of that one object opened
(state, then events) just before the DELETE (a bounded wait; a KubeError if it cannot be
learned). Until a server has answered with the object once, every delete opens that watch.
``list(rv=N)`` without ``match`` is sent as ``resourceVersionMatch=NotOlderThan`` (the
contract's meaning; Kubernetes would read ``limit`` + ``rv=N`` as Exact). Watches send
``timeoutSeconds`` (large) and read the newline-delimited JSON stream in one reader
thread per watch, feeding a queue so ``next(timeout)`` can time out. An ``ERROR`` event
with code 410 raises Expired; a normal end of stream raises WatchClosed; a broken
stream, a malformed line or any other ERROR is outside the contract (a plain exception,
which the suite reports as a backend fault, never as a guarantee).
"""

from __future__ import annotations

import json
import queue
import re
import secrets
import threading
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

import attrs
import urllib3

from listwatch_conformance.sut.api import (
    Capabilities,
    Event,
    EventType,
    Expired,
    ListWatchError,
    Object,
    Page,
    WatchClosed,
)
from listwatch_conformance.sut.kube import wire
from listwatch_conformance.sut.kube.config import KUBE, KubeSettings

MANAGED_BY = ("app.kubernetes.io/managed-by", "listwatch-conformance")
INSTANCE_LABEL = "listwatch-conformance.io/instance"
_NAMESPACE_TERM = re.compile(r"^\s*metadata\.namespace\s*(==|!=|=)\s*(.*?)\s*$")


class KubeError(Exception):
    """Trouble outside the contract (unreachable server, refused namespace, malformed answer)."""


class _Connection:
    """A thread-safe urllib3 pool to one server: JSON requests and streaming GETs."""

    def __init__(self, settings: KubeSettings):
        self.base, headers, tls = settings.connection_params()
        self.headers = {"Accept": "application/json", **headers}
        self.timeout = settings.request_timeout
        self.pool = urllib3.PoolManager(maxsize=64, retries=False, **tls)  # every open watch holds one

    def url(self, path: str, query: Mapping[str, str] | None = None) -> str:
        return self.base + path + (("?" + urlencode(query)) if query else "")

    def request(self, method: str, path: str, query: Mapping[str, str] | None = None,
                body: object = None) -> tuple[int, Any]:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        where = f"{method} {path}"
        try:
            resp = self.pool.request(method, self.url(path, query), body=data, headers=headers,
                                     timeout=urllib3.Timeout(total=self.timeout))
        except urllib3.exceptions.HTTPError as exc:
            raise KubeError(f"{where} on {self.base}: {exc}") from None
        try:
            doc = json.loads(resp.data) if resp.data else None
        except ValueError:
            raise KubeError(f"{where}: HTTP {resp.status} with a body that is not JSON: {resp.data[:200]!r}") from None
        return resp.status, doc

    def stream(self, path: str, query: Mapping[str, str]) -> urllib3.BaseHTTPResponse:
        try:
            return self.pool.request("GET", self.url(path, query), headers=self.headers, preload_content=False,
                                     timeout=urllib3.Timeout(connect=self.timeout, read=None))
        except urllib3.exceptions.HTTPError as exc:
            raise KubeError(f"watch GET {path} on {self.base}: {exc}") from None

    def close(self) -> None:
        self.pool.clear()


def _check(status: int, doc: Any, where: str) -> Any:
    if 200 <= status < 300:
        return doc
    raise wire.status_error(status, doc, where)


@attrs.define(eq=False)
class _Names:
    """The suite's namespaces and labels <-> the server's, for one backend instance."""

    instance: str

    @property
    def prefix(self) -> str:
        return f"lwc-{self.instance}-"

    def real(self, namespace: str) -> str:
        return self.prefix + namespace

    def suite(self, namespace: str) -> str:
        return namespace.removeprefix(self.prefix)

    def label_selector(self, selector: str) -> str:
        own = f"{INSTANCE_LABEL}={self.instance}"
        return f"{selector},{own}" if selector.strip() else own

    def field_selector(self, selector: str) -> str:
        if not selector.strip():
            return selector
        terms = []
        for term in selector.split(","):
            m = _NAMESPACE_TERM.match(term)
            terms.append(f"metadata.namespace{m.group(1)}{self.real(m.group(2))}" if m and m.group(2) else term)
        return ",".join(terms)

    def labels_out(self, labels: Mapping[str, str]) -> dict[str, str]:
        return {**labels, INSTANCE_LABEL: self.instance}

    def to_object(self, doc: object, where: str) -> Object:
        namespace, name, labels, value, rv = wire.configmap_fields(doc, where)
        if labels.get(INSTANCE_LABEL) == self.instance:
            del labels[INSTANCE_LABEL]
        return Object(self.suite(namespace), name, labels, value, rv)


class KubeWatch:
    """One watch stream: a reader thread parses lines into a queue; ``next`` reads the queue."""

    def __init__(self, resp: urllib3.BaseHTTPResponse, names: _Names, where: str, on_close=None):
        self._resp, self._names, self._where, self._on_close = resp, names, where, on_close
        self._queue: queue.Queue = queue.Queue()
        self._stopped = threading.Event()
        self._ended: BaseException | None = None
        self._reader = threading.Thread(target=self._read, name="kube-watch-reader", daemon=True)
        self._reader.start()

    def _chunks(self):
        if self._resp.chunked:
            yield from self._resp.read_chunked(decode_content=True)
        else:
            while chunk := self._resp.read1(65536):
                yield chunk

    def _read(self) -> None:
        buffer = b""
        try:
            for chunk in self._chunks():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        item = self._parse(line)
                        self._queue.put(item)
                        if isinstance(item, BaseException):
                            return
            if buffer.strip():
                self._queue.put(KubeError(f"{self._where}: stream ended inside a line: {buffer[:200]!r}"))
            else:
                self._queue.put(WatchClosed(f"{self._where}: the server ended the stream"))
        except Exception as exc:  # noqa: BLE001 - a broken stream, unless we broke it ourselves
            if not self._stopped.is_set():
                self._queue.put(KubeError(f"{self._where}: the stream broke: {type(exc).__name__}: {exc}"))

    def _parse(self, line: bytes) -> Event | BaseException:
        try:
            kind, obj = wire.parse_event(line, self._where)
            if kind == "ERROR":
                code, reason, message = obj.get("code"), obj.get("reason"), obj.get("message")
                text = f"{self._where}: ERROR event {code} {reason}: {message}"
                return Expired(text) if code == 410 else KubeError(text)
            if kind == "BOOKMARK":
                rv = wire.parse_rv((obj.get("metadata") or {}).get("resourceVersion"), self._where + " BOOKMARK")
                return Event(EventType.BOOKMARK, rv, initial_events_end=wire.is_initial_events_end(obj))
            found = self._names.to_object(obj, self._where)
            return Event(EventType(kind), found.rv, found)
        except wire.WireError as exc:
            return KubeError(str(exc))

    def next(self, timeout: float) -> Event | None:
        if self._ended is not None:
            raise self._ended
        try:
            item = self._queue.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None
        if isinstance(item, BaseException):
            self._ended = item
            raise item
        return item

    def close(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        self._ended = self._ended or WatchClosed(f"{self._where}: closed by the client")
        try:
            self._resp.shutdown()
        except Exception:  # noqa: BLE001 - already released or finished
            pass
        self._reader.join(timeout=5)
        self._resp.release_conn()
        self._resp.close()
        if self._on_close is not None:
            self._on_close(self)


class KubeBackend:
    """sut/api.py against a Kubernetes-style API server (see the module docstring)."""

    def __init__(self, settings: KubeSettings | None = None, **overrides: Any):
        self.settings = attrs.evolve(settings or KUBE, **overrides)
        self._conn = _Connection(self.settings)
        self._names = _Names(secrets.token_hex(4))
        self._namespaces: set[str] = set()  # real names this instance created
        self._ns_lock = threading.Lock()
        self._last_rv: dict[tuple[str, str], int] = {}
        self._deletes_answer_object: bool | None = None  # learnt from the first successful delete
        self._watches: set[KubeWatch] = set()
        self._closed = False
        if self.settings.fresh_store:
            if not self.settings.extensions:
                raise KubeError("fresh_store needs our server's extensions (extensions=True)")
            _check(*self._conn.request("POST", f"{wire.EXTENSION}/reset", body={}), "reset")
        self.capabilities = self._capabilities()

    @property
    def name(self) -> str:
        """For the conformance report: which server this is."""
        return f"Kubernetes API at {self._conn.base}"

    @property
    def version(self) -> str | None:
        """The server's ``/version`` gitVersion, when it serves one (read only by the report's probe)."""
        try:
            status, doc = self._conn.request("GET", "/version")
        except KubeError:  # a server without /version
            return None
        return doc.get("gitVersion") if status == 200 and isinstance(doc, dict) else None

    def _capabilities(self) -> Capabilities:
        s = self.settings
        if s.extensions:
            status, doc = self._conn.request("GET", f"{wire.EXTENSION}/capabilities")
            if status != 200 or not isinstance(doc, dict):
                raise KubeError(f"{self._conn.base} does not serve {wire.EXTENSION}/capabilities (HTTP {status}); "
                                "the extensions exist only on our own server (python -m listwatch_conformance.sut.kube serve)")
            return Capabilities(**{k: v for k, v in doc.items() if k in attrs.fields_dict(Capabilities)})
        return Capabilities(label_selectors=True, field_selectors=True, bookmarks=True, progress=False,
                            initial_events=s.initial_events, pagination=True, exact_list=True,
                            compaction=False, history=s.history)

    # --- namespaces ---------------------------------------------------------------------------
    def _ensure_namespace(self, namespace: str) -> str:
        real = self._names.real(namespace)
        with self._ns_lock:
            if real in self._namespaces:
                return real
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": real, "labels": {
                MANAGED_BY[0]: MANAGED_BY[1], INSTANCE_LABEL: self._names.instance}}}
            status, doc = self._conn.request("POST", "/api/v1/namespaces", body=body)
            if status == 409:
                raise KubeError(f"namespace {real!r} already exists and was not created by this backend; "
                                "refusing to touch it")
            if not 200 <= status < 300:
                raise KubeError(f"cannot create namespace {real!r}: {wire.status_error(status, doc, 'POST')}")
            self._namespaces.add(real)
            return real

    def _path(self, namespace: str | None, name: str | None = None) -> str:
        base = "/api/v1/configmaps" if namespace is None else \
            f"/api/v1/namespaces/{quote(self._names.real(namespace))}/configmaps"
        return base if name is None else f"{base}/{quote(name)}"

    # --- writes -------------------------------------------------------------------------------
    def create(self, namespace: str, name: str, labels: Mapping[str, str], value: str) -> int:
        self._check_open()
        real = self._ensure_namespace(namespace)
        body = wire.configmap(real, name, self._names.labels_out(labels), value)
        doc = _check(*self._conn.request("POST", self._path(namespace), body=body), f"create {namespace}/{name}")
        return self._acknowledged((namespace, name), doc, f"create {namespace}/{name}")

    def update(self, namespace: str, name: str, labels: Mapping[str, str], value: str, *,
               expect_rv: int | None = None) -> int:
        self._check_open()
        body = wire.configmap(self._names.real(namespace), name, self._names.labels_out(labels), value, expect_rv)
        where = f"update {namespace}/{name}"
        doc = _check(*self._conn.request("PUT", self._path(namespace, name), body=body), where)
        return self._acknowledged((namespace, name), doc, where)

    def delete(self, namespace: str, name: str, *, expect_rv: int | None = None) -> int:
        self._check_open()
        body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if expect_rv is not None:
            body["preconditions"] = {"resourceVersion": str(expect_rv)}
        where = f"delete {namespace}/{name}"
        before = self._last_rv.get((namespace, name), expect_rv)
        # Until the server has shown it answers with the deleted object at the delete's RV, watch the
        # object (state, then events) before deleting it: its DELETED event carries the delete's RV.
        watching = None if self._deletes_answer_object else self.watch(
            namespace=namespace, field_selector=f"metadata.name={name}", rv=None)
        try:
            doc = _check(*self._conn.request("DELETE", self._path(namespace, name), body=body), where)
            self._last_rv.pop((namespace, name), None)  # gone
            if isinstance(doc, dict) and doc.get("kind") == "ConfigMap" and before is not None:
                rv = self._acknowledged((namespace, name), doc, where)
                self._last_rv.pop((namespace, name), None)
                if rv > before:
                    self._deletes_answer_object = True
                    return rv
            self._deletes_answer_object = False
            if watching is None:
                raise KubeError(f"{where}: the server stopped answering DELETE with the deleted object "
                                f"({str(doc)[:200]}); the delete's RV is unknown")
            return self._deleted_rv(watching, name, where)
        finally:
            if watching is not None:
                watching.close()

    def _deleted_rv(self, stream: KubeWatch, name: str, where: str) -> int:
        """The RV of the first DELETED event for ``name`` on ``stream``, waiting at most request_timeout."""
        deadline = time.monotonic() + self.settings.request_timeout
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                event = stream.next(remaining)
            except (Expired, WatchClosed) as exc:
                raise KubeError(f"{where}: the watch that should show the delete ended: {exc}") from None
            if event is not None and event.type is EventType.DELETED and event.object.name == name:
                return event.rv
        raise KubeError(f"{where}: no DELETED event within {self.settings.request_timeout:.0f}s; "
                        "the delete's RV is unknown")

    def _acknowledged(self, key: tuple[str, str], doc: Any, where: str) -> int:
        try:
            rv = wire.parse_rv(((doc or {}).get("metadata") or {}).get("resourceVersion"), where)
        except (wire.WireError, AttributeError) as exc:
            raise KubeError(f"{where}: {exc}") from None
        self._last_rv[key] = rv
        return rv

    # --- reads -------------------------------------------------------------------------------
    def list(self, *, namespace: str | None = None, label_selector: str = "", field_selector: str = "",
             rv: int | None = None, match: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> Page:
        self._check_open()
        query = self._filter_query(label_selector, field_selector)
        if continue_token is not None:
            query["continue"] = continue_token
        elif rv is not None:
            query["resourceVersion"] = str(rv)
            if rv != 0 or match is not None:
                query["resourceVersionMatch"] = match or "NotOlderThan"
        if limit:
            query["limit"] = str(limit)
        where = f"list {namespace or '(all namespaces)'}"
        doc = _check(*self._conn.request("GET", self._path(namespace), query), where)
        try:
            meta = doc["metadata"]
            items = tuple(self._names.to_object(item, where) for item in doc.get("items") or ())
            page_rv = wire.parse_rv(meta.get("resourceVersion"), where)
        except (wire.WireError, KeyError, TypeError, AttributeError) as exc:
            raise KubeError(f"{where}: malformed list: {exc}") from None
        return Page(items, page_rv, meta.get("continue") or None)

    def watch(self, *, namespace: str | None = None, label_selector: str = "", field_selector: str = "",
              rv: int | None = None, allow_bookmarks: bool = False, send_initial_events: bool = False) -> KubeWatch:
        self._check_open()
        query = {"watch": "true", **self._filter_query(label_selector, field_selector),
                 "timeoutSeconds": str(self.settings.watch_seconds)}
        if rv is not None:
            query["resourceVersion"] = str(rv)
        if allow_bookmarks:
            query["allowWatchBookmarks"] = "true"
        if send_initial_events:
            query["sendInitialEvents"] = "true"
            query["resourceVersionMatch"] = "NotOlderThan"
        where = f"watch {namespace or '(all namespaces)'} rv={rv}"
        resp = self._conn.stream(self._path(namespace), query)
        if resp.status != 200:
            data = resp.read()
            resp.release_conn()
            try:
                doc = json.loads(data)
            except ValueError:
                doc = None
            raise wire.status_error(resp.status, doc, where)
        stream = KubeWatch(resp, self._names, where, on_close=self._watches.discard)
        self._watches.add(stream)
        return stream

    def _filter_query(self, label_selector: str, field_selector: str) -> dict[str, str]:
        query = {"labelSelector": self._names.label_selector(label_selector)}
        if field_selector:
            query["fieldSelector"] = self._names.field_selector(field_selector)
        return query

    # --- extensions (our server only) -----------------------------------------------------------
    def compact(self, rv: int) -> None:
        self._extension("compact", {"resourceVersion": str(rv)})

    def request_progress(self) -> None:
        self._extension("progress", {})

    def _extension(self, verb: str, body: dict) -> None:
        self._check_open()
        if not self.settings.extensions:
            raise KubeError(f"{verb} is not possible through the Kubernetes API (capability off)")
        _check(*self._conn.request("POST", f"{wire.EXTENSION}/{verb}", body=body), verb)

    # --- lifecycle -------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise ListWatchError("backend is closed")

    def close(self) -> None:
        """Stop every watch, delete the namespaces this instance created (only those), close the pool."""
        if self._closed:
            return
        self._closed = True
        try:
            for stream in list(self._watches):
                stream.close()
            problems = []
            for real in sorted(self._namespaces):
                problem = self._delete_namespace(real)
                if problem:
                    problems.append(problem)
            if problems:
                raise KubeError("cleanup failed: " + "; ".join(problems))
        finally:
            self._conn.close()

    def _delete_namespace(self, real: str) -> str | None:
        status, doc = self._conn.request("GET", f"/api/v1/namespaces/{quote(real)}")
        if status == 404:
            return None
        labels = ((doc or {}).get("metadata") or {}).get("labels") or {}
        if labels.get(INSTANCE_LABEL) != self._names.instance:
            return f"namespace {real!r} does not carry our instance label; left alone"
        status, doc = self._conn.request("DELETE", f"/api/v1/namespaces/{quote(real)}")
        if status not in (200, 202, 404):
            return f"DELETE namespace {real!r}: {wire.status_error(status, doc, 'DELETE')}"
        return None
