"""Specification tests for model/retention.py: which start RVs must replay, may, or must expire."""

from __future__ import annotations

import math

import pytest

from listwatch_conformance.model.guarantees import Guarantee
from listwatch_conformance.model.history import History
from listwatch_conformance.model.objects import Obj
from listwatch_conformance.model.retention import Retention, Start

RVS = [1001, 1003, 1004, 1007, 1010]


def history(rvs=RVS) -> History:
    h = History()
    for i, rv in enumerate(rvs):
        h.acknowledge([(rv, ("ns1", f"o{i}"), Obj("ns1", f"o{i}", {}, "v", rv))])
    return h


def test_no_declared_history_never_must_replay():
    log, r = history(), Retention(history=0)
    assert r.window_floor(log) == math.inf
    assert r.watch_from(1010, log) is Start.EITHER
    assert r.snapshot_at(1010, log) is Start.EITHER


def test_window_floor_is_rv_of_hth_last_write():
    log = history()
    assert Retention(history=1).window_floor(log) == 1010
    assert Retention(history=2).window_floor(log) == 1007
    assert Retention(history=3).window_floor(log) == 1004
    assert Retention(history=4).window_floor(log) == 1003


def test_window_floor_with_fewer_writes_than_history_is_lowest_rv_seen():
    log = history()
    assert Retention(history=5).window_floor(log) == 1001
    assert Retention(history=50).window_floor(log) == 1001
    h = History()
    h.promise_rv(900, Guarantee.ListConsistent, "list of the empty store", returned=True)
    assert Retention(history=3).window_floor(h) == 900
    assert Retention(history=3).window_floor(History()) == math.inf


@pytest.mark.parametrize("rv,start", [
    (1010, Start.MUST_REPLAY),
    (1020, Start.MUST_REPLAY),   # beyond the last write
    (1007, Start.MUST_REPLAY),   # RV of the 2nd-last write
    (1008, Start.MUST_REPLAY),   # between the last two writes
    (1006, Start.EITHER),        # older: full replay or Expired
    (1004, Start.EITHER),
    (1001, Start.EITHER),
])
def test_watch_from_around_window_floor(rv, start):
    assert Retention(history=2).watch_from(rv, history()) is start


@pytest.mark.parametrize("rv,start", [
    (1010, Start.MUST_REPLAY),
    (1004, Start.MUST_REPLAY),   # N = C
    (1005, Start.MUST_REPLAY),   # N > C
    (1003, Start.EITHER),        # N = C-1
    (1002, Start.MUST_EXPIRE),   # N < C-1
    (1001, Start.MUST_EXPIRE),
    (900, Start.MUST_EXPIRE),
])
def test_watch_from_around_compaction(rv, start):
    r = Retention(history=100)
    r.compact(1004)
    assert r.watch_from(rv, history()) is start


def test_compaction_keeps_the_highest():
    r = Retention(history=100)
    r.compact(1007)
    r.compact(1003)
    assert r.compacted == 1007
    assert r.watch_from(1005, history()) is Start.MUST_EXPIRE
    assert r.watch_from(1006, history()) is Start.EITHER
    assert r.watch_from(1007, history()) is Start.MUST_REPLAY


def test_compaction_below_window_changes_nothing_within_window():
    r = Retention(history=2)
    r.compact(1001)
    log = history()
    assert r.watch_from(1007, log) is Start.MUST_REPLAY
    assert r.watch_from(1000, log) is Start.EITHER      # C-1
    assert r.watch_from(999, log) is Start.MUST_EXPIRE


@pytest.mark.parametrize("rv,start", [
    (1004, Start.MUST_REPLAY),   # exactly C
    (1006, Start.MUST_REPLAY),
    (1010, Start.MUST_REPLAY),
    (1003, Start.MUST_EXPIRE),   # older than C: lists and continue tokens must expire
    (1001, Start.MUST_EXPIRE),
])
def test_snapshot_at_around_compaction(rv, start):
    r = Retention(history=100)
    r.compact(1004)
    assert r.snapshot_at(rv, history()) is start


@pytest.mark.parametrize("rv,start", [
    (1007, Start.MUST_REPLAY), (1009, Start.MUST_REPLAY), (1006, Start.EITHER), (1001, Start.EITHER),
])
def test_snapshot_at_around_window(rv, start):
    assert Retention(history=2).snapshot_at(rv, history()) is start
