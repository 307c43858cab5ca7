"""Specification tests for model/watch.py, watches that start at an exact RV (rv=N > 0).

Every test builds a small hand-written history with non-contiguous RVs, feeds the events a
backend would deliver, and asserts acceptance or the exact guarantee of the Violation.
"""

from __future__ import annotations

import pytest

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.model.history import History
from listwatch_conformance.model.objects import DELETED, Ev
from listwatch_conformance.model.retention import Retention, Start
from listwatch_conformance.model.selectors import Filter
from listwatch_conformance.model.watch import WatchModel, WatchSpec
from tests.model_support import obj, put, delete, added, modified, bookmark, watch, feed, violation


class Std:
    """1001 create a; 1003 create b; 1004 update a; 1007 delete b; 1010 create c (all ns1)."""

    def __init__(self):
        self.log = log = History()
        self.a1 = put(log, obj("a", 1001))
        self.b3 = put(log, obj("b", 1003))
        self.a4 = put(log, obj("a", 1004, "v2"))
        self.del_b = delete(log, 1007, self.b3)
        self.c10 = put(log, obj("c", 1010))
        # what a watch from 1003 must see
        self.after_1003 = [modified(self.a4), self.del_b, added(self.c10)]


@pytest.fixture
def s() -> Std:
    return Std()


# --- the correct stream ---------------------------------------------------------------

def test_correct_stream_from_exact_rv_is_accepted(s):
    w = watch(s.log, 1003)
    assert w.owed() is not None
    feed(w, *s.after_1003)
    assert w.owed() is None


def test_correct_stream_from_rv_between_writes(s):
    w = watch(s.log, 1005)  # state at 1005 is the state at 1004
    feed(w, s.del_b, added(s.c10))
    assert w.owed() is None


def test_correct_stream_from_first_write(s):
    w = watch(s.log, 1001)
    feed(w, added(s.b3), *s.after_1003)
    assert w.owed() is None


def test_watch_from_last_write_owes_nothing_until_next_write(s):
    w = watch(s.log, 1010)
    assert w.owed() is None
    d = put(s.log, obj("d", 1015))
    assert w.owed() is not None
    feed(w, added(d))
    assert w.owed() is None


def test_deleted_event_rv_and_object_rv_both_carry_the_delete(s):
    assert s.del_b.rv == 1007 and s.del_b.obj.rv == 1007 and s.del_b.obj.value == "v"


# --- broken streams -------------------------------------------------------------------

def test_event_at_start_rv_is_exclusive_start(s):
    assert violation(watch(s.log, 1003), added(s.b3)) is G.ExclusiveStart


def test_event_below_start_rv_is_exclusive_start(s):
    assert violation(watch(s.log, 1004), added(s.b3)) is G.ExclusiveStart


def test_skipped_first_event_is_reliable(s):
    assert violation(watch(s.log, 1003), s.del_b) is G.Reliable


def test_skipped_first_event_on_resumed_watch_is_resumable(s):
    w = WatchModel(WatchSpec(Filter(), rv=1003, resumed_from="w1"), s.log, Retention(history=100))
    assert violation(w, s.del_b) is G.Resumable


def test_skipped_event_in_the_middle_is_reliable(s):
    assert violation(watch(s.log, 1003), modified(s.a4), added(s.c10)) is G.Reliable


def test_duplicate_event_is_unique(s):
    assert violation(watch(s.log, 1003), modified(s.a4), modified(s.a4)) is G.Unique


def test_duplicate_after_later_event_is_unique(s):
    assert violation(watch(s.log, 1003), modified(s.a4), s.del_b, modified(s.a4)) is G.Unique


def test_older_event_after_newer_is_ordered(s):
    # b's create at 1003 arrives after the events at 1004 and 1007 were delivered
    assert violation(watch(s.log, 1003), modified(s.a4), s.del_b, added(s.b3)) is G.Ordered


