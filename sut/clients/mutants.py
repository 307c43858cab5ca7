"""The client zoo: mutants of the reference reflector, one realistic bug each.

Each mutant is a :class:`~listwatch_conformance.sut.clients.reflector.Reflector` subclass that
changes one decision; its docstring names the bug and the real client (REFERENCE-clients.md)
that has it. ``MUTANTS`` maps each factory to the guarantees that may name it (the first broken
guarantee the search meets), for ``tests/test_client_mutants.py``; ``NoBackoff`` breaks only
BoundedRetries, which the machine does not check (``tests/test_client_bounded_retries.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from listwatch_conformance.model.client_guarantees import ClientGuarantee as CG
from listwatch_conformance.sut.clients.api import EventRecord
from listwatch_conformance.sut.clients.reflector import TEST_SIZED, Reflector, StatusError
from urllib3.exceptions import ReadTimeoutError

from listwatch_conformance.sut.kube import wire

FAST = TEST_SIZED


class ResumeFromListRV(Reflector):
    """Every watch starts from the last list's RV, not from the last event or bookmark: a replay."""

    def list(self) -> None:
        super().list()
        self.list_rv = self._last_sync

    def watch_rv(self) -> str:
        return getattr(self, "list_rv", None) or super().watch_rv()


class RetrySameRVAfterExpired(Reflector):
    """An in-stream 410 is retried as a watch at the same RV (kr8s D1, the official Watch.stream's
    retry-once D13): the expired RV is watched again."""

    def on_watch_error(self, error: StatusError, count: int) -> int:
        if error.expired:
            return count + 1  # as a clean end: re-watch from the last RV
        return super().on_watch_error(error, count)


class HttpGoneKeepsRV(Reflector):
    """An HTTP 410 on the watch request is retried at the same RV (lightkube D4)."""

    def open_watch(self, params: dict[str, str]) -> Iterator[bytes]:
        while True:
            try:
                return super().open_watch(params)
            except StatusError as exc:
                if not exc.expired:
                    raise
                self.backoff()


class RvLessRewatch(Reflector):
    """After a 410 the client watches without an RV instead of relisting (lightkube D12): the fresh
    initial ADDEDs are folded into the store, which keeps objects deleted in the gap."""

    expired = False

    def on_watch_error(self, error: StatusError, count: int) -> int:
        if error.expired:
            self.expired = True
            return count + 1
        return super().on_watch_error(error, count)

    def watch_rv(self) -> str:
        return "" if self.expired else super().watch_rv()


class PartialLineRaises(Reflector):
    """The incomplete last line of a cut stream is decoded, and the decode error escapes the loop
    (kr8s, lightkube, kopf: D10): the client stops."""

    survived = (StatusError, OSError, ValueError)  # a WireError (the decode failed) escapes

    def partial_line(self, buffer: bytes) -> Iterator[bytes]:
        return iter([buffer] if buffer.strip() else [])


class InStreamErrorStops(Reflector):
    """A non-410 in-stream ERROR (500 InternalError) ends the client for good (kopf D7,
    client-node without the documented restart D14)."""

    survived = (StatusError, OSError, ValueError)

    def on_watch_error(self, error: StatusError, count: int) -> int:
        if not (error.expired or error.code == 429):
            raise RuntimeError(f"watch failed: {error}")
        return super().on_watch_error(error, count)


class RelistKeepsVanished(Reflector):
    """A relist merges into the store instead of replacing it: objects deleted while the client was
    not watching stay forever (kopf's indices D8, ManageIQ/kubeclient #599)."""

    def replace(self, objects, rv: str) -> None:
        with self._lock:
            self._store.update({(o.namespace, o.name): o for o in objects})
            self._last_sync = rv
            self._synced = True


class TooLargeRetriedSameRV(Reflector):
    """"Too large resource version" is retried at the same RV (Kubernetes #107133)."""

    def on_list_unavailable(self, rv: str) -> None:
        if rv and rv != "0":
            self.backoff()  # keeps _unavailable False: the next list asks for the same RV
        else:
            super().on_list_unavailable(rv)


class StaleRelistAtZero(Reflector):
    """Every relist asks for RV "0" (any cached state) instead of the last synced RV: a lagging
    cache takes the view back in time (Kubernetes #59848)."""

    def relist_rv(self) -> str:
        return "" if self._unavailable else "0"


class BookmarkNotRecorded(Reflector):
    """Bookmarks are read but their RV is not recorded: the next watch resumes from the last event,
    replaying what the bookmark covered (and expiring sooner)."""

    def apply(self, kind: str, obj: dict) -> None:
        if kind != "BOOKMARK":
            super().apply(kind, obj)


class SyncedBeforeEndBookmark(Reflector):
    """With the streaming list, the store is filled and synced reported as initial events arrive,
    before the initial-events-end bookmark (kopf's initial streaming, D6)."""

    def initial_event(self, temp, kind: str, obj: dict) -> None:
        super().initial_event(temp, kind, obj)
        with self._lock:
            self._synced = True


class ResumeFromSyntheticAdded(Reflector):
    """A streaming list cut before its end bookmark is resumed as a plain watch from the newest
    synthetic ADDED's RV (client-go before PR #136583; kopf D6, lightkube and Watch.stream D5)."""

    def initial_event(self, temp, kind: str, obj: dict) -> None:
        super().initial_event(temp, kind, obj)
        o = self.to_object(obj, "initial event")
        self.synthetic_rv = max(o.rv, getattr(self, "synthetic_rv", 0))

    def after_cut_streaming_list(self):
        rv = getattr(self, "synthetic_rv", 0)
        if not rv:
            return None
        with self._lock:
            self._last_sync = str(rv)
        return self.open_watch(self.watch_params(str(rv)))


