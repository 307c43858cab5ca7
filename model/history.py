"""The write log: every acknowledged write in RV order, the state at any RV, and RV promises.

RVs are learned from the backend, never predicted. The state at an RV is the state after
the last write at or below it. An RV the backend hands out beyond every acknowledged write
(a list's RV, a bookmark) is a promise that every later write gets a higher RV.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

import attrs

from listwatch_conformance.model.guarantees import Guarantee, Violation
from listwatch_conformance.model.objects import Key, Obj


@attrs.frozen
class Write:
    """An acknowledged write: ``prev`` is the object before it, ``new`` after it (None: deleted)."""

    rv: int
    key: Key
    prev: Obj | None
    new: Obj | None

    @property
    def verb(self) -> str:
        return "create" if self.prev is None else "delete" if self.new is None else "update"

    def __repr__(self) -> str:
        return f"{self.verb} {self.key[0]}/{self.key[1]}@{self.rv}"


@attrs.frozen
class Promise:
    rv: int
    guarantee: Guarantee
    origin: str


class History:
    """Acknowledged writes in RV order, with per-key versions for state lookups in O(keys * log n)."""

    def __init__(self) -> None:
        self.writes: list[Write] = []
        self.rvs: list[int] = []
        self.current: dict[Key, Obj] = {}
        self._versions: dict[Key, tuple[list[int], list[Obj | None]]] = {}
        self.promise: Promise | None = None  # the highest RV handed out beyond the writes
        # RVs the backend returned from calls (writes, lists), not those seen on streams: what the
        # harness derives from these (future RVs, the history window) must not depend on how far
        # an asynchronous stream happened to be read, or the same program would differ on replay
        self.lowest_seen_rv: int | None = None
        self.highest_returned_rv = -1

    # --- learning -----------------------------------------------------------------
    def acknowledge(self, writes: Iterable[tuple[int, Key, Obj | None]]) -> list[Write]:
        """Record writes acknowledged together (a burst) or alone; ``Obj | None`` is the new state.

        Raises WriteAcknowledged when an RV does not exceed every earlier RV, or a promise
        (bookmark, list RV) when a write lands at or below an RV already handed out.
        """
        batch = sorted(writes, key=lambda w: w[0])
        done, problem = [], None
        for (rv_a, key_a, _), (rv_b, key_b, _) in zip(batch, batch[1:]):
            if rv_a == rv_b and problem is None:
                problem = Violation(
                    Guarantee.WriteAcknowledged, "concurrent writes", f"two writes acknowledged with RV {rv_a}",
                    expected="distinct RVs", observed=f"{key_a} and {key_b} both at {rv_a}",
                )
        for rv, key, new in batch:
            if problem is None:
                problem = self._check_rv(rv, key)
            write = Write(rv, key, self.current.get(key), new)
            self._append(write)
            done.append(write)
        if problem is not None:
            raise problem  # after recording the writes, so the log stays complete
        return done

    def _check_rv(self, rv: int, key: Key) -> Violation | None:
        if self.rvs and rv <= self.rvs[-1]:
            return Violation(
                Guarantee.WriteAcknowledged, f"write to {key[0]}/{key[1]}",
                "RV does not exceed the previous write's RV",
                expected=f"RV > {self.rvs[-1]} ({self.writes[-1]!r})", observed=f"RV {rv}",
            )
        if self.promise is not None and rv <= self.promise.rv:
            p = self.promise
            return Violation(
                p.guarantee, f"write to {key[0]}/{key[1]}",
                f"acknowledged at RV {rv}, at or below RV {p.rv} already handed out by {p.origin}",
                expected=f"RV > {p.rv}", observed=f"RV {rv}",
            )
        return None

    def _append(self, write: Write) -> None:
        self.writes.append(write)
        self.rvs.append(write.rv)
        if write.new is None:
            self.current.pop(write.key, None)
        else:
            self.current[write.key] = write.new
        rvs, objs = self._versions.setdefault(write.key, ([], []))
        rvs.append(write.rv)
        objs.append(write.new)
        self.saw_rv(write.rv)

    def saw_rv(self, rv: int) -> None:
        """Note an RV a call returned."""
        if self.lowest_seen_rv is None or rv < self.lowest_seen_rv:
            self.lowest_seen_rv = rv
        self.highest_returned_rv = max(self.highest_returned_rv, rv)

    def promise_rv(self, rv: int, guarantee: Guarantee, origin: str, *, returned: bool = False) -> None:
        """Note that the backend handed out ``rv`` (``returned``: as a call's answer, not on a
        stream); beyond the last write, it binds every later write."""
        if returned:
            self.saw_rv(rv)
        if rv > self.last_rv and (self.promise is None or rv > self.promise.rv):
            self.promise = Promise(rv, guarantee, origin)

    # --- reading ------------------------------------------------------------------
    @property
    def last_rv(self) -> int:
        """RV of the last acknowledged write, or -1 before any."""
        return self.rvs[-1] if self.rvs else -1

    @property
    def max_handed_out(self) -> int:
        """The highest RV a call returned (streams not counted, see ``highest_returned_rv``)."""
        return max(self.last_rv, self.highest_returned_rv)

    def count_at(self, rv: int) -> int:
        """How many writes have RV <= rv: the state at ``rv`` is the state after that many writes."""
        return bisect.bisect_right(self.rvs, rv)

    def rv_before(self, k: int) -> int | None:
        """RV of write k-1 (the write that produced the state after k writes), None for k=0."""
        return self.rvs[k - 1] if k > 0 else None

    def rv_after(self, k: int) -> int | None:
        """RV of write k (the first write not in the state after k writes), None if not yet written."""
        return self.rvs[k] if k < len(self.rvs) else None

    def write_at(self, rv: int) -> Write | None:
        i = bisect.bisect_left(self.rvs, rv)
        return self.writes[i] if i < len(self.rvs) and self.rvs[i] == rv else None

    def object_at(self, key: Key, k: int) -> Obj | None:
        """The object ``key`` in the state after the first ``k`` writes."""
        versions = self._versions.get(key)
        if not versions or k <= 0:
            return None
        limit = self.rvs[k - 1]
        i = bisect.bisect_right(versions[0], limit)
        return versions[1][i - 1] if i else None

    def state_after(self, k: int) -> dict[Key, Obj]:
        """The whole state after the first ``k`` writes."""
        if k >= len(self.writes):
            return dict(self.current)
        state = {}
        for key in self._versions:
            obj = self.object_at(key, k)
            if obj is not None:
                state[key] = obj
        return state

    def state_at(self, rv: int) -> dict[Key, Obj]:
        return self.state_after(self.count_at(rv))
