"""Specification tests for model/lists.py: consistent, stale, exact and paginated lists."""

from __future__ import annotations

import pytest

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.model.history import History
from listwatch_conformance.model.lists import ListModel, ListSpec
from listwatch_conformance.model.retention import Retention
from listwatch_conformance.model.selectors import Filter
from tests.model_support import obj, put


class Std:
    """1001 ns1/a{prod}; 1003 ns1/b{dev}; 1004 ns1/c{}; 1006 update ns1/a; 1008 ns10/d; 1009 ns1/e{dev}."""

    def __init__(self, history=100):
        self.log = log = History()
        self.retention = Retention(history=history)
        self.a1 = put(log, obj("a", 1001, env="prod"))
        self.b3 = put(log, obj("b", 1003, env="dev"))
        self.c4 = put(log, obj("c", 1004))
        self.a6 = put(log, obj("a", 1006, "v2", env="prod"))
        self.d8 = put(log, obj("d", 1008, ns="ns10"))
        self.e9 = put(log, obj("e", 1009, env="dev"))

    def list(self, rv=None, match=None, limit=None, ns="ns1", selector="") -> ListModel:
        return ListModel(ListSpec(Filter(ns, selector), rv, match, limit), self.log, self.retention)


@pytest.fixture
def s() -> Std:
    return Std()


def first(lm: ListModel, rv: int, items, token=None) -> G | None:
    try:
        lm.first_page(rv, tuple(items), token)
    except Violation as v:
        return v.guarantee
    return None


# --- consistent lists ---------------------------------------------------------------------

def test_consistent_list_at_last_write_is_accepted(s):
    assert first(s.list(), 1009, [s.a6, s.b3, s.c4, s.e9]) is None


def test_consistent_list_all_namespaces_sorted_by_namespace_then_name(s):
    lm = ListModel(ListSpec(Filter()), s.log, s.retention)
    assert first(lm, 1009, [s.a6, s.b3, s.c4, s.e9, s.d8]) is None


def test_consistent_list_beyond_last_write_is_accepted_and_promised(s):
    assert first(s.list(), 1012, [s.a6, s.b3, s.c4, s.e9]) is None
    with pytest.raises(Violation) as info:
        put(s.log, obj("f", 1011))
    assert info.value.guarantee is G.ListConsistent


def test_stale_consistent_list_is_list_consistent(s):
    assert first(s.list(), 1006, [s.a6, s.b3, s.c4]) is G.ListConsistent


def test_consistent_list_with_wrong_items_is_list_consistent(s):
    assert first(s.list(), 1009, [s.a1, s.b3, s.c4, s.e9]) is G.ListConsistent   # stale object
    assert first(s.list(), 1009, [s.a6, s.c4, s.e9]) is G.ListConsistent         # missing object
    assert first(s.list(), 1009, [s.b3, s.a6, s.c4, s.e9]) is G.ListConsistent   # unsorted


def test_list_with_object_from_ns10_is_namespace_isolation(s):
    assert first(s.list(), 1009, [s.a6, s.b3, s.c4, s.e9, s.d8]) is G.NamespaceIsolation


def test_list_with_selector(s):
    assert first(s.list(selector="env!=dev"), 1009, [s.a6, s.c4]) is None
    assert first(s.list(selector="env=dev"), 1009, [s.b3, s.e9]) is None


def test_list_missing_object_lacking_label_is_selector_semantics(s):
    assert first(s.list(selector="env!=dev"), 1009, [s.a6]) is G.SelectorSemantics


def test_stale_list_missing_an_object_lacking_label_is_list_consistent_once_such_objects_matched(s):
    """A page one write behind (without f, which lacks env) at the current RV reads like a selector
    that drops objects lacking env; an earlier list that returned such an object (c) settles it."""
    f11 = put(s.log, obj("f", 1011))
    earlier = s.list(selector="env!=dev")
    earlier.first_page(1011, (s.a6, s.c4, f11), None)
    stale = ListModel(ListSpec(Filter("ns1", "env!=dev")), s.log, s.retention, [earlier])
    assert first(stale, 1011, [s.a6, s.c4]) is G.ListConsistent
    alone = ListModel(ListSpec(Filter("ns1", "env!=dev")), s.log, s.retention)
    assert first(alone, 1011, [s.a6, s.c4]) is G.SelectorSemantics  # nothing to tell the two apart


