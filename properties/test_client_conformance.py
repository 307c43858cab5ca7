"""The client conformance run: the client machine against the adapter chosen with --client."""

from listwatch_conformance.properties.client_machine import client_machine


def test_client_list_watch_contract(client, client_conformance):
    """Every client guarantee but BoundedRetries, on random programs of server decisions and writes."""
    _, factory, _, _ = client
    client_conformance.run(lambda checked: client_machine(factory, checked))
