"""Our server's wire behaviour, seen with a plain HTTP client: framing, Status bodies, 410s, validation, scale."""

from __future__ import annotations

import json

import pytest
import urllib3

from listwatch_conformance.sut.api import WatchClosed
from listwatch_conformance.sut.kube.client import KubeBackend
from listwatch_conformance.sut.kube.config import KubeSettings
from tests.kube_support import served

NS = "wire"


@pytest.fixture(scope="module")
def server():
    with served("memory") as srv:
        yield srv


@pytest.fixture(scope="module")
def http(server):
    """A plain HTTP client for the module's server, whose namespace NS exists (each test may run
    alone, or on another xdist worker than the rest of the module)."""
    pool = urllib3.PoolManager(timeout=urllib3.Timeout(total=10), retries=False)

    def request(method, path, body=None):
        return pool.request(method, server.url + path, body=None if body is None else json.dumps(body).encode(),
                            headers={"Content-Type": "application/json"})

    assert request("POST", "/api/v1/namespaces", {"metadata": {"name": NS}}).status in (201, 409)
    yield request
    pool.clear()


def _cm(name, value="0"):
    return {"metadata": {"name": name}, "data": {"value": value}}


def _assert_status(resp, code, reason):
    doc = json.loads(resp.data)
    assert resp.status == code, doc
    assert (doc["kind"], doc["code"], doc["reason"]) == ("Status", code, reason), doc
    assert doc["message"]


def test_create_needs_the_namespace(http):
    _assert_status(http("POST", f"/api/v1/namespaces/{NS}-missing/configmaps", _cm("a")), 404, "NotFound")
    assert http("POST", "/api/v1/namespaces", {"metadata": {"name": f"{NS}-new"}}).status == 201
    _assert_status(http("POST", "/api/v1/namespaces", {"metadata": {"name": f"{NS}-new"}}), 409, "AlreadyExists")


def test_watch_is_chunked_ndjson(server, http):
    first = json.loads(http("POST", f"/api/v1/namespaces/{NS}/configmaps", _cm("framed")).data)
    resp = urllib3.PoolManager().request(
        "GET", server.url + f"/api/v1/namespaces/{NS}/configmaps?watch=1&timeoutSeconds=1"
        "&fieldSelector=metadata.name%3Dframed", preload_content=False)
    body = resp.read()
    assert resp.status == 200 and resp.headers.get("transfer-encoding") == "chunked"
    assert body.endswith(b"\n") and b"\n\n" not in body
    event = json.loads(body.splitlines()[0])
    assert event["type"] == "ADDED" and event["object"] == first


def test_too_old_watch_is_200_with_one_error_event(server, http):
    rv = json.loads(http("POST", f"/api/v1/namespaces/{NS}/configmaps", _cm("old")).data)["metadata"]["resourceVersion"]
    for i in range(10):
        http("PUT", f"/api/v1/namespaces/{NS}/configmaps/old", _cm("old", str(i)))
    resp = http("GET", f"/api/v1/namespaces/{NS}/configmaps?watch=true&resourceVersion={rv}&timeoutSeconds=5")
    assert resp.status == 200
    lines = resp.data.splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert event["type"] == "ERROR"
    assert (event["object"]["code"], event["object"]["reason"]) == (410, "Expired")
    _assert_status(http("GET", f"/api/v1/namespaces/{NS}/configmaps?resourceVersion={rv}"
                               "&resourceVersionMatch=Exact"), 410, "Expired")


@pytest.mark.parametrize("query", [
    "resourceVersionMatch=Exact",
    "resourceVersion=0&resourceVersionMatch=Exact",
    "continue=abc&resourceVersionMatch=NotOlderThan&resourceVersion=5",
    "sendInitialEvents=true",
    "watch=true&sendInitialEvents=true&allowWatchBookmarks=true",
    "watch=true&resourceVersionMatch=NotOlderThan",
    "resourceVersion=abc",
    "limit=x",
])
def test_invalid_requests_are_400_status(http, query):
    _assert_status(http("GET", f"/api/v1/namespaces/{NS}/configmaps?{query}"), 400, "BadRequest")


def test_many_concurrent_watches_each_get_the_event(server):
    backend = KubeBackend(KubeSettings(url=server.url))
    try:
        streams = [backend.watch(namespace="ns1", rv=None) for _ in range(100)]
        rv = backend.create("ns1", "a", {}, "0")
        for stream in streams:
            event = stream.next(10)
            assert event is not None and event.rv == rv
    finally:
        backend.close()


def test_timeout_seconds_ends_the_watch_normally(server):
    backend = KubeBackend(KubeSettings(url=server.url, watch_seconds=1))
    try:
        stream = backend.watch(namespace="ns1", rv=None)
        with pytest.raises(WatchClosed):
            for _ in range(50):  # bounded: 50 x 0.1 s, the server ends it after 1 s
                stream.next(0.1)
    finally:
        backend.close()
