"""What one watch must deliver, checked event by event.

A watch is modelled as a set of *candidates*, each a hypothesis about where the stream
starts: the state after the first ``k`` writes (r0 lies between write k-1 and write k).

- ``rv=N`` (exact start): one candidate, k = the writes at or below N, no initial objects;
  only events of writes with RV > N count.
- ``rv=None``: candidates k >= the writes acknowledged before ``watch()``; each first owes
  an ADDED for every matching object in its state (in any order), then the events after it.
- ``rv=0``: the same with any k >= 0 (a stale start is allowed).
- ``send_initial_events``: as above (with ``rv=N``, states at RV >= N), and the initial
  ADDED events end with one BOOKMARK marked initial-events-end at an RV inside the
  candidate's interval.

An observed event keeps the candidates that explain it; when none is left, the guarantee
broken is named by comparing the event with the most plausible candidate. Candidates for
writes acknowledged later are added lazily while only initial ADDED events have arrived.
Candidates are kept cheap, so checking a stream is linear in the history: a candidate
in its initial phase holds only how many initial objects it still owes (which ones can be
recomputed from the history when a failure is explained), an initial ADDED event is
matched against the interval of ``k`` in which its object is current, and live candidates
with the same cursor, which differ only in r0, are kept as one candidate holding all their
``k``. The cursor of each candidate only moves forward.
"""

from __future__ import annotations

import bisect
import math

import attrs

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.model.history import History
from listwatch_conformance.model.objects import ADDED, BOOKMARK, DELETED, MODIFIED, Ev, Key, Obj
from listwatch_conformance.model.retention import Retention, Start
from listwatch_conformance.model.selectors import Filter
from listwatch_conformance.model.transitions import event_for


@attrs.frozen
class WatchSpec:
    """The watch request, as the client made it."""

    filter: Filter
    rv: int | None = None
    allow_bookmarks: bool = False
    send_initial_events: bool = False
    label: str = "watch"
    resumed_from: str | None = None  # the label of the watch this one resumes

    @property
    def exact(self) -> bool:
        return self.rv is not None and self.rv > 0 and not self.send_initial_events

    def describe(self) -> str:
        parts = [self.filter.describe(), f"rv={self.rv!r}"]
        if self.allow_bookmarks:
            parts.append("allow_bookmarks")
        if self.send_initial_events:
            parts.append("send_initial_events")
        resumed = f", resuming {self.resumed_from}" if self.resumed_from else ""
        return f"{self.label} ({', '.join(parts)}{resumed})"


@attrs.define
class _Candidate:
    """Start states that explain the events so far: r0 is in [rv of write k-1, rv of write k) for
    each k in ``ks``. Several ``ks`` only for a live candidate: the same cursor, so the same future
    events, and the states differ only in how low a bookmark may be."""

    ks: list[int]  # ascending
    pending: int  # how many initial objects are not delivered yet (0 once live)
    live: bool  # the initial phase is over
    cursor: int  # index of the first write whose event is not delivered yet

    @property
    def k(self) -> int:
        return self.ks[0]


