"""What one list (and each page of a paginated list) must return.

``rv=None`` reads a snapshot not older than the last acknowledged write; ``rv=0`` any
snapshot; ``rv=N`` a snapshot at RV >= N, or exactly N with ``match="Exact"``. In every
case ``items`` is the filtered state at ``page.rv``, ascending by (namespace, name). The
pages of one paginated list share one snapshot: same RV, no duplicates, no gaps. ``limit=0``
means no limit, as in Kubernetes (the apiserver paginates only for ``limit > 0``). An
exact RV or continue token whose snapshot is older than compaction must answer Expired;
one outside the declared history may; a list at an RV beyond every RV the backend handed
out may answer with an error ("too large resource version").
"""

from __future__ import annotations

import attrs

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.model.history import History
from listwatch_conformance.model.objects import ADDED, MODIFIED, Obj
from listwatch_conformance.model.retention import Retention, Start
from listwatch_conformance.model.selectors import Filter

EXACT = "Exact"


@attrs.frozen
class ListSpec:
    filter: Filter
    rv: int | None = None
    match: str | None = None
    limit: int | None = None
    label: str = "list"

    def describe(self) -> str:
        parts = [self.filter.describe(), f"rv={self.rv!r}"]
        if self.match:
            parts.append(f"match={self.match!r}")
        if self.limit is not None:
            parts.append(f"limit={self.limit}")
        return f"{self.label} ({', '.join(parts)})"


