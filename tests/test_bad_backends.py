"""A backend that breaks the contract's form is reported as the backend's fault, with the
offending value and the call, never as a broken guarantee; a hanging call ends the run
within its deadline, naming the call."""

import time

import pytest
from hypothesis import HealthCheck, Phase, settings

from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.properties.config import HARNESS
from listwatch_conformance.properties.harness import BackendFault, BackendHang
from listwatch_conformance.properties.machine import conformance_machine
from tests import broken_backends
from tests.broken_backends import FAULTY, HANGING, RELEASE
from tests.conftest import run_pytest

QUICK = settings(max_examples=100, stateful_step_count=30, deadline=None, derandomize=True, database=None,
                 phases=[Phase.explicit, Phase.reuse, Phase.generate],  # the message is the point, not the shrink
                 suppress_health_check=list(HealthCheck))


def run_machine(backend_class):
    from hypothesis.stateful import run_state_machine_as_test

    probe = backend_class.__mro__[1]()  # the capabilities of the class it breaks
    capabilities = probe.capabilities
    probe.close()
    run_state_machine_as_test(conformance_machine(backend_class, capabilities), settings=QUICK)


@pytest.mark.parametrize("backend_class", list(FAULTY), ids=lambda c: c.__name__)
def test_malformed_backend_is_a_backend_fault(backend_class):
    with pytest.raises(BackendFault) as raised:
        run_machine(backend_class)
    message = str(raised.value)
    assert not isinstance(raised.value, Violation)
    assert message.startswith("BackendFault (not a guarantee violation): ")
    assert FAULTY[backend_class] in message, message


@pytest.fixture
def short_budget(monkeypatch):
    monkeypatch.setattr(HARNESS, "wait_budget", 0.2)
    RELEASE.clear()
    yield
    RELEASE.set()  # free the stuck calls' threads


@pytest.mark.parametrize("backend_class", list(HANGING), ids=lambda c: c.__name__)
def test_hanging_call_ends_the_run_naming_the_call(short_budget, backend_class):
    started = time.monotonic()
    with pytest.raises(BackendHang) as raised:
        run_machine(backend_class)
    elapsed = time.monotonic() - started
    assert HANGING[backend_class] in str(raised.value)
    assert ("create(" if backend_class is broken_backends.HangingCreate else "next() on watch") in str(raised.value)
    # one hang, not one per replay: the run ends at the first deadline (10x the budget at most)
    assert elapsed < HARNESS.call_deadline + 30, elapsed


def test_fault_through_pytest_is_short_and_not_a_guarantee(tmp_path):
    """As a user sees it: the test fails (exit 1) naming the fault, and the report says error."""
    report = tmp_path / "report.json"
    result = run_pytest("properties/test_conformance.py", "--sut", "tests.broken_backends:EventRVAsString",
                        "--conformance-report", str(report), timeout=300)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "BackendFault (not a guarantee violation): next() on watch" in result.stdout
    assert "RVs are int" in result.stdout
    import json

    doc = json.loads(report.read_text())
    assert doc["outcome"] == "error"
    assert "BackendFault" in doc["runs"][0]["fault"]
    assert not [g for g in doc["guarantees"] if g["status"] == "failed"]


def test_hang_through_pytest_ends_within_the_deadline():
    started = time.monotonic()
    result = run_pytest("properties/test_conformance.py", "--sut", "tests.broken_backends:HangingNext",
                        "--wait-budget", "0.2", timeout=120)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "BackendHang (not a guarantee violation): next() on watch" in result.stdout
    assert time.monotonic() - started < 60
