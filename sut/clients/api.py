"""The client adapter contract: what ``pytest properties --client MODULE:NAME`` must return.

``NAME()`` returns a fresh :class:`Client` adapter; the suite makes one per Hypothesis example,
reads ``capabilities`` before ``start()``, and calls ``stop()`` when the example ends.

The client under test runs its own list/watch loop (in its own thread, event loop or process)
against the suite's adversary: an HTTP server on 127.0.0.1 speaking the Kubernetes ConfigMap
API (``sut/kube/wire.py``'s format: the object's value in ``data["value"]``, integer RVs as
decimal strings). The adversary answers nothing on its own: every request waits until the
suite decides its answer, and events reach an open watch only when the suite sends them.

start(url, namespace, label_selector)
    Begin list-watching the ConfigMaps at ``url`` (``http://127.0.0.1:PORT``, no auth, no TLS)
    in ``namespace`` (``None``: all namespaces) with ``label_selector`` (``""``: all). Returns at
    once; the client's loop runs on its own.

view()
    A consistent read of what the client's user sees now: ``rv`` and ``objects`` from the same
    moment (under the adapter's lock or the library's). Before the first sync, ``rv=None`` and
    ``objects={}``. ``rv`` is the RV the client says it is synced to (its last-sync RV, the RV
    of its last event or bookmark, ...); the suite checks that ``objects`` equals the true
    filtered state at that RV, so a client whose RV runs ahead of its store is wrong.
    ``synced`` is the has-synced signal (once True it stays True); ``alive`` says the loop
    still runs, ``error`` what ended it.

stop()
    Returns within 5 s and ends every thread, task and process the adapter or its library
    started. Called once per example, also after a failure; it must not raise.

Backoff: a client's sleeps between requests make the suite's waits long. An adapter may shorten
them for the state machine (``capabilities.max_backoff`` states the longest sleep, and the waits
for the client's next request scale with it). BoundedRetries, a rate, is measured with the backoff
users get: if the factory is shortened, it names the production configuration as its attribute
``production`` (a factory too), as ``sut/clients/reflector.py``'s ``reflector`` does.

An unobservable view: a client whose state its user cannot read (kubectl wait runs an informer and
prints only the outcome) sets ``capabilities.observable_view = False``. Its ``view()`` returns
``rv=None, objects={}, synced=False`` and says only whether it is alive; the suite then judges only
what its requests show (ResumeFromLastSeen, NoRetryAtExpiredRV, TooLargeFallsBack, WatchListSync's
request part, BoundedRetries) and reports the others as not checked.

A factory whose client cannot run on this machine (a missing runtime or package) may carry an
``unavailable`` attribute: a function returning the reason, or None; the client tests then skip
with that reason instead of failing (``client_node.py``'s ``client_node`` does).

For a raw event iterator (``capabilities.cache`` False) the adapter *is* the user code the
library documents: it folds ADDED/MODIFIED/DELETED into a dict and, on an error, does what the
library's documentation tells a user to do. That code is part of what is checked, so it must
be the documented usage and no more; its docstring names the documentation it follows.

The event record (optional, iterators only): an iterator adapter may also return, in
``view().events``, every event its user loop received so far, oldest first, as
:class:`EventRecord` ``(type, namespace, name, rv)`` for ADDED, MODIFIED and DELETED (bookmarks
and errors are not user events). The record only grows, and is read together with ``rv`` and
``objects``. With it the suite checks NoDuplicateEvents (no ``(key, rv)`` yielded twice); without
it (``None``, the default) that guarantee is not checked. Informers leave it ``None``: their
callbacks may repeat after a relist by design, and their store is what is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple, Protocol, runtime_checkable

import attrs

from listwatch_conformance.sut.api import Object

Key = tuple[str, str]  # (namespace, name)


class EventRecord(NamedTuple):
    """One event an iterator yielded to its user."""

    type: str  # ADDED, MODIFIED or DELETED
    namespace: str
    name: str
    rv: int  # the object's RV as yielded (a DELETED carries the delete's RV)


@attrs.frozen
class ClientCapabilities:
    """What the client does, so the suite draws only behaviour that concerns it."""

    cache: bool  # keeps a store (informers); False: an event iterator the adapter folds
    lists: bool  # lists before watching and on relist (False: watch-only)
    bookmarks: bool  # requests allowWatchBookmarks
    watch_list: bool  # may use sendInitialEvents (streaming list)
    user_restarts: bool  # documented: the user restarts it after an error (the adapter does so)
    # The longest sleep the client may take between two requests, in seconds (its backoff cap);
    # the suite's waits for the client's next request scale with it.
    max_backoff: float = 0.0
    # view() shows what the client's user sees. False: the client's state cannot be observed (a
    # CLI's informer, as kubectl wait's), view() only says it is alive, and only the request-level
    # guarantees (model/client_guarantees.py REQUEST_LEVEL) are judged, on its request log.
    observable_view: bool = True


def _freeze(objects: Mapping[Key, Object]) -> Mapping[Key, Object]:
    return MappingProxyType(dict(objects))


@attrs.frozen
class ClientView:
    """What the client's user sees at one moment."""

    rv: str | None  # the RV the client says it is synced to, None before any
    objects: Mapping[Key, Object] = attrs.field(converter=_freeze)  # (namespace, name) -> Object
    synced: bool  # its has-synced signal (raw iterators: first list / initial state done)
    alive: bool  # its loop is still running
    error: BaseException | None = attrs.field(default=None, eq=False)  # what ended it, if it ended
    # iterators only: the events yielded to the user so far, oldest first (the module docstring)
    events: tuple[EventRecord, ...] | None = attrs.field(default=None, eq=False,
                                                         converter=lambda e: None if e is None else tuple(e))


@runtime_checkable
class Client(Protocol):
    """A client library driven through an adapter; see the module docstring for the contract."""

    capabilities: ClientCapabilities
    name: str  # e.g. "kubernetes SharedInformer", for the report
    version: str  # e.g. "37.0.2"

    def start(self, url: str, namespace: str | None, label_selector: str) -> None: ...

    def view(self) -> ClientView: ...

    def stop(self) -> None: ...
