"""The adversary: a lockstep HTTP server speaking the Kubernetes ConfigMap API to a client under test.

Nothing is answered on its own. Each request for ConfigMaps (a list, a watch, or a GET of one
ConfigMap) is recorded and held until the suite decides its answer (:meth:`Adversary.next_request`,
then :meth:`reply` or :meth:`open_stream`); on an open watch, bytes reach the client only when the
suite sends them (:class:`Stream`). So a deterministic client, given the same decisions, makes the same requests.
Discovery (``/version``, ``/api``, ``/api/v1``, ``/apis``) is answered at once from
``sut/kube/discovery.py``, as Kubernetes answers it (legacy discovery documents), and so is ``/healthz``.

Wire behaviour, as a real apiserver sends it:

- bodies are JSON; errors are ``Status`` objects (``sut/kube/wire.py``) with the HTTP code of
  the failure, ``Retry-After`` where the apiserver sets one (429, and 504 "too large");
- a watch answers ``200`` with ``Transfer-Encoding: chunked``, one event per chunk, each a JSON
  line ending in ``\\n``; a clean end writes the terminating chunk; a *cut* writes what it was
  given (a truncated line) and drops the connection without the terminating chunk, as a dying
  apiserver or a proxy does;
- HTTP/1.1 keep-alive: a client may send its next request on the same connection;
- ``TCP_NODELAY``, as Go's net package sets it on every TCP connection: each write goes out at once
  (with Nagle's algorithm a reply's body, and each chunk after the first, waited for the client's
  delayed ACK, 40 ms on Linux: 44 ms a request instead of 0.2 ms).

Every request (method, path, query, monotonic time) is kept in :attr:`Adversary.requests`.
Threads: one serving thread, one per connection (stdlib ``ThreadingHTTPServer``). Every wait has a
deadline, and :meth:`Adversary.stop` releases held requests, drops every connection and joins
every thread within its deadline.

Why the standard library's server rather than Starlette/uvicorn as ``sut/kube/server.py``: the
machine is synchronous and decides each answer itself; a handler thread that blocks until the
decision arrives is lockstep with no event-loop bridging, and the chunk framing (including a
cut without the terminating chunk) is under the suite's control byte for byte.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs

from listwatch_conformance.sut.kube import discovery, wire

HOLD_LIMIT = 120.0  # a held request is answered 503 after this long: the machine forgot it


def parse_bool(text: str | None) -> bool | None:
    """Go's ``strconv.ParseBool``: None for absent or unparsable."""
    if text is None:
        return None
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


@attrs.frozen
class Request:
    """One request the client made, as recorded."""

    seq: int
    method: str
    path: str
    query: dict[str, str] = attrs.field(eq=False)  # the last value of each parameter
    time: float  # time.monotonic() on arrival

    @property
    def namespace(self) -> str | None:
        parts = self.path.strip("/").split("/")
        return parts[3] if len(parts) >= 5 and parts[2] == "namespaces" else None

    @property
    def is_collection(self) -> bool:
        parts = self.path.strip("/").split("/")
        return self.method == "GET" and parts[:2] == ["api", "v1"] and parts[-1] == "configmaps" \
            and len(parts) in (3, 5)

    @property
    def is_object(self) -> bool:
        """A GET of one ConfigMap by name (kubectl reads the object before it waits on it)."""
        parts = self.path.strip("/").split("/")
        return self.method == "GET" and parts[:3] == ["api", "v1", "namespaces"] and len(parts) == 6 \
            and parts[4] == "configmaps"

    @property
    def name(self) -> str | None:
        return self.path.strip("/").split("/")[5] if self.is_object else None

    @property
    def watch(self) -> bool:
        return bool(parse_bool(self.query.get("watch")))

    @property
    def rv(self) -> str:
        """``resourceVersion`` as sent; ``""`` when absent."""
        return self.query.get("resourceVersion", "")

    @property
    def allow_bookmarks(self) -> bool:
        return bool(parse_bool(self.query.get("allowWatchBookmarks")))

    @property
    def send_initial_events(self) -> bool:
        return bool(parse_bool(self.query.get("sendInitialEvents")))

    @property
    def kind(self) -> str:
        """``list``, ``watch`` (plain), ``watch-list`` (sendInitialEvents), ``get`` (one object) or ``other``."""
        if self.is_object:
            return "get"
        if not self.is_collection:
            return "other"
        if not self.watch:
            return "list"
        return "watch-list" if self.send_initial_events else "watch"

    def __repr__(self) -> str:
        shown = "&".join(f"{k}={v}" for k, v in self.query.items() if k != "timeoutSeconds")
        return f"{self.method} {self.path}{'?' + shown if shown else ''}"


