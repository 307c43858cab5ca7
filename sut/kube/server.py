"""Our Kubernetes-style API server: any Backend, served as v1 ConfigMaps over HTTP.

``build_app(backend)`` returns a Starlette app; ``python -m listwatch_conformance.sut.kube serve --sut SPEC``
runs it under uvicorn (see ``sut/kube/__main__.py``). The backend is synchronous: every
call runs in a worker thread, and each open watch has one pump thread that calls
``watch.next()`` and hands events to the event loop.

Routes (the subset of the core/v1 API the kube backend, the official client and kubectl use):

- discovery, ``GET /version``, ``/api``, ``/api/v1``, ``/apis`` (``sut/kube/discovery.py``);

- ``GET /api/v1/namespaces/{ns}/configmaps`` and ``GET /api/v1/configmaps``: a list, or
  with ``watch=true|1`` a watch (chunked, one JSON event per line, each ending in ``\\n``);
- ``POST .../namespaces/{ns}/configmaps``, ``GET|PUT|DELETE .../configmaps/{name}``;
- ``POST /api/v1/namespaces``, ``GET /api/v1/namespaces``, ``GET|DELETE /api/v1/namespaces/{name}``:
  namespaces live in this process only (they are not in the Backend contract); deleting one
  deletes its ConfigMaps through the backend, then forgets it;
- ``/listwatch-conformance/v1/{capabilities,compact,progress,reset}``: NOT Kubernetes API; a
  separate extension so the suite can reach ``compact()`` and ``request_progress()`` of the
  backend behind this server, and start each example on a fresh, empty backend (``reset``
  swaps in ``factory()``, as ``--sut`` does per example in process). A real apiserver has
  nothing like it.

Wire behaviour (as the apiserver): errors are ``Status`` objects with code, reason and
message (410 Expired, 404 NotFound, 409 AlreadyExists/Conflict, 400 BadRequest, 504 for
"too large resource version", 500 InternalError for a backend that raised outside the
contract). ``fieldSelector`` takes ``metadata.name`` and ``metadata.namespace`` (``=``, ``==``, ``!=``),
the only selectable fields of a ConfigMap; any other field is refused with the apiserver's 400
(``"f" is not a known field selector: only "metadata.name", "metadata.namespace"``); for a
backend without field selectors the server filters itself. A watch whose start RV is too old
answers HTTP 200 followed by one ``ERROR`` event carrying a 410 Status. A list with ``limit``
and ``resourceVersion=N`` but no ``resourceVersionMatch`` is Exact, as in Kubernetes. ``timeoutSeconds`` ends a watch
normally (default 1800 s). DELETE answers ``Status`` Success, as kube-apiserver does for
ConfigMaps, or (``return_deleted_object``) the deleted object carrying the delete's RV.
"""

from __future__ import annotations

import asyncio
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import attrs
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from listwatch_conformance.model.selectors import FieldRequirement, SelectorError, parse_field_selector
from listwatch_conformance.sut.api import Event, EventType, Expired, ListWatchError, NotFound, WatchClosed
from listwatch_conformance.sut.kube import discovery, wire

DEFAULT_WATCH_SECONDS = 1800.0
PUMP_POLL = 0.2  # how long one next() in a pump thread blocks, so a closed watch is noticed quickly
EXTENSION = wire.EXTENSION


class BadRequest(Exception):
    """A request this server rejects as invalid (HTTP 400), as the apiserver's validation would."""


def _status_response(doc: dict[str, Any]) -> JSONResponse:
    return JSONResponse(doc, status_code=doc["code"])


def _bad(message: str) -> JSONResponse:
    return _status_response(wire.status(400, "BadRequest", message))


def _internal(exc: BaseException) -> JSONResponse:
    return _status_response(wire.status(500, "InternalError",
                                        f"the backend raised {type(exc).__name__}: {exc}"))


def _flag(value: str | None, name: str) -> bool:
    """A boolean query parameter, as the apiserver reads one (Go's strconv.ParseBool): the official
    Python client sends ``watch=True`` in some releases (30.1.0, the oldest the dev extra allows)."""
    if value is None or value in ("", "0", "f", "F", "false", "FALSE", "False"):
        return False
    if value in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    raise BadRequest(f"{name}={value!r}: expected true or false")