def _probed(lm: ListModel, rv: int, items, unselected) -> G:
    """The guarantee named once the same list without the label selector returned ``unselected``."""
    with pytest.raises(Violation) as info:
        lm.first_page(rv, tuple(items), None)
    assert lm.probe_wanted(info.value)
    return lm.refine_with_probe(info.value, tuple(unselected)).guarantee


def test_probe_without_selector_missing_the_objects_too_names_a_stale_list(s):
    """The probe settles what nothing else tells apart: the list without the selector misses f as well,
    so the page is stale (ListConsistent); when it has f, the selector dropped it (SelectorSemantics)."""
    f11 = put(s.log, obj("f", 1011))
    lm = s.list(selector="env!=dev")
    assert _probed(lm, 1011, [s.a6, s.c4], [s.a6, s.b3, s.c4, s.e9]) is G.ListConsistent
    lm = s.list(selector="env!=dev")
    assert _probed(lm, 1011, [s.a6, s.c4], [s.a6, s.b3, s.c4, s.e9, f11]) is G.SelectorSemantics


def test_probe_not_wanted_for_a_wrongly_matched_object_or_without_a_label_selector(s):
    for lm, items in ((s.list(selector="env=dev"), [s.a6, s.b3, s.e9]), (s.list(), [s.a6, s.b3, s.c4])):
        with pytest.raises(Violation) as info:
            lm.first_page(1009, tuple(items), None)
        assert not lm.probe_wanted(info.value)


def test_list_with_non_matching_object_is_selector_semantics(s):
    assert first(s.list(selector="env=dev"), 1009, [s.a6, s.b3, s.e9]) is G.SelectorSemantics


def test_empty_store_list():
    lm = ListModel(ListSpec(Filter()), History(), Retention(history=10))
    assert first(lm, 1000, []) is None


# --- rv=0 and NotOlderThan ------------------------------------------------------------------

def test_rv0_may_read_any_past_snapshot(s):
    assert first(s.list(rv=0), 1001, [s.a1]) is None
    assert first(s.list(rv=0), 1005, [s.a1, s.b3, s.c4]) is None
    assert first(s.list(rv=0), 1005, [s.a6, s.b3, s.c4]) is G.ListConsistent  # items of another RV


@pytest.mark.parametrize("match", [None, "NotOlderThan"])
def test_not_older_than(s, match):
    assert first(s.list(rv=1004, match=match), 1004, [s.a1, s.b3, s.c4]) is None
    assert first(s.list(rv=1004, match=match), 1007, [s.a6, s.b3, s.c4]) is None
    assert first(s.list(rv=1004, match=match), 1003, [s.a1, s.b3]) is G.ListConsistent


# --- exact lists ---------------------------------------------------------------------------

def test_exact_list_at_requested_rv(s):
    assert first(s.list(rv=1004, match="Exact"), 1004, [s.a1, s.b3, s.c4]) is None
    assert first(s.list(rv=1005, match="Exact"), 1005, [s.a1, s.b3, s.c4]) is None  # between writes


def test_exact_list_at_wrong_rv_is_list_exact(s):
    assert first(s.list(rv=1004, match="Exact"), 1009, [s.a6, s.b3, s.c4, s.e9]) is G.ListExact
    assert first(s.list(rv=1004, match="Exact"), 1003, [s.a1, s.b3]) is G.ListExact


def test_exact_list_with_items_of_another_rv_is_list_exact(s):
    assert first(s.list(rv=1004, match="Exact"), 1004, [s.a6, s.b3, s.c4]) is G.ListExact


