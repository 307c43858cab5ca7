"""The conformance machine with faults (server SIGKILL + restart, severed watch connections).

Runs only with ``--sut etcd`` on an etcd the suite started itself (a user's etcd given with
--etcd-endpoint is never killed); skipped otherwise, with the reason.
"""

from hypothesis import settings
from hypothesis.stateful import run_state_machine_as_test
import pytest

from properties.faults import fault_machine

FAULT_EXAMPLES = 40  # each example may restart etcd once (about 1-2 s)


class EtcdInjector:
    """Faults on the local etcd: SIGKILL + restart on the same data dir; cancel one watch's stream."""

    def __init__(self, process):
        self.process = process

    def restart_server(self) -> None:
        self.process.kill_and_restart()

    def sever(self, stream) -> None:
        stream.sever()


def test_list_watch_contract_under_faults(sut):
    spec, factory, capabilities = sut
    if spec != "etcd":
        pytest.skip(f"fault injection is implemented for --sut etcd only (this run: --sut {spec})")
    from sut.etcd import server

    reason = server.unavailable_reason()
    if reason:
        pytest.skip(reason)
    if server.user_endpoint():
        pytest.skip("--etcd-endpoint names an etcd the suite did not start; it will not kill it")
    injector = EtcdInjector(server.local_etcd())
    machine = fault_machine(factory, capabilities, injector)
    run_state_machine_as_test(machine, settings=settings(settings(), max_examples=min(
        settings().max_examples, FAULT_EXAMPLES)))