def test_swapped_events_are_a_gap_then_refined_to_ordered(s):
    # Seen event by event, 1010 before 1007 is first a gap; once 1007 arrives later it is Ordered.
    w = watch(s.log, 1003)
    feed(w, modified(s.a4))
    with pytest.raises(Violation) as info:
        w.observe(added(s.c10))
    assert info.value.guarantee is G.Reliable
    assert w.refine(info.value, [s.del_b]).guarantee is G.Ordered
    assert w.refine(info.value, []).guarantee is G.Reliable


def test_deleted_with_old_rv_is_delete_carries_delete_rv(s):
    stale = Ev(DELETED, 1003, s.b3)  # the object as last written, with its old RV
    assert violation(watch(s.log, 1003), modified(s.a4), stale) is G.DeleteCarriesDeleteRV


def test_deleted_with_new_event_rv_but_old_object_rv_is_delete_carries_delete_rv(s):
    stale = Ev(DELETED, 1007, s.b3)
    assert violation(watch(s.log, 1003), modified(s.a4), stale) is G.DeleteCarriesDeleteRV


def test_modified_instead_of_added_on_create_is_filter_transitions(s):
    assert violation(watch(s.log, 1007), modified(s.c10)) is G.FilterTransitions


def test_event_with_wrong_object_is_filter_transitions(s):
    assert violation(watch(s.log, 1003), modified(obj("a", 1004, "v-wrong"))) is G.FilterTransitions


def test_event_at_rv_of_no_write_is_rejected(s):
    with pytest.raises(Violation):
        watch(s.log, 1010).observe(added(obj("z", 1012)))


# --- selector transitions -------------------------------------------------------------

class Sel:
    """env=prod watch: 1001 create a{prod}; 1003 a->{dev} (exit); 1004 a->{prod} (entry);
    1006 create b{prod}; 1008 create x{dev} (never seen)."""

    def __init__(self):
        self.log = log = History()
        self.a1 = put(log, obj("a", 1001, env="prod"))
        self.a3 = put(log, obj("a", 1003, "v2", env="dev"))
        self.a4 = put(log, obj("a", 1004, "v3", env="prod"))
        self.b6 = put(log, obj("b", 1006, env="prod"))
        self.x8 = put(log, obj("x", 1008, env="dev"))
        self.exit = Ev(DELETED, 1003, self.a1.with_rv(1003))
        self.flt = Filter(label_selector="env=prod")

    def watch(self, rv=1001, **kw):
        return watch(self.log, rv, self.flt, **kw)


def test_selector_exit_entry_stream_is_accepted():
    t = Sel()
    w = t.watch()
    feed(w, t.exit, added(t.a4), added(t.b6))
    assert w.owed() is None


def test_deleted_on_exit_carrying_new_object_is_filter_transitions():
    t = Sel()
    assert violation(t.watch(), Ev(DELETED, 1003, t.a3)) is G.FilterTransitions


def test_modified_on_exit_is_filter_transitions():
    t = Sel()
    assert violation(t.watch(), modified(t.a3)) is G.FilterTransitions


def test_modified_instead_of_added_on_entry_is_filter_transitions():
    t = Sel()
    assert violation(t.watch(), t.exit, modified(t.a4)) is G.FilterTransitions


def test_no_deleted_on_exit_then_later_event_is_filter_transitions():
    t = Sel()
    assert violation(t.watch(), added(t.a4)) is G.FilterTransitions


def test_no_deleted_on_exit_mid_stream_is_filter_transitions():
    log = History()
    flt = Filter(label_selector="env=prod")
    a1 = put(log, obj("a", 1001, env="prod"))
    b2 = put(log, obj("b", 1002, env="prod"))
    put(log, obj("a", 1005, "v2", env="dev"))  # a leaves the selector
    b7 = put(log, obj("b", 1007, "v2", env="prod"))
    w = watch(log, 1001, flt)
    assert violation(w, added(b2), modified(b7)) is G.FilterTransitions
    assert a1.rv == 1001


def test_event_for_never_matching_object_is_selector_semantics():
    t = Sel()
    assert violation(t.watch(1006), added(t.x8)) is G.SelectorSemantics


