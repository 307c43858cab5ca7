"""Adapters for kopf's watching loop (optional extra ``clients``): ``kopf._cogs.clients.watching.infinite_watch``.

kopf has no informer and no public list-watch API: its operators consume the raw events of
``infinite_watch`` (a private entry point, ``kopf/_cogs/clients/watching.py``), which lists in
chunks (``fetching.fetch_objs``), yields each listed object as an event of ``type=None`` and then
``Bookmark.LISTED``, and watches from the last RV it saw, relisting after an ERROR 410.

- :func:`kopf_watch`: ``infinite_watch`` with the default settings;
- :func:`kopf_watch_streaming`: the same with ``settings.watching.initial_streaming = True``
  (``sendInitialEvents``; kopf marks the streamed ADDEDs ``type=None`` and yields ``LISTED`` at the
  first bookmark, ``watching.py`` L222-230).

The user code is kopf's own consumer of those events, its in-memory indices (``kopf.index``,
``kopf/_core/engines/indexing.py`` L302-306): a listed, ADDED or MODIFIED object is stored under
its key, a DELETED one discarded; nothing else removes an object (no relist diff). ``synced`` is
``LISTED`` seen. The claimed RV is the one kopf itself resumes from (``continuous_watch``'s local
``resource_version``, L166 and L234, read from the suspended generator at each event, so it is
recorded together with the dict): from ``LISTED`` on (streaming: from the end bookmark's event), and
at every later event or bookmark; while a relist's ``type=None`` events arrive the index mixes old
and new objects, and the adapter claims no RV until its ``LISTED``. An
exception out of ``infinite_watch`` ends the loop, as it ends an operator's watcher for good
(``kopf/_core/reactor/orchestration.py``: a failed watcher is not respawned).

The loop is an asyncio loop in the adapter's own thread, with kopf's credentials vault (the
context variable ``auth.vault_var``) holding one ``ConnectionInfo(server=url, ca_path=CLUSTER_CA)``.
``stop()`` cancels the task, closes kopf's HTTP sessions and joins the thread within 5 s.

kopf retries a failed request with ``settings.networking.error_backoffs`` (1, 1, 2, 3, 5, 8, 13,
21 s); for the state machine the factories scale them by 1/100, and their ``production`` attribute
(used by BoundedRetries) keeps kopf's defaults. A 429's ``Retry-After: 1`` still waits 1 s.
"""

from __future__ import annotations

import asyncio
import logging
import threading

from listwatch_conformance.sut.api import Object
from listwatch_conformance.sut.clients.aio import CLUSTER_CA
from listwatch_conformance.sut.clients.api import ClientCapabilities, ClientView

SHORT_BACKOFFS = (0.01, 0.01, 0.02, 0.03, 0.05, 0.08, 0.13, 0.21)  # kopf's defaults / 100


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("kopf")
    except Exception:  # noqa: BLE001
        return "not installed"


def _to_object(body: dict) -> Object:
    meta = body["metadata"]
    return Object(meta.get("namespace", ""), meta["name"], dict(meta.get("labels") or {}),
                  (body.get("data") or {}).get("value", ""), int(meta["resourceVersion"]))


