"""The official ``kubernetes`` Python client, unmodified, against our server (backed by the reference backend).

Used as a user would: CoreV1Api for namespaces, ConfigMaps and paged lists, and
``watch.Watch().stream`` always with ``timeout_seconds`` so it never reconnects forever.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

kubernetes = pytest.importorskip("kubernetes")
from kubernetes import client, watch  # noqa: E402
from kubernetes.client.rest import ApiException  # noqa: E402

from listwatch_conformance.sut.kube.wire import EXTENSION, INITIAL_EVENTS_END  # noqa: E402
from tests.kube_support import served  # noqa: E402

NS = "official-client"


@pytest.fixture(scope="module")
def server():
    with served("memory") as srv:
        yield srv


@pytest.fixture(scope="module")
def api(server):
    configuration = client.Configuration(host=server.url)
    with client.ApiClient(configuration) as api_client:
        v1 = client.CoreV1Api(api_client)
        v1.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NS)))
        yield v1


def _configmap(name: str, value: str, **labels: str) -> client.V1ConfigMap:
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels or None), data={"value": value})


def _progress(server) -> None:
    """Ask our server's backend for progress bookmarks (our extension endpoint, not Kubernetes API)."""
    request = urllib.request.Request(server.url + EXTENSION + "/progress", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200


def test_create_update_delete_and_paged_list(api):
    names = ["p1", "p2", "p3", "p4", "p5"]
    for name in names:
        created = api.create_namespaced_config_map(NS, _configmap(name, "0", app="paged"))
        assert created.metadata.resource_version.isdigit()
    updated = api.replace_namespaced_config_map("p1", NS, _configmap("p1", "1", app="paged"))
    assert int(updated.metadata.resource_version) > int(created.metadata.resource_version)
    stale = _configmap("p1", "2", app="paged")
    stale.metadata.resource_version = created.metadata.resource_version
    with pytest.raises(ApiException) as conflict:
        api.replace_namespaced_config_map("p1", NS, stale)
    assert conflict.value.status == 409
    with pytest.raises(ApiException) as exists:
        api.create_namespaced_config_map(NS, _configmap("p2", "0"))
    assert exists.value.status == 409

    seen, rvs, token = [], set(), None
    while True:
        page = api.list_namespaced_config_map(NS, label_selector="app=paged", limit=2, _continue=token)
        seen += [item.metadata.name for item in page.items]
        rvs.add(page.metadata.resource_version)
        token = page.metadata._continue
        if not token:
            break
    assert seen == names
    assert len(rvs) == 1, f"pages of one list must share one snapshot RV, got {rvs}"
    assert api.read_namespaced_config_map("p1", NS).data == {"value": "1"}


def test_watch_from_list_rv_with_bookmarks(api, server):
    api.create_namespaced_config_map(NS, _configmap("w1", "0", app="watched"))
    listed = api.list_namespaced_config_map(NS, label_selector="app=watched")
    start = listed.metadata.resource_version
    modified = api.replace_namespaced_config_map("w1", NS, _configmap("w1", "1", app="watched"))
    api.delete_namespaced_config_map("w1", NS)

    events = []
    w = watch.Watch()
    for event in w.stream(api.list_namespaced_config_map, NS, label_selector="app=watched",
                          resource_version=start, allow_watch_bookmarks=True, timeout_seconds=5):
        events.append(event)
        if event["type"] == "DELETED":
            _progress(server)  # the watch has caught up: the backend now owes it a bookmark
        if event["type"] == "BOOKMARK":
            w.stop()
    types = [e["type"] for e in events]
    assert types == ["MODIFIED", "DELETED", "BOOKMARK"], types
    assert events[0]["object"].metadata.resource_version == modified.metadata.resource_version
    assert events[0]["object"].data == {"value": "1"}
    deleted_rv = int(events[1]["object"].metadata.resource_version)
    assert deleted_rv > int(modified.metadata.resource_version), "DELETED carries the delete's RV"
    bookmark = events[2]["raw_object"]
    assert int(bookmark["metadata"]["resourceVersion"]) >= deleted_rv
    assert w.resource_version == bookmark["metadata"]["resourceVersion"]


def test_too_old_watch_surfaces_as_api_exception_410(api):
    api.create_namespaced_config_map(NS, _configmap("old", "0"))
    first = api.read_namespaced_config_map("old", NS).metadata.resource_version
    for i in range(12):  # more writes than the reference backend's history (8)
        api.replace_namespaced_config_map("old", NS, _configmap("old", str(i + 1)))
    stream = watch.Watch().stream(api.list_namespaced_config_map, NS, resource_version=first, timeout_seconds=5)
    with pytest.raises(ApiException) as gone:
        next(stream)
    assert gone.value.status == 410
    assert "Expired" in str(gone.value.reason)


def test_expired_continue_token_is_http_410(api):
    for name in ("c1", "c2", "c3"):
        api.create_namespaced_config_map(NS, _configmap(name, "0", app="cont"))
    page = api.list_namespaced_config_map(NS, label_selector="app=cont", limit=1)
    for i in range(12):
        api.replace_namespaced_config_map("c1", NS, _configmap("c1", str(i), app="cont"))
    with pytest.raises(ApiException) as gone:
        api.list_namespaced_config_map(NS, label_selector="app=cont", limit=1, _continue=page.metadata._continue)
    assert gone.value.status == 410
    assert json.loads(gone.value.body)["reason"] == "Expired"


def test_streaming_list_ends_with_annotated_bookmark(api):
    for name in ("s1", "s2"):
        api.create_namespaced_config_map(NS, _configmap(name, "0", app="streamed"))
    w = watch.Watch()
    events = []
    for event in w.stream(api.list_namespaced_config_map, NS, label_selector="app=streamed",
                          send_initial_events=True, resource_version_match="NotOlderThan",
                          allow_watch_bookmarks=True, timeout_seconds=5):
        events.append(event)
        if event["type"] == "BOOKMARK":
            w.stop()
    assert [e["type"] for e in events] == ["ADDED", "ADDED", "BOOKMARK"]
    assert sorted(e["object"].metadata.name for e in events[:2]) == ["s1", "s2"]
    bookmark = events[-1]["raw_object"]
    assert bookmark["metadata"]["annotations"] == {INITIAL_EVENTS_END: "true"}
    assert int(bookmark["metadata"]["resourceVersion"]) >= max(
        int(e["object"].metadata.resource_version) for e in events[:2])


def test_watch_ends_at_timeout_seconds(api):
    w = watch.Watch()
    events = list(w.stream(api.list_namespaced_config_map, NS, label_selector="app=nothing", timeout_seconds=1))
    assert events == []
