"""The reference backend: an in-memory watch cache built like the apiserver's Cacher.

Structure (names follow ``k8s.io/apiserver/pkg/storage/cacher``):

- a store of current objects and the current RV;
- :class:`EventRing`, the watchCache's ring buffer of the last ``capacity`` events with
  absolute start and end indexes; a watch from N replays from it when every event after
  N is still there, and answers Expired otherwise;
- a dispatcher thread that takes events from an incoming queue in RV order and fans them
  out to every watcher (the Cacher's ``dispatchEvents``);
- :class:`CacheWatcher`, one per watch: its own filter applied with the transition table
  (``convertToWatchEvent``), init events, and a bounded queue of live events; a watcher
  whose queue is full is terminated (WatchClosed) instead of being allowed to skip.

Writes are applied under one lock, which is also held while a watch registers and takes
its init events, so every event is delivered exactly once: events up to the watcher's
RV come from its init events, later ones from the dispatcher (the ``RV > watcher RV``
guard). RVs start at 1000 and advance in steps of 1 to 3, as a shared RV sequence would.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
import threading
from collections import deque
from collections.abc import Mapping

from listwatch_conformance.model.selectors import Filter
from listwatch_conformance.sut.api import (
    AlreadyExists,
    Capabilities,
    Conflict,
    Event,
    EventType,
    Expired,
    ListWatchError,
    NotFound,
    Object,
    Page,
    WatchClosed,
)
from listwatch_conformance.sut.filtering import matches, parse_filter, transition

Key = tuple[str, str]


class StoreEvent:
    """One write as the watch cache keeps it: the object before (``prev``) and after (``obj``)."""

    __slots__ = ("rv", "key", "prev", "obj")

    def __init__(self, rv: int, key: Key, prev: Object | None, obj: Object | None):
        self.rv, self.key, self.prev, self.obj = rv, key, prev, obj


class EventRing:
    """A fixed-capacity ring of StoreEvents with absolute ``start``/``end`` indexes."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._buffer: list[StoreEvent | None] = [None] * capacity
        self.start = 0
        self.end = 0

    def __len__(self) -> int:
        return self.end - self.start

    def at(self, index: int) -> StoreEvent:
        return self._buffer[index % self.capacity]

    def append(self, event: StoreEvent) -> StoreEvent | None:
        """Add ``event``; return the event evicted to make room, if any."""
        evicted = None
        if len(self) == self.capacity:
            evicted = self.at(self.start)
            self.start += 1
        self._buffer[self.end % self.capacity] = event
        self.end += 1
        return evicted

    def drop_before(self, rv: int) -> StoreEvent | None:
        """Drop every event with RV < rv; return the last one dropped."""
        dropped = None
        while self.start < self.end and self.at(self.start).rv < rv:
            dropped = self.at(self.start)
            self.start += 1
        return dropped

    def first_after(self, rv: int) -> int:
        """Absolute index of the first event with RV > rv (``end`` if none)."""
        lo, hi = self.start, self.end
        while lo < hi:
            mid = (lo + hi) // 2
            if self.at(mid).rv <= rv:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def since(self, rv: int) -> list[StoreEvent]:
        return [self.at(i) for i in range(self.first_after(rv), self.end)]


def convert_to_watch_event(event: StoreEvent, flt: Filter) -> Event | None:
    """The watch event ``event`` produces through ``flt`` (the apiserver's convertToWatchEvent)."""
    return transition(flt, event.rv, event.prev, event.obj)


