"""The conformance machine with faults: a crashed server or cluster member, severed watch connections.

Runs with ``--sut etcd`` (SIGKILL + restart of the single etcd) and ``--sut etcd-cluster``
(SIGKILL + restart of one of the three members, watches pinned to different members), only
on etcds the suite started itself (a user's etcd given with --etcd-endpoint is never
killed); skipped otherwise, with the reason.
"""

import pytest
from hypothesis import settings

from listwatch_conformance.properties.faults import fault_machine
from listwatch_conformance.properties.profiles import conformance_settings

FAULT_EXAMPLES = 40  # each example may restart etcd once (about 1-2 s)
CLUSTER_FAULT_EXAMPLES = 60  # about 1 in 4 restarts a member (1-1.6 s each): 25-30 s


def _fault_settings(examples: int) -> settings:
    current = conformance_settings()
    return settings(current, max_examples=min(current.max_examples, examples))


def test_list_watch_contract_under_faults(sut, conformance):
    spec, factory, capabilities = sut
    if spec not in ("etcd", "etcd-cluster"):
        pytest.skip(f"fault injection is implemented for --sut etcd and etcd-cluster only (this run: --sut {spec})")
    pytest.importorskip("aetcd.rpc", reason="the etcd extra is not installed (pip install -e .[etcd])")
    from listwatch_conformance.sut.etcd import server
    from listwatch_conformance.sut.etcd.faults import EtcdClusterInjector, EtcdInjector

    if spec == "etcd-cluster":
        if server.etcd_binary() is None:
            pytest.skip(server.unavailable_reason() or "no `etcd` binary on PATH")
        injector = EtcdClusterInjector(server.local_cluster())
        conformance.run(lambda checked: fault_machine(injector.track(factory), capabilities, injector, checked),
                        capabilities, _fault_settings(CLUSTER_FAULT_EXAMPLES))
        return
    reason = server.unavailable_reason()
    if reason:
        pytest.skip(reason)
    if server.user_endpoint():
        pytest.skip("--etcd-endpoint names an etcd the suite did not start; it will not kill it")
    injector = EtcdInjector(server.local_etcd())
    conformance.run(lambda checked: fault_machine(factory, capabilities, injector, checked),
                    capabilities, _fault_settings(FAULT_EXAMPLES))
