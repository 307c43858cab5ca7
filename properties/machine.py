"""The conformance state machine: every rule acts on the backend and on the model.

``conformance_machine(factory, capabilities)`` builds a RuleBasedStateMachine for one
backend. Rules are named after the API verbs and their arguments after the API fields,
so a shrunk failure reads as a short program of calls. Capabilities gate whole rules
through preconditions and shape the arguments drawn (no selector is drawn for a backend
without selector support); nothing is skipped at run time.

Safety is checked on every event as it arrives (in ``drain``); liveness waits for what
the model says a watch owes, up to the wait budget, and never sleeps blindly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import attrs
from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, multiple, precondition, rule

from model.guarantees import Guarantee as G
from model.guarantees import Violation
from model.history import History
from model.lists import EXACT, ListModel, ListSpec
from model.objects import Obj
from model.retention import Retention
from model.selectors import Filter
from model.watch import WatchModel, WatchSpec
from properties import strategies as s
from properties.config import HARNESS
from properties.harness import BackendFault, call, check_rv, to_event, to_page
from sut.api import AlreadyExists, Capabilities, Conflict, Expired, ListWatchError, NotFound, WatchClosed

MAX_EXTRA_POLLS = 1000  # events read after a watch caught up, to catch duplicates and extras


@attrs.define(eq=False)
class WatchHandle:
    """A watch the machine opened: the backend's stream and the model checking it."""

    label: str
    model: WatchModel
    stream: object | None  # None once ended (Expired at watch(), stopped)

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