class CacheWatcher:
    """One watch: init events, then live events from the dispatcher through a bounded queue."""

    def __init__(self, backend: MemoryBackend, flt: Filter, rv: int, allow_bookmarks: bool,
                 init: list[Event], queue_capacity: int, bookmark_floor: int):
        self._backend = backend
        self.filter = flt
        self.rv = rv  # events at or below this RV are already in init or were skipped
        self.allow_bookmarks = allow_bookmarks
        self.bookmark_floor = bookmark_floor  # never a bookmark below this (a future start RV)
        self._init = deque(init)
        self._queue: deque[Event] = deque()
        self._capacity = queue_capacity
        self._cond = threading.Condition()
        self._terminated = False  # the backend ended it: WatchClosed once drained
        self._stopped = False  # the client closed it

    # called by the dispatcher thread
    def process(self, event: StoreEvent) -> None:
        with self._cond:
            if self._terminated or event.rv <= self.rv:
                return
            self.rv = event.rv
            out = self.convert(event)
            if out is None:
                return
            if len(self._queue) >= self._capacity:
                self._terminated = True  # too slow: close it rather than skip events
            else:
                self._queue.append(out)
            self._cond.notify_all()

    def convert(self, event: StoreEvent) -> Event | None:
        return self._backend._convert(event, self.filter)

    def bookmark(self, rv: int) -> None:
        """Queue a progress bookmark; a queued bookmark not yet read is moved forward instead."""
        with self._cond:
            if not self.allow_bookmarks or self._terminated or rv < self.bookmark_floor:
                return
            rv = max(rv, self.rv)
            if self._queue and self._queue[-1].type is EventType.BOOKMARK:
                self._queue[-1] = Event(EventType.BOOKMARK, rv)
            elif len(self._queue) >= self._capacity:
                self._terminated = True  # a promised bookmark cannot be dropped: close instead
            else:
                self._queue.append(Event(EventType.BOOKMARK, rv))
            self._cond.notify_all()

    def terminate(self) -> None:
        with self._cond:
            self._terminated = True
            self._cond.notify_all()

    # the Watch interface
    def next(self, timeout: float) -> Event | None:
        with self._cond:
            if self._stopped:
                raise WatchClosed("watch was closed by the client")
            ok = self._cond.wait_for(lambda: self._init or self._queue or self._terminated, timeout)
            if self._init:
                return self._init.popleft()
            if self._queue:
                return self._queue.popleft()
            if ok and self._terminated:
                raise WatchClosed("watcher terminated: it fell too far behind")
            return None

    def close(self) -> None:
        with self._cond:
            self._stopped = self._terminated = True
            self._cond.notify_all()
        self._backend._unregister(self)


