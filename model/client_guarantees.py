"""The named guarantees of the client side of the list-watch contract (CLIENTS.md).

A client (an informer, a reflector, a watch iterator with the user code its documentation
shows) must turn whatever a correct server legally does into a correct view for its user.
Violations are reported with :class:`~listwatch_conformance.model.guarantees.Violation`, as
the server's are: the message starts with the guarantee's name, then what was checked, then
expected versus observed. ``Violation(ClientGuarantee.X, ...)`` is an ``XViolation``.
"""

from __future__ import annotations

import enum

from listwatch_conformance.model.guarantees import VIOLATIONS, Violation


class ClientGuarantee(enum.Enum):
    """Each member's value is its one-sentence meaning."""

    ViewAtRV = "whenever the client claims RV X, its objects equal the true filtered state at X"
    NoTimeTravel = "the claimed RV never goes back, and no object's RV in the view ever goes back"
    Converges = "once the server stops faulting and writing, the view reaches the final truth within the budget"
    ResumeFromLastSeen = ("a plain watch resumes from the newest RV the client was given by a live event, a "
                          "bookmark or a completed (streaming) list; never older, never a synthetic ADDED's")
    NoRetryAtExpiredRV = "after a 410 for a watch from RV r, the client never watches from r (or below the compaction) again"
    TooLargeFallsBack = ("after 'too large resource version' for RV r, the next (streaming) list is a consistent read "
                         "(RV unset), or the same request again honouring the 504's Retry-After (at most 10 times)")
    BoundedRetries = "under a persistent fault the client makes at most 25 requests in 5 s"
    RobustFraming = "a truncated line, a blank line or an in-stream error never reaches the user and never ends the loop"
    StaysAlive = "after any legal server behaviour the client is still watching (or its documented user restart is)"
    WatchListSync = ("synced only after a complete initial state (the initial-events-end bookmark or a list); a cut "
                     "streaming list restarts, never a plain watch from the unfinished initial phase")
    NoDuplicateEvents = "an event iterator never yields the same (key, RV) event twice"

    @property
    def meaning(self) -> str:
        return self.value


# What the request log alone shows: all that is judged for a client whose view cannot be observed
# (ClientCapabilities.observable_view False, e.g. kubectl wait).
REQUEST_LEVEL = frozenset({ClientGuarantee.ResumeFromLastSeen, ClientGuarantee.NoRetryAtExpiredRV,
                           ClientGuarantee.TooLargeFallsBack, ClientGuarantee.WatchListSync,
                           ClientGuarantee.BoundedRetries})

VIOLATIONS.update({
    g: type(f"{g.name}Violation", (Violation,), {"__module__": __name__, "__doc__": g.meaning})
    for g in ClientGuarantee
})

