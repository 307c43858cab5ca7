"""The suite against a real Kubernetes API server: runs only when one is configured.

Give ``--kube-url URL`` (with ``--kube-token``/``--kube-ca-file``), ``--kubeconfig PATH``
(``--kube-context``), or ``LISTWATCH_KUBE_URL``; otherwise these tests skip. A small
example budget: a real cluster is slow and shared; raise ``LISTWATCH_KUBE_EXAMPLES``.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from listwatch_conformance.properties.machine import conformance_machine
from listwatch_conformance.sut.kube.client import KubeBackend
from listwatch_conformance.sut.kube.config import KUBE


@pytest.fixture
def cluster():
    if not (KUBE.url or KUBE.kubeconfig):
        pytest.skip("no Kubernetes API server given (--kube-url, --kubeconfig or LISTWATCH_KUBE_URL)")
    return KUBE


def test_conformance_against_a_real_cluster(cluster):
    probe = KubeBackend(cluster)
    capabilities = probe.capabilities
    probe.close()
    examples = int(os.environ.get("LISTWATCH_KUBE_EXAMPLES", "20"))
    run_state_machine_as_test(
        conformance_machine(lambda: KubeBackend(cluster), capabilities),
        settings=settings(max_examples=examples, stateful_step_count=30, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
