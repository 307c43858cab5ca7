"""The named guarantees of the list-watch contract, and the violation that reports one.

Every failure message starts with the guarantee's name, then what was checked (a watch
or a list), then expected versus observed.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence


class Guarantee(enum.Enum):
    """Each member's value is its one-sentence meaning."""

    Ordered = "events arrive in increasing RV order"
    Unique = "no event is delivered twice"
    Reliable = "no event is skipped: every write that concerns the watch is delivered"
    ExclusiveStart = "a watch from RV N delivers only events with RV > N"
    ExpiredNotPartial = "history that is gone is answered with Expired, never with a partial replay"
    Retention = "watches from RVs within the declared history (and not compacted) replay instead of Expired"
    FilterTransitions = "selector entry is ADDED, stay is MODIFIED, exit is DELETED with the previous object"
    DeleteCarriesDeleteRV = "a DELETED event carries the RV of the write that removed the object"
    NamespaceIsolation = "a namespaced watch or list sees exactly its own namespace"
    SelectorSemantics = "label and field selectors match as Kubernetes defines them"
    InitialState = "a watch without a start RV begins with the state at one RV r0 as ADDED events"
    InitialEventsEnd = "initial events end with one bookmark at r0 marked initial-events-end"
    ListConsistent = "a list returns the filtered state at its RV, no older than its RV request allows"
    ListExact = "an exact list returns the state at exactly the requested RV"
    PaginationSnapshot = "pages of one list share one snapshot, without duplicates or gaps"
    Bookmarkable = "a bookmark at b means every event up to b was delivered and no later write gets RV <= b"
    BookmarkMonotonic = "bookmark RVs never decrease nor fall below the watch's start"
    ProgressLiveness = "after request_progress every bookmark-enabled watch gets a bookmark at or past the last write"
    Resumable = "a watch resumed from the last RV seen continues without gap or duplicate"
    ConcurrentWatchersAgree = "watches that see the same write get the same object for it"
    Liveness = "expected events arrive within the wait budget, and a consumer that keeps up is not cut off"
    WriteAcknowledged = "writes get strictly increasing RVs and fail exactly when they must"

    @property
    def meaning(self) -> str:
        return self.value


class Violation(AssertionError):
    """A broken guarantee, with the subject checked and both sides of the disagreement.

    ``Violation(guarantee, ...)`` makes an instance of the guarantee's own subclass (for
    example ``ReliableViolation``), so test runners keep distinct guarantees apart.
    """

    def __new__(cls, guarantee: Guarantee, *args: object, **kwargs: object) -> Violation:
        return super().__new__(VIOLATIONS[guarantee] if cls is Violation else cls)

    def __init__(
        self,
        guarantee: Guarantee,
        subject: str,
        problem: str,
        *,
        expected: object = None,
        observed: object = None,
        context: Sequence[object] = (),
    ):
        self.guarantee = guarantee
        self.subject = subject
        self.problem = problem
        self.expected = expected
        self.observed = observed
        self.context = tuple(context)
        super().__init__(self.render())

    @property
    def expected_text(self) -> str:
        return _show(self.expected)

    @property
    def observed_text(self) -> str:
        return _show(self.observed)

    def render(self) -> str:
        lines = [f"{self.guarantee.name}: {self.subject}: {self.problem}"]
        lines.append(f"  expected: {self.expected_text}")
        lines.append(f"  observed: {self.observed_text}")
        if self.context:
            lines.append(f"  delivered before (oldest first): {_show(list(self.context))}")
        lines.append(f"  ({self.guarantee.name}: {self.guarantee.meaning})")
        return "\n".join(lines)


VIOLATIONS: dict[Guarantee, type[Violation]] = {
    g: type(f"{g.name}Violation", (Violation,), {"__module__": __name__, "__doc__": g.meaning}) for g in Guarantee
}


def _show(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(repr(v) for v in value) + "]" if value else "[] (nothing)"
    if value is None:
        return "nothing"
    return value if isinstance(value, str) else repr(value)
