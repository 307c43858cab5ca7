"""Specification tests for model/watch.py, watches that start from a state:
rv=None (state not older than the last write), rv=0 (any past state), send_initial_events."""

from __future__ import annotations

import pytest

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.model.history import History
from listwatch_conformance.model.objects import ADDED, DELETED, Ev
from listwatch_conformance.model.selectors import Filter
from listwatch_conformance.model.watch import WatchModel
from tests.model_support import obj, put, added, modified, bookmark, watch, feed, violation


def streaming(log, rv=None, flt=None) -> WatchModel:
    return watch(log, rv, flt, allow_bookmarks=True, send_initial_events=True)


class Std:
    """Before the watch: 1001 create a; 1003 create b; 1004 update a."""

    def __init__(self):
        self.log = log = History()
        self.a1 = put(log, obj("a", 1001))
        self.b3 = put(log, obj("b", 1003))
        self.a4 = put(log, obj("a", 1004, "v2"))


@pytest.fixture
def s() -> Std:
    return Std()


# --- rv=None ------------------------------------------------------------------------------

@pytest.mark.parametrize("order", [0, 1])
def test_current_state_in_any_order_then_live_events(s, order):
    w = watch(s.log)
    initial = [added(s.a4), added(s.b3)]
    feed(w, *(initial if order == 0 else initial[::-1]))
    assert w.owed() is None
    c = put(s.log, obj("c", 1006))
    a8 = put(s.log, obj("a", 1008, "v3"))
    assert w.owed() is not None
    feed(w, added(c), modified(a8))
    assert w.owed() is None


def test_owed_initial_objects(s):
    w = watch(s.log)
    feed(w, added(s.b3))
    assert w.owed().guarantee is G.InitialState


def test_live_exit_lost_right_after_the_initial_state_is_filter_transitions(s):
    """The lost event's write came after watch(): not a stale start (InitialState) but a selector exit
    without DELETED, named for its kind as on a live watch."""
    w = watch(s.log, flt=Filter(None, "!app"))
    feed(w, added(s.a4), added(s.b3))
    put(s.log, obj("a", 1006, "v3", app="x"))
    assert w.owed().guarantee is G.FilterTransitions


def test_live_event_skipped_right_after_the_initial_state_is_reliable(s):
    w = watch(s.log)
    feed(w, added(s.a4), added(s.b3))
    put(s.log, obj("c", 1006))
    a8 = put(s.log, obj("a", 1008, "v3"))
    assert violation(w, modified(a8)) is G.Reliable


def test_stale_initial_object_for_rv_none_is_initial_state(s):
    assert violation(watch(s.log), added(s.a1)) is G.InitialState


def test_stale_state_then_catch_up_for_rv_none_is_initial_state(s):
    # the state at 1003 followed by the events after it: allowed for rv=0 only
    assert violation(watch(s.log), added(s.b3), added(s.a1)) is G.InitialState


def test_initial_object_twice_is_unique(s):
    assert violation(watch(s.log), added(s.a4), added(s.a4)) is G.Unique


def test_initial_object_that_does_not_exist_is_rejected(s):
    with pytest.raises(Violation):
        watch(s.log).observe(added(obj("ghost", 1003)))


def test_initial_event_with_rv_other_than_objects_is_rejected(s):
    with pytest.raises(Violation):
        watch(s.log).observe(Ev(ADDED, 1004, s.b3))


def test_empty_store_watch_sees_later_writes():
    log = History()
    w = watch(log)
    assert w.owed() is None
    a = put(log, obj("a", 1001))
    feed(w, added(a))
    assert w.owed() is None


def test_initial_object_from_ns10_on_ns1_watch_is_namespace_isolation():
    log = History()
    a = put(log, obj("a", 1001, ns="ns1"))
    z = put(log, obj("z", 1002, ns="ns10"))
    w = watch(log, flt=Filter(namespace="ns1"))
    assert violation(w, added(a), added(z)) is G.NamespaceIsolation


def test_initial_state_filtered_by_selector():
    log = History()
    a = put(log, obj("a", 1001, env="prod"))
    put(log, obj("b", 1002, env="dev"))
    c = put(log, obj("c", 1005))  # lacks env: matches env!=dev
    w = watch(log, flt=Filter(label_selector="env!=dev"))
    feed(w, added(c), added(a))
    assert w.owed() is None


def test_missing_initial_object_lacking_label_is_selector_semantics():
    log = History()
    a = put(log, obj("a", 1001, env="prod"))
    put(log, obj("c", 1005))
    w = watch(log, flt=Filter(label_selector="env!=dev"))
    feed(w, added(a))
    assert w.owed().guarantee is G.SelectorSemantics


# --- rv=0 ---------------------------------------------------------------------------------