def test_missing_deleted_on_exit_is_owed_as_filter_transitions():
    log = History()
    a1 = put(log, obj("a", 1001, env="prod"))
    put(log, obj("a", 1003, "v2", env="dev"))
    w = watch(log, 1001, Filter(label_selector="env=prod"))
    assert w.owed().guarantee is G.FilterTransitions
    feed(w, Ev(DELETED, 1003, a1.with_rv(1003)))
    assert w.owed() is None


class Trap:
    """env!=prod watch: 1001 create a{prod}; 1003 create b{} (no env: matches); 1004 create c{dev}."""

    def __init__(self):
        self.log = log = History()
        self.a1 = put(log, obj("a", 1001, env="prod"))
        self.b3 = put(log, obj("b", 1003))
        self.c4 = put(log, obj("c", 1004, env="dev"))


@pytest.mark.parametrize("selector", ["env!=prod", "env notin (prod)"])
def test_missing_event_for_object_lacking_label_is_selector_semantics(selector):
    t = Trap()
    assert violation(watch(t.log, 1001, Filter(label_selector=selector)), added(t.c4)) is G.SelectorSemantics


def test_owed_event_for_object_lacking_label_is_selector_semantics():
    t = Trap()
    w = watch(t.log, 1003, Filter(label_selector="env!=prod"))
    feed(w, added(t.c4))
    d = put(t.log, obj("d", 1008, tier="web"))  # lacks env: matches env!=prod
    assert w.owed().guarantee is G.SelectorSemantics
    feed(w, added(d))
    assert w.owed() is None


# --- namespaces -----------------------------------------------------------------------

class Ns:
    """1001 create ns1/a; 1002 create ns10/a; 1004 create ns1/b; 1005 create ns10/b."""

    def __init__(self):
        self.log = log = History()
        self.a1 = put(log, obj("a", 1001, ns="ns1"))
        self.z2 = put(log, obj("a", 1002, ns="ns10"))
        self.b4 = put(log, obj("b", 1004, ns="ns1"))
        self.y5 = put(log, obj("b", 1005, ns="ns10"))


def test_namespaced_watch_accepts_own_namespace_only():
    t = Ns()
    w = watch(t.log, 1001, Filter(namespace="ns1"))
    feed(w, added(t.b4))
    assert w.owed() is None


def test_event_from_ns10_on_ns1_watch_is_namespace_isolation():
    t = Ns()
    assert violation(watch(t.log, 1001, Filter(namespace="ns1")), added(t.z2)) is G.NamespaceIsolation


def test_event_from_ns10_after_catching_up_is_namespace_isolation():
    t = Ns()
    assert violation(watch(t.log, 1001, Filter(namespace="ns1")), added(t.b4), added(t.y5)) \
        is G.NamespaceIsolation


# --- bookmarks ------------------------------------------------------------------------

def test_bookmark_without_allow_bookmarks_is_bookmarkable(s):
    assert violation(watch(s.log, 1010), bookmark(1010)) is G.Bookmarkable


def test_bookmarks_are_accepted_when_caught_up(s):
    w = watch(s.log, 1003, allow_bookmarks=True)
    feed(w, modified(s.a4), bookmark(1004), bookmark(1006), s.del_b, added(s.c10), bookmark(1010), bookmark(1010))
    assert w.owed() is None


def test_bookmark_ahead_of_undelivered_event_is_bookmarkable(s):
    assert violation(watch(s.log, 1003, allow_bookmarks=True), bookmark(1004)) is G.Bookmarkable
    assert violation(watch(s.log, 1003, allow_bookmarks=True), modified(s.a4), bookmark(1008)) is G.Bookmarkable


def test_bookmark_going_backwards_is_bookmark_monotonic(s):
    w = watch(s.log, 1003, allow_bookmarks=True)
    assert violation(w, modified(s.a4), bookmark(1005), bookmark(1004)) is G.BookmarkMonotonic


def test_bookmark_below_delivered_event_is_bookmark_monotonic(s):
    w = watch(s.log, 1003, allow_bookmarks=True)
    assert violation(w, modified(s.a4), s.del_b, bookmark(1005)) is G.BookmarkMonotonic


def test_bookmark_below_start_is_bookmark_monotonic(s):
    assert violation(watch(s.log, 1007, allow_bookmarks=True), bookmark(1005)) is G.BookmarkMonotonic


