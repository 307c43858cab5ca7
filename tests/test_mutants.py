"""Kill tests: the conformance properties must fail against every mutant in the zoo, naming
the guarantee the mutant breaks. A mutant that survives fails this test."""

import pytest

from listwatch_conformance.sut.mutants import MUTANTS
from tests.conftest import first_violation


@pytest.mark.parametrize("mutant", [pytest.param(m, id=m.__name__) for m in MUTANTS])
def test_mutant_is_killed_with_the_right_guarantee(mutant):
    probe = mutant()
    capabilities = probe.capabilities
    probe.close()
    violation = first_violation(mutant, capabilities)
    expected = [g.name for g in MUTANTS[mutant]]
    assert violation is not None, f"{mutant.__name__} survived: the suite found nothing ({mutant.__doc__})"
    assert violation.guarantee in MUTANTS[mutant], (
        f"{mutant.__name__} was caught as {violation.guarantee.name}, expected one of {expected}:\n{violation}")
    assert str(violation).startswith(f"{violation.guarantee.name}: "), "failure messages start with the guarantee"
