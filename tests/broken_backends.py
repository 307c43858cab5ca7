"""Backends that break the contract's *form* rather than a guarantee: malformed values,
exceptions outside the contract, a store that is not empty, calls that hang.

The suite must report each as the backend's fault (BackendFault, BackendHang) naming the
call and the offending value, never as a broken guarantee. Hangs wait on ``RELEASE`` so
the tests can free the stuck threads afterwards instead of leaking them.
"""

from __future__ import annotations

import threading

import attrs

from listwatch_conformance.sut.api import Event, EventType
from listwatch_conformance.sut.memory import CacheWatcher, MemoryBackend

RELEASE = threading.Event()  # set by the tests to end every hang
HANG_LIMIT = 120.0  # seconds: a hang ends by itself after this, should a test forget RELEASE


def _hang() -> None:
    RELEASE.wait(HANG_LIMIT)


class EventTypeAsString(MemoryBackend):
    """Events whose type is the string "ADDED" instead of EventType.ADDED."""

    def _convert(self, event, flt):
        out = super()._convert(event, flt)
        return out and attrs.evolve(out, type=out.type.value)

    def _initial_events(self, flt, rv):
        return [attrs.evolve(e, type=e.type.value) for e in super()._initial_events(flt, rv)]


class AddedWithoutObject(MemoryBackend):
    """ADDED events without their object."""

    def _convert(self, event, flt):
        out = super()._convert(event, flt)
        return Event(EventType.ADDED, out.rv) if out is not None and out.type is EventType.ADDED else out


class RVAsString(MemoryBackend):
    """Writes acknowledged with the RV as a str ("1001"), as a careless JSON decoder gives it."""

    def create(self, namespace, name, labels, value):
        return str(super().create(namespace, name, labels, value))


class EventRVAsString(MemoryBackend):
    """Events whose rv is a str."""

    def _convert(self, event, flt):
        out = super()._convert(event, flt)
        return out and attrs.evolve(out, rv=str(out.rv))


class ListRaisesKeyError(MemoryBackend):
    """list() raises KeyError, an exception outside the contract's ListWatchError family."""

    def list(self, **kwargs):
        if kwargs:  # the emptiness probe after the factory calls list() without arguments
            raise KeyError("shard-7")
        return super().list()


class ListReturnsDict(MemoryBackend):
    """list() returns a dict shaped like a Kubernetes list body instead of a listwatch_conformance.sut.api.Page."""

    def list(self, **kwargs):
        page = super().list(**kwargs)
        return {"items": list(page.items), "metadata": {"resourceVersion": str(page.rv)}}


class NotEmpty(MemoryBackend):
    """The factory returns a store that already holds an object."""

    def __init__(self):
        super().__init__()
        self.create("ns1", "leftover", {}, "0")


class HangingCreate(MemoryBackend):
    """create() never returns (until RELEASE)."""

    def create(self, namespace, name, labels, value):
        _hang()
        return super().create(namespace, name, labels, value)


class HangingWatcher(CacheWatcher):
    def next(self, timeout):
        _hang()
        return super().next(timeout)


class HangingNext(MemoryBackend):
    """A watch's next() never returns (until RELEASE)."""

    watcher_class = HangingWatcher


FAULTY = {
    EventTypeAsString: "returned Event(type='",  # a str, where EventType.ADDED would print type=<EventType.ADDED: ...>
    AddedWithoutObject: "returned ADDED without an object",
    RVAsString: "returned RV '",
    EventRVAsString: "RVs are int",
    ListRaisesKeyError: "list() raised KeyError: 'shard-7'",
    NotEmpty: "the factory returned a store that is not empty",
    ListReturnsDict: "returned {'items': [], 'metadata': {'resourceVersion': ",
}

HANGING = {
    HangingCreate: "did not return within",
    HangingNext: "did not return within",
}
