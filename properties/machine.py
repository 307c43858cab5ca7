"""The conformance state machine: every rule acts on the backend and on the model.

``conformance_machine(factory, capabilities)`` builds a RuleBasedStateMachine for one
backend: its rules, with the argument strategies the capabilities allow, over
:class:`ConformanceSteps`, the state, calls and checks that the rules share. Rules are named after the API verbs and their arguments after the API fields,
so a shrunk failure reads as a short program of calls. Capabilities gate whole rules
through preconditions and shape the arguments drawn (no selector is drawn for a backend
without selector support); nothing is skipped at run time.

Safety is checked on every event as it arrives (in ``drain``); liveness waits for what
the model says a watch owes, up to the wait budget, and never sleeps blindly.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Mapping

import attrs
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, multiple, precondition, rule

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.model.history import History
from listwatch_conformance.model.lists import EXACT, ListModel, ListSpec
from listwatch_conformance.model.objects import Obj
from listwatch_conformance.model.retention import Retention
from listwatch_conformance.model.selectors import Filter
from listwatch_conformance.model.watch import WatchModel, WatchSpec
from listwatch_conformance.properties import strategies as s
from listwatch_conformance.properties.config import HARNESS
from listwatch_conformance.properties.harness import (BackendCalls, BackendFault, BackendHang, as_decoded, call, call_all,
                                                      check_rv, to_event, to_page)
from listwatch_conformance.sut.api import AlreadyExists, Capabilities, Conflict, Expired, ListWatchError, NotFound, WatchClosed

MAX_EXTRA_POLLS = 1000  # events read after a watch caught up, to catch duplicates and extras
MAX_PAGES = 100  # pages list_pages reads of one list (a program writes far fewer objects)
# The contract's defaults (sut/api.py): every other watch() and list() leaves out the arguments that
# equal them, so a backend must honour its documented defaults as well as arguments spelled out.
WATCH_DEFAULTS = dict(namespace=None, label_selector="", field_selector="", rv=None, allow_bookmarks=False,
                      send_initial_events=False)
LIST_DEFAULTS = dict(namespace=None, label_selector="", field_selector="", rv=None, match=None, limit=None,
                     continue_token=None)


@attrs.define(eq=False)
class WatchHandle:
    """A watch the machine opened: the backend's stream and the model checking it."""

    label: str
    model: WatchModel
    stream: object | None  # None once ended (Expired at watch(), stopped)
    stopped: bool = False  # by the client (stop, resume): unlike ``stream``, independent of the backend's timing

    def __repr__(self) -> str:
        return self.label


@attrs.define(eq=False)
class PagedList:
    """A paginated list in progress: the model and the continue token to pass next."""

    model: ListModel
    token: str
    call: dict


@attrs.frozen
class BurstWrite:
    """One write: of a burst, of prepare(), or of a create/update/delete rule."""

    verb: str  # create, update or delete
    namespace: str
    name: str
    labels: Mapping[str, str]
    value: str


def _raise(violation: Violation) -> None:
    raise violation


