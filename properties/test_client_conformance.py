"""The client conformance run: the client machine against the adapter chosen with --client."""

import pytest

from listwatch_conformance.model.client_guarantees import ClientGuarantee as CG
from listwatch_conformance.properties.client_machine import client_machine
from listwatch_conformance.properties.stash import CLIENT_SELECTED
from listwatch_conformance.properties.client_retries import FAULTS, bounded_retries


def test_client_list_watch_contract(client, client_conformance):
    """Every client guarantee but BoundedRetries, on random programs of server decisions and writes."""
    _, factory, _, _ = client
    client_conformance.run(lambda checked: client_machine(factory, checked))


@pytest.mark.parametrize("fault", FAULTS)
def test_client_bounded_retries(client, fault, pytestconfig, client_conformance):
    """BoundedRetries: at most 25 requests in 5 s under each persistent fault."""
    selected = pytestconfig.stash[CLIENT_SELECTED]
    if selected and CG.BoundedRetries not in selected:
        pytest.skip("BoundedRetries is not among the selected guarantees")
    _, factory, _, _ = client
    violation = bounded_retries(factory, fault)
    client_conformance.record_bounded_retries(fault, violation)
    if violation is not None:
        raise violation
