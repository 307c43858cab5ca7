"""Specification tests for model/history.py: the write log, state at any RV, RV promises."""

from __future__ import annotations

import pytest

from listwatch_conformance.model.guarantees import Guarantee, Violation
from listwatch_conformance.model.history import History
from listwatch_conformance.model.objects import Obj


def obj(name: str, rv: int, value: str = "v", ns: str = "ns1") -> Obj:
    return Obj(ns, name, {}, value, rv)


@pytest.fixture
def log() -> History:
    """1001 create a; 1003 create b; 1004 update a; 1007 delete b; 1010 create c."""
    h = History()
    h.acknowledge([(1001, ("ns1", "a"), obj("a", 1001))])
    h.acknowledge([(1003, ("ns1", "b"), obj("b", 1003))])
    h.acknowledge([(1004, ("ns1", "a"), obj("a", 1004, "v2"))])
    h.acknowledge([(1007, ("ns1", "b"), None)])
    h.acknowledge([(1010, ("ns1", "c"), obj("c", 1010))])
    return h


def names(state: dict) -> dict:
    return {key[1]: o.rv for key, o in state.items()}


@pytest.mark.parametrize("rv,expected", [
    (0, {}),
    (1000, {}),                                  # before the first write
    (1001, {"a": 1001}),
    (1002, {"a": 1001}),                         # between writes: the last write at or below
    (1003, {"a": 1001, "b": 1003}),
    (1004, {"a": 1004, "b": 1003}),
    (1005, {"a": 1004, "b": 1003}),
    (1006, {"a": 1004, "b": 1003}),
    (1007, {"a": 1004}),                         # b deleted
    (1009, {"a": 1004}),
    (1010, {"a": 1004, "c": 1010}),
    (5000, {"a": 1004, "c": 1010}),              # beyond the last write: current state
])
def test_state_at_any_rv(log, rv, expected):
    assert names(log.state_at(rv)) == expected


def test_state_at_returns_the_objects_themselves(log):
    assert log.state_at(1005)[("ns1", "a")] == obj("a", 1004, "v2")
    assert log.state_at(1002)[("ns1", "a")] == obj("a", 1001)


def test_empty_history():
    h = History()
    assert h.state_at(1000) == {}
    assert h.last_rv == -1
    assert h.max_handed_out == -1


def test_writes_record_previous_and_new(log):
    verbs = [(w.rv, w.verb) for w in log.writes]
    assert verbs == [(1001, "create"), (1003, "create"), (1004, "update"), (1007, "delete"), (1010, "create")]
    assert log.writes[2].prev == obj("a", 1001) and log.writes[2].new == obj("a", 1004, "v2")
    assert log.writes[3].prev == obj("b", 1003) and log.writes[3].new is None
    assert log.write_at(1004) is log.writes[2]
    assert log.write_at(1005) is None
    assert log.last_rv == 1010
    assert log.count_at(1006) == 3


def test_burst_is_recorded_in_rv_order():
    h = History()
    done = h.acknowledge([(1007, ("ns1", "b"), obj("b", 1007)), (1003, ("ns1", "a"), obj("a", 1003))])
    assert [w.rv for w in done] == [1003, 1007]
    assert h.rvs == [1003, 1007]


@pytest.mark.parametrize("rv", [1010, 1009, 1001, 999])
def test_non_increasing_rv_is_write_acknowledged_violation(log, rv):
    with pytest.raises(Violation) as info:
        log.acknowledge([(rv, ("ns1", "z"), obj("z", rv))])
    assert info.value.guarantee is Guarantee.WriteAcknowledged


def test_increasing_rv_with_gap_is_fine(log):
    log.acknowledge([(2000, ("ns1", "z"), obj("z", 2000))])
    assert log.last_rv == 2000


def test_duplicate_rvs_in_a_burst_are_write_acknowledged_violation():
    h = History()
    h.acknowledge([(1001, ("ns1", "a"), obj("a", 1001))])
    with pytest.raises(Violation) as info:
        h.acknowledge([(1005, ("ns1", "b"), obj("b", 1005)), (1005, ("ns1", "c"), obj("c", 1005))])
    assert info.value.guarantee is Guarantee.WriteAcknowledged
    assert len(h.writes) == 3  # the log stays complete


def test_promise_beyond_last_write_binds_later_writes(log):
    before = log.max_handed_out
    log.promise_rv(1020, Guarantee.Bookmarkable, "a bookmark")
    assert log.max_handed_out == before  # a stream's RV does not count as returned by a call
    log.promise_rv(1020, Guarantee.ListConsistent, "a list", returned=True)
    assert log.max_handed_out == 1020
    with pytest.raises(Violation) as info:
        log.acknowledge([(1020, ("ns1", "z"), obj("z", 1020))])
    assert info.value.guarantee is Guarantee.Bookmarkable  # the first, highest promise is kept


def test_write_below_promise_raises_promise_guarantee(log):
    log.promise_rv(1020, Guarantee.ListConsistent, "a list")
    with pytest.raises(Violation) as info:
        log.acknowledge([(1015, ("ns1", "z"), obj("z", 1015))])
    assert info.value.guarantee is Guarantee.ListConsistent


def test_write_above_promise_is_fine(log):
    log.promise_rv(1020, Guarantee.Bookmarkable, "a bookmark")
    log.acknowledge([(1021, ("ns1", "z"), obj("z", 1021))])
    log.acknowledge([(1022, ("ns1", "y"), obj("y", 1022))])
    assert log.last_rv == 1022


def test_promise_at_or_below_last_write_binds_nothing_new(log):
    log.promise_rv(1010, Guarantee.Bookmarkable, "a bookmark")
    log.promise_rv(1005, Guarantee.Bookmarkable, "a bookmark")
    assert log.promise is None
    log.acknowledge([(1011, ("ns1", "z"), obj("z", 1011))])


def test_highest_promise_wins(log):
    log.promise_rv(1030, Guarantee.InitialEventsEnd, "an initial-events-end bookmark")
    log.promise_rv(1020, Guarantee.Bookmarkable, "a bookmark")
    with pytest.raises(Violation) as info:
        log.acknowledge([(1025, ("ns1", "z"), obj("z", 1025))])
    assert info.value.guarantee is Guarantee.InitialEventsEnd


def test_promise_on_empty_store():
    h = History()
    h.promise_rv(1000, Guarantee.ListConsistent, "a list of an empty store")
    with pytest.raises(Violation) as info:
        h.acknowledge([(1000, ("ns1", "a"), obj("a", 1000))])
    assert info.value.guarantee is Guarantee.ListConsistent


def test_violation_message_starts_with_guarantee_name(log):
    with pytest.raises(Violation) as info:
        log.acknowledge([(1010, ("ns1", "z"), obj("z", 1010))])
    assert str(info.value).startswith("WriteAcknowledged: ")
    assert type(info.value).__name__ == "WriteAcknowledgedViolation"