@attrs.frozen
class Reply:
    status: int
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


class _Held:
    """A request waiting for the machine's decision: a Reply, or a Stream to serve."""

    def __init__(self, request: Request):
        self.request = request
        self.decided = threading.Event()
        self.decision: Reply | Stream | None = None


_END, _CUT = object(), object()


class Stream:
    """An open watch: what the machine sends goes out as one chunk each.

    ``send`` queues bytes; ``end`` ends the body cleanly (terminating chunk); ``cut`` sends the
    given bytes and drops the connection without the terminating chunk. After either, sends are
    ignored. ``gone`` is set once the connection failed or the client closed it.
    """

    def __init__(self, request: Request):
        self.request = request
        self.items: queue.SimpleQueue = queue.SimpleQueue()
        self.ended = False
        self.gone = threading.Event()
        self.finished = threading.Event()  # the handler wrote everything queued (or the connection died)

    def send(self, data: bytes) -> None:
        if not self.ended:
            self.items.put(data)

    def end(self) -> None:
        if not self.ended:
            self.ended = True
            self.items.put(_END)

    def cut(self, data: bytes = b"") -> None:
        if not self.ended:
            self.ended = True
            if data:
                self.items.put(data)
            self.items.put(_CUT)

    def flushed(self, timeout: float) -> bool:
        """Wait until the handler has written everything queued so far (after end/cut: all of it)."""
        return self.finished.wait(timeout) if self.ended else True