def test_exact_list_older_than_compaction_must_be_expired(s):
    s.retention.compact(1006)
    assert first(s.list(rv=1004, match="Exact"), 1004, [s.a1, s.b3, s.c4]) is G.ListExact
    s.list(rv=1004, match="Exact").first_failed(expired=True)  # accepted
    assert first(s.list(rv=1006, match="Exact"), 1006, [s.a6, s.b3, s.c4]) is None


def test_expired_for_retained_exact_rv_is_list_exact(s):
    with pytest.raises(Violation) as info:
        s.list(rv=1004, match="Exact").first_failed(expired=True)
    assert info.value.guarantee is G.ListExact


def test_expired_for_exact_rv_outside_history_is_accepted():
    t = Std(history=2)  # floor 1008
    t.list(rv=1004, match="Exact").first_failed(expired=True)
    with pytest.raises(Violation):
        t.list(rv=1008, match="Exact").first_failed(expired=True)


@pytest.mark.parametrize("rv,match", [(None, None), (0, None), (1004, None)])
def test_expired_for_non_exact_list_is_list_consistent(s, rv, match):
    with pytest.raises(Violation) as info:
        s.list(rv=rv, match=match).first_failed(expired=True)
    assert info.value.guarantee is G.ListConsistent


# --- too large RV ---------------------------------------------------------------------------

@pytest.mark.parametrize("match", [None, "Exact"])
def test_too_large_rv_error_allowed_beyond_every_rv_handed_out(s, match):
    s.list(rv=1010, match=match).first_failed(expired=False)
    s.list(rv=5000, match=match).first_failed(expired=False)


@pytest.mark.parametrize("rv,match,guarantee", [
    (1009, None, G.ListConsistent), (1004, "Exact", G.ListExact), (None, None, G.ListConsistent),
    (0, None, G.ListConsistent),
])
def test_error_for_rv_already_handed_out_is_violation(s, rv, match, guarantee):
    with pytest.raises(Violation) as info:
        s.list(rv=rv, match=match).first_failed(expired=False)
    assert info.value.guarantee is guarantee


def test_too_large_rv_counts_promised_rvs_as_handed_out(s):
    first(s.list(), 1020, [s.a6, s.b3, s.c4, s.e9])  # a list handed out 1020
    with pytest.raises(Violation):
        s.list(rv=1015).first_failed(expired=False)
    s.list(rv=1021).first_failed(expired=False)


# --- pagination -----------------------------------------------------------------------------

def test_paginated_list_is_accepted(s):
    lm = s.list(limit=2)
    lm.first_page(1009, (s.a6, s.b3), "t1")
    lm.next_page(1009, (s.c4, s.e9), None)
    assert lm.pages == 2


def test_paginated_list_with_short_pages_is_accepted(s):
    lm = s.list(limit=3)
    lm.first_page(1009, (s.a6,), "t1")
    lm.next_page(1009, (s.b3, s.c4), "t2")
    lm.next_page(1009, (s.e9,), None)


def test_paginated_exact_list_reads_one_old_snapshot(s):
    lm = s.list(rv=1004, match="Exact", limit=2)
    lm.first_page(1004, (s.a1, s.b3), "t1")
    lm.next_page(1004, (s.c4,), None)


def test_limit_zero_is_no_limit(s):
    """Kubernetes paginates only for limit > 0: limit=0 returns every item and no continue token."""
    assert first(s.list(limit=0), 1009, [s.a6, s.b3, s.c4, s.e9]) is None


def test_limit_zero_answered_with_an_empty_last_page_is_list_consistent(s):
    assert first(s.list(limit=0), 1009, []) is G.ListConsistent


def test_page_over_limit_is_pagination_snapshot(s):
    assert first(s.list(limit=2), 1009, [s.a6, s.b3, s.c4], "t1") is G.PaginationSnapshot


def page2(lm: ListModel, rv: int, items, token=None) -> G | None:
    try:
        lm.next_page(rv, tuple(items), token)
    except Violation as v:
        return v.guarantee
    return None


