"""Discovery, as kube-apiserver answers it: what clients read before they list a resource.

One module for both servers of this project, our backend server (``sut/kube/server.py``) and the
client suite's adversary (``sut/clients/adversary.py``). ``document(path, address)`` is the JSON
body for a discovery path, or None for any other path:

- ``/version``: a ``version.Info`` (kr8s and kubectl read it);
- ``/api``: ``APIVersions`` (``versions: ["v1"]``, ``serverAddressByClientCIDRs``);
- ``/api/v1``: ``APIResourceList`` of group version ``v1``, naming the resources served
  (``configmaps``, and ``namespaces`` when the server keeps them);
- ``/apis``: an empty ``APIGroupList`` (no named groups).

These are the *legacy* (unaggregated) documents, sent as ``Content-Type: application/json``.
kubectl and client-go >= 1.26 ask ``/api`` and ``/apis`` for aggregated discovery first
(``Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...,application/json``);
client-go reads the response's Content-Type and, when it is plain ``application/json``, decodes
the legacy document and fetches ``/api/v1`` itself (``discovery_client.go``,
``downloadLegacy``/``downloadAPIs``), as it does against an apiserver whose
``AggregatedDiscoveryEndpoint`` feature is off. So no second format is served.
"""

from __future__ import annotations

from typing import Any

CONTENT_TYPE = "application/json"

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.0-listwatch-conformance",
           "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
           "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.23", "compiler": "gc",
           "platform": "linux/amd64"}

# Verbs and hashes as kube-apiserver v1.32 lists them for these two core resources.
CONFIGMAPS = {"name": "configmaps", "singularName": "configmap", "namespaced": True, "kind": "ConfigMap",
              "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
              "shortNames": ["cm"], "storageVersionHash": "qFsyl6wFWjQ="}
NAMESPACES = {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace",
              "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"], "shortNames": ["ns"],
              "storageVersionHash": "Q3oi5N2YM8M="}

PATHS = ("/version", "/api", "/api/v1", "/apis")


def document(path: str, address: str, resources: tuple[dict[str, Any], ...] = (CONFIGMAPS, NAMESPACES)) -> Any:
    """The discovery body for ``path`` (a trailing ``/`` ignored), or None when it is not a discovery path.

    ``address`` is ``HOST:PORT`` as the client reached the server (``serverAddressByClientCIDRs``).
    """
    path = path.rstrip("/") or "/"
    if path == "/version":
        return VERSION
    if path == "/api":
        return {"kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]}
    if path == "/api/v1":
        return {"kind": "APIResourceList", "groupVersion": "v1", "resources": list(resources)}
    if path == "/apis":
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
    return None
