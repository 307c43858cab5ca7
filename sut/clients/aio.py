"""What the asyncio client adapters share: the user's folded dict, and a user loop on its own thread.

- :class:`Fold` is the dict a user of a raw event iterator builds (ADDED/MODIFIED set the key,
  DELETED removes it, a list replaces everything), with the RV the user last got, read and written
  under one lock so :meth:`Fold.view` is a consistent read.
- :class:`FoldingAdapter` is the adapter contract around both: a subclass gives ``_main(url,
  namespace, label_selector)``, the user's coroutine.
- :class:`UserLoop` runs the user's coroutine on a fresh asyncio event loop in a daemon thread;
  :meth:`UserLoop.stop` cancels it and joins within the adapter contract's 5 s. The coroutine's
  exception (an error the user's code does not handle) is kept as the view's ``error``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine, Iterable

from pathlib import Path

from listwatch_conformance.sut.api import Object
from listwatch_conformance.sut.clients.api import ClientCapabilities, ClientView

# The cluster CA a user's kubeconfig names (``certificate-authority``): a self-signed certificate made
# for the suite (its key was discarded). The adversary speaks plain HTTP, so no handshake ever uses
# it; naming it only spares each new client the system's whole CA bundle, which a client without a
# cluster CA loads into an SSL context it builds and never uses (30-50 ms of CPU per client, and
# kubernetes_asyncio builds one per ``watch.Watch()``).
CLUSTER_CA = str(Path(__file__).with_name("cluster-ca.pem"))


def distribution_version(name: str) -> str:
    """The installed version of distribution ``name`` (for the report), or "not installed"."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def configmap_object(raw: dict) -> Object:
    """A ConfigMap as a dict (the wire's JSON) as the suite's Object."""
    meta = raw.get("metadata") or {}
    return Object(meta.get("namespace", ""), meta.get("name", ""), dict(meta.get("labels") or {}),
                  (raw.get("data") or {}).get("value", ""), int(meta["resourceVersion"]))


class Fold:
    """The user's dict of (namespace, name) -> Object and the RV it last got, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._objects: dict = {}
        self._rv: str | None = None

    def replace(self, objects: Iterable[Object], rv: str) -> None:
        """A list: the user's dict becomes exactly ``objects`` at ``rv``."""
        with self._lock:
            self._objects = {(o.namespace, o.name): o for o in objects}
            self._rv = rv

    def apply(self, event_type: str, obj: Object, rv: str | None = None) -> None:
        """One event; ``rv`` is the RV the user now holds (the event object's unless given)."""
        key = (obj.namespace, obj.name)
        with self._lock:
            if event_type == "DELETED":
                self._objects.pop(key, None)
            else:
                self._objects[key] = obj
            self._rv = rv if rv is not None else str(obj.rv)

    def view(self, alive: bool, error: BaseException | None, listed: bool = True) -> ClientView:
        """``listed``: the user lists first, so holding an RV means the first list is done (synced);
        a watch-only user has no such moment and is never synced."""
        with self._lock:
            rv, objects = self._rv, dict(self._objects)
        return ClientView(rv=rv, objects=objects, synced=listed and rv is not None, alive=alive, error=error)


class UserLoop:
    """``main()`` run on its own asyncio loop in a daemon thread, cancellable from another thread."""

    def __init__(self, name: str, main: Callable[[], Coroutine]) -> None:
        self._main = main
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task | None = None
        self._ready = threading.Event()
        self._stopping = False
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            self._task = loop.create_task(self._main())
            self._ready.set()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # noqa: BLE001 - what ended the user's loop, for view().error
            if not self._stopping:
                self.error = exc
        finally:
            self._ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    def stop(self, timeout: float = 4.5) -> None:
        """Cancel the user's task and join the thread (bounded: the contract's 5 s)."""
        self._stopping = True
        if not self._thread.is_alive():
            return
        self._ready.wait(timeout)
        loop, task = self._loop, self._task
        if loop is not None and task is not None:
            try:
                loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop closed meanwhile
                pass
        self._thread.join(timeout)


class FoldingAdapter:
    """A raw iterator's adapter: the user's coroutine (``_main``) folds into ``self.fold``."""

    distribution = ""  # the library's distribution name, for ``version``
    capabilities: ClientCapabilities

    def __init__(self) -> None:
        self.version = distribution_version(self.distribution)
        self.fold = Fold()
        self._loop: UserLoop | None = None

    async def _main(self, url: str, namespace: str | None, label_selector: str) -> None:
        raise NotImplementedError

    def start(self, url: str, namespace: str | None, label_selector: str) -> None:
        self._loop = UserLoop(f"{self.distribution}-user", lambda: self._main(url, namespace, label_selector))
        self._loop.start()

    def view(self) -> ClientView:
        loop = self._loop
        return self.fold.view(alive=loop is not None and loop.alive, error=loop.error if loop else None,
                              listed=self.capabilities.lists)

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.stop()
