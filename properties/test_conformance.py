"""The conformance run: the state machine against the backend chosen with --sut."""

from listwatch_conformance.properties.machine import conformance_machine


def test_list_watch_contract(sut, conformance):
    """Every guarantee, checked on random programs of writes, watches, lists, compactions and progress."""
    _, factory, capabilities = sut
    conformance.run(lambda checked: conformance_machine(factory, capabilities, checked), capabilities)
