"""Building blocks for the model's specification tests: objects, hand-written histories, events,
watches, and feeding events to a watch until one breaks a guarantee."""

from __future__ import annotations

import pytest

from listwatch_conformance.model.guarantees import Guarantee, Violation
from listwatch_conformance.model.history import History
from listwatch_conformance.model.objects import ADDED, BOOKMARK, DELETED, MODIFIED, Ev, Obj
from listwatch_conformance.model.retention import Retention
from listwatch_conformance.model.selectors import Filter
from listwatch_conformance.model.watch import WatchModel, WatchSpec


def obj(name: str, rv: int, value: str = "v", ns: str = "ns1", **labels: str) -> Obj:
    return Obj(ns, name, labels, value, rv)


def put(log: History, o: Obj) -> Obj:
    """Acknowledge the write that made ``o``."""
    log.acknowledge([(o.rv, o.key, o)])
    return o


def delete(log: History, rv: int, o: Obj) -> Ev:
    """Delete ``o`` at ``rv``; returns the DELETED event an unfiltered watch must see."""
    log.acknowledge([(rv, o.key, None)])
    return Ev(DELETED, rv, o.with_rv(rv))


def added(o: Obj) -> Ev:
    return Ev(ADDED, o.rv, o)


def modified(o: Obj) -> Ev:
    return Ev(MODIFIED, o.rv, o)


def bookmark(rv: int, end: bool = False) -> Ev:
    return Ev(BOOKMARK, rv, None, end)


def watch(log: History, rv: int | None = None, flt: Filter | None = None, history: int = 100, **kw) -> WatchModel:
    return WatchModel(WatchSpec(flt or Filter(), rv=rv, **kw), log, Retention(history=history))


def feed(w: WatchModel, *events: Ev) -> None:
    for ev in events:
        w.observe(ev)


def violation(w: WatchModel, *events: Ev) -> Guarantee:
    """Feed all but the last event (they must be accepted); return the guarantee the last breaks."""
    feed(w, *events[:-1])
    with pytest.raises(Violation) as info:
        w.observe(events[-1])
    return info.value.guarantee
