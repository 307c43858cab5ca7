"""Adapters for ``lightkube`` (optional extra ``clients``): ``AsyncClient.watch`` folded into a dict
by the user code its documentation shows, plain and with ``on_error=on_error_retry``.

The documentation followed: lightkube's "List-Watch pattern" page (``docs/list-watch.md``): iterate
``client.list(ConfigMap)``, keep its ``resourceVersion``, then ``async for event, obj in
client.watch(ConfigMap, resource_version=...)`` folding ADDED/MODIFIED into the dict and removing
on DELETED. The client is built from ``KubeConfig.from_one(cluster=Cluster(server=url,
certificate_auth=CLUSTER_CA), user=User())`` (``from_server`` has no user and cannot build a
client; the cluster's CA as a kubeconfig names it, ``aio.CLUSTER_CA``). ``Client.watch``'s
docstring: it "will automatically create a new request whenever the backend close the connection
without errors"; ``on_error`` controls errors, raising by default, and ``on_error_retry``
"Immediately retries the API call using the last known resource version" (``lightkube.types``).

- :func:`watch`: the default ``on_error`` (raise). On an error lightkube documents (``ApiError``,
  and ``httpx2.HTTPError`` it derives from: lightkube 1.x uses the httpx2 fork) the user starts the
  pattern over: a new list, then a watch from its RV.
- :func:`watch_retry`: the same, with ``on_error=on_error_retry`` on the watch, so only a failed list
  reaches the user's restart.

An exception lightkube does not document (msgspec's ``DecodeError`` from a truncated line) is not
caught: it ends the user's loop and the suite sees it in ``view().error``. The claimed RV is the one
the user last got (the list's, then each event object's). No bookmarks, no sleep: lightkube
requests none and the documented pattern has none.
"""

from __future__ import annotations

import httpx2
from lightkube import ALL_NS, AsyncClient, KubeConfig, operators
from lightkube.config.models import Cluster, User
from lightkube.resources.core_v1 import ConfigMap
from lightkube.types import on_error_raise, on_error_retry

from listwatch_conformance.model.selectors import EXISTS, IN, NOT_EXISTS, NOT_IN, parse_label_selector
from listwatch_conformance.sut.api import Object
from listwatch_conformance.sut.clients.aio import CLUSTER_CA, FoldingAdapter
from listwatch_conformance.sut.clients.api import ClientCapabilities


def _object(cm) -> Object:
    meta = cm.metadata
    return Object(meta.namespace, meta.name, dict(meta.labels or {}), (cm.data or {}).get("value", ""),
                  int(meta.resourceVersion))


class WatchAdapter(FoldingAdapter):
    """lightkube ``AsyncClient.watch`` after ``list``, folded into a dict by the documented pattern."""

    distribution = "lightkube"
    capabilities = ClientCapabilities(cache=False, lists=True, bookmarks=False, watch_list=False,
                                      user_restarts=True, max_backoff=0.0)

    def __init__(self, retry: bool) -> None:
        super().__init__()
        self.retry = retry
        self.name = "lightkube AsyncClient.watch" + (" (on_error_retry)" if retry else "") + " (user fold)"

    async def _main(self, url: str, namespace: str | None, label_selector: str) -> None:
        cluster = Cluster(server=url, certificate_auth=CLUSTER_CA)
        client = AsyncClient(KubeConfig.from_one(cluster=cluster, user=User()))
        scope = {"namespace": namespace or ALL_NS}
        if label_selector:
            scope["labels"] = lightkube_labels(label_selector)
        try:
            while True:
                try:
                    listed = client.list(ConfigMap, **scope)
                    objects = [_object(cm) async for cm in listed]
                    self.fold.replace(objects, listed.resourceVersion)
                    async for event_type, cm in client.watch(ConfigMap, resource_version=listed.resourceVersion,
                                                             on_error=on_error_retry if self.retry else on_error_raise,
                                                             **scope):
                        self.fold.apply(event_type, _object(cm))
                except httpx2.HTTPError:  # ApiError is an httpx2.HTTPStatusError (lightkube 1.x uses the httpx2 fork)
                    pass
        finally:
            await client.close()


def lightkube_labels(label_selector: str) -> list[tuple[str, operators.Operator]]:
    """A label selector string as lightkube's ``labels`` (pairs of key and operator, as
    ``lightkube.core.selector.build_selector`` takes them): every form the machine draws (``k=v``,
    ``k!=v``, ``k``, ``!k``, ``k in (...)``), parsed by the suite's own selector parser."""
    to_operator = {EXISTS: lambda values: operators.exists(), NOT_EXISTS: lambda values: operators.not_exists(),
                   IN: lambda values: operators.in_(values), NOT_IN: lambda values: operators.not_in(values)}
    return [(r.key, to_operator[r.op](sorted(r.values))) for r in parse_label_selector(label_selector)]


def watch() -> WatchAdapter:
    return WatchAdapter(retry=False)


def watch_retry() -> WatchAdapter:
    return WatchAdapter(retry=True)
