"""A complete, minimal backend: the smallest thing `pytest properties --sut` can check.

It declares no optional capability except history (it keeps every event), so the suite
checks writes, namespace scoping, watches from an RV and from the current state, and
consistent lists. Copy it as the starting point for an adapter to your own store:

    PYTHONPATH=examples pytest properties --sut minimal_backend:MinimalBackend
"""

import queue
import threading

from listwatch_conformance.sut.api import (AlreadyExists, Capabilities, Conflict, Event, EventType, ListWatchError, NotFound, Object,
                     Page, WatchClosed)


class MinimalWatch:
    def __init__(self, events):
        self.queue = queue.Queue()
        for event in events:
            self.queue.put(event)
        self.closed = False

    def next(self, timeout):
        if self.closed:
            raise WatchClosed("closed")
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        self.closed = True


class MinimalBackend:
    capabilities = Capabilities(history=10**9)  # every event is kept, so any RV replays

    def __init__(self):
        self.lock = threading.Lock()
        self.objects = {}  # (namespace, name) -> Object
        self.log = []  # (rv, previous object or None, new object or None)
        self.rv = 0
        self.watches = []  # (namespace, start RV, MinimalWatch)

    def _write(self, namespace, name, new_state, expect_rv, must_exist):
        with self.lock:
            prev = self.objects.get((namespace, name))
            if must_exist and prev is None:
                raise NotFound(f"{namespace}/{name}")
            if not must_exist and prev is not None:
                raise AlreadyExists(f"{namespace}/{name}")
            if expect_rv is not None and prev.rv != expect_rv:
                raise Conflict(f"{namespace}/{name} is at {prev.rv}")
            self.rv += 1
            new = None if new_state is None else Object(namespace, name, new_state[0], new_state[1], self.rv)
            if new is None:
                del self.objects[(namespace, name)]
            else:
                self.objects[(namespace, name)] = new
            self.log.append((self.rv, prev, new))
            for ns, start, watch in self.watches:
                event = self._event(self.rv, prev, new, ns)
                if event is not None and self.rv > start:  # a watch from a future RV skips up to it
                    watch.queue.put(event)
            return self.rv

    @staticmethod
    def _event(rv, prev, new, namespace):
        """The transition table, for a namespace filter only."""
        def visible(obj):
            return obj is not None and (namespace is None or obj.namespace == namespace)
        if visible(new):
            return Event(EventType.MODIFIED if visible(prev) else EventType.ADDED, rv, new)
        if visible(prev):
            return Event(EventType.DELETED, rv, Object(prev.namespace, prev.name, prev.labels, prev.value, rv))
        return None

    def create(self, namespace, name, labels, value):
        return self._write(namespace, name, (labels, value), None, must_exist=False)

    def update(self, namespace, name, labels, value, *, expect_rv=None):
        return self._write(namespace, name, (labels, value), expect_rv, must_exist=True)

    def delete(self, namespace, name, *, expect_rv=None):
        return self._write(namespace, name, None, expect_rv, must_exist=True)

    def list(self, *, namespace=None, label_selector="", field_selector="", rv=None, match=None, limit=None,
             continue_token=None):
        with self.lock:
            if rv and rv > self.rv:
                raise ListWatchError(f"too large resource version: {rv}")
            items = [o for k, o in sorted(self.objects.items()) if namespace is None or o.namespace == namespace]
            return Page(tuple(items), self.rv)

    def watch(self, *, namespace=None, label_selector="", field_selector="", rv=None, allow_bookmarks=False,
              send_initial_events=False):
        with self.lock:
            if rv:  # start at exact: replay what came after rv
                events = [self._event(r, p, n, namespace) for r, p, n in self.log if r > rv]
            else:  # get state, then start at most recent
                events = [Event(EventType.ADDED, o.rv, o) for k, o in sorted(self.objects.items())
                          if namespace is None or o.namespace == namespace]
            watch = MinimalWatch(e for e in events if e is not None)
            self.watches.append((namespace, rv or 0, watch))
            return watch

    def compact(self, rv):
        raise NotImplementedError("compaction is not declared")

    def request_progress(self):
        raise NotImplementedError("progress is not declared")

    def close(self):
        with self.lock:
            for _, _, watch in self.watches:
                watch.close()
            self.watches.clear()
