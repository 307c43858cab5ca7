"""Three known-bad backends (subclasses of the reference backend), for the kube kill tests.

Each breaks exactly one guarantee; served through our HTTP server and checked through the
kube backend, the suite must name that guarantee, so the HTTP layer neither hides nor
invents violations. Importable by the server process as ``tests.kube_mutants:NAME``.
"""

from __future__ import annotations

import re

from listwatch_conformance.sut.api import Event, EventType
from listwatch_conformance.sut.memory import MemoryBackend


class ExclusiveStartMutant(MemoryBackend):
    """A watch from N also delivers the event at N (breaks ExclusiveStart)."""

    def watch(self, *, rv=None, send_initial_events=False, **kwargs):
        if rv and not send_initial_events:
            rv -= 1
        return super().watch(rv=rv, send_initial_events=send_initial_events, **kwargs)


class _Rewriting:
    """A watch whose DELETED events for a selector exit carry the object's new state."""

    def __init__(self, inner, backend: MemoryBackend):
        self._inner, self._backend = inner, backend

    def next(self, timeout):
        event = self._inner.next(timeout)
        if event is not None and event.type is EventType.DELETED:
            with self._backend._lock:
                ring = self._backend._ring
                new = next((ring.at(i).obj for i in range(ring.start, ring.end) if ring.at(i).rv == event.rv), None)
            if new is not None:  # the object still exists: an exit, not a delete
                return Event(EventType.DELETED, event.rv, new)
        return event

    def close(self):
        self._inner.close()


class FilterTransitionsMutant(MemoryBackend):
    """A DELETED event on selector exit carries the new object, not the previous one (breaks FilterTransitions)."""

    def watch(self, **kwargs):
        return _Rewriting(super().watch(**kwargs), self)


_NOT_EQUAL = re.compile(r"(?<![A-Za-z0-9_./-])([A-Za-z0-9_./-]+)\s*!=")


def _absent_fails(selector: str) -> str:
    """``k!=v`` rewritten as ``k,k!=v``: false when k is absent (breaks SelectorSemantics)."""
    return _NOT_EQUAL.sub(r"\1,\1!=", selector)


class SelectorSemanticsMutant(MemoryBackend):
    """In lists, ``k!=v`` is false for objects without label k (breaks SelectorSemantics)."""

    def list(self, *, label_selector="", **kwargs):
        return super().list(label_selector=_absent_fails(label_selector), **kwargs)