def test_second_page_from_another_snapshot_is_pagination_snapshot(s):
    lm = s.list(limit=2)
    lm.first_page(1009, (s.a6, s.b3), "t1")
    assert page2(lm, 1010, [s.c4, s.e9]) is G.PaginationSnapshot


def test_second_page_from_older_snapshot_with_its_items_is_pagination_snapshot(s):
    lm = s.list(limit=2)
    lm.first_page(1009, (s.a6, s.b3), "t1")
    assert page2(lm, 1004, [s.c4]) is G.PaginationSnapshot


def test_duplicate_across_pages_is_pagination_snapshot(s):
    lm = s.list(limit=2)
    lm.first_page(1009, (s.a6, s.b3), "t1")
    assert page2(lm, 1009, [s.b3, s.c4], "t2") is G.PaginationSnapshot


def test_gap_across_pages_is_pagination_snapshot(s):
    lm = s.list(limit=2)
    lm.first_page(1009, (s.a6, s.b3), "t1")
    assert page2(lm, 1009, [s.e9]) is G.PaginationSnapshot


def test_last_page_stopping_short_is_pagination_snapshot(s):
    lm = s.list(limit=2)
    lm.first_page(1009, (s.a6, s.b3), "t1")
    assert page2(lm, 1009, [s.c4]) is G.PaginationSnapshot


def test_second_page_with_newer_object_version_is_pagination_snapshot(s):
    lm = s.list(rv=1004, match="Exact", limit=1)
    lm.first_page(1004, (s.a1,), "t1")
    lm.next_page(1004, (s.b3,), "t2")
    assert page2(lm, 1004, [s.c4, s.e9]) is G.PaginationSnapshot  # e did not exist at 1004


def test_continue_token_after_compaction_must_be_expired(s):
    lm = s.list(limit=2)
    lm.first_page(1009, (s.a6, s.b3), "t1")
    put(s.log, obj("f", 1012))
    s.retention.compact(1012)
    assert page2(lm, 1009, [s.c4, s.e9]) is G.PaginationSnapshot
    lm.next_failed(expired=True)  # accepted


def test_continue_token_at_compaction_rv_is_served(s):
    lm = s.list(limit=2)
    lm.first_page(1009, (s.a6, s.b3), "t1")
    s.retention.compact(1009)
    with pytest.raises(Violation) as info:
        lm.next_failed(expired=True)
    assert info.value.guarantee is G.PaginationSnapshot
    assert page2(lm, 1009, [s.c4, s.e9]) is None


def test_continue_token_expired_while_retained_is_pagination_snapshot(s):
    lm = s.list(limit=2)
    lm.first_page(1009, (s.a6, s.b3), "t1")
    with pytest.raises(Violation) as info:
        lm.next_failed(expired=True)
    assert info.value.guarantee is G.PaginationSnapshot


def test_continue_token_refused_otherwise_is_pagination_snapshot(s):
    lm = s.list(limit=2)
    lm.first_page(1009, (s.a6, s.b3), "t1")
    put(s.log, obj("f", 1012))
    s.retention.compact(1012)
    with pytest.raises(Violation) as info:
        lm.next_failed(expired=False)
    assert info.value.guarantee is G.PaginationSnapshot


def test_continue_token_outside_history_may_expire():
    t = Std(history=1)
    lm = t.list(rv=1004, match="Exact", limit=2)
    lm.first_page(1004, (t.a1, t.b3), "t1")
    lm.next_failed(expired=True)


def test_continue_page_from_a_later_state_is_pagination_snapshot_not_selector(s):
    """With env!=prod, c (no env label) matches; the continue page is read from after c's delete: the
    selector is right, the snapshot is not (PaginationSnapshot, never SelectorSemantics)."""
    lm = s.list(limit=1, selector="env!=prod")
    lm.first_page(1009, (s.b3,), "t1")
    s.log.acknowledge([(1011, s.c4.key, None)])
    assert page2(lm, 1009, [s.e9]) is G.PaginationSnapshot
