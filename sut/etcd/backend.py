"""The etcd backend: the contract of sut/api.py on a real etcd, the way the apiserver's etcd3 store does it.

- Every backend instance writes under its own fresh key prefix, so each Hypothesis example
  sees an empty store without restarting etcd. RVs are etcd revisions; other examples'
  writes leave gaps in them, which the contract allows.
- Writes are transactions with revision preconditions: create needs ``mod_revision == 0``;
  update and delete need ``mod_revision == expect_rv`` when given, else existence. A failed
  precondition reads the key in the same transaction to tell NotFound from Conflict.
- Lists are ranges read at one revision (latest, or exactly ``rv``); selectors are applied
  here. Continue tokens carry the snapshot revision and the last (namespace, name).
- Each watch is its own bidirectional gRPC ``Watch`` stream (:class:`EtcdWatch`) with
  ``prev_kv``, so filter transitions come from etcd's previous values. A watch from N
  first reads revision N: compacted means Expired from ``watch()`` (etcd's own answer,
  ``canceled`` + ``compact_revision``, comes only for N+1 < C; from N = C-1 it replays
  partially, see :meth:`EtcdBackend._check_retained`). A later ``canceled`` +
  ``compact_revision`` means a compaction overtook a watch still catching up: it goes on
  from the compaction when nothing it owes is lost, else ends with WatchClosed.
- ``request_progress`` sends etcd's progress request on every bookmark-enabled watch's
  stream, again while the answer is older than this backend's last acknowledged write (a
  follower answers with the revision it has applied, which can lag). The answer
  (``watch_id == -1``, ``header.revision``), like etcd's periodic progress notifications,
  becomes a BOOKMARK only once no write of this backend is in flight and every one at or
  below that revision in the watch's key range has arrived on the stream
  (:meth:`EtcdWatch._release_bookmark`): etcd 3.4 answers progress requests on a control
  channel that can overtake queued events, and an answer can also overtake the response
  to the write itself.
- ``close()`` cancels every stream, joins every reader thread and closes the channel.
  Every wait has a deadline (:data:`RPC_DEADLINE`).
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from collections import deque
from collections.abc import Mapping

import attrs
import grpc

from aetcd.rpc import kv_pb2, rpc_pb2, rpc_pb2_grpc
from listwatch_conformance.model.selectors import Filter
from listwatch_conformance.sut.api import (
    AlreadyExists,
    Capabilities,
    Conflict,
    Event,
    EventType,
    Expired,
    ListWatchError,
    NotFound,
    Object,
    Page,
    WatchClosed,
)
from listwatch_conformance.sut.etcd import codec, server
from listwatch_conformance.sut.filtering import matches, parse_filter, transition

RPC_DEADLINE = 10.0  # seconds for any one etcd call, a watch's creation, or a reader thread to stop
CHANNEL_OPTIONS = [  # reconnect quickly after an etcd restart
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 500),
]

CAPABILITIES = Capabilities(
    label_selectors=True, field_selectors=True, bookmarks=True, progress=True, initial_events=True,
    pagination=True, exact_list=True, compaction=True,
    # etcd keeps every revision until it is compacted: any watch start not below the last
    # compaction replays, however many writes ago it was. "Unbounded" is spelled as a big number.
    history=10**9,
)


@attrs.frozen
class OwnWrite:
    """A write this backend acknowledged: its revision, key, and the object before and after."""

    rev: int
    key: bytes
    prev: Object | None
    new: Object | None


class EtcdCallFailed(Exception):
    """etcd answered a call with an error outside the contract (reported as a backend fault)."""


def _rpc_error(what: str, exc: grpc.RpcError) -> Exception:
    details = exc.details() or ""
    if "required revision has been compacted" in details:
        return Expired(f"{what}: {details}")
    if "future revision" in details:
        return ListWatchError(f"{what}: too large resource version ({details})")
    return EtcdCallFailed(f"etcd {what} failed: {exc.code().name}: {details}")


class EtcdWatch:
    """One watch on its own gRPC Watch stream; the contract's :class:`listwatch_conformance.sut.api.Watch`.

    ``seq`` numbers the backend's watches from 1; ``member`` is the cluster member the stream
    is pinned to (None on a single etcd or proxy), see :meth:`EtcdBackend._place_watch`.

    ``periodic_progress`` (off) would also ask etcd for its periodic progress notifications;
    they are correct, but their timing changes which RVs the suite has seen, which makes
    Hypothesis's replays diverge (FlakyStrategyDefinition). Bookmarks come from request_progress.
    """

    periodic_progress = False

    def __init__(self, backend: EtcdBackend, flt: Filter, key_range: tuple[bytes, bytes], start_revision: int,
                 floor: int, allow_bookmarks: bool, init: list[Event]):
        self._backend = backend
        self.filter = flt
        self.key_range = key_range
        self.start_revision = start_revision
        self.floor = floor  # no bookmark below this RV
        self.allow_bookmarks = allow_bookmarks
        self._cond = threading.Condition()
        self._out: deque[Event] = deque(init)
        self._last_event_rv = 0  # highest mod_revision received on the stream
        self._last_bookmark = 0
        self._pending_progress: int | None = None  # a progress revision not yet safe to forward
        self._progress_answers = 0
        self._progress_revision = 0  # the highest revision a progress answer carried
        self.watch_id: int | None = None
        self._created = False
        self._ended: str | None = None  # why the stream ended (WatchClosed once drained)
        self._finished_call = None  # the last gRPC call whose responses ended: nothing more arrives on it
        self._delivered = 0
        self._stopping = False
        self._requests: queue.Queue = queue.Queue()
        self._requests.put(rpc_pb2.WatchRequest(create_request=self._create_request()))
        self.seq, self.member, stub = backend._place_watch()
        self._call = stub.Watch(self._request_stream())
        self._reader = threading.Thread(target=self._read, name="etcd-watch-reader", daemon=True)
        self._reader.start()
        with self._cond:
            if not self._cond.wait_for(lambda: self._created or self._ended, RPC_DEADLINE):
                self._ended = "no created response"
        if not self._created:
            reason = self._ended
            self.close()
            raise EtcdCallFailed(f"etcd did not create the watch within {RPC_DEADLINE}s: {reason}")

    # --- the stream ------------------------------------------------------------------
    def _create_request(self):
        return rpc_pb2.WatchCreateRequest(key=self.key_range[0], range_end=self.key_range[1],
                                          start_revision=self.start_revision, prev_kv=True,
                                          progress_notify=self.periodic_progress and self.allow_bookmarks)

    def _request_stream(self):
        while True:
            request = self._requests.get()
            if request is None:
                return
            yield request

    def send(self, request) -> None:
        self._requests.put(request)

    def request_progress(self) -> int:
        """Send etcd a progress request; return how many answers had arrived before it."""
        with self._cond:
            answered = self._progress_answers
        self.send(rpc_pb2.WatchRequest(progress_request=rpc_pb2.WatchProgressRequest()))
        return answered

    def wait_progress_answer(self, answered: int, revision: int, deadline: float) -> None:
        """Wait until etcd answered a progress request after the first ``answered`` answers, at
        ``revision`` or later (or the stream ended, or ``deadline`` passed), asking again while
        the answers are older: a member answers with the revision it has applied, and a
        follower may not have applied yet a write the leader already acknowledged."""
        while True:
            with self._cond:
                if not self._cond.wait_for(lambda: self._progress_answers > answered or self._ended is not None,
                                           max(0.0, deadline - time.monotonic())):
                    return
                if self._ended is not None or self._progress_revision >= revision:
                    return
            answered = self.request_progress()

    def _read(self) -> None:
        self._end(self._consume(self._call))

    def _consume(self, call) -> str:
        """Apply every response of ``call`` (on the reader thread); return why the stream ended.

        Records that ``call`` is over whatever the caller then does with the watch: a reader
        may keep the watch open (a mutant does) or re-create the stream, but compact() must
        not wait for events on a call that can carry none (:meth:`_caught_up`)."""
        try:
            for resp in call:
                self.handle(resp)
            return "etcd ended the watch stream"
        except grpc.RpcError as exc:
            return f"watch stream failed: {exc.code().name}: {exc.details()}"
        except Exception as exc:  # noqa: BLE001 - a value we cannot decode ends the watch, with the cause
            return f"watch stream could not be read: {type(exc).__name__}: {exc}"
        finally:
            with self._cond:
                self._finished_call = call
                self._cond.notify_all()

    def _end(self, reason: str) -> None:
        with self._cond:
            if self._ended is None:
                self._ended = reason
            self._cond.notify_all()

    def handle(self, resp) -> None:
        """Apply one WatchResponse (called by the reader thread)."""
        with self._cond:
            if resp.created:
                self.watch_id = resp.watch_id
                self._created = True
            if resp.canceled:
                self._on_canceled(resp)
            elif resp.events:
                self._on_events(resp.events)
            elif not resp.created and (resp.watch_id == -1 or resp.watch_id == self.watch_id):
                self._progress_answers += 1
                self._progress_revision = max(self._progress_revision, resp.header.revision)
                self.on_progress(resp.header.revision)
            self._release_bookmark()
            self._cond.notify_all()

    def _on_canceled(self, resp) -> None:
        compact = resp.compact_revision
        # watch() checked that etcd retained the start, so a compaction passed it afterwards
        if compact and not self._backend._wrote_in(
                self.key_range, max(self._last_event_rv, self.start_revision - 1), compact, self.filter):
            # etcd cancels a watch still catching up when a compaction passes its position,
            # although its start was retained when it was made. Nothing it owes lies at or
            # below the compaction, so it goes on from there on the same stream.
            self.start_revision = compact + 1
            self._created = False
            self.send(rpc_pb2.WatchRequest(create_request=self._create_request()))
            return
        self._ended = (f"etcd canceled the watch (compact_revision={compact}): "
                       f"{resp.cancel_reason or 'history it had not yet delivered was compacted'}")

    def _on_events(self, events) -> None:
        for ev in events:
            if self._ended is not None:
                return
            rv = ev.kv.mod_revision
            has_prev = ev.HasField("prev_kv") and bool(ev.prev_kv.key)
            prev = codec.decode(ev.prev_kv) if has_prev else None
            is_delete = ev.type == kv_pb2.Event.DELETE
            cur = None if is_delete else codec.decode(ev.kv)
            self._last_event_rv = max(self._last_event_rv, rv)
            if prev is None and (is_delete or ev.kv.create_revision != rv):
                # etcd drops prev_kv when the previous version was compacted (after watch() checked
                # the start): the transition is unknowable unless the write is this backend's own
                own = self._backend.own_write(rv, ev.kv.key)
                if own is not None and transition(self.filter, rv, own.prev, own.new) is None:
                    continue  # does not concern this watch
                self._ended = (f"etcd compacted the previous value of {ev.kv.key!r} at revision {rv} "
                               "before this watch caught up")
                return
            out = transition(self.filter, rv, prev, cur)
            if out is not None:
                self.enqueue(out)

    def enqueue(self, event: Event) -> None:
        self._out.append(event)

    def on_progress(self, revision: int) -> None:
        """etcd says the stream is at ``revision`` (a progress answer or a periodic notification)."""
        if self.allow_bookmarks:
            self._pending_progress = max(self._pending_progress or 0, revision)

    def _release_bookmark(self) -> None:
        """Forward the pending progress as a BOOKMARK once no acknowledged write at or below it is missing."""
        revision = self._pending_progress
        if revision is None or self._ended is not None:
            return  # an ended stream promises nothing more
        after = max(self._last_event_rv, self.start_revision - 1)
        if self._backend._wrote_in(self.key_range, after, revision):
            return  # etcd's answer overtook events still on their way: wait for them
        self._pending_progress = None
        rv = max(revision, self._last_event_rv)
        if rv < self.floor or rv < self._last_bookmark:
            return
        self._last_bookmark = rv
        if self._out and self._out[-1].type is EventType.BOOKMARK and not self._out[-1].initial_events_end:
            self._out[-1] = Event(EventType.BOOKMARK, rv)  # coalesce unread periodic bookmarks
        else:
            self._out.append(Event(EventType.BOOKMARK, rv))

    def wait_caught_up(self, revision: int, deadline: float) -> None:
        """Wait (until ``deadline``) until every write of this backend in range up to ``revision`` has arrived."""
        with self._cond:
            self._cond.wait_for(lambda: self._caught_up(revision), max(0.0, deadline - time.monotonic()))

    def _caught_up(self, revision: int) -> bool:
        """Nothing more up to ``revision`` will arrive: all of it did, the watch ended, or the
        stream it reads is over, even if the watch stays open (under _cond)."""
        return self._ended is not None or self._finished_call is self._call or not self._backend._wrote_in(
            self.key_range, max(self._last_event_rv, self.start_revision - 1), revision)

    def recheck(self) -> None:
        """A write was acknowledged: a held progress may have become safe (or not)."""
        with self._cond:
            self._release_bookmark()
            self._cond.notify_all()

    # --- the Watch contract ---------------------------------------------------------
    def next(self, timeout: float) -> Event | None:
        with self._cond:
            if self._stopping:
                raise WatchClosed("watch was closed by the client")
            self._cond.wait_for(lambda: self._out or self._ended, timeout)
            if self._out:
                self._delivered += 1
                return self._out.popleft()
            if self._ended is None:
                return None
            raise WatchClosed(self._ended)

    def sever(self) -> None:
        """Drop the stream as a broken connection would (fault injection); the watch ends with WatchClosed."""
        self._call.cancel()

    def close(self) -> None:
        with self._cond:
            if self._stopping:
                return
            self._stopping = True
            if self._ended is None:
                self._ended = "closed by the client"
            watch_id = self.watch_id
            self._cond.notify_all()
        if watch_id is not None:
            self.send(rpc_pb2.WatchRequest(cancel_request=rpc_pb2.WatchCancelRequest(watch_id=watch_id)))
        self.send(None)
        self._call.cancel()
        self._reader.join(RPC_DEADLINE)
        self._backend._unregister(self)


class EtcdBackend:
    """The contract on etcd (see the module docstring). ``EtcdBackend()`` is a fresh, empty store."""

    capabilities = CAPABILITIES
    watch_class = EtcdWatch
    channel_options: list = []  # added to CHANNEL_OPTIONS

    def __init__(self, target: str | None = None):
        self.target = target or server.endpoint()
        self.prefix = f"/listwatch/{uuid.uuid4().hex}/".encode()
        self._channel = grpc.insecure_channel(self.target, options=CHANNEL_OPTIONS + self.channel_options)
        self._kv = rpc_pb2_grpc.KVStub(self._channel)
        self._watch_stub = rpc_pb2_grpc.WatchStub(self._channel)
        self._lock = threading.Lock()
        self._watches_made = 0
        self._writes: list[OwnWrite] = []  # every write this backend acknowledged
        self._in_flight = 0  # write calls sent and not yet returned
        self._watches: set[EtcdWatch] = set()
        self._closed = False

    name = "etcd (gRPC, as the apiserver's etcd3 storage drives it)"

    @property
    def version(self) -> str | None:
        """The etcd server's version, for the conformance report (read once, by the probe)."""
        try:
            status = rpc_pb2_grpc.MaintenanceStub(self._channel).Status(rpc_pb2.StatusRequest(), timeout=RPC_DEADLINE)
        except grpc.RpcError:
            return None
        return status.version or None

    def _call(self, what: str, method, request, *, idempotent: bool = False):
        """One unary call. ``idempotent`` calls (reads) are sent again after UNAVAILABLE until
        :data:`RPC_DEADLINE`, as etcd's own client does: with several members, a call can meet
        one that just died (or a leader change) and the next try goes to another. Writes are
        never sent twice: one that failed may still have been applied."""
        if self._closed:
            raise ListWatchError("backend is closed")
        deadline = time.monotonic() + RPC_DEADLINE
        while True:
            try:
                return method(request, timeout=max(0.05, deadline - time.monotonic()), wait_for_ready=True)
            except grpc.RpcError as exc:
                if not (idempotent and exc.code() is grpc.StatusCode.UNAVAILABLE and time.monotonic() < deadline):
                    raise _rpc_error(what, exc) from None

    # --- writes ------------------------------------------------------------------------
    def _txn(self, what: str, key: bytes, compare, op):
        with self._lock:
            self._in_flight += 1
        write = None
        try:
            resp = self._call(what, self._kv.Txn, rpc_pb2.TxnRequest(
                compare=[compare], success=[op],
                failure=[rpc_pb2.RequestOp(request_range=rpc_pb2.RangeRequest(key=key))]))
            if resp.succeeded:
                rev, result = resp.header.revision, resp.responses[0]
                if result.HasField("response_put"):
                    prev = result.response_put.prev_kv
                    new = codec.decode(op.request_put, rev)
                else:
                    kvs = result.response_delete_range.prev_kvs
                    prev, new = (kvs[0] if kvs else None), None
                write = OwnWrite(rev, key, codec.decode(prev) if prev is not None and prev.key else None, new)
            return resp
        finally:
            self._acknowledged(write)

    def _acknowledged(self, write: OwnWrite | None) -> None:
        """A write call returned (``write`` is None if it failed): record it and let watches recheck."""
        with self._lock:
            self._in_flight -= 1
            if write is not None:
                self._writes.append(write)
            watches = list(self._watches)
        for w in watches:
            w.recheck()

    def _wrote_in(self, key_range: tuple[bytes, bytes], after: int, upto: int, flt: Filter | None = None) -> bool:
        """Whether this backend acknowledged a write in ``key_range`` with ``after < revision <= upto``
        (and, with ``flt``, one that makes an event through it); True while any write is in flight."""
        lo, hi = key_range
        with self._lock:
            if self._in_flight:
                return True  # a write etcd may have applied, whose revision is not known yet
            writes = list(self._writes)
        return any(after < w.rev <= upto and lo <= w.key < hi
                   and (flt is None or transition(flt, w.rev, w.prev, w.new) is not None) for w in writes)

    def own_write(self, rev: int, key: bytes) -> OwnWrite | None:
        with self._lock:
            return next((w for w in reversed(self._writes) if w.rev == rev and w.key == key), None)

    def create(self, namespace: str, name: str, labels: Mapping[str, str], value: str) -> int:
        key = codec.object_key(self.prefix, namespace, name)
        resp = self._txn("create", key, rpc_pb2.Compare(
            key=key, target=rpc_pb2.Compare.MOD, result=rpc_pb2.Compare.EQUAL, mod_revision=0),
            rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(
                key=key, value=codec.encode_value(namespace, name, labels, value), prev_kv=True)))
        if not resp.succeeded:
            raise AlreadyExists(f"{namespace}/{name} already exists")
        return resp.header.revision

    def _precondition(self, key: bytes, expect_rv: int | None):
        if expect_rv is None:
            return rpc_pb2.Compare(key=key, target=rpc_pb2.Compare.MOD, result=rpc_pb2.Compare.GREATER,
                                   mod_revision=0)
        return rpc_pb2.Compare(key=key, target=rpc_pb2.Compare.MOD, result=rpc_pb2.Compare.EQUAL,
                               mod_revision=expect_rv)

    def _failed(self, resp, namespace: str, name: str, expect_rv: int | None) -> ListWatchError:
        kvs = resp.responses[0].response_range.kvs
        if not kvs:
            return NotFound(f"{namespace}/{name} not found")
        return Conflict(f"{namespace}/{name} is at RV {kvs[0].mod_revision}, not {expect_rv}")

    def update(self, namespace: str, name: str, labels: Mapping[str, str], value: str, *,
               expect_rv: int | None = None) -> int:
        key = codec.object_key(self.prefix, namespace, name)
        resp = self._txn("update", key, self._precondition(key, expect_rv), rpc_pb2.RequestOp(
            request_put=rpc_pb2.PutRequest(key=key, value=codec.encode_value(namespace, name, labels, value),
                                           prev_kv=True)))
        if not resp.succeeded:
            raise self._failed(resp, namespace, name, expect_rv)
        return resp.header.revision

    def delete(self, namespace: str, name: str, *, expect_rv: int | None = None) -> int:
        key = codec.object_key(self.prefix, namespace, name)
        resp = self._txn("delete", key, self._precondition(key, expect_rv), rpc_pb2.RequestOp(
            request_delete_range=rpc_pb2.DeleteRangeRequest(key=key, prev_kv=True)))
        if not resp.succeeded:
            raise self._failed(resp, namespace, name, expect_rv)
        return resp.header.revision

    # --- lists ---------------------------------------------------------------------------
    def _snapshot(self, namespace: str | None, revision: int):
        """(revision, objects sorted by (namespace, name)) of ``namespace``'s range at ``revision`` (0: latest)."""
        lo, hi = codec.scope(self.prefix, namespace)
        resp = self._call("range", self._kv.Range, rpc_pb2.RangeRequest(key=lo, range_end=hi, revision=revision),
                          idempotent=True)
        objects = sorted((codec.decode(kv) for kv in resp.kvs), key=lambda o: (o.namespace, o.name))
        return revision or resp.header.revision, objects

    def list(self, *, namespace: str | None = None, label_selector: str = "", field_selector: str = "",
             rv: int | None = None, match: str | None = None, limit: int | None = None,
             continue_token: str | None = None) -> Page:
        flt = parse_filter(namespace, label_selector, field_selector)
        if match not in (None, "Exact", "NotOlderThan"):
            raise ListWatchError(f"unknown resourceVersionMatch {match!r}")
        after = None
        if continue_token is not None:
            revision, last = codec.decode_continue(continue_token)
            after = tuple(last.decode().split("/", 1))
        elif rv and match == "Exact":
            revision = rv
        else:
            revision = 0
        snapshot_rv, objects = self._snapshot(namespace, revision)
        if continue_token is None and rv and snapshot_rv < rv:
            raise ListWatchError(f"too large resource version: {rv}, current: {snapshot_rv}")
        items = [o for o in objects if matches(flt, o) and (after is None or (o.namespace, o.name) > after)]
        token = None
        if limit is not None and limit > 0 and len(items) > limit:
            items = items[:limit]
            token = codec.encode_continue(snapshot_rv, f"{items[-1].namespace}/{items[-1].name}".encode())
        return Page(tuple(items), snapshot_rv, token)

    # --- watches ---------------------------------------------------------------------------
    def watch(self, *, namespace: str | None = None, label_selector: str = "", field_selector: str = "",
              rv: int | None = None, allow_bookmarks: bool = False, send_initial_events: bool = False) -> EtcdWatch:
        flt = parse_filter(namespace, label_selector, field_selector)
        if self._closed:
            raise ListWatchError("backend is closed")
        key_range = codec.scope(self.prefix, namespace)
        if send_initial_events or not rv:
            r0, objects = self._snapshot(namespace, 0)
            if rv and rv > r0:
                raise ListWatchError(f"too large resource version: {rv}, current: {r0}")
            init = [Event(EventType.ADDED, o.rv, o) for o in objects if matches(flt, o)]
            if send_initial_events and allow_bookmarks:
                init.append(Event(EventType.BOOKMARK, r0, initial_events_end=True))
            start, floor = r0 + 1, r0
        else:
            self._check_retained(rv)
            init, start, floor = [], rv + 1, rv
        watch = self.watch_class(self, flt, key_range, start, floor, allow_bookmarks, init)
        with self._lock:
            if self._closed:
                closed = True
            else:
                closed = False
                self._watches.add(watch)
        if closed:
            watch.close()
            raise ListWatchError("backend is closed")
        return watch

    def _check_retained(self, rv: int) -> None:
        """Raise Expired unless etcd still has revision ``rv``, the state a watch from ``rv`` starts after.

        A watch from a compacted revision C itself is not canceled by etcd, but its replay
        is partial: a DELETE at C is gone with its compacted tombstone, and a PUT at C comes
        without prev_kv. So a watch from N needs N itself retained, which a range read at N tells.
        """
        lo, _ = codec.scope(self.prefix, None)
        try:
            self._call("range", self._kv.Range, rpc_pb2.RangeRequest(key=lo, revision=rv, count_only=True),
                       idempotent=True)
        except ListWatchError as exc:
            if isinstance(exc, Expired):
                raise Expired(f"too old resource version: {rv} (etcd: {exc})") from None
            # a future revision: etcd waits for it, and so does the watch

    def _place_watch(self) -> tuple[int, int | None, rpc_pb2_grpc.WatchStub]:
        """Where a new watch's stream goes: (its sequence number in this backend, the cluster
        member it is pinned to or None, the stub to open it with)."""
        with self._lock:
            self._watches_made += 1
            return self._watches_made, None, self._watch_stub

    def _unregister(self, watch: EtcdWatch) -> None:
        with self._lock:
            self._watches.discard(watch)

    def open_watches(self) -> list[EtcdWatch]:
        with self._lock:
            return list(self._watches)

    def request_progress(self) -> None:
        if self._closed:
            raise ListWatchError("backend is closed")
        # Wait for etcd's answers, so the bookmarks are queued when this returns: when a
        # bookmark shows up must not depend on timing, or Hypothesis's replays diverge.
        with self._lock:
            acknowledged = max((w.rev for w in self._writes), default=0)
        asked = [(w, w.request_progress()) for w in self.open_watches() if w.allow_bookmarks]
        deadline = time.monotonic() + RPC_DEADLINE
        for w, answered in asked:
            w.wait_progress_answer(answered, acknowledged, deadline)

    # --- compaction and lifecycle -----------------------------------------------------------
    def compact(self, rv: int) -> None:
        """Compact etcd at ``rv``, once open watches have caught up with it.

        A compaction that overtakes a watch still catching up cancels it, or (at the
        compaction revision itself) silently drops a DELETE whose tombstone it removes and
        the prev_kv of a PUT; so, like a careful operator, wait for the watches first.
        """
        deadline = time.monotonic() + RPC_DEADLINE
        for w in self.open_watches():
            w.wait_caught_up(rv, deadline)
        try:
            self._call("compact", self._kv.Compact, rpc_pb2.CompactionRequest(revision=rv, physical=True))
        except Expired:
            pass  # already compacted at or past rv: nothing left to do

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            watches = list(self._watches)
        for w in watches:
            w.close()
        self._channel.close()

