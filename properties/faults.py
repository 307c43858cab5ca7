"""Fault injection on top of the conformance machine: crash the server, cut a watch's connection.

``fault_machine(factory, capabilities, injector)`` subclasses the machine of
``conformance_machine`` with two rules, so every guarantee keeps being checked around the
faults:

- ``restart_server``: the injector kills the server (or one cluster member) with SIGKILL
  and restarts it on the same data (at most once per example: a restart takes a second or
  two). Every write acknowledged before must survive, and the open watches it hits must
  either go on correctly or end with WatchClosed; resumed from their last RV they must
  continue without gap or duplicate.
- ``sever_watch``: the injector cuts one watch's connection; the watch must end with
  WatchClosed (or go on correctly), and resuming must work.

A WatchClosed on a watch that has read everything is a Liveness violation in the plain
machine; after a fault it is legitimate, so the rules mark the models they hit
(``WatchModel.fault_injected``).

``injector`` has ``restart_server(stream)`` and ``sever(stream)``, where ``stream`` is what
the backend's ``watch()`` returned (None for a watch that has ended). ``restart_server``
crashes the server ``stream`` runs on (with several servers, the injector picks one when
``stream`` is None) and returns the streams the crash may end (a cluster member ends only
the watches it serves), or None for every open stream; the other watches must go on with
every guarantee, Liveness included. Drawing the watch keeps the choice of server in the
program, so Hypothesis varies it, replays it and shrinks it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

from hypothesis import event, note
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from listwatch_conformance.properties.harness import call
from listwatch_conformance.properties.machine import conformance_machine
from listwatch_conformance.sut.api import Capabilities

MAX_RESTARTS = 1  # per example


class Injector(Protocol):
    def restart_server(self, stream: object | None) -> Iterable[object] | None: ...

    def sever(self, stream: object) -> None: ...


def fault_machine(factory: Callable[[], object], capabilities: Capabilities, injector: Injector,
                  checked=None) -> type[RuleBasedStateMachine]:
    """The conformance machine for ``factory``'s backends (checking the ``checked`` guarantees, default
    all), plus fault rules driven by ``injector``."""
    base = conformance_machine(factory, capabilities, checked)

    class ListWatchUnderFaults(base):
        def __init__(self) -> None:
            super().__init__()
            self.restarts = 0

        def _open_handles(self):
            return [h for h in self.handles if h.stream is not None]

        def _watch_with_history(self) -> bool:
            """Whether an open watch has writes after its start: a crash then has events to lose,
            repeat or deliver late, and Hypothesis stops spending crashes on watches with nothing."""
            # watches the program has not stopped, not those whose stream is open: when the backend ends a
            # stream depends on timing, and a precondition must follow from the program alone
            return any(len(self.log.writes) > h.model.k_at_call for h in self.handles if not h.stopped)

        @precondition(lambda self: self.restarts < MAX_RESTARTS and self._watch_with_history())
        @rule(watch=base.watches)
        def restart_server(self, watch):
            """SIGKILL the server serving ``watch`` (the one server, or its cluster member) and start
            it again on the same data; wait until it answers."""
            open_handles = self._open_handles()
            for handle in open_handles:  # the watches are caught up, as informers keep up: whatever a
                self._drain(handle)      # crash then loses, repeats or delays is the backend's doing
            open_handles = self._open_handles()
            self.restarts += 1
            hit = injector.restart_server(watch.stream)
            hit_ids = None if hit is None else {id(stream) for stream in hit}
            hit_handles = [h for h in open_handles if hit_ids is None or id(h.stream) in hit_ids]
            for handle in hit_handles:
                handle.model.fault_injected = True
            event(f"restart_server: {'no' if not hit_handles else 'some'} open watch hit, "
                  f"{'no' if len(hit_handles) == len(open_handles) else 'some'} open watch spared")
            if hit is not None:
                note(f"restart_server hit {[h.label for h in hit_handles]}; the other watches go on")

        @rule(watch=base.watches)
        def sever_watch(self, watch):
            """Cut this watch's connection as a network fault would."""
            if watch.stream is not None:
                watch.model.fault_injected = True
                call(f"severing {watch.label}", injector.sever, watch.stream)

    ListWatchUnderFaults.__name__ = ListWatchUnderFaults.__qualname__ = "ListWatchUnderFaults"
    return ListWatchUnderFaults
