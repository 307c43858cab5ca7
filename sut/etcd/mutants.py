"""Known-bad etcd adapters: each makes one mistake real etcd clients have made; the suite must kill each.

- :class:`CompactionAsEmptyStream` ignores compaction: no retention check before a watch,
  and etcd's ``canceled`` + ``compact_revision`` answer is swallowed, so a watch from a
  compacted RV stays open and silent instead of raising Expired (etcd3gw's bug).
- :class:`ProgressBeforeEvents` forwards a progress answer as a BOOKMARK at once, ahead of
  events already received but not yet read (the etcd/kine progress-notify bug class).
"""

from __future__ import annotations

from sut.api import Event, EventType
from sut.etcd.backend import EtcdBackend, EtcdWatch


class _SilentOnCompaction(EtcdWatch):
    def _on_canceled(self, resp) -> None:
        if resp.compact_revision:
            return  # mutation: the compaction cancel is dropped; the stream just goes quiet
        super()._on_canceled(resp)


class CompactionAsEmptyStream(EtcdBackend):
    """Mutant: a watch from a compacted revision is an empty stream, not Expired."""

    watch_class = _SilentOnCompaction

    def _check_retained(self, rv: int) -> None:
        pass  # mutation: no check that etcd still has the start revision


class _EagerProgress(EtcdWatch):
    def on_progress(self, revision: int) -> None:
        if self.allow_bookmarks and revision >= self.floor:
            # mutation: the bookmark jumps ahead of the live events queued (after the initial ones, and
            # after any bookmark already queued: overtaking a bookmark would be a second bug)
            live = next((i for i, e in enumerate(self._out) if e.rv > self.floor), len(self._out))
            queued = max((i + 1 for i, e in enumerate(self._out) if e.type is EventType.BOOKMARK), default=0)
            self._out.insert(max(live, queued), Event(EventType.BOOKMARK, revision))


class ProgressBeforeEvents(EtcdBackend):
    """Mutant: progress answers become bookmarks ahead of events still queued."""

    watch_class = _EagerProgress
