"""Kill tests: the conformance machine, unchanged, must reject each etcd mutant with the right guarantee.

No shrinking (phases explicit, reuse, generate) keeps each kill fast; the guarantee is
read from the Violation the machine raises (``listwatch_conformance.model.guarantees.<Name>Violation``).
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyFailure
from hypothesis.stateful import run_state_machine_as_test

from listwatch_conformance.model.guarantees import Guarantee as G
from listwatch_conformance.model.guarantees import Violation
from listwatch_conformance.properties.faults import fault_machine
from listwatch_conformance.properties.machine import conformance_machine

KILL_SETTINGS = settings(max_examples=200, stateful_step_count=30, phases=[Phase.explicit, Phase.reuse, Phase.generate],
                         derandomize=True, database=None, deadline=None, report_multiple_bugs=False,
                         suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# An empty stream for gone history breaks ExpiredNotPartial when the start may expire or
# replay (an empty replay is a partial one), Retention when it must expire: which one the
# search meets first is up to it.
@pytest.mark.parametrize(("mutant", "guarantees"), [
    ("CompactionAsEmptyStream", {G.ExpiredNotPartial, G.Retention}),
    ("ProgressBeforeEvents", {G.Bookmarkable}),
])
def test_suite_kills_etcd_mutant(etcd_endpoint, mutant, guarantees):
    pytest.importorskip("aetcd.rpc", reason="the etcd extra is not installed (pip install -e .[etcd])")
    from listwatch_conformance.sut.etcd import mutants

    factory = getattr(mutants, mutant)
    with pytest.raises((Violation, FlakyFailure)) as caught:
        run_state_machine_as_test(conformance_machine(factory, factory.capabilities), settings=KILL_SETTINGS)
    violation = _violation(caught.value)
    assert violation is not None, f"no Violation in {caught.value!r}"
    assert violation.guarantee in guarantees, str(violation)
    assert str(violation).startswith(f"{violation.guarantee.name}: ")
    assert type(violation).__name__ == f"{violation.guarantee.name}Violation"


# Member crashes take a second or more each, and only some examples crash a member that
# serves a watch at the right moment: fewer, shorter programs than the plain kills.
CLUSTER_KILL_SETTINGS = settings(KILL_SETTINGS, max_examples=100, stateful_step_count=50)


@pytest.mark.slow  # member crashes: about a minute in all
@pytest.mark.parametrize(("mutant", "guarantees"), [
    ("RecreateAfterCrash", {G.Unique}),
    # owes events, or a bookmark; a lost event is Reliable once another watch received a later one
    ("SilentAfterCrash", {G.Liveness, G.Reliable, G.ProgressLiveness}),
    ("ClosesEveryWatchOnCrash", {G.Liveness}),
])
def test_fault_machine_kills_etcd_cluster_mutant(etcd_cluster, mutant, guarantees):
    from listwatch_conformance.sut.etcd import mutants
    from listwatch_conformance.sut.etcd.faults import EtcdClusterInjector

    factory = getattr(mutants, mutant)
    injector = EtcdClusterInjector(etcd_cluster)
    with pytest.raises((Violation, FlakyFailure)) as caught:
        run_state_machine_as_test(fault_machine(injector.track(factory), factory.capabilities, injector),
                                  settings=CLUSTER_KILL_SETTINGS)
    violation = _violation(caught.value)
    assert violation is not None, f"no Violation in {caught.value!r}"
    assert violation.guarantee in guarantees, str(violation)
    assert str(violation).startswith(f"{violation.guarantee.name}: ")


def _violation(error: BaseException) -> Violation | None:
    """The Violation itself, or the one inside Hypothesis's FlakyFailure: a race the mutant loses
    only sometimes is still a kill, but Hypothesis reports it wrapped when a replay passed."""
    if isinstance(error, Violation):
        return error
    found = [v for v in (_violation(e) for e in getattr(error, "exceptions", ())) if v is not None]
    return found[0] if found else None