class ConformanceSteps(RuleBasedStateMachine):
    """The machine's state, its calls to the backend and its checks against the model: everything but
    the rules. :func:`conformance_machine` subclasses it with the rules for one backend and sets the
    class attributes below; the rules are short and call these steps."""

    factory: Callable[[], object]  # makes a fresh, empty backend
    caps: Capabilities  # what the backend declares
    checked: frozenset[G]  # the guarantees reported; a first violation of another is inconclusive

    def __init__(self) -> None:
        super().__init__()
        self.calls = BackendCalls()
        try:
            self.backend = self.calls("the backend factory", HARNESS.lifecycle_deadline, self.factory)
            self._require_empty()
        except BaseException:
            self.calls.close()
            raise
        self.log = History()
        self.retention = Retention(self.caps.history)
        self.handles: list[WatchHandle] = []
        self.paginated: list[PagedList] = []
        self.limited_lists = 0  # list calls with a limit: list_next's precondition
        self.lists: list[ListModel] = []
        self.counter = 0
        self.sent = 0  # writes sent: every other one names its arguments, with values decoded afresh
        self.failure: Violation | None = None  # the first violation, raised at teardown if checked
        self.failure_waited = False  # it is something owed that never came within the wait

    def _require_empty(self) -> None:
        """The factory must return a fresh, empty store: the model starts from nothing."""
        what = "list() of a backend fresh from the factory"
        _, items, _ = to_page(what, self.calls(what, HARNESS.call_deadline, self.backend.list))
        if items:
            try:
                self.calls("close()", HARNESS.lifecycle_deadline, self.backend.close)
            finally:
                raise BackendFault(f"the factory returned a store that is not empty: {what} gave "
                                   f"{list(items)}; the factory must return a fresh, empty backend each call")

    def _check(self, check: Callable[..., object], *args: object) -> None:
        """Run one model check; keep the first violation for teardown and carry on.

        Raising only at teardown keeps the rules drawn independent of *when* an async
        backend's misbehaviour is seen, which keeps shrinking stable.
        """
        try:
            check(*args)
        except Violation as violation:
            if self.failure is None:
                self.failure = violation
                note(f"first violation seen: {violation.guarantee.name}")

    # --- writes ---------------------------------------------------------------------
    def _sender(self, w: BurstWrite, expect_rv: int | None = None) -> Callable[[], int | ListWatchError]:
        """The call sending one write: it returns the write's RV, or the contract error raised. Every other
        write (by the program's own count) names every argument, with values decoded afresh as a wire
        client's are: the contract's parameter names, and ``==`` where a backend might compare with ``is``."""
        self.sent += 1
        if self.sent % 2 == 0:
            named = dict(namespace=w.namespace, name=w.name)
            named |= dict(labels=w.labels, value=w.value) if w.verb != "delete" else {}
            named |= dict(expect_rv=expect_rv) if w.verb != "create" else {}
            named = as_decoded(named)
            fn = lambda: getattr(self.backend, w.verb)(**named)  # noqa: E731
        else:
            fn = {"create": lambda: self.backend.create(w.namespace, w.name, w.labels, w.value),
                  "update": lambda: self.backend.update(w.namespace, w.name, w.labels, w.value, expect_rv=expect_rv),
                  "delete": lambda: self.backend.delete(w.namespace, w.name, expect_rv=expect_rv)}[w.verb]

        def send() -> int | ListWatchError:
            try:
                return call(f"{w.verb}()", fn)
            except ListWatchError as exc:
                return exc
        return send

    def _judge(self, w: BurstWrite, current: Obj | None, expect_rv: int | None,
               result: int | ListWatchError) -> tuple[int, tuple, Obj | None] | None:
        """Check a write's outcome against the state before it; the write to acknowledge, if any."""
        if w.verb == "create":
            must_raise = AlreadyExists if current is not None else None
        elif current is None:
            must_raise = NotFound
        else:
            must_raise = Conflict if expect_rv is not None and expect_rv != current.rv else None
        what = f"{w.verb}({w.namespace!r}, {w.name!r})"
        if isinstance(result, ListWatchError):
            if must_raise is None or not isinstance(result, must_raise):
                self._check(_raise, Violation(
                    G.WriteAcknowledged, what, f"raised {type(result).__name__}: {result}",
                    expected=must_raise.__name__ if must_raise else "success with a new RV",
                    observed=type(result).__name__))
            return None
        rv = check_rv(what, result)
        if must_raise is not None:
            self._check(_raise, Violation(
                G.WriteAcknowledged, what, f"succeeded although {w.namespace}/{w.name} "
                f"{'exists' if current else 'does not exist'} (current: {current!r})",
                expected=must_raise.__name__, observed=f"success at RV {rv}"))
        new = None if w.verb == "delete" else Obj(w.namespace, w.name, w.labels, w.value, rv)
        return rv, (w.namespace, w.name), new

    def _write(self, w: BurstWrite, expect_rv: int | None = None) -> int | None:
        """One write, judged and acknowledged; its RV, or None if it (rightly) failed."""
        current = self.log.current.get((w.namespace, w.name))
        result = self.calls(f"{w.verb}({w.namespace!r}, {w.name!r})", HARNESS.call_deadline,
                            self._sender(w, expect_rv))
        acked = self._judge(w, current, expect_rv, result)
        if acked is None:
            return None
        self._check(self.log.acknowledge, [acked])
        return acked[0]

    def _put(self, namespace: str, name: str, labels: Mapping[str, str], value: str) -> int | None:
        """Create the object, or update it if it exists: a write that succeeds; its RV."""
        verb = "update" if (namespace, name) in self.log.current else "create"
        return self._write(BurstWrite(verb, namespace, name, labels, value))

    def _returned(self, rv: int | None, what: str) -> int | None:
        """One bundle entry for every call, whatever the backend answered: ``rv``, or when the call
        (rightly or wrongly) gave none, the last acknowledged write's RV (None before any write).

        How many entries a rule adds must follow from the program alone. Draws from a bundle are
        indices into it, so a bundle that grew with the backend's answers made Hypothesis draw
        differently on replay against a correct backend that takes its legal liberties (stale
        reads, "too large" errors, Expired outside the declared history): FlakyStrategyDefinition.
        """
        if rv is not None:
            return rv
        stand_in = self.log.last_rv if self.log.rvs else None
        note(f"{what} gave no RV; its entry stands for {stand_in} (the last acknowledged write)")
        return stand_in

    def _watching(self) -> bool:
        """A watch is open as far as the program goes: opened and not stopped by the client. The
        backend ending a stream does not count: when it happens depends on timing, and a precondition
        that did made Hypothesis draw different rules on replay (FlakyStrategyDefinition)."""
        return any(not h.stopped for h in self.handles)

    # --- watches --------------------------------------------------------------------
    def _resolve(self, rv):
        if isinstance(rv, s.Ahead):
            value = max(self.log.max_handed_out, 0) + int(rv)
        elif isinstance(rv, s.Compacted):
            if self.retention.compacted is None:
                note(f"{rv!r}: nothing compacted yet, so {s.OldestRetained(int(rv))!r}")
                return self._resolve(s.OldestRetained(int(rv)))
            value = max(self.retention.compacted + int(rv), 0)
        elif isinstance(rv, (s.OldestRetained, s.First)):
            rvs = self.log.rvs
            if not rvs:
                note(f"{rv!r}: nothing written yet, so rv=None")
                return None
            if isinstance(rv, s.First):
                value = rvs[0]
            else:
                value = rvs[min(max(len(rvs) - max(self.caps.history, 1) + int(rv), 0), len(rvs) - 1)]
        else:
            return rv
        note(f"{rv!r} is RV {value}")
        return value

    def _open(self, spec: WatchSpec) -> WatchHandle:
        model = WatchModel(spec, self.log, self.retention)
        handle = WatchHandle(spec.label, model, None)
        for other in self.handles:
            other.model.peers.append(model)
            model.peers.append(other.model)
        f = spec.filter
        kwargs = self._as_called(WATCH_DEFAULTS, dict(
            namespace=f.namespace, label_selector=f.label_selector, field_selector=f.field_selector, rv=spec.rv,
            allow_bookmarks=spec.allow_bookmarks, send_initial_events=spec.send_initial_events))
        try:
            handle.stream = self.calls("watch()", HARNESS.call_deadline, self.backend.watch, **kwargs)
        except Expired:
            self._check(model.on_expired)
        except ListWatchError as exc:
            self._check(model.on_refused, exc)
        self.handles.append(handle)
        return handle

    def _as_called(self, defaults: dict, kwargs: dict) -> dict:
        """``kwargs`` as sent: with the counter of watches and lists even, without those that equal the
        contract's ``defaults``; with it odd, every one, decoded afresh (the counter follows from the
        program, so the choice does too)."""
        if self.counter % 2:
            return as_decoded(kwargs)
        return {k: v for k, v in kwargs.items() if v != defaults[k]}

    def _request_progress(self) -> None:
        """request_progress(): every open watch that allows bookmarks now owes one at the last write's RV."""
        self.calls("request_progress()", HARNESS.call_deadline, self.backend.request_progress)
        for handle in self.handles:
            if handle.stream is not None:
                handle.model.request_progress(self.log.last_rv)

    def _compact(self, rv: int) -> None:
        self.calls("compact()", HARNESS.call_deadline, self.backend.compact, rv)
        self.retention.compact(rv)

    def _compact_empty(self) -> None:
        """Compact the store before anything was written, at the RV its list hands out (a fresh store
        under a compactor, as etcd under the apiserver's): an empty ring must not trouble it."""
        rv = self._list(ListSpec(Filter(), None, None, None, self._label("list")))
        if rv is not None:
            note(f"nothing to seed: the empty store is compacted at RV {rv}, the RV its list hands out")
            self._compact(rv)

    def _list_forged(self, token: str) -> None:
        """A continue token the backend never handed out: refused with a ListWatchError (Kubernetes: 400,
        "continue key is not valid") or served, but never an exception outside the contract (a BackendFault)."""
        note(f"list_next: no paginated list in progress whose snapshot a write has left behind; sends a "
             f"continue token the backend never handed out, {token!r}")
        try:
            self.calls("list() with a forged continue token", HARNESS.call_deadline, self.backend.list,
                       continue_token=token)
        except ListWatchError as exc:
            note(f"refused: {exc!r}")

    def _malformed(self, kind: str, selector: str, verb: str) -> None:
        """A list or watch with a ``kind`` ("label" or "field") selector that does not parse: refused with a
        ListWatchError, as Kubernetes answers 400 BadRequest; served, it breaks SelectorSemantics."""
        call_ = self.backend.list if verb == "list" else self.backend.watch
        what = f"{verb}({kind}_selector={selector!r})"
        try:
            answer = self.calls(what, HARNESS.call_deadline, call_, **{f"{kind}_selector": selector})
        except ListWatchError as exc:
            note(f"{what} refused: {exc!r}")
            return
        if verb == "watch":
            self.calls(f"close() on {what}", HARNESS.call_deadline, answer.close)
        self._check(_raise, Violation(
            G.SelectorSemantics, what, f"a {kind} selector that does not parse was served",
            expected="ListWatchError (Kubernetes: 400 BadRequest)", observed="a page" if verb == "list" else "a watch"))

    def _label(self, kind: str) -> str:
        self.counter += 1
        return f"{kind} #{self.counter}"

    def _next(self, handle: WatchHandle, timeout: float) -> None:
        """Read at most one event from ``handle`` and check it; end the handle on Expired/WatchClosed."""
        what = f"next() on {handle.label}"
        try:
            raw = self.calls(what, timeout + HARNESS.wait_budget, handle.stream.next, timeout)
        except Expired:
            handle.stream = self._close_stream(handle)
            self._check(handle.model.on_expired)
            return False
        except WatchClosed:
            handle.stream = self._close_stream(handle)
            self._check(handle.model.on_closed, self.caps.watch_buffer)
            return False
        except ListWatchError as exc:
            raise BackendFault(f"{what} raised {type(exc).__name__}: {exc}; a watch ends with "
                               "Expired or WatchClosed") from None
        if raw is None:
            return False
        try:
            handle.model.observe(to_event(what, raw))
        except Violation as violation:
            if self.failure is None and handle.model.refinable(violation):
                violation = handle.model.refine(violation, self._peek(handle, violation.expected))
            self._check(_raise, violation)
        return True

    def _peek(self, handle: WatchHandle, awaited: object) -> list:
        """The events that follow a violation, read until ``awaited`` (the event found missing)
        arrives, the stream stays silent for a twentieth of the wait budget, or a quarter of it
        ends: a skipped event arriving late means reordering. A lost event never arrives, and
        waiting the whole quarter for it made every such failing example, and so shrinking, slow."""
        later, deadline = [], time.monotonic() + HARNESS.owed_wait / 4
        silence = HARNESS.owed_wait / 20
        while len(later) < MAX_EXTRA_POLLS and (remaining := deadline - time.monotonic()) > 0:
            try:
                timeout = min(remaining, silence)
                raw = self.calls(f"next() on {handle.label}", timeout + HARNESS.wait_budget,
                                 handle.stream.next, timeout)
            except (ListWatchError, BackendFault):
                break
            if raw is None:
                break
            later.append(to_event(f"next() on {handle.label}", raw))
            if later[-1] == awaited:
                break
        return later

    def _close_stream(self, handle: WatchHandle) -> None:
        if handle.stream is not None:
            self.calls(f"close() on {handle.label}", HARNESS.call_deadline, handle.stream.close)
        return None

    def _drain(self, handle: WatchHandle, quiet: float = 0.0) -> None:
        """Read until the watch delivered all it owes (or the budget ends), then whatever else
        arrives within ``quiet`` seconds of the previous event."""
        started = time.monotonic()
        deadline = started + HARNESS.owed_wait
        handle.model.reading()
        while handle.stream is not None and self.failure is None:
            owed = handle.model.owed()
            if owed is None:
                break
            now = time.monotonic()
            remaining = deadline - now
            # what is owed would be reported under an unchecked guarantee (one already found broken, or
            # not selected): the example is inconclusive either way, so a short wait is enough
            unchecked = owed.guarantee not in self.checked and now - started >= HARNESS.unchecked_owed_wait
            if remaining <= 0 or unchecked:
                self._check(_raise, owed)
                self.failure_waited = self.failure is owed
                break
            self._next(handle, min(remaining, HARNESS.poll_interval))
        for _ in range(MAX_EXTRA_POLLS):
            if handle.stream is None or not self._next(handle, quiet):
                break

    # --- lists ---------------------------------------------------------------------
    def _list(self, spec: ListSpec) -> int | None:
        model = ListModel(spec, self.log, self.retention, [*self.lists, *(h.model for h in self.handles)])
        self.lists.append(model)
        self.limited_lists += spec.limit is not None
        f = spec.filter
        kwargs = dict(namespace=f.namespace, label_selector=f.label_selector, field_selector=f.field_selector,
                      rv=spec.rv, match=spec.match, limit=spec.limit)
        try:
            page = self.calls("list()", HARNESS.call_deadline, self.backend.list,
                              **self._as_called(LIST_DEFAULTS, kwargs))
        except ListWatchError as exc:
            note(f"{spec.label} raised {exc!r}")
            self._check(model.first_failed, isinstance(exc, Expired))
            return None
        rv, items, token = to_page("list()", page)
        try:
            model.first_page(rv, items, token)
        except Violation as violation:
            if self.failure is None and model.probe_wanted(violation):
                violation = model.refine_with_probe(violation, self._unselected(kwargs))
            self._check(_raise, violation)
            return rv  # a rejected first page has no snapshot to continue
        if token is not None:
            self.paginated.append(PagedList(model, token, kwargs))
        return rv

    def _continue(self, index: int) -> bool:
        """Fetch the next page of the paginated list ``self.paginated[index]`` and check it; the list stays
        in progress at ``index`` while its page hands out a continue token. Whether it does."""
        paged = self.paginated.pop(index)
        kwargs = dict(paged.call, continue_token=paged.token)
        try:
            page = self.calls("list() with a continue token", HARNESS.call_deadline, self.backend.list, **kwargs)
        except ListWatchError as exc:
            note(f"{paged.model.spec.label} continue raised {exc!r}")
            self._check(paged.model.next_failed, isinstance(exc, Expired))
            return False
        rv, items, token = to_page("list() with a continue token", page)
        self._check(paged.model.next_page, rv, items, token)
        if token is not None:
            self.paginated.insert(index, PagedList(paged.model, token, paged.call))
        return token is not None

    def _list_through(self, spec: ListSpec) -> int | None:
        """A list read to its end, page after page, with nothing written between; the first page's RV."""
        rv = self._list(spec)
        model = self.lists[-1]
        index = next((i for i, p in enumerate(self.paginated) if p.model is model), None)
        if index is not None:  # _continue keeps the list at ``index`` while it hands out tokens
            for _ in range(MAX_PAGES):
                if not self._continue(index):
                    break
        return rv

    def _unselected(self, kwargs: dict) -> tuple:
        """The items of the list ``kwargs`` asked for, asked again without the label selector and the limit."""
        what = "list() without the label selector (a probe)"
        try:
            page = self.calls(what, HARNESS.call_deadline, self.backend.list,
                              **dict(kwargs, label_selector="", limit=None))
        except ListWatchError:
            return ()
        return to_page(what, page)[1]

    def _continuable(self) -> list[PagedList]:
        """The paginated lists in progress whose snapshot a write has since left behind. A list is
        continued only then: its next page must still come from the first page's snapshot (or be
        Expired once that is compacted), which a list continued before anything changed cannot show."""
        return [p for p in self.paginated if p.model.snapshot_rv < self.log.last_rv]

    def teardown(self) -> None:
        # Hypothesis calls teardown in a ``finally``: an exception in flight means a step already
        # failed with a backend fault (rules keep violations for here and never raise them), and
        # judging the rest would hide that fault behind its consequences.
        if sys.exc_info()[1] is not None:
            self._release()
            return
        try:
            if self.calls.hung is None:
                # late extras (duplicates, bookmarks): every stream stays watched for one quiet period
                # after it delivered what it owes; the streams share that period instead of taking turns
                for handle in self.handles:
                    if handle.stream is not None:
                        self._drain(handle)
                quiet_until = time.monotonic() + HARNESS.quiet_period
                for handle in self.handles:
                    if handle.stream is not None:
                        self._drain(handle, quiet=max(quiet_until - time.monotonic(), 0.0))
            if self.failure is not None:
                if self.failure.guarantee in self.checked:
                    if HARNESS.on_failure is not None:
                        HARNESS.on_failure(self.failure, self.failure_waited)
                    raise self.failure
                note(f"inconclusive: {self.failure.guarantee.name} is not among the checked guarantees")
        finally:
            self._release()

    def _release(self) -> None:
        """Close the open streams, the backend and the calls' thread. After a hang nothing more
        is asked of the backend: each call would fail at once and hide the first error."""
        try:
            for handle in self.handles:
                if handle.stream is not None and self.calls.hung is None:
                    handle.stream = self._close_stream(handle)
        finally:
            try:
                if self.calls.hung is None:
                    self.calls("close()", HARNESS.lifecycle_deadline, self.backend.close)
                else:  # one try on a fresh thread, so the backend's own threads can end; the hang is the news
                    with contextlib.suppress(BackendFault, BackendHang):
                        call_all("close() after a hang", HARNESS.call_deadline, [self.backend.close])
            finally:
                self.calls.close()


