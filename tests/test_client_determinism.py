"""The client machine's draws follow from the program, not from the machine's load.

Whether the client's next request came decides which rules are possible next (answering it, or
nothing: a stuck client). A client on a loaded machine can be late; if a late request made it
stuck on one run and not on Hypothesis's replay of the same program, the search ended in
FlakyStrategyDefinition (kubernetes-asyncio and kr8s under the ci profile at load 3-6, or at
``--wait-budget 0.15`` at any load). So the machine waits for a live client's request far longer than
a correct client needs (``Plan.request_wait``), and not at all once the client's loop has ended.
"""

import pytest

from listwatch_conformance.model.client_guarantees import VIOLATIONS, ClientGuarantee as CG
from listwatch_conformance.properties.client_machine import client_machine
from listwatch_conformance.properties.config import HARNESS
from listwatch_conformance.sut.clients.reflector import TEST_SIZED, Reflector

LATE = 2.0  # the client's first request comes this many wait budgets late (the old machine waited one)


class LateFirstRequest(Reflector):
    """The reference reflector, which starts its loop ``LATE`` wait budgets after ``start()``: what a
    correct client looks like on a machine loaded enough to delay its thread. Stopping cuts the delay."""

    def _run(self) -> None:
        if self._stop.wait(LATE * HARNESS.wait_budget):
            with self._lock:
                self._alive = False
            return
        super()._run()


def late_first_request() -> LateFirstRequest:
    return LateFirstRequest(**TEST_SIZED)


def test_a_late_request_from_a_live_client_is_answered():
    """The late list is taken and answered, the watch opens and delivers: no StaysAlive, and the
    program's later rules find the state they were drawn in (a pending list, then an open watch).
    Against the machine before this test (one wait budget for the request), start() marked the client
    stuck, the program's respond() found nothing pending, and the teardown raised StaysAlive."""
    state = client_machine(late_first_request)()
    try:
        state.start(namespace=None, objects=[("a", "a", "0", None)])
        assert state.pending is not None and state.pending.kind == "list", "StaysAlive: the late list was not taken"
        state.respond(stale=0, order="ascending")  # the list at RV 2; the client watches from 2
        assert state.pending is not None and state.pending.kind == "watch"
        state.respond(stale=0, order="ascending")
        state.write(namespace="a", name="b", value="1")
        state.send_events(count=1)
        state.check_view()
        state.view_agrees()
    finally:
        state.teardown()  # raises the first violation seen (none: the reference keeps every guarantee)


def test_a_client_whose_loop_ended_is_stuck_without_the_long_wait():
    """A client that died (here: stopped before its first request) makes no request; the machine sees
    its loop ended and calls it stuck at once, instead of waiting ``Plan.request_wait`` (ten budgets):
    the message says no request came, not that none came within a wait."""
    state = client_machine(late_first_request)()
    state.client._stop.set()  # the loop ends before it makes a request
    try:
        state.start(namespace=None, objects=[])
        stuck, pending = state.stuck, state.pending
    finally:
        with pytest.raises(VIOLATIONS[CG.StaysAlive]) as raised:
            state.teardown()
    assert stuck and pending is None
    assert str(raised.value).startswith("StaysAlive: the client's loop: no request after start; it ended")
