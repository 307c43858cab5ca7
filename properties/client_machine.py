"""The client conformance machine: the suite plays a lockstep apiserver to a client under test.

The true history (``model/history.py``) is the server's data; the adversary
(``sut/clients/adversary.py``) holds every request the client makes until a rule answers it,
and sends bytes on an open watch only when a rule does. Rules are the server's legal choices
(CLIENTS.md, "Legal server behaviour"): writes (labelled, so an update can leave the client's
label selector) and RV gaps, compaction, answering the client's next request honestly, a page at
a time (continue tokens) or with a legal fault, sending events, bookmarks, blank lines and
truncated lines, stalls (slowness inside the wait budget), and ending the stream. The client is
started on a namespace and a label selector drawn at the start; the truth it must show is
filtered by them, while each request is served by its own path and ``labelSelector``. Checks:

- on every request the client makes (:meth:`ClientMachine._judge`): ResumeFromLastSeen,
  NoRetryAtExpiredRV, TooLargeFallsBack, WatchListSync (a plain watch after a cut streaming list);
- on the client's view after every step (:meth:`ClientMachine.view_agrees`): ViewAtRV,
  NoTimeTravel, WatchListSync (synced), StaysAlive / RobustFraming (the loop still runs),
  NoDuplicateEvents (an iterator's optional event record, ``sut/clients/api.py``);
- when the client owes a request (no open stream) and makes none: StaysAlive / RobustFraming;
- at the end of every example (:meth:`ClientMachine.teardown`): the server turns honest and
  stops writing, and the view must reach the final truth: Converges.

The machine is a module-level class; :func:`client_machine` binds it to an adapter factory and
the set of guarantees checked. What depends on the client's capabilities is decided in
:class:`Plan`, one small place.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping

import attrs
from hypothesis import currently_in_test_context
from hypothesis import note as _hypothesis_note
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from listwatch_conformance.model.client_guarantees import REQUEST_LEVEL, ClientGuarantee as CG
from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.model.history import History
from listwatch_conformance.model.objects import Obj
from listwatch_conformance.model.selectors import Filter, SelectorError
from listwatch_conformance.properties.config import HARNESS
from listwatch_conformance.properties.harness import BackendFault, BackendHang, call_all
from listwatch_conformance.sut.api import ListWatchError, Object
from listwatch_conformance.sut.clients.adversary import Adversary, Request, Stream
from listwatch_conformance.sut.clients.api import ClientCapabilities, ClientView
from listwatch_conformance.sut.memory import decode_continue, encode_continue
from listwatch_conformance.sut.kube import wire

NAMESPACES = ("a", "b")
NAMES = ("a", "b", "c")
VALUES = ("0", "1")
LABEL = "x"  # the one label key: writes set it to "0", "1" or leave it off
LABEL_VALUES = (None, "0", "1")
# label selectors a client is started with: each form of CLIENTS.md's item 9 (an update that changes
# the label moves an object out of the selector, which arrives as DELETED)
SELECTORS = ("", "x=1", "x!=1", "x", "!x", "x in (0)")
STALL_SLICE = 0.05  # a stall slice, as a fraction of the wait budget (slowness stays well inside it)
MAX_STALLS = 2
FIRST_RV = 1  # the RV of the empty store: Kubernetes RVs start above 0, and "0" means "any" on the wire
LIVENESS_SLICE = 0.01  # how often the wait for an owed request looks whether the client's loop has ended
SETTLE_ROUNDS = 12  # requests answered honestly at the end before Converges gives up


def note(text: str) -> None:
    """Hypothesis's note(), also usable when a finding's program is replayed by hand in a test."""
    if currently_in_test_context():
        _hypothesis_note(text)


class ClientFault(BackendFault):
    """The adapter broke the adapter contract's form (view() raised, returned a wrong type...)."""


def _obj(o: Obj) -> Object:
    return Object(o.namespace, o.name, dict(o.labels), o.value, o.rv)


def _labels(label: str | None) -> dict[str, str]:
    return {} if label is None else {LABEL: label}


def _bookmark_line(rv: int, end: bool = False) -> bytes:
    meta: dict = {"resourceVersion": str(rv)}
    if end:
        meta["annotations"] = {wire.INITIAL_EVENTS_END: "true"}
    return wire.json_line({"type": "BOOKMARK", "object": {"kind": "ConfigMap", "apiVersion": "v1", "metadata": meta}})


def _event_line(kind: str, o: Obj, rv: int | None = None) -> bytes:
    return wire.json_line({"type": kind, "object": wire.object_to_configmap(attrs.evolve(_obj(o), rv=rv or o.rv))})


def _limit(r: Request) -> int:
    text = r.query.get("limit", "")
    return int(text) if text.isdigit() else 0


CONTINUE_EXPIRED = ("The provided continue parameter is too old to display a consistent list result. You can start a "
                    "new list without the continue parameter.")


def _rv_text(rv: str) -> str:
    return repr(rv) if rv in ("", "0") else rv


def _request_key(r: Request) -> tuple:
    """What makes two requests the same request: its kind, path and query (not its timeout)."""
    return r.kind, r.path, tuple(sorted((k, v) for k, v in r.query.items() if k != "timeoutSeconds"))


