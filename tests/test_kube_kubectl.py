"""kubectl (the machine's, v1.32.4 here) against our server, for each backend it serves.

Each test starts ``python -m listwatch_conformance.sut.kube serve`` itself, writes through it, and
runs the real kubectl with a throwaway kubeconfig and cache directory (nothing in ``~/.kube``):

- ``kubectl get configmaps -A`` lists what was written: discovery (``/api``, ``/api/v1``) works;
- ``kubectl wait --for=jsonpath=...`` returns once a later write sets the value: its informer lists
  and watches with ``fieldSelector=metadata.name=NAME``, so the server must honour it (a write to
  another ConfigMap setting the same value must not end the wait);
- field selectors on other fields are refused with the apiserver's 400 message.
"""

from __future__ import annotations

import json
import subprocess
import threading

import pytest
import urllib3

from listwatch_conformance.sut.clients.kubectl import kubectl_flags, kubectl_path, wait_argv
from listwatch_conformance.sut.etcd.server import etcd_binary
from tests.kube_support import served

pytestmark = pytest.mark.skipif(kubectl_path() is None, reason="kubectl is not installed (Debian package kubectl)")

# the reference store; one without field selectors (the server filters for it); etcd where installed
BACKENDS = ["memory", "tests.kube_support:NoFieldSelectors",
            pytest.param("etcd", marks=pytest.mark.skipif(etcd_binary() is None, reason="etcd is not installed"))]
DEADLINE = 60.0  # for each kubectl run and for its watch to open


@pytest.fixture(params=BACKENDS)
def server(request):
    with served(request.param) as srv:
        yield srv


@pytest.fixture
def write(server):
    """POST or PUT through our server: ``write(namespace, name, value)``; namespaces made on first use."""
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(total=10), retries=False)
    made: set[str] = set()

    def write(namespace: str, name: str, value: str) -> None:
        if namespace not in made:
            namespace_doc = json.dumps({"metadata": {"name": namespace}})
            resp = pool.request("POST", server.url + "/api/v1/namespaces", body=namespace_doc)
            assert resp.status == 201, resp.data
            made.add(namespace)
        body = json.dumps({"metadata": {"name": name}, "data": {"value": value}})
        path = f"/api/v1/namespaces/{namespace}/configmaps"
        resp = pool.request("PUT", f"{server.url}{path}/{name}", body=body)
        if resp.status == 404:
            resp = pool.request("POST", server.url + path, body=body)
        assert resp.status in (200, 201), resp.data

    yield write
    pool.clear()


def kubectl(server, tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([kubectl_path(), *kubectl_flags(server.url, tmp_path), *args],
                          capture_output=True, text=True, timeout=DEADLINE)


def test_kubectl_get_lists_what_was_written(server, write, tmp_path):
    write("team-a", "one", "1")
    write("team-b", "two", "2")
    result = kubectl(server, tmp_path, "get", "configmaps", "-A")
    assert result.returncode == 0, result.stderr
    rows = [line.split()[:2] for line in result.stdout.splitlines()]
    assert rows == [["NAMESPACE", "NAME"], ["team-a", "one"], ["team-b", "two"]], result.stdout
    result = kubectl(server, tmp_path, "get", "configmaps", "-A", "--field-selector", "metadata.namespace=team-b",
                     "-o", "jsonpath={.items[*].data.value}")
    assert (result.returncode, result.stdout) == (0, "2"), result.stderr


def test_kubectl_refuses_unknown_field_selectors_as_the_apiserver_does(server, write, tmp_path):
    write("team-a", "one", "1")
    result = kubectl(server, tmp_path, "get", "configmaps", "-A", "--field-selector", "data.value=1")
    assert result.returncode == 1
    assert ('Error from server (BadRequest): Unable to find "/v1, Resource=configmaps" that match label selector "", '
            'field selector "data.value=1": "data.value" is not a known field selector: only "metadata.name", '
            '"metadata.namespace"') in result.stderr, result.stderr


def test_kubectl_wait_returns_once_a_later_write_sets_the_value(server, write, tmp_path):
    write("team-a", "target", "0")
    write("team-a", "other", "0")
    proc = subprocess.Popen([*wait_argv(server.url, tmp_path, "team-a", "target", timeout=f"{DEADLINE:.0f}s"), "-v=6"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watching = threading.Event()  # set on the watch request, or when kubectl's log ends
    log: list[str] = []

    def read_log() -> None:  # kubectl -v=6 logs every request; its watch is one with watch=true
        try:
            for line in proc.stderr:
                log.append(line)
                if "watch=true" in line:
                    watching.set()
        finally:
            watching.set()

    reader = threading.Thread(target=read_log, name="kubectl-log", daemon=True)
    reader.start()
    try:
        watching.wait(DEADLINE)
        assert any("watch=true" in line for line in log), "kubectl wait never opened its watch:\n" + "".join(log)
        write("team-a", "other", "done")  # another ConfigMap: the field selector keeps it from kubectl
        write("team-a", "target", "done")
        proc.wait(DEADLINE)
        out = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        reader.join(10)
        proc.stdout.close()
        proc.stderr.close()
    assert proc.returncode == 0, "kubectl wait failed:\n" + "".join(log)
    assert out.strip() == "configmap/target condition met", \
        f"kubectl wait ended on another ConfigMap ({out.strip()!r}): fieldSelector=metadata.name was not honoured"
    requests = [line for line in log if "round_trippers" in line and "/configmaps?" in line]
    assert requests and all("fieldSelector=metadata.name%3Dtarget" in line for line in requests), requests
