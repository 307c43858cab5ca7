"""The anchor in CI: the machine's kubectl (client-go's Reflector, through ``kubectl wait``) keeps the
request-level guarantees against the adversary, plain and with the streaming list.

A short derandomized search: client-go's backoff (800 ms doubling to 30 s) cannot be shortened from
kubectl, so an example takes seconds (about 20 s in the dev profile on a loaded 2-core machine).
The deeper run is ``pytest properties --client kubectl-wait --hypothesis-profile dev`` (docs/clients.md).
TooLargeFallsBack is left out: its finding is a strict xfail in tests/test_client_findings.py.
"""

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from listwatch_conformance.model.client_guarantees import REQUEST_LEVEL, ClientGuarantee as CG
from listwatch_conformance.properties.client_machine import client_machine
from listwatch_conformance.properties.client_retries import FAULTS, bounded_retries
from listwatch_conformance.sut.clients.kubectl import kubectl_path, kubectl_wait, kubectl_wait_watch_list

pytestmark = [pytest.mark.slow,  # minutes: CI runs it (-m ""), the local loop does not
              pytest.mark.skipif(kubectl_path() is None, reason="kubectl is not installed (Debian package kubectl)")]

ANCHOR_SETTINGS = settings(max_examples=8, stateful_step_count=30, deadline=None, derandomize=True, database=None,
                           phases=[Phase.explicit, Phase.reuse, Phase.generate], report_multiple_bugs=False,
                           suppress_health_check=list(HealthCheck))
CHECKED = REQUEST_LEVEL - {CG.BoundedRetries, CG.TooLargeFallsBack}
FACTORIES = pytest.mark.parametrize("factory", [kubectl_wait, kubectl_wait_watch_list],
                                    ids=["kubectl-wait", "kubectl-wait-watch-list"])


@FACTORIES
def test_kubectl_keeps_the_request_level_guarantees(factory):
    run_state_machine_as_test(client_machine(factory, CHECKED), settings=ANCHOR_SETTINGS)


@FACTORIES
@pytest.mark.parametrize("fault", FAULTS)
def test_kubectl_bounded_retries(factory, fault):
    violation = bounded_retries(factory, fault)
    if violation is not None:
        raise violation