def status_body(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


class Adversary:
    """The lockstep server. ``start()`` binds 127.0.0.1 on a free port; ``url`` is its address."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self._held: queue.SimpleQueue = queue.SimpleQueue()
        self._all_held: list[_Held] = []
        self._streams: list[Stream] = []
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._taken: dict[int, _Held] = {}  # requests the machine took and has not answered yet

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> str:
        adversary = self

        class Handler(_Handler):
            owner = adversary

        server = _Server(("127.0.0.1", 0), Handler)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="adversary", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self, deadline: float = 5.0) -> None:
        """Release every held request (503), end every stream, drop every connection, join threads."""
        self._stopping.set()
        with self._lock:
            held, streams, conns = list(self._all_held), list(self._streams), list(self._connections)
        for h in held:
            if not h.decided.is_set():
                h.decision = Reply(503, status_body(wire.status(503, "ServiceUnavailable", "the example ended")))
                h.decided.set()
        for s in streams:
            s.cut()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        end = time.monotonic() + deadline
        threads = [self._thread] + (self._server.handler_threads if self._server is not None else [])
        for t in threads:
            if t is not None and t is not threading.current_thread():
                t.join(max(0.0, end - time.monotonic()))

    # --- the machine's side ---------------------------------------------------------------
    def next_request(self, timeout: float) -> Request | None:
        """The oldest held request not yet taken, waiting up to ``timeout`` seconds for one."""
        try:
            held = self._held.get(timeout=timeout)
        except queue.Empty:
            return None
        self._taken[held.request.seq] = held
        return held.request

    def reply(self, request: Request, status: int, doc: Any, headers: tuple[tuple[str, str], ...] = ()) -> None:
        """Answer a held request with ``status`` and the JSON ``doc``."""
        self._decide(request, Reply(status, status_body(doc), headers))

    def open_stream(self, request: Request) -> Stream:
        """Answer a held watch with 200 and a chunked body the machine writes through the Stream."""
        stream = Stream(request)
        with self._lock:
            self._streams.append(stream)
        self._decide(request, stream)
        return stream

    def _decide(self, request: Request, decision: Reply | Stream) -> None:
        held = self._taken.pop(request.seq)
        held.decision = decision
        held.decided.set()

    # --- the handlers' side ---------------------------------------------------------------
    def _record(self, method: str, target: str) -> Request:
        parts = urlsplit(target)
        with self._lock:
            request = Request(len(self.requests), method, parts.path, dict(parse_qsl(parts.query, keep_blank_values=True)),
                              time.monotonic())
            self.requests.append(request)
        return request

    def _hold(self, request: Request) -> Reply | Stream:
        held = _Held(request)
        with self._lock:
            self._all_held.append(held)
        if self._stopping.is_set():
            return Reply(503, status_body(wire.status(503, "ServiceUnavailable", "the example ended")))
        self._held.put(held)
        if not held.decided.wait(HOLD_LIMIT):
            return Reply(503, status_body(wire.status(503, "ServiceUnavailable", "the suite never answered")))
        assert held.decision is not None
        return held.decision


class _Server(ThreadingHTTPServer):
    """A threading server whose connection threads are daemons that ``Adversary.stop`` joins itself."""

    daemon_threads = True
    block_on_close = False

    def __init__(self, *args: Any, **kwargs: Any):
        self.handler_threads: list[threading.Thread] = []
        super().__init__(*args, **kwargs)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that drops its connection is not the server's trouble

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(target=self.process_request_thread, args=(request, client_address),
                                  name="adversary-connection", daemon=True)
        self.handler_threads.append(thread)
        thread.start()


class _Handler(BaseHTTPRequestHandler):
    owner: Adversary
    protocol_version = "HTTP/1.1"
    server_version = "listwatch-conformance-adversary"
    # TCP_NODELAY: a reply is written as headers, then body (and a watch as one write per chunk); with
    # Nagle's algorithm each write after the first waits for the client's delayed ACK (40 ms on Linux)
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        pass

    def setup(self) -> None:
        super().setup()
        with self.owner._lock:
            self.owner._connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.owner._lock:
                self.owner._connections.discard(self.connection)

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
        request = self.owner._record("GET", self.path)
        path = request.path.rstrip("/") or "/"
        if path == "/healthz":
            return self._send(Reply(200, b"ok", (("Content-Type", "text/plain"),)))
        doc = discovery.document(path, f"{self.server.server_address[0]}:{self.server.server_address[1]}")
        if doc is not None:
            return self._send(Reply(200, status_body(doc)))
        if request.kind == "other":
            return self._send(Reply(404, status_body(wire.status(404, "NotFound", "the server could not find the "
                                                                 "requested resource"))))
        decision = self.owner._hold(request)
        if isinstance(decision, Stream):
            self._serve_stream(decision)
        else:
            self._send(decision)

    def _other(self) -> None:
        self.owner._record(self.command, self.path)
        self._drain_body()
        self._send(Reply(405, status_body(wire.status(405, "MethodNotAllowed",
                                                      "the adversary serves only reads"))))

    do_POST = do_PUT = do_DELETE = do_PATCH = _other

    def _drain_body(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        headers = dict(reply.headers)
        headers.setdefault("Content-Type", "application/json")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        try:
            self.wfile.write(reply.body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True

    def _serve_stream(self, stream: Stream) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.flush()
            while True:
                try:
                    item = stream.items.get(timeout=HOLD_LIMIT)
                except queue.Empty:
                    item = _CUT
                if item is _END:
                    self.wfile.write(b"0\r\n\r\n")
                    self.wfile.flush()
                    return
                if item is _CUT:
                    self.close_connection = True
                    try:
                        self.connection.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                    return
                self.wfile.write(b"%x\r\n%s\r\n" % (len(item), item))
                self.wfile.flush()
        except OSError:
            stream.gone.set()
            self.close_connection = True
        finally:
            stream.finished.set()