def conformance_machine(factory: Callable[[], object], capabilities: Capabilities) -> type[RuleBasedStateMachine]:
    """A state machine class checking backends made by ``factory`` that declare ``capabilities``."""
    caps = capabilities
    label_selectors = s.label_selectors if caps.label_selectors else st.just("")
    field_selectors = s.field_selectors if caps.field_selectors else st.just("")
    bookmarks = st.booleans() if caps.bookmarks else st.just(False)
    limits = st.one_of(st.none(), s.limits) if caps.pagination else st.none()

    class ListWatchConformance(RuleBasedStateMachine):
        rvs = Bundle("rvs")
        watches = Bundle("watches")

        def __init__(self) -> None:
            super().__init__()
            self.backend = call("the backend factory", factory)
            self.log = History()
            self.retention = Retention(caps.history)
            self.handles: list[WatchHandle] = []
            self.paginated: list[PagedList] = []
            self.counter = 0
            self.failure: Violation | None = None

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
        def _invoke(self, w: BurstWrite, expect_rv: int | None = None) -> int | ListWatchError:
            """Send one write to the backend: its RV, or the contract error it raised."""
            fn = {"create": lambda: self.backend.create(w.namespace, w.name, w.labels, w.value),
                  "update": lambda: self.backend.update(w.namespace, w.name, w.labels, w.value, expect_rv=expect_rv),
                  "delete": lambda: self.backend.delete(w.namespace, w.name, expect_rv=expect_rv)}[w.verb]
            try:
                return call(f"{w.verb}()", fn)
            except ListWatchError as exc:
                return exc

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
            acked = self._judge(w, current, expect_rv, self._invoke(w, expect_rv))
            if acked is None:
                return None
            self._check(self.log.acknowledge, [acked])
            return acked[0]

        def _returned(self, rv: int | None):
            return multiple() if rv is None else rv

        @initialize(target=rvs, writes=st.lists(s.writes, max_size=12))
        def prepare(self, writes):
            """Seed a history before anything watches: writes (verb, namespace, name, labels, value)
            one after another, as the Kubernetes storage tests seed their data."""
            done = [self._write(BurstWrite(*w)) for w in writes]
            return multiple(*(rv for rv in done if rv is not None))

        @rule(target=rvs, namespace=s.namespaces, name=s.names, labels=s.labels, value=s.values)
        def create(self, namespace, name, labels, value):
            return self._returned(self._write(BurstWrite("create", namespace, name, labels, value)))

        @rule(target=rvs, namespace=s.namespaces, name=s.names, labels=s.labels, value=s.values,
              expect_rv=st.one_of(st.none(), rvs))
        def update(self, namespace, name, labels, value, expect_rv):
            return self._returned(self._write(BurstWrite("update", namespace, name, labels, value), expect_rv))

        @rule(target=rvs, namespace=s.namespaces, name=s.names, expect_rv=st.one_of(st.none(), rvs))
        def delete(self, namespace, name, expect_rv):
            return self._returned(self._write(BurstWrite("delete", namespace, name, {}, ""), expect_rv))

        @rule(target=rvs, writes=st.lists(s.writes, min_size=2, max_size=4, unique_by=lambda w: (w[1], w[2])))
        def burst(self, writes):
            """Writes (verb, namespace, name, labels, value) to distinct objects from several threads at
            once; the model orders them by the RVs the backend returned."""
            state = dict(self.log.current)
            writes = [BurstWrite(*w) for w in writes]
            pool = ThreadPoolExecutor(max_workers=len(writes), thread_name_prefix="burst")
            futures = [pool.submit(self._invoke, w) for w in writes]
            deadline = time.monotonic() + HARNESS.wait_budget * 10
            try:
                results = [f.result(timeout=max(deadline - time.monotonic(), 0)) for f in futures]
            except FutureTimeout:
                raise BackendFault(f"a write in a burst did not return within {HARNESS.wait_budget * 10:.1f}s: "
                                   f"{[w for w, f in zip(writes, futures) if not f.done()]}") from None
            finally:
                pool.shutdown(wait=False)  # a hung write must not hang the suite as well
            judged = [self._judge(w, state.get((w.namespace, w.name)), None, r) for w, r in zip(writes, results)]
            acked = [a for a in judged if a is not None]
            self._check(self.log.acknowledge, acked)
            # in the order of ``writes``, not of the RVs: which RV a thread got varies from run to run,
            # and the bundle must mean the same ("the RV of the write to b") when Hypothesis replays
            return multiple(*(rv for rv, _, _ in acked))

        # --- watches --------------------------------------------------------------------
        def _resolve(self, rv):
            if isinstance(rv, s.Ahead):
                value = max(self.log.max_handed_out, 0) + int(rv)
            elif isinstance(rv, s.OldestRetained):
                rvs, history = self.log.rvs, max(caps.history, 1)
                if not rvs:
                    note(f"{rv!r}: nothing written yet, so rv=None")
                    return None
                value = rvs[min(max(len(rvs) - history + int(rv), 0), len(rvs) - 1)]
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
            try:
                handle.stream = call("watch()", self.backend.watch, namespace=f.namespace,
                                     label_selector=f.label_selector, field_selector=f.field_selector, rv=spec.rv,
                                     allow_bookmarks=spec.allow_bookmarks,
                                     send_initial_events=spec.send_initial_events)
            except Expired:
                self._check(model.on_expired)
            except ListWatchError as exc:
                self._check(model.on_refused, exc)
            self.handles.append(handle)
            return handle

        def _label(self, kind: str) -> str:
            self.counter += 1
            return f"{kind} #{self.counter}"

        @rule(target=watches, namespace=s.watch_namespaces, label_selector=label_selectors,
              field_selector=field_selectors, rv=st.one_of(st.none(), st.just(0), rvs, s.aheads, s.oldest_retained),
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

        def _next(self, handle: WatchHandle, timeout: float) -> None:
            """Read at most one event from ``handle`` and check it; end the handle on Expired/WatchClosed."""
            what = f"next() on {handle.label}"
            try:
                raw = call(what, handle.stream.next, timeout)
            except Expired:
                handle.stream = self._close_stream(handle)
                self._check(handle.model.on_expired)
                return False
            except WatchClosed:
                handle.stream = self._close_stream(handle)
                self._check(handle.model.on_closed)
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
            arrives or the wait budget ends: a skipped event arriving late means reordering."""
            later, deadline = [], time.monotonic() + HARNESS.wait_budget / 4
            while len(later) < MAX_EXTRA_POLLS and (remaining := deadline - time.monotonic()) > 0:
                try:
                    raw = handle.stream.next(min(remaining, HARNESS.poll_interval))
                except (ListWatchError, BackendFault):
                    break
                if raw is not None:
                    later.append(to_event(f"next() on {handle.label}", raw))
                    if later[-1] == awaited:
                        break
            return later

        def _close_stream(self, handle: WatchHandle) -> None:
            if handle.stream is not None:
                call(f"close() on {handle.label}", handle.stream.close)
            return None

        def _drain(self, handle: WatchHandle, quiet: float = 0.0, quiet_from: float | None = None) -> None:
            """Read until the watch delivered all it owes (or the budget ends), then whatever else
            arrives until the stream has been silent for ``quiet`` seconds: since the previous event,
            or since ``quiet_from`` (a ``time.monotonic()`` instant) when that is later. Teardown
            passes one instant for every watch, so their quiet periods run together."""
            deadline = time.monotonic() + HARNESS.wait_budget
            last = -float("inf")
            while handle.stream is not None and self.failure is None:
                owed = handle.model.owed()
                if owed is None:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self._check(_raise, owed)
                    break
                if self._next(handle, min(remaining, HARNESS.poll_interval)):
                    last = time.monotonic()
            last = max(last, time.monotonic() if quiet_from is None else quiet_from)
            for _ in range(MAX_EXTRA_POLLS):
                if handle.stream is None or not self._next(handle, max(last + quiet - time.monotonic(), 0.0)):
                    break
                last = time.monotonic()

        @rule(watch=watches)
        def drain(self, watch):
            self._drain(watch)

        @rule(watch=consumes(watches))
        def stop(self, watch):
            """The client closes the watch."""
            watch.stream = self._close_stream(watch)
            watch.model.closed = True

        @rule(target=watches, watch=consumes(watches))
        def resume(self, watch):
            """The informer pattern: stop, then watch again from the last RV seen (or afresh)."""
            watch.stream = self._close_stream(watch)
            watch.model.closed = True
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
            call("request_progress()", self.backend.request_progress)
            for handle in self.handles:
                if handle.stream is not None:
                    handle.model.request_progress(self.log.last_rv)

        # --- lists ---------------------------------------------------------------------
        def _list(self, spec: ListSpec) -> int | None:
            model = ListModel(spec, self.log, self.retention)
            f = spec.filter
            kwargs = dict(namespace=f.namespace, label_selector=f.label_selector, field_selector=f.field_selector,
                          rv=spec.rv, match=spec.match, limit=spec.limit)
            try:
                page = call("list()", self.backend.list, **kwargs)
            except ListWatchError as exc:
                note(f"{spec.label} raised {exc!r}")
                self._check(model.first_failed, isinstance(exc, Expired))
                return None
            rv, items, token = to_page("list()", page)
            self._check(model.first_page, rv, items, token)
            if token is not None:
                self.paginated.append(PagedList(model, token, kwargs))
            return rv

        @rule(target=rvs, namespace=s.watch_namespaces, label_selector=label_selectors,
              field_selector=field_selectors, rv=st.one_of(st.none(), st.just(0), rvs, s.aheads), limit=limits)
        def list(self, namespace, label_selector, field_selector, rv, limit):
            spec = ListSpec(Filter(namespace, label_selector, field_selector), self._resolve(rv), None, limit,
                            self._label("list"))
            return self._returned(self._list(spec))

        @precondition(lambda self: caps.exact_list)
        @rule(target=rvs, namespace=s.watch_namespaces, label_selector=label_selectors,
              field_selector=field_selectors, rv=st.one_of(rvs, s.oldest_retained), limit=limits)
        def list_exact(self, namespace, label_selector, field_selector, rv, limit):
            rv = self._resolve(rv)
            if rv is None:
                return multiple()
            spec = ListSpec(Filter(namespace, label_selector, field_selector), rv, EXACT, limit,
                            self._label("list"))
            return self._returned(self._list(spec))

        @precondition(lambda self: self.paginated)
        @rule()
        def list_next(self):
            """Fetch the next page of the oldest paginated list still in progress."""
            paged = self.paginated.pop(0)
            kwargs = dict(paged.call, continue_token=paged.token)
            try:
                page = call("list() with a continue token", self.backend.list, **kwargs)
            except ListWatchError as exc:
                note(f"{paged.model.spec.label} continue raised {exc!r}")
                self._check(paged.model.next_failed, isinstance(exc, Expired))
                return
            rv, items, token = to_page("list() with a continue token", page)
            self._check(paged.model.next_page, rv, items, token)
            if token is not None:
                self.paginated.insert(0, PagedList(paged.model, token, paged.call))

        @precondition(lambda self: caps.compaction)
        @rule(rv=st.one_of(rvs, st.just(s.Ahead(0)), s.oldest_retained))
        def compact(self, rv):
            rv = self._resolve(rv)
            if rv is None or rv < 0:
                return
            call("compact()", self.backend.compact, rv)
            self.retention.compact(rv)

        def teardown(self) -> None:
            try:
                quiet_from = time.monotonic()
                for handle in self.handles:
                    if handle.stream is not None:  # late extras: duplicates, bookmarks
                        self._drain(handle, quiet=HARNESS.quiet_period, quiet_from=quiet_from)
                if self.failure is not None:
                    raise self.failure
            finally:
                try:
                    for handle in self.handles:
                        if handle.stream is not None:
                            handle.stream = self._close_stream(handle)
                finally:
                    call("close()", self.backend.close)

    ListWatchConformance.__name__ = ListWatchConformance.__qualname__ = "ListWatchConformance"
    return ListWatchConformance