def test_event_at_or_below_bookmark_is_rejected_and_bookmark_is_a_promise(s):
    w = watch(s.log, 1010, allow_bookmarks=True)
    feed(w, bookmark(1015))  # beyond the store: every later write must get RV > 1015
    with pytest.raises(Violation) as info:
        put(s.log, obj("d", 1014))
    assert info.value.guarantee is G.Bookmarkable


def test_write_above_bookmark_is_fine(s):
    w = watch(s.log, 1010, allow_bookmarks=True)
    feed(w, bookmark(1015))
    d = put(s.log, obj("d", 1016))
    feed(w, added(d))
    assert w.owed() is None


# --- liveness and progress --------------------------------------------------------------

def test_owed_is_liveness_while_event_missing_and_none_when_caught_up(s):
    w = watch(s.log, 1003)
    for ev in s.after_1003:
        owed = w.owed()
        assert owed is not None and owed.guarantee is G.Liveness
        assert owed.expected == ev
        w.observe(ev)
    assert w.owed() is None


def test_request_progress_owes_bookmark_at_or_past_last_write():
    log = History()
    a = put(log, obj("a", 1001))
    put(log, obj("x", 1003, ns="ns2"))
    put(log, obj("y", 1006, ns="ns2"))
    w = watch(log, 1001, Filter(namespace="ns1"), allow_bookmarks=True)
    assert w.owed() is None
    w.request_progress(log.last_rv)
    assert w.owed().guarantee is G.ProgressLiveness
    feed(w, bookmark(1004))  # a fine bookmark, but below the write before the request
    assert w.owed().guarantee is G.ProgressLiveness
    feed(w, bookmark(1006))
    assert w.owed() is None
    assert a.rv == 1001


def test_request_progress_before_any_write_owes_a_bookmark_at_any_rv():
    log = History()
    w = watch(log, None, allow_bookmarks=True)
    w.request_progress(log.last_rv)
    owed = w.owed()
    assert owed.guarantee is G.ProgressLiveness
    assert "BOOKMARK at any RV" in str(owed) and "inf" not in str(owed)
    feed(w, bookmark(0))
    assert w.owed() is None


def test_request_progress_satisfied_by_bookmark_beyond_last_write(s):
    w = watch(s.log, 1010, allow_bookmarks=True)
    w.request_progress(s.log.last_rv)
    assert w.owed().guarantee is G.ProgressLiveness
    feed(w, bookmark(1012))
    assert w.owed() is None


def test_owed_is_liveness_after_first_events(s):
    w = watch(s.log, 1003)
    feed(w, modified(s.a4))
    owed = w.owed()
    assert owed.guarantee is G.Liveness and owed.expected == s.del_b
    feed(w, s.del_b)
    owed = w.owed()
    assert owed.guarantee is G.Liveness and owed.expected == added(s.c10)
    feed(w, added(s.c10))
    assert w.owed() is None


def test_request_progress_while_behind_owes_the_event_first(s):
    w = watch(s.log, 1003, allow_bookmarks=True)
    feed(w, modified(s.a4))
    w.request_progress(s.log.last_rv)
    assert w.owed().guarantee is G.Liveness
    feed(w, *s.after_1003[1:])
    assert w.owed().guarantee is G.ProgressLiveness
    feed(w, bookmark(1010))
    assert w.owed() is None


def test_request_progress_without_allow_bookmarks_owes_nothing(s):
    w = watch(s.log, 1010)
    w.request_progress(s.log.last_rv)
    assert w.owed() is None


def test_watch_from_future_rv_owes_no_progress_bookmark(s):
    w = watch(s.log, 2000, allow_bookmarks=True)
    w.request_progress(s.log.last_rv)
    assert w.owed() is None
    assert violation(w, bookmark(1010)) is G.BookmarkMonotonic  # below its start


def test_watch_from_future_rv_delivers_nothing_at_or_below_it(s):
    w = watch(s.log, 2000)
    d = put(s.log, obj("d", 1500))
    assert w.owed() is None
    e = put(s.log, obj("e", 2001))
    assert w.owed() is not None
    with pytest.raises(Violation) as info:
        w.observe(added(d))
    assert info.value.guarantee is G.ExclusiveStart
    feed(w, added(e))
    assert w.owed() is None