def test_rv0_accepts_stale_but_consistent_start(s):
    w = watch(s.log, 0)
    feed(w, added(s.a1), added(s.b3), modified(s.a4))
    assert w.owed() is None


def test_rv0_accepts_stale_state_with_several_objects(s):
    w = watch(s.log, 0)
    feed(w, added(s.b3), added(s.a1))  # the state at 1003
    # if the event after the stale r0 never came, the state and the stream would disagree
    assert w.owed().guarantee is G.InitialState
    feed(w, modified(s.a4))
    assert w.owed() is None


def test_rv0_accepts_current_state(s):
    w = watch(s.log, 0)
    feed(w, added(s.a4), added(s.b3))
    assert w.owed() is None


def test_rv0_state_and_events_must_agree_on_one_r0(s):
    # a@1001 and then a@1004 skips b's create at 1003 whichever r0 is chosen
    assert violation(watch(s.log, 0), added(s.a1), modified(s.a4)) is G.InitialState


def test_rv0_stale_object_mixed_with_newer_state_is_initial_state():
    log = History()
    a1 = put(log, obj("a", 1001))
    put(log, obj("b", 1003))
    put(log, obj("a", 1004, "v2"))
    b5 = put(log, obj("b", 1005, "v2"))
    # a@1001 with b@1005 is no state the store ever had
    assert violation(watch(log, 0), added(a1), added(b5)) is G.InitialState


# --- send_initial_events --------------------------------------------------------------

class Stream:
    """Before the watch: 1001 create ns1/a; 1003 create ns2/x. Watch on ns1 with initial events."""

    def __init__(self, rv=None):
        self.log = log = History()
        self.a1 = put(log, obj("a", 1001))
        self.x3 = put(log, obj("x", 1003, ns="ns2"))
        self.w = streaming(log, rv, Filter(namespace="ns1"))


@pytest.mark.parametrize("end_rv", [1003, 1004])
def test_initial_events_end_bookmark_at_r0_then_live_events(end_rv):
    t = Stream()
    feed(t.w, added(t.a1))
    assert t.w.owed().guarantee is G.InitialEventsEnd
    feed(t.w, bookmark(end_rv, end=True))
    assert t.w.owed() is None
    b = put(t.log, obj("b", 1006))
    feed(t.w, added(b), bookmark(1006))
    assert t.w.owed() is None


def test_initial_events_end_bookmark_is_a_promise():
    t = Stream()
    feed(t.w, added(t.a1), bookmark(1005, end=True))
    with pytest.raises(Violation) as info:
        put(t.log, obj("b", 1005))
    assert info.value.guarantee is G.InitialEventsEnd


def test_initial_events_end_below_last_write_is_initial_events_end():
    t = Stream()
    assert violation(t.w, added(t.a1), bookmark(1002, end=True)) is G.InitialEventsEnd


def test_initial_events_end_beyond_a_write_it_did_not_include_is_initial_events_end():
    t = Stream()
    put(t.log, obj("b", 1005))  # after the watch call: the snapshot may include it, or not
    assert violation(t.w, added(t.a1), bookmark(1006, end=True)) is G.InitialEventsEnd


def test_later_snapshot_with_matching_end_bookmark_is_accepted():
    t = Stream()
    b = put(t.log, obj("b", 1005))
    feed(t.w, added(b), added(t.a1), bookmark(1005, end=True))
    assert t.w.owed() is None


def test_event_before_initial_events_end_is_initial_events_end():
    t = Stream()
    a5 = put(t.log, obj("a", 1005, "v2"))
    assert violation(t.w, added(t.a1), modified(a5)) is G.InitialEventsEnd


def test_plain_bookmark_before_initial_events_end_is_initial_events_end():
    t = Stream()
    assert violation(t.w, added(t.a1), bookmark(1003)) is G.InitialEventsEnd


def test_second_initial_events_end_is_initial_events_end():
    t = Stream()
    assert violation(t.w, added(t.a1), bookmark(1003, end=True), bookmark(1003, end=True)) is G.InitialEventsEnd


def test_initial_events_end_before_all_initial_objects_is_rejected():
    t = Stream()
    with pytest.raises(Violation) as info:
        t.w.observe(bookmark(1003, end=True))
    assert info.value.guarantee is G.InitialState  # the initial state is incomplete


def test_initial_events_end_without_send_initial_events_is_initial_events_end(s):
    w = watch(s.log, allow_bookmarks=True)
    assert violation(w, added(s.a4), added(s.b3), bookmark(1004, end=True)) is G.InitialEventsEnd


def test_send_initial_events_from_rv_n_needs_state_not_older_than_n():
    log = History()
    a1 = put(log, obj("a", 1001))
    put(log, obj("x", 1003, ns="ns2"))
    put(log, obj("y", 1004, ns="ns2"))
    ok = streaming(log, 1003, Filter(namespace="ns1"))
    feed(ok, added(a1), bookmark(1003, end=True))
    assert ok.owed() is None
    stale = streaming(log, 1003, Filter(namespace="ns1"))
    assert violation(stale, added(a1), bookmark(1002, end=True)) is G.InitialEventsEnd


