"""The one setting every wait in the suite scales from.

``wait_budget`` is how long, in seconds, the suite waits for something a backend owes
(an event, a bookmark, a write to return). Raise it on slow machines or remote backends
with ``pytest --wait-budget SECONDS`` or the ``LISTWATCH_WAIT_BUDGET`` environment variable.
"""

from __future__ import annotations

import os

import attrs


@attrs.define
class HarnessSettings:
    wait_budget: float = float(os.environ.get("LISTWATCH_WAIT_BUDGET", "1.0"))

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
        return self.wait_budget / 200


HARNESS = HarnessSettings()