class ListModel:
    """Checks the pages of one list request as they come back."""

    def __init__(self, spec: ListSpec, log: History, retention: Retention, peers: list | None = None):
        self.spec, self.log, self.retention = spec, log, retention
        # the other lists and watches on the same backend (ListModel, WatchModel): evidence that the
        # backend matches objects lacking a label that a selector negates
        self.peers = peers or []
        self.matched_trap = False  # a page held an object lacking a label its selector negates
        self.subject = spec.describe()
        self.last_rv_at_call = log.last_rv
        self.max_rv_at_call = log.max_handed_out
        self.snapshot_rv: int | None = None
        self.position = 0
        self.pages = 0

    @property
    def guarantee(self) -> G:
        return G.ListExact if self.spec.match == EXACT else G.ListConsistent

    def _violation(self, guarantee: G, problem: str, expected: object, observed: object) -> Violation:
        return Violation(guarantee, self.subject, problem, expected=expected, observed=observed)

    def _expected_items(self, rv: int) -> list[Obj]:
        flt = self.spec.filter
        return sorted((o for o in self.log.state_at(rv).values() if flt.matches(o)), key=lambda o: o.key)

    # --- the first page -------------------------------------------------------------
    def first_page(self, rv: int, items: tuple[Obj, ...], continue_token: str | None) -> None:
        spec = self.spec
        if spec.rv is None and rv < self.last_rv_at_call:
            raise self._violation(G.ListConsistent, "stale snapshot for a consistent list",
                                  f"page RV >= {self.last_rv_at_call} (the last acknowledged write)", f"page RV {rv}")
        if spec.rv and spec.match == EXACT and rv != spec.rv:
            raise self._violation(G.ListExact, "snapshot is not at the requested RV",
                                  f"page RV {spec.rv}", f"page RV {rv}")
        if spec.rv and spec.match != EXACT and rv < spec.rv:
            raise self._violation(G.ListConsistent, "snapshot older than the requested RV",
                                  f"page RV >= {spec.rv}", f"page RV {rv}")
        if spec.match == EXACT and self.retention.snapshot_at(rv, self.log) == Start.MUST_EXPIRE:
            raise self._violation(G.ListExact, f"served RV {rv}, older than compaction at {self.retention.compacted}",
                                  "Expired", f"a page at RV {rv}")
        self.log.promise_rv(rv, G.ListConsistent, self.spec.label, returned=True)
        self.snapshot_rv = rv
        self._check_items(items, continue_token, self.guarantee)

    def first_failed(self, expired: bool) -> None:
        """The first call raised Expired (``expired``) or another ListWatchError."""
        spec, rv = self.spec, self.spec.rv
        if expired:
            if spec.match == EXACT and self.retention.snapshot_at(rv, self.log) != Start.MUST_REPLAY:
                return
            raise self._violation(self.guarantee, "Expired for a snapshot the backend must serve",
                                  f"the state at RV {rv}" if rv else "a current snapshot", "Expired")
        if rv and rv > self.max_rv_at_call:
            return  # "too large resource version" is allowed for an RV never handed out
        raise self._violation(self.guarantee, "list refused", "a page", "ListWatchError")

    # --- continue pages -------------------------------------------------------------
    def next_page(self, rv: int, items: tuple[Obj, ...], continue_token: str | None) -> None:
        if rv != self.snapshot_rv:
            raise self._violation(G.PaginationSnapshot, "continue page from another snapshot",
                                  f"page RV {self.snapshot_rv}", f"page RV {rv}")
        if self.retention.snapshot_at(rv, self.log) == Start.MUST_EXPIRE:
            raise self._violation(G.PaginationSnapshot,
                                  f"continue token accepted for snapshot {rv}, older than compaction at "
                                  f"{self.retention.compacted}", "Expired", f"a page at RV {rv}")
        self._check_items(items, continue_token, G.PaginationSnapshot)

    def next_failed(self, expired: bool) -> None:
        if expired and self.retention.snapshot_at(self.snapshot_rv, self.log) != Start.MUST_REPLAY:
            return
        raise self._violation(G.PaginationSnapshot, "continue token refused while its snapshot is retained",
                              f"the next page of the snapshot at RV {self.snapshot_rv}",
                              "Expired" if expired else "ListWatchError")

    # --- a selector blamed for missing objects ----------------------------------------
    def probe_wanted(self, violation: Violation) -> bool:
        """Whether the same list without its label selector could rename ``violation``: a first page
        blamed on the selector for leaving objects out. A page from a stale snapshot leaves out the
        objects written since as well, and an object lacking a label that ``!=`` negates looks the same."""
        return (violation.guarantee is G.SelectorSemantics and bool(self.spec.filter.label_selector)
                and self.pages == 0 and isinstance(violation.expected, list) and isinstance(violation.observed, list)
                and any(o not in violation.observed for o in violation.expected))

    def refine_with_probe(self, violation: Violation, unselected: tuple[Obj, ...]) -> Violation:
        """Rename ``violation`` once the same list without the label selector returned ``unselected``:
        if that misses the objects too, the page is stale, not the selector wrong."""
        missing = [o for o in violation.expected if o not in violation.observed]
        if any(o in unselected for o in missing):
            return violation
        return self._violation(self.guarantee, f"items at RV {self.snapshot_rv}: objects missing, and the same list "
                               f"without the label selector misses them too: {missing}",
                               violation.expected, violation.observed)

    # --- items ----------------------------------------------------------------------
    def _check_items(self, items: tuple[Obj, ...], continue_token: str | None, guarantee: G) -> None:
        limit = self.spec.limit or None  # limit=0 asks for no limit, as in Kubernetes (and every backend here)
        if limit is not None and len(items) > limit:
            raise self._violation(G.PaginationSnapshot, f"{len(items)} items on a page with limit {limit}",
                                  f"at most {limit} items", list(items))
        expected_all = self._expected_items(self.snapshot_rv)
        start = self.position
        expected = expected_all[start:start + len(items)] if continue_token else expected_all[start:]
        if list(items) != expected:
            raise self._explain(items, expected, guarantee, start, continue_token)
        self.position += len(items)
        self.pages += 1
        self.matched_trap = self.matched_trap or any(self.spec.filter.absent_label_trap(o) for o in items)

    def _other_snapshot(self, items: tuple[Obj, ...], start: int, continue_token: str | None) -> int | None:
        """The RV of another snapshot that this continue page is read from, if one explains it: the
        objects after the previous page's last one, filtered, in that snapshot."""
        previous = self._expected_items(self.snapshot_rv)[:start]
        after = previous[-1].key if previous else None
        for rv in reversed(self.log.rvs):
            if rv == self.snapshot_rv:
                continue
            later = [o for o in self._expected_items(rv) if after is None or o.key > after]
            if (later[:len(items)] if continue_token else later) == list(items):
                return rv
        return None

    def _trap_matched_elsewhere(self) -> bool:
        for peer in self.peers:
            if getattr(peer, "matched_trap", False):
                return True
            flt = peer.spec.filter
            if any(e.obj is not None and e.type in (ADDED, MODIFIED) and flt.absent_label_trap(e.obj)
                   for e in getattr(peer, "delivered", ())):
                return True
        return False

    def _explain(self, items: tuple[Obj, ...], expected: list[Obj], guarantee: G, start: int,
                 continue_token: str | None = None) -> Violation:
        flt = self.spec.filter
        where = f"items at RV {self.snapshot_rv}" + (f" from position {start}" if start else "")
        for obj in items:
            if not flt.in_scope(obj):
                return self._violation(G.NamespaceIsolation, f"{where}: object from outside namespace "
                                       f"{flt.namespace!r}", expected, list(items))
        extra = [o for o in items if o not in expected]
        missing = [o for o in expected if o not in items]
        wrongly_in = extra and all(flt.in_scope(o) and not flt.matches(o) for o in extra) and not missing
        trap_missing = missing and all(flt.absent_label_trap(o) for o in missing) and not extra
        if wrongly_in or trap_missing:
            # a stale page explains it too: the continue page of a list (whose first page was right),
            # or any page once the backend was seen matching such objects elsewhere
            stale = self.pages or (trap_missing and self._trap_matched_elsewhere())
            other = self._other_snapshot(items, start, continue_token) if stale else None
            if other is not None:  # the selector is right; the page is from the wrong snapshot
                return self._violation(guarantee, f"{where}: the page is the state at RV {other}", expected,
                                       list(items))
            return self._violation(G.SelectorSemantics, f"{where}: selector matched wrongly", expected, list(items))
        if list(items) != sorted(items, key=lambda o: o.key):
            return self._violation(guarantee, f"{where}: not sorted by (namespace, name)", expected, list(items))
        return self._violation(guarantee, f"{where}: differ from the filtered state", expected, list(items))
