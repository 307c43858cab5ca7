"""Specification tests for model/transitions.py: the filter-transition table."""

from __future__ import annotations

import pytest

from listwatch_conformance.model.history import History, Write
from listwatch_conformance.model.objects import ADDED, DELETED, MODIFIED, Ev, Obj
from listwatch_conformance.model.selectors import Filter
from listwatch_conformance.model.transitions import event_for

PROD = Filter(namespace="ns1", label_selector="env=prod")


def obj(rv: int, env: str | None = None, value: str = "v", name: str = "a", ns: str = "ns1") -> Obj:
    return Obj(ns, name, {"env": env} if env else {}, value, rv)


def test_no_no_gives_nothing():
    p, n = obj(1001, "dev"), obj(1003, "qa")
    assert event_for(Write(1003, p.key, p, n), PROD) is None


def test_no_yes_gives_added_new():
    p, n = obj(1001, "dev"), obj(1003, "prod")
    assert event_for(Write(1003, p.key, p, n), PROD) == Ev(ADDED, 1003, n)


def test_yes_yes_gives_modified_new():
    p, n = obj(1001, "prod"), obj(1003, "prod", "v2")
    assert event_for(Write(1003, p.key, p, n), PROD) == Ev(MODIFIED, 1003, n)


def test_yes_no_gives_deleted_previous_with_write_rv():
    p, n = obj(1001, "prod"), obj(1003, "dev")
    ev = event_for(Write(1003, p.key, p, n), PROD)
    assert ev == Ev(DELETED, 1003, obj(1003, "prod"))
    assert ev.obj.label_map == {"env": "prod"}  # the previous object, not the new one
    assert ev.obj.rv == 1003 and ev.rv == 1003


def test_delete_of_matching_object_gives_deleted_previous_with_delete_rv():
    p = obj(1001, "prod", "old")
    assert event_for(Write(1004, p.key, p, None), PROD) == Ev(DELETED, 1004, obj(1004, "prod", "old"))


def test_delete_of_non_matching_object_gives_nothing():
    p = obj(1001, "dev")
    assert event_for(Write(1004, p.key, p, None), PROD) is None


def test_create_of_matching_object_gives_added():
    n = obj(1001, "prod")
    assert event_for(Write(1001, n.key, None, n), PROD) == Ev(ADDED, 1001, n)


def test_create_of_non_matching_object_gives_nothing():
    n = obj(1001, "dev")
    assert event_for(Write(1001, n.key, None, n), PROD) is None


def test_write_outside_namespace_gives_nothing():
    n = obj(1001, "prod", ns="ns10")
    assert event_for(Write(1001, n.key, None, n), PROD) is None


def test_unfiltered_watch_sees_every_verb():
    f = Filter()
    a1, a2 = obj(1001), obj(1003, value="v2")
    assert event_for(Write(1001, a1.key, None, a1), f).type == ADDED
    assert event_for(Write(1003, a1.key, a1, a2), f).type == MODIFIED
    assert event_for(Write(1007, a1.key, a2, None), f) == Ev(DELETED, 1007, a2.with_rv(1007))


@pytest.mark.parametrize("selector,prev_env,new_env,expected", [
    ("env!=prod", None, "prod", DELETED),   # absent label matched !=, then stopped matching
    ("env!=prod", "prod", None, ADDED),     # removing the label makes it match
    ("env!=prod", None, None, MODIFIED),    # absent both times: stays
    ("!env", "x", None, ADDED),
    ("env notin (prod)", None, "dev", MODIFIED),
])
def test_transitions_with_absent_labels(selector, prev_env, new_env, expected):
    f = Filter(label_selector=selector)
    p, n = obj(1001, prev_env), obj(1003, new_env, "v2")
    ev = event_for(Write(1003, p.key, p, n), f)
    assert ev.type == expected
    assert ev.rv == 1003
    assert ev.obj == (p.with_rv(1003) if expected == DELETED else n)


def test_table_over_an_acknowledged_history():
    log = History()
    a1, a2, a3 = obj(1001, "dev"), obj(1003, "prod"), obj(1004, "prod", "v2")
    writes = log.acknowledge([(1001, a1.key, a1)])
    writes += log.acknowledge([(1003, a1.key, a2)])
    writes += log.acknowledge([(1004, a1.key, a3)])
    writes += log.acknowledge([(1007, a1.key, obj(1007, "dev", "v3"))])
    writes += log.acknowledge([(1010, a1.key, None)])
    assert [event_for(w, PROD) for w in writes] == [
        None,
        Ev(ADDED, 1003, a2),
        Ev(MODIFIED, 1004, a3),
        Ev(DELETED, 1007, a3.with_rv(1007)),
        None,
    ]