class KopfWatchAdapter:
    """kopf's ``infinite_watch`` over ConfigMaps, consumed as kopf's indices consume it."""

    def __init__(self, *, initial_streaming: bool, short_backoffs: bool) -> None:
        self.name = "kopf infinite_watch" + (" (initial_streaming)" if initial_streaming else "")
        self.version = _version()
        # 429's Retry-After (1 s) is the longest sleep once the error backoffs are scaled down
        self.capabilities = ClientCapabilities(cache=False, lists=not initial_streaming, bookmarks=True,
                                               watch_list=initial_streaming, user_restarts=False,
                                               max_backoff=1.0 if short_backoffs else 21.0)
        self._initial_streaming = initial_streaming
        self._short_backoffs = short_backoffs
        self._lock = threading.Lock()
        self._objects: dict = {}
        self._rv: str | None = None
        self._synced = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None

    def start(self, url: str, namespace: str | None, label_selector: str) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(url, namespace, label_selector, ready),
                                        name="kopf-watch", daemon=True)
        self._thread.start()
        ready.wait(5.0)  # the loop and its task exist, so stop() can cancel it

    def _settings(self, label_selector: str):
        import kopf

        settings = kopf.OperatorSettings()
        settings.watching.initial_streaming = self._initial_streaming
        if self._short_backoffs:
            settings.networking.error_backoffs = SHORT_BACKOFFS
        if label_selector:
            settings.watching.label_selectors[self._resource()] = label_selector
        return settings

    @staticmethod
    def _resource():
        from kopf._cogs.structs import references
        return references.Resource(group="", version="v1", plural="configmaps", namespaced=True)

    def _run(self, url: str, namespace: str | None, label_selector: str, ready: threading.Event) -> None:
        self._loop = loop = asyncio.new_event_loop()
        try:
            self._task = loop.create_task(self._watch(url, namespace, label_selector))
            ready.set()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # noqa: BLE001 - what ended the watcher
            self._error = exc
        finally:
            ready.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _watch(self, url: str, namespace: str | None, label_selector: str) -> None:
        from kopf._cogs.clients import auth, watching
        from kopf._cogs.structs import credentials

        vault = credentials.Vault()
        # the cluster's CA, as a kubeconfig names it (``aio.CLUSTER_CA``: never used over plain HTTP)
        await vault.populate({"adversary": credentials.ConnectionInfo(server=url, ca_path=CLUSTER_CA)})
        auth.vault_var.set(vault)
        stream = watching.infinite_watch(settings=self._settings(label_selector), resource=self._resource(),
                                         namespace=namespace)
        try:
            async for event in stream:
                self._fold(event, _resume_rv(stream))
        finally:
            await stream.aclose()
            await vault.close()

    def _fold(self, event, rv: str | None) -> None:
        from kopf._cogs.clients.watching import Bookmark

        with self._lock:
            if event is Bookmark.LISTED:
                self._synced = True
                if not self._initial_streaming:  # streaming: the end bookmark's own event follows at once
                    self._rv = rv
                return
            kind, body = event["type"], event["object"]
            if kind == "DELETED":
                self._objects.pop(_key(body), None)
            elif kind != "BOOKMARK":  # None (listed or streamed initial state), ADDED, MODIFIED
                obj = _to_object(body)
                self._objects[(obj.namespace, obj.name)] = obj
            if kind is None:
                self._rv = None  # a (re)listing in progress: a mix of old and new, no RV claimed
            elif self._synced:
                self._rv = rv

    def view(self) -> ClientView:
        with self._lock:
            rv, objects, synced = self._rv, dict(self._objects), self._synced
        alive = self._thread is not None and self._thread.is_alive()
        return ClientView(rv=rv, objects=objects, synced=synced, alive=alive, error=self._error)

    def stop(self) -> None:
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop is already closed: the watcher ended on its own
                pass
        if self._thread is not None:
            self._thread.join(4.5)


def _key(body: dict) -> tuple[str, str]:
    meta = body["metadata"]
    return meta.get("namespace", ""), meta["name"]


def _resume_rv(stream) -> str | None:
    """The RV kopf would resume from: ``continuous_watch``'s ``resource_version``, read from the
    suspended generators (``infinite_watch`` holds it as its local ``stream``)."""
    outer = stream.ag_frame
    inner = outer.f_locals.get("stream") if outer is not None else None
    frame = getattr(inner, "ag_frame", None)
    return frame.f_locals.get("resource_version") if frame is not None else None


def _quiet() -> None:
    logging.getLogger("kopf").setLevel(logging.CRITICAL)  # kopf logs every retry at ERROR


def _adapter(initial_streaming: bool, short_backoffs: bool) -> KopfWatchAdapter:
    _quiet()
    # imported here, not in the loop's thread: under load importing kopf took over 3 s, which the
    # machine's wait for the first request would blame on the client (StaysAlive "after start")
    import kopf  # noqa: F401
    from kopf._cogs.clients import auth, watching  # noqa: F401
    return KopfWatchAdapter(initial_streaming=initial_streaming, short_backoffs=short_backoffs)


def kopf_watch() -> KopfWatchAdapter:
    return _adapter(False, True)


def kopf_watch_streaming() -> KopfWatchAdapter:
    return _adapter(True, True)


kopf_watch.production = lambda: _adapter(False, False)
kopf_watch_streaming.production = lambda: _adapter(True, False)