def test_on_closed_while_caught_up_is_liveness(s):
    w = watch(s.log, 1003)
    feed(w, *s.after_1003)
    w.reading()
    with pytest.raises(Violation) as info:
        w.on_closed(1)
    assert info.value.guarantee is G.Liveness


def test_on_closed_with_a_full_buffer_waiting_is_allowed(s):
    w = watch(s.log, 1003)
    w.reading()
    feed(w, *s.after_1003)  # delivered in this read step: they were waiting when it began
    w.on_closed(len(s.after_1003))
    assert w.ended and w.owed() is None


def test_on_closed_with_fewer_than_the_buffer_waiting_is_liveness(s):
    w = watch(s.log, 1003)
    w.reading()
    feed(w, modified(s.a4))
    assert w.could_have_waited() == len(s.after_1003)  # one delivered, the rest owed
    with pytest.raises(Violation) as info:
        w.on_closed(len(s.after_1003) + 1)
    assert info.value.guarantee is G.Liveness and "watch_buffer" in str(info.value)


def test_on_closed_while_behind_counts_what_is_owed(s):
    w = watch(s.log, 1003)
    feed(w, modified(s.a4))
    w.reading()  # the next read step: the event delivered before it was read in time
    assert w.could_have_waited() == len(s.after_1003) - 1
    w.on_closed(len(s.after_1003) - 1)
    assert w.ended and w.owed() is None


# --- Expired and retention --------------------------------------------------------------

def test_expired_inside_window_is_retention(s):
    w = watch(s.log, 1003, history=100)
    assert w.start is Start.MUST_REPLAY
    with pytest.raises(Violation) as info:
        w.on_expired()
    assert info.value.guarantee is G.Retention


def test_expired_after_events_is_expired_not_partial(s):
    w = watch(s.log, 1003, history=2)  # outside the window: Expired would be fine before any event
    feed(w, modified(s.a4))
    with pytest.raises(Violation) as info:
        w.on_expired()
    assert info.value.guarantee is G.ExpiredNotPartial


def test_expired_outside_window_is_accepted(s):
    w = watch(s.log, 1003, history=2)  # floor 1007
    assert w.start is Start.EITHER
    w.on_expired()
    assert w.ended and w.owed() is None and w.resume_rv() is None


def test_full_replay_outside_window_is_accepted(s):
    w = watch(s.log, 1003, history=2)
    feed(w, *s.after_1003)
    assert w.owed() is None


def test_partial_replay_outside_window_is_expired_not_partial(s):
    w = watch(s.log, 1003, history=2)
    assert violation(w, s.del_b) is G.ExpiredNotPartial


def test_bookmark_past_a_replay_gap_outside_window_is_expired_not_partial(s):
    """A bookmark claims the replay complete although its first event never came: a partial replay,
    not a lost live event (the ring's edge served one evicted event too many)."""
    w = watch(s.log, 1003, history=2, allow_bookmarks=True)
    with pytest.raises(Violation) as info:
        w.observe(bookmark(1010))
    assert w.refine(info.value, []).guarantee is G.ExpiredNotPartial


def test_replay_gap_outside_window_that_a_peer_moved_past_is_expired_not_partial(s):
    w = watch(s.log, 1003, history=2)
    peer = watch(s.log, 1004)
    feed(peer, s.del_b)
    w.peers.append(peer)
    assert w.owed().guarantee is G.ExpiredNotPartial


def test_live_event_lost_after_watch_outside_window_is_not_a_replay_gap(s):
    """A write acknowledged after watch() is not history: losing it is Reliable, not ExpiredNotPartial."""
    w = watch(s.log, 1003, flt=Filter(None, "", "metadata.name=d"), history=2)
    d12 = put(s.log, obj("d", 1012))
    peer = watch(s.log, 1010)
    feed(peer, added(d12))
    d13 = put(s.log, obj("d", 1013, "v2"))
    feed(peer, modified(d13))
    w.peers.append(peer)
    assert w.owed().guarantee is G.Reliable
    assert violation(w, modified(d13)) is G.Reliable


