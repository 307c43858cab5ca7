"""The backend contract: what a list-watch store must offer to be checked by this suite.

A backend is any object with the methods of :class:`Backend`; the suite drives it from
one thread at a time, except during a burst of concurrent writes, when several threads
call ``create``/``update``/``delete`` at once. ``pytest --sut MODULE:NAME`` calls
``NAME()`` once per Hypothesis example and expects a fresh, empty store each time; the
suite calls ``close()`` on it when the example ends.

Objects
    An :class:`Object` is identified by ``(namespace, name)``, carries string labels and
    an opaque string value, and ``rv``: the resource version (RV) of the write that
    produced this state.

Writes
    ``create``, ``update`` and ``delete`` return the RV the backend assigned to the
    write. RVs are integers that strictly increase in acknowledgement order; they need
    not be contiguous or start at 1. ``create`` of an existing key raises
    :class:`AlreadyExists`; ``update``/``delete`` of a missing key raise
    :class:`NotFound`; with ``expect_rv`` given, a write whose object's current RV
    differs raises :class:`Conflict`. A failed write changes nothing.

Lists
    ``list()`` returns a :class:`Page`: the objects matching ``namespace`` (exact, ``None``
    for all namespaces), ``label_selector`` and ``field_selector`` in the state at RV
    ``page.rv``, sorted by ``(namespace, name)``. ``rv=None`` reads a snapshot no older
    than the last acknowledged write; ``rv=0`` any snapshot; ``rv=N`` a snapshot at
    RV >= N (``match=None`` or ``"NotOlderThan"``) or exactly N (``match="Exact"``).
    With ``limit``, at most ``limit`` items come back and ``continue_token`` is set while
    more may follow (``limit=0`` means no limit, as in Kubernetes); passing it back (with the same filters) returns the next page of
    the *same* snapshot. An exact RV or continue token whose history is gone raises
    :class:`Expired`. An RV beyond the store's may raise :class:`ListWatchError`.

Watches
    ``watch()`` returns a :class:`Watch` whose ``next(timeout)`` returns the next
    :class:`Event` or ``None`` if nothing arrived within ``timeout`` seconds.

    - ``rv=N`` (N > 0): exactly the events of writes with RV > N that concern the
      filter, in RV order. If that history is gone: :class:`Expired`, raised by
      ``watch()`` or by the first ``next()``, and no events.
    - ``rv=None``: a synthetic ``ADDED`` for every matching object in the state at some
      RV r0 no older than the last acknowledged write, then the events after r0.
    - ``rv=0``: the same, but r0 may be any past RV.
    - ``send_initial_events=True`` (always with ``allow_bookmarks=True``): as ``rv=None``
      (or, with ``rv=N``, a state no older than N), and after the initial ``ADDED``
      events one ``BOOKMARK`` with ``initial_events_end=True`` and ``rv=r0``.

    An event for a write, seen through the watch's filter F, with ``p`` the object
    before the write and ``n`` after it: ADDED(n) when only F(n) holds, MODIFIED(n) when
    both hold, DELETED(p, with ``rv`` set to the write's RV) when only F(p) holds
    (including deletes), nothing otherwise.

    Bookmarks are sent only when ``allow_bookmarks=True``. A ``BOOKMARK`` at RV b
    promises that every event with RV <= b has been delivered and none will follow;
    bookmark RVs never decrease, and no later write may get an RV <= b. After
    ``request_progress()`` every open watch that allows bookmarks must, once caught up,
    deliver a bookmark with RV >= the last write acknowledged before the call.

    A backend may end a watch at any time: ``next()`` raises :class:`WatchClosed` after
    the events delivered so far; the client resumes with ``watch(rv=<last RV seen>)``.

Selectors
    Label selectors: ``k=v``, ``k==v``, ``k!=v`` (true when k is absent), ``k in (a,b)``,
    ``k notin (a,b)`` (true when k is absent), ``k``, ``!k``; comma means AND; empty
    matches everything. Field selectors: ``metadata.name`` and ``metadata.namespace``
    with ``=``, ``==`` and ``!=``.

Capabilities
    :class:`Capabilities` declares which optional parts the backend implements; the
    suite only exercises what is declared. ``history=H`` promises that a watch from the
    RV of any of the last H writes (or any RV between them) replays.
    ``watch_buffer=B`` is how many undelivered events the backend holds for one watch
    before it may cut off a consumer that is not reading (WatchClosed); a close while fewer
    than B events could have been waiting since the consumer last read is a Liveness bug.

Errors
    Every expected failure is a :class:`ListWatchError` subclass. Any other exception is
    reported as a fault of the backend (or of the harness), never as a broken guarantee.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import attrs


class EventType(enum.Enum):
    """The type of a watch event; values are the upper-case names used on the wire."""

    ADDED = "ADDED"
    MODIFIED = "MODIFIED"
    DELETED = "DELETED"
    BOOKMARK = "BOOKMARK"


def _freeze_labels(labels: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(labels))


def _labels_eq(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


@attrs.frozen
class Object:
    """One stored object: its identity, labels, value and the RV of the write that made it."""

    namespace: str
    name: str
    labels: Mapping[str, str] = attrs.field(
        converter=_freeze_labels, eq=attrs.cmp_using(eq=lambda a, b: dict(a) == dict(b))
    )
    value: str
    rv: int

    def __hash__(self) -> int:
        return hash((self.namespace, self.name, _labels_eq(self.labels), self.value, self.rv))

    def __repr__(self) -> str:
        return (
            f"Object(namespace={self.namespace!r}, name={self.name!r}, "
            f"labels={dict(self.labels)!r}, value={self.value!r}, rv={self.rv!r})"
        )


@attrs.frozen
class Event:
    """One watch event. ``rv`` equals ``object.rv`` except for BOOKMARK, where it is the bookmark's RV."""

    type: EventType
    rv: int
    object: Object | None = None
    initial_events_end: bool = False


