"""A correct backend gets a verdict, whatever legal choices it makes and whenever it closes at its buffer.

- A backend that takes DESIGN.md's liberties at random (tests/liberal_backends.py) passes under
  the ci profile, and Hypothesis never reports a flaky strategy: every rule adds the same number
  of bundle entries whatever the backend answers, so the draws follow from the program alone.
- A backend that cuts off slow consumers at the buffer it declares passes; the zoo's
  ``ClosesBeforeBuffer`` (closing before its declared buffer is full) fails as Liveness
  (tests/test_mutants.py).
"""

import pytest
from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test

from listwatch_conformance.properties.machine import conformance_machine
from listwatch_conformance.properties.profiles import PROFILES
from tests.liberal_backends import LiberalBackend, SmallBuffer

LIBERTIES = ("stale_list", "stale_watch", "too_large_at_once", "too_large_after_wait", "replayed_outside",
             "expired_outside")


def _run(backend, profile: settings, runs: int) -> None:
    for _ in range(runs):
        run_state_machine_as_test(conformance_machine(backend, backend().capabilities), settings=profile)


def test_liberal_backend_gets_a_verdict_under_ci():
    """Two derandomized runs of the ci profile: each must pass (a Violation or FlakyStrategyDefinition fails)."""
    LiberalBackend.taken.clear()
    _run(LiberalBackend, PROFILES["ci"], runs=2)
    untaken = [name for name in LIBERTIES if not LiberalBackend.taken[name]]
    assert not untaken, f"the runs never took these liberties, so they show nothing about them: {untaken}"


@pytest.mark.slow
def test_liberal_backend_gets_a_verdict_under_thorough():
    """The thorough profile's long programs (its step count), at 300 of its 1,500 examples: the whole
    profile took 4.5 minutes of CI's two cores; the long programs are what the ci profile lacks."""
    _run(LiberalBackend, settings(PROFILES["thorough"], max_examples=300, derandomize=True, database=None), runs=1)


def test_backend_closing_at_its_declared_buffer_passes():
    SmallBuffer.closes = 0
    _run(SmallBuffer, PROFILES["ci"], runs=1)
    assert SmallBuffer.closes > 0, "no watch was ever cut off at the buffer, so this shows nothing"
