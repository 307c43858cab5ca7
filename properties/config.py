"""The one setting every wait in the suite scales from.

``wait_budget`` is how long, in seconds, the suite waits for something a backend owes
(an event, a bookmark, a write to return). Raise it on slow machines or remote backends
with ``pytest --wait-budget SECONDS`` or the ``LISTWATCH_WAIT_BUDGET`` environment variable.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import attrs


@attrs.define
class HarnessSettings:
    wait_budget: float = float(os.environ.get("LISTWATCH_WAIT_BUDGET", "1.0"))
    # below 1 only while a campaign shrinks a failure (see properties.campaign): what is owed and the quiet
    # period for late extras are waited for this fraction; the shrunk program is then confirmed at the full budget
    owed_wait_scale: float = 1.0
    # a campaign's hook, called just before the machine raises a failing example's violation, with
    # whether it was found by waiting for something owed that never came
    on_failure: Callable[[object, bool], None] | None = None

    @property
    def owed_wait(self) -> float:
        """How long the machine waits for what a watch owes (events, bookmarks) before calling it missing."""
        return self.wait_budget * self.owed_wait_scale

    @property
    def unchecked_owed_wait(self) -> float:
        """How long it waits when what is owed would only break a guarantee that is not checked."""
        return self.owed_wait / 20

    @property
    def poll_interval(self) -> float:
        """How long one next() call may block while waiting: short, so deadlines stay sharp."""
        return min(0.1, self.wait_budget)

    @property
    def call_deadline(self) -> float:
        """How long a backend call (a write, list, watch, compaction...) may take before it is
        reported as hung; ``next(timeout)`` gets ``timeout`` plus the wait budget."""
        return self.wait_budget * 10

    @property
    def lifecycle_deadline(self) -> float:
        """How long the factory and close() may take: they may start or stop a server."""
        return self.wait_budget * 30

    @property
    def quiet_period(self) -> float:
        """How long a stream must stay silent before the suite concludes nothing more is coming."""
        return self.wait_budget * self.owed_wait_scale / 200


HARNESS = HarnessSettings()
