"""Kill tests for the client zoo: the client machine, unchanged, must reject every mutant of the
reference reflector, naming a guarantee the mutant's bug breaks; and it must pass the reference."""

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyFailure, FlakyStrategyDefinition
from hypothesis.stateful import run_state_machine_as_test

from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.properties.client_machine import client_machine
from listwatch_conformance.sut.clients.mutants import MUTANTS
from listwatch_conformance.sut.clients.reflector import reflector, reflector_iterator, reflector_watch_list

pytestmark = pytest.mark.slow  # minutes in all: CI runs it (-m ""), the local loop does not

# The ci profile's derandomized search, without shrinking (the verdict does not depend on it).
KILL_SETTINGS = settings(max_examples=300, stateful_step_count=50, deadline=None, derandomize=True, database=None,
                         phases=[Phase.explicit, Phase.reuse, Phase.generate], report_multiple_bugs=False,
                         suppress_health_check=list(HealthCheck))


def first_violation(factory, run_settings=KILL_SETTINGS) -> Violation | None:
    try:
        run_state_machine_as_test(client_machine(factory), settings=run_settings)
    except Violation as violation:
        return violation
    except (FlakyFailure, FlakyStrategyDefinition) as flaky:  # found, but a replay differed: still a finding
        found = _violation(flaky)
        if found is not None:
            return found
        raise
    return None


def _violation(error: BaseException | None) -> Violation | None:
    """The Violation in an exception's group members or chain (Hypothesis wraps a racy finding)."""
    if error is None or isinstance(error, Violation):
        return error
    for inner in [*getattr(error, "exceptions", ()), error.__cause__, error.__context__]:
        found = _violation(inner)
        if found is not None:
            return found
    return None


@pytest.mark.parametrize("mutant", [pytest.param(m, id=m.__name__) for m in MUTANTS])
def test_client_mutant_is_killed_with_the_right_guarantee(mutant):
    violation = first_violation(mutant)
    expected = sorted(g.name for g in MUTANTS[mutant])
    assert violation is not None, f"{mutant.__name__} survived: the client suite found nothing ({mutant.__doc__})"
    assert violation.guarantee in MUTANTS[mutant], (
        f"{mutant.__name__} was caught as {violation.guarantee.name}, expected one of {expected}:\n{violation}")
    assert str(violation).startswith(f"{violation.guarantee.name}: "), "failure messages start with the guarantee"
    assert type(violation).__name__ == f"{violation.guarantee.name}Violation"


@pytest.mark.parametrize("factory", [reflector, reflector_watch_list, reflector_iterator],
                         ids=["reflector", "reflector-watch-list", "reflector-iterator"])
def test_reference_reflector_passes(factory):
    """A short search (the full ci-profile run is `pytest properties --client reflector`)."""
    quick = settings(KILL_SETTINGS, max_examples=40)
    assert first_violation(factory, quick) is None


def test_no_backoff_breaks_bounded_retries():
    """NoBackoff passes the machine (a rate is not a program) and fails BoundedRetries."""
    from listwatch_conformance.properties.client_retries import bounded_retries
    from listwatch_conformance.sut.clients.mutants import NoBackoff

    violation = bounded_retries(NoBackoff, "error-500")
    assert violation is not None, "NoBackoff survived BoundedRetries"
    assert str(violation).startswith("BoundedRetries: persistent fault 'error-500': ")

