"""Adapters for the official ``kubernetes`` Python client (optional extra ``clients``).

- :func:`shared_informer`: ``kubernetes.informer.SharedInformer`` (37.x), the library's informer,
  used as its docstring shows (``list_func`` a bound ``CoreV1Api`` list method, ``start()``, the
  ``cache``). It keeps a store, never asks for bookmarks, and waits 5 s after a failed list.
- :func:`watch_stream`: ``kubernetes.watch.Watch.stream`` with the user code its docstring shows
  (``for e in watch.stream(v1.list_..., resource_version=...)``), folding ADDED/MODIFIED into a
  dict and removing on DELETED. Before the first stream the user lists (``_preload_content``
  off is not needed: the list returns a model with ``metadata.resource_version``). On an
  ``ApiException`` with status 410 the user lists again and streams from the list's RV, as the
  library's README and ``Watch.stream`` docstring recommend for an expired RV ("re-list");
  on any other exception the user streams again from ``watch.resource_version``. It keeps the
  contract's event record (every event the loop received), so NoDuplicateEvents is checked.

Both report the claimed RV as the library keeps it (the informer's ``_resource_version``; the
folding user's last RV, recorded together with its dict under the adapter's lock).
"""

from __future__ import annotations

import threading

from listwatch_conformance.sut.api import Object
from listwatch_conformance.sut.clients.api import ClientCapabilities, ClientView, EventRecord


def _api(url: str):
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = url
    return client.CoreV1Api(client.ApiClient(configuration))


def _list_func(api, namespace: str | None):
    return api.list_namespaced_config_map if namespace else api.list_config_map_for_all_namespaces


def _to_object(cm) -> Object:
    meta = cm.metadata
    return Object(meta.namespace, meta.name, dict(meta.labels or {}), (cm.data or {}).get("value", ""),
                  int(meta.resource_version))


def _version() -> str:
    try:
        import kubernetes
        return kubernetes.__version__
    except Exception:  # noqa: BLE001
        return "not installed"


class _Official:
    """What both adapters share: the library's version, and a bounded stop of a ``Watch`` and the
    thread that reads it (``SharedInformer.stop()`` joins without a timeout)."""

    def __init__(self) -> None:
        self.version = _version()

    @staticmethod
    def _stop_reader(watch, thread: threading.Thread | None) -> None:
        if watch is not None:
            watch.stop()
        if thread is not None:
            thread.join(4.5)


class SharedInformerAdapter(_Official):
    """kubernetes.informer.SharedInformer over ConfigMaps."""

    name = "kubernetes SharedInformer"
    capabilities = ClientCapabilities(cache=True, lists=True, bookmarks=False, watch_list=False,
                                      user_restarts=False, max_backoff=5.0)

    def __init__(self) -> None:
        super().__init__()
        self._informer = None
        self._synced = False

    def start(self, url: str, namespace: str | None, label_selector: str) -> None:
        from kubernetes.informer import SharedInformer

        api = _api(url)
        kwargs = {"namespace": namespace} if namespace else {}
        self._informer = SharedInformer(_list_func(api, namespace), label_selector=label_selector or None, **kwargs)
        self._informer.start()

    def view(self) -> ClientView:
        inf = self._informer
        with inf.cache._rlock:
            rv = inf._resource_version
            objects = {(o.namespace, o.name): o for o in map(_to_object, inf.cache.list())}
        self._synced = self._synced or rv is not None
        thread = inf._thread
        return ClientView(rv=rv, objects=objects, synced=self._synced,
                          alive=thread is not None and thread.is_alive())

    def stop(self) -> None:
        inf = self._informer
        if inf is None:
            return
        inf._stop_event.set()
        self._stop_reader(inf._watch, inf._thread)


class WatchStreamAdapter(_Official):
    """kubernetes.watch.Watch.stream, folded into a dict by the documented user loop."""

    name = "kubernetes Watch.stream (user fold)"
    capabilities = ClientCapabilities(cache=False, lists=True, bookmarks=False, watch_list=False,
                                      user_restarts=True, max_backoff=0.0)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._objects: dict = {}
        self._rv: str | None = None
        self._stop = threading.Event()
        self._watch = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._events: list[EventRecord] = []  # what the loop below received (the contract's event record)

    def start(self, url: str, namespace: str | None, label_selector: str) -> None:
        self._api, self._namespace, self._selector = _api(url), namespace, label_selector
        self._thread = threading.Thread(target=self._run, name="watch-stream-user", daemon=True)
        self._thread.start()

    def _kwargs(self) -> dict:
        kw = {"namespace": self._namespace} if self._namespace else {}
        if self._selector:
            kw["label_selector"] = self._selector
        return kw

    def _relist(self) -> str:
        listed = _list_func(self._api, self._namespace)(**self._kwargs())
        with self._lock:
            self._objects = {(o.namespace, o.name): o for o in map(_to_object, listed.items or [])}
            self._rv = listed.metadata.resource_version
        return self._rv

    def _run(self) -> None:
        from kubernetes import watch
        from kubernetes.client.exceptions import ApiException

        rv = None
        try:
            while not self._stop.is_set():
                try:
                    if rv is None:
                        rv = self._relist()
                    self._watch = w = watch.Watch()
                    for event in w.stream(_list_func(self._api, self._namespace), resource_version=rv,
                                          **self._kwargs()):
                        obj = _to_object(event["object"])
                        with self._lock:
                            self._events.append(EventRecord(event["type"], obj.namespace, obj.name, obj.rv))
                            if event["type"] == "DELETED":
                                self._objects.pop((obj.namespace, obj.name), None)
                            else:
                                self._objects[(obj.namespace, obj.name)] = obj
                            self._rv = w.resource_version
                        if self._stop.is_set():
                            return
                    rv = w.resource_version or rv
                except ApiException as exc:
                    if exc.status == 410:
                        rv = None  # re-list, as documented for an expired resource version
                    elif self._watch is not None and self._watch.resource_version:
                        rv = self._watch.resource_version
                except Exception:  # noqa: BLE001 - the documented loop: stream again
                    if self._watch is not None and self._watch.resource_version:
                        rv = self._watch.resource_version
        except BaseException as exc:  # noqa: BLE001
            self._error = exc

    def view(self) -> ClientView:
        with self._lock:
            rv, objects, events = self._rv, dict(self._objects), tuple(self._events)
        alive = self._thread is not None and self._thread.is_alive()
        return ClientView(rv=rv, objects=objects, synced=rv is not None, alive=alive, error=self._error,
                          events=events)

    def stop(self) -> None:
        self._stop.set()
        self._stop_reader(self._watch, self._thread)


def shared_informer() -> SharedInformerAdapter:
    return SharedInformerAdapter()


def watch_stream() -> WatchStreamAdapter:
    return WatchStreamAdapter()
