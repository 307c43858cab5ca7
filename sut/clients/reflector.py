"""The reference client: a Python reflector following client-go's Reflector algorithm.

This is the client-side counterpart of the reference backend: a correct client that lives in
the project, so that every client check is shown to pass on it and (through its mutants,
``sut/clients/mutants.py``) to fail on a realistic bug. It follows ``tools/cache/reflector.go``
as REFERENCE-clients.md section 1 describes it:

- The outer loop runs list-and-watch; every return of list-and-watch is followed by a backoff
  (800 ms doubling to 30 s, jitter 1.0, reset after 2 min without one), as client-go's
  ``BackoffUntil`` does.
- LIST at ``relist_rv()``: ``"0"`` first, then the last synced RV, ``""`` only after the last
  list (or streaming list) at that RV failed with Expired (410) or "too large resource version"
  (504 with a ``ResourceVersionTooLarge`` cause); on those it retries at once with ``""``. A
  successful list replaces the store and sets the last synced RV.
- Pages as client-go's ``ListPager`` (``tools/pager/pager.go``) under ``reflector.list``: ``limit=500``
  and ``continue`` until a page has none, the later pages without ``resourceVersion``; a 410 on a
  continue page falls back to one full list (no limit) at the first page's RV
  (``FullListIfExpired``). Lists at an RV other than ``""`` and ``"0"`` are not paged, unless the
  first list at ``"0"`` came back paged (no watch cache: ``paginatedResult``).
- WATCH from the last synced RV with ``allowWatchBookmarks=true`` and a random
  ``timeoutSeconds`` in [300, 600]. Every event and bookmark sets the last synced RV, together
  with the store (one lock), so ``view()`` never claims an RV its store has not reached.
  * a clean end of the stream (also a connection dropped after a truncated line, which the
    decoder reports as an unexpected EOF): re-watch at once from the last RV, no backoff, unless
    the stream lasted under ``very_short`` seconds with no event (client-go's
    VeryShortWatchError): then return an error (backoff, relist);
  * HTTP 429 on the watch request: backoff, then re-watch (no relist); any other HTTP error: return
    it (backoff, relist at the last RV);
  * an in-stream ERROR: 410 Expired returns (backoff, relist at the last RV, not ``""``), 429
    backs off and re-watches, anything else returns (backoff, relist).
- With ``watch_list=True``: a streaming list first (``sendInitialEvents=true``,
  ``resourceVersionMatch=NotOlderThan``, RV ``""`` at first or after Expired/TooLarge, else the
  last synced RV). Initial events go to a temporary store until the bookmark annotated
  ``k8s.io/initial-events-end: "true"``; then the store is replaced at the bookmark's RV, the
  client reports synced, and the same stream carries live events. Cut before the bookmark, the
  streaming list restarts; an error (or a very short empty stream) falls back to a list.

``backoff_base`` and ``backoff_cap`` are configurable so that the suite does not sleep seconds
per example (:func:`reflector` uses 1 ms and 10 ms). HTTP goes through urllib3's
``HTTPConnection``, one connection per request, so ``stop()`` can shut the socket under a read.
"""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import urllib3
from urllib3.connection import HTTPConnection
from urllib3.exceptions import HTTPError

from listwatch_conformance.sut.api import Object
from listwatch_conformance.sut.clients.api import ClientCapabilities, ClientView, EventRecord, Key
from listwatch_conformance.sut.kube import wire

REQUEST_TIMEOUT = 60.0  # a held request may wait for the suite this long (the suite answers much sooner)
PAGE_SIZE = 500  # client-go's pager default
# Test-sized settings for the state machine: backoff 1 ms doubling to 10 ms, and no very-short-watch
# error: whether an empty stream lasted under a second is wall-clock timing, which would make the
# requests (a relist or a re-watch) depend on load rather than on the program, and Hypothesis's
# replay nondeterministic. BoundedRetries measures the production settings.
TEST_SIZED = dict(backoff_base=0.001, backoff_cap=0.01, very_short=0.0)