@attrs.frozen
class Page:
    """One page of a list: ``items`` ascending by (namespace, name), read at snapshot ``rv``."""

    items: tuple[Object, ...]
    rv: int
    continue_token: str | None = None


class ListWatchError(Exception):
    """Base of every error the contract defines."""


class Expired(ListWatchError):
    """HTTP 410 Gone: the requested RV or continue token is older than the retained history."""


class NotFound(ListWatchError):
    """The object does not exist."""


class AlreadyExists(ListWatchError):
    """``create`` of an object that exists."""


class Conflict(ListWatchError):
    """The ``expect_rv`` precondition of a write failed."""


class WatchClosed(ListWatchError):
    """The backend ended the watch; the client resumes from the last RV it saw."""


@attrs.frozen
class Capabilities:
    """The optional parts of the contract a backend implements."""

    label_selectors: bool = False
    field_selectors: bool = False  # metadata.name and metadata.namespace, = == !=
    bookmarks: bool = False  # honours allow_bookmarks
    progress: bool = False  # request_progress()
    initial_events: bool = False  # send_initial_events + initial-events-end bookmark
    pagination: bool = False  # limit / continue_token
    exact_list: bool = False  # list(rv=N, match="Exact")
    compaction: bool = False  # compact(rv)
    history: int = 0  # watches from any of the last `history` writes' RVs must replay
    # undelivered events the backend holds for one watch before it may cut off a consumer that is not
    # reading (WatchClosed); 10 is the apiserver's smallest per-watcher buffer. See DESIGN.md "Closure".
    watch_buffer: int = 10


@runtime_checkable
class Watch(Protocol):
    """An open watch. Used from one thread at a time."""

    def next(self, timeout: float) -> Event | None:
        """The next event, or None if none arrived within ``timeout`` seconds.

        Raises Expired (only before any event) or WatchClosed when the stream ended.
        """
        ...

    def close(self) -> None:
        """Stop the watch and release its resources; idempotent."""
        ...


@runtime_checkable
class Backend(Protocol):
    """A list-watch store. See the module docstring for the full semantics.

    Optional: ``name`` and ``version``, strings naming the implementation for the
    conformance report (``pytest --conformance-report``); absent means not stated.
    """

    capabilities: Capabilities

    def create(self, namespace: str, name: str, labels: Mapping[str, str], value: str) -> int: ...

    def update(
        self,
        namespace: str,
        name: str,
        labels: Mapping[str, str],
        value: str,
        *,
        expect_rv: int | None = None,
    ) -> int: ...

    def delete(self, namespace: str, name: str, *, expect_rv: int | None = None) -> int: ...

    def list(
        self,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        rv: int | None = None,
        match: str | None = None,
        limit: int | None = None,
        continue_token: str | None = None,
    ) -> Page: ...

    def watch(
        self,
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        rv: int | None = None,
        allow_bookmarks: bool = False,
        send_initial_events: bool = False,
    ) -> Watch: ...

    def compact(self, rv: int) -> None:
        """Forget history before ``rv`` (only with ``capabilities.compaction``)."""
        ...

    def request_progress(self) -> None:
        """Ask every open watch for a progress bookmark (only with ``capabilities.progress``)."""
        ...

    def close(self) -> None:
        """Release everything: open watches end, threads and processes stop."""
        ...
