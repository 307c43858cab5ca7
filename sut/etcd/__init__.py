"""Real etcd as the system under test: ``--sut etcd``, ``--sut etcd-proxy`` and ``--sut etcd-cluster``.

``etcd_backend()``, ``etcd_proxy_backend()`` and ``etcd_cluster_backend()`` are the
factories (one fresh, empty store per call). They start etcd (the grpc-proxy, the
three-member cluster) on first use, once per process; see :mod:`listwatch_conformance.sut.etcd.server`. Without
an ``etcd`` binary or ``--etcd-endpoint``, each returns a stand-in whose every call skips
the test with the reason (:class:`Unavailable`).
"""

from __future__ import annotations

import attrs
import grpc

from aetcd.rpc import rpc_pb2_grpc
from listwatch_conformance.sut.etcd import server
from listwatch_conformance.sut.etcd.backend import CAPABILITIES, CHANNEL_OPTIONS, EtcdBackend

# etcd 3.4's grpc-proxy never answers a progress request (tests/test_etcd_proxy.py)
PROXY_CAPABILITIES = attrs.evolve(CAPABILITIES, progress=False)


class Unavailable:
    """Stands in for an etcd backend that cannot run here; any use skips the test with the reason."""

    def __init__(self, reason: str, capabilities):
        self.reason, self.capabilities = reason, capabilities

    def __getattr__(self, name: str):
        import pytest

        def skip(*args, **kwargs):
            pytest.skip(self.reason)

        return skip

    def close(self) -> None:
        pass


def etcd_backend():
    reason = server.unavailable_reason()
    if reason:
        return Unavailable(reason, CAPABILITIES)
    return EtcdBackend()


class EtcdClusterBackend(EtcdBackend):
    """The etcd backend on a three-member cluster.

    Unary calls (writes, lists, compaction) go to the members in turn over one channel (gRPC
    round robin), which sends each call to a member it is connected to, as the apiserver's
    etcd client balances over its endpoints. Watch streams are pinned: the backend's n-th
    watch (``watch.seq``) runs on member ``(n - 1) % 3`` (``watch.member``), over a channel
    to that member alone, so two of every three watches run on followers and a fault
    injector knows which watches a member's crash ends.
    """

    channel_options = [("grpc.lb_policy_name", "round_robin")]

    def __init__(self):
        cluster = server.local_cluster()
        self.members = list(cluster.endpoints)
        super().__init__(cluster.endpoint)
        self._member_channels = [grpc.insecure_channel(e, options=CHANNEL_OPTIONS) for e in self.members]
        self._member_watch_stubs = [rpc_pb2_grpc.WatchStub(c) for c in self._member_channels]

    def _place_watch(self):
        with self._lock:
            self._watches_made += 1
            seq = self._watches_made
        member = (seq - 1) % len(self.members)
        return seq, member, self._member_watch_stubs[member]

    def next_member(self) -> int:
        """The member the next watch will be pinned to."""
        with self._lock:
            return self._watches_made % len(self.members)

    def close(self) -> None:
        try:
            super().close()
        finally:
            for channel in self._member_channels:
                channel.close()


def etcd_cluster_backend():
    reason = None if server.etcd_binary() else server.unavailable_reason()
    if reason:
        return Unavailable(reason, CAPABILITIES)
    return EtcdClusterBackend()


class EtcdProxyBackend(EtcdBackend):
    """The etcd backend talking to etcd through ``etcd grpc-proxy start``."""

    capabilities = PROXY_CAPABILITIES

    def __init__(self):
        super().__init__(server.proxy_endpoint())


def etcd_proxy_backend():
    reason = None if server.etcd_binary() else (
        "no `etcd` binary on PATH (needed for `etcd grpc-proxy`): install etcd 3.4 (Debian: apt-get install -y etcd-server)")
    if reason:
        return Unavailable(reason, PROXY_CAPABILITIES)
    return EtcdProxyBackend()
