"""Fault injectors for the fault machine (properties/faults.py) on etcds the suite started.

- :class:`EtcdInjector` (``--sut etcd``): ``restart_server(stream)`` SIGKILLs the single
  etcd and restarts it on the same data and ports; every open watch may end.
- :class:`EtcdClusterInjector` (``--sut etcd-cluster``): ``restart_server(stream)`` SIGKILLs
  the member of the three-member cluster that ``stream`` is pinned to and restarts it on
  its data and ports, returning once it has rejoined (see
  :meth:`listwatch_conformance.sut.etcd.server.EtcdCluster.kill_and_restart_member`). For an ended watch (None)
  the member is still chosen from the program alone, never from timing: the member of the
  newest open watch, else the one the next watch will be pinned to. It returns the watches
  pinned to that member, the only ones the crash may end; watches on the other members
  must go on as if nothing happened.
- ``sever(stream)`` cancels one watch's gRPC stream, as a broken connection would.

Both kill only processes started by :mod:`listwatch_conformance.sut.etcd.server`, and wait with its deadlines.
"""

from __future__ import annotations

from collections.abc import Callable


class EtcdInjector:
    """Faults on the local single etcd."""

    def __init__(self, process):
        self.process = process

    def restart_server(self, stream=None) -> None:
        """SIGKILL etcd and restart it; None: every open watch may be hit."""
        self.process.kill_and_restart()

    def sever(self, stream) -> None:
        stream.sever()


class EtcdClusterInjector:
    """Faults on the local three-member cluster, for backends made by ``track(factory)``."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.backend = None  # the backend of the example running now
        self.killed: list[int] = []  # members restarted, in order (for reports and tests)

    def track(self, factory: Callable[[], object]) -> Callable[[], object]:
        """``factory``, remembering the backend it made last (the current example's)."""
        def make():
            self.backend = factory()
            return self.backend

        return make

    def victim(self, stream=None) -> int:
        """The member to kill: ``stream``'s, else the newest open watch's, else the next watch's."""
        if stream is not None:
            return stream.member
        watches = sorted(self.backend.open_watches(), key=lambda w: w.seq)
        return watches[-1].member if watches else self.backend.next_member()

    def restart_server(self, stream=None) -> list:
        """SIGKILL the member ``stream`` runs on and restart it; return the watches pinned to it."""
        member = self.victim(stream)
        hit = [w for w in self.backend.open_watches() if w.member == member]
        self.killed.append(member)
        self.cluster.kill_and_restart_member(member)
        return hit

    def sever(self, stream) -> None:
        stream.sever()
