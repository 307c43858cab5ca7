"""The kube backend's own promises: its namespaces only, cleanup on close, integer RVs, clear errors."""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from listwatch_conformance.sut.api import AlreadyExists, Conflict, EventType, Expired, NotFound, WatchClosed
from listwatch_conformance.sut.kube.client import INSTANCE_LABEL, KubeBackend, KubeError
from listwatch_conformance.sut.kube.config import KubeConfigError, KubeSettings
from listwatch_conformance.sut.kube.wire import WireError, parse_rv
from tests.kube_support import served


@pytest.fixture(scope="module")
def server():
    with served("memory") as srv:
        yield srv


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _namespaces(server) -> set[str]:
    return {ns["metadata"]["name"] for ns in _get(server.url + "/api/v1/namespaces")["items"]}


def test_errors_map_to_the_contract(server):
    backend = KubeBackend(KubeSettings(url=server.url))
    try:
        rv = backend.create("ns1", "a", {"app": "x"}, "0")
        with pytest.raises(AlreadyExists):
            backend.create("ns1", "a", {}, "0")
        with pytest.raises(Conflict):
            backend.update("ns1", "a", {}, "1", expect_rv=rv - 1)
        with pytest.raises(NotFound):
            backend.update("ns10", "a", {}, "1")
        with pytest.raises(Conflict):
            backend.delete("ns1", "a", expect_rv=rv - 1)
        deleted = backend.delete("ns1", "a", expect_rv=rv)
        assert deleted > rv
        with pytest.raises(NotFound):
            backend.delete("ns1", "a")
    finally:
        backend.close()


@pytest.mark.parametrize("answer", ["status", "object"])
def test_delete_returns_the_delete_rv_whatever_the_server_answers(answer):
    """kube-apiserver answers a ConfigMap DELETE with a Status; stores with ReturnDeletedObject with the object."""
    extra = ("--return-deleted-object",) if answer == "object" else ()
    with served("memory", *extra) as srv:
        backend = KubeBackend(KubeSettings(url=srv.url))
        try:
            stream = backend.watch(namespace="ns1", rv=None)
            created = backend.create("ns1", "a", {"app": "x"}, "0")
            deleted = backend.delete("ns1", "a")
            events = [stream.next(5), stream.next(5)]
            assert [(e.type, e.rv) for e in events] == [(EventType.ADDED, created), (EventType.DELETED, deleted)]
            assert deleted > created
        finally:
            backend.close()


def test_namespaces_are_private_and_cleaned_up(server):
    first, second = KubeBackend(KubeSettings(url=server.url)), KubeBackend(KubeSettings(url=server.url))
    try:
        first.create("ns1", "a", {}, "0")
        second.create("ns1", "a", {}, "1")  # same suite key, other instance: no clash
        assert [o.value for o in first.list().items] == ["0"]
        assert [o.value for o in second.list(namespace="ns1").items] == ["1"]
        assert [o.namespace for o in first.list(field_selector="metadata.namespace=ns1").items] == ["ns1"]
        assert first.list().items[0].labels == {}, f"{INSTANCE_LABEL} must not leak to the suite"
        stream = first.watch(rv=None)
        assert stream.next(5).type is EventType.ADDED
        created = {n for n in _namespaces(server) if n.startswith("lwc-")}
        assert len(created) == 2
    finally:
        first.close()
        second.close()
    assert not any(n.startswith("lwc-") for n in _namespaces(server))
    assert not [t for t in threading.enumerate() if t.name == "kube-watch-reader"]
    with pytest.raises(WatchClosed):
        stream.next(0)


def test_refuses_a_namespace_it_did_not_create(server):
    backend = KubeBackend(KubeSettings(url=server.url))
    foreign = backend._names.real("ns1")
    request = urllib.request.Request(server.url + "/api/v1/namespaces", method="POST",
                                     data=json.dumps({"metadata": {"name": foreign}}).encode(),
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request, timeout=10).close()
    try:
        with pytest.raises(KubeError, match="refusing to touch it"):
            backend.create("ns1", "a", {}, "0")
    finally:
        backend.close()
    assert foreign in _namespaces(server), "close() must not delete a namespace it did not create"


def test_too_old_watch_is_expired_on_first_next(server):
    backend = KubeBackend(KubeSettings(url=server.url))
    try:
        first = backend.create("ns1", "a", {}, "0")
        for i in range(10):
            backend.update("ns1", "a", {}, str(i))
        stream = backend.watch(namespace="ns1", rv=first)
        with pytest.raises(Expired):
            stream.next(5)
    finally:
        backend.close()


class _WordRVs(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        body = json.dumps({"kind": "ConfigMapList", "apiVersion": "v1", "metadata": {"resourceVersion": "abc"},
                           "items": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_refuses_a_server_whose_rvs_are_not_integers():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _WordRVs)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        backend = KubeBackend(KubeSettings(url=f"http://127.0.0.1:{httpd.server_address[1]}"))
        with pytest.raises(KubeError, match="not a decimal integer"):
            backend.list()
        backend.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
    with pytest.raises(WireError):
        parse_rv(12, "x")


def test_no_server_configured_says_how():
    with pytest.raises(KubeConfigError, match="--kube-url"):
        KubeBackend(KubeSettings(url=None, kubeconfig=None))
