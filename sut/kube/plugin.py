"""pytest options for ``--sut kube``: where the API server is, or which backend our own server should serve.

Registered from conftest.py with ``pytest_plugins = ["listwatch_conformance.sut.kube.plugin"]``. The options
fill :data:`listwatch_conformance.sut.kube.config.KUBE` before the suite resolves ``--sut`` (``tryfirst``).
``--kube-serve BACKEND`` starts ``python -m listwatch_conformance.sut.kube serve --sut BACKEND`` on a free
loopback port once per pytest process (so once per xdist worker) and stops it at exit,
also on failure; it turns on our server's non-Kubernetes extension endpoints (capabilities,
compact, progress, and a fresh store per example) unless ``--kube-no-extensions`` is given.
"""

from __future__ import annotations

import atexit

import pytest

from listwatch_conformance.sut.kube.config import KUBE

_SERVER_KEY = pytest.StashKey[object]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("listwatch-kube", "list-watch conformance: Kubernetes API (--sut kube)")
    group.addoption("--kube-url", metavar="URL", help="API server URL, e.g. https://127.0.0.1:6443")
    group.addoption("--kube-token", metavar="TOKEN", help="bearer token for --kube-url")
    group.addoption("--kube-ca-file", metavar="PATH", help="CA bundle to verify --kube-url")
    group.addoption("--kubeconfig", metavar="PATH", help="take server and credentials from this kubeconfig")
    group.addoption("--kube-context", metavar="NAME", help="kubeconfig context (default: current-context)")
    group.addoption("--kube-serve", metavar="BACKEND",
                    help="start our own server (python -m listwatch_conformance.sut.kube serve) for BACKEND (a --sut value) and "
                         "check it through the kube backend")
    group.addoption("--kube-no-extensions", action="store_true",
                    help="with --kube-serve: use only the Kubernetes API (no capabilities/compact/progress/"
                         "reset extension endpoints; one shared store), as against a real cluster")
    group.addoption("--kube-history", type=int, default=None, metavar="N",
                    help="declare that watches from the last N writes' RVs replay (default 0: unknown)")
    group.addoption("--kube-no-initial-events", action="store_true",
                    help="the server lacks WatchList (sendInitialEvents); do not draw streaming lists")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    opt = config.getoption
    for field, name in (("url", "--kube-url"), ("token", "--kube-token"), ("ca_file", "--kube-ca-file"),
                        ("kubeconfig", "--kubeconfig"), ("context", "--kube-context")):
        if opt(name):
            setattr(KUBE, field, opt(name))
    if opt("--kube-history") is not None:
        KUBE.history = opt("--kube-history")
    if opt("--kube-no-initial-events"):
        KUBE.initial_events = False
    spec = opt("--kube-serve")
    if spec:
        from listwatch_conformance.sut.kube.process import ServerStartError, start_server

        try:
            server = start_server(spec)
        except ServerStartError as exc:
            raise pytest.UsageError(f"--kube-serve {spec!r}: {exc}") from None
        config.stash[_SERVER_KEY] = server
        atexit.register(server.stop)  # also if pytest never reaches unconfigure
        KUBE.url, KUBE.token, KUBE.ca_file, KUBE.kubeconfig = server.url, None, None, None
        KUBE.extensions = KUBE.fresh_store = not opt("--kube-no-extensions")


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(_SERVER_KEY, None)
    if server is not None:
        server.stop()
