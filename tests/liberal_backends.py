"""Correct backends that take the contract's liberties, for tests that a correct backend gets a verdict.

Real servers make legal choices through timing and other writers; these make them at random
(an unseeded ``random.Random``, so no two runs choose alike), and count what they chose so a
test can show each liberty was really taken:

- ``stale_list`` / ``stale_watch``: an ``rv=0`` list or watch reads a past snapshot (any
  state within the declared history), as another apiserver's cache may;
- ``too_large_at_once`` / ``too_large_after_wait``: a list, or a watch with initial events, at a
  future RV answers "too large resource version" at once, or after a short wait for the store to
  get there;
- ``replayed_outside`` / ``expired_outside``: a watch or exact list from an RV older than the
  declared history (but still in the ring) replays fully or answers Expired.
"""

from __future__ import annotations

import collections
import random
import threading
import time

import attrs

from listwatch_conformance.sut.api import Event, EventType, Expired
from listwatch_conformance.sut.memory import MemoryBackend

DECLARED_HISTORY = 4
RING = 8  # more than declared: what lies between is served or refused at random
TOO_LARGE_WAIT = 0.02  # seconds


class LiberalBackend(MemoryBackend):
    """The reference backend, taking every liberty above at random (see the module docstring)."""

    taken: collections.Counter = collections.Counter()  # per class, across instances: what a run chose

    def __init__(self) -> None:
        super().__init__(capacity=RING)
        self.capabilities = attrs.evolve(self.capabilities, history=DECLARED_HISTORY)
        self._rng = random.Random()
        self._write_rvs: collections.deque[int] = collections.deque(maxlen=DECLARED_HISTORY)
        self._writes = 0
        self._serving_stale = False  # while reading a past state on purpose: no random Expired
        self._advanced = threading.Condition(self._lock)

    def _take(self, liberty: str) -> None:
        type(self).taken[liberty] += 1

    def _commit(self, key, prev, make):
        rv = super()._commit(key, prev, make)
        self._write_rvs.append(rv)
        self._writes += 1
        self._advanced.notify_all()
        return rv

    # --- Expired or a full replay outside the declared history ----------------------------
    def _outside_declared(self, rv: int) -> bool:
        return self._writes > DECLARED_HISTORY and rv < self._write_rvs[0]

    def _check_history(self, rv, *, watch):
        super()._check_history(rv, watch=watch)  # compacted or evicted from the ring: Expired, always
        if self._serving_stale or not self._outside_declared(rv):
            return
        if self._rng.random() < 0.5:
            self._take("expired_outside")
            raise Expired(f"too old resource version: {rv} (a liberty: older than the declared history)")
        self._take("replayed_outside")

    # --- stale rv=0 reads ------------------------------------------------------------------
    def _stale_rv(self) -> int:
        """A past RV whose state can still be read: the current one or a write's within the declared history."""
        floor = max(self._compacted_rv or -1, self._evicted_rv or -1)
        return self._rng.choice([self._rv, *(rv for rv in self._write_rvs if rv >= floor)])

    def _list_snapshot(self, rv, match):
        if rv == 0 and match != "Exact" and self._rng.random() < 0.5:
            snapshot = self._stale_rv()
            self._take("stale_list")
            self._serving_stale = True
            try:
                return snapshot, self._state_at(snapshot)
            finally:
                self._serving_stale = False
        return super()._list_snapshot(rv, match)

    def watch(self, *, namespace=None, label_selector="", field_selector="", rv=None, allow_bookmarks=False,
              send_initial_events=False):
        if rv == 0 and self._rng.random() < 0.5:
            return self._stale_watch(self._filter(namespace, label_selector, field_selector), allow_bookmarks,
                                     send_initial_events)
        if send_initial_events and rv:
            self._maybe_wait_for(rv)
        return super().watch(namespace=namespace, label_selector=label_selector, field_selector=field_selector,
                             rv=rv, allow_bookmarks=allow_bookmarks, send_initial_events=send_initial_events)

    def _stale_watch(self, flt, allow_bookmarks: bool, send_initial_events: bool):
        """A watch from rv=0 that starts at a past state r0: its objects, the end bookmark at r0 when
        asked for, then every event after r0."""
        with self._lock:
            self._check_open()
            r0 = self._stale_rv()
            self._serving_stale = True
            try:
                state = self._state_at(r0)
            finally:
                self._serving_stale = False
            init = [Event(EventType.ADDED, o.rv, o) for o in self._filtered(state, flt)]
            if send_initial_events and allow_bookmarks:
                init.append(Event(EventType.BOOKMARK, r0, initial_events_end=True))
            init += self._replay(r0, flt)
            current = self._rv
            watcher = self.watcher_class(self, flt, current, allow_bookmarks, init, self.watcher_queue, current)
            self._watchers.add(watcher)
        self._take("stale_watch")
        return watcher

    # --- "too large resource version", at once or after a short wait -------------------------
    def _maybe_wait_for(self, rv: int) -> None:
        """For a future ``rv``: half the time wait briefly for the store to get there (then the call
        goes on and answers "too large" if it did not)."""
        with self._lock:
            if rv <= self._rv:
                return
            if self._rng.random() < 0.5:
                self._take("too_large_at_once")
                return
            deadline = time.monotonic() + TOO_LARGE_WAIT
            self._advanced.wait_for(lambda: self._rv >= rv or time.monotonic() >= deadline, TOO_LARGE_WAIT)
            self._take("too_large_after_wait")

    def list(self, *, namespace=None, label_selector="", field_selector="", rv=None, match=None, limit=None,
             continue_token=None):
        if continue_token is None and rv:
            self._maybe_wait_for(rv)
        return super().list(namespace=namespace, label_selector=label_selector, field_selector=field_selector,
                            rv=rv, match=match, limit=limit, continue_token=continue_token)


class SmallBuffer(MemoryBackend):
    """The reference backend with a 3-event watcher buffer, declared as such: slow consumers are
    cut off (after their queue is read) far more often than at the reference's 16."""

    closes = 0  # watches terminated for a full queue, across instances

    def __init__(self) -> None:
        super().__init__(watcher_queue=3)

    class watcher_class(MemoryBackend.watcher_class):
        def process(self, event):
            self._counting(super().process, event)

        def bookmark(self, rv):
            self._counting(super().bookmark, rv)

        def _counting(self, step, arg) -> None:
            was = self._terminated
            step(arg)
            if self._terminated and not was:
                SmallBuffer.closes += 1
