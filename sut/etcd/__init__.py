"""Real etcd as the system under test: ``--sut etcd`` and ``--sut etcd-proxy``.

``etcd_backend()`` and ``etcd_proxy_backend()`` are the factories (one fresh, empty store
per call). They start etcd (and the grpc-proxy) on first use, once per process; see
:mod:`sut.etcd.server`. Without an ``etcd`` binary or ``--etcd-endpoint``, each returns a
stand-in whose every call skips the test with the reason (:class:`Unavailable`).
"""

from __future__ import annotations

import attrs

from sut.etcd import server
from sut.etcd.backend import CAPABILITIES, EtcdBackend

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
    """The etcd backend on a three-member cluster: each call and each watch stream goes to the
    next member in turn (gRPC round robin), so watches often run on followers."""

    channel_options = [("grpc.lb_policy_name", "round_robin")]

    def __init__(self):
        super().__init__(server.cluster_endpoint())


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