class WatchModel:
    """Checks one watch's events against the history as they arrive."""

    def __init__(self, spec: WatchSpec, log: History, retention: Retention):
        self.spec, self.log, self.retention = spec, log, retention
        self.subject = spec.describe()
        self.k_at_call = len(log.writes)
        self.max_rv_at_call = log.max_handed_out
        self.delivered: list[Ev] = []
        self.delivered_rvs: set[int] = set()
        self.initial_keys: dict[Key, Obj] = {}  # ADDED events that may be initial ones
        self.max_event_rv = -math.inf
        self.last_bookmark: int | None = None
        self.end_seen = False
        self.expired = False
        self.closed = False
        self.read_mark = 0  # len(delivered) when the consumer's current read step began
        self.fault_injected = False  # a fault (server crash, cut connection) hit it: closing is legitimate
        self.progress_owed: float | None = None
        self.peers: list[WatchModel] = []  # the other watches on the same backend
        self._extendable = False
        if spec.exact:
            self.floor = spec.rv
            self.start = retention.watch_from(spec.rv, log)
            k = log.count_at(spec.rv)
            self.candidates = [_Candidate([k], 0, True, k)]
            return
        self.floor = -math.inf
        self.start = Start.MUST_REPLAY
        if spec.rv is None:
            self.min_r0 = log.last_rv
            self._next_k = self.k_at_call
        elif spec.rv == 0:
            self.min_r0 = -math.inf
            self._next_k = 0
        else:  # send_initial_events from rv=N: a state not older than N
            self.min_r0 = spec.rv
            self._next_k = log.count_at(spec.rv)
        self.candidates = []
        self._extendable = True
        self._visible = -1  # objects matching the filter in the state after _next_k - 1 writes
        self._windows: dict[Key, list] = {}  # per initial key: [lo, hi], the k in which its object is current
        self._window = [0, math.inf]  # the k consistent with every initial key
        self._extend()

    # --- candidates ----------------------------------------------------------------
    @property
    def needs_end_bookmark(self) -> bool:
        return self.spec.send_initial_events and self.spec.allow_bookmarks

    def _extend(self) -> None:
        """Add candidates for states that writes acknowledged since make possible.

        A state qualifies when every initial object delivered so far is current in it (``k``
        within ``_window``); it then owes the objects matching the filter less those delivered.
        """
        flt, writes = self.spec.filter, self.log.writes
        while self._extendable and self._next_k <= len(writes):
            k = self._next_k
            self._next_k += 1
            if self._visible < 0:
                self._visible = sum(1 for o in self.log.state_after(k).values() if flt.matches(o))
            else:  # the state after k writes is the one after k - 1 writes and write k - 1
                w = writes[k - 1]
                self._visible += flt.matches(w.new) - flt.matches(w.prev)
                if w.key in self.initial_keys and w.rv > self.initial_keys[w.key].rv:
                    self._narrow(w.key, hi=k - 1)
            if self._window[0] <= k <= self._window[1]:
                self.candidates.append(_Candidate([k], self._visible - len(self.initial_keys), False, k))

    def _current_window(self, obj: Obj) -> list:
        """[lo, hi]: the k for which ``obj`` is in the filtered state after k writes ([inf, -inf]: none)."""
        log = self.log
        write = log.write_at(obj.rv)
        if write is None or write.key != obj.key or write.new != obj or not self.spec.filter.matches(obj):
            return [math.inf, -math.inf]
        lo = bisect.bisect_left(log.rvs, obj.rv) + 1
        key_rvs = log._versions[obj.key][0]
        i = bisect.bisect_right(key_rvs, obj.rv)
        hi = bisect.bisect_left(log.rvs, key_rvs[i]) if i < len(key_rvs) else math.inf
        return [lo, hi]

    def _narrow(self, key: Key, hi: int) -> None:
        window = self._windows[key]
        window[1] = min(window[1], hi)
        self._window[1] = min(self._window[1], hi)

    def _note_initial(self, obj: Obj, window: list | None) -> None:
        """Record an ADDED event that may be an initial one (``window``: its ``_current_window``, if known)."""
        replaced = obj.key in self.initial_keys
        self.initial_keys[obj.key] = obj
        self._windows[obj.key] = window = window or self._current_window(obj)
        if replaced:
            windows = self._windows.values()
            self._window = [max([0, *(w[0] for w in windows)]), min([math.inf, *(w[1] for w in windows)])]
        else:
            self._window = [max(self._window[0], window[0]), min(self._window[1], window[1])]

    def _pending_objects(self, c: _Candidate) -> dict[Key, Obj]:
        """The initial objects candidate ``c`` still owes (recomputed, to explain a failure)."""
        if not c.pending:
            return {}
        flt = self.spec.filter
        return {key: o for key, o in self.log.state_after(c.k).items()
                if flt.matches(o) and key not in self.initial_keys}

    def _r0_possible(self, c: _Candidate) -> _Candidate | None:
        """The candidate with only the k whose interval can still hold r0 at or above the requested
        minimum (None if no k is left)."""
        if self.spec.exact:
            return c
        # rv_after(k) > min_r0, or no write k yet: every k from the writes at or below min_r0 on
        first = bisect.bisect_left(c.ks, self.log.count_at(self.min_r0)) if self.min_r0 > -math.inf else 0
        if first == 0:
            return c
        return attrs.evolve(c, ks=c.ks[first:]) if first < len(c.ks) else None

    def _next_expected(self, c: _Candidate) -> tuple[int, Ev] | None:
        writes, flt = self.log.writes, self.spec.filter
        i = c.cursor
        while i < len(writes):
            w = writes[i]
            if w.rv > self.floor:
                ev = event_for(w, flt)
                if ev is not None:
                    c.cursor = i
                    return i, ev
            i += 1
        c.cursor = i
        return None

    def _possible(self) -> list[_Candidate]:
        return [c for c in map(self._r0_possible, self.candidates) if c is not None]

    def _step(self, c: _Candidate, ev: Ev, window: list | None) -> _Candidate | None:
        """The candidate after ``ev``, or None if it cannot explain ``ev``; ``window`` is the
        ``_current_window`` of an ADDED event's object that is not an initial key yet."""
        log = self.log
        if ev.type == BOOKMARK:
            if c.pending:
                return None
            lo = log.rv_before(c.k)
            if ev.initial_events_end:
                hi = log.rv_after(c.k)
                ok = (not c.live and (lo is None or lo <= ev.rv) and (hi is None or ev.rv < hi)
                      and ev.rv >= self.min_r0)
                return _Candidate(c.ks, c.pending, True, c.cursor) if ok else None
            if self.needs_end_bookmark and not self.end_seen:
                return None
            ks = c.ks
            if not self.spec.exact:  # only the k with rv_before(k) <= ev.rv
                ks = ks[:bisect.bisect_right(ks, log.count_at(ev.rv))]
                if not ks:
                    return None
            nxt = self._next_expected(c)
            if nxt is not None and nxt[1].rv <= ev.rv:
                return None
            return _Candidate(ks, c.pending, True, c.cursor)
        if (not c.live and ev.type == ADDED and c.pending and window is not None and window[0] <= c.k <= window[1]
                and ev.rv == ev.obj.rv):
            return _Candidate(c.ks, c.pending - 1, False, c.cursor)
        if c.pending or (self.needs_end_bookmark and not self.end_seen):
            return None
        nxt = self._next_expected(c)
        if nxt is None or nxt[1] != ev:
            return None
        return _Candidate(c.ks, c.pending, True, nxt[0] + 1)

    def _best(self, candidates: list[_Candidate]) -> _Candidate:
        """The candidate an explanation is given against: the one whose k is closest to the call."""
        closest = []
        for c in candidates:
            i = bisect.bisect_left(c.ks, self.k_at_call)
            closest += [(k, c) for k in c.ks[max(i - 1, 0):i + 1]]
        k, c = min(closest, key=lambda kc: (abs(kc[0] - self.k_at_call), -kc[0]))
        return attrs.evolve(c, ks=[k])

    @staticmethod
    def _merged(candidates: list[_Candidate]) -> list[_Candidate]:
        """Live candidates with the same cursor joined into one (their ``ks`` merged)."""
        out, by_cursor = [], {}
        for c in candidates:
            if not c.live:
                out.append(c)
            elif c.cursor not in by_cursor:
                by_cursor[c.cursor] = c
                out.append(c)
            else:
                into = by_cursor[c.cursor]  # the lists are the survivors' own: extend the longer one
                ks, more = (into.ks, c.ks) if len(into.ks) >= len(c.ks) else (c.ks, into.ks)
                if ks[-1] < more[0]:
                    ks.extend(more)
                else:
                    for k in more:
                        bisect.insort(ks, k)
                into.ks = ks
        return out

    # --- observing -----------------------------------------------------------------
    def observe(self, ev: Ev) -> None:
        """Check one delivered event; raise Violation if no start hypothesis explains it."""
        self._extend()
        if self.start == Start.MUST_EXPIRE:
            raise self._violation(G.ExpiredNotPartial, f"served RV {self.spec.rv}, older than compaction at "
                                  f"{self.retention.compacted}", "Expired", ev)
        if ev.type == BOOKMARK:
            self._check_bookmark(ev)
        window = None  # needed only while some candidate may take ev as an initial object
        if (ev.type == ADDED and ev.obj.key not in self.initial_keys
                and (self._extendable or not all(c.live for c in self.candidates))):
            window = self._current_window(ev.obj)
        survivors = [s for s in (self._step(c, ev, window) for c in self._possible()) if s is not None]
        if not survivors:
            raise self._diagnose(ev)
        self.candidates = self._merged(survivors)
        self._record(ev, window)

    def _record(self, ev: Ev, window: list | None = None) -> None:
        self.delivered.append(ev)
        if ev.type == BOOKMARK:
            self.last_bookmark = ev.rv
            self._extendable = False
            if ev.initial_events_end:
                self.end_seen = True
            guarantee = G.InitialEventsEnd if ev.initial_events_end else G.Bookmarkable
            self.log.promise_rv(ev.rv, guarantee, f"a bookmark on {self.spec.label}")
            if self.progress_owed is not None and ev.rv >= self.progress_owed:
                self.progress_owed = None
            return
        self.delivered_rvs.add(ev.rv)
        self.max_event_rv = max(self.max_event_rv, ev.rv)
        if ev.type == ADDED and self._extendable:
            self._note_initial(ev.obj, window)
        else:
            self._extendable = False

    def _check_bookmark(self, ev: Ev) -> None:
        if not self.spec.allow_bookmarks:
            raise self._violation(G.Bookmarkable, "bookmark on a watch that did not allow bookmarks",
                                  "no BOOKMARK", ev)
        if ev.initial_events_end and not self.spec.send_initial_events:
            raise self._violation(G.InitialEventsEnd, "initial-events-end bookmark without send_initial_events",
                                  "no initial-events-end bookmark", ev)
        if ev.initial_events_end and self.end_seen:
            raise self._violation(G.InitialEventsEnd, "a second initial-events-end bookmark",
                                  "one initial-events-end bookmark", ev)
        if self.last_bookmark is not None and ev.rv < self.last_bookmark:
            raise self._violation(G.BookmarkMonotonic, "bookmark RV went backwards",
                                  f"BOOKMARK at RV >= {self.last_bookmark}", ev)
        if ev.rv < self.max_event_rv and not ev.initial_events_end:
            raise self._violation(G.BookmarkMonotonic, "bookmark below an event already delivered",
                                  f"BOOKMARK at RV >= {self.max_event_rv}", ev)
        if self.spec.exact and ev.rv < self.floor:
            raise self._violation(G.BookmarkMonotonic, "bookmark below the watch's start RV",
                                  f"BOOKMARK at RV >= {self.floor}", ev)

    def on_expired(self) -> None:
        """The backend answered Expired (from watch() or next())."""
        if self.delivered:
            raise self._violation(G.ExpiredNotPartial, f"Expired after {len(self.delivered)} events",
                                  "Expired before any event, or a full replay", "Expired")
        if not self.spec.exact:
            raise self._violation(G.Retention, "Expired for a watch that starts from a current state",
                                  "initial state, then events", "Expired")
        if self.start == Start.MUST_REPLAY:
            guarantee = G.Retention
            floor = self.retention.window_floor(self.log)
            raise self._violation(
                guarantee, f"Expired although RV {self.spec.rv} is within the declared history",
                f"a replay of the events after RV {self.spec.rv} (history={self.retention.history}, "
                f"oldest guaranteed RV {floor}, compacted at {self.retention.compacted})", "Expired")
        self.expired = True

    def on_refused(self, error: Exception) -> None:
        """watch() raised a ListWatchError other than Expired: allowed only for an RV never handed out."""
        if self.spec.rv and self.spec.rv > self.max_rv_at_call:
            self.expired = True  # "too large resource version": the watch never started
            return
        guarantee = G.Retention if self.spec.exact else G.InitialState
        raise self._violation(guarantee, f"watch() refused: {type(error).__name__}: {error}",
                              "an open watch", "an error")

    def resume_rv(self) -> int | None:
        """The RV an informer resumes from: the last one seen, once it is well defined."""
        if self.expired:
            return None
        seen = [e.rv for e in self.delivered]
        if self.spec.exact:
            return max([self.floor, *seen])
        if seen and all(c.live for c in self.candidates):
            return max(seen)
        return None

    def reading(self) -> None:
        """The consumer starts a read step: what was delivered before it was read in time."""
        self.read_mark = len(self.delivered)

    def could_have_waited(self) -> int:
        """How many events could have been waiting for this watch since its consumer's read step began:
        those delivered in this read step, plus those still owed, the most over the start states
        consistent with the stream (initial objects, events, the initial-events-end and a progress
        bookmark)."""
        self._extend()
        owed = 0
        for c in self._possible():
            events = sum(1 for _ in self._pending_events(c))
            bookmarks = (self.needs_end_bookmark and not self.end_seen) + (self.progress_owed is not None)
            owed = max(owed, c.pending + events + bookmarks)
        return len(self.delivered) - self.read_mark + owed

    def on_closed(self, buffer: int) -> None:
        """The backend ended the watch (WatchClosed). A backend holds ``buffer`` undelivered events for
        one watch before it may cut off a consumer that is not reading (the apiserver's cacheWatcher
        delivers its buffer, then closes; a backend may also drop its buffer and close at once). So
        the close is a Liveness bug while fewer than ``buffer`` events could have been waiting
        (:meth:`could_have_waited`), unless a fault was injected while the watch was open."""
        waiting = self.could_have_waited()
        if waiting < buffer and not self.expired and not self.fault_injected:
            raise self._violation(
                G.Liveness, f"watch closed by the backend although its consumer kept up: at most {waiting} "
                f"event(s) could have been waiting since it last read, fewer than the declared "
                f"watch_buffer={buffer}", "the watch stays open while the consumer keeps up", "WatchClosed")
        self.closed = True

    def request_progress(self, last_rv: int) -> None:
        """request_progress() was called with ``last_rv`` the last acknowledged write's RV."""
        if not self.spec.allow_bookmarks or self.expired or self.closed:
            return
        if self.spec.exact and self.floor > last_rv:
            return  # a watch from a future RV owes no bookmark until the store passes it
        need = last_rv if last_rv >= 0 else -math.inf
        self.progress_owed = need if self.progress_owed is None else max(self.progress_owed, need)

    @property
    def ended(self) -> bool:
        return self.expired or self.closed

    def owed(self) -> Violation | None:
        """What this watch still owes now, as the violation to report if it never arrives."""
        if self.ended:
            return None
        if self.start == Start.MUST_EXPIRE:
            return self._violation(
                G.ExpiredNotPartial, f"no Expired for RV {self.spec.rv}, older than compaction at "
                f"{self.retention.compacted}", "Expired", "nothing")
        self._extend()
        live = self._possible()
        for c in live:
            if not c.pending and (not self.needs_end_bookmark or self.end_seen) and self._next_expected(c) is None:
                if self.progress_owed is None:
                    return None
                return self._violation(
                    G.ProgressLiveness, "no bookmark after request_progress",
                    f"BOOKMARK at RV >= {self.progress_owed}" if self.progress_owed > -math.inf
                    else "BOOKMARK at any RV (nothing was written yet)", "nothing")
        if not live:
            return self._violation(G.InitialState, "no start state is consistent with the writes since",
                                   "initial state at an RV not older than requested", list(self.delivered))
        c = self._best(live)
        if c.pending:
            flt, owed_objects = self.spec.filter, self._pending_objects(c).values()
            if all(flt.absent_label_trap(o) for o in owed_objects):
                return self._violation(G.SelectorSemantics, f"initial objects without a label that "
                                       f"{flt.label_selector!r} negates never arrived",
                                       sorted(owed_objects, key=lambda o: o.key), "nothing")
            return self._violation(G.InitialState, "initial objects never arrived",
                                   sorted(owed_objects, key=lambda o: o.key), "nothing")
        if self.needs_end_bookmark and not self.end_seen:
            return self._violation(G.InitialEventsEnd, "no initial-events-end bookmark after the initial events",
                                   "BOOKMARK initial-events-end", "nothing")
        _, missing = self._next_expected(c)
        if (not self.spec.exact and not c.live and (self.delivered or self.spec.rv == 0)
                and self._before_call(missing)):
            return self._initial_state_gap(missing, "nothing")
        return self._missing(c, missing, G.Liveness, "nothing", "expected event never arrived")

    # --- explaining ----------------------------------------------------------------
    def _violation(self, guarantee: G, problem: str, expected: object, observed: object) -> Violation:
        return Violation(guarantee, self.subject, problem, expected=expected, observed=observed,
                         context=self.delivered[-6:])

    def _missing(self, c: _Candidate, missing: Ev, default: G, observed: object, problem: str) -> Violation:
        """Name the guarantee for expected events that did not arrive, ``missing`` the first of them.

        A selector exit without DELETED, or an object lacking a label that the selector negates,
        is named for that cause when every missed event is of that kind; a gap at the very start
        of a watch from N is Resumable (N within the history) or ExpiredNotPartial (N outside).
        """
        flt = self.spec.filter
        first = observed[0] if isinstance(observed, list) and observed else observed
        upto = first.rv if isinstance(first, Ev) else math.inf
        ahead = [(p.spec.label, e.rv) for p in self.peers for e in p.delivered if e.rv > missing.rv]
        if (self.spec.exact and self.start != Start.MUST_REPLAY and self._replay_owed(missing)
                and ((isinstance(first, Ev) and first.rv >= missing.rv) or ahead)):
            # the stream (a bookmark, a later event) or another watch has moved past it
            return self._violation(G.ExpiredNotPartial,
                                   f"partial replay from RV {self.spec.rv} instead of a full one or Expired",
                                   missing, observed)
        if (self.spec.exact and not self.delivered and isinstance(observed, Ev) and observed.type != BOOKMARK
                and self.spec.resumed_from):
            return self._violation(G.Resumable, f"the first event skipped events after RV {self.spec.rv}",
                                   missing, observed)
        missed = [(w, e) for w, e in self._pending_events(c) if e.rv < upto] or [
            (self.log.write_at(missing.rv), missing)]
        if all(e.type == DELETED and w.new is not None for w, e in missed) and not self._seen(self._is_exit):
            return self._violation(G.FilterTransitions, "no DELETED when the object stopped matching",
                                   missing, observed)
        if all(self._is_trap(self, e) for _, e in missed) and not self._seen(self._matched_trap):
            return self._violation(G.SelectorSemantics,
                                   f"event lost for an object without a label that {flt.label_selector!r} negates",
                                   missing, observed)
        if default is G.Liveness:
            if ahead:
                label, rv = ahead[0]
                return self._violation(G.Reliable, f"expected event never arrived, although {label} already "
                                       f"received RV {rv}", missing, observed)
        return self._violation(default, problem, missing, observed)

    def _replay_owed(self, missing: Ev) -> bool:
        """Whether ``missing`` belongs to the replay: no event delivered yet, and its write was
        acknowledged before watch() was called (a later write is a live event, not history)."""
        return not any(e.type != BOOKMARK for e in self.delivered) and self._before_call(missing)

    def _before_call(self, ev: Ev) -> bool:
        """Whether the write behind ``ev`` was acknowledged before watch() was called: losing it right
        after the initial state means a stale start (InitialState); a later write is a live event."""
        return self.log.count_at(ev.rv) <= self.k_at_call

    def _initial_state_gap(self, missing: Ev, observed: object) -> Violation:
        """The stream after the initial state does not continue from it; if objects that lack a
        label the selector negates were left out of the initial state, that is the cause."""
        flt = self.spec.filter
        at_call = self.log.state_after(self.k_at_call).values()
        left_out = [o for o in at_call if flt.absent_label_trap(o) and o.key not in self.initial_keys]
        if left_out and self.spec.rv != 0 and not self._seen(self._matched_trap):  # rv=0 may start stale
            return self._violation(G.SelectorSemantics, f"initial objects without a label that "
                                   f"{flt.label_selector!r} negates were left out", left_out, observed)
        return self._violation(G.InitialState, "the initial state is not followed by the events after it",
                               missing, observed)

    def _is_exit(self, model: WatchModel, e: Ev) -> bool:
        w = self.log.write_at(e.rv)
        return e.type == DELETED and w is not None and w.new is not None

    def _is_trap(self, model: WatchModel, e: Ev) -> bool:
        w = self.log.write_at(e.rv)
        flt = model.spec.filter
        return w is not None and (flt.absent_label_trap(w.new) or flt.absent_label_trap(w.prev))

    def _matched_trap(self, model: WatchModel, e: Ev) -> bool:
        """Whether ``e`` shows the backend matching an object that lacks a label the selector negates."""
        return e.type in (ADDED, MODIFIED) and model.spec.filter.absent_label_trap(e.obj)

    def _seen(self, kind) -> bool:
        """Whether any watch on this backend got an event of ``kind`` right: then the backend
        handles that case, and losing one is a delivery gap rather than a semantic bug."""
        return any(kind(model, e) for model in (self, *self.peers) for e in model.delivered if e.obj is not None)

    def _pending_events(self, c: _Candidate):
        """(write, event) for every expected event from the candidate's cursor on."""
        writes, flt = self.log.writes, self.spec.filter
        for w in writes[c.cursor:]:
            if w.rv > self.floor:
                ev = event_for(w, flt)
                if ev is not None:
                    yield w, ev

    @staticmethod
    def refinable(violation: Violation) -> bool:
        """Whether later events could rename ``violation``: it found an event missing."""
        missing, observed = violation.expected, violation.observed
        return (isinstance(missing, Ev) and isinstance(observed, Ev) and missing.type != BOOKMARK
                and (observed.rv > missing.rv or (observed.type == BOOKMARK and observed.rv >= missing.rv)))

    def refine(self, violation: Violation, later: list[Ev]) -> Violation:
        """Rename a violation once the events read right after it (``later``) are known: if the
        event it found missing arrives late, the stream was reordered (Ordered) or a bookmark
        overtook it (Bookmarkable); if a bookmark claimed an event that never came, the event is
        lost, and named for its kind as any other lost event."""
        missing, observed = violation.expected, violation.observed
        if not self.refinable(violation):
            return violation
        if missing in later:
            shown = [observed, *later[:later.index(missing) + 1]]
            if observed.type == BOOKMARK:
                return self._violation(G.Bookmarkable, f"bookmark at RV {observed.rv} arrived before the event "
                                       f"at RV {missing.rv}", missing, shown)
            return self._violation(G.Ordered, f"event at RV {missing.rv} arrived after the event at RV "
                                   f"{observed.rv}", missing, shown)
        if violation.guarantee is G.Bookmarkable and observed.type == BOOKMARK:
            live = self._possible() or self.candidates
            return self._missing(self._best(live), missing, G.Reliable, [observed, *later],
                                 f"event at RV {missing.rv} lost: the bookmark at RV {observed.rv} claimed it")
        return violation

    def _diagnose(self, ev: Ev) -> Violation:
        live = self._possible() or self.candidates
        if not live:
            return self._violation(G.InitialState, "no start state is consistent with the writes since",
                                   "initial state at an RV not older than requested", ev)
        c = self._best(live)
        if ev.type == BOOKMARK:
            return self._diagnose_bookmark(c, ev)
        before_r0 = self.log.rv_before(c.k)
        if c.pending or (not c.live and ev.type == ADDED and before_r0 is not None and ev.rv <= before_r0):
            owed_objects = self._pending_objects(c).values()
            pending = sorted(owed_objects, key=lambda o: o.key) or "no more initial objects"
            flt = self.spec.filter
            if ev.type == ADDED and ev.obj.key in self.initial_keys:
                return self._violation(G.Unique, "initial object delivered twice", "each object once", ev)
            if not flt.in_scope(ev.obj):
                return self._violation(G.NamespaceIsolation, f"initial object from outside namespace "
                                       f"{flt.namespace!r}", pending, ev)
            if not flt.matches(ev.obj):
                return self._violation(G.SelectorSemantics, "initial object does not match the selector",
                                       pending, ev)
            if any(flt.absent_label_trap(o) for o in owed_objects):
                return self._violation(G.SelectorSemantics, f"initial objects without a label that "
                                       f"{flt.label_selector!r} negates are missing", pending, ev)
            return self._violation(G.InitialState, "initial events do not match the state at any allowed r0",
                                   pending, ev)
        if self.needs_end_bookmark and not self.end_seen:
            return self._violation(G.InitialEventsEnd, "event before the initial-events-end bookmark",
                                   "BOOKMARK initial-events-end", ev)
        nxt = self._next_expected(c)
        expected = nxt[1] if nxt else None
        if (not self.spec.exact and not c.live and expected is not None and ev.rv > expected.rv
                and self._before_call(expected)):
            return self._initial_state_gap(expected, ev)
        if (ev.type == DELETED and expected is not None and expected.type == DELETED
                and ev.obj.key == expected.obj.key and ev.obj.with_rv(expected.rv) == expected.obj):
            return self._violation(G.DeleteCarriesDeleteRV, "DELETED does not carry the delete's RV",
                                   expected, ev)
        if ev.rv in self.delivered_rvs:
            return self._violation(G.Unique, f"event at RV {ev.rv} delivered twice", expected, ev)
        if ev.rv < self.max_event_rv:
            return self._violation(G.Ordered, f"event at RV {ev.rv} after an event at RV {self.max_event_rv}",
                                   expected, ev)
        if self.last_bookmark is not None and ev.rv <= self.last_bookmark:
            return self._violation(G.Bookmarkable, f"event at or below the bookmark at RV {self.last_bookmark}",
                                   expected, ev)
        if self.spec.exact and ev.rv <= self.floor:
            guarantee = G.Resumable if self.spec.resumed_from and not self.delivered else G.ExclusiveStart
            return self._violation(guarantee, f"event at RV {ev.rv} on a watch from RV {self.floor}",
                                   f"only events with RV > {self.floor}: {expected!r}" if expected else
                                   f"only events with RV > {self.floor}", ev)
        if expected is None or ev.rv < expected.rv:
            return self._extra(ev, expected)
        if ev.rv == expected.rv:
            return self._wrong(ev, expected)
        return self._missing(c, expected, G.Reliable, ev, f"event at RV {expected.rv} skipped")

    def _extra(self, ev: Ev, expected: Ev | None) -> Violation:
        write = self.log.write_at(ev.rv)
        flt = self.spec.filter
        if write is None:
            return self._violation(G.Reliable, f"event at RV {ev.rv}, which no acknowledged write has",
                                   expected, ev)
        if not flt.in_scope(ev.obj) or (write.new is not None and not flt.in_scope(write.new)):
            return self._violation(G.NamespaceIsolation, f"event from outside namespace {flt.namespace!r}",
                                   expected, ev)
        return self._violation(G.SelectorSemantics,
                               f"event for {write!r}, which does not concern objects matching the filter",
                               expected, ev)

    def _wrong(self, ev: Ev, expected: Ev) -> Violation:
        if ev.obj != expected.obj and ev.obj.key == expected.obj.key:
            # what peers delivered passed their own checks; ADDED and MODIFIED both carry the new state
            same_kind = (lambda e: e.type == DELETED) if expected.type == DELETED else (
                lambda e: e.type in (ADDED, MODIFIED))
            for peer in self.peers:
                seen = next((e for e in peer.delivered if e.rv == ev.rv and e.obj is not None), None)
                if seen is not None and same_kind(seen) and same_kind(ev) and seen.obj == expected.obj:
                    return self._violation(G.ConcurrentWatchersAgree, f"{peer.spec.label} got {seen!r} for "
                                           "the same write", expected, ev)
        if ev.type != expected.type:
            if (self._is_trap(self, ev) and not self._matched_trap(self, ev)
                    and not self._seen(self._matched_trap)):
                # the wrong kind comes from the state the selector was judged on: an object lacking a
                # label the selector negates (true by Kubernetes), and nothing shows the backend knows it
                return self._violation(G.SelectorSemantics, f"{ev.type} where the transition table gives "
                                       f"{expected.type}: the object lacks a label "
                                       f"{self.spec.filter.label_selector!r} negates", expected, ev)
            return self._violation(G.FilterTransitions, f"{ev.type} where the transition table gives "
                                   f"{expected.type}", expected, ev)
        write = self.log.write_at(ev.rv)
        if ev.type == DELETED and ev.obj == write.new:
            return self._violation(G.FilterTransitions, "DELETED carries the new object, not the previous one",
                                   expected, ev)
        return self._violation(G.FilterTransitions, "event carries the wrong object", expected, ev)

    def _diagnose_bookmark(self, c: _Candidate, ev: Ev) -> Violation:
        flt, owed_objects = self.spec.filter, self._pending_objects(c).values()
        if (c.pending and self.spec.rv != 0 and all(flt.absent_label_trap(o) for o in owed_objects)
                and not self._seen(self._matched_trap)):  # rv=0 may start from a stale state
            return self._violation(G.SelectorSemantics, f"initial objects without a label that "
                                   f"{flt.label_selector!r} negates never arrived",
                                   sorted(owed_objects, key=lambda o: o.key), ev)
        if c.pending:
            return self._violation(G.InitialState, "bookmark before all initial objects arrived",
                                   sorted(owed_objects, key=lambda o: o.key), ev)
        log = self.log
        if ev.initial_events_end:
            if c.live:
                return self._violation(G.InitialEventsEnd, "initial-events-end bookmark after live events",
                                       "BOOKMARK initial-events-end right after the initial events", ev)
            lo, hi = log.rv_before(c.k), log.rv_after(c.k)
            return self._violation(
                G.InitialEventsEnd, "initial-events-end bookmark does not name the state delivered",
                f"BOOKMARK initial-events-end at RV in [{lo if lo is not None else '-inf'}, "
                f"{hi if hi is not None else 'inf'})" + (f" and >= {self.min_r0}" if self.min_r0 > -math.inf else ""),
                ev)
        if self.needs_end_bookmark and not self.end_seen:
            return self._violation(G.InitialEventsEnd, "bookmark before the initial-events-end bookmark",
                                   "BOOKMARK initial-events-end", ev)
        nxt = self._next_expected(c)
        if nxt is not None and nxt[1].rv <= ev.rv:
            if not self.spec.exact and not c.live and self._before_call(nxt[1]):
                return self._initial_state_gap(nxt[1], ev)
            return self._violation(G.Bookmarkable, f"bookmark at RV {ev.rv} ahead of an undelivered event",
                                   nxt[1], ev)
        return self._violation(G.BookmarkMonotonic, f"bookmark at RV {ev.rv} below the start state",
                               f"BOOKMARK at RV >= {log.rv_before(c.k)}", ev)