# --- lazily created candidates --------------------------------------------------------

def test_snapshot_taken_after_the_call_is_allowed():
    log = History()
    put(log, obj("a", 1001))
    w = watch(log)
    a3 = put(log, obj("a", 1003, "v2"))  # acknowledged after watch(): the backend snapshots later
    feed(w, added(a3))
    assert w.owed() is None


def test_snapshot_taken_after_the_call_with_new_object():
    log = History()
    a = put(log, obj("a", 1001))
    w = watch(log)
    b = put(log, obj("b", 1003))
    feed(w, added(b), added(a))
    assert w.owed() is None


def test_snapshot_from_before_the_call_is_initial_state():
    log = History()
    a1 = put(log, obj("a", 1001))
    put(log, obj("a", 1003, "v2"))
    w = watch(log)
    put(log, obj("a", 1005, "v3"))
    assert violation(w, added(a1)) is G.InitialState


def test_no_lazy_snapshot_after_live_events():
    log = History()
    a = put(log, obj("a", 1001))
    w = watch(log, allow_bookmarks=True)
    feed(w, added(a), bookmark(1001))  # the initial phase is over
    b = put(log, obj("b", 1003))
    feed(w, added(b))
    a5 = put(log, obj("a", 1005, "v2"))
    feed(w, modified(a5))
    assert w.owed() is None


def test_deleted_in_a_state_watch_carries_delete_rv(s):
    w = watch(s.log)
    feed(w, added(s.a4), added(s.b3))
    s.log.acknowledge([(1009, s.b3.key, None)])
    assert violation(w, Ev(DELETED, 1003, s.b3)) is G.DeleteCarriesDeleteRV


# --- errors, bookmarks and peers on state watches -------------------------------------------

def test_expired_for_rv_none_watch_is_retention(s):
    with pytest.raises(Violation) as info:
        watch(s.log).on_expired()
    assert info.value.guarantee is G.Retention


def test_refused_rv_none_watch_is_initial_state(s):
    with pytest.raises(Violation) as info:
        watch(s.log).on_refused(RuntimeError("nope"))
    assert info.value.guarantee is G.InitialState


def test_streaming_watch_from_future_rv_may_be_refused():
    t = Stream()
    w = streaming(t.log, 2000, Filter(namespace="ns1"))
    w.on_refused(RuntimeError("too large resource version"))
    assert w.ended


def test_streaming_watch_from_future_rv_may_wait_for_it():
    t = Stream()
    w = streaming(t.log, 2000, Filter(namespace="ns1"))
    b = put(t.log, obj("b", 2001))
    feed(w, added(b), added(t.a1), bookmark(2001, end=True))
    assert w.owed() is None


def test_streaming_watch_from_future_rv_never_serves_older_snapshot():
    t = Stream()
    w = streaming(t.log, 2000, Filter(namespace="ns1"))
    assert violation(w, added(t.a1), bookmark(1003, end=True)) is G.InitialEventsEnd


def test_bookmark_after_initial_state_is_accepted(s):
    w = watch(s.log, allow_bookmarks=True)
    feed(w, added(s.a4), added(s.b3), bookmark(1004), bookmark(1005))
    assert w.owed() is None


def test_bookmark_below_start_state_is_bookmark_monotonic():
    log = History()
    a = put(log, obj("a", 1001))
    put(log, obj("x", 1003, ns="ns2"))
    w = watch(log, flt=Filter(namespace="ns1"), allow_bookmarks=True)
    assert violation(w, added(a), bookmark(1002)) is G.BookmarkMonotonic


def test_bookmark_before_initial_state_complete_is_initial_state(s):
    w = watch(s.log, allow_bookmarks=True)
    assert violation(w, added(s.a4), bookmark(1004)) is G.InitialState


def test_progress_on_state_watch(s):
    w = watch(s.log, allow_bookmarks=True)
    feed(w, added(s.a4), added(s.b3))
    w.request_progress(s.log.last_rv)
    assert w.owed().guarantee is G.ProgressLiveness
    feed(w, bookmark(1004))
    assert w.owed() is None


def test_peer_with_other_filter_does_not_mask_filter_transitions():
    log = History()
    put(log, obj("a", 1001, env="dev"))
    a3 = put(log, obj("a", 1003, "v2", env="prod"))
    mine = watch(log, 1001, Filter(label_selector="env=prod"))
    peer = watch(log, 1001, label="peer")
    mine.peers.append(peer)
    feed(peer, modified(a3))
    assert violation(mine, modified(a3)) is G.FilterTransitions
