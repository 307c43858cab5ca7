"""The ``@kubernetes/client-node`` informer (``makeInformer``), run in a node subprocess.

``sut/clients/node/informer.mjs`` uses the library as its informer example shows
(``examples/typescript/informer/informer.ts`` in kubernetes-client/javascript: ``makeInformer(kc,
path, listFn)``, and on ``'error'`` the documented restart ``setTimeout(() => informer.start(),
5000)``), and answers view requests in JSON lines (its header states the protocol). The informer
keeps a store (``ListWatch.objects``); the claimed RV is ``latestResourceVersion()``; ``synced`` is
"a list returned" (the library has no has-synced signal; the user's ``listFn`` sees it).

Version: ``@kubernetes/client-node`` 2.0.1, the newest, pinned in ``sut/clients/node/package.json``
with its lockfile. 2.x depends on undici 8, which needs node >= 22.19; this machine (and Debian
bookworm's CI image) has node 20, so an npm ``overrides`` entry pins undici 7 (``^7.16``), whose
``fetch``, ``Agent`` and ``ProxyAgent`` are the ones client-node 2.0.1 imports. The informer code
under test (``dist/cache.js``, ``dist/watch.js``) is 2.0.1's own: pinning the last release that runs
on node 20 (1.4.0) would check an informer without the reconnect backoff that 2.0 added.

Install: ``npm ci --prefix sut/clients/node`` (the README and ``.ci/run`` do). The adapter looks for
``node_modules`` in ``$LISTWATCH_CLIENT_NODE_DIR`` if set, else next to ``informer.mjs`` (inside the
installed package: ``npm ci --prefix "$(python -c 'import listwatch_conformance.sut.clients as c;
print(c.__path__[0])')/node"``). Where node or the package is missing, :func:`unavailable` says so;
the factory carries it as its ``unavailable`` attribute, and ``--client client-node`` and the
findings tests skip with that reason.

For the state machine the informer's reconnect backoff (1 s doubling to 30 s, ``cache.js`` L143-149)
and the user's 5 s restart are scaled by 1/100 (``delayFn``, the informer's own hook); the factories'
``production`` attribute keeps them as shipped, for BoundedRetries.

Loading the library takes node about 1 s of CPU, so the adapters share node processes: each
:meth:`start` takes an idle one (or starts one) and runs a fresh informer in it (a new ``KubeConfig``,
API client and ``makeInformer``: nothing of the example before is reused but the loaded library and
undici's connection pool, whose connections were to the previous example's server, which closed
them). :meth:`stop` stops the informer, and ``informer.mjs`` then makes sure it can make no request
any more; the process goes back to the pool only if it answered that in time, and is ended
otherwise (killed after 2 s). Idle processes end at exit, and any process ends when the adapter's
process dies (its stdin closes).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from listwatch_conformance.sut.api import Object
from listwatch_conformance.sut.clients.api import ClientCapabilities, ClientView

HERE = Path(__file__).parent / "node"
SCRIPT = HERE / "informer.mjs"
PACKAGE = "@kubernetes/client-node"
FAST = 0.01  # the backoff scale for the state machine
VIEW_DEADLINE = 5.0
STOP_DEADLINE = 2.0
READY_DEADLINE = 60.0  # loading the library under load (CI's 2 busy cores) took up to 11 s


class ClientNodeUnavailable(RuntimeError):
    """node or the npm package is missing; the message says what to install."""


def modules_dir() -> Path:
    """The node_modules folder the adapter uses."""
    base = os.environ.get("LISTWATCH_CLIENT_NODE_DIR")
    return (Path(base) if base else HERE) / "node_modules"


def unavailable() -> str | None:
    """Why the adapter cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not on PATH (the client-node adapter runs @kubernetes/client-node in a node subprocess)"
    package = modules_dir() / PACKAGE / "package.json"
    if not package.is_file():
        return (f"{PACKAGE} is not installed in {modules_dir()}: run `npm ci --prefix {HERE}` "
                "(or set LISTWATCH_CLIENT_NODE_DIR to a folder where `npm ci` ran with sut/clients/node/package.json)")
    return None


