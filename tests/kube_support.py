"""Helpers for the kube tests: our server as a context-managed child process, and kube backend factories."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import attrs

from listwatch_conformance.sut.api import ListWatchError
from listwatch_conformance.sut.kube.client import KubeBackend
from listwatch_conformance.sut.kube.config import KubeSettings
from listwatch_conformance.sut.kube.process import ServerProcess, start_server
from listwatch_conformance.sut.memory import MemoryBackend


@contextlib.contextmanager
def served(spec: str = "memory", *extra_args: str) -> Iterator[ServerProcess]:
    """Our server for backend ``spec`` on a free loopback port; always stopped, also on failure."""
    server = start_server(spec, deadline=30, extra_args=extra_args)
    try:
        yield server
    finally:
        server.stop()


def kube_factory(url: str, *, extensions: bool = True):
    """A --sut factory: a fresh KubeBackend (its own namespaces) against ``url`` on every call.

    With ``extensions``, each call also resets our server to a fresh store, as --sut kube
    --kube-serve does; without, every instance shares the server's one store, as on a cluster.
    """
    settings = KubeSettings(url=url, extensions=extensions, fresh_store=extensions)
    return lambda: KubeBackend(settings)


class NoFieldSelectors(MemoryBackend):
    """The reference store declaring no field selectors (as a third-party backend may): our server
    must filter for it, so one that reaches it is refused here."""

    def __init__(self) -> None:
        super().__init__()
        self.capabilities = attrs.evolve(self.capabilities, field_selectors=False)

    def list(self, *, field_selector: str = "", **kwargs):
        if field_selector:
            raise ListWatchError(f"NoFieldSelectors got field_selector={field_selector!r}")
        return super().list(**kwargs)

    def watch(self, *, field_selector: str = "", **kwargs):
        if field_selector:
            raise ListWatchError(f"NoFieldSelectors got field_selector={field_selector!r}")
        return super().watch(**kwargs)