def conformance_machine(factory: Callable[[], object], capabilities: Capabilities,
                        checked: frozenset[G] | None = None) -> type[ConformanceSteps]:
    """A state machine class checking backends made by ``factory`` that declare ``capabilities``.

    ``checked`` limits the guarantees reported (default: all). An example whose first
    violation is of an unchecked guarantee is inconclusive: it passes, and nothing later in
    it is judged, since the model no longer agrees with the backend.
    """
    caps = capabilities
    # the arguments drawn, by capability: a capability declared off draws only the contract's default
    label_selectors = s.label_selectors if caps.label_selectors else st.just("")
    field_selectors = s.field_selectors if caps.field_selectors else st.just("")
    bookmarks = st.booleans() if caps.bookmarks else st.just(False)
    limits = st.one_of(st.none(), s.limits) if caps.pagination else st.none()
    # around the edges of the declared history and, with compaction, of the highest compaction
    edges = st.one_of(s.history_edges, s.compaction_edges) if caps.compaction else s.history_edges
    # a flood shrinks to a single write, so a shrunk program keeps it only where the overflow matters
    flood_sizes = st.one_of(st.just(1), st.integers(caps.watch_buffer + 1, caps.watch_buffer + 3))
    # exact lists: an RV handed out, the history's edge, or (with compaction) the compaction's, alike
    exact_rvs = (lambda rvs: st.one_of(rvs, s.oldest_retained, s.compaction_edges)) if caps.compaction else (
        lambda rvs: st.one_of(rvs, s.oldest_retained))

    class ListWatchConformance(ConformanceSteps):
        """The rules: named after the API verbs, their arguments after the API fields."""

        rvs = Bundle("rvs")
        watches = Bundle("watches")

        @initialize(target=rvs, writes=s.seed_histories)
        def prepare(self, writes):
            """Seed a history before anything watches: writes (verb, namespace, name, labels, value)
            one after another, as the Kubernetes storage tests seed their data."""
            done = [self._write(BurstWrite(*w)) for w in writes]
            if not writes and caps.compaction:
                self._compact_empty()
            return multiple(*(self._returned(rv, f"prepare write #{i}") for i, rv in enumerate(done)))

        @rule(target=rvs, namespace=s.namespaces, name=s.names, labels=s.labels, value=s.values)
        def create(self, namespace, name, labels, value):
            return self._returned(self._write(BurstWrite("create", namespace, name, labels, value)), "create")

        @rule(target=rvs, namespace=s.namespaces, name=s.names, labels=s.labels, value=s.values,
              expect_rv=st.one_of(st.none(), rvs))
        def update(self, namespace, name, labels, value, expect_rv):
            return self._returned(self._write(BurstWrite("update", namespace, name, labels, value), expect_rv),
                                  "update")

        @rule(target=rvs, namespace=s.namespaces, name=s.names, expect_rv=st.one_of(st.none(), rvs))
        def delete(self, namespace, name, expect_rv):
            return self._returned(self._write(BurstWrite("delete", namespace, name, {}, ""), expect_rv), "delete")

        @rule(target=rvs, namespace=s.namespaces, name=s.names, labels=s.labels, value=s.values)
        def recreate(self, namespace, name, labels, value):
            """Delete an object and create it again at once (``kubectl replace --force``, a StatefulSet
            pod coming back): a watch must see the DELETED and then the ADDED, never one MODIFIED."""
            deleted = self._returned(self._write(BurstWrite("delete", namespace, name, {}, "")), "recreate's delete")
            created = self._returned(self._write(BurstWrite("create", namespace, name, labels, value)),
                                     "recreate's create")
            return multiple(deleted, created)

        # Only while a watch is open: a burst is there to race the dispatcher. Hypothesis orders rules by
        # argument count, so while a burst is possible a shrunk program prefers it to a single write, and
        # which write of a burst gets the lower RV varies between runs: shrinking a program whose writes
        # happen before any watch then wandered between bursts instead of landing on create/delete.
        @precondition(lambda self: self._watching())
        @rule(target=rvs, writes=st.lists(s.writes, min_size=2, max_size=4, unique_by=lambda w: (w[1], w[2])))
        def burst(self, writes):
            """Writes (verb, namespace, name, labels, value) to distinct objects from several threads at
            once, while a watch is open; the model orders them by the RVs the backend returned."""
            state = dict(self.log.current)
            writes = [BurstWrite(*w) for w in writes]
            results = call_all("burst writes", HARNESS.call_deadline, [self._sender(w) for w in writes])
            judged = [self._judge(w, state.get((w.namespace, w.name)), None, r) for w, r in zip(writes, results)]
            acked = [a for a in judged if a is not None]
            self._check(self.log.acknowledge, acked)
            # in the order of ``writes``, not of the RVs: which RV a thread got varies from run to run,
            # and the bundle must mean the same ("the RV of the write to b") when Hypothesis replays
            return multiple(*(self._returned(None if a is None else a[0], f"burst write to {w.namespace}/{w.name}")
                              for w, a in zip(writes, judged)))

        @precondition(lambda self: self._watching())
        @rule(target=rvs, namespace=s.namespaces, name=s.names, labels=s.labels, writes=flood_sizes)
        def flood(self, namespace, name, labels, writes):
            """Write one object ``writes`` times (1, or more than the declared watch_buffer), one write after
            another, with no read in between: more events than an open watch may hold unread. The backend
            must deliver them all or end the watch (WatchClosed) for the consumer to resume, never skip."""
            last = None
            for i in range(writes):
                last = self._put(namespace, name, labels, str(i % 2))
            return self._returned(last, "flood")

        @rule(target=watches, namespace=s.watch_namespaces, label_selector=label_selectors,
              field_selector=field_selectors, rv=st.one_of(s.from_state, rvs, s.aheads, edges),
              allow_bookmarks=bookmarks)
        def watch(self, namespace, label_selector, field_selector, rv, allow_bookmarks):
            spec = WatchSpec(Filter(namespace, label_selector, field_selector), self._resolve(rv),
                             allow_bookmarks, False, self._label("watch"))
            return self._open(spec)

        @precondition(lambda self: caps.initial_events and caps.bookmarks)
        @rule(target=watches, namespace=s.watch_namespaces, label_selector=label_selectors,
              field_selector=field_selectors, rv=st.one_of(st.none(), st.just(0), rvs, s.aheads))
        def watch_list(self, namespace, label_selector, field_selector, rv):
            """A streaming list: send_initial_events=True with allow_bookmarks=True."""
            spec = WatchSpec(Filter(namespace, label_selector, field_selector), self._resolve(rv),
                             True, True, self._label("watch_list"))
            return self._open(spec)

        @rule(watch=watches)
        def drain(self, watch):
            self._drain(watch)

        # Hypothesis orders rules by targets, then argument count, then name: this one comes first. It
        # is always possible, so the step a shrink pass lowers to the first rule is two choices that a
        # later pass deletes; a first rule whose precondition fails (request_progress without the
        # progress capability) makes every such step a run of rejected draws that no pass deletes.
        @rule()
        def drain_all(self):
            """Read every open watch until it delivered what it owes, as informers keeping up do."""
            for handle in self.handles:
                if handle.stream is not None:
                    self._drain(handle)

        @rule(watch=consumes(watches))
        def stop(self, watch):
            """The client closes the watch."""
            watch.stream = self._close_stream(watch)
            watch.model.closed = watch.stopped = True

        @rule(target=watches, watch=consumes(watches))
        def resume(self, watch):
            """The informer pattern: stop, then watch again from the last RV seen (or afresh)."""
            watch.stream = self._close_stream(watch)
            watch.model.closed = watch.stopped = True
            old = watch.model.spec
            rv = watch.model.resume_rv()
            if rv is None:
                note(f"{watch.label} has no well-defined resume RV; starting afresh with rv=None")
                spec = WatchSpec(old.filter, None, old.allow_bookmarks, False, self._label("watch"))
            else:
                note(f"{watch.label} resumes from RV {rv}")
                spec = WatchSpec(old.filter, rv, old.allow_bookmarks, False, self._label("watch"), watch.label)
            return self._open(spec)

        @precondition(lambda self: caps.progress)
        @rule()
        def request_progress(self):
            self._request_progress()

        # Its own rule, and only for a backend with progress: as an argument of flood (a progress request
        # at a burst's end) it changed how flood shrinks, and as a rule with a precondition it changed the
        # rules Hypothesis enables at random for every backend (its feature flags cover every rule), and
        # the golden program of a backend without progress grew from 3 calls to 7 (three redundant drains).
        if caps.progress:
            @precondition(lambda self: self._watching())
            @rule(target=rvs, namespace=s.namespaces, name=s.names, labels=s.labels, steps=s.progress_amid_writes)
            def progress_amid_writes(self, namespace, name, labels, steps):
                """Writes to one object and progress requests in the order ``steps`` gives, with no read in
                between: a busy consumer asks for progress while its events are still unread. A bookmark must
                queue behind the events before it, never take an unread event's place, and never move ahead."""
                last = None
                for i, step in enumerate(steps):
                    if step == s.PROGRESS:
                        self._request_progress()
                        continue
                    last = self._put(namespace, name, labels, str(i % 2))
                return self._returned(last, "progress_amid_writes")

        if caps.label_selectors or caps.field_selectors:
            @rule(selector=s.malformed_selectors(caps.label_selectors, caps.field_selectors),
                  verb=st.sampled_from(("list", "watch")))
            def malformed_selector(self, selector, verb):
                """A list or watch whose selector does not parse: refused, as Kubernetes answers 400 BadRequest."""
                self._malformed(*selector, verb)

        @rule(target=rvs, namespace=s.watch_namespaces, label_selector=label_selectors,
              field_selector=field_selectors, rv=st.one_of(st.none(), st.just(0), rvs, s.aheads),
              match=s.not_older_than, limit=limits)
        def list(self, namespace, label_selector, field_selector, rv, match, limit):
            """A list at rv=None (a consistent read), 0 (any snapshot) or N (not older than N, the default
            meaning of an RV, or spelled out as ``match="NotOlderThan"``)."""
            rv = self._resolve(rv)
            if rv is None and match is not None:
                note(f"match={match!r} needs an RV (Kubernetes refuses it without one): sent as match=None")
                match = None
            spec = ListSpec(Filter(namespace, label_selector, field_selector), rv, match, limit,
                            self._label("list"))
            return self._returned(self._list(spec), spec.label)

        # Only for a backend with pagination, as a rule of its own: see progress_amid_writes.
        if caps.pagination:
            @rule(target=rvs, namespace=s.watch_namespaces, label_selector=label_selectors,
                  field_selector=field_selectors, rv=st.one_of(st.none(), st.just(0), rvs), limit=s.page_sizes)
            def list_pages(self, namespace, label_selector, field_selector, rv, limit):
                """A list read to its end, page by page, with nothing written between (``kubectl get
                --chunk-size``, a reflector's paginated relist): the pages hold the snapshot, each object once."""
                spec = ListSpec(Filter(namespace, label_selector, field_selector), self._resolve(rv), None, limit,
                                self._label("list"))
                return self._returned(self._list_through(spec), spec.label)

        @precondition(lambda self: caps.exact_list)
        @rule(target=rvs, namespace=s.watch_namespaces, label_selector=label_selectors,
              field_selector=field_selectors, rv=exact_rvs(rvs), limit=limits)
        def list_exact(self, namespace, label_selector, field_selector, rv, limit):
            rv = self._resolve(rv)
            if rv is None:
                return self._returned(None, "list_exact with nothing written yet")
            spec = ListSpec(Filter(namespace, label_selector, field_selector), rv, EXACT, limit,
                            self._label("list"))
            return self._returned(self._list(spec), spec.label)

        # Possible once a list asked for a limit, although it may have nothing to continue: whether a page
        # ends with a token is the backend's answer, and at a snapshot inside a burst it depends on which
        # write got which RV; a precondition that followed it made Hypothesis draw different rules on replay.
        @precondition(lambda self: self.limited_lists)
        @rule(paginated=s.paginated)
        def list_next(self, paginated):
            """Fetch the next page of a paginated list in progress: ``paginated`` counts the lists that can
            continue from the oldest (0), clamped to the newest, so older lists can wait while others go on."""
            lists = self._continuable()
            if not lists:
                self._list_forged(s.FORGED_TOKENS[paginated])
                return
            index = self.paginated.index(lists[min(paginated, len(lists) - 1)])
            note(f"list_next continues {self.paginated[index].model.spec.label}")
            self._continue(index)

        @precondition(lambda self: caps.compaction)
        @rule(rv=st.one_of(rvs, s.oldest_retained, s.lower_compactions))
        def compact(self, rv):
            rv = self._resolve(rv)
            if rv is None or rv < 0:
                return
            self._compact(rv)

    ListWatchConformance.factory = staticmethod(factory)
    ListWatchConformance.caps = caps
    ListWatchConformance.checked = frozenset(G) if checked is None else checked
    return ListWatchConformance