class StatusError(Exception):
    """An error answer (HTTP status or an in-stream ERROR) with its Status document."""

    def __init__(self, code: int, doc: object, where: str):
        self.code = code
        self.doc = doc if isinstance(doc, dict) else {}
        self.retry_after: float | None = None
        super().__init__(f"{where}: {code} {self.doc.get('reason', '')}: {self.doc.get('message', '')}")

    @property
    def expired(self) -> bool:
        return self.code == 410 or self.doc.get("reason") in ("Expired", "Gone")

    @property
    def too_large(self) -> bool:
        causes = (self.doc.get("details") or {}).get("causes") or []
        return any(c.get("reason") == "ResourceVersionTooLarge" for c in causes if isinstance(c, dict)) \
            or "too large resource version" in str(self.doc.get("message", "")).lower()


class Stopped(Exception):
    """stop() was called."""


class Reflector:
    """A client-go style reflector over ConfigMaps; see the module docstring."""

    name = "reflector (listwatch-conformance reference)"
    version = "1"
    capabilities: ClientCapabilities  # set per instance: max_backoff follows the backoff settings

    def __init__(self, *, backoff_base: float = 0.8, backoff_cap: float = 30.0, jitter: float = 1.0,
                 backoff_reset: float = 120.0, very_short: float = 1.0, watch_list: bool = False,
                 iterator: bool = False) -> None:
        self.backoff_base, self.backoff_cap, self.jitter = backoff_base, backoff_cap, jitter
        self.backoff_reset, self.very_short, self.watch_list = backoff_reset, very_short, watch_list
        self.iterator = iterator
        self.capabilities = ClientCapabilities(cache=not iterator, lists=True, bookmarks=True, watch_list=watch_list,
                                               user_restarts=False, max_backoff=backoff_cap * (1 + jitter))
        self._events: list[EventRecord] = []  # with ``iterator``: what its user was given (the event record)
        self._lock = threading.Lock()
        self._store: dict[Key, Object] = {}
        self._last_sync: str | None = None
        self._synced = False
        self._alive = False
        self._error: BaseException | None = None
        self._unavailable = False  # the last list at last_sync failed with Expired or TooLarge
        self._paginated = False  # the first list at "0" came back paged (client-go's paginatedResult)
        self._stop = threading.Event()
        self._conn: HTTPConnection | None = None
        self._thread: threading.Thread | None = None
        self._failures = 0
        self._last_backoff = 0.0
        self._random = random.Random()

    # --- the adapter contract -------------------------------------------------------------
    def start(self, url: str, namespace: str | None, label_selector: str) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._path = f"/api/v1/namespaces/{namespace}/configmaps" if namespace else "/api/v1/configmaps"
        self._selector = label_selector
        self._alive = True
        self._thread = threading.Thread(target=self._run, name="reflector", daemon=True)
        self._thread.start()

    def view(self) -> ClientView:
        with self._lock:
            return ClientView(rv=self._last_sync, objects=dict(self._store), synced=self._synced,
                              alive=self._alive, error=self._error,
                              events=tuple(self._events) if self.iterator else None)

    def stop(self) -> None:
        self._stop.set()
        self._shutdown_connection()
        if self._thread is not None:
            self._thread.join(4.0)

    # --- the loop -------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    self.list_and_watch()
                except Stopped:
                    return
                except self.survived:  # client-go logs every error; BackoffUntil sleeps and relists
                    if self._stop.is_set():
                        return
                self.backoff()
        except Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - the loop itself failed: the client is dead, and says so
            with self._lock:
                self._error = exc
        finally:
            with self._lock:
                self._alive = False

    survived: tuple[type[BaseException], ...] = (Exception,)  # errors the outer loop logs and retries after
    read_timeout = REQUEST_TIMEOUT  # the socket timeout of every request, its body's reads included

    def list_and_watch(self) -> None:
        if self.watch_list:
            try:
                stream = self.streaming_list()
            except Stopped:
                raise
            except Exception:  # noqa: BLE001 - client-go falls back to a list on any watch-list error
                stream = None
            if stream is not None:
                return self.watch_loop(stream)
        self.list()
        self.watch_loop(None)

    # --- list -----------------------------------------------------------------------------
    def relist_rv(self) -> str:
        if self._unavailable:
            return ""
        return "0" if self._last_sync is None else self._last_sync

    def list(self) -> None:
        rv = self.relist_rv()
        try:
            doc = self.paged_list(rv)
        except StatusError as exc:
            if not (exc.expired or exc.too_large):
                raise
            self.on_list_unavailable(rv)
            doc = self.paged_list(self.relist_rv())
        items = doc.get("items") or []
        list_rv = wire.parse_rv((doc.get("metadata") or {}).get("resourceVersion"), "list")
        objects = [self.to_object(item, "list item") for item in items]
        self._unavailable = False
        self.replace(objects, str(list_rv))

    def page_size(self, rv: str) -> int:
        """client-go's choice in ``Reflector.list``: page unless the RV is a number and the server never
        paged the list at "0" (then the watch cache serves it whole)."""
        return PAGE_SIZE if self._paginated or rv in ("", "0") else 0

    def paged_list(self, rv: str) -> dict:
        """A list at ``rv`` through the pager: the pages' items joined under the first page's metadata."""
        limit = self.page_size(rv)
        params = self.list_params(rv, limit)
        doc = self.get_json(params)
        items = list(doc.get("items") or [])
        while (token := (doc.get("metadata") or {}).get("continue")):
            if rv == "0":
                self._paginated = True  # the list at "0" was paged: no watch cache, keep paging
            try:
                doc = self.get_json(self.next_page_params(params, token))
            except StatusError as exc:
                if not exc.expired:
                    raise
                return self.get_json(self.list_params(rv))  # FullListIfExpired: one full list at rv
            items += doc.get("items") or []
        return {**doc, "items": items}

    def next_page_params(self, params: dict[str, str], token: str) -> dict[str, str]:
        """The next page: the same query with ``continue`` and without ``resourceVersion``."""
        return {**{k: v for k, v in params.items() if k != "resourceVersion"}, "continue": token}

    def on_list_unavailable(self, rv: str) -> None:
        self._unavailable = True

    def list_params(self, rv: str, limit: int = 0) -> dict[str, str]:
        params = {}
        if rv:
            params["resourceVersion"] = rv
        if limit:
            params["limit"] = str(limit)
        if self._selector:
            params["labelSelector"] = self._selector
        return params

    def replace(self, objects: list[Object], rv: str) -> None:
        with self._lock:
            self.record_replace(objects, rv)
            self._store = {(o.namespace, o.name): o for o in objects}
            self._last_sync = rv
            self._synced = True

    def record_replace(self, objects: list[Object], rv: str) -> None:
        """As an iterator, a (re)list yields only what changed since the store: ADDED or MODIFIED for a
        new object or RV, DELETED (at the list's RV) for a vanished one. Called under the lock."""
        listed = {(o.namespace, o.name): o for o in objects}
        for key, o in listed.items():
            old = self._store.get(key)
            if old is None or old.rv != o.rv:
                self._events.append(EventRecord("ADDED" if old is None else "MODIFIED", o.namespace, o.name, o.rv))
        for key in self._store.keys() - listed.keys():
            self._events.append(EventRecord("DELETED", key[0], key[1], int(rv)))

    # --- watch ----------------------------------------------------------------------------
    def watch_rv(self) -> str:
        return self._last_sync or ""

    def watch_params(self, rv: str) -> dict[str, str]:
        params = {"watch": "true", "allowWatchBookmarks": "true",
                  "timeoutSeconds": str(self._random.randint(300, 600))}
        if rv:
            params["resourceVersion"] = rv
        if self._selector:
            params["labelSelector"] = self._selector
        return params

    def watch_loop(self, stream: Iterator[bytes] | None) -> None:
        """Watch until an error returns; ``stream``: an already open stream to go on with."""
        while not self._stop.is_set():
            started = time.monotonic()
            if stream is None:
                try:
                    stream = self.open_watch(self.watch_params(self.watch_rv()))
                except StatusError as exc:
                    if exc.code == 429:
                        self.backoff()
                        continue
                    raise
            with contextlib.closing(stream):
                count = self.handle_watch(stream)
            stream = None
            if count == 0 and time.monotonic() - started < self.very_short:
                raise ValueError("very short watch: the stream ended at once with no event")

    def handle_watch(self, lines: Iterator[bytes]) -> int:
        """Apply a stream's events; the number handled. Raises on an ERROR that ends the watch."""
        count = 0
        for line in lines:
            if not line.strip():
                continue
            kind, obj = self.decode(line)
            if kind == "ERROR":
                return self.on_watch_error(StatusError(int(obj.get("code") or 500), obj, "watch"), count)
            self.apply(kind, obj)
            count += 1
        return count

    def on_watch_error(self, error: StatusError, count: int) -> int:
        """An in-stream ERROR: 429 backs off and re-watches; anything else ends list-and-watch."""
        if error.code == 429:
            self.backoff()
            return count + 1
        raise error

    def decode(self, line: bytes) -> tuple[str, dict]:
        return wire.parse_event(line, "watch")

    def apply(self, kind: str, obj: dict) -> None:
        if kind == "BOOKMARK":
            rv = wire.parse_rv((obj.get("metadata") or {}).get("resourceVersion"), "bookmark")
            with self._lock:
                self._last_sync = str(rv)
            return
        o = self.to_object(obj, f"{kind} event")
        with self._lock:
            self._events.append(EventRecord(kind, o.namespace, o.name, o.rv))
            if kind == "DELETED":
                self._store.pop((o.namespace, o.name), None)
            else:
                self._store[(o.namespace, o.name)] = o
            self._last_sync = str(o.rv)

    # --- streaming list -------------------------------------------------------------------
    def streaming_list(self) -> Iterator[bytes] | None:
        """Run streaming lists until one reaches its end bookmark: the stream to go on with."""
        while not self._stop.is_set():
            rv = "" if self._unavailable or self._last_sync is None else self._last_sync
            params = self.watch_params(rv)
            params.update(sendInitialEvents="true", resourceVersionMatch="NotOlderThan")
            started = time.monotonic()
            try:
                lines = self.open_watch(params)
            except StatusError as exc:
                if exc.expired or exc.too_large:
                    self._unavailable = True
                    continue
                if exc.code == 429:
                    self.backoff()
                    continue
                raise
            try:
                if self.initial_events(lines, started):
                    return lines
            except BaseException:
                lines.close()
                raise
            lines.close()
            resumed = self.after_cut_streaming_list()
            if resumed is not None:
                return resumed
        raise Stopped()

    def after_cut_streaming_list(self) -> Iterator[bytes] | None:
        """A streaming list ended before its end bookmark: None restarts it (client-go)."""
        return None

    def initial_events(self, lines: Iterator[bytes], started: float) -> bool:
        """Read a streaming list's initial events; True once the end bookmark replaced the store."""
        temp: dict[Key, Object] = {}
        count = 0
        for line in lines:
            if not line.strip():
                continue
            kind, obj = self.decode(line)
            count += 1
            if kind == "ERROR":
                error = StatusError(int(obj.get("code") or 500), obj, "watch-list")
                if error.expired or error.too_large:
                    self._unavailable = True
                    return False
                lines.close()
                raise error
            if kind == "BOOKMARK":
                if wire.is_initial_events_end(obj):
                    rv = wire.parse_rv((obj.get("metadata") or {}).get("resourceVersion"), "bookmark")
                    self._unavailable = False
                    self.replace(list(temp.values()), str(rv))
                    return True
                continue
            self.initial_event(temp, kind, obj)
        if count == 0 and time.monotonic() - started < self.very_short:
            raise ValueError("very short watch-list: the stream ended at once with no event")
        return False

    def initial_event(self, temp: dict[Key, Object], kind: str, obj: dict) -> None:
        o = self.to_object(obj, f"{kind} event")
        if kind == "DELETED":
            temp.pop((o.namespace, o.name), None)
        else:
            temp[(o.namespace, o.name)] = o

    # --- HTTP -----------------------------------------------------------------------------
    def to_object(self, doc: dict, where: str) -> Object:
        namespace, name, labels, value, rv = wire.configmap_fields(doc, where)
        return Object(namespace, name, labels, value, rv)

    def _connect(self, params: dict[str, str]) -> tuple[HTTPConnection, urllib3.HTTPResponse]:
        if self._stop.is_set():
            raise Stopped()
        conn = HTTPConnection(self._host, self._port, timeout=self.read_timeout)
        self._conn = conn
        if self._stop.is_set():
            raise Stopped()
        target = self._path + ("?" + urlencode(params) if params else "")
        conn.request("GET", target, headers={"Accept": "application/json"}, preload_content=False)
        response = conn.getresponse()
        if response.status >= 400:
            body = response.read()
            try:
                doc = json.loads(body)
            except ValueError:
                doc = {}
            error = StatusError(response.status, doc, f"GET {target}")
            self._close_connection(conn)
            retry = response.headers.get("Retry-After")
            error.retry_after = float(retry) if retry and retry.isdigit() else None
            raise error
        return conn, response

    def get_json(self, params: dict[str, str]) -> dict:
        conn, response = self._connect(params)
        try:
            doc = json.loads(response.read())
        finally:
            self._close_connection(conn)
        if not isinstance(doc, dict):
            raise ValueError(f"a list answer that is not an object: {doc!r}")
        return doc

    def open_watch(self, params: dict[str, str]) -> Iterator[bytes]:
        return self.lines(*self._connect(params))

    def lines(self, conn: HTTPConnection, response: urllib3.HTTPResponse) -> Iterator[bytes]:
        """The complete lines of a watch body; a truncated last line and a dropped connection end it."""
        buffer = b""
        try:
            for chunk in response.stream(65536, decode_content=False):
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                yield from complete
        except (HTTPError, OSError) as exc:
            if self._stop.is_set():
                raise Stopped() from None
            self.on_stream_error(exc)
        finally:
            self._close_connection(conn)
        if self._stop.is_set():
            raise Stopped()
        yield from self.partial_line(buffer)

    def on_stream_error(self, exc: BaseException) -> None:
        """A watch body's read failed (dropped, timed out): the watch ends, as client-go's "Unexpected
        EOF during watch stream event decoding" does, and the loop watches again."""

    def partial_line(self, buffer: bytes) -> Iterator[bytes]:
        """What becomes of an incomplete last line when the stream ends: nothing (it is dropped)."""
        return iter(())

    def _close_connection(self, conn: HTTPConnection) -> None:
        if self._conn is conn:
            self._conn = None
        conn.close()

    def _shutdown_connection(self) -> None:
        conn = self._conn
        sock = getattr(conn, "sock", None) if conn is not None else None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    # --- backoff --------------------------------------------------------------------------
    def backoff_delay(self) -> float:
        now = time.monotonic()
        if self._last_backoff and now - self._last_backoff > self.backoff_reset:
            self._failures = 0
        self._last_backoff = now
        delay = min(self.backoff_cap, self.backoff_base * (2 ** self._failures))
        self._failures += 1
        return delay * (1 + self._random.random() * self.jitter)

    def backoff(self) -> None:
        if self._stop.wait(self.backoff_delay()):
            raise Stopped()


def reflector() -> Reflector:
    """The reference reflector with test-sized settings (``TEST_SIZED``)."""
    return Reflector(**TEST_SIZED)


def reflector_iterator() -> Reflector:
    """The reference reflector as an event iterator (``cache`` False) that keeps the event record: a
    relist yields only what changed, so NoDuplicateEvents holds; test-sized settings."""
    return Reflector(**TEST_SIZED, iterator=True)


def reflector_watch_list() -> Reflector:
    """The reference reflector with the streaming list (WatchListClient) on, test-sized settings."""
    return Reflector(**TEST_SIZED, watch_list=True)


# BoundedRetries measures the backoff users get: client-go's 800 ms doubling to 30 s.
reflector.production = Reflector  # type: ignore[attr-defined]
reflector_watch_list.production = lambda: Reflector(watch_list=True)  # type: ignore[attr-defined]
reflector_iterator.production = lambda: Reflector(iterator=True)  # type: ignore[attr-defined]
