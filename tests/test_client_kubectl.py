"""The anchor in CI: the machine's kubectl (client-go's Reflector, through ``kubectl wait``) keeps the
request-level guarantees against the adversary, plain and with the streaming list.

A short derandomized search: client-go's backoff (800 ms doubling to 30 s) cannot be shortened from
kubectl, so an example takes seconds (about 20 s in the dev profile on a loaded 2-core machine).
The deeper run is ``pytest properties --client kubectl-wait --hypothesis-profile dev`` (docs/clients.md).
TooLargeFallsBack gets two written programs (its search needs a list at an RV, which kubectl makes
only after an error, so the short search rarely reaches it): a 504 with Retry-After, retried as the
server asked, and one without, which must be followed by a consistent read.
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
CHECKED = REQUEST_LEVEL - {CG.BoundedRetries}
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


def _too_large_program(factory, retry_after: bool) -> None:
    state = client_machine(factory, CHECKED)()
    try:
        state.start(namespace="a", objects=[("a", "a", "0")])  # client: GET configmaps/a
        state.respond(stale=0, order="ascending")  # the object; client: a list at RV "0" (or a streaming list)
        state.respond(stale=0, order="ascending")
        if factory is kubectl_wait_watch_list:
            state.send_events(count=2)  # ADDED a/a, then the initial-events-end bookmark at RV 2
        else:
            state.respond(stale=0, order="ascending")  # the watch opens at RV 2
        state.end_stream(how="internal-error")  # in-stream 500: backoff, then a (streaming) list at RV 2
        state.too_large(retry_after=retry_after)
        state.respond(stale=0, order="ascending")  # whatever came next: the retry, or the consistent read
    finally:
        state.teardown()  # raises the first violation seen


@FACTORIES
@pytest.mark.parametrize("retry_after", [True, False], ids=["with-retry-after", "without"])
def test_kubectl_after_too_large(factory, retry_after):
    """With Retry-After (kube-apiserver's watch cache sends ``retryAfterSeconds: 1``), client-go's rest
    client sends the same list again after a second (rest/request.go, up to 10 times); without it (the
    etcd3 store's 504), the Reflector lists with RV unset at once. Both keep TooLargeFallsBack."""
    _too_large_program(factory, retry_after)
