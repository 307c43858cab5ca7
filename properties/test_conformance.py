"""The conformance run: the state machine against the backend chosen with --sut."""

from hypothesis.stateful import run_state_machine_as_test

from properties.machine import conformance_machine


def test_list_watch_contract(sut):
    """Every guarantee, checked on random programs of writes, watches, lists, compactions and progress."""
    _, factory, capabilities = sut
    run_state_machine_as_test(conformance_machine(factory, capabilities))
