"""Helpers for the suite's own tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyFailure
from hypothesis.stateful import run_state_machine_as_test

from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.properties.machine import conformance_machine

REPO = Path(__file__).resolve().parent.parent

# Kill runs: the ci profile's derandomized search, without shrinking (the verdict does not
# depend on it, and shrinking is what makes a failing run slow).
KILL_SETTINGS = settings(max_examples=300, stateful_step_count=50, deadline=None, derandomize=True, database=None,
                         phases=[Phase.explicit, Phase.reuse, Phase.generate], report_multiple_bugs=False,
                         suppress_health_check=list(HealthCheck))


def first_violation(factory, capabilities, run_settings=KILL_SETTINGS, machine=None) -> Violation | None:
    """Run the conformance machine (or ``machine``) against ``factory``; return the violation found, or None."""
    try:
        run_state_machine_as_test(machine or conformance_machine(factory, capabilities), settings=run_settings)
    except Violation as violation:
        return violation
    except FlakyFailure as flaky:  # found, but the replay did not fail again: still a finding
        found = [e for e in flaky.exceptions if isinstance(e, Violation)]
        if found:
            return found[0]
        raise
    return None


def run_pytest(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run pytest in a fresh process (as a user would) from the repository root, in one process (``-n 0``:
    the checkout's addopts ask for xdist workers, and nested workers would only add start-up time)."""
    full_env = {**os.environ, **(env or {})}
    full_env.pop("PYTEST_XDIST_WORKER", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "0", *args], cwd=REPO,
                          env=full_env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def repo() -> Path:
    return REPO