def test_silence_outside_window_is_liveness(s):
    """Neither a replay nor Expired: nothing partial was seen yet, so it is a liveness failure."""
    w = watch(s.log, 1003, history=2)
    assert w.owed().guarantee is G.Liveness


def compacted(s: Std, rv: int, at: int = 1007) -> WatchModel:
    r = Retention(history=100)
    r.compact(at)
    return WatchModel(WatchSpec(Filter(), rv=rv), s.log, r)


def test_expired_below_compaction_is_accepted(s):
    w = compacted(s, 1003)
    assert w.start is Start.MUST_EXPIRE
    w.on_expired()
    assert w.owed() is None


def test_no_expired_below_compaction_is_owed_as_expired_not_partial(s):
    w = compacted(s, 1003)
    assert w.owed().guarantee is G.ExpiredNotPartial


def test_events_below_compaction_are_expired_not_partial(s):
    w = compacted(s, 1003)
    with pytest.raises(Violation) as info:
        w.observe(s.after_1003[0])
    assert info.value.guarantee is G.ExpiredNotPartial


def test_expired_at_compaction_minus_one_is_accepted(s):
    w = compacted(s, 1006)
    assert w.start is Start.EITHER
    w.on_expired()


def test_expired_at_compaction_is_retention(s):
    w = compacted(s, 1007)
    with pytest.raises(Violation) as info:
        w.on_expired()
    assert info.value.guarantee is G.Retention


def test_partial_replay_below_compaction_is_expired_not_partial(s):
    w = compacted(s, 1003)
    assert violation(w, s.del_b) is G.ExpiredNotPartial


def test_refused_for_rv_beyond_every_rv_handed_out_is_accepted(s):
    w = watch(s.log, 2000)
    w.on_refused(RuntimeError("too large resource version"))
    assert w.ended


def test_refused_for_handed_out_rv_is_retention(s):
    w = watch(s.log, 1004)
    with pytest.raises(Violation) as info:
        w.on_refused(RuntimeError("nope"))
    assert info.value.guarantee is G.Retention


def test_resume_rv_is_last_seen(s):
    w = watch(s.log, 1003)
    assert w.resume_rv() == 1003
    feed(w, modified(s.a4), s.del_b)
    assert w.resume_rv() == 1007


def test_violation_context_lists_delivered_events(s):
    w = watch(s.log, 1003)
    feed(w, modified(s.a4))
    with pytest.raises(Violation) as info:
        w.observe(added(s.c10))
    assert info.value.guarantee is G.Reliable
    assert info.value.context == (modified(s.a4),)
    assert info.value.expected == s.del_b
    assert str(info.value).startswith("Reliable: watch")


def test_concurrent_watchers_agree():
    t = Sel()
    w1, w2 = t.watch(), t.watch(label="w2")
    w2.peers.append(w1)
    feed(w1, t.exit)
    assert violation(w2, Ev(DELETED, 1003, t.a3)) is G.ConcurrentWatchersAgree


def test_wrong_kind_from_an_absent_label_is_selector_semantics():
    """b lacks env, so env!=prod matched it; gaining env=dev it stays matched: MODIFIED. A backend
    that took the absent label for a mismatch says ADDED: a selector bug, not a transition bug."""
    t = Trap()
    b5 = put(t.log, obj("b", 1005, env="dev"))
    assert violation(watch(t.log, 1004, Filter(label_selector="env!=prod")), added(b5)) is G.SelectorSemantics


def test_wrong_kind_is_filter_transitions_once_absent_labels_were_matched():
    """The same mistake after the backend delivered an object lacking the label is a transition bug."""
    t = Trap()
    peer = watch(t.log, 1001, Filter(label_selector="env!=prod"))
    feed(peer, added(t.b3), added(t.c4))  # b3 lacks env and was matched
    b5 = put(t.log, obj("b", 1005, env="dev"))
    w = watch(t.log, 1004, Filter(label_selector="env!=prod"))
    w.peers.append(peer)
    assert violation(w, added(b5)) is G.FilterTransitions