@attrs.frozen
class TooLargeRetry:
    """A 504 "too large resource version" sent with Retry-After. client-go's rest client retries such
    a response itself (rest/request.go: a 429 or 5xx with Retry-After, after that many seconds, up to
    ``maxRetries`` = 10 times) before the Reflector sees the error and lists with RV unset; so the same
    request again, no sooner than Retry-After and at most 10 times in a row, is no TooLargeFallsBack."""

    MAX_RETRIES = 10

    request_key: tuple
    seconds: float
    answered: float  # time.monotonic() when the 504 was sent
    count: int  # retries of this request already made

    def allows(self, r: Request) -> bool:
        # a request arrives after the client got the 504 and slept: load only makes it later
        return (_request_key(r) == self.request_key and self.count < self.MAX_RETRIES
                and r.time - self.answered >= self.seconds)


@attrs.frozen
class Plan:
    """What the client's capabilities let the machine draw, decided in one place."""

    caps: ClientCapabilities

    @property
    def request_wait(self) -> float:
        """How long a live client may take to send a request it owes before it is called stuck: the
        suite's deadline for a backend call (``HARNESS.call_deadline``, ten budgets) plus twice its
        backoff. Generous on purpose: whether the request came decides which rules are possible next,
        so a request that a loaded machine makes late must still come in time on every run. A client
        whose loop has ended costs no wait (:meth:`ClientMachine._next_owed_request`)."""
        return HARNESS.call_deadline + 2 * self.caps.max_backoff

    @property
    def settle_wait(self) -> float:
        return HARNESS.wait_budget + 2 * self.caps.max_backoff


@attrs.define(eq=False)
class OpenWatch:
    """The machine's model of the watch the client has open."""

    request: Request
    stream: Stream
    bookmarks: bool
    position: int  # the RV up to which this stream has delivered (its start, last event or bookmark)
    initial: list[Obj]  # synthetic ADDED events still owed, in the order they will be sent
    end_bookmark: bool  # a streaming list: the initial-events-end bookmark at ``r0`` is owed after them
    r0: int
    next_write: int  # index in the history of the first write not yet considered for this stream
    filter: Filter  # what the request asked for (its path's namespace, its labelSelector)
    sent_initial: int = 0  # synthetic ADDED events sent so far
    given: list[int] = attrs.Factory(list)  # RVs given to the client on this stream (the one before it first)
    blank_from: int | None = None  # index in ``given`` of the RV given just before the first blank line

    @property
    def initial_phase(self) -> bool:
        return bool(self.initial) or self.end_bookmark


