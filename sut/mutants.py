"""The mutant zoo: backends that each reintroduce one bug class that shipped in a real
list-watch implementation. The suite must kill every one, naming the right guarantee.

Each mutant is a small subclass of the reference backend (listwatch_conformance.sut.memory) that overrides one
seam. ``MUTANTS`` maps each mutant to the guarantee the suite must report for it.
"""

from __future__ import annotations

import time

import attrs

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.model.selectors import Filter
from listwatch_conformance.sut.api import Conflict, Event, EventType, Expired, ListWatchError, Object
from listwatch_conformance.sut.memory import CacheWatcher, EventRing, MemoryBackend, StoreEvent, convert_to_watch_event

# --- watch start and history -------------------------------------------------------------


class InclusiveStart(MemoryBackend):
    """A watch from RV N also delivers the event at N (kubernetes #24004, fixed by #24208)."""

    def _replay(self, rv, flt):
        return super()._replay(rv - 1, flt)


class RingEdgeOffByOne(MemoryBackend):
    """The oldest servable RV is off by one at the ring's edge: a watch from the RV just before
    the oldest servable one is accepted and replays with an evicted event missing instead of
    answering Expired (the off-by-one class of kubernetes #49956)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._evictions: list[int] = []  # RVs of evicted events, oldest first

    def _commit(self, key, prev, make):
        rv = super()._commit(key, prev, make)
        if self._evicted_rv is not None and (not self._evictions or self._evictions[-1] != self._evicted_rv):
            self._evictions.append(self._evicted_rv)
        return rv

    def _check_history(self, rv, *, watch):
        compacted_ok = self._compacted_rv is None or rv >= self._compacted_rv - 1
        if watch and compacted_ok and len(self._evictions) >= 2 and rv >= self._evictions[-2]:
            return  # the bug: one evicted event too many counts as retained
        super()._check_history(rv, watch=watch)


class ExpiresRetained(MemoryBackend):
    """Expired for a watch from the oldest retained RV, which the declared history covers
    (comparing ``rv <= oldest`` where ``rv < oldest - 1`` is meant, cf. watch_cache_history.go)."""

    def _check_history(self, rv, *, watch):
        if watch and len(self._ring) == self._ring.capacity and rv <= self._ring.at(self._ring.start).rv:
            raise Expired(f"too old resource version: {rv}")
        super()._check_history(rv, watch=watch)


class GrownRingServesEvicted(MemoryBackend):
    """The ring buffer grows after it has evicted events, and "is the buffer full?" decides
    whether events were evicted: a watch from an evicted RV is accepted and replays partially
    instead of answering Expired (kubernetes #91415, fixed by #91417)."""

    def __init__(self, *args, **kwargs):
        super().__init__(capacity=4)
        self.capabilities = attrs.evolve(self.capabilities, history=4)
        self._writes = 0

    def _commit(self, key, prev, make):
        rv = super()._commit(key, prev, make)
        self._writes += 1
        if self._writes == 8 and self._ring.capacity == 4:  # grow: copy into a ring four times the size
            bigger = EventRing(16)
            for i in range(self._ring.start, self._ring.end):
                bigger.append(self._ring.at(i))
            self._ring = bigger
        return rv

    def _check_history(self, rv, *, watch):
        if watch and len(self._ring) < self._ring.capacity:
            if self._compacted_rv is not None and rv < self._compacted_rv - 1:
                super()._check_history(rv, watch=watch)
            return  # the bug: "the buffer is not full, so nothing was evicted"
        super()._check_history(rv, watch=watch)


def _delete_with_new_object(self, event, flt):
    out = convert_to_watch_event(event, flt)
    if out is not None and out.type is EventType.DELETED and event.obj is not None:
        return Event(EventType.DELETED, event.rv, event.obj)
    return out


class DeleteCarriesNewObject(MemoryBackend):
    """DELETED on selector exit carries the new (no longer matching) object instead of the last
    matching one (the transition table of cacheWatcher.convertToWatchEvent)."""

    _convert = _delete_with_new_object


def _delete_with_old_rv(self, event, flt):
    out = convert_to_watch_event(event, flt)
    if out is not None and out.type is EventType.DELETED:
        return Event(EventType.DELETED, event.rv, event.prev)
    return out


class DeleteCarriesOldRV(MemoryBackend):
    """DELETED carries the previous object with its old RV instead of the delete's RV
    (kubernetes #58545, fixed by #58547)."""

    _convert = _delete_with_old_rv


def _modified_on_entry(self, event, flt):
    out = convert_to_watch_event(event, flt)
    if out is not None and out.type is EventType.ADDED and event.prev is not None:
        return Event(EventType.MODIFIED, out.rv, out.object)
    return out


class ModifiedOnEntry(MemoryBackend):
    """MODIFIED instead of ADDED when an existing object starts matching the selector."""

    _convert = _modified_on_entry


def _nothing_on_exit(self, event, flt):
    out = convert_to_watch_event(event, flt)
    if out is not None and out.type is EventType.DELETED and event.obj is not None:
        return None
    return out


class NoEventOnExit(MemoryBackend):
    """No event at all when an object stops matching the selector (only real deletes are sent)."""

    _convert = _nothing_on_exit


class _PrefixNamespaceFilter(Filter):
    def matches(self, obj):
        if obj is None:
            return False
        if self.namespace is not None and not obj.namespace.startswith(self.namespace):
            return False
        return Filter(None, self.label_selector, self.field_selector).matches(obj)

    def in_scope(self, obj):
        return self.namespace is None or obj.namespace.startswith(self.namespace)


class NamespacePrefix(MemoryBackend):
    """Namespace scoping by key prefix without the trailing separator: ns1 also sees ns10
    (the ``/a`` vs ``/ab`` case of RunTestGetListRecursivePrefix)."""

    def _filter(self, namespace, label_selector, field_selector):
        super()._filter(namespace, label_selector, field_selector)  # a malformed selector: refused as the reference does
        return _PrefixNamespaceFilter(namespace, label_selector, field_selector)


class _AbsentIsFalseFilter(Filter):
    def matches(self, obj):
        if obj is None:
            return False
        labels = obj.label_map
        for r in self.labels:
            if r.op == "notin" and r.key not in labels:
                return False  # the bug: k!=v and k notin (...) false when k is absent
        return super().matches(obj)


class NotEqualsAbsentLabel(MemoryBackend):
    """``k!=v`` and ``k notin (...)`` are false for objects without label k (Kubernetes says true)."""

    def _filter(self, namespace, label_selector, field_selector):
        super()._filter(namespace, label_selector, field_selector)  # a malformed selector: refused as the reference does
        return _AbsentIsFalseFilter(namespace, label_selector, field_selector)


# --- bookmarks and progress ----------------------------------------------------------------


class BookmarkAheadOfEvents(MemoryBackend):
    """A progress notification is sent straight to the watchers at the store's RV, bypassing the
    dispatch queue, so it can overtake events not yet delivered (etcd #15220, kine #731).

    Its dispatcher lags a little behind the store (as one does under load), so that events
    are still on their way when the bookmark overtakes them, however fast the suite's calls.
    Only the newest event waits: a lag per event would add up over a backlog (a seeded history
    of a dozen writes) until the overtaken event came later than the suite looks for it."""

    DISPATCH_LAG = 0.005  # seconds the newest event waits before it reaches the watchers

    def _dispatch(self, item, watchers):
        if not isinstance(item, int) and not self._incoming:
            time.sleep(self.DISPATCH_LAG)
        super()._dispatch(item, watchers)

    def request_progress(self):
        with self._lock:
            rv, watchers = self._rv, list(self._watchers)
        for w in watchers:
            with w._cond:
                if w.allow_bookmarks and not w._terminated and rv >= w.bookmark_floor:
                    w._queue.append(Event(EventType.BOOKMARK, rv))
                    w._cond.notify_all()


class _BackwardsWatcher(CacheWatcher):
    _last_bookmark: int | None = None

    def bookmark(self, rv):
        with self._cond:
            if self.allow_bookmarks and not self._terminated and rv >= self.bookmark_floor:
                rv = max(rv, self.rv)
                # the bug: every later bookmark steps one below the previous one
                rv = rv if self._last_bookmark is None else self._last_bookmark - 1
                self._last_bookmark = rv
                self._queue.append(Event(EventType.BOOKMARK, rv))
                self._cond.notify_all()


class BookmarkGoesBackwards(MemoryBackend):
    """A bookmark below a previous bookmark or below events already delivered."""

    watcher_class = _BackwardsWatcher


class _AlwaysBookmarkWatcher(CacheWatcher):
    def bookmark(self, rv):
        with self._cond:
            if not self._terminated and rv >= self.bookmark_floor:
                self._queue.append(Event(EventType.BOOKMARK, max(rv, self.rv)))
                self._cond.notify_all()


class BookmarkWithoutAllow(MemoryBackend):
    """Bookmarks sent to watches that did not allow them (RunTestWatchDispatchBookmarkEvents)."""

    watcher_class = _AlwaysBookmarkWatcher


class _BookmarkTakesLastPlaceWatcher(CacheWatcher):
    def bookmark(self, rv):
        with self._cond:
            if self.allow_bookmarks and not self._terminated and rv >= self.bookmark_floor:
                bookmark = Event(EventType.BOOKMARK, max(rv, self.rv))
                if self._queue:
                    self._queue[-1] = bookmark  # the bug: whatever is queued last, an unread event too
                else:
                    self._queue.append(bookmark)
                self._cond.notify_all()


class BookmarkReplacesEvent(MemoryBackend):
    """A progress bookmark coalesces with the newest unread item of a watch's queue, event or bookmark,
    where only a bookmark may be moved forward: the unread event at the tail is lost, its RV claimed by
    the bookmark. The class of the mutation benchmark's four survivors in ``CacheWatcher.bookmark`` of
    November 30 (``is`` made ``!=``, ``[-1]`` made ``[0]``), met by the search's progress_amid_writes."""

    watcher_class = _BookmarkTakesLastPlaceWatcher


class ProgressIgnored(MemoryBackend):
    """request_progress() is accepted and does nothing."""

    def request_progress(self):
        self._check_open()


class InitialEventsEndWrongRV(MemoryBackend):
    """The initial-events-end bookmark carries an RV one below the state that was sent."""

    def watch(self, **kwargs):
        w = super().watch(**kwargs)
        if w._init and w._init[-1].initial_events_end:
            w._init[-1] = Event(EventType.BOOKMARK, w._init[-1].rv - 1, initial_events_end=True)
        return w


# --- initial state and registration ---------------------------------------------------------


class StaleInitialState(MemoryBackend):
    """rv=0 initial state read from a lagging snapshot (one write behind) while live events
    continue from the current RV: the write in between is lost (kubernetes #59848 family)."""

    def _initial_events(self, flt, rv):
        if rv == 0 and len(self._ring):
            try:
                state = self._state_at(self._ring.at(self._ring.end - 1).rv - 1)
            except Expired:
                state = self._store
            return [Event(EventType.ADDED, o.rv, o) for o in self._filtered(state, flt)]
        return super()._initial_events(flt, rv)


class RegistrationRace(MemoryBackend):
    """A watch from an RV registers with the dispatcher one write late: the first write after
    watch() is lost (the race class of kubernetes #116122)."""

    def watch(self, **kwargs):
        w = super().watch(**kwargs)
        w._skip_next = bool(kwargs.get("rv")) and not kwargs.get("send_initial_events")
        return w

    class watcher_class(CacheWatcher):
        _skip_next = False

        def process(self, event):
            with self._cond:
                # an event at or below the watcher's RV, still queued when it registered, is not the
                # write after watch() (skipping it would make the loss depend on the dispatcher's timing)
                if self._skip_next and event.rv > self.rv:
                    self._skip_next = False
                    self.rv = event.rv
                    return
            super().process(event)


class DuplicateAfterInit(MemoryBackend):
    """The init events are sent again after they were delivered, so the watch goes back in time
    (kubernetes PR #73845, TestWatcherNotGoingBackInTime)."""

    class watcher_class(CacheWatcher):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._resend = [e for e in self._init if e.object is not None]

        def next(self, timeout):
            with self._cond:
                if not self._init and self._resend:
                    self._init.extend(self._resend)
                    self._resend = []
            return super().next(timeout)


# --- delivery -----------------------------------------------------------------------------------


class SlowWatcherDropsEvents(MemoryBackend):
    """A watcher whose queue is full silently drops events instead of being closed."""

    def __init__(self, *args, **kwargs):
        super().__init__(watcher_queue=2)

    class watcher_class(CacheWatcher):
        def process(self, event):
            with self._cond:
                if self._terminated or event.rv <= self.rv:
                    return
                self.rv = event.rv
                out = self.convert(event)
                if out is not None and len(self._queue) < self._capacity:
                    self._queue.append(out)
                self._cond.notify_all()


class ClosesBeforeBuffer(MemoryBackend):
    """Declares the apiserver's per-watcher buffer but terminates a watcher as soon as 2 events wait
    for it: consumers that keep up are cut off and relist, the load that an undersized buffer puts on
    a real apiserver (the reason cacheWatcher's buffer was made to scale with the watch's load)."""

    def __init__(self, *args, **kwargs):
        super().__init__(watcher_queue=2)
        self.capabilities = attrs.evolve(self.capabilities, watch_buffer=16)


class ReorderedBatch(MemoryBackend):
    """Events of one dispatch batch reach each watcher newest first. The dispatcher lingers a few
    milliseconds after an event arrives to batch what follows (and takes what queued up while it was
    busy), so two writes in a row form one batch whatever the thread scheduling."""

    LINGER = 0.005  # seconds

    def _dispatch_loop(self):
        while True:
            with self._lock:
                self._incoming_cond.wait_for(lambda: self._incoming)
                if len(self._incoming) == 1 and self._incoming[0] is not None:
                    self._incoming_cond.wait(self.LINGER)  # woken early by the next write
                batch = list(self._incoming)
                self._incoming.clear()
                watchers = list(self._watchers)
            if None in batch:
                return
            events = [i for i in batch if isinstance(i, StoreEvent)]
            for w in watchers:
                with w._cond:
                    fresh = [e for e in events if e.rv > w.rv]
                    if fresh:
                        w.rv = fresh[-1].rv
                    for e in reversed(fresh):  # the bug: newest first
                        out = w.convert(e)
                        if out is not None:
                            w._queue.append(out)
                    w._cond.notify_all()
            for item in batch:
                if isinstance(item, int):
                    self._dispatch(item, watchers)


class CoalescedDeleteCreate(MemoryBackend):
    """A delete and a re-create of the same object, both still queued for a watcher, are coalesced
    into one MODIFIED: the DELETED event is lost."""

    class watcher_class(CacheWatcher):
        def process(self, event):
            with self._cond:
                queued = self._queue[-1] if self._queue else None
                if (queued is not None and queued.type is EventType.DELETED and event.prev is None
                        and event.obj is not None and event.rv > self.rv
                        and (queued.object.namespace, queued.object.name) == event.key):
                    out = self.convert(event)
                    if out is not None:
                        self.rv = event.rv
                        self._queue[-1] = Event(EventType.MODIFIED, out.rv, out.object)
                        self._cond.notify_all()
                        return
            super().process(event)


class ClosesCaughtUpWatches(MemoryBackend):
    """Ends a watch as soon as its consumer has read everything queued (a consumer that keeps up
    is cut off)."""

    class watcher_class(CacheWatcher):
        def next(self, timeout):
            with self._cond:
                drained = not self._init and not self._queue and self._delivered
            if drained:
                self.terminate()
            ev = super().next(timeout)
            if ev is not None:
                self._delivered = True
            return ev

        _delivered = False


class _SharedObjectWatcher(CacheWatcher):
    def next(self, timeout):
        ev = super().next(timeout)
        if ev is not None and ev.object is not None and ev.type is not EventType.ADDED:
            consumed = self._backend._consumed
            if ev.rv in consumed:  # another watcher's consumer already "mutated" this object
                o = ev.object
                ev = Event(ev.type, ev.rv, Object(o.namespace, o.name, o.labels, o.value + "*", o.rv))
            consumed.add(ev.rv)
        return ev


class SharedMutableObject(MemoryBackend):
    """Watchers share one event object and the first consumer's mutation leaks into the others
    (the reason the cacher hands each watcher getMutableObject copies)."""

    watcher_class = _SharedObjectWatcher

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._consumed: set[int] = set()


class DispatcherDies(MemoryBackend):
    """The dispatcher thread dies at the first write it should fan out (an unhandled error in the event
    loop): watches still start and replay, but no live event or progress bookmark ever arrives. The
    commonest real failure, watches gone silent, and the one whose report must come fast."""

    def _dispatch_loop(self):
        with self._lock:
            self._incoming_cond.wait_for(lambda: self._incoming)
        # the thread ends here, with the first item undelivered, as one dies of an unhandled error


class OverflowWithoutClose(SlowWatcherDropsEvents):
    """The reference's own 16-event watcher queue, but a full queue silently drops later events and
    the watch is never closed (the overflow path the apiserver's cacheWatcher guards with a close)."""

    def __init__(self, *args, **kwargs):
        MemoryBackend.__init__(self, *args, **kwargs)


class SilentAfterTermination(MemoryBackend):
    """A watch the backend ended (its queue overflowed) answers ``next()`` with "nothing yet", at once
    and forever, instead of WatchClosed: the consumer waits for events that never come and never
    resumes (a closed result channel read as an idle one)."""

    class watcher_class(CacheWatcher):
        def next(self, timeout):
            with self._cond:
                ended = self._terminated and not self._stopped and not self._init and not self._queue
            if ended:
                return None
            return super().next(timeout)


# --- compaction --------------------------------------------------------------------------------


class CompactionLowersMark(MemoryBackend):
    """A compaction below an earlier one lowers the compaction mark: history already compacted away
    is served again, to watches and exact lists that must be answered Expired."""

    def compact(self, rv):
        super().compact(rv)
        with self._lock:
            self._compacted_rv = rv


class ExactListAtCompactedMinusOne(MemoryBackend):
    """After ``compact(C)`` an exact list at C-1 is served: the watch rule (C-1 may still replay, as
    its events start at C) applied to lists, whose snapshot at C-1 is gone."""

    def _check_history(self, rv, *, watch):
        super()._check_history(rv, watch=True)


class ExactListExpiredAtCompaction(MemoryBackend):
    """After ``compact(C)`` an exact list (or a continue token) at exactly C answers Expired: ``<=``
    where ``<`` is meant, although the snapshot at C is whole (etcd refuses only revisions below C)."""

    def _check_history(self, rv, *, watch):
        if not watch and self._compacted_rv is not None and rv == self._compacted_rv:
            raise Expired(f"too old resource version: {rv} (compacted at {self._compacted_rv})")
        super()._check_history(rv, watch=watch)


# --- lists -------------------------------------------------------------------------------------


class RefusesNotOlderThan(MemoryBackend):
    """``match="NotOlderThan"`` spelled out is refused as an unknown match, although it names the
    default meaning of ``rv=N`` (the spelling Kubernetes clients send as resourceVersionMatch)."""

    def list(self, *, match=None, **kwargs):
        if match == "NotOlderThan":
            raise ListWatchError("unknown resourceVersionMatch 'NotOlderThan'")
        return super().list(match=match, **kwargs)


class DefaultSelectorMatchesNothing(MemoryBackend):
    """``watch()`` without a label selector uses a default that matches nothing (``"owner"``: only
    objects carrying that label) instead of ``""``: callers relying on the documented default see
    no objects."""

    def watch(self, *, label_selector="owner", **kwargs):
        return super().watch(label_selector=label_selector, **kwargs)




_EXACT = "Exact"  # the backend's own spelling: ``is`` holds only for the very string object


class ExactMatchByIdentity(MemoryBackend):
    """``match is "Exact"`` where ``==`` is meant: the exact meaning is honoured only when the caller
    passes back the very string object the backend compares with, never for one decoded from the wire."""

    def _list_snapshot(self, rv, match):
        return super()._list_snapshot(rv, match if match is _EXACT else None)


class LaggingConsistentList(MemoryBackend):
    """A consistent list (rv=None) served from a cache one write behind (kubernetes #59848)."""

    def _list_snapshot(self, rv, match):
        if rv is None and len(self._ring):
            stale = self._ring.at(self._ring.end - 1).rv - 1
            try:
                return self._rv, self._state_at(stale)
            except Exception:  # noqa: BLE001 - history gone: serve current
                pass
        return super()._list_snapshot(rv, match)


class ExactListIgnoresRV(MemoryBackend):
    """An Exact list returns the current state labelled with the requested RV."""

    def _list_snapshot(self, rv, match):
        if rv and match == "Exact":
            return rv, dict(self._store)
        return super()._list_snapshot(rv, match)


class PaginationNewSnapshot(MemoryBackend):
    """Continue pages are read from the current state, not from the first page's snapshot."""

    def _continue_state(self, snapshot_rv):
        return dict(self._store)


class ExpiredContinueAccepted(MemoryBackend):
    """A continue token whose snapshot was compacted is served from the current state instead of
    answering Expired."""

    def _continue_state(self, snapshot_rv):
        try:
            return super()._continue_state(snapshot_rv)
        except Exception:  # noqa: BLE001 - the bug: fall back instead of Expired
            return dict(self._store)


# --- writes ------------------------------------------------------------------------------------


class IgnoresPrecondition(MemoryBackend):
    """update/delete ignore expect_rv: a stale precondition succeeds instead of Conflict."""

    def _existing(self, key, expect_rv):
        return super()._existing(key, None)


class PreconditionByIdentity(MemoryBackend):
    """``prev.rv is not expect_rv`` where ``!=`` is meant: a precondition holds only when the caller
    passes back the very int object the backend returned, so one decoded from the wire gets Conflict."""

    def _existing(self, key, expect_rv):
        prev = super()._existing(key, None)
        if expect_rv is not None and prev.rv is not expect_rv:
            raise Conflict(f"{key[0]}/{key[1]} is at RV {prev.rv}, not {expect_rv}")
        return prev


# Each mutant's guarantee; a second one where the same bug legitimately surfaces as another
# guarantee depending on the watch that meets it first (a resumed watch, a watch from the state).
MUTANTS: dict[type[MemoryBackend], tuple[G, ...]] = {
    InclusiveStart: (G.ExclusiveStart, G.Resumable),
    RingEdgeOffByOne: (G.ExpiredNotPartial,),
    ExpiresRetained: (G.Retention, G.Resumable),
    GrownRingServesEvicted: (G.ExpiredNotPartial, G.Reliable),  # Reliable: the partial replay met mid-stream
    DeleteCarriesNewObject: (G.FilterTransitions,),
    DeleteCarriesOldRV: (G.DeleteCarriesDeleteRV,),
    # SelectorSemantics: when the object's previous state lacked a label the selector negates, a MODIFIED
    # on entry is also what a backend evaluating `!=` wrongly for that state would send
    ModifiedOnEntry: (G.FilterTransitions, G.SelectorSemantics),
    NoEventOnExit: (G.FilterTransitions,),
    NamespacePrefix: (G.NamespaceIsolation,),
    NotEqualsAbsentLabel: (G.SelectorSemantics,),
    BookmarkAheadOfEvents: (G.Bookmarkable,),
    BookmarkGoesBackwards: (G.BookmarkMonotonic,),
    BookmarkWithoutAllow: (G.Bookmarkable,),
    ProgressIgnored: (G.ProgressLiveness,),
    InitialEventsEndWrongRV: (G.InitialEventsEnd,),
    StaleInitialState: (G.InitialState, G.InitialEventsEnd),  # with send_initial_events the end bookmark lies
    # a lost event: Liveness when nothing follows it, FilterTransitions when it was the only exit ever
    RegistrationRace: (G.Reliable, G.Resumable, G.Liveness, G.FilterTransitions),
    DuplicateAfterInit: (G.Unique,),
    SlowWatcherDropsEvents: (G.Reliable, G.Liveness),
    ClosesBeforeBuffer: (G.Liveness,),
    ReorderedBatch: (G.Ordered,),
    # InitialState: lost right after an initial state; Resumable: first met by a resumed watch
    CoalescedDeleteCreate: (G.Reliable, G.InitialState, G.Resumable),
    ClosesCaughtUpWatches: (G.Liveness,),
    # FilterTransitions ("wrong object") when no other watch saw the same kind of event for the write
    SharedMutableObject: (G.ConcurrentWatchersAgree, G.FilterTransitions),
    LaggingConsistentList: (G.ListConsistent,),
    ExactListIgnoresRV: (G.ListExact,),
    PaginationNewSnapshot: (G.PaginationSnapshot,),
    ExpiredContinueAccepted: (G.PaginationSnapshot,),
    IgnoresPrecondition: (G.WriteAcknowledged,),
    # Reliable: a watch started later replays from the ring what an older one never got
    DispatcherDies: (G.Liveness, G.ProgressLiveness, G.Reliable),
    OverflowWithoutClose: (G.Reliable, G.Liveness),
    SilentAfterTermination: (G.Liveness, G.Reliable),  # Reliable: another watch got a later event
    CompactionLowersMark: (G.ExpiredNotPartial, G.ListExact),
    ExactListAtCompactedMinusOne: (G.ListExact,),
    RefusesNotOlderThan: (G.ListConsistent,),
    DefaultSelectorMatchesNothing: (G.InitialState, G.Liveness, G.Reliable),
    # the mutation benchmark's real survivors of November 29 (bench/results/mutation.md), now reached
    ExactListExpiredAtCompaction: (G.ListExact, G.PaginationSnapshot),  # PaginationSnapshot: a token at C
    ExactMatchByIdentity: (G.ListExact,),
    PreconditionByIdentity: (G.WriteAcknowledged,),
    # ... and of November 30; as RegistrationRace, a lost event is Liveness when nothing follows it and
    # FilterTransitions when it was a selector's exit (no DELETED)
    BookmarkReplacesEvent: (G.Reliable, G.Liveness, G.FilterTransitions),
}
