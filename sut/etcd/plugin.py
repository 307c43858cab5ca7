"""pytest plugin for the etcd backends: --etcd-endpoint, and stopping etcd at the end of the session.

Registered from conftest.py (``pytest_plugins``). etcd itself is started lazily by the
first backend made (see :mod:`listwatch_conformance.sut.etcd.server`), once per process, so once per xdist worker.
"""

from __future__ import annotations

import sys

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("listwatch")
    group.addoption("--etcd-endpoint", default=None, metavar="URL",
                    help="use the etcd at URL (http://host:port) for --sut etcd instead of starting one; "
                         "it must allow compaction (the suite compacts it)")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    url = config.getoption("--etcd-endpoint")
    if url is None:
        return  # nothing to configure; do not import gRPC for users of other backends
    from listwatch_conformance.sut.etcd import server

    server.use_endpoint(url)


def pytest_unconfigure(config: pytest.Config) -> None:
    server = sys.modules.get("listwatch_conformance.sut.etcd.server")
    if server is not None:
        server.stop_all()


@pytest.fixture(scope="session")
def etcd_endpoint() -> str:
    """host:port of an etcd for tests that need one whatever --sut says; skips when there is none."""
    pytest.importorskip("aetcd.rpc", reason="the etcd extra is not installed (pip install -e .[etcd])")
    from listwatch_conformance.sut.etcd import server

    reason = server.unavailable_reason()
    if reason:
        pytest.skip(reason)
    return server.endpoint()


@pytest.fixture(scope="session")
def etcd_cluster():
    """The three-member etcd cluster this process started (:class:`listwatch_conformance.sut.etcd.server.EtcdCluster`),
    whatever --sut says; skips without the etcd extra or the ``etcd`` binary."""
    pytest.importorskip("aetcd.rpc", reason="the etcd extra is not installed (pip install -e .[etcd])")
    from listwatch_conformance.sut.etcd import server

    if server.etcd_binary() is None:
        pytest.skip("no `etcd` binary on PATH: install etcd 3.4 (Debian: apt-get install -y etcd-server)")
    return server.local_cluster()
