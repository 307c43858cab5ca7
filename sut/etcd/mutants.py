"""Known-bad etcd adapters: each makes one mistake real etcd clients have made; the suite must kill each.

- :class:`CompactionAsEmptyStream` ignores compaction: no retention check before a watch,
  and etcd's ``canceled`` + ``compact_revision`` answer is swallowed, so a watch from a
  compacted RV stays open and silent instead of raising Expired (etcd3gw's bug).
- :class:`ProgressBeforeEvents` forwards a progress answer as a BOOKMARK at once, ahead of
  events already received but not yet read (the etcd/kine progress-notify bug class).

Cluster mutants, on ``--sut etcd-cluster``'s backend; only the fault machine's member
crashes (``restart_server``) show them, so tests/test_etcd_mutants.py runs that machine:

- :class:`RecreateAfterCrash`: a watch whose member dies resumes by itself on the next
  member by sending its original create request again, so it restarts from the revision it
  first started at and every event it already received comes twice (a retry wrapper that
  replays the request instead of resuming after the last revision received).
- :class:`SilentAfterCrash`: a watch whose member dies swallows the error and stays open
  with nothing more to say, instead of ending with WatchClosed.
- :class:`ClosesEveryWatchOnCrash`: one member's crash ends every watch of the backend,
  those on the surviving members too (a client tearing down all streams on one error).
"""

from __future__ import annotations

import queue

from aetcd.rpc import rpc_pb2
from listwatch_conformance.sut.api import Event, EventType
from listwatch_conformance.sut.etcd import EtcdClusterBackend
from listwatch_conformance.sut.etcd.backend import EtcdBackend, EtcdWatch

MEMBER_LOST = "watch stream failed: UNAVAILABLE"


class _SilentOnCompaction(EtcdWatch):
    _silenced = False

    def _on_canceled(self, resp) -> None:
        if resp.compact_revision:
            self._silenced = True
            return  # mutation: the compaction cancel is dropped; the stream just goes quiet
        super()._on_canceled(resp)

    def _caught_up(self, revision: int) -> bool:
        # etcd canceled this watch: nothing more will arrive, so compact() must not wait for it
        # (the bug is the silence the client sees, not a compact() that hangs behind it)
        return self._silenced or super()._caught_up(revision)


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


def _requests_from(requests: queue.Queue):
    while (request := requests.get()) is not None:
        yield request


class _Recreate(EtcdWatch):
    def _read(self) -> None:
        while True:
            reason = self._consume(self._call)
            with self._cond:
                if self._stopping or not reason.startswith(MEMBER_LOST) or self._ended is not None:
                    break
                # mutation: the original request again, not one from self._last_event_rv + 1
                self._created = False
                old, self._requests = self._requests, queue.Queue()
                old.put(None)
                self._requests.put(rpc_pb2.WatchRequest(create_request=self._create_request()))
                self.member = (self.member + 1) % len(self._backend.members)
                self._call = self._backend._member_watch_stubs[self.member].Watch(_requests_from(self._requests))
        self._end(reason)


class RecreateAfterCrash(EtcdClusterBackend):
    """Mutant: a watch whose member died starts again on another member from its first start revision."""

    watch_class = _Recreate


class _Silent(EtcdWatch):
    lost = False

    def _read(self) -> None:
        reason = self._consume(self._call)
        if reason.startswith(MEMBER_LOST):
            self.lost = True  # mutation: the lost stream is swallowed; the watch stays open and silent
        else:
            self._end(reason)

    def wait_progress_answer(self, answered: int, revision: int, deadline: float) -> None:
        if not self.lost:  # (a lost stream answers nothing: do not wait for it, only for speed)
            super().wait_progress_answer(answered, revision, deadline)


class SilentAfterCrash(EtcdClusterBackend):
    """Mutant: a watch whose member died stays open and silent instead of ending with WatchClosed."""

    watch_class = _Silent


class _EndsAll(EtcdWatch):
    def _read(self) -> None:
        reason = self._consume(self._call)
        self._end(reason)
        if reason.startswith(MEMBER_LOST):
            for other in self._backend.open_watches():
                other._end(f"another watch's stream failed ({reason})")  # mutation: ends the healthy ones too


class ClosesEveryWatchOnCrash(EtcdClusterBackend):
    """Mutant: one member's crash ends every watch, those on the surviving members too."""

    watch_class = _EndsAll