def _rv_param(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    try:
        return wire.parse_rv(value, "resourceVersion")
    except wire.WireError as exc:
        raise BadRequest(str(exc)) from None


def _fields(text: str) -> tuple[FieldRequirement, ...]:
    """The field selector's requirements; anything but metadata.name and metadata.namespace is the
    apiserver's 400 (ConfigMaps have no other selectable fields)."""
    try:
        return parse_field_selector(text)
    except SelectorError as exc:
        raise BadRequest(str(exc)) from None


def _selected(fields: tuple[FieldRequirement, ...], obj) -> bool:
    return all(f.matches(obj) for f in fields)


def _int_param(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise BadRequest(f"{name}={value!r} is not an integer") from None
    if number < 0:
        raise BadRequest(f"{name}={value!r} must not be negative")
    return number


@attrs.define
class Server:
    """The request handlers around one backend; namespaces are kept here."""

    backend: Any
    watch_seconds: float = DEFAULT_WATCH_SECONDS
    factory: Any = None  # makes a fresh backend for the reset extension; None: reset is refused
    return_deleted_object: bool = False  # False: DELETE answers a Status, as kube-apiserver does for ConfigMaps
    namespaces: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    async def call(self, fn, *args, **kwargs):
        return await asyncio.to_thread(fn, *args, **kwargs)

    async def guarded(self, handler, request: Request) -> Response:
        """Run a handler; contract errors become their Status, anything else a 500 Status."""
        try:
            return await handler(request)
        except BadRequest as exc:
            return _bad(str(exc))
        except ListWatchError as exc:
            return _status_response(wire.error_status(exc))
        except Exception as exc:  # noqa: BLE001 - the backend's fault, reported to the client
            return _internal(exc)

    # --- configmaps -------------------------------------------------------------------------
    async def collection(self, request: Request) -> Response:
        namespace = request.path_params.get("ns")
        q = request.query_params
        label_selector, field_selector = q.get("labelSelector", ""), q.get("fieldSelector", "")
        fields = _fields(field_selector)
        # A backend without field selectors gets none, and this server filters: metadata.name and
        # metadata.namespace never change, so dropping the other keys' items and events is exact.
        ours = fields if fields and not self.backend.capabilities.field_selectors else ()
        if ours:
            field_selector = ""
        if _flag(q.get("watch"), "watch"):
            return await self.watch(request, namespace, label_selector, field_selector, ours)
        rv, match = _rv_param(q.get("resourceVersion")), q.get("resourceVersionMatch") or None
        limit, token = _int_param(q.get("limit"), "limit") or None, q.get("continue") or None
        if _flag(q.get("sendInitialEvents"), "sendInitialEvents"):
            raise BadRequest("sendInitialEvents is forbidden for list")
        if match not in (None, "Exact", "NotOlderThan"):
            raise BadRequest(f"resourceVersionMatch={match!r}: expected Exact or NotOlderThan")
        if match is not None and q.get("resourceVersion") in (None, ""):
            raise BadRequest("resourceVersionMatch is forbidden unless resourceVersion is provided")
        if match is not None and token is not None:
            raise BadRequest("resourceVersionMatch is forbidden when continue is provided")
        if match == "Exact" and rv == 0:
            raise BadRequest('resourceVersionMatch "Exact" is forbidden for resourceVersion "0"')
        if token is not None and rv:
            raise BadRequest('specifying resourceVersion is not allowed when using continue')
        if match is None and rv and limit:
            match = "Exact"  # Kubernetes: limit + resourceVersion=N without a match is Exact
        page = await self.call(self.backend.list, namespace=namespace, label_selector=label_selector,
                               field_selector=field_selector, rv=rv, match=match, limit=limit,
                               continue_token=token)
        meta: dict[str, Any] = {"resourceVersion": str(page.rv)}
        if page.continue_token:
            meta["continue"] = page.continue_token
        return JSONResponse({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": meta,
                             "items": [wire.object_to_configmap(o) for o in page.items if _selected(ours, o)]})

    async def create(self, request: Request) -> Response:
        namespace = request.path_params["ns"]
        _, name, labels, value = self._body_object(await _json(request), namespace, None)
        with self.lock:
            known = namespace in self.namespaces
        if not known:
            return _status_response(wire.status(404, "NotFound", f'namespaces "{namespace}" not found',
                                                details={"name": namespace, "kind": "namespaces"}))
        rv = await self.call(self.backend.create, namespace, name, labels, value)
        return JSONResponse(wire.configmap(namespace, name, labels, value, rv), status_code=201)

    async def update(self, request: Request) -> Response:
        namespace, name = request.path_params["ns"], request.path_params["name"]
        expect_rv, _, labels, value = self._body_object(await _json(request), namespace, name)
        rv = await self.call(self.backend.update, namespace, name, labels, value, expect_rv=expect_rv)
        return JSONResponse(wire.configmap(namespace, name, labels, value, rv))

    async def delete(self, request: Request) -> Response:
        namespace, name = request.path_params["ns"], request.path_params["name"]
        body = await request.body()
        expect_rv = None
        if body:
            options = await _json(request)
            if not isinstance(options, dict):
                raise BadRequest("DeleteOptions must be a JSON object")
            expect_rv = _rv_param((options.get("preconditions") or {}).get("resourceVersion"))
        last = await self._get(namespace, name) if self.return_deleted_object else None
        rv = await self.call(self.backend.delete, namespace, name, expect_rv=expect_rv)
        if not self.return_deleted_object:
            return JSONResponse({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                 "details": {"name": name, "kind": "configmaps"}})
        labels, value = (last.labels, last.value) if last is not None else ({}, "")
        # As a store with ReturnDeletedObject: the deleted object, carrying the RV of the delete itself.
        return JSONResponse(wire.configmap(namespace, name, labels, value, rv))

    async def get(self, request: Request) -> Response:
        namespace, name = request.path_params["ns"], request.path_params["name"]
        obj = await self._get(namespace, name)
        if obj is None:
            raise NotFound(f'configmaps "{name}" not found')
        return JSONResponse(wire.object_to_configmap(obj))

    async def _get(self, namespace: str, name: str):
        selector = f"metadata.name={name}" if self.backend.capabilities.field_selectors else ""
        page = await self.call(self.backend.list, namespace=namespace, field_selector=selector)
        return next((o for o in page.items if o.name == name), None)

    @staticmethod
    def _body_object(doc: Any, namespace: str, name: str | None) -> tuple[int | None, str, dict, str]:
        if not isinstance(doc, dict) or not isinstance(doc.get("metadata"), dict):
            raise BadRequest("the body must be a ConfigMap with metadata")
        meta = doc["metadata"]
        if meta.get("namespace") not in (None, namespace):
            raise BadRequest(f"the namespace of the object ({meta.get('namespace')}) does not match "
                             f"the namespace on the request ({namespace})")
        body_name = meta.get("name")
        if not isinstance(body_name, str) or not body_name:
            raise BadRequest("metadata.name is required (generateName is not supported)")
        if name is not None and body_name != name:
            raise BadRequest(f"the name of the object ({body_name}) does not match the name on the URL ({name})")
        labels = meta.get("labels") or {}
        value = (doc.get("data") or {}).get(wire.VALUE_KEY, "")
        if not isinstance(labels, dict) or not isinstance(value, str):
            raise BadRequest("metadata.labels must be a map and data.value a string")
        return _rv_param(meta.get("resourceVersion")), body_name, labels, value

    # --- watch ----------------------------------------------------------------------------
    async def watch(self, request: Request, namespace: str | None, label_selector: str,
                    field_selector: str, ours: tuple[FieldRequirement, ...] = ()) -> Response:
        q = request.query_params
        rv = _rv_param(q.get("resourceVersion"))
        allow_bookmarks = _flag(q.get("allowWatchBookmarks"), "allowWatchBookmarks")
        send_initial_events = _flag(q.get("sendInitialEvents"), "sendInitialEvents")
        match = q.get("resourceVersionMatch") or None
        if send_initial_events and match != "NotOlderThan":
            raise BadRequest("sendInitialEvents requires resourceVersionMatch=NotOlderThan")
        if send_initial_events and not allow_bookmarks:
            raise BadRequest("sendInitialEvents requires allowWatchBookmarks=true")
        if match is not None and not send_initial_events:
            raise BadRequest("resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")
        seconds = _int_param(q.get("timeoutSeconds"), "timeoutSeconds")
        seconds = self.watch_seconds if not seconds else float(seconds)
        try:
            stream = await self.call(self.backend.watch, namespace=namespace, label_selector=label_selector,
                                     field_selector=field_selector, rv=rv, allow_bookmarks=allow_bookmarks,
                                     send_initial_events=send_initial_events)
        except Expired as exc:  # as the watch cache does: HTTP 200, then one ERROR event
            return StreamingResponse(_once(wire.error_line(wire.error_status(exc))), media_type="application/json")
        return StreamingResponse(self._events(stream, seconds, ours), media_type="application/json")

    async def _events(self, stream, seconds: float, ours: tuple[FieldRequirement, ...] = ()):
        """The event lines of one watch until it ends, errs, times out or the client goes."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()
        stop = threading.Event()

        def put(item) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone: the server is shutting down
                stop.set()

        def pump() -> None:
            while not stop.is_set():
                try:
                    event = stream.next(PUMP_POLL)
                except Expired as exc:
                    put(wire.error_line(wire.error_status(exc)))
                    break
                except WatchClosed:
                    break
                except ListWatchError as exc:
                    put(wire.error_line(wire.error_status(exc)))
                    break
                except Exception as exc:  # noqa: BLE001 - the backend's fault, sent as a 500 Status
                    put(wire.error_line(wire.status(500, "InternalError",
                                                    f"watch.next() raised {type(exc).__name__}: {exc}")))
                    break
                if isinstance(event, Event):
                    if event.type is EventType.BOOKMARK or _selected(ours, event.object):
                        put(wire.event_line(event))
                elif event is not None:
                    put(wire.error_line(wire.status(500, "InternalError",
                                                    f"watch.next() returned {event!r}, not an Event")))
                    break
            put(None)

        thread = threading.Thread(target=pump, name="watch-pump", daemon=True)
        thread.start()
        deadline = loop.time() + seconds
        try:
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                try:
                    line = await asyncio.wait_for(queue.get(), remaining)
                except asyncio.TimeoutError:
                    return
                if line is None:
                    return
                yield line
        finally:
            stop.set()
            await asyncio.to_thread(_close_quietly, stream)

    # --- namespaces -----------------------------------------------------------------------
    async def create_namespace(self, request: Request) -> Response:
        doc = await _json(request)
        meta = doc.get("metadata") if isinstance(doc, dict) else None
        name = meta.get("name") if isinstance(meta, dict) else None
        if not isinstance(name, str) or not name:
            raise BadRequest("metadata.name is required")
        labels = meta.get("labels") or {}
        with self.lock:
            if name in self.namespaces:
                return _status_response(wire.status(409, "AlreadyExists", f'namespaces "{name}" already exists',
                                                    details={"name": name, "kind": "namespaces"}))
            ns = {"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": name, "labels": dict(labels)},
                  "spec": {}, "status": {"phase": "Active"}}
            self.namespaces[name] = ns
        return JSONResponse(ns, status_code=201)

    async def get_namespace(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self.lock:
            ns = self.namespaces.get(name)
        if ns is None:
            raise NotFound(f'namespaces "{name}" not found')
        return JSONResponse(ns)

    async def list_namespaces(self, request: Request) -> Response:
        with self.lock:
            items = list(self.namespaces.values())
        return JSONResponse({"kind": "NamespaceList", "apiVersion": "v1", "metadata": {}, "items": items})

    async def delete_namespace(self, request: Request) -> Response:
        name = request.path_params["name"]
        with self.lock:
            ns = self.namespaces.get(name)
        if ns is None:
            raise NotFound(f'namespaces "{name}" not found')
        page = await self.call(self.backend.list, namespace=name)
        for obj in page.items:
            try:
                await self.call(self.backend.delete, obj.namespace, obj.name)
            except NotFound:
                pass
        with self.lock:
            self.namespaces.pop(name, None)
        return JSONResponse(dict(ns, status={"phase": "Terminating"}))

    # --- the non-Kubernetes extension -------------------------------------------------------
    async def capabilities(self, request: Request) -> Response:
        return JSONResponse(attrs.asdict(self.backend.capabilities))

    async def compact(self, request: Request) -> Response:
        doc = await _json(request)
        rv = _rv_param(doc.get("resourceVersion") if isinstance(doc, dict) else None)
        if rv is None:
            raise BadRequest("compact needs {\"resourceVersion\": \"N\"}")
        await self.call(self.backend.compact, rv)
        return JSONResponse({})

    async def progress(self, request: Request) -> Response:
        await self.call(self.backend.request_progress)
        return JSONResponse({})

    async def reset(self, request: Request) -> Response:
        """Replace the backend by a fresh, empty one and forget every namespace (open watches end)."""
        if self.factory is None:
            raise BadRequest("this server was not started with a backend factory; reset is not possible")
        fresh = await self.call(self.factory)
        with self.lock:
            old, self.backend = self.backend, fresh
            self.namespaces.clear()
        await self.call(old.close)
        return JSONResponse({})


async def _json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise BadRequest(f"the body is not JSON: {exc}") from None


async def _once(line: bytes):
    yield line


def _close_quietly(stream) -> None:
    try:
        stream.close()
    except Exception:  # noqa: BLE001 - the stream is being abandoned anyway
        pass


def build_app(backend, *, watch_seconds: float = DEFAULT_WATCH_SECONDS, threads: int = 64,
              factory=None, return_deleted_object: bool = False) -> Starlette:
    """The Starlette app serving ``backend``; the app closes the backend when it shuts down.

    With ``factory`` (what made ``backend``), the reset extension can swap in a fresh backend.
    """
    server = Server(backend, watch_seconds, factory, return_deleted_object)

    def route(path: str, handler, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            return await server.guarded(handler, request)
        return Route(path, endpoint, methods=methods)

    @asynccontextmanager
    async def lifespan(app):
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(threads, thread_name_prefix="backend"))
        try:
            yield
        finally:
            await asyncio.to_thread(server.backend.close)

    async def healthz(request: Request) -> Response:
        return Response("ok", media_type="text/plain")

    async def discover(request: Request) -> Response:
        return JSONResponse(discovery.document(request.url.path, request.url.netloc))

    return Starlette(lifespan=lifespan, routes=[
        Route("/healthz", healthz, methods=["GET"]),
        *(Route(path, discover, methods=["GET"]) for path in discovery.PATHS),
        route("/api/v1/configmaps", server.collection, ["GET"]),
        route("/api/v1/namespaces/{ns}/configmaps", server.collection, ["GET"]),
        route("/api/v1/namespaces/{ns}/configmaps", server.create, ["POST"]),
        route("/api/v1/namespaces/{ns}/configmaps/{name}", server.get, ["GET"]),
        route("/api/v1/namespaces/{ns}/configmaps/{name}", server.update, ["PUT"]),
        route("/api/v1/namespaces/{ns}/configmaps/{name}", server.delete, ["DELETE"]),
        route("/api/v1/namespaces", server.list_namespaces, ["GET"]),
        route("/api/v1/namespaces", server.create_namespace, ["POST"]),
        route("/api/v1/namespaces/{name}", server.get_namespace, ["GET"]),
        route("/api/v1/namespaces/{name}", server.delete_namespace, ["DELETE"]),
        route(f"{EXTENSION}/capabilities", server.capabilities, ["GET"]),
        route(f"{EXTENSION}/compact", server.compact, ["POST"]),
        route(f"{EXTENSION}/progress", server.progress, ["POST"]),
        route(f"{EXTENSION}/reset", server.reset, ["POST"]),
    ])