def _version() -> str:
    try:
        return json.loads((modules_dir() / PACKAGE / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return "not installed"


class _NodeProcess:
    """One ``node informer.mjs`` process and its JSON-lines channel (every read has a deadline)."""

    def __init__(self) -> None:
        self._stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(["node", str(SCRIPT), str(modules_dir())], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True, bufsize=1)
        self._lines: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="client-node-stdout", daemon=True)
        self._reader.start()
        self._ready = False
        self.in_sync = True  # every request so far got its own answer: the channel can be reused

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(None)  # EOF: the process ended

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _answer(self, deadline: float) -> dict | None:
        try:
            line = self._lines.get(timeout=deadline)
        except queue.Empty:
            return None
        return None if line is None else json.loads(line)

    def wait_ready(self) -> bool:
        self._ready = self._ready or self._answer(READY_DEADLINE) == {"ready": True}
        return self._ready

    def ask(self, request: dict, deadline: float = VIEW_DEADLINE) -> dict | None:
        """Send one request; its answer, or None if the process ended or did not answer in time."""
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            self.in_sync = False
            return None
        answer = self._answer(deadline)
        if answer is None:
            self.in_sync = False  # a late answer would be read as the next request's
        return answer

    def stderr(self) -> str:
        try:
            self._stderr.seek(0)
            return self._stderr.read().decode(errors="replace")[-2000:]
        except (OSError, ValueError):
            return ""

    def end(self) -> None:
        """Ask it to exit, kill it after 2 s, and release its pipes and thread."""
        proc = self.proc
        if proc.poll() is None:
            try:
                proc.stdin.write('{"op": "exit"}\n')
                proc.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass
            try:
                proc.wait(2.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(2.0)
        self._reader.join(1.0)
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except (OSError, ValueError):
                pass
        self._stderr.close()


# Loading the library costs node about 1 s of CPU (its generated API): a process whose informer was
# stopped cleanly runs the next adapter's informer (ended at exit).
_idle: list[_NodeProcess] = []
_idle_lock = threading.Lock()


def _take_process() -> _NodeProcess:
    """An idle loaded process, or a new one."""
    with _idle_lock:
        while _idle:
            proc = _idle.pop()
            if proc.alive():
                return proc
            proc.end()
    return _NodeProcess()


def _give_back(proc: _NodeProcess) -> None:
    """Stop the process's informer; keep the process for the next adapter if it confirmed in time."""
    if proc.alive() and proc.in_sync and proc.ask({"op": "stop"}, STOP_DEADLINE) == {"stopped": True}:
        with _idle_lock:
            _idle.append(proc)
    else:
        proc.end()


@atexit.register
def _end_idle() -> None:
    with _idle_lock:
        idle = list(_idle)
        _idle.clear()
    for proc in idle:
        proc.end()


class ClientNodeInformer:
    """``makeInformer`` over ConfigMaps in a node subprocess, restarted on 'error' as documented."""

    name = "@kubernetes/client-node makeInformer"

    def __init__(self, scale: float) -> None:
        self.version = _version()
        self.capabilities = ClientCapabilities(cache=True, lists=True, bookmarks=False, watch_list=False,
                                               user_restarts=True, max_backoff=30.0 * scale)
        self._scale = scale
        self._node: _NodeProcess | None = None
        self._lock = threading.Lock()
        self._error: BaseException | None = None

    def start(self, url: str, namespace: str | None, label_selector: str) -> None:
        reason = unavailable()
        if reason is not None:
            raise ClientNodeUnavailable(reason)
        self._node = node = _take_process()
        started = node.wait_ready() and node.ask({"op": "start", "url": url, "namespace": namespace or "",
                                                  "labelSelector": label_selector, "scale": self._scale})
        if started != {"started": True}:
            raise ClientNodeUnavailable(f"node {SCRIPT.name} did not start within {READY_DEADLINE:.0f} s: "
                                        f"{started!r}; its stderr: {node.stderr()}")

    def view(self) -> ClientView:
        with self._lock:
            node = self._node
            answer = node.ask({"op": "view"}) if node is not None and node.alive() else None
            if answer is None:  # ended, or hung: either way the informer is not running any more
                if self._error is None:
                    self._error = RuntimeError(f"the node informer process ended or hung; its stderr: "
                                               f"{node.stderr() if node else ''}")
                return ClientView(rv=None, objects={}, synced=False, alive=False, error=self._error)
        objects = {(o["namespace"], o["name"]): Object(o["namespace"], o["name"], o["labels"], o["value"], o["rv"])
                   for o in answer["objects"]}
        return ClientView(rv=answer["rv"], objects=objects, synced=answer["synced"], alive=True)

    def stop(self) -> None:
        with self._lock:
            node, self._node = self._node, None
        if node is not None:
            _give_back(node)


def client_node() -> ClientNodeInformer:
    return ClientNodeInformer(FAST)


client_node.production = lambda: ClientNodeInformer(1.0)
client_node.unavailable = unavailable
