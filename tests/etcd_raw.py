"""A raw etcd gRPC session for minimal reproductions: KV calls and one Watch stream, nothing hidden."""

from __future__ import annotations

import queue
import threading
import time

import grpc

from aetcd.rpc import rpc_pb2, rpc_pb2_grpc

DEADLINE = 5.0


class RawWatch:
    """One bidirectional Watch stream: send requests, read every WatchResponse as etcd sent it."""

    def __init__(self, channel: grpc.Channel):
        self._requests: queue.Queue = queue.Queue()
        self.responses: queue.Queue = queue.Queue()
        self._call = rpc_pb2_grpc.WatchStub(channel).Watch(iter(self._requests.get, None))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for resp in self._call:
                self.responses.put(resp)
        except grpc.RpcError:
            pass

    def create(self, key: bytes, range_end: bytes, start_revision: int, **kw) -> None:
        self._requests.put(rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(
            key=key, range_end=range_end, start_revision=start_revision, prev_kv=True, **kw)))

    def progress(self) -> None:
        self._requests.put(rpc_pb2.WatchRequest(progress_request=rpc_pb2.WatchProgressRequest()))

    def next(self, timeout: float = DEADLINE):
        try:
            return self.responses.get(timeout=timeout)
        except queue.Empty:
            return None

    def until(self, predicate, timeout: float = DEADLINE) -> list:
        """Responses read until one satisfies ``predicate`` (included) or ``timeout`` passes."""
        seen, deadline = [], time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            resp = self.next(remaining)
            if resp is None:
                break
            seen.append(resp)
            if predicate(resp):
                break
        return seen

    def close(self) -> None:
        self._requests.put(None)
        self._call.cancel()
        self._reader.join(DEADLINE)


class RawEtcd:
    """KV calls on a fresh key prefix of the etcd at ``target``."""

    def __init__(self, target: str, prefix: bytes):
        self.channel = grpc.insecure_channel(target)
        self.kv = rpc_pb2_grpc.KVStub(self.channel)
        self.prefix = prefix
        self.end = prefix[:-1] + bytes([prefix[-1] + 1])

    def put(self, name: str, value: bytes = b"v") -> int:
        return self.kv.Put(rpc_pb2.PutRequest(key=self.prefix + name.encode(), value=value),
                           timeout=DEADLINE).header.revision

    def delete(self, name: str) -> int:
        return self.kv.DeleteRange(rpc_pb2.DeleteRangeRequest(key=self.prefix + name.encode()),
                                   timeout=DEADLINE).header.revision

    def compact(self, revision: int) -> None:
        self.kv.Compact(rpc_pb2.CompactionRequest(revision=revision, physical=True), timeout=DEADLINE)

    def watch(self, start_revision: int, then_progress: bool = False, **kw) -> RawWatch:
        """A watch on the prefix from ``start_revision``; ``then_progress`` sends a progress request right
        behind the create request, before its confirmation (the created response stays in ``responses``)."""
        w = RawWatch(self.channel)
        w.create(self.prefix, self.end, start_revision, **kw)
        if then_progress:
            w.progress()
            return w
        created = w.until(lambda r: r.created)
        assert created and created[-1].created, "etcd did not create the watch"
        return w

    def close(self) -> None:
        self.channel.close()