class MemoryBackend:
    """The reference list-watch store (see the module docstring).

    The underscored methods are the seams the mutant zoo (listwatch_conformance.sut.mutants) overrides to
    reintroduce one bug class at a time.
    """

    watcher_class = CacheWatcher

    @property
    def name(self) -> str:
        """For the conformance report; a subclass (a mutant) names itself, not the reference."""
        cls = type(self)
        return "reference watch cache (listwatch_conformance.sut.memory)" if cls is MemoryBackend else f"{cls.__module__}:{cls.__qualname__}"

    def __init__(self, capacity: int = 4, watcher_queue: int = 16, base_rv: int = 1000):
        self.capacity = capacity
        self.watcher_queue = watcher_queue
        self.capabilities = Capabilities(
            label_selectors=True, field_selectors=True, bookmarks=True, progress=True,
            initial_events=True, pagination=True, exact_list=True, compaction=True, history=capacity,
            watch_buffer=watcher_queue,  # a watcher's queue: full, it is terminated after its queue is read
        )
        self._lock = threading.Lock()
        self._store: dict[Key, Object] = {}
        self._rv = base_rv
        self._steps = itertools.cycle((1, 2, 1, 3))
        self._ring = EventRing(capacity)
        self._evicted_rv: int | None = None  # RV of the newest event no longer in the ring
        self._compacted_rv: int | None = None
        self._watchers: set[CacheWatcher] = set()
        self._incoming: deque[StoreEvent | int | None] = deque()
        self._incoming_cond = threading.Condition(self._lock)
        self._closed = False
        self._dispatcher = threading.Thread(target=self._dispatch_loop, name="memory-dispatcher", daemon=True)
        self._dispatcher.start()

    # --- writes ----------------------------------------------------------------------
    def create(self, namespace: str, name: str, labels: Mapping[str, str], value: str) -> int:
        with self._lock:
            key = (namespace, name)
            if key in self._store:
                raise AlreadyExists(f"{namespace}/{name} already exists")
            return self._commit(key, None, lambda rv: Object(namespace, name, labels, value, rv))

    def update(self, namespace: str, name: str, labels: Mapping[str, str], value: str, *,
               expect_rv: int | None = None) -> int:
        with self._lock:
            prev = self._existing((namespace, name), expect_rv)
            return self._commit(prev_key(prev), prev, lambda rv: Object(namespace, name, labels, value, rv))

    def delete(self, namespace: str, name: str, *, expect_rv: int | None = None) -> int:
        with self._lock:
            prev = self._existing((namespace, name), expect_rv)
            return self._commit(prev_key(prev), prev, lambda rv: None)

    def _existing(self, key: Key, expect_rv: int | None) -> Object:
        prev = self._store.get(key)
        if prev is None:
            raise NotFound(f"{key[0]}/{key[1]} not found")
        if expect_rv is not None and prev.rv != expect_rv:
            raise Conflict(f"{key[0]}/{key[1]} is at RV {prev.rv}, not {expect_rv}")
        return prev

    def _commit(self, key: Key, prev: Object | None, make) -> int:
        """Apply a write under the lock: new RV, store, ring, incoming queue."""
        self._check_open()
        self._rv += next(self._steps)
        obj = make(self._rv)
        if obj is None:
            del self._store[key]
        else:
            self._store[key] = obj
        event = StoreEvent(self._rv, key, prev, obj)
        evicted = self._ring.append(event)
        if evicted is not None:
            self._evicted_rv = evicted.rv
        self._incoming.append(event)
        self._incoming_cond.notify()
        return self._rv

    # --- the dispatcher ----------------------------------------------------------------
    def _dispatch_loop(self) -> None:
        while True:
            with self._lock:
                self._incoming_cond.wait_for(lambda: self._incoming)
                item = self._incoming.popleft()
                watchers = list(self._watchers)
            if item is None:
                return
            self._dispatch(item, watchers)

    def _dispatch(self, item: StoreEvent | int, watchers: list[CacheWatcher]) -> None:
        """Fan one incoming item out: an event to every watcher, or a progress request (an int RV)."""
        if isinstance(item, int):
            for w in watchers:
                w.bookmark(item)
        else:
            for w in watchers:
                w.process(item)

    # --- watches -------------------------------------------------------------------------
    def watch(self, *, namespace: str | None = None, label_selector: str = "", field_selector: str = "",
              rv: int | None = None, allow_bookmarks: bool = False,
              send_initial_events: bool = False) -> CacheWatcher:
        flt = self._filter(namespace, label_selector, field_selector)
        with self._lock:
            self._check_open()
            current = self._rv
            if send_initial_events or not rv:
                if rv and rv > current:
                    raise ListWatchError(f"too large resource version: {rv}, current: {current}")
                init = self._initial_events(flt, rv)
                if send_initial_events and allow_bookmarks:
                    init.append(Event(EventType.BOOKMARK, current, initial_events_end=True))
                watcher_rv, floor = current, current
            elif rv > current:  # a future RV: nothing until the store passes it
                init, watcher_rv, floor = [], rv, rv
            else:
                self._check_history(rv, watch=True)
                init = self._replay(rv, flt)
                watcher_rv, floor = current, rv
            watcher = self.watcher_class(self, flt, watcher_rv, allow_bookmarks, init, self.watcher_queue, floor)
            self._watchers.add(watcher)
            return watcher

    def _filter(self, namespace: str | None, label_selector: str, field_selector: str) -> Filter:
        return parse_filter(namespace, label_selector, field_selector)

    def _initial_events(self, flt: Filter, rv: int | None) -> list[Event]:
        """ADDED for every object matching ``flt`` in the current state (rv is None, 0 or N)."""
        return [Event(EventType.ADDED, o.rv, o) for o in self._filtered(self._store, flt)]

    def _replay(self, rv: int, flt: Filter) -> list[Event]:
        """The events after ``rv`` from the ring, converted for ``flt`` (the watch's init events)."""
        return [e for e in (self._convert(s, flt) for s in self._ring.since(rv)) if e]

    def _convert(self, event: StoreEvent, flt: Filter) -> Event | None:
        """The watch event for ``event`` through ``flt``, for replayed and live events alike."""
        return convert_to_watch_event(event, flt)

    def _check_history(self, rv: int, *, watch: bool) -> None:
        """Raise Expired unless every event after ``rv`` is still in the ring (and not compacted)."""
        if self._compacted_rv is not None and rv < self._compacted_rv - (1 if watch else 0):
            raise Expired(f"too old resource version: {rv} (compacted at {self._compacted_rv})")
        if self._evicted_rv is not None and rv < self._evicted_rv:
            raise Expired(f"too old resource version: {rv} ({self._evicted_rv})")

    def _unregister(self, watcher: CacheWatcher) -> None:
        with self._lock:
            self._watchers.discard(watcher)

    def request_progress(self) -> None:
        with self._lock:
            self._check_open()
            self._incoming.append(self._rv)
            self._incoming_cond.notify()

    # --- lists -----------------------------------------------------------------------------
    def list(self, *, namespace: str | None = None, label_selector: str = "", field_selector: str = "",
             rv: int | None = None, match: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> Page:
        flt = self._filter(namespace, label_selector, field_selector)
        if match not in (None, "Exact", "NotOlderThan"):
            raise ListWatchError(f"unknown resourceVersionMatch {match!r}")
        with self._lock:
            self._check_open()
            if continue_token is not None:
                snapshot_rv, after = decode_continue(continue_token)
                state = self._continue_state(snapshot_rv)
            else:
                after = None
                if rv and rv > self._rv:
                    raise ListWatchError(f"too large resource version: {rv}, current: {self._rv}")
                snapshot_rv, state = self._list_snapshot(rv, match)
        items = self._filtered(state, flt)
        if after is not None:
            items = [o for o in items if (o.namespace, o.name) > after]
        token = None
        if limit is not None and limit > 0 and len(items) > limit:
            items = items[:limit]
            token = encode_continue(snapshot_rv, (items[-1].namespace, items[-1].name))
        return Page(tuple(items), snapshot_rv, token)

    def _list_snapshot(self, rv: int | None, match: str | None) -> tuple[int, Mapping[Key, Object]]:
        """The (RV, state) a first page reads: exactly ``rv`` for Exact, else the current state."""
        snapshot_rv = rv if (rv and match == "Exact") else self._rv
        return snapshot_rv, self._state_at(snapshot_rv)

    def _continue_state(self, snapshot_rv: int) -> Mapping[Key, Object]:
        """The state a continue page reads: the token's snapshot."""
        return self._state_at(snapshot_rv)

    def _state_at(self, rv: int) -> Mapping[Key, Object]:
        """The store as it was at ``rv``: the current one with later ring events undone."""
        if rv >= self._rv:
            return dict(self._store)
        self._check_history(rv, watch=False)
        state = dict(self._store)
        for event in reversed(self._ring.since(rv)):
            if event.prev is None:
                state.pop(event.key, None)
            else:
                state[event.key] = event.prev
        return state

    @staticmethod
    def _filtered(state: Mapping[Key, Object], flt: Filter) -> list[Object]:
        return [state[k] for k in sorted(state) if matches(flt, state[k])]

    # --- compaction and lifecycle ---------------------------------------------------------
    def compact(self, rv: int) -> None:
        with self._lock:
            self._check_open()
            if rv > self._rv:
                raise ListWatchError(f"cannot compact at future RV {rv} (current {self._rv})")
            self._compacted_rv = rv if self._compacted_rv is None else max(self._compacted_rv, rv)
            dropped = self._ring.drop_before(rv)
            if dropped is not None:
                self._evicted_rv = max(self._evicted_rv or dropped.rv, dropped.rv)

    def _check_open(self) -> None:
        if self._closed:
            raise ListWatchError("backend is closed")

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._incoming.append(None)
            self._incoming_cond.notify()
            watchers = list(self._watchers)
            self._watchers.clear()
        for w in watchers:
            w.terminate()
        self._dispatcher.join(timeout=5)


def prev_key(obj: Object) -> Key:
    return (obj.namespace, obj.name)


def encode_continue(rv: int, after: Key) -> str:
    raw = json.dumps({"rv": rv, "after": list(after)}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_continue(token: str) -> tuple[int, Key]:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), (str(data["after"][0]), str(data["after"][1]))
    except (ValueError, KeyError, IndexError, TypeError, binascii.Error):
        raise ListWatchError(f"malformed continue token {token!r}") from None