class BlankLineRaises(Reflector):
    """Every line is decoded, blank ones too, and the decode error escapes the loop (kr8s's
    ``json.loads`` on every line; D10): a legal blank line stops the client."""

    survived = (StatusError, OSError, ValueError)  # a WireError (the decode failed) escapes

    def decode(self, line: bytes) -> tuple[str, dict]:
        return wire.parse_event(line, "watch")

    def handle_watch(self, lines) -> int:
        return super().handle_watch(line if line.strip() else b"{}" for line in lines)


class UnsyncsOnRelist(Reflector):
    """The has-synced signal is cleared while a relist runs (client-go's HasSynced stays true)."""

    def list(self) -> None:
        with self._lock:
            self._synced = False
        super().list()


class SelectorDroppedOnRelist(Reflector):
    """The label selector is sent on the first list and on watches, but a relist forgets it: objects
    outside the selector enter the store (a list-options copy that drops the selector, as in
    client-go's tweakListOptions misuse)."""

    def list_params(self, rv: str, limit: int = 0) -> dict[str, str]:
        params = super().list_params(rv, limit)
        if getattr(self, "listed", False):
            params.pop("labelSelector", None)
        self.listed = True
        return params


class DropsContinuePage(Reflector):
    """The first page of a list is taken as the whole list: ``metadata.continue`` is ignored, so
    everything past the page is missing (a pager that reads only one page)."""

    def get_json(self, params: dict[str, str]) -> dict:
        doc = super().get_json(params)
        (doc.get("metadata") or {}).pop("continue", None)
        return doc


class SilenceIsFatal(Reflector):
    """Reads have a short timeout (0.12 s, under the 1 s wait budget's stalls; like the official
    client's ``_request_timeout`` passed to a watch) and a read timeout ends the loop: a slow answer or a
    silence with no bookmark kills the client."""

    read_timeout = 0.12
    survived = (StatusError, ValueError)  # a timed-out read escapes the loop

    def on_stream_error(self, exc: BaseException) -> None:
        if isinstance(exc, (ReadTimeoutError, TimeoutError)):
            raise RuntimeError(f"watch read timed out: {exc}")


class RelistReplaysAdded(Reflector):
    """An iterator that, on every (re)list, yields ADDED for each listed object, also those its user
    already got (list-then-watch helpers that turn a list into ADDED events each time): after a relist
    the user sees the same (key, RV) twice."""

    def record_replace(self, objects, rv: str) -> None:
        self._events.extend(EventRecord("ADDED", o.namespace, o.name, o.rv) for o in objects)


class NoBackoff(Reflector):
    """Never sleeps between attempts: a hot loop under a persistent fault (D2, D3)."""

    def backoff(self) -> None:
        if self._stop.is_set():
            from listwatch_conformance.sut.clients.reflector import Stopped
            raise Stopped()


def _fast(cls: type[Reflector], **kwargs):
    """A factory of ``cls`` with test-sized backoff, registered as this module's ``snake_case``
    name, so ``pytest properties --client listwatch_conformance.sut.clients.mutants:resume_from_list_rv``
    checks one mutant by hand."""
    def factory() -> Reflector:
        return cls(**FAST, **kwargs)
    factory.__name__ = factory.__qualname__ = cls.__name__
    factory.__doc__ = cls.__doc__
    factory.production = lambda: cls(**kwargs)  # type: ignore[attr-defined]
    globals()[re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower().replace("r_v", "rv")] = factory
    return factory


MUTANTS = {
    _fast(ResumeFromListRV): {CG.ResumeFromLastSeen},
    _fast(RetrySameRVAfterExpired): {CG.NoRetryAtExpiredRV},
    _fast(HttpGoneKeepsRV): {CG.NoRetryAtExpiredRV},
    _fast(RvLessRewatch): {CG.ResumeFromLastSeen, CG.NoRetryAtExpiredRV},
    _fast(PartialLineRaises): {CG.RobustFraming},
    _fast(InStreamErrorStops): {CG.RobustFraming},
    _fast(RelistKeepsVanished): {CG.ViewAtRV, CG.Converges},
    # the same retry after an exact paged list's 410 never ends: the view never converges
    _fast(TooLargeRetriedSameRV): {CG.TooLargeFallsBack, CG.Converges},
    _fast(StaleRelistAtZero): {CG.NoTimeTravel},
    _fast(BookmarkNotRecorded): {CG.ResumeFromLastSeen},
    _fast(BlankLineRaises): {CG.RobustFraming},
    _fast(UnsyncsOnRelist): {CG.WatchListSync},
    _fast(SyncedBeforeEndBookmark, watch_list=True): {CG.WatchListSync},
    _fast(ResumeFromSyntheticAdded, watch_list=True): {CG.WatchListSync, CG.ResumeFromLastSeen},
    _fast(SelectorDroppedOnRelist): {CG.ViewAtRV, CG.Converges},
    # synced on a first page, or a watch from the RV of an incomplete list
    _fast(DropsContinuePage): {CG.ViewAtRV, CG.Converges, CG.WatchListSync, CG.ResumeFromLastSeen},
    _fast(SilenceIsFatal): {CG.StaysAlive, CG.RobustFraming},
    _fast(RelistReplaysAdded, iterator=True): {CG.NoDuplicateEvents},
}
