"""Which start RVs a backend must serve, may refuse, or must refuse.

With ``history=H``, a watch from the RV of any of the last H writes (or any RV between
them) must replay; older ones may replay fully or answer Expired. After ``compact(C)``:
a watch from N >= C replays (if also within H), N < C-1 must answer Expired, N = C-1 may
do either. Exact lists and continue tokens whose snapshot is older than C must answer
Expired.
"""

from __future__ import annotations

import enum

import attrs

from listwatch_conformance.model.history import History


class Start(enum.Enum):
    MUST_REPLAY = "must replay"
    EITHER = "may replay fully or answer Expired"
    MUST_EXPIRE = "must answer Expired"


@attrs.define
class Retention:
    history: int  # the backend's declared capabilities.history
    compacted: int | None = None  # the highest RV passed to compact()

    def compact(self, rv: int) -> None:
        self.compacted = rv if self.compacted is None else max(self.compacted, rv)

    def window_floor(self, log: History) -> float:
        """The lowest RV from which a watch must replay, by the declared history alone."""
        if self.history <= 0:
            return float("inf")
        if len(log.writes) > self.history:
            return log.rvs[-self.history]
        return log.lowest_seen_rv if log.lowest_seen_rv is not None else float("inf")

    def watch_from(self, rv: int, log: History) -> Start:
        """What a watch from ``rv`` (exclusive start) must do."""
        if self.compacted is not None and rv < self.compacted - 1:
            return Start.MUST_EXPIRE
        if rv >= self.window_floor(log) and (self.compacted is None or rv >= self.compacted):
            return Start.MUST_REPLAY
        return Start.EITHER

    def snapshot_at(self, rv: int, log: History) -> Start:
        """What an exact list, or a continue token, reading the snapshot at ``rv`` must do."""
        if self.compacted is not None and rv < self.compacted:
            return Start.MUST_EXPIRE
        if rv >= self.window_floor(log):
            return Start.MUST_REPLAY
        return Start.EITHER