class ClientMachine(RuleBasedStateMachine):
    """Checks one client adapter; bound to a factory by :func:`client_machine`."""

    factory: Callable[[], object]
    checked: frozenset[CG] = frozenset(CG)

    def __init__(self) -> None:
        super().__init__()
        self.adversary = Adversary()
        self.adversary.start()
        self.client = None
        try:
            self.client = self.factory()
            caps = self.client.capabilities
            if not isinstance(caps, ClientCapabilities):
                raise ClientFault(f"the adapter's capabilities are {caps!r}, not a ClientCapabilities")
        except BaseException:
            self.adversary.stop()
            raise
        self.plan = Plan(caps)
        if not caps.observable_view:  # only its requests can be judged
            self.checked = self.checked & REQUEST_LEVEL
        self.log = History()
        self.rv_now = FIRST_RV  # the server's current RV: the last write's, or higher (other resources write too)
        self.compacted = 0  # a watch from N < compacted is expired
        self.filter = Filter()  # what the client was started on: the truth it must show is filtered by it
        self.stalls = 0  # slowness rules used in this example (each costs wall time)
        self.pending: Request | None = None  # the request taken from the adversary and not yet answered
        self.watch: OpenWatch | None = None
        self.given_rv: int | None = None  # the newest RV the client was given (ResumeFromLastSeen)
        self.expired_rv: int | None = None  # a watch from it got 410 and no list completed since
        self.too_large_rv: str | None = None  # a (streaming) list at it got TooLarge; the next must be ""
        self.too_large_retry: TooLargeRetry | None = None  # that 504 asked for a retry (Retry-After)
        self.cut_watch_list = False  # the last streaming list was cut before its end bookmark
        self.complete_state_given = False  # a list or an initial-events-end bookmark reached the client
        self.last_fault = "start"  # what the server did last that ended a request or a stream
        self.claimed: int | None = None  # the highest RV the client claimed (NoTimeTravel)
        self.key_rvs: dict[tuple[str, str], int] = {}
        self.synced_seen = False
        self.inconclusive = False  # a violation of an unchecked guarantee: nothing later is judged
        self.failure: Violation | None = None  # the first violation, raised at teardown
        self.stuck = False  # the client once owed a request and made none (its loop ended, or it hung)
        # a truncated line, blank line or in-stream ERROR was sent since the client's last request:
        # if it dies now, RobustFraming (not StaysAlive) names it
        self.framing_sent = False
        self.resume_ok: set[int] | None = None  # RVs a plain watch may resume from after a dropped stream
        self.events_read = 0  # how much of an iterator's event record was checked (NoDuplicateEvents)
        self.yielded: dict[tuple[str, str, int], int] = {}  # (namespace, name, rv) -> its index in the record

    # --- verdicts -------------------------------------------------------------------------
    def _violate(self, guarantee: CG, subject: str, problem: str, *, expected: object, observed: object) -> None:
        """Keep the first violation for teardown; nothing later is judged.

        Raising only at teardown keeps the rules drawn independent of *when* a client's
        misbehaviour is seen (a racy read of its view), which keeps replay and shrinking stable.
        """
        if not self.judging:
            return
        violation = Violation(guarantee, subject, problem, expected=expected, observed=observed,
                              context=self.adversary.requests[-6:])
        if guarantee in self.checked:
            self.failure = violation
            note(f"first violation seen: {guarantee.name}")
        else:
            self.inconclusive = True
            note(f"inconclusive from here: {violation.guarantee.name} is not checked")

    @property
    def judging(self) -> bool:
        return self.failure is None and not self.inconclusive

    def _view(self) -> ClientView:
        try:
            view = self.client.view()
        except Exception as exc:  # noqa: BLE001 - the adapter's fault
            raise ClientFault(f"client view() raised {type(exc).__name__}: {exc}") from exc
        if not isinstance(view, ClientView):
            raise ClientFault(f"client view() returned {view!r}, not a ClientView")
        return view

    # --- the truth ------------------------------------------------------------------------
    def _visible(self, o: Obj | None) -> bool:
        return self.filter.matches(o)

    def _state(self, rv: int) -> dict[tuple[str, str], Object]:
        """The truth the client must show at ``rv``: filtered by what it was started on."""
        return {k: _obj(o) for k, o in self.log.state_at(rv).items() if self._visible(o)}

    def _served(self, rv: int, flt: Filter) -> list[Obj]:
        """What the server serves at ``rv`` to a request with ``flt``, in key order (etcd's)."""
        return sorted((o for o in self.log.state_at(rv).values() if flt.matches(o)),
                      key=lambda o: (o.namespace, o.name))

    def _write(self, key: tuple[str, str], new: Obj | None) -> None:
        self.rv_now += 1
        self.log.acknowledge([(self.rv_now, key, None if new is None else new.with_rv(self.rv_now))])

    # --- requests -------------------------------------------------------------------------
    def _await_request(self) -> None:
        """The client owes a request (nothing is open): wait for it and judge it.

        Which rules are possible next depends on the outcome (a pending request, or a stuck client), so
        the outcome must follow from the program alone, not from the machine's load: the wait ends when
        the request comes or the client's loop has ended (both decided by what the client was sent), and
        otherwise only after the generous ``Plan.request_wait``. A stuck client stays stuck: no later
        rule can open a stream or answer a request, so nothing waits again."""
        if self.pending is not None or self.watch is not None or self.stuck:
            return
        request = self._next_owed_request()
        if request is None:
            self.stuck = True
            view = self._view()
            waited = "" if not view.alive else f" within {self.plan.request_wait:.2f}s"
            self._liveness(view, f"no request{waited} after {self.last_fault}")
            return
        self._take(request)

    def _next_owed_request(self) -> Request | None:
        """The request the client owes, or None once its loop has ended or ``Plan.request_wait`` passed.
        After the loop is seen ended, one more poll interval catches a request still in flight."""
        deadline = time.monotonic() + self.plan.request_wait
        while True:
            left = deadline - time.monotonic()
            # a request ends the wait at once; the short slice is how soon an ended loop is noticed
            request = self.adversary.next_request(max(0.0, min(LIVENESS_SLICE, left)))
            if request is not None:
                return request
            if left <= 0:
                return None
            if not self._view().alive:
                return self.adversary.next_request(HARNESS.poll_interval)

    def _take(self, request: Request) -> None:
        note(f"client: {request!r}")
        self.framing_sent = False  # the client came back after whatever was sent before
        if self.watch is not None:  # a new request while its stream is open: the client dropped it
            note("the client dropped its open stream")
            w, self.watch = self.watch, None
            self._after_stream(w)
            w.stream.cut()
        self.pending = request
        self._judge(request)
        self.resume_ok = None

    def _after_stream(self, w: OpenWatch) -> None:
        """A client may drop a stream on a blank line (legal, if odd) and resume from any RV it was
        given on that stream from the one before the blank line on: it cannot have read further
        than the server sent, and what it read is not known."""
        if w.blank_from is not None:
            self.resume_ok = set(w.given[w.blank_from:])

    def _judge(self, r: Request) -> None:
        subject = f"request {r!r}"
        if r.kind in ("list", "watch-list"):
            retry, self.too_large_retry = self.too_large_retry, None
            if self.too_large_rv is not None and r.rv != "":
                if retry is not None and retry.allows(r):
                    note(f"a retry of the 504's request after its Retry-After ({retry.count} of at most "
                         f"{TooLargeRetry.MAX_RETRIES})")
                    self.too_large_rv = None  # judged: what the retry is answered decides what follows
                    self.too_large_retry = retry  # a 504 for it again carries the count on
                    return
                wanted = "resourceVersion unset (a consistent read)" + (
                    f", or the same request again no sooner than its Retry-After ({retry.seconds} s) and at most "
                    f"{TooLargeRetry.MAX_RETRIES} times" if retry is not None else "")
                self._violate(CG.TooLargeFallsBack, subject,
                              f"after 'too large resource version' for RV {_rv_text(self.too_large_rv)}",
                              expected=wanted, observed=f"resourceVersion={_rv_text(r.rv)}"
                              + (f", {r.time - retry.answered:.2f} s after the 504" if retry is not None else ""))
            self.too_large_rv = None
            return
        if r.kind != "watch":
            return
        if self.cut_watch_list:
            self._violate(CG.WatchListSync, subject, "a plain watch after a streaming list cut before its end bookmark",
                          expected="the streaming list restarted, or a list", observed=repr(r))
            return
        rv = int(r.rv) if r.rv.isdigit() else None
        if self.expired_rv is not None:
            if rv is not None and rv != 0 and (rv <= self.expired_rv or rv < self.compacted):
                self._violate(CG.NoRetryAtExpiredRV, subject,
                              f"a watch from RV {self.expired_rv} got 410 (compacted below {self.compacted})",
                              expected="a list or a streaming list", observed=f"a watch from resourceVersion={r.rv}")
            else:
                self._violate(CG.ResumeFromLastSeen, subject,
                              f"after a 410 the client resumed without relisting",
                              expected="a list or a streaming list", observed=f"a watch from resourceVersion={_rv_text(r.rv)}")
            return
        if self.resume_ok is not None and r.rv.isdigit() and int(r.rv) in self.resume_ok:
            return
        if self.given_rv is not None and r.rv != str(self.given_rv):
            self._violate(CG.ResumeFromLastSeen, subject, "the watch does not resume from the newest RV given",
                          expected=f"resourceVersion={self.given_rv}", observed=f"resourceVersion={_rv_text(r.rv)}")

    def _answer(self, status: int, doc: object, headers: tuple = (), fault: str = "") -> None:
        request, self.pending = self.pending, None
        self.adversary.reply(request, status, doc, headers)
        if fault:
            self.last_fault = fault
        self._await_request()

    def _request_filter(self, r: Request) -> Filter:
        return Filter(r.namespace, r.query.get("labelSelector", ""))

    def _bad_request(self, r: Request) -> str | None:
        """Why the apiserver would answer ``r`` 400 BadRequest, if it would."""
        try:
            self._request_filter(r)
        except SelectorError as exc:
            return f"unable to parse requirement: {exc}"
        if r.query.get("continue") and r.rv:
            return "specifying resource version is not allowed when using continue"
        if r.query.get("continue"):
            try:
                decode_continue(r.query["continue"])
            except ListWatchError:
                return "continue key is not valid"
        return None

    def _list_answer(self, r: Request, rv: int, page: int | None = None) -> None:
        """Answer the list ``r`` at ``rv`` (a continue token's snapshot goes on after its last key);
        with ``page``, at most that many items and a continue token if more remain."""
        items = self._served(rv, self._request_filter(r))
        if r.query.get("continue"):
            _, last = decode_continue(r.query["continue"])
            items = [o for o in items if (o.namespace, o.name) > last]
        more = page is not None and len(items) > page
        if more:
            items = items[:page]
        meta = {"resourceVersion": str(rv)}
        if more:
            meta["continue"] = encode_continue(rv, (items[-1].namespace, items[-1].name))
        doc = {"kind": "ConfigMapList", "apiVersion": "v1", "metadata": meta,
               "items": [wire.object_to_configmap(_obj(o)) for o in items]}
        note(f"server: list at RV {rv}: {[f'{o.namespace}/{o.name}@{o.rv}' for o in items]}"
             + (" and a continue token" if more else ""))
        if more:  # a page: nothing complete was given yet
            return self._answer(200, doc, fault="a list page")
        self.given_rv = rv
        self.expired_rv = None
        self.cut_watch_list = False
        self.complete_state_given = True
        self._answer(200, doc, fault="a list")

    def _respond_list(self, r: Request, stale: int, page: int | None) -> None:
        """A list, as the apiserver serves it (API concepts, "Resource versions" and "Retrieving large
        results sets in chunks"): a continue token pages its first page's snapshot, or 410 once
        compacted; RV "0" is the watch cache (possibly ``stale`` writes behind, ``limit`` ignored)
        unless ``page`` plays a server without one; ``limit`` with RV N and no resourceVersionMatch is
        an exact read (410 below the compaction); otherwise the current state."""
        token = r.query.get("continue")
        if token:
            at, _ = decode_continue(token)
            if at < self.compacted:
                return self._answer(410, wire.status(410, "Expired", CONTINUE_EXPIRED), fault="HTTP 410 (continue)")
            return self._list_answer(r, at, page)
        numeric = int(r.rv) if r.rv.isdigit() else None
        if r.rv == "0" and page is None:
            k = max(0, len(self.log.rvs) - stale)
            at = self.rv_now if stale == 0 else (self.log.rv_before(k) or FIRST_RV)
            return self._list_answer(r, at)
        if numeric is not None and numeric > self.rv_now:
            return self._too_large(r.rv)
        match = r.query.get("resourceVersionMatch")
        if numeric and (match == "Exact" or (match is None and _limit(r))):
            if numeric < self.compacted:
                return self._answer(410, wire.status(410, "Expired", f"too old resource version: {numeric} "
                                                                     f"({self.compacted})"), fault="HTTP 410 (list)")
            return self._list_answer(r, numeric, page)
        return self._list_answer(r, self.rv_now, page)

    def _too_large(self, rv: str, retry_after: bool = True) -> None:
        """504 "too large resource version" for the pending (streaming) list at ``rv``. The watch cache
        sends it with ``retryAfterSeconds: 1`` (a Retry-After header); the etcd3 store without (0)."""
        self.too_large_rv = rv
        details: dict = {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}]}
        if retry_after:
            details["retryAfterSeconds"] = 1
        doc = wire.status(504, "Timeout", f"Too large resource version: {rv}, current: {self.rv_now}", details=details)
        if retry_after:
            earlier = self.too_large_retry
            count = earlier.count + 1 if earlier is not None and earlier.request_key == _request_key(self.pending) else 0
            self.too_large_retry = TooLargeRetry(_request_key(self.pending), 1, time.monotonic(), count)
        else:
            self.too_large_retry = None
        self._answer(504, doc, (("Retry-After", "1"),) if retry_after else (), fault="504 too large resource version")

    def _open(self, r: Request, *, initial: list[Obj] | None, end_bookmark: bool, start: int) -> None:
        stream = self.adversary.open_stream(r)
        self.pending = None
        self.watch = OpenWatch(r, stream, r.allow_bookmarks, start, initial or [], end_bookmark, start,
                               self.log.count_at(start), self._request_filter(r),
                               given=[self.given_rv] if self.given_rv is not None else [])
        note(f"server: watch open at RV {start}" + (f", {len(initial or [])} initial events" if initial is not None else ""))

    def _expire_watch(self, rv: int) -> None:
        self.expired_rv = rv if self.expired_rv is None else max(rv, self.expired_rv)

    # --- rules: the start -----------------------------------------------------------------
    @initialize(namespace=st.sampled_from((None, "a")), label_selector=st.sampled_from(SELECTORS),
                objects=st.lists(st.tuples(st.sampled_from(NAMESPACES), st.sampled_from(NAMES),
                                           st.sampled_from(VALUES), st.sampled_from(LABEL_VALUES)),
                                 max_size=4, unique_by=lambda o: o[:2]))
    def start(self, namespace, objects, label_selector=""):
        """Write ``objects`` (namespace, name, value, the value of label ``x`` or None), then start the
        client on ``namespace`` and ``label_selector``."""
        self.filter = Filter(namespace, label_selector)
        for ns, name, value, *label in objects:
            self._write((ns, name), Obj(ns, name, _labels(label[0] if label else None), value, 0))
        try:
            self.client.start(self.adversary.url, namespace, label_selector)
        except Exception as exc:  # noqa: BLE001
            raise ClientFault(f"client start() raised {type(exc).__name__}: {exc}") from exc
        self._await_request()

    # --- rules: writes --------------------------------------------------------------------
    @rule(namespace=st.sampled_from(NAMESPACES), name=st.sampled_from(NAMES),
          value=st.sampled_from((*VALUES, None)), label=st.sampled_from(LABEL_VALUES))
    def write(self, namespace, name, value, label=None):
        """Create or update ``namespace/name`` with ``value`` and label ``x`` set to ``label`` (None: no
        label); delete it (if it exists) for value None. A label change can move it out of the client's
        selector: the client gets DELETED with its last state, at the write's RV."""
        if value is not None:
            self._write((namespace, name), Obj(namespace, name, _labels(label), value, 0))
        elif (namespace, name) in self.log.current:
            self._write((namespace, name), None)

    @rule()
    def other_resource_write(self):
        """Another resource moves the shared RV sequence: an RV gap."""
        self.rv_now += 1

    @rule()
    def compact(self):
        """Compact everything before the current RV: a watch from an older RV expires."""
        self.compacted = self.rv_now

    # --- rules: answering the client's request ----------------------------------------------
    def _pending(self, *kinds: str) -> bool:
        return self.pending is not None and self.pending.kind in kinds

    @precondition(lambda self: self._pending("list", "watch", "watch-list", "get"))
    @rule(stale=st.integers(0, 2), order=st.sampled_from(("ascending", "descending")))
    def respond(self, stale, order):
        """Answer the client's request honestly. ``stale``: how many writes back a list or watch at RV
        "0" is served from (a lagging cache); ``order``: of the synthetic ADDED events."""
        r = self.pending
        if r.kind == "get":  # one object at the current RV (kubectl wait reads it before it list-watches)
            o = self.log.current.get((r.namespace, r.name))
            if o is None:
                missing = wire.status(404, "NotFound", f'configmaps "{r.name}" not found')
                return self._answer(404, missing, fault="a 404")
            return self._answer(200, wire.object_to_configmap(_obj(o)))
        bad = self._bad_request(r)
        if bad is not None:
            return self._answer(400, wire.status(400, "BadRequest", bad), fault="HTTP 400")
        numeric = int(r.rv) if r.rv.isdigit() else None
        if r.kind == "list":
            return self._respond_list(r, stale, None)
        flt = self._request_filter(r)
        if r.kind == "watch-list":
            if numeric is not None and numeric > self.rv_now:
                return self._too_large(r.rv)
            objs = sorted((o for o in self.log.state_at(self.rv_now).values() if flt.matches(o)),
                          key=lambda o: o.rv, reverse=order == "descending")
            return self._open(r, initial=objs, end_bookmark=True, start=self.rv_now)
        # a plain watch
        if numeric is not None and numeric > 0:
            if numeric < self.compacted:
                return self._expired_at_start(r, numeric)
            return self._open(r, initial=None, end_bookmark=False, start=numeric)
        objs = sorted((o for o in self.log.state_at(self.rv_now).values() if flt.matches(o)),
                      key=lambda o: o.rv, reverse=order == "descending")
        return self._open(r, initial=objs, end_bookmark=False, start=self.rv_now)

    @precondition(lambda self: self._pending("list") and _limit(self.pending) > 0
                  and self._bad_request(self.pending) is None)
    @rule(size=st.integers(1, 2))
    def respond_page(self, size):
        """Answer a list that has a ``limit`` with at most ``size`` items, and a continue token if more
        remain (a server may return fewer items than ``limit``: ListOptions.limit). At RV "0" this is
        an apiserver without a watch cache, which pages from etcd at the current RV."""
        self._respond_list(self.pending, 0, min(size, _limit(self.pending)))

    def _expired_at_start(self, r: Request, rv: int) -> None:
        """As the watch cache: 200, one ERROR event with a 410 Status, then the end."""
        self._open(r, initial=None, end_bookmark=False, start=rv)
        self._end_with_error(wire.status(410, "Expired", f"too old resource version: {rv} ({self.compacted})"),
                             expire=True)

    def _expirable(self) -> bool:
        """The pending request is a plain watch from an RV that a compaction can pass."""
        return self._pending("watch") and self.pending.rv.isdigit() and 0 < int(self.pending.rv) < self.rv_now

    @precondition(_expirable)
    @rule(in_stream=st.booleans())
    def expire_request(self, in_stream):
        """Compaction just above the watch's RV: 410, as an HTTP status or in the stream."""
        rv = int(self.pending.rv)
        self.compacted = max(self.compacted, rv + 1)
        if in_stream:
            return self._expired_at_start(self.pending, rv)
        self._expire_watch(rv)
        self._answer(410, wire.status(410, "Expired", f"too old resource version: {rv} ({self.compacted})"),
                     fault="HTTP 410")

    @precondition(lambda self: self._pending("list", "watch", "watch-list"))
    @rule(code=st.sampled_from((500, 503, 429)))
    def fail_request(self, code):
        """A retriable error: 500 InternalError, 503 ServiceUnavailable, 429 with Retry-After."""
        reason = {500: "InternalError", 503: "ServiceUnavailable", 429: "TooManyRequests"}[code]
        headers = (("Retry-After", "1"),) if code == 429 else ()
        self._answer(code, wire.status(code, reason, f"the adversary answers {code}"), headers, fault=f"HTTP {code}")

    @precondition(lambda self: self._pending("list", "watch-list") and self.pending.rv not in ("", "0"))
    @rule(retry_after=st.booleans())
    def too_large(self, retry_after=True):
        """A lagging apiserver (HA) is behind the requested RV: 504 "too large resource version", from
        the watch cache with Retry-After (``retry_after``), or from etcd without."""
        self._too_large(self.pending.rv, retry_after)

    # --- rules: the open stream -------------------------------------------------------------
    def _owed_live(self) -> list[tuple[str, Obj, int]]:
        """The live events this stream still owes: (type, object, event RV) for writes after its position."""
        w = self.watch
        owed = []
        for write in self.log.writes[w.next_write:]:
            before, after = w.filter.matches(write.prev), w.filter.matches(write.new)
            if after:
                owed.append(("MODIFIED" if before else "ADDED", write.new, write.rv))
            elif before:
                owed.append(("DELETED", write.prev, write.rv))
        return owed

    def _send_one(self) -> bool:
        """Send the next thing the stream owes; False if it owes nothing."""
        w = self.watch
        if w.initial:
            o = w.initial.pop(0)
            w.sent_initial += 1
            w.stream.send(_event_line("ADDED", o))
            note(f"server: initial ADDED {o!r}")
            return True
        if w.end_bookmark:
            w.end_bookmark = False
            w.stream.send(_bookmark_line(w.r0, end=True))
            note(f"server: BOOKMARK@{w.r0} initial-events-end")
            self._given(w.r0)
            self.expired_rv = None
            self.cut_watch_list = False
            self.complete_state_given = True
            return True
        while w.next_write < len(self.log.writes):
            write = self.log.writes[w.next_write]
            w.next_write += 1
            before, after = w.filter.matches(write.prev), w.filter.matches(write.new)
            if not (before or after) or write.rv <= w.position:
                continue
            if after:
                kind, o = ("MODIFIED" if before else "ADDED"), write.new
            else:
                kind, o = "DELETED", write.prev
            w.stream.send(_event_line(kind, o, write.rv))
            w.position = write.rv
            note(f"server: {kind} {o!r} at RV {write.rv}")
            self._given(write.rv)
            return True
        return False

    def _given(self, rv: int) -> None:
        self.given_rv = rv
        if self.watch is not None:
            self.watch.given.append(rv)

    def _streaming(self) -> bool:
        return self.watch is not None

    @precondition(_streaming)
    @rule(count=st.integers(1, 3))
    def send_events(self, count):
        """Send up to ``count`` events the watch owes (initial ADDEDs, the end bookmark, then live events)."""
        for _ in range(count):
            if not self._send_one():
                break

    @precondition(lambda self: self.watch is not None and self.watch.bookmarks and not self.watch.initial_phase
                  and self.watch.position <= self.rv_now)  # a watch from a future RV owes no bookmark yet
    @rule(latest=st.booleans())
    def send_bookmark(self, latest):
        """A bookmark at the stream's position, or (``latest``) as far as the truth allows."""
        w = self.watch
        owed = self._owed_live_after(w)
        limit = (owed - 1) if owed is not None else self.rv_now
        rv = max(w.position, limit) if latest else w.position
        w.stream.send(_bookmark_line(rv))
        w.position = rv
        note(f"server: BOOKMARK@{rv}")
        self._given(rv)

    def _owed_live_after(self, w: OpenWatch) -> int | None:
        """The RV of the first live event this stream still owes, if any."""
        for write in self.log.writes[w.next_write:]:
            if write.rv > w.position and (w.filter.matches(write.prev) or w.filter.matches(write.new)):
                return write.rv
        return None

    @precondition(lambda self: (self.pending is not None or self.watch is not None) and self.stalls < MAX_STALLS)
    @rule(slices=st.integers(1, 4), bookmarks=st.booleans())
    def stall(self, slices, bookmarks):
        """Slowness (CLIENTS.md item 7): hold the pending request's answer (late headers), or keep the
        open stream silent, for ``slices`` twentieths of the wait budget. With ``bookmarks`` (on a stream
        that asked for them, past its initial phase) each twentieth ends with a bookmark at the stream's
        position: a silence broken only by bookmarks. Never longer than the wait budget; at most
        ``MAX_STALLS`` per example, since each costs wall time."""
        self.stalls += 1
        for _ in range(slices):
            time.sleep(STALL_SLICE * HARNESS.wait_budget)  # the silence is the behaviour under test
            w = self.watch
            if bookmarks and w is not None and w.bookmarks and not w.initial_phase and w.position <= self.rv_now:
                w.stream.send(_bookmark_line(w.position))
                note(f"server: BOOKMARK@{w.position}")
                self._given(w.position)
        self.last_fault = "a stall"

    @precondition(_streaming)
    @rule()
    def send_blank_line(self):
        w = self.watch
        w.stream.send(b"\n")
        self.last_fault = "a blank line"
        self.framing_sent = True
        if w.blank_from is None:
            w.blank_from = max(0, len(w.given) - 1)

    @precondition(_streaming)
    @rule(how=st.sampled_from(("clean", "mid-line", "internal-error", "throttled")))
    def end_stream(self, how):
        """End the watch: cleanly, mid-line (a truncated JSON line, then the connection drops), or
        after an in-stream ERROR (500 InternalError, 429 TooManyRequests)."""
        w = self.watch
        if how == "clean":
            self._finish_watch("a clean end of the stream", w.stream.end)
        elif how == "mid-line":
            line = self._next_line_preview()
            self.framing_sent = True
            self._finish_watch("a truncated line", lambda: w.stream.cut(line[: max(1, len(line) // 2)]))
        elif how == "internal-error":
            self._end_with_error(wire.status(500, "InternalError", "an error on the server (\"etcdserver: leader changed\")"))
        else:
            self._end_with_error(wire.status(429, "TooManyRequests", "too many requests"))

    def _next_line_preview(self) -> bytes:
        w = self.watch
        if w.initial:
            return _event_line("ADDED", w.initial[0])
        for write in self.log.writes[w.next_write:]:
            if write.rv > w.position and (w.filter.matches(write.prev) or w.filter.matches(write.new)):
                kind = "DELETED" if not w.filter.matches(write.new) else "MODIFIED"
                return _event_line(kind, write.new or write.prev, write.rv)
        return _bookmark_line(self.rv_now)

    @precondition(lambda self: self.watch is not None and not self.watch.initial_phase
                  and self.watch.position < self.rv_now)
    @rule()
    def expire_stream(self):
        """Compaction passes the stream's position: an in-stream ERROR 410 Expired, then the end."""
        self.compacted = max(self.compacted, self.rv_now)
        self._end_with_error(wire.status(410, "Expired", f"too old resource version: {self.watch.position} "
                                                          f"({self.compacted})"), expire=True)

    def _end_with_error(self, status: dict, expire: bool = False) -> None:
        w = self.watch
        if expire:
            self._expire_watch(w.position)
        w.stream.send(wire.error_line(status))
        self.framing_sent = True
        self._finish_watch(f"an in-stream ERROR {status['code']}", w.stream.end)

    def _finish_watch(self, fault: str, end: Callable[[], None]) -> None:
        w, self.watch = self.watch, None
        self._after_stream(w)
        if w.request.kind == "watch-list" and w.initial_phase:
            self.cut_watch_list = True
        end()
        self.last_fault = fault
        note(f"server: the stream ends ({fault})")
        self._await_request()

    # --- checks ---------------------------------------------------------------------------
    def _liveness(self, view: ClientView, problem: str) -> None:
        guarantee = CG.RobustFraming if self.framing_sent and not view.alive else CG.StaysAlive
        self._violate(guarantee, "the client's loop", problem + ("" if view.alive else f"; it ended: {view.error!r}"),
                      expected="a running client that makes its next request",
                      observed=f"alive={view.alive}, error={view.error!r}")

    @invariant()
    def view_agrees(self):
        if not self.judging:
            return
        view = self._view()
        if not view.alive:
            return self._liveness(view, f"the client stopped after {self.last_fault}")
        if view.synced:
            if not self.complete_state_given:
                self._violate(CG.WatchListSync, "the client's synced signal", "synced before a complete initial state",
                              expected="synced=False until a list or the initial-events-end bookmark",
                              observed=f"synced=True with rv={view.rv!r} and {len(view.objects)} objects")
            self.synced_seen = True
        elif self.synced_seen:
            self._violate(CG.WatchListSync, "the client's synced signal", "synced went back to False",
                          expected="synced stays True", observed="synced=False")
        self._check_events(view)
        self._check_view(view)

    def _check_events(self, view: ClientView) -> None:
        """NoDuplicateEvents, for an iterator that keeps the contract's optional event record."""
        if view.events is None or self.plan.caps.cache:
            return
        for index in range(self.events_read, len(view.events)):
            e = view.events[index]
            key = (e.namespace, e.name, e.rv)
            if key in self.yielded:
                earlier = view.events[self.yielded[key]]
                self._violate(CG.NoDuplicateEvents, f"event {index} of the iterator",
                              f"{e.namespace}/{e.name} at RV {e.rv} was yielded before (event {self.yielded[key]})",
                              expected=f"one event for {e.namespace}/{e.name}@{e.rv}: {earlier.type}",
                              observed=f"{earlier.type} then {e.type}")
                break
            self.yielded[key] = index
        self.events_read = len(view.events)

    def _check_view(self, view: ClientView) -> None:
        if view.rv is None:
            return
        if not (isinstance(view.rv, str) and view.rv.isdigit()):
            raise ClientFault(f"client view().rv is {view.rv!r}; RVs are decimal strings")
        rv = int(view.rv)
        if self.claimed is not None and rv < self.claimed:
            self._violate(CG.NoTimeTravel, "the claimed RV", "went back",
                          expected=f"rv >= {self.claimed}", observed=f"rv={rv}")
        for key, o in view.objects.items():
            if o.rv < self.key_rvs.get(key, -1):
                self._violate(CG.NoTimeTravel, f"object {key[0]}/{key[1]}", "its RV went back",
                              expected=f"rv >= {self.key_rvs[key]}", observed=repr(o))
        self.claimed = max(rv, self.claimed or rv)
        for key, o in view.objects.items():
            self.key_rvs[key] = max(o.rv, self.key_rvs.get(key, -1))
        if rv > self.rv_now:
            self._violate(CG.ViewAtRV, f"the view at RV {rv}", "claims an RV the server never reached",
                          expected=f"rv <= {self.rv_now}", observed=f"rv={rv}")
        expected = self._state(rv)
        if dict(view.objects) != expected:
            self._violate(CG.ViewAtRV, f"the view at RV {rv}", "its objects differ from the true state at that RV",
                          expected=sorted(expected.values(), key=lambda o: (o.namespace, o.name)),
                          observed=sorted(view.objects.values(), key=lambda o: (o.namespace, o.name)))

    def _checkable(self) -> bool:
        if not self.plan.caps.observable_view:
            return False  # nothing to wait for: its view() never shows what its user sees
        w = self.watch
        return self.given_rv is not None or (w is not None and w.initial_phase and w.sent_initial > 0)

    @precondition(_checkable)
    @rule()
    def check_view(self):
        """Give the client time to take in what was sent, then compare (the invariant does).

        Waits, within a quarter of the budget, until the client claims the newest RV it was given;
        in the initial phase of a streaming list or RV-less watch, where a correct client shows
        nothing new, until its view changes (so a client that exposes initial events early is
        caught), or the quarter budget passes.
        """
        w = self.watch
        initial = w is not None and w.initial_phase
        first = self._view()
        deadline = time.monotonic() + HARNESS.wait_budget / 4
        while time.monotonic() < deadline:
            view = self._view()
            if not view.alive:
                break
            if initial and (view.synced != first.synced or dict(view.objects) != dict(first.objects)):
                break
            if not initial and view.rv == str(self.given_rv):
                break
            time.sleep(0.001)  # polling the client's own state, with a deadline

    # --- the end: Converges ----------------------------------------------------------------
    def teardown(self):
        try:
            if sys.exc_info()[1] is None and self.judging and CG.Converges in self.checked:
                self._settle()
        finally:
            self._stop()
        if self.failure is not None and sys.exc_info()[1] is None:
            raise self.failure

    def _settle(self) -> None:
        """The server turns honest and stops writing: the view must reach the final truth."""
        final = self._state(self.rv_now)
        rounds = 0
        deadline = time.monotonic() + self.plan.settle_wait
        while True:
            if self.pending is not None:
                rounds += 1
                if rounds > SETTLE_ROUNDS:
                    break
                self.respond(0, "ascending")
                deadline = time.monotonic() + self.plan.settle_wait
                continue
            if self.watch is not None:
                while self._send_one():
                    pass
                if self.watch.bookmarks and not self.watch.initial_phase and self.watch.position < self.rv_now:
                    self.send_bookmark(True)
            view = self._view()
            if not view.alive:
                return self._liveness(view, f"the client stopped after {self.last_fault}")
            if view.rv is not None and dict(view.objects) == final:
                self._check_view(view)
                return
            if time.monotonic() > deadline:
                break
            request = self.adversary.next_request(0.002)
            if request is not None:
                self._take(request)
        view = self._view()
        self._violate(CG.Converges, "the view at the end", f"not the final truth (RV {self.rv_now}) within "
                      f"{self.plan.settle_wait:.2f}s of the server turning honest (claimed rv={view.rv!r})",
                      expected=sorted(final.values(), key=lambda o: (o.namespace, o.name)),
                      observed=sorted(view.objects.values(), key=lambda o: (o.namespace, o.name)))

    def _stop(self) -> None:
        """Stop the adversary first (held requests answered 503, streams cut), so a client blocked
        in a read is released, then the client within 5 s."""
        client, self.client = self.client, None
        self.adversary.stop()
        if client is not None:
            started = time.monotonic()
            try:
                call_all("client stop()", 5.0, [client.stop])
            except BackendHang as hang:
                raise BackendHang(f"client stop() did not return within 5 s ({hang})") from None
            note(f"client stop() took {time.monotonic() - started:.3f}s")


def client_machine(factory: Callable[[], object], checked: frozenset[CG] | None = None) -> type[ClientMachine]:
    """The client machine bound to an adapter factory; ``checked`` limits the guarantees reported."""
    return type("ClientConformance", (ClientMachine,),
                {"factory": staticmethod(factory), "checked": frozenset(CG) if checked is None else checked,
                 "__module__": __name__})
