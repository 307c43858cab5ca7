"""Fault injection on top of the conformance machine: crash the server, cut a watch's connection.

``fault_machine(factory, capabilities, injector)`` subclasses the machine of
``conformance_machine`` with two rules, so every guarantee keeps being checked around the
faults:

- ``restart_server``: the injector kills the server with SIGKILL and restarts it on the
  same data (at most once per example: a restart takes a second or two). Every write
  acknowledged before must survive, and open watches must either go on correctly or end
  with WatchClosed; resumed from their last RV they must continue without gap or duplicate.
- ``sever_watch``: the injector cuts one watch's connection; the watch must end with
  WatchClosed (or go on correctly), and resuming must work.

A WatchClosed on a watch that has read everything is a Liveness violation in the plain
machine; after a fault it is legitimate, so the rules mark the models they hit
(``WatchModel.fault_injected``).

``injector`` has ``restart_server()`` and ``sever(stream)``, where ``stream`` is what the
backend's ``watch()`` returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from properties.harness import call
from properties.machine import conformance_machine
from sut.api import Capabilities

MAX_RESTARTS = 1  # per example


class Injector(Protocol):
    def restart_server(self) -> None: ...

    def sever(self, stream: object) -> None: ...


def fault_machine(factory: Callable[[], object], capabilities: Capabilities,
                  injector: Injector) -> type[RuleBasedStateMachine]:
    """The conformance machine for ``factory``'s backends, plus fault rules driven by ``injector``."""
    base = conformance_machine(factory, capabilities)

    class ListWatchUnderFaults(base):
        def __init__(self) -> None:
            super().__init__()
            self.restarts = 0

        def _open_handles(self):
            return [h for h in self.handles if h.stream is not None]

        @precondition(lambda self: self.restarts < MAX_RESTARTS)
        @rule()
        def restart_server(self):
            """SIGKILL the server and start it again on the same data; wait until it answers."""
            for handle in self._open_handles():
                handle.model.fault_injected = True
            self.restarts += 1
            injector.restart_server()

        @rule(watch=base.watches)
        def sever_watch(self, watch):
            """Cut this watch's connection as a network fault would."""
            if watch.stream is not None:
                watch.model.fault_injected = True
                call(f"severing {watch.label}", injector.sever, watch.stream)

    ListWatchUnderFaults.__name__ = ListWatchUnderFaults.__qualname__ = "ListWatchUnderFaults"
    return ListWatchUnderFaults
